"""Compile a new generated module's backward in a second process while this one compiles the rest.

A cold compile of a layer-norm LSTM cell is about 4 s of Numba, half of it the backward loop, and Numba
compiles one function at a time, holding the GIL (threads do not help). So when the machine gives this
process two or more CPUs (os.sched_getaffinity: `taskset -c 0` makes it one), a new module's backward is
compiled by a worker process (`python -m tinygrad_rnn.compile.worker`), which writes Numba's disk cache,
while this process compiles project and forward and runs the forward. The first call of the backward
waits for the worker (compiling grads meanwhile) and Numba then loads the worker's machine code from
the cache. With one CPU nothing changes: the worker's import (numba and the package, about 0.5 s of
CPU) would only add to the compile. The library's thread setting is not asked: it is how many threads
the kernels run on; the compile is a one-off of a few seconds.

The worker compiles the exact signatures this process will call with (Kernel.call_signatures: the same
buffers, made for one step of one sequence); a signature that still differs (a read-only input array)
is compiled here at its call, as without a worker. A worker that fails or cannot start costs nothing
but its time: the function is then compiled here.
"""
import os
import pickle
import subprocess
import sys
import threading

import numba
from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher

from ..kernels import blas

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TIMEOUT = 600   # s: a worker that takes longer is stopped and the function compiled here
ELSEWHERE = ("backward",)   # the functions a worker compiles: the largest (about half the compile time)
HERE = ("grads",)           # compiled here while the first backward call waits (project and forward: at their call)


def worth_it(module):
    """Whether to compile in a worker: two or more usable CPUs, and Numba's disk cache (the worker's only
    way back) in use for the module (not NUMBA_DISABLE_JIT, not a cache-less install)."""
    if blas._usable_cpus() < 2:
        return False
    fn = getattr(module, ELSEWHERE[0], None)
    return isinstance(fn, Dispatcher) and isinstance(getattr(fn, "_cache", None), FunctionCache)


def start(module, examples):
    """Start a worker compiling module's ELSEWHERE functions for the argument types of `examples` ({name:
    example arguments}, Kernel.example_calls); each becomes a stand-in that waits for the worker at its
    first call. Returns the _Job, or None when the worker could not be started (everything is then
    compiled here, as without one)."""
    signatures = {name: tuple(numba.typeof(a) for a in args) for name, args in examples.items()}
    job = {name: signatures[name] for name in ELSEWHERE if name in signatures}
    path = os.environ.get("PYTHONPATH")   # this very package first, whatever the working directory
    env = dict(os.environ, PYTHONPATH=_PACKAGE_ROOT + (os.pathsep + path if path else ""))
    try:
        proc = subprocess.Popen([sys.executable, "-m", "tinygrad_rnn.compile.worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        proc.stdin.write(pickle.dumps((module.__file__, module.__name__, job)))
        proc.stdin.close()
    except (OSError, pickle.PicklingError):
        return None
    waiting = _Job(proc, module, {name: signatures[name] for name in HERE if name in signatures})
    for name in job:
        setattr(module, name, _CompiledElsewhere(module, name, getattr(module, name), waiting))
    return waiting


class _Job:
    """The worker process, waited for once (by whichever thread calls first)."""

    def __init__(self, proc, module, here):
        self.proc, self.module, self.here = proc, module, here
        self.lock = threading.Lock()
        self.done = False

    def wait(self):
        with self.lock:
            if self.done:
                return
            for name, sig in self.here.items():   # this process's share, while the worker finishes
                getattr(self.module, name).compile(sig)
            try:
                self.proc.wait(_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.done = True


class _CompiledElsewhere:
    """module.<name> while the worker compiles it: the first call waits for the worker, puts the Numba
    dispatcher back in the module and calls it (which loads the worker's code from the disk cache)."""

    def __init__(self, module, name, dispatcher, job):
        self.module, self.name, self.dispatcher, self.job = module, name, dispatcher, job

    def __call__(self, *args):
        self.job.wait()
        setattr(self.module, self.name, self.dispatcher)
        return self.dispatcher(*args)


def _compile(path, name, signatures):
    """The worker: import the generated module from `path` as `name` (as codegen.load_module does) and
    compile each function's signatures, which Numba writes to its disk cache."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for fn, sig in signatures.items():
        getattr(module, fn).compile(sig)


if __name__ == "__main__":
    _compile(*pickle.loads(sys.stdin.buffer.read()))
