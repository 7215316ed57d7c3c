"""The functions a generated kernel calls per element (rules.py names them), and the blas gemm.

sigmoid and tanh come from kernels/vecmath.py (plain arithmetic, so the loops vectorize); exp and
log are libm's, as numpy's. relu keeps NaN as torch.relu and np.maximum do; select is `x if cond else y`.
"""
import numba
import numpy as np

from ..kernels.blas import gemm  # noqa: F401  (re-exported for generated code)
from ..kernels.vecmath import sigmoid, tanh  # noqa: F401


@numba.njit(inline="always")
def relu(a):
    return a if not a < 0 else a * 0  # a*0 keeps the dtype and gives -0.0/0.0 like np.maximum for 0


@numba.njit(inline="always")
def select(cond, x, y):
    return x if cond else y


@numba.njit(inline="always")
def exp(a):
    return np.exp(a)


@numba.njit(inline="always")
def log(a):
    return np.log(a)


@numba.njit(cache=True)
def copy_row(dst, src):
    """dst[:] = src for 1-D arrays, as a loop: Numba's slice assignment compiles a shape-mismatch error
    path that cost seconds of every kernel's first compile."""
    for j in range(dst.shape[0]):
        dst[j] = src[j]


@numba.njit(cache=True)
def fill_zero(a):
    """a[...] = 0 for a 2-D array, as a loop (see copy_row)."""
    zero = a.dtype.type(0)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[i, j] = zero
