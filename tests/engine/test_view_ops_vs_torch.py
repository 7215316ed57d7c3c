"""torch's view operations that were missing (session 24): select, narrow, diagonal, movedim / moveaxis (methods and
functions) and Tensor.unfold, each held to torch 2.13 over drawn shapes and arguments (values, shapes and dtypes,
float32 and float64, or the type of the error torch raises), their gradients to torch's and to finite differences,
and their results as views: a write through one under no_grad() reaches the tensor and bumps its version, a
recorded write is refused as for the other views (tests/engine/test_views_vs_torch.py holds them to the same rules
as x[i], x.T...). And the write of a computed tensor under no_grad(): `y = a * 2; y.detach().zero_()` left y as it
was (y got a new array), where torch's zeroes y and refuses a backward that saved it. Skipped without torch."""
import numpy as np
import pytest
from conftest import outcome
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
DTYPES = ["float32", "float64"]


def same_outcome(call):
    """call(tr) and call(torch) give the same values, shape and dtype (bit for bit: a view copies nothing), or
    both raise, ours the type torch raises (or a subclass of it)."""
    ours, theirs = outcome(lambda: call(tr)), outcome(lambda: call(torch))
    if isinstance(theirs, type):
        assert isinstance(ours, type) and issubclass(ours, theirs), f"torch raised {theirs.__name__}, we {ours}"
        return False
    assert not isinstance(ours, type), f"torch returned {theirs}, tinygrad_rnn raised {ours.__name__}"
    assert ours[0].shape == theirs[0].shape and ours[1] == theirs[1]
    np.testing.assert_array_equal(ours[0], theirs[0])
    return True


def same_gradients(fn, array, seed=0):
    """fn(tensor) in both libraries, backward with one random cotangent: the input's gradients, equal (each entry
    is a sum of cotangent entries, in an order that may differ where unfold's windows overlap)."""
    grads = []
    for lib in (tr, torch):
        x = lib.tensor(array, requires_grad=True)
        out = fn(x)
        cotangent = np.random.default_rng(seed).standard_normal(out.shape).astype(array.dtype)
        out.backward(torch.tensor(cotangent) if lib is torch else cotangent)
        grads.append(np.asarray(x.grad))
    assert grads[0].dtype == grads[1].dtype == array.dtype
    tol = 16 * np.finfo(array.dtype).eps   # (cotangents of about 1, at most 5 of them summed)
    np.testing.assert_allclose(grads[0], grads[1], rtol=tol, atol=tol)


def check_op(fn, array):
    """Values (or error) as torch's; where torch gives a result of a float array, gradients as torch's and as
    finite differences (float64)."""
    if not same_outcome(lambda lib: fn(lib.tensor(array))):
        return
    same_gradients(fn, array)
    wide = tr.tensor(array.astype(np.float64), requires_grad=True)
    if fn(wide).numel():
        assert tr.gradcheck(fn, [wide])


@st.composite
def arrays(draw, min_dims=0, max_dims=3):
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=min_dims, max_size=max_dims), label="shape"))
    dtype = draw(st.sampled_from(DTYPES), label="dtype")
    seed = draw(st.integers(0, 2 ** 16), label="seed")
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def dims(ndim):
    """A dim of an ndim-D tensor, or one just out of range either side."""
    wrap = max(ndim, 1)
    return st.integers(-wrap - 1, wrap)


# ----------------------------------------------------------------------------- values, errors and gradients
@given(data=st.data())
def test_select_as_torch(data):
    """Tensor.select and tr.select were missing (AttributeError)."""
    a = data.draw(arrays())
    dim, index = data.draw(dims(a.ndim), label="dim"), data.draw(st.integers(-5, 5), label="index")
    check_op(lambda x: x.select(dim, index), a)
    same_outcome(lambda lib: lib.select(lib.tensor(a), dim, index))
    same_outcome(lambda lib: lib.select(input=lib.tensor(a), dim=dim, index=index))
    same_outcome(lambda lib: lib.tensor(a).select(dim=dim, index=index))


@given(data=st.data())
def test_narrow_as_torch(data):
    """Tensor.narrow and tr.narrow were missing; start may be negative or a 0-d int64 tensor, as torch's."""
    a = data.draw(arrays())
    dim, start = data.draw(dims(a.ndim), label="dim"), data.draw(st.integers(-5, 5), label="start")
    length = data.draw(st.integers(-1, 5), label="length")
    check_op(lambda x: x.narrow(dim, start, length), a)
    same_outcome(lambda lib: lib.narrow(lib.tensor(a), dim, start, length))
    same_outcome(lambda lib: lib.tensor(a).narrow(dim=dim, start=lib.tensor(start), length=length))
    same_outcome(lambda lib: lib.tensor(a).narrow(dim, lib.tensor(float(start)), length))   # RuntimeError
    same_outcome(lambda lib: lib.narrow(input=lib.tensor(a), dim=dim, start=start, length=length))


@given(data=st.data())
def test_diagonal_as_torch(data):
    """Tensor.diagonal and tr.diagonal were missing: the other dims first, the diagonal last, as torch."""
    a = data.draw(arrays())
    offset = data.draw(st.integers(-5, 5), label="offset")
    dim1, dim2 = data.draw(dims(a.ndim), label="dim1"), data.draw(dims(a.ndim), label="dim2")
    check_op(lambda x: x.diagonal(offset, dim1, dim2), a)
    same_outcome(lambda lib: lib.tensor(a).diagonal())
    same_outcome(lambda lib: lib.diagonal(lib.tensor(a), offset))
    same_outcome(lambda lib: lib.diagonal(input=lib.tensor(a), offset=offset, dim1=dim1, dim2=dim2))
    same_outcome(lambda lib: lib.tensor(a).diagonal(dim2=dim2, dim1=dim1))


@st.composite
def moves(draw, ndim):
    """movedim's source or destination: an int, or a tuple of some (maybe repeated, maybe out of range)."""
    if draw(st.booleans()):
        return draw(dims(ndim))
    return tuple(draw(st.lists(dims(ndim), max_size=max(ndim, 1))))


@given(data=st.data())
def test_movedim_and_moveaxis_as_torch(data):
    """Tensor.movedim / moveaxis and tr.movedim / moveaxis were missing (an int and a tuple together are a TypeError,
    as torch's)."""
    a = data.draw(arrays())
    source, destination = data.draw(moves(a.ndim), label="source"), data.draw(moves(a.ndim), label="destination")
    check_op(lambda x: x.movedim(source, destination), a)
    same_outcome(lambda lib: lib.tensor(a).moveaxis(source, destination))
    same_outcome(lambda lib: lib.movedim(lib.tensor(a), source, destination))
    same_outcome(lambda lib: lib.moveaxis(input=lib.tensor(a), source=source, destination=destination))


@given(data=st.data())
def test_unfold_as_torch(data):
    """Tensor.unfold was missing: the windows along a dim, their entries as a new last dim."""
    a = data.draw(arrays())
    dimension = data.draw(dims(a.ndim), label="dimension")
    size, step = data.draw(st.integers(-1, 5), label="size"), data.draw(st.integers(-1, 3), label="step")
    check_op(lambda x: x.unfold(dimension, size, step), a)
    same_outcome(lambda lib: lib.tensor(a).unfold(dimension=dimension, size=size, step=step))


@pytest.mark.parametrize("call", ["x.select(0, 1.0)", "x.select(0.0, 1)", "x.narrow(0, 0, 1.5)",
                                  "x.diagonal(0.5)", "x.movedim(0.0, 1)", "x.unfold(0, 2.0, 1)",
                                  "x.select(0, tr_or_torch.tensor(1.0))"])
def test_a_float_where_an_int_is_taken_is_a_type_error_as_torch(call):
    for lib in (torch, tr):
        with pytest.raises(TypeError):
            eval(call, {}, {"x": lib.ones(3, 4), "tr_or_torch": lib})   # noqa: S307 - the calls above


# ----------------------------------------------------------------------------- views
START = np.arange(24.0).reshape(2, 3, 4) / 8 - 1
VIEWS = {
    "select": lambda x: x.select(1, -1),
    "narrow": lambda x: x.narrow(-1, 1, 2),
    "diagonal": lambda x: x.diagonal(),
    "diagonal of dims 2, 1, offset -1": lambda x: x.diagonal(-1, 2, 1),
    "movedim": lambda x: x.movedim(0, -1),
    "moveaxis": lambda x: x.moveaxis((2, 0), (0, 1)),
    "unfold": lambda x: x.unfold(2, 2, 2),
    "unfold with gaps": lambda x: x.unfold(1, 1, 2),
}


def _values(t):
    """A copy of a tensor's values (or of a .grad, an array here)."""
    return np.array(t.detach().numpy() if hasattr(t, "detach") else t, copy=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", sorted(VIEWS))
def test_a_write_through_the_view_under_no_grad_writes_the_tensor_and_bumps_its_version(form, dtype):
    """A plain tensor and a parameter (its view taken with grad mode on, then written under no_grad()): the write
    reaches the tensor, its version goes up by one per write, and a graph that saved the view refuses backward."""
    def run(lib):
        out = []
        for requires_grad in (False, True):
            x = lib.tensor(START.astype(dtype), requires_grad=requires_grad)
            v = VIEWS[form](x)
            saved = (v * v).sum() if requires_grad else None
            with lib.no_grad():
                v += 1.5
                v *= 2.0
            out += [_values(x), _values(v), x._version]
            with lib.no_grad():
                x -= 0.25
            out += [_values(v), x._version]
            if saved is not None:
                with pytest.raises(RuntimeError):
                    saved.backward()
        return out

    theirs, ours = run(torch), run(tr)
    assert len(ours) == len(theirs)
    for a, b in zip(theirs, ours):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("form", sorted(VIEWS))
def test_a_recorded_write_of_the_view_is_refused_as_for_the_other_views(form):
    """Of a parameter's view: torch's RuntimeError, in its words' gist. Of a computed tensor's view: torch writes
    the tensor too (CopySlices), which is not done here: refused, as `y[0] += 1` is (never silently different)."""
    for lib in (torch, tr):
        p = lib.tensor(START, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation"):
            VIEWS[form](p).zero_()
    y = tr.tensor(START, requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="CopySlices"):
        VIEWS[form](y).zero_()
    np.testing.assert_array_equal(y.detach().numpy(), 2 * START)


def test_a_write_of_overlapping_windows_is_refused_and_of_separate_ones_is_not():
    """unfold(0, 3, 1): an element sits in up to three windows; torch writes it once per window, in its loop's order
    (x.unfold(0, 3, 1) += 1 adds up to 3): refused, naming unfold, and x is left as it was. Windows that do not
    overlap are written as torch's."""
    x = tr.tensor(np.arange(6.0))
    u = x.unfold(0, 3, 1)
    with tr.no_grad():
        for write in (lambda: u.__iadd__(1.0), lambda: u.zero_(), lambda: u.fill_(2.0), lambda: u.clamp_(0, 1)):
            with pytest.raises(RuntimeError, match="overlap in memory .*unfold"):
                write()
        with pytest.raises(RuntimeError, match="unfold's overlapping windows"):
            u[0].zero_()
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0))
    results = []
    for lib in (torch, tr):
        x = lib.tensor(np.arange(6.0))
        with lib.no_grad():
            x.unfold(0, 2, 3).zero_()
            x.unfold(0, 1, 1).__imul__(3.0)
        results.append(_values(x))
    np.testing.assert_array_equal(results[1], results[0])


def test_a_custom_cell_using_unfold_is_refused_by_the_compiler_by_name():
    """unfold (and diagonal) have no scalar rule: tr.compile_cell refuses them at construction, naming the operation
    and the cell's line, as it refuses cumsum; select and narrow are basic indexing, movedim a permute."""
    pytest.importorskip("numba")
    from tinygrad_rnn.nn.cells import RecurrentCell
    from tinygrad_rnn.nn.module import uniform

    class UnfoldCell(RecurrentCell):
        def __init__(self, input_size, hidden_size, dtype=np.float64):
            self.input_size, self.hidden_size = input_size, hidden_size
            self.weight = uniform((hidden_size, input_size), 0.5, dtype)

        def forward(self, x, h):
            return (x @ self.weight.T + h).unfold(1, 1, 1).squeeze(-1).tanh()   # the line the error names

    with pytest.raises(tr.CompileError, match=r"cannot compile Unfold .*test_view_ops_vs_torch\.py:\d+ in forward"):
        tr.compile_cell(UnfoldCell(3, 4))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_custom_cell_using_narrow_and_movedim_compiles_and_equals_the_tape(dtype):
    """narrow along the features is a slice of columns (h[:, a:b]), and movedim of a step's (batch, features) value
    is its transpose, which a cell's matmul takes: the kernel gives the tape's outputs and gradients."""
    pytest.importorskip("numba")
    from tests.kernels.test_compile import assert_same
    from tinygrad_rnn.nn.cells import RecurrentCell
    from tinygrad_rnn.nn.module import uniform

    class NarrowCell(RecurrentCell):
        def __init__(self, input_size, hidden_size, dtype=np.float64):
            self.input_size, self.hidden_size = input_size, hidden_size
            self.weight = uniform((2 * hidden_size, input_size), 0.5, dtype)

        def forward(self, x, h):
            z = x @ self.weight.movedim(0, 1)
            n = self.hidden_size
            return (z.narrow(-1, 0, n) + h).tanh() * tr.narrow(z, 1, n, n).sigmoid()

    tr.manual_seed(0)
    layer = tr.nn.Recurrent(NarrowCell, 3, 4, dtype=dtype)
    assert layer.fused is True
    xd = np.random.default_rng(3).standard_normal((5, 3, 3)).astype(dtype)
    assert_same(layer, xd, [5, 4, 2], dtype)


# ----------------------------------------------------------------------------- writes of a computed tensor
WRITES = {
    "y.detach().zero_()": lambda y, lib: y.detach().zero_(),
    "y.zero_() under no_grad": lambda y, lib: _under_no_grad(lib, lambda: y.zero_()),
    "y[0] += 1 under no_grad": lambda y, lib: _under_no_grad(lib, lambda: y[0].__iadd__(1.0)),
    "y.T *= 2 under no_grad": lambda y, lib: _under_no_grad(lib, lambda: y.T.__imul__(2.0)),
    "y.detach()[1:].fill_(3)": lambda y, lib: y.detach()[1:].fill_(3.0),
    "y.diagonal() -= 1 under no_grad": lambda y, lib: _under_no_grad(lib, lambda: y.diagonal().__isub__(1.0)),
    "y.detach().select(1, 0).clamp_(0, 1)": lambda y, lib: y.detach().select(1, 0).clamp_(0.0, 1.0),
}


def _under_no_grad(lib, write):
    with lib.no_grad():
        write()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_computed_tensor_written_under_no_grad_changes_as_torchs(write, dtype):
    """y and a view of it taken before see the write, as torch's; they were left as they were (a new array)."""
    def run(lib):
        a = lib.tensor(START[0].astype(dtype), requires_grad=True)
        y = a * 2.0
        view = y.detach().T
        WRITES[write](y, lib)
        return [_values(y), _values(view)]

    theirs, ours = run(torch), run(tr)
    for a, b in zip(theirs, ours):
        np.testing.assert_array_equal(b, a)


GRAPHS = {   # made of y before the write; whether torch refuses their backward depends on what they saved
    "(y * y).sum()": lambda a, y: (y * y).sum(),
    "(y + 1).sum()": lambda a, y: (y + 1.0).sum(),
    "y.sum(), y = a * 2": lambda a, y: y.sum(),
    "(y * a).sum()": lambda a, y: (y * a).sum(),
    "y.exp() then (exp * 3).sum()": lambda a, y: (y.exp() * 3.0).sum(),
    "y.tanh().sum()": lambda a, y: y.tanh().sum(),
    "(y[1] * y[1]).sum()": lambda a, y: (y[1] * y[1]).sum(),
    "(y.T @ a).sum()": lambda a, y: (y.T @ a).sum(),
}


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_a_backward_that_saved_the_written_values_is_refused_as_torchs(graph, write):
    """Each graph was recorded before the write: torch refuses its backward where a node saved y (or a view of it)
    and runs it otherwise; so does the tape now, with torch's gradient (it ran and gave the gradient of the old
    values before). A graph recorded after the write reads the new values, in both."""
    def run(lib, made_by):
        a = lib.tensor(START[0, :3, :3].astype("float64"), requires_grad=True)
        y = made_by(a)
        loss = GRAPHS[graph](a, y)
        WRITES[write](y, lib)
        try:
            loss.backward(retain_graph=True)   # (kept: the graph recorded after the write goes through y's node)
        except RuntimeError as e:
            return "refused", str(e)
        after = GRAPHS[graph](a, y)
        a.grad = None
        after.backward()
        return [_values(a.grad), _values(after)]

    for made_by in (lambda a: a * 2.0, lambda a: a.exp()):
        theirs, ours = run(torch, made_by), run(tr, made_by)
        if isinstance(theirs, tuple):   # ("refused", message)
            assert isinstance(ours, tuple), f"torch refused ({theirs[1]}), we ran"
            assert "modified by an inplace operation" in ours[1]
            continue
        assert not isinstance(ours, tuple), f"we refused ({ours[1]}), torch ran"
        for x, y in zip(theirs, ours):
            np.testing.assert_allclose(y, x, rtol=1e-12)


def test_the_written_tensors_own_node_refuses_when_it_saved_its_result():
    """y = a.exp() saves y for its backward: written under no_grad(), y.sum().backward() is refused as torch's; y =
    a * 2 saved a alone, and its backward runs, as torch's."""
    for lib in (torch, tr):
        a = lib.tensor(START[0].copy(), requires_grad=True)
        y = a.exp()
        y.detach().zero_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        y = a * 2.0
        y.detach().zero_()
        y.sum().backward()
        np.testing.assert_array_equal(_values(a.grad), np.full(a.shape, 2.0))


@pytest.mark.parametrize("detached", ["a computed tensor", "a plain tensor"])
def test_a_recorded_write_of_a_detached_tensor_writes_the_tensor_or_is_refused(detached):
    """d = y.detach(); d += w (w requires grad): torch writes y's memory and records the write on d. A leaf's detach
    is written so (inplace.py _detached_leaf_memory; tests/engine/test_detach_write_vs_torch.py); a computed
    tensor's would make d a new array on the tape and leave y as it was (silently): refused, as a recorded write of
    a view is."""
    def run(lib):
        w = lib.tensor(START[0].copy(), requires_grad=True)
        y = lib.tensor(START[1].copy(), requires_grad=True) * 2.0 if detached == "a computed tensor" else \
            lib.tensor(START[1].copy())
        d = y.detach()
        d += w
        return _values(y)

    np.testing.assert_array_equal(run(torch), 2 ** (detached == "a computed tensor") * START[1] + START[0])
    if detached == "a plain tensor":
        np.testing.assert_array_equal(run(tr), run(torch))
        return
    with pytest.raises(RuntimeError, match="y.detach\\(\\) of another tensor y"):
        run(tr)
