"""One generated function of a tiny layer, as another checkout generates it against as this one does: a probe.

    python bench/kernel_source_ab.py --against /work/main --layer peephole --function forward
    python bench/kernel_source_ab.py --against /work/main --layer layernorm --function backward --rounds 60

For a change to the code generator (compile/): both checkouts write the layer's kernel source
(`layer.kernel_source()`, the other one in a subprocess with its own path), both are compiled here, and both
run on the same arguments (those of the function's first call in one training step of this checkout's layer,
float32, 1 thread; bench/kernel_calls.py captures them). Paired: each round times A, B, B, A (--calls calls
each, CPU time of this thread), and the median of the rounds' differences B - A is printed with its
quartiles, so that a busy machine's slow phases hit both alike. The two functions must take the same
arguments, unless --own-args: for a change that adds, drops or merges arguments, each function then runs
on the arguments its own checkout's layer passes it (both captured alike, in a subprocess with that
checkout's path, on the same input; the layer's parameters are drawn from the same seed: arrays captured in
this process instead ran the same function 0.5 us faster at 20x1x10x20 than ones from a subprocess).
--shared-args: as --own-args, but every argument both functions take under one name is the same array
(this checkout's), so only the added or dropped arguments differ: the A/B of an argument list change.
Run it several times (and with --b-first, which compiles and loads B before A): the peephole LSTM's forward
at 20x1x10x20 runs in one of two speeds per process and module, about 5.9 or 6.9 us, whatever its source (an
argument dropped, issue 12, 2026-12-02: B - A of six runs -0.08, -0.02, +0.11, +0.77, +1.02, +1.12 us); an
array argument's dispatch is 0.06 us.

--layout-control: B is A's own function with a never-taken branch at its top: the same work, its machine
code placed elsewhere. At 20x1x10x20 (float32, 1 thread) that alone made the layer-norm LSTM's backward 1.6 us
slower (of 10; its forward +0.1 us), and the forward with the per-row sums in one buffer M 0.9 us faster (of 9):
a difference of that size between two sources need not be the code's doing (compare whole steps too).
"""
import argparse
import importlib.util
import inspect
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--against", required=True, help="the other checkout's root (A); this one is B")
ap.add_argument("--layer", default="peephole", choices=("rnn", "lstm", "peephole", "layernorm"))
ap.add_argument("--function", default="forward", choices=("project", "forward", "backward", "grads"))
ap.add_argument("--shape", default="20x1x10x20", help="TxBxIxH")
ap.add_argument("--rounds", type=int, default=60)
ap.add_argument("--calls", type=int, default=500)
ap.add_argument("--own-args", action="store_true",
                help="each function on its own checkout's arguments (for a change to the argument list)")
ap.add_argument("--shared-args", action="store_true",
                help="as --own-args, but every argument both functions name is this checkout's array (by name)")
ap.add_argument("--b-first", action="store_true", help="compile and load B before A (see the docstring)")
ap.add_argument("--layout-control", action="store_true",
                help="B is A's function with a never-taken branch first (the noise of code placement)")
ARGS = ap.parse_args() if __name__ == "__main__" else None   # (tests import shifted() alone)
if ARGS is not None:
    ARGS.own_args = ARGS.own_args or ARGS.layout_control or ARGS.shared_args   # (A runs on its own checkout's args)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
import tinygrad_rnn as tr  # noqa: E402

MAKE = {"rnn": "tr.nn.RNN(I, H, dtype=np.float32)",
        "lstm": "tr.nn.LSTM(I, H, dtype=np.float32)",
        "peephole": "tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=np.float32)",
        "layernorm": "tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, I, H, dtype=np.float32)"}
SOURCE = """import sys
sys.path.insert(0, {root!r})
import numpy as np
import tinygrad_rnn as tr
I, H = {I}, {H}
print(({make}).kernel_source())
"""


CAPTURE = """import sys, pickle
sys.path.insert(0, {root!r})
sys.argv[1:] = []
import numpy as np
import tinygrad_rnn as tr
from bench.kernel_calls import captured_calls
T, B, I, H = {shape}
np.random.seed(0)
x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
_, args = captured_calls({make}, x)[{function!r}]
with open({path!r}, "wb") as f:
    pickle.dump(tuple(args), f)
"""


def args_of(root, shape, folder):
    """The --function's arguments in one training step of the layer as the checkout at `root` runs it."""
    path = os.path.join(folder, "args.pickle")
    code = CAPTURE.format(root=root, shape=shape, make=MAKE[ARGS.layer], function=ARGS.function, path=path)
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=root))
    with open(path, "rb") as f:
        return tuple(aligned(a) for a in pickle.load(f))


def aligned(a, to=64):
    """A copy of array `a` starting at a multiple of `to` bytes, as the workspace's buffers do (kernels/workspace.py);
    unpickled arrays start anywhere, and where the vector loads start moves a loop's time by tenths of a us."""
    if not isinstance(a, np.ndarray):
        return a
    raw = np.empty(a.nbytes + to, np.uint8)
    start = -raw.ctypes.data % to
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


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


def shifted(source, function):
    """source with a never-taken branch at the top of `function`: the same work, the code after it moved.
    The branch tests the function's last argument, a row or batch bound in every generated function (b1 in
    forward and backward, b in project and grads): an argument, so Numba cannot drop the branch."""
    match = re.search(rf"^def {function}\((.*?)\):\n", source, re.MULTILINE | re.DOTALL)
    bound = [name.strip() for name in match.group(1).split(",") if name.strip()][-1]
    branch = f"    if {bound} < -1:   # (never: --layout-control)\n        raise ValueError({bound})\n"
    return source[:match.end()] + branch + source[match.end():]


def shared(a, args_a, b, args_b):
    """A's arguments with each array that B's function takes under the same name replaced by B's (this
    checkout's): only the arguments the change adds or drops come from A's capture. Arrays captured in two
    processes sit at different addresses, and that alone moved the peephole's forward by +0.5 to -0.2 us
    from run to run (20x1x10x20), ten times an argument's dispatch."""
    names_a = list(inspect.signature(a.py_func).parameters)
    by_name = dict(zip(inspect.signature(b.py_func).parameters, args_b))
    return tuple(by_name[n] if isinstance(v, np.ndarray) and isinstance(by_name.get(n), np.ndarray) else v
                 for n, v in zip(names_a, args_a))


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
    np.random.seed(0)
    _, args = captured_calls(eval(MAKE[ARGS.layer]), x)[ARGS.function]
    args_b = args_a = args
    with tempfile.TemporaryDirectory() as folder:
        if ARGS.own_args:
            args_a = args_of(os.path.abspath(ARGS.against), (T, B, I, H), folder)
            args_b = args_of(HERE, (T, B, I, H), folder)
        source_a = source_of(os.path.abspath(ARGS.against), I, H)
        if ARGS.layout_control:
            source_b, args_b = shifted(source_a, ARGS.function), args_a
        else:
            source_b = source_of(HERE, I, H)
        if ARGS.b_first:
            b = compiled(source_b, folder, "kernel_b")
            a = compiled(source_a, folder, "kernel_a")
        else:
            a = compiled(source_a, folder, "kernel_a")
            b = compiled(source_b, folder, "kernel_b")
        if ARGS.shared_args:
            args_a = shared(a, args_a, b, args_b)
        for fn, args in ((b, args_b), (a, args_a)) if ARGS.b_first else ((a, args_a), (b, args_b)):
            fn(*args)   # (compiles it)
        ta, tb = [], []
        for _ in range(ARGS.rounds):
            a1, b1 = per_call_us(a, args_a), per_call_us(b, args_b)
            b2, a2 = per_call_us(b, args_b), per_call_us(a, args_a)
            ta.append((a1 + a2) / 2)
            tb.append((b1 + b2) / 2)
    diff = sorted(q - p for p, q in zip(ta, tb))
    n = len(diff)
    print(f"{ARGS.layer} {ARGS.function} at {ARGS.shape}, float32, 1 thread, {ARGS.rounds} rounds A B B A x "
          f"{ARGS.calls} calls: A {sorted(ta)[n // 2]:.2f} us, B {sorted(tb)[n // 2]:.2f} us, B - A median "
          f"{diff[n // 2]:+.2f} us (p25 {diff[n // 4]:+.2f}, p75 {diff[3 * n // 4]:+.2f})")


if __name__ == "__main__":
    main()
