"""Generated kernels against the hand-written ones (and other cells against tr.nn.LSTM), side by side.

    python bench/compiled_cells.py                                  # every cell at the `python -m bench` shapes
    python bench/compiled_cells.py --threads 2 --cells lstm --shapes 100x32x128x256 --rounds 7
    python bench/compiled_cells.py --others     # a user's LSTM, peephole, Jordan, layer-norm LSTM vs tr.nn.LSTM

One training step per measurement, float32: forward over the whole sequence from zero state, loss = sum
of the outputs, backward to every weight (the input needs no gradient), as the rest of bench/ does.
    hand     the hand-written Numba kernels tinygrad_rnn 0.1 ran for tr.nn.RNN / GRU / LSTM, kept as a peer
             (bench/peers/handwritten_kernels.py), on the weights of the layer below
    gen      tr.nn.RNN / GRU / LSTM (fused=True): the kernels generated from nn/cells.py's RNNCell / GRUCell /
             LSTMCell (what the library runs)
Both run in this process with --threads threads (OMP/OpenBLAS/Numba set before numpy is imported).
Round-robin: each round runs `repeats` steps of each peer in a rotated order (after one untimed step),
so a noisy machine's slow phases hit all alike. Prints medians, p25-p75 and gen/hand; asserts nothing.
"""
import argparse
import os
import sys
import time


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="50x32x64x128,100x32x128x256,100x64x256x512,20x1x10x20,1000x8x32x64")
    ap.add_argument("--cells", default="rnn_tanh,rnn_relu,gru,lstm")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--others", action="store_true",
                    help="a user's plain-Tensor LSTM, peephole/Jordan/layer-norm LSTM vs tr.nn.LSTM instead")
    return ap.parse_args()


ARGS = parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from bench.peers import handwritten_kernels as handwritten  # noqa: E402
from bench.user_cells import UserLSTMCell  # noqa: E402


def step_of(layer, x):
    def step():
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()
    return step


def layer_of(cell, I, H):
    dt = np.float32
    if cell.startswith("rnn"):
        return tr.nn.RNN(I, H, nonlinearity=cell[4:], dtype=dt)
    return {"gru": tr.nn.GRU, "lstm": tr.nn.LSTM}[cell](I, H, dtype=dt)


def others(I, H):
    dt = np.float32
    return {"lstm": tr.nn.LSTM(I, H, dtype=dt),
            "user-lstm": tr.nn.Recurrent(UserLSTMCell, I, H, dtype=dt),
            "peephole": tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=dt),
            "jordan": tr.nn.Recurrent(tr.nn.JordanCell, I, H, dtype=dt),
            "layernorm": tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=dt)}


def measure(steps):
    for step in steps.values():   # the first call compiles and warms up
        step()
    samples = {name: [] for name in steps}
    names = list(steps)
    for r in range(ARGS.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            steps[name]()
            for _ in range(ARGS.repeats):
                t0 = time.perf_counter()
                steps[name]()
                samples[name].append(time.perf_counter() - t0)
    return {name: np.array(s) * 1e3 for name, s in samples.items()}


def main():
    print(f"one training step, float32, {ARGS.threads} thread(s), {ARGS.rounds} rounds x {ARGS.repeats} steps, "
          "medians (p25-p75) in ms")
    for shape in ARGS.shapes.split(","):
        T, B, I, H = (int(v) for v in shape.split("x"))
        x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
        if ARGS.others:
            groups = [("vs lstm", {name: step_of(layer, x) for name, layer in others(I, H).items()})]
        else:
            groups = [(c, {"hand": step_of(handwritten.use_handwritten(layer_of(c, I, H), c), x),
                           "gen": step_of(layer_of(c, I, H), x)}) for c in ARGS.cells.split(",")]
        for label, steps in groups:
            res = measure(steps)
            base = np.median(res["lstm" if ARGS.others else "hand"])
            cols = "  ".join(f"{n} {np.median(s):8.2f} ({np.percentile(s, 25):.2f}-{np.percentile(s, 75):.2f})"
                             f" {np.median(s) / base:.2f}x" for n, s in res.items())
            print(f"{shape:>16s} {label:9s} {cols}", flush=True)


if __name__ == "__main__":
    main()
