"""Making tensors: tr.tensor, tr.from_numpy, tr.zeros, tr.ones, tr.full, tr.zeros_like, tr.ones_like, tr.randn,
tr.rand, tr.arange, as torch's.

Each checks its arguments in torch's words and returns a leaf Tensor: nothing is recorded. The dtype follows
torch's factories: the default dtype (tensor.py's get_default_dtype, float32 unless set_default_dtype changed
it) for floats, int64 indices for ints where torch gives them (tr.tensor of ints, tr.arange and tr.full of
ints), a mask for tr.tensor of bools; only a float tensor may require grad. Random tensors come from the
library's generator (random.py, tr.manual_seed) unless `generator=` is given.

This module is built on tensor.py (Tensor's new_tensor and new_full call tensor() and full() here, importing them
when they run).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .random import generator as _default_generator
from .tensor import FLOAT_DTYPES, Tensor, _fill_value, _float_dtype, _is_dtype, _raw
from .tensor_args import _check_requires_grad, _is_int, _shape_args

__all__ = ["tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "randn", "rand", "arange"]


def tensor(data: npt.ArrayLike | Tensor, *, requires_grad: bool = False, dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.tensor: a copy of data; floats become a float Tensor by tensor.py's dtype rules, ints int64
    indices and booleans a boolean mask, as torch.tensor's (the constructor Tensor, like torch.Tensor, gives
    float32 for all three; dtype=tr.float32 here too)."""
    if dtype is not None and _factory_dtype(dtype, "tensor").kind != "f":   # dtype=tr.int64 / tr.bool
        _made(np.zeros(0, dtype), requires_grad, "tensor")   # refuses requires_grad=True, as torch
        return tensor(data).astype(dtype)   # (a copy already: astype keeps it)
    if dtype is None:
        try:
            arr = np.asarray(_raw(data))   # (a Tensor's own array: tr.tensor(indices) stays int64, as torch)
        except (ValueError, TypeError):
            arr = None  # Tensor() says what is wrong with it
        if arr is not None and arr.dtype.kind in "biu":   # as torch.tensor: a mask, or int64 indices
            if _check_requires_grad("tensor", requires_grad):
                raise RuntimeError(f"only float tensors can require grad; this one holds {arr.dtype} values "
                                   "(as torch; make it a float tensor with dtype=tr.float32)")
            return Tensor._make(np.array(arr, dtype=bool if arr.dtype == bool else np.int64), False)
    source = _raw(data)
    out = Tensor(source, requires_grad=requires_grad, dtype=dtype)   # (its array: Tensor(t) would be a view of t)
    # torch.tensor always copies (Tensor() and from_numpy share, as torch's). may_share_memory compares bounds
    # only: shares_memory's exact answer can cost more than the copy it would save
    if isinstance(source, np.ndarray) and np.may_share_memory(out.data, source):
        out.data = out.data.copy()
    return out


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A Tensor sharing `ndarray`'s memory (float32/float64 only, as the Tensor itself would refuse to share)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy array, got {type(ndarray).__name__}")
    if ndarray.dtype not in FLOAT_DTYPES:
        raise TypeError(f"from_numpy: expected a float32 or float64 array (to share its memory), got dtype "
                        f"{ndarray.dtype}; use tr.tensor(array, dtype=tr.float32) to convert a copy")
    out = Tensor(ndarray)
    out._viewed = True   # the caller holds the array: a recorded write, which would give out a new one, is refused
    return out


def _factory_dtype(dtype, fn):
    """A factory's dtype=: float32/float64 (None: the default), or, as torch, int64 (indices) and bool (masks)."""
    if dtype is not None and _is_dtype(dtype) and np.dtype(dtype) in (np.dtype(np.int64), np.dtype(np.bool_)):
        return np.dtype(dtype)
    return _float_dtype(dtype, fn)


def _made(data, requires_grad, fn):
    """A factory's result: a float Tensor, or int64 indices / a mask, which cannot require grad (as torch)."""
    if data.dtype.kind == "f":
        return Tensor(data, requires_grad=requires_grad)
    if _check_requires_grad(fn, requires_grad):
        raise RuntimeError(f"{fn}: only float tensors can require grad, this one has dtype {data.dtype} (as torch)")
    return Tensor._make(data, False)


def zeros(*shape: int | Sequence[int], size: Sequence[int] | None = None, dtype: npt.DTypeLike | None = None,
          requires_grad: bool = False) -> Tensor:
    data = np.zeros(_shape_args("zeros", shape, size), dtype=_factory_dtype(dtype, "zeros"))
    return _made(data, requires_grad, "zeros")


def ones(*shape: int | Sequence[int], size: Sequence[int] | None = None, dtype: npt.DTypeLike | None = None,
         requires_grad: bool = False) -> Tensor:
    data = np.ones(_shape_args("ones", shape, size), dtype=_factory_dtype(dtype, "ones"))
    return _made(data, requires_grad, "ones")


def full(size: int | Sequence[int], fill_value: float, *, dtype: npt.DTypeLike | None = None,
         requires_grad: bool = False) -> Tensor:
    """As torch: an int fill_value makes int64 indices, a float one the default float dtype (dtype= says)."""
    shape, value = _shape_args("full", (size,)), _fill_value(fill_value)
    if dtype is None and _is_int(value):
        dtype = np.int64
    return _made(np.full(shape, value, dtype=_factory_dtype(dtype, "full")), requires_grad, "full")


def zeros_like(input: Tensor | np.ndarray, *, dtype: npt.DTypeLike | None = None,
               requires_grad: bool = False) -> Tensor:
    dtype = None if dtype is None else _float_dtype(dtype, "zeros_like")   # np would make int32 zeros, then float32
    return Tensor(np.zeros_like(_raw(input), dtype=dtype), requires_grad=requires_grad)


def ones_like(input: Tensor | np.ndarray, *, dtype: npt.DTypeLike | None = None,
              requires_grad: bool = False) -> Tensor:
    dtype = None if dtype is None else _float_dtype(dtype, "ones_like")
    return Tensor(np.ones_like(_raw(input), dtype=dtype), requires_grad=requires_grad)


def randn(*shape: int | Sequence[int], size: Sequence[int] | None = None, dtype: npt.DTypeLike | None = None,
          requires_grad: bool = False, generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples from the library's generator (tr.manual_seed), or from `generator`
    (a numpy Generator), drawn in `dtype` directly."""
    rng = generator if generator is not None else _default_generator()
    data = rng.standard_normal(_shape_args("randn", shape, size), dtype=_float_dtype(dtype, "randn"))
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape: int | Sequence[int], size: Sequence[int] | None = None, dtype: npt.DTypeLike | None = None,
         requires_grad: bool = False, generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1), as randn draws them."""
    rng = generator if generator is not None else _default_generator()
    data = rng.random(_shape_args("rand", shape, size), dtype=_float_dtype(dtype, "rand"))
    return Tensor(data, requires_grad=requires_grad)


def arange(start: float | None = None, end: float | None = None, step: float = 1, *,
           dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """start, start + step, ... below end (arange(n) and arange(end=n): 0 .. n-1), as torch: int64 for int
    arguments, the default float dtype (float32) if any is a float, unless dtype= says."""
    if end is None:
        if start is None:
            raise TypeError("arange: give end (arange(end), arange(start, end, step) or arange(end=n))")
        start, end = 0, start
    elif start is None:
        start = 0
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"arange: {name} must be a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"arange: {name} must be finite, got {value!r}")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:   # torch refuses it; numpy gives an empty range, hiding a swapped start and end
        raise ValueError(f"arange: end - start and step have opposite signs (start={start}, end={end}, step={step}): "
                         "the range would be empty")
    if dtype is None and all(_is_int(v) for v in (start, end, step)):
        dtype = np.int64
    dtype = _factory_dtype(dtype, "arange")
    values = np.arange(start, end, step, dtype=np.int64 if dtype.kind != "f" else np.float64)
    return _made(values.astype(dtype), requires_grad, "arange")
