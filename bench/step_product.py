"""The time loops' recurrent product, one BLAS call per step against blas.gemm's calls of a few rows each.

    python bench/step_product.py                      # every shape below, float32 and float64
    python bench/step_product.py --dtype float32 --rows 16,32 --shapes 128x512,512x128
    python bench/step_product.py --rows 32 --offsets 0,16   # B on a 64-byte boundary and 16 bytes past it
    python bench/step_product.py --rows 16,32,64 --tiles    # also 8-row tiles where gemm makes one call

Every generated forward loop runs, per time step, gemm(S[t, b0:rows], Wt, C[b0:rows], 0): (M, K) batch
rows of the state times the (K, N) weight, N = G*H (G = 4 LSTM, 3 GRU, 1 RNN, K = H); the backward loop
gemm(dC[t, b0:rows], P, dS[b0:rows], 1), the same with K and N swapped. This times such a loop over T steps
(compiled, as in the kernels) two ways, taking turns, CPU time of this thread (time.thread_time, so another
process on the core does not count), median per call in microseconds:

  one call   every step one BLAS call on all M rows (what gemm did before SPLIT_GEMM)
  gemm       blas.gemm as it is: on OpenBLAS's SkylakeX kernels, calls on tiles of C (SPLIT_GEMM);
             "tile": rows x columns of C per call, at most ("loop": gemm's own loop for tiny products)
  all steps  (--all-steps) the T steps' products at once, blas.gemm on all T * M rows: what a loop could do
             if it knew every step's left operand beforehand (a checkpointed backward's rerun knows every
             h_{t-1}: they are the recorded output). On SkylakeX kernels it measured no faster than `gemm`
             (us per step, 32 steps, M = 32, 256x1024, three runs: float32 174 163 179 by gemm against
             199 175 206 at once; float64 403 357 341 against 426 372 367), so the reruns keep the per-step
             product (issue 17; bench/README.md, "A rerun's products at once")

The shapes: (K, N) of the forward and backward products of LSTM H = 64, 128, 256, GRU H = 256 and
RNN H = 256, 512 (python -m bench's layers). One thread: the library's BLAS calls are single-threaded.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tinygrad_rnn.kernels import blas, njit  # noqa: E402

SHAPES = ["64x256", "256x64", "128x512", "512x128", "256x1024", "1024x256", "256x768", "768x256",
          "256x256", "512x512"]


@njit()
def _loop_tiles(S, W, C, beta, rows, cols):
    for t in range(S.shape[0]):
        blas._gemm_tiles(S[t], W, C, C.dtype.type(beta), rows, cols)


def _loop_one_call(S, W, C, beta):
    _loop_tiles(S, W, C, beta, S.shape[1], W.shape[1])


def _eight_row_tiles(k, n):
    """The tiles blas._tile would pick for this product without its bound for many rows (SPLIT_GEMM_MAX_MACS)."""
    return blas.SPLIT_GEMM_ROWS, min(n, max(64, blas.SPLIT_GEMM_MACS // (blas.SPLIT_GEMM_ROWS * k) // 64 * 64))


@njit()
def _loop_gemm(S, W, C, beta):
    for t in range(S.shape[0]):
        blas.gemm(S[t], W, C, beta)


def _all_steps(S, W, C_all, beta):
    blas.gemm(S.reshape(-1, S.shape[2]), W, C_all.reshape(-1, C_all.shape[2]), beta)


def _cpu(fn, *args):
    t0 = time.thread_time()
    fn(*args)
    return time.thread_time() - t0


def _placed(a, offset):
    """A copy of a whose first element is `offset` bytes past a 64-byte boundary (numpy's own arrays land anywhere
    16 bytes apart: kernels/aligned.py)."""
    buf = np.empty(a.nbytes + 128, np.uint8)
    start = -buf.ctypes.data % 64 + offset
    out = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def measure(dtype, m, k, n, beta, steps, repeats, rng, all_steps=False, offset=0, tiles=False):
    """Medians (one call, gemm, all steps or None, 8-row tiles or None) in microseconds per step, taking turns.
    offset: where B starts, in bytes past a 64-byte boundary (the library keeps its weights at 0)."""
    S = rng.standard_normal((steps, m, k)).astype(dtype)
    W = _placed((rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype), offset)
    C = np.zeros((m, n), dtype)
    C_all = np.zeros((steps, m, n), dtype)
    _loop_one_call(S, W, C, beta)   # compile, and touch every page
    _loop_gemm(S, W, C, beta)
    _all_steps(S, W, C_all, beta)
    rows, cols = _eight_row_tiles(k, n)
    one, ours, every, tiled = [], [], [], []
    for _ in range(repeats):
        one.append(_cpu(_loop_one_call, S, W, C, beta))
        ours.append(_cpu(_loop_gemm, S, W, C, beta))
        if all_steps:
            every.append(_cpu(_all_steps, S, W, C_all, beta))
        if tiles:
            tiled.append(_cpu(_loop_tiles, S, W, C, beta, rows, cols))
    per_step = [np.median(x) / steps * 1e6 if x else None for x in (one, ours, every, tiled)]
    return tuple(per_step)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtype", default="float32,float64")
    ap.add_argument("--rows", default="1,4,8,16,32,64")
    ap.add_argument("--shapes", default=",".join(SHAPES), help="KxN of B, comma-separated")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--all-steps", action="store_true", help="also every step's product as one call")
    ap.add_argument("--offsets", default="0", help="where B starts, bytes past a 64-byte boundary, e.g. 0,16")
    ap.add_argument("--tiles", action="store_true", help="also 8-row tiles where gemm makes one call (the bound "
                    "for many rows, SPLIT_GEMM_MAX_MACS, left out)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"OpenBLAS kernels: {blas._OPENBLAS_CORE['name'] or '?'}; SPLIT_GEMM = {blas.SPLIT_GEMM}; 1 thread; "
          f"CPU us per call, median of {args.repeats} x {args.steps} steps")
    print(f"{'dtype':8} {'M':>3} {'K':>5} {'N':>5} {'beta':>4} {'B at':>4} {'one call':>9} {'gemm':>8} {'tile':>8} "
          f"{'speed-up':>8}"
          + (f" {'all steps':>9}" if args.all_steps else "") + (f" {'8-row tiles':>12}" if args.tiles else ""))
    for dtype in args.dtype.split(","):
        for shape in args.shapes.split(","):
            k, n = (int(v) for v in shape.split("x"))
            beta = 0 if n >= k else 1     # the forward's product overwrites, the backward's adds
            for m, offset in ((int(v), int(o)) for v in args.rows.split(",") for o in args.offsets.split(",")):
                one, ours, every, tiled = measure(np.dtype(dtype), m, k, n, beta, args.steps, args.repeats, rng,
                                                  args.all_steps, offset, args.tiles)
                small = m <= blas.SMALL_GEMM_ROWS or m * n * k <= blas.SMALL_GEMM_FLOPS   # gemm's own loop
                tile = "loop" if small else "%dx%d" % blas._tile(m, n, k, np.dtype(dtype).itemsize, blas.SPLIT_GEMM)
                print(f"{dtype:8} {m:3d} {k:5d} {n:5d} {beta:4d} {offset:4d} {one:9.1f} {ours:8.1f} {tile:>8} "
                      f"{one / ours:7.2f}x"
                      + (f" {every:9.1f}" if every is not None else "")
                      + (f" {tiled:12.1f}" if tiled is not None else ""), flush=True)


if __name__ == "__main__":
    main()
