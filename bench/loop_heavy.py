"""A/B of the loop-heavy split (kernels/runtime.py, LOOP_HEAVY): a cell's training step (tr.nn.Recurrent, by
default over the layer-norm LSTM) with both loops on batch blocks (a loop-heavy cell's forward, and its backward
past LOOP_HEAVY_BACKWARD) against both pipelined (what any other cell gets), whichever the cell's estimate
(compile/node.loop_cost_ratio) picks (bench/schedule_ab.py also runs the forward on blocks, the backward pipelined), and
tr.nn.LSTM as the library runs it beside them, at 2 threads, in one process, alternating; median wall ms.
For a cell near the bar: does its estimate pick the faster split? Beside the wall time, for a machine shared
with other work (where wall time counts what others ran on our cores): "idle cores", the median of
max(the calling thread's CPU, the process's CPU / threads), what the step would take on idle cores if the
threads kept busy (it misses waits between the threads: a pipeline's tail, a late worker).

    python bench/loop_heavy.py [--shape 1000x8x32x64] [--threads 2] [--rounds 8] [--cell LayerNormLSTMCell]
    python bench/loop_heavy.py --shape 1000x32x10x20 --cell LSTMCell    # a built-in cell at small sizes

Asserts nothing.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="1000x8x32x64", help="T x B x I x H")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--rounds", type=int, default=8)
ap.add_argument("--cell", default="LayerNormLSTMCell", help="a cell class of tr.nn, run by tr.nn.Recurrent")
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel, loop_cost_ratio, loop_row_macs  # noqa: E402
from tinygrad_rnn.kernels import runtime  # noqa: E402

_pipelines, _min_rows = runtime.pipelines, runtime.min_rows
SPLIT = {"blocks": None}   # True: every cell runs as a loop-heavy one; False: as any other; None: its estimate


def _heavy(loop_heavy):
    return loop_heavy if SPLIT["blocks"] is None else SPLIT["blocks"]


def pipelines(padded, n_steps, batch, threads, loop_heavy=False):
    return _pipelines(padded, n_steps, batch, threads, _heavy(loop_heavy))


def min_rows(loop_heavy=False):
    return _min_rows(_heavy(loop_heavy))


runtime.pipelines, runtime.min_rows = pipelines, min_rows


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    x = tr.Tensor(np.random.rand(T, B, I).astype(np.float32))
    ln, lstm = tr.nn.Recurrent(getattr(tr.nn, ARGS.cell), I, H), tr.nn.LSTM(I, H)

    def step(layer):
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()

    for _ in range(3):
        step(ln)
        step(lstm)
    times, idle = {}, {}
    for _ in range(ARGS.rounds):
        for name, layer, split in ((f"{ARGS.cell}, blocks", ln, True), (f"{ARGS.cell}, pipeline", ln, False),
                                   ("lstm", lstm, None)):
            SPLIT["blocks"] = split
            step(layer)   # untimed: the first step after a switch
            for _ in range(3):
                start, main, cpu = time.perf_counter(), time.thread_time(), time.process_time()
                step(layer)
                times.setdefault(name, []).append((time.perf_counter() - start) * 1e3)
                idle.setdefault(name, []).append(max(time.thread_time() - main,
                                                     (time.process_time() - cpu) / ARGS.threads) * 1e3)
    kernel = get_kernel(ln.cells[0], np.float32)[0]
    print(f"training step {ARGS.shape}, float32, {ARGS.threads} thread(s), median wall ms; {ARGS.cell}'s "
          f"loop-cost estimate {loop_cost_ratio(kernel.prog):.2f} (LOOP_HEAVY {runtime.LOOP_HEAVY}), work per "
          f"row and step {loop_row_macs(kernel.prog) / 1e3:.1f}k (LOOP_HEAVY_ROW_MACS "
          f"{runtime.LOOP_HEAVY_ROW_MACS / 1e3:.0f}k): forward {'blocks' if kernel.loop_heavy else 'pipeline'}, "
          f"backward {'blocks' if kernel.backward_heavy else 'pipeline'} (LOOP_HEAVY_BACKWARD "
          f"{runtime.LOOP_HEAVY_BACKWARD})")
    print(f"  {'':30s} {'wall':>8s} {'x lstm':>8s} {'idle cores':>11s} {'x lstm':>8s}")
    for name, t in times.items():
        c = idle[name]
        print(f"  {name:30s} {np.median(t):8.2f} {np.median(t) / np.median(times['lstm']):8.2f} "
              f"{np.median(c):11.2f} {np.median(c) / np.median(idle['lstm']):8.2f}")


if __name__ == "__main__":
    main()
