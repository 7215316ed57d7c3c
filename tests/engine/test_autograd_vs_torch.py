"""The tape's semantics against PyTorch where they once differed silently: gradient modes around
generators and inference_mode(False), retained gradients over several backward calls, edge values of
primitives' gradients (skipped where torch is not installed). Each case runs on both libraries."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]


def _torch_dtype(dtype):
    return getattr(torch, np.dtype(dtype).name)


@pytest.mark.parametrize("mode", ["no_grad", "enable_grad", "inference_mode", "set_grad_enabled"])
@pytest.mark.parametrize("outer", [True, False])
def test_grad_mode_decorates_a_generator_as_torch(mode, outer):
    """A decorated generator's body runs at each next(), after the call returned: the mode must hold
    there (it held only around the call that made the generator, so no_grad() recorded everything)."""
    def seen(lib):
        deco = getattr(lib, mode)(False) if mode == "set_grad_enabled" else getattr(lib, mode)()

        @deco
        def gen():
            yield lib.is_grad_enabled()
            yield lib.is_grad_enabled()
            return "done"

        with lib.set_grad_enabled(outer):
            g = gen()
            values = [next(g), lib.is_grad_enabled(), next(g), lib.is_grad_enabled()]
            with pytest.raises(StopIteration) as stop:
                next(g)
        return values + [stop.value.value]

    assert seen(tr) == seen(torch)


def test_no_grad_generator_records_nothing():
    w = tr.tensor(np.ones(3, np.float32), requires_grad=True)

    @tr.no_grad()
    def doubled():
        yield w * 2

    assert not next(doubled()).requires_grad


@pytest.mark.parametrize("outer", ["no_grad", "enable_grad", "inference_mode"])
def test_inference_mode_false_enables_grad_as_torch(outer):
    """torch.inference_mode(False) turns grad mode on, even inside no_grad(): `with
    inference_mode(not training)` records while training. It left the mode as it was."""
    def seen(lib):
        with getattr(lib, outer)():
            with lib.inference_mode(False):
                inside = lib.is_grad_enabled()
                x = lib.ones(2, requires_grad=True) * 2
            return inside, x.requires_grad, lib.is_grad_enabled()

    assert seen(tr) == seen(torch)


@pytest.mark.parametrize("dtype", DTYPES)
def test_retained_grad_accumulates_over_backward_calls_as_torch(dtype):
    """A retained gradient adds up over backward calls, as a leaf's (it was overwritten by the last)."""
    data = np.array([1.0, -2.0, 3.0], dtype)

    def grads(lib, x):
        y = x * x
        y.retain_grad()
        z = (y * y).sum()
        z.backward(retain_graph=True)
        z.backward()
        return [np.asarray(y.grad), np.asarray(x.grad)]

    ours = grads(tr, tr.tensor(data, requires_grad=True))
    theirs = grads(torch, torch.tensor(data, requires_grad=True))
    for a, b in zip(ours, theirs):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.5, 0.3, 0.9])
def test_norm_below_one_at_zero_elements_as_torch(dtype, p):
    """|x| ** p for p < 1 has an infinite slope at 0: torch's gradient there is 0; it was 0 * inf = NaN,
    at a zero element of a nonzero vector and everywhere for a zero vector."""
    data = np.array([[0.0, 1.0, -2.0], [0.0, 0.0, 0.0]], dtype)
    x, xt = tr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, out_t = x.norm(p, dim=1), xt.norm(p, dim=1)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    out_t.sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-5)


NAN = np.nan
EDGE_CASES = [  # name, our function, torch's, the inputs: the special points of each gradient
    ("abs", lambda a: a.abs(), lambda a: a.abs(), [[NAN, 0.0, -0.0, -1.5, 2.0]]),
    ("abs where-masked", lambda a: tr.where(a != a, 0.0, a.abs()),
     lambda a: torch.where(a.isnan(), 0.0, a.abs()), [[NAN, 0.0, -1.5]]),
    ("relu", lambda a: a.relu(), lambda a: a.relu(), [[NAN, 0.0, -0.0, -1.5, 2.0]]),
    ("maximum", lambda a, b: a.maximum(b), torch.maximum, [[NAN, 1.0, 2.0, 2.0, NAN], [1.0, NAN, 2.0, 1.0, NAN]]),
    ("minimum", lambda a, b: a.minimum(b), torch.minimum, [[NAN, 1.0, 2.0, 2.0, NAN], [1.0, NAN, 2.0, 1.0, NAN]]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, ours, theirs, inputs", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_gradients_at_nan_and_ties_as_torch(name, ours, theirs, inputs, dtype):
    """At a NaN input torch's abs has gradient 0 (numpy's sign(nan) gave NaN, which leaked through a where()
    that masks the NaN away), relu passes g, and maximum/minimum pass g to both inputs (they gave 0)."""
    arrays = [np.array(a, dtype) for a in inputs]
    xs = [tr.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    g = np.linspace(-1.0, 2.0, arrays[0].size).astype(dtype)
    with np.errstate(invalid="ignore"):
        out = ours(*xs)
        out.backward(g)
    theirs(*ts).backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        assert x.grad.dtype == dtype
        np.testing.assert_array_equal(x.grad, t.grad.numpy())


def test_grad_mode_holds_when_a_decorated_generator_is_thrown_into_or_closed():
    """throw() and close() resume the generator's body too (its except and finally blocks): in the mode."""
    def seen(lib):
        log = []

        @lib.no_grad()
        def gen():
            try:
                while True:
                    try:
                        yield
                    except KeyError:
                        log.append(("caught", lib.is_grad_enabled()))
            finally:
                log.append(("finally", lib.is_grad_enabled()))

        g = gen()
        next(g)
        g.throw(KeyError)
        log.append(("between", lib.is_grad_enabled()))
        g.close()
        log.append(("after", lib.is_grad_enabled()))
        return log

    assert seen(tr) == seen(torch) == [("caught", False), ("between", True), ("finally", False), ("after", True)]
