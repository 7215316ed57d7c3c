"""Tensor.register_hook, grad_fn and detach_ against PyTorch (each scenario runs on both libraries and
records what the hooks saw and the gradients that came out), and against the math where torch is absent."""
import numpy as np
import pytest

import tinygrad_rnn as tr

DTYPES = [np.float32, np.float64]


def _lib_tensor(lib, values, dtype, requires_grad=True):
    if lib is tr:
        return tr.Tensor(np.array(values, dtype=dtype), requires_grad=requires_grad)
    return lib.tensor(np.array(values, dtype=dtype), requires_grad=requires_grad)


def _np(t):
    return np.array(t.detach().numpy() if hasattr(t, "detach") else t.data, copy=True)


def _hooks_scenario(lib, dtype):
    """Hooks on a leaf used twice, on a non-leaf that replaces its gradient (seen by retain_grad), on the
    root, and one removed before backward: what each hook saw, in order, and the gradients."""
    seen = []
    x = _lib_tensor(lib, [1.0, -2.0, 0.5], dtype)
    w = _lib_tensor(lib, [[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]], dtype)
    x.register_hook(lambda g: seen.append(("x", _np(g))))
    y = (w * x).sum(1)                # y depends on x; x is used again below
    y.retain_grad()
    y.register_hook(lambda g: seen.append(("y", _np(g))) or g * 3)
    removed = y.register_hook(lambda g: seen.append(("removed", _np(g))))
    removed.remove()
    removed.remove()                  # a second remove() is harmless, as torch's
    z = (y * y).sum() + (x * x).sum()
    z.register_hook(lambda g: seen.append(("z", _np(g))))
    w.register_hook(lambda g: g * 0.5)
    z.backward()
    return seen, _np(x.grad), _np(w.grad), _np(y.grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_hooks_see_and_replace_gradients_as_torch(dtype):
    seen, gx, gw, gy = _hooks_scenario(tr, dtype)
    assert [name for name, _ in seen] == ["z", "y", "x"]   # the leaf's hook once, with its whole gradient
    assert all(g.dtype == dtype for _, g in seen) and gx.dtype == dtype
    w = np.array([[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]])
    x = np.array([1.0, -2.0, 0.5])
    y = (w * x).sum(1)
    np.testing.assert_allclose(gy, 3 * 2 * y, rtol=1e-6)                  # retain_grad sees the replacement
    np.testing.assert_allclose(gx, w.T @ (6 * y) + 2 * x, rtol=1e-6)
    np.testing.assert_allclose(gw, 0.5 * np.outer(6 * y, x), rtol=1e-6)
    torch = pytest.importorskip("torch")
    theirs = _hooks_scenario(torch, dtype)
    assert [name for name, _ in theirs[0]] == [name for name, _ in seen]
    for (_, a), (_, b) in zip(seen, theirs[0]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    for a, b in zip((gx, gw, gy), theirs[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_hooks_through_a_recurrent_layer_and_the_fused_path():
    """A hook on every parameter (gradient scaling, as per-parameter clipping is written) on the fused layer
    and the generic tape: the same gradients, each the unhooked one scaled."""
    grads = {}
    for fused in (True, False):
        tr.manual_seed(0)
        lstm = tr.nn.LSTM(3, 4, fused=fused, dtype=np.float64)
        x = tr.Tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
        lstm(x)[0].sum().backward()
        plain = [p.grad.numpy().copy() for p in lstm.parameters()]
        lstm.zero_grad()
        handles = [p.register_hook(lambda g: g * 2) for p in lstm.parameters()]
        lstm(x)[0].sum().backward()
        assert all(np.allclose(p.grad, 2 * g) for p, g in zip(lstm.parameters(), plain))
        with handles[0]:   # a handle is a context manager, as torch's: removed at the end of the block
            pass
        lstm.zero_grad()
        lstm(x)[0].sum().backward()
        np.testing.assert_allclose(next(lstm.parameters()).grad, plain[0])
        grads[fused] = [p.grad for p in lstm.parameters()]
    for a, b in zip(grads[True], grads[False]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_a_leaf_backward_runs_its_hooks_and_bad_hooks_are_refused():
    x = tr.Tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g + 1)
    x.backward(np.ones(2, np.float32))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        tr.Tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="hook must be callable"):
        x.register_hook(3)
    for bad, error, match in ((lambda g: g.sum(), ValueError, "changed the gradient's shape"),
                              (lambda g: g.double(), TypeError, "changed the gradient's dtype"),
                              (lambda g: g.numpy(), TypeError, "must return a Tensor or None")):
        y = x * 1
        y.register_hook(bad)
        with pytest.raises(error, match=match):
            y.sum().backward()


def _grad_fn_and_detach_(lib):
    x = _lib_tensor(lib, [1.0, 2.0], np.float64)
    y = x * 2
    with lib.no_grad():
        unrecorded = x * 2
    facts = [x.grad_fn is None, y.grad_fn is not None, y.detach().grad_fn is None, unrecorded.grad_fn is None,
             (_lib_tensor(lib, [1.0], np.float64, requires_grad=False) * 2).grad_fn is None]
    z = x * 3
    assert z.detach_() is z
    facts += [z.grad_fn is None, z.requires_grad, z.is_leaf]
    leaf = _lib_tensor(lib, [1.0], np.float64)
    leaf.detach_()
    facts.append(leaf.requires_grad)
    (y.sum() + (z * x).sum()).backward()     # z is a constant now: x's gradient is 2 + z = 2 + 3x
    return facts, _np(x.grad)


def test_grad_fn_and_detach_in_place_as_torch():
    facts, gx = _grad_fn_and_detach_(tr)
    assert facts == [True, True, True, True, True, True, False, True, False]
    np.testing.assert_allclose(gx, [5.0, 8.0])
    torch = pytest.importorskip("torch")
    theirs = _grad_fn_and_detach_(torch)
    assert facts == theirs[0]
    np.testing.assert_allclose(gx, theirs[1])
