"""A/B of how a loop-heavy cell's step is split over threads (kernels/runtime.py, LOOP_HEAVY), forward and
backward chosen apart: the layer-norm LSTM's training step with

    blocks      forward loop on batch blocks, backward loop on batch blocks then grads split in time
    bwd-pipe    forward loop on batch blocks, backward pipelined (its loop on the calling thread, grads of
                finished chunks on the workers)
    pipeline    both as a cell that is not loop-heavy gets them
    lstm        tr.nn.LSTM as the library runs it

in one process, in a rotated order each round (one untimed step after each switch, then two timed).

    python bench/schedule_ab.py --shape 50x32x64x128 --threads 2 --rounds 10

Prints medians per step: wall, process CPU (all threads), and "idle cores", max(calling thread's CPU,
process CPU / threads), what the step would take on idle cores if the threads kept busy; each x tr.nn.LSTM;
and bwd-pipe / blocks (the library's split since LOOP_HEAVY_BACKWARD / before). Asserts nothing.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="50x32x64x128", help="T x B x I x H")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--rounds", type=int, default=10)
ap.add_argument("--cell", default="LayerNormLSTMCell", help="a cell class of tr.nn, run by tr.nn.Recurrent")
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile import node  # noqa: E402

SPLIT = {"forward": None, "backward": None}   # True: as a loop-heavy cell; False: as any other; None: the library's
_forward, _backward = node.Kernel._run_forward, node.Kernel._backward_threads


def _as(kernel, which, call):
    """Run call() with the kernel's loop_heavy set as SPLIT[which] says (restored after)."""
    if SPLIT[which] is None or not hasattr(kernel, "loop_heavy"):
        return call()
    own, kernel.loop_heavy = kernel.loop_heavy, SPLIT[which]
    try:
        return call()
    finally:
        kernel.loop_heavy = own


def _run_forward(self, *a, **k):
    return _as(self, "forward", lambda: _forward(self, *a, **k))


def _backward_threads(self, *a, **k):
    return _as(self, "backward", lambda: _backward(self, *a, **k))


node.Kernel._run_forward, node.Kernel._backward_threads = _run_forward, _backward_threads


def step(layer, x):
    layer.zero_grad()
    out, _ = layer(x)
    out.sum().backward()


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    cell, lstm = tr.nn.Recurrent(getattr(tr.nn, ARGS.cell), I, H), tr.nn.LSTM(I, H)
    peers = [("blocks", cell, (True, True)), ("bwd-pipe", cell, (True, False)),
             ("pipeline", cell, (False, False)), ("lstm", lstm, (None, None))]
    for _ in range(3):
        for _, layer, _ in peers:
            step(layer, x)
    wall, cpu, idle = {}, {}, {}
    for r in range(ARGS.rounds):
        for name, layer, (fwd, bwd) in peers[r % 4:] + peers[:r % 4]:
            SPLIT["forward"], SPLIT["backward"] = fwd, bwd
            step(layer, x)   # untimed: the first after a switch
            for _ in range(2):
                start, main_cpu, c = time.perf_counter(), time.thread_time(), time.process_time()
                step(layer, x)
                wall.setdefault(name, []).append((time.perf_counter() - start) * 1e3)
                cpu.setdefault(name, []).append((time.process_time() - c) * 1e3)
                idle.setdefault(name, []).append(max(time.thread_time() - main_cpu,
                                                     (time.process_time() - c) / ARGS.threads) * 1e3)
    print(f"{ARGS.cell} {ARGS.shape}, float32, {ARGS.threads} thread(s), {ARGS.rounds} rounds x 2 steps, "
          f"medians, ms per step (x tr.nn.LSTM); load {os.getloadavg()[0]:.2f}")
    for name in wall:
        cols = "  ".join(f"{label} {np.median(d[name]):7.2f} ({np.median(d[name]) / np.median(d['lstm']):.3f})"
                         for label, d in (("wall", wall), ("CPU", cpu), ("idle cores", idle)))
        print(f"  {name:9s} {cols}")
    print("  bwd-pipe / blocks: " + "  ".join(f"{label} {np.median(d['bwd-pipe']) / np.median(d['blocks']):.3f}"
                                             for label, d in (("wall", wall), ("CPU", cpu), ("idle cores", idle))))


if __name__ == "__main__":
    main()
