"""The backward compiled by a worker process (compile/worker.py): it must compile exactly the signatures
the layer then calls with (else this process compiles again, and the worker only cost time), and the
layer's results must be those of the tape whether the worker ran or not. The fresh-process cases time
nothing; they check where the backward's machine code came from (Numba's cache statistics)."""
import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from conftest import COMPILED_FUNCTIONS

import tinygrad_rnn as tr
from tinygrad_rnn.compile import worker
from tinygrad_rnn.compile.node import get_kernel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tr.__file__)))


@pytest.mark.parametrize("cell, dtype", [("LSTMCell", np.float32), ("GRUCell", np.float64),
                                         ("LayerNormLSTMCell", np.float32)])
def test_example_calls_have_the_signatures_a_training_step_compiles(monkeypatch, cell, dtype):
    monkeypatch.setattr(worker, "worth_it", lambda module: False)   # every function compiled here, at its call
    layer = tr.nn.Recurrent(getattr(tr.nn, cell), 7, 9, dtype=dtype)   # sizes no other test uses: a new module
    x = tr.Tensor(np.random.default_rng(0).standard_normal((4, 3, 7)).astype(dtype), requires_grad=True)
    out, _ = layer(x)
    (out * out).sum().backward()
    kernel, graph = get_kernel(layer.cells[0], np.dtype(dtype))
    for name, args in kernel.example_calls([p.data for p in graph.params]).items():
        assert getattr(kernel.module, name).signatures == [tuple(numba.typeof(a) for a in args)], name


# A fresh process: a Recurrent layer of argv[1]'s cell, float64, a training step fused and on the tape;
# prints the gradients and per generated function (its type, its signatures, Numba's cache hits and
# misses in this process: a miss is a compile here); stderr gets the package's lines. argv[2] == "one-cpu":
# the process is pinned to one CPU first (as by taskset -c 0).
STEP = r"""
import json, os, sys
if sys.argv[2] == "one-cpu":
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
import numpy as np
import tinygrad_rnn as tr
from tinygrad_rnn.compile import node
grads = {}
for compiled in (True, False):
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(getattr(tr.nn, sys.argv[1]), 3, 5, dtype=np.float64)
    layer.compile = compiled
    x = tr.Tensor(np.random.default_rng(0).standard_normal((6, 2, 3)), requires_grad=True)
    out, _ = layer(x, lengths=[6, 4])
    (out * out).sum().backward()
    grads[compiled] = [g.tolist() for g in [x.grad] + [p.grad for p in layer.parameters()]]
""" + COMPILED_FUNCTIONS + r"""
print(json.dumps({"grads": [grads[True], grads[False]], "compiled": compiled}))
"""


def cold_step(tmp_path, cell, cpus):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(TINYGRAD_RNN_CACHE=str(tmp_path), PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", STEP, cell, cpus], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for a, b in zip(*report["grads"]):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-10, atol=1e-12)
    return report, proc.stderr


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a worker is started only with two CPUs or more")
def test_a_cold_step_loads_the_workers_half_from_the_cache(tmp_path):
    report, stderr = cold_step(tmp_path, "GRUCell", "all")
    compiled = report["compiled"]   # every function is the dispatcher again (no stand-in), compiled once
    assert compiled["forward"] == compiled["grads"] == ["CPUDispatcher", 1, 1, 0]   # loaded: the worker's
    assert compiled["project"] == compiled["backward"] == ["CPUDispatcher", 1, 0, 1]   # compiled here
    assert len(stderr.strip().splitlines()) == 1 and "compiling" in stderr   # the first use's one line


def test_with_one_cpu_everything_is_compiled_here(tmp_path):
    report, stderr = cold_step(tmp_path, "GRUCell", "one-cpu")
    assert all(c == ["CPUDispatcher", 1, 0, 1] for c in report["compiled"].values())
    assert len(stderr.strip().splitlines()) == 1 and "compiling" in stderr
