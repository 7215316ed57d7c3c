"""Quick check of the hand-written kernels of 0.1 (bench/peers/handwritten_kernels.py) against torch.nn, one
training step (forward over the sequence + backward to every weight and the input), float32, same thread count.

    python bench/kernels_quick.py                      # wall time, all cells and shapes, interleaved
    python bench/kernels_quick.py --cells lstm --shapes 0,4 --seconds 5
    OPENBLAS_NUM_THREADS=1 python bench/kernels_quick.py --cpu    # one thread each, CPU time

Wall mode alternates ours and torch's step and reports the minimum and the median of each (the minimum is
the least disturbed when other work shares the machine). --cpu measures process CPU time with one thread
on both sides: a work-efficiency comparison that other load on the machine barely moves.
This is a developer's probe, not the project benchmark (that is `python -m bench`).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.peers.handwritten_kernels import rnn_backward, rnn_forward  # noqa: E402
from tinygrad_rnn.kernels import blas  # noqa: E402

SHAPES = [(50, 32, 64, 128), (100, 32, 128, 256), (100, 64, 256, 512), (20, 1, 10, 20), (1000, 8, 32, 64)]


def make_steps(torch, cell, shape):
    n_steps, batch, n_in, hidden = shape
    kw = {"nonlinearity": cell[4:]} if cell.startswith("rnn") else {}
    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(cell, torch.nn.RNN)(n_in, hidden, **kw)
    x = np.random.default_rng(0).standard_normal((n_steps, batch, n_in)).astype(np.float32)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    h0 = np.zeros((batch, hidden), np.float32)
    c0 = h0.copy() if cell == "lstm" else None
    weights = [p.detach().numpy().copy() for p in layer.parameters()]
    dout = np.ones((n_steps, batch, hidden), np.float32)

    def ours():
        out, _, _, saved = rnn_forward(cell, x, h0, c0, *weights, None, False)
        rnn_backward(cell, saved, dout, None, None)

    def theirs():
        out, _ = layer(xt)
        out.sum().backward()

    return ours, theirs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default="lstm,gru,rnn_tanh")
    ap.add_argument("--shapes", default=",".join(str(i) for i in range(len(SHAPES))),
                    help="indices into " + str(SHAPES))
    ap.add_argument("--seconds", type=float, default=4.0, help="per cell and shape")
    ap.add_argument("--cpu", action="store_true", help="one thread each, CPU time")
    args = ap.parse_args()
    import torch
    threads = 1 if args.cpu else blas.num_threads()
    torch.set_num_threads(threads)
    clock = time.process_time if args.cpu else time.perf_counter
    print(f"threads: {threads} (OpenBLAS {blas.num_threads()}, torch {torch.get_num_threads()}); "
          f"BLAS: {blas.BLAS_SOURCE}")
    for cell in args.cells.split(","):
        for shape in (SHAPES[int(i)] for i in args.shapes.split(",")):
            ours, theirs = make_steps(torch, cell, shape)
            ours(), theirs()
            t_ours, t_torch = [], []
            start = time.perf_counter()
            while time.perf_counter() - start < args.seconds or len(t_ours) < 5:
                t0 = clock()
                ours()
                t1 = clock()
                theirs()
                t2 = clock()
                t_ours.append(t1 - t0)
                t_torch.append(t2 - t1)
            mo, mt, do, dt = min(t_ours), min(t_torch), np.median(t_ours), np.median(t_torch)
            print(f"{cell:8s} {str(shape):20s} min ours {mo * 1e3:9.3f} ms  torch {mt * 1e3:9.3f} ms  "
                  f"ratio {mo / mt:5.2f}  | median ours {do * 1e3:9.3f}  torch {dt * 1e3:9.3f}  "
                  f"ratio {do / dt:5.2f}  (n={len(t_ours)})", flush=True)


if __name__ == "__main__":
    main()
