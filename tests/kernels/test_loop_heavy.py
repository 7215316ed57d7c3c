"""Loop-heavy cells (kernels/runtime.py, LOOP_HEAVY): a cell whose column loops cost much more than its big
products (the layer-norm LSTM) runs its forward loop on batch blocks of half the usual rows, instead of
pipelined on the calling thread; its backward loop too, past a higher bar. The split must give one block's
numbers (float64, 1e-12 relative: sums may be added in another order), and the built-in cells must keep their
split.
"""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile import node
from tinygrad_rnn.kernels import blas, runtime

pytest.importorskip("numba")


def test_layer_norm_lstm_is_loop_heavy_and_the_built_in_cells_are_not():
    n_in, hidden = 32, 64   # python -m bench's 1000x8x32x64
    ratios = {}
    for cls in (tr.nn.LSTMCell, tr.nn.GRUCell, tr.nn.RNNCell, tr.nn.LayerNormLSTMCell):
        kernel, _ = node.get_kernel(cls(n_in, hidden), np.float32)
        ratios[cls.__name__] = (node.loop_cost_ratio(kernel.prog), kernel.loop_heavy)
    assert ratios["LayerNormLSTMCell"][1], ratios
    assert not any(heavy for name, (_, heavy) in ratios.items() if name != "LayerNormLSTMCell"), ratios
    assert ratios["LayerNormLSTMCell"][0] > 1.5 * ratios["LSTMCell"][0]


# Which split each built-in cell gets, as measured fastest at 2 threads (bench/loop_heavy.py; the table in
# kernels/runtime.py above LOOP_HEAVY): blocks only for the layer-norm LSTM at (32, 64) and (64, 128). At
# (10, 20) every cell's ratio is high (1.7-5.8: the peephole LSTM's and the layer-norm LSTM's above
# LOOP_HEAVY), yet its loop is too narrow for a block of half the rows to take half the time.
_SPLITS = [((32, 64), {"LayerNormLSTMCell"}), ((64, 128), {"LayerNormLSTMCell"}), ((128, 256), set()),
           ((10, 20), set())]


@pytest.mark.parametrize("sizes, heavy", _SPLITS, ids=[f"{i}x{h}" for (i, h), _ in _SPLITS])
def test_the_rule_picks_the_split_measured_fastest_for_the_built_in_cells(sizes, heavy):
    cells = (tr.nn.LSTMCell, tr.nn.GRUCell, tr.nn.RNNCell, tr.nn.PeepholeLSTMCell, tr.nn.JordanCell,
             tr.nn.LayerNormLSTMCell)
    picked = {}
    for cls in cells:
        prog = node.get_kernel(cls(*sizes), np.float32)[0].prog
        picked[cls.__name__] = (node.is_loop_heavy(prog), round(node.loop_cost_ratio(prog), 2),
                                round(node.loop_row_macs(prog)))
    assert {name for name, (h, _, _) in picked.items() if h} == heavy, picked


def test_a_high_ratio_on_a_narrow_loop_is_not_heavy():
    """The peephole LSTM at (10, 20): its ratio clears LOOP_HEAVY, its work per row does not (measured:
    blocks 1.26x tr.nn.LSTM, pipeline 1.07x at (1000, 32, 10, 20)); the layer-norm LSTM at (64, 128) the
    other way round against the old bar of 2.0 (blocks faster)."""
    narrow = node.get_kernel(tr.nn.PeepholeLSTMCell(10, 20), np.float32)[0].prog
    assert node.loop_cost_ratio(narrow) >= runtime.LOOP_HEAVY
    assert node.loop_row_macs(narrow) < runtime.LOOP_HEAVY_ROW_MACS and not node.is_loop_heavy(narrow)
    wide = node.get_kernel(tr.nn.LayerNormLSTMCell(64, 128), np.float32)[0].prog
    assert runtime.LOOP_HEAVY <= node.loop_cost_ratio(wide) < 2.0 and node.is_loop_heavy(wide)


@pytest.mark.parametrize("sizes, backward_heavy", [((32, 64), False), ((64, 128), False), ((5, 48), True)],
                         ids=["32x64", "64x128", "5x48"])
def test_the_backward_loop_needs_the_higher_bar_for_blocks(sizes, backward_heavy):
    """The layer-norm LSTM's forward loop is heavy at these sizes, its backward loop only past
    runtime.LOOP_HEAVY_BACKWARD: at (32, 64) and (64, 128) its backward pipelines (its loop costs about what
    its products do: measured faster than blocks, bench/schedule_ab.py); with 5 inputs its products are
    small and blocks stay. The other built-in cells keep both pipelined."""
    kernel = node.get_kernel(tr.nn.LayerNormLSTMCell(*sizes), np.float32)[0]
    ratio = node.loop_cost_ratio(kernel.prog)
    assert kernel.loop_heavy and kernel.backward_heavy == backward_heavy, ratio
    assert kernel.backward_heavy == (ratio >= runtime.LOOP_HEAVY_BACKWARD > runtime.LOOP_HEAVY)
    for cls in (tr.nn.LSTMCell, tr.nn.GRUCell, tr.nn.RNNCell, tr.nn.PeepholeLSTMCell, tr.nn.JordanCell):
        assert not node.get_kernel(cls(*sizes), np.float32)[0].backward_heavy, cls.__name__


def _run(layer, x, h0, lengths):
    layer.zero_grad()
    x.grad = None
    out, (h, c) = layer(x, h0, lengths=lengths)
    w = np.random.default_rng(3).standard_normal(out.shape)
    ((out * tr.Tensor(w)).sum() + h.sum() * 0.5 + c.sum() * 0.25).backward()
    return [out._data.copy(), h._data.copy(), c._data.copy(), x.grad.numpy().copy()] + \
        [p.grad.numpy().copy() for p in layer.parameters()]


@pytest.mark.parametrize("lengths", [None, [9, 9, 7, 6, 5, 3, 2, 1]], ids=["full", "padded"])
def test_layer_norm_lstm_on_two_blocks_of_four_rows_equals_one_block(monkeypatch, lengths):
    """8 rows at 2 threads: two blocks of 4 rows (H = 48: a loop wide enough to be heavy; pipelined forward
    projection, blocks in the backward;
    padded: the projection then the blocks) against 1 thread, every output and gradient."""
    before = blas.num_threads()
    monkeypatch.setattr(runtime, "PARALLEL_MIN_MACS", 0)
    edges = []
    block_edges = runtime.block_edges
    monkeypatch.setattr(runtime, "block_edges", lambda *a: edges.append(block_edges(*a)) or edges[-1])
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(tr.nn.LayerNormLSTMCell, 5, 48, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((9, 8, 5)), requires_grad=True)
    h0 = tuple(tr.Tensor(rng.standard_normal((1, 8, 48)), requires_grad=True) for _ in range(2))
    try:
        tr.set_num_threads(1)
        one = _run(layer, x, h0, lengths)
        assert edges == []
        tr.set_num_threads(2)
        two = _run(layer, x, h0, lengths)
    finally:
        tr.set_num_threads(before)
    assert [0, 4, 8] in edges, edges      # the loops did run on two blocks of 4 rows
    for a, b in zip(two, one):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.max(np.abs(b)))


def test_the_estimate_counts_each_reduction_column_at_reduction_macs(monkeypatch):
    """loop_cost_ratio counts a Reduce over W columns as W columns at node.REDUCTION_MACS (measured by
    bench/loop_cost_probe.py): the layer-norm LSTM's six reductions (the mean and variance of both 4H-wide
    gate sums and of the H-wide cell) are 18 H columns per row and step, forward and backward, over its
    products (3 I 4H + H 4H multiply-adds). Fails if the reductions go uncounted or are counted as
    something else."""
    n_in, hidden = 32, 64
    prog = node.get_kernel(tr.nn.LayerNormLSTMCell(n_in, hidden), np.float32)[0].prog
    elementwise, reduction = node.loop_columns(prog)
    assert reduction == 18 * hidden and elementwise > reduction, (elementwise, reduction)
    products = 3 * n_in * 4 * hidden + hidden * 4 * hidden
    base = node.loop_cost_ratio(prog)
    monkeypatch.setattr(node, "REDUCTION_MACS", node.REDUCTION_MACS + 10.0)
    assert node.loop_cost_ratio(prog) - base == pytest.approx(2 * 10.0 * 18 * hidden / products, rel=1e-12)
    monkeypatch.setattr(node, "ELEMENTWISE_MACS", node.ELEMENTWISE_MACS + 10.0)   # the rest moves apart
    assert node.loop_cost_ratio(prog) - base == pytest.approx(2 * 10.0 * (18 * hidden + elementwise) / products)
