"""torch's older linear-algebra spellings against torch 2.13: torch.svd (V, some=, compute_uv=), torch.qr (some=),
torch.cholesky (upper=: the upper triangle read), their Tensor methods, the deprecation warnings (once per process,
in torch's words, also of lu, lu_solve, triangular_solve), the removed symeig/eig/lstsq/solve/matrix_rank (torch's
RuntimeError), geqrf/orgqr/ormqr (values, gradients, geqrf's refused backward, errors) and svd_lowrank/pca_lowrank
(their random projection differs from torch's: reconstructions, singular values of low-rank matrices, shapes,
gradients where the result is exact)."""
import warnings

import numpy as np
import pytest
from conftest import raises_as_torch, torch_error

import tinygrad_rnn as tr
from tinygrad_rnn import linalg_checks

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore:torch.qr is deprecated"),
              pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated"),
              pytest.mark.filterwarnings("ignore:torch.lu is deprecated"),
              pytest.mark.filterwarnings("ignore:torch.lu_solve is deprecated"),
              pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated")]

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def _pair(a, dtype, grad=True):
    return tr.tensor(a.astype(dtype), requires_grad=grad), torch.tensor(a.astype(dtype), requires_grad=grad)


def _close(ours, theirs, dtype):
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL[dtype])


# ----------------------------------------------------------------------------- torch.svd
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (3, 3)])
@pytest.mark.parametrize("some", [True, False])
def test_svd_returns_v_and_torch_gradients_of_sign_free_losses(shape, some, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    x, y = _pair(a, dtype)
    u, s, v = tr.svd(x, some=some)
    tu, ts, tv = torch.svd(y, some=some)
    assert (u.shape, s.shape, v.shape) == (tuple(tu.shape), tuple(ts.shape), tuple(tv.shape))
    _close(s, ts, dtype)
    k = s.shape[-1]   # U diag(S) V^T is A (V, not Vh)
    _close(u[..., :k] * s.unsqueeze(-2) @ v[..., :k].mT, torch.tensor(a.astype(dtype)), dtype)
    w1, w2 = rng.standard_normal(u.shape[:-1] + (u.shape[-2],)), rng.standard_normal(v.shape[:-1] + (v.shape[-2],))
    # the projectors U_k U_k^T and V_k V_k^T do not depend on the singular vectors' signs
    ours = (s * s).sum() + (u[..., :k] @ u[..., :k].mT * tr.tensor(w1.astype(dtype))).sum() \
        + (v[..., :k] @ v[..., :k].mT * tr.tensor(w2.astype(dtype))).sum()
    theirs = (ts * ts).sum() + (tu[..., :k] @ tu[..., :k].mT * torch.tensor(w1.astype(dtype))).sum() \
        + (tv[..., :k] @ tv[..., :k].mT * torch.tensor(w2.astype(dtype))).sum()
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-3 if dtype == np.float32 else 1e-8,
                               atol=1e-3 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5)])
def test_svd_without_uv_gives_zeros_and_the_singular_values_gradient(shape):
    a = np.random.default_rng(1).standard_normal(shape)
    x, y = _pair(a, np.float64)
    u, s, v = x.svd(compute_uv=False)
    tu, ts, tv = y.svd(compute_uv=False)
    for o, t in ((u, tu), (v, tv)):
        assert o.shape == tuple(t.shape) and not o.requires_grad and not o.numpy().any()
    _close(s, ts, np.float64)
    s.sum().backward()
    ts.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_svd_errors_and_empty_matrices():
    raises_as_torch(lambda: torch.svd(torch.zeros(3)), lambda: tr.svd(tr.zeros(3)), "at least 2 dimensions")
    raises_as_torch(lambda: torch.svd(torch.ones(3, 3, dtype=torch.long)), lambda: tr.svd(tr.ones(3, 3).long()))
    raises_as_torch(lambda: torch.svd(torch.zeros(3, 3), some=1), lambda: tr.svd(tr.zeros(3, 3), some=1), "some")
    for shape, some in (((0, 3), True), ((3, 0), False), ((2, 0, 0), True)):
        ours, theirs = tr.svd(tr.zeros(shape), some=some), torch.svd(torch.zeros(shape), some=some)
        for o, t in zip(ours, theirs):
            assert o.shape == tuple(t.shape)
            np.testing.assert_array_equal(o.numpy(), t.numpy())


# ----------------------------------------------------------------------------- torch.qr, torch.cholesky
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,some", [((5, 3), True), ((3, 3), False), ((2, 3, 5), True), ((2, 3, 5), False)])
def test_qr_some(shape, some, dtype):
    a = np.random.default_rng(2).standard_normal(shape)
    x, y = _pair(a, dtype)
    (q, r), (tq, trr) = x.qr(some=some), torch.qr(y, some=some)
    _close(q, tq, dtype)
    _close(r, trr, dtype)
    w = np.random.default_rng(3).standard_normal(r.shape).astype(dtype)
    (q.sum() + (r * tr.tensor(w)).sum()).backward()
    (tq.sum() + (trr * torch.tensor(w)).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_reads_the_triangle_upper_names(upper, dtype):
    rng = np.random.default_rng(4)
    b = rng.standard_normal((2, 4, 4))
    spd = b @ b.swapaxes(-1, -2) + 4 * np.eye(4)
    a = np.triu(spd) + np.tril(rng.standard_normal((2, 4, 4)), -1) * 50 if upper else \
        np.tril(spd) + np.triu(rng.standard_normal((2, 4, 4)), 1) * 50   # the other triangle is garbage
    for ours_fn, their_fn in ((lambda t: tr.cholesky(t, upper=upper), lambda t: torch.cholesky(t, upper=upper)),
                              (lambda t: t.cholesky(upper), lambda t: t.cholesky(upper)),
                              (lambda t: tr.linalg.cholesky(t, upper=upper),
                               lambda t: torch.linalg.cholesky(t, upper=upper)),
                              (lambda t: tr.linalg.cholesky_ex(t, upper=upper)[0],
                               lambda t: torch.linalg.cholesky_ex(t, upper=upper)[0])):
        x, y = _pair(a, dtype)
        out, ref = ours_fn(x), their_fn(y)
        _close(out, ref, dtype)
        w = rng.standard_normal(out.shape).astype(dtype)
        (out * tr.tensor(w)).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), **TOL[dtype])


def test_cholesky_ex_upper_reads_the_upper_triangle_of_a_failing_matrix():
    a = np.array([[4.0, 2.0, 0.0], [-9.0, 1.0, 0.0], [5.0, 3.0, 1.0]])   # upper triangle: minor 2 not positive
    (low, info), (tlow, tinfo) = tr.linalg.cholesky_ex(tr.tensor(a), upper=True), \
        torch.linalg.cholesky_ex(torch.tensor(a), upper=True)
    assert int(info) == int(tinfo) == 2
    np.testing.assert_allclose(low.numpy(), tlow.numpy(), rtol=1e-12)


def test_cholesky_errors_in_torch_words():
    expected = torch_error(lambda: torch.cholesky(-torch.eye(3)))
    with pytest.raises(tr.linalg.LinAlgError) as ours:   # a RuntimeError, as torch's LinAlgError
        tr.cholesky(-tr.eye(3))
    assert isinstance(expected, (RuntimeError, torch.linalg.LinAlgError)) and str(ours.value) == str(expected)
    raises_as_torch(lambda: torch.cholesky(torch.zeros(3, 4)), lambda: tr.cholesky(tr.zeros(3, 4)),
                    "^cholesky: A must be batches of square matrices")
    raises_as_torch(lambda: torch.cholesky(torch.ones(3)), lambda: tr.cholesky(tr.ones(3)), "at least 2 dimensions")
    raises_as_torch(lambda: torch.cholesky(torch.ones(3, 3, dtype=torch.long)),
                    lambda: tr.cholesky(tr.ones(3, 3).long()), "Long")
    for shape in ((0, 3), (3, 0), (2, 0, 0)):   # torch returns an empty tensor, unchecked
        assert tr.cholesky(tr.zeros(shape)).shape == tuple(torch.cholesky(torch.zeros(shape)).shape)


# ----------------------------------------------------------------------------- deprecation warnings, once
def _warnings_of(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message).split(" (Triggered internally")[0] for w in caught if w.category is UserWarning]


SPELLINGS = {
    "qr": (lambda lib, a: lib.qr(a), None),
    "cholesky": (lambda lib, a: lib.cholesky(a @ a.mT + lib.eye(3, dtype=a.dtype)), None),
    "lu": (lambda lib, a: lib.lu(a), None),
    "lu_solve": (lambda lib, a: lib.lu_solve(a, *lib.linalg.lu_factor(a)), None),
    "triangular_solve": (lambda lib, a: lib.triangular_solve(a, lib.eye(3, dtype=a.dtype)), None),
    "chain_matmul": (lambda lib, a: lib.chain_matmul(a, a, a), None),
}


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_deprecated_spellings_warn_in_torch_words_once(name, monkeypatch):
    monkeypatch.setattr(linalg_checks, "_WARNED", set())
    call, _ = SPELLINGS[name]
    a = np.random.default_rng(5).standard_normal((3, 3))
    theirs = _warnings_of(lambda: call(torch, torch.tensor(a)))   # (torch's own warn-once may have fired before)
    first = _warnings_of(lambda: call(tr, tr.tensor(a)))
    assert len(first) == 1 and first[0].startswith(f"torch.{name} is deprecated")
    if theirs:
        assert first == theirs
    assert _warnings_of(lambda: call(tr, tr.tensor(a))) == []   # once per process, as TORCH_WARN_ONCE


def test_svd_does_not_warn():
    assert _warnings_of(lambda: tr.svd(tr.eye(3))) == _warnings_of(lambda: torch.svd(torch.eye(3))) == []


@pytest.mark.filterwarnings("ignore:torch.chain_matmul is deprecated")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [[(2, 3)], [(2, 3), (3, 4)], [(2, 3), (3, 4), (4, 1)]])
def test_chain_matmul(shapes, dtype):
    rng = np.random.default_rng(14)
    pairs = [_pair(rng.standard_normal(s), dtype) for s in shapes]
    out, ref = tr.chain_matmul(*[p[0] for p in pairs]), torch.chain_matmul(*[p[1] for p in pairs])
    _close(out, ref, dtype)
    assert out is not pairs[0][0]
    w = rng.standard_normal(out.shape).astype(dtype)
    (out * tr.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **TOL[dtype])


@pytest.mark.filterwarnings("ignore:torch.chain_matmul is deprecated")
@pytest.mark.parametrize("call,words", [
    (lambda lib: lib.chain_matmul(), "one or more"),
    (lambda lib: lib.chain_matmul(lib.ones(3)), "dimension is 1"),
    (lambda lib: lib.chain_matmul(lib.ones(2, 3), lib.ones(2, 3)), None),
    (lambda lib: lib.chain_matmul(lib.ones(2, 2, 2)), "dimension is 3"),
])
def test_chain_matmul_errors(call, words):
    raises_as_torch(lambda: call(torch), lambda: call(tr), words)


# ----------------------------------------------------------------------------- removed in torch 2.0
REMOVED = [
    ("symeig", lambda lib, a: lib.symeig(a), lambda a: a.symeig()),
    ("eig", lambda lib, a: lib.eig(a, True), lambda a: a.eig()),
    ("lstsq", lambda lib, a: lib.lstsq(a, a), lambda a: a.lstsq(a)),
    ("solve", lambda lib, a: lib.solve(a, a), lambda a: a.solve(a)),
    ("matrix_rank", lambda lib, a: lib.matrix_rank(a), None),
]


@pytest.mark.parametrize("name,function,method", REMOVED, ids=[r[0] for r in REMOVED])
def test_removed_functions_raise_torch_runtime_error(name, function, method):
    a = np.eye(3)
    expected = torch_error(lambda: function(torch, torch.tensor(a)))
    with pytest.raises(RuntimeError) as ours:
        function(tr, tr.tensor(a))
    assert type(expected) is RuntimeError and str(ours.value) == str(expected)
    if method is None:
        assert not hasattr(torch.Tensor, name) and not hasattr(tr.Tensor, name)
        return
    expected = torch_error(lambda: method(torch.tensor(a)))
    with pytest.raises(RuntimeError) as ours:
        method(tr.tensor(a))
    assert str(ours.value) == str(expected)


def test_linalg_functions_of_the_same_names_still_work():
    a = np.random.default_rng(6).standard_normal((3, 3)) + 3 * np.eye(3)
    np.testing.assert_allclose(tr.linalg.solve(tr.tensor(a), tr.tensor(a)).numpy(), np.eye(3), atol=1e-12)
    assert int(tr.linalg.matrix_rank(tr.tensor(a))) == 3


# ----------------------------------------------------------------------------- geqrf, orgqr, ormqr
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4), (0, 3), (3, 0), (2, 0, 0)])
def test_geqrf_is_lapacks(shape, dtype):
    a = np.random.default_rng(7).standard_normal(shape)
    x, y = _pair(a, dtype)
    (h, tau), (th, ttau) = x.geqrf(), torch.geqrf(y)
    assert h.shape == tuple(th.shape) and tau.shape == tuple(ttau.shape)
    _close(h, th, dtype)
    _close(tau, ttau, dtype)
    assert h.requires_grad and tau.requires_grad
    with pytest.raises(type(torch_error(lambda: th.sum().backward())), match="derivative for 'geqrf'"):
        h.sum().backward()


@pytest.mark.parametrize("dtype", DTYPES)
def test_orgqr_is_householder_product(dtype):
    a = np.random.default_rng(8).standard_normal((2, 5, 3))
    h, tau = (t.numpy() for t in torch.geqrf(torch.tensor(a)))
    (x, y), (xt, yt) = _pair(h, dtype), _pair(tau, dtype)
    out, ref = tr.orgqr(x, xt), torch.orgqr(y, yt)
    _close(out, ref, dtype)
    _close(x.orgqr(xt), ref, dtype)
    w = np.random.default_rng(9).standard_normal(out.shape).astype(dtype)
    (out * tr.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(xt.grad.numpy(), yt.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_ormqr_values_and_gradients(shape, left, transpose, dtype):
    rng = np.random.default_rng(10)
    a = rng.standard_normal((2,) + shape)
    h, tau = (t.numpy() for t in torch.geqrf(torch.tensor(a)))
    m = shape[0]
    c = rng.standard_normal((2, m, 2) if left else (2, 2, m))
    pairs = [_pair(h, dtype), _pair(tau, dtype), _pair(c, dtype)]
    out = pairs[0][0].ormqr(pairs[1][0], pairs[2][0], left=left, transpose=transpose)
    ref = torch.ormqr(pairs[0][1], pairs[1][1], pairs[2][1], left=left, transpose=transpose)
    _close(out, ref, dtype)
    w = rng.standard_normal(out.shape).astype(dtype)
    (out * tr.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **TOL[dtype])


def test_ormqr_of_empty_matrices():
    for a, tau, c in (((0, 0), (0,), (0, 2)), ((2, 3, 3), (2, 3), (2, 3, 0))):
        out = tr.ormqr(tr.zeros(a), tr.zeros(tau), tr.zeros(c))
        assert out.shape == tuple(torch.ormqr(torch.zeros(a), torch.zeros(tau), torch.zeros(c)).shape)


HOUSEHOLDER_ERRORS = [
    (lambda lib: lib.geqrf(lib.ones(3)), "at least 2 dimensions"),
    (lambda lib: lib.geqrf(lib.ones(3, 3).long()), "geqrf_cpu"),
    (lambda lib: lib.ormqr(lib.ones(4, 3), lib.ones(3), lib.ones(5, 2)), "other.shape"),
    (lambda lib: lib.ormqr(lib.ones(4, 3), lib.ones(2), lib.ones(4, 2)), "tau.shape"),
    (lambda lib: lib.ormqr(lib.ones(4, 3), lib.ones(3), lib.ones(4, 2), left=False), "other.shape"),
    (lambda lib: lib.ormqr(lib.ones(3), lib.ones(3), lib.ones(3, 2)), "input must have at least 2"),
    (lambda lib: lib.ormqr(lib.ones(3, 3), lib.ones(3), lib.ones(3)), "other must have at least 2"),
    (lambda lib: lib.ormqr(lib.ones(2, 3, 3), lib.ones(2, 3), lib.ones(3, 3, 2)), "batch dimensions of other"),
    (lambda lib: lib.ormqr(lib.ones(2, 3, 3), lib.ones(3), lib.ones(2, 3, 2)), "one dimension less"),
    (lambda lib: lib.ormqr(lib.ones(3, 3), lib.ones(3).double(), lib.ones(3, 2)), "same dtype"),
    (lambda lib: lib.orgqr(lib.ones(4, 3), lib.ones(4)), "tau.shape"),
    (lambda lib: lib.orgqr(lib.ones(3, 3).long(), lib.ones(3).long()), "orgqr_cpu"),
    (lambda lib: lib.orgqr(lib.ones(3, 3), lib.ones(3).double()), "dtype"),
]


@pytest.mark.parametrize("call,words", HOUSEHOLDER_ERRORS)
def test_householder_errors_as_torch(call, words):
    raises_as_torch(lambda: call(torch), lambda: call(tr), words)


# ----------------------------------------------------------------------------- svd_lowrank, pca_lowrank
def _low_rank(rng, shape, rank):
    return rng.standard_normal(shape[:-1] + (rank,)) @ rng.standard_normal(shape[:-2] + (rank, shape[-1]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,q", [((8, 5), 3), ((5, 8), 3), ((2, 7, 6), 4), ((6, 6), None)])
@pytest.mark.parametrize("with_mean", [False, True])
def test_svd_lowrank_reconstructs_a_low_rank_matrix(shape, q, with_mean, dtype):
    rng = np.random.default_rng(11)
    a = _low_rank(rng, shape, 2)
    mean = rng.standard_normal(shape[-1:]) if with_mean else None   # M broadcast to A's shape
    full = a + (0 if mean is None else mean)
    x = tr.tensor(full.astype(dtype))
    m = None if mean is None else tr.tensor(mean.astype(dtype))
    tr.manual_seed(0)
    u, s, v = tr.svd_lowrank(x, q=q, M=m)
    tu, ts, tv = torch.svd_lowrank(torch.tensor(full.astype(dtype)), q=q,
                                   M=None if mean is None else torch.tensor(mean.astype(dtype)))
    assert (u.shape, s.shape, v.shape) == (tuple(tu.shape), tuple(ts.shape), tuple(tv.shape))
    assert u.dtype == s.dtype == v.dtype == np.dtype(dtype)
    tol = dict(rtol=1e-3, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose((u * s.unsqueeze(-2) @ v.mT).numpy(), a, **tol)
    np.testing.assert_allclose(s.numpy()[..., :2], ts.numpy()[..., :2], **tol)   # rank 2: those two are exact


@pytest.mark.parametrize("shape", [(6, 4), (2, 4, 6)])
def test_svd_lowrank_gradient_where_the_result_is_exact(shape):
    """With q = min(m, n) the projection spans A's whole range: the result is A's SVD, its gradient svd's."""
    a = np.random.default_rng(12).standard_normal(shape)
    x, y = _pair(a, np.float64)
    q = min(shape[-2:])
    tr.manual_seed(1)
    s = tr.svd_lowrank(x, q=q)[1]
    ts = torch.svd_lowrank(y, q=q)[1]
    _close(s, ts, np.float64)
    (s * s).sum().backward()
    (ts * ts).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("center", [True, False])
def test_pca_lowrank_principal_directions(center):
    rng = np.random.default_rng(13)
    a = _low_rank(rng, (20, 5), 2) + rng.standard_normal(5) * 3
    tr.manual_seed(2)
    u, s, v = tr.pca_lowrank(tr.tensor(a), center=center)
    tu, ts, tv = torch.pca_lowrank(torch.tensor(a), center=center)
    assert (u.shape, s.shape, v.shape) == (tuple(tu.shape), tuple(ts.shape), tuple(tv.shape)) == \
        ((20, 5), (5,), (5, 5))
    target = a - a.mean(0) if center else a
    np.testing.assert_allclose((u * s.unsqueeze(-2) @ v.mT).numpy(), target, rtol=1e-8, atol=1e-8)
    kept = 2 if center else 3
    np.testing.assert_allclose(s.numpy()[:kept], ts.numpy()[:kept], rtol=1e-8)
    # the principal subspaces agree (the directions up to sign)
    np.testing.assert_allclose(v.numpy()[:, :kept] @ v.numpy()[:, :kept].T,
                               tv.numpy()[:, :kept] @ tv.numpy()[:, :kept].T, atol=1e-8)


def test_pca_lowrank_argument_errors():
    raises_as_torch(lambda: torch.pca_lowrank(torch.zeros(5, 4), q=7), lambda: tr.pca_lowrank(tr.zeros(5, 4), q=7),
                    r"q\(=7\) must be non-negative integer and not greater than min\(m, n\)=4")
    raises_as_torch(lambda: torch.pca_lowrank(torch.zeros(5, 4), niter=-1),
                    lambda: tr.pca_lowrank(tr.zeros(5, 4), niter=-1), r"niter\(=-1\)")
