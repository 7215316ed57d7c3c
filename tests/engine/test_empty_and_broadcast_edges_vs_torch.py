"""What bench/opinfo_probe.py found in session 30 (torch 2.13's OpInfo samples), held against torch: aminmax over a
dim of size > 0 of an empty tensor (was refused) and over the empty dim (torch's IndexError); cov and corrcoef of
a single row (0-d, was (1, 1)); linalg.vander of a 0-d x ((1, N), was (N,)); quantile and nanquantile of a 0-d
input along dim 0 (0-d with keepdim too, was (1,)); searchsorted of (0, 0) and (0, n) sequences and
unique_consecutive along a dim of an empty tensor (numpy's reshape error before); masked_scatter with a mask
larger than self (self broadcast, gradient summed back; masked_scatter_ refused, as torch's); group_norm of a batch
of 0 (was refused); quantile and nanquantile of a q that requires grad (linear: torch's gradient to q, was none)."""
import numpy as np
import pytest
from conftest import outcome

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

CASES = {
    "aminmax dim 0 of (5, 0, 5)": lambda L: L.zeros(5, 0, 5).aminmax(dim=0)[1],
    "aminmax dim -1 of (5, 0, 5), keepdim": lambda L: L.zeros(5, 0, 5).aminmax(dim=-1, keepdim=True)[0],
    "aminmax over the empty dim": lambda L: L.zeros(5, 0, 5).aminmax(dim=1)[0],
    "aminmax of all of an empty tensor": lambda L: L.zeros(5, 0, 5).aminmax()[0],
    "cov of one row": lambda L: L.tensor([[1.0, 3.0, 4.0]]).cov(),
    "cov of one row, correction 0": lambda L: L.tensor([[1.0, 3.0, 4.0]], dtype=L.float64).cov(correction=0),
    "corrcoef of one row": lambda L: L.tensor([[1.0, 3.0]]).corrcoef(),
    "cov of two rows": lambda L: L.tensor([[1.0, 3.0, 4.0], [2.0, 0.5, 1.0]]).cov(),
    "vander of a 0-d x": lambda L: L.linalg.vander(L.tensor(2.0), N=3),
    "vander of a 1-D x": lambda L: L.linalg.vander(L.tensor([2.0, 3.0])),
    "quantile of a 0-d input, dim 0": lambda L: L.tensor(2.0).quantile(0.5, dim=0),
    "quantile of a 0-d input, keepdim": lambda L: L.tensor(2.0).quantile(0.5, dim=0, keepdim=True),
    "quantile of a 0-d input, two levels": lambda L: L.tensor(2.0).quantile(L.tensor([0.5, 0.2]), dim=-1),
    "nanquantile of a 0-d input": lambda L: L.tensor(2.0, dtype=L.float64).nanquantile(0.3, dim=0, keepdim=True),
    "searchsorted (0, 0) in (0, 0)": lambda L: L.searchsorted(L.zeros(0, 0), L.zeros(0, 0)),
    "searchsorted (0, 2) in (0, 3)": lambda L: L.searchsorted(L.zeros(0, 3), L.zeros(0, 2)),
    "searchsorted (2, 3) in (2, 0)": lambda L: L.searchsorted(L.zeros(2, 0), L.ones(2, 3), right=True),
    "unique_consecutive along the empty dim": lambda L: L.zeros(5, 0, 5).unique_consecutive(dim=1),
    "unique_consecutive's inverse along it": lambda L: L.zeros(5, 0, 5).unique_consecutive(
        dim=1, return_inverse=True)[1],
    "unique_consecutive's counts along it": lambda L: L.zeros(0, 3).unique_consecutive(dim=0, return_counts=True)[1],
    "unique_consecutive along a dim beside an empty one": lambda L: L.zeros(5, 0, 5).unique_consecutive(dim=0),
    "unique_consecutive of all of an empty tensor": lambda L: L.zeros(5, 0, 5).unique_consecutive(),
    "masked_scatter_ of a smaller self": lambda L: L.zeros(5).masked_scatter_(L.ones(5, 5, dtype=L.bool),
                                                                              L.zeros(5, 5)),
    "group_norm of a batch of 0": lambda L: L.nn.functional.group_norm(L.zeros(0, 4, 3), 2, L.ones(4), L.zeros(4)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_values_shapes_dtypes_and_errors_as_torchs(case):
    theirs, ours = outcome(lambda: CASES[case](torch)), outcome(lambda: CASES[case](tr))
    if isinstance(theirs, type):
        assert ours is theirs or (isinstance(ours, type) and issubclass(ours, theirs)), (ours, theirs)
        return
    assert not isinstance(ours, type), ours
    assert ours[1] == theirs[1] and ours[0].shape == theirs[0].shape
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masked_scatter_broadcasts_self_to_the_mask_with_torchs_gradients(dtype):
    rng = np.random.default_rng(0)
    mask, g = rng.random((4, 5)) > 0.5, rng.standard_normal((4, 5)).astype(dtype)
    results = []
    for lib in (torch, tr):
        x = lib.tensor(rng.standard_normal(5).astype(dtype) if lib is torch else results[0][3], requires_grad=True)
        src = lib.tensor(np.arange(20.0, dtype=dtype).reshape(4, 5), requires_grad=True)
        y = x.masked_scatter(lib.tensor(mask), src)
        y.backward(lib.tensor(g))
        results.append((y.detach().numpy(), x.grad.numpy(), src.grad.numpy(), x.detach().numpy()))
    for got, want in zip(results[1], results[0], strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_group_norm_of_a_batch_of_0_has_torchs_shape_and_empty_gradients():
    for lib in (torch, tr):
        x = lib.zeros(0, 4, 3, requires_grad=True)
        w = lib.ones(4, requires_grad=True)
        y = lib.nn.functional.group_norm(x, 2, w)
        y.sum().backward()
        assert tuple(y.shape) == (0, 4, 3) and tuple(x.grad.shape) == (0, 4, 3)
        np.testing.assert_array_equal(w.grad.numpy(), np.zeros(4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [1, None])
@pytest.mark.parametrize("q", [[0.3, 0.8], 0.45], ids=["1-D q", "0-d q"])
@pytest.mark.parametrize("fn", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", ["linear", "lower", "midpoint"])
def test_quantile_of_a_q_that_requires_grad_gives_it_torchs_gradient(fn, q, dim, dtype, interpolation):
    """The linear interpolation's weight depends on q: torch's gradient reaches q (0 from a slice whose result is
    NaN); the other interpolations give q none, as torch's."""
    xs = np.array([[1.0, 5.0, 2.0, np.nan], [3.0, 0.0, 7.0, 4.0]], dtype)
    results = []
    for lib in (torch, tr):
        kind = getattr(lib, np.dtype(dtype).name)
        x, qt = lib.tensor(xs, requires_grad=True), lib.tensor(q, dtype=kind, requires_grad=True)
        y = getattr(lib, fn)(x, qt, dim=dim, interpolation=interpolation)
        y.backward(lib.ones(y.shape, dtype=kind))
        results.append([y.detach().numpy(), None if qt.grad is None else qt.grad.numpy(), x.grad.numpy()])
    for got, want in zip(results[1], results[0], strict=True):
        if want is None:
            assert got is None
            continue
        np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
