"""Turning raw step times into the tables of RESULTS.md, the console summary and results.png.

Everything here reads the results dict that __main__ builds (and saves as results.json), so
`python -m bench.report bench/results.json` re-renders the report without measuring again.
"""
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys

import numpy as np

from . import models, peers
from .sections import split_section

LIBRARIES = ("numpy", "torch", "jax", "jaxlib", "autograd", "numba", "tinygrad_rnn", "matplotlib")


def machine_info(threads, usable_cpus):
    """What the numbers were measured on (read without importing the libraries)."""
    model = "unknown"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), model)
    flags = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            line = next((l for l in f if l.startswith("flags")), "")
        flags = " ".join(x for x in ("avx2", "fma", "avx512f") if f" {x}" in line)
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(__file__)).stdout.strip()
    except OSError:
        commit = ""
    try:  # numbers of a tinygrad_rnn with uncommitted changes should say so
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "tinygrad_rnn"], capture_output=True,
                               text=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout
        commit += " + uncommitted changes to tinygrad_rnn/" if dirty.strip() else ""
    except OSError:
        pass
    return {
        "cpu": model, "cpu_flags": flags, "logical_cpus": os.cpu_count(),
        "usable_cpus": usable_cpus, "memory_gib": round(mem_gib, 1),
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "versions": versions, "threads": threads, "git_commit": commit,
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "load_start": os.getloadavg(),  # other work on the machine while it was measured
    }


# ----------------------------------------------------------------------------- numbers
def summarize(case, peak_gflops):
    """Rows of one (cell, shape): median ms, spread, GFLOP/s, % of peak, ratio to torch.nn, memory."""
    cell, shape, results = case["cell"], case["shape"], case["results"]
    flops = peers.train_step_flops(cell, *shape)
    ref = results.get(peers.REFERENCE, {})
    ref_ms = np.median(ref["times"]) * 1e3 if ref.get("times") else None
    rows = []
    for peer, res in results.items():
        row = {"peer": peer, "note": res.get("skipped") or res.get("note", "")}
        if res.get("times"):
            t = np.array(res["times"]) * 1e3
            ms = float(np.median(t))
            row.update(ms=ms, p25=float(np.percentile(t, 25)), p75=float(np.percentile(t, 75)), n=len(t),
                       gflops=flops / ms / 1e6, mem_mb=res["mem_bytes"] / 2 ** 20,
                       ratio=ms / ref_ms if ref_ms else None)
            row["pct_peak"] = 100 * row["gflops"] / peak_gflops if peak_gflops else None
            if res.get("compile_s") is not None:
                row["note"] = (f"compile {res['compile_s']:.2f} s (not in step time)"
                               + (f"; {row['note']}" if row["note"] else ""))
        rows.append(row)
    return rows


def _fmt(value, spec, missing="–"):
    return missing if value is None else format(value, spec)


def _num(x):
    """Three significant digits without exponents: 0.214, 21.4, 2140."""
    return f"{x:.0f}" if x >= 100 else f"{x:.3g}"


def _threads_of(case, data=None):
    """A case's thread count (results.json files from before per-case counts had one for the whole run)."""
    if "threads" in case:
        return case["threads"]
    threads = data["machine"]["threads"] if data else 1
    return threads[0] if isinstance(threads, list) else threads


def _thread_counts(data):
    return sorted({_threads_of(c, data) for c in data["cases"] + data.get("e2e", [])})


def peak_for(data, threads):
    """GEMM peak (GFLOP/s) measured at this thread count, else the run's single peak."""
    by_lib = data["peak"].get("by_threads", {}).get(str(threads))
    return max(by_lib.values()) if by_lib else data["peak"]["gflops"]


def case_title(case):
    threads = f", {case['threads']} thread{'s' if case['threads'] > 1 else ''}" if "threads" in case else ""
    if "model" in case:
        from . import models
        return models.describe(case["model"]) + threads
    T, B, I, H = case["shape"]
    gf = peers.train_step_flops(case["cell"], *case["shape"]) / 1e9
    return f"{case['cell'].upper()} (T, B, I, H) = ({T}, {B}, {I}, {H}) — {gf:.3g} GFLOP per step{threads}"


def _median_ms(res):
    return float(np.median(res["times"])) * 1e3 if res.get("times") else None


def e2e_table(data, cases=None):
    """End-to-end cases: one line per (model, threads), one column per library: ms (× torch's time)."""
    cases = data.get("e2e", []) if cases is None else cases
    libs = [lib for lib in ("tinygrad_rnn", "torch", "jax") if any(lib in c["results"] for c in cases)]
    lines = ["| model | threads | " + " | ".join(libs) + " |", "|---|---:|" + "---:|" * len(libs)]
    for c in cases:
        ref = _median_ms(c["results"].get("torch", {}))
        cells = []
        for lib in libs:
            res = c["results"].get(lib, {})
            ms = _median_ms(res)
            if ms is None:
                cells.append(res.get("skipped", "–"))
                continue
            spread = f" [{_num(np.percentile(res['times'], 25) * 1e3)}–{_num(np.percentile(res['times'], 75) * 1e3)}]"
            cells.append(f"{_num(ms)} ms{spread} ({_fmt(ms / ref if ref else None, '.2f')}×)")
        lines.append(f"| {c['model']} | {c['threads']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


SCALING_PEERS = ("tinygrad_rnn-fused", "torch-nn", "jax-scan", "tinygrad_rnn", "torch", "jax")


def _key(case):
    return case.get("model") or f"{case['cell'].upper()} {'×'.join(map(str, case['shape']))}"


def scaling_table(data):
    """Thread scaling: per case and peer, the median ms at 1, 2, ... threads and the speed-up over 1 thread."""
    groups = {}  # the scaling runs and the main runs' cases, for every case measured at several counts
    for c in data.get("scaling", []) + data["cases"] + data.get("e2e", []):
        groups.setdefault(_key(c), {}).setdefault(_threads_of(c, data), {}).update(
            {name: res for name, res in c["results"].items() if name in SCALING_PEERS})
    groups = {key: by_threads for key, by_threads in groups.items() if len(by_threads) > 1}
    counts = sorted({t for by_threads in groups.values() for t in by_threads})
    lines = ["| case | peer | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in counts) + " |",
             "|---|---|" + "---:|" * len(counts)]
    for key, by_threads in groups.items():
        names = sorted({name for r in by_threads.values() for name in r})
        for name in names:
            one = _median_ms(by_threads.get(1, {}).get(name, {}))
            cells = []
            for t in counts:
                ms = _median_ms(by_threads.get(t, {}).get(name, {}))
                cells.append("–" if ms is None else f"{_num(ms)} ms" + (f" ({one / ms:.2f}×)" if one and t > 1 else ""))
            lines.append(f"| {key} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(case, peak_gflops):
    lines = ["| peer | ms / step (median) | p25–p75 ms | n | GFLOP/s | % of GEMM peak | × torch.nn time "
             "| peak mem (MiB) | note |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in summarize(case, peak_gflops):
        if "ms" not in r:
            lines.append(f"| {r['peer']} | – | – | – | – | – | – | – | {r['note']} |")
            continue
        lines.append(
            f"| {r['peer']} | {_num(r['ms'])} | {_num(r['p25'])}–{_num(r['p75'])} | {r['n']} | {_num(r['gflops'])} "
            f"| {_fmt(r['pct_peak'], '.1f')} | {_fmt(r['ratio'], '.2f')} | {r['mem_mb']:.1f} | {r['note']} |")
    return "\n".join(lines)


def summary_table(data, threads=None):
    """One line per case, one column per peer: median ms and, in brackets, × torch.nn's time."""
    cases = [c for c in data["cases"] if threads is None or _threads_of(c, data) == threads]
    names = [p for p in peers.PEERS if any(p in case["results"] for case in cases)]
    lines = ["| case | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for case in cases:
        rows = {r["peer"]: r for r in summarize(case, peak_for(data, _threads_of(case, data)))}
        cells = []
        for name in names:
            r = rows.get(name, {})
            cells.append("–" if "ms" not in r else f"{_num(r['ms'])} ms ({_fmt(r['ratio'], '.2f')}×)")
        T, B, I, H = case["shape"]
        lines.append(f"| {case['cell'].upper()} {T}×{B}×{I}×{H} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(data):
    m, peak = data["machine"], data["peak"]
    v = m["versions"]
    out = [
        "# tinygrad_rnn benchmark results",
        "",
        "One training step: forward over the whole sequence + backward to every weight, loss = sum of "
        "the output sequence, float32, h0 = 0. Method, FLOP formula and memory probe: bench/README.md. "
        f"Generated by `{data['command']}`.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']} ({m['cpu_flags']}); {m['logical_cpus']} logical CPUs, {m['usable_cpus']} usable; "
        f"{m['memory_gib']} GiB RAM; {m['os']}",
        f"- Threads: **{', '.join(map(str, _thread_counts(data)))}**, each count a run of its own with every peer at "
        "that count (OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS, torch.set_num_threads, CPU affinity of each worker "
        "process)",
        "- Load average (1, 5, 15 min) at the start: " + ", ".join(f"{x:.1f}" for x in m.get("load_start", ()))
        + (", at the end: " + ", ".join(f"{x:.1f}" for x in m["load_end"]) if m.get("load_end") else "")
        + f" (other processes on these {m['logical_cpus']} CPUs; every peer shares the disturbance, round-robin)",
        "- Versions: python " + m["python"] + ", " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- GEMM peak (float32 {peak['n']}×{peak['n']} matmul, best of {peak['repeats']}, measured "
        f"{peak.get('measurements', 1)} times during the run, the best kept): "
        + ", ".join(f"{lib} {_fmt(g, '.1f')} GFLOP/s" for lib, g in peak["by_lib"].items())
        + f"; **peak = {_fmt(peak['gflops'], '.1f')} GFLOP/s** (the highest), used for '% of GEMM peak'"
        + "".join(f"; at {t} threads: " + ", ".join(f"{lib} {_fmt(g, '.1f')}" for lib, g in by.items())
                  for t, by in peak.get("by_threads", {}).items() if str(t) != str(_thread_counts(data)[0]))
        + "".join(f"\n- **Parallel control at {t} threads: {', '.join(f'{x:.2f}×' for x in xs)}** (a perfectly "
                  "parallel job, numpy's exp split over the threads, against 1 thread, measured with every GEMM "
                  f"peak; {t}× on an idle machine; near 1× means other work held the CPUs and no thread-scaling "
                  "number of this run can show more)" for t, xs in data.get("control", {}).items()),
        f"- Rounds: {data['options']['rounds']} round-robin rounds × up to {data['options']['repeats']} steps "
        f"per peer; time cap {data['options']['cap_s']:g} s per step; date {m['date']}, git {m['git_commit']}",
        "",
        "Columns: median and quartiles over the n timed steps; GFLOP/s = 6·T·B·(I+H)·G·H / time; "
        "× torch.nn = this peer's time / torch.nn's time (below 1 is faster); peak mem = growth of the "
        "peak RSS during one step, measured in the peer's own process.",
        "",
        "Peers: " + "; ".join(f"**{p}** — {d}" for p, d in peers.DESCRIPTIONS.items()) + ".",
    ]
    for threads in _thread_counts(data):
        out += ["", f"## Summary at {threads} thread{'s' if threads > 1 else ''}: median ms per step "
                "(× torch.nn's time)", "", "Case = cell T×B×I×H.", "", summary_table(data, threads)]
    if data.get("e2e"):
        out += ["", "## End to end: the char-LM training step (median ms [p25–p75], × torch's time)", "",
                "Embedding → LSTM → Linear → cross_entropy → clip_grad_norm_ → Adam, each library's own "
                "modules, loss and optimizer (bench/models.py); each library in its own process, round-robin.", "",
                "\n".join(f"- **{name}**: {models.describe(name)}" for name in
                          dict.fromkeys(c["model"] for c in data["e2e"])), "", e2e_table(data)]
    if len(scaling_table(data).splitlines()) > 2:
        out += ["", "## Thread scaling (median ms, speed-up over 1 thread)", "", scaling_table(data)]
    for case in data["cases"]:
        out += ["", f"## {case_title(case)}", "", markdown_table(case, peak_for(data, _threads_of(case, data)))]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- plot
def plot(data, path):
    """results.png: one panel per cell, ms per step per shape, one bar per peer (log scale)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cells = [(c, t) for t in _thread_counts(data) for c in peers.CELLS
             if any(case["cell"] == c and _threads_of(case, data) == t for case in data["cases"])]
    names = [p for p in peers.PEERS if any(case["results"].get(p, {}).get("times") for case in data["cases"])]
    fig, axes = plt.subplots(len(cells), 1, figsize=(11, 3.6 * len(cells)), squeeze=False)
    width = 0.8 / max(len(names), 1)
    colors = plt.get_cmap("tab10")
    for ax, (cell, threads) in zip(axes[:, 0], cells):
        cases = [c for c in data["cases"] if c["cell"] == cell and _threads_of(c, data) == threads]
        for j, peer in enumerate(names):
            xs, ms = [], []
            for i, case in enumerate(cases):
                times = case["results"].get(peer, {}).get("times")
                if times:
                    xs.append(i + (j - (len(names) - 1) / 2) * width)
                    ms.append(np.median(times) * 1e3)
            ax.bar(xs, ms, width, label=peer, color=colors(j))
        ax.set_yscale("log")
        ax.set_ylabel("ms per training step")
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels(["T={} B={}\nI={} H={}".format(*c["shape"]) for c in cases])
        ax.set_title(f"{cell.upper()}: forward + backward, float32, {threads} thread(s) "
                     "(lower is better)")
        ax.grid(axis="y", which="both", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(names), 4), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.6 / fig.get_figheight()))  # ~0.6 inch for the legend above
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(data, md_path=None, json_path=None, png_path=None):
    if json_path:
        with open(json_path, "w") as f:
            json.dump(data, f, indent=1)
    if md_path:
        kept = ""
        if os.path.exists(md_path):  # bench/distributed.py's section: measured apart, carried over
            with open(md_path) as f:
                kept = split_section(f.read())[1]
        with open(md_path, "w") as f:
            f.write(markdown(data) + ("\n" + kept + "\n" if kept else ""))
    if png_path:
        plot(data, png_path)


if __name__ == "__main__":  # re-render: python -m bench.report bench/results.json
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results.json")
    with open(src) as f:
        data = json.load(f)
    here = os.path.dirname(os.path.abspath(src))
    write(data, os.path.join(here, "RESULTS.md"), None, os.path.join(here, "results.png"))
    print(markdown(data))
