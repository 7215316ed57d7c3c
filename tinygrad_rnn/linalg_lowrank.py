"""torch.svd_lowrank and torch.pca_lowrank: a randomized SVD (Halko, Martinsson and Tropp 2009, algorithm 5.1),
written as torch's torch/_lowrank.py writes it, of Tensor operations (matmul, linalg.qr, linalg.svd), so its
gradient is theirs.

The random projection is drawn from tr.random (`tr.manual_seed` makes it repeatable), not torch's generator: the
results differ from torch's by that draw, and agree in what does not depend on it (the reconstruction
`U diag(S) V^T` of a matrix of rank at most q, the singular values there, the shapes and dtypes).
"""
from __future__ import annotations

from .creation import randn
from .linalg import qr as _qr
from .linalg import svd as _svd
from .tensor import Tensor
from .tensor_args import _is_int

__all__ = ["svd_lowrank", "pca_lowrank"]


def _approximate_basis(a, q, niter, m):
    """Q (..., rows, <= q) with orthonormal columns spanning about A's range (A minus M, when given): q random
    directions through A, then niter rounds of power iteration, re-orthonormalized each step."""
    def times(x):           # (A - M) @ x
        return a @ x if m is None else a @ x - m @ x

    def times_t(x):         # (A - M)^T @ x
        return a.mT @ x if m is None else a.mT @ x - m.mT @ x

    r = randn(a.shape[-1], q, dtype=a.dtype)
    basis = _qr(times(r)).Q
    for _ in range(niter):
        basis = _qr(times_t(basis)).Q
        basis = _qr(times(basis)).Q
    return basis


def _lowrank(a, q, niter, m):
    """torch's _svd_lowrank: (U, S, V) of A - M, computed on the tall one of A and A^T."""
    rows, cols = a.shape[-2:]
    if m is not None:
        m = m.broadcast_to(a.shape)
    if rows < cols:
        a, m = a.mT, (None if m is None else m.mT)
    basis = _approximate_basis(a, q, niter, m)
    b = basis.mT @ a if m is None else basis.mT @ a - basis.mT @ m
    u, s, vh = _svd(b, full_matrices=False)
    u, v = basis @ u, vh.mT
    return (v, s, u) if rows < cols else (u, s, v)


def _check(fn, A, M=None):
    for name, t in (("A", A), ("M", M)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: A must have at least 2 dimensions, got {A.ndim}")
    if A.dtype.kind != "f":
        raise RuntimeError(f"{fn}: Expected a floating point tensor as input. Got {A.dtype}")


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2,
                M: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """As torch.svd_lowrank: (U, S, V), `A - M ~ U diag(S) V^T`, of rank q (6 by default; q columns of U and V, or
    fewer when q > min(m, n)), after niter power iterations (2). M (broadcast to A's shape) is subtracted without
    forming A - M. Randomized: tr.manual_seed repeats it."""
    _check("svd_lowrank", A, M)
    q = 6 if q is None else q
    niter = 2 if niter is None else niter
    for name, value in (("q", q), ("niter", niter)):
        if not _is_int(value):
            raise TypeError(f"svd_lowrank(): argument '{name}' must be int, not {type(value).__name__}")
    return _lowrank(A, q, niter, M)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True,
                niter: int = 2) -> tuple[Tensor, Tensor, Tensor]:
    """As torch.pca_lowrank: svd_lowrank of A with its column means subtracted (center=True), q min(6, m, n) by
    default; V's columns are the principal directions, `S**2 / (m - 1)` the variances along them. A q outside
    [0, min(m, n)] or a negative niter is torch's ValueError."""
    _check("pca_lowrank", A)
    rows, cols = A.shape[-2:]
    if q is None:
        q = min(6, rows, cols)
    elif not (0 <= q <= min(rows, cols)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(rows, cols)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return _lowrank(A, q, niter, None)
    return _lowrank(A - A.mean(-2, keepdim=True), q, niter, None)
