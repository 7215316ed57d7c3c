"""A training step's kernels at 2 threads, as the library splits a loop-heavy cell against a block-major
workspace: a developer's probe (issue 12; bench/README.md, "Batch blocks with their rows contiguous").

  * "library":     the layer's generated project / forward / backward / grads on (T, B, W) arrays, split as
                   runtime.py splits a loop-heavy cell at 2 threads (project by time, the loops on two batch
                   blocks, grads by time into two accumulators, added), both threads started together per
                   phase (a barrier between phases: no claims, so its wall time is pessimistic under load);
  * "block-major": each thread runs its half-batch's whole step in (T, B/2, W) arrays of its own: X's block
                   copied in, project, forward, backward, grads into its own accumulators, h copied back into
                   a (T, B, H) output; the accumulators added at the end. No barrier between phases.

Kernel calls only (no tape, no Python around them), on the arrays of one real training step (captured),
in memory touched before (as the workspace pool's), rounds alternating. Printed per step: wall and the
larger thread's CPU time, and each phase's CPU per thread. Asserts nothing.

    python bench/blockmajor_step_probe.py --shape 1000x8x32x64 [--rounds 11]
"""
import argparse
import inspect
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel  # noqa: E402
from tinygrad_rnn.kernels.blas import single_threaded  # noqa: E402

FUNCTIONS = ("project", "forward", "backward", "grads")
ROWS_FIRST = ("lengths", "dS0", "dS1")
ACCUMULATED = ("g0", "g1", "gV2", "gV3", "gV4", "gV5", "gV6")


class _Capture:
    """The Kernel's module, keeping each generated function's first arguments by name (copies)."""

    def __init__(self, module):
        self.module, self.args = module, {}

    def __getattr__(self, name):
        fn = getattr(self.module, name)
        names = list(inspect.signature(fn.py_func).parameters)

        def call(*args):
            self.args.setdefault(name, {n: np.array(a) if isinstance(a, np.ndarray) else a
                                        for n, a in zip(names, args)})
            return fn(*args)
        return call


class Step:
    def __init__(self, T, B, I, H):
        tr.set_num_threads(1)
        layer = tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=np.float32)
        x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I), dtype=np.float32))
        kernel = get_kernel(layer.cells[0], np.float32)[0]
        self.m = kernel.module
        kernel.module = capture = _Capture(self.m)
        try:
            layer.zero_grad()
            out, _ = layer(x)
            out.sum().backward()
        finally:
            kernel.module = self.m
        assert {c.grad for c in kernel.consumed} == {"dXW0", "dC0"}
        self.args, self.T, self.B, self.H = capture.args, T, B, H
        self.out = np.zeros((T, B, H), np.float32)   # (pooled: touched before)
        self.phases = {"library": [], "block-major": []}

    def arrays(self, lo=None, hi=None):
        """Every named array, rows [lo, hi) as arrays of their own (None: all rows), the gradients consumed."""
        d = {}
        for fn in FUNCTIONS:
            for n, v in self.args[fn].items():
                if not isinstance(v, np.ndarray) or n in d:
                    continue
                if lo is not None and (n in ROWS_FIRST or n == "dV"):
                    d[n] = np.zeros((hi - lo, v.shape[1]), v.dtype) if n == "dV" else v[lo:hi].copy()
                elif lo is not None and v.ndim == 3 and v.shape[1] == self.B:
                    d[n] = np.ascontiguousarray(v[:, lo:hi])
                else:
                    d[n] = v.copy()
        d["dXW0"], d["dC0"] = d["XW0"], d["C0"]
        return d

    def call(self, fn, d, *extra):
        names = list(self.args[fn])
        return getattr(self.m, fn)(*[d[n] for n in names[:len(names) - len(extra)]], *extra)

    def grads(self, d, a, b):
        g = self.args["grads"]
        self.call("grads", d, g["need"], g["need_dx"], True, a, b)

    def library(self):
        T, B, r = self.T, self.B, self.B // 2
        d = self.arrays()
        other = {**d, **{n: np.empty_like(d[n]) for n in ACCUMULATED}}
        wall = time.perf_counter()
        cpu = [_at_once(lambda: self.call("project", d, 0, T // 2), lambda: self.call("project", d, T // 2, T)),
               _at_once(lambda: self.call("forward", d, 0, r), lambda: self.call("forward", d, r, B)),
               _at_once(lambda: self.call("backward", d, 0, r), lambda: self.call("backward", d, r, B)),
               _at_once(lambda: self.grads(d, 0, T // 2), lambda: self.grads(other, T // 2, T))]
        c = time.thread_time()
        for n in ACCUMULATED:
            d[n] += other[n]
        cpu[-1][0] += time.thread_time() - c
        self.phases["library"].append(np.array(cpu))
        return time.perf_counter() - wall, float(np.array(cpu).sum(axis=0).max())

    def block_major(self):
        T, B, r = self.T, self.B, self.B // 2
        blocks = [self.arrays(0, r), self.arrays(r, B)]
        X, out, spent = self.args["project"]["X"], self.out, [None, None]

        def whole(k):
            d, lo, hi = blocks[k], k * r, (k + 1) * r
            c = [time.thread_time()]
            d["X"][...] = X[:, lo:hi]
            for fn, extra in (("project", (0, T)), ("forward", (0, hi - lo)), ("backward", (0, hi - lo))):
                self.call(fn, d, *extra)
                c.append(time.thread_time())
            self.grads(d, 0, T)
            c.append(time.thread_time())
            out[:, lo:hi] = d["S0"][1:]
            c.append(time.thread_time())
            spent[k] = np.diff(c)

        wall = time.perf_counter()
        cpu = _at_once(lambda: whole(0), lambda: whole(1))
        c = time.thread_time()
        for n in ACCUMULATED:
            blocks[0][n] += blocks[1][n]
        cpu[0] += time.thread_time() - c
        self.phases["block-major"].append(np.array(spent).T)
        return time.perf_counter() - wall, max(cpu)


def _at_once(f0, f1):
    """f0 here and f1 on another thread, started together: each thread's CPU seconds."""
    cpu, start = [0.0, 0.0], threading.Barrier(2)

    def one(k, f):
        start.wait()
        c = time.thread_time()
        f()
        cpu[k] += time.thread_time() - c

    other = threading.Thread(target=one, args=(1, f1))
    other.start()
    one(0, f0)
    other.join()
    return cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="1000x8x32x64")
    ap.add_argument("--rounds", type=int, default=11)
    args = ap.parse_args()
    step = Step(*(int(v) for v in args.shape.split("x")))
    spent = {"library": [], "block-major": []}
    runs = {"library": step.library, "block-major": step.block_major}
    with single_threaded():
        for k in range(args.rounds):
            for v in (list(spent) if k % 2 else list(spent)[::-1]):
                spent[v].append(runs[v]())
    med = {v: np.median(np.array(s), axis=0) * 1e3 for v, s in spent.items()}
    (w0, c0), (w1, c1) = med["library"], med["block-major"]
    print(f"LayerNormLSTMCell {args.shape} float32, 2 threads, {args.rounds} rounds, ms per step (medians)")
    print(f"  wall: library {w0:.2f}  block-major {w1:.2f} ({w1 / w0:.3f}x)   larger thread's CPU: library "
          f"{c0:.2f}  block-major {c1:.2f} ({c1 / c0:.3f}x)")
    for v, labels in (("library", "project, forward, backward, grads"),
                      ("block-major", "X in + project, forward, backward, grads, h out")):
        per = np.round(np.median(np.array(step.phases[v]), axis=0) * 1e3, 2).tolist()
        print(f"  {v} phases ({labels}), CPU ms per thread: {per}")


if __name__ == "__main__":
    main()
