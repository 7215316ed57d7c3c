"""Peephole/Jordan/LSTM per training step at a tiny shape, CPU time and wall time: a developer's A/B probe.

    python bench/tiny_step_ratio.py --threads 1            # 20x1x10x20, float32
    python bench/tiny_step_ratio.py --threads 2 --batches 30

The layers issue 12 compares with tr.nn.LSTM at the shape where the per-parameter Python work (the tape's
leaf gradients, the fused node's accumulators, zero_grad; with --adam the optimizer's) is largest beside the
kernels' own: tr.nn.LSTM (4 parameters), PeepholeLSTMCell (7) and JordanCell (6) in tr.nn.Recurrent. One
step = zero_grad, forward, out.sum(), backward, as bench/compiled_cells.py (--adam: then an Adam step). The
layers take turns batch by batch (--calls steps each, in a rotated order); printed: per layer the median
over the batches of the per-step time, microseconds, as process CPU time (time.process_time_ns: all
threads, so at 2 threads it is CPU spent, not a duration) and wall time (time.perf_counter_ns), and each
ratio to lstm. One line per thread count, easy to compare
between two checkouts run alternately (PYTHONPATH is ignored: the checkout is the one this file is in).
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="20x1x10x20")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batches", type=int, default=20)
ap.add_argument("--calls", type=int, default=200)
ap.add_argument("--adam", action="store_true", help="the whole training step: and tr.optim.Adam's step after backward")
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402


def step_of(layer, x):
    opt = tr.optim.Adam(layer.parameters(), lr=1e-4) if ARGS.adam else None

    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()
        if opt is not None:
            opt.step()
    return step


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    dt = np.float32
    layers = {"lstm": tr.nn.LSTM(I, H, dtype=dt),
              "peephole": tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=dt),
              "jordan": tr.nn.Recurrent(tr.nn.JordanCell, I, H, dtype=dt)}
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(dt))
    steps = {name: step_of(layer, x) for name, layer in layers.items()}
    for step in steps.values():   # compile, warm up
        for _ in range(50):
            step()
    cpu = {name: [] for name in layers}
    wall = {name: [] for name in layers}
    names = list(layers)
    for b in range(ARGS.batches):
        for name in names[b % len(names):] + names[:b % len(names)]:
            step = steps[name]
            c0, w0 = time.process_time_ns(), time.perf_counter_ns()
            for _ in range(ARGS.calls):
                step()
            cpu[name].append((time.process_time_ns() - c0) / ARGS.calls / 1e3)
            wall[name].append((time.perf_counter_ns() - w0) / ARGS.calls / 1e3)
    parts = []
    for label, res in (("cpu", cpu), ("wall", wall)):
        base = np.median(res["lstm"])
        parts.append(f"{label}: " + "  ".join(
            f"{n} {np.median(v):6.1f}" + ("" if n == "lstm" else f" {np.median(v) / base:.3f}x")
            for n, v in res.items()))
    print(f"{ARGS.shape} {ARGS.threads}t{' adam' if ARGS.adam else ''}  " + "   |   ".join(parts), flush=True)


if __name__ == "__main__":
    main()
