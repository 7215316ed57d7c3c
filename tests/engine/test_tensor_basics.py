"""The Tensor's surface: construction and dtype rules, properties, repr, errors."""
import numpy as np
import pytest
from conftest import DTYPES, T, arrays, clean
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_kept_through_every_op(dtype):
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((3, 4)).astype(dtype), requires_grad=True)
    w = tr.Tensor(rng.standard_normal((4, 2)).astype(dtype), requires_grad=True)
    y = ((x @ w).tanh().sigmoid() * 2.5 + 1 - 0.5 / (x.sum(1, keepdims=True) ** 2 + 1)).exp().log()
    y = tr.concatenate([y, y.relu()], axis=1).softmax(-1).log_softmax().mean()
    assert y.dtype == dtype
    y.backward()
    assert x.grad.dtype == dtype and w.grad.dtype == dtype
    assert x.grad.shape == x.shape


def test_construction_rules():
    assert tr.Tensor([1, 2]).dtype == np.float32  # lists and ints: the float32 default
    assert tr.Tensor(1.5).dtype == np.float32
    assert tr.Tensor(np.ones(2)).dtype == np.float64  # float64 arrays stay float64
    assert tr.Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert tr.Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert tr.Tensor(np.array([1, 2], dtype=np.int64)).dtype == np.float32
    a = np.ones(3)
    assert tr.Tensor(a)._data is a  # no copy
    with pytest.raises(TypeError, match="float32 or float64.*float16"):
        tr.Tensor(np.ones(2, np.float16))
    with pytest.raises(TypeError, match="dtype object"):
        tr.Tensor(np.array([object()]))
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        tr.Tensor([1.0], dtype=np.int32)


def test_mixed_dtypes_are_refused_scalars_and_arrays_adopt_the_tensor_dtype():
    x32 = tr.Tensor(np.ones(2, np.float32))
    x64 = tr.Tensor(np.ones(2, np.float64))
    with pytest.raises(TypeError, match="float32 and float64.*astype"):
        x32 + x64
    assert (x32 * np.ones(2, np.float64)).dtype == np.float32
    assert (np.ones(2, np.float64) * x32).dtype == np.float32
    assert (x32 * 3.0).dtype == np.float32
    assert (x32 + x64.astype(np.float32)).dtype == np.float32
    y = tr.Tensor(np.ones(2, np.float32), requires_grad=True)
    y.astype(np.float64).sum().backward()
    assert y.grad.dtype == np.float32


def test_properties_and_repr():
    x = tr.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.numpy() is x._data and x.is_leaf and x.grad is None
    assert x.sum().item() == 15.0
    r = repr(x * 2.0)
    assert "Tensor(" in r and "float64" in r and "requires_grad=True" in r and "op=Mul" in r
    assert x.T.shape == (3, 2)


def test_shape_errors_name_both_shapes():
    a, b = tr.Tensor(np.ones((2, 3))), tr.Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3\) @ \(4, 5\)"):
        a @ b
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        a + b
    with pytest.raises(ValueError, match="cannot reshape"):
        a.reshape(4, 2)
    with pytest.raises(IndexError, match="shape \\(2, 3\\)"):
        a[5]


def test_numerical_stability_at_extreme_logits():
    import warnings

    from tinygrad_rnn.nn import functional as F
    for dtype in (np.float32, np.float64):
        x = tr.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=dtype), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an overflow warning fails the test
            outs = [x.sigmoid().sum(), x.softmax(-1).max(), x.log_softmax(-1).sum() * 1e-4,
                    F.cross_entropy(x, np.array([1, 0]))]
            for out in outs:
                assert np.isfinite(out._data).all()
                x.grad = None
                out.backward()
                assert np.isfinite(x.grad).all()
        assert np.allclose(x.sigmoid()._data, [[1, 0, 0.5], [0, 0, 1]])


def test_gradcheck_reports_the_worst_element():
    x = tr.Tensor(np.array([0.3, -0.2, 0.5]), requires_grad=True)

    def wrong(t):  # a broken "op": forward x^2, backward claims 3x (via detach trick)
        return t * t.detach() * 1.5 + (t * t - t * t.detach() * 1.5).detach()

    with pytest.raises(tr.GradcheckError) as info:
        tr.gradcheck(wrong, {"x": x})
    msg = str(info.value)
    assert "x" in msg and "analytic" in msg and "numeric" in msg and "tolerance" in msg and "element (2,)" in msg
    with pytest.raises(TypeError, match="float64"):
        tr.gradcheck(lambda t: t, [tr.Tensor([1.0], requires_grad=True)])


def test_gradcheck_leaves_the_grad_of_closed_over_parameters_alone():
    """gradcheck's own backward reached a module's weights fn reads and added into their .grad (torch's
    gradcheck leaves them alone): a training step's gradients were silently changed by a check."""
    lin = tr.nn.Linear(2, 3, dtype=np.float64)
    lin.weight.grad = tr.from_numpy(np.full(lin.weight.shape, 7.0))
    x = tr.Tensor(np.array([[0.5, -1.0]]), requires_grad=True)
    x.grad = tr.from_numpy(np.full(x.shape, 3.0))
    assert tr.gradcheck(lambda t: lin(t).tanh(), [x])
    assert lin.bias.grad is None
    np.testing.assert_array_equal(lin.weight.grad, 7.0)
    np.testing.assert_array_equal(x.grad, 3.0)


def test_gradcheck_takes_one_tensor_and_skips_outputs_without_a_gradient():
    """As torch: one Tensor is one input (it was split into its rows, each a separate argument), and an
    index or mask output has no gradient to check (its float32 projection was refused against float64)."""
    x = tr.Tensor(np.array([[0.3, -0.2, 0.5], [0.1, 0.9, -0.4]]), requires_grad=True)
    assert tr.gradcheck(lambda t: (t.exp() * t, t.argmax(1), t > 0), x)
    with pytest.raises(tr.GradcheckError):  # the float output is still checked
        tr.gradcheck(lambda t: (t * t.detach(), t.argmax(1)), x)


def test_grad_mode_switches():
    x = tr.Tensor([1.0], requires_grad=True)
    with tr.no_grad():
        assert not (x * 2).requires_grad
        with tr.enable_grad():
            assert (x * 2).requires_grad
        assert not tr.is_grad_enabled()
    with tr.inference_mode():
        assert not (x * 2).requires_grad
    with tr.inference_mode(False):
        assert (x * 2).requires_grad
    tr.set_grad_enabled(False)  # called, it switches at once (as torch)
    try:
        assert not (x * 2).requires_grad
    finally:
        tr.set_grad_enabled(True)
    with tr.set_grad_enabled(False):
        assert not tr.is_grad_enabled()
    assert tr.is_grad_enabled()

    @tr.set_grad_enabled(False)
    def f(t):
        return t * 2
    assert tr.is_grad_enabled() and not f(x).requires_grad and tr.is_grad_enabled()
    with pytest.raises(TypeError, match="mode must be a bool"):
        tr.set_grad_enabled("no")

    @tr.no_grad  # torch 2 allows the decorator without parentheses
    def g(t):
        return t * 2
    assert not g(x).requires_grad and tr.is_grad_enabled() and g.__name__ == "g"


def test_creation_functions():
    tr.manual_seed(3)
    a = tr.randn(2, 3)
    tr.manual_seed(3)
    assert np.array_equal(a._data, tr.randn((2, 3))._data) and a.shape == (2, 3)
    u = tr.rand(1000, dtype=np.float64)
    assert u.dtype == np.float64 and 0 <= u._data.min() and u._data.max() < 1
    assert tr.randn(4, requires_grad=True).requires_grad
    assert np.array_equal(tr.arange(5)._data, np.arange(5))
    assert np.allclose(tr.arange(1, 2, 0.25)._data, [1, 1.25, 1.5, 1.75])
    arr = np.zeros(3, np.float32)
    t = tr.from_numpy(arr)
    arr[0] = 7  # shares memory, as torch.from_numpy
    assert t.data[0] == 7
    with pytest.raises(TypeError, match="float32 or float64.*int64"):
        tr.from_numpy(np.arange(3))
    assert np.array_equal(tr.full((2, 2), 1.5)._data, np.full((2, 2), 1.5, np.float32))
    assert tr.ones_like(a).shape == a.shape and tr.zeros_like(a, dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="non-negative ints"):
        tr.zeros(2, -1)


def test_conversions():
    x = tr.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]] and x.argmax().tolist() == 5 and type(x.argmax().item()) is int
    assert x.float().dtype == np.float32 and x.to(np.float32).dtype == np.float32 and x.to("cpu") is x
    assert x.double() is x and x.to(tr.Tensor([1.0])).dtype == np.float32 and x.type_as(x.float()).dtype == np.float32
    assert x.detach().cpu().numpy() is x._data and x.transpose(0, 1).contiguous().view(-1).shape == (6,)
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        x.to("cuda")
    y = x.clone()
    assert y._data is not x._data and np.array_equal(y._data, x._data) and y.requires_grad
    (y * 2).sum().backward()
    assert np.array_equal(x.grad, np.full((2, 3), 2.0))
    with pytest.raises(RuntimeError, match="only float tensors can require grad"):
        (x > 1).requires_grad_()


def test_tensor_operation_errors():
    with pytest.raises(ValueError, match=r"matmul shape mismatch: \(2, 3\) @ \(4, 5\)"):
        T(2, 3) @ T(4, 5)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        T(2, 3) + T(4)
    with pytest.raises(TypeError, match="cannot combine tensors of dtype float32 and float64"):
        T(2) + T(2, dtype=np.float64)
    # the documented conversion rule: ints/bools -> float32 (or dtype=), other dtypes refused
    assert tr.Tensor(np.arange(3)).dtype == np.float32 and tr.Tensor([True]).dtype == np.float32
    assert tr.Tensor(np.arange(3), dtype=np.float64).dtype == np.float64
    for bad, words in [(np.array(["a"]), "got dtype <U1"), (np.array([1 + 2j]), "complex128"),
                       (np.array([None]), "dtype object"), (np.ones(2, np.float16), "float16"),
                       ([[1, 2], [3]], "cannot make a tensor"), ("abc", "expected numbers")]:
        with pytest.raises(TypeError, match=words):
            tr.Tensor(bad)
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int64"):
        tr.Tensor([1], dtype=np.int64)


# ----------------------------------------------------------------------------- fuzzed
# Drawn shapes (wrong ones too), dtypes and values: every operation returns numpy's result or raises a clean
# ValueError/TypeError, and its backward gives gradients of the inputs' shapes.
@given(data=st.data())
def test_core_ops(data):
    d = data.draw
    sa = d(st.lists(st.integers(0, 3), max_size=3).map(tuple))
    sb = d(st.sampled_from([sa, sa[1:], sa[::-1], (d(st.integers(1, 3)),), ()]))
    a_np, b_np = arrays(d, sa, d(st.sampled_from(DTYPES))), arrays(d, sb, d(st.sampled_from(DTYPES)))
    a = clean(lambda: tr.Tensor(a_np, requires_grad=True))
    b = clean(lambda: tr.Tensor(b_np, dtype=a.dtype if a is not None else None, requires_grad=True))
    if a is None or b is None:
        return
    for op, ref in [(lambda u, v: u + v, np.add), (lambda u, v: u * v, np.multiply), (lambda u, v: u / v, np.divide),
                    (lambda u, v: u @ v, np.matmul), (lambda u, v: tr.where(u._data > 0, u, v), None),
                    (lambda u, v: tr.concatenate([u, v], axis=0), None), (lambda u, v: tr.stack([u, v]), np.stack)]:
        out = clean(lambda op=op: op(a, b))
        if out is None:
            continue
        if ref is np.stack:
            expected = np.stack([a._data, b._data])
        elif ref is not None:
            expected = ref(a._data, b._data)
        else:
            expected = None
        if expected is not None:
            assert out.shape == np.shape(expected)
            with np.errstate(all="ignore"):
                np.testing.assert_allclose(out._data, expected, rtol=1e-5, equal_nan=True)
        clean(lambda out=out: out.sum().backward())
        for t in (a, b):
            assert t.grad is None or t.grad.shape == t.shape
            t.grad = None
    for unary in (lambda t: t.log(), lambda t: t.exp(), lambda t: t.sum(axis=d(st.integers(-3, 3))),
                  lambda t: t.reshape(d(st.integers(-1, 6))), lambda t: t.max(), lambda t: t.softmax(axis=-1),
                  lambda t: t.transpose()):
        out = clean(lambda unary=unary: unary(a))
        if out is not None:
            clean(lambda out=out: out.sum().backward())
            assert a.grad is None or a.grad.shape == a.shape
            a.grad = None


def test_manual_seed_takes_what_torch_takes_and_names_the_rest():
    """torch.manual_seed reads its seed with int(): "3" and 3.0 seed as 3; a seed int() cannot read is a
    TypeError naming seed (it used to be numpy's error from inside default_rng); negative seeds wrap."""
    draws = []
    for seed in (3, "3", 3.0):
        tr.manual_seed(seed)
        draws.append(tr.randn(4)._data)
    for d in draws[1:]:
        np.testing.assert_array_equal(d, draws[0])
    tr.manual_seed(-1)
    a = tr.randn(3)._data
    tr.manual_seed(2 ** 64 - 1)
    np.testing.assert_array_equal(tr.randn(3)._data, a)
    with pytest.raises(TypeError, match="manual_seed: seed must be an int, got str 'x'"):
        tr.manual_seed("x")
    with pytest.raises(ValueError, match="64 bits"):
        tr.manual_seed(2 ** 70)


def test_pickled_tensors_leave_their_grad_behind_but_the_old_layout_loads_it():
    """.grad is a checked property over _grad: a pickle carries no gradient (as torch's), and a Tensor pickled when
    .grad was a plain attribute (its state holds "grad") loads with its gradient."""
    import pickle
    t = tr.Tensor(np.ones(2), requires_grad=True)
    t.grad = tr.from_numpy(np.full(2, 3.0))
    u = pickle.loads(pickle.dumps(t))
    assert u.grad is None and u.requires_grad
    state = dict(vars(t))
    state["grad"] = state.pop("_grad")   # the old layout
    old = tr.Tensor.__new__(tr.Tensor)
    old.__setstate__(state)
    np.testing.assert_array_equal(old.grad, [3.0, 3.0])
    assert old.requires_grad
