"""python -m bench: time one RNN training step for every peer, write RESULTS.md and results.png.

    python -m bench                      the full benchmark (5 shapes x 3 cells x 7 peers)
    python -m bench --quick              two small shapes, few repeats, prints only
    python -m bench --check              gradients of every peer vs torch.nn, no timing
    python -m bench --cells lstm --shapes 100x32x128x256 --peers torch-nn,jax-scan

Only the standard library is imported before the thread count is fixed: numpy, torch and
friends size their thread pools when first imported, so the environment must come first.
"""
import argparse
import os
import sys
import time

SHAPES = [(50, 32, 64, 128), (100, 32, 128, 256), (100, 64, 256, 512), (20, 1, 10, 20), (1000, 8, 32, 64)]
QUICK_SHAPES = [(20, 1, 10, 20), (50, 32, 64, 128)]
HERE = os.path.dirname(os.path.abspath(__file__))


def parse_shape(text):
    dims = tuple(int(d) for d in text.lower().split("x"))
    if len(dims) != 4:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not TxBxIxH")
    return dims


def parse_args(argv):
    from bench import peers  # stdlib-only until make_inputs is called: safe before pinning
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0].split(": ", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", help="comma-separated TxBxIxH (default: the five of the issue)")
    p.add_argument("--cells", default=",".join(peers.CELLS), help="comma-separated, of: " + ", ".join(peers.CELLS))
    p.add_argument("--peers", default=",".join(peers.PEERS), help="comma-separated, of: " + ", ".join(peers.PEERS))
    p.add_argument("--rounds", type=int, default=5, help="round-robin rounds over the peers (default 5)")
    p.add_argument("--repeats", type=int, default=5, help="timed steps per peer per round, at most (default 5)")
    p.add_argument("--budget", type=float, default=20.0,
                   help="seconds of timed steps per peer and case; slow peers get fewer repeats (default 20)")
    p.add_argument("--cap", type=float, default=20.0,
                   help="a peer whose one step takes longer is not repeated: 1 sample, noted (default 20 s)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for every library (default 1: see bench/README.md)")
    p.add_argument("--quick", action="store_true", help="two small shapes, 2 rounds x 2 repeats, no files written")
    p.add_argument("--check", action="store_true", help="only compare every peer's gradients with torch.nn's")
    p.add_argument("--out", help="markdown report (default bench/RESULTS.md; none with --quick)")
    p.add_argument("--no-plot", action="store_true", help="do not write results.png")
    args = p.parse_args(argv)
    args.cells = args.cells.split(",")
    args.peers = args.peers.split(",")
    for name, allowed in (("cells", peers.CELLS), ("peers", peers.PEERS)):
        unknown = set(getattr(args, name)) - set(allowed)
        if unknown:
            p.error(f"unknown {name}: {', '.join(sorted(unknown))}")
    if args.quick:
        args.rounds, args.repeats, args.budget, args.cap = 2, 2, 3.0, 5.0
    args.shapes = ([parse_shape(s) for s in args.shapes.split(",")] if args.shapes
                   else QUICK_SHAPES if args.quick else SHAPES)
    if args.out is None and not args.quick:
        args.out = os.path.join(HERE, "RESULTS.md")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    usable_cpus = len(os.sched_getaffinity(0))  # before pin() narrows it
    from bench import measure
    os.environ.update(measure.thread_env(args.threads))  # before numpy is imported below
    measure.pin(args.threads)
    from bench import check, report

    if args.check:
        return 0 if check.run_check(args.cells, args.peers) else 1

    started = time.time()
    n, repeats = 2048, 5
    by_lib = {}

    def measure_peak():
        """GEMM peak, again before every shape and at the end: the best seen is the machine's.

        On a shared machine one measurement may land in a busy moment; the maximum over the whole
        run is the fairest denominator for '% of peak' (a momentary dip would inflate every %).
        """
        for lib in ("numpy", "torch"):
            g = measure.gemm_peak(lib, args.threads, n, repeats)
            if g:
                by_lib[lib] = max(by_lib.get(lib, 0.0), g)
        data["peak"]["by_lib"], data["peak"]["gflops"] = by_lib, max(by_lib.values(), default=None)
        data["peak"]["measurements"] += 1
        print("GEMM peak so far: " + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in by_lib.items()), flush=True)

    data = {
        "command": " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)]),
        "machine": report.machine_info(args.threads, usable_cpus),
        "peak": {"gflops": None, "by_lib": by_lib, "n": n, "repeats": repeats, "measurements": 0},
        "options": {"rounds": args.rounds, "repeats": args.repeats, "cap_s": args.cap, "budget_s": args.budget},
        "cases": [],
    }
    out_dir = os.path.dirname(os.path.abspath(args.out)) if args.out else None
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    for shape in args.shapes:
        measure_peak()
        for cell in args.cells:
            case = {"cell": cell, "shape": list(shape)}
            print(f"\n{report.case_title(case)}", flush=True)
            case["results"] = measure.run_case(cell, shape, args.peers, args.threads, args.rounds, args.repeats,
                                               args.cap, args.budget, log=lambda s: print(s, flush=True))
            data["cases"].append(case)
            print(report.markdown_table(case, data["peak"]["gflops"]), flush=True)
            if args.out:  # after every case, so a long run that is stopped keeps what it measured
                report.write(data, args.out, os.path.join(out_dir, "results.json"))
    measure_peak()
    data["machine"]["load_end"] = os.getloadavg()
    if args.out:
        report.write(data, args.out, os.path.join(out_dir, "results.json"),
                     None if args.no_plot else os.path.join(out_dir, "results.png"))
    print(f"\ndone in {time.time() - started:.0f} s" + (f"; wrote {args.out}" if args.out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
