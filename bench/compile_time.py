"""How long the first training step of a layer takes when its generated kernels are new (a cold compile),
and when a second process loads them from the disk cache.

    python bench/compile_time.py                                 # LSTM, GRU, RNN, layer-norm LSTM
    python bench/compile_time.py --cells lstm --size 10x4x32x64 --rounds 3
    python bench/compile_time.py --cells layernorm --breakdown    # where a cold compile's time goes

Per cell and round: a fresh process with TINYGRAD_RNN_CACHE pointed at a new empty directory times its
first step (forward over the whole sequence, backward to every weight: trace, generate, Numba compile,
run), then a second fresh process with the same directory times its first step (Numba loads the machine
code). The package's own Numba functions (kernels/, compile/scalar.py) are cached in the package's
__pycache__ as usual: one warm-up process before the first round fills that cache, so "cold" is the
generated kernels' compile only. float32, 1 thread. Prints medians (min-max) in seconds, wall time and the
process's CPU time, its compile worker's included (compile/worker.py: with two usable CPUs or more, half of
a new module is compiled by a second process; `taskset -c 0` gives one); on a machine shared with other
work, wall time also counts what others ran. Asserts nothing. The issue's targets: cold at most 5 s, cached under 1 s.

--breakdown: per function Numba compiled in the cold process (the generated module's project, forward,
backward, grads; the helpers they call; Numba's own np.zeros and the like), the CPU seconds spent
compiling it, excluding the functions it made Numba compile on the way, and of those how many inside
LLVM (Numba's "numba:llvm_lock" event brackets every call into llvmlite's library: parsing the IR Numba
wrote, the optimisation passes, machine code; the rest is Numba's Python: bytecode analysis, type
inference, lowering to LLVM IR). Read from Numba's event API (numba.core.event); medians over the rounds.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import os, time
import numpy as np
import tinygrad_rnn as tr
{listen}
def cpu():   # this process's CPU and its waited children's: the compile worker's (compile/worker.py)
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
T, B, I, H = {shape}
cell = {cell!r}
if cell == "layernorm":
    layer = tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=np.float32)
elif cell == "rnn":
    layer = tr.nn.RNN(I, H, dtype=np.float32)
else:
    layer = {{"lstm": tr.nn.LSTM, "gru": tr.nn.GRU}}[cell](I, H, dtype=np.float32)
x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
t0, c0 = time.perf_counter(), cpu()
out, _ = layer(x)
out.sum().backward()
wall = time.perf_counter() - t0
try:   # a compile worker has sent all it compiled by now and is ending: wait, for its CPU time to count
    os.wait()
except ChildProcessError:   # none ran
    pass
print("FIRST_STEP", wall, cpu() - c0)
{report}
"""

# The child's --breakdown part: every compile event's CPU time, exclusive of the compiles nested in it.
LISTEN = r"""
from numba.core import event
class Compiles(event.Listener):
    def __init__(self):
        self.stack, self.own, self.llvm, self.llvm_from = [], {}, {}, 0.0
    def name(self, ev):
        fn = ev.data["dispatcher"].py_func
        mod = "kernel" if fn.__module__.startswith("tinygrad_rnn_cell_") else fn.__module__.split(".")[-1]
        return mod + "." + fn.__qualname__.replace(".<locals>", "")
    def on_start(self, ev):
        now = time.process_time()
        if ev.kind == "numba:llvm_lock":
            self.llvm_from = now
            return
        if self.stack:
            self.add(self.own, self.stack[-1][0], now - self.stack[-1][1])
        self.stack.append([self.name(ev), now])
    def on_end(self, ev):
        now = time.process_time()
        if ev.kind == "numba:llvm_lock":
            if self.stack:
                self.add(self.llvm, self.stack[-1][0], now - self.llvm_from)
            return
        name, since = self.stack.pop()
        self.add(self.own, name, now - since)
        if self.stack:
            self.stack[-1][1] = now
    @staticmethod
    def add(d, k, v):
        d[k] = d.get(k, 0.0) + v
compiles = Compiles()
event.register("numba:compile", compiles)
event.register("numba:llvm_lock", compiles)
"""
REPORT = r"""
for name, cpu in compiles.own.items():
    print("COMPILED", name, cpu, compiles.llvm.get(name, 0.0))
"""


def first_step(cell, shape, cache, breakdown=False):
    """(wall s, CPU s, {compiled function: (CPU s, of which under the LLVM lock)}) of a fresh process."""
    env = dict(os.environ, TINYGRAD_RNN_CACHE=cache, PYTHONPATH=ROOT, OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    code = CHILD.format(shape=shape, cell=cell, listen=LISTEN if breakdown else "",
                        report=REPORT if breakdown else "")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    wall = cpu = None
    compiled = {}
    for line in res.stdout.splitlines():
        words = line.split()
        if words and words[0] == "FIRST_STEP":
            wall, cpu = float(words[1]), float(words[2])
        elif words and words[0] == "COMPILED":
            compiled[words[1]] = (float(words[2]), float(words[3]))
    return wall, cpu, compiled


def _stat(values):
    return f"{np.median(values):5.2f} ({min(values):.2f}-{max(values):.2f})"


def print_breakdown(runs):
    """Medians over the cold runs of each compiled function's CPU time (a function missing from a run counts
    0 there: it was loaded from a cache or compiled by an earlier function's typing)."""
    names = sorted({n for r in runs for n in r}, key=lambda n: -np.median([r.get(n, (0, 0))[0] for r in runs]))
    total = np.median([sum(c for c, _ in r.values()) for r in runs])
    print(f"{'':12s}compiled in the cold process, CPU s (median over {len(runs)} runs); all: {total:.2f}")
    for n in names:
        cpu = np.median([r.get(n, (0, 0))[0] for r in runs])
        llvm = np.median([r.get(n, (0, 0))[1] for r in runs])
        if cpu >= 0.01:
            print(f"{'':12s}  {n:44s} {cpu:5.2f}   of which LLVM {llvm:5.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default="lstm,gru,rnn,layernorm")
    ap.add_argument("--size", default="10x4x32x64", help="T x B x I x H")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--breakdown", action="store_true", help="per compiled function, CPU s (see above)")
    args = ap.parse_args()
    shape = tuple(int(v) for v in args.size.split("x"))
    cells = args.cells.split(",")
    with tempfile.TemporaryDirectory() as warm:   # fills the package's own Numba cache
        for cell in cells:
            first_step(cell, shape, warm)
    print(f"first training step, float32, 1 thread, (T, B, I, H) = {shape}, {args.rounds} rounds: "
          "median (min-max) in s, wall and CPU (the process and its compile worker)")
    for cell in cells:
        cold, cached, runs = [], [], []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as cache:
                wall, cpu, compiled = first_step(cell, shape, cache, args.breakdown)
                cold.append((wall, cpu))
                runs.append(compiled)
                cached.append(first_step(cell, shape, cache)[:2])
        cold, cached = np.array(cold), np.array(cached)
        print(f"{cell:>10s}  cold wall {_stat(cold[:, 0])} CPU {_stat(cold[:, 1])}   "
              f"cached wall {_stat(cached[:, 0])} CPU {_stat(cached[:, 1])}", flush=True)
        if args.breakdown:
            print_breakdown(runs)

if __name__ == "__main__":
    main()
