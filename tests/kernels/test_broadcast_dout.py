"""A broadcast output gradient (out.sum()'s: one row for every step and sequence) is read by the backward
loop as one row (node._dout_rows) both in a layer that stores every step and in a checkpointed one
(compile/segments.py); either way the gradients equal the generic tape's."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import nn

pytest.importorskip("numba")


def _sum_gradients(layer, x, lengths):
    for p in layer.parameters():
        p.grad = None
    x.grad = None
    out, (h, c) = layer(x, lengths=lengths)
    (out.sum() + (h * c).sum()).backward()   # out.sum(): dOut reaches the layer broadcast
    return [x.grad] + [p.grad for p in layer.parameters()]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("lengths", [None, [7, 3, 5]])
@pytest.mark.parametrize("policy", [{}, {"checkpoint": 3}])
def test_a_broadcast_output_gradient_is_read_as_one_row(policy, lengths, threads, monkeypatch, split_everything):
    from tinygrad_rnn.compile import node, segments
    rows = []
    for module in (node, segments):   # what the backward loop is given
        monkeypatch.setattr(module, "_dout_rows", lambda *a, cut=node._dout_rows: rows.append(cut(*a).shape) or
                            cut(*a), raising=False)
    tr.set_num_threads(threads)
    x = tr.Tensor(np.random.default_rng(2).normal(size=(7, 3, 4)), requires_grad=True)
    lengths = None if lengths is None else np.array(lengths)
    tr.manual_seed(0)
    fused = nn.LSTM(4, 5, bidirectional=True, dtype=np.float64, **policy)
    tr.manual_seed(0)
    tape = nn.LSTM(4, 5, bidirectional=True, dtype=np.float64, fused=False)
    got, want = _sum_gradients(fused, x, lengths), _sum_gradients(tape, x, lengths)
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
    assert (1, 1, 5) in rows   # (the forward direction's dOut, at least, was one row)
