"""python -m bench: time one RNN training step for every peer, write RESULTS.md and results.png.

    python -m bench                      the full benchmark (5 shapes x 3 cells x 7 peers, 2 char-LM models,
                                         at 1 thread and at all cores, then thread scaling)
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
    p.add_argument("--threads", default="1,all",
                   help="comma-separated thread counts; each is a run with every peer at that count "
                        "('all' = every usable CPU; default 1,all: see bench/README.md)")
    p.add_argument("--models", default="charlm-demo,charlm-2x512",
                   help="end-to-end cases, the char-LM training step (bench/models.py), or 'none'")
    p.add_argument("--libraries", default="tinygrad_rnn,torch,jax", help="libraries of the end-to-end cases")
    p.add_argument("--scaling", default="lstm:100x32x128x256,charlm-demo",
                   help="thread-scaling cases, timed at 1, 2, ... all threads for torch.nn and the fused path: "
                        "cell:TxBxIxH or a model name, comma-separated, or 'none'")
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
    usable = len(os.sched_getaffinity(0))
    try:
        args.threads = sorted({usable if t == "all" else int(t) for t in args.threads.split(",")})
    except ValueError:
        p.error(f"--threads: comma-separated positive ints or 'all', got {args.threads!r}")
    if args.threads[0] < 1:
        p.error("--threads: counts must be >= 1")
    from bench import models
    none = ("", "none")
    args.models = [] if args.models in none or args.quick else args.models.split(",")
    args.libraries = args.libraries.split(",")
    args.scaling = [] if args.scaling in none or args.quick else args.scaling.split(",")
    for name in args.models + [c for c in args.scaling if ":" not in c]:
        if name not in models.MODELS:
            p.error(f"unknown model {name!r}; known: {', '.join(models.MODELS)}")
    args.scaling = [(c.split(":")[0], parse_shape(c.split(":")[1])) if ":" in c else c for c in args.scaling]
    args.max_threads = usable
    if args.out is None and not args.quick:
        args.out = os.path.join(HERE, "RESULTS.md")
    return args


class Run:
    """One benchmark run: the options, the results as they accumulate (`data`, what results.json holds)
    and where they are written. measure and report are the bench modules, imported once the thread
    count is fixed."""

    def __init__(self, args, argv, usable_cpus, measure, report):
        self.args, self.measure, self.report = args, measure, report
        n, repeats = 2048, 5
        self.data = {
            "command": " ".join(["python -m bench", *argv]),
            # machine.threads stays one number (the first count) for readers of older results.json files;
            # each case says its own count, and thread_counts lists them all
            "machine": dict(report.machine_info(args.threads[0], usable_cpus), thread_counts=args.threads),
            "peak": {"gflops": None, "by_lib": {}, "by_threads": {}, "n": n, "repeats": repeats, "measurements": 0},
            "options": {"rounds": args.rounds, "repeats": args.repeats, "cap_s": args.cap, "budget_s": args.budget},
            "cases": [], "e2e": [], "scaling": [],
        }
        self.opts = (args.rounds, args.repeats, args.cap, args.budget)
        self.out_dir = os.path.dirname(os.path.abspath(args.out)) if args.out else None
        if self.out_dir:
            os.makedirs(self.out_dir, exist_ok=True)

    @staticmethod
    def log(s):
        print(s, flush=True)

    def measure_peak(self, threads):
        """GEMM peak at this thread count, again before every shape: the best seen is the machine's.

        On a shared machine one measurement may land in a busy moment; the maximum over the whole
        run is the fairest denominator for '% of peak' (a momentary dip would inflate every %).
        """
        data, peak = self.data, self.data["peak"]
        by_lib = peak["by_threads"].setdefault(str(threads), {})
        for lib in ("numpy", "torch"):
            g = self.measure.gemm_peak(lib, threads, peak["n"], peak["repeats"])
            if g:
                by_lib[lib] = max(by_lib.get(lib, 0.0), g)
        peak["measurements"] += 1
        if threads > 1:
            control = self.measure.parallel_control(threads)
            if control:
                data.setdefault("control", {}).setdefault(str(threads), []).append(round(control, 2))
                print(f"parallel control at {threads} threads: {control:.2f}x", flush=True)
        if threads == self.args.threads[0]:   # the back-compatible fields: the first (smallest) count
            peak["by_lib"], peak["gflops"] = by_lib, max(by_lib.values(), default=None)
        print(f"GEMM peak so far at {threads} thread(s): " + ", ".join(f"{k} {v:.1f} GFLOP/s"
                                                                  for k, v in by_lib.items()), flush=True)

    def save(self, png=False):  # after every case, so a long run that is stopped keeps what it measured
        if self.args.out:
            self.report.write(self.data, self.args.out, os.path.join(self.out_dir, "results.json"),
                              os.path.join(self.out_dir, "results.png") if png and not self.args.no_plot else None)

    def cases(self, threads):
        """Every cell at every shape, then the end-to-end models, at one thread count."""
        args, measure, report, data = self.args, self.measure, self.report, self.data
        for shape in args.shapes:
            self.measure_peak(threads)
            for cell in args.cells:
                case = {"cell": cell, "shape": list(shape), "threads": threads}
                print(f"\n{report.case_title(case)}", flush=True)
                case["results"] = measure.run_case(cell, shape, args.peers, threads, *self.opts, log=self.log)
                data["cases"].append(case)
                print(report.markdown_table(case, report.peak_for(data, threads)), flush=True)
                self.save()
        for model in args.models:
            case = {"model": model, "threads": threads}
            print(f"\n{report.case_title(case)}", flush=True)
            case["results"] = measure.run_model_case(model, args.libraries, threads, *self.opts, log=self.log)
            data["e2e"].append(case)
            print(report.e2e_table(data, [case]), flush=True)
            self.save()

    def scaling(self):
        """1, 2, ... all threads for torch.nn and the fused path, skipping counts the main run measured."""
        args = self.args
        for what in args.scaling:
            measured = (what in args.models if isinstance(what, str)
                        else what[0] in args.cells and tuple(what[1]) in map(tuple, args.shapes))
            for threads in range(1, args.max_threads + 1):
                if measured and threads in args.threads:   # the main run has it already
                    continue
                self._scaling_case(what, threads)
        if args.scaling:
            print(self.report.scaling_table(self.data), flush=True)

    def _scaling_case(self, what, threads):
        measure = self.measure
        if isinstance(what, str):
            case = {"model": what, "threads": threads}
            case["results"] = measure.run_model_case(what, ["tinygrad_rnn", "torch"], threads, *self.opts,
                                                     log=self.log)
        else:
            case = {"cell": what[0], "shape": list(what[1]), "threads": threads}
            case["results"] = measure.run_case(what[0], what[1], ["tinygrad_rnn-fused", "torch-nn"], threads,
                                               *self.opts, log=self.log)
        print(f"\nscaling: {self.report.case_title(case)}", flush=True)
        self.data["scaling"].append(case)
        self.save()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    usable_cpus = len(os.sched_getaffinity(0))  # before pin() narrows it
    from bench import measure
    os.environ.update(measure.thread_env(max(args.threads)))  # before numpy is imported below
    measure.pin(max(args.threads))
    from bench import check, report

    if args.check:
        return 0 if check.run_check(args.cells, args.peers) else 1

    started = time.time()
    run = Run(args, argv, usable_cpus, measure, report)
    for threads in args.threads:
        run.cases(threads)
    run.scaling()
    run.measure_peak(args.threads[0])
    run.data["machine"]["load_end"] = os.getloadavg()
    run.save(png=True)
    print(f"\ndone in {time.time() - started:.0f} s" + (f"; wrote {args.out}" if args.out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
