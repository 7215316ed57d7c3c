"""ContinuousBernoulli, as torch's (torch 2.13): the density C(p) p^x (1 - p)^(1 - x) on [0, 1] (Loaiza-Ganem and
Cunningham, 2019). Its normaliser, mean and variance are 0 / 0 at p = 1/2, so inside lims (0.499, 0.501) they are
torch's Taylor expansions; draws are icdf of uniforms, so rsample is reparameterised."""
from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from .. import random
from ..tensor import Tensor, where
from . import constraints
from .discrete import _bce_with_logits, _clamped, _ProbsOrLogits
from .distribution import broadcast_params, constant, sample_shape_of
from .exp_family import ExponentialFamily

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(_ProbsOrLogits, ExponentialFamily):
    """ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501), validate_args=None)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        given = probs if probs is not None else logits
        if probs is not None:
            (self.probs,) = broadcast_params(probs=probs)
            if validate_args is not None and not np.all(self.arg_constraints["probs"].check(self.probs)):
                raise ValueError("The parameter probs has invalid values")
            self.probs = _clamped(self.probs)
        else:
            (self.logits,) = broadcast_params(logits=logits)
        self._lims = lims
        super().__init__(() if not isinstance(given, Tensor) else tuple(given.shape), (), validate_args)

    @cached_property
    def probs(self) -> Tensor:
        return _clamped(self.logits.sigmoid())

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        return where(self._outside_unstable_region(), self.probs, self._lims[0] * (self.probs * 0 + 1))

    def _cont_bern_log_norm(self):
        cut = self._cut_probs()
        below_half = where(cut <= 0.5, cut, cut * 0)
        above_half = where(cut >= 0.5, cut, cut * 0 + 1)
        log_norm = ((-cut).log1p() - cut.log()).abs().log() - where(cut <= 0.5, (-2.0 * below_half).log1p(),
                                                                     (2.0 * above_half - 1.0).log())
        x = (self.probs - 0.5) ** 2
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self) -> Tensor:
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x
        return where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self) -> Tensor:
        cut = self._cut_probs()
        variances = cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2 + 1.0 / ((-cut).log1p() - cut.log()) ** 2
        x = (self.probs - 0.5) ** 2
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return where(self._outside_unstable_region(), variances, taylor)

    stddev = property(lambda self: self.variance.sqrt())

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        u = constant(random.uniform("ContinuousBernoulli.rsample", shape, self.probs.dtype, 0.0, 1.0))
        return self.icdf(u)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.probs.dtype)
        shape = tuple(np.broadcast_shapes(self.logits.shape, value.shape))
        return -_bce_with_logits(self.logits.expand(shape), value.expand(shape)) + self._cont_bern_log_norm()

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.probs.dtype)
        cut = self._cut_probs()
        cdfs = (cut ** value * (1.0 - cut) ** (1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = where(self._outside_unstable_region(), cdfs, value)
        return where(value <= 0.0, value * 0, where(value >= 1.0, value * 0 + 1, unbounded))

    def icdf(self, value) -> Tensor:
        cut = self._cut_probs()
        inverted = ((-cut + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) / (cut.log() - (-cut).log1p())
        return where(self._outside_unstable_region(), inverted, value)

    def entropy(self) -> Tensor:
        log_probs0, log_probs1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    _mean_carrier_measure = 0
    _natural_params = property(lambda self: (self.logits,))

    def _log_normalizer(self, x):
        """log((e^x - 1) / x), torch's form: its Taylor expansion where x is near 0 (lims, shifted by 1/2 as
        torch shifts them)."""
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = where(outside, x, (self._lims[0] - 0.5) * (x * 0 + 1))
        log_norm = cut.expm1().abs().log() - cut.abs().log()
        taylor = 0.5 * x + x ** 2 / 24.0 - x ** 4 / 2880.0
        return where(outside, log_norm, taylor)
