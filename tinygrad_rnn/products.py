"""torch's products beyond matmul, composed of Tensor operations: addmm, addmv, addr, baddbmm, addbmm (a scaled
input plus a scaled product), kron, tensordot and cross.

Nothing here has a forward or backward of its own (as tensor_functions.py): each is made of mm/bmm/matmul,
reshapes and arithmetic, so the gradients are theirs. The Tensor methods of the same names (x.addmm(m1, m2)) and
the in-place forms (x.addmm_(m1, m2), inplace.py) call these functions.

This module is built on tensor.py, and imports nothing built on the engine (nn, optim, kernels).
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .tensor import ShapeError, Tensor
from .tensor_args import _axis, _int_dim, _is_int, _ProductDTypeError

__all__ = ["addmm", "addmv", "addr", "baddbmm", "addbmm", "kron", "tensordot", "cross"]


# ----------------------------------------------------------------------------- beta * input + alpha * product
def _tensor(fn, name, x, position):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, not {type(x).__name__}")
    return x


def _check_dims(fn, named):
    """Each (name, tensor, ndim) must have that many dims, in torch's words."""
    for name, t, ndim in named:
        if t.ndim != ndim:
            raise RuntimeError(f"{fn}: {name} must be a {ndim}-D tensor, got a {t.ndim}-D tensor of shape "
                               f"{tuple(t.shape)}")


def _scale(fn, name, value, x):
    """beta or alpha: a number (a bool counts as 0 or 1, as torch). With integer tensors a float one is truncated
    toward zero as torch's kernels read it (addr refuses it, as torch's)."""
    if not isinstance(value, numbers.Number) or isinstance(value, complex):
        raise TypeError(f"{fn}(): argument '{name}' must be a number, not {type(value).__name__}")
    if x.dtype.kind != "f" and isinstance(value, float):
        if fn == "addr":
            raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating point number.")
        return int(value)
    return value


def _scaled_sum(fn, input, product, beta, alpha, alpha_zero_skips=True):
    """`beta * input + alpha * product`, input broadcast to the product's shape, as torch computes it: beta = 0
    leaves input out (a NaN or inf there does not reach the result; input's gradient is zero), and alpha = 0 the
    product where torch's kernel skips it too (addmm, addmv, addbmm: NaN in the factors included; baddbmm's and
    addr's multiply it by 0)."""
    x = _tensor(fn, "input", input, 1)
    beta, alpha = _scale(fn, "beta", beta, x), _scale(fn, "alpha", alpha, x)
    if x.dtype != product.dtype:
        raise _ProductDTypeError(f"{fn}: input and the matrices must have the same dtype, but got {x.dtype} and "
                                 f"{product.dtype} (nothing is upcast silently: convert one with .astype())")
    if not _broadcasts(x.shape, product.shape):
        raise ShapeError(f"{fn}: input of shape {tuple(x.shape)} does not broadcast to the product's shape "
                         f"{tuple(product.shape)} "
                         "(as torch: the expanded size of the tensor must match the existing size)")
    x = x.expand(product.shape)
    if alpha == 0 and alpha_zero_skips:   # torch's kernel reads neither factor: their NaN stays out, no gradient
        product = product.masked_fill(_all_true(product), 0)
    elif alpha != 1:
        product = product * alpha
    if beta == 0:
        return product + x.masked_fill(_all_true(x), 0)
    return product + (x if beta == 1 else x * beta)


def _all_true(x):
    return Tensor._make(np.ones(x.shape, bool), False)


def _broadcasts(shape, target):
    """Whether shape broadcasts to target (not the other way)."""
    if len(shape) > len(target):
        return False
    return all(n in (1, m) for n, m in zip(shape[::-1], target[::-1]))


def _same_dtype(fn, a, b, names):
    if a.dtype != b.dtype:
        raise _ProductDTypeError(f"{fn}: {names[0]} and {names[1]} must have the same dtype, but got {a.dtype} and "
                                 f"{b.dtype}")


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """As torch.addmm: `beta * input + alpha * (mat1 @ mat2)`, input broadcast to the (n, p) result; beta = 0
    ignores input's values (NaN too), as torch."""
    m1, m2 = _tensor("addmm", "mat1", mat1, 2), _tensor("addmm", "mat2", mat2, 3)
    _check_dims("addmm", (("mat1", m1, 2), ("mat2", m2, 2)))
    _same_dtype("addmm", m1, m2, ("mat1", "mat2"))
    return _scaled_sum("addmm", input, m1.mm(m2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """As torch.addmv: `beta * input + alpha * (mat @ vec)`, input broadcast to the (n,) result."""
    m, v = _tensor("addmv", "mat", mat, 2), _tensor("addmv", "vec", vec, 3)
    _check_dims("addmv", (("mat", m, 2), ("vec", v, 1)))
    _same_dtype("addmv", m, v, ("mat", "vec"))
    if m.shape[1] != v.shape[0]:
        raise ShapeError(f"addmv: size mismatch, got mat ({m.shape[0]}x{m.shape[1]}), vec ({v.shape[0]})")
    return _scaled_sum("addmv", input, m @ v, beta, alpha)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """As torch.addr: `beta * input + alpha * outer(vec1, vec2)`, input broadcast to the (n, m) result."""
    v1, v2 = _tensor("addr", "vec1", vec1, 2), _tensor("addr", "vec2", vec2, 3)
    _check_dims("addr", (("vec1", v1, 1), ("vec2", v2, 1)))
    _same_dtype("addr", v1, v2, ("vec1", "vec2"))
    return _scaled_sum("addr", input, v1.reshape(-1, 1) * v2.reshape(1, -1), beta, alpha, alpha_zero_skips=False)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """As torch.baddbmm: `beta * input + alpha * (batch1 @ batch2)` of two (b, n, m), (b, m, p) batches, input
    broadcast to the (b, n, p) result."""
    b1, b2 = _tensor("baddbmm", "batch1", batch1, 2), _tensor("baddbmm", "batch2", batch2, 3)
    _check_dims("baddbmm", (("batch1", b1, 3), ("batch2", b2, 3)))
    _same_dtype("baddbmm", b1, b2, ("batch1", "batch2"))
    return _scaled_sum("baddbmm", input, b1.bmm(b2), beta, alpha, alpha_zero_skips=False)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """As torch.addbmm: `beta * input + alpha * sum over b of batch1[b] @ batch2[b]`, input broadcast to the
    (n, p) result."""
    b1, b2 = _tensor("addbmm", "batch1", batch1, 2), _tensor("addbmm", "batch2", batch2, 3)
    _check_dims("addbmm", (("batch1", b1, 3), ("batch2", b2, 3)))
    _same_dtype("addbmm", b1, b2, ("batch1", "batch2"))
    return _scaled_sum("addbmm", input, b1.bmm(b2).sum(0), beta, alpha)


# ----------------------------------------------------------------------------- kron, tensordot, cross
def kron(input: Tensor, other: Tensor) -> Tensor:
    """As torch.kron: the Kronecker product, `out[i * q + k] = input[i] * other[k]` along each dim (q is other's
    size there), the fewer dims padded with leading 1s."""
    a, b = _tensor("kron", "input", input, 1), _tensor("kron", "other", other, 2)
    if a.dtype != b.dtype:
        raise _ProductDTypeError(f"kron: input and other must have one dtype, got {a.dtype} and {b.dtype} (nothing "
                                 "is upcast silently: convert one with .astype())")
    ndim = max(a.ndim, b.ndim)
    sa, sb = (1,) * (ndim - a.ndim) + a.shape, (1,) * (ndim - b.ndim) + b.shape
    # a's dim d at 2d and b's at 2d + 1: their product, read back, interleaves the two indices
    a_spread = a.reshape(tuple(n for s in sa for n in (s, 1)))
    b_spread = b.reshape(tuple(n for s in sb for n in (1, s)))
    return (a_spread * b_spread).reshape(tuple(p * q for p, q in zip(sa, sb)))


def tensordot(a: Tensor, b: Tensor, dims: int | Sequence = 2) -> Tensor:
    """As torch.tensordot: the sum over pairs of dims of a and b. dims an int n contracts a's last n dims with
    b's first n; a pair of lists (or of ints) names them, `([1, 0], [0, 1])`. The result has a's free dims, then
    b's."""
    a, b = _tensor("tensordot", "a", a, 1), _tensor("tensordot", "b", b, 2)
    dims_a, dims_b = _tensordot_dims(dims, a, b)
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db] and 1 not in (a.shape[da], b.shape[db]):
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[da]} in dim {da} "
                               f"and second has size {b.shape[db]} in dim {db}")
    # a contracted dim of size 1 broadcasts against the other's, as torch's (expand: its gradient summed back)
    a = a.expand(*(max(a.shape[d], b.shape[dims_b[dims_a.index(d)]]) if d in dims_a else -1 for d in range(a.ndim)))
    b = b.expand(*(max(b.shape[d], a.shape[dims_a[dims_b.index(d)]]) if d in dims_b else -1 for d in range(b.ndim)))
    if a.dtype != b.dtype:
        raise _ProductDTypeError(f"tensordot: expected both tensors to have the same dtype, got {a.dtype} and "
                                 f"{b.dtype}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    n = int(np.prod([a.shape[d] for d in dims_a]))
    left = a.permute(*free_a, *dims_a).reshape(-1, n)
    right = b.permute(*dims_b, *free_b).reshape(n, -1)
    return left.mm(right).reshape(tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def _tensordot_dims(dims, a, b):
    """tensordot's dims as two lists of distinct dims, of a and of b (negative ones wrapped)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if _is_int(dims):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(a.ndim - dims, a.ndim)), list(range(dims))
    pair = dims if isinstance(dims, (list, tuple)) and len(dims) == 2 else None
    if pair is None or not all(isinstance(p, (list, tuple)) and all(_is_int(d) for d in p) for p in pair):
        raise TypeError(f"tensordot: dims must be an int or a pair of lists of dims, got {dims!r}")
    if len(pair[0]) != len(pair[1]):
        raise RuntimeError(f"both dimension lists should have same length, got {len(pair[0])} and {len(pair[1])}")
    dims_a = [_axis(d, a.ndim) for d in pair[0]]
    dims_b = [_axis(d, b.ndim) for d in pair[1]]
    for name, ds in (("a", dims_a), ("b", dims_b)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"tensordot: dim appears multiple times in the list of dims of {name}: {ds}")
    return dims_a, dims_b


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """As torch.cross: the cross product of 3-vectors along dim, the two broadcast together. dim=None takes the
    first dim of size 3, as torch.cross (torch.linalg.cross's default is -1)."""
    a, b = _tensor("cross", "input", input, 1), _tensor("cross", "other", other, 2)
    if a.ndim != b.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions, got {a.ndim} and {b.ndim}")
    if a.dtype != b.dtype:
        raise _ProductDTypeError(f"linalg.cross: input and other must have one dtype, got {a.dtype} and {b.dtype} "
                                 "(nothing is upcast silently: convert one with .astype())")
    shape = np.broadcast_shapes(a.shape, b.shape) if _broadcast_ok(a.shape, b.shape) else None
    if shape is None:
        raise ShapeError(f"linalg.cross: the shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast")
    if dim is None:
        threes = [d for d, n in enumerate(shape) if n == 3]
        if not threes:
            raise RuntimeError(f"no dimension of size 3 in input (shape {tuple(shape)})")
        d = threes[0]
    else:
        d = _axis(_int_dim("cross", dim), len(shape))
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[d]} and "
                           f"{b.shape[d]}")
    a, b = a.expand(shape), b.expand(shape)
    # out[k] = a[k + 1] * b[k + 2] - a[k + 2] * b[k + 1], indices modulo 3
    return a.roll(-1, d) * b.roll(-2, d) - a.roll(-2, d) * b.roll(-1, d)


def _broadcast_ok(s, t):
    try:
        np.broadcast_shapes(s, t)
    except ValueError:
        return False
    return True
