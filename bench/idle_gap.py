"""A developer's probe: how the first steps after an idle pause compare with steps run back to back.

    python bench/idle_gap.py                       # tinygrad_rnn LSTM (50, 32, 64, 128), 2 threads
    python bench/idle_gap.py --torch --gaps 0,0.3  # the same step in torch.nn
    python bench/idle_gap.py --cell rnn --shape 100x32x128x256 --gaps 0,0.5 --probe

Runs warm training steps, then `--rounds` times: sleep `gap` seconds, run 6 steps; prints the median wall
time of each of the 6 positions per gap, and p25-p75 of the first three. --probe also prints, per
position, the median time from submitting a task to the library's pool to its start. See bench/README.md,
"Why short 2-thread steps vary" (an early wake of the workers was tried there: branch wake13, d3ea5a0 to
ad81357, whose idle_gap.py has --ab and --handoff). Asserts nothing.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--cell", default="lstm", choices=["rnn", "gru", "lstm"])
ap.add_argument("--shape", default="50x32x64x128", help="T x B x I x H")
ap.add_argument("--gaps", default="0,0.05,0.3,1.0", help="idle pauses in seconds")
ap.add_argument("--rounds", type=int, default=30)
ap.add_argument("--torch", action="store_true", help="time torch.nn's layer instead")
ap.add_argument("--probe", action="store_true", help="also time the pool's submit-to-start")
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STARTS = []   # submit-to-start times (ms) of the pool's tasks in the current step (--probe)


def make_step(T, B, I, H):
    if ARGS.torch:
        import torch
        torch.set_num_threads(ARGS.threads)
        layer, x = getattr(torch.nn, ARGS.cell.upper())(I, H), torch.rand(T, B, I)
    else:
        import tinygrad_rnn as tr
        layer = getattr(tr.nn, ARGS.cell.upper())(I, H)
        x = tr.Tensor(np.random.rand(T, B, I).astype(np.float32))

    def step():
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()
    return step


def probe_pool():
    """Time every task of the library's pool from its submit to its start (into STARTS). The pool is a
    concurrent.futures.ThreadPoolExecutor, the only one in this process."""
    from concurrent.futures import ThreadPoolExecutor
    submit = ThreadPoolExecutor.submit

    def timed_submit(self, fn, /, *args, **kwargs):
        t0 = time.perf_counter()

        def started(*a, **k):
            STARTS.append((time.perf_counter() - t0) * 1e3)
            return fn(*a, **k)
        return submit(self, started, *args, **kwargs)
    ThreadPoolExecutor.submit = timed_submit


def main():
    step = make_step(*(int(v) for v in ARGS.shape.split("x")))
    if ARGS.probe and not ARGS.torch:
        probe_pool()
    for _ in range(20):
        step()
    print(f"{ARGS.cell.upper()} {ARGS.shape}, {ARGS.threads} thread(s), {ARGS.rounds} rounds: median ms of "
          f"steps 1-6 after each pause | p25-p75 of steps 1-3; load {os.getloadavg()[0]:.2f}")
    name = "torch.nn" if ARGS.torch else "tinygrad_rnn"
    for gap in (float(g) for g in ARGS.gaps.split(",")):
        times, starts = [[] for _ in range(6)], [[] for _ in range(6)]
        for _ in range(ARGS.rounds):
            time.sleep(gap)
            for k in range(6):
                STARTS.clear()
                begin = time.perf_counter()
                step()
                times[k].append((time.perf_counter() - begin) * 1e3)
                starts[k] += STARTS
        first = np.concatenate(times[:3])
        print(f"  {name:12s} pause {gap:5.2f} s: " + " ".join(f"{np.median(t):7.2f}" for t in times)
              + f" | {np.percentile(first, 25):.2f}-{np.percentile(first, 75):.2f}")
        if ARGS.probe and not ARGS.torch:
            medians = [np.median(s) if s else float("nan") for s in starts]
            print(f"  {'':12s} submit->start: " + " ".join(f"{m:7.2f}" for m in medians))
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
