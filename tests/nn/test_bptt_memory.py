"""BPTT under a memory budget: the planner's plans stay within their budget (property tests), and
every checkpointing policy of every recurrent layer gives the gradients of storing every step
(float64, 1e-12 relative), on the fused path and the generic tape; peak memory drops (tracemalloc)."""
import gc
import math
import re
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.kernels import workspace
from tinygrad_rnn.nn import bptt_plan as bp

RTOL = 1e-12


# ----------------------------------------------------------------------------- the planner
def _covers(plan, T):
    assert sum(p.steps for p in plan) == T and all(p.steps >= 1 for p in plan)
    assert all(type(p) is bp.Recomputed for p in plan[:-1])
    for p in plan:
        if type(p) is bp.Recomputed:
            _covers(p.inner, p.steps)


@given(T=st.integers(1, 3000), state=st.integers(1, 5000), step=st.integers(1, 20000),
       fraction=st.floats(0.0, 1.2), data=st.data())
def test_a_budget_plan_never_exceeds_its_budget_and_covers_the_sequence(T, state, step, fraction, data):
    budget = max(1, int(fraction * T * step))
    blocks = data.draw(st.sampled_from([16, 128]))
    try:
        plan = bp.budget_plan(T, budget, state, step, max_blocks=blocks)
    except ValueError as e:
        assert "too small" in str(e)
        assert budget < bp._flat_minimum(T, state, step)[0]  # refused only when no flat plan fits either
        return
    _covers(plan, T)
    assert bp.plan_memory(plan, state, step) <= budget
    if T * step <= budget:  # enough for everything: everything is stored, nothing recomputed
        assert plan == (bp.Stored(T),) and bp.plan_cost(plan) == T


@given(T=st.integers(2, 60), state=st.integers(1, 3), step=st.integers(1, 4), K=st.integers(1, 60))
def test_the_dynamic_program_is_no_costlier_than_checkpoint_K_at_its_memory(T, state, step, K):
    """Single-step blocks and 1-byte units (small sizes): the DP is exact, and checkpoint=K's plan is
    one of those it searches, so at that plan's memory it must cost no more."""
    flat = bp.uniform_plan(T, K)
    _covers(flat, T)
    memory = bp.plan_memory(flat, state, step)
    plan = bp.budget_plan(T, memory, state, step, max_blocks=64, units_per_block=16)
    assert bp.plan_memory(plan, state, step) <= memory
    assert bp.plan_cost(plan) <= bp.plan_cost(flat)


@given(T=st.integers(1, 3000), K=st.integers(1, 80), stored=st.integers(1, 4),
       state=st.integers(1, 5000), step=st.integers(1, 20000))
def test_a_uniform_plan_stores_its_whole_last_pieces_and_its_model_is_the_planners(T, K, stored, state, step):
    """checkpoint=K (and True, which stores more pieces): pieces of K, the short one first, the last
    `stored` pieces one Stored piece; its memory in the model is what the planner's flat chains count
    (_flat_minimum), and every step not in the tail is rerun once."""
    plan = bp.uniform_plan(T, K, stored)
    _covers(plan, T)
    tail = min(T, stored * K)
    assert plan[-1] == bp.Stored(tail)
    assert all(p.steps == K for p in plan[1:-1]) and 1 <= plan[0].steps <= max(K, tail)
    assert bp.plan_cost(plan) == 2 * T - tail
    n = -(-T // K)
    if stored == 1:
        assert bp.plan_memory(plan, state, step) == (n - 1) * state + min(K, T) * step
    else:
        assert bp.plan_memory(plan, state, step) == max(0, len(plan) - 1) * state + tail * step


def test_sqrt_plan_memory_and_cost_against_the_budget_plan():
    T, state, step = 1000, 64 * 1024, 360 * 1024  # a fused LSTM at B=32, H=I=256, float32
    root = bp.sqrt_plan(T)
    K = math.ceil(math.sqrt(T))
    tail = math.floor(bp.SQRT_STORED_PIECES * K)
    assert root[-1] == bp.Stored(tail)  # the last steps stored: never rerun
    assert bp.stored_states(root) == math.ceil((T - tail) / K)
    assert bp.plan_memory(root, state, step) < 0.1 * T * step  # ~sqrt(T) states and 2.75 sqrt(T) steps
    assert bp.plan_cost(root) == 2 * T - tail  # one more forward pass, less the tail
    half = bp.budget_plan(T, T * step // 2, state, step)
    assert bp.plan_cost(half) < 1.55 * T  # half the memory: about half the sequence recomputed
    least = bp.plan_memory(bp.uniform_plan(T, K), state, step)  # about the least a flat plan keeps
    tight = bp.budget_plan(T, least // 3, state, step)  # below it plans nest
    assert bp.plan_depth(tight) >= 2 and bp.plan_memory(tight, state, step) <= least // 3


# ----------------------------------------------------------------------------- gradients of the layers
CELLS = [nn.RNNCell, nn.LSTMCell, nn.GRUCell, nn.PeepholeLSTMCell, nn.JordanCell, nn.LayerNormLSTMCell]
TORCH_LAYERS = [(nn.RNN, {}), (nn.RNN, {"nonlinearity": "relu"}), (nn.GRU, {}), (nn.LSTM, {})]


def _make(kind, policy, layers, bidirectional, dtype, fused):
    tr.manual_seed(3)
    common = dict(num_layers=layers, bidirectional=bidirectional, dtype=dtype, **policy)
    if isinstance(kind, tuple):
        cls, extra = kind
        return cls(3, 4, fused=fused, **extra, **common)
    return nn.Recurrent(kind, 3, 4, fused=fused, **common)   # fused=False: the cell's step on the tape


def _gradients(layer, x, hx, lengths, seed=5):
    for p in layer.parameters():
        p.grad = None
    x.grad = None
    for h in hx or ():
        h.grad = None
    out, h_n = layer(x, None if hx is None else (hx if len(hx) > 1 else hx[0]), lengths=lengths)
    h_n = h_n if isinstance(h_n, tuple) else (h_n,)
    w = np.random.default_rng(seed).normal(size=out.shape).astype(out.dtype)
    loss = (out * w).sum() + sum((h * h).sum() for h in h_n)
    loss.backward()
    return [x.grad] + [h.grad for h in hx or ()] + [p.grad for p in layer.parameters()]


def _assert_close(got, want, rtol):
    assert len(got) == len(want)
    for g, e in zip(got, want):
        assert g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * max(np.abs(e).max(), 1e-300))


@given(kind=st.sampled_from(TORCH_LAYERS + CELLS), fused=st.booleans(), T=st.integers(1, 9),
       B=st.integers(1, 3), layers=st.integers(1, 2), bidirectional=st.booleans(),
       policy=st.one_of(st.integers(1, 10).map(lambda k: {"checkpoint": k}), st.just({"checkpoint": True}),
                        st.floats(0.3, 1.0).map(lambda f: {"memory_budget": f})),
       with_lengths=st.booleans(), with_hx=st.booleans(), data=st.data())
def test_every_policy_gives_the_gradients_of_storing_every_step(kind, fused, T, B, layers, bidirectional, policy,
                                                               with_lengths, with_hx, data):
    rng = np.random.default_rng(T * 100 + B)
    plain = _make(kind, {}, layers, bidirectional, np.float64, fused)
    if "memory_budget" in policy:  # a fraction of what storing every step takes, above the least plan
        state, step = plain._bptt_bytes(1, B)
        LD = layers * (2 if bidirectional else 1)
        least = bp._flat_minimum(T, state, step)[0]
        policy = {"memory_budget": LD * max(least, int(policy["memory_budget"] * T * step))}
    ckpt = _make(kind, policy, layers, bidirectional, np.float64, fused)
    x = tr.Tensor(rng.normal(size=(T, B, 3)), requires_grad=True)
    lengths = np.array(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))) if with_lengths else None
    hx = None
    if with_hx:
        LD = layers * (2 if bidirectional else 1)
        hx = tuple(tr.Tensor(rng.normal(size=(LD, B, n)), requires_grad=True) for n in plain.state_sizes())
    _assert_close(_gradients(ckpt, x, hx, lengths), _gradients(plain, x, hx, lengths), RTOL)


def test_segments_that_do_and_do_not_divide_T_nested_plans_and_float32():
    rng = np.random.default_rng(0)
    for dtype, rtol in [(np.float64, RTOL), (np.float32, 2e-5)]:
        x = tr.Tensor(rng.normal(size=(12, 2, 3)).astype(dtype), requires_grad=True)
        want = _gradients(_make((nn.LSTM, {}), {}, 1, True, dtype, True), x, None, np.array([12, 7]))
        for policy in [{"checkpoint": 4}, {"checkpoint": 5}, {"checkpoint": True}]:
            layer = _make((nn.LSTM, {}), policy, 1, True, dtype, True)
            _assert_close(_gradients(layer, x, None, np.array([12, 7])), want, rtol)
        layer = _make((nn.LSTM, {}), {}, 1, True, dtype, True)
        state, step = layer._bptt_bytes(0, 2)
        budget = min(b for b in range(step, 12 * step, 64) if _depth_or_0(12, b, state, step) >= 2)
        layer = _make((nn.LSTM, {}), {"memory_budget": 2 * budget}, 1, True, dtype, True)  # 2 directions
        _assert_close(_gradients(layer, x, None, np.array([12, 7])), want, rtol)


def _plans(T, budget, state, step):
    try:
        return bp.budget_plan(T, budget, state, step) is not None
    except ValueError:
        return False


def _depth_or_0(T, budget, state, step):
    try:
        return bp.plan_depth(bp.budget_plan(T, budget, state, step))
    except ValueError:
        return 0


# ----------------------------------------------------------------------------- the fused path's own recomputation
FUSED_KINDS = [(nn.RNN, {}), (nn.GRU, {}), (nn.LSTM, {}), nn.PeepholeLSTMCell]


@pytest.fixture
def in_the_node(monkeypatch, split_everything):
    """Counts the fused path's plan-driven node calls (compile/segments.py); the Python-level piece
    runner (run_planned, the generic tape's) must not run. Every thread split is forced (conftest)."""
    from tinygrad_rnn.compile import segments
    calls = []
    forward = segments.forward_by_plan
    monkeypatch.setattr(segments, "forward_by_plan", lambda *a: (calls.append(a[6]), forward(*a))[1])
    monkeypatch.setattr(nn.recurrent, "run_planned", lambda *a: pytest.fail("the fused path ran run_planned"))
    return calls


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("policy", ["K", "sqrt", "nested"])
@pytest.mark.parametrize("kind", FUSED_KINDS, ids=lambda k: k.__name__ if isinstance(k, type) else k[0].__name__)
@settings(max_examples=3, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(T=st.integers(4, 13), B=st.integers(1, 4), layers=st.integers(1, 2), bidirectional=st.booleans(),
       with_lengths=st.booleans(), with_hx=st.booleans(), data=st.data())
def test_the_fused_path_recomputes_inside_one_node_per_layer_direction(in_the_node, kind, policy, threads, T, B,
                                                                        layers, bidirectional, with_lengths,
                                                                        with_hx, data):
    """Gradients of x, the initial state and every weight equal storing every step's (float64, 1e-12), on 1
    and 2 threads (batch blocks with lengths, the time pipeline without), with plans of segments that do
    and do not divide T and budget plans nested two deep."""
    tr.set_num_threads(threads)
    plain = _make(kind, {}, layers, bidirectional, np.float64, True)
    LD = layers * (2 if bidirectional else 1)
    if policy == "K":
        policy = {"checkpoint": data.draw(st.integers(1, T - 1))}
    elif policy == "sqrt":
        policy = {"checkpoint": True}
    else:   # a budget (per layer-direction) whose plan nests and that every layer can plan by
        sizes = [plain._bptt_bytes(layer, B) for layer in range(layers)]
        step = sizes[0][1]
        nested = [b for b in range(step, T * step, max(1, step // 8)) if _depth_or_0(T, b, *sizes[0]) >= 2
                  and all(_plans(T, b, *s) for s in sizes)]
        fallback = max(max(bp._flat_minimum(T, *s)[0] for s in sizes), T * step // 2)
        policy = {"memory_budget": LD * (data.draw(st.sampled_from(nested)) if nested else fallback)}
    ckpt = _make(kind, policy, layers, bidirectional, np.float64, True)
    rng = np.random.default_rng(T * 10 + B)
    x = tr.Tensor(rng.normal(size=(T, B, 3)), requires_grad=True)
    lengths = rng.integers(1, T + 1, B) if with_lengths else None
    hx = tuple(tr.Tensor(rng.normal(size=(LD, B, n)), requires_grad=True) for n in plain.state_sizes()) \
        if with_hx else None
    want = _gradients(plain, x, hx, lengths)
    plans = [ckpt.bptt_plan(T, B, layer) for layer in range(layers)]
    del in_the_node[:]
    _assert_close(_gradients(ckpt, x, hx, lengths), want, RTOL)
    checkpointed = [p for p in plans if p is not None and type(p[0]) is bp.Recomputed]
    assert len(in_the_node) == len(checkpointed) * (2 if bidirectional else 1)
    assert sorted(map(repr, in_the_node)) == sorted(repr(p) for p in checkpointed for _ in range(LD // layers))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", FUSED_KINDS + [nn.LayerNormLSTMCell],
                         ids=lambda k: k.__name__ if isinstance(k, type) else k[0].__name__)
def test_one_thread_reruns_pieces_in_one_set_of_buffers(in_the_node, monkeypatch, kind, bidirectional):
    """At one thread without lengths, a checkpointed layer's pieces of one length run in buffers kept from
    the piece before (segments._Frame: _states_serial forward, _rerun_serial backward; its gate gradients
    may be a buffer only the forward reads). Pieces of two lengths (T = 11, K = 3: 2, 3, 3 rerun and 3
    stored), every pooled buffer handed out full of NaN: the gradients of x, the initial state and every
    weight equal storing every step's (float64, 1e-12)."""
    from tinygrad_rnn.compile import segments
    tr.set_num_threads(1)
    ran = []
    for name in ("_rerun_serial", "_states_serial"):
        fn = getattr(segments, name)
        monkeypatch.setattr(segments, name, lambda *a, fn=fn, name=name: (ran.append(name), fn(*a))[1])
    rng = np.random.default_rng(11)
    x = tr.Tensor(rng.normal(size=(11, 3, 3)), requires_grad=True)
    plain = _make(kind, {}, 1, bidirectional, np.float64, True)
    hx = tuple(tr.Tensor(rng.normal(size=((2 if bidirectional else 1), 3, n)), requires_grad=True)
               for n in plain.state_sizes())
    want = _gradients(plain, x, hx, None)
    ckpt = _make(kind, {"checkpoint": 3}, 1, bidirectional, np.float64, True)
    monkeypatch.setattr(segments.workspace, "allocator", lambda n, dtype: lambda shape, dt: np.full(shape, np.nan, dt))
    _assert_close(_gradients(ckpt, x, hx, None), want, RTOL)
    directions = 2 if bidirectional else 1
    assert ran.count("_rerun_serial") == ran.count("_states_serial") == 3 * directions
    assert len(in_the_node) == directions


@pytest.mark.parametrize("threads", [1, 2])
@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(T=st.integers(5, 40), stored=st.integers(1, 4), fused=st.booleans(), bidirectional=st.booleans(),
       with_lengths=st.booleans(), data=st.data())
def test_checkpoint_true_stores_its_last_pieces_and_gives_the_gradients_of_storing_every_step(
        monkeypatch, split_everything, threads, T, stored, fused, bidirectional, with_lengths, data):
    """checkpoint=True runs its last pieces as one stored piece whose saved values the backward reads
    (not rerun): gradients equal storing every step's (float64, 1e-12) for drawn T, numbers of stored
    pieces, directions and lengths, on both paths and 1 and 2 threads; the fused node gets that plan."""
    from tinygrad_rnn.compile import segments
    monkeypatch.setattr(bp, "SQRT_STORED_PIECES", stored)
    tr.set_num_threads(threads)
    plans = []
    forward = segments.forward_by_plan
    monkeypatch.setattr(segments, "forward_by_plan", lambda *a, **kw: (plans.append(a[6]), forward(*a, **kw))[1])
    K = math.ceil(math.sqrt(T))
    span = bp.SERIAL_SPAN if threads == 1 else 1   # (one thread: the backward holds one piece at a time)
    plan = bp.sqrt_plan(T, span)
    assert plan[-1] == bp.Stored(min(T, stored * K)) and bp.plan_cost(plan) == 2 * T - plan[-1].steps
    assert all(piece.steps == span * K for piece in plan[1:-1]) and (len(plan) == 1 or plan[0].steps <= span * K)
    plain = _make((nn.LSTM, {}), {}, 1, bidirectional, np.float64, fused)
    ckpt = _make((nn.LSTM, {}), {"checkpoint": True}, 1, bidirectional, np.float64, fused)
    rng = np.random.default_rng(T * 10 + stored)
    x = tr.Tensor(rng.normal(size=(T, 3, 3)), requires_grad=True)
    lengths = np.array(data.draw(st.lists(st.integers(1, T), min_size=3, max_size=3))) if with_lengths else None
    want = _gradients(plain, x, None, lengths)
    _assert_close(_gradients(ckpt, x, None, lengths), want, RTOL)
    recomputes = type(plan[0]) is bp.Recomputed
    assert plans == ([plan] * (2 if bidirectional else 1) if fused and recomputes else [])


class _NoWorkers:
    """A thread pool whose workers never start (a worker late on a busy machine, at its extreme)."""

    def submit(self, *args):
        pass


@pytest.mark.parametrize("worker", ["runs", "never starts", "raises"])
def test_two_threads_overlap_the_pieces_whoever_runs_them(in_the_node, monkeypatch, worker):
    """On 2 threads the node overlaps pieces (runtime.TaskQueue): the forward loop with the next piece's
    projection, the backward loop with the previous piece's rerun and the grads. The gradients equal
    storing every step's whether a worker takes tasks or never starts (this thread then runs them all);
    an exception in a task reaches the caller, and the next step runs normally."""
    from tinygrad_rnn.compile import segments
    ran = []
    def recording(name, run):
        return lambda *a: (ran.append(name), run(*a))[1]
    for name in ("_forward_overlapped", "_backward_overlapped"):
        monkeypatch.setattr(segments, name, recording(name, getattr(segments, name)))
    if worker == "never starts":
        monkeypatch.setattr(segments.blas, "workers", lambda n: _NoWorkers())
    tr.set_num_threads(2)
    x = tr.Tensor(np.random.default_rng(6).normal(size=(11, 5, 3)), requires_grad=True)
    plain = _make((nn.LSTM, {}), {}, 1, True, np.float64, True)
    ckpt = _make((nn.LSTM, {}), {"checkpoint": 3}, 1, True, np.float64, True)
    want = _gradients(plain, x, None, [11, 4, 9, 11, 1])
    if worker == "raises":
        run_piece = segments._run_piece
        monkeypatch.setattr(segments, "_run_piece",
                            lambda *a, single=False, **kw: 1 / 0 if single else run_piece(*a, **kw))
        with pytest.raises(ZeroDivisionError):
            _gradients(ckpt, x, None, [11, 4, 9, 11, 1])
        monkeypatch.setattr(segments, "_run_piece", run_piece)
    _assert_close(_gradients(ckpt, x, None, [11, 4, 9, 11, 1]), want, RTOL)
    assert ran.count("_forward_overlapped") >= 2 and ran.count("_backward_overlapped") >= 2


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("lengths", [None, [7, 6, 5]])
def test_every_buffer_a_piece_takes_from_the_pool_is_written_or_zeroed(in_the_node, monkeypatch, threads, lengths):
    """A piece's gradient arrays the backward loop writes whole are not zeroed where no sequence ends in
    the piece (segments._piece_gradient_args). With every pooled buffer handed out full of NaN, any row
    read before being written would reach the gradients: they equal storing every step's. Pieces of 2
    steps over 7: with these lengths, sequences end only in the last piece."""
    from tinygrad_rnn.compile import segments
    tr.set_num_threads(threads)
    x = tr.Tensor(np.random.default_rng(8).normal(size=(7, 3, 3)), requires_grad=True)
    want = _gradients(_make((nn.LSTM, {}), {}, 1, False, np.float64, True), x, None, lengths)
    ckpt = _make((nn.LSTM, {}), {"checkpoint": 2}, 1, False, np.float64, True)
    monkeypatch.setattr(segments.workspace, "allocator", lambda n, dtype: lambda shape, dt: np.full(shape, np.nan, dt))
    _assert_close(_gradients(ckpt, x, None, lengths), want, RTOL)
    assert in_the_node   # the node ran the pieces


def test_a_second_backward_recomputes_what_the_first_freed():
    """The node frees its last piece's arrays once its backward has read them; with retain_graph=True a
    second backward runs that piece again: the gradients add up to twice the first's."""
    layer = _make((nn.LSTM, {}), {"checkpoint": 3}, 1, True, np.float64, True)
    x = tr.Tensor(np.random.default_rng(4).normal(size=(8, 2, 3)), requires_grad=True)
    out, _ = layer(x, lengths=[8, 5])
    loss = (out * out).sum()
    loss.backward(retain_graph=True)
    once = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in layer.parameters()]
    loss.backward()
    _assert_close([x.grad] + [p.grad for p in layer.parameters()], [2 * g for g in once], RTOL)


def test_truncated_bptt_and_anomaly_mode_compose():
    rng = np.random.default_rng(1)
    chunks = [rng.normal(size=(6, 2, 3)) for _ in range(2)]

    def run(policy):
        layer = _make((nn.GRU, {}), policy, 2, False, np.float64, True)
        h = None
        with tr.detect_anomaly():
            for c in chunks:  # truncated BPTT: the state crosses chunks, detached
                out, h = layer(tr.Tensor(c), h)
                out.sum().backward()
                h = h.detach()
        return [p.grad for p in layer.parameters()]

    _assert_close(run({"checkpoint": 4}), run({}), RTOL)


def test_policies_are_checked_and_retain_states_is_refused():
    with pytest.raises(ValueError, match="checkpoint must be None/False.*got 0"):
        nn.LSTM(3, 4, checkpoint=0)
    with pytest.raises(ValueError, match=r"memory_budget must be a positive number of bytes .*got -1"):
        nn.GRU(3, 4, memory_budget=-1)
    for bad in (float("inf"), float("nan")):   # inf once reached the planner: 'cannot convert NaN'
        with pytest.raises(ValueError, match=r"Recurrent: memory_budget must be a positive number of bytes"):
            nn.Recurrent(nn.GRUCell, 3, 4, memory_budget=bad)
    for bad in ("1e6", True, [1e6]):   # a wrong type: TypeError, naming the argument
        with pytest.raises(TypeError, match=r"Recurrent: memory_budget must be a positive number of bytes.*got "
                                            f"{type(bad).__name__}"):
            nn.Recurrent(nn.GRUCell, 3, 4, memory_budget=bad)
    for bad in (0, -3):
        with pytest.raises(ValueError, match=f"RNN: checkpoint must be None/False.*got {re.escape(repr(bad))}"):
            nn.RNN(3, 4, checkpoint=bad)
    for bad in (2.5, "2", np.float64(2.0)):
        with pytest.raises(TypeError, match=f"RNN: checkpoint must be None/False.*got {type(bad).__name__} "
                                            f"{re.escape(repr(bad))}"):
            nn.RNN(3, 4, checkpoint=bad)
    with pytest.raises(ValueError, match="not both"):
        nn.Recurrent(nn.RNNCell, 3, 4, checkpoint=2, memory_budget=1e6)
    layer = nn.LSTM(3, 4, checkpoint=2)
    with pytest.raises(ValueError, match="retain_states=True needs every step recorded"):
        layer(tr.Tensor(np.zeros((5, 1, 3), np.float32)), retain_states=True)
    with pytest.raises(ValueError, match="memory_budget=10 bytes is too small"):
        nn.LSTM(3, 4, memory_budget=10)(tr.Tensor(np.zeros((5, 1, 3), np.float32)))
    tr.manual_seed(0)
    plain = nn.LSTM(3, 4)
    tr.manual_seed(0)
    checkpointed = nn.LSTM(3, 4, checkpoint=2)
    x = tr.Tensor(np.random.default_rng(0).normal(size=(5, 1, 3)).astype(np.float32))
    with tr.no_grad():  # inference: nothing to recompute, the layer runs as without a policy
        np.testing.assert_array_equal(checkpointed(x)[0].data, plain(x)[0].data)


# ----------------------------------------------------------------------------- memory
def _peak_bytes(layer, x):
    out, _ = layer(tr.Tensor(x, requires_grad=True))   # compiled (or loaded from the disk cache) before tracing
    out.sum().backward()
    del out
    workspace.clear()  # no pooled buffer from an earlier run: every run allocates what it needs
    gc.collect()
    tracemalloc.start()
    try:
        out, _ = layer(tr.Tensor(x, requires_grad=True))
        out.sum().backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        workspace.clear()


@pytest.mark.parametrize("fused", [True, False])
def test_checkpointing_lowers_the_peak_memory_of_a_training_step(fused):
    # (fused: T = 900, not 400: the stored tail is 2.75 sqrt(T) steps, at T = 400 14% of the sequence, and
    # the peak there measured 0.47-0.65 of the full one from run to run, 0.27-0.37 at T = 900)
    T, B, H = (900, 16, 64) if fused else (100, 8, 32)
    x = np.random.default_rng(2).normal(size=(T, B, 8)).astype(np.float32)
    tr.manual_seed(0)
    full = _peak_bytes(nn.LSTM(8, H, fused=fused), x)
    tr.manual_seed(0)
    sqrt_t = _peak_bytes(nn.LSTM(8, H, fused=fused, checkpoint=True), x)
    # storing every step keeps ~5H per step for the backward (fused) or a dozen arrays (tape); sqrt(T)
    # keeps ~sqrt(T) states and one segment: well below half the full peak, stable against noise
    assert sqrt_t < 0.5 * full, (sqrt_t, full)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_stored_piece_keeps_the_output_rows_it_wrote_not_a_copy(split_everything, threads):
    """Forward without lengths the fused node's pieces write the output rows in place, so the stored last
    piece's states are the output itself (as storing every step's are) and the output is the full run's;
    a recomputed piece keeps of its entering state only what the output does not hold (h is the output's
    row, c a copy); the final state is a copy (a caller keeping it must not keep the whole output)."""
    from tinygrad_rnn.compile import segments
    tr.set_num_threads(threads)
    x = tr.Tensor(np.random.default_rng(7).normal(size=(30, 2, 3)))   # (2 pieces rerun on 1 thread too)
    plain = _make((nn.LSTM, {}), {}, 1, False, np.float64, True)
    ckpt = _make((nn.LSTM, {}), {"checkpoint": True}, 1, False, np.float64, True)
    out, (h, c) = ckpt(x)
    np.testing.assert_array_equal(out.data, plain(x)[0].data)
    kept, _ = out._node.saved[0].saved   # (node._Checkpointed: forward_by_plan's, and the parameters' versions)
    stored = [piece for piece in kept if type(piece) is segments._Keep]
    assert len(stored) == 1 and stored[0].steps == math.floor(bp.SQRT_STORED_PIECES * math.ceil(math.sqrt(30)))
    assert np.shares_memory(stored[0].arrays["S0"], out.data)
    rerun = [piece for piece in kept if type(piece) is segments._Recompute]
    assert len(rerun) >= 2
    for piece in rerun[1:]:   # (the first one enters from the initial zeros)
        h_in, c_in = piece.entering
        assert np.shares_memory(h_in, out.data) and not np.shares_memory(c_in, out.data)
        np.testing.assert_array_equal(h_in, out.data[piece.start - 1])
    assert not np.shares_memory(h.data, out.data) and not np.shares_memory(c.data, out.data)
