"""Tensor basics a torch user reaches for without thinking (iteration, `in`, `== None`, slicing steps,
.mT, .repeat, .long(), dtype names), each against torch itself: the same call gives the same values,
shape, dtype and gradient, or both refuse. Each case here used to differ silently or be missing."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def _pair(a, requires_grad=False):
    return tr.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_iterating_and_in_as_torch(dtype):
    a = np.arange(12, dtype=dtype).reshape(3, 4)
    ours, theirs = _pair(a)
    rows = list(ours)
    assert len(rows) == 3 and all(r.dtype == dtype for r in rows)
    for r, t in zip(rows, theirs):
        np.testing.assert_array_equal(r.numpy(), t.numpy())
    for value in (5.0, 5, 11.5, -1, True, ours[1, 2], ours[0, :1] + 100):
        other = torch.tensor(value.numpy()) if isinstance(value, tr.Tensor) else value
        assert (value in ours) == (other in theirs), value   # elements, not the rows' truth values
    zero_d = _pair(np.array(2.0, dtype))
    for x in zero_d:   # was an empty iteration: Python indexed x[0] until it failed
        with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
            list(x)
        with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
            len(x)
    with pytest.raises(TypeError, match="takes a number or a Tensor, got str"):
        assert "a" in ours


def test_iterating_keeps_the_gradient():
    a = np.arange(6.0).reshape(3, 2)
    ours, theirs = _pair(a, requires_grad=True)
    sum(r * (i + 1) for i, r in enumerate(ours)).sum().backward()
    sum(r * (i + 1) for i, r in enumerate(theirs)).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_comparing_with_none_is_false_as_torch():
    ours, theirs = _pair(np.zeros(3))
    assert (ours == None) is False and (theirs == None) is False   # noqa: E711  (what a user writes)
    assert (ours != None) is True and (theirs != None) is True   # noqa: E711
    assert ours is not None and ours in [ours]


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_negative_slice_steps_are_refused_as_torch(shape, data):
    """numpy's x[::-1] reverses; torch refuses it (flip is the way), so a reversal is never silent."""
    step = data.draw(st.integers(-3, -1))
    index = data.draw(st.sampled_from([slice(None, None, step), (Ellipsis, slice(None, None, step)),
                                       (0,) * (len(shape) - 1) + (slice(None, None, step),)]))
    ours, theirs = _pair(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    with pytest.raises(ValueError, match="step must be greater than zero"):
        theirs[index]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        ours[index]
    np.testing.assert_array_equal(ours.flip(0).numpy(), theirs.flip(0).numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 3), (4, 2, 3), (2, 1, 3, 2)])
def test_mT_as_torch(dtype, shape):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    ours, theirs = _pair(a, requires_grad=True)
    out, ref = ours.mT, theirs.mT
    assert out.shape == tuple(ref.shape) and out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    w = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    (out * tr.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())
    for x in _pair(a.reshape(-1)):
        with pytest.raises((RuntimeError, ValueError), match="mT"):
            assert x.mT is None


@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
       extra=st.lists(st.integers(0, 3), max_size=2), data=st.data(), dtype=st.sampled_from(DTYPES))
def test_repeat_as_torch(shape, extra, data, dtype):
    sizes = tuple(extra) + tuple(data.draw(st.integers(0, 3)) for _ in shape)
    if not sizes:
        sizes = (2,)
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    ours, theirs = _pair(a, requires_grad=True)
    out, ref = ours.repeat(*sizes), theirs.repeat(*sizes)
    assert out.shape == tuple(ref.shape) and out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    np.testing.assert_array_equal(ours.repeat(sizes).numpy(), out.numpy())
    w = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    (out * tr.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-5)


def test_repeat_refuses_what_torch_refuses():
    ours, theirs = _pair(np.zeros((2, 3)))
    for sizes in [(2,), (2, -1)]:
        with pytest.raises(RuntimeError):
            theirs.repeat(*sizes)
        with pytest.raises(ValueError, match="repeat: sizes must be"):
            ours.repeat(*sizes)
    with pytest.raises(TypeError):
        theirs.repeat(2.0, 1)
    with pytest.raises(TypeError, match="repeat: sizes must be ints, got float 2.0"):
        ours.repeat(2.0, 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_long_bool_and_dtype_names_as_torch(dtype):
    a = np.array([[-2.7, -0.5, 0.0], [0.5, 1.0, 3.9]], dtype)
    ours, theirs = _pair(a, requires_grad=True)
    for ours_call, torch_call in [(lambda x: x.long(), lambda x: x.long()),
                                  (lambda x: x.to(tr.int64), lambda x: x.to(torch.int64)),
                                  (lambda x: x.to(tr.long), lambda x: x.to(torch.long)),
                                  (lambda x: x.bool(), lambda x: x.bool()),
                                  (lambda x: x.long().float(), lambda x: x.long().float()),
                                  (lambda x: x.to(tr.float64), lambda x: x.to(torch.float64)),
                                  (lambda x: x.to(tr.double), lambda x: x.to(torch.double))]:
        out, ref = ours_call(ours), torch_call(theirs)
        assert out.dtype == np.dtype(str(ref.dtype).replace("torch.", "")), (out.dtype, ref.dtype)
        assert out.requires_grad == ref.requires_grad
        np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    idx = tr.tensor(np.array([1.0, 0.0], dtype)).long()   # a long() tensor indexes, as torch's
    np.testing.assert_array_equal(ours[idx].numpy(), theirs[torch.tensor([1, 0])].detach().numpy())
    assert tr.get_default_dtype() == tr.float32 and str(torch.get_default_dtype()) == "torch.float32"
    assert tr.float32 == np.float32 and tr.float64 == np.float64 and tr.int64 == np.int64 and tr.bool == np.bool_
    assert ours.dtype == {np.float32: tr.float32, np.float64: tr.float64}[dtype]
    with pytest.raises(ValueError, match="nan or infinity"):
        tr.tensor(np.array([np.nan], dtype)).long()
    with pytest.raises(TypeError, match="no int32 tensors here"):
        ours.int()


INT_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def _int_operand(kind, values, lib):
    """One operand of an integer operation, in lib's form: indices, a mask, a Python int/float/bool."""
    if kind == "indices":   # argmax is how indices are made in both libraries
        eye = np.eye(4)[values % 4]
        return (tr.tensor(eye) if lib is tr else torch.tensor(eye)).argmax(1)
    if kind == "mask":
        v = np.asarray(values) > 1
        return tr.tensor(v) if lib is tr else torch.tensor(v)
    return {"int": 3, "float": 2.5, "bool": True}[kind]


@given(values=hnp.arrays(np.int64, 3, elements=st.integers(0, 3)),
       kinds=st.sampled_from([("indices", "int"), ("int", "indices"), ("indices", "indices"), ("mask", "int"),
                              ("int", "mask"), ("indices", "mask"), ("mask", "indices"), ("indices", "float"),
                              ("float", "indices"), ("indices", "bool")]),
       op=st.sampled_from(sorted(INT_OPS)))
def test_integer_arithmetic_keeps_torchs_dtype(values, kinds, op):
    """indices - 1, mask * 2, idx * idx are int64 as torch's (were float32 numbers); with a Python float or a
    division the result is float32, as torch's; subtracting with a mask is refused by both."""
    if not any(k in ("indices", "mask") for k in kinds):
        return
    ours = [_int_operand(k, values, tr) for k in kinds]
    theirs = [_int_operand(k, values, torch) for k in kinds]
    try:
        ref = INT_OPS[op](*theirs)
    except RuntimeError as e:
        with pytest.raises(RuntimeError, match=str(e)[:40]):
            INT_OPS[op](*ours)
        return
    out = INT_OPS[op](*ours)
    assert out.dtype == np.dtype(str(ref.dtype).replace("torch.", "")), (kinds, op, out.dtype, ref.dtype)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


MAKERS = {
    "tensor ints": lambda L: L.tensor([1, 2, 3]), "tensor nested ints": lambda L: L.tensor([[1], [2]]),
    "tensor int array": lambda L: L.tensor(np.array([4, 5])), "tensor bools": lambda L: L.tensor([True, False]),
    "tensor mixed": lambda L: L.tensor([1, 2.5]), "tensor ints as float": lambda L: L.tensor([1, 2], dtype=L.float64),
    "arange int": lambda L: L.arange(5), "arange start step": lambda L: L.arange(1, 8, 3),
    "arange float": lambda L: L.arange(0, 1, 0.25), "arange int as float": lambda L: L.arange(4, dtype=L.float32),
    "full int": lambda L: L.full((2, 2), 3), "full float": lambda L: L.full((2,), 3.0),
    "zeros int64": lambda L: L.zeros(3, dtype=L.int64), "ones bool": lambda L: L.ones(2, dtype=L.bool),
    "int + float tensor": lambda L: L.tensor([1, 2]) + L.tensor([0.5, 0.25]),
    "int * python float": lambda L: L.tensor([1, 2]) * 0.5, "int / int": lambda L: L.tensor([3, 4]) / L.tensor([2, 2]),
    "int ** 2": lambda L: L.tensor([3, -4]) ** 2, "int clamp": lambda L: L.tensor([3, -4, 1]).clamp(0, 2),
    "int clamp float": lambda L: L.tensor([3, -4, 1]).clamp(0.5, 2),
    "int sum": lambda L: L.tensor([[1, 2], [3, 4]]).sum(0),
    "int max": lambda L: L.tensor([3, 7, 1]).max(), "int cat": lambda L: L.cat([L.tensor([1]), L.tensor([2, 3])]),
    "int exp": lambda L: L.tensor([0, 1]).exp(), "int float()": lambda L: L.tensor([1, 2]).float(),
    "int indexes": lambda L: L.tensor([[1.0, 2.0], [3.0, 4.0]])[L.tensor([1, 0])],
    "where ints": lambda L: L.where(L.tensor([True, False]), L.tensor([1, 2]), L.tensor([3, 4])),
    "where int and 0": lambda L: L.where(L.tensor([True, False]), L.tensor([1, 2]), 0),
    "where python ints": lambda L: L.where(L.tensor([True, False]), 1, 0),
    "where masks": lambda L: L.where(L.tensor([True, False]), L.tensor([True, True]), L.tensor([False, False])),
    "where int and float": lambda L: L.where(L.tensor([True, False]), L.tensor([1, 2]), 0.5),
    "int masked_fill": lambda L: L.tensor([5, 2]).masked_fill(L.tensor([True, False]), 0),
    "int masked_fill float": lambda L: L.tensor([5, 2, 4]).masked_fill(L.tensor([True, False, True]), -2.9),
    "int masked_fill 0-d float": lambda L: L.tensor([5, 2]).masked_fill(L.tensor([True, False]), L.tensor(3.7)),
    "mask masked_fill float": lambda L: L.tensor([True, False]).masked_fill(L.tensor([False, True]), 0.5),
    "mask masked_fill 0": lambda L: L.tensor([True, True]).masked_fill(L.tensor([True, False]), 0),
    "tensor of an int tensor": lambda L: L.tensor(L.tensor([1, 2])),
    "tensor floats as int64": lambda L: L.tensor([1.7, -1.7], dtype=L.int64),
    "tensor floats as bool": lambda L: L.tensor([0.0, 2.0], dtype=L.bool),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_integer_tensors_are_made_and_promoted_as_torch(name):
    """tr.tensor of Python ints, tr.arange of ints and tr.full of an int are int64 as torch's (were float32);
    their arithmetic with floats gives torch's float dtype; requires_grad on them is refused, as torch."""
    ours, ref = MAKERS[name](tr), MAKERS[name](torch)
    assert ours.dtype == np.dtype(str(ref.dtype).replace("torch.", "")), (ours.dtype, ref.dtype)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)   # exp's last bit may differ


@pytest.mark.parametrize("make", [lambda L: L.tensor([1, 2], requires_grad=True),
                                  lambda L: L.arange(3, requires_grad=True),
                                  lambda L: L.full((2,), 3, requires_grad=True),
                                  lambda L: L.zeros(2, dtype=L.int64, requires_grad=True),
                                  lambda L: L.tensor([1, 2]).requires_grad_()])
def test_integer_tensors_refuse_requires_grad_as_torch(make):
    with pytest.raises(RuntimeError, match="floating point"):
        make(torch)
    with pytest.raises(RuntimeError, match="only float tensors can require grad"):
        make(tr)


def test_item_of_several_elements_is_refused_by_name():
    ours, theirs = _pair(np.zeros(2))
    with pytest.raises(RuntimeError, match="2 elements cannot be converted"):
        theirs.item()
    with pytest.raises(ValueError, match=r"item\(\): only a one-element tensor .* shape \(2,\)"):
        ours.item()   # was numpy's "can only convert an array of size 1 to a Python scalar"
    assert _pair(np.array([2.5]))[0].item() == 2.5


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_masked_fill_of_indices_refuses_what_int64_cannot_hold(value):
    with pytest.raises(RuntimeError, match="cannot be converted"):
        torch.tensor([1, 2]).masked_fill(torch.tensor([True, False]), value)
    with pytest.raises(ValueError, match="masked_fill: value .* cannot be converted to int64"):
        tr.tensor([1, 2]).masked_fill(tr.tensor([True, False]), value)


def test_matmul_of_indices_and_floats_is_refused_as_torch_refuses_it():
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.tensor([[1, 2]]) @ torch.ones(2, 2)
    for error in (RuntimeError, TypeError):   # torch's type and the library's for a dtype mix, in torch's words
        with pytest.raises(error, match="same dtype, but got: int64 != float32"):
            tr.tensor([[1, 2]]) @ tr.ones(2, 2)
