"""Compiled cells against the hand-fused kernel and torch.nn, side by side in one run.

    python bench/compiled_cells.py                      # (T, B, I, H) = (100, 32, 128, 256), float32
    python bench/compiled_cells.py --shape 50x16x64x128 --rounds 5 --repeats 3 --cold

One training step per measurement: forward over the whole sequence from zero state, loss = sum of
the outputs, backward to every weight (the input needs no gradient), as the rest of bench/ does.
Peers (each built once, all in this process, one thread each: OMP/OpenBLAS/torch set to 1):
    fused      tr.nn.LSTM(fused=True): the hand-written Numba LSTM kernel
    compiled   tr.nn.Recurrent(tr.nn.LSTMCell, compile=True): the plain-Tensor LSTMCell, compiled
    peephole   tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, compile=True)
    torch      torch.nn.LSTM (no peephole LSTM exists in torch; it is the reference the issue names)
Round-robin: each round runs `repeats` steps of every peer in a rotated order (after one untimed
step), so a noisy machine's slow phases hit all alike. Prints medians, p25-p75, and the two ratios
the issue asks for; nothing is asserted. Compile time (first call: trace, codegen, Numba) is reported
apart; --cold uses an empty kernel cache directory so it includes Numba's compilation.
"""
import argparse
import os
import sys
import tempfile
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="100x32x128x256", help="TxBxIxH")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cold", action="store_true", help="compile into an empty cache directory")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    if args.cold:
        os.environ["TINYGRAD_RNN_CACHE"] = tempfile.mkdtemp(prefix="tinygrad_rnn_bench_")
    import tinygrad_rnn as tr

    T, B, I, H = (int(v) for v in args.shape.split("x"))
    dt = np.float32
    x_np = np.random.default_rng(0).standard_normal((T, B, I)).astype(dt)
    x = tr.Tensor(x_np)

    def tr_step(layer):
        def step():
            layer.zero_grad()
            out, _ = layer(x)
            out.sum().backward()
        return step

    peers = {}
    tr.manual_seed(0)
    fused = tr.nn.LSTM(I, H, dtype=dt, fused=True)
    compiled = tr.nn.Recurrent(tr.nn.LSTMCell, I, H, dtype=dt, compile=True)
    peephole = tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=dt, compile=True)
    cell = compiled.cells[0]   # the same weights as the fused layer
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data[...] = getattr(fused, name + "_l0").data
    peers["fused"] = tr_step(fused)
    peers["compiled"] = tr_step(compiled)
    peers["peephole"] = tr_step(peephole)
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(1)
            tl = torch.nn.LSTM(I, H)
            xt = torch.from_numpy(x_np)

            def torch_step():
                tl.zero_grad()
                out, _ = tl(xt)
                out.sum().backward()
            peers["torch"] = torch_step
        except ImportError:
            print("torch not installed: no torch.nn.LSTM column")

    first = {}
    for name, step in peers.items():   # the first call compiles (for the compiled peers) and warms up
        t0 = time.perf_counter()
        step()
        first[name] = time.perf_counter() - t0
    samples = {name: [] for name in peers}
    names = list(peers)
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            peers[name]()   # untimed: the first step after a switch runs on cold caches
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                peers[name]()
                samples[name].append(time.perf_counter() - t0)

    print(f"one training step, LSTM (T, B, I, H) = ({T}, {B}, {I}, {H}) float32, 1 thread, "
          f"{args.rounds} rounds x {args.repeats} steps")
    med = {}
    for name in names:
        s = np.array(samples[name]) * 1e3
        med[name] = np.median(s)
        print(f"  {name:9s} median {med[name]:8.1f} ms   p25-p75 {np.percentile(s, 25):7.1f}-{np.percentile(s, 75):7.1f}"
              f"   first call {first[name]:6.2f} s")
    print(f"compiled LSTMCell / hand-fused LSTM: {med['compiled'] / med['fused']:.2f}x  (target <= 1.3)")
    if "torch" in med:
        print(f"compiled peephole LSTM / torch.nn.LSTM: {med['peephole'] / med['torch']:.2f}x  (target <= 1.5)")
    from tinygrad_rnn.compile.codegen import cache_dir
    print(f"compile time = first call minus a step ({'cold: empty cache ' if args.cold else 'cache '}{cache_dir()}): "
          f"LSTMCell {first['compiled'] - med['compiled'] / 1e3:.2f} s, peephole {first['peephole'] - med['peephole'] / 1e3:.2f} s")


if __name__ == "__main__":
    main()
