"""The kernels generated from RNNCell, GRUCell and LSTMCell against the textbook BPTT written by hand in
plain numpy (bench/peers/numpy_manual_bptt.py): the outputs, the input's and every weight's gradient,
float64. The generator derives its BPTT from the tape's rules; this holds it to the hand derivation,
which shares no code with it."""
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
    x = tr.Tensor(np.random.default_rng(8).standard_normal((T, B, I)), requires_grad=True)
    out, _ = layer(x)
    out.sum().backward()                         # the textbook's loss: the sum of every h_t
    cell = layer.cells[0]
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    values, expected = textbook.reference(name, x.data, {n: getattr(cell, n).data for n in names})
    np.testing.assert_allclose(out.data, values, rtol=1e-12, atol=1e-14)
    got = dict({n: getattr(cell, n).grad for n in names}, input=x.grad)
    assert got.keys() == expected.keys()         # every gradient the layer has is compared
    for n, g in expected.items():
        np.testing.assert_allclose(got[n], g, rtol=1e-10, atol=1e-12, err_msg=n)
