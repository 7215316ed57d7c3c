"""The benchmark's peers compute the right thing: their weight gradients match torch.nn's.

Each installed peer runs one training step on a tiny shape with the same weights as the
reference layer; a peer whose library is not installed is skipped. Also checks that the
comparison itself catches a wrong gradient, and that the memory probe sees a known allocation.
"""
import numpy as np
import pytest

from bench import check, measure, peers  # bench/ is not in the package: conftest puts the repository on sys.path


@pytest.fixture(scope="module", params=peers.CELLS)
def cell_and_reference(request):
    cell = request.param
    try:
        return cell, check.peer_grads(peers.REFERENCE, cell)
    except ImportError:
        pytest.skip("torch not installed: no reference layer")


@pytest.mark.parametrize("peer", [p for p in peers.PEERS if p != peers.REFERENCE])
def test_peer_gradients_match_torch(peer, cell_and_reference):
    cell, want = cell_and_reference
    try:
        got = check.peer_grads(peer, cell)
    except ImportError as e:
        pytest.skip(f"{peer} not installed: {e}")
    assert set(got) == set(peers.WEIGHT_NAMES)
    for name in peers.WEIGHT_NAMES:
        assert got[name].shape == want[name].shape, name
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5 * np.abs(want[name]).max(),
                                   err_msg=f"{peer} {cell} d{name}")


def test_compare_catches_a_wrong_gradient(cell_and_reference):
    _, want = cell_and_reference
    assert check.compare(want, want) == []
    wrong = dict(want, weight_hh=want["weight_hh"] * 1.01)  # a 1% error, far above float32 noise
    assert any(p.startswith("weight_hh") for p in check.compare(wrong, want))


def test_numpy_bptt_matches_finite_differences():
    """The hand-written BPTT against central differences in float64: independent of torch."""
    from bench.peers import numpy_manual_bptt as ref
    for cell in peers.CELLS:
        w32, x32 = peers.make_inputs(cell, 4, 2, 3, 3, seed=1)
        w = {n: a.astype(np.float64) for n, a in w32.items()}
        x = x32.astype(np.float64)
        grads = ref.CELLS[cell](x, w)
        for name in peers.WEIGHT_NAMES:
            flat = w[name].reshape(-1)
            for k in range(0, flat.size, max(1, flat.size // 5)):
                eps = 1e-6
                old = flat[k]
                flat[k] = old + eps
                up = _forward_sum(cell, x, w)
                flat[k] = old - eps
                down = _forward_sum(cell, x, w)
                flat[k] = old
                assert abs((up - down) / (2 * eps) - grads[name].reshape(-1)[k]) < 1e-6, (cell, name, k)


def _forward_sum(cell, x, w):
    """sum_t h_t, written from docs/learn/cells.md independently of the peers (float64)."""

    def sig(a):
        return 1 / (1 + np.exp(-a))

    T, B, _ = x.shape
    H = w["weight_hh"].shape[1]
    h, c, total = np.zeros((B, H)), np.zeros((B, H)), 0.0
    for t in range(T):
        gi = x[t] @ w["weight_ih"].T + w["bias_ih"]
        gh = h @ w["weight_hh"].T + w["bias_hh"]
        if cell == "lstm":
            a = gi + gh
            i, f, g, o = sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
        elif cell == "gru":
            r, z = sig(gi[:, :H] + gh[:, :H]), sig(gi[:, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
        else:
            h = np.tanh(gi + gh)
        total += h.sum()
    return total


def test_memory_probe_sees_a_transient_allocation():
    """measure_peak reports a step's transient memory even when the allocator kept it from before."""
    size = 64 * 2 ** 20

    def step():
        a = np.ones(size // 8)  # 64 MiB, touched, freed at return
        return a.sum()

    step()  # as in the benchmark: a warm-up step first
    _, grew = measure.measure_peak(step)
    assert 0.9 * size < grew < 1.3 * size


def test_settle_reads_a_workers_cpu_time_and_waits_for_it_to_stop(monkeypatch):
    """The round-robin's settle() reads a process's CPU time from /proc: for this process it agrees with
    os.times(), and for a worker that spins, then sleeps, settle returns only once the spinning is over
    (the worker reports through a pipe when it starts sleeping: no time is asserted)."""
    import os
    import subprocess
    import sys
    import types

    if measure._cpu_ticks(os.getpid()) is None:
        pytest.skip("no /proc: settle() falls back to a fixed pause")
    np.ones(10 ** 7).sum()
    tick = os.sysconf("SC_CLK_TCK")
    t = os.times()
    assert abs(measure._cpu_ticks(os.getpid()) - (t.user + t.system) * tick) <= 2
    spin = ("import sys, time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
            "print('idle', flush=True)\ntime.sleep(30)\n")
    monkeypatch.setattr(measure, "SETTLE_MAX_S", 120.0)   # a loaded machine may take long to spin 0.3 s
    proc = subprocess.Popen([sys.executable, "-c", spin], stdout=subprocess.PIPE, text=True)
    try:
        measure.settle(types.SimpleNamespace(proc=proc))
        ticks = measure._cpu_ticks(proc.pid)
        assert ticks >= 0.3 * tick - 2   # it returned after the spinning, not during it
        assert proc.stdout.readline().strip() == "idle"
    finally:
        proc.kill()
        proc.wait()
