"""Probability distributions, as torch.distributions (torch 2.13): Categorical, Bernoulli and Normal, the three a
recurrent model samples from (the next character of a language model, a binary event per step, a real-valued
output or a policy's action).

    dist = tr.distributions.Categorical(logits=model(x)[-1])    # (B, V) logits
    next_ids = dist.sample()                                    # (B,) int64, from the library's generator
    loss = -dist.log_prob(targets).mean()                       # differentiable in the logits

Parameters and results are Tensors on the tape: log_prob, entropy, mean and Normal.rsample (loc + scale * noise,
reparameterised) pass gradients to the parameters; sample() does not (as torch's). The numbers drawn are
numpy's, from the library's generator (tr.manual_seed), not torch's. Arguments are checked as torch's
validate_args=True checks them (its default): a parameter or value outside its constraint is a ValueError in
torch's words.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from . import random
from .tape import no_grad
from .tensor import Tensor, get_default_dtype, multinomial

__all__ = ["Distribution", "Categorical", "Bernoulli", "Normal"]


def _as_tensor(name, value, dtype=None):
    """A parameter as a float Tensor (a Python number in the default dtype, or `dtype` when another parameter
    is a Tensor: torch's broadcast_all)."""
    if isinstance(value, Tensor):
        if value.dtype.kind != "f":
            raise TypeError(f"{name} must be a float Tensor, got dtype {value.dtype}")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a Tensor or a number, got {type(value).__name__}")
    return Tensor(np.array(value, dtype=dtype or get_default_dtype()))


def _sample_shape(sample_shape):
    if isinstance(sample_shape, (bool, np.bool_)) or not isinstance(sample_shape, (tuple, list)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in sample_shape):
        raise TypeError(f"sample_shape must be a tuple of ints, got {sample_shape!r}")
    return tuple(int(n) for n in sample_shape)


class Distribution:
    """What every distribution has, as torch's: batch_shape, event_shape, sample(), log_prob(), entropy(),
    and the argument checks of validate_args (True unless given False)."""

    batch_shape: tuple[int, ...] = ()
    event_shape: tuple[int, ...] = ()

    def __init__(self, batch_shape: tuple[int, ...], validate_args: bool | None) -> None:
        self.batch_shape, self._validate_args = tuple(batch_shape), validate_args is not False

    def _given_one_of(self, probs, logits, validate_args):
        """Categorical's and Bernoulli's parametrisation: probs or logits, exactly one (torch's ValueError)."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self._repr_names = ("probs",) if probs is not None else ("logits",)
        self._validate_args = validate_args is not False

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        with no_grad():
            return self._draw(_sample_shape(sample_shape))

    def _extended_shape(self, sample_shape):
        return tuple(sample_shape) + self.batch_shape + self.event_shape

    def _check(self, name, value, ok, constraint):
        """Refuse a parameter or value outside its constraint, in torch's words."""
        if self._validate_args and not np.all(ok):
            what = f"parameter {name}" if name != "value" else "value argument"
            found = "to satisfy the constraint" if name != "value" else "to be within the support"
            raise ValueError(f"Expected {what} (Tensor of shape {tuple(np.shape(value))}) of distribution {self!r} "
                             f"{found} {constraint}, but found invalid values:\n{np.asarray(value)}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}: {self._shown(getattr(self, n))}" for n in self._repr_names)
        return f"{type(self).__name__}({shown})"

    @staticmethod
    def _shown(t):
        return t.item() if t._data.size == 1 else tuple(t.shape)


class Categorical(Distribution):
    """Categorical(probs=None, logits=None, validate_args=None): one of K categories (the last dim), per batch
    entry; probs are normalised to sum to 1, logits to log-probabilities (logits - logsumexp)."""

    def __init__(self, probs: Tensor | None = None, logits: Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        self._given_one_of(probs, logits, validate_args)
        if probs is not None:
            probs = _as_tensor("probs", probs)
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._check("probs", self.probs._data, (self.probs._data >= 0) &
                        np.isclose(self.probs._data.sum(-1, keepdims=True), 1, atol=1e-6), "Simplex()")
            eps = np.finfo(self.probs.dtype).eps
            self.logits = self.probs.clamp(eps, 1 - eps).log()
        else:
            logits = _as_tensor("logits", logits)
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self._check("logits", self.logits._data, ~np.isnan(self.logits._data), "IndependentConstraint(Real(), 1)")
            self.probs = self.logits.softmax(-1)
        self.num_categories = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1], validate_args)

    def _draw(self, sample_shape):
        flat = self.probs.reshape(-1, self.num_categories)
        count = int(np.prod(sample_shape, dtype=np.int64))
        drawn = multinomial(flat, count, True).T if count else Tensor._make(np.zeros((0, flat.shape[0]), np.int64),
                                                                             False)
        return drawn.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        """log P(value): value int categories, broadcast against the batch."""
        values = np.asarray(value._data if isinstance(value, Tensor) else value)
        self._check("value", values, (values == np.round(values)) & (values >= 0) & (values < self.num_categories),
                    f"(IntegerInterval(lower_bound=0, upper_bound={self.num_categories - 1}))")
        index = values.astype(np.int64)[..., None]
        shape = np.broadcast_shapes(index.shape, self.logits.shape)
        logits = self.logits.expand(*shape)
        return logits.gather(-1, Tensor._make(np.broadcast_to(index, shape[:-1] + (1,)).copy(), False)).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    @property
    def mean(self) -> Tensor:
        return Tensor(np.full(self.batch_shape, np.nan, self.probs.dtype))

    variance = mean

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self.probs.shape


class Bernoulli(Distribution):
    """Bernoulli(probs=None, logits=None, validate_args=None): 1 with probability probs (= sigmoid(logits))."""

    def __init__(self, probs: Tensor | float | None = None, logits: Tensor | float | None = None,
                 validate_args: bool | None = None) -> None:
        self._given_one_of(probs, logits, validate_args)
        if probs is not None:
            self.probs = _as_tensor("probs", probs)
            self._check("probs", self.probs._data, (self.probs._data >= 0) & (self.probs._data <= 1),
                        "Interval(lower_bound=0.0, upper_bound=1.0)")
            eps = float(np.finfo(self.probs.dtype).eps)
            clamped = self.probs.clamp(eps, 1 - eps)
            self.logits = clamped.log() - (-clamped).log1p()
        else:
            self.logits = _as_tensor("logits", logits)
            self._check("logits", self.logits._data, ~np.isnan(self.logits._data), "Real()")
            self.probs = self.logits.sigmoid()
        super().__init__(self.probs.shape, validate_args)

    def _draw(self, sample_shape):
        shape = self._extended_shape(sample_shape)
        p = np.broadcast_to(self.probs._data, shape)
        return Tensor._make(random.bernoulli("Bernoulli.sample", shape, self.probs.dtype, p), False)

    def log_prob(self, value: Tensor) -> Tensor:
        values = value if isinstance(value, Tensor) else Tensor(np.asarray(value, self.logits.dtype))
        self._check("value", values._data, (values._data == 0) | (values._data == 1), "(Boolean())")
        return -_bce_with_logits(self.logits, values)

    def entropy(self) -> Tensor:
        return _bce_with_logits(self.logits, self.probs)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)


def _bce_with_logits(logits, target):
    """Elementwise binary cross-entropy of target under sigmoid(logits), broadcast (torch's reduction='none'),
    in the stable form max(x, 0) - x t + log(1 + exp(-|x|))."""
    return logits.clamp(min=0) - logits * target + (-logits.abs()).exp().log1p()


class Normal(Distribution):
    """Normal(loc, scale, validate_args=None): N(loc, scale^2), loc and scale Tensors or numbers broadcast
    together."""

    _repr_names = ("loc", "scale")

    def __init__(self, loc: Tensor | float, scale: Tensor | float, validate_args: bool | None = None) -> None:
        self._validate_args = validate_args is not False
        dtype = next((t.dtype for t in (loc, scale) if isinstance(t, Tensor)), None)
        loc, scale = _as_tensor("loc", loc, dtype), _as_tensor("scale", scale, dtype)
        shape = np.broadcast_shapes(loc.shape, scale.shape)
        self.loc, self.scale = (t if t.shape == shape else t.expand(*shape) for t in (loc, scale))
        self._check("loc", self.loc._data, ~np.isnan(self.loc._data), "Real()")
        self._check("scale", self.scale._data, self.scale._data > 0, "GreaterThan(lower_bound=0.0)")
        super().__init__(shape, validate_args)

    def _draw(self, sample_shape):
        return self.rsample(sample_shape)

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """loc + scale * noise: differentiable in loc and scale (the reparameterisation trick)."""
        shape = self._extended_shape(_sample_shape(sample_shape))
        noise = random.normal("Normal.rsample", shape, self.loc.dtype, 0.0, 1.0)
        return self.loc + Tensor._make(noise, False) * self.scale

    def log_prob(self, value: Tensor | float) -> Tensor:
        values = value if isinstance(value, Tensor) else Tensor(np.asarray(value, self.loc.dtype))
        self._check("value", values._data, ~np.isnan(values._data), "(Real())")
        return -((values - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value: Tensor | float) -> Tensor:
        values = value if isinstance(value, Tensor) else Tensor(np.asarray(value, self.loc.dtype))
        return 0.5 * (1 + ((values - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2

