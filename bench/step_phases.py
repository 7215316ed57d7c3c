"""Where the char-LM training step's time goes, phase by phase, tinygrad_rnn beside torch: a developer's probe.

    python bench/step_phases.py charlm-demo --threads 1
    python bench/step_phases.py charlm-2x512 --threads 2 --steps 5 --rounds 3 --cpu

Times the steps of bench/models.py themselves (their `mark=` hook) in phases: embedding, recurrent layer,
linear, cross_entropy forward, zero_grad, backward (the recurrent layer's share of it apart), clipping and
the optimizer. Each library runs in its own process, the two taking turns for --rounds rounds of --steps
steps (after 5 untimed ones); printed: the median per phase over all steps, milliseconds, and the total
outside the recurrent layer. --cpu takes the process's CPU time instead of wall time: on a machine shared
with other work a phase's wall time includes what others ran meanwhile, its CPU time does not (at more
than one thread the CPU time adds up the threads, so it is no longer a duration).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LAYER = "recurrent layer"


def run_worker(model_name, library, steps, cpu):
    """In the worker process: build the library's step and time its phases; print {phase: [ms, ...]}."""
    sys.path.insert(0, ROOT)

    from bench import models
    clock = time.process_time if cpu else time.perf_counter
    model = models.MODELS[model_name]
    weights, ids, targets = models.make_inputs(model)
    times, last = {}, [0.0]

    def mark(phase):
        now = clock()
        times.setdefault(phase, []).append((now - last[0]) * 1e3)
        last[0] = now

    layer_backward = []
    if library == "tinygrad_rnn":   # the recurrent layer's share of backward: its node's backward, timed
        from tinygrad_rnn.compile import node
        kernel_backward = node.CompiledRecurrence.backward

        def timed_backward(*args, **kwargs):
            start = clock()
            result = kernel_backward(*args, **kwargs)
            layer_backward[-1] += (clock() - start) * 1e3
            return result
        node.CompiledRecurrence.backward = staticmethod(timed_backward)
    runner = models.LIBRARIES[library](model, weights, ids, targets, mark=mark)
    for n in range(5 + steps):
        if n == 5:
            times.clear()
        layer_backward.append(0.0)
        last[0] = clock()
        runner.step()
    if library == "tinygrad_rnn":   # "backward" is then the rest of backward, as torch's below
        times["backward: recurrent layer"] = layer_backward[5:]
        times["backward"] = [b - r for b, r in zip(times["backward"], layer_backward[5:])]
    else:                           # torch's hooks split backward in three: the layer's share and the rest
        times["backward"] = [a + b for a, b in zip(times.pop("backward: to the recurrent layer"), times["backward"])]
    print(json.dumps({phase: [float(t) for t in ts] for phase, ts in times.items()}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", default="charlm-demo")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=30, help="timed steps per round and library (default 30)")
    p.add_argument("--rounds", type=int, default=3, help="rounds, the libraries taking turns (default 3)")
    p.add_argument("--cpu", action="store_true", help="CPU time of the process instead of wall time")
    p.add_argument("--libraries", default="tinygrad_rnn,torch")
    p.add_argument("--worker", help=argparse.SUPPRESS)   # set on the worker processes: the library
    args = p.parse_args()
    if args.worker:
        run_worker(args.model, args.worker, args.steps, args.cpu)
        return
    sys.path.insert(0, ROOT)
    import numpy as np

    from bench import measure
    env = dict(os.environ, **measure.thread_env(args.threads))
    libraries, merged = args.libraries.split(","), {}
    for r in range(args.rounds):
        for lib in libraries[r % len(libraries):] + libraries[:r % len(libraries)]:
            command = [sys.executable, __file__, args.model, "--worker", lib, "--steps", str(args.steps)]
            command += ["--cpu"] if args.cpu else []
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True,
                                 preexec_fn=lambda: measure.pin(args.threads)).stdout
            for phase, ts in json.loads(out.splitlines()[-1]).items():
                merged.setdefault(lib, {}).setdefault(phase, []).extend(ts)
    phases = list(dict.fromkeys(ph for lib in libraries for ph in merged[lib]))
    print(f"{args.model}, {args.threads} thread(s), {'CPU' if args.cpu else 'wall'} time, median ms over "
          f"{args.rounds} x {args.steps} steps per library (load average {os.getloadavg()[0]:.1f})")
    print(f"{'phase':34s}" + "".join(f"{lib:>14s}" for lib in libraries))
    totals = {lib: {ph: float(np.median(ts)) for ph, ts in merged[lib].items()} for lib in libraries}
    for ph in phases:
        print(f"{ph:34s}" + "".join(f"{totals[lib].get(ph, float('nan')):14.3f}" for lib in libraries))
    layer = [LAYER, "backward: " + LAYER]
    print(f"{'sum outside the recurrent layer':34s}"
          + "".join(f"{sum(v for ph, v in totals[lib].items() if ph not in layer):14.3f}" for lib in libraries))
    print(f"{'sum of all phases':34s}" + "".join(f"{sum(totals[lib].values()):14.3f}" for lib in libraries))


if __name__ == "__main__":
    main()
