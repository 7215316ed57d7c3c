"""Measurement: thread pinning, worker processes, step timing, peak memory, GEMM peak.

Each (peer, cell, shape) lives in its own fresh worker process (`python -m bench.measure SPEC`),
so libraries never share a process: torch's OpenMP pool, XLA's threads and Numba's never meet,
and one library's allocator caches cannot hide another's memory. The parent keeps all workers
of one (cell, shape) alive and asks them in turn for a few timed steps (round-robin), so slow
drifts of a noisy machine hit every peer alike. An idle worker blocks on a pipe read, but its
library's threads may not be idle yet: OpenBLAS's workers spin after a multi-threaded product
(measured: about 100 ms of CPU in the 200 ms after one 2-thread 512x512 product, numpy 2.4.6),
taking a core from the next peer's turn; a short step at 2 threads then runs on about one core.
So before each turn the parent waits until the previous worker's process has stopped using the
CPU (`settle`).

A worker speaks JSON lines on a private copy of its stdout (fd 1 itself is pointed at stderr,
so a library that prints cannot corrupt the protocol):
  -> {"built": ..., "compile_s": ...}          after imports and setup
  -> {"ready": ..., "warmup_s", "step_s", "mem_bytes", ...}  after warm-up + memory step
  <- "run N W" -> {"times": [N seconds]}      (after W untimed steps)
  <- "quit"
"""
import ctypes
import gc
import json
import math
import os
import select
import subprocess
import sys
import tempfile
import time


# ----------------------------------------------------------------------------- threads
def usable_cpus():
    return sorted(os.sched_getaffinity(0))


def thread_env(threads):
    """Environment that sizes every library's thread pool to `threads`; set before any import.

    OpenBLAS (numpy), MKL and OpenMP (torch), Numba's pool and XLA's Eigen pool each read their
    own variable. XLA has no flag for its pool size: it sizes it from the CPU affinity mask,
    which the worker sets too (`pin`); with one thread we also turn Eigen's threading off.
    """
    env = {name: str(threads) for name in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false"
    return env


def pin(threads):
    """Restrict this process to the first `threads` usable CPUs (every library respects that)."""
    os.sched_setaffinity(0, usable_cpus()[:threads])


# ----------------------------------------------------------------------------- memory
def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _malloc_trim():
    """Give memory that glibc keeps on its free lists back to the OS (no-op if not glibc)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure_peak(fn):
    """(seconds, peak RSS growth in bytes) of one call of fn.

    Linux only: writing "5" to /proc/self/clear_refs resets the peak RSS (VmHWM) to the current
    RSS; after the call VmHWM is the highest RSS reached during it. Freed memory that the
    allocator kept from earlier steps is first returned to the OS (gc + malloc_trim), otherwise
    the measured step would reuse it without raising the RSS and look free. For the same reason a
    library's own buffer pool is emptied first (tinygrad_rnn's kernels reuse their large arrays
    across steps: without this its step would look almost free).
    """
    gc.collect()
    workspace = sys.modules.get("tinygrad_rnn.kernels.workspace")
    if workspace is not None:
        workspace.clear()
        gc.collect()
    _malloc_trim()
    before = _status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    peak = _status_kb("VmHWM")
    return seconds, (peak - before) * 1024


# ----------------------------------------------------------------------------- worker side
def _gemm_worker(spec, send):
    """Best-of-N GFLOP/s of an n x n float32 matmul in numpy or torch: this machine's peak."""
    import numpy as np
    n = spec["n"]
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    if spec["lib"] == "torch":
        import torch
        torch.set_num_threads(spec["threads"])
        a = torch.from_numpy(a)

    def matmul():
        return a @ a

    matmul()  # warm-up: thread pool start, first-touch of the output
    best = float("inf")
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        matmul()
        best = min(best, time.perf_counter() - start)
    send({"gflops": 2 * n ** 3 / best / 1e9, "seconds": best})


def _control_worker(spec, send):
    """How much faster a perfectly parallel job runs on `threads` threads than on one, here and now: the
    yardstick for every thread-scaling number of the run. numpy's exp over a large array, split into one
    part per thread (numpy releases the GIL), best of a few. On an idle machine about `threads`; when other
    work keeps the CPUs busy, Linux shares them per session (autogroup), and it can fall to 1."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    threads = spec["threads"]
    a = np.random.default_rng(0).standard_normal(1 << 22)
    out = np.empty_like(a)
    pool = ThreadPoolExecutor(max(threads - 1, 1))

    def run(parts):
        edges = [len(a) * k // parts for k in range(parts + 1)]
        for _ in range(10):
            futures = [pool.submit(np.exp, a[lo:hi], out[lo:hi]) for lo, hi in zip(edges[1:-1], edges[2:])]
            np.exp(a[:edges[1]], out[:edges[1]])
            for f in futures:
                f.result()

    best = {}
    for _ in range(3):
        for parts in (1, threads):
            start = time.perf_counter()
            run(parts)
            best[parts] = min(best.get(parts, float("inf")), time.perf_counter() - start)
    send({"speedup": best[1] / best[threads]})


def _set_torch_threads(threads):
    if "torch" in sys.modules:  # env vars size MKL/OpenMP; torch wants its own call too
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)


def _peer_worker(spec, send, recv):
    from . import peers
    module, build = peers.load(spec["peer"])  # ImportError: reported by the caller
    _set_torch_threads(spec["threads"])
    T, B, I, H = spec["shape"]
    weights, x = peers.make_inputs(spec["cell"], T, B, I, H, seed=spec["seed"])
    start = time.perf_counter()
    runner = build(spec["cell"], weights, x)
    send({"built": time.perf_counter() - start, "compile_s": runner.compile_s})
    _serve(runner, spec, send, recv)


def _model_worker(spec, send, recv):
    """An end-to-end case (bench/models.py): one library's whole char-LM training step."""
    from . import models
    model = models.MODELS[spec["model"]]
    weights, ids, targets = models.make_inputs(model, seed=spec["seed"])
    start = time.perf_counter()
    runner = models.LIBRARIES[spec["peer"]](model, weights, ids, targets)  # ImportError: reported by the caller
    _set_torch_threads(spec["threads"])
    send({"built": time.perf_counter() - start, "compile_s": runner.compile_s})
    _serve(runner, spec, send, recv)


def _serve(runner, spec, send, recv):
    """Warm up, measure memory, then answer "run N W" requests until "quit"."""
    # First step: lazy JIT compiles (Numba), thread pools and first-touch of buffers happen here.
    start = time.perf_counter()
    runner.step()
    warmup_s = time.perf_counter() - start
    if warmup_s > spec["cap_s"] + spec["jit_allowance_s"]:
        send({"too_slow": warmup_s})
        return
    step_s, mem = measure_peak(runner.step)
    send({"ready": True, "warmup_s": warmup_s, "step_s": step_s, "mem_bytes": mem})
    if step_s > spec["cap_s"]:
        return
    for line in recv:
        cmd = line.split()
        if cmd[0] == "quit":
            return
        for _ in range(int(cmd[2])):  # untimed: re-warm caches and thread pools after the switch
            runner.step()
        times = []
        for _ in range(int(cmd[1])):
            start = time.perf_counter()
            runner.step()
            times.append(time.perf_counter() - start)
        send({"times": times})


def worker_main(spec_json):
    spec = json.loads(spec_json)
    pin(spec["threads"])
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints of any library go to stderr, not into the protocol

    def send(msg):
        channel.write(json.dumps(msg) + "\n")
        channel.flush()

    try:
        if spec["kind"] == "gemm":
            _gemm_worker(spec, send)
        elif spec["kind"] == "control":
            _control_worker(spec, send)
        elif spec["kind"] == "model":
            _model_worker(spec, send, sys.stdin)
        else:
            _peer_worker(spec, send, sys.stdin)
    except ImportError as e:
        send({"missing": str(e)})
    except Exception as e:  # report, don't hang the parent
        send({"error": f"{type(e).__name__}: {e}"})
        raise


# ----------------------------------------------------------------------------- parent side
class Worker:
    """A worker process and its JSON-lines channel, with a timeout on every answer."""

    def __init__(self, spec, threads):
        env = dict(os.environ, **thread_env(threads))
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.measure", json.dumps(dict(spec, threads=threads))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def recv(self, timeout):
        """The next message, or {"timeout": ...}/{"died": ...} (the worker is then stopped)."""
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if line:
            return json.loads(line)
        if not ready:
            self.close(kill=True)
            return {"timeout": timeout}
        self.proc.wait()
        return {"died": self.stderr_tail()}

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stderr_tail(self, n=300):
        self.log.seek(0)
        return self.log.read()[-n:].strip()

    def close(self, kill=False):
        if self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                try:
                    self.send("quit")
                except BrokenPipeError:
                    pass
            self.proc.wait()
        self.log.close()


SETUP_TIMEOUT_S = 300      # imports + build (JAX compiles here); generous, a noisy machine is slow
JIT_ALLOWANCE_S = 120      # the first step may JIT-compile (Numba); not held against the time cap
REWARM_S = 0.2            # untimed steps before each turn (see compare: sleeping threads wake slowly)
REWARM_MAX_STEPS = 200


def _failure(msg):
    if "missing" in msg:
        return f"not installed ({msg['missing']})"
    if "timeout" in msg:
        return f"no answer within {msg['timeout']:.0f} s"
    return msg.get("error") or f"worker died: {msg.get('died', msg)}"


def run_case(cell, shape, peer_names, threads, rounds, repeats, cap_s, budget_s, seed=0, log=print):
    """Time one (cell, shape) for every peer: {peer: result dict}.

    A result has `times` (every timed step, seconds), `mem_bytes`, `compile_s`, `warmup_s`, and
    `note`; or only `skipped` (why it has no numbers). Each round asks every live worker, in an
    order rotated by one each round, for up to `repeats` steps; a peer whose step is slow gets
    fewer per round so that it spends about `budget_s` in total. A peer whose one step exceeds
    `cap_s` keeps that single step as its only sample.
    """
    spec = {"kind": "peer", "cell": cell, "shape": list(shape), "seed": seed,
            "cap_s": cap_s, "jit_allowance_s": JIT_ALLOWANCE_S}
    return _round_robin({name: dict(spec, peer=name) for name in peer_names}, threads, rounds, repeats, cap_s,
                        budget_s, log)


def run_model_case(model, libraries, threads, rounds, repeats, cap_s, budget_s, seed=0, log=print):
    """Time one end-to-end case (bench/models.py) for every library, as run_case does a layer."""
    spec = {"kind": "model", "model": model, "seed": seed, "cap_s": cap_s, "jit_allowance_s": JIT_ALLOWANCE_S}
    return _round_robin({lib: dict(spec, peer=lib) for lib in libraries}, threads, rounds, repeats, cap_s,
                        budget_s, log)


SETTLE_WINDOW_S = 0.05   # a worker counts as settled when it used < 1 clock tick of CPU in such a window
SETTLE_MAX_S = 1.0


def _cpu_ticks(pid):
    """utime + stime of a process in clock ticks (Linux /proc), or None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def _runnable(pid):
    """Whether any thread of a process is running or waiting for a CPU (state R in /proc): a spinning
    thread that the scheduler has set aside uses no CPU for a while, yet it has not settled."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "R":
                    return True
        except OSError:   # the thread ended meanwhile
            continue
    return False


def settle(worker):
    """Wait (at most SETTLE_MAX_S) until `worker`'s process uses no CPU and no thread of it waits for one:
    its library's threads may spin after its turn (module docstring). Without /proc: a fixed pause of
    SETTLE_MAX_S / 4."""
    last = _cpu_ticks(worker.proc.pid)
    if last is None:
        time.sleep(SETTLE_MAX_S / 4)
        return
    deadline = time.monotonic() + SETTLE_MAX_S
    while time.monotonic() < deadline:
        time.sleep(SETTLE_WINDOW_S)
        now = _cpu_ticks(worker.proc.pid)
        if now is None or (now == last and not _runnable(worker.proc.pid)):
            return
        last = now


def _round_robin(specs, threads, rounds, repeats, cap_s, budget_s, log):
    """Start a worker per spec ({name: spec}), then time them in turns: {name: result dict} (see run_case)."""
    results, workers = {}, {}
    for name, spec in specs.items():  # start and warm up one at a time: never two busy workers at once
        w = Worker(spec, threads)
        msg = w.recv(timeout=SETUP_TIMEOUT_S)
        if "built" in msg:
            compile_s = msg["compile_s"]
            msg = w.recv(timeout=cap_s + JIT_ALLOWANCE_S + 30)
            if "too_slow" in msg or "timeout" in msg:  # the warm-up or the memory step overran
                msg = {"skipped": f"one step > {cap_s:g} s (time cap)"}
        if "ready" not in msg:
            results[name] = {"skipped": msg.get("skipped") or _failure(msg)}
            log(f"  {name}: skipped: {results[name]['skipped']}")
            w.close(kill=True)
            continue
        results[name] = {"times": [], "mem_bytes": msg["mem_bytes"], "compile_s": compile_s,
                         "warmup_s": msg["warmup_s"], "first_step_s": msg["step_s"], "note": ""}
        if msg["step_s"] > cap_s:
            results[name].update(times=[msg["step_s"]], note=f"1 sample: one step > {cap_s:g} s cap")
            w.close()
        else:
            workers[name] = w

    for r in range(rounds):
        live = list(workers)
        shift = r % len(live) if live else 0
        for name in live[shift:] + live[:shift]:  # a different peer goes first each round
            res, w = results[name], workers[name]
            step_s = min(res["times"]) if res["times"] else res["first_step_s"]
            n = max(1, min(repeats, int(budget_s / rounds / max(step_s, 1e-9))))
            # The first steps after another peer ran are slower (cold caches, sleeping threads, and on a
            # virtual machine idle virtual CPUs that wake slowly: bench/idle_gap.py): every peer runs
            # REWARM_S of untimed steps first (at least one), so a turn measures steps run back to back,
            # as a training loop runs them; for a step over a second it does not matter.
            rewarm = min(REWARM_MAX_STEPS, max(1, math.ceil(REWARM_S / max(step_s, 1e-9)))) if step_s < 1.0 else 0
            w.send(f"run {n} {rewarm}")
            msg = w.recv(timeout=(n + rewarm) * (2 * cap_s) + 60)
            if "times" in msg:
                res["times"] += msg["times"]
                settle(w)   # the next peer's turn starts on idle cores
            else:
                res["note"] = f"stopped in round {r + 1}: {_failure(msg)}"
                w.close(kill=True)
                del workers[name]
    for w in workers.values():
        w.close()
    return results


def parallel_control(threads):
    """Speed-up of a perfectly parallel job at `threads` threads over 1 (see _control_worker), or None."""
    w = Worker({"kind": "control"}, threads)
    msg = w.recv(timeout=300)
    w.close()
    return msg.get("speedup")


def gemm_peak(lib, threads, n=2048, repeats=5):
    """GFLOP/s of a large float32 matmul via `lib` ('numpy' or 'torch'), or None if missing."""
    w = Worker({"kind": "gemm", "lib": lib, "n": n, "repeats": repeats}, threads)
    msg = w.recv(timeout=300)
    w.close()
    return msg.get("gflops")


if __name__ == "__main__":
    worker_main(sys.argv[1])
