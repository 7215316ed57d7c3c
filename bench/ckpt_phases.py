"""Where issue 17's checkpointed step spends its time: CPU time per generated function and outside them.

Fused LSTM, T=1000, B=32, I=H=256, float32, one thread; the full step and checkpoint=True each in a
process of its own (as bench/memory_budget.py times them). Each of the kernel's generated functions
(project, forward, forward_states, backward, grads) is wrapped to add its thread CPU time, split by
whether it ran in the layer's forward or in the backward; "outside" is the rest of each half (Python,
the pool, numpy around the kernels). Medians over --repeats steps.

    python bench/ckpt_phases.py                 # both policies
    python bench/ckpt_phases.py --repeats 9
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile import node  # noqa: E402

KERNELS = ("project", "forward", "forward_states", "backward", "grads")


def _wrap_kernels(spent, phase):
    """Replace every compiled kernel's generated functions by ones that add their CPU time into
    spent[(name, phase[0])]."""
    for by_settings in node._by_cell.values():
        for kernel, _ in by_settings.values():
            for name in KERNELS:
                fn = getattr(kernel.module, name)

                def timed(*args, fn=fn, name=name):
                    t0 = time.thread_time()
                    try:
                        return fn(*args)
                    finally:
                        spent[name, phase[0]] += time.thread_time() - t0
                setattr(kernel.module, name, timed)


def child(policy, repeats):
    tr.set_num_threads(1)
    T, B, I, H = 1000, 32, 256, 256
    tr.manual_seed(0)
    layer = tr.nn.LSTM(I, H, dtype=np.float32, **policy)
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((T, B, I), dtype=np.float32))
    w = tr.Tensor(rng.standard_normal(H, dtype=np.float32))
    spent, phase = collections.Counter(), ["forward"]

    def step():
        layer.zero_grad()
        phase[0] = "forward"
        t0 = time.thread_time()
        out, _ = layer(x)
        t1 = time.thread_time()
        phase[0] = "backward"
        (out * w).sum().backward()
        return t1 - t0, time.thread_time() - t1

    step()   # compiles, fills the pool
    _wrap_kernels(spent, phase)
    step()
    rows = collections.defaultdict(list)
    for _ in range(repeats):
        spent.clear()
        halves = dict(zip(("forward", "backward"), step()))
        for half, total in halves.items():
            inside = 0.0
            for name in KERNELS:
                if (name, half) in spent:
                    rows[f"{half}: {name}"].append(spent[name, half])
                    inside += spent[name, half]
            rows[f"{half}: outside the kernels"].append(total - inside)
            rows[f"{half}: total"].append(total)
    return {name: float(np.median(v)) for name, v in rows.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child), args.repeats)))
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    results = {}
    for label, policy in (("full", {}), ("checkpoint=True", {"checkpoint": True})):
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(policy),
                               "--repeats", str(args.repeats)], env=env, capture_output=True, text=True, check=True)
        results[label] = json.loads(done.stdout.strip().splitlines()[-1])
    names = sorted(set(results["full"]) | set(results["checkpoint=True"]), key=lambda n: (n.split(":")[0] != "forward",
                                                                                          n.endswith("total"), n))
    print(f"fused LSTM T=1000 B=32 I=H=256 float32, 1 thread: CPU ms per step, median of {args.repeats}")
    print(f"  {'':34s} {'full':>9s} {'checkpoint=True':>16s}")
    for name in names:
        cells = [f"{results[label][name] * 1e3:9.1f}" if name in results[label] else f"{'-':>9s}"
                 for label in ("full", "checkpoint=True")]
        print(f"  {name:34s} {cells[0]} {cells[1]:>16s}")


if __name__ == "__main__":
    main()
