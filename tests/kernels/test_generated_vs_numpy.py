"""The kernels generated from RNNCell, GRUCell and LSTMCell against the textbook BPTT written by hand in
plain numpy (bench/peers/numpy_manual_bptt.py): every weight's gradient, float64. The generator derives
its BPTT from the tape's rules; this holds it to the hand derivation, which shares no code with it."""
import os
import sys

import numpy as np
import pytest

import tinygrad_rnn as tr

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from bench.peers import numpy_manual_bptt as textbook  # noqa: E402

pytest.importorskip("numba")
CELLS = {"rnn": tr.nn.RNNCell, "gru": tr.nn.GRUCell, "lstm": tr.nn.LSTMCell}


@pytest.mark.parametrize("name", list(CELLS))
def test_generated_kernels_equal_textbook_bptt(name):
    tr.manual_seed(7)
    T, B, I, H = 6, 3, 4, 5
    layer = tr.nn.Recurrent(CELLS[name], I, H, dtype=np.float64)
    assert layer.fused is True
    x = np.random.default_rng(8).standard_normal((T, B, I))
    out, _ = layer(tr.Tensor(x))
    out.sum().backward()                         # the textbook's loss: the sum of every h_t
    cell = layer.cells[0]
    weights = {n: getattr(cell, n).data for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    expected = textbook.CELLS[name](x, weights)
    for n, g in expected.items():
        np.testing.assert_allclose(getattr(cell, n).grad, g, rtol=1e-10, atol=1e-12, err_msg=n)
