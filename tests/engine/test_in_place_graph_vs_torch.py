"""In-place writes and the recorded graph, against torch 2.13 (audit 22): a refused backward leaves every
.grad as it was; fill_ and zero_ are recorded on a tensor that requires grad; a recorded write of a view is
refused rather than leaving the viewed tensor unwritten."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

W = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
WEIGHTS = [[1.0, -2.0, 3.0], [0.5, 5.0, -6.0]]


def _grad(t):
    return None if t.grad is None else np.asarray(t.grad).tolist()


VIEWS = {"T": lambda w: w.T, "row": lambda w: w[0], "reshape": lambda w: w.reshape(-1), "slice": lambda w: w[:, 1:]}


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("write", ["-= under no_grad", "optimizer.step()"])
def test_a_refused_backward_after_a_write_of_a_views_leaf_base_leaves_grad_untouched(view, write):
    """v = view of w recorded with a gradient, v * v saves v, then w is written in place: torch refuses and w.grad
    stays None; before, the walk had added w * 2's gradient into w.grad before it reached the view's node."""
    outcomes = []
    for lib in (torch, tr):
        w = lib.tensor(W, requires_grad=True)
        v = VIEWS[view](w)
        z = v * v
        if write == "optimizer.step()":
            w.grad = lib.ones_like(w)
            (torch.optim.SGD if lib is torch else tr.optim.SGD)([w], lr=0.5).step()
            w.grad = None
        else:
            with lib.no_grad():
                w -= 0.5 * lib.ones_like(w)
        y = z.sum() + (w * 2.0).sum()
        with pytest.raises(RuntimeError, match="modified by an inplace operation|modified in place"):
            y.backward()
        outcomes.append(_grad(w))
    assert outcomes[1] == outcomes[0]


def test_a_refused_second_backward_leaves_grad_untouched():
    outcomes = []
    for lib in (torch, tr):
        x = lib.tensor(W, requires_grad=True)
        y = x.exp().sum() + (x + 1.0).sum()
        y.backward()
        first = _grad(x)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()
        outcomes.append((first, _grad(x)))
    np.testing.assert_allclose(np.array(outcomes[1][1]), np.array(outcomes[0][1]), rtol=1e-6)
    np.testing.assert_allclose(np.array(outcomes[1][1]), np.array(outcomes[1][0]))


FILLS = {
    "fill_ float": lambda y, s: y.fill_(3.0),
    "fill_ int": lambda y, s: y.fill_(-2),
    "zero_": lambda y, s: y.zero_(),
    "fill_ 0-d tensor with grad": lambda y, s: y.fill_(s),
}


@pytest.mark.parametrize("fill", sorted(FILLS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fill_and_zero_of_a_tensor_that_requires_grad_are_recorded_as_torch(fill, dtype):
    results = []
    for lib in (torch, tr):
        w = lib.tensor(np.array(W, dtype), requires_grad=True)
        s = lib.tensor(np.array(1.5, dtype), requires_grad=True)
        y = w * 2.0
        out = FILLS[fill](y, s)
        assert out is y and y.requires_grad
        (y * lib.tensor(np.array(WEIGHTS, dtype))).sum().backward()
        results.append((np.asarray(y.detach()).copy(), _grad(w), _grad(s), str(y.dtype).split(".")[-1]))
    (ty, tw, ts, tdt), (oy, ow, os_, odt) = results
    np.testing.assert_array_equal(oy, ty)
    assert (ow, os_ is None, odt) == (tw, ts is None, tdt)
    if ts is not None:
        np.testing.assert_allclose(os_, ts, rtol=1e-6)


def test_fill_of_a_plain_tensor_with_a_value_that_requires_grad_is_recorded_as_torch():
    grads = []
    for lib in (torch, tr):
        s = lib.tensor(1.5, requires_grad=True)
        y = lib.zeros(2, 3)
        y.fill_(s)
        assert y.requires_grad and not y.is_leaf
        (y * lib.tensor(WEIGHTS)).sum().backward()
        grads.append(float(s.grad))
    assert grads[1] == pytest.approx(grads[0])


WRITES_OF_A_VIEW = {
    "+=": lambda v: v.__iadd__(1.0),
    "*=": lambda v: v.__imul__(3.0),
    "fill_": lambda v: v.fill_(3.0),
    "zero_": lambda v: v.zero_(),
    "clamp_": lambda v: v.clamp_(0.0, 5.0),
}


@pytest.mark.parametrize("write", sorted(WRITES_OF_A_VIEW))
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_a_recorded_write_of_a_view_of_a_parameter_is_refused_in_torchs_words(write, view):
    for lib in (torch, tr):
        w = lib.tensor(W, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation"):
            WRITES_OF_A_VIEW[write](VIEWS[view](w))
        np.testing.assert_array_equal(np.asarray(w.detach()), np.array(W))


@pytest.mark.parametrize("write", sorted(WRITES_OF_A_VIEW))
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_a_recorded_write_of_a_view_of_a_computed_tensor_never_leaves_it_unwritten(write, view):
    """torch writes y through the view (CopySlices); before, y kept its old values and the gradient ignored the
    write. Here: torch's values and gradient, or a RuntimeError naming the out-of-place forms."""
    results = []
    for lib in (torch, tr):
        w = lib.tensor(W, requires_grad=True)
        y = w * 2.0
        try:
            WRITES_OF_A_VIEW[write](VIEWS[view](y))
        except RuntimeError as e:
            assert lib is tr and "CopySlices" in str(e) and "out of place" in str(e)
            results.append("refused")
            continue
        (y * lib.tensor(WEIGHTS)).sum().backward()
        results.append((np.asarray(y.detach()).tolist(), _grad(w)))
    assert results[1] in ("refused", results[0])



DTYPES = {"float32": np.float32, "float64": np.float64}
UPDATES = ["__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__"]


def _tensor_of(lib, dtype, values):
    return lib.tensor(np.array(values).astype(DTYPES[dtype]))


@pytest.mark.parametrize("op", UPDATES)
@pytest.mark.parametrize("x_dtype,y_dtype", [("float32", "float64"), ("float64", "float32")])
@pytest.mark.parametrize("shape", ["(3,)", "0-d"])
def test_an_update_with_an_operand_of_the_other_float_dtype_is_torchs(op, x_dtype, y_dtype, shape):
    """float32 x += float64 y: torch computes in float64 and writes the result cast to float32 (x keeps its dtype,
    its views see the values); float64 x += float32 y is computed in float64. Both were refused."""
    results = []
    for lib in (torch, tr):
        x = _tensor_of(lib, x_dtype, [1.5, -2.25, 3.0] if shape == "(3,)" else 1.5)
        view = x[1:] if shape == "(3,)" else x.reshape(1)
        y = _tensor_of(lib, y_dtype, [0.1, 0.7, 2.0] if shape == "(3,)" else 0.7)
        assert getattr(x, op)(y) is x
        results.append((str(x.dtype).split(".")[-1], np.asarray(x).tolist(), np.asarray(view).tolist()))
    assert results[1] == results[0]


@pytest.mark.parametrize("op", ["__iadd__", "__isub__", "__imul__", "__itruediv__"])
@pytest.mark.parametrize("x_dtype,y_dtype", [("float32", "float64"), ("float64", "float32")])
def test_a_recorded_update_with_the_other_float_dtype_has_torchs_gradients(op, x_dtype, y_dtype):
    results = []
    for lib in (torch, tr):
        w = _tensor_of(lib, x_dtype, W).requires_grad_()
        b = _tensor_of(lib, y_dtype, WEIGHTS).requires_grad_()
        x = w * 1.5
        getattr(x, op)(b)
        (x * x).sum().backward()
        results.append([np.asarray(t.detach() if hasattr(t, "detach") else t) for t in (x, w.grad, b.grad)])
    for theirs, ours in zip(*results):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


OVERLAPPING = {   # torch refuses each
    "x += x.T": lambda x: x.__iadd__(x.T),
    "x -= x.detach().T": lambda x: x.__isub__(x.detach().T),
    "x *= x[0]": lambda x: x.__imul__(x[0]),
    "x /= x[1:2]": lambda x: x.__itruediv__(x[1:2]),
    "x[1:] += x[:-1]": lambda x: x[1:].__iadd__(x[:-1]),
    "x.T += x": lambda x: x.T.__iadd__(x),
    "x //= x.T": lambda x: x.__ifloordiv__(x.T),
    "x %= x.T": lambda x: x.__imod__(x.T),
    "x.scatter_(src=x)": lambda x: x.scatter_(0, _index(x), x),
    "x.scatter_add_(src=x.T)": lambda x: x.scatter_add_(0, _index(x), x.T),
}
SAME_OR_DISJOINT = {   # torch computes each
    "x += x": lambda x: x.__iadd__(x),
    "x *= x.detach()": lambda x: x.__imul__(x.detach()),
    "x[0] -= x[0]": lambda x: x[0].__isub__(x[0]),
    "x[0] += x[1]": lambda x: x[0].__iadd__(x[1]),
    "x[:, ::2] += x[:, 1:2]": lambda x: x[:, ::2].__iadd__(x[:, 1:2]),
    "x += x.clone().T": lambda x: x.__iadd__(x.clone().T),
}


def _index(x):
    return (torch if isinstance(x, torch.Tensor) else tr).tensor([[2, 0, 1]])


@pytest.mark.parametrize("write", sorted(OVERLAPPING))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_update_with_an_operand_sharing_part_of_its_memory_is_refused_as_torch(write, dtype):
    """x += x.T would read elements already written: torch refuses it; before, the write was computed from a copy.
    The same elements (x += x) or other elements of the same memory (x[0] += x[1]) are computed, as torch's."""
    results = []
    for lib in (torch, tr):
        x = lib.tensor(np.arange(1.0, 10.0, dtype=dtype).reshape(3, 3))
        with pytest.raises(RuntimeError, match="some elements of the input tensor and the written-to tensor refer "
                                               "to a single memory location"):
            OVERLAPPING[write](x)
        unchanged = np.asarray(x).tolist()
        for name in sorted(SAME_OR_DISJOINT):
            SAME_OR_DISJOINT[name](x)
        results.append((unchanged, np.asarray(x).tolist()))
    assert results[1] == results[0]


@pytest.mark.parametrize("write", ["x += x.T", "x *= x[0]", "x -= x.detach().T", "x.scatter_(src=x)"])
def test_a_recorded_update_with_an_overlapping_operand_is_refused_as_torch(write):
    for lib in (torch, tr):
        w = lib.tensor(np.ones((3, 3), np.float32), requires_grad=True)
        x = w * 2.0
        with pytest.raises(RuntimeError, match="refer to a single memory location"):
            OVERLAPPING[write](x)


def _functional(lib):
    return torch.nn.functional if lib is torch else tr.nn.functional


SECOND_BACKWARD = {   # torch saves a tensor for each: a second backward is refused
    "x * 2.0": lambda x, y, lib: x * 2.0,
    "2.0 * x": lambda x, y, lib: 2.0 * x,
    "x / 2": lambda x, y, lib: x / 2,
    "x * 0-d tensor": lambda x, y, lib: x * lib.tensor(2.0),
    "x.mul(3)": lambda x, y, lib: x.mul(3),
    "0-d x.exp()": lambda x, y, lib: x.sum().exp(),
    "0-d x.tanh()": lambda x, y, lib: x.sum().tanh(),
    "0-d x.sigmoid()": lambda x, y, lib: x.sum().sigmoid(),
    "0-d x.relu()": lambda x, y, lib: x.sum().relu(),
    "0-d x * 0-d y": lambda x, y, lib: x.sum() * y.sum(),
    "0-d x ** 2": lambda x, y, lib: x.sum() ** 2,
    "0-d mse_loss": lambda x, y, lib: _functional(lib).mse_loss(x.sum(), y.sum()),
}
RUNS_AGAIN = {   # torch saves none: a second backward runs
    "x + 1": lambda x, y, lib: x + 1,
    "x.mean()": lambda x, y, lib: x.mean(),
    "x.mean(-1, keepdim=True)": lambda x, y, lib: x.mean(-1, keepdim=True),
    "x.add(y, alpha=2.0)": lambda x, y, lib: x.add(y, alpha=2.0),
    "x.sub(y, alpha=3)": lambda x, y, lib: x.sub(y, alpha=3),
    "x.sum()": lambda x, y, lib: x.sum(),
    "-x": lambda x, y, lib: -x,
    "x.T": lambda x, y, lib: x.T,
}


def _second_backward(lib, make):
    x = lib.tensor(W, requires_grad=True)
    y = lib.tensor(WEIGHTS, requires_grad=True)
    z = make(x, y, lib).sum()
    z.backward()
    try:
        z.backward()
    except RuntimeError as e:
        assert "backward through the graph a second time" in str(e)
        return "refused", _grad(x)
    return "ran", _grad(x), _grad(y)


@pytest.mark.parametrize("op", sorted(SECOND_BACKWARD))
def test_a_second_backward_through_an_op_that_saved_a_scalar_tensor_is_refused_as_torch(op):
    """x * 2.0 saves the 2 (torch: a 0-d tensor), 0-d x.exp() its 0-d result: torch frees them and refuses a second
    backward; before, a 0-d saved value was not counted as a tensor and the second backward ran. The ops torch runs
    again (x + 1, x.mean(), x.add(y, alpha=2)) still run, with torch's gradients."""
    theirs, ours = _second_backward(torch, SECOND_BACKWARD[op]), _second_backward(tr, SECOND_BACKWARD[op])
    assert ours[0] == theirs[0] == "refused"
    np.testing.assert_allclose(np.array(ours[1]), np.array(theirs[1]), rtol=1e-6)
    for name in sorted(RUNS_AGAIN):
        theirs, ours = _second_backward(torch, RUNS_AGAIN[name]), _second_backward(tr, RUNS_AGAIN[name])
        assert ours[0] == theirs[0] == "ran", name
        for o, t in zip(ours[1:], theirs[1:]):
            assert (o is None) == (t is None), name
            if t is not None:
                np.testing.assert_allclose(np.array(o), np.array(t), rtol=1e-6, err_msg=name)


# A leaf written in place between forward and backward refuses the backward only where an operation saved it for the
# gradients asked for, as torch's (a state_dict value or a no_grad() write; it refused wherever it had been read)
def _linear(lib, w, x, b):
    return lib.nn.functional.linear(x, w, b)


GRAPHS = {   # name: (f(lib, w, x, b), which of w, x, b requires grad)
    "linear, input without grad": (_linear, (True, False, True)),
    "linear, input with grad": (_linear, (True, True, True)),
    "linear, frozen weight": (_linear, (False, True, False)),
    "x @ w.T, x without grad": (lambda lib, w, x, b: x @ w.t(), (True, False, False)),
    "x @ w.T, x with grad": (lambda lib, w, x, b: x @ w.t(), (True, True, False)),
    "w.T * b, b without grad": (lambda lib, w, x, b: w.t() * b, (True, False, False)),
    "w.T * b, both with grad": (lambda lib, w, x, b: w.t() * b, (True, False, True)),
    "w.T + b": (lambda lib, w, x, b: w.t() + b, (True, False, True)),
    "w.exp() (saves its result)": (lambda lib, w, x, b: w.exp().t() + b, (True, False, False)),
    "w.sin() (saves w)": (lambda lib, w, x, b: w.sin().t() + b, (True, False, False)),
    "(x @ w.T) ** 2": (lambda lib, w, x, b: (x @ w.t() + b) ** 2, (True, False, True)),
}


def _written_between_forward_and_backward(lib, graph, written):
    f, grads = GRAPHS[graph]
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (5, 4), (3,)]
    w, x, b = (lib.tensor(rng.standard_normal(shape), requires_grad=g) for shape, g in zip(shapes, grads))
    out = f(lib, w, x, b).sum()
    with lib.no_grad():
        {"w": w, "x": x, "b": b}[written].mul_(0.5)
    try:
        out.backward()
    except RuntimeError:
        return "refused"
    return [None if t.grad is None else t.grad.numpy().copy() for t in (w, x, b)]


@pytest.mark.parametrize("written", ["w", "x", "b"])
@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_a_leaf_written_before_backward_refuses_only_where_torch_saved_it(graph, written):
    ours, theirs = (_written_between_forward_and_backward(lib, graph, written) for lib in (tr, torch))
    if theirs == "refused" or ours == "refused":
        assert ours == theirs
        return
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_state_dict_weight_written_between_forward_and_backward_as_torch():
    """The case torch code meets: a Linear whose input needs no gradient saved its input, not its weight."""
    outcomes = []
    for lib in (tr, torch):
        lin = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            lin.weight.copy_(lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]))
            lin.bias.copy_(lib.tensor([0.125, -0.75]))
        row = []
        for input_grad in (False, True):
            x = lib.ones(4, 3, dtype=lib.float64, requires_grad=input_grad)
            out = lin(x).pow(2).sum()
            lin.state_dict()["weight"].add_(1.0)   # shares the weight's memory and its version counter
            try:
                out.backward()
                row.append(lin.weight.grad.numpy().copy())
            except RuntimeError:
                row.append("refused")
            lin.zero_grad()
        outcomes.append(row)
    assert outcomes[0][1] == outcomes[1][1] == "refused"
    np.testing.assert_allclose(outcomes[0][0], outcomes[1][0], rtol=1e-12)
