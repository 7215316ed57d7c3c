"""What tr.linalg's modules (linalg.py, triangular.py) share: torch's LinAlgError and the checks torch makes of a
matrix argument, in torch's words.

This module is built on tensor.py alone.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor


class LinAlgError(RuntimeError):
    """A matrix the factorization cannot take (singular, not positive-definite), as torch.linalg.LinAlgError."""


def _matrices(fn, A, square=False, name="A"):
    """A as a float Tensor of (batches of) matrices, square if asked, in torch's words otherwise."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.{fn}(): argument '{name}' must be Tensor, not {type(A).__name__}")
    if A.dtype.kind != "f":
        raise RuntimeError(f"linalg.{fn}: Expected a floating point tensor as input. Got {A.dtype}")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{fn}: The input tensor {name} must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{fn}: {name} must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
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
