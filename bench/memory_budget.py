"""BPTT under a memory budget (issue 17): what checkpointing saves and what it costs, fused LSTM.

Part "step" (T=1000, B=32, I=H=256, float32), full storage against checkpoint=True (the last 88 steps
stored; the state kept every 64 steps on one thread, every 32 on two: bptt_plan.SERIAL_SPAN):
  kept     what the layer keeps for the backward pass beyond its output sequence: numpy bytes alive
           (tracemalloc) after the forward, minus the output and minus the buffers the kernels' pool
           holds idle for reuse (target: checkpointed <= 10% of full)
  peak     the whole training step's peak (forward, loss, backward): tracemalloc's peak of numpy's
           allocations, and the process's peak RSS (ru_maxrss) for reference (target <= 40%)
  time     the step's median time, full and checkpointed steps taking turns, each policy in a process
           of its own (within one, each layer's arrays cost the other page faults), at 1 and at 2
           threads (target <= 1.4x); the process's CPU time per step alongside. Under it, the floor
           of that ratio: the backward reruns every step but the stored tail's as a forward that keeps
           nothing (the projection and the loop), timed here as the layer's forward under no_grad
           (also interleaved): floor = 1 + (T - stored) / T x that forward / the full step
Part "long": a full (untruncated) BPTT gradient through T=100,000 steps, B=8, I=64, H=256, with
memory_budget=, in its own process: the process's peak RSS (target < 3 GiB) and what storing every
step would have kept (the planner's model).

Every memory measurement runs in a fresh subprocess (the workspace pool, the allocator's free lists
and ru_maxrss start clean). The loss is (out * w).sum() with w of shape (H,): its gradient is a
full (T, B, H) array, as a real loss's is.

    python bench/memory_budget.py                       # both parts (the long one takes minutes)
    python bench/memory_budget.py --part plan           # the planner's model only, instant
    python bench/memory_budget.py --part step --repeats 7
    python bench/memory_budget.py --part long --long-T 100000 --budget-mib 128
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.kernels import workspace  # noqa: E402
from tinygrad_rnn.nn import bptt_plan  # noqa: E402

MiB = 2 ** 20


def _layer_and_data(T, B, I, H, policy):
    tr.manual_seed(0)
    layer = tr.nn.LSTM(I, H, dtype=np.float32, **policy)
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((T, B, I), dtype=np.float32))
    w = tr.Tensor(rng.standard_normal(H, dtype=np.float32))
    return layer, x, w


def _step(layer, x, w):
    layer.zero_grad()
    out, _ = layer(x)
    (out * w).sum().backward()


def child_memory(T, B, I, H, policy):
    """One step under tracemalloc: bytes kept after the forward (beyond the output) and the peak."""
    layer, x, w = _layer_and_data(T, B, I, H, policy)
    _step(layer, x, w)  # compile and warm up, then start clean
    layer.zero_grad()
    workspace.clear()
    tracemalloc.start()
    out, _ = layer(x)
    idle = sum(b.nbytes for free in workspace._free.values() for b in free)  # the kernels' pool: reusable, not kept
    kept = tracemalloc.get_traced_memory()[0] - out._data.nbytes - idle
    (out * w).sum().backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert all(np.isfinite(p.grad).all() for p in layer.parameters())
    return {"kept": kept, "peak": peak, "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def child_stepper(T, B, I, H, policy, n_threads):
    """A worker of time_policies, one policy in its own process: a step per line read ("step"), its wall
    and CPU seconds written back, until stdin closes. Each policy gets a process of its own because
    the layers' memory interferes within one: after a full-storage step, the checkpointed step's
    (T, B, H) arrays no longer find free pages in the heap (glibc gives the top back) and it pays
    about 2,000 page faults per step that it does not pay alone."""
    tr.set_num_threads(n_threads)
    run = _layer_and_data(T, B, I, H, policy)
    _step(*run)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() not in ("step", "forward"):
            break
        t0, c0 = time.perf_counter(), time.process_time()
        if line.strip() == "step":
            _step(*run)
        else:   # what a checkpointed backward reruns per step: the projection and the loop, no saved values
            with tr.no_grad():
                run[0](run[1])
        print(json.dumps([time.perf_counter() - t0, time.process_time() - c0]), flush=True)
    return {}


def time_policies(T, B, I, H, policies, repeats, threads):
    """Median step time of each policy, each in its own process (child_stepper), the policies taking turns
    step by step (the machine's load hits all alike; the order alternates). A policy given as
    (policy, "forward") times the layer's forward under no_grad instead of a step."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    workers = []
    try:
        commands = [p[1] if isinstance(p, tuple) else "step" for p in policies]
        policies = [p[0] if isinstance(p, tuple) else p for p in policies]
        for policy in policies:
            spec = json.dumps({"fn": "child_stepper", "kwargs": dict(T=T, B=B, I=I, H=H, policy=policy,
                                                                       n_threads=threads)})
            workers.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", spec], env=env,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for w in workers:
            if w.stdout.readline().strip() != "ready":
                raise RuntimeError("a timing worker failed to start (its error is above)")
        times = [[] for _ in workers]
        for r in range(repeats):
            order = range(len(workers)) if r % 2 == 0 else reversed(range(len(workers)))
            for i in order:
                workers[i].stdin.write(commands[i] + "\n")
                workers[i].stdin.flush()
                times[i].append(json.loads(workers[i].stdout.readline()))
    finally:
        for w in workers:
            w.stdin.close()
            w.wait()
    # each policy's step over the first's, step by step (the steps of one round ran seconds apart, under
    # the same load): steadier than the ratio of medians when the load changes during the run
    ratios = [float(np.median([t[0] / f[0] for t, f in zip(ts, times[0])])) for ts in times]
    return {"median_s": [float(np.median([t[0] for t in ts])) for ts in times],
            "cpu_s": [float(np.median([t[1] for t in ts])) for ts in times], "threads": threads,
            "step_ratios": ratios}


def child_long(T, B, I, H, budget):
    """A full BPTT gradient through T steps under memory_budget; the process's peak RSS."""
    layer, x, w = _layer_and_data(T, B, I, H, {"memory_budget": budget})
    plan = layer.bptt_plan(T, B)
    t0 = time.perf_counter()
    _step(layer, x, w)
    seconds = time.perf_counter() - t0
    assert all(np.isfinite(p.grad).all() for p in layer.parameters())
    state, step = layer._bptt_bytes(0, B)
    return {"seconds": seconds, "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "plan_pieces": len(plan), "plan_depth": bptt_plan.plan_depth(plan),
            "plan_cost_steps": bptt_plan.plan_cost(plan), "plan_memory": bptt_plan.plan_memory(plan, state, step),
            "full_model_bytes": T * step, "gates_and_states_bytes": T * B * 5 * H * 4,
            "grad_norm_w_hh": float(np.linalg.norm(layer.weight_hh_l0.grad))}


def _in_child(fn, threads=1, **kwargs):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps({"fn": fn, "kwargs": kwargs})]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"child {fn} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def part_step(args):
    T, B, I, H = 1000, 32, 256, 256
    full, ckpt = {}, {"checkpoint": True}
    plan = bptt_plan.sqrt_plan(T)
    K = int(np.ceil(np.sqrt(T)))
    print(f"fused LSTM T={T} B={B} I={I} H={H} float32; checkpoint=True keeps the state every "
          f"{bptt_plan.SERIAL_SPAN * K} steps on 1 thread (memory below), every {K} on 2, and stores the last "
          f"{plan[-1].steps}. Each memory figure from its own process.")
    mem = [[_in_child("child_memory", T=T, B=B, I=I, H=H, policy=p) for p in (full, ckpt)]
           for _ in range(args.memory_repeats)]
    for key, label in [("kept", "kept for backward beyond the output"), ("peak", "step peak (tracemalloc)"),
                       ("maxrss", "step process peak RSS")]:
        a = float(np.median([m[0][key] for m in mem]))
        b = float(np.median([m[1][key] for m in mem]))
        print(f"  {label:<38} full {a / MiB:8.1f} MiB   checkpoint=True {b / MiB:8.1f} MiB   ratio {b / a:6.3f}")
    for threads in () if args.no_time else (1, 2):
        t = time_policies(T, B, I, H, [full, ckpt, (full, "forward")], args.repeats, threads)
        a, b, f = t["median_s"]
        ca, cb, cf = t["cpu_s"]
        print(f"  step time, {threads} thread{'s' if threads > 1 else ''}, median of {args.repeats} (interleaved): "
              f"full {a * 1e3:7.1f} ms   checkpoint=True {b * 1e3:7.1f} ms   ratio {b / a:5.2f}   "
              f"(process CPU: {ca * 1e3:7.1f} ms, {cb * 1e3:7.1f} ms)")
        print(f"    per round (the two steps taken in turn): median ratio {t['step_ratios'][1]:5.2f}")
        # the rerun is a forward without saved values over every step but the stored tail's: the ratio no
        # rerun of that work can go below (what the checkpointed path does besides it, the full step does)
        rerun = (T - plan[-1].steps) / T
        print(f"    its floor: 1 + {rerun:.3f} x no-grad forward ({f * 1e3:.1f} ms, CPU {cf * 1e3:.1f} ms) / full "
              f"step = {1 + rerun * f / a:5.2f} (CPU {1 + rerun * cf / ca:5.2f})")


def part_plan(args):
    """The planner's model, no run: steps run forward and memory kept, sqrt(T) against budgets."""
    T, B, I, H = 1000, 32, 256, 256
    layer = tr.nn.LSTM(I, H, dtype=np.float32)
    state, step = layer._bptt_bytes(0, B)
    full = T * step
    root = bptt_plan.sqrt_plan(T)
    root_memory = bptt_plan.plan_memory(root, state, step)
    print(f"planner model, fused LSTM T={T} B={B} I={I} H={H} float32 (memory as a fraction of storing every step):")
    rows = [("checkpoint=True", root)] + [
        (label, bptt_plan.budget_plan(T, int(m), state, step)) for label, m in
        [("budget = sqrt(T)'s memory", root_memory), ("budget = 1/2 of full", full / 2),
         ("budget = 1/10 of full", full / 10), ("budget = 1/2 of sqrt(T)'s", root_memory / 2),
         ("budget = 1/3 of sqrt(T)'s", root_memory / 3)]]
    for label, plan in rows:
        print(f"  {label:<28} memory {bptt_plan.plan_memory(plan, state, step) / full:6.3f}   steps run forward "
              f"{bptt_plan.plan_cost(plan) / T:5.2f} T   pieces {len(plan):3d}   depth {bptt_plan.plan_depth(plan)}")


def part_long(args):
    T, B, I, H = args.long_T, 8, 64, 256
    budget = args.budget_mib * MiB
    r = _in_child("child_long", T=T, B=B, I=I, H=H, budget=budget)
    print(f"fused LSTM, full BPTT through T={T:,} steps, B={B} I={I} H={H} float32, "
          f"memory_budget={args.budget_mib} MiB:")
    print(f"  process peak RSS {r['maxrss'] / 2 ** 30:.2f} GiB (target < 3 GiB), "
          f"one step {r['seconds']:.1f} s, 1 thread")
    print(f"  plan: {r['plan_pieces']} top-level pieces, nesting depth {r['plan_depth']}, "
          f"{r['plan_cost_steps'] / T:.2f} T steps run forward; the layer keeps about "
          f"{r['plan_memory'] / MiB:.0f} MiB for the backward (the planner's model)")
    print(f"  storing every step would keep {r['gates_and_states_bytes'] / 2 ** 30:.1f} GiB of gates and cell "
          f"states ({r['full_model_bytes'] / 2 ** 30:.1f} GiB with the backward's gate gradients, the model's count)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--part", choices=["step", "long", "plan", "all"], default="all")
    ap.add_argument("--repeats", type=int, default=7, help="timed steps per policy (medians)")
    ap.add_argument("--memory-repeats", type=int, default=3, help="processes per memory figure (medians)")
    ap.add_argument("--no-time", action="store_true", help="part step: memory only")
    ap.add_argument("--long-T", type=int, default=100_000)
    ap.add_argument("--budget-mib", type=int, default=128, help="memory_budget of the long run, MiB")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(globals()[spec["fn"]](**spec["kwargs"])))
        return
    print("Shared 2-core machine: other jobs run at the same time, so timings are noisy (interleaved, medians).")
    if args.part in ("plan", "all"):
        part_plan(args)
    if args.part in ("step", "all"):
        part_step(args)
    if args.part in ("long", "all"):
        part_long(args)


if __name__ == "__main__":
    main()
