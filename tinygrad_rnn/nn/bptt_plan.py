"""Which steps of a sequence BPTT keeps, and how a layer runs a sequence by such a plan.

Storing every step's activations makes backpropagation through time's memory grow with T. A plan
keeps the state at a few steps and recomputes the rest in the backward pass (on the generic tape
run_planned below, with tr.checkpoint doing the recomputing; the fused kernels run a plan inside their
one node, compile/segments.py). A plan is a tuple of pieces covering the sequence in processing order:

    Recomputed(steps, inner)   run under tr.checkpoint: only the state entering it is kept; its
                               backward reruns it, recording it by the plan `inner` (nesting)
    Stored(steps)              run and recorded as usual (only as the last piece of a plan)

The model the planner optimises (and the tests check plans against): a recorded step keeps
`step_bytes` until its backward ran, a kept state `state_bytes`. While piece i's backward runs,
pieces after it are done and freed, and the states entering pieces 1..i are still kept, so

    memory(plan) = max over pieces i of  i * state_bytes + memory(piece i)
    memory(Stored(t)) = t * step_bytes,   memory(Recomputed(t, inner)) = memory(inner)
    cost(plan) = sum over pieces of  t (its forward) + cost(inner) (its recomputation, if Recomputed)

in steps run forward (the backward's own T steps come on top, whatever the plan). Splitting a
sequence of t steps after y steps under a budget m gives Gruslys et al.'s recurrence (2016,
"Memory-Efficient Backpropagation Through Time", their BPTT-HSM with whole-segment storage):

    C(t, m) = t                                              if t * step_bytes <= m
            = min over 1 <= y < t of  y + C(y, m) + C(t - y, m - state_bytes)   otherwise

solved by dynamic programming (budget_plan). To stay fast at T = 100,000 it plans over at most
`max_blocks` blocks of consecutive steps and counts memory in at most `max_units` units, rounding
each block's and each state's size up: a plan it returns therefore never exceeds the budget in the
model above (tests/nn/test_bptt_memory.py checks this over drawn budgets and T).

`uniform_plan(T, K)` is checkpoint=K: a piece every K steps, each recomputed once but the last (Chen
et al. 2016; K = ceil(sqrt(T)) gives O(sqrt(T)) memory for one extra forward pass). checkpoint=True
(sqrt_plan) keeps the state every K = ceil(sqrt(T)) steps (every 2 K on one thread: SERIAL_SPAN) and
stores its last floor(2.75 K) steps as one Stored piece: they are not rerun.
"""
import functools
import math
from typing import NamedTuple

import numpy as np

from ..recompute import checkpoint
from ..tensor import Tensor, concatenate, where


class Stored(NamedTuple):
    steps: int


class Recomputed(NamedTuple):
    steps: int
    inner: tuple  # the plan its recomputation records by


# ----------------------------------------------------------------------------- plans and their model
def uniform_plan(T, K, stored=1):
    """checkpoint=K: pieces of K steps, the first one shorter if K does not divide T, the last `stored`
    of them (floor(stored * K) steps: `stored` may be a fraction) run as one Stored piece. The short
    piece comes first so that the stored tail is whole: the backward starts there and never reruns it,
    so a longer tail is a longer stretch not recomputed."""
    return _uniform(T, K, min(T, max(1, math.floor(stored * K))))


def _uniform(T, K, tail):
    """Pieces of K steps after the first (shorter if K does not divide T - tail), the last `tail` steps
    one Stored piece."""
    if tail == T:
        return (Stored(T),)
    head = T - tail
    sizes = ([head % K] if head % K else []) + [K] * (head // K)
    return tuple(Recomputed(k, (Stored(k),)) for k in sizes) + (Stored(tail),)


# How many pieces' worth of checkpoint=True's last steps are stored. Each stored step saves one step of
# the backward's rerun (projection and forward loop, about 0.4 of a step of the training step) for a
# step's saved values kept from the forward to the backward: 2.75 pieces keep about 2.75 sqrt(T) steps
# more (memory stays O(sqrt(T))). At issue 17's T = 1000 (a fused LSTM keeps 6 numbers per step and
# sequence for a stored step, 1 for a kept state: its h is the output's own row), that is 88 steps and
# 29 states, about 9.4% of what storing every step keeps, inside the 10%; 3 pieces (96 steps)
# would keep 10.1%.
SQRT_STORED_PIECES = 2.75

# checkpoint=True's pieces are SERIAL_SPAN * ceil(sqrt(T)) steps long where the backward runs one piece at a
# time (the library on one thread: layers.bptt_plan): half the pieces, so half the per-piece costs (a
# 1024-row projection call is about 8% slower per row than one over the whole sequence, and Python runs
# between kernels that have emptied the caches), for half the kept states and one rerun piece of twice
# the steps alive at a time. Issue 17's step at 1 thread (T = 1000, pieces of 64 steps against 32, the
# same 88-step tail): 0.98 of the CPU time, in one process alternating (bench/serial_span_ab.py; across
# processes the noise was as large), step peak 0.324 of full storage's against 0.302, kept 0.092
# against 0.094. Not on several threads: there
# the backward holds four pieces at once (compile/segments.py RERUNS_AHEAD) and 64-step pieces peak at
# 0.46 of full storage (0.40 with one rerun ahead), over issue 17's 0.40.
SERIAL_SPAN = 2


def sqrt_plan(T, span=1):
    """checkpoint=True: the state kept every span * K steps, K = ceil(sqrt(T)) (span: 1, or SERIAL_SPAN
    where the backward runs one piece at a time), the last floor(SQRT_STORED_PIECES * K) steps stored."""
    K = max(1, math.ceil(math.sqrt(T)))
    return _uniform(T, span * K, min(T, max(1, math.floor(SQRT_STORED_PIECES * K))))


def plan_memory(plan, state_bytes, step_bytes):
    """Peak bytes the plan keeps for the backward pass, in the model of the module docstring."""
    peak = 0
    for i, piece in enumerate(plan):
        inner = piece.steps * step_bytes if type(piece) is Stored else plan_memory(piece.inner, state_bytes, step_bytes)
        peak = max(peak, i * state_bytes + inner)
    return peak


def plan_cost(plan):
    """Steps run forward in total: the forward pass plus every recomputation."""
    return sum(p.steps + (plan_cost(p.inner) if type(p) is Recomputed else 0) for p in plan)


def plan_depth(plan):
    """How deeply the recomputations nest (0 for a plan that stores everything)."""
    return max((1 + plan_depth(p.inner) for p in plan if type(p) is Recomputed), default=0)


def stored_states(plan):
    """How many states the forward pass keeps (one per Recomputed piece, at the top level)."""
    return sum(type(p) is Recomputed for p in plan)


# ----------------------------------------------------------------------------- the dynamic program
def _flat_minimum(t, state_bytes, step_bytes):
    """(memory, K) of the flat plan uniform_plan(t, K) that keeps the least: (pieces - 1) states
    and one piece of K steps recorded at a time."""
    if t == 0:
        return 0, 1
    K = np.arange(1, t + 1)
    memory = (-(-t // K) - 1) * state_bytes + K * step_bytes
    best = int(memory.argmin())
    return int(memory[best]), best + 1


@functools.lru_cache(maxsize=64)
def budget_plan(T, budget, state_bytes, step_bytes, max_blocks=128, units_per_block=16, max_units=4096):
    """The cheapest plan (fewest steps run forward) whose memory stays within `budget` bytes.

    Plans over at most max_blocks blocks of consecutive steps; memory is counted in units (sizes
    rounded up) of a state's size, but at most 1/16 of a block and at least budget / max_units.
    Besides storing a run of blocks, a run may be a flat checkpoint=K chain (the K that keeps the
    least), so budgets smaller than one block's steps still find a plan.
    Raises ValueError only when not even the flat plan that keeps the least fits (it names that least)."""
    T, budget = int(T), int(budget)
    if T * step_bytes <= budget:
        return (Stored(T),)
    # Blocks of equal length (the last one shorter): pieces then come in few distinct lengths, and the
    # fused kernels' buffer pool (kernels/workspace.py), which keeps idle buffers per exact size, few sizes.
    block = -(-T // min(T, max_blocks))  # memory and cost are counted with this length
    n_blocks = -(-T // block)
    bounds = [min(i * block, T) for i in range(n_blocks + 1)]  # block i: steps bounds[i]..bounds[i+1]-1
    unit = max(1.0, min(block * step_bytes / units_per_block, max(budget / max_units, state_bytes)))
    units = int(budget // unit)
    flat = [_flat_minimum(n * block, state_bytes, step_bytes) for n in range(n_blocks + 1)]
    leaf = _LeafCosts(block, math.ceil(block * step_bytes / unit), [math.ceil(m / unit) for m, _ in flat],
                      [_flat_cost(n * block, k) for n, (_, k) in enumerate(flat)])
    cost, choice = _solve(n_blocks, units, math.ceil(state_bytes / unit), leaf)
    if not np.isfinite(cost[n_blocks, units]):
        least, K = _flat_minimum(T, state_bytes, step_bytes)
        if least <= budget:  # lost to rounding in the units: the flat plan, counted exactly, fits
            return uniform_plan(T, K)
        raise ValueError(f"memory_budget={budget} bytes is too small for T={T} steps (a state takes {state_bytes} "
                         f"bytes, a recorded step {step_bytes}): no plan fits; the flat plan that keeps the least "
                         f"(checkpoint={K}) needs {least} bytes")
    return _rebuild(n_blocks, units, 0, choice, math.ceil(state_bytes / unit), bounds, [k for _, k in flat])


class _LeafCosts(NamedTuple):
    """How a run of n blocks can be done without splitting it further: stored (n * store_units
    memory units, n * block steps run), or as a flat chain (flat_units[n] units, flat_steps[n] steps)."""
    block: int
    store_units: int
    flat_units: list
    flat_steps: list


# Among plans that run as many steps, the one with fewer pieces: each piece costs a few calls (a kernel
# launch, a tape node) whatever its length. A tie-break only: far below one step for any plan.
PIECE_COST = 1e-4


def _flat_cost(t, K):
    plan = uniform_plan(t, K)
    return plan_cost(plan) + PIECE_COST * len(plan) if t else 0


def _solve(n_blocks, units, us, leaf):
    """cost[n, u]: the fewest steps run forward for n blocks within u memory units. choice[n, u]: how
    many blocks to recompute before the next kept state; 0: store all n; -1: a flat chain. Vectorised
    over (y, u) for each n."""
    inf = np.inf
    cost = np.full((n_blocks + 1, units + 1), inf)
    cost[0] = 0
    choice = np.zeros((n_blocks + 1, units + 1), dtype=np.int64)
    u_range = np.arange(units + 1)
    for n in range(1, n_blocks + 1):
        flat = np.where(u_range >= leaf.flat_units[n], float(leaf.flat_steps[n]), inf)
        stored = np.where(u_range >= n * leaf.store_units, float(n * leaf.block), inf)
        row = np.minimum(stored, flat)
        choice[n] = np.where(stored <= flat, 0, -1)
        if n > 1 and us <= units:  # (a budget below one kept state allows no split)
            left = cost[1:n]  # y = 1..n-1 blocks recomputed, with the same memory
            right = np.full((n - 1, units + 1), inf)
            right[:, us:] = cost[n - 1:0:-1, :units + 1 - us]  # n - y blocks after one more kept state
            total = left + right + (np.arange(1, n) * leaf.block + PIECE_COST)[:, None]
            best = total.argmin(axis=0)
            split = total[best, u_range]
            better = split < row
            row = np.where(better, split, row)
            choice[n] = np.where(better, best + 1, choice[n])
        cost[n] = row
    return cost, choice


def _rebuild(n, u, first, choice, us, bounds, flat_k):
    """The plan for blocks first..first+n-1 within u units, read off the choice table."""
    pieces = []
    while choice[n, u] > 0:
        y = int(choice[n, u])
        pieces.append(Recomputed(bounds[first + y] - bounds[first], _rebuild(y, u, first, choice, us, bounds, flat_k)))
        first, n, u = first + y, n - y, u - us
    steps = bounds[first + n] - bounds[first]
    if choice[n, u] < 0:  # a flat chain, with the K chosen for n full blocks (fewer steps keep no more)
        return tuple(pieces) + uniform_plan(steps, flat_k[n])
    return tuple(pieces) + (Stored(steps),)


# ----------------------------------------------------------------------------- running a plan
def run_planned(run, x, state, lengths, plan):
    """One direction of a layer over x (T, B, F) by `plan`, built on `run`:

        run(x_chunk, state, lengths_chunk) -> (out (t, B, H), final tuple of (B, n))

    runs consecutive steps as the layer does, in the chunk's order (state None: zeros; lengths_chunk None
    or each in [1, t]). x is in the direction's step order: a reverse direction's caller reverses it
    within lengths first (and its output after), so that the pieces cover consecutive steps of each
    sequence's own order, as the unplanned run meets them: the cell's dropout masks (drawn per step, for
    the whole batch) are then drawn at the same steps whatever the plan. A sequence with no valid step
    in a piece keeps its state and outputs 0 there. Returns (out (T, B, H), final tuple of (B, n)) as
    run would."""
    sizes = [p.steps for p in plan]
    chunks = x.split(sizes, axis=0) if len(plan) > 1 else [x]
    starts = np.cumsum([0] + sizes)[:-1]
    outs = []
    for piece, chunk, start in zip(plan, chunks, starts):
        piece_lengths = None if lengths is None else np.clip(lengths - start, 0, piece.steps)
        if piece_lengths is not None and np.all(piece_lengths == piece.steps):
            piece_lengths = None
        if type(piece) is Stored:
            out, state = _run_masked(run, chunk, state, piece_lengths)
        else:
            result = checkpoint(_piece_fn(run, piece.inner, piece_lengths), chunk, *(state or ()))
            out, state = result[0], tuple(result[1:])
        outs.append(out)
    return (concatenate(outs, axis=0) if len(outs) > 1 else outs[0]), state


def _piece_fn(run, inner, lengths):
    """The function tr.checkpoint runs (and reruns) for one Recomputed piece."""
    def piece(chunk, *state):
        out, final = run_planned(run, chunk, state or None, lengths, inner)
        return (out,) + tuple(final)
    return piece


def _run_masked(run, x, state, lengths):
    """run over x; sequences with no valid step here (length 0) keep their state and output 0."""
    if lengths is None or lengths.min() > 0:
        return run(x, state, lengths)
    valid = lengths > 0
    out, final = run(x, state, np.maximum(lengths, 1))
    old = state if state is not None else tuple(Tensor(np.zeros(f.shape, dtype=f.dtype)) for f in final)
    out = where(valid[None, :, None], out, 0.0)
    return out, tuple(where(valid[:, None], f, o) for f, o in zip(final, old))
