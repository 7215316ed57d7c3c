"""One generated function of a tiny layer, as another checkout generates it against as this one does: a probe.

    python bench/kernel_source_ab.py --against /work/main --layer peephole --function forward
    python bench/kernel_source_ab.py --against /work/main --layer layernorm --function backward --rounds 60

For a change to the code generator (compile/): both checkouts write the layer's kernel source
(`layer.kernel_source()`, the other one in a subprocess with its own path), both are compiled here, and both
run on the same arguments (those of the function's first call in one training step of this checkout's layer,
float32, 1 thread; bench/kernel_calls.py captures them). Paired: each round times A, B, B, A (--calls calls
each, CPU time of this thread), and the median of the rounds' differences B - A is printed with its
quartiles, so that a busy machine's slow phases hit both alike. The two functions must take the same
arguments (a change that adds or drops one cannot be compared so).
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--against", required=True, help="the other checkout's root (A); this one is B")
ap.add_argument("--layer", default="peephole", choices=("lstm", "peephole", "layernorm"))
ap.add_argument("--function", default="forward", choices=("project", "forward", "backward", "grads"))
ap.add_argument("--shape", default="20x1x10x20", help="TxBxIxH")
ap.add_argument("--rounds", type=int, default=60)
ap.add_argument("--calls", type=int, default=500)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
import tinygrad_rnn as tr  # noqa: E402

MAKE = {"lstm": "tr.nn.LSTM(I, H, dtype=np.float32)",
        "peephole": "tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=np.float32)",
        "layernorm": "tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=np.float32)"}
SOURCE = """import sys
sys.path.insert(0, {root!r})
import numpy as np
import tinygrad_rnn as tr
I, H = {I}, {H}
print(({make}).kernel_source())
"""


def source_of(root, I, H):
    """The layer's generated source as the checkout at `root` writes it (a fresh process: its own package)."""
    code = SOURCE.format(root=root, I=I, H=H, make=MAKE[ARGS.layer])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=root))
    return done.stdout


def compiled(source, folder, name):
    """The --function of `source`, written to folder/name.py and compiled by Numba (at its first call)."""
    path = os.path.join(folder, name + ".py")
    with open(path, "w") as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, ARGS.function)


def per_call_us(fn, args):
    t0 = time.thread_time_ns()
    for _ in range(ARGS.calls):
        fn(*args)
    return (time.thread_time_ns() - t0) / ARGS.calls / 1000


def main():
    sys.argv[1:] = []   # kernel_calls reads its own options when imported: its defaults, not ours
    from bench.kernel_calls import captured_calls
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    _, args = captured_calls(eval(MAKE[ARGS.layer]), x)[ARGS.function]
    with tempfile.TemporaryDirectory() as folder:
        a = compiled(source_of(os.path.abspath(ARGS.against), I, H), folder, "kernel_a")
        b = compiled(source_of(HERE, I, H), folder, "kernel_b")
        a(*args), b(*args)   # (compiles both)
        ta, tb = [], []
        for _ in range(ARGS.rounds):
            a1, b1, b2, a2 = per_call_us(a, args), per_call_us(b, args), per_call_us(b, args), per_call_us(a, args)
            ta.append((a1 + a2) / 2)
            tb.append((b1 + b2) / 2)
    diff = sorted(q - p for p, q in zip(ta, tb))
    n = len(diff)
    print(f"{ARGS.layer} {ARGS.function} at {ARGS.shape}, float32, 1 thread, {ARGS.rounds} rounds A B B A x "
          f"{ARGS.calls} calls: A {sorted(ta)[n // 2]:.2f} us, B {sorted(tb)[n // 2]:.2f} us, B - A median "
          f"{diff[n // 2]:+.2f} us (p25 {diff[n // 4]:+.2f}, p75 {diff[3 * n // 4]:+.2f})")


if __name__ == "__main__":
    main()
