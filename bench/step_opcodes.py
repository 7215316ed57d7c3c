"""How much Python a tiny training step runs, per layer and per function: a developer's probe that no noise moves.

    python bench/step_opcodes.py                        # 20x1x10x20, float32: totals per layer
    python bench/step_opcodes.py --detail               # and each function whose count differs between layers

The layers of `bench/compiled_cells.py --others` that issue 12 compares with tr.nn.LSTM (a user's plain-Tensor
LSTM, PeepholeLSTMCell) and tr.nn.Recurrent of LSTMCell (the same kernel as tr.nn.LSTM: what the Recurrent
path itself adds). One step = zero_grad, forward, out.sum(), backward, after a warm-up. Counted with
sys.settrace (frame.f_trace_opcodes) and sys.setprofile: the Python bytecodes executed in each function
and the calls into C functions, per step. The counts are exact and the same in every run, so a change to
the per-call path (the layer, compile/node.py's wrappers, the tape) shows even on a busy machine where a
microsecond is lost in the timings' noise. They are not times: a C-level map can run fewer bytecodes and
take longer than the loop it replaces, and the generated kernels' own work is not counted. Measure a change
that the counts favour with CPU time too (bench/cell_step_phases.py, A/B against main).
"""
import argparse
import collections
import os
import sys

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="20x1x10x20")
ap.add_argument("--steps", type=int, default=5)
ap.add_argument("--detail", action="store_true", help="also each function (and C call) whose count differs")
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402

sys.argv[1:] = []   # bench/compiled_cells.py reads its own options when imported: its defaults, not ours
from bench.user_cells import UserLSTMCell  # noqa: E402


def count(step, steps):
    """({function: bytecodes per step}, {C function: calls per step}) over `steps` calls of step()."""
    ops, calls = collections.Counter(), collections.Counter()

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        key = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_code.co_name}"

        def local(frame, event, arg):
            if event == "opcode":
                ops[key] += 1
            return local
        return local

    def profile(frame, event, arg):
        if event == "c_call":
            calls[getattr(arg, "__qualname__", repr(arg))] += 1

    sys.settrace(trace)
    sys.setprofile(profile)
    try:
        for _ in range(steps):
            step()
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    return {k: v / steps for k, v in ops.items()}, {k: v / steps for k, v in calls.items()}


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    dt = np.float32
    layers = {"lstm": tr.nn.LSTM(I, H, dtype=dt), "rec-lstm": tr.nn.Recurrent(tr.nn.LSTMCell, I, H, dtype=dt),
              "user-lstm": tr.nn.Recurrent(UserLSTMCell, I, H, dtype=dt),
              "peephole": tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=dt),
              "jordan": tr.nn.Recurrent(tr.nn.JordanCell, I, H, dtype=dt)}
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(dt))
    counts = {}
    for name, layer in layers.items():
        def step(layer=layer):
            layer.zero_grad()
            layer(x)[0].sum().backward()
        for _ in range(20):   # compile, warm up, fill the caches of the per-call path
            step()
        counts[name] = count(step, ARGS.steps)
    print(f"{ARGS.shape}, float32, 1 thread: per training step")
    print(f"{'':44s}" + "".join(f"{n:>11s}" for n in layers))
    print(f"{'Python bytecodes':44s}" + "".join(f"{sum(o.values()):11.0f}" for o, _ in counts.values()))
    print(f"{'calls of C functions':44s}" + "".join(f"{sum(c.values()):11.0f}" for _, c in counts.values()))
    if ARGS.detail:
        for part, label in ((0, ""), (1, "C ")):
            names = sorted(set().union(*[c[part] for c in counts.values()]))
            for key in names:
                row = [c[part].get(key, 0) for c in counts.values()]
                if len(set(row)) > 1:
                    print(f"{(label + key)[:44]:44s}" + "".join(f"{v:11.0f}" for v in row))


if __name__ == "__main__":
    main()
