"""forward_states (codegen.py): the forward loop without the saved values' stores, run where no backward
reads them: inference (no_grad, or nothing requires grad) and a checkpointed piece's first run. Its
outputs and final states are the normal forward's, and it allocates no saved-value buffers (A or A<m>)."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.compile import node

CELLS = {"LSTM": lambda: nn.LSTM(3, 4, dtype=np.float64), "GRU": lambda: nn.GRU(3, 4, dtype=np.float64),
         "RNN": lambda: nn.RNN(3, 4, dtype=np.float64),
         "peephole": lambda: nn.Recurrent(nn.PeepholeLSTMCell, 3, 4, dtype=np.float64),
         "layernorm": lambda: nn.Recurrent(nn.LayerNormLSTMCell, 3, 4, dtype=np.float64)}


@pytest.fixture
def forwards(monkeypatch, split_everything):
    """Records, per Kernel.forward_buffers call, (steps, states_only, the saved-value names it allocated);
    every thread split is forced (conftest)."""
    calls = []
    made = node.Kernel.forward_buffers

    def spy(self, arrays, T, B, states, padded, empty, states_only=False, shapes=None):
        made(self, arrays, T, B, states, padded, empty, states_only, shapes)
        calls.append((T, states_only, sorted(self.saved & set(arrays))))
    monkeypatch.setattr(node.Kernel, "forward_buffers", spy)
    return calls


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("cell", list(CELLS))
def test_inference_forward_equals_the_training_forward_and_saves_nothing(forwards, cell, with_lengths, threads):
    """no_grad: the same outputs and final states (exactly; the layer-norm cell's loops sum with reassociation,
    so its two loops may round differently: 1e-13), on 1 and 2 threads (the time pipeline without lengths,
    batch blocks with), and no saved-value buffer allocated where the training forward allocates them."""
    tr.set_num_threads(threads)
    tr.manual_seed(1)
    layer = CELLS[cell]()
    rng = np.random.default_rng(2)
    x = tr.Tensor(rng.normal(size=(9, 5, 3)))
    lengths = [9, 4, 7, 1, 9] if with_lengths else None
    out, h = layer(x, lengths=lengths)
    assert out._node is not None and forwards[-1][1] is False
    with tr.no_grad():
        out2, h2 = layer(x, lengths=lengths)
    assert out2._node is None and forwards[-1][1] is True
    saved_when_training, saved_at_inference = forwards[0][2], forwards[-1][2]
    assert saved_at_inference == [] and (saved_when_training or cell == "RNN")
    exact = dict(rtol=0, atol=0) if cell != "layernorm" else dict(rtol=1e-13, atol=1e-15)
    for a, b in zip(_tensors(out, h), _tensors(out2, h2)):
        np.testing.assert_allclose(b.data, a.data, **exact)


def _tensors(out, h):
    return [out] + (list(h) if isinstance(h, tuple) else [h])


def test_nothing_requiring_grad_is_inference_too(forwards):
    """Without no_grad, a layer none of whose inputs or parameters requires grad records no node and runs
    forward_states; one parameter requiring grad makes it the training forward again."""
    layer = CELLS["LSTM"]()
    x = tr.Tensor(np.random.default_rng(3).normal(size=(6, 2, 3)))
    want, _ = layer(x)
    for p in layer.parameters():
        p.requires_grad = False
    out, _ = layer(x)
    assert out._node is None and forwards[-1][1:] == (True, [])
    np.testing.assert_array_equal(out.data, want.data)
    layer.weight_hh_l0.requires_grad = True
    out, _ = layer(x)
    assert out._node is not None and forwards[-1][1] is False and forwards[-1][2]


@pytest.mark.parametrize("threads", [1, 2])
def test_a_recomputed_piece_first_runs_without_saved_values(forwards, threads):
    """checkpoint=3 over 9 steps: the forward runs the two Recomputed pieces by forward_states and only the
    last (Stored) piece saves; the backward reruns them saving. Gradients equal storing every step's."""
    tr.set_num_threads(threads)
    x = tr.Tensor(np.random.default_rng(4).normal(size=(9, 4, 3)), requires_grad=True)
    grads = []
    for policy in ({}, {"checkpoint": 3}):
        tr.manual_seed(5)
        layer = nn.LSTM(3, 4, dtype=np.float64, **policy)
        x.grad = None
        del forwards[:]
        out, (h, c) = layer(x, lengths=[9, 8, 2, 5])
        in_forward = list(forwards)
        (out.sum() + (h * c).sum()).backward()
        grads.append([x.grad] + [p.grad for p in layer.parameters()])
    assert [(T, only) for T, only, _ in in_forward] == [(3, True), (3, True), (3, False)]
    assert [only for _, only, _ in forwards[3:]] == [False, False]   # the reruns save
    for a, b in zip(*grads):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
