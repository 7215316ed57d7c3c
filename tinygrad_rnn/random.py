"""The library's random generator: parameter initialisation, dropout and the random tensors draw from it, so
`tr.manual_seed(s)` makes a run reproducible; and the draws those make, their arguments checked as torch's."""
from __future__ import annotations

import numbers

import numpy as np

from .tensor_args import ArgumentValueError

__all__ = ["manual_seed", "generator"]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the library's generator, as torch.manual_seed takes a seed: anything int() reads (a numeric
    string, a float, a bool), a negative one wrapped to 64 bits; the numbers drawn are numpy's, not torch's."""
    global _generator
    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__} {seed!r}") from None
    if not -2 ** 63 <= value < 2 ** 64:
        raise ValueError(f"manual_seed: seed must fit in 64 bits, got {value}")
    _generator = np.random.default_rng(value % 2 ** 64)
    return _generator


def generator() -> np.random.Generator:
    return _generator


def resolve(fn: str, generator: np.random.Generator | None) -> np.random.Generator:
    """torch's generator= argument: a numpy Generator (np.random.default_rng(seed)), or None for the library's
    (tr.manual_seed), read when called, so a later manual_seed is seen. fn names the caller in the error."""
    if generator is None:
        return _generator
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{fn}: generator must be a numpy Generator (np.random.default_rng(seed)) or None, got "
                        f"{type(generator).__name__}")
    return generator


# -- the draws torch's random functions make (tr.randint, tr.normal, x.uniform_(), ...), their arguments checked in
# torch's words. Each returns a new array of `shape` in `dtype`, drawn in that dtype where numpy can (float32 draws
# are float32 numbers, not rounded float64 ones); creation.py and inplace.py make tensors of them.

def _real(fn, name, value):
    """A number argument (an array: the Tensor forms of tr.normal and bernoulli_ pass one)."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def normal(fn, shape, dtype, mean, std, generator=None):
    """N(mean, std^2): mean and std numbers or arrays broadcasting to shape (torch refuses a negative std)."""
    mean, std = _real(fn, "mean", mean), _real(fn, "std", std)
    if not np.all(np.asarray(std) >= 0):
        found = "all elements of std >= 0.0" if isinstance(std, np.ndarray) else f"std >= 0.0, but found std {std:g}"
        raise ArgumentValueError(f"{fn}: normal expects {found}")
    values = resolve(fn, generator).standard_normal(shape, dtype=dtype)
    return (values * np.asarray(std, dtype) + np.asarray(mean, dtype)).astype(dtype, copy=False)


def uniform(fn, shape, dtype, low, high, generator=None):
    """U[low, high) (torch's from and to; from > to refused, as torch)."""
    low, high = _real(fn, "from", low), _real(fn, "to", high)
    if not low <= high:
        raise ArgumentValueError(f"{fn}: uniform_ expects to return a [from, to) range, but found from={low:g} > "
                                 f"to={high:g}")
    values = resolve(fn, generator).random(shape, dtype=dtype)
    return values * dtype.type(high - low) + dtype.type(low)


def bernoulli(fn, shape, dtype, p, generator=None):
    """1 with probability p, else 0, in dtype (floats, int64 or bool): p a number or an array of probabilities."""
    p = _real(fn, "p", p)
    if not np.all((np.asarray(p) >= 0) & (np.asarray(p) <= 1)):
        found = "Expected p_in >= 0 && p_in <= 1 to be true, but got false" if isinstance(p, np.ndarray) else \
            f"bernoulli_ expects p to be in [0, 1], but got p={p:g}"
        raise ArgumentValueError(f"{fn}: {found}")
    return (resolve(fn, generator).random(shape) < p).astype(dtype)


def exponential(fn, shape, dtype, lambd, generator=None):
    """Exponential with rate lambd > 0 (mean 1 / lambd), as torch's exponential_."""
    lambd = _real(fn, "lambd", lambd)
    if not lambd > 0:
        raise ArgumentValueError(f"{fn}: exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    return resolve(fn, generator).standard_exponential(shape, dtype=dtype) / dtype.type(lambd)


def integers(fn, shape, dtype, low, high, generator=None):
    """Integers in [low, high), as torch's randint, in dtype (int64, a float dtype, or bool for [0, 2))."""
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{fn}: {name} must be an int, got {type(value).__name__} {value!r}")
    if not low < high:
        raise ArgumentValueError(f"{fn}: random_ expects 'from' to be less than 'to', but got from={low} >= "
                                 f"to={high}")
    if dtype == np.bool_ and not 0 <= low < high <= 2:
        raise ArgumentValueError(f"{fn}: [{low}, {high}) is out of bounds for bool (as torch): draw in [0, 2)")
    return resolve(fn, generator).integers(low, high, size=shape, dtype=np.int64).astype(dtype, copy=False)
