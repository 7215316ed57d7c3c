"""A developer's probe: how the first steps after an idle pause compare with steps run back to back.

    python bench/idle_gap.py                       # tinygrad_rnn LSTM (50, 32, 64, 128), 2 threads
    python bench/idle_gap.py --torch --gaps 0,0.3  # the same step in torch.nn

Runs warm training steps, then `--rounds` times: sleep `gap` seconds, run 6 steps; prints the median wall
time of each of the 6 positions per gap. Here tinygrad_rnn's 2-thread steps are slow for about
50 ms of work after a pause of 0.3 s or more, torch.nn's hardly; the cause is open (bench/README.md,
"Why short 2-thread steps vary"). Asserts nothing.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--shape", default="50x32x64x128", help="T x B x I x H")
ap.add_argument("--gaps", default="0,0.05,0.3,1.0", help="idle pauses in seconds")
ap.add_argument("--rounds", type=int, default=30)
ap.add_argument("--torch", action="store_true", help="time torch.nn.LSTM instead")
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_step(T, B, I, H):
    if ARGS.torch:
        import torch
        torch.set_num_threads(ARGS.threads)
        layer, x = torch.nn.LSTM(I, H), torch.rand(T, B, I)
    else:
        import tinygrad_rnn as tr
        layer, x = tr.nn.LSTM(I, H), tr.Tensor(np.random.rand(T, B, I).astype(np.float32))

    def step():
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()
    return step


def main():
    step = make_step(*(int(v) for v in ARGS.shape.split("x")))
    for _ in range(20):
        step()
    name = "torch.nn" if ARGS.torch else "tinygrad_rnn"
    print(f"{name} LSTM {ARGS.shape}, {ARGS.threads} thread(s): median ms of steps 1-6 after each pause")
    for gap in (float(g) for g in ARGS.gaps.split(",")):
        times = [[] for _ in range(6)]
        for _ in range(ARGS.rounds):
            time.sleep(gap)
            for k in range(6):
                start = time.perf_counter()
                step()
                times[k].append((time.perf_counter() - start) * 1e3)
        print(f"  pause {gap:5.2f} s: " + "  ".join(f"{np.median(t):6.2f}" for t in times))


if __name__ == "__main__":
    main()
