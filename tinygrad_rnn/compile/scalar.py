"""The functions a generated kernel calls per element (rules.py names them), and the blas gemm.

sigmoid and tanh come from kernels/vecmath.py (plain arithmetic, so the loops vectorize); exp and
log are libm's, as numpy's. relu keeps NaN as torch.relu and np.maximum do; select is `x if cond else y`.
"""
import numba
import numpy as np

from ..kernels import njit
from ..kernels.blas import gemm, gemm_nn, gemm_nt, gemm_tn  # noqa: F401  (re-exported for generated code)
from ..kernels.vecmath import sigmoid, tanh  # noqa: F401


@numba.njit(inline="always")
def relu(a):
    return a if not a < 0 else a * 0  # a*0 keeps the dtype and gives -0.0/0.0 like np.maximum for 0


@numba.njit(inline="always")
def maximum(a, b):
    """np.maximum: NaN when either is NaN (a plain comparison would drop it)."""
    if a != a:
        return a
    return a if a >= b else b


@numba.njit(inline="always")
def isnan(a):
    return a != a


@numba.njit(inline="always")
def select(cond, x, y):
    return x if cond else y


@numba.njit(inline="always")
def power(a, p, one):
    """a ** p for a constant p, as the tape's Pow computes it (primitives._torch_pow, torch's choice):
    sqrt(a) for p = 0.5 and one / sqrt(a) for p = -0.5, which differ from pow only in the sign at -0.0."""
    if p == 0.5:
        return np.sqrt(a)
    if p == -0.5:
        return one / np.sqrt(a)
    return a ** p


sqrt = np.sqrt   # the ufunc itself: Numba types it directly (rules.pow_rule's one / sqrt(a))


@numba.njit(inline="always")
def exp(a):
    return np.exp(a)


@numba.njit(inline="always")
def log(a):
    return np.log(a)


@njit()   # numba.njit(cache=True) with the package's checked cache
def copy_row(dst, src):
    """dst[:] = src for 1-D arrays, as a loop: Numba's slice assignment compiles a shape-mismatch error
    path that cost seconds of every kernel's first compile."""
    for j in range(dst.shape[0]):
        dst[j] = src[j]


@njit()
def zero_rows(a, b0, b1):
    """a[b0:b1] = 0 for a 2-D array, as a loop (see copy_row); the rows are passed as numbers, not as a
    slice: a view costs the generated kernel's compile more than the call."""
    zero = a.dtype.type(0)
    for i in range(b0, b1):
        for j in range(a.shape[1]):
            a[i, j] = zero


@njit()
def zero_flat(a):
    """a[:] = 0 for a 1-D array, as a loop (see copy_row): grads' accumulators when they come uninitialised."""
    zero = a.dtype.type(0)
    for j in range(a.shape[0]):
        a[j] = zero


@njit()
def zeros2(rows, cols, like):
    """np.zeros((rows, cols), like.dtype), compiled once with the package: a generated kernel that called
    np.zeros (np.zeros_like, np.empty) itself would compile Numba's implementations of them in every new
    process. Callers pass cols as np.int64(c): Numba compiles a function again for each literal value
    it is called with."""
    return np.zeros((rows, cols), like.dtype)


@njit()
def zeros1(n, like):
    """np.zeros(n, like.dtype), compiled once with the package (see zeros2; pass n as np.int64(n))."""
    return np.zeros(n, like.dtype)


# --- what the generated work outside the loop calls (outside.py). Compiled once per dtype and layout and
# cached with the package (the column sums are loops in the generated code: outside._emit_pass). None
# takes an offset or a width: outside.py passes slices (a[64:128]), since Numba compiles a function once
# per literal value it is called with (add(x, 64) and add(x, 128) would be two compiles in every kernel).
@njit()
def time_rows(arr, a, b):
    """Rows of time steps [a, b) of a C-contiguous (T, B, n) array as a 2-D ((b - a) * B, n) view."""
    batch = arr.shape[1]
    return arr.reshape(arr.shape[0] * batch, arr.shape[2])[a * batch:b * batch]


@njit()
def zeros_row(a2):
    """A new zero vector as wide as the 2-D a2 (its dtype): a compiled call, so that a generated kernel does
    not compile Numba's np.zeros in every new process."""
    return np.zeros(a2.shape[1], a2.dtype)


@njit()
def add_to(dst, src):
    """dst += src (1-D, equal lengths)."""
    for j in range(dst.shape[0]):
        dst[j] += src[j]


@njit()
def add_row(a2, row):
    """Every row of the 2-D a2 += row (a bias)."""
    for r in range(a2.shape[0]):
        ar = a2[r]
        for j in range(row.shape[0]):
            ar[j] += row[j]


@njit()
def add_rows(a2, out):
    """out += the sum of the rows of the 2-D a2."""
    for r in range(a2.shape[0]):
        ar = a2[r]
        for j in range(out.shape[0]):
            out[j] += ar[j]


@njit()
def add_slots(dsts, slots, src, row):
    """dsts[k][row, off + j] += src[0, slot + j] for j < width, (off, slot, width) = slots[k]: the vector
    parameters' per-row gradients gathered in the row src, added back by one call rather than one add_to
    per run of columns (each was a slice pair and an inlined loop for Numba and LLVM: five of them were a
    tenth of a layer-norm LSTM's backward compile). dsts: a tuple of 2-D arrays of one type."""
    for k in range(slots.shape[0]):
        dst = dsts[k]
        off, slot = slots[k, 0], slots[k, 1]
        for j in range(slots[k, 2]):
            dst[row, off + j] += src[0, slot + j]
