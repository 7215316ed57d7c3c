"""A compiled cell on the tape: one layer-direction as ONE multi-output node (what nn/fused.py runs).

    kernel = get_kernel(cell, dtype)              # trace -> lower -> generate -> load, cached
    out, *final = run_compiled(cell, x, state, lengths, reverse)

CompiledRecurrence's inputs are x (T, B, I), each initial state part (B, n) (none: zeros) and every
parameter of the cell; its outputs are the output sequence (T, B, n_0) (0 at padded steps) and each
final state part as (1, B, n). Its backward returns one gradient per input, so the tape sends them on
as for any primitive.

A Kernel calls four generated functions (codegen.py, outside.py): `project` (the input projections of
all T*B rows, one matrix product each, and the biases folded into them), the `forward` loop, the
`backward` loop, and `grads` (dx, every weight's gradient as one product over all rows, the vector
parameters' column sums). Arrays are bound to their arguments by name. With several threads
(kernels/runtime.py) the loops run on blocks of batch rows, or chunk by chunk against `project` and
`grads` of other chunks on the other threads; the large per-step arrays come from kernels/workspace.py.
"""
import operator
import threading
import weakref
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import random
from ..kernels import aligned, blas, runtime, workspace
from ..primitives import Primitive
from ..tape import _grad_mode, apply
from ..tensor import Tensor
from .codegen import Generator, import_module
from .ir import Reduce
from .lower import lower
from .prelude import split_prelude
from .schedule import local_nodes
from .trace import _freeze, graph_key, trace_cell

_cache = {}
_lock = threading.Lock()


class _Arg(NamedTuple):
    """How a generated function's argument is sliced for a time slice [a, b) of the sequence."""
    name: str
    timed: int     # 0: not by time; 1: rows a..b-1; 2: a state's rows a..b (its T + 1 rows overlap by one)


def _picker(names):
    """A function of a dict (or a list) giving the tuple of its values at `names` (keys or indices; one C call,
    operator.itemgetter, for several; a comprehension or a generator costs a function of its own at every call)."""
    if len(names) == 1:
        name = names[0]
        return lambda arrays: (arrays[name],)
    return operator.itemgetter(*names) if names else lambda arrays: ()


class _ArgList(tuple):
    """A generated function's arguments (_Arg each), with `pick`: their arrays from a dict by name, as a
    tuple, made once (a tiny layer's step calls four generated functions; a comprehension showed)."""

    def __new__(cls, args):
        self = super().__new__(cls, args)
        names = [x.name for x in self]
        self.pick = _picker(names)
        return self


def _args(names, untimed=()):
    """untimed: names of kinds sliced by time that are one step's buffer here (codegen: step_only)."""
    return _ArgList(_Arg(n, 2 if n[0] == "S" else 0 if n in untimed
                         else 1 if n in _TIMED or n.rstrip("0123456789") in _TIMED_KINDS else 0)
                    for n in names)


_TIMED = {"X", "dX", "dOut"}
_TIMED_KINDS = {"XW", "C", "GA", "M", "A", "dXW", "dC", "D"}


def _bind(args, arrays, a=None, b=None, lengths=None):
    """The arrays for a generated function's arguments, sliced to real times [a, b) when a is given."""
    if a is None:
        return args.pick(arrays)
    out = []
    for x in args:
        arr = lengths if x.name == "lengths" else arrays[x.name]
        # (an array of one step, the same at every step (dOut, see _dout_rows), is not sliced)
        out.append(arr[a:b + 1] if x.timed == 2 else arr[a:b] if x.timed == 1 and arr.shape[0] != 1 else arr)
    return out


def _in_time_order(a, lengths, padded, reverse):
    """a (T, B, n) as the kernels read it: as it is, or for a reverse direction each sequence reversed
    within its length (padded steps stay where they are). Its own inverse: it also turns the kernels'
    output (and the input's gradient) back into real time. Inside the node, so a reverse direction is
    one node on the tape like a forward one."""
    if not reverse:
        return np.ascontiguousarray(a)
    if not padded:
        return np.ascontiguousarray(a[::-1])
    T, B = a.shape[0], a.shape[1]
    t = np.arange(T)[:, None]
    source = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)
    return a[source, np.arange(B)[None, :]]


def _in_real_time(a, lengths, padded, reverse):
    """The kernels' output (or the input's gradient) in real time, as _in_time_order, but without padding
    a reversed view instead of a copy: whoever reads it next copies it if they need it contiguous (a
    bidirectional layer concatenates its directions anyway, and the tape adds gradients as they are)."""
    if not reverse:   # (as it is: the caller's array, contiguous or not, is what _in_time_order gave)
        return a
    if not padded:
        return a[::-1]
    return _in_time_order(a, lengths, padded, reverse)


def _dout_rows(dout, lengths, padded, reverse, dtype):
    """dout (T, B, n) as the backward loop reads it (dOut): in the kernels' time order, C-contiguous, of the
    kernel's dtype, and cut to one step or sequence along each axis it is broadcast along (stride 0: the
    gradient of out.sum() is one row for every step and sequence): the loop reads it at index 0 along such
    an axis, instead of a (T, B, n) copy made and read from memory. A padded reverse direction reorders each
    sequence's steps, so there a batch axis stays whole. (One function for the whole of it: a tiny step's
    backward paid for a call and a strides slice more, and for ascontiguousarray's checks on the cut row.)"""
    if dout.ndim == 3 and dout.size:
        by_time, by_batch, _ = dout.strides
        if by_time == 0 and by_batch == 0:   # out.sum()'s: one slice, copied (it is not contiguous: stride 0)
            return dout[:1, :1].copy() if dout.dtype == dtype else dout[:1, :1].astype(dtype, order="C")
        if by_time == 0:
            dout = dout[:1]
        elif by_batch == 0 and not (padded and reverse and dout.shape[0] > 1):
            dout = dout[:, :1]
    if reverse and dout.shape[0] > 1:
        dout = _in_time_order(dout, lengths, padded, True)
    return np.ascontiguousarray(dout) if dout.dtype == dtype else dout.astype(dtype, order="C")


# A recurrent weight the loops multiply by at every step is kept on a 64-byte boundary when it has at least this
# many bytes (kernels/aligned.py: a weight off the boundary made those products up to 1.5x slower); smaller ones
# go to blas's own loop (SMALL_GEMM_FLOPS), where an aligned copy would cost more than it saves.
ALIGN_BYTES = 16 * 1024


def _operand(w):
    """A C-contiguous array of w for the loops' products: on a 64-byte boundary unless small."""
    return aligned.copy(w) if w.nbytes >= ALIGN_BYTES else np.ascontiguousarray(w)


_NAMES = []   # parameter i's names in the generated functions (outside.py): as held, flat, gradient, flat


def _parameter_names(n):
    """(par<i>, V<i>, g<i>, gV<i>) for i < n, made once and reused (formatting them costs at every call)."""
    while len(_NAMES) < n:
        i = len(_NAMES)
        _NAMES.append((f"par{i}", f"V{i}", f"g{i}", f"gV{i}"))
    return _NAMES


# What one column of the time loops costs, in multiply-adds of the big products (one core, float32): an
# elementwise operation's (LSTM (1000,8,32,64)), and a reduction's (a Reduce over W columns is W columns).
# A reduction costs no more than an elementwise column: bench/loop_cost_probe.py (2026-12-01, 1 thread, CPU
# time, 8 cells x 4 sizes, least squares; three runs on a loaded machine) put a reduction column at 0.2-1.9
# against 5.5-7.2 for an elementwise one; an Elman cell with its pre-activation layer-normalised (two
# reductions) ran its loops in the time of its twin that reads the mean and variance from the state (no
# reduction): 1.05 vs 1.20 ms at (32, 64), 10.8 vs 11.1 at (128, 256). Both are counted alike (counted at
# the measured ~2, the layer-norm LSTM's estimate would drop, 1.58 -> 1.48 at (64, 128), and no split
# would change at the shapes checked). The layer-norm LSTM's estimate errs by its size, not its reductions:
# measured loops / products 1.61-1.66, 1.41-1.53, 1.27-1.38 at H = 64, 128, 256; estimate 2.36, 1.58, 1.19.
ELEMENTWISE_MACS = 5.6
REDUCTION_MACS = ELEMENTWISE_MACS


def loop_columns(prog):
    """(elementwise columns, reduction columns) of one step's forward, per row."""
    elementwise = reduction = 0
    for ph in prog.phases:
        for g in ph.groups:
            for n in local_nodes(g.nodes, prog.inline):
                if n.width is not None:
                    if isinstance(n, Reduce):
                        reduction += g.width
                    else:
                        elementwise += g.width
    return elementwise, reduction


def loop_row_macs(prog):
    """The time loops' estimated cost per row and step, in multiply-adds of the big products: their two
    small products (K * N multiply-adds each) and their column work (each column of the forward, counted
    twice for the backward, at ELEMENTWISE_MACS or REDUCTION_MACS multiply-adds)."""
    elementwise, reduction = loop_columns(prog)
    gemms = sum(g.K * g.N for g in prog.gemms)
    return 2 * gemms + 2 * (ELEMENTWISE_MACS * elementwise + REDUCTION_MACS * reduction)


def loop_cost_ratio(prog):
    """loop_row_macs over the big products' multiply-adds per row and step (runtime.LOOP_HEAVY): the input
    projection, dx and its weight gradient (3 I N each) and the recurrent weights' gradients. Measured
    loop / products, one core: LSTM 9.6 / 8.4 ms (estimate 1.17), layer-norm LSTM 16 / 8 ms (estimate 2.36)."""
    gemms = sum(g.K * g.N for g in prog.gemms)
    products = 3 * prog.input_size * sum(pr.N for pr in prog.projections) + gemms
    return loop_row_macs(prog) / max(products, 1)


def is_loop_heavy(prog, backward=False):
    """Whether the loops run on batch blocks rather than pipelined against the products (runtime.LOOP_HEAVY,
    runtime.LOOP_HEAVY_ROW_MACS): loops that cost well over the products, and enough work per row for a
    block of half the rows to take about half the time. backward: the backward loop's, at the higher bar
    runtime.LOOP_HEAVY_BACKWARD."""
    bar = runtime.LOOP_HEAVY_BACKWARD if backward else runtime.LOOP_HEAVY
    return loop_cost_ratio(prog) >= bar and loop_row_macs(prog) >= runtime.LOOP_HEAVY_ROW_MACS


# The call plans below are frozen slotted dataclasses, not NamedTuples: each call of a kernel reads about twenty of
# their fields, and a NamedTuple's field is a descriptor call, about three times a slot's read (a tiny step showed).
@dataclass(frozen=True, slots=True)
class _AccumulatorPlan:
    """The gradient accumulators of one pattern of needs (Kernel._accumulator_plan), and how grads takes them at
    one thread: straight from the list made (`others` picks grads' other arguments from the backward's dict,
    `order` its arguments in order from [others..., made..., reshaped flat views..., placeholders...]), not put
    into the dict by name first (six stores and six reads of a dict in a tiny RNN's backward)."""
    shapes: tuple        # the shape of g<i> for each needed parameter, in parameter order
    dtypes: tuple        # the kernel's dtype, once per needed parameter (for map(np.empty, shapes, dtypes))
    by_grads: tuple      # whether grads writes that g<i> (then np.empty serves where grads assigns: at one thread)
    all_by_grads: bool
    spread: tuple        # (g<i>, index in made) of each needed one, and (gV<i>, index) where the kernels read
                         # it flat as it is (a 1-D one): a loop over these pairs cost less than zip + update
    reshaped: tuple      # (gV<i>, index in made) where the flat view is a reshape (a matrix read flat)
    placeholders: dict   # {g<i>: a size-0 array} for the others (and their gV<i>)
    all_needed: bool
    returned: tuple      # for each parameter its index in made, None where no gradient is needed
    others: object       # _picker of grads' arguments that are not accumulators, from the backward's dict
    order: object        # _picker of grads' arguments from the list above
    plain: bool          # all made by grads (np.empty at one thread), none reshaped, no placeholders

    @classmethod
    def of(cls, params, needs_params, grads_args, dtype):
        used = {x.name for x in grads_args}
        shapes, by_grads, spread, reshaped, placeholders, returned = [], [], [], [], {}, []
        for (_, _, grad, flat), w, n in zip(_parameter_names(len(params)), params, needs_params):
            flat = flat if flat in used else None
            returned.append(len(shapes) if n else None)
            if n:
                k = len(shapes)
                shapes.append(w.shape)
                by_grads.append(flat is not None or grad in used)
                spread.append((grad, k))
                if flat is not None and w.ndim == 1:
                    spread.append((flat, k))
                elif flat is not None:
                    reshaped.append((flat, k))
                continue
            g = placeholders[grad] = np.zeros((0,) * w.ndim, dtype)   # (size 0: shared, nothing can be written)
            if flat is not None:
                placeholders[flat] = g.reshape(-1)
        names = [x.name for x in grads_args]
        others = [n for n in names if n not in dict(spread) and n not in dict(reshaped) and n not in placeholders]
        # each argument's place in [others..., made..., reshaped flat views..., placeholders...]
        position = {n: i for i, n in enumerate(others)}
        position.update((n, len(others) + k) for n, k in spread)
        position.update((n, len(others) + len(shapes) + j) for j, (n, _) in enumerate(reshaped))
        position.update((n, len(others) + len(shapes) + len(reshaped) + j) for j, n in enumerate(placeholders))
        return cls(tuple(shapes), (dtype,) * len(shapes), tuple(by_grads), all(by_grads), tuple(spread),
                   tuple(reshaped), placeholders, all(needs_params), tuple(returned), _picker(others),
                   _picker([position[n] for n in names]), all(by_grads) and not reshaped and not placeholders)

    def make(self, written):
        """The accumulators of the needed gradients, in parameter order (Kernel._fill_accumulators' written)."""
        # (map over the allocators, not a comprehension: that is a function call of its own per call)
        if written is np.zeros or self.all_by_grads:
            return list(map(written, self.shapes, self.dtypes))
        return [written(shape, dt) if by_grads else np.zeros(shape, dt)
                for shape, by_grads, dt in zip(self.shapes, self.by_grads, self.dtypes)]

    def grads_arguments(self, args, made):
        """grads' arguments at one thread, in order, from the backward's dict and the accumulators `made`."""
        values = [*self.others(args), *made]
        values += [made[k].reshape(-1) for _, k in self.reshaped]
        return self.order(values + list(self.placeholders.values()))

    def gradients(self, made):
        """The gradients as the tape takes them, one per parameter (None where none is needed), of `made`."""
        return [None if k is None else made[k] for k in self.returned]


@dataclass(frozen=True, slots=True)
class _ForwardPlan:
    """What Kernel.forward does at one (T, B, I, padded, states_only), worked out once by the general code
    (Kernel._forward_plan) and carried out by every call of that shape (a tiny layer's step looked up each
    of these apart, a function call each). The sizes that choose the allocator and the thread count are
    compared with workspace.MIN_BYTES and runtime.PARALLEL_MIN_MACS at each call, not decided here."""
    buffers: tuple       # forward_buffers' shapes (_buffer_shapes)
    lens: np.ndarray     # the lengths of a batch without padding (runtime.all_steps; nothing writes it)
    largest: int         # the largest buffer's bytes: pooled from the workspace when >= workspace.MIN_BYTES
    work: int            # multiply-adds of the input projection, as Kernel.threads counts them
    # the _BackwardPlans of this shape, per (need_dx, needed parameter gradients): the forward hands its plan
    # to the backward in `saved`, so the backward looks its own up by the two things only it knows (a key of
    # all six, T, B, I and padded too, was built and hashed at every call of a tiny step)
    backward: dict
    kernel: "Kernel"     # whose call this is: what its backward reads (CompiledRecurrence.saved_needed)


@dataclass(frozen=True, slots=True)
class _BackwardPlan:
    """What Kernel.backward does at one (T, B, I, need_dx, padded, needed parameter gradients): as
    _ForwardPlan, made once by Kernel._backward_plan from the per-part memos, carried out by every call."""
    made: tuple          # _gradient_buffers' (name, shape, zeroed) (_gradient_shapes)
    needs: list          # which parameters get a gradient, and as the kernels' bool array (_needs)
    need: np.ndarray
    accumulators: "_AccumulatorPlan"
    largest: int
    work: int
    dx_placeholder: bool   # nothing writes dX (no x read, no dx asked for): the kernel's one placeholder serves
    returns_dx: bool       # dx asked for and x reaches the cell's output (read, or projected)
    shared: tuple          # (gradient, array) pairs, in order: the gradient is that array, made by nobody here (the
                           # consumed ones, when the call consumes, then Kernel.alias_pairs)


def _threads(work, T, B, I, widest):
    """runtime.threads_for, without asking for the thread count (os.sched_getaffinity, about 0.7 us)
    when the work (multiply-adds: a call plan's, or Kernel.threads') is too small to share at any count."""
    return 1 if work < runtime.PARALLEL_MIN_MACS else runtime.threads_for(T, B, I, widest)


class Kernel:
    """The generated functions of one (cell structure, sizes, dtype) and how to call them: project, the
    forward loop, the backward loop, grads (codegen.py, outside.py). The work is split over threads by
    kernels/runtime.py: batch blocks, or a pipeline over time chunks."""

    prelude = None   # the cell's work on its weights alone, run once per call before the kernels (prelude.py)

    def __init__(self, prog, source, module):
        self.prog, self.source, self.module = prog, source, module
        self.dtype = np.dtype(prog.dtype)   # a dtype object: np.empty(shape, np.float32) costs twice as much
        self._needs_made, self._plans = {}, {}   # per pattern of needed gradients: _needs, _accumulator_plan
        gen = Generator(prog)
        outside = gen.outside()
        self.loop_grads = outside.loop_grads   # (i, size) of the vector gradients the backward loop writes
        self.dv_width = outside.dv_width
        self.plan = gen.plan
        step_only = gen.step_only()
        self.forward_args, self.backward_args = _args(gen.forward_args(), step_only), _args(gen.backward_args())
        self.states_args = _args(gen.forward_args(states_only=True), step_only)   # forward_states'
        self.saved = {name for name, _ in gen.saved_buffers}   # what forward_states does not write
        self.project_args, self.grads_args = _args(outside.project_args()), _args(outside.grads_args())
        p = prog
        self.one_step = [(f"C{g.index}", g.N) for g in p.gemms if f"C{g.index}" in step_only]   # (B, N) each
        per_step = ([(f"C{g.index}", g.N, True) for g in p.gemms if f"C{g.index}" not in step_only]
                    + [(f"GA{g.index}", g.K, True) for g in p.gemms if g.a_state is None]
                    + [(name, width, False) for name, width in gen.stored_buffers()]
                    + [(name, width, False) for name, width in gen.saved_buffers])
        # only the buffers a generated function reads or writes (a stored value that is also the new
        # state is read from S<k>: its M<m> is never passed)
        used = {a.name for a in self.forward_args + self.backward_args + self.project_args + self.grads_args}
        self.per_step = [buf for buf in per_step if buf[0] in used]
        self.widest = max([1] + list(p.state_sizes) + [pr.N for pr in p.projections] + [w for _, w, _ in self.per_step])
        self.aliased = {f"dXW{i}": f"dC{j}" for i, j in self.plan.alias.items()}
        # (only those a generated function reads: the built-in cells' is read by none, and its store cost per call)
        self.alias_pairs = tuple((name, alias) for name, alias in self.aliased.items() if name in used)
        # gradient arrays the backward may write over forward arrays it reads, when nothing reads those
        # again (Kernel.backward's consume; not one grads reads: it runs after the loop)
        grads_reads = {a.name for a in self.grads_args}
        self.consumed = tuple(c for c in gen.consumable() if c.read not in grads_reads)
        self.assigned = gen.assigned   # gradient arrays the backward loop assigns: not zeroed without padding
        # the parameters the kernels compute a gradient for: the others get none (None), as on the tape (one
        # read only through a detach(): the backward loop writes it nothing, so it is not in loop_grads)
        self.read = ({pr.param for pr in p.projections} | {g.param for g in p.gemms} | {f.param for f in p.folds}
                     | {i for i, _ in self.loop_grads} | {s.param for s in self.plan.sums})
        self._names(p)
        # what the node keeps from the forward for the backward: what the backward loop or grads read
        self.kept = {a.name for a in self.backward_args + self.grads_args} | {"X", "lengths"}
        # the input's dropout mask, applied outside the kernels (Program.input_mask): dx is the kernels' times it
        self.input_mask = None if p.input_mask is None else f"D{p.input_mask}"
        if self.input_mask is not None:
            self.kept.add(self.input_mask)
        self.no_dx = np.zeros((1, 1, 1), self.dtype)   # dX where no dx is asked for and the loop writes none
        self._shapes = {}   # (T, B, states_only) -> forward_buffers' shapes (_buffer_shapes)
        self._grad_shapes = {}   # (T, B, I, need_dx, padded) -> _gradient_buffers' shapes (_gradient_shapes)
        self._forward_plans = {}   # (T, B, I, padded, states_only) -> _ForwardPlan
        self.dout_width = p.state_sizes[0]
        self.loop_heavy = is_loop_heavy(p)   # the forward's split, and the rows of a block
        self.backward_heavy = is_loop_heavy(p, backward=True)   # the backward's split where it could pipeline

    def _names(self, p):
        """The arrays' names, made once (a tiny layer's whole step is a few tens of microseconds)."""
        self.states = tuple((f"S{k}", f"dS{k}", n) for k, n in enumerate(p.state_sizes))
        self.pick_states = _picker([name for name, _, _ in self.states])
        self.pick_dstates = _picker([name for _, name, _ in self.states])
        self.projected = tuple((f"XW{pr.index}", f"dXW{pr.index}", pr.N) for pr in p.projections)
        self.products = tuple((f"Wt{g.index}", f"P{g.index}", g.param, g.transposed, f"dC{g.index}", g.N)
                              for g in p.gemms)
        self.vector_grads = (("dV", self.dv_width),) if self.loop_grads else ()   # all in one (outside.py)
        self.constants = {f"K{k}": c for k, c in p.consts.items()}

    def kept_per_row(self, input_size):
        """Numbers the forward keeps for the backward per (step, sequence): the states, the projections,
        the per-step buffers, and x (referenced)."""
        p = self.prog
        return (sum(p.state_sizes) + sum(n for name, _, n in self.projected if name in self.kept)
                + sum(w for name, w, _ in self.per_step if name in self.kept) + input_size)

    def mask_columns(self):
        """Numbers of the dropouts' masks per (step, sequence): drawn for every step and kept for the backward
        whatever the plan (a checkpointed piece's rerun reads them, it does not draw again), so not part of
        kept_per_row, which counts what a recorded step keeps: a cost of every step (nn/recurrent.bptt_plan)."""
        return sum(n for _, n in self.prog.masks)

    def draw_masks(self, T, B):
        """{D<k>: (T, B, n_k)} for the step's dropouts (Program.masks), in kernel time order, drawn from
        tr.random's generator as the tape draws them running the cell step by step: at each step, each
        dropout's (B, n_k) mask in trace order, keep = uniform >= p, scaled by 1 / (1 - p) as F.dropout
        scales it. One draw of all T steps' uniforms: a Generator's doubles come one after another from its
        stream, so row t of a (T, S) draw holds exactly the numbers of the tape's draws at step t."""
        masks = self.prog.masks
        if not masks:
            return {}
        sizes = [B * n for _, n in masks]
        uniform = random.generator().random((T, sum(sizes)))
        drawn, off = {}, 0
        for k, ((p, n), size) in enumerate(zip(masks, sizes)):
            keep = uniform[:, off:off + size].reshape(T, B, n) >= p
            drawn[f"D{k}"] = keep.astype(self.dtype) * (1.0 / (1.0 - p))
            off += size
        return drawn

    # -- the forward: projections, then the loop
    def forward(self, x, states, params, lengths, reverse=False, states_only=False, views=None):
        """states_only: for a forward no backward follows (inference): the loop writes no saved values (A or A<m>),
        and nothing is kept. views: parameter_views(params) as a caller kept it (a layer's snapshot, which
        checks every call that its parameters' arrays are still those); None: made here."""
        dt = self.dtype
        T, B, I = x.shape
        padded = lengths is not None
        plan = self._forward_plans.get((T, B, I, padded, states_only))
        if plan is None:
            plan = self._forward_plan(T, B, I, padded, states_only)
        lens = plan.lens if lengths is None else np.ascontiguousarray(lengths, dtype=np.int64)
        # the workspace's pool when the largest buffer is big enough to be worth pooling, else np.empty
        empty = workspace.empty if plan.largest >= workspace.MIN_BYTES else np.empty
        arrays = self._parameters(params, views)
        arrays["lengths"] = lens
        arrays["X"] = _in_time_order(x, lens, padded, True) if reverse else np.ascontiguousarray(x)
        if self.prog.masks:   # (drawn here, as the tape draws them: when the layer-direction runs)
            arrays.update(self.draw_masks(T, B))
            if self.input_mask is not None:   # x = drop(x): the kernels' input is the dropped x (a new array)
                arrays["X"] = arrays["X"] * arrays[self.input_mask]
        self.forward_buffers(arrays, T, B, states, padded, empty, states_only, plan.buffers)
        # (_threads, written out here and in backward: a call less per kernel call of a tiny step)
        threads = 1 if plan.work < runtime.PARALLEL_MIN_MACS else runtime.threads_for(T, B, I, self.widest)
        self._run_forward(arrays, T, B, I, padded, states_only, threads)
        out = arrays["S0"][1:]
        if padded:
            out = out * (np.arange(T)[:, None] < lens[None, :])[:, :, None].astype(dt)
        small = empty is np.empty   # no array is pooled (each is smaller than workspace.MIN_BYTES)
        # the final states (1, B, n), slices of h_n: copies, so that a caller keeping them (the next step's
        # initial state) does not keep whole pooled buffers; views when small (a copy costs more than it frees)
        finals = []   # (a loop, not a comprehension: that is a function call of its own, 0.2 us of a tiny step)
        for state in self.pick_states(arrays):
            finals.append(state[T:] if small else state[T:].copy())
        finals = tuple(finals)
        # the rest goes back to the pool (all of it when no backward follows); small arrays are all kept
        # (sorting them out would cost more than it frees)
        if states_only:
            kept = {}
        elif small:
            kept = arrays
        else:
            kept = {name: arrays[name] for name in self._kept_names(arrays)}
        if reverse:
            out = _in_real_time(out, lens, padded, True)
        return out, finals, (kept, padded, reverse, plan)

    def _forward_plan(self, T, B, I, padded, states_only):
        """The _ForwardPlan of a shape: made by the general code (the memos below), kept per shape."""
        plans = self._forward_plans
        if len(plans) >= 64:   # (many shapes: the plans are cheap to make again)
            plans.clear()
        plan = plans[T, B, I, padded, states_only] = _ForwardPlan(
            self._buffer_shapes(T, B, states_only), runtime.all_steps(B, T),
            T * B * max(self.widest, I) * self.dtype.itemsize, T * B * I * self.widest, {}, self)
        return plan

    def forward_buffers(self, arrays, T, B, states, padded, empty, states_only=False, shapes=None):
        """Put the forward's buffers for T steps into `arrays`: the states (row 0 from `states`; none
        given: zeros), the projections and the per-step buffers, from the allocator `empty`. states_only:
        those of forward_states (no saved values A or A<m>). shapes: _buffer_shapes' (a call plan's)."""
        dt = self.dtype
        state_shapes, shapes, zeroed = shapes or self._buffer_shapes(T, B, states_only)
        for k, (name, shape) in enumerate(state_shapes):   # no states given: the sequence starts from zeros
            if states or empty is not np.empty:
                S = arrays[name] = empty(shape, dt)
                S[0] = states[k] if states else 0
            else:   # small: np.zeros costs less than writing row 0 of an empty array
                arrays[name] = np.zeros(shape, dt)
        for name, shape in shapes:
            arrays[name] = empty(shape, dt)
        if padded:   # rows after the last running one are not computed, yet enter dW = A^T dC
            for name in zeroed:
                arrays[name].fill(0)

    def _buffer_shapes(self, T, B, states_only):
        """forward_buffers' (name, shape) lists for T steps of B rows: (the states (T + 1, B, n), the other
        buffers, the names of those zeroed when padded). The same every call of a shape, so made once per
        shape (a tiny layer's whole step is tens of microseconds)."""
        known = self._shapes
        found = known.get((T, B, states_only))
        if found is None:
            if len(known) >= 64:   # (many shapes: the lists are cheap to make again)
                known.clear()
            per_step = [buf for buf in self.per_step if not (states_only and buf[0] in self.saved)]
            found = known[T, B, states_only] = (
                tuple((name, (T + 1, B, n)) for name, _, n in self.states),
                tuple((name, (T, B, n)) for name, _, n in self.projected)
                + tuple((name, (T, B, width)) for name, width, _ in per_step)
                + tuple((name, (B, width)) for name, width in self.one_step),   # rewritten at every step
                tuple(name for name, _, zeroed in per_step if zeroed))
        return found

    def _kept_names(self, arrays):
        """The names of `arrays` in self.kept: the same every call (the arrays' names are fixed by the
        kernel and its number of parameters), so listed once."""
        names = self.__dict__.get("_kept_list")
        if names is None or len(names[0]) != len(arrays):
            names = self._kept_list = (tuple(arrays), tuple(n for n in arrays if n in self.kept))
        return names[1]

    def _parameters(self, params, views=None):
        """Each parameter as the kernels read it: par<i> as held, V<i> flat, Wt<g>/P<g> for the products.
        views: parameter_views(params), kept by the caller; None: made now. The transposed copies are made
        every call (a kept copy would not see an in-place change)."""
        arrays = dict(views) if views is not None else self._views_of(params)[0]
        for wt, P_, i, transposed, _, _ in self.products:
            arrays[wt if transposed else P_] = _operand(arrays[_NAMES[i][0]].T)
        return arrays

    def parameter_views(self, params):
        """What a caller may keep for forward(views=) while `params` stay the same arrays of the same
        shapes: the constants, par<i> and V<i> and the products' operands that are the parameter itself,
        all views (they see in-place changes). None when some array is not C-contiguous: the kernels read a
        copy of it, which must be made again every call. A layer keeps these per layer-direction in its
        snapshot (nn/recurrent.py, CellSnapshot), which checks the arrays every call anyway: one check,
        and no miss when layer-directions of one structure share this kernel."""
        arrays, all_views = self._views_of(params)
        return arrays if all_views else None

    def _views_of(self, params):
        """(the dict of parameter_views, whether it holds no copy)."""
        arrays = dict(self.constants)
        held = [np.ascontiguousarray(w) for w in params]
        for (par, vec, _, _), w in zip(_parameter_names(len(held)), held):
            arrays[par], arrays[vec] = w, w.reshape(-1)
        all_views = all(h is w for h, w in zip(held, params))
        for wt, P_, i, transposed, _, _ in self.products:
            operand = held[i] if aligned.is_aligned(held[i]) else _operand(held[i])
            all_views = all_views and operand is held[i]   # a copy is made again every call
            arrays[P_ if transposed else wt] = operand
        return arrays, all_views

    def backward_reads(self, kept, params, need_dx):
        """What the backward reads of a forward's `kept` arrays and the call's `params` (the parameters' own
        arrays), as tape._backward_reads asks it: which parameters written in place between forward and backward
        refuse it. The forward's buffers (states, gates, x) and every parameter the loop or the weight gradients
        read, but a projected weight (W_ih) only when dx is asked for: grads reads it for dx alone, as torch's RNN,
        GRU and LSTM save W_ih for the input's gradient only (a bias, folded into the projection, is never read:
        torch's never saves one either). The recurrent weights' transposed copies (P<g>) count as their
        parameter: torch saves W_hh at every step, and refuses a written one."""
        names = _parameter_names(len(params))
        owner = {}   # each name of a parameter's array (as held, flat, a product's operand) -> its index
        for i in range(len(params)):
            owner[names[i][0]] = owner[names[i][1]] = i
        for wt, P_, i, _, _, _ in self.products:
            owner[wt] = owner[P_] = i
        dx_only = {f"par{pr.param}" for pr in self.prog.projections}
        read = {owner[a.name] for a in self.backward_args if a.name in owner}
        read |= {owner[a.name] for a in self.grads_args if a.name in owner and (need_dx or a.name not in dx_only)}
        buffers = tuple(array for name, array in kept.items() if name not in owner and name not in self.constants)
        return buffers, tuple(params[i] for i in sorted(read))

    def threads(self, T, B, I):
        """The thread count for T steps of B sequences of I inputs (_threads)."""
        return _threads(T * B * I * self.widest, T, B, I, self.widest)

    def loop(self, states_only):
        """The forward loop and its arguments: forward, or forward_states (no saved values written)."""
        if states_only:
            return self.module.forward_states, self.states_args
        return self.module.forward, self.forward_args

    def _run_forward(self, arrays, T, B, I, padded, states_only=False, threads=None):
        """threads: the call plan's count (else Kernel.threads)."""
        m = self.module
        if states_only:   # (self.loop, written out: a tiny layer's step pays for every call)
            loop, loop_args = m.forward_states, self.states_args
        else:
            loop, loop_args = m.forward, self.forward_args
        if threads is None:
            threads = self.threads(T, B, I)
        if threads == 1:
            m.project(*self.project_args.pick(arrays), 0, T)
            if B < 2 * runtime.MIN_ROWS_PER_THREAD:   # one block: runtime.run_on_batch_blocks written out
                if B:                                   # (a call and a re-packed *args less per loop)
                    loop(*loop_args.pick(arrays), 0, B)
            else:
                runtime.run_on_batch_blocks(loop, B, *loop_args.pick(arrays))
            return

        def project(a, b, part=None):
            m.project(*_bind(self.project_args, arrays), a, b)

        def chunk_args(a, b, prev):   # the loop over time steps [a, b)
            return _bind(loop_args, arrays, a, b, runtime.all_steps(B, b - a))

        rows = runtime.min_rows(self.loop_heavy)
        with blas.single_threaded():
            if B < 2 * rows and runtime.pipelines(padded, T, B, threads, self.loop_heavy):
                chunks = runtime.time_chunks(T, False, runtime.pipeline_chunks(T, B, I, self.widest))
                runtime.forward_pipelined(loop, B, threads, chunk_args, project, lambda: None, chunks)
            elif not padded and T >= 2:
                runtime.forward_blocks_pipelined(loop, B, threads, chunk_args, project,
                                                 runtime.time_parts(T, threads), rows)
            else:
                blas.on_threads(project, runtime.time_parts(T, threads))
                runtime.run_blocks(loop, B, threads, _bind(loop_args, arrays), rows)

    # -- the backward: the loop, then the products (grads)
    def backward(self, saved, dout, dfinals, params, needs_params, need_dx=True, consume=False):
        """consume: no backward will read `saved` again (the tape frees it after this one: no retain_graph),
        so the loop may write gradients over the forward arrays it reads (Kernel.consumed)."""
        arrays, padded, reverse, forward_plan = saved
        T, B, I = arrays["X"].shape
        if dout is not None:
            dout = _dout_rows(dout, arrays["lengths"], padded, reverse, self.dtype)
        needs_params = tuple(needs_params)   # (the tape's is a tuple already: a list is a caller's own)
        plan = forward_plan.backward.get((need_dx, needs_params, consume))
        if plan is None:
            plan = forward_plan.backward[need_dx, needs_params, consume] = self._backward_plan(
                params, T, B, I, need_dx, padded, needs_params, consume)
        args = self._gradient_buffers(arrays, dout, dfinals, need_dx, plan)
        needs_params, need = plan.needs, plan.need
        threads = 1 if plan.work < runtime.PARALLEL_MIN_MACS else runtime.threads_for(T, B, I, self.widest)
        m = self.module
        if threads == 1:
            # one grads call over all rows: it assigns the accumulators it writes (outside.py), made np.empty
            # and handed to it straight (_AccumulatorPlan), not put into args by name; the plain case written
            # out (make and grads_arguments, two method calls, cost what the dict's stores and reads did)
            acc = plan.accumulators
            if acc.plain:
                made = list(map(np.empty, acc.shapes, acc.dtypes))
                grads_in = acc.order([*acc.others(args), *made])
            else:
                made = acc.make(np.empty)
                grads_in = acc.grads_arguments(args, made)
            if B < 2 * runtime.MIN_ROWS_PER_THREAD:   # (as in _run_forward)
                if B:
                    m.backward(*self.backward_args.pick(args), 0, B)
            else:
                runtime.run_on_batch_blocks(m.backward, B, *self.backward_args.pick(args))
            m.grads(*grads_in, need, need_dx, True, 0, T)
            dparams = made if acc.all_needed else acc.gradients(made)
        else:
            accs = {}
            dparams = self._fill_accumulators(plan.accumulators, accs)
            self._backward_threads(args, accs, need, need_dx, params, needs_params, threads, padded)
        dx = args["dX"] if plan.returns_dx else None
        if dx is not None and reverse:
            dx = _in_real_time(dx, arrays["lengths"], padded, True)
        return dx, self.pick_dstates(args), dparams

    def _backward_threads(self, args, accs, need, need_dx, params, needs_params, threads, padded):
        """The loop on batch blocks or pipelined against grads of finished chunks; each thread adds into
        accumulators of its own (slot), summed in slot order at the end."""
        T, B, I = args["X"].shape
        m = self.module
        slots = [accs] + [self._accumulators(params, needs_params) for _ in range(threads - 1)]

        def finish(a, b, slot):
            m.grads(*_bind(self.grads_args, {**args, **slots[slot]}), need, need_dx, False, a, b)

        # (at 3+ threads a heavy loop's blocks keep splitting it and the pipeline does not: runtime.LOOP_HEAVY_BACKWARD)
        heavy = self.backward_heavy if threads == 2 else self.loop_heavy
        with blas.single_threaded():
            if runtime.pipelines(padded, T, B, threads, heavy):
                def chunk_args(a, b, prev):
                    return _bind(self.backward_args, args, a, b, runtime.all_steps(B, b - a))

                chunks = runtime.time_chunks(T, False, runtime.pipeline_chunks(T, B, I, self.widest))
                runtime.backward_pipelined(m.backward, B, threads, chunk_args, finish, chunks)
            else:
                runtime.run_blocks(m.backward, B, threads, _bind(self.backward_args, args),
                                   runtime.min_rows(self.loop_heavy))
                blas.on_threads(finish, runtime.time_parts(T, threads))
        self.add_slots(accs, slots[1:], needs_params)

    @staticmethod
    def add_slots(accs, slots, needs_params):
        """Add the other threads' gradient accumulators (slots, in order) into `accs`."""
        for slot in slots:
            for i, n in enumerate(needs_params):
                if n:
                    accs[_NAMES[i][2]] += slot[_NAMES[i][2]]

    def _needs(self, needs_params):
        """(which parameters get a gradient: asked for and read by the kernels, as a list and as the kernels'
        bool array), made once per pattern."""
        key = tuple(needs_params)
        found = self._needs_made.get(key)
        if found is None:
            listed = [bool(n) and i in self.read for i, n in enumerate(needs_params)]
            found = self._needs_made[key] = (listed, np.array(listed, dtype=np.bool_))
        return found

    def _accumulators(self, params, needs_params, accs=None):
        """Zeroed gradient accumulators g<i> (and the flat views gV<i>); size 0 where none is needed. Put
        into `accs` when given (one thread: the backward's own arrays, no dict made and merged per call)."""
        if accs is None:
            accs = {}
        self._fill_accumulators(self._accumulator_plan(params, needs_params), accs)
        return accs

    def _fill_accumulators(self, plan, accs, written=np.zeros):
        """Put plan's accumulators into `accs`; returns the gradients (None where none is needed), in
        parameter order, as the tape takes them. written: the allocator of those grads writes (np.empty when
        its call assigns them); the others are zeros."""
        made = plan.make(written)
        for name, k in plan.spread:
            accs[name] = made[k]
        for flat, k in plan.reshaped:
            accs[flat] = made[k].reshape(-1)
        if plan.placeholders:
            accs.update(plan.placeholders)
        return made if plan.all_needed else plan.gradients(made)

    def _accumulator_plan(self, params, needs_params):
        """What _fill_accumulators makes for a pattern of needs, listed once per pattern: a kernel's
        parameters' shapes are fixed (trace.graph_key holds them), so a tiny layer's backward pays only
        for the np.zeros of each gradient it returns, not for the names, shapes and checks of each
        parameter (peephole's 7 parameters against LSTM's 4 showed). Where no gradient is needed, a
        size-0 array made once stands in (the kernels skip it: need[i] is False)."""
        key = tuple(needs_params)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _AccumulatorPlan.of(params, needs_params, self.grads_args, self.dtype)
        return plan

    def _backward_plan(self, params, T, B, I, need_dx, padded, needs_params, consume=False):
        """The _BackwardPlan of a shape and pattern of needs: made by the general code (the memos below),
        kept by the caller (in the forward's _ForwardPlan). needs_params: a tuple (the tape's). consume:
        Kernel.backward's; not when padded (the gradients the loop does not write whole are zeroed first)."""
        needs, need = self._needs(needs_params)
        made = self._gradient_shapes(T, B, I, need_dx, padded)
        consumed = tuple(self.consumed) if consume and not padded else ()
        grads = {c.grad for c in consumed}
        return _BackwardPlan(
            tuple(m for m in made if m[0] not in grads), needs, need, self._accumulator_plan(params, needs),
            T * B * max(self.widest, I) * self.dtype.itemsize, T * B * I * self.widest, self._no_dx(need_dx),
            need_dx and (self.prog.uses_x or bool(self.prog.projections)),
            # (consumed first: a dXW that is dC is then C's array, as dC)
            consumed + self.alias_pairs)

    def _no_dx(self, need_dx):
        """Whether no generated function writes dX (_BackwardPlan.dx_placeholder)."""
        return not self.prog.uses_x and not (need_dx and self.prog.projections)

    def _gradient_buffers(self, arrays, dout, dfinals, need_dx, plan):
        """The backward's arrays: those of the forward (`arrays`) with dOut (dout as _dout_rows gives it; None:
        zeros), dS<k> (in: the final states'
        gradients; out: the initial states'), dC<g>, dXW<i>, dX and dV<i> added, as the call's
        _BackwardPlan lists them."""
        dt = self.dtype
        made = plan.made
        # small: the saved dict is this node's own (Kernel.forward keeps `arrays` whole), so the gradient
        # arrays go into it instead of a copy; each backward assigns every one of them anew (retain_graph)
        # and, small, they cost little to hold until the node goes. Large: a copy, so that the pooled
        # gradient buffers go back to the pool when this backward ends.
        if plan.largest < workspace.MIN_BYTES:   # (as in forward: no array is pooled)
            args = arrays
            for name, shape, zeroed in made:
                args[name] = np.zeros(shape, dt) if zeroed else np.empty(shape, dt)
        else:
            args = dict(arrays)
            for name, shape, zeroed in made:
                if len(shape) == 2:   # dS<k>, dV<i>: a row per sequence, not pooled (dS goes to the caller)
                    args[name] = np.zeros(shape, dt)
                    continue
                a = args[name] = workspace.empty(shape, dt)
                if zeroed:
                    a.fill(0)
        args["dOut"] = np.zeros((1, 1, self.dout_width), dt) if dout is None else dout
        for (_, name, _), d in zip(self.states, dfinals):   # (None: zeros, made above)
            if d is not None:
                args[name] = np.array(d[0], dtype=dt, order="C", copy=True)
        # a dXW that is dC where the plan proved them equal (the kernel skips it); a consumed gradient
        for name, alias in plan.shared:
            args[name] = args[alias]
        if plan.dx_placeholder:   # nothing writes dX: one placeholder per kernel
            args["dX"] = self.no_dx
        return args

    def _gradient_shapes(self, T, B, I, need_dx, padded):
        """(name, shape, zeroed) of each gradient buffer _gradient_buffers makes, listed once per (T, B, I,
        need_dx, padded). dS<k> zeroed: the final states' gradients when none arrives; a buffer the loop
        writes whole on every (t, b) row is not zeroed, unless padded: padded steps are not run and their
        rows must be 0."""
        known = self._grad_shapes
        key = (T, B, I, need_dx, padded)
        found = known.get(key)
        if found is not None:
            return found
        if len(known) >= 64:   # (many shapes: the lists are cheap to make again)
            known.clear()
        p = self.prog
        assigned = () if padded else self.assigned
        made = [(name, (B, n), True) for _, name, n in self.states]
        made += [(name, (T, B, n), name not in assigned) for _, _, _, _, name, n in self.products]
        made += [(name, (T, B, n), name not in assigned) for _, name, n in self.projected if name not in self.aliased]
        if p.uses_x:
            made.append(("dX", (T, B, I), "dX" not in assigned))
        elif need_dx and p.projections:
            made.append(("dX", (T, B, I), False))
        made += [(name, (B, n), True) for name, n in self.vector_grads]
        known[key] = tuple(made)
        return known[key]


    def example_calls(self, params):
        """{generated function: example arguments} of the calls a training step makes, for one step of one
        sequence, made by the same code as the real buffers (so of the same dtypes, dimensions and layouts:
        what Numba compiles a function for). worker.py compiles the backward from them in another process."""
        T, B, I = 1, 1, self.prog.input_size
        arrays = self._parameters(params)
        arrays["lengths"] = runtime.all_steps(B, T)
        arrays["X"] = np.empty((T, B, I), self.dtype)
        arrays.update({f"D{k}": np.ones((T, B, n), self.dtype) for k, (_, n) in enumerate(self.prog.masks)})
        self.forward_buffers(arrays, T, B, (), False, np.empty)
        plan = _BackwardPlan(self._gradient_shapes(T, B, I, True, False), *self._needs((True,) * len(params)),
                             self._accumulator_plan(params, (True,) * len(params)), 0, 0, self._no_dx(True), True,
                             self.alias_pairs)
        args = self._gradient_buffers(dict(arrays), None, (None,) * len(self.states), True, plan)
        self._fill_accumulators(plan.accumulators, args)
        return {"project": (*self.project_args.pick(arrays), 0, T),
                "forward": (*self.forward_args.pick(arrays), 0, B),
                "backward": (*self.backward_args.pick(args), 0, B),
                "grads": (*self.grads_args.pick(args), plan.need, True, False, 0, T)}


_by_cell = weakref.WeakKeyDictionary()   # cell -> {its settings key: (kernel, graph)}


def _settings_key(cell, dtype):
    """What a cell's structure can depend on besides its code: its parameters (identity and shape) and
    its other attributes (nonlinearity, sizes, flags, constant arrays by value). None when some
    attribute cannot be compared."""
    params = tuple((name, id(p), p.shape, p.dtype.str) for name, p in cell.named_parameters())
    others = tuple(sorted((k, _setting(v)) for k, v in vars(cell).items()
                          if not (isinstance(v, Tensor) and v.requires_grad) and not k.startswith("_")))
    # every buffer by value, a _private one too: the kernels keep those the step reads as constants (those only
    # the prelude reads are read at each call: a new value is traced again, and finds the same kernel)
    buffers = tuple((name, _freeze(b._data)) for name, b in cell.named_buffers() if b is not None)
    key = (np.dtype(dtype).str, params, others, buffers)
    try:
        hash(key)
    except TypeError:   # e.g. a dict attribute: trace every call instead
        return None
    return key


def _setting(value):
    """An attribute of a cell as _settings_key compares it: a constant Tensor and an array by value; a submodule
    (an nn.Dropout) by identity, the training flags of its modules, which its forward may read (a cell's
    dropout toggled alone, cell.drop.eval(), is another structure: no dropout in the trace), and its buffers by
    value, which the trace took as constants (orthogonal's `base`, set anew when a weight is assigned)."""
    if isinstance(value, Tensor):
        return _freeze(value._data)
    if hasattr(value, "named_modules"):
        return ("module", id(value), tuple(m.training for _, m in value.named_modules()),
                tuple((name, _freeze(b._data)) for name, b in value.named_buffers() if b is not None))
    return _freeze(value)


def get_kernel(cell, dtype):
    """The kernel for this cell's structure, sizes and dtype. A cell whose parameters and settings are
    unchanged since its last call reuses its kernel without tracing (a small layer's step is short
    enough for a trace to show); otherwise it is traced (twice, to check the structure, before a new
    kernel is made), and the kernel is generated and compiled once per process (and once per machine,
    through Numba's disk cache)."""
    key = _settings_key(cell, dtype)
    known = _by_cell.get(cell, {}).get(key) if key is not None else None
    if known is not None:
        return known
    found = _traced_kernel(cell, dtype)
    if key is not None:
        _by_cell.setdefault(cell, {})[key] = found
    return found


def _traced_kernel(cell, dtype):
    graph = trace_cell(cell, dtype, check=False)
    _, prelude = split_prelude(graph)
    # (the values of the buffers only the prelude reads are no part of the kernels: PreludeCall passes them)
    key = graph_key(graph, dtype, prelude.live if prelude is not None else ())
    kernel = _cache.get(key)
    if kernel is None:
        with _lock:
            kernel = _cache.get(key)
            if kernel is None:
                graph = trace_cell(cell, dtype)   # raises if the operations depend on the data
                step, prelude = split_prelude(graph)   # (the weights' own work, run once per call: prelude.py)
                prog = lower(step, dtype)
                source = Generator(prog).module_source()
                what = (f"{type(cell).__name__} ({np.dtype(dtype).name}, input {graph.input_size}, "
                        f"state {graph.state_sizes})")
                module, new = import_module(source, what)
                kernel = (Kernel if prog.input_mask is None else DroppedInputKernel)(prog, source, module)
                kernel.prelude = prelude
                if new:
                    _compile_elsewhere(kernel, [p._data for p in step.params])
                _cache[key] = kernel
    return kernel, graph


class DroppedInputKernel(Kernel):
    """The kernels of a cell that reads its input only through a dropout (`x = drop(x)`: Program.input_mask). Its
    forward runs them on the dropped input (Kernel.forward multiplies X by that mask), so the input projection
    stays one product before the loop; the input's gradient is theirs times the mask. (A class of its own: the
    backward of every other kernel does not test for it.)"""

    def backward(self, saved, dout, dfinals, params, needs_params, need_dx=True, consume=False):
        dx, dstates, dparams = super().backward(saved, dout, dfinals, params, needs_params, need_dx, consume)
        if dx is not None:
            arrays, padded, reverse, _ = saved
            dx = dx * _in_real_time(arrays[self.input_mask], arrays["lengths"], padded, reverse)
        return dx, dstates, dparams


def _compile_elsewhere(kernel, params):
    """A new module compiled half by a worker process where that is worth it (worker.py)."""
    from . import worker  # (not at import: `python -m tinygrad_rnn.compile.worker` imports this package)
    if worker.worth_it(kernel.module):
        worker.start(kernel.module, kernel.example_calls(params))


def _kernel_and_params(cell, dtype):
    """run_compiled's `known` for a cell looked up now: no views kept (made by the kernel for this call)."""
    kernel, graph = get_kernel(cell, dtype)
    return kernel, graph.params, None


def _checked_by_identity(value):
    """Whether an attribute's contents cannot change while it stays the same object, as far as the kernel
    can tell (_settings_key compares anything else by value: arrays, constant Tensors, lists; a submodule
    holds parameters and settings of its own)."""
    if isinstance(value, Tensor):
        return value.requires_grad   # a parameter: its array's shape and dtype are checked apart
    if isinstance(value, tuple):
        return all(_checked_by_identity(v) for v in value)
    return not isinstance(value, (np.ndarray, list, dict, set)) and not hasattr(value, "named_parameters")


class CellSnapshot(NamedTuple):
    """A cell's kernel and parameters as last looked up by get_kernel, and what that lookup depended on,
    in a form checked by identity: the cell's attributes (the same objects, in the same order) and its
    parameters' arrays (the same objects, of the same shapes). A layer keeps one per layer-direction so
    that a call whose cell is unchanged skips _settings_key (which walks the parameters and freezes every
    attribute: a tiny layer's step, 20x1x10x20, spent a fifth of its time there), and the kernel reads the
    arrays through the views kept here (Kernel.parameter_views) without checking them again. `values` is
    None when some attribute can change without being rebound (an array, a list, a constant Tensor, a
    submodule): then every call looks the kernel up, as before."""
    dtype: np.dtype
    values: tuple     # vars(cell).values() when taken, or None
    params: tuple     # (parameter, its array, the array's shape) for each parameter
    call: "KernelCall"   # the kernel, the cell's parameters and the kernel's views of their arrays, the direction

    @classmethod
    def take(cls, cell, dtype, reverse=False, known=None):
        """reverse: the direction the call runs. known: (kernel, parameters) when the caller looks the kernel
        up itself; else get_kernel."""
        kernel, params = known if known is not None else _kernel_and_params(cell, dtype)[:2]
        values = tuple(vars(cell).values())
        direct = {id(v) for v in values if isinstance(v, Tensor) and v.requires_grad}
        if direct != {id(p) for p in params} or not all(
                _checked_by_identity(v) for k, v in vars(cell).items() if not k.startswith("_")) or any(
                True for _ in cell.named_buffers()):
            # (attributes named _x are not in _settings_key either: only their identity counts; a buffer, _x or
            # not, is, by value: written in place, it is the same object)
            values = None
        arrays = tuple((p, p._data, p._data.shape) for p in params)
        if kernel.prelude is not None:
            return cls(np.dtype(dtype), values, arrays, PreludeCall(kernel, params, None, reverse,
                                                                    buffers=prelude_buffers(kernel, cell)))
        views = kernel.parameter_views([p._data for p in params])
        return cls(np.dtype(dtype), values, arrays, KernelCall(kernel, params, views, reverse))

    def holds(self, cell, dtype):
        """Whether this snapshot's kernel and views are still the cell's for `dtype` (else take a new one).
        Every call of a layer asks: the attributes' identities are compared by one map() in C, not a Python
        loop (a tiny step showed the loop); the parameters' arrays in a loop (a map over their shapes was
        slower). A parameter whose ._data was rebound is a miss even at the same shape: the views are of
        the old array."""
        if self.values is None or (dtype is not self.dtype and dtype != self.dtype):
            return False
        now = vars(cell)
        if len(now) != len(self.values) or not all(map(operator.is_, now.values(), self.values)):
            return False
        for p, data, shape in self.params:
            array = p._data
            if array is not data or array.shape != shape:   # (shape: an array's can be set in place)
                return False
        return True


class KernelCall:
    """One layer-direction's fused call, as a caller keeps it between calls: the kernel, the cell's parameters
    (Tensors, in named_parameters order), the kernel's views of their arrays (Kernel.parameter_views; None: made
    per call), the direction, and for a checkpointed call its plan. Calling it runs x from a state as one
    CompiledRecurrence node, whose one attribute it is: the node's forward and backward read the kernel and
    the settings from it, instead of five keywords packed by apply, kept on the node and unpacked again for
    each (a tiny layer's step, 20x1x10x20, is tens of microseconds; the keywords showed). A caller keeping
    one checks itself that the parameters still hold the arrays the views are of (the layers' snapshots:
    CellSnapshot, nn/recurrent._WeightsSnapshot)."""

    __slots__ = ("kernel", "params", "views", "reverse", "plan", "states_only", "inference")

    def __init__(self, kernel, params, views, reverse, plan=None, states_only=False):
        self.kernel, self.params, self.views, self.reverse, self.plan = kernel, tuple(params), views, reverse, plan
        self.states_only = states_only
        # the same call for a forward no backward follows (grad mode off, or nothing requires grad): the loop
        # writes and keeps nothing for a backward (Kernel.forward's states_only)
        self.inference = self if states_only else KernelCall(kernel, params, views, reverse, plan, True)

    def __call__(self, x, state=(), lengths=None):
        """(output (T, B, n_0) in real time, final state tuple of (1, B, n)) of x (T, B, I) from `state` (a
        tuple of (B, n) Tensors; () for zeros), as one tape node (see run_compiled)."""
        call = self if _recorded(x, state, self.params) else self.inference
        if lengths is None:   # (lengths only when given: one keyword less for the node to keep and pass on)
            outs = apply(CompiledRecurrence, x, *state, *self.params, call=call)
        else:
            outs = apply(CompiledRecurrence, x, *state, *self.params, call=call, lengths=lengths)
        return outs[0], outs[1:]

    def by_plan(self, plan):
        """This call checkpointed by `plan` (nn/bptt_plan.py): the node runs and recomputes by it inside
        compiled code (segments.py). No views: the pieces make their own."""
        return KernelCall(self.kernel, self.params, None, self.reverse, plan)

    def __repr__(self):   # (tr.viz prints a node's attributes)
        p = self.kernel.prog
        return (f"KernelCall(input {p.input_size}, states {tuple(p.state_sizes)}, {np.dtype(p.dtype).name}"
                f"{', reverse' if self.reverse else ''}{', checkpointed' if self.plan is not None else ''}"
                f"{', no backward' if self.states_only else ''})")


class CompiledRecurrence(Primitive):
    """(x, state parts..., params...) -> (output, final state parts...) for one layer and direction, as
    `call` (a KernelCall) runs it. Without state parts the sequence starts from zeros (nothing to
    differentiate, no zero tensors made per call). The final state parts come out as (1, B, n), the
    layer-direction's slice of h_n. call.states_only: no backward will follow (the tape does not record
    the node), so the forward writes and keeps nothing for one (Kernel.forward)."""

    fresh_grads = True   # the kernels allocate every gradient they return
    consumes_saved = True   # backward(last=True) may write over what the forward saved (Kernel.backward's consume)
    saves_tensors = True   # the sequence's states (and gates): freed after the backward without a walk
    attrs_saved = False   # the call: its kernel and settings; what backward reads is in saved (saved_needed)
    quiet_forward = False   # Numba kernels: nothing numpy warns about, and no errstate per call of a tiny step

    @staticmethod
    def forward(x, *rest, call, lengths=None):
        n_states = len(rest) - len(call.params)
        states, params = rest[:n_states], rest[n_states:]
        if call.plan is not None:   # checkpointed: pieces, recomputed in the backward (segments.py)
            from .segments import forward_by_plan
            out, finals, saved = forward_by_plan(call.kernel, x, states, params, lengths, call.reverse, call.plan,
                                                 call.states_only)
            saved = _Checkpointed(saved, _versions(call.params))
        else:
            out, finals, saved = call.kernel.forward(x, states, params, lengths, call.reverse, call.states_only,
                                                     call.views)
        return (out,) + finals, (saved, params)

    @staticmethod
    def saved_needed(saved, needs):
        """What the backward reads for the gradients asked for (tape._backward_reads: a parameter written in place
        between forward and backward refuses only if it is read): Kernel.backward_reads. A checkpointed call's
        pieces (segments.py) answer with all they hold."""
        kept, params = saved
        if type(kept) is _Checkpointed:
            return kept.read(params)
        plan = kept[3] if type(kept) is tuple and len(kept) == 4 else None
        if not isinstance(plan, _ForwardPlan):
            return saved
        return plan.kernel.backward_reads(kept[0], params, needs[0])

    @staticmethod
    def backward(gs, saved, needs, call, lengths=None, last=False):
        saved, params = saved
        n_states = len(needs) - 1 - len(params)
        dout, dfinals = gs[0], gs[1:]
        if call.plan is not None:
            from .segments import backward_by_plan, rerun_forward
            pieces = saved.saved
            if saved.versions != _versions(call.params):   # a parameter written in place since the forward
                pieces = rerun_forward(call.kernel, pieces, params, lengths, call.plan)
            dx, dstates, dparams = backward_by_plan(call.kernel, pieces, dout, dfinals, params, needs[1 + n_states:],
                                                    needs[0])
        else:
            dx, dstates, dparams = call.kernel.backward(saved, dout, dfinals, params, needs[1 + n_states:], needs[0],
                                                        last)
        if n_states:
            return (dx,) + tuple(dstates)[:n_states] + tuple(dparams)
        return (dx, *dparams)


class _Checkpointed(NamedTuple):
    """A checkpointed call's saved values: forward_by_plan's, and the versions of the call's parameters then.
    As torch's non-reentrant checkpoint, a parameter written in place between forward and backward is no refusal:
    the backward runs the forward again with the values the parameters hold now (segments.rerun_forward), so its
    gradients are those of a fresh forward at those values (torch's, recomputing the whole call). A kernel with a
    prelude (prelude.py) is the exception: its extra parameters were computed on the tape from the old values, so a
    written parameter is read by the backward, and refused, as before."""
    saved: tuple
    versions: tuple

    def read(self, params):
        """What the backward reads (CompiledRecurrence.saved_needed): the input, the state and what the pieces
        kept, and the parameters only when they cannot be rerun."""
        from .segments import arrays_read
        kernel = self.saved[1].kernel
        return arrays_read(self.saved, len(params)) + (params if kernel.prelude is not None else ())


def _versions(params):
    """The in-place writes counted on each parameter Tensor (Tensor._writes, as the tape's versions)."""
    return tuple(p._writes for p in params)


class PreludeCall(KernelCall):
    """A KernelCall of a kernel with a prelude (prelude.py): at each call the prelude computes the extra
    parameters from the cell's, and from the cell's buffers as they are then (`buffers`: prelude_buffers), on the
    tape, and the kernels run on both (their views made per call)."""

    __slots__ = ("buffers",)

    def __init__(self, kernel, params, views, reverse, plan=None, states_only=False, buffers=()):
        super().__init__(kernel, params, views, reverse, plan, states_only)
        self.buffers = buffers

    def __call__(self, x, state=(), lengths=None):
        params = self.params + self.kernel.prelude.run(self.params, self.buffers)
        return KernelCall(self.kernel, params, None, self.reverse, self.plan)(x, state, lengths)

    def by_plan(self, plan):
        return PreludeCall(self.kernel, self.params, None, self.reverse, plan, buffers=self.buffers)


def prelude_buffers(kernel, cell):
    """The cell's buffers (Tensors) that the kernel's prelude reads, in its order: read at each call (their
    values now), so that a mask or spectral_norm's u and v written since the kernel was made are seen."""
    held = dict(cell.named_buffers())
    return tuple(held[name] for _, name in kernel.prelude.buffers)


def _recorded(x, state, params):
    """Whether apply will record the node (tape.py: grad mode on and an input that requires grad)."""
    if not _grad_mode.enabled:   # (is_grad_enabled's read, as apply makes it: a call less per step)
        return False
    # the parameters first: in training the first one answers (loops: any() over a generator, or one
    # tuple of all the inputs, cost more than the rest of this check). The attribute, not the property,
    # as apply's _edges reads it: a Python call less per input.
    for t in params:
        if t._requires_grad:
            return True
    if x._requires_grad:
        return True
    for t in state:
        if t._requires_grad:
            return True
    return False


def run_compiled(cell, x, state=(), lengths=None, reverse=False, known=None, plan=None):
    """Run `cell` over x (T, B, I) Tensor from `state` (tuple of (B, n) Tensors; () for zeros) as one tape
    node; `reverse`: over each sequence from its last valid step back to its first. Returns (output
    (T, B, n_0) in real time, final state tuple of (1, B, n)). known: (kernel, the cell's parameters in
    named_parameters order, Kernel.parameter_views of their arrays or None) from a caller that knows the
    cell's structure has not changed and its parameters hold the same arrays (the layers' snapshots), so
    that nothing is checked again; a caller calling often keeps a KernelCall instead. plan: a checkpointing
    plan (nn/bptt_plan.py) for the node to run and recompute by (segments.py; no views: pieces)."""
    kernel, params, views = known if known is not None else _kernel_and_params(cell, x.dtype)
    if kernel.prelude is not None:
        return PreludeCall(kernel, params, None, reverse, plan, buffers=prelude_buffers(kernel, cell))(x, state,
                                                                                                     lengths)
    return KernelCall(kernel, params, None if plan is not None else views, reverse, plan)(x, state, lengths)
