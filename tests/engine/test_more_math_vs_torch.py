"""The everyday elementwise math torch code calls (round, floor, sin, log1p, lerp, addcmul, nan_to_num, logit, hypot,
xlogy, isclose, take_along_dim...) against torch 2.13: values (rounding ties, +-0, NaN, inf and the domains' edges),
dtypes (float32, float64, int64 and bool inputs: what torch returns, or the error type it raises), broadcasting and
gradients, as methods and as tr.* functions."""
import math
import warnings

import numpy as np
import pytest
from conftest import outcome, raises_as_torch, torch_error
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
EDGES = [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.25, 0.75, -1.0, 1.0, 2.0, 1e-8, -1e-8, 0.999, 3.0, 8.0, 100.0, -100.0,
         1234.5, 1e30, -1e30, math.inf, -math.inf, math.nan]
TOL = {np.float32: dict(rtol=2e-6, atol=1e-30), np.float64: dict(rtol=1e-13, atol=1e-300)}
# sums of O(1) terms (lerp, addcmul): torch fuses some products into its sums, so an ulp of the terms is the error
TOL_SUMS = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}

# (name, our call, torch's call): each applied to a tensor of the EDGES
UNARY = [
    ("round", lambda x: x.round(), lambda x: x.round()),
    ("round decimals=1", lambda x: x.round(decimals=1), lambda x: x.round(decimals=1)),
    ("round decimals=2", lambda x: x.round(decimals=2), lambda x: x.round(decimals=2)),
    ("round decimals=-2", lambda x: x.round(decimals=-2), lambda x: x.round(decimals=-2)),
    ("floor", lambda x: x.floor(), lambda x: x.floor()),
    ("ceil", lambda x: x.ceil(), lambda x: x.ceil()),
    ("trunc", lambda x: x.trunc(), lambda x: x.trunc()),
    ("fix", lambda x: x.fix(), lambda x: x.fix()),
    ("sign", lambda x: x.sign(), lambda x: x.sign()),
    ("sgn", lambda x: x.sgn(), lambda x: x.sgn()),
    ("frac", lambda x: x.frac(), lambda x: x.frac()),
    ("reciprocal", lambda x: x.reciprocal(), lambda x: x.reciprocal()),
    ("log1p", lambda x: x.log1p(), lambda x: x.log1p()),
    ("expm1", lambda x: x.expm1(), lambda x: x.expm1()),
    ("sin", lambda x: x.sin(), lambda x: x.sin()),
    ("cos", lambda x: x.cos(), lambda x: x.cos()),
    ("log2", lambda x: x.log2(), lambda x: x.log2()),
    ("log10", lambda x: x.log10(), lambda x: x.log10()),
    ("exp2", lambda x: x.exp2(), lambda x: x.exp2()),
    ("logit", lambda x: x.logit(), lambda x: x.logit()),
    ("logit eps", lambda x: x.logit(eps=0.25), lambda x: x.logit(eps=0.25)),
    ("clamp_min", lambda x: x.clamp_min(0.5), lambda x: x.clamp_min(0.5)),
    ("clamp_max", lambda x: x.clamp_max(-0.5), lambda x: x.clamp_max(-0.5)),
    ("nan_to_num", lambda x: x.nan_to_num(), lambda x: x.nan_to_num()),
    ("nan_to_num args", lambda x: x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0),
     lambda x: x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0)),
]
EXACT = {"round", "round decimals=1", "round decimals=2", "round decimals=-2", "floor", "ceil", "trunc", "fix", "sign",
         "sgn", "frac", "clamp_min", "clamp_max", "nan_to_num", "nan_to_num args"}


def leaves(values, dtype):
    """The same values as our leaf and torch's, both requiring grad."""
    a = np.array(values, dtype=dtype)
    return tr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def assert_same(ours, theirs, dtype, exact=False):
    """Equal values (NaN where torch's are; the sign of a zero too where exact) and dtype."""
    want = theirs.detach().numpy()
    got = ours.data if isinstance(ours, tr.Tensor) else ours
    assert got.dtype == want.dtype and got.shape == want.shape
    if exact:
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    else:
        np.testing.assert_allclose(got, want, equal_nan=True, **TOL[dtype])


def compared(name, values):
    """The values torch's answer is defined at: its logit's gradient at -0.0 is +inf or -inf by which of its loops
    computes the element (so -0.0 is read as 0.0 there)."""
    return [0.0 if name.startswith("logit") and v == 0 else v for v in values]


def check_unary(ours, theirs, values, dtype, exact):
    x, xt = leaves(values, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, out_t = ours(x), theirs(xt)
    assert_same(out, out_t, dtype, exact)
    g = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
    out.backward(g)
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(force=True), equal_nan=True, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name, ours, theirs", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values_and_gradients_at_the_edges_equal_torchs(name, ours, theirs, dtype):
    values = EDGES if name not in ("sin", "cos") else [v for v in EDGES if abs(v) < 1e6 or not math.isfinite(v)]
    check_unary(ours, theirs, compared(name, values), dtype, name in EXACT)


FUNCTIONS = ["round", "floor", "ceil", "trunc", "fix", "sign", "sgn", "frac", "reciprocal", "log1p", "expm1", "sin",
             "cos", "log2", "log10", "exp2", "logit", "nan_to_num", "signbit", "ravel"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_spellings_equal_torchs(name):
    values = np.array([-2.5, -0.5, 0.0, 0.3, 0.5, 1.5, 7.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = getattr(tr, name)(tr.tensor(values)), getattr(torch, name)(torch.tensor(values))
    assert_same(ours, theirs, np.float32, exact=name not in ("sin", "cos", "log1p", "expm1", "log2", "log10", "exp2",
                                                             "logit"))


INT_CALLS = [u for u in UNARY if u[0] not in ("clamp_min", "clamp_max")] + [
    ("signbit", lambda x: x.signbit(), lambda x: x.signbit()),
    ("clamp_min int", lambda x: x.clamp_min(1), lambda x: x.clamp_min(1)),
    ("clamp_max float", lambda x: x.clamp_max(0.5), lambda x: x.clamp_max(0.5)),
    ("ravel", lambda x: x.ravel(), lambda x: x.ravel()),
]


@pytest.mark.parametrize("values", [[-3, -1, 0, 1, 2, 7], [True, False, True]], ids=["int64", "bool"])
@pytest.mark.parametrize("name, ours, theirs", INT_CALLS, ids=[u[0] for u in INT_CALLS])
def test_int64_and_bool_inputs_give_torchs_dtype_or_its_error(name, ours, theirs, values):
    """sin of int64 is float32, floor of int64 stays int64, sign of a mask is the mask, frac of int64 and floor of a
    mask are refused (NotImplementedError, as torch's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = outcome(lambda: theirs(torch.tensor(values)))
        got = outcome(lambda: ours(tr.tensor(values)))
    if isinstance(want, type):
        assert isinstance(got, type) and issubclass(got, want), (got, want)
        return
    assert not isinstance(got, type), got
    assert got[1] == want[1]
    np.testing.assert_allclose(got[0], want[0], rtol=2e-7 if got[1] == "float32" else 0, equal_nan=True)


@given(st.sampled_from([u for u in UNARY if u[0] not in ("sin", "cos")]), st.sampled_from(DTYPES),
       st.lists(st.floats(-1e4, 1e4, width=32), min_size=1, max_size=12))
def test_unary_on_drawn_values_equals_torch(call, dtype, values):
    name, ours, theirs = call
    check_unary(ours, theirs, compared(name, values), dtype, name in EXACT)


@given(st.sampled_from(DTYPES), st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=12))
def test_sin_and_cos_on_drawn_values_equal_torch(dtype, values):
    check_unary(lambda x: x.sin(), lambda x: x.sin(), values, dtype, exact=False)
    check_unary(lambda x: x.cos(), lambda x: x.cos(), values, dtype, exact=False)


# ----------------------------------------------------------------------------- binary and ternary
def check_call(ours, theirs, arrays, dtype):
    """ours(*leaves) against theirs(*torch leaves): values, dtype and every input's gradient."""
    pairs = [leaves(a, dtype) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, out_t = ours(*[p[0] for p in pairs]), theirs(*[p[1] for p in pairs])
    assert out.dtype == out_t.detach().numpy().dtype
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), equal_nan=True, **TOL_SUMS[dtype])
    g = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    out.backward(g)
    out_t.backward(torch.tensor(g))
    for x, xt in pairs:
        np.testing.assert_allclose(x.grad, xt.grad.numpy(force=True), equal_nan=True, **TOL_SUMS[dtype])


SHAPES = [(3, 1, 4), (2, 4), (4,)]


def _drawn(n, seed, low=-2.0, high=2.0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, SHAPES[k % len(SHAPES)]) for k in range(n)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name, ours, theirs, n", [
    ("hypot", lambda a, b: a.hypot(b), torch.hypot, 2),
    ("tr.hypot", lambda a, b: tr.hypot(a, b), torch.hypot, 2),
    ("xlogy", lambda a, b: a.xlogy(b.abs()), lambda a, b: a.xlogy(b.abs()), 2),
    ("tr.xlogy", lambda a, b: tr.xlogy(a, b.abs()), lambda a, b: torch.xlogy(a, b.abs()), 2),
    ("lerp number", lambda a, b: a.lerp(b, 0.3), lambda a, b: a.lerp(b, 0.3), 2),
    ("lerp number past half", lambda a, b: a.lerp(b, 0.8), lambda a, b: a.lerp(b, 0.8), 2),
    ("lerp tensor", lambda a, b, w: a.lerp(b, w), lambda a, b, w: a.lerp(b, w), 3),
    ("tr.lerp", lambda a, b, w: tr.lerp(a, b, w), torch.lerp, 3),
    ("addcmul", lambda a, b, c: a.addcmul(b, c), lambda a, b, c: a.addcmul(b, c), 3),
    ("addcmul value", lambda a, b, c: tr.addcmul(a, b, c, value=-0.5),
     lambda a, b, c: torch.addcmul(a, b, c, value=-0.5), 3),
    ("addcdiv value", lambda a, b, c: a.addcdiv(b, c, value=2), lambda a, b, c: a.addcdiv(b, c, value=2), 3),
    ("tr.addcdiv", lambda a, b, c: tr.addcdiv(a, b, c), torch.addcdiv, 3),
])
def test_binary_and_ternary_broadcast_and_their_gradients_equal_torchs(name, ours, theirs, n, dtype):
    check_call(ours, theirs, _drawn(n, seed=len(name)), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_xlogy_at_zero_nan_and_inf_equals_torch(dtype):
    """0 * log(0) is 0 with torch's gradients (0 for x where y <= 0, NaN for y at x = y = 0), NaN y gives NaN."""
    x = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, -2.0, math.nan, 0.0]
    y = [0.0, 2.0, math.nan, math.inf, -1.0, 0.5, 0.0, 2.0, math.inf, -1.0, 3.0, 1.0, -0.0]
    check_call(lambda a, b: a.xlogy(b), lambda a, b: a.xlogy(b), [x, y], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_hypot_at_zero_and_huge_values_equals_torch(dtype):
    """No overflow on the way (1e200 and 1e30 squared), NaN gradient at (0, 0) as torch's."""
    big = 1e200 if dtype == np.float64 else 1e30
    check_call(lambda a, b: a.hypot(b), torch.hypot, [[0.0, big, 3.0, -0.0, math.inf], [0.0, big, -4.0, 1e-30, 1.0]],
               dtype)


def test_lerp_with_a_0d_weight_of_the_other_dtype_takes_selfs_as_torch():
    x, xt = leaves([1.0, 2.0], np.float32)
    w, wt = leaves(0.6, np.float64)
    out, out_t = x.lerp(tr.tensor([5.0, 6.0]), w), xt.lerp(torch.tensor([5.0, 6.0]), wt)
    assert_same(out, out_t, np.float32)
    out.sum().backward()
    out_t.sum().backward()
    assert w.grad.dtype == np.float64
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("values", [[1, 2], [True, False]], ids=["int64", "bool"])
@pytest.mark.parametrize("call", ["hypot", "xlogy", "lerp", "addcmul", "addcdiv", "isclose", "equal"])
def test_binary_on_int64_and_bool_give_torchs_dtype_or_its_error(call, values):
    calls = {"lerp": lambda t, x: t.lerp(x, x), "addcmul": lambda t, x: t.addcmul(x, x),
             "addcdiv": lambda t, x: t.addcdiv(x, x)}
    fn = calls.get(call, lambda t, x: getattr(t, call)(x))
    if call == "equal":
        assert tr.tensor(values).equal(tr.tensor(values)) == torch.tensor(values).equal(torch.tensor(values))
        return
    want = outcome(lambda: fn(torch.tensor(values), torch.tensor(values)))
    got = outcome(lambda: fn(tr.tensor(values), tr.tensor(values)))
    if isinstance(want, type):
        assert isinstance(got, type) and issubclass(got, want), (got, want)
    else:
        assert got[1] == want[1]
        np.testing.assert_array_equal(got[0], want[0])


# ----------------------------------------------------------------------------- comparisons, sizes, tile, ravel, take
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, dict(rtol=0.1), dict(atol=0.5, rtol=0.0), dict(equal_nan=True)])
def test_isclose_equals_torchs_at_nan_inf_and_broadcast(kwargs, dtype):
    a = np.array([[1.0, math.nan, math.inf, -math.inf, 1e-9, 100.0]], dtype)
    b = np.array([[1.0 + 1e-6], [math.nan], [math.inf], [1.05], [0.0]], dtype)
    want = torch.tensor(a).isclose(torch.tensor(b), **kwargs)
    np.testing.assert_array_equal(tr.tensor(a).isclose(tr.tensor(b), **kwargs).data, want.numpy())
    np.testing.assert_array_equal(tr.isclose(tr.tensor(a), tr.tensor(b), **kwargs).data, want.numpy())


def test_equal_signbit_and_the_size_questions_equal_torchs():
    a = np.array([[0.0, -0.0, -1.5], [math.nan, -math.nan, 2.0]], np.float32)
    x, xt = tr.tensor(a), torch.tensor(a)
    for other in ([[0.0, 0.0, -1.5], [1.0, 1.0, 2.0]], [[0.0, 0.0, -1.5]], [[0.0, -0.0, -1.5], [1.0, 1.0, 2.0]]):
        o = np.array(other, np.float32)
        assert x[:, :].nan_to_num().equal(tr.tensor(o)) == xt.nan_to_num().equal(torch.tensor(o))
        assert tr.equal(tr.tensor(o), tr.tensor(o.astype(np.float64))) == torch.equal(torch.tensor(o),
                                                                                        torch.tensor(o).double())
    assert x.equal(x) == xt.equal(xt)   # (NaN equals nothing)
    np.testing.assert_array_equal(x.signbit().data, xt.signbit().numpy())
    for t, tt in ((x, xt), (tr.tensor([1, 2]), torch.tensor([1, 2])), (tr.tensor([True]), torch.tensor([True]))):
        assert (t.is_floating_point(), t.nelement(), t.ndimension(), t.element_size()) == \
            (tt.is_floating_point(), tt.nelement(), tt.ndimension(), tt.element_size())
        assert tr.is_floating_point(t) == torch.is_floating_point(tt) and tr.numel(t) == torch.numel(tt)


@pytest.mark.parametrize("dims", [(2,), (2, 1), (1, 3), (2, 2, 2), 3])
def test_tile_equals_torchs_with_its_gradient(dims):
    check_call(lambda a: a.tile(dims), lambda a: a.tile(dims), [np.arange(6.0).reshape(2, 3)], np.float64)
    args = dims if isinstance(dims, tuple) else (dims,)
    assert_same(tr.tile(tr.tensor([1.0, 2.0]), args), torch.tile(torch.tensor([1.0, 2.0]), args), np.float32)


def test_ravel_is_a_view_where_torchs_is():
    x, xt = tr.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3)), torch.arange(6.0).reshape(2, 3)
    for ours, theirs in ((x.ravel(), xt.ravel()), (x.T.ravel(), xt.T.ravel()), (tr.ravel(x[0]), torch.ravel(xt[0]))):
        assert_same(ours, theirs, np.float32, exact=True)
        ours.fill_(7.0)   # (x sees it through a view only)
        theirs.fill_(7.0)
        np.testing.assert_array_equal(x.data, xt.numpy())


@pytest.mark.parametrize("dim, index", [(1, [[1], [0]]), (1, [[1, 0]]), (0, [[1, 0, 1]]), (None, [5, 0, 3]),
                                        (-1, [[2, 2, 0]])])
def test_take_along_dim_broadcasts_and_its_gradient_equals_torchs(dim, index):
    idx = np.array(index, np.int64)
    check_call(lambda a: a.take_along_dim(tr.tensor(idx), dim), lambda a: a.take_along_dim(torch.tensor(idx), dim),
               [np.arange(6.0).reshape(2, 3)], np.float64)
    got = tr.take_along_dim(tr.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3)), tr.tensor(idx), dim)
    assert_same(got, torch.take_along_dim(torch.arange(6.0).reshape(2, 3), torch.tensor(idx), dim), np.float32, True)


def test_take_along_dim_of_argsort_sorts_as_torch():
    a = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
    x, xt = tr.tensor(a), torch.tensor(a)
    assert_same(x.take_along_dim(x.argsort(1), 1), xt.take_along_dim(xt.argsort(1), 1), np.float32, True)


# ----------------------------------------------------------------------------- refusals, in torch's types
F32 = np.ones(3, np.float32)


@pytest.mark.parametrize("call", [
    lambda m, x: x.round(decimals=1.5),
    lambda m, x: x.hypot(2.0),
    lambda m, x: x.isclose(1.0),
    lambda m, x: x.equal(1.0),
    lambda m, x: x.isclose(x.double()),
    lambda m, x: x.isclose(x, rtol=-1),
    lambda m, x: x.isclose(x, atol=-1e-3),
    lambda m, x: x.lerp(x.double(), 0.5),
    lambda m, x: x.lerp(x, x.double()),
    lambda m, x: x.long().lerp(x.long(), 0.5),
    lambda m, x: x.long().addcdiv(x.long(), x.long()),
    lambda m, x: x.long().frac(),
    lambda m, x: x.long().round(decimals=1),
    lambda m, x: x.bool().floor(),
    lambda m, x: x.bool().addcmul(x.bool(), x.bool()),
    lambda m, x: x.take_along_dim(x, 0),
    lambda m, x: x.take_along_dim(x.long().reshape(3, 1), 0),
    lambda m, x: m.sin([1.0]),
], ids=range(18))
def test_bad_arguments_raise_torchs_error_types(call):
    raises_as_torch(lambda: call(torch, torch.tensor(F32)), lambda: call(tr, tr.tensor(F32)))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_log2_log10_and_exp2_are_exact_at_powers_as_torchs(dtype):
    """log2(8) is 3, not log(8) / log(2) = 3.0000000000000004."""
    powers = np.array([2.0 ** k for k in range(-20, 60, 3)], dtype)
    assert_same(tr.tensor(powers).log2(), torch.tensor(powers).log2(), dtype, exact=True)
    tens = np.array([10.0 ** k for k in range(-5, 20)], dtype)
    np.testing.assert_array_equal(tr.tensor(tens).log10().data, torch.tensor(tens).log10().numpy())
    ints = np.arange(-30.0, 30.0, dtype=dtype)
    assert_same(tr.exp2(tr.tensor(ints)), torch.exp2(torch.tensor(ints)), dtype, exact=True)


@given(st.integers(-10 ** 6, 10 ** 6), st.sampled_from([0, 1, 2, -1, 3]), st.sampled_from(DTYPES))
def test_round_at_halves_goes_to_even_as_torchs(k, decimals, dtype):
    """Ties at the given decimals (k + 1/2 in units of 10^-decimals), drawn: rounded to even, in the dtype."""
    values = np.array([(k + 0.5) / 10.0 ** decimals, -(k + 0.5) / 10.0 ** decimals, k / 10.0 ** decimals], dtype)
    assert_same(tr.round(tr.tensor(values), decimals=decimals), torch.round(torch.tensor(values), decimals=decimals),
                dtype, exact=True)


# ----------------------------------------------------------------------------- the in-place methods
# (name, call on x and the library): each writes x's memory as x += y does
IN_PLACE = {
    "add_": lambda x, lib: x.add_(lib.full(x.shape[-1:], 0.25), alpha=2),
    "add_ number": lambda x, lib: x.add_(1.5),
    "sub_": lambda x, lib: x.sub_(lib.full(x.shape, 0.5), alpha=-3),
    "mul_": lambda x, lib: x.mul_(3.0),
    "div_": lambda x, lib: x.div_(lib.full(x.shape, 4.0)),
    "div_ floor": lambda x, lib: x.div_(0.3, rounding_mode="floor"),
    "pow_": lambda x, lib: x.pow_(2.0),
    "neg_": lambda x, lib: x.neg_(),
    "abs_": lambda x, lib: x.neg_().abs_(),
    "exp_": lambda x, lib: x.exp_(),
    "log_": lambda x, lib: x.log_(),
    "sqrt_": lambda x, lib: x.sqrt_(),
    "tanh_": lambda x, lib: x.tanh_(),
    "sigmoid_": lambda x, lib: x.sigmoid_(),
    "relu_": lambda x, lib: x.sub_(0.5).relu_(),
    "clamp_min_": lambda x, lib: x.clamp_min_(0.6),
    "clamp_max_": lambda x, lib: x.clamp_max_(0.6),
    "copy_": lambda x, lib: x.copy_(lib.tensor([[9.0], [-2.0]], dtype=lib.float64)),
    "copy_ row": lambda x, lib: x.copy_(lib.tensor([1.0, 2.0, 3.0])),
}
VIEWS = {"slice": lambda x: x[1:], "T": lambda x: x.T, "reshape": lambda x: x.reshape(-1),
         "detach": lambda x: x.detach(), "numpy": lambda x: x.numpy()}
START = (np.arange(6.0).reshape(2, 3) + 1) / 4


def _array(v):
    return np.array(v.detach().numpy() if hasattr(v, "detach") else v)


@pytest.mark.parametrize("grad_mode", [True, False])
@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("write", sorted(IN_PLACE))
def test_in_place_methods_write_the_memory_the_views_see_as_torch(write, view, grad_mode):
    results = []
    for lib in (torch, tr):
        x = lib.tensor(START.astype(np.float32))
        v = VIEWS[view](x)
        with lib.set_grad_enabled(grad_mode):
            assert IN_PLACE[write](x, lib) is x
        results.append((_array(x), _array(v)))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_an_ema_and_a_weight_load_under_no_grad_update_the_parameter_as_torch():
    """`p.mul_(0.99).add_(q, alpha=0.01)` and `p.copy_(t)`, the everyday optimizer and loading code."""
    results = []
    for lib in (torch, tr):
        p, q = lib.tensor(START, requires_grad=True), lib.tensor(START[::-1].copy())
        with lib.no_grad():
            p.mul_(0.99).add_(q, alpha=0.01)
            first = _array(p)
            p.copy_(q * 2)
        results.append((first, _array(p), p.requires_grad, p.grad_fn is None))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-14)


@pytest.mark.parametrize("write", sorted(IN_PLACE))
def test_a_leaf_that_requires_grad_is_refused_with_grad_mode_on_as_torch(write):
    raises_as_torch(lambda: IN_PLACE[write](torch.tensor(START, requires_grad=True), torch),
                    lambda: IN_PLACE[write](tr.tensor(START, requires_grad=True), tr), words="in-place")


@pytest.mark.parametrize("write", sorted(IN_PLACE))
def test_a_graph_that_saved_the_tensor_refuses_backward_after_the_write_as_torch(write):
    """The write bumps the version of the leaf the graph saved (x * w saves x)."""
    errors = []
    for lib in (torch, tr):
        x, w = lib.tensor(START), lib.tensor(START, requires_grad=True)
        loss = (x * w).sum()
        with lib.no_grad():
            IN_PLACE[write](x, lib)
        errors.append(torch_error(loss.backward) if lib is torch else pytest.raises(RuntimeError, loss.backward))
    assert isinstance(errors[0], RuntimeError)


@pytest.mark.parametrize("write", sorted(IN_PLACE))
def test_a_recorded_write_of_a_computed_tensor_has_torchs_gradients(write):
    """x = a * 1 (a requires grad), then the write, with grad mode on: a's gradient (and the operand's) as torch's."""
    grads = []
    for lib in (torch, tr):
        a = lib.tensor(START, requires_grad=True)
        x = a * 1.0
        out = IN_PLACE[write](x, lib)
        assert out is x and x.requires_grad
        (x * lib.tensor(START[::-1].copy())).sum().backward()
        grads.append((_array(x.detach()), _array(a.grad)))
    for ours, theirs in zip(grads[1], grads[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13)


@pytest.mark.parametrize("method", ["add_", "sub_", "mul_", "div_", "copy_"])
def test_an_operand_that_requires_grad_makes_the_write_recorded_as_torch(method):
    """y.add_(b, alpha=2) of a plain y with b requiring grad: y requires grad after, b gets the gradient (summed back
    to its shape; copy_'s src of the other dtype gets it in its dtype)."""
    grads = []
    for lib in (torch, tr):
        dtype = lib.float32 if method == "copy_" else lib.float64
        b = lib.tensor(START[0] + 1, dtype=dtype, requires_grad=True)
        y = lib.tensor(START)
        kwargs = {"alpha": 2} if method in ("add_", "sub_") else {}
        getattr(y, method)(b, **kwargs)
        assert y.requires_grad
        (y * y).sum().backward()
        grads.append((_array(y.detach()), _array(b.grad)))
    assert grads[1][1].dtype == grads[0][1].dtype
    for ours, theirs in zip(grads[1], grads[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("call", [
    lambda x: x.mul_(1.5), lambda x: x.sqrt_(), lambda x: x.exp_(), lambda x: x.sigmoid_(), lambda x: x.div_(2),
    lambda x: x.neg_(), lambda x: x.abs_(), lambda x: x.relu_(), lambda x: x.clamp_min_(0), lambda x: x.clamp_max_(0.5),
    lambda x: x.pow_(2), lambda x: x.add_(x, alpha=2), lambda x: x.sub_(1, alpha=3),
    lambda x: x.div_(2, rounding_mode="trunc"), lambda x: x.bool().neg_(), lambda x: x.bool().copy_(x),
    lambda x: x.copy_(x.bool()), lambda x: x.copy_(x.double() / 4),
], ids=range(18))
def test_int64_and_bool_in_place_keep_their_dtype_or_refuse_as_torch(call):
    """int64 * 1.5 in place would change the dtype: torch's RuntimeError; copy_ converts (a float truncated)."""
    values = np.array([-3, 0, 2, 5])
    want = outcome(lambda: call(torch.tensor(values)))
    got = outcome(lambda: call(tr.tensor(values)))
    if isinstance(want, type):
        assert isinstance(got, type) and issubclass(got, want), (got, want)
        return
    assert not isinstance(got, type), got
    assert got[1] == want[1]
    np.testing.assert_array_equal(got[0], want[0])


@pytest.mark.parametrize("src, dtype", [([1.7, -2.7, 0.5], np.int64), ([1.7, 0.0, math.nan], np.bool_),
                                        ([True, False, True], np.float32), ([3, -1, 2], np.float64),
                                        ([[1.5], [2.5]], np.float32), (2.5, np.float32), (7, np.int64)])
def test_copy_broadcasts_and_converts_as_torch(src, dtype):
    want = torch.zeros((2, 3), dtype=getattr(torch, np.dtype(dtype).name)).copy_(torch.tensor(src)).numpy()
    got = tr.tensor(np.zeros((2, 3), dtype)).copy_(tr.tensor(src))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.data, want)


@pytest.mark.parametrize("call", [
    lambda lib, x: x.copy_(lib.zeros(2)),
    lambda lib, x: x.copy_("a"),
    lambda lib, x: x.copy_(x, non_blocking="no"),
    lambda lib, x: x.copy_(x.T),
    lambda lib, x: x[0, 1:].copy_(x[0, :2]),
    lambda lib, x: x.div_(2, rounding_mode="round"),
    lambda lib, x: x.add_(1, alpha="2"),
], ids=range(7))
def test_bad_in_place_calls_raise_torchs_error_types(call):
    raises_as_torch(lambda: call(torch, torch.ones(3, 3)), lambda: call(tr, tr.ones(3, 3)))


def test_a_copy_of_itself_and_of_its_detached_self_changes_nothing_as_torch():
    for lib in (torch, tr):
        x = lib.tensor(START)
        x.copy_(x)
        x.copy_(x.detach())
        np.testing.assert_array_equal(_array(x), START)


@pytest.mark.parametrize("recorded", [False, True])
@pytest.mark.parametrize("write", sorted(IN_PLACE))
def test_the_version_counts_each_write_as_torchs(write, recorded):
    """x._version, seen by x and its view, after the write: under no_grad() on a leaf, or recorded on a computed x."""
    versions = []
    for lib in (torch, tr):
        a = lib.tensor(START, requires_grad=recorded)
        x = a * 1.0 if recorded else a
        view = None if recorded else x[1:]   # (recorded, a live view of computed x is refused: test_inplace_views)
        before = x._version
        with lib.set_grad_enabled(recorded):
            IN_PLACE[write](x, lib)
        versions.append((x._version - before, view._version - before if not recorded else None))
    assert versions[1] == versions[0]
