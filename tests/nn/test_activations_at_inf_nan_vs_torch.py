"""Every activation of tr.nn.functional at -inf, +inf and nan (and at +-1e30, where exp overflows) against torch 2.13:
values and gradients, float32 and float64, each special value drawn among finite ones.

torch's elementwise kernels run a vectorized loop over most of a contiguous tensor and a scalar loop over the rest,
and the two disagree at some special values (float32 gelu(+inf) is nan in the vectorized loop, inf in the scalar
one; hardtanh's gradient at nan is 0 or 1). The oracle is torch on each element alone (its scalar loop, which also
gives float64's and the math's answers); ours must give it wherever the element stands. The row-wise functions
(softmax, log_softmax, softmin, glu) are compared row by row."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
import tinygrad_rnn.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

INF, NAN = float("inf"), float("nan")
SPECIAL = [-INF, INF, NAN, -1e30, 1e30]
FINITE = [-3.5, -1.5, -0.25, -0.0, 0.0, 0.3, 1.0, 2.5, 7.0]
TINY = [-1e-10, 1e-10, -1e-30, 1e-30]   # where exp(x) - 1 loses every digit (elu's family computes expm1, as torch)


def _prelu(f, x):
    weight = np.array([0.25], x.dtype if isinstance(x.dtype, np.dtype) else np.float32)
    return f.prelu(x, (tr.tensor(weight) if f is F else torch.tensor(weight, dtype=x.dtype)))


ELEMENTWISE = {
    "relu": lambda f, x: f.relu(x), "relu6": lambda f, x: f.relu6(x), "elu": lambda f, x: f.elu(x),
    "elu(alpha=2)": lambda f, x: f.elu(x, alpha=2.0), "celu": lambda f, x: f.celu(x),
    "celu(alpha=0.5)": lambda f, x: f.celu(x, alpha=0.5), "selu": lambda f, x: f.selu(x),
    "gelu": lambda f, x: f.gelu(x), "gelu(tanh)": lambda f, x: f.gelu(x, approximate="tanh"),
    "hardshrink": lambda f, x: f.hardshrink(x), "hardsigmoid": lambda f, x: f.hardsigmoid(x),
    "hardswish": lambda f, x: f.hardswish(x), "hardtanh": lambda f, x: f.hardtanh(x),
    "hardtanh(-2, 3)": lambda f, x: f.hardtanh(x, -2.0, 3.0), "leaky_relu": lambda f, x: f.leaky_relu(x),
    "logsigmoid": lambda f, x: f.logsigmoid(x), "mish": lambda f, x: f.mish(x), "rrelu": lambda f, x: f.rrelu(x),
    "sigmoid": lambda f, x: f.sigmoid(x), "silu": lambda f, x: f.silu(x), "softplus": lambda f, x: f.softplus(x),
    "softplus(beta=2, threshold=10)": lambda f, x: f.softplus(x, beta=2.0, threshold=10.0),
    "softshrink": lambda f, x: f.softshrink(x), "softsign": lambda f, x: f.softsign(x), "tanh": lambda f, x: f.tanh(x),
    "tanhshrink": lambda f, x: f.tanhshrink(x), "threshold": lambda f, x: f.threshold(x, 0.5, -2.0), "prelu": _prelu,
}
ROWWISE = {"softmax": lambda f, x: f.softmax(x, dim=-1), "log_softmax": lambda f, x: f.log_softmax(x, dim=-1),
           "softmin": lambda f, x: f.softmin(x, dim=-1), "glu": lambda f, x: f.glu(x, dim=-1)}
DTYPES = [np.float32, np.float64]


def _run(lib, fn, a):
    """fn's values and the gradient of their sum, as numpy arrays."""
    x = torch.tensor(a, requires_grad=True) if lib is torch else tr.tensor(a, requires_grad=True)
    out = fn(TF if lib is torch else F, x)
    out.sum().backward()
    return out.detach().numpy().copy(), x.grad.numpy().copy()


def _same(ours, theirs, what, atol=0.0, rtol=1e-5, zero_sign=False):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
    np.testing.assert_array_equal(np.isinf(ours) & (ours > 0), np.isinf(theirs) & (theirs > 0), err_msg=what)
    if zero_sign:   # relu(-0.0) is -0.0 in torch (its clamp keeps the input at a tie)
        zero = theirs == 0
        np.testing.assert_array_equal(np.signbit(ours[zero]), np.signbit(theirs[zero]), err_msg=f"{what}: zero's sign")


_ALONE = {}


def _torch_alone(name, one):
    """torch's value and gradient at one element (remembered: the drawn values repeat)."""
    key = (name, one.dtype.str, one.tobytes())
    if key not in _ALONE:
        _ALONE[key] = _run(torch, ELEMENTWISE[name], one)
    return _ALONE[key]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(ELEMENTWISE))
@given(data=st.data())
def test_elementwise_activations_at_inf_and_nan_as_torch(name, dtype, data):
    fn = ELEMENTWISE[name]
    values = data.draw(st.lists(st.sampled_from(SPECIAL + FINITE + TINY), min_size=1, max_size=20), label="x")
    a = np.array([*SPECIAL, -0.0, *TINY, *values], dtype)   # each special value at least once, then drawn ones
    ours = _run(tr, fn, a)
    # finite values: rounding (sigmoid's 1 - s near 1; torch's float64 hardsigmoid gradient is 1/6 rounded to float32)
    rtol = 1e-4 if dtype == np.float32 else 1e-7
    for i, v in enumerate(a):   # torch's scalar loop: each element alone
        theirs = _torch_alone(name, a[i:i + 1])
        _same(ours[0][i:i + 1], theirs[0], f"{name}({v}) in {np.dtype(dtype).name}", rtol=rtol, zero_sign=True)
        _same(ours[1][i:i + 1], theirs[1], f"{name}'s gradient at {v} in {np.dtype(dtype).name}", rtol=rtol)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(ROWWISE))
@given(data=st.data())
def test_rowwise_activations_at_inf_and_nan_as_torch(name, dtype, data):
    fn = ROWWISE[name]
    rows = data.draw(st.lists(st.lists(st.sampled_from(SPECIAL + FINITE), min_size=4, max_size=4), min_size=1,
                              max_size=4), label="rows")
    a = np.array(rows, dtype)
    ours = _run(tr, fn, a)
    for i, row in enumerate(a):
        theirs = _run(torch, fn, a[i:i + 1])
        tiny = 1e-6 if dtype == np.float32 else 1e-14   # the gradient of a sum of probabilities is 0 up to rounding
        rtol = 1e-4 if dtype == np.float32 else 1e-7
        _same(ours[0][i:i + 1], theirs[0], f"{name}({row}) in {np.dtype(dtype).name}", atol=tiny, rtol=rtol)
        _same(ours[1][i:i + 1], theirs[1], f"{name}'s gradient at {row} in {np.dtype(dtype).name}", atol=tiny,
              rtol=rtol)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_gelu_module_at_inf_and_nan_as_torchs_scalar_loop(approximate, dtype):
    a = np.array([-INF, INF, NAN], dtype)
    ours = tr.nn.GELU(approximate=approximate)(tr.tensor(a, requires_grad=True))
    theirs = [torch.nn.GELU(approximate=approximate)(torch.tensor(a[i:i + 1])) for i in range(3)]
    _same(ours.detach().numpy(), np.concatenate([t.numpy() for t in theirs]), f"GELU({approximate!r})")
