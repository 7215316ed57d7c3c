"""Tensor operations against PyTorch, modelled on tinygrad's helper_test_op: each op is written once, as
one lambda `fn(lib, *tensors)` that runs on tinygrad_rnn (lib = tr) and on PyTorch (lib = torch) over
hypothesis-drawn shapes and values, edge values included (0, -0.0, negative bases, ties, empty axes,
0-d tensors). Outputs (values, shapes, dtypes, the sign of zeros) and every input's gradient must agree
in float64; where torch raises, tinygrad_rnn must raise too. Skipped without torch."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
# log(-1), 0 ** -1 and friends warn in numpy (and torch warns of std's degrees of freedom): the values are checked
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

EDGES = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -3.0]
ANY_ZERO = {"zero_signs": False}  # for max and min: which of 0.0 and -0.0 wins their tie is arbitrary
CASES = {}


def case(fn):
    """Register fn(draw) -> (arrays, op) or (arrays, op, helper_test_op options): one op, with how to draw
    its inputs."""
    CASES[fn.__name__] = fn
    return fn


def shapes(min_dims=0, max_dims=3, min_side=0):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=4)


# multiples of 1/8 (and -0.0): sums and means of them are exact, so a degenerate point (equal values, a
# product that underflows) is degenerate in both libraries, not in one only by rounding
GRID = st.one_of(st.just(-0.0), st.integers(-24, 24).map(lambda i: i / 8))


def values(shape, elements=None, unique=False):
    if unique:  # distinct values on a grid: no ties for argmax-like ops
        return hnp.arrays(np.float64, shape, elements=st.integers(-64, 64).map(lambda i: i / 8), unique=True)
    if elements is None:
        elements = st.one_of(st.sampled_from(EDGES), st.floats(-3, 3, width=64))
    return hnp.arrays(np.float64, shape, elements=elements)


def a_dim(draw, ndim):
    """A dim for a tensor of `ndim` dims (0-d tensors take 0 or -1, as in torch)."""
    return draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _same_containers(ours, theirs):
    """Where torch returns a tuple (split, chunk, max(dim)'s values and indices) ours is a tuple, and a list
    where torch's is a list: code that appends to, or compares, the result behaves the same."""
    for kind in (tuple, list):
        assert isinstance(ours, kind) == isinstance(theirs, kind), (type(ours), type(theirs))
    if isinstance(theirs, (tuple, list)):
        for o, t in zip(ours, theirs):
            _same_containers(o, t)


def helper_test_op(arrays, op, atol=1e-10, rtol=1e-7, zero_signs=True):
    ours = [tr.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    try:
        out_t = op(torch, *theirs)
    except (RuntimeError, IndexError, ValueError, TypeError):
        with pytest.raises((ValueError, IndexError, TypeError, RuntimeError)):
            op(tr, *ours)
        return
    out = op(tr, *ours)
    _same_containers(out, out_t)
    outs, outs_t = _flat(out), _flat(out_t)
    assert len(outs) == len(outs_t)
    rng = np.random.default_rng(0)
    loss, loss_t = None, None
    for o, t in zip(outs, outs_t):
        expected = t.detach().numpy()
        assert o.shape == expected.shape
        assert o.dtype == expected.dtype or (o.dtype.kind, expected.dtype.kind) == ("i", "i"), (o.dtype, expected.dtype)
        if expected.dtype.kind != "f":
            assert np.array_equal(o._data, expected)
            continue
        np.testing.assert_allclose(o._data, expected, rtol=rtol, atol=atol, equal_nan=True)
        zeros = (o._data == 0) & (expected == 0) & zero_signs
        assert np.array_equal(np.signbit(o._data[zeros]), np.signbit(expected[zeros])), "signs of zeros differ"
        assert o.requires_grad == t.requires_grad
        if t.requires_grad:
            r = rng.standard_normal(expected.shape)
            term, term_t = (o * r).sum(), (t * torch.tensor(r)).sum()
            loss, loss_t = (term, term_t) if loss is None else (loss + term, loss_t + term_t)
    if loss is None:
        return
    loss.backward()
    loss_t.backward()
    for k, (a, b) in enumerate(zip(ours, theirs)):
        expected = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        got = np.zeros(a.shape) if a.grad is None else a.grad
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, equal_nan=True,
                                   err_msg=f"gradient of input {k}")


# ----------------------------------------------------------------------------- elementwise
def _binary_arrays(draw, elements=None):
    sa, sb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)).input_shapes
    return [draw(values(sa, elements)), draw(values(sb, elements))]


@case
def arithmetic(draw):
    return _binary_arrays(draw), lambda lib, a, b: (a + b) * a - b / (b * b + 1)


@case
def neg_exp_tanh_sigmoid_relu(draw):
    return [draw(values(draw(shapes())))], lambda lib, x: (-x).exp() + x.tanh() * x.sigmoid() - x.relu()


@case
def abs(draw):
    return [draw(values(draw(shapes())))], lambda lib, x: x.abs()


@case
def square_sqrt_rsqrt_log(draw):  # negative and zero inputs, -0.0 included: nan and inf where torch has them
    return [draw(values(draw(shapes())))], lambda lib, x: (x.square(), x.sqrt(), x.rsqrt(), x.log())


@case
def pow_tensor_exponent(draw):  # 0 ** 0, negative bases to integer powers, 0 ** x
    ints = st.sampled_from([0.0, -0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5])
    # ANY_ZERO: numpy takes (-0.0) ** 0.5 as sqrt(-0.0) = -0.0 for a 0-d exponent, torch as pow() = 0.0
    return _binary_arrays(draw, ints), lambda lib, a, b: a ** b, ANY_ZERO


@case
def pow_constant_exponent(draw):
    p = draw(st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5, -1.5, 2.5]))
    return [draw(values(draw(shapes())))], lambda lib, x: (x ** p, x.pow(p))


@case
def pow_constant_base(draw):
    base = draw(st.sampled_from([0.0, 2.0, -2.0, 0.5]))
    ints = st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.0, 0.5])
    return [draw(values(draw(shapes()), ints))], lambda lib, x: base ** x


@case
def maximum_minimum(draw):  # ties (edge values repeat) split the gradient in half
    return _binary_arrays(draw, st.sampled_from(EDGES)), lambda lib, a, b: (a.maximum(b), lib.minimum(a, b)), ANY_ZERO


@case
def clamp(draw):
    lo, hi = sorted(draw(st.lists(st.sampled_from([-1.0, 0.0, 0.5, 2.0]), min_size=2, max_size=2)))
    return [draw(values(draw(shapes())))], lambda lib, x: (x.clamp(lo, hi), x.clamp(min=lo), x.clamp(max=hi))


@case
def comparisons_and_masks(draw):
    return _binary_arrays(draw, st.sampled_from(EDGES)), lambda lib, a, b: (
        a == b, a != b, a < b, a >= b, (a > 0) & (b <= 0), ~(a == 0) | (b == 0))


@case
def where_and_masked_fill(draw):
    a, b = _binary_arrays(draw, st.sampled_from(EDGES))
    mask = draw(hnp.arrays(np.bool_, draw(hnp.broadcastable_shapes(a.shape, max_dims=a.ndim))))
    return [a, b], lambda lib, a, b: (lib.where(a == 0, a, b), a.masked_fill(lib.tensor(mask * 1.0) > 0.5, 0.5),
                                      a.masked_fill(a == 1, -2.0))


# ----------------------------------------------------------------------------- reductions
def _reduction(draw, unique=False, min_side=0, elements=None):
    x = draw(values(draw(shapes(min_side=min_side)), elements, unique=unique))
    dim = draw(st.one_of(st.none(), st.just("tuple"), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)))
    if dim == "tuple":
        dim = tuple(sorted(set(draw(st.lists(st.integers(0, max(x.ndim - 1, 0)), min_size=1, max_size=2)))))
    return x, dim, draw(st.booleans())


@case
def sum_mean(draw):  # empty axes: sum 0, mean nan; dim=() means all dims
    x, dim, keep = _reduction(draw)
    dim = () if draw(st.integers(0, 9)) == 0 else dim
    if dim is None:
        return [x], lambda lib, x: (x.sum(), x.mean())
    return [x], lambda lib, x: (x.sum(dim, keepdim=keep), x.mean(dim=dim, keepdim=keep))


@case
def prod(draw):  # zeros in the input: the gradient is the product of the others
    x = draw(values(draw(shapes()), GRID))
    dim = a_dim(draw, x.ndim)
    return [x], lambda lib, x: (x.prod(), x.prod(dim), x.prod(dim, keepdim=True))


@case
def amax_amin_max_min(draw):  # ties share the gradient (amax, max())
    x, dim, keep = _reduction(draw, min_side=1)
    x = np.round(x)  # many ties
    if dim is None:
        return [x], lambda lib, x: (x.max(), x.min(), x.amax(), x.amin()), ANY_ZERO
    return [x], lambda lib, x: (x.amax(dim, keep), x.amin(dim=dim, keepdim=keep)), ANY_ZERO


@case
def max_min_with_dim(draw):  # values and indices; the gradient goes to the index
    x = draw(values(draw(shapes(min_side=1)), unique=True))
    dim, keep = a_dim(draw, x.ndim), draw(st.booleans())
    return [x], lambda lib, x: (x.max(dim, keep), x.min(dim=dim, keepdim=keep), x.max(dim).values)


@case
def argmax_argmin(draw):
    x = draw(values(draw(shapes(min_side=1)), unique=True))
    dim, keep = draw(st.one_of(st.none(), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1))), draw(st.booleans())
    return [x], lambda lib, x: (x.argmax(dim, keep), x.argmin(dim=dim, keepdim=keep), x.argmax())


@case
def var_std(draw):  # all-equal values: std 0 with gradient 0; one element: nan
    x, dim, keep = _reduction(draw, elements=GRID)
    correction = draw(st.sampled_from([0, 1, 2]))
    if dim is None:
        return [x], lambda lib, x: (x.var(), x.std(correction=correction))
    return [x], lambda lib, x: (x.var(dim, keepdim=keep, correction=correction), x.std(dim, keepdim=keep))


@case
def var_std_legacy_unbiased(draw):  # torch's x.var(unbiased): one bool alone; with anything else refused
    x, _, keep = _reduction(draw, elements=GRID)
    flag = draw(st.booleans())
    if draw(st.booleans()):
        return [x], lambda lib, x: (x.var(flag), x.std(flag))
    # (dim=True as a keyword is refused by torch but read as unbiased here: a keyword cannot be told apart)
    extra = draw(st.sampled_from([dict(keepdim=keep), dict(unbiased=flag), dict(correction=0)]))
    return [x], lambda lib, x: x.var(flag, **extra)


@case
def norm(draw):  # zero vectors: gradient 0
    x = draw(values(draw(shapes()), st.sampled_from([0.0, 0.0, 1.0, -2.0, 0.5])))
    p = draw(st.sampled_from(["fro", 1, 2, 3, 1.5, float("inf")]))
    dim = draw(st.one_of(st.none(), st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)))
    return [x], lambda lib, x: x.norm(p, dim, keepdim=dim is not None)


@case
def logsumexp(draw):
    x, dim, keep = _reduction(draw)
    dim = 0 if dim is None else dim
    return [x], lambda lib, x: x.logsumexp(dim, keepdim=keep)


@case
def softmax_log_softmax(draw):
    x = draw(values(draw(shapes())))
    dim = a_dim(draw, x.ndim)
    return [x], lambda lib, x: (x.softmax(dim), x.log_softmax(dim=dim))


# ----------------------------------------------------------------------------- shapes and indexing
@case
def transpose_permute_t(draw):
    x = draw(values(draw(shapes(min_dims=1))))
    d0, d1 = a_dim(draw, x.ndim), a_dim(draw, x.ndim)
    perm = draw(st.permutations(range(x.ndim)))
    if x.ndim == 2:
        return [x], lambda lib, x: (x.transpose(d0, d1), x.permute(*perm), x.T, x.t())
    return [x], lambda lib, x: (x.transpose(d0, d1), x.permute(perm))


@case
def view_reshape_flatten(draw):
    x = draw(values(draw(shapes())))
    start, end = a_dim(draw, x.ndim), a_dim(draw, x.ndim)
    return [x], lambda lib, x: (x.view(-1), x.reshape(x.shape + (1,)), x.flatten(), x.flatten(start, end))


@case
def squeeze_unsqueeze(draw):
    x = draw(values(draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=2))))
    dim, new = a_dim(draw, x.ndim), draw(st.integers(-x.ndim - 1, x.ndim))
    return [x], lambda lib, x: (x.squeeze(), x.squeeze(dim), x.unsqueeze(new))


@case
def expand(draw):
    x = draw(values(draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=2))))
    sizes = tuple(draw(st.sampled_from([n, -1] if n != 1 else [1, -1, 3])) for n in x.shape)
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return [x], lambda lib, x: x.expand(*(lead + sizes)) * 1.5


@case
def flip_clone(draw):
    x = draw(values(draw(shapes(min_dims=1))))
    dims = tuple(set(draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=x.ndim))))
    dims = tuple(sorted(set(d % x.ndim for d in dims)))
    return [x], lambda lib, x: (x.flip(dims), x.clone() * 2)


@case
def getitem_ints_beside_arrays(draw):
    x = draw(values(draw(hnp.array_shapes(min_dims=3, max_dims=4, min_side=1, max_side=4))))
    idx = np.array(draw(st.lists(st.integers(0, x.shape[2] - 1), min_size=1, max_size=3)))
    i = draw(st.integers(0, x.shape[0] - 1))
    return [x], lambda lib, x: (x[i, :, idx], x[:, 0][:, :, idx], x[i][idx % x.shape[1]])


@case
def getitem_mixed(draw):  # ints, slices, None and index arrays in any order: torch's result order
    x = draw(values(draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3))))
    n_index = draw(st.integers(1, 3))
    index = []
    for size in x.shape:
        kind = draw(st.sampled_from(["int", "slice", "array", "none"]))
        if kind == "none":
            index.append(None)
        if kind == "int":
            index.append(draw(st.integers(-size, size - 1)))
        elif kind == "array":
            index.append(np.array(draw(st.lists(st.integers(0, size - 1), min_size=n_index, max_size=n_index))))
        else:
            index.append(slice(draw(st.integers(0, size)), None))
    index = tuple(index)
    return [x], lambda lib, x: x[tuple(lib.tensor(i) if isinstance(i, np.ndarray) else i for i in index)]


@case
def cat_stack(draw):
    shape = draw(shapes(min_dims=1))
    a, b = draw(values(shape)), draw(values(shape))
    dim = a_dim(draw, len(shape))
    return [a, b], lambda lib, a, b: (lib.cat([a, b, a], dim=dim), lib.stack([a, b], dim))


@case
def split_chunk_unbind(draw):
    x = draw(values(draw(shapes(min_dims=1, min_side=1))))
    dim = a_dim(draw, x.ndim)
    size, chunks = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return [x], lambda lib, x: (x.split(size, dim), x.chunk(chunks, dim), x.unbind(dim),
                                lib.split(x, size, dim), lib.chunk(x, chunks, dim), lib.unbind(x, dim))


# ----------------------------------------------------------------------------- the test
@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_op_matches_torch(name, data):
    arrays, op, *options = CASES[name](data.draw)
    helper_test_op(arrays, op, **(options[0] if options else {}))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["sqrt", "rsqrt", "pow 0.5", "pow -0.5", "pow 1.5", "pow -1.5"])
def test_roots_at_signed_zeros_match_torch(name, dtype):
    """Exactly at -0.0 and 0.0 (hypothesis may not draw them): values, the signs of zeros and infinities, and
    gradients. sqrt(-0.0) = -0.0, so torch's sqrt'(-0.0) = 0.5 / -0.0 = -inf."""
    op = {"sqrt": lambda x: x.sqrt(), "rsqrt": lambda x: x.rsqrt()}.get(name)
    op = op or (lambda x: x ** float(name.split()[1]))
    x = tr.Tensor(np.array([-0.0, 0.0], dtype), requires_grad=True)
    xt = torch.tensor([-0.0, 0.0], dtype=getattr(torch, dtype.__name__), requires_grad=True)
    y, yt = op(x), op(xt)
    y.sum().backward()
    yt.sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    for ours, theirs in ((y._data, yt.detach().numpy()), (x.grad, xt.grad.numpy())):
        assert ours.tolist() == theirs.tolist() and np.signbit(ours).tolist() == np.signbit(theirs).tolist()


@pytest.mark.parametrize("expression", ["m + n", "m * n", "m + True", "m * 2.0", "x * m", "m / 2.0",
                                        "1 - m", "m - 1", "m - n", "x - m", "m - x", "-m", "~m", "m & n"])
def test_mask_arithmetic_as_torch(expression):
    values = np.array([-1.0, 0.0, 2.0], np.float32)
    results = []
    for lib in (tr, torch):
        x = lib.tensor(values)
        names = {"x": x, "m": x > 0, "n": x < 1}
        try:
            out = eval(expression, {}, names)  # noqa: S307 - the expressions above, on either library
        except (TypeError, RuntimeError):
            out = None  # refused
        results.append(out)
    ours, theirs = results
    assert (ours is None) == (theirs is None), f"{expression}: one library refused, the other gave a value"
    if ours is not None:
        assert (ours.dtype == np.bool_) == (theirs.dtype == torch.bool)
        np.testing.assert_array_equal(np.asarray(ours._data, np.float64), theirs.double().numpy())
