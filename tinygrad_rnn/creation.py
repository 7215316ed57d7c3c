"""Making tensors: tr.tensor, tr.from_numpy, tr.zeros, tr.ones, tr.full, tr.zeros_like, tr.ones_like, tr.arange, and
the random ones (tr.randn, tr.rand, tr.randint, tr.randperm, their _like forms, tr.normal, tr.bernoulli), as torch's.

Each checks its arguments in torch's words and returns a leaf Tensor: nothing is recorded. The dtype follows
torch's factories: the default dtype (tensor.py's get_default_dtype, float32 unless set_default_dtype changed
it) for floats, int64 indices for ints where torch gives them (tr.tensor of ints, tr.arange and tr.full of
ints), a mask for tr.tensor of bools; only a float tensor may require grad. Random tensors come from the
library's generator (random.py, tr.manual_seed) unless `generator=` (a numpy Generator) is given; the numbers
are numpy's, not torch's. tr.normal and tr.bernoulli of a tensor that requires grad give a result that does too,
with a zero gradient, as torch's (their samples are not reparameterised).

This module is built on tensor.py (Tensor's new_tensor and new_full call tensor() and full() here, importing them
when they run).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import primitives as P
from . import random
from .tape import _grad_mode, apply
from .tensor import FLOAT_DTYPES, ShapeError, Tensor, _fill_value, _float_dtype, _is_dtype, _raw
from .tensor_args import (
    ArgumentValueError,
    DTypeNotImplementedError,
    _check_requires_grad,
    _is_int,
    _shape_args,
    check_device,
)

__all__ = ["tensor", "as_tensor", "from_numpy",
           "zeros", "ones", "full", "zeros_like", "ones_like", "randn", "rand", "arange",
           "randint", "randperm", "randn_like", "rand_like", "randint_like", "normal", "bernoulli"]


def tensor(data: npt.ArrayLike | Tensor, *,
           requires_grad: bool = False, device: Any = None, dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.tensor: a copy of data; floats become a float Tensor by tensor.py's dtype rules, ints int64
    indices and booleans a boolean mask, as torch.tensor's (the constructor Tensor, like torch.Tensor, gives
    float32 for all three; dtype=tr.float32 here too)."""
    check_device("tensor", device)
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
    if isinstance(source, np.ndarray) and np.may_share_memory(out._data, source):
        out._data = out._data.copy()
    return out


def as_tensor(data: npt.ArrayLike | Tensor, dtype: npt.DTypeLike | None = None, device: Any = None) -> Tensor:
    """As torch.as_tensor: data as a Tensor without a copy where one is not needed. A Tensor of that dtype (or
    with dtype None) is returned itself, another dtype converted (astype, on the tape); a numpy array of float32,
    float64, int64 or bool shares its memory when dtype is None or its own; anything else is tensor(data, dtype)."""
    check_device("as_tensor", device)
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.astype(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        if data.dtype in FLOAT_DTYPES:
            return from_numpy(data)
        if data.dtype in (np.dtype(np.int64), np.dtype(np.bool_)):
            return Tensor._make(data, False)
    return tensor(data, dtype=dtype)


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
          requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device("zeros", device)
    data = np.zeros(_shape_args("zeros", shape, size), dtype=_factory_dtype(dtype, "zeros"))
    return _made(data, requires_grad, "zeros")


def ones(*shape: int | Sequence[int], size: Sequence[int] | None = None, dtype: npt.DTypeLike | None = None,
         requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device("ones", device)
    data = np.ones(_shape_args("ones", shape, size), dtype=_factory_dtype(dtype, "ones"))
    return _made(data, requires_grad, "ones")


def full(size: int | Sequence[int], fill_value: float, *, dtype: npt.DTypeLike | None = None,
         requires_grad: bool = False, device: Any = None) -> Tensor:
    """As torch: an int fill_value makes int64 indices, a float one the default float dtype (dtype= says)."""
    check_device("full", device)
    shape, value = _shape_args("full", (size,)), _fill_value(fill_value)
    if dtype is None and _is_int(value):
        dtype = np.int64
    return _made(np.full(shape, value, dtype=_factory_dtype(dtype, "full")), requires_grad, "full")


def zeros_like(input: Tensor | np.ndarray, *, dtype: npt.DTypeLike | None = None,
               requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device("zeros_like", device)
    dtype = None if dtype is None else _float_dtype(dtype, "zeros_like")   # np would make int32 zeros, then float32
    return Tensor(np.zeros_like(_raw(input), dtype=dtype), requires_grad=requires_grad)


def ones_like(input: Tensor | np.ndarray, *, dtype: npt.DTypeLike | None = None,
              requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device("ones_like", device)
    dtype = None if dtype is None else _float_dtype(dtype, "ones_like")
    return Tensor(np.ones_like(_raw(input), dtype=dtype), requires_grad=requires_grad)


def randn(*shape: int | Sequence[int], size: Sequence[int] | None = None, dtype: npt.DTypeLike | None = None,
          requires_grad: bool = False, device: Any = None, generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples from the library's generator (tr.manual_seed), or from `generator`
    (a numpy Generator), drawn in `dtype` directly."""
    check_device("randn", device)
    rng = random.resolve("randn", generator)
    data = rng.standard_normal(_shape_args("randn", shape, size), dtype=_float_dtype(dtype, "randn"))
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape: int | Sequence[int], size: Sequence[int] | None = None, dtype: npt.DTypeLike | None = None,
         requires_grad: bool = False, device: Any = None, generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1), as randn draws them."""
    check_device("rand", device)
    rng = random.resolve("rand", generator)
    data = rng.random(_shape_args("rand", shape, size), dtype=_float_dtype(dtype, "rand"))
    return Tensor(data, requires_grad=requires_grad)


def randint(*args: int | Sequence[int], low: int | None = None, high: int | None = None,
            size: Sequence[int] | None = None, generator: np.random.Generator | None = None,
            dtype: npt.DTypeLike | None = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Integers in [low, high) of shape size: randint(high, size) or randint(low, high, size), keywords too, as
    torch's; int64 unless dtype says (a float dtype, or bool for [0, 2))."""
    check_device("randint", device)
    low, high, size = _randint_args(args, low, high, size)
    shape = _size_tuple("randint", size)
    dtype = np.dtype(np.int64) if dtype is None else _factory_dtype(dtype, "randint")
    return _made(random.integers("randint", shape, dtype, low, high, generator), requires_grad, "randint")


def _randint_args(args, low, high, size):
    """torch's randint binds its positional arguments from the right: (high, size), (low, high, size)."""
    given = list(args)
    if size is None and given:
        size = given.pop()
    if high is None and given:
        high = given.pop()
    if low is None and given:
        low = given.pop()
    if given or high is None or size is None:
        raise TypeError(f"randint: expected (high, size) or (low, high, size), ints and a tuple of ints, got "
                        f"{len(args)} positional arguments (high={high!r}, size={size!r})")
    return (0 if low is None else low), high, size


def _size_tuple(fn, size):
    """A size given as one argument: a tuple or list of ints, as torch (an int alone is its TypeError)."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{fn}: size must be a tuple of ints, got {type(size).__name__} {size!r}")
    return _shape_args(fn, (tuple(size),))


def randperm(n: int, *, generator: np.random.Generator | None = None, dtype: npt.DTypeLike | None = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    """A random permutation of 0 .. n-1, int64 unless dtype says (a float dtype), as torch's."""
    check_device("randperm", device)
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"randperm: n must be an int, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ArgumentValueError(f"randperm: Trying to create tensor with negative dimension {n}: [{n}] (n must be "
                                 ">= 0)")
    dtype = np.dtype(np.int64) if dtype is None else _factory_dtype(dtype, "randperm")
    data = random.resolve("randperm", generator).permutation(int(n)).astype(dtype)
    return _made(data, requires_grad, "randperm")


def _like(fn, input, dtype):
    """The shape, and the dtype of a _like factory: input's unless dtype says."""
    if not isinstance(input, (Tensor, np.ndarray)):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    return input.shape, (np.dtype(input.dtype) if dtype is None else _factory_dtype(dtype, fn))


def _like_float(fn, input, dtype):
    shape, dtype = _like(fn, input, dtype)
    if dtype.kind != "f":
        raise DTypeNotImplementedError(f"{fn}: random floats into a {dtype} tensor are not implemented (as torch): "
                                       "give dtype=tr.float32")
    return shape, dtype


def randn_like(input: Tensor, *, generator: np.random.Generator | None = None, dtype: npt.DTypeLike | None = None,
               requires_grad: bool = False, device: Any = None) -> Tensor:
    """randn of input's shape and dtype (a float one), as torch's."""
    check_device("randn_like", device)
    shape, dtype = _like_float("randn_like", input, dtype)
    return randn(shape, dtype=dtype, requires_grad=requires_grad, generator=generator)


def rand_like(input: Tensor, *, generator: np.random.Generator | None = None, dtype: npt.DTypeLike | None = None,
              requires_grad: bool = False, device: Any = None) -> Tensor:
    """rand of input's shape and dtype (a float one), as torch's."""
    check_device("rand_like", device)
    shape, dtype = _like_float("rand_like", input, dtype)
    return rand(shape, dtype=dtype, requires_grad=requires_grad, generator=generator)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *,
                 generator: np.random.Generator | None = None, dtype: npt.DTypeLike | None = None,
                 requires_grad: bool = False, device: Any = None) -> Tensor:
    """randint of input's shape, in input's dtype unless dtype says: randint_like(x, high) or (x, low, high)."""
    check_device("randint_like", device)
    if high is None:
        low, high = 0, low
    shape, dtype = _like("randint_like", input, dtype)
    return _made(random.integers("randint_like", shape, dtype, low, high, generator), requires_grad, "randint_like")


def normal(mean: Tensor | float, std: Tensor | float = 1.0, size: Sequence[int] | None = None, *,
           generator: np.random.Generator | None = None, dtype: npt.DTypeLike | None = None,
           requires_grad: bool = False, device: Any = None) -> Tensor:
    """Samples of N(mean, std^2), as torch's normal: a Tensor mean and/or std (broadcast together; their dtype),
    or two numbers and a size (the default dtype unless dtype says). A result of tensors that require grad
    requires grad with a zero gradient, as torch's."""
    check_device("normal", device)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: with a number mean and std, give the size too (normal(0.0, 1.0, (2, 3)))")
        dtype = _float_dtype(dtype, "normal")
        values = random.normal("normal", _size_tuple("normal", size), dtype, mean, std, generator)
        return Tensor(values, requires_grad=requires_grad)
    if size is not None:
        raise TypeError("normal: size is for a number mean and std; a Tensor mean or std gives the shape")
    dtypes = {np.dtype(t.dtype) for t in tensors}
    if len(dtypes) > 1:   # (torch takes mean's; here nothing is cast without a word)
        raise TypeError(f"normal: mean and std must have one dtype, got {mean.dtype} and {std.dtype}")
    dtype = dtypes.pop()
    if dtype.kind != "f":
        raise DTypeNotImplementedError(f"normal: mean and std must be float tensors, got {dtype}")
    arrays = [t._data if isinstance(t, Tensor) else t for t in (mean, std)]
    try:
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    except ValueError:
        raise ShapeError(f"normal: mean's shape {np.shape(arrays[0])} and std's {np.shape(arrays[1])} do not "
                         "broadcast together") from None
    return _sampled(random.normal("normal", shape, dtype, *arrays, generator), tensors)


def bernoulli(input: Tensor, p: float | None = None, *, generator: np.random.Generator | None = None) -> Tensor:
    """1 with probability input (each element's, in [0, 1]), or p for every element when given, in input's
    dtype, as torch's; an input that requires grad gives a result that does, with a zero gradient."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli: input must be a Tensor of probabilities, got {type(input).__name__}")
    probabilities = input._data if p is None else p
    return _sampled(random.bernoulli("bernoulli", input.shape, input.dtype, probabilities, generator), [input])


def _sampled(values, tensors):
    """A sample of the tensors' distribution: recorded, as torch records it, when one requires grad: where(True,
    sample, their sum), so each gets a zero gradient of its own shape and dtype."""
    if not (_grad_mode.enabled and any(t.requires_grad for t in tensors)):
        return Tensor._make(values, False)
    inputs = tensors[0] if len(tensors) == 1 else tensors[0] + tensors[1]
    return apply(P.Where, Tensor._make(values, False), inputs, Tensor._make(np.array(True), False))


def arange(start: float | None = None, end: float | None = None, step: float = 1, *,
           dtype: npt.DTypeLike | None = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """start, start + step, ... below end (arange(n) and arange(end=n): 0 .. n-1), as torch: int64 for int
    arguments, the default float dtype (float32) if any is a float, unless dtype= says."""
    check_device("arange", device)
    if end is None:
        if start is None:
            raise TypeError("arange: give end (arange(end), arange(start, end, step) or arange(end=n))")
        start, end = 0, start
    elif start is None:
        start = 0
    for name, value in (("start", start), ("end", end), ("step", step)):
        if not isinstance(value, (numbers.Real, np.bool_)):
            raise TypeError(f"arange: {name} must be a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"arange: {name} must be finite, got {value!r}")
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")   # (a RuntimeError, as torch's)
    # torch reads True/False as the ints 1/0 (int64 results) and numpy's np.True_ as a float (the default dtype)
    start, end, step = (int(v) if type(v) is bool else (float(v) if isinstance(v, np.bool_) else v)
                        for v in (start, end, step))
    if (end - start) * step < 0:   # torch refuses it; numpy gives an empty range, hiding a swapped start and end
        raise ValueError(f"arange: end - start and step have opposite signs (start={start}, end={end}, step={step}): "
                         "the range would be empty")
    if dtype is None and all(_is_int(v) for v in (start, end, step)):
        dtype = np.int64
    dtype = _factory_dtype(dtype, "arange")
    values = np.arange(start, end, step, dtype=np.int64 if dtype.kind != "f" else np.float64)
    return _made(values.astype(dtype), requires_grad, "arange")
