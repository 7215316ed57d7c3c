"""Lower a traced graph (trace.py) to expressions over feature columns (ir.py): one function per kind
of primitive, chosen from the table LOWERING at the bottom, beside rules.RULES (the scalar math).

What each traced value becomes, a `Val`:
    tile     a (batch, width) value: Segs of expressions, one per run of columns
    vec      a (width,) or (1, width) value (a parameter, a constant): Segs as well
    matrix   a 2-D parameter, only ever the right operand of a matmul (W or W.T)

  * Input projections. `x @ W.T` (or `x @ W`) with x the step's raw input does not depend on the past:
    it becomes one matrix product over all T*B rows before the time loop, read per step as
    Read(Projected(i)). Everything else that reads x reads Read(Input()).
  * Recurrent products. Any other `value @ W` is a gemm inside the time loop (all B rows at once),
    read as Read(Product(i)). Its left operand is a state part read in place, or Nodes stored into a
    buffer the elementwise code fills.
  * chunk/split, column slices and concatenation only move columns: they cut Segs (`Cutter.cut` cuts
    an expression's leaves at the same offsets), so `gates.chunk(4)` of `xw + h @ W.T + b` becomes four
    width-H expressions reading XW, C and the bias at offsets 0, H, 2H, 3H.
  * Reductions along the feature axis (sum, max; mean and variance are composed of them) become a
    Reduce per Seg of their argument, combined per row; the result is a per-row scalar, read as Bcast.
    With keepdim=False it is a (batch,) value (Val.rows) until unsqueeze(-1) gives it its axis back.

schedule.py then decides phases, loops and stored values.
"""
from typing import NamedTuple

import numpy as np

from .. import primitives as P
from .ir import (
    Bcast,
    Const,
    Gemm,
    Input,
    Lit,
    Mask,
    Node,
    Param,
    Product,
    Projected,
    Projection,
    Read,
    Reduce,
    Seg,
    State,
    Whole,
    restart_ids,
)
from .rules import (
    COMPARISONS,
    COPY,
    LOG_BASE,
    LOGICAL,
    LOGIT,
    MASK_AS_NUMBER,
    REDUCTIONS,
    ROUNDED_DIVISION,
    ROUNDING,
    RULES,
    pow_rule,
)
from .schedule import schedule
from .trace import TRACE_BATCH, CompileError

SUPPORTED = ("matmul with a parameter matrix, + - * /, neg, pow by a constant or a tensor, tanh, sigmoid, relu, exp, "
             "log, erf (gelu), abs, fmod, % (remainder), div(rounding_mode='trunc' or 'floor'), clone, clip, "
             "maximum/minimum, detach, sum/mean/amax/amin/var/std and max(dim)/min(dim).values over the feature "
             "axis, chunk/split/slices/concatenate along the feature axis, comparisons (== != < <= > >=) and "
             "& | ^ ~ of them, where on their masks or a constant mask, a mask as numbers (h * (x > 0), "
             "mask.to(x.dtype)), and dropout (F.dropout, nn.Dropout) of a (batch, n) value")


class Val(NamedTuple):
    kind: str              # 'tile', 'vec', 'matrix' or 'indices' (max(dim)'s: refused as an operand)
    width: int = None
    segs: tuple = ()
    param: int = None      # matrix: the parameter's index
    transposed: bool = False
    is_x: bool = False     # the step's raw input, unchanged
    rows: bool = False     # a (batch,) value: one number per row without a feature axis (a reduction's
                           # keepdim=False result), a width-1 tile until unsqueeze(-1) gives it the axis back


def fail(op, why):
    raise CompileError(f"cannot compile {op.prim.__name__} ({why}), used at {op.where}; supported: {SUPPORTED}")


# ----------------------------------------------------------------------------- cutting expressions
class Cutter:
    """Columns of expressions: memoised, so a Node cut twice the same way is one Node."""

    def __init__(self):
        self.memo = {}

    def cut(self, e, start, width):
        """Columns [start, start + width) of expression e."""
        if isinstance(e, (Lit, Bcast)) or (isinstance(e, Read) and e.bcast):
            return e
        if isinstance(e, Read):
            return e if (start == 0 and width == e.width) else Read(e.source, e.off + start, width)
        if e.width is None or (start == 0 and width == e.width):
            return e
        key = (e.id, start, width)
        if key not in self.memo:
            self.memo[key] = Node(e.rule, [self.cut(a, start, width) for a in e.args], width, e.p, e.name, e.where)
        return self.memo[key]

    def bcast(self, e):
        """A width-1 expression as a per-row scalar (every column reads its one element)."""
        if isinstance(e, (Lit, Bcast)):
            return e
        if isinstance(e, Read):
            return e if e.bcast else Read(e.source, e.off, None)
        if e.width is None:
            return e
        key = (e.id, "b")
        if key not in self.memo:
            self.memo[key] = Node(e.rule, [self.bcast(a) for a in e.args], None, e.p, e.name, e.where)
        return self.memo[key]

    def slice(self, segs, lo, hi):
        """Segs of columns [lo, hi) of a value, renumbered from 0."""
        out = []
        for s in segs:
            a, b = max(s.start, lo), min(s.start + s.width, hi)
            if a < b:
                out.append(Seg(a - lo, b - a, self.cut(s.expr, a - s.start, b - a)))
        return tuple(out)


def _scalar_like(e):
    """True for an expression that is one number per row (computed inline in its users' loops)."""
    return isinstance(e, (Lit, Bcast)) or (isinstance(e, Read) and e.bcast) or (isinstance(e, Node) and e.width is None)


def as_node(e, width, where=""):
    """e as a Node with `width` columns (a copy of a leaf or of a per-row scalar), for stores."""
    return e if isinstance(e, Node) and e.width is not None else Node(COPY, [e], width, None, "copy", where)


# ----------------------------------------------------------------------------- the lowering
class Lowerer:
    """Walks the graph's ops in order; `vals` maps each (op, slot) to its Val."""

    def __init__(self, graph, dtype):
        restart_ids()   # the same cell, the same source, whatever was lowered before (ir.restart_ids)
        self.graph, self.dtype = graph, np.dtype(dtype)
        self.cutter = Cutter()
        self.vals, self.projections, self.gemms = {}, [], []
        self.vec_params, self.consts = {}, {}
        self.masks = {}   # dropout index -> (p, width)
        self.input_mask = None   # the dropout through which alone the step reads its input (Program.input_mask)

    def run(self):
        for n, op in enumerate(self.graph.ops):
            self.op_index = n
            lower_op = LOWERING.get(op.prim)
            if lower_op is None:
                fail(op, "no scalar rule for this primitive")
            if op.prim not in TAKES_ROWS and any(r[0] == "op" and self.get(r, op).rows for r in op.args):
                fail(op, "a (batch,) value, e.g. a reduction with keepdim=False: only elementwise operations on it, "
                         "and unsqueeze(-1) or reshape to (batch, 1)")
            results = lower_op(self, op, dict(op.attrs))
            for slot, v in enumerate(results):
                self.vals[(n, slot)] = v
        outputs = tuple(self.output(k, ref) for k, ref in enumerate(self.graph.outputs))
        prog = schedule(self.dtype, self.graph, outputs, self.projections, self.gemms, self.vec_params, self.consts)
        return prog._replace(masks=tuple(self.masks[k] for k in sorted(self.masks)), input_mask=self.input_mask)

    def output(self, k, ref):
        v = self.vals.get((ref[1], ref[2])) if ref[0] == "op" else self.leaf(ref, None)
        n = self.graph.state_sizes[k]
        if v is not None and v.kind == "indices":
            raise CompileError(f"state part {k} of the new state is the indices of max(dim) or argmax (made at "
                               f"{self.graph.ops[ref[1]].where}): a state is a (batch, {n}) float value")
        if v is None or v.kind != "tile" or v.width != n or v.rows:
            raise CompileError(f"state part {k} of the new state must be a (batch, {n}) value")
        return tuple(Seg(s.start, s.width, as_node(s.expr, s.width)) for s in v.segs)

    def get(self, ref, op):
        if ref[0] == "op":
            v = self.vals.get((ref[1], ref[2]))
            if v is None:
                fail(self.graph.ops[ref[1]], "this operation is not supported")
            if v.kind == "indices":
                made = self.graph.ops[ref[1]]
                raise CompileError(f"cannot compile the indices of max(dim)/min(dim) or argmax/argmin (made at "
                                   f"{made.where}) used as data, at {op.where} ({op.prim.__name__}): positions taken "
                                   "from the data cannot be baked into a kernel; max(dim).values and amax compile")
            return v
        return self.leaf(ref, op)

    def leaf(self, ref, op):
        g = self.graph
        if ref[0] == "x":
            return Val("tile", g.input_size, (Seg(0, g.input_size, Read(Input(), 0, g.input_size)),), is_x=True)
        if ref[0] == "state":
            n = g.state_sizes[ref[1]]
            return Val("tile", n, (Seg(0, n, Read(State(ref[1]), 0, n)),))
        if ref[0] == "param":
            p = g.params[ref[1]]
            if p.ndim == 2 and p.shape[0] != 1:
                return Val("matrix", param=ref[1])
            self.vec_params[ref[1]] = n = p.size
            return Val("vec", n, (Seg(0, n, Read(Param(ref[1]), 0, None if n == 1 else n)),))
        return self.constant(ref[1], g.consts[ref[1]], op)

    def constant(self, name, arr, op):
        arr = np.asarray(arr)
        if arr.ndim == 2 and arr.shape[0] == TRACE_BATCH:
            if not np.all(arr == arr[:1]):
                fail(op, "a constant that differs between batch rows")
            arr = arr[0]
        if arr.size == 1:
            v = arr.reshape(()).item()
            return Val("vec", 1, (Seg(0, 1, Lit(bool(v) if arr.dtype == bool else float(v))),))
        kind, width = shape_kind(arr.shape, op, "constant")
        flat = np.ascontiguousarray(arr.reshape(-1))
        self.consts[name] = flat if flat.dtype == bool else flat.astype(self.dtype)
        return Val("vec", width, (Seg(0, width, Read(Const(name), 0, width)),))


def shape_kind(shape, op=None, what="value"):
    if len(shape) == 2 and shape[0] == TRACE_BATCH:
        return "tile", shape[1]
    if len(shape) <= 1 or (len(shape) == 2 and shape[0] == 1):
        return "vec", int(np.prod(shape)) if shape else 1
    if op is not None:
        fail(op, f"{what} of shape {shape}: only (batch, features) values and feature vectors are supported")
    return None, None


def lower(graph, dtype):
    """The Program of one step of the traced cell (see the module docstring and schedule.py)."""
    return Lowerer(graph, dtype).run()


# ----------------------------------------------------------------------------- elementwise
def _operand_pieces(lw, op, operands, width):
    """Each operand as ('segs', Segs) when it has all `width` columns, or ('one', expr) when it is one
    column read by all (a (batch, 1) value or a size-1 vector)."""
    pieces = []
    for v in operands:
        if v.kind == "matrix":
            fail(op, "a weight matrix can only be the right operand of a matmul")
        if v.width == width:
            pieces.append(("segs", v.segs))
            continue
        if v.width != 1:
            fail(op, f"operands of widths {[w.width for w in operands]} do not broadcast column-wise")
        e = v.segs[0].expr
        if v.kind == "tile" and isinstance(e, Node) and e.width is not None:   # computed (batch, 1): stored,
            e = Bcast(e)                                                        # read once per row
        pieces.append(("one", lw.cutter.bcast(e)))
    return pieces


def _rows_operands(op, operands):
    """True if the operands are (batch,) values and numbers: the result is a (batch,) value too. A (batch,)
    value beside a (batch, n) value or a feature vector broadcasts along the features in numpy, not
    along the batch: refused, as a kernel would have to guess."""
    if not any(v.rows for v in operands):
        return False
    if not all(v.rows or (v.kind == "vec" and v.width == 1) for v in operands):
        fail(op, "a (batch,) value (e.g. a reduction with keepdim=False) with a (batch, n) value or a feature "
                 "vector: numpy would pair it with the features; write keepdim=True or unsqueeze(-1)")
    return True


def elementwise(lw, op, rule, operands, attrs=None):
    """A Val whose Segs apply `rule` column by column (cut where any operand's Segs change)."""
    rows = _rows_operands(op, operands)
    width = max(v.width for v in operands)
    kind = "tile" if any(v.kind == "tile" for v in operands) else "vec"
    pieces = _operand_pieces(lw, op, operands, width)
    bounds = sorted({0, width} | {b for mode, x in pieces if mode == "segs"
                                  for s in x for b in (s.start, s.start + s.width)})
    segs = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        args = [x if mode == "one" else lw.cutter.slice(x, lo, hi)[0].expr for mode, x in pieces]
        w = None if (width == 1 and all(_scalar_like(a) for a in args)) else hi - lo
        segs.append(Seg(lo, hi - lo, Node(rule, args, w, attrs, op.prim.__name__, op.where)))
    return Val(kind, width, tuple(segs), rows=rows)


def _lower_rule(lw, op, attrs):
    args = [lw.get(r, op) for r in op.args]
    extra = {k: attrs[k] for k in ("p",) if k in attrs}
    if op.prim is P.Clip:
        extra = {"lo": -np.inf if attrs["lo"] is None else attrs["lo"],
                 "hi": np.inf if attrs["hi"] is None else attrs["hi"]}
    rule = pow_rule(attrs["p"]) if op.prim is P.Pow else RULES[op.prim]   # written for its constant exponent
    return (elementwise(lw, op, rule, args, extra or None),)


def _lower_dropout(lw, op, attrs):
    """x * D<k>[t, b]: the step's mask for dropout k, drawn per step by the node (ir.Mask). Only on a
    (batch, n) value: a mask on a parameter (DropConnect) is drawn once per sequence or batch, not per
    step and row, which the tape's step cannot say."""
    x = lw.get(op.args[0], op)
    if x.kind != "tile" or x.rows:
        fail(op, "dropout of a parameter or a feature vector (DropConnect): its mask is not one per step and "
                 "row; dropout of a (batch, n) value compiles")
    k, n = attrs["index"], x.width
    lw.masks[k] = (attrs["p"], n)
    if _reads_the_input_only_here(lw.graph, op):   # x = drop(x): the node drops X before the kernels
        lw.input_mask = k
        return (x,)
    mask = Val("tile", n, (Seg(0, n, Read(Mask(k), 0, n)),))
    return (elementwise(lw, op, RULES[P.Mul], [x, mask]),)


def _reads_the_input_only_here(graph, op):
    """Whether op (a dropout) reads the step's whole input x and nothing else in the step does. Then the step is
    the cell on a dropped input: the kernels run on X * D<k> as their input, so `x @ W.T` stays one product over
    all steps before the loop, instead of a product per step of a value made in the loop."""
    if op.args[0] != ("x",):
        return False
    reads = sum(ref == ("x",) for other in graph.ops for ref in other.args)
    return reads + sum(ref == ("x",) for ref in graph.outputs) == 1


def _lower_rounded_divide(lw, op, attrs):
    """div(a, b, rounding_mode=...): its row for the mode (rules.ROUNDED_DIVISION; gradient 0, as the tape's)."""
    return (elementwise(lw, op, ROUNDED_DIVISION[attrs["mode"]], [lw.get(r, op) for r in op.args]),)


def _lower_rounding(lw, op, attrs):
    """round, floor, ceil, trunc, sign: the row for the op (rules.ROUNDING; gradient 0, as the tape's). round with
    decimals is refused, naming the line: its scaling by 10^d is not a row of the table."""
    if attrs.get("decimals", 0) != 0:
        fail(op, f"round(decimals={attrs['decimals']}): only decimals=0 compiles; for d > 0, "
                 "(x * 10 ** d).round() / 10 ** d gives the same numbers")
    return (elementwise(lw, op, ROUNDING[attrs["op"]], [lw.get(op.args[0], op)]),)


def _lower_log_base(lw, op, attrs):
    """log2, log10: the row for the base (rules.LOG_BASE)."""
    return (elementwise(lw, op, LOG_BASE[attrs["base"]], [lw.get(op.args[0], op)]),)


def _lower_logit(lw, op, attrs):
    """logit: the row for eps=None or a float eps (rules.LOGIT), the bounds eps and 1 - eps as the tape rounds them."""
    eps = attrs["eps"]
    extra = None if eps is None else {"lo": eps, "hi": 1 - eps}
    return (elementwise(lw, op, LOGIT[eps is not None], [lw.get(op.args[0], op)], extra),)


def _refuse_floor_divide(lw, op, attrs):
    """a // b has no derivative (the tape's backward raises, as torch's): a kernel, which always runs the BPTT,
    cannot compute one. div(rounding_mode='floor') is the same quotient with torch's gradient 0."""
    fail(op, "floor_divide (//) has no derivative, as in torch; div(a, b, rounding_mode='floor') gives the same "
             "quotient with a gradient of 0 and compiles")


def _lower_copy(lw, op, attrs):
    """clone() and contiguous(): a kernel's values are its own, so the copy is the value (its gradient passes)."""
    return (lw.get(op.args[0], op),)


def _lower_where(lw, op, attrs):
    """select per element; the mask is a comparison's value or a constant (leaf() keeps it boolean)."""
    a, b, cond = (lw.get(r, op) for r in op.args)
    return (elementwise(lw, op, RULES[P.Where], [a, b, cond]),)


def _lower_cast(lw, op, attrs):
    """A mask (bool) as 0/1 in the cell's dtype; a constant (leaf() gives it the cell's dtype already)
    unchanged. A cast to the other float dtype is refused: a kernel computes in one dtype."""
    if np.dtype(attrs["dtype"]) != lw.dtype:
        fail(op, f"a cast to {np.dtype(attrs['dtype'])} in a {lw.dtype} cell: a kernel computes in one dtype; "
                 "convert with .to(x.dtype) or .type_as(x)")
    ref = op.args[0]
    v = lw.get(ref, op)   # (refuses max(dim)'s indices)
    source = _dtype_of(lw, ref)
    if source == np.bool_:
        return (elementwise(lw, op, MASK_AS_NUMBER, [v]),)
    # a constant has the cell's dtype already (leaf); an integer computed in the cell is a count of a mask,
    # which the kernel computes in its dtype (exact: whole numbers far below 2 ** 24)
    return (v,)


def _dtype_of(lw, ref):
    """The dtype a traced value has on the tape."""
    if ref[0] == "op":
        return np.dtype(lw.graph.ops[ref[1]].dtypes[ref[2]])
    return np.dtype(lw.graph.consts[ref[1]].dtype) if ref[0] == "const" else lw.dtype


def _lower_logical(lw, op, attrs):
    """& | ^ ~ of masks; of indices (bitwise, integers) refused: a kernel's values are floats or masks."""
    if np.dtype(op.dtypes[0]) != np.bool_:
        fail(op, f"a bitwise operation on {op.dtypes[0]} values: only on masks (comparisons)")
    return (elementwise(lw, op, LOGICAL[attrs["op"]], [lw.get(r, op) for r in op.args]),)


def _lower_argmax(lw, op, attrs):
    """max(dim)'s indices: made whenever max(dim) runs, refused only where something reads them (get)."""
    return (Val("indices"),)


def _lower_compare(lw, op, attrs):
    args = [lw.get(r, op) for r in op.args]
    return (elementwise(lw, op, COMPARISONS[attrs["op"]], args),)


# ----------------------------------------------------------------------------- products
def _operand(lw, op, k):
    """Argument k of op; a 2-D parameter as a matrix even when it has one row (leaf() takes a (1, n)
    parameter for a row of numbers, e.g. a gain; under a transpose or matmul it is a weight of one row)."""
    ref = op.args[k]
    if ref[0] == "param" and lw.graph.params[ref[1]].ndim == 2:
        return Val("matrix", param=ref[1])
    return lw.get(ref, op)


def _lower_transpose(lw, op, attrs):
    v = _operand(lw, op, 0)
    if v.kind != "matrix":
        fail(op, "transpose of anything but a 2-D parameter (for x @ W.T)")
    return (v._replace(transposed=not v.transposed),)


def _lower_matmul(lw, op, attrs):
    a, w = lw.get(op.args[0], op), _operand(lw, op, 1)
    if w.kind != "matrix":
        fail(op, "the right operand must be a parameter matrix W or W.T")
    if a.kind != "tile":
        fail(op, "the left operand must be a (batch, features) value")
    P_ = lw.graph.params[w.param]
    K, N = (P_.shape[1], P_.shape[0]) if w.transposed else P_.shape
    if a.is_x:   # x @ W: one product over all steps, before the loop
        i = len(lw.projections)
        lw.projections.append(Projection(i, w.param, w.transposed, N))
        return (Val("tile", N, (Seg(0, N, Read(Projected(i), 0, N)),)),)
    i = len(lw.gemms)
    segs, a_state = a.segs, None
    first = segs[0].expr
    if (len(segs) == 1 and isinstance(first, Read) and isinstance(first.source, State) and first.off == 0
            and first.width == lw.graph.state_sizes[first.source.k]):
        a_state, segs = first.source.k, ()     # a whole state part: the gemm reads it in place
    else:
        segs = tuple(Seg(s.start, s.width, as_node(s.expr, s.width, op.where)) for s in segs)
    lw.gemms.append(Gemm(i, w.param, w.transposed, K, N, a_state, segs))
    return (Val("tile", N, (Seg(0, N, Read(Product(i), 0, N)),)),)


# ----------------------------------------------------------------------------- reductions
def _lower_reduce(lw, op, attrs):
    """sum/amax/max(dim).values over the feature axis: one Reduce per Seg, the partial results combined per
    row (a sum of partial sums; a max only over a value that is one Seg). Without keepdims, a (batch,) value."""
    v = lw.get(op.args[0], op)
    if _dtype_of(lw, op.args[0]) == np.bool_:   # a count of a mask (int64 on the tape): its 0/1 summed
        v = elementwise(lw, op, MASK_AS_NUMBER, [v])
    axis = attrs["axis"]
    if v.kind != "tile" or axis not in (-1, 1, (-1,), (1,)):
        fail(op, f"a reduction over axis {axis} of a {v.kind}: only over the feature axis of a (batch, n) value")
    rows = not attrs["keepdims"]
    if v.width == 1:
        return (v._replace(rows=rows),)
    rule = REDUCTIONS[op.prim]
    if rule.name != "sum" and len(v.segs) > 1:
        fail(op, "max over a value assembled from several pieces (e.g. a concatenation)")
    parts = [Bcast(Reduce(rule, [as_node(s.expr, s.width, op.where)], s.width, None, rule.name, op.where))
             for s in v.segs]
    total = parts[0]
    for p in parts[1:]:
        total = Node(RULES[P.Add], [total, p], None, None, "Add", op.where)
    return (Val("tile", 1, (Seg(0, 1, total),), rows=rows),)


# ----------------------------------------------------------------------------- moving columns
def _feature_axis(v, axis):
    return v.kind != "matrix" and axis in (-1, (1 if v.kind == "tile" else 0))


# A chunked expression of at least this many column operations is computed whole (Whole), not cut per chunk.
WHOLE_FROM = 4


def _cut_copies(e):
    """How many Nodes cutting the columns of expression e makes (Cutter.cut copies every column Node)."""
    seen, stack = set(), [e]
    while stack:
        x = stack.pop()
        if isinstance(x, Node) and x.width is not None and x.id not in seen:
            seen.add(x.id)
            stack.extend(x.args)
    return len(seen)


def _whole(v, n_pieces):
    """The Node of v when it is to be computed whole and read in slices (a layer-norm LSTM's normalised
    gates: 8 operations per chunk, written four times in the gate loop and its backward otherwise; whole,
    one loop over all 4H columns computes them and the gate loop reads its slices), else None. The
    built-in cells' gates (x W + h U + b: one or two operations) are cut: a store and a load would cost
    more there than they save."""
    e = v.segs[0].expr if v.kind == "tile" and len(v.segs) == 1 else None
    if n_pieces > 1 and isinstance(e, Node) and e.width == v.width and _cut_copies(e) >= WHOLE_FROM:
        return e
    return None


def _lower_split(lw, op, attrs):
    v = lw.get(op.args[0], op)
    if not _feature_axis(v, attrs["axis"]):
        fail(op, f"split along axis {attrs['axis']}: only the feature (last) axis")
    whole = _whole(v, len(attrs["sizes"]))
    out, start = [], 0
    for size in attrs["sizes"]:
        if whole is not None:
            out.append(Val(v.kind, size, (Seg(0, size, Read(Whole(whole), start, size)),)))
        else:
            out.append(Val(v.kind, size, lw.cutter.slice(v.segs, start, start + size)))
        start += size
    return tuple(out)


def _column_slice(v, index):
    """The slice of columns `index` selects, or None if it is anything else."""
    idx = index if isinstance(index, tuple) else (index,)
    if v.kind == "tile" and len(idx) == 2 and idx[0] in (slice(None), Ellipsis) and isinstance(idx[1], slice):
        return idx[1]
    if v.kind == "vec" and len(idx) == 1 and isinstance(idx[0], slice):
        return idx[0]
    return None


def _lower_getitem(lw, op, attrs):
    v = lw.get(op.args[0], op)
    if v.rows and attrs["index"] in ((slice(None), None), (Ellipsis, None)):   # v[:, None]: (batch, 1)
        return (v._replace(rows=False),)
    sl = _column_slice(v, attrs["index"])
    if sl is None:
        fail(op, f"index {attrs['index']!r}: only a slice of columns, e.g. h[:, a:b]")
    lo, hi, step = sl.indices(v.width)
    if step != 1 or hi <= lo:
        fail(op, f"index {attrs['index']!r}: only a contiguous, non-empty slice of columns")
    return (Val(v.kind, hi - lo, lw.cutter.slice(v.segs, lo, hi)),)


def _lower_concatenate(lw, op, attrs):
    if attrs.get("skipped"):
        fail(op, "concatenate with a legacy empty (shape (0,)) tensor")
    parts = [lw.get(r, op) for r in op.args]
    if len({p.kind for p in parts}) != 1 or not _feature_axis(parts[0], attrs["axis"]):
        fail(op, f"concatenate along axis {attrs['axis']}: only values of one kind along the feature (last) axis")
    segs, start = [], 0
    for p in parts:
        segs += [Seg(s.start + start, s.width, s.expr) for s in p.segs]
        start += p.width
    return (Val(parts[0].kind, start, tuple(segs)),)


def _lower_reshape(lw, op, attrs):
    v = lw.get(op.args[0], op)
    if v.kind == "tile" and v.width == 1 and tuple(attrs["shape"]) in ((TRACE_BATCH,), (TRACE_BATCH, 1)):
        return (v._replace(rows=len(attrs["shape"]) == 1),)   # unsqueeze(-1) of a (batch,) value, or squeeze
    kind, width = shape_kind(attrs["shape"])
    if v.kind == "matrix" or kind != v.kind or width != v.width:
        fail(op, f"reshape to {attrs['shape']}: only between (n,) and (1, n)")
    return (v,)


LOWERING = {prim: _lower_rule for prim in RULES if prim is not P.Where}
LOWERING.update({
    P.Where: _lower_where,
    P.Compare: _lower_compare,
    P.Logical: _lower_logical,
    P.Transpose: _lower_transpose,
    P.Matmul: _lower_matmul,
    P.Sum: _lower_reduce,
    P.Max: _lower_reduce,
    P.FirstMax: _lower_reduce,
    P.Cast: _lower_cast,
    P.ArgMax: _lower_argmax,
    P.Split: _lower_split,
    P.GetItem: _lower_getitem,
    P.Concatenate: _lower_concatenate,
    P.Reshape: _lower_reshape,
    P.RoundedDivide: _lower_rounded_divide,
    P.Rounding: _lower_rounding,
    P.LogBase: _lower_log_base,
    P.Logit: _lower_logit,
    P.FloorDivide: _refuse_floor_divide,
    P.Copy: _lower_copy,
    P.Dropout: _lower_dropout,
})
# The operations that accept a (batch,) value (Val.rows); the others refuse it, naming the line.
TAKES_ROWS = frozenset(LOWERING) - {P.Transpose, P.Matmul, P.Sum, P.Max, P.FirstMax, P.Split, P.Concatenate}
