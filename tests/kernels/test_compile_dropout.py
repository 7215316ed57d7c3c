"""Dropout inside a compiled cell (recurrent dropout, Semeniuta et al. 2016; dropout of h, Zaremba-style): in
training mode the compiled layer draws a mask per step and dropout itself (compile/node.Kernel.draw_masks), in
the order the tape draws them running the cell step by step, so with the same tr.manual_seed it gives the
generic tape's numbers: outputs, final states, every gradient, and the generator left in the same state.

Oracle: the same layer with fused=False (the generic tape). Sizes are small and fixed (a new kernel costs
seconds to compile); I = 2H so that a bidirectional stack's layers share one kernel.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import primitives as P
from tinygrad_rnn.compile import CompileError, compile_cell
from tinygrad_rnn.compile.node import get_kernel
from tinygrad_rnn.nn import bptt_plan as bp
from tinygrad_rnn.nn.bptt_plan import budget_plan
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import uniform

numba = pytest.importorskip("numba")

H, I, T, B = 4, 8, 7, 4
TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-5)}


class DropLSTMCell(RecurrentCell):
    """An LSTM with dropout on the recurrent input h (nn.Dropout) and on the candidate g (F.dropout on a gate:
    Semeniuta et al.'s recurrent dropout)."""
    def __init__(self, input_size, hidden_size, dtype=np.float64, p_h=0.3, p_g=0.25):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.state_sizes = (hidden_size, hidden_size)
        self.W = uniform((4 * hidden_size, input_size), 0.5, dtype)
        self.U = uniform((4 * hidden_size, hidden_size), 0.5, dtype)
        self.b = uniform((4 * hidden_size,), 0.5, dtype)
        self.drop_h, self.p_g = tr.nn.Dropout(p_h), p_g

    def forward(self, x, state):
        h, c = state
        i, f, g, o = (x @ self.W.T + self.drop_h(h) @ self.U.T + self.b).chunk(4, axis=-1)
        g = F.dropout(g.tanh(), self.p_g, self.training)
        c = f.sigmoid() * c + i.sigmoid() * g
        return o.sigmoid() * c.tanh(), c


class DropGRUCell(RecurrentCell):
    """A GRU with dropout on the recurrent input of its gates and on its candidate n."""
    def __init__(self, input_size, hidden_size, dtype=np.float64, p=0.4):
        self.input_size, self.hidden_size, self.p = input_size, hidden_size, p
        self.W = uniform((3 * hidden_size, input_size), 0.5, dtype)
        self.U = uniform((3 * hidden_size, hidden_size), 0.5, dtype)

    def forward(self, x, h):
        xr, xz, xn = (x @ self.W.T).chunk(3, axis=-1)
        hr, hz, hn = (F.dropout(h, self.p, self.training) @ self.U.T).chunk(3, axis=-1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = F.dropout((xn + r * hn).tanh(), self.p, self.training)
        return (1 - z) * n + z * h


class DropInputElmanCell(RecurrentCell):
    """An Elman cell with dropout of its input x (the kernels run on the dropped x: its projection stays hoisted,
    Program.input_mask), a width-1 dropout, and a dropout whose value nothing reads (the tape draws its mask all the
    same)."""
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.W = uniform((hidden_size, input_size), 0.5, dtype)
        self.U = uniform((hidden_size, hidden_size), 0.5, dtype)

    def forward(self, x, h):
        F.dropout(h, 0.5, self.training)   # drawn, never read
        gate = F.dropout(h[:, :1].tanh(), 0.2, self.training)
        return (F.dropout(x, 0.3, self.training) @ self.W.T + h @ self.U.T).tanh() * gate


class PlainLSTMCell(DropLSTMCell):
    """DropLSTMCell without its dropouts: what it is in eval() mode and with p = 0."""
    def forward(self, x, state):
        h, c = state
        i, f, g, o = (x @ self.W.T + h @ self.U.T + self.b).chunk(4, axis=-1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c


class DropInputGRUCell(RecurrentCell):
    """A GRU whose input goes through nn.Dropout first (`x = self.drop(x)`, the usual place), with a dropout of h
    after it in the step: the input projection of the dropped x is one product over all steps."""
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.W = uniform((3 * hidden_size, input_size), 0.5, dtype)
        self.U = uniform((3 * hidden_size, hidden_size), 0.5, dtype)
        self.b = uniform((3 * hidden_size,), 0.5, dtype)
        self.drop = tr.nn.Dropout(0.35)

    def forward(self, x, h):
        x = self.drop(x)
        xr, xz, xn = (x @ self.W.T + self.b).chunk(3, axis=-1)
        hr, hz, hn = (F.dropout(h, 0.2, self.training) @ self.U.T).chunk(3, axis=-1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn + x[:, :1]).tanh()   # the dropped x read in the loop too
        return (1 - z) * n + z * h


class DropInputAndSkipCell(DropInputGRUCell):
    """The input read both dropped and as it is (a skip of the raw x): not hoisted, the dropped x's product is made
    per step in the loop, with the same numbers."""
    def forward(self, x, h):
        xr, xz, xn = (self.drop(x) @ self.W.T + self.b).chunk(3, axis=-1)
        hr, hz, hn = (h @ self.U.T).chunk(3, axis=-1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        return (1 - z) * (xn + r * hn + x[:, :self.hidden_size]).tanh() + z * h


def _layer(cell, dtype, fused, **options):
    tr.manual_seed(0)   # the same weights for every layer made so
    return tr.nn.Recurrent(cell, I, H, dtype=dtype, fused=fused, **options)


def _run(layer, dtype, lengths=None, with_hx=False, seed=7):
    """(outputs, final states, gradients of x, the initial states and every parameter; the generator's next
    draw after the backward) of one training step from tr.manual_seed(seed)."""
    rng = np.random.default_rng(1)
    x = tr.Tensor(rng.standard_normal((T, B, I)).astype(dtype), requires_grad=True)
    LD = layer.num_layers * layer.num_directions
    hx = None
    if with_hx:
        hx = tuple(tr.Tensor(rng.standard_normal((LD, B, n)).astype(dtype), requires_grad=True)
                   for n in layer.state_sizes())
        hx = hx if len(hx) > 1 else hx[0]
    tr.manual_seed(seed)
    out, h_n = layer(x, hx, lengths=lengths)
    finals = h_n if isinstance(h_n, tuple) else (h_n,)
    loss = (out * out).sum() + sum((f * f).sum() for f in finals)
    loss.backward()
    starts = () if hx is None else (hx if isinstance(hx, tuple) else (hx,))
    arrays = [out.data, *(f.data for f in finals), x.grad, *(s.grad for s in starts),
              *(p.grad for p in layer.parameters())]
    return arrays, tr.random.generator().random(4)


def _assert_same(got, want, dtype):
    (arrays, after), (expected, expected_after) = got, want
    assert len(arrays) == len(expected)
    for a, e in zip(arrays, expected):
        assert a is not None and a.dtype == e.dtype
        np.testing.assert_allclose(a, e, **TOL[dtype])
    np.testing.assert_array_equal(after, expected_after)   # the same numbers drawn, no more, no fewer


CASES = {"plain": dict(), "lengths": dict(lengths=[7, 5, 5, 2]),
         "bidirectional 2 layers, lengths, initial states": dict(layers=2, bidirectional=True, lengths=[6, 7, 3, 1],
                                                                 with_hx=True)}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("cell", [DropLSTMCell, DropGRUCell], ids=lambda c: c.__name__)
def test_compiled_dropout_equals_the_tape(cell, dtype, case):
    """Outputs, final states and every gradient equal fused=False's from the same seed, and both leave the
    generator in the same state: the masks are the tape's, drawn in its order (per step, the cell's dropouts in
    trace order; per layer and direction as the layer runs them; a reverse direction in its own step order)."""
    kw = dict(CASES[case])
    options = dict(num_layers=kw.pop("layers", 1), bidirectional=kw.pop("bidirectional", False))
    compiled = _layer(cell, dtype, True, **options)
    _assert_same(_run(compiled, dtype, **kw), _run(_layer(cell, dtype, False, **options), dtype, **kw), dtype)
    assert compiled.fused is True and get_kernel(compiled.cells[0], dtype)[0].prog.masks   # it ran compiled


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
def test_dropout_of_the_input_of_one_column_and_unread_equals_the_tape(dtype):
    options = dict(num_layers=2, bidirectional=True)
    want = _run(_layer(DropInputElmanCell, dtype, False, **options), dtype, lengths=[7, 4, 1, 7], with_hx=True)
    compiled = _layer(DropInputElmanCell, dtype, True, **options)
    _assert_same(_run(compiled, dtype, lengths=[7, 4, 1, 7], with_hx=True), want, dtype)
    assert len(get_kernel(compiled.cells[0], dtype)[0].prog.masks) == 3


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("checkpoint", [None, 3, True])
def test_checkpointed_and_threaded_runs_read_the_kept_masks(split_everything, threads, checkpoint):
    """checkpoint=K (pieces rerun in the backward) and 2 threads (batch blocks, time chunks, overlapped pieces)
    give the tape's numbers too: a rerun reads the masks the forward drew and kept (it does not draw again: the
    generator is left as the tape leaves it), each thread reads its rows' and steps' masks."""
    tr.set_num_threads(threads)
    options = dict(num_layers=2, bidirectional=True)
    want = _run(_layer(DropLSTMCell, np.float64, False, **options), np.float64, lengths=[7, 6, 3, 1])
    got = _run(_layer(DropLSTMCell, np.float64, True, checkpoint=checkpoint, **options), np.float64,
               lengths=[7, 6, 3, 1])
    _assert_same(got, want, np.float64)


def test_a_forward_without_gradients_draws_the_tapes_masks_too():
    """Under tr.no_grad() a layer in training mode still drops (as torch's): the compiled forward that keeps
    nothing for a backward (forward_states) draws and applies the tape's masks, and leaves the generator where
    the tape leaves it."""
    x = tr.Tensor(np.random.default_rng(4).standard_normal((T, B, I)))
    results = []
    for fused in (True, False):
        layer = _layer(DropGRUCell, np.float64, fused, bidirectional=True)
        tr.manual_seed(11)
        with tr.no_grad():
            out, h_n = layer(x, lengths=[7, 2, 5, 5])
        results.append((out.data, h_n.data, tr.random.generator().random(3)))
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_forward_direction_checkpointed_equals_the_checkpointed_tape():
    """Without a reverse direction, the tape's own checkpointed run (tr.checkpoint restores the generator for its
    reruns) draws what its plain run draws, and the compiled checkpointed layer equals it (float32 too)."""
    for dtype in (np.float64, np.float32):
        want = _run(_layer(DropLSTMCell, dtype, False, checkpoint=2), dtype, lengths=[7, 5, 5, 2])
        _assert_same(_run(_layer(DropLSTMCell, dtype, True, checkpoint=2), dtype, lengths=[7, 5, 5, 2]), want, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
def test_eval_mode_and_p_zero_are_the_cell_without_dropout(dtype):
    """In eval() mode and with p = 0 no mask is drawn and the compiled layer is the cell without dropout, exactly;
    back in training mode it draws again (a second kernel: the train and eval graphs differ)."""
    want = _run(_layer(PlainLSTMCell, dtype, True), dtype)
    evaluated = _layer(DropLSTMCell, dtype, True)
    evaluated.eval()
    for got in (_run(evaluated, dtype), _run(_layer(lambda *a, **k: DropLSTMCell(*a, p_h=0.0, p_g=0.0, **k),
                                                    dtype, True), dtype)):
        for a, e in zip(got[0], want[0]):
            np.testing.assert_array_equal(a, e)
        np.testing.assert_array_equal(got[1], want[1])
    eval_kernel = get_kernel(evaluated.cells[0], dtype)[0]
    evaluated.train()
    train_kernel = get_kernel(evaluated.cells[0], dtype)[0]
    assert not eval_kernel.prog.masks and len(train_kernel.prog.masks) == 2 and train_kernel is not eval_kernel
    for p in evaluated.parameters():
        p.grad = None
    _assert_same(_run(evaluated, dtype), _run(_layer(DropLSTMCell, dtype, False), dtype), dtype)


def test_a_cells_dropout_switched_off_alone_is_another_kernel():
    """cell.drop_h.eval() alone (the cell itself still training) changes the traced structure: the compiled
    layer must not keep the kernel of the cell with both dropouts."""
    compiled, tape = _layer(DropLSTMCell, np.float64, True), _layer(DropLSTMCell, np.float64, False)
    _run(compiled, np.float64)
    for layer in (compiled, tape):
        layer.cells[0].drop_h.eval()
        for p in layer.parameters():
            p.grad = None
    _assert_same(_run(compiled, np.float64), _run(tape, np.float64), np.float64)
    assert len(get_kernel(compiled.cells[0], np.float64)[0].prog.masks) == 1


def test_dropout_is_a_primitive_with_the_old_formulas_numbers():
    """F.dropout in training applies P.Dropout (what the trace recognises), with the numbers of the product it
    replaced, x * (keep * 1 / (1 - p)), keep drawn from the same generator in the same order."""
    for dtype in (np.float64, np.float32):
        x = tr.Tensor(np.random.default_rng(0).standard_normal((5, 6)).astype(dtype), requires_grad=True)
        tr.manual_seed(3)
        y = F.dropout(x, 0.4)
        assert y._node.prim is P.Dropout
        (y * y).sum().backward()
        tr.manual_seed(3)
        mask = (tr.random.generator().random((5, 6)) >= 0.4).astype(dtype) * (1.0 / (1.0 - 0.4))
        np.testing.assert_array_equal(y.data, x.data * mask)
        np.testing.assert_array_equal(x.grad, 2 * (x.data * mask) * mask)


class OwnGeneratorCell(DropGRUCell):
    def forward(self, x, h):
        hr, hz, hn = (F.dropout(h, 0.5, rng=np.random.default_rng(3)) @ self.U.T).chunk(3, axis=-1)
        return (x @ self.W.T)[:, :self.hidden_size] + hn


class DropConnectCell(DropGRUCell):
    def forward(self, x, h):
        hr, hz, hn = (h @ F.dropout(self.U, 0.5).T).chunk(3, axis=-1)
        return (x @ self.W.T)[:, :self.hidden_size] + hn


def test_what_does_not_compile_is_refused_naming_it_and_the_line():
    """A mask from a generator of the cell's own (rng=) cannot be drawn by the layer; dropout of a parameter
    (DropConnect) has no mask per step and row. Both are refused at the user's line; fused='auto' trains them on
    the tape."""
    with pytest.raises(CompileError, match=r"generator of the cell's own \(rng=\), used at .*test_compile_dropout"):
        compile_cell(OwnGeneratorCell(I, H))
    with pytest.raises(CompileError, match=r"DropConnect.*test_compile_dropout\.py:\d+ in forward"):
        compile_cell(DropConnectCell(I, H))
    with pytest.warns(RuntimeWarning, match="DropConnect"):
        layer = _layer(DropConnectCell, np.float64, "auto")
    assert layer.fused is False


def test_a_memory_budget_counts_the_masks_of_every_step():
    """The masks are kept for all T steps whatever the plan: a budget plan has the share less their bytes to
    spend (the plan of the cell without them at that smaller budget), and a share they fill alone is refused."""
    T_long, step_columns = 40, 2 * H   # DropLSTMCell's two masks, H columns each
    masks = T_long * B * step_columns * 8
    dropping = _layer(DropLSTMCell, np.float64, True)
    state, step = dropping._bptt_bytes(0, B)
    budget = masks + 6 * step + 8 * state
    dropping.memory_budget = budget
    plan = dropping.bptt_plan(T_long, B)
    assert plan == budget_plan(T_long, budget - masks, state, step) != budget_plan(T_long, budget, state, step)
    with pytest.raises(ValueError, match=rf"dropout masks of T=40 steps alone take {masks} bytes"):
        _layer(DropLSTMCell, np.float64, True, memory_budget=masks).bptt_plan(T_long, B)


# ----------------------------------------------------------------------------- every policy draws the same masks
DROPPING_CELLS = [DropLSTMCell, DropGRUCell, DropInputElmanCell, DropInputGRUCell]


def _policy(data, T):
    """checkpoint=K, checkpoint=True or a memory budget as a fraction of storing every step (per layer-direction,
    made plannable in _with_budget)."""
    return data.draw(st.one_of(st.integers(1, T - 1).map(lambda k: {"checkpoint": k}), st.just({"checkpoint": True}),
                               st.floats(0.05, 1.0).map(lambda f: {"memory_budget": f})), label="policy")


def _with_budget(policy, plain, T, B):
    """A budget fraction made bytes: per layer-direction, that fraction of storing every step's, at least what the
    flat plan keeping the least needs, plus the masks a compiled layer keeps for all T steps."""
    if "memory_budget" not in policy:
        return policy
    share = 0
    for layer in range(plain.num_layers):
        state, step = plain._bptt_bytes(layer, B)
        kernel = plain._planned_kernel(layer)
        masks = 0 if kernel is None else T * B * kernel.mask_columns() * 8
        share = max(share, max(bp._flat_minimum(T, state, step)[0], int(policy["memory_budget"] * T * step)) + masks)
    return {"memory_budget": share * plain.num_layers * plain.num_directions + 1}


def _step_of(layer, T, seed=7, lengths=None):
    """One training step of `layer` over drawn x of T steps (B = 4): _run's arrays, at any T."""
    rng = np.random.default_rng(T)
    x = tr.Tensor(rng.standard_normal((T, B, I)), requires_grad=True)
    tr.manual_seed(seed)
    out, h_n = layer(x, lengths=lengths)
    finals = h_n if isinstance(h_n, tuple) else (h_n,)
    w = rng.standard_normal(out.shape)
    ((out * w).sum() + sum((f * f).sum() for f in finals)).backward()
    return [out.data, *(f.data for f in finals), x.grad, *(p.grad for p in layer.parameters())], \
        tr.random.generator().random(4)


@pytest.mark.parametrize("fused", [False, True], ids=["tape", "compiled"])
@settings(max_examples=20)
@given(cell=st.sampled_from(DROPPING_CELLS), T=st.integers(2, 11), layers=st.integers(1, 2),
       bidirectional=st.booleans(), between=st.sampled_from([0.0, 0.3]), with_lengths=st.booleans(), data=st.data())
def test_every_policy_draws_the_masks_of_the_unplanned_run(fused, cell, T, layers, bidirectional, between,
                                                           with_lengths, data):
    """checkpoint=K, True and memory_budget= change what is kept and rerun, never the numbers: with the same seed a
    cell's dropout masks (and the layer's dropout= between layers) fall on the same steps as in the unplanned tape
    run, on the tape (its pieces run a reverse direction in that direction's step order, with lengths too) and
    compiled; outputs, final states, every gradient (float64, 1e-12) and the generator left after are the same."""
    options = dict(num_layers=layers, bidirectional=bidirectional, dropout=between)
    lengths = None
    if with_lengths:   # (one sequence shorter than T at least: all T is no lengths)
        lengths = data.draw(st.lists(st.integers(1, T), min_size=B - 1, max_size=B - 1), label="lengths")
        lengths.insert(data.draw(st.integers(0, B - 1)), data.draw(st.integers(1, T - 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # (dropout= with one layer: torch's warning)
        want = _step_of(_layer(cell, np.float64, False, **options), T, lengths=lengths)
        policy = _with_budget(_policy(data, T), _layer(cell, np.float64, fused, **options), T, B)
        planned = _layer(cell, np.float64, fused, **policy, **options)
        _assert_same(_step_of(planned, T, lengths=lengths), want, np.float64)


@pytest.mark.parametrize("fused", [False, True], ids=["tape", "compiled"])
@settings(max_examples=15)
@given(cell=st.sampled_from(DROPPING_CELLS + [PlainLSTMCell]), T=st.integers(1, 300), batch=st.integers(1, 9),
       layers=st.integers(1, 2), bidirectional=st.booleans(), fraction=st.floats(0.01, 1.2))
def test_a_plan_of_a_dropping_cell_never_exceeds_its_budget(fused, cell, T, batch, layers, bidirectional, fraction):
    """The plan's memory, the masks counted, stays within each layer-direction's share of memory_budget: compiled,
    the masks of all T steps are kept whatever the plan (the share less them is planned); on the tape a recorded
    step's dropout nodes hold its masks (a rerun draws them again), so they are part of a step's bytes. Both count
    the same columns (the compiled kernel's mask_columns, the oracle here), the tape's estimate of a step without
    them is its estimate in eval() mode (no dropout drawn)."""
    layer = _layer(cell, np.float64, fused, num_layers=layers, bidirectional=bidirectional)
    LD = layers * layer.num_directions
    for index in range(layers):
        columns = get_kernel(layer.cells[index * layer.num_directions], np.float64)[0].mask_columns()
        layer.train(fused)   # (the tape's estimate in eval() mode: without masks; compiled: kept_per_row)
        state, step = layer._bptt_bytes(index, batch)
        layer.train()
        step_masks = batch * columns * 8
        kept_always = T * step_masks if fused else 0
        step = step if fused else step + step_masks
        share = max(bp._flat_minimum(T, state, step)[0], int(fraction * T * step)) + kept_always
        layer.memory_budget = share * LD
        plan = layer.bptt_plan(T, batch, index)
        assert bp.plan_memory(plan, state, step) + kept_always <= share


# ----------------------------------------------------------------------------- dropout of the input, hoisted
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("checkpoint", [None, 3, True])
def test_dropout_of_the_input_keeps_its_projection_hoisted(split_everything, threads, checkpoint):
    """`x = self.drop(x)` before the input projection: the kernels run on the dropped input (the node multiplies X
    by the input's masks, drawn with the step's others in the tape's order), so `x @ W.T` stays one product over
    all steps (Program.projections) and the loop has only the recurrent product; dx is the kernels' times the
    mask. Outputs, states, every gradient and the generator after equal the tape's, on 1 and 2 threads,
    checkpointed (each piece drops its slice of X) or not, reverse directions and lengths included."""
    tr.set_num_threads(threads)
    options = dict(num_layers=2, bidirectional=True, checkpoint=checkpoint)
    for cell, hoisted in ((DropInputGRUCell, True), (DropInputAndSkipCell, False)):
        want = _run(_layer(cell, np.float64, False, **options), np.float64, lengths=[7, 6, 3, 1], with_hx=True)
        compiled = _layer(cell, np.float64, True, **options)
        _assert_same(_run(compiled, np.float64, lengths=[7, 6, 3, 1], with_hx=True), want, np.float64)
        prog = get_kernel(compiled.cells[0], np.float64)[0].prog
        assert [g.param for g in prog.projections] == ([0] if hoisted else [])   # W: before the loop
        assert len(prog.gemms) == (1 if hoisted else 2) and len(prog.masks) == (2 if hoisted else 1)
