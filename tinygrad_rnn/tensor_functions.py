"""torch's function spellings of Tensor methods (tr.sum(x, 1) is x.sum(1)), the factories eye, linspace, logspace,
full_like, empty and empty_like, and operations composed of Tensor methods (tril/triu, diag, outer, dot, mv,
trace, count_nonzero, broadcast_to/broadcast_tensors).

Nothing here has a forward or backward of its own: each function calls Tensor methods or primitives that hold
them (tensor.py, primitives.py), so an operation's gradient lives in one place. The Tensor methods of the same
names (x.tril(), x.outer(y)...) are one-line calls of these functions, in tensor.py.

This module is built on tensor.py and creation.py, and imports nothing built on the engine (nn, optim, kernels).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .creation import _factory_dtype, _made, full, zeros
from .tensor import ShapeError, Tensor, ValuesIndices, _fill_value, _tensor_input, cat, where
from .tensor_args import _is_int, _reduce_axis, _shape_args

__all__ = ["sum", "mean", "max", "min", "argmax", "argmin", "amax", "amin", "prod", "std", "var", "norm",
           "logsumexp", "reshape", "transpose", "permute", "flatten", "squeeze", "unsqueeze", "flip", "square",
           "rsqrt", "count_nonzero", "broadcast_to", "broadcast_tensors",
           "eye", "linspace", "logspace", "full_like", "empty", "empty_like",
           "tril", "triu", "diag", "outer", "dot", "mv", "trace"]

# ----------------------------------------------------------------------------- reductions as functions
def sum(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
        dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.sum: `input.sum(dim, keepdim, dtype=dtype)`."""
    return _tensor_input("sum", input).sum(dim, keepdim, dtype=dtype)


def mean(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
         dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.mean: `input.mean(dim, keepdim, dtype=dtype)`."""
    return _tensor_input("mean", input).mean(dim, keepdim, dtype=dtype)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.prod: `input.prod(dim, keepdim, dtype=dtype)`."""
    return _tensor_input("prod", input).prod(dim, keepdim, dtype=dtype)


def max(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
    """As torch.max's three forms: max(x) the largest value, max(x, dim) its (values, indices), max(x, other)
    the elementwise maximum."""
    return _tensor_input("max", input).max(dim, keepdim)


def min(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
    """As torch.min's three forms (see max)."""
    return _tensor_input("min", input).min(dim, keepdim)


def amax(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
    """As torch.amax: the largest values over dim (all dims when dim is `()`, torch's default)."""
    return _tensor_input("amax", input).amax(_all_if_empty(dim), keepdim)


def amin(input: Tensor, dim: int | Sequence[int] = (), keepdim: bool = False) -> Tensor:
    """As torch.amin: the smallest values over dim (all dims when dim is `()`)."""
    return _tensor_input("amin", input).amin(_all_if_empty(dim), keepdim)


def _all_if_empty(dim):
    return None if isinstance(dim, (tuple, list)) and len(dim) == 0 else dim


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """As torch.argmax: int64 indices (into the flattened tensor when dim is None)."""
    return _tensor_input("argmax", input).argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """As torch.argmin."""
    return _tensor_input("argmin", input).argmin(dim, keepdim)


def std(input: Tensor, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
        keepdim: bool | None = None, *, correction: int | None = None) -> Tensor:
    """As torch.std (correction=1 by default; torch's legacy `std(x, unbiased)` too)."""
    return _tensor_input("std", input).std(dim, unbiased, keepdim, correction=correction)


def var(input: Tensor, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
        keepdim: bool | None = None, *, correction: int | None = None) -> Tensor:
    """As torch.var (correction=1 by default; torch's legacy `var(x, unbiased)` too)."""
    return _tensor_input("var", input).var(dim, unbiased, keepdim, correction=correction)


def norm(input: Tensor, p: float | str = "fro", dim: int | Sequence[int] | None = None, keepdim: bool = False,
         dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.norm: the vector p-norm (see Tensor.norm)."""
    return _tensor_input("norm", input).norm(p, dim, keepdim, dtype)


def logsumexp(input: Tensor, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
    """As torch.logsumexp: `input.logsumexp(dim, keepdim)`."""
    return _tensor_input("logsumexp", input).logsumexp(dim, keepdim)


def count_nonzero(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """As torch.count_nonzero: the number of nonzero elements over dim (all if None), int64, no gradient."""
    x = _tensor_input("count_nonzero", input)
    axes = _reduce_axis(dim, x.ndim)
    return Tensor._make(np.asarray(np.count_nonzero(x.data, axis=axes), dtype=np.int64), False)


# ----------------------------------------------------------------------------- shapes as functions
def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    """As torch.reshape: `input.reshape(shape)`."""
    return _tensor_input("reshape", input).reshape(shape)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """As torch.transpose: dims dim0 and dim1 swapped."""
    return _tensor_input("transpose", input).transpose(dim0, dim1)


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    """As torch.permute: `input.permute(dims)`."""
    return _tensor_input("permute", input).permute(dims)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """As torch.flatten: dims start_dim..end_dim made one."""
    return _tensor_input("flatten", input).flatten(start_dim, end_dim)


def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """As torch.squeeze: size-1 dims dropped (those of dim only, if given)."""
    return _tensor_input("squeeze", input).squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """As torch.unsqueeze: a size-1 dim inserted at dim."""
    return _tensor_input("unsqueeze", input).unsqueeze(dim)


def flip(input: Tensor, dims: Sequence[int]) -> Tensor:
    """As torch.flip: a copy with the order of dims reversed."""
    return _tensor_input("flip", input).flip(dims)


def square(input: Tensor) -> Tensor:
    """As torch.square: `input * input`."""
    return _tensor_input("square", input).square()


def rsqrt(input: Tensor) -> Tensor:
    """As torch.rsqrt: `1 / sqrt(input)`."""
    return _tensor_input("rsqrt", input).rsqrt()


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    """As torch.broadcast_to: `input.expand(size)`, a view."""
    return _tensor_input("broadcast_to", input).expand(tuple(size))


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """As torch.broadcast_tensors: each tensor expanded to the shape they broadcast to (views)."""
    for i, t in enumerate(tensors):
        _tensor_input(f"broadcast_tensors (tensor {i})", t)
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        raise ShapeError(f"broadcast_tensors: shapes {[t.shape for t in tensors]} do not broadcast") from None
    return tuple(t.expand(shape) for t in tensors)


# ----------------------------------------------------------------------------- factories
def eye(n: int, m: int | None = None, *, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """As torch.eye: an n x m (n x n if m is None) tensor with ones on the diagonal."""
    for name, value in (("n", n), ("m", m)):
        if value is not None and not _is_int(value):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(value).__name__}")
        if value is not None and value < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {value}")
    data = np.eye(n, n if m is None else m, dtype=_factory_dtype(dtype, "eye"))
    return _made(data, requires_grad, "eye")


def linspace(start: float, end: float, steps: int, *, dtype: npt.DTypeLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """As torch.linspace: `steps` evenly spaced values from start to end (both included), in the default float
    dtype unless dtype= says (computed in float64, then converted)."""
    return _made(_spaced("linspace", start, end, steps, dtype), requires_grad, "linspace")


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: npt.DTypeLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """As torch.logspace: `base ** linspace(start, end, steps)`."""
    exponents = _spaced("logspace", start, end, steps, np.float64)
    return _made(np.power(float(base), exponents).astype(_factory_dtype(dtype, "logspace")), requires_grad,
                 "logspace")


def _spaced(fn, start, end, steps, dtype):
    if not _is_int(steps):
        raise TypeError(f"{fn}(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = (float(v.item()) if isinstance(v, Tensor) else float(v) for v in (start, end))
    dtype = _factory_dtype(dtype, fn)
    values = np.linspace(start, end, steps, dtype=np.float64)
    if dtype.kind == "i":   # torch truncates toward zero
        return np.trunc(values).astype(dtype)
    return values.astype(dtype)


def full_like(input: Tensor, fill_value: float, *, dtype: npt.DTypeLike | None = None,
              requires_grad: bool = False) -> Tensor:
    """As torch.full_like: input's shape, filled with fill_value, in input's dtype unless dtype= says."""
    x = _tensor_input("full_like", input)
    dtype = x.dtype if dtype is None else dtype
    return full(x.shape, float(_fill_value(fill_value)), dtype=dtype, requires_grad=requires_grad)


def empty(*size: int | Sequence[int], dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """As torch.empty, but its contents are zeros (torch leaves them uninitialised: no program may read them)."""
    return zeros(_shape_args("empty", size), dtype=dtype, requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """As torch.empty_like, with zeros as contents (see empty)."""
    x = _tensor_input("empty_like", input)
    return zeros(x.shape, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)


# ----------------------------------------------------------------------------- triangles, diagonals, products
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """As torch.tril: the elements on and below the diagonal-th diagonal of the last two dims (`a[i][j]` kept
    where `j - i <= diagonal`), zeros elsewhere; the gradient flows to the kept elements only."""
    return _triangle("tril", input, diagonal, lambda rows, cols: cols - rows <= diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """As torch.triu: the elements on and above the diagonal-th diagonal (`a[i][j]` kept where
    `j - i >= diagonal`), zeros elsewhere. `triu(ones(L, L, dtype=tr.bool), diagonal=1)` is a causal mask."""
    return _triangle("triu", input, diagonal, lambda rows, cols: cols - rows >= diagonal)


def _triangle(fn, input, diagonal, keep):
    x = _tensor_input(fn, input)
    if not _is_int(diagonal):
        raise TypeError(f"{fn}(): argument 'diagonal' must be int, not {type(diagonal).__name__}")
    if x.ndim < 2:
        raise RuntimeError(f"{fn}: input tensor must have at least 2 dimensions")
    rows, cols = np.indices(x.shape[-2:])
    mask = keep(rows, cols)
    if x.dtype.kind != "f":   # indices or a mask: no gradient, their own dtype
        return Tensor._make(np.where(mask, x.data, np.zeros((), x.dtype)), False)
    # where, not x * mask: an inf outside the triangle gives 0, as torch's, not inf * 0 = nan
    return where(mask, x, Tensor._make(np.zeros((), x.dtype), False))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """As torch.diag: of a vector, the square matrix with it on the diagonal-th diagonal; of a matrix, its
    diagonal-th diagonal as a new vector (a copy; Tensor.diagonal gives a view)."""
    x = _tensor_input("diag", input)
    if not _is_int(diagonal):
        raise TypeError(f"diag(): argument 'diagonal' must be int, not {type(diagonal).__name__}")
    if x.ndim == 2:
        return x.diagonal(diagonal).clone()
    if x.ndim != 1:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")
    k = int(diagonal)
    n = x.shape[0] + abs(k)
    padded = _padded(x, abs(k))
    # a[i][i + k] = v[i] for k >= 0 (v read along the rows), a[j - k][j] = v[j] for k < 0 (along the columns)
    spread = padded.reshape(n, 1) if k >= 0 else padded.reshape(1, n)
    rows, cols = np.indices((n, n))
    on_diagonal = cols - rows == k
    if x.dtype.kind != "f":
        return Tensor._make(np.where(on_diagonal, spread.data, np.zeros((), x.dtype)), False)
    return where(on_diagonal, spread, Tensor._make(np.zeros((), x.dtype), False))


def _padded(x, extra):
    """x (1-D) followed by `extra` zeros."""
    if extra == 0:
        return x
    return cat([x, Tensor._make(np.zeros(extra, x.dtype), False)])


def _vector(fn, name, x, position):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, not {type(x).__name__}")
    return x


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """As torch.outer: `out[i][j] = input[i] * vec2[j]` of two vectors."""
    a, b = _vector("outer", "input", input, 1), _vector("outer", "vec2", vec2, 2)
    for name, v in (("self", a), ("vec2", b)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return a.reshape(-1, 1) * b.reshape(1, -1)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """As torch.dot: the inner product of two vectors of one length and one dtype (a 0-d tensor)."""
    a, b = _vector("dot", "input", input, 1), _vector("dot", "tensor", tensor, 2)
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {a.dtype} and {b.dtype}")
    if a.shape != b.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to "
                           f"have the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements "
                           "respectively")
    return a @ b


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """As torch.mv: matrix (n x m) times vector (m)."""
    a, v = _vector("mv", "input", input, 1), _vector("mv", "vec", vec, 2)
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x{a.shape[1]}), "
                           f"vec ({v.shape[0]})")
    return a @ v


def trace(input: Tensor) -> Tensor:
    """As torch.trace: the sum of a matrix's main diagonal (int64 for indices, as torch)."""
    x = _tensor_input("trace", input)
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    return x.diagonal().sum()

