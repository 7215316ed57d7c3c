"""What a batch block's time loops would cost if the block's rows were contiguous in memory over time: a
developer's probe (issue 12), for the 2-thread split's tax (bench/block_rows_probe.py measures the tax).

The kernels' per-step arrays are (T, B, W): at 2 threads a loop-heavy cell (the layer-norm LSTM at
1000x8x32x64) runs its loops on two batch blocks of B/2 rows, and a block reads and writes, at each step, a
run of B/2 rows and skips the other block's. Here the layer's own generated `forward` and `backward`, on the
arrays of a real training step (captured as block_rows_probe.py does; fresh copies at every call, so that
they come from memory as in a step), run on the last B/2 rows three ways, rounds alternating, one thread,
CPU time (time.thread_time):

  * "block of B"  rows [B/2, B) of the (T, B, W) arrays (what a block does today);
  * "own rows"    the same rows copied into (T, B/2, W) arrays of their own, called on rows [0, B/2): the
                  layout a block-major workspace would give (every per-step array, the states and the
                  projection included);
  * "all rows"    rows [0, B) of the (T, B, W) arrays (one thread's whole batch, for scale).

Printed: us per time step and own rows / block of B. With --concurrent, both blocks of B/2 rows run at once on
two threads (the generated functions release the GIL), inside the (T, B, W) arrays or each in arrays of its
own: printed, the larger of the two threads' CPU per step (and wall, which a loaded machine disturbs).
Asserts nothing about times.

    python bench/block_layout_probe.py --shape 1000x8x32x64 [--cell LayerNormLSTMCell] [--rounds 21]
    python bench/block_layout_probe.py --shape 1000x8x32x64 --concurrent
"""
import argparse
import inspect
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from block_rows_probe import captured_args  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel  # noqa: E402
from tinygrad_rnn.kernels.blas import single_threaded  # noqa: E402

ROWS_FIRST = ("dS0", "dS1", "dS2", "lengths")   # arrays with the batch on their first axis


def own_rows(a, name, B, r):
    """Rows [r, B) of a generated function's argument as an array of its own (a copy of anything else)."""
    if not isinstance(a, np.ndarray):
        return a
    if name in ROWS_FIRST:
        return a[r:].copy()
    if a.ndim == 3 and a.shape[1] == B:
        return a[:, r:].copy()
    return a.copy()


def _at_once(calls):
    """calls[0] here and calls[1] on another thread, started together: (wall, the larger thread CPU) in s."""
    cpu, start = [0.0, 0.0], threading.Barrier(2)

    def one(k):
        start.wait()
        c = time.thread_time()
        calls[k]()
        cpu[k] = time.thread_time() - c

    other = threading.Thread(target=one, args=(1,))
    other.start()
    wall = time.perf_counter()
    one(0)
    other.join()
    return time.perf_counter() - wall, max(cpu)


def run_concurrent(f, args, names, B, T, rounds):
    """Both blocks at once: inside the (T, B, W) arrays, or each in (T, B/2, W) arrays of its own."""
    r = B // 2
    spent = {"inside (T, B, W)": [], "own arrays": []}
    for k in range(rounds):
        for v in (list(spent) if k % 2 else list(spent)[::-1]):
            if v == "own arrays":   # own_rows(., ., ., r) takes rows [r, B); rows [0, r) as rows [B - r, B) of B - r
                lo = [own_rows(a, n, B, r) for a, n in zip(args, names)]
                hi = [own_rows(a[:, :r] if isinstance(a, np.ndarray) and a.ndim == 3 and a.shape[1] == B
                               else a[:r] if n in ROWS_FIRST else a, n, r, 0) for a, n in zip(args, names)]
                calls = [lambda hi=hi: f(*hi, 0, r), lambda lo=lo: f(*lo, 0, B - r)]
            else:
                fresh = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
                calls = [lambda a=fresh: f(*a, 0, r), lambda a=fresh: f(*a, r, B)]
            spent[v].append(_at_once(calls))
    return {v: np.median(np.array(s), axis=0) / T * 1e6 for v, s in spent.items()}


def run(T, B, I, H, cell, rounds, concurrent=False):
    tr.set_num_threads(1)
    layer = tr.nn.Recurrent(getattr(tr.nn, cell), I, H, dtype=np.float32)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I), dtype=np.float32))
    kernel = get_kernel(layer.cells[0], np.float32)[0]
    args = captured_args(layer, kernel, x)
    r = B // 2
    where = "two blocks at once on 2 threads" if concurrent else f"1 thread, rows [{r}, {B})"
    print(f"{cell} T={T} B={B} I={I} H={H} float32, {where}, {rounds} rounds, us per time step")
    for fn in ("forward", "backward"):
        f = getattr(kernel.module, fn)
        names = list(inspect.signature(f.py_func).parameters)[:-2]
        if concurrent:
            with single_threaded():
                us = run_concurrent(f, args[fn], names, B, T, rounds)
            (w0, c0), (w1, c1) = us.values()
            print(f"  {fn:8s} both blocks at once, CPU (wall): inside (T, B, W) {c0:6.2f} ({w0:6.2f})  own arrays "
                  f"{c1:6.2f} ({w1:6.2f})   own / inside: CPU {c1 / c0:.3f}x, wall {w1 / w0:.3f}x")
            continue
        spent = {"block of B": [], "own rows": [], "all rows": []}
        with single_threaded():
            for k in range(rounds):
                for v in (list(spent) if k % 2 else list(spent)[::-1]):
                    if v == "own rows":
                        fresh, b0, b1 = [own_rows(a, n, B, r) for a, n in zip(args[fn], names)], 0, B - r
                    else:
                        fresh = [a.copy() if isinstance(a, np.ndarray) else a for a in args[fn]]
                        b0, b1 = (r, B) if v == "block of B" else (0, B)
                    t0 = time.thread_time()
                    f(*fresh, b0, b1)
                    spent[v].append((time.thread_time() - t0) / T * 1e6)
        us = {v: float(np.median(s)) for v, s in spent.items()}
        print(f"  {fn:8s} " + "  ".join(f"{v} {u:6.2f}" for v, u in us.items())
              + f"   own rows / block of B: {us['own rows'] / us['block of B']:.3f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="1000x8x32x64")
    ap.add_argument("--cell", default="LayerNormLSTMCell")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--concurrent", action="store_true", help="both blocks at once, on two threads")
    args = ap.parse_args()
    run(*(int(v) for v in args.shape.split("x")), args.cell, args.rounds, args.concurrent)


if __name__ == "__main__":
    main()
