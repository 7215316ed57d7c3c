"""Module bookkeeping, the simple layers, and what training with recurrent layers needs."""
import numpy as np
import pytest

import tinygrad_rnn as tr

F64 = np.float64


def test_named_parameters_state_dict_round_trip():
    class Model(tr.nn.Module):
        def __init__(self):
            self.embed = tr.nn.Embedding(5, 3)
            self.rnn = tr.nn.LSTM(3, 4, num_layers=2)
            self.heads = [tr.nn.Linear(4, 2), tr.nn.Linear(4, 1, bias=False)]

    m = Model()
    names = [n for n, _ in m.named_parameters()]
    assert "embed.weight" in names and "rnn.weight_hh_l1" in names and "heads.1.weight" in names
    assert "heads.1.bias" not in names
    sd = m.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    ref = {k: v.copy() for k, v in sd.items()}
    for p in m.parameters():
        p.data += 1.0  # training moves the parameters; the state dict taken before must not move
    assert all(np.array_equal(sd[k], ref[k]) for k in sd)
    ids = [id(p.data) for p in m.parameters()]
    m.load_state_dict(sd)
    assert [id(p.data) for p in m.parameters()] == ids  # in place: optimisers keep their arrays
    assert all(np.array_equal(m.state_dict()[k], ref[k]) for k in sd)
    assert [c for c in m.children()][0] is m.embed


def test_parameter_discovery_follows_every_change_of_attributes():
    """Modules remember which attributes may hold parameters (so zero_grad does not scan settings);
    that record must follow assignment, replacement, deletion, list appends and copies."""
    import copy

    class Model(tr.nn.Module):
        def __init__(self):
            self.a = tr.nn.Linear(2, 2)
            self.blocks = []
            self.scale = tr.nn.Parameter(np.ones(1, np.float32))

    def names(m):
        return [n for n, _ in m.named_parameters()]

    m = Model()
    assert names(m) == ["scale", "a.weight", "a.bias"]  # own parameters first, then children, in order
    m.blocks.append(tr.nn.Linear(2, 1))  # a list mutated in place after it was assigned
    assert names(m) == ["scale", "a.weight", "a.bias", "blocks.0.weight", "blocks.0.bias"]
    m.scale = None  # a parameter replaced by a setting
    assert "scale" not in names(m)
    m.scale = tr.nn.Parameter(np.ones(1, np.float32))
    del m.a
    assert names(m) == ["scale", "blocks.0.weight", "blocks.0.bias"]
    c = copy.deepcopy(m)
    assert names(c) == names(m) and all(p is not q for p, q in zip(c.parameters(), m.parameters()))
    for p in m.parameters():
        p.grad = np.ones_like(p.data)
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_load_state_dict_lists_every_difference():
    m = tr.nn.GRU(3, 4)
    sd = m.state_dict()
    sd.pop("bias_hh_l0")
    sd["extra"] = np.zeros(1)
    sd["weight_ih_l0"] = np.zeros((5, 5), np.float32)
    sd["weight_hh_l0"] = sd["weight_hh_l0"].astype(np.float64)
    with pytest.raises(ValueError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert "missing keys: ['bias_hh_l0']" in msg and "unexpected keys: ['extra']" in msg
    assert "weight_ih_l0: shape expected (12, 3), got (5, 5)" in msg
    assert "weight_hh_l0: dtype expected float32, got float64" in msg
    sd = m.state_dict()
    sd.pop("bias_hh_l0")
    m.load_state_dict(sd, strict=False)  # non-strict: names may differ, shapes and dtypes may not


def test_zero_grad_train_eval_and_dropout():
    tr.manual_seed(0)
    m = tr.nn.Sequential(tr.nn.Linear(4, 8), tr.nn.Dropout(0.5))
    x = tr.Tensor(np.ones((100, 4), np.float32))
    y = m(x)
    kept = y.data != 0
    assert 0.3 < kept.mean() < 0.7  # about half dropped
    m.eval()
    assert not m.layers[1].training
    y_eval = m(x)
    assert np.all(y_eval.data != 0)
    np.testing.assert_allclose(y.data[kept], 2 * y_eval.data[kept], rtol=1e-6)  # inverted scaling
    y_eval.sum().backward()
    assert m.layers[0].weight.grad is not None
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_linear_and_embedding_against_numpy():
    lin = tr.nn.Linear(3, 2, dtype=F64)
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(lin(tr.Tensor(x)).data, x @ lin.weight.data.T + lin.bias.data)
    assert tr.gradcheck(lambda x, *p: lin(x), [tr.Tensor(x, requires_grad=True)] + lin.parameters())
    emb = tr.nn.Embedding(6, 2, dtype=F64)
    np.testing.assert_array_equal(emb(np.array([[1, 5]])).data, emb.weight.data[[[1, 5]]])
    with pytest.raises(ValueError, match=r"\[0, 6\).*got 6"):
        emb(np.array([6]))
    with pytest.raises(ValueError, match="expected 3, got 2"):
        lin(tr.Tensor(np.ones((1, 2))))


def test_dtype_default_and_float64_modules():
    assert tr.nn.LSTM(2, 3).weight_ih_l0.dtype == np.float32
    layer = tr.nn.LSTM(2, 3, dtype=np.float64)
    out, (h, c) = layer(tr.Tensor(np.ones((4, 1, 2))))
    assert out.dtype == h.dtype == c.dtype == np.float64
    with pytest.raises(TypeError, match="float32"):
        tr.nn.LSTM(2, 3)(tr.Tensor(np.ones((4, 1, 2))))  # float64 input, float32 layer: no silent cast


def test_custom_cell_in_a_few_lines_trains_and_gradchecks():
    class MinimalGatedUnit(tr.nn.RecurrentCell):  # Zhou et al. 2016: one forget gate
        def __init__(self, input_size, hidden_size, dtype=np.float32):
            self.input_size, self.hidden_size = input_size, hidden_size
            self.f = tr.nn.Linear(input_size + hidden_size, hidden_size, dtype=dtype)
            self.n = tr.nn.Linear(input_size + hidden_size, hidden_size, dtype=dtype)

        def forward(self, x, h):
            f = self.f(tr.concatenate([x, h], axis=1)).sigmoid()
            n = self.n(tr.concatenate([x, f * h], axis=1)).tanh()
            return (1 - f) * h + f * n

    # stacked, bidirectional, with lengths, gradient-checked: no loop, no backward written above
    layer = tr.nn.Recurrent(MinimalGatedUnit, 2, 3, num_layers=2, bidirectional=True, dtype=F64)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((3, 2, 2)), requires_grad=True)
    assert tr.gradcheck(lambda x, *p: layer(x, lengths=[3, 2]), [x] + layer.parameters())
    out, h_n = layer(x)
    assert out.shape == (3, 2, 6) and h_n.shape == (4, 2, 3)

    # and it learns: predict the running sign of the input's first feature
    tr.manual_seed(0)
    model = tr.nn.Recurrent(MinimalGatedUnit, 1, 8)
    head = tr.nn.Linear(8, 1)
    opt = tr.optim.Adam(model.parameters() + head.parameters(), lr=0.03)
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(60):
        xs = rng.standard_normal((6, 16, 1)).astype(np.float32)
        target = (np.cumsum(xs, axis=0) > 0).astype(np.float32)
        out, _ = model(tr.Tensor(xs))
        loss = tr.nn.functional.mse_loss(head(out).sigmoid(), target)
        model.zero_grad(), head.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])


def test_truncated_bptt_carries_state_with_detach():
    """Chunked training: the state flows forward across chunks, gradients stop at the cut."""
    tr.manual_seed(0)
    layer = tr.nn.LSTM(2, 3, dtype=F64, fused=False)
    x = np.random.default_rng(0).standard_normal((8, 1, 2))
    full_out, _ = layer(tr.Tensor(x))
    state, outs = None, []
    for chunk in (x[:4], x[4:]):
        out, state = layer(tr.Tensor(chunk), state)
        state = tuple(s.detach() for s in state)
        outs.append(out.data)
        out.sum().backward()
    np.testing.assert_allclose(np.concatenate(outs), full_out.data, rtol=1e-12)  # same values forward
    # the second chunk's gradient equals a fresh run of chunk 2 from the carried (constant) state
    layer.zero_grad()
    _, s1 = layer(tr.Tensor(x[:4]))
    s1 = tuple(tr.Tensor(s.data) for s in s1)
    out2, _ = layer(tr.Tensor(x[4:]), s1)
    out2.sum().backward()
    g_chunk2 = layer.weight_hh_l0.grad.copy()
    layer.zero_grad()
    out, state = layer(tr.Tensor(x[4:]), s1)
    out.sum().backward()
    np.testing.assert_allclose(layer.weight_hh_l0.grad, g_chunk2, rtol=1e-12)


def test_per_step_state_gradients_vanish_in_rnn_survive_in_lstm():
    T = 60
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, 1, 4)).astype(np.float32))
    norms = {}
    for kind in ("RNN", "LSTM"):
        tr.manual_seed(0)
        layer = getattr(tr.nn, kind)(4, 16)
        if kind == "LSTM":  # a forget gate that starts open (bias 3: f ~ 0.95) remembers by default
            layer.bias_hh_l0.data[16:32] += 3.0
        out, _ = layer(x, retain_states=True)
        out[T - 1].sum().backward()
        states = layer.states[(0, 0)]
        norms[kind] = [np.linalg.norm((s[1] if kind == "LSTM" else s).grad) for s in states]
    assert norms["RNN"][0] < 1e-4 * norms["RNN"][-1]  # vanished across 60 steps
    assert norms["LSTM"][0] > 1e-2 * norms["LSTM"][-1]  # the cell state carries it back
