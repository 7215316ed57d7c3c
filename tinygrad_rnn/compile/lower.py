"""Lower a traced graph to a Program: scalar expressions over feature columns, in phases.

What the kernel needs to know about one step of the cell, and how this file finds it:

  * Input projections. `x @ W.T` (or `x @ W`) with x the step's raw input does not depend on the
    past: it becomes one matrix product over all T*B rows before the time loop, read per step as a
    leaf "XW<i>". Everything else that reads x reads it per step (leaf "X").
  * Recurrent products. Any other `value @ W.T` is a gemm inside the time loop (blas.gemm, all B rows
    at once), its result a leaf "C<i>". Its left operand is the state part itself (read in place) or
    a buffer "GA<i>" that the elementwise code fills.
  * Everything between the products is elementwise, and is rewritten as scalar expressions over
    column segments: a value of width n is a list of (start, width, expr) pieces. chunk/split,
    column slices and concatenation only move columns around, so they vanish here: splitting an
    expression cuts each of its leaves at the same offset (`cut`), so `gates.chunk(4)` of
    `xw + h @ W.T + b` becomes four width-H expressions reading XW, C and the bias at offsets
    0, H, 2H, 3H - and the LSTM's whole step is one loop over H columns.
  * Biases. A vector parameter added (through a chain of additions) to an input projection's
    columns is added to XW<i> once, before the loop, as the fused kernels do (`_fold_biases`): the
    loop then reads XW and C only; the bias's gradient is a column sum of dXW after it.
  * Phases. A gemm can run only after its left operand exists, so the step runs as phases: phase p
    first runs its gemms, then its elementwise loops, one per width ("group"). An expression's phase
    is the latest phase of the gemm results it reads. A value one group computes and another reads
    is stored per step in "M<m>" (and also read back by the backward, which recomputes everything
    else of a group from its leaves instead of saving it).

Leaf names: S<k> state part k at the step's start; X; XW<i>; C<i>; V<i> parameter i (a vector,
flattened); K<i> constant i (flattened); M<m> a stored value. A leaf read broadcasting one element
over all columns (a size-1 parameter or constant, or one column of a (batch, n) leaf) has bcast=True.
A computed (batch, 1) value that wider ones read is a Bcast: it is stored per step (an M) by its own
width-1 group, and each wider group reads its row's element once, before its column loop.
"""
from typing import NamedTuple, Optional

import numpy as np

from .. import primitives as P
from .rules import COPY, RULES
from .trace import TRACE_BATCH, CompileError


# ----------------------------------------------------------------------------- scalar expressions
class Leaf(NamedTuple):
    src: str
    off: int
    width: Optional[int]   # None: a broadcast read of element `off`
    bcast: bool = False


class Bcast(NamedTuple):
    node: object           # a width-1 (batch, 1) Node, read as one element per row by a wider Node


class Lit(NamedTuple):
    value: object          # a Python float or bool
    width: Optional[int] = None


class Node:
    """One elementwise operation on `width` columns (None: broadcast, computed inside its users' loops)."""
    __slots__ = ("id", "rule", "args", "p", "width", "name", "where")
    _count = 0

    def __init__(self, rule, args, width, p=None, name="", where=""):
        Node._count += 1
        self.id, self.rule, self.args, self.width, self.p, self.name, self.where = Node._count, rule, tuple(args), width, p, name, where

    def __repr__(self):
        return f"Node#{self.id}({self.name}, w={self.width})"


class Gemm(NamedTuple):
    index: int
    param: int             # parameter index of the weight
    transposed: bool       # the cell used W.T: the product is A @ P.T
    K: int
    N: int
    a_state: Optional[int]  # A is state part k read in place; else A is the buffer GA<index>
    a_segs: tuple          # ((start, width, Node), ...) filling GA<index>


class Projection(NamedTuple):
    index: int
    param: int
    transposed: bool
    N: int


class Val:
    """A traced value: kind 'tile' (B, width), 'vec' (width,), 'matrix' (a parameter for matmul's right side)."""
    __slots__ = ("kind", "width", "segs", "param", "transposed", "is_x")

    def __init__(self, kind, width=None, segs=(), param=None, transposed=False, is_x=False):
        self.kind, self.width, self.segs, self.param, self.transposed, self.is_x = kind, width, tuple(segs), param, transposed, is_x


class Program(NamedTuple):
    dtype: np.dtype
    input_size: int
    state_sizes: tuple
    outputs: tuple         # per state part: ((start, width, Node), ...)
    projections: list
    gemms: list
    phases: list           # per phase: (gemm indices, [group, ...]); a group is (width, [Node, ...])
    mats: list             # Nodes stored per step (M<m>): cross-group values
    vec_params: list       # parameter indices read as vectors (V<i>) with their flat sizes
    consts: dict           # K<i>: flattened constant arrays that are read
    uses_x: bool
    folds: tuple = ()      # (projection, its offset, parameter, its offset, width): vector slices added
                           # into the projection before the loop (see _fold_biases)


# ----------------------------------------------------------------------------- cutting expressions
class _Cutter:
    def __init__(self):
        self.memo = {}

    def cut(self, e, start, width):
        """Columns [start, start+width) of expression e."""
        if isinstance(e, (Lit, Bcast)) or (isinstance(e, Leaf) and e.bcast):
            return e
        if isinstance(e, Leaf):
            return e if (start == 0 and width == e.width) else Leaf(e.src, e.off + start, width)
        if e.width is None or (start == 0 and width == e.width):
            return e
        key = (e.id, start, width)
        if key not in self.memo:
            self.memo[key] = Node(e.rule, [self.cut(a, start, width) for a in e.args], width, e.p, e.name, e.where)
        return self.memo[key]

    def bcast(self, e):
        """A width-1 expression as a broadcast one (every read at a fixed element)."""
        if isinstance(e, (Lit, Bcast)):
            return e
        if isinstance(e, Leaf):
            return e if e.bcast else Leaf(e.src, e.off, None, True)
        if e.width is None:
            return e
        key = (e.id, "b")
        if key not in self.memo:
            self.memo[key] = Node(e.rule, [self.bcast(a) for a in e.args], None, e.p, e.name, e.where)
        return self.memo[key]


def _slice(cutter, segs, lo, hi):
    out = []
    for s, w, e in segs:
        a, b = max(s, lo), min(s + w, hi)
        if a < b:
            out.append((a - lo, b - a, cutter.cut(e, a - s, b - a)))
    return tuple(out)


# ----------------------------------------------------------------------------- the lowering
def lower(graph, dtype):
    dtype = np.dtype(dtype)
    cutter = _Cutter()
    vals = {}
    projections, gemms = [], []
    vec_params, consts_used = {}, {}

    def fail(op, why):
        raise CompileError(f"cannot compile {op.prim.__name__} ({why}), used at {op.where}; supported: matmul with a "
                           "parameter matrix, + - * /, neg, pow by a constant, tanh, sigmoid, relu, exp, log, "
                           "chunk/split/slices/concatenate along the feature axis, where with a constant mask")

    def shape_kind(shape, op=None, what="value"):
        if len(shape) == 2 and shape[0] == TRACE_BATCH:
            return "tile", shape[1]
        if len(shape) <= 1 or (len(shape) == 2 and shape[0] == 1):
            return "vec", int(np.prod(shape)) if shape else 1
        if op is not None:
            fail(op, f"{what} of shape {shape}: only (batch, features) values and feature vectors are supported")
        return None, None

    def const_val(i, arr, op):
        arr = np.asarray(arr)
        if arr.ndim == 2 and arr.shape[0] == TRACE_BATCH and arr.shape[0] != 1:
            if not np.all(arr == arr[:1]):
                fail(op, "a constant that differs between batch rows")
            arr = arr[0]
        if arr.size == 1:
            v = arr.reshape(()).item()
            return Val("vec", 1, [(0, 1, Lit(bool(v) if arr.dtype == bool else float(v)))])
        kind, width = shape_kind(arr.shape, op, "constant")
        flat = np.ascontiguousarray(arr.reshape(-1))
        if flat.dtype != bool:
            flat = flat.astype(dtype)
        consts_used[i] = flat
        return Val("vec", width, [(0, width, Leaf(f"K{i}", 0, width))])

    def leaf_val(ref, op):
        if ref[0] == "x":
            return Val("tile", graph.input_size, [(0, graph.input_size, Leaf("X", 0, graph.input_size))], is_x=True)
        if ref[0] == "state":
            n = graph.state_sizes[ref[1]]
            return Val("tile", n, [(0, n, Leaf(f"S{ref[1]}", 0, n))])
        if ref[0] == "param":
            p = graph.params[ref[1]]
            if p.ndim == 2 and p.shape[0] != 1:
                return Val("matrix", param=ref[1])
            n = p.size
            vec_params[ref[1]] = n
            if n == 1:
                return Val("vec", 1, [(0, 1, Leaf(f"V{ref[1]}", 0, None, True))])
            return Val("vec", n, [(0, n, Leaf(f"V{ref[1]}", 0, n))])
        return const_val(ref[1], graph.consts[ref[1]], op)

    def get(ref, op):
        if ref[0] == "op":
            v = vals.get((ref[1], ref[2]))
            if v is None:
                fail(graph.ops[ref[1]], "this operation is not supported")
            return v
        return leaf_val(ref, op)

    def elementwise(op, rule, operands, p=None, cond=None):
        for v in operands:
            if v.kind == "matrix":
                fail(op, "a weight matrix can only be the right operand of a matmul")
        kinds = [v.kind for v in operands]
        width = max(v.width for v in operands)
        kind = "tile" if "tile" in kinds else "vec"
        pieces = []
        for v in operands:
            if v.width != width:
                if v.width != 1:
                    fail(op, f"operands of widths {[w.width for w in operands]} do not broadcast column-wise")
                e = v.segs[0][2]
                if v.kind == "tile" and isinstance(e, Node):   # (batch, 1), computed: stored, read per row
                    e = Bcast(e if e.width is not None else Node(COPY, [e], 1, None, "copy", op.where))
                pieces.append(("b", cutter.bcast(e)))
            else:
                pieces.append(("s", v.segs))
        bounds = {0, width}
        for mode, segs in pieces:
            if mode == "s":
                for s, w, _ in segs:
                    bounds.update((s, s + w))
        bounds = sorted(bounds)
        segs = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            args = [e if mode == "b" else _slice(cutter, x, lo, hi)[0][2] for mode, x in pieces for e in [x]]
            if width == 1 and all(isinstance(a, Lit) or (isinstance(a, Leaf) and a.bcast) or
                                  (isinstance(a, Node) and a.width is None) for a in args):
                w = None if kind == "vec" else 1   # a size-1 vector stays a broadcastable expression
            else:
                w = hi - lo
            segs.append((lo, hi - lo, Node(rule, args, w, p, op.prim.__name__, op.where)))
        return Val(kind, width, segs)

    for n, op in enumerate(graph.ops):
        prim, attrs = op.prim, dict(op.attrs)
        if prim in RULES and prim is not P.Where:
            args = [get(r, op) for r in op.args]
            p = attrs.get("p")
            vals[(n, 0)] = elementwise(op, RULES[prim], args, p)
        elif prim is P.Where:
            a, b = get(op.args[0], op), get(op.args[1], op)
            cond = np.asarray(attrs["cond"])
            c = const_val(f"c{n}", cond, op)
            if not isinstance(c.segs[0][2], Lit):   # keep the mask's name unique among constants
                pass
            vals[(n, 0)] = elementwise(op, RULES[prim], [a, b, c])
        elif prim is P.Transpose:
            v = get(op.args[0], op)
            if v.kind != "matrix":
                fail(op, "transpose of anything but a 2-D parameter (for x @ W.T)")
            vals[(n, 0)] = Val("matrix", param=v.param, transposed=not v.transposed)
        elif prim is P.Matmul:
            a, w = get(op.args[0], op), get(op.args[1], op)
            if w.kind != "matrix":
                fail(op, "the right operand must be a parameter matrix W or W.T")
            P_ = graph.params[w.param]
            K, N = (P_.shape[1], P_.shape[0]) if w.transposed else P_.shape
            if a.kind != "tile":
                fail(op, "the left operand must be a (batch, features) value")
            if a.is_x and len(a.segs) == 1 and isinstance(a.segs[0][2], Leaf):
                i = len(projections)
                projections.append(Projection(i, w.param, w.transposed, N))
                vals[(n, 0)] = Val("tile", N, [(0, N, Leaf(f"XW{i}", 0, N))])
            else:
                i = len(gemms)
                segs = a.segs
                a_state = None
                if len(segs) == 1 and isinstance(segs[0][2], Leaf) and segs[0][2].src.startswith("S") \
                        and segs[0][2].off == 0 and segs[0][1] == graph.state_sizes[int(segs[0][2].src[1:])]:
                    a_state, segs = int(segs[0][2].src[1:]), ()
                else:
                    segs = tuple((s, wd, e if isinstance(e, Node) and e.width is not None else
                                  Node(COPY, [e], wd, None, "copy", op.where)) for s, wd, e in segs)
                gemms.append(Gemm(i, w.param, w.transposed, K, N, a_state, segs))
                vals[(n, 0)] = Val("tile", N, [(0, N, Leaf(f"C{i}", 0, N))])
        elif prim is P.Split:
            v = get(op.args[0], op)
            axis = attrs["axis"]
            if v.kind == "matrix" or axis not in (-1, (2 if v.kind == "tile" else 1) - 1):
                fail(op, f"split along axis {axis}: only the feature (last) axis")
            start = 0
            for slot, size in enumerate(attrs["sizes"]):
                vals[(n, slot)] = Val(v.kind, size, _slice(cutter, v.segs, start, start + size))
                start += size
        elif prim is P.GetItem:
            v = get(op.args[0], op)
            idx = attrs["index"]
            idx = idx if isinstance(idx, tuple) else (idx,)
            if v.kind == "tile" and len(idx) == 2 and idx[0] == slice(None) and isinstance(idx[1], slice):
                sl = idx[1]
            elif v.kind == "tile" and len(idx) == 2 and idx[0] is Ellipsis and isinstance(idx[1], slice):
                sl = idx[1]
            elif v.kind == "vec" and len(idx) == 1 and isinstance(idx[0], slice):
                sl = idx[0]
            else:
                fail(op, f"index {attrs['index']!r}: only a slice of columns, e.g. h[:, a:b]")
            lo, hi, step = sl.indices(v.width)
            if step != 1 or hi <= lo:
                fail(op, f"index {attrs['index']!r}: only a contiguous, non-empty slice of columns")
            vals[(n, 0)] = Val(v.kind, hi - lo, _slice(cutter, v.segs, lo, hi))
        elif prim is P.Concatenate:
            parts = [get(r, op) for r in op.args]
            kinds = {p.kind for p in parts}
            axis = attrs["axis"]
            if len(kinds) != 1 or "matrix" in kinds or axis not in (-1, (1 if "tile" in kinds else 0)):
                fail(op, f"concatenate along axis {axis}: only values of one kind along the feature (last) axis")
            segs, start = [], 0
            for p in parts:
                segs += [(s + start, w, e) for s, w, e in p.segs]
                start += p.width
            vals[(n, 0)] = Val(parts[0].kind, start, segs)
        elif prim is P.Reshape:
            v = get(op.args[0], op)
            kind, width = shape_kind(attrs["shape"])
            if v.kind == "matrix" or kind != v.kind or width != v.width:
                fail(op, f"reshape to {attrs['shape']}: only between (n,) and (1, n)")
            vals[(n, 0)] = v
        else:
            fail(op, "no scalar rule for this primitive")

    outputs = []
    for k, ref in enumerate(graph.outputs):
        v = get(ref, graph.ops[ref[1]] if ref[0] == "op" else None) if ref[0] != "op" or (ref[1], ref[2]) in vals else None
        if v is None or v.kind != "tile" or v.width != graph.state_sizes[k]:
            raise CompileError(f"state part {k} of the new state must be a (batch, {graph.state_sizes[k]}) value")
        outputs.append(tuple((s, w, e if isinstance(e, Node) and e.width is not None else
                              Node(COPY, [e], w, None, "copy")) for s, w, e in v.segs))
    return _schedule(dtype, graph, tuple(outputs), projections, gemms, vec_params, consts_used)


# ----------------------------------------------------------------------------- phases and groups
def _fold_biases(outputs, gemms):
    """Turn each `XW slice + V slice` inside a chain of additions into the XW slice alone (the addition
    becomes a copy), when that XW slice is read by nothing else. Returns the folds for Program.folds."""
    add = RULES[P.Add]
    uses, nodes, stack = {}, {}, [e for segs in outputs for _, _, e in segs]
    stack += [e for g in gemms for _, _, e in g.a_segs]
    for e in stack:                       # a stored value counts as one more use: never folded through
        if isinstance(e, Node):
            uses[e.id] = uses.get(e.id, 0) + 1
    reads, one_column = {}, set()
    while stack:
        e = stack.pop()
        if isinstance(e, Bcast):
            e = e.node
        if not isinstance(e, Node) or e.id in nodes:
            continue
        nodes[e.id] = e
        for a in e.args:
            a = a.node if isinstance(a, Bcast) else a
            if isinstance(a, Node):
                uses[a.id] = uses.get(a.id, 0) + 1
                stack.append(a)
            elif isinstance(a, Leaf) and a.src.startswith("XW"):
                if a.bcast:
                    one_column.add(a.src)
                else:
                    reads.setdefault(a.src, []).append((a.off, a.width))

    def alone(leaf):   # this XW slice is read once, and no other read overlaps it
        return (leaf.src not in one_column and
                [r for r in reads[leaf.src] if r[0] < leaf.off + leaf.width and leaf.off < r[0] + r[1]]
                == [(leaf.off, leaf.width)])

    def in_chain(a, width):
        return isinstance(a, Node) and a.rule is add and a.width == width and uses.get(a.id) == 1

    folds = []
    children = {a.id for n in nodes.values() if n.rule is add for a in n.args if in_chain(a, n.width)}
    for root in sorted(nodes.values(), key=lambda n: n.id):
        if root.rule is not add or root.width is None or root.id in children:
            continue
        chain, terms, todo = [], [], [root]
        while todo:
            n = todo.pop()
            chain.append(n)
            for a in n.args:
                (todo if in_chain(a, root.width) else terms).append(a)
        xw = [a for a in terms if isinstance(a, Leaf) and a.src.startswith("XW") and not a.bcast]
        if len(xw) != 1 or not alone(xw[0]):
            continue
        for n in chain:
            vs = [k for k, a in enumerate(n.args) if isinstance(a, Leaf) and a.src[0] == "V" and not a.bcast]
            if len(vs) == 1:
                v = n.args[vs[0]]
                folds.append((int(xw[0].src[2:]), xw[0].off, int(v.src[1:]), v.off, v.width))
                n.rule, n.args, n.name = COPY, (n.args[1 - vs[0]],), "copy"
    return tuple(folds)


def _schedule(dtype, graph, outputs, projections, gemms, vec_params, consts_used):
    folds = _fold_biases(outputs, gemms)
    # what is reachable from the new state (gemms only when their result is read)
    needed, gemm_needed, stack = set(), set(), [e for segs in outputs for _, _, e in segs]
    nodes = {}
    while stack:
        e = stack.pop()
        if isinstance(e, Bcast):
            stack.append(e.node)
            continue
        if isinstance(e, Leaf):
            if e.src.startswith("C"):
                i = int(e.src[1:])
                if i not in gemm_needed:
                    gemm_needed.add(i)
                    stack += [n for _, _, n in gemms[i].a_segs]
            continue
        if isinstance(e, Lit) or e.id in needed:
            continue
        needed.add(e.id)
        nodes[e.id] = e
        stack += list(e.args)

    phase = {}

    def node_phase(e):
        if isinstance(e, Lit):
            return 0
        if isinstance(e, Bcast):
            return node_phase(e.node)
        if isinstance(e, Leaf):
            return gemm_phase(int(e.src[1:])) if e.src.startswith("C") else 0
        if e.id not in phase:
            phase[e.id] = max([node_phase(a) for a in e.args] + [0])
        return phase[e.id]

    gphase = {}

    def gemm_phase(i):
        if i not in gphase:
            g = gemms[i]
            gphase[i] = 0 if g.a_state is not None else max(node_phase(n) + 1 for _, _, n in g.a_segs)
        return gphase[i]

    for n in sorted(nodes.values(), key=lambda n: n.id):   # children first: no deep recursion
        node_phase(n)
    n_phases = max([phase[i] for i in needed] + [gphase.get(i, 0) for i in gemm_needed] + [0]) + 1
    groups = {}
    for n in sorted(nodes.values(), key=lambda n: n.id):
        if n.width is not None:
            groups.setdefault((phase[n.id], n.width), []).append(n)
    group_of = {n.id: key for key, members in groups.items() for n in members}
    mats, mat_ids = [], set()
    for n in nodes.values():
        for a in n.args:
            if isinstance(a, Bcast):   # read from its M by the wider group (same phase: width 1 runs first)
                a = a.node
            if isinstance(a, Node) and a.width is not None and n.width is not None and group_of[a.id] != group_of[n.id]:
                if a.id not in mat_ids:
                    mat_ids.add(a.id)
                    mats.append(a)
    mats.sort(key=lambda n: n.id)
    phases = []
    for p in range(n_phases):
        gs = sorted(i for i in gemm_needed if gphase[i] == p)
        phases.append((gs, [(w, members) for (ph, w), members in sorted(groups.items()) if ph == p]))
    used_v = sorted({int(e.src[1:]) for n in nodes.values() for e in n.args if isinstance(e, Leaf) and e.src.startswith("V")})
    used_k = {k: v for k, v in consts_used.items()
              if any(isinstance(e, Leaf) and e.src == f"K{k}" for n in nodes.values() for e in n.args)}
    uses_x = any(isinstance(e, Leaf) and e.src == "X" for n in nodes.values() for e in n.args)
    read = {e.src for n in nodes.values() for e in n.args if isinstance(e, Leaf)}
    projections = [pr for pr in projections if f"XW{pr.index}" in read]   # unread ones: no product, no gradient
    return Program(dtype, graph.input_size, graph.state_sizes, outputs, projections,
                   [g for g in gemms if g.index in gemm_needed], phases, mats, [(i, vec_params[i]) for i in used_v], used_k, uses_x,
                   folds)
