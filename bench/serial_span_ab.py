"""checkpoint=True's pieces on one thread: ceil(sqrt(T)) steps against SERIAL_SPAN times that, in one process.

Issue 17's fused LSTM (T=1000, B=32, I=H=256, float32), 1 thread, one checkpoint=True layer whose plan's
span (nn/recurrent.py's SERIAL_SPAN, read at each call) alternates between 1 (pieces of 32 steps) and 2
(64) round by round, the order alternating too; process CPU time per training step, medians and the
median per-round ratio. One process on purpose: across processes the same policy's ratio to the full
step varied by 0.02-0.03 from process to process (bench/README.md), as much as the effect measured here.
Also prints how far the two spans' gradients are apart (different piece edges: different sums' order).

    python bench/serial_span_ab.py --rounds 30
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import memory_budget as mb  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.nn import recurrent  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    tr.set_num_threads(1)
    run = mb._layer_and_data(1000, 32, 256, 256, {"checkpoint": True})
    grads = {}
    for span in (1, 2):   # (also the warm-up: each span's buffer sizes in the pool)
        recurrent.SERIAL_SPAN = span
        mb._step(*run)
        grads[span] = [p.grad.numpy().copy() for p in run[0].parameters()]
    apart = max(float(np.abs(a - b).max() / np.abs(a).max()) for a, b in zip(grads[1], grads[2]))
    spent = {1: [], 2: []}
    for r in range(args.rounds):
        for span in (1, 2) if r % 2 else (2, 1):
            recurrent.SERIAL_SPAN = span
            t0 = time.process_time()
            mb._step(*run)
            spent[span].append(time.process_time() - t0)
    one, two = np.array(spent[1]), np.array(spent[2])
    print(f"fused LSTM T=1000 B=32 I=H=256 float32, checkpoint=True, 1 thread, {args.rounds} rounds (process CPU):")
    print(f"  span 1 (32-step pieces) {np.median(one) * 1e3:7.1f} ms   span 2 (64-step) {np.median(two) * 1e3:7.1f} ms")
    print(f"  span 2 / span 1, median per round: {np.median(two / one):.3f}; span 2 faster in {(two < one).sum()} "
          f"rounds; gradients' largest difference relative to their largest entry: {apart:.1e}")


if __name__ == "__main__":
    main()
