"""The discrete distributions, as torch's (torch 2.13): Categorical, OneHotCategorical (and its straight-through
form), Bernoulli, Geometric, Binomial, Poisson, NegativeBinomial and Multinomial. Each takes probs or logits
(exactly one; the other is computed when first read, as torch's lazy_property, and only the given one is validated),
except Poisson (rate). Samples are numpy's draws from the library's generator, without gradients (none of these is
reparameterised, as in torch, but for the straight-through estimator)."""
from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from .. import random
from ..nn import functional as F
from ..tensor import Tensor, multinomial, where
from . import constraints
from .distribution import Distribution, as_param, broadcast_params, constant, sample_shape_of
from .exp_family import ExponentialFamily

__all__ = ["Categorical", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Bernoulli", "Geometric", "Binomial",
           "Poisson", "NegativeBinomial", "Multinomial"]


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _clamped(probs):
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(eps, 1 - eps)


def _binary_logits(probs):
    clamped = _clamped(probs)
    return clamped.log() - (-clamped).log1p()


def _softplus(x):
    return x.clamp(min=0) + (-x.abs()).exp().log1p()


def _bce_with_logits(logits, target):
    """Elementwise binary cross-entropy of target under sigmoid(logits), torch's stable form."""
    return logits.clamp(min=0) - logits * target + (-logits.abs()).exp().log1p()


def _enumerated(values: np.ndarray, batch_shape, event_shape, expand: bool) -> Tensor:
    """values (n,) + event_shape along dim 0, then 1s (expand=False) or the batch shape: torch's enumerate_support."""
    n = values.shape[0]
    values = values.reshape((n,) + (1,) * len(batch_shape) + tuple(event_shape))
    return constant(np.broadcast_to(values, (n,) + tuple(batch_shape) + tuple(event_shape)) if expand else values)


class _ProbsOrLogits(Distribution):
    """probs and logits: the given one is an attribute; the other computed when first read."""

    @cached_property
    def probs(self) -> Tensor:
        return self.logits.sigmoid()

    @cached_property
    def logits(self) -> Tensor:
        return _binary_logits(self.probs)

    @property
    def param_shape(self) -> tuple[int, ...]:
        return tuple(self.__dict__["probs" if "probs" in self.__dict__ else "logits"].shape)

    def _take_probs_or_logits(self, probs, logits) -> Tensor:
        """Elementwise probs or logits (a number or a Tensor; exactly one given) set as that attribute; returned."""
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_params(probs=probs)
            return self.probs
        (self.logits,) = broadcast_params(logits=logits)
        return self.logits


class Categorical(_ProbsOrLogits):
    """Categorical(probs=None, logits=None, validate_args=None): one of K categories (the last dim), per batch
    entry; probs are normalised to sum to 1, logits to log-probabilities (logits - logsumexp)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        name, given = ("probs", probs) if probs is not None else ("logits", logits)
        given = as_param(name, given)
        if given.ndim < 1:
            raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
        if name == "probs":
            self.probs = given / given.sum(-1, keepdim=True)
        else:
            self.logits = given - given.logsumexp(-1, keepdim=True)
        self._num_events = given.shape[-1]
        super().__init__(given.shape[:-1], (), validate_args)

    @cached_property
    def probs(self) -> Tensor:
        return self.logits.softmax(-1)

    @cached_property
    def logits(self) -> Tensor:
        return _clamped(self.probs).log()

    @property
    def num_categories(self) -> int:
        return self._num_events

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    def _draw(self, sample_shape):
        flat = self.probs.reshape(-1, self._num_events)
        count = int(np.prod(sample_shape, dtype=np.int64))
        drawn = multinomial(flat, count, True).T if count else constant(np.zeros((0, flat.shape[0]), np.int64))
        return drawn.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value) -> Tensor:
        """log P(value): value int categories, broadcast against the batch."""
        value = self._value(value)
        index = np.asarray(value._data).astype(np.int64)[..., None]
        shape = np.broadcast_shapes(index.shape, self.logits.shape)
        logits = self.logits.expand(tuple(shape))
        return logits.gather(-1, constant(np.broadcast_to(index, shape[:-1] + (1,)))).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        return _enumerated(np.arange(self._num_events, dtype=np.int64), self._batch_shape, (), expand)

    mean = property(lambda self: self.probs[..., 0] * np.nan)
    mode = property(lambda self: self.probs.argmax(-1))
    variance = property(lambda self: self.probs[..., 0] * np.nan)


class OneHotCategorical(Distribution):
    """OneHotCategorical(probs=None, logits=None, validate_args=None): a Categorical's draw as a one-hot vector
    (event_shape (K,)) in the parameters' dtype."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)
    param_shape = property(lambda self: self._categorical.param_shape)

    def _draw(self, sample_shape):
        indices = self._categorical._draw(sample_shape)._data
        return constant(np.eye(self._event_shape[0], dtype=self.probs.dtype)[indices])

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.probs.dtype)
        return self._categorical.log_prob(constant(np.asarray(value._data).argmax(-1)))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self._event_shape[0]
        return _enumerated(np.eye(n, dtype=self.probs.dtype), self._batch_shape, (n,), expand)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    mean = property(lambda self: self.probs)
    variance = property(lambda self: self.probs * (1 - self.probs))

    @property
    def mode(self) -> Tensor:
        return constant(np.eye(self._event_shape[0], dtype=self.probs.dtype)[self.probs._data.argmax(-1)])


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """OneHotCategorical whose rsample is the one-hot draw plus probs - probs.detach(): its value the draw, its
    gradient that of probs (the straight-through estimator, Bengio et al. 2013)."""

    has_rsample = True

    def rsample(self, sample_shape=()) -> Tensor:
        samples = self._draw(sample_shape_of(sample_shape))
        probs = self._categorical.probs
        return samples + (probs - probs.detach())

    def sample(self, sample_shape=()) -> Tensor:
        return self._draw(sample_shape_of(sample_shape))


class Multinomial(Distribution):
    """Multinomial(total_count=1, probs=None, logits=None, validate_args=None): the counts of each of K categories
    in total_count draws (event_shape (K,)), in the parameters' dtype; total_count an int (torch's
    NotImplementedError otherwise)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = Binomial(self.total_count, probs=new._categorical.probs, validate_args=False)
        return new

    support = property(lambda self: constraints.multinomial(self.total_count))
    logits = property(lambda self: self._categorical.logits)
    probs = property(lambda self: self._categorical.probs)
    param_shape = property(lambda self: self._categorical.param_shape)
    mean = property(lambda self: self.probs * self.total_count)
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))

    def _draw(self, sample_shape):
        k = self._event_shape[0]
        drawn = self._categorical._draw((self.total_count,) + tuple(sample_shape))._data
        counts = (drawn[..., None] == np.arange(k)).sum(0)
        return constant(counts.astype(self.probs.dtype).reshape(self._extended_shape(sample_shape)))

    def entropy(self) -> Tensor:
        n = self.total_count
        # torch takes lgamma of an int64 tensor, so in float32: the same rounding here
        term1 = n * self._categorical.entropy() - float(np.float32(math.lgamma(n + 1)))
        support = constant(np.arange(1, n + 1, dtype=self.probs.dtype).reshape(
            (-1,) + (1,) * len(self._binomial.batch_shape)))
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = (support + 1).lgamma()
        return term1 + (binomial_probs * weights).sum((0, -1))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.probs.dtype)
        shape = tuple(np.broadcast_shapes(self.logits.shape, value.shape))
        logits, value = self.logits.expand(shape), value.expand(shape)
        logits = where((value == 0) & (logits == -math.inf), 0.0, logits)
        log_factorial_n = (value.sum(-1) + 1).lgamma()
        log_factorial_xs = (value + 1).lgamma().sum(-1)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)


class Bernoulli(_ProbsOrLogits, ExponentialFamily):
    """Bernoulli(probs=None, logits=None, validate_args=None): 1 with probability probs (= sigmoid(logits))."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        given = self._take_probs_or_logits(probs, logits)
        super().__init__(given.shape, (), validate_args)

    def _draw(self, sample_shape):
        shape = self._extended_shape(sample_shape)
        p = np.broadcast_to(self.probs._data, shape)
        return constant(random.bernoulli("Bernoulli.sample", shape, self.probs.dtype, p))

    def log_prob(self, value) -> Tensor:
        return -_bce_with_logits(self.logits, self._value(value, self.logits.dtype))

    def entropy(self) -> Tensor:
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        return _enumerated(np.arange(2, dtype=self.logits.dtype), self._batch_shape, (), expand)

    mean = property(lambda self: self.probs)
    mode = property(lambda self: where(self.probs == 0.5, np.nan, (self.probs >= 0.5).to(self.probs.dtype)))
    variance = property(lambda self: self.probs * (1 - self.probs))

    _mean_carrier_measure = 0
    _natural_params = property(lambda self: (self.probs.logit(),))   # (torch's logit of probs, unclamped)

    def _log_normalizer(self, x):
        return x.exp().log1p()


class Geometric(_ProbsOrLogits):
    """Geometric(probs=None, logits=None, validate_args=None): the number of failures before the first success
    (support 0, 1, 2, ...)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        given = self._take_probs_or_logits(probs, logits)
        super().__init__(given.shape, (), validate_args)
        if self._validate_args and probs is not None and not np.all(self.probs._data > 0):
            raise ValueError(f"Expected parameter probs (Tensor of shape {tuple(self.probs.shape)}) of distribution "
                             f"{self!r} to be positive but found invalid values:\n{self.probs._data}")

    def _draw(self, sample_shape):
        """torch's inverse-CDF draw: floor(log(u) / log1p(-p)) with u uniform on [tiny, 1)."""
        shape = self._extended_shape(sample_shape)
        dtype = self.probs.dtype
        u = random.uniform("Geometric.sample", shape, dtype, float(np.finfo(dtype).tiny), 1.0)
        with np.errstate(divide="ignore"):
            return constant(np.floor(np.log(u) / np.log1p(-self.probs._data)).astype(dtype))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.probs.dtype)
        # p = 1 at value 0: 0 * log1p(-1) is NaN, torch's answer is log(1) = 0
        probs = where((self.probs == 1) & (value == 0), 0.0, self.probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return _bce_with_logits(self.logits, self.probs) / self.probs

    mean = property(lambda self: 1.0 / self.probs - 1.0)
    mode = property(lambda self: constant(np.zeros_like(self.probs._data)))
    variance = property(lambda self: (1.0 / self.probs - 1.0) / self.probs)


class Binomial(_ProbsOrLogits):
    """Binomial(total_count=1, probs=None, logits=None, validate_args=None): successes in total_count trials."""

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        name, given = ("probs", probs) if probs is not None else ("logits", logits)
        count = total_count if isinstance(total_count, Tensor) else float(total_count)
        if isinstance(count, Tensor) and count.dtype.kind != "f":
            count = count.double() if isinstance(given, Tensor) and given.dtype == np.float64 else count.float()
        self.total_count, param = broadcast_params(total_count=count, **{name: given})
        self.total_count = self.total_count.to(param.dtype)
        setattr(self, name, param)
        super().__init__(param.shape, (), validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    def _draw(self, sample_shape):
        shape = self._extended_shape(sample_shape)
        n = np.broadcast_to(self.total_count._data, shape).astype(np.int64)
        p = np.broadcast_to(self.probs._data, shape)
        drawn = random.resolve("Binomial.sample", None).binomial(n, p)
        return constant(np.asarray(drawn, self.probs.dtype))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.logits.dtype)
        n, logits = self.total_count, self.logits
        clamp_by_zero = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        normalize = n * clamp_by_zero + n * (-logits.abs()).exp().log1p() - (n + 1).lgamma()
        return value * logits - (value + 1).lgamma() - (n - value + 1).lgamma() - normalize

    def entropy(self) -> Tensor:
        count = self.total_count._data.max() if self.total_count._data.size else 0
        if not np.all(self.total_count._data == count):
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        values = constant(np.arange(int(count) + 1, dtype=self.probs.dtype).reshape(
            (-1,) + (1,) * len(self._batch_shape)))
        log_prob = self.log_prob(values.expand(((int(count) + 1,) + self._batch_shape)))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        counts = self.total_count._data
        count = int(counts.max())
        if not counts.min() == count:
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        return _enumerated(np.arange(1 + count, dtype=counts.dtype), self._batch_shape, (), expand)

    mean = property(lambda self: self.total_count * self.probs)
    mode = property(lambda self: ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count))
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))


class Poisson(ExponentialFamily):
    """Poisson(rate, validate_args=None): counts with mean rate (rate >= 0)."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_params(rate=rate)
        super().__init__(() if not isinstance(rate, Tensor) else self.rate.shape, (), validate_args)

    def _draw(self, sample_shape):
        shape = self._extended_shape(sample_shape)
        lam = np.broadcast_to(self.rate._data, shape)
        return constant(np.asarray(random.resolve("Poisson.sample", None).poisson(lam), self.rate.dtype))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.rate.dtype)
        return value.xlogy(self.rate) - self.rate - (value + 1).lgamma()

    mean = property(lambda self: self.rate)
    mode = property(lambda self: self.rate.floor())
    variance = property(lambda self: self.rate)

    # no _mean_carrier_measure (E[-log x!] has no closed form): entropy() is torch's NotImplementedError
    _natural_params = property(lambda self: (self.rate.log(),))

    def _log_normalizer(self, x):
        return x.exp()


class NegativeBinomial(_ProbsOrLogits):
    """NegativeBinomial(total_count, probs=None, logits=None, validate_args=None): the number of successes before
    total_count failures, each trial a success with probability probs (total_count > 0 may be fractional).
    Drawn as torch's: Poisson of a Gamma(total_count, exp(-logits)) rate."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0), "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        name, given = ("probs", probs) if probs is not None else ("logits", logits)
        if isinstance(total_count, Tensor) and total_count.dtype.kind != "f":
            dtype = given.dtype if isinstance(given, Tensor) else None
            total_count = total_count.to(dtype) if dtype is not None else total_count.float()
        self.total_count, param = broadcast_params(total_count=total_count, **{name: given})
        self.total_count = self.total_count.to(param.dtype)
        setattr(self, name, param)
        super().__init__(param.shape, (), validate_args)

    def _draw(self, sample_shape):
        from .continuous import Gamma
        rate = Gamma(self.total_count, (-self.logits).exp(), validate_args=False).sample(sample_shape)
        drawn = random.resolve("NegativeBinomial.sample", None).poisson(rate._data)
        return constant(np.asarray(drawn, self.total_count.dtype))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.total_count.dtype)
        n = self.total_count
        log_unnormalized = n * F.logsigmoid(-self.logits) + value * F.logsigmoid(self.logits)
        log_normalization = -(n + value).lgamma() + (1.0 + value).lgamma() + n.lgamma()
        return log_unnormalized - where(n + value == 0.0, 0.0, log_normalization)

    mean = property(lambda self: self.total_count * self.logits.exp())
    mode = property(lambda self: ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0))
    variance = property(lambda self: self.mean / (-self.logits).sigmoid())
