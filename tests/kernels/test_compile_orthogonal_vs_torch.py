"""An orthogonal recurrent matrix in a compiled cell: tr.nn.utils.parametrizations.orthogonal (each orthogonal_map)
on a tr.nn.Recurrent cell's weight_hh, and tr.linalg.matrix_exp(A - A.T) written by hand in a cell, run fused.
The cell's trace records through the tape's forward hook, so it sees the operations tr.linalg and the
parametrization apply; their work on the weights alone runs once per call on the tape (compile/prelude.py).
Held against the generic tape (float64, 1e-12) and against torch (its parametrizations.orthogonal, or
torch.linalg.matrix_exp, on a hand-written loop of the same cell with the same weights), float32 and float64,
over layers, directions, lengths and checkpoint=. Before, the fused path refused these cells (CompileError naming
the HouseholderProduct/MatrixExp/solve) and ran them only with fused=False."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn.utils import parametrizations as PZ

torch = pytest.importorskip("torch")

I, H, T, B = 3, 4, 5, 3
MAPS = ("matrix_exp", "cayley", "householder")
SETTINGS = [dict(), dict(num_layers=2, bidirectional=True, lengths=[5, 3, 1]), dict(checkpoint=2, lengths=[5, 5, 2]),
            dict(num_layers=2, bidirectional=True, checkpoint=True)]


class SkewExpCell(tr.nn.RecurrentCell):
    """h' = tanh(W x + exp(A - A^T) h + b): the recurrent matrix is orthogonal, written by hand."""
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        self.input_size, self.hidden_size = input_size, hidden_size
        rng = tr.random.generator()
        self.W = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (hidden_size, input_size)).astype(dtype))
        self.A = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (hidden_size, hidden_size)).astype(dtype))
        self.b = tr.nn.Parameter(rng.uniform(-0.5, 0.5, hidden_size).astype(dtype))

    def forward(self, x, h):
        U = tr.linalg.matrix_exp(self.A - self.A.T)
        return tr.tanh(x @ self.W.T + h @ U.T + self.b)


def _torch_skew_exp_cell(p):
    U = torch.linalg.matrix_exp(p["A"] - p["A"].T)
    return lambda x, h: torch.tanh(x @ p["W"].T + h @ U.T + p["b"])


def _layer(kind, fused, dtype, num_layers=1, bidirectional=False, checkpoint=None):
    tr.manual_seed(11)
    if kind == "by hand":
        return tr.nn.Recurrent(SkewExpCell, I, H, num_layers=num_layers, bidirectional=bidirectional, dtype=dtype,
                               fused=fused, checkpoint=checkpoint)
    layer = tr.nn.Recurrent(tr.nn.RNNCell, I, H, num_layers=num_layers, bidirectional=bidirectional, dtype=dtype,
                            fused=fused, checkpoint=checkpoint)
    for cell in layer.cells:
        PZ.orthogonal(cell, "weight_hh", orthogonal_map=kind)
    return layer


def _x(dtype):
    return np.random.default_rng(5).standard_normal((T, B, I)).astype(dtype)


def _run(layer, dtype, lengths=None):
    x = tr.tensor(_x(dtype), requires_grad=True)
    out, h = layer(x, lengths=lengths)
    (out * out).sum().backward()
    return (out.detach().numpy(), x.grad.numpy().copy(),
            {n: p.grad.numpy().copy() for n, p in layer.named_parameters()})


def _torch_cells(layer, kind, dtype):
    """Per layer-direction: a step function of torch holding the same values, and its named parameters."""
    steps, params = [], []
    for cell in layer.cells:
        state = {k: torch.tensor(v.numpy()) for k, v in cell.state_dict().items()}
        if kind == "by hand":
            p = {k: v.requires_grad_() for k, v in state.items()}
            steps.append(_torch_skew_exp_cell(p))
            params.append(p)
            continue
        tcell = torch.nn.RNNCell(cell.input_size, H, dtype=state["weight_ih"].dtype)
        torch.nn.utils.parametrizations.orthogonal(tcell, "weight_hh", orthogonal_map=kind)
        tcell.load_state_dict(state)
        steps.append(tcell)
        params.append(dict(tcell.named_parameters()))
    return steps, params


def _torch_run(steps, x, num_layers, directions, lengths):
    """A hand-written loop: each layer-direction over the steps, a sequence's state and output held past its length
    (the reverse direction starts at each sequence's last step), as tr.nn.Recurrent and torch's packed RNNs do."""
    lengths = torch.tensor(lengths if lengths is not None else [T] * B)
    inp = x
    for layer in range(num_layers):
        outs = []
        for d in range(directions):
            step, h, ys = steps[layer * directions + d], torch.zeros(B, H, dtype=x.dtype), [None] * T
            for t in (range(T) if d == 0 else reversed(range(T))):
                live = (t < lengths)[:, None]
                new = step(inp[t], h)
                h = torch.where(live, new, h)
                ys[t] = torch.where(live, new, torch.zeros_like(new))
            outs.append(torch.stack(ys))
        inp = torch.cat(outs, -1)
    return inp


@pytest.mark.parametrize("kind", MAPS + ("by hand",))
@pytest.mark.parametrize("setting", range(len(SETTINGS)))
def test_fused_equals_the_tape_in_float64(kind, setting):
    kw = dict(SETTINGS[setting])
    lengths = kw.pop("lengths", None)
    fused, tape = (_run(_layer(kind, f, np.float64, **kw), np.float64, lengths) for f in (True, False))
    np.testing.assert_allclose(fused[0], tape[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fused[1], tape[1], rtol=1e-12, atol=1e-12)
    assert sorted(fused[2]) == sorted(tape[2])
    for name in tape[2]:
        np.testing.assert_allclose(fused[2][name], tape[2][name], rtol=1e-12, atol=1e-12, err_msg=name)


def test_the_orthogonal_work_runs_once_per_call_not_in_the_kernels():
    from tinygrad_rnn.compile.node import get_kernel
    for kind in MAPS + ("by hand",):
        layer = _layer(kind, True, np.float64)
        kernel, graph = get_kernel(layer.cells[0], np.float64)
        assert kernel.prelude is not None and kernel.prelude.results, kind


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", MAPS + ("by hand",))
@pytest.mark.parametrize("setting", range(3))
def test_fused_equals_torch(kind, dtype, setting):
    kw = dict(SETTINGS[setting])
    lengths = kw.pop("lengths", None)
    layer = _layer(kind, True, dtype, **kw)
    got = _run(layer, dtype, lengths)
    steps, params = _torch_cells(layer, kind, dtype)
    x = torch.tensor(_x(dtype), requires_grad=True)
    out = _torch_run(steps, x, layer.num_layers, layer.num_directions, lengths)
    (out * out).sum().backward()
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-11)
    assert got[0].dtype == dtype and all(g.dtype == dtype for g in got[2].values())
    np.testing.assert_allclose(got[0], out.detach().numpy(), **tol)
    np.testing.assert_allclose(got[1], x.grad.numpy(), **tol)
    for k, p in enumerate(params):
        for name, tp in p.items():
            np.testing.assert_allclose(got[2][f"cells.{k}.{name}"], tp.grad.numpy(), err_msg=name, **tol)


@pytest.mark.parametrize("kind", MAPS)
def test_a_weight_assigned_after_a_fused_call_is_followed(kind):
    """Assigning the parametrized weight (torch's right_inverse) sets orthogonal's `base` buffer anew, which the
    trace took as a constant: the next fused call follows it, as the tape (and torch) do."""
    W = np.linalg.qr(np.random.default_rng(9).standard_normal((H, H)))[0]
    outs = []
    for fused in (True, False):
        layer = _layer(kind, fused, np.float64)
        layer(tr.tensor(_x(np.float64)))
        for cell in layer.cells:
            cell.weight_hh = tr.tensor(W)
        outs.append(_run(layer, np.float64))
    steps, params = _torch_cells(layer, kind, np.float64)
    for fused, tape in zip(*outs):
        for a, b in (zip(fused.values(), tape.values()) if isinstance(fused, dict) else [(fused, tape)]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    x = torch.tensor(_x(np.float64))
    want = _torch_run(steps, x, 1, 1, None)
    np.testing.assert_allclose(outs[0][0], want.detach().numpy(), rtol=1e-10, atol=1e-11)
