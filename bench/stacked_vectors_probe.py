"""Would one stacked array of a cell's vector parameters make a tiny fused step cheaper? A developer's A/B probe.

    python bench/stacked_vectors_probe.py                          # PeepholeLSTMCell, 20x1x10x20, 1 thread
    python bench/stacked_vectors_probe.py --cell lstm --threads 2

Issue 12's lever (a) for the peephole LSTM's tiny-step gap to tr.nn.LSTM: its generated functions take each
1-D parameter (bias_ih, bias_hh, the three peephole vectors) as an array of its own (V<i>), and `grads` one
accumulator per vector gradient (gV<i>), so Numba's dispatch unboxes 9 more arrays per step than it would if
the layer passed them as one stacked array VS (and took one stacked gradient gVS back, split into a view per
parameter). This probe builds that variant of the cell's own generated module (the same source with those
arguments replaced by VS / gVS and the old names bound to slices of it at the top of each function; both
modules compiled here without Numba's disk cache) and times, alternating in one process, CPU time per call:

  plain / stacked          the four generated calls (project, forward, backward, grads), with the gradient
                           accumulators made per call as Kernel.backward makes them (np.empty each), and for
                           stacked the stacked gradient split into its views (what the tape would be given)
  calls plain / stacked    the four calls alone, on accumulators made once (Numba's dispatch and the loops)
  acc plain / stacked      the accumulators alone (np.empty per gradient; stacked: fewer, plus the split)

Not counted: what keeping VS current would cost the layer per call (a check of the parameters' versions, or
of the views); the results are checked equal first.
"""
import argparse
import os
import re
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--cell", default="peephole", choices=("peephole", "lstm"))
ap.add_argument("--shape", default="20x1x10x20")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batches", type=int, default=30)
ap.add_argument("--calls", type=int, default=500)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel  # noqa: E402
from tinygrad_rnn.kernels import runtime  # noqa: E402

_NO_CACHE = ("from numba import njit as _numba_njit\n\n\n"
             "def njit(**options):\n    return _numba_njit(cache=False, no_cfunc_wrapper=True, **options)\n")


def load(source, name):
    """The generated module's source as a module, compiled here (no disk cache: the variant is not the library's)."""
    source = source.replace("from tinygrad_rnn.kernels import njit   # numba.njit(cache=True) with the package's "
                            "checked cache\n", _NO_CACHE)
    module = type(sys)(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def stacked_source(source, slices):
    """source with each argument named in `slices` ({V<i> or gV<i>: 'a:b'}) replaced by VS / gVS (at the first
    one's place) and bound to VS[a:b] / gVS[a:b] at the top of the function."""
    out = []
    for line in source.splitlines(keepends=True):
        m = re.match(r"def (\w+)\((.*)\):\n$", line)
        if not m or not any(a in slices for a in m.group(2).split(", ")):
            out.append(line)
            continue
        args, unpack = [], []
        for a in m.group(2).split(", "):
            if a in slices:
                stack = "gVS" if a.startswith("g") else "VS"
                if stack not in args:
                    args.append(stack)
                unpack.append(f"    {a} = {stack}[{slices[a]}]\n")
            else:
                args.append(a)
        out.append(f"def {m.group(1)}({', '.join(args)}):\n" + "".join(unpack))
    return "".join(out)


def buffers(kernel, params, T, B, I, H, dt):
    """The arrays of one training step's four calls, made as small_step's loop_calls makes them (and VS)."""
    arrays = kernel._parameters(params)
    arrays["lengths"], arrays["X"] = runtime.all_steps(B, T), np.ascontiguousarray(
        np.random.default_rng(0).standard_normal((T, B, I)).astype(dt))
    kernel.forward_buffers(arrays, T, B, (), False, np.empty)
    plan = kernel._backward_plan(params, T, B, I, False, False, (True,) * len(params))
    args = kernel._gradient_buffers(dict(arrays), np.ones((1, 1, H), dt), [None] * len(kernel.states), False, plan)
    args["VS"] = np.concatenate([p for p in params if p.ndim == 1])
    return args, plan.need


def arguments(fn_args, slices, stack):
    """A generated function's argument names, with the stacked ones replaced as stacked_source does."""
    out = []
    for a in (x.name for x in fn_args):
        a = ("gVS" if a.startswith("g") else "VS") if stack and a in slices else a
        if a not in out:
            out.append(a)
    return out


class Variant:
    """One module's training-step calls: step() (accumulators made, then the four calls), calls() (the four
    calls on accumulators made once), accumulators() (made, and for the stacked variant split into views)."""

    def __init__(self, module, kernel, params, args, need, slices, views, stack):
        self.m, self.args, self.need, self.T, self.B = module, args, need, args["X"].shape[0], args["X"].shape[1]
        self.project = [args[n] for n in arguments(kernel.project_args, slices, stack)]
        self.forward = [args[n] for n in arguments(kernel.forward_args, slices, stack)]
        self.backward = arguments(kernel.backward_args, slices, stack)
        self.grads = arguments(kernel.grads_args, slices, stack)
        matrices = [i for i, p in enumerate(params) if p.ndim > 1]
        if stack:
            self.made_names = [f"g{i}" for i in matrices] + ["gVS"]
            self.shapes = [params[i].shape for i in matrices] + [(views[-1].stop,)]
        else:
            self.made_names = [f"g{i}" if p.ndim > 1 else f"gV{i}" for i, p in enumerate(params)]
            self.shapes = [p.shape for p in params]
        self.dtypes = (args["X"].dtype,) * len(self.shapes)
        self.views = views if stack else None
        self.fixed = {n: args[n] for n in self.grads if n not in self.made_names}
        self.once = self.accumulators()[0]

    def accumulators(self):
        made = list(map(np.empty, self.shapes, self.dtypes))
        if self.views is None:
            return made, None
        gvs = made[-1]   # the views the tape would be given, one per vector parameter
        return made, [gvs[v] for v in self.views]

    def run(self, made):
        m, args, T, B = self.m, self.args, self.T, self.B
        by_name = dict(zip(self.made_names, made))
        args["dS0"].fill(0)   # (the backward writes the initial states' gradients there)
        args["dS1"].fill(0)
        m.project(*self.project, 0, T)
        m.forward(*self.forward, 0, B)
        m.backward(*[args[n] for n in self.backward], 0, B)
        m.grads(*[self.fixed[n] if n in self.fixed else by_name[n] for n in self.grads], self.need, False, True, 0, T)

    def step(self):
        made, split = self.accumulators()
        self.run(made)
        return made, split

    def calls(self):
        self.run(self.once)


def check_equal(plain, stacked, params):
    """Every gradient of the stacked variant equals the plain one (bit for bit: the same arithmetic)."""
    (made_p, _), (made_s, split) = plain.step(), stacked.step()
    vectors = iter(split)
    matrices = iter(made_s)
    for i, g in enumerate(made_p):
        other = next(vectors) if params[i].ndim == 1 else next(matrices)
        assert np.array_equal(g, other), f"gradient {i}: stacked != plain"


def measure(fns, batches, calls):
    """Median CPU us per call of each function, interleaved batch by batch (in turn forwards and backwards)."""
    for fn in fns.values():
        for _ in range(200):
            fn()
    times = {name: [] for name in fns}
    order = list(fns)
    for b in range(batches):
        for name in (order if b % 2 else order[::-1]):   # (alternating: a slow phase hits every one alike)
            fn = fns[name]
            c0 = time.process_time_ns()
            for _ in range(calls):
                fn()
            times[name].append((time.process_time_ns() - c0) / calls / 1e3)
    return {name: float(np.median(v)) for name, v in times.items()}


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    dt = np.dtype(np.float32)
    tr.manual_seed(0)
    cell = (tr.nn.PeepholeLSTMCell if ARGS.cell == "peephole" else tr.nn.LSTMCell)(I, H, dtype=dt)
    kernel = get_kernel(cell, dt)[0]
    params = [p._data for p in cell.parameters()]
    slices, views, start = {}, [], 0
    for i, p in enumerate(params):
        if p.ndim == 1:
            views.append(slice(start, start + p.size))   # (made once: the split pays only the slicing)
            slices[f"V{i}"] = slices[f"gV{i}"] = f"{start}:{start + p.size}"
            start += p.size
    args, need = buffers(kernel, params, T, B, I, H, dt)
    plain = Variant(load(kernel.source, "plain"), kernel, params, args, need, slices, views, False)
    stacked = Variant(load(stacked_source(kernel.source, slices), "stacked"), kernel, params, args, need, slices,
                      views, True)
    check_equal(plain, stacked, params)
    fns = {"plain": plain.step, "stacked": stacked.step, "calls plain": plain.calls, "calls stacked": stacked.calls,
           "acc plain": plain.accumulators, "acc stacked": stacked.accumulators}
    med = measure(fns, ARGS.batches, ARGS.calls)
    print(f"{ARGS.cell} {ARGS.shape} {ARGS.threads}t, CPU us per call (median of {ARGS.batches} batches): "
          + "  ".join(f"{n} {v:.2f}" for n, v in med.items())
          + f"  | saved by stacking: {med['plain'] - med['stacked']:+.2f} us "
          f"(calls {med['calls plain'] - med['calls stacked']:+.2f}, acc {med['acc plain'] - med['acc stacked']:+.2f})")


if __name__ == "__main__":
    main()
