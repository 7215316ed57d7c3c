"""Determinism: at a fixed thread count a training step's gradients are bitwise the same from run to run.

With several threads the weight gradients are sums over time chunks split between the calling thread
and the workers (kernels/runtime.backward_pipelined; compile/segments._backward_overlapped for checkpointed
layers), each thread taking whichever chunk is free. Which thread takes which chunk depends on timing;
the sums must not. The oracle: the same step with the work forced onto the calling thread alone (a
worker that never starts), with a worker that takes every chunk as soon as it is ready (the calling
thread's loop slowed down) and with a slow worker (the calling thread takes most chunks): all must give
bitwise-equal gradients (assert_array_equal, no tolerance), and equal those of a second ordinary run.
"""
import threading
import time

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile import node
from tinygrad_rnn.kernels import blas, runtime

LAYERS = {"lstm": lambda i, h, dt, ck: tr.nn.LSTM(i, h, dtype=dt, checkpoint=ck),
          "gru": lambda i, h, dt, ck: tr.nn.GRU(i, h, dtype=dt, checkpoint=ck),
          "rnn": lambda i, h, dt, ck: tr.nn.RNN(i, h, dtype=dt, checkpoint=ck),
          "recurrent_lstmcell": lambda i, h, dt, ck: tr.nn.Recurrent(tr.nn.LSTMCell, i, h, dtype=dt, checkpoint=ck)}
T, B, I, H = 24, 8, 16, 32


class _NeverStarts:
    """A pool whose workers never start a task: the calling thread does every part."""

    def submit(self, fn, *args):
        return None


class _Slowed:
    """A kernel's generated module with one function slowed on some threads (the rest passed through):
    forces which thread claims which chunk without changing what any function computes."""

    def __init__(self, module, name, on_main):
        self._module, self._name, self._on_main = module, name, on_main

    def __getattr__(self, attr):
        fn = getattr(self._module, attr)
        if attr != self._name:
            return fn

        def slowed(*args):
            out = fn(*args)
            if (threading.current_thread() is threading.main_thread()) == self._on_main:
                time.sleep(0.003)
            return out
        return slowed


def _slow_kernels(monkeypatch, name, on_main):
    """Every compiled kernel's function `name` slowed on the main thread (on_main) or on the workers."""
    for kernel in list(node._cache.values()):
        monkeypatch.setattr(kernel, "module", _Slowed(kernel.module, name, on_main))


def _step(layer, x):
    layer.zero_grad()
    out, _ = layer(tr.Tensor(x))
    (out * out).sum().backward()
    return [p.grad.numpy().copy() for p in layer.parameters()]


@pytest.mark.parametrize("n_threads", [2, 3])
@pytest.mark.parametrize("checkpoint", [None, True], ids=["stored", "checkpointed"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_gradients_do_not_depend_on_which_thread_takes_a_chunk(monkeypatch, kind, dtype, checkpoint, n_threads):
    before = blas.num_threads()
    monkeypatch.setattr(runtime, "PARALLEL_MIN_MACS", 0)   # split even this small problem
    tr.set_num_threads(n_threads)
    try:
        tr.manual_seed(0)
        layer = LAYERS[kind](I, H, dtype, checkpoint)
        x = np.random.default_rng(1).uniform(-1, 1, (T, B, I)).astype(dtype)
        reference = _step(layer, x)
        runs = {"again": _step(layer, x)}
        with monkeypatch.context() as m:
            m.setattr(blas, "workers", lambda n: _NeverStarts())
            runs["caller alone"] = _step(layer, x)
        with monkeypatch.context() as m:   # the caller's loop slow: the worker takes every chunk it can
            _slow_kernels(m, "backward", on_main=True)
            runs["eager worker"] = _step(layer, x)
        with monkeypatch.context() as m:   # the worker's products slow: the caller takes most chunks
            _slow_kernels(m, "grads", on_main=False)
            runs["slow worker"] = _step(layer, x)
    finally:
        tr.set_num_threads(before)
    names = [n for n, _ in layer.named_parameters()]
    for how, grads in runs.items():
        for name, g, ref in zip(names, grads, reference):
            np.testing.assert_array_equal(
                g, ref, err_msg=f"{kind} {np.dtype(dtype).name}, {n_threads} threads, {name}: {how}")
