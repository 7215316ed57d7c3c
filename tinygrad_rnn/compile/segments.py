"""Checkpointed BPTT inside the compiled node: one layer-direction run piece by piece by a plan.

    out, finals, saved = forward_by_plan(kernel, x, states, params, lengths, reverse, plan)
    dx, dstates, dparams = backward_by_plan(kernel, saved, dout, dfinals, params, needs_params, need_dx)

A plan (nn/bptt_plan.py) is a tuple of pieces, Recomputed(steps, inner) or Stored(steps), in processing
order: here the kernels' own time order (node.py's _in_time_order; a reverse direction's step 0 is each
sequence's last valid step), so a piece is the same time slice [a, a + L) of every sequence and, with
lengths, each sequence's valid steps in it are clip(length - a, 0, L) (0: it keeps its state there).

Forward: each piece runs node.Kernel's own `project` + forward loop (its threads included) on buffers
of the piece's size from kernels/workspace.py, given back before the next piece takes the same sizes.
Its output rows go into the full output (where the output is returned as the loop writes it, forward
and without lengths, the loop writes them there itself: a piece's S0 is a view of the output, as the
whole sequence's is in Kernel.forward, so the stored piece keeps no second copy); the forward keeps
only the state entering each Recomputed piece and, of the last (Stored) piece, what the backward loop
and `grads` read (Kernel.kept). A
Recomputed piece's run (and every piece's, when no backward follows) is the loop that writes no saved
values (codegen: forward_states): nothing reads them before the piece is rerun.

Backward: pieces last first. A Stored piece runs the backward loop and `grads` on what it kept; a
Recomputed piece first reruns its forward from its entering state by its inner plan (keeping that
plan's entering states and last piece, recursively), then the same. The state gradients dS carry from
piece to piece in place (the loop reads the final state's gradient from dS and leaves the initial
state's there); the weight gradients accumulate over pieces (`grads` adds into them, beta 1); the loop's
per-row vector gradients dV<i> are fresh per piece, as `grads` adds them once per call that starts at
the piece's step 0. Python runs once per piece, never per step: every step is compiled code. On one
thread without lengths, pieces of one length run in one set of buffers kept from piece to piece (_Frame,
_rerun_serial; forward_states pieces: _states_serial), so that what Python does per piece is a few
assignments: it runs between kernels that have emptied the caches, where each call costs microseconds.

Threads: rather than split each piece over the threads on its own (its hand-offs paid once per piece, nothing
overlapping), the pieces overlap (runtime.TaskQueue): in the forward a worker projects piece i+1 while this
thread runs piece i's loop; in the backward a worker reruns pieces i-1 and i-2 (queued two ahead:
RERUNS_AHEAD) while this thread runs piece i's backward loop, and piece i's grads are split by time between
the threads. Plans that nest keep the per-piece split in their backward (the overlap holds two more pieces than
their planner counted).
"""
from typing import NamedTuple

import numpy as np

from ..kernels import blas, runtime, workspace
from ..nn.bptt_plan import Stored
from .node import _bind, _dout_rows, _in_time_order, _parameter_names


class _Sequence(NamedTuple):
    """What every piece of one call reads."""
    kernel: object
    base: dict        # the parameters as the kernels read them (Kernel._parameters); None while saved
    x: np.ndarray     # (T, B, I) in real time
    lens: np.ndarray  # (B,) each sequence's length (all T without padding)
    padded: bool
    reverse: bool
    history: np.ndarray = None  # (T + 1, B, n_0) in the forward when the output is returned as the kernels
                                # write it: row 0 the state entering, rows 1.. the output (None otherwise)
    masks: dict = None          # the dropouts' masks of all T steps (Kernel.draw_masks), drawn once by the forward:
                                # every piece, and every rerun of one, reads its slice of them


class _Recompute(NamedTuple):
    """A Recomputed piece as the forward leaves it: the state entering it, and the plan to rerun it by."""
    start: int
    steps: int
    inner: tuple
    entering: tuple


class _Keep(NamedTuple):
    """A Stored piece: what its backward reads (emptied by the backward that reads it; a second backward,
    retain_graph=True, recomputes it from the state entering it), and whether a sequence ends in it."""
    start: int
    steps: int
    arrays: dict
    padded: bool
    entering: tuple


class _Gradients(NamedTuple):
    """What every piece's backward adds into or reads: full-length dOut and dX in kernel time order, the
    state gradients (B, n) carried in place, the weight gradients' accumulators."""
    dout: np.ndarray  # None: no gradient reached the output
    dx: np.ndarray    # None: nothing writes it
    ds: tuple
    accs: dict
    need: np.ndarray
    need_dx: bool
    params: tuple
    needs_params: list


# ----------------------------------------------------------------------------- forward
def forward_by_plan(kernel, x, states, params, lengths, reverse, plan, states_only=False, masks=None):
    """As Kernel.forward, by `plan`: (out (T, B, n_0) in real time, finals as (1, B, n), saved).
    states_only: no backward follows (every piece runs forward_states). masks: the dropouts' masks (those of
    a forward run again: rerun_forward), else drawn."""
    T, B, _ = x.shape
    dt = kernel.prog.dtype
    padded = lengths is not None
    lens = runtime.all_steps(B, T) if lengths is None else np.ascontiguousarray(lengths, dtype=np.int64)
    entering = tuple(states) if states else tuple(np.zeros((B, n), dt) for _, _, n in kernel.states)
    history = None
    if not (padded or reverse):   # the output is returned as the loop writes it: each piece writes it in place
        history = np.empty((T + 1, B, kernel.prog.state_sizes[0]), dt)
        history[0] = entering[0]
        out = history[1:]
    else:
        out = np.empty((T, B, kernel.prog.state_sizes[0]), dt)
    seq = _Sequence(kernel, kernel._parameters(params), np.ascontiguousarray(x), lens, padded, reverse, history,
                    kernel.draw_masks(T, B) if masks is None else masks)
    threads = runtime.threads_for(plan[0].steps, B, x.shape[2], kernel.widest)
    if _overlaps(threads, B) and len(plan) > 1:
        kept, final = _forward_overlapped(seq, plan, entering, out, threads, states_only)
    else:
        kept, final = _forward_pieces(seq, plan, 0, entering, out, states_only)
    if padded:   # the loop copies the state through padded steps; the output there is 0
        out[np.arange(T)[:, None] >= lens[None, :]] = 0
    finals = tuple(f.reshape(1, *f.shape) for f in final)
    return _in_time_order(out, lens, padded, reverse), finals, (kept, seq._replace(base=None, history=None))


def rerun_forward(kernel, saved, params, lengths, plan):
    """forward_by_plan's `saved` made again from the same input, initial state and dropout masks with the
    parameters' current values: a parameter was written in place since the forward, and the backward, as torch's
    non-reentrant checkpoint, recomputes with the values the parameters hold now (the pieces kept from the forward
    hold the old ones)."""
    kept, seq = saved
    return forward_by_plan(kernel, seq.x, kept[0].entering, params, lengths, seq.reverse, plan,
                           masks=seq.masks)[2]


def arrays_read(saved, n_params):
    """The arrays of forward_by_plan's `saved` (the input, the masks, what each piece kept but the parameters and
    the kernel's constants): what its backward reads apart from the parameters, whose in-place writes it follows
    (rerun_forward); tape._backward_reads asks."""
    kept, seq = saved
    k = seq.kernel
    own = {name for par, vec, _, _ in _parameter_names(n_params) for name in (par, vec)}
    own |= {name for wt, P_, _, _, _, _ in k.products for name in (wt, P_)} | set(k.constants)
    pieces = tuple(({n: v for n, v in piece.arrays.items() if n not in own} if type(piece) is _Keep else {},
                    piece.entering) for piece in kept)
    return seq.x, seq.masks or {}, pieces


def _forward_pieces(seq, plan, a, entering, out, states_only=False):
    """Run `plan`'s pieces from kernel time a and state `entering`, writing the outputs into out[a:] when
    out is given. Returns (what each piece leaves for the backward, the final state parts (B, n))."""
    k = seq.kernel
    kept, frame = [], None   # frame: (steps, buffers) of the last states-only piece, reused (_states_serial)
    for i, piece in enumerate(plan):
        L = piece.steps
        if type(piece) is not Stored and _one_thread(seq, L):
            if frame is None or frame[0] != L:
                frame = None   # (its buffers back to the pool first)
                frame = (L, _piece_buffers(seq, 0, L, (), states_only=True)[0])
            arrays, padded = _states_serial(seq, a, L, entering, frame[1]), False
        else:
            frame = None
            arrays, padded = _run_piece(seq, a, L, entering, states_only=_states_only(piece, states_only))
        if out is not None and seq.history is None:
            out[a:a + L] = arrays["S0"][1:]
        kept.append(_kept(k, piece, a, arrays, padded, entering))
        entering = _leaving(seq, arrays, L, i + 1 == len(plan))
        del arrays   # the piece's buffers go back to the pool before the next piece asks for the same sizes
        a += L
    return kept, entering


def _one_thread(seq, L):
    """Whether a piece of L steps runs on this thread alone, without padding: it can run in buffers kept
    from the piece before (_states_serial, _rerun_serial)."""
    return not seq.padded and runtime.threads_for(L, seq.x.shape[1], seq.x.shape[2], seq.kernel.widest) == 1


def _states_serial(seq, a, L, entering, arrays):
    """A Recomputed piece's forward_states over kernel time [a, a + L) in the buffers `arrays` of the
    piece before (as _run_piece does in fresh ones: the same calls, the same results); returns them.
    Why: Python per piece, run between kernels that have emptied the caches, costs a good part of a
    millisecond (issue 17's step: 29 pieces forward, 29 in the backward)."""
    arrays["X"] = _piece_x(seq, a, L)
    _piece_masks(seq, a, L, arrays)
    if seq.history is not None:
        arrays["S0"] = seq.history[a:a + L + 1]
    for (name, _, _), state in zip(seq.kernel.states, entering):
        arrays[name][0] = state
    seq.kernel._run_forward(arrays, L, seq.x.shape[1], seq.x.shape[2], False, states_only=True)
    return arrays


def _leaving(seq, arrays, L, last):
    """The state leaving a piece of L steps (the next one's entering state), as (B, n) arrays: copies of
    its buffers' last rows (they go back to the pool), but where the output is the history the loop
    writes, its output part is a view of the output's row: the output is kept anyway, so a kept state
    costs only its other parts (an LSTM's c, not h). The final state is a copy: whoever keeps it (the
    next batch's initial state) must not keep the whole output."""
    return tuple(arrays[name][L] if k == 0 and seq.history is not None and not last else arrays[name][L].copy()
                 for k, (name, _, _) in enumerate(seq.kernel.states))


def _states_only(piece, no_backward):
    """Whether a piece's forward need not write the saved values: nothing reads them before it is rerun
    (a Recomputed piece), or at all."""
    return no_backward or type(piece) is not Stored


def _kept(k, piece, a, arrays, padded, entering):
    """What the forward leaves of a piece for the backward: a Stored piece's arrays the backward reads, or
    a Recomputed piece's entering state."""
    if type(piece) is Stored:
        return _Keep(a, piece.steps, {n: v for n, v in arrays.items() if n in k.kept}, padded, entering)
    return _Recompute(a, piece.steps, piece.inner, entering)


def _forward_overlapped(seq, plan, entering, out, threads, states_only=False):
    """_forward_pieces (from time 0) on `threads` threads: this thread runs each piece's forward loop over
    the whole batch while a worker makes the next piece's buffers and projects its inputs (it needs
    nothing from the piece before; runtime.TaskQueue: this thread does it itself if no worker has started
    it). Two pieces' buffers are alive at once where one thread holds one."""
    k, B = seq.kernel, seq.x.shape[1]
    starts = np.cumsum([0] + [piece.steps for piece in plan]).tolist()

    def prepare(i):
        arrays, padded = _piece_buffers(seq, starts[i], plan[i].steps, (), _states_only(plan[i], states_only))
        k.module.project(*_bind(k.project_args, arrays), 0, plan[i].steps)
        return arrays, padded

    kept, tasks = [], runtime.TaskQueue()
    with blas.single_threaded():
        pool = blas.workers(threads - 1)
        for _ in range(1, threads):
            pool.submit(tasks.drain)
        try:
            ahead = tasks.put(lambda slot: prepare(0))
            for i, piece in enumerate(plan):
                arrays, padded = tasks.result(ahead)
                if i + 1 < len(plan):
                    ahead = tasks.put(lambda slot, j=i + 1: prepare(j))
                for (name, _, _), state in zip(k.states, entering):
                    arrays[name][0] = state
                if i + 1 < len(plan):
                    _loop(k, arrays, B, _states_only(piece, states_only))
                else:   # nothing left to project: the workers share the last loop
                    _loop_on_blocks(tasks, k, arrays, B, _states_only(piece, states_only), threads)
                a, L = starts[i], piece.steps
                if seq.history is None:
                    out[a:a + L] = arrays["S0"][1:]
                kept.append(_kept(k, piece, a, arrays, padded, entering))
                entering = _leaving(seq, arrays, L, i + 1 == len(plan))
                del arrays
        finally:
            tasks.close()
    return kept, entering


def _loop_on_blocks(tasks, k, arrays, B, states_only, threads):
    """The forward loop split over batch blocks, as Kernel.forward splits a whole sequence's: the blocks
    after the first queued for the workers (runtime.TaskQueue), the first run here. For the overlapped
    forward's last piece, which no projection of a next piece overlaps: alone on this thread it would
    leave the workers idle for the whole piece (the stored tail, 88 steps at T = 1000). Not
    runtime.run_blocks: that hands the blocks to new pool tasks, and here the workers are busy draining
    `tasks` until it closes, so this thread would run every block itself."""
    loop, args = k.loop(states_only)
    bound = _bind(args, arrays)
    edges = runtime.block_edges(B, threads, runtime.min_rows(k.loop_heavy))
    parts = [tasks.put(lambda slot, b0=b0, b1=b1: loop(*bound, b0, b1)) for b0, b1 in zip(edges[1:-1], edges[2:])]
    loop(*bound, edges[0], edges[1])
    for part in parts:
        tasks.result(part)


def _run_piece(seq, a, L, entering, single=False, states_only=False):
    """Kernel time [a, a + L) forward from state `entering`: the piece's arrays (as Kernel.forward makes
    them for a whole sequence) and whether a sequence ends inside it. single: on this thread only (a
    worker of the overlapped backward), else split over the threads as Kernel.forward does. states_only:
    by forward_states (no saved values)."""
    k = seq.kernel
    arrays, padded = _piece_buffers(seq, a, L, entering, states_only)
    B, I = seq.x.shape[1], seq.x.shape[2]
    if single:
        k.module.project(*_bind(k.project_args, arrays), 0, L)
        _loop(k, arrays, B, states_only)
    else:
        k._run_forward(arrays, L, B, I, padded, states_only)
    return arrays, padded


def _loop(k, arrays, B, states_only):
    """The forward loop over the whole batch on this thread: forward, or forward_states."""
    loop, args = k.loop(states_only)
    loop(*_bind(args, arrays), 0, B)


def _piece_buffers(seq, a, L, entering, states_only=False):
    """The forward's arrays for kernel time [a, a + L) before anything runs (from the pool; the states'
    row 0 from `entering`, () for zeros), and whether a sequence ends inside the piece."""
    k, p = seq.kernel, seq.kernel.prog
    B, I = seq.x.shape[1], seq.x.shape[2]
    if seq.padded:
        lens = np.clip(seq.lens - a, 0, L)
        padded = bool((lens < L).any())
    else:
        lens, padded = runtime.all_steps(B, L), False
    empty = workspace.allocator(L * B * max(k.widest, I), p.dtype)
    arrays = dict(seq.base)
    arrays["lengths"], arrays["X"] = lens, _piece_x(seq, a, L)
    _piece_masks(seq, a, L, arrays)
    k.forward_buffers(arrays, L, B, entering, padded, empty, states_only)
    if seq.history is not None:   # the output rows themselves: no copy, and a stored piece keeps no second one
        arrays["S0"] = seq.history[a:a + L + 1]   # row 0, the state entering, written by the piece before
    return arrays, padded


def _piece_x(seq, a, L):
    """The input of kernel time [a, a + L): a view in a forward direction, gathered in a reverse one
    (kernel step t of a sequence of length n is its real step n - 1 - t)."""
    x = seq.x
    if not seq.reverse:
        piece = x[a:a + L]
    elif not seq.padded:
        piece = np.ascontiguousarray(x[x.shape[0] - a - L:x.shape[0] - a][::-1])
    else:
        t = np.arange(a, a + L)[:, None]
        source = np.where(t < seq.lens[None, :], seq.lens[None, :] - 1 - t, t)
        piece = x[source, np.arange(x.shape[1])[None, :]]
    mask = seq.kernel.input_mask   # x = drop(x): the kernels' input is the dropped x (Program.input_mask)
    return piece if mask is None else piece * seq.masks[mask][a:a + L]


def _piece_masks(seq, a, L, arrays):
    """Put the dropouts' masks of kernel time [a, a + L) into `arrays`: views of those the forward drew."""
    for name, mask in seq.masks.items():
        arrays[name] = mask[a:a + L]


# ----------------------------------------------------------------------------- backward
def backward_by_plan(kernel, saved, dout, dfinals, params, needs_params, need_dx=True):
    """As Kernel.backward, for what forward_by_plan saved: (dx, state gradients (B, n), parameter gradients)."""
    kept, seq = saved
    seq = seq._replace(base=kernel._parameters(params))
    p, dt = kernel.prog, kernel.prog.dtype
    T, B, I = seq.x.shape
    if dout is not None:   # a broadcast dOut (from out.sum()) stays one row, as in Kernel.backward
        dout = _dout_rows(dout, seq.lens, seq.padded, seq.reverse, kernel.dtype)
    needs_params = [n and i in kernel.read for i, n in enumerate(needs_params)]
    dx = None   # (T, B, I) when the loop or grads writes it
    if p.uses_x:   # the loop adds its own part of dx into dX
        dx = np.zeros((T, B, I), dt)
    elif need_dx and p.projections:
        dx = np.empty((T, B, I), dt)
    ds = tuple(np.zeros((B, n), dt) if d is None else np.array(d[0], dtype=dt, order="C", copy=True)
               for (_, _, n), d in zip(kernel.states, dfinals))
    grad = _Gradients(dout, dx, ds, kernel._accumulators(params, needs_params),
                      np.array(needs_params, dtype=np.bool_), need_dx, params, needs_params)
    threads = runtime.threads_for(kept[0].steps, B, I, kernel.widest)
    if _overlaps(threads, B) and all(type(piece) is _Keep or _flat(piece) for piece in kept):
        _backward_overlapped(seq, kept, grad, threads)
    else:
        _backward_pieces(seq, kept, grad)
    dparams = [grad.accs[names[2]] if n else None for names, n in zip(_parameter_names(len(params)), needs_params)]
    if not (need_dx and (p.uses_x or p.projections)):
        return None, ds, dparams
    if kernel.input_mask is not None:   # the kernels' dx is that of the dropped x
        dx = dx * seq.masks[kernel.input_mask]
    return _in_time_order(dx, seq.lens, seq.padded, True) if seq.reverse else dx, ds, dparams


def _backward_pieces(seq, kept, grad):
    """The backward of pieces `kept` (as _forward_pieces left them), last first. A stored piece's arrays
    are dropped as soon as its backward has read them: they go back to the pool before the pieces
    before it are recomputed (the planner's model counts them freed)."""
    frame = None   # the last rerun's buffers on one thread (_rerun_serial): reused by the next
    for piece in reversed(kept):
        if _serial(seq, piece):
            if frame is None or frame.steps != piece.steps:
                frame = None   # (its buffers back to the pool first)
                frame = _Frame.of(seq, piece.steps, grad)
            _rerun_serial(seq, piece, frame, grad)
            continue
        frame = None
        if type(piece) is _Keep:
            arrays = dict(piece.arrays)
            piece.arrays.clear()
            padded = piece.padded
            if not arrays:   # freed by an earlier backward (retain_graph=True): run it again
                arrays, padded = _run_piece(seq, piece.start, piece.steps, piece.entering)
            _backward_piece(seq, piece.start, piece.steps, arrays, padded, grad)
            del arrays
        else:
            inner, _ = _forward_pieces(seq, piece.inner, piece.start, piece.entering, None)
            _backward_pieces(seq, inner, grad)


def _serial(seq, piece):
    """Whether a piece is a flat rerun (one Stored piece inside) that runs on this thread alone, without
    padding: _rerun_serial's case (every piece of checkpoint=True's plan at one thread)."""
    return (type(piece) is _Recompute and len(piece.inner) == 1 and type(piece.inner[0]) is Stored
            and _one_thread(seq, piece.steps))


class _Frame(NamedTuple):
    """The arrays of a rerun piece of `steps` steps and its backward (forward buffers, gradient buffers,
    the weight gradients' accumulators), made once for every piece of that length (_rerun_serial), and
    the gradient buffers to zero after each piece's forward: those the backward loop does not assign
    whole. A gradient buffer is a buffer that only the forward uses (kernels' `kept` does not list it:
    the projection, an LSTM's XW0) where one has its shape: it is dead once the forward loop has read it,
    as the pool made it before (the forward's buffers went back before the backward's were taken), so
    the piece holds no more memory than then."""
    steps: int
    args: dict
    zeroed: tuple

    @classmethod
    def of(cls, seq, L, grad):
        k = seq.kernel
        arrays, padded = _piece_buffers(seq, 0, L, ())
        spare = [arrays[name] for name, _, _ in k.projected if name not in k.kept]
        spare += [arrays[name] for name, _, _ in k.per_step if name in arrays and name not in k.kept]
        pooled = workspace.allocator(L * seq.x.shape[1] * max(k.widest, seq.x.shape[2]), k.prog.dtype)

        def empty(shape, dtype):   # a spare buffer of that shape, else one from the pool
            for buf in spare:
                if buf.shape == shape and buf.dtype == dtype:
                    spare.remove(buf)
                    return buf
            return pooled(shape, dtype)

        args = {**_piece_gradient_args(seq, 0, L, arrays, grad, padded, empty), **grad.accs}
        names = [name for _, _, _, _, name, _ in k.products] + [name for _, name, _ in k.projected
                                                                   if name not in k.aliased]
        return cls(L, args, tuple(names))


def _rerun_serial(seq, piece, frame, grad):
    """A flat rerun piece's forward and backward on this thread, in the buffers of `frame` (_Frame), as
    _forward_pieces + _backward_piece do, with the same calls in the same order (the same results): only
    what differs from piece to piece is set (the input and gradient slices, the entering state, the
    vector gradients zeroed). Why: Python per piece, run between kernels that have emptied the caches,
    cost about half a millisecond a piece (issue 17's step: 29 pieces, some 15 ms of 1.3 s)."""
    k, m, args = seq.kernel, seq.kernel.module, frame.args
    a, L, B = piece.start, piece.steps, seq.x.shape[1]
    args["X"] = _piece_x(seq, a, L)
    _piece_masks(seq, a, L, args)
    for (name, _, _), state in zip(k.states, piece.entering):
        args[name][0] = state
    if grad.dout is not None and grad.dout.shape[0] != 1:
        args["dOut"] = grad.dout[a:a + L]
    if grad.dx is not None:
        args["dX"] = grad.dx[a:a + L]
    for name, _ in k.vector_grads:
        args[name].fill(0)
    m.project(*k.project_args.pick(args), 0, L)
    runtime.run_on_batch_blocks(m.forward, B, *k.forward_args.pick(args))
    for name in frame.zeroed:   # (after the forward: a gradient buffer may be one the forward used)
        if name not in k.assigned:
            args[name].fill(0)
    runtime.run_on_batch_blocks(m.backward, B, *k.backward_args.pick(args))
    m.grads(*k.grads_args.pick(args), grad.need, grad.need_dx, False, 0, L)


def _backward_piece(seq, a, L, arrays, padded, grad):
    """The backward loop and grads over kernel time [a, a + L), as Kernel.backward does for a whole sequence."""
    k = seq.kernel
    args = _piece_gradient_args(seq, a, L, arrays, grad, padded)
    threads = runtime.threads_for(L, seq.x.shape[1], seq.x.shape[2], k.widest)
    m = k.module
    if threads == 1:
        runtime.run_on_batch_blocks(m.backward, seq.x.shape[1], *_bind(k.backward_args, args))
        m.grads(*_bind(k.grads_args, {**args, **grad.accs}), grad.need, grad.need_dx, False, 0, L)
    else:
        k._backward_threads(args, grad.accs, grad.need, grad.need_dx, grad.params, grad.needs_params, threads, padded)


def _piece_gradient_args(seq, a, L, arrays, grad, padded, empty=None):
    """The backward loop's and grads' arrays for kernel time [a, a + L): the piece's forward arrays, its
    slices of dOut and dX, the carried dS, and fresh (pooled) gate gradients. As Kernel._gradient_buffers,
    those the loop assigns whole (Kernel.assigned) are not zeroed where no sequence ends in the piece
    (a padded step is not run: its rows must be 0). empty: what the gate gradients come from (None: the
    pool)."""
    k, p = seq.kernel, seq.kernel.prog
    dt, B, I = p.dtype, seq.x.shape[1], seq.x.shape[2]
    empty = empty or workspace.allocator(L * B * max(k.widest, I), dt)
    assigned = () if padded else k.assigned

    def zeros(shape, name=None):
        buf = empty(shape, dt)
        if name not in assigned:
            buf.fill(0)
        return buf

    args = dict(arrays)
    # (one step of dOut, the same at every step (_dout_rows; none reached the output: zeros), is not sliced)
    dout = np.zeros((1, 1, p.state_sizes[0]), dt) if grad.dout is None else grad.dout
    args["dOut"] = dout if dout.shape[0] == 1 else dout[a:a + L]
    for (_, name, _), d in zip(k.states, grad.ds):
        args[name] = d
    # a piece's forward arrays serve its own backward once (a stored piece's are dropped from it, a rerun's
    # are its own): its loop writes the gradients it may over the arrays it reads (Kernel.consumed), as
    # Kernel.backward's last backward does; not when padded (the gradients are zeroed first)
    consumed = {} if padded else {c.grad: c.read for c in k.consumed if c.grad in assigned}
    for _, _, _, _, name, n in k.products:
        args[name] = args[consumed[name]] if name in consumed else zeros((L, B, n), name)
    for _, name, n in k.projected:   # dXW is dC where the plan proved them equal
        args[name] = (args[k.aliased[name]] if name in k.aliased else args[consumed[name]] if name in consumed
                      else zeros((L, B, n), name))
    args["dX"] = np.zeros((1, 1, 1), dt) if grad.dx is None else grad.dx[a:a + L]
    for name, n in k.vector_grads:   # fresh per piece: grads adds them once, in the call that starts at step 0
        args[name] = np.zeros((B, n), dt)
    return args


# ----------------------------------------------------------------------------- the backward on several threads
def _overlaps(threads, batch):
    """Whether the pieces overlap (below) rather than each being split over the threads. Overlapping runs
    each loop on one thread over the whole batch, as runtime.py's pipeline does, so it is chosen where
    that is: with 3+ threads and rows for 3+ batch blocks the per-piece split keeps splitting the loops
    and overlapping does not (measured only at 2 threads: this machine has 2 cores)."""
    return threads == 2 or threads > 2 and batch < 3 * runtime.MIN_ROWS_PER_THREAD


def _flat(piece):
    """A Recomputed piece whose rerun is one stored piece (every piece of checkpoint=K's plan)."""
    return len(piece.inner) == 1 and type(piece.inner[0]) is Stored


RERUNS_AHEAD = 2   # pieces whose rerun is queued before this thread's backward loop needs them (below)


def _backward_overlapped(seq, kept, grad, threads):
    """_backward_pieces on `threads` threads, for pieces that each rerun as one piece: while this thread
    runs piece i's backward loop (the serial chain: dS goes from piece to piece), a worker reruns the
    forward of piece i-1 (it needs only its entering state), and the grads of piece i are split by time
    into parts that either thread takes (runtime.TaskQueue, in order: the rerun first). Every task runs
    the generated functions on one thread over the whole batch; grads part j of a piece adds into the
    accumulators of slot j % threads, whichever thread runs it (runtime.TaskQueue runs a slot's parts one
    at a time, in order: the sums do not depend on timing), and the slots are summed in order at the end.
    Reruns are queued RERUNS_AHEAD pieces ahead (two): the first piece is the stored tail (88 steps of
    issue 17's step against 32 for a rerun), and with one rerun queued the worker sat idle for the
    rest of the tail's loop. At most four pieces' arrays are alive at once (one whose grads are still
    running, one in its loop, two rerun ahead) where one thread holds one: the 2-thread step's
    tracemalloc peak 144-151 MB against 135-137 MB with one ahead (full storage's: 398 MB)."""
    k, B = seq.kernel, seq.x.shape[1]
    slots = [grad.accs] + [k._accumulators(grad.params, grad.needs_params) for _ in range(threads - 1)]
    pieces = list(reversed(kept))
    tasks = runtime.TaskQueue(threads)
    with blas.single_threaded():
        pool = blas.workers(threads - 1)
        for _ in range(1, threads):
            pool.submit(tasks.drain)
        try:
            ahead = [tasks.put(lambda slot, p=p: _piece_arrays(seq, p)) for p in pieces[:RERUNS_AHEAD]]
            for i, piece in enumerate(pieces):
                arrays, padded = tasks.result(ahead.pop(0))
                if i + RERUNS_AHEAD < len(pieces):
                    ahead.append(tasks.put(lambda slot, before=pieces[i + RERUNS_AHEAD]: _piece_arrays(seq, before)))
                args = _piece_gradient_args(seq, piece.start, piece.steps, arrays, grad, padded)
                del arrays
                k.module.backward(*_bind(k.backward_args, args), 0, B)
                # grads' parts hold only what grads reads: the loop's own buffers go back to the pool now
                args = {arg.name: args[arg.name] for arg in k.grads_args if arg.name in args}
                for j, (a, b) in enumerate(runtime.time_parts(piece.steps, 2 * threads)):
                    tasks.put(lambda slot, a=a, b=b, args=args: k.module.grads(
                        *_bind(k.grads_args, {**args, **slots[slot]}), grad.need, grad.need_dx, False, a, b),
                        j % threads)
                del args
        finally:
            tasks.close()
    k.add_slots(grad.accs, slots[1:], grad.needs_params)


def _piece_arrays(seq, piece):
    """A piece's forward arrays for its backward, on this thread only: what the forward kept (a Stored
    piece, handed over and dropped from `piece`), else its forward rerun from its entering state."""
    if type(piece) is _Keep and piece.arrays:
        arrays = dict(piece.arrays)
        piece.arrays.clear()
        return arrays, piece.padded
    return _run_piece(seq, piece.start, piece.steps, piece.entering, single=True)
