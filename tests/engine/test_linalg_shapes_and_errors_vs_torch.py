"""Every tr.linalg function (and the top-level spellings) against torch 2.13 on drawn inputs: batch dims (none, one,
two, an empty batch), empty matrices (0 x 0, 0 x n, n x 0), float32 and float64 kept, exactly singular and
non-square matrices where a square one is wanted. Either both raise (ours an instance of torch's type; its
LinAlgError is a RuntimeError) or both give the same shapes, dtypes and values (through invariants where a
decomposition is not unique: U diag(S) Vh, Q R, V diag(w) V^T). And what this audit found: cholesky(upper=True)
reads the upper triangle, matrix_exp / ldl_solve / cond / matrix_norm of empty matrices, integer inputs in
torch's error types, matrix_power of int64 matrices."""
import warnings

import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore:torch.(qr|cholesky|lu|lu_solve|triangular_solve) is deprecated")]

TOL = {np.float32: dict(rtol=1e-3, atol=1e-4), np.float64: dict(rtol=1e-8, atol=1e-10)}


def _recon_svd(u, s, vh):
    k = s.shape[-1]
    return [s, (u[..., :k] * s[..., None, :]) @ vh[..., :k, :]]


def _recon_qr(q, r):
    return [q @ r] if q.shape[-1] == r.shape[-2] else [r]


def _recon_eigh(w, v):
    return [w, (v * w[..., None, :]) @ np.swapaxes(v, -1, -2)]


def _first(*outs):
    return [outs[0]]


# name: (call(lib, A[, B]), A square?, takes B?, invariants of the numpy outputs or None: compare them all)
OPS = {
    "inv": (lambda lib, a: lib.linalg.inv(a), True, False, None),
    "inverse": (lambda lib, a: lib.inverse(a), True, False, None),
    "det": (lambda lib, a: lib.linalg.det(a), True, False, None),
    "slogdet": (lambda lib, a: lib.linalg.slogdet(a), True, False, None),
    "logdet": (lambda lib, a: lib.logdet(a), True, False, None),
    "cholesky": (lambda lib, a: lib.linalg.cholesky(a), True, False, None),
    "cholesky upper": (lambda lib, a: lib.linalg.cholesky(a, upper=True), True, False, None),
    "cholesky_ex": (lambda lib, a: lib.linalg.cholesky_ex(a), True, False, None),
    "torch.cholesky upper": (lambda lib, a: lib.cholesky(a, upper=True), True, False, None),
    "inv_ex": (lambda lib, a: lib.linalg.inv_ex(a), True, False, None),
    "qr": (lambda lib, a: lib.linalg.qr(a), False, False, _recon_qr),
    "qr complete": (lambda lib, a: lib.linalg.qr(a, mode="complete"), False, False, _recon_qr),
    "qr r": (lambda lib, a: lib.linalg.qr(a, mode="r"), False, False, _recon_qr),
    "torch.qr": (lambda lib, a: lib.qr(a), False, False, _recon_qr),
    "svd": (lambda lib, a: lib.linalg.svd(a), False, False, _recon_svd),
    "svd reduced": (lambda lib, a: lib.linalg.svd(a, full_matrices=False), False, False, _recon_svd),
    "torch.svd": (lambda lib, a: lib.svd(a), False, False, lambda u, s, v: _recon_svd(u, s, np.swapaxes(v, -1, -2))),
    "svdvals": (lambda lib, a: lib.linalg.svdvals(a), False, False, None),
    "eigh": (lambda lib, a: lib.linalg.eigh(a), True, False, _recon_eigh),
    "eigvalsh": (lambda lib, a: lib.linalg.eigvalsh(a), True, False, None),
    "pinv": (lambda lib, a: lib.linalg.pinv(a), False, False, None),
    "matrix_rank": (lambda lib, a: lib.linalg.matrix_rank(a), False, False, None),
    "matrix_power 3": (lambda lib, a: lib.linalg.matrix_power(a, 3), True, False, None),
    "matrix_power -2": (lambda lib, a: lib.linalg.matrix_power(a, -2), True, False, None),
    "matrix_exp": (lambda lib, a: lib.linalg.matrix_exp(a), True, False, None),
    "cond": (lambda lib, a: lib.linalg.cond(a), False, False, None),
    "cond 1": (lambda lib, a: lib.linalg.cond(a, 1), True, False, None),
    "matrix_norm 2": (lambda lib, a: lib.linalg.matrix_norm(a, 2), False, False, None),
    "matrix_norm nuc": (lambda lib, a: lib.linalg.matrix_norm(a, "nuc"), False, False, None),
    "matrix_norm -2": (lambda lib, a: lib.linalg.matrix_norm(a, -2), False, False, None),
    "matrix_norm 1": (lambda lib, a: lib.linalg.matrix_norm(a, 1), False, False, None),
    "matrix_norm -inf": (lambda lib, a: lib.linalg.matrix_norm(a, -np.inf), False, False, None),
    "norm": (lambda lib, a: lib.linalg.norm(a), False, False, None),
    "lu_factor": (lambda lib, a: lib.linalg.lu_factor(a), False, False, None),
    "lu_factor_ex": (lambda lib, a: lib.linalg.lu_factor_ex(a), False, False, None),
    "lu": (lambda lib, a: lib.linalg.lu(a), False, False, None),
    "ldl_factor": (lambda lib, a: lib.linalg.ldl_factor(a), True, False, _first),
    "geqrf": (lambda lib, a: lib.geqrf(a), False, False, None),
    "solve": (lambda lib, a, b: lib.linalg.solve(a, b), True, True, None),
    "solve_ex": (lambda lib, a, b: lib.linalg.solve_ex(a, b), True, True, None),
    "lstsq": (lambda lib, a, b: lib.linalg.lstsq(a, b).solution, False, True, None),
    "solve_triangular": (lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True), True, True, None),
    "lu_solve": (lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b), True, True, None),
    "cholesky_solve": (lambda lib, a, b: lib.cholesky_solve(b, lib.linalg.cholesky(a)), True, True, None),
    "ldl_solve": (lambda lib, a, b: lib.linalg.ldl_solve(*lib.linalg.ldl_factor(a), b), True, True, None),
}


@st.composite
def _inputs(draw, square, with_b):
    """(A, B or None, dtype): A of drawn batch and size, well conditioned and symmetric positive-definite when
    square (so every factorization takes it) unless drawn singular (two equal rows of small integers) or
    non-square where a square one is wanted."""
    batch = draw(st.sampled_from([(), (2,), (0,), (2, 1)]))
    m = draw(st.integers(0, 4))
    kind = draw(st.sampled_from(["good", "good", "singular", "not square"])) if square else "good"
    n = m if square and kind != "not square" else draw(st.integers(0, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    if kind == "singular" and m >= 2:
        a = rng.integers(-3, 4, batch + (m, n)).astype(np.float64)
        a[..., -1, :] = a[..., 0, :]
    elif square and m == n:
        g = rng.standard_normal(batch + (m, n))
        a = g @ np.swapaxes(g, -1, -2) + m * np.eye(m)
    else:
        a = rng.standard_normal(batch + (m, n))
    b = rng.standard_normal(batch + (m, draw(st.integers(0, 2)))) if with_b else None
    return a.astype(dtype), None if b is None else b.astype(dtype), dtype


def _numpy(out):
    outs = out if isinstance(out, tuple) else (out,)
    return [o.detach().numpy() for o in outs]


def _run(lib, call, a, b):
    args = [lib.tensor(a)] + ([] if b is None else [lib.tensor(b)])
    return call(lib, *args)


@pytest.mark.parametrize("name", sorted(OPS))
@given(data=st.data())
def test_linalg_matches_torch_on_drawn_shapes(name, data):
    call, square, with_b, invariants = OPS[name]
    a, b, dtype = data.draw(_inputs(square, with_b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = _run(torch, call, a, b)
        except Exception as e:  # noqa: BLE001 (torch's error, whatever it is, is what ours must also be)
            expected = RuntimeError if isinstance(e, torch.linalg.LinAlgError) else type(e)
            with pytest.raises(expected):
                _run(tr, call, a, b)
            return
        ours = _run(tr, call, a, b)
    ours_np, theirs_np = _numpy(ours), _numpy(theirs)
    assert [o.shape for o in ours_np] == [t.shape for t in theirs_np]
    for o, t in zip(ours_np, theirs_np):   # float results in A's dtype; int32 (pivots, infos) are int64 here
        assert o.dtype == (np.int64 if t.dtype == np.int32 else t.dtype)
    if invariants is not None:
        ours_np, theirs_np = invariants(*ours_np), invariants(*theirs_np)
    for o, t in zip(ours_np, theirs_np):
        np.testing.assert_allclose(o, t, **TOL[dtype])


# ----------------------------------------------------------------------------- what the audit found
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cholesky_upper_reads_the_upper_triangle(dtype):
    a = np.array([[4.0, 1.0, 0.0], [-5.0, 3.0, 1.0], [-7.0, -20.0, 5.0]], dtype)   # lower triangle: not PD
    x, y = tr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, ref = tr.linalg.cholesky(x, upper=True), torch.linalg.cholesky(y, upper=True)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL[dtype])
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0)])
def test_matrix_exp_of_empty_matrices(shape):
    x = tr.zeros(shape, requires_grad=True)
    out = tr.linalg.matrix_exp(x)
    assert out.shape == tuple(torch.linalg.matrix_exp(torch.zeros(shape)).shape)
    out.sum().backward()
    assert x.grad.shape == shape


@pytest.mark.parametrize("ld,b", [((0, 0), (0, 2)), ((3, 3), (3, 0)), ((2, 0, 0), (2, 0, 1))])
def test_ldl_solve_of_empty_systems(ld, b):
    a = np.eye(ld[-1]) * 2 + np.zeros(ld)
    ours = tr.linalg.ldl_solve(*tr.linalg.ldl_factor(tr.tensor(a)), tr.zeros(b, dtype=tr.float64))
    theirs = torch.linalg.ldl_solve(*torch.linalg.ldl_factor(torch.tensor(a)), torch.zeros(b, dtype=torch.float64))
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float64


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3), (3, 0)])
@pytest.mark.parametrize("ord", [2, -2, "nuc", 1, -1, np.inf, -np.inf, "fro"])
def test_matrix_norm_of_empty_matrices(shape, ord):
    def ours():
        return tr.linalg.matrix_norm(tr.zeros(shape), ord)

    def theirs():
        return torch.linalg.matrix_norm(torch.zeros(shape), ord)
    try:
        ref = theirs()
    except IndexError:
        raises_as_torch(theirs, ours, "non-zero size")
        return
    np.testing.assert_array_equal(ours().numpy(), ref.numpy())
    x, y = tr.zeros(shape, requires_grad=True), torch.zeros(shape, requires_grad=True)
    assert tr.linalg.matrix_norm(x, ord).requires_grad == torch.linalg.matrix_norm(y, ord).requires_grad


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3)])
@pytest.mark.parametrize("p", [None, 2, -2, "fro", 1])
def test_cond_of_empty_matrices(shape, p):
    def ours():
        return tr.linalg.cond(tr.zeros(shape), p)

    def theirs():
        return torch.linalg.cond(torch.zeros(shape), p)
    try:
        ref = theirs()
    except RuntimeError:
        raises_as_torch(theirs, ours, "square")
        return
    np.testing.assert_array_equal(ours().numpy(), ref.numpy())


INTEGER_INPUTS = [
    (lambda lib, a: lib.linalg.eigh(a), "linalg_eigh_cpu"),
    (lambda lib, a: lib.linalg.eigvalsh(a), "linalg_eigh_cpu"),
    (lambda lib, a: lib.linalg.lu_factor(a), "lu_cpu"),
    (lambda lib, a: lib.linalg.lu_factor_ex(a), "lu_cpu"),
    (lambda lib, a: lib.linalg.lu(a), "lu_cpu"),
    (lambda lib, a: lib.linalg.matrix_exp(a), "floating point"),
    (lambda lib, a: lib.linalg.householder_product(a, a[0]), "orgqr_cpu"),
    (lambda lib, a: lib.linalg.matrix_power(a, -1), "floating point"),
]


@pytest.mark.parametrize("call,words", INTEGER_INPUTS)
def test_integer_inputs_raise_torch_error_types(call, words):
    raises_as_torch(lambda: call(torch, torch.ones(3, 3, dtype=torch.long)),
                    lambda: call(tr, tr.ones(3, 3).long()), words)


def test_householder_product_dtype_mix_is_torch_runtime_error():
    raises_as_torch(lambda: torch.linalg.householder_product(torch.ones(3, 3), torch.ones(3, dtype=torch.float64)),
                    lambda: tr.linalg.householder_product(tr.ones(3, 3), tr.ones(3).double()), "dtype")


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_matrix_power_of_int64_matrices(n):
    a = np.array([[1, 2], [3, -4]])
    out, ref = tr.linalg.matrix_power(tr.tensor(a), n), torch.linalg.matrix_power(torch.tensor(a), n)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    np.testing.assert_array_equal(tr.tensor(a).matrix_power(n).numpy(), ref.numpy())
