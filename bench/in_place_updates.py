"""In-place updates under no_grad, CPU time per call: a developer's A/B probe for Tensor._write's paths.

    OMP_NUM_THREADS=1 PYTHONPATH=<checkout> python bench/in_place_updates.py

Run it for two checkouts in alternating processes (PYTHONPATH picks the checkout) and compare the medians.
Printed: microseconds of process CPU time per call, one line, for `p -= lr * p.grad` at 64, (256, 256) and
(1024, 1024) elements, `x += row` and `x += column` at (1024, 1024), int64 `idx += 1` (100k), clamp_ and zero_
at (1024, 1024)."""
import time

import numpy as np

import tinygrad_rnn as tr


def per_call(fn, calls):
    for _ in range(max(calls // 10, 5)):
        fn()
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls * 1e6


def cases():
    for shape, calls in (((64,), 20000), ((256, 256), 5000), ((1024, 1024), 300)):
        p = tr.randn(*shape, requires_grad=True)
        p.grad = tr.from_numpy(np.ones(shape, np.float32))
        yield f"p-=lr*g {shape}", lambda p=p: p.__isub__(0.01 * p.grad), calls
    x = tr.randn(1024, 1024)
    yield "x+=row", lambda: x.__iadd__(tr.randn(1024)), 300
    yield "x+=column", lambda: x.__iadd__(tr.randn(1024, 1)), 300
    idx = tr.tensor(np.arange(100000))
    yield "idx+=1", lambda: idx.__iadd__(1), 300
    yield "clamp_", lambda: x.clamp_(-1, 1), 300
    yield "zero_", lambda: x.zero_(), 300


if __name__ == "__main__":
    with tr.no_grad():
        print("  ".join(f"{name} {per_call(fn, calls):.1f}" for name, fn, calls in cases()))
