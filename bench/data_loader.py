"""One epoch of the loader a ported script most often has, DataLoader(TensorDataset(x, y), batch_size=64,
shuffle=True) with x (8192, 20, 8) float32 and y int64 labels: a developer's probe.

    python bench/data_loader.py tr --threads 1            # tr.utils.data: one index per tensor per batch
    python bench/data_loader.py tr-per-sample --threads 1 # the same loader indexing each sample, then stacking
    python bench/data_loader.py torch --threads 1         # torch.utils.data (num_workers=0)

Printed: the kind, the thread count and the median over 5 epochs (after one warm-up epoch) of the epoch's process
CPU time in seconds. Run the kinds in turn, in separate processes, a few rounds each.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("kind", choices=("tr", "tr-per-sample", "torch"))
ap.add_argument("--threads", type=int, default=1)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_loader(kind, x, y):
    if kind == "torch":
        import torch
        from torch.utils import data
        torch.set_num_threads(ARGS.threads)
        return data.DataLoader(data.TensorDataset(torch.tensor(x), torch.tensor(y)), 64, shuffle=True)
    import tinygrad_rnn as tr
    from tinygrad_rnn.utils import data
    tr.set_num_threads(ARGS.threads)
    # a collate_fn that is not default_collate itself: the loader then indexes each sample and stacks them
    collate = (lambda samples: data.default_collate(samples)) if kind == "tr-per-sample" else None
    return data.DataLoader(data.TensorDataset(tr.tensor(x), tr.tensor(y)), 64, shuffle=True, collate_fn=collate)


def main():
    rng = np.random.default_rng(0)
    loader = make_loader(ARGS.kind, rng.standard_normal((8192, 20, 8)).astype(np.float32), np.arange(8192))
    for _ in loader:  # warm-up
        pass
    times = []
    for _ in range(5):
        start = time.process_time()
        for _ in loader:
            pass
        times.append(time.process_time() - start)
    print(ARGS.kind, ARGS.threads, f"{np.median(times):.5f}")


if __name__ == "__main__":
    main()
