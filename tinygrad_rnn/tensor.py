"""Tensor and its reverse-mode tape.

A Tensor wraps a float32 or float64 numpy array. When an operation reads a Tensor that requires
grad, `apply` runs the primitive's forward (primitives.py) and records a Node: which primitive,
the edges to its inputs, its attributes and what its backward saved. Unrolling a recurrent cell
over T steps records T copies of the cell's nodes, so backpropagation through time is nothing
but `backward()` over that graph.

The invariants the walk relies on:
  * Every Node gets a sequence number when it is recorded, and its inputs were recorded before
    it. Sorting the reachable nodes by decreasing number is therefore a reverse topological
    order: each node is visited after every node that uses its output. No recursion, so a
    200,000-node graph (a long unrolled sequence) is fine.
  * An edge points either at a leaf Tensor (gradient accumulated into `.grad`) or at
    (node, output slot) of the node that produced the input. Nodes do not hold their output
    Tensors, so an intermediate array lives only as long as someone (a user, or a node's
    `saved`) needs it.
  * The walk knows no primitive. It hands a node its output cotangent, gets one gradient per
    input back, sums each back to its input's shape (broadcasting's adjoint, in one place:
    `unbroadcast`), and adds it to the input's cotangent. A leaf's first gradient is copied into
    a buffer of its own (VJPs return shared arrays and views), unless the primitive declares
    `fresh_grads`: arrays made for this call alone, which the leaf may keep as they are.

Saved values are the inputs' arrays themselves, not copies, so an array changed in place between
forward and backward would give wrong gradients. The library's own in-place writes (an optimizer
step, load_state_dict) bump the tensor's version counter; a node records the versions of its leaf
inputs and backward refuses, naming the tensor, if one has moved on. Raw writes into `.data`
bypass the counter (as in torch); `tr.detect_anomaly()` (anomaly.py) catches those too, by a
checksum of every input verified in backward.

dtype rules (no silent upcasting): a Tensor holds float32 or float64. ndarrays keep their float
dtype; Python lists and scalars, ints and bools become float32 (the default) unless dtype= says
otherwise; other dtypes are refused. Python scalars and ndarrays combined with a Tensor take that
Tensor's dtype. Two Tensors of different dtypes are refused: cast one with `.astype()`.
"""
import itertools
import operator
import threading

import numpy as np

from . import primitives as P

DEFAULT_DTYPE = np.float32
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ----------------------------------------------------------------------------- grad mode
class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


class no_grad:
    """`with tr.no_grad():` (or as a decorator) runs operations without recording them."""

    def __enter__(self):
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = False

    def __exit__(self, *exc):
        _grad_mode.enabled = self._prev

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


def is_grad_enabled():
    return _grad_mode.enabled


# Hooks that the optional anomaly mode (anomaly.py) installs: called as check(prim, inputs, outs,
# node) after every operation (node is None when it was not recorded) and check(node, g, grads)
# after every backward step. Empty lists cost one truth test per op.
_forward_checks = []
_backward_checks = []
# Callbacks run with no arguments once at the end of every Tensor.backward(), after the walk, in
# the order registered: DistributedDataParallel (nn/parallel.py) averages gradients over processes
# here, as torch's DDP queues a callback for the end of its backward pass.
_backward_end_hooks = []


# ----------------------------------------------------------------------------- dtype handling
def as_float_array(data, dtype=None, name="data"):
    """Convert user data to a float32/float64 ndarray by the module docstring's rules."""
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name}: dtype must be float32 or float64, got {dtype}")
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.generic):  # a numpy scalar keeps its dtype, like an array
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        kind = data.dtype.kind
        if kind == "f" and data.dtype in FLOAT_DTYPES:
            return data if dtype is None or data.dtype == dtype else data.astype(dtype)
        if kind in "biu":
            return data.astype(dtype or DEFAULT_DTYPE)
        raise TypeError(
            f"{name}: expected a float32 or float64 array (ints and bools are converted to float32), "
            f"got dtype {data.dtype}; convert it with .astype(np.float32) or .astype(np.float64)"
        )
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as e:  # ragged lists and the like
        raise TypeError(f"{name}: cannot make a tensor from {type(data).__name__}: {e}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numbers, got {type(data).__name__} of dtype {arr.dtype}")
    return arr.astype(dtype or DEFAULT_DTYPE)


# ----------------------------------------------------------------------------- the tape
class InplaceModificationError(RuntimeError):
    """An array a recorded operation read was modified in place before backward used it."""


_sequence = itertools.count()
_FREED = object()  # marks a node whose saved values were released by backward


class Node:
    """One recorded operation: the data a backward pass (or a visualiser, or a compiler) needs."""

    __slots__ = ("prim", "parents", "needs", "versions", "attrs", "saved", "shapes", "multi", "seq", "retained",
                 "where", "__weakref__")

    def __init__(self, prim, parents, needs, versions, attrs, saved, shapes, multi):
        self.prim = prim  # the Primitive subclass
        self.parents = parents  # per input: a leaf Tensor, (Node, slot), or None (no grad needed)
        self.needs = needs  # per input: whether it needs a gradient (parents[i] is not None)
        self.versions = versions  # per input: a leaf's version when recorded (Tensor.bump_version) or None; None if no leaf
        self.attrs = attrs  # the primitive's non-array arguments (axis, shape, index...)
        self.saved = saved  # what backward needs; _FREED once backward released it
        self.shapes = shapes  # the output shape, or a tuple of them if the primitive has several outputs
        self.multi = multi
        self.seq = next(_sequence)
        self.retained = None  # {slot: Tensor} whose .grad the walk fills (Tensor.retain_grad)
        self.where = None  # creation site, recorded in anomaly mode only

    @property
    def name(self):
        return self.prim.__name__

    def __repr__(self):
        return f"<Node #{self.seq} {self.name} -> {self.shapes}>"


def apply(prim, *inputs, **attrs):
    """Run primitive `prim` on Tensors `inputs` and record it if any input requires grad.

    This runs once per operation, T times per cell operation in an unrolled layer, so it is kept
    to plain loops (the tape's per-op overhead is what the generic path pays, and what a tiny
    fused layer pays per call): while grad mode is on, one pass over the inputs collects both the
    arrays for the forward and, per input, the edge the walk will follow, whether it needs a
    gradient and, for a leaf, the version backward checks (Tensor.bump_version)."""
    arrays = []
    if _grad_mode.enabled:
        parents, needs, versions = [], [], []
        for t in inputs:
            arrays.append(t.data)
            if not t.requires_grad:
                parents.append(None)
                needs.append(False)
                versions.append(None)
            elif t._node is None:  # a leaf
                parents.append(t)
                needs.append(True)
                versions.append(t._version)
            else:
                parents.append((t._node, t._slot))
                needs.append(True)
                versions.append(None)
        record = True in needs
    else:
        for t in inputs:
            arrays.append(t.data)
        record = False
    out, saved = prim.forward(*arrays, **attrs)
    multi = type(out) is tuple
    tensors = []
    for o in (out if multi else (out,)):
        if type(o) is not np.ndarray:  # numpy turns 0-d results into scalars (np.float64): keep ndarrays
            o = np.asarray(o)
        tensors.append(Tensor._make(o, record))
    node = None
    if record:
        shapes = tuple([t.data.shape for t in tensors]) if multi else tensors[0].data.shape
        leaf_versions = tuple(versions) if versions.count(None) < len(versions) else None  # None: no leaf input
        node = Node(prim, tuple(parents), tuple(needs), leaf_versions, attrs, saved, shapes, multi)
        slot = 0
        for t in tensors:
            t._node, t._slot = node, slot
            slot += 1
    if _forward_checks:
        for check in _forward_checks:
            check(prim, inputs, tuple(t.data for t in tensors), node)
    return tuple(tensors) if multi else tensors[0]


def unbroadcast(g, shape):
    """Sum a gradient of a broadcast result back to the operand's own shape."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


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


def backward_from(root, slot, grad, retain_graph=False):
    """Reverse-mode sweep from output `slot` of node `root`, seeded with cotangent `grad`."""
    cotangents = {root: {slot: grad}}
    owned = set()  # (node, slot) whose cotangent buffer this walk allocated: safe to add into in place
    for node in _reachable_nodes(root):
        gs = cotangents.pop(node, None)  # dropped once used: BPTT frees memory as it goes
        if gs is None:
            continue
        if node.saved is _FREED:
            raise RuntimeError(
                f"backward through the graph a second time: the saved values of {node.name} were freed by "
                "the first backward(). Pass retain_graph=True to the first backward() if you need to "
                "call it twice, or recompute the forward pass."
            )
        if node.retained:
            for s, t in node.retained.items():
                if s in gs:  # a copy: cotangents are shared (Add passes one array to both inputs) and
                    t.grad = np.array(gs[s], copy=True)  # may be stride-0 views (Sum's); users write into .grad
        parents = node.parents
        if node.versions is not None:
            for edge, version in zip(parents, node.versions):
                if version is not None and edge._version != version:  # a leaf changed since it was recorded
                    raise _modified_in_place(node, edge)
        if node.multi:  # one cotangent per output slot, None where no gradient arrived
            g = [None] * len(node.shapes)
            for s, gs_s in gs.items():
                g[s] = gs_s
        else:
            g = gs[0]
        input_grads = node.prim.backward(g, node.saved, node.needs, **node.attrs)
        if _backward_checks:
            for check in _backward_checks:
                check(node, g, input_grads)
        if not retain_graph:
            node.saved = _FREED
        fresh = node.prim.fresh_grads
        for edge, gi in zip(parents, input_grads):
            if edge is None or gi is None:
                continue
            if type(edge) is tuple:  # an intermediate: add to its node's cotangent for that slot
                parent, pslot = edge
                shape = parent.shapes[pslot] if parent.multi else parent.shapes
                if gi.shape != shape:
                    gi = unbroadcast(gi, shape)
                slots = cotangents.setdefault(parent, {})
                if pslot not in slots:
                    slots[pslot] = gi  # may be shared with other consumers: never written into
                elif (parent, pslot) in owned:
                    slots[pslot] += gi  # a weight used at every step: no new buffer per step
                else:
                    slots[pslot] = slots[pslot] + gi
                    owned.add((parent, pslot))
            else:  # a leaf: accumulate into .grad, in a buffer we own (gi may be shared or a view)
                if gi.shape != edge.data.shape:
                    gi = unbroadcast(gi, edge.data.shape)
                if edge.grad is not None:
                    edge.grad += gi
                elif fresh and gi.dtype == edge.data.dtype and gi.base is None:
                    edge.grad = gi  # the primitive made this array for us alone: keep it, no copy
                else:
                    edge.grad = np.array(gi, dtype=edge.data.dtype, copy=True)


def _modified_in_place(node, edge):
    i = next(i for i, e in enumerate(node.parents) if e is edge)
    return InplaceModificationError(
        f"a tensor that backward needs was modified in place after the forward pass recorded it: "
        f"input {i} of {node.name}, a {type(edge).__name__} of shape {edge.shape} (changed by an "
        "optimizer step or load_state_dict): call backward() first, before optimizer.step(), or run "
        "the forward pass again.")


# ----------------------------------------------------------------------------- Tensor
class Tensor:
    """A float32/float64 array that records the operations applied to it (see module docstring)."""

    __array_priority__ = 1000  # make `ndarray * Tensor` call Tensor.__rmul__

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = as_float_array(data, dtype)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._node, self._slot = None, 0  # the node that made this tensor (None for a leaf)
        self._version = 0  # bumped by the library's in-place writes (optimizer steps, load_state_dict)

    @classmethod
    def _make(cls, data, requires_grad):
        """Wrap an array produced by a primitive (already the right dtype) without checks."""
        t = cls.__new__(cls)
        t.data, t.requires_grad, t.grad, t._node, t._slot, t._version = data, requires_grad, None, None, 0, 0
        return t

    def bump_version(self):
        """Say that .data was changed in place: graphs recorded before now refuse to backpropagate
        through this tensor (their saved values no longer match). Optimizers call it after a step."""
        self._version += 1

    # -- the basics users expect (attrgetters: read in C, no Python frame per access)
    shape = property(operator.attrgetter("data.shape"))
    dtype = property(operator.attrgetter("data.dtype"))
    ndim = property(operator.attrgetter("data.ndim"))
    size = property(operator.attrgetter("data.size"))
    is_leaf = property(lambda self: self._node is None)
    node = property(lambda self: self._node, doc="the Node that produced this tensor (None for a leaf)")

    def __len__(self):
        return len(self.data)

    def numpy(self):
        return self.data

    def item(self):
        return self.data.item()

    def detach(self):
        """The same values, cut off the tape (how truncated BPTT carries state across batches)."""
        return Tensor._make(self.data, False)

    def requires_grad_(self, flag=True):
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self):
        """Keep this intermediate's gradient in `.grad` after backward (e.g. dL/dh_t per step)."""
        if self._node is not None:
            if self._node.retained is None:
                self._node.retained = {}
            self._node.retained[self._slot] = self
        return self

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._node.name}" if self._node is not None else ""
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ", prefix="Tensor(")
        return f"Tensor({body}, dtype={self.dtype}{grad}{op})"

    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's .grad that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input of its "
                               "computation requires grad (or it was computed under no_grad())")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar (one-element) tensor; this one "
                                   f"has shape {self.shape}. Pass grad= an array of that shape, or reduce first "
                                   "(e.g. loss.sum() or loss.mean())")
            # ones of the tensor's shape, (1,) * ndim: one C call (np.ones is a Python-level wrapper)
            grad = np.array(1, dtype=self.data.dtype, ndmin=self.data.ndim)
        else:
            grad = as_float_array(grad, self.dtype, name="grad")
            if grad.shape != self.shape:
                raise ValueError(f"grad must have the tensor's shape: expected {self.shape}, got {grad.shape}")
        if self._node is None:  # a leaf: d(self)/d(self) = grad
            self.grad = grad.copy() if self.grad is None else self.grad + grad
        else:
            backward_from(self._node, self._slot, grad, retain_graph)
        for hook in _backward_end_hooks:
            hook()

    # -- conversion of the other operand of a binary op
    def _operand(self, other):
        if isinstance(other, Tensor):
            if other.data.dtype != self.data.dtype:
                raise TypeError(f"cannot combine tensors of dtype {self.dtype} and {other.dtype} (nothing is "
                                "upcast silently): convert one with .astype()")
            return other
        if type(other) is float or type(other) is int:  # the common case, kept cheap
            return Tensor._make(np.array(other, dtype=self.data.dtype), False)
        return Tensor._make(as_float_array(other, self.dtype, name="operand"), False)

    def _binary(self, prim, other, symbol, reflected=False):
        other = self._operand(other)
        a, b = (other, self) if reflected else (self, other)
        try:
            return apply(prim, a, b)
        except ValueError:
            if a.shape == b.shape:
                raise
            # numpy's own message does not say which operation; ours names both shapes
            raise ValueError(f"operands of {symbol} do not broadcast: shapes {a.shape} and {b.shape}") from None

    def __add__(self, o): return self._binary(P.Add, o, "+")
    def __radd__(self, o): return self._binary(P.Add, o, "+", reflected=True)
    def __sub__(self, o): return self._binary(P.Sub, o, "-")
    def __rsub__(self, o): return self._binary(P.Sub, o, "-", reflected=True)
    def __mul__(self, o): return self._binary(P.Mul, o, "*")
    def __rmul__(self, o): return self._binary(P.Mul, o, "*", reflected=True)
    def __truediv__(self, o): return self._binary(P.Div, o, "/")
    def __rtruediv__(self, o): return self._binary(P.Div, o, "/", reflected=True)
    def __neg__(self): return apply(P.Neg, self)

    def __pow__(self, p):
        if isinstance(p, Tensor):  # a tensor exponent: compose, no primitive of its own
            return (self.log() * p).exp()
        if not np.isscalar(p):
            raise TypeError(f"exponent must be a number or a Tensor, got {type(p).__name__}")
        return apply(P.Pow, self, p=float(p))

    def __rpow__(self, base):
        return (self * float(np.log(base))).exp()  # base ** x = exp(x log base)

    def __matmul__(self, other):
        other = self._operand(other)
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs at least 1-D operands, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul shape mismatch: {a.shape} @ {b.shape} (inner dimensions "
                             f"{a.shape[-1]} and {b.shape[-2 if b.ndim > 1 else 0]} differ)")
        # 1-D operands are promoted to matrices and the extra axis removed again, as numpy does
        a_vector, b_vector = a.ndim == 1, b.ndim == 1
        if a_vector:
            a = a.reshape(1, -1)
        if b_vector:
            b = b.reshape(-1, 1)
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul batch dimensions do not broadcast: {self.shape} @ {other.shape}") from None
        out = apply(P.Matmul, a, b)
        shape = list(out.shape)
        if b_vector:
            shape.pop(-1)
        if a_vector:
            shape.pop(-1 if b_vector else -2)
        return out.reshape(tuple(shape)) if (a_vector or b_vector) else out

    def __rmatmul__(self, other):
        return self._operand(other).__matmul__(self)

    # comparisons give plain boolean arrays: masks for where(), not differentiable values
    def __lt__(self, o): return self.data < _raw(o)
    def __le__(self, o): return self.data <= _raw(o)
    def __gt__(self, o): return self.data > _raw(o)
    def __ge__(self, o): return self.data >= _raw(o)

    # -- elementwise
    def exp(self): return apply(P.Exp, self)
    def log(self): return apply(P.Log, self)
    def tanh(self): return apply(P.Tanh, self)
    def sigmoid(self): return apply(P.Sigmoid, self)
    def relu(self): return apply(P.Relu, self)
    def sqrt(self): return self ** 0.5
    def abs(self): return where(self.data >= 0, self, -self)

    def clip(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clip needs min or max (or both)")
        return apply(P.Clip, self, lo=min, hi=max)

    def astype(self, dtype):
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"astype: dtype must be float32 or float64, got {dtype}")
        return self if dtype == self.dtype else apply(P.Cast, self, dtype=dtype)

    # -- reductions
    def sum(self, axis=None, keepdims=False):
        return apply(P.Sum, self, axis=_axis(axis, self.ndim), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        axis = _axis(axis, self.ndim)
        axes = range(self.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
        count = int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axis, keepdims) * (1.0 / max(count, 1))

    def max(self, axis=None, keepdims=False):
        if self.size == 0:
            raise ValueError(f"max of an empty tensor (shape {self.shape}) is undefined")
        return apply(P.Max, self, axis=_axis(axis, self.ndim), keepdims=keepdims)

    # -- shape
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        try:
            new_shape = np.empty(self.shape, dtype=bool).reshape(shape).shape  # resolves -1, checks size
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {self.shape} into {tuple(shape)}") from None
        return self if new_shape == self.shape else apply(P.Reshape, self, shape=new_shape)

    def transpose(self, *axes):
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        elif len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) != self.ndim or sorted(_axis(tuple(axes), self.ndim)) != list(range(self.ndim)):
            raise ValueError(f"transpose axes {axes} are not a permutation of a {self.ndim}-D tensor's axes")
        return apply(P.Transpose, self, axes=_axis(tuple(axes), self.ndim))

    T = property(lambda self: self.transpose())

    def swapaxes(self, a, b):
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return self.transpose(axes)

    def __getitem__(self, index):
        index = _index(index)
        try:
            np.empty(self.shape, dtype=bool)[index]  # validate with numpy's own message, cheaply
        except IndexError as e:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {self.shape}: {e}") from None
        return apply(P.GetItem, self, index=index)

    def split(self, split_size_or_sections, axis=0):
        """Pieces of `split_size_or_sections` each (the last may be smaller), or of the listed sizes."""
        axis = _axis(axis, self.ndim)
        n = self.shape[axis]
        if isinstance(split_size_or_sections, int):
            if split_size_or_sections <= 0:
                raise ValueError(f"split size must be positive, got {split_size_or_sections}")
            sizes = [split_size_or_sections] * (n // split_size_or_sections)
            if n % split_size_or_sections:
                sizes.append(n % split_size_or_sections)
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if sum(sizes) != n:
                raise ValueError(f"split sizes {sizes} must add up to the axis length {n}")
        return list(apply(P.Split, self, sizes=tuple(sizes), axis=axis))

    def chunk(self, chunks, axis=0):
        """`chunks` pieces of equal size (the last smaller if the axis does not divide)."""
        if not isinstance(chunks, (int, np.integer)) or chunks < 1:
            raise ValueError(f"chunks must be a positive int, got {chunks!r}")
        axis = _axis(axis, self.ndim)
        n = self.shape[axis]
        return self.split(max(-(-n // chunks), 1), axis)

    def unbind(self, axis=0):
        """The slices along `axis` (e.g. a sequence's time steps), each without that axis."""
        if self.ndim == 0:
            raise ValueError("unbind needs at least a 1-D tensor")
        return list(apply(P.Unstack, self, axis=_axis(axis, self.ndim)))

    # -- softmax family
    def softmax(self, axis=-1): return apply(P.Softmax, self, axis=_axis(axis, self.ndim) if self.ndim else None)
    def log_softmax(self, axis=-1): return apply(P.LogSoftmax, self, axis=_axis(axis, self.ndim) if self.ndim else None)


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _axis(axis, ndim):
    """Normalise an axis (or tuple of axes) to non-negative ints, refusing out-of-range ones."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(f"axis {a!r} is out of range for a {ndim}-D tensor")
    return tuple(int(a) % ndim for a in axes) if isinstance(axis, (tuple, list)) else int(axis) % ndim


def _index(index):
    """Tensors and lists inside an index become integer arrays (a float Tensor of ids is allowed)."""
    def convert(i):
        if isinstance(i, Tensor):
            return i.data.astype(np.intp)
        if isinstance(i, list):
            return np.asarray(i)
        return i
    return tuple(convert(i) for i in index) if isinstance(index, tuple) else convert(index)


# ----------------------------------------------------------------------------- functions
def tensor(data, requires_grad=False, dtype=None):
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, dtype=DEFAULT_DTYPE, requires_grad=False):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=DEFAULT_DTYPE, requires_grad=False):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t, requires_grad=False):
    return Tensor(np.zeros_like(_raw(t)), requires_grad=requires_grad)


def exp(x): return x.exp()
def log(x): return x.log()
def tanh(x): return x.tanh()
def sigmoid(x): return x.sigmoid()
def relu(x): return x.relu()
def softmax(x, axis=-1): return x.softmax(axis)
def log_softmax(x, axis=-1): return x.log_softmax(axis)
def clip(x, min=None, max=None): return x.clip(min, max)
def split(x, split_size_or_sections, axis=0): return x.split(split_size_or_sections, axis)
def chunk(x, chunks, axis=0): return x.chunk(chunks, axis)


def _same_dtype_tensors(tensors, fn):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{fn} needs at least one tensor")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [first._operand(t) if first is not None else Tensor(t) for t in tensors]


def concatenate(tensors, axis=0):
    tensors = _same_dtype_tensors(tensors, "concatenate")
    ref = tensors[0].shape
    if not ref:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated (use stack, or reshape to 1-D)")
    axis = _axis(axis, len(ref))
    for i, t in enumerate(tensors):
        if t.ndim != len(ref) or any(a != b for k, (a, b) in enumerate(zip(t.shape, ref)) if k != axis):
            raise ValueError(f"concatenate: tensor {i} has shape {t.shape}, which does not match tensor 0's "
                             f"shape {ref} outside axis {axis}")
    return apply(P.Concatenate, *tensors, axis=axis)


cat = concatenate


def stack(tensors, axis=0):
    tensors = _same_dtype_tensors(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has {tensors[0].shape}; all must match")
    return apply(P.Stack, *tensors, axis=axis)


def where(cond, a, b):
    """Elementwise `a if cond else b`; cond is a boolean array (or a Tensor, read as cond != 0)."""
    cond = np.asarray(cond.data != 0 if isinstance(cond, Tensor) else cond, dtype=bool)
    ref = a if isinstance(a, Tensor) else b
    if not isinstance(ref, Tensor):
        ref = Tensor(a)
    a, b = ref._operand(a), ref._operand(b)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: cond {cond.shape}, a {a.shape} and b {b.shape} do not broadcast") from None
    return apply(P.Where, a, b, cond=cond)
