"""The tape's own cost per parameter of a fused layer's training step, without the kernels: a developer's probe.

    python bench/tape_per_leaf.py                  # nodes with 4 and 7 leaf inputs, 1 thread
    python bench/tape_per_leaf.py --leaves 4,7,16 --rounds 40

Issue 12 compares PeepholeLSTMCell (7 parameters) and JordanCell (6) with tr.nn.LSTM (4) at 20x1x10x20, where
the step is tens of microseconds. This probe isolates what the tape (tape.py: apply and _edges, the
backward walk, the leaf-version check, the leaves' first .grad) pays per leaf input: one node of a stand-in
primitive with `fresh_grads` (as compile/node.CompiledRecurrence) taking x (no grad) and N parameters, whose
forward returns three new zeroed outputs of a layer's shapes and whose backward returns N ready gradients, then
out.sum() and backward(), after setting every .grad to None. The generated kernels, their wrappers and the
layer's own Python are not in it (bench/cell_step_phases.py and bench/step_opcodes.py cover those).

CPU time of this thread (time.thread_time_ns) per step, the node sizes interleaved round by round; printed:
the median per size and the slope per added leaf between the smallest and the largest size. On 2026-12-02
(Python 3.11, a shared machine) the slope was 0.21-0.28 us per leaf: 3 parameters more cost the tape under
a microsecond of a peephole step's 60-100 us.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--leaves", default="4,7", help="leaf inputs per node, comma-separated")
ap.add_argument("--rounds", type=int, default=30)
ap.add_argument("--calls", type=int, default=2000)
ap.add_argument("--threads", type=int, default=1)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.primitives import Primitive  # noqa: E402
from tinygrad_rnn.tape import apply  # noqa: E402

T, B, I, H = 20, 1, 10, 20


class StandIn(Primitive):
    """(x, params...) -> (output, two final states), as a fused layer's node; backward hands back `grads`."""

    fresh_grads = True

    @staticmethod
    def forward(x, *params, grads):
        # zeros, not empty: out.sum() reads the output (garbage could overflow, and warn)
        outs = (np.zeros((T, B, H), np.float32), np.zeros((1, B, H), np.float32), np.zeros((1, B, H), np.float32))
        return outs, None

    @staticmethod
    def backward(gs, saved, needs, grads):
        return (None,) + grads


def step_of(n):
    params = [tr.nn.Parameter(np.zeros(H, np.float32)) for _ in range(n)]
    x = tr.Tensor(np.zeros((T, B, I), np.float32))
    grads = tuple(np.zeros(H, np.float32) for _ in range(n))   # (kept as .grad: never written here)

    def step():
        for p in params:
            p.grad = None
        apply(StandIn, x, *params, grads=grads)[0].sum().backward()
    return step


def main():
    sizes = [int(n) for n in ARGS.leaves.split(",")]
    steps = {n: step_of(n) for n in sizes}
    for step in steps.values():
        for _ in range(200):
            step()
    times = {n: [] for n in sizes}
    for r in range(ARGS.rounds):
        for n in sizes[r % len(sizes):] + sizes[:r % len(sizes)]:
            step = steps[n]
            t0 = time.thread_time_ns()
            for _ in range(ARGS.calls):
                step()
            times[n].append((time.thread_time_ns() - t0) / ARGS.calls / 1e3)
    med = {n: float(np.median(v)) for n, v in times.items()}
    lo, hi = min(sizes), max(sizes)
    slope = (med[hi] - med[lo]) / (hi - lo) if hi > lo else float("nan")
    print(f"{ARGS.threads} thread(s), CPU us per step (median of {ARGS.rounds} rounds x {ARGS.calls}): "
          + "  ".join(f"{n} leaves {v:.2f}" for n, v in med.items()) + f"   per leaf {slope:.3f} us", flush=True)


if __name__ == "__main__":
    main()
