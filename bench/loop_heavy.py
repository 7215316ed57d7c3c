"""A/B of the loop-heavy split (kernels/runtime.py, LOOP_HEAVY): a layer-norm LSTM's training step with its
loops on batch blocks (the default for a loop-heavy cell) against the pipeline it had before, and the plain
LSTM beside them, at 2 threads, in one process, alternating; median wall ms.

    python bench/loop_heavy.py [--shape 1000x8x32x64] [--threads 2] [--rounds 8]

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
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.kernels import runtime  # noqa: E402

_pipelines, _min_rows = runtime.pipelines, runtime.min_rows
SPLIT = {"on": True}   # False: a loop-heavy cell runs as any other (the pipeline)


def pipelines(padded, n_steps, batch, threads, loop_heavy=False):
    return _pipelines(padded, n_steps, batch, threads, loop_heavy and SPLIT["on"])


def min_rows(loop_heavy=False):
    return _min_rows(loop_heavy and SPLIT["on"])


runtime.pipelines, runtime.min_rows = pipelines, min_rows


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    x = tr.Tensor(np.random.rand(T, B, I).astype(np.float32))
    ln, lstm = tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H), tr.nn.LSTM(I, H)

    def step(layer):
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()

    for _ in range(3):
        step(ln)
        step(lstm)
    times = {}
    for _ in range(ARGS.rounds):
        for name, layer, split in (("layer-norm, blocks", ln, True), ("layer-norm, pipeline", ln, False),
                                   ("lstm", lstm, True)):
            SPLIT["on"] = split
            step(layer)   # untimed: the first step after a switch
            for _ in range(3):
                start = time.perf_counter()
                step(layer)
                times.setdefault(name, []).append((time.perf_counter() - start) * 1e3)
    print(f"training step {ARGS.shape}, float32, {ARGS.threads} thread(s), median wall ms:")
    for name, t in times.items():
        print(f"  {name:22s} {np.median(t):8.2f}   x lstm {np.median(t) / np.median(times['lstm']):.2f}")


if __name__ == "__main__":
    main()
