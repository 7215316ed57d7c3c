"""A traced cell's work on its weights alone, taken out of the step and run once per call on the tape.

    step_graph, prelude = split_prelude(graph)
    computed = prelude.run(params)        # Tensors, on the tape: gradients flow to the parameters

A cell may compute with its weights before using them: a masked recurrent matrix (U * mask), a scaled or
normalised one (U / U.norm()), a low-rank one (A @ B), or a parametrization's (tr.nn.utils.parametrize:
weight_norm, orthogonal), whose weight is computed at each read. None of that depends on the step's input or
state, so it is the same at every step; the generated kernels work on (batch, features) values and products
with weight matrices, not on matrices combined elementwise. So such operations are cut out of the graph:
they run once per call, replayed with the same primitives on the tape (`Prelude.run`), and their results
enter the kernels as extra parameters (after the cell's own). The tape carries the kernels' gradients of
those results back through the replayed operations to the cell's parameters, once per call.

The module buffers those operations read (a mask, orthogonal's base, spectral_norm's u and v: trace.py notes which
constants are the cell's buffers) are read as they are at each call (`Prelude.run`'s buffers, node.PreludeCall), so
a buffer written since the kernels were made is not stale, and its value is no part of the kernels' key
(trace.graph_key's live constants): a new mask finds the same kernel.

What goes: every operation on weights (and constants) alone, reading at least one weight, that reads or makes a
matrix (2-D, more than one row) other than by a transpose (the kernels read a transposed weight matrix as it is),
or that the kernels cannot run at all (tr.special.i0 of a bias), with the weight-only operations it reads.
Operations on constants alone stay in the step (a (batch, n) constant of the trace is per-row data there; the trace
folds those the kernels cannot run), except those the prelude reads (spectral_norm's v made a column for W v).
A cell without such operations has no prelude and its kernels are as before.
The trace sees every primitive (the tape's forward hook), so this holds for tr.linalg's and a parametrization's
operations as for Tensor methods: an orthogonal recurrent matrix (matrix_exp, cayley, householder) goes here.
"""
from typing import NamedTuple

import numpy as np

from .. import primitives as P
from ..tape import apply
from ..tensor import Tensor
from .lower import LOWERING
from .trace import Graph

_IN_THE_KERNELS = (P.Transpose,)   # weight-only operations on matrices the kernels do themselves


class Prelude(NamedTuple):
    ops: tuple        # (index in the traced graph, Op) in recording order: what run() replays
    consts: list      # the traced graph's constants (the ops' ("const", i) refs)
    results: tuple    # (op index, slot) of each computed parameter, in the order the kernels take them
    buffers: tuple    # (const index, name) of the cell's buffers the ops read: run() takes them as they are now
    live: frozenset   # the const indices of those buffers that the step does not read (graph_key: values not kept)

    def run(self, params, buffers=()):
        """The computed parameters (Tensors) from the cell's parameters and its buffers (Tensors, in the order of
        self.buffers: a mask, orthogonal's base, spectral_norm's u and v as they are at this call), by the recorded
        primitives."""
        values = {}
        now = {i: b for (i, _), b in zip(self.buffers, buffers)}

        def arg(ref):
            if ref[0] == "param":
                return params[ref[1]]
            if ref[0] == "const":
                held = now.get(ref[1])
                return Tensor._make(self.consts[ref[1]] if held is None else held._data, False)
            return values[ref[1], ref[2]]

        for n, op in self.ops:
            out = apply(op.prim, *[arg(r) for r in op.args], **dict(op.attrs))
            for slot, o in enumerate(out if isinstance(out, tuple) else (out,)):
                values[n, slot] = o
        return tuple(values[r] for r in self.results)


def _matrix(shape):
    return len(shape) > 2 or len(shape) == 2 and shape[0] != 1


def split_prelude(graph):
    """(the graph of the step without the weight-only work, its Prelude) or (graph, None) when there is none."""
    weight_only, constant_only, cut = set(), set(), set()
    for n, op in enumerate(graph.ops):
        if op.prim is P.Dropout or not all(r[0] in ("param", "const") or r[0] == "op" and r[1] in weight_only
                                           or r[0] == "op" and r[1] in constant_only for r in op.args):
            continue
        if not any(r[0] == "param" or r[0] == "op" and r[1] in weight_only for r in op.args):
            # constants alone (a (batch, n) constant of the trace is per-row data): left to the kernels, unless
            # the prelude reads it (spectral_norm's v made a column): _with_inputs takes it there then
            constant_only.add(n)
            continue
        weight_only.add(n)
        shapes = list(op.shapes) + [_shape_of(graph, r) for r in op.args]
        if op.prim not in _IN_THE_KERNELS and any(_matrix(s) for s in shapes) or op.prim not in LOWERING:
            cut.add(n)
    if not cut:
        return graph, None
    prelude = _with_inputs(graph, cut, weight_only | constant_only)
    read_by_step = [r for n, op in enumerate(graph.ops) if n not in prelude for r in op.args]
    results = tuple(sorted({(r[1], r[2]) for r in list(read_by_step) + list(graph.outputs)
                            if r[0] == "op" and r[1] in prelude}))
    read = {r[1] for n in prelude for r in graph.ops[n].args if r[0] == "const"}
    buffers = tuple((i, name) for i, name in graph.buffers if i in read)
    live = frozenset(i for i, _ in buffers) - {r[1] for r in read_by_step + list(graph.outputs) if r[0] == "const"}
    return _step_graph(graph, prelude, results), Prelude(tuple((n, graph.ops[n]) for n in sorted(prelude)),
                                                          graph.consts, results, buffers, live)


def _shape_of(graph, ref):
    if ref[0] == "param":
        return graph.params[ref[1]].shape
    if ref[0] == "const":
        return np.shape(graph.consts[ref[1]])
    return graph.ops[ref[1]].shapes[ref[2]]


def _with_inputs(graph, cut, weight_only):
    """The ops in `cut` and every weight-only (or constant-only) op they read, directly or not."""
    prelude, todo = set(), list(cut)
    while todo:
        n = todo.pop()
        if n not in prelude:
            prelude.add(n)
            todo.extend(r[1] for r in graph.ops[n].args if r[0] == "op" and r[1] in weight_only)
    return prelude


def _step_graph(graph, prelude, results):
    """The graph without the prelude's ops: what read a result now reads an extra parameter (a stand-in of the
    result's shape and dtype, which lowering and the kernels' compilation look at), the other refs renumbered."""
    first = len(graph.params)
    as_param = {r: ("param", first + i) for i, r in enumerate(results)}
    kept = [n for n in range(len(graph.ops)) if n not in prelude]
    new_index = {n: i for i, n in enumerate(kept)}

    def moved(ref):
        if ref[0] != "op":
            return ref
        return as_param[ref[1], ref[2]] if ref[1] in prelude else ("op", new_index[ref[1]], ref[2])

    ops = [graph.ops[n]._replace(args=tuple(moved(r) for r in graph.ops[n].args)) for n in kept]
    stand_ins = [Tensor(np.zeros(graph.ops[n].shapes[s], graph.ops[n].dtypes[s])) for n, s in results]
    names = [f"<computed from the weights at {graph.ops[n].where}>" for n, _ in results]
    return Graph(ops, graph.consts, tuple(moved(r) for r in graph.outputs), list(graph.params) + stand_ins,
                 list(graph.param_names) + names, graph.state_sizes, graph.input_size, graph.buffers)
