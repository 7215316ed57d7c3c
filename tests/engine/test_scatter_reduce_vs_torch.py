"""scatter_reduce(_), index_reduce(_) and put(_), as torch 2.13's: values, dtypes, gradients (amax/amin's shared
evenly among ties, a's own value counted even without include_self, as torch; prod's exclusive products at zeros;
mean's counts; integer means rounded down) and the refusals. main had none of them (AttributeError)."""
import os
import warnings

import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

REDUCES = ["sum", "prod", "mean", "amax", "amin"]
# 30 parametrizations of one property test: 10 examples each under the ci profile keep the file within seconds;
# another profile (thorough) keeps its own number
EXAMPLES = 10 if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci" else settings().max_examples
TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64, np.int64: torch.int64}


def _pair(array, requires_grad):
    a = np.array(array)   # (a copy, C-ordered; a 0-d array stays 0-d)
    grad = requires_grad and a.dtype.kind == "f"
    return torch.tensor(a, requires_grad=grad), tr.tensor(a, requires_grad=grad)


def _check(call, arrays, dtype, rtol=1e-6):
    """call(lib, *tensors) on both libraries: the values, the dtype, and each float input's gradient of a weighted
    sum of the result."""
    pairs = [_pair(a, True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (torch's index_reduce is "in beta")
        tout = call(torch, *[t for t, _ in pairs])
    oout = call(tr, *[o for _, o in pairs])
    assert oout.shape == tuple(tout.shape) and oout.dtype == np.dtype(dtype)
    np.testing.assert_allclose(oout.detach().numpy(), tout.detach().numpy(), rtol=rtol, atol=1e-12)
    if np.dtype(dtype).kind != "f":
        return
    weights = np.cos(np.arange(oout.numel())).reshape(oout.shape).astype(dtype)
    (tout * torch.tensor(weights)).sum().backward()
    (oout * tr.tensor(weights)).sum().backward()
    for t, o in pairs:
        if t.requires_grad:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=rtol * 10, atol=1e-6)


@st.composite
def _problems(draw):
    """self, index, src (small integer values: ties and zeros are common) and dim."""
    ndim = draw(st.integers(1, 3))
    shape = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))
    dim = draw(st.integers(0, ndim - 1))
    index_shape = [draw(st.integers(0 if k == dim else 1, 5 if k == dim else n)) for k, n in enumerate(shape)]
    src_shape = index_shape   # (a larger src: test_a_src_larger_than_index_gets_zeros_outside)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    values = [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0]
    return (rng.choice(values, shape), rng.integers(0, shape[dim], index_shape), rng.choice(values, src_shape),
            dim - ndim * draw(st.integers(0, 1)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
@settings(max_examples=EXAMPLES)
@given(problem=_problems())
def test_scatter_reduce_as_torch(reduce, include_self, dtype, problem):
    a, index, src, dim = problem
    if dtype == np.int64:
        a, src = (a * 2).astype(np.int64), (src * 2).astype(np.int64)
    arrays = [a.astype(dtype), src.astype(dtype)]

    def call(L, x, s):
        idx = L.tensor(index)
        return x.scatter_reduce(dim, idx, s, reduce, include_self=include_self)
    _check(call, arrays, dtype)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_reduce_ties_and_zeros_by_hand(reduce, include_self):
    """The cases that split gradients: a's value tied with src's, an excluded a equal to the result, two zeros and
    one zero sent to one place."""
    a = np.array([2.0, 5.0, 0.0, 3.0, 4.0])
    src = np.array([2.0, 2.0, 1.0, 0.0, 0.0, 7.0, 0.0, 5.0])
    index = np.array([0, 0, 1, 2, 2, 0, 4, 4])
    _check(lambda L, x, s: L.scatter_reduce(x, 0, L.tensor(index), s, reduce, include_self=include_self),
           [a, src], np.float64)


@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_reduce_of_a_0d_tensor_and_nan(reduce):
    _check(lambda L, x, s: x.scatter_reduce(0, L.tensor([0, 0]), s, reduce), [np.array(3.0), np.array([5.0, 6.0])],
           np.float64)
    _check(lambda L, x, s: x.scatter_reduce(0, L.tensor(0), s, reduce), [np.array(3.0), np.array(5.0)], np.float64)
    nan = np.array([np.nan, 2.0])
    _check(lambda L, x, s: x.scatter_reduce(0, L.tensor([0, 0]), s, reduce), [np.array([1.0, 2.0]), nan], np.float64)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "amax", "mean"])
def test_scatter_reduce_in_place_as_torch(reduce, include_self):
    a, src, index = np.array([[1.0, 4.0, 2.0], [0.0, 3.0, 3.0]]), np.array([[2.0, 4.0], [3.0, 1.0]]), [[2, 2], [0, 1]]

    def call(L, x, s):
        y = x * 1
        out = y.scatter_reduce_(1, L.tensor(index), s, reduce, include_self=include_self)
        assert out is y
        return y
    _check(call, [a, src], np.float64)
    raises_as_torch(lambda: torch.ones(3, requires_grad=True).scatter_reduce_(0, torch.tensor([0]), torch.ones(1),
                                                                              reduce),
                    lambda: tr.ones(3, requires_grad=True).scatter_reduce_(0, tr.tensor([0]), tr.ones(1), reduce),
                    "leaf")


def _x(L):
    return L.tensor([1.0, 2.0, 3.0])


REFUSALS = {
    "scatter_reduce reduce 'foo'": lambda L: _x(L).scatter_reduce(0, L.tensor([0]), _x(L), "foo"),
    "scatter_reduce reduce None": lambda L: _x(L).scatter_reduce(0, L.tensor([0]), _x(L), None),
    "scatter_reduce include_self 1": lambda L: _x(L).scatter_reduce(0, L.tensor([0]), _x(L), "sum", include_self=1),
    "scatter_reduce a number src": lambda L: _x(L).scatter_reduce(0, L.tensor([0]), 2.0, "sum"),
    "scatter_reduce an index out of range": lambda L: _x(L).scatter_reduce(0, L.tensor([3]), _x(L), "sum"),
    "scatter_reduce a negative index": lambda L: _x(L).scatter_reduce(0, L.tensor([-1]), _x(L), "sum"),
    "scatter_reduce dim 1": lambda L: _x(L).scatter_reduce(1, L.tensor([0]), _x(L), "sum"),
    "scatter_reduce a mask's mean": lambda L: L.tensor([True]).scatter_reduce(0, L.tensor([0]), L.tensor([True]),
                                                                               "mean"),
    "index_reduce sum": lambda L: _x(L).index_reduce(0, L.tensor([0]), L.tensor([1.0]), "sum"),
    "index_reduce sizes": lambda L: L.zeros(2, 3).index_reduce(1, L.tensor([2, 0]), L.ones(2, 3), "amax"),
    "index_reduce other dims": lambda L: L.zeros(2, 3).index_reduce(1, L.tensor([2, 0]), L.ones(3, 2), "amax"),
    "index_reduce a 2-D index": lambda L: _x(L).index_reduce(0, L.tensor([[2, 0]]), L.ones(2), "amax"),
    "index_reduce an index out of range": lambda L: _x(L).index_reduce(0, L.tensor([3, 0]), L.ones(2), "amax"),
    "index_reduce a negative index": lambda L: _x(L).index_reduce(0, L.tensor([-1]), L.ones(1), "amax"),
    "index_reduce a float index": lambda L: _x(L).index_reduce(0, L.tensor([1.0]), L.ones(1), "amax"),
    "index_reduce of a 0-d tensor, two values": lambda L: L.tensor(1.0).index_reduce(0, L.tensor([0, 0]),
                                                                                     L.ones(2), "prod"),
    "put an index out of range": lambda L: L.zeros(2, 3).put(L.tensor([6]), L.ones(1)),
    "put a negative index out of range": lambda L: L.zeros(2, 3).put(L.tensor([-7]), L.ones(1)),
    "put sizes": lambda L: L.zeros(2, 3).put(L.tensor([1, 2]), L.ones(1)),
    "put a float index": lambda L: L.zeros(2, 3).put(L.tensor([1.0]), L.ones(1)),
    "put dtypes": lambda L: L.zeros(2, 3).put(L.tensor([1]), L.ones(1, dtype=L.float64)),
    "put_ of a leaf": lambda L: L.zeros(2, requires_grad=True).put_(L.tensor([1]), L.ones(1)),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refused_as_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raises_as_torch(lambda: REFUSALS[name](torch), lambda: REFUSALS[name](tr))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_reduce_as_torch(dim, reduce, include_self, dtype):
    rng = np.random.default_rng(5)
    values = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    a = rng.choice(values, (3, 4))
    index = np.array([2, 0, 2, 2, 1]) if dim == 0 else np.array([3, 3, 0])
    source = rng.choice(values, (5, 4) if dim == 0 else (3, 3))
    _check(lambda L, x, s: x.index_reduce(dim, L.tensor(index), s, reduce, include_self=include_self),
           [a.astype(dtype), source.astype(dtype)], dtype)
    _check(lambda L, x, s: L.index_reduce(x * 1, dim, L.tensor(index), s, reduce, include_self=include_self),
           [a.astype(dtype), source.astype(dtype)], dtype)

    def in_place(L, x, s):
        y = x * 1
        assert y.index_reduce_(dim, L.tensor(index), s, reduce, include_self=include_self) is y
        return y
    _check(in_place, [a.astype(dtype), source.astype(dtype)], dtype)


@pytest.mark.parametrize("reduce", ["prod", "amax"])
def test_index_reduce_of_0d_and_1d_tensors(reduce):
    _check(lambda L, x, s: x.index_reduce(0, L.tensor([0]), s, reduce), [np.array(2.0), np.array(3.0)], np.float64)
    _check(lambda L, x, s: x.index_reduce(0, L.tensor(1), s, reduce), [np.array([1.0, 2.0]), np.array([4.0])],
           np.float64)
    _check(lambda L, x, s: x.index_reduce(0, L.tensor([], dtype=L.int64), s, reduce),
           [np.array([1.0, 2.0]), np.zeros(0)], np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("index", [[0, -1, 4], [[5, 0], [2, 3]], [1], [], [3, 3, -3]])
def test_put_as_torch(index, accumulate, dtype):
    if not accumulate and len(index) == 3 and index[0] == 3:
        index = [3, 2, -2]   # (a repeated place without accumulate: torch leaves which value lands unspecified)
    src = np.arange(1.0, 1.0 + np.asarray(index).size).reshape(np.asarray(index).shape).astype(dtype)
    a = np.arange(6.0).reshape(2, 3).astype(dtype) * 10
    _check(lambda L, x, s: x.put(L.tensor(index, dtype=L.int64), s, accumulate), [a, src], dtype)
    _check(lambda L, x, s: L.put(x, L.tensor(index, dtype=L.int64), s, accumulate=accumulate), [a, src], dtype)

    def in_place(L, x, s):
        y = x * 1
        assert y.put_(L.tensor(index, dtype=L.int64), s, accumulate) is y
        return y
    _check(in_place, [a, src], dtype)


@pytest.mark.parametrize("reduce", REDUCES)
def test_a_src_larger_than_index_gets_zeros_outside(reduce):
    """torch reads only src's leading index.shape part; its values as torch's. torch 2.13's backward then fails for
    sum and mean (its gradient for src has index's shape: "invalid gradient") and misplaces prod's; ours is the read
    part's gradient (that of a src cut to index's shape), zeros elsewhere; amax/amin's equal torch's."""
    a, index, src = np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[1], [1]]), np.array([[4.0, 5.0], [2.0, 7.0]])
    ts, os_ = torch.tensor(src, requires_grad=True), tr.tensor(src, requires_grad=True)
    tout = torch.tensor(a).scatter_reduce(1, torch.tensor(index), ts, reduce)
    oout = tr.tensor(a).scatter_reduce(1, tr.tensor(index), os_, reduce)
    np.testing.assert_allclose(oout.detach().numpy(), tout.detach().numpy())
    oout.sum().backward()
    part = tr.tensor(src[:, :1], requires_grad=True)
    tr.tensor(a).scatter_reduce(1, tr.tensor(index), part, reduce).sum().backward()
    np.testing.assert_array_equal(os_.grad.numpy(), np.concatenate([part.grad.numpy(), np.zeros((2, 1))], 1))
    if reduce in ("amax", "amin"):
        tout.sum().backward()
        np.testing.assert_array_equal(os_.grad.numpy(), ts.grad.numpy())
