"""torch's Tensor methods and functions added in tensor_methods_more.py, tensor_functions_more.py and torch's aliases
(tensor.py, inplace.py): each case runs the same lambda on torch and on tinygrad_rnn from the same numpy arrays and
compares the results' values and dtypes and the gradients of a weighted sum of the float results."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
SQ = RNG.standard_normal((4, 4))
V = RNG.standard_normal(5)
B3 = RNG.standard_normal((2, 3, 4))
WITH_NAN = np.array([[1.0, np.nan, 3.0, -2.0], [np.nan, np.nan, np.nan, np.nan], [0.5, 2.0, -1.0, 4.0]])
WITH_SOME_NAN = np.array([[1.0, np.nan, 3.0, -2.0], [np.nan, 2.0, np.nan, 1.0]])
INTS = np.array([3, 0, 2, 2, 5, 0, 7])
RUNS = np.array([1, 1, 2, 2, 2, 3, 1, 1])
ABOVE_ONE = 1.5 + np.abs(A)
IN_UNIT = np.tanh(A) * 0.9


def _tensors(lib, arrays, dtype):
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = a.astype(dtype)
            out.append(lib.tensor(a, requires_grad=True))
        else:
            out.append(lib.tensor(a))
    return out


def _run(lib, fn, arrays, dtype):
    ts = _tensors(lib, arrays, dtype)
    out = fn(lib, *ts)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    flowing = [o for o in outs if getattr(o, "requires_grad", False)]
    if flowing:
        loss = sum((o * lib.tensor(np.cos(np.arange(o.numel())).reshape(o.shape), dtype=o.dtype)).sum()
                   for o in flowing)
        loss.backward()
    values = [(o.detach().numpy(), str(o.dtype).replace("torch.", "")) if hasattr(o, "detach") else (o, None)
              for o in outs]
    grads = [None if t.grad is None else t.grad.numpy() for t in ts]
    return values, grads


# name: (lambda lib, *tensors, the arrays); every lambda reads the same on both libraries
CASES = {
    # torch's aliases
    "absolute": (lambda L, x: (x.absolute(), L.absolute(x)), [A]),
    "arcsin": (lambda L, x: (x.arcsin(), L.arcsin(x)), [IN_UNIT]),
    "arccos": (lambda L, x: (x.arccos(), L.arccos(x)), [IN_UNIT]),
    "arctan": (lambda L, x: (x.arctan(), L.arctan(x)), [A]),
    "arctan2": (lambda L, x, y: (x.arctan2(y), L.arctan2(x, y)), [A, A[::-1].copy()]),
    "asinh": (lambda L, x: (x.asinh(), L.asinh(x), x.arcsinh(), L.arcsinh(x)), [A * 30]),
    "acosh": (lambda L, x: (x.acosh(), L.acosh(x), x.arccosh(), L.arccosh(x)), [ABOVE_ONE]),
    "atanh": (lambda L, x: (x.atanh(), L.atanh(x), x.arctanh(), L.arctanh(x)), [IN_UNIT]),
    "multiply/subtract": (lambda L, x, y: (x.multiply(y), L.subtract(x, y, alpha=2), x.subtract(y)),
                          [A, A[::-1].copy()]),
    "true_divide/negative": (lambda L, x, y: (x.true_divide(y), L.true_divide(x, y), L.negative(x)), [A, ABOVE_ONE]),
    "positive": (lambda L, x: (x.positive() * 1, L.positive(x) * 1), [A]),
    "comparisons": (lambda L, x, y: (x.greater(y), L.greater_equal(x, y), x.less(y), L.less_equal(x, 0.0),
                                     x.not_equal(y)), [A, A * (RNG.random(A.shape) > 0.5)]),
    "swapdims": (lambda L, x: (x.swapdims(0, 2) * 1, L.swapdims(x, 1, 0) * 1, L.swapaxes(x, 0, 1) * 1), [B3]),
    # reductions, order statistics
    "nansum": (lambda L, x: (x.nansum(), L.nansum(x, 1), x.nansum((0, 1), keepdim=True)), [WITH_NAN]),
    "nanmean": (lambda L, x: (x.nanmean(0), L.nanmean(x, 1, keepdim=True)), [WITH_SOME_NAN]),
    "nanmean all nan": (lambda L, x: (x.detach().nanmean(1),), [WITH_NAN]),
    "nansum int": (lambda L, x: (x.nansum(), L.nansum(x)), [INTS]),
    "aminmax": (lambda L, x: (*x.aminmax(), *L.aminmax(x, dim=1), *x.aminmax(dim=0, keepdim=True)), [A]),
    "dist": (lambda L, x, y: (x.dist(y), L.dist(x, y, 1), x.dist(y, float("inf")), x.dist(y, 3)), [A, A[::-1].copy()]),
    "kthvalue": (lambda L, x: (*x.kthvalue(2), *L.kthvalue(x, 3, 0), *x.kthvalue(1, 1, True)), [A]),
    "msort": (lambda L, x: (x.msort(), L.msort(x)), [A]),
    "cov": (lambda L, x: (x.cov(), L.cov(x, correction=0), L.cov(x[0])), [A]),
    "corrcoef": (lambda L, x: (x.corrcoef(), L.corrcoef(x)), [A]),
    "renorm": (lambda L, x: (x.renorm(2, 0, 1.5), L.renorm(x, 1, 1, 2.0), x.renorm(3, 2, 0.5)), [B3]),
    "histc": (lambda L, x: (x.histc(5), L.histc(x, 4, -1, 1), x.histc(3, 0, 0)), [A]),
    "bincount": (lambda L, x: (x.bincount(), L.bincount(x, minlength=10)), [INTS]),
    "bincount weights": (lambda L, x: (x.bincount(L.tensor(np.arange(7.0))),
                                       x.bincount(L.tensor(np.arange(7.0), dtype=L.float32))), [INTS]),
    "unique_consecutive": (lambda L, x: (x.unique_consecutive(), *L.unique_consecutive(x, return_inverse=True,
                                                                                       return_counts=True)), [RUNS]),
    "unique_consecutive dim": (lambda L, x: L.unique_consecutive(x, return_counts=True, dim=0),
                               [np.array([[1, 2], [1, 2], [3, 4], [1, 2]])]),
    # shapes and indices
    "tensor_split": (lambda L, x: (*x.tensor_split(3, 1), *L.tensor_split(x, [1, 3], 1), *x.tensor_split((1, -1))),
                     [A]),
    "hsplit/vsplit/dsplit": (lambda L, x: (*x.hsplit(3), *L.vsplit(x, [1]), *x.dsplit(2)), [B3.reshape(2, 3, 4)]),
    "split_with_sizes": (lambda L, x: (*x.split_with_sizes([1, 3], 1), *L.split_with_sizes(x, [2, 1])), [A]),
    "rot90": (lambda L, x: (x.rot90(), L.rot90(x, 2), x.rot90(3, [2, 0]), x.rot90(-1, (1, 2)), x.rot90(0)), [B3]),
    "fliplr/flipud": (lambda L, x: (x.fliplr(), L.flipud(x)), [A]),
    "diagflat": (lambda L, x, v: (x.diagflat(), L.diagflat(v, 1), v.diagflat(-2)), [A[:2, :2].copy(), V]),
    "diag_embed": (lambda L, x: (x.diag_embed(), L.diag_embed(x, 1), x.diag_embed(-1, 0, 2)), [A]),
    "take": (lambda L, x, i: (x.take(i), L.take(x, i)), [A, np.array([[0, -1], [5, 11]])]),
    "argwhere": (lambda L, x: (x.argwhere(), L.argwhere(x)), [INTS]),
    "inner": (lambda L, x, y: (x.inner(y), L.inner(x, y[0]), L.inner(x, y[0, 0])), [A, B3]),
    "ger/vdot": (lambda L, x, y: (x.ger(y), L.ger(y, x), x.vdot(x), L.vdot(y, y)), [V, A[0].copy()]),
    "sum_to_size": (lambda L, x: (x.sum_to_size(3, 1), x.sum_to_size((1, 4)), x.sum_to_size(4)), [B3[0]]),
    "masked_scatter": (lambda L, x, s: (x.masked_scatter(x > 0, s), L.masked_scatter(x, x[0] < 0, s)), [A, SQ]),
    "select_scatter": (lambda L, x, s: (x.select_scatter(s[:3], 1, 2), L.select_scatter(x, s[:4], 0, -1)), [A, V]),
    "slice_scatter": (lambda L, x, s: (x.slice_scatter(s, 1, 0, 4, 2), L.slice_scatter(x, s, 1, 1, 3)), [A, A[:, :2]]),
    "narrow_copy/unsafe": (lambda L, x: (x.narrow_copy(1, 1, 2), *x.unsafe_chunk(2, 1), *x.unsafe_split(2, 1),
                                         *x.unsafe_split_with_sizes([1, 2])), [A]),
    "adjoint": (lambda L, x: (x.adjoint(), L.adjoint(x), x.mH, x.H), [A]),
    # elementwise
    "float_power": (lambda L, x, y: (x.float_power(y), L.float_power(x, 2.5), x.abs().float_power(0.5)),
                    [ABOVE_ONE, A]),
    "fmax/fmin": (lambda L, x, y: (x.fmax(y), L.fmin(x, y)), [WITH_NAN, WITH_NAN[::-1].copy()]),
    "copysign": (lambda L, x, y: (x.copysign(y), L.copysign(x, -1.0), x.copysign(-0.0)), [A, A[::-1].copy()]),
    "heaviside": (lambda L, x, v: (x.heaviside(v), L.heaviside(x, v)), [np.array([-1.0, 0.0, 2.0]), np.array([.5])]),
    "logaddexp2": (lambda L, x, y: (x.logaddexp2(y), L.logaddexp2(x, y)), [A * 40, A[::-1].copy()]),
    "logical_xor": (lambda L, x, y: (x.logical_xor(y), L.logical_xor(x, y)), [A * (A > 0), A * (A < 1)]),
    "isposinf/isneginf/isreal": (lambda L, x: (x.isposinf(), L.isneginf(x), x.isreal()),
                                 [np.array([np.inf, -np.inf, np.nan, 1.0])]),
    "deg2rad/rad2deg": (lambda L, x: (x.deg2rad(), L.rad2deg(x)), [A]),
    "angle": (lambda L, x: (x.angle(), L.angle(x)), [np.array([-1.0, 0.0, 2.0, np.nan])]),
    "frexp": (lambda L, x: (x.frexp()[0], L.frexp(x).mantissa, x.frexp().exponent.long()), [A * 100]),
    "ldexp": (lambda L, x, e: (x.ldexp(e), L.ldexp(x, e)), [A[0].copy(), np.array([0, 1, 3, 10])]),
    "nextafter": (lambda L, x, y: (x.nextafter(y), L.nextafter(x, y)), [A, A[::-1].copy()]),
    "sinc/hardshrink": (lambda L, x: (x.sinc(), L.sinc(x), x.hardshrink(), L.hardshrink(x, 1.0)), [A]),
    "mvlgamma": (lambda L, x: (x.mvlgamma(2), L.mvlgamma(x, 3)), [ABOVE_ONE + 1]),
    "igamma/igammac": (lambda L, x, y: (x.detach().igamma(y), L.igammac(x.detach(), y)),
                       [ABOVE_ONE, ABOVE_ONE[::-1].copy()]),
    "gcd/lcm": (lambda L, x, y: (x.gcd(y), L.lcm(x, y)), [INTS, INTS[::-1].copy()]),
    "conj on real": (lambda L, x: (x.conj() * 1, L.resolve_conj(x) * 1, x.resolve_neg() * 1), [A]),
}

QUANTILE = {
    "quantile": (lambda L, x: (x.quantile(0.3), L.quantile(x, 0.5, 1), x.quantile(1.0, 0, keepdim=True)), [A]),
    "quantile tensor q": (lambda L, x, q: (x.quantile(q.detach(), 1), L.quantile(x, q.detach(), keepdim=True)),
                          [A, np.array([0.0, 0.25, 0.9])]),
    "quantile nan": (lambda L, x: (x.quantile(0.4, 1), x.nanquantile(0.4, 1), L.nanquantile(x, 0.7)), [WITH_NAN]),
}
for _mode in ("lower", "higher", "midpoint", "nearest", "linear"):
    QUANTILE[f"quantile {_mode}"] = (
        lambda L, x, m=_mode: (x.quantile(0.35, 1, interpolation=m), x.nanquantile(0.5, 0, interpolation=m),
                               x.quantile(0.5, interpolation=m)), [A])
CASES.update(QUANTILE)

# torch's dtype names that differ here: frexp's exponent is int64 (there is no int32); compared as values
NO_GRAD_HERE = {"heaviside"}   # torch records a graph that refuses backward; ours carries no gradient


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_as_torch(name, dtype):
    fn, arrays = CASES[name]
    if name in NO_GRAD_HERE:
        arrays = [np.asarray(a) for a in arrays]
        ours = [o.numpy() for o in fn(tr, *[tr.tensor(np.asarray(a, dtype)) for a in arrays])]
        theirs = [o.numpy() for o in fn(torch, *[torch.tensor(np.asarray(a, dtype)) for a in arrays])]
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o, t)
        return
    ours, our_grads = _run(tr, fn, arrays, dtype)
    theirs, their_grads = _run(torch, fn, arrays, dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert len(ours) == len(theirs)
    for (o, od), (t, td) in zip(ours, theirs):
        assert od == td, (name, od, td)
        assert o.shape == t.shape
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol, equal_nan=True)
    for o, t in zip(our_grads, their_grads):
        if t is None or not np.any(t):
            assert o is None or not np.any(o)
        else:
            np.testing.assert_allclose(o, t, rtol=tol * 10, atol=tol * 10, equal_nan=True)


INTROSPECTION = {
    "contiguous": lambda L, x: x,
    "transposed": lambda L, x: x.transpose(0, 2),
    "sliced": lambda L, x: x[1:, :, 1::2],
    "row": lambda L, x: x[1, 2],
    "element": lambda L, x: x[1, 2, 3],
    "permuted": lambda L, x: x.permute(1, 2, 0),
}


@pytest.mark.parametrize("view", sorted(INTROSPECTION))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_strides_offsets_sizes_as_torch(view, dtype):
    base = np.arange(24).reshape(2, 3, 4).astype(dtype)
    ours, theirs = (INTROSPECTION[view](L, L.tensor(base)) for L in (tr, torch))
    assert ours.stride() == theirs.stride()
    assert ours.storage_offset() == theirs.storage_offset()
    assert ours.is_contiguous() == theirs.is_contiguous()
    assert (ours.itemsize, ours.nbytes, ours.is_signed()) == (theirs.itemsize, theirs.nbytes, theirs.is_signed())
    assert ours.dim_order() == theirs.dim_order()
    if ours.ndim:
        assert ours.stride(-1) == theirs.stride(-1)


def test_data_ptr_shared_memory_and_flags_as_torch():
    for L in (tr, torch):
        x = L.tensor(np.arange(6.0).reshape(2, 3))
        assert x[1].data_ptr() == x.data_ptr() + 3 * x.element_size()
        assert x.is_same_size(x * 2) and not x.is_same_size(x[0])
        assert not x.is_complex() and not x.is_conj() and not x.is_neg()
        assert L.tensor([2.0]).is_nonzero() and not L.tensor(0.0).is_nonzero()
        assert x.get_device() == -1 and not x.is_sparse and not x.is_quantized and not x.is_meta


def test_retains_grad_as_torch():
    for L in (tr, torch):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        z = y * 3
        y.retain_grad()
        assert (x.retains_grad, y.retains_grad, z.retains_grad) == (False, True, False)


IN_PLACE = {
    "absolute_": (lambda x: x.absolute_(), A),
    "arcsinh_": (lambda x: x.arcsinh_(), A),
    "arccosh_": (lambda x: x.arccosh_(), ABOVE_ONE),
    "arctanh_": (lambda x: x.arctanh_(), IN_UNIT),
    "arctan2_": (lambda x: x.arctan2_(x * 2 + 1), A),
    "negative_": (lambda x: x.negative_(), A),
    "multiply_": (lambda x: x.multiply_(x + 1), A),
    "subtract_": (lambda x: x.subtract_(x + 1, alpha=3), A),
    "divide_": (lambda x: x.divide_(x + 3), ABOVE_ONE),
    "true_divide_": (lambda x: x.true_divide_(2.0), A),
    "lgamma_": (lambda x: x.lgamma_(), ABOVE_ONE),
    "digamma_": (lambda x: x.digamma_(), ABOVE_ONE),
    "polygamma_": (lambda x: x.polygamma_(2), ABOVE_ONE),
    "erfc_": (lambda x: x.erfc_(), A),
    "erfinv_": (lambda x: x.erfinv_(), IN_UNIT),
    "i0_": (lambda x: x.i0_(), A),
    "sinc_": (lambda x: x.sinc_(), A),
    "deg2rad_": (lambda x: x.deg2rad_(), A),
    "rad2deg_": (lambda x: x.rad2deg_(), A),
    "mvlgamma_": (lambda x: x.mvlgamma_(2), ABOVE_ONE),
    "copysign_": (lambda x: x.copysign_(x.flip(0) - 0.1), A),
    "ldexp_": (lambda x: x.ldexp_(x * 0 + 2), A),
    "logical_and_": (lambda x: x.logical_and_(x > 0), A),
    "logical_or_": (lambda x: x.logical_or_(x > 0), A * (A > 0)),
    "logical_xor_": (lambda x: x.logical_xor_(x > 0), A),
    "logical_not_": (lambda x: x.logical_not_(), A * (A > 0)),
    "renorm_": (lambda x: x.renorm_(2, 0, 1.0), A),
    "masked_scatter_": (lambda x: x.masked_scatter_(x > 0, x * 10), A),
    "fill_diagonal_": (lambda x: x.fill_diagonal_(7.0), A),
    "fill_diagonal_ wrap": (lambda x: x.reshape(4, 3).clone().fill_diagonal_(-1.0, wrap=True), A),
}


# torch has no derivative for these in-place forms (arcsinh_...); the logical ones write a mask's values
VALUES_ONLY = {"arcsinh_", "arccosh_", "arctanh_", "logical_and_", "logical_or_", "logical_xor_", "logical_not_"}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_forms_as_torch(name):
    """The in-place forms write the computed tensor and record its gradient, as torch's."""
    fn, array = IN_PLACE[name]
    results = []
    for L in (tr, torch):
        leaf = L.tensor(array.copy(), requires_grad=name not in VALUES_ONLY)
        x = leaf * 1.0
        out = fn(x)
        if name.startswith("fill_diagonal_ wrap"):
            results.append((out.detach().numpy().copy(), None))
            continue
        assert out is x
        weights = L.tensor(np.cos(np.arange(x.numel())).reshape(x.shape))
        if name in VALUES_ONLY:
            results.append((x.detach().numpy().copy(), None))
            continue
        (x * weights).sum().backward()
        results.append((x.detach().numpy().copy(), leaf.grad.numpy()))
    (o, og), (t, tg) = results
    np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12)
    if tg is not None:
        np.testing.assert_allclose(og, tg, rtol=1e-10, atol=1e-12)


ERRORS = {
    "quantile q out of range": lambda L, x: x.quantile(1.5),
    "quantile bad mode": lambda L, x: x.quantile(0.5, interpolation="cubic"),
    "quantile of ints": lambda L, x: x.long().quantile(0.5),
    "nanmean of ints": lambda L, x: x.long().nanmean(),
    "kthvalue k too large": lambda L, x: x.kthvalue(9),
    "hsplit uneven": lambda L, x: x.hsplit(3),
    "vsplit of a vector": lambda L, x: x[0].vsplit(1),
    "split_with_sizes sum": lambda L, x: x.split_with_sizes([1, 1], 1),
    "rot90 same dims": lambda L, x: x.rot90(1, (1, 1)),
    "fliplr of a vector": lambda L, x: x[0].fliplr(),
    "take out of range": lambda L, x: x.take(L.tensor([12])),
    "sum_to_size": lambda L, x: x.sum_to_size(2, 4),
    "bincount of floats": lambda L, x: x.bincount(),
    "bincount negative": lambda L, x: L.tensor([1, -1]).bincount(),
    "gcd of floats": lambda L, x: x.gcd(x),
    "is_nonzero of many": lambda L, x: x.is_nonzero(),
    "H of 3-D": lambda L, x: x.reshape(1, 3, 4).H,
    "positive of a mask": lambda L, x: (x > 0).positive(),
    "cov of 3-D": lambda L, x: x.reshape(1, 3, 4).cov(),
    "fill_diagonal_ unequal": lambda L, x: x.reshape(1, 3, 4).fill_diagonal_(0.0),
    "heaviside dtypes": lambda L, x: x.heaviside(x.long()),
    "function on a list": lambda L, x: L.nansum([1.0, 2.0]),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_as_torch(name):
    call = ERRORS[name]
    raises_as_torch(lambda: call(torch, torch.tensor(A)), lambda: call(tr, tr.tensor(A)))


@pytest.mark.parametrize("name", ["arcsin", "multiply", "subtract", "negative", "absolute", "greater"])
def test_aliases_are_the_same_methods(name):
    original = {"arcsin": "asin", "multiply": "mul", "subtract": "sub", "negative": "neg", "absolute": "abs",
                "greater": "gt", "swapdims": "swapaxes", "true_divide": "div"}[name]
    assert getattr(tr.Tensor, name) is getattr(tr.Tensor, original)
    assert getattr(tr.Tensor, name + "_", None) is getattr(tr.Tensor, original + "_", None) or name == "greater"


MORE = {
    "mode": (lambda L, x: (*x.mode(), *L.mode(x, 0, True)),
             [np.array([[1.0, 2, 2, 3, 1, 5], [4, 4, 4, 0, 0, 0], [7, 7, 1, 1, 2, 3]])]),
    "mode int": (lambda L, x: (*x.mode(),), [RUNS]),
    "diagonal_scatter": (lambda L, x, s: (x.diagonal_scatter(s[:4]), L.diagonal_scatter(x, s[:2], 2),
                                          x.diagonal_scatter(s[:3], -1, 1, 0)), [SQ, V]),
    "diagonal_scatter 3-D": (lambda L, x, s: (x.diagonal_scatter(s, 0, 1, 2),), [B3, A[:2, :3]]),
    "index_put": (lambda L, x, v: (x.index_put((L.tensor([0, 2, 0]),), v[:3]),
                                   x.index_put((L.tensor([0, 2, 0]), L.tensor([1, 1, 1])), v[0, :3], accumulate=True),
                                   L.index_put(x, (L.tensor([[1], [2]]), L.tensor([0, -1])), v[0, 0], True),
                                   x.index_put((x > 0,), v[0, 0] * 2)), [A, A * 3]),
    "index_put rows": (lambda L, x, v: (x.index_put((L.tensor([2, 0, 2]),), v[:3], accumulate=True),), [A, A * 3]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(MORE))
def test_more_as_torch(name, dtype):
    CASES[name] = MORE[name]
    test_as_torch(name, dtype)


BITWISE = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"]


@pytest.mark.parametrize("name", BITWISE + ["bitwise_not"])
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_bitwise_as_torch(name, dtype):
    if dtype == "bool" and "shift" in name:
        pytest.skip("torch does not shift bools either")
    a, b = np.array([5, -3, 0, 12, 7]), np.array([1, 2, 3, 0, 4])
    if dtype == "bool":
        a, b = a > 0, b > 1
    results = []
    for L in (tr, torch):
        x, y = L.tensor(a), L.tensor(b)
        out = [getattr(x, name)(), getattr(L, name)(x)] if name == "bitwise_not" else \
            [getattr(x, name)(y), getattr(L, name)(x, y)]
        z = x.clone()
        getattr(z, name + "_")(*([] if name == "bitwise_not" else [y]))
        results.append([o.numpy() for o in out + [z]])
    for o, t in zip(*results):
        assert o.dtype == t.dtype
        np.testing.assert_array_equal(o, t)


def test_bitwise_of_floats_as_torch():
    raises_as_torch(lambda: torch.tensor(A).bitwise_and(torch.tensor(A)),
                    lambda: tr.tensor(A).bitwise_and(tr.tensor(A)))
