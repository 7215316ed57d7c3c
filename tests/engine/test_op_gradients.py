"""Every primitive's gradient against central finite differences, over hypothesis-drawn shapes
(broadcasting, size-1 and empty dimensions) and values, in float64."""
import numpy as np
import pytest
from conftest import leaf
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tr
from tinygrad_rnn import primitives as P
from tinygrad_rnn.nn import functional as F

F64 = np.float64


def values(shape, lo=-2.0, hi=2.0, unique=False):
    if unique:  # on a grid of step 1/16: distinct values stay far apart compared with gradcheck's eps
        grid = st.integers(int(lo * 16), int(hi * 16)).map(lambda i: i / 16)
        return hnp.arrays(F64, shape, elements=grid, unique=True)
    return hnp.arrays(F64, shape, elements=st.floats(lo, hi, allow_nan=False, width=64))


def away_from_zero(shape, lo=0.2, hi=2.0):
    """Values with |x| in [lo, hi]: away from the kinks of relu/abs and the pole of 1/x."""
    return st.tuples(values(shape, lo, hi), hnp.arrays(np.bool_, shape)).map(lambda p: np.where(p[1], p[0], -p[0]))


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
nonempty = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
pair_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv"])
@given(data=st.data())
def test_binary_ops_broadcast(op, data):
    sa, sb = data.draw(pair_shapes).input_shapes
    a = leaf(data.draw(values(sa)))
    b = leaf(data.draw(away_from_zero(sb)))  # b is the divisor in div
    fns = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
           "div": lambda a, b: a / b}
    if op.startswith("r"):  # a numpy array on the left: the reflected operator
        const = data.draw(away_from_zero(sa))
        fn = {"radd": lambda b: const + b, "rsub": lambda b: const - b, "rmul": lambda b: const * b,
              "rdiv": lambda b: const / b}[op]
        assert tr.gradcheck(fn, [b])
        assert np.allclose(fn(b).data, fns[op[1:]](tr.Tensor(const, dtype=F64), b).data)
    else:
        assert tr.gradcheck(fns[op], [a, b])


@given(x=shapes.flatmap(values))
def test_neg_exp_tanh_sigmoid(x):
    t = leaf(x)
    for fn in (lambda t: -t, lambda t: t.exp(), lambda t: t.tanh(), lambda t: t.sigmoid(),
               lambda t: tr.exp(t) * tr.tanh(t)):
        assert tr.gradcheck(fn, [t])


@given(x=shapes.flatmap(lambda s: values(s, 0.3, 3.0)), p=st.sampled_from([2, 3, 0.5, -1.0, 1.7]))
def test_log_pow_sqrt(x, p):
    t = leaf(x)
    assert tr.gradcheck(lambda t: t.log(), [t])
    assert tr.gradcheck(lambda t: t ** p, [t])
    assert tr.gradcheck(lambda t: t.sqrt(), [t])
    assert tr.gradcheck(lambda t: 2.0 ** t, [t])


@given(data=st.data())
def test_tensor_exponent(data):
    sa, sb = data.draw(pair_shapes).input_shapes
    a, b = leaf(data.draw(values(sa, 0.3, 3.0))), leaf(data.draw(values(sb)))
    assert tr.gradcheck(lambda a, b: a ** b, [a, b])


@given(x=shapes.flatmap(away_from_zero))
def test_relu_abs_clip(x):
    x = np.where(np.abs(np.abs(x) - 1.1) < 1e-3, 0.5, x)  # clip has no derivative at its bounds
    t = leaf(x)
    assert tr.gradcheck(lambda t: t.relu(), [t])
    assert tr.gradcheck(lambda t: t.abs(), [t])
    assert tr.gradcheck(lambda t: t.clip(-1.1, 1.1), [t])
    assert tr.gradcheck(lambda t: tr.clip(t, min=-1.1), [t])


@given(data=st.data())
def test_matmul(data):
    m, k, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch_a, batch_b = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
    a = leaf(data.draw(values(batch_a + (m, k))))
    b = leaf(data.draw(values(batch_b + (k, n))))
    assert tr.gradcheck(lambda a, b: a @ b, [a, b])
    assert np.allclose((a @ b).data, a.data @ b.data)
    v = leaf(data.draw(values((k,))))
    assert tr.gradcheck(lambda a, v: a @ v, [a, v])  # matrix @ vector
    assert tr.gradcheck(lambda v, b: v @ b, [v, b])  # vector @ matrix
    assert tr.gradcheck(lambda v: v @ v, [v])  # vector @ vector, the same tensor twice
    assert tr.gradcheck(lambda a: a @ b.data, [a])  # a constant ndarray operand


@given(data=st.data())
def test_sum_mean_max(data):
    shape = data.draw(nonempty)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keepdims = data.draw(st.booleans())
    t = leaf(data.draw(values(shape, -8, 8, unique=True)))  # unique: max has no ties
    assert tr.gradcheck(lambda t: t.sum(axis, keepdims), [t])
    assert tr.gradcheck(lambda t: t.mean(axis, keepdims), [t])
    assert tr.gradcheck(lambda t: t.amax(axis, keepdims), [t])
    if axis is not None:  # torch's max(dim): (values, indices), the gradient to the index
        assert tr.gradcheck(lambda t: t.max(axis, keepdims).values, [t])
        assert tr.gradcheck(lambda t: t.min(dim=axis, keepdim=keepdims)[0], [t])
        assert np.array_equal(t.max(axis).indices.data, t.data.argmax(axis))
    assert np.allclose(t.mean(axis, keepdims).data, t.data.mean(axis=axis, keepdims=keepdims))
    if len(shape) >= 2:
        assert tr.gradcheck(lambda t: t.sum(axis=(0, -1)), [t])


def test_max_ties_share_gradient():
    t = leaf([1.0, 3.0, 3.0])
    t.max().backward()
    assert np.allclose(t.grad, [0, 0.5, 0.5])


@given(data=st.data())
def test_reshape_transpose(data):
    shape = data.draw(shapes)
    t = leaf(data.draw(values(shape)))
    assert tr.gradcheck(lambda t: t.reshape(-1), [t])
    perm = data.draw(st.permutations(range(len(shape))))
    assert tr.gradcheck(lambda t: t.transpose(tuple(perm)), [t])
    assert tr.gradcheck(lambda t: t.T, [t])
    assert np.array_equal(t.transpose(tuple(perm)).data, t.data.transpose(perm))


@given(data=st.data())
def test_getitem(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4))
    t = leaf(data.draw(values(shape)))
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    steps = [i.step for i in (index if isinstance(index, tuple) else (index,)) if isinstance(i, slice)]
    if any(step is not None and step < 0 for step in steps):   # torch refuses x[::-1]; flip() uses the primitive
        with pytest.raises(ValueError, match="step must be greater than zero"):
            t[index]
        assert tr.gradcheck(lambda t: tr.apply(P.GetItem, t, index=index), [t])
        return
    assert tr.gradcheck(lambda t: t[index], [t])
    assert np.array_equal(t[index].data, t.data[index])
    # integer-array indices with repeats: the gradient must accumulate
    idx = np.array(data.draw(st.lists(st.integers(0, shape[1] - 1), min_size=1, max_size=6)))
    assert tr.gradcheck(lambda t: t[:, idx], [t])
    assert tr.gradcheck(lambda t: t[idx % shape[0]], [t])


@given(data=st.data())
def test_concatenate_stack_split_chunk(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    a, b = leaf(data.draw(values(shape))), leaf(data.draw(values(shape)))
    assert tr.gradcheck(lambda a, b: tr.concatenate([a, b, a], axis=axis), [a, b])
    assert tr.gradcheck(lambda a, b: tr.stack([a, b], axis=axis), [a, b])
    n = shape[axis]
    size = data.draw(st.integers(1, n))
    # only some pieces used: the others get no gradient, the split must still give the right one
    assert tr.gradcheck(lambda a: a.split(size, axis)[-1] * 2 + a.split(size, axis)[0].sum(), [a])
    pieces = tr.chunk(a, data.draw(st.integers(1, n)), axis)
    assert np.array_equal(tr.concatenate(pieces, axis).data, a.data)
    assert tr.gradcheck(lambda a: [p.tanh() for p in a.unbind(axis)][0], [a])


@given(data=st.data())
def test_where(data):
    sa, sb, sc = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3)).input_shapes
    a, b = leaf(data.draw(values(sa))), leaf(data.draw(values(sb)))
    cond = data.draw(hnp.arrays(np.bool_, sc))
    assert tr.gradcheck(lambda a, b: tr.where(cond, a, b), [a, b])
    assert tr.gradcheck(lambda a: tr.where(cond, a, 0.0), [a])


@given(data=st.data())
def test_softmax_family(data):
    shape = data.draw(nonempty)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    t = leaf(data.draw(values(shape, -4, 4)))
    assert tr.gradcheck(lambda t: t.softmax(axis), [t])
    assert tr.gradcheck(lambda t: tr.log_softmax(t, axis), [t])
    ref = np.exp(t.data) / np.exp(t.data).sum(axis=axis, keepdims=True)
    assert np.allclose(t.softmax(axis).data, ref)


@given(data=st.data())
def test_losses(data):
    n, c = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    logits = leaf(data.draw(values((n, c), -4, 4)))
    targets = np.array(data.draw(st.lists(st.sampled_from(list(range(c)) + [-100]), min_size=n, max_size=n)))
    for reduction in ("sum", "none"):
        assert tr.gradcheck(lambda l, reduction=reduction: F.cross_entropy(l, targets, reduction=reduction), [logits])
    if np.any(targets != -100):
        assert tr.gradcheck(lambda l: F.cross_entropy(l, targets), [logits])
    target = data.draw(values((n, c)))
    assert tr.gradcheck(lambda l: F.mse_loss(l, target), [logits])
    # plain numpy reference for the value
    valid = targets != -100
    lp = logits.data - np.log(np.exp(logits.data).sum(1, keepdims=True))
    expected = -lp[np.arange(n)[valid], targets[valid]].sum()
    assert np.isclose(F.cross_entropy(logits, targets, reduction="sum").item(), expected)


@given(data=st.data())
def test_embedding_accumulates_repeats(data):
    v, d = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4))
    w = leaf(data.draw(values((v, d))))
    idx = np.array(data.draw(st.lists(st.integers(0, v - 1), min_size=1, max_size=8))).reshape(-1, 1)
    assert tr.gradcheck(lambda w: F.embedding(idx, w), [w])
    F.embedding(idx, w).sum().backward()
    assert np.allclose(w.grad[:, 0], np.bincount(idx.ravel(), minlength=v))


def test_cross_entropy_sequence_layout():
    rng = np.random.default_rng(0)
    logits = leaf(rng.standard_normal((2, 3, 4)))  # (N, C, d) as torch
    targets = np.array([[0, 2, 1, -100], [1, 1, 0, 2]])
    assert tr.gradcheck(lambda l: F.cross_entropy(l, targets), [logits])


# the torch surface (issue 14): each op's gradient against finite differences, away from kinks and ties
# (the values at the kinks, where torch picks a subgradient, are held to PyTorch in test_torch_parity.py)
def _dim(data, ndim):
    return data.draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))


def surface_op(data, name, t):  # noqa: C901 - one short branch per op, read as a table
    """The op `name` as a function of one tensor like t, its dims and constants drawn once here."""
    d, d2 = _dim(data, t.ndim), _dim(data, t.ndim)
    if name == "pow_tensor":
        e = leaf(data.draw(values(t.shape, -2, 2)))
        return lambda a: a ** e
    if name == "rpow":
        ints = leaf(np.round(t.data))
        return lambda a: 2.0 ** a + (-2.0) ** ints * a
    if name == "maximum_minimum":
        other = data.draw(away_from_zero(t.shape, 0.3, 2.0)) * 0.5  # a multiple of 0.5 apart: no ties
        return lambda a: a.maximum(other + 0.01) + tr.minimum(a, tr.Tensor(other - 0.01))
    if name == "square_rsqrt_abs":
        return lambda a: a.square() + (a * a + 1).rsqrt() + a.abs()
    if name == "clamp_masked_fill":
        return lambda a: a.clamp(-1.23, 1.37) + a.masked_fill(a > 0, 2.0)
    if name == "prod":
        return lambda a: a.prod(d, keepdim=True).sum() + a.prod()
    if name == "var_std":
        spread = np.arange(t.size).reshape(t.shape) * 10.0  # distinct values: the std is not at its kink 0
        return lambda a: (a.var(d, correction=0), (a + spread).std(correction=0),
                          (a + spread).std(d2) if t.shape[d2] > 1 else a.std(d2, correction=0))
    if name == "norm":
        return lambda a: (a.norm(), a.norm(1, d), a.norm(3))
    if name == "logsumexp":
        return lambda a: a.logsumexp(d)
    if name == "max_min_dim":
        return lambda a: (a.max(d)[0], a.min(d2, keepdim=True).values, a.amin(), a.max())
    if name == "shape":
        return lambda a: (a.unsqueeze(d).squeeze(d).flatten().view(-1), a.flip(d).clone(),
                          a.permute(*reversed(range(a.ndim))).transpose(d, d2))
    if name == "expand":
        return lambda a: a.reshape((1,) + a.shape).expand(3, *a.shape) * 1.5
    raise KeyError(name)


SURFACE = ["pow_tensor", "rpow", "maximum_minimum", "square_rsqrt_abs", "clamp_masked_fill", "prod", "var_std",
           "norm", "logsumexp", "max_min_dim", "shape", "expand"]


@pytest.mark.parametrize("name", SURFACE)
@given(data=st.data())
def test_torch_surface_gradients(name, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    if name == "max_min_dim":  # distinct values: no ties
        x = data.draw(values(shape, -2, 2, unique=True))
    elif name == "pow_tensor":  # a positive base: a negative one has no real power of a non-integer exponent
        x = data.draw(values(shape, 0.3, 2.0))
    else:
        x = data.draw(away_from_zero(shape, 0.3, 2.0))
    t = leaf(x)
    assert tr.gradcheck(surface_op(data, name, t), [t])


def test_surface_keeps_float32():
    x = tr.Tensor(np.linspace(0.5, 2.0, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    outs = [x ** x, 2.0 ** x, (-2.0) ** x, x.maximum(1.0), x.minimum(x.T.T), x.clamp(0.6, 1.2), x.square(),
            x.rsqrt(), x.abs(), x.prod(1), x.var(0), x.std(), x.norm(), x.norm(3, 1), x.logsumexp(1),
            x.max(1).values, x.amin(0), x.mean(dim=0), x.masked_fill(x > 1, 0.0), x.expand(2, 3, 4), x.flip(0),
            x.clone(), x.unsqueeze(1), x.flatten(), x.view(4, 3), x.permute(1, 0), x.transpose(0, 1),
            x.to(np.float64).float(), x.max(x.T.T)]
    for out in outs:
        assert out.dtype == np.float32, out
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == np.float32
    for make in (tr.randn, tr.rand, tr.zeros, tr.ones):
        assert make(2, 3).dtype == np.float32 and make(2, 3, dtype=np.float64).dtype == np.float64
    assert tr.arange(5.0).dtype == np.float32 and tr.full((2,), 1.5).dtype == np.float32
    assert tr.arange(5).dtype == np.int64 and tr.full((2,), 3).dtype == np.int64   # as torch
    assert x.argmax().dtype == np.int64 and (x > 1).dtype == np.bool_ and (x > 1).sum().dtype == np.int64


# gathering, sorting and running sums (sampling and sequence work)
@given(data=st.data())
def test_gather_adds_up_repeated_indices(data):
    shape = data.draw(nonempty)
    t = leaf(data.draw(values(shape)))
    d = data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(data.draw(st.integers(0, n)) if i != d else data.draw(st.integers(0, 5))
                        for i, n in enumerate(shape))
    index = data.draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[d] - 1)))
    assert tr.gradcheck(lambda a: a.gather(d, index), [t])
    assert tr.gradcheck(lambda a: tr.gather(a, d - len(shape), index), [t])


@given(data=st.data())
def test_cumsum_sort_topk(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    t = leaf(data.draw(values(shape, unique=True)))  # distinct values: no ties, where the order is a choice
    d = _dim(data, t.ndim)
    desc = data.draw(st.booleans())
    assert tr.gradcheck(lambda a: a.cumsum(d), [t])
    assert tr.gradcheck(lambda a: a.sort(d, desc).values, [t])
    k = data.draw(st.integers(0, t.shape[d] if t.ndim else 1))
    assert tr.gradcheck(lambda a: a.topk(k, d, largest=desc).values, [t])


@given(data=st.data())
def test_scatter_add_and_scatter(data):
    shape = data.draw(nonempty)
    t, d = leaf(data.draw(values(shape))), data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(data.draw(st.integers(0, n)) for n in shape)
    index = data.draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[d] - 1)))
    src = leaf(data.draw(values(index_shape)))
    assert tr.gradcheck(lambda a, s: a.scatter_add(d, index, s), [t, src])
    distinct = np.argsort(data.draw(hnp.arrays(F64, shape, elements=st.floats(0, 1), unique=True)), axis=d)
    distinct = distinct[tuple(slice(n) for n in index_shape)]  # no index twice along d: one value lands
    assert tr.gradcheck(lambda a, s: tr.scatter(a, d, distinct, s), [t, src])
