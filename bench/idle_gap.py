"""A developer's probe: how the first steps after an idle pause compare with steps run back to back.

    python bench/idle_gap.py                       # tinygrad_rnn LSTM (50, 32, 64, 128), 2 threads
    python bench/idle_gap.py --torch --gaps 0,0.3  # the same step in torch.nn
    python bench/idle_gap.py --cell rnn --shape 100x32x128x256 --gaps 0,0.5 --ab   # blas.wake on / off
    python bench/idle_gap.py --probe               # also: how long the pool's workers take to start
    python bench/idle_gap.py --handoff --gaps 0.001,0.5   # the pool alone: wake, 0.5 ms of work, a task

Runs warm training steps, then `--rounds` times: sleep `gap` seconds, run 6 steps; prints the median wall
time of each of the 6 positions per gap, and p25-p75 of the first three. --ab takes turns round by round
with blas.wake switched on and off (one process, so both see the same machine). --probe prints, per
position, the median time from submitting a task to the pool to its start (blas.wake's stand-by
excluded). --handoff times the pool alone: after each pause, blas.wake (on and off by turns), 0.5 ms of
the caller's work, then a task; median submit-to-start. See bench/README.md, "Why short 2-thread steps
vary". Asserts nothing.
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
ap.add_argument("--ab", action="store_true", help="rounds take turns: blas.wake on, off")
ap.add_argument("--probe", action="store_true", help="also time the pool's submit-to-start")
ap.add_argument("--handoff", action="store_true", help="time the pool's hand-off alone, wake on and off")
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
    """Time every counted task of the library's pool from its submit to its start (into STARTS)."""
    from tinygrad_rnn.kernels import blas
    submit = blas._Pool.submit

    def timed_submit(self, fn, /, *args, **kwargs):
        t0 = time.perf_counter()

        def started(*a, **k):
            STARTS.append((time.perf_counter() - t0) * 1e3)
            return fn(*a, **k)
        return submit(self, started, *args, **kwargs)
    blas._Pool.submit = timed_submit


def arms():
    """[(name, switch)]: the settings rounds take turns with."""
    if not ARGS.ab or ARGS.torch:
        return [("torch.nn" if ARGS.torch else "tinygrad_rnn", lambda: None)]
    from tinygrad_rnn.kernels import blas
    return [("wake on", lambda: blas._wake.update(on=True)), ("wake off", lambda: blas._wake.update(on=False))]


def handoff():
    """Per pause: wake (on, off by turns), 0.5 ms of the caller's work, a task; ms from submit to start."""
    from tinygrad_rnn.kernels import blas
    blas.set_num_threads(ARGS.threads)
    pool = blas.workers(ARGS.threads - 1)
    print(f"pool hand-off, {ARGS.threads} threads, {ARGS.rounds} rounds: ms from submit to start, "
          f"median (p25-p75); load {os.getloadavg()[0]:.2f}")
    for gap in (float(g) for g in ARGS.gaps.split(",")):
        lat = {True: [], False: []}
        for r in range(2 * ARGS.rounds):
            on = r % 2 == 0
            blas._wake["on"] = on
            time.sleep(gap)
            blas.wake(ARGS.threads)
            end = time.perf_counter() + 0.0005
            while time.perf_counter() < end:   # the caller's setup before its first hand-off
                pass
            t0 = time.perf_counter()
            lat[on].append(pool.submit(lambda t0=t0: time.perf_counter() - t0).result() * 1e3)
        print(f"  pause {gap:5.3f} s: " + "   ".join(
            f"wake {'on' if on else 'off'} {np.median(v):.3f} ({np.percentile(v, 25):.3f}-{np.percentile(v, 75):.3f})"
            for on, v in lat.items()))
    print(f"load {os.getloadavg()[0]:.2f}")


def main():
    if ARGS.handoff:
        return handoff()
    step = make_step(*(int(v) for v in ARGS.shape.split("x")))
    if ARGS.probe and not ARGS.torch:
        probe_pool()
    for _ in range(20):
        step()
    print(f"{ARGS.cell.upper()} {ARGS.shape}, {ARGS.threads} thread(s), {ARGS.rounds} rounds: median ms of "
          f"steps 1-6 after each pause | p25-p75 of steps 1-3; load {os.getloadavg()[0]:.2f}")
    settings = arms()
    for gap in (float(g) for g in ARGS.gaps.split(",")):
        times = {name: [[] for _ in range(6)] for name, _ in settings}
        starts = {name: [[] for _ in range(6)] for name, _ in settings}
        for r in range(ARGS.rounds):
            name, switch = settings[r % len(settings)]
            switch()
            time.sleep(gap)
            for k in range(6):
                STARTS.clear()
                begin = time.perf_counter()
                step()
                times[name][k].append((time.perf_counter() - begin) * 1e3)
                starts[name][k] += STARTS
        for name, _ in settings:
            first = np.concatenate([times[name][k] for k in range(3)])
            print(f"  {name:12s} pause {gap:5.2f} s: " + " ".join(f"{np.median(t):7.2f}" for t in times[name])
                  + f" | {np.percentile(first, 25):.2f}-{np.percentile(first, 75):.2f}")
            if ARGS.probe and not ARGS.torch:
                print(f"  {'':12s} submit->start: " + " ".join(
                    f"{np.median(s) if s else float('nan'):7.2f}" for s in starts[name][:6]))
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
