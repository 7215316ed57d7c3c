"""Paired A/B of nn/recurrent.py's per-call path in ONE process: another copy of recurrent.py against this one.

    python bench/recurrent_call_ab.py ../main/tinygrad_rnn/nn/recurrent.py               # 1 thread
    python bench/recurrent_call_ab.py ../main/tinygrad_rnn/nn/recurrent.py --threads 2 --new-first
    python bench/recurrent_call_ab.py ../main/tinygrad_rnn/nn/recurrent.py --hooked-elsewhere

A developer's probe for changes to the Python a Recurrent layer runs per call (its layer loop, _run, the
snapshot test before the fused kernel), where a tiny step's microsecond is lost in the noise of interleaved
processes. The other recurrent.py is loaded as a second module of this package (its relative imports resolve
to this checkout's cells, hooks, compile/: only recurrent.py differs); each side builds its own
tr.nn.Recurrent(tr.nn.LSTMCell) with the same weights, and both call the same generated kernels. One step =
zero_grad, forward, out.sum(), backward at (T, B, I, H), float32. Times are process CPU time
(time.process_time: all threads) per step; batches of the two sides alternate, old first unless --new-first
(to see an order effect); --aa runs the old side on both (the noise floor). --hooked-elsewhere registers a
hook on a Linear the layers do not hold, so that this process has made a ModuleHooks (nn/hooks.py): the new
side then walks its cells' modules per call. Prints the medians and the median of the per-batch ratios
new/old. Asserts nothing.
"""
import argparse
import importlib.util
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402


def load_other(path):
    spec = importlib.util.spec_from_file_location("tinygrad_rnn.nn.recurrent_other", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def one_step(layer, x):
    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()
    return step


def measure(sides, batches, calls):
    for fn in sides.values():   # warm-up: compile, fill the per-call caches
        for _ in range(calls):
            fn()
    times = {name: [] for name in sides}
    for _ in range(batches):
        for name, fn in sides.items():
            start = time.process_time()
            for _ in range(calls):
                fn()
            times[name].append((time.process_time() - start) / calls * 1e6)
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("other", help="the recurrent.py to compare with (old)")
    p.add_argument("--shape", default="20x1x10x20", help="TxBxIxH")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--new-first", action="store_true")
    p.add_argument("--hooked-elsewhere", action="store_true", help="a hook on a module outside the layers")
    p.add_argument("--aa", action="store_true", help="both sides the other recurrent.py's: the noise floor")
    args = p.parse_args()
    tr.set_num_threads(args.threads)
    other = load_other(args.other)
    T, B, I, H = (int(n) for n in args.shape.split("x"))
    layers = {"old": other.Recurrent(tr.nn.LSTMCell, I, H, dtype=np.float32),
              "new": (other if args.aa else tr.nn).Recurrent(tr.nn.LSTMCell, I, H, dtype=np.float32)}
    layers["old"].load_state_dict(layers["new"].state_dict())
    if args.hooked_elsewhere:
        elsewhere = tr.nn.Linear(2, 2)
        elsewhere.register_forward_hook(lambda module, args, out: None)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    order = ("new", "old") if args.new_first else ("old", "new")
    times = measure({side: one_step(layers[side], x) for side in order}, args.batches, args.calls)
    ratio = np.median(np.array(times["new"]) / np.array(times["old"]))
    what = (", a hook elsewhere" if args.hooked_elsewhere else "") + (", A/A: old against old" if args.aa else "")
    print(f"{(T, B, I, H)}, float32, {args.threads} thread(s){what}: "
          f"Recurrent(LSTMCell) step, CPU us, medians of {args.batches} alternating batches of {args.calls} steps: "
          f"old {np.median(times['old']):6.2f}  new {np.median(times['new']):6.2f}  new/old {ratio:.3f}")


if __name__ == "__main__":
    main()
