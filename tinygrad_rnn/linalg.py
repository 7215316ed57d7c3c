"""tr.linalg, torch.linalg's real-valued part: norms, det/slogdet, inv, solve, cholesky, qr, svd/svdvals,
eigh/eigvalsh, pinv, matrix_rank, lstsq, matrix_power, multi_dot, vecdot, cross, the _ex forms (cholesky_ex, inv_ex,
solve_ex), tensorinv, tensorsolve and vander, with torch's argument names, results and gradients (torch's top-level
spellings, tr.det(input), tr.inverse(input)..., are tensor_functions.py's). The triangular solves and the LU
(solve_triangular, lu_factor, lu, lu_solve) are triangular.py's, the LDL^T (ldl_factor, ldl_solve) ldl.py's,
here by name; eig and eigvals, whose results are complex, raise NotImplementedError.

The factorizations are numpy's (LAPACK, batched over leading dims, float32 and float64 kept). Each is a primitive
here, its forward and backward side by side as in primitives.py: the backward formulas are torch's (its
FunctionsManual.cpp), written for real matrices. The rest (the norms, pinv, lstsq, matrix_rank) are composed of
those primitives and Tensor operations, so their gradients come from them.

Results with several parts are torch's named tuples (`Q, R = tr.linalg.qr(A)`, `tr.linalg.svd(A).S`).
A matrix a factorization cannot take (a singular one for inv and solve, one not positive-definite for cholesky)
raises LinAlgError, a RuntimeError as torch's torch.linalg.LinAlgError.

This module is built on tensor.py, and imports nothing built on the engine (nn, optim, kernels).
"""
from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import NamedTuple, NoReturn

import numpy as np
import numpy.typing as npt

from . import primitives as P
from .ldl import LDLFactorExResult, LDLFactorResult, ldl_factor, ldl_factor_ex, ldl_solve
from .linalg_checks import LinAlgError, _batch_words, _lapack, _matrices, _mT
from .matrix_functions import householder_product, matrix_exp
from .primitives import Primitive
from .products import cross as _cross
from .tape import apply, no_grad
from .tensor import Tensor, concatenate, where
from .tensor import diagonal as _diagonal
from .tensor import matmul as _matmul
from .tensor_args import _axis, _is_int, _ProductDTypeError
from .triangular import (
    LUFactorExResult,
    LUFactorResult,
    LUResult,
    _lu,
    lu,
    lu_factor,
    lu_factor_ex,
    lu_solve,
    solve_triangular,
)

__all__ = ["LinAlgError", "matrix_exp", "householder_product", "vector_norm", "matrix_norm", "norm", "det", "slogdet",
           "inv", "solve", "cholesky", "qr",
           "svd", "svdvals", "eigh", "eigvalsh", "pinv", "matrix_rank", "lstsq", "matrix_power", "multi_dot", "vecdot",
           "cross", "solve_triangular", "lu_factor", "lu_factor_ex", "lu", "lu_solve", "cholesky_ex", "inv_ex",
           "solve_ex", "tensorinv", "tensorsolve", "vander", "eig", "eigvals", "cond", "diagonal", "matmul",
           "ldl_factor", "ldl_factor_ex", "ldl_solve", "LDLFactorResult", "LDLFactorExResult", "LUFactorResult",
           "LUFactorExResult", "LUResult"]


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class InvExResult(NamedTuple):
    inverse: Tensor
    info: Tensor


class SolveExResult(NamedTuple):
    result: Tensor
    info: Tensor


class CholeskyExResult(NamedTuple):
    L: Tensor
    info: Tensor


class LstsqResult(NamedTuple):
    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


_SINGULAR = "the input matrix is singular: it could not be inverted"


def _first_failure(info):
    """torch's "(Batch element i): " and the order it names, for the first nonzero info ("", "?" if LAPACK
    refused a matrix that the check's own factorization took: a rounding apart)."""
    return _batch_words(info) if info.any() else ("", "?")


def _inverse(a, fn="inv"):
    """np.linalg.inv, a singular matrix refused in torch's words (the first zero pivot of the LU)."""
    try:
        with np.errstate(all="ignore"):
            return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        element, order = _first_failure(_lu(a)[2])
        raise LinAlgError(f"linalg.{fn}: {element}The diagonal element {order} is zero, the inversion could not be "
                          "completed because the input matrix is singular.") from None


def _solution(a, b, fn="solve"):
    """np.linalg.solve, a singular matrix refused in torch's words."""
    try:
        with np.errstate(all="ignore"):
            return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        element, _ = _first_failure(_lu(a)[2])
        raise LinAlgError(f"torch.linalg.{fn}: {element}The solver failed because the input matrix is singular.") \
            from None


def _cholesky_rows(a):
    """LAPACK potf2's lower Cholesky factor of a (..., n, n), row by row: (L, info), info the order of a matrix's
    first leading minor that is not positive-definite (0 if none). A matrix stopped there keeps that row's
    diagonal value (not positive) and its later rows as they were: torch's cholesky_ex's L then for n <= 128, and
    in its first info rows above (see cholesky_ex)."""
    shape, n = a.shape, a.shape[-1]
    low = np.tril(a).reshape((-1, n, n)).copy()
    info = np.zeros(low.shape[0], np.int64)
    with np.errstate(all="ignore"):
        for j in range(n):
            going = info == 0
            d = low[:, j, j] - (low[:, j, :j] ** 2).sum(-1)
            stop = going & ~(d > 0)   # NaN stops too, as LAPACK's check
            info[stop] = j + 1
            low[stop, j, j] = d[stop]
            going = info == 0
            root = np.sqrt(np.where(going, d, 1))
            low[going, j, j] = root[going]
            below = (low[:, j + 1:, j] - (low[:, j + 1:, :j] @ low[:, j, :j, None])[..., 0]) / root[:, None]
            low[going, j + 1:, j] = below[going]
    return low.reshape(shape), info.reshape(shape[:-2])


def _cholesky_lower(a, fn="cholesky"):
    """np.linalg.cholesky, a matrix that is not positive-definite refused in torch's words."""
    try:
        with np.errstate(all="ignore"):
            return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        element, order = _first_failure(_cholesky_rows(a)[1])
        raise LinAlgError(f"linalg.{fn}: {element}The factorization could not be completed because the input is not "
                          f"positive-definite (the leading minor of order {order} is not positive-definite).") \
            from None


# ----------------------------------------------------------------------------- the primitives
class Inv(Primitive):
    """`A^-1`; its gradient `-A^-T g A^-T`."""

    @staticmethod
    def forward(a):
        out = _inverse(a)
        return out, out

    @staticmethod
    def backward(g, out, needs):
        t = _mT(out)
        return (-(t @ g @ t),)


class Det(Primitive):
    """det(A); its gradient `g det(A) A^-T`, computed from the SVD `A = U S Vh` as `det(U) det(Vh) U diag(p) Vh`,
    `p[i]` the product of the singular values but the i-th: defined for singular matrices too (torch's gradient
    there as well)."""

    @staticmethod
    def forward(a):
        with np.errstate(all="ignore"):
            return np.linalg.det(a), a

    @staticmethod
    def backward(g, a, needs):
        u, s, vh = np.linalg.svd(a)
        ones = np.ones(s.shape[:-1] + (1,), s.dtype)
        before = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)         # the product of s[:i]
        after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], -1), -1)[..., ::-1]   # of s[i + 1:]
        sign = np.linalg.det(u) * np.linalg.det(vh)
        cofactor = (u * (before * after)[..., None, :]) @ vh
        return ((np.asarray(g) * sign)[..., None, None] * cofactor,)


class Slogdet(Primitive):
    """(sign, log|det A|); the gradient of log|det A| is `g A^-T` (sign's is zero)."""

    @staticmethod
    def forward(a):
        with np.errstate(all="ignore"):
            sign, logabsdet = np.linalg.slogdet(a)
        return (sign, logabsdet), a

    @staticmethod
    def backward(g, a, needs):
        if g[1] is None:
            return (None,)
        inverse = _lapack("slogdet", _SINGULAR, np.linalg.inv, a)
        return (np.asarray(g[1])[..., None, None] * _mT(inverse),)


class Solve(Primitive):
    """X with `A X = B` (batches broadcast); `gB = A^-T g` and `gA = -gB X^T`."""

    @staticmethod
    def forward(a, b):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = np.broadcast_to(a, batch + a.shape[-2:])
        x = _solution(a, np.broadcast_to(b, batch + b.shape[-2:]))
        return x, (a, x)

    @staticmethod
    def backward(g, saved, needs):
        a, x = saved
        gb = _lapack("solve", _SINGULAR, np.linalg.solve, _mT(a), g)
        return (-(gb @ _mT(x)) if needs[0] else None, gb)


class Cholesky(Primitive):
    """The lower factor L of `A = L L^T`. Gradient as torch's: `S = L^-T phi(L^T g) L^-1` (phi keeps the lower
    triangle, its diagonal halved), symmetrized."""

    @staticmethod
    def forward(a):
        out = _cholesky_lower(a)
        return out, out

    @staticmethod
    def backward(g, low, needs):
        phi = np.tril(_mT(low) @ g)
        phi[..., np.arange(phi.shape[-1]), np.arange(phi.shape[-1])] *= 0.5
        low_inv = np.linalg.inv(low)
        s = _mT(low_inv) @ phi @ low_inv
        return (0.5 * (s + _mT(s)),)


class QR(Primitive):
    """`A = Q R`, mode "reduced" or "complete" (numpy's names, torch's too). The gradient (torch's) for a tall or
    square A with `M = R gR^T - gQ^T Q`: `(gQ + Q copyltu(M)) R^-T`, copyltu mirroring M's lower triangle; a
    wide A = [X | Y] takes it for X and `Q gV` for Y (R = [U | V])."""

    @staticmethod
    def forward(a, mode):
        q, r = np.linalg.qr(a, mode=mode)
        return (q, r), (q, r, a)

    @staticmethod
    def backward(g, saved, needs, mode):
        q, r, a = saved
        gq = np.zeros_like(q) if g[0] is None else g[0]
        gr = np.zeros_like(r) if g[1] is None else g[1]
        m, n = a.shape[-2:]
        if m >= n:
            return (_qr_square_grad(q, r, gq, gr),)
        y, gu, gv = a[..., m:], gr[..., :m], gr[..., m:]
        gx = _qr_square_grad(q, r[..., :m], gq + y @ _mT(gv), gu)
        return (np.concatenate([gx, q @ gv], -1),)


def _qr_square_grad(q, r, gq, gr):
    """QR's gradient for `A = Q R` with R square (A tall or square, reduced)."""
    m = r @ _mT(gr) - _mT(gq) @ q
    low = np.tril(m)
    copyltu = low + _mT(np.tril(m, -1))
    rhs = gq + q @ copyltu
    # rhs R^-T, through a solve: X R^T = rhs is R X^T = rhs^T
    return _mT(np.linalg.solve(r, _mT(rhs)))


class SVD(Primitive):
    """`A = U diag(S) Vh`. The gradient is torch's (svd_backward): with `E[j][k] = S[k]^2 - S[j]^2` (1 on the
    diagonal) and skew(X) = X - X^T, the core `(skew(U^T gU) S + S skew(Vh gV)) / E + diag(gS)`, conjugated by U
    and Vh, plus the parts of gU and gV outside U's and V's span for a tall or wide A. With full_matrices, U's and
    Vh's extra columns are dropped for it, as torch's."""

    @staticmethod
    def forward(a, full_matrices):
        with np.errstate(all="ignore"):
            u, s, vh = _lapack("svd", "the SVD did not converge", np.linalg.svd, a, full_matrices=full_matrices)
        return (u, s, vh), (u, s, vh)

    @staticmethod
    def backward(g, saved, needs, full_matrices):
        u, s, vh = saved
        k = s.shape[-1]
        u, vh = u[..., :k], vh[..., :k, :]
        gu = None if g[0] is None else g[0][..., :k]
        gvh = None if g[2] is None else g[2][..., :k, :]
        m, n = u.shape[-2], vh.shape[-1]
        if gu is None and gvh is None:
            core = np.zeros(s.shape + (k,), s.dtype)
        else:
            s2 = s * s
            e = s2[..., None, :] - s2[..., :, None]
            e[..., np.arange(k), np.arange(k)] = 1
            core = 0
            if gu is not None:
                utgu = _mT(u) @ gu
                core = core + (utgu - _mT(utgu)) * s[..., None, :]
            if gvh is not None:
                vhgv = vh @ _mT(gvh)
                core = core + s[..., :, None] * (vhgv - _mT(vhgv))
            core = core / e
        if g[1] is not None:
            core = core + np.asarray(g[1])[..., None, :] * np.eye(k, dtype=s.dtype)
        return (_svd_grad_outside(u, s, vh, gu, gvh, core, m, n),)


def _svd_grad_outside(u, s, vh, gu, gvh, core, m, n):
    """The SVD's gradient from its core: `U core Vh`, plus, for a tall A, gU's part outside U's span (`(I - U U^T)
    gU S^-1 Vh`), for a wide one gV's outside V's."""
    if m > n and gu is not None:
        gus = gu / s[..., None, :]
        return (u @ core + gus - u @ (_mT(u) @ gus)) @ vh
    if m < n and gvh is not None:
        gvs = _mT(gvh) / s[..., None, :]
        return u @ (core @ vh + _mT(gvs) - (_mT(gvs) @ _mT(vh)) @ vh)
    return u @ core @ vh


class Eigh(Primitive):
    """The eigenvalues (ascending) and eigenvectors of a symmetric matrix, read from its lower (UPLO="L") or
    upper triangle. Gradient as torch's: `V (skew(V^T gV) / 2 / E + diag(gL)) V^T`, `E[i][j] = L[j] - L[i]`."""

    @staticmethod
    def forward(a, uplo):
        w, v = _lapack("eigh", "the eigenvalue algorithm did not converge", np.linalg.eigh, a, UPLO=uplo)
        return (w, v), (w, v)

    @staticmethod
    def backward(g, saved, needs, uplo):
        w, v = saved
        n = w.shape[-1]
        if g[1] is None:
            inner = np.zeros(w.shape + (n,), w.dtype)
        else:
            vtgv = _mT(v) @ g[1]
            e = w[..., None, :] - w[..., :, None]
            e[..., np.arange(n), np.arange(n)] = 1
            inner = 0.5 * (vtgv - _mT(vtgv)) / e
        if g[0] is not None:
            inner[..., np.arange(n), np.arange(n)] = g[0]
        return (v @ inner @ _mT(v),)


class Pinv(Primitive):
    """The pseudoinverse P of A from its SVD, the singular values at or below the cutoff dropped. The gradient is
    torch's (pinv_backward): the derivative of the pseudoinverse at a fixed rank, written with P and A alone, the
    products arranged to keep the smaller of m and n inside. hermitian=True reads A's lower triangle alone, as
    torch's (its eigh does) for the values; the gradient's formula reads A as given, as torch's pinv_backward."""

    @staticmethod
    def forward(a, atol, rtol, hermitian):
        read = np.tril(a) + _mT(np.tril(a, -1)) if hermitian else a
        u, s, vh = _lapack("pinv", "the SVD did not converge", np.linalg.svd, read, full_matrices=False)
        keep = s > _cutoff(s, atol, rtol, *a.shape[-2:])
        inverse = np.where(keep, 1 / np.where(keep, s, 1), 0).astype(s.dtype)
        p = (_mT(vh) * inverse[..., None, :]) @ _mT(u)
        return p, (p, a)   # (torch's pinv_backward reads A as given, hermitian or not)

    @staticmethod
    def backward(g, saved, needs, atol, rtol, hermitian):
        p, a = saved
        m, n = a.shape[-2:]
        ph, gh = _mT(p), _mT(g)
        if m <= n:
            k = gh @ p
            kph = k @ ph
            return (-_mT(p @ k) + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a),)
        k = p @ gh
        phk = ph @ k
        return (-_mT(k @ p) + (gh - a @ k) @ p @ ph + phk - phk @ p @ a,)


# ----------------------------------------------------------------------------- the factorizations
def inv(A: Tensor) -> Tensor:
    """As torch.linalg.inv: the inverse of (batches of) square matrices."""
    return apply(Inv, _matrices("inv", A, square=True))


def det(A: Tensor) -> Tensor:
    """As torch.linalg.det: the determinant of (batches of) square matrices."""
    return apply(Det, _matrices("det", A, square=True))


def slogdet(A: Tensor) -> SlogdetResult:
    """As torch.linalg.slogdet: (sign, logabsdet) with `det(A) = sign * exp(logabsdet)`; a singular matrix gives
    sign 0 and logabsdet -inf. sign requires grad where A does, as torch's, and passes none back."""
    return SlogdetResult(*apply(Slogdet, _matrices("slogdet", A, square=True)))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """As torch.linalg.solve: X with `A X = B` (`X A = B` with left=False). B is a batch of vectors when it is 1-D
    or has A's shape without its last dim, as torch reads it; the batch dims broadcast."""
    a, b = _matrices("solve", A, square=True), B
    if not isinstance(b, Tensor):
        raise TypeError(f"linalg.solve(): argument 'B' must be Tensor, not {type(b).__name__}")
    if a.dtype != b.dtype:
        raise _ProductDTypeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                                 f"{a.dtype} and B of type {b.dtype} instead")
    if not isinstance(left, bool):
        raise TypeError(f"linalg.solve(): argument 'left' must be bool, not {type(left).__name__}")
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    if not left:
        if vector:
            raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported for "
                               "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)")
        return solve(a.mT, b.mT).mT
    rhs = b.unsqueeze(-1) if vector else b
    if rhs.ndim < 2 or rhs.shape[-2] != a.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({a.shape[-2]}x"
                           f"{a.shape[-1]} and {tuple(b.shape)})")
    out = apply(Solve, a, rhs)
    return out.squeeze(-1) if vector else out


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """As torch.linalg.cholesky: L lower triangular with `A = L L^T` (upper=True: `U = L^T`, `A = U^T U`) of
    symmetric positive-definite matrices; the lower triangle is read, the upper with upper=True, as torch's."""
    a = _matrices("cholesky", A, square=True)
    low = apply(Cholesky, a.mT if upper else a)   # A's upper triangle is A^T's lower
    return low.mT if upper else low


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """As torch.linalg.qr: (Q, R) with Q's columns orthonormal and R upper triangular. mode "reduced" (k =
    min(m, n) columns), "complete" (Q square) or "r" (Q empty, R alone: no gradient, as torch's)."""
    a = _matrices("qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or "
                           "'complete'")
    m, n = a.shape[-2:]
    if mode == "r":
        _, r = apply(QR, a.detach(), mode="reduced")
        _refuse_grad(a, "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please use "
                        "linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
        return QRResult(Tensor._make(np.zeros(0, a.dtype), False), r)
    if mode == "complete" and m > n:
        _refuse_grad(a, "The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        a = a.detach()
    return QRResult(*apply(QR, a, mode=mode))


def _refuse_grad(a, message):
    """A result without a gradient of a tensor that requires one: refused now (torch refuses its backward)."""
    from .tape import is_grad_enabled
    if a.requires_grad and is_grad_enabled():
        raise RuntimeError(message)


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None) -> SVDResult:
    """As torch.linalg.svd: (U, S, Vh) with `A = U diag(S) Vh`, S descending. full_matrices=True (torch's
    default) makes U m x m and Vh n x n; their extra columns get no gradient."""
    a = _matrices("svd", A)
    if not isinstance(full_matrices, bool):
        raise TypeError(f"linalg.svd(): argument 'full_matrices' must be bool, not {type(full_matrices).__name__}")
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")
    return SVDResult(*apply(SVD, a, full_matrices=full_matrices))


def svdvals(A: Tensor, *, driver: str | None = None) -> Tensor:
    """As torch.linalg.svdvals: the singular values, descending (the gradient `U diag(gS) Vh`)."""
    return svd(A, full_matrices=False, driver=driver).S


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """As torch.linalg.eigh: (eigenvalues ascending, eigenvectors as columns) of symmetric matrices, read from the
    lower triangle (UPLO="L") or the upper ("U")."""
    a = _matrices("eigh", A, square=True, kernel="linalg_eigh_cpu")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return EighResult(*apply(Eigh, a, uplo=UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """As torch.linalg.eigvalsh: eigh's eigenvalues."""
    return eigh(A, UPLO).eigenvalues


# ----------------------------------------------------------------------------- the _ex forms; eig
# torch's _ex forms return (result, info) and raise nothing unless check_errors (their info is int64 here,
# torch's int32). The everyday matrix takes the fast path (numpy's LAPACK); a batch with a failing matrix is
# recomputed by the LU or row-by-row Cholesky of triangular.py, which give each matrix its info.
def _no_failures(a):
    return Tensor._make(np.zeros(a.shape[:-2], np.int64), False)


def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvExResult:
    """As torch.linalg.inv_ex: (inverse, info), info the 1-based index of the LU's first zero pivot (0 for an
    invertible matrix), a singular matrix's inverse inf/NaN (from the LU), as torch's."""
    a = _matrices("inv_ex", A, square=True)
    try:
        return InvExResult(inv(a), _no_failures(a))
    except LinAlgError:
        pass
    lu_, pivots, info = lu_factor_ex(a)
    if check_errors:
        element, order = _batch_words(info._data)
        raise LinAlgError(f"linalg.inv_ex: {element}The diagonal element {order} is zero, the inversion could not be "
                          "completed because the input matrix is singular.")
    eye = Tensor._make(np.eye(a.shape[-1], dtype=a.dtype), False)
    return InvExResult(lu_solve(lu_, pivots, eye), info)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> SolveExResult:
    """As torch.linalg.solve_ex: (solve's result, info), info as inv_ex's."""
    a = _matrices("solve_ex", A, square=True)
    try:
        return SolveExResult(solve(a, B, left=left), _no_failures(a))
    except LinAlgError:
        pass
    lu_, pivots, info = lu_factor_ex(a)
    if check_errors:
        element, _ = _batch_words(info._data)
        raise LinAlgError(f"torch.linalg.solve_ex: {element}The solver failed because the input matrix is singular.")
    if not left:
        return SolveExResult(lu_solve(lu_, pivots, B, left=False), info)
    vector = B.ndim == 1 or (B.ndim == a.ndim - 1 and B.shape == a.shape[:-1])
    x = lu_solve(lu_, pivots, B.unsqueeze(-1) if vector else B)
    return SolveExResult(x.squeeze(-1) if vector else x, info)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> CholeskyExResult:
    """As torch.linalg.cholesky_ex: (L, info), info the order of the first leading minor that is not
    positive-definite (0 if none). A failing matrix's L is LAPACK's unblocked factor (potf2) stopped there: its first
    info rows are the factor's, the failing minor's non-positive value last, and the later rows are A's own. torch's
    (MKL's potrf, torch 2.13 on x86) equals it for n <= 128; for larger n only in the first info rows: below them MKL
    leaves a partly updated block whose values depend on torch's thread count (n = 200 failing at row 161 gives three
    different lower parts at 1, 2 and 4 threads), so no function of A reproduces it. The other matrices of the batch
    keep their gradients."""
    a = _matrices("cholesky_ex", A, square=True)
    try:
        return CholeskyExResult(cholesky(a, upper=upper), _no_failures(a))
    except LinAlgError:
        pass
    partial, info = _cholesky_rows((a.mT if upper else a)._data)   # the triangle upper names, as cholesky's
    if check_errors:
        element, order = _batch_words(info)
        raise LinAlgError(f"linalg.cholesky_ex: {element}The factorization could not be completed because the input "
                          f"is not positive-definite (the leading minor of order {order} is not positive-definite).")
    failed = np.broadcast_to((info != 0)[..., None, None], a.shape)
    eye = np.eye(a.shape[-1], dtype=a.dtype)
    low = where(failed, Tensor._make(partial, False), cholesky(where(failed, eye, a.mT if upper else a)))
    return CholeskyExResult(low.mT if upper else low, Tensor._make(info, False))


def eig(A: Tensor, *, out: None = None) -> NoReturn:
    """torch.linalg.eig is not here: a real matrix's eigenvalues and eigenvectors are complex in general, and
    Tensors here hold no complex dtype. Raises NotImplementedError saying so."""
    raise NotImplementedError("linalg.eig: the eigenvalues and eigenvectors of a general real matrix are complex, and "
                              "tinygrad_rnn's Tensors hold no complex dtype; for a symmetric matrix use "
                              "tr.linalg.eigh (real results), for any other np.linalg.eig(A.numpy())")


def eigvals(A: Tensor, *, out: None = None) -> NoReturn:
    """torch.linalg.eigvals is not here, for eig's reason. Raises NotImplementedError saying so."""
    raise NotImplementedError("linalg.eigvals: the eigenvalues of a general real matrix are complex, and "
                              "tinygrad_rnn's Tensors hold no complex dtype; for a symmetric matrix use "
                              "tr.linalg.eigvalsh (real results), for any other np.linalg.eigvals(A.numpy())")


# ----------------------------------------------------------------------------- norms
def vector_norm(x: Tensor, ord: float = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
                dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.linalg.vector_norm: `sum(|x|^ord)^(1/ord)` over dim (all elements if None); ord inf, -inf, 0 (the
    count of nonzeros) or any other number, negative ones too. The gradient at a zero vector is 0, as torch's."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.vector_norm(): argument 'x' must be Tensor, not {type(x).__name__}")
    if dtype is not None:
        x = x.astype(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {x.dtype}")
    if isinstance(ord, (bool, str)) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg.vector_norm(): argument 'ord' must be a number, not {type(ord).__name__}")
    if dim is not None and isinstance(dim, (list, tuple)) and len(dim) == 0:
        dim = None
    if ord < 0 and ord != -np.inf:   # (Tensor.norm takes p >= 0)
        return _negative_order_norm(x, float(ord), dim, keepdim)
    return x.norm(float(ord), dim, keepdim)


def _negative_order_norm(x, ord, dim, keepdim):
    """`sum(|x|^ord)^(1/ord)` for ord < 0: 0 where an element is 0 (|0|^ord = inf), and there the gradient is 0, as
    torch's norm_backward masks it (the formula's is NaN): those vectors are computed from ones, then zeroed."""
    with no_grad():
        zero = ((x.abs() ** ord).sum(dim, keepdim=True) ** (1.0 / ord)) == 0
    safe = x.masked_fill(zero, 1.0) if zero._data.any() else x
    out = ((safe.abs() ** ord).sum(dim, keepdim=True) ** (1.0 / ord)).masked_fill(zero, 0.0)
    if keepdim:
        return out
    return out.reshape(()) if dim is None else out.squeeze(tuple(dim) if isinstance(dim, (list, tuple)) else dim)


def matrix_norm(A: Tensor, ord: str | float = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False, *,
                dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.linalg.matrix_norm over the two dims `dim`: "fro", "nuc" (the sum of the singular values), 2 and
    -2 (the largest and smallest), 1 and -1 (the largest and smallest column sum of `|A|`), inf and -inf (row
    sums)."""
    a = _matrices("matrix_norm", A if dtype is None else A.astype(dtype))
    if not isinstance(dim, (list, tuple)) or len(dim) != 2 or not all(_is_int(d) for d in dim):
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    rows, cols = _axis(dim[0], a.ndim), _axis(dim[1], a.ndim)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return a.norm(2, (rows, cols), keepdim)
    if ord == "nuc" or ord in (2, -2):
        return _spectral_norm(a, ord, rows, cols, keepdim)
    if ord in (1, -1, np.inf, -np.inf):
        summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = a.abs().sum(summed, keepdim=True)
        if sums.shape[over] == 0:   # torch's max over no columns (rows) is 0, off the tape; its min an IndexError
            _refuse_empty_min(ord, over)
            out = sums.sum(over, keepdim=True).detach()
        else:
            out = sums.amax(over, keepdim=True) if ord > 0 else sums.amin(over, keepdim=True)
        return out if keepdim else out.squeeze((rows, cols))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def _spectral_norm(a, ord, rows, cols, keepdim):
    """matrix_norm's "nuc", 2 and -2, from the singular values of A with `dim` moved last."""
    s = svdvals(a.movedim((rows, cols), (-2, -1)))
    if s.shape[-1] == 0:   # an empty matrix: no singular values, norm 0 as torch's (-2: its IndexError); torch's
        _refuse_empty_min(ord, -1)   # max over nothing (ord 2) is off the tape, its sum ("nuc") on it
        out = s.sum(-1) if ord == "nuc" else s.sum(-1).detach()
    else:
        out = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
    if keepdim:
        for d in sorted((rows, cols)):
            out = out.unsqueeze(d)
    return out


def _refuse_empty_min(ord, dim):
    if ord in (-1, -2, -np.inf):
        raise IndexError(f"amin(): Expected reduction dim {dim} to have non-zero size.")


def norm(A: Tensor, ord: str | float | None = None, dim: int | Sequence[int] | None = None, keepdim: bool = False,
         *, dtype: npt.DTypeLike | None = None) -> Tensor:
    """As torch.linalg.norm: a vector norm for one dim (or a 1-D input), a matrix norm for two dims (or a 2-D input
    when ord is given); ord=None is the 2-norm of the flattened input, or "fro" over two dims."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.norm(): argument 'A' must be Tensor, not {type(A).__name__}")
    if _is_int(dim):
        dim = (dim,)
    if dim is not None and len(dim) not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", tuple(dim), keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A.ndim}D.")
        dim = tuple(range(A.ndim))
    if len(dim) == 2:
        return matrix_norm(A, ord, tuple(dim), keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord {ord!r} is a matrix norm: give two dims")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


# ----------------------------------------------------------------------------- compositions
def _cutoff(s, atol, rtol, m, n, hermitian=False):
    """matrix_rank's and pinv's threshold on singular values, as torch's: `max(atol, rtol * S.max())`, rtol
    `eps * max(m, n)` when neither is given (0 when atol alone is)."""
    eps = np.finfo(s.dtype).eps
    if rtol is None:   # (elementwise for a Tensor atol, as torch's where(atol > 0, 0, eps * max(m, n)))
        default = eps * builtins.max(m, n)
        rtol = default if atol is None else np.where(np.asarray(atol) > 0, 0.0, default)
    atol = 0.0 if atol is None else atol
    largest = s.max(-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,), s.dtype)
    # a Tensor tolerance holds one value per matrix of the batch: it broadcasts against S's batch dims, as torch's
    atol, rtol = np.asarray(atol, s.dtype)[..., None], np.asarray(rtol, s.dtype)[..., None]
    return np.maximum(atol, rtol * largest)


def _tolerance(value, name):
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, Tensor):
        return value._data
    raise TypeError(f"argument '{name}' must be a float or a Tensor, not {type(value).__name__}")


def matrix_rank(A: Tensor, *, atol: float | None = None, rtol: float | None = None,
                hermitian: bool = False) -> Tensor:
    """As torch.linalg.matrix_rank: the count of singular values above `max(atol, rtol * S.max())` (int64)."""
    a = _matrices("matrix_rank", A)
    s = np.abs(np.linalg.eigvalsh(a._data)) if hermitian else np.linalg.svd(a._data, compute_uv=False)
    keep = s > _cutoff(s, _tolerance(atol, "atol"), _tolerance(rtol, "rtol"), *a.shape[-2:])
    return Tensor._make(keep.sum(-1).astype(np.int64), False)


def pinv(A: Tensor, *, atol: float | None = None, rtol: float | None = None, hermitian: bool = False) -> Tensor:
    """As torch.linalg.pinv: the pseudoinverse `V diag(1/S) U^T`, the singular values at or below `max(atol, rtol *
    S.max())` dropped, with torch's gradient (primitive Pinv). hermitian=True says A is symmetric: its lower
    triangle alone is read, as torch's."""
    a = _matrices("pinv", A, square=bool(hermitian))
    return apply(Pinv, a, atol=_tolerance(atol, "atol"), rtol=_tolerance(rtol, "rtol"), hermitian=bool(hermitian))


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> LstsqResult:
    """As torch.linalg.lstsq on the CPU: X minimizing `||A X - B||` (pinv(A) @ B, its gradient), with the rank of A;
    driver "gelsy" (torch's default) leaves residuals and singular_values empty, "gelsd" and "gelss" give them
    ("gels" the residuals): the residuals are the squared column norms of `A X - B` for a tall full-rank A."""
    a = _matrices("lstsq", A)
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.lstsq(): argument 'B' must be Tensor, not {type(B).__name__}")
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss). "
                           f"Got {driver}")
    driver = driver or "gelsy"
    vector = B.ndim == a.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != a.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2). Got {a.shape[-2]} and "
                           f"{b.shape[-2]}")
    m, n = a.shape[-2:]
    rtol = float(np.finfo(a.dtype).eps) * builtins.max(m, n) if rcond is None else rcond
    x = pinv(a, rtol=rtol) @ b
    s = np.linalg.svd(a._data, compute_uv=False)
    rank = (s > _cutoff(s, None, rtol, m, n)).sum(-1).astype(np.int64)
    empty = Tensor._make(np.zeros(0, a.dtype), False)
    residuals = x.reshape(-1)[:0]   # empty, but on the tape where x is: torch's requires grad too
    if driver != "gelsy" and m > n and (rank == n).all():
        residuals = ((a @ x - b) ** 2).sum(-2)
    values = Tensor._make(s, False) if driver in ("gelsd", "gelss") else empty
    rank_out = Tensor._make(rank, False) if driver != "gels" else Tensor._make(np.zeros(0, np.int64), False)
    return LstsqResult(x.squeeze(-1) if vector else x, residuals, rank_out, values)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """As torch.linalg.matrix_power: A multiplied by itself n times (by squaring), the identity for n = 0 (gradient
    0), inv(A) to the power -n for a negative n."""
    a = _matrices("matrix_power", A, square=True, integers=True)   # int64 too, as torch (inv refuses n < 0)
    if not _is_int(n):
        raise TypeError(f"linalg.matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:   # the identity; where A requires grad, a result of A's (gradient 0), as torch's copy of it is
        eye = Tensor._make(np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy(), False)
        return apply(P.Where, eye, a, Tensor._make(np.array(True), False)) if a.requires_grad else eye
    base, n = (inv(a), -n) if n < 0 else (a, n)
    out = None
    while n:   # the binary digits of n, lowest first: one squaring per digit
        if n & 1:
            out = base if out is None else out @ base
        n >>= 1
        if n:
            base = base @ base
    return out


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """As torch.linalg.multi_dot: the product of the matrices in order (the first may be a row vector, the last a
    column vector, 1-D both), multiplied left to right."""
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("linalg.multi_dot(): argument 'tensors' must be a sequence of Tensors")
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            where = "first" if i == 0 else "last" if i == len(tensors) - 1 else f"{i}-th"
            raise RuntimeError(f"multi_dot(): the {where} tensor must be {' or '.join(f'{d}D' for d in allowed)} but "
                               f"got {t.ndim}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """As torch.linalg.vecdot: the dot product of x and y along dim, the two broadcast together."""
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linalg.vecdot(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if x.dtype != y.dtype:
        raise _ProductDTypeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
                                 f"{x.dtype} and y of type {y.dtype} instead")
    return (x * y).sum(dim)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """As torch.linalg.cross: the cross product along dim (default -1; torch.cross's default takes the first dim
    of size 3)."""
    return _cross(input, other, dim)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """As torch.linalg.tensorinv: the inverse of A read as a matrix with prod(A.shape[:ind]) rows, shaped
    A.shape[ind:] + A.shape[:ind] (so that tensordot(tensorinv(A), A, ind) is the identity)."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.tensorinv(): argument 'input' must be Tensor, not {type(A).__name__}")
    if not _is_int(ind):
        raise TypeError(f"linalg.tensorinv(): argument 'ind' must be int, not {type(ind).__name__}")
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = int(np.prod(A.shape[:ind])), int(np.prod(A.shape[ind:]))
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return inv(A.reshape(rows, cols)).reshape(A.shape[ind:] + A.shape[:ind])


def tensorsolve(A: Tensor, B: Tensor, dims: Sequence[int] | None = None) -> Tensor:
    """As torch.linalg.tensorsolve: X with `tensordot(A, X, X.ndim) = B`, X of shape A.shape[B.ndim:] (after
    moving A's dims `dims`, if given, to its end), solved as a square system of prod(B.shape) unknowns."""
    for name, t in (("A", A), ("B", B)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linalg.tensorsolve(): argument '{name}' must be Tensor, not {type(t).__name__}")
    a = A
    if dims is not None:
        moved = [_axis(d, a.ndim) for d in dims]
        a = a.permute(*[d for d in range(a.ndim) if d not in moved], *moved)
    rows, cols = B.numel(), int(np.prod(a.shape[B.ndim:]))
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    return solve(a.reshape(rows, cols), B.reshape(rows)).reshape(a.shape[B.ndim:])


def vander(x: Tensor, N: int | None = None) -> Tensor:
    """As torch.linalg.vander: the Vandermonde matrices of the last dim of x, (..., n, N) with columns x^0, x^1,
    ..., x^(N-1) (N defaults to n), float or integer as x; computed as torch's, a cumulative product."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.vander(): argument 'x' must be Tensor, not {type(x).__name__}")
    if x.dtype == np.bool_:
        raise RuntimeError("linalg.vander supports floating point, complex, and integer tensors, but got Bool")
    if N is not None and not _is_int(N):
        raise TypeError(f"linalg_vander(): argument 'N' must be int, not {type(N).__name__}")
    n = N if N is not None else (x.shape[-1] if x.ndim else 1)
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    column = (x.reshape(1) if x.ndim == 0 else x).unsqueeze(-1)   # (a 0-d x: one value, (1, N) as torch's)
    powers = column.broadcast_to(column.shape[:-1] + (n - 1,)).cumprod(-1)
    ones = Tensor._make(np.ones(column.shape, x.dtype), False)
    return concatenate([ones, powers], -1)


def cond(A: Tensor, p: str | float | None = None) -> Tensor:
    """As torch.linalg.cond: the condition number in the norm p. p None, 2 or -2: the ratio of the extreme singular
    values (any m x n A); "fro", "nuc", inf, -inf, 1, -1: `matrix_norm(A, p) * matrix_norm(inv(A), p)` of a square
    A, inf for a singular one (where inv_ex finds a zero pivot), as torch's. Differentiable by composition."""
    if not (p is None or (isinstance(p, str) and p in ("fro", "nuc"))
            or (_is_number(p) and p in (2, -2, np.inf, -np.inf, 1, -1))):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if not isinstance(p, str) and _matrices("cond", A).numel() == 0:   # 0 for empty matrices, of any shape for a
        return _empty_condition(A)                                    # numeric p: torch checks squareness after
    if p is None or (_is_number(p) and abs(p) == 2):
        s = svdvals(_matrices("cond", A))
        big, small = s[..., 0], s[..., -1]
        return small / big if p == -2 else big / small
    a = _matrices(f"cond(ord={p})", A, square=True)
    if a.numel() == 0:
        return _empty_condition(a)
    inverse, info = inv_ex(a)
    out = matrix_norm(a, p) * matrix_norm(inverse, p)
    return where(info._data != 0, np.inf, out) if info._data.any() else out


def _empty_condition(a):
    """cond of empty matrices: 0 for each, as torch's."""
    return Tensor._make(np.zeros(a.shape[:-2], a.dtype), False)


def _is_number(p):
    return isinstance(p, (int, float, np.integer, np.floating)) and not isinstance(p, bool)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """As torch.linalg.diagonal: tr.diagonal with the last two dims as defaults (a view)."""
    return _diagonal(A, offset, dim1, dim2)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """As torch.linalg.matmul: tr.matmul."""
    return _matmul(input, other)
