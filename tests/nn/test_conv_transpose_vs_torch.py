"""tr.nn.ConvTranspose1d/2d/3d and tr.nn.functional.conv_transpose1d/2d/3d against torch 2.13's: parameters
(weight (C_in, C_out / groups, *K)), initialisation bounds and reprs; a torch state_dict loaded gives torch's
outputs and gradients (input, weight, bias) over drawn shapes, strides, paddings, output paddings, dilations and
groups, float32 and float64, batched and unbatched; forward's output_size=; finite differences in float64;
torch's errors (output_padding not below stride or dilation, the input's rank, a padding mode, ...)."""
import math

import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


@st.composite
def transposed_convolutions(draw):
    d = draw(st.sampled_from([1, 2, 3]))
    groups = draw(st.sampled_from([1, 1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(d))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(d))
    output_padding = tuple(draw(st.integers(0, max(s, dil) - 1)) for s, dil in zip(stride, dilation))
    size = tuple(draw(st.integers(1, 4 if d < 3 else 3)) for _ in range(d))
    # a padding that leaves an output of at least one entry per dim
    padding = tuple(draw(st.integers(0, max(0, ((n - 1) * s + dil * (kk - 1) + op) // 2)))
                    for n, s, dil, kk, op in zip(size, stride, dilation, k, output_padding))
    as_int = d == 1 and draw(st.booleans())
    kwargs = dict(in_channels=c_in, out_channels=c_out, kernel_size=k[0] if as_int else k, stride=stride,
                  padding=padding, output_padding=output_padding, groups=groups, bias=draw(st.booleans()),
                  dilation=dilation)
    return d, kwargs, size, draw(st.booleans()), draw(st.sampled_from(["float32", "float64"]))


@settings(max_examples=50, deadline=None)
@given(transposed_convolutions(), st.integers(0, 2 ** 31))
def test_conv_transpose_is_torch_s(case, seed):
    d, kwargs, size, batched, dtype = case
    torch.manual_seed(seed % 1000)
    theirs = getattr(torch.nn, f"ConvTranspose{d}d")(**kwargs).to(getattr(torch, dtype))
    ours = getattr(tr.nn, f"ConvTranspose{d}d")(**kwargs, dtype=dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
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
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol)


@settings(max_examples=15, deadline=None)
@given(transposed_convolutions(), st.integers(0, 2 ** 31), st.data())
def test_output_size_picks_torch_s_output_padding(case, seed, data):
    d, kwargs, size, batched, _ = case
    kwargs = dict(kwargs, output_padding=0)
    theirs = getattr(torch.nn, f"ConvTranspose{d}d")(**kwargs).double()
    ours = getattr(tr.nn, f"ConvTranspose{d}d")(**kwargs, dtype="float64")
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(seed).standard_normal(((2,) if batched else ()) + (kwargs["in_channels"],) + size)
    smallest = theirs(torch.tensor(x)).shape[-d:]
    wanted = [n + data.draw(st.integers(-1, s)) for n, s in zip(smallest, kwargs["stride"])]
    if data.draw(st.booleans()):
        wanted = list(x.shape[:-d]) + wanted
    outcome_t = _outcome(lambda: theirs(torch.tensor(x), output_size=wanted))
    outcome_o = _outcome(lambda: ours(tr.tensor(x), output_size=wanted))
    if isinstance(outcome_t, type):
        assert outcome_o is outcome_t
    else:
        np.testing.assert_allclose(outcome_o, outcome_t, rtol=1e-12, atol=1e-12)


def _outcome(call):
    try:
        return call().detach().numpy()
    except Exception as e:  # noqa: BLE001 - the type is the outcome compared
        return type(e)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_gradients_are_finite_differences_s(d):
    rng = np.random.default_rng(d)
    x = tr.tensor(rng.standard_normal((1, 2) + (3,) * d), requires_grad=True)
    w = tr.tensor(rng.standard_normal((2, 2) + (2,) * d), requires_grad=True)
    b = tr.tensor(rng.standard_normal(4), requires_grad=True)
    f = getattr(tr.nn.functional, f"conv_transpose{d}d")
    assert tr.gradcheck(lambda x, w, b: f(x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=1),
                        [x, w, b])


def test_the_functional_form_takes_torch_s_arguments_in_torch_s_order():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 5, 3)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(6)
    args = (b, (2, 1), (1, 0), (1, 0), 2, (1, 2))   # bias, stride, padding, output_padding, groups, dilation
    ours = tr.nn.functional.conv_transpose2d(tr.tensor(x), tr.tensor(w), *(tr.tensor(args[0]),) + args[1:])
    theirs = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), *(torch.tensor(args[0]),) +
                                                  args[1:])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_initialisation_bounds_are_torch_s():
    conv = tr.nn.ConvTranspose2d(4, 64, (3, 2), groups=2)
    bound = 1 / math.sqrt(64 // 2 * 3 * 2)   # torch's fan-in of a (C_in, C_out / groups, *K) weight
    for p in (conv.weight, conv.bias):   # (64 draws of the bias: all below 0.8 * bound once in 10^6)
        assert np.abs(p.numpy()).max() <= bound and np.abs(p.numpy()).max() > 0.8 * bound
    assert conv.weight.shape == (4, 32, 3, 2)


def transpose(lib, x_shape, w_shape, d=1, **kwargs):
    f = getattr(lib.nn.functional, f"conv_transpose{d}d")
    return f(lib.ones(*x_shape), lib.ones(*w_shape), **kwargs)


REFUSED = {
    "output_padding = stride": lambda lib: transpose(lib, (2, 4, 5), (4, 3, 3), stride=2, output_padding=2),
    "output_padding with stride 1": lambda lib: transpose(lib, (2, 4, 5), (4, 3, 3), output_padding=1),
    "negative output_padding": lambda lib: transpose(lib, (2, 4, 5), (4, 3, 3), output_padding=-1),
    "padding string": lambda lib: transpose(lib, (2, 4, 5), (4, 3, 3), padding="same"),
    "negative padding": lambda lib: transpose(lib, (2, 4, 5), (4, 3, 3), padding=-1),
    "output too small": lambda lib: transpose(lib, (2, 4, 2, 2), (4, 3, 2, 2), d=2, padding=(0, 2)),
    "zero stride": lambda lib: transpose(lib, (2, 4, 5), (4, 3, 3), stride=0),
    "channels": lambda lib: transpose(lib, (2, 3, 5), (4, 3, 3)),
    "groups": lambda lib: transpose(lib, (2, 4, 5), (4, 3, 3), groups=3),
    "bias size": lambda lib: transpose(lib, (2, 4, 5), (4, 3, 3), bias=lib.ones(4)),
    "4-D input": lambda lib: transpose(lib, (2, 2, 4, 5), (4, 3, 3)),
    "2-D input to 3-D": lambda lib: transpose(lib, (4, 5), (4, 3, 3, 3, 3), d=3),
    "two strides for 1-D": lambda lib: transpose(lib, (2, 4, 5), (4, 3, 3), stride=(1, 2)),
    "module padding string": lambda lib: lib.nn.ConvTranspose1d(4, 3, 3, padding="same")(lib.ones(2, 4, 5)),
    "padding mode": lambda lib: lib.nn.ConvTranspose1d(4, 3, 3, padding_mode="reflect"),
    "unknown padding mode": lambda lib: lib.nn.ConvTranspose2d(4, 3, 3, padding_mode="bogus"),
    "in_channels and groups": lambda lib: lib.nn.ConvTranspose2d(3, 4, 3, groups=2),
    "output_size of 2 elements": lambda lib: lib.nn.ConvTranspose1d(4, 3, 3, stride=2)(lib.ones(2, 4, 5),
                                                                                      output_size=[12, 13]),
    "output_size too large": lambda lib: lib.nn.ConvTranspose1d(4, 3, 3, stride=2)(lib.ones(2, 4, 5),
                                                                                   output_size=[14]),
    "output_size too small": lambda lib: lib.nn.ConvTranspose2d(4, 3, 3, stride=2)(lib.ones(2, 4, 5, 5),
                                                                                   output_size=[10, 11]),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
