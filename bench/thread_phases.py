"""Where a fused LSTM step's time goes, per thread, and what batch blocks cost: the numbers behind
bench/README.md's "Threads" section.

    python bench/thread_phases.py 100x32x128x256 --threads 2

Prints (1) the CPU time of each phase of a training step (input projection, forward and backward time
loops, weight gradients) per thread: the calling thread and the pool's; and (2) the forward loop's CPU
time on 1/2, 1/4 and 1/8 of the batch's rows, relative to all rows. CPU time (time.thread_time), not wall
time: on a machine shared with other work the wall time of a thread includes the time others ran on its
core, its CPU time does not. The critical path of a step is about the sum, over the phases, of the busier
thread's time.
"""
import argparse
import collections
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from bench.peers import handwritten_kernels as K  # noqa: E402

PHASES = ["_input_projection", "_project", "_transpose_into", "_lstm_forward_loop", "_lstm_backward_loop",
          "_weight_grads", "_weight_grads_chunk"]


def phase_times(shape, threads, steps=10):
    T, B, I, H = shape
    tr.set_num_threads(threads)
    layer = tr.nn.LSTM(I, H, dtype=np.float32, fused=True)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))

    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()

    for _ in range(2):   # compile first: the wrappers below are Python functions, which compiled code cannot call
        step()
    events, originals = [], {name: getattr(K, name) for name in PHASES}

    def timed(name, fn):
        def run(*args):
            start = time.thread_time()
            result = fn(*args)
            who = "calling thread" if threading.current_thread() is threading.main_thread() else "pool"
            events.append((name, who, time.thread_time() - start))
            return result
        return run

    for name, fn in originals.items():
        setattr(K, name, timed(name, fn))
    per_step = collections.defaultdict(list)
    try:
        for _ in range(steps):
            events.clear()
            step()
            total = collections.defaultdict(float)
            for name, who, seconds in events:
                total[(name, who)] += seconds
            for key, seconds in total.items():
                per_step[key].append(seconds)
    finally:
        for name, fn in originals.items():
            setattr(K, name, fn)
    return {key: float(np.median(v)) * 1e3 for key, v in per_step.items()}


def row_fractions(shape, repeats=7):
    T, B, I, H = shape
    rng = np.random.default_rng(0)
    f32 = np.float32
    x = rng.standard_normal((T, B, I)).astype(f32)
    w_ih = (rng.standard_normal((4 * H, I)) * 0.05).astype(f32)
    w_hh = (rng.standard_normal((4 * H, H)) * 0.05).astype(f32)
    bias = np.zeros(4 * H, f32)
    pre0, w_hh_t = np.empty((T, B, 4 * H), f32), np.empty((H, 4 * H), f32)
    K._input_projection(x, w_ih, bias, bias, True, pre0, w_hh, w_hh_t)
    lengths = np.full(B, T, np.int64)

    def cpu_ms(rows):
        times = []
        for _ in range(repeats + 1):
            pre, h, c = pre0.copy(), np.zeros((B, H), f32), np.zeros((B, H), f32)
            out, cs, rec = np.empty((T, B, H), f32), np.empty((T, B, H), f32), np.empty((B, 4 * H), f32)
            start = time.thread_time()
            K._lstm_forward_loop(pre, h, c, w_hh_t, lengths, False, out, cs, rec, 0, rows)
            times.append(time.thread_time() - start)
        return float(np.median(times[1:])) * 1e3

    full = cpu_ms(B)
    return full, {r: cpu_ms(r) / full for r in (B // 2, B // 4, B // 8) if r >= 1}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("shape", nargs="?", default="100x32x128x256", help="TxBxIxH")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    shape = tuple(int(d) for d in args.shape.split("x"))
    for threads in sorted({1, args.threads}):
        print(f"LSTM {args.shape}, {threads} thread(s): CPU ms per step (median of 10)")
        for (name, who), ms in sorted(phase_times(shape, threads).items()):
            print(f"  {name:22s} {who:15s} {ms:7.2f}")
    full, fractions = row_fractions(shape)
    print(f"forward loop, one thread, all {shape[1]} rows: {full:.1f} ms CPU; on fewer rows, relative: "
          + ", ".join(f"{r} rows {f:.2f}" for r, f in fractions.items()))


if __name__ == "__main__":
    main()
