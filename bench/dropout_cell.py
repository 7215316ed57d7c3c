"""An LSTM-like user cell with dropout inside (recurrent dropout, Semeniuta et al. 2016: on the candidate g; or
on the recurrent input h, or both), compiled in training mode (masks drawn per step by the layer) against the same
cell compiled in eval() mode (no dropout) and against the generic tape (fused=False), per training step: a
developer's probe.

    python bench/dropout_cell.py --threads 1 --shape 100x32x128x256 --batches 6 --calls 3   # and --threads 2
    python bench/dropout_cell.py --threads 1 --drop h ...                                     # dropout on h

One step = zero_grad, forward, out.sum(), backward (as bench/gelu_cell.py). The layers take turns batch by batch
(--calls steps each, in a rotated order, in one process); printed: per layer the median over the batches of the
per-step time in microseconds, as process CPU time (all threads) and wall time, and each ratio to the compiled
layer in training mode.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="100x32x128x256", help="T x B x I x H")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batches", type=int, default=6)
ap.add_argument("--calls", type=int, default=3)
ap.add_argument("--drop", default="g", choices=("g", "h", "both"), help="where the cell's dropout is")
ap.add_argument("--p", type=float, default=0.25)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.nn import functional as F  # noqa: E402


class DropLSTMCell(tr.nn.RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.state_sizes = (hidden_size, hidden_size)
        k, rng = 1.0 / np.sqrt(hidden_size), tr.random.generator()
        self.W = tr.nn.Parameter(rng.uniform(-k, k, (4 * hidden_size, input_size)).astype(dtype))
        self.U = tr.nn.Parameter(rng.uniform(-k, k, (4 * hidden_size, hidden_size)).astype(dtype))
        self.b = tr.nn.Parameter(rng.uniform(-k, k, 4 * hidden_size).astype(dtype))

    def forward(self, x, state):
        h, c = state
        if ARGS.drop in ("h", "both"):
            h = F.dropout(h, ARGS.p, self.training)
        i, f, g, o = (x @ self.W.T + h @ self.U.T + self.b).chunk(4, axis=-1)
        g = g.tanh()
        if ARGS.drop in ("g", "both"):
            g = F.dropout(g, ARGS.p, self.training)
        c = f.sigmoid() * c + i.sigmoid() * g
        return o.sigmoid() * c.tanh(), c


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
    layers = {"train_fused": tr.nn.Recurrent(DropLSTMCell, I, H, dtype=dt),
              "eval_fused": tr.nn.Recurrent(DropLSTMCell, I, H, dtype=dt).eval(),
              "train_tape": tr.nn.Recurrent(DropLSTMCell, I, H, dtype=dt, fused=False)}
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(dt))
    steps = {name: step_of(layer, x) for name, layer in layers.items()}
    for step in steps.values():   # compile, warm up
        for _ in range(max(2, ARGS.calls)):
            step()
    parts = []
    for label, res in zip(("cpu", "wall"), timed(steps)):
        base = np.median(res["train_fused"])
        parts.append(f"{label}: " + "  ".join(
            f"{n} {np.median(v):9.1f}" + ("" if n == "train_fused" else f" {np.median(v) / base:.2f}x")
            for n, v in res.items()))
    print(f"{ARGS.shape} {ARGS.threads}t drop={ARGS.drop} p={ARGS.p}  " + "   |   ".join(parts), flush=True)


if __name__ == "__main__":
    main()
