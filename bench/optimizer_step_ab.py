"""opt.step() over an LSTM's parameters, CPU time per call: a developer's A/B probe for the optimizers' path.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONPATH=<checkout> python bench/optimizer_step_ab.py

Run it for two checkouts in alternating processes (PYTHONPATH picks the checkout) and compare the medians.
Printed: microseconds of process CPU time per step, one line: Adam and SGD (momentum 0.9), the fused (compiled)
update and fused=False (numpy), on tr.nn.LSTM(64, 128, num_layers=2) + Linear(128, 8), float32, after one
backward (every parameter has a gradient)."""
import time

import tinygrad_rnn as tr


def per_call(fn, calls):
    for _ in range(max(calls // 10, 5)):
        fn()
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls * 1e6


def parameters():
    tr.manual_seed(0)
    lstm, head = tr.nn.LSTM(64, 128, num_layers=2), tr.nn.Linear(128, 8)
    out, _ = lstm(tr.randn(20, 4, 64))
    head(out).sum().backward()
    return list(lstm.parameters()) + list(head.parameters())


def main():
    params = parameters()
    cells = []
    for name, make in (("Adam", lambda f: tr.optim.Adam(params, lr=1e-4, fused=f)),
                       ("SGD", lambda f: tr.optim.SGD(params, lr=1e-4, momentum=0.9, fused=f))):
        for fused in (None, False):
            opt = make(fused)
            cells.append(f"{name}{'' if fused is None else ' numpy'} {per_call(opt.step, 300):.1f}")
    print(" | ".join(cells), "| .grad:", type(params[0].grad).__name__)


if __name__ == "__main__":
    main()
