"""Where the time of a one-sequence training step goes: a developer's probe, not the benchmark.

At (T, B, I, H) = (20, 1, 10, 20) a training step takes well under 0.1 ms and the arithmetic is a few
microseconds, so what counts is fixed cost per call. For each cell this times, alternating in one
process, the generated path (gen: tr.nn.RNN / GRU / LSTM as the library runs them) against the
hand-written kernels of 0.1 (hand: bench/peers/handwritten_kernels.py, through the same layer):

  step     what `python -m bench` times: zero_grad, the layer's forward, out.sum(), backward
  kernels  the kernels alone on the same arrays, their Python wrappers included (checks, allocation,
           Numba dispatch), no Module, no tape: gen Kernel.forward (with the parameter views the layer's
           snapshot keeps) + Kernel.backward (compile/node.py),
           hand rnn_forward + rnn_backward
  --loops  also the bare time loops: gen the generated `forward` and `backward` (compile/codegen.py),
           hand _<cell>_forward_loop and _<cell>_backward_loop, on arrays made once
  --split  also the kernels' forward and backward apart (each backward on one forward's saved values, as
           retain_graph=True would): where gen's wrappers cost more or less than hand's

step - kernels is the Python path around the kernels: the layer's forward, the tape's apply and
backward walk, zero_grad, the sum and its gradient.

Times are CPU time of this thread (time.thread_time) per call, the median over batches of `--calls`
calls, the batches of all timed functions interleaved: on a shared machine the CPU time of a batch is
less disturbed by other processes than its wall time, and a slow phase hits every function alike.

    python bench/small_step.py                   # all four cells, 40 batches of 200 calls
    python bench/small_step.py --cells rnn_tanh --batches 100 --loops --threads 2
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from bench.peers import handwritten_kernels as hw  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel  # noqa: E402
from tinygrad_rnn.kernels import runtime  # noqa: E402

LAYERS = {"rnn_tanh": (tr.nn.RNN, {}), "rnn_relu": (tr.nn.RNN, {"nonlinearity": "relu"}),
          "gru": (tr.nn.GRU, {}), "lstm": (tr.nn.LSTM, {})}


def layers(cell, I, H):
    cls, kw = LAYERS[cell]
    tr.manual_seed(0)
    gen = cls(I, H, dtype=np.float32, **kw)
    tr.manual_seed(0)
    return gen, hw.use_handwritten(cls(I, H, dtype=np.float32, **kw), cell)


def step_of(layer, x):
    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()
    return step


def kernel_calls(cell, gen, x):
    """(gen, hand): the kernels' forward and backward with their wrappers, as the layers call them."""
    kernel = get_kernel(gen._cell(0, 0), np.float32)[0]
    params = [p._data for p in gen.weights(0, 0)]
    weights = list(params)
    dout = np.broadcast_to(np.ones((), np.float32), (x.shape[0], x.shape[1], gen.hidden_size))  # out.sum()'s
    n_finals = 2 if cell == "lstm" else 1

    views = kernel.parameter_views(params)   # as the layer's snapshot keeps them

    def gen_kernels():
        _, _, saved = kernel.forward(x._data, (), params, None, views=views)
        kernel.backward(saved, dout, [None] * n_finals, params, [True] * len(params), False)

    def hand_kernels():
        _, _, _, saved = hw.rnn_forward(cell, x._data, None, None, *weights)
        hw.rnn_backward(cell, saved, dout, None, None, need_dx=False)

    return gen_kernels, hand_kernels, kernel, params


def split_calls(cell, kernel, params, x):
    """The kernels' forward and backward of kernel_calls apart: each backward on one forward's saved values."""
    dout = np.broadcast_to(np.ones((), np.float32), (x.shape[0], x.shape[1], kernel.dout_width))
    n_finals = len(kernel.states)
    views = kernel.parameter_views(params)
    _, _, saved = kernel.forward(x._data, (), params, None, views=views)
    _, _, _, hand_saved = hw.rnn_forward(cell, x._data, None, None, *params)
    needs = (True,) * len(params)
    return {"gen forward": lambda: kernel.forward(x._data, (), params, None, views=views),
            "hand forward": lambda: hw.rnn_forward(cell, x._data, None, None, *params),
            "gen backward": lambda: kernel.backward(saved, dout, (None,) * n_finals, params, needs, False),
            "hand backward": lambda: hw.rnn_backward(cell, hand_saved, dout, None, None, need_dx=False)}


def loop_calls(cell, kernel, params, x):
    """The bare time loops, generated and hand-written, on arrays made once."""
    T, B, _ = x.shape
    H = kernel.prog.state_sizes[0]
    arrays = kernel._parameters(params)
    arrays["lengths"], arrays["X"] = runtime.all_steps(B, T), np.ascontiguousarray(x._data)
    kernel.forward_buffers(arrays, T, B, (), False, np.empty)
    kernel.module.project(*kernel.project_args.pick(arrays), 0, T)
    kernel.module.forward(*kernel.forward_args.pick(arrays), 0, B)
    plan = kernel._backward_plan(params, T, B, x.shape[2], False, False, (True,) * len(params))
    grads = kernel._gradient_buffers(arrays, np.ones((T, B, H), np.float32), [None] * len(kernel.states), False, plan)
    fwd, bwd = kernel.forward_args.pick(arrays), kernel.backward_args.pick(grads)
    m = kernel.module
    G = {"lstm": 4, "gru": 3}.get(cell, 1)
    rng = np.random.default_rng(0)
    f32 = np.float32
    pre = (rng.standard_normal((T, B, G * H)) * 0.1).astype(f32)
    h, c, rec = np.zeros((B, H), f32), np.zeros((B, H), f32), np.empty((B, G * H), f32)
    w_t, w = (rng.standard_normal((H, G * H)) * 0.1).astype(f32), (rng.standard_normal((G * H, H)) * 0.1).astype(f32)
    lens, out, extra = runtime.all_steps(B, T), np.empty((T, B, H), f32), np.empty((T, B, H), f32)
    dout, dh, dc = np.ones((T, B, H), f32), np.zeros((B, H), f32), np.zeros((B, H), f32)
    da, da2, b_hh = np.empty((T, B, G * H), f32), np.empty((T, B, G * H), f32), np.zeros(G * H, f32)
    if cell == "lstm":
        hand = (lambda: hw._lstm_forward_loop(pre, h, c, w_t, lens, False, out, extra, rec, 0, B),
                lambda: hw._lstm_backward_loop(pre, extra, c, w, lens, False, dout, True, dh, dc, da, rec, 0, B))
    elif cell == "gru":
        hand = (lambda: hw._gru_forward_loop(pre, h, w_t, b_hh, lens, False, out, extra, rec, 0, B),
                lambda: hw._gru_backward_loop(pre, extra, out, h, w, lens, False, dout, True, dh, da, da2, rec, 0, B))
    else:
        relu = cell == "rnn_relu"
        hand = (lambda: hw._rnn_forward_loop(relu, pre, h, w_t, lens, False, out, rec, 0, B),
                lambda: hw._rnn_backward_loop(relu, out, w, lens, False, dout, True, dh, da, rec, 0, B))
    return {"gen forward loop": lambda: m.forward(*fwd, 0, B), "hand forward loop": hand[0],
            "gen backward loop": lambda: m.backward(*bwd, 0, B), "hand backward loop": hand[1]}


def measure(fns, batches, calls):
    """Median CPU time per call (us) of each function, batches of `calls` calls, interleaved."""
    for fn in fns.values():   # warm-up (and the first call's compile)
        for _ in range(calls // 4 + 1):
            fn()
    times = {name: [] for name in fns}
    for _ in range(batches):
        for name, fn in fns.items():
            start = time.thread_time()
            for _ in range(calls):
                fn()
            times[name].append((time.thread_time() - start) / calls)
    return {name: float(np.median(t)) * 1e6 for name, t in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", default="rnn_tanh,rnn_relu,gru,lstm")
    p.add_argument("--shape", default="20x1x10x20", help="TxBxIxH")
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--calls", type=int, default=200, help="calls per timed batch")
    p.add_argument("--loops", action="store_true", help="also the bare time loops")
    p.add_argument("--split", action="store_true", help="also the kernels' forward and backward apart")
    p.add_argument("--threads", type=int, default=None, help="tr.set_num_threads (default: the library's)")
    args = p.parse_args()
    if args.threads:
        tr.set_num_threads(args.threads)
    T, B, I, H = (int(n) for n in args.shape.split("x"))
    print(f"(T, B, I, H) = {(T, B, I, H)}, float32, {tr.get_num_threads()} thread(s): CPU time per call, "
          f"medians of {args.batches} interleaved batches of {args.calls} calls (us)")
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    for cell in args.cells.split(","):
        gen, hand = layers(cell, I, H)
        gen_kernels, hand_kernels, kernel, params = kernel_calls(cell, gen, x)
        fns = {"gen step": step_of(gen, x), "hand step": step_of(hand, x),
               "gen kernels": gen_kernels, "hand kernels": hand_kernels}
        if args.loops:
            fns.update(loop_calls(cell, kernel, params, x))
        if args.split:
            fns.update(split_calls(cell, kernel, params, x))
        m = measure(fns, args.batches, args.calls)
        print(f"{cell:9s} step gen {m['gen step']:6.1f} hand {m['hand step']:6.1f} "
              f"gen/hand {m['gen step'] / m['hand step']:.3f} | kernels gen {m['gen kernels']:6.1f} "
              f"hand {m['hand kernels']:6.1f} | python path gen {m['gen step'] - m['gen kernels']:5.1f} "
              f"hand {m['hand step'] - m['hand kernels']:5.1f}", flush=True)
        if args.loops:
            print(f"{'':9s} loops: forward gen {m['gen forward loop']:5.2f} hand {m['hand forward loop']:5.2f}"
                  f" | backward gen {m['gen backward loop']:5.2f} hand {m['hand backward loop']:5.2f}")
        if args.split:
            print(f"{'':9s} kernels: forward gen {m['gen forward']:5.2f} hand {m['hand forward']:5.2f} "
                  f"gen/hand {m['gen forward'] / m['hand forward']:.3f} | backward gen {m['gen backward']:5.2f} "
                  f"hand {m['hand backward']:5.2f} gen/hand {m['gen backward'] / m['hand backward']:.3f}")


if __name__ == "__main__":
    main()
