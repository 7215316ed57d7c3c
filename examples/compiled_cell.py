"""A new recurrent cell, written as plain Tensor code, compiled into one Numba kernel.

The cell is the Minimal Gated Unit (Zhou et al. 2016), a GRU with a single forget gate:
    f_t = sigmoid(W_f x_t + U_f h_{t-1} + b_f)
    n_t = tanh(W_n x_t + U_n (f_t * h_{t-1}) + b_n)        <- a second recurrent product, after a gate
    h_t = (1 - f_t) * h_{t-1} + f_t * n_t
It has no backward and no loop: tr.compile_cell traces its forward once, finds the input products
(hoisted out of the time loop), the two recurrent products (one gemm each per step) and the
elementwise work between them, and generates the whole-sequence forward and its BPTT. This script
checks the compiled layer against the generic tape, times both, and prints the generated source.

    python examples/compiled_cell.py                    # T=50, batch 2, input 16, hidden 32; prints the source
    python examples/compiled_cell.py --quiet            # without the source
    python examples/compiled_cell.py --steps 200 --hidden 64
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.nn.cells import RecurrentCell  # noqa: E402
from tinygrad_rnn.nn.module import uniform  # noqa: E402


class MGUCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / np.sqrt(hidden_size)
        self.weight_ih = uniform((2 * hidden_size, input_size), bound, dtype)   # W_f; W_n
        self.weight_fh = uniform((hidden_size, hidden_size), bound, dtype)      # U_f
        self.weight_nh = uniform((hidden_size, hidden_size), bound, dtype)      # U_n
        self.bias = uniform((2 * hidden_size,), bound, dtype)

    def forward(self, x, h):
        xf, xn = (x @ self.weight_ih.T + self.bias).chunk(2, axis=-1)
        f = (xf + h @ self.weight_fh.T).sigmoid()
        n = (xn + (f * h) @ self.weight_nh.T).tanh()
        return (1 - f) * h + f * n


def train_step(layer, x, target):
    layer.zero_grad()
    lengths = np.full(x.shape[1], x.shape[0])
    lengths[1] = x.shape[0] // 2  # one shorter sequence: the kernels' padding path runs too
    out, _ = layer(x, lengths=lengths)
    loss = ((out - target) * (out - target)).mean()
    loss.backward()
    return loss.item(), {n: p.grad.numpy() for n, p in layer.named_parameters()}


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=50, help="sequence length T (default 50)")
    p.add_argument("--batch", type=int, default=2, help="batch size B, at least 2 (default 2)")
    p.add_argument("--input", type=int, default=16, help="input size I (default 16)")
    p.add_argument("--hidden", type=int, default=32, help="hidden size H (default 32)")
    p.add_argument("--quiet", action="store_true", help="do not print the generated source")
    return p


def main(argv=None):
    a = build_parser().parse_args(argv)
    if a.batch < 2 or a.steps < 2:
        raise SystemExit("--batch and --steps must be at least 2 (the second sequence is half as long)")
    return run(a.steps, a.batch, a.input, a.hidden, show_source=not a.quiet)


def run(T=50, B=2, I=16, H=32, show_source=True):
    """Compile an MGU layer, hold one training step against the generic tape, time both.
    Returns (compiled loss, tape loss, largest relative gradient difference)."""
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((T, B, I)).astype(np.float32))
    target = tr.Tensor(rng.standard_normal((T, B, H)).astype(np.float32))

    tr.manual_seed(0)
    layer = tr.nn.Recurrent(MGUCell, I, H, dtype=np.float32)   # fused=True: generated kernels
    t0 = time.perf_counter()
    loss_c, grads_c = train_step(layer, x, target)
    print(f"first compiled step (traces, generates and compiles; cached on disk afterwards): "
          f"{time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    loss_c, grads_c = train_step(layer, x, target)
    t_comp = time.perf_counter() - t0
    layer.fused = False
    t0 = time.perf_counter()
    loss_t, grads_t = train_step(layer, x, target)
    t_tape = time.perf_counter() - t0
    worst = max(float(np.max(np.abs(grads_c[n] - grads_t[n]) / (np.abs(grads_t[n]).max() + 1e-30))) for n in grads_t)
    print(f"loss compiled {loss_c:.6f}  tape {loss_t:.6f};  largest relative gradient difference {worst:.1e}")
    print(f"one step: compiled {t_comp * 1e3:.1f} ms, generic tape {t_tape * 1e3:.1f} ms")
    assert abs(loss_c - loss_t) < 1e-5 and worst < 1e-4

    if show_source:
        print("\n# ---- the generated kernels: tr.compile_cell(cell).source ----")
        print(tr.compile_cell(layer.cells[0]).source)
    return loss_c, loss_t, worst


if __name__ == "__main__":
    main()
