"""Matrix products callable from inside cached Numba code, using the BLAS that numpy already ships.

Why this file exists: Numba's own ``np.dot`` needs SciPy, and SciPy is not a dependency. numpy's wheels
ship OpenBLAS (``numpy.libs/libscipy_openblas64_-*.so`` on Linux, ``numpy/.dylibs/`` on macOS,
``numpy.libs/*.dll`` on Windows) with 64-bit-integer CBLAS entry points such as
``scipy_cblas_sgemm64_``. We find that library, look up its gemm, and register the address with LLVM
under a fixed name of our own (``tinygrad_rnn_sgemm`` / ``tinygrad_rnn_dgemm``). Compiled kernels
refer to the function by that *name*, never by a baked-in address, so ``cache=True`` works: a second
process loads the cached machine code and LLVM resolves the name against the address registered at
import time here.

If no such library is found (another numpy build, an unusual layout), the same names are bound to
a plain Numba loop gemm instead (slow but correct), and ``BLAS_SOURCE`` says so. The environment
variable ``TINYGRAD_RNN_BLAS=numba`` forces that fallback (used by the tests). Under
``NUMBA_DISABLE_JIT=1`` the functions here run as Python and the BLAS call is numpy's matmul
(``_numpy_gemm``): an intrinsic has no Python form.

Public:
    gemm(A, B, C, beta)   C = A @ B + beta * C for C-contiguous 2-D float32/float64 arrays (njit or Python);
                          the time loops' recurrent product (a few rows times a weight: see SPLIT_GEMM).
    gemm_nt(A, B, C, beta)  C = A @ B^T + beta * C, the same but B is (n, k): always the BLAS call.
    gemm_tn(A, B, C, beta)  C = A^T @ B + beta * C, A is (k, m): always the BLAS call.
    num_threads()         how many threads the library uses (tr.get_num_threads), see below.
    set_num_threads(n)    set it (tr.set_num_threads).
    workers(n), run_parts(task, n, threads), on_threads(task, parts)   the library's thread pool, and
                          running the parts of a task on it (claimed by whichever thread is free: Claims).
    matmul(a, b)          a @ b, big 2-D products split by rows over the pool (the tape's Matmul).
    single_threaded()     context manager: OpenBLAS runs each call on the calling thread only, for code
                          that runs its own threads (the setting is process-wide while it lasts).

Threads. The library runs its parallel work on one pool of its own (`workers`): the fused kernels' batch
blocks and pipelines, and big products of the tape's Matmul (`matmul`). How many threads: `tr.set_num_threads(n)`
if called, else the smallest of OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and NUMBA_NUM_THREADS that is set,
else the number of CPUs this process may run on (its affinity mask).

numpy's OpenBLAS is set to one thread when this module is imported, and every BLAS call of the library is
single-threaded. Why: after a multi-threaded call, OpenBLAS's worker threads spin for tens of milliseconds
waiting for more work (measured: 8 ms of CPU during a 10 ms sleep after one 2-thread product; the char-LM
step at 2 threads burned 50.8 ms of CPU for 20.5 ms of work), on exactly the cores the library's own threads
need next. Code of your own that wants a multi-threaded numpy can raise it again (e.g. threadpoolctl); the
library still holds it to one thread (`single_threaded`) around its own calls.
"""
import contextlib
import ctypes
import glob
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import cfunc, njit, workspace
from .shared import Shared

SYMBOLS = {np.float32: "tinygrad_rnn_sgemm", np.float64: "tinygrad_rnn_dgemm"}

# CBLAS constants (cblas.h): row-major order, no transpose, transpose.
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# When a plain loop beats the BLAS call, measured on one core (float32, microseconds, loop vs OpenBLAS):
#   (m,k,n) = (1,20,80) 1.1 vs 0.8    (1,64,256) 1.9 vs 3.8    (1,128,512) 5.5 vs 21.3   (2,64,256) 3.3 vs 4.2
#             (4,64,256) 5.4 vs 4.2   (8,64,256) 9.9 vs 5.7    (16,128,512) 88 vs 38
# OpenBLAS's sgemm is slow for one or two rows (no gemv path) and has a fixed call cost; the loop is not
# blocked for cache, so it loses once there are a few rows to share each loaded row of B.
SMALL_GEMM_FLOPS = 32 * 1024
SMALL_GEMM_ROWS = 2


def _candidate_libraries():
    """Paths where numpy's wheel keeps its OpenBLAS, most likely first."""
    np_dir = os.path.dirname(np.__file__)
    site = os.path.dirname(np_dir)
    patterns = [
        os.path.join(site, "numpy.libs", "*openblas*"),   # Linux manylinux wheels, Windows (delvewheel)
        os.path.join(np_dir, ".dylibs", "*openblas*"),     # macOS wheels
        os.path.join(np_dir, "..", "numpy.libs", "*openblas*"),
    ]
    found = []
    for pattern in patterns:
        found += sorted(glob.glob(pattern))
    return found


_THREADS = {}   # 'get' / 'set': ctypes functions of the OpenBLAS found, if any
_OPENBLAS_CORE = {"name": ""}   # the kernels OpenBLAS chose for this CPU ("SkylakeX", "Haswell", ...)


def _core_name(lib):
    """OpenBLAS's name for the kernels it runs on this CPU, or "" when the library does not say."""
    for name in ("scipy_openblas_get_corename64_", "openblas_get_corename64_"):
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype, fn.argtypes = ctypes.c_char_p, []
            return (fn() or b"").decode(errors="replace").strip()
    return ""


def _find_openblas_gemm():
    """Return ({dtype: address}, description) for an ILP64 CBLAS gemm, or (None, reason)."""
    names = {np.float32: ["scipy_cblas_sgemm64_", "cblas_sgemm64_"],
             np.float64: ["scipy_cblas_dgemm64_", "cblas_dgemm64_"]}
    for path in _candidate_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        addresses = {}
        for dtype, candidates in names.items():
            for name in candidates:
                fn = getattr(lib, name, None)
                if fn is not None:
                    addresses[dtype] = ctypes.cast(fn, ctypes.c_void_p).value
                    break
        if len(addresses) == 2:
            _OPENBLAS_CORE["name"] = _core_name(lib)
            for key, name in [("get", "scipy_openblas_get_num_threads64_"), ("get", "openblas_get_num_threads64_"),
                              ("set", "scipy_openblas_set_num_threads64_"), ("set", "openblas_set_num_threads64_")]:
                if key not in _THREADS and getattr(lib, name, None) is not None:
                    _THREADS[key] = getattr(lib, name)
                    _THREADS[key].restype = ctypes.c_int if key == "get" else None
                    _THREADS[key].argtypes = [] if key == "get" else [ctypes.c_int]
            return addresses, path
    return None, "no ILP64 OpenBLAS found next to numpy in " + os.path.dirname(np.__file__)


# --- the fallback: a Numba loop with the CBLAS signature --------------------------------------------

@njit()
def _loop_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """C[i, j] = alpha * sum_p op(A)[i, p] op(B)[p, j] + beta * C[i, j] on flat row-major buffers.

    Loop nest i, p, j so that the innermost loop runs along a row of C (and of B when not transposed).
    """
    zero = c.dtype.type(0)
    for i in range(m):
        for j in range(n):
            c[i * ldc + j] = zero if beta == zero else beta * c[i * ldc + j]
        for p in range(k):
            a_ip = a[p * lda + i] if trans_a == _TRANS else a[i * lda + p]
            a_ip = alpha * a_ip
            for j in range(n):
                b_pj = b[j * ldb + p] if trans_b == _TRANS else b[p * ldb + j]
                c[i * ldc + j] += a_ip * b_pj


def _make_loop_cfunc(nbtype):
    ptr = types.CPointer(nbtype)
    sig = types.void(types.int32, types.int32, types.int32, types.int64, types.int64, types.int64, nbtype, ptr,
                     types.int64, ptr, types.int64, nbtype, ptr, types.int64)

    @cfunc(sig)
    def loop_gemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        # Only row-major calls are made by this package; `order` is accepted for the CBLAS signature.
        a_rows = k if trans_a == _TRANS else m
        b_rows = n if trans_b == _TRANS else k
        _loop_gemm(trans_a, trans_b, m, n, k, alpha, numba.carray(a, a_rows * lda), lda,
                   numba.carray(b, b_rows * ldb), ldb, beta, numba.carray(c, m * ldc), ldc)
    return loop_gemm


def _register():
    if numba.config.DISABLE_JIT:   # nothing compiled refers to the symbols: gemm calls _numpy_gemm
        return "numpy's matmul (NUMBA_DISABLE_JIT=1)"
    addresses, where = (None, "forced by TINYGRAD_RNN_BLAS=numba")
    if os.environ.get("TINYGRAD_RNN_BLAS", "").lower() != "numba":
        addresses, where = _find_openblas_gemm()
    if addresses is None:
        global _fallback_cfuncs   # keep the compiled cfuncs alive for as long as the process runs
        _fallback_cfuncs = {np.float32: _make_loop_cfunc(types.float32), np.float64: _make_loop_cfunc(types.float64)}
        addresses = {dt: cf.address for dt, cf in _fallback_cfuncs.items()}
        where = "Numba loop gemm (" + where + ")"
    for dtype, address in addresses.items():
        llvm.add_symbol(SYMBOLS[dtype], address)
    return where


BLAS_SOURCE = _register()

# How `gemm` calls BLAS. OpenBLAS's SkylakeX kernels (its choice for AVX-512 CPUs, Intel's and AMD's;
# Cooperlake and SapphireRapids reuse them) compute a small product straight from the operands; above about
# a million multiply-adds they first copy ("pack") the whole of B into a buffer, at every call. In the time
# loops B is the recurrent weight and A a block of batch rows: a 16-row product packed the whole weight again
# at every step. So on these kernels a product above SPLIT_GEMM_MACS multiply-adds is computed in tiles of C
# of SPLIT_GEMM_ROWS rows and as many columns (a multiple of 64) as keep each call under it, all on the
# direct path. Measured with bench/step_product.py (1 thread, us per call, one call -> tiles):
#   float32 (16,128,512) 27.3 -> 18.5  (32,128,512) 55 -> 38  (16,256,1024) 130 -> 81  (32,256,1024) 252 -> 157
#           (16,1024,256) 122 -> 77  (16,256,768) 88 -> 59  (64,128,512) 97 -> 78
#   float64 (16,128,512) 56 -> 40  (32,256,1024) 392 -> 349  (16,512,512) 237 -> 172
# Tiles of 4 to 16 rows and 64 to 768 columns measured alike; calls of 14 or 15 rows of 128x512 were slower
# than 12 (over the limit). Other OpenBLAS kernels were not measured, so they get one call, as before. The
# choice is compiled into the cached kernels; a cache moved to another OpenBLAS is only slower, never wrong.
# Tiles win only while the rows are few or the product small: above that, packing B once per call costs less
# than re-reading B's slices for every 8 rows. So more than SPLIT_GEMM_ROWS rows whose product is above
# SPLIT_GEMM_MAX_MACS multiply-adds (a float64 one counting as two) get one call again. Measured with the
# same script on an Intel Xeon (AVX-512, 2026-12-03, quiet; one call -> tiles, us, 1 thread):
#   float32 (16,512,2048) 585 -> 737  (32,1536,512) 723 -> 1748  (64,512,2048) 1368 -> 2907  (64,256,1024) 328 -> 424
#           (32,768,256) 158 -> 132 and (16,256,1024) 118 -> 74 still split
#   float64 (32,256,1024) 395 -> 492  (32,1024,256) 458 -> 768  (64,512,128) 216 -> 141 still split
SPLIT_GEMM = _OPENBLAS_CORE["name"] in ("SkylakeX", "Cooperlake", "SapphireRapids")
SPLIT_GEMM_MACS = 12 * 128 * 512
SPLIT_GEMM_ROWS = 8
SPLIT_GEMM_MAX_MACS = 32 * 256 * 1024


_ENV_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS")


def _threads_from_env():
    """The smallest positive count among the usual thread variables that are set, or None."""
    counts = []
    for name in _ENV_THREADS:
        try:
            value = int(os.environ.get(name, "").split(",")[0])   # OMP allows a list per nesting level
        except ValueError:
            continue
        if value >= 1:
            counts.append(value)
    return min(counts) if counts else None


def _usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # not Linux
        return os.cpu_count() or 1


_threads = {"n": _threads_from_env()}   # None: every usable CPU


def num_threads():
    """Threads the library uses: tr.set_num_threads's value, else the environment's, else every usable CPU."""
    return _threads["n"] or _usable_cpus()


def set_num_threads(n):
    """Use `n` threads for the library's parallel work (its own pool; OpenBLAS stays at one). Returns True."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    _threads["n"] = int(n)
    return True


if "set" in _THREADS:   # see "Threads" above: the library's own pool does the parallel work
    _THREADS["set"](1)


# --- the library's threads ------------------------------------------------------------------------

_pool = {"executor": None, "size": 0}


def _forget_pool_after_fork():
    """A fork()ed child has the parent's pool object but none of its worker threads: submitting to it
    would wait forever. The child starts a pool of its own when it first needs one."""
    _pool["executor"], _pool["size"] = None, 0


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def workers(n):
    """The library's thread pool, with at least n workers (made again when more are needed). Idle
    workers block on a queue: unlike OpenBLAS's, they take no CPU while they wait."""
    if _pool["executor"] is None or _pool["size"] < n:
        _pool["executor"] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="tinygrad_rnn")
        _pool["size"] = n
    return _pool["executor"]


class Claims:
    """Parts 0..n-1 of one parallel task, each run once by whichever thread claims it first, in order.

    Why claims rather than one fixed part per thread: a worker may start late (woken from sleep, or its
    core held by another process: on a shared machine a 2-thread process often gets one core's worth),
    and a caller that waited for it would run no faster than one thread, plus the hand-off. With claims
    the calling thread goes on to the parts nobody has started and waits only for parts a worker is
    actually running; a worker that starts after everything is claimed returns at once."""

    def __init__(self, n):
        self.n, self.next = n, 0
        self.lock = threading.Lock()
        self.running = {}   # part -> Event set when the thread running it is done
        self.errors = []

    def claim(self, by_worker, upto=None):
        """The next unclaimed part (at most `upto`), or None. Every claim gets an Event to wait on: a part
        one thread runs may be what another one needs next (runtime.forward_blocks_pipelined)."""
        with self.lock:
            k = self.next
            if k >= self.n or (upto is not None and k > upto):
                return None
            self.next = k + 1
            self.running[k] = threading.Event()
            return k

    def run_worker(self, task):
        """On a worker: task(k) for every part it can still claim."""
        while True:
            k = self.claim(True)
            if k is None:
                return
            try:
                task(k)
            except BaseException as e:   # raised again on the calling thread (wait)
                self.errors.append(e)
            finally:
                self.running[k].set()

    def run_caller(self, task, upto=None):
        """On the calling thread: task(k) for every part it can still claim (up to `upto`)."""
        while True:
            k = self.claim(False, upto)
            if k is None:
                return
            try:
                task(k)
            finally:
                self.running[k].set()

    def wait(self, upto=None, raise_errors=True):
        """Until every claimed part (up to `upto`) is done; a worker's exception is raised here."""
        with self.lock:
            events = [e for k, e in self.running.items() if upto is None or k <= upto]
        for e in events:
            e.wait()
        if self.errors and raise_errors:
            raise self.errors[0]


def run_parts(task, n, threads):
    """task(k) for k in range(n) on the calling thread and up to threads-1 workers (Claims); returns
    when all are done. Part 0 is usually the calling thread's: it claims before any worker wakes."""
    if n <= 1 or threads < 2:
        for k in range(n):
            task(k)
        return
    claims = Claims(n)
    pool = workers(min(threads, n) - 1)
    for _ in range(min(threads, n) - 1):
        pool.submit(claims.run_worker, task)
    claims.run_caller(task)
    claims.wait()


def on_threads(task, parts):
    """task(a, b, k) for every part k = (a, b), on the calling thread and len(parts)-1 workers, whichever
    claims it first (Claims); returns when all are done."""
    run_parts(lambda k: task(*parts[k], k), len(parts), len(parts))


MATMUL_MIN_MACS = 4 * 1024 * 1024   # below, one thread: a hand-off costs tens of microseconds
MATMUL_MIN_ROWS = 16                 # rows per thread, at least


def matmul(a, b):
    """a @ b, numpy's result, with a 2-D product of many rows split by rows over the library's threads,
    each part one single-threaded BLAS call (numpy releases the GIL in it). The tape's Matmul uses this
    so that OpenBLAS's own threads never start (see single_threaded); other shapes go to numpy as they are."""
    if a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype:
        with single_threaded():
            return a @ b
    # the result from the buffer pool: a training step's products are the same sizes step after step, and
    # fresh pages fault in at every step (workspace.py); small ones come from np.empty as before
    out = workspace.empty((a.shape[0], b.shape[1]), a.dtype)
    threads = num_threads()
    if threads < 2 or a.shape[0] < 2 * MATMUL_MIN_ROWS or a.shape[0] * a.shape[1] * b.shape[1] < MATMUL_MIN_MACS:
        with single_threaded():
            return np.matmul(a, b, out=out)
    n = min(threads, a.shape[0] // MATMUL_MIN_ROWS)
    edges = [a.shape[0] * k // n for k in range(n + 1)]

    def part(r0, r1, k):
        np.matmul(a[r0:r1], b, out=out[r0:r1])

    with single_threaded():
        on_threads(part, list(zip(edges, edges[1:])))
    return out


_single = {"depth": 0, "before": 1}
_single_lock = threading.Lock()


@contextlib.contextmanager
def single_threaded():
    if "get" not in _THREADS or "set" not in _THREADS:
        yield
        return
    with _single_lock:          # counted, so overlapping uses from several Python threads restore once
        if _single["depth"] == 0:
            _single["before"] = _THREADS["get"]()
            _THREADS["set"](1)
        _single["depth"] += 1
    try:
        yield
    finally:
        with _single_lock:
            _single["depth"] -= 1
            if _single["depth"] == 0:
                _THREADS["set"](_single["before"])


# --- the call, as an LLVM declaration of the fixed symbol name -------------------------------------

@intrinsic
def _cblas_gemm(typingctx, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
    """cblas_?gemm(RowMajor, trans_a, trans_b, m, n, k, 1, a, lda, b, ldb, beta, c, ldc) on array data."""
    if not (isinstance(c, types.Array) and c.dtype in (types.float32, types.float64)
            and a.dtype == c.dtype and b.dtype == c.dtype):
        return None
    name = SYMBOLS[np.float32 if c.dtype == types.float32 else np.float64]
    sig = types.void(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        fty = context.get_value_type(c.dtype)
        i32, i64 = ir.IntType(32), ir.IntType(64)
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, fty, fty.as_pointer(), i64,
                                               fty.as_pointer(), i64, fty, fty.as_pointer(), i64])
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        t_a, t_b, m_, n_, k_, a_, lda_, b_, ldb_, beta_, c_, ldc_ = args
        targs = signature.args

        def data(val, ty):
            return context.make_array(ty)(context, builder, val).data

        def as_int(val, ty, width):
            return context.cast(builder, val, ty, width)

        builder.call(fn, [
            ir.Constant(i32, _ROW_MAJOR), as_int(t_a, targs[0], types.int32), as_int(t_b, targs[1], types.int32),
            as_int(m_, targs[2], types.int64), as_int(n_, targs[3], types.int64), as_int(k_, targs[4], types.int64),
            ir.Constant(fty, 1.0), data(a_, targs[5]), as_int(lda_, targs[6], types.int64),
            data(b_, targs[7]), as_int(ldb_, targs[8], types.int64),
            context.cast(builder, beta_, targs[9], c.dtype), data(c_, targs[10]), as_int(ldc_, targs[11], types.int64)])
        return context.get_dummy_value()

    return sig, codegen


def _numpy_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
    """_cblas_gemm's plain-numpy twin, for NUMBA_DISABLE_JIT=1 (an intrinsic cannot run as Python).
    a, b and c are the C-contiguous 2-D arrays whose data the BLAS call would get (rows of lda, ldb, ldc
    numbers, as every caller passes), so op(A) is a or its transpose."""
    op_a = a.T if trans_a == _TRANS else a
    op_b = b.T if trans_b == _TRANS else b
    if beta == 0:                  # as BLAS: beta 0 overwrites C, NaNs included
        c[...] = op_a @ op_b
    else:
        c[...] = op_a @ op_b + beta * c


if numba.config.DISABLE_JIT:
    _cblas_gemm = _numpy_gemm  # noqa: F811


@njit()
def _small_gemm(a, b, c, beta):
    """C = A @ B + beta*C by loops i, p, j: the j loop runs along rows of B and C, so it vectorizes.
    Four rows of B go into each pass over C's row: at the sizes this serves (one sequence, H = 20:
    (1, 20, 20) to (1, 20, 80)) the passes and their loop overhead were the cost, and four at a time
    measured 1.6-2x faster than one."""
    m, k = a.shape
    n = b.shape[1]
    zero, one = c.dtype.type(0), c.dtype.type(1)
    for i in range(m):
        ci, ai = c[i], a[i]
        if beta == zero:
            for j in range(n):
                ci[j] = zero
        elif beta != one:
            for j in range(n):
                ci[j] *= beta
        p = 0
        while p + 4 <= k:
            a0, a1, a2, a3 = ai[p], ai[p + 1], ai[p + 2], ai[p + 3]
            b0, b1, b2, b3 = b[p], b[p + 1], b[p + 2], b[p + 3]
            for j in range(n):
                ci[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j]
            p += 4
        while p < k:
            a0, b0 = ai[p], b[p]
            for j in range(n):
                ci[j] += a0 * b0[j]
            p += 1


@njit()
def gemm(a, b, c, beta):
    """C = A @ B + beta * C, all C-contiguous 2-D arrays of one float dtype (shapes (m,k), (k,n), (m,n)).

    beta is 0 (overwrite C) or any other value (accumulate); it is cast to C's dtype.
    """
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError("gemm: shapes do not match")
    if m == 0 or n == 0:
        return
    _gemm_by_name(a, b, c, beta)


@njit()
def _gemm_checked(a, b, c, beta):
    """gemm's work once its shapes are checked and none is empty: the loop for a few rows, else BLAS (in tiles
    where SPLIT_GEMM says). beta of C's dtype."""
    m, k = a.shape
    n = b.shape[1]
    if k == 0 or m <= SMALL_GEMM_ROWS or m * n * k <= SMALL_GEMM_FLOPS:
        _small_gemm(a, b, c, beta)
    else:
        rows, cols = _tile(m, n, k, c.itemsize, SPLIT_GEMM)
        _gemm_tiles(a, b, c, beta, rows, cols)


@njit()
def _tile(m, n, k, itemsize, split):
    """(rows, columns) of C that one BLAS call of gemm computes (see SPLIT_GEMM); (m, n): one call. itemsize:
    C's, 4 or 8 (a float64 multiply-add counts as two against SPLIT_GEMM_MAX_MACS)."""
    macs = m * n * k
    if not split or macs <= SPLIT_GEMM_MACS or (m > SPLIT_GEMM_ROWS and macs * (itemsize // 4) > SPLIT_GEMM_MAX_MACS):
        return m, n
    cols = SPLIT_GEMM_MACS // (SPLIT_GEMM_ROWS * k) // 64 * 64
    if cols < 64:          # a long inner dimension (k > 1536): not measured
        return m, n
    return SPLIT_GEMM_ROWS, min(cols, n)


@njit()
def _gemm_tiles(a, b, c, beta, rows, cols):
    """C = A @ B + beta * C (beta of C's dtype) by one BLAS call per tile of C of `rows` x `cols` (the last
    ones may be smaller). Whole rows of one or two go to the loop, as in gemm."""
    m, k = a.shape
    n = b.shape[1]
    for j0 in range(0, n, cols):
        j1 = min(j0 + cols, n)
        for i0 in range(0, m, rows):
            i1 = min(i0 + rows, m)
            if i1 - i0 <= SMALL_GEMM_ROWS and j1 - j0 == n:
                _small_gemm(a[i0:i1], b, c[i0:i1], beta)
            else:   # a tile: B's and C's rows stay n apart
                _cblas_gemm(_NO_TRANS, _NO_TRANS, i1 - i0, j1 - j0, k, a[i0:i1], k, b[:, j0:j1], n, beta,
                            c[i0:i1, j0:j1], n)


@njit()
def _scale(c, beta):
    """C = beta * C, what a product over an empty inner dimension leaves (beta 0 clears NaNs too, as BLAS)."""
    zero = c.dtype.type(0)
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            c[i, j] = zero if beta == zero else beta * c[i, j]


@njit()
def _product(trans_a, trans_b, a, b, c, beta):
    """C (m, n) = op(A) @ op(B) + beta * C (beta of C's dtype) for C-contiguous matrices: one BLAS call, or
    one per tile of gemm's (SPLIT_GEMM) where neither is transposed, or C = beta * C when the inner
    dimension k is empty (BLAS is not called then). The work of gemm_nt, gemm_nn, gemm_tn and the generated
    code's product_nt, product_nn, product_tn: compiled once per dtype, called by name (_PRODUCT)."""
    m, n = c.shape
    k = a.shape[0] if trans_a == _TRANS else a.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        _scale(c, beta)
        return
    lda, ldb = a.shape[1], b.shape[1]
    rows, cols = (m, n) if trans_a == _TRANS or trans_b == _TRANS else _tile(m, n, k, c.itemsize, SPLIT_GEMM)
    if rows == m and cols == n:
        _cblas_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, n)
        return
    for j0 in range(0, n, cols):   # tiles: neither is transposed, so A's rows and B's columns are sliced
        j1 = min(j0 + cols, n)
        for i0 in range(0, m, rows):
            i1 = min(i0 + rows, m)
            _cblas_gemm(_NO_TRANS, _NO_TRANS, i1 - i0, j1 - j0, k, a[i0:i1], k, b[:, j0:j1], n, beta,
                        c[i0:i1, j0:j1], n)


# --- gemm's and the products' work compiled once, called by name (shared.py) ------------------------
# Numba compiles every callee's code into each caller again: gemm's loop for a few rows and its tiles were
# optimised and turned into machine code anew in each generated function that calls gemm (a cell's forward
# and backward loops), about 0.25 s of CPU each in a cold compile, and the products' BLAS calls in each
# project and grads. So that work is one cfunc per dtype, cached with the package (compiled once per
# install) and bound under a fixed name, as the BLAS gemm above: callers call it by that name (a call, as
# _small_gemm was before: too large for LLVM to inline).

def _make_gemm_cfunc(nbtype):
    p, i64 = types.CPointer(nbtype), types.int64

    @cfunc(types.void(p, i64, i64, p, i64, i64, p, i64, i64, nbtype))
    def gemm_rows(a, ar, ac, b, br, bc, c, cr, cc, beta):
        _gemm_checked(numba.carray(a, (ar, ac)), numba.carray(b, (br, bc)), numba.carray(c, (cr, cc)), beta)
    return gemm_rows


def _make_product_cfunc(nbtype):
    p, i64 = types.CPointer(nbtype), types.int64

    @cfunc(types.void(i64, i64, p, i64, i64, p, i64, i64, p, i64, i64, nbtype))
    def product(trans_a, trans_b, a, ar, ac, b, br, bc, c, cr, cc, beta):
        _product(trans_a, trans_b, numba.carray(a, (ar, ac)), numba.carray(b, (br, bc)),
                 numba.carray(c, (cr, cc)), beta)
    return product


_GEMM = Shared("tinygrad_rnn_gemm", _gemm_checked, _make_gemm_cfunc, ("rows", "rows", "rows", "float"))
_PRODUCT = Shared("tinygrad_rnn_product", _product, _make_product_cfunc,
                  ("int", "int", "rows", "rows", "rows", "float"))
_gemm_by_name = _GEMM.calling()
# _nt(A, B, C, beta): C = op(A) @ op(B) + beta * C on matrices, for gemm_nt, gemm_nn, gemm_tn
_nt, _nn, _tn = (_PRODUCT.calling(_NO_TRANS, _TRANS), _PRODUCT.calling(_NO_TRANS, _NO_TRANS),
                 _PRODUCT.calling(_TRANS, _NO_TRANS))
# product_nt(A, B, C, beta, a, b): C = op(A) @ op(B) + beta * C for C-contiguous float arrays of one dtype,
# each a matrix or a (T, B, n) block of which time steps [a, b) take part (its rows (a * B ... b * B)),
# shapes NOT checked: for generated code (outside.py). op: B transposed (nt), none (nn), A transposed (tn).
product_nt = _PRODUCT.calling(_NO_TRANS, _TRANS, steps=True)
product_nn = _PRODUCT.calling(_NO_TRANS, _NO_TRANS, steps=True)
product_tn = _PRODUCT.calling(_TRANS, _NO_TRANS, steps=True)


@njit()
def gemm_nt(a, b, c, beta):
    """C = A @ B^T + beta * C, all C-contiguous 2-D arrays of one float dtype (shapes (m,k), (n,k), (m,n)).

    For the products outside the time loops, where B is a weight as stored ((G*H, I) for W_ih): no
    transposed copy, and one compiled call instead of numpy's matmul dispatch (which costs several
    microseconds, the whole budget of a tiny layer)."""
    m, k = a.shape
    n = b.shape[0]
    if b.shape[1] != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError("gemm_nt: shapes do not match")
    _nt(a, b, c, beta)


@njit()
def gemm_nn(a, b, c, beta):
    """C = A @ B + beta * C as gemm computes it, but by BLAS calls only (in gemm's tiles where it would tile):
    all C-contiguous 2-D arrays of one float dtype (shapes (m,k), (k,n), (m,n)). For the products outside
    the time loops (over T * B rows), where one BLAS call beats gemm's loop on the rare tiny product."""
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError("gemm_nn: shapes do not match")
    _nn(a, b, c, beta)


@njit()
def gemm_tn(a, b, c, beta):
    """C = A^T @ B + beta * C, all C-contiguous 2-D arrays of one float dtype (shapes (k,m), (k,n), (m,n)):
    the weight gradients dW = dA^T X, summed over all T*B rows."""
    k, m = a.shape
    n = b.shape[1]
    if b.shape[0] != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError("gemm_tn: shapes do not match")
    _tn(a, b, c, beta)
