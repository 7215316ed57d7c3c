"""The relaxed (continuous) stand-ins of Bernoulli and OneHotCategorical, as torch's (torch 2.13): a temperature
blurs the draw into (0, 1) or the open simplex, so that it is reparameterised (the Gumbel-softmax / Concrete
distributions). torch builds them as transformed distributions (sigmoid of LogitRelaxedBernoulli, exp of
ExpRelaxedCategorical); here the same formulas are written out, log_prob with the transforms' Jacobians."""
from __future__ import annotations

import numpy as np

from .. import random
from ..tensor import Tensor
from . import constraints
from .discrete import Bernoulli, Categorical, _clamped, _softplus
from .distribution import Distribution, as_param, constant, sample_shape_of

__all__ = ["RelaxedBernoulli", "RelaxedOneHotCategorical"]


def _uniform(fn, shape, dtype):
    """Uniforms clamped to [eps, 1 - eps], as torch's clamp_probs(rand(...))."""
    eps = np.finfo(dtype).eps
    return constant(np.clip(random.uniform(fn, shape, dtype, 0.0, 1.0), eps, 1 - eps))


class RelaxedBernoulli(Distribution):
    """RelaxedBernoulli(temperature, probs=None, logits=None, validate_args=None): sigmoid((logits + logistic
    noise) / temperature) on (0, 1); reparameterised."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._bernoulli = Bernoulli(probs, logits, validate_args=validate_args)
        self.temperature = as_param("temperature", temperature, self._bernoulli.logits.dtype)
        super().__init__(self._bernoulli.batch_shape, (), validate_args)

    probs = property(lambda self: self._bernoulli.probs)
    logits = property(lambda self: self._bernoulli.logits)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._bernoulli = self._bernoulli.expand(batch_shape)
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        u = _uniform("RelaxedBernoulli.rsample", shape, self.logits.dtype)
        scores = (u.log() - (-u).log1p() + self.logits) / self.temperature
        return _clamped(scores.sigmoid())

    def log_prob(self, value) -> Tensor:
        """The logit's density (LogitRelaxedBernoulli) at logit(value), plus log |d logit / d value|."""
        value = self._value(value, self.logits.dtype)
        finfo = np.finfo(value.dtype)
        y = value.clamp(float(finfo.tiny), 1.0 - float(finfo.eps))
        x = y.log() - (-y).log1p()
        diff = self.logits - x * self.temperature
        return self.temperature.log() + diff - 2 * diff.exp().log1p() + _softplus(-x) + _softplus(x)


class RelaxedOneHotCategorical(Distribution):
    """RelaxedOneHotCategorical(temperature, probs=None, logits=None, validate_args=None): softmax((logits +
    Gumbel noise) / temperature) on the simplex (event_shape (K,)); reparameterised."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        self.temperature = as_param("temperature", temperature, self._categorical.logits.dtype)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        u = _uniform("RelaxedOneHotCategorical.rsample", shape, self.logits.dtype)
        scores = (self.logits - (-u.log()).log()) / self.temperature
        return (scores - scores.logsumexp(-1, keepdim=True)).exp()

    def log_prob(self, value) -> Tensor:
        """ExpRelaxedCategorical's density at log(value), minus the log-Jacobian sum(log value) of exp."""
        value = self._value(value, self.logits.dtype)
        k = self._event_shape[0]
        log_value = value.log()
        log_scale = float(np.log(np.prod(np.arange(1, k, dtype=np.float64)))) + self.temperature.log() * (k - 1)
        score = self.logits - log_value * self.temperature
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + log_scale - log_value.sum(-1)
