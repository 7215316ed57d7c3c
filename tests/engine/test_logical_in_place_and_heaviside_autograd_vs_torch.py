"""Autograd around the operations torch gives no derivative, as torch 2.13's.

logical_and_/or_/xor_/not_: torch records nothing. The values change and the version bumps, but the tensor keeps
its history, so the gradient passes through as it did before the write (main recorded a gradient of 0), a graph
that saved the old values refuses its backward, and a leaf that requires grad may be written (main refused it).
heaviside / heaviside_: the result requires grad when an input does, and the backward raises torch's
RuntimeError (main gave a result without grad; heaviside_ of a computed tensor crashed with a TypeError).
gcd / lcm: int64 alone, never a gradient."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

A = [1.0, 0.0, 2.0, -3.0]
B = [1.0, 1.0, 0.0, 0.0]
WRITES = {   # (other: B's last len(x) values)
    "logical_and_": lambda L, x: x.logical_and_(L.tensor(B[-len(x):], dtype=x.dtype)),
    "logical_or_": lambda L, x: x.logical_or_(L.tensor(B[-len(x):], dtype=x.dtype)),
    "logical_xor_": lambda L, x: x.logical_xor_(L.tensor(B[-len(x):], dtype=x.dtype)),
    "logical_not_": lambda L, x: x.logical_not_(),
    "logical_and_ a mask": lambda L, x: x.logical_and_(L.tensor(B[-len(x):]) > 0),
}


def _run(L, scenario, name, dtype):
    """(x's values after the write, a's gradient or the exception's type)."""
    a = L.tensor(np.asarray(A, dtype), requires_grad=True)
    weights = L.tensor(np.arange(1.0, 5.0, dtype=dtype))
    try:
        if scenario == "through a product":     # x = a * 2: the write keeps Mul's history
            x = a * 2
            WRITES[name](L, x)
            (x * weights).sum().backward()
        elif scenario == "saved by exp":        # exp saved its result: the write is refused at backward
            x = a.exp()
            WRITES[name](L, x)
            (x * weights).sum().backward()
        elif scenario == "a leaf":              # written, still a leaf that requires grad
            x = a
            WRITES[name](L, x)
            assert x.requires_grad and x.grad_fn is None
            (x * weights).sum().backward()
        elif scenario == "a leaf saved before":   # a * a saved a: its backward refuses
            x = a
            y = (a * a * weights).sum()
            WRITES[name](L, x)
            y.backward()
        elif scenario == "a view of a product":   # v = x[1:3] written: x's history kept
            x = a * 2
            v = x[1:]
            WRITES[name](L, v)
            (x * weights).sum().backward()
        elif scenario == "a view of a leaf under no_grad":
            with L.no_grad():
                x = a[:]
            WRITES[name](L, x)
            (a * weights).sum().backward()
    except RuntimeError:   # (ours: InplaceModificationError, a RuntimeError)
        return x.detach().numpy().copy(), RuntimeError
    return x.detach().numpy().copy(), a.grad.numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scenario", ["through a product", "saved by exp", "a leaf", "a leaf saved before",
                                      "a view of a product", "a view of a leaf under no_grad"])
@pytest.mark.parametrize("name", sorted(WRITES))
def test_logical_in_place_keeps_the_history_as_torch(name, scenario, dtype):
    (ox, og), (tx, tg) = _run(tr, scenario, name, dtype), _run(torch, scenario, name, dtype)
    np.testing.assert_array_equal(ox, tx)
    if isinstance(tg, type):
        assert og is tg, f"torch raised {tg.__name__}, ours gave {og}"
    else:
        np.testing.assert_array_equal(og, tg)


@pytest.mark.parametrize("name", ["logical_and_", "logical_not_"])
def test_logical_in_place_bumps_the_version(name):
    ours, theirs = tr.tensor(A), torch.tensor(A)
    before = ours._version, theirs._version
    WRITES[name](tr, ours)
    WRITES[name](torch, theirs)
    assert (ours._version - before[0]) == (theirs._version - before[1]) == 1


def test_logical_in_place_of_a_no_grad_copy_with_a_gradient_other_stays_off_the_tape():
    t, o = torch.tensor(A, requires_grad=True), tr.tensor(A, requires_grad=True)
    with torch.no_grad():
        tx = t * 1
    with tr.no_grad():
        ox = o * 1
    tx.logical_and_(t)
    ox.logical_and_(o)
    assert ox.requires_grad == tx.requires_grad and (ox.grad_fn is None) == (tx.grad_fn is None)
    np.testing.assert_array_equal(ox.numpy(), tx.numpy())


def _heaviside_grad(L, which, dtype):
    x = L.tensor(np.asarray([-1.5, 0.0, 2.0, 0.0], dtype), requires_grad=which in ("input", "both"))
    v = L.tensor(np.asarray([0.25, 0.5, 0.75, 1.0], dtype), requires_grad=which in ("values", "both"))
    y = x.heaviside(v) if which != "function" else L.heaviside(x, v.detach().requires_grad_())
    return y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("which", ["input", "values", "both", "function"])
def test_heaviside_requires_grad_and_refuses_its_backward_as_torch(which, dtype):
    ty, oy = _heaviside_grad(torch, which, dtype), _heaviside_grad(tr, which, dtype)
    assert oy.requires_grad == ty.requires_grad is True
    np.testing.assert_array_equal(oy.detach().numpy(), ty.detach().numpy())
    assert oy.dtype == dtype
    raises_as_torch(lambda: ty.sum().backward(), lambda: oy.sum().backward(), "derivative for aten::heaviside")


def test_heaviside_without_grad_and_at_nan_inf_as_torch():
    x = [float("nan"), -1.0, 0.0, 1.0, float("inf"), -float("inf")]
    for dtype in (np.float32, np.float64):
        t = torch.heaviside(torch.tensor(np.asarray(x, dtype)), torch.tensor(np.asarray([0.5], dtype)))
        o = tr.heaviside(tr.tensor(np.asarray(x, dtype)), tr.tensor(np.asarray([0.5], dtype)))
        assert not o.requires_grad and not t.requires_grad
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    np.testing.assert_array_equal(tr.tensor([-2, 0, 3]).heaviside(tr.tensor([7])).numpy(),
                                  torch.tensor([-2, 0, 3]).heaviside(torch.tensor([7])).numpy())


def test_heaviside_in_place_as_torch():
    """heaviside_ of a computed tensor (main: a TypeError from inside the in-place machinery), of a leaf that
    requires grad (refused), and under no_grad()."""
    t, o = torch.tensor(A, requires_grad=True), tr.tensor(A, requires_grad=True)
    tx, ox = t * 1, o * 1
    tx.heaviside_(torch.tensor(B))
    ox.heaviside_(tr.tensor(B))
    assert ox.requires_grad == tx.requires_grad
    np.testing.assert_array_equal(ox.detach().numpy(), tx.detach().numpy())
    raises_as_torch(lambda: tx.sum().backward(), lambda: ox.sum().backward(), "derivative for aten::heaviside")
    raises_as_torch(lambda: t.heaviside_(torch.tensor(B)), lambda: o.heaviside_(tr.tensor(B)), "leaf")
    with torch.no_grad():
        t.heaviside_(torch.tensor(B))
    with tr.no_grad():
        o.heaviside_(tr.tensor(B))
    np.testing.assert_array_equal(o.detach().numpy(), t.detach().numpy())


@pytest.mark.parametrize("name", ["gcd", "lcm"])
def test_gcd_lcm_take_int64_alone_and_carry_no_gradient(name):
    a, b = [4, 6, -9, 0], [6, 4, 6, 5]
    t, o = getattr(torch.tensor(a), name)(torch.tensor(b)), getattr(tr.tensor(a), name)(tr.tensor(b))
    np.testing.assert_array_equal(o.numpy(), t.numpy())
    assert o.dtype == np.int64 and not o.requires_grad and o.grad_fn is None
    raises_as_torch(lambda: getattr(torch.tensor([4.0], requires_grad=True), name)(torch.tensor([6.0])),
                    lambda: getattr(tr.tensor([4.0], requires_grad=True), name)(tr.tensor([6.0])), "not implemented")
