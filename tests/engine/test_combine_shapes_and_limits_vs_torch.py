"""torch's everyday top-level functions that were missing, against torch 2.13: tr.all / tr.any, is_tensor,
atleast_1d/2d/3d, column_stack, dstack, row_stack, concat, block_diag, cartesian_prod, combinations,
broadcast_shapes (a tr.Size), unravel_index, isin, finfo / iinfo and the constants pi, e, inf, nan, newaxis:
values, dtypes, shapes, gradients of a weighted sum, and error types."""
import math

import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


def _pair(a, dtype=None, grad=False):
    a = np.asarray(a, dtype)
    return tr.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)


def _same_gradients(fn_ours, fn_theirs, arrays):
    """fn of leaves made from arrays: the values, and the gradients of a weighted sum of the result."""
    ours = [tr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn_ours(*ours), fn_theirs(*theirs)
    _same(out, tout)
    weights = np.random.default_rng(0).standard_normal(tuple(tout.shape)).astype(arrays[0].dtype)
    (out * tr.tensor(weights)).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_all_and_any_as_torch(name, dtype):
    a = np.array([[1, 0, 2], [3, 4, 5]]).astype(dtype)
    x, t = _pair(a)
    _same(getattr(tr, name)(x), getattr(torch, name)(t))
    for dim in (0, 1, -1, (0, 1)):
        for keepdim in (False, True):
            _same(getattr(tr, name)(x, dim, keepdim), getattr(torch, name)(t, dim, keepdim))
    raises_as_torch(lambda: getattr(torch, name)([1, 0]), lambda: getattr(tr, name)([1, 0]))


def test_is_tensor_and_the_constants_as_torch():
    for ours, theirs in ((tr.ones(1), torch.ones(1)), (tr.nn.Parameter(tr.ones(1)), torch.nn.Parameter(torch.ones(1))),
                         (1.0, 1.0), (np.ones(1), np.ones(1)), ([1], [1])):
        assert tr.is_tensor(ours) == torch.is_tensor(theirs)
    assert (tr.pi, tr.e, tr.inf, tr.newaxis) == (torch.pi, torch.e, torch.inf, torch.newaxis)
    assert math.isnan(tr.nan) and math.isnan(torch.nan)
    x, t = _pair(np.arange(6.0).reshape(2, 3))
    _same(x[:, tr.newaxis], t[:, torch.newaxis])


@given(st.sampled_from([(), (3,), (2, 3), (2, 1, 3), (1, 2, 3, 1)]))
def test_atleast_as_torch(shape):
    a = np.arange(float(np.prod(shape))).reshape(shape)
    x, t = _pair(a)
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        ours, theirs = getattr(tr, name), getattr(torch, name)
        _same(ours(x), theirs(t))
        _same(ours(x, x), theirs(t, t))
        _same(ours([x, x]), theirs([t, t]))
        _same(ours((x,)), theirs((t,)))
        assert np.shares_memory(ours(x).numpy(), x.numpy())   # a view, as torch's


@pytest.mark.parametrize("dtype", DTYPES)
def test_stacking_functions_as_torch(dtype):
    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal(s).astype(dtype) for s in ((3,), (3, 1), (3, 2)))
    _same_gradients(lambda x, y, z: tr.column_stack([x, y, z]), lambda x, y, z: torch.column_stack([x, y, z]),
                    [a, b, c])
    s = rng.standard_normal(()).astype(dtype)
    _same_gradients(lambda x, y: tr.column_stack([x, y]), lambda x, y: torch.column_stack([x, y]), [s, s])
    for shapes in (((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 1), (2, 3, 2))):
        arrays = [rng.standard_normal(sh).astype(dtype) for sh in shapes]
        _same_gradients(lambda *xs: tr.dstack(xs), lambda *xs: torch.dstack(xs), arrays)
        _same_gradients(lambda *xs: tr.concat(xs, -1), lambda *xs: torch.concat(xs, -1), arrays)
    for shapes in (((3,), (3,)), ((2, 3), (1, 3)), ((), ())):
        arrays = [rng.standard_normal(sh).astype(dtype) for sh in shapes]
        _same_gradients(lambda *xs: tr.row_stack(xs), lambda *xs: torch.row_stack(xs), arrays)
    raises_as_torch(lambda: torch.dstack([]), lambda: tr.dstack([]))
    raises_as_torch(lambda: torch.column_stack([]), lambda: tr.column_stack([]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_block_diag_as_torch(dtype):
    rng = np.random.default_rng(2)
    for shapes in (((), (2,), (2, 2)), ((3, 1), (1, 3)), ((2, 0), (0, 2), (1,)), ((2, 3),)):
        arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
        _same_gradients(lambda *xs: tr.block_diag(*xs), lambda *xs: torch.block_diag(*xs), arrays)
    _same(tr.block_diag(), torch.block_diag())
    _same(tr.block_diag(tr.tensor([1, 2]), tr.tensor([[3]])),
          torch.block_diag(torch.tensor([1, 2]), torch.tensor([[3]])))
    raises_as_torch(lambda: torch.block_diag(torch.ones(2, 2, 2)), lambda: tr.block_diag(tr.ones(2, 2, 2)),
                    "2 or fewer dimensions")


@pytest.mark.parametrize("dtype", DTYPES)
def test_cartesian_prod_and_combinations_as_torch(dtype):
    rng = np.random.default_rng(3)
    a, b, c = (rng.standard_normal(n).astype(dtype) for n in (2, 3, 1))
    _same_gradients(lambda x, y, z: tr.cartesian_prod(x, y, z), lambda x, y, z: torch.cartesian_prod(x, y, z),
                    [a, b, c])
    _same_gradients(lambda x: tr.cartesian_prod(x), lambda x: torch.cartesian_prod(x), [a])
    v = rng.standard_normal(4).astype(dtype)
    for r in (1, 2, 3, 4):
        for replace in (False, True):
            _same_gradients(lambda x, r=r, w=replace: tr.combinations(x, r, w),
                            lambda x, r=r, w=replace: torch.combinations(x, r, w), [v])
    for r in (0, 5):
        _same(tr.combinations(tr.tensor(v), r), torch.combinations(torch.tensor(v), r))
    _same(tr.combinations(tr.tensor([1, 2, 3])), torch.combinations(torch.tensor([1, 2, 3])))
    raises_as_torch(lambda: torch.combinations(torch.ones(2, 2)), lambda: tr.combinations(tr.ones(2, 2)), "1D vector")
    raises_as_torch(lambda: torch.combinations(torch.ones(2), -1), lambda: tr.combinations(tr.ones(2), -1),
                    "non-negative")
    raises_as_torch(lambda: torch.cartesian_prod(torch.ones(2, 2)), lambda: tr.cartesian_prod(tr.ones(2, 2)))


def test_broadcast_shapes_is_a_size_as_torchs():
    for shapes in (((2, 1), (3,)), (2, (3, 1)), (), ((1,), ()), ((0, 1), (1, 5)), (tr.Size([4, 1]), [1, 2])):
        ours, theirs = tr.broadcast_shapes(*shapes), torch.broadcast_shapes(*shapes)
        assert type(ours) is tr.Size and tuple(ours) == tuple(theirs)
    raises_as_torch(lambda: torch.broadcast_shapes((2,), (3,)), lambda: tr.broadcast_shapes((2,), (3,)))
    raises_as_torch(lambda: torch.broadcast_shapes((2, -1)), lambda: tr.broadcast_shapes((2, -1)), "negative")


@given(st.lists(st.integers(-30, 30), min_size=0, max_size=6), st.sampled_from([(2, 3), (4,), (1, 3, 2), 5, [3, 2]]))
def test_unravel_index_as_torch(flat, shape):
    x, t = _pair(np.array(flat, np.int64))
    _same(tr.unravel_index(x, shape), torch.unravel_index(t, shape))


def test_unravel_index_of_a_0d_tensor_and_its_errors_as_torch():
    _same(tr.unravel_index(tr.tensor(4), (2, 3)), torch.unravel_index(torch.tensor(4), (2, 3)))
    assert tr.unravel_index(tr.tensor([0]), ()) == torch.unravel_index(torch.tensor([0]), ()) == ()
    raises_as_torch(lambda: torch.unravel_index(torch.tensor([1.0]), (2, 3)),
                    lambda: tr.unravel_index(tr.tensor([1.0]), (2, 3)), "integer dtype")
    raises_as_torch(lambda: torch.unravel_index(torch.tensor([1]), (2, -3)),
                    lambda: tr.unravel_index(tr.tensor([1]), (2, -3)), "negative")
    raises_as_torch(lambda: torch.unravel_index(torch.tensor([1]), (0, 3)),
                    lambda: tr.unravel_index(tr.tensor([1]), (0, 3)))


def test_isin_as_torch():
    nan = float("nan")
    cases = [([1, 2, 3], [2, 5]), ([1.0, 2.0, 3.0], [2, 5]), ([1.0, nan], [nan]), ([[1, 2], [3, 4]], [[4], [1]])]
    for a, b in cases:
        x, t = _pair(a)
        y, u = _pair(b)
        for invert in (False, True):
            _same(tr.isin(x, y, invert=invert), torch.isin(t, u, invert=invert))
    x, t = _pair([1.0, 2.0, 3.0])
    _same(tr.isin(x, 2.0), torch.isin(t, 2.0))
    _same(tr.isin(2, tr.tensor([2, 5])), torch.isin(2, torch.tensor([2, 5])))
    raises_as_torch(lambda: torch.isin(2, 3), lambda: tr.isin(2, 3))
    raises_as_torch(lambda: torch.isin(torch.tensor([True]), torch.tensor([True])),
                    lambda: tr.isin(tr.tensor([True]), tr.tensor([True])), "Bool")


def test_finfo_and_iinfo_as_torch():
    for ours_dtype, torch_dtype in ((tr.float32, torch.float32), (tr.float64, torch.float64), (None, None)):
        ours = tr.finfo(ours_dtype) if ours_dtype is not None else tr.finfo()
        theirs = torch.finfo(torch_dtype) if torch_dtype is not None else torch.finfo()
        for name in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(ours, name) == getattr(theirs, name) and type(getattr(ours, name)) is \
                type(getattr(theirs, name)), name
        assert ours.dtype == theirs.dtype and repr(ours) == repr(theirs)
    assert tr.finfo(tr.ones(1, dtype=tr.float64).dtype).eps == torch.finfo(torch.float64).eps
    ours, theirs = tr.iinfo(tr.int64), torch.iinfo(torch.int64)
    assert (ours.bits, ours.max, ours.min, ours.dtype) == (theirs.bits, theirs.max, theirs.min, theirs.dtype)
    assert repr(ours) == repr(theirs)
    raises_as_torch(lambda: torch.finfo(torch.int64), lambda: tr.finfo(tr.int64), "floating point")
    raises_as_torch(lambda: torch.iinfo(torch.float32), lambda: tr.iinfo(tr.float32), "integer")
    raises_as_torch(lambda: torch.iinfo(torch.bool), lambda: tr.iinfo(tr.bool), "not supported")
