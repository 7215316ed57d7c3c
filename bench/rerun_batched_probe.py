"""Would a checkpointed rerun be cheaper if its recurrent product ran as one product per piece? A probe.

In checkpoint=True's backward each recomputed piece (32 steps of issue 17's fused LSTM, T=1000, B=32,
I=H=256, float32) reruns `project` (X W_ih^T + biases, one product) and the `forward` loop, which computes
h_{t-1} W_hh^T step by step (a 32-row product per step) before each step's elementwise work. Where the
layer's output h is kept (it is: the output), every h_{t-1} of a piece is known before the rerun starts,
so that product could run as ONE (32 * 32)-row product per piece, added into the projection's buffer
(beta 1), and the loop could be elementwise only (c still goes step to step). This probe builds that
variant from the layer's own generated source (text edits of `forward`, asserted) and times, one thread,
CPU time (time.thread_time), rounds alternating:

    generated   project + forward (the loop as generated: a product per step)
    batched     project + one product of the piece's h_{t-1} rows into XW0 + the loop without its product
    apart       as batched, but the product into a buffer of its own (STEPS, B, 4H) that the loop reads
                at step t: what a cell whose recurrent product is not simply added to a projection (a
                GRU's r * (h W_hn^T + b_hn)) would need
    split       the batched variant's product alone, and its loop alone

over --pieces pieces of 32 steps per round (28: the reruns of issue 17's step); medians of --rounds and
the median per-round ratio batched / generated. It also checks the two give the same gates, bitwise.

    python bench/rerun_batched_probe.py --rounds 30
"""
import argparse
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.codegen import import_module  # noqa: E402
from tinygrad_rnn.kernels.blas import single_threaded  # noqa: E402

STEPS, BATCH, SIZE = 32, 32, 256

ADDED = '''

@njit(error_model='numpy', nogil=True)
def recurrent_into(S0, Wh, XW0):
    n = XW0.shape[0] * XW0.shape[1]
    gemm_nt(S0[0:XW0.shape[0]].reshape(n, S0.shape[2]), Wh, XW0.reshape(n, XW0.shape[2]), 1)


@njit(error_model='numpy', nogil=True)
def recurrent_apart(S0, Wh, C0):
    n = C0.shape[0] * C0.shape[1]
    gemm_nt(S0[0:C0.shape[0]].reshape(n, S0.shape[2]), Wh, C0.reshape(n, C0.shape[2]), 0)
'''


def batched_source(source):
    """The generated module plus `forward_in` (the forward loop without its per-step product, which reads
    the pre-activation from XW0 alone) and `recurrent_into` (that product for every step, added into XW0)."""
    start = source.index("@njit(error_model='numpy', nogil=True)\ndef forward(")
    end = source.index("@njit(error_model='numpy', nogil=True)\ndef backward(")
    loop = source[start:end].replace("def forward(", "def forward_in(")
    loop, products = re.subn(r"\n +gemm\(S0\[t, b0:rows\], Wt0, C0\[b0:rows\], 0\)", "", loop)
    apart = loop.replace("def forward_in(", "def forward_apart(").replace("C0[b, ", "C0[t, b, ")
    loop, reads = re.subn(r"\((v\d+)\) \+ \(C0\[b, [^\]]*\]\)", r"(\1)", loop)
    assert products == 1 and reads == 4 and "C0[" not in loop, (products, reads)
    return source + "\n\n" + loop + "\n\n" + apart + ADDED


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--pieces", type=int, default=28)
    args = ap.parse_args()
    layer = tr.nn.LSTM(SIZE, SIZE, dtype=np.float32)
    module, _ = import_module(batched_source(layer.kernel_source()), "the probe's LSTM")
    rng = np.random.default_rng(0)
    T = args.pieces * STEPS
    x = rng.standard_normal((T, BATCH, SIZE), dtype=np.float32)
    h = np.tanh(rng.standard_normal((T + 1, BATCH, SIZE), dtype=np.float32))  # the kept output, row 0 entering
    w_ih, w_hh = layer.weight_ih_l0._data, layer.weight_hh_l0._data
    b_ih, b_hh = layer.bias_ih_l0._data, layer.bias_hh_l0._data
    w_hh_t = np.ascontiguousarray(w_hh.T)
    lengths = np.full(BATCH, STEPS, np.int64)
    s0, s1 = np.empty((STEPS + 1, BATCH, SIZE), np.float32), np.zeros((STEPS + 1, BATCH, SIZE), np.float32)
    xw, c0 = np.empty((STEPS, BATCH, 4 * SIZE), np.float32), np.empty((BATCH, 4 * SIZE), np.float32)
    gates = [np.empty((STEPS, BATCH, SIZE), np.float32) for _ in range(5)]

    def generated(p):
        s0[:] = h[p * STEPS:(p + 1) * STEPS + 1]
        module.project(x[p * STEPS:(p + 1) * STEPS], w_ih, b_hh, b_ih, xw, 0, STEPS)
        module.forward(lengths, x, s0, s1, xw, c0, *gates, w_hh_t, 0, BATCH)

    every = np.empty((STEPS, BATCH, 4 * SIZE), np.float32)

    def apart(p):
        s0[:] = h[p * STEPS:(p + 1) * STEPS + 1]
        module.project(x[p * STEPS:(p + 1) * STEPS], w_ih, b_hh, b_ih, xw, 0, STEPS)
        module.recurrent_apart(s0, w_hh, every)
        module.forward_apart(lengths, x, s0, s1, xw, every, *gates, w_hh_t, 0, BATCH)

    def batched(p, product=True, loop=True):
        s0[:] = h[p * STEPS:(p + 1) * STEPS + 1]
        module.project(x[p * STEPS:(p + 1) * STEPS], w_ih, b_hh, b_ih, xw, 0, STEPS)
        if product:
            module.recurrent_into(s0, w_hh, xw)
        if loop:
            module.forward_in(lengths, x, s0, s1, xw, c0, *gates, w_hh_t, 0, BATCH)

    # the same gates: the generated loop's own h, then the batched variant given that h as the kept output
    generated(0)
    h[:STEPS + 1] = s0
    want = [g.copy() for g in gates] + [s0.copy(), s1.copy()]
    batched(0)
    same = all(np.array_equal(a, b) for a, b in zip(want, gates + [s0, s1]))
    print(f"fused LSTM piece of {STEPS} steps, B={BATCH}, I=H={SIZE}, float32, 1 thread; gates bitwise equal: {same}")
    variants = {"generated": generated, "batched": batched, "apart": apart,
                "  its product + project": lambda p: batched(p, loop=False),
                "  its loop + project": lambda p: batched(p, product=False)}
    spent = {name: [] for name in variants}
    with single_threaded():
        for r in range(args.rounds):
            order = list(variants.items())
            for name, run in order if r % 2 else order[::-1]:
                t0 = time.thread_time()
                for p in range(args.pieces):
                    run(p)
                spent[name].append(time.thread_time() - t0)
    for name, times in spent.items():
        print(f"  {name:26s} {np.median(times) * 1e3:8.1f} ms CPU per {args.pieces} pieces (median of {args.rounds})")
    ratio = np.median(np.array(spent["batched"]) / np.array(spent["generated"]))
    print(f"  batched / generated, median per round: {ratio:.3f}")
    ratio = np.median(np.array(spent["apart"]) / np.array(spent["generated"]))
    print(f"  apart / generated, median per round: {ratio:.3f}")


if __name__ == "__main__":
    main()
