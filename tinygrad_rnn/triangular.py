"""The triangular half of tr.linalg: triangular solves, the LU factorization with partial pivoting, and the solves
on LU and Cholesky factors, as torch.linalg.solve_triangular, lu_factor(_ex), lu, lu_solve and torch.lu_unpack,
torch.triangular_solve, torch.cholesky_solve and torch.cholesky_inverse (tr.linalg and tr have them).

numpy has no LU and no triangular solve (scipy has, and is not a dependency), so both are compiled here with Numba
(kernels/factorizations.py), each beside its slow twin in numpy (_lu_numpy, _solve_tri_numpy: vectorised over the
batch, a Python loop over the n rows), which does the same arithmetic in the same order: the two agree bit for bit
(tests/engine/test_linalg_factor_kernels.py). The LU is LAPACK's unblocked one (getf2): at step j the row with the
largest |a[i, j]|, i >= j (the first of ties), is swapped into row j, so the pivots are LAPACK's and torch's
(1-based; int64 here, torch's are int32, as tensors here hold no int32). The first exactly zero pivot, 1-based, is
`info` (the factorization completes anyway, as LAPACK's). torch's LU is MKL's blocked getrf: the same pivots (checked
up to n = 300, float32 and float64), values equal to rounding (within 10 n eps of the largest entry). The triangular
solve is reference trsm's column sweep (row k of X final once divided by a[k, k], then taken off the later rows);
lu_solve moves B's rows by the pivots (LAPACK's laswp) rather than multiplying by P.

Three primitives, forward and backward side by side as in primitives.py, with torch's backward formulas
(FunctionsManual.cpp, written for real matrices): SolveTriangular, LUFactor and CholeskySolve. The rest
(lu, lu_unpack, lu_solve, triangular_solve, cholesky_inverse) are compositions of them and Tensor operations.

This module is built on tensor.py; of the layer above the engine it imports only its kernels (as primitives.py).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .kernels import factorizations
from .linalg_checks import _batch_words, _matrices, _mT, _warn_deprecated
from .primitives import Primitive
from .tape import apply
from .tensor import Tensor
from .tensor_args import _ProductDTypeError

__all__ = ["solve_triangular", "triangular_solve", "lu_factor", "lu_factor_ex", "lu", "lu_unpack", "lu_solve",
           "cholesky_solve", "cholesky_inverse", "lu_old", "lu_solve_old"]


class LUFactorResult(NamedTuple):
    LU: Tensor
    pivots: Tensor


class LUFactorExResult(NamedTuple):
    LU: Tensor
    pivots: Tensor
    info: Tensor


class LUResult(NamedTuple):
    P: Tensor
    L: Tensor
    U: Tensor


class TriangularSolveResult(NamedTuple):
    solution: Tensor
    cloned_coefficient: Tensor


# ----------------------------------------------------------------------------- substitution and LU
def _solve_tri(a, b, upper, unit=False, left=True):
    """X with `A X = B` (`X A = B` with left=False), A read in its upper or lower triangle (its diagonal taken as
    ones if unit), by the compiled column sweep (kernels/factorizations.py); the batch dims broadcast. A zero on
    the diagonal gives inf and NaN, as LAPACK's trsm (torch's) gives: no check."""
    if not left:
        return _mT(_solve_tri(_mT(a), _mT(b), not upper, unit))
    with np.errstate(all="ignore"):
        return factorizations.solve_triangular(a, b, upper, unit)


def _solve_tri_numpy(a, b, upper, unit=False, left=True):
    """_solve_tri's slow twin, with its arithmetic: reference trsm's column sweep, row k of X final once divided
    by a[k, k] and then taken off the rows after it (before it, if upper); vectorised over the batch and B's
    columns, a Python loop over the n rows."""
    if not left:
        return _mT(_solve_tri_numpy(_mT(a), _mT(b), not upper, unit))
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    x = np.array(np.broadcast_to(b, batch + b.shape[-2:]), dtype=np.result_type(a, b))
    n = a.shape[-1]
    with np.errstate(all="ignore"):
        for k in (range(n - 1, -1, -1) if upper else range(n)):
            if not unit:
                x[..., k, :] /= a[..., k, k, None]
            rest = slice(0, k) if upper else slice(k + 1, n)   # the rows still to solve
            x[..., rest, :] -= x[..., k, None, :] * a[..., rest, k, None]
    return x


def _lu(a):
    """LAPACK getf2's LU of a (..., m, n), compiled (kernels/factorizations.py): (LU packed, the unit diagonal of
    L left out; pivots, 1-based int64, row j swapped with row pivots[j] - 1 at step j; info, the 1-based index of
    the first zero pivot or 0)."""
    with np.errstate(all="ignore"):
        return factorizations.lu_factor(a)


def _lu_numpy(a):
    """_lu's slow twin, with its arithmetic: getf2 vectorised over the batch, a Python loop over the columns."""
    shape = a.shape
    m, n = shape[-2:]
    k = min(m, n)
    lu = np.array(a, dtype=a.dtype).reshape((math.prod(shape[:-2]), m, n))
    pivots = np.empty((lu.shape[0], k), np.int64)
    info = np.zeros(lu.shape[0], np.int64)
    batch = np.arange(lu.shape[0])
    with np.errstate(all="ignore"):
        for j in range(k):
            p = j + np.argmax(np.abs(lu[:, j:, j]), axis=1)
            pivots[:, j] = p + 1
            row = lu[batch, j].copy()
            lu[batch, j] = lu[batch, p]
            lu[batch, p] = row
            pivot = lu[:, j, j]
            info[(pivot == 0) & (info == 0)] = j + 1
            column = lu[:, j + 1:, j]
            np.divide(column, pivot[:, None], out=column, where=pivot[:, None] != 0)
            lu[:, j + 1:, j + 1:] -= column[:, :, None] * lu[:, j:j + 1, j + 1:]
    return lu.reshape(shape), pivots.reshape(shape[:-2] + (k,)), info.reshape(shape[:-2])


def _rows_of(pivots, m):
    """The row order (..., m) LAPACK's pivots (..., k), 1-based and in [1, m], make: the rows the swaps bring to the
    top (kernels/factorizations.permutation_rows)."""
    flat = pivots.reshape((math.prod(pivots.shape[:-1]), pivots.shape[-1]))
    return factorizations.permutation_rows(flat, m).reshape(pivots.shape[:-1] + (m,))


def _permutation(rows, dtype):
    """torch's P of lu_unpack (A = P L U) from the row order the pivots make (_pivot_rows): P[rows[i], i] = 1."""
    m = rows.shape[-1]
    flat = rows.reshape((math.prod(rows.shape[:-1]), m))
    p = np.zeros((flat.shape[0], m, m), dtype)
    p[np.arange(flat.shape[0])[:, None], flat, np.arange(m)] = 1
    return p.reshape(rows.shape[:-1] + (m, m))


def _permutation_rows_numpy(pivots, m):
    """permutation_rows' slow twin: the swaps of pivots (B, k) applied to 0..m-1, vectorised over the batch."""
    flat = pivots - 1
    batch = np.arange(flat.shape[0])
    perm = np.broadcast_to(np.arange(m), (flat.shape[0], m)).copy()
    for j in range(flat.shape[1]):
        row = perm[batch, j].copy()
        perm[batch, j] = perm[batch, flat[:, j]]
        perm[batch, flat[:, j]] = row
    return perm


def _unpack(lu, k):
    """(L, U) of a packed LU (..., m, n) with k = min(m, n): L (..., m, k) unit lower, U (..., k, n) upper."""
    m = lu.shape[-2]
    low = np.tril(lu[..., :, :k], -1) + np.eye(m, k, dtype=lu.dtype)
    return low, np.triu(lu[..., :k, :])


# ----------------------------------------------------------------------------- the primitives
class SolveTriangular(Primitive):
    """X with `A X = B`, A triangular (its upper or lower triangle read, the diagonal taken as ones if
    unitriangular); batches broadcast. `gB = A^-T g` and `gA = -gB X^T` kept to the triangle read, as torch's."""

    @staticmethod
    def forward(a, b, upper, unitriangular):
        x = _solve_tri(a, b, upper, unitriangular)
        return x, (a, x)

    @staticmethod
    def backward(g, saved, needs, upper, unitriangular):
        a, x = saved
        gb = _solve_tri(_mT(a), g, not upper, unitriangular)
        if not needs[0]:
            return None, gb
        ga = -(gb @ _mT(x))
        ga = np.triu(ga, 1 if unitriangular else 0) if upper else np.tril(ga, -1 if unitriangular else 0)
        return ga, gb


class LUFactor(Primitive):
    """(LU, pivots, info) of A (..., m, n) as torch.linalg.lu_factor_ex. The gradient is torch's
    lu_factor_ex_backward: gL (the first k columns of g) and gU (its first k rows) through linalg_lu_backward."""

    @staticmethod
    def forward(a):
        lu, pivots, info = _lu(a)
        return (lu, pivots, info), (lu, pivots)

    @staticmethod
    def backward(g, saved, needs):
        lu, pivots = saved
        m, n = lu.shape[-2:]
        k = min(m, n)
        low, up = _unpack(lu, k)
        ga = _lu_backward(g[0][..., :, :k], g[0][..., :k, :], low, up)
        inverse = np.argsort(_rows_of(pivots, m), axis=-1, kind="stable")   # P @ ga: ga's rows moved back
        return (np.take_along_axis(ga, inverse[..., None], axis=-2),)


def _lu_backward(gl, gu, low, up):
    """torch's linalg_lu_backward for A = P L U without its P: square, wide (m < n) and tall (m > n) A."""
    m, n = low.shape[-2], up.shape[-1]
    k = min(m, n)
    if m == n:
        ga = np.tril(_mT(low) @ gl, -1) + np.triu(gu @ _mT(up))
        ga = _solve_tri(_mT(up), ga, upper=False, left=False)
        return _solve_tri(_mT(low), ga, upper=True, unit=True)
    if m < n:
        ga = np.tril(_mT(low) @ gl - np.triu(gu) @ _mT(up), -1)
        ga = _solve_tri(_mT(up[..., :, :k]), ga, upper=False, left=False)
        ga = np.concatenate([ga + np.triu(gu[..., :, :k]), gu[..., :, k:]], -1)
        return _solve_tri(_mT(low), ga, upper=True, unit=True)
    ga = np.triu(gu @ _mT(up) - _mT(low) @ np.tril(gl, -1))
    ga = _solve_tri(_mT(low[..., :k, :]), ga, upper=True, unit=True)
    ga = np.concatenate([ga + np.tril(gl[..., :k, :], -1), gl[..., k:, :]], -2)
    return _solve_tri(_mT(up), ga, upper=False, left=False)


class CholeskySolve(Primitive):
    """X with `A X = B`, A = L L^T (or U^T U with upper), from the triangle of the factor; batches broadcast. The
    gradient is torch's: `gB = A^-1 g`, and with `C = gB X^T + X gB^T`, `gL = -C L` (`-U C` with upper) — of the
    whole factor, its other triangle too, as torch's."""

    @staticmethod
    def forward(b, factor, upper):
        x = _cholesky_solve(b, factor, upper)
        return x, (factor, x)

    @staticmethod
    def backward(g, saved, needs, upper):
        factor, x = saved
        gb = _cholesky_solve(g, factor, upper)
        if not needs[1]:
            return gb, None
        c = gb @ _mT(x)
        c = c + _mT(c)
        return gb, -(factor @ c) if upper else -(c @ factor)


def _cholesky_solve(b, factor, upper):
    low = _mT(factor) if upper else factor       # L's triangle, read as L
    return _solve_tri(_mT(low), _solve_tri(low, b, upper=False), upper=True)


# ----------------------------------------------------------------------------- the functions
def _check_pair(fn, a, b, name_a="A", name_b="B"):
    if not isinstance(b, Tensor):
        raise TypeError(f"linalg.{fn}(): argument '{name_b}' must be Tensor, not {type(b).__name__}")
    if a.dtype != b.dtype:
        raise _ProductDTypeError(f"linalg.{fn}: Expected {name_a} and {name_b} to have the same dtype, but found "
                                 f"{name_a} of type {a.dtype} and {name_b} of type {b.dtype} instead")
    if b.ndim < 2:
        raise RuntimeError(f"linalg.{fn}: The input tensor {name_b} must have at least 2 dimensions.")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(f"linalg.{fn}: the batch dims of {name_a} {tuple(a.shape)} and {name_b} {tuple(b.shape)} "
                           "do not broadcast") from None


def _check_bool(fn, **flags):
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"linalg.{fn}(): argument '{name}' must be bool, not {type(value).__name__}")


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False) -> Tensor:
    """As torch.linalg.solve_triangular: X with `A X = B` (`X A = B` with left=False), A's upper or lower triangle
    read (its diagonal as ones with unitriangular); batch dims broadcast. A zero on the diagonal gives inf/NaN, not
    an error, as torch's."""
    a = _matrices("solve_triangular", A, square=True)
    _check_pair("solve_triangular", a, B)
    _check_bool("solve_triangular", upper=upper, left=left, unitriangular=unitriangular)
    if B.shape[-2 if left else -1] != a.shape[-1]:
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({a.shape[-2]}x{a.shape[-1]} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    if not left:   # X A = B is A^T X^T = B^T, A^T triangular the other way
        return solve_triangular(a.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    return apply(SolveTriangular, a, B, upper=upper, unitriangular=unitriangular)


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False) -> TriangularSolveResult:
    """As torch.triangular_solve (deprecated there for linalg.solve_triangular, whose arguments are the other way
    round): (X with `A X = b`, or `A^T X = b` with transpose; a copy of A). torch's deprecation warning, once."""
    _warn_deprecated("triangular_solve")
    a = _matrices("triangular_solve", A, square=True)
    _check_bool("triangular_solve", upper=upper, transpose=transpose, unitriangular=unitriangular)
    coefficient = a.mT if transpose else a
    x = solve_triangular(coefficient, b, upper=upper != transpose, unitriangular=unitriangular)
    batch = x.shape[:-2]
    return TriangularSolveResult(x, a.broadcast_to(batch + a.shape[-2:]).clone())


def _refuse_singular(fn, info):
    """torch's error for a zero pivot: a RuntimeError (not its LinAlgError), in torch's words."""
    if info.any():
        element, order = _batch_words(info)
        raise RuntimeError(f"torch.linalg.{fn}: {element}U[{order},{order}] is zero and using it on lu_solve would "
                           "result in a division by zero. If you still want to perform the factorization, consider "
                           "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> LUFactorExResult:
    """As torch.linalg.lu_factor_ex: (LU, pivots, info), LU holding L below its diagonal (L's unit diagonal left
    out) and U on and above it, `A = P L U` with P from pivots (lu_unpack); info the 1-based index of the first
    zero pivot (0 if none). Pivots and info are int64 (torch's int32), with torch's values."""
    a = _matrices("lu_factor_ex", A, kernel="lu_cpu")
    _check_bool("lu_factor_ex", pivot=pivot, check_errors=check_errors)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    lu_, pivots, info = apply(LUFactor, a)
    if check_errors:
        _refuse_singular("lu_factor_ex", info._data)
    return LUFactorExResult(lu_, pivots.detach(), info.detach())


def lu_factor(A: Tensor, *, pivot: bool = True) -> LUFactorResult:
    """As torch.linalg.lu_factor: lu_factor_ex's (LU, pivots), refusing a singular A with torch's RuntimeError (a
    zero pivot would divide by zero in lu_solve); lu_factor_ex and lu take one."""
    lu_, pivots, info = lu_factor_ex(_matrices("lu_factor", A, kernel="lu_cpu"), pivot=pivot)
    _refuse_singular("lu_factor", info._data)
    return LUFactorResult(lu_, pivots)


def _pivot_rows(fn, lu_, pivots):
    """The row order (..., m) that lu_factor's pivots of lu_ (..., m, n) make (A = P L U: P[rows[i], i] = 1),
    after torch's checks of the pivots: integers, one per step, each in [1, m] (fn's words)."""
    if not isinstance(pivots, Tensor) or pivots.dtype.kind not in "iu":
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of integer dtype "
                           f"(int64 here, int32 in torch), got {getattr(pivots, 'dtype', type(pivots))}")
    m, n = lu_.shape[-2:]
    k = min(m, n)
    if pivots.shape != lu_.shape[:-2] + (k,):
        raise RuntimeError(f"torch.lu_unpack: LU_pivots of shape {tuple(pivots.shape)} does not match LU_data of shape "
                           f"{tuple(lu_.shape)}: expected {lu_.shape[:-2] + (k,)}")
    raw = pivots._data
    if raw.size and (raw.min() < 1 or raw.max() > m):
        if fn == "lu_unpack":
            raise RuntimeError("pivots passed to lu_unpack must be between 1 and LU.size(-2) inclusive.Did you "
                               "properly pass the result of lu_factor?")
        bound = "greater or equal to 1" if raw.min() < 1 else "smaller or equal to LU.size(-2)"
        raise RuntimeError(f"Pivots given to lu_solve must all be {bound}. Did you properly pass the result of "
                           "lu_factor?")
    return _rows_of(raw, m)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True) -> LUResult:
    """As torch.lu_unpack: (P, L, U) of lu_factor's result, `A = P L U`; a part not unpacked is an empty tensor.
    L and U pass their gradients to LU_data (P has none)."""
    lu_ = _matrices("lu_unpack", LU_data, name="LU_data")
    m, n = lu_.shape[-2:]
    k = min(m, n)
    rows = _pivot_rows("lu_unpack", lu_, LU_pivots)
    empty = Tensor._make(np.zeros(0, lu_.dtype), False)
    p = Tensor._make(_permutation(rows, lu_.dtype), False) if unpack_pivots else empty
    if not unpack_data:
        return LUResult(p, empty, empty)
    low = lu_[..., :, :k].tril(-1) + Tensor._make(np.eye(m, k, dtype=lu_.dtype), False)
    return LUResult(p, low, lu_[..., :k, :].triu())


def lu(A: Tensor, *, pivot: bool = True) -> LUResult:
    """As torch.linalg.lu: (P, L, U) with `A = P L U`, L (..., m, k) unit lower triangular, U (..., k, n) upper,
    k = min(m, n); a singular A is factorized too."""
    lu_, pivots, _ = lu_factor_ex(_matrices("lu", A, kernel="lu_cpu"), pivot=pivot)
    return lu_unpack(lu_, pivots)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False) -> Tensor:
    """As torch.linalg.lu_solve: X with `A X = B` from lu_factor's (LU, pivots) of A (`A^T X = B` with adjoint,
    `X A = B` with left=False); batch dims broadcast. Gradients reach LU (its triangles) and B."""
    lu_ = _matrices("lu_solve", LU, square=True, name="LU")
    _check_pair("lu_solve", lu_, B, "LU", "B")
    _check_bool("lu_solve", left=left, adjoint=adjoint)
    if not left:   # X A = B is A^T X^T = B^T
        return lu_solve(lu_, pivots, B.mT, adjoint=not adjoint).mT
    if B.shape[-2] != lu_.shape[-1]:
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({lu_.shape[-2]}x{lu_.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
    rows = _pivot_rows("lu_solve", lu_, pivots)
    batch = np.broadcast_shapes(lu_.shape[:-2], B.shape[:-2])
    if adjoint:   # A^T = U^T L^T P^T: X = P L^-T U^-T B, P's rows moved back (X[rows[i]] = Z[i]: LAPACK's laswp)
        y = solve_triangular(lu_.mT, B, upper=False)
        z = solve_triangular(lu_.mT, y, upper=True, unitriangular=True)
        return _take_rows(z, np.argsort(rows, axis=-1, kind="stable"), batch)
    y = solve_triangular(lu_, _take_rows(B, rows, batch), upper=False, unitriangular=True)   # X = U^-1 L^-1 P^T B
    return solve_triangular(lu_, y, upper=True)


def _take_rows(x, rows, batch):
    """x[..., rows[..., i], :] for each i (P^T x for P[rows[i], i] = 1: rows moved, no products), the batch dims of
    x and rows broadcast to batch."""
    index = np.broadcast_to(rows, batch + rows.shape[-1:])[..., None]
    return x.expand(batch + x.shape[-2:]).take_along_dim(index, dim=-2)


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """As torch.cholesky_solve: X with `A X = B` from A's Cholesky factor L (`A = L L^T`, or `U^T U` with
    upper); batch dims broadcast."""
    factor = _matrices("cholesky_solve", L, square=True, name="L")
    _check_pair("cholesky_solve", factor, B, "L", "B")
    _check_bool("cholesky_solve", upper=upper)
    if B.shape[-2] != factor.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {factor.shape[-2]} by "
                           f"{factor.shape[-1]} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    return apply(CholeskySolve, B, factor, upper=upper)


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """As torch.cholesky_inverse: A^-1 from A's Cholesky factor L (`A = L L^T`, or `U^T U` with upper), the
    cholesky_solve of the identity (torch's gradient too)."""
    factor = _matrices("cholesky_inverse", L, square=True, name="L")
    eye = Tensor._make(np.eye(factor.shape[-1], dtype=factor.dtype), False)
    return cholesky_solve(eye, factor, upper)


# ----------------------------------------------------------------------------- torch's deprecated spellings
def lu_old(A: Tensor, pivot: bool = True, get_infos: bool = False) -> tuple[Tensor, ...]:
    """As torch.lu (tr.lu, x.lu(); deprecated there for linalg.lu_factor): (LU, pivots), and infos with
    get_infos=True; a singular A is factorized, not refused. torch's deprecation warning, once."""
    _warn_deprecated("lu")
    _check_bool("lu", pivot=pivot, get_infos=get_infos)
    lu_, pivots, info = lu_factor_ex(_matrices("lu", A, kernel="lu_cpu"), pivot=pivot)
    return (lu_, pivots, info) if get_infos else (lu_, pivots)


def lu_solve_old(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:
    """As torch.lu_solve (tr.lu_solve, x.lu_solve(); deprecated there): linalg.lu_solve(LU_data, LU_pivots, b).
    torch's deprecation warning, once."""
    _warn_deprecated("lu_solve")
    return lu_solve(LU_data, LU_pivots, b)
