"""tr.distributions.transforms, biject_to / transform_to and TransformedDistribution against torch.distributions
(torch 2.13): each transform's forward, inverse and log_abs_det_jacobian with their gradients, its sign, shapes,
domain and codomain; caching by identity (cache_size=1); the registries' choice of transform per constraint; a
TransformedDistribution's shapes, log_prob, cdf, icdf, support and reparameterised draws."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
X = RNG.standard_normal((2, 3))
POS = RNG.uniform(0.3, 2.0, (2, 3))
SIMPLEX = np.exp(X) / np.exp(X).sum(-1, keepdims=True)
SQUARE = RNG.standard_normal((2, 3, 3))
TRIL_VEC = RNG.standard_normal((2, 3))   # D(D-1)/2 = 3 for D = 3
D = lambda lib: lib.distributions  # noqa: E731


def t_of(lib, array, grad=False):
    array = np.array(array, np.float64)
    return torch.tensor(array, requires_grad=grad) if lib is torch else tr.tensor(array, requires_grad=grad)


def numpy_of(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


# name: (make(lib), x in the domain)
TRANSFORMS = {
    "Exp": (lambda lib: D(lib).ExpTransform(), X),
    "Affine numbers": (lambda lib: D(lib).AffineTransform(1.5, -2.0), X),
    "Affine tensors": (lambda lib: D(lib).AffineTransform(t_of(lib, X[0]), t_of(lib, POS[1])), X),
    "Affine event_dim 1": (lambda lib: D(lib).AffineTransform(t_of(lib, X[0]), t_of(lib, POS[1]), event_dim=1), X),
    "Sigmoid": (lambda lib: D(lib).SigmoidTransform(), X),
    "Softplus": (lambda lib: D(lib).SoftplusTransform(), X),
    "Tanh": (lambda lib: D(lib).TanhTransform(), X),
    "Power": (lambda lib: D(lib).PowerTransform(t_of(lib, [0.5, 2.0, -1.5])), POS),
    "Softmax": (lambda lib: D(lib).SoftmaxTransform(), X),
    "StickBreaking": (lambda lib: D(lib).StickBreakingTransform(), X),
    "LowerCholesky": (lambda lib: D(lib).LowerCholeskyTransform(), SQUARE),
    "PositiveDefinite": (lambda lib: D(lib).PositiveDefiniteTransform(), SQUARE),
    "CorrCholesky": (lambda lib: D(lib).CorrCholeskyTransform(), TRIL_VEC),
    "Compose": (lambda lib: D(lib).ComposeTransform([D(lib).AffineTransform(0.5, 2.0), D(lib).ExpTransform(),
                                                     D(lib).PowerTransform(t_of(lib, 1.5))]), X),
    "Compose over vectors": (lambda lib: D(lib).ComposeTransform([D(lib).ExpTransform(),
                                                                  D(lib).StickBreakingTransform()]), X),
    "Independent": (lambda lib: D(lib).IndependentTransform(D(lib).SigmoidTransform(), 1), X),
    "Reshape": (lambda lib: D(lib).ReshapeTransform((3,), (3, 1)), X),
    "Cat": (lambda lib: D(lib).CatTransform([D(lib).ExpTransform(), D(lib).SigmoidTransform()], dim=-1,
                                            lengths=[1, 2]), X),
    "Stack": (lambda lib: D(lib).StackTransform([D(lib).ExpTransform(), D(lib).TanhTransform()], dim=0), X),
    "CumulativeDistribution": (lambda lib: D(lib).CumulativeDistributionTransform(
        D(lib).Normal(t_of(lib, X[1]), t_of(lib, POS[0]))), X),
    "inverse of Exp": (lambda lib: D(lib).ExpTransform().inv, POS),
    "inverse of StickBreaking": (lambda lib: D(lib).StickBreakingTransform().inv, SIMPLEX),
}


def run(lib, name):
    """y = t(x), t.inv(y) from a fresh y, log_abs_det_jacobian (where torch has one), and the gradient in x of a
    weighted sum of them all."""
    make, x = TRANSFORMS[name]
    t = make(lib)
    xt = t_of(lib, x, True)
    y = t(xt)
    back = t.inv(t_of(lib, numpy_of(y), False))
    outs = [y, back]
    try:
        outs.append(t.log_abs_det_jacobian(xt, y))
    except NotImplementedError:
        outs.append(None)
    total = 0
    for out in outs:
        if out is not None:
            w = np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape))
            total = total + (out * t_of(lib, w)).sum()
    total.backward()
    return [None if o is None else numpy_of(o) for o in outs] + [np.asarray(xt.grad)]


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_forward_inverse_jacobian_and_gradients_are_torch_s(name):
    ours, theirs = run(tr, name), run(torch, name)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if b is not None:
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_attributes_are_torch_s(name):
    """bijective, sign, the domain's and codomain's repr and event_dim, forward_shape / inverse_shape, repr."""
    ours, theirs = TRANSFORMS[name][0](tr), TRANSFORMS[name][0](torch)
    shape = TRANSFORMS[name][1].shape
    assert ours.bijective == theirs.bijective
    assert repr(ours.domain) == repr(theirs.domain) and repr(ours.codomain) == repr(theirs.codomain)
    assert ours.domain.event_dim == theirs.domain.event_dim
    assert ours.codomain.event_dim == theirs.codomain.event_dim
    assert tuple(ours.forward_shape(shape)) == tuple(theirs.forward_shape(torch.Size(shape)))
    out_shape = tuple(theirs.forward_shape(torch.Size(shape)))
    assert tuple(ours.inverse_shape(out_shape)) == tuple(theirs.inverse_shape(torch.Size(out_shape)))
    try:
        want = theirs.sign
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            assert ours.sign is None
    else:
        got = ours.sign
        np.testing.assert_array_equal(np.asarray(got.numpy() if hasattr(got, "numpy") else got),
                                      np.asarray(want.numpy() if hasattr(want, "numpy") else want))
    if "\n" not in repr(theirs) and "Transform(" not in repr(theirs)[:-1]:
        assert repr(ours) == repr(theirs)


def test_inverse_of_inverse_equality_and_caching_are_torch_s():
    for lib in (tr, torch):
        t = D(lib).ExpTransform()
        assert t.inv.inv is t and t.inv == D(lib).ExpTransform().inv and t == D(lib).ExpTransform()
        assert D(lib).AffineTransform(1.0, 2.0) == D(lib).AffineTransform(1.0, 2.0)
        assert D(lib).AffineTransform(1.0, 2.0) != D(lib).AffineTransform(1.0, 3.0)
        cached = D(lib).ExpTransform(cache_size=1)
        x = t_of(lib, X)
        y = cached(x)
        assert cached.inv(y) is x and cached(x) is y
        assert D(lib).ExpTransform().inv(y) is not x
        composed = D(lib).ComposeTransform([D(lib).ExpTransform(), D(lib).AffineTransform(0.0, 2.0)], cache_size=1)
        assert composed.inv(composed(x)) is x
        assert t.with_cache(1)._cache_size == 1
    raises_as_torch(lambda: torch.distributions.ExpTransform(cache_size=2),
                    lambda: tr.distributions.ExpTransform(cache_size=2), "cache_size must be 0 or 1")
    raises_as_torch(lambda: torch.distributions.ReshapeTransform((2, 3), (4,)),
                    lambda: tr.distributions.ReshapeTransform((2, 3), (4,)), "different numbers of elements")
    raises_as_torch(lambda: torch.distributions.StickBreakingTransform().forward_shape(()),
                    lambda: tr.distributions.StickBreakingTransform().forward_shape(()), "Too few dimensions")
    raises_as_torch(lambda: torch.distributions.CorrCholeskyTransform().forward_shape((4,)),
                    lambda: tr.distributions.CorrCholeskyTransform().forward_shape((4,)), "lower-diagonal")


def _constraints(lib):
    c = lib.distributions.constraints
    return {"real": c.real, "positive": c.positive, "nonnegative": c.nonnegative, "greater_than": c.greater_than(1.5),
            "greater_than_eq": c.greater_than_eq(-1.0), "less_than": c.less_than(2.0),
            "unit_interval": c.unit_interval, "interval": c.interval(-1.0, 3.0),
            "half_open_interval": c.half_open_interval(0.0, 2.0), "real_vector": c.real_vector,
            "simplex": c.simplex, "independent positive": c.independent(c.positive, 1),
            "corr_cholesky": c.corr_cholesky, "lower_cholesky": c.lower_cholesky,
            "positive_definite": c.positive_definite, "cat": c.cat([c.positive, c.real], -1, [1, 2]),
            "stack": c.stack([c.positive, c.unit_interval], 0)}


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", sorted(_constraints(tr)))
def test_biject_to_and_transform_to_are_torch_s(registry, name):
    """The same transform (by type and values) for each constraint, or torch's NotImplementedError."""
    def apply(lib):
        t = getattr(lib.distributions, registry)(_constraints(lib)[name])
        x = t_of(lib, SQUARE[:2] if name in ("lower_cholesky", "positive_definite") else X)
        y = t(x)
        return type(t).__name__, numpy_of(y), numpy_of(t.log_abs_det_jacobian(x, y)) if t.bijective else None
    try:
        theirs = apply(torch)
    except NotImplementedError:
        raises_as_torch(lambda: apply(torch), lambda: apply(tr))
        return
    ours = apply(tr)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    if theirs[2] is not None:
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12, atol=1e-14)
    assert np.all(_constraints(tr)[name].check(tr.tensor(ours[1])))


def test_registries_refuse_as_torch():
    for registry in ("biject_to", "transform_to"):
        raises_as_torch(lambda r=registry: getattr(torch.distributions, r)(torch.distributions.constraints.boolean),
                        lambda r=registry: getattr(tr.distributions, r)(tr.distributions.constraints.boolean),
                        "Cannot transform")
    raises_as_torch(lambda: torch.distributions.biject_to.register(3, lambda c: None),
                    lambda: tr.distributions.biject_to.register(3, lambda c: None))


TRANSFORMED = {   # name: (make(lib, *params), params, value)
    "lognormal by hand": (lambda lib, m, s: D(lib).TransformedDistribution(
        D(lib).Normal(m, s), [D(lib).AffineTransform(0.5, 2.0), D(lib).ExpTransform()]), [X[0], POS[0]], POS[1]),
    "decreasing": (lambda lib, m, s: D(lib).TransformedDistribution(
        D(lib).Normal(m, s), D(lib).AffineTransform(1.0, -3.0)), [X[0], POS[0]], X[1]),
    "stick breaking of a vector": (lambda lib, m, s: D(lib).TransformedDistribution(
        D(lib).Normal(m, s), [D(lib).StickBreakingTransform()]), [X, POS], np.stack([SIMPLEX[1], SIMPLEX[0]])[:, :3]
        / np.stack([SIMPLEX[1], SIMPLEX[0]])[:, :3].sum(-1, keepdims=True) * 0.9),
    "logistic": (lambda lib, m, s: D(lib).TransformedDistribution(
        D(lib).Uniform(m * 0, m * 0 + 1), [D(lib).SigmoidTransform().inv, D(lib).AffineTransform(m, s)]),
        [X[0], POS[0]], X[1]),
}


def _transformed(lib, name, method):
    make, params, value = TRANSFORMED[name]
    tensors = [t_of(lib, p, True) for p in params]
    dist = make(lib, *tensors)
    if name == "stick breaking of a vector":   # a value on the simplex of 4
        value = np.concatenate([value, 1 - value.sum(-1, keepdims=True)], -1)
    out = {"log_prob": lambda: dist.log_prob(t_of(lib, value)), "cdf": lambda: dist.cdf(t_of(lib, value)),
           "icdf": lambda: dist.icdf(t_of(lib, np.linspace(0.2, 0.8, value.shape[-1])))}[method]()
    w = np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape))
    (out * t_of(lib, w)).sum().backward()
    return [numpy_of(out)] + [np.asarray(t.grad) for t in tensors], dist


@pytest.mark.parametrize("name,method", [(n, m) for n in TRANSFORMED for m in ("log_prob", "cdf", "icdf")
                                         if not (n == "stick breaking of a vector" and m != "log_prob")])
def test_transformed_distribution_is_torch_s(name, method):
    (ours, d_ours), (theirs, d_theirs) = _transformed(tr, name, method), _transformed(torch, name, method)
    assert tuple(d_ours.batch_shape) == tuple(d_theirs.batch_shape)
    assert tuple(d_ours.event_shape) == tuple(d_theirs.event_shape)
    assert repr(d_ours.support) == repr(d_theirs.support) and d_ours.has_rsample == d_theirs.has_rsample
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_transformed_samples_and_rsample_as_torch():
    """Shapes as torch's; the draws of exp(2 X + 0.5) have the log-normal's mean; rsample passes gradients."""
    tr.manual_seed(0)
    loc = tr.tensor(np.array([0.1, -0.2]), requires_grad=True)
    ours = tr.distributions.TransformedDistribution(tr.distributions.Normal(loc, 0.3),
                                                    [tr.distributions.AffineTransform(0.5, 2.0),
                                                     tr.distributions.ExpTransform()])
    theirs = torch.distributions.TransformedDistribution(torch.distributions.Normal(torch.tensor([0.1, -0.2]), 0.3),
                                                         [torch.distributions.AffineTransform(0.5, 2.0),
                                                          torch.distributions.ExpTransform()])
    assert tuple(ours.sample((4, 5)).shape) == tuple(theirs.sample((4, 5)).shape)
    assert not ours.sample().requires_grad
    n = 200_000
    drawn = ours.rsample((n,))
    want = np.exp(0.5 + 2 * np.array([0.1, -0.2]) + (2 * 0.3) ** 2 / 2)
    sd = np.sqrt((np.exp((2 * 0.3) ** 2) - 1)) * want
    assert np.all(np.abs(drawn.detach().numpy().mean(0) - want) < 6 * sd / np.sqrt(n))
    drawn.mean(0).sum().backward()
    np.testing.assert_allclose(loc.grad, 2 * want, rtol=0.03)   # d E / d loc = 2 E
    expanded_ours, expanded_theirs = ours.expand((3, 2)), theirs.expand((3, 2))
    assert tuple(expanded_ours.batch_shape) == tuple(expanded_theirs.batch_shape)
    assert tuple(expanded_ours.sample((2,)).shape) == tuple(expanded_theirs.sample((2,)).shape)


REFUSED = {
    "transforms not a list": lambda lib: D(lib).TransformedDistribution(D(lib).Normal(0.0, 1.0),
                                                                        (D(lib).ExpTransform(),)),
    "a list of non-transforms": lambda lib: D(lib).TransformedDistribution(D(lib).Normal(0.0, 1.0), [3]),
    "a 0-d base for a vector transform": lambda lib: D(lib).TransformedDistribution(
        D(lib).Normal(0.0, 1.0), [D(lib).StickBreakingTransform()]),
    "a value outside the support": lambda lib: D(lib).TransformedDistribution(
        D(lib).Normal(0.0, 1.0), [D(lib).ExpTransform()]).log_prob(t_of(lib, [-1.0])),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_transformed_distribution_refuses_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
