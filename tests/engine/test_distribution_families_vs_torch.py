"""Cauchy, StudentT, Chi2, FisherSnedecor, HalfNormal, HalfCauchy, Gumbel, Weibull, Pareto, Kumaraswamy,
InverseGamma, LogisticNormal, NegativeBinomial, LowRankMultivariateNormal, MixtureSameFamily, ContinuousBernoulli,
VonMises, Multinomial, OneHotCategoricalStraightThrough, GeneralizedPareto, LKJCholesky and Wishart against
torch.distributions (torch 2.13): log_prob, cdf, icdf, entropy and the moments with their gradients in every
parameter (float64 to 1e-10; a float32 sweep); batch and event shapes, has_rsample, expand; draws checked by their
statistics (our generator is numpy's, so torch's numbers cannot be matched: the empirical CDF of our draws at the
quantiles of torch's, which works for heavy tails too); rsample's gradients by their means; torch's KL pairs and
validation errors."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1)
POS = RNG.uniform(0.5, 3.0, (3,))
POS2 = RNG.uniform(0.5, 3.0, (3,))
BIG = RNG.uniform(4.5, 7.0, (3,))   # degrees of freedom / shapes with finite moments
REAL = RNG.standard_normal(3)
UNIT = RNG.uniform(0.1, 0.9, (3,))
W = RNG.standard_normal((2, 3, 2))
COV2 = W[:, :, :1] * W[:, None, :, 0] + np.eye(3) * POS[:2, None, None]   # (2, 3, 3) positive definite
VALUE2 = np.eye(3) * 2 + 0.3
D = lambda lib: lib.distributions  # noqa: E731


def t_of(lib, array, grad=False, dtype=np.float64):
    array = np.array(array, dtype) if np.asarray(array).dtype.kind == "f" else np.array(array)
    return torch.tensor(array, requires_grad=grad) if lib is torch else tr.tensor(array, requires_grad=grad)


def _mixture(lib, logits, loc, scale):
    return D(lib).MixtureSameFamily(D(lib).Categorical(logits=logits), D(lib).Normal(loc, scale))


def _vector_mixture(lib, logits, loc):
    return D(lib).MixtureSameFamily(D(lib).Categorical(logits=logits),
                                    D(lib).Independent(D(lib).Normal(loc, loc.detach() * 0 + 1.5), 1))


ALL = ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"]
# name: (make(lib, *params), params, value, methods)
FAMILIES = {
    "Cauchy": (lambda lib, m, s: D(lib).Cauchy(m, s), [REAL, POS], POS2, ALL[:5] + ["mode", "variance"]),
    "StudentT": (lambda lib, df, m, s: D(lib).StudentT(df, m, s), [BIG, REAL, POS], POS2,
                 ["log_prob", "entropy", "mean", "mode", "variance"]),
    "StudentT low df": (lambda lib, df, m: D(lib).StudentT(df, m), [np.array([0.5, 1.5, 3.0]), REAL], POS2,
                        ["log_prob", "entropy", "mean", "variance"]),
    "Chi2": (lambda lib, df: D(lib).Chi2(df), [BIG], POS2, ["log_prob", "entropy", "mean", "mode", "variance"]),
    "FisherSnedecor": (lambda lib, a, b: D(lib).FisherSnedecor(a, b), [BIG, BIG[::-1].copy()], POS2,
                       ["log_prob", "mean", "mode", "variance"]),
    "FisherSnedecor small df": (lambda lib, a, b: D(lib).FisherSnedecor(a, b), [POS, np.array([1.0, 3.0, 5.0])],
                                POS2, ["mean", "mode", "variance"]),
    "HalfNormal": (lambda lib, s: D(lib).HalfNormal(s), [POS], POS2, ALL),
    "HalfCauchy": (lambda lib, s: D(lib).HalfCauchy(s), [POS], POS2, ALL[:4] + ["mode"]),
    "Gumbel": (lambda lib, m, s: D(lib).Gumbel(m, s), [REAL, POS], REAL[::-1].copy(), ALL),
    "Weibull": (lambda lib, s, k: D(lib).Weibull(s, k), [POS, POS2], POS2[::-1].copy(), ALL),
    "Pareto": (lambda lib, s, a: D(lib).Pareto(s, a), [POS * 0.3, np.array([0.7, 1.5, 3.0])], POS2 + 0.5, ALL),
    "Kumaraswamy": (lambda lib, a, b: D(lib).Kumaraswamy(a, b), [POS, POS2], UNIT, ALL),
    "InverseGamma": (lambda lib, a, r: D(lib).InverseGamma(a, r), [np.array([0.5, 1.5, 3.0]), POS], POS2,
                     ["log_prob", "entropy", "mean", "mode", "variance"]),
    "InverseGamma cdf": (lambda lib, r: D(lib).InverseGamma(t_of(lib, POS2, dtype=str(r.dtype).replace("torch.", "")),
                                                            r), [POS], POS2, ["cdf"]),   # (torch: no d/dconcentration)
    "LogisticNormal": (lambda lib, m, s: D(lib).LogisticNormal(m, s), [REAL, POS],
                       np.array([0.2, 0.1, 0.4, 0.3]), ["log_prob"]),
    "NegativeBinomial": (lambda lib, n, p: D(lib).NegativeBinomial(n, p), [POS, UNIT], np.array([0.0, 2.0, 5.0]),
                         ["log_prob", "mean", "mode", "variance"]),
    "NegativeBinomial logits": (lambda lib, n, l: D(lib).NegativeBinomial(n, logits=l), [POS, REAL],
                                np.array([1.0, 0.0, 7.0]), ["log_prob", "mean", "variance"]),
    "LowRankMultivariateNormal": (lambda lib, m, w, d: D(lib).LowRankMultivariateNormal(m, w, d), [REAL, W, POS],
                                  RNG.standard_normal((4, 1, 3)), ["log_prob", "entropy", "mean", "variance"]),
    "LowRankMultivariateNormal matrices": (
        lambda lib, m, w, d: D(lib).LowRankMultivariateNormal(m, w, d), [REAL, W, POS], None,
        ["scale_tril", "covariance_matrix", "precision_matrix"]),
    "ContinuousBernoulli": (lambda lib, p: D(lib).ContinuousBernoulli(p), [np.array([0.2, 0.4995, 0.8])], UNIT,
                            ALL[:5] + ["variance", "stddev"]),   # (no mode, as torch)
    "ContinuousBernoulli logits": (lambda lib, l: D(lib).ContinuousBernoulli(logits=l), [np.array([-1.5, 0.8, 2.5])],
                                   UNIT, ALL[:5] + ["variance", "stddev"]),
    "VonMises": (lambda lib, m, k: D(lib).VonMises(m, k), [REAL, np.array([0.5, 3.0, 8.0])], POS2,
                 ["log_prob", "mean", "mode", "variance"]),
    "Multinomial": (lambda lib, l: D(lib).Multinomial(5, logits=l), [W[:, :, 0]],
                    np.array([[2.0, 0.0, 3.0], [1.0, 1.0, 3.0]]), ["log_prob", "entropy", "mean", "variance"]),
    "Multinomial probs": (lambda lib, p: D(lib).Multinomial(4, p), [np.stack([POS, POS2])], np.array([1.0, 0.0, 3.0]),
                          ["log_prob", "entropy", "mean", "variance"]),
    "GeneralizedPareto": (lambda lib, m, s, c: D(lib).GeneralizedPareto(m, s, c),
                          [REAL, POS, np.array([0.3, 0.0, -0.6])], None,
                          ["icdf", "entropy", "mean", "mode", "variance"]),
    "LKJCholesky": (lambda lib, c: D(lib).LKJCholesky(3, c), [np.array([[0.5], [2.0]])],
                    torch.distributions.CorrCholeskyTransform()(torch.tensor(RNG.standard_normal((2, 3)))).numpy(),
                    ["log_prob"]),
    "Wishart covariance": (lambda lib, df, c: D(lib).Wishart(df, covariance_matrix=c), [BIG[:2], COV2], VALUE2,
                           ["log_prob", "entropy", "mean", "mode", "variance"]),
    "Wishart precision": (lambda lib, df, c: D(lib).Wishart(df, precision_matrix=c), [BIG[:2], np.linalg.inv(COV2)],
                          VALUE2, ["log_prob", "entropy", "mean", "variance"]),
    "Wishart scale_tril": (lambda lib, df, c: D(lib).Wishart(df, scale_tril=c), [BIG[:2], np.linalg.cholesky(COV2)],
                           VALUE2, ["entropy", "mean", "variance"]),
    "MixtureSameFamily": (_mixture, [REAL, POS, POS2], RNG.standard_normal((4, 1)),
                          ["log_prob", "cdf", "mean", "variance"]),
    "MixtureSameFamily of vectors": (_vector_mixture, [REAL[:2], W[:, :, 0]], RNG.standard_normal((4, 3)),
                                     ["log_prob", "mean", "variance"]),
}
CASES = [(family, method) for family, (_, _, _, methods) in FAMILIES.items() for method in methods]


def evaluate(lib, family, method, dtype):
    """dist.method (of value, or of probabilities for icdf) and each parameter's gradient of its weighted sum
    (over the finite entries)."""
    make, params, value, _ = FAMILIES[family]
    tensors = [t_of(lib, p, True, dtype) for p in params]
    dist = make(lib, *tensors)
    if method == "icdf":
        out = dist.icdf(t_of(lib, np.linspace(0.1, 0.9, 3), dtype=dtype))
    elif method in ("log_prob", "cdf"):
        out = getattr(dist, method)(t_of(lib, value, dtype=dtype))
    elif method == "entropy":
        out = dist.entropy()
    else:
        out = getattr(dist, method)
    values = out.detach().numpy()
    finite = np.isfinite(values)
    if out.requires_grad and finite.any():
        weights = np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)) * finite
        (out * t_of(lib, weights, dtype=dtype)).sum().backward()
    return [values] + [np.asarray(t.grad) if t.grad is not None else None for t in tensors]


@pytest.mark.parametrize("family,method", CASES)
def test_values_and_gradients_are_torch_s(family, method):
    ours, theirs = evaluate(tr, family, method, np.float64), evaluate(torch, family, method, np.float64)
    assert ours[0].dtype == theirs[0].dtype and ours[0].shape == theirs[0].shape
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None or not np.any(a)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_float32_values_are_torch_s(family):
    method = FAMILIES[family][3][0]
    ours, theirs = evaluate(tr, family, method, np.float32), evaluate(torch, family, method, np.float32)
    assert ours[0].dtype == theirs[0].dtype == np.float32
    for a, b in zip(ours, theirs):
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=3e-5, atol=3e-5)


SAMPLED = {   # name: make(lib), the draws of which are compared
    "Cauchy": lambda lib: D(lib).Cauchy(t_of(lib, [0.0, 2.0]), t_of(lib, [1.0, 0.3])),
    "StudentT": lambda lib: D(lib).StudentT(t_of(lib, [1.5, 6.0]), t_of(lib, [0.0, 1.0]), t_of(lib, [1.0, 2.0])),
    "Chi2": lambda lib: D(lib).Chi2(t_of(lib, [0.7, 5.0])),
    "FisherSnedecor": lambda lib: D(lib).FisherSnedecor(t_of(lib, [2.0, 7.0]), t_of(lib, [3.0, 11.0])),
    "HalfNormal": lambda lib: D(lib).HalfNormal(t_of(lib, [0.5, 2.0])),
    "HalfCauchy": lambda lib: D(lib).HalfCauchy(t_of(lib, [0.5, 2.0])),
    "Gumbel": lambda lib: D(lib).Gumbel(t_of(lib, [0.0, -1.0]), t_of(lib, [1.0, 3.0])),
    "Weibull": lambda lib: D(lib).Weibull(t_of(lib, [1.0, 2.0]), t_of(lib, [0.6, 3.0])),
    "Pareto": lambda lib: D(lib).Pareto(t_of(lib, [1.0, 0.5]), t_of(lib, [0.8, 4.0])),
    "Kumaraswamy": lambda lib: D(lib).Kumaraswamy(t_of(lib, [0.5, 3.0]), t_of(lib, [2.0, 0.7])),
    "InverseGamma": lambda lib: D(lib).InverseGamma(t_of(lib, [0.8, 5.0]), t_of(lib, [1.0, 2.0])),
    "LogisticNormal": lambda lib: D(lib).LogisticNormal(t_of(lib, [0.3, -0.5]), t_of(lib, [1.0, 0.4])),
    "NegativeBinomial": lambda lib: D(lib).NegativeBinomial(t_of(lib, [2.5, 10.0]), t_of(lib, [0.3, 0.8])),
    "ContinuousBernoulli": lambda lib: D(lib).ContinuousBernoulli(t_of(lib, [0.1, 0.5, 0.7])),
    "GeneralizedPareto": lambda lib: D(lib).GeneralizedPareto(t_of(lib, [0.0, 1.0, -1.0]), t_of(lib, [1.0, 2.0, 0.5]),
                                                              t_of(lib, [0.4, 0.0, -0.3])),
    "LKJCholesky": lambda lib: D(lib).LKJCholesky(3, t_of(lib, [0.5, 4.0])),
    "Wishart": lambda lib: D(lib).Wishart(t_of(lib, [5.0, 8.0]), t_of(lib, COV2)),
    "Multinomial": lambda lib: D(lib).Multinomial(7, t_of(lib, [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])),
    "OneHotCategoricalStraightThrough": lambda lib: D(lib).OneHotCategoricalStraightThrough(t_of(lib, [0.2, 0.8])),
    "LowRankMultivariateNormal": lambda lib: D(lib).LowRankMultivariateNormal(t_of(lib, REAL), t_of(lib, W[0]),
                                                                              t_of(lib, POS)),
    "MixtureSameFamily": lambda lib: _mixture(lib, t_of(lib, [0.0, 1.0, -1.0]), t_of(lib, [-2.0, 0.0, 3.0]),
                                              t_of(lib, [0.5, 1.0, 0.3])),
    "MixtureSameFamily of vectors": lambda lib: _vector_mixture(lib, t_of(lib, [0.2, -0.3]), t_of(lib, W[:, :, 0])),
}


@pytest.mark.parametrize("name", sorted(SAMPLED))
def test_samples_have_torch_s_shapes_dtypes_and_distribution(name):
    """Shapes, dtypes and flags as torch's; every draw in torch's support; at the 5%, 25%, 50%, 75% and 95%
    quantiles of 60k of torch's draws (per entry), the empirical CDF of as many of ours is within 6 standard errors
    of the quantile's level."""
    tr.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = SAMPLED[name](tr), SAMPLED[name](torch)
    a, b = ours.sample((2, 3)), theirs.sample((2, 3))
    assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype).replace("torch.", "")
    assert ours.has_rsample == theirs.has_rsample and tuple(ours.batch_shape) == tuple(theirs.batch_shape) and \
        tuple(ours.event_shape) == tuple(theirs.event_shape)
    n = 60_000
    drawn, reference = ours.sample((n,)).numpy(), theirs.sample((n,)).numpy()
    assert np.all(theirs.support.check(torch.tensor(drawn)).numpy())
    levels = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    quantiles = np.quantile(reference, levels, axis=0)                 # (5,) + batch + event
    below = (drawn[None] <= quantiles[:, None]).mean(1)
    at = (reference[None] <= quantiles[:, None]).mean(1)               # (the level, up to ties of discrete draws)
    tolerance = 6 * np.sqrt(2 * levels * (1 - levels) / n).reshape((-1,) + (1,) * (below.ndim - 1))
    assert np.all(np.abs(below - at) < tolerance + 1e-12), (below, at)


def test_von_mises_draws_have_the_circular_moments():
    """torch's shapes and dtype; E[cos(x - loc)] = I1(k) / I0(k) = 1 - variance and E[sin(x - loc)] = 0 over 100k
    draws (torch's rejection sampler is too slow to draw as many for a reference)."""
    tr.manual_seed(0)
    loc, kappa = np.array([0.3, 2.9, -3.0]), np.array([0.5, 8.0, 1e-3])
    ours, theirs = D(tr).VonMises(t_of(tr, loc), t_of(tr, kappa)), D(torch).VonMises(t_of(torch, loc),
                                                                                     t_of(torch, kappa))
    assert tuple(ours.sample((2, 3)).shape) == tuple(theirs.sample((2, 3)).shape) and ours.has_rsample is False
    assert ours.sample().dtype == np.float64 and D(tr).VonMises(0.0, 1.0).sample((2,)).dtype == np.float32
    n = 100_000
    drawn = ours.sample((n,)).numpy()
    assert np.all((drawn >= -np.pi) & (drawn < np.pi))
    resultant = 1 - theirs.variance.numpy()
    assert np.all(np.abs(np.cos(drawn - loc).mean(0) - resultant) < 6 / np.sqrt(n))
    assert np.all(np.abs(np.sin(drawn - loc).mean(0)) < 6 / np.sqrt(n))


@pytest.mark.parametrize("name,make,true_mean", [
    ("StudentT", lambda a, b: tr.distributions.StudentT(a * 3, b, a), lambda a, b: b),
    ("Chi2", lambda a, b: tr.distributions.Chi2(a * b), lambda a, b: a * b),
    ("FisherSnedecor", lambda a, b: tr.distributions.FisherSnedecor(a * 4, b * 5), lambda a, b: 5 * b / (5 * b - 2)),
    ("HalfNormal", lambda a, b: tr.distributions.HalfNormal(a * b), lambda a, b: a * b * np.sqrt(2 / np.pi)),
    ("Gumbel", lambda a, b: tr.distributions.Gumbel(a, b), lambda a, b: a + b * 0.5772156649015329),
    ("Weibull", lambda a, b: tr.distributions.Weibull(a, b), None),
    ("Pareto", lambda a, b: tr.distributions.Pareto(a, b), lambda a, b: b * a / (b - 1)),
    ("Kumaraswamy", lambda a, b: tr.distributions.Kumaraswamy(a, b), None),
    ("ContinuousBernoulli", lambda a, b: tr.distributions.ContinuousBernoulli(logits=a - b), None),
    ("InverseGamma", lambda a, b: tr.distributions.InverseGamma(b, a), lambda a, b: a / (b - 1)),
    ("LowRankMultivariateNormal", lambda a, b: tr.distributions.LowRankMultivariateNormal(
        (a * b).reshape(1), b.reshape(1, 1), a.reshape(1)), lambda a, b: a * b),
])
def test_rsample_gradients_are_unbiased(name, make, true_mean):
    """The mean over draws of d x / d theta equals d E[x] / d theta (central differences of the true mean, torch's
    mean property for Weibull and Kumaraswamy)."""
    a0, b0 = 1.3, 2.1
    a, b = tr.tensor(np.float64(a0), requires_grad=True), tr.tensor(np.float64(b0), requires_grad=True)
    tr.manual_seed(3)
    n = 200_000
    draws = make(a, b).rsample((n,))
    draws.reshape(-1).mean().backward()
    if name in ("Weibull", "Kumaraswamy"):
        family = getattr(torch.distributions, name)

        def true_mean(x, y):
            return float(family(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)).mean)
    elif name == "ContinuousBernoulli":
        def true_mean(x, y):
            return float(torch.distributions.ContinuousBernoulli(logits=torch.tensor(x - y)).mean)
    h = 1e-5
    want = [(true_mean(a0 + h, b0) - true_mean(a0 - h, b0)) / (2 * h),
            (true_mean(a0, b0 + h) - true_mean(a0, b0 - h)) / (2 * h)]
    np.testing.assert_allclose([float(a.grad), float(b.grad)], want, rtol=0.03, atol=3e-3)


def _p(lib, name, leaves):
    """A distribution of family `name` with leaf parameters (gradients compared), appended to leaves."""
    def g(a):
        leaves.append(t_of(lib, a, True))
        return leaves[-1]
    return {"Normal": lambda: D(lib).Normal(g(REAL), g(POS)), "Gumbel": lambda: D(lib).Gumbel(g(REAL), g(POS)),
            "Exponential": lambda: D(lib).Exponential(g(POS)), "Gamma": lambda: D(lib).Gamma(g(POS), g(POS2)),
            "Uniform": lambda: D(lib).Uniform(g(POS), g(POS + 1)), "Pareto": lambda: D(lib).Pareto(g(POS), g(BIG)),
            "Pareto small alpha": lambda: D(lib).Pareto(g(POS), g(np.array([0.5, 1.5, 2.5]))),
            "Laplace": lambda: D(lib).Laplace(g(REAL), g(POS)), "Beta": lambda: D(lib).Beta(g(POS), g(POS2)),
            "HalfNormal": lambda: D(lib).HalfNormal(g(POS)), "Cauchy": lambda: D(lib).Cauchy(g(REAL), g(POS)),
            "LowRankMultivariateNormal": lambda: D(lib).LowRankMultivariateNormal(g(REAL), g(W), g(POS)),
            "MultivariateNormal": lambda: D(lib).MultivariateNormal(g(POS2), scale_tril=g(
                np.linalg.cholesky(W[0] @ W[0].T + np.diag(POS)))),
            "LogNormal by transforms": lambda: D(lib).TransformedDistribution(D(lib).Normal(g(REAL), g(POS)),
                                                                              [D(lib).ExpTransform()]),
            "ContinuousBernoulli": lambda: D(lib).ContinuousBernoulli(g(UNIT)),
            "Bernoulli": lambda: D(lib).Bernoulli(g(UNIT)), "Poisson": lambda: D(lib).Poisson(g(POS)),
            "Uniform in (0, 1)": lambda: D(lib).Uniform(g(UNIT * 0.5), g(UNIT * 0.5 + 0.4)),
            }[name]()


def _q(lib, name):
    """A second distribution of family `name`, constant parameters."""
    c = lambda a: t_of(lib, a)  # noqa: E731
    return {"Normal": lambda: D(lib).Normal(c(POS2), c(POS[::-1].copy())),
            "Gumbel": lambda: D(lib).Gumbel(c(POS2), c(BIG / 3)), "Exponential": lambda: D(lib).Exponential(c(POS2)),
            "Gamma": lambda: D(lib).Gamma(c(BIG), c(POS)), "Uniform": lambda: D(lib).Uniform(c(POS * 0), c(POS + 2)),
            "Pareto": lambda: D(lib).Pareto(c(POS * 1.2), c(POS2)), "Beta": lambda: D(lib).Beta(c(POS2), c(POS)),
            "HalfNormal": lambda: D(lib).HalfNormal(c(POS2)), "Cauchy": lambda: D(lib).Cauchy(c(POS2), c(BIG)),
            "LowRankMultivariateNormal": lambda: D(lib).LowRankMultivariateNormal(c(POS2), c(W[::-1].copy()),
                                                                                  c(BIG)),
            "MultivariateNormal": lambda: D(lib).MultivariateNormal(c(REAL), c(W[1] @ W[1].T + np.diag(BIG))),
            "LogNormal by transforms": lambda: D(lib).TransformedDistribution(D(lib).Normal(c(POS2), c(BIG)),
                                                                              [D(lib).ExpTransform()]),
            "ContinuousBernoulli": lambda: D(lib).ContinuousBernoulli(c(UNIT[::-1].copy())),
            "Poisson": lambda: D(lib).Poisson(c(POS2)), "Bernoulli": lambda: D(lib).Bernoulli(c(UNIT)),
            "Binomial": lambda: D(lib).Binomial(3, c(UNIT)), "Laplace": lambda: D(lib).Laplace(c(POS2), c(POS)),
            "Uniform wide": lambda: D(lib).Uniform(c(POS * 0 - 1), c(POS + 2)),
            }[name]()


KL_PAIRS = [("Cauchy", "Cauchy"), ("Gumbel", "Gumbel"), ("HalfNormal", "HalfNormal"), ("Pareto", "Pareto"),
            ("LowRankMultivariateNormal", "LowRankMultivariateNormal"),
            ("LowRankMultivariateNormal", "MultivariateNormal"), ("MultivariateNormal", "LowRankMultivariateNormal"),
            ("LogNormal by transforms", "LogNormal by transforms"), ("Exponential", "Gumbel"), ("Gamma", "Gumbel"),
            ("Gumbel", "Normal"), ("Normal", "Gumbel"), ("Uniform", "Gumbel"), ("Uniform", "Pareto"),
            ("Pareto", "Exponential"), ("Pareto", "Gamma"), ("Pareto", "Normal"), ("Pareto small alpha", "Gamma"),
            ("Pareto small alpha", "Normal"), ("Normal", "Pareto"), ("Gumbel", "Exponential"),
            ("Laplace", "Uniform"), ("Exponential", "Beta"), ("Gamma", "Pareto"), ("Pareto", "Uniform"),
            ("Beta", "Pareto"), ("ContinuousBernoulli", "ContinuousBernoulli"), ("Bernoulli", "Poisson"),
            ("Beta", "ContinuousBernoulli"), ("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "Normal"),
            ("Beta", "Uniform"), ("Beta", "Uniform wide"), ("ContinuousBernoulli", "Exponential"),
            ("ContinuousBernoulli", "Normal"), ("ContinuousBernoulli", "Uniform"), ("ContinuousBernoulli", "Pareto"),
            ("Exponential", "Normal"), ("Gamma", "Exponential"), ("Gamma", "Normal"), ("Normal", "Laplace"),
            ("Poisson", "Bernoulli"), ("Poisson", "Binomial"), ("Uniform", "Beta"), ("Uniform in (0, 1)", "Beta"),
            ("Uniform in (0, 1)", "ContinuousBernoulli"), ("Uniform", "Exponential"), ("Uniform", "Gamma"),
            ("Normal", "ContinuousBernoulli")]


@pytest.mark.parametrize("p_name,q_name", KL_PAIRS)
def test_kl_divergence_is_torch_s(p_name, q_name):
    results = []
    for lib in (tr, torch):
        params = []
        p, q = _p(lib, p_name, params), _q(lib, q_name)
        kl = D(lib).kl_divergence(p, q)
        values = kl.detach().numpy()
        finite = np.isfinite(values)
        if finite.any() and kl.requires_grad:
            weights = np.linspace(0.5, 1.5, kl.numel()).reshape(tuple(kl.shape)) * finite
            (kl * t_of(lib, weights)).sum().backward()
        results.append([values] + [np.asarray(v.grad) if v.grad is not None else np.zeros(1) for v in params])
    assert len(results[0]) == len(results[1])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["log_prob", "cdf", "log_cdf", "log_survival_function"])
def test_generalized_pareto_in_float32_is_torch_s(method):
    """In float32: torch 2.13's GeneralizedPareto refuses float64 parameters here (its isclose against a float32
    zero is a RuntimeError); ours takes both."""
    results = []
    for lib in (tr, torch):
        params = [t_of(lib, a, True, np.float32) for a in (REAL, POS, [0.3, 0.0, -0.6])]
        out = getattr(D(lib).GeneralizedPareto(*params), method)(t_of(lib, POS2 * 0.5 + REAL, dtype=np.float32))
        finite = np.isfinite(out.detach().numpy())
        (out * t_of(lib, finite * 1.0, dtype=np.float32)).sum().backward()
        results.append([out.detach().numpy()] + [np.asarray(p.grad) for p in params])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    assert D(tr).GeneralizedPareto(t_of(tr, REAL), t_of(tr, POS), t_of(tr, POS)).log_prob(
        t_of(tr, POS + REAL)).dtype == np.float64


def test_wishart_scale_tril_log_prob_gradient_is_torch_s_on_the_triangle():
    """log_prob's gradient in scale_tril equals torch's on the lower triangle; above it ours is 0 (the value does not
    depend on those entries; torch's cholesky_solve backward gives them a number)."""
    grads = []
    for lib in (tr, torch):
        df, tril = t_of(lib, BIG[:2], True), t_of(lib, np.linalg.cholesky(COV2), True)
        out = D(lib).Wishart(df, scale_tril=tril).log_prob(t_of(lib, VALUE2))
        out.sum().backward()
        grads.append((out.detach().numpy(), np.asarray(df.grad), np.asarray(tril.grad)))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-10)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-10)
    np.testing.assert_allclose(grads[0][2], np.tril(grads[1][2]), rtol=1e-10, atol=1e-12)


def test_straight_through_rsample_is_torch_s():
    """A one-hot draw whose gradient is that of probs (the weights reach probs unchanged), as torch's."""
    grads = []
    for lib in (tr, torch):
        p = t_of(lib, [[0.2, 0.3, 0.5]], True)
        draws = D(lib).OneHotCategoricalStraightThrough(p).rsample((4,))
        assert tuple(draws.shape) == (4, 1, 3) and np.all(draws.detach().numpy().sum(-1) == 1)
        (draws * t_of(lib, np.arange(12.0).reshape(4, 1, 3))).sum().backward()
        grads.append(np.asarray(p.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_expand_is_torch_s():
    for make in (SAMPLED["Gumbel"], SAMPLED["Weibull"], SAMPLED["StudentT"], SAMPLED["HalfNormal"],
                 SAMPLED["FisherSnedecor"], SAMPLED["Pareto"], SAMPLED["NegativeBinomial"],
                 SAMPLED["LowRankMultivariateNormal"], SAMPLED["MixtureSameFamily"], SAMPLED["Kumaraswamy"],
                 lambda lib: D(lib).LogisticNormal(t_of(lib, [[0.3, -0.5]]), t_of(lib, [[1.0, 0.4]]))):
        batch = tuple(make(tr).batch_shape)
        shape = (4,) + batch if batch and batch[-1] != 1 else (4, 5)
        ours, theirs = make(tr).expand(shape), make(torch).expand(shape)
        assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
        assert tuple(ours.event_shape) == tuple(theirs.event_shape)
        assert tuple(ours.sample((2,)).shape) == tuple(theirs.sample((2,)).shape)
        value = theirs.sample((2,))
        np.testing.assert_allclose(ours.log_prob(tr.tensor(value.numpy())).numpy(), theirs.log_prob(value).numpy(),
                                   rtol=1e-10)


REFUSED = {
    "negative cauchy scale": lambda lib: D(lib).Cauchy(t_of(lib, [0.0]), t_of(lib, [-1.0])),
    "zero studentT df": lambda lib: D(lib).StudentT(t_of(lib, [0.0])),
    "negative chi2 df": lambda lib: D(lib).Chi2(t_of(lib, [-1.0])),
    "negative halfnormal scale": lambda lib: D(lib).HalfNormal(t_of(lib, [-1.0])),
    "a negative halfnormal value": lambda lib: D(lib).HalfNormal(t_of(lib, [1.0])).log_prob(t_of(lib, [-1.0])),
    "zero gumbel scale": lambda lib: D(lib).Gumbel(t_of(lib, [0.0]), t_of(lib, [0.0])),
    "a pareto value below scale": lambda lib: D(lib).Pareto(t_of(lib, [1.0]), t_of(lib, [2.0])).log_prob(
        t_of(lib, [0.5])),
    "negative weibull concentration": lambda lib: D(lib).Weibull(t_of(lib, [1.0]), t_of(lib, [-2.0])),
    "a kumaraswamy value above 1": lambda lib: D(lib).Kumaraswamy(t_of(lib, [1.0]), t_of(lib, [2.0])).log_prob(
        t_of(lib, [1.5])),
    "a logistic normal value off the simplex": lambda lib: D(lib).LogisticNormal(
        t_of(lib, [0.0, 0.0]), t_of(lib, [1.0, 1.0])).log_prob(t_of(lib, [0.5, 0.5, 0.5])),
    "negative binomial probs of 1": lambda lib: D(lib).NegativeBinomial(t_of(lib, [2.0]), t_of(lib, [1.0])),
    "negative binomial both": lambda lib: D(lib).NegativeBinomial(t_of(lib, [2.0]), t_of(lib, [0.5]),
                                                                  t_of(lib, [0.5])),
    "a fractional negative binomial value": lambda lib: D(lib).NegativeBinomial(
        t_of(lib, [2.0]), t_of(lib, [0.5])).log_prob(t_of(lib, [1.5])),
    "a 0-d low-rank loc": lambda lib: D(lib).LowRankMultivariateNormal(t_of(lib, 1.0), t_of(lib, W[0]),
                                                                       t_of(lib, POS)),
    "a 1-d cov_factor": lambda lib: D(lib).LowRankMultivariateNormal(t_of(lib, REAL), t_of(lib, POS),
                                                                     t_of(lib, POS)),
    "a cov_factor of the wrong rows": lambda lib: D(lib).LowRankMultivariateNormal(t_of(lib, REAL), t_of(lib, W[0].T),
                                                                                   t_of(lib, POS)),
    "a cov_diag of the wrong size": lambda lib: D(lib).LowRankMultivariateNormal(t_of(lib, REAL), t_of(lib, W[0]),
                                                                                 t_of(lib, POS[:2])),
    "negative cov_diag": lambda lib: D(lib).LowRankMultivariateNormal(t_of(lib, REAL), t_of(lib, W[0]),
                                                                      t_of(lib, -POS)),
    "continuous bernoulli probs above 1, validated": lambda lib: D(lib).ContinuousBernoulli(
        t_of(lib, [1.5]), validate_args=True),
    "continuous bernoulli value above 1": lambda lib: D(lib).ContinuousBernoulli(t_of(lib, [0.3])).log_prob(
        t_of(lib, [1.5])),
    "zero von mises concentration": lambda lib: D(lib).VonMises(t_of(lib, [0.0]), t_of(lib, [0.0])),
    "a multinomial of a tensor count": lambda lib: D(lib).Multinomial(t_of(lib, 3.0), t_of(lib, [0.5, 0.5])),
    "a multinomial value below 0": lambda lib: D(lib).Multinomial(3, t_of(lib, [0.5, 0.5])).log_prob(
        t_of(lib, [-1.0, 2.0])),
    "an lkj dim of 1": lambda lib: D(lib).LKJCholesky(1, t_of(lib, 1.0)),
    "an lkj value that is no correlation factor": lambda lib: D(lib).LKJCholesky(2, t_of(lib, 1.0)).log_prob(
        t_of(lib, [[1.0, 0.0], [0.5, 0.5]])),
    "a generalized pareto value below loc": lambda lib: D(lib).GeneralizedPareto(
        t_of(lib, [1.0]), t_of(lib, [1.0]), t_of(lib, [0.5])).icdf(t_of(lib, [0.5])) + D(lib).GeneralizedPareto(
        t_of(lib, [1.0]), t_of(lib, [1.0]), t_of(lib, [0.5])).log_survival_function(t_of(lib, [0.0])),
    "a wishart df too small": lambda lib: D(lib).Wishart(t_of(lib, [1.5]), t_of(lib, COV2[0])),
    "a wishart with two matrices": lambda lib: D(lib).Wishart(t_of(lib, [5.0]), t_of(lib, COV2[0]),
                                                              scale_tril=t_of(lib, COV2[0])),
    "a wishart value not positive definite": lambda lib: D(lib).Wishart(t_of(lib, [5.0]), t_of(lib, COV2[0])).log_prob(
        t_of(lib, -VALUE2)),
    "a mixture of a non-categorical": lambda lib: D(lib).MixtureSameFamily(D(lib).Normal(0.0, 1.0),
                                                                           D(lib).Normal(t_of(lib, REAL), 1.0)),
    "a mixture of the wrong count": lambda lib: D(lib).MixtureSameFamily(D(lib).Categorical(t_of(lib, [0.5, 0.5])),
                                                                         D(lib).Normal(t_of(lib, REAL), 1.0)),
    "a mixture of incompatible batches": lambda lib: D(lib).MixtureSameFamily(
        D(lib).Categorical(t_of(lib, np.full((2, 3), 1 / 3))), D(lib).Normal(t_of(lib, np.zeros((4, 3))), 1.0)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    with pytest.raises(Exception) as theirs:
        REFUSED[name](torch)
    with pytest.raises(type(theirs.value)) as ours:
        REFUSED[name](tr)
    if type(theirs.value) is ValueError:   # torch's words, up to the repr of tensors
        mine, torch_s = str(ours.value), str(theirs.value)
        if " expected " in torch_s:   # (Wishart's df: the tensor in the middle of the words)
            mine, torch_s = mine.split(" expected ")[1], torch_s.split(" expected ")[1]
        assert mine.split("(")[0] == torch_s.split("(")[0]


def test_arg_constraints_and_supports_are_torch_s():
    for family in ("Cauchy", "StudentT", "Chi2", "FisherSnedecor", "HalfNormal", "HalfCauchy", "Gumbel", "Weibull",
                   "Pareto", "Kumaraswamy", "InverseGamma", "LogisticNormal", "NegativeBinomial",
                   "LowRankMultivariateNormal", "ContinuousBernoulli", "VonMises", "Multinomial", "GeneralizedPareto",
                   "LKJCholesky"):
        ours, theirs = getattr(tr.distributions, family), getattr(torch.distributions, family)
        assert {k: repr(v) for k, v in ours.arg_constraints.items()} == \
            {k: repr(v) for k, v in theirs.arg_constraints.items()}, family
        if not isinstance(theirs.support, property) and family != "Pareto":
            assert repr(ours.support) == repr(theirs.support), family
