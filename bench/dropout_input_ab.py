"""A/B of a compiled cell with dropout of its input (`x = F.dropout(x, p)` before the input projection) between two
checkouts of the library: separate processes taking turns (old, new, old, new, ...), each timing training steps of
the same layer (zero_grad, forward, out.sum(), backward) after a warm-up (and the kernels' compilation).

    python bench/dropout_input_ab.py --old /path/to/main --threads 1 --rounds 6    # and --threads 2

Printed: per checkout the median over the rounds of each process's median per-step time, in microseconds, as
process CPU time (all threads) and wall time, and new / old. `--child ROOT` is one process's run (internal).
"""
import argparse
import os
import subprocess
import sys

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--old", help="the root of the other checkout (its tinygrad_rnn is imported by the old processes)")
ap.add_argument("--shape", default="100x32x128x256", help="T x B x I x H")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--rounds", type=int, default=6)
ap.add_argument("--calls", type=int, default=5, help="steps timed per process")
ap.add_argument("--p", type=float, default=0.25)
ap.add_argument("--child", help=argparse.SUPPRESS)
ARGS = ap.parse_args()
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(root):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)
    sys.path.insert(0, root)
    import time

    import numpy as np

    import tinygrad_rnn as tr
    from tinygrad_rnn.nn import functional as F

    class DropInputLSTMCell(tr.nn.RecurrentCell):
        def __init__(self, input_size, hidden_size, dtype=np.float32):
            self.input_size, self.hidden_size = input_size, hidden_size
            self.state_sizes = (hidden_size, hidden_size)
            k, rng = 1.0 / np.sqrt(hidden_size), tr.random.generator()
            self.W = tr.nn.Parameter(rng.uniform(-k, k, (4 * hidden_size, input_size)).astype(dtype))
            self.U = tr.nn.Parameter(rng.uniform(-k, k, (4 * hidden_size, hidden_size)).astype(dtype))
            self.b = tr.nn.Parameter(rng.uniform(-k, k, 4 * hidden_size).astype(dtype))

        def forward(self, x, state):
            h, c = state
            x = F.dropout(x, ARGS.p, self.training)
            i, f, g, o = (x @ self.W.T + h @ self.U.T + self.b).chunk(4, axis=-1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            return o.sigmoid() * c.tanh(), c

    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(DropInputLSTMCell, I, H, dtype=np.float32)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    cpu, wall = [], []
    for n in range(3 + ARGS.calls):
        c0, w0 = time.process_time_ns(), time.perf_counter_ns()
        layer.zero_grad()
        layer(x)[0].sum().backward()
        if n >= 3:   # (the first steps compile or load the kernels and fill the buffer pool)
            cpu.append((time.process_time_ns() - c0) / 1e3)
            wall.append((time.perf_counter_ns() - w0) / 1e3)
    print(np.median(cpu), np.median(wall))


def main():
    import numpy as np
    roots = {"old": os.path.abspath(ARGS.old), "new": HERE}
    times = {name: [] for name in roots}
    for r in range(ARGS.rounds):
        for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
            argv = [sys.executable, os.path.abspath(__file__), "--child", roots[name], "--shape", ARGS.shape,
                    "--threads", str(ARGS.threads), "--calls", str(ARGS.calls), "--p", str(ARGS.p)]
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env).stdout.split()
            times[name].append((float(out[0]), float(out[1])))
    old, new = (np.median(np.array(times[name]), axis=0) for name in ("old", "new"))
    parts = [f"{label} old {old[k]:.0f} us new {new[k]:.0f} us new/old {new[k] / old[k]:.3f}"
             for k, label in enumerate(("cpu", "wall"))]
    print(f"{ARGS.shape} float32 {ARGS.threads}t dropout of x p={ARGS.p}, {ARGS.rounds} rounds x {ARGS.calls} steps: "
          + "   |   ".join(parts))


if __name__ == "__main__":
    if ARGS.child:
        child(ARGS.child)
    else:
        main()
