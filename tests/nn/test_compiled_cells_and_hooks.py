"""Compiled cells and module hooks: the fused kernels run a cell's operations without calling the cell, so a hook
could not run once per step on that step's values, as torch's hand-written loop over its cell runs it.

tr.compile_cell refuses a cell that a hook would see (its own, a submodule's, a global one) with a CompileError
naming the hook, at compile time and at each call (a hook registered since), instead of running it once on the
trace's placeholders and never again; a tr.nn.Recurrent layer runs a hooked layer-direction on the tape (its own
tests: test_cell_hooks_in_recurrent.py), and the calls it makes on its own to check a cell run no hooks, so the
hooks see what torch's see: the user's steps.
"""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile import CompileError
from tinygrad_rnn.nn.modules.module import register_module_forward_hook

torch = pytest.importorskip("torch")
pytest.importorskip("numba")

I, H, T, B = 3, 4, 5, 2


class LinearCell(tr.nn.RecurrentCell):
    """h' = tanh(lin([x, h])): a user's cell that calls a submodule."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.lin = tr.nn.Linear(input_size + hidden_size, hidden_size, dtype=dtype)

    def sizes(self):
        return (self.hidden_size,)

    def forward(self, x, h):
        return self.lin(tr.cat([x, h], 1)).tanh()


class TorchLinearCell(torch.nn.Module):
    def __init__(self, ours):
        super().__init__()
        self.lin = torch.nn.Linear(I + H, H, dtype=torch.float64)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor(ours.lin.weight.numpy()))
            self.lin.bias.copy_(torch.tensor(ours.lin.bias.numpy()))

    def forward(self, x, h):
        return torch.tanh(self.lin(torch.cat([x, h], 1)))


def inputs():
    return np.random.default_rng(0).standard_normal((T, B, I))


def logging_hook(log):
    def log_call(module, args, output):
        log.append((type(module).__name__.removeprefix("Torch"), tuple(args[0].shape)))
    return log_call


HOOK_KINDS = {
    "forward_pre": lambda m, hook: m.register_forward_pre_hook(lambda mod, args: hook(mod, args, None)),
    "forward": lambda m, hook: m.register_forward_hook(hook),
    "backward_pre": lambda m, hook: m.register_full_backward_pre_hook(lambda mod, go: None),
    "backward": lambda m, hook: m.register_full_backward_hook(lambda mod, gi, go: None),
}


@pytest.mark.parametrize("kind", list(HOOK_KINDS))
def test_compile_cell_refuses_a_hooked_cell_naming_the_hook(kind):
    """torch's loop would run the hook each step: ours cannot, so it says so (main ignored the cell's hooks)."""
    cell, log = tr.nn.LSTMCell(I, H, dtype=np.float64), []
    handle = HOOK_KINDS[kind](cell, logging_hook(log))
    with pytest.raises(CompileError, match="LSTMCell"):
        tr.compile_cell(cell)
    handle.remove()
    out, _ = tr.compile_cell(cell)(tr.Tensor(inputs()))   # without it, the kernels
    assert out.shape == (T, B, H) and log == []


def test_a_submodules_hook_is_named_and_never_runs_on_the_trace_placeholders():
    """main ran the Linear's hook on the trace's placeholder rows (a batch of 3, twice), then never at the steps."""
    cell, log = LinearCell(I, H), []
    cell.lin.register_forward_hook(logging_hook(log))
    with pytest.raises(CompileError, match=r"log_call on LinearCell\.lin"):
        tr.compile_cell(cell)
    assert log == []


def test_a_hook_registered_after_compiling_is_refused_at_the_call():
    cell = tr.nn.LSTMCell(I, H, dtype=np.float64)
    compiled, log = tr.compile_cell(cell), []
    handle = cell.register_forward_hook(logging_hook(log))
    with pytest.raises(CompileError, match="forward hook log_call on LSTMCell"):
        compiled(tr.Tensor(inputs()))
    handle.remove()
    out, (h, c) = compiled(tr.Tensor(inputs()))
    theirs = torch.nn.LSTMCell(I, H, dtype=torch.float64)
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.tensor(getattr(cell, name).numpy()))
    state = None
    for x_t in torch.tensor(inputs()):
        state = theirs(x_t, state)
    np.testing.assert_allclose(h.data, state[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    assert log == []


def test_compile_cell_refuses_while_a_global_hook_is_registered():
    cell, log = LinearCell(I, H), []
    with register_module_forward_hook(logging_hook(log)):
        with pytest.raises(CompileError, match="global forward hook log_call"):
            tr.compile_cell(cell)
    assert log == []


@pytest.mark.parametrize("fused", [True, "auto", False])
def test_a_global_hook_sees_the_steps_torchs_hand_loop_makes(fused):
    """A global forward hook around tr.nn.Recurrent(LinearCell) sees each step's cell and Linear calls, as torch's
    global hook around its cell unrolled by hand; main's layer also showed it its own probe of the cell (a batch of
    2) and, fused, the trace's placeholder calls (a batch of 3)."""
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # (the layer says it runs the tape while hooked)
        with register_module_forward_hook(logging_hook(ours)):
            layer = tr.nn.Recurrent(LinearCell, I, H, dtype=np.float64, fused=fused)
            out, _ = layer(tr.Tensor(inputs()))
    cell = TorchLinearCell(layer.cells[0])
    with torch.nn.modules.module.register_module_forward_hook(logging_hook(theirs)):
        h, outs = torch.zeros(B, H, dtype=torch.float64), []
        for x_t in torch.tensor(inputs()):
            h = cell(x_t, h)
            outs.append(h)
    assert ours == theirs + [("Recurrent", (T, B, I))]
    np.testing.assert_allclose(out.data, torch.stack(outs).detach().numpy(), rtol=1e-10, atol=1e-12)
