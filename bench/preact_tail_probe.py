"""Would checkpoint=True's tail cost less kept as pre-activations than as stored steps? A probe (issue 17).

checkpoint=True stores its last 88 steps (T = 1000): for each, the 6 numbers per unit of H that the
fused LSTM's backward reads (c and five gate values), so those steps are not rerun. The same kept bytes
hold 1.5x as many steps of pre-activations (x W_ih^T + b + h_{t-1} W_hh^T: 4 numbers per unit): their
rerun is then the loop's elementwise part only (c still goes step to step; h is the kept output), no
product. What that costs and saves, per step, one thread, CPU time (time.thread_time), built from the
layer's own generated source by text edits (asserted), rounds alternating, over --steps steps in pieces
of --piece steps:

    rerun            project + forward (a checkpointed piece's rerun today)
    rerun batched    project + the piece's recurrent product at once (its h_{t-1} are the kept output)
                     added into the projection + the loop without its product (bench/rerun_batched_probe.py)
    from pre-act.    the forward loop without its product, reading the pre-activations (the rerun of a
                     pre-activation step; checked bitwise against `rerun`'s gates)
    states           forward_states (a checkpointed piece's first forward today, without its projection)
    states + pre     forward_states also writing the pre-activations over the projection (the first
                     forward of a pre-activation step, without its projection)
    full step        the uncheckpointed layer's whole training step (for the estimate below)

and the estimate: the step time a tail of the same kept memory saves, as pre-activations against
stored steps, over the full step's time.

    python bench/preact_tail_probe.py --rounds 15
"""
import argparse
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import memory_budget as mb  # noqa: E402
from rerun_batched_probe import batched_source  # noqa: E402

import tinygrad_rnn as tr  # noqa: E402
from tinygrad_rnn.compile.codegen import import_module  # noqa: E402
from tinygrad_rnn.kernels.blas import single_threaded  # noqa: E402

BATCH, SIZE, STORED = 32, 256, 88   # issue 17's step: its stored tail, 88 steps


def preact_source(source):
    """batched_source's module plus `states_pre`: forward_states that also writes each gate's
    pre-activation (projection + product) over the projection's row."""
    start = source.index("@njit(error_model='numpy', nogil=True)\ndef forward_states(")
    loop = source[start:].replace("def forward_states(", "def states_pre(")
    loop, n = re.subn(r"\n( +)(v\d+) = \((v\d+)\) \+ \(C0\[b, ([^\]]*)\]\)",
                      r"\n\1\2 = (\3) + (C0[b, \4])\n\1XW0[t, b, \4] = \2", loop)
    assert n == 4, n
    return batched_source(source) + "\n\n" + loop


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--steps", type=int, default=896)
    ap.add_argument("--piece", type=int, default=64)
    args = ap.parse_args()
    tr.set_num_threads(1)
    L, n_pieces = args.piece, args.steps // args.piece
    layer = tr.nn.LSTM(SIZE, SIZE, dtype=np.float32)
    module, _ = import_module(preact_source(layer.kernel_source()), "the probe's LSTM")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n_pieces * L, BATCH, SIZE), dtype=np.float32)
    w_ih, w_hh = layer.weight_ih_l0._data, layer.weight_hh_l0._data
    b_ih, b_hh = layer.bias_ih_l0._data, layer.bias_hh_l0._data
    w_hh_t = np.ascontiguousarray(w_hh.T)
    lengths = np.full(BATCH, L, np.int64)
    s0, s1 = np.zeros((L + 1, BATCH, SIZE), np.float32), np.zeros((L + 1, BATCH, SIZE), np.float32)
    xw, c0 = np.empty((L, BATCH, 4 * SIZE), np.float32), np.zeros((BATCH, 4 * SIZE), np.float32)
    pre = [np.empty((L, BATCH, 4 * SIZE), np.float32) for _ in range(n_pieces)]
    gates = [np.empty((L, BATCH, SIZE), np.float32) for _ in range(5)]

    def project(p):
        module.project(x[p * L:(p + 1) * L], w_ih, b_hh, b_ih, xw, 0, L)

    for p in range(n_pieces):   # the pre-activations, and the check: the same gates both ways
        project(p)
        pre[p][:] = xw
        module.states_pre(lengths, x, s0, s1, pre[p], c0, w_hh_t, 0, BATCH)
    project(0)
    module.forward(lengths, x, s0, s1, xw, c0, *gates, w_hh_t, 0, BATCH)
    want = [g.copy() for g in gates] + [s1.copy()]
    zero = np.zeros_like(c0)
    module.forward_in(lengths, x, s0, s1, pre[0], zero, *gates, w_hh_t, 0, BATCH)
    same = all(np.array_equal(a, b) for a, b in zip(want, gates + [s1]))
    spare = np.empty_like(xw)
    variants = {
        "rerun": lambda p: (project(p), module.forward(lengths, x, s0, s1, xw, c0, *gates, w_hh_t, 0, BATCH)),
        "rerun batched": lambda p: (project(p), module.recurrent_into(s0, w_hh, xw),
                                    module.forward_in(lengths, x, s0, s1, xw, zero, *gates, w_hh_t, 0, BATCH)),
        "from pre-act.": lambda p: module.forward_in(lengths, x, s0, s1, pre[p], zero, *gates, w_hh_t, 0, BATCH),
        "states": lambda p: module.forward_states(lengths, x, s0, s1, xw, c0, w_hh_t, 0, BATCH),
        "states + pre": lambda p: module.states_pre(lengths, x, s0, s1, spare, c0, w_hh_t, 0, BATCH)}
    full = mb._layer_and_data(1000, BATCH, SIZE, SIZE, {})
    mb._step(*full)
    spent = {name: [] for name in list(variants) + ["full step"]}
    with single_threaded():
        for r in range(args.rounds):
            order = list(variants.items())
            for name, run in order if r % 2 else order[::-1]:
                t0 = time.thread_time()
                for p in range(n_pieces):
                    run(p)
                spent[name].append((time.thread_time() - t0) / (n_pieces * L))
            t0 = time.process_time()
            mb._step(*full)
            spent["full step"].append(time.process_time() - t0)
    us = {name: float(np.median(v)) * 1e6 for name, v in spent.items()}
    print(f"fused LSTM B={BATCH} I=H={SIZE} float32, 1 thread, pieces of {L} steps, {args.rounds} rounds; "
          f"gates from pre-activations bitwise equal: {same}")
    for name in variants:
        print(f"  {name:16s} {us[name]:7.1f} us CPU per step")
    print(f"  full step (T=1000) {us['full step'] / 1e3:7.1f} ms CPU")
    # the same kept memory: STORED stored steps (6 numbers a unit) or 1.5x as many pre-activation steps (4)
    stored_saves = STORED * us["rerun"]
    n_pre = STORED * 6 // 4
    pre_saves = n_pre * (us["rerun"] - us["from pre-act."] - (us["states + pre"] - us["states"]))
    print(f"  a tail of {STORED} stored steps saves {stored_saves / 1e3:.1f} ms of reruns; {n_pre} pre-activation "
          f"steps in the same memory save {pre_saves / 1e3:.1f} ms: {(pre_saves - stored_saves) / us['full step']:.4f}"
          f" of the full step more")
    rest = (1000 - STORED) * (us["rerun"] - us["rerun batched"])
    print(f"  the other {1000 - STORED} steps' reruns batched would save {rest / 1e3:.1f} ms: "
          f"{rest / us['full step']:.4f} of the full step")


if __name__ == "__main__":
    main()
