"""What pairing a kernel's calls at one thread would gain and cost: a developer's probe (issue 12, 2026-12-02).

    python bench/paired_calls.py                                 # rnn_tanh at 20x1x10x20, float32
    python bench/paired_calls.py --cell lstm --batches 80

At one thread with one block of rows a training step calls four generated functions (compile/node.py):
project, the forward loop, the backward loop, grads. This probe writes two njit functions that each call a
pair of them (project then forward; backward then grads, assigning its accumulators as at one thread), on the
same arrays (made once, as bench/small_step.py --loops makes them), and prints:

  gain     CPU time per step of the four calls against the two paired ones (each call's arguments picked
           from the dict of arrays, as node.py picks them), medians of interleaved batches, and their difference
  compile  the process CPU time of each paired function's first call, with its callees already compiled:
           Numba links a callee's code into its caller and optimises the whole module again

What it showed (20x1x10x20, float32, 1 thread, a loaded machine): the pairs save 0.5-0.8 us per step (rnn_tanh
9.43 -> 8.67 and 9.55 -> 9.02, lstm 17.79 -> 17.02; an earlier run of the same comparison 1.1-1.4 us), and
compiling them costs rnn 0.5 + 0.6 s CPU, lstm 0.6 + 0.7 s, callees compiled already. In the library, paired at
a kernel's second call (reverted on branch rnn17), a fresh cache's second step at 10x4x32x64 cost rnn 1.55 s,
lstm 2.49 s, layer-norm LSTM 2.88 s of process CPU (main: 0.00): about as much again as the cold compile that
compile/worker.py splits. Then tried (branch rnn17, not merged): the worker compiles the pairs after forward
and grads, and a kernel switches to them once the worker reports them cached. Quiet A/B of `bench/small_step.py
--batches 20` (2026-12-02 03:33-03:36, main and that branch alternating, 9 processes each, medians of gen/hand):
1 thread tanh 1.055 -> 1.023, relu 1.047 -> 1.022, GRU 0.982 -> 0.973, LSTM 0.982 -> 0.971; 2 threads tanh
1.032 -> 1.023, relu 1.033 -> 1.016, GRU 0.978 -> 0.983, LSTM 0.964 -> 0.967. Not merged: about 2% at tiny
shapes, still above the hand-written kernels, for a second protocol between the kernel and its worker, more
compile CPU at every cold start, and a one-time 1-3 s compile in the process for a module whose first process
exited before its worker had cached the pairs (every short script and test process).
"""
import argparse
import operator
import os
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from bench.small_step import LAYERS, measure, step_of  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel  # noqa: E402
from tinygrad_rnn.kernels import runtime  # noqa: E402


def unique(names):
    return list(dict.fromkeys(names))


def paired_functions(kernel):
    """(project_forward, backward_grads, their argument names): njit functions calling the module's own.
    Constants go in typed (np.int64(0)): a literal argument makes Numba compile the callee again for it."""
    names = {k: [a.name for a in getattr(kernel, k + "_args")] for k in ("project", "forward", "backward", "grads")}
    fwd, bwd = unique(names["project"] + names["forward"]), unique(names["backward"] + names["grads"])
    source = (f"def project_forward({', '.join(fwd)}, n_steps, b0, b1):\n"
              f"    project({', '.join(names['project'])}, np.int64(0), n_steps)\n"
              f"    forward({', '.join(names['forward'])}, b0, b1)\n\n"
              f"def backward_grads({', '.join(bwd)}, need, need_dx, n_steps, b0, b1):\n"
              f"    backward({', '.join(names['backward'])}, b0, b1)\n"
              f"    grads({', '.join(names['grads'])}, need, need_dx, np.bool_(True), np.int64(0), n_steps)\n")
    m = kernel.module
    space = {"np": np, "project": m.project, "forward": m.forward, "backward": m.backward, "grads": m.grads}
    exec(source, space)
    jit = numba.njit(error_model="numpy", nogil=True)
    return jit(space["project_forward"]), jit(space["backward_grads"]), fwd, bwd


def arrays_of(kernel, params, x):
    """The forward's and the backward's arrays for x, made once (bench/small_step.loop_calls' way)."""
    T, B, I = x.shape
    H = kernel.prog.state_sizes[0]
    arrays = kernel._parameters(params)
    arrays["lengths"], arrays["X"] = runtime.all_steps(B, T), np.ascontiguousarray(x._data)
    kernel.forward_buffers(arrays, T, B, (), False, np.empty)
    plan = kernel._backward_plan(params, T, B, I, False, False, (True,) * len(params))
    args = kernel._gradient_buffers(dict(arrays), np.ones((1, 1, H), kernel.dtype), [None] * len(kernel.states),
                                    False, plan)
    kernel._fill_accumulators(plan.accumulators, args, np.empty)
    return args, plan.need


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cell", default="rnn_tanh", choices=sorted(LAYERS))
    p.add_argument("--shape", default="20x1x10x20", help="TxBxIxH")
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--calls", type=int, default=300)
    args = p.parse_args()
    tr.set_num_threads(1)
    T, B, I, H = (int(n) for n in args.shape.split("x"))
    cls, kw = LAYERS[args.cell]
    layer = cls(I, H, dtype=np.float32, **kw)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    step_of(layer, x)()   # compiles (or loads) the module's four functions
    kernel = get_kernel(layer._cell(0, 0), np.float32)[0]
    arrays, need = arrays_of(kernel, [w._data for w in layer.weights(0, 0)], x)
    project_forward, backward_grads, fwd, bwd = paired_functions(kernel)
    pick = {k: getattr(kernel, k + "_args").pick for k in ("project", "forward", "backward", "grads")}
    get_fwd, get_bwd = operator.itemgetter(*fwd), operator.itemgetter(*bwd)   # (as node.py picks arguments)
    m = kernel.module

    for fn, fargs in ((project_forward, (*get_fwd(arrays), T, 0, B)),
                      (backward_grads, (*get_bwd(arrays), need, False, T, 0, B))):
        start = time.process_time()
        fn(*fargs)
        print(f"compile {fn.__name__:16s} {time.process_time() - start:6.2f} s CPU (callees compiled already)")

    def four():
        m.project(*pick["project"](arrays), 0, T)
        m.forward(*pick["forward"](arrays), 0, B)
        m.backward(*pick["backward"](arrays), 0, B)
        m.grads(*pick["grads"](arrays), need, False, True, 0, T)

    def two():
        project_forward(*get_fwd(arrays), T, 0, B)
        backward_grads(*get_bwd(arrays), need, False, T, 0, B)

    t = measure({"four": four, "two": two}, args.batches, args.calls)
    print(f"{args.cell} {args.shape} float32, 1 thread: CPU us per step, medians of {args.batches} interleaved "
          f"batches of {args.calls}: four calls {t['four']:.2f}, two paired {t['two']:.2f}, "
          f"saved {t['four'] - t['two']:.2f}")


if __name__ == "__main__":
    main()
