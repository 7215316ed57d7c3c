"""Where the time of a one-sequence training step goes: a developer's probe, not the benchmark.

At (T, B, I, H) = (20, 1, 10, 20) a training step takes about 0.1 ms and the arithmetic is a few
microseconds, so what counts is fixed cost per call. For each cell this times, alternating in one
process (medians):

  step     what `python -m bench` times: zero_grad, the layer's forward, out.sum(), backward
  kernels  the fused kernels alone on the same arrays: rnn_forward + rnn_backward (their Python
           wrappers included: checks, allocation, Numba dispatch), no Module, no tape

step - kernels is the Python path around the kernels: the layer's forward, the tape's apply and
backward walk, zero_grad, the sum and its gradient.

    python bench/small_step.py                   # all three cells, 3000 steps each
    python bench/small_step.py --cells rnn --steps 10000
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from bench.peers.handwritten_kernels import rnn_backward, rnn_forward  # noqa: E402

LAYERS = {"lstm": tr.nn.LSTM, "gru": tr.nn.GRU, "rnn": tr.nn.RNN}


def probe(cell, shape, steps):
    T, B, I, H = shape
    tr.manual_seed(0)
    layer = LAYERS[cell](I, H, dtype=np.float32)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    weights = [p.data for p in layer.weights(0, 0)]
    dout = np.broadcast_to(np.ones((), np.float32), (T, B, H))   # what out.sum()'s gradient is

    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()

    def kernels():
        out, _, _, saved = rnn_forward(layer.mode, x.data, None, None, *weights)   # no h0: as the layer calls it
        rnn_backward(layer.mode, saved, dout, None, None, need_dx=False)

    times = {"step": [], "kernels": []}
    for _ in range(steps // 10):  # warm-up (and the first call's compile)
        step()
        kernels()
    for _ in range(steps):
        for name, fn in (("step", step), ("kernels", kernels)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) * 1e6 for name, t in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", default="lstm,gru,rnn")
    p.add_argument("--shape", default="20x1x10x20", help="TxBxIxH")
    p.add_argument("--steps", type=int, default=3000)
    args = p.parse_args()
    shape = tuple(int(n) for n in args.shape.split("x"))
    print(f"one training step, (T, B, I, H) = {shape}, float32, medians of {args.steps} alternating steps (us)")
    print(f"{'cell':6s} {'step':>8s} {'kernels':>8s} {'python path':>12s}")
    for cell in args.cells.split(","):
        m = probe(cell, shape, args.steps)
        print(f"{cell:6s} {m['step']:8.1f} {m['kernels']:8.1f} {m['step'] - m['kernels']:12.1f}")


if __name__ == "__main__":
    main()
