"""tr.distributions.Categorical, Bernoulli and Normal against torch.distributions (torch 2.13): log_prob,
entropy, mean, variance, cdf and their gradients with respect to the parameters equal torch's on the same
parameters; samples have torch's shapes and dtypes and the right distribution (moments over many draws);
rsample passes gradients as torch's reparameterisation does; torch's validation errors."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def t_of(lib, array, grad=False):
    return torch.tensor(array, requires_grad=grad) if lib is torch else tr.tensor(array, requires_grad=grad)


def grads(lib, make, arrays, method):
    """Run dist.method(...) summed with weights, backward; (the values, each parameter's gradient)."""
    params = [t_of(lib, a, grad=True) for a in arrays]
    out = method(lib, make(lib, *params))
    weights = np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape))
    (out * t_of(lib, weights)).sum().backward()
    values = out.detach().numpy() if lib is torch else out.data
    return [values] + [np.asarray(p.grad) if p.grad is not None else None for p in params]


RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((4, 5))
PROBS = RNG.uniform(0.05, 1, (4, 5))
CASES = {
    "categorical logits log_prob": (lambda lib, l: lib.distributions.Categorical(logits=l), [LOGITS],
                                    lambda lib, d: d.log_prob(t_of(lib, np.array([0, 4, 2, 1])))),
    "categorical logits log_prob broadcast": (lambda lib, l: lib.distributions.Categorical(logits=l), [LOGITS],
                                              lambda lib, d: d.log_prob(t_of(lib, np.array([[0], [3]])))),
    "categorical probs entropy": (lambda lib, p: lib.distributions.Categorical(probs=p), [PROBS],
                                  lambda lib, d: d.entropy()),
    "categorical logits entropy": (lambda lib, l: lib.distributions.Categorical(logits=l), [LOGITS],
                                   lambda lib, d: d.entropy()),
    "categorical probs log_prob": (lambda lib, p: lib.distributions.Categorical(probs=p), [PROBS],
                                   lambda lib, d: d.log_prob(t_of(lib, np.array([1, 1, 3, 0])))),
    "bernoulli logits log_prob": (lambda lib, l: lib.distributions.Bernoulli(logits=l), [LOGITS[0]],
                                  lambda lib, d: d.log_prob(t_of(lib, np.array([1.0, 0, 1, 1, 0])))),
    "bernoulli probs entropy": (lambda lib, p: lib.distributions.Bernoulli(probs=p), [PROBS[0] / 1.1],
                                lambda lib, d: d.entropy()),
    "bernoulli probs variance": (lambda lib, p: lib.distributions.Bernoulli(probs=p), [PROBS[0] / 1.1],
                                 lambda lib, d: d.variance),
    "normal log_prob": (lambda lib, m, s: lib.distributions.Normal(m, s), [LOGITS[0], PROBS[0]],
                        lambda lib, d: d.log_prob(t_of(lib, np.linspace(-1, 1, 5)))),
    "normal entropy": (lambda lib, m, s: lib.distributions.Normal(m, s), [LOGITS[0], PROBS[0]],
                       lambda lib, d: d.entropy() + d.mean * 0),
    "normal cdf": (lambda lib, m, s: lib.distributions.Normal(m, s), [LOGITS[0], PROBS[0]],
                   lambda lib, d: d.cdf(t_of(lib, np.linspace(-1, 1, 5)))),
    "normal broadcast scale": (lambda lib, m, s: lib.distributions.Normal(m, s), [LOGITS, PROBS[0]],
                               lambda lib, d: d.log_prob(t_of(lib, np.zeros((4, 5))))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_are_torch_s(name):
    make, arrays, method = CASES[name]
    ours, theirs = grads(tr, make, arrays, method), grads(torch, make, arrays, method)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_samples_have_torch_s_shapes_dtypes_and_distributions(dtype):
    tr.manual_seed(0)
    logits = LOGITS.astype(dtype)
    for lib in (tr, torch):
        D = lib.distributions
        for dist, sample_shape in ((D.Categorical(logits=t_of(lib, logits)), (3,)),
                                   (D.Bernoulli(logits=t_of(lib, logits)), (2, 3)),
                                   (D.Normal(t_of(lib, logits), 1.0), ()),
                                   (D.Normal(0.0, 1.0), (5,))):
            s = dist.sample(sample_shape)
            assert (tuple(s.shape), str(s.dtype).replace("torch.", "")) == \
                (sample_shape + tuple(dist.batch_shape), "int64" if isinstance(dist, D.Categorical) else
                 (dtype if not (isinstance(dist, D.Normal) and dist.loc.ndim == 0) else "float32"))
    n = 100_000
    probs = np.exp(LOGITS[0]) / np.exp(LOGITS[0]).sum()
    drawn = tr.distributions.Categorical(logits=tr.tensor(LOGITS[0])).sample((n,)).data
    assert np.all(np.abs(np.bincount(drawn, minlength=5) / n - probs) < 6 * np.sqrt(probs / n))
    bern = tr.distributions.Bernoulli(probs=tr.tensor(np.full(n, 0.3))).sample().data
    assert abs(bern.mean() - 0.3) < 6 * np.sqrt(0.21 / n)
    normal = tr.distributions.Normal(tr.tensor(2.0), tr.tensor(0.5)).sample((n,)).data
    assert abs(normal.mean() - 2) < 6 * 0.5 / np.sqrt(n) and abs(normal.std() - 0.5) < 0.01


def test_rsample_is_differentiable_and_sample_is_not_as_torch():
    loc, scale = tr.tensor(np.zeros(3), requires_grad=True), tr.tensor(np.full(3, 2.0), requires_grad=True)
    dist = tr.distributions.Normal(loc, scale)
    tr.manual_seed(1)
    x = dist.rsample((4,))
    x.sum().backward()
    tr.manual_seed(1)
    noise = (dist.rsample((4,)).data - 0.0) / 2.0
    np.testing.assert_allclose(np.asarray(loc.grad), np.full(3, 4.0))
    np.testing.assert_allclose(np.asarray(scale.grad), noise.sum(0))
    assert not dist.sample((2,)).requires_grad
    assert torch.distributions.Normal(torch.zeros(3, requires_grad=True), 1.0).rsample().requires_grad


REFUSED = {
    "negative probs": lambda lib: lib.distributions.Categorical(probs=lib.tensor([0.5, -0.1, 0.6])),
    "neither probs nor logits": lambda lib: lib.distributions.Categorical(),
    "both": lambda lib: lib.distributions.Categorical(probs=lib.ones(3), logits=lib.ones(3)),
    "category out of range": lambda lib: lib.distributions.Categorical(logits=lib.zeros(2, 3)).log_prob(
        lib.tensor(3)),
    "a fraction of a category": lambda lib: lib.distributions.Categorical(logits=lib.zeros(2, 3)).log_prob(
        lib.tensor(1.5)),
    "negative scale": lambda lib: lib.distributions.Normal(0.0, -1.0),
    "probability above 1": lambda lib: lib.distributions.Bernoulli(probs=lib.tensor([1.2])),
    "a bernoulli value of 0.5": lambda lib: lib.distributions.Bernoulli(logits=lib.zeros(3)).log_prob(
        lib.tensor([0.5, 1.0, 0.0])),
    "an int sample shape": lambda lib: lib.distributions.Categorical(logits=lib.zeros(3)).sample(4),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))


def test_validate_args_false_lets_values_through_as_torch():
    ours = tr.distributions.Normal(0.0, -1.0, validate_args=False)
    theirs = torch.distributions.Normal(0.0, -1.0, validate_args=False)
    np.testing.assert_allclose(ours.log_prob(0.5).data, theirs.log_prob(torch.tensor(0.5)).numpy(), equal_nan=True)
