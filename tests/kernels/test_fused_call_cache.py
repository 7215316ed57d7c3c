"""The fused path keeps what does not change between calls (the layer's kernel and parameters, the
kernel's views of the parameter arrays, a Recurrent cell's snapshot, the buffer shapes per sequence
shape): after every way of changing the weights, the shapes or the dtype it must still give the generic
tape's numbers (outputs, final states, every gradient)."""
import copy
import pickle

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn.fused import fused_available

pytestmark = pytest.mark.skipif(not fused_available(), reason="numba kernels unavailable")


def step(layer, x, fused):
    """Outputs and gradients of one step on the fused path or on the tape (the same layer)."""
    layer.fused = fused
    layer.zero_grad()
    xt = tr.Tensor(x, requires_grad=True)
    out, h_n = layer(xt)
    h_n = h_n if isinstance(h_n, tuple) else (h_n,)
    loss = (out * out).sum() + sum((h * h).sum() for h in h_n)
    loss.backward()
    layer.fused = True
    return [out._data, xt.grad] + [h._data for h in h_n] + [p.grad for p in layer.parameters()]


def check(layer, x):
    fused, tape = step(layer, x, True), step(layer, x, False)
    assert len(fused) == len(tape)
    for a, b in zip(fused, tape):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def changes(layer, make):
    """Ways a user changes a layer's weights between steps, each applied in turn."""
    first = next(layer.parameters())
    second = [n for n, _ in layer.named_parameters()][1]

    def in_place():
        first.data[...] += 0.25   # the kernels must read the new values

    def rebind():
        first.data = first.data * 0.5 + 0.1   # a new array in the same Parameter

    def rebind_fortran():
        first.data = tr.from_numpy(np.asfortranarray(first._data + 0.05))   # not C-contiguous: the kernel makes a copy,
        check(layer, X64)
        first.data[...] += 0.25                              # which must not be kept

    def load():
        layer.load_state_dict(make().state_dict())

    def new_parameter():   # on the module that holds it (a Recurrent's cell: "cells.0.weight_hh")
        *path, name = second.split(".")
        owner = layer
        for part in path:
            owner = owner[int(part)] if part.isdigit() else getattr(owner, part)
        setattr(owner, name, tr.nn.Parameter(vars(owner)[name]._data * -1.5))

    def adam_step():
        opt = tr.optim.Adam(layer.parameters(), lr=0.1)
        step(layer, X64, True)
        opt.step()

    return [in_place, rebind, rebind_fortran, load, new_parameter, adam_step]


X64 = np.random.default_rng(0).standard_normal((5, 3, 4))


@pytest.mark.parametrize("kind", ["LSTM", "LSTM-proj", "GRU", "GRU-nobias", "RNN"])
@pytest.mark.parametrize("bidirectional", [False, True])   # (one kernel per structure: directions alternate)
def test_fused_equals_tape_after_every_change(kind, bidirectional):
    """The built-in layers keep each layer-direction's kernel while the layer holds the same Tensors under
    that direction's names, their arrays of the same shapes and dtypes (nn/recurrent._WeightsSnapshot;
    bias=False: None under the bias names)."""
    name, _, variant = kind.partition("-")
    args = dict(input_size=4, hidden_size=5, num_layers=1 + bidirectional, bidirectional=bidirectional,
                dtype=np.float64)
    if variant == "proj":
        args["proj_size"] = 3
    if variant == "nobias":
        args["bias"] = False
    tr.manual_seed(1)
    layer = getattr(tr.nn, name)(**args)
    twin = getattr(tr.nn, name)(**args)   # the same structure: shares the kernel, alternates with `layer`
    check(layer, X64)
    for change in changes(layer, lambda: getattr(tr.nn, name)(**args)):
        change()
        check(layer, X64)
        check(twin, X64)
        check(layer, X64)


def test_fused_equals_tape_after_to_float64():
    tr.manual_seed(2)
    layer = tr.nn.LSTM(4, 5, bidirectional=True, dtype=np.float32)
    layer(tr.Tensor(X64.astype(np.float32)))[0].sum().backward()   # the float32 kernels are cached first
    layer.to(np.float64)
    check(layer, X64)
    layer.to(np.float32).to(np.float64)   # new arrays again, of the same dtype as last call
    check(layer, X64)


def test_a_used_layer_copies_and_pickles():
    """The caches hold compiled kernels, which cannot be copied: a copy leaves them out and makes its own."""
    tr.manual_seed(3)
    layer = tr.nn.GRU(4, 5, bidirectional=True, dtype=np.float64)
    check(layer, X64)
    for twin in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        check(twin, X64)
        np.testing.assert_array_equal(step(twin, X64, True)[0], step(layer, X64, True)[0])
        twin.weight_ih_l0._data[...] += 1.0   # its own parameters: the original's output does not change
        assert not np.allclose(step(twin, X64, True)[0], step(layer, X64, True)[0])


RECURRENT_CELLS = {"peephole": tr.nn.PeepholeLSTMCell, "jordan": tr.nn.JordanCell, "gru": tr.nn.GRUCell}


@pytest.mark.parametrize("cell", list(RECURRENT_CELLS))
def test_recurrent_fused_equals_tape_after_every_change(cell):
    """tr.nn.Recurrent keeps each layer-direction's kernel while its cell is unchanged (node.CellSnapshot)."""
    def make():
        return tr.nn.Recurrent(RECURRENT_CELLS[cell], 4, 5, bidirectional=True, dtype=np.float64)
    tr.manual_seed(6)
    layer = make()
    check(layer, X64)
    for change in changes(layer, make):
        change()
        check(layer, X64)


def test_recurrent_fused_equals_tape_after_new_shapes_and_dtypes():
    """New sequence lengths and batch sizes (the buffer shapes made once per shape), a float32 -> float64
    move of the parameters, and a setting changed on the cell: each call still the tape's numbers."""
    tr.manual_seed(7)
    layer = tr.nn.Recurrent(tr.nn.RNNCell, 4, 5, dtype=np.float32)
    layer(tr.Tensor(X64.astype(np.float32)))[0].sum().backward()   # the float32 kernel is kept first
    layer.to(np.float64)
    layer.dtype = np.dtype(np.float64)
    rng = np.random.default_rng(8)
    for T, B in [(5, 3), (2, 1), (7, 4), (5, 3)]:
        check(layer, rng.standard_normal((T, B, 4)))
    layer.cells[0].nonlinearity = "relu"
    check(layer, X64)


def step_with(layer, x, fused, lengths=None, retain_twice=False):
    """step() with lengths= and, retain_twice: backward twice through one graph (retain_graph=True), so the
    second backward runs on the saved values the first one ran on."""
    layer.fused = fused
    layer.zero_grad()
    xt = tr.Tensor(x, requires_grad=True)
    out, (h, c) = layer(xt, lengths=lengths)
    loss = (out * out).sum() + (h * h).sum() + (c * c).sum()
    loss.backward(retain_graph=retain_twice)
    if retain_twice:
        loss.backward()
    layer.fused = True
    return [out._data, xt.grad, h._data, c._data] + [p.grad for p in layer.parameters()]


def test_fused_equals_tape_across_batches_lengths_frozen_weights_and_retained_graphs():
    """One layer called in turn with new batch sizes, lengths= given then not, a weight frozen and thawed
    (requires_grad toggled: its gradient None on both paths), weights changed in place, and a graph
    backpropagated twice: the per-call caches (kernel, parameter views, buffer shapes, the saved values
    the backward writes its gradients into) must give the tape's numbers every time."""
    tr.manual_seed(9)
    layer = tr.nn.LSTM(4, 5, bidirectional=True, dtype=np.float64)
    rng = np.random.default_rng(10)
    calls = [dict(B=3), dict(B=1), dict(B=3, lengths=[5, 2, 4]), dict(B=3), dict(B=2, frozen=True),
             dict(B=2, lengths=[3, 5], frozen=True), dict(B=2), dict(B=1, retain_twice=True),
             dict(B=3, lengths=[1, 5, 3], retain_twice=True), dict(B=3, in_place=True)]
    for call in calls:
        layer.weight_hh_l0.requires_grad = not call.get("frozen", False)
        if call.get("in_place"):
            layer.weight_ih_l0_reverse._data[...] *= -0.5
        x = rng.standard_normal((5, call["B"], 4))
        kwargs = dict(lengths=call.get("lengths"), retain_twice=call.get("retain_twice", False))
        fused, tape = step_with(layer, x, True, **kwargs), step_with(layer, x, False, **kwargs)
        for a, b in zip(fused, tape, strict=True):
            if b is None:
                assert a is None
                continue
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert layer.weight_hh_l0.grad is not None   # thawed again: the last call's gradient came through



def run_or_error(layer, x):
    """One step's outputs, input gradient, final states and parameter gradients, or the type of the error
    it raised (a change the tape refuses must be refused on the fused path too, not run on a kernel kept
    from before). No switching of layer.fused here: its setter traces the cells, which would catch a
    change before the snapshot is asked."""
    layer.zero_grad()
    xt = tr.Tensor(x, requires_grad=True)
    try:
        out, (h, c) = layer(xt)
        ((out * out).sum() + (h * h).sum() + (c * c).sum()).backward()
    except (TypeError, ValueError) as e:
        return type(e)
    return [out._data, xt.grad, h._data, c._data] + [p.grad for p in layer.parameters()]


def same_or_both_refused(fused, tape):
    if isinstance(tape, type) or isinstance(fused, type):
        assert fused is tape
        return
    for a, b in zip(fused, tape, strict=True):
        if b is None:   # a frozen parameter: no gradient on either path
            assert a is None
            continue
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)

def cell_changes(cell):
    """Changes to a Recurrent's cell between calls that its snapshot (node.CellSnapshot: the attributes by
    identity, each parameter's array, shape and dtype) must see. Each returns a function that undoes it."""
    name, p = list(cell.named_parameters())[-1]
    H = cell.hidden_size

    def setting():   # a plain setting rebound: a new kernel (LayerNormLSTMCell's eps enters its code)
        old = cell.eps
        cell.eps = 0.25
        return lambda: setattr(cell, "eps", old)

    def new_attribute():   # one more attribute: the snapshot's length differs
        cell.note = "x"
        return lambda: delattr(cell, "note")

    def reordered():   # the same attributes in another order: looked up again, same numbers
        value = vars(cell).pop("hidden_size")
        cell.hidden_size = value
        return lambda: None

    def replaced():   # a new Parameter under the same name
        old = getattr(cell, name)
        setattr(cell, name, tr.nn.Parameter(old._data * -0.5 + 0.1))
        return lambda: setattr(cell, name, old)

    def new_array():   # a new array of the same shape in the same Parameter
        old = p._data
        p.data = tr.from_numpy(old * 1.5)
        return lambda: setattr(p, "_data", old)

    def resized_in_place():   # the same array object, another shape: the tape refuses it, so must this
        p._data.shape = (p._data.size // H, H) if p._data.size > H else (1, H)
        return lambda: setattr(p._data, "shape", (p._data.size,))

    def other_dtype():   # one parameter in float32 among float64 ones: refused on both paths
        old = p._data
        p.data = tr.from_numpy(old.astype(np.float32))
        return lambda: setattr(p, "_data", old)

    def frozen():   # requires_grad toggled: no gradient on either path
        p.requires_grad = False
        return lambda: setattr(p, "requires_grad", True)

    return [setting, new_attribute, reordered, replaced, new_array, resized_in_place, other_dtype, frozen]


@pytest.mark.parametrize("cell", ["layernorm", "peephole"])
def test_recurrent_snapshot_sees_every_change_to_its_cell(cell):
    """After each change the fused layer gives the tape's numbers (or refuses as the tape does), and once
    the change is undone, the numbers from before it (the kernel and parameters kept before the change
    are not confused with those of the changed cell). The tape runs a twin layer holding the same cells."""
    kinds = {"layernorm": tr.nn.LayerNormLSTMCell, "peephole": tr.nn.PeepholeLSTMCell}
    tr.manual_seed(12)
    layer = tr.nn.Recurrent(kinds[cell], 4, 5, dtype=np.float64)
    tape = tr.nn.Recurrent(kinds[cell], 4, 5, dtype=np.float64, fused=False)
    tape.cells = layer.cells
    before = run_or_error(layer, X64)
    same_or_both_refused(before, run_or_error(tape, X64))
    for change in cell_changes(layer.cells[0]):
        if change.__name__ == "setting" and cell != "layernorm":
            continue
        undo = change()
        same_or_both_refused(run_or_error(layer, X64), run_or_error(tape, X64))
        undo()
        now = run_or_error(layer, X64)
        same_or_both_refused(now, run_or_error(tape, X64))
        if change.__name__ != "replaced":   # (a new Parameter's values differ from the old one's)
            same_or_both_refused(now, before)


def test_recurrent_snapshot_after_to_float64():
    """A Recurrent of a many-parameter cell moved float32 -> float64 (every array new, another dtype)."""
    tr.manual_seed(13)
    layer = tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, 4, 5, dtype=np.float32)
    layer(tr.Tensor(X64.astype(np.float32)))[0].sum().backward()
    layer.to(np.float64)
    check(layer, X64)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_fused_equals_tape_when_the_input_gradient_comes_and_goes(kind):
    """The gradient buffers' shapes are listed once per (T, B, I, need_dx, padded) (node.Kernel.
    _gradient_shapes): one layer called with an input that requires grad, then one that does not, with
    and without lengths, must give the tape's numbers every time (dx None where none is asked for)."""
    tr.manual_seed(11)
    layer = getattr(tr.nn, kind)(4, 5, bidirectional=True, dtype=np.float64)
    rng = np.random.default_rng(12)
    for needs_dx, lengths in [(True, None), (False, None), (True, None), (False, [5, 2, 4]), (True, [5, 2, 4]),
                              (False, None), (True, [3, 5, 1])]:
        x = rng.standard_normal((5, 3, 4))
        results = []
        for fused in (True, False):
            layer.fused = fused
            layer.zero_grad()
            xt = tr.Tensor(x, requires_grad=needs_dx)
            out, _ = layer(xt, lengths=lengths)
            (out * out).sum().backward()
            results.append([out._data, xt.grad] + [p.grad for p in layer.parameters()])
        layer.fused = True
        for a, b in zip(*results, strict=True):
            if b is None:
                assert a is None
                continue
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_call_plans_at_one_shape_follow_inference_and_the_size_thresholds(monkeypatch):
    """node.Kernel keeps one call plan per shape (_ForwardPlan, _BackwardPlan); what the plan cannot know is
    read at each call: an inference forward (no_grad) between training steps of the same shape, and the
    allocator's and the thread split's size thresholds changed after the plans were made (workspace.MIN_BYTES,
    runtime.PARALLEL_MIN_MACS). Each call must give the tape's numbers, and the changed thresholds must be
    followed (the pool and the threads used by the fused step), not the ones the plan was made under."""
    from tinygrad_rnn.compile import node
    from tinygrad_rnn.kernels import blas, runtime, workspace
    tr.manual_seed(13)
    layer = tr.nn.GRU(4, 5, dtype=np.float64)
    x = np.random.default_rng(14).standard_normal((6, 3, 4))
    check(layer, x)                              # the plans of this shape are made here
    with tr.no_grad():                           # an inference forward: its own plan (states_only)
        out, h = layer(tr.Tensor(x))
    np.testing.assert_allclose(out._data, step(layer, x, False)[0], rtol=1e-9, atol=1e-11)
    check(layer, x)

    pooled, split = [], []
    empty, split_backward = workspace.empty, node.Kernel._backward_threads
    monkeypatch.setattr(workspace, "empty", lambda *a, **k: pooled.append(a) or empty(*a, **k))
    monkeypatch.setattr(node.Kernel, "_backward_threads", lambda *a: split.append(a) or split_backward(*a))

    def fused_step_uses():
        """(pooled buffers, backward split over threads) in a fused step, then the tape's numbers checked."""
        pooled.clear(), split.clear()
        step(layer, x, True)
        used = (bool(pooled), bool(split))
        check(layer, x)
        return used

    before = blas.num_threads()
    try:
        tr.set_num_threads(2)
        assert fused_step_uses() == (False, False)   # small: malloc'd, one thread
        monkeypatch.setattr(workspace, "MIN_BYTES", 0)
        assert fused_step_uses() == (True, False)    # the plan's sizes compared with the new threshold
        monkeypatch.setattr(runtime, "PARALLEL_MIN_MACS", 0)
        monkeypatch.setattr(runtime, "MIN_ROWS_PER_THREAD", 1)
        assert fused_step_uses() == (True, True)     # and now split over the two threads
    finally:
        tr.set_num_threads(before)


def test_built_in_layer_without_kernels_runs_the_tape(monkeypatch):
    """A built-in layer whose kernels cannot be imported (nn/fused.py's import failed) runs the generic tape,
    warned once, with the tape's numbers; no snapshot is taken for it (_TorchRecurrent._run)."""
    from tinygrad_rnn.nn import fused
    tr.manual_seed(7)
    layer = tr.nn.GRU(4, 5, dtype=np.float64)
    expected = step(layer, X64, False)
    monkeypatch.setattr(fused, "_run_compiled", None)
    monkeypatch.setattr(fused, "_warned", False)
    with pytest.warns(RuntimeWarning, match="could not be imported"):
        got = step(layer, X64, True)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert not vars(layer).get("_fused_last")
