"""The peephole LSTM's generated `grads`: its column sums' j-loops as generated (sums of one width share one
loop) against other ways of writing the same sums. A probe (compile/outside.py's _row_loop).

    python bench/grads_sums_probe.py                            # 20x1x10x20
    python bench/grads_sums_probe.py --shape 1000x8x32x64

One training step of tr.nn.Recurrent(PeepholeLSTMCell) (float32, 1 thread) runs to keep the arguments of its
`grads` call (bench/kernel_calls.py); the generated source of `grads` is then compiled in this process as
generated ("one loop") and as variants: the peephole weights' three column dots (one j-loop) split into three
j-loops ("three loops"); the row loop taking two rows per pass, so that each accumulator is read and written
once per two rows ("rows in pairs"; the sums in another order, equal to float32 rounding); the three dots
left out ("no dots": what they cost; its gradients are wrong). The weight products are switched off (need[0],
need[1], need_dx False) so that the time is the column sums' and the calls'. Printed: CPU us per call
(time.thread_time_ns), median and quartiles over --batches batches, the variants taking turns.

What it showed (issue 12, 2026-12-02, a loaded machine): 20x1x10x20 1.60 us as one loop, 1.95 us as three;
1000x8x32x64 272 us and 276 us; 50x32x64x128 111 us and 114 us. Later (peep20, 13:03, load 10): one loop /
three loops / rows in pairs / no dots: 20x1x10x20 1.58 / 1.90 / 1.66 / 1.39 us; 50x32x64x128 138 / 144 / 148
/ 62 us; 1000x8x32x64 294 / 285 / 365 / 126 us. Rows in pairs is slower at every size; the three dots cost
0.2 us of a tiny step and 0.5-1 % of a 50x32x64x128 or 1000x8x32x64 step (13-22 ms, one core).
"""
import argparse
import os
import re
import sys
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--shape", default="20x1x10x20", help="TxBxIxH")
ap.add_argument("--batches", type=int, default=11)
ARGS = ap.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import numba  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tinygrad_rnn as tr  # noqa: E402
from bench.kernel_calls import captured_calls  # noqa: E402

_DOTS = re.compile(r"( +)for j in range\((\d+)\):\n(\1    cs1.*\n)(\1    cs2.*\n)(\1    cs3.*\n)")


def variants(source):
    """{name: the module's header + one version of grads} (the header imports what grads calls)."""
    head = source[:source.index("@njit")]
    grads = re.search(r"(@njit[^\n]*\ndef grads.*?)(?=\n@njit|\Z)", source, re.S).group(1)
    m = _DOTS.search(grads)
    if m is None:
        raise SystemExit("grads_sums_probe: the generated grads has no three-sum j-loop (changed codegen?)")
    split = "".join(f"{m.group(1)}for j in range({m.group(2)}):\n{m.group(k)}" for k in (3, 4, 5))
    # (the package's njit caches to disk: these throw-away variants are compiled by plain numba.njit)
    head = head.replace("from tinygrad_rnn.kernels import njit", "njit = numba.njit")
    return {"one loop": head + grads, "three loops": head + grads.replace(m.group(0), split),
            "rows in pairs": head + grads.replace(_ROWS.search(grads).group(0), _in_pairs(_ROWS.search(grads))),
            "no dots": head + grads.replace(m.group(0), "")}


_ROWS = re.compile(r"( +)for r in range\(rows.shape\[0\]\):.*\n((?:\1    .*\n)+)")
_ADD = re.compile(r"( +)(cs\d+)\[j\] \+= (.*)$")


def _in_pairs(m):
    """The row loop taking two rows per pass (each accumulator read and written once per two rows), and
    the odd last row alone: fewer loads and stores per multiply-add, in another order of the sum."""
    ind, lines = m.group(1), m.group(2).splitlines()
    out = [f"{ind}n_rows = rows.shape[0]", f"{ind}for r in range(0, n_rows - 1, 2):",
           f"{ind}    row = rows[r]", f"{ind}    row2 = rows[r + 1]"]
    for line in lines[1:]:
        add = _ADD.match(line)
        if add is None:
            out.append(line)
            continue
        term = add.group(3)
        second = term.replace("row[", "row2[").replace("[r, ", "[r + 1, ")
        out.append(f"{add.group(1)}{add.group(2)}[j] += {term} + {second}")
    out += [f"{ind}if n_rows % 2 == 1:", f"{ind}    r = n_rows - 1"] + lines
    return "\n".join(out) + "\n"


def compiled(text):
    space = {"numba": numba}
    exec(compile(text, "grads_variant", "exec"), space)
    return space["grads"]


def main():
    T, B, I, H = (int(v) for v in ARGS.shape.split("x"))
    layer = tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, I, H, dtype=np.float32)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32))
    args = list(captured_calls(layer, x)["grads"][1])
    need = args[-5].copy()          # (grads(..., need, need_dx, assign, a, b))
    need[0] = need[1] = False
    args[-5], args[-4] = need, False
    fns = {name: compiled(text) for name, text in variants(layer.kernel_source()).items()}
    for f in fns.values():
        f(*args)
    calls = max(1, int(2e5 / (T * B * H)))
    times = {name: [] for name in fns}
    for _ in range(ARGS.batches):
        for name, f in fns.items():
            t0 = time.thread_time_ns()
            for _ in range(calls):
                f(*args)
            times[name].append((time.thread_time_ns() - t0) / calls / 1000)
    print(f"{ARGS.shape}, float32, 1 thread: peephole grads, CPU us per call (median, p25-p75 of {ARGS.batches})")
    for name, t in times.items():
        print(f"  {name:12s} {np.median(t):10.2f}  ({np.percentile(t, 25):.2f}-{np.percentile(t, 75):.2f})")


if __name__ == "__main__":
    main()
