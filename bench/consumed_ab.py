"""A/B of the backward writing its gradients over the rows it read (compile/node.py Kernel.consumed: the layer-norm
LSTM's dXW0 over XW0, dC0 over C0) against the same kernel with fresh gradient arrays, in one process.

    python bench/consumed_ab.py --threads 1 --rounds 12
    python bench/consumed_ab.py --threads 2 --shape 1000x8x32x64
    python bench/consumed_ab.py --threads 2 --checkpoint True   # the checkpointed pieces' backward (segments.py)

One training step (zero_grad, forward from zero state, out.sum(), backward), float32, of
tr.nn.Recurrent(tr.nn.LayerNormLSTMCell) with the switch on ("on", what the library does), off ("off": the
kernel's `consumed` emptied, so the backward takes fresh dXW0/dC0 buffers, as before), and tr.nn.LSTM, in a
rotated order each round (one untimed step after each switch, then two timed). The generated code is the same
both ways: only which arrays the backward is handed differs. Prints medians of process CPU time per step
(all threads: CPU spent, not a duration) and wall time, on/off and each over tr.nn.LSTM. Asserts nothing.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="1000x8x32x64", help="T x B x I x H")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--rounds", type=int, default=12)
ap.add_argument("--checkpoint", default=None, help="both layers' checkpoint= (an int or True)")
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.node import get_kernel  # noqa: E402


def step(layer, x):
    layer.zero_grad()
    out, _ = layer(x)
    out.sum().backward()


def switch(kernel, consumed):
    """Set the kernel's pairs; its backward call plans (made once per shape, holding them) are made again."""
    kernel.consumed = consumed
    for plan in kernel._forward_plans.values():
        plan.backward.clear()


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    x = tr.Tensor(np.random.default_rng(0).random((T, B, I)).astype(np.float32))
    ckpt = {"checkpoint": True if ARGS.checkpoint == "True" else int(ARGS.checkpoint)} if ARGS.checkpoint else {}
    ln, lstm = tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, **ckpt), tr.nn.LSTM(I, H, **ckpt)
    step(ln, x)
    kernel = get_kernel(ln.cells[0], np.float32)[0]
    on = kernel.consumed
    assert on, "this kernel has nothing to consume"
    for _ in range(3):
        step(ln, x)
        step(lstm, x)
    wall, cpu = {}, {}
    peers = [("on", ln, on), ("off", ln, ()), ("lstm", lstm, None)]
    for r in range(ARGS.rounds):
        for name, layer, consumed in peers[r % 3:] + peers[:r % 3]:
            if consumed is not None:
                switch(kernel, consumed)
            step(layer, x)   # untimed: the first after a switch
            for _ in range(2):
                start, c = time.perf_counter(), time.process_time()
                step(layer, x)
                wall.setdefault(name, []).append((time.perf_counter() - start) * 1e3)
                cpu.setdefault(name, []).append((time.process_time() - c) * 1e3)
    switch(kernel, on)
    print(f"{ARGS.shape}, float32, {ARGS.threads} thread(s), checkpoint={ARGS.checkpoint}, {ARGS.rounds} rounds x 2 "
          f"steps, medians, ms per step")
    for label, d in (("process CPU", cpu), ("wall", wall)):
        m = {k: float(np.median(v)) for k, v in d.items()}
        on, off, lstm = m["on"], m["off"], m["lstm"]
        print(f"  {label:11s}  on {on:7.2f}  off {off:7.2f}  lstm {lstm:7.2f}  on/off {on / off:.3f}"
              f"  x lstm: on {on / lstm:.3f}  off {off / lstm:.3f}")


if __name__ == "__main__":
    main()
