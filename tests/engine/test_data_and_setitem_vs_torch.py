"""`x.data` and `x[index] = value` as torch's.

`x.data` is a Tensor sharing x's memory off the tape (it was the numpy array, where numpy's methods answered
silently otherwise: `p.data.std()` divided by N, `p.data.max(0)` had no indices); `x[index] = value` is torch's
index_put_ (it was a TypeError), into x's memory off the tape and recorded on a computed tensor. Each case runs
the same code on both libraries and compares values, gradients and error types.
"""
import numpy as np
import pytest
from conftest import outcome, raises_as_torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def _both(a):
    return tr.tensor(a), torch.tensor(a)


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


# ----------------------------------------------------------------------------- x.data
def test_data_is_a_tensor_sharing_memory_off_the_tape():
    rng = np.random.default_rng(0)
    for lib in (tr, torch):
        p = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
        d = p.data
        assert isinstance(d, lib.Tensor) and not d.requires_grad and d.is_leaf and d.grad_fn is None
        assert p.data is not p.data   # a new Tensor each time, as torch's
        before = _np(p).copy()
        d.mul_(2.0)   # an in-place write through .data changes p
        np.testing.assert_array_equal(_np(p), 2 * before)


@pytest.mark.parametrize("call", [
    lambda d: d.std(), lambda d: d.var(), lambda d: d.max(0)[0], lambda d: d.max(0)[1], lambda d: d.repeat(2, 1),
    lambda d: d.sort(0)[0], lambda d: d.mean(1), lambda d: d.argmax(), lambda d: d.norm(), lambda d: d.clone(),
])
def test_torch_methods_on_data_answer_as_torch(call):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 3))
    ours, theirs = tr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    np.testing.assert_allclose(_np(call(ours.data)), _np(call(theirs.data)), rtol=1e-12)
    np.testing.assert_array_equal(_np(ours), a)   # none of them wrote the tensor (numpy's sort() sorted in place)


def test_manual_sgd_through_data_as_torch():
    rng = np.random.default_rng(2)
    w0, x = rng.standard_normal((3, 2)), rng.standard_normal((5, 3))
    results = []
    for lib in (tr, torch):
        w = lib.tensor(w0, requires_grad=True)
        for _ in range(3):
            loss = (lib.tensor(x) @ w).tanh().pow(2).sum()
            loss.backward()
            w.data -= 0.1 * w.grad.data
            w.data.add_(w.grad, alpha=-0.05)
            w.grad.data.zero_()
        results.append(_np(w))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_setting_data_takes_the_tensor_memory_shape_and_dtype():
    for lib in (tr, torch):
        x = lib.ones(2, requires_grad=True)
        new = lib.arange(6, dtype=lib.float64).reshape(2, 3)
        x.data = new
        assert x.shape == (2, 3) and x.dtype == lib.float64 and x.requires_grad
        new.add_(1)   # x shares new's memory
        np.testing.assert_array_equal(_np(x), np.arange(1, 7).reshape(2, 3))


@pytest.mark.parametrize("value", [np.ones(2), [1.0, 2.0], 3.0])
def test_setting_data_to_a_non_tensor_is_torchs_type_error(value):
    ours, theirs = tr.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)

    def assign(x):
        x.data = value
    assert outcome(lambda: assign(ours)) is outcome(lambda: assign(theirs)) is TypeError


def test_setting_int_data_on_a_tensor_that_requires_grad_is_refused_as_torch():
    def assign(lib):
        x = lib.ones(2, requires_grad=True)
        x.data = lib.tensor([1, 2])
    assert outcome(lambda: assign(tr)) is outcome(lambda: assign(torch)) is RuntimeError


def test_grad_is_a_plain_tensor_and_rebinding_its_data_reaches_the_optimizer():
    out = []
    for lib in (tr, torch):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        (p * p).sum().backward()
        assert type(p.grad) is lib.Tensor
        p.grad.data = p.grad.data / 4     # a torch habit: scale the gradient by rebinding its data
        t = lib.zeros(2)
        lib.optim.SGD([p], lr=1.0).step()
        out.append(_np(p).copy())
        p.grad = t
        t.data = lib.tensor([10.0, 20.0])   # t is p's gradient: rebinding t's data rebinds it
        out.append(_np(p.grad).copy())
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[1], out[3])


# how x.data's writes count: its version counter is its own, as torch's
def _versions_after(lib, write):
    """The versions of x, of its .data and of a view of that .data after `write(data, view)`, and whether a backward
    through a graph that saved x still runs (with the new values, as torch's), with x's gradient."""
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    d = x.data
    v = d[0:2]
    write(d, v)
    y.backward()
    return x._version, d._version, v._version, _np(x.grad), _np(x)


@pytest.mark.parametrize("write", [
    lambda d, v: d.mul_(2.0), lambda d, v: d.add_(1.0), lambda d, v: v.add_(1.0), lambda d, v: d.zero_(),
    lambda d, v: d.copy_(d * 3), lambda d, v: d.__setitem__(1, 7.0), lambda d, v: d.__isub__(0.5),
    lambda d, v: d.data.mul_(2.0), lambda d, v: d.detach().mul_(2.0),
], ids=["mul_", "add_", "view add_", "zero_", "copy_", "setitem", "-=", "data.data", "data.detach"])
def test_writes_through_data_leave_the_version_and_backward_uses_the_new_values_as_torch(write):
    ours, theirs = _versions_after(tr, write), _versions_after(torch, write)
    assert ours[:3] == theirs[:3]
    for a, b in zip(ours[3:], theirs[3:]):
        np.testing.assert_array_equal(a, b)


def test_each_data_has_its_own_counter_and_the_tensors_writes_do_not_move_it_as_torch():
    got = []
    for lib in (tr, torch):
        x = lib.ones(3)
        first, second = x.data, x.data
        first.add_(1.0)
        with lib.no_grad():
            x.mul_(2.0)   # x's counter, shared with x.detach() and views of x
        x.detach().add_(1.0)
        w = x[0:2]
        w.data.add_(1.0)   # a view's .data: a counter of its own too
        got.append((x._version, first._version, second._version, w._version, _np(x)))
    assert got[0][:4] == got[1][:4]
    np.testing.assert_array_equal(got[0][4], got[1][4])


def test_writing_a_computed_tensors_data_is_not_refused_as_torch():
    got = []
    for lib in (tr, torch):
        a = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        z = a * 2
        y = (z * z).sum()   # saves z
        z.data.add_(1.0)    # torch: z's version stays 0, backward reads the new z
        y.backward()
        got.append((z._version, _np(a.grad)))
    assert got[0][0] == got[1][0]
    np.testing.assert_array_equal(got[0][1], got[1][1])


def test_writes_through_detach_still_refuse_backward_as_torch():
    def run(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = (x * x).sum()
        x.detach().mul_(2.0)   # detach() shares x's counter in torch
        y.backward()
    raises_as_torch(lambda: run(torch), lambda: run(tr))


def test_a_packed_sequence_written_through_its_datas_data_is_read_anew_as_torch():
    """A PackedSequence keeps a padded copy of its data, remade when the data's version moves: a write through
    `packed.data.data` moves none, and was not seen."""
    got = []
    for lib in (tr, torch):
        R = lib.nn.utils.rnn
        packed = R.pack_sequence([lib.tensor([[1.0], [2.0], [3.0]]), lib.tensor([[4.0], [5.0]])])
        R.pad_packed_sequence(packed)
        packed.data.data.mul_(2.0)
        lib.manual_seed(0)
        rnn = lib.nn.RNN(1, 2).double()
        with lib.no_grad():
            for p in rnn.parameters():
                p.fill_(0.25)
        out = R.pad_packed_sequence(rnn(packed.to(lib.float64) if lib is torch else packed.double())[0])[0]
        got.append((_np(R.pad_packed_sequence(packed)[0]), _np(out)))
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# a recorded in-place write of x.data (its source requires grad): x's memory written, .data on the tape
def _recorded_write_of_data(lib, write):
    p = lib.nn.Parameter(lib.tensor([0.5, -1.0, 2.0]))
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = p.data
    out = write(d, w)
    assert out is d
    facts = (d.requires_grad, d.is_leaf, p.requires_grad, p.is_leaf, p.grad_fn is None, p._version, d._version)
    values = _np(p).copy()
    (d * lib.tensor([1.0, -2.0, 0.5])).sum().backward()
    return facts, values, _np(w.grad), p.grad


@pytest.mark.parametrize("write", [
    lambda d, w: d.copy_(w), lambda d, w: d.add_(w), lambda d, w: d.mul_(w), lambda d, w: d.sub_(w, alpha=2.0),
    lambda d, w: d.copy_(w).mul_(w), lambda d, w: d.addcmul_(w, w),
], ids=["copy_", "add_", "mul_", "sub_ alpha", "copy_ then mul_", "addcmul_"])
def test_recorded_write_of_data_writes_the_tensor_and_records_on_data_as_torch(write):
    ours, theirs = _recorded_write_of_data(tr, write), _recorded_write_of_data(torch, write)
    assert ours[0] == theirs[0]
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)
    assert ours[3] is None and theirs[3] is None   # the parameter itself is off the tape


# ----------------------------------------------------------------------------- x[index] = value
INDEXES = [
    (0,), (slice(1, 3),), (Ellipsis, 1), (slice(None), slice(0, 2)), (1, 2), (None, 0),
    ("mask",), ("ints", [0, 2]), ("ints", [1, 1]), ("ints2", ([0, 2], [1, 0])),
]


def _index(spec, lib, x):
    if spec[0] == "mask":
        return x > 0
    if spec[0] == "ints":
        return lib.tensor(spec[1])
    if spec[0] == "ints2":
        return lib.tensor(spec[1][0]), lib.tensor(spec[1][1])
    return spec if len(spec) > 1 else spec[0]


@pytest.mark.parametrize("spec", INDEXES, ids=str)
@pytest.mark.parametrize("kind", ["number", "tensor", "broadcast"])
def test_setitem_off_the_tape_as_torch(spec, kind):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4))
    got = []
    for lib in (tr, torch):
        x = lib.tensor(a)
        index = _index(spec, lib, x)
        shape = tuple(x[index].shape)
        value = {"number": 2.5, "tensor": lib.tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape)),
                 "broadcast": lib.tensor(np.full((1,) * len(shape), -1.0))}[kind]
        x[index] = value
        got.append(_np(x))
    np.testing.assert_array_equal(got[0], got[1])


@pytest.mark.parametrize("spec", INDEXES, ids=str)
def test_setitem_recorded_on_a_computed_tensor_values_and_gradients_as_torch(spec):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 4))
    probe = torch.tensor(a)
    shape = tuple(probe[_index(spec, torch, probe)].shape)
    b = rng.standard_normal(shape[-1:])   # broadcasts along the indexed shape's leading dims
    got = []
    for lib in (tr, torch):
        w = lib.tensor(a, requires_grad=True)
        y = w * 2
        v = lib.tensor(b, requires_grad=True)
        y[_index(spec, lib, y)] = v * 3
        (y * lib.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
        got.append((_np(y), _np(w.grad), _np(v.grad)))
    for ours, theirs in zip(*got):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_setitem_value_dtype_is_converted_as_torch():
    got = []
    for lib in (tr, torch):
        x = lib.zeros(3)   # float32
        x[1:] = lib.tensor([1.0 / 3, 2.0], dtype=lib.float64)
        m = lib.zeros(3, dtype=lib.int64)
        m[0] = 2.7
        got.append((_np(x), _np(m), x.dtype == lib.float32))
    for ours, theirs in zip(*got):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("case", ["leaf", "numpy value", "list value", "shape"])
def test_setitem_refusals_as_torch(case):
    def run(lib):
        x = lib.zeros(3, 4, requires_grad=case == "leaf")
        value = {"leaf": 1.0, "numpy value": np.ones(4), "list value": [1.0] * 4, "shape": lib.ones(3)}[case]
        x[0] = value
    ours, theirs = outcome(lambda: run(tr)), outcome(lambda: run(torch))
    assert isinstance(ours, type) and issubclass(ours, theirs), (ours, theirs)


def test_setitem_on_a_parameter_under_no_grad_and_through_data_as_torch():
    got = []
    for lib in (tr, torch):
        lstm = lib.nn.LSTM(3, 4)
        lstm.bias_ih_l0.data[4:8] = 1.0   # the forget gate's bias, a classic
        with lib.no_grad():
            lstm.bias_hh_l0[4:8] = lib.zeros(4)
        got.append((_np(lstm.bias_ih_l0)[4:8], _np(lstm.bias_hh_l0)[4:8]))
    for ours, theirs in zip(*got):
        np.testing.assert_array_equal(ours, theirs)


def test_augmented_assignment_of_an_index_still_writes_once():
    got = []
    for lib in (tr, torch):
        x = lib.ones(4)
        x[1:3] += 2.0
        x[lib.tensor([0])] *= 5.0
        got.append(_np(x))
    np.testing.assert_array_equal(got[0], got[1])


@given(st.data())
def test_setitem_property_values_and_gradients_as_torch(data):
    rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((rows, cols))
    ints = data.draw(st.lists(st.integers(0, rows - 1), min_size=1, max_size=4))
    use_mask = data.draw(st.booleans())
    got = []
    for lib in (tr, torch):
        w = lib.tensor(a, requires_grad=True)
        y = w * 1.5
        index = (y > 0) if use_mask else lib.tensor(ints)
        n = int((y > 0).sum()) if use_mask else len(ints)
        v = lib.tensor(np.linspace(-1, 1, n * (1 if use_mask else cols)).reshape((n,) if use_mask else (n, cols)),
                       requires_grad=True)
        y[index] = v
        (y * lib.tensor(a)).sum().backward()
        got.append((_np(y), _np(w.grad), _np(v.grad)))
    if not use_mask and len(set(ints)) < len(ints):   # a repeated index: torch's CPU loop and numpy write in order
        got = [g[1:] for g in got]
    for ours, theirs in zip(*got):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
