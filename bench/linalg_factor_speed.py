"""tr.linalg's LU, LDL and triangular solves against torch's: lu_factor, ldl_factor, solve_triangular and lu_solve
on float64 (batch, n, n) matrices, n = 64, 256, 512, batch 1 and 16; a developer's probe.

    python bench/linalg_factor_speed.py                       # tr and torch, 1 and 2 threads, each in its own process
    python bench/linalg_factor_speed.py --ours ../main        # tr imported from another checkout (e.g. before a change)
    python bench/linalg_factor_speed.py --sizes 64,256 --libs tr

A: standard normal (lu_factor), its symmetric part (ldl_factor), its lower triangle plus n on the diagonal
(solve_triangular, lower); B (batch, n, 8). lu_solve solves from lu_factor's result, computed beforehand. Per case,
after one warm-up call (Numba's compile or cache load), calls are timed until 7 samples or 2 s (at least 3);
printed: the median per call of the process CPU time and of the wall time, in ms, and ours / torch of each.
Each library and thread count runs in a process of its own (tr.set_num_threads / torch.set_num_threads, and the
BLAS/OpenMP environment variables).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS = ("lu_factor", "ldl_factor", "solve_triangular", "lu_solve")
RHS = 8


def inputs(np, n, batch):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, n, n))
    return {"general": a, "symmetric": a + a.transpose(0, 2, 1),
            "lower": np.tril(a) + n * np.eye(n), "rhs": rng.standard_normal((batch, n, RHS))}


def calls(lib, data):
    """op -> a function of no arguments running it once."""
    if lib == "torch":
        import torch as m
        t = {k: m.tensor(v) for k, v in data.items()}
    else:
        import tinygrad_rnn as m
        t = {k: m.tensor(v) for k, v in data.items()}
    lu, pivots = m.linalg.lu_factor(t["general"])
    return {"lu_factor": lambda: m.linalg.lu_factor(t["general"]),
            "ldl_factor": lambda: m.linalg.ldl_factor(t["symmetric"]),
            "solve_triangular": lambda: m.linalg.solve_triangular(t["lower"], t["rhs"], upper=False),
            "lu_solve": lambda: m.linalg.lu_solve(lu, pivots, t["rhs"])}


def time_one(call):
    call()
    cpu, wall, start = [], [], time.perf_counter()
    while len(cpu) < 3 or (len(cpu) < 7 and time.perf_counter() - start < 2):
        c0, w0 = time.process_time(), time.perf_counter()
        call()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu) * 1e3, statistics.median(wall) * 1e3


def worker(args):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, os.path.abspath(args.ours))
    import numpy as np
    if args.worker == "torch":
        import torch
        torch.set_num_threads(args.threads)
    else:
        import tinygrad_rnn as tr
        tr.set_num_threads(args.threads)
    for n in args.sizes:
        for batch in args.batches:
            ops = calls(args.worker, inputs(np, n, batch))
            for op in OPS:
                cpu, wall = time_one(ops[op])
                print(json.dumps({"op": op, "n": n, "batch": batch, "cpu": cpu, "wall": wall}), flush=True)


def run(lib, threads, args):
    command = [sys.executable, __file__, "--worker", lib, "--threads", str(threads), "--ours", args.ours,
               "--sizes", ",".join(map(str, args.sizes)), "--batches", ",".join(map(str, args.batches))]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {(r["op"], r["n"], r["batch"]): r for r in map(json.loads, out.splitlines())}


def main(args):
    for threads in args.thread_counts:
        results = {lib: run(lib, threads, args) for lib in args.libs}
        print(f"\n{threads} thread(s); ms per call, median: process CPU / wall")
        ratio = " | tr / torch (CPU, wall) |" if len(args.libs) == 2 else " |"
        print("| op | n | batch | " + " | ".join(args.libs) + ratio)
        print("|---" * (3 + len(args.libs) + (len(args.libs) == 2)) + "|")
        for key in results[args.libs[0]]:
            cells = [f"{results[lib][key]['cpu']:.2f} / {results[lib][key]['wall']:.2f}" for lib in args.libs]
            if len(args.libs) == 2:
                ours, theirs = results["tr"][key], results["torch"][key]
                cells.append(f"{ours['cpu'] / theirs['cpu']:.2f}, {ours['wall'] / theirs['wall']:.2f}")
            print(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + " |", flush=True)


def integers(text):
    return [int(x) for x in text.split(",")]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", default=HERE, help="the checkout whose tinygrad_rnn is timed (default: this one)")
    ap.add_argument("--libs", default="tr,torch", type=lambda s: s.split(","))
    ap.add_argument("--thread-counts", default=[1, 2], type=integers)
    ap.add_argument("--sizes", default=[64, 256, 512], type=integers)
    ap.add_argument("--batches", default=[1, 16], type=integers)
    ap.add_argument("--worker", choices=("tr", "torch"), help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ARGS = ap.parse_args()
    if ARGS.worker:
        worker(ARGS)
    else:
        main(ARGS)
