"""GeneralizedPareto, as torch's (torch 2.13): the peaks-over-threshold law, survival (1 + c z)^(-1/c) for
z = (x - loc) / scale (exp(-z) at c = 0, where torch's isclose(c, 0) holds); support [loc, loc - scale / c] for
c < 0, [loc, inf) otherwise; rsample by icdf of uniforms."""
from __future__ import annotations

import math

import numpy as np

from .. import random
from ..tensor import Tensor, where
from . import constraints
from .distribution import Distribution, broadcast_params, constant, sample_shape_of

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """GeneralizedPareto(loc, scale, concentration, validate_args=None)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args: bool | None = None) -> None:
        self.loc, self.scale, self.concentration = broadcast_params(loc=loc, scale=scale,
                                                                    concentration=concentration)
        numbers = not any(isinstance(v, Tensor) for v in (loc, scale, concentration))
        super().__init__(() if numbers else self.loc.shape, (), validate_args)

    def _eq_zero(self):
        return constant(np.isclose(self.concentration._data, 0.0))   # torch's isclose: |c| <= 1e-8

    def _safe_concentration(self):
        return where(self._eq_zero(), 1.0, self.concentration)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        return self.icdf(constant(random.uniform("GeneralizedPareto.rsample", shape, self.loc.dtype, 0.0, 1.0)))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        z = (value - self.loc) / self.scale
        safe = self._safe_concentration()
        y = 1 / safe + 1
        where_nonzero = where(y == 0, y, y * (safe * z).log1p())
        return -self.scale.log() - where(self._eq_zero(), z, where_nonzero)

    def log_survival_function(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        z = (value - self.loc) / self.scale
        safe = self._safe_concentration()
        return where(self._eq_zero(), -z, -(safe * z).log1p() / safe)

    def log_cdf(self, value) -> Tensor:
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value) -> Tensor:
        return self.log_cdf(value).exp()

    def icdf(self, value) -> Tensor:
        safe = self._safe_concentration()
        logu = (-value).log1p()
        where_nonzero = self.loc + self.scale / safe * (-safe * logu).expm1()
        return where(self._eq_zero(), self.loc - self.scale * logu, where_nonzero)

    @property
    def mean(self) -> Tensor:
        valid = self.concentration < 1
        safe = where(valid, self.concentration, 0.5)
        return where(valid, self.loc + self.scale / (1 - safe), math.nan)

    @property
    def variance(self) -> Tensor:
        valid = self.concentration < 0.5
        safe = where(valid, self.concentration, 0.25)
        return where(valid, self.scale ** 2 / ((1 - safe) ** 2 * (1 - 2 * safe)), math.nan)

    def entropy(self) -> Tensor:
        h = self.scale.log() + self.concentration + 1
        return h if tuple(h.shape) == self._batch_shape else h.expand(self._batch_shape)

    mode = property(lambda self: self.loc)

    @property
    def support(self):
        upper = where(self.concentration < 0, self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)
