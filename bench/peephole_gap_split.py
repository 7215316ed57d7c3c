"""Where a tiny step of Recurrent(PeepholeLSTMCell) spends its time beyond Recurrent(LSTMCell)'s: a developer's probe.

    python bench/peephole_gap_split.py                 # 20x1x10x20, float32, 1 thread
    python bench/peephole_gap_split.py --threads 2

Timed alternately in one process, CPU time (time.process_time_ns) per call, the median over batches, no timer
inside a step (bench/cell_step_phases.py's per-phase clocks add about a microsecond each):

  step        zero_grad, forward, out.sum(), backward, as bench/compiled_cells.py (and tr.nn.LSTM's for scale)
  kernels     compile/node.Kernel.forward + Kernel.backward on the layer's arrays (the generated calls and
              their Python: buffers, the parameter dict, the gradient accumulators)
  calls       the four generated functions alone (project, forward, backward, grads) on arrays made once,
              and each of them

step - kernels is the layer, the tape and zero_grad; kernels - calls the Kernel's wrappers.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="20x1x10x20")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batches", type=int, default=20)
ap.add_argument("--calls", type=int, default=200)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel  # noqa: E402
from tinygrad_rnn.kernels import runtime  # noqa: E402


def step_of(layer, x):
    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()
    return step


def kernel_calls(name, cell, x):
    """{label: function} of the kernels with their wrappers, and of the four generated calls alone."""
    T, B, I = x.shape
    dt = x.dtype
    kernel = get_kernel(cell, dt)[0]
    params = [p._data for p in cell.parameters()]
    views = kernel.parameter_views(params)   # as the layer's snapshot keeps them
    dout = np.broadcast_to(np.ones((), dt), (T, B, kernel.dout_width))   # out.sum()'s
    no_finals, needs = (None,) * len(kernel.states), (True,) * len(params)

    def kernels():
        _, _, saved = kernel.forward(x._data, (), params, None, views=views)
        kernel.backward(saved, dout, no_finals, params, needs, False, True)

    arrays = kernel._parameters(params, views)
    arrays["lengths"], arrays["X"] = runtime.all_steps(B, T), np.ascontiguousarray(x._data)
    kernel.forward_buffers(arrays, T, B, (), False, np.empty)
    plan = kernel._backward_plan(params, T, B, I, False, False, needs)
    args = kernel._gradient_buffers(dict(arrays), np.ones((1, 1, kernel.dout_width), dt), list(no_finals), False,
                                    plan)
    acc = plan.accumulators
    grads_in = acc.order([*acc.others(args), *map(np.empty, acc.shapes, acc.dtypes)])
    m, need = kernel.module, plan.need
    project_in, forward_in = kernel.project_args.pick(arrays), kernel.forward_args.pick(arrays)
    backward_in = kernel.backward_args.pick(args)
    parts = {"project": lambda: m.project(*project_in, 0, T), "forward": lambda: m.forward(*forward_in, 0, B),
             "backward": lambda: m.backward(*backward_in, 0, B),
             "grads": lambda: m.grads(*grads_in, need, False, True, 0, T)}

    def calls():
        for part in parts.values():
            part()
    return {f"{name} kernels": kernels, f"{name} calls": calls, **{f"{name} {k}": f for k, f in parts.items()}}


def measure(fns):
    """Median CPU us per call, the functions interleaved batch by batch in a rotated order."""
    for fn in fns.values():
        for _ in range(100):
            fn()
    times = {name: [] for name in fns}
    names = list(fns)
    for b in range(ARGS.batches):
        for name in names[b % len(names):] + names[:b % len(names)]:
            fn = fns[name]
            c0 = time.process_time_ns()
            for _ in range(ARGS.calls):
                fn()
            times[name].append((time.process_time_ns() - c0) / ARGS.calls / 1e3)
    return {name: float(np.median(v)) for name, v in times.items()}


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    dt = np.float32
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(dt))
    layers = {"lstm": tr.nn.LSTM(I, H, dtype=dt), "rec-lstm": tr.nn.Recurrent(tr.nn.LSTMCell, I, H, dtype=dt),
              "peephole": tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=dt)}
    fns = {f"{name} step": step_of(layer, x) for name, layer in layers.items()}
    for name in ("rec-lstm", "peephole"):
        fns.update(kernel_calls(name, layers[name].cells[0], x))
    med = measure(fns)
    print(f"{ARGS.shape}, float32, {ARGS.threads} thread(s): CPU us per call (median of {ARGS.batches} batches); "
          f"tr.nn.LSTM's step {med['lstm step']:.2f}")
    print(f"{'':10s}{'rec-lstm':>10s}{'peephole':>10s}{'difference':>12s}")
    for part in ("step", "kernels", "calls", "project", "forward", "backward", "grads"):
        a, b = med[f"rec-lstm {part}"], med[f"peephole {part}"]
        print(f"{part:10s}{a:10.2f}{b:10.2f}{b - a:+12.2f}")


if __name__ == "__main__":
    main()
