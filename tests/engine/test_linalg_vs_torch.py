"""tr.linalg against torch.linalg 2.13: values, gradients (against torch's and finite differences), dtypes (float32
and float64 kept), batches and broadcasting, named results and errors, for the norms, det/slogdet, inv, solve,
cholesky, qr, svd/svdvals, eigh/eigvalsh, pinv, matrix_rank, lstsq and cross."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def _spd(rng, shape):
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _sym(rng, shape):
    a = rng.standard_normal(shape)
    return a + np.swapaxes(a, -1, -2)


def _weights(out, seed):
    """Fixed random weights for each output, so that the loss sum(w * out) reaches every output element."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(o.shape) for o in out]


def _compare(ours, theirs, arrays, dtype, seed=0, loss=None):
    """ours(*tr tensors) and theirs(*torch tensors) give the same values (a Tensor or a tuple of them) and the same
    gradients of `sum(w * out)` (or of loss(out), given both libraries' outputs)."""
    ts = [tr.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    ps = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out, ref = ours(*ts), theirs(*ps)
    out = list(out) if isinstance(out, tuple) else [out]
    ref = list(ref) if isinstance(ref, tuple) else [ref]
    for o, r in zip(out, ref):
        assert o.dtype == np.dtype(dtype)
        if loss is None:
            np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), **TOL[dtype])
    if loss is None:
        ws = _weights([r for r in ref if r.requires_grad], seed)
        ref_graded = [r for r in ref if r.requires_grad]
        out_graded = [o for o, r in zip(out, ref) if r.requires_grad]
        our_loss = sum((o * tr.tensor(w.astype(dtype))).sum() for o, w in zip(out_graded, ws))
        their_loss = sum((r * torch.tensor(w.astype(dtype))).sum() for r, w in zip(ref_graded, ws))
    else:
        our_loss, their_loss = loss(out, tr), loss(ref, torch)
    our_loss.backward()
    their_loss.backward()
    for t, p in zip(ts, ps):
        if p.grad is None:   # (torch's vector_norm(x, 0) has no gradient: nor has ours)
            assert t.grad is None or not t.grad.numpy().any()
            continue
        np.testing.assert_allclose(t.grad.numpy(), p.grad.numpy(), **TOL[dtype])


CASES = [
    ("inv", lambda a: tr.linalg.inv(a), lambda a: torch.linalg.inv(a), lambda r: [r.standard_normal((2, 4, 4))]),
    ("det", lambda a: tr.linalg.det(a), lambda a: torch.linalg.det(a), lambda r: [r.standard_normal((3, 4, 4))]),
    ("slogdet", lambda a: tr.linalg.slogdet(a), lambda a: torch.linalg.slogdet(a),
     lambda r: [r.standard_normal((3, 4, 4))]),
    ("solve matrix", lambda a, b: tr.linalg.solve(a, b), lambda a, b: torch.linalg.solve(a, b),
     lambda r: [r.standard_normal((2, 3, 3)), r.standard_normal((2, 3, 2))]),
    ("solve broadcast", lambda a, b: tr.linalg.solve(a, b), lambda a, b: torch.linalg.solve(a, b),
     lambda r: [r.standard_normal((3, 3)), r.standard_normal((4, 3, 2))]),
    ("solve vector", lambda a, b: tr.linalg.solve(a, b), lambda a, b: torch.linalg.solve(a, b),
     lambda r: [r.standard_normal((2, 3, 3)), r.standard_normal((2, 3))]),
    ("solve left=False", lambda a, b: tr.linalg.solve(a, b, left=False),
     lambda a, b: torch.linalg.solve(a, b, left=False),
     lambda r: [r.standard_normal((3, 3)), r.standard_normal((2, 3))]),
    ("cholesky", lambda a: tr.linalg.cholesky(a), lambda a: torch.linalg.cholesky(a), lambda r: [_spd(r, (2, 4, 4))]),
    ("cholesky upper", lambda a: tr.linalg.cholesky(a, upper=True), lambda a: torch.linalg.cholesky(a, upper=True),
     lambda r: [_spd(r, (4, 4))]),
    ("qr tall", lambda a: tr.linalg.qr(a), lambda a: torch.linalg.qr(a), lambda r: [r.standard_normal((2, 5, 3))]),
    ("qr square", lambda a: tr.linalg.qr(a), lambda a: torch.linalg.qr(a), lambda r: [r.standard_normal((4, 4))]),
    ("qr wide", lambda a: tr.linalg.qr(a), lambda a: torch.linalg.qr(a), lambda r: [r.standard_normal((3, 5))]),
    ("qr complete wide", lambda a: tr.linalg.qr(a, mode="complete"), lambda a: torch.linalg.qr(a, mode="complete"),
     lambda r: [r.standard_normal((3, 5))]),
    ("eigvalsh", lambda a: tr.linalg.eigvalsh(a), lambda a: torch.linalg.eigvalsh(a), lambda r: [_sym(r, (2, 4, 4))]),
    ("eigvalsh U", lambda a: tr.linalg.eigvalsh(a, UPLO="U"), lambda a: torch.linalg.eigvalsh(a, UPLO="U"),
     lambda r: [r.standard_normal((4, 4))]),
    ("svdvals", lambda a: tr.linalg.svdvals(a), lambda a: torch.linalg.svdvals(a),
     lambda r: [r.standard_normal((2, 5, 3))]),
    ("pinv tall", lambda a: tr.linalg.pinv(a), lambda a: torch.linalg.pinv(a), lambda r: [r.standard_normal((5, 3))]),
    ("pinv wide", lambda a: tr.linalg.pinv(a), lambda a: torch.linalg.pinv(a),
     lambda r: [r.standard_normal((2, 3, 5))]),
    ("pinv hermitian", lambda a: tr.linalg.pinv(a, hermitian=True), lambda a: torch.linalg.pinv(a, hermitian=True),
     lambda r: [_sym(r, (2, 4, 4))]),
    ("pinv atol", lambda a: tr.linalg.pinv(a, atol=1.0), lambda a: torch.linalg.pinv(a, atol=1.0),
     lambda r: [r.standard_normal((4, 3))]),
    ("cross", lambda a, b: tr.linalg.cross(a, b), lambda a, b: torch.linalg.cross(a, b),
     lambda r: [r.standard_normal((4, 3)), r.standard_normal((1, 3))]),
    ("matrix_power 5", lambda a: tr.linalg.matrix_power(a, 5), lambda a: torch.linalg.matrix_power(a, 5),
     lambda r: [r.standard_normal((2, 3, 3)) * 0.7]),
    ("matrix_power -2", lambda a: a.matrix_power(-2), lambda a: a.matrix_power(-2),
     lambda r: [r.standard_normal((3, 3)) + 3 * np.eye(3)]),
    ("matrix_power 0", lambda a: tr.matrix_power(a, 0) + a, lambda a: torch.matrix_power(a, 0) + a,
     lambda r: [r.standard_normal((2, 3, 3))]),
    ("multi_dot", lambda a, b, c, d: tr.linalg.multi_dot([a, b, c, d]),
     lambda a, b, c, d: torch.linalg.multi_dot([a, b, c, d]),
     lambda r: [r.standard_normal(4), r.standard_normal((4, 3)), r.standard_normal((3, 5)), r.standard_normal(5)]),
    ("vecdot", lambda a, b: tr.linalg.vecdot(a, b, dim=0), lambda a, b: torch.linalg.vecdot(a, b, dim=0),
     lambda r: [r.standard_normal((3, 4)), r.standard_normal((3, 1))]),
    ("logdet", lambda a: tr.logdet(a), lambda a: torch.logdet(a),
     lambda r: [np.stack([r.standard_normal((3, 3)) + 3 * np.eye(3), r.standard_normal((3, 3)) - 3 * np.eye(3)])]),
    ("det, slogdet, inverse, pinverse methods", lambda a: (a.det(), a.slogdet().logabsdet, a.inverse(), a.pinverse()),
     lambda a: (a.det(), a.slogdet().logabsdet, a.inverse(), a.pinverse()), lambda r: [r.standard_normal((3, 3))]),
    ("torch's functions", lambda a: (tr.det(a), tr.slogdet(a).logabsdet, tr.inverse(a), tr.pinverse(a, 0.3)),
     lambda a: (torch.det(a), torch.slogdet(a).logabsdet, torch.inverse(a), torch.pinverse(a, 0.3)),
     lambda r: [r.standard_normal((2, 3, 3))]),
    ("lstsq", lambda a, b: tr.linalg.lstsq(a, b).solution, lambda a, b: torch.linalg.lstsq(a, b).solution,
     lambda r: [r.standard_normal((6, 3)), r.standard_normal((6, 2))]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ours,theirs,make", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_as_torch(name, ours, theirs, make, dtype):
    _compare(ours, theirs, make(np.random.default_rng(len(name))), dtype)


def _gauge_free_svd(out, lib):
    """A loss of U, S, Vh that a sign flip of a singular pair leaves alone (torch's gradient is defined for those)."""
    u, s, vh = out
    k = s.shape[-1]
    w = lib.tensor(np.linspace(-1, 1, u.shape[-2] * vh.shape[-1]).reshape(u.shape[-2], vh.shape[-1])).to(s.dtype)
    low_rank = (u[..., :, :k] * s.unsqueeze(-2) ** 0.5) @ (vh[..., :k, :] * 0.5)
    return (low_rank * w).sum() + (s ** 2).sum() + (u[..., :, :k] * u[..., :, :k] * w[:, :1]).sum()


def _gauge_free_eigh(out, lib):
    w, v = out
    weights = lib.tensor(np.linspace(0.5, 2.0, v.shape[-1])).to(w.dtype)
    return ((v * weights) @ v.mT * v).pow(2).sum() + (w * weights).sum()


def _gauge_free_qr(out, lib):
    q, r = out
    return (q @ r).pow(2).sum() + (q * r.diagonal(0, -2, -1).unsqueeze(-2)).sum() + r.sum()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,full", [((4, 4), False), ((5, 3), False), ((2, 3, 5), False), ((5, 3), True),
                                        ((3, 5), True)])
def test_svd_values_and_gradients_as_torch(shape, full, dtype):
    a = np.random.default_rng(1).standard_normal(shape)
    ours, ref = tr.linalg.svd(tr.tensor(a.astype(dtype)), full), torch.linalg.svd(torch.tensor(a.astype(dtype)), full)
    assert type(ours).__name__ == "SVDResult" and ours._fields == ("U", "S", "Vh")
    assert ours.U.shape == tuple(ref.U.shape) and ours.Vh.shape == tuple(ref.Vh.shape)
    np.testing.assert_allclose(ours.S.numpy(), ref.S.numpy(), **TOL[dtype])
    recon = (ours.U[..., :, :ours.S.shape[-1]] * ours.S.unsqueeze(-2)) @ ours.Vh[..., :ours.S.shape[-1], :]
    np.testing.assert_allclose(recon.numpy(), a, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)
    _compare(lambda x: tr.linalg.svd(x, full), lambda x: torch.linalg.svd(x, full), [a], dtype,
             loss=_gauge_free_svd)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_and_qr_gradients_as_torch(uplo, dtype):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 4, 4))
    _compare(lambda x: tr.linalg.eigh(x, UPLO=uplo), lambda x: torch.linalg.eigh(x, UPLO=uplo), [a], dtype,
             loss=_gauge_free_eigh)
    for shape in [(5, 3), (4, 4), (3, 5)]:
        _compare(tr.linalg.qr, torch.linalg.qr, [rng.standard_normal(shape)], dtype, loss=_gauge_free_qr)


def test_gradients_against_finite_differences():
    rng = np.random.default_rng(3)
    spd = _spd(rng, (3, 3))
    cases = [
        (lambda a: tr.linalg.det(a), rng.standard_normal((3, 3))),
        (lambda a: tr.linalg.inv(a), rng.standard_normal((3, 3))),
        (lambda a: tr.linalg.cholesky((a + a.mT) * 0.5), spd),   # (it reads one triangle: perturb both)
        (lambda a: tr.linalg.slogdet(a).logabsdet, rng.standard_normal((3, 3))),
        (lambda a: tr.linalg.svdvals(a), rng.standard_normal((4, 3))),
        (lambda a: tr.linalg.matrix_norm(a, "nuc"), rng.standard_normal((3, 4))),
        (lambda a: tr.linalg.pinv(a), rng.standard_normal((4, 3))),
        (lambda a: tr.linalg.eigvalsh((a + a.mT) * 0.5), _sym(rng, (3, 3))),
        (lambda a: tr.linalg.det(a), np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])),
    ]
    for f, a in cases:
        assert tr.gradcheck(f, (tr.tensor(a, requires_grad=True),))


NORMS = [
    ("vector 2", lambda x: tr.linalg.vector_norm(x), lambda x: torch.linalg.vector_norm(x)),
    ("vector 3 dim", lambda x: tr.linalg.vector_norm(x, 3, dim=1), lambda x: torch.linalg.vector_norm(x, 3, dim=1)),
    ("vector -1.5", lambda x: tr.linalg.vector_norm(x, -1.5, dim=(0, 2), keepdim=True),
     lambda x: torch.linalg.vector_norm(x, -1.5, dim=(0, 2), keepdim=True)),
    ("vector inf", lambda x: tr.linalg.vector_norm(x, float("inf"), dim=-1),
     lambda x: torch.linalg.vector_norm(x, float("inf"), dim=-1)),
    ("vector 0", lambda x: tr.linalg.vector_norm(x, 0), lambda x: torch.linalg.vector_norm(x, 0)),
    ("matrix fro", lambda x: tr.linalg.matrix_norm(x), lambda x: torch.linalg.matrix_norm(x)),
    ("matrix nuc", lambda x: tr.linalg.matrix_norm(x, "nuc"), lambda x: torch.linalg.matrix_norm(x, "nuc")),
    ("matrix 2", lambda x: tr.linalg.matrix_norm(x, 2, dim=(0, 2)),
     lambda x: torch.linalg.matrix_norm(x, 2, dim=(0, 2))),
    ("matrix -2", lambda x: tr.linalg.matrix_norm(x, -2, keepdim=True),
     lambda x: torch.linalg.matrix_norm(x, -2, keepdim=True)),
    ("matrix 1", lambda x: tr.linalg.matrix_norm(x, 1), lambda x: torch.linalg.matrix_norm(x, 1)),
    ("matrix -inf", lambda x: tr.linalg.matrix_norm(x, -float("inf"), dim=(2, 1), keepdim=True),
     lambda x: torch.linalg.matrix_norm(x, -float("inf"), dim=(2, 1), keepdim=True)),
    ("norm None", lambda x: tr.linalg.norm(x), lambda x: torch.linalg.norm(x)),
    ("norm dim pair", lambda x: tr.linalg.norm(x, dim=(1, 2)), lambda x: torch.linalg.norm(x, dim=(1, 2))),
    ("norm ord dim", lambda x: tr.linalg.norm(x, 1, dim=1), lambda x: torch.linalg.norm(x, 1, dim=1)),
    ("norm 2-D ord", lambda x: tr.linalg.norm(x[0], "nuc"), lambda x: torch.linalg.norm(x[0], "nuc")),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ours,theirs", NORMS, ids=[c[0] for c in NORMS])
def test_norms_as_torch(name, ours, theirs, dtype):
    _compare(ours, theirs, [np.random.default_rng(4).standard_normal((2, 3, 4))], dtype)


def test_vector_norm_of_zeros_has_torchs_gradient():
    _compare(lambda x: tr.linalg.vector_norm(x, dim=1), lambda x: torch.linalg.vector_norm(x, dim=1),
             [np.array([[0.0, 0.0], [3.0, 4.0]])], np.float64)


def test_named_results_as_torch():
    a = np.random.default_rng(5).standard_normal((4, 4))
    for fn, fields in [("slogdet", ("sign", "logabsdet")), ("qr", ("Q", "R")),
                       ("eigh", ("eigenvalues", "eigenvectors")),
                       ("lstsq", ("solution", "residuals", "rank", "singular_values"))]:
        args = (a + a.T,) if fn == "eigh" else (a, a) if fn == "lstsq" else (a,)
        ours = getattr(tr.linalg, fn)(*[tr.tensor(x) for x in args])
        ref = getattr(torch.linalg, fn)(*[torch.tensor(x) for x in args])
        assert ours._fields == fields
        assert all(hasattr(ref, f) for f in fields)
    a_ours, a_ref = tr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert tr.linalg.slogdet(a_ours).sign.requires_grad == torch.linalg.slogdet(a_ref).sign.requires_grad


@pytest.mark.parametrize("driver", [None, "gelsy", "gelsd", "gelss", "gels"])
def test_lstsq_parts_as_torch(driver):
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 2))
    ours = tr.linalg.lstsq(tr.tensor(a), tr.tensor(b), driver=driver)
    ref = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    for o, r in zip(ours, ref):
        assert o.shape == tuple(r.shape) and o.dtype == (np.int64 if r.dtype == torch.int64 else np.float64)
        np.testing.assert_allclose(o.numpy(), r.numpy(), rtol=1e-9, atol=1e-12)


def test_matrix_rank_as_torch():
    rng = np.random.default_rng(7)
    low = rng.standard_normal((3, 5, 2)) @ rng.standard_normal((3, 2, 4))
    for kwargs in [{}, {"atol": 1.0}, {"rtol": 0.5}, {"hermitian": False}]:
        ours = tr.linalg.matrix_rank(tr.tensor(low), **kwargs)
        ref = torch.linalg.matrix_rank(torch.tensor(low), **kwargs)
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
        assert ours.dtype == np.int64
    sym = low[0] @ low[0].T
    np.testing.assert_array_equal(tr.linalg.matrix_rank(tr.tensor(sym), hermitian=True).numpy(),
                                  torch.linalg.matrix_rank(torch.tensor(sym), hermitian=True).numpy())


ERRORS = [
    ("inv of a non-square", lambda lib: lib.linalg.inv(lib.ones(2, 3))),
    ("inv of a vector", lambda lib: lib.linalg.inv(lib.ones(3))),
    ("inv of int64", lambda lib: lib.linalg.inv(lib.ones(2, 2).long())),
    ("solve dtypes", lambda lib: lib.linalg.solve(lib.eye(2), lib.ones(2, 1).double())),
    ("solve shapes", lambda lib: lib.linalg.solve(lib.eye(2), lib.ones(3, 1))),
    ("qr mode", lambda lib: lib.linalg.qr(lib.eye(2), mode="full")),
    ("eigh UPLO", lambda lib: lib.linalg.eigh(lib.eye(2), UPLO="X")),
    ("matrix_norm ord", lambda lib: lib.linalg.matrix_norm(lib.eye(2), 3)),
    ("norm 3-D with ord", lambda lib: lib.linalg.norm(lib.ones(2, 2, 2), 2)),
    ("cross size", lambda lib: lib.linalg.cross(lib.ones(2, 4), lib.ones(2, 4))),
    ("cross dtypes", lambda lib: lib.linalg.cross(lib.ones(2, 3), lib.ones(2, 3).double())),
    ("cross dims", lambda lib: lib.linalg.cross(lib.ones(2, 3), lib.ones(3))),
    ("cross shapes", lambda lib: lib.linalg.cross(lib.ones(4, 3), lib.ones(2, 3))),
    ("multi_dot one tensor", lambda lib: lib.linalg.multi_dot([lib.eye(2)])),
    ("multi_dot 3-D", lambda lib: lib.linalg.multi_dot([lib.eye(2), lib.ones(2, 2, 2)])),
    ("matrix_power non-square", lambda lib: lib.linalg.matrix_power(lib.ones(2, 3), 2)),
    ("lstsq driver", lambda lib: lib.linalg.lstsq(lib.eye(2), lib.eye(2), driver="nope")),
]


@pytest.mark.parametrize("name,call", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_as_torch(name, call):
    raises_as_torch(lambda: call(torch), lambda: call(tr))


def test_linalg_error_is_a_runtime_error_as_torchs():
    for call in (lambda lib: lib.linalg.inv(lib.zeros(2, 2)), lambda lib: lib.linalg.cholesky(-lib.eye(3)),
                 lambda lib: lib.linalg.solve(lib.zeros(2, 2), lib.ones(2))):
        with pytest.raises(torch.linalg.LinAlgError):
            call(torch)
        with pytest.raises(tr.linalg.LinAlgError):
            call(tr)
    assert issubclass(tr.linalg.LinAlgError, RuntimeError) and issubclass(torch.linalg.LinAlgError, RuntimeError)


def test_qr_mode_r_and_complete_refuse_a_gradient_as_torch():
    a = tr.randn(4, 3, requires_grad=True)
    q, r = tr.linalg.qr(a.detach(), mode="r")
    assert q.shape == tuple(torch.linalg.qr(torch.randn(4, 3), mode="r").Q.shape)
    np.testing.assert_allclose(np.abs(r.numpy()), np.abs(np.linalg.qr(a.detach().numpy())[1]), rtol=1e-5)
    with pytest.raises(RuntimeError, match="mode='r'"):
        tr.linalg.qr(a, mode="r")
    with pytest.raises(RuntimeError, match="complete"):
        tr.linalg.qr(a, mode="complete")
