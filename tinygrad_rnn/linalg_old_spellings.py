"""torch's older top-level linear-algebra spellings, which torch 2.13 keeps beside torch.linalg: torch.svd (V, not
Vh; some=, compute_uv=), torch.qr (some=) and torch.cholesky (upper=, the triangle it names read), each tr.linalg's
with torch's arguments, results, errors and deprecation warnings (qr's and cholesky's, once per process as torch's;
torch.svd's is commented out in torch 2.13: none), and torch.chain_matmul (linalg.multi_dot, with its warning).
And the functions torch 2.13 removed but still names (symeig, eig, lstsq, solve, matrix_rank): each raises torch's
RuntimeError, in its words, saying what replaces it.

tr.svd, tr.qr, tr.cholesky, x.svd(), x.qr(), x.cholesky() are these (tensor_methods_more.py holds the methods).
This module is built on linalg.py; it has no primitive of its own, so the gradients are tr.linalg's.
"""
from __future__ import annotations

from typing import NamedTuple, NoReturn

import numpy as np

from .linalg import LinAlgError, QRResult
from .linalg import cholesky as _linalg_cholesky
from .linalg import multi_dot as _multi_dot
from .linalg import qr as _linalg_qr
from .linalg import svd as _linalg_svd
from .linalg_checks import _warn_deprecated
from .tensor import Tensor

__all__ = ["svd", "qr", "cholesky", "chain_matmul", "symeig", "eig", "lstsq", "solve", "matrix_rank", "SVDOldResult"]


class SVDOldResult(NamedTuple):
    """What torch.svd returns, as torch.return_types.svd: V, not Vh (`A = U diag(S) V^T`)."""
    U: Tensor
    S: Tensor
    V: Tensor


def _flag(fn, name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{fn}(): argument '{name}' must be bool, not {type(value).__name__}")


def _tensor(fn, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(value).__name__}")
    return value


def svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> SVDOldResult:
    """As torch.svd: (U, S, V) with `A = U diag(S) V^T`, V a view of linalg.svd's Vh transposed; some=False gives
    the square U and V (linalg.svd's full_matrices=True). compute_uv=False computes S alone (its gradient
    svdvals') and returns U and V as zeros, (m, m) and (n, n), as torch's."""
    a = _tensor("svd", input)
    _flag("svd", "some", some)
    _flag("svd", "compute_uv", compute_uv)
    if a.ndim < 2:
        raise RuntimeError(f"linalg.svd: input should have at least 2 dimensions, but has {a.ndim} dimensions "
                           "instead")
    if compute_uv:
        u, s, vh = _linalg_svd(a, full_matrices=not some)
        return SVDOldResult(u, s, vh.mT)
    s = _linalg_svd(a, full_matrices=False).S
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    zeros = (Tensor._make(np.zeros(batch + (k, k), a.dtype), False) for k in (m, n))
    return SVDOldResult(next(zeros), s, next(zeros))


def qr(input: Tensor, some: bool = True) -> QRResult:
    """As torch.qr: linalg.qr(A, "reduced" if some else "complete"), with torch's deprecation warning (once)."""
    _warn_deprecated("qr")
    _flag("qr", "some", some)
    return _linalg_qr(_tensor("qr", input), "reduced" if some else "complete")


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """As torch.cholesky: linalg.cholesky(A, upper=upper), read from the triangle upper names, in torch's words
    ("cholesky: ..."), with torch's deprecation warning (once). An empty A (no elements) is returned as a copy,
    unchecked, as torch's."""
    _warn_deprecated("cholesky")
    a = _tensor("cholesky", input)
    _flag("cholesky", "upper", upper)
    if a.numel() == 0:
        return a.clone()
    if a.ndim < 2:
        raise RuntimeError("cholesky: The input tensor A must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"cholesky: A must be batches of square matrices, but they are {a.shape[-2]} by "
                           f"{a.shape[-1]} matrices")
    if a.dtype.kind != "f":
        raise NotImplementedError(f"\"cholesky_cpu\" not implemented for {_torch_name(a.dtype)!r}")
    try:
        return _linalg_cholesky(a, upper=upper)
    except LinAlgError as e:   # torch.cholesky's words name "cholesky", not "linalg.cholesky"
        raise LinAlgError(str(e).replace("linalg.cholesky:", "cholesky:", 1)) from None


def _torch_name(dtype):
    return {"int64": "Long", "bool": "Bool"}.get(np.dtype(dtype).name, np.dtype(dtype).name)


def chain_matmul(*matrices: Tensor) -> Tensor:
    """As torch.chain_matmul (deprecated there for linalg.multi_dot): the product of the 2-D matrices in order (a copy
    of a single one), with torch's deprecation warning (once)."""
    _warn_deprecated("chain_matmul")
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if not isinstance(m, Tensor):
            raise TypeError(f"chain_matmul(): argument 'matrices' must be tuple of Tensors, not {type(m).__name__}")
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    return matrices[0].clone() if len(matrices) == 1 else _multi_dot(list(matrices))


# ----------------------------------------------------------------------------- removed in torch 2.0, still named
_REMOVED = "This function was deprecated since version 1.9 and is now removed. "


def symeig(input: Tensor, eigenvectors: bool = False, upper: bool = True, *, out: None = None) -> NoReturn:
    """torch.symeig, removed: raises torch's RuntimeError (linalg.eigh / eigvalsh replace it)."""
    raise RuntimeError(
        _REMOVED + "The default behavior has changed from using the upper triangular portion of the matrix by default "
        "to using the lower triangular portion.\n\nL, _ = torch.symeig(A, upper=upper) should be replaced with:\n"
        "L = torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\nL, V = torch.symeig(A, "
        "eigenvectors=True) should be replaced with:\nL, V = torch.linalg.eigh(A, UPLO='U' if upper else 'L')")


def eig(self: Tensor, eigenvectors: bool = False, *, e: None = None, v: None = None) -> NoReturn:
    """torch.eig, removed: raises torch's RuntimeError (torch.linalg.eig replaces it there; here see linalg.eig)."""
    raise RuntimeError(
        _REMOVED + "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather than real "
        "tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be replaced with:\nL_complex = "
        "torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, eigenvectors=True) should be replaced with:\n"
        "L_complex, V_complex = torch.linalg.eig(A)")


def lstsq(input: Tensor, A: Tensor, *, out: None = None) -> NoReturn:
    """torch.lstsq, removed: raises torch's RuntimeError (linalg.lstsq replaces it)."""
    raise RuntimeError(
        _REMOVED + "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n`torch.linalg.lstsq` has reversed "
        "arguments and does not return the QR decomposition in the returned tuple (although it returns other "
        "information about the problem).\n\nTo get the QR decomposition consider using `torch.linalg.qr`.\n\nThe "
        "returned solution in `torch.lstsq` stored the residuals of the solution in the last m - n columns of the "
        "returned value whenever m > n. In torch.linalg.lstsq, the residuals are in the field 'residuals' of the "
        "returned named tuple.\n\nThe unpacking of the solution, as in\nX, _ = torch.lstsq(B, A).solution[:A.size(1)]"
        "\nshould be replaced with:\nX = torch.linalg.lstsq(A, B).solution")


def solve(input: Tensor, A: Tensor, *, out: None = None) -> NoReturn:
    """torch.solve, removed: raises torch's RuntimeError (linalg.solve replaces it)."""
    raise RuntimeError(
        _REMOVED + "`torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` has its "
        "arguments reversed and does not return the LU factorization.\n\nTo get the LU factorization see "
        "`torch.lu`, which can be used with `torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, A).solution "
        "should be replaced with:\nX = torch.linalg.solve(A, B)")


def matrix_rank(input: Tensor, tol: float | None = None, symmetric: bool = False, *, out: None = None) -> NoReturn:
    """torch.matrix_rank, removed: raises torch's RuntimeError (linalg.matrix_rank replaces it)."""
    raise RuntimeError(
        _REMOVED.rstrip() + "\nPlease use the `torch.linalg.matrix_rank` function instead. The parameter "
        "'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.")
