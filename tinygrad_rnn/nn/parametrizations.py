"""torch.nn.utils.parametrizations: orthogonal, weight_norm and spectral_norm as parametrizations (parametrize.py).

Each registers a small Module on the tensor; its forward is the map from the free tensor(s) to the constrained
weight, recorded on the tape at every read of `module.weight`, so the optimizer steps the free tensor(s)
(`module.parametrizations.weight.original`, or `original0` / `original1` for weight_norm's g and v).
"""
from __future__ import annotations

import numpy as np

from ..creation import randn
from ..linalg import solve
from ..matrix_functions import householder_product, matrix_exp
from ..tape import no_grad
from ..tensor import Tensor, concatenate
from . import functional as F
from . import parametrize
from .checks import check_int
from .module import Module

__all__ = ["orthogonal", "weight_norm", "spectral_norm"]

_ORTHOGONAL_MAPS = ("matrix_exp", "cayley", "householder")


# ----------------------------------------------------------------------------- orthogonal
def _orthogonal_part(a):
    """The Q of a = QR (a tall, batches too) with diag(R) >= 0, so Q is unique: torch's _make_orthogonal."""
    q, r = np.linalg.qr(a)
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _is_orthogonal(q):
    """Whether q^T q = I to about the dtype's rounding (torch's _is_orthogonal)."""
    n, k = q.shape[-2], q.shape[-1]
    eps = 10.0 * n * np.finfo(q.dtype).eps
    return np.allclose(np.swapaxes(q, -1, -2) @ q, np.eye(k, dtype=q.dtype), atol=eps)


def _householder_vectors(q):
    """LAPACK's geqrf of each tall matrix of q: its Householder vectors below the diagonal and R above, with the
    diagonal replaced by the signs torch's orthogonal.right_inverse sets (so householder(result) == q)."""
    flat = q.reshape(-1, q.shape[-2], q.shape[-1])
    out = np.empty_like(flat)
    for i, m in enumerate(flat):
        h, tau = np.linalg.qr(m, mode="raw")   # (h is LAPACK's column-major array, transposed)
        a = h.T.astype(q.dtype)
        d = np.sign(np.diagonal(a)).copy()
        d[tau == 0.0] *= -1   # LAPACK leaves a column alone with tau == 0: its reflection is the identity
        np.fill_diagonal(a, d)
        out[i] = a
    return out.reshape(q.shape)


class _Orthogonal(Module):
    """weight = Q(X): an orthogonal matrix (orthonormal columns, or rows when wide) made from an unconstrained X.

    matrix_exp / cayley: A = X's lower triangle minus its transpose (skew-symmetric; a tall X is padded to
    square with zeros), Q = exp(A) or the Cayley transform `(I - A/2)^-1 (I + A/2)`, its first k columns.
    householder: Q = the product of the reflections whose vectors X's lower triangle holds.
    use_trivialization=True (torch's default) keeps Q = base @ Q(X) with `base` a buffer: assigning a weight
    (and registering) sets base to it, made orthogonal, and X to -I (so Q(X) = I); the optimizer then moves
    X away from 0, i.e. near the current weight, instead of near the identity."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            Q = self._skew_map(X, n, k)
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = householder_product(A, tau)
            # X's diagonal (the 1s and -1s right_inverse set) flips columns, with no gradient (torch's .int()); by
            # Tensor operations, not numpy on X's values, so that a compiled cell's trace replays it (compile/prelude)
            Q = Q * X.detach().diagonal(dim1=-2, dim2=-1).trunc().unsqueeze(-2)
        if getattr(self, "base", None) is not None:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def _skew_map(self, X, n, k):
        X = X.tril()
        if n != k:   # tall: padded to square, so A is n x n
            X = concatenate([X, Tensor(np.zeros(X.shape[:-2] + (n, n - k), X.dtype))], dim=-1)
        A = X - X.mT
        if self.orthogonal_map == "matrix_exp":
            Q = matrix_exp(A)
        else:
            eye = Tensor(np.eye(n, dtype=A.dtype))
            Q = solve(eye - 0.5 * A, eye + 0.5 * A)
        return Q[..., :k] if n != k else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        """An X with Q(X) = Q (see the class): for use_trivialization=False only the householder map has one."""
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {tuple(self.shape)}. Got a tensor of "
                             f"shape {tuple(Q.shape)}.")
        q = Q._data
        n, k = q.shape[-2], q.shape[-1]
        transpose = n < k
        if transpose:
            q = np.swapaxes(q, -1, -2)
            n, k = k, n
        if not hasattr(self, "base"):
            if self.orthogonal_map in ("matrix_exp", "cayley"):
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            a = _householder_vectors(q)
            return Tensor(np.swapaxes(a, -1, -2).copy() if transpose else a)
        if n == k:
            q = q.copy() if _is_orthogonal(q) else _orthogonal_part(q)
        else:   # completed to a square orthogonal matrix with random columns, as torch (from tr's generator)
            q = _orthogonal_part(np.concatenate([q, randn(*(q.shape[:-2] + (n, n - k)), dtype=q.dtype)._data], -1))
        with no_grad():
            self.base = Tensor(q.astype(Q.dtype, copy=False))
        neg_eye = np.zeros(Q.shape, Q.dtype)   # X = -I: exp(0) = I, and the reflections of -I multiply to I
        idx = np.arange(min(Q.shape[-2:]))
        neg_eye[..., idx, idx] = -1.0
        return Tensor(neg_eye)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Make `module.<name>` (a matrix, or batch of matrices) orthogonal, as torch.nn.utils.parametrizations
    .orthogonal: `W^T W = I` for a tall or square W (`W W^T = I` for a wide one) at every step of training.

    orthogonal_map: "matrix_exp", "cayley" or "householder"; None picks torch's default, matrix_exp for a
    square W and householder otherwise. use_trivialization: see _Orthogonal. The current weight is kept
    (made orthogonal first if it is not; its missing columns drawn at random when W is not square).
    Registered with unsafe=True, as torch's. Returns module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _ORTHOGONAL_MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: '
                         f"{orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


# ----------------------------------------------------------------------------- weight_norm
def _wrap_dim(dim, ndim):
    """torch's dim of weight_norm: -1 (or None) means the whole tensor; another negative dim counts from the end."""
    if dim == -1:
        return -1
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
    return dim % ndim


def norm_except_dim(v: Tensor, pow: float, dim: int) -> Tensor:
    """The pow-norm of v over every dim but `dim`, kept with size 1 (dim -1: of the whole tensor, 0-d), as
    torch.norm_except_dim."""
    dim = _wrap_dim(dim, v.ndim)
    if dim == -1:
        return v.norm(pow)
    return v.norm(pow, dim=[d for d in range(v.ndim) if d != dim], keepdim=True)


def weight_norm_of(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """`v * (g / ||v||)`, the norm over every dim but `dim` (torch._weight_norm): the weight's direction from
    v, its length from g."""
    return v * (g / norm_except_dim(v, 2, dim))


class _WeightNorm(Module):
    """weight = g * v / ||v||: from (original0, original1) = (g, v), torch's names and order."""

    def __init__(self, dim: int | None = 0) -> None:
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_norm_of(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Split `module.<name>` into a length g and a direction v, as torch.nn.utils.parametrizations.weight_norm:
    `parametrizations.weight.original0` is g (the norm over every dim but `dim`, kept with size 1; dim=None:
    one number for the whole tensor), `original1` is v. Returns module."""
    if not isinstance(getattr(module, name, None), Tensor):
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{name}'")
    if dim is not None:
        _wrap_dim(check_int("weight_norm", "dim", dim), getattr(module, name).ndim)
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def load_old_keys(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        """A state_dict of the hook form (tr.nn.utils.weight_norm: `<name>_g`, `<name>_v`) loads, as torch's."""
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(load_old_keys)
    return module


# ----------------------------------------------------------------------------- spectral_norm
def _normalized(x, eps):
    """x / max(||x||, eps), as F.normalize, on an array."""
    return x / max(np.sqrt(np.dot(x, x)), eps)


class _SpectralNorm(Module):
    """weight = W / sigma(W), sigma the largest singular value, estimated by power iteration: the buffers _u and
    _v hold the singular vectors' estimates, improved by n_power_iterations steps at each read in training
    mode (15 at registration) and left as they are in eval mode; sigma = `u . (W v)`, differentiated with u
    and v held constant (torch's rule). A 1-D weight is just normalized."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got "
                             f"{dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.shape
            dtype = weight.dtype
            self.register_buffer("_u", Tensor(_normalized(randn(h, dtype=dtype)._data, eps)))
            self.register_buffer("_v", Tensor(_normalized(randn(w, dtype=dtype)._data, eps)))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat, n_power_iterations):
        """u and v moved n steps towards W's top singular vectors, in place (the buffers keep their objects)."""
        w, u, v = weight_mat._data, self._u._data, self._v._data
        for _ in range(n_power_iterations):
            u[...] = _normalized(w @ v, self.eps)
            v[...] = _normalized(w.T @ u, self.eps)
        self._u.bump_version()
        self._v.bump_version()

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # copies, as torch's clone()s (the next power iteration writes the buffers in place); taken by an operation,
        # so that a compiled cell's trace sees the buffers (compile/prelude.py reads them at each call)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * (weight_mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Divide `module.<name>` by its largest singular value, as torch.nn.utils.parametrizations.spectral_norm
    (see _SpectralNorm; the buffers are `parametrizations.weight.0._u` and `._v`). dim: the dim of the output
    rows (None: 0). The first u and v are drawn from tr's generator: load a torch state_dict for torch's.
    Returns module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    dim = 0 if dim is None else check_int("spectral_norm", "dim", dim)
    n_power_iterations = check_int("spectral_norm", "n_power_iterations", n_power_iterations)
    with no_grad():
        parametrization = _SpectralNorm(weight, n_power_iterations, dim, eps)
    parametrize.register_parametrization(module, name, parametrization)
    return module
