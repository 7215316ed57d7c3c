"""Each generated function of a tiny layer's step: its call, and Numba's dispatch of its arguments alone. A probe.

    python bench/kernel_calls.py                              # LSTM, peephole, layer-norm LSTM at 20x1x10x20
    python bench/kernel_calls.py --shape 50x32x64x128 --calls 200

One training step of each layer (float32, 1 thread) runs with its kernel's generated functions wrapped, to keep
the arguments of their first call: `project`, the `forward` loop, the `backward` loop, `grads` (compile/node.py).
Each is then called again on those arguments, and so is a do-nothing @njit function taking the same arguments:
that one costs only the dispatch (Numba types every argument, unboxes every array, boxes the result), so
    body = call - dispatch
is what the function's own code takes. CPU time of this thread (time.thread_time_ns) per call, the median of
--batches batches of --calls calls; the layers and functions are timed one after another (compare the layers'
dispatch and body columns, not single runs: the machine is shared). Arguments that are arrays are counted: each
costs about 60-70 ns of dispatch here. The functions write into their arguments again and again (the numbers
are not used); the backward's state gradients swap places, as they do in a real call.

What it showed (issue 12, 2026-12-01): at 20x1x10x20 the peephole LSTM's four calls take about 3 us more than
the LSTM's, of which about 0.4 us is dispatch (10 array arguments more) and the rest their loops' own work.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="20x1x10x20", help="TxBxIxH")
ap.add_argument("--batches", type=int, default=7)
ap.add_argument("--calls", type=int, default=3000)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import numba  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile import node  # noqa: E402

FUNCTIONS = ("project", "forward", "backward", "grads")
LAYERS = {"lstm": lambda I, H: tr.nn.LSTM(I, H, dtype=np.float32),
          "peephole": lambda I, H: tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=np.float32),
          "layernorm": lambda I, H: tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=np.float32)}


class _Keeping:
    """Stands in for a Kernel's module: calls through, keeping each function's first arguments."""

    def __init__(self, module, kept):
        self.module, self.kept = module, kept

    def __getattr__(self, name):
        fn = getattr(self.module, name)

        def call(*args):
            self.kept.setdefault(name, (fn, args))
            return fn(*args)
        return call


def captured_calls(layer, x):
    """{function name: (the generated function, the arguments of its first call)} for one step of `layer`."""
    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()
    kernels = []
    forward = node.Kernel.forward

    def noting_forward(kernel, *args, **kwargs):   # (the kernels this layer runs)
        if kernel not in kernels:
            kernels.append(kernel)
        return forward(kernel, *args, **kwargs)
    node.Kernel.forward = noting_forward
    try:
        step()   # (compiles, and makes the kernel)
    finally:
        node.Kernel.forward = forward
    kept = {}
    originals = [(k, k.module) for k in kernels]
    try:
        for k, module in originals:
            k.module = _Keeping(module, kept)
        step()
    finally:
        for k, module in originals:
            k.module = module
    return kept


_DO_NOTHING = {}


def do_nothing(n_args):
    """An @njit function of n_args arguments that returns 0: its call is the dispatch alone."""
    if n_args not in _DO_NOTHING:
        names = ", ".join(f"a{i}" for i in range(n_args))
        space = {}
        exec(f"def nothing({names}):\n    return 0\n", space)
        _DO_NOTHING[n_args] = numba.njit(nogil=True)(space["nothing"])
    return _DO_NOTHING[n_args]


def per_call_us(fn, args):
    times = []
    for _ in range(ARGS.batches):
        t0 = time.thread_time_ns()
        for _ in range(ARGS.calls):
            fn(*args)
        times.append((time.thread_time_ns() - t0) / ARGS.calls / 1000)
    return sorted(times)[len(times) // 2]


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    print(f"{ARGS.shape}, float32, 1 thread: CPU us per call (median of {ARGS.batches} x {ARGS.calls})")
    print(f"{'layer':10s} {'function':9s} {'arrays':>6s} {'call':>8s} {'dispatch':>9s} {'body':>8s}")
    for name, make in LAYERS.items():
        kept = captured_calls(make(I, H), x)
        total = np.zeros(3)
        for f in FUNCTIONS:
            fn, args = kept[f]
            nothing = do_nothing(len(args))
            nothing(*args)
            call, dispatch = per_call_us(fn, args), per_call_us(nothing, args)
            arrays = sum(isinstance(a, np.ndarray) for a in args)
            total += (arrays, call, dispatch)
            print(f"{name:10s} {f:9s} {arrays:6d} {call:8.2f} {dispatch:9.2f} {call - dispatch:8.2f}")
        arrays, call, dispatch = total
        print(f"{name:10s} {'all four':9s} {int(arrays):6d} {call:8.2f} {dispatch:9.2f} {call - dispatch:8.2f}")


if __name__ == "__main__":
    main()
