"""Where issue 17's checkpointed step spends its time: CPU time per generated function and outside them.

Fused LSTM, T=1000, B=32, I=H=256, float32, --threads threads (1 by default); the full step and
checkpoint=True each in a process of its own, taking turns step by step (as bench/memory_budget.py times
them: a change of the machine's load hits both alike; run one after the other, the two columns of a
loaded machine disagreed by more than the checkpointed path's overheads). Each of the
kernel's generated functions (project, forward, forward_states, backward, grads) is wrapped to add its
thread CPU time, split by whether it ran in the layer's forward or in the backward; "outside" is the
rest of each half (Python, the pool, numpy around the kernels). With 2+ threads each row is split
into the calling thread's ("main") and the workers' share, and "waiting" is the wall time the thread
spent blocked in runtime.TaskQueue for a task another thread was running (the calling thread's waiting
lengthens the step; a worker's is idle capacity). Medians over --repeats steps. On a loaded machine
the waits also hold the time the other thread was not scheduled: compare them side by side. Under the
table: the step's CPU ratio (median per round) and what the backward's reruns (its project and forward
rows) cost over the full step: the ratio no checkpointed step can go below while it reruns them.

    python bench/ckpt_phases.py                 # both policies, 1 thread
    python bench/ckpt_phases.py --repeats 9 --threads 2
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile import node  # noqa: E402
from tinygrad_rnn.kernels import runtime  # noqa: E402

KERNELS = ("project", "forward", "forward_states", "backward", "grads")


def _who():
    return "main" if threading.current_thread() is threading.main_thread() else "workers"


def _wrap_kernels(spent, phase):
    """Replace every compiled kernel's generated functions by ones that add their CPU time into
    spent[(name, phase[0], thread)]."""
    for by_settings in node._by_cell.values():
        for kernel, _ in by_settings.values():
            for name in KERNELS:
                fn = getattr(kernel.module, name)

                def timed(*args, fn=fn, name=name):
                    t0 = time.thread_time()
                    try:
                        return fn(*args)
                    finally:
                        spent[name, phase[0], _who()] += time.thread_time() - t0
                setattr(kernel.module, name, timed)


class _TimedCondition(threading.Condition):
    """A TaskQueue's lock whose waits add their wall time into spent[("waiting", phase, thread)]."""
    spent, phase = None, None

    def wait(self, timeout=None):
        t0 = time.perf_counter()
        try:
            return super().wait(timeout)
        finally:
            self.spent["waiting", self.phase[0], _who()] += time.perf_counter() - t0


def _time_waits(spent, phase):
    _TimedCondition.spent, _TimedCondition.phase = spent, phase
    made = runtime.TaskQueue.__init__

    def init(self, *args, **kwargs):
        made(self, *args, **kwargs)
        self.cond = _TimedCondition()
    runtime.TaskQueue.__init__ = init


def child(policy, threads):
    """One policy's steps, one per line read from stdin, each step's rows (CPU seconds) written back."""
    tr.set_num_threads(threads)
    T, B, I, H = 1000, 32, 256, 256
    tr.manual_seed(0)
    layer = tr.nn.LSTM(I, H, dtype=np.float32, **policy)
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((T, B, I), dtype=np.float32))
    w = tr.Tensor(rng.standard_normal(H, dtype=np.float32))
    spent, phase = collections.Counter(), ["forward"]

    def step():   # each half's CPU time: (this thread's, the process's)
        layer.zero_grad()
        phase[0] = "forward"
        t0, p0 = time.thread_time(), time.process_time()
        out, _ = layer(x)
        t1, p1 = time.thread_time(), time.process_time()
        phase[0] = "backward"
        (out * w).sum().backward()
        return (t1 - t0, p1 - p0), (time.thread_time() - t1, time.process_time() - p1)

    step()   # compiles, fills the pool
    _wrap_kernels(spent, phase)
    _time_waits(spent, phase)
    step()
    print("ready", flush=True)
    for _ in sys.stdin:
        spent.clear()
        rows = collections.defaultdict(list)
        for half, (mine, everyone) in zip(("forward", "backward"), step()):
            _add_rows(rows, spent, half, {"main": mine, "workers": everyone - mine}, threads)
        print(json.dumps({name: v[0] for name, v in rows.items()}), flush=True)


def _take_turns(policies, repeats, threads):
    """Each policy's per-step rows, the policies' processes taking turns step by step (the order
    alternating from round to round): {label: {row: [seconds per step]}}."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    workers = {}
    try:
        for label, policy in policies:
            workers[label] = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--child", json.dumps(policy), "--threads", str(threads)],
                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for w in workers.values():
            if w.stdout.readline().strip() != "ready":
                raise RuntimeError("a worker failed to start (its error is above)")
        rows = {label: collections.defaultdict(list) for label in workers}
        for r in range(repeats):
            for label in list(workers) if r % 2 == 0 else list(workers)[::-1]:
                workers[label].stdin.write("step\n")
                workers[label].stdin.flush()
                for name, seconds in json.loads(workers[label].stdout.readline()).items():
                    rows[label][name].append(seconds)
    finally:
        for w in workers.values():
            w.stdin.close()
            w.wait()
    return rows


def _add_rows(rows, spent, half, totals, threads):
    """One step's rows of one half: per generated function, outside them, waiting, total; per thread
    (main, workers) with 2+ threads."""
    for who, total in totals.items():
        if threads == 1 and who == "workers":
            continue
        tag = f" [{who}]" if threads > 1 else ""
        inside = 0.0
        for name in KERNELS:
            if (name, half, who) in spent:
                rows[f"{half}: {name}{tag}"].append(spent[name, half, who])
                inside += spent[name, half, who]
        rows[f"{half}: outside the kernels{tag}"].append(total - inside)
        if threads > 1:
            rows[f"{half}: waiting (wall){tag}"].append(spent["waiting", half, who])
        rows[f"{half}: total{tag}"].append(total)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child), args.threads)
        return
    labels = ("full", "checkpoint=True")
    per_step = _take_turns(list(zip(labels, ({}, {"checkpoint": True}))), args.repeats, args.threads)
    results = {label: {name: float(np.median(v)) for name, v in rows.items()} for label, rows in per_step.items()}
    names = sorted(set(results["full"]) | set(results["checkpoint=True"]),
                   key=lambda n: (n.split(":")[0] != "forward", "[workers]" in n, "total" in n, n))
    print(f"fused LSTM T=1000 B=32 I=H=256 float32, {args.threads} thread{'s' * (args.threads > 1)}: CPU ms per step"
          f"{' (waiting: wall ms)' * (args.threads > 1)}, median of {args.repeats} (the two processes taking turns)")
    print(f"  {'':34s} {'full':>9s} {'checkpoint=True':>16s}")
    for name in names:
        cells = [f"{results[label][name] * 1e3:9.1f}" if name in results[label] else f"{'-':>9s}"
                 for label in labels]
        print(f"  {name:34s} {cells[0]} {cells[1]:>16s}")
    full, ckpt = (_step_cpu(per_step[label]) for label in labels)
    reruns = sum(np.asarray(v) for name, v in per_step["checkpoint=True"].items()
                 if name.startswith(("backward: project", "backward: forward")) and "waiting" not in name)
    print(f"  step CPU: full {np.median(full) * 1e3:.1f} ms, checkpoint=True {np.median(ckpt) * 1e3:.1f} ms, "
          f"ratio (median per round) {np.median(ckpt / full):.3f}; the backward's reruns (project + forward) "
          f"{np.median(reruns) * 1e3:.1f} ms: floor 1 + reruns / full step = {np.median(1 + reruns / full):.3f}")


def _step_cpu(rows):
    """Each step's CPU time (both halves, every thread) from its rows."""
    return sum(np.asarray(v) for name, v in rows.items() if ": total" in name)

if __name__ == "__main__":
    main()
