"""The univariate continuous distributions, as torch's (torch 2.13): Normal, Uniform, Exponential, Laplace,
LogNormal (torch's TransformedDistribution of Normal by exp), Gamma and Beta (Beta is torch's Dirichlet of two, so
it shares Dirichlet's sampler), Cauchy, StudentT, Chi2 (a Gamma) and FisherSnedecor (a ratio of Gammas).

Each rsample is reparameterised where torch's is: a transform of parameter-free noise (loc + scale * noise), or
for Gamma (and Beta, Dirichlet through it) numpy's gamma draws given the implicit gradient dx/dconcentration
(primitives.GammaSampleGrad). The noise is numpy's, from the library's generator (tr.manual_seed), not torch's
stream: samples are checked by their statistics, not against torch's numbers.
"""
from __future__ import annotations

import math

import numpy as np

from .. import random
from ..special import gammainc
from ..tensor import Tensor, stack, where
from . import constraints
from .distribution import Distribution, broadcast_params, constant, sample_shape_of, standard_gamma
from .exp_family import ExponentialFamily
from .multivariate import Dirichlet
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform

__all__ = ["Normal", "Uniform", "Exponential", "Laplace", "LogNormal", "Gamma", "Beta", "Cauchy", "StudentT", "Chi2",
           "FisherSnedecor"]


def _noise(fn, kind, shape, dtype):
    if kind == "normal":
        return constant(random.normal(fn, shape, dtype, 0.0, 1.0))
    return constant(random.uniform(fn, shape, dtype, 0.0, 1.0))


def _is_number(*values):
    return all(not isinstance(v, Tensor) for v in values)


class Normal(ExponentialFamily):
    """Normal(loc, scale, validate_args=None): N(loc, scale^2), loc and scale Tensors or numbers broadcast."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_params(loc=loc, scale=scale)
        super().__init__(self.loc.shape, (), validate_args)

    def rsample(self, sample_shape=()) -> Tensor:
        """loc + scale * noise: differentiable in loc and scale (the reparameterisation trick)."""
        shape = self._extended_shape(sample_shape_of(sample_shape))
        return self.loc + _noise("Normal.rsample", "normal", shape, self.loc.dtype) * self.scale

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        return -((value - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def icdf(self, value) -> Tensor:
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)
    stddev = property(lambda self: self.scale)
    variance = property(lambda self: self.scale ** 2)

    _mean_carrier_measure = 0
    _natural_params = property(lambda self: (self.loc / self.scale ** 2, -0.5 * (self.scale ** 2).reciprocal()))

    def _log_normalizer(self, x, y):
        return -0.25 * x ** 2 / y + 0.5 * (-math.pi / y).log()


class Uniform(Distribution):
    """Uniform(low, high, validate_args=None): uniform on [low, high); reparameterised."""

    has_rsample = True

    @property
    def arg_constraints(self):
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    def __init__(self, low, high, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_params(low=low, high=high)
        super().__init__(() if _is_number(low, high) else self.low.shape, (), validate_args)

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        return self.low + _noise("Uniform.rsample", "uniform", shape, self.low.dtype) * (self.high - self.low)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.low.dtype)
        inside = ((self.low <= value) & (self.high > value)).to(self.low.dtype)
        return inside.log() - (self.high - self.low).log()

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.low.dtype)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value) -> Tensor:
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()

    mean = property(lambda self: (self.high + self.low) / 2)
    mode = property(lambda self: self.high * math.nan)
    stddev = property(lambda self: (self.high - self.low) / 12 ** 0.5)
    variance = property(lambda self: (self.high - self.low) ** 2 / 12)


class Exponential(ExponentialFamily):
    """Exponential(rate, validate_args=None): density rate exp(-rate x) on x >= 0; reparameterised."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_params(rate=rate)
        super().__init__(() if _is_number(rate) else self.rate.shape, (), validate_args)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        return constant(random.exponential("Exponential.rsample", shape, self.rate.dtype, 1.0)) / self.rate

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.rate.dtype)
        return self.rate.log() - self.rate * value

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.rate.dtype)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value) -> Tensor:
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()

    mean = property(lambda self: self.rate.reciprocal())
    mode = property(lambda self: constant(np.zeros_like(self.rate._data)))
    stddev = property(lambda self: self.rate.reciprocal())
    variance = property(lambda self: self.rate ** -2)

    _mean_carrier_measure = 0
    _natural_params = property(lambda self: (-self.rate,))

    def _log_normalizer(self, x):
        return -(-x).log()


class Laplace(Distribution):
    """Laplace(loc, scale, validate_args=None): density exp(-|x - loc| / scale) / (2 scale); reparameterised."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_params(loc=loc, scale=scale)
        super().__init__(() if _is_number(loc, scale) else self.loc.shape, (), validate_args)

    def rsample(self, sample_shape=()) -> Tensor:
        """torch's inverse-CDF draw: u uniform on (eps - 1, 1), loc - scale sign(u) log1p(-|u|)."""
        shape = self._extended_shape(sample_shape_of(sample_shape))
        eps = float(np.finfo(self.loc.dtype).eps)
        u = constant(random.uniform("Laplace.rsample", shape, self.loc.dtype, eps - 1, 1.0))
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)
    stddev = property(lambda self: math.sqrt(2) * self.scale)
    variance = property(lambda self: 2 * self.scale ** 2)


class LogNormal(TransformedDistribution):
    """LogNormal(loc, scale, validate_args=None): exp of Normal(loc, scale), torch's TransformedDistribution of
    Normal by ExpTransform (base_dist, transforms, log_prob, cdf, icdf and KL come through them, as torch's);
    reparameterised."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        super().__init__(Normal(loc, scale, validate_args=validate_args), ExpTransform(), validate_args)

    loc = property(lambda self: self.base_dist.loc)
    scale = property(lambda self: self.base_dist.scale)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc

    mean = property(lambda self: (self.loc + self.scale ** 2 / 2).exp())
    mode = property(lambda self: (self.loc - self.scale.square()).exp())

    @property
    def variance(self) -> Tensor:
        scale_sq = self.scale ** 2
        return scale_sq.expm1() * (2 * self.loc + scale_sq).exp()


class Gamma(ExponentialFamily):
    """Gamma(concentration, rate, validate_args=None): density rate^a x^(a-1) exp(-rate x) / Gamma(a);
    reparameterised (in rate by scaling, in concentration by the implicit gradient, as torch's)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_params(concentration=concentration, rate=rate)
        super().__init__(() if _is_number(concentration, rate) else self.rate.shape, (), validate_args)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        value = standard_gamma(self.concentration, shape) / self.rate
        return value.clamp(min=float(np.finfo(value.dtype).tiny))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.rate.dtype)
        a = self.concentration
        return a.xlogy(self.rate) + (a - 1).xlogy(value) - self.rate * value - a.lgamma()

    def cdf(self, value) -> Tensor:
        """The regularised incomplete gamma P(concentration, rate value): differentiable in rate and value, not in
        concentration (torch's NotImplementedError there too)."""
        value = self._value(value, self.rate.dtype)
        return gammainc(self.concentration, self.rate * value)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - self.rate.log() + a.lgamma() + (1.0 - a) * a.digamma()

    mean = property(lambda self: self.concentration / self.rate)
    mode = property(lambda self: ((self.concentration - 1) / self.rate).clamp(min=0))
    variance = property(lambda self: self.concentration / self.rate ** 2)

    _mean_carrier_measure = 0
    _natural_params = property(lambda self: (self.concentration - 1, -self.rate))

    def _log_normalizer(self, x, y):
        return (x + 1).lgamma() + (x + 1) * (-y.reciprocal()).log()


class Beta(ExponentialFamily):
    """Beta(concentration1, concentration0, validate_args=None): density x^(c1-1) (1-x)^(c0-1) / B(c1, c0) on
    [0, 1]; reparameterised (a Dirichlet of two, as torch's)."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_params(concentration1=concentration1,
                                                                    concentration0=concentration0)
        pair = stack([self.concentration1, self.concentration0], -1)
        self._dirichlet = Dirichlet(pair, validate_args=validate_args)
        super().__init__(self._dirichlet.batch_shape, (), validate_args)

    def rsample(self, sample_shape=()) -> Tensor:
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.concentration1.dtype)
        return self._dirichlet.log_prob(stack([value, 1.0 - value], -1))

    def entropy(self) -> Tensor:
        return self._dirichlet.entropy()

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        return new

    mean = property(lambda self: self.concentration1 / (self.concentration1 + self.concentration0))
    mode = property(lambda self: self._dirichlet.mode.select(-1, 0))

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    # torch's natural parameters (the concentrations, not concentration - 1) and no _mean_carrier_measure: the
    # generic entropy is torch's NotImplementedError, the generic KL equal to the closed form
    _natural_params = property(lambda self: (self.concentration1, self.concentration0))

    def _log_normalizer(self, x, y):
        return x.lgamma() + y.lgamma() - (x + y).lgamma()



def _full(like: Tensor, shape, value) -> Tensor:
    return constant(np.full(shape, value, like.dtype))


class Cauchy(Distribution):
    """Cauchy(loc, scale, validate_args=None): density 1 / (pi scale (1 + ((x - loc) / scale)^2));
    reparameterised (loc + scale * standard Cauchy noise). Its mean is nan and its variance inf, as torch's."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_params(loc=loc, scale=scale)
        super().__init__(() if _is_number(loc, scale) else self.loc.shape, (), validate_args)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        noise = random.resolve("Cauchy.rsample", None).standard_cauchy(shape)
        return self.loc + constant(np.asarray(noise, self.loc.dtype)) * self.scale

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value) -> Tensor:
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()

    mean = property(lambda self: _full(self.loc, self._extended_shape(), math.nan))
    mode = property(lambda self: self.loc)
    variance = property(lambda self: _full(self.loc, self._extended_shape(), math.inf))


class Chi2(Gamma):
    """Chi2(df, validate_args=None): Gamma(df / 2, 1 / 2); reparameterised as Gamma."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args: bool | None = None) -> None:
        if not isinstance(df, Tensor):
            (df,) = broadcast_params(df=df)   # (checked as a number; the batch shape stays ())
            df = df.item()
        super().__init__(0.5 * df, 0.5, validate_args)

    df = property(lambda self: self.concentration * 2)


class StudentT(Distribution):
    """StudentT(df, loc=0.0, scale=1.0, validate_args=None): Student's t with df degrees of freedom, shifted and
    scaled; reparameterised (normal noise over the root of a Chi2(df) draw / df, as torch's)."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_params(df=df, loc=loc, scale=scale)
        self._chi2 = Chi2(self.df, validate_args=False)
        super().__init__(self.df.shape, (), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._chi2 = self._chi2.expand(batch_shape)
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        sample_shape = sample_shape_of(sample_shape)
        x = _noise("StudentT.rsample", "normal", self._extended_shape(sample_shape), self.df.dtype)
        z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * (x * (z / self.df).rsqrt())

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.df.dtype)
        y = (value - self.loc) / self.scale
        z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi) + (0.5 * self.df).lgamma()
             - (0.5 * (self.df + 1.0)).lgamma())
        return -0.5 * (self.df + 1.0) * (y ** 2.0 / self.df).log1p() - z

    def entropy(self) -> Tensor:
        lbeta = (0.5 * self.df).lgamma() + math.lgamma(0.5) - (0.5 * (self.df + 1)).lgamma()
        return (self.scale.log() + 0.5 * (self.df + 1) * ((0.5 * (self.df + 1)).digamma() - (0.5 * self.df).digamma())
                + 0.5 * self.df.log() + lbeta)

    mean = property(lambda self: where(self.df <= 1, math.nan, self.loc))
    mode = property(lambda self: self.loc)

    @property
    def variance(self) -> Tensor:
        """scale^2 df / (df - 2) above 2 degrees of freedom, inf in (1, 2], nan at or below 1 (torch's)."""
        df = self.df
        above_two = where(df > 2, df, 3.0)   # (no division by 0 in the branch that is not taken)
        finite = self.scale ** 2 * above_two / (above_two - 2)
        return where(df > 2, finite, constant(np.where(df._data > 1, math.inf, math.nan).astype(df.dtype)))


class FisherSnedecor(Distribution):
    """FisherSnedecor(df1, df2, validate_args=None): the F distribution, (chi2(df1) / df1) / (chi2(df2) / df2);
    reparameterised through its two Gamma draws."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args: bool | None = None) -> None:
        self.df1, self.df2 = broadcast_params(df1=df1, df2=df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)
        super().__init__(() if _is_number(df1, df2) else self.df1.shape, (), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._gamma1, new._gamma2 = self._gamma1.expand(batch_shape), self._gamma2.expand(batch_shape)
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        tiny = float(np.finfo(self.df1.dtype).tiny)
        x1 = self._gamma1.rsample(sample_shape).reshape(shape)
        x2 = self._gamma2.rsample(sample_shape).reshape(shape).clamp(min=tiny)
        return (x1 / x2).clamp(min=tiny)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.df1.dtype)
        ct1, ct2, ct3 = self.df1 * 0.5, self.df2 * 0.5, self.df1 / self.df2
        t1 = (ct1 + ct2).lgamma() - ct1.lgamma() - ct2.lgamma()
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3

    @property
    def mean(self) -> Tensor:
        df2 = where(self.df2 <= 2, math.nan, self.df2)
        return df2 / (df2 - 2)

    @property
    def mode(self) -> Tensor:
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return where(self.df1 <= 2, math.nan, mode)

    @property
    def variance(self) -> Tensor:
        df2 = where(self.df2 <= 4, math.nan, self.df2)
        return 2 * df2 ** 2 * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2) ** 2 * (df2 - 4))
