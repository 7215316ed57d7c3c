"""The hand-written Numba kernels of 0.1 (bench/peers/handwritten_kernels.py, the peer bench/compiled_cells.py
measures the generated kernels against: it must compute the same thing) and the runtime the generated
kernels share (tinygrad_rnn/kernels: blas, vecmath, workspace, the cache) as plain array functions,
against their slow twins:

  * a per-step numpy reference of the same equations, written here as plainly as possible;
  * central finite differences of the kernel itself, in float64, along random directions per argument;
  * torch.nn.RNN / GRU / LSTM with the same weights, outputs and every gradient (skipped without torch),
    with lengths through pack_padded_sequence(enforce_sorted=False) and reverse as the backward half of a
    bidirectional layer;
  * and the plumbing: dtype preservation, None cotangents, non-contiguous inputs, the BLAS fallback and
    Numba's on-disk cache (a second process must not compile).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bench.peers import handwritten_kernels as fused_rnn
from bench.peers.handwritten_kernels import GATES, rnn_backward, rnn_forward
from tinygrad_rnn.kernels import blas, runtime

MODES = ["rnn_tanh", "rnn_relu", "gru", "lstm"]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-5, np.float64: 1e-10}   # max-norm relative error allowed against a reference
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --- the numpy reference: one sequence, one step at a time ------------------------------------------

def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def ref_cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step of one sequence, straight from docs/learn/cells.md. Returns (h, c)."""
    gi = w_ih @ x + b_ih
    gh = w_hh @ h + b_hh
    if mode == "rnn_tanh":
        return np.tanh(gi + gh), c
    if mode == "rnn_relu":
        return np.maximum(gi + gh, 0), c
    if mode == "gru":
        ir, iz, i_n = np.split(gi, 3)
        hr, hz, h_n = np.split(gh, 3)
        r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
        n = np.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h, c
    i, f, g, o = np.split(gi + gh, 4)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def ref_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse):
    """Each sequence b runs over its own valid steps, in time order or reversed; padding stays 0."""
    n_steps, batch, _ = x.shape
    out = np.zeros(x.shape[:2] + h0.shape[1:], x.dtype)
    h_n = h0.copy()
    c_n = c0.copy() if c0 is not None else np.zeros_like(h0)
    for b in range(batch):
        length = n_steps if lengths is None else lengths[b]
        h, c = h_n[b], c_n[b]
        for t in (reversed(range(length)) if reverse else range(length)):
            h, c = ref_cell(mode, x[t, b], h, c, w_ih, w_hh, b_ih, b_hh)
            out[t, b] = h
        h_n[b], c_n[b] = h, c
    return out, h_n, (c_n if mode == "lstm" else None)


# --- problems -------------------------------------------------------------------------------------

def make_problem(mode, n_steps, batch, n_in, hidden, dtype, lengths, reverse, seed):
    rng = np.random.default_rng(seed)
    g = GATES[mode]
    scale = 1 / np.sqrt(hidden)

    def u(*shape):
        return rng.uniform(-1, 1, shape).astype(dtype)

    p = dict(mode=mode, x=u(n_steps, batch, n_in), h0=u(batch, hidden) * dtype(0.5),
             c0=u(batch, hidden) if mode == "lstm" else None,
             w_ih=u(g * hidden, n_in) * dtype(scale * 2), w_hh=u(g * hidden, hidden) * dtype(scale * 2),
             b_ih=u(g * hidden) * dtype(scale), b_hh=u(g * hidden) * dtype(scale),
             lengths=None if lengths is None else np.array(lengths, np.int64), reverse=reverse)
    cot = dict(dout=u(n_steps, batch, hidden), dh_n=u(batch, hidden),
               dc_n=u(batch, hidden) if mode == "lstm" else None)
    return p, cot


def forward(p):
    return rnn_forward(p["mode"], p["x"], p["h0"], p["c0"], p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"],
                       p["lengths"], p["reverse"])


def rel_err(a, ref):
    return float(np.max(np.abs(a - ref)) / max(float(np.max(np.abs(ref))), 1e-30)) if a.size else 0.0


def assert_close(a, ref, tol, what):
    assert a.shape == ref.shape, (what, a.shape, ref.shape)
    err = rel_err(np.asarray(a, np.float64), np.asarray(ref, np.float64))
    assert err <= tol, f"{what}: relative error {err:.2e} > {tol:.0e}"


@st.composite
def problems(draw, dtypes=DTYPES, modes=MODES):
    mode = draw(st.sampled_from(modes))
    n_steps = draw(st.integers(1, 7))
    batch = draw(st.integers(1, 4))
    lengths = draw(st.none() | st.lists(st.integers(1, n_steps), min_size=batch, max_size=batch))
    return make_problem(mode, n_steps, batch, draw(st.integers(1, 5)), draw(st.integers(1, 9)),
                        draw(st.sampled_from(dtypes)), lengths, draw(st.booleans()), draw(st.integers(0, 2 ** 32 - 1)))


def fixed(mode, n_steps, batch, dtype, lengths=None, reverse=False):
    return make_problem(mode, n_steps, batch, 3, 5, dtype, lengths, reverse, 7)


# --- forward against the numpy reference -----------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(problems())
@example(fixed("lstm", 1, 1, np.float64))
@example(fixed("gru", 1, 1, np.float32, reverse=True))
@example(fixed("rnn_relu", 5, 3, np.float64, lengths=[5, 1, 3], reverse=True))
def test_forward_matches_numpy_reference(prob):
    p, _ = prob
    out, h_n, c_n, _ = forward(p)
    ref = ref_forward(**{k: (v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v)
                         for k, v in p.items()})
    dtype = p["x"].dtype.type
    for name, a, r in [("out", out, ref[0]), ("h_n", h_n, ref[1]), ("c_n", c_n, ref[2])]:
        if r is None:
            assert a is None
            continue
        assert a.dtype == dtype, (name, a.dtype)
        assert_close(a, r, 10 * TOL[dtype], name)
    if p["lengths"] is not None:
        padded = np.arange(out.shape[0])[:, None] >= p["lengths"][None, :]
        assert np.all(out[padded] == 0)


# --- gradients against finite differences (float64) -----------------------------------------------

ARGS = ["x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"]


def loss(p, cot):
    out, h_n, c_n, _ = forward(p)
    total = np.sum(out * cot["dout"]) + np.sum(h_n * cot["dh_n"])
    return total + (np.sum(c_n * cot["dc_n"]) if c_n is not None else 0.0)


@settings(max_examples=25, deadline=None)
@given(problems(dtypes=[np.float64]))
@example(fixed("lstm", 1, 1, np.float64))
@example(fixed("gru", 4, 3, np.float64, lengths=[2, 4, 1], reverse=True))
def test_gradients_match_finite_differences(prob):
    p, cot = prob
    _, _, _, saved = forward(p)
    grads = dict(zip(ARGS, rnn_backward(p["mode"], saved, cot["dout"], cot["dh_n"], cot["dc_n"])))
    rng = np.random.default_rng(0)
    eps = 1e-6
    for name in ARGS:
        if p[name] is None:
            assert grads[name] is None
            continue
        assert grads[name].shape == p[name].shape and grads[name].dtype == np.float64
        v = rng.standard_normal(p[name].shape)
        plus, minus = dict(p), dict(p)
        plus[name], minus[name] = p[name] + eps * v, p[name] - eps * v
        numeric = (loss(plus, cot) - loss(minus, cot)) / (2 * eps)
        analytic = np.sum(grads[name] * v)
        assert abs(numeric - analytic) <= 1e-6 * (1 + abs(analytic)), (name, numeric, analytic)


def test_finite_difference_check_can_fail():
    """The check above is not vacuous: a wrong gradient (scaled by 1.001) is caught."""
    p, cot = fixed("lstm", 3, 2, np.float64)
    _, _, _, saved = forward(p)
    dw = rnn_backward("lstm", saved, cot["dout"], cot["dh_n"], cot["dc_n"])[4] * 1.001
    v = np.random.default_rng(1).standard_normal(dw.shape)
    plus, minus = dict(p), dict(p)
    plus["w_hh"], minus["w_hh"] = p["w_hh"] + 1e-6 * v, p["w_hh"] - 1e-6 * v
    numeric = (loss(plus, cot) - loss(minus, cot)) / 2e-6
    assert abs(numeric - np.sum(dw * v)) > 1e-6 * (1 + abs(numeric))


# --- against torch.nn ------------------------------------------------------------------------------

def torch_run(p, cot):
    """The same layer in torch: the reverse direction is the second half of a bidirectional layer."""
    torch = pytest.importorskip("torch")
    mode, reverse = p["mode"], p["reverse"]
    tdt = torch.float64 if p["x"].dtype == np.float64 else torch.float32
    n_steps, batch, n_in = p["x"].shape
    hidden = p["h0"].shape[1]
    cls = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}.get(mode, torch.nn.RNN)
    kw = {"nonlinearity": mode[4:]} if mode.startswith("rnn") else {}
    layer = cls(n_in, hidden, bidirectional=reverse, **kw).to(tdt)
    sfx = "_l0_reverse" if reverse else "_l0"
    with torch.no_grad():
        for name in ["w_ih", "w_hh", "b_ih", "b_hh"]:
            tname = ("weight_" if name[0] == "w" else "bias_") + name[2:] + sfx
            getattr(layer, tname).copy_(torch.from_numpy(p[name]))
    d = 1 + reverse                       # directions; ours is the last one
    t = {k: torch.from_numpy(p[k]).requires_grad_() for k in ["x", "h0"] + (["c0"] if mode == "lstm" else [])}
    h0 = torch.zeros(d, batch, hidden, dtype=tdt).index_copy(0, torch.tensor([d - 1]), t["h0"][None])
    hx = h0
    if mode == "lstm":
        hx = (h0, torch.zeros(d, batch, hidden, dtype=tdt).index_copy(0, torch.tensor([d - 1]), t["c0"][None]))
    x = t["x"]
    if p["lengths"] is not None:
        x = torch.nn.utils.rnn.pack_padded_sequence(x, torch.from_numpy(p["lengths"]), enforce_sorted=False)
    out, state = layer(x, hx)
    if p["lengths"] is not None:
        out = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=n_steps)[0]
    out = out[..., (d - 1) * hidden:]
    h_n, c_n = (state[0][d - 1], state[1][d - 1]) if mode == "lstm" else (state[d - 1], None)
    total = (out * torch.from_numpy(cot["dout"])).sum() + (h_n * torch.from_numpy(cot["dh_n"])).sum()
    if mode == "lstm":
        total = total + (c_n * torch.from_numpy(cot["dc_n"])).sum()
    total.backward()
    grads = [t["x"].grad, t["h0"].grad, t["c0"].grad if mode == "lstm" else None] + [
        getattr(layer, ("weight_" if n[0] == "w" else "bias_") + n[2:] + sfx).grad for n in ARGS[3:]]
    as_np = [None if g is None else g.detach().numpy() for g in grads]
    return [out.detach().numpy(), h_n.detach().numpy(), None if c_n is None else c_n.detach().numpy()], as_np


@settings(max_examples=30, deadline=None)
@given(problems())
@example(fixed("lstm", 1, 1, np.float32, reverse=True))
@example(fixed("lstm", 6, 4, np.float64, lengths=[6, 2, 1, 4], reverse=True))
@example(fixed("gru", 6, 4, np.float32, lengths=[3, 6, 1, 4]))
@example(make_problem("lstm", 5, 17, 3, 4, np.float64, [5, 1, 2, 5, 3, 4, 4, 1, 5, 2, 3, 1, 1, 5, 5, 2, 4], True, 3))
@example(make_problem("gru", 4, 16, 3, 4, np.float32, None, False, 5))           # 2 batch blocks when 2 threads
@example(make_problem("rnn_tanh", 3, 9, 2, 3, np.float32, None, False, 4))
def test_matches_torch(prob):
    p, cot = prob
    ref_outs, ref_grads = torch_run(p, cot)
    out, h_n, c_n, saved = forward(p)
    grads = rnn_backward(p["mode"], saved, cot["dout"], cot["dh_n"], cot["dc_n"])
    dtype = p["x"].dtype.type
    tol = TOL[dtype]
    for name, a, r in zip(["out", "h_n", "c_n"] + ARGS, [out, h_n, c_n, *grads], ref_outs + ref_grads):
        if r is None:
            assert a is None, name
            continue
        assert a.dtype == dtype, (name, a.dtype)
        assert_close(a, r, tol, name)


# --- plumbing --------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_none_cotangents_are_zeros(mode):
    p, cot = fixed(mode, 4, 3, np.float64, lengths=[4, 2, 3], reverse=True)
    _, _, _, saved = forward(p)
    zeros = {k: (None if v is None else np.zeros_like(v)) for k, v in cot.items()}
    a = rnn_backward(mode, saved, None, None, None)
    b = rnn_backward(mode, saved, zeros["dout"], zeros["dh_n"], zeros["dc_n"])
    only_dout = rnn_backward(mode, saved, cot["dout"], None, None)
    with_zero_states = rnn_backward(mode, saved, cot["dout"], zeros["dh_n"], zeros["dc_n"])
    for x, y, u, w in zip(a, b, only_dout, with_zero_states):
        if x is None:
            assert y is None and u is None and w is None
            continue
        assert np.all(x == 0) and np.all(y == 0)
        np.testing.assert_array_equal(u, w)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n_steps", [1, 4])
def test_no_initial_state_is_the_same_as_zero_states(mode, n_steps):
    """h0 = c0 = None starts from zeros without making them: the same numbers as explicit zero states,
    and the backward (which then skips the h0 term of dW_hh) still returns dh0 and dc0."""
    p, cot = fixed(mode, n_steps, 3, np.float64, lengths=[n_steps, 1, n_steps], reverse=True)
    p["h0"] = np.zeros_like(p["h0"])
    p["c0"] = None if p["c0"] is None else np.zeros_like(p["c0"])
    ref = forward(p)
    ref_grads = rnn_backward(mode, ref[3], cot["dout"], cot["dh_n"], cot["dc_n"])
    got = forward(dict(p, h0=None, c0=None))
    assert got[3].h0 is None and got[3].c0 is None
    for a, b in zip(got[:3], ref[:3]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    for a, b in zip(rnn_backward(mode, got[3], cot["dout"], cot["dh_n"], cot["dc_n"]), ref_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_backward_can_run_twice_and_ignores_padded_dout():
    p, cot = fixed("lstm", 5, 3, np.float64, lengths=[5, 2, 3])
    _, _, _, saved = forward(p)
    first = rnn_backward("lstm", saved, cot["dout"], cot["dh_n"], cot["dc_n"])
    noisy = cot["dout"].copy()
    noisy[np.arange(5)[:, None] >= p["lengths"][None, :]] = 1e6      # garbage at padded steps
    second = rnn_backward("lstm", saved, noisy, cot["dh_n"], cot["dc_n"])
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", MODES)
def test_non_contiguous_inputs(mode):
    p, cot = fixed(mode, 4, 3, np.float32, reverse=True)
    out, h_n, _, saved = forward(p)
    grads = rnn_backward(mode, saved, cot["dout"], cot["dh_n"], cot["dc_n"])
    q = dict(p)
    q["x"] = np.asfortranarray(p["x"])
    q["w_ih"] = np.ascontiguousarray(p["w_ih"].T).T                   # transposed view
    q["w_hh"] = np.asfortranarray(p["w_hh"])
    q["h0"] = np.repeat(p["h0"], 2, axis=1)[:, ::2]                     # strided view
    q["b_ih"] = np.repeat(p["b_ih"], 2)[::2]
    assert not q["h0"].flags.c_contiguous and not q["x"].flags.c_contiguous
    out2, h_n2, _, saved2 = forward(q)
    grads2 = rnn_backward(mode, saved2, np.asfortranarray(cot["dout"]), cot["dh_n"][:, ::-1][:, ::-1], cot["dc_n"])
    np.testing.assert_allclose(out2, out, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h_n2, h_n, rtol=1e-6, atol=1e-7)
    for a, b in zip(grads2, grads):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_batch_blocks_on_threads_agree_with_one_block(mode, monkeypatch):
    """The time loops split the batch into blocks run on parallel threads: 1, 2 and 3 blocks (and
    blocks of one row) must give the same numbers."""
    p, cot = make_problem(mode, 6, 7, 3, 5, np.float64, [6, 2, 1, 6, 3, 5, 4], True, 11)
    results = []
    for threads, min_rows in [(1, 1), (2, 4), (3, 1), (7, 1)]:
        monkeypatch.setattr(fused_rnn.blas, "num_threads", lambda threads=threads: threads)
        monkeypatch.setattr(fused_rnn, "MIN_ROWS_PER_THREAD", min_rows)
        monkeypatch.setattr(runtime, "MIN_ROWS_PER_THREAD", min_rows)
        monkeypatch.setitem(fused_rnn.blas._pool, "executor", None)
        out, h_n, c_n, saved = forward(p)
        grads = rnn_backward(mode, saved, cot["dout"], cot["dh_n"], cot["dc_n"])
        results.append([a for a in (out, h_n, c_n, *grads) if a is not None])
    for other in results[1:]:
        for a, b in zip(other, results[0]):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_workspace_reuses_only_arrays_nobody_holds(mode, monkeypatch):
    """With every array pooled (MIN_BYTES = 0), a second forward/backward must not touch the outputs and
    the `saved` of a first one that the caller still holds, and the numbers must equal the unpooled ones."""
    p, cot = fixed(mode, 5, 3, np.float64, lengths=[5, 2, 4], reverse=True)
    q, cot_q = fixed(mode, 5, 3, np.float64, lengths=[3, 5, 1])
    q["x"] = q["x"] + 1.0
    ref_out = forward(p)
    ref_grads = rnn_backward(mode, ref_out[3], cot["dout"], cot["dh_n"], cot["dc_n"])
    monkeypatch.setattr(fused_rnn.workspace, "MIN_BYTES", 0)
    fused_rnn.workspace.clear()
    try:
        first = forward(p)
        for _ in range(3):                       # reuse whatever the pool holds free, several times
            other = forward(q)
            rnn_backward(mode, other[3], cot_q["dout"], cot_q["dh_n"], cot_q["dc_n"])
            del other
        grads = rnn_backward(mode, first[3], cot["dout"], cot["dh_n"], cot["dc_n"])
        rnn_backward(mode, forward(q)[3], cot_q["dout"], cot_q["dh_n"], cot_q["dc_n"])
        for a, b in zip(first[:3] + grads, ref_out[:3] + ref_grads):
            if b is not None:
                np.testing.assert_array_equal(a, b)
    finally:
        fused_rnn.workspace.clear()


def test_cache_entries_are_dropped_when_inlined_sources_change(tmp_path):
    """Numba's cache watches only a function's own file; fused_rnn.py's entries must go when blas.py or
    vecmath.py (inlined into them) change, and stay while they do not."""
    from types import SimpleNamespace

    from tinygrad_rnn.kernels import drop_stale_cache
    fake = SimpleNamespace(_cache=SimpleNamespace(_cache_path=str(tmp_path)))
    entries = ["fused_rnn._lstm_forward_loop-192.py311.nbi", "fused_rnn._lstm_forward_loop-192.py311.1.nbc"]
    for name in entries + ["blas.gemm-200.py311.nbi"]:
        (tmp_path / name).write_text("x")
    assert drop_stale_cache(fake, "fused_rnn", "aaaa")            # no stamp yet: dropped, stamp written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blas.gemm-200.py311.nbi", "fused_rnn.deps"]
    for name in entries:
        (tmp_path / name).write_text("x")
    assert not drop_stale_cache(fake, "fused_rnn", "aaaa")        # same sources: the cache stays
    assert all((tmp_path / name).exists() for name in entries)
    assert drop_stale_cache(fake, "fused_rnn", "bbbb")            # a source changed: dropped again
    assert not any((tmp_path / name).exists() for name in entries)
    from tinygrad_rnn.kernels import source_digest
    stamp = os.path.join(fused_rnn._rnn_forward_loop._cache._cache_path, "handwritten_kernels.deps")
    with open(stamp) as f:                                        # and the real module keeps its stamp
        assert f.read() == source_digest("blas.py", "vecmath.py", "shared.py")


def test_workspace_hands_a_buffer_out_again_once_nothing_holds_it(monkeypatch):
    """The pool's whole point (a training step reuses the last step's memory) rests on knowing when
    nothing uses a buffer: a dropped array's buffer comes back, a held one (or a view of it) never."""
    from tinygrad_rnn.kernels import workspace
    monkeypatch.setattr(workspace, "MIN_BYTES", 0)
    workspace.clear()
    try:
        def address(a):
            return a.__array_interface__["data"][0]
        a = workspace.empty((10, 10), np.float64)
        first = address(a)
        del a
        b = workspace.empty((100,), np.float64)        # same size: the dropped buffer, reshaped
        assert address(b) == first
        c = workspace.zeros((10, 10), np.float64)      # b still holds it: a different buffer
        assert address(c) != first and not c.any()
        view = b[3:]
        del b
        assert address(workspace.empty((100,), np.float64)) != first   # a view keeps its buffer in use
        del view
        assert address(workspace.empty((100,), np.float64)) == first
    finally:
        workspace.clear()


@pytest.mark.parametrize("mode", MODES)
def test_broadcast_dout_and_no_dx(mode):
    """dout broadcast over time and batch (out.sum()'s VJP) is read as one row; need_dx=False skips dx only."""
    p, cot = fixed(mode, 4, 3, np.float64, lengths=[4, 1, 3])
    _, _, _, saved = forward(p)
    row = cot["dout"][0, 0]
    full = rnn_backward(mode, saved, np.ascontiguousarray(np.broadcast_to(row, (4, 3, 5))), cot["dh_n"], cot["dc_n"])
    bcast = rnn_backward(mode, saved, np.broadcast_to(row, (4, 3, 5)), cot["dh_n"], cot["dc_n"])
    no_dx = rnn_backward(mode, saved, np.broadcast_to(row, (4, 3, 5)), cot["dh_n"], cot["dc_n"], need_dx=False)
    assert no_dx[0] is None
    for a, b, c in zip(full, bcast, no_dx):
        if a is not None:
            np.testing.assert_array_equal(b, a)
            if c is not None:
                np.testing.assert_array_equal(c, a)


def test_rejects_bad_arguments():
    p, _ = fixed("lstm", 3, 2, np.float32)
    with pytest.raises(ValueError):
        forward({**p, "mode": "lstmx"})
    with pytest.raises(ValueError):
        forward({**p, "c0": None})
    with pytest.raises(TypeError):
        forward({**p, "w_hh": p["w_hh"].astype(np.float64)})
    with pytest.raises(ValueError):
        forward({**p, "w_ih": p["w_ih"][:, :2]})
    for bad in ([0, 3], [1, 4], [1, 2, 3]):
        with pytest.raises(ValueError):
            forward({**p, "lengths": np.array(bad)})


@pytest.mark.parametrize("dtype", DTYPES)
def test_vectorizable_sigmoid_and_tanh_are_accurate(dtype):
    """The kernels' own sigmoid/tanh (plain arithmetic so loops vectorize) stay within 2 ulp of the
    float64 truth, keep the dtype, and pass NaN and infinities through as numpy does."""
    import numba

    from tinygrad_rnn.kernels.vecmath import sigmoid, tanh

    @numba.njit(error_model="numpy")
    def apply(x, s, t):
        for j in range(x.shape[0]):
            s[j] = sigmoid(x[j])
            t[j] = tanh(x[j])

    x = np.concatenate([np.linspace(-30, 30, 60001), np.linspace(-1e-3, 1e-3, 2001), [-1e-30, 1e-30, 0.0, -0.0],
                        np.geomspace(1e-6, 80, 1000), -np.geomspace(1e-6, 80, 1000)]).astype(dtype)
    s, t = np.empty_like(x), np.empty_like(x)
    apply(x, s, t)
    assert s.dtype == dtype and t.dtype == dtype
    xd = x.astype(np.float64)
    eps = np.finfo(dtype).eps
    for got, want in [(s, 1 / (1 + np.exp(-xd))), (t, np.tanh(xd))]:
        rel = np.abs(got - want) / np.maximum(np.abs(want), np.finfo(dtype).tiny)
        assert rel.max() <= 2 * eps, rel.max() / eps
    np.testing.assert_array_equal(np.signbit(t[x == 0]), np.signbit(x[x == 0]))
    special = np.array([np.nan, np.inf, -np.inf, 1e4, -1e4], dtype)
    s, t = np.empty_like(special), np.empty_like(special)
    apply(special, s, t)
    np.testing.assert_array_equal(s, [np.nan, 1, 0, 1, 0])
    np.testing.assert_array_equal(t, [np.nan, 1, -1, 1, -1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 4, 5), (2, 300, 7), (1, 128, 512), (8, 64, 256), (64, 128, 96),
                                   (3, 0, 5), (43, 256, 520)])   # k = 0; ragged tiles where blas.SPLIT_GEMM
@pytest.mark.parametrize("beta", [0.0, 1.0, 0.5])
@pytest.mark.parametrize("name", ["gemm", "gemm_nn"])   # gemm_nn: BLAS calls only, no loop for a few rows
def test_gemm(dtype, shape, beta, name):
    m, k, n = shape
    rng = np.random.default_rng(3)
    a, b, c = (rng.standard_normal(s).astype(dtype) for s in [(m, k), (k, n), (m, n)])
    c0 = c.copy()
    getattr(blas, name)(a, b, c, beta)
    np.testing.assert_allclose(c, a @ b + beta * c0, rtol=TOL[dtype] * 100, atol=TOL[dtype] * 100 * k)
    assert c.dtype == dtype


_CHILD = r"""
import json, sys, numpy as np
from tinygrad_rnn.kernels import blas, runtime
from bench.peers import handwritten_kernels as fused_rnn
out = {}
for mode in ["rnn_tanh", "rnn_relu", "gru", "lstm"]:
    for dtype in [np.float32, np.float64]:
        rng = np.random.default_rng(5)
        G, T, B, I, H = fused_rnn.GATES[mode], 4, 3, 2, 5
        x = rng.standard_normal((T, B, I)).astype(dtype)
        h0 = rng.standard_normal((B, H)).astype(dtype)
        c0 = h0.copy() if mode == "lstm" else None
        w = [rng.standard_normal(s).astype(dtype) * dtype(0.3) for s in [(G * H, I), (G * H, H), (G * H,), (G * H,)]]
        o, h, c, saved = fused_rnn.rnn_forward(mode, x, h0, c0, *w, np.array([4, 1, 3]), True)
        grads = fused_rnn.rnn_backward(mode, saved, np.ones_like(o), None, None)
        out[mode + str(np.dtype(dtype))] = [float(o.sum())] + [float(g.sum()) for g in grads if g is not None]
loops = [getattr(fused_rnn, n) for n in dir(fused_rnn) if n.endswith("_loop")]
out["misses"] = sum(sum(f.stats.cache_misses.values()) for f in loops)
out["hits"] = sum(sum(f.stats.cache_hits.values()) for f in loops)
out["n_loops"] = len(loops)
out["blas"] = blas.BLAS_SOURCE
print(json.dumps(out))
"""


def _child(env_extra=None):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env_extra or {}))
    res = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_second_process_loads_from_cache_and_fallback_gemm_agrees():
    """Numba's cache must survive our BLAS binding (no address baked into the machine code): once
    compiled, a new process loads every loop kernel from disk. The loop gemm used when numpy's
    OpenBLAS cannot be found (forced here) gives the same numbers."""
    first = _child()                                  # compiles (or loads) and writes the cache
    second = _child()
    assert second["misses"] == 0 and second["hits"] == 2 * second["n_loops"] >= 12, second
    fallback = _child({"TINYGRAD_RNN_BLAS": "numba"})
    assert "Numba loop gemm" in fallback["blas"]
    for key, values in first.items():
        if key not in ("misses", "hits", "n_loops", "blas"):
            np.testing.assert_allclose(fallback[key], values, rtol=1e-4 if "32" in key else 1e-12)
