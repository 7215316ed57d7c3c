"""Would the forward loops cost less with the input projection inside each step's product? A probe (issue 17).

Every forward loop of the fused LSTM (the full forward, checkpoint=True's first forward and its reruns)
runs, per piece of L steps, the projection X W_ih^T as one product of L * B rows into XW (the pre-activations'
input part, 4H a row, written to memory and read back by the loop), then per step the recurrent product
h_{t-1} W_hh^T (K = H) by blas.gemm. The alternative: no projection, and per step one product of
[x_t, h_{t-1}] (copied side by side, K = I + H) by [W_ih; W_hh]^T, the bias added in the elementwise pass.
Both are timed here as they would run in a loop (compiled, blas.gemm as the kernels call it, the add of
the loop's pre-activation read included), one thread, CPU time of this thread, rounds alternating:

    python bench/fused_input_probe.py --rounds 60
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinygrad_rnn.compile.scalar import gemm_nt  # noqa: E402
from tinygrad_rnn.kernels import blas, njit  # noqa: E402
from tinygrad_rnn.kernels.blas import single_threaded  # noqa: E402


@njit()
def projected(X, W_ih, S, W_hh_t, XW, C, pre):
    """Today: the piece's projection, then per step the recurrent product and the sum the loop reads."""
    gemm_nt(X.reshape(-1, X.shape[2]), W_ih, XW.reshape(-1, XW.shape[2]), 0)
    for t in range(X.shape[0]):
        blas.gemm(S[t], W_hh_t, C, 0)
        for b in range(C.shape[0]):
            for j in range(C.shape[1]):
                pre[b, j] = XW[t, b, j] + C[b, j]


@njit()
def fused(X, S, W_t, Z, bias, C, pre):
    """The alternative: per step [x_t, h_{t-1}] into Z, one product with K = I + H, the bias in the sum."""
    n_in = X.shape[2]
    for t in range(X.shape[0]):
        for b in range(Z.shape[0]):
            for j in range(n_in):
                Z[b, j] = X[t, b, j]
            for j in range(S.shape[2]):
                Z[b, n_in + j] = S[t, b, j]
        blas.gemm(Z, W_t, C, 0)
        for b in range(C.shape[0]):
            for j in range(C.shape[1]):
                pre[b, j] = bias[j] + C[b, j]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--piece", type=int, default=64, help="steps per piece (checkpoint=True on one thread: 64)")
    args = ap.parse_args()
    L, B, I, H = args.piece, 32, 256, 256
    rng = np.random.default_rng(0)
    dt = np.float32
    X = rng.standard_normal((L, B, I)).astype(dt)
    S = rng.standard_normal((L, B, H)).astype(dt)
    W_ih = (rng.standard_normal((4 * H, I)) / np.sqrt(I)).astype(dt)
    W_hh_t = (rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(dt)
    W_t = np.ascontiguousarray(np.concatenate([W_ih.T, W_hh_t], 0))
    XW, C, Z = np.empty((L, B, 4 * H), dt), np.empty((B, 4 * H), dt), np.empty((B, I + H), dt)
    pre, pre_fused, bias = np.empty((B, 4 * H), dt), np.empty((B, 4 * H), dt), np.zeros(4 * H, dt)
    runs = {"projected": lambda: projected(X, W_ih, S, W_hh_t, XW, C, pre),
            "fused": lambda: fused(X, S, W_t, Z, bias, C, pre_fused)}
    spent = {name: [] for name in runs}
    with single_threaded():
        for run in runs.values():   # compile, touch every page
            run()
        apart = float(np.abs(pre - pre_fused).max() / np.abs(pre).max())
        for r in range(args.rounds):
            for name, run in list(runs.items())[::1 if r % 2 else -1]:
                t0 = time.thread_time()
                run()
                spent[name].append((time.thread_time() - t0) / L)
    a, b = np.array(spent["projected"]), np.array(spent["fused"])
    print(f"B={B} I=H={H} float32, pieces of {L} steps, 1 thread, {args.rounds} rounds (last step's pre-activations "
          f"apart by {apart:.1e} of their largest)")
    print(f"  projection + per-step product (K={H})   {np.median(a) * 1e6:7.1f} us per step")
    print(f"  per-step product of [x, h] (K={I + H})     {np.median(b) * 1e6:7.1f} us per step   "
          f"ratio per round {np.median(b / a):.3f} (faster in {(b < a).sum()} of {args.rounds})")


if __name__ == "__main__":
    main()
