"""Where a tiny step of a many-parameter cell's layer spends its time beside tr.nn.LSTM: a developer's probe.

    python bench/cell_step_phases.py                       # 20x1x10x20, float32, 1 thread
    python bench/cell_step_phases.py --threads 2 --batches 20

The layers of `bench/compiled_cells.py --others` that issue 12 compares with tr.nn.LSTM: tr.nn.Recurrent
of LSTMCell (the same kernel as tr.nn.LSTM: what the Recurrent path itself costs), PeepholeLSTMCell
(7 parameters) and LayerNormLSTMCell (7 parameters, a longer cell). One training step split into its
phases: zero_grad, the layer's forward, out.sum(), backward; and inside the forward and the backward,
the time spent in compile/node.Kernel.forward / Kernel.backward (the generated kernels and their Python
wrappers: buffers, parameter views, gradient accumulators), measured by wrapping those two methods. The
rest of forward and backward is the layer, the tape's apply and its backward walk.

CPU time of this thread (time.thread_time_ns) per step, the mean over --batches batches of --calls
steps, the layers interleaved batch by batch. The timers themselves add about a microsecond per phase:
compare layers, not absolute numbers with bench/compiled_cells.py.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="20x1x10x20")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batches", type=int, default=10)
ap.add_argument("--calls", type=int, default=1000)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile import node  # noqa: E402

PHASES = ("zero_grad", "forward", "sum", "backward", "Kernel.forward", "Kernel.backward")


def timed_kernel(spent):
    """Wrap Kernel.forward and Kernel.backward so that their CPU time adds up in spent[4] and spent[5]."""
    clock = time.thread_time_ns
    for slot, name in ((4, "forward"), (5, "backward")):
        inner = getattr(node.Kernel, name)

        def wrapper(self, *args, _inner=inner, _slot=slot, **kwargs):
            t0 = clock()
            try:
                return _inner(self, *args, **kwargs)
            finally:
                spent[_slot] += clock() - t0
        setattr(node.Kernel, name, wrapper)


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    dt = np.float32
    layers = {"lstm": tr.nn.LSTM(I, H, dtype=dt), "rec-lstm": tr.nn.Recurrent(tr.nn.LSTMCell, I, H, dtype=dt),
              "peephole": tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=dt),
              "jordan": tr.nn.Recurrent(tr.nn.JordanCell, I, H, dtype=dt),
              "layernorm": tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=dt)}
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(dt))
    spent = np.zeros(len(PHASES), dtype=np.int64)
    timed_kernel(spent)
    totals = {name: np.zeros(len(PHASES)) for name in layers}
    clock = time.thread_time_ns
    for layer in layers.values():   # compile, warm up
        for _ in range(50):
            layer.zero_grad()
            layer(x)[0].sum().backward()
    for _ in range(ARGS.batches):
        for name, layer in layers.items():
            spent[:] = 0
            for _ in range(ARGS.calls):
                t0 = clock()
                layer.zero_grad()
                t1 = clock()
                out, _ = layer(x)
                t2 = clock()
                loss = out.sum()
                t3 = clock()
                loss.backward()
                t4 = clock()
                spent[0] += t1 - t0
                spent[1] += t2 - t1
                spent[2] += t3 - t2
                spent[3] += t4 - t3
            totals[name] += spent
    steps = ARGS.batches * ARGS.calls
    print(f"{ARGS.shape}, float32, {ARGS.threads} thread(s): CPU microseconds per step (mean of {steps})")
    print(f"{'':10s}" + "".join(f"{p:>16s}" for p in PHASES) + f"{'fwd outside':>13s}{'bwd outside':>13s}"
          f"{'step':>8s}{'/ lstm':>8s}")
    base = totals["lstm"][:4].sum()
    for name, t in totals.items():
        us = t / steps / 1e3
        step = us[:4].sum()
        print(f"{name:10s}" + "".join(f"{v:16.2f}" for v in us) + f"{us[1] - us[4]:13.2f}{us[3] - us[5]:13.2f}"
              f"{step:8.2f}{t[:4].sum() / base:8.3f}")


if __name__ == "__main__":
    main()
