"""Two leftovers of the distributions against torch 2.13. Quiet infinities: Pareto's mean (alpha <= 1) and variance
(alpha <= 2) are inf with torch's values and gradients and no numpy RuntimeWarning in the backward walk (main warned
"invalid value" there, where torch says nothing), and kl_divergence's masked branches (x log x at 0, inf - inf) are
computed quietly as torch's. Every warning is an error here. Expand: the TransformedDistribution families keep or
remake their transforms as torch's .expand does (Weibull remakes them from the expanded parameters, the others share
them), with torch's shapes for the transforms' parameters (InverseGamma's exponent 0-d) and torch's log_prob."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def t_of(lib, array, dtype=np.float64, grad=False):
    return lib.tensor(np.array(array, dtype), requires_grad=grad)


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("moment", ["mean", "variance"])
def test_pareto_moments_are_inf_quietly_with_torchs_gradients(moment, dtype):
    results = {}
    for lib in (tr, torch):
        scale = t_of(lib, [1.0, 2.0, 0.5, 1.5, 0.7], dtype, True)
        alpha = t_of(lib, [0.5, 1.5, 2.5, 4.0, 0.9], dtype, True)
        out = getattr(lib.distributions.Pareto(scale, alpha), moment)
        out.sum().backward()
        results[lib] = [out.detach().numpy(), scale.grad.numpy(), alpha.grad.numpy()]
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    for ours, theirs in zip(results[tr], results[torch]):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol)


KL_PAIRS = {
    "Uniform-Gamma": (lambda D, lib: D.Uniform(t_of(lib, [0.0, -1.0, 0.5]), t_of(lib, [1.0, 2.0, 3.0])),
                      lambda D, lib: D.Gamma(t_of(lib, [0.5, 1.0, 2.0]), t_of(lib, [0.5, 1.0, 2.0]))),
    "Uniform-Beta": (lambda D, lib: D.Uniform(t_of(lib, [0.0, -1.0, 0.5]), t_of(lib, [1.0, 2.0, 0.7])),
                     lambda D, lib: D.Beta(t_of(lib, [0.5, 1.0, 2.0]), t_of(lib, [0.5, 1.0, 2.0]))),
    "Uniform-Pareto": (lambda D, lib: D.Uniform(t_of(lib, [0.0, -1.0, 0.5]), t_of(lib, [1.0, 2.0, 3.0])),
                       lambda D, lib: D.Pareto(t_of(lib, [0.2, 0.5, 0.4]), t_of(lib, [3.0, 4.0, 5.0]))),
    "Bernoulli-Poisson": (lambda D, lib: D.Bernoulli(t_of(lib, [0.0, 0.5, 1.0])),
                          lambda D, lib: D.Poisson(t_of(lib, [0.0, 0.5, 1.0]))),
    "Poisson-Poisson": (lambda D, lib: D.Poisson(t_of(lib, [0.0, 0.5, 1.0])),
                        lambda D, lib: D.Poisson(t_of(lib, [0.0, 0.0, 1.0]))),
    "Binomial-Binomial": (lambda D, lib: D.Binomial(3, t_of(lib, [0.0, 0.5, 1.0])),
                          lambda D, lib: D.Binomial(3, t_of(lib, [0.0, 1.0, 1.0]))),
}


@pytest.mark.parametrize("pair", list(KL_PAIRS))
def test_kl_divergence_masked_branches_are_quiet_with_torchs_values(pair):
    make_p, make_q = KL_PAIRS[pair]
    values = [lib.distributions.kl_divergence(make_p(lib.distributions, lib), make_q(lib.distributions, lib))
              .detach().numpy() for lib in (tr, torch)]
    np.testing.assert_allclose(values[0], values[1], rtol=1e-12, atol=1e-12)


def _two(lib):
    return t_of(lib, [1.0, 2.0]), t_of(lib, [0.5, 3.0])


FAMILIES = {
    "Weibull": lambda D, lib: D.Weibull(*_two(lib)),
    "Gumbel": lambda D, lib: D.Gumbel(*_two(lib)),
    "Pareto": lambda D, lib: D.Pareto(*_two(lib)),
    "Kumaraswamy": lambda D, lib: D.Kumaraswamy(*_two(lib)),
    "InverseGamma": lambda D, lib: D.InverseGamma(*_two(lib)),
    "HalfNormal": lambda D, lib: D.HalfNormal(_two(lib)[0]),
    "HalfCauchy": lambda D, lib: D.HalfCauchy(_two(lib)[0]),
    "TransformedDistribution": lambda D, lib: D.TransformedDistribution(
        D.Normal(*_two(lib)), [D.AffineTransform(_two(lib)[0], 2.0), D.ExpTransform()]),
}


def _described(dist, expanded):
    """Whether the transforms are the original's (the list, each transform), and each transform's parameters'
    shapes."""
    shapes = [sorted((name, tuple(value.shape)) for name, value in vars(t).items()
                     if name in ("exponent", "loc", "scale") and hasattr(value, "shape")) for t in expanded.transforms]
    shared = [a is b for a, b in zip(expanded.transforms, dist.transforms)]
    return expanded.transforms is dist.transforms, shared, shapes, tuple(expanded.base_dist.batch_shape)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_expand_keeps_or_remakes_the_transforms_as_torchs(name):
    results = {}
    for lib in (tr, torch):
        dist = FAMILIES[name](lib.distributions, lib)
        expanded = dist.expand((3, 2))
        value = t_of(lib, np.array([[0.3, 0.6], [0.9, 0.2], [0.5, 0.8]]) + (2.0 if name == "Pareto" else 0.0))
        results[lib] = (_described(dist, expanded), tuple(expanded.batch_shape),
                        expanded.log_prob(value).detach().numpy())
    assert results[tr][:2] == results[torch][:2]
    np.testing.assert_allclose(results[tr][2], results[torch][2], rtol=1e-12)


@pytest.mark.parametrize("q_name", ["Gamma", "Beta"])
def test_uniform_kl_from_zero_is_torchs_x_log_x_with_gradients(q_name):
    """x log x is 0 at x = 0 in torch's KL(Uniform || Gamma/Beta) (xlogy); main's x * log(x) made it nan."""
    results = {}
    for lib in (tr, torch):
        low, high = t_of(lib, [0.0, 0.2], grad=True), t_of(lib, [1.0, 0.7], grad=True)
        conc = t_of(lib, [0.5, 2.0], grad=True)
        q = getattr(lib.distributions, q_name)(conc, conc.detach() * 0 + 1.5)
        kl = lib.distributions.kl_divergence(lib.distributions.Uniform(low, high), q)
        kl.sum().backward()
        results[lib] = [kl.detach().numpy(), low.grad.numpy(), high.grad.numpy(), conc.grad.numpy()]
    for ours, theirs in zip(results[tr], results[torch]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
