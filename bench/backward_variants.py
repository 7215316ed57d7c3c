"""The generated backward loop alone, against hand-edited copies of its module: a developer's probe for
trying a change to codegen.py's output before writing the generator for it.

    python bench/backward_variants.py layernorm 50x32x64x128 --dump /tmp/base.py   # write the module, exit
    (edit a copy of /tmp/base.py: its `backward`, say, into /tmp/try.py)
    python bench/backward_variants.py layernorm 50x32x64x128 /tmp/try.py --rounds 25

(Against another checkout's generated code: dump with that checkout's copy of this script, which imports
its own tinygrad_rnn, then pass the file here.)

Runs one training step of the layer (1 thread, float32, as python -m bench's: loss = the sum of the
outputs) and keeps a copy of the arguments its backward loop was called with; then calls `backward` of the
library's generated module and of each given file on fresh copies of them, in turns, for --rounds rounds.
Prints the median and p25 CPU time (time.thread_time) of one call, and the largest difference of any array
the call wrote from the generated module's: 0 when a variant computes exactly the same numbers. A variant
that drops work (to see what it costs) shows how much it changes. Asserts nothing.
"""
import importlib.util
import os
import sys
import tempfile
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from bench.kernel_phases import LAYERS, cell_shape_parser  # noqa: E402
from tinygrad_rnn.compile import node  # noqa: E402


def captured_backward(layer, x):
    """(the generated module, the arguments of its backward loop's call) from one training step."""
    seen = {}
    run = node.runtime.run_on_batch_blocks

    def spy(loop, batch, *args):
        if getattr(loop, "__name__", "") == "backward":
            seen["module"] = sys.modules[loop.__module__]
            seen["args"] = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        return run(loop, batch, *args)

    node.runtime.run_on_batch_blocks = spy
    try:
        out, _ = layer(x)
        out.sum().backward()
    finally:
        node.runtime.run_on_batch_blocks = run
    return seen["module"], seen["args"]


def load(path, k):
    """A variant's module, imported from a copy in a temporary directory (Numba compiles it anew)."""
    directory = tempfile.mkdtemp(prefix="backward_variant_")
    copy = os.path.join(directory, f"variant{k}.py")
    with open(path) as src, open(copy, "w") as dst:
        dst.write(src.read())
    spec = importlib.util.spec_from_file_location(f"backward_variant{k}", copy)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    p = cell_shape_parser(__doc__)
    p.add_argument("variants", nargs="*", help="edited copies of the generated module")
    p.add_argument("--dump", help="write the generated module's source here and exit")
    p.add_argument("--rounds", type=int, default=15)
    a = p.parse_args()
    T, B, I, H = (int(v) for v in a.shape.split("x"))
    layer = LAYERS[a.cell](I, H, dtype=np.float32)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    module, args = captured_backward(layer, x)
    if a.dump:
        with open(module.__file__) as src, open(a.dump, "w") as dst:
            dst.write(src.read())
        return
    modules = [("generated", module)] + [(path, load(path, k)) for k, path in enumerate(a.variants)]
    times, results = {name: [] for name, _ in modules}, {}
    for _ in range(a.rounds):
        for name, m in modules:
            fresh = [v.copy() if isinstance(v, np.ndarray) else v for v in args]
            t0 = time.thread_time()
            m.backward(*fresh, 0, B)
            times[name].append(time.thread_time() - t0)
            results[name] = fresh
    print(f"{a.cell} {a.shape}: backward loop, 1 thread, CPU ms per call over {a.rounds} rounds")
    for name, _ in modules:
        diff = max([float(np.max(np.abs(u - v))) for u, v in zip(results["generated"], results[name])
                    if isinstance(u, np.ndarray) and u.size] + [0.0])
        ms = 1e3 * np.array(times[name])
        print(f"  {name:40s} median {np.median(ms):7.3f}  p25 {np.percentile(ms, 25):7.3f}  max difference {diff:.2e}")


if __name__ == "__main__":
    main()
