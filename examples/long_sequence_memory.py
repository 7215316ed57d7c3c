"""Memory against time for backpropagation through very long sequences (docs/memory.md).

One full (untruncated) BPTT training step of a fused LSTM, at T = 1,000 ... 100,000 steps, with:

    full            every step stored (the default)
    sqrt(T)         checkpoint=True: the state kept every ~sqrt(T) steps, segments recomputed
    budget f        memory_budget = f x what storing every step keeps: the planner (Gruslys et al.
                    2016's dynamic program, tinygrad_rnn/nn/bptt_plan.py) picks what to keep

For each it measures the step's peak memory (tracemalloc: numpy's allocations) and its time (the
median of --repeats untraced runs), and checks that the gradients equal the full-storage ones. It prints a table and, if
matplotlib is installed, draws memory against time. While memory is measured, the fused kernels' buffer
pool (kernels/workspace.py: idle buffers kept for the next step, per exact size, up to 512 MiB) is off,
so that the peak is what the step needs rather than what the pool caches.

    python examples/long_sequence_memory.py                      # T = 1,000, 10,000, 100,000
    python examples/long_sequence_memory.py --T 1000 5000 --budgets 0.5 0.1
    python examples/long_sequence_memory.py --tiny               # seconds: what the test suite runs
"""
import argparse
import contextlib
import gc
import sys
import time
import tracemalloc

import numpy as np

import example_utils as U  # (also puts the repository on sys.path)
import tinygrad_rnn as tr
from tinygrad_rnn.kernels import workspace
from tinygrad_rnn.nn import bptt_plan

MiB = 2 ** 20


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Memory against time of full-BPTT training steps: full storage, "
                                             "sqrt(T) checkpointing and memory budgets.")
    ap.add_argument("--T", type=int, nargs="+", default=[1000, 10_000, 100_000], help="sequence lengths")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--input-size", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--budgets", type=float, nargs="+", default=[0.3, 0.1, 0.03],
                    help="memory budgets as fractions of what storing every step keeps")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--repeats", type=int, default=3, help="timed steps per policy (the median is shown)")
    ap.add_argument("--threads", type=int, default=1,
                    help="the library's threads, tr.set_num_threads (default 1: the step times in docs/memory.md)")
    ap.add_argument("--plot", default="long_sequence_memory.png", help="PNG to draw (needs matplotlib)")
    ap.add_argument("--tiny", action="store_true", help="a few seconds' configuration (used by the tests)")
    args = ap.parse_args(argv)
    if args.tiny:
        args.T, args.batch, args.input_size, args.hidden, args.budgets = [60, 300], 2, 3, 8, [0.3, 0.1]
        args.dtype, args.repeats = "float64", 1
    return args


def policies(args, layer, T):
    """(label, layer keyword arguments) for one sequence length."""
    state, step = layer._bptt_bytes(0, args.batch)
    out = [("full", {}), ("sqrt(T)", {"checkpoint": True})]
    least = bptt_plan._flat_minimum(T, state, step)[0]
    for f in args.budgets:
        budget = int(f * T * step)
        if budget >= least:  # a budget below what any flat plan needs is skipped, not failed
            out.append((f"budget {f:g}", {"memory_budget": budget}))
    return out


@contextlib.contextmanager
def pool_off():
    """No buffer kept idle by the kernels' pool while measuring (see the module docstring)."""
    saved = getattr(workspace, "MAX_BYTES", None)
    workspace.clear()
    if saved is not None:
        workspace.MAX_BYTES = 0
    try:
        yield
    finally:
        if saved is not None:
            workspace.MAX_BYTES = saved


def one_step(layer, x, w):
    layer.zero_grad()
    out, _ = layer(x)
    (out * w).sum().backward()
    return [p.grad.numpy().copy() for p in layer.parameters()]


def measure(args, T, kwargs, x, w):
    """(peak bytes, seconds, gradients, plan) of one training step with the policy `kwargs`."""
    dtype = np.dtype(args.dtype)
    tr.manual_seed(0)
    layer = tr.nn.LSTM(args.input_size, args.hidden, dtype=dtype, **kwargs)
    plan = layer.bptt_plan(T, args.batch) or (bptt_plan.Stored(T),)
    gc.collect()
    with pool_off():
        tracemalloc.start()
        grads = one_step(layer, x, w)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        one_step(layer, x, w)
        times.append(time.perf_counter() - t0)
    return peak, float(np.median(times)), grads, plan


def run(args):
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    rows = []
    for T in args.T:
        x = tr.Tensor(rng.standard_normal((T, args.batch, args.input_size)).astype(dtype))
        w = tr.Tensor(rng.standard_normal(args.hidden).astype(dtype))
        probe = tr.nn.LSTM(args.input_size, args.hidden, dtype=dtype)
        one_step(probe, x[:2], w)  # compile the kernels outside the measurement: the plain
        recomputing = tr.nn.LSTM(args.input_size, args.hidden, dtype=dtype, checkpoint=2)
        one_step(recomputing, x[:4], w)   # and the forward a recomputed piece runs first
        reference = None
        for label, kwargs in policies(args, probe, T):
            peak, seconds, grads, plan = measure(args, T, kwargs, x, w)
            if reference is None:
                reference = grads
            error = max(float(np.abs(g - e).max() / max(np.abs(e).max(), 1e-30)) for g, e in zip(grads, reference))
            rows.append({"T": T, "policy": label, "peak_mib": peak / MiB, "seconds": seconds,
                         "forward_steps": bptt_plan.plan_cost(plan) / T, "grad_error": error})
            print(f"T={T:>7,}  {label:<12} peak {peak / MiB:9.1f} MiB   step {seconds:7.2f} s   "
                  f"steps run forward {rows[-1]['forward_steps']:5.2f} T   grad rel. diff {error:.1e}", flush=True)
    return rows


def table(rows):
    lines = ["| T | policy | peak memory (MiB) | step time (s) | steps run forward | memory vs full | time vs full |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    full = {r["T"]: r for r in rows if r["policy"] == "full"}
    for r in rows:
        f = full[r["T"]]
        lines.append(f"| {r['T']:,} | {r['policy']} | {r['peak_mib']:.1f} | {r['seconds']:.2f} | "
                     f"{r['forward_steps']:.2f} T | {r['peak_mib'] / f['peak_mib']:.3f} | "
                     f"{r['seconds'] / f['seconds']:.2f} |")
    return "\n".join(lines)


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot; the table above has the numbers)")
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for T in sorted({r["T"] for r in rows}):
        pts = sorted((r for r in rows if r["T"] == T), key=lambda r: r["peak_mib"])  # a line from least memory up
        ax.plot([r["peak_mib"] for r in pts], [r["seconds"] for r in pts], "o-", label=f"T = {T:,}")
        for r in pts:
            ax.annotate(r["policy"], (r["peak_mib"], r["seconds"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("peak memory of the training step (MiB, numpy allocations)")
    ax.set_ylabel("training step time (s)")
    ax.set_title("Full-BPTT step of a fused LSTM: memory against time")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")
    return path


def main(argv=None):
    args = parse_args(argv)
    threads = U.use_threads(args.threads)
    print(f"fused LSTM, B={args.batch} I={args.input_size} H={args.hidden} {args.dtype}, "
          f"{threads} thread(s); loss (out * w).sum(); step time: median of {args.repeats}")
    rows = run(args)
    print()
    print(table(rows))
    plot(rows, args.plot)
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
