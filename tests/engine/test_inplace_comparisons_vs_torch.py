"""The comparisons in place, as torch 2.13's: x.eq_(y), ne_, lt_, le_, gt_, ge_, their aliases (not_equal_, less_,
less_equal_, greater_, greater_equal_) and logical_and_/or_/xor_/not_ write the mask into x in x's dtype (1 and 0
in a float or int64 tensor, True and False in a mask); recorded, the comparisons' result's gradient is 0; a mask
broadcasting beyond x, a leaf that requires grad, refused as torch refuses them (the logical ones' autograd, which
torch does not record: tests/engine/test_logical_in_place_and_heaviside_autograd_vs_torch.py). Also
cumsum_/cumprod_'s dtype=. main had none of these methods (AttributeError)."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

COMPARISONS = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "not_equal_", "less_", "less_equal_", "greater_",
               "greater_equal_"]
LOGICAL = ["logical_and_", "logical_or_", "logical_xor_"]
X = [[1.0, 2.0, 3.0], [3.0, 2.0, 0.0]]


def _both(values, dtype):
    a = np.asarray(values, dtype=dtype)
    return torch.tensor(a), tr.tensor(a)


def _same(ours, theirs):
    assert ours.numpy().dtype == theirs.numpy().dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("other", ["scalar", "same", "row"])
@pytest.mark.parametrize("name", COMPARISONS + LOGICAL)
def test_a_comparison_in_place_writes_the_mask_in_xs_dtype(name, other, dtype):
    t, o = _both(X, dtype)
    if other == "scalar":
        to = oo = 2 if dtype != np.bool_ else True
    else:
        values = [[2.0, 2.0, 1.0], [0.0, 2.0, 5.0]] if other == "same" else [2.0, 0.0, 3.0]
        to, oo = _both(values, dtype)
    if name in LOGICAL and other == "scalar":
        pytest.skip("torch's logical_*_ take a Tensor alone")
    view_t, view_o = t[0], o[0]   # a view sees the write: the tensor's own memory is written
    assert getattr(o, name)(oo) is o
    getattr(t, name)(to)
    _same(o, t)
    _same(view_o, view_t)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_logical_not_in_place(dtype):
    t, o = _both(X, dtype)
    t.logical_not_()
    o.logical_not_()
    _same(o, t)


@pytest.mark.parametrize("name", ["lt_", "eq_", "greater_equal_"])
def test_recorded_the_result_requires_grad_and_passes_gradient_0(name):
    """(torch's logical_*_ are not differentiable and leave the tensor's history as it was: not compared)"""
    a = np.asarray(X, dtype=np.float64)
    t, o = torch.tensor(a, requires_grad=True), tr.tensor(a, requires_grad=True)
    ty, oy = t * 1.5, o * 1.5
    getattr(ty, name)(torch.tensor(2.0, dtype=torch.float64))
    getattr(oy, name)(tr.tensor(np.float64(2.0)))
    assert oy.requires_grad == ty.requires_grad
    _same(oy.detach(), ty.detach())
    (ty * 3).sum().backward()
    (oy * 3).sum().backward()
    np.testing.assert_array_equal(o.grad.numpy(), t.grad.numpy())


def test_refused_as_torch_refuses():
    t, o = _both([1.0, 2.0, 3.0], np.float32)
    raises_as_torch(lambda: t.lt_(torch.zeros(2, 3)), lambda: o.lt_(tr.zeros(2, 3)), "shape")
    raises_as_torch(lambda: torch.ones(3, requires_grad=True).ge_(1.0),
                    lambda: tr.ones(3, requires_grad=True).ge_(1.0), "leaf")


@pytest.mark.parametrize("name", ["cumsum_", "cumprod_"])
def test_cumulative_in_place_takes_its_own_dtype(name):
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    t, o = torch.tensor(a), tr.tensor(a)
    getattr(t, name)(1, dtype=torch.float32)
    getattr(o, name)(1, dtype=tr.float32)
    np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-6)
    raises_as_torch(lambda: getattr(t, name)(1, dtype=torch.float64), lambda: getattr(o, name)(1, dtype=tr.float64),
                    "Bad in-place call")
