"""Every cell and layer configuration through tr.gradcheck in float64: outputs and final states,
with respect to the input, the initial state and every parameter (finite differences, no torch)."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

F64 = np.float64
CELLS = {
    "rnn_tanh": lambda I, H: tr.nn.RNNCell(I, H, dtype=F64),
    "rnn_relu": lambda I, H: tr.nn.RNNCell(I, H, nonlinearity="relu", dtype=F64),
    "gru": lambda I, H: tr.nn.GRUCell(I, H, dtype=F64),
    "lstm": lambda I, H: tr.nn.LSTMCell(I, H, dtype=F64),
    "peephole": lambda I, H: tr.nn.PeepholeLSTMCell(I, H, dtype=F64),
    "jordan": lambda I, H: tr.nn.JordanCell(I, H, output_size=2, dtype=F64),
    "jordan_tanh_nobias": lambda I, H: tr.nn.JordanCell(I, H, bias=False, output_activation="tanh", dtype=F64),
}


def state_like(cell, B, rng):
    parts = tuple(tr.Tensor(rng.standard_normal((B, n)) * 0.5, requires_grad=True) for n in cell.sizes())
    return parts


@settings(max_examples=15)
@given(kind=st.sampled_from(list(CELLS)), B=st.integers(1, 3), I=st.integers(1, 3), H=st.integers(1, 3),
       steps=st.integers(1, 3), seed=st.integers(0, 1000))
def test_cells_gradcheck_over_steps(kind, B, I, H, steps, seed):
    rng = np.random.default_rng(seed)
    tr.manual_seed(seed)
    cell = CELLS[kind](I, H)
    xs = [tr.Tensor(rng.standard_normal((B, I)), requires_grad=True) for _ in range(steps)]
    s0 = state_like(cell, B, rng)

    def run(*args):
        state = args[steps:steps + len(s0)]
        state = state if len(state) > 1 else state[0]
        for x in args[:steps]:
            state = cell(x, state)
        return state

    assert tr.gradcheck(run, [*xs, *s0, *cell.parameters()])


def test_peephole_matches_its_equations():
    """The peephole cell against its equations (docs/learn/cells.md) written out in plain numpy."""
    rng = np.random.default_rng(0)
    cell = tr.nn.PeepholeLSTMCell(3, 4, dtype=F64)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))

    def sig(a):
        return 1 / (1 + np.exp(-a))

    g = x @ cell.weight_ih._data.T + cell.bias_ih._data + h @ cell.weight_hh._data.T + cell.bias_hh._data
    gi, gf, gg, go = np.split(g, 4, axis=1)
    i = sig(gi + cell.weight_ci._data * c)
    f = sig(gf + cell.weight_cf._data * c)
    c2 = f * c + i * np.tanh(gg)
    o = sig(go + cell.weight_co._data * c2)
    h2 = o * np.tanh(c2)
    hh, cc = cell(tr.Tensor(x), (tr.Tensor(h), tr.Tensor(c)))
    np.testing.assert_allclose(hh._data, h2, rtol=1e-12)
    np.testing.assert_allclose(cc._data, c2, rtol=1e-12)


def test_jordan_matches_its_equations():
    rng = np.random.default_rng(1)
    cell = tr.nn.JordanCell(3, 5, output_size=2, dtype=F64)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    h = np.tanh(x @ cell.weight_ih._data.T + cell.bias_ih._data + y @ cell.weight_yh._data.T + cell.bias_yh._data)
    expected = h @ cell.weight_hy._data.T + cell.bias_hy._data
    np.testing.assert_allclose(cell(tr.Tensor(x), tr.Tensor(y))._data, expected, rtol=1e-12)
    assert cell.output_size == 2


@settings(max_examples=12)
@given(kind=st.sampled_from(["RNN", "GRU", "LSTM"]), layers=st.integers(1, 2), bidirectional=st.booleans(),
       batch_first=st.booleans(), bias=st.booleans(), T=st.integers(1, 3), B=st.integers(1, 3),
       use_lengths=st.booleans(), data=st.data())
def test_layers_gradcheck(kind, layers, bidirectional, batch_first, bias, T, B, use_lengths, data):
    I, H = 2, 2
    tr.manual_seed(data.draw(st.integers(0, 100)))
    layer = getattr(tr.nn, kind)(I, H, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first,
                                 bias=bias, dtype=F64, fused=False)
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((B, T, I) if batch_first else (T, B, I)), requires_grad=True)
    D = 2 if bidirectional else 1
    hx = [tr.Tensor(rng.standard_normal((layers * D, B, H)) * 0.5, requires_grad=True)
          for _ in range(2 if kind == "LSTM" else 1)]
    lengths = np.array(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))) if use_lengths else None

    def run(x, *rest):
        h = tuple(rest[:len(hx)])
        return layer(x, h if kind == "LSTM" else h[0], lengths=lengths)

    assert tr.gradcheck(run, [x, *hx, *layer.parameters()])


@settings(max_examples=6)
@given(kind=st.sampled_from(["peephole", "jordan", "gru"]), bidirectional=st.booleans(), use_lengths=st.booleans())
def test_generic_recurrent_layer_gradcheck(kind, bidirectional, use_lengths):
    cls = {"peephole": tr.nn.PeepholeLSTMCell, "jordan": tr.nn.JordanCell, "gru": tr.nn.GRUCell}[kind]
    layer = tr.nn.Recurrent(cls, 2, 2, num_layers=2, bidirectional=bidirectional, dtype=F64)
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    lengths = np.array([3, 1]) if use_lengths else None
    assert tr.gradcheck(lambda x, *params: layer(x, lengths=lengths), [x, *layer.parameters()])


def test_lengths_semantics():
    """Padded steps give zero output and leave the state; h_n is the state at each last valid step;
    the reverse direction starts at each sequence's own end (= running each sequence alone)."""
    rng = np.random.default_rng(0)
    layer = tr.nn.GRU(3, 4, bidirectional=True, dtype=F64, fused=False)
    lengths = np.array([4, 2, 1])
    x = rng.standard_normal((4, 3, 3))
    out, h_n = layer(tr.Tensor(x), lengths=lengths)
    for b, L in enumerate(lengths):
        alone_out, alone_h = layer(tr.Tensor(x[:L, b:b + 1]))
        np.testing.assert_allclose(out._data[:L, b], alone_out._data[:, 0], rtol=1e-12)
        np.testing.assert_allclose(h_n._data[:, b], alone_h._data[:, 0], rtol=1e-12)
        assert np.all(out._data[L:, b] == 0)
