"""The library's random generator: parameter initialisation and dropout draw from it, so
`tr.manual_seed(s)` makes a run reproducible."""
from __future__ import annotations

import numpy as np

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
