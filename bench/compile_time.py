"""How long the first training step of a layer takes when its generated kernels are new (a cold compile),
and when a second process loads them from the disk cache.

    python bench/compile_time.py                                 # LSTM, GRU, RNN, layer-norm LSTM
    python bench/compile_time.py --cells lstm --size 10x4x32x64 --rounds 3

Per cell and round: a fresh process with TINYGRAD_RNN_CACHE pointed at a new empty directory times its
first step (forward over the whole sequence, backward to every weight: trace, generate, Numba compile,
run), then a second fresh process with the same directory times its first step (Numba loads the machine
code). The package's own Numba functions (kernels/, compile/scalar.py) are cached in the package's
__pycache__ as usual: one warm-up process before the first round fills that cache, so "cold" is the
generated kernels' compile only. float32, 1 thread. Prints medians (min-max) in seconds; asserts nothing.
The issue's targets: cold at most 5 s, cached under 1 s.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import time
import numpy as np
import tinygrad_rnn as tr
T, B, I, H = {shape}
cell = {cell!r}
if cell == "layernorm":
    layer = tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=np.float32)
elif cell == "rnn":
    layer = tr.nn.RNN(I, H, dtype=np.float32)
else:
    layer = {{"lstm": tr.nn.LSTM, "gru": tr.nn.GRU}}[cell](I, H, dtype=np.float32)
x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
t0 = time.perf_counter()
out, _ = layer(x)
out.sum().backward()
print("FIRST_STEP", time.perf_counter() - t0)
"""


def first_step(cell, shape, cache):
    env = dict(os.environ, TINYGRAD_RNN_CACHE=cache, PYTHONPATH=ROOT, OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    code = CHILD.format(shape=shape, cell=cell)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("FIRST_STEP"))
    return float(line.split()[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default="lstm,gru,rnn,layernorm")
    ap.add_argument("--size", default="10x4x32x64", help="T x B x I x H")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    shape = tuple(int(v) for v in args.size.split("x"))
    cells = args.cells.split(",")
    with tempfile.TemporaryDirectory() as warm:   # fills the package's own Numba cache
        for cell in cells:
            first_step(cell, shape, warm)
    print(f"first training step, float32, 1 thread, (T, B, I, H) = {shape}, {args.rounds} rounds: "
          "median (min-max) in s")
    for cell in cells:
        cold, cached = [], []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as cache:
                cold.append(first_step(cell, shape, cache))
                cached.append(first_step(cell, shape, cache))
        print(f"{cell:>10s}  cold {np.median(cold):6.2f} ({min(cold):.2f}-{max(cold):.2f})   "
              f"cached {np.median(cached):5.2f} ({min(cached):.2f}-{max(cached):.2f})", flush=True)


if __name__ == "__main__":
    main()
