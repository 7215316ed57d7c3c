"""The library's random generator: parameter initialisation, dropout and the random tensors draw from it, so
`tr.manual_seed(s)` makes a run reproducible; and the draws those make, their arguments checked as torch's."""
from __future__ import annotations

import copy
import numbers
from typing import Any

import numpy as np

from .tensor_args import ArgumentValueError

__all__ = ["manual_seed", "generator", "Generator", "initial_seed", "seed", "get_rng_state", "set_rng_state"]


def _fresh_seed():
    """A random 64-bit seed from the operating system's entropy (what seeds the generator at import)."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])


_initial_seed = _fresh_seed()
_generator = np.random.default_rng(_initial_seed)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the library's generator, as torch.manual_seed takes a seed: anything int() reads (a numeric
    string, a float, a bool), a negative one wrapped to 64 bits; the numbers drawn are numpy's, not torch's."""
    global _generator, _initial_seed
    _initial_seed = _seed_value("manual_seed", seed)
    _generator = np.random.default_rng(_initial_seed)
    return _generator


class SeedTypeError(TypeError, RuntimeError):
    """A seed int() cannot read: a TypeError, and the RuntimeError torch's Generator.manual_seed raises."""


def _seed_value(fn, seed):
    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise SeedTypeError(f"{fn}: seed must be an int, got {type(seed).__name__} {seed!r}") from None
    if not -2 ** 63 <= value < 2 ** 64:
        raise ValueError(f"{fn}: seed must fit in 64 bits, got {value}")
    return value % 2 ** 64


def initial_seed() -> int:
    """The seed the library's generator was last seeded with (tr.manual_seed, tr.seed, or one drawn at import),
    as torch.initial_seed."""
    return _initial_seed


def seed() -> int:
    """Seed the library's generator with a fresh random 64-bit seed and return it, as torch.seed."""
    value = _fresh_seed()
    manual_seed(value)
    return value


def get_rng_state() -> dict:
    """A copy of the library's generator's state, for set_rng_state (torch returns a uint8 tensor: here it is
    numpy's state dict; the round trip is torch's)."""
    return copy.deepcopy(_generator.bit_generator.state)


def set_rng_state(new_state: dict) -> None:
    """Put back a state get_rng_state returned: the draws after it repeat."""
    _generator.bit_generator.state = _checked_state("set_rng_state", new_state, _generator)


def _checked_state(fn, state, rng):
    if not isinstance(state, dict) or state.get("bit_generator") != rng.bit_generator.state["bit_generator"]:
        raise TypeError(f"{fn}: expected a state that get_rng_state() / get_state() returned, got "
                        f"{type(state).__name__}")
    return copy.deepcopy(state)


class Generator:
    """torch.Generator(device="cpu"): a generator of its own to pass as generator= (tr.randn, tr.randperm,
    random_split, the samplers, nn.init...): `tr.Generator().manual_seed(42)` as in torch. It holds a numpy
    Generator (numpy's numbers, not torch's); a numpy Generator is taken wherever this is."""

    def __init__(self, device: Any = "cpu") -> None:
        if str(device) not in ("cpu", "cpu:0"):
            raise ValueError(f"Generator: device must be 'cpu' (tinygrad_rnn runs on the CPU only), got {device!r}")
        self.device = "cpu"
        self._initial_seed = _fresh_seed()
        self._rng = np.random.default_rng(self._initial_seed)

    def manual_seed(self, seed: int) -> Generator:
        """Seed it (as torch.manual_seed reads a seed) and return it."""
        self._initial_seed = _seed_value("Generator.manual_seed", seed)
        self._rng = np.random.default_rng(self._initial_seed)
        return self

    def seed(self) -> int:
        """Seed it with a fresh random seed and return the seed."""
        return self.manual_seed(_fresh_seed())._initial_seed

    def initial_seed(self) -> int:
        return self._initial_seed

    def get_state(self) -> dict:
        """A copy of its state (numpy's dict; torch's is a uint8 tensor), for set_state."""
        return copy.deepcopy(self._rng.bit_generator.state)

    def set_state(self, new_state: dict) -> Generator:
        self._rng.bit_generator.state = _checked_state("Generator.set_state", new_state, self._rng)
        return self

    def __repr__(self) -> str:
        return f"tr.Generator(initial_seed={self._initial_seed})"


def generator() -> np.random.Generator:
    return _generator


def resolve(fn: str, generator: np.random.Generator | Generator | None) -> np.random.Generator:
    """torch's generator= argument: a tr.Generator (torch.Generator's stand-in), a numpy Generator
    (np.random.default_rng(seed)), or None for the library's (tr.manual_seed), read when called, so a later
    manual_seed is seen. fn names the caller in the error."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator._rng
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{fn}: generator must be a tr.Generator, a numpy Generator (np.random.default_rng(seed)) or "
                        f"None, got {type(generator).__name__}")
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


def cauchy(fn, shape, dtype, median, sigma, generator=None):
    """Cauchy with this median and scale sigma > 0, as torch's cauchy_."""
    median, sigma = _real(fn, "median", median), _real(fn, "sigma", sigma)
    if not sigma > 0:
        raise ArgumentValueError(f"{fn}: cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    values = resolve(fn, generator).standard_cauchy(shape)   # (numpy draws it in float64 only)
    return (values * sigma + median).astype(dtype)


def log_normal(fn, shape, dtype, mean, std, generator=None):
    """exp of N(mean, std^2), std > 0, as torch's log_normal_."""
    mean, std = _real(fn, "mean", mean), _real(fn, "std", std)
    if not std > 0:
        raise ArgumentValueError(f"{fn}: log_normal_ expects std > 0.0, but found std={std:g}")
    return resolve(fn, generator).lognormal(mean, std, shape).astype(dtype)


def geometric(fn, shape, dtype, p, generator=None):
    """The number of Bernoulli(p) trials up to the first success (1, 2, ...), 0 < p < 1, as torch's geometric_."""
    p = _real(fn, "p", p)
    if not 0 < p < 1:
        raise ArgumentValueError(f"{fn}: geometric_ expects p to be in (0, 1), but got p={p:g}")
    return resolve(fn, generator).geometric(p, shape).astype(dtype)


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
