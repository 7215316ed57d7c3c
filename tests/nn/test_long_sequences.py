"""Long sequences: no recursion limit on the tape, the tape's memory given back after backward,
and truncated BPTT over a very long stream in constant memory. tracemalloc sees numpy's buffers."""
import gc
import sys
import tracemalloc

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import nn, optim


def _train_step(model, head, opt, x, y, state=None):
    out, state = model(x, state)
    loss = nn.functional.mse_loss(head(out), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item(), tuple(s.detach() for s in state)


def test_tape_deeper_than_the_recursion_limit():
    T = sys.getrecursionlimit() * 2
    tr.manual_seed(0)
    rnn = nn.RNN(2, 3, fused=False)
    out, _ = rnn(tr.Tensor(np.ones((T, 1, 2), dtype=np.float32)))
    out.sum().backward()
    assert all(np.isfinite(p.grad).all() for p in rnn.parameters())


@pytest.mark.slow
def test_lstm_on_the_tape_over_10000_steps_trains_and_gives_its_memory_back():
    I, H = 2, 8
    tr.manual_seed(0)
    lstm, head = nn.LSTM(I, H, fused=False), nn.Linear(H, 1)
    opt = optim.SGD([*lstm.parameters(), *head.parameters()], lr=1e-3)
    rng = np.random.default_rng(0)

    def data(T):
        return (tr.Tensor(rng.standard_normal((T, 1, I)).astype(np.float32)),
                rng.standard_normal((T, 1, 1)).astype(np.float32))

    loss, _ = _train_step(lstm, head, opt, *data(10_000))  # ~250,000 nodes: no RecursionError
    assert np.isfinite(loss) and all(np.isfinite(p.data).all() for p in lstm.parameters())

    # memory, on a shorter sequence (tracemalloc slows the tape several times)
    x, y = data(2_000)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        peaks, afters = [], []
        for _ in range(3):
            tracemalloc.reset_peak()
            _train_step(lstm, head, opt, x, y)
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
            afters.append(tracemalloc.get_traced_memory()[0] - base)
    finally:
        tracemalloc.stop()
    graph = peaks[0]
    assert graph > 1_000_000  # the checks below would be vacuous if the graph were not measured
    assert max(peaks[1:]) <= 1.05 * peaks[0], peaks  # repeated steps do not grow the peak
    assert max(afters) < 0.05 * graph, (afters, graph)  # the tape is released after each step


@pytest.mark.slow
def test_truncated_bptt_over_a_million_steps_runs_in_constant_memory():
    total, chunk, B, I, H = 1_000_000, 1_000, 1, 2, 16
    tr.manual_seed(0)
    lstm, head = nn.LSTM(I, H), nn.Linear(H, 1)  # fused
    opt = optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((chunk, B, I)).astype(np.float32)  # a stream: regenerate per chunk below
    state = None
    n = total // chunk
    peaks = []
    tracemalloc.start()
    try:
        for i in range(n):
            x = tr.Tensor(np.roll(xs, i, axis=0))
            y = x.data[:, :, :1] * 0.5
            tracemalloc.reset_peak()
            loss, state = _train_step(lstm, head, opt, x, y, state)
            peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
    assert np.isfinite(loss)
    early, late = max(peaks[10:110]), max(peaks[-100:])
    # Holding the graph across chunks would add about a chunk's worth of saved activations per chunk
    # (hundreds of KB), i.e. hundreds of MB by the end. Allocator and gc timing in a long pytest run
    # move one chunk's peak by a few hundred KB, so "constant" is asserted with that much slack.
    assert late <= 2 * early, (early, late)
