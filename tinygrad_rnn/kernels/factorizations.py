"""The matrix factorizations and substitutions of tr.linalg's triangular half (triangular.py, ldl.py), compiled:

    lu_factor(a)                              -> (LU, pivots, info)   LAPACK getf2's LU with partial pivoting
    solve_triangular(a, b, upper, unit)       -> X with A X = B       in reference trsm's numbers
    permutation_rows(pivots, m)               -> perm                 the row order LAPACK's swaps make
    ldl_factor(a)                             -> (LD, pivots, info)   LAPACK sytf2's Bunch-Kaufman LDL^T
    ldl_solve(ld, pivots, b)                  -> X with A X = B       LAPACK sytrs's solve

Each is a loop nest over one matrix (its rows and columns) and a loop over the batch, split over the library's
threads when the batch holds enough work (runtime.run_blocks). The arithmetic is that of their slow twins, the
numpy functions in triangular.py (_lu_numpy, _solve_tri_numpy, _permutation_rows_numpy) and ldl.py (_sytf2_numpy,
_sytrs_numpy), operation for operation and in the same order, so the two agree bit for bit
(tests/engine/test_linalg_factor_kernels.py); the twins loop in Python over the rows, vectorised over the batch.
No sum is left to BLAS, whose order of additions is its own: a dot product here adds its terms first to last.

Every kernel has numpy's error model: a division by zero gives inf or NaN, as LAPACK's (Numba's default raises
ZeroDivisionError). Constants are made in the matrix's dtype (`_one`): a Python 1 would make Numba compute in float64.
Under NUMBA_DISABLE_JIT=1 these are plain Python functions (slow, and equal to the compiled ones).
"""
import math

import numpy as np

from . import blas, njit, runtime

# Below this much work (about batch * n^3 multiply-adds) one thread does the whole batch: a hand-off costs tens
# of microseconds.
PARALLEL_MIN_WORK = 1 << 20

# LU: the columns of a panel, whose updates of the columns right of it are made row by row (_lu_one)
PANEL = 32

_ALPHA = (1 + np.sqrt(17.0)) / 8   # Bunch-Kaufman's threshold (float64, as LAPACK's and the twin's)


@njit(nogil=True, error_model="numpy")
def _one(a):
    """1 in a's dtype."""
    one = np.ones(1, a.dtype)
    return one[0]


@njit(nogil=True, error_model="numpy")
def _zero(a):
    """0 in a's dtype."""
    zero = np.zeros(1, a.dtype)
    return zero[0]


def _run(kernel, batch, work, args):
    """kernel(*args, b0, b1) over the batch's matrices, split over threads when the work is worth a hand-off."""
    threads = blas.num_threads() if batch > 1 and work >= PARALLEL_MIN_WORK else 1
    runtime.run_blocks(kernel, batch, threads, args, rows=1)


# ----------------------------------------------------------------------------- LU with partial pivoting
@njit(nogil=True, error_model="numpy")
def _first_largest(a, j, column):
    """The row i >= j with the largest |a[i, column]|, the first of ties; the first NaN if any (np.argmax's)."""
    p, best = j, abs(a[j, column])
    if np.isnan(best):
        return p
    for i in range(j + 1, a.shape[0]):
        value = abs(a[i, column])
        if np.isnan(value):
            return i
        if value > best:
            p, best = i, value
    return p


@njit(nogil=True, error_model="numpy")
def _subtract_scaled(row, factor, other):
    """row[c] -= factor * other[c], for every c."""
    for c in range(row.shape[0]):
        row[c] = row[c] - factor * other[c]


@njit(nogil=True, error_model="numpy")
def _lu_one(a, pivots):
    """getf2 on one (m, n) matrix in place: at step j the pivot row swapped (whole rows) into row j, the column
    below it divided by the pivot (unless it is 0), the trailing block's rank-1 update. Returns info.

    The rank-1 updates of the columns right of a panel of PANEL columns are delayed until the panel is factorized,
    then done row by row, each row's PANEL updates while it sits in cache: every element still gets getf2's
    subtractions `a[i, c] - a[i, k] * a[k, c]`, one by one in increasing k, with the same operands (row k is final
    when row i > k uses it; a swap exchanges two rows that have had the same updates), so the numbers are getf2's."""
    m, n = a.shape
    info = 0
    for j0 in range(0, min(m, n), PANEL):
        j1 = min(j0 + PANEL, min(m, n))
        for j in range(j0, j1):
            if not _lu_step(a, pivots, j, j1) and info == 0:
                info = j + 1
        for i in range(j0 + 1, m):        # the columns right of the panel: its steps k < i, in order
            row = a[i, j1:]
            for k in range(j0, min(i, j1)):
                _subtract_scaled(row, a[i, k], a[k, j1:])
    return info


@njit(nogil=True, error_model="numpy")
def _lu_step(a, pivots, j, j1):
    """getf2's step j, its update made in the panel's columns (< j1) only; False if the pivot is 0."""
    m, n = a.shape
    p = _first_largest(a, j, j)
    pivots[j] = p + 1
    if p != j:
        for c in range(n):
            a[j, c], a[p, c] = a[p, c], a[j, c]
    pivot = a[j, j]
    if pivot != 0:
        for i in range(j + 1, m):
            a[i, j] = a[i, j] / pivot
    for i in range(j + 1, m):
        factor = a[i, j]
        for c in range(j + 1, j1):
            a[i, c] = a[i, c] - factor * a[j, c]
    return pivot != 0


@njit(nogil=True, error_model="numpy")
def lu_block(a, pivots, info, b0, b1):
    """_lu_one on matrices [b0, b1) of a (B, m, n), pivots (B, min(m, n)) and info (B,)."""
    for b in range(b0, b1):
        info[b] = _lu_one(a[b], pivots[b])


def lu_factor(a):
    """(LU, pivots 1-based int64, info int64) of a (..., m, n), as triangular._lu_numpy."""
    shape = a.shape
    m, n = shape[-2:]
    lu = np.array(a, dtype=a.dtype, order="C").reshape((math.prod(shape[:-2]), m, n))
    pivots = np.empty((lu.shape[0], min(m, n)), np.int64)
    info = np.zeros(lu.shape[0], np.int64)
    _run(lu_block, lu.shape[0], lu.shape[0] * m * n * min(m, n), (lu, pivots, info))
    return lu.reshape(shape), pivots.reshape(shape[:-2] + (min(m, n),)), info.reshape(shape[:-2])


@njit(nogil=True, error_model="numpy")
def _permutation_one(pivots, perm):
    for j in range(pivots.shape[0]):
        p = pivots[j] - 1
        perm[j], perm[p] = perm[p], perm[j]


@njit(nogil=True, error_model="numpy")
def permutation_block(pivots, perm, b0, b1):
    for b in range(b0, b1):
        _permutation_one(pivots[b], perm[b])


def permutation_rows(pivots, m):
    """perm (B, m) from LAPACK's pivots (B, k), 1-based: the rows the swaps bring to the top, in order."""
    perm = np.empty((pivots.shape[0], m), np.int64)
    perm[:] = np.arange(m)
    permutation_block(np.ascontiguousarray(pivots, dtype=np.int64), perm, 0, pivots.shape[0])
    return perm


# ----------------------------------------------------------------------------- triangular solves
@njit(nogil=True, error_model="numpy")
def _solve_one(a, x, upper, unit):
    """X overwriting x (n, r) with `A X = x`, A (n, n) lower (upper) triangular, in reference trsm's column sweep's
    numbers: each x[i, c] gets `x[i, c] - x[k, c] * a[i, k]` for the rows k solved before it, in the sweep's order
    (k ascending, descending if upper), then its division by a[i, i]. Made row by row (row i of X in registers,
    row i of A read along memory): the same operations on the same operands, row k being final when row i uses it."""
    n, r = x.shape
    for step in range(n):
        i = n - 1 - step if upper else step
        for done in range(step):
            k = n - 1 - done if upper else done
            factor = a[i, k]
            for c in range(r):
                x[i, c] = x[i, c] - x[k, c] * factor
        if not unit:
            d = a[i, i]
            for c in range(r):
                x[i, c] = x[i, c] / d
    return x


@njit(nogil=True, error_model="numpy")
def solve_block(a, which_a, x, upper, unit, b0, b1):
    """_solve_one on x[b] for b in [b0, b1), with the matrix a[which_a[b]] (batches broadcast by index)."""
    for b in range(b0, b1):
        _solve_one(a[which_a[b]], x[b], upper, unit)


def solve_triangular(a, b, upper, unit):
    """X with `A X = B` for a (..., n, n) and b (..., n, r) whose batch dims broadcast, as
    triangular._solve_tri_numpy with left=True. A zero on A's diagonal gives inf and NaN, unchecked."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    n, r = b.shape[-2:]
    dtype = np.result_type(a, b)
    matrices = np.ascontiguousarray(a, dtype=dtype).reshape((math.prod(a.shape[:-2]), n, n))
    which_a = np.broadcast_to(np.arange(matrices.shape[0]).reshape(a.shape[:-2]), batch).reshape(-1)
    x = np.array(np.broadcast_to(b, batch + (n, r)), dtype=dtype, order="C").reshape((math.prod(batch), n, r))
    _run(solve_block, x.shape[0], x.shape[0] * n * n * r,
         (matrices, np.ascontiguousarray(which_a, dtype=np.int64), x, upper, unit))
    return x.reshape(batch + (n, r))


# ----------------------------------------------------------------------------- Bunch-Kaufman LDL^T
@njit(nogil=True, error_model="numpy")
def _abs_max(a, rows_from, rows_to, cols_from, cols_to):
    """max |a[i, j]| over the block (not empty), NaN if any is NaN (np.max's)."""
    best = abs(a[rows_from, cols_from])
    for i in range(rows_from, rows_to):
        for j in range(cols_from, cols_to):
            value = abs(a[i, j])
            if np.isnan(value):
                return value
            if value > best:
                best = value
    return best


@njit(nogil=True, error_model="numpy")
def _bk_pivot(a, k):
    """Bunch-Kaufman's choice at column k of the lower triangle, as ldl._pivot: (kp, kstep, zero)."""
    n = a.shape[0]
    absakk = abs(a[k, k])
    imax, colmax = k, _zero(a)
    if k < n - 1:
        imax = _first_largest(a, k + 1, k)
        colmax = abs(a[imax, k])
    largest = colmax if colmax > absakk else absakk   # Python's max(absakk, colmax), NaN included
    if largest == 0 or np.isnan(absakk):
        return k, 1, True
    if absakk >= _ALPHA * colmax:
        return k, 1, False
    rowmax = _abs_max(a, imax, imax + 1, k, imax)      # row imax left of its diagonal, and below it
    if imax < n - 1:
        below = _abs_max(a, imax + 1, n, imax, imax + 1)
        if below > rowmax:
            rowmax = below
    if absakk >= _ALPHA * colmax * (colmax / rowmax):
        return k, 1, False
    if abs(a[imax, imax]) >= _ALPHA * rowmax:
        return imax, 1, False
    return imax, 2, False


@njit(nogil=True, error_model="numpy")
def _swap_symmetric(a, kk, kp):
    """Rows and columns kk < kp swapped in the trailing lower triangle a[kk:, kk:], as ldl._swap_symmetric."""
    n = a.shape[0]
    for i in range(kp + 1, n):
        a[i, kk], a[i, kp] = a[i, kp], a[i, kk]
    for i in range(kk + 1, kp):
        a[i, kk], a[kp, i] = a[kp, i], a[i, kk]
    a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]


@njit(nogil=True, error_model="numpy")
def _eliminate_1x1(a, k):
    """sytf2's update by the 1 x 1 block at k, as the twin's: a[i, j] -= a[i, k] * (d11 * a[j, k]) for i >= j > k,
    row by row (the rows are contiguous), then column k scaled by d11."""
    n = a.shape[0]
    d11 = _one(a) / a[k, k]
    scaled = np.empty(n, a.dtype)
    for j in range(k + 1, n):
        scaled[j] = d11 * a[j, k]
    for i in range(k + 1, n):
        _subtract_scaled(a[i, k + 1:i + 1], a[i, k], scaled[k + 1:i + 1])
    for i in range(k + 1, n):
        a[i, k] = scaled[i]


@njit(nogil=True, error_model="numpy")
def _eliminate_2x2(a, k):
    """sytf2's update by the 2 x 2 block at k, as ldl._eliminate_2x2: the columns' new values (wk, wkp1) are
    computed first, then the trailing triangle updated from the old ones, then the columns overwritten."""
    n = a.shape[0]
    one = _one(a)
    d21 = a[k + 1, k]
    d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
    d21 = one / (d11 * d22 - one) / d21
    wk = np.empty(n, a.dtype)
    wkp1 = np.empty(n, a.dtype)
    for i in range(k + 2, n):
        wk[i] = d21 * (d11 * a[i, k] - a[i, k + 1])
        wkp1[i] = d21 * (d22 * a[i, k + 1] - a[i, k])
    for i in range(k + 2, n):
        row, first, second = a[i, k + 2:i + 1], a[i, k], a[i, k + 1]
        others, seconds = wk[k + 2:i + 1], wkp1[k + 2:i + 1]
        for j in range(row.shape[0]):
            row[j] = row[j] - (first * others[j] + second * seconds[j])
    for i in range(k + 2, n):
        a[i, k], a[i, k + 1] = wk[i], wkp1[i]


@njit(nogil=True, error_model="numpy")
def _sytf2_one(a, pivots):
    """sytf2 on one matrix (its lower triangle, the strict upper one zero) in place; returns info."""
    n = a.shape[0]
    info, k = 0, 0
    while k < n:
        kp, kstep, zero = _bk_pivot(a, k)
        if zero:
            if info == 0:
                info = k + 1
        else:
            kk = k + kstep - 1
            if kp != kk:
                _swap_symmetric(a, kk, kp)
                if kstep == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            if kstep == 1:
                _eliminate_1x1(a, k)
            else:
                _eliminate_2x2(a, k)
        for j in range(k, k + kstep):
            pivots[j] = kp + 1 if kstep == 1 else -(kp + 1)
        k += kstep
    return info


@njit(nogil=True, error_model="numpy")
def ldl_block(a, pivots, info, b0, b1):
    for b in range(b0, b1):
        info[b] = _sytf2_one(a[b], pivots[b])


def ldl_factor(a):
    """(LD, pivots 1-based int64, info int64) of a (..., n, n) read from its lower triangle, as ldl._sytf2_numpy
    on each matrix."""
    n = a.shape[-1]
    ld = np.ascontiguousarray(np.tril(a)).reshape((math.prod(a.shape[:-2]), n, n))
    pivots = np.zeros((ld.shape[0], n), np.int64)
    info = np.zeros(ld.shape[0], np.int64)
    _run(ldl_block, ld.shape[0], ld.shape[0] * n ** 3, (ld, pivots, info))
    return ld.reshape(a.shape), pivots.reshape(a.shape[:-1]), info.reshape(a.shape[:-2])


@njit(nogil=True, error_model="numpy")
def _swap_rows(b, i, j):
    for c in range(b.shape[1]):
        b[i, c], b[j, c] = b[j, c], b[i, c]


@njit(nogil=True, error_model="numpy")
def _take_column(ld, b, col, k, first):
    """b[i] -= ld[i, col] * b[k] for rows i >= first (the way down)."""
    for i in range(first, b.shape[0]):
        factor = ld[i, col]
        for c in range(b.shape[1]):
            b[i, c] = b[i, c] - factor * b[k, c]


@njit(nogil=True, error_model="numpy")
def _take_dot(ld, b, k, first):
    """b[k] -= the sum over i >= first of ld[i, k] * b[i], its terms added first to last (the way up)."""
    n = b.shape[0]
    if first >= n:
        return
    for c in range(b.shape[1]):
        total = ld[first, k] * b[first, c]
        for i in range(first + 1, n):
            total = total + ld[i, k] * b[i, c]
        b[k, c] = b[k, c] - total


@njit(nogil=True, error_model="numpy")
def _sytrs_one(ld, pivots, b):
    """sytrs on one matrix: b (n, r) overwritten by X with `P L D L^T P^T X = b`, as ldl._sytrs_numpy. Returns
    False, b left half-solved, where a 2 x 2 block would start at the last row (pivots not sytf2's: the caller
    checked that each |pivot| is in [1, n], and refuses these)."""
    n, k = ld.shape[0], 0
    while k < n:   # L D Y = P^T B
        if pivots[k] < 0 and k == n - 1:
            return False
        if pivots[k] > 0:
            _swap_rows(b, k, pivots[k] - 1)
            _take_column(ld, b, k, k, k + 1)
            for c in range(b.shape[1]):
                b[k, c] = b[k, c] / ld[k, k]
            k += 1
        else:
            _swap_rows(b, k + 1, -pivots[k] - 1)
            for i in range(k + 2, n):
                first, second = ld[i, k], ld[i, k + 1]
                for c in range(b.shape[1]):
                    b[i, c] = b[i, c] - (first * b[k, c] + second * b[k + 1, c])
            off = ld[k + 1, k]
            first, second = ld[k, k] / off, ld[k + 1, k + 1] / off
            denominator = first * second - _one(ld)
            for c in range(b.shape[1]):
                top, bottom = b[k, c] / off, b[k + 1, c] / off
                b[k, c], b[k + 1, c] = (second * top - bottom) / denominator, (first * bottom - top) / denominator
            k += 2
    k = n - 1
    while k >= 0:  # L^T P^T X = Y
        if pivots[k] > 0:
            _take_dot(ld, b, k, k + 1)
            _swap_rows(b, k, pivots[k] - 1)
            k -= 1
        else:
            _take_dot(ld, b, k, k + 1)
            _take_dot(ld, b, k - 1, k + 1)
            _swap_rows(b, k, -pivots[k] - 1)
            k -= 2
    return True


@njit(nogil=True, error_model="numpy")
def ldl_solve_block(ld, pivots, x, fits, b0, b1):
    for b in range(b0, b1):
        fits[b] = _sytrs_one(ld[b], pivots[b], x[b])


def ldl_solve(ld, pivots, b):
    """X with `A X = B` from (LD, pivots) of A, all three already broadcast to one batch: ld (B, n, n), pivots
    (B, n) with each |pivot| in [1, n], b (B, n, r); as ldl._sytrs_numpy on each matrix. Returns (X, fits): fits[i]
    False where matrix i's pivots end in an unpaired 2 x 2 block (its X then unfinished)."""
    x = np.array(b, dtype=np.result_type(ld, b), order="C")
    fits = np.ones(x.shape[0], np.bool_)
    n = ld.shape[-1]
    _run(ldl_solve_block, x.shape[0], x.shape[0] * n * n * x.shape[-1],
         (np.ascontiguousarray(ld, dtype=x.dtype), np.ascontiguousarray(pivots, dtype=np.int64), x, fits))
    return x, fits
