"""One module constant of the checkpointed path, two values, in one process: issue 17's step A/B.

Issue 17's fused LSTM (T=1000, B=32, I=H=256, float32), checkpoint=True, at --threads threads: one layer,
the constant `--attr module.NAME` (a module of tinygrad_rnn, read at each call) set to each of `--values`
in turn round by round (the order alternating); process CPU and wall time per training step, minor page
faults per step, medians and the median per-round ratio of each value to the first. One process on
purpose: across processes the same policy's ratio to the full step varies by 0.02-0.03 (bench/README.md).
Also prints how far the values' gradients are apart (relative to their largest entry).

    python bench/ckpt_attr_ab.py --attr compile.segments.RERUNS_AHEAD --values 2 1 --threads 2 --rounds 20
    python bench/ckpt_attr_ab.py --attr nn.bptt_plan.SQRT_STORED_PIECES --values 2.75 4.125 --rounds 20
    python bench/ckpt_attr_ab.py --attr nn.recurrent.SERIAL_SPAN --values 2 1 3 4 --rounds 12

Set a constant where it is read: a module that imported it by name (`from .bptt_plan import SERIAL_SPAN`)
keeps its own binding, and setting the defining module's changes nothing (every value then measures the
same code: "grads apart 0.0e+00" where the pieces change). The script names such bindings before it runs.
"""
import argparse
import importlib
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import memory_budget as mb  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402


def _number(text):
    """An int where the text is one (a count), else a float (bptt_plan.SQRT_STORED_PIECES)."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _warn_other_bindings(module, name):
    """Name the other tinygrad_rnn modules that bind `name` to the same object (an import by name): setting
    it in `module` does not reach their reads."""
    value = getattr(module, name)
    for other_name, other in sorted(sys.modules.items()):
        if other_name.startswith("tinygrad_rnn") and other is not module and getattr(other, name, None) is value:
            print(f"note: {other_name} also binds {name} (imported by name): if it is read there, set "
                  f"--attr {other_name.removeprefix('tinygrad_rnn.')}.{name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--attr", required=True, help="module.NAME under tinygrad_rnn, e.g. compile.segments.PROJECT_ROWS")
    ap.add_argument("--values", type=_number, nargs="+", required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    module_name, name = args.attr.rsplit(".", 1)
    module = importlib.import_module("tinygrad_rnn." + module_name)
    getattr(module, name)   # (a misspelt name fails here)
    _warn_other_bindings(module, name)
    tr.set_num_threads(args.threads)
    run = mb._layer_and_data(1000, 32, 256, 256, {"checkpoint": True})
    grads = {}
    for v in args.values:   # (also the warm-up)
        setattr(module, name, v)
        mb._step(*run)
        grads[v] = [p.grad.numpy().copy() for p in run[0].parameters()]
    first = args.values[0]
    apart = {v: max(float(np.abs(a - b).max() / np.abs(a).max()) for a, b in zip(grads[first], grads[v]))
             for v in args.values}
    cpu, wall, faults = ({v: [] for v in args.values} for _ in range(3))
    for r in range(args.rounds):
        for v in args.values if r % 2 else args.values[::-1]:
            setattr(module, name, v)
            f0, t0, c0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter(), time.process_time()
            mb._step(*run)
            cpu[v].append(time.process_time() - c0)
            wall[v].append(time.perf_counter() - t0)
            faults[v].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    print(f"fused LSTM T=1000 B=32 I=H=256 float32, checkpoint=True, {args.threads} thread(s), {args.rounds} rounds, "
          f"{args.attr}:")
    for v in args.values:
        c, w = np.array(cpu[v]), np.array(wall[v])
        print(f"  {v:>8}: CPU {np.median(c) * 1e3:7.1f} ms  wall {np.median(w) * 1e3:7.1f} ms  "
              f"page faults {int(np.median(faults[v])):6d}  CPU / first per round {np.median(c / cpu[first]):.3f} "
              f"(faster in {(c < cpu[first]).sum()})  wall {np.median(w / wall[first]):.3f}  "
              f"grads apart {apart[v]:.1e}")


if __name__ == "__main__":
    main()
