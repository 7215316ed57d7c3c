"""The cells of `bench/compiled_cells.py --others` against tr.nn.LSTM in one process, in CPU time: a developer's probe.

    python bench/others_ratio.py --shape 50x32x64x128 --threads 2 --rounds 30
    python bench/others_ratio.py --shape 20x1x10x20 --threads 1 --calls 200 --cells lstm,peephole

compiled_cells.py times single steps in wall time, a few dozen per cell: on a machine shared with other work
its p25-p75 spans tens of percent at 2 threads. Here the layers take turns round by round (a rotated order,
one untimed step after each switch, then --calls steps timed together), and per round and cell three
numbers per step are kept: process CPU (all threads: at 2 threads CPU spent, not a duration), wall, and
"idle cores", max(the calling thread's CPU, process CPU / threads), what the step would take on cores
nobody else uses (it misses waits between the threads). Printed per cell: medians (p25-p75) in ms, and
the median over rounds of the per-round ratio to lstm (the rounds pair the cells in time, so a slow phase of
the machine cancels). Gradients are not checked here (tests/nn do); asserts nothing. The checkout is the
one this file is in (PYTHONPATH is ignored).
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="50x32x64x128", help="T x B x I x H")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--rounds", type=int, default=30)
ap.add_argument("--calls", type=int, default=3, help="steps timed together per round and cell")
ap.add_argument("--cells", default="lstm,user-lstm,peephole,jordan,layernorm")
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from bench.user_cells import UserLSTMCell  # noqa: E402


def layer_of(name, I, H):
    dt = np.float32
    if name == "lstm":
        return tr.nn.LSTM(I, H, dtype=dt)
    cell = {"user-lstm": UserLSTMCell, "peephole": tr.nn.PeepholeLSTMCell, "jordan": tr.nn.JordanCell,
            "layernorm": tr.nn.LayerNormLSTMCell}[name]
    return tr.nn.Recurrent(cell, I, H, dtype=dt)


def step_of(layer, x):
    def step():
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()
    return step


def timed(step):
    """(process CPU, wall, idle cores) per step in ms over ARGS.calls steps, after one untimed step."""
    step()
    cpu, wall, main = time.process_time(), time.perf_counter(), time.thread_time()
    for _ in range(ARGS.calls):
        step()
    cpu, wall, main = (time.process_time() - cpu, time.perf_counter() - wall, time.thread_time() - main)
    return np.array([cpu, wall, max(main, cpu / ARGS.threads)]) * 1e3 / ARGS.calls


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    names = ARGS.cells.split(",")
    steps = {name: step_of(layer_of(name, I, H), x) for name in names}
    for step in steps.values():   # compile, warm up
        for _ in range(3):
            step()
    res = {name: [] for name in names}
    for r in range(ARGS.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            res[name].append(timed(steps[name]))
    res = {name: np.array(v) for name, v in res.items()}
    print(f"{ARGS.shape}, float32, {ARGS.threads} thread(s), {ARGS.rounds} rounds x {ARGS.calls} steps; ms per "
          "step, median (p25-p75); x lstm = median of the rounds' ratios", flush=True)
    for name, v in res.items():
        cols = []
        for k, label in enumerate(("cpu", "wall", "idle")):
            p25, med, p75 = np.percentile(v[:, k], [25, 50, 75])
            ratio = np.median(v[:, k] / res["lstm"][:, k])
            cols.append(f"{label} {med:8.3f} ({p25:.3f}-{p75:.3f}) {ratio:.3f}x")
        print(f"  {name:10s} " + "  ".join(cols), flush=True)


if __name__ == "__main__":
    main()
