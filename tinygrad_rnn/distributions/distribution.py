"""Distribution, the base every distribution shares, as torch.distributions.Distribution (torch 2.13): the shapes,
sample/rsample, the derived moments (stddev, perplexity), expand, and validate_args: the parameters checked
against arg_constraints when made, a value against support in log_prob/cdf, in torch's words."""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from .. import primitives as P
from .. import random
from ..size import Size
from ..tape import apply, no_grad
from ..tensor import Tensor, get_default_dtype
from . import constraints
from .utils import lazy_property


def as_param(name, value, dtype=None):
    """A parameter as a float Tensor (a Python number in the default dtype, or `dtype` when another parameter
    is a Tensor: torch's broadcast_all)."""
    if isinstance(value, Tensor):
        if value.dtype.kind != "f":
            raise TypeError(f"{name} must be a float Tensor, got dtype {value.dtype}")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a Tensor or a number, got {type(value).__name__}")
    return Tensor(np.array(value, dtype=dtype or get_default_dtype()))


def broadcast_params(**named):
    """The parameters as Tensors of one dtype (the first Tensor's, else the default) broadcast to one shape, as
    torch's broadcast_all; and whether all were numbers (a batch_shape of () then, as torch)."""
    dtype = next((t.dtype for t in named.values() if isinstance(t, Tensor)), None)
    tensors = [as_param(name, value, dtype) for name, value in named.items()]
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return [t if t.shape == shape else t.expand(tuple(shape)) for t in tensors]


def sample_shape_of(sample_shape):
    if isinstance(sample_shape, (bool, np.bool_)) or not isinstance(sample_shape, (tuple, list)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in sample_shape):
        raise TypeError(f"sample_shape must be a tuple of ints, got {sample_shape!r}")
    return tuple(int(n) for n in sample_shape)


def _size(shape):
    """A shape in torch's words (its error messages print torch.Size)."""
    return f"torch.Size({list(shape)})"


def constant(array):
    """A Tensor of a drawn array, with no gradient (noise, a sample); a 0-d array stays 0-d (np.ascontiguousarray
    would make it 1-d)."""
    array = np.asarray(array)
    return Tensor._make(array if array.flags.c_contiguous else np.ascontiguousarray(array), False)


def standard_gamma(concentration: Tensor, shape) -> Tensor:
    """Gamma(concentration, 1) draws of `shape` (concentration broadcast to it), differentiable in concentration
    through the implicit reparameterisation gradient; clamped to the dtype's tiny, as torch's."""
    dtype = concentration.dtype
    alpha = np.broadcast_to(concentration._data, shape)
    drawn = np.asarray(random.resolve("Gamma.rsample", None).standard_gamma(alpha.astype(np.float64)), dtype)
    drawn = np.maximum(drawn, np.finfo(dtype).tiny)
    return apply(P.GammaSampleGrad, concentration.expand(tuple(shape)), constant(drawn))


class Distribution:
    """What every distribution has, as torch's: batch_shape, event_shape, sample(), rsample() where
    reparameterised, log_prob(), entropy(), mean, mode, variance, stddev, expand(), and the argument checks of
    validate_args (True by default, as torch's under python without -O; set_default_validate_args changes it)."""

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict = {}
    support = None
    _validate_args = True

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape: Sequence[int] = (), event_shape: Sequence[int] = (),
                 validate_args: bool | None = None) -> None:
        self._batch_shape, self._event_shape = tuple(batch_shape), tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                lazy = isinstance(getattr(type(self), name, None), (cached_property, lazy_property))
                if constraints.is_dependent(constraint) or (name not in self.__dict__ and lazy):
                    continue   # a parameter computed from the given one (logits from probs) is not checked
                value = getattr(self, name)   # (a property too: HalfNormal's scale is its base's, Chi2's df)
                if not np.all(constraint.check(value)):
                    raise ValueError(f"Expected parameter {name} (Tensor of shape {tuple(value.shape)}) of "
                                     f"distribution {self!r} to satisfy the constraint {constraint!r}, but found "
                                     f"invalid values:\n{value._data}")

    @property
    def batch_shape(self) -> Size:
        """A tr.Size, as torch's."""
        return Size(self._batch_shape)

    @property
    def event_shape(self) -> Size:
        """A tr.Size, as torch's."""
        return Size(self._event_shape)

    def _extended_shape(self, sample_shape=()):
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Draws of shape sample_shape + batch_shape + event_shape from the library's generator (tr.manual_seed),
        with no gradient."""
        with no_grad():
            if self.has_rsample:
                return self.rsample(sample_shape)
            return self._draw(sample_shape_of(sample_shape))

    def rsample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement rsample")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def _draw(self, sample_shape):
        raise NotImplementedError

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """Every value of a discrete distribution along a new dim 0: (cardinality,) + batch_shape + event_shape
        (with expand=False the batch dims are 1s); the batch entries enumerated in lock-step, as torch's."""
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self)} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    def expand(self, batch_shape: Sequence[int], _instance=None) -> Distribution:
        """The distribution with its batch dims expanded to batch_shape (torch's expand rules; the parameters
        are expanded views, not checked again): every Tensor attribute of shape batch_shape + its own event part
        is expanded (Tensor.expand refuses a shape it cannot reach, torch's RuntimeError)."""
        batch_shape = tuple(batch_shape)
        new = type(self).__new__(type(self))
        n = len(self._batch_shape)
        for key, value in self.__dict__.items():
            if isinstance(value, Tensor) and value.shape[:n] == self._batch_shape and \
                    batch_shape + value.shape[n:] != value.shape:
                value = value.expand((batch_shape + value.shape[n:]))
            new.__dict__[key] = value
        new._batch_shape = batch_shape
        return new

    def _value(self, value, dtype=None):
        """log_prob's value, checked as torch's _validate_sample: a Tensor, broadcastable against the batch and
        event shapes, in the support; with validate_args=False a number is taken too."""
        if not self._validate_args:
            return value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype or get_default_dtype()))
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        shape, event = tuple(value.shape), self._event_shape
        if shape[len(shape) - len(event):] != event:
            raise ValueError(f"The right-most size of value must match event_shape: {_size(shape)} vs {_size(event)}.")
        expected = self._batch_shape + event
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {_size(shape)} vs "
                                 f"{_size(expected)}.")
        if not np.all(self.support.check(value)):
            raise ValueError(f"Expected value argument (Tensor of shape {shape}) to be within the support "
                             f"({self.support!r}) of the distribution {self!r}, but found invalid values:\n"
                             f"{value._data}")
        return value

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}: {self._shown(self.__dict__[name])}" for name in self.arg_constraints
                          if name in self.__dict__)
        return f"{type(self).__name__}({shown})"

    @staticmethod
    def _shown(t):
        return t.item() if t._data.size == 1 else tuple(t.shape)
