"""Data-parallel scaling: training throughput of the demo's character model over processes and threads.

The model and loop are examples/char_lm.py's defaults (LSTM 1x128, embedding 32, batch 32 streams
x 64 characters of BPTT, Adam, gradient clipping, the pydoc_data corpus), through
DistributedDataParallel as char_lm.py runs it, including its one small all_reduce per step (the
global loss and the shared stop decision). Three configurations, the global batch always 32:

  1p x 1t   one process, one BLAS/Numba thread                     python bench/distributed.py --worker
  2p x 1t   two processes (16 streams each), one thread each        mpiexec -n 2 python ... --worker
  1p x 2t   one process with two threads                            OPENBLAS/NUMBA_NUM_THREADS=2

Each run is a fresh process (or pair): warm-up steps untimed (Numba's cache load, first touch),
then --steps timed steps between two barriers. Runs are interleaved, the order rotated every
round, so a busy phase of a shared machine hits every configuration alike; the table gives the
median over rounds of sequences per second (global batch x steps / seconds), the scaling
efficiency (throughput / (processes x threads x one process's)), the median step time, and for
2p the share of rank 0's step time spent in all_reduce (the gradient average and the loss),
waiting for the slower rank included, beside the bare cost of one gradient-sized all_reduce with
the ranks in step (after a barrier).

    python bench/distributed.py                     # 5 rounds x 150 steps (8 minutes on the loaded 2-core machine)
    python bench/distributed.py --rounds 3 --steps 60
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CONFIGS = {"1p x 1t": (1, 1), "2p x 1t": (2, 1), "1p x 2t": (1, 2)}  # name: (processes, threads each)


# ----------------------------------------------------------------------------- one run (every rank)
def worker(steps, warmup, threads):
    sys.path.insert(0, os.path.join(REPO, "examples"))
    import char_lm
    import tinygrad_rnn as tr
    from tinygrad_rnn.nn import functional as F

    tr.distributed.init_process_group()
    rank, world = tr.distributed.get_rank(), tr.distributed.get_world_size()
    tr.set_num_threads(threads)
    comm_time = [0.0]
    all_reduce = tr.distributed.all_reduce

    def timed_all_reduce(array, op="sum"):  # every collective of a step goes through all_reduce
        t0 = time.perf_counter()
        all_reduce(array, op)
        comm_time[0] += time.perf_counter() - t0

    tr.distributed.all_reduce = timed_all_reduce
    batch, seq_len = 32, 64
    text = char_lm.load_corpus()
    vocab = char_lm.Vocab.from_text(text)
    data = vocab.encode(text)
    rows = tr.distributed.shard_batch(batch)
    tr.manual_seed(0)
    model = char_lm.CharLM(len(vocab))
    ddp = tr.nn.parallel.DistributedDataParallel(model)
    optimizer = tr.optim.Adam(model.parameters(), lr=3e-3)
    state = None

    def step(k):
        nonlocal state
        x, y, new_epoch = char_lm.stream_batch(data, k, batch, seq_len)
        logits, state = ddp(x[:, rows], None if new_epoch else char_lm.detach_state(state))
        loss = F.cross_entropy(logits, y[:, rows].reshape(-1))
        model.zero_grad()
        loss.backward()
        tr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        state = char_lm.detach_state(state)
        shared = np.array([loss.item(), 0.0])
        tr.distributed.all_reduce(shared)

    for k in range(warmup):
        step(k)
    tr.distributed.barrier()
    comm_time[0] = 0.0
    start = time.perf_counter()
    for k in range(warmup, warmup + steps):
        step(k)
    tr.distributed.barrier()
    elapsed = time.perf_counter() - start
    bare = bare_all_reduce(tr, model) if world > 1 else float("nan")
    if rank == 0:
        print(json.dumps({"world": world, "threads": threads, "seconds": elapsed, "comm_seconds": comm_time[0],
                          "bare_all_reduce_s": bare, "step_s": elapsed / steps,
                          "sequences_per_s": batch * steps / elapsed}), flush=True)


def bare_all_reduce(tr, model, calls=50):
    """Median seconds of one all_reduce of a buffer as large as the gradients, the ranks in step
    (a barrier before each call): the cost of the message itself, without waiting for a slower rank."""
    buf = np.zeros(sum(p.size for p in model.parameters()) + len(list(model.parameters())), dtype=np.float32)
    times = []
    for _ in range(calls):
        tr.distributed.barrier()
        t0 = time.perf_counter()
        tr.distributed.all_reduce(buf)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ----------------------------------------------------------------------------- the comparison
def mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(here, os.X_OK):
        return here
    import shutil
    return shutil.which("mpiexec")


def run(config, steps, warmup):
    processes, threads = CONFIGS[config]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--steps", str(steps), "--warmup", str(warmup),
           "--threads", str(threads)]
    if processes > 1:
        cmd = [mpiexec(), "-n", str(processes)] + cmd
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise RuntimeError(f"{config} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(rounds, steps, warmup):
    if mpiexec() is None:
        sys.exit("no mpiexec next to the interpreter or on PATH: pip install -e \".[distributed]\"")
    names = list(CONFIGS)
    results = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            results[name].append(run(name, steps, warmup))
            print(f"round {r + 1}/{rounds} {name}: {results[name][-1]['sequences_per_s']:.0f} sequences/s",
                  file=sys.stderr, flush=True)
    table = scaling_table(results, names)
    print(f"\nchar LM (LSTM 1x128, batch 32 x 64), {rounds} rounds x {steps} timed steps, medians:\n")
    print(table)
    section = (f"## Data-parallel scaling\n\n`python bench/distributed.py --rounds {rounds} --steps {steps}` on "
               f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f} at the end of the run: "
               "training throughput of the demo's character model (LSTM 1x128, global batch 32 x 64), each "
               "configuration a fresh process (or `mpiexec -n 2` pair), interleaved, medians. What limits the "
               "scaling: bench/README.md, \"Data-parallel scaling\".\n\n" + table + "\n")
    write_section(os.path.join(HERE, "RESULTS.md"), section)
    print(f"\n(written to {os.path.join(HERE, 'RESULTS.md')})")


def scaling_table(results, names):
    median = {name: statistics.median(x["sequences_per_s"] for x in results[name]) for name in names}
    base = median["1p x 1t"]
    lines = ["| configuration | sequences/s (median) | min-max | vs 1p x 1t | scaling efficiency | step (ms) "
             "| in all_reduce | bare all_reduce (ms) |", "|---|---|---|---|---|---|---|---|"]
    for name in names:
        processes, threads = CONFIGS[name]
        xs = [x["sequences_per_s"] for x in results[name]]
        step_ms = 1e3 * statistics.median(x["step_s"] for x in results[name])
        comm = statistics.median(x["comm_seconds"] / x["seconds"] for x in results[name])
        bare = 1e3 * statistics.median(x["bare_all_reduce_s"] for x in results[name])
        eff = f"{median[name] / (processes * threads * base):.0%}" if processes * threads > 1 else "-"
        share, bare = (f"{comm:.0%}", f"{bare:.2f}") if processes > 1 else ("-", "-")
        lines.append(f"| {name} | {median[name]:.0f} | {min(xs):.0f}-{max(xs):.0f} | {median[name] / base:.2f}x | "
                     f"{eff} | {step_ms:.1f} | {share} | {bare} |")
    return "\n".join(lines)


def write_section(md_path, section):
    """Put `section` into RESULTS.md between its markers (replacing an older one); `python -m bench`
    rewrites the rest of the file and keeps this part (bench/report.py)."""
    from sections import SECTION_END, SECTION_START, split_section  # bench/ is this script's directory
    text = open(md_path).read() if os.path.exists(md_path) else ""
    rest, _ = split_section(text)
    with open(md_path, "w") as f:
        f.write(rest.rstrip("\n") + "\n\n" + SECTION_START + "\n" + section + SECTION_END + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=150, help="timed steps per run (default 150)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.steps, args.warmup, args.threads)
    else:
        compare(args.rounds, args.steps, args.warmup)


if __name__ == "__main__":
    main()
