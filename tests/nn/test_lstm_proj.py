"""LSTM(proj_size=) against torch.nn.LSTM after loading its state_dict (weight_hr_l{k} included):
outputs, (h_n, c_n) and every gradient, in float64, stacked, bidirectional, batch-first, with
initial states and lengths; the fused layer (kernels generated from LSTMCell(proj_size=)) against the
generic one. The projected cell, tr.nn.LSTMCell(proj_size=), compiles
to generated kernels: tr.nn.Recurrent(tr.nn.LSTMCell, ..., proj_size=) fused, against the tape and torch."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


@settings(max_examples=12)
@given(layers=st.integers(1, 2), bidirectional=st.booleans(), batch_first=st.booleans(), bias=st.booleans(),
       with_hx=st.booleans(), use_lengths=st.booleans(), T=st.integers(1, 4), B=st.integers(1, 3),
       I=st.integers(1, 3), H=st.integers(2, 4), data=st.data())
def test_projected_lstm_matches_torch(layers, bidirectional, batch_first, bias, with_hx, use_lengths, T, B, I, H,
                                      data):
    P = data.draw(st.integers(1, H - 1))
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias, proj_size=P)
    tm = torch.nn.LSTM(I, H, **kwargs).double()
    ours = tr.nn.LSTM(I, H, dtype=np.float64, fused=False, **kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in tm.named_parameters()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})

    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    D = 2 if bidirectional else 1
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    hx = (rng.standard_normal((layers * D, B, P)), rng.standard_normal((layers * D, B, H))) if with_hx else None
    lengths = np.array(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))) if use_lengths else None

    xt = torch.tensor(x, requires_grad=True)
    hxt = tuple(torch.tensor(h, requires_grad=True) for h in hx) if hx else None
    if lengths is None:
        out_t, (h_t, c_t) = tm(xt, hxt)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=batch_first,
                                                         enforce_sorted=False)
        out_t, (h_t, c_t) = tm(packed, hxt)
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=batch_first, total_length=T)
    xo = tr.Tensor(x, requires_grad=True)
    hxo = tuple(tr.Tensor(h, requires_grad=True) for h in hx) if hx else None
    out, (h, c) = ours(xo, hxo, lengths=lengths)

    assert out.shape == tuple(out_t.shape) and h.shape == (layers * D, B, P) and c.shape == (layers * D, B, H)
    for a, b in [(out, out_t), (h, h_t), (c, c_t)]:
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)

    ws = [rng.standard_normal(t.shape) for t in (out_t, h_t, c_t)]
    (sum(((a * w).sum() for a, w in zip((out, h, c), ws)), tr.Tensor(0.0, dtype=np.float64))).backward()
    sum((a * torch.tensor(w)).sum() for a, w in zip((out_t, h_t, c_t), ws)).backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    if hx:
        for a, b in zip(hxo, hxt):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-11)
    theirs = dict(tm.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs[name].grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


def test_fused_projected_lstm_equals_the_generic_path():
    """tr.nn.LSTM(proj_size=) fused (kernels generated from LSTMCell(proj_size=)) against fused=False with
    the same weights: outputs, states and every gradient, stacked, bidirectional, lengths, initial state;
    no warning (nothing falls back)."""
    kwargs = dict(num_layers=2, bidirectional=True, proj_size=2, dtype=np.float64)
    generic = tr.nn.LSTM(3, 4, fused=False, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fused = tr.nn.LSTM(3, 4, **kwargs)
    assert fused.fused
    fused.load_state_dict(generic.state_dict())
    rng = np.random.default_rng(3)
    x, lengths = rng.standard_normal((5, 3, 3)), np.array([5, 2, 4])
    hx = (rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 4)))
    results = []
    for layer in (fused, generic):
        xo, hxo = tr.Tensor(x, requires_grad=True), tuple(tr.Tensor(h, requires_grad=True) for h in hx)
        out, (h, c) = layer(xo, hxo, lengths=lengths)
        (out.sum() + (h * h).sum() + c.sum()).backward()
        results.append([out.data, h.data, c.data, xo.grad, *[t.grad for t in hxo]]
                       + [p.grad for _, p in layer.named_parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert "proj_size=2" in repr(fused)


# ----------------------------------------------------------------------------- the projected cell, fused
# tr.nn.LSTMCell(proj_size=P) in tr.nn.Recurrent: the generated kernels (fused=True) against the tape and
# against torch.nn.LSTM(proj_size=P) with the same weights. Sizes are fixed (each new size compiles a
# kernel); T, B, lengths, the initial state and the values are drawn.
I_, H_, P_ = 3, 5, 2
TOLERANCES = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


def _torch_to_cells(tm, layer, D):
    """torch.nn.LSTM's weight_ih_l{k}[_reverse]... as Recurrent's cells.{k * D + d}.weight_ih..."""
    state = {}
    for name, p in tm.named_parameters():
        base, _, rest = name.rpartition("_l")
        k, reverse = int(rest.split("_")[0]), rest.endswith("_reverse")
        state[f"cells.{k * D + int(reverse)}.{base}"] = p.detach().numpy()
    layer.load_state_dict(state)


def _run(layer, x, hx, lengths):
    xo = tr.Tensor(x, requires_grad=True)
    hxo = tuple(tr.Tensor(h, requires_grad=True) for h in hx) if hx else None
    out, (h, c) = layer(xo, hxo, lengths=lengths)
    return xo, hxo, out, h, c


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=6)
@given(layers=st.integers(1, 2), bidirectional=st.booleans(), with_hx=st.booleans(), use_lengths=st.booleans(),
       T=st.integers(1, 5), B=st.integers(1, 4), data=st.data())
def test_projected_cell_fused_matches_the_tape_and_torch(dtype, layers, bidirectional, with_hx, use_lengths, T, B,
                                                         data):
    D = 2 if bidirectional else 1
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, proj_size=P_, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback to the tape: the cell compiles
        ours = tr.nn.Recurrent(tr.nn.LSTMCell, I_, H_, **kwargs)
    assert ours.fused is True
    tm = torch.nn.LSTM(I_, H_, num_layers=layers, bidirectional=bidirectional, proj_size=P_).to(
        torch.float64 if dtype == np.float64 else torch.float32)
    _torch_to_cells(tm, ours, D)

    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((T, B, I_)).astype(dtype)
    hx = (rng.standard_normal((layers * D, B, P_)).astype(dtype),
          rng.standard_normal((layers * D, B, H_)).astype(dtype)) if with_hx else None
    lengths = np.array(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))) if use_lengths else None
    ws = [rng.standard_normal(s).astype(dtype) for s in ((T, B, D * P_), (layers * D, B, P_), (layers * D, B, H_))]

    runs = []
    for fused in (True, False):
        ours.fused = fused
        ours.zero_grad()
        xo, hxo, out, h, c = _run(ours, x, hx, lengths)
        assert out.dtype == dtype and h.shape == (layers * D, B, P_) and c.shape == (layers * D, B, H_)
        ((out * ws[0]).sum() + (h * ws[1]).sum() + (c * ws[2]).sum()).backward()
        grads = [xo.grad] + ([t.grad for t in hxo] if hx else []) + [p.grad.numpy().copy() for p in ours.parameters()]
        runs.append(([out.data, h.data, c.data], grads))

    xt = torch.tensor(x, requires_grad=True)
    hxt = tuple(torch.tensor(t, requires_grad=True) for t in hx) if hx else None
    if lengths is None:
        out_t, (h_t, c_t) = tm(xt, hxt)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
        out_t, (h_t, c_t) = tm(packed, hxt)
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, total_length=T)
    sum((a * torch.tensor(w)).sum() for a, w in zip((out_t, h_t, c_t), ws)).backward()
    theirs = dict(tm.named_parameters())
    torch_grads = [xt.grad.numpy()] + ([t.grad.numpy() for t in hxt] if hx else [])
    for name, _ in ours.named_parameters():  # cells.{k * D + d}.weight_ih -> weight_ih_l{k}[_reverse]
        i, base = int(name.split(".")[1]), name.split(".")[2]
        torch_grads.append(theirs[f"{base}_l{i // D}" + ("_reverse" if i % D else "")].grad.numpy())
    reference = ([t.detach().numpy() for t in (out_t, h_t, c_t)], torch_grads)

    tol = TOLERANCES[dtype]
    for what, other in (("the tape", runs[1]), ("torch", reference)):
        for k, (a, b) in enumerate(zip(runs[0][0] + runs[0][1], other[0] + other[1])):
            np.testing.assert_allclose(a, b, **tol, err_msg=f"fused vs {what}, value/gradient {k}")


def test_projected_cell_arguments():
    cell = tr.nn.LSTMCell(3, 5, proj_size=2)
    assert cell.sizes() == (2, 5) and cell.weight_hh.shape == (20, 2) and cell.weight_hr.shape == (2, 5)
    assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"]
    assert np.abs(cell.weight_hr.data).max() <= 1 / np.sqrt(5)  # torch's U(-1/sqrt(H), 1/sqrt(H))
    assert "proj_size=2" in repr(cell) and "weight_hr" not in dict(tr.nn.LSTMCell(3, 5).named_parameters())
    with pytest.raises(ValueError, match=r"LSTMCell: proj_size must be smaller than hidden_size \(5\), got 5"):
        tr.nn.LSTMCell(3, 5, proj_size=5)
    with pytest.raises(TypeError, match="LSTMCell: proj_size must be an int, got bool True"):
        tr.nn.LSTMCell(3, 5, proj_size=True)
    with pytest.raises(ValueError, match="LSTMCell: proj_size must be >= 0, got -1"):
        tr.nn.LSTMCell(3, 5, proj_size=-1)
    with pytest.raises(TypeError):  # keyword only: torch's LSTMCell has no proj_size to take a position from
        tr.nn.LSTMCell(3, 5, True, None, np.float32, 2)
