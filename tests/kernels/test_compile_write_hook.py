"""The trace of a compiled cell follows in-place writes through the engine's write hook (tape._write_checks), as it
records operations through the forward hook: nothing of the library is patched while a cell is traced (before,
the trace replaced InPlaceWrites._write on the class, seen by every thread). The hook also hears the writes the
patch did not: an in-place view (y.unsqueeze_(0)) of a value the cell computed, which the compiled layer follows
(equal to the generic tape, float64 1e-12), and a write of a parameter's memory through .detach() on the
tape, which is refused (CompileError; fused='auto' runs the tape, whose numbers the layer then gives). What a cell
runs under no_grad() is a stop-gradient in the kernels, as on the tape (before, the kernels differentiated it: other
gradients, silently), whether the layer's first call runs under no_grad() or not; an in-place write under no_grad()
of a value with a gradient (whose gradient the tape passes straight through) is refused."""
import threading
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import tape
from tinygrad_rnn.compile import CompileError
from tinygrad_rnn.compile.node import get_kernel
from tinygrad_rnn.inplace import InPlaceWrites
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import uniform

pytest.importorskip("numba")
_CLASS_METHODS = dict(vars(InPlaceWrites))


class _Cell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((hidden_size, input_size), 0.7, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.7, dtype)

    def pre(self, x, h):
        return x @ self.weight_ih.T + h @ self.weight_hh.T


class LooksAtTheEngine(_Cell):
    """Writes in place, and notes what the in-place methods of the Tensor class are while it is traced."""
    seen = []

    def forward(self, x, h):
        LooksAtTheEngine.seen.append(dict(vars(InPlaceWrites)) == _CLASS_METHODS)
        z = self.pre(x, h)
        z += h
        return z.tanh()


class ViewInPlace(_Cell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        super().__init__(input_size, hidden_size, dtype)
        self.b = uniform((hidden_size,), 0.7, dtype)

    def forward(self, x, h):
        c = self.b * 2.0
        c.unsqueeze_(0)   # (1, n) from now on: the trace's c is the view's result
        return (self.pre(x, h) + c).tanh()


class WritesAParameterThroughDetach(_Cell):
    def forward(self, x, h):
        z = self.pre(x, h)
        self.weight_hh.detach().mul_(z.sum() * 0 + 1)   # recorded (z requires grad): the parameter's memory
        return z.tanh()


def _run(cell, fused, x):
    tr.manual_seed(3)
    layer = tr.nn.Recurrent(cell, 3, 4, dtype=np.float64, fused=fused)
    out, _ = layer(x)
    (out * out).sum().backward()
    return out.detach().numpy(), x.grad.numpy().copy(), [p.grad.numpy().copy() for p in layer.parameters()]


def _x():
    return tr.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)), requires_grad=True)


def test_nothing_of_the_library_is_patched_while_a_cell_is_traced():
    LooksAtTheEngine.seen.clear()
    get_kernel(LooksAtTheEngine(3, 4), np.float64)
    assert LooksAtTheEngine.seen and all(LooksAtTheEngine.seen)
    assert tape._write_checks == []


def test_another_threads_writes_during_a_trace_are_not_the_cells():
    """A parameter written in place under no_grad by another thread while the cell is traced (an optimizer's
    step in a training thread) is not the cell's write: not refused."""
    started, done = threading.Event(), threading.Event()

    class Waits(_Cell):
        def forward(self, x, h):
            started.set()
            done.wait(5)
            return self.pre(x, h).tanh()

    p = tr.nn.Parameter(np.ones(3))

    def writer():
        started.wait(5)
        with tr.no_grad():
            p.mul_(2.0)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    get_kernel(Waits(3, 4), np.float64)
    thread.join()
    np.testing.assert_array_equal(p.numpy(), 2.0 * np.ones(3))


def test_an_in_place_view_of_a_computed_value_is_followed_and_equals_the_tape():
    fused, taped = _run(ViewInPlace, True, _x()), _run(ViewInPlace, False, _x())
    np.testing.assert_allclose(fused[0], taped[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fused[1], taped[1], rtol=1e-12, atol=1e-12)
    for got, want in zip(fused[2], taped[2]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_parameter_written_through_detach_is_refused_and_auto_runs_the_tape():
    with pytest.raises(CompileError, match=r"in-place write \(\*=\).*parameter.*test_compile_write_hook.py"):
        tr.nn.Recurrent(WritesAParameterThroughDetach, 3, 4, dtype=np.float64, fused=True)
    outs = []
    for fused in ("auto", False):   # (forward only: the tape refuses a backward through the written parameter)
        tr.manual_seed(3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            layer = tr.nn.Recurrent(WritesAParameterThroughDetach, 3, 4, dtype=np.float64, fused=fused)
        outs.append(layer(_x())[0].detach().numpy())
    assert layer.fused is False
    np.testing.assert_array_equal(outs[0], outs[1])


class NoGradScale(_Cell):
    """A scale computed under no_grad() from the state: no gradient through it on the tape."""
    def forward(self, x, h):
        z = self.pre(x, h)
        with tr.no_grad():
            s = (h * h).mean(-1, keepdim=True) + 1.0
        return (z / s).tanh()


class NoGradWrite(_Cell):
    def forward(self, x, h):
        z = self.pre(x, h)
        with tr.no_grad():
            z *= 2.0
        return z.tanh()


@pytest.mark.parametrize("first_call_without_grad", [False, True])
def test_what_a_cell_runs_under_no_grad_gets_no_gradient_as_on_the_tape(first_call_without_grad):
    results = []
    for fused in (True, False):
        tr.manual_seed(3)
        layer = tr.nn.Recurrent(NoGradScale, 3, 4, dtype=np.float64, fused=fused)
        if first_call_without_grad:   # (the kernels made now are those the next call trains with)
            with tr.no_grad():
                layer(_x())
        x = _x()
        out, _ = layer(x)
        (out * out).sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy().copy(), [p.grad.numpy().copy() for p in
                                                                      layer.parameters()]))
    (fo, fx, fp), (to, tx, tp) = results
    np.testing.assert_allclose(fo, to, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fx, tx, rtol=1e-12, atol=1e-12)
    for got, want in zip(fp, tp):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_an_in_place_write_under_no_grad_of_a_value_with_a_gradient_is_refused():
    with pytest.raises(CompileError, match=r"NoGradWrite: an in-place write \(\*=\) under no_grad\(\) of a value "
                                           r"with a gradient.*test_compile_write_hook.py"):
        tr.nn.Recurrent(NoGradWrite, 3, 4, dtype=np.float64, fused=True)
    with pytest.warns(RuntimeWarning, match="generic tape"):
        auto = tr.nn.Recurrent(NoGradWrite, 3, 4, dtype=np.float64, fused="auto")
    assert auto.fused is False
