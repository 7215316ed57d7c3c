"""Compile half of a new generated module in a second process while this one compiles the other half.

A cold compile of a layer-norm LSTM cell is about 4 s of Numba (the backward loop 2.1 s, the forward loop
1.1, grads 0.5, project 0.1), and Numba compiles one function at a time, holding the GIL (threads do not
help). So when the machine gives this process two or more CPUs (os.sched_getaffinity: `taskset -c 0`
makes it one), a new module's forward and grads are compiled by a worker process (`python -m
tinygrad_rnn.compile.worker`), which writes them to Numba's disk cache one after the other, while this
process compiles project (at its call) and the backward (at the forward's first call, eagerly): the
worker's start (numba and the package imported, about 0.8 s) overlaps the largest function. The first
call of the forward (of grads) then waits until the worker has cached it, and Numba loads it from the
cache. With one CPU nothing changes: the worker's import would only add to the compile. The library's
thread setting is not asked: it is how many threads the kernels run on, and the compile is a one-off.
A forward without a backward (inference: forward_states) is compiled here, at its call, as before; the
worker's work then only fills the cache for a later training step.

The worker compiles the exact signatures this process then calls with (Kernel.example_calls: the same
buffers, made for one step of one sequence); a signature that still differs (a read-only input array)
is compiled here at its call, as without a worker. A worker that fails or cannot start costs nothing
but its time: what it did not cache is compiled here.
"""
import atexit
import os
import pickle
import select
import subprocess
import sys
import threading
import time

import numba
from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher

from ..kernels import blas

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TIMEOUT = 300   # s: a worker silent for longer is stopped, and what it had left is compiled here
ELSEWHERE = ("forward", "grads")   # what the worker compiles, in this order
HERE = ("backward",)   # compiled here at the first forward call, while the worker compiles the forward
# How the worker is started (a module constant, so that a driver can start another program in its place:
# tests/kernels/test_compile_worker_failures.py starts ones that crash, cannot start, or stay silent).
COMMAND = (sys.executable, "-m", "tinygrad_rnn.compile.worker")


def worth_it(module):
    """Whether to compile in a worker: two or more usable CPUs, and Numba's disk cache (the worker's only
    way back) in use for the module (not NUMBA_DISABLE_JIT, not a cache-less install)."""
    if os.name != "posix" or blas._usable_cpus() < 2:   # (poll on a pipe: POSIX)
        return False
    return all(isinstance(fn, Dispatcher) and isinstance(getattr(fn, "_cache", None), FunctionCache)
               for fn in (getattr(module, name, None) for name in ELSEWHERE + HERE))


def start(module, examples):
    """Start a worker compiling module's ELSEWHERE functions for the argument types of `examples` ({name:
    example arguments}, Kernel.example_calls); each becomes a stand-in that waits for the worker at its
    first call. Returns the _Job, or None when the worker could not be started (everything is then
    compiled here, as without one)."""
    signatures = {name: tuple(numba.typeof(a) for a in args) for name, args in examples.items()}
    job = {name: signatures[name] for name in ELSEWHERE}
    path = os.environ.get("PYTHONPATH")   # this very package first, whatever the working directory
    env = dict(os.environ, PYTHONPATH=_PACKAGE_ROOT + (os.pathsep + path if path else ""))
    try:   # (bufsize=0: unbuffered, so that poll sees every line the worker wrote: none waits in a buffer)
        proc = subprocess.Popen(COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, bufsize=0)
    except OSError:
        return None
    try:
        proc.stdin.write(pickle.dumps((module.__file__, module.__name__, job)))
        proc.stdin.close()
    except (OSError, pickle.PicklingError):   # e.g. the worker exited at once (a broken pipe)
        _end(proc, kill=True)
        return None
    waiting = _Job(proc, module, {name: signatures[name] for name in HERE})
    for name in job:
        setattr(module, name, _CompiledElsewhere(module, name, getattr(module, name), waiting))
    _running[waiting] = os.getpid()
    return waiting


def _end(proc, kill):
    """Wait for a worker (killed first if `kill`) and close its pipes: no zombie process is left."""
    if kill:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        pipe.close()


class _Job:
    """The worker process, and what this process compiles meanwhile (at the first wait, by whichever
    thread calls first). The worker writes each function's name when Numba has cached it."""

    def __init__(self, proc, module, here):
        self.proc, self.module, self.here = proc, module, here
        self.lock = threading.Lock()
        self.ready, self.ended = set(), False

    def wait_for(self, name):
        with self.lock:
            for fn, sig in self.here.items():   # this process's share, while the worker compiles
                getattr(self.module, fn).compile(sig)
            self.here = {}
            deadline = time.monotonic() + _TIMEOUT
            # Past the last name, read on to the worker's end (it exits right after) and wait for it: else
            # it stays a zombie process until the garbage collector happens to find its Popen.
            while not self.ended and (name not in self.ready or self.ready >= set(ELSEWHERE)):
                self._read(deadline)

    def _read(self, deadline):
        """The worker's next line (a function it has cached), or its end: done, failed, or killed here when
        silent past the deadline (what it had left is then compiled here, at each function's call)."""
        # (poll, not select: select raises for a descriptor past 1024, as in a process with many files open)
        poller = select.poll()
        poller.register(self.proc.stdout, select.POLLIN)
        if not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):   # (ms)
            self.proc.kill()
        line = self.proc.stdout.readline()
        if line:
            self.ready.add(line.decode().strip())
        else:
            _end(self.proc, kill=False)
            self.ended = True
            _running.pop(self, None)


class _CompiledElsewhere:
    """module.<name> while the worker compiles it: the first call waits for the worker, puts the Numba
    dispatcher back in the module and calls it (which loads the worker's code from the disk cache)."""

    def __init__(self, module, name, dispatcher, job):
        self.module, self.name, self.dispatcher, self.job = module, name, dispatcher, job

    def __call__(self, *args):
        self.job.wait_for(self.name)
        if getattr(self.module, self.name) is self:   # (not if a caller has wrapped it since: bench/ckpt_phases)
            setattr(self.module, self.name, self.dispatcher)
        return self.dispatcher(*args)


_running = {}   # {_Job whose worker has not ended: the process that started it}


@atexit.register
def _stop_workers():
    """At this process's exit, a worker still compiling is stopped: it would otherwise run on for seconds
    after the process it works for has gone (and fail at its next line, on a pipe nobody reads). Not by a
    fork()ed child that exits: the worker is its parent's."""
    for job, pid in list(_running.items()):
        if pid == os.getpid():
            _end(job.proc, kill=True)


def _compile(path, name, signatures):
    """The worker: import the generated module from `path` as `name` (as this package does) and compile
    each function's signatures, which Numba writes to its disk cache."""
    from .codegen import exec_file
    module = exec_file(name, path)
    for fn, sig in signatures.items():
        getattr(module, fn).compile(sig)   # (and written to Numba's disk cache)
        print(fn, flush=True)


if __name__ == "__main__":
    _compile(*pickle.loads(sys.stdin.buffer.read()))
