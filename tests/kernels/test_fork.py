"""The kernels run batch blocks on a thread pool. A fork()ed child inherits the pool object but not its
threads; it must still run the layers (a child that waits on a thread that does not exist hangs)."""
import multiprocessing as mp

import numpy as np
import pytest

import tinygrad_rnn as tr

TIMEOUT = 120   # generous: the child may compile; a hang is what fails


def _run_layer(seed):
    tr.manual_seed(0)
    layer = tr.nn.LSTM(4, 8, dtype=np.float64)
    x = tr.Tensor(np.random.default_rng(seed).standard_normal((5, 32, 4)))   # 32 rows: batch blocks
    out, _ = layer(x)
    out.sum().backward()
    return float(out.numpy().sum()), float(layer.weight_hh_l0.grad.sum())


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_child_process_runs_the_layers_after_the_parent_did(method, monkeypatch):
    if method not in mp.get_all_start_methods():
        pytest.skip(f"start method {method!r} not available here")
    from tinygrad_rnn.kernels import blas
    monkeypatch.setattr(blas, "num_threads", lambda: 2)    # make the parent start its thread pool
    expected = _run_layer(1)
    assert blas._pool["executor"] is not None, "the parent should have used its thread pool"
    with mp.get_context(method).Pool(1) as pool:
        result = pool.apply_async(_run_layer, (1,))
        got = result.get(timeout=TIMEOUT)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
