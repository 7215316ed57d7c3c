"""What a column of the time loops costs, elementwise and reduction, against the big products: the
numbers behind compile/node.py's loop_cost_ratio (ELEMENTWISE_MACS, REDUCTION_MACS). A developer's probe.

    python bench/loop_cost_probe.py                       # every cell below at four sizes, 1 thread
    python bench/loop_cost_probe.py --sizes 16x32,64x128 --rounds 5 --cells LSTMCell,LayerNormLSTMCell

One thread, float32, a training step of tr.nn.Recurrent(cell) (loss = the outputs' sum) at --rows rows and
--steps steps; each generated function's CPU time (time.thread_time) is summed per step: the loops
(`forward` + `backward`) and the big products (`project` + `grads`), medians over --rounds rounds. Per
(row, step), the loops are fitted (least squares, through the origin) as

    loop = a * (2 * small-product multiply-adds) + e * (2 * elementwise columns) + r * (2 * reduction columns) + f

(the counts as loop_cost_ratio takes them from the program: a Reduce over W columns is W reduction
columns; the backward is counted as a second forward; f: a step's fixed costs, the calls, over its rows)
and the products as d * (their multiply-adds).
Printed: each case's measured loops / products beside the estimate, and e / d, r / d and a / d: a column's
cost in big-product multiply-adds. Besides the built-in cells, two probe cells: an Elman cell with its
pre-activation layer-normalised (two reductions) and its twin with each mean replaced by a scaling (no
reduction, about the same elementwise work). Asserts nothing.
"""
import argparse
import collections
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--sizes", default="16x32,32x64,64x128,128x256", help="I x H, comma-separated")
ap.add_argument("--cells", default="RNNCell,GRUCell,LSTMCell,PeepholeLSTMCell,JordanCell,LayerNormLSTMCell,"
                                   "NormedRNNCell,ScaledRNNCell")
ap.add_argument("--rows", type=int, default=32)
ap.add_argument("--steps", type=int, default=100)
ap.add_argument("--rounds", type=int, default=7)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile import node  # noqa: E402
from tinygrad_rnn.nn.cells import layer_norm  # noqa: E402

LOOPS, PRODUCTS = ("forward", "backward"), ("project", "grads")


class NormedRNNCell(tr.nn.RNNCell):
    """h' = tanh(LN(W_ih x + W_hh h + b; gain)): two reductions over H per step."""

    def __init__(self, input_size, hidden_size, **kw):
        super().__init__(input_size, hidden_size, **kw)
        self.gain = tr.nn.Parameter(np.ones(hidden_size, np.float32))

    def recurrence(self, xw, h):
        return layer_norm(xw + h @ self.weight_hh.T + self.bias_hh, self.gain).tanh()


class ScaledRNNCell(NormedRNNCell):
    """NormedRNNCell with its mean and variance replaced by per-row numbers read from the state (h[:, :1],
    h[:, 1:2] squared): the same column loop and about the same elementwise work, no reduction."""

    def recurrence(self, xw, h):
        z = xw + h @ self.weight_hh.T + self.bias_hh
        var = h[:, 1:2] * h[:, 1:2]
        return ((z - h[:, :1]) * (var + 1e-5) ** -0.5 * self.gain).tanh()


PROBES = {"NormedRNNCell": NormedRNNCell, "ScaledRNNCell": ScaledRNNCell}


def counts(prog):
    """(small-product multiply-adds, elementwise columns, reduction columns, big-product multiply-adds) per
    row and step, as loop_cost_ratio counts them (the loops' twice: forward and backward)."""
    elementwise, reduction = node.loop_columns(prog)
    gemms = sum(g.K * g.N for g in prog.gemms)
    products = 3 * prog.input_size * sum(pr.N for pr in prog.projections) + gemms
    return 2 * gemms, 2 * elementwise, 2 * reduction, products


class _Timed:
    """Stands in for a Kernel's module: each generated function's CPU time added to `spent`."""

    def __init__(self, module, spent):
        self._module = module
        for name in LOOPS + PRODUCTS:
            setattr(self, name, self._wrap(getattr(module, name), name, spent))

    def __getattr__(self, name):
        return getattr(self._module, name)

    @staticmethod
    def _wrap(fn, name, spent):
        def run(*args):
            c0 = time.thread_time()
            out = fn(*args)
            spent[name] += time.thread_time() - c0
            return out
        return run


def measure(cls, I, H):
    """(loops, products) CPU seconds per step, medians, and the kernel's program."""
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(cls, I, H, dtype=np.float32)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((ARGS.steps, ARGS.rows, I)).astype(np.float32))
    kernel = node.get_kernel(layer.cells[0], np.float32)[0]
    spent = collections.Counter()
    kernel.module = _Timed(kernel.module, spent)

    def step():
        layer.zero_grad()
        layer(x)[0].sum().backward()

    step()
    loops, products = [], []
    for _ in range(ARGS.rounds):
        spent.clear()
        step()
        loops.append(spent["forward"] + spent["backward"])
        products.append(spent["project"] + spent["grads"])
    kernel.module = kernel.module._module
    return float(np.median(loops)), float(np.median(products)), kernel.prog


def main():
    tr.set_num_threads(1)
    rows, per = [], ARGS.rows * ARGS.steps * 1e-9   # seconds -> ns per (row, step)
    print(f"1 thread, float32, {ARGS.steps} steps x {ARGS.rows} rows; CPU ms per training step, "
          f"medians of {ARGS.rounds}")
    print(f"{'cell':18s} {'I x H':>8s} {'loops':>7s} {'products':>8s} {'measured':>8s} {'estimate':>8s}")
    for name in ARGS.cells.split(","):
        cls = PROBES.get(name) or getattr(tr.nn, name)
        for size in ARGS.sizes.split(","):
            I, H = (int(v) for v in size.split("x"))
            loops, products, prog = measure(cls, I, H)
            rows.append((f"{name} {size}", counts(prog), loops / per, products / per))
            print(f"{name:18s} {size:>8s} {loops * 1e3:7.2f} {products * 1e3:8.2f} {loops / products:8.2f} "
                  f"{node.loop_cost_ratio(prog):8.2f}", flush=True)
    fit(rows)


def fit(rows):
    """The least-squares costs per unit, in big-product multiply-adds (d: ns per one of them), and each
    case's loops as the fit has them beside the measured."""
    macs = np.array([c[3] for _, c, _, _ in rows], float)
    d = float(np.sum(macs * [p for _, _, _, p in rows]) / np.sum(macs * macs))
    A = np.array([c[:3] + (1,) for _, c, _, _ in rows], float)
    loops = np.array([t for _, _, t, _ in rows])
    (a, e, r, f), *_ = np.linalg.lstsq(A, loops, rcond=None)
    print(f"big products: {d * 1e3:.1f} ps per multiply-add; per unit, in those: small-product multiply-add "
          f"{a / d:.2f}, elementwise column {e / d:.2f}, reduction column {r / d:.2f} "
          f"(loop_cost_ratio: 1, {node.ELEMENTWISE_MACS}, {node.REDUCTION_MACS}); a step's fixed cost over its "
          f"{ARGS.rows} rows: {f:.0f} ns per row")
    print("loops per (row, step), ns: measured / fitted")
    for (case, _, t, _), fitted in zip(rows, A @ [a, e, r, f]):
        print(f"  {case:28s} {t:8.1f} {fitted:8.1f}")


if __name__ == "__main__":
    main()
