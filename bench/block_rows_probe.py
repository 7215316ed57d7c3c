"""What a batch block's time loops cost against all rows' (the 2-thread split's tax), with and without the
per-step product: a developer's probe (issue 12).

At 2 threads a loop-heavy cell (the layer-norm LSTM at 1000x8x32x64) runs its forward and backward loops on
two batch blocks, one a thread (kernels/runtime.py). If a block of half the rows cost half the time the
split would be free; this probe measures what it costs. One thread, CPU time (time.thread_time), float32,
the layer's own generated `forward` and `backward` on the arrays of a real training step (captured by
wrapping the Kernel's module; fresh copies at every call, so that they come from memory as in a step), on
rows [0, r) for r in --rows, rounds alternating; and the same loops with
their per-step product (the h W_hh^T gemm and the backward's dC P gemm) removed by a text edit (asserted),
which leaves the column work alone. Printed: us per time step and per row.

    python bench/block_rows_probe.py --shape 1000x8x32x64 [--cell LayerNormLSTMCell] [--rounds 15]
    python bench/block_rows_probe.py --shape 50x8x32x64     # the same rows with the arrays in cache

Asserts nothing about times.
"""
import argparse
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.codegen import import_module  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel  # noqa: E402
from tinygrad_rnn.kernels.blas import single_threaded  # noqa: E402

PRODUCTS = [r"\n\s+gemm\(S0\[t, b0:rows\], Wt0, C0\[(t, )?b0:rows\], 0\)",
            r"\n\s+gemm\(dC0\[t, b0:rows\], P0, dSo0\[b0:rows\], 1\)"]


def without_products(source):
    """The generated module with its loops' per-step products removed (the loops then read C0 as it is)."""
    for pattern in PRODUCTS:
        source, n = re.subn(pattern, "", source)
        assert n >= 1, pattern
    return source


class _Capture:
    """The Kernel's module, recording each generated function's last arguments (copies)."""

    def __init__(self, module):
        self.module, self.args = module, {}

    def __getattr__(self, name):
        fn = getattr(self.module, name)

        def call(*args):
            self.args[name] = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
            return fn(*args)
        return call


def captured_args(layer, kernel, x):
    """The forward's and backward's arguments of one training step of `layer` (without the block bounds)."""
    generated = kernel.module
    kernel.module = capture = _Capture(generated)
    try:
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()
    finally:
        kernel.module = generated
    return {name: capture.args[name][:-2] for name in ("forward", "backward")}


def run(T, B, I, H, cell, rows, rounds):
    tr.set_num_threads(1)
    layer = tr.nn.Recurrent(getattr(tr.nn, cell), I, H, dtype=np.float32)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I), dtype=np.float32))
    source = layer.kernel_source()
    kernel = get_kernel(layer.cells[0], np.float32)[0]
    bare = import_module(without_products(source), f"{cell} without its per-step products")[0]
    args = captured_args(layer, kernel, x)
    print(f"{cell} T={T} B={B} I={I} H={H} float32, 1 thread, {rounds} rounds, CPU us per time step "
          f"(per row in brackets)")
    for fn in ("forward", "backward"):
        variants = {"with product": getattr(kernel.module, fn), "column work": getattr(bare, fn)}
        spent = {(v, r): [] for v in variants for r in rows}
        with single_threaded():
            for k in range(rounds):
                order = list(spent) if k % 2 else list(spent)[::-1]
                for v, r in order:
                    fresh = [a.copy() if isinstance(a, np.ndarray) else a for a in args[fn]]
                    t0 = time.thread_time()
                    variants[v](*fresh, 0, r)
                    spent[v, r].append((time.thread_time() - t0) / T * 1e6)
        for v in variants:
            us = {r: float(np.median(spent[v, r])) for r in rows}
            print(f"  {fn:8s} {v:12s} " + "  ".join(f"{r} rows {us[r]:6.2f} ({us[r] / r:.2f})" for r in rows)
                  + f"   {rows[-2]}/{rows[-1]} rows: {us[rows[-2]] / us[rows[-1]]:.3f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="1000x8x32x64")
    ap.add_argument("--cell", default="LayerNormLSTMCell")
    ap.add_argument("--rows", default="1,2,4,8", help="block sizes, ascending (the last two are compared)")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    run(*(int(v) for v in args.shape.split("x")), args.cell, [int(r) for r in args.rows.split(",")], args.rounds)


if __name__ == "__main__":
    main()
