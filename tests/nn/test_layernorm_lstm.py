"""Reductions along the feature axis in generated kernels, and the layer-normalised LSTM built on them.

The reduction rows of compile/rules.py against primitives.py; LayerNormLSTMCell against its equations
in plain numpy; its generated kernels against the generic tape (outputs, final states, every gradient);
and tr.gradcheck (finite differences) in every layer configuration, fused and on the tape.
"""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile.rules import REDUCTIONS, numpy_namespace, substitute

pytest.importorskip("numba")
F64 = np.float64


# ----------------------------------------------------------------------------- the reduction rows
def _run_reduction(rule, a, g, dtype):
    """The row evaluated as the kernels do: accumulate column by column, then each column's VJP."""
    env = numpy_namespace(dtype)
    acc = {name: np.full(a.shape[0], eval(start, env), dtype) for name, start in zip(rule.accumulators, rule.start)}
    names = {k: k for k in ("g", "a", "out", "col", *acc)}   # col: the column's index in the dtype (codegen.COLUMN)
    for j in range(a.shape[1]):
        for name, expr in rule.update:
            acc[name] = eval(substitute(expr, names), env, dict(acc, a=a[:, j], col=dtype(j)))
    out = acc[rule.accumulators[0]]
    grads = np.stack([eval(substitute(rule.vjp, names), env, dict(acc, g=g, a=a[:, j], out=out, col=dtype(j)))
                      for j in range(a.shape[1])], axis=1)
    return out[:, None], grads


@pytest.mark.parametrize("prim", list(REDUCTIONS), ids=lambda p: p.__name__)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reduction_rows_match_primitives(prim, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 9)).astype(dtype)
    a[1, 3] = a[1, 7] = a[1].max() + 1          # a tie for the max: the gradient is shared (FirstMax: to 3)
    a[2] = 0.5                                   # all tied
    a[3, 4] = a[3, 6] = np.nan                   # NaN is the max, at its first column (FirstMax: 4)
    g = rng.standard_normal(6).astype(dtype)
    with np.errstate(invalid="ignore"):   # the NaN row: amax's gradient is 0 / 0 there, on the tape as well
        out, saved = prim.forward(a, axis=1, keepdims=True)
        (ref,) = prim.backward(g[:, None], saved, (True,), axis=1, keepdims=True)
        got_out, got_grad = _run_reduction(REDUCTIONS[prim], a, g, dtype)
    tol = dict(rtol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_out, out, **tol)
    np.testing.assert_allclose(got_grad, np.broadcast_to(ref, a.shape), **tol)


# ----------------------------------------------------------------------------- the cell
def _sig(a):
    return 1 / (1 + np.exp(-a))


def _ln(z, gain, bias=0.0, eps=1e-5):
    mu = z.mean(-1, keepdims=True)
    return gain * (z - mu) / np.sqrt(z.var(-1, keepdims=True) + eps) + bias


@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_layer_norm_lstm_matches_its_equations(eps):
    # eps = 0.5: every one of the three norms must use the cell's eps (the two gate norms once kept 1e-5)
    rng = np.random.default_rng(0)
    cell = tr.nn.LayerNormLSTMCell(3, 4, eps=eps, dtype=F64)
    for p in cell.parameters():
        p._data[...] += rng.uniform(-0.3, 0.3, p.shape)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    gates = (_ln(x @ cell.weight_ih._data.T, cell.gain_ih._data, eps=eps)
             + _ln(h @ cell.weight_hh._data.T, cell.gain_hh._data, eps=eps) + cell.bias._data)
    i, f, g, o = np.split(gates, 4, axis=1)
    c2 = _sig(f) * c + _sig(i) * np.tanh(g)
    h2 = _sig(o) * np.tanh(_ln(c2, cell.gain_c._data, cell.bias_c._data, eps))
    hh, cc = cell(tr.Tensor(x), (tr.Tensor(h), tr.Tensor(c)))
    np.testing.assert_allclose(hh._data, h2, rtol=1e-12)
    np.testing.assert_allclose(cc._data, c2, rtol=1e-12)


def _perturbed_layer(dtype, I, H, **kwargs):
    """A layer with gains and shifts moved off their initial 1 and 0, so their gradients matter."""
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=dtype, **kwargs)
    rng = np.random.default_rng(1)
    for p in layer.parameters():
        p._data[...] += rng.uniform(-0.3, 0.3, p.shape).astype(dtype)
    return layer


def _step(layer, xd, lengths, fused):
    layer.fused = fused
    layer.zero_grad()
    x = tr.Tensor(xd, requires_grad=True)
    out, (h, c) = layer(x, lengths=lengths)
    rng = np.random.default_rng(2)
    loss = out.sum() * 0.0
    for v in (out, h, c):
        loss = loss + (v * rng.standard_normal(v.shape).astype(xd.dtype)).sum()
    loss.backward()
    return [out._data, h._data, c._data], {"x": x.grad, **{n: p.grad for n, p in layer.named_parameters()}}


def _backward_twice(layer, xd, fused):
    """The parameters' gradients after a backward with retain_graph=True, and after a second one."""
    layer.fused = fused
    layer.zero_grad()
    out, (h, c) = layer(tr.Tensor(xd))
    loss = (out * out).sum() + h.sum() * 0.5 + c.sum()
    loss.backward(retain_graph=True)
    once = [p.grad.numpy().copy() for p in layer.parameters()]
    loss.backward()
    return once, [p.grad.numpy().copy() for p in layer.parameters()]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_norm_lstm_generated_equals_tape(dtype):
    # float32: one layer of 4 units (over 2 units, layer norm is nearly a sign function: too ill-conditioned
    # for float32 rounding to stay at 1e-5)
    I, H, layers = (2, 2, 2) if dtype == np.float64 else (4, 4, 1)
    layer = _perturbed_layer(dtype, I=I, H=H, num_layers=layers, bidirectional=True)
    xd = np.random.default_rng(3).standard_normal((5, 3, I)).astype(dtype)
    for lengths in (None, np.array([5, 2, 4])):
        v_gen, g_gen = _step(layer, xd, lengths, True)
        v_tape, g_tape = _step(layer, xd, lengths, False)
        if dtype == np.float64:
            for a, b in zip(v_gen, v_tape):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
            for name in g_tape:
                np.testing.assert_allclose(g_gen[name], g_tape[name], rtol=1e-10, atol=1e-12, err_msg=name)
        else:   # layer norm's backward amplifies float32 rounding: both sides are compared at their scale
            for name, a, b in [("values", np.concatenate([v.ravel() for v in v_gen]),
                                np.concatenate([v.ravel() for v in v_tape]))] + \
                    [(n, g_gen[n], g_tape[n]) for n in g_tape]:
                assert np.abs(a - b).max() <= 2e-5 * np.abs(b).max(), name


def test_layer_norm_lstm_backward_twice_keeps_its_saved_rows_until_the_last():
    """The layer-norm LSTM's backward writes dXW and dC over the projection and the recurrent products it
    read (Kernel.consumed), but only in a backward after which the tape frees them: with
    retain_graph=True the first backward leaves them for the second, which adds the same gradients again.
    Both against the tape's."""
    from tinygrad_rnn.compile.node import get_kernel
    layer = _perturbed_layer(F64, I=3, H=4, num_layers=2, bidirectional=True)
    assert {c.grad for c in get_kernel(layer._cell(0, 0), F64)[0].consumed} == {"dXW0", "dC0"}
    xd = np.random.default_rng(6).standard_normal((6, 5, 3))
    grads = [_backward_twice(layer, xd, fused) for fused in (True, False)]
    for (once, twice), (tape_once, _) in zip(zip(*grads[0]), zip(*grads[1])):
        np.testing.assert_allclose(once, tape_once, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(twice, 2 * tape_once, rtol=1e-10, atol=1e-12)


class _SharingSpy:
    """A kernel's module whose `backward` records, per call, whether each consumed gradient array shares the
    memory of the forward array it may overwrite (Kernel.consumed)."""

    def __init__(self, kernel):
        self.module, self.kernel, self.shared = kernel.module, kernel, []

    def __getattr__(self, name):
        fn = getattr(self.module, name)
        if name != "backward":
            return fn

        def backward(*args):
            named = dict(zip([a.name for a in self.kernel.backward_args], args))
            self.shared.append(all(np.shares_memory(named[c.grad], named[c.read]) for c in self.kernel.consumed))
            return fn(*args)
        return backward


@pytest.mark.parametrize("checkpoint, T", [(2, 7), (3, 7), (True, 40)])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_layer_norm_lstm_checkpointed_pieces_write_gradients_over_their_rows(monkeypatch, checkpoint, T, n_threads):
    """checkpoint=: each piece's backward writes dXW and dC over the piece's own XW and C (its arrays serve
    that backward once: a stored piece's are dropped, a rerun's are its own), on one thread and on the
    2-thread overlapped pieces. Values against the tape, also backing twice through one graph
    (retain_graph=True: the second backward reruns the pieces)."""
    from tinygrad_rnn.compile.node import get_kernel
    from tinygrad_rnn.kernels import blas, runtime
    before = blas.num_threads()
    monkeypatch.setattr(runtime, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(runtime, "MIN_ROWS_PER_THREAD", 1)
    tr.set_num_threads(n_threads)
    try:
        layer = _perturbed_layer(F64, I=3, H=4, bidirectional=True, checkpoint=checkpoint)
        spies = [_SharingSpy(get_kernel(layer._cell(0, d), F64)[0]) for d in (0, 1)]
        for spy in spies:
            monkeypatch.setattr(spy.kernel, "module", spy)
        xd = np.random.default_rng(7).standard_normal((T, 4, 3))
        grads = [_backward_twice(layer, xd, fused) for fused in (True, False)]
    finally:
        tr.set_num_threads(before)
    shared = [s for spy in spies for s in spy.shared]
    assert shared and all(shared), shared
    for (once, twice), (tape_once, _) in zip(zip(*grads[0]), zip(*grads[1])):
        np.testing.assert_allclose(once, tape_once, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(twice, 2 * tape_once, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("use_lengths", [False, True])
def test_layer_norm_lstm_gradcheck(layers, bidirectional, use_lengths):
    layer = _perturbed_layer(F64, I=2, H=2, num_layers=layers, bidirectional=bidirectional)
    rng = np.random.default_rng(4)
    x = tr.Tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    D = 2 if bidirectional else 1
    hx = [tr.Tensor(rng.standard_normal((layers * D, 2, 2)) * 0.5, requires_grad=True) for _ in range(2)]
    lengths = np.array([3, 1]) if use_lengths else None
    for fused in ([True, False] if (layers, bidirectional, use_lengths) == (1, True, True) else [True]):
        layer.fused = fused
        assert tr.gradcheck(lambda x, h, c, *params: layer(x, (h, c), lengths=lengths),
                            [x, *hx, *layer.parameters()])


@pytest.mark.parametrize("extra", [dict(bias=False), dict(checkpoint=2), dict(checkpoint=3)], ids=str)
@pytest.mark.parametrize("fused", [True, False])
def test_layer_norm_lstm_gradcheck_without_bias_and_checkpointed(extra, fused):
    """The configurations the test above leaves out: no bias (another kernel), and BPTT recomputing its
    segments (issue 17: K dividing T and not, on both paths)."""
    layer = _perturbed_layer(F64, I=2, H=2, fused=fused, **extra)
    rng = np.random.default_rng(5)
    x = tr.Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    hx = [tr.Tensor(rng.standard_normal((1, 2, 2)) * 0.5, requires_grad=True) for _ in range(2)]
    assert tr.gradcheck(lambda x, h, c, *params: layer(x, (h, c), lengths=np.array([4, 3])),
                        [x, *hx, *layer.parameters()])


def _splits_spied(monkeypatch):
    """Record which split each generated loop ran on: ("pipelined", loop name) for runtime.backward_pipelined,
    ("blocks", loop name, edges) for runtime.run_blocks and runtime.forward_blocks_pipelined."""
    from tinygrad_rnn.kernels import runtime
    ran = []

    def spy(label, fn, with_edges):
        def run(loop, batch, threads, *rest):
            edges = runtime.block_edges(batch, threads, rest[-1]) if with_edges else None
            ran.append((label, getattr(loop, "__name__", ""), edges))
            return fn(loop, batch, threads, *rest)
        return run

    monkeypatch.setattr(runtime, "backward_pipelined", spy("pipelined", runtime.backward_pipelined, False))
    monkeypatch.setattr(runtime, "run_blocks", spy("blocks", runtime.run_blocks, True))
    monkeypatch.setattr(runtime, "forward_blocks_pipelined", spy("blocks", runtime.forward_blocks_pipelined, True))
    return ran


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("extra", [{}, dict(checkpoint=3)], ids=str)
@pytest.mark.parametrize("lengths", [None, [9, 9, 7, 6, 5, 3, 2, 1]], ids=["full", "padded"])
def test_layer_norm_lstm_backward_pipelines_at_two_threads(monkeypatch, dtype, extra, lengths):
    """At (I, H) = (32, 64) (python -m bench's 1000x8x32x64) the layer-norm LSTM's forward loop runs on two
    batch blocks of 4 rows (node.is_loop_heavy) and, without padding, its backward pipelined against the
    weight gradients (under runtime.LOOP_HEAVY_BACKWARD: measured faster, bench/schedule_ab.py); padded, on
    blocks. Bidirectional, checkpointed or not (the pieces overlap at 2 threads: values only), float64 and
    float32: outputs and every gradient at 1 and 2 threads against the generic tape."""
    from tinygrad_rnn.compile import node
    from tinygrad_rnn.kernels import blas, runtime
    layer = _perturbed_layer(dtype, I=32, H=64, bidirectional=True, **extra)
    kernel = node.get_kernel(layer._cell(0, 0), dtype)[0]
    assert kernel.loop_heavy and not kernel.backward_heavy
    xd = np.random.default_rng(8).standard_normal((9, 8, 32)).astype(dtype)
    lens = None if lengths is None else np.array(lengths)
    before = blas.num_threads()
    monkeypatch.setattr(runtime, "PARALLEL_MIN_MACS", 0)
    ran = _splits_spied(monkeypatch)
    try:
        results = {}
        for n_threads in (1, 2):
            tr.set_num_threads(n_threads)
            results[n_threads] = _step(layer, xd, lens, True)
    finally:
        tr.set_num_threads(before)
    tape = _step(layer, xd, lens, False)
    if not extra:   # (checkpointed pieces overlap at 2 threads instead: segments.py, not these splits)
        backward = {label for label, name, _ in ran if name == "backward"}
        assert backward == ({"pipelined"} if lengths is None else {"blocks"}), ran
        assert [edges for label, name, edges in ran if name == "forward"] == [[0, 4, 8]] * 2, ran
    for values, grads in results.values():
        _assert_close(values, tape[0], grads, tape[1], dtype)


def _assert_close(values, tape_values, grads, tape_grads, dtype):
    """Outputs and gradients against the tape's: float64 to 1e-10; float32 at each array's scale (layer
    norm's backward amplifies float32 rounding, as in test_layer_norm_lstm_generated_equals_tape)."""
    pairs = [("values", a, b) for a, b in zip(values, tape_values)] + [(n, grads[n], tape_grads[n]) for n in tape_grads]
    for name, a, b in pairs:
        if dtype == np.float64:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12 * np.abs(b).max(), err_msg=name)
        else:
            assert np.abs(a - b).max() <= 2e-5 * np.abs(b).max(), name


def test_layer_norm_lstm_backward_stays_on_blocks_at_three_threads(monkeypatch):
    """At 3+ threads the blocks keep splitting a heavy loop and the pipeline does not, so the backward keeps
    its blocks there (runtime.LOOP_HEAVY_BACKWARD applies at 2 threads): 12 rows, three blocks of 4. Values
    against the tape."""
    from tinygrad_rnn.kernels import blas, runtime
    layer = _perturbed_layer(F64, I=32, H=64)
    xd = np.random.default_rng(9).standard_normal((6, 12, 32))
    before = blas.num_threads()
    monkeypatch.setattr(runtime, "PARALLEL_MIN_MACS", 0)
    ran = _splits_spied(monkeypatch)
    try:
        tr.set_num_threads(3)
        values, grads = _step(layer, xd, None, True)
    finally:
        tr.set_num_threads(before)
    assert [(label, edges) for label, name, edges in ran if name == "backward"] == [("blocks", [0, 4, 8, 12])], ran
    tape = _step(layer, xd, None, False)
    _assert_close(values, tape[0], grads, tape[1], F64)
