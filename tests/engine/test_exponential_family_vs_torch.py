"""tr.distributions.ExponentialFamily against torch.distributions.ExponentialFamily (torch 2.13): the same families
derive from it; its Bregman entropy equals the closed forms and torch's; the generic KL between two members of a
family (torch's _kl_expfamily_expfamily) equals the closed-form KLs and torch's, with torch's gradients in q's
parameters; Wishart-Wishart (only the generic form in torch) and the cross-family NotImplementedError as torch's;
a family defined by a user gets torch's entropy and KL."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tests.conftest import raises_as_torch
from tinygrad_rnn.distributions.kl import _kl_expfamily_expfamily

torch = pytest.importorskip("torch")
from torch.distributions.kl import _kl_expfamily_expfamily as torch_kl_expfamily  # noqa: E402

RNG = np.random.default_rng(3)
POS, POS2, UNIT = RNG.uniform(0.5, 3.0, (3,)), RNG.uniform(0.5, 3.0, (3,)), RNG.uniform(0.1, 0.9, (3,))
REAL = RNG.standard_normal(3)
W = RNG.standard_normal((2, 3, 2))
COV = W @ W.transpose(0, 2, 1) + np.eye(3)


def D(lib):
    return lib.distributions


def t_of(lib, array, dtype, grad=False):
    array = np.array(array, dtype)
    return torch.tensor(array, requires_grad=grad) if lib is torch else tr.tensor(array, requires_grad=grad)


# name: (make(lib, *params), the parameters of p, of q)
FAMILIES = {
    "Normal": (lambda lib, m, s: D(lib).Normal(m, s), [REAL, POS], [REAL[::-1].copy(), POS2]),
    "Exponential": (lambda lib, r: D(lib).Exponential(r), [POS], [POS2]),
    "Gamma": (lambda lib, a, r: D(lib).Gamma(a, r), [POS, POS2], [POS2, POS]),
    "Chi2": (lambda lib, df: D(lib).Chi2(df), [POS], [POS2]),
    "Beta": (lambda lib, a, b: D(lib).Beta(a, b), [POS, POS2], [POS2, POS]),
    "Dirichlet": (lambda lib, a: D(lib).Dirichlet(a), [np.stack([POS, POS2])], [np.stack([POS2, POS])]),
    "Bernoulli": (lambda lib, p: D(lib).Bernoulli(p), [UNIT], [UNIT[::-1].copy()]),
    "ContinuousBernoulli": (lambda lib, p: D(lib).ContinuousBernoulli(p), [np.array([0.2, 0.4995, 0.8])], [UNIT]),
    "Poisson": (lambda lib, r: D(lib).Poisson(r), [POS], [POS2]),
    "Wishart": (lambda lib, df, c: D(lib).Wishart(df, c), [np.array([4.0, 5.5]), COV],
                [np.array([6.0, 3.5]), COV[::-1].copy()]),
}


def _made(lib, name, which, dtype, grad=False):
    make, p_params, q_params = FAMILIES[name]
    params = [t_of(lib, a, dtype, grad) for a in (p_params if which == "p" else q_params)]
    return make(lib, *params), params


def test_the_families_torch_derives_from_exponential_family_derive_from_ours():
    for name in torch.distributions.__all__:
        theirs = getattr(torch.distributions, name)
        if isinstance(theirs, type) and hasattr(tr.distributions, name):
            ours = getattr(tr.distributions, name)
            assert issubclass(ours, tr.distributions.ExponentialFamily) == issubclass(
                theirs, torch.distributions.ExponentialFamily), name
    d = tr.distributions.Normal(0.0, 1.0)
    assert isinstance(d, tr.distributions.ExponentialFamily) and isinstance(d, tr.distributions.Distribution)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_bregman_entropy_is_the_closed_form_and_torchs(name, dtype):
    ours, _ = _made(tr, name, "p", dtype)
    theirs, _ = _made(torch, name, "p", dtype)
    try:
        expected = torch.distributions.ExponentialFamily.entropy(theirs)
    except NotImplementedError:   # Beta, Dirichlet, Poisson: torch gives no _mean_carrier_measure
        with pytest.raises(NotImplementedError):
            tr.distributions.ExponentialFamily.entropy(ours)
        return
    got = tr.distributions.ExponentialFamily.entropy(ours)
    rtol = 1e-10 if dtype == np.float64 else 2e-5
    assert got.dtype == dtype and got.shape == tuple(expected.shape)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(got.detach().numpy(), ours.entropy().detach().numpy(), rtol=rtol, atol=rtol)
    assert got.requires_grad == expected.requires_grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_generic_kl_is_torchs_and_the_closed_form_with_torchs_gradients(name, dtype):
    results = {}
    for lib, generic in ((tr, _kl_expfamily_expfamily), (torch, torch_kl_expfamily)):
        p, p_params = _made(lib, name, "p", dtype, grad=True)
        q, q_params = _made(lib, name, "q", dtype, grad=True)
        kl = generic(p, q)
        kl.sum().backward()
        closed = lib.distributions.kl_divergence(p, q)
        results[lib] = (kl.detach().numpy(), closed.detach().numpy(),
                        [None if t.grad is None else t.grad.numpy() for t in p_params + q_params])
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    (kl, closed, grads), (kl_t, _, grads_t) = results[tr], results[torch]
    np.testing.assert_allclose(kl, kl_t, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(kl, closed, rtol=rtol, atol=rtol)   # (Wishart's closed form is the generic one)
    for g, g_t in zip(grads, grads_t):
        assert (g is None) == (g_t is None)   # none reaches p's parameters, as torch's
        if g is not None:
            np.testing.assert_allclose(g, g_t, rtol=rtol, atol=rtol)


def test_kl_between_two_exponential_families_is_torchs_not_implemented_error():
    pairs = [("Bernoulli", "Normal"), ("Poisson", "Gamma"), ("Wishart", "Dirichlet"), ("Normal", "Poisson")]
    for a, b in pairs:
        def kl(lib, a=a, b=b):
            return lib.distributions.kl_divergence(_made(lib, a, "p", np.float64)[0], _made(lib, b, "q", np.float64)[0])
        raises_as_torch(lambda kl=kl: kl(torch), lambda kl=kl: kl(tr), "cross KL-divergence between different")


def test_generic_entropy_under_no_grad_is_torchs_runtime_error():
    make = FAMILIES["Normal"][0]
    with torch.no_grad(), tr.no_grad():
        raises_as_torch(lambda: torch.distributions.ExponentialFamily.entropy(make(torch, 0.0, 1.0)),
                        lambda: tr.distributions.ExponentialFamily.entropy(make(tr, 0.0, 1.0)), "grad")


def _unit_normal_family(lib):
    """N(theta, 1) written as a user's exponential family: theta, F = theta^2 / 2, E[k] = -(theta^2 + 1) / 2 -
    log sqrt(2 pi) (a carrier measure that depends on the parameter: entropy's gradient flows through it)."""
    class UnitNormal(lib.distributions.ExponentialFamily):
        arg_constraints = {}

        def __init__(self, loc):
            self.loc = loc
            super().__init__(tuple(loc.shape), (), validate_args=False)

        _natural_params = property(lambda self: (self.loc,))
        _mean_carrier_measure = property(lambda self: -(self.loc ** 2 + 1) / 2 - 0.5 * np.log(2 * np.pi))

        def _log_normalizer(self, x):
            return x ** 2 / 2
    return UnitNormal


def test_a_users_family_gets_torchs_entropy_and_kl():
    results = {}
    for lib in (tr, torch):
        family = _unit_normal_family(lib)
        loc, loc2 = t_of(lib, REAL, np.float64, True), t_of(lib, POS, np.float64, True)
        entropy = family(loc).entropy()
        kl = lib.distributions.kl_divergence(family(loc), family(loc2))
        (entropy.sum() + kl.sum()).backward()
        results[lib] = [entropy.detach().numpy(), kl.detach().numpy(), loc.grad.numpy(), loc2.grad.numpy()]
    for ours, theirs in zip(results[tr], results[torch]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results[tr][0], 0.5 + 0.5 * np.log(2 * np.pi))   # N(., 1)'s entropy
    np.testing.assert_allclose(results[tr][1], (REAL - POS) ** 2 / 2)          # and KL
