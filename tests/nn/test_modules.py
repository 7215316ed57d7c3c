"""Module bookkeeping, the simple layers, and what training with recurrent layers needs."""
import copy

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
    sd = copy.deepcopy(m.state_dict())   # a snapshot, as in torch: state_dict's values share the weights' memory
    assert all(type(v) is tr.Tensor for v in sd.values())
    ref = {k: v.numpy().copy() for k, v in sd.items()}
    for p in m.parameters():
        p._data += 1.0  # training moves the parameters; the deep-copied state dict must not move
    assert all(np.array_equal(sd[k], ref[k]) for k in sd)
    ids = [id(p._data) for p in m.parameters()]
    m.load_state_dict(sd)
    assert [id(p._data) for p in m.parameters()] == ids  # in place: optimisers keep their arrays
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
        p.grad = tr.from_numpy(np.ones_like(p._data))
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_load_state_dict_lists_every_difference():
    m = tr.nn.GRU(3, 4)
    sd = m.state_dict()
    sd.pop("bias_hh_l0")
    sd["extra"] = np.zeros(1)
    sd["weight_ih_l0"] = np.zeros((5, 5), np.float32)
    sd["weight_hh_l0"] = np.array([["a"] * 4] * 12)
    with pytest.raises(ValueError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert "missing keys: ['bias_hh_l0']" in msg and "unexpected keys: ['extra']" in msg
    assert ("size mismatch for weight_ih_l0: copying a param with shape (5, 5) from checkpoint, the shape in "
            "current model is (12, 3)") in msg
    assert "weight_hh_l0: a value of dtype <U1 cannot be copied into a float32 parameter" in msg
    assert isinstance(info.value, RuntimeError)   # what torch raises, and torch code catches
    sd = m.state_dict()
    sd.pop("bias_hh_l0")
    m.load_state_dict(sd, strict=False)  # non-strict: names may differ, shapes may not


@pytest.mark.parametrize("model_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("source", ["float64", "float32", "int64", "bool", "torch"])
def test_load_state_dict_casts_to_the_parameters_dtype_as_torch(model_dtype, source):
    """torch's load_state_dict copies with param.copy_(value), which casts: a float64 checkpoint loads into
    a float32 model (and the reverse), as do ints and bools; the parameters keep their dtype and identity."""
    torch = pytest.importorskip("torch")
    tdtype = {np.float32: torch.float32, np.float64: torch.float64}[model_dtype]
    theirs, ours = torch.nn.Linear(3, 2).to(tdtype), tr.nn.Linear(3, 2, dtype=model_dtype)
    rng = np.random.default_rng(0)
    values = {"weight": rng.standard_normal((2, 3)), "bias": rng.standard_normal(2)}
    if source in ("int64", "bool"):
        values = {k: (v * 3).astype(source) for k, v in values.items()}
    elif source == "float32":
        values = {k: v.astype(np.float32) for k, v in values.items()}
    sd = {k: torch.tensor(v, dtype=torch.float64) for k, v in values.items()} if source == "torch" else values
    weight = ours.weight
    ours.load_state_dict(sd)
    theirs.load_state_dict({k: torch.as_tensor(v) for k, v in sd.items()})
    assert ours.weight is weight and ours.weight.dtype == model_dtype and ours.bias.dtype == model_dtype
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name], value.numpy())


def test_load_state_dict_takes_a_torch_state_dict_as_it_is():
    """A torch model's state_dict() (tensors, float32 or float64) loads directly, as docs/howto/port-pytorch.md
    promises; a torch model's parameters() requiring grad are read through .detach()."""
    torch = pytest.importorskip("torch")
    theirs = torch.nn.LSTM(3, 4, num_layers=2).double()
    ours = tr.nn.LSTM(3, 4, num_layers=2)
    ours.load_state_dict(theirs.state_dict())
    ours.load_state_dict(dict(theirs.named_parameters()))
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name], value.numpy().astype(np.float32))


def test_zero_grad_train_eval_and_dropout():
    tr.manual_seed(0)
    m = tr.nn.Sequential(tr.nn.Linear(4, 8), tr.nn.Dropout(0.5))
    x = tr.Tensor(np.ones((100, 4), np.float32))
    y = m(x)
    kept = y._data != 0
    assert 0.3 < kept.mean() < 0.7  # about half dropped
    m.eval()
    assert not m.layers[1].training
    y_eval = m(x)
    assert np.all(y_eval._data != 0)
    np.testing.assert_allclose(y._data[kept], 2 * y_eval._data[kept], rtol=1e-6)  # inverted scaling
    y_eval.sum().backward()
    assert m.layers[0].weight.grad is not None
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_linear_and_embedding_against_numpy():
    lin = tr.nn.Linear(3, 2, dtype=F64)
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(lin(tr.Tensor(x))._data, x @ lin.weight._data.T + lin.bias._data)
    assert tr.gradcheck(lambda x, *p: lin(x), [tr.Tensor(x, requires_grad=True), *lin.parameters()])
    emb = tr.nn.Embedding(6, 2, dtype=F64)
    np.testing.assert_array_equal(emb(np.array([[1, 5]]))._data, emb.weight._data[[[1, 5]]])
    with pytest.raises(IndexError, match=r"\[0, 6\).*got 6"):
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
    assert tr.gradcheck(lambda x, *p: layer(x, lengths=[3, 2]), [x, *layer.parameters()])
    out, h_n = layer(x)
    assert out.shape == (3, 2, 6) and h_n.shape == (4, 2, 3)

    # and it learns: predict the running sign of the input's first feature
    tr.manual_seed(0)
    model = tr.nn.Recurrent(MinimalGatedUnit, 1, 8)
    head = tr.nn.Linear(8, 1)
    opt = tr.optim.Adam([*model.parameters(), *head.parameters()], lr=0.03)
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
        outs.append(out._data)
        out.sum().backward()
    np.testing.assert_allclose(np.concatenate(outs), full_out._data, rtol=1e-12)  # same values forward
    # the second chunk's gradient equals a fresh run of chunk 2 from the carried (constant) state
    layer.zero_grad()
    _, s1 = layer(tr.Tensor(x[:4]))
    s1 = tuple(tr.Tensor(s._data) for s in s1)
    out2, _ = layer(tr.Tensor(x[4:]), s1)
    out2.sum().backward()
    g_chunk2 = layer.weight_hh_l0.grad.numpy().copy()
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
            layer.bias_hh_l0._data[16:32] += 3.0
        out, _ = layer(x, retain_states=True)
        out[T - 1].sum().backward()
        states = layer.states[(0, 0)]
        norms[kind] = [np.linalg.norm((s[1] if kind == "LSTM" else s).grad) for s in states]
    assert norms["RNN"][0] < 1e-4 * norms["RNN"][-1]  # vanished across 60 steps
    assert norms["LSTM"][0] > 1e-2 * norms["LSTM"][-1]  # the cell state carries it back


# ----------------------------------------------------------------------------- containers and Module API
def test_a_dict_of_modules_is_registered_like_a_list():
    """torch ignores a plain dict of Modules silently (its parameters never train); here a dict whose
    values are all Modules is registered as a list is, its keys naming the children."""
    class Model(tr.nn.Module):
        def __init__(self):
            self.heads = {"a": tr.nn.Linear(2, 3), "b": tr.nn.Linear(2, 1, bias=False)}
            self.settings = {"lr": 0.1}  # not Modules: not a holder of children

    m = Model()
    assert [n for n, _ in m.named_parameters()] == ["heads.a.weight", "heads.a.bias", "heads.b.weight"]
    assert set(m.state_dict()) == {"heads.a.weight", "heads.a.bias", "heads.b.weight"}
    for p in m.parameters():
        p.grad = tr.from_numpy(np.ones_like(p._data))
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.heads["c"] = tr.nn.Linear(2, 2)  # a dict changed in place after assignment is seen
    assert "heads.c.bias" in dict(m.named_parameters())
    assert [n for n, _ in m.named_modules()] == ["", "heads.a", "heads.b", "heads.c"]


def test_containers_follow_torch_names_and_methods():
    torch = pytest.importorskip("torch")
    ours = tr.nn.Sequential(tr.nn.Linear(3, 4), tr.nn.Tanh(), tr.nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())  # "0.weight", ...: torch's checkpoints load
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(tr.Tensor(x))._data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert len(ours) == 3 and ours[-1] is list(ours)[2] and isinstance(ours[1], tr.nn.Tanh)
    assert list(ours[1:].state_dict()) == list(theirs[1:].state_dict())  # a slice keeps the names: ["2.weight", ...]

    ml = tr.nn.ModuleList([tr.nn.Linear(2, 2)])
    ml.append(tr.nn.Linear(2, 3)).extend([tr.nn.ReLU()])
    ml.insert(0, tr.nn.Identity())
    tl = torch.nn.ModuleList([torch.nn.Identity(), torch.nn.Linear(2, 2), torch.nn.Linear(2, 3), torch.nn.ReLU()])
    assert list(ml.state_dict()) == list(tl.state_dict())
    del ml[0]
    del tl[0]
    assert list(ml.state_dict()) == list(tl.state_dict()) and len(ml) == 3

    md = tr.nn.ModuleDict({"enc": tr.nn.Linear(2, 2)})
    md["dec"] = tr.nn.Linear(2, 1)
    td = torch.nn.ModuleDict({"enc": torch.nn.Linear(2, 2), "dec": torch.nn.Linear(2, 1)})
    assert list(md.state_dict()) == list(td.state_dict()) and md.dec is md["dec"] and list(md) == ["enc", "dec"]

    class Net(tr.nn.Module):
        def __init__(self):
            self.blocks = tr.nn.ModuleList([tr.nn.Linear(2, 2), tr.nn.Linear(2, 2)])

    assert [n for n, _ in Net().named_parameters()] == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                                                        "blocks.1.bias"]


def test_module_methods_to_apply_modules_requires_grad():
    tr.manual_seed(0)
    m = tr.nn.Sequential(tr.nn.Linear(3, 4), tr.nn.LSTM(4, 5, fused=False))
    params = list(m.parameters())
    m.double()
    assert all(p.dtype == np.float64 for p in m.parameters()) and list(m.parameters()) == params  # same objects
    out = m[1](m[0](tr.Tensor(np.ones((2, 1, 3)))))[0]  # the LSTM now takes float64 input
    assert out.dtype == np.float64
    m.to(np.float32)
    assert all(p.dtype == np.float32 for p in m.parameters()) and m[1].dtype == np.float32
    assert m.to("cpu") is m
    with pytest.raises(ValueError, match="CPU only"):
        m.to("cuda")

    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "LSTM", "Sequential"]  # children first, as torch
    assert [n for n, _ in m.named_modules()] == ["", "0", "1"] and len(list(m.modules())) == 3

    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m[0].requires_grad_()
    assert [p.requires_grad for p in m.parameters()][:2] == [True, True]


def test_buffers_are_state_but_not_parameters():
    torch = pytest.importorskip("torch")

    class Norm(tr.nn.Module):
        def __init__(self):
            self.scale = tr.nn.Parameter(np.ones(2, np.float32))
            self.register_buffer("running_mean", tr.zeros(2))
            self.register_buffer("scratch", tr.zeros(3), persistent=False)

    class TNorm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(2))
            self.register_buffer("running_mean", torch.zeros(2))
            self.register_buffer("scratch", torch.zeros(3), persistent=False)

    ours = tr.nn.Sequential(Norm(), tr.nn.Linear(2, 2), Norm())  # buffers, then parameters, then buffers
    theirs = torch.nn.Sequential(TNorm(), torch.nn.Linear(2, 2), TNorm())
    assert list(ours.state_dict()) == list(theirs.state_dict())  # persistent buffers only, torch's order
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert len(list(ours.parameters())) == 4 and len(list(ours.buffers())) == 4
    sd = ours.state_dict()
    sd["2.running_mean"] = np.array([1.0, 2.0], np.float32)
    buf = ours[2].running_mean
    ours.load_state_dict(sd)
    np.testing.assert_array_equal(buf._data, [1.0, 2.0])  # loaded in place
    ours.double()
    assert ours[2].running_mean.dtype == np.float64
    with pytest.raises(TypeError, match="cannot assign a int to buffer 'running_mean'"):
        ours[2].running_mean = 3
    ours[2].running_mean = None  # allowed, as torch: then it is not in the state dict
    assert "2.running_mean" not in ours.state_dict()


# ----------------------------------------------------------------------------- small layers and losses
def test_layer_norm_against_torch_values_and_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for shape, normalized in [((4, 6), 6), ((2, 3, 4), (3, 4))]:
        ours = tr.nn.LayerNorm(normalized, dtype=F64)
        theirs = torch.nn.LayerNorm(normalized, dtype=torch.float64)
        for p in ours.parameters():
            p._data[...] = rng.standard_normal(p.shape)
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        x = rng.standard_normal(shape)
        xt = torch.tensor(x, requires_grad=True)
        w = rng.standard_normal(shape)
        xo = tr.Tensor(x, requires_grad=True)
        (ours(xo) * w).sum().backward()
        (theirs(xt) * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(ours(xo)._data, theirs(xt).detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-9, atol=1e-11)
    assert list(tr.nn.LayerNorm(3, elementwise_affine=False).parameters()) == []
    assert [n for n, _ in tr.nn.LayerNorm(3, bias=False).named_parameters()] == ["weight"]


def test_activation_modules_and_loss_modules_call_functional():
    x = tr.Tensor(np.linspace(-2, 2, 6).reshape(2, 3))
    assert tr.nn.Identity(5, any=1)(x) is x
    np.testing.assert_array_equal(tr.nn.ReLU()(x)._data, np.maximum(x._data, 0))
    np.testing.assert_allclose(tr.nn.Tanh()(x)._data, np.tanh(x._data), rtol=1e-6)
    np.testing.assert_allclose(tr.nn.Sigmoid()(x)._data, 1 / (1 + np.exp(-x._data)), rtol=1e-6)
    np.testing.assert_array_equal(tr.nn.Softmax(dim=0)(x)._data, tr.nn.functional.softmax(x, 0)._data)
    np.testing.assert_array_equal(tr.nn.LogSoftmax(1)(x)._data, tr.nn.functional.log_softmax(x, 1)._data)
    F = tr.nn.functional
    targets = np.array([0, 2])
    assert tr.nn.CrossEntropyLoss()(x, targets).item() == F.cross_entropy(x, targets).item()
    summed = F.cross_entropy(x, targets, reduction="sum").item()
    assert tr.nn.CrossEntropyLoss(reduction="sum")(x, targets).item() == summed
    logp = x.log_softmax(1)
    assert tr.nn.NLLLoss(ignore_index=2)(logp, targets).item() == F.nll_loss(logp, targets, ignore_index=2).item()
    assert tr.nn.MSELoss(reduction="none")(x, x * 2).shape == (2, 3)
    assert tr.nn.L1Loss()(x, x * 0).item() == pytest.approx(np.abs(x._data).mean())


# ----------------------------------------------------------------------------- nn.init
def test_init_follows_torch_scales_and_is_seeded():
    torch = pytest.importorskip("torch")
    init = tr.nn.init
    for nl, param in [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                      ("selu", None), ("sigmoid", None)]:
        assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param))
    shape = (300, 200)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    p = tr.nn.Parameter(np.zeros(shape, np.float32))
    data = p._data

    def check_uniform(bound):
        assert p._data is data and p.dtype == np.float32  # in place, dtype kept
        assert np.abs(p._data).max() <= bound and np.abs(p._data).max() > 0.99 * bound
        assert p._data.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)

    init.xavier_uniform_(p, gain=2.0)
    check_uniform(2.0 * np.sqrt(6.0 / (fan_in + fan_out)))
    init.kaiming_uniform_(p, a=np.sqrt(5))  # what torch's Linear uses: bound 1/sqrt(fan_in)
    check_uniform(1 / np.sqrt(fan_in))
    init.kaiming_uniform_(p, mode="fan_out", nonlinearity="relu")
    check_uniform(np.sqrt(2) * np.sqrt(3.0 / fan_out))
    init.uniform_(p, -0.5, 0.25)
    assert p._data.min() >= -0.5 and p._data.max() <= 0.25 and p._data.mean() == pytest.approx(-0.125, abs=0.01)
    for fn, std in [(lambda: init.xavier_normal_(p), np.sqrt(2.0 / (fan_in + fan_out))),
                    (lambda: init.kaiming_normal_(p, nonlinearity="tanh"), 5 / 3 / np.sqrt(fan_in)),
                    (lambda: init.normal_(p, 1.0, 0.1), 0.1)]:
        fn()
        assert p._data.std() == pytest.approx(std, rel=0.02)
    assert p._data.mean() == pytest.approx(1.0, abs=0.01)
    for qshape in [(4, 6), (6, 4), (3, 2, 5)]:
        q = tr.nn.Parameter(np.zeros(qshape))
        init.orthogonal_(q, gain=1.5)
        flat = q._data.reshape(q.shape[0], -1)
        small = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
        np.testing.assert_allclose(small, 2.25 * np.eye(len(small)), atol=1e-10)
    init.zeros_(p), init.ones_(q), init.constant_(q, 0.5)
    assert not p._data.any() and np.all(q._data == 0.5)
    tr.manual_seed(3)
    a = init.normal_(tr.nn.Parameter(np.zeros(5)))._data.copy()
    tr.manual_seed(3)
    assert np.array_equal(init.normal_(tr.nn.Parameter(np.zeros(5)))._data, a)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tr.nn.Parameter(np.zeros(3)))
    with pytest.raises(TypeError, match="tensor must be a Tensor"):
        init.zeros_(np.zeros(3))
    # in place after a forward: the graph recorded before, whose input's gradient reads the weight, refuses to
    # backpropagate (stale weights), as torch's
    lin = tr.nn.Linear(2, 2)
    y = lin(tr.Tensor(np.ones((1, 2), np.float32), requires_grad=True)).sum()
    init.zeros_(lin.weight)
    with pytest.raises(tr.InplaceModificationError):
        y.backward()


@pytest.mark.parametrize("set_to_none", [True, False])
def test_module_zero_grad_takes_set_to_none_as_torch(set_to_none):
    torch = pytest.importorskip("torch")
    ours, theirs = tr.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    for m, lib in ((ours, tr), (theirs, torch)):
        m(lib.ones(4, 3)).sum().backward()   # bias and weight get grads
        m.zero_grad(set_to_none=set_to_none)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        if set_to_none:
            assert p.grad is None and q.grad is None, name
        else:
            assert p.grad.dtype == np.float32
            np.testing.assert_array_equal(p.grad, q.grad.numpy())   # zeros, of the parameter's shape
    with pytest.raises(TypeError, match="set_to_none must be True or False"):
        ours.zero_grad("no")


def _shared_model(nn, lib):
    """A model whose Linear is held under two names and whose Parameter is tied, built alike in both."""
    class Model(nn.Module):
        def __init__(self):
            if lib is not tr:
                super().__init__()
            self.enc = nn.Linear(2, 3)
            self.seq = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
            self.alias = self.enc          # the same module twice
            self.head = nn.Linear(3, 3, bias=False)
            self.head.weight = self.seq[0].weight   # a tied Parameter

    return Model()


def test_names_prefix_duplicates_and_apply_follow_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _shared_model(tr.nn, tr), _shared_model(torch.nn, torch)

    def names(pairs):
        return [n for n, _ in pairs]

    for kwargs in ({}, {"prefix": "m"}, {"recurse": False}, {"remove_duplicate": False},
                   {"prefix": "m", "remove_duplicate": False}):
        assert names(ours.named_parameters(**kwargs)) == names(theirs.named_parameters(**kwargs)), kwargs
        assert names(ours.named_buffers(**kwargs)) == names(theirs.named_buffers(**kwargs)), kwargs
    assert names(ours.named_children()) == names(theirs.named_children()) == ["enc", "seq", "head"]
    for method in ("parameters", "named_parameters", "buffers", "named_buffers", "children", "named_children",
                   "modules", "named_modules"):   # iterators, as torch's: next(model.parameters()) works
        mine, its = getattr(ours, method)(), getattr(theirs, method)()
        assert iter(mine) is mine and iter(its) is its, method
        first, its_first = next(mine, None), next(its, None)
        assert (first is None) == (its_first is None), method
        if isinstance(first, tuple):
            assert first[0] == its_first[0], method
    visited = {lib: [] for lib in (tr, torch)}
    ours.apply(lambda m: visited[tr].append(type(m).__name__))
    theirs.apply(lambda m: visited[torch].append(type(m).__name__))
    assert visited[tr] == visited[torch]   # the shared Linear once
    # state_dict lists every name, tied and shared ones included, so each library loads the other's
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.state_dict(prefix="m.")) == list(theirs.state_dict(prefix="m."))
    assert ours.state_dict(keep_vars=True)["head.weight"] is ours.seq[0].weight
    result = ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(ours.head.weight._data, theirs.head.weight.detach().numpy())
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})

    partial = {k: v.detach().numpy() for k, v in theirs.state_dict().items() if k != "enc.bias"}
    partial["extra"] = np.zeros(1, np.float32)
    expected = theirs.load_state_dict({k: torch.tensor(v) for k, v in partial.items()}, strict=False)
    got = ours.load_state_dict(partial, strict=False)
    assert (got.missing_keys, got.unexpected_keys) == (expected.missing_keys, expected.unexpected_keys)
    with pytest.raises(TypeError, match="state_dict must be a dict"):
        ours.load_state_dict([("enc.weight", np.zeros((3, 2)))])


def test_registration_lookup_pop_insert_and_repr_follow_torch():
    torch = pytest.importorskip("torch")
    built = {}
    for nn, lib in ((tr.nn, tr), (torch.nn, torch)):
        seq = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 3))
        assert seq.insert(1, nn.ReLU()) is seq          # torch's Sequential.insert returns self
        with pytest.raises(IndexError):
            seq.insert(10, nn.ReLU())                  # never appended silently
        popped = seq.pop(0)
        assert isinstance(popped, nn.Linear)
        seq.add_module("head", nn.Linear(3, 1))
        seq.register_parameter("scale", nn.Parameter(lib.ones(1)))
        seq.register_module("extra", nn.ModuleList(None))   # ModuleList(None) is empty, as torch
        built[lib] = seq
    ours, theirs = built[tr], built[torch]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.get_submodule("head") is ours.head and ours.get_parameter("2.weight") is ours[2].weight
    with pytest.raises(AttributeError):
        ours.get_submodule("nope")
    with pytest.raises(TypeError, match="parameter 'w' must be a Parameter or None, got Tensor"):
        ours.register_parameter("w", tr.ones(1))
    with pytest.raises(KeyError, match="without '.'"):
        ours.add_module("a.b", tr.nn.ReLU())
    for nn in (tr.nn, torch.nn):   # + makes a new container of both's modules, as torch's
        a, b = nn.Linear(1, 1), nn.ReLU()
        assert list(nn.Sequential(a) + nn.Sequential(b)) == [a, b] and list(nn.ModuleList([a]) + [b]) == [a, b]
        assert type(nn.ModuleList([a]) + nn.ModuleList([b])) is nn.ModuleList
    for name in ("a.b", ""):   # a name is one step of state_dict's dotted keys: torch refuses these too
        with pytest.raises(KeyError, match="a module name must be non-empty and without '.'"):
            tr.nn.ModuleDict({name: tr.nn.ReLU()})
        with pytest.raises(KeyError):
            torch.nn.ModuleDict({name: torch.nn.ReLU()})
    # a module added to a Sequential by name or attribute runs in its forward, as torch's
    steps = {}
    for nn, lib in ((tr.nn, tr), (torch.nn, torch)):
        seq = nn.Sequential(nn.Linear(2, 2, dtype=np.float64 if lib is tr else torch.float64))
        seq.add_module("act", nn.Tanh())
        seq.out = nn.Linear(2, 1, dtype=np.float64 if lib is tr else torch.float64)
        steps[lib] = seq
    assert len(steps[tr]) == len(steps[torch]) == 3 and getattr(steps[tr], "0") is steps[tr][0]
    steps[tr].load_state_dict({k: v.numpy() for k, v in steps[torch].state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 2))
    np.testing.assert_allclose(steps[tr](tr.Tensor(x)).data, steps[torch](torch.tensor(x)).detach().numpy(), rtol=1e-12)
    for o, t in ((tr.nn.Dropout(0.3), torch.nn.Dropout(0.3)), (tr.nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3))),
                 (tr.nn.LayerNorm(4, bias=False), torch.nn.LayerNorm(4, bias=False)),
                 (tr.nn.LayerNorm(4, elementwise_affine=False), torch.nn.LayerNorm(4, elementwise_affine=False))):
        assert repr(o) == repr(t)


def test_module_flags_and_state_dict_container_are_checked():
    """load_state_dict(strict="no") and parameters(recurse="no") read the strings as True; load_state_dict of a
    list reported its items as unexpected keys. Each is refused by name; the bools still do what torch's do."""
    lin = tr.nn.Linear(2, 3)
    seq = tr.nn.Sequential(lin)
    with pytest.raises(TypeError, match="load_state_dict for Linear: strict must be True or False, got str 'no'"):
        lin.load_state_dict({}, strict="no")
    with pytest.raises(TypeError, match="load_state_dict for Linear: state_dict must be a dict .* got list"):
        lin.load_state_dict([("weight", np.zeros((3, 2), np.float32))])
    for call in (lambda: seq.parameters(recurse="no"), lambda: list(seq.named_parameters(recurse=0)),
                 lambda: seq.buffers(recurse="no")):
        with pytest.raises(TypeError, match=r"Sequential\.named_(parameters|buffers): recurse must be True or False"):
            call()
    assert list(seq.parameters(recurse=False)) == [] and len(list(seq.parameters())) == 2
    assert lin.load_state_dict({"weight": np.zeros((3, 2), np.float32)}, strict=False).missing_keys == ["bias"]
