"""A recorded in-place write of `p.detach()` (`p.detach().copy_(w)`, w requiring grad), held against torch 2.13: the
detached tensor goes on the tape alone (its gradient reaches w), p's memory is written (p sees the new values, stays
a leaf with its own requires_grad and no gradient), and the version counter the two share moves on, so a graph that
saved p refuses its backward, as torch's (inplace.py _detached_leaf_memory)."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def _observe(lib, scenario, p_grad):
    """What a scenario leaves: p's values, versions, flags, and w's gradient after a backward through d."""
    p = lib.tensor([0.5, -1.0, 2.0], requires_grad=p_grad)
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = p.detach()
    scenario(lib, d, w)
    seen = {"p": p.tolist(), "d": d.tolist(), "p_version": p._version, "d_version": d._version,
            "d_requires_grad": d.requires_grad, "d_is_leaf": d.is_leaf, "p_requires_grad": p.requires_grad,
            "p_is_leaf": p.is_leaf}
    (d * d * lib.tensor([1.0, -2.0, 0.5])).sum().backward()
    seen["w_grad"] = w.grad.tolist()
    seen["p_grad"] = None if p.grad is None else p.grad.tolist()
    return seen


def _copy(lib, d, w):
    d.copy_(w * 2)


def _copy_then_mul_under_no_grad(lib, d, w):
    d.copy_(w)
    with lib.no_grad():
        d.mul_(3.0)


def _copy_then_recorded_mul(lib, d, w):
    d.copy_(w)
    d.mul_(w)


def _add(lib, d, w):
    d.add_(w, alpha=2.0)


def _mul_of_a_number_then_copy(lib, d, w):
    with lib.no_grad():
        d.mul_(2.0)
    d.copy_(w.exp())


SCENARIOS = [_copy, _copy_then_mul_under_no_grad, _copy_then_recorded_mul, _add, _mul_of_a_number_then_copy]


@pytest.mark.parametrize("p_grad", [False, True])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__.strip("_"))
def test_a_recorded_write_of_a_detached_tensor_is_torchs(scenario, p_grad):
    expected = _observe(torch, scenario, p_grad)
    got = _observe(tr, scenario, p_grad)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, list):
            np.testing.assert_allclose(got[key], value, rtol=1e-6, err_msg=key)
        else:
            assert got[key] == value, key


@pytest.mark.parametrize("p_grad", [False, True])
def test_a_graph_that_saved_p_refuses_after_its_detach_is_written(p_grad):
    """The shared counter: y = p * q * q saved q; q.detach() written on the tape; y's backward refuses, as torch's
    (q requiring grad or not). y2 = p * 2 saved nothing of q: it runs."""
    outcomes = []
    for lib in (torch, tr):
        p = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        q = lib.tensor([1.0, 1.0, 1.0], requires_grad=p_grad)
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y, y2 = (p * q * q).sum(), (p * 2).sum()
        q.detach().copy_(w)
        try:
            y.backward()
            refused = False
        except RuntimeError:
            refused = True
        y2.backward()
        outcomes.append((refused, p.grad.tolist()))
    assert outcomes[1][0] == outcomes[0][0] and outcomes[0][0]   # (p * q) * q saved q: refused
    np.testing.assert_allclose(outcomes[1][1], outcomes[0][1])


def test_a_detached_tensor_with_views_of_its_own_is_still_refused():
    """torch rebases a view taken of d onto the written d (v = d[0:2] then requires grad); here v would stay off the
    tape, so that write is refused (RuntimeError), never silently different. A view of p itself is p's, as torch's."""
    p, w = tr.zeros(3), tr.ones(3, requires_grad=True)
    d = p.detach()
    d[0:2]
    with pytest.raises(RuntimeError, match="in place"):
        d.copy_(w)
    p2 = tr.zeros(3)
    u, d2 = p2[0:2], p2.detach()
    d2.copy_(w * 2)
    assert u.tolist() == [2.0, 2.0] and not u.requires_grad and d2.requires_grad
