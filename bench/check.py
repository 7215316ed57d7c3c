"""Correctness of the peers: each one's weight gradients against torch.nn's, same weights.

A peer that is fast because it computes the wrong thing would make the benchmark a lie, so
`python -m bench --check` (and tests/tools/test_bench_peers.py) runs every installed peer on a tiny
shape and compares its four gradients with those of the reference layer (torch.nn; the numpy
BPTT when torch is missing). Runs in one process: this is about values, not speed.
"""
import numpy as np

from . import peers

CHECK_SHAPE = (7, 3, 5, 4)  # T, B, I, H: tiny, but T > 1 so gradients flow through time


def peer_grads(peer, cell, shape=CHECK_SHAPE, seed=0):
    """The peer's {weight name: gradient} after one step; ImportError if not installed."""
    _, build = peers.load(peer)
    weights, x = peers.make_inputs(cell, *shape, seed=seed)
    runner = build(cell, weights, x)
    runner.step()
    return {n: np.asarray(g, dtype=np.float64) for n, g in runner.grads().items()}


def compare(got, want, rtol=1e-4, atol=1e-5):
    """Problems found comparing two gradient dicts (empty list: they agree).

    float32 everywhere: a sum over T*B terms of products that are O(1) carries relative
    errors ~1e-6, so 1e-4 relative (plus a small absolute floor for near-zero entries) passes
    every correct peer and fails any wrong formula, whose errors are O(1).
    """
    problems = []
    for name in peers.WEIGHT_NAMES:
        if name not in got:
            problems.append(f"{name}: missing")
            continue
        g, w = got[name], want[name]
        if g.shape != w.shape:
            problems.append(f"{name}: shape {g.shape} != {w.shape}")
        elif not np.allclose(g, w, rtol=rtol, atol=atol * np.abs(w).max()):
            problems.append(f"{name}: max abs error {np.abs(g - w).max():.2e} (max |grad| {np.abs(w).max():.2e})")
    return problems


def reference(cell, shape=CHECK_SHAPE):
    """(name, gradients) of the reference peer: torch.nn if installed, else the numpy BPTT."""
    for name in (peers.REFERENCE, "numpy-manual-bptt"):
        try:
            return name, peer_grads(name, cell, shape)
        except ImportError:
            continue
    raise RuntimeError("no reference peer")


def run_check(cells, peer_names, log=print):
    """Check every (peer, cell); returns True when all installed peers agree with the reference."""
    ok = True
    for cell in cells:
        ref_name, want = reference(cell)
        log(f"{cell}: reference {ref_name}, shape (T, B, I, H) = {CHECK_SHAPE}")
        for peer in peer_names:
            if peer == ref_name:
                continue
            try:
                problems = compare(peer_grads(peer, cell), want)
            except ImportError as e:
                log(f"  {peer:20s} skipped (not installed: {e})")
                continue
            except Exception as e:  # a peer that cannot run is a failed check, not a crash
                problems = [f"{type(e).__name__}: {e}"]
            ok &= not problems
            log(f"  {peer:20s} {'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
    return ok
