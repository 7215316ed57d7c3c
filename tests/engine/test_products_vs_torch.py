"""addmm, addmv, addr, baddbmm, addbmm (beta/alpha, broadcasting, beta = 0 ignoring input's NaN), their in-place
forms, kron, tensordot, cross, index_fill(_), cummax/cummin/logcumsumexp, Tensor.type() and the in-place forms of
the unary methods, against torch 2.13: values, gradients, dtypes and errors."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def _compare(ours, theirs, arrays, dtype, seed=0):
    """ours(*tr tensors) and theirs(*torch tensors): the same values and dtype, and the same gradients of
    `sum(w * out)` for fixed random weights w (of the float outputs)."""
    ts = [tr.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    ps = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out, ref = ours(*ts), theirs(*ps)
    out = list(out) if isinstance(out, tuple) else [out]
    ref = list(ref) if isinstance(ref, tuple) else [ref]
    rng = np.random.default_rng(seed)
    our_loss, their_loss = 0, 0
    for o, r in zip(out, ref):
        assert o.shape == tuple(r.shape)
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), **TOL[dtype])
        if r.dtype.is_floating_point:
            assert o.dtype == np.dtype(dtype)
            w = rng.standard_normal(o.shape).astype(dtype)
            our_loss = our_loss + (o * tr.tensor(w)).sum()
            their_loss = their_loss + (r * torch.tensor(w)).sum()
        else:
            assert o.dtype == np.int64
    our_loss.backward()
    their_loss.backward()
    for t, p in zip(ts, ps):
        expected = np.zeros(p.shape) if p.grad is None else p.grad.numpy()
        got = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(got, expected, **TOL[dtype])


R = np.random.default_rng(0)
CASES = [
    ("addmm", lambda lib, x, a, b: lib.addmm(x, a, b), [(2, 4), (2, 3), (3, 4)]),
    ("addmm broadcast beta alpha", lambda lib, x, a, b: lib.addmm(x, a, b, beta=0.5, alpha=-2.0),
     [(4,), (2, 3), (3, 4)]),
    ("addmm method beta=0", lambda lib, x, a, b: x.addmm(a, b, beta=0), [(1, 4), (2, 3), (3, 4)]),
    ("addmm alpha=0", lambda lib, x, a, b: lib.addmm(x, a, b, alpha=0), [(2, 4), (2, 3), (3, 4)]),
    ("addmv", lambda lib, x, a, v: lib.addmv(x, a, v, beta=2.0, alpha=3), [(2,), (2, 3), (3,)]),
    ("addmv 0-d input", lambda lib, x, a, v: x.addmv(a, v), [(), (2, 3), (3,)]),
    ("addr", lambda lib, x, u, v: lib.addr(x, u, v, alpha=0.5), [(3, 1), (3,), (4,)]),
    ("baddbmm", lambda lib, x, a, b: lib.baddbmm(x, a, b, beta=-1.0), [(2, 3, 4), (2, 3, 5), (2, 5, 4)]),
    ("baddbmm broadcast", lambda lib, x, a, b: x.baddbmm(a, b), [(3, 4), (2, 3, 5), (2, 5, 4)]),
    ("addbmm", lambda lib, x, a, b: lib.addbmm(x, a, b, beta=0.25, alpha=2), [(3, 4), (2, 3, 5), (2, 5, 4)]),
    ("kron", lambda lib, a, b: lib.kron(a, b), [(2, 3), (4, 2)]),
    ("kron dims differ", lambda lib, a, b: a.kron(b), [(3,), (2, 2, 2)]),
    ("tensordot int", lambda lib, a, b: lib.tensordot(a, b, 2), [(2, 3, 4), (3, 4, 5)]),
    ("tensordot lists", lambda lib, a, b: lib.tensordot(a, b, dims=([1, 0], [0, 2])), [(3, 2, 4), (2, 5, 3)]),
    ("tensordot negative dims", lambda lib, a, b: lib.tensordot(a, b, dims=([-1], [-2])), [(3, 4), (2, 4, 5)]),
    ("tensordot 0", lambda lib, a, b: lib.tensordot(a, b, dims=0), [(2,), (3,)]),
    ("cross dim", lambda lib, a, b: lib.cross(a, b, dim=1), [(2, 3, 4), (1, 3, 4)]),
    ("cross method", lambda lib, a, b: a.cross(b, dim=-1), [(4, 3), (4, 3)]),
    ("logcumsumexp", lambda lib, x: lib.logcumsumexp(x, 1), [(3, 5)]),
    ("logcumsumexp method", lambda lib, x: x.logcumsumexp(-1), [(4,)]),
    ("cummax", lambda lib, x: lib.cummax(x, 0), [(5, 3)]),
    ("cummin", lambda lib, x: x.cummin(1), [(2, 6)]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,call,shapes", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_as_torch(name, call, shapes, dtype):
    rng = np.random.default_rng(len(name))
    arrays = [rng.standard_normal(s) for s in shapes]
    _compare(lambda *t: call(tr, *t), lambda *t: call(torch, *t), arrays, dtype)


@pytest.mark.parametrize("fn", ["addmm", "baddbmm", "addbmm", "addmv", "addr"])
def test_beta_zero_ignores_nan_and_alpha_zero_the_product_as_torch(fn):
    shapes = {"addmm": [(2, 2), (2, 3), (3, 2)], "baddbmm": [(2, 2, 2), (2, 2, 3), (2, 3, 2)],
              "addbmm": [(2, 2), (2, 2, 3), (2, 3, 2)], "addmv": [(2,), (2, 3), (3,)], "addr": [(2, 3), (2,), (3,)]}
    nan_input = [np.full(shapes[fn][0], np.nan), np.ones(shapes[fn][1]), np.ones(shapes[fn][2])]
    _compare(lambda *t: getattr(tr, fn)(*t, beta=0), lambda *t: getattr(torch, fn)(*t, beta=0), nan_input, np.float64)
    nan_factor = [np.ones(shapes[fn][0]), np.full(shapes[fn][1], np.nan), np.ones(shapes[fn][2])]
    ours = getattr(tr, fn)(*[tr.tensor(a) for a in nan_factor], alpha=0)
    np.testing.assert_array_equal(ours.numpy(), getattr(torch, fn)(*[torch.tensor(a) for a in nan_factor],
                                                                    alpha=0).numpy())


def test_int64_products_as_torch():
    a, b, x = (np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4), np.ones((2, 4), np.int64))
    for beta, alpha in [(2, 3), (0.5, 1.5), (-1.7, 2.9)]:   # float scales with integers: truncated, as torch's
        ours = tr.addmm(tr.tensor(x), tr.tensor(a), tr.tensor(b), beta=beta, alpha=alpha)
        ref = torch.addmm(torch.tensor(x), torch.tensor(a), torch.tensor(b), beta=beta, alpha=alpha)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    np.testing.assert_array_equal(tr.kron(tr.tensor(a), tr.tensor(b)).numpy(), torch.kron(torch.tensor(a),
                                                                                       torch.tensor(b)).numpy())


IN_PLACE = [
    ("addmm_", lambda x, a, b: x.addmm_(a, b, beta=0.5, alpha=2.0), [(2, 4), (2, 3), (3, 4)]),
    ("addmv_", lambda x, a, b: x.addmv_(a, b), [(2,), (2, 3), (3,)]),
    ("addr_", lambda x, a, b: x.addr_(a, b, beta=0), [(2, 3), (2,), (3,)]),
    ("baddbmm_", lambda x, a, b: x.baddbmm_(a, b), [(2, 3, 4), (2, 3, 5), (2, 5, 4)]),
    ("addbmm_", lambda x, a, b: x.addbmm_(a, b), [(3, 4), (2, 3, 5), (2, 5, 4)]),
    ("index_fill_", lambda x: x.index_fill_(1, x.new_tensor([0, 2]).long(), -1.5), [(2, 3)]),
    ("atan2_", lambda x, y: x.atan2_(y), [(3,), (3,)]),
    ("hypot_", lambda x, y: x.hypot_(y), [(3,), (3,)]),
    ("lerp_", lambda x, y, w: x.lerp_(y, w), [(3,), (3,), (3,)]),
    ("addcmul_", lambda x, y, z: x.addcmul_(y, z, value=0.5), [(3,), (3,), (3,)]),
    ("addcdiv_", lambda x, y, z: x.addcdiv_(y, z, value=2), [(3,), (3,), (3,)]),
    ("xlogy_", lambda x, y: x.xlogy_(y.abs()), [(3,), (3,)]),
    ("fmod_", lambda x, y: x.fmod_(y), [(3,), (3,)]),
    ("remainder_", lambda x, y: x.remainder_(y), [(3,), (3,)]),
]
UNARY_IN_PLACE = ["sin_", "cos_", "tan_", "sinh_", "cosh_", "floor_", "ceil_", "trunc_", "fix_", "frac_", "sign_",
                  "sgn_", "reciprocal_", "square_", "erf_", "exp2_", "expm1_", "round_"]
POSITIVE_IN_PLACE = ["rsqrt_", "log1p_", "log2_", "log10_"]
UNIT_IN_PLACE = ["asin_", "acos_", "atan_", "logit_"]


def _dense(grad):
    """A gradient as an array (torch's sgn_ gives a ZeroTensor, which numpy() refuses)."""
    return grad.numpy() if not hasattr(grad, "_is_zerotensor") or not grad._is_zerotensor() else np.zeros(grad.shape)


def _recorded(call, shapes, lib, dtype, positive=False, unit=False):
    """call on computed tensors (leaf * 1), recorded with a gradient: the result, and the leaves' gradients of
    `sum(w * result)`."""
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s) for s in shapes]
    if positive:
        arrays = [np.abs(a) + 0.5 for a in arrays]
    if unit:
        arrays = [1 / (1 + np.exp(-a)) for a in arrays]
    leaves = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    computed = [leaf * 1 for leaf in leaves]
    out = call(*computed)
    assert out is computed[0]   # in place: the tensor itself, as torch's
    w = np.random.default_rng(8).standard_normal(out.shape).astype(dtype)
    (out * lib.tensor(w)).sum().backward()
    grads = [np.zeros(leaf.shape) if leaf.grad is None else _dense(leaf.grad) for leaf in leaves]
    return out.detach().numpy(), grads, out._version


def _method(name):
    return lambda x: getattr(x, name)()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,call,shapes", IN_PLACE + [(n, _method(n), [(4,)])
                                                        for n in UNARY_IN_PLACE + POSITIVE_IN_PLACE + UNIT_IN_PLACE],
                         ids=[c[0] for c in IN_PLACE] + UNARY_IN_PLACE + POSITIVE_IN_PLACE + UNIT_IN_PLACE)
def test_in_place_recorded_as_torch(name, call, shapes, dtype):
    kind = dict(positive=name in POSITIVE_IN_PLACE, unit=name in UNIT_IN_PLACE)
    ours, their = _recorded(call, shapes, tr, dtype, **kind), _recorded(call, shapes, torch, dtype, **kind)
    np.testing.assert_allclose(ours[0], their[0], **TOL[dtype])
    for g, h in zip(ours[1], their[1]):
        np.testing.assert_allclose(g, h, **TOL[dtype])
    assert ours[2] == their[2]


@pytest.mark.parametrize("name", UNARY_IN_PLACE + ["addmm_", "index_fill_"])
def test_in_place_under_no_grad_writes_the_leafs_memory_as_torch(name):
    def run(lib):
        p = lib.tensor(np.linspace(-1.3, 2.7, 6).reshape(2, 3), requires_grad=True)
        view = p[0]
        with lib.no_grad():
            if name == "addmm_":
                out = p.addmm_(p.new_ones(2, 4), p.new_ones(4, 3))
            elif name == "index_fill_":
                out = p.index_fill_(0, lib.tensor([1]), 2.0)
            else:
                out = getattr(p, name)()
        assert out is p
        return p.detach().numpy().copy(), view.detach().numpy().copy(), p._version
    ours, theirs = run(tr), run(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    assert ours[2] == theirs[2]


@pytest.mark.parametrize("name", ["sin_", "round_", "addmm_"])
def test_in_place_on_a_leaf_that_requires_grad_refused_as_torch(name):
    def call(lib):
        p = lib.ones(2, 2, requires_grad=True)
        return p.addmm_(p.detach(), p.detach()) if name == "addmm_" else getattr(p, name)()
    raises_as_torch(lambda: call(torch), lambda: call(tr), "leaf Variable")


def test_round_in_place_with_decimals_and_int64_sign_as_torch():
    ours, ref = tr.tensor([1.234, -5.678]), torch.tensor([1.234, -5.678])
    np.testing.assert_array_equal(ours.round_(decimals=1).numpy(), ref.round_(decimals=1).numpy())
    ours, ref = tr.tensor([-3, 0, 2]), torch.tensor([-3, 0, 2])
    ours.sign_()
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), ref.sign_().numpy())
    raises_as_torch(lambda: torch.tensor([1, 2]).sin_(), lambda: tr.tensor([1, 2]).sin_())


def test_square_of_indices_and_masks_is_int64_as_torch():
    for make in (lambda lib: lib.tensor([-3, 0, 2]), lambda lib: lib.tensor([-1, 0, 2]) > 0):
        ours, ref = make(tr).square(), make(torch).square()
        assert ours.dtype == np.int64 and ref.dtype == torch.int64
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    ours, ref = tr.tensor([-3, 0, 2]), torch.tensor([-3, 0, 2])
    ours.square_()
    np.testing.assert_array_equal(ours.numpy(), ref.square_().numpy())


def test_index_fill_as_torch():
    x = np.arange(12.0).reshape(3, 4)
    for dim, index in [(0, [0, 2]), (1, [-1, 1, 1]), (-1, [])]:
        ours = tr.tensor(x).index_fill(dim, tr.tensor(index, dtype=tr.int64), 7.5)
        ref = torch.tensor(x).index_fill(dim, torch.tensor(index, dtype=torch.int64), 7.5)
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    _compare(lambda a, v: tr.index_fill(a, 1, tr.tensor([0, 3]), v), lambda a, v: torch.index_fill(a, 1, torch.tensor(
        [0, 3]), v), [x, np.array(2.0)], np.float64)
    ints = tr.tensor([[1, 2], [3, 4]]).index_fill(0, tr.tensor([1]), 9)
    assert ints.dtype == np.int64 and ints.tolist() == [[1, 2], [9, 9]]


INDEX_FILL_ERRORS = [
    ("float index", lambda lib: lib.ones(3).index_fill(0, lib.tensor([1.0]), 0.0)),
    ("out of range", lambda lib: lib.ones(3).index_fill(0, lib.tensor([3]), 0.0)),
    ("2-D index", lambda lib: lib.ones(3).index_fill(0, lib.tensor([[1]]), 0.0)),
    ("value with dims", lambda lib: lib.ones(3).index_fill(0, lib.tensor([1]), lib.ones(1))),
    ("dim out of range", lambda lib: lib.ones(3).index_fill(1, lib.tensor([1]), 0.0)),
]


@pytest.mark.parametrize("name,call", INDEX_FILL_ERRORS, ids=[e[0] for e in INDEX_FILL_ERRORS])
def test_index_fill_errors_as_torch(name, call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))


def test_cummax_cummin_ties_and_nan_as_torch():
    for values in ([1.0, 3.0, 3.0, np.nan, 2.0], [2.0, 0.0, 0.0, 5.0, -1.0], [np.nan, 1.0, np.nan]):
        for fn in ("cummax", "cummin"):
            ours, ref = getattr(tr.tensor(values), fn)(0), getattr(torch.tensor(values), fn)(0)
            assert type(ours).__name__ == "ValuesIndices" and ours._fields == ("values", "indices")
            np.testing.assert_array_equal(ours.values.numpy(), ref.values.numpy())
            np.testing.assert_array_equal(ours.indices.numpy(), ref.indices.numpy())
    ours, ref = tr.tensor([3, 1, 4, 1, 5]).cummin(0), torch.tensor([3, 1, 4, 1, 5]).cummin(0)
    assert ours.values.dtype == np.int64
    np.testing.assert_array_equal(ours.indices.numpy(), ref.indices.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_logcumsumexp_wide_range_and_infinities_as_torch(dtype):
    x = np.array([[-1000.0, 0.0, 1000.0, -np.inf, 3.0], [-np.inf, -np.inf, 2.0, 1.0, 80.0]])
    _compare(lambda t: t.logcumsumexp(1), lambda t: t.logcumsumexp(1), [x], dtype)
    assert tr.gradcheck(lambda t: t.logcumsumexp(0), (tr.tensor(np.random.default_rng(1).standard_normal((5, 2)),
                                                                requires_grad=True),))


def test_type_as_torch():
    for make in (lambda lib: lib.ones(2), lambda lib: lib.ones(2).double(), lambda lib: lib.ones(2).long(),
                 lambda lib: lib.ones(2) > 0):
        assert make(tr).type() == make(torch).type()
        for target in ("torch.DoubleTensor", "torch.FloatTensor", "torch.LongTensor", "torch.BoolTensor"):
            assert make(tr).type(target).type() == make(torch).type(target).type()
    x = tr.ones(2, requires_grad=True)
    y = x.type(tr.float64)
    assert y.dtype == np.float64 and y.requires_grad
    raises_as_torch(lambda: torch.ones(2).type("torch.Nope"), lambda: tr.ones(2).type("torch.Nope"), "invalid type")


PRODUCT_ERRORS = [
    ("addmm shapes", lambda lib: lib.addmm(lib.ones(3, 2), lib.ones(2, 3), lib.ones(3, 2))),
    ("addmm inner", lambda lib: lib.addmm(lib.ones(2, 2), lib.ones(2, 3), lib.ones(2, 2))),
    ("addmm dims", lambda lib: lib.addmm(lib.ones(2, 2), lib.ones(2, 2, 2), lib.ones(2, 2))),
    ("addmm dtypes", lambda lib: lib.addmm(lib.ones(2, 2), lib.ones(2, 2).double(), lib.ones(2, 2))),
    ("addmm input dtype", lambda lib: lib.addmm(lib.ones(2, 2).double(), lib.ones(2, 2), lib.ones(2, 2))),
    ("addmv sizes", lambda lib: lib.addmv(lib.ones(2), lib.ones(2, 3), lib.ones(2))),
    ("tensordot pair of ints", lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(3, 2), (1, 0))),
    ("addr dims", lambda lib: lib.addr(lib.ones(2, 2), lib.ones(2, 1), lib.ones(2))),
    ("addr int64 with float beta", lambda lib: lib.addr(lib.ones(2, 2).long(), lib.ones(2).long(),
                                                         lib.ones(2).long(), beta=0.5)),
    ("tensordot sizes", lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(2, 3), 1)),
    ("tensordot negative", lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(3, 2), -1)),
    ("tensordot list lengths", lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(3, 2), ([1], [0, 1]))),
    ("cross size", lambda lib: lib.cross(lib.ones(2, 4), lib.ones(2, 4), dim=1)),
    ("cross no size 3", lambda lib: lib.cross(lib.ones(2, 4), lib.ones(2, 4))),
    ("logcumsumexp int", lambda lib: lib.logcumsumexp(lib.ones(3).long(), 0)),
]


@pytest.mark.parametrize("name,call", PRODUCT_ERRORS, ids=[e[0] for e in PRODUCT_ERRORS])
def test_errors_as_torch(name, call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))
