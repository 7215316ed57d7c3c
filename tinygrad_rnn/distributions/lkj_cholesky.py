"""LKJCholesky, as torch's (torch 2.13): the LKJ distribution over correlation matrices, on their lower Cholesky
factors (event_shape (dim, dim)); drawn by torch's onion method (Beta draws for the squared row norms, normal
directions); log_prob torch's, with its multivariate log-gamma normaliser. Not reparameterised."""
from __future__ import annotations

import math

import numpy as np

from .. import random
from ..special import multigammaln
from ..tensor import Tensor
from . import constraints
from .continuous import Beta
from .distribution import Distribution, broadcast_params, constant

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """LKJCholesky(dim, concentration=1.0, validate_args=None): dim >= 2."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_params(concentration=concentration)
        dtype = self.concentration.dtype
        marginal_conc = self.concentration + 0.5 * (dim - 2)
        offset = np.concatenate([[0.0], np.arange(dim - 1)]).astype(dtype)
        self._beta = Beta(constant(np.broadcast_to(offset + 0.5, self.concentration.shape + (dim,)).copy()),
                          marginal_conc.unsqueeze(-1) - constant(0.5 * offset), validate_args=False)
        super().__init__(self.concentration.shape, (dim, dim), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        return new

    def _draw(self, sample_shape):
        y = self._beta.sample(sample_shape)._data[..., None]
        shape = self._extended_shape(sample_shape)
        u_normal = np.tril(random.normal("LKJCholesky.sample", shape, y.dtype, 0.0, 1.0), -1)
        with np.errstate(invalid="ignore"):   # (row 0 is all zeros: 0 / 0, then set to 0 as torch)
            u_hypersphere = u_normal / np.linalg.norm(u_normal, axis=-1, keepdims=True)
        u_hypersphere[..., 0, :] = 0.0
        w = np.sqrt(y) * u_hypersphere
        diag = np.sqrt(np.maximum(1 - (w ** 2).sum(-1), np.finfo(w.dtype).tiny))
        return constant((w + diag[..., None] * np.eye(self.dim, dtype=w.dtype)).astype(y.dtype))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.concentration.dtype)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = constant(np.arange(2, self.dim + 1).astype(self.concentration.dtype))
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalize_term = 0.5 * dm1 * math.log(math.pi) + multigammaln(alpha - 0.5, dm1) - alpha.lgamma() * dm1
        return unnormalized - normalize_term
