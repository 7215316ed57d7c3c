"""Paired A/B of compile/node.py's Kernel wrappers in ONE process: another copy of node.py against this one.

    python bench/kernel_wrapper_ab.py ../main/tinygrad_rnn/compile/node.py          # 1 thread
    python bench/kernel_wrapper_ab.py ../main/tinygrad_rnn/compile/node.py --threads 2 --new-first

A developer's probe for changes to the Python around the generated kernels (Kernel.forward and
Kernel.backward: buffers, views, call plans), where a tiny step's microsecond is lost in the noise of
interleaved processes. The other node.py is loaded as a second module of this package (its relative imports
resolve to this checkout's compile/ and kernels/, so only node.py differs) and builds its own Kernel on the
same generated module: both sides call the same compiled functions on the same arrays. Times are CPU time
of this thread (time.thread_time) per forward + backward at (T, B, I, H), float32, for RNN, LSTM and the
peephole LSTM; batches of the two sides alternate, old first unless --new-first (to see an order effect).
Prints the medians and the median of the per-batch ratios new/old. Asserts nothing.
"""
import argparse
import importlib.util
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel  # noqa: E402

CELLS = {"rnn": lambda I, H: tr.nn.RNN(I, H, dtype=np.float32)._cell(0, 0),
         "lstm": lambda I, H: tr.nn.LSTM(I, H, dtype=np.float32)._cell(0, 0),
         "peephole": lambda I, H: tr.nn.PeepholeLSTMCell(I, H, dtype=np.float32)}


def load_other(path):
    spec = importlib.util.spec_from_file_location("tinygrad_rnn.compile.node_other", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # (dataclasses look their module up there while the class is made)
    spec.loader.exec_module(module)
    return module


def one_step(kernel, x, params, dout):
    """Kernel.forward then Kernel.backward as a training step of out.sum() calls them (no dx asked for),
    with the parameter views a layer's snapshot keeps where the kernel takes them (Kernel.parameter_views)."""
    needs, no_finals = (True,) * len(params), (None,) * len(kernel.states)
    kept = {"views": kernel.parameter_views(params)} if hasattr(kernel, "parameter_views") else {}

    def step():
        _, _, saved = kernel.forward(x, (), params, None, **kept)
        kernel.backward(saved, dout, no_finals, params, needs, False)
    return step


def measure(sides, batches, calls):
    for fn in sides.values():   # warm-up
        for _ in range(calls):
            fn()
    times = {name: [] for name in sides}
    for _ in range(batches):
        for name, fn in sides.items():
            start = time.thread_time()
            for _ in range(calls):
                fn()
            times[name].append((time.thread_time() - start) / calls * 1e6)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("other", help="the node.py to compare with (old)")
    p.add_argument("--shape", default="20x1x10x20", help="TxBxIxH")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--new-first", action="store_true")
    args = p.parse_args()
    tr.set_num_threads(args.threads)
    other = load_other(args.other)
    T, B, I, H = (int(n) for n in args.shape.split("x"))
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
    dout = np.broadcast_to(np.ones((), np.float32), (T, B, H))   # the gradient of out.sum()
    print(f"{(T, B, I, H)}, float32, {args.threads} thread(s): Kernel.forward + backward, CPU us, medians of "
          f"{args.batches} alternating batches of {args.calls} calls")
    for name, make in CELLS.items():
        new, graph = get_kernel(make(I, H), np.float32)
        old = other.Kernel(new.prog, new.source, new.module)
        params = [p._data for p in graph.params]
        order = ("new", "old") if args.new_first else ("old", "new")
        kernels = {"old": old, "new": new}
        times = measure({side: one_step(kernels[side], x, params, dout) for side in order}, args.batches, args.calls)
        ratio = np.median(np.array(times["new"]) / np.array(times["old"]))
        print(f"{name:9s} old {np.median(times['old']):6.2f}  new {np.median(times['new']):6.2f}  "
              f"new/old {ratio:.3f}")


if __name__ == "__main__":
    main()
