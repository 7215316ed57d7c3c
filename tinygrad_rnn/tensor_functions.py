"""torch's function spellings of Tensor methods (tr.sum(x, 1) is x.sum(1)), the factories eye, linspace, logspace,
full_like, empty and empty_like, and operations composed of Tensor methods (tril/triu, diag, outer, dot, mv,
trace, count_nonzero, broadcast_to/broadcast_tensors).

Nothing here has a forward or backward of its own: each function calls Tensor methods or primitives that hold
them (tensor.py, primitives.py), so an operation's gradient lives in one place. The Tensor methods of the same
names (x.tril(), x.outer(y)...) are one-line calls of these functions, in tensor.py.

This module is built on tensor.py and creation.py, and imports nothing built on the engine (nn, optim, kernels).
"""
from __future__ import annotations

import builtins  # (this module's sum, max and min are torch's: the builtins by their full name)
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import linalg
from . import primitives as P
from .creation import _factory_dtype, _made, full, zeros
from .tape import apply
from .tensor import ShapeError, Tensor, ValuesIndices, _fill_value, _tensor_input, cat, where
from .tensor_args import DTypeNotImplementedError, _axis, _int_dim, _is_int, _reduce_axis, _shape_args, check_device

__all__ = ["sum", "mean", "max", "min", "argmax", "argmin", "amax", "amin", "prod", "std", "var", "norm",
           "logsumexp", "reshape", "transpose", "permute", "flatten", "squeeze", "unsqueeze", "flip", "square",
           "rsqrt", "count_nonzero", "broadcast_to", "broadcast_tensors",
           "eye", "linspace", "logspace", "full_like", "empty", "empty_like",
           "tril", "triu", "diag", "outer", "dot", "mv", "trace",
           "cumprod", "diff", "einsum", "meshgrid", "hstack", "vstack",
           "tan", "sinh", "cosh", "asin", "acos", "atan", "atan2", "logaddexp", "median", "nanmedian", "unique",
           "index_add", "index_fill", "cummax", "cummin", "logcumsumexp",
           "det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power",
           "searchsorted", "bucketize", "var_mean", "std_mean", "tril_indices", "triu_indices"]

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
    return Tensor._make(np.asarray(np.count_nonzero(x._data, axis=axes), dtype=np.int64), False)


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
def eye(n: int, m: int | None = None, *, dtype: npt.DTypeLike | None = None,
        requires_grad: bool = False, device: Any = None) -> Tensor:
    """As torch.eye: an n x m (n x n if m is None) tensor with ones on the diagonal."""
    check_device("eye", device)
    for name, value in (("n", n), ("m", m)):
        if value is not None and not _is_int(value):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(value).__name__}")
        if value is not None and value < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {value}")
    data = np.eye(n, n if m is None else m, dtype=_factory_dtype(dtype, "eye"))
    return _made(data, requires_grad, "eye")


def linspace(start: float, end: float, steps: int, *, dtype: npt.DTypeLike | None = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    """As torch.linspace: `steps` evenly spaced values from start to end (both included), in the default float
    dtype unless dtype= says (computed in float64, then converted)."""
    check_device("linspace", device)
    return _made(_spaced("linspace", start, end, steps, dtype), requires_grad, "linspace")


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: npt.DTypeLike | None = None,
             requires_grad: bool = False, device: Any = None) -> Tensor:
    """As torch.logspace: `base ** linspace(start, end, steps)`."""
    check_device("logspace", device)
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
              requires_grad: bool = False, device: Any = None) -> Tensor:
    """As torch.full_like: input's shape, filled with fill_value, in input's dtype unless dtype= says."""
    check_device("full_like", device)
    x = _tensor_input("full_like", input)
    dtype = x.dtype if dtype is None else dtype
    return full(x.shape, float(_fill_value(fill_value)), dtype=dtype, requires_grad=requires_grad)


def empty(*size: int | Sequence[int], dtype: npt.DTypeLike | None = None,
          requires_grad: bool = False, device: Any = None) -> Tensor:
    """As torch.empty, but its contents are zeros (torch leaves them uninitialised: no program may read them)."""
    check_device("empty", device)
    return zeros(_shape_args("empty", size), dtype=dtype, requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype: npt.DTypeLike | None = None,
               requires_grad: bool = False, device: Any = None) -> Tensor:
    """As torch.empty_like, with zeros as contents (see empty)."""
    check_device("empty_like", device)
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
        return Tensor._make(np.where(mask, x._data, np.zeros((), x.dtype)), False)
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
        return Tensor._make(np.where(on_diagonal, spread._data, np.zeros((), x.dtype)), False)
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



# ----------------------------------------------------------------------------- running products, differences
def cumprod(input: Tensor, dim: int, *, dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.cumprod: `input.cumprod(dim, dtype=dtype)`."""
    return _tensor_input("cumprod", input).cumprod(dim, dtype=dtype)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """As torch.diff: the n-th forward difference along dim (`out[i] = x[i + 1] - x[i]`, applied n times), of
    input with prepend before it and append after it along dim; a mask's differences are `x[i + 1] != x[i]`."""
    x = _tensor_input("diff", input)
    if not _is_int(n):
        raise TypeError(f"diff(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    if x.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = _axis(_int_dim("diff", dim), x.ndim)
    if n == 0:   # torch's: a copy of input, prepend and append left out
        return x.clone()
    x = cat([t for t in (_diff_edge(prepend, x, d), x, _diff_edge(append, x, d)) if t is not None], d)
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        later, earlier = x.narrow(d, 1, length - 1), x.narrow(d, 0, length - 1)
        x = later != earlier if x.dtype == np.bool_ else later - earlier
    return x


def _diff_edge(edge, x, d):
    """prepend / append as torch takes them: a Tensor of x's dims matching x's shape except along d."""
    if edge is None:
        return None
    if not isinstance(edge, Tensor):
        edge = x._operand(edge).expand(x.shape[:d] + (1,) + x.shape[d + 1:]) if np.ndim(edge) == 0 else \
            x._operand(edge)
    if edge.ndim != x.ndim:
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    for k in range(x.ndim):
        if k != d and edge.shape[k] != x.shape[k]:
            raise RuntimeError("diff expects the shape of tensor to prepend or append to match that of input "
                               f"except along the differencing dimension; input.size({k}) = {x.shape[k]}, but "
                               f"got tensor.size({k}) = {edge.shape[k]}")
    return edge


# ----------------------------------------------------------------------------- einsum, meshgrid, hstack, vstack
def einsum(equation: str | Tensor, *operands: Tensor | Sequence) -> Tensor:
    """As torch.einsum: `einsum("ij,jk->ik", a, b)` (spaces, an implicit output and `...` as torch reads them;
    the operands may also come as one list), or the sublist form `einsum(a, [0, 1], b, [1, 2], [0, 2])`. Every
    operand's gradient is an einsum of the output's gradient and the others (primitives.Einsum)."""
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): operand {i} must be a Tensor, not {type(t).__name__}")
    if len({t.dtype for t in operands}) > 1:
        raise RuntimeError(f"einsum(): operands must have one dtype, got {[str(t.dtype) for t in operands]}")
    spec = _explicit_equation(equation.replace(" ", ""), [t.ndim for t in operands])
    operands = _broadcast_einsum_operands(spec, operands)
    if operands and operands[0].dtype.kind != "f":
        return Tensor._make(np.einsum(spec, *[t._data for t in operands]), False)
    return apply(P.Einsum, *operands, equation=spec)


def _sublist_equation(args):
    """einsum(a, [0, 1], b, [1, 2], [0, 2]) as ("ab,bc->ac", (a, b)); Ellipsis in a sublist is `...`."""
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def word(sublist):
        return "".join("..." if s is Ellipsis else letters[s] for s in sublist)
    output = word(args[-1]) if len(args) % 2 else None   # an odd count: the last sublist is the output's
    pairs = args[:-1] if len(args) % 2 else args
    operands, words = pairs[0::2], [word(s) for s in pairs[1::2]]
    return ",".join(words) + ("" if output is None else "->" + output), operands


def _explicit_equation(equation, ndims):
    """torch's equation with its output written out and each `...` spelled as letters of its own."""
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(ndims):
        few = "fewer" if len(ndims) < len(terms) else "more"
        raise RuntimeError(f"einsum(): {few} operands were provided than specified in the equation")
    used = set(equation)
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    widest = builtins.max([n - len(t.replace("...", "")) for t, n in zip(terms, ndims) if "..." in t], default=0)
    dots = "".join(spare[:widest])
    spelled = []
    for k, (t, n) in enumerate(zip(terms, ndims)):
        named = len(t.replace("...", ""))
        if ("..." not in t and named != n) or named > n:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does not match the "
                               f"number of dimensions ({n}) for operand {k} and no ellipsis was given")
        spelled.append(t.replace("...", dots[widest - (n - named):]))
    if not arrow:   # torch's implicit output: the ellipsis, then the letters used once, in alphabetical order
        once = sorted(c for c in set(inputs.replace("...", "")) if inputs.count(c) == 1 and c.isalpha())
        output = "..." + "".join(once)
    output = output.replace("...", dots)
    for c in output:
        if c not in "".join(spelled):
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                               "operand")
    return ",".join(spelled) + "->" + output


def _broadcast_einsum_operands(spec, operands):
    """The operands with each size-1 dimension expanded to its letter's size elsewhere, as torch's einsum
    broadcasts them ("ij,ij->ij" of (1, 3) and (2, 3); the letters an ellipsis stands for too); the expand's
    backward sums the gradient back. Two different sizes other than 1 for one letter are torch's RuntimeError."""
    terms = spec.split("->")[0].split(",")
    size = {}
    for k, (term, t) in enumerate(zip(terms, operands)):
        for c, n in zip(term, t.shape):
            seen = size.setdefault(c, n)
            if n != seen and 1 not in (n, seen):
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which does not "
                                   f"broadcast with previously seen size {seen}")
            if seen == 1:
                size[c] = n
    return [t if t.shape == tuple(size[c] for c in term) else t.expand(tuple(size[c] for c in term))
            for term, t in zip(terms, operands)]


def meshgrid(*tensors: Tensor | Sequence[Tensor], indexing: str = "ij") -> tuple[Tensor, ...]:
    """As torch.meshgrid: for 0-D or 1-D tensors, each expanded over the grid they span (views); indexing "ij"
    (torch's default) orders the grid's dims as the tensors, "xy" swaps the first two (numpy's default)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if not isinstance(t, Tensor) or t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t!r}")
    sizes = [t.numel() for t in tensors]
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[k] for k in order)
    grids = []
    for k, t in enumerate(tensors):
        at = order.index(k)
        grids.append(t.reshape(tuple(-1 if a == at else 1 for a in range(len(tensors)))).expand(shape))
    return tuple(grids)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """As torch.hstack: cat along dim 1 (dim 0 for 1-D tensors; 0-D ones become 1-D)."""
    tensors = _non_empty("hstack", tensors)
    tensors = [t.reshape(1) if t.ndim == 0 else t for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """As torch.vstack: cat along dim 0, with 0-D and 1-D tensors made rows (1 x n) first."""
    tensors = _non_empty("vstack", tensors)
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


def _non_empty(fn, tensors):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{fn} expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): expected a sequence of Tensors, got {type(t).__name__} at {i}")
    return tensors


# ----------------------------------------------------------------------------- trigonometry, logaddexp
def tan(input: Tensor) -> Tensor:
    """As torch.tan."""
    return _tensor_input("tan", input).tan()


def sinh(input: Tensor) -> Tensor:
    """As torch.sinh."""
    return _tensor_input("sinh", input).sinh()


def cosh(input: Tensor) -> Tensor:
    """As torch.cosh."""
    return _tensor_input("cosh", input).cosh()


def asin(input: Tensor) -> Tensor:
    """As torch.asin (NaN outside [-1, 1])."""
    return _tensor_input("asin", input).asin()


def acos(input: Tensor) -> Tensor:
    """As torch.acos (NaN outside [-1, 1])."""
    return _tensor_input("acos", input).acos()


def atan(input: Tensor) -> Tensor:
    """As torch.atan."""
    return _tensor_input("atan", input).atan()


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """As torch.atan2: the angle of the point (other, input)."""
    return _tensor_input("atan2", input).atan2(other)


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """As torch.logaddexp: `log(exp(input) + exp(other))` without overflow: the larger plus
    `log1p(exp(-|input - other|))`; two equal infinities give that infinity (their difference is no NaN)."""
    a = _tensor_input("logaddexp", input)
    if not isinstance(other, Tensor):
        raise TypeError(f"logaddexp(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    a, b = a._numeric(), other._numeric()
    same_infinity = (a == b) & a.isinf()
    zero = Tensor._make(np.zeros((), a.dtype), False)
    gap = where(same_infinity, zero, a) - where(same_infinity, zero, b)   # (inf - inf would warn, then be dropped)
    return a.maximum(b) + (-gap.abs()).exp().log1p()


# ----------------------------------------------------------------------------- median, unique, index_add
def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
    """As torch.median: the lower median (the `(n - 1) // 2`-th smallest); NaN if a NaN is among the values (along
    dim, its index the first NaN's). Of all elements, a 0-d value whose gradient is shared among the elements equal
    to it (NaN equal to NaN, torch's); along dim, (values, indices), the gradient going to the index."""
    return _median("median", input, dim, keepdim, ignore_nan=False)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
    """As torch.nanmedian: median() of the values that are not NaN (NaN where all are; along dim, index 0 there,
    the first NaN's)."""
    return _median("nanmedian", input, dim, keepdim, ignore_nan=True)


def _median(name, input, dim, keepdim, ignore_nan):
    x = _tensor_input(name, input)
    if dim is None:
        return _median_of_all(x, ignore_nan)
    if x.ndim == 0:
        return ValuesIndices(x.clone(), Tensor._make(np.zeros((), np.int64), False))
    d = _axis(_int_dim(name, dim), x.ndim)
    if x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    indices = Tensor._make(_median_indices(x._data, d, ignore_nan), False)
    values = x.gather(d, indices)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return ValuesIndices(values, indices)


def _median_indices(a, d, ignore_nan):
    """The index along axis d of each lane's lower median, kept as a size-1 axis. numpy's stable sort puts NaNs
    last: with k values not NaN, nanmedian's is the `(k - 1) // 2`-th (the first NaN's when k is 0), median's the
    `(n - 1) // 2`-th, or the first NaN's if the lane holds one (torch's)."""
    order = np.argsort(a, axis=d, kind="stable")
    n = a.shape[d]
    nans = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
    if ignore_nan:
        k = n - nans.sum(axis=d, keepdims=True)
        return np.take_along_axis(order, np.maximum(k - 1, 0) // 2, axis=d)
    lower = np.take_along_axis(order, np.full(order.shape[:d] + (1,) + order.shape[d + 1:], (n - 1) // 2), axis=d)
    return np.where(nans.any(axis=d, keepdims=True), nans.argmax(axis=d, keepdims=True), lower)


def _median_of_all(x, ignore_nan):
    if x.numel() == 0:
        return Tensor._make(np.array(np.nan, x.dtype), False)
    flat = x.reshape(-1)
    value = flat.gather(0, _median_indices(flat._data, 0, ignore_nan))[0]
    if x.dtype.kind != "f":
        return value
    if np.isnan(value._data):   # its gradient shared among the NaNs (torch's); the value NaN whatever is summed
        nans = np.isnan(x._data)
        weights = Tensor._make((nans / nans.sum()).astype(x.dtype), False)
        return where(Tensor._make(nans, False), x, 0.0).mul(weights).sum()
    # the largest of the elements equal to the median: that value, amax's gradient shared among them
    ties = x == value.detach()
    return where(ties, x, Tensor._make(np.array(-np.inf, x.dtype), False)).amax()


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Tensor | tuple[Tensor, ...]:
    """As torch.unique: the distinct elements, sorted (always: `sorted=False` allows any order, as torch), and
    if asked the inverse (each element's position among them, input's shape) and the counts, both int64. No
    gradient (torch's has none either: its backward is an error). With `dim`, the distinct slices along dim, in
    lexicographic order, the inverse one position per slice (torch's)."""
    x = _tensor_input("unique", input)
    if dim is None:
        values, inverse, counts = np.unique(x._data, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(x.shape)
    else:
        if x.ndim == 0:
            raise IndexError(f"unique(): Dimension specified as {dim} but tensor has no dimensions (as torch)")
        d = _axis(_int_dim("unique", dim), x.ndim)
        values, inverse, counts = np.unique(x._data, return_inverse=True, return_counts=True, axis=d)
        inverse = inverse.reshape(-1)
    out = [Tensor._make(values, False)]
    if return_inverse:
        out.append(Tensor._make(inverse.astype(np.int64), False))
    if return_counts:
        out.append(Tensor._make(counts.astype(np.int64), False))
    return out[0] if len(out) == 1 else tuple(out)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
    """As torch.index_add: input with `alpha * source[i]` added at position `index[i]` along dim (repeated
    indices add up); gradients reach input and source (scatter_add's)."""
    x = _tensor_input("index_add", input)
    d = _axis(_int_dim("index_add", dim), builtins.max(x.ndim, 1))
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        got = type(index).__name__ if not isinstance(index, Tensor) else index.dtype
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: {got}")
    if not isinstance(source, Tensor):
        raise TypeError(f"index_add(): argument 'source' must be Tensor, not {type(source).__name__}")
    if index.ndim > 1:
        raise IndexError("index_add_(): Index is supposed to be a vector")
    if source.ndim != x.ndim or any(a != b for k, (a, b) in enumerate(zip(x.shape, source.shape)) if k != d):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the specified dimension. Got "
                           f"self.shape = {list(x.shape)} source.shape = {list(source.shape)}")
    if x.ndim == 0:   # a 0-d tensor is a vector of one here, as torch reads it
        return index_add(x.reshape(1), d, index.reshape(-1), source.reshape(1), alpha=alpha).reshape(())
    n = source.shape[d] if source.ndim else 1
    if index.numel() != n:
        raise RuntimeError(f"index_add_(): Number of indices ({index.numel()}) should be equal to source.size(dim): "
                           f"({n}), for dim: {dim}")
    if index.numel() and (index._data.min() < 0 or index._data.max() >= x.shape[d]):   # no negatives, as torch
        raise IndexError("index out of range in self")
    along = tuple(-1 if k == d else 1 for k in range(source.ndim))
    at = np.broadcast_to(index._data.astype(np.int64).reshape(along), source.shape)
    return x.scatter_add(d, Tensor._make(np.ascontiguousarray(at), False), source * alpha if alpha != 1 else source)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """As torch.index_copy: input with its slice at `index[i]` along dim replaced by `source[i]` (a repeated index:
    the last one's, as torch's CPU loop). Gradients: input's is the result's with the replaced slices zeroed,
    source's the result's at each source slice's place (scatter's)."""
    x = _tensor_input("index_copy", input)
    d = _axis(_int_dim("index_copy", dim), builtins.max(x.ndim, 1))
    if not isinstance(index, Tensor) or index.dtype != np.int64:
        got = type(index).__name__ if not isinstance(index, Tensor) else index.dtype
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got {got}")
    if not isinstance(source, Tensor):
        raise TypeError(f"index_copy(): argument 'source' must be Tensor, not {type(source).__name__}")
    if index.ndim > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})")
    if source.dtype != x.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{x.dtype} and (source) {source.dtype}")
    n = source.shape[d] if source.ndim else 1
    if index.numel() != n:
        raise IndexError(f"index_copy_(): Number of indices ({index.numel()}) should be equal to source.size(dim) "
                         f"({n})")
    if source.ndim != x.ndim or any(a != b for k, (a, b) in enumerate(zip(x.shape, source.shape)) if k != d):
        raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice shapes. Destination "
                           f"shape {list(x.shape)}, source shape {list(source.shape)} (dim {d})")
    size = x.shape[d] if x.ndim else 1
    flat = index._data.reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= size):   # no negatives, as torch
        bad = flat[(flat < 0) | (flat >= size)][0]
        raise IndexError(f"index_copy_(): index {bad} is out of bounds for dimension {d} with size {size}")
    if x.ndim == 0:   # a 0-d tensor is a vector of one here, as torch reads it
        return index_copy(x.reshape(1), 0, index.reshape(-1), source.reshape(1)).reshape(())
    along = tuple(-1 if k == d else 1 for k in range(source.ndim))
    at = np.broadcast_to(flat.reshape(along), source.shape)
    return x.scatter(d, Tensor._make(np.ascontiguousarray(at), False), source)


# ----------------------------------------------------------------------------- index_fill, cummax/cummin, logcumsumexp
def index_fill(input: Tensor, dim: int, index: Tensor, value: float | Tensor) -> Tensor:
    """As torch.index_fill: input with the slices at `index` along dim set to value (a number, or a 0-d Tensor
    whose gradient is the sum of the result's there); negative indices count from the end, as torch's."""
    x = _tensor_input("index_fill", input)
    d = _axis(_int_dim("index_fill", dim), builtins.max(x.ndim, 1))
    if not isinstance(index, Tensor) or index.dtype != np.int64:
        got = type(index).__name__ if not isinstance(index, Tensor) else index.dtype
        raise IndexError(f"index_fill_(): Expected dtype int64 for index, got {got}")
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with {value.ndim} "
                           "dimension(s).")
    size = x.shape[d] if x.ndim else 1
    where_ = index._data.reshape(-1)
    if where_.size and (where_.min() < -size or where_.max() >= size):
        bad = where_[(where_ < -size) | (where_ >= size)][0]
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {size}")
    along = np.zeros(size, bool)
    along[where_] = True
    mask = along.reshape([-1 if k == d else 1 for k in range(x.ndim)])
    return x.masked_fill(Tensor._make(mask, False), value)


def cummax(input: Tensor, dim: int) -> ValuesIndices:
    """As torch.cummax: (values, indices) of the running maximum along dim; a tie takes the later index and a NaN
    stays the maximum from where it appears, as torch's. The gradient goes to the indices (gather's)."""
    return _running_extreme("cummax", input, dim, np.greater_equal)


def cummin(input: Tensor, dim: int) -> ValuesIndices:
    """As torch.cummin: the running minimum (see cummax)."""
    return _running_extreme("cummin", input, dim, np.less_equal)


def _running_extreme(fn, input, dim, takes_over):
    """cummax's / cummin's indices, one step along dim at a time over all the rows at once: the new element
    takes over when it is NaN, or beats or ties the best so far (takes_over) while that is not NaN, as torch's."""
    x = _tensor_input(fn, input)
    if x.dtype == np.bool_:
        raise RuntimeError(f"{fn}: not implemented for a mask here (convert it: x.long())")
    d = _axis(_int_dim(fn, dim), builtins.max(x.ndim, 1))
    if x.ndim == 0:
        return ValuesIndices(x.clone(), Tensor._make(np.zeros((), np.int64), False))
    rows = np.moveaxis(x._data, d, -1)
    indices = np.zeros(rows.shape, np.int64)
    if rows.shape[-1]:
        best, at = rows[..., 0].copy(), np.zeros(rows.shape[:-1], np.int64)
        for k in range(1, rows.shape[-1]):
            new = rows[..., k]
            with np.errstate(invalid="ignore"):
                take = np.isnan(new) | (~np.isnan(best) & takes_over(new, best))
            best, at = np.where(take, new, best), np.where(take, k, at)
            indices[..., k] = at
    index = Tensor._make(np.ascontiguousarray(np.moveaxis(indices, -1, d)), False)
    return ValuesIndices(x.gather(d, index), index)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """As torch.logcumsumexp: `log(cumsum(exp(x)))` along dim, without overflow (primitives.LogCumSumExp)."""
    x = _tensor_input("logcumsumexp", input)
    if x.dtype.kind != "f":
        raise DTypeNotImplementedError(f"logcumsumexp: not implemented for {x.dtype} (as torch): convert it first, "
                                       "e.g. x.float()")
    d = _axis(_int_dim("logcumsumexp", dim), builtins.max(x.ndim, 1))
    if x.ndim == 0:
        return apply(P.LogCumSumExp, x.reshape(1), axis=0).reshape(())
    return apply(P.LogCumSumExp, x, axis=d)


# ----------------------------------------------------------------------------- torch's top-level linear algebra
def det(input: Tensor) -> Tensor:
    """As torch.det: `tr.linalg.det(input)`."""
    return linalg.det(input)


def logdet(input: Tensor) -> Tensor:
    """As torch.logdet: log(det(input)), NaN where the determinant is negative and -inf where it is 0."""
    sign, logabsdet = linalg.slogdet(input)
    return logabsdet.masked_fill(Tensor._make(sign._data < 0, False), float("nan"))


def slogdet(input: Tensor) -> linalg.SlogdetResult:
    """As torch.slogdet: `tr.linalg.slogdet(input)`, (sign, logabsdet)."""
    return linalg.slogdet(input)


def inverse(input: Tensor) -> Tensor:
    """As torch.inverse: `tr.linalg.inv(input)`."""
    return linalg.inv(input)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """As torch.pinverse: `tr.linalg.pinv(input, rtol=rcond)`."""
    return linalg.pinv(input, rtol=rcond)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """As torch.matrix_power: `tr.linalg.matrix_power(input, n)`."""
    return linalg.matrix_power(input, n)


# ----------------------------------------------------------------------------- sorted searches, index factories
def searchsorted(sorted_sequence: Tensor, values: Tensor | float, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """As torch.searchsorted: for each value, the index in sorted_sequence's last dim where it would go to keep it
    sorted (after equal values with right=True or side="right"), int64, without gradient. A 1-D sequence serves
    every value; an N-D one is searched row by row, its leading dims those of values. sorter: the indices that sort
    each row (argsort's)."""
    fn = "searchsorted"
    seq = _tensor_input(fn, sorted_sequence)
    values = values._data if isinstance(values, Tensor) else np.asarray(values)
    if out_int32:
        raise TypeError(f"{fn}: out_int32=True asks for int32, which tensors here do not hold (int64 only)")
    if side not in (None, "left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
    if side == "left" and right:
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left while "
                           "right was True")
    where = "right" if right or side == "right" else "left"
    rows = seq._data
    if sorter is not None:
        if not isinstance(sorter, Tensor) or sorter._data.dtype.kind != "i" or sorter.shape != seq.shape:
            raise RuntimeError("torch.searchsorted(): sorter must be an int64 tensor of sorted_sequence's shape")
        rows = np.take_along_axis(rows, sorter._data, axis=-1)
    if seq.ndim == 0:
        raise RuntimeError("torch.searchsorted(): input value can be a scalar only when sorted_sequence tensor "
                           "dimension is 1, but we got sorted_sequence dim 0")
    if seq.ndim == 1:
        return Tensor._make(np.searchsorted(rows, values, side=where).astype(np.int64), False)
    if values.ndim != seq.ndim or values.shape[:-1] != seq.shape[:-1]:
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
    n = math.prod(seq.shape[:-1])   # (not reshape(-1, ...): a (0, 0) sequence has no -1 to infer)
    flat_rows, flat_values = rows.reshape(n, rows.shape[-1]), values.reshape(n, values.shape[-1])
    out = np.stack([np.searchsorted(r, v, side=where) for r, v in zip(flat_rows, flat_values)]) \
        if flat_rows.shape[0] else np.zeros(flat_values.shape, np.int64)
    return Tensor._make(out.reshape(values.shape).astype(np.int64), False)


def bucketize(input: Tensor | float, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """As torch.bucketize: the bucket of each value among 1-D increasing boundaries (boundaries[i - 1] < x <=
    boundaries[i], or boundaries[i - 1] <= x < boundaries[i] with right=True): searchsorted(boundaries, input)."""
    if not isinstance(boundaries, Tensor) or boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({getattr(boundaries, 'ndim', 0)})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def var_mean(input: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """As torch.var_mean: `(input.var(...), input.mean(...))` over the same dims, keepdim alike."""
    return _spread_and_mean("var_mean", _tensor_input("var_mean", input).var, input, args, kwargs)


def std_mean(input: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """As torch.std_mean: `(input.std(...), input.mean(...))` over the same dims, keepdim alike."""
    return _spread_and_mean("std_mean", _tensor_input("std_mean", input).std, input, args, kwargs)


def _spread_and_mean(fn, spread, input, args, kwargs):
    out = spread(*args, **kwargs)
    dim = args[0] if args and not isinstance(args[0], (bool, np.bool_)) else kwargs.get("dim")
    keepdim = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
    mean = input.mean(dim, keepdim=bool(keepdim)) if dim is not None else input.mean()
    if mean.shape != out.shape:   # (keepdim with every dim: mean() gives a 0-d tensor)
        mean = mean.reshape(out.shape)
    return out, mean


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: npt.DTypeLike | None = None,
                 device: Any = None) -> Tensor:
    """As torch.tril_indices: the (2, N) int64 row and column indices of a row x col matrix's lower triangle
    (offset: the diagonal above or below the main one), in row-major order."""
    return _triangle_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: npt.DTypeLike | None = None,
                 device: Any = None) -> Tensor:
    """As torch.triu_indices: the (2, N) int64 indices of the upper triangle, as tril_indices'."""
    return _triangle_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


def _triangle_indices(fn, numpy_indices, row, col, offset, dtype, device):
    check_device(fn, device)
    for name, v in (("row", row), ("col", col), ("offset", offset)):
        if not _is_int(v):
            raise TypeError(f"{fn}(): argument '{name}' must be int, not {type(v).__name__}")
    if row < 0 or col < 0:
        raise RuntimeError(f"{fn}: row must be non-negative, got {row}" if row < 0 else
                           f"{fn}: col must be non-negative, got {col}")
    if dtype is not None and np.dtype(dtype) != np.int64:
        raise TypeError(f"{fn}: dtype must be int64 here (torch's other integer dtypes are not held), got {dtype}")
    rows, cols = numpy_indices(int(row), int(offset), int(col))
    return Tensor._make(np.stack([rows, cols]).astype(np.int64).reshape(2, -1), False)
