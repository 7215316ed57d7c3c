"""LAPACK's Householder QR as torch exposes it: torch.geqrf (the reflectors and R packed in one matrix, and tau),
torch.orgqr (their product's first columns: linalg.householder_product) and torch.ormqr (a matrix multiplied by
Q or Q^T without forming Q in LAPACK; here by forming it).

geqrf is numpy's (np.linalg.qr's "raw" mode is LAPACK's geqrf: torch's values to rounding); its results require
grad where the input does and refuse a backward, in torch's words (torch has no derivative for it). ormqr is
composed of householder_product (matrix_functions.py's primitive) and a product, so its gradients in A, tau and
the other matrix come from those, as torch's own ormqr_backward computes them.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .matrix_functions import householder_product
from .primitives import Primitive
from .tape import apply
from .tensor import Tensor, concatenate
from .tensor_args import DTypeNotImplementedError, _ProductDTypeError

__all__ = ["geqrf", "orgqr", "ormqr", "GeqrfResult"]


class GeqrfResult(NamedTuple):
    """What torch.geqrf returns, as torch.return_types.geqrf."""
    a: Tensor
    tau: Tensor


class Geqrf(Primitive):
    """LAPACK's geqrf of a batch of (m, n) matrices: R on and above the diagonal, the Householder vectors below it
    (their leading 1 implied), and tau (min(m, n)). No derivative, as torch's."""

    @staticmethod
    def forward(a):
        if a.size == 0:
            return (a.copy(), np.zeros(a.shape[:-2] + (min(a.shape[-2:]),), a.dtype)), None
        h, tau = np.linalg.qr(a, mode="raw")   # h is LAPACK's column-major array: its transpose
        return (np.ascontiguousarray(np.swapaxes(h, -1, -2)).astype(a.dtype), tau.astype(a.dtype)), None

    @staticmethod
    def backward(g, saved, needs):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


def _float_tensor(fn, name, t, cpu_name):
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if t.dtype.kind != "f":
        names = {"int64": "Long", "bool": "Bool"}
        raise DTypeNotImplementedError(f"\"{cpu_name}_cpu\" not implemented for '{names.get(t.dtype.name)}'")
    return t


def geqrf(input: Tensor) -> GeqrfResult:
    """As torch.geqrf: (a, tau) of LAPACK's geqrf, A = Q R with R in a's upper triangle and Q the product of the
    reflections `I - tau[i] v_i v_i^T`, v_i below a's diagonal (householder_product(a, tau) is Q's first columns).
    No gradient: a backward through it is torch's NotImplementedError."""
    a = _float_tensor("geqrf", "input", input, "geqrf")
    if a.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    return GeqrfResult(*apply(Geqrf, a))


def orgqr(input: Tensor, input2: Tensor) -> Tensor:
    """As torch.orgqr: linalg.householder_product(input, input2), input2 the tau (torch's binding's name)."""
    _float_tensor("orgqr", "input", input, "orgqr")
    _float_tensor("orgqr", "input2", input2, "orgqr")
    return householder_product(input, input2)


def _ormqr_checks(a, tau, c, left):
    """torch 2.13's checks of ormqr's arguments, in its words."""
    fn = "torch.ormqr"
    if a.ndim < 2:
        raise RuntimeError(f"{fn}: input must have at least 2 dimensions.")
    if c.ndim < 2:
        raise RuntimeError(f"{fn}: other must have at least 2 dimensions.")
    side = -2 if left else -1
    if c.shape[side] != a.shape[-2]:
        raise RuntimeError(f"{fn}: other.shape[{side}] must be equal to input.shape[-2]")
    if tau.shape[-1:] != (min(c.shape[side], a.shape[-1]),):
        raise RuntimeError(f"{fn}: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    if tau.ndim != a.ndim - 1:
        raise RuntimeError(f"{fn}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.ndim} and input.ndim is equal to {a.ndim}")
    if c.ndim != a.ndim:
        raise RuntimeError(f"{fn}: Expected other to have the same number of dimensions as input, but got other.ndim "
                           f"equal to {c.ndim} and input.ndim is equal to {a.ndim}")
    for name, t in (("tau", tau), ("other", c)):
        if t.shape[:a.ndim - 2] != a.shape[:-2]:
            raise RuntimeError(f"{fn}: Expected batch dimensions of {name} to be equal to input.shape[:-2], but got "
                               f"{list(t.shape[:a.ndim - 2])}")
        if t.dtype != a.dtype:
            raise _ProductDTypeError(f"{fn}: Expected input and {name} to have the same dtype, but input has dtype "
                                     f"{a.dtype} and {name} has dtype {t.dtype}")


def ormqr(input: Tensor, input2: Tensor, input3: Tensor, left: bool = True, transpose: bool = False) -> Tensor:
    """As torch.ormqr: Q @ other (left) or other @ Q, with Q^T for transpose=True, Q the square (m x m) product of
    the reflections geqrf's (input, tau) hold. Differentiable in all three, by composition."""
    a = _float_tensor("ormqr", "input", input, "ormqr")
    tau = _float_tensor("ormqr", "input2", input2, "ormqr")
    c = _float_tensor("ormqr", "input3", input3, "ormqr")
    for name, flag in (("left", left), ("transpose", transpose)):
        if not isinstance(flag, bool):
            raise TypeError(f"ormqr(): argument '{name}' must be bool, not {type(flag).__name__}")
    _ormqr_checks(a, tau, c, left)
    m, k = a.shape[-2], tau.shape[-1]
    vectors = a[..., :, :k]   # the reflectors' columns, padded with zero columns to the square Q's m
    if k < m:
        vectors = concatenate([vectors, Tensor._make(np.zeros(a.shape[:-2] + (m, m - k), a.dtype), False)], -1)
    q = householder_product(vectors, tau)
    q = q.mT if transpose else q
    return q @ c if left else c @ q
