"""The intermediate form between a traced cell (trace.py) and its generated kernels (codegen.py).

One step of a cell, for one batch row b at one time t, is a set of scalar expressions over feature
columns j. An expression is a tree of:

    Read(source, off, width)   columns [off, off + width) of a source, one column per j; width None:
                               one element (off) read by every column (a size-1 parameter, h[:, :1])
    Lit(value)                 a Python float or bool
    Node(rule, args, width)    one elementwise operation (a row of rules.RULES) on `width` columns;
                               width None: a per-row scalar, computed inside each user's column loop
    Bcast(node)                a per-row scalar that another loop computed and stored: a width-1 Node,
                               or a Reduce
    Reduce(rule, arg, width)   a sum or max (amax; max(dim).values) over the `width` columns of arg (REDUCTIONS): one
                               number per row, read by later expressions through Bcast

A source says where a leaf's numbers live; each knows the names of its array and of its gradient's
array in the generated code, and how they are indexed:

    State(k)       state part k at the step's start     S<k>[t, b]      gradient dSo<k>[b]
    Input()        the step's input x_t                 X[t, b]         dX[t, b]
    Projected(i)   x_t @ W of projection i (hoisted)    XW<i>[t, b]     dXW<i>[t, b]
    Product(i)     the recurrent product i at step t    C<i>[t, b]      dC<i>[t, b]
    Param(i)       vector parameter i, flattened        V<i>            dV<i>[b]
    Const(i)       a constant array, flattened          K<i>            (none)
    Mask(k)        dropout k's mask at step t           D<k>[t, b]      (none)
                   (keep / (1 - p): node.py draws them)
    Whole(node)    a wide value computed by one loop    M<m>[t, b]      dM<m>[b]
                   and stored (schedule.py), read in slices (the gates of a layer-norm LSTM)

A Program (lower.py builds it, schedule.py orders it) says which products run, and in which phases.
"""
from dataclasses import dataclass
from typing import NamedTuple, Optional


# ----------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class State:
    k: int
    array = property(lambda self: f"S{self.k}")
    grad_array = property(lambda self: f"dSo{self.k}")
    at, grad_at = "t, b, ", "b, "


@dataclass(frozen=True)
class Input:
    array, grad_array, at, grad_at = "X", "dX", "t, b, ", "t, b, "


@dataclass(frozen=True)
class Projected:
    i: int
    array = property(lambda self: f"XW{self.i}")
    grad_array = property(lambda self: f"dXW{self.i}")
    at, grad_at = "t, b, ", "t, b, "


@dataclass(frozen=True)
class Product:
    i: int
    array = property(lambda self: f"C{self.i}")
    grad_array = property(lambda self: f"dC{self.i}")
    at, grad_at = "t, b, ", "t, b, "


@dataclass(frozen=True)
class Param:
    i: int
    array = property(lambda self: f"V{self.i}")
    grad_array = property(lambda self: f"dV{self.i}")
    at, grad_at = "", "b, "      # the gradient has a row per sequence (blocks of rows run on parallel threads)


@dataclass(frozen=True)
class Const:
    i: object   # the trace's constant index, or a Where's mask name
    array = property(lambda self: f"K{self.i}")
    grad_array, at, grad_at = None, "", ""


@dataclass(frozen=True)
class Mask:
    """The mask of the step's dropout k (trace order), one per step and sequence: keep / (1 - p), drawn before
    the forward loop by the node (Kernel.draw_masks) and kept for the backward, which reads the same."""
    k: int
    array = property(lambda self: f"D{self.k}")
    grad_array, at, grad_at = None, "t, b, ", ""


@dataclass(frozen=True)
class Whole:
    """The columns of a Node that one loop computes over all its columns and stores (M<m>, whose index
    schedule.py decides: codegen.py names the arrays), read by later expressions in slices. lower.py
    makes one where a wide expression of many operations is chunked: cut per chunk, its code would be
    written once per chunk in every loop that computes it. Equal when their nodes are the same node."""
    node: object


# ----------------------------------------------------------------------------- expressions
class Read(NamedTuple):
    source: object
    off: int
    width: Optional[int]   # None: one element broadcast over the columns

    @property
    def bcast(self):
        return self.width is None


class Lit(NamedTuple):
    value: object


class Node:
    """One elementwise operation. Identity matters (a Node is computed once however often it is read),
    so it is a plain object with an id, not a tuple."""
    __slots__ = ("id", "rule", "args", "width", "p", "name", "where")
    _count = 0

    def __init__(self, rule, args, width, p=None, name="", where=""):
        Node._count += 1
        self.id, self.rule, self.args, self.width = Node._count, rule, tuple(args), width
        self.p, self.name, self.where = p, name, where

    def __repr__(self):
        return f"{type(self).__name__}#{self.id}({self.name}, w={self.width})"


def restart_ids():
    """Number the next program's Nodes from 1 again (lower.Lowerer, under node.py's compile lock). A Node's
    id names its value in the generated source (v<id>), so ids counted over the whole process made a
    cell's source, and with it its file in the kernel cache, depend on what was lowered before it: a
    layer-norm LSTM lowered after a peephole LSTM compiled again (6.4 s) instead of loading its module
    from the disk cache (0.4 s). Ids only order the Nodes of one program (creation order: arguments
    first), which numbering from 1 keeps."""
    Node._count = 0


class Reduce(Node):
    """rule is a rules.REDUCTIONS row; args is (arg,), a Node of `width` columns."""
    __slots__ = ()


class Bcast(NamedTuple):
    node: Node             # a width-1 Node or a Reduce: stored per step, read as one element per row


class Seg(NamedTuple):
    """Columns [start, start + width) of a value are given by expr."""
    start: int
    width: int
    expr: object


# ----------------------------------------------------------------------------- products and the program
class Projection(NamedTuple):
    index: int
    param: int             # parameter index of the weight
    transposed: bool       # the cell used W.T: the product is x @ P.T
    N: int


class Gemm(NamedTuple):
    index: int
    param: int
    transposed: bool
    K: int
    N: int
    a_state: Optional[int]  # the left operand is state part k, read in place; else the buffer GA<index>
    a_segs: tuple           # Segs whose Nodes fill GA<index>


class Fold(NamedTuple):
    """Vector parameter `param`'s elements [param_off, +width) are added to projection `projection`'s
    columns [off, +width) before the loop (a bias), instead of inside it."""
    projection: int
    off: int
    param: int
    param_off: int
    width: int


class Group(NamedTuple):
    width: int             # one column loop of this many columns computes every member
    nodes: tuple


class Phase(NamedTuple):
    gemms: tuple           # the Gemms that run first (their operands are complete)
    groups: tuple          # then these column loops, narrowest first


class Program(NamedTuple):
    dtype: object
    input_size: int
    state_sizes: tuple
    outputs: tuple         # per state part: its Segs
    projections: tuple
    gemms: tuple
    phases: tuple
    stored: tuple          # Nodes stored per step (M<m>): read by another group or phase
    vec_params: tuple      # (parameter index, flat size) of the parameters read as vectors
    consts: dict           # Const index -> flattened array
    uses_x: bool
    folds: tuple = ()
    saved: tuple = ()      # Nodes whose values the forward keeps per step (A<m>) so the backward reads
                           # them instead of recomputing them (the transcendental functions)
    inline: frozenset = frozenset()   # ids of cheap Nodes every group that reads them computes itself
                                      # (no group of their own, nothing stored): schedule.inline_nodes
    masks: tuple = ()      # (p, width) of each dropout of the step, in trace order: node.py draws all of them
                           # (the tape draws one whose value nothing reads too), the loops read D<k>
    input_mask: Optional[int] = None   # k when the cell's input is read only through dropout k (x = drop(x)):
                                       # the node runs the kernels on X * D<k> (the input projection stays
                                       # hoisted), and dX is the kernels' times D<k>; the loops read no D<k>


def stored_width(node):
    """Columns of a stored node's M buffer: a reduction's accumulators (a max also keeps how many columns
    attained it; max(dim).values which column did first)."""
    if isinstance(node, Reduce):
        return len(node.rule.accumulators)
    return node.width


def joined_runs(blocks, continues):
    """Blocks of columns (NamedTuples with a `width`) with each run in which a block continues the one
    before it (`continues(before, block)`: next to it in every array it names) joined into one block of
    the summed width: fewer loops for the generated code to hold and LLVM to compile, one pass over
    memory (the LSTM's per-gate bias gradients become one)."""
    out = []
    for b in blocks:
        if out and continues(out[-1], b):
            out[-1] = out[-1]._replace(width=out[-1].width + b.width)
        else:
            out.append(b)
    return out


# ----------------------------------------------------------------------------- where the forward writes
@dataclass(frozen=True)
class Operand:
    """The left operand buffer GA<i> of gemm i."""
    i: int


@dataclass(frozen=True)
class Stored:
    """The per-step buffer M<m> of Program.stored[m], or its columns of the one buffer M that the per-row
    scalars read through Bcast share (codegen: Generator.stored_at)."""
    m: int


@dataclass(frozen=True)
class Saved:
    """The per-step buffer A<m> of Program.saved[m], or its columns of the one buffer A that narrow saved
    values share (codegen: Generator.saved_at): written by the forward, read by the backward."""
    m: int


class Store(NamedTuple):
    """A node's columns are written to target's columns [start, start + width): State(k) is the new
    state part k (S<k>[t + 1]), Operand(i) a gemm's operand, Stored(m) a stored value."""
    target: object
    start: int
    width: int
