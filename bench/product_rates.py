"""How fast does this CPU's BLAS run each product of issue 17's step? A probe (GFLOP/s, one thread).

Issue 17's checkpointed step (fused LSTM, T=1000, B=32, I=H=256, float32) costs the full step plus the
rerun of 912 steps, and the rerun is two products a step (x W_ih^T, h_{t-1} W_hh^T) with some elementwise
work. Could the rerun's products run faster in another shape than the full step's forward runs them? In
the rerun every h_{t-1} is known (the kept output), so both products could run as ONE product of K = I + H
= 512: [x_t | h_{t-1}] [W_ih | W_hh]^T over a whole piece. This times, through the library's own
blas.gemm_nt / gemm_nn / gemm_tn (one thread, process CPU time, medians of --rounds):

    projection      (32000 x 256) (256 x 1024)^T    the forward's and the rerun's x W_ih^T
    stacked         (32000 x 512) (512 x 1024)^T    both rerun products as one (the idea above)
    recurrent       32-row (32 x 256) (256 x 1024)^T, 1000 times: the per-step h W_hh^T
    dgates W_hh     32-row (32 x 1024) (1024 x 256), 1000 times: the backward loop's per-step product
    dW              (256 x 32000) (32000 x 1024): a weight gradient
    dx              (32000 x 1024) (1024 x 256): the input's gradient

    python bench/product_rates.py --rounds 7
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinygrad_rnn.kernels.blas import gemm_nn, gemm_nt, gemm_tn, single_threaded  # noqa: E402

T, B, H = 1000, 32, 256


def per_step(product, a, b, c):
    """The per-step form: product over 32-row slices, one per step."""
    def run():
        for t in range(T):
            product(a[t], b, c[t], 0.0)
    return run


def cases(rng):
    def draw(*shape):
        return rng.standard_normal(shape, dtype=np.float32)
    x, xh, dg = draw(T * B, H), draw(T * B, 2 * H), draw(T * B, 4 * H)
    w, wc, out, small = draw(4 * H, H), draw(4 * H, 2 * H), np.empty((T * B, 4 * H), np.float32), draw(T * B, H)
    flops = 2.0 * T * B * 4 * H * H
    return [
        ("projection", flops, lambda: gemm_nt(x, w, out, 0.0)),
        ("stacked (both rerun products)", 2 * flops, lambda: gemm_nt(xh, wc, out, 0.0)),
        ("recurrent, per step", flops, per_step(gemm_nt, x.reshape(T, B, H), w, out.reshape(T, B, 4 * H))),
        ("dgates W_hh, per step", flops, per_step(gemm_nn, dg.reshape(T, B, 4 * H), w, small.reshape(T, B, H))),
        ("dW", flops, lambda: gemm_tn(x, dg, np.empty((H, 4 * H), np.float32), 0.0)),
        ("dx", flops, lambda: gemm_nn(dg, w, small, 0.0)),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    table = cases(np.random.default_rng(0))
    times = {name: [] for name, _, _ in table}
    with single_threaded():
        for _, _, run in table:
            run()                                   # compile and warm
        for _ in range(args.rounds):               # rounds alternate the cases: load changes hit all alike
            for name, _, run in table:
                start = time.process_time()
                run()
                times[name].append(time.process_time() - start)
    print(f"one thread, float32, medians of {args.rounds} rounds (process CPU)")
    for name, flops, _ in table:
        seconds = float(np.median(times[name]))
        print(f"  {name:32s} {seconds * 1e3:8.1f} ms  {flops / seconds / 1e9:6.1f} GFLOP/s")


if __name__ == "__main__":
    main()
