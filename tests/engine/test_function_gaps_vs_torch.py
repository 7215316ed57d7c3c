"""Gaps in torch's function namespace closed against torch 2.13 (small27): clamp_min/clamp_max's error types,
take_along_dim's indices along dim taken modulo its size, einsum broadcasting size-1 dimensions, median and
nanmedian with NaN (values, indices, gradients), unique(dim=), and cumprod's gradient (torch's vectorised formula,
zeros included)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

NAN = float("nan")


def arr(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t.data)


def both(f, *arrays, grad_of=()):
    """f run on torch's tensors and ours made from the arrays (float64; those at positions grad_of require grad,
    and out.sum() is walked back): ([outputs], [gradients]) per library, as arrays."""
    results = []
    for m in (torch, tr):
        ts = [m.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
        out = f(m, *ts)
        outs = list(out) if isinstance(out, tuple) else [out]
        if grad_of:
            outs[0].sum().backward()
        results.append(([arr(o) for o in outs], [arr(ts[i].grad) for i in grad_of]))
    return results


def same(ours, theirs):
    for got_list, want_list in zip(ours, theirs):
        assert len(got_list) == len(want_list)
        for got, want in zip(got_list, want_list):
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, equal_nan=True)


@pytest.mark.parametrize("call", ["clamp_min", "clamp_max", "clamp_min_", "clamp_max_", "tr.clamp_min"])
def test_clamp_min_max_of_none_is_torchs_typeerror(call):
    for m in (torch, tr):
        x = m.ones(2)
        with pytest.raises(TypeError):
            (m.clamp_min(x, None) if call == "tr.clamp_min" else getattr(x, call)(None))


@pytest.mark.parametrize("call", ["clamp", "clamp_", "clip"])
def test_clamp_without_bounds_is_torchs_runtimeerror(call):
    for m in (torch, tr):
        with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
            getattr(m.ones(2), call)()


@pytest.mark.parametrize("indices,dim", [([[-1, 0, -3]], 1), ([[3, -4, 5]], 1), ([[-1], [-2]], 1), ([[-2, 1, -1]], 0)])
def test_take_along_dim_wraps_indices_along_dim_as_torch(indices, dim):
    x = np.arange(6.0).reshape(2, 3) - 2.5
    idx = np.array(indices)
    ours, theirs = both(lambda m, a, i: m.take_along_dim(a, i, dim=dim), x, idx, grad_of=(0,))
    same(ours, theirs)


@pytest.mark.parametrize("equation,shapes", [
    ("ij,ij->ij", [(1, 3), (2, 3)]), ("ij,jk->ik", [(2, 1), (3, 4)]), ("ij,jk->ik", [(2, 3), (1, 4)]),
    ("...ij,...jk->...ik", [(1, 2, 3), (5, 3, 4)]), ("...i,...i->...", [(1, 3), (4, 3)]),
    ("bij,bjk->bik", [(1, 2, 3), (4, 3, 2)]),
    ("i,i->", [(1,), (4,)]), ("ij->j", [(1, 3)])])
def test_einsum_broadcasts_size_one_dimensions_as_torch(equation, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    ours, theirs = both(lambda m, *ts: m.einsum(equation, *ts), *arrays, grad_of=tuple(range(len(arrays))))
    same(ours, theirs)


def test_einsum_sizes_that_do_not_broadcast_are_refused_as_torch():
    for m in (torch, tr):
        with pytest.raises(RuntimeError):
            m.einsum("ij,ij->ij", m.ones(2, 3), m.ones(3, 3))


ROWS = [[NAN, 1, NAN], [1, NAN, NAN], [2, 1, NAN], [NAN, NAN, NAN], [1, 2, 3], [3, 1, 2], [2, 2, 1]]


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize("row", ROWS)
def test_median_and_nanmedian_with_nan_along_dim_as_torch(name, row):
    x = np.array([row, [4.0, 5.0, 6.0]])
    ours, theirs = both(lambda m, a: tuple(getattr(a, name)(1)), x, grad_of=(0,))
    same(ours, theirs)


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@pytest.mark.parametrize("row", ROWS)
def test_median_and_nanmedian_of_all_with_nan_as_torch(name, row):
    """torch shares the gradient among the elements equal to the value, NaNs equal to NaN."""
    x = np.array([row, [4.0, NAN, 2.0]])
    ours, theirs = both(lambda m, a: getattr(m, name)(a), x, grad_of=(0,))
    same(ours, theirs)


@pytest.mark.parametrize("counts", [False, True])
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_with_dim_as_torch(dim, inverse, counts):
    x = np.array([[1, 2, 1], [1, 2, 1], [0, 5, 0], [1, 2, 1]])
    ours, theirs = both(lambda m, a: m.unique(a, dim=dim, return_inverse=inverse, return_counts=counts), x)
    same(ours, theirs)
    for m in (torch, tr):
        with pytest.raises(IndexError):
            m.unique(m.tensor(5), dim=0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 7), st.integers(0, 1), st.floats(0, 0.6), st.integers(0, 2 ** 31))
def test_cumprod_gradient_is_torchs_with_zeros(rows, n, dim, zero_share, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (rows, n))
    x[rng.uniform(size=x.shape) < zero_share] = 0
    weights = rng.standard_normal(x.shape)
    ours, theirs = both(lambda m, a, w: (a.cumprod(dim) * w,), x, weights, grad_of=(0,))
    same(ours, theirs)


def test_cumprod_gradient_along_a_long_dim_with_zeros_as_torch():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.9, 1.1, (3, 1000))
    x[0, [10, 500]] = 0
    x[1, 999] = 0
    x[2, 0] = 0
    ours, theirs = both(lambda m, a, w: (a.cumprod(1) * w,), x, rng.standard_normal(x.shape), grad_of=(0,))
    same(ours, theirs)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(2, 9), st.integers(0, 1), st.floats(0, 0.4), st.integers(0, 2 ** 31))
def test_cumprod_gradient_is_torchs_formula_bit_for_bit_off_the_first_zeros(rows, n, dim, zero_share, seed):
    """torch's reversed_cumsum(g * out) / a, not the product of the others (main's: other roundings); at a lane's
    first zero the sum's order is each library's own (the test above holds it to 1e-12)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (rows, n))
    x[rng.uniform(size=x.shape) < zero_share] = 0
    weights = rng.standard_normal(x.shape)
    (_, (ours,)), (_, (theirs,)) = both(lambda m, a, w: (a.cumprod(dim) * w,), x, weights, grad_of=(0,))[::-1]
    first_zero = (x == 0) & (np.cumsum(x == 0, axis=dim) == 1)
    np.testing.assert_array_equal(ours[~first_zero], theirs[~first_zero])
