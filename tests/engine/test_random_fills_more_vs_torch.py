"""The random fills random_, cauchy_, log_normal_ and geometric_ against torch 2.13: the dtypes each takes and
keeps, the ranges (random_'s forms and its dtype-wide default), torch's refusals of bad parameters and dtypes, a
leaf that requires grad refused as torch refuses it; the draws by their distribution (numpy's generator, not
torch's numbers): quantiles and moments from fixed seeds."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

N = 20000


def _pair(dtype, n=N):
    return tr.zeros(n, dtype=dtype), torch.zeros(n, dtype={np.float32: torch.float32, np.float64: torch.float64,
                                                           np.int64: torch.int64, np.bool_: torch.bool}[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_random_draws_in_torchs_ranges(dtype):
    tr.manual_seed(0)
    x, t = _pair(dtype)
    forms = [(), (2,)] if dtype == np.bool_ else [(), (7,), (-3, 4), (5, 6)]
    for args in forms:
        ours, theirs = x.clone().random_(*args), t.clone().random_(*args)
        assert ours.dtype == dtype and str(theirs.dtype).replace("torch.", "") == np.dtype(dtype).name
        o, th = ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64)
        if args:   # torch's own draws fill the same integers of the same range
            assert set(np.unique(o)) == set(np.unique(th)) == set(range(*(args if len(args) == 2 else (0, args[0]))))
        else:      # the dtype-wide range: the same bounds, spread over it
            assert o.min() >= 0 and th.min() >= 0 and o.max() <= th.max() * 1.01 + 1 and o.max() >= th.max() * 0.99
    raises_as_torch(lambda: t.clone().random_(5, 2), lambda: x.clone().random_(5, 2), "from' to be less than 'to")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cauchy_log_normal_and_geometric_draws_by_their_distribution(dtype):
    tr.manual_seed(1)
    x, _ = _pair(dtype)
    c = x.clone().cauchy_(2.0, 0.5).numpy()
    assert c.dtype == dtype
    np.testing.assert_allclose(np.quantile(c, [0.25, 0.5, 0.75]), [1.5, 2.0, 2.5], atol=0.05)   # median -+ sigma
    ln = x.clone().log_normal_(0.5, 0.25).numpy()
    assert ln.dtype == dtype and ln.min() > 0
    np.testing.assert_allclose([np.log(ln).mean(), np.log(ln).std()], [0.5, 0.25], atol=0.01)
    assert x.clone().log_normal_().numpy().min() > 0   # torch's defaults, mean 1, std 2
    g = x.clone().geometric_(0.25).numpy()
    assert g.dtype == dtype and g.min() >= 1 and np.all(g == np.round(g))
    np.testing.assert_allclose(g.mean(), 4.0, rtol=0.03)
    gi = tr.zeros(N, dtype=tr.int64).geometric_(0.5).numpy()
    assert gi.dtype == np.int64 and gi.min() >= 1
    np.testing.assert_allclose(gi.mean(), 2.0, rtol=0.03)


def test_bad_parameters_and_dtypes_are_refused_as_torch():
    x, t = _pair(np.float32, 3)
    xi, ti = _pair(np.int64, 3)
    xb, tb = _pair(np.bool_, 3)
    raises_as_torch(lambda: t.cauchy_(0, -1), lambda: x.cauchy_(0, -1), "sigma > 0.0")
    raises_as_torch(lambda: t.log_normal_(0, -1), lambda: x.log_normal_(0, -1), "std > 0.0")
    for p in (0, 1.5):
        raises_as_torch(lambda p=p: t.geometric_(p), lambda p=p: x.geometric_(p), r"p to be in \(0, 1\)")
    raises_as_torch(lambda: ti.cauchy_(), lambda: xi.cauchy_())
    raises_as_torch(lambda: ti.log_normal_(), lambda: xi.log_normal_())
    raises_as_torch(lambda: tb.geometric_(0.5), lambda: xb.geometric_(0.5))


def test_a_leaf_that_requires_grad_is_refused_and_no_grad_fills_it_as_torch():
    x, t = tr.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    for name, args in (("random_", (0, 5)), ("cauchy_", ()), ("log_normal_", ()), ("geometric_", (0.5,))):
        raises_as_torch(lambda n=name, a=args: getattr(t, n)(*a), lambda n=name, a=args: getattr(x, n)(*a),
                        "leaf Variable")
        with tr.no_grad():
            getattr(x, name)(*args)
        assert x.requires_grad and x._version >= 1
