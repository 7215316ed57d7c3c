"""In-place writes inside a compiled cell: `nn.ReLU(inplace=True)`, `F.hardtanh(z, inplace=True)`, `y += h`,
`y.relu_()` on values the cell computed are followed by the trace (the written tensor stands for the result), so
the fused layer equals the generic tape, values and gradients; a write the kernels cannot follow (a parameter,
the state, a viewed value) is refused with a CompileError naming the fix, and fused='auto' runs the tape."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile import CompileError
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import uniform

F = tr.nn.functional
pytest.importorskip("numba")


def _relu_module(cell, z, h):
    return cell.act(z) + h * 0.5


def _hardtanh(cell, z, h):
    return F.hardtanh(z, -0.5, 0.5, inplace=True) * 2 + h * 0.3


def _plus_equals(cell, z, h):
    z += h
    return z.tanh()


def _chained(cell, z, h):
    z.mul_(0.5).relu_()
    z -= 0.1
    return F.silu(z, inplace=True) + F.leaky_relu(h, 0.1)


def _write_a_parameter(cell, z, h):
    with tr.no_grad():
        cell.weight_hh.mul_(1.0)
    return z.tanh()


def _write_a_viewed_value(cell, z, h):
    first = z[:, :1]
    z.relu_()
    return z + first


BODIES = {"relu module": _relu_module, "hardtanh inplace": _hardtanh, "+=": _plus_equals, "chained": _chained}
REFUSED = {"a parameter": _write_a_parameter, "a viewed value": _write_a_viewed_value}


def cell_of(body):
    class InPlaceCell(RecurrentCell):
        def __init__(self, input_size, hidden_size, dtype=np.float64):
            self.input_size, self.hidden_size = input_size, hidden_size
            self.weight_ih = uniform((hidden_size, input_size), 0.7, dtype)
            self.weight_hh = uniform((hidden_size, hidden_size), 0.7, dtype)
            self.act = tr.nn.ReLU(inplace=True)

        def forward(self, x, h):
            return body(self, x @ self.weight_ih.T + h @ self.weight_hh.T, h)
    return InPlaceCell


def run(layer, x, backward=True):
    for p in layer.parameters():
        p.grad = None
    xt = tr.tensor(x, requires_grad=True)
    out, h = layer(xt)
    if not backward:   # (a cell that writes its own parameter: the tape refuses that backward, as torch's)
        return [out.data, h.data]
    (out * out).sum().backward()
    return [out.data, h.data, np.asarray(xt.grad)] + [np.asarray(p.grad) for p in layer.parameters()]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_compiled_layer_follows_in_place_writes_and_equals_the_tape(name, dtype):
    cell = cell_of(BODIES[name])
    tape = tr.nn.Recurrent(cell, 3, 4, fused=False, dtype=dtype)
    fused = tr.nn.Recurrent(cell, 3, 4, fused=True, dtype=dtype)
    fused.load_state_dict(tape.state_dict())
    x = np.random.default_rng(0).standard_normal((6, 2, 3)).astype(dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    for a, b in zip(run(fused, x), run(tape, x)):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_write_the_kernels_cannot_follow_is_refused_and_auto_runs_the_tape(name):
    cell = cell_of(REFUSED[name])
    with pytest.raises(CompileError, match="in-place write|in place, recorded"):
        tr.nn.Recurrent(cell, 3, 4, fused=True, dtype=np.float64)
    auto = tr.nn.Recurrent(cell, 3, 4, fused="auto", dtype=np.float64)
    tape = tr.nn.Recurrent(cell, 3, 4, fused=False, dtype=np.float64)
    tape.load_state_dict(auto.state_dict())
    x = np.random.default_rng(1).standard_normal((4, 2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "a viewed value":   # the engine refuses this write on the tape too (its view would go stale)
            for layer in (auto, tape):
                with pytest.raises(RuntimeError, match="in place, recorded"):
                    run(layer, x)
            return
        for a, b in zip(run(auto, x, backward=False), run(tape, x, backward=False)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
