"""tr.nn.Conv1d and tr.nn.functional.conv1d against torch 2.13's: parameters, initialisation bounds and repr;
outputs and gradients (input, weight, bias) over drawn shapes, strides, paddings (ints, "same", "valid", the
four padding modes), dilations and groups, float32 and float64, batched and unbatched; torch's errors."""
import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


@st.composite
def convolutions(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    k, dilation = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    padding = draw(st.one_of(st.integers(0, 3), st.sampled_from(["same", "valid"])))
    stride = 1 if padding == "same" else draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    length = dilation * (k - 1) + 1 + draw(st.integers(0, 8)) + (4 if mode == "reflect" else 0)
    return dict(in_channels=c_in, out_channels=c_out, kernel_size=k, stride=stride, padding=padding,
                dilation=dilation, groups=groups, bias=draw(st.booleans()), padding_mode=mode), length, \
        draw(st.booleans()), draw(st.sampled_from(["float32", "float64"]))


@settings(max_examples=60, deadline=None)
@given(convolutions(), st.integers(0, 2 ** 31))
def test_conv1d_is_torch_s(case, seed):
    kwargs, length, batched, dtype = case
    torch.manual_seed(seed % 1000)
    theirs = torch.nn.Conv1d(**kwargs).to(getattr(torch, dtype))
    ours = tr.nn.Conv1d(**kwargs, dtype=dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, kwargs["in_channels"], length) if batched else (kwargs["in_channels"], length))
    x = x.astype(dtype)
    xt, xo = torch.tensor(x, requires_grad=True), tr.tensor(x, requires_grad=True)
    yt, yo = theirs(xt), ours(xo)
    assert yo.shape == tuple(yt.shape) and yo.dtype == np.dtype(dtype)
    g = rng.standard_normal(yo.shape).astype(dtype)
    yt.backward(torch.from_numpy(g))
    yo.backward(g)
    tol = 1e-10 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(xo.grad), xt.grad.numpy(), rtol=tol, atol=tol)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(np.asarray(p.grad), q.grad.numpy(), rtol=tol, atol=tol)


def test_the_functional_form_takes_torch_s_arguments():
    rng = np.random.default_rng(0)
    x, b = rng.standard_normal((2, 4, 9)), rng.standard_normal(6)
    for weight_shape, kwargs in (((6, 4, 3), dict()), ((6, 2, 3), dict(stride=(2,), padding=(1,), dilation=(2,),
                                                                         groups=2)),
                                 ((6, 2, 3), dict(padding="same", groups=2)), ((6, 4, 2), dict(padding="valid"))):
        w = rng.standard_normal(weight_shape)
        ours = tr.nn.functional.conv1d(tr.tensor(x), tr.tensor(w), tr.tensor(b), **kwargs)
        theirs = torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kwargs)
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_initialisation_bounds_are_torch_s():
    conv = tr.nn.Conv1d(8, 16, 5, groups=2)
    bound = 1 / np.sqrt(8 // 2 * 5)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.8 * bound
    assert [(n, p.shape) for n, p in conv.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in torch.nn.Conv1d(8, 16, 5, groups=2).named_parameters()]


REFUSED = {
    "channels": lambda lib: lib.nn.functional.conv1d(lib.ones(2, 5, 10), lib.ones(4, 3, 3)),
    "same with stride": lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 10), lib.ones(4, 3, 3), padding="same",
                                                             stride=2),
    "input shorter than the kernel": lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 2), lib.ones(4, 3, 3)),
    "weight not divisible by groups": lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 10), lib.ones(4, 1, 3),
                                                                           groups=3),
    "bias of another size": lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 10), lib.ones(4, 3, 3),
                                                                 bias=lib.zeros(3)),
    "padding string": lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 10), lib.ones(4, 3, 3), padding="bogus"),
    "zero stride": lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 10), lib.ones(4, 3, 3), stride=0),
    "negative padding": lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 10), lib.ones(4, 3, 3), padding=-1),
    "dtype mix": lambda lib: lib.nn.functional.conv1d(lib.ones(2, 3, 10, dtype=lib.float64), lib.ones(4, 3, 3)),
    "in_channels and groups": lambda lib: lib.nn.Conv1d(3, 4, 3, groups=2),
    "out_channels and groups": lambda lib: lib.nn.Conv1d(4, 3, 3, groups=2),
    "padding mode": lambda lib: lib.nn.Conv1d(3, 4, 3, padding_mode="bogus"),
    "module same with stride": lambda lib: lib.nn.Conv1d(3, 4, 3, padding="same", stride=2),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
