"""LSTM(proj_size=) against torch.nn.LSTM after loading its state_dict (weight_hr_l{k} included):
outputs, (h_n, c_n) and every gradient, in float64, stacked, bidirectional, batch-first, with
initial states and lengths. The fused kernels do not project yet: fused=True runs the generic path
with a warning, checked below."""
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


def test_fused_projection_falls_back_with_a_warning():
    with pytest.warns(RuntimeWarning, match="fused kernels do not support proj_size yet"):
        layer = tr.nn.LSTM(3, 4, proj_size=2, dtype=np.float64)
    assert not layer.fused
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr.nn.LSTM(3, 4, proj_size=2, fused=False)  # asked for the generic path: no warning
        out, (h, c) = layer(tr.Tensor(np.ones((5, 2, 3))))  # and the forward itself does not warn again
    assert out.shape == (5, 2, 2) and h.shape == (1, 2, 2) and c.shape == (1, 2, 4)
    assert "proj_size=2" in repr(layer)
