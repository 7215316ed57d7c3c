"""clamp / clip / clamp_min / clamp_max with Tensor bounds, against torch 2.13: values, broadcasting, dtypes, and
where the gradient goes (torch's tie rule: self keeps it at a tie; below min == max nobody gets it). They were refused
(numbers only)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

# few distinct values, so that ties between self and the bounds (and min == max) are common
_values = st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, float("nan")])


def _array(draw, shape, dtype):
    return np.array(draw(st.lists(_values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                    dtype=dtype).reshape(shape)


def _run(lib, fn, arrays):
    """fn called with lib's tensors for the arrays (None for a missing bound); the
    result's values and each tensor's gradient from sum(result * weights)."""
    make = (lambda a: tr.Tensor(a, requires_grad=True)) if lib is tr else \
        (lambda a: torch.tensor(a, requires_grad=True))
    args = [None if a is None else make(a) for a in arrays]
    out = fn(lib, *args)
    weights = np.arange(1, out.numel() + 1, dtype=arrays[0].dtype).reshape(tuple(out.shape))
    (out * (tr.Tensor(weights) if lib is tr else torch.tensor(weights))).sum().backward()
    value = out.data if lib is tr else out.detach().numpy()
    grads = [None if not hasattr(a, "grad") else (a.grad if lib is tr else a.grad.numpy()) for a in args]
    return value, grads


@st.composite
def _case(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x_shape = draw(st.sampled_from([(3,), (2, 3)]))
    # bounds that broadcast to self's shape: torch's backward fails when self is broadcast up (tested below)
    fitting = [b for b in [(), (3,), (1, 3), (2, 1)] if np.broadcast_shapes(b, x_shape) == x_shape]
    bound_shapes = st.sampled_from(fitting)
    kinds = draw(st.sampled_from([["t", "t"], ["t", "none"], ["none", "t"]]))   # (torch refuses a number and a
    bounds = [None if k == "none" else _array(draw, draw(bound_shapes), dtype) for k in kinds]   # Tensor: below)
    return [_array(draw, x_shape, dtype)] + bounds, ["t"] + kinds


@pytest.mark.parametrize("spelling", ["clamp", "clip", "method", "min_max"])
@given(_case())
def test_values_and_gradients_match_torch(spelling, case):
    arrays, kinds = case
    if spelling == "min_max" and "none" not in kinds:
        kinds = ["t", "t", "none"]   # clamp_min with a tensor
        arrays = arrays[:2] + [None]
    calls = {"clamp": lambda lib, x, lo, hi: lib.clamp(x, min=lo, max=hi),
             "clip": lambda lib, x, lo, hi: lib.clip(x, lo, hi),
             "method": lambda lib, x, lo, hi: x.clamp(lo, hi),
             "min_max": lambda lib, x, lo, hi: x.clamp_min(lo) if hi is None else x.clamp_max(hi)}
    fn = calls[spelling]
    ours, theirs = _run(tr, fn, arrays), _run(torch, fn, arrays)
    assert ours[0].dtype == theirs[0].dtype and ours[0].shape == theirs[0].shape
    np.testing.assert_array_equal(ours[0], theirs[0])
    for g, t in zip(ours[1], theirs[1]):
        assert (g is None) == (t is None)
        if g is not None:
            assert g.dtype == t.dtype and g.shape == t.shape
            np.testing.assert_array_equal(g, t)


def test_self_broadcast_up_against_torch_on_the_expanded_self():
    """torch 2.13's clamp backward can fail when self is broadcast to a bigger shape ("output with shape [3] doesn't
    match the broadcast shape [1, 3]", found by the test above); the gradient is that of clamp of self expanded."""
    x, lo, hi = (np.array(v, np.float32) for v in ([0.0, 1.5, 3.0], [[1.0], [2.0]], [[2.0, 2.0, 2.0], [1.0, 3.0, 1.0]]))
    t = [torch.tensor(a, requires_grad=True) for a in (x, lo, hi)]
    expected = torch.clamp(t[0].expand(2, 3), t[1], t[2])
    (expected * torch.arange(6.0).reshape(2, 3)).sum().backward()
    ours = [tr.Tensor(a, requires_grad=True) for a in (x, lo, hi)]
    out = tr.clamp(*ours)
    (out * tr.arange(6.0).reshape(2, 3)).sum().backward()
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    for a, b in zip(ours, t):
        np.testing.assert_array_equal(a.grad, b.grad.numpy())


def test_positional_tensor_bounds():
    x, lo, hi = (np.array(v, np.float64) for v in ([0.0, 1.0, 5.0], [1.0, 1.0, 1.0], [[2.0], [4.0]]))
    ours = tr.Tensor(x).clamp(tr.Tensor(lo), tr.Tensor(hi))
    np.testing.assert_array_equal(ours.data, torch.tensor(x).clamp(torch.tensor(lo), torch.tensor(hi)).numpy())


def test_the_tie_rule_corners():
    """self gets the gradient at a tie; below min == max neither self nor a bound gets it (torch's rule)."""
    x = np.array([0.0, 1.0, 2.0, 3.0, np.nan], np.float32)
    results = []
    for lib in (tr, torch):
        xs, lo, hi = (lib.tensor(a, requires_grad=True) if lib is torch else lib.Tensor(a, requires_grad=True)
                      for a in (x, np.float32(2.0), np.float32(2.0)))
        lib.clamp(xs, lo, hi).sum().backward()
        grads = [xs.grad, lo.grad, hi.grad]
        results.append([np.asarray(g if lib is tr else g.numpy()) for g in grads])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_nan_bounds_give_torchs_values():
    x = np.array([-3.0, 0.0, 3.0, np.nan], np.float32)
    for lo, hi in (([np.nan] * 4, [1.0] * 4), ([-1.0] * 4, [np.nan] * 4), ([np.nan] * 4, None), (None, [np.nan] * 4),
                   ([1.0, np.nan, 1.0, 1.0], [np.nan, 2.0, -1.0, 1.0])):
        lo, hi = (None if b is None else np.array(b, np.float32) for b in (lo, hi))
        ours = tr.clamp(tr.Tensor(x), *(None if b is None else tr.Tensor(b) for b in (lo, hi)))
        theirs = torch.clamp(torch.tensor(x), *(None if b is None else torch.tensor(b) for b in (lo, hi)))
        np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_indices_with_tensor_bounds_as_torch():
    x = np.array([0, 5, 9])
    for lo, hi in ((np.array([1, 1, 1]), np.array([4, 6, 8])), (np.array([0.5, 0.5, 0.5]), None)):
        ours = tr.clamp(tr.tensor(x), tr.tensor(lo), None if hi is None else tr.tensor(hi))
        theirs = torch.clamp(torch.tensor(x), torch.tensor(lo), None if hi is None else torch.tensor(hi))
        assert ours.data.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_in_place_clamp_with_a_tensor_bound():
    x = np.array([0.0, 1.5, 3.0], np.float32)
    lo = np.array([1.0, 1.0, 1.0], np.float32)
    ours, theirs = tr.Tensor(x.copy()), torch.tensor(x.copy())
    ours.clamp_(tr.Tensor(lo), tr.Tensor(lo + 1))
    theirs.clamp_(torch.tensor(lo), torch.tensor(lo + 1))
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_a_number_and_a_tensor_as_torch_binds_them():
    """torch's overloads take two numbers or two Tensors; a 0-d Tensor without a gradient passes as a number."""
    x = np.array([0.0, 1.0, 5.0], np.float32)
    for lo, hi in ((np.float32(2.0), 3.0), (1.0, np.float32(2.0)), (np.int64(2), 3.5)):
        ours = tr.clamp(tr.Tensor(x), *(tr.Tensor(b) if isinstance(b, np.generic) else b for b in (lo, hi)))
        theirs = torch.clamp(torch.tensor(x), *(torch.tensor(b) if isinstance(b, np.generic) else b for b in (lo, hi)))
        assert ours.data.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    for lo, hi in ((np.array([1.0], np.float32), 2.0), (np.float32(1.0), 2.0)):   # (both Tensors requiring grad)
        with pytest.raises(TypeError):
            torch.clamp(torch.tensor(x), min=torch.tensor(lo, requires_grad=True), max=hi)
        with pytest.raises(TypeError, match="clamp: min and max must be both numbers or both Tensors"):
            tr.clamp(tr.Tensor(x), min=tr.Tensor(lo, requires_grad=True), max=hi)


def test_other_bound_types_are_refused_naming_the_bound():
    with pytest.raises(TypeError):
        torch.clamp(torch.ones(2), min=[1.0, 2.0])
    with pytest.raises(TypeError, match="clip/clamp: min must be a number or a Tensor, got list"):
        tr.clamp(tr.ones(2), min=[1.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_number_bounds_give_zero_gradient_outside_even_for_a_nan_upstream_gradient(dtype):
    """Outside [min, max] the gradient is 0, not nan * 0 (torch selects; the compiled rule's select does too): an
    inf value clamped away (Pareto's mean at alpha < 1) must not poison the gradient."""
    grads = []
    for lib in (tr, torch):
        x = (tr.Tensor if lib is tr else torch.tensor)(np.array([0.7, 2.0, 5.0], dtype), requires_grad=True)
        upstream = np.array([np.nan, np.inf, 1.0], dtype)
        (x.clamp(min=1.0, max=3.0) * (tr.Tensor if lib is tr else torch.tensor)(upstream)).sum().backward()
        grads.append(np.asarray(x.grad))
    np.testing.assert_array_equal(grads[0], grads[1])
    assert grads[0].dtype == dtype
