"""The LDL^T factorization of symmetric (possibly indefinite) matrices, as torch.linalg.ldl_factor, ldl_factor_ex and
ldl_solve (tr.linalg has them).

`A = P L D L^T P^T`, L unit lower triangular and D block diagonal with 1 x 1 and 2 x 2 blocks, chosen by
Bunch-Kaufman's pivoting: LAPACK's unblocked sytf2 (lower triangle) and its solve sytrs, compiled with Numba
(kernels/factorizations.py ldl_factor, ldl_solve) because numpy has no LDL (scipy has, and is not a dependency). Their
slow twins are here in numpy (_sytf2_numpy, _sytrs_numpy: a Python loop over the columns of one matrix), with the
same arithmetic in the same order (sytrs's dot products add their terms first to last, not in BLAS's order): the two
agree bit for bit (tests/engine/test_linalg_factor_kernels.py). The results are LAPACK's packed ones, torch's: LD
holds L below its diagonal and D on it (a 2 x 2 block's off-diagonal just below), and pivots are 1-based, a 2 x 2
block's two entries both -p (row and column p swapped with the block's second). torch's is MKL's blocked sytrf: the
same pivots (checked up to n = 300), values equal to rounding. Pivots and infos are int64 here, torch's int32. torch
2.13 has no derivative for either function: the gradient is refused at backward, as torch's. ldl_solve refuses pivots
out of [1, n] in torch's words, and pivots ending in half a 2 x 2 block (torch's LAPACK reads past the matrix there).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .kernels import factorizations
from .linalg_checks import LinAlgError, _batch_words, _matrices
from .primitives import Primitive
from .tape import apply
from .tensor import Tensor

__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve"]

_ALPHA = (1 + np.sqrt(17.0)) / 8   # Bunch-Kaufman's threshold: it bounds the growth of the entries


class LDLFactorResult(NamedTuple):
    LD: Tensor
    pivots: Tensor


class LDLFactorExResult(NamedTuple):
    LD: Tensor
    pivots: Tensor
    info: Tensor


# ----------------------------------------------------------------------------- numpy: the slow twins of sytf2 and sytrs
# (kernels/factorizations.py's ldl_factor and ldl_solve are these, compiled, with the same arithmetic)
def _pivot(a, k):
    """Bunch-Kaufman's choice at column k of the lower triangle: (kp, the row brought to the block's last row;
    kstep, the block's size 1 or 2), or (k, 1, True) when the column is zero (a singular D)."""
    n = a.shape[0]
    absakk = abs(a[k, k])
    imax = k + 1 + int(np.argmax(np.abs(a[k + 1:, k]))) if k < n - 1 else k
    colmax = abs(a[imax, k]) if k < n - 1 else 0.0
    if max(absakk, colmax) == 0 or np.isnan(absakk):
        return k, 1, True
    if absakk >= _ALPHA * colmax:
        return k, 1, False
    rowmax = np.abs(a[imax, k:imax]).max()            # row imax left of its diagonal, and below it
    if imax < n - 1:
        rowmax = max(rowmax, np.abs(a[imax + 1:, imax]).max())
    if absakk >= _ALPHA * colmax * (colmax / rowmax):
        return k, 1, False
    if abs(a[imax, imax]) >= _ALPHA * rowmax:
        return imax, 1, False
    return imax, 2, False


def _swap_symmetric(a, kk, kp):
    """Rows and columns kk < kp swapped in the trailing lower triangle a[kk:, kk:]."""
    a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
    between = a[kk + 1:kp, kk].copy()
    a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
    a[kp, kk + 1:kp] = between
    a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]


def _sytf2_numpy(a):
    """LAPACK sytf2's lower LDL^T of one symmetric matrix: (LD, pivots 1-based int64, info: the 1-based index of
    D's first zero 1 x 1 block, 0 if none)."""
    a = np.tril(a).copy()
    n = a.shape[0]
    pivots = np.zeros(n, np.int64)
    info, k = 0, 0
    while k < n:
        kp, kstep, zero = _pivot(a, k)
        if zero:
            info = info or k + 1
        else:
            kk = k + kstep - 1
            if kp != kk:
                _swap_symmetric(a, kk, kp)
                if kstep == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            if kstep == 1:
                x, d11 = a[k + 1:, k].copy(), 1 / a[k, k]
                a[k + 1:, k + 1:] -= np.tril(np.outer(x, d11 * x))   # syr's order of the products
                a[k + 1:, k] = d11 * x
            else:
                _eliminate_2x2(a, k)
        pivots[k:k + kstep] = kp + 1 if kstep == 1 else -(kp + 1)
        k += kstep
    return a, pivots, info


def _eliminate_2x2(a, k):
    """sytf2's update of the trailing lower triangle by the 2 x 2 block at k, in sytf2's arithmetic."""
    d21 = a[k + 1, k]
    d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
    d21 = 1 / (d11 * d22 - 1) / d21
    c0, c1 = a[k + 2:, k].copy(), a[k + 2:, k + 1].copy()
    wk, wkp1 = d21 * (d11 * c0 - c1), d21 * (d22 * c1 - c0)
    a[k + 2:, k + 2:] -= np.tril(np.outer(c0, wk) + np.outer(c1, wkp1))
    a[k + 2:, k], a[k + 2:, k + 1] = wk, wkp1


def _sytrs_numpy(ld, pivots, b):
    """LAPACK sytrs's solve of `A X = B` from sytf2's (LD, pivots) of one matrix: P L D L^T P^T X = B. The way
    up's dot products add their terms first to last (_take_dot), as the compiled twin does."""
    b = b.copy()
    n, k = ld.shape[0], 0
    while k < n:   # L D Y = P^T B, column by column of L
        if pivots[k] > 0:
            kp = pivots[k] - 1
            b[[k, kp]] = b[[kp, k]]
            b[k + 1:] -= np.outer(ld[k + 1:, k], b[k])
            b[k] /= ld[k, k]
            k += 1
        else:
            kp = -pivots[k] - 1
            b[[k + 1, kp]] = b[[kp, k + 1]]
            b[k + 2:] -= np.outer(ld[k + 2:, k], b[k]) + np.outer(ld[k + 2:, k + 1], b[k + 1])
            off = ld[k + 1, k]
            first, second = ld[k, k] / off, ld[k + 1, k + 1] / off
            denominator = first * second - 1
            top, bottom = b[k] / off, b[k + 1] / off
            b[k], b[k + 1] = (second * top - bottom) / denominator, (first * bottom - top) / denominator
            k += 2
    k = n - 1
    while k >= 0:  # L^T P^T X = Y, back up the columns
        if pivots[k] > 0:
            _take_dot(ld, b, k, k + 1)
            kp = pivots[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 1
        else:
            _take_dot(ld, b, k, k + 1)
            _take_dot(ld, b, k - 1, k + 1)
            kp = -pivots[k] - 1   # (the block's second row, as the way down swapped it)
            b[[k, kp]] = b[[kp, k]]
            k -= 2
    return b


def _take_dot(ld, b, k, first):
    """b[k] -= the sum over i >= first of ld[i, k] * b[i], its terms added first to last (not BLAS's order)."""
    if first < b.shape[0]:
        b[k] -= np.add.accumulate(ld[first:, k, None] * b[first:], axis=0)[-1]


# ----------------------------------------------------------------------------- the primitives (no gradient)
class LDLFactor(Primitive):
    """(LD, pivots, info) of each matrix of a batch; torch 2.13 has no derivative: refused at backward."""

    @staticmethod
    def forward(a):
        with np.errstate(all="ignore"):
            return factorizations.ldl_factor(a), None

    @staticmethod
    def backward(g, saved, needs):
        raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")


class LDLSolve(Primitive):
    """X with `A X = B` from (LD, pivots); batches broadcast. No derivative in torch 2.13: refused at backward."""

    @staticmethod
    def forward(ld, b, pivots):
        batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2], pivots.shape[:-1])
        if b.size == 0 or ld.size == 0:   # no unknowns or no right-hand sides: an empty X, as torch's
            return np.zeros(batch + b.shape[-2:], b.dtype), None
        ld = np.broadcast_to(ld, batch + ld.shape[-2:]).reshape((-1,) + ld.shape[-2:])
        pivots = np.broadcast_to(pivots, batch + pivots.shape[-1:]).reshape((-1, pivots.shape[-1]))
        rhs = np.broadcast_to(b, batch + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
        with np.errstate(all="ignore"):
            x, fits = factorizations.ldl_solve(ld, pivots, rhs)
        if not fits.all():   # (torch's LAPACK reads past the matrix there)
            raise RuntimeError("torch.linalg.ldl_solve: the pivots end in a 2 x 2 block (a negative pivot) at the "
                               "last row, which has no second row: not the pivots of ldl_factor")
        return x.reshape(batch + b.shape[-2:]), None

    @staticmethod
    def backward(g, saved, needs):
        raise RuntimeError("derivative for aten::linalg_ldl_solve is not implemented")


# ----------------------------------------------------------------------------- the functions
def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False) -> LDLFactorExResult:
    """As torch.linalg.ldl_factor_ex: (LD, pivots, info) of symmetric matrices, read from the lower triangle; info
    the 1-based index of D's first zero 1 x 1 block (0 if none). hermitian is the same factorization for real
    matrices. Pivots and info int64, torch's values."""
    a = _matrices("ldl_factor_ex", A, square=True)
    for name, value in (("hermitian", hermitian), ("check_errors", check_errors)):
        if not isinstance(value, bool):
            raise TypeError(f"linalg.ldl_factor_ex(): argument '{name}' must be bool, not {type(value).__name__}")
    ld, pivots, info = apply(LDLFactor, a)
    if check_errors and info._data.any():
        element, order = _batch_words(info._data)
        raise LinAlgError(f"torch.linalg.ldl_factor_ex: {element}The factorization could not be completed because "
                          f"the block diagonal matrix D is singular (D[{order},{order}] is zero)")
    return LDLFactorExResult(ld, pivots.detach(), info.detach())


def ldl_factor(A: Tensor, *, hermitian: bool = False) -> LDLFactorResult:
    """As torch.linalg.ldl_factor: ldl_factor_ex's (LD, pivots), a singular D refused (torch 2.13 refuses it with
    an internal assertion; here a LinAlgError, a RuntimeError as that one)."""
    ld, pivots, _ = ldl_factor_ex(_matrices("ldl_factor", A, square=True), hermitian=hermitian, check_errors=True)
    return LDLFactorResult(ld, pivots)


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor:
    """As torch.linalg.ldl_solve: X with `A X = B` from ldl_factor's (LD, pivots) of A; batch dims broadcast."""
    ld = _matrices("ldl_solve", LD, square=True, name="LD")
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.ldl_solve(): argument 'B' must be Tensor, not {type(B).__name__}")
    if not isinstance(pivots, Tensor) or pivots.dtype.kind not in "iu" or pivots.shape[-1:] != ld.shape[-1:]:
        raise RuntimeError(f"torch.linalg.ldl_solve: expected pivots, an integer tensor of shape (*, {ld.shape[-1]})"
                           f" (ldl_factor's), got {getattr(pivots, 'dtype', type(pivots).__name__)}")
    if B.dtype != ld.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {B.dtype} and A of type "
                           f"{ld.dtype} instead.")
    if B.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{B.ndim}, {B.ndim - 1}], but got -2)")
    if B.shape[-2] != ld.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for torch.linalg.ldl_solve: each A matrix is {ld.shape[-2]} by "
                           f"{ld.shape[-1]} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    raw = pivots._data
    if raw.size and (raw == 0).any():
        raise RuntimeError("Pivots given to ldl_solve must all satisfy |pivot| >= 1. Did you properly pass the result "
                           "of ldl_factor?")
    if raw.size and (np.abs(raw) > ld.shape[-1]).any():
        raise RuntimeError("Pivots given to ldl_solve must all satisfy |pivot| <= LD.size(-2). Did you properly pass "
                           "the result of ldl_factor?")
    return apply(LDLSolve, ld, B, pivots)
