"""Every benchmark behind a number in the docs, one after another, then the generated parts rewritten.

    python docs/gen/bench_run.py run              # about 30 minutes; nothing else may run on the machine
    python docs/gen/bench_run.py run --only demo mem_step
    python docs/gen/bench_run.py write            # rewrite the generated blocks from the last run's outputs

`run` saves each command's output as OUT/NAME.txt (OUT: runs/bench/ unless --out, git-ignored) and logs
when each started and ended in OUT/log; `python -m bench` itself rewrites bench/RESULTS*.md, results.json
and results.png. `write` rewrites from OUT: bench/RESULTS-generated.md's output blocks, docs/memory.md's
step and long-run blocks and its table of policies, and README.md's benchmark headline
(docs/gen/readme_benchmark.py). The prose that reads these numbers (README's threads paragraph and demo
line, the Reading sections, docs/memory.md's dates) is still written by hand; each names its command.

Why one command runs them all: these machines are shared and noisy, so every number in the docs should
come from one quiet window, and the commands and their flags should be the ones the docs name.
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = sys.executable

# (name, command): in the order they run; the names are the output files' and the blocks' keys below
COMMANDS = [
    ("mem_step", [PY, "bench/memory_budget.py", "--part", "step", "--repeats", "5"]),
    ("mem_long", [PY, "bench/memory_budget.py", "--part", "long"]),
    ("longex", [PY, "examples/long_sequence_memory.py", "--plot", "docs/long_sequence_memory.png"]),
    ("compile", [PY, "bench/compile_time.py", "--rounds", "3"]),
    ("compile1", ["taskset", "-c", "0", PY, "bench/compile_time.py", "--rounds", "3"]),
    ("cc1", [PY, "bench/compiled_cells.py", "--threads", "1", "--rounds", "4"]),
    ("cc2", [PY, "bench/compiled_cells.py", "--threads", "2", "--rounds", "4"]),
    ("cco1", [PY, "bench/compiled_cells.py", "--others", "--threads", "1", "--rounds", "8"]),
    ("cco2", [PY, "bench/compiled_cells.py", "--others", "--threads", "2", "--rounds", "8"]),
    ("lh50", [PY, "bench/loop_heavy.py", "--shape", "50x32x64x128", "--rounds", "20"]),
    ("lh1000", [PY, "bench/loop_heavy.py", "--shape", "1000x8x32x64", "--rounds", "10"]),
    ("bench", [PY, "-m", "bench", "--peers", "tinygrad_rnn-fused,torch-nn,jax-scan,numpy-manual-bptt"]),
    ("demo", [PY, "examples/demo.py"]),
    ("tiny1", [PY, "bench/compiled_cells.py", "--others", "--shapes", "20x1x10x20", "--rounds", "40",
               "--threads", "1"]),
    ("tiny2", [PY, "bench/compiled_cells.py", "--others", "--shapes", "20x1x10x20", "--rounds", "40",
               "--threads", "2"]),
    ("small1", [PY, "bench/small_step.py", "--batches", "20", "--threads", "1"]),
    ("small2", [PY, "bench/small_step.py", "--batches", "20", "--threads", "2"]),
    ("mem_step2", [PY, "bench/memory_budget.py", "--part", "step", "--repeats", "9"]),
]
GENERATED_BLOCKS = ["cc1", "cc2", "cco1", "cco2", "compile", "compile1"]   # bench/RESULTS-generated.md, in order


def run(out, only):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "log"), "a") as log:
        for name, command in COMMANDS:
            if only and name not in only:
                continue
            said = " ".join("python" if arg == PY else arg for arg in command)
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} start {name}: {said}\n")
            log.flush()
            with open(os.path.join(out, name + ".txt"), "w") as f:
                rc = subprocess.call(command, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} end {name} rc={rc}\n")
            log.flush()


def output(out, name):
    with open(os.path.join(out, name + ".txt")) as f:
        return f.read().splitlines()


def _replace(text, begin, end, new):
    """text with the part from the line `begin` (kept) up to `end` (kept) replaced by new."""
    a = text.index(begin) + len(begin)
    b = text.index(end, a)
    return text[:a] + new + text[b:]


def write_generated_results(out):
    """bench/RESULTS-generated.md's ```text blocks, each a command's output without its chatter."""
    path = os.path.join(ROOT, "bench", "RESULTS-generated.md")
    with open(path) as f:
        parts = re.split(r"(```text\n.*?```)", f.read(), flags=re.S)
    blocks = [i for i, p in enumerate(parts) if p.startswith("```text")]
    assert len(blocks) == len(GENERATED_BLOCKS), f"{path}: {len(blocks)} output blocks, not {len(GENERATED_BLOCKS)}"
    chatter = ("tinygrad_rnn:", "compiling", "Shared")
    for i, name in zip(blocks, GENERATED_BLOCKS):
        body = [line for line in output(out, name) if line.strip() and not line.startswith(chatter)]
        parts[i] = "```text\n" + "\n".join(body) + "\n```"
    with open(path, "w") as f:
        f.write("".join(parts))


def write_memory_page(out):
    """docs/memory.md's step block (two runs), long-run block and table of policies."""
    path = os.path.join(ROOT, "docs", "memory.md")
    with open(path) as f:
        text = f.read()
    step = output(out, "mem_step")
    head = next(line for line in step if line.startswith("fused LSTM"))
    rows = [line for line in step if line.startswith("  ")]
    times = [line for line in output(out, "mem_step2") if re.search("step time|per round|its floor", line)]
    step_cmd = "$ python bench/memory_budget.py --part step --repeats 5\n"
    text = _replace(text, step_cmd, "```\n", "\n".join([head, *rows, "$ python bench/memory_budget.py --part step "
                                                         "--repeats 9   # its step times", *times]) + "\n")
    long_cmd = "$ python bench/memory_budget.py --part long\n"
    long_lines = [line for line in output(out, "mem_long") if not line.startswith("Shared")]
    text = _replace(text, long_cmd, "```\n", "\n".join(long_lines) + "\n")
    table = list(dict.fromkeys(line for line in output(out, "longex") if line.startswith("| 1")))
    a = text.index("| 1,000 | full |")
    b = text.index("\n\n![memory against time]", a)
    text = text[:a] + "\n".join(table) + text[b:]
    with open(path, "w") as f:
        f.write(text)


def write(out):
    write_generated_results(out)
    write_memory_page(out)
    subprocess.check_call([PY, os.path.join(ROOT, "docs", "gen", "readme_benchmark.py")], cwd=ROOT)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["run", "write"])
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "bench"), help="where the outputs go")
    ap.add_argument("--only", nargs="+", choices=[name for name, _ in COMMANDS], help="run these commands only")
    args = ap.parse_args()
    if args.what == "run":
        run(args.out, args.only)
    else:
        write(args.out)


if __name__ == "__main__":
    main()
