"""erf over an array, for primitives.Erf: numpy has no erf, and scipy is not a dependency.

Each element is math.erf, which Numba compiles to libm's erf, evaluated in float64: a float32 argument is exact
there and its result is rounded once to float32. torch's own erf (a vectorized polynomial) differs from libm's by
at most one unit in the last place, in both dtypes (tests/engine/test_torch_parity_audit22.py holds it to that).
"""
import math

import numpy as np

from . import njit


@njit(nogil=True)
def _erf_into(a, out):
    """out[i] = erf(a[i]) for 1-D arrays of one length (out may be float32: the float64 value is rounded)."""
    for i in range(a.shape[0]):
        out[i] = math.erf(np.float64(a[i]))


def erf(a):
    """erf of each element of the float32 or float64 array a, in a new array of a's dtype and shape."""
    flat = np.ascontiguousarray(a).reshape(-1)
    out = np.empty(flat.shape, a.dtype)
    _erf_into(flat, out)
    return out.reshape(a.shape)
