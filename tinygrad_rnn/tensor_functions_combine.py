"""torch's functions that build one tensor from others, or give shapes and index arithmetic: atleast_1d/2d/3d,
block_diag, cartesian_prod, combinations, column_stack, dstack, row_stack, concat, broadcast_shapes, unravel_index,
isin, is_tensor, and the function forms all/any. Each is composed of Tensor operations (reshape, cat, indexing,
meshgrid), so gradients flow as through those, and torch's errors come in torch's words."""
from __future__ import annotations

import builtins
import itertools
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .size import Size
from .tensor import ShapeError, Tensor, _tensor_input, cat, stack
from .tensor_args import _is_int
from .tensor_functions import _non_empty, meshgrid, vstack

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "cartesian_prod", "combinations", "column_stack",
           "dstack", "row_stack", "concat", "broadcast_shapes", "unravel_index", "isin", "is_tensor", "all", "any"]

concat = cat          # torch's aliases
row_stack = vstack


def is_tensor(obj: Any) -> bool:
    """As torch.is_tensor: whether obj is a Tensor (a Parameter too)."""
    return isinstance(obj, Tensor)


def all(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """As torch.all: `input.all(dim, keepdim)`, a bool tensor."""
    return _tensor_input("all", input).all(dim, keepdim)


def any(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """As torch.any: `input.any(dim, keepdim)`, a bool tensor."""
    return _tensor_input("any", input).any(dim, keepdim)


# ----------------------------------------------------------------------------- at least n dims
def _atleast(fn, tensors, shape_of):
    """One tensor given: it at n dims; several, or a list or tuple of them: a tuple, as torch's."""
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): expected Tensors, got {type(t).__name__} at {i}")
    out = tuple(t.reshape(shape_of(t._data.shape)) for t in tensors)
    return out[0] if single else out


def atleast_1d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """As torch.atleast_1d: a 0-d tensor as shape (1,), others as they are (views)."""
    return _atleast("atleast_1d", tensors, lambda s: s if len(s) >= 1 else (1,))


def atleast_2d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """As torch.atleast_2d: (n,) as (1, n), a 0-d tensor as (1, 1)."""
    return _atleast("atleast_2d", tensors, lambda s: s if len(s) >= 2 else (1, *s) if s else (1, 1))


def atleast_3d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """As torch.atleast_3d: (n,) as (1, n, 1), (m, n) as (m, n, 1), a 0-d tensor as (1, 1, 1)."""
    def shape_of(s):
        return s if len(s) >= 3 else (*s, 1) if len(s) == 2 else (1, *s, 1) if s else (1, 1, 1)
    return _atleast("atleast_3d", tensors, shape_of)


# ----------------------------------------------------------------------------- stacking
def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """As torch.column_stack: 0-d and 1-D tensors as columns (n, 1), then cat along dim 1."""
    tensors = _non_empty("column_stack", tensors)
    return cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """As torch.dstack: each at least 3-D (atleast_3d), then cat along dim 2."""
    return cat(atleast_3d(_non_empty("dstack", tensors)), 2)


def block_diag(*tensors: Tensor) -> Tensor:
    """As torch.block_diag: the tensors (0-d as 1 x 1, 1-D as a row) on the diagonal of a matrix of zeros, in their
    one dtype (torch promotes a mix; here a mix is refused, as cat refuses it)."""
    blocks = []
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"block_diag(): expected Tensors, got {type(t).__name__} at {i}")
        if t.ndim > 2:
            raise ShapeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                             f"{t.ndim} dimensions")
        blocks.append(t.reshape(1, -1) if t.ndim == 1 else t.reshape(1, 1) if t.ndim == 0 else t)
    if not blocks:
        from .creation import zeros  # (late: creation.py is built on tensor.py, as this module)
        return zeros(1, 0)
    width = sum(b._data.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        h, w = b._data.shape
        pieces = [b.new_zeros(h, left), b, b.new_zeros(h, width - left - w)]
        rows.append(cat(pieces, 1))
        left += w
    return cat(rows, 0)


# ----------------------------------------------------------------------------- products of index sets
def _vector(fn, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): expected a Tensor, got {type(t).__name__}")
    if t.ndim != 1:
        raise ShapeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")
    return t


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """As torch.cartesian_prod: the rows of every combination of the 1-D tensors' elements (the first varying
    slowest), shape (n1 * n2 * ..., k); one tensor is returned as it is, as torch's."""
    tensors = [_vector("cartesian_prod", t) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """As torch.combinations: the r-element combinations of a 1-D tensor's elements, in itertools' order, shape
    (count, r) (r = 0: an empty (0,) tensor, as torch's)."""
    _vector("combinations", input)
    if not _is_int(r):
        raise TypeError(f"combinations(): argument 'r' must be int, not {type(r).__name__}")
    if r < 0:
        raise ShapeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_zeros(0)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = np.array(list(pick(range(input._data.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[Tensor._make(index, False)]


# ----------------------------------------------------------------------------- shapes and indices
def broadcast_shapes(*shapes: int | Sequence[int]) -> Size:
    """As torch.broadcast_shapes: the shape tensors of these shapes broadcast to, a tr.Size (an int is a 1-D shape)."""
    as_tuples = [(s,) if _is_int(s) else tuple(s) for s in shapes]
    if builtins.any(n < 0 for s in as_tuples for n in s):   # (this module's any is torch's)
        raise ValueError("Attempting to broadcast a dimension with negative length!")
    try:
        return Size(np.broadcast_shapes(*as_tuples))
    except ValueError:
        raise ShapeError(f"shapes {', '.join(str(s) for s in as_tuples)} do not broadcast (torch.broadcast_shapes' "
                         "RuntimeError)") from None


def unravel_index(indices: Tensor, shape: int | Sequence[int]) -> tuple[Tensor, ...]:
    """As torch.unravel_index: the coordinates of flat indices into a tensor of `shape`, one int64 tensor per dim of
    indices' shape; an index outside [0, numel) wraps as torch's (floor modulo each size: -1 is the last)."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): expected 'indices' to be a Tensor, got {type(indices).__name__}")
    if indices._data.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    sizes = (shape,) if _is_int(shape) else tuple(shape)
    if builtins.any(not _is_int(n) for n in sizes):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {shape!r}")
    if builtins.any(n < 0 for n in sizes):
        raise ValueError(f"'shape' cannot have negative values, but got {tuple(sizes)}")
    if builtins.any(n == 0 for n in sizes):
        raise ShapeError("unravel_index: a 'shape' with a zero size has no indices (torch's ZeroDivisionError)")
    rest, coordinates = indices._data.astype(np.int64), []
    for n in reversed(sizes):
        coordinates.append(np.remainder(rest, n))
        rest = np.floor_divide(rest, n)
    return tuple(Tensor._make(c, False) for c in reversed(coordinates))


def isin(elements: Tensor | float, test_elements: Tensor | float, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """As torch.isin: a mask of the elements found among test_elements (either may be a number, not both); nan is
    found nowhere, as torch's; invert=True the mask's opposite."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): at least one of 'elements' and 'test_elements' must be a Tensor")
    for name, value in (("elements", elements), ("test_elements", test_elements)):
        if not isinstance(value, (Tensor, numbers.Number, np.generic)):
            raise TypeError(f"isin(): argument '{name}' must be a Tensor or a number, not {type(value).__name__}")
    a = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        raise NotImplementedError("Unsupported input type encountered for isin(): Bool (as torch's RuntimeError)")
    return Tensor._make(np.isin(a, b, invert=bool(invert)), False)
