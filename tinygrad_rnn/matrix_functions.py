"""Matrix functions with their backward: the matrix exponential and the product of Householder reflections, as
torch.matrix_exp (torch.linalg.matrix_exp) and torch.linalg.householder_product (tr.linalg has both). The
orthogonal parametrization (nn/parametrizations.py) is built on them and on linalg.solve: its three maps are
exp(A), a product of reflections and the Cayley transform (a solve).

Each is a primitive (forward and backward side by side, as in primitives.py) on a batch of matrices
(..., n, n): leading dims are looped over or broadcast by numpy's matmul. The arithmetic is in the input's
dtype except matrix_exp's, which is computed in float64 and returned in the input's dtype (float32 then
agrees with torch's to its rounding).
"""
from __future__ import annotations

import numpy as np

from .primitives import Primitive
from .tape import apply
from .tensor import FLOAT_DTYPES, ShapeError, Tensor
from .tensor_args import DTypeNotImplementedError, _ProductDTypeError

__all__ = ["matrix_exp", "householder_product"]



def _square_batches(fn, name, a):
    """a as a float Tensor of square matrices (..., n, n), or torch's error naming `name`."""
    if not isinstance(a, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:   # (torch's RuntimeError: this is a TypeError too)
        raise DTypeNotImplementedError(f"linalg.{fn}: Expected a floating point or complex tensor as input. Got "
                                       f"{a.dtype}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{fn}: {name} must be batches of square matrices, but they are "
                         + (f"{a.shape[-2]} by {a.shape[-1]} matrices" if a.ndim >= 2 else f"a {a.ndim}-D tensor"))
    return a


# ----------------------------------------------------------------------------- the matrix exponential
# Higham's (2005) scaling and squaring with the [13/13] Pade approximant: exp(A) = r(A / 2^s)^(2^s), s chosen so
# that ||A / 2^s||_1 <= theta_13, where the approximant is accurate to float64's rounding.
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def _expm(a):
    """exp of one float64 matrix a (n, n)."""
    norm = np.abs(a).sum(axis=0).max() if a.size else 0.0
    s = max(0, int(np.ceil(np.log2(norm / _THETA13)))) if norm > _THETA13 else 0
    a = a / 2.0 ** s
    b, eye = _PADE13, np.eye(a.shape[0])
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r


def _expm_batch(a):
    """exp of each matrix of a (..., n, n), in a's dtype (computed in float64)."""
    if a.size == 0:
        return a.copy()
    flat = a.reshape(-1, a.shape[-2], a.shape[-1]).astype(np.float64)
    out = np.stack([_expm(m) for m in flat]) if len(flat) else flat
    return out.reshape(a.shape).astype(a.dtype)


class MatrixExp(Primitive):
    """exp(A) of a batch of square matrices. Its vector-Jacobian product is the top-right block of the exponential
    of the block matrix `[[A^T, G], [0, A^T]]` (Najfeld and Havel 1995; torch's matrix_exp backward too)."""

    @staticmethod
    def forward(a):
        return _expm_batch(a), a

    @staticmethod
    def backward(g, a, needs):
        n = a.shape[-1]
        at = np.swapaxes(a, -1, -2)
        block = np.zeros(a.shape[:-2] + (2 * n, 2 * n), dtype=a.dtype)
        block[..., :n, :n] = at
        block[..., n:, n:] = at
        block[..., :n, n:] = g
        return (_expm_batch(block)[..., :n, n:],)


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) = I + A + A^2/2! + ... of a square matrix, or of each of a batch (..., n, n), differentiable, as
    torch.matrix_exp and torch.linalg.matrix_exp. exp of a skew-symmetric matrix (A^T = -A) is orthogonal: the
    orthogonal parametrization's default map."""
    return apply(MatrixExp, _square_batches("matrix_exp", "A", A))


# ----------------------------------------------------------------------------- products of Householder reflections
def _reflectors(a, k):
    """The k Householder vectors a's columns hold, as LAPACK stores them (geqrf): column i is v_i with
    `v_i[i] = 1` and zeros above; a's entries on and above the diagonal are not read."""
    m, n = a.shape[-2], a.shape[-1]
    return (np.tril(a, -1) + np.eye(m, n, dtype=a.dtype))[..., :, :k]


class HouseholderProduct(Primitive):
    """(A (..., m, n), tau (..., k)) -> the first n columns of H_0 H_1 ... H_(k-1), `H_i = I - tau[i] v_i v_i^T`
    (torch.linalg.householder_product, LAPACK's orgqr). The product is built from the right,
    `Q_i = H_i Q_(i+1)` from `Q_k` = the first n columns of I; each Q_(i+1) is kept for the backward, which walks
    the reflections the other way: with G_i = dL/dQ_i, `dL/dQ_(i+1) = H_i G_i` (H_i is symmetric), and the
    reflection's own gradients, with `w = v^T G_i`, `z = v^T Q_(i+1)`, are `dtau[i] = -w . z` and
    `dv = -tau[i] (G_i z^T + Q_(i+1) w^T)` (only v's entries below the diagonal are A's)."""

    @staticmethod
    def forward(a, tau):
        m, n, k = a.shape[-2], a.shape[-1], tau.shape[-1]
        v = _reflectors(a, k)
        q = np.broadcast_to(np.eye(m, n, dtype=a.dtype), a.shape)
        rights = [None] * k
        for i in reversed(range(k)):
            rights[i] = q
            vi = v[..., :, i:i + 1]
            q = q - tau[..., i, None, None] * (vi @ (np.swapaxes(vi, -1, -2) @ q))
        return q, (v, tau, rights, a.shape)

    @staticmethod
    def backward(g, saved, needs):
        v, tau, rights, a_shape = saved
        dv, dtau = np.zeros(v.shape, g.dtype), np.zeros(tau.shape, g.dtype)
        for i, right in enumerate(rights):
            vi = v[..., :, i:i + 1]
            w = np.swapaxes(vi, -1, -2) @ g        # (..., 1, n)
            z = np.swapaxes(vi, -1, -2) @ right    # (..., 1, n)
            t = tau[..., i, None, None]
            dtau[..., i] = -(w * z).sum(axis=(-2, -1))
            dv[..., :, i:i + 1] = -t * (g @ np.swapaxes(z, -1, -2) + right @ np.swapaxes(w, -1, -2))
            g = g - t * (vi @ w)
        da = np.zeros(dv.shape[:-1] + (a_shape[-1],), g.dtype)
        da[..., :, :dv.shape[-1]] = np.tril(dv, -1)   # v's diagonal 1 and the zeros above are not A's entries
        return (da if needs[0] else None), (dtau if needs[1] else None)


def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first n columns of the product of the k Householder reflections `H_i = I - tau[i] v_i v_i^T` whose
    vectors A (..., m, n) holds below its diagonal (`v_i[i] = 1`), as torch.linalg.householder_product (torch.orgqr):
    with (A, tau) from a QR factorization it gives Q. Needs m >= n >= k; differentiable in A and tau."""
    fn = "torch.linalg.householder_product"
    for name, t in (("input", A), ("tau", tau)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype not in FLOAT_DTYPES:   # (torch's NotImplementedError: this is a TypeError too)
            kind = {"int64": "Long", "bool": "Bool"}.get(t.dtype.name, t.dtype.name)
            raise DTypeNotImplementedError(f"\"orgqr_cpu\" not implemented for '{kind}' ({fn}'s {name})")
    if A.ndim < 2:
        raise ShapeError(f"{fn}: input must have at least 2 dimensions, got {A.ndim}")
    if A.shape[-2] < A.shape[-1]:
        raise ShapeError(f"{fn}: input.shape[-2] must be greater than or equal to input.shape[-1] (got "
                         f"{tuple(A.shape)})")
    if tau.ndim != A.ndim - 1 or tau.shape[:-1] != A.shape[:-2]:
        raise ShapeError(f"{fn}: Expected batch dimensions of tau to be equal to input.shape[:-2], got tau of shape "
                         f"{tuple(tau.shape)} for input of shape {tuple(A.shape)}")
    if A.shape[-1] < tau.shape[-1]:
        raise ShapeError(f"{fn}: input.shape[-1] must be greater than or equal to tau.shape[-1] (got {A.shape[-1]} "
                         f"and {tau.shape[-1]})")
    if A.dtype != tau.dtype:
        raise _ProductDTypeError(f"{fn}: tau dtype {tau.dtype} does not match input dtype {A.dtype}")
    return apply(HouseholderProduct, A, tau)
