"""The compile worker (compile/worker.py) when things go wrong: it crashes at start, cannot be started, stays
silent past the timeout, or two threads make the first call together. Each case is a fresh process with an
empty kernel cache (so the module is new and a worker is started), and each must give the tape's outputs
and gradients, leave no worker process behind (ended and waited for: no zombie) and not hang. Nothing is
timed: a hang fails by the subprocess timeout. Each process's stderr must hold the package's one line only
(no ResourceWarning of a Popen or a pipe left behind)."""
import json
import os
import resource
import subprocess
import sys

import numpy as np
import pytest
from conftest import COMPILED_FUNCTIONS

import tinygrad_rnn as tr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tr.__file__)))

pytestmark = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                                reason="a worker is started only with two CPUs or more")

# A fresh process: argv[1] picks what stands in for the worker (worker.COMMAND) before the first use of a
# GRU layer (float64, 3 -> 5); "many-files": 1100 files are open first; "threads": two threads run the
# first training step together, each on a layer of its own (same parameters, one kernel); "exit-early":
# the kernel is made (the worker started) and the process exits at once. Prints JSON: the fused and the
# tape's outputs and gradients, per generated function (its type, signatures, Numba's cache hits and
# misses here: a miss is a compile here), and per worker started whether it has ended and been waited for.
DRIVER = r"""
import json, os, subprocess, sys, threading
import numpy as np
import tinygrad_rnn as tr
from tinygrad_rnn.compile import node, worker

mode = sys.argv[1]
if mode == "crash":
    worker.COMMAND = (sys.executable, "-c", "import sys; sys.exit(3)")
elif mode == "no-start":
    worker.COMMAND = (os.path.join(os.path.dirname(worker.__file__), "no-such-program"),)
elif mode == "silent":
    worker.COMMAND = (sys.executable, "-c", "import time; time.sleep(600)")
    worker._TIMEOUT = 0.5
elif mode == "many-files":   # descriptors past select()'s limit (FD_SETSIZE, 1024): so is the worker's pipe
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
workers = []   # every worker process started (none when Popen raises); kept, so that no Popen.__del__ reaps it
class RecordingPopen(subprocess.Popen):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        workers.append(self)
worker.subprocess.Popen = RecordingPopen

def make_layer():
    tr.manual_seed(0)
    return tr.nn.Recurrent(tr.nn.GRUCell, 3, 5, dtype=np.float64)

def step(layer, seed):
    x = tr.Tensor(np.random.default_rng(seed).standard_normal((6, 2, 3)), requires_grad=True)
    out, _ = layer(x, lengths=[6, 4])
    (out * out).sum().backward()
    return [out.data.tolist()] + [g.tolist() for g in [x.grad] + [p.grad for p in layer.parameters()]]

def ended(pid):
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:   # no longer a child of this process: it has been waited for
        return "waited for"
    return "a zombie: not waited for" if done else "running"

if mode == "exit-early":
    node.get_kernel(make_layer().cells[0], np.float64)
    print(json.dumps({"workers": [w.pid for w in workers]}), flush=True)
    sys.exit(0)
results = {}
if mode == "threads":
    layers, barrier = [make_layer(), make_layer()], threading.Barrier(2)
    def run(i):
        barrier.wait()
        results[i] = step(layers[i], i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
else:
    results[0] = step(make_layer(), 0)
tape = {}
for i in results:
    layer = make_layer()
    layer.compile = False
    tape[i] = step(layer, i)
""" + COMPILED_FUNCTIONS + r"""
print(json.dumps({"fused": results, "tape": tape, "compiled": compiled, "workers": [ended(w.pid) for w in workers]}))
"""


def run_driver(tmp_path, mode):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(TINYGRAD_RNN_CACHE=str(tmp_path), PYTHONPATH=ROOT)
    # (ResourceWarnings shown: a Popen dropped while its process runs, or a pipe left open, would print one)
    proc = subprocess.run([sys.executable, "-W", "always::ResourceWarning", "-c", DRIVER, mode], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()   # the package's one line at first use, nothing else
    assert len(lines) == 1 and "compiling" in lines[0], proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_equal_to_the_tape(report):
    assert report["fused"].keys() == report["tape"].keys() and report["fused"]
    for i in report["fused"]:
        for a, b in zip(report["fused"][i], report["tape"][i], strict=True):
            np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-10, atol=1e-12)


HERE = ["CPUDispatcher", 1, 0, 1]   # the dispatcher again (no stand-in left), compiled once, in this process
LOADED = ["CPUDispatcher", 1, 1, 0]   # ... loaded from the cache the worker wrote


def test_a_normal_run_leaves_no_worker_behind(tmp_path):
    report = run_driver(tmp_path, "normal")
    check_equal_to_the_tape(report)
    assert report["compiled"]["forward"] == report["compiled"]["grads"] == LOADED
    assert report["workers"] == ["waited for"]


@pytest.mark.parametrize("mode, started", [("crash", ["waited for"]), ("no-start", []),
                                           ("silent", ["waited for"])])
def test_a_worker_that_fails_leaves_everything_compiled_here(tmp_path, mode, started):
    """crash: the worker exits non-zero before reading its job; no-start: Popen raises (OSError); silent:
    the worker says nothing past the timeout and is killed. Either way this process compiles what the
    worker did not cache, and the worker is ended and waited for."""
    report = run_driver(tmp_path, mode)
    check_equal_to_the_tape(report)
    assert all(c == HERE for c in report["compiled"].values()), report["compiled"]
    assert report["workers"] == started


@pytest.mark.skipif(resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 2048, reason="needs 2048 open files")
def test_a_process_with_many_open_files(tmp_path):
    report = run_driver(tmp_path, "many-files")
    check_equal_to_the_tape(report)
    assert report["compiled"]["forward"] == report["compiled"]["grads"] == LOADED
    assert report["workers"] == ["waited for"]


def test_two_threads_making_the_first_call_together(tmp_path):
    report = run_driver(tmp_path, "threads")
    assert sorted(report["fused"]) == ["0", "1"]
    check_equal_to_the_tape(report)
    assert report["compiled"]["forward"] == report["compiled"]["grads"] == LOADED
    assert report["compiled"]["backward"] == HERE   # once, by whichever thread waited first
    assert report["workers"] == ["waited for"]


def test_a_process_that_exits_before_its_worker_does_not_wait_for_it(tmp_path):
    """The process ends at once (no hang at interpreter exit: the subprocess timeout), and so does the
    worker, not left compiling for a process that is gone."""
    report = run_driver(tmp_path, "exit-early")
    assert len(report["workers"]) == 1 and not _alive(report["workers"][0])


def _alive(pid):
    """Whether a process (not ours: the driver's child, now re-parented) still runs; a zombie does not."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
