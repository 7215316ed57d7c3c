"""x[index]'s backward (primitives.GetItem), old against new, in one process taking turns: a developer's A/B probe.

    python bench/getitem_backward.py --threads 1        # and --threads 2 (tr.set_num_threads)

Old is main's backward before the change, reproduced here: np.add.at for every index that is not basic. New is
GetItem.backward: a boolean mask's gradient assigned, one integer array on axis 0 scatter-added by
kernels/scatter.py's loop. Each case first checks that the two give the same array, then times them in turns
(old, new, old, new...), each sample the CPU time of `calls` backward calls; printed are the medians (per call)
and the median of the pairs' ratios new / old. The backward runs on the calling thread at any thread count;
--threads says what else the library may use.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn import primitives as P  # noqa: E402


def old_backward(g, saved, index):
    """GetItem.backward as it was: assignment for basic indices, np.add.at for any other."""
    shape, dtype = saved
    ga = np.zeros(shape, dtype=dtype)
    if P.is_basic_index(index):
        ga[index] = g
    else:
        np.add.at(ga, index, g)
    return ga


def cases(rng):
    """(name, table, index, calls per sample, samples): embedding-like lookups with repeats, big and small,
    a 1-D table (a loss picking one entry per row) and a mask."""
    big = rng.integers(0, 50000, 200000)
    yield "rows f32 (50000, 256)[200000 idx]", rng.standard_normal((50000, 256), np.float32), big, 1, 7
    yield "rows f64 (20000, 128)[100000 idx]", rng.standard_normal((20000, 128)), rng.integers(0, 20000, 100000), 1, 7
    yield "rows f32 (50000,)[200000 idx]", rng.standard_normal(50000, np.float32), big, 5, 9
    yield "rows f32 (1000, 32)[32 idx]", rng.standard_normal((1000, 32), np.float32), rng.integers(0, 1000, 32), \
        2000, 15
    yield "rows f32 (100, 8)[32 idx, :]", rng.standard_normal((100, 8), np.float32), \
        (rng.integers(-100, 100, 32), slice(None)), 2000, 15
    mask = rng.random((1000, 32)) < 0.5
    yield "mask f32 (1000, 32)[mask]", rng.standard_normal((1000, 32), np.float32), mask, 200, 15


def cpu_per_call(fn, calls):
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def compare(table, index, calls, samples):
    out, saved = P.GetItem.forward(table, index)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(table.dtype)
    new = lambda: P.GetItem.backward(g, saved, (True,), index)[0]   # noqa: E731
    old = lambda: old_backward(g, saved, index)   # noqa: E731
    got, want = new(), old()
    assert got.dtype == want.dtype and np.array_equal(got, want), "the new backward differs from np.add.at's"
    olds, news = [], []
    for _ in range(samples):
        olds.append(cpu_per_call(old, calls))
        news.append(cpu_per_call(new, calls))
    ratios = [n / o for n, o in zip(news, olds)]
    return np.median(olds), np.median(news), np.median(ratios)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    tr.set_num_threads(args.threads)
    print(f"GetItem backward, CPU time per call, {args.threads} thread(s): old (np.add.at) / new, median new/old")
    for name, table, index, calls, samples in cases(np.random.default_rng(0)):
        old, new, ratio = compare(table, index, calls, samples)
        print(f"{name:36s} {old * 1e6:12.1f} us {new * 1e6:12.1f} us   {ratio:6.3f}")


if __name__ == "__main__":
    main()
