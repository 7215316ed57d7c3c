"""The functions a generated kernel calls per element (rules.py names them), and the blas gemm.

sigmoid and tanh come from kernels/vecmath.py (plain arithmetic, so the loops vectorize); exp, log, sin, cos,
log1p, expm1, log2, log10, exp2 and hypot are libm's (numpy's float32 forms may differ from them in the last
place); floor, ceil and rint (halves to even) round as numpy's. relu keeps NaN as torch.relu and np.maximum do;
select is `x if cond else y`.
erf is libm's in float64, rounded to the dtype, as the tape's; fmod, floor_mod and floor_divide compute
torch's remainders and floor quotient as the tape's numpy does (not as Numba's np.remainder and floor_divide).
"""
import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ..kernels import cfunc, njit
from ..kernels.blas import gemm, gemm_nn, gemm_nt, gemm_tn, product_nn, product_nt, product_tn  # noqa: F401  (re-exported for generated code)  # noqa: F401
from ..kernels.shared import Shared
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


@numba.njit(inline="always")
def sin(a):
    return np.sin(a)


@numba.njit(inline="always")
def cos(a):
    return np.cos(a)


@numba.njit(inline="always")
def log1p(a):
    return np.log1p(a)


@numba.njit(inline="always")
def expm1(a):
    return np.expm1(a)


@numba.njit(inline="always")
def log2(a):
    return np.log2(a)


@numba.njit(inline="always")
def log10(a):
    return np.log10(a)


@numba.njit(inline="always")
def exp2(a):
    return np.exp2(a)


@numba.njit(inline="always")
def hypot(a, b):
    return np.hypot(a, b)


@numba.njit(inline="always")
def floor(a):
    return np.floor(a)


@numba.njit(inline="always")
def ceil(a):
    return np.ceil(a)


@numba.njit(inline="always")
def rint(a):
    """Halves to even (torch.round, numpy's rint)."""
    return np.rint(a)


def erf(a):
    """The error function of one float32 or float64 number as the tape's kernels/erf.py computes it: libm's erf in
    float64 (a float32 argument is exact there), rounded once to a's dtype. This is the Python form (numpy
    scalars, NUMBA_DISABLE_JIT=1); in a kernel Numba compiles the overload below instead."""
    return type(a)(math.erf(a))


@overload(erf)
def _erf_in_a_kernel(a):
    """erf for Numba, chosen by a's type: Numba's own math.erf of a float32 is libm's erff, whose rounding is
    not the tape's, so a float32 goes through float64 as in kernels/erf.py."""
    if a == types.float32:
        return lambda a: np.float32(math.erf(np.float64(a)))
    if a == types.float64:
        return lambda a: math.erf(a)
    return None


@numba.njit(inline="always")
def fmod(a, b):
    """C's fmod (the dividend's sign; exact), as np.fmod and primitives.Fmod; a float by 0 is NaN."""
    return np.fmod(a, b)


@numba.njit(inline="always")
def trunc(a):
    return np.trunc(a)


@numba.njit(inline="always")
def floor_mod(a, b):
    """a % b with b's sign, as primitives._torch_floor_mod (torch's remainder): fmod, then b added where the signs
    differ. A zero keeps a's sign (-0.0 % 2 is -0.0), where np.remainder (and Numba's) adds 0.0 and gives 0.0."""
    mod = np.fmod(a, b)
    return mod + b if mod != 0 and (b < 0) != (mod < 0) else mod


@numba.njit(inline="always")
def floor_divide(a, b, one, half):
    """a // b as numpy's floor_divide (and torch's) computes it: from the exact remainder fmod(a, b), then the
    quotient snapped to an integer; not floor(a / b), Numba's np.floor_divide, which rounds 1 / 0.1 up to 10
    (1 // 0.1 is 9). A float by 0 is a / b; a zero quotient has the sign of a / b. one, half: in a's dtype."""
    if b == 0:
        return a / b
    mod = np.fmod(a, b)
    div = (a - mod) / b
    if mod != 0 and (b < 0) != (mod < 0):
        div -= one
    if div == 0:
        return np.copysign(div, a / b)
    floor = np.floor(div)
    return floor + one if div - floor > half else floor


@njit()   # numba.njit(cache=True) with the package's checked cache
def copy_row(dst, src):
    """dst[:] = src for 1-D arrays, as a loop: Numba's slice assignment compiles a shape-mismatch error
    path that cost seconds of every kernel's first compile."""
    for j in range(dst.shape[0]):
        dst[j] = src[j]


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
def add_slots(dsts, slots, src, row):
    """dsts[k][row, off + j] += src[0, slot + j] for j < width, (off, slot, width) = slots[k]: the vector
    parameters' per-row gradients gathered in the row src, added back by one call rather than one add per
    run of columns (each was a slice pair and an inlined loop for Numba and LLVM: five of them were a
    tenth of a layer-norm LSTM's backward compile). dsts: a tuple of 2-D arrays of one type."""
    for k in range(slots.shape[0]):
        dst = dsts[k]
        off, slot = slots[k, 0], slots[k, 1]
        for j in range(slots[k, 2]):
            dst[row, off + j] += src[0, slot + j]


# --- helpers compiled once per dtype and called by name (kernels/shared.py): loops that a generated function
# would otherwise carry a compiled copy of, each optimised and made into machine code again in every cold
# compile. Called once per call of grads, or per step: the call costs nanoseconds.
@njit()
def _zero_rows(a, b0, b1):
    zero = a.dtype.type(0)
    for i in range(b0, b1):
        for j in range(a.shape[1]):
            a[i, j] = zero


@njit()
def _zero_flat(a):
    zero = a.dtype.type(0)
    for j in range(a.shape[0]):
        a[j] = zero


@njit()
def _add_span(dst, doff, src, soff, n):
    for j in range(n):
        dst[doff + j] += src[soff + j]


@njit()
def _add_row(a2, row):
    for r in range(a2.shape[0]):
        ar = a2[r]
        for j in range(row.shape[0]):
            ar[j] += row[j]


@njit()
def _add_columns(a2, off, out):
    for r in range(a2.shape[0]):
        for j in range(out.shape[0]):
            out[j] += a2[r, off + j]


def _make_zero_rows(nbtype):
    p, i64 = types.CPointer(nbtype), types.int64

    @cfunc(types.void(p, i64, i64, i64, i64))
    def zero_rows(a, rows, cols, b0, b1):
        _zero_rows(numba.carray(a, (rows, cols)), b0, b1)
    return zero_rows


def _make_zero_flat(nbtype):
    @cfunc(types.void(types.CPointer(nbtype), types.int64))
    def zero_flat(a, n):
        _zero_flat(numba.carray(a, n))
    return zero_flat


def _make_add_span(nbtype):
    p, i64 = types.CPointer(nbtype), types.int64

    @cfunc(types.void(p, i64, i64, p, i64, i64, i64))
    def add_span(dst, dn, doff, src, sn, soff, n):
        _add_span(numba.carray(dst, dn), doff, numba.carray(src, sn), soff, n)
    return add_span


def _make_add_row(nbtype):
    p, i64 = types.CPointer(nbtype), types.int64

    @cfunc(types.void(p, i64, i64, p, i64))
    def add_row(a, rows, cols, row, n):
        _add_row(numba.carray(a, (rows, cols)), numba.carray(row, n))
    return add_row


def _make_add_columns(nbtype):
    p, i64 = types.CPointer(nbtype), types.int64

    @cfunc(types.void(p, i64, i64, i64, p, i64))
    def add_columns(a, rows, cols, off, out, n):
        _add_columns(numba.carray(a, (rows, cols)), off, numba.carray(out, n))
    return add_columns


# zero_rows(a, b0, b1): a[b0:b1] = 0 for a C-contiguous 2-D array (its rows as numbers, not a slice: a view
# costs the generated kernel's compile more than the call).
zero_rows = Shared("tinygrad_rnn_zero_rows", _zero_rows, _make_zero_rows, ("rows", "int", "int")).calling()
# zero_flat(a): a[:] = 0 for a 1-D array: grads' accumulators when they come uninitialised.
zero_flat = Shared("tinygrad_rnn_zero_flat", _zero_flat, _make_zero_flat, ("vector",)).calling()
# add_columns(a2, off, out): out += the sum of the rows of a2[:, off:off + len(out)] (a2 C-contiguous 2-D):
# the loop's per-row gradients of a vector parameter, its columns of dV, added to its accumulator by grads.
add_columns = Shared("tinygrad_rnn_add_columns", _add_columns, _make_add_columns, ("rows", "int", "vector")).calling()
# add_span(dst, doff, src, soff, n): dst[doff:doff + n] += src[soff:soff + n] (1-D arrays; the spans as
# numbers: a slice costs the caller's compile more than the call).
add_span = Shared("tinygrad_rnn_add_span", _add_span, _make_add_span,
                  ("vector", "int", "vector", "int", "int")).calling()
# add_row_steps(XW, row, a, b): every row of time steps [a, b) of the (T, B, n) block XW += row (a bias).
add_row_steps = Shared("tinygrad_rnn_add_row", _add_row, _make_add_row, ("rows", "vector")).calling(steps=True)
