"""The compiled LU, LDL^T and triangular solves (kernels/factorizations.py) held to their slow numpy twins
(triangular._lu_numpy, _solve_tri_numpy, _permutation_rows_numpy; ldl._sytf2_numpy, _sytrs_numpy) bit for bit:
float32 and float64, batches, wide and tall matrices, ties, singular, ill-conditioned and non-finite inputs, the
same pivots and infos; also compiled off (NUMBA_DISABLE_JIT=1, in a process of its own). Then tr.linalg at
n = 100..300 against torch 2.13, whose MKL factorizations are blocked: the same pivots, values equal to rounding;
cholesky_ex's factor of a matrix that is not positive-definite equal to torch's in its first `info` rows (below
them torch's depends on its thread count: docs/reference/linalg.md); empty matrices as torch's."""
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, torch_error

import tinygrad_rnn as tr
from tinygrad_rnn.kernels import factorizations
from tinygrad_rnn.ldl import _sytf2_numpy, _sytrs_numpy
from tinygrad_rnn.triangular import _lu_numpy, _permutation_rows_numpy, _solve_tri_numpy

DTYPES = [np.float32, np.float64]
KINDS = ["normal", "ties", "singular", "ill-conditioned", "non-finite"]


@pytest.fixture(autouse=True)
def _quiet_numpy():
    """The twins divide by zero and multiply inf by 0 where the inputs ask for it, as LAPACK does, silently."""
    with np.errstate(all="ignore"):
        yield


def _same(ours, twin):
    assert ours.dtype == twin.dtype and ours.shape == twin.shape
    np.testing.assert_array_equal(ours, twin)   # NaN where NaN is


def _matrices(kind, shape, dtype, seed=0):
    """Matrices of one kind: normal; small integers (ties in |a| everywhere); singular (a zero column and a column
    the sum of two others); ill-conditioned (rows scaled 1e-30..1e30, Hilbert-like); non-finite (an inf, a NaN)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if a.size == 0 or shape[-1] < 2:
        return a.astype(dtype)
    if kind == "ties":
        a = rng.integers(-2, 3, shape).astype(float)
    elif kind == "singular":
        a[..., :, -1] = a[..., :, 0] + a[..., :, 1]
        a[..., :, 1] = 0
    elif kind == "ill-conditioned":
        i = np.arange(shape[-2])[:, None]
        a = a * 10.0 ** np.linspace(-30, 30, shape[-2])[:, None] / (i + np.arange(shape[-1]) + 1)
    elif kind == "non-finite":
        a.reshape(-1)[3] = np.inf
        a.reshape(-1)[-5] = np.nan
    return a.astype(dtype)


def _symmetric(kind, shape, dtype, seed=0):
    """Symmetric matrices whose small diagonal makes Bunch-Kaufman pick 2 x 2 blocks too."""
    a = _matrices(kind, shape, dtype, seed)
    a = a + np.swapaxes(a, -1, -2)
    if kind != "ties":
        a[..., np.arange(shape[-1]), np.arange(shape[-1])] *= 0.05
    return a.astype(dtype)


# ----------------------------------------------------------------------------- the kernels and their twins
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(3, 9, 9), (2, 5, 8), (2, 8, 5), (33, 33), (2, 40, 75), (2, 75, 40), (0, 4, 4),
                                   (1, 0, 0)])
def test_lu_kernel_equals_its_twin(shape, kind, dtype):
    a = _matrices(kind, shape, dtype)
    for ours, twin in zip(factorizations.lu_factor(a), _lu_numpy(a)):
        _same(ours, twin)


@pytest.mark.parametrize("dtype", DTYPES)
def test_lu_kernel_reports_zero_pivots_as_its_twin(dtype):
    """A zero pivot's column is left undivided and info is its first index, per matrix of the batch."""
    a = _matrices("singular", (4, 6, 6), dtype)
    a[1] = 0
    a[2, :, 3] = 0
    lu, pivots, info = factorizations.lu_factor(a)
    assert info.tolist() == _lu_numpy(a)[2].tolist() and info.all()
    _same(lu, _lu_numpy(a)[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "singular", "non-finite"])
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("a_batch,b_batch", [((), ()), ((2, 1), (3,)), ((3,), ())])
def test_triangular_solve_kernel_equals_its_twin(a_batch, b_batch, unit, upper, kind, dtype):
    n = 11
    a = _matrices(kind, a_batch + (n, n), dtype) + (n * np.eye(n, dtype=dtype) if kind == "normal" else 0)
    b = _matrices("normal", b_batch + (n, 3), dtype, seed=1)
    _same(factorizations.solve_triangular(a, b, upper, unit), _solve_tri_numpy(a, b, upper, unit))


@pytest.mark.parametrize("dtype", DTYPES)
def test_triangular_solve_kernel_with_a_zero_diagonal_equals_its_twin(dtype):
    a = _matrices("normal", (2, 7, 7), dtype)
    a[0, 3, 3] = 0
    b = _matrices("normal", (2, 7, 2), dtype, seed=2)
    for upper in (False, True):
        x = factorizations.solve_triangular(a, b, upper, False)
        assert not np.isfinite(x[0]).all()
        _same(x, _solve_tri_numpy(a, b, upper))


def test_permutation_kernel_equals_its_twin():
    pivots = factorizations.lu_factor(_matrices("ties", (5, 9, 7), np.float64))[1]
    _same(factorizations.permutation_rows(pivots, 9), _permutation_rows_numpy(pivots, 9))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [1, 2, 9, 30])
def test_ldl_kernels_equal_their_twins(n, kind, dtype):
    a = _symmetric(kind, (4, n, n), dtype)
    if kind == "singular":
        a[1, 2 % n, :] = a[1, :, 2 % n] = 0                 # a zero row and column: D singular
    ld, pivots, info = factorizations.ldl_factor(a)
    b = _matrices("normal", (4, n, 2), dtype, seed=3)
    x, fits = factorizations.ldl_solve(ld, pivots, b)
    assert fits.all()
    for i in range(4):
        twin_ld, twin_pivots, twin_info = _sytf2_numpy(a[i])
        _same(ld[i], twin_ld)
        _same(pivots[i], twin_pivots)
        assert info[i] == twin_info
        _same(x[i], _sytrs_numpy(twin_ld, twin_pivots, b[i]))


def test_ldl_kernel_chooses_two_by_two_blocks_and_reports_a_singular_d():
    """The cases above reach both block sizes and a zero 1 x 1 block (or the twins would not be tested there)."""
    a = _symmetric("normal", (4, 30, 30), np.float64)
    a[1, 2, :] = a[1, :, 2] = 0
    _, pivots, info = factorizations.ldl_factor(a)
    assert (pivots < 0).any() and (pivots > 0).any() and info[1] != 0


def test_kernels_compiled_off_equal_the_twins():
    """Under NUMBA_DISABLE_JIT=1 the kernels are plain Python functions, with the same results."""
    script = """if True:
        import types
        import numpy as np
        from tinygrad_rnn.kernels import factorizations as f
        from tinygrad_rnn.ldl import _sytf2_numpy, _sytrs_numpy
        from tinygrad_rnn.triangular import _lu_numpy, _solve_tri_numpy
        assert isinstance(f._lu_one, types.FunctionType)
        rng = np.random.default_rng(0)
        a = rng.standard_normal((2, 6, 6)).astype(np.float32)
        b = rng.standard_normal((2, 6, 2)).astype(np.float32)
        assert all(np.array_equal(x, y) for x, y in zip(f.lu_factor(a), _lu_numpy(a)))
        assert np.array_equal(f.solve_triangular(a, b, True, False), _solve_tri_numpy(a, b, True))
        s = a[0] + a[0].T
        ld, pivots, info = f.ldl_factor(s)
        assert all(np.array_equal(x, y) for x, y in zip((ld, pivots), _sytf2_numpy(s)[:2]))
        assert np.array_equal(f.ldl_solve(ld[None], pivots[None], b[:1])[0][0], _sytrs_numpy(ld, pivots, b[0]))
        print("ok")
    """
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=REPO)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


# ----------------------------------------------------------------------------- larger n against torch
def _rounding(dtype, n, reference):
    """What two orders of the same arithmetic may differ by: a few n eps of the largest entry."""
    return 10 * n * np.finfo(dtype).eps * np.abs(np.asarray(reference)).max()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [100, 300])
def test_lu_and_ldl_at_larger_n_as_torch(n, dtype):
    """torch's (MKL's) blocked getrf and sytrf: the same pivots as the unblocked getf2 and sytf2, values within
    rounding."""
    torch = pytest.importorskip("torch")
    a = _matrices("normal", (n, n), dtype, seed=n)
    ours, theirs = tr.linalg.lu_factor(tr.tensor(a)), torch.linalg.lu_factor(torch.tensor(a))
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    np.testing.assert_allclose(ours.LU.numpy(), theirs.LU.numpy(), rtol=0, atol=_rounding(dtype, n, theirs.LU))
    s = a + a.T
    ours, theirs = tr.linalg.ldl_factor(tr.tensor(s)), torch.linalg.ldl_factor(torch.tensor(s))
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    assert (ours.pivots.numpy() < 0).any()
    expected = np.tril(theirs.LD.numpy())
    np.testing.assert_allclose(ours.LD.numpy(), expected, rtol=0, atol=_rounding(dtype, n, expected))


@pytest.mark.parametrize("dtype", DTYPES)
def test_solves_at_larger_n_as_torch(dtype):
    torch = pytest.importorskip("torch")
    n = 200
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((2, n, n)) + n * np.eye(n)).astype(dtype)
    b = rng.standard_normal((2, n, 3)).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    for upper in (False, True):
        ours = tr.linalg.solve_triangular(tr.tensor(a), tr.tensor(b), upper=upper).numpy()
        theirs = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=upper).numpy()
        np.testing.assert_allclose(ours, theirs, **tol)
    ours = tr.linalg.lu_solve(*tr.linalg.lu_factor(tr.tensor(a)), tr.tensor(b)).numpy()
    theirs = torch.linalg.lu_solve(*torch.linalg.lu_factor(torch.tensor(a)), torch.tensor(b)).numpy()
    np.testing.assert_allclose(ours, theirs, **tol)
    s = a + np.swapaxes(a, -1, -2)
    ours = tr.linalg.ldl_solve(*tr.linalg.ldl_factor(tr.tensor(s)), tr.tensor(b)).numpy()
    theirs = torch.linalg.ldl_solve(*torch.linalg.ldl_factor(torch.tensor(s)), torch.tensor(b)).numpy()
    np.testing.assert_allclose(ours, theirs, **tol)


@pytest.mark.parametrize("threads", [1, 2])
def test_cholesky_ex_of_a_failing_matrix_at_larger_n_as_torch_in_its_first_info_rows(threads):
    """Above LAPACK's block size torch's factor of a matrix that is not positive-definite differs from the unblocked
    one below its failing row (by torch's thread count: docs/reference/linalg.md); its first `info` rows, the
    failing minor's non-positive value last, agree."""
    torch = pytest.importorskip("torch")
    n, failing = 200, 160
    rng = np.random.default_rng(0)
    m = rng.standard_normal((n, n))
    a = m @ m.T + n * np.eye(n)
    a[failing, failing] = -1
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        theirs, their_info = torch.linalg.cholesky_ex(torch.tensor(a))
    finally:
        torch.set_num_threads(before)
    ours, info = tr.linalg.cholesky_ex(tr.tensor(a))
    assert int(info) == int(their_info) == failing + 1
    np.testing.assert_allclose(ours.numpy()[:failing + 1], theirs.numpy()[:failing + 1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 0, 0), (0, 0), (3, 0), (0, 4)])
def test_empty_matrices_as_torch(shape):
    """lu_factor_ex, lu and ldl_factor_ex of matrices with no rows or columns (a ValueError from numpy before)."""
    torch = pytest.importorskip("torch")
    calls = [lambda lib, x: lib.linalg.lu_factor_ex(x), lambda lib, x: lib.linalg.lu(x)]
    if shape[-1] == shape[-2]:
        calls.append(lambda lib, x: lib.linalg.ldl_factor_ex(x))
    for call in calls:
        ours, theirs = call(tr, tr.zeros(shape)), call(torch, torch.zeros(shape))
        assert [tuple(o.shape) for o in ours] == [tuple(t.shape) for t in theirs]


@pytest.mark.parametrize("bad", [[0, 2, 3], [4, 2, 3], [-1, 2, 3]])
def test_lu_pivots_out_of_range_refused_as_torch(bad):
    """The compiled permutation reads only rows in range: pivots outside [1, m] are refused first, in torch's words
    (an IndexError or a silent result before)."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 3))
    b = np.ones((3, 1))
    theirs = torch.linalg.lu_factor(torch.tensor(a)).LU
    ours = tr.linalg.lu_factor(tr.tensor(a)).LU
    for call in (lambda lib, lu, p: lib.lu_unpack(lu, p),
                 lambda lib, lu, p: lib.linalg.lu_solve(lu, p, lib.tensor(b))):
        expected = torch_error(lambda call=call: call(torch, theirs, torch.tensor(bad, dtype=torch.int32)))
        with pytest.raises(type(expected)) as raised:
            call(tr, ours, tr.tensor(bad))
        assert str(raised.value) == str(expected)


@pytest.mark.parametrize("bad", [[0, 2, 3], [4, 2, 3], [-4, -4, 3]])
def test_ldl_pivots_out_of_range_refused_as_torch(bad):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 3))
    a = a + a.T
    theirs = torch.linalg.ldl_factor(torch.tensor(a)).LD
    ours = tr.linalg.ldl_factor(tr.tensor(a)).LD
    expected = torch_error(lambda: torch.linalg.ldl_solve(theirs, torch.tensor(bad, dtype=torch.int32),
                                                          torch.ones(3, 1, dtype=torch.float64)))
    with pytest.raises(type(expected)) as raised:
        tr.linalg.ldl_solve(ours, tr.tensor(bad), tr.ones(3, 1, dtype=tr.float64))
    assert str(raised.value) == str(expected)


def test_ldl_pivots_ending_in_half_a_block_refused():
    """A negative pivot on the last row starts a 2 x 2 block with no second row: torch's LAPACK reads past the
    matrix there (garbage or a crash, so it is not called here); ours refuses with a RuntimeError."""
    a = np.random.default_rng(0).standard_normal((3, 3))
    ld = tr.linalg.ldl_factor(tr.tensor(a + a.T)).LD
    with pytest.raises(RuntimeError, match="not the pivots of ldl_factor"):
        tr.linalg.ldl_solve(ld, tr.tensor([1, 2, -3]), tr.ones(3, 1, dtype=tr.float64))
