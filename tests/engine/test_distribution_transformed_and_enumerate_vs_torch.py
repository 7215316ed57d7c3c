"""Against torch.distributions (torch 2.13): every distribution torch builds as a TransformedDistribution (LogNormal,
RelaxedBernoulli, RelaxedOneHotCategorical among them) is one here too, with torch's base_dist and transforms, so
isinstance, log_prob (values and gradients to 1e-10), cdf/icdf, expand and the TransformedDistribution KL pair are
torch's; enumerate_support; constraints.dependent / dependent_property / MixtureSameFamilyConstraint; and
torch.distributions.utils' helpers."""
import inspect

import numpy as np
import pytest
from conftest import outcome, raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(30)
REAL = RNG.standard_normal(3)
POS = RNG.uniform(0.5, 2.5, 3)
POS2 = RNG.uniform(0.5, 2.5, 3)
UNIT = RNG.uniform(0.1, 0.9, 3)
SIMPLEX3 = np.array([0.2, 0.3, 0.5])
SIMPLEX4 = np.array([0.1, 0.2, 0.3, 0.4])
D = lambda lib: lib.distributions  # noqa: E731


def t_of(lib, array, grad=False, dtype=np.float64):
    array = np.array(array, dtype)
    return torch.tensor(array, requires_grad=grad) if lib is torch else tr.tensor(array, requires_grad=grad)


# name: (make(lib, *params), params, a value in the support, a probability for icdf)
FAMILIES = {
    "LogNormal": (lambda lib, m, s: D(lib).LogNormal(m, s), [REAL, POS], POS2, UNIT),
    "Gumbel": (lambda lib, m, s: D(lib).Gumbel(m, s), [REAL, POS], REAL[::-1].copy(), UNIT),
    "HalfNormal": (lambda lib, s: D(lib).HalfNormal(s), [POS], POS2, UNIT),
    "HalfCauchy": (lambda lib, s: D(lib).HalfCauchy(s), [POS], POS2, UNIT),
    "Weibull": (lambda lib, s, k: D(lib).Weibull(s, k), [POS, POS2], POS2[::-1].copy(), UNIT),
    "Pareto": (lambda lib, s, a: D(lib).Pareto(s, a), [POS * 0.3, POS2], POS + 0.5, UNIT),
    "Kumaraswamy": (lambda lib, a, b: D(lib).Kumaraswamy(a, b), [POS, POS2], UNIT, UNIT[::-1].copy()),
    "InverseGamma": (lambda lib, a, b: D(lib).InverseGamma(a, b), [POS, POS2], POS2, UNIT),
    "LogisticNormal": (lambda lib, m, s: D(lib).LogisticNormal(m, s), [REAL, POS], SIMPLEX4, None),
    "RelaxedBernoulli": (lambda lib, t, lg: D(lib).RelaxedBernoulli(t, logits=lg), [np.array(0.7), REAL], UNIT,
                         UNIT),
    "RelaxedBernoulli probs": (lambda lib, t, p: D(lib).RelaxedBernoulli(t, probs=p), [POS2, UNIT], UNIT[::-1].copy(),
                               None),
    "RelaxedOneHotCategorical": (lambda lib, t, lg: D(lib).RelaxedOneHotCategorical(t, logits=lg),
                                 [np.array(0.6), REAL], SIMPLEX3, None),
    "RelaxedOneHotCategorical probs": (lambda lib, t, p: D(lib).RelaxedOneHotCategorical(t, probs=p),
                                       [np.array(1.3), SIMPLEX3[::-1].copy()], SIMPLEX3, None),
}


def _made(lib, name, grad=True, dtype=np.float64):
    make, params, _, _ = FAMILIES[name]
    tensors = [t_of(lib, p, grad, dtype) for p in params]
    return make(lib, *tensors), tensors


def test_every_transformed_family_of_torch_s_is_listed():
    torch_families = {n for n in torch.distributions.__all__ if inspect.isclass(getattr(torch.distributions, n))
                      and issubclass(getattr(torch.distributions, n), torch.distributions.TransformedDistribution)
                      and n != "TransformedDistribution"}
    assert torch_families <= {name.split()[0] for name in FAMILIES}


def _transform_params(t):
    """A transform's parameters as numbers (Affine's loc/scale, Power's exponent), its parts for a composition."""
    out = {}
    for attr in ("loc", "scale", "exponent"):
        value = getattr(t, attr, None)
        if value is not None:
            out[attr] = np.asarray(value.detach().numpy() if hasattr(value, "detach") else value, np.float64)
    return type(t).__name__, out


@pytest.mark.parametrize("name", FAMILIES)
def test_is_a_transformed_distribution_with_torch_s_base_and_transforms(name):
    ours, _ = _made(tr, name)
    theirs, _ = _made(torch, name)
    assert isinstance(ours, tr.distributions.TransformedDistribution)
    assert type(ours.base_dist).__name__ == type(theirs.base_dist).__name__
    assert (tuple(ours.base_dist.batch_shape), tuple(ours.base_dist.event_shape)) == \
        (tuple(theirs.base_dist.batch_shape), tuple(theirs.base_dist.event_shape))
    ours_t = [_transform_params(t) for t in ours.transforms]
    theirs_t = [_transform_params(t) for t in theirs.transforms]
    assert [n for n, _ in ours_t] == [n for n, _ in theirs_t]
    for (_, a), (_, b) in zip(ours_t, theirs_t):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-12)
    assert (tuple(ours.batch_shape), tuple(ours.event_shape)) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    assert ours.has_rsample == theirs.has_rsample


@pytest.mark.parametrize("name", FAMILIES)
def test_log_prob_and_its_gradients_are_torch_s(name):
    value = FAMILIES[name][2]
    results = {}
    for lib in (torch, tr):
        dist, params = _made(lib, name)
        lp = dist.log_prob(t_of(lib, value))
        (lp * t_of(lib, np.linspace(0.5, 1.5, lp.numel()).reshape(tuple(lp.shape)))).sum().backward()
        results[lib] = (lp.detach().numpy(), [p.grad.numpy() for p in params])
    np.testing.assert_allclose(results[tr][0], results[torch][0], rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(results[tr][1], results[torch][1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", FAMILIES)
def test_cdf_and_icdf_come_through_the_transforms_as_torch_s(name):
    _, _, value, prob = FAMILIES[name]
    for method, arg in (("cdf", value), ("icdf", prob if prob is not None else UNIT)):
        theirs = outcome(lambda m=method, a=arg: getattr(_made(torch, name, grad=False)[0], m)(t_of(torch, a)))
        ours = outcome(lambda m=method, a=arg: getattr(_made(tr, name, grad=False)[0], m)(t_of(tr, a)))
        if isinstance(theirs, type):
            assert isinstance(ours, type) and issubclass(ours, theirs), (method, ours, theirs)
        else:
            np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-12)
            assert ours[1] == theirs[1]


@pytest.mark.parametrize("name", FAMILIES)
def test_expand_keeps_the_family_and_expands_the_base(name):
    ours, theirs = _made(tr, name)[0], _made(torch, name)[0]
    shape = (2,) + tuple(theirs.batch_shape)
    e_ours, e_theirs = ours.expand(shape), theirs.expand(shape)
    assert type(e_ours).__name__ == type(e_theirs).__name__
    assert tuple(e_ours.batch_shape) == tuple(e_theirs.batch_shape)
    assert tuple(e_ours.base_dist.batch_shape) == tuple(e_theirs.base_dist.batch_shape)
    value = FAMILIES[name][2]
    np.testing.assert_allclose(e_ours.log_prob(t_of(tr, value)).detach().numpy(),
                               e_theirs.log_prob(t_of(torch, value)).detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["RelaxedBernoulli", "RelaxedOneHotCategorical", "LogNormal"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rsample_shapes_dtypes_support_and_gradients(name, dtype):
    tr.manual_seed(0)
    for lib in (torch, tr):
        dist, params = _made(lib, name, dtype=dtype)
        draw = dist.rsample((5,))
        assert tuple(draw.shape) == (5,) + tuple(dist.batch_shape) + tuple(dist.event_shape)
        assert str(draw.dtype).replace("torch.", "") == np.dtype(dtype).name
        assert np.all(dist.support.check(draw.detach()) if lib is tr else dist.support.check(draw.detach()).numpy())
        draw.sum().backward()
        assert all(p.grad is not None and np.all(np.isfinite(p.grad.numpy())) for p in params[1:])


def test_the_relaxed_bases_log_prob_and_rsample_are_torch_s():
    temperature, logits, values = np.array([0.5, 1.5, 0.8]), REAL, REAL[::-1].copy()
    results = {}
    for lib in (torch, tr):
        t, lg = t_of(lib, temperature, True), t_of(lib, logits, True)
        base = D(lib).RelaxedBernoulli(t, logits=lg).base_dist
        lp = base.log_prob(t_of(lib, values))
        lp.sum().backward()
        results[lib] = (lp.detach().numpy(), t.grad.numpy(), lg.grad.numpy(), tuple(base.expand((2, 3)).batch_shape),
                        tuple(base.expand((2, 3)).temperature.shape))
    for a, b in zip(results[tr], results[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    cat = {}
    for lib in (torch, tr):
        t, lg = t_of(lib, 0.7, True), t_of(lib, np.stack([REAL, REAL[::-1]]), True)
        base = D(lib).RelaxedOneHotCategorical(t, logits=lg).base_dist
        lp = base.log_prob(t_of(lib, np.log(SIMPLEX3)))
        lp.sum().backward()
        cat[lib] = (lp.detach().numpy(), t.grad.numpy(), lg.grad.numpy())
    for a, b in zip(cat[tr], cat[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_lognormal_kl_goes_through_the_transformed_pair_as_torch_s():
    results = {}
    for lib in (torch, tr):
        p, (m, s) = _made(lib, "LogNormal")
        q = D(lib).LogNormal(t_of(lib, POS), t_of(lib, POS2[::-1].copy()))
        kl = D(lib).kl_divergence(p, q)
        kl.sum().backward()
        results[lib] = (kl.detach().numpy(), m.grad.numpy(), s.grad.numpy())
    for a, b in zip(results[tr], results[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    for other in (lambda lib: D(lib).Normal(t_of(lib, REAL), t_of(lib, POS)),
                  lambda lib: D(lib).TransformedDistribution(D(lib).Normal(t_of(lib, REAL), t_of(lib, POS)),
                                                             D(lib).SigmoidTransform())):
        raises_as_torch(lambda o=other: D(torch).kl_divergence(_made(torch, "LogNormal")[0], o(torch)),
                        lambda o=other: D(tr).kl_divergence(_made(tr, "LogNormal")[0], o(tr)))


def _enumerables(lib):
    return {
        "Bernoulli": D(lib).Bernoulli(probs=t_of(lib, UNIT)),
        "Bernoulli 0-d float32": D(lib).Bernoulli(logits=t_of(lib, 0.3, dtype=np.float32)),
        "Binomial": D(lib).Binomial(t_of(lib, [3.0, 3.0, 3.0]), probs=t_of(lib, UNIT)),
        "Binomial inhomogeneous": D(lib).Binomial(t_of(lib, [3.0, 2.0, 3.0]), probs=t_of(lib, UNIT)),
        "Categorical": D(lib).Categorical(probs=t_of(lib, np.stack([SIMPLEX3, SIMPLEX3[::-1]]))),
        "OneHotCategorical": D(lib).OneHotCategorical(logits=t_of(lib, np.stack([REAL, REAL[::-1]]),
                                                                  dtype=np.float32)),
        "OneHotCategoricalStraightThrough": D(lib).OneHotCategoricalStraightThrough(probs=t_of(lib, SIMPLEX4)),
        "Independent 0": D(lib).Independent(D(lib).Bernoulli(probs=t_of(lib, UNIT)), 0),
        "Independent 1": D(lib).Independent(D(lib).Bernoulli(probs=t_of(lib, UNIT)), 1),
        "Normal": D(lib).Normal(t_of(lib, REAL), t_of(lib, POS)),
        "Poisson": D(lib).Poisson(t_of(lib, POS)),
        "LogNormal": D(lib).LogNormal(t_of(lib, REAL), t_of(lib, POS)),
    }


@pytest.mark.parametrize("name", list(_enumerables(torch)))
@pytest.mark.parametrize("expand", [True, False])
def test_enumerate_support_is_torch_s(name, expand):
    theirs, ours = _enumerables(torch)[name], _enumerables(tr)[name]
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    expected = outcome(lambda: theirs.enumerate_support(expand=expand))
    if isinstance(expected, type):
        raises_as_torch(lambda: theirs.enumerate_support(expand=expand), lambda: ours.enumerate_support(expand))
        return
    got = outcome(lambda: ours.enumerate_support(expand=expand))
    assert got[1] == expected[1] and got[0].shape == expected[0].shape
    np.testing.assert_array_equal(got[0], expected[0])
    if ours.has_enumerate_support and name != "Binomial inhomogeneous":   # the values are in the support
        np.testing.assert_allclose(ours.log_prob(ours.enumerate_support(expand)).numpy(),
                                   theirs.log_prob(theirs.enumerate_support(expand)).numpy(), rtol=1e-6)


def test_dependent_constraints_are_torch_s():
    for lib in (torch, tr):
        c = D(lib).constraints
        assert c.is_dependent(c.dependent) and not c.is_dependent(c.real)
        custom = c.dependent(is_discrete=True, event_dim=1)
        assert (custom.is_discrete, custom.event_dim) == (True, 1) and c.is_dependent(custom)
        assert repr(custom) == "Dependent()"
    for attr in ("is_discrete", "event_dim"):
        raises_as_torch(lambda a=attr: getattr(torch.distributions.constraints.dependent, a),
                        lambda a=attr: getattr(tr.distributions.constraints.dependent, a), "cannot be determined")
    raises_as_torch(lambda: torch.distributions.constraints.dependent.check(torch.zeros(2)),
                    lambda: tr.distributions.constraints.dependent.check(tr.zeros(2)), "dependent constraint")


def _shifted_exponential(lib):
    """A user's distribution written as torch's docs write one: a dependent_property support, a lazy parameter."""
    utils = lib.distributions.utils

    class ShiftedExponential(lib.distributions.Distribution):
        arg_constraints = {"rate": lib.distributions.constraints.positive,
                           "shift": lib.distributions.constraints.real}

        def __init__(self, rate, shift, validate_args=None):
            self.rate, self.shift = utils.broadcast_all(rate, shift)
            super().__init__(self.rate.shape, validate_args=validate_args)

        @lib.distributions.constraints.dependent_property(is_discrete=False, event_dim=0)
        def support(self):
            return lib.distributions.constraints.greater_than(self.shift)

        @utils.lazy_property
        def log_rate(self):
            return self.rate.log()

        def log_prob(self, value):
            return self.log_rate - self.rate * (value - self.shift)

    return ShiftedExponential


def test_a_user_distribution_with_dependent_property_and_lazy_property():
    results = {}
    for lib in (torch, tr):
        cls = _shifted_exponential(lib)
        c = lib.distributions.constraints
        assert c.is_dependent(cls.support) and cls.support.event_dim == 0 and cls.support.is_discrete is False
        rate = t_of(lib, POS, True)
        d = cls(rate, 0.5)
        assert "log_rate" not in d.__dict__
        assert isinstance(d.support, type(c.greater_than(0.0)))
        lp = d.log_prob(t_of(lib, POS2 + 0.5))
        assert "log_rate" in d.__dict__
        lp.sum().backward()
        results[lib] = (lp.detach().numpy(), rate.grad.numpy(), str(d.shift.dtype).replace("torch.", ""),
                        np.asarray(d.support.check(t_of(lib, [0.4, 0.6, 2.0]))))
        raises_as_torch(lambda: _shifted_exponential(torch)(torch.tensor([-1.0]), 0.0),
                        lambda: _shifted_exponential(tr)(tr.tensor([-1.0]), 0.0), "rate")
    for a, b in zip(results[tr], results[torch]):
        np.testing.assert_equal(a, b) if isinstance(a, str) else np.testing.assert_allclose(a, b, rtol=1e-12)


def test_mixture_same_family_constraint_is_public_and_torch_s():
    for lib in (torch, tr):
        c = D(lib).constraints
        assert isinstance(c.MixtureSameFamilyConstraint(c.positive), c.Constraint)
    values = np.array([[0.5, -1.0], [2.0, 3.0]])
    for base in ("positive", "real_vector"):
        ours = tr.distributions.constraints.MixtureSameFamilyConstraint(getattr(tr.distributions.constraints, base))
        theirs = torch.distributions.constraints.MixtureSameFamilyConstraint(
            getattr(torch.distributions.constraints, base))
        assert repr(ours) == repr(theirs) and ours.event_dim == theirs.event_dim
        np.testing.assert_array_equal(np.asarray(ours.check(tr.tensor(values))),
                                      theirs.check(torch.tensor(values)).numpy())
    raises_as_torch(lambda: torch.distributions.constraints.MixtureSameFamilyConstraint(3),
                    lambda: tr.distributions.constraints.MixtureSameFamilyConstraint(3), "Constraint")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_distributions_utils_are_torch_s(dtype):
    probs = np.array([[0.0, 0.25, 1.0], [0.5, 0.1, 0.4]], dtype)
    results = {}
    for lib in (torch, tr):
        u = lib.distributions.utils
        p = t_of(lib, probs, True, dtype)
        logits = u.probs_to_logits(p) + u.probs_to_logits(p, is_binary=True)
        back = u.logits_to_probs(logits) + u.logits_to_probs(logits, is_binary=True)
        back.sum().backward()
        a, b = u.broadcast_all(t_of(lib, [1.0, 2.0], dtype=dtype), 3)
        m = t_of(lib, np.arange(18, dtype=dtype).reshape(2, 3, 3))
        vec = u.tril_matrix_to_vec(m, diag=-1)
        results[lib] = [u.clamp_probs(p).detach().numpy(), logits.detach().numpy(), back.detach().numpy(),
                        p.grad.numpy(), b.numpy(), str(b.dtype).replace("torch.", ""), vec.numpy(),
                        u.vec_to_tril_matrix(vec, diag=-1).numpy(), u.tril_matrix_to_vec(m).numpy(),
                        u.vec_to_tril_matrix(u.tril_matrix_to_vec(m)).numpy()]
    for a, b in zip(results[tr], results[torch]):
        if isinstance(a, str):
            assert a == b
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == np.float32 else 1e-12)
    raises_as_torch(lambda: torch.distributions.utils.broadcast_all([1.0], 2.0),
                    lambda: tr.distributions.utils.broadcast_all([1.0], 2.0), "Number")
    raises_as_torch(lambda: torch.distributions.utils.vec_to_tril_matrix(torch.zeros(5)),
                    lambda: tr.distributions.utils.vec_to_tril_matrix(tr.zeros(5)), "lower triangular")
    raises_as_torch(lambda: torch.distributions.utils.tril_matrix_to_vec(torch.zeros(3, 3), diag=3),
                    lambda: tr.distributions.utils.tril_matrix_to_vec(tr.zeros(3, 3), diag=3), "outside")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_the_far_left_tail_as_torch_s(dtype):
    """Bernoulli(logits=-30).probs is 9.4e-14, not 0: the engine's sigmoid is torch's 1 / (1 + exp(-x)) (its
    tanh form lost everything below -17 in float32, -37 in float64)."""
    x = np.array([-1e4, -745.0, -100.0, -72.0, -40.0, -30.0, -20.0, -17.0, -5.0, 0.0, 5.0, 30.0, 1e4], dtype)
    expected = torch.from_numpy(x).sigmoid().numpy()
    got = tr.tensor(x).sigmoid().numpy()
    assert got.dtype == dtype
    # below the smallest normal number torch's exp(-x) overflows to 0 where ours keeps the subnormal value
    # (sigmoid(-100) in float32: 3.8e-44 against 0): equal within the dtype's tiny
    np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)
    probs = {lib: D(lib).Bernoulli(logits=t_of(lib, x[3:9], dtype=dtype)).probs.numpy() for lib in (torch, tr)}
    np.testing.assert_allclose(probs[tr], probs[torch], rtol=4 * np.finfo(dtype).eps, atol=0)
    leaf = tr.tensor(x, requires_grad=True)
    leaf.sigmoid().sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    theirs.sigmoid().sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), theirs.grad.numpy(), rtol=8 * np.finfo(dtype).eps,
                               atol=np.finfo(dtype).tiny)
