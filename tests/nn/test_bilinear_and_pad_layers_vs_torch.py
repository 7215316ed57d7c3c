"""tr.nn.Bilinear / tr.nn.functional.bilinear and the padding layers (ZeroPad, ConstantPad, ReflectionPad,
ReplicationPad, CircularPad; 1d, 2d, 3d) against torch 2.13's: parameters, initialisation bounds, reprs, outputs
and gradients (inputs and parameters, float32 and float64, drawn shapes), a torch state_dict loaded; errors."""
import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.lists(st.integers(1, 3), max_size=2),
       st.booleans(), st.sampled_from(["float32", "float64"]), st.integers(0, 2 ** 31))
def test_bilinear_is_torch_s(in1, in2, out, lead, bias, dtype, seed):
    torch.manual_seed(seed % 1000)
    theirs = torch.nn.Bilinear(in1, in2, out, bias=bias).to(getattr(torch, dtype))
    ours = tr.nn.Bilinear(in1, in2, out, bias=bias, dtype=dtype)
    assert repr(ours) == repr(theirs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal((*lead, in1)).astype(dtype), rng.standard_normal((*lead, in2)).astype(dtype)
    a, b = tr.tensor(x1, requires_grad=True), tr.tensor(x2, requires_grad=True)
    at, bt = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    yo, yt = ours(a, b), theirs(at, bt)
    assert yo.shape == tuple(yt.shape) and yo.dtype == np.dtype(dtype)
    g = rng.standard_normal(yo.shape).astype(dtype)
    yo.backward(g)
    yt.backward(torch.from_numpy(g))
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    for o, t in [(a, at), (b, bt)] + list(zip(ours.parameters(), theirs.parameters())):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


def test_bilinear_initialisation_bounds_are_torch_s():
    layer = tr.nn.Bilinear(9, 4, 20)
    for p in (layer.weight, layer.bias):
        assert 0.8 / 3 < np.abs(p.numpy()).max() <= 1 / 3


@st.composite
def pads(draw):
    d = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad"]))
    sizes = tuple(draw(st.integers(2, 4)) for _ in range(d))
    limit = 1 if kind in ("ReflectionPad", "CircularPad") else 3   # reflect/circular: less than the size
    padding = draw(st.one_of(st.integers(0, limit), st.tuples(*[st.integers(0, limit)] * (2 * d))))
    args = (padding, 1.5) if kind == "ConstantPad" else (padding,)
    batch = (2,) if draw(st.booleans()) else ()
    return f"{kind}{d}d", args, batch + (3,) + sizes, draw(st.sampled_from(["float32", "float64"]))


@settings(max_examples=40, deadline=None)
@given(pads(), st.integers(0, 2 ** 31))
def test_pad_layers_are_torch_s(case, seed):
    name, args, shape, dtype = case
    ours, theirs = getattr(tr.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    xo, xt = tr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert yo.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(yo.detach().numpy(), yt.detach().numpy())
    g = rng.standard_normal(yo.shape).astype(dtype)
    yo.backward(g)
    yt.backward(torch.from_numpy(g))
    tol = 1e-12 if dtype == "float64" else 2e-5   # an edge's copies summed in another order
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


REFUSED = {
    "bilinear batch mismatch": lambda lib: lib.nn.functional.bilinear(lib.ones(2, 3), lib.ones(3, 4),
                                                                      lib.ones(5, 3, 4)),
    "bilinear feature mismatch": lambda lib: lib.nn.Bilinear(3, 4, 5)(lib.ones(2, 2), lib.ones(2, 4)),
    "circular pad on 4-D input": lambda lib: lib.nn.CircularPad1d(1)(lib.ones(1, 2, 3, 4)),
    "reflection pad past the size": lambda lib: lib.nn.ReflectionPad1d(3)(lib.ones(1, 2, 3)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
