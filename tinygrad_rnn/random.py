"""The library's random generator: parameter initialisation and dropout draw from it, so
`tr.manual_seed(s)` makes a run reproducible."""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator():
    return _generator
