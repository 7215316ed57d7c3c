"""What tr.linalg's modules (linalg.py, triangular.py) share: torch's LinAlgError and the checks torch makes of a
matrix argument, in torch's words.

This module is built on tensor.py alone.
"""
from __future__ import annotations

import warnings

import numpy as np

from .tensor import Tensor
from .tensor_args import DTypeNotImplementedError


class LinAlgError(RuntimeError):
    """A matrix the factorization cannot take (singular, not positive-definite), as torch.linalg.LinAlgError."""


def _matrices(fn, A, square=False, name="A", kernel=None, integers=False):
    """A as a float Tensor of (batches of) matrices, square if asked, in torch's words otherwise. An integer or bool
    A is torch's RuntimeError, or its NotImplementedError naming the CPU kernel where torch gets that far (`kernel`,
    after the shape checks); int64 matrices pass with integers=True."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.{fn}(): argument '{name}' must be Tensor, not {type(A).__name__}")
    allowed = "fi" if integers else "f"
    if A.dtype.kind not in allowed and kernel is None:
        raise RuntimeError(f"linalg.{fn}: Expected a floating point tensor as input. Got {A.dtype}")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{fn}: The input tensor {name} must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{fn}: {name} must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if A.dtype.kind not in allowed:   # (a TypeError too, as the library's other dtype checks)
        names = {"int64": "Long", "bool": "Bool"}
        raise DTypeNotImplementedError(f"\"{kernel}\" not implemented for '{names.get(A.dtype.name, A.dtype.name)}'")
    return A


def _mT(a):
    return np.swapaxes(a, -1, -2)


def _lapack(fn, what, call, *args, **kwargs):
    """numpy's linalg call, its LinAlgError (a ValueError) turned into torch's (a RuntimeError)."""
    try:
        with np.errstate(all="ignore"):
            return call(*args, **kwargs)
    except np.linalg.LinAlgError as e:
        raise LinAlgError(f"linalg.{fn}: {what} ({e})") from None


def _batch_words(info):
    """torch's "(Batch element i): " for the first matrix whose info is nonzero in a batch, "" for one matrix;
    and that info."""
    if info.ndim == 0:
        return "", int(info)
    first = int(np.flatnonzero(info.reshape(-1))[0])
    return f"(Batch element {first}): ", int(info.reshape(-1)[first])


# torch's deprecation warnings for its older spellings, in its words (torch.svd has none: torch 2.13 leaves it
# commented out). torch gives each once per process (TORCH_WARN_ONCE): _WARNED holds those given.
_DEPRECATED = {
    "qr": "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch release.\n"
          "The boolean parameter 'some' has been replaced with a string parameter 'mode'.\n"
          "Q, R = torch.qr(A, some)\nshould be replaced with\n"
          "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')",
    "cholesky": "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a future "
                "PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = torch.linalg.cholesky(A)\nand\n"
                "U = torch.cholesky(A, upper=True)\nshould be replaced with\nU = torch.linalg.cholesky(A).mH\n"
                "This transform will produce equivalent results for all valid (symmetric positive definite) inputs.",
    "lu": "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be removed "
          "in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be replaced with\n"
          "LU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\n"
          "LU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\n"
          "LU, pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots)",
    "lu_solve": "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a future PyTorch "
                "release.\nNote that torch.linalg.lu_solve has its arguments reversed.\n"
                "X = torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = torch.linalg.lu_solve(LU, pivots, B)",
    "triangular_solve": "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will be "
                        "removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its arguments "
                        "reversed and does not return a copy of one of the inputs.\n"
                        "X = torch.triangular_solve(B, A).solution\nshould be replaced with\n"
                        "X = torch.linalg.solve_triangular(A, B).",
}
_DEPRECATED["chain_matmul"] = ("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                                "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather "
                                "than multiple parameters.")
_WARNED: set[str] = set()


def _warn_deprecated(name):
    """torch's UserWarning for its deprecated spelling `name`, the first time it is called in this process."""
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(_DEPRECATED[name], UserWarning, stacklevel=3)
