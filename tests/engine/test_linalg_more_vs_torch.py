"""tr.linalg's triangular half (triangular.py, ldl.py) and the _ex forms against torch 2.13: solve_triangular,
triangular_solve, lu_factor(_ex), lu, lu_solve, lu_unpack, cholesky_solve, cholesky_inverse, cholesky_ex, inv_ex,
solve_ex, tensorinv, tensorsolve, vander, cond, linalg.diagonal/matmul, the Tensor methods and deprecated spellings
(x.cholesky_solve, x.lu, tr.lu_solve...), and ldl_factor(_ex)/ldl_solve (no gradient, as torch): values, gradients
(against torch's and finite differences), float32 and float64 kept, batches and broadcasting, named results, infos
and errors; eig/eigvals refused."""
import numpy as np
import pytest
from conftest import torch_error
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated"),
              pytest.mark.filterwarnings("ignore:torch.lu is deprecated"),
              pytest.mark.filterwarnings("ignore:torch.lu_solve is deprecated")]

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def _spd(rng, shape):
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _well(rng, shape):
    """A matrix far from singular (its triangles too): random plus n on the diagonal."""
    return rng.standard_normal(shape) + shape[-1] * np.eye(shape[-1])


def _torch_pivots(p):
    """Our int64 pivots as torch's int32 (same values)."""
    return p.to(torch.int32) if isinstance(p, torch.Tensor) else p


def _compare(ours, theirs, arrays, dtype, seed=0):
    """Same values (each output; int outputs exactly) and the same gradients of sum(w * out) over the float outputs
    that require grad, for every input."""
    ts = [tr.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    ps = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out, ref = ours(*ts), theirs(*ps)
    out = list(out) if isinstance(out, tuple) else [out]
    ref = list(ref) if isinstance(ref, tuple) else [ref]
    assert len(out) == len(ref)
    rng = np.random.default_rng(seed)
    our_loss, their_loss = 0, 0
    for o, r in zip(out, ref):
        assert o.shape == tuple(r.shape)
        if r.dtype in (torch.int32, torch.int64):
            assert o.dtype == np.int64
            np.testing.assert_array_equal(o.numpy(), r.numpy())
            continue
        assert o.dtype == np.dtype(dtype)
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), **TOL[dtype])
        if r.requires_grad:
            w = rng.standard_normal(o.shape).astype(dtype)
            our_loss = our_loss + (o * tr.tensor(w)).sum()
            their_loss = their_loss + (r * torch.tensor(w)).sum()
    our_loss.backward()
    their_loss.backward()
    for t, p in zip(ts, ps):
        assert p.grad is not None
        np.testing.assert_allclose(t.grad.numpy(), p.grad.numpy(), **TOL[dtype])


def _lu_solve(lib, left=True, adjoint=False):
    def call(a, b):
        lu, pivots = lib.linalg.lu_factor(a)
        return lib.linalg.lu_solve(lu, pivots, b, left=left, adjoint=adjoint)
    return call


CASES = [
    ("solve_triangular lower broadcast", lambda a, b: tr.linalg.solve_triangular(a, b, upper=False),
     lambda a, b: torch.linalg.solve_triangular(a, b, upper=False),
     lambda r: [_well(r, (2, 4, 4)), r.standard_normal((3, 1, 4, 2))]),
    ("solve_triangular upper unitriangular", lambda a, b: tr.linalg.solve_triangular(a, b, upper=True,
                                                                                     unitriangular=True),
     lambda a, b: torch.linalg.solve_triangular(a, b, upper=True, unitriangular=True),
     lambda r: [r.standard_normal((4, 4)), r.standard_normal((4, 3))]),
    ("solve_triangular left=False", lambda a, b: tr.linalg.solve_triangular(a, b, upper=True, left=False),
     lambda a, b: torch.linalg.solve_triangular(a, b, upper=True, left=False),
     lambda r: [_well(r, (4, 4)), r.standard_normal((2, 3, 4))]),
    ("triangular_solve transpose", lambda b, a: tr.triangular_solve(b, a, upper=False, transpose=True),
     lambda b, a: torch.triangular_solve(b, a, upper=False, transpose=True),
     lambda r: [r.standard_normal((2, 4, 3)), _well(r, (4, 4))]),
    ("triangular_solve unitriangular", lambda b, a: tr.triangular_solve(b, a, unitriangular=True),
     lambda b, a: torch.triangular_solve(b, a, unitriangular=True),
     lambda r: [r.standard_normal((4, 2)), r.standard_normal((4, 4))]),
    ("lu_factor square", lambda a: tr.linalg.lu_factor(a), lambda a: torch.linalg.lu_factor(a),
     lambda r: [r.standard_normal((2, 4, 4))]),
    ("lu_factor_ex wide", lambda a: tr.linalg.lu_factor_ex(a), lambda a: torch.linalg.lu_factor_ex(a),
     lambda r: [r.standard_normal((2, 3, 5))]),
    ("lu tall", lambda a: tr.linalg.lu(a), lambda a: torch.linalg.lu(a), lambda r: [r.standard_normal((2, 5, 3))]),
    ("lu wide", lambda a: tr.linalg.lu(a), lambda a: torch.linalg.lu(a), lambda r: [r.standard_normal((3, 5))]),
    ("lu square", lambda a: tr.linalg.lu(a), lambda a: torch.linalg.lu(a), lambda r: [r.standard_normal((4, 4))]),
    ("lu_unpack", lambda a: tr.lu_unpack(*tr.linalg.lu_factor(a)),
     lambda a: torch.lu_unpack(*torch.linalg.lu_factor(a)), lambda r: [r.standard_normal((2, 4, 3))]),
    ("lu_solve", _lu_solve(tr), _lu_solve(torch), lambda r: [r.standard_normal((2, 4, 4)), r.standard_normal((4, 2))]),
    ("lu_solve adjoint", _lu_solve(tr, adjoint=True), _lu_solve(torch, adjoint=True),
     lambda r: [r.standard_normal((4, 4)), r.standard_normal((3, 4, 2))]),
    ("lu_solve left=False", _lu_solve(tr, left=False), _lu_solve(torch, left=False),
     lambda r: [r.standard_normal((2, 4, 4)), r.standard_normal((2, 3, 4))]),
    ("lu_solve left=False adjoint", _lu_solve(tr, left=False, adjoint=True),
     _lu_solve(torch, left=False, adjoint=True), lambda r: [r.standard_normal((4, 4)), r.standard_normal((3, 4))]),
    ("cholesky_solve", lambda b, low: tr.cholesky_solve(b, low), lambda b, low: torch.cholesky_solve(b, low),
     lambda r: [r.standard_normal((2, 3, 2)), np.linalg.cholesky(_spd(r, (2, 3, 3)))]),
    ("cholesky_solve upper", lambda b, u: tr.cholesky_solve(b, u, upper=True),
     lambda b, u: torch.cholesky_solve(b, u, upper=True),
     lambda r: [r.standard_normal((3, 2)), np.linalg.cholesky(_spd(r, (2, 3, 3))).swapaxes(-1, -2)]),
    ("cholesky_inverse", lambda low: tr.cholesky_inverse(low), lambda low: torch.cholesky_inverse(low),
     lambda r: [np.linalg.cholesky(_spd(r, (2, 3, 3)))]),
    ("cholesky_inverse upper", lambda u: tr.cholesky_inverse(u, upper=True),
     lambda u: torch.cholesky_inverse(u, upper=True), lambda r: [np.linalg.cholesky(_spd(r, (4, 4))).T]),
    ("cholesky_ex", lambda a: tr.linalg.cholesky_ex(a), lambda a: torch.linalg.cholesky_ex(a),
     lambda r: [_spd(r, (2, 3, 3))]),
    ("cholesky_ex upper", lambda a: tr.linalg.cholesky_ex(a, upper=True),
     lambda a: torch.linalg.cholesky_ex(a, upper=True), lambda r: [_spd(r, (3, 3))]),
    ("inv_ex", lambda a: tr.linalg.inv_ex(a), lambda a: torch.linalg.inv_ex(a), lambda r: [_well(r, (2, 3, 3))]),
    ("solve_ex", lambda a, b: tr.linalg.solve_ex(a, b), lambda a, b: torch.linalg.solve_ex(a, b),
     lambda r: [_well(r, (2, 3, 3)), r.standard_normal((2, 3))]),
    ("solve_ex left=False", lambda a, b: tr.linalg.solve_ex(a, b, left=False),
     lambda a, b: torch.linalg.solve_ex(a, b, left=False), lambda r: [_well(r, (3, 3)), r.standard_normal((2, 3))]),
    ("tensorinv", lambda a: tr.linalg.tensorinv(a, ind=1), lambda a: torch.linalg.tensorinv(a, ind=1),
     lambda r: [_well(r, (6, 6)).reshape(6, 2, 3)]),
    ("tensorsolve", lambda a, b: tr.linalg.tensorsolve(a, b), lambda a, b: torch.linalg.tensorsolve(a, b),
     lambda r: [_well(r, (6, 6)).reshape(2, 3, 6), r.standard_normal((2, 3))]),
    ("tensorsolve dims", lambda a, b: tr.linalg.tensorsolve(a, b, dims=(0,)),
     lambda a, b: torch.linalg.tensorsolve(a, b, dims=(0,)),
     lambda r: [_well(r, (6, 6)).reshape(6, 2, 3), r.standard_normal((2, 3))]),
    ("vander", lambda x: tr.linalg.vander(x, N=4), lambda x: torch.linalg.vander(x, N=4),
     lambda r: [np.array([[0.0, 1.5, -2.0], [1.0, 2.0, 3.0]])]),
    ("vander default N", lambda x: tr.linalg.vander(x), lambda x: torch.linalg.vander(x),
     lambda r: [r.standard_normal(4)]),
    ("cond", lambda a: tr.linalg.cond(a), lambda a: torch.linalg.cond(a), lambda r: [r.standard_normal((2, 3, 3))]),
    ("cond -2 wide", lambda a: tr.linalg.cond(a, -2), lambda a: torch.linalg.cond(a, -2),
     lambda r: [r.standard_normal((2, 4))]),
    ("cond nuc", lambda a: tr.linalg.cond(a, "nuc"), lambda a: torch.linalg.cond(a, "nuc"),
     lambda r: [r.standard_normal((2, 3, 3))]),
    ("linalg.diagonal", lambda a: tr.linalg.diagonal(a, offset=1), lambda a: torch.linalg.diagonal(a, offset=1),
     lambda r: [r.standard_normal((2, 3, 4))]),
    ("linalg.matmul", lambda a, b: tr.linalg.matmul(a, b), lambda a, b: torch.linalg.matmul(a, b),
     lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal(4)]),
    ("x.cholesky_solve", lambda b, low: b.cholesky_solve(low), lambda b, low: b.cholesky_solve(low),
     lambda r: [r.standard_normal((3, 2)), np.linalg.cholesky(_spd(r, (3, 3)))]),
    ("x.cholesky_inverse", lambda u: u.cholesky_inverse(upper=True), lambda u: u.cholesky_inverse(upper=True),
     lambda r: [np.linalg.cholesky(_spd(r, (3, 3))).T]),
    ("x.triangular_solve", lambda b, a: b.triangular_solve(a), lambda b, a: b.triangular_solve(a),
     lambda r: [r.standard_normal((3, 2)), _well(r, (3, 3))]),
    ("x.lu get_infos", lambda a: a.lu(get_infos=True), lambda a: a.lu(get_infos=True),
     lambda r: [r.standard_normal((2, 3, 3))]),
    ("tr.lu_solve", lambda a, b: tr.lu_solve(b, *tr.lu(a)), lambda a, b: torch.lu_solve(b, *torch.lu(a)),
     lambda r: [r.standard_normal((2, 3, 3)), r.standard_normal((2, 3, 2))]),
    ("x.lu_solve", lambda a, b: b.lu_solve(*a.lu()), lambda a, b: b.lu_solve(*a.lu()),
     lambda r: [r.standard_normal((3, 3)), r.standard_normal((3, 2))]),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name,ours,theirs,make", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_as_torch(name, ours, theirs, make, dtype):
    _compare(ours, theirs, make(np.random.default_rng(0)), dtype)


FD_CASES = [
    ("solve_triangular", lambda a, b: tr.linalg.solve_triangular(a, b, upper=True), [(3, 3), (2, 3, 2)]),
    ("lu", lambda a: tr.linalg.lu(a), [(4, 3)]),
    ("lu_factor wide", lambda a: tr.linalg.lu_factor(a).LU, [(3, 4)]),
    ("lu_solve", lambda a, b: tr.linalg.lu_solve(*tr.linalg.lu_factor(a), b, adjoint=True), [(3, 3), (3, 2)]),
    ("cholesky_solve", lambda b, low: tr.cholesky_solve(b, low.tril() + 3 * tr.eye(3, dtype=np.float64)),
     [(3, 2), (3, 3)]),
    ("cholesky_inverse", lambda low: tr.cholesky_inverse(low.triu() + 3 * tr.eye(3, dtype=np.float64), upper=True),
     [(3, 3)]),
    # torch 2.13's own backward of cond for these orders raises (it writes in place over inv_ex's saved output)
    *[(f"cond {p}", lambda a, p=p: tr.linalg.cond(a, p), [(2, 3, 3)]) for p in ("fro", np.inf, -np.inf, 1, -1)],
]


@pytest.mark.parametrize("name,fn,shapes", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_gradients_against_finite_differences(name, fn, shapes):
    rng = np.random.default_rng(1)
    inputs = [tr.tensor(rng.standard_normal(s) + (2 * np.eye(s[-1]) if s[-1] == s[-2] else 0), requires_grad=True)
              for s in shapes]
    weights = {}

    def loss(*xs):
        out = fn(*xs)
        out = out if isinstance(out, tuple) else (out,)
        total = 0
        for i, o in enumerate(out):
            if o.dtype.kind == "f":
                w = weights.setdefault(i, rng.standard_normal(o.shape))
                total = total + (o * tr.tensor(w)).sum()
        return total

    assert tr.gradcheck(loss, inputs)


@given(batch=st.sampled_from([(), (1,), (3,), (2, 2)]), m=st.integers(1, 5), n=st.integers(1, 5),
       seed=st.integers(0, 2 ** 16))
def test_lu_factor_any_shape_as_torch(batch, m, n, seed):
    """torch's pivots and LU for batches of any m x n (values equal to rounding), and A = P L U."""
    a = np.random.default_rng(seed).standard_normal(batch + (m, n))
    ours, theirs = tr.linalg.lu_factor_ex(tr.tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
    np.testing.assert_allclose(ours.LU.numpy(), theirs.LU.numpy(), rtol=1e-9, atol=1e-12)
    p, low, up = tr.linalg.lu(tr.tensor(a))
    np.testing.assert_allclose((p @ low @ up).numpy(), a, atol=1e-12)


@given(a_batch=st.sampled_from([(), (1,), (3,), (2, 1)]), b_batch=st.sampled_from([(), (1,), (3,), (1, 3)]),
       n=st.integers(1, 4), k=st.integers(1, 3), upper=st.booleans(), left=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_solve_triangular_broadcasts_as_torch(a_batch, b_batch, n, k, upper, left, seed):
    rng = np.random.default_rng(seed)
    a = _well(rng, a_batch + (n, n))
    b = rng.standard_normal(b_batch + ((n, k) if left else (k, n)))
    _compare(lambda x, y: tr.linalg.solve_triangular(x, y, upper=upper, left=left),
             lambda x, y: torch.linalg.solve_triangular(x, y, upper=upper, left=left), [a, b], np.float64)


@given(batch=st.sampled_from([(), (1,), (3,), (2, 2)]), n=st.integers(1, 7), small_diagonal=st.booleans(),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2 ** 16))
def test_ldl_factor_and_solve_as_torch(batch, n, small_diagonal, dtype, seed):
    """Bunch-Kaufman's pivots (2 x 2 blocks too: a small diagonal forces them) and LD as torch's, ldl_solve's X
    as torch's, float32 kept."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(batch + (n, n))
    a = a + np.swapaxes(a, -1, -2)
    if small_diagonal:
        a[..., np.arange(n), np.arange(n)] *= 0.01
    a, b = a.astype(dtype), rng.standard_normal((n, 2)).astype(dtype)
    ours, theirs = tr.linalg.ldl_factor_ex(tr.tensor(a)), torch.linalg.ldl_factor_ex(torch.tensor(a))
    assert ours.pivots.dtype == np.int64 and ours.LD.dtype == dtype
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
    np.testing.assert_allclose(ours.LD.numpy(), theirs.LD.numpy(), **TOL[dtype])
    x = tr.linalg.ldl_solve(ours.LD, ours.pivots, tr.tensor(b))
    expected = torch.linalg.ldl_solve(theirs.LD, theirs.pivots, torch.tensor(b)).numpy()
    assert x.dtype == dtype and x.shape == expected.shape
    loose = dict(rtol=1e-3, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-7, atol=1e-9)  # (ill-conditioned A)
    np.testing.assert_allclose(x.numpy(), expected, **loose)


def test_ldl_has_no_gradient_as_torch():
    """torch 2.13 has no derivative for ldl_factor or ldl_solve: both refuse at backward, in torch's words."""
    a = _spd(np.random.default_rng(5), (3, 3))
    for lib in (torch, tr):
        x = lib.tensor(a, requires_grad=True)
        with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
            lib.linalg.ldl_factor(x).LD.sum().backward()
        ld, pivots = lib.linalg.ldl_factor(x.detach())
        b = lib.ones(3, 1, dtype=x.dtype, requires_grad=True)
        with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_solve is not implemented"):
            lib.linalg.ldl_solve(ld, pivots, b).sum().backward()


def _failing_batch():
    """A batch of a good matrix and one that is singular and not positive-definite (leading minor 2)."""
    return np.stack([_spd(np.random.default_rng(2), (3, 3)), np.array([[1.0, 2, 0], [2, 4, 0], [0, 0, 1]])])


@pytest.mark.parametrize("call", [
    lambda lib, a: lib.linalg.cholesky_ex(a),
    lambda lib, a: lib.linalg.cholesky_ex(a, upper=True),
    lambda lib, a: lib.linalg.inv_ex(a),
    lambda lib, a: lib.linalg.solve_ex(a, lib.ones(3, dtype=a.dtype)),
    lambda lib, a: lib.linalg.lu_factor_ex(a),
    lambda lib, a: lib.linalg.lu(a),
], ids=["cholesky_ex", "cholesky_ex upper", "inv_ex", "solve_ex", "lu_factor_ex", "lu"])
def test_ex_forms_report_the_failing_matrix_as_torch(call):
    """info names the failing matrix as torch's does (the first zero pivot, the first minor that is not
    positive-definite), and the results are torch's (inf where it divides by zero, cholesky's partial factor)."""
    a = _failing_batch()
    ours, theirs = call(tr, tr.tensor(a)), call(torch, torch.tensor(a))
    assert len(ours) == len(theirs)
    for o, r in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), r.numpy(), rtol=1e-12, atol=1e-12)


def test_ex_forms_keep_the_good_matrices_gradients():
    a = tr.tensor(_failing_batch(), requires_grad=True)
    low, info = tr.linalg.cholesky_ex(a)
    low[0].sum().backward()
    expected = tr.tensor(_failing_batch()[0], requires_grad=True)
    tr.linalg.cholesky(expected).sum().backward()
    np.testing.assert_allclose(a.grad.numpy()[0], expected.grad.numpy())
    assert not a.grad.numpy()[1].any() and info.tolist() == [0, 2]


def test_pivots_and_infos_are_int64_with_torchs_values():
    a = np.random.default_rng(3).standard_normal((2, 4, 4))
    ours, theirs = tr.linalg.lu_factor_ex(tr.tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
    assert ours.pivots.dtype == np.int64 and ours.info.dtype == np.int64 and theirs.pivots.dtype == torch.int32
    assert ours.pivots.tolist() == theirs.pivots.tolist() and not ours.pivots.requires_grad
    assert ours._fields == ("LU", "pivots", "info") and tr.linalg.lu(tr.tensor(a))._fields == ("P", "L", "U")
    assert tr.triangular_solve(tr.ones(4, 1), tr.eye(4))._fields == ("solution", "cloned_coefficient")


def test_cholesky_rows_twin_matches_numpy():
    """The row-by-row Cholesky that cholesky_ex falls back to (a slow numpy twin of LAPACK's) gives numpy's factor
    on positive-definite matrices."""
    from tinygrad_rnn.linalg import _cholesky_rows
    a = _spd(np.random.default_rng(4), (3, 5, 5))
    low, info = _cholesky_rows(a)
    np.testing.assert_allclose(low, np.linalg.cholesky(a), rtol=1e-12, atol=1e-12)
    assert not info.any()


def test_vander_of_integers_is_int64_as_torch():
    ours, theirs = tr.linalg.vander(tr.tensor([1, 2, 3]), N=4), torch.linalg.vander(torch.tensor([1, 2, 3]), N=4)
    assert ours.dtype == np.int64 and ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("p", ["fro", np.inf, -np.inf, 1, -1])
def test_cond_of_a_singular_matrix_is_inf_as_torch(p):
    """inf where inv_ex finds a zero pivot, for the orders read through the inverse, within a batch."""
    a = np.stack([np.eye(2), [[1.0, 2.0], [2.0, 4.0]]])
    ours, theirs = tr.linalg.cond(tr.tensor(a), p).numpy(), torch.linalg.cond(torch.tensor(a), p).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert ours[1] == np.inf


def test_eig_and_eigvals_say_why_they_are_missing():
    for fn in (tr.linalg.eig, tr.linalg.eigvals):
        with pytest.raises(NotImplementedError, match="complex"):
            fn(tr.eye(2))


def _singular(lib):
    return lib.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]], dtype=lib.float64)


ERRORS = [
    ("solve_triangular B 1-D", lambda lib: lib.linalg.solve_triangular(lib.eye(2), lib.ones(2), upper=True),
     "at least 2 dimensions"),
    ("solve_triangular shapes", lambda lib: lib.linalg.solve_triangular(lib.eye(2), lib.ones(3, 1), upper=True),
     r"Incompatible shapes of A and B for the equation AX = B \(2x2 and 3x1\)"),
    ("solve_triangular not square", lambda lib: lib.linalg.solve_triangular(lib.ones(2, 3), lib.ones(2, 1),
                                                                            upper=True), "square"),
    ("solve_triangular upper missing", lambda lib: lib.linalg.solve_triangular(lib.eye(2), lib.ones(2, 1)), None),
    ("lu_factor singular", lambda lib: lib.linalg.lu_factor(_singular(lib)),
     r"\(Batch element 1\): U\[2,2\] is zero"),
    ("lu_factor_ex check_errors", lambda lib: lib.linalg.lu_factor_ex(_singular(lib), check_errors=True),
     r"lu_factor_ex: \(Batch element 1\): U\[2,2\] is zero"),
    ("lu_factor 1-D", lambda lib: lib.linalg.lu_factor(lib.ones(3)), "at least 2 dimensions"),
    ("lu_factor pivot=False", lambda lib: lib.linalg.lu_factor(lib.eye(2), pivot=False), "without pivoting"),
    ("lu_solve shapes", lambda lib: lib.linalg.lu_solve(*lib.linalg.lu_factor(lib.eye(2)), lib.ones(3, 1)),
     r"\(2x2 and 3x1\)"),
    ("inv singular", lambda lib: lib.linalg.inv(_singular(lib)),
     r"linalg.inv: \(Batch element 1\): The diagonal element 2 is zero"),
    ("inv_ex check_errors", lambda lib: lib.linalg.inv_ex(_singular(lib), check_errors=True),
     r"inv_ex: \(Batch element 1\): The diagonal element 2 is zero"),
    ("solve singular", lambda lib: lib.linalg.solve(_singular(lib), lib.ones(2, dtype=lib.float64)),
     r"\(Batch element 1\): The solver failed because the input matrix is singular"),
    ("solve_ex check_errors", lambda lib: lib.linalg.solve_ex(_singular(lib)[1], lib.ones(2, dtype=lib.float64),
                                                              check_errors=True), "solve_ex: The solver failed"),
    ("cholesky not PD", lambda lib: lib.linalg.cholesky(_singular(lib)),
     r"\(Batch element 1\): The factorization could not be completed .* leading minor of order 2"),
    ("cholesky_ex check_errors", lambda lib: lib.linalg.cholesky_ex(-lib.eye(2), check_errors=True),
     r"cholesky_ex: The factorization could not be completed .* order 1 is not positive-definite"),
    ("cholesky_solve shapes", lambda lib: lib.cholesky_solve(lib.ones(3, 1), lib.eye(2)),
     "Incompatible matrix sizes for cholesky_solve: each A matrix is 2 by 2 but each b matrix is 3 by 1"),
    ("tensorinv ind", lambda lib: lib.linalg.tensorinv(lib.ones(2, 2), ind=0), "strictly positive integer"),
    ("tensorinv shape", lambda lib: lib.linalg.tensorinv(lib.ones(2, 3, 6), ind=1), "but got 18 != 2"),
    ("tensorsolve shape", lambda lib: lib.linalg.tensorsolve(lib.ones(2, 3, 6), lib.ones(5)), "but got 18 != 5"),
    ("vander N", lambda lib: lib.linalg.vander(lib.ones(3), N=1), "N must be greater than 1"),
    ("vander N float", lambda lib: lib.linalg.vander(lib.ones(3), N=1.5), "must be int"),
    ("vander bool", lambda lib: lib.linalg.vander(lib.ones(3) > 0), "got Bool"),
    ("ldl_factor not square", lambda lib: lib.linalg.ldl_factor(lib.ones(2, 3)),
     "A must be batches of square matrices, but they are 2 by 3 matrices"),
    ("ldl_factor 1-D", lambda lib: lib.linalg.ldl_factor(lib.ones(3)), "at least 2 dimensions"),
    ("ldl_factor singular", lambda lib: lib.linalg.ldl_factor(lib.zeros(2, 2)), None),
    ("ldl_solve shapes", lambda lib: lib.linalg.ldl_solve(*lib.linalg.ldl_factor(lib.eye(2)), lib.ones(3, 1)),
     "each A matrix is 2 by 2 but each b matrix is 3 by 1"),
    ("ldl_solve B 1-D", lambda lib: lib.linalg.ldl_solve(*lib.linalg.ldl_factor(lib.eye(2)), lib.ones(2)),
     "Dimension out of range"),
    ("ldl_solve dtypes", lambda lib: lib.linalg.ldl_solve(*lib.linalg.ldl_factor(lib.eye(2)),
                                                          lib.ones(2, 1, dtype=lib.float64)), "same dtype"),
    ("cond order", lambda lib: lib.linalg.cond(lib.eye(2), 3), "invalid norm type: 3"),
    ("cond order name", lambda lib: lib.linalg.cond(lib.eye(2), "abc"), "invalid norm type: abc"),
    ("cond fro not square", lambda lib: lib.linalg.cond(lib.ones(2, 3), "fro"),
     r"cond\(ord=fro\): A must be batches of square matrices"),
]


@pytest.mark.parametrize("name,call,words", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_as_torch(name, call, words):
    """torch's exception type (its LinAlgError: ours, a RuntimeError as torch's) in torch's words."""
    expected = type(torch_error(lambda: call(torch)))
    if issubclass(expected, torch.linalg.LinAlgError):
        expected = tr.linalg.LinAlgError
    with pytest.raises(expected, match=words):
        call(tr)


def test_singular_errors_are_linalg_errors_as_torchs():
    for call in (lambda lib: lib.linalg.inv_ex(_singular(lib), check_errors=True),
                 lambda lib: lib.linalg.cholesky_ex(-lib.eye(2), check_errors=True)):
        with pytest.raises(torch.linalg.LinAlgError):
            call(torch)
        with pytest.raises(tr.linalg.LinAlgError):
            call(tr)
