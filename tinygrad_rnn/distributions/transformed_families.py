"""The families torch builds as a TransformedDistribution of a simpler one (torch 2.13): HalfNormal and HalfCauchy
(|X|), Gumbel (-log(-log U) scaled), Weibull (Exponential to a power, scaled), Pareto (exp of an Exponential,
scaled), Kumaraswamy (powers of a Uniform), InverseGamma (1 / Gamma) and LogisticNormal (stick-breaking of a
Normal vector). log_prob, cdf, icdf and rsample come through the transforms unless torch writes a closed form,
which is then written here too (the same numbers and gradients as torch's)."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, where
from . import constraints
from .continuous import Cauchy, Exponential, Gamma, Normal, Uniform
from .distribution import broadcast_params, constant
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform, AffineTransform, ExpTransform, PowerTransform, StickBreakingTransform

__all__ = ["HalfNormal", "HalfCauchy", "Gumbel", "Weibull", "Pareto", "Kumaraswamy", "InverseGamma",
           "LogisticNormal"]

EULER = 0.57721566490153286060


def _zeros_like(t: Tensor) -> Tensor:
    return constant(np.zeros(t.shape, t.dtype))


class _Folded(TransformedDistribution):
    """|X| for X symmetric about 0 (HalfNormal, HalfCauchy): the density doubled on x >= 0."""

    support = constraints.nonnegative
    has_rsample = True
    arg_constraints = {"scale": constraints.positive}

    scale = property(lambda self: self.base_dist.scale)
    mode = property(lambda self: _zeros_like(self.scale))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.scale.dtype)
        return where(value >= 0, self.base_dist.log_prob(value) + math.log(2), -math.inf)

    def cdf(self, value) -> Tensor:
        return 2 * self.base_dist.cdf(self._value(value, self.scale.dtype)) - 1

    def icdf(self, prob) -> Tensor:
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(_Folded):
    """HalfNormal(scale, validate_args=None): |Normal(0, scale)|; reparameterised."""

    def __init__(self, scale, validate_args: bool | None = None) -> None:
        super().__init__(Normal(0, scale, validate_args=False), AbsTransform(), validate_args)

    mean = property(lambda self: self.scale * math.sqrt(2 / math.pi))
    variance = property(lambda self: self.scale ** 2 * (1 - 2 / math.pi))


class HalfCauchy(_Folded):
    """HalfCauchy(scale, validate_args=None): |Cauchy(0, scale)|; reparameterised; mean and variance inf."""

    def __init__(self, scale, validate_args: bool | None = None) -> None:
        super().__init__(Cauchy(0, scale, validate_args=False), AbsTransform(), validate_args)

    mean = property(lambda self: constant(np.full(self._extended_shape(), math.inf, self.scale.dtype)))
    variance = property(lambda self: self.base_dist.variance)


class Gumbel(TransformedDistribution):
    """Gumbel(loc, scale, validate_args=None): loc - scale log(-log U), U uniform on [tiny, 1 - eps]."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_params(loc=loc, scale=scale)
        finfo = np.finfo(self.loc.dtype)
        low, high = float(finfo.tiny), 1 - float(finfo.eps)
        if not isinstance(loc, Tensor) and not isinstance(scale, Tensor):
            base = Uniform(low, high, validate_args=validate_args)
        else:
            base = Uniform(constant(np.full(self.loc.shape, low, self.loc.dtype)),
                           constant(np.full(self.loc.shape, high, self.loc.dtype)), validate_args=validate_args)
        minus_ones = constant(-np.ones(self.scale.shape, self.scale.dtype))
        transforms = [ExpTransform().inv, AffineTransform(0, minus_ones), ExpTransform().inv,
                      AffineTransform(loc, -self.scale)]
        super().__init__(base, transforms, validate_args)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        y = (self.loc - value) / self.scale
        return y - y.exp() - self.scale.log()

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + EULER)

    mean = property(lambda self: self.loc + self.scale * EULER)
    mode = property(lambda self: self.loc)
    stddev = property(lambda self: math.pi / math.sqrt(6) * self.scale)
    variance = property(lambda self: self.stddev ** 2)


class Weibull(TransformedDistribution):
    """Weibull(scale, concentration, validate_args=None): scale * E^(1 / concentration), E ~ Exponential(1)."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, validate_args: bool | None = None) -> None:
        self.scale, self.concentration = broadcast_params(scale=scale, concentration=concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = Exponential(constant(np.ones(self.scale.shape, self.scale.dtype)), validate_args=validate_args)
        transforms = [PowerTransform(self.concentration_reciprocal), AffineTransform(0, self.scale)]
        super().__init__(base, transforms, validate_args)

    def expand(self, batch_shape, _instance=None):
        """As torch's Weibull.expand: the parameters expanded and the transforms made again from them (the other
        families share their transforms with the distribution they were expanded from, as torch's)."""
        new = super().expand(batch_shape)
        new.concentration_reciprocal = new.concentration.reciprocal()
        new.transforms = [PowerTransform(new.concentration_reciprocal), AffineTransform(0, new.scale)]
        return new

    mean = property(lambda self: self.scale * (1 + self.concentration_reciprocal).lgamma().exp())
    mode = property(lambda self: self.scale * ((self.concentration - 1) / self.concentration)
                    ** self.concentration.reciprocal())

    @property
    def variance(self) -> Tensor:
        k = self.concentration_reciprocal
        return self.scale ** 2 * ((1 + 2 * k).lgamma().exp() - (2 * (1 + k).lgamma()).exp())

    def entropy(self) -> Tensor:
        k = self.concentration_reciprocal
        return EULER * (1 - k) + (self.scale * k).log() + 1


class Pareto(TransformedDistribution):
    """Pareto(scale, alpha, validate_args=None): scale * exp(E), E ~ Exponential(alpha); support x >= scale."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args: bool | None = None) -> None:
        self.scale, self.alpha = broadcast_params(scale=scale, alpha=alpha)
        base = Exponential(self.alpha, validate_args=validate_args)
        super().__init__(base, [ExpTransform(), AffineTransform(0, self.scale)], validate_args)

    support = property(lambda self: constraints.greater_than_eq(self.scale))

    # inf where alpha <= 1 (the mean) or <= 2 (the variance), as torch's. torch clamps alpha and divides by 0; the
    # backward of that form meets inf - inf and inf * 0 on the way to the clamp that discards them (numpy warns
    # there, torch does not), so the alpha part is computed at a safe alpha and the inf put in by where: the same
    # values and gradients (inf for scale, 0 for alpha there), without a nan in between.
    @property
    def mean(self) -> Tensor:
        finite = self.alpha > 1
        a = where(finite, self.alpha, 2.0)
        return self.scale * where(finite, a / (a - 1), math.inf)

    mode = property(lambda self: self.scale)

    @property
    def variance(self) -> Tensor:
        finite = self.alpha > 2
        a = where(finite, self.alpha, 3.0)
        return self.scale ** 2 * where(finite, a / ((a - 1) ** 2 * (a - 2)), math.inf)

    def entropy(self) -> Tensor:
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


def _kumaraswamy_moment(a, b, n):
    arg1 = 1 + n / a
    return b * (arg1.lgamma() + b.lgamma() - (arg1 + b).lgamma()).exp()


class Kumaraswamy(TransformedDistribution):
    """Kumaraswamy(concentration1, concentration0, validate_args=None): (1 - U^(1 / c0))^(1 / c1) on (0, 1);
    reparameterised."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_params(concentration1=concentration1,
                                                                    concentration0=concentration0)
        c0 = self.concentration0
        base = Uniform(constant(np.zeros(c0.shape, c0.dtype)), constant(np.ones(c0.shape, c0.dtype)),
                       validate_args=validate_args)
        transforms = [PowerTransform(c0.reciprocal()), AffineTransform(1.0, -1.0),
                      PowerTransform(self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args)

    mean = property(lambda self: _kumaraswamy_moment(self.concentration1, self.concentration0, 1))
    variance = property(lambda self: _kumaraswamy_moment(self.concentration1, self.concentration0, 2)
                        - self.mean ** 2)

    @property
    def mode(self) -> Tensor:
        c1, c0 = self.concentration1, self.concentration0
        log_mode = c0.reciprocal() * (-c0).log1p() - (-c0 * c1).log1p()
        return where((c0 < 1) | (c1 < 1), math.nan, log_mode).exp()

    def entropy(self) -> Tensor:
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        h0 = (self.concentration0 + 1).digamma() + EULER
        return t0 + t1 * h0 - self.concentration1.log() - self.concentration0.log()


class InverseGamma(TransformedDistribution):
    """InverseGamma(concentration, rate, validate_args=None): 1 / Gamma(concentration, rate); reparameterised."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:
        base = Gamma(concentration, rate, validate_args=validate_args)
        super().__init__(base, PowerTransform(constant(np.array(-1.0, base.rate.dtype))), validate_args)

    concentration = property(lambda self: self.base_dist.concentration)
    rate = property(lambda self: self.base_dist.rate)
    mode = property(lambda self: self.rate / (self.concentration + 1))

    @property
    def mean(self) -> Tensor:
        return where(self.concentration > 1, self.rate / (self.concentration - 1), math.inf)

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        return where(a > 2, self.rate ** 2 / ((a - 1) ** 2 * (a - 2)), math.inf)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a + self.rate.log() + a.lgamma() - (1 + a) * a.digamma()


class LogisticNormal(TransformedDistribution):
    """LogisticNormal(loc, scale, validate_args=None): the stick-breaking image of Normal(loc, scale) over the
    last dim, a distribution on the simplex of one more entry; reparameterised."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        base = Normal(loc, scale, validate_args=validate_args)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args)

    loc = property(lambda self: self.base_dist.base_dist.loc)
    scale = property(lambda self: self.base_dist.base_dist.scale)
