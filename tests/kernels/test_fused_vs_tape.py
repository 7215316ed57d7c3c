"""The fused Numba path and the generic tape give the same numbers: outputs, final states and every
gradient, over drawn sizes, layers, directions, lengths and dtypes. Each path checks the other."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.nn.fused import fused_available

pytestmark = pytest.mark.skipif(not fused_available(), reason="numba kernels unavailable")

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=2e-5)}


def run(layer, x, hx, lengths, r_out, r_h):
    x = tr.Tensor(x, requires_grad=True)
    hx = tuple(tr.Tensor(h, requires_grad=True) for h in hx) if hx is not None else None
    layer.zero_grad()
    out, h_n = layer(x, (hx if len(hx) > 1 else hx[0]) if hx else None, lengths=lengths)
    h_n = h_n if isinstance(h_n, tuple) else (h_n,)
    loss = (out * r_out).sum()
    for h, r in zip(h_n, r_h):
        loss = loss + (h * r).sum()
    loss.backward()
    grads = {"x": x.grad, **{f"hx{k}": h.grad for k, h in enumerate(hx or ())}}
    grads.update({n: p.grad for n, p in layer.named_parameters()})
    return [out.data] + [h.data for h in h_n], grads


# Sizes from small sets: each (cell, input size, hidden size, dtype) is a kernel of its own, compiled once
# (seconds); what varies freely is what a kernel takes at run time (T, B, lengths, states).
@settings(max_examples=25)
@given(kind=st.sampled_from(["LSTM", "GRU", "RNN-tanh", "RNN-relu"]), dtype=st.sampled_from([np.float64, np.float32]),
       layers=st.integers(1, 2), bidirectional=st.booleans(), batch_first=st.booleans(), bias=st.booleans(),
       T=st.integers(1, 7), B=st.integers(1, 5), I=st.sampled_from([1, 4]), H=st.sampled_from([1, 5]),
       use_lengths=st.booleans(), with_hx=st.booleans(), data=st.data())
def test_fused_equals_tape(kind, dtype, layers, bidirectional, batch_first, bias, T, B, I, H, use_lengths, with_hx,
                           data):
    name, _, nonlin = kind.partition("-")
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias, dtype=dtype)
    if nonlin:
        kwargs["nonlinearity"] = nonlin
    seed = data.draw(st.integers(0, 2**16))
    tr.manual_seed(seed)
    fused = getattr(tr.nn, name)(I, H, fused=True, **kwargs)
    tape = getattr(tr.nn, name)(I, H, fused=False, **kwargs)
    tape.load_state_dict(fused.state_dict())
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I)).astype(dtype)
    D = 2 if bidirectional else 1
    n_state = 2 if name == "LSTM" else 1
    hx = [rng.standard_normal((layers * D, B, H)).astype(dtype) for _ in range(n_state)] if with_hx else None
    lengths = np.array(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))) if use_lengths else None
    r_out = rng.standard_normal((B, T, D * H) if batch_first else (T, B, D * H)).astype(dtype)
    r_h = [rng.standard_normal((layers * D, B, H)).astype(dtype) for _ in range(n_state)]

    outs_f, grads_f = run(fused, x, hx, lengths, r_out, r_h)
    outs_t, grads_t = run(tape, x, hx, lengths, r_out, r_h)
    for a, b in zip(outs_f, outs_t):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **TOL[dtype])
    assert grads_f.keys() == grads_t.keys()
    for k in grads_f:
        assert grads_f[k].dtype == dtype, k
        np.testing.assert_allclose(grads_f[k], grads_t[k], err_msg=k, **TOL[dtype])


def test_fused_layer_is_one_node_per_direction():
    layer = tr.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    out, _ = layer(tr.Tensor(np.ones((6, 2, 3), np.float32)))
    kinds = []
    stack = [out.node]
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        kinds.append(node.name())
        stack.extend(e[0] for e in node.parents if type(e) is tuple)
    assert kinds.count("CompiledRecurrence") == 4  # 2 layers x 2 directions, no per-step nodes
    assert len(kinds) < 12


def test_retain_states_uses_the_tape_by_documented_rule():
    layer = tr.nn.GRU(2, 3)
    out, _ = layer(tr.Tensor(np.ones((5, 1, 2), np.float32)), retain_states=True)
    assert len(layer.states[(0, 0)]) == 5  # per-step tensors exist only on the generic path
    assert out.node.name() != "CompiledRecurrence"


def test_fused_gradients_are_kept_without_copies_and_still_accumulate():
    """The fused node's backward makes every gradient array afresh (Primitive.fresh_grads), so the tape
    keeps them as the weights' .grad without copying: each must still be its own array, and a second
    backward must add into it, not replace it or write into another weight's gradient."""
    import itertools

    tr.manual_seed(0)
    layer = tr.nn.LSTM(3, 4)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32))
    layer(x)[0].sum().backward()
    once = {n: p.grad.numpy().copy() for n, p in layer.named_parameters()}
    for (_, p), (_, q) in itertools.combinations(layer.named_parameters(), 2):
        assert not np.shares_memory(p.grad, q.grad)
    layer(x)[0].sum().backward()
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[n], rtol=1e-6, err_msg=n)


@pytest.mark.parametrize("fused", [True, False])
def test_weight_changed_between_forward_and_backward_is_named_without_anomaly_mode(fused):
    layer = tr.nn.GRU(3, 4, fused=fused)
    loss = layer(tr.Tensor(np.ones((4, 2, 3), np.float32)))[0].sum()
    layer.weight_hh_l0.bump_version()  # what an optimizer step does
    with pytest.raises(tr.InplaceModificationError) as e:
        loss.backward()
    assert "Parameter of shape (12, 4)" in str(e.value)
    if fused:  # inputs of the fused node: x, weight_ih, weight_hh, bias_ih, bias_hh
        assert "input 2 of CompiledRecurrence" in str(e.value)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_a_batch_of_no_sequences_is_accepted_by_both_paths(kind):
    """B = 0 (an empty last batch, say): both paths give empty outputs and zero weight gradients."""
    for fused in (True, False):
        layer = getattr(tr.nn, kind)(3, 4, num_layers=2, bidirectional=True, fused=fused)
        x = tr.Tensor(np.zeros((5, 0, 3), np.float32), requires_grad=True)
        out, h = layer(x, lengths=[])
        assert out.shape == (5, 0, 8)
        assert (h[0] if kind == "LSTM" else h).shape == (4, 0, 4)
        out.sum().backward()
        assert x.grad.shape == (5, 0, 3)
        for name, p in layer.named_parameters():
            assert p.grad is not None and not p.grad.any(), (fused, name)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN-relu"])
@pytest.mark.parametrize("loss", ["sum", "sum over time", "sum over batch"])
def test_broadcast_output_gradients_equal_the_tape(kind, loss):
    """The gradient of out.sum() reaches the layer as one row broadcast over time and batch (of a sum over
    one axis, broadcast over that axis): the kernels read it in place (node._dout_rows), with lengths, in
    both directions, as the tape does with the full array."""
    name, _, nonlin = kind.partition("-")
    kwargs = dict(bidirectional=True, dtype=np.float64, **({"nonlinearity": nonlin} if nonlin else {}))
    tr.manual_seed(3)
    fused = getattr(tr.nn, name)(4, 5, fused=True, **kwargs)
    tape = getattr(tr.nn, name)(4, 5, fused=False, **kwargs)
    tape.load_state_dict(fused.state_dict())
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 3, 4))
    r = {"sum": None, "sum over time": rng.standard_normal((3, 10)), "sum over batch": rng.standard_normal((6, 10))}
    results = []
    for layer in (fused, tape):
        for lengths in (None, np.array([6, 2, 4])):
            xt = tr.Tensor(x, requires_grad=True)
            layer.zero_grad()
            out, _ = layer(xt, lengths=lengths)
            if loss == "sum":
                total = out.sum()
            else:
                total = (out.sum(dim=0 if loss == "sum over time" else 1) * tr.Tensor(r[loss])).sum()
            total.backward()
            results.append([xt.grad] + [p.grad for p in layer.parameters()])
    for a, b in zip(results[:2], results[2:]):
        for ga, gb in zip(a, b):
            np.testing.assert_allclose(ga, gb, **TOL[np.float64])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_the_same_seed_gives_both_paths_the_same_dropout_and_later_draws(kind):
    """The fused path's first call builds each layer-direction's cell, whose own random weights are
    replaced by the layer's: drawing them moved the library's generator, so under one seed fused=True
    and fused=False drew other dropout masks and initialised the next module differently."""
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    got = {}
    for fused in (True, False):
        tr.manual_seed(0)
        layer = getattr(tr.nn, kind)(3, 4, num_layers=2, dropout=0.5, dtype=np.float64, fused=fused)
        outs = [layer(tr.Tensor(x))[0].data for _ in range(2)]
        got[fused] = outs + [tr.nn.Linear(3, 3).weight.data]
    for a, b in zip(got[True], got[False]):
        np.testing.assert_allclose(a, b, **TOL[np.float64])
