"""The random tensors as torch 2.13's: tr.randint, tr.randperm, tr.randn_like / rand_like / randint_like,
tr.normal, tr.bernoulli, and x.normal_() / uniform_() / exponential_() / bernoulli_() in place.

The numbers are numpy's, not torch's (another generator), so each call is held to torch's by what can be
compared: the shape, dtype and requires_grad of the result, the zero gradient of a sample, the error (type and
words) for arguments torch refuses; and to the distribution itself by its moments and support over many draws
(tolerances of several standard errors). tr.manual_seed and generator= make draws repeat."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def described(t):
    """(shape, dtype name, requires_grad) of a tr or torch tensor."""
    return tuple(t.shape), str(t.dtype).replace("torch.", ""), bool(t.requires_grad)


# calls written once for both libraries: lib is torch or tr
FACTORIES = {
    "randint(high, size)": lambda lib: lib.randint(5, (2, 3)),
    "randint(low, high, size)": lambda lib: lib.randint(-3, 4, (7,)),
    "randint(high=, size=)": lambda lib: lib.randint(high=3, size=(2,)),
    "randint(low, high, size=)": lambda lib: lib.randint(1, 3, size=(2, 2)),
    "randint dtype float32": lambda lib: lib.randint(5, (3,), dtype=lib.float32),
    "randint dtype float64 requires_grad": lambda lib: lib.randint(5, (3,), dtype=lib.float64, requires_grad=True),
    "randint 0-d size": lambda lib: lib.randint(3, ()),
    "randperm": lambda lib: lib.randperm(6),
    "randperm(0)": lambda lib: lib.randperm(0),
    "randperm float32": lambda lib: lib.randperm(4, dtype=lib.float32),
    "randn_like float64": lambda lib: lib.randn_like(lib.zeros(2, 3, dtype=lib.float64)),
    "randn_like dtype": lambda lib: lib.randn_like(lib.zeros(2), dtype=lib.float64),
    "rand_like requires_grad": lambda lib: lib.rand_like(lib.zeros(4), requires_grad=True),
    "randint_like(x, high)": lambda lib: lib.randint_like(lib.zeros(3), 5),
    "randint_like(x, low, high)": lambda lib: lib.randint_like(lib.zeros(2, 2, dtype=lib.float64), 2, 5),
    "randint_like int64": lambda lib: lib.randint_like(lib.zeros(3, dtype=lib.int64), 7),
    "normal(Tensor, float)": lambda lib: lib.normal(lib.zeros(3), 2.0),
    "normal(float, Tensor)": lambda lib: lib.normal(1.0, lib.ones(2, 2, dtype=lib.float64)),
    "normal(Tensor, Tensor) broadcast": lambda lib: lib.normal(lib.zeros(2, 1), lib.ones(3)),
    "normal(float, float, size)": lambda lib: lib.normal(0.0, 1.0, (2, 3)),
    "normal(float, float, size=)": lambda lib: lib.normal(2.0, 0.5, size=(4,)),
    "normal(Tensor requiring grad)": lambda lib: lib.normal(lib.zeros(3, requires_grad=True), 1.0),
    "bernoulli(probs)": lambda lib: lib.bernoulli(lib.full((3, 2), 0.3)),
    "bernoulli(probs, p)": lambda lib: lib.bernoulli(lib.zeros(4, dtype=lib.float64), 0.5),
    "bernoulli(probs requiring grad)": lambda lib: lib.bernoulli(lib.full((3,), 0.5, requires_grad=True)),
    "x.bernoulli()": lambda lib: lib.full((2,), 0.5).bernoulli(),
    "x.bernoulli(p)": lambda lib: lib.zeros(2, dtype=lib.float64).bernoulli(0.2),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_the_result_is_described_as_torch_s(name):
    call = FACTORIES[name]
    assert described(call(tr)) == described(call(torch))


IN_PLACE = {
    "normal_()": lambda x: x.normal_(),
    "normal_(mean, std)": lambda x: x.normal_(2.0, 0.5),
    "uniform_()": lambda x: x.uniform_(),
    "uniform_(a, b)": lambda x: x.uniform_(-1.0, 3.0),
    "exponential_()": lambda x: x.exponential_(),
    "exponential_(lambd)": lambda x: x.exponential_(3.0),
    "bernoulli_()": lambda x: x.bernoulli_(),
    "bernoulli_(p)": lambda x: x.bernoulli_(0.25),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_draws_return_the_tensor_itself_with_its_shape_and_dtype(name, dtype):
    for lib in (tr, torch):
        x = lib.zeros(3, 4, dtype=getattr(lib, dtype))
        out = IN_PLACE[name](x)
        assert out is x and described(x) == ((3, 4), dtype, False)


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_a_parameter_is_refused_with_grad_mode_on_as_torch(name):
    fill = IN_PLACE[name]
    raises_as_torch(lambda: fill(torch.zeros(3, requires_grad=True)), lambda: fill(tr.zeros(3, requires_grad=True)),
                    "leaf")


def test_a_parameter_is_written_under_no_grad_its_views_see_it_and_its_version_moves():
    p = tr.zeros(2, 3, requires_grad=True)
    view, version = p[0], p._version
    with tr.no_grad():
        p.uniform_(1.0, 2.0)
    assert p._version == version + 1 and np.all((p._data >= 1) & (p._data < 2))
    np.testing.assert_array_equal(view._data, p._data[0])   # its memory written: views taken before see it


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_a_computed_tensor_drawn_over_passes_a_zero_gradient_as_torch(name):
    grads = []
    for lib in (tr, torch):
        p = lib.ones(2, 3, dtype=lib.float64, requires_grad=True)
        y = p * 2
        IN_PLACE[name](y)
        assert y.requires_grad
        (y * 3 + p).sum().backward()
        grads.append(np.asarray(p.grad))
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize("which", ["mean", "std", "both", "bernoulli"])
def test_a_sample_of_tensors_requiring_grad_gives_them_torch_s_zero_gradients(which):
    def run(lib):
        m = lib.full((2, 3), 0.4, dtype=lib.float64, requires_grad=True)
        s = lib.ones(3, dtype=lib.float64, requires_grad=which in ("std", "both"))
        if which == "bernoulli":
            out = lib.bernoulli(m)
        elif which == "std":
            out = lib.normal(0.5, s)
        else:
            out = lib.normal(m, s if which == "both" else 1.0)
        (out * 5).sum().backward()
        return [None if t.grad is None else np.asarray(t.grad) for t in (m, s)]
    for ours, theirs in zip(run(tr), run(torch)):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_array_equal(ours, theirs)


REFUSED = {
    "randint high == low": (lambda lib: lib.randint(3, 3, (2,)), "expects 'from' to be less than 'to'"),
    "randint int size": (lambda lib: lib.randint(3, 2), "size"),
    "randint float high": (lambda lib: lib.randint(3.5, (2,)), "high"),
    "randint requires_grad int64": (lambda lib: lib.randint(3, (2,), requires_grad=True), "require"),
    "randint bool out of range": (lambda lib: lib.randint(3, (2,), dtype=lib.bool), "bool"),
    "randperm negative": (lambda lib: lib.randperm(-1), "negative dimension -1"),
    "randn_like int64": (lambda lib: lib.randn_like(lib.zeros(3, dtype=lib.int64)), "not implemented"),
    "rand_like int64": (lambda lib: lib.rand_like(lib.zeros(3, dtype=lib.int64)), "not implemented"),
    "normal negative std": (lambda lib: lib.normal(0.0, -1.0, (2,)), r"normal expects std >= 0.0, but found std -1"),
    "normal tensor negative std": (lambda lib: lib.normal(lib.zeros(2), lib.tensor([1.0, -1.0])),
                                   "normal expects all elements of std >= 0.0"),
    "normal shapes": (lambda lib: lib.normal(lib.zeros(3), lib.ones(2)), "3"),
    "normal numbers without size": (lambda lib: lib.normal(0.0, 1.0), None),
    "bernoulli probability > 1": (lambda lib: lib.bernoulli(lib.full((3,), 1.5)), r"p_in >= 0 && p_in <= 1"),
    "bernoulli_ p > 1": (lambda lib: lib.zeros(3).bernoulli_(1.5), r"bernoulli_ expects p to be in \[0, 1\]"),
    "bernoulli_ p of another shape": (lambda lib: lib.zeros(2, 3).bernoulli_(lib.full((4,), 0.5)), None),
    "uniform_ from > to": (lambda lib: lib.zeros(3).uniform_(1.0, 0.0),
                           r"uniform_ expects to return a \[from, to\) range, but found from=1 > to=0"),
    "normal_ negative std": (lambda lib: lib.zeros(3).normal_(0.0, -1.0), "std >= 0.0"),
    "normal_ int64": (lambda lib: lib.zeros(3, dtype=lib.int64).normal_(), "not implemented"),
    "uniform_ int64": (lambda lib: lib.zeros(3, dtype=lib.int64).uniform_(), None),
    "exponential_ lambda 0": (lambda lib: lib.zeros(3).exponential_(0.0), "exponential_ expects lambda > 0.0"),
    "exponential_ negative lambda": (lambda lib: lib.zeros(3).exponential_(-1.0), "lambda=-1"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch_refuses(name):
    call, words = REFUSED[name]
    raises_as_torch(lambda: call(torch), lambda: call(tr), words)


def test_a_generator_that_is_not_numpy_s_is_a_type_error_naming_it():
    for call in (lambda: tr.randn(2, generator=5), lambda: tr.rand(2, generator="x"),
                 lambda: tr.randint(3, (2,), generator=1), lambda: tr.randperm(3, generator=torch.Generator()),
                 lambda: tr.zeros(2).normal_(generator=object())):
        with pytest.raises(TypeError, match="generator must be a tr.Generator, a numpy Generator"):
            call()


def test_draws_repeat_with_manual_seed_and_with_a_generator_of_their_own():
    def draws():
        return [tr.randint(0, 10, (5,))._data, tr.randperm(7)._data, tr.normal(0.0, 1.0, (3,))._data,
                tr.bernoulli(tr.full((6,), 0.5))._data, tr.zeros(4).uniform_(-1.0, 1.0)._data,
                tr.zeros(4).exponential_()._data, tr.randn_like(tr.zeros(2))._data]
    tr.manual_seed(11)
    first = draws()
    tr.manual_seed(11)
    for a, b in zip(first, draws()):
        np.testing.assert_array_equal(a, b)
    ours = [tr.randperm(9, generator=np.random.default_rng(3))._data for _ in range(2)]
    np.testing.assert_array_equal(ours[0], ours[1])


N = 200_000


def _close(estimate, expected, spread):
    """Within 6 standard errors of N draws whose standard deviation is spread."""
    assert abs(estimate - expected) < 6 * spread / np.sqrt(N), (estimate, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_distributions_have_torch_s_moments_and_support(dtype):
    tr.manual_seed(0)
    dt = getattr(tr, dtype)
    x = tr.zeros(N, dtype=dt).normal_(2.0, 0.5)._data.astype(np.float64)
    _close(x.mean(), 2.0, 0.5)
    _close(x.std(), 0.5, 0.5 / np.sqrt(2))
    u = tr.zeros(N, dtype=dt).uniform_(-1.0, 3.0)._data.astype(np.float64)
    assert u.min() >= -1.0 and u.max() <= 3.0
    _close(u.mean(), 1.0, 4 / np.sqrt(12))
    e = tr.zeros(N, dtype=dt).exponential_(4.0)._data.astype(np.float64)
    assert e.min() >= 0
    _close(e.mean(), 0.25, 0.25)
    b = tr.zeros(N, dtype=dt).bernoulli_(0.3)._data
    assert set(np.unique(b)) <= {0.0, 1.0}
    _close(b.mean(), 0.3, np.sqrt(0.21))
    probs = tr.tensor(np.where(np.arange(N) % 2 == 0, 0.1, 0.9), dtype=dt)
    s = tr.bernoulli(probs)._data
    _close(s[0::2].mean() * 0.5 + s[1::2].mean() * 0.5, 0.5, 0.3)
    _close(s[1::2].mean(), 0.9, 0.3 * np.sqrt(2))


def test_integers_and_permutations_cover_their_range_uniformly():
    tr.manual_seed(1)
    r = tr.randint(-3, 4, (N,))._data
    assert r.min() == -3 and r.max() == 3 and r.dtype == np.int64
    counts = np.bincount(r + 3)
    assert np.all(np.abs(counts - N / 7) < 6 * np.sqrt(N / 7))
    p = tr.randperm(1000)._data
    np.testing.assert_array_equal(np.sort(p), np.arange(1000))
    assert not np.array_equal(p, np.arange(1000))
    firsts = np.array([tr.randperm(5)._data[0] for _ in range(5000)])
    assert np.all(np.abs(np.bincount(firsts, minlength=5) - 1000) < 6 * np.sqrt(1000))


def test_tensor_mean_and_std_sample_elementwise():
    tr.manual_seed(2)
    mean = tr.tensor(np.array([[-5.0], [5.0]]))
    std = tr.tensor(np.array([0.5, 2.0, 1.0]))
    draws = np.stack([tr.normal(mean, std)._data for _ in range(4000)])
    assert draws.shape == (4000, 2, 3) and draws.dtype == np.float64
    np.testing.assert_allclose(draws.mean(0), np.broadcast_to(mean._data, (2, 3)), atol=6 * 2 / np.sqrt(4000))
    np.testing.assert_allclose(draws.std(0), np.broadcast_to(std._data, (2, 3)), rtol=0.15)


def test_a_generator_of_its_own_as_torch_s_generator():
    """tr.Generator().manual_seed(s) is torch's habit for generator=: it repeats its draws, leaves the library's
    generator alone, and works wherever generator= is taken."""
    g = tr.Generator().manual_seed(42)
    assert isinstance(g, tr.Generator) and g.initial_seed() == 42 and g.device == "cpu"
    tr.manual_seed(0)
    first = [tr.randn(3, generator=g)._data, tr.randperm(5, generator=g)._data, tr.zeros(2).normal_(generator=g)._data]
    after = tr.rand(2)._data
    g.manual_seed(42)
    tr.manual_seed(0)
    again = [tr.randn(3, generator=g)._data, tr.randperm(5, generator=g)._data, tr.zeros(2).normal_(generator=g)._data]
    np.testing.assert_array_equal(tr.rand(2)._data, after)   # the library's generator did not move
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    split = tr.utils.data.random_split(range(10), [0.5, 0.5], generator=tr.Generator().manual_seed(1))
    again = tr.utils.data.random_split(range(10), [0.5, 0.5], generator=tr.Generator().manual_seed(1))
    assert list(split[0].indices) == list(again[0].indices)
    state = g.get_state()
    a = tr.rand(4, generator=g)._data
    g.set_state(state)
    np.testing.assert_array_equal(tr.rand(4, generator=g)._data, a)


def test_the_library_generator_s_seed_and_state_round_trip_as_torch_s():
    tr.manual_seed(123)
    assert tr.initial_seed() == 123
    state = tr.get_rng_state()
    a = tr.randn(5)._data
    tr.set_rng_state(state)
    np.testing.assert_array_equal(tr.randn(5)._data, a)
    fresh = tr.seed()
    assert tr.initial_seed() == fresh and isinstance(fresh, int)
    for lib in (tr, torch):   # torch's round trip, for comparison: the same property holds there
        s = lib.get_rng_state()
        x = lib.rand(3)
        lib.set_rng_state(s)
        assert np.array_equal(np.asarray(lib.rand(3)), np.asarray(x))


def test_generator_refusals():
    raises_as_torch(lambda: torch.Generator().manual_seed("x"), lambda: tr.Generator().manual_seed("x"))
    with pytest.raises(ValueError, match="cpu"):
        tr.Generator(device="cuda")
    with pytest.raises(TypeError, match="get_rng_state"):
        tr.set_rng_state([1, 2])
