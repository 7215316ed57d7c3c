"""In-place operations write the tensor's memory, as torch's write its storage: the views taken before
(slices, view/reshape, transpose, unsqueeze/squeeze/expand, detach(), numpy(), the array given to from_numpy)
see the new values, and a graph recorded before that read the tensor refuses backward rather than compute
with the new values. Each case runs the same operations on torch tensors and ours."""
import numpy as np
import pytest

import tinygrad_rnn as tr
import tinygrad_rnn.nn as nn

torch = pytest.importorskip("torch")

VIEWS = {
    "slice": lambda x: x[1:],
    "index": lambda x: x[0],
    "view": lambda x: x.view(3, 2),
    "reshape": lambda x: x.reshape(-1),
    "T": lambda x: x.T,
    "transpose": lambda x: x.transpose(0, 1),
    "unsqueeze": lambda x: x.unsqueeze(0),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "expand": lambda x: x.unsqueeze(0).expand(2, 2, 3),
    "detach": lambda x: x.detach(),
    "numpy": lambda x: x.numpy(),
}

WRITES = {
    "+=": lambda x: x.__iadd__(1.5),
    "-= tensor": lambda x, lib: x.__isub__(lib.ones(x.shape, dtype=x.dtype)),
    "*=": lambda x: x.__imul__(3.0),
    "/=": lambda x: x.__itruediv__(2.0),
    "//=": lambda x: x.__ifloordiv__(0.5),
    "%=": lambda x: x.__imod__(0.7),
    "zero_": lambda x: x.zero_(),
    "fill_": lambda x: x.fill_(7.0),
    "clamp_": lambda x: x.clamp_(0.5, 2.0),
}


def _write(name, x, lib):
    fn = WRITES[name]
    return fn(x, lib) if fn.__code__.co_argcount == 2 else fn(x)


def _values(v):
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v)


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("grad_mode", [True, False])
def test_views_taken_before_an_in_place_write_see_it(view, write, grad_mode):
    start = np.arange(6.0).reshape(2, 3) / 4
    results = []
    for lib in (torch, tr):
        x = lib.tensor(start.astype(np.float32))
        v = VIEWS[view](x)
        with lib.set_grad_enabled(grad_mode):
            _write(write, x, lib)
        results.append((_values(x).copy(), _values(v).copy()))
    (tx, tv), (ox, ov) = results
    np.testing.assert_allclose(ox, tx, rtol=1e-6)
    np.testing.assert_allclose(ov, tv, rtol=1e-6)


@pytest.mark.parametrize("view", ["slice", "index", "view", "T", "detach"])
def test_a_write_through_a_view_changes_its_base_and_its_other_views(view):
    results = []
    for lib in (torch, tr):
        x = lib.zeros(2, 3)
        other = x[:, 1:]
        v = VIEWS[view](x)
        v += 2.0
        v.mul_(3.0) if hasattr(v, "mul_") else v.__imul__(3.0)
        results.append((_values(x).copy(), _values(other).copy()))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, theirs)


def test_from_numpy_and_the_constructor_share_the_array_and_tensor_copies_it():
    for make, shares in ((torch.from_numpy, True), (torch.Tensor, True), (torch.tensor, False)):
        ours = {torch.from_numpy: tr.from_numpy, torch.Tensor: tr.Tensor, torch.tensor: tr.tensor}[make]
        a, b = np.zeros(3, np.float32), np.zeros(3, np.float32)
        t, o = make(a), ours(b)
        t += 1.0
        o += 1.0
        o.fill_(2.0)
        t.fill_(2.0)
        np.testing.assert_array_equal(b, a)
        assert (a[0] == 2.0) == shares


def test_int_index_tensor_updates_are_seen_by_its_views():
    for lib in (torch, tr):
        idx = lib.tensor([1, 2, 3])
        v = idx[1:]
        idx += 1
        idx *= 2
        assert v.tolist() == [6, 8]


def test_writing_an_expanded_tensor_is_refused_in_torchs_words():
    for lib in (torch, tr):
        e = lib.zeros(3).expand(2, 3)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single"):
            e += 1.0


def test_float_and_to_own_dtype_return_the_tensor_itself_so_writes_are_shared():
    for lib in (torch, tr):
        x = lib.zeros(2)
        v = x[1:]
        assert x.float() is x and x.to(x.dtype) is x
        x.float().__iadd__(1.0)
        x.to(x.dtype).__imul__(3.0)
        assert v.tolist() == [3.0]


def _backward_after_write(lib, op, target):
    """(w op b).sum() recorded, then an in-place write under no_grad to `target` (b or a view of it): the
    gradient of w, or "refused"."""
    w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = lib.tensor([4.0, 5.0, 6.0])
    y = op(w, b).sum()
    with lib.no_grad():
        t = {"b": b, "slice of b": b[1:], "detach of b": b.detach()}[target]
        t += 10.0
    try:
        y.backward()
    except RuntimeError:
        return "refused"
    return _values(w.grad).tolist()


@pytest.mark.parametrize("target", ["b", "slice of b", "detach of b"])
def test_a_graph_that_saved_the_tensor_refuses_backward_after_the_write_as_torch(target):
    mul = lambda w, b: w * b  # noqa: E731  (Mul saves b: torch refuses)
    assert _backward_after_write(torch, mul, target) == "refused"
    assert _backward_after_write(tr, mul, target) == "refused"


@pytest.mark.parametrize("target", ["b", "slice of b"])
def test_a_graph_that_only_read_the_tensor_never_uses_its_new_values(target):
    """torch's Add saved nothing and gives the gradient; ours checks every leaf input it read, and refuses
    (docs/torch_api.md): an error, never a gradient computed with the new values."""
    add_sq = lambda w, b: (w + b) * w  # noqa: E731
    theirs = _backward_after_write(torch, add_sq, target)
    ours = _backward_after_write(tr, add_sq, target)
    assert ours in ("refused", theirs)
    assert _backward_after_write(tr, lambda w, b: w + b, target) in ("refused", _backward_after_write(
        torch, lambda w, b: w + b, target))


def test_a_computed_tensor_written_under_no_grad_refuses_the_graph_that_saved_it_as_torch():
    """A non-leaf's memory is written, as torch's: h and its view see the writes, and the graph that squared h
    refuses backward, as torch's (h got a new array, and that graph gave the gradient of the old values)."""
    w_start = np.array([1.0, 2.0, 3.0], np.float32)
    grads = []
    for lib in (torch, tr):
        w = lib.tensor(w_start, requires_grad=True)
        h = w * 2.0
        y = (h * h).sum()
        with lib.no_grad():
            v = h[1:]
            v += 100.0
            h += 1.0
        try:
            y.backward()
            grads.append(_values(w.grad).tolist())
        except RuntimeError:
            grads.append("refused")
        grads.append(_values(h.detach()).tolist())
    h_written = (2 * w_start + np.array([1.0, 101.0, 101.0], np.float32)).tolist()
    assert grads == ["refused", h_written, "refused", h_written]   # torch's, then ours


@pytest.mark.parametrize("through", ["h[1:].detach()", "h[1:].unsqueeze(0).detach()"])
def test_a_write_through_a_detached_view_whose_view_is_gone_refuses_as_torch(through):
    """h[1:] taken with grad mode on is a recorded view; its detach() outlives it. The write is noted where the
    backward looks (h's node, which lives with h), so the graph that squared h refuses, as torch's: before, it was
    noted on the gone view's node, and the backward gave the gradient of the new values."""
    outcomes = []
    for lib in (torch, tr):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = w * 2.0
        y = (h * h).sum()
        detached = h[1:].detach() if through == "h[1:].detach()" else h[1:].unsqueeze(0).detach()
        with lib.no_grad():
            detached.zero_()
        try:
            y.backward()
            outcomes.append(_values(w.grad).tolist())
        except RuntimeError:
            outcomes.append("refused")
    assert outcomes == ["refused", "refused"]


def test_updating_a_layers_output_in_place_leaves_its_next_forward_and_backward_alone():
    rng = np.random.default_rng(0)
    x = tr.tensor(rng.standard_normal((3, 5, 4)).astype(np.float32))

    def run(write, grad):
        tr.manual_seed(0)
        m = nn.LSTM(4, 6, num_layers=2, batch_first=True)
        with tr.set_grad_enabled(grad):
            out, (h, c) = m(x)
        if write:
            with tr.no_grad():
                out += 1.0
                h.mul_(2.0) if hasattr(h, "mul_") else h.__imul__(2.0)
                c.zero_()
        out2, (h2, c2) = m(x)
        (out2.sum() + h2.sum() + c2.sum()).backward()
        return ([out2.numpy().copy(), h2.numpy().copy(), c2.numpy().copy()]
                + [p.grad.numpy().copy() for p in m.parameters()])

    for grad in (False, True):
        for a, b in zip(run(False, grad), run(True, grad)):
            np.testing.assert_array_equal(a, b)


def test_sgd_by_hand_under_no_grad_updates_the_parameter_and_its_views():
    results = []
    for lib in (torch, tr):
        p = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        (p * p).sum().backward()
        row, pt = p.detach()[0], p.detach().T
        g = p.grad
        with lib.no_grad():
            p -= 0.1 * g
            p *= lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        results.append([_values(t).copy() for t in (p.detach(), row, pt)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


COPIES_OR_VIEWS = {
    "T.contiguous": lambda x: x.T.contiguous(),
    "contiguous": lambda x: x.contiguous(),
    "flip": lambda x: x.flip(0),
    "repeat ones": lambda x: x.repeat(1, 1),
    "repeat of a size-1 dim": lambda x: x[:, :1].repeat(1, 3),
    "T.reshape": lambda x: x.T.reshape(-1),
    "reshape": lambda x: x.reshape(3, 2),
    "chunk": lambda x: x.chunk(3, 1)[1],
    "unbind": lambda x: x.unbind(0)[1],
    "mask index": lambda x: x[x > 1],
}


@pytest.mark.parametrize("make", sorted(COPIES_OR_VIEWS))
@pytest.mark.parametrize("grad_mode", [True, False])
def test_writing_a_result_changes_its_input_exactly_where_torch_returns_a_view(make, grad_mode):
    results = []
    for lib in (torch, tr):
        x = lib.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
        with lib.set_grad_enabled(grad_mode):
            r = COPIES_OR_VIEWS[make](x)
            r += 100.0
        results.append((_values(x).copy(), _values(r).copy()))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, theirs)


OPERANDS = {   # (ours, torch's), for x of shape (2, 3)
    "python float": lambda lib: 0.25,
    "python int": lambda lib: 3,
    "same-shape tensor": lambda lib: lib.tensor(np.full((2, 3), 0.5, np.float32)),
    "bias row tensor": lambda lib: lib.tensor(np.array([1.0, 2.0, 4.0], np.float32)),
    "bias row array": lambda lib: np.array([1.0, 2.0, 4.0], np.float32) if lib is tr else torch.tensor([1.0, 2.0, 4.0]),
    "column tensor": lambda lib: lib.tensor(np.array([[2.0], [4.0]], np.float32)),
    "0-d tensor": lambda lib: lib.tensor(np.float32(2.0)),
    "mask": lambda lib: lib.tensor([True, False, True]),
}


@pytest.mark.filterwarnings("ignore:divide by zero")   # x /= mask: inf where False, as torch
@pytest.mark.parametrize("operand", sorted(OPERANDS))
@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__itruediv__"])
def test_in_place_operators_with_every_operand_kind_write_the_memory_views_see(operand, op):
    results = []
    for lib in (torch, tr):
        x = lib.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3) + 1)
        views = (x[1], x.T, x.detach())
        with lib.no_grad():
            if op == "__isub__" and operand == "mask":   # refused by both, RuntimeError
                with pytest.raises(RuntimeError, match="Subtraction"):
                    x -= OPERANDS[operand](lib)
            else:
                getattr(x, op)(OPERANDS[operand](lib))
        results.append([_values(t).copy() for t in (x,) + views])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__ifloordiv__", "__imod__"])
def test_int_updates_write_the_memory_and_refuse_what_torch_refuses(op):
    results = []
    for lib in (torch, tr):
        idx = lib.tensor([5, 7, 9])
        v = idx[1:]
        getattr(idx, op)(2)
        with pytest.raises(RuntimeError):
            idx /= 2   # int64 /= gives floats: refused, as torch
        with pytest.raises(RuntimeError):
            idx += 1.5
        results.append((idx.tolist(), v.tolist()))
    assert results[1] == results[0]


METHODS = {
    "clamp_ both": lambda x, lib: x.clamp_(-0.5, 1.0),
    "clamp_ min": lambda x, lib: x.clamp_(min=0),
    "clamp_ max": lambda x, lib: x.clamp_(max=-0.0),
    "clamp_ min > max": lambda x, lib: x.clamp_(2.0, 1.0),
    "clip_": lambda x, lib: x.clip_(-1, 1),
    "fill_ float": lambda x, lib: x.fill_(-2.7),
    "fill_ int": lambda x, lib: x.fill_(3),
    "fill_ 0-d tensor": lambda x, lib: x.fill_(lib.tensor(1.5)),
    "zero_": lambda x, lib: x.zero_(),
}


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_in_place_methods_keep_torchs_values_bits_and_views(method, dtype):
    start = np.array([-3.0, -0.0, 0.0, 0.25, 2.0, np.nan])
    results = []
    for lib in (torch, tr):
        x = lib.tensor(np.nan_to_num(start).astype(dtype) if dtype == "int64" else start.astype(dtype))
        v = x[1:]
        try:
            with lib.no_grad():
                METHODS[method](x, lib)
        except RuntimeError:
            results.append("refused")
            continue
        results.append([_values(t).copy() for t in (x, v)])
    if results[0] == "refused" or results[1] == "refused":
        assert results[1] == results[0]
        return
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


WRITE_PARAMETER = {"zero_": lambda p: p.zero_(), "fill_": lambda p: p.fill_(1.0), "clamp_": lambda p: p.clamp_(-1, 1)}


def test_in_place_methods_on_a_parameter_under_no_grad_refuse_the_old_graph_as_torch():
    for method in sorted(WRITE_PARAMETER):
        outcomes = []
        for lib in (torch, tr):
            p = lib.tensor([0.5, -2.0, 3.0], requires_grad=True)
            y = (p * p).sum()
            detached = p.detach()
            with lib.no_grad():
                WRITE_PARAMETER[method](p)
            with pytest.raises(RuntimeError):
                y.backward()
            outcomes.append((_values(p.detach()).tolist(), _values(detached).tolist()))
        assert outcomes[1] == outcomes[0]


# ----------------------------------------------------------------------------- the version counter
# torch counts the in-place writes of a tensor's memory in one counter that the tensor and its views (and
# detach()) share: a write through any of them moves every one's _version.
SHARERS = {name: make for name, make in VIEWS.items() if name != "numpy"}
SEQUENCE = ["+=", "zero_", "fill_", "clamp_", "*="]


@pytest.mark.parametrize("base", ["leaf", "computed"])
def test_a_tensor_and_its_views_share_one_version_counter_as_torch(base):
    """A write through the tensor, then through each of its views in turn (under no_grad, as a computed tensor's
    views must be written), each followed by every one's _version: torch's numbers."""
    start = np.arange(6.0).reshape(2, 3) / 4
    versions = []
    for lib in (torch, tr):
        x = lib.tensor(start)
        if base == "computed":
            x = lib.tensor(start, requires_grad=True) * 2   # its views are then recorded ones
        views = {name: make(x) for name, make in SHARERS.items()}
        views["detach of a slice"] = x[1:].detach()
        seen = []
        for k, writer in enumerate(["x"] + [name for name in views if name != "expand"]):
            with lib.no_grad():
                _write(SEQUENCE[k % len(SEQUENCE)], x if writer == "x" else views[writer], lib)
            seen.append([x._version] + [v._version for v in views.values()])
        versions.append(seen)
    assert versions[1] == versions[0]


def test_a_recorded_in_place_write_moves_the_version_as_torch():
    """With grad mode on a write is recorded (here the tensor becomes the write's result on the tape): torch's
    counter still counts it, and the writes after it, through the tensor or its detach()."""
    start = np.arange(6.0).reshape(2, 3) / 4
    versions = []
    for lib in (torch, tr):
        a = lib.tensor(start, requires_grad=True)
        x, z = lib.tensor(start), a * 2
        seen = []
        x += a   # a plain tensor takes a gradient: recorded
        z += 1
        z *= a
        seen.append([x._version, z._version])
        with lib.no_grad():
            z.detach().zero_()
            x.fill_(1.0)
        seen.append([x._version, z._version, z.detach()._version, z[0]._version])
        versions.append(seen)
    assert versions[1] == versions[0]
