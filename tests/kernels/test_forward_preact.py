"""forward_preact and forward_keep_preact (codegen.py): the forward loop without the recurrent products that
the cell only adds into its input projection (Generator.folded_products, decided from the program), which
reads the pre-activations x W_ih^T + b + h_{t-1} W_hh^T from the projection's buffer; and forward_states
with those products added into that buffer step by step (what checkpoint=True's Preactivated tail keeps).
Each is held against the loop it replaces (the generated forward and forward_states) and plain numpy."""
import numpy as np
import pytest

from tinygrad_rnn import nn
from tinygrad_rnn.compile.codegen import Generator
from tinygrad_rnn.compile.node import _bind, get_kernel
from tinygrad_rnn.kernels import blas

CELLS = {"LSTM": lambda: nn.LSTM(3, 4, dtype=np.float64), "GRU": lambda: nn.GRU(3, 4, dtype=np.float64),
         "RNN": lambda: nn.RNN(3, 4, dtype=np.float64),
         "relu": lambda: nn.RNN(3, 4, nonlinearity="relu", dtype=np.float64),
         "projected": lambda: nn.LSTM(3, 4, proj_size=2, dtype=np.float64),
         "peephole": lambda: nn.Recurrent(nn.PeepholeLSTMCell, 3, 4, dtype=np.float64),
         "layernorm": lambda: nn.Recurrent(nn.LayerNormLSTMCell, 3, 4, dtype=np.float64),
         "user LSTM": lambda: nn.Recurrent(nn.LSTMCell, 3, 4, dtype=np.float64)}
# h W_hh^T only added into x W_ih^T + b: folded. A GRU's n gate reads r * (h W_hn^T + b_hn), a layer-norm
# LSTM normalises h W_hh^T before the sum: their products are not simply added into the projection.
FOLDS = {"LSTM": True, "GRU": False, "RNN": True, "relu": True, "projected": True, "peephole": True,
         "layernorm": False, "user LSTM": True}


def _kernel(cell):
    layer = CELLS[cell]()
    return layer, get_kernel(layer._cell(0, 0), layer.dtype)[0]


@pytest.mark.parametrize("cell", list(CELLS))
def test_which_products_fold_is_read_from_the_program(cell):
    """A product folds exactly where every read of it is a sum with the projection at the same columns; the
    module then has forward_preact and forward_keep_preact, whose signatures leave the product out."""
    _, k = _kernel(cell)
    assert bool(k.folded) == FOLDS[cell]
    assert hasattr(k.module, "forward_preact") == FOLDS[cell] == ("def forward_preact(" in k.source)
    if FOLDS[cell]:
        assert "C0" not in [a.name for a in k.preact_args] and "Wt0" not in [a.name for a in k.preact_args]
        assert "C0" not in [a.name for a in k.keep_preact_args] and "Wt0" in [a.name for a in k.keep_preact_args]
        assert Generator(k.prog).folded_products() == {0: 0}


def _arrays(k, layer, T, B, lengths, states_only):
    """A forward's arrays for T steps of B rows from a random initial state and input (fresh buffers)."""
    rng = np.random.default_rng(5)
    arrays = k._parameters([p.data for p in layer.parameters()])
    arrays["lengths"] = lengths
    arrays["X"] = rng.normal(size=(T, B, 3))
    states = [rng.normal(size=(B, n)) for _, _, n in k.states]
    k.forward_buffers(arrays, T, B, states, lengths.min() < T, lambda shape, dt: np.zeros(shape, dt), states_only)
    return arrays


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("cell", [c for c in CELLS if FOLDS[c]])
def test_forward_preact_after_one_product_is_the_forward(cell, with_lengths):
    """project, then the folded products of every step as ONE product over the h_{t-1} rows the forward wrote
    (added into the projection, beta 1), then forward_preact: the forward's states and saved values
    (float64, 1e-12), with and without lengths."""
    layer, k = _kernel(cell)
    T, B = 7, 3
    lengths = np.array([7, 4, 1] if with_lengths else [7, 7, 7], dtype=np.int64)
    want = _arrays(k, layer, T, B, lengths, False)
    k.module.project(*_bind(k.project_args, want), 0, T)
    k.module.forward(*_bind(k.forward_args, want), 0, B)
    got = _arrays(k, layer, T, B, lengths, False)
    k.module.project(*_bind(k.project_args, got), 0, T)
    h = want["S0"][:T].reshape(T * B, -1)   # h_{t-1} of each step, as the output keeps them
    for product, projection in k.folded:
        blas.gemm_nt(h, got[product], got[projection].reshape(T * B, -1), 1)
    k.module.forward_preact(*_bind(k.preact_args, got), 0, B)
    for name in [name for name, _, _ in k.states] + sorted(k.saved):   # (padded rows: zeros or copies in both)
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("cell", [c for c in CELLS if FOLDS[c]])
def test_forward_keep_preact_is_forward_states_leaving_the_pre_activations(cell, with_lengths):
    """forward_keep_preact: forward_states' states (float64, 1e-12), and the projection's buffer then holds
    x W_ih^T + b + h_{t-1} W_hh^T of every step a sequence runs (numpy from the states it wrote)."""
    layer, k = _kernel(cell)
    T, B = 7, 3
    lengths = np.array([7, 4, 1] if with_lengths else [7, 7, 7], dtype=np.int64)
    want = _arrays(k, layer, T, B, lengths, True)
    k.module.project(*_bind(k.project_args, want), 0, T)
    projected = {xw: want[xw].copy() for _, xw in k.folded}
    k.module.forward_states(*_bind(k.states_args, want), 0, B)
    got = _arrays(k, layer, T, B, lengths, True)
    k.module.project(*_bind(k.project_args, got), 0, T)
    k.module.forward_keep_preact(*_bind(k.keep_preact_args, got), 0, B)
    for name, _, _ in k.states:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-14, err_msg=name)
    running = np.arange(T)[:, None] < lengths[None, :]
    for product, xw in k.folded:
        z = projected[xw] + want["S0"][:T] @ got[product].T
        np.testing.assert_allclose(got[xw][running], z[running], rtol=1e-12, atol=1e-14)
