"""A compiled cell that computes with its weights before using them (a masked, normalised or low-rank
recurrent matrix; a parametrization's weight: weight_norm, orthogonal; on the cell or on a submodule): the
weight-only work runs once per call on the tape (compile/prelude.py) and the kernels take its results. Held
against the generic tape (fused=False) in float64: outputs and every gradient, over layers, directions,
lengths and checkpointing. Before, such a cell crashed the lowering with a TypeError from inside it, and a
parametrized cell was refused on the fused path. The trace sees tr.linalg's operations too (orthogonal's
householder product): they go to the prelude."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.compile import prelude as prelude_module
from tinygrad_rnn.compile.node import get_kernel
from tinygrad_rnn.nn.utils import parametrizations as PZ


class _Base(tr.nn.RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        self.input_size, self.hidden_size = input_size, hidden_size
        rng = tr.random.generator()
        self.W = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (hidden_size, input_size)).astype(dtype))
        self.U = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (hidden_size, hidden_size)).astype(dtype))
        self.b = tr.nn.Parameter(rng.uniform(-0.5, 0.5, hidden_size).astype(dtype))

    def step(self, x, h, U):
        return tr.tanh(x @ self.W.T + h @ U.T + self.b)


class MaskedCell(_Base):
    """A fixed sparsity pattern on the recurrent matrix (a buffer, not a parameter)."""
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        super().__init__(input_size, hidden_size, dtype)
        self.register_buffer("mask", tr.tensor((np.arange(hidden_size * hidden_size).reshape(hidden_size, -1)
                                                % 3 != 0).astype(dtype)))

    def forward(self, x, h):
        return self.step(x, h, self.U * self.mask)


class NormalisedCell(_Base):
    def forward(self, x, h):
        return self.step(x, h, self.U / (self.U * self.U).sum().sqrt())


class LowRankCell(_Base):
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        super().__init__(input_size, hidden_size, dtype)
        rng = tr.random.generator()
        self.A = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (hidden_size, 2)).astype(dtype))
        self.B = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (2, hidden_size)).astype(dtype))

    def forward(self, x, h):   # U used directly and through a low-rank correction
        return self.step(x, h, self.U + self.A @ self.B) + 0.1 * (h @ self.U.T)


class GatedCell(tr.nn.RecurrentCell):
    """Linear submodules (one of them parametrized by the tests) and a gate."""
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.lin_x = tr.nn.Linear(input_size, 2 * hidden_size, dtype=dtype)
        self.lin_h = tr.nn.Linear(hidden_size, 2 * hidden_size, dtype=dtype)

    def forward(self, x, h):
        z, n = (self.lin_x(x) + self.lin_h(h)).chunk(2, axis=-1)
        return h + z.sigmoid() * (n.tanh() - h)


def _weight_norm_cell(layer):
    for cell in layer.cells:
        PZ.weight_norm(cell, "U")


def _weight_norm_submodule(layer):
    for cell in layer.cells:
        PZ.weight_norm(cell.lin_h, "weight")


CASES = {
    "masked": (MaskedCell, None),
    "normalised": (NormalisedCell, None),
    "low rank": (LowRankCell, None),
    "weight_norm on the cell": (_Base, _weight_norm_cell),
    "weight_norm on a submodule": (GatedCell, _weight_norm_submodule),
}


class _Plain(_Base):
    def forward(self, x, h):
        return self.step(x, h, self.U)


def _spectral_norm_in_eval(layer):
    for cell in layer.cells:
        PZ.spectral_norm(cell, "U")
    layer.eval()   # (in train mode its power iteration moves u and v at every step: refused, see
    #                 test_compile_prelude_buffers_vs_torch.py)


CASES["weight_norm on the cell"] = (_Plain, _weight_norm_cell)
CASES["spectral_norm on the cell (eval)"] = (_Plain, _spectral_norm_in_eval)


def _run(case, fused, dtype, num_layers=1, bidirectional=False, lengths=None, checkpoint=None, T=6, B=3):
    cls, setup = CASES[case]
    tr.manual_seed(7)
    layer = tr.nn.Recurrent(cls, 4, 5, num_layers=num_layers, bidirectional=bidirectional, dtype=dtype,
                            fused=fused, checkpoint=checkpoint)
    if setup is not None:
        setup(layer)
    x = tr.tensor(np.random.default_rng(3).standard_normal((T, B, 4)).astype(dtype), requires_grad=True)
    out, h = layer(x, lengths=lengths)
    (out * out).sum().backward()
    grads = {n: p.grad.numpy().copy() for n, p in layer.named_parameters()}
    return out.detach().numpy(), x.grad.numpy().copy(), grads


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_weight_only_work_is_cut_out_of_the_step(case):
    cls, setup = CASES[case]
    layer = tr.nn.Recurrent(cls, 4, 5, dtype=np.float64)
    if setup is not None:
        setup(layer)
    kernel, graph = get_kernel(layer.cells[0], np.float64)
    assert kernel.prelude is not None and kernel.prelude.results
    step, prelude = prelude_module.split_prelude(graph)
    assert len(step.ops) < len(graph.ops) and len(step.params) == len(graph.params) + len(prelude.results)


class _ConstantRowsCell(_Base):
    """Arithmetic on constants alone, one of them a (batch, n) constant of the trace: per-row data, not weights."""
    def forward(self, x, h):
        half = tr.ones_like(h) * 0.5
        return self.step(x, h, self.U) * half + h * half


def test_a_cell_without_weight_only_work_has_no_prelude():
    for cell in (tr.nn.LSTMCell(4, 5), tr.nn.GRUCell(4, 5), tr.nn.RNNCell(4, 5), _Plain(4, 5), _ConstantRowsCell(4, 5)):
        assert get_kernel(cell, np.float32)[0].prelude is None


def test_arithmetic_on_constants_alone_stays_in_the_step():
    x = tr.tensor(np.random.default_rng(1).standard_normal((5, 3, 4)))
    outs = []
    for fused in (True, False):
        tr.manual_seed(2)
        layer = tr.nn.Recurrent(_ConstantRowsCell, 4, 5, dtype=np.float64, fused=fused)
        outs.append(layer(x)[0].detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_equals_the_tape_in_float64(case):
    fused, tape = _run(case, True, np.float64), _run(case, False, np.float64)
    np.testing.assert_allclose(fused[0], tape[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(fused[1], tape[1], rtol=1e-10, atol=1e-12)
    assert sorted(fused[2]) == sorted(tape[2])
    for name in tape[2]:
        np.testing.assert_allclose(fused[2][name], tape[2][name], rtol=1e-10, atol=1e-12, err_msg=name)


@given(case=st.sampled_from(sorted(CASES)), num_layers=st.integers(1, 2), bidirectional=st.booleans(),
       with_lengths=st.booleans(), checkpoint=st.sampled_from([None, 2, True]), T=st.integers(1, 7))
def test_fused_equals_the_tape_over_layers_directions_lengths_and_checkpoints(case, num_layers, bidirectional,
                                                                               with_lengths, checkpoint, T):
    lengths = [T, max(1, T - 2), 1] if with_lengths else None
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, lengths=lengths, checkpoint=checkpoint, T=T)
    fused, tape = _run(case, True, np.float64, **kw), _run(case, False, np.float64, **kw)
    np.testing.assert_allclose(fused[0], tape[0], rtol=1e-12, atol=1e-13)
    for name in tape[2]:
        np.testing.assert_allclose(fused[2][name], tape[2][name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_float32_stays_float32_and_agrees():
    fused, tape = _run("masked", True, np.float32), _run("masked", False, np.float32)
    assert fused[0].dtype == np.float32 and all(g.dtype == np.float32 for g in fused[2].values())
    np.testing.assert_allclose(fused[0], tape[0], rtol=1e-5, atol=1e-6)
    for name in tape[2]:
        np.testing.assert_allclose(fused[2][name], tape[2][name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_the_prelude_follows_the_weights_after_an_optimizer_step():
    layer = tr.nn.Recurrent(NormalisedCell, 4, 5, dtype=np.float64)
    twin = tr.nn.Recurrent(NormalisedCell, 4, 5, dtype=np.float64, fused=False)
    twin.load_state_dict(layer.state_dict())
    x = tr.tensor(np.random.default_rng(0).standard_normal((5, 2, 4)))
    for m in (layer, twin):
        opt = tr.optim.SGD(m.parameters(), lr=0.5)
        for _ in range(3):
            opt.zero_grad()
            out, _ = m(x)
            (out * out).sum().backward()
            opt.step()
    np.testing.assert_allclose(layer(x)[0].detach().numpy(), twin(x)[0].detach().numpy(), rtol=1e-12)


def test_orthogonal_on_a_submodule_runs_fused_and_equals_the_tape():
    """orthogonal's householder product (tr.linalg's, called through the tape's apply) is seen by the trace, which
    records through the tape's forward hook, and goes to the prelude; before, it was refused by name."""
    def orthogonal_submodule(layer):
        for cell in layer.cells:
            PZ.orthogonal(cell.lin_h, "weight")
    x = tr.tensor(np.random.default_rng(3).standard_normal((6, 3, 4)))
    outs = []
    for fused in (True, False):
        tr.manual_seed(7)
        layer = tr.nn.Recurrent(GatedCell, 4, 5, dtype=np.float64, fused=fused)
        orthogonal_submodule(layer)
        out = layer(x)[0]
        (out * out).sum().backward()
        outs.append((out.detach().numpy(), [p.grad.numpy().copy() for p in layer.parameters()]))
    assert get_kernel(layer.cells[0], np.float64)[0].prelude is not None
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12, atol=1e-13)
    for got, want in zip(outs[0][1], outs[1][1]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
