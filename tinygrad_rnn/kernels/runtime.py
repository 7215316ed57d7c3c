"""How the generated kernels' work is split over the library's threads (compile/node.py drives them).

A layer-direction's work is of two kinds: the time loops (per step a small product h @ W^T and the
cell's column loops, inherently serial in t: compile/codegen.py writes them) and the big products
outside them (the input projections before the forward loop; dx and the weight gradients after the
backward loop: compile/outside.py writes them). Both kinds take a block of batch rows [b0, b1) or a
time slice [a, b), so that this file can hand them to threads without knowing what they compute.
"""
import collections
import threading

import numpy as np

from . import blas

# How a layer uses several threads (blas.num_threads(): tr.set_num_threads, the usual environment
# variables, or every usable CPU). A step has two kinds of work: the time loops (per step a small
# product h @ W_hh^T and the gate math, inherently serial in t) and the big products outside them (the
# input projection before the forward loop; the weight gradients and dx after the backward loop).
#
#  * Batch blocks. Sequences never interact, so a loop can run on blocks of rows, each on its own
#    thread: no barrier per step. But every block's per-step product streams all of W_hh again, so
#    once W_hh outgrows a core's L2, half the rows cost about two thirds of the time (LSTM
#    (100,32,128,256), forward loop, one thread, CPU: 16 rows 0.65-0.68 of 32 rows' time; at H=128,
#    0.50). Each block needs at least MIN_ROWS_PER_THREAD rows.
#  * A pipeline over time chunks. The loop runs chunk by chunk on the calling thread while workers do
#    the big products of finished chunks: the backward's weight gradients of chunk k while the loop
#    runs chunk k-1 (they cost about as much as the loop itself, so they hide almost entirely), or the
#    forward's projections of the chunks ahead. Only without padding (a chunk is then the same time
#    slice for every row).
#  * The big products, when not pipelined, are split by time into one part per thread (each part a
#    single-threaded BLAS call; the weight gradients summed per part, then the parts added in order).
#
# Which: the forward uses batch blocks when there are rows for two (its projection is too small next to the
# loop for the pipeline to hide much), else the pipeline. Without padding the blocks and the projection's
# time parts are one split with one hand-off (forward_blocks_pipelined: a block's loop runs part by part,
# each once its projection is done), not two splits with a barrier between them. The backward uses the
# pipeline where it can (no padding) unless there are rows for 3+ blocks and threads for them, else batch
# blocks. At 2 threads, blocks then the products split in two cost the calling thread about what the
# pipeline does (CPU ms per step, backward loop + products on the calling thread, pipeline vs blocks: LSTM
# (50,32,64,128) 3.2 + 0.4 vs 1.8 + 1.9; RNN (100,32,128,256) 5.5 + 0.9 vs 3.2 + 3.6), with one more wait
# for a worker. With more threads the blocks keep splitting and the pipeline's loop does not. Measured: see
# bench/README.md ("Threads").
#
# Every split hands out its parts by claims (blas.Claims): the calling thread takes the parts no worker
# has started, and waits only for parts a worker is running. On a shared machine a worker often starts
# late (milliseconds: its core is running another process), and a caller that waited for it would be
# slower than one thread.
#
# Claims decide only who runs a part, never what is summed with what: a part's result is its own rows,
# or, for the weight gradients (sums over time), an accumulator slot fixed by the part's number (slot =
# part for a time split; chunk number mod threads in the pipeline, a slot's chunks run in order: see
# TaskQueue). So at a given thread count a step's gradients are bitwise the same from run to run, as
# PyTorch's CPU RNNs are (tests/kernels/test_determinism.py; bench/determinism_probe.py shows it).
#
# OpenBLAS runs single-threaded all the while (blas.single_threaded), and the kernels never call it
# multi-threaded: after a multi-threaded call its worker threads spin for tens of milliseconds
# (measured: 8 ms of CPU in a 10 ms sleep after one 2-thread product), taking the core these threads
# need. Problems below PARALLEL_MIN_MACS run on the calling thread alone: each hand-off costs tens of
# microseconds (a sleeping worker starts 20-80 us after the submit on an idle core, milliseconds when its
# core is busy), a split step has three of them, and the pipeline calls each generated function once per
# chunk. Measured in python -m bench (2026-11-30 17:44): RNN (50,32,64,128), 13 M multiply-adds in the
# projection, 2.83 -> 3.06 ms from 1 to 2 threads; RNN (1000,8,32,64), 16 M, 6.66 -> 6.87; GRU
# (50,32,64,128), 39 M, 9.19 -> 9.04 (flat); LSTM (1000,8,32,64), 65 M, 1.5x faster.
MIN_ROWS_PER_THREAD = 8
#
# Loop-heavy cells. For most cells the time loops cost about what the big products do (estimated per row
# and step: the loop's two small products, K * N multiply-adds each, and its column work, 5.6
# multiply-adds' worth per elementwise operation, both measured on one core; the products 3 I N_x + K N),
# and the pipeline hides the products behind the loop. A cell whose column work is large (a layer-norm
# LSTM's six reductions and normalisations: 2.4 times its products' cost at (I, H) = (32, 64), where the
# LSTM's is 1.2) would leave the loop alone on the calling thread: such a cell (estimate at least
# LOOP_HEAVY) splits its forward loop over batch blocks (its backward loop too past LOOP_HEAVY_BACKWARD,
# below), with half as many rows per block. Measured at 2 threads, layer-norm LSTM (1000,8,32,64), calling
# thread's CPU per step: pipeline 19.3 ms, two blocks of 4 rows 15.8 ms (bench/kernel_phases.py layernorm
# 1000x8x32x64). At
# (64, 128) (estimate 1.58; measured loops 8.0 ms, products 5.3) blocks and pipeline came out even in that
# probe, but whole training steps side by side put blocks ahead (below), so the bar is 1.5, not 2.0.
# The ratio alone mis-sorts narrow loops: a step of a block has a cost that halving its rows does not
# halve (the step's small products on few columns, its bookkeeping), which at small H is most of a row's
# loop, so a block of half the rows takes well over half the time and the pipeline, which takes the
# products off the calling thread whole, wins though the ratio is high. So a loop is heavy when its
# ratio is at least LOOP_HEAVY AND its estimated work per row and step (node.loop_row_macs) is at least
# LOOP_HEAVY_ROW_MACS. Measured whole training steps (bench/loop_heavy.py, 2 threads, x tr.nn.LSTM,
# blocks / pipeline; the runs are listed in bench/README.md): at (I, H) = (10, 20), B = 32, where every
# built-in cell's ratio is 1.7-5.8 but its row work 1.7k-23k, the pipeline is as fast or faster: LSTM
# 1.18 / 1.04, GRU 1.01 / 0.84, peephole LSTM 1.26 / 1.07, Jordan and RNN even, layer-norm LSTM even
# (and 1.34 / 1.12 at B = 8). The layer-norm LSTM at (64, 128) (ratio 1.58, row work 259k): blocks
# 1.19 / 1.28 and 1.22 / 1.37 on a quiet machine, ahead by a median 0.04 in 7 runs on a loaded one; at
# (32, 64) (2.36, 97k) blocks, as before; at (128, 256) its ratio is 1.19: pipelined, measured faster.
LOOP_HEAVY = 1.5
LOOP_HEAVY_ROW_MACS = 48_000
#
# The backward has a higher bar (LOOP_HEAVY_BACKWARD). There the pipeline leaves the calling thread the
# whole loop L and the workers the weight gradients and dx G (about as costly: layer-norm LSTM
# (1000,8,32,64), one core, backward loop 8.9 ms, grads 7.9), while two blocks leave it a block's loop
# (0.55-0.65 L: the split's tax, bench/README.md), then half of G: about even on idle cores while L is near
# G (the layer-norm LSTM's L / G = 1.13 estimates 2.36), blocks ahead once L is well over 1.4 G (an estimate
# near 3). And the pipeline spends less CPU where the split taxes the loop, and its calling thread never waits
# for a worker's block. Measured whole training steps (bench/schedule_ab.py, 2 threads, the layer-norm LSTM,
# backward pipelined / on blocks, the forward on blocks both ways; the runs in bench/README.md):
# (50,32,64,128) wall 0.78-0.99, idle-core CPU 0.89-0.99 at load under 3; (1000,8,32,64) process CPU
# 0.90-0.99 at load 2-5; even at load 8-11. At 2 threads only: with more, blocks keep splitting the loop (a
# third or a quarter of it on the calling thread) and the pipeline does not, so there the backward follows
# LOOP_HEAVY as before (not measured: this machine has 2 cores).
LOOP_HEAVY_BACKWARD = 3.0
PIPELINE_CHUNKS = 8                  # time chunks of a pipelined loop by default (fewer when T is smaller)
PARALLEL_MIN_MACS = 24 * 1024 * 1024  # multiply-adds of the input projection below which one thread runs all

# How many time chunks a pipeline uses. More chunks balance its end better: when the loop ends, the
# calling thread and the workers share the chunks still queued, and they finish up to one chunk apart
# (the backward's products cost more than its loop at every shape of python -m bench, so that tail
# is always there: about G / (2 n) for products G in n chunks). But each chunk costs the calling thread
# a loop call and a product call (Numba's dispatch of some 40 arrays, the slicing: c ~ 40 us). The sum
# G / (2 n) + n c is least at n = sqrt(G / 2c). G is estimated from the input projection's
# multiply-adds (measured, one core: G ~ 1 ms per 15 M of them, LSTM (100,32,128,256) to (100,64,256,
# 512), RNN (100,32,128,256)); so n = sqrt(macs / CHUNK_MACS): 9 chunks for RNN (100,32,128,256), 19 for
# LSTM (100,32,128,256), 32 (the cap) for LSTM (100,64,256,512), where 8 left ~13 ms of a 350 ms step.
CHUNK_MACS = 1.2e6
MAX_PIPELINE_CHUNKS = 32
MIN_CHUNK_STEPS = 2                   # steps per chunk, at least


def min_rows(loop_heavy=False):
    """Rows a batch block needs at least: half as many for a loop-heavy cell (see LOOP_HEAVY)."""
    return max(1, MIN_ROWS_PER_THREAD // 2) if loop_heavy else MIN_ROWS_PER_THREAD


def block_edges(batch, threads, rows=None):
    """Row boundaries of the batch blocks for `threads` threads, each of at least `rows` rows (None:
    MIN_ROWS_PER_THREAD): [0, ..., batch]."""
    n_blocks = max(1, min(threads, batch // (rows or MIN_ROWS_PER_THREAD)))
    return [batch * k // n_blocks for k in range(n_blocks + 1)]


def run_blocks(loop, batch, threads, args, rows=None):
    """loop(*args, b0, b1) over the batch blocks for `threads` threads, claimed by whichever thread is free
    (blas.Claims: a worker that starts late leaves its block to the calling thread)."""
    if batch == 0:                                         # no sequences: nothing to run
        return
    edges = block_edges(batch, threads, rows)
    if len(edges) == 2:
        loop(*args, 0, batch)
        return
    with blas.single_threaded():
        blas.run_parts(lambda k: loop(*args, edges[k], edges[k + 1]), len(edges) - 1, threads)


def run_on_batch_blocks(loop, batch, *args):
    """loop(*args, b0, b1) for blocks [b0, b1) covering the batch, in parallel when worth it."""
    if batch < 2 * MIN_ROWS_PER_THREAD:                    # one block: skip asking for the thread count
        if batch:
            loop(*args, 0, batch)
        return
    run_blocks(loop, batch, blas.num_threads(), args)


def threads_for(n_steps, batch, n_in, gh):
    """How many threads a layer's forward and backward may use: 1 when the work is too small to share."""
    threads = blas.num_threads()
    if threads < 2 or n_steps * batch * n_in * gh < PARALLEL_MIN_MACS:
        return 1
    return threads


def pipelines(padded, n_steps, batch, threads, loop_heavy=False):
    """Whether the loop runs pipelined against the big products (else batch blocks, see above): not for a
    loop-heavy cell with rows for two blocks."""
    if loop_heavy and batch >= 2 * min_rows(True):
        return False
    return not padded and n_steps >= 2 and not (threads >= 3 and batch >= 3 * MIN_ROWS_PER_THREAD)


def time_parts(n_steps, parts):
    """[(a, b), ...]: real time split into at most `parts` nonempty slices."""
    n = max(1, min(parts, n_steps))
    edges = [n_steps * k // n for k in range(n + 1)]
    return list(zip(edges, edges[1:]))


def pipeline_chunks(n_steps, batch, n_in, gh):
    """How many time chunks a pipelined loop over (n_steps, batch) uses (see CHUNK_MACS above)."""
    best = int(round((n_steps * batch * n_in * gh / CHUNK_MACS) ** 0.5))
    return max(PIPELINE_CHUNKS, min(best, MAX_PIPELINE_CHUNKS, n_steps // MIN_CHUNK_STEPS))


def time_chunks(n_steps, reverse, n_chunks=PIPELINE_CHUNKS):
    """Real-time slices [a, b) of the pipeline's `n_chunks` chunks (fewer when n_steps is smaller), in
    processing order, and the real time of the step before each (None for the first): in a batch without
    padding, processing step s is real time s (or T-1-s for a reverse direction) for every row."""
    chunks = []
    for s0, s1 in time_parts(n_steps, n_chunks):
        a, b = (n_steps - s1, n_steps - s0) if reverse else (s0, s1)
        prev = None if s0 == 0 else (n_steps - s0 if reverse else s0 - 1)
        chunks.append((a, b, prev))
    return chunks


def forward_pipelined(loop, batch, threads, args_of, project, prepare, chunks):
    """The forward loop chunk by chunk on this thread, while threads-1 workers project the inputs of
    later chunks: project(a, b) fills pre[a:b] (each chunk's rows are its own: no two tasks write the
    same memory); args_of(a, b, prev) are the loop's arguments for one chunk; prepare() is the rest of
    what the loop needs (W_hh^T), done here while the workers start. The projections are claimed in
    order (blas.Claims): before each loop chunk this thread projects what nobody has started up to it,
    and waits only for a projection a worker is running."""
    claims = blas.Claims(len(chunks))

    def project_chunk(k):
        project(*chunks[k][:2])

    pool = blas.workers(threads - 1)
    for _ in range(min(threads - 1, len(chunks) - 1)):
        pool.submit(claims.run_worker, project_chunk)
    prepare()
    for k, (a, b, prev) in enumerate(chunks):
        claims.run_caller(project_chunk, upto=k)
        claims.wait(upto=k)
        loop(*args_of(a, b, prev), 0, batch)
    claims.wait()


def forward_blocks_pipelined(loop, batch, threads, args_of, project, parts, rows=None):
    """The input projection in time parts, then the forward loop on batch blocks, with one hand-off and
    no barrier between them: each thread, the calling one included, projects the parts it can claim,
    then claims a block and runs its loop part by part, each part once its projection is done (claiming
    it if nobody has: blas.Claims). Before, the projection and the blocks were two splits, so every step
    waited twice for a worker to wake (tens of microseconds each, milliseconds on a busy core) and the
    blocks waited for the slower projection part. args_of(a, b, prev) are the loop's arguments for time
    slice [a, b) of a batch without padding; project(a, b) fills pre[a:b]; rows: block_edges'."""
    edges = block_edges(batch, threads, rows)
    projections, blocks = blas.Claims(len(parts)), blas.Claims(len(edges) - 1)

    def project_part(k):
        project(*parts[k])

    def block(j):
        for k, (a, b) in enumerate(parts):
            projections.run_caller(project_part, upto=k)   # (here only a worker that starts very late)
            projections.wait(upto=k)
            loop(*args_of(a, b, None), edges[j], edges[j + 1])

    def work():
        projections.run_worker(project_part)
        blocks.run_worker(block)

    pool = blas.workers(threads - 1)
    for _ in range(min(threads, max(len(parts), len(edges) - 1)) - 1):
        pool.submit(work)
    try:
        projections.run_caller(project_part)
        blocks.run_caller(block)
    except BaseException:   # a part failed here: let the workers' blocks end before the arrays go back
        blocks.wait(raise_errors=False)
        raise
    blocks.wait()
    projections.wait()


class _Task:
    """One queued call fn(slot), run once by whichever thread takes it first; then its result or error."""
    __slots__ = ("fn", "slot", "done", "result", "error")

    def __init__(self, fn, slot):
        self.fn, self.slot, self.done, self.result, self.error = fn, slot, False, None, None


class TaskQueue:
    """Tasks in order, each run once by whichever thread takes it first: the workers (drain) and the
    calling thread (result, close). The caller never waits for a task nobody has started: it runs it
    itself, and while a worker runs the one it needs it takes the next ones (a worker that starts late
    on a busy machine leaves everything to the caller rather than holding it up). Used by the stored
    backward's pipeline (backward_pipelined) and the checkpointed pieces' overlap (compile/segments.py).

    Why slots: a weight gradient is a sum over time parts, and floating-point addition is not
    associative. Had each thread summed the parts it happened to take, which parts were added together,
    and in what order, would depend on timing, and the gradients' last bits would change from run to
    run. So a task that adds into accumulators names a slot (its part's number mod threads, whichever
    thread runs it); a slot's tasks run one at a time, in the order they were put (a thread skips a task
    whose slot is busy and takes the next one it may run); the caller sums the slots in order at the
    end. Every slot then sums the same parts in the same order on every run: at a fixed thread count
    the gradients are bitwise the same from run to run (tests/kernels/test_determinism.py), as PyTorch's
    CPU RNNs are. Another thread count has other slots, so other last bits."""

    def __init__(self, slots=0):
        self.cond = threading.Condition()
        self.todo = collections.deque()
        self.busy = [False] * slots
        self.pending, self.closed, self.errors = 0, False, []

    def put(self, fn, slot=None):
        """Queue fn(slot); slot None: a task that writes no accumulator (fn gets 0)."""
        task = _Task(fn, slot)
        with self.cond:
            self.todo.append(task)
            self.pending += 1
            self.cond.notify()
        return task

    def _take(self):
        """(Under the lock) the first queued task whose slot is free, taken off the queue; or None."""
        for i, task in enumerate(self.todo):
            if task.slot is None or not self.busy[task.slot]:
                del self.todo[i]
                if task.slot is not None:
                    self.busy[task.slot] = True
                return task
        return None

    def _run(self, task):
        fn, task.fn = task.fn, None   # what it holds (a piece's arrays) goes once it has run
        try:
            task.result = fn(0 if task.slot is None else task.slot)
        except BaseException as e:   # raised again on the calling thread (result, close)
            task.error = e
            self.errors.append(e)
        del fn
        with self.cond:
            task.done = True
            if task.slot is not None:
                self.busy[task.slot] = False
            self.pending -= 1
            self.cond.notify_all()

    def drain(self):
        """On a worker: run tasks as they come until close."""
        while True:
            with self.cond:
                task = self._take()
                while task is None and not (self.closed and not self.todo):
                    self.cond.wait()
                    task = self._take()
                if task is None:
                    return
            self._run(task)

    def result(self, task, until_idle=False):
        """On the calling thread: task's result, running queued tasks (in order) until it is done."""
        while True:
            with self.cond:
                if task is not None and task.done or until_idle and not self.pending:
                    break
                mine = self._take()
                if mine is None:
                    self.cond.wait()
                    continue
            self._run(mine)
        if task is None:
            return None
        if task.error is not None:
            raise task.error
        result, task.result = task.result, None
        return result

    def close(self):
        """Run or wait for every task left, stop the workers; a task's exception is raised here."""
        try:
            self.result(None, until_idle=True)
        finally:
            with self.cond:
                self.closed = True
                self.cond.notify_all()
        if self.errors:
            raise self.errors[0]


def backward_pipelined(loop, batch, threads, args_of, finish, chunks):
    """The backward loop chunk by chunk (last processed first) on this thread, while threads-1 workers
    take the products of the finished chunks (TaskQueue): finish(a, b, slot) adds chunk [a, b)'s share
    into the accumulators of `slot` (slot = the chunk's number mod threads, see TaskQueue: no accumulator
    is written by two threads at once, and each sums the same chunks in the same order on every run);
    the caller sums the slots in order. Once its loop is done, this thread takes the chunks still queued
    itself (close): the products cost about as much as the loop, or more (LSTM CPU ms, loop vs products:
    (100,32,128,256) 24.4 vs 28.3; (64,64,512,512) 106 vs 176)."""
    tasks = TaskQueue(threads)
    pool = blas.workers(threads - 1)
    for _ in range(threads - 1):
        pool.submit(tasks.drain)
    try:
        for j, (a, b, prev) in enumerate(reversed(chunks)):
            loop(*args_of(a, b, prev), 0, batch)
            tasks.put(lambda slot, a=a, b=b: finish(a, b, slot), j % threads)
    finally:
        tasks.close()


_ALL_STEPS = {}   # (B, T) -> the (B,) lengths array of a batch without padding, made once (nothing writes it)


def all_steps(batch, n_steps):
    """The (B,) lengths of a batch without padding (made once per shape; nothing writes it)."""
    full = _ALL_STEPS.get((batch, n_steps))
    if full is None:
        full = np.full(batch, n_steps, np.int64)
        if len(_ALL_STEPS) < 64:
            _ALL_STEPS[(batch, n_steps)] = full
    return full
