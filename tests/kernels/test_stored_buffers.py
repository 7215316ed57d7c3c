"""The per-row scalars one loop computes and later loops read through Bcast (a layer norm's sums, a max with
its count) live in one per-step buffer M and one gradient row dM, each at its own columns
(codegen: Generator.stored_at); wider stored values keep M<m> each. The kernels must still give the generic
tape's numbers: outputs, final states and every gradient, with lengths and both directions, float64 and
float32. A reduction of two accumulators (amax: the maximum and how many columns attain it) beside
one-accumulator sums checks that each value reads its own columns."""
import numpy as np
import pytest
from test_compile import H, assert_same  # pytest puts this folder on sys.path

import tinygrad_rnn as tr
from tinygrad_rnn.compile import node
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import uniform

pytest.importorskip("numba")


class NormAndMaxCell(RecurrentCell):
    """h' = tanh(layer_norm(z) * g + amax(z) * 0.5) over the features of z = x W + h U: four per-row
    numbers per step (mean, variance, the max and its count)."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)
        self.gain = uniform((hidden_size,), 0.5, dtype)

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        centred = z - z.mean(-1, keepdim=True)
        normed = centred / ((centred * centred).mean(-1, keepdim=True) + 1e-5).sqrt()
        return (normed * self.gain + z.amax(-1, keepdim=True) * 0.5).tanh()


def _stored_args(layer, dtype):
    kernel = node.get_kernel(layer.cells[0], dtype)[0]
    return [a.name for a in kernel.forward_args if a.name.startswith("M")], kernel


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_per_row_scalars_share_one_buffer_and_equal_the_tape(dtype):
    tr.manual_seed(3)
    layer = tr.nn.Recurrent(NormAndMaxCell, 2 * H, H, bidirectional=True, dtype=dtype)
    names, kernel = _stored_args(layer, dtype)
    assert names[0] == "M" and "M" in [a.name for a in kernel.backward_args]
    x = np.random.default_rng(5).standard_normal((5, 3, 2 * H)).astype(dtype)
    for lengths in (None, np.array([5, 3, 1])):
        assert_same(layer, x, lengths, dtype)


def test_the_layer_norm_lstm_passes_one_buffer_of_per_row_sums():
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, 2 * H, H, bidirectional=True, dtype=np.float64)
    names, kernel = _stored_args(layer, np.float64)
    assert names.count("M") == 1 and len(names) < len(kernel.prog.stored)
    x = np.random.default_rng(5).standard_normal((5, 3, 2 * H))
    assert_same(layer, x, np.array([5, 3, 1]), np.float64)
