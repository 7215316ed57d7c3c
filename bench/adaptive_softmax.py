"""nn.AdaptiveLogSoftmaxWithLoss against a full softmax (Linear + cross_entropy) over the same vocabulary, forward +
backward, in one library per process: a developer's probe.

    python bench/adaptive_softmax.py tr --threads 1        # and torch; and --threads 2

V = 20000 classes, cutoffs [2000, 10000], div_value 4, hidden 256, batch 128 float32, targets drawn from a Zipf
law (word frequencies: most in the shortlist). One call is the loss then backward() with respect to the input
(leaf) and the parameters. After 2 warm-up calls, 15 calls of each, taking turns (adaptive then full, then the
other way round). Printed: the library, the thread count, the median process CPU time per call of each, and their
ratio.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("lib", choices=("tr", "torch"))
ap.add_argument("--threads", type=int, default=1)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

V, H, B = 20000, 256, 128


def calls():
    """(adaptive, full): each a function running one forward + backward."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, H)).astype(np.float32)
    t = np.minimum(rng.zipf(1.3, B) - 1, V - 1)
    if ARGS.lib == "torch":
        import torch
        torch.set_num_threads(ARGS.threads)
        lib, nn, F, idx = torch, torch.nn, torch.nn.functional, torch.tensor(t)
        leaf = lambda: torch.tensor(x, requires_grad=True)   # noqa: E731
    else:
        import tinygrad_rnn as tr
        tr.set_num_threads(ARGS.threads)
        lib, nn, F, idx = tr, tr.nn, tr.nn.functional, tr.tensor(t)
        leaf = lambda: tr.Tensor(x, requires_grad=True)   # noqa: E731
    lib.manual_seed(0)
    adaptive, full = nn.AdaptiveLogSoftmaxWithLoss(H, V, [2000, 10000], div_value=4.0), nn.Linear(H, V)
    return (lambda: adaptive(leaf(), idx).loss.backward(),
            lambda: F.cross_entropy(full(leaf()), idx).backward())


def main():
    adaptive, full = calls()
    times = {"adaptive": [], "full": []}
    for _ in range(2):
        adaptive(), full()
    for i in range(15):
        order = (("adaptive", adaptive), ("full", full))
        for name, call in order if i % 2 == 0 else order[::-1]:
            start = time.process_time()
            call()
            times[name].append(time.process_time() - start)
    a, f = np.median(times["adaptive"]), np.median(times["full"])
    print(f"{ARGS.lib} threads={ARGS.threads}: adaptive {a * 1e3:.1f} ms, full softmax {f * 1e3:.1f} ms CPU per call "
          f"(medians of 15), full / adaptive = {f / a:.2f}")


if __name__ == "__main__":
    main()
