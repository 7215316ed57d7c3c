"""The library's random generator: parameter initialisation and dropout draw from it, so
`tr.manual_seed(s)` makes a run reproducible."""
from __future__ import annotations

import numpy as np

__all__ = ["manual_seed", "generator"]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    return _generator
