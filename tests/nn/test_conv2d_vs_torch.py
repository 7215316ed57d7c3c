"""tr.nn.Conv2d and tr.nn.functional.conv2d against torch 2.13's: parameters, initialisation bounds and repr;
outputs and gradients (input, weight, bias) over drawn shapes, strides, paddings (ints, pairs, "same", "valid",
the four padding modes), dilations and groups, float32 and float64, batched and unbatched; torch's errors."""
import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def pairs(low, high):
    """An int or a (height, width) pair of ints in [low, high]."""
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high), st.integers(low, high)))


def _both(value):
    return value if isinstance(value, tuple) else (value, value)


@st.composite
def convolutions(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    k, dilation = draw(pairs(1, 3)), draw(pairs(1, 2))
    padding = draw(st.one_of(pairs(0, 2), st.sampled_from(["same", "valid"])))
    stride = 1 if padding == "same" else draw(pairs(1, 3))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    extra = 3 if mode == "reflect" else 0
    size = tuple(dil * (kk - 1) + 1 + draw(st.integers(0, 5)) + extra for dil, kk in zip(_both(dilation), _both(k)))
    return dict(in_channels=c_in, out_channels=c_out, kernel_size=k, stride=stride, padding=padding,
                dilation=dilation, groups=groups, bias=draw(st.booleans()), padding_mode=mode), size, \
        draw(st.booleans()), draw(st.sampled_from(["float32", "float64"]))


@settings(max_examples=60, deadline=None)
@given(convolutions(), st.integers(0, 2 ** 31))
def test_conv2d_is_torch_s(case, seed):
    kwargs, size, batched, dtype = case
    torch.manual_seed(seed % 1000)
    theirs = torch.nn.Conv2d(**kwargs).to(getattr(torch, dtype))
    ours = tr.nn.Conv2d(**kwargs, dtype=dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(((2,) if batched else ()) + (kwargs["in_channels"],) + size).astype(dtype)
    xt, xo = torch.tensor(x, requires_grad=True), tr.tensor(x, requires_grad=True)
    yt, yo = theirs(xt), ours(xo)
    assert yo.shape == tuple(yt.shape) and yo.dtype == np.dtype(dtype)
    g = rng.standard_normal(yo.shape).astype(dtype)
    yt.backward(torch.from_numpy(g))
    yo.backward(g)
    tol = 1e-10 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol)


def test_the_functional_form_takes_torch_s_arguments():
    rng = np.random.default_rng(0)
    x, b = rng.standard_normal((2, 4, 9, 7)), rng.standard_normal(6)
    cases = (((6, 4, 3, 2), dict()), ((6, 2, 3, 3), dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
             ((6, 2, 2, 3), dict(padding="same", groups=2, dilation=2)), ((6, 4, 2, 2), dict(padding="valid")),
             ((6, 4, 1, 1), dict(stride=3)))
    for weight_shape, kwargs in cases:
        w = rng.standard_normal(weight_shape)
        ours = tr.nn.functional.conv2d(tr.tensor(x), tr.tensor(w), tr.tensor(b), **kwargs)
        theirs = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kwargs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_initialisation_bounds_are_torch_s():
    conv = tr.nn.Conv2d(8, 16, (5, 3), groups=2)
    bound = 1 / np.sqrt(8 // 2 * 5 * 3)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.numpy()).max() <= bound and np.abs(p.numpy()).max() > 0.8 * bound
    assert [(n, p.shape) for n, p in conv.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in torch.nn.Conv2d(8, 16, (5, 3), groups=2).named_parameters()]


def conv(lib, x_shape, w_shape, **kwargs):
    return lib.nn.functional.conv2d(lib.ones(*x_shape), lib.ones(*w_shape), **kwargs)


REFUSED = {
    "channels": lambda lib: conv(lib, (2, 5, 6, 6), (4, 3, 3, 3)),
    "same with stride": lambda lib: conv(lib, (2, 3, 6, 6), (4, 3, 3, 3), padding="same", stride=(1, 2)),
    "input smaller than the kernel": lambda lib: conv(lib, (2, 3, 6, 2), (4, 3, 3, 3)),
    "weight not divisible by groups": lambda lib: conv(lib, (2, 3, 6, 6), (4, 1, 3, 3), groups=3),
    "bias of another size": lambda lib: conv(lib, (2, 3, 6, 6), (4, 3, 3, 3), bias=lib.zeros(3)),
    "padding string": lambda lib: conv(lib, (2, 3, 6, 6), (4, 3, 3, 3), padding="bogus"),
    "zero stride": lambda lib: conv(lib, (2, 3, 6, 6), (4, 3, 3, 3), stride=(1, 0)),
    "zero dilation": lambda lib: conv(lib, (2, 3, 6, 6), (4, 3, 3, 3), dilation=0),
    "negative padding": lambda lib: conv(lib, (2, 3, 6, 6), (4, 3, 3, 3), padding=(0, -1)),
    "three strides": lambda lib: conv(lib, (2, 3, 6, 6), (4, 3, 3, 3), stride=(1, 1, 1)),
    "2-D input": lambda lib: conv(lib, (3, 6), (4, 3, 3, 3)),
    "3-D weight": lambda lib: conv(lib, (2, 3, 6, 6), (4, 3, 3)),
    "dtype mix": lambda lib: lib.nn.functional.conv2d(lib.ones(2, 3, 6, 6, dtype=lib.float64), lib.ones(4, 3, 3, 3)),
    "in_channels and groups": lambda lib: lib.nn.Conv2d(3, 4, 3, groups=2),
    "out_channels and groups": lambda lib: lib.nn.Conv2d(4, 3, 3, groups=2),
    "zero groups": lambda lib: lib.nn.Conv2d(4, 4, 3, groups=0),
    "padding mode": lambda lib: lib.nn.Conv2d(3, 4, 3, padding_mode="bogus"),
    "module padding string": lambda lib: lib.nn.Conv2d(3, 4, 3, padding="full"),
    "module same with stride": lambda lib: lib.nn.Conv2d(3, 4, 3, padding="same", stride=(2, 1)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
