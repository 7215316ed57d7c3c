"""F.ctc_loss's forward + backward against torch's, at (T=200, N=32, C=30, S=50) float32: a developer's probe.

    python bench/ctc_loss.py tr --threads 1        # and torch; and --threads 2

log_probs a log_softmax of random logits (a leaf requiring grad), targets (N, S) padded with labels 1..C-1 (no
blank), every input length T and target length S, reduction 'mean'. One call is ctc_loss then backward(); after 3
warm-up calls (Numba's compile or cache load), 15 samples of 5 calls each. Printed: the library, the thread count,
the median per call of the process CPU time and of the wall time, in ms. Run the libraries in turn, in separate
processes, a few rounds each.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("lib", choices=("tr", "torch"))
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--shape", type=int, nargs=4, default=(200, 32, 30, 50), metavar=("T", "N", "C", "S"))
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def problem():
    T, N, C, S = ARGS.shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, N, C)).astype(np.float32)
    log_probs = x - np.log(np.exp(x).sum(axis=2, keepdims=True))
    return log_probs, rng.integers(1, C, (N, S)), [T] * N, [S] * N


def one_call():
    log_probs, targets, in_len, tgt_len = problem()
    if ARGS.lib == "torch":
        import torch
        torch.set_num_threads(ARGS.threads)
        lp, tg = torch.tensor(log_probs, requires_grad=True), torch.tensor(targets)
        fn = torch.nn.functional.ctc_loss
    else:
        import tinygrad_rnn as tr
        tr.set_num_threads(ARGS.threads)
        lp, tg = tr.tensor(log_probs, requires_grad=True), tr.tensor(targets)
        fn = tr.nn.functional.ctc_loss

    def call():
        lp.grad = None
        fn(lp, tg, in_len, tgt_len).backward()
    return call


def main():
    call = one_call()
    for _ in range(3):
        call()
    cpu, wall = [], []
    for _ in range(15):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(5):
            call()
        cpu.append((time.process_time() - c0) / 5)
        wall.append((time.perf_counter() - w0) / 5)
    print(ARGS.lib, ARGS.threads, f"cpu {np.median(cpu) * 1e3:.2f} ms  wall {np.median(wall) * 1e3:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
