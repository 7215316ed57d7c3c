"""The kernels reuse big buffers from step to step (kernels/workspace.py). Whatever the interpreter, a
buffer must never be handed out while an array the user can still reach uses it. Each test keeps some
result alive, runs more work through the same pool, and checks that the kept result did not change
(against a copy taken at once) and that gradients equal those of a fresh run."""
import sys

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.kernels import workspace


@pytest.fixture(params=["this interpreter", "borrowed refcounts"])
def pool_everything(request, monkeypatch):
    """Pool every array, however small, so the tiny layers of these tests go through the pool. The
    second run makes sys.getrefcount report what CPython 3.14 reports (its argument no longer counted):
    a pool that trusted reference counts handed out live memory there; ours must not care."""
    if request.param == "borrowed refcounts":
        real = sys.getrefcount
        # -2: one for the argument 3.14 no longer counts, one for this lambda's own reference
        monkeypatch.setattr(sys, "getrefcount", lambda obj: real(obj) - 2)
    monkeypatch.setattr(workspace, "MIN_BYTES", 0)
    workspace.clear()
    yield
    workspace.clear()


def _layer(kind, dtype=np.float64, layers=2):
    tr.manual_seed(3)
    return getattr(tr.nn, kind)(5, 7, num_layers=layers, dtype=dtype)


def _x(seed, T=6, B=4):
    return tr.Tensor(np.random.default_rng(seed).standard_normal((T, B, 5)))


def _grads(layer):
    return [p.grad.numpy().copy() for p in layer.parameters()]


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_output_kept_under_no_grad_survives_later_calls(kind, pool_everything):
    layer = _layer(kind)
    with tr.no_grad():
        kept, _ = layer(_x(0))
    snapshot = kept.numpy().copy()
    view = kept.numpy()[2:]
    view_snapshot = view.copy()
    for seed in range(1, 4):
        with tr.no_grad():
            layer(_x(seed))
        out, _ = layer(_x(seed))
        out.sum().backward()
    np.testing.assert_array_equal(kept.numpy(), snapshot)
    np.testing.assert_array_equal(view, view_snapshot)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_retain_graph_backward_twice_gives_twice_the_gradient(kind, pool_everything):
    layer = _layer(kind)
    out, _ = layer(_x(0))
    loss = (out * out).sum()
    loss.backward(retain_graph=True)
    once = _grads(layer)
    for seed in range(1, 3):                    # other graphs use the pool in between
        other, _ = _layer(kind)(_x(seed))
        other.sum().backward()
    loss.backward()
    for g1, g2 in zip(once, _grads(layer)):
        np.testing.assert_allclose(g2, 2 * g1, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_two_live_graphs_give_the_gradients_of_separate_runs(kind, pool_everything):
    layer_a, layer_b = _layer(kind), _layer(kind)
    out_a, _ = layer_a(_x(0))
    out_b, _ = layer_b(_x(1))                   # built while a's graph is alive
    (out_b * out_b).sum().backward()
    (out_a * out_a).sum().backward()
    workspace.clear()
    ref_a, ref_b = _layer(kind), _layer(kind)
    (ref_a(_x(0))[0] ** 2).sum().backward()
    (ref_b(_x(1))[0] ** 2).sum().backward()
    for got, want in zip(_grads(layer_a) + _grads(layer_b), _grads(ref_a) + _grads(ref_b)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_fused_gradients_equal_the_tape_with_everything_pooled(kind, pool_everything):
    """The failure seen on CPython 3.14 with a reference-count pool: one plain training step of a
    2-layer layer gave fused gradients far from the tape's."""
    fused = _layer(kind)
    tape = getattr(tr.nn, kind)(5, 7, num_layers=2, dtype=np.float64, fused=False)
    tape.load_state_dict(fused.state_dict())
    x = _x(5)
    (fused(x)[0] ** 2).sum().backward()
    (tape(x)[0] ** 2).sum().backward()
    for got, want in zip(_grads(fused), _grads(tape)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_a_view_keeps_its_buffer_in_use(pool_everything):
    a = workspace.empty((10, 10), np.float64)
    a[:] = 1.0
    view = a.T[1:]                                   # a view of a view
    del a
    b = workspace.empty((10, 10), np.float64)        # must not be the buffer the view still reads
    b[:] = 2.0
    assert np.all(view == 1.0)
