"""tensor_functions.py against torch 2.13: the tr.* function forms of Tensor methods (tr.sum, tr.max's three forms,
tr.transpose...), the factories eye, linspace, logspace, full_like, empty and empty_like, and tril/triu (and their
in-place forms), masked_fill_, Tensor.where, diag, outer, dot, mv, trace: values, dtypes, shapes, gradients in
float32 and float64, and torch's error types for bad arguments."""
import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def _pair(array, requires_grad=True):
    """The same values as our tensor and torch's."""
    ours = tr.tensor(array, requires_grad=requires_grad and array.dtype.kind == "f")
    theirs = torch.tensor(array, requires_grad=requires_grad and array.dtype.kind == "f")
    return ours, theirs


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


def same_as_torch(ours_fn, torch_fn, *arrays, dtype=np.float64):
    """ours_fn(*our tensors) gives torch_fn(*torch's)'s values, dtypes and shapes (each output of a tuple), and
    the gradients of a weighted sum of the float outputs with respect to each float input are torch's."""
    pairs = [_pair(np.asarray(a)) for a in arrays]
    ours, theirs = _outputs(ours_fn(*[p[0] for p in pairs])), _outputs(torch_fn(*[p[1] for p in pairs]))
    assert len(ours) == len(theirs)
    rng = np.random.default_rng(0)
    our_loss, torch_loss = 0, 0
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape)
        assert str(o.dtype) == str(t.dtype).replace("torch.", "")
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), **TOL[dtype])
        if t.requires_grad:
            assert o.requires_grad
            weight = rng.standard_normal(o.shape).astype(o.dtype)
            our_loss = our_loss + (o * tr.tensor(weight)).sum()
            torch_loss = torch_loss + (t * torch.tensor(weight)).sum()
    if isinstance(torch_loss, int):
        return
    our_loss.backward()
    torch_loss.backward()
    for (o, t) in pairs:
        if t.requires_grad:
            expected = np.zeros(t.shape, dtype) if t.grad is None else t.grad.numpy()
            got = np.zeros(o.shape, dtype) if o.grad is None else np.asarray(o.grad)
            np.testing.assert_allclose(got, expected, **TOL[dtype])


def _data(shape, dtype, seed=1, ties=False):
    rng = np.random.default_rng(seed)
    values = rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape)
    return np.asarray(values, dtype=dtype)


# ----------------------------------------------------------------------------- 1. function forms of methods
# (name, call with the module tr or torch in place of `m`, input shape)
FUNCTION_FORMS = [
    ("sum", lambda m, x: m.sum(x), (3, 4)),
    ("sum dim", lambda m, x: m.sum(x, 1), (3, 4)),
    ("sum dims keepdim", lambda m, x: m.sum(x, (0, 1), keepdim=True), (3, 4, 2)),
    ("sum dtype", lambda m, x: m.sum(x, dtype=m.float64), (3, 4)),
    ("mean", lambda m, x: m.mean(x), (3, 4)),
    ("mean dim keepdim", lambda m, x: m.mean(x, -1, True), (3, 4)),
    ("max", lambda m, x: m.max(x), (3, 4)),
    ("max dim", lambda m, x: m.max(x, 1), (3, 4)),
    ("max dim keepdim", lambda m, x: m.max(x, dim=0, keepdim=True), (3, 4)),
    ("min", lambda m, x: m.min(x), (3, 4)),
    ("min dim", lambda m, x: m.min(x, -1), (3, 4)),
    ("argmax", lambda m, x: m.argmax(x), (3, 4)),
    ("argmax dim", lambda m, x: m.argmax(x, 1, keepdim=True), (3, 4)),
    ("argmin dim", lambda m, x: m.argmin(x, dim=0), (3, 4)),
    ("amax", lambda m, x: m.amax(x), (3, 4)),
    ("amax dims", lambda m, x: m.amax(x, (0, 2)), (3, 4, 2)),
    ("amin dim keepdim", lambda m, x: m.amin(x, 1, True), (3, 4)),
    ("prod", lambda m, x: m.prod(x), (3, 4)),
    ("prod dim", lambda m, x: m.prod(x, 1, keepdim=True), (3, 4)),
    ("std", lambda m, x: m.std(x), (3, 4)),
    ("std dim correction", lambda m, x: m.std(x, 1, correction=0), (3, 4)),
    ("var dim keepdim", lambda m, x: m.var(x, 0, keepdim=True), (3, 4)),
    ("var unbiased", lambda m, x: m.var(x, False), (3, 4)),
    ("norm", lambda m, x: m.norm(x), (3, 4)),
    ("norm p dim", lambda m, x: m.norm(x, 1, 1), (3, 4)),
    ("logsumexp", lambda m, x: m.logsumexp(x, 1), (3, 4)),
    ("logsumexp keepdim", lambda m, x: m.logsumexp(x, (0, 1), keepdim=True), (3, 4)),
    ("reshape", lambda m, x: m.reshape(x, (4, -1)), (3, 4)),
    ("transpose", lambda m, x: m.transpose(x, 0, 2), (3, 4, 2)),
    ("permute", lambda m, x: m.permute(x, (2, 0, 1)), (3, 4, 2)),
    ("flatten", lambda m, x: m.flatten(x), (3, 4, 2)),
    ("flatten dims", lambda m, x: m.flatten(x, 1, 2), (3, 4, 2)),
    ("squeeze", lambda m, x: m.squeeze(x), (3, 1, 2)),
    ("squeeze dim", lambda m, x: m.squeeze(x, 1), (3, 1, 1)),
    ("unsqueeze", lambda m, x: m.unsqueeze(x, -1), (3, 4)),
    ("flip", lambda m, x: m.flip(x, (0, 1)), (3, 4)),
    ("square", lambda m, x: m.square(x), (3, 4)),
    ("rsqrt", lambda m, x: m.rsqrt(m.abs(x) + 0.5), (3, 4)),
    ("count_nonzero", lambda m, x: m.count_nonzero(x), (3, 4)),
    ("count_nonzero dim", lambda m, x: m.count_nonzero(x, 1), (3, 4)),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)), (3, 1)),
    ("method broadcast_to", lambda m, x: x.broadcast_to((5, 3, 4)), (3, 4)),
    ("method count_nonzero", lambda m, x: x.count_nonzero(0), (3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, call, shape", FUNCTION_FORMS, ids=[f[0] for f in FUNCTION_FORMS])
def test_function_forms_as_torch(name, call, shape, dtype):
    same_as_torch(lambda x: call(tr, x), lambda x: call(torch, x), _data(shape, dtype, ties="count" in name),
                  dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_and_min_with_ties_send_the_gradient_as_torch(dtype):
    x = _data((4, 5), dtype, ties=True)
    for name in ("max", "min"):
        ours, theirs = getattr(tr, name), getattr(torch, name)
        same_as_torch(lambda a, f=ours: f(a, 1), lambda a, f=theirs: f(a, 1), x, dtype=dtype)
        same_as_torch(ours, theirs, x, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_min_of_two_tensors_are_elementwise(dtype):
    a, b = _data((3, 4), dtype, 1, ties=True), _data((3, 4), dtype, 2, ties=True)
    same_as_torch(tr.max, torch.max, a, b, dtype=dtype)
    same_as_torch(tr.min, torch.min, a, b, dtype=dtype)


def test_max_with_dim_is_a_values_indices_pair():
    out = tr.max(tr.tensor([[1.0, 3.0], [4.0, 2.0]]), dim=1)
    assert out.values.tolist() == [3.0, 4.0] and out.indices.tolist() == [1, 0]


def test_broadcast_tensors_as_torch():
    same_as_torch(lambda *t: tr.broadcast_tensors(*t), lambda *t: torch.broadcast_tensors(*t),
                  _data((3, 1), np.float64, 1), _data((4,), np.float64, 2), _data((1, 1), np.float64, 3))
    raises_as_torch(lambda: torch.broadcast_tensors(torch.ones(3), torch.ones(4)),
                    lambda: tr.broadcast_tensors(tr.ones(3), tr.ones(4)))


@pytest.mark.parametrize("call", [
    lambda m: m.sum([1.0, 2.0]),
    lambda m: m.max(np.ones(3)),
    lambda m: m.transpose(m.ones(2, 3), 0, 2),
    lambda m: m.unsqueeze(m.ones(2, 3), 3),
    lambda m: m.reshape(m.ones(2, 3), (4, 2)),
    lambda m: m.count_nonzero(m.ones(2, 3), 2),
    lambda m: m.broadcast_to(m.ones(2, 3), (3, 3)),
], ids=["sum of a list", "max of an array", "transpose dim", "unsqueeze dim", "reshape size", "count_nonzero dim",
        "broadcast_to shape"])
def test_bad_arguments_raise_as_torch(call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))


# ----------------------------------------------------------------------------- 2. factories
@pytest.mark.parametrize("call", [
    lambda m: m.eye(3),
    lambda m: m.eye(2, 4),
    lambda m: m.eye(4, 2, dtype=m.float64),
    lambda m: m.eye(3, dtype=m.int64),
    lambda m: m.eye(3, dtype=m.bool),
    lambda m: m.eye(0),
    lambda m: m.linspace(0, 1, 5),
    lambda m: m.linspace(-3.5, 7, 11, dtype=m.float64),
    lambda m: m.linspace(2, -2, 1),
    lambda m: m.linspace(0, 1, 0),
    lambda m: m.linspace(0, 10, 4, dtype=m.int64),
    lambda m: m.logspace(0, 2, 3),
    lambda m: m.logspace(-1, 1, 5, base=2.0, dtype=m.float64),
    lambda m: m.full_like(m.ones(2, 3), 7.5),
    lambda m: m.full_like(m.ones(2, 3, dtype=m.float64), 2),
    lambda m: m.full_like(m.ones(2, dtype=m.int64), 3),
    lambda m: m.full_like(m.ones(2, 3), 1, dtype=m.int64),
    lambda m: m.empty(2, 3).shape,
    lambda m: m.empty((2, 3), dtype=m.float64).dtype,
    lambda m: m.empty_like(m.ones(2, 3, dtype=m.float64)).dtype,
    lambda m: m.empty_like(m.ones(4, dtype=m.int64)).shape,
], ids=lambda c: "")
def test_factories_as_torch(call):
    ours, theirs = call(tr), call(torch)
    if isinstance(theirs, torch.Tensor):
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    else:
        assert tuple(ours) == tuple(theirs) if isinstance(theirs, torch.Size) else \
            str(ours) == str(theirs).replace("torch.", "")


def test_factories_may_require_grad():
    for make in (lambda m: m.eye(2, requires_grad=True), lambda m: m.linspace(0, 1, 3, requires_grad=True),
                 lambda m: m.empty(2, requires_grad=True), lambda m: m.full_like(m.ones(2), 1.0, requires_grad=True)):
        assert make(tr).requires_grad and make(tr).is_leaf and make(torch).requires_grad


@pytest.mark.parametrize("call", [
    lambda m: m.eye(-1),
    lambda m: m.eye(2, -3),
    lambda m: m.eye(2.0),
    lambda m: m.linspace(0, 1, -1),
    lambda m: m.linspace(0, 1, 2.5),
    lambda m: m.eye(2, dtype=m.int64, requires_grad=True),
], ids=["eye n<0", "eye m<0", "eye float n", "linspace steps<0", "linspace float steps", "int requires grad"])
def test_factory_errors_as_torch(call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))


# ----------------------------------------------------------------------------- 3. triangles, diagonals, products
shapes = st.lists(st.integers(0, 4), min_size=2, max_size=4).map(tuple)


@given(shape=shapes, diagonal=st.integers(-5, 5), upper=st.booleans(), double=st.booleans())
def test_tril_triu_as_torch(shape, diagonal, upper, double):
    dtype = np.float64 if double else np.float32
    name = "triu" if upper else "tril"
    x = _data(shape, dtype, seed=len(shape))
    same_as_torch(lambda a: getattr(tr, name)(a, diagonal), lambda a: getattr(torch, name)(a, diagonal), x,
                  dtype=dtype)
    same_as_torch(lambda a: getattr(a, name)(diagonal=diagonal), lambda a: getattr(a, name)(diagonal=diagonal), x,
                  dtype=dtype)


def test_tril_of_inf_outside_the_triangle_is_zero():
    x = np.triu(np.full((3, 3), np.inf), 1) + np.tril(np.ones((3, 3)))   # inf above the diagonal only
    same_as_torch(tr.tril, torch.tril, x)
    same_as_torch(tr.triu, torch.triu, -x.T)


@pytest.mark.parametrize("dtype", ["bool", "int64"])
def test_tril_triu_keep_mask_and_index_dtypes(dtype):
    ours = tr.triu(tr.ones(4, 4, dtype=getattr(tr, dtype)), diagonal=1)
    theirs = torch.triu(torch.ones(4, 4, dtype=getattr(torch, dtype)), diagonal=1)
    assert str(ours.dtype) == dtype and ours.tolist() == theirs.tolist()
    assert tr.tril(tr.ones(3, 2, dtype=getattr(tr, dtype)), -1).tolist() == \
        torch.tril(torch.ones(3, 2, dtype=getattr(torch, dtype)), -1).tolist()


def test_causal_mask_habit():
    scores = tr.randn(4, 4, requires_grad=True)
    mask = tr.triu(tr.ones(4, 4, dtype=tr.bool), diagonal=1)
    out = scores.masked_fill(mask, float("-inf")).softmax(-1)
    expected = torch.tensor(scores.detach().numpy()).masked_fill(torch.ones(4, 4, dtype=torch.bool).triu(1),
                                                                 float("-inf")).softmax(-1)
    np.testing.assert_allclose(out.detach().numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("call", [
    lambda m: m.tril(m.ones(3)),
    lambda m: m.triu(m.ones(3, 3), 1.5),
    lambda m: m.ones(3).triu_(),
], ids=["1-D", "float diagonal", "1-D in place"])
def test_tril_triu_errors_as_torch(call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))


@pytest.mark.parametrize("name", ["tril_", "triu_"])
def test_tril_triu_in_place_as_torch(name):
    x = _data((3, 4), np.float64)
    ours, theirs = tr.tensor(x), torch.tensor(x)
    view_ours, view_theirs = ours[1], theirs[1]
    assert getattr(ours, name)(1) is ours
    getattr(theirs, name)(1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(view_ours.numpy(), view_theirs.numpy())   # the memory written, views see it
    # on a computed tensor with grad mode on: recorded, the gradient flows to the kept elements
    a, b = _pair(x)
    ya, yb = a * 2, b * 2
    getattr(ya, name)(-1)
    getattr(yb, name)(-1)
    ya.sum().backward()
    yb.sum().backward()
    np.testing.assert_array_equal(np.asarray(a.grad), b.grad.numpy())
    raises_as_torch(lambda: getattr(b, name)(), lambda: getattr(a, name)())   # a leaf that requires grad


def test_masked_fill_in_place_as_torch():
    x = _data((3, 4), np.float64)
    mask = x > 0
    ours, theirs = tr.tensor(x), torch.tensor(x)
    assert ours.masked_fill_(tr.tensor(mask), -1.5) is ours
    theirs.masked_fill_(torch.tensor(mask), -1.5)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # the mask broadcasts; a 0-d value tensor that requires grad gets the sum of the filled places' gradients
    a, b = _pair(x)
    va, vb = tr.tensor(2.0, requires_grad=True, dtype=tr.float64), torch.tensor(2.0, requires_grad=True,
                                                                                dtype=torch.float64)
    ya, yb = a * 3, b * 3
    ya.masked_fill_(tr.tensor(mask[0]), va)
    yb.masked_fill_(torch.tensor(mask[0]), vb)
    (ya * ya).sum().backward()
    (yb * yb).sum().backward()
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy())
    np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy())
    np.testing.assert_allclose(np.asarray(va.grad), vb.grad.numpy())
    raises_as_torch(lambda: b.masked_fill_(torch.tensor(mask), 0.0), lambda: a.masked_fill_(tr.tensor(mask), 0.0))
    raises_as_torch(lambda: torch.ones(4).masked_fill_(torch.ones(3, 4, dtype=torch.bool), 0.0),
                    lambda: tr.ones(4).masked_fill_(tr.ones(3, 4, dtype=tr.bool), 0.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_where_method_as_torch(dtype):
    x, y = _data((3, 4), dtype, 1), _data((4,), dtype, 2)
    mask = x > 0
    same_as_torch(lambda a, b: a.where(tr.tensor(mask), b), lambda a, b: a.where(torch.tensor(mask), b), x, y,
                  dtype=dtype)
    same_as_torch(lambda a: a.where(tr.tensor(mask), 0.0), lambda a: a.where(torch.tensor(mask), 0.0), x, dtype=dtype)


@given(n=st.integers(0, 4), m=st.integers(0, 4), diagonal=st.integers(-5, 5), double=st.booleans())
def test_diag_as_torch(n, m, diagonal, double):
    dtype = np.float64 if double else np.float32
    same_as_torch(lambda v: tr.diag(v, diagonal), lambda v: torch.diag(v, diagonal), _data((n,), dtype), dtype=dtype)
    same_as_torch(lambda a: a.diag(diagonal), lambda a: a.diag(diagonal), _data((n, m), dtype), dtype=dtype)


def test_diag_of_indices_and_a_copy():
    v = tr.tensor([1, 2, 3])
    assert tr.diag(v, 1).tolist() == torch.diag(torch.tensor([1, 2, 3]), 1).tolist()
    assert tr.diag(v).dtype == tr.int64
    a = tr.ones(2, 2)
    d = tr.diag(a)
    a.fill_(5.0)
    assert d.tolist() == [1.0, 1.0]   # a copy, as torch's
    raises_as_torch(lambda: torch.diag(torch.ones(2, 2, 2)), lambda: tr.diag(tr.ones(2, 2, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_dot_mv_trace_as_torch(dtype):
    u, v, w, mat = (_data((3,), dtype, 1), _data((4,), dtype, 2), _data((3,), dtype, 3), _data((3, 4), dtype, 4))
    same_as_torch(tr.outer, torch.outer, u, v, dtype=dtype)
    same_as_torch(lambda a, b: a.outer(b), lambda a, b: a.outer(b), u, v, dtype=dtype)
    same_as_torch(tr.dot, torch.dot, u, w, dtype=dtype)
    same_as_torch(lambda a, b: a.dot(b), lambda a, b: a.dot(b), u, w, dtype=dtype)
    same_as_torch(tr.mv, torch.mv, mat, v, dtype=dtype)
    same_as_torch(lambda a, b: a.mv(b), lambda a, b: a.mv(b), mat, v, dtype=dtype)
    same_as_torch(tr.trace, torch.trace, mat, dtype=dtype)
    same_as_torch(lambda a: a.trace(), lambda a: a.trace(), mat.T, dtype=dtype)


def test_trace_of_indices_is_int64():
    assert tr.trace(tr.tensor([[1, 2], [3, 4]])).dtype == tr.int64
    assert tr.trace(tr.tensor([[1, 2], [3, 4]])).item() == torch.trace(torch.tensor([[1, 2], [3, 4]])).item()


@pytest.mark.parametrize("call", [
    lambda m: m.outer(m.ones(2, 2), m.ones(2)),
    lambda m: m.outer(m.ones(2), m.ones(2, 2)),
    lambda m: m.dot(m.ones(2, 2), m.ones(2)),
    lambda m: m.dot(m.ones(3), m.ones(2)),
    lambda m: m.dot(m.ones(2), m.ones(2, dtype=m.float64)),
    lambda m: m.dot([1.0], m.ones(1)),
    lambda m: m.mv(m.ones(2), m.ones(2)),
    lambda m: m.mv(m.ones(2, 3), m.ones(2)),
    lambda m: m.trace(m.ones(2)),
], ids=["outer 2-D input", "outer 2-D vec2", "dot 2-D", "dot sizes", "dot dtypes", "dot list", "mv 1-D", "mv sizes",
        "trace 1-D"])
def test_product_errors_as_torch(call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))


# ----------------------------------------------------------------------------- 4. cumprod, diff, einsum, meshgrid...
@st.composite
def arrays_with_zeros(draw, min_dims=0):
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=min_dims, max_size=3)))
    values = draw(st.lists(st.sampled_from([0.0, 0.0, 1.0, -1.0, 2.0, -0.5, 1.5, 3.0]),
                           min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(values, dtype=np.float64).reshape(shape)


@given(x=arrays_with_zeros(), dim_seed=st.integers(0, 10), double=st.booleans())
def test_cumprod_with_zeros_as_torch(x, dim_seed, double):
    dtype = np.float64 if double else np.float32
    dim = dim_seed % max(x.ndim, 1) - (dim_seed % 2) * max(x.ndim, 1)   # negative dims too
    same_as_torch(lambda a: tr.cumprod(a, dim), lambda a: torch.cumprod(a, dim), x.astype(dtype), dtype=dtype)
    same_as_torch(lambda a: a.cumprod(dim=dim), lambda a: a.cumprod(dim=dim), x.astype(dtype), dtype=dtype)


def test_cumprod_dtypes_as_torch():
    for make in (lambda m: m.tensor([True, False, True]), lambda m: m.tensor([2, 3, -1])):
        ours, theirs = tr.cumprod(make(tr), 0), torch.cumprod(make(torch), 0)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "") and ours.tolist() == theirs.tolist()
    same_as_torch(lambda a: tr.cumprod(a, 0, dtype=tr.float64), lambda a: torch.cumprod(a, 0, dtype=torch.float64),
                  np.array([1.5, 0.0, 2.0], np.float32), dtype=np.float32)
    raises_as_torch(lambda: torch.cumprod(torch.ones(3), 1), lambda: tr.cumprod(tr.ones(3), 1))


@given(x=arrays_with_zeros(min_dims=1), n=st.integers(0, 4), dim_seed=st.integers(0, 10),
       edges=st.sampled_from(["none", "prepend", "append", "both"]), double=st.booleans())
def test_diff_as_torch(x, n, dim_seed, edges, double):
    dtype = np.float64 if double else np.float32
    dim = dim_seed % x.ndim - (dim_seed % 2) * x.ndim
    edge_shape = list(x.shape)
    edge_shape[dim] = 2
    before = np.arange(np.prod(edge_shape), dtype=dtype).reshape(edge_shape) if edges in ("prepend", "both") else None
    after = -np.ones(edge_shape, dtype) if edges in ("append", "both") else None

    def call(m, a, pre, post):
        return m.diff(a, n, dim, prepend=pre, append=post)
    arrays = [x.astype(dtype)] + [e for e in (before, after) if e is not None]

    def split(m):
        def run(a, *rest):
            rest = list(rest)
            pre = rest.pop(0) if before is not None else None
            post = rest.pop(0) if after is not None else None
            return call(m, a, pre, post)
        return run
    same_as_torch(split(tr), split(torch), *arrays, dtype=dtype)


def test_diff_of_masks_indices_and_the_method():
    for values in ([True, False, False, True], [1, 4, 9, 16]):
        ours, theirs = tr.tensor(values).diff(), torch.tensor(values).diff()
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "") and ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("call", [
    lambda m: m.diff(m.ones(3), n=-1),
    lambda m: m.diff(m.tensor(1.0)),
    lambda m: m.diff(m.ones(3, 2), prepend=m.ones(3)),
    lambda m: m.diff(m.ones(3, 2), dim=0, prepend=m.ones(1, 3)),
    lambda m: m.diff(m.ones(3), dim=1),
], ids=["n<0", "0-d", "prepend dims", "prepend shape", "dim"])
def test_diff_errors_as_torch(call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))


@st.composite
def einsum_cases(draw):
    sizes = {c: draw(st.integers(1, 3)) for c in "abcd"}
    terms = draw(st.lists(st.lists(st.sampled_from("abcd"), max_size=3).map("".join), min_size=1, max_size=3))
    used = sorted(set("".join(terms)))
    explicit = draw(st.booleans())
    output = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))]) if explicit else None
    equation = ",".join(terms) + ("" if output is None else "->" + output)
    rng = np.random.default_rng(len(equation))
    return equation, [rng.standard_normal([sizes[c] for c in t]) for t in terms]


@given(case=einsum_cases(), double=st.booleans())
def test_einsum_as_torch(case, double):
    equation, arrays = case
    dtype = np.float64 if double else np.float32
    same_as_torch(lambda *t: tr.einsum(equation, *t), lambda *t: torch.einsum(equation, *t),
                  *[a.astype(dtype) for a in arrays], dtype=dtype)


@pytest.mark.parametrize("equation, shapes", [
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),
    ("i...->...", [(2, 3, 4)]),
    ("...i,...i", [(3, 4), (2, 1, 4)][:1] * 2),
    ("ii->i", [(3, 3)]),
    ("iij->j", [(3, 3, 2)]),
    ("ij->", [(3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
])
def test_einsum_forms_as_torch(equation, shapes):
    arrays = [_data(s, np.float64, seed=k) for k, s in enumerate(shapes)]
    same_as_torch(lambda *t: tr.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), *arrays)
    same_as_torch(lambda *t: tr.einsum(equation, list(t)), lambda *t: torch.einsum(equation, list(t)), *arrays)


def test_einsum_sublist_form_as_torch():
    a, b = _data((2, 3), np.float64, 1), _data((3, 4), np.float64, 2)
    same_as_torch(lambda x, y: tr.einsum(x, [0, 1], y, [1, 2], [0, 2]),
                  lambda x, y: torch.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    same_as_torch(lambda x, y: tr.einsum(x, [0, 1], y, [1, 2]), lambda x, y: torch.einsum(x, [0, 1], y, [1, 2]), a, b)


@pytest.mark.parametrize("call", [
    lambda m: m.einsum("ij,jk->ik", m.ones(2, 3), m.ones(3, 2, dtype=m.float64)),
    lambda m: m.einsum("ij,jk->ik", m.ones(2, 3), m.ones(2, 2)),
    lambda m: m.einsum("ij->ik", m.ones(2, 3)),
    lambda m: m.einsum("ijk->i", m.ones(2, 3)),
    lambda m: m.einsum("ij,jk", m.ones(2, 3)),
], ids=["dtypes", "sizes", "output letter", "dims", "operands"])
def test_einsum_errors_as_torch(call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_as_torch(indexing):
    arrays = [_data((2,), np.float64, 1), _data((3,), np.float64, 2), _data((), np.float64, 3),
              _data((4,), np.float64, 4)]
    same_as_torch(lambda *t: tr.meshgrid(*t, indexing=indexing), lambda *t: torch.meshgrid(*t, indexing=indexing),
                  *arrays)
    same_as_torch(lambda *t: tr.meshgrid(list(t), indexing=indexing),
                  lambda *t: torch.meshgrid(list(t), indexing=indexing), *arrays[:2])
    raises_as_torch(lambda: torch.meshgrid(torch.ones(2, 2), torch.ones(3), indexing=indexing),
                    lambda: tr.meshgrid(tr.ones(2, 2), tr.ones(3), indexing=indexing))
    raises_as_torch(lambda: torch.meshgrid(torch.ones(2), indexing="yx"),
                    lambda: tr.meshgrid(tr.ones(2), indexing="yx"))


@pytest.mark.parametrize("shapes", [[(2,), (3,)], [(2, 3), (2, 1)], [(), ()], [(2, 3, 4), (2, 5, 4)]])
def test_hstack_as_torch(shapes):
    arrays = [_data(s, np.float64, seed=k) for k, s in enumerate(shapes)]
    same_as_torch(lambda *t: tr.hstack(list(t)), lambda *t: torch.hstack(list(t)), *arrays)


@pytest.mark.parametrize("shapes", [[(3,), (3,)], [(2, 3), (1, 3)], [(), ()], [(2, 3), (3,)], [(1, 2, 3), (2, 2, 3)]])
def test_vstack_as_torch(shapes):
    arrays = [_data(s, np.float64, seed=k) for k, s in enumerate(shapes)]
    same_as_torch(lambda *t: tr.vstack(list(t)), lambda *t: torch.vstack(list(t)), *arrays)


def test_stack_errors_as_torch():
    raises_as_torch(lambda: torch.hstack([]), lambda: tr.hstack([]))
    raises_as_torch(lambda: torch.vstack([]), lambda: tr.vstack([]))
    raises_as_torch(lambda: torch.vstack([torch.ones(2), torch.ones(3)]), lambda: tr.vstack([tr.ones(2), tr.ones(3)]))


# ----------------------------------------------------------------------------- 5. trigonometry, logaddexp, median...
TRIG_VALUES = np.array([0.0, -0.0, 0.3, -0.7, 0.99, -0.5, 1.0, -1.0, 1.5, 3.0, -20.0, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["tan", "sinh", "cosh", "asin", "acos", "atan"])
def test_trigonometry_as_torch(name, dtype):
    # the gradient where it is finite on both sides: away from +-1 for asin/acos and from the infinities
    x = TRIG_VALUES.astype(dtype)
    with np.errstate(all="ignore"):
        ours, theirs = getattr(tr, name)(tr.tensor(x)), getattr(torch, name)(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **TOL[dtype])
    assert ours.dtype == x.dtype
    smooth = np.array([0.0, 0.3, -0.7, 0.5, -0.25], dtype)
    same_as_torch(getattr(tr, name), getattr(torch, name), smooth, dtype=dtype)
    same_as_torch(lambda a: getattr(a, name)(), lambda a: getattr(a, name)(), smooth, dtype=dtype)
    assert str(getattr(tr, name)(tr.tensor([1, 0])).dtype) == str(getattr(torch, name)(torch.tensor([1, 0])).dtype) \
        .replace("torch.", "")


@pytest.mark.parametrize("dtype", DTYPES)
def test_atan2_and_logaddexp_as_torch(dtype):
    a = np.array([[1.0, -2.0, 0.5, 3.0, 0.0], [-1.0, 2.0, 0.25, 3.0, 1.0]], dtype)
    b = np.array([0.5, -1.0, 2.0, 3.0, -4.0], dtype)
    for name in ("atan2", "logaddexp"):
        same_as_torch(getattr(tr, name), getattr(torch, name), a, b, dtype=dtype)
        same_as_torch(lambda x, y, f=name: getattr(x, f)(y), lambda x, y, f=name: getattr(x, f)(y), a, b,
                      dtype=dtype)
    edges = np.array([np.inf, -np.inf, -np.inf, 1e30, -1e30, np.inf], dtype)
    others = np.array([np.inf, -np.inf, 0.0, 1e30, 5.0, -np.inf], dtype)
    for name in ("atan2", "logaddexp"):
        ours = getattr(tr, name)(tr.tensor(edges), tr.tensor(others)).numpy()
        np.testing.assert_allclose(ours, getattr(torch, name)(torch.tensor(edges), torch.tensor(others)).numpy(),
                                   **TOL[dtype])
    raises_as_torch(lambda: torch.atan2(torch.ones(2), 2.0), lambda: tr.atan2(tr.ones(2), 2.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_median_as_torch(dtype):
    x = np.array([[3.0, 1.0, 4.0, 1.5, 5.0, 9.0], [2.0, 6.0, 5.0, 3.5, 5.5, 8.0], [9.0, 7.0, 9.5, 3.0, 2.0, 8.5]],
                 dtype)
    same_as_torch(tr.median, torch.median, x, dtype=dtype)
    same_as_torch(lambda a: tr.median(a, 1), lambda a: torch.median(a, 1), x, dtype=dtype)
    same_as_torch(lambda a: a.median(0, keepdim=True), lambda a: a.median(0, keepdim=True), x, dtype=dtype)
    same_as_torch(lambda a: a.median(-1), lambda a: a.median(-1), x[:, :5], dtype=dtype)   # odd count
    ties = np.array([1.0, 2.0, 2.0, 3.0, 2.0], dtype)   # median() shares the gradient among the ties, as torch
    same_as_torch(tr.median, torch.median, ties, dtype=dtype)
    assert tr.median(tr.tensor([3, 1, 2, 7])).item() == torch.median(torch.tensor([3, 1, 2, 7])).item()


@given(values=st.lists(st.integers(-3, 3), min_size=0, max_size=12), inverse=st.booleans(), counts=st.booleans())
def test_unique_as_torch(values, inverse, counts):
    for make in (lambda m: m.tensor(values, dtype=m.float64), lambda m: m.tensor(values, dtype=m.int64)):
        ours = tr.unique(make(tr), return_inverse=inverse, return_counts=counts)
        theirs = torch.unique(make(torch), return_inverse=inverse, return_counts=counts)
        for o, t in zip(_outputs(ours), _outputs(theirs)):
            assert o.tolist() == t.tolist() and str(o.dtype) == str(t.dtype).replace("torch.", "")
            assert not o.requires_grad


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_add_as_torch(dtype):
    x, src = _data((4, 3), dtype, 1), _data((5, 3), dtype, 2)
    index = np.array([0, 2, 0, 3, 1])
    same_as_torch(lambda a, s: tr.index_add(a, 0, tr.tensor(index), s, alpha=2.5),
                  lambda a, s: torch.index_add(a, 0, torch.tensor(index), s, alpha=2.5), x, src, dtype=dtype)
    same_as_torch(lambda a, s: a.index_add(1, tr.tensor([2, 2]), s),
                  lambda a, s: a.index_add(1, torch.tensor([2, 2]), s), x, _data((4, 2), dtype, 3), dtype=dtype)
    ours, theirs = tr.tensor(x), torch.tensor(x)
    assert ours.index_add_(0, tr.tensor(index), tr.tensor(src)) is ours
    theirs.index_add_(0, torch.tensor(index), torch.tensor(src))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **TOL[dtype])


@pytest.mark.parametrize("call", [
    lambda m: m.ones(3).index_add(0, m.tensor([0, 1]), m.ones(3)),
    lambda m: m.ones(3).index_add(0, m.tensor([0.0, 1.0]), m.ones(2)),
    lambda m: m.ones(3).index_add(0, m.tensor([0, 5]), m.ones(2)),
    lambda m: m.ones(3).index_add(0, m.tensor([-1]), m.ones(1)),
    lambda m: m.ones(3).index_add(1, m.tensor([0]), m.ones(1)),
], ids=["count", "float index", "out of range", "negative", "dim"])
def test_index_add_errors_as_torch(call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))
