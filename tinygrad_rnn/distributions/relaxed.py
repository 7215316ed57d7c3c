"""The relaxed (continuous) stand-ins of Bernoulli and OneHotCategorical, as torch's (torch 2.13): a temperature
blurs the draw into (0, 1) or the open simplex, so that it is reparameterised (the Gumbel-softmax / Concrete
distributions). As torch builds them: RelaxedBernoulli is the TransformedDistribution of LogitRelaxedBernoulli (the
logit of the draw) by SigmoidTransform, RelaxedOneHotCategorical that of ExpRelaxedCategorical (the log of the draw)
by ExpTransform; so base_dist, transforms and log_prob's Jacobians are torch's."""
from __future__ import annotations

import math

import numpy as np

from .. import random
from ..tensor import Tensor
from . import constraints
from .discrete import Categorical, _clamped, _ProbsOrLogits
from .distribution import Distribution, as_param, constant, sample_shape_of
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli", "ExpRelaxedCategorical", "RelaxedOneHotCategorical"]


def _uniform(fn, shape, dtype):
    """Uniforms clamped to [eps, 1 - eps], as torch's clamp_probs(rand(...))."""
    eps = np.finfo(dtype).eps
    return constant(np.clip(random.uniform(fn, shape, dtype, 0.0, 1.0), eps, 1 - eps))


def _temperature(value, dtype):
    return as_param("temperature", value, dtype)


class LogitRelaxedBernoulli(_ProbsOrLogits):
    """LogitRelaxedBernoulli(temperature, probs=None, logits=None, validate_args=None): (logits + logistic noise) /
    temperature, the logit of a RelaxedBernoulli draw (support: the reals); reparameterised."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args: bool | None = None) -> None:
        given = self._take_probs_or_logits(probs, logits)
        self.temperature = _temperature(temperature, given.dtype)
        super().__init__(given.shape, (), validate_args)

    def expand(self, batch_shape, _instance=None):
        """The probs or logits expanded; the temperature kept as it is (torch's)."""
        temperature = self.temperature
        new = super().expand(batch_shape)
        new.temperature = temperature
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        probs = _clamped(self.probs.expand(shape))
        u = _uniform("LogitRelaxedBernoulli.rsample", shape, probs.dtype)
        return (u.log() - (-u).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.logits.dtype)
        diff = self.logits - value * self.temperature
        return self.temperature.log() + diff - 2 * diff.exp().log1p()


class RelaxedBernoulli(TransformedDistribution):
    """RelaxedBernoulli(temperature, probs=None, logits=None, validate_args=None): sigmoid of LogitRelaxedBernoulli,
    on (0, 1); reparameterised."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args: bool | None = None) -> None:
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base, SigmoidTransform(), validate_args)

    temperature = property(lambda self: self.base_dist.temperature)
    probs = property(lambda self: self.base_dist.probs)
    logits = property(lambda self: self.base_dist.logits)


class ExpRelaxedCategorical(Distribution):
    """ExpRelaxedCategorical(temperature, probs=None, logits=None, validate_args=None): the log of a
    RelaxedOneHotCategorical draw, log_softmax((logits + Gumbel noise) / temperature) (event_shape (K,), support
    real_vector); reparameterised."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits)
        self.temperature = _temperature(temperature, self._categorical.logits.dtype)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)
    param_shape = property(lambda self: self._categorical.param_shape)

    def expand(self, batch_shape, _instance=None):
        """The Categorical expanded; the temperature kept as it is (torch's)."""
        new = ExpRelaxedCategorical.__new__(ExpRelaxedCategorical)
        new.__dict__.update(self.__dict__)
        new._categorical = self._categorical.expand(batch_shape)
        new._batch_shape = tuple(batch_shape)
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        u = _uniform("ExpRelaxedCategorical.rsample", shape, self.logits.dtype)
        scores = (self.logits + -((-(u.log())).log())) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value) -> Tensor:
        """The Concrete density of log-values: lgamma(K) + (K - 1) log(temperature) + sum(log_softmax(logits -
        temperature value))."""
        value = self._value(value, self.logits.dtype)
        k = self._categorical._num_events
        log_scale = math.lgamma(k) - self.temperature.log() * -(k - 1)
        score = self.logits - value * self.temperature
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    """RelaxedOneHotCategorical(temperature, probs=None, logits=None, validate_args=None): exp of
    ExpRelaxedCategorical, on the simplex (event_shape (K,)); reparameterised."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args: bool | None = None) -> None:
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args)

    temperature = property(lambda self: self.base_dist.temperature)
    probs = property(lambda self: self.base_dist.probs)
    logits = property(lambda self: self.base_dist.logits)
