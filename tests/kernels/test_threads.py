"""Threads: the fused kernels give the same numbers on any number of threads, and the thread count
follows tr.set_num_threads and the usual environment variables.

With several threads the generated kernels (compile/node.py) run on blocks of batch rows, or chunk by
chunk with the input projections and the weight gradients of other chunks on the other threads
(kernels/runtime.py). Sums may then be added in another order, so float64 results are compared to
1e-12 relative, never exactly; they must not drift further.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.kernels import blas, runtime
from tinygrad_rnn.nn.fused import run_fused

KINDS = {"rnn_tanh": (tr.nn.RNN, {"nonlinearity": "tanh"}), "rnn_relu": (tr.nn.RNN, {"nonlinearity": "relu"}),
         "gru": (tr.nn.GRU, {}), "lstm": (tr.nn.LSTM, {}), "peephole": (tr.nn.Recurrent, {"cell": "peephole"}),
         # (its backward writes dXW and dC over the rows it read: node.Kernel.consumed)
         "layernorm": (tr.nn.Recurrent, {"cell": "layernorm"})}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rel_err(a, ref):
    return float(np.max(np.abs(a - ref)) / max(float(np.max(np.abs(ref))), 1e-300)) if a.size else 0.0


@pytest.fixture
def threads(monkeypatch):
    """Set the kernels' thread count (and force every split on tiny problems); restored afterwards."""
    before = blas.num_threads()
    monkeypatch.setattr(runtime, "PARALLEL_MIN_MACS", 0)

    def set_threads(n, min_rows=1):
        monkeypatch.setattr(runtime, "MIN_ROWS_PER_THREAD", min_rows)
        tr.set_num_threads(n)

    yield set_threads
    tr.set_num_threads(before)


def make_layer(kind, n_in, hidden):
    cls, kwargs = KINDS[kind]
    tr.manual_seed(0)
    if cls is tr.nn.Recurrent:
        cell = tr.nn.PeepholeLSTMCell if kwargs["cell"] == "peephole" else tr.nn.LayerNormLSTMCell
        return tr.nn.Recurrent(cell, n_in, hidden, dtype=np.float64)
    return cls(n_in, hidden, dtype=np.float64, **kwargs)


def run_layer(layer, n_steps, batch, lengths, reverse, with_state, seed):
    """One direction of the layer's fused path (nn/fused.run_fused, its reverse direction too): outputs,
    final states and every gradient."""
    rng = np.random.default_rng(seed)
    x = tr.Tensor(rng.uniform(-1, 1, (n_steps, batch, 3)), requires_grad=True)
    state = tuple(tr.Tensor(rng.uniform(-1, 1, (batch, n)), requires_grad=True) for n in layer.state_sizes()) \
        if with_state else ()
    layer.zero_grad()
    out, finals = run_fused(layer._cell(0, 0), x, state, lengths, reverse)
    results = (out, *finals)
    sum((t * tr.Tensor(rng.uniform(-1, 1, t.shape))).sum() for t in results).backward()
    return [t.data for t in results] + [x.grad] + [s.grad for s in state] + [p.grad for p in layer.parameters()]


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])  # set on every call
@given(kind=st.sampled_from(sorted(KINDS)), n_steps=st.integers(1, 11), batch=st.integers(1, 9),
       padded=st.booleans(), reverse=st.booleans(), with_state=st.booleans(), n_threads=st.integers(2, 4),
       min_rows=st.integers(1, 3), one_step_chunks=st.booleans(), seed=st.integers(0, 2 ** 32 - 1))
def test_kernels_agree_with_one_thread(threads, monkeypatch, kind, n_steps, batch, padded, reverse, with_state,
                                       n_threads, min_rows, one_step_chunks, seed):
    """Batch sizes that split evenly into blocks and that do not, both directions, with and without
    padding (padding turns the time pipeline off), lengths from 1 step up, the backward pipelined or on
    batch blocks (3+ threads with rows for them), pipelines of the default 8 chunks or of as many as
    the cost model allows (here: one step each); the built-in cells and one that only tr.nn.Recurrent
    runs."""
    monkeypatch.setattr(runtime, "CHUNK_MACS", 1e-9 if one_step_chunks else 1e30)
    monkeypatch.setattr(runtime, "MIN_CHUNK_STEPS", 1)
    lengths = None
    if padded:
        lengths = np.random.default_rng(seed).integers(1, n_steps + 1, batch)
    layer = make_layer(kind, 3, 5)
    threads(1)
    ref = run_layer(layer, n_steps, batch, lengths, reverse, with_state, seed)
    threads(n_threads, min_rows)
    got = run_layer(layer, n_steps, batch, lengths, reverse, with_state, seed)
    for a, r in zip(got, ref):
        assert a.shape == r.shape
        assert rel_err(a, r) <= 1e-12


@pytest.mark.parametrize("mode, bidirectional, layers", [("LSTM", True, 2), ("GRU", False, 3), ("RNN", True, 1)])
def test_layers_agree_with_one_thread(threads, mode, bidirectional, layers):
    """Stacked and bidirectional layers through the tape: outputs and every gradient, float64."""
    results = []
    for n in (1, 2, 3):
        threads(n, 2)
        tr.manual_seed(0)
        layer = getattr(tr.nn, mode)(4, 6, num_layers=layers, bidirectional=bidirectional, dtype=np.float64,
                                     fused=True)
        x = tr.Tensor(np.random.default_rng(1).standard_normal((9, 7, 4)), requires_grad=True)
        out = layer(x)[0]
        (out * out).sum().backward()
        results.append([out.data, x.grad] + [p.grad for p in layer.parameters()])
    for other in results[1:]:
        for a, r in zip(other, results[0]):
            assert rel_err(a, r) <= 1e-12


class _NeverStarts:
    """A pool whose workers never start a task: as workers that have not got a core yet."""

    def submit(self, fn, *args):
        return None


def test_parts_run_on_the_calling_thread_when_no_worker_starts(monkeypatch):
    """With no worker starting, run_parts, on_threads and both pipelines finish on the calling thread
    alone (no waiting for a worker that has not started), every part exactly once."""
    import threading
    monkeypatch.setattr(blas, "workers", lambda n: _NeverStarts())
    ran = []
    blas.run_parts(lambda k: ran.append((k, threading.current_thread())), 5, 3)
    assert sorted(k for k, _ in ran) == list(range(5))
    assert all(t is threading.main_thread() for _, t in ran)
    parts = []
    blas.on_threads(lambda a, b, k: parts.append((a, b, k)), [(0, 2), (2, 3)])
    assert sorted(parts) == [(0, 2, 0), (2, 3, 1)]
    chunks = runtime.time_chunks(7, False)
    assert [c[:2] for c in runtime.time_chunks(5, True, 2)] == [(3, 5), (0, 3)]
    projected, looped = [], []
    runtime.forward_pipelined(lambda *args: looped.append(args), 4, 2, lambda a, b, prev: (a, b),
                              lambda a, b: projected.append((a, b)), lambda: None, chunks)
    assert sorted(projected) == [c[:2] for c in chunks] and [x[:2] for x in looped] == [c[:2] for c in chunks]
    finished = []
    runtime.backward_pipelined(lambda *args: None, 4, 3, lambda a, b, prev: (), lambda a, b, slot:
                               finished.append((a, b, slot)), chunks)
    assert sorted(f[:2] for f in finished) == sorted(c[:2] for c in chunks)
    # the slot is the chunk's number (in processing order: last chunk first) mod threads, whoever runs it
    assert finished == [(a, b, k % 3) for k, (a, b, _) in enumerate(reversed(chunks))]


def test_pipeline_chunks_follow_the_cost_model():
    """At least PIPELINE_CHUNKS, more for more work (about sqrt(macs / CHUNK_MACS)), at most
    MAX_PIPELINE_CHUNKS and never under MIN_CHUNK_STEPS steps each."""
    assert runtime.pipeline_chunks(50, 32, 64, 128) == runtime.PIPELINE_CHUNKS
    mid, big = runtime.pipeline_chunks(100, 32, 128, 1024), runtime.pipeline_chunks(100, 64, 256, 2048)
    assert runtime.PIPELINE_CHUNKS < mid < big == runtime.MAX_PIPELINE_CHUNKS
    assert runtime.pipeline_chunks(20, 64, 256, 2048) == 20 // runtime.MIN_CHUNK_STEPS


@pytest.mark.parametrize("n_threads, batch", [(2, 16), (3, 25), (4, 8)])
def test_forward_blocks_run_each_part_after_its_projection(threads, n_threads, batch):
    """forward_blocks_pipelined: every (block, time part) runs once, each only after that part's projection
    (whichever thread projected it); a failing projection reaches the caller."""
    import threading
    threads(n_threads, 2)
    parts = runtime.time_parts(10, n_threads)
    projected, ran, lock = set(), [], threading.Lock()

    def project(a, b):
        with lock:
            projected.add((a, b))

    def loop(a, b, b0, b1):
        with lock:
            ran.append(((a, b) in projected, a, b, b0, b1))

    runtime.forward_blocks_pipelined(loop, batch, n_threads, lambda a, b, prev: (a, b), project, parts)
    edges = runtime.block_edges(batch, n_threads)
    assert sorted(r[1:] for r in ran) == sorted((a, b, b0, b1) for a, b in parts for b0, b1 in zip(edges, edges[1:]))
    assert all(r[0] for r in ran)

    def failing(a, b):
        if a > 0:
            raise ArithmeticError("projection")
    with pytest.raises(ArithmeticError, match="projection"):
        runtime.forward_blocks_pipelined(lambda *args: None, batch, n_threads, lambda a, b, prev: (a, b), failing,
                                         parts)


def test_workers_do_run_parts():
    """Part 0 waits until part 1 has run: whichever thread claims part 0, another one must run part 1."""
    import threading
    done = threading.Event()
    waited = []

    def task(k):
        if k == 0:
            waited.append(done.wait(60))
        else:
            done.set()
    blas.run_parts(task, 2, 2)
    assert waited == [True]


@pytest.mark.parametrize("n_threads, batch, lengths", [(2, 6, None), (3, 9, None), (2, 7, [7, 3, 5, 1, 7, 2, 6])])
def test_layer_on_the_calling_thread_alone_agrees(threads, monkeypatch, n_threads, batch, lengths):
    """Every part of a multi-threaded split run by the calling thread (no worker starts): the slots and
    parts it takes over give one thread's numbers (pipelined, blocks, padded)."""
    threads(1)
    layer = make_layer("lstm", 3, 5)
    lens = None if lengths is None else np.array(lengths)
    ref = run_layer(layer, 7, batch, lens, True, True, 5)
    threads(n_threads, 2)
    monkeypatch.setattr(blas, "workers", lambda n: _NeverStarts())
    got = run_layer(layer, 7, batch, lens, True, True, 5)
    for a, r in zip(got, ref):
        assert rel_err(a, r) <= 1e-12


def test_a_workers_exception_reaches_the_caller():
    def task(k):
        if k == 1:
            raise ArithmeticError("part 1")
    for _ in range(3):   # whichever thread runs part 1
        with pytest.raises(ArithmeticError, match="part 1"):
            blas.run_parts(task, 2, 2)


def test_set_num_threads_checks_its_argument():
    for bad in (0, -1, 1.5, "2", True, None):
        with pytest.raises(ValueError, match="positive int"):
            tr.set_num_threads(bad)


def test_set_num_threads_sets_the_count_and_openblas_stays_at_one(threads):
    threads(3)
    assert tr.get_num_threads() == 3
    if "get" in blas._THREADS:           # the library's own pool does the parallel work
        assert blas._THREADS["get"]() == 1


@pytest.mark.parametrize("m, k, n", [(33, 7, 5), (64, 64, 64), (100, 3, 1), (31, 2, 2)])
def test_matmul_split_by_rows_equals_numpy(threads, monkeypatch, m, k, n):
    """Row blocks that split evenly and unevenly, transposed (non-contiguous) operands, both dtypes."""
    monkeypatch.setattr(blas, "MATMUL_MIN_MACS", 0)
    monkeypatch.setattr(blas, "MATMUL_MIN_ROWS", 4)
    rng = np.random.default_rng(m)
    for dtype in (np.float32, np.float64):
        a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((n, k)).astype(dtype).T
        for n_threads in (1, 2, 3):
            threads(n_threads)
            got = blas.matmul(a, b)
            assert got.dtype == dtype and got.shape == (m, n)
            np.testing.assert_allclose(got, a @ b, rtol=1e-5 if dtype == np.float32 else 1e-13)
            np.testing.assert_allclose(blas.matmul(a.T.copy().T, b), a @ b, rtol=1e-5 if dtype == np.float32 else 1e-13)


def _count_in_child(env):
    code = "import tinygrad_rnn as tr, tinygrad_rnn.kernels.blas as b; " \
           "print(tr.get_num_threads(), b._THREADS['get']() if 'get' in b._THREADS else -1)"
    clean = {k: v for k, v in os.environ.items() if k not in blas._ENV_THREADS}
    out = subprocess.run([sys.executable, "-c", code], env=dict(clean, PYTHONPATH=ROOT, **env), check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


def test_thread_count_follows_the_environment():
    """Any of the usual variables sets the count (the smallest wins); none set: every CPU this process
    may use. OpenBLAS runs one thread whatever they say (the library parallelizes on its own pool)."""
    usable = len(os.sched_getaffinity(0))
    assert _count_in_child({})[0] == usable
    ours, openblas = _count_in_child({"NUMBA_NUM_THREADS": "1"})
    assert ours == 1 and openblas in (1, -1)          # -1: no OpenBLAS found (the loop-gemm fallback)
    assert _count_in_child({"OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "2"}) in ((2, 1), (2, -1))


def test_tape_matmul_on_threads_agrees_with_one_thread(threads, monkeypatch):
    """The tape's Matmul (forward and both adjoints) through the row-split product: a Linear layer's
    output and gradients on 3 threads equal one thread's."""
    monkeypatch.setattr(blas, "MATMUL_MIN_MACS", 0)
    monkeypatch.setattr(blas, "MATMUL_MIN_ROWS", 2)
    results = []
    for n in (1, 3):
        threads(n)
        tr.manual_seed(0)
        lin = tr.nn.Linear(6, 5, dtype=np.float64)
        x = tr.Tensor(np.random.default_rng(2).standard_normal((19, 6)), requires_grad=True)
        y = lin(x)
        (y * y).sum().backward()
        results.append([y.data, x.grad, lin.weight.grad, lin.bias.grad])
    for a, r in zip(results[1], results[0]):
        assert rel_err(a, r) <= 1e-12


def test_what_runs_on_the_pool_releases_the_gil():
    """A compiled function that holds the GIL while a pool thread runs it stalls the calling thread too
    (it cannot start its next loop chunk): every generated function handed to the pool is compiled nogil."""
    from tinygrad_rnn.compile.node import get_kernel
    from tinygrad_rnn.compile.worker import _CompiledElsewhere
    module = get_kernel(tr.nn.LSTMCell(3, 4, dtype=np.float64), np.float64)[0].module
    for name in ("project", "forward", "backward", "grads"):
        fn = getattr(module, name)
        if isinstance(fn, _CompiledElsewhere):   # a worker compiles it now: the dispatcher it stands in for
            fn = fn.dispatcher
        assert fn.targetoptions.get("nogil") is True, name


def test_layers_on_several_python_threads_at_once(threads):
    """Two Python threads training layers at the same time share the one pool (blocks queue behind
    pipelines): no deadlock, and each gets the numbers it gets alone."""
    from concurrent.futures import ThreadPoolExecutor
    threads(2, 2)

    def make(seed):   # made here, one after the other: the initialisation draws from one global generator
        tr.manual_seed(seed)
        layer = tr.nn.LSTM(3, 5, num_layers=2, bidirectional=True, dtype=np.float64, fused=True)
        return layer, tr.Tensor(np.random.default_rng(seed).standard_normal((7, 6, 3)))

    def run(layer, x):
        layer.zero_grad()
        out = layer(x)[0]
        (out * out).sum().backward()
        return [out.data] + [p.grad for p in layer.parameters()]

    problems = [make(seed) for seed in (1, 2)]
    alone = [run(*p) for p in problems]
    with ThreadPoolExecutor(2) as users:
        together = [f.result(timeout=120) for f in [users.submit(run, *p) for p in problems]]
    for got, want in zip(together, alone):
        for a, r in zip(got, want):
            assert rel_err(a, r) <= 1e-12
