"""Where a fused layer's training step goes, per phase and thread, at 1 and at N threads: a developer's probe.

    python bench/kernel_phases.py lstm 100x32x128x256 --threads 1,2
    python bench/kernel_phases.py rnn 50x32x64x128 --threads 1,2 --steps 30 --rounds 5
    python bench/kernel_phases.py layernorm 1000x8x32x64 --threads 1   # tr.nn.LayerNormLSTMCell in Recurrent
    python bench/kernel_phases.py lstm 50x32x64x128 --torch     # torch.nn's same step, wall and CPU, beside
    python bench/kernel_phases.py lstm 50x32x64x128 --handoff   # how long a sleeping pool worker takes to start

Times the generated kernels' four functions (compile/node.py's Kernel: `project`, the `forward` loop, the
`backward` loop, `grads`) on every thread that calls them, wall and CPU time (time.thread_time), and the
rest of the step: the node's own Python around them (allocation, zero fills, binding, waiting for the pool:
"forward other" / "backward other" = the node's wall time minus the calling thread's kernel calls) and
everything outside the node (the tape, the loss, zero_grad); "node forward: blocked (main)" (both columns):
how long the calling thread slept inside the node, waiting for the pool (its wall time minus its time on a
CPU and its time waiting for one, from /proc/thread-self/schedstat: unlike wall time this does not grow when
other processes take the cores, so it shows a split's waits on a shared machine); "wall less CPU waits": the
node's wall time minus the calling thread's waits for a CPU (its CPU time plus its sleep: what the node
would take if this thread never lost its core; the workers' lost time still shows); the hand-off (a pool
task's wait from submit to start) and the calling thread's CPU. "<function>: calls per step, CPU per call"
shows how each function's work was split (the wall column holds the count) and one part's CPU time,
whichever thread ran it: on a machine shared with other work these are the bricks to build a critical path
from. The thread counts take turns, one step each, for --rounds rounds of --steps steps (after warm-up
steps); printed: medians per step, ms, and the estimate max(calling thread's CPU, all CPU / N) for N idle
cores.

The step is python -m bench's: zero the gradients, the layer over the whole sequence, loss = the sum of the
outputs, backward (float32; the input needs no gradient). CPU time counts only what a thread ran; on a
machine shared with other work, wall time also counts what others ran on its core.
"""
import argparse
import collections
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile import node  # noqa: E402
from tinygrad_rnn.kernels import blas  # noqa: E402

FUNCTIONS = ("project", "forward", "backward", "grads")
LAYERS = {"lstm": tr.nn.LSTM, "gru": tr.nn.GRU, "rnn": tr.nn.RNN,
          "layernorm": lambda I, H, **kw: tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, **kw),
          "peephole": lambda I, H, **kw: tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, **kw),
          "jordan": lambda I, H, **kw: tr.nn.Recurrent(tr.nn.JordanCell, I, H, **kw)}


def cell_shape_parser(doc):
    """The command line both per-cell probes (this one, backward_variants.py) start from: a cell of LAYERS
    and its shape, TxBxIxH; each adds its own options."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("cell", choices=sorted(LAYERS))
    p.add_argument("shape", help="TxBxIxH")
    return p


class _Timed:
    """Stands in for a Kernel's module: each generated function timed on the thread that calls it."""

    def __init__(self, module, events):
        for name in FUNCTIONS:
            setattr(self, name, self._wrap(name, getattr(module, name), events))

    @staticmethod
    def _wrap(name, fn, events):
        def run(*args):
            w0, c0 = time.perf_counter(), time.thread_time()
            result = fn(*args)
            main = threading.current_thread() is threading.main_thread()
            events.append((name, "main" if main else "pool", time.perf_counter() - w0, time.thread_time() - c0))
            return result
        return run


class _TimedPool:
    """Stands in for the library's pool: records how long each task waited from submit to start (the
    hand-off: waking a sleeping worker, or waiting for a core)."""

    def __init__(self, pool, events):
        self.pool, self.events = pool, events

    def submit(self, fn, *args):
        t0 = time.perf_counter()

        def run():
            self.events.append(("hand-off (submit to start)", "pool", time.perf_counter() - t0, 0.0))
            return fn(*args)
        return self.pool.submit(run)


def _run_delay():
    """Seconds the calling thread has been runnable but waiting for a CPU (Linux schedstat), or None.
    The node's wall time minus its CPU time minus this is the time the calling thread slept: waiting
    for a pool worker. Unlike wall time, this does not grow when other processes take the cores."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) * 1e-9
    except (OSError, ValueError, IndexError):
        return None


def make_step(cell, shape):
    T, B, I, H = shape
    tr.manual_seed(0)
    layer = LAYERS[cell](I, H, dtype=np.float32, fused=True)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))

    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()
    return step


def instrument(events):
    """Time Kernel.forward/backward (on the calling thread) and swap every kernel's module for a timed one."""
    originals = {}
    for method in ("forward", "backward"):
        fn = getattr(node.Kernel, method)
        originals[method] = fn

        def timed(self, *args, _fn=fn, _name=method, **kwargs):
            if not isinstance(self.module, _Timed):
                self.module = _Timed(self.module, events)
            w0, c0, s0 = time.perf_counter(), time.thread_time(), _run_delay()
            result = _fn(self, *args, **kwargs)
            wall, cpu, s1 = time.perf_counter() - w0, time.thread_time() - c0, _run_delay()
            events.append((f"node {_name}", "main", wall, 0.0))
            if s0 is not None:   # wall minus time on a CPU minus time waiting for one: time asleep
                events.append((f"node {_name}: blocked (main)", "main", wall - cpu - (s1 - s0), 0.0))
                events.append((f"node {_name}: wall less CPU waits (main)", "main", wall - (s1 - s0), 0.0))
            return result
        setattr(node.Kernel, method, timed)
    workers = blas.workers
    blas.workers = lambda n: _TimedPool(workers(n), events)
    return originals


def summarize(events, wall, cpu, main_cpu):
    """{row: (wall ms, cpu ms)} of one step."""
    rows = collections.defaultdict(lambda: [0.0, 0.0])
    main_kernel = {"forward": 0.0, "backward": 0.0}
    calls = collections.defaultdict(list)
    for name, who, w, c in events:
        if name.startswith("node"):
            rows[name][0] += w
            if name.endswith("(main)"):
                rows[name][1] += w
            continue
        if name in FUNCTIONS:
            calls[name].append(c)
        rows[f"{name} ({who})"][0] += w
        rows[f"{name} ({who})"][1] += c
        if who == "main":
            main_kernel["forward" if name in ("project", "forward") else "backward"] += w
    for part in ("forward", "backward"):
        rows[f"node {part}: other (main)"][0] = rows[f"node {part}"][0] - main_kernel[part]
        rows[f"node {part}: blocked (main)"][0] += 0.0   # (both columns: the time, not CPU)
    for name, cs in calls.items():   # one part's work, whichever thread ran it: the critical path's bricks
        rows[f"{name}: calls per step, CPU per call"] = [len(cs) / 1e3, float(np.median(cs))]
    rows["outside the node (main)"][0] = wall - rows["node forward"][0] - rows["node backward"][0]
    rows["step"] = [wall, cpu]
    rows["step: calling thread's CPU"] = [0.0, main_cpu]
    return rows


def measure(cell, shape, thread_counts, steps, rounds, warmup=5):
    events = []
    step = make_step(cell, shape)
    instrument(events)
    per = {n: collections.defaultdict(lambda: ([], [])) for n in thread_counts}
    for n in thread_counts:   # warm up at every count (compiles; starts the pool)
        tr.set_num_threads(n)
        for _ in range(warmup):
            step()
    for _ in range(rounds):
        for _ in range(steps):
            for n in thread_counts:
                tr.set_num_threads(n)
                events.clear()
                w0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
                step()
                wall, cpu, main_cpu = time.perf_counter() - w0, time.process_time() - c0, time.thread_time() - m0
                for row, (w, c) in summarize(events, wall, cpu, main_cpu).items():
                    per[n][row][0].append(w)
                    per[n][row][1].append(c)
    return per


def torch_times(cell, shape, thread_counts, steps):
    """torch.nn's same step at each thread count, taking turns: {n: (wall ms, process CPU ms)} medians."""
    import torch
    T, B, I, H = shape
    torch.manual_seed(0)
    layer = getattr(torch.nn, cell.upper())(I, H)
    x = torch.randn(T, B, I)

    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()

    times = {n: [] for n in thread_counts}
    for n in thread_counts:
        torch.set_num_threads(n)
        for _ in range(5):
            step()
    for _ in range(steps):
        for n in thread_counts:
            torch.set_num_threads(n)
            w0, c0 = time.perf_counter(), time.process_time()
            step()
            times[n].append((time.perf_counter() - w0, time.process_time() - c0))
    return {n: tuple(np.median(np.array(v), axis=0) * 1e3) for n, v in times.items()}


def handoff_latency(idles=(0.0001, 0.001, 0.01), repeats=150):
    """Median and 90th percentile microseconds from submitting a task to the pool to its start, after
    the worker slept for each idle time."""
    pool = blas.workers(1)
    result = {}
    for idle in idles:
        lat = []
        for _ in range(repeats):
            time.sleep(idle)
            t0 = time.perf_counter()
            lat.append(pool.submit(lambda t0=t0: time.perf_counter() - t0).result())
        result[idle] = (np.median(lat) * 1e6, np.percentile(lat, 90) * 1e6)
    return result


def main():
    p = cell_shape_parser(__doc__)
    p.add_argument("--threads", default="1,2", help="thread counts, taking turns step by step")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--torch", action="store_true", help="time torch.nn's same step instead")
    p.add_argument("--handoff", action="store_true", help="time the pool's hand-off instead")
    args = p.parse_args()
    shape = tuple(int(d) for d in args.shape.split("x"))
    counts = [int(n) for n in args.threads.split(",")]
    if args.handoff:
        for idle, (median, p90) in handoff_latency().items():
            print(f"worker idle {idle * 1e3:g} ms: submit to start median {median:.0f} us, p90 {p90:.0f} us")
        print(f"load {os.getloadavg()[0]:.2f}")
        return
    if args.torch:
        for n, (wall, cpu) in torch_times(args.cell, shape, counts, args.steps * args.rounds).items():
            print(f"torch.nn {args.cell} {args.shape}, {n} thread(s): {wall:.2f} ms wall, {cpu:.2f} ms CPU (medians)")
        print(f"load {os.getloadavg()[0]:.2f}")
        return
    report(args.cell, args.shape, counts, measure(args.cell, shape, counts, args.steps, args.rounds),
           args.steps * args.rounds)


def report(cell, shape_text, counts, per, n_steps):
    rows = sorted({row for n in counts for row in per[n]}, key=lambda r: (r.startswith("step"), r))
    print(f"{cell} {shape_text}, ms per step, medians of {n_steps}; load {os.getloadavg()[0]:.2f}")
    print(f"{'':34s}" + "".join(f"{f'{n} thr wall':>12s}{f'{n} thr cpu':>12s}" for n in counts))
    for row in rows:
        cells = []
        for n in counts:
            w, c = per[n].get(row, ([0.0], [0.0]))
            cells.append(f"{np.median(w) * 1e3:12.2f}{np.median(c) * 1e3:12.2f}")
        print(f"{row:34s}" + "".join(cells))
    # On n idle cores a step takes about the larger of these, plus the waits CPU times miss; under load the
    # calling thread also runs the parts of workers that start late, so its share is then an overestimate.
    for n in counts:
        main, total = np.median(per[n]["step: calling thread's CPU"][1]), np.median(per[n]["step"][1])
        print(f"{n} thread(s): CPU per step {total * 1e3:.2f} ms, of which the calling thread {main * 1e3:.2f}; "
              f"estimate on {n} idle cores: max(calling thread, all / {n}) = {max(main, total / n) * 1e3:.2f} ms")
    base = np.median(per[counts[0]]["step"][0])
    print("speed-up vs", counts[0], "thread(s):", ", ".join(f"{n}: {base / np.median(per[n]['step'][0]):.2f}x"
                                                        for n in counts))


if __name__ == "__main__":
    main()
