"""Whether a training step's gradients are bitwise the same from run to run at a fixed thread count.

Runs the same step (forward, loss, backward) --repeats times per layer, dtype and shape and prints, per
parameter, how many runs differ from the first bitwise and the largest relative difference. The weight
gradients are sums over time of per-chunk products; with several threads the chunks are split between
threads, so this shows whether those sums depend on which thread ran which chunk.

    python bench/determinism_probe.py --threads 2 --repeats 8 --shapes 50x32x64x128,100x32x128x256
"""
import argparse

import numpy as np

import tinygrad_rnn as tr

LAYERS = {
    "lstm": lambda i, h, dt, ck: tr.nn.LSTM(i, h, dtype=dt, checkpoint=ck),
    "gru": lambda i, h, dt, ck: tr.nn.GRU(i, h, dtype=dt, checkpoint=ck),
    "rnn": lambda i, h, dt, ck: tr.nn.RNN(i, h, dtype=dt, checkpoint=ck),
    "recurrent_lstmcell": lambda i, h, dt, ck: tr.nn.Recurrent(tr.nn.LSTMCell, i, h, dtype=dt, checkpoint=ck),
}


def step_grads(layer, x):
    """One step's parameter gradients (copies), from fresh zeroed gradients."""
    layer.zero_grad()
    out, _ = layer(tr.Tensor(x))
    (out * out).sum().backward()
    return [p.grad.numpy().copy() for p in layer.parameters()]


def probe(kind, shape, dtype, checkpoint, repeats):
    T, B, I, H = shape
    tr.manual_seed(0)
    layer = LAYERS[kind](I, H, dtype, checkpoint)
    x = np.random.default_rng(0).uniform(-1, 1, (T, B, I)).astype(dtype)
    first = step_grads(layer, x)
    differ = [0] * len(first)
    worst = [0.0] * len(first)
    for _ in range(repeats - 1):
        for i, (g, g0) in enumerate(zip(step_grads(layer, x), first)):
            if not np.array_equal(g, g0):
                differ[i] += 1
                worst[i] = max(worst[i], float(np.max(np.abs(g - g0)) / max(np.max(np.abs(g0)), 1e-300)))
    names = [n for n, _ in layer.named_parameters()]
    bad = [f"{n}: {d}/{repeats - 1} runs differ (rel {w:.1e})" for n, d, w in zip(names, differ, worst) if d]
    print(f"{kind:20s} {'x'.join(map(str, shape)):16s} {np.dtype(dtype).name:8s} checkpoint={checkpoint!s:5s} "
          + ("bitwise equal" if not bad else "; ".join(bad)), flush=True)
    return not bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--shapes", default="50x32x64x128,100x32x128x256")
    ap.add_argument("--kinds", default=",".join(LAYERS))
    args = ap.parse_args()
    tr.set_num_threads(args.threads)
    print(f"threads {tr.get_num_threads() if hasattr(tr, 'get_num_threads') else args.threads}, "
          f"{args.repeats} runs each")
    ok = True
    for shape in args.shapes.split(","):
        for kind in args.kinds.split(","):
            for dtype in (np.float32, np.float64):
                for checkpoint in (None, True):
                    ok &= probe(kind, tuple(int(s) for s in shape.split("x")), dtype, checkpoint, args.repeats)
    print("all bitwise equal" if ok else "SOME GRADIENTS DIFFER")


if __name__ == "__main__":
    main()
