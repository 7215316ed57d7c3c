"""What a tiny fused step's Python costs per parameter of the cell: a developer's probe (issue 12's lever (b)).

    python bench/per_parameter_python.py                 # Recurrent(LSTMCell) (4 parameters) vs PeepholeLSTMCell (7)

The pieces of a tr.nn.Recurrent training step that loop over the cell's parameters or the fused node's inputs,
each timed alone (CPU time per call, median over batches, the two layers and the pieces interleaved), after a
few real steps so that every cache is warm:

  zero_grad      layer.zero_grad() with every .grad set (minus `refill`, the loop that sets them again)
  holds          compile/node.CellSnapshot.holds: the cell's attributes and parameters' arrays unchanged
  _edges         the tape's one pass over the node's inputs in apply (x and the parameters)
  _check_saved   the backward's check of the leaves' versions
  _reachable     the backward's walk of the graph from the output

The peephole cell's three more parameters cost the difference; bench/step_opcodes.py counts the same pieces'
bytecodes exactly (this gives their time, which a loaded machine inflates).
"""
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn import tape  # noqa: E402


def pieces(name, cell_class, x):
    """{label: a function of no arguments} for one layer."""
    dt = x.dtype
    layer = tr.nn.Recurrent(cell_class, x.shape[2], 20, dtype=dt)
    for _ in range(3):
        layer.zero_grad()
        layer(x)[0].sum().backward()
    cell = layer.cells[0]
    snapshot = layer.__dict__["_fused_last"][0]
    params = list(cell.parameters())
    grads = [p.grad for p in params]

    def refill():
        for p, g in zip(params, grads):
            p.grad = g

    def zero_grad():
        refill()
        layer.zero_grad()

    node = layer(x)[0]._node   # (kept: its saved values stay, so the check runs as in a backward)
    inputs = (x, *params)
    return {f"{name} zero_grad": zero_grad, f"{name} refill": refill,
            f"{name} holds": lambda: snapshot.holds(cell, dt),
            f"{name} _edges": lambda: tape._edges(inputs),
            f"{name} _check_saved": lambda: tape._check_saved_values(node),
            f"{name} _reachable": lambda: tape._reachable_nodes(node)}


def main(batches=25, calls=2000):
    x = tr.Tensor(np.random.default_rng(0).standard_normal((20, 1, 10)).astype(np.float32))
    fns = {**pieces("rec-lstm", tr.nn.LSTMCell, x), **pieces("peephole", tr.nn.PeepholeLSTMCell, x)}
    for fn in fns.values():
        for _ in range(calls // 4):
            fn()
    times = {name: [] for name in fns}
    order = list(fns)
    for b in range(batches):
        for name in (order if b % 2 else order[::-1]):
            fn = fns[name]
            c0 = time.process_time_ns()
            for _ in range(calls):
                fn()
            times[name].append((time.process_time_ns() - c0) / calls)
    med = {name: float(np.median(v)) for name, v in times.items()}
    for name in ("rec-lstm", "peephole"):
        med[f"{name} zero_grad"] -= med.pop(f"{name} refill")
    print("20x1x10x20, float32, 1 thread: CPU ns per call (median)")
    for piece in ("zero_grad", "holds", "_edges", "_check_saved", "_reachable"):
        a, b = med[f"rec-lstm {piece}"], med[f"peephole {piece}"]
        print(f"  {piece:14s} rec-lstm {a:7.0f}  peephole {b:7.0f}  difference {b - a:+6.0f}")
    total = sum(med[k] for k in med if k.startswith("peephole")) - sum(med[k] for k in med if k.startswith("rec-lstm"))
    print(f"  all            difference {total:+6.0f}")


if __name__ == "__main__":
    main()
