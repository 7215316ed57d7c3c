"""The trace of a compiled cell records through the tape's forward hook (tape._forward_checks), in its own thread:
it sees every primitive, whichever module applied it (tr.linalg, tr.special, a parametrization), not only those
called through tensor.py's name. Work of those modules on the weights alone runs once per call on the tape (the
prelude); one on the input or state that the kernels cannot run is a CompileError naming it (fused='auto': the
tape, with a warning); one on constants alone is folded, as before. A tr.checkpoint inside a cell is refused by
name, and so is work on the weights' values off the tape (numpy on w.numpy(), a branch on a weight), which a
third trace, of a copy with other weights, finds. A tr.nn.Recurrent(fused='auto') whose cell changed after
construction so that it no longer compiles falls back to the tape at the call, with the construction's warning;
fused=True raises. Held against the generic tape (fused=False) in float64."""
import threading

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile.node import get_kernel
from tinygrad_rnn.nn.utils import parametrize

I, H = 3, 4


class _Base(tr.nn.RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        self.input_size, self.hidden_size = input_size, hidden_size
        rng = tr.random.generator()
        self.W = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (hidden_size, input_size)).astype(dtype))
        self.U = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (hidden_size, hidden_size)).astype(dtype))
        self.b = tr.nn.Parameter(rng.uniform(-0.5, 0.5, hidden_size).astype(dtype))

    def step(self, x, h, U=None, b=None):
        return tr.tanh(x @ self.W.T + h @ (self.U if U is None else U).T + (self.b if b is None else b))


class PlainCell(_Base):
    def forward(self, x, h):
        return self.step(x, h)


class SpecialBiasCell(_Base):
    """A weight-only operation of tr.special on a vector (no matrix): the kernels have no rule for it."""
    def forward(self, x, h):
        return self.step(x, h, b=tr.special.i0(self.b))


class SpecialStateCell(_Base):
    """The same operation on the state: inside the step, where the kernels cannot run it."""
    def forward(self, x, h):
        return self.step(x, tr.special.i0(h) - 1.0)


class ConstantSpecialCell(_Base):
    """tr.special on constants alone: folded into a constant of the trace, as before."""
    def forward(self, x, h):
        scale = tr.special.i0(tr.tensor(np.linspace(-1.0, 1.0, self.hidden_size).astype(self.b.dtype)))
        return self.step(x, h * scale)


class CheckpointedCell(_Base):
    def forward(self, x, h):
        return tr.checkpoint(self.step, x, h)


class OtherThreadCell(_Base):
    """Runs tape operations in another thread while it is traced (a data loader's, a monitor's): not the cell's."""
    def forward(self, x, h):
        worker = threading.Thread(target=lambda: (tr.tensor(np.ones(3), requires_grad=True) * 2.0).exp())
        worker.start()
        worker.join()
        return self.step(x, h)


class NumpyScaleCell(_Base):
    """A scale computed with numpy from a weight's values: off the tape, so no trace records it."""
    def forward(self, x, h):
        scale = tr.tensor(1.0 / np.abs(self.U.detach().numpy()).max(axis=1))
        return self.step(x, h) * scale


class WeightBranchCell(_Base):
    """A Python branch on a weight's value: another weight takes the other branch."""
    def forward(self, x, h):
        if float(self.b.detach().numpy()[0]) > 0:
            return self.step(x, h)
        return self.step(x, h).sigmoid()


class SizeBranchCell(_Base):
    """A branch on the weights' size that a copy of the other sign and a size near theirs (x 0.5-1.5: |w| < 0.75)
    takes as the cell does: crafted against one perturbed copy."""
    def forward(self, x, h):
        if np.abs(self.U.detach().numpy()).max() < 1.0:
            return self.step(x, h) * 0.5
        return self.step(x, h) * 2.0


class TruncatedCell(_Base):
    """A constant from the weights whose value one perturbed copy gives again (each |w| < 1 truncates to 0)."""
    def forward(self, x, h):
        offset = tr.tensor(np.trunc(self.U.detach().numpy()).sum(axis=0))
        return self.step(x, h) + offset


class RangeCheckingCell(_Base):
    """Its forward refuses weights out of a range (an assert, which copies with other weights fail): it compiles,
    the copies that fail are passed over, and one within the range checks it."""
    def forward(self, x, h):
        if np.abs(self.U.detach().numpy()).max() > 2.0:
            raise ValueError("weights out of range")
        return self.step(x, h)


def _run(cls, fused, dtype=np.float64, **kw):
    tr.manual_seed(3)
    layer = tr.nn.Recurrent(cls, I, H, dtype=dtype, fused=fused, **kw)
    return layer, _outputs(layer, dtype)


def _outputs(layer, dtype=np.float64):
    x = tr.tensor(np.random.default_rng(1).standard_normal((5, 2, I)).astype(dtype), requires_grad=True)
    out, _ = layer(x)
    (out * out).sum().backward()
    return out.detach().numpy(), x.grad.numpy().copy(), {n: p.grad.numpy().copy() for n, p in layer.named_parameters()}


def _assert_same(got, want, rtol=1e-12):
    np.testing.assert_allclose(got[0], want[0], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(got[1], want[1], rtol=rtol, atol=rtol)
    assert sorted(got[2]) == sorted(want[2])
    for name in want[2]:
        np.testing.assert_allclose(got[2][name], want[2][name], rtol=rtol, atol=rtol, err_msg=name)


def test_a_weight_only_operation_of_tr_special_goes_to_the_prelude():
    layer, fused = _run(SpecialBiasCell, True)
    assert get_kernel(layer.cells[0], np.float64)[0].prelude is not None
    _assert_same(fused, _run(SpecialBiasCell, False)[1])


def test_an_operation_on_the_state_the_kernels_cannot_run_is_refused_by_name():
    with pytest.raises(tr.compile.CompileError, match=r"cannot compile BesselI .*test_compile_trace_hook.py"):
        tr.nn.Recurrent(SpecialStateCell, I, H, dtype=np.float64)
    tr.manual_seed(3)
    with pytest.warns(RuntimeWarning, match="fused='auto'.*generic tape.*BesselI"):
        auto = tr.nn.Recurrent(SpecialStateCell, I, H, dtype=np.float64, fused="auto")
    assert auto.fused is False
    _assert_same(_outputs(auto), _run(SpecialStateCell, False)[1])


def test_tr_special_on_constants_alone_is_folded_as_before():
    layer, fused = _run(ConstantSpecialCell, True)
    assert get_kernel(layer.cells[0], np.float64)[0].prelude is None
    _assert_same(fused, _run(ConstantSpecialCell, False)[1])


def test_a_checkpoint_inside_a_cell_is_refused_by_name_and_auto_runs_the_tape():
    with pytest.raises(tr.compile.CompileError, match=r"tr\.checkpoint inside a cell.*checkpoint="):
        tr.nn.Recurrent(CheckpointedCell, I, H, dtype=np.float64)
    tr.manual_seed(3)
    with pytest.warns(RuntimeWarning, match=r"generic tape.*tr\.checkpoint"):
        auto = tr.nn.Recurrent(CheckpointedCell, I, H, dtype=np.float64, fused="auto")
    _assert_same(_outputs(auto), _run(CheckpointedCell, False)[1])


def test_another_threads_operations_are_not_recorded():
    threaded = get_kernel(OtherThreadCell(I, H, np.float64), np.float64)[1]
    plain = get_kernel(PlainCell(I, H, np.float64), np.float64)[1]
    assert [op.prim for op in threaded.ops] == [op.prim for op in plain.ops]


class _Sine(tr.autograd.Function):
    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return u.sin()

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        return g * u.cos()


class _SineOfWeight(tr.nn.Module):
    """A parametrization by a tr.autograd.Function: Python code the compiled path refuses."""
    def forward(self, U):
        return _Sine.apply(U)


def _register_function_parametrization(layer):
    for cell in layer.cells:
        parametrize.register_parametrization(cell, "U", _SineOfWeight())


def _replace_by_a_computed_weight(layer):
    for cell in layer.cells:
        U = cell.U * 0.5   # computed on the tape, once, outside forward: the kernels would bake it in
        del cell.U
        cell.U = U


CHANGES = {"a parametrization registered": _register_function_parametrization,
           "a weight replaced": _replace_by_a_computed_weight}
EXPECTED = {"a parametrization registered": "_Sine, a tr.autograd.Function", "a weight replaced": "before the step ran"}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("checkpoint", [None, 2])
def test_auto_falls_back_at_the_call_when_the_cell_changed_after_construction(change, checkpoint):
    tr.manual_seed(3)
    auto = tr.nn.Recurrent(PlainCell, I, H, dtype=np.float64, fused="auto", checkpoint=checkpoint)
    assert auto.fused == "auto"
    CHANGES[change](auto)
    with pytest.warns(RuntimeWarning, match=f"Recurrent\\(fused='auto'\\): \\w*PlainCell runs on the generic tape: "
                                            f".*{EXPECTED[change]}"):
        got = _outputs(auto)
    assert auto.fused is False
    tr.manual_seed(3)
    tape = tr.nn.Recurrent(PlainCell, I, H, dtype=np.float64, fused=False, checkpoint=checkpoint)
    CHANGES[change](tape)
    _assert_same(got, _outputs(tape))


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_fused_true_raises_at_the_call_when_the_cell_changed_after_construction(change):
    tr.manual_seed(3)
    layer = tr.nn.Recurrent(PlainCell, I, H, dtype=np.float64)
    CHANGES[change](layer)
    with pytest.raises(tr.compile.CompileError, match=EXPECTED[change]):
        _outputs(layer)


@pytest.mark.parametrize("cls", [NumpyScaleCell, WeightBranchCell])
def test_work_on_the_weights_values_off_the_tape_is_refused_not_baked_in(cls):
    """The kernels would keep the value (or the branch) of the weights the cell was traced with; after an
    optimizer step the tape recomputes it. A trace of a copy with other weights finds it: refused."""
    with pytest.raises(tr.compile.CompileError, match=f"{cls.__name__}: its operations depend on its weights' values"):
        tr.nn.Recurrent(cls, I, H, dtype=np.float64)
    with pytest.warns(RuntimeWarning, match="generic tape.*weights' values"):
        auto = tr.nn.Recurrent(cls, I, H, dtype=np.float64, fused="auto")
    assert auto.fused is False
    cell = auto.cells[0]
    assert all(np.isfinite(p.numpy()).all() for p in cell.parameters())   # (the cell's own weights untouched)


@pytest.mark.parametrize("cls", [SizeBranchCell, TruncatedCell])
def test_a_cell_crafted_to_fool_one_perturbed_copy_is_refused(cls):
    """The copies' weights differ in sign and scale (x 0.5-1.5 of the other sign, 3-6 times larger, 10-100 times
    smaller): a value or a branch that one of them gives again, another does not. Before, one copy (the first)
    checked, and these compiled with the traced weights' value kept, stale after an optimizer step."""
    with pytest.raises(tr.compile.CompileError, match=f"{cls.__name__}: its operations depend on its weights' values"):
        tr.nn.Recurrent(cls, I, H, dtype=np.float64)
    with pytest.warns(RuntimeWarning, match="generic tape.*weights' values"):
        auto = tr.nn.Recurrent(cls, I, H, dtype=np.float64, fused="auto")
    assert auto.fused is False


def test_a_copy_whose_forward_raises_with_its_weights_is_passed_over():
    layer, fused = _run(RangeCheckingCell, True)
    assert layer.fused is True
    _assert_same(fused, _run(RangeCheckingCell, False)[1])
