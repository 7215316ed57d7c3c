"""Trace a cell: run its forward once on placeholder leaves and keep the operations it recorded.

    graph = trace_cell(cell, dtype)

The cell's own Tensor code runs unchanged (x of shape (TRACE_BATCH, input_size), one placeholder
per state part, the cell's real parameters). While it runs, a forward hook on the tape (tape._forward_checks, the
engine's one recording hook, which anomaly mode, tr.viz and tr.checkpoint use too; for this thread only) writes
down every primitive applied, whichever module applied it (a Tensor method, tr.linalg, tr.special, tr.einsum,
F.embedding, a parametrization's matrix_exp), with its operand Tensors and attributes: which primitive ran on
which earlier results, and the values of constants (the 1 in `1 - z`), which the tape does not need but a kernel
does. In-place writes reach it through the engine's write hook (tape._write_checks, _WriteFollower), and what
the cell runs under no_grad() is recorded as a stop-gradient, as the tape gives it no gradient (the trace itself
runs with grad mode on). An operation on constants alone that the kernels cannot run is folded into a constant;
the weights' own work (on parameters and constants alone) is cut out of the step by prelude.py and replayed on the
tape per call.
What ran inside another primitive's forward (a tr.autograd.Function's, a tr.checkpoint's) is seen too, and the
enclosing primitive is then refused by name (CompileError; fused='auto' runs the cell on the tape).

A graph is a flat list of Ops in recording order (so already topologically sorted: each op's
arguments were made before it). An argument is a Ref:
    ("x",)               the step's input                ("state", k)   state part k
    ("param", i)         the cell's i-th parameter       ("const", i)   graph.consts[i], an ndarray
    ("op", n, slot)      output `slot` of op n
A dropout (P.Dropout: F.dropout, nn.Dropout in training) is recorded with its probability and its index
among the step's dropouts instead of the mask this trace drew: the compiled layer draws a mask per step
and dropout itself (node.py: Kernel.draw_masks), in the order the tape draws them.
Tracing twice with different placeholder values must give the same graph; a difference means the
cell's operations depend on the data (a where() on a mask made in numpy from ._data, not by a Tensor comparison,
which the trace records as an operation), which a kernel cannot bake in.
"""
import contextlib
import copy
import os
import sys
import threading
import traceback
from typing import NamedTuple

import numpy as np

from .. import primitives as P
from .. import random
from ..function import FunctionCall
from ..recompute import Recompute
from ..tape import _forward_checks, _grad_mode, _trace_mode, _write_checks
from ..tensor import Tensor

TRACE_BATCH = 3  # placeholder batch size: a 2-D value with this many rows is per-sequence data
_lock = threading.Lock()
_HERE = os.path.dirname(os.path.abspath(__file__))
# The files a cell's operations pass through on their way to apply(): a frame in one of them is never the cell's
# line (F.gelu's erf is the line of the cell that called F.gelu or nn.GELU, not functional.py's).
_PACKAGE = os.path.dirname(_HERE)
# The trace sees every primitive, so the modules that call the tape's apply themselves are among them (a cell's
# tr.linalg.matrix_exp is the cell's line, not matrix_functions.py's).
_ENGINE = ("tape.py", "tensor.py", "inplace.py", "creation.py", "views.py", "tensor_args.py", "function.py",
           "tensor_methods_more.py", "tensor_functions.py", "tensor_functions_more.py", "products.py", "linalg.py",
           "linalg_checks.py", "matrix_functions.py", "triangular.py", "ldl.py", "special.py", "recompute.py")
_NN = ("functional.py", "functional_losses.py", "layers.py", "module.py", "parametrize.py", "parametrizations.py")
_ENGINE_FILES = frozenset([os.path.join(_PACKAGE, f) for f in _ENGINE] + [os.path.join(_PACKAGE, "nn", f) for f in _NN])


def _in_engine(filename):
    name = os.path.abspath(filename)
    return name in _ENGINE_FILES or name.startswith(_HERE)


class CompileError(Exception):
    """An operation of the cell cannot be compiled; the message names it and the line that used it."""


class Op(NamedTuple):
    prim: type          # the Primitive subclass
    args: tuple         # Refs
    attrs: tuple        # sorted (name, value) pairs of the primitive's attributes
    shapes: tuple       # one output shape per slot
    dtypes: tuple       # one output dtype per slot (a comparison's is bool, max(dim)'s indices' int64)
    where: str          # "file:line in function" of the user code that called the operation


class Graph(NamedTuple):
    ops: list
    consts: list        # constant arrays the cell combined with its values
    outputs: tuple      # one Ref per state part of the new state
    params: list        # the parameter Tensors, in ("param", i) order
    param_names: list
    state_sizes: tuple
    input_size: int
    buffers: tuple = ()   # (const index, name) of each constant that is a module buffer of the cell, read as it is
                          # at each call where prelude.py's work reads it (cell.named_buffers()'s name)


def _call_site():
    """The innermost frame outside the engine and this package: the line of the cell that did it."""
    f = sys._getframe(2)
    while f is not None:
        if not _in_engine(f.f_code.co_filename):
            return f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}"
        f = f.f_back
    return "<unknown>"


def _traced_forward(cell, x, state):
    """cell.forward on the placeholders. A user's cell that raises here ran on a batch of 2 before (Recurrent's
    _try_cell), so this batch or these values broke it: a CompileError that says so. A built-in cell runs on
    any batch: its own error (e.g. after a parameter's ._data was replaced) says what is wrong."""
    try:
        return cell.forward(x, state if len(state) > 1 else state[0])
    except CompileError:
        raise
    except Exception as e:
        if type(cell).__module__.startswith("tinygrad_rnn."):
            raise
        raise CompileError(f"{type(cell).__name__}.forward raised {type(e).__name__}: {e} (at {_raised_at(e)}) "
                           f"while traced for the fused kernels, on placeholder values with a batch of "
                           f"{TRACE_BATCH} rows: a cell must run for any batch size and values (fused=False "
                           "runs the generic tape)") from e


def _raised_at(error):
    """The innermost line outside the engine and this package in error's traceback: the cell's own."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if not _in_engine(frame.filename):
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "<unknown>"


def _freeze(value):
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, slice):   # not hashable before Python 3.12
        return ("slice", value.start, value.stop, value.step)
    if isinstance(value, (tuple, list)):
        return tuple(_freeze(v) for v in value)
    return value


def _record(cell, x, state, params):
    recorder = _Recorder(cell, x, state, params)
    writes = _WriteFollower(cell, recorder.refs, recorder.keep, [x, *state, *params])
    with _lock:
        _forward_checks.append(recorder)
        _write_checks.append(writes)
        was, _trace_mode.enabled = _trace_mode.enabled, True   # var()'s mean recorded (tensor._centred)
        # grad mode on, as for training, whatever the caller's (a first call under no_grad() makes the kernels a
        # later call trains with): what the cell itself runs under no_grad() is a stop-gradient (_stop_gradient)
        grad_was, _grad_mode.enabled = _grad_mode.enabled, True
        try:
            new = _traced_forward(cell, x, state)
        finally:
            _forward_checks.remove(recorder)
            _write_checks.remove(writes)
            _trace_mode.enabled, _grad_mode.enabled = was, grad_was
    new = new if isinstance(new, (tuple, list)) else (new,)
    outputs = []
    for t in new:
        if not isinstance(t, Tensor):
            raise CompileError(f"{type(cell).__name__}.forward must return Tensors, got {type(t).__name__}")
        outputs.append(recorder.ref_of(t))
    return recorder.ops, recorder.consts, tuple(outputs), tuple(recorder.buffers)


class _Recorder:
    """The tape's forward hook (tape._forward_checks, the engine's recording hook, which anomaly mode, tr.viz and
    tr.checkpoint use too) while a cell is traced: every primitive applied in this thread is written down with its
    operands and attributes, whichever module called the tape (a Tensor method, tr.linalg, tr.special, tr.einsum,
    F.embedding, a parametrization's matrix_exp). Another thread's operations are not the cell's: left alone."""

    def __init__(self, cell, x, state, params):
        from .lower import LOWERING  # (imported here: lower.py imports this module)
        self.lowerable = LOWERING
        self.cell, self.thread = cell, threading.get_ident()
        self.ops, self.consts, self.refs = [], [], {}
        self.constant_valued = set()   # the ops whose operands are constants or results of such ops
        self.keep = []   # every traced Tensor kept alive, so that id() stays unique during the trace
        self.buffer_names = {id(b): name for name, b in cell.named_buffers() if b is not None}
        self.buffers = []   # (const index, name) of the constants that are the cell's buffers
        for i, p in enumerate(params):
            self.refs[id(p)] = ("param", i)
        self.refs[id(x)] = ("x",)
        for k, s in enumerate(state):
            self.refs[id(s)] = ("state", k)

    def ref_of(self, t):
        r = self.refs.get(id(t))
        if r is None:  # a Tensor the cell made itself from values, not by a primitive: a constant
            _refuse_unseen(self.cell, t)
            self.consts.append(np.array(t._data))
            r = self.refs[id(t)] = ("const", len(self.consts) - 1)
            if id(t) in self.buffer_names:
                self.buffers.append((r[1], self.buffer_names[id(t)]))
            self.keep.append(t)
        return r

    def __call__(self, prim, inputs, outs, node, attrs):
        if threading.get_ident() != self.thread:
            return
        _refuse_by_kind(prim, attrs)
        args = tuple(self.ref_of(t) for t in inputs)
        constant = all(a[0] == "const" or a[0] == "op" and a[1] in self.constant_valued for a in args)
        if constant and prim not in self.lowerable:
            # constants alone, by an operation the kernels cannot run (tr.linalg.inv of a constant matrix): its
            # results are constants of the trace, as numpy's would be; one they can run stays in the step
            for o in outs:
                self.consts.append(np.array(o._data))
                self.refs[id(o)] = ("const", len(self.consts) - 1)
                self.keep.append(o)
            return
        n = len(self.ops)
        if prim is P.Dropout:   # the mask drawn now stands for the masks the kernels read, one per step
            attrs = _dropout_attrs(attrs, sum(op.prim is P.Dropout for op in self.ops))
        self.ops.append(Op(prim, args, tuple(sorted(attrs.items(), key=lambda kv: kv[0])),
                           tuple(o.shape for o in outs), tuple(o._data.dtype for o in outs), _call_site()))
        if constant:
            self.constant_valued.add(n)
        for slot, o in enumerate(outs):
            self.refs[id(o)] = ("op", n, slot)
            self.keep.append(o)
        if node is None and not _grad_mode.enabled and prim is not P.Detach and any(
                t._requires_grad and t._data.dtype.kind == "f" for t in inputs):
            self._stop_gradient(outs)

    def _stop_gradient(self, outs):
        """An operation of the cell's run under no_grad() on values with a gradient (the trace runs with grad mode
        on): the tape sends no gradient through it, so each of its float results stands for its detach() (a
        stop-gradient in the kernels), not for the operation's own result, which the kernels would differentiate."""
        for o in outs:
            if o._data.dtype.kind == "f":
                n = len(self.ops)
                self.ops.append(Op(P.Detach, (self.refs[id(o)],), (), (o.shape,), (o._data.dtype,), _call_site()))
                self.refs[id(o)] = ("op", n, 0)


class _WriteFollower:
    """The engine's in-place write hook (tape._write_checks) while a cell is traced, for this thread only. An
    in-place write (relu_, F.relu(y, inplace=True), y += 1, y.unsqueeze_(0)) of a value the trace knows makes the
    tensor stand for the result it was given, which was recorded as an op (the Tensor object is the same, its value
    is not: refs are by id). Anything else written in place (a parameter, the input, a state, a constant, a view of
    a value or a viewed one, a parameter's memory through .data or .detach()) is refused: the kernels would read its
    old value."""

    def __init__(self, cell, refs, keep, leaves):
        self.cell, self.refs, self.keep, self.thread = cell, refs, keep, threading.get_ident()
        self.leaves = leaves   # the input, the state parts and the parameters

    def __call__(self, t, new, symbol):
        if threading.get_ident() != self.thread:   # another thread's write is not the cell's
            return
        name = type(self.cell).__name__
        if not _grad_mode.enabled and t._requires_grad:
            raise CompileError(f"{name}: an in-place write ({symbol}) under no_grad() of a value with a gradient: the "
                               "tape keeps the value's gradient as it was before the write (it passes straight "
                               "through), which the compiled kernels do not follow; write it out of place, or on a "
                               f"detach()ed value (at {_call_site()})")
        if new is None:   # straight into the memory of a tensor no recorded operation made
            raise CompileError(f"{name}: an in-place write ({symbol}) of a parameter, the input, a state or a "
                               f"constant in forward; write it out of place (at {_call_site()})")
        refs = self.refs
        mine = refs.get(id(t))   # (the result of an earlier write of t is t's value too: the same ref)
        # a view made in place (unsqueeze_) shares t's memory and leaves the values as they are; a write changes
        # them for every other tensor of that memory
        writes_values = not np.may_share_memory(new._data, t._data)
        shared = writes_values and any(o is not new and refs.get(id(o)) != mine
                                       and np.may_share_memory(o._data, t._data) for o in self.keep + self.leaves)
        if id(new) not in refs or (mine or ("const",))[0] != "op" or shared:
            raise CompileError(f"{name}: an in-place write ({symbol}) of a value the compiled kernels cannot follow "
                               "(a parameter, the input, a state, a constant, or a view or viewed value); write it "
                               f"out of place (y = y + 1, F.relu(y), inplace=False) (at {_call_site()})")
        refs[id(t)] = refs[id(new)]


def _dropout_attrs(attrs, index):
    """A dropout's attributes in the graph: its probability and its index among the step's dropouts (in
    trace order), not the mask this trace drew. The compiled layer draws mask `index` of every step itself
    (node.py: Kernel.draw_masks), from the library's generator, in the order the tape would; a mask drawn
    from a generator of the cell's own cannot be drawn so, and is refused."""
    if not attrs["from_library"]:
        raise CompileError(f"cannot compile dropout drawn from a generator of the cell's own (rng=), used at "
                           f"{_call_site()}: the compiled layer draws each step's mask from tr.random's generator "
                           "(tr.manual_seed), as the tape does without rng=; fused='auto' runs the cell on the "
                           "generic tape")
    return {"p": attrs["p"], "index": index}


def _refuse_unseen(cell, t):
    """A Tensor the trace did not see made, though the tape recorded it (it has a node): it was computed before the
    step ran, on the tape, from something that requires grad (a cell attribute computed in __init__ from a
    parameter, a Tensor computed outside and closed over). Taken as a constant, the kernels would keep this
    trace's value while the tape follows the parameter: refused, naming it."""
    if t._node is not None:
        raise CompileError(f"{type(cell).__name__}: a value made by {t._node.prim.__name__} before the step ran "
                           f"(outside forward, e.g. in __init__ or a Tensor closed over), used at {_call_site()}: "
                           "the compiled kernels would keep its value of now as a constant; compute it inside forward "
                           "(work on the weights alone runs once per call), or fused=False runs the cell on the "
                           "generic tape")


def _refuse_by_kind(prim, attrs):
    """Operations the trace refuses by what they are: a Function (Python forward and backward), a tr.checkpoint
    (it reruns Python code in the backward), and indexing with an array (positions that may come from the data,
    whose traces may agree). Said when the operation is recorded, after what ran inside it."""
    if issubclass(prim, FunctionCall):
        raise CompileError(f"cannot compile {prim.__name__}, a tr.autograd.Function, used at {_call_site()}: its "
                           "forward and backward are Python code a kernel cannot run; fused='auto' runs the "
                           "cell on the generic tape (with one warning), as fused=False does")
    if prim is Recompute:
        raise CompileError(f"cannot compile tr.checkpoint inside a cell, used at {_call_site()}: it reruns Python "
                           "code in the backward, which a kernel cannot; the layer's own checkpoint= (or "
                           "memory_budget=) recomputes a compiled cell's steps; fused='auto' runs the cell on the "
                           "generic tape (with one warning), as fused=False does")
    if prim is P.GetItem and _indexes_with_arrays(attrs["index"]):
        raise CompileError(f"cannot compile indexing with an array, used at {_call_site()}: its positions may "
                           "come from the data; for the largest value along the features use "
                           "max(dim, keepdim).values (the gradient to its first index) or amax (ties share it)")


def _indexes_with_arrays(index):
    """True for an index that gathers (an array or list in it): its positions may come from the data."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list)) for i in parts)


def trace_cell(cell, dtype, check=True):
    """The graph of one step of `cell` in `dtype` (see the module docstring). check=False traces once,
    without the second trace that proves the operations do not depend on the data: for a structure
    whose kernel exists already (node.get_kernel), i.e. that passed the check before."""
    refuse_hooks(cell)
    dtype = np.dtype(dtype)
    names, params = [], []
    for name, p in cell.named_parameters():
        names.append(name)
        params.append(p)
    sizes = tuple(int(n) for n in cell.sizes())
    if getattr(cell, "input_size", None) is None:   # the tape never needs it; the placeholder input does
        raise CompileError(f"{type(cell).__name__} has no input_size: a cell sets self.input_size (and "
                           "self.hidden_size) in __init__, as tr.nn.RecurrentCell says, so that its step can be "
                           "traced for the fused kernels")
    I = int(cell.input_size)
    with _generator_kept(), _buffers_kept(cell):
        graphs = [_record(cell, *_placeholders(I, sizes, dtype, seed), params) for seed in ((1, 2) if check else (1,))]
        if check and _key(*graphs[0]) != _key(*graphs[1]):
            _refuse_data_dependence(cell, graphs, _record(cell, *_placeholders(I, sizes, dtype, 1), params))
        if check:
            _refuse_weight_dependence(cell, graphs[0], I, sizes, dtype)
    ops, consts, outputs, buffers = graphs[0]
    if len(outputs) != len(sizes):
        raise CompileError(f"{type(cell).__name__}.forward returned {len(outputs)} state parts, but its sizes() "
                           f"has {len(sizes)}")
    return Graph(ops, consts, outputs, params, names, sizes, I, buffers)


def refuse_hooks(cell):
    """A CompileError naming a hook that a call of `cell` would run (its own, a submodule's or a global one). The
    kernels run the cell's operations, not its calls: a hook would run once here, on the placeholders, instead of
    once per step on the step's values as the tape's unrolled loop runs it, and what a hook returns (a new output,
    new gradients) would be baked in or lost. Refusing keeps the compiled results the tape's; a tr.nn.Recurrent
    layer does not come here with hooks (it runs those layer-directions on the tape)."""
    from ..nn.hooks import ModuleHooks, first_hook  # (here: nn's layers import this package)
    if not ModuleHooks.made:   # (no module of the process has ever had a hook: one test)
        return
    hook = first_hook(cell)
    if hook is not None:
        raise CompileError(f"{type(cell).__name__} cannot be compiled while {hook} is registered: the fused kernels "
                           "run the cell's operations without calling it, so the hook would not run each step (remove "
                           "it, or run the cell on the tape: tr.nn.Recurrent(..., fused=False) or a loop over steps)")


def _placeholders(I, sizes, dtype, seed):
    """The traced step's input and state parts: leaves of placeholder values, a batch of TRACE_BATCH rows."""
    rng = np.random.default_rng(seed)
    x = Tensor(rng.uniform(-1, 1, (TRACE_BATCH, I)).astype(dtype), requires_grad=True)
    state = tuple(Tensor(rng.uniform(-1, 1, (TRACE_BATCH, n)).astype(dtype), requires_grad=True) for n in sizes)
    return x, state


@contextlib.contextmanager
def _generator_kept():
    """Tracing leaves the library's generator as it found it: a cell that draws from it (dropout) would
    otherwise advance it, so that tr.manual_seed(s) gave other numbers with fused=True than with False
    (the layer draws the masks it runs with itself, at each call)."""
    state = random.generator().bit_generator.state
    try:
        yield
    finally:
        random.generator().bit_generator.state = state


@contextlib.contextmanager
def _buffers_kept(cell):
    """Tracing leaves the cell's buffers as it found them, and refuses a cell whose forward writes one. A forward
    that writes a buffer (spectral_norm's power iteration in training mode moves its _u and _v at every read of
    the weight) changes the cell at every step on the tape: the weight of each step is another, which the kernels,
    running one set of weights for all the steps of a call, cannot give. The buffers are put back before the
    CompileError, so that fused='auto' runs the tape from the state the cell was in, with the tape's numbers."""
    held = [(name, b, b._data.copy(), b._version) for name, b in cell.named_buffers() if b is not None]
    try:
        yield
    finally:
        written = []
        for name, b, values, version in held:
            if b._version != version or b._data.shape != values.shape or not np.array_equal(b._data, values,
                                                                                               equal_nan=True):
                written.append(name)
                if b._data.shape == values.shape:
                    np.copyto(b._data, values)
        if written:   # (said instead of what the writes made the traces find: two traces that differ)
            raise CompileError(_buffer_written(cell, written[0]))


def _buffer_written(cell, name):
    """The words of _buffers_kept's refusal: the buffer, and what to do."""
    spectral = name.endswith(("._u", "._v")) and "parametrizations." in name
    why = (" (spectral_norm's power iteration, which runs in training mode at every read of the weight, on the tape "
           "at every step)" if spectral else "")
    return (f"{type(cell).__name__}: its forward writes its buffer {name!r}{why}, so that each step of the tape "
            "computes with other values; the compiled kernels run one set of weights for all the steps of a call "
            "and cannot do that. Put the cell in eval mode (cell.eval(): spectral_norm's u and v then stay, and the "
            "cell compiles, reading them at each call), or run it on the generic tape: fused=False, or "
            "fused='auto', which falls back to it (with one warning)")


def _refuse_data_dependence(cell, graphs, again):
    """The CompileError for two traces that differ. `again` traced the first trace's values once more: if
    it too differs from the first, the cell draws random numbers other than dropout's (tr.rand, a Generator
    of its own: F.dropout's masks are recorded as such and compile, see _dropout_attrs), which a kernel
    cannot bake in either, and the remedies differ, so the message says which it is."""
    name = type(cell).__name__
    if _key(*again) != _key(*graphs[0]):
        op = _first_difference(graphs[0], again)
        at = f" (first at {op.prim.__name__}, used at {op.where})" if op is not None else ""
        raise CompileError(f"{name}: its forward draws random numbers{at}: two traces of the same input recorded "
                           "different constants, e.g. tr.rand or numpy's generator inside forward, which a compiled "
                           "kernel cannot draw afresh at each step (dropout can: F.dropout and nn.Dropout compile, "
                           "their masks drawn per step as the tape draws them); fused='auto' runs it on the "
                           "generic tape (with one warning), as fused=False does")
    op = _first_difference(graphs[0], graphs[1])
    at = (f" (first at {op.prim.__name__}, used at {op.where})" if op is not None
          else _constant_output(cell, graphs[0][2]))
    raise CompileError(f"{name}: its operations depend on the values they see{at}: two traces with "
                       "different inputs recorded different operations or constants, e.g. a where() on a "
                       "numpy mask (x.numpy() > 0, not x > 0) computed from the data; such a "
                       "cell runs on the generic tape only")


def _refuse_weight_dependence(cell, first, I, sizes, dtype):
    """Traces of copies of the cell given other weights must record what the first did. Else the cell computes
    something from its weights' values off the tape (numpy on w.numpy(), a Python branch on a weight's value),
    which the kernels, and the prelude replaying the recorded operations, would keep at this trace's values while
    the tape recomputes it at each step from the weights of the time. (The two traces before differ in the input
    and state only: a constant made from the weights is the same in both.) One copy's weights could give such a
    constant its value again by chance, or stay on the same side of a branch (|w| < 1 at every size near the
    weights'), so there are several copies, whose weights differ from the cell's and from each other's in sign
    and scale (_OTHER_WEIGHTS); each must agree. A copy whose forward raises with its weights is passed over (the
    others still look). A cell that cannot be copied (it holds a lock, a file) is not checked so: its weights are
    never written here."""
    for k, other in enumerate(_OTHER_WEIGHTS):
        try:
            twin = copy.deepcopy(cell)
        except (TypeError, copy.Error):
            return
        rng = np.random.default_rng(5 + k)
        params = [p for _, p in twin.named_parameters()]
        for p in params:   # (the copy's own arrays: the cell's weights are not touched)
            w = p._data
            np.copyto(w, other(w, rng), casting="unsafe")
        try:
            with np.errstate(all="ignore"):   # (an overflow of the copies' values is no concern of the user's)
                again = _record(twin, *_placeholders(I, sizes, dtype, 1), params)
        except Exception:   # (not with these weights: a cell may check its weights' range, or fail out of it)
            continue
        if _key(*again) != _key(*first):
            _refuse_weights_read_off_the_tape(cell, first, again)


def _other_sign(w, rng):
    """Each weight of the other sign and another size (a branch on a sign, a max, a trunc changes); zeros made
    nonzero."""
    return np.where(w == 0, rng.uniform(-1.0, 1.0, w.shape), -w * rng.uniform(0.5, 1.5, w.shape))


def _larger(w, rng):
    """Each weight 3-6 times as large, its sign drawn (a branch on |w| < 1, a round or a trunc near 0, a sum's
    sign); zeros made nonzero."""
    return np.where(w == 0, 1.0, w) * rng.uniform(3.0, 6.0, w.shape) * rng.choice([-1.0, 1.0], w.shape)


def _smaller(w, rng):
    """Each weight 10-100 times as small, its sign drawn (a branch on |w| > 0.1, a count of weights above one)."""
    return np.where(w == 0, 0.01, w) * rng.uniform(0.01, 0.1, w.shape) * rng.choice([-1.0, 1.0], w.shape)


_OTHER_WEIGHTS = (_other_sign, _larger, _smaller)


def _refuse_weights_read_off_the_tape(cell, first, again):
    op = _first_difference(first, again)
    at = f" (first at {op.prim.__name__}, used at {op.where})" if op is not None else ""
    raise CompileError(f"{type(cell).__name__}: its operations depend on its weights' values{at}: a trace with other "
                       "weights recorded other operations or constants, e.g. a Tensor made with numpy from "
                       "w.numpy(), or a Python branch on a weight's value, which the compiled kernels would keep "
                       "at today's weights; compute it with Tensor operations (the work on the weights alone runs "
                       "once per call), or fused=False runs the cell on the generic tape")


def _constant_output(cell, outputs):
    """Where no operation differs, a returned state part that is a constant of the trace: a Tensor the forward
    made from values (x.numpy(), numpy), which no recorded operation connects to the input, state or parameters.
    Said with the forward's own line, as the trace has no operation to point at."""
    parts = [k for k, ref in enumerate(outputs) if ref[0] == "const"]
    if not parts:
        return ""
    code = getattr(type(cell).forward, "__code__", None)
    where = f" ({code.co_filename}:{code.co_firstlineno} in {code.co_name})" if code is not None else ""
    return (f" (the returned state part {parts[0]} is not computed by Tensor operations from the input, the state "
            f"and the parameters: a Tensor made from values, e.g. from x.numpy() or a numpy function, in its "
            f"forward{where})")


def _first_difference(first, second):
    """The first Op of `first` whose primitive, operands, attributes, shapes or constant operands' values
    differ in `second` (the user's line that made the cell data-dependent), or None."""
    (ops, consts, *_), (other_ops, other_consts, *_) = first, second

    def seen(op, values):
        return (op.prim, op.args, _freeze(op.attrs), op.shapes,
                tuple(_freeze(values[a[1]]) for a in op.args if a[0] == "const"))

    for op, other in zip(ops, other_ops):
        if seen(op, consts) != seen(other, other_consts):
            return op
    longer = ops if len(ops) > len(other_ops) else other_ops
    return longer[min(len(ops), len(other_ops))] if len(ops) != len(other_ops) else None


def _key(ops, consts, outputs, buffers=(), live=()):
    """live: the indices of constants read at each call (prelude.py's buffers): their shapes and dtypes only."""
    return (tuple((op.prim.__name__, op.args, _freeze(op.attrs), op.shapes) for op in ops),
            tuple(("live", c.shape, c.dtype.str) if i in live else _freeze(c) for i, c in enumerate(consts)),
            outputs, buffers)


def graph_key(graph, dtype, live=()):
    """Everything the generated kernel depends on: the structure, sizes, constants and dtype (not the
    parameters' values, nor the values of the buffers in `live`, which prelude.py reads at each call)."""
    return (np.dtype(dtype).str, graph.state_sizes, graph.input_size,
            tuple(p.shape for p in graph.params)) + _key(graph.ops, graph.consts, graph.outputs, graph.buffers, live)
