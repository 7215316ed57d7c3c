"""The values the forward saves for the backward (codegen: Generator.saved_buffers) live in one per-step
buffer A, each at its own columns, when every one is narrower than NARROW_COLUMNS, else in a buffer A<m>
each. Both layouts must give the generic tape's numbers: outputs, final states and every gradient, with
lengths (padded rows zeroed) and reversed directions, and the inference forward (no saved values) the
training forward's outputs."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile import node
from tinygrad_rnn.compile.codegen import NARROW_COLUMNS
from tinygrad_rnn.nn.fused import fused_available

pytestmark = pytest.mark.skipif(not fused_available(), reason="numba kernels unavailable")


def outputs_and_grads(layer, x, lengths):
    layer.zero_grad()
    xt = tr.Tensor(x, requires_grad=True)
    out, h_n = layer(xt, lengths=lengths)
    h_n = h_n if isinstance(h_n, tuple) else (h_n,)
    weights = np.random.default_rng(1).standard_normal(out.shape)
    loss = (out * tr.Tensor(weights)).sum() + sum((h * h).sum() for h in h_n)
    loss.backward()
    return [out.data, xt.grad] + [h.data for h in h_n] + [p.grad for p in layer.parameters()]


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
@pytest.mark.parametrize("H", [5, NARROW_COLUMNS])   # one buffer A; a buffer A<m> each
def test_either_layout_of_the_saved_values_gives_the_tapes_numbers(name, H):
    tr.manual_seed(3)
    layer = getattr(tr.nn, name)(3, H, bidirectional=True, dtype=np.float64)
    kernel = node.get_kernel(layer._cell(0, 0), np.float64)[0]
    names = [a.name for a in kernel.forward_args if a.name[0] == "A"]
    assert names == (["A"] if H < NARROW_COLUMNS else [f"A{m}" for m in range(len(kernel.prog.saved))])
    x = np.random.default_rng(0).standard_normal((6, 3, 3))
    lengths = np.array([6, 4, 1])
    for lens in (None, lengths):
        layer.fused = True
        fused = outputs_and_grads(layer, x, lens)
        layer.fused = False
        tape = outputs_and_grads(layer, x, lens)
        for a, b in zip(fused, tape, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    layer.fused = True
    with tr.no_grad():
        out, _ = layer(tr.Tensor(x), lengths=lengths)
    np.testing.assert_array_equal(out.data, outputs_and_grads(layer, x, lengths)[0])
