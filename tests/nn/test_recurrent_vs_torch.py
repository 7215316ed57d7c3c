"""Layers and cells against torch.nn after loading torch's weights: outputs, final states and every
gradient, in float64. Skipped cleanly where torch is not installed."""
import numpy as np
import pytest
from conftest import torch_error
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

KINDS = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN": torch.nn.RNN}


def load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def run_torch(tm, x, h0, lengths, batch_first):
    if lengths is None:
        return tm(x, h0)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                                     enforce_sorted=False)
    out, hn = tm(packed, h0)
    total = x.shape[1 if batch_first else 0]
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first, total_length=total)
    return out, hn


@settings(max_examples=20)
@given(kind=st.sampled_from(list(KINDS)), layers=st.integers(1, 3), bidirectional=st.booleans(),
       batch_first=st.booleans(), bias=st.booleans(), relu=st.booleans(), with_hx=st.booleans(),
       T=st.integers(1, 5), B=st.integers(1, 4), I=st.sampled_from([1, 3]), H=st.sampled_from([1, 4]),  # few kernels
       use_lengths=st.booleans(), fused=st.booleans(), data=st.data())
def test_layer_matches_torch(kind, layers, bidirectional, batch_first, bias, relu, with_hx, T, B, I, H,
                             use_lengths, fused, data):
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    if kind == "RNN":
        kwargs["nonlinearity"] = "relu" if relu else "tanh"
    tm = KINDS[kind](I, H, **kwargs).double()
    ours = getattr(tr.nn, kind)(I, H, dtype=np.float64, fused=fused, **kwargs)
    load_from_torch(ours, tm)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    lengths = np.array(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))) if use_lengths else None
    D = 2 if bidirectional else 1
    h0 = [rng.standard_normal((layers * D, B, H)) for _ in range(2 if kind == "LSTM" else 1)] if with_hx else None

    xt = torch.tensor(x, requires_grad=True)
    h0t = [torch.tensor(h, requires_grad=True) for h in h0] if h0 else None
    out_t, hn_t = run_torch(tm, xt, (tuple(h0t) if kind == "LSTM" else h0t[0]) if h0 else None, lengths, batch_first)
    xx = tr.Tensor(x, requires_grad=True)
    h0s = [tr.Tensor(h, requires_grad=True) for h in h0] if h0 else None
    out, hn = ours(xx, (tuple(h0s) if kind == "LSTM" else h0s[0]) if h0 else None, lengths=lengths)

    hn_t = list(hn_t) if kind == "LSTM" else [hn_t]
    hn = list(hn) if kind == "LSTM" else [hn]
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(hn, hn_t):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)

    # one projected loss through every output, so every gradient path is exercised
    r_out = rng.standard_normal(out.shape)
    r_h = [rng.standard_normal(h.shape) for h in hn]
    loss = (out * r_out).sum() + sum(((h * r).sum() for h, r in zip(hn, r_h)), tr.Tensor(0.0, dtype=np.float64))
    loss.backward()
    loss_t = (out_t * torch.tensor(r_out)).sum() + sum((h * torch.tensor(r)).sum() for h, r in zip(hn_t, r_h))
    loss_t.backward()
    np.testing.assert_allclose(xx.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    if h0:
        for a, b in zip(h0s, h0t):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-11)
    theirs = dict(tm.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs[name].grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("unbatched", [False, True])
def test_cells_match_torch(kind, unbatched):
    rng = np.random.default_rng(3)
    torch.manual_seed(3)   # torch's initialisation: the same weights every run
    I, H, B = 3, 4, 2
    tc = getattr(torch.nn, kind)(I, H).double()
    ours = getattr(tr.nn, kind)(I, H, dtype=np.float64)
    load_from_torch(ours, tc)
    x = rng.standard_normal((I,) if unbatched else (B, I))
    h = rng.standard_normal((H,) if unbatched else (B, H))
    xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h, requires_grad=True)
    xx, hh = tr.Tensor(x, requires_grad=True), tr.Tensor(h, requires_grad=True)
    if kind == "LSTMCell":
        out_t = tc(xt, (ht, ht * 0.5))[1]
        out = ours(xx, (hh, hh * 0.5))[1]
    else:
        out_t, out = tc(xt, ht), ours(xx, hh)
    # atol: an output near 0 differs from torch's in its last bits by more than 1e-12 of itself
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    out.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(xx.grad, xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(hh.grad, ht.grad.numpy(), rtol=1e-10)
    theirs = dict(tc.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs[name].grad.numpy(), rtol=1e-10, err_msg=name)
    # without a state: zeros, as torch
    np.testing.assert_allclose(_first(ours(xx)).data, _first(tc(xt)).detach().numpy(), rtol=1e-12, atol=1e-14)


def _first(s):
    return s[0] if isinstance(s, tuple) else s


def test_unbatched_layer_matches_torch():
    tm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    ours = tr.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    load_from_torch(ours, tm)
    x = np.random.default_rng(0).standard_normal((5, 3))
    out_t, (h_t, c_t) = tm(torch.tensor(x))
    out, (h, c) = ours(tr.Tensor(x))
    assert out.shape == tuple(out_t.shape) and h.shape == tuple(h_t.shape) == (4, 4)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(c.data, c_t.detach().numpy(), rtol=1e-12)


def test_float32_layer_matches_torch_float32():
    tm = torch.nn.GRU(8, 16, num_layers=2)
    ours = tr.nn.GRU(8, 16, num_layers=2)
    load_from_torch(ours, tm)  # a float32 torch state_dict loads as-is
    x = np.random.default_rng(0).standard_normal((10, 4, 8)).astype(np.float32)
    out, h = ours(tr.Tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, tm(torch.tensor(x))[0].detach().numpy(), rtol=1e-4, atol=1e-5)


def test_initialisation_matches_torch_bounds():
    layer = tr.nn.LSTM(10, 25, num_layers=2)
    bound = 1 / np.sqrt(25)
    for name, p in layer.named_parameters():
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.8 * bound, name
    assert sorted(n for n, _ in layer.named_parameters()) == sorted(torch.nn.LSTM(10, 25, num_layers=2).state_dict())


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_repr_matches_torch(nonlinearity):
    """A relu cell printed as a tanh one (the nonlinearity was left out of the repr)."""
    kw = dict(nonlinearity=nonlinearity, bias=False)
    assert repr(tr.nn.RNNCell(3, 4, **kw)) == repr(torch.nn.RNNCell(3, 4, **kw))


@pytest.mark.parametrize("fused", [True, False])
def test_rnn_nonlinearity_is_fixed_at_construction_as_torch(fused):
    """torch's RNN decides tanh or relu at construction (its forward reads mode) and ignores a later
    `rnn.nonlinearity = ...`; ours refuses that assignment (it once changed the tape path only, not the
    fused one), and keeps computing the construction's nonlinearity on both paths, as torch does."""
    torch.manual_seed(0)
    theirs = torch.nn.RNN(3, 4).double()
    ours = tr.nn.RNN(3, 4, dtype=np.float64, fused=fused)
    load_from_torch(ours, theirs)
    x = np.random.default_rng(0).standard_normal((5, 2, 3)) * 3
    theirs.nonlinearity = "relu"   # ignored by torch: still tanh
    with pytest.raises(AttributeError, match=r"RNN: nonlinearity is fixed at construction \(got 'relu', the "
                                             r"layer's is 'tanh'\)"):
        ours.nonlinearity = "relu"
    with pytest.raises(AttributeError, match="RNN: mode is fixed at construction"):
        ours.mode = "RNN_RELU"
    assert ours.nonlinearity == "tanh"
    np.testing.assert_allclose(ours(tr.Tensor(x))[0].data, theirs(torch.tensor(x))[0].detach().numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind,kwargs", [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {}), ("LSTM", {})])
def test_mode_is_torchs(kind, kwargs):
    assert getattr(tr.nn, kind)(2, 3, **kwargs).mode == KINDS[kind](2, 3, **kwargs).mode


# ----------------------------------------------------------------------------- torch's factory kwargs: device=, dtype=
TORCH_LAYERS_AND_CELLS = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


def _torch_positional_names(name):
    """The names of torch's constructor arguments, in order: a layer's from its documented overload (its __init__
    takes *args), a cell's from its signature."""
    import inspect
    import typing
    cls = getattr(torch.nn, name)
    init = typing.get_overloads(cls.__init__)[0] if name in KINDS else cls.__init__
    return [n for n in inspect.signature(init).parameters if n != "self"]


@pytest.mark.parametrize("name", TORCH_LAYERS_AND_CELLS)
def test_recurrent_layers_and_cells_take_torchs_arguments_in_torchs_order(name):
    """device then dtype, last among torch's arguments, as torch's (ours go on after them: fused=, checkpoint=)."""
    import inspect
    theirs = _torch_positional_names(name)
    ours = list(inspect.signature(getattr(tr.nn, name)).parameters)
    assert ours[:len(theirs)] == theirs


@pytest.mark.parametrize("name", TORCH_LAYERS_AND_CELLS)
@pytest.mark.parametrize("device", [None, "cpu", "cpu:0", "torch.device"])
def test_recurrent_layers_and_cells_take_a_cpu_device_as_torch(name, device):
    """device= the CPU (None, "cpu", "cpu:0", torch.device("cpu")) with dtype=float64 builds what torch builds: the
    same parameter names, shapes and dtype; a cell takes device positionally too, in torch's place."""
    device = torch.device("cpu") if device == "torch.device" else device
    args = (3, 4)
    ours = getattr(tr.nn, name)(*args, device=device, dtype=np.float64)
    theirs = getattr(torch.nn, name)(*args, device=device, dtype=torch.float64)
    assert [(k, p.shape, p.dtype) for k, p in ours.named_parameters()] == \
        [(k, tuple(p.shape), np.float64) for k, p in theirs.named_parameters()]
    if name.endswith("Cell"):
        positional = args + (True,) + (("tanh",) if name == "RNNCell" else ()) + (device, np.float64)
        assert getattr(tr.nn, name)(*positional).weight_ih.dtype == np.float64
        assert getattr(torch.nn, name)(*positional[:-1], torch.float64).weight_ih.dtype == torch.float64


@pytest.mark.parametrize("name", TORCH_LAYERS_AND_CELLS + ["PeepholeLSTMCell", "LayerNormLSTMCell", "JordanCell"])
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "meta", "torch.device", 0])
def test_recurrent_layers_and_cells_refuse_other_devices_by_name(name, device):
    device = torch.device("meta") if device == "torch.device" else device
    if device == 0:   # an accelerator's index, as torch reads it: its CPU build's RuntimeError
        with pytest.raises(type(torch_error(lambda: torch.nn.LSTM(3, 4, device=0))), match="accelerator"):
            getattr(tr.nn, name)(3, 4, device=device)
        return
    with pytest.raises(ValueError, match=rf"{name}: device must be 'cpu' \(tinygrad_rnn runs on the CPU only\), got"):
        getattr(tr.nn, name)(3, 4, device=device)


def test_project_cells_and_recurrent_take_a_cpu_device():
    """The project's own cells and tr.nn.Recurrent take device= beside dtype= too (Recurrent checks it and builds its
    cells with dtype= only, so a cell class of the user's need not take device=)."""
    made = [tr.nn.PeepholeLSTMCell(3, 4, device="cpu", dtype=np.float64),
            tr.nn.LayerNormLSTMCell(3, 4, device=torch.device("cpu"), dtype=np.float64),
            tr.nn.JordanCell(3, 4, device="cpu:0", dtype=np.float64),
            tr.nn.Recurrent(tr.nn.GRUCell, 3, 4, device="cpu", dtype=np.float64, fused=False)]
    assert all(p.dtype == np.float64 for m in made for p in m.parameters())
    with pytest.raises(ValueError, match="Recurrent: device must be 'cpu'"):
        tr.nn.Recurrent(tr.nn.GRUCell, 3, 4, device="cuda")
