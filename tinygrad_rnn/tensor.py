"""Tensor: a float32 or float64 numpy array that records the operations applied to it.

A Tensor holds its numpy array in `._data`, what the engine reads and writes (`x.data` is torch's: a Tensor sharing
that memory, off the tape). Each operation (an operator or a method: x @ w, x.tanh(), x[0]) checks its
arguments, in torch's words, and calls `apply` (tape.py) for each primitive (primitives.py) it is made of:
apply runs the forward and, when an input requires grad, records a node on the tape, which `backward()` walks
in reverse (tape.py, backward_from). Operations that are not one primitive (mean, var, softmax, norm...) are
compositions of primitives and have no backward of their own. Around this file: tape.py (recording and the
walk), inplace.py (the in-place writes, x += y, zero_, fill_..., which the Tensor class inherits), views.py
(which tensors share memory), tensor_args.py (the argument checks that need no Tensor) and creation.py
(tr.tensor, tr.zeros, tr.randn...).

dtype rules (no silent upcasting): a Tensor holds float32 or float64. ndarrays keep their float dtype; for
Tensor(), Python lists and scalars, ints and bools become the default dtype (float32 unless set_default_dtype
changed it) unless dtype= says otherwise; other dtypes are refused. Python scalars and ndarrays combined with
a Tensor take that Tensor's dtype. Two Tensors of different dtypes are refused: cast one with `.astype()`. Two
kinds of Tensor hold other dtypes and never require grad: boolean masks (what comparisons give, as in torch)
and int64 indices (argmax, max(dim), and as torch tr.tensor of ints, arange of ints, full of an int); with
ints they add, subtract, multiply, floor-divide and take remainders as int64, and other arithmetic reads them
as numbers in the other operand's float dtype (the default dtype beside Python numbers), as torch promotes.

Where numpy and torch spell the same call differently, the Tensor follows torch (docs/torch_api.md has the
table): == is elementwise, transpose(d0, d1) swaps two dims, max(dim) gives values and indices, x[1, :, idx]
orders dims as torch. numpy's spellings that collide with nothing keep working (axis=, keepdims=, .T,
x.size as a count); a call that would mean different things in the two is an error (sum(dim=1, axis=0),
var(axis=1) without saying the correction).
"""
from __future__ import annotations

import copy
import numbers
import operator
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from . import primitives as P
from .inplace import InPlaceWrites, _converted
from .random import resolve as _resolve_generator
from .size import Size, _size
from .tape import (
    Node,
    RemovableHandle,
    _accumulate_leaf_grad,
    _backward_end_hooks,
    _grad_mode,
    _quietly,
    _trace_mode,
    apply,
    backward_from,
    no_grad,
    run_hooks,
    run_post_accumulate_hooks,
    set_tensor_class,
)
from .tensor_args import (
    ArgumentValueError,
    DTypeNotImplementedError,
    _args_or_keyword,
    _axis,
    _check_bool,
    _check_flag,
    _check_product_dtypes,
    _check_requires_grad,
    _dim_args,
    _given_once,
    _int_dim,
    _int_tuple,
    _ints_first,
    _is_int,
    _legacy_unbiased,
    _moved_dims,
    _one_dim,
    _one_int_dim,
    _reduce_axis,
    _reduced_count,
    _refuse_create_graph,
    _shape_args,
    _sizes_multiply_to,
    _softmax_default,
    check_device,
    device,
)
from .tensor_methods_more import MoreTensorMethods
from .views import _is_view, _maker_node, _memory_leaf, _note_computed_view, _note_view_bases

__all__ = ["Tensor", "get_default_dtype", "set_default_dtype", "where",
           "concatenate", "cat", "stack", "split", "chunk", "exp", "log", "tanh", "sigmoid", "relu", "abs", "sqrt",
           "maximum", "minimum", "softmax", "log_softmax", "clip", "clamp", "ValuesIndices", "gather",
           "cumsum", "sort", "argsort", "topk", "multinomial", "scatter", "scatter_add", "isnan", "isinf",
           "isfinite", "allclose",
           "mm", "bmm", "matmul", "index_select", "roll", "repeat_interleave", "div", "divide", "fmod", "erf",
           "erfc", "erfinv", "lgamma", "digamma", "polygamma", "i0", "select", "narrow", "diagonal", "movedim",
           "moveaxis",
           "sin", "cos", "round", "floor", "ceil", "trunc", "fix", "sign", "sgn", "frac", "reciprocal", "log1p",
           "expm1", "log2", "log10", "exp2", "logit", "clamp_min", "clamp_max", "hypot", "xlogy", "lerp", "addcmul",
           "addcdiv", "nan_to_num", "isclose", "equal", "signbit", "is_floating_point", "numel", "ravel", "tile",
           "take_along_dim", "as_strided"]


# ----------------------------------------------------------------------------- dtype handling
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_CPU = device("cpu")   # every tensor's .device
_default_dtype = np.dtype(np.float32)   # one process-wide setting, as torch's (set_default_dtype)


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats, of ints and masks read as numbers, of tr.zeros/randn/...
    and of the nn layers' parameters: float32 unless set_default_dtype changed it, as torch's."""
    return _default_dtype


def set_default_dtype(d: npt.DTypeLike) -> None:
    """Make `d` (tr.float32 or tr.float64) the default float dtype, as torch.set_default_dtype: for tr.tensor
    and tr.Tensor of Python numbers, the factories (zeros, ones, full, rand, randn, arange of floats) and the
    parameters of layers made from now on. Arrays keep their dtype; other dtypes are refused, as torch's."""
    global _default_dtype
    try:
        dtype = None if d is None else np.dtype(d)   # (np.dtype(None) would be float64)
    except TypeError:
        dtype = None
    if dtype is None or dtype not in FLOAT_DTYPES:   # (a dtype == None compares as float64 == float64)
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type "
                        f"(float32 or float64), got {d!r}")
    _default_dtype = dtype


def as_float_array(data: npt.ArrayLike | Tensor, dtype: npt.DTypeLike | None = None, name: str = "data") -> np.ndarray:
    """Convert user data to a float32/float64 ndarray by the module docstring's rules."""
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name}: dtype must be float32 or float64, got {dtype}")
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.generic):  # a numpy scalar keeps its dtype, like an array
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        return _float_ndarray(data, dtype, name)
    if isinstance(data, (tuple, list)) and any(isinstance(d, Tensor) for d in data):
        # e.g. the (values, indices) of max(dim) where a Tensor was meant: never broadcast it silently
        raise TypeError(f"{name}: expected a Tensor, an array or numbers, got a {type(data).__name__} holding "
                        "Tensors (use tr.stack to make one Tensor of several; max(dim)/min(dim) return "
                        "(values, indices): take .values)")
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as e:  # ragged lists and the like
        raise TypeError(f"{name}: cannot make a tensor from {type(data).__name__}: {e}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numbers, got {type(data).__name__} of dtype {arr.dtype}")
    return arr.astype(dtype or _default_dtype)


def _float_ndarray(data, dtype, name):
    """An ndarray keeps its float dtype (cast only if dtype= says so); ints and bools become float."""
    kind = data.dtype.kind
    if kind == "f" and data.dtype in FLOAT_DTYPES:
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    if kind in "biu":
        return data.astype(dtype or _default_dtype)
    raise TypeError(
        f"{name}: expected a float32 or float64 array (ints and bools are converted to float32), "
        f"got dtype {data.dtype}; convert it with .astype(np.float32) or .astype(np.float64)"
    )


def _is_dtype(dtype):
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


def _float_dtype(dtype, fn):
    if dtype is None:  # torch's "the default dtype"; numpy would read None as float64
        return np.dtype(_default_dtype)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{fn}: dtype must be float32 or float64, got {dtype}")
    return dtype


# ----------------------------------------------------------------------------- Tensor
# a Tensor's attributes that pickle and copy.copy leave out (torch's carry no gradient; weak references cannot be)
_NOT_COPIED = frozenset({"_grad", "_grad_view", "_owner"})


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit together (operands that do not broadcast, matmul, reshape, cat, stack, expand,
    split) or an index out of its dim (gather, scatter): torch raises a RuntimeError, numpy a ValueError, and
    `except` of either catches this."""


class ValuesIndices(NamedTuple):
    """What max(dim)/min(dim)/sort/topk return, as torch.return_types.max: the values and their int64 indices."""
    values: "Tensor"
    indices: "Tensor"


class _Size(int):
    """`x.size` is numpy's element count (an int) and `x.size()` / `x.size(dim)` torch's shape: both spellings
    work, and neither silently means the other (a method alone would make `x.size == 0` quietly False)."""

    def __call__(self, dim: int | None = None) -> Size | int:
        if dim is None:
            return _size(self.shape)
        return self.shape[_axis(dim, len(self.shape))]


def _pass_through(grad: Tensor) -> None:
    """A leaf hook that keeps the gradient (register_post_accumulate_grad_hook's marker)."""


def _zeroed_grad(grad: np.ndarray) -> np.ndarray:
    """zero_grad(set_to_none=False)'s work on one gradient array (a module's, an optimizer's), as torch's: zeroed in
    place and returned, so p.grad keeps its object and a Tensor sharing the memory sees the zeros."""
    grad.fill(0)
    return grad


class Tensor(InPlaceWrites, MoreTensorMethods):
    """A float32/float64 array that records the operations applied to it (see module docstring).

    Comparisons (== != < <= > >=) give boolean mask Tensors and argmax/argmin int64 index Tensors, as in
    torch. Neither requires grad; arithmetic reads them as numbers in the other operand's float dtype. The in-place
    writes (x += y, zero_, fill_, clamp_, scatter_...) and the version counter are InPlaceWrites' (inplace.py)."""

    __array_priority__ = 1000  # make `ndarray * Tensor` call Tensor.__rmul__
    _base = None  # the Tensor whose memory an unrecorded view shares (_note_view_bases); a class default
    _views_computed = False  # shares the memory of a computed tensor (_note_view_bases)
    _computed_base = None  # then a weak reference to the Node that made that memory (_note_computed_write)
    _detached = False  # made by detach(): a view of its input's memory that torch's detach_() accepts
    _writes_through = False  # made by x.data: a recorded in-place write writes x's memory too (_in_place)
    _counter_leaf = None  # p.detach() written on the tape (p's memory, through): the leaf whose version it shares
    _data_taken = False  # x.data was read: x's memory may change with no version moved (PackedSequence's padded)
    _viewed = False  # a leaf whose memory other tensors or arrays share (_note_view_bases, numpy(), from_numpy)
    _no_grad_view = False  # a view taken under no_grad() of a tensor that requires grad (_note_view_bases)
    _hooks = None  # a leaf's {id: hook} (register_hook; a non-leaf's live on its node); a class default
    _post_accumulate_hooks = None  # a leaf's {id: hook} (register_post_accumulate_grad_hook); a class default
    _grad_view = None  # a weak reference to the Tensor .grad last returned (_get_grad); a class default
    _owner = None  # a weak reference to the tensor whose gradient this one is (.grad's wrapper, `p.grad = t`)
    __hash__ = object.__hash__  # == is elementwise, so a Tensor is a dict key by identity (as in torch)

    def __init__(self, data: npt.ArrayLike | Tensor, *args: Any, requires_grad: bool = False,
                 dtype: npt.DTypeLike | None = None) -> None:
        if args:  # torch.Tensor(3, 4) makes a 3x4 tensor; here the only positional argument is the data
            raise TypeError(f"Tensor(data, *, requires_grad=False, dtype=None) takes the data as its only positional "
                            f"argument, got {1 + len(args)} ({', '.join(repr(a) for a in (data,) + args)}); "
                            "requires_grad and dtype are keyword-only. For a tensor of a given shape use "
                            "tr.zeros(3, 4) or tr.randn(3, 4)")
        self._data = as_float_array(data, dtype)
        self._requires_grad = _check_requires_grad("Tensor", requires_grad)
        self._grad = None
        self._node, self._slot = None, 0  # the node that made this tensor (None for a leaf)
        self._writes = 0  # bumped by in-place writes of its memory (bump_version), what graphs check (_version)
        self._viewed = False
        if isinstance(data, Tensor) and self._data is data._data:   # torch.Tensor(t) is a view of t (an alias)
            _note_view_bases((self,), (data,))

    @classmethod
    def _make(cls, data, requires_grad):
        """Wrap an array produced by a primitive (already the right dtype) without checks."""
        t = cls.__new__(cls)
        t._data, t._requires_grad, t._grad, t._node, t._slot, t._writes = data, requires_grad, None, None, 0, 0
        # _viewed is set here, as in __init__, rather than first when a view of the tensor is taken: added later to a
        # long-lived leaf, the new attribute made each view of it slower to make (unbind of 50 steps 40 -> 47 us)
        t._viewed = False
        return t

    def _get_grad(self) -> Tensor | None:
        """`x.grad`: the accumulated gradient as a Tensor (requires_grad=False), as torch's, or None. It shares the
        memory of the array the engine accumulates into (`_grad`, which the tape, the optimizers and clipping read
        and write directly), so `p.grad.zero_()` or `p.grad.mul_(0.5)` change what the next step uses. One wrapper
        per array: `p.grad is p.grad`, also after a backward that adds into the same array, as torch's. The
        wrapper is held weakly, so a gradient the engine drops or replaces is freed even if .grad was read."""
        g = self._grad
        if g is None:
            return None
        view = self._grad_view() if self._grad_view is not None else None
        if view is None or view._data is not g:   # the engine put a new array there (first backward, zero_grad...)
            view = Tensor._make(g, False)
            view._owner = weakref.ref(self)
            self._grad_view = weakref.ref(view)
        return view

    def _set_grad(self, value: Tensor | None) -> None:
        """`x.grad = g` is checked here, as torch checks it at the assignment: a Tensor (or None) of x's shape and
        dtype, in torch's words and error types; `x.grad is g` afterwards, sharing g's memory. A numpy array is
        refused as torch refuses it, with the spelling that wraps one."""
        if value is None:
            self._grad = self._grad_view = None
            return
        if not isinstance(value, Tensor):
            hint = (" (wrap an array with tr.from_numpy(a), which shares its memory)"
                    if isinstance(value, (np.ndarray, np.generic)) else "")
            raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                            f"{type(value).__module__}.{type(value).__qualname__}{hint}")
        self._check_grad_array(value._data)
        self._grad, self._grad_view = value._data, weakref.ref(value)
        value._owner = weakref.ref(self)   # so that `t.data = a` afterwards rebinds this gradient too, as torch's

    def _check_grad_array(self, array: np.ndarray) -> None:
        """A gradient array this tensor may hold: its shape and dtype, in torch's words and error type."""
        if array.shape != self._data.shape:
            raise RuntimeError(f"attempting to assign a gradient of size '{list(array.shape)}' to a tensor of "
                               f"size '{list(self._data.shape)}'. Please ensure that the gradient and the tensor are "
                               "the same size")
        if array.dtype != self._data.dtype:
            raise RuntimeError(f"attempting to assign a gradient with dtype '{array.dtype}' to a tensor of dtype "
                               f"'{self._data.dtype}'. The gradient must match the tensor's dtype (as torch; nothing "
                               "is cast silently: convert it with .to(dtype))")

    # the engine reads and writes the array, _grad, itself (arrays it made of the right shape and dtype)
    grad = property(_get_grad, _set_grad, doc="The accumulated gradient (a Tensor sharing its memory) or None.")

    def _get_data(self) -> Tensor:
        """`x.data`, as torch's: a Tensor sharing x's memory that requires no grad and is off the tape (made as
        detach() makes one), so torch's methods answer as torch's (`p.data.std()` unbiased, `p.data.max(0)` values
        and indices) and in-place writes (`p.data.mul_(0.5)`, `p.data -= lr * p.grad`) change x. The numpy array
        itself is `x.numpy()` (or `._data`, what the library reads).

        Unlike detach()'s, its version counter is its own, as torch's: a write through x.data leaves x's version as
        it was, so a graph that saved x computes its gradient with the new values, silently, as torch's does (the
        point of .data in torch's old optimizers; tr.detect_anomaly() still catches it). Its views share its
        counter. A recorded in-place write of it (`p.data.copy_(w)`, w requiring grad) writes x's memory and puts
        the .data tensor alone on the tape, as torch's (_writes_through)."""
        out = self.detach()
        out._base, out._views_computed, out._computed_base = None, False, None   # its memory's leaf: itself
        out._writes_through = True
        self._data_taken = True   # its writes move no version of this tensor: a copy kept of it must be remade
        return out

    def _set_data(self, value: Tensor) -> None:
        """`x.data = t`: x takes t's memory (shape and dtype too), off the tape, as torch's. A Tensor only, in torch's
        words; if x is some tensor's gradient (`p.grad` or `p.grad = x`), that gradient is rebound as well."""
        if not isinstance(value, Tensor):
            hint = (" (wrap an array with tr.from_numpy(a), which shares its memory)"
                    if isinstance(value, (np.ndarray, np.generic)) else "")
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__qualname__}{hint}")
        if self._requires_grad and value._data.dtype.kind != "f":
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex dtype")
        owner = self._owner() if self._owner is not None else None
        if owner is not None and owner._grad is self._data:   # still that tensor's gradient
            owner._check_grad_array(value._data)
            owner._grad = value._data
        self._data = value._data

    data = property(_get_data, _set_data, doc="A Tensor sharing this tensor's memory, off the tape (torch's .data).")

    def __getstate__(self) -> dict:
        """Pickling and copy.copy: the attributes but the gradient (torch's pickles and copy.copy carry no .grad)
        and the weak references (to .grad's wrapper; a gradient's to its tensor: a copy of p.grad is a Tensor on
        its own)."""
        state = {k: v for k, v in self.__dict__.items() if k not in _NOT_COPIED}
        state["_grad"] = None
        return state

    def __deepcopy__(self, memo: dict) -> Tensor:
        """copy.deepcopy: the attributes copied, .grad too (as torch's Tensor.__deepcopy__; a Parameter's copy
        leaves it behind, as torch's), the weak references left out."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new._grad = None
        for k, v in self.__dict__.items():
            if k not in _NOT_COPIED or (k == "_grad" and self._deep_copies_grad):
                new.__dict__[k] = copy.deepcopy(v, memo)
        return new

    _deep_copies_grad = True   # (Parameter: False)

    def __setstate__(self, state: dict) -> None:
        """Unpickling: a Tensor pickled before .grad was a checked property kept it under "grad", one pickled
        before _version was the shared counter (a property) kept its count under "_version", and one pickled before
        .data was torch's Tensor kept its array under "data"."""
        renamed = {"grad": "_grad", "_version": "_writes", "data": "_data"}
        if any(old in state for old in renamed):
            state = {renamed.get(k, k): v for k, v in state.items()}
        self.__dict__.update(state)

    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this tensor (recorded operations on it are kept)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:   # x.requires_grad = "False" is refused, as in torch
        self.requires_grad_(value)

    # -- the basics users expect (attrgetters: read in C, no Python frame per access)
    @property
    def shape(self) -> Size:
        """torch's shape: a tr.Size (a tuple). The engine reads numpy's, self._data.shape, on its hot paths."""
        return _size(self._data.shape)

    dtype = property(operator.attrgetter("_data.dtype"))
    ndim = property(operator.attrgetter("_data.ndim"))

    @property
    def is_leaf(self) -> bool:
        """Whether no recorded operation made this tensor (a user's input or a parameter)."""
        return self._node is None

    @property
    def node(self) -> Node | None:
        """The Node that produced this tensor (None for a leaf)."""
        return self._node

    @property
    def size(self) -> int:
        size = _Size(self._data.size)
        size.shape = self._data.shape
        return size

    def numel(self) -> int:
        return self._data.size

    def dim(self) -> int:
        return self._data.ndim

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        """The rows along dim 0, as torch (without this, Python would index a 0-d tensor until it fails and
        read it as empty: torch refuses)."""
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def __contains__(self, element: Any) -> bool:
        """`v in x`: whether any element equals v (a number or a Tensor), as torch; not the rows' truth
        values that iterating would compare."""
        if not isinstance(element, (Tensor, numbers.Number)):
            raise TypeError(f"`in` on a Tensor takes a number or a Tensor, got {type(element).__name__}")
        return bool((self == element).any())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self._data.size} elements is ambiguous: "
                               "use .any() or .all()")
        return bool(self._data)

    def numpy(self) -> np.ndarray:
        """The tensor's own array, sharing its memory as torch's numpy() does (in-place writes of either show in
        the other)."""
        self._mark_shared()
        return self._data

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        """np.asarray(x), np.where(x > 0, ...): the values, as for a torch tensor (else numpy would build an
        object array of 0-d Tensors, element by element)."""
        out = self._data if dtype is None else self._data.astype(dtype, copy=False)
        if out is not self._data:
            return out
        if copy:
            return out.copy()
        self._mark_shared()
        return out

    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple | None = None, copy: bool | None = None) -> Any:
        """The DLPack protocol, the array API's exchange of memory, through the numpy array's own: what
        `torch.tensor(x)` (a copy), `torch.from_dlpack(x)` and `np.from_dlpack(x)` (sharing the memory, as x.numpy()
        does) read. A tensor that requires grad is refused, as torch's __dlpack__ refuses it (BufferError):
        export x.detach()."""
        if self._requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        if not copy:
            self._mark_shared()
        return self._data.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)

    def __dlpack_device__(self) -> tuple:
        """(device type, index) for DLPack: the CPU's, numpy's."""
        return self._data.__dlpack_device__()

    def _mark_shared(self):
        """This tensor's memory is handed out (numpy(), np.asarray): a recorded in-place write, which would give
        it a new array, is refused from now on (_check_recordable_in_place)."""
        leaf = _memory_leaf(self)
        if leaf is not None:
            leaf._viewed = True
        elif self._node is not None or self._views_computed:   # a computed tensor's memory: noted on its maker
            _note_computed_view(_maker_node(self), [self._data])

    def item(self) -> float:
        return self._one_element("item")

    def __float__(self) -> float:  # float(loss), int(x.argmax()): one element only, as torch
        return float(self._one_element("float"))

    def __int__(self) -> int:
        return int(self._one_element("int"))

    def __index__(self) -> int:
        """range(n), a_list[i], a slice's bound: a one-element int64 or bool tensor, as torch's (a float one is
        torch's TypeError)."""
        if self._data.dtype.kind not in "biu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index (this one has "
                            f"dtype {self.dtype} and shape {tuple(self.shape)})")
        return int(self._data.reshape(()))

    def __format__(self, format_spec: str) -> str:
        """f"{loss:.4f}" of a 0-d tensor (clip_grad_norm_'s total, a loss) formats its number, as torch's
        Tensor.__format__; any other tensor takes only the empty spec, as torch's."""
        if self._data.ndim == 0:
            return self._data.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def _one_element(self, fn):
        if self._data.size != 1:
            raise ValueError(f"{fn}(): only a one-element tensor converts to a Python number, this one has "
                             f"shape {tuple(self.shape)}")
        return self._data.item()

    def tolist(self) -> list | float:
        return self._data.tolist()

    def detach(self) -> Tensor:
        """The same values, cut off the tape (how truncated BPTT carries state across batches). An operation
        off the tape (_off_tape), not a new leaf, so that a compiled cell sees it: a stop-gradient there."""
        out = _off_tape(P.Detach, self)
        out._detached = True  # shares self's memory, but is not a view to detach_(), as torch's detach()
        out._no_grad_view = False  # (made off the tape, but torch lets it be written with grad mode on)
        return out

    def clone(self) -> Tensor:
        return apply(P.Copy, self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        requires_grad = _check_requires_grad("requires_grad_", requires_grad)
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"only float tensors can require grad, this one has dtype {self.dtype}")
        if not requires_grad and self._node is not None:  # would silently cut the gradient to what made it
            raise RuntimeError("requires_grad_: only a leaf's flag can be turned off (as in torch); "
                               "to use a computed tensor without its gradient write x.detach()")
        self._requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep this intermediate's gradient in `.grad` after backward (e.g. dL/dh_t per step), summed over
        backward calls as a leaf's is. Returns None and refuses a tensor that does not require grad, as torch
        does (a leaf keeps its .grad anyway)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a Tensor that has requires_grad=False (as torch)")
        if self._node is not None:
            if self._node.retained is None:
                self._node.retained = {}
            self._node.retained[self._slot] = self

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call hook(grad) whenever backward computes this tensor's gradient (a leaf's: its whole gradient of
        the backward call, before it is added to .grad); a Tensor it returns replaces the gradient. Returns a
        handle whose remove() takes the hook off, as torch's."""
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable (grad -> Tensor or None), got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad "
                               "(as torch)")
        if self._node is None:
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
        else:
            if self._node.hooks is None:
                self._node.hooks = {}
            hooks = self._node.hooks.setdefault(self._slot, {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call hook(self) after backward has accumulated this leaf's gradient into .grad (once per backward
        call), as torch's: an optimizer can step a parameter inside backward. Returns a removable handle."""
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = {}
        if self._hooks is None:
            self._hooks = {}
        # the walk sends a leaf with hooks down the road that runs them at the end (an unhooked leaf, as in a
        # training step, pays nothing): a pass-through hook under the same id puts this leaf on it
        handle = RemovableHandle(self._post_accumulate_hooks, extra_dict=self._hooks)
        self._post_accumulate_hooks[handle.id] = hook
        self._hooks[handle.id] = _pass_through
        return handle

    @property
    def grad_fn(self) -> Node | None:
        """The recorded operation that made this tensor (its Node), None for a leaf or a result made without
        a gradient, as torch's grad_fn (there a Function object; here `.name` names the primitive)."""
        return self._node

    def detach_(self) -> Tensor:
        """Cut this tensor off the tape in place, as torch: a leaf that does not require grad from now on
        (its retained gradient and hooks go with the graph it leaves). A view (x[0], x.T, a reshape that
        shares memory) is refused, as torch refuses it: use detach()."""
        if _is_view(self):
            raise RuntimeError("Can't detach views in-place. Use detach() instead (as torch: this tensor shares "
                               "its memory with the one it was taken from, x[0], x.T, x.reshape(...) or alike)")
        if self._node is not None:
            for kept in (self._node.retained, self._node.hooks):
                if kept:
                    kept.pop(self._slot, None)
        self._node, self._slot, self._requires_grad = None, 0, False
        self._hooks = None
        return self

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._node.name()}" if self._node is not None else ""
        body = np.array2string(self._data, precision=4, threshold=20, separator=", ", prefix="Tensor(")
        return f"Tensor({body}, dtype={self.dtype}{grad}{op})"

    def backward(self, grad: npt.ArrayLike | None = None, retain_graph: bool = False, create_graph: bool = False,
                 inputs: Any = None, *, gradient: npt.ArrayLike | None = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's .grad that requires grad (gradient= is torch's name
        of grad); with inputs= (a Tensor or a sequence), only into those tensors' .grad, leaves or not
        (tr.autograd.backward). torch's create_graph=True (a differentiable backward) is refused by name:
        the backward here is not recorded."""
        if create_graph is not False:
            _refuse_create_graph("backward", create_graph)
        if inputs is not None:   # the walk with the other leaves' .grad set aside: autograd.py
            from .autograd import backward
            if gradient is not None and grad is not None:
                raise TypeError("backward: got grad and gradient, two names of one argument; pass one")
            return backward(self, grad if gradient is None else gradient, retain_graph, inputs=inputs)
        if gradient is not None:
            if grad is not None:
                raise TypeError("backward: got grad and gradient, two names of one argument; pass one")
            grad = gradient
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input of its "
                               "computation requires grad (or it was computed under no_grad())")
        if retain_graph is not False and retain_graph is not True:   # "no" is truthy; torch's None means False
            retain_graph = False if retain_graph is None else _check_flag("backward", "retain_graph", retain_graph)
        grad = self._seed_gradient(grad)
        if self._node is None:  # a leaf: d(self)/d(self) = grad
            self._accumulate_own_grad(grad)
        else:
            backward_from(self._node, self._slot, grad, retain_graph)
        for hook in _backward_end_hooks:
            hook()

    def _accumulate_own_grad(self, grad):
        """A leaf's backward(): its own gradient through its hooks into .grad (into the array .grad wraps, as
        torch: p.grad keeps its object), then its post-accumulate-grad hooks."""
        grad = grad if not self._hooks else run_hooks(self._hooks, grad)
        _quietly(_accumulate_leaf_grad, self, grad)   # (inf + -inf quietly, as torch's: tape.py)
        if self._post_accumulate_hooks:
            run_post_accumulate_hooks(self)

    def _seed_gradient(self, grad):
        """backward's starting gradient: ones for a scalar, else `grad` checked against the tensor."""
        if grad is None:
            if self._data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a scalar (one-element) tensor; this one "
                                   f"has shape {tuple(self.shape)}. Pass grad= an array of that shape, or reduce first "
                                   "(e.g. loss.sum() or loss.mean())")
            # ones of the tensor's shape, (1,) * ndim: one C call (np.ones is a Python-level wrapper)
            return np.array(1, dtype=self._data.dtype, ndmin=self._data.ndim)
        grad = as_float_array(grad, self.dtype, name="grad")
        if grad.shape != self.shape:
            raise ValueError(f"grad must have the tensor's shape: expected {tuple(self.shape)}, got "
                             f"{tuple(grad.shape)}")
        return grad

    # -- dtype conversion
    def astype(self, dtype: npt.DTypeLike) -> Tensor:
        if dtype is None:  # numpy's astype(None) means float64, torch's to(None) no change: say which
            raise TypeError("astype: dtype must be float32 or float64, got None (to keep the dtype, leave it)")
        if _is_dtype(dtype) and np.dtype(dtype) in (np.dtype(np.int64), np.dtype(np.bool_)):
            return self._to_index_or_mask(np.dtype(dtype))   # .long(), .bool(), .to(tr.int64)
        dtype = _float_dtype(dtype, "astype")
        if self._data.dtype.kind != "f":  # a mask or indices: their values as numbers, without a gradient
            return _as_numbers(self, dtype)
        return self if dtype == self.dtype else apply(P.Cast, self, dtype=dtype)

    def float(self) -> Tensor: return self.astype(np.float32)
    def long(self) -> Tensor: return self.astype(np.int64)
    def bool(self) -> Tensor: return self.astype(np.bool_)

    def int(self) -> Tensor:
        raise TypeError("int(): there are no int32 tensors here; x.long() gives int64 indices (torch's default "
                        "integer dtype)")
    def double(self) -> Tensor: return self.astype(np.float64)
    def type_as(self, tensor: Tensor) -> Tensor: return self.astype(tensor.dtype)

    def _to_index_or_mask(self, dtype):
        """int64 indices (truncated toward zero, as torch's .long()) or a mask (nonzero), without a gradient."""
        if self._data.dtype == dtype:
            return self
        if dtype.kind == "b":
            return self != 0
        if self._data.dtype.kind == "f" and not np.all(np.isfinite(self._data)):
            raise ValueError("long(): the tensor holds nan or infinity, which have no integer value")
        return Tensor._make(np.trunc(self._data).astype(np.int64) if self._data.dtype.kind == "f"
                            else self._data.astype(np.int64), False)
    def cpu(self) -> Tensor: return self  # tensors live on the CPU: x.detach().cpu().numpy() works as in torch

    @property
    def device(self) -> device:
        """device("cpu"), as torch's on the CPU (the only device here)."""
        return _CPU

    is_cpu, is_cuda = True, False
    def contiguous(self) -> Tensor:
        """self if its memory is in C order, else a C-ordered copy, as torch's (x.T.contiguous() += 1 leaves
        x alone: in-place operations write the tensor's memory)."""
        return self if self._data.flags.c_contiguous else apply(P.Copy, self)

    def to(self, *args: Any, dtype: npt.DTypeLike | None = None, device: Any = None, non_blocking: bool = False,
           copy: bool = False) -> Tensor:
        """As torch's on the CPU: to(dtype), to(device), to(device, dtype), to(other_tensor) (its dtype), each
        optionally followed by non_blocking and copy (positional or keyword), and dtype=, device=. A device is
        "cpu", "cpu:N" or torch.device("cpu"), as Module.to takes it; any other is a ValueError. x itself comes
        back when nothing changes, a copy with copy=True, as torch's."""
        dtype, flags = _to_arguments(args, dtype, device)   # (checks the device)
        if len(flags) > 0:
            non_blocking = flags[0]
        if len(flags) > 1:
            copy = flags[1]
        _check_flag("to", "non_blocking", non_blocking)   # (nothing runs asynchronously here)
        copy = _check_flag("to", "copy", copy)
        out = self if dtype is None else self.astype(dtype)
        return apply(P.Copy, out) if out is self and copy else out

    # -- the operators
    def _operand(self, other):
        if isinstance(other, Tensor):
            if other._data.dtype != self._data.dtype:
                if other._data.dtype.kind != "f":  # a mask or indices: numbers in this tensor's dtype (torch promotes)
                    return _as_numbers(other, self._data.dtype)
                if other.ndim == 0 and self.ndim > 0:  # torch: a 0-d float tensor takes a dimensioned one's dtype
                    return other.astype(self._data.dtype)  # (differentiable: its gradient comes back in its dtype)
                why = ("nothing is upcast silently; torch would give float64 here" if self._data.dtype.kind == "f"
                       else "torch refuses this mix too")
                raise TypeError(f"cannot combine tensors of dtype {self.dtype} and {other.dtype} ({why}): convert "
                                "one with .astype()")
            return other
        if type(other) is float or type(other) is int:  # the common case, kept cheap
            return Tensor._make(np.array(other, dtype=self._data.dtype), False)
        return Tensor._make(as_float_array(other, self.dtype, name="operand"), False)

    def _takes_dtype_of(self, other):
        """Whether this 0-d float tensor takes the dtype of `other`, a dimensioned float tensor of another
        float dtype (torch's promotion; the other way round is _operand's)."""
        return (self.ndim == 0 and isinstance(other, Tensor) and other.ndim > 0 and other._data.dtype.kind == "f"
                and self._data.dtype.kind == "f" and other._data.dtype != self._data.dtype)

    def _numeric(self):
        """self, or for a mask or index tensor its values as float32 numbers (without a gradient)."""
        return self if self._data.dtype.kind == "f" else _as_numbers(self, _default_dtype)

    def _floating(self, fn, allowed="f"):
        """self, if its dtype's kind is in `allowed` (floats; "fi" for floats and indices). torch refuses
        mean, var, norm, softmax... on a mask or indices rather than read them as numbers, so they are
        refused here too: x.float().mean() says which dtype the result should have."""
        if self._data.dtype.kind not in allowed:
            what = "a float tensor" if allowed == "f" else "a float or integer tensor"
            raise DTypeNotImplementedError(f"{fn}: input must be {what}, got dtype {self.dtype} (torch refuses it "
                                           "too): not implemented for it; convert it first, e.g. x.float()")
        return self

    def _as_number(self, other):
        """A mask or index tensor as floats, in `other`'s dtype if that is a float Tensor (else float32)."""
        dtype = other._data.dtype if isinstance(other, Tensor) and other._data.dtype.kind == "f" else _default_dtype
        return _as_numbers(self, dtype)

    def _binary(self, prim, other, symbol, reflected=False, **attrs):
        if self._data.dtype.kind != "f":
            return self._mask_or_index_binary(prim, other, symbol, reflected, **attrs)
        if prim is P.Sub and _is_bool(other):
            raise RuntimeError(_MASK_SUBTRACTION)
        if self._takes_dtype_of(other):
            return self.astype(other._data.dtype)._binary(prim, other, symbol, reflected, **attrs)
        other = self._operand(other)
        a, b = (other, self) if reflected else (self, other)
        try:
            return apply(prim, a, b, **attrs)
        except ValueError:
            if a.shape == b.shape:
                raise
            # numpy's own message does not say which operation; ours names both shapes
            raise ShapeError(f"operands of {symbol} do not broadcast: shapes {a._data.shape} and "
                             f"{b._data.shape}") from None

    def _mask_or_index_binary(self, prim, other, symbol, reflected, **attrs):
        """Arithmetic on a mask (bool) or indices (int) as torch does it: a mask minus anything is refused
        (1 - mask reads as an inversion torch does not perform); a mask plus / times a mask stays a mask
        (True + True is True, not 2); otherwise the values as numbers."""
        if self._data.dtype == bool:
            if prim is P.Sub:
                raise RuntimeError(_MASKS_SUBTRACTION if _is_bool(other) else _MASK_SUBTRACTION)
            if prim in (P.FloorDivide, P.Remainder, P.RoundedDivide, P.Fmod) and np.asarray(_raw(other)).dtype == bool:
                raise NotImplementedError(f"{symbol} of two bool tensors is not implemented, as in torch: "
                                          "convert one with .long()")
            if prim in _MASK_LOGIC and np.asarray(_raw(other)).dtype == bool:
                return self._logical(_MASK_LOGIC[prim], other, symbol)
        integral = _integral(other) if prim in _INT_ARITHMETIC else None
        if integral is not None:   # indices + 1, mask * 2, idx * idx: int64, as torch (not float32 numbers)
            if prim is P.Sub and integral._data.dtype == bool:
                raise RuntimeError(_MASK_SUBTRACTION)
            a, b = (integral, self) if reflected else (self, integral)
            return _off_tape(prim, _as_int64(a), _as_int64(b), **attrs)
        return self._as_number(other)._binary(prim, other, symbol, reflected, **attrs)

    def __add__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Add, o, "+")
    def __radd__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Add, o, "+", reflected=True)
    def __sub__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Sub, o, "-")
    def __rsub__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Sub, o, "-", reflected=True)
    def __mul__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Mul, o, "*")
    def __rmul__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Mul, o, "*", reflected=True)
    def __truediv__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Div, o, "/")
    def __rtruediv__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Div, o, "/", reflected=True)
    def __floordiv__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.FloorDivide, o, "//")
    def __rfloordiv__(self, o: Tensor | npt.ArrayLike) -> Tensor:
        return self._binary(P.FloorDivide, o, "//", reflected=True)
    def __mod__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Remainder, o, "%")
    def __rmod__(self, o: Tensor | npt.ArrayLike) -> Tensor:
        """number % x: torch's remainder(Scalar, Tensor) has no derivative (its result requires grad, a backward
        through it is refused), where tensor % x has one (d/dx = -(a // x))."""
        if isinstance(o, (numbers.Number, np.generic)) and self._requires_grad:
            with no_grad():
                values = self._binary(P.Remainder, o, "%", reflected=True)._data
            return apply(P.NoDerivative, self, values=values, name="remainder")
        return self._binary(P.Remainder, o, "%", reflected=True)

    def floor_divide(self, value: Tensor | npt.ArrayLike) -> Tensor:
        """x // value, rounded toward minus infinity as torch's (-7 // 2 is -4); no gradient, as torch's."""
        return self // value

    def remainder(self, divisor: Tensor | npt.ArrayLike) -> Tensor:
        """x % divisor with the divisor's sign, as torch's and Python's (-7 % 2 is 1; numpy's fmod gives -1)."""
        return self % divisor

    def __abs__(self) -> Tensor: return self.abs()

    def __neg__(self) -> Tensor:
        if self._data.dtype == bool:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                               "to invert a mask, use the `~` or `logical_not()` operator instead.")
        return apply(P.Neg, self)

    # -- torch's new_* factories: self's dtype unless dtype= says otherwise
    def new_zeros(self, *size: int | Sequence[int], dtype: npt.DTypeLike | None = None,
                  requires_grad: bool = False, device: Any = None) -> Tensor:
        check_device("new_zeros", device)
        return self.new_full(_shape_args("new_zeros", size), 0, dtype=dtype, requires_grad=requires_grad)

    def new_empty(self, *size: int | Sequence[int], dtype: npt.DTypeLike | None = None,
                  requires_grad: bool = False, device: Any = None) -> Tensor:
        """As torch's new_empty (self's dtype unless dtype= says otherwise), its contents zeros, as tr.empty's."""
        check_device("new_empty", device)
        return self.new_full(_shape_args("new_empty", size), 0, dtype=dtype, requires_grad=requires_grad)

    def new_ones(self, *size: int | Sequence[int], dtype: npt.DTypeLike | None = None,
                 requires_grad: bool = False, device: Any = None) -> Tensor:
        check_device("new_ones", device)
        return self.new_full(_shape_args("new_ones", size), 1, dtype=dtype, requires_grad=requires_grad)

    def new_full(self, size: Sequence[int], fill_value: float, *, dtype: npt.DTypeLike | None = None,
                 requires_grad: bool = False, device: Any = None) -> Tensor:
        check_device("new_full", device)
        from .creation import full  # (imported here: creation.py is built on this module)
        return full(size, fill_value, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad)

    def new_tensor(self, data: npt.ArrayLike, *, dtype: npt.DTypeLike | None = None,
                   requires_grad: bool = False, device: Any = None) -> Tensor:
        check_device("new_tensor", device)
        from .creation import tensor  # (imported here: creation.py is built on this module)
        return tensor(data, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad)

    def new(self, *args: Any, device: Any = None) -> Tensor:
        """torch's legacy constructor, in this tensor's dtype and never requiring grad: new() is empty (shape
        (0,)), new(2, 3) a (2, 3) tensor (zeros here, as new_empty's), new([1, 2]) (a list, or a numpy array) its
        values, new(t) of a Tensor of this dtype t's memory itself. As torch's, a tr.Size (`x.new(y.size())`) is a
        shape and a plain tuple (`x.new((2, 3))`) values."""
        check_device("new", device)
        from .creation import tensor, zeros  # (imported here: creation.py is built on this module)
        if args and all(_is_int(a) for a in args):
            if min(args) < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {min(args)}: "
                                   f"{list(args)}")
            return zeros(*(int(a) for a in args), dtype=self.dtype)
        if not args:
            return zeros(0, dtype=self.dtype)
        if len(args) > 1:
            raise TypeError(f"new(): sizes must be ints, got {args!r}")
        data = args[0]
        if isinstance(data, Size):
            return self.new(*data) if data else zeros((), dtype=self.dtype)
        if isinstance(data, Tensor):
            if data.dtype != self.dtype:
                raise TypeError(f"new(): expected a Tensor of dtype {self.dtype}, got {data.dtype}")
            return data.detach()
        if not isinstance(data, (list, tuple, np.ndarray)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        values = np.asarray(data)
        if values.dtype.kind == "f" and self.dtype.kind in "iu":   # torch truncates toward zero
            values = np.trunc(values)
        return tensor(values.astype(self.dtype), dtype=self.dtype)

    def prelu(self, weight: Tensor) -> Tensor:
        """As torch's Tensor.prelu: tr.nn.functional.prelu(self, weight)."""
        from .nn.functional import prelu  # (a local import: nn imports this module)
        return prelu(self, weight)

    def __pow__(self, p: float | Tensor) -> Tensor:
        if isinstance(p, Tensor):
            return self._binary(P.Power, p, "**")
        if not np.isscalar(p) or isinstance(p, (str, bytes)):
            raise TypeError(f"exponent must be a number or a Tensor, got {type(p).__name__}")
        if self._data.dtype.kind in "iu" and _is_int(p):   # indices ** 2 stay int64, as torch
            if p < 0:
                raise ValueError(f"**: an integer tensor to a negative integer power ({p}) is refused, as torch; "
                                 "write x.float() ** p")
            return Tensor._make(self._data ** int(p), False)
        return apply(P.Pow, self._numeric(), p=float(p))

    def __rpow__(self, base: float) -> Tensor:
        if self._data.dtype == bool and isinstance(base, (bool, np.bool_)):
            raise NotImplementedError("\"pow\" not implemented for 'Bool' (as torch): convert it with .long()")
        if self._data.dtype.kind in "iub" and isinstance(base, (int, np.integer, np.bool_)):   # 2 ** indices: int64
            return Tensor._make(_integer_power(int(base), self._data), False)
        if np.isscalar(base) and not isinstance(base, (str, bytes)) and 0 < base < np.inf:
            return (self * float(np.log(base))).exp()  # base ** x = exp(x log base), exact for a positive base
        # 0 ** x, (-2) ** x and inf ** 0 = 1 need Power's edge rules
        return self._binary(P.Power, base, "**", reflected=True)

    def pow(self, exponent: float | Tensor) -> Tensor: return self ** exponent

    def __matmul__(self, other: Tensor | npt.ArrayLike) -> Tensor:
        if isinstance(other, Tensor):
            _check_product_dtypes("matmul", self, other)
        other = self._operand(other)
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:   # (a RuntimeError in torch: ShapeError is both)
            raise ShapeError(f"matmul needs at least 1-D operands, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
        if a._data.dtype == bool:   # numpy would give a mask of ors of ands
            raise NotImplementedError("matmul of bool tensors is not implemented (as torch): convert them with "
                                      ".float() or .long()")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(f"matmul shape mismatch: {tuple(a.shape)} @ {tuple(b.shape)} (inner dimensions "
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
            raise ShapeError(f"matmul batch dimensions do not broadcast: {tuple(self.shape)} @ "
                             f"{tuple(other.shape)}") from None
        out = apply(P.Matmul, a, b)
        shape = list(out.shape)
        if b_vector:
            shape.pop(-1)
        if a_vector:
            shape.pop(-1 if b_vector else -2)
        return out.reshape(tuple(shape)) if (a_vector or b_vector) else out

    def __rmatmul__(self, other: npt.ArrayLike) -> Tensor:
        return self._operand(other).__matmul__(self)

    # comparisons give boolean mask Tensors (for where(), masked_fill(), indexing) that need no gradient, as
    # in torch; applied off the tape, but as a primitive, so that a compiled cell's trace sees them
    def _compare(self, other, op):
        if not isinstance(other, Tensor):
            # a Python number takes this tensor's float dtype (torch's and numpy's rule for a scalar);
            # an array or a numpy scalar keeps its own, and numpy promotes the comparison as torch does
            weak = self._data.dtype.kind == "f" and type(other) in (int, float, bool)
            other = Tensor._make(np.asarray(other, dtype=self._data.dtype if weak else None), False)
        return _off_tape(P.Compare, self, other, op=op)

    # x == None is False and x != None True, as torch (not a mask of the elements compared with None)
    def __eq__(self, o: Tensor | npt.ArrayLike) -> Tensor: return False if o is None else self._compare(o, "eq")
    def __ne__(self, o: Tensor | npt.ArrayLike) -> Tensor: return True if o is None else self._compare(o, "ne")
    def __lt__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._compare(o, "lt")
    def __le__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._compare(o, "le")
    def __gt__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._compare(o, "gt")
    def __ge__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._compare(o, "ge")

    # logical operators, on masks (and index tensors, bitwise) as in torch
    def _logical(self, fn, other, symbol):
        a, b = self._data, _raw(other)
        for x in (a, b):
            if np.asarray(x).dtype.kind == "f":   # torch: NotImplementedError ("bitwise_and_cpu" not implemented)
                raise DTypeNotImplementedError(f"{symbol} needs boolean (or integer) tensors, got dtype "
                                               f"{np.asarray(x).dtype}; compare first (e.g. (x > 0) & (x < 1))")
        other = other if isinstance(other, Tensor) else Tensor._make(np.asarray(b), False)
        return _off_tape(P.Logical, self, other, op=fn)   # traced as Compare is: (x > 0) & (h < 1) in a cell

    def __and__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._logical("and", o, "&")
    def __rand__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._logical("and", o, "&")
    def __or__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._logical("or", o, "|")
    def __ror__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._logical("or", o, "|")
    def __xor__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._logical("xor", o, "^")
    def __rxor__(self, o: Tensor | npt.ArrayLike) -> Tensor: return self._logical("xor", o, "^")

    def __invert__(self) -> Tensor:
        if self._data.dtype.kind == "f":   # torch: NotImplementedError ("bitwise_not_cpu" not implemented)
            raise DTypeNotImplementedError(f"~ needs a boolean (or integer) tensor, got dtype {self.dtype}")
        return _off_tape(P.Logical, self, op="not")

    def logical_not(self) -> Tensor:
        if self._data.dtype == bool:
            return ~self
        return Tensor._make(np.logical_not(self._data), False)

    # -- torch's method spellings of the operators
    def add(self, other: Tensor | npt.ArrayLike, *, alpha: float = 1) -> Tensor:
        return self + (other if alpha == 1 else _times_alpha(other, alpha))

    def sub(self, other: Tensor | npt.ArrayLike, *, alpha: float = 1) -> Tensor:
        if _is_bool(other):   # refused as torch refuses it, before alpha makes the mask numbers
            return self - other
        return self - (other if alpha == 1 else _times_alpha(other, alpha))

    def mul(self, value: Tensor | npt.ArrayLike) -> Tensor: return self * value
    def matmul(self, tensor2: Tensor | npt.ArrayLike) -> Tensor: return self @ tensor2
    def neg(self) -> Tensor: return -self

    def div(self, other: Tensor | npt.ArrayLike, *, rounding_mode: str | None = None) -> Tensor:
        """x / other, or its quotient rounded toward zero (rounding_mode="trunc") or minus infinity ("floor", the
        value of x // other), as torch's: int64 stays int64 when rounded, and a rounded quotient's gradient is 0
        (torch's; a backward through // is refused, as torch's floor_divide)."""
        return self._divide(other, rounding_mode)

    def _divide(self, other, rounding_mode, reflected=False):
        """div's work: self / other (other / self when reflected, torch.div(5.0, x))."""
        if rounding_mode is None:
            return other / self if reflected else self / other
        if not isinstance(rounding_mode, str):
            raise TypeError(f"div(): argument 'rounding_mode' must be str or None, not {type(rounding_mode).__name__} "
                            "(as torch)")
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                               f"{rounding_mode!r} (as torch)")
        return self._binary(P.RoundedDivide, other, f"div(rounding_mode={rounding_mode!r})", reflected,
                            mode=rounding_mode)

    divide = div   # torch's alias

    def eq(self, other: Tensor | npt.ArrayLike) -> Tensor: return self._compare(other, "eq")
    def ne(self, other: Tensor | npt.ArrayLike) -> Tensor: return self._compare(other, "ne")
    def lt(self, other: Tensor | npt.ArrayLike) -> Tensor: return self._compare(other, "lt")
    def le(self, other: Tensor | npt.ArrayLike) -> Tensor: return self._compare(other, "le")
    def gt(self, other: Tensor | npt.ArrayLike) -> Tensor: return self._compare(other, "gt")
    def ge(self, other: Tensor | npt.ArrayLike) -> Tensor: return self._compare(other, "ge")

    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge   # torch's aliases

    def logical_and(self, other: Tensor | npt.ArrayLike) -> Tensor:
        return self._logical_mask("logical_and", np.logical_and, other)

    def logical_or(self, other: Tensor | npt.ArrayLike) -> Tensor:
        return self._logical_mask("logical_or", np.logical_or, other)

    def logical_xor(self, other: Tensor | npt.ArrayLike) -> Tensor:
        return self._logical_mask("logical_xor", np.logical_xor, other)

    def _logical_mask(self, fn, ufunc, other):
        """A mask of ufunc(self, other); shapes that do not broadcast are torch's RuntimeError (a ShapeError)."""
        b = _raw(other)
        try:
            np.broadcast_shapes(self.shape, np.shape(b))
        except ValueError:
            raise ShapeError(f"{fn}: shapes {tuple(self.shape)} and {np.shape(b)} do not broadcast") from None
        return Tensor._make(ufunc(self._data, b), False)

    # -- masks of the special values (loss.isnan().any() guards a training step)
    def isnan(self) -> Tensor: return Tensor._make(np.isnan(self._data), False)
    def isinf(self) -> Tensor: return Tensor._make(np.isinf(self._data), False)
    def isfinite(self) -> Tensor: return Tensor._make(np.isfinite(self._data), False)

    def any(self, dim: int | Sequence[int] | None = None, keepdim: bool | None = None, *,
        axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _dim_args("any", dim, keepdim, axis, keepdims)
        # as a count of the nonzero elements (NaN is nonzero, as np.any), so that a traced cell computes it
        return (self if self._data.dtype == bool else self != 0).sum(dim, keepdim) > 0

    def all(self, dim: int | Sequence[int] | None = None, keepdim: bool | None = None, *,
        axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _dim_args("all", dim, keepdim, axis, keepdims)
        return (~self if self._data.dtype == bool else self == 0).sum(dim, keepdim) == 0   # no zero element

    # -- elementwise
    # (a mask or index tensor is read as float32 numbers first, as torch promotes bool and int64 to float32)
    def exp(self) -> Tensor: return apply(P.Exp, self._numeric())
    def log(self) -> Tensor: return apply(P.Log, self._numeric())
    def tanh(self) -> Tensor: return apply(P.Tanh, self._numeric())
    def sigmoid(self) -> Tensor: return apply(P.Sigmoid, self._numeric())
    def relu(self) -> Tensor:  # indices keep their dtype, as torch (a mask is refused, as torch)
        return apply(P.Relu, self) if self._data.dtype.kind == "f" else _off_tape(P.Relu, self._floating("relu", "fi"))
    def sqrt(self) -> Tensor: return self ** 0.5
    def rsqrt(self) -> Tensor: return 1.0 / self.sqrt()  # not x ** -0.5: at -0.0 torch's rsqrt' is +inf, pow's -inf
    def square(self) -> Tensor:
        x = self if self._data.dtype.kind in "fi" else self.long()  # a mask squared is int64 numbers, as torch's
        return x * x
    def abs(self) -> Tensor:  # indices keep their dtype, as torch (a mask is refused, as torch)
        return apply(P.Abs, self) if self._data.dtype.kind == "f" else _off_tape(P.Abs, self._floating("abs", "fi"))

    def maximum(self, other: Tensor | npt.ArrayLike) -> Tensor: return self._binary(P.Maximum, other, "maximum")
    def minimum(self, other: Tensor | npt.ArrayLike) -> Tensor:
        if self._takes_dtype_of(other):
            return self.astype(other._data.dtype).minimum(other)
        return -((-self).maximum(-self._operand(other)))

    def clip(self, min: float | Tensor | None = None, max: float | Tensor | None = None) -> Tensor:
        """Each element limited to [min, max], as torch.clamp: bounds are numbers or Tensors (broadcast with self)."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None (as torch)")
        for name, bound in (("min", min), ("max", max)):
            if bound is not None and not isinstance(bound, Tensor) \
                    and not (np.isscalar(bound) and not isinstance(bound, (str, bytes))):
                raise TypeError(f"clip/clamp: {name} must be a number or a Tensor, got {type(bound).__name__}")
        min, max = _clip_bounds_of_one_kind(min, max)
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return self._clip_by_tensors(min, max)
        if self._data.dtype.kind in "biu" and all(b is None or _is_int(b) for b in (min, max)):
            # int bounds keep indices int64, as torch, and make a mask's values int64 (torch's promotion)
            return Tensor._make(np.clip(self._data.astype(np.int64, copy=False), min, max), False)
        return apply(P.Clip, self._numeric(), lo=min, hi=max)

    clamp = clip

    def _clip_by_tensors(self, lo, hi):
        """clamp with Tensor bounds (or one and None). The gradient goes where torch's does: to self where
        min <= self <= max (ties included), to min where self < min < max, to max where self > max or max < min;
        nowhere below min == max, nor to self where it is NaN (torch's rule, followed to its corners)."""
        x = self._clip_operand_dtype(lo, hi)
        lo, hi = (None if b is None else x._operand(b) for b in (lo, hi))
        if x._data.dtype.kind != "f":   # indices and masks: int64 (torch's promotion), no gradient
            bounds = (None if b is None else b._data for b in (lo, hi))
            return Tensor._make(np.clip(x._data.astype(np.int64, copy=False), *bounds).astype(np.int64, copy=False),
                                False)
        # torch's values, off the tape (a NaN anywhere stays NaN): the result where no input takes the gradient.
        # Computed by operations, not from the arrays, so that a compiled cell computes it at every step.
        value = x.detach() if lo is None else x.detach().maximum(lo.detach())
        out = value = value if hi is None else value.minimum(hi.detach())
        if lo is not None:
            out = where((x < lo) & (lo < hi) if hi is not None else x < lo, lo, out)
        if hi is not None:
            out = where((x > hi) | (hi < lo) if lo is not None else x > hi, hi, out)
        keep = (x >= lo) & (x <= hi) if lo is not None and hi is not None else x >= lo if lo is not None else x <= hi
        out = where(keep, x, out)   # (the three conditions never overlap: the order of the wheres is free)
        # a NaN in self or a bound: NaN, as torch's, whose gradient still goes by the conditions above (as torch's)
        return where(value != value, out + value, out)

    def _clip_operand_dtype(self, lo, hi):
        """self in the dtype clamp computes in with these bounds: a float bound makes indices or a mask float (the
        Tensor's dtype, or float32 for a number), and a 0-d self takes a dimensioned float Tensor's dtype."""
        x = self
        for bound in (lo, hi):
            if isinstance(bound, Tensor) and bound._data.dtype.kind == "f" and \
                    (x._data.dtype.kind != "f" or x._takes_dtype_of(bound)):
                x = x.astype(bound._data.dtype) if x._data.dtype.kind == "f" else _as_numbers(x, bound._data.dtype)
        if x._data.dtype.kind != "f" and any(b is not None and not isinstance(b, Tensor) and not _is_int(b)
                                            for b in (lo, hi)):
            x = x._numeric()
        return x

    def masked_select(self, mask: Tensor | np.ndarray) -> Tensor:
        """The elements where the boolean mask is True, as a 1-D tensor (the two broadcast together, as torch)."""
        cond = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if cond.dtype != bool:
            raise RuntimeError(f"masked_select: expected a boolean mask, got dtype {cond.dtype} (as torch)")
        shape = np.broadcast_shapes(self.shape, cond.shape)
        return self.expand(shape)[np.broadcast_to(cond, shape)]

    def nonzero(self, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
        """The int64 indices of the nonzero elements, one row each (as_tuple: one 1-D tensor per dim), as torch."""
        rows = np.argwhere(self._data).astype(np.int64)
        if _check_flag("nonzero", "as_tuple", as_tuple):
            if self.ndim == 0:   # torch's one index tensor of a 0-d tensor: [0] if it is nonzero, else empty
                return (Tensor._make(np.flatnonzero(self._data).astype(np.int64), False),)
            return tuple(Tensor._make(np.ascontiguousarray(rows[:, d]), False) for d in range(max(self.ndim, 1)))
        return Tensor._make(rows, False)

    def allclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """Whether |self - other| <= atol + rtol * |other| everywhere, as torch.allclose (one dtype for both)."""
        if not isinstance(other, Tensor):
            raise TypeError(f"allclose: other must be a Tensor, got {type(other).__name__}")
        if other.dtype != self.dtype:
            raise RuntimeError(f"allclose: {self.dtype} did not match {other.dtype} (as torch)")
        return bool(np.allclose(self._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def masked_fill(self, mask: Tensor | np.ndarray, value: float) -> Tensor:
        """`value` where the boolean `mask` is True, self elsewhere (the two broadcast together, as torch)."""
        cond = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if cond.dtype != bool:
            raise TypeError(f"masked_fill: mask must be a boolean tensor (e.g. x == 0), got dtype {cond.dtype}")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        if isinstance(value, Tensor) and value._data.dtype.kind == "f" and self._data.dtype.kind == "f":
            value = value.astype(self._data.dtype)  # torch: the result has self's dtype, even when self is 0-d
        if self._data.dtype.kind != "f":   # indices or a mask keep their dtype, as torch: 2.9 -> 2, 0.5 -> True
            number = value._data if isinstance(value, Tensor) else np.asarray(value)
            if number.dtype.kind not in "biuf":
                raise TypeError(f"masked_fill: value must be a number or a 0-d tensor, got {type(value).__name__}")
            if not np.isfinite(number):
                raise ValueError(f"masked_fill: value {number} cannot be converted to {self._data.dtype} (as torch)")
            return Tensor._make(np.where(cond, number.astype(self._data.dtype), self._data), False)
        return where(cond, value, self)

    # -- reductions (torch's dim=/keepdim= or numpy's axis=/keepdims=, never both)
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool | None = None, *,
        axis: int | Sequence[int] | None = None, keepdims: bool | None = None,
        dtype: npt.DTypeLike | None = None) -> Tensor:
        """As torch.sum; dtype= (float32 or float64) converts the tensor first, as torch's does."""
        if dtype is not None:
            return self.astype(dtype).sum(dim, keepdim, axis=axis, keepdims=keepdims)
        dim, keepdim = _dim_args("sum", dim, keepdim, axis, keepdims)
        if self._data.dtype.kind != "f":  # a count of a mask: int64, as torch; traced (a cell counts per step)
            return _off_tape(P.Sum, self, axis=_reduce_axis(dim, self.ndim), keepdims=keepdim)
        return apply(P.Sum, self, axis=_reduce_axis(dim, self.ndim), keepdims=keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool | None = None, *,
        axis: int | Sequence[int] | None = None, keepdims: bool | None = None,
        dtype: npt.DTypeLike | None = None) -> Tensor:
        """As torch.mean; dtype= (float32 or float64) converts the tensor first (a mask too), as torch's does."""
        if dtype is not None:
            return self.astype(dtype).mean(dim, keepdim, axis=axis, keepdims=keepdims)
        dim, keepdim = _dim_args("mean", dim, keepdim, axis, keepdims)
        x = self._floating("mean")
        count = _reduced_count(x.shape, _reduce_axis(dim, x.ndim))
        # a Scale, which saves nothing: a second backward through x.mean() runs, as torch's (x.sum() * c would not)
        return apply(P.Scale, x.sum(dim, keepdim), p=1.0 / count if count else float("nan"))  # over nothing: nan

    def prod(self, dim: int | Sequence[int] | None = None, keepdim: bool | None = None, *,
        axis: int | Sequence[int] | None = None, keepdims: bool | None = None,
        dtype: npt.DTypeLike | None = None) -> Tensor:
        """As torch.prod; dtype= (float32 or float64) converts the tensor first, as torch's does."""
        if dtype is not None:
            return self.astype(dtype).prod(dim, keepdim, axis=axis, keepdims=keepdims)
        dim, keepdim = _dim_args("prod", dim, keepdim, axis, keepdims)
        return apply(P.Prod, self, axis=_reduce_axis(dim, self.ndim), keepdims=keepdim)

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool | None = None, *,
        axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor:
        """The largest values over dim (all if None); ties share the gradient equally, as torch.amax."""
        dim, keepdim = _dim_args("amax", dim, keepdim, axis, keepdims)
        axes = _reduce_axis(dim, self.ndim)
        if _reduced_count(self.shape, axes) == 0:
            raise ValueError(f"max over no elements (shape {tuple(self.shape)}, dim {dim}) is undefined")
        return apply(P.Max, self, axis=axes, keepdims=keepdim)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool | None = None, *,
        axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _dim_args("amin", dim, keepdim, axis, keepdims)
        return -(-self).amax(dim, keepdim)

    def max(self, dim: int | Sequence[int] | Tensor | None = None, keepdim: bool | None = None, *,
            axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor | ValuesIndices:
        """As torch: max() the largest value (ties share its gradient); max(dim) the values and indices
        along dim (the gradient goes to the index); max(other_tensor) is maximum(). A call in numpy's
        spelling (axis= or keepdims=) means what it means in numpy: the values alone, as amax()."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if axis is not None or keepdims is not None:
            return self.amax(dim, keepdim, axis=axis, keepdims=keepdims)
        dim, keepdim = _dim_args("max", dim, keepdim, axis, keepdims)
        if dim is None:
            return self._extreme_of_all("max", keepdim)
        return self._select(dim, keepdim, "max")

    def min(self, dim: int | Sequence[int] | Tensor | None = None, keepdim: bool | None = None, *,
            axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor | ValuesIndices:
        """As max(), for the smallest values."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if axis is not None or keepdims is not None:
            return self.amin(dim, keepdim, axis=axis, keepdims=keepdims)
        dim, keepdim = _dim_args("min", dim, keepdim, axis, keepdims)
        if dim is None:
            return self._extreme_of_all("min", keepdim)
        return self._select(dim, keepdim, "min")

    def _extreme_of_all(self, fn, keepdim):
        """max() / min() of all elements: ties share the gradient as amax's do, but a NaN result's gradient goes
        to the NaNs, shared (torch's evenly_distribute_backward), where amax() gives NaN everywhere."""
        if self._data.size == 0:
            raise ValueError(f"{fn}() of a tensor with no elements (shape {tuple(self.shape)}) is undefined")
        if fn == "max":
            return apply(P.Max, self, axis=None, keepdims=keepdim, nan_shares=True)
        return -apply(P.Max, -self, axis=None, keepdims=keepdim, nan_shares=True)

    def _select(self, dim, keepdim, fn):
        """(values, indices) of max(dim)/min(dim): the gradient goes to the first index of the extreme value
        (torch's choice on ties; amax/amin share it). min's values are -max(-x)'s (the same first index)."""
        if not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{fn}(dim): dim must be an int, got {dim!r} (for several dims use amax/amin)")
        d = _reduce_axis(dim, self.ndim)
        if d is None:  # a 0-d tensor: its value, at index 0
            return ValuesIndices(self.clone(), Tensor._make(np.zeros((), np.int64), False))
        if self.shape[d] == 0:
            raise ValueError(f"{fn} over dim {dim}, which is empty (shape {tuple(self.shape)}), is undefined")
        indices = _off_tape(P.ArgMax, self, axis=d, keepdims=keepdim, op=fn)
        if self._data.dtype.kind != "f":  # a mask's or indices' own values (bool stays bool), no gradient
            at = indices._data if keepdim else np.expand_dims(indices._data, d)
            values = np.take_along_axis(self._data, at, axis=d)
            return ValuesIndices(Tensor._make(values if keepdim else np.squeeze(values, d), False), indices)
        if fn == "max":
            return ValuesIndices(apply(P.FirstMax, self, axis=d, keepdims=keepdim), indices)
        return ValuesIndices(-apply(P.FirstMax, -self, axis=d, keepdims=keepdim), indices)

    def argmax(self, dim: int | Sequence[int] | None = None, keepdim: bool | None = None, *,
        axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _dim_args("argmax", dim, keepdim, axis, keepdims)
        return self._arg("max", _int_dim("argmax", dim), keepdim)

    def argmin(self, dim: int | Sequence[int] | None = None, keepdim: bool | None = None, *,
        axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _dim_args("argmin", dim, keepdim, axis, keepdims)
        return self._arg("min", _int_dim("argmin", dim), keepdim)

    def _arg(self, op, dim, keepdim):
        if self._data.size == 0:
            raise ValueError(f"argmax/argmin of an empty tensor (shape {tuple(self.shape)}) is undefined")
        d = _reduce_axis(dim, self.ndim)  # None, over all elements: the index into the flattened tensor, as torch
        return _off_tape(P.ArgMax, self, axis=d, keepdims=keepdim, op=op)

    # -- gathering, sorting and running sums (sampling and sequence work: top-k sampling, masks from lengths)
    def gather(self, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
        """torch.gather: along `dim`, the entries `index` (int64 or int32, as many dims as self, no larger in
        the others) names; `out[i][j] = self[i][index[i][j]]` for dim 1. The gradient adds into the places read.
        sparse_grad=True gives that gradient dense, as every .grad here is a dense Tensor (torch's would be a
        sparse tensor of the same values: .to_dense() of it equals this one)."""
        _check_flag("gather", "sparse_grad", sparse_grad)
        d = _one_int_dim("gather", dim, self.ndim)
        index = _gather_index(index, self.shape, d, "gather")
        if self.ndim == 0:  # torch takes a 0-d or 1-D index (zeros) of a 0-d tensor: the value, in index's shape
            return apply(P.Gather, self.reshape(1), index=index.reshape(-1), axis=0).reshape(index.shape)
        return apply(P.Gather, self, index=index, axis=d)

    def scatter(self, dim: int, index: Tensor, src: Tensor | float | None = None, *, value: float | None = None,
                reduce: str | None = None) -> Tensor:
        """torch.scatter (out of place): a copy with `out[i][index[i][j]] = src[i][j]` along dim 1 (src a Tensor
        of self's dtype, or a number: `value`); x.scatter(1, idx, 1.0) makes one-hot rows. Where an index
        repeats, one of the values lands (torch leaves which unspecified). Gradients reach self and src.
        reduce='add' adds src there (as scatter_add, with its gradients, which torch does not give) and
        reduce='multiply' multiplies (no gradient, as torch)."""
        if reduce not in (None, "add", "multiply"):
            raise RuntimeError(f"scatter: reduce argument must be either add or multiply (as torch), got {reduce!r}")
        if (src is None) == (value is None):
            raise TypeError("scatter: pass src (a Tensor or a number) or value=, one of them")
        return self._scatter("scatter", dim, index, value if src is None else src, add=reduce or False)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """torch.scatter_add (out of place): a copy with `src[i][j]` added at `out[i][index[i][j]]` along dim 1,
        a repeated index adding up (counts per class, sums per segment). Gradients reach self and src."""
        if not isinstance(src, Tensor):
            raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
        return self._scatter("scatter_add", dim, index, src, add=True)

    def _scatter(self, fn, dim, index, src, add):
        d = _one_int_dim(fn, dim, self.ndim)
        index = _gather_index(index, self.shape, d, fn)
        if self.ndim == 0:  # as gather: the one element, through a 1-D view
            if index.size != 1:
                raise RuntimeError(f"{fn}: a 0-d tensor is written through one index here, got {index.size} (torch "
                                   "writes its one element once per index; not supported: index it once)")
            return self.reshape(1)._scatter(fn, 0, index.reshape(1), src if not isinstance(src, Tensor) else
                                            src.reshape(1), add).reshape(())
        src = self._scatter_source(fn, index, src)
        if add == "multiply":
            return apply(P.ScatterMultiply, self, src, index=index, axis=d)
        return apply(P.Scatter, self, src, index=index, axis=d, add=bool(add))

    def _scatter_source(self, fn, index, src):
        """scatter's src checked as torch checks it (a number: a Tensor of it in index's shape): self's dtype, self's
        number of dims, no smaller than index in any dim (only its leading index.shape part is read)."""
        if not isinstance(src, Tensor):
            if not isinstance(src, numbers.Real) or isinstance(src, bool) and self._data.dtype != bool:
                raise TypeError(f"{fn}: src must be a Tensor or a number, got {type(src).__name__}")
            src = Tensor._make(np.full(index.shape, src, dtype=self._data.dtype), False)
        if src._data.dtype != self._data.dtype:
            raise TypeError(f"{fn}: src must have the tensor's dtype {self.dtype}, got {src.dtype} (nothing is "
                            "upcast silently: convert one with .astype())")
        if src.ndim != self.ndim or any(n > m for n, m in zip(index.shape, src.shape)):
            raise ShapeError(f"{fn}: index of shape {tuple(index.shape)} must be no larger than src "
                             f"{tuple(src.shape)} in any dim")
        return src

    def cumsum(self, dim: int, *, dtype: npt.DTypeLike | None = None) -> Tensor:
        """Running sums along `dim`, in `dtype` if given (the input cast first, as torch); a mask's or
        indices' running sums are int64, as torch's."""
        d = _one_int_dim("cumsum", dim, self.ndim)
        x = self if dtype is None else self._cast_for("cumsum", dtype)
        if dtype is None and x._data.dtype.kind != "f" and x._data.dtype != np.int64:  # bool...: int64, as torch
            x = _off_tape(P.Cast, x, dtype=np.dtype(np.int64))
        if x.ndim == 0:
            return apply(P.Cumsum, x.reshape(1), axis=0).reshape(())
        return apply(P.Cumsum, x, axis=d)

    def cumprod(self, dim: int, *, dtype: npt.DTypeLike | None = None) -> Tensor:
        """Running products along `dim`, in `dtype` if given (the input cast first, as torch); a mask's or
        indices' are int64, as torch's. The gradient is exact where the input holds zeros (primitives.Cumprod)."""
        d = _one_int_dim("cumprod", dim, self.ndim)
        x = self if dtype is None else self._cast_for("cumprod", dtype)
        if dtype is None and x._data.dtype.kind != "f" and x._data.dtype != np.int64:  # bool...: int64, as torch
            x = _off_tape(P.Cast, x, dtype=np.dtype(np.int64))
        rows, axis = (x.reshape(1), 0) if x.ndim == 0 else (x, d)
        run = apply if x._data.dtype.kind == "f" else _off_tape   # indices' products have no gradient
        return run(P.Cumprod, rows, axis=axis).reshape(x.shape)

    def _cast_for(self, fn, dtype):
        """This tensor in `dtype` for fn's dtype= (a float one keeps the gradient; an integer one has none,
        so it is refused for a tensor that requires grad, as torch does)."""
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{fn}: dtype must be a numpy/torch dtype name, got {dtype!r}") from None
        if dtype.kind == "f":
            return self.astype(_float_dtype(dtype, fn))
        if dtype.kind not in "iub":
            raise TypeError(f"{fn}: dtype must be a float, integer or bool dtype, got {dtype}")
        if self.requires_grad and _grad_mode.enabled:
            raise TypeError(f"{fn}: dtype {dtype} has no gradient, and this tensor requires grad (torch: "
                            "'Autograd not support dtype'); pass a float dtype or detach() first")
        return Tensor._make(self._data.astype(dtype), False)

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> ValuesIndices:
        """(values, indices) sorted along `dim`, as torch.sort: ties keep their order (always stable), NaN
        counts as the largest. The values' gradient goes back to the places they came from."""
        indices = self._sort_indices("sort", dim, descending, stable)
        return ValuesIndices(self.gather(dim, indices), indices)

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
        """The int64 indices that sort the tensor along `dim` (sort's indices), as torch.argsort."""
        return self._sort_indices("argsort", dim, descending, stable)

    def _sort_indices(self, fn, dim, descending, stable):
        _check_flag(fn, "descending", descending)
        _check_flag(fn, "stable", stable)
        d = _one_int_dim(fn, dim, self.ndim)
        if self.ndim == 0:
            return Tensor._make(np.zeros((), np.int64), False)
        return _off_tape(P.ArgSort, self, axis=d, descending=bool(descending))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
        """(values, indices) of the k largest (smallest, largest=False) entries along `dim`, as torch.topk
        (top-k sampling: logits.topk(k)). Always in sorted order, which sorted=False allows too."""
        _check_flag("topk", "largest", largest)
        _check_flag("topk", "sorted", sorted)
        d = _one_int_dim("topk", dim, self.ndim)
        size = self.shape[d] if self.ndim else 1
        if not _is_int(k) or not 0 <= k <= size:
            got = f"{type(k).__name__} {k!r}" if not _is_int(k) else repr(k)
            raise (ValueError if _is_int(k) else TypeError)(
                f"topk: k must be an int from 0 to the size of dim {dim} ({size}), got {got}")
        order = self._sort_indices("topk", d, largest, False)
        indices = order if self.ndim == 0 else order[(slice(None),) * d + (slice(0, int(k)),)]
        return ValuesIndices(self.gather(d, indices), indices)

    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    generator: np.random.Generator | None = None) -> Tensor:
        return multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p: float | None = None, *, generator: np.random.Generator | None = None) -> Tensor:
        """tr.bernoulli(self, p): 1 with probability self (or p), in self's dtype."""
        from .creation import bernoulli  # (creation.py is built on this module)
        return bernoulli(self, p, generator=generator)

    def var(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None, keepdim: bool | None = None,
            *, correction: int | None = None, ddof: int | None = None, axis: int | Sequence[int] | None = None,
            keepdims: bool | None = None) -> Tensor:
        """torch.var: divides by N - correction, correction=1 by default (unbiased). numpy's var divides by
        N (ddof=0), so a numpy-spelled call (axis=, keepdims=) must say which: correction= or ddof=.
        torch's legacy form x.var(unbiased) (one bool, nothing else) is read as torch reads it."""
        if isinstance(dim, (bool, np.bool_)):
            dim, unbiased = None, _legacy_unbiased(dim, (unbiased, keepdim, correction, ddof, axis, keepdims))
        given = [n for n, v in (("unbiased", unbiased), ("correction", correction), ("ddof", ddof)) if v is not None]
        if len(given) > 1:
            raise TypeError(f"var/std: got {' and '.join(given)}; pass one of them")
        if not given and (axis is not None or keepdims is not None):
            raise TypeError("var/std with numpy's axis=/keepdims=: numpy divides by N (ddof=0), torch by N - 1 "
                            "(correction=1); say which with correction= or ddof=, or use dim=/keepdim=")
        if unbiased is not None:
            _check_bool(unbiased, "var/std: unbiased")
            correction = 1 if unbiased else 0
        correction = 1 if correction is None and ddof is None else (correction if ddof is None else ddof)
        if isinstance(correction, (bool, np.bool_)) or not isinstance(correction, (int, float, np.integer,
                                                                                   np.floating)):
            name = "ddof" if ddof is not None else "correction"
            raise TypeError(f"var/std: {name} must be a number, got {type(correction).__name__} {correction!r}")
        dim, keepdim = _dim_args("var", dim, keepdim, axis, keepdims)
        self._floating("var/std")
        axes = _reduce_axis(dim, self.ndim)
        n = _reduced_count(self.shape, axes)
        centred = _centred(self, axes)
        total = (centred * centred).sum(dim, keepdim)
        if n > correction:
            return total * (1.0 / (n - correction))
        warnings.warn("var(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                      "factor (input numel divided by output numel).", UserWarning, stacklevel=2)   # torch's words
        with np.errstate(invalid="ignore"):   # 0 * inf: nan, as torch (its warning said why)
            return total * float("inf")

    def std(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None, keepdim: bool | None = None,
            *, correction: int | None = None, ddof: int | None = None, axis: int | Sequence[int] | None = None,
            keepdims: bool | None = None) -> Tensor:
        """The square root of var() (same arguments); its gradient is 0 where the std is 0, as torch."""
        return _sqrt_zero_safe(self.var(dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
                                        keepdims=keepdims))

    def norm(self, p: float | str = "fro", dim: int | Sequence[int] | None = None, keepdim: bool = False,
             dtype: npt.DTypeLike | None = None) -> Tensor:
        """The vector p-norm over dim (all elements if None), as torch.norm; p may be "fro" (2), 1, 2, inf,
        -inf, 0 (the count of nonzero elements) or any other number, or "nuc" (the nuclear norm of a matrix). The
        gradient at a zero vector is 0, as torch. dtype= converts first."""
        if dtype is not None:
            return self.astype(dtype).norm(p, dim, keepdim)
        self._floating("norm")
        dim, keepdim = _dim_args("norm", dim, keepdim, None, None)
        if p == "fro":
            p = 2
        if p == "nuc":
            return _nuclear_norm(self, dim, keepdim)
        if isinstance(p, str) or not np.isscalar(p):
            raise ValueError(f"norm: p must be 'fro', 'nuc' or a number, got {p!r}")
        if p in (np.inf, -np.inf, 0):
            return self._norm_without_root(p, dim, keepdim)
        if p < 0:   # (1 / sum(|x|^-|p|))^(1/|p|): linalg.vector_norm's, with torch's gradient at zeros
            from .linalg import vector_norm
            return vector_norm(self, p, dim, keepdim)
        if p == 1:
            return self.abs().sum(dim, keepdim)
        if p == 2:
            powered = self * self
        elif p < 1:  # |x| ** p for p < 1 has an infinite slope at 0: torch's gradient there is 0, not 0 * inf
            powered = _root_zero_safe(self.abs(), p)
        else:
            powered = self.abs() ** p
        return _root_zero_safe(powered.sum(dim, keepdim), 1.0 / p)

    def _norm_without_root(self, p, dim, keepdim):
        """norm() for p = inf (the largest |x|), -inf (the smallest) and 0: torch's count of the nonzero elements
        (NaN counts), whose gradient is zero: |sign(x)| is that count's term."""
        if p == np.inf:
            return self.abs().amax(dim, keepdim)
        if p == -np.inf:
            return self.abs().amin(dim, keepdim)
        return self.sign().abs().masked_fill(self.isnan(), 1.0).sum(dim, keepdim)

    def logsumexp(self, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
        """log(sum(exp(x))) over dim, shifted by the max so that exp cannot overflow (-inf over all -inf)."""
        if self._data.dtype.kind != "f":
            return self._numeric().logsumexp(dim, keepdim)
        dim, keepdim = _dim_args("logsumexp", dim, keepdim, None, None)
        axes = _reduce_axis(dim, self.ndim)
        if _reduced_count(self.shape, axes) == 0:
            shift = np.zeros((), self.dtype)
        else:
            shift = np.max(self._data, axis=axes, keepdims=True)
            shift = np.where(np.isfinite(shift), shift, 0).astype(self.dtype)
        out = (self - shift).exp().sum(dim, keepdim=True).log() + shift
        if keepdim:
            return out
        dropped = range(self.ndim) if axes is None else [a % self.ndim for a in np.atleast_1d(axes)]
        return out.reshape(tuple(n for i, n in enumerate(self.shape) if i not in dropped))

    # -- shape
    def reshape(self, *sizes: int | Sequence[int], shape: Sequence[int] | None = None) -> Tensor:
        shape = _args_or_keyword("reshape", sizes, "shape", shape)
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        try:
            new_shape = np.empty(self.shape, dtype=bool).reshape(shape).shape  # resolves -1, checks size
        except (ValueError, TypeError):
            raise ShapeError(f"cannot reshape a tensor of shape {tuple(self.shape)} into {tuple(shape)}") from None
        return self if new_shape == self.shape else apply(P.Reshape, self, shape=new_shape)

    def view(self, *sizes: int | Sequence[int], size: Sequence[int] | None = None) -> Tensor:
        """As reshape where the new shape can be a view of the tensor's memory; where it cannot (x.T.view(-1)),
        torch's RuntimeError: reshape would copy, and a write through the copy would not reach the tensor."""
        out = self.reshape(*_args_or_keyword("view", sizes, "size", size))
        if out is not self and out._data.size and not np.may_share_memory(out._data, self._data):
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return out

    def transpose(self, *dims: int, dim0: int | None = None, dim1: int | None = None) -> Tensor:
        """transpose(dim0, dim1) swaps two dims, as torch. numpy's other spellings, which torch does not have,
        keep their meaning: transpose() reverses all dims (as .T), transpose(perm) or transpose(*perm) with
        all of a tensor's dims permutes (prefer permute()). On a 2-D tensor two dims always mean a swap."""
        if dim0 is not None or dim1 is not None:
            if dims or dim0 is None or dim1 is None:
                raise TypeError("transpose: give both dim0= and dim1= (or the two dims positionally), got "
                                f"{dims} and dim0={dim0!r}, dim1={dim1!r}")
            dims = (dim0, dim1)
        if len(dims) == 2 and all(isinstance(d, (int, np.integer)) for d in dims):
            if self.ndim == 0:   # torch takes dims 0 and -1 of a 0-d tensor: nothing to swap
                _axis(tuple(d for d in dims if d not in (0, -1)), 0)
                return self.permute(())
            perm = list(range(self.ndim))
            a, b = (_axis(d, self.ndim) for d in dims)
            perm[a], perm[b] = perm[b], perm[a]
            return self.permute(perm)
        if not dims:
            return self.permute(tuple(reversed(range(self.ndim))))
        perm = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        if len(perm) != self.ndim:
            raise ValueError(f"transpose{dims}: give two dims to swap (as torch), or a permutation of all "
                             f"{self.ndim} dims (use permute)")
        return self.permute(perm)

    @property
    def T(self) -> Tensor:
        """All dims reversed, as numpy's .T."""
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a batch of matrices transposed), as torch's .mT."""
        if self.ndim < 2:
            raise ValueError(f"mT: needs a matrix or a batch of matrices, got a {self.ndim}-D tensor (shape "
                             f"{tuple(self.shape)})")
        return self.transpose(-2, -1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t() expects at most 2 dims, got shape {tuple(self.shape)} (use transpose(d0, d1))")
        return self.transpose()

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    def permute(self, *order: int | Sequence[int], dims: Sequence[int] | None = None) -> Tensor:
        dims = _args_or_keyword("permute", order, "dims", dims)
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        if len(dims) != self.ndim or sorted(_axis(tuple(dims), self.ndim)) != list(range(self.ndim)):
            raise RuntimeError(f"permute: dims {dims} are not a permutation of a {self.ndim}-D tensor's dims "
                               "(torch's error type)")
        return apply(P.Transpose, self, axes=_axis(tuple(dims), self.ndim))

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """The dims `source` moved to the places `destination`, the others keeping their order, as torch.movedim
        (and np.moveaxis): a permute, so a view."""
        return self.permute(_moved_dims(self.ndim, source, destination))

    moveaxis = movedim   # torch's alias (the name torch.moveaxis and np.moveaxis share)

    def select(self, dim: int, index: int) -> Tensor:
        """`x.select(1, i)` is `x[:, i]`: the entries at `index` along `dim`, without that dim, as torch's; a view.
        A negative dim or index counts from the end."""
        if self.ndim == 0:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        d = _one_int_dim("select", dim, self.ndim)
        i, n = _position("select", "index", index), self.shape[d]
        if not -n <= i < n:
            raise IndexError(f"select(): index {i} out of range for tensor of size {list(self.shape)} at dimension "
                             f"{dim}")
        return apply(P.GetItem, self, index=(slice(None),) * d + (i % n,))

    def narrow(self, dim: int, start: int | Tensor, length: int) -> Tensor:
        """`x.narrow(1, s, n)` is `x[:, s:s + n]`, as torch's: a view. start may count from the end (negative) or
        be a 0-d integer tensor; the n entries must all be there (no clipping, unlike a slice)."""
        if isinstance(start, Tensor) and (start.ndim != 0 or start._data.dtype.kind not in "iu"):
            raise RuntimeError("start must be an 0-dim integral Tensor.")
        start, length = _position("narrow", "start", start), _position("narrow", "length", length)
        if self.ndim == 0:   # (torch's order of checks, hence of errors)
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        d = _one_int_dim("narrow", dim, self.ndim)
        n = self.shape[d]
        if not -n <= start <= n:
            raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
        start = start + n if start < 0 else start
        if start + length > n:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
        return apply(P.GetItem, self, index=(slice(None),) * d + (slice(start, start + length),))

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The entries `x[i][i + offset]` of dims dim1 and dim2, as torch's: those two dims go, the diagonal comes
        last; a view. offset > 0 is above the main diagonal, < 0 below."""
        d1, d2 = _one_int_dim("diagonal", dim1, self.ndim), _one_int_dim("diagonal", dim2, self.ndim)
        offset = _position("diagonal", "offset", offset)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return apply(P.Diagonal, self, offset=offset, dim1=d1, dim2=d2)

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """The windows of `size` entries along `dimension`, one every `step`, as torch's Tensor.unfold (not
        nn.Unfold's patches): that dim then counts the windows and a new last dim holds each window's entries; a
        view. Overlapping windows (step < size) are refused as the target of an in-place write: torch writes a
        shared element once per window, in its loop's order."""
        d = _one_int_dim("unfold", dimension, self.ndim)
        size, step = _position("unfold", "size", size), _position("unfold", "step", step)
        n = self.shape[d] if self.ndim else 1
        if size < 0:
            raise RuntimeError(f"size is {size} but must be >= 0")
        if size > n:
            raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
        if step <= 0:
            raise RuntimeError(f"step is {step} but must be > 0")
        if self.ndim == 0:
            return apply(P.Unfold, self.reshape(1), dim=0, size=size, step=step).reshape(size)
        return apply(P.Unfold, self, dim=d, size=size, step=step)

    def as_strided(self, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:
        """torch's as_strided: element `[i][j]` is storage element `storage_offset + i * stride[0] + j * stride[1]`
        (any number of dims), as a read-only view; the gradient of an element read twice adds up. The storage is
        this tensor's own elements in row-major order, so the tensor must be contiguous (torch's reads the memory of
        a non-contiguous one: call .contiguous() first), and storage_offset, counted from the start of torch's
        storage, defaults to this tensor's start; given, it needs a tensor whose memory starts with it."""
        size, stride = _strided_layout("size", size), _strided_layout("stride", stride)
        if len(size) != len(stride):
            raise RuntimeError("mismatch in length of strides and shape")
        if any(step < 0 for step in stride):
            raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: {stride}")
        if any(n < 0 for n in size):
            raise RuntimeError(f"Storage size calculation overflowed with sizes={size} and strides={stride}")
        offset = self._as_strided_offset(storage_offset)
        needed = offset + sum((n - 1) * step for n, step in zip(size, stride)) + 1 if 0 not in size else 0
        if needed > self._data.size:
            item = self._data.itemsize
            raise RuntimeError(f"setStorage: sizes {size}, strides {stride}, storage offset {offset}, and itemsize "
                               f"{item} requiring a storage size of {needed * item} are out of bounds for storage of "
                               f"size {self._data.size * item} (here the storage is the tensor's own elements)")
        return apply(P.AsStrided, self, size=tuple(size), stride=tuple(stride), offset=offset)

    def _as_strided_offset(self, storage_offset):
        """as_strided's offset into this tensor's elements, checked: the tensor must be contiguous, and an explicit
        storage_offset (torch's counts from its storage's start) needs a tensor that starts its memory."""
        if storage_offset is not None:
            storage_offset = _position("as_strided", "storage_offset", storage_offset)
            if storage_offset < 0:
                raise RuntimeError(f"Tensor: invalid storage offset {storage_offset}")
        if not self._data.flags.c_contiguous:
            raise RuntimeError("as_strided: the tensor is not contiguous (torch's reads its memory, whose order a "
                               "view's strides decide): call .contiguous() first")
        if storage_offset is None:
            return 0
        memory = self._data
        while isinstance(memory.base, np.ndarray):
            memory = memory.base
        if memory.__array_interface__["data"][0] != self._data.__array_interface__["data"][0]:
            raise RuntimeError("as_strided: storage_offset counts from the start of torch's storage, and this tensor "
                               "is a view that starts inside another's memory: leave storage_offset out (this "
                               "tensor's start), or call .contiguous() first")
        return storage_offset

    def unsqueeze(self, dim: int) -> Tensor:
        d = _axis(_int_dim("unsqueeze", dim), self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """Drop size-1 dims (all of them, or those of dim among them; others are left, as torch)."""
        dims = range(self.ndim) if dim is None else _reduce_axis(dim, self.ndim)
        dims = () if dims is None else (dims if isinstance(dims, (tuple, range)) else (dims,))
        dims = [d for d in dims if self.shape[d] == 1]
        return self.reshape(tuple(n for d, n in enumerate(self.shape) if d not in dims))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        _int_dim("flatten", start_dim, "start_dim"), _int_dim("flatten", end_dim, "end_dim")
        if self.ndim == 0:
            _reduce_axis(start_dim, 0), _reduce_axis(end_dim, 0)
            return self.reshape(1)
        a, b = _axis(start_dim, self.ndim), _axis(end_dim, self.ndim)
        if a > b:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(self.shape[:a] + (int(np.prod(self.shape[a:b + 1])),) + self.shape[b + 1:])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Split dim into `sizes` (one of them may be -1), as torch's: flatten's inverse."""
        if not _is_int(dim):
            raise TypeError(f"unflatten: dim must be an int, got {type(dim).__name__} {dim!r}")
        if not isinstance(sizes, (tuple, list)) or not all(_is_int(n) for n in sizes):
            raise TypeError(f"unflatten: sizes must be a tuple of ints, got {sizes!r}")
        d = _axis(dim, max(self.ndim, 1))
        if not sizes:
            raise RuntimeError("unflatten: sizes must be non-empty")
        n = self.shape[d] if self.ndim else 1
        if not _sizes_multiply_to(sizes, n):
            raise RuntimeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                               f"({n}) in the input tensor (at most one -1)")
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    def expand(self, *sizes: int | Sequence[int], size: Sequence[int] | None = None) -> Tensor:
        """A view of size-1 dims repeated to `sizes` (-1 keeps a dim; new dims go in front), as torch."""
        sizes = _args_or_keyword("expand", sizes, "size", size)
        given = bool(sizes)   # (x.expand([]) of a 0-d x gives x, as torch; x.expand() is refused, as torch)
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
        if not sizes and (self.ndim or not given):
            raise TypeError(f"expand: give the sizes to expand to (the tensor has shape {tuple(self.shape)})")
        bad = [n for n in sizes if not isinstance(n, (int, np.integer)) or isinstance(n, (bool, np.bool_))]
        if bad:
            raise TypeError(f"expand: sizes must be ints, got {type(bad[0]).__name__} {bad[0]!r} in {sizes}")
        extra = len(sizes) - self.ndim
        if extra < 0:
            raise ShapeError(f"expand: {len(sizes)} sizes for a {self.ndim}-D tensor (shape {tuple(self.shape)})")
        shape = tuple(self.shape[i - extra] if n == -1 and i >= extra else n for i, n in enumerate(sizes))
        for i, n in enumerate(self.shape):
            if n != 1 and n != shape[i + extra]:
                raise ShapeError(f"expand: the tensor's shape {tuple(self.shape)} cannot be expanded to {sizes} (dim "
                                 f"{i} has size {n}, not 1)")
        if any(n < 0 for n in shape):
            raise ValueError(f"expand: sizes {sizes}: -1 is only allowed for an existing dim")
        return self if shape == self.shape else apply(P.Expand, self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor: return self.expand(other.shape)
    def view_as(self, other: Tensor) -> Tensor: return self.view(other.shape)
    def reshape_as(self, other: Tensor) -> Tensor: return self.reshape(other.shape)

    def flip(self, *order: int | Sequence[int], dims: Sequence[int] | None = None) -> Tensor:
        dims = _args_or_keyword("flip", order, "dims", dims)
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        dims = _axis(dims, self.ndim) if self.ndim else ()
        reversed_view = apply(P.GetItem, self, index=tuple(slice(None, None, -1) if d in dims else slice(None)
                                                           for d in range(self.ndim)))
        return apply(P.Copy, reversed_view)   # a copy, as torch's flip: an in-place write of self must not show

    def repeat(self, *sizes: int | Sequence[int]) -> Tensor:
        """The tensor tiled sizes[i] times along each dim (extra leading sizes add dims), as torch's repeat;
        numpy's np.tile, not np.repeat. Differentiable: an expand, whose gradient sums, then a reshape."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
        bad = [n for n in sizes if not _is_int(n)]
        if bad:
            raise TypeError(f"repeat: sizes must be ints, got {type(bad[0]).__name__} {bad[0]!r} in {sizes}")
        if len(sizes) < self.ndim or any(n < 0 for n in sizes):
            raise ValueError(f"repeat: sizes must be at least one non-negative int per dim of the tensor "
                             f"(shape {tuple(self.shape)}), got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        x = self.reshape(tuple(d for n in shape for d in (1, n)))   # (1, n0, 1, n1, ...)
        x = x.expand(tuple(d for r, n in zip(sizes, shape) for d in (r, n)))
        out = x.reshape(tuple(r * n for r, n in zip(sizes, shape)))
        if np.may_share_memory(out._data, self._data):   # numpy's view (sizes all 1, or a broadcast of a size-1
            out = apply(P.Copy, out)   # dim): a copy, as torch's repeat, that in-place writes may change alone
        return out

    def __getitem__(self, index: Any) -> Tensor:
        index = _checked_index(self, index)
        ints_first = _ints_first(index)
        if ints_first is not None:  # x[1, :, idx]: torch applies the int first (see _ints_first)
            return self[ints_first[0]][ints_first[1]]
        return apply(P.GetItem, self, index=index)

    def _index_put(self, index: Any, value: Tensor) -> Tensor:
        """The tensor `x[index] = value` makes of x, out of place (IndexPut; index and value checked by
        __setitem__, inplace.py): value converted to x's dtype first, as torch's index_put_ converts it."""
        if value.dtype != self.dtype:
            value = (value.astype(self.dtype) if self.dtype.kind == "f"
                     else Tensor._make(_converted(value._data, self.dtype), False))
        return apply(P.IndexPut, self, value, index=index)

    def split(self, split_size: int | Sequence[int], dim: int | None = None, *,
              axis: int | None = None) -> tuple[Tensor, ...]:
        """Pieces of `split_size` each (the last may be smaller), or of the listed sizes, as a tuple as in
        torch (torch names the method's argument split_size, torch.split's split_size_or_sections)."""
        dim = _one_dim("split", dim, axis, 0)
        axis = _axis(dim, self.ndim)
        n, size = self.shape[axis], split_size
        if _is_int(size):
            if size <= 0:
                raise ShapeError(f"split size must be positive, got {size}")
            sizes = [int(size)] * (n // size)
            if n % size:
                sizes.append(int(n % size))
        elif isinstance(size, (tuple, list)) and all(_is_int(s) for s in size):
            sizes = [int(s) for s in size]
            if sum(sizes) != n:
                raise ShapeError(f"split sizes {sizes} must add up to the axis length {n}")
        else:  # sizes [2.7, 1.2] would have been cut to [2, 1]
            raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, got "
                            f"{type(size).__name__} {size!r}")
        return tuple(apply(P.Split, self, sizes=tuple(sizes), axis=axis))

    def chunk(self, chunks: int, dim: int | None = None, *, axis: int | None = None) -> tuple[Tensor, ...]:
        """`chunks` pieces of equal size (the last smaller if the axis does not divide), as a tuple."""
        if not _is_int(chunks):
            raise TypeError(f"chunk: chunks must be an int, got {type(chunks).__name__} {chunks!r}")
        if chunks < 1:
            raise ValueError(f"chunk: chunks must be >= 1, got {chunks}")
        dim = _one_dim("chunk", dim, axis, 0)
        axis = _axis(dim, self.ndim)
        n = self.shape[axis]
        if n == 0:  # torch: `chunks` empty pieces (a zero-sized LSTM state still has its 4 gates)
            empty = (slice(None),) * axis + (slice(0, 0),)
            return tuple(self[empty] for _ in range(chunks))
        return self.split(-(-n // chunks), axis)

    def unbind(self, dim: int | None = None, *, axis: int | None = None) -> tuple[Tensor, ...]:
        """The slices along `dim` (e.g. a sequence's time steps), each without that dim, as a tuple."""
        if self.ndim == 0:
            raise ValueError("unbind needs at least a 1-D tensor")
        dim = _one_dim("unbind", dim, axis, 0)
        return tuple(apply(P.Unstack, self, axis=_axis(dim, self.ndim)))

    # -- softmax family
    def softmax(self, dim: int | None = None, dtype: npt.DTypeLike | None = None, *,
                axis: int | None = None) -> Tensor:
        """Along dim; without one, -1 up to 2-D (what torch's implicit choice gives there), refused beyond. With
        dtype, the input is cast to it first, as torch's (a float64 softmax of float32 logits)."""
        dim = _one_dim("softmax", dim, axis, _softmax_default("softmax", dim, axis, self.ndim))
        x = self if dtype is None else self._cast_for("softmax", dtype)
        return apply(P.Softmax, x._floating("softmax"), axis=_axis(dim, self.ndim) if self.ndim else None)

    def log_softmax(self, dim: int | None = None, dtype: npt.DTypeLike | None = None, *,
                    axis: int | None = None) -> Tensor:
        """As softmax(), of which it is the log (computed stably); dtype as softmax's."""
        dim = _one_dim("log_softmax", dim, axis, _softmax_default("log_softmax", dim, axis, self.ndim))
        x = self if dtype is None else self._cast_for("log_softmax", dtype)
        return apply(P.LogSoftmax, x._floating("log_softmax"), axis=_axis(dim, self.ndim) if self.ndim else None)

    # -- matrix products, selections and rearrangements a torch user reaches for (torch 2.13's names and errors)
    def mm(self, mat2: Tensor) -> Tensor:
        """The product of two matrices, as torch.mm: both 2-D (no broadcasting, no 1-D promotion: that is
        matmul's), of one dtype; int64 matrices give int64."""
        _check_product_operands("mm", self, mat2)
        return apply(P.Matmul, self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        """Batches of matrix products, as torch.bmm: (b, n, m) and (b, m, p) give (b, n, p); no broadcasting of
        the batch (that is matmul's)."""
        _check_product_operands("bmm", self, mat2)
        return apply(P.Matmul, self, mat2)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        """The entries at `index` (a 1-D or 0-d int64/int32 tensor, or numpy int array) along `dim`, as
        torch.index_select: `out[i][j] = self[i][index[j]]` for dim 1; dim keeps its place, with len(index)
        entries. An index may repeat: its gradient adds up there."""
        d = _one_int_dim("index_select", dim, self.ndim)
        idx = _select_index(index, self.shape[d] if self.ndim else 1)
        if self.ndim == 0:
            if idx.size != 1:
                raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} "
                                   "value(s) (as torch)")
            return apply(P.Copy, self)
        return apply(P.GetItem, self, index=(slice(None),) * d + (idx,))

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """The entries moved `shifts` places along `dims` (one shift per dim), those pushed past the end coming
        back at the start, as torch.roll; without dims the flattened tensor rolls, then takes its shape back.
        A copy, as torch's; the gradient rolls back."""
        shifts = _int_tuple("roll", "shifts", shifts)
        if not shifts:
            raise RuntimeError("roll: `shifts` required (as torch)")
        if dims is None:
            if len(shifts) != 1:
                raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:0 (as torch: "
                                   "several shifts need their dims)")
            return self.flatten()._rolled(shifts[0], 0).reshape(self.shape)
        dims = _int_tuple("roll", "dims", dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
        if self.ndim == 0:
            raise IndexError(f"roll: Dimension specified as {dims[0]} but tensor has no dimensions (as torch)")
        out = self
        for shift, dim in zip(shifts, dims):   # one dim after the other, as torch (a dim named twice rolls twice)
            out = out._rolled(shift, _one_int_dim("roll", dim, self.ndim))
        return out

    def _rolled(self, shift, d):
        """roll along one dim d (normalised): the last `shift` entries (mod the size) put first, by a cat."""
        n = self.shape[d]
        k = shift % n if n else 0
        if k == 0:
            return apply(P.Copy, self)
        before = (slice(None),) * d
        return concatenate([self[before + (slice(n - k, n),)], self[before + (slice(0, n - k),)]], d)

    def repeat_interleave(self, repeats: int | Tensor, dim: int | None = None, *,
                          output_size: int | None = None) -> Tensor:
        """Each entry along `dim` repeated `repeats` times in place (an int, or a tensor of one count per entry or
        one count for all), as torch.repeat_interleave and numpy's np.repeat (not repeat(), which tiles); without
        dim the flattened tensor's entries. output_size, if given, must be the result's length (torch uses it to
        skip a sync). The gradient sums each entry's copies."""
        if dim is not None and self.ndim == 0:
            raise IndexError(f"repeat_interleave: a 0-d tensor has no dim {dim} (as torch): pass dim=None")
        x, d = (self.flatten(), 0) if dim is None else (self, _one_int_dim("repeat_interleave", dim, self.ndim))
        counts = _repeat_counts(repeats, x.shape[d])
        if output_size is not None:
            if not _is_int(output_size):
                raise TypeError(f"repeat_interleave: output_size must be an int, got {type(output_size).__name__} "
                                f"{output_size!r}")
            if output_size != counts.sum():
                raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {counts.sum()} but got "
                                   f"{output_size} (as torch)")
        return x.index_select(d, np.repeat(np.arange(x.shape[d], dtype=np.int64), counts))

    # -- division with rounding (div above), fmod and erf
    def fmod(self, other: Tensor | npt.ArrayLike) -> Tensor:
        """The remainder of self / other with self's sign (C's fmod: `fmod(-7, 2)` is -1), as torch.fmod; `%`
        (remainder) takes the divisor's sign. int64 stays int64 (a division by 0 is a RuntimeError)."""
        return self._binary(P.Fmod, other, "fmod")

    def erf(self) -> Tensor:
        """The error function, as torch.erf (a mask or indices read as float32, as torch promotes them); gradient
        2/sqrt(pi) exp(-x^2)."""
        return apply(P.Erf, self._numeric())

    # -- the gamma function's logs and derivatives, erfc, erfinv (kernels/special.py: numpy has none)
    def erfc(self) -> Tensor:
        """1 - erf(x) without cancellation for large x (libm's erfc), as torch.erfc; gradient -2/sqrt(pi) exp(-x^2)."""
        return apply(P.Erfc, self._numeric())

    def erfinv(self) -> Tensor:
        """The inverse of erf, as torch.erfinv: +-inf at +-1, NaN outside [-1, 1]; gradient sqrt(pi)/2 exp(out^2)."""
        return apply(P.Erfinv, self._numeric())

    def lgamma(self) -> Tensor:
        """log |Gamma(x)|, as torch.lgamma (inf at 0, -1, -2, ...); gradient digamma(x)."""
        return apply(P.Lgamma, self._numeric())

    def digamma(self) -> Tensor:
        """The derivative of lgamma, as torch.digamma (-inf at +0, NaN at the negative integers); gradient
        polygamma(1, x)."""
        return apply(P.Polygamma, self._numeric(), n=0)

    def polygamma(self, n: int) -> Tensor:
        """The n-th derivative of digamma, as torch.polygamma(n, x); gradient polygamma(n + 1, x)."""
        if not _is_int(n):
            raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        return apply(P.Polygamma, self._numeric(), n=int(n))

    def i0(self) -> Tensor:
        """The modified Bessel function of the first kind of order 0, as torch.i0; gradient i1(x)."""
        return apply(P.BesselI, self._numeric(), n=0)

    # -- more elementwise math: torch's rounding, trigonometry, logs and exps, and the compositions torch users
    # write every day (lerp, addcmul, nan_to_num...). Masks and indices are read as float32 numbers where torch
    # promotes them (sin of int64 is float32); the rounding functions keep int64 as int64, as torch's.
    def round(self, *, decimals: int = 0) -> Tensor:
        """Halves to even (`round(2.5)` is 2.0), as torch.round; decimals=d rounds to d digits after the point
        (before it if d < 0) as torch's kernel does, in the tensor's dtype. Gradient 0, as torch's."""
        if not _is_int(decimals):
            raise TypeError(f"round(): argument 'decimals' must be int, not {type(decimals).__name__}")
        if decimals != 0:
            return apply(P.Rounding, self._floating("round(decimals=...)"), op="round", decimals=int(decimals))
        return self._rounded("round")

    def floor(self) -> Tensor: return self._rounded("floor")
    def ceil(self) -> Tensor: return self._rounded("ceil")
    def trunc(self) -> Tensor: return self._rounded("trunc")
    fix = trunc   # torch's alias

    def _rounded(self, op):
        """floor/ceil/trunc/round: int64 comes back as itself (a copy), as torch's; a mask is refused, as torch's."""
        if self._floating(op, "fi")._data.dtype.kind != "f":
            return Tensor._make(self._data.copy(), False)
        return apply(P.Rounding, self, op=op)

    def sign(self) -> Tensor:
        """-1, 0 or 1 (0 at NaN, as torch's); int64 stays int64, a mask stays the mask; gradient 0."""
        if self._data.dtype.kind != "f":
            return Tensor._make(np.sign(self._data) if self._data.dtype.kind != "b" else self._data.copy(), False)
        return apply(P.Rounding, self, op="sign")

    sgn = sign   # (torch's sgn is sign for real numbers)

    def frac(self) -> Tensor:
        """self - trunc(self), with self's sign (`frac(-1.5)` is -0.5), as torch's; gradient 1."""
        return self - self._floating("frac").trunc()

    def reciprocal(self) -> Tensor: return 1.0 / self._numeric()
    def sin(self) -> Tensor: return apply(P.Sin, self._numeric())
    def cos(self) -> Tensor: return apply(P.Cos, self._numeric())
    def log1p(self) -> Tensor: return apply(P.Log1p, self._numeric())
    def tan(self) -> Tensor: return apply(P.Tan, self._numeric())
    def sinh(self) -> Tensor: return apply(P.Sinh, self._numeric())
    def cosh(self) -> Tensor: return apply(P.Cosh, self._numeric())
    def asin(self) -> Tensor: return apply(P.Asin, self._numeric())
    def acos(self) -> Tensor: return apply(P.Acos, self._numeric())
    def atan(self) -> Tensor: return apply(P.Atan, self._numeric())
    def asinh(self) -> Tensor: return apply(P.Asinh, self._numeric())
    def acosh(self) -> Tensor: return apply(P.Acosh, self._numeric())
    def atanh(self) -> Tensor: return apply(P.Atanh, self._numeric())

    def atan2(self, other: Tensor) -> Tensor:
        """The angle of the point (other, self), as torch.atan2 (float tensors; other a Tensor, as torch)."""
        _tensor_argument("atan2", "other", other)
        return self._numeric()._binary(P.Atan2, other._numeric(), "atan2")

    def expm1(self) -> Tensor: return apply(P.Expm1, self._numeric())
    def log2(self) -> Tensor: return apply(P.LogBase, self._numeric(), base=2)
    def log10(self) -> Tensor: return apply(P.LogBase, self._numeric(), base=10)
    def exp2(self) -> Tensor: return apply(P.Exp2, self._numeric())

    def logit(self, eps: float | None = None) -> Tensor:
        """log(x / (1 - x)), as torch.logit; with eps, x clamped to [eps, 1 - eps] first (gradient 0 outside)."""
        if eps is not None and (isinstance(eps, bool) or not isinstance(eps, numbers.Real)):
            raise TypeError(f"logit(): argument 'eps' must be float or None, not {type(eps).__name__}")
        return apply(P.Logit, self._numeric(), eps=None if eps is None else float(eps))

    def clamp_min(self, min: float | Tensor) -> Tensor: return self.clip(min=_bound("clamp_min", "min", min))
    def clamp_max(self, max: float | Tensor) -> Tensor: return self.clip(max=_bound("clamp_max", "max", max))

    def hypot(self, other: Tensor) -> Tensor:
        """sqrt(self^2 + other^2) without overflow, as torch.hypot (float tensors; other a Tensor, as torch)."""
        _tensor_argument("hypot", "other", other)
        return self._floating("hypot")._binary(P.Hypot, other._floating("hypot"), "hypot")

    def xlogy(self, other: Tensor | float) -> Tensor:
        """self * log(other), 0 where self is 0 (other 0 too), as torch.xlogy; ints read as float32."""
        return self._numeric()._binary(P.Xlogy, other, "xlogy")

    def lerp(self, end: Tensor, weight: float | Tensor) -> Tensor:
        """self + weight * (end - self), as torch.lerp computes it: from end, end - (end - self) * (1 - weight),
        where |weight| >= 0.5. Float tensors of one dtype (a 0-d weight takes self's); all three broadcast."""
        x = self._floating("lerp")
        end, weight = _lerp_operands(x, end, weight)
        diff = end - x
        if not isinstance(weight, Tensor):
            return x + weight * diff if -0.5 < weight < 0.5 else end - diff * (1 - weight)
        # the mask a comparison of the weight, not an array of its values: a compiled cell computes it per element
        return where((weight > -0.5) & (weight < 0.5), x + weight * diff, end - diff * (1 - weight))

    def addcmul(self, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
        """self + value * tensor1 * tensor2, as torch.addcmul (all three broadcast)."""
        return self + _times_value("addcmul", tensor1, value) * tensor2

    def addcdiv(self, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
        """self + value * tensor1 / tensor2, as torch.addcdiv (float tensors: torch refuses an integer division)."""
        if any(isinstance(t, Tensor) and t._data.dtype.kind != "f" for t in (tensor1, tensor2)):
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release "
                               "addcdiv will perform a true division of tensor1 and tensor2 (as torch): use "
                               "addcdiv(input, tensor1.float(), tensor2) or similar")
        return self + _times_value("addcdiv", tensor1, value) / tensor2

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """NaN, inf and -inf replaced by nan, posinf and neginf (by default the dtype's largest and smallest
        finite numbers), as torch.nan_to_num; int64 and masks come back as themselves. The gradient passes where
        the element is finite, 0 elsewhere, as torch's."""
        for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
            if value is not None and not isinstance(value, numbers.Real):
                raise TypeError(f"nan_to_num(): argument '{name}' must be float or None, not {type(value).__name__}")
        if self._data.dtype.kind != "f":
            return Tensor._make(self._data.copy(), False)
        info = np.finfo(self._data.dtype)
        posinf, neginf = info.max if posinf is None else posinf, info.min if neginf is None else neginf
        with np.errstate(over="ignore"):   # a bound beyond float32's range is inf, as torch's cast makes it
            nan, posinf, neginf = (Tensor._make(np.array(v, self._data.dtype), False) for v in (nan, posinf, neginf))
        # masks made by comparisons (traced in a compiled cell), not from the values: NaN fails both, inf one
        finite = (self > -np.inf) & (self < np.inf)
        return where(finite, self, where(self != self, nan, where(self > 0, posinf, neginf)))

    # -- comparisons of whole tensors, and the dtype and size questions torch code asks
    def isclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """A mask: |self - other| <= atol + rtol * |other| elementwise (equal infinities too; NaN only with
        equal_nan), as torch.isclose; both of one dtype, broadcast together."""
        _tensor_argument("isclose", "other", other)
        if other.dtype != self.dtype:
            raise RuntimeError(f"isclose: {self.dtype} did not match {other.dtype} (as torch)")
        for name, value in (("rtol", rtol), ("atol", atol)):
            if not value >= 0:
                raise RuntimeError(f"{name} must be greater than or equal to zero, but got {value}")
        equal_nan = _check_flag("isclose", "equal_nan", equal_nan)
        try:
            a, b = np.broadcast_arrays(self._data, other._data)
        except ValueError:
            raise ShapeError(f"isclose: shapes {tuple(self.shape)} and {tuple(other.shape)} do not broadcast") from None
        if a.dtype == bool:
            return Tensor._make(a == b, False)
        return Tensor._make(_close(a, b, rtol, atol, equal_nan), False)

    def equal(self, other: Tensor) -> bool:
        """Whether other has self's shape and values (NaN equals nothing), as torch.equal."""
        _tensor_argument("equal", "other", other)
        return self.shape == other.shape and bool(np.array_equal(self._data, other._data))

    def signbit(self) -> Tensor:
        """A mask of the elements whose sign bit is set (-0.0 and -nan too), as torch.signbit."""
        return Tensor._make(np.signbit(self._data) if self._data.dtype != bool else np.zeros(self.shape, bool), False)

    def is_floating_point(self) -> bool: return self._data.dtype.kind == "f"
    def nelement(self) -> int: return self._data.size
    def ndimension(self) -> int: return self._data.ndim
    def element_size(self) -> int: return self._data.itemsize

    # -- tile, ravel, take_along_dim
    def tile(self, *dims: int | Sequence[int]) -> Tensor:
        """repeat() with ones put first for the dims not given, as torch.tile: `x.tile(2)` of a matrix repeats
        its columns twice."""
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return self.repeat((1,) * (self.ndim - len(dims)) + tuple(dims))

    def ravel(self) -> Tensor:
        """The elements as a 1-D tensor, as torch.ravel: a view where reshape gives one."""
        return self.reshape(-1)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        """gather() with self and indices broadcast in every dim but `dim` (without dim: of the flattened
        tensor), as torch.take_along_dim; argsort's or argmax(keepdim=True)'s indices pick the values. As torch
        2.13's, an index along `dim` is taken modulo its size (-1 is the last); without dim, gather's range check."""
        raw = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
        if raw.dtype.kind not in "iu":
            raise RuntimeError(f"take_along_dim(): dtype of indices should be int64 but got {raw.dtype} (as torch)")
        if dim is None:
            return self.reshape(-1).gather(0, raw.reshape(-1))
        d = _one_int_dim("take_along_dim", dim, self.ndim)
        if self.shape[d]:   # torch 2.13 wraps each index along dim (index % size): -1 is the last, size the first
            raw = np.remainder(raw, self.shape[d])
        if raw.ndim != self.ndim:
            raise RuntimeError(f"take_along_dim(): input and indices should have the same number of dimensions, "
                               f"but got {self.ndim} dimensions for input, and {raw.ndim} dimensions for indices")
        shape = list(np.broadcast_shapes(*((s[:d] + (1,) + s[d + 1:]) for s in (self.shape, raw.shape))))
        x = self.expand(tuple(shape[:d] + [self.shape[d]] + shape[d + 1:]))
        return x.gather(d, np.broadcast_to(raw, tuple(shape[:d] + [raw.shape[d]] + shape[d + 1:])))

    # -- torch's aliases: the same functions under torch's other names (the in-place ones: inplace.py)

    def true_divide(self, value: Tensor | npt.ArrayLike) -> Tensor:   # (torch names its argument value)
        return self.div(value)

    multiply = mul
    subtract = sub
    negative = neg
    absolute = abs
    arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
    arcsinh, arccosh, arctanh = asinh, acosh, atanh
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def swapdims(self, dim0: int, dim1: int) -> Tensor:   # (torch names swapdims' arguments dim0, dim1)
        return self.transpose(dim0, dim1)

    # -- torch's methods composed in tensor_functions.py (imported when they run: that module is built on this one)
    def tril(self, diagonal: int = 0) -> Tensor:
        """As torch: tensor_functions.tril."""
        from .tensor_functions import tril
        return tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """As torch: tensor_functions.triu."""
        from .tensor_functions import triu
        return triu(self, diagonal)

    def diag(self, diagonal: int = 0) -> Tensor:
        """As torch: tensor_functions.diag."""
        from .tensor_functions import diag
        return diag(self, diagonal)

    def outer(self, vec2: Tensor) -> Tensor:
        """As torch: tensor_functions.outer."""
        from .tensor_functions import outer
        return outer(self, vec2)

    def dot(self, tensor: Tensor) -> Tensor:
        """As torch: tensor_functions.dot."""
        from .tensor_functions import dot
        return dot(self, tensor)

    def mv(self, vec: Tensor) -> Tensor:
        """As torch: tensor_functions.mv."""
        from .tensor_functions import mv
        return mv(self, vec)

    def trace(self) -> Tensor:
        """As torch: tensor_functions.trace."""
        from .tensor_functions import trace
        return trace(self)

    def diff(self, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None) -> Tensor:
        """As torch: tensor_functions.diff."""
        from .tensor_functions import diff
        return diff(self, n, dim, prepend, append)

    def logaddexp(self, other: Tensor) -> Tensor:
        """As torch: tensor_functions.logaddexp."""
        from .tensor_functions import logaddexp
        return logaddexp(self, other)

    def median(self, dim: int | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
        """As torch: tensor_functions.median."""
        from .tensor_functions import median
        return median(self, dim, keepdim)

    def nanmedian(self, dim: int | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
        """As torch: tensor_functions.nanmedian."""
        from .tensor_functions import nanmedian
        return nanmedian(self, dim, keepdim)

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
               dim: int | None = None) -> Tensor | tuple[Tensor, ...]:
        """As torch: tensor_functions.unique."""
        from .tensor_functions import unique
        return unique(self, sorted, return_inverse, return_counts, dim)

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
        """As torch: tensor_functions.index_add."""
        from .tensor_functions import index_add
        return index_add(self, dim, index, source, alpha=alpha)

    # -- torch's products composed in products.py (imported when they run: that module is built on this one)
    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """As torch: products.addmm."""
        from .products import addmm
        return addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addmv(self, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """As torch: products.addmv."""
        from .products import addmv
        return addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addr(self, vec1: Tensor, vec2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """As torch: products.addr."""
        from .products import addr
        return addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """As torch: products.baddbmm."""
        from .products import baddbmm
        return baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """As torch: products.addbmm."""
        from .products import addbmm
        return addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def kron(self, other: Tensor) -> Tensor:
        """As torch: products.kron."""
        from .products import kron
        return kron(self, other)

    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        """As torch: products.cross (dim=None: the first dim of size 3)."""
        from .products import cross
        return cross(self, other, dim)

    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        """As torch: tensor_functions.index_copy."""
        from .tensor_functions import index_copy
        return index_copy(self, dim, index, source)

    def index_fill(self, dim: int, index: Tensor, value: float | Tensor) -> Tensor:
        """As torch: tensor_functions.index_fill."""
        from .tensor_functions import index_fill
        return index_fill(self, dim, index, value)

    def cummax(self, dim: int) -> ValuesIndices:
        """As torch: tensor_functions.cummax."""
        from .tensor_functions import cummax
        return cummax(self, dim)

    def cummin(self, dim: int) -> ValuesIndices:
        """As torch: tensor_functions.cummin."""
        from .tensor_functions import cummin
        return cummin(self, dim)

    def logcumsumexp(self, dim: int) -> Tensor:
        """As torch: tensor_functions.logcumsumexp."""
        from .tensor_functions import logcumsumexp
        return logcumsumexp(self, dim)

    # -- torch's linear algebra methods, in tensor_functions.py and linalg.py (imported when they run)
    def det(self) -> Tensor:
        """As torch: linalg.det."""
        from .linalg import det
        return det(self)

    def logdet(self) -> Tensor:
        """As torch: tensor_functions.logdet (NaN for a negative determinant)."""
        from .tensor_functions import logdet
        return logdet(self)

    def slogdet(self) -> tuple[Tensor, Tensor]:
        """As torch: linalg.slogdet, (sign, logabsdet)."""
        from .linalg import slogdet
        return slogdet(self)

    def inverse(self) -> Tensor:
        """As torch: linalg.inv."""
        from .linalg import inv
        return inv(self)

    def pinverse(self, rcond: float = 1e-15) -> Tensor:
        """As torch: linalg.pinv with rtol=rcond."""
        from .tensor_functions import pinverse
        return pinverse(self, rcond)

    def matrix_power(self, n: int) -> Tensor:
        """As torch: linalg.matrix_power."""
        from .linalg import matrix_power
        return matrix_power(self, n)

    def cholesky_solve(self, input2: Tensor, upper: bool = False) -> Tensor:
        """As torch: triangular.cholesky_solve(self, input2, upper)."""
        from .triangular import cholesky_solve
        return cholesky_solve(self, input2, upper)

    def cholesky_inverse(self, upper: bool = False) -> Tensor:
        """As torch: triangular.cholesky_inverse(self, upper)."""
        from .triangular import cholesky_inverse
        return cholesky_inverse(self, upper)

    def triangular_solve(self, A: Tensor, upper: bool = True, transpose: bool = False,
                         unitriangular: bool = False) -> tuple[Tensor, Tensor]:
        """As torch: triangular.triangular_solve(self, A, ...), (solution, cloned_coefficient)."""
        from .triangular import triangular_solve
        return triangular_solve(self, A, upper, transpose, unitriangular)

    def lu(self, pivot: bool = True, get_infos: bool = False) -> tuple[Tensor, ...]:
        """As torch: triangular.lu_old, torch.lu's (LU, pivots) or (LU, pivots, infos)."""
        from .triangular import lu_old
        return lu_old(self, pivot, get_infos)

    def lu_solve(self, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
        """As torch: triangular.lu_solve_old, torch.lu_solve(self, LU_data, LU_pivots)."""
        from .triangular import lu_solve_old
        return lu_solve_old(self, LU_data, LU_pivots)

    def type(self, dtype: Any = None, non_blocking: bool = False) -> str | Tensor:
        """As torch's x.type(): without a dtype, the legacy type name ("torch.FloatTensor", "torch.DoubleTensor",
        "torch.LongTensor", "torch.BoolTensor"); with one (such a name, or a dtype), the tensor converted to it."""
        _check_flag("type", "non_blocking", non_blocking)
        names = {v: k for k, v in _LEGACY_TYPE_NAMES.items()}
        if dtype is None:
            return names[self.dtype]
        if isinstance(dtype, str):
            if dtype not in _LEGACY_TYPE_NAMES:
                raise ValueError(f"invalid type: {dtype!r} (the types here: {', '.join(_LEGACY_TYPE_NAMES)})")
            dtype = _LEGACY_TYPE_NAMES[dtype]
        return self.astype(dtype)

    def count_nonzero(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """As torch: tensor_functions.count_nonzero."""
        from .tensor_functions import count_nonzero
        return count_nonzero(self, dim)

    def broadcast_to(self, size: Sequence[int]) -> Tensor:
        """As torch: `self.expand(size)`."""
        return self.expand(tuple(size))

    def where(self, condition: Tensor | np.ndarray, other: Tensor | npt.ArrayLike) -> Tensor:
        """As torch's x.where(condition, y): `where(condition, x, y)`."""
        return where(condition, self, other)


# tape.py, which this module imports, makes the results of operations of this class (apply, run_hooks)
set_tensor_class(Tensor)


# ----------------------------------------------------------------------------- the checks of the elementwise math
# (round ... take_along_dim, at the end of Tensor), in torch's words and error types
def _tensor_argument(fn, name, value):
    """An argument torch takes only as a Tensor (hypot's, isclose's and equal's other)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position 1) must be Tensor, not {type(value).__name__}")
    return value


def _lerp_operands(x, end, weight):
    """lerp's end (a Tensor of x's dtype) and weight (a number, or a Tensor of x's dtype; a 0-d one takes x's),
    checked as torch checks them."""
    _tensor_argument("lerp", "end", end)
    if end.dtype != x.dtype:
        raise RuntimeError(f"lerp: expected dtype {x.dtype} for `end` but got dtype {end.dtype} (as torch)")
    if not isinstance(weight, Tensor):
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise TypeError(f"lerp(): argument 'weight' must be a number or a Tensor, not {type(weight).__name__}")
        return end, float(weight)
    if weight.ndim == 0 and weight._data.dtype.kind == "f":
        return end, weight.astype(x.dtype)
    if weight.dtype != x.dtype:
        raise RuntimeError(f"lerp: expected dtype {x.dtype} for `weight` but got dtype {weight.dtype} (as torch)")
    return end, weight


def _times_value(fn, tensor1, value):
    """addcmul's and addcdiv's value * tensor1 (value a number, keyword-only as torch's)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise TypeError(f"{fn}(): argument 'value' must be a number, not {type(value).__name__}")
    if isinstance(tensor1, Tensor) and tensor1._data.dtype == bool:
        raise NotImplementedError(f"{fn}: not implemented for bool tensors (as torch): convert them first")
    return tensor1 if value == 1 else _times_alpha(tensor1, value)


def _close(a, b, rtol, atol, equal_nan):
    """isclose's mask, computed as torch's: equal, or NaN both (equal_nan), or a finite |a - b| within
    atol + |rtol * b| (in a's float dtype; integers in float64)."""
    close = a == b
    if equal_nan:
        close |= np.isnan(a) & np.isnan(b)
    if a.dtype.kind != "f":
        a, b = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):   # inf - inf: NaN, not close
        error = np.abs(a - b)
        close |= np.isfinite(error) & (error <= a.dtype.type(atol) + np.abs(a.dtype.type(rtol) * b))
    return close


# ----------------------------------------------------------------------------- the checks of mm, index_select,
# roll, repeat_interleave and to (the methods grouped at the end of Tensor), in torch's words and error types
def _check_product_operands(fn, a, b):
    """mm's (two matrices) and bmm's (two batches of one size) operands, refused as torch refuses them."""
    if not isinstance(b, Tensor):
        raise TypeError(f"{fn}(): argument 'mat2' (position 2) must be Tensor, not {type(b).__name__} (as torch)")
    ndim, first, second = (2, "self", "mat2") if fn == "mm" else (3, "batch1", "batch2")
    for name, t in ((first, a), (second, b)):
        if t.ndim != ndim:
            what = "a matrix" if ndim == 2 else "a 3D tensor"
            raise ShapeError(f"{fn}: {name} must be {what}, got shape {tuple(t.shape)} (as torch)")
    _check_product_dtypes(fn, a, b)
    if a.dtype == bool:
        raise NotImplementedError(f"{fn} of bool tensors is not implemented (as torch): convert them with .float() or "
                                  ".long()")
    if fn == "mm" and a.shape[1] != b.shape[0]:
        raise ShapeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                         f"{b.shape[0]}x{b.shape[1]})")
    if fn == "bmm" and b.shape[:2] != (a.shape[0], a.shape[2]):
        raise ShapeError(f"bmm: Expected size for first two dimensions of batch2 tensor to be: [{a.shape[0]}, "
                         f"{a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}] (batch1 has shape {tuple(a.shape)})")


def _select_index(index, size):
    """index_select's index as a 1-D int64 array, checked as torch checks it: an int64 or int32 Tensor (or numpy
    int array) of at most one dim, each value in [0, size)."""
    raw = index._data if isinstance(index, Tensor) else index
    if not isinstance(raw, np.ndarray):
        raise TypeError(f"index_select(): argument 'index' must be Tensor, not {type(index).__name__} (as torch)")
    if raw.dtype not in (np.dtype(np.int64), np.dtype(np.int32)):
        raise RuntimeError(f"index_select(): Expected dtype int32 or int64 for index, got {raw.dtype} (tr.tensor of "
                           "ints makes int64)")
    if raw.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {tuple(raw.shape)} (as torch)")
    if raw.size and (raw.min() < 0 or raw.max() >= size):
        bad = raw.min() if raw.min() < 0 else raw.max()
        raise IndexError(f"index_select(): index {bad} out of range in self (a dim of size {size}; as torch, "
                         "negative indices too)")
    return raw.reshape(-1).astype(np.int64, copy=False)


def _repeat_counts(repeats, n):
    """repeat_interleave's repeats as n counts (int64), checked as torch checks them: a non-negative int, or an
    int64/int32 tensor (or numpy int array) of 0 or 1 dims holding one count or n of them."""
    if _is_int(repeats):
        if repeats < 0:
            raise RuntimeError(f"repeat_interleave: Repeats must be non-negative, got {repeats} (as torch)")
        return np.full(n, repeats, dtype=np.int64)
    raw = repeats._data if isinstance(repeats, Tensor) else repeats
    if not isinstance(raw, np.ndarray):
        raise TypeError(f"repeat_interleave: repeats must be an int or an integer Tensor, got "
                        f"{type(repeats).__name__} {repeats!r} (as torch)")
    if raw.dtype.kind not in "iu":
        raise NotImplementedError(f"repeat_interleave: repeats must hold integers (int64 or int32), got dtype "
                                  f"{raw.dtype} (torch: not implemented for it)")
    if raw.ndim > 1:
        raise RuntimeError(f"repeat_interleave: repeats must be 0-dim or 1-dim tensor, got shape {tuple(raw.shape)}")
    if raw.size not in (1, n):
        raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {raw.size} and input.size(dim) = {n} (as torch)")
    if np.any(raw < 0):
        raise RuntimeError("repeat_interleave: repeats can not be negative (as torch)")
    return np.broadcast_to(raw.reshape(-1), (n,)).astype(np.int64)


def _nuclear_norm(x, dim, keepdim):
    """norm(p="nuc"): the sum of the singular values over dim (two dims) or the two of a matrix, as torch's."""
    from .linalg import matrix_norm  # (a local import: linalg is built on this module)
    dims = tuple(range(x.ndim)) if dim is None else dim
    if not isinstance(dims, (list, tuple)) or len(dims) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dims} (as torch)")
    return matrix_norm(x, "nuc", tuple(dims), keepdim)


# x.to(True), x.to(2.5): torch wraps the number as a tensor and takes its dtype (an int is a device index)
_SCALAR_DTYPES = {bool: np.dtype(np.bool_), float: np.dtype(np.float64)}


def _to_arguments(args, dtype, device):
    """Tensor.to's positional arguments read as torch reads them: a device, a dtype or a tensor (its dtype) first
    (a device may be followed by a dtype), then non_blocking and copy as bools. The device is checked to be the
    CPU; returns (the dtype or None, the positional flags)."""
    from .nn.checks import check_device, is_device  # (a local import: nn imports this module)
    args = list(args)
    if args and type(args[0]) in _SCALAR_DTYPES:   # torch reads a Python bool or float first as to(other), the
        dtype = _given_once("dtype", dtype, _SCALAR_DTYPES[type(args.pop(0))])   # number as a tensor: its dtype
    else:
        if args and is_device(args[0]):
            device = _given_once("device", device, args.pop(0))
        if args and not isinstance(args[0], (bool, np.bool_)):
            first = args.pop(0)
            dtype = _given_once("dtype", dtype, first.dtype if isinstance(first, Tensor) else first)
    if len(args) > 2 or not all(isinstance(a, (bool, np.bool_)) for a in args) \
            or (device is not None and dtype is None and args):   # to(device, non_blocking): torch's TypeError too
        raise TypeError(f"to: unexpected argument {args[0]!r}; torch's forms are to(device, dtype, "
                        "non_blocking, copy), to(dtype, non_blocking, copy) and to(tensor, non_blocking, copy)")
    check_device("to", device)
    return dtype, args


# ----------------------------------------------------------------------------- the helpers of the operators that
# make or recognise Tensors (those that need no Tensor are in tensor_args.py)
# torch's RuntimeErrors, in its words
_MASK_SUBTRACTION = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                     "invert a mask, use the `~` or `logical_not()` operator instead.")
_MASKS_SUBTRACTION = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                      "`logical_xor()` operator instead.")
_MASK_LOGIC = {P.Add: "or", P.Mul: "and"}  # torch: a mask plus / times a mask is a mask
# on ints and masks, int64 as torch; a true division gives floats
_INT_ARITHMETIC = (P.Add, P.Sub, P.Mul, P.FloorDivide, P.Remainder, P.RoundedDivide, P.Fmod)


# x.type()'s legacy names of the dtypes a Tensor holds, as torch's
_LEGACY_TYPE_NAMES = {"torch.FloatTensor": np.dtype(np.float32), "torch.DoubleTensor": np.dtype(np.float64),
                      "torch.LongTensor": np.dtype(np.int64), "torch.BoolTensor": np.dtype(np.bool_)}


def _integer_power(base: int, exponents: np.ndarray) -> np.ndarray:
    """base ** exponents of int64 (or bool) exponents and an int base, in int64 as torch's: a negative exponent
    gives 0, unless the base is 1 (1) or -1 (+-1 by the exponent's parity), as torch's integer pow."""
    e = exponents.astype(np.int64)
    out = np.power(np.int64(base), np.maximum(e, 0))
    negative = e < 0
    if negative.any():
        out[negative] = 1 if base == 1 else np.where(e[negative] % 2, -1, 1) if base == -1 else 0
    return out


def _times_alpha(other, alpha):
    """add's and sub's other * alpha: a float Tensor times a number is a Scale, which saves nothing (torch's add and
    sub save no tensor, so a second backward through them runs); anything else the operator's product."""
    if isinstance(other, Tensor) and other._data.dtype.kind == "f" and isinstance(alpha, numbers.Real) \
            and not isinstance(alpha, bool):
        return apply(P.Scale, other, p=alpha)
    return other * alpha


def _is_bool(other):
    """Whether `other` is a mask (a bool Tensor) or True/False: what torch's subtraction refuses (np.True_ is not
    a bool to torch: a mask minus it is "with a bool tensor", not "with two bool tensors")."""
    return isinstance(other, bool) or (isinstance(other, Tensor) and other._data.dtype == bool)


def _integral(other):
    """`other` as a Tensor if it holds ints or bools (a Tensor, a Python or numpy int, an int array), else None."""
    if isinstance(other, Tensor):
        return other if other._data.dtype.kind in "biu" else None
    if isinstance(other, (int, np.integer, np.bool_)) or (isinstance(other, np.ndarray) and other.dtype.kind in "biu"):
        return Tensor._make(np.asarray(other), False)
    return None


def _where_ints(cond, a, b):
    """where() of two integer or mask operands, without a gradient: a mask of two masks, else int64 values."""
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"where: condition {tuple(cond.shape)}, input {tuple(a.shape)} and other {tuple(b.shape)} "
                         "do not broadcast") \
            from None
    if a._data.dtype == bool and b._data.dtype == bool:
        return _off_tape(P.Where, a, b, cond)
    return _off_tape(P.Where, _as_int64(a), _as_int64(b), cond)


def _as_int64(t):
    return t if t._data.dtype == np.int64 else _off_tape(P.Cast, t, dtype=np.dtype(np.int64))


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


def _off_tape(prim, *inputs, **attrs):
    """apply() with grad mode off (no_grad()'s work, without its object): a result without a gradient
    (a mask, indices) that is still an operation, so that a traced cell sees where it comes from."""
    enabled, _grad_mode.enabled = _grad_mode.enabled, False
    try:
        return apply(prim, *inputs, **attrs)
    finally:
        _grad_mode.enabled = enabled


def _clip_bounds_of_one_kind(lo, hi):
    """clamp's bounds as torch's overloads take them: both numbers or both Tensors (None for either). A number and a
    Tensor are torch's TypeError, unless the Tensor is 0-d without a gradient: torch then reads it as a number."""
    if lo is None or hi is None or isinstance(lo, Tensor) == isinstance(hi, Tensor):
        return lo, hi
    tensor = lo if isinstance(lo, Tensor) else hi
    if tensor.ndim or tensor.requires_grad:
        raise TypeError(f"clamp: min and max must be both numbers or both Tensors (as torch's), got min "
                        f"{type(lo).__name__} and max {type(hi).__name__}")
    return (lo.item() if lo is tensor else lo), (hi.item() if hi is tensor else hi)


def _strided_layout(name, values):
    """as_strided's size or stride: a sequence of ints (torch.Size, a tuple, a list), as a list of Python ints."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"as_strided(): argument '{name}' must be tuple of ints, but found {type(values).__name__}")
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"as_strided(): argument '{name}' must be tuple of ints, but found element of type "
                            f"{type(v).__name__} at pos {i}")
    return [int(v) for v in values]


def _as_numbers(t, dtype):
    """A mask (bool) or index (int) tensor's values as numbers of the float `dtype` (torch's promotion,
    1.0 for True): no gradient, as torch's masks and indices have none. A Cast, not a constant, so that
    `h * (x > 0)` in a compiled cell is computed from the data at every step."""
    return _off_tape(P.Cast, t, dtype=np.dtype(dtype))


def _gather_index(index, shape, d, fn):
    """gather's (and scatter's) index as an int64 array, checked as torch checks it: an integer Tensor (or array) of the
    input's number of dims, no larger than the input in any dim but `d`, its values in [0, shape[d]). Users
    make index arrays in numpy (their Tensors hold floats); argmax, topk and multinomial give int64 Tensors."""
    raw = index._data if isinstance(index, Tensor) else index
    if not isinstance(raw, np.ndarray):
        raise TypeError(f"{fn}: index must be an int64 Tensor or a numpy int array, got {type(index).__name__}")
    if raw.dtype.kind not in "iu":
        raise TypeError(f"{fn}: index must be an int64 (or int32) Tensor or numpy array, got dtype {raw.dtype} "
                        "(tr.tensor makes float tensors: pass np.array(indices, dtype=np.int64))")
    if raw.ndim != len(shape) and not (len(shape) == 0 and raw.ndim == 1):   # (a 0-d input takes a 1-D one too)
        raise ShapeError(f"{fn}: index must have the input's number of dims ({len(shape)}), got shape "
                         f"{tuple(raw.shape)}")
    for i, (n, m) in enumerate(zip(raw.shape, shape)):
        if i != d and n > m:
            raise ShapeError(f"{fn}: index of shape {tuple(raw.shape)} is larger than the input {shape} in dim {i}, "
                             f"which is not dim {d}")
    size = shape[d] if shape else 1
    if raw.size and (raw.min() < 0 or raw.max() >= size):
        bad = raw.min() if raw.min() < 0 else raw.max()
        raise ShapeError(f"{fn}: index {bad} is out of range for dim {d} of size {size}")
    return raw.astype(np.int64, copy=False)


def _centred(x, axes):
    """x minus its mean over axes, for var(). The mean is a constant here: its own gradient term is
    sum(x - mean) * ... = 0, so leaving it out changes nothing but the rounding, and gives torch's
    2 (x - mean) / (N - correction) exactly. numpy's mean divides by N, so equal values give a mean equal
    to them and a variance of exactly 0. A constant taken from the data cannot be compiled, so while this thread
    traces a cell's step (tape._trace_mode, compile/trace.py) the mean is recorded: _traced_centred."""
    if _trace_mode.enabled:
        return _traced_centred(x, axes)
    n = _reduced_count(x.shape, axes)
    with np.errstate(all="ignore"):   # (inf and -inf give nan quietly, as torch's; var() is no tiny step's op)
        mean = np.mean(x._data, axis=axes, keepdims=True) if n else np.zeros((), x._data.dtype)
    return x - Tensor._make(mean.astype(x._data.dtype, copy=False), False)


def _traced_centred(x, axes):
    """_centred as recorded operations (a sum, a division by N as numpy's mean, a subtraction) that the
    code generator compiles; the mean's gradient term is then kept, which is 0 up to rounding."""
    return x - x.sum(axes, keepdim=True) / _reduced_count(x.shape, axes)


def _root_zero_safe(x, power):
    """x ** power with a gradient of 0 (not 0 * inf) where x is 0, as torch's norm and std backward."""
    return apply(P.Root, x, p=float(power))


def _sqrt_zero_safe(x):
    return _root_zero_safe(x, 0.5)


def _checked_index(x, index, fn=None):
    """x[index]'s index (_index), checked against x's shape with numpy's own message; a negative step refused as
    torch's. For `x[index] = value` (fn), an index mixing ints and arrays torch orders otherwise is refused."""
    index = _index(index)
    if any(isinstance(i, slice) and i.step is not None and i.step < 0
           for i in (index if isinstance(index, tuple) else (index,))):
        raise ValueError(f"index {index!r}: a slice's step must be greater than zero, as torch's (numpy's "
                         "x[::-1] reverses; write x.flip(dim))")
    try:
        np.empty(x.shape, dtype=bool)[index]  # validate with numpy's own message, cheaply
    except IndexError as e:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape {tuple(x.shape)}: {e}") from None
    if fn is not None and _ints_first(index) is not None:
        raise NotImplementedError(f"{fn}: an index mixing ints and index tensors ({index!r}) orders the dims as "
                                  "torch does only when read: index in two steps, x[i][:, idx] = value")
    return index


def _index(index):
    """Tensors and lists inside an index become numpy arrays. A float Tensor is refused, as torch refuses
    it, whole numbers or not (tr.tensor([0, 2]) is int64; tr.Tensor([0, 2]) is float32: say .long()). A 0-d
    integer tensor or array is an int, as torch reads it: x[tr.tensor(1)] is x[1], a view."""
    def convert(i):
        if isinstance(i, Tensor):
            if i._data.dtype.kind not in "biu":
                raise IndexError(f"tensors used as indices must be long (int64) or bool tensors, as torch's; got "
                                 f"dtype {i.dtype} (make the indices with tr.tensor([...]) of ints, or .long())")
            i = i._data
        if isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype.kind in "iu":
            return int(i)
        if isinstance(i, list):
            return np.asarray(i)
        return i
    return tuple(convert(i) for i in index) if isinstance(index, tuple) else convert(index)


def _fill_value(value, fn="full", name="fill_value"):
    """full()'s fill_value as a number (a 0-d Tensor too, as torch). np.full would take the string '1' as 1,
    True as 1.0 (torch makes a bool tensor) and broadcast an array into the shape, silently. fill_ keeps its
    tensor's dtype, so a bool is a number there, as torch's (True is 1, or True in a mask)."""
    if isinstance(value, (Tensor, np.ndarray)) and value.ndim == 0:
        value = _raw(value).item()
    if fn == "fill_" and isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__} {value!r}")
    return value


# ----------------------------------------------------------------------------- torch's function spellings
# (tr.exp(x) is x.exp()), and cat, stack, where and multinomial, which take several tensors or make new ones
def isnan(input: Tensor) -> Tensor: return input.isnan()
def isinf(input: Tensor) -> Tensor: return input.isinf()
def isfinite(input: Tensor) -> Tensor: return input.isfinite()
def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return input.allclose(other, rtol, atol, equal_nan)
def exp(input: Tensor) -> Tensor: return input.exp()
def log(input: Tensor) -> Tensor: return input.log()
def tanh(input: Tensor) -> Tensor: return input.tanh()
def sigmoid(input: Tensor) -> Tensor: return input.sigmoid()
def relu(input: Tensor) -> Tensor: return input.relu()
def abs(input: Tensor) -> Tensor: return input.abs()
def sqrt(input: Tensor) -> Tensor: return input.sqrt()
def maximum(input: Tensor, other: Tensor | npt.ArrayLike) -> Tensor: return input.maximum(other)
def minimum(input: Tensor, other: Tensor | npt.ArrayLike) -> Tensor: return input.minimum(other)
def softmax(input: Tensor, dim: int | None = None, dtype: npt.DTypeLike | None = None, *,
            axis: int | None = None) -> Tensor:
    return input.softmax(dim, dtype, axis=axis)
def log_softmax(input: Tensor, dim: int | None = None, dtype: npt.DTypeLike | None = None, *,
                axis: int | None = None) -> Tensor:
    return input.log_softmax(dim, dtype, axis=axis)
def clip(input: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    return input.clip(min, max)
clamp = clip
def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int | None = None, *,
          axis: int | None = None) -> tuple[Tensor, ...]:
    """torch.split: tensor.split(split_size_or_sections, dim), a tuple of pieces."""
    return tensor.split(split_size_or_sections, dim, axis=axis)
def chunk(input: Tensor, chunks: int, dim: int | None = None, *, axis: int | None = None) -> tuple[Tensor, ...]:
    """torch.chunk: input.chunk(chunks, dim), a tuple of pieces."""
    return input.chunk(chunks, dim, axis=axis)
def unbind(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> tuple[Tensor, ...]:
    """torch.unbind: input.unbind(dim), a tuple of the slices along dim."""
    return input.unbind(dim, axis=axis)


def _same_dtype_tensors(tensors, fn):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{fn} needs at least one tensor")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [first._operand(t) if first is not None else Tensor(t) for t in tensors]


def concatenate(tensors: Sequence[Tensor], dim: int | None = None, *, axis: int | None = None) -> Tensor:
    axis = _one_dim("concatenate", dim, axis, 0)
    tensors = _same_dtype_tensors(tensors, "concatenate")
    # torch's legacy empty tensors: shape (0,) ones are skipped beside tensors of other shapes
    skipped = tuple(i for i, t in enumerate(tensors) if t.shape == (0,))
    if len(skipped) == len(tensors) or any(t.ndim == 0 for t in tensors):
        skipped = ()
    first = next(i for i in range(len(tensors)) if i not in skipped)
    ref = tensors[first]._data.shape
    if not ref:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated (use stack, or reshape to 1-D)")
    axis = _axis(axis, len(ref))
    for i, t in enumerate(tensors):
        if i in skipped:
            continue
        if t.ndim != len(ref) or any(a != b for k, (a, b) in enumerate(zip(t.shape, ref)) if k != axis):
            raise ShapeError(f"concatenate: tensor {i} has shape {tuple(t.shape)}, which does not match tensor "
                             f"{first}'s shape {ref} outside axis {axis}")
    if skipped:
        return apply(P.Concatenate, *tensors, axis=axis, skipped=skipped)
    return apply(P.Concatenate, *tensors, axis=axis)


cat = concatenate


def stack(tensors: Sequence[Tensor], dim: int | None = None, *, axis: int | None = None) -> Tensor:
    axis = _one_dim("stack", dim, axis, 0)
    tensors = _same_dtype_tensors(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: tensor {i} has shape {tuple(t.shape)}, tensor 0 has {tuple(tensors[0].shape)}; "
                             "all must match")
    axis = _axis(axis, tensors[0].ndim + 1)   # the new dim may go after the last one
    return apply(P.Stack, *tensors, axis=axis)


def where(condition: Tensor | np.ndarray, input: Tensor | npt.ArrayLike, other: Tensor | npt.ArrayLike) -> Tensor:
    """Elementwise `input if condition else other`, as torch.where: condition is a boolean mask (x > 0) or
    a boolean array; any other dtype is refused as torch refuses it (write condition != 0 for "nonzero")."""
    cond = condition if isinstance(condition, Tensor) else Tensor._make(np.asarray(condition), False)
    if cond._data.dtype != bool:
        raise TypeError(f"where: condition must be a boolean tensor or array (e.g. x > 0), got dtype "
                        f"{cond._data.dtype}; for its nonzero elements write condition != 0")
    a, b = input, other
    ints = _integral(a), _integral(b)
    if None not in ints:   # indices and ints: int64; two masks: a mask (as torch)
        return _where_ints(cond, *ints)
    ref = a if isinstance(a, Tensor) and a._data.dtype.kind == "f" else b  # the float Tensor sets the dtype,
    if ref is a and a.ndim == 0 and isinstance(b, Tensor) and b.ndim and b._data.dtype.kind == "f":
        ref = b  # a dimensioned one's rather than a 0-d one's (torch's promotion; see Tensor._operand)
    if not isinstance(ref, Tensor) or ref._data.dtype.kind != "f":
        ref = a._numeric() if isinstance(a, Tensor) else Tensor(a)  # a mask or index tensor is read as float32
    a, b = ref._operand(a), ref._operand(b)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"where: condition {tuple(cond.shape)}, input {tuple(a.shape)} and other {tuple(b.shape)} "
                         "do not broadcast") \
            from None
    return apply(P.Where, a, b, cond)   # the mask is an input without gradient: traced where it comes from


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: np.random.Generator | None = None) -> Tensor:
    """int64 indices drawn from each row of `input` (1-D, or 2-D: one draw per row) read as unnormalised
    probabilities, as torch.multinomial; from the library's generator (tr.manual_seed) or `generator` (a numpy
    Generator). Without replacement an index is drawn at most once per row. The numbers are numpy's, not torch's."""
    probs, rng = _multinomial_probs(input, num_samples, replacement, generator)
    rows = probs.reshape(-1, probs.shape[-1]).astype(np.float64)
    if replacement:  # inverse CDF: a uniform number's place among the running sums (a zero weight is never hit)
        cdf = np.cumsum(rows, axis=1)
        u = rng.random((rows.shape[0], num_samples)) * cdf[:, -1:]
        out = np.empty(u.shape, np.int64)
        for r in range(len(rows)):
            out[r] = np.searchsorted(cdf[r], u[r], side="right")
        last = rows.shape[1] - 1 - np.argmax(rows[:, ::-1] > 0, axis=1)  # u rounded up to the total: the last
        out = np.minimum(out, last[:, None])                             # category that has weight
    else:  # the num_samples largest of p / Exp(1) keys: successive draws without replacement (torch's method)
        keys = rows / rng.exponential(size=rows.shape)
        out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor._make(out.astype(np.int64).reshape(probs.shape[:-1] + (num_samples,)), False)


def _multinomial_probs(input, num_samples, replacement, generator):
    """multinomial's arguments checked as torch checks them: (the weights as an array, the generator to draw from)."""
    if not isinstance(input, Tensor) or input._data.dtype.kind != "f":
        got = f"dtype {input.dtype}" if isinstance(input, Tensor) else type(input).__name__
        error = DTypeNotImplementedError if isinstance(input, Tensor) else TypeError   # torch: RuntimeError
        raise error(f"multinomial: input must be a float Tensor of probabilities, got {got}")
    if input.ndim not in (1, 2):
        raise ArgumentValueError(f"multinomial: input must be 1-D or 2-D (one distribution per row), got shape "
                                 f"{tuple(input.shape)}")
    if not _is_int(num_samples):
        raise TypeError(f"multinomial: num_samples must be an int, got {type(num_samples).__name__} {num_samples!r}")
    _check_flag("multinomial", "replacement", replacement)
    rng = _resolve_generator("multinomial", generator)
    probs, categories = input._data, input.shape[-1]
    if num_samples <= 0 or not replacement and num_samples > categories:
        limit = "at least 1" if replacement or num_samples <= 0 else f"at most {categories} without replacement"
        raise ArgumentValueError(f"multinomial: num_samples must be {limit}, got {num_samples}")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise ArgumentValueError("multinomial: input (the probabilities) contains inf, nan or a negative number")
    if probs.size and np.any(probs.reshape(-1, categories).sum(axis=1) <= 0):
        raise ArgumentValueError("multinomial: a row of input sums to 0: no distribution to draw from")
    return probs, rng


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    return input.gather(dim, index, sparse_grad=sparse_grad)


def scatter(input: Tensor, dim: int, index: Tensor, src: Tensor | float | None = None, *, value: float | None = None,
            reduce: str | None = None) -> Tensor:
    return input.scatter(dim, index, src, value=value, reduce=reduce)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return input.scatter_add(dim, index, src)


def cumsum(input: Tensor, dim: int, *, dtype: npt.DTypeLike | None = None) -> Tensor:
    return input.cumsum(dim, dtype=dtype)


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> ValuesIndices:
    return input.sort(dim, descending, stable=stable)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    return input.argsort(dim, descending, stable=stable)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    return input.topk(k, dim, largest, sorted)



# ----------------------------------------------------------------------------- torch's function spellings of
# mm, bmm, matmul, index_select, roll, repeat_interleave, div, fmod and erf
def _tensor_input(fn, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    return _tensor_input("mm", input).mm(mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    return _tensor_input("bmm", input).bmm(mat2)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """input @ other, as torch.matmul (1-D operands promoted, batch dims broadcast)."""
    return _tensor_input("matmul", input).matmul(other)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    return _tensor_input("index_select", input).index_select(dim, index)


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    return _tensor_input("roll", input).roll(shifts, dims)


def repeat_interleave(input: Tensor, repeats: int | Tensor | None = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """As torch.repeat_interleave; with input alone (an integer tensor of counts), the indices 0, 1, ... each
    repeated its count of times (int64): `repeat_interleave(tensor([1, 0, 2]))` is `tensor([0, 2, 2])`."""
    if repeats is None:
        counts = _tensor_input("repeat_interleave", input)   # (its dtype and shape checked as repeats are)
        positions = Tensor._make(np.arange(counts._data.size, dtype=np.int64), False)
        return positions.repeat_interleave(counts, 0, output_size=output_size)
    return _tensor_input("repeat_interleave", input).repeat_interleave(repeats, dim, output_size=output_size)


def div(input: Tensor | float, other: Tensor | npt.ArrayLike, *, rounding_mode: str | None = None) -> Tensor:
    """As torch.div; a number as input too (torch.div(5.0, x) is 5.0 / x)."""
    if not isinstance(input, Tensor) and isinstance(other, Tensor) and isinstance(input, (numbers.Real, np.generic)):
        return other._divide(input, rounding_mode, reflected=True)
    return _tensor_input("div", input).div(other, rounding_mode=rounding_mode)


divide = div   # torch's alias


def fmod(input: Tensor, other: Tensor | npt.ArrayLike) -> Tensor:
    return _tensor_input("fmod", input).fmod(other)


def erf(input: Tensor) -> Tensor:
    return _tensor_input("erf", input).erf()


def erfc(input: Tensor) -> Tensor: return _tensor_input("erfc", input).erfc()
def erfinv(input: Tensor) -> Tensor: return _tensor_input("erfinv", input).erfinv()
def lgamma(input: Tensor) -> Tensor: return _tensor_input("lgamma", input).lgamma()
def digamma(input: Tensor) -> Tensor: return _tensor_input("digamma", input).digamma()
def i0(input: Tensor) -> Tensor: return _tensor_input("i0", input).i0()


def polygamma(n: int, input: Tensor) -> Tensor:
    """As torch.polygamma(n, input): the n-th derivative of digamma."""
    return _tensor_input("polygamma", input).polygamma(n)


# ----------------------------------------------------------------------------- select, narrow, diagonal, movedim


def _position(fn, name, value):
    """An index, start, length, size, step or offset: an int, or a 0-d integer tensor (as torch reads one); a
    float or a bool is refused naming the argument."""
    if isinstance(value, Tensor) and value.ndim == 0 and value._data.dtype.kind in "iu":
        return int(value._data)
    if not _is_int(value):
        raise TypeError(f"{fn}(): argument '{name}' must be an int, got {type(value).__name__} {value!r}")
    return int(value)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """As torch.select: `input.select(dim, index)`, a view."""
    return _tensor_input("select", input).select(dim, index)


def narrow(input: Tensor, dim: int, start: int | Tensor, length: int) -> Tensor:
    """As torch.narrow: `input.narrow(dim, start, length)`, a view."""
    return _tensor_input("narrow", input).narrow(dim, start, length)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """As torch.diagonal: `input.diagonal(offset, dim1, dim2)`, a view."""
    return _tensor_input("diagonal", input).diagonal(offset, dim1, dim2)


def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """As torch.movedim: `input.movedim(source, destination)`, a view."""
    return _tensor_input("movedim", input).movedim(source, destination)


moveaxis = movedim   # torch's alias (the name torch.moveaxis and np.moveaxis share)


# ----------------------------------------------------------------------------- torch's function spellings of the
# elementwise math (round ... take_along_dim): tr.sin(x) is x.sin()
def sin(input: Tensor) -> Tensor: return _tensor_input("sin", input).sin()
def cos(input: Tensor) -> Tensor: return _tensor_input("cos", input).cos()
def round(input: Tensor, *, decimals: int = 0) -> Tensor: return _tensor_input("round", input).round(decimals=decimals)
def floor(input: Tensor) -> Tensor: return _tensor_input("floor", input).floor()
def ceil(input: Tensor) -> Tensor: return _tensor_input("ceil", input).ceil()
def trunc(input: Tensor) -> Tensor: return _tensor_input("trunc", input).trunc()
fix = trunc   # torch's alias
def sign(input: Tensor) -> Tensor: return _tensor_input("sign", input).sign()
def sgn(input: Tensor) -> Tensor: return _tensor_input("sgn", input).sgn()
def frac(input: Tensor) -> Tensor: return _tensor_input("frac", input).frac()
def reciprocal(input: Tensor) -> Tensor: return _tensor_input("reciprocal", input).reciprocal()
def log1p(input: Tensor) -> Tensor: return _tensor_input("log1p", input).log1p()
def expm1(input: Tensor) -> Tensor: return _tensor_input("expm1", input).expm1()
def log2(input: Tensor) -> Tensor: return _tensor_input("log2", input).log2()
def log10(input: Tensor) -> Tensor: return _tensor_input("log10", input).log10()
def exp2(input: Tensor) -> Tensor: return _tensor_input("exp2", input).exp2()
def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:
    """torch.as_strided: input.as_strided(size, stride, storage_offset)."""
    return _tensor_input("as_strided", input).as_strided(size, stride, storage_offset)
def logit(input: Tensor, eps: float | None = None) -> Tensor: return _tensor_input("logit", input).logit(eps)
def _bound(fn, name, bound):
    """clamp_min/clamp_max's one bound: None is torch's TypeError there (clamp() takes None for a side)."""
    if bound is None:
        raise TypeError(f"{fn}(): {name} must be a number or a Tensor, got None (as torch)")
    return bound


def clamp_min(input: Tensor, min: float) -> Tensor: return _tensor_input("clamp_min", input).clamp_min(min)
def clamp_max(input: Tensor, max: float) -> Tensor: return _tensor_input("clamp_max", input).clamp_max(max)
def hypot(input: Tensor, other: Tensor) -> Tensor: return _tensor_input("hypot", input).hypot(other)
def signbit(input: Tensor) -> Tensor: return _tensor_input("signbit", input).signbit()
def is_floating_point(input: Tensor) -> bool: return _tensor_input("is_floating_point", input).is_floating_point()
def numel(input: Tensor) -> int: return _tensor_input("numel", input).numel()
def ravel(input: Tensor) -> Tensor: return _tensor_input("ravel", input).ravel()
def tile(input: Tensor, dims: Sequence[int]) -> Tensor: return _tensor_input("tile", input).tile(dims)


def xlogy(input: Tensor | float, other: Tensor | float) -> Tensor:
    """As torch.xlogy: input * log(other), 0 where input is 0; either may be a number (not both)."""
    if not isinstance(input, Tensor):
        input = _tensor_input("xlogy", other)._numeric()._operand(input)
    return input.xlogy(other)


def lerp(input: Tensor, end: Tensor, weight: float | Tensor) -> Tensor:
    return _tensor_input("lerp", input).lerp(end, weight)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
    return _tensor_input("addcmul", input).addcmul(tensor1, tensor2, value=value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
    return _tensor_input("addcdiv", input).addcdiv(tensor1, tensor2, value=value)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    return _tensor_input("nan_to_num", input).nan_to_num(nan, posinf, neginf)


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    return _tensor_input("isclose", input).isclose(other, rtol, atol, equal_nan)


def equal(input: Tensor, other: Tensor) -> bool:
    return _tensor_input("equal", input).equal(other)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    return _tensor_input("take_along_dim", input).take_along_dim(indices, dim)
