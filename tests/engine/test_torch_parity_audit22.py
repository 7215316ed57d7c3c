"""Session 22's additions for torch 2.13 parity: mm, bmm (and tr.matmul), index_select, roll, repeat_interleave,
div(rounding_mode='trunc') and tr.div, fmod, erf, F.gelu / nn.GELU, and Tensor.to with a device. Each is held to
torch 2.13 itself (values, dtypes, gradients and, for bad input, the error's type) and its gradient to finite
differences in float64 (tr.gradcheck). Skipped without torch."""
import numpy as np
import pytest
from conftest import outcome
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tr
import tinygrad_rnn.nn.functional as F

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy warns of nan and inf, torch does not
DTYPES = ["float32", "float64"]
ULP = {"float32": np.finfo(np.float32).eps, "float64": np.finfo(np.float64).eps}


def same_outcome(call, rtol=0.0):
    """call(tr) and call(torch) give the same values (to rtol; bit for bit by default, -0.0 included) and dtype,
    or raise: ours the type torch raises (or a subclass of it)."""
    ours, theirs = outcome(lambda: call(tr)), outcome(lambda: call(torch))
    if isinstance(theirs, type):
        assert isinstance(ours, type) and issubclass(ours, theirs), f"torch raised {theirs.__name__}, we {ours}"
        return
    assert not isinstance(ours, type), f"torch returned {theirs}, tinygrad_rnn raised {ours.__name__}"
    np.testing.assert_allclose(ours[0], theirs[0], rtol=rtol, atol=0)
    if rtol == 0:
        np.testing.assert_array_equal(np.signbit(ours[0]), np.signbit(theirs[0]))
    assert ours[0].shape == theirs[0].shape and ours[1] == theirs[1]


def values_and_grads(fn, arrays, seed=0, rtol=None, atol=None):
    """fn(lib, *tensors) in both libraries, backward with one random cotangent: their values and the inputs'
    gradients, compared (rtol and atol: a few units in the last place of the dtype by default)."""
    results = []
    for lib in (tr, torch):
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(lib, *inputs)
        cotangent = np.random.default_rng(seed).standard_normal(out.shape).astype(arrays[0].dtype)
        out.backward(torch.tensor(cotangent) if lib is torch else cotangent)
        results.append([out.detach().numpy()] + [np.asarray(t.grad) for t in inputs])
    rtol = 8 * ULP[str(arrays[0].dtype)] if rtol is None else rtol
    for ours, theirs in zip(*results):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol if atol is None else atol)


def gradcheck(fn, *arrays):
    """fn's gradient against central differences in float64."""
    assert tr.gradcheck(fn, [tr.tensor(a.astype(np.float64), requires_grad=True) for a in arrays])


# ----------------------------------------------------------------------------- mm, bmm, matmul
@given(n=st.integers(0, 4), m=st.integers(0, 4), p=st.integers(1, 4), b=st.integers(1, 3),
       dtype=st.sampled_from(DTYPES), data=st.data())
def test_mm_and_bmm_give_torchs_products_and_gradients(n, m, p, b, dtype, data):
    """tr.mm / x.mm and tr.bmm / x.bmm were missing (AttributeError)."""
    draw = lambda shape: data.draw(hnp.arrays(dtype, shape, elements=st.floats(-3, 3, width=32)))  # noqa: E731
    values_and_grads(lambda lib, a, c: lib.mm(a, c), [draw((n, m)), draw((m, p))])
    values_and_grads(lambda lib, a, c: a.bmm(c), [draw((b, n, m)), draw((b, m, p))])


def test_mm_and_bmm_gradients_are_finite_differences():
    rng = np.random.default_rng(1)
    gradcheck(lambda a, c: a.mm(c), rng.standard_normal((3, 4)), rng.standard_normal((4, 2)))
    gradcheck(lambda a, c: tr.bmm(a, c), rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2)))


A2, B2 = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
PRODUCT_CALLS = {
    "mm of int64": lambda lib: lib.mm(lib.tensor([[1, 2], [3, 4]]), lib.tensor([[1], [-2]])),
    "mm of a 3-D self": lambda lib: lib.mm(lib.ones(2, 2, 3), lib.tensor(B2)),
    "mm of a 1-D mat2": lambda lib: lib.tensor(A2).mm(lib.ones(3)),
    "mm of a 1-D self": lambda lib: lib.ones(3).mm(lib.tensor(B2)),
    "mm inner sizes differ": lambda lib: lib.mm(lib.tensor(A2), lib.tensor(A2)),
    "mm float32 and float64": lambda lib: lib.mm(lib.tensor(A2), lib.tensor(B2, dtype=lib.float64)),
    "mm int64 and float32": lambda lib: lib.mm(lib.tensor([[1, 2]]), lib.ones(2, 2)),
    "mm of masks": lambda lib: lib.mm(lib.ones(2, 2) > 0, lib.ones(2, 2) > 0),
    "mm of a numpy array": lambda lib: lib.tensor(A2).mm(B2),
    "mm of empty matrices": lambda lib: lib.mm(lib.ones(2, 0), lib.ones(0, 3)),
    "bmm of a 2-D batch1": lambda lib: lib.bmm(lib.tensor(A2), lib.ones(2, 3, 4)),
    "bmm of a 2-D batch2": lambda lib: lib.ones(2, 2, 3).bmm(lib.tensor(B2)),
    "bmm batches differ": lambda lib: lib.bmm(lib.ones(5, 2, 3), lib.ones(4, 3, 4)),
    "bmm inner sizes differ": lambda lib: lib.bmm(lib.ones(5, 2, 3), lib.ones(5, 2, 4)),
    "bmm float32 and float64": lambda lib: lib.ones(1, 2, 2).bmm(lib.ones(1, 2, 2, dtype=lib.float64)),
    "bmm does not broadcast": lambda lib: lib.bmm(lib.ones(1, 2, 3), lib.ones(3, 3, 4)),
    "matmul 1-D and 2-D": lambda lib: lib.matmul(lib.tensor([1.0, -2.0, 3.0]), lib.tensor(B2)),
    "matmul 2-D and 1-D": lambda lib: lib.matmul(lib.tensor(A2), lib.tensor([1.0, -2.0, 3.0])),
    "matmul 1-D and 1-D": lambda lib: lib.matmul(lib.tensor([1.0, 2.0]), lib.tensor([3.0, -4.0])),
    "matmul broadcasts batches": lambda lib: lib.matmul(lib.ones(2, 1, 2, 3), lib.ones(4, 3, 2)),
    "matmul batches differ": lambda lib: lib.matmul(lib.ones(2, 2, 3), lib.ones(3, 3, 4)),
    "matmul of a 0-d tensor": lambda lib: lib.matmul(lib.tensor(2.0), lib.tensor(B2)),
    "matmul of masks": lambda lib: lib.matmul(lib.ones(2, 2) > 0, lib.ones(2, 2) > 0),
    "matmul of int64": lambda lib: lib.matmul(lib.tensor([[1, 2]]), lib.tensor([[3], [4]])),
}


@pytest.mark.parametrize("name", sorted(PRODUCT_CALLS))
def test_products_value_dtype_and_error_type_as_torch(name):
    """mm and bmm check 2-D / 3-D operands, one dtype and matching batch and inner sizes, in torch's words (a
    ShapeError: a RuntimeError as torch's); tr.matmul was missing, and matmul of a 0-d tensor was a plain
    ValueError and of two masks a mask (torch refuses both)."""
    same_outcome(PRODUCT_CALLS[name])


def test_mm_and_bmm_errors_name_the_operand_in_torchs_words():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"):
        tr.mm(tr.tensor(A2), tr.tensor(A2))
    with pytest.raises(RuntimeError, match="self must be a matrix"):
        tr.ones(3).mm(tr.ones(3, 3))
    with pytest.raises(RuntimeError, match=r"first two dimensions of batch2 tensor to be: \[5, 3\] but got: \[4, 3\]"):
        tr.bmm(tr.ones(5, 2, 3), tr.ones(4, 3, 4))
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float32 != float64"):
        tr.ones(2, 2).mm(tr.ones(2, 2, dtype=tr.float64))


# ----------------------------------------------------------------------------- index_select
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_index_select_values_and_gradients_as_torch(shape, data):
    """index_select was missing: the entries at index along dim, repeats adding up in the gradient."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    index = np.array(data.draw(st.lists(st.integers(0, shape[dim] - 1), max_size=5)), dtype=np.int64)
    dtype = data.draw(st.sampled_from(DTYPES))
    x = np.random.default_rng(len(index)).standard_normal(shape).astype(dtype)
    values_and_grads(lambda lib, t: t.index_select(dim, lib.tensor(index)), [x])
    values_and_grads(lambda lib, t: lib.index_select(t, dim, lib.tensor(index, dtype=lib.int64)), [x])


def test_index_select_gradient_is_finite_differences():
    gradcheck(lambda t: t.index_select(1, tr.tensor([2, 0, 2])), np.random.default_rng(2).standard_normal((2, 3)))


X34 = np.arange(12.0).reshape(3, 4)
INDEX_SELECT_CALLS = {
    "int32 index": lambda lib: lib.tensor(X34).index_select(0, lib.tensor(np.array([2, 0], np.int32))),
    "0-d index": lambda lib: lib.tensor(X34).index_select(1, lib.tensor(2)),
    "empty index": lambda lib: lib.tensor(X34).index_select(0, lib.tensor(np.zeros(0, np.int64))),
    "keywords": lambda lib: lib.index_select(lib.tensor(X34), dim=-1, index=lib.tensor([3, 3])),
    "of a mask": lambda lib: (lib.tensor(X34) > 3).index_select(0, lib.tensor([1])),
    "of indices": lambda lib: lib.tensor([[4, 5], [6, 7]]).index_select(1, lib.tensor([1])),
    "of a 0-d tensor": lambda lib: lib.tensor(5.0).index_select(0, lib.tensor([0])),
    "of a 0-d tensor, two values": lambda lib: lib.tensor(5.0).index_select(0, lib.tensor([0, 0])),
    "of a 0-d tensor, out of range": lambda lib: lib.tensor(5.0).index_select(0, lib.tensor([1])),
    "a float index": lambda lib: lib.tensor(X34).index_select(0, lib.tensor([0.0, 1.0])),
    "a mask index": lambda lib: lib.tensor(X34).index_select(0, lib.tensor([True, False, True])),
    "a 2-D index": lambda lib: lib.tensor(X34).index_select(0, lib.tensor([[0, 1]])),
    "an index past the end": lambda lib: lib.tensor(X34).index_select(0, lib.tensor([3])),
    "a negative index": lambda lib: lib.tensor(X34).index_select(0, lib.tensor([-1])),
    "a dim out of range": lambda lib: lib.tensor(X34).index_select(2, lib.tensor([0])),
    "a float dim": lambda lib: lib.tensor(X34).index_select(0.0, lib.tensor([0])),
    "a list index": lambda lib: lib.tensor(X34).index_select(0, [0, 1]),
}


@pytest.mark.parametrize("name", sorted(INDEX_SELECT_CALLS))
def test_index_select_edges_and_errors_as_torch(name):
    same_outcome(INDEX_SELECT_CALLS[name])


# ----------------------------------------------------------------------------- roll
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), data=st.data())
def test_roll_values_and_gradients_as_torch(shape, data):
    """roll was missing: ints or tuples of shifts and dims, dims=None rolling the flattened tensor."""
    ndim = len(shape)
    k = data.draw(st.integers(0, 3))
    shifts = data.draw(st.lists(st.integers(-9, 9), min_size=max(k, 1), max_size=max(k, 1)))
    dims = None if k == 0 else data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=k, max_size=k))
    if k == 1 and data.draw(st.booleans()):   # the int spellings
        shifts, dims = shifts[0], dims[0]
    elif k == 0 and data.draw(st.booleans()):
        shifts = shifts[0]
    x = np.random.default_rng(k).standard_normal(shape).astype(data.draw(st.sampled_from(DTYPES)))
    values_and_grads(lambda lib, t: t.roll(shifts, dims), [x])
    values_and_grads(lambda lib, t: lib.roll(t, shifts=shifts, dims=dims), [x])


def test_roll_gradient_is_finite_differences_and_the_result_a_copy():
    gradcheck(lambda t: t.roll((1, -2), (0, 1)), np.random.default_rng(3).standard_normal((3, 4)))
    x = tr.ones(3)
    y = x.roll(3)   # a whole turn: the same values, in memory of its own as torch's
    x += 1
    assert y.tolist() == [1.0, 1.0, 1.0]


ROLL_CALLS = {
    "a 0-d tensor": lambda lib: lib.tensor(3.0).roll(1),
    "a 0-d tensor with a dim": lambda lib: lib.tensor(3.0).roll(1, 0),
    "two shifts, one dim": lambda lib: lib.tensor(X34).roll((1, 2), 0),
    "two shifts, no dim": lambda lib: lib.tensor(X34).roll((1, 2)),
    "one shift in a tuple, no dim": lambda lib: lib.tensor(X34).roll((5,)),
    "no shifts": lambda lib: lib.tensor(X34).roll((), ()),
    "a dim twice": lambda lib: lib.tensor(X34).roll((1, 1), (0, 0)),
    "lists": lambda lib: lib.tensor(X34).roll([1, -1], [1, 0]),
    "a dim out of range": lambda lib: lib.tensor(X34).roll(1, 2),
    "a float shift": lambda lib: lib.tensor(X34).roll(1.5, 0),
    "of indices": lambda lib: lib.tensor([1, 2, 3]).roll(1),
    "of a mask": lambda lib: (lib.tensor(X34) > 4).roll(-1, 1),
}


@pytest.mark.parametrize("name", sorted(ROLL_CALLS))
def test_roll_edges_and_errors_as_torch(name):
    same_outcome(ROLL_CALLS[name])


# ----------------------------------------------------------------------------- repeat_interleave
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_repeat_interleave_values_and_gradients_as_torch(shape, data):
    """repeat_interleave was missing: an int or one count per entry (or one for all), dim=None flattening."""
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    n = int(np.prod(shape)) if dim is None else shape[dim]
    kind = data.draw(st.sampled_from(["int", "counts", "one count"]))
    counts = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    x = np.random.default_rng(n).standard_normal(shape).astype(data.draw(st.sampled_from(DTYPES)))

    def call(lib, t):
        repeats = counts[0] if kind == "int" else lib.tensor(counts if kind == "counts" else counts[:1])
        return t.repeat_interleave(repeats, dim)
    values_and_grads(call, [x])


def test_repeat_interleave_gradient_is_finite_differences():
    gradcheck(lambda t: t.repeat_interleave(tr.tensor([2, 0, 3]), 1), np.random.default_rng(4).standard_normal((2, 3)))
    gradcheck(lambda t: tr.repeat_interleave(t, 2), np.random.default_rng(5).standard_normal((2, 3)))


REPEAT_CALLS = {
    "the counts alone": lambda lib: lib.repeat_interleave(lib.tensor([1, 0, 2])),
    "the counts alone, output_size": lambda lib: lib.repeat_interleave(lib.tensor([1, 0, 2]), output_size=3),
    "the counts alone, floats": lambda lib: lib.repeat_interleave(lib.tensor([1.0, 2.0])),
    "output_size right": lambda lib: lib.tensor(X34).repeat_interleave(lib.tensor([1, 0, 2]), 0, output_size=3),
    "output_size wrong": lambda lib: lib.tensor(X34).repeat_interleave(lib.tensor([1, 0, 2]), 0, output_size=4),
    "int, output_size right": lambda lib: lib.tensor(X34).repeat_interleave(2, 0, output_size=6),
    "int, output_size wrong": lambda lib: lib.tensor(X34).repeat_interleave(2, 0, output_size=4),
    "a 0-d tensor": lambda lib: lib.tensor(3.0).repeat_interleave(2),
    "a 0-d tensor with a dim": lambda lib: lib.tensor(3.0).repeat_interleave(2, 0),
    "a 0-d count": lambda lib: lib.tensor(X34).repeat_interleave(lib.tensor(2), 0),
    "int32 counts": lambda lib: lib.tensor(X34).repeat_interleave(lib.tensor(np.array([1, 2, 1], np.int32)), 0),
    "counts of the wrong length": lambda lib: lib.tensor(X34).repeat_interleave(lib.tensor([1, 2]), 0),
    "counts of the wrong length, no dim": lambda lib: lib.tensor(X34).repeat_interleave(lib.tensor([1, 2])),
    "a negative int": lambda lib: lib.tensor(X34).repeat_interleave(-1),
    "a negative count": lambda lib: lib.tensor(X34).repeat_interleave(lib.tensor([-1, 1, 1]), 0),
    "float counts": lambda lib: lib.tensor(X34).repeat_interleave(lib.tensor([1.0, 1.0, 1.0]), 0),
    "a float": lambda lib: lib.tensor(X34).repeat_interleave(1.5, 0),
    "2-D counts": lambda lib: lib.tensor(X34).repeat_interleave(lib.tensor([[1, 1, 1]]), 0),
    "a dim out of range": lambda lib: lib.tensor(X34).repeat_interleave(2, 2),
    "of a mask": lambda lib: (lib.tensor(X34) > 4).repeat_interleave(2, 0),
    "of indices": lambda lib: lib.tensor([4, 5]).repeat_interleave(lib.tensor([0, 3])),
}


@pytest.mark.parametrize("name", sorted(REPEAT_CALLS))
def test_repeat_interleave_edges_and_errors_as_torch(name):
    same_outcome(REPEAT_CALLS[name])


# ----------------------------------------------------------------------------- div rounding modes, fmod
INTS = [-7, -6, -1, 0, 1, 5, 6]
FLOATS = [-7.5, -6.0, -2.0, -0.5, -0.0, 0.0, 0.5, 3.25, 6.0, float("inf"), float("nan")]
OPERANDS = {
    "int, int": lambda lib: (lib.tensor(INTS).reshape(-1, 1), lib.tensor([-3, -2, 2, 3])),
    "float, float": lambda lib: (lib.tensor(FLOATS).reshape(-1, 1), lib.tensor([-2.0, -0.5, 0.0, 1.5, float("inf")])),
    "float64, float64": lambda lib: (lib.tensor(FLOATS, dtype=lib.float64).reshape(-1, 1),
                                     lib.tensor([-2.0, 0.75, -0.0], dtype=lib.float64)),
    "int, float": lambda lib: (lib.tensor(INTS).reshape(-1, 1), lib.tensor([-2.5, 2.0])),
    "float, int": lambda lib: (lib.tensor(FLOATS).reshape(-1, 1), lib.tensor([-3, 2])),
    "int, number": lambda lib: (lib.tensor(INTS), -4),
    "int, float number": lambda lib: (lib.tensor(INTS), 2.5),
    "float, number": lambda lib: (lib.tensor(FLOATS), -2),
    "mask, number": lambda lib: (lib.tensor([True, False]), 3),
    "mask, mask": lambda lib: (lib.tensor([True, False]), lib.tensor([True, True])),
    "float, mask": lambda lib: (lib.tensor([-1.5, 2.0]), lib.tensor([True, True])),
    "int by zero": lambda lib: (lib.tensor([5, -5]), lib.tensor([1, 0])),
    "int by a zero number": lambda lib: (lib.tensor([5, -5]), 0),
}
ROUNDED = {
    "div trunc": lambda lib, a, b: a.div(b, rounding_mode="trunc"),
    "div floor": lambda lib, a, b: a.div(b, rounding_mode="floor"),
    "tr.div trunc": lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"),
    "tr.divide floor": lambda lib, a, b: lib.divide(a, b, rounding_mode="floor"),
    "div None": lambda lib, a, b: a.div(b, rounding_mode=None),
    "div other=": lambda lib, a, b: a.div(other=b, rounding_mode="trunc"),
    "//": lambda lib, a, b: a // b,
    "fmod": lambda lib, a, b: a.fmod(b),
    "tr.fmod": lambda lib, a, b: lib.fmod(a, b),
}


@pytest.mark.parametrize("operands", sorted(OPERANDS))
def test_rounded_division_and_fmod_as_torch(operands):
    """div(rounding_mode='trunc') was refused (ValueError) and fmod missing; trunc rounds toward zero, fmod's
    remainder has the dividend's sign; ints stay int64 and an integer division by zero is a RuntimeError, as
    torch's; // and div(rounding_mode='floor') keep their values (checked beside them)."""
    for op, call in ROUNDED.items():
        same_outcome(lambda lib, call=call: call(lib, *OPERANDS[operands](lib)), rtol=0 if op != "div None" else 1e-6)


def test_div_refuses_an_unknown_rounding_mode_in_torchs_words():
    for mode in ("round", "TRUNC", 1):
        same_outcome(lambda lib, mode=mode: lib.tensor([1.0]).div(2.0, rounding_mode=mode))
    with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'"):
        tr.tensor([1.0]).div(2.0, rounding_mode="round")


@pytest.mark.parametrize("dtype", DTYPES)
def test_rounded_division_has_zero_gradients_and_fmod_torchs(dtype):
    """torch gives a rounded quotient a zero gradient (div(rounding_mode='floor') refused backward here, as // does)
    and fmod d/da = 1, d/db = -trunc(a / b); // still refuses a backward, as torch's floor_divide."""
    a = np.array([[-7.5, 5.0, 3.0, -0.25], [1.0, -2.0, 0.0, 9.0]], dtype=dtype)
    b = np.array([2.0, -2.0, 0.75, 0.5], dtype=dtype)
    for mode in ("trunc", "floor"):
        values_and_grads(lambda lib, x, y, mode=mode: x.div(y, rounding_mode=mode), [a, b], rtol=0)
    values_and_grads(lambda lib, x, y: lib.fmod(x, y), [a, b], rtol=0)
    values_and_grads(lambda lib, x: x.fmod(1.5), [a], rtol=0)
    with pytest.raises(RuntimeError, match="derivative for floor_divide"):
        (tr.tensor(a, requires_grad=True) // 2).sum().backward()


def test_fmod_gradient_is_finite_differences():
    rng = np.random.default_rng(6)
    gradcheck(lambda x, y: x.fmod(y), rng.uniform(-5, 5, (3, 4)), rng.uniform(0.7, 2, 4) * rng.choice([-1, 1], 4))


# ----------------------------------------------------------------------------- erf and gelu
ERF_POINTS = np.concatenate([np.linspace(-6, 6, 4001), np.geomspace(1e-30, 1e-2, 50), -np.geomspace(1e-30, 1e-2, 50),
                             [0.0, -0.0, np.inf, -np.inf, np.nan]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_erf_is_torchs_to_one_unit_in_the_last_place(dtype):
    """erf was missing. libm's erf (here) and torch's own differ by at most one unit in the last place."""
    x = ERF_POINTS.astype(dtype)
    ours, theirs = tr.erf(tr.tensor(x)), torch.erf(torch.tensor(x))
    assert ours.dtype == dtype and ours.shape == x.shape
    np.testing.assert_array_equal(np.isnan(ours.numpy()), np.isnan(theirs.numpy()))
    np.testing.assert_array_equal(np.signbit(ours.numpy()), np.signbit(theirs.numpy()))   # erf(-0.0) = -0.0
    gap = np.abs(ours.numpy().astype(np.float64) - theirs.numpy())
    assert np.nanmax(gap / np.spacing(np.abs(theirs.numpy()))) <= 1
    values_and_grads(lambda lib, t: t.erf(), [np.linspace(-4, 4, 41).astype(dtype)])


def test_erf_of_masks_and_indices_is_float32_and_its_gradient_finite_differences():
    same_outcome(lambda lib: lib.erf(lib.tensor([0, 1, -2])), rtol=1e-6)
    same_outcome(lambda lib: lib.tensor([True, False]).erf(), rtol=1e-6)
    gradcheck(lambda t: t.erf(), np.linspace(-3, 3, 13))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_values_and_gradients_as_torch(approximate, dtype):
    """F.gelu and nn.GELU were missing: torch's formula in its order of operations, to a few ulp. With 'tanh',
    torch's tanh and numpy's differ by an ulp near -1, which 1 + tanh(...) turns into an absolute difference of
    up to ulp(1) * |x| * |g| (about 30 ulps of 1 here, where the value is 0 or almost)."""
    x = np.concatenate([np.linspace(-8, 8, 401), [0.0, -0.0, 30.0, -30.0]]).astype(dtype)
    atol = 64 * ULP[dtype] if approximate == "tanh" else None
    values_and_grads(lambda lib, t: lib.nn.functional.gelu(t, approximate=approximate), [x], atol=atol)
    values_and_grads(lambda lib, t: lib.nn.GELU(approximate)(t), [x], atol=atol)
    gradcheck(lambda t: F.gelu(t, approximate=approximate), np.linspace(-3, 3, 13))


GELU_CALLS = {
    "an unknown approximate": lambda lib: lib.nn.functional.gelu(lib.ones(2), approximate="erf"),
    "approximate None": lambda lib: lib.nn.functional.gelu(lib.ones(2), approximate=None),
    "approximate positional": lambda lib: lib.nn.functional.gelu(lib.ones(2), "tanh"),
    "of indices": lambda lib: lib.nn.functional.gelu(lib.tensor([1, 2])),
    "the module, an unknown approximate": lambda lib: lib.nn.GELU("erf")(lib.ones(2)),
}


@pytest.mark.parametrize("name", sorted(GELU_CALLS))
def test_gelu_errors_as_torch(name):
    same_outcome(GELU_CALLS[name])


def test_gelu_module_as_torchs():
    for approximate in ("none", "tanh"):
        ours, theirs = tr.nn.GELU(approximate), torch.nn.GELU(approximate)
        assert repr(ours) == repr(theirs) and ours.approximate == theirs.approximate
        assert not ours.state_dict() and not theirs.state_dict()
    assert repr(tr.nn.GELU()) == "GELU(approximate='none')"


# ----------------------------------------------------------------------------- Tensor.to with a device
TO_CALLS = {
    "torch.device": lambda lib, x: x.to(torch.device("cpu")),
    "torch.device, dtype": lambda lib, x: x.to(torch.device("cpu"), lib.float64),
    "str, dtype": lambda lib, x: x.to("cpu", lib.float64),
    "device=, dtype=": lambda lib, x: x.to(device=torch.device("cpu"), dtype=lib.float64),
    "cpu:1": lambda lib, x: x.to("cpu:1"),
    "dtype, non_blocking, copy": lambda lib, x: x.to(lib.float32, False, True),
    "device, dtype, non_blocking, copy": lambda lib, x: x.to("cpu", lib.float64, False, True),
    "a tensor": lambda lib, x: x.to(lib.ones(1, dtype=lib.float64)),
    "two devices": lambda lib, x: x.to("cpu", "cpu"),
    "two dtypes": lambda lib, x: x.to(lib.float64, lib.float32),
    "dtype then device": lambda lib, x: x.to(lib.float64, "cpu"),
    "a tensor then device": lambda lib, x: x.to(lib.ones(1), "cpu"),
    "dtype twice": lambda lib, x: x.to(lib.float64, dtype=lib.float32),
    "device twice": lambda lib, x: x.to("cpu", device="cpu"),
}


def test_to_takes_torchs_devices_and_forms():
    """x.to(torch.device('cpu')) was refused (TypeError: a device read as a dtype), and to(device, dtype,
    non_blocking, copy) with its flags too; the forms that worked are checked beside them."""
    for call in TO_CALLS.values():
        same_outcome(lambda lib, call=call: call(lib, lib.tensor([1.5, -2.0])))


def test_to_returns_the_tensor_itself_unless_copy_and_refuses_other_devices():
    x = tr.tensor([1.0, 2.0], requires_grad=True)
    assert x.to(torch.device("cpu")) is x and x.to("cpu", tr.float32) is x and x.to(device="cpu") is x
    y = x.to("cpu", copy=True)
    assert y is not x and not np.shares_memory(y.data, x.data)
    (y * 3).sum().backward()   # the copy is on the tape, as torch's
    assert x.grad.tolist() == [3.0, 3.0]
    z = x.to(torch.device("cpu"), tr.float64)
    assert z.dtype == np.float64 and z.grad_fn is not None
    for device in ("cuda", "cuda:0", torch.device("meta"), "mps"):
        with pytest.raises(ValueError, match="device must be 'cpu'"):   # as Module.to
            x.to(device)
    with pytest.raises(TypeError, match="non_blocking must be True or False"):
        x.to("cpu", non_blocking="yes")
