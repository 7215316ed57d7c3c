"""A GELU Elman cell, h' = gelu(x W^T + h U^T + b), compiled (fused=True) against the generic tape (fused=False) and
against the built-in tr.nn.RNN (tanh, compiled), per training step: a developer's probe.

    python bench/gelu_cell.py --threads 1                          # 20x1x10x20, float32
    python bench/gelu_cell.py --threads 2 --shape 100x32x128x256 --calls 3 --batches 8

One step = zero_grad, forward, out.sum(), backward (as bench/compiled_cells.py). The layers take turns batch by
batch (--calls steps each, in a rotated order); printed: per layer the median over the batches of the per-step
time in microseconds, as process CPU time (time.process_time_ns: all threads, so at 2 threads CPU spent, not a
duration) and wall time, and each ratio to the compiled GELU cell. --approximate tanh times gelu's tanh form.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="20x1x10x20", help="T x B x I x H")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batches", type=int, default=15)
ap.add_argument("--calls", type=int, default=100)
ap.add_argument("--approximate", default="none", choices=("none", "tanh"))
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.nn import functional as F  # noqa: E402


class GeluElmanCell(tr.nn.RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        self.input_size, self.hidden_size = input_size, hidden_size
        k, rng = 1.0 / np.sqrt(hidden_size), tr.random.generator()
        self.weight_ih = tr.nn.Parameter(rng.uniform(-k, k, (hidden_size, input_size)).astype(dtype))
        self.weight_hh = tr.nn.Parameter(rng.uniform(-k, k, (hidden_size, hidden_size)).astype(dtype))
        self.bias = tr.nn.Parameter(rng.uniform(-k, k, hidden_size).astype(dtype))

    def forward(self, x, h):
        return F.gelu(x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias, approximate=ARGS.approximate)


def step_of(layer, x):
    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()
    return step


def timed(steps):
    """Per layer, the per-step CPU and wall times (us) of each batch, the layers taking turns."""
    cpu, wall = ({name: [] for name in steps} for _ in range(2))
    names = list(steps)
    for b in range(ARGS.batches):
        for name in names[b % len(names):] + names[:b % len(names)]:
            c0, w0 = time.process_time_ns(), time.perf_counter_ns()
            for _ in range(ARGS.calls):
                steps[name]()
            cpu[name].append((time.process_time_ns() - c0) / ARGS.calls / 1e3)
            wall[name].append((time.perf_counter_ns() - w0) / ARGS.calls / 1e3)
    return cpu, wall


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    dt = np.float32
    tr.manual_seed(0)
    layers = {"gelu_fused": tr.nn.Recurrent(GeluElmanCell, I, H, dtype=dt),
              "gelu_tape": tr.nn.Recurrent(GeluElmanCell, I, H, dtype=dt, fused=False),
              "rnn_tanh": tr.nn.RNN(I, H, dtype=dt)}
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(dt))
    steps = {name: step_of(layer, x) for name, layer in layers.items()}
    for step in steps.values():   # compile, warm up
        for _ in range(max(3, ARGS.calls // 4)):
            step()
    parts = []
    for label, res in zip(("cpu", "wall"), timed(steps)):
        base = np.median(res["gelu_fused"])
        parts.append(f"{label}: " + "  ".join(
            f"{n} {np.median(v):8.1f}" + ("" if n == "gelu_fused" else f" {np.median(v) / base:.2f}x")
            for n, v in res.items()))
    print(f"{ARGS.shape} {ARGS.threads}t gelu={ARGS.approximate}  " + "   |   ".join(parts), flush=True)


if __name__ == "__main__":
    main()
