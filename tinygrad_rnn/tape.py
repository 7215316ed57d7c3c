"""The tape: how operations are recorded, and the reverse walk over them that computes gradients.

`apply(prim, *inputs, **attrs)` runs primitive `prim`'s forward (primitives.py) on the inputs' arrays and
wraps the results in Tensors. When grad mode is on and an input requires grad, it also records a Node:
which primitive, the edges to its inputs, its attributes and what its backward saved. Unrolling a recurrent
cell over T steps records T copies of the cell's nodes, so backpropagation through time is nothing but
`backward()` over that graph: `backward_from` walks it.

The invariants the walk relies on:
  * Every Node gets a sequence number when it is recorded, and its inputs were recorded before
    it. Sorting the reachable nodes by decreasing number is therefore a reverse topological
    order: each node is visited after every node that uses its output. No recursion, so a
    200,000-node graph (a long unrolled sequence) is fine.
  * An edge points either at a leaf Tensor (gradient accumulated into `.grad`) or at
    (node, output slot) of the node that produced the input. Nodes do not hold their output
    Tensors, so an intermediate array lives only as long as someone (a user, or a node's
    `saved`) needs it.
  * The tape knows no primitive. The walk hands a node its output cotangent, gets one gradient per
    input back, sums each back to its input's shape (broadcasting's adjoint, in one place:
    `unbroadcast`), and adds it to the input's cotangent. A leaf's first gradient is copied into
    a buffer of its own (VJPs return shared arrays and views), unless the primitive declares
    `fresh_grads`: arrays made for this call alone, each of its input's shape and dtype, which the
    leaf keeps as they are, unchecked (tests/engine/test_tape.py holds the primitives to that).

Saved values are the inputs' arrays themselves, not copies, so an array changed in place between
forward and backward would give wrong gradients. The library's own in-place writes (an optimizer
step, load_state_dict) bump the tensor's version counter; a node records the versions of its leaf
inputs (those that do not require grad too: a frozen weight; for a view taken without recording, such as
that weight's transpose, its base's: views.py) and backward refuses, naming the tensor, if one has moved on and
the node's backward reads it (what it saved for the gradients asked for, saved_needed: as torch's, a Linear's
weight written between forward and backward refuses only when the input's gradient, which reads it, was asked for).
Raw writes into the array (`x.numpy()`, `x._data`) bypass the counter, and so do writes through `x.data`, as
torch's (a Tensor sharing x's memory with a counter of its own); `tr.detect_anomaly()` (anomaly.py) catches those
too, by a checksum of every input verified in backward. A computed tensor (y = a * 2) has no version a node
records: an in-place write of its memory (under no_grad(), through y.detach() or a view) is noted on the nodes
that made it (_note_computed_write), and backward refuses a node recorded before the write that saved an array
of that memory.

Grad mode (no_grad, enable_grad, inference_mode, set_grad_enabled: the end of this file), per thread, is the
tape's switch: it decides whether apply records anything.

Where this module sits: tensor.py builds the Tensor class on it (every Tensor operation calls apply), so
this module does not import tensor.py. tensor.py hands it the class once, right after defining it
(set_tensor_class); apply wraps its results in it and run_hooks hands hooks their gradient in it, both at
call time. This module imports numpy, views.py (which leaf a view's memory belongs to, for the version
checks) and tensor_args.py, and nothing of the layers built on the engine (nn, optim, kernels, compile:
tests/engine/test_layering.py holds it to that).
"""
from __future__ import annotations

import inspect
import itertools
import math
import operator
import threading
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .tensor_args import _check_bool
from .views import _VIEW_PRIMS, _is_view_node, _note_recorded_views, _note_view_bases

__all__ = ["apply", "Node", "InplaceModificationError", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled"]

# The Tensor class: None until tensor.py, which imports this module, defines it and calls set_tensor_class.
Tensor = None


def set_tensor_class(cls: type) -> None:
    """Called once by tensor.py with its Tensor class: apply wraps its results in it, run_hooks the gradients
    (and inplace.py, which tensor.py's class inherits from, reads it here as tape.Tensor)."""
    global Tensor
    Tensor = cls


# ----------------------------------------------------------------------------- recording
class InplaceModificationError(RuntimeError):
    """An array a recorded operation read was modified in place before backward used it."""


_sequence = itertools.count()
_FREED = object()  # marks a node whose saved values were released by backward


class Node:
    """One recorded operation: the data a backward pass (or a visualiser, or a compiler) needs."""

    __slots__ = ("prim", "parents", "needs", "versions", "attrs", "saved", "shapes", "multi", "seq", "retained",
                 "hooks", "where", "sharers", "__weakref__")

    def __init__(self, prim: type, parents: tuple, needs: tuple[bool, ...], versions: tuple | None, attrs: dict,
                 saved: Any, shapes: tuple, multi: bool) -> None:
        self.prim = prim  # the Primitive subclass
        self.parents = parents  # per input: a leaf Tensor, (Node, slot), or None (no grad needed)
        self.needs = needs  # per input: whether it needs a gradient (parents[i] is not None)
        # (leaf, its version when recorded (Tensor.bump_version), input index) per leaf input; None if none
        self.versions = versions
        self.attrs = attrs  # the primitive's non-array arguments (axis, shape, index...)
        self.saved = saved  # what backward needs; _FREED once backward released it
        self.shapes = shapes  # the output shape, or a tuple of them if the primitive has several outputs
        self.multi = multi
        self.seq = next(_sequence)
        self.retained = None  # {slot: Tensor} whose .grad the walk fills (Tensor.retain_grad)
        self.hooks = None  # {slot: {id: hook}} run on that output's gradient before it is used (register_hook)
        self.where = None  # creation site, recorded in anomaly mode only
        # (sharers, the arrays that share an output's memory, is set only when a view is taken: views.py reads it
        # with getattr, so that the common node, never viewed, costs nothing for it)

    def name(self) -> str:
        """The primitive's name ("Mul"), a method as torch's grad_fn.name() (there "MulBackward0")."""
        return self.prim.__name__

    @property
    def next_functions(self) -> tuple:
        """Per input, as torch's: (the Node that made it, its output slot), (AccumulateGrad, 0) for a leaf that
        requires grad, or (None, 0) for an input without a gradient."""
        return tuple(p if type(p) is tuple else (None, 0) if p is None else (AccumulateGrad(p), 0)
                     for p in self.parents)

    def __repr__(self):
        return f"<Node #{self.seq} {self.name()} -> {self.shapes}>"


class AccumulateGrad:
    """torch's name for the end of a walk at a leaf that requires grad (grad_fn.next_functions shows it);
    `variable` is that leaf."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"   # torch's own name(), so code that compares it keeps working

    def __repr__(self):
        return f"<AccumulateGrad of a leaf of shape {tuple(self.variable.shape)}>"


# The engine's recording hooks, for the optional anomaly mode (anomaly.py), tr.viz, tr.checkpoint's collector
# (recompute.py) and the trace of a compiled cell (compile/trace.py): called as check(prim, inputs, outs, node,
# attrs) after every operation, with the input and output Tensors (node is None when it was not recorded) and the
# primitive's attributes, whichever module called apply; and check(node, g, grads) after every backward step.
# A hook sees every thread's operations: one that is about this thread filters by threading.get_ident().
# Empty lists cost one truth test per op.
_forward_checks = []
_backward_checks = []
# The engine's hook for in-place writes (inplace.py), for the trace of a compiled cell (compile/trace.py), which
# must know that a written tensor now stands for another value: called as check(tensor, new, symbol) before
# `tensor` takes the values of `new` (a Tensor: the result an in-place operation computed; or None when the values
# are written straight into the tensor's memory, new already, off the tape: p -= lr * g, fill_, copy_). symbol
# names the operation ("+=", "relu_", "copy_", "unsqueeze_"). A check may raise to refuse the write, before any
# memory is changed. Like the recording hooks, it sees every thread's writes; an empty list costs one truth test.
_write_checks = []
# Callbacks run with no arguments once at the end of every Tensor.backward(), after the walk, in
# the order registered: DistributedDataParallel (nn/parallel.py) averages gradients over processes
# here, as torch's DDP queues a callback for the end of its backward pass.
_backward_end_hooks = []


def apply(prim: type, *inputs: Tensor, **attrs: Any) -> Tensor | tuple[Tensor, ...]:
    """Run primitive `prim` on Tensors `inputs` and record it if any input requires grad.

    This runs once per operation, T times per cell operation in an unrolled layer, so it is kept
    to plain loops (the tape's per-op overhead is what the generic path pays, and what a tiny
    fused layer pays per call): while grad mode is on, one pass over the inputs collects both the
    arrays for the forward and, per input, the edge the walk will follow, whether it needs a
    gradient and, for a leaf, the version backward checks (Tensor.bump_version)."""
    if _grad_mode.enabled:
        arrays, parents, needs, leaves = _edges(inputs)
        record = True in needs
    else:
        arrays = [t._data for t in inputs]
        record = False
    if prim.quiet_forward:   # the library's numpy: inf - inf, 0 * inf quietly, as torch's (_quietly)
        out, saved = _quietly(prim.forward, *arrays, **attrs)
    else:   # a view, Numba kernels, a user's Function: called as it is
        out, saved = prim.forward(*arrays, **attrs)
    multi = type(out) is tuple
    tensors = []
    for o in (out if multi else (out,)):
        if type(o) is not np.ndarray:  # numpy turns 0-d results into scalars (np.float64): keep ndarrays
            o = np.asarray(o)
        tensors.append(Tensor._make(o, record))
    node = None
    if record:
        shapes = tuple([t._data.shape for t in tensors]) if multi else tensors[0]._data.shape
        node = Node(prim, tuple(parents), tuple(needs), tuple(leaves) if leaves else None, attrs, saved, shapes, multi)
        slot = 0
        for t in tensors:
            t._node, t._slot = node, slot
            slot += 1
        if prim in _VIEW_PRIMS and tensors[0]._data.base is not None:   # a view of a computed input, maybe: noted
            _note_recorded_views(tensors, inputs)                          # for in-place writes' check
    else:
        _note_view_bases(tensors, inputs)
    if _forward_checks:
        for check in _forward_checks:
            check(prim, inputs, tensors, node, attrs)
    return tuple(tensors) if multi else tensors[0]


def _edges(inputs):
    """apply's one pass over the inputs in grad mode: their arrays and, per input, its edge (None, a leaf
    Tensor or (node, slot)) and whether it needs a gradient; and (leaf, its version, its input index) for each
    leaf input (only those: the backward's check of versions then walks the leaves alone, not every input). A
    tensor that does not require grad is a leaf too (only recorded operations make non-leaves), and its array
    may be saved as well: a frozen weight that load_state_dict rewrites in place must not give the old
    forward's gradients computed with its new values."""
    arrays, parents, needs, leaves = [], [], [], []
    for i, t in enumerate(inputs):
        arrays.append(t._data)
        if not t._requires_grad:  # (the attribute, not the property: a call per input, a third of this loop)
            parents.append(None)
            needs.append(False)
            base = t if t._base is None else t._base  # a view's version is its base's (_note_view_bases)
            leaves.append((base, base._writes, i))
        elif t._node is None:  # a leaf
            parents.append(t)
            needs.append(True)
            leaves.append((t, t._writes, i))
        else:
            parents.append((t._node, t._slot))
            needs.append(True)
    return arrays, parents, needs, leaves


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient of a broadcast result back to the operand's own shape."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    if extra and len(axes) == extra and g.flags.c_contiguous and g.dtype.kind == "f":
        # only leading axes, as for a bias added to every row: ones @ rows, one BLAS matrix-vector product
        # (numpy's sum over axis 0 adds the rows one by one too, four times slower at the demo's (2048, 103))
        rows = g.reshape(math.prod(g.shape[:extra]), math.prod(shape))
        return (np.ones(rows.shape[0], g.dtype) @ rows).reshape(shape)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


# ----------------------------------------------------------------------------- the walk
_by_seq = operator.attrgetter("seq")


def _reachable_nodes(root):
    """All nodes the root depends on, newest first (a reverse topological order), iteratively."""
    seen, stack = {root}, [root]
    while stack:
        node = stack.pop()
        for edge in node.parents:
            if type(edge) is tuple and edge[0] not in seen:
                seen.add(edge[0])
                stack.append(edge[0])
    return sorted(seen, key=_by_seq, reverse=True)


def backward_from(root: Node, slot: int, grad: np.ndarray, retain_graph: bool = False,
                  post_accumulate: bool = True) -> None:
    """Reverse-mode sweep from output `slot` of node `root`, seeded with cotangent `grad`. A leaf's
    post-accumulate-grad hooks run once its .grad holds this walk's gradient (not when post_accumulate is False:
    tr.autograd.grad's walk, whose gradients are handed back rather than accumulated)."""
    cotangents = {root: {slot: grad}}
    owned = set()  # (node, slot) whose cotangent buffer this walk allocated: safe to add into in place
    hooked_leaves = {}  # leaf -> its gradient summed over this walk, for its hooks to see once at the end
    nodes = _reachable_nodes(root)
    _check_before_the_walk(nodes)
    written = _computed_write_count
    with _QuietWalk() as quiet:
        for node in nodes:
            gs = cotangents.pop(node, None)  # dropped once used: BPTT frees memory as it goes
            if gs is None:
                continue
            if node.hooks or _computed_write_count != written:
                gs, written = _before_node_backward(node, gs, nodes, written, quiet)
            input_grads = _node_backward(node, gs, retain_graph, quiet)
            fresh = node.prim.fresh_grads
            for edge, gi in zip(node.parents, input_grads):
                if edge is None or gi is None:
                    continue
                if type(edge) is tuple:  # an intermediate: add to its node's cotangent for that slot
                    _add_cotangent(cotangents, owned, edge, gi)
                elif edge._hooks:  # a leaf with hooks: they see its whole gradient once, as torch's do
                    gi = unbroadcast(gi, edge._data.shape)
                    hooked_leaves[edge] = gi if edge not in hooked_leaves else hooked_leaves[edge] + gi
                elif fresh and edge._grad is None:  # the leaf's first gradient, made for it alone: kept as it is
                    edge._grad = gi  # (a fused layer's step passes here once per parameter: no call, no checks)
                else:
                    _accumulate_leaf_grad(edge, gi)
    if hooked_leaves:
        _accumulate_hooked_leaves(hooked_leaves, post_accumulate)


class _QuietWalk:
    """np.errstate(all="ignore") over a backward walk (the library's numpy: inf - inf, 0 * inf quietly, as torch's),
    stepped out of around the user's code the walk runs (tensor hooks, a custom Function's backward, a module's
    backward hook, a checkpointed function run again: Primitive.runs_user_code), which so sees the user's own numpy
    settings: leaving an errstate puts back the settings it found."""

    def __enter__(self):
        self._state = np.errstate(all="ignore")
        self._state.__enter__()
        return self

    def __exit__(self, *exc):
        self._state.__exit__(*exc)

    def users(self, fn, *args, **kwargs):
        """fn(*args, **kwargs) with the settings the walk found, then quiet again."""
        self._state.__exit__(None, None, None)
        try:
            return fn(*args, **kwargs)
        finally:
            self.__enter__()


def _accumulate_hooked_leaves(hooked_leaves, post_accumulate):
    """The end of the walk for the leaves with hooks: each leaf's whole gradient through its register_hook hooks
    into .grad, then its post-accumulate-grad hooks (when the walk accumulates)."""
    for leaf, gi in hooked_leaves.items():
        _quietly(_accumulate_leaf_grad, leaf, run_hooks(leaf._hooks, gi))   # (the hooks: the user's numpy settings)
        if post_accumulate and leaf._post_accumulate_hooks:
            run_post_accumulate_hooks(leaf)


def _before_node_backward(node, gs, nodes, written, quiet):
    """What the walk runs before a node's backward when hooks are involved: the tensor hooks of its outputs (every
    consumer has added in: the gradient of each hooked output is complete; with the user's numpy settings: quiet, the
    walk's _QuietWalk), then, if a hook of this walk (those, a module's backward hook, a custom Function's backward)
    wrote a computed tensor in place, torch's refusal for the nodes still to run that saved its memory. (gs, the
    write count now checked.)"""
    if node.hooks:
        gs = {s: quiet.users(run_hooks, node.hooks[s], g) if s in node.hooks else g for s, g in gs.items()}
    if _computed_write_count != written:
        _check_computed_writes([n for n in nodes if n.seq <= node.seq])
    return gs, _computed_write_count


def _check_before_the_walk(nodes):
    """Every node's saved values checked before the walk writes any .grad: a refusal (a second backward, a tensor
    written in place since the forward) then leaves all gradients as they were. torch refuses before it reaches a
    leaf whose gradient the refusing node feeds; the walk here adds a leaf's gradient as soon as a node hands it
    one, so without this a leaf read by an earlier node would be left with part of its gradient. The memory of a
    computed tensor written in place since (_computed_writes) is looked for in what the nodes saved."""
    for node in nodes:
        if node.versions is not None or node.saved is _FREED:
            _check_saved_values(node, nodes)
    if _computed_writes:   # (empty unless a computed tensor was written: no cost per node otherwise)
        _check_computed_writes(nodes)


def _node_backward(node, gs, retain_graph, quiet):
    """One node's step of the walk: its VJP applied to the cotangents {slot: array} that reached it (a VJP that runs
    the user's code with the user's numpy settings: quiet, the walk's _QuietWalk)."""
    _check_saved_values(node)  # again: a hook run by this walk may have written a tensor in place
    if node.retained:
        for s, t in node.retained.items():
            if s in gs:  # a copy: cotangents are shared (Add passes one array to both inputs) and may be
                # stride-0 views (Sum's); users write into .grad. Summed over backward calls, as a leaf's
                t._grad = np.array(gs[s], copy=True) if t._grad is None else _quietly(np.add, t._grad, gs[s])
    if node.multi:  # one cotangent per output slot, None where no gradient arrived
        g = [None] * len(node.shapes)
        for s, gs_s in gs.items():
            g[s] = gs_s
    else:
        g = gs[0]
    if node.prim.consumes_saved:
        input_grads = node.prim.backward(g, node.saved, node.needs, last=not retain_graph, **node.attrs)
    elif node.prim.runs_user_code:
        input_grads = quiet.users(node.prim.backward, g, node.saved, node.needs, **node.attrs)
    else:
        input_grads = node.prim.backward(g, node.saved, node.needs, **node.attrs)
    for check in _backward_checks:
        check(node, g, input_grads)
    if not retain_graph and _saved_tensors(node):
        node.saved = _FREED
    return input_grads


def _saved_tensors(node):
    """Whether the values node's backward read hold tensors (the primitive says so, or they are looked at)."""
    holds = node.prim.saves_tensors
    return _holds_tensors(node.prim.saved_needed(node.saved, node.needs)) if holds is None else holds


def _holds_tensors(saved):
    """Whether `saved` (a primitive's saved values, nested tuples) holds an array. Only such a node is freed by
    backward (without retain_graph) and refuses a second one, as torch frees only saved tensors: a node that saved
    nothing, shapes or Python numbers runs again, as torch's does. A 0-d array or numpy scalar is a tensor too: x * 2.0
    saves the 2 (torch wraps it in a 0-d tensor and refuses a second backward), x.exp() of a 0-d x its result."""
    if type(saved) is np.ndarray:
        return True
    if type(saved) is tuple or type(saved) is list:   # (a loop, not any(): this runs once per node of every walk)
        for s in saved:
            if type(s) is not int and _holds_tensors(s):   # (ints: a shape's, the commonest saved tuple)
                return True
        return False
    return isinstance(saved, np.generic)   # numpy's scalar result of a 0-d array (np.exp(0-d) is one)


def _check_saved_values(node, nodes=None):
    """Refuse a node whose saved values are gone (a second backward) or stale (a leaf changed since, and read by its
    backward: _backward_reads; a change it does not read is taken into the versions the node checks)."""
    if node.saved is _FREED:
        raise RuntimeError(
            f"Trying to backward through the graph a second time: the saved values of {node.name()} were freed "
            "by the first backward() (as torch, saved tensors are freed when backward() has used them). Pass "
            "retain_graph=True to the first backward() if you need to call it twice, or recompute the forward "
            "pass."
        )
    if node.versions is not None:
        for leaf, version, i in node.versions:
            if leaf._writes != version:  # a leaf changed since it was recorded
                if _backward_reads(node, leaf._data, nodes):
                    raise _modified_in_place(node, leaf, i)
                node.versions = tuple((t, t._writes if t is leaf else v, j) for t, v, j in node.versions)


def _backward_reads(node, array, nodes):
    """Whether node's backward reads values of `array`'s memory: what it saved for the gradients asked for
    (saved_needed), as torch refuses only a tensor an operation saved (a Linear's weight written between forward
    and backward when only the weight's gradient was asked for: its input is saved, not the weight). A recorded view
    (W.T) saves nothing; the operations of the walk (`nodes`) that saved arrays of that memory read it (all of them,
    a conservative answer; without the walk's nodes, yes). Anything saved but arrays, numbers and their tuples is
    taken to read it (a custom Function's context)."""
    if _may_read(node.prim.saved_needed(node.saved, node.needs), array) or (
            node.prim.attrs_saved and _may_read(node.attrs, array)):
        return True
    if not _is_view_node(node):
        return False
    return nodes is None or any(_may_read(n.prim.saved_needed(n.saved, n.needs), array) for n in nodes
                                if n.saved is not _FREED)


def _may_read(saved, array):
    if type(saved) is np.ndarray:
        return np.may_share_memory(saved, array)
    if type(saved) is tuple or type(saved) is list:
        return any(_may_read(s, array) for s in saved)
    if type(saved) is dict:
        return any(_may_read(s, array) for s in saved.values())
    return not (saved is None or isinstance(saved, (bool, int, float, str, np.generic, np.dtype, slice, type)))


# {Node: [(sequence number, memory)]}: the in-place writes of the memory of each node's outputs, noted by
# _note_computed_write; weak, so a record goes with its graph
_computed_writes = weakref.WeakKeyDictionary()
_computed_write_count = 0   # how many _note_computed_write has noted: the walk's cheap test for a write by a hook


def _note_computed_write(t):
    """Note an in-place write of computed tensor t's memory (Tensor._write: y = a * 2 written under no_grad(),
    through y.detach() or a view) on the nodes whose outputs are that memory: the one that made t (or, for an
    unrecorded view, the one that made what it views: views._maker_of_memory) and, up a chain of recorded views,
    the ones under it. A computed tensor has no version a node records; _check_computed_writes then refuses a
    backward through a node recorded before the write that saved an array of that memory, as torch's version
    counter does; a graph recorded after reads the new values. The memory is all of the array t's views (numpy's
    .base chain): torch's counter is one for a tensor and all its views, so y[1] saved and y[0] written refuses."""
    global _computed_write_count
    _computed_write_count += 1
    node = _maker_of(t)
    record = (next(_sequence), _memory_of(t))
    while node is not None:
        _computed_writes.setdefault(node, []).append(record)
        edge = node.parents[0] if _is_view_node(node) else None
        node = edge[0] if type(edge) is tuple else None


def _maker_of(t):
    """The node that made computed tensor t, or for an unrecorded view of one the node that made what it views
    (views._maker_of_memory); None once that graph is gone."""
    if t._node is None and t._computed_base is not None:
        return t._computed_base()
    return t._node


def _memory_of(t):
    """The array that owns t's memory: the end of numpy's .base chain (as_strided's views have a wrapper object
    in it)."""
    memory = t._data
    while getattr(memory, "base", None) is not None:
        memory = memory.base
    return memory


# {Node: count}: the version a recorded in-place write carried to the tensor it made (computed_version)
_carried_versions = weakref.WeakKeyDictionary()


def computed_version(t):
    """torch's version counter of computed tensor t (Tensor._version): the in-place writes of t's memory, through t
    or any tensor that shares it (y.detach(), y[0], y[0].T...), which _note_computed_write notes on the node at the
    bottom of their chain of views, and those the tensor carried from before a recorded write (carry_version). 0
    once the graph that made the memory is gone (nothing is left to note on)."""
    node, memory = _maker_of(t), _memory_of(t)
    while node is not None and _is_view_node(node) and type(node.parents[0]) is tuple:
        node = node.parents[0][0]
    if node is None:
        return 0
    return _carried_versions.get(node, 0) + sum(1 for _, written in _computed_writes.get(node, ()) if written is memory)


def carry_version(node, version):
    """A recorded in-place write made `node`'s output the written tensor: its version goes on from `version`, as
    torch's counter does."""
    _carried_versions[node] = version


def _check_computed_writes(nodes):
    """Refuse the backward if a node saved an array of memory written in place after it was recorded
    (_computed_writes): its gradient would be computed with values it did not see. Only what backward reads counts
    (saved_needed), so, as torch, y + 1 recorded before y was written runs, y * y or y.exp() refuses."""
    writes = [w for node in nodes for w in _computed_writes.get(node, ())]
    if not writes:
        return
    newest = max(seq for seq, _ in writes)
    for node in nodes:
        if node.seq > newest or node.saved is _FREED:
            continue
        later = [array for seq, array in writes if seq > node.seq]
        for saved in _saved_arrays(node.prim.saved_needed(node.saved, node.needs)):
            if any(np.may_share_memory(saved, array) for array in later):
                raise InplaceModificationError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: {node.name()} saved an array of shape {tuple(saved.shape)} of a computed tensor "
                    "that was "
                    "written in place after the forward pass recorded it (under no_grad(), through x.detach() or "
                    "a view), as torch refuses it: clone() the tensor before writing it, or run the forward pass "
                    "again.")


def _saved_arrays(saved):
    """The arrays in a node's saved values (nested tuples and lists)."""
    if type(saved) is np.ndarray:
        yield saved
    elif type(saved) is tuple or type(saved) is list:
        for s in saved:
            yield from _saved_arrays(s)


def _add_cotangent(cotangents, owned, edge, gi):
    """Add gradient gi into the cotangent of output slot edge = (node, slot), summed to its shape."""
    parent, pslot = edge
    shape = parent.shapes[pslot] if parent.multi else parent.shapes
    if gi.shape != shape:
        gi = unbroadcast(gi, shape)
    slots = cotangents.setdefault(parent, {})
    if pslot not in slots:
        slots[pslot] = gi  # may be shared with other consumers: never written into
    elif edge in owned:
        slots[pslot] += gi  # a weight used at every step: no new buffer per step
    else:
        slots[pslot] = slots[pslot] + gi
        owned.add(edge)


def _accumulate_leaf_grad(leaf, gi):
    """Accumulate into leaf.grad, in a buffer the leaf owns (gi may be shared or a view). (A fresh
    gradient, Primitive.fresh_grads, is kept as it is by backward_from when it is the leaf's first.)"""
    if gi.shape != leaf._data.shape:
        gi = unbroadcast(gi, leaf._data.shape)
    if leaf._grad is not None:
        leaf._grad += gi
    else:
        leaf._grad = np.array(gi, dtype=leaf._data.dtype, order="C")   # (a transpose's gi is not C-ordered)


# ----------------------------------------------------------------------------- quiet nan and inf, as torch's
# torch computes inf - inf, 0 * inf, an overflow quietly; numpy warns (a RuntimeWarning; an error under a filter such
# as warnings.simplefilter("error"), or under np.errstate(all="raise")). The library's numpy runs under
# np.errstate(all="ignore"), numpy's own switch for this (a context variable: this thread's, put back on the way out),
# and no warnings filter is ever installed, so the user's filters and the user's own numpy are as they were: a
# primitive's forward (apply, unless Primitive.quiet_forward is False: a view, Numba kernels, a user's Function), and
# the walk (_QuietWalk), which steps out of it around the user's code it runs (hooks, a custom Function's backward, a
# checkpointed function run again), so that code sees the user's own settings.
@np.errstate(all="ignore")
def _quietly(fn, *args, **kwargs):
    """fn(*args, **kwargs) under np.errstate(all="ignore") (the decorator's form: a call costs ~0.3 us, the `with`
    form's object twice that)."""
    return fn(*args, **kwargs)


def _modified_in_place(node, edge, i):
    kind = "" if edge.requires_grad else " that does not require grad (a frozen weight, a buffer?)"
    return InplaceModificationError(
        f"a tensor that backward needs was modified in place after the forward pass recorded it: "
        f"input {i} of {node.name()}, a {type(edge).__name__}{kind} of shape {tuple(edge.shape)} (changed by an "
        "optimizer step, load_state_dict or an nn.init function): call backward() first, before "
        "optimizer.step(), or run the forward pass again.")


# ----------------------------------------------------------------------------- hooks
def run_hooks(hooks: dict, g: np.ndarray) -> np.ndarray:
    """Pass gradient g through a tensor's hooks ({id: hook}, in registration order), as torch: each gets a
    Tensor of its own (the walk's arrays may be shared with other consumers) and may return a replacement
    of the same shape and dtype, which the next hook and the rest of the walk see, or None to keep it."""
    for hook in list(hooks.values()):
        out = hook(Tensor._make(g.copy(), False))
        if out is None:
            continue
        name = getattr(hook, "__name__", type(hook).__name__)
        if not isinstance(out, Tensor):
            raise TypeError(f"hook {name!r} must return a Tensor or None, got {type(out).__name__}")
        if out.shape != g.shape:
            raise ValueError(f"hook {name!r} changed the gradient's shape from {tuple(g.shape)} to {tuple(out.shape)}")
        if out.dtype != g.dtype:
            raise TypeError(f"hook {name!r} changed the gradient's dtype from {g.dtype} to {out.dtype}")
        g = out._data
    return g


def run_post_accumulate_hooks(leaf) -> None:
    """Call each of the leaf's register_post_accumulate_grad_hook hooks with the leaf, its .grad now accumulated
    (an optimizer step inside backward reads it there), as torch's: a hook returns None (or the leaf itself,
    which torch lets pass too); anything else is torch's RuntimeError."""
    for hook in list(leaf._post_accumulate_hooks.values()):
        out = hook(leaf)
        if out is not None and out is not leaf:
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")


class RemovableHandle:
    """What register_hook (and a Module's register_*_hook) returns, as torch's: remove() takes the hook off
    (again is harmless); a `with` block removes it at its end. extra_dict, as torch's: a dict or a list of
    dicts keyed by the same id (a module's with_kwargs and always_call flags) that remove() cleans too."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, *, extra_dict: dict | list | None = None) -> None:
        self.hooks_dict, self.id = hooks, next(RemovableHandle._ids)
        self.extra_dicts = [extra_dict] if isinstance(extra_dict, dict) else list(extra_dict or ())

    def remove(self) -> None:
        self.hooks_dict.pop(self.id, None)
        for flags in self.extra_dicts:
            flags.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


# ----------------------------------------------------------------------------- grad mode
class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


class _TraceMode(threading.local):
    """On while this thread traces a cell for the compiled kernels (compile/trace.py): the few operations that take
    a value off the tape for their own arithmetic (var()'s mean) record it instead, so that the kernels compute it."""
    enabled = False


_trace_mode = _TraceMode()


class _GradModeContext:
    """Sets grad mode to `mode` inside `with` (restoring the previous mode after), or around a function
    when used as a decorator: `@tr.no_grad()`, or `@tr.no_grad` as torch 2 allows."""
    mode = True

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and cls in (no_grad, enable_grad, inference_mode):
            return cls()(args[0])  # used as a decorator without parentheses: the wrapped function
        return super().__new__(cls)

    def __enter__(self) -> None:
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        def wrapper(*args, **kwargs):
            with type(self)._fresh(self):
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper

    def _wrap_generator(self, fn):
        """A generator's body runs at each next(), after the call has returned: as torch, set the mode around
        every resumption (send, throw, close; the caller's mode is back in between), not around the call
        that only creates it."""
        def wrapper(*args, **kwargs):
            gen = fn(*args, **kwargs)
            resume, arg = gen.send, None
            while True:
                with type(self)._fresh(self):
                    try:
                        value = resume(arg)
                    except StopIteration as stop:
                        return stop.value
                try:
                    resume, arg = gen.send, (yield value)
                except GeneratorExit:
                    with type(self)._fresh(self):
                        gen.close()
                    raise
                except BaseException as e:  # gen.throw(e) by the caller: handed to fn's body
                    resume, arg = gen.throw, e

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper

    def _fresh(self):  # a decorated function may recurse or run in threads: one context per call
        return type(self)()


class no_grad(_GradModeContext):
    """`with tr.no_grad():` (or as a decorator) runs operations without recording them."""
    mode = False


class enable_grad(_GradModeContext):
    """`with tr.enable_grad():` records operations again inside a no_grad() block."""
    mode = True


class inference_mode(_GradModeContext):
    """torch.inference_mode: here the same as no_grad() (there are no inference-only tensors).
    inference_mode(False) turns recording on, as torch's does (even inside no_grad()), so that
    `with tr.inference_mode(not training):` records while training."""

    def __init__(self, mode: bool = True) -> None:
        _check_bool(mode, "inference_mode: mode")
        self.mode = not mode

    def _fresh(self):
        return inference_mode(not self.mode)


class set_grad_enabled(_GradModeContext):
    """As torch: `tr.set_grad_enabled(False)` switches recording off at once; used as a context manager
    (or decorator) it restores the previous mode on exit."""

    def __init__(self, mode: bool) -> None:
        _check_bool(mode, "set_grad_enabled: mode")
        self.mode = bool(mode)
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = self.mode

    def __enter__(self):  # the mode was set (and the previous one saved) when this was made
        pass

    def __call__(self, fn: Callable) -> Callable:
        # as a decorator: only calls run with the mode, so undo the switch made above
        _grad_mode.enabled = self._prev
        return super().__call__(fn)

    def _fresh(self):
        return set_grad_enabled(self.mode)


def is_grad_enabled() -> bool:
    return _grad_mode.enabled
