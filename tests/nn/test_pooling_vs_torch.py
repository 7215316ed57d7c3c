"""tr.nn's pooling (MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d) and the
tr.nn.functional forms against torch 2.13's: outputs, indices and input gradients over drawn shapes, kernels,
strides, paddings, dilations, ceil_mode, count_include_pad and divisor_override, float32 and float64, batched and
unbatched; ties (inputs rounded to a few values: the gradient goes where torch's does) and NaN; reprs; errors."""
import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def sizes(d, low, high):
    """An int or a tuple of d ints in [low, high]."""
    return st.one_of(st.integers(low, high), st.tuples(*[st.integers(low, high)] * d))


def per_dim(value, d):
    return value if isinstance(value, tuple) else (value,) * d


def draw_input(draw, d, minimum):
    """(array, dtype): (2, 3, *spatial) or (3, *spatial), each spatial size at least minimum[i]; a third of the
    draws rounded to a few values, so windows hold ties."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    shape = ((2,) if draw(st.booleans()) else ()) + (3,) + tuple(m + draw(st.integers(0, 5)) for m in minimum)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31)))
    x = rng.standard_normal(shape)
    if draw(st.integers(0, 2)) == 0:
        x = np.round(x)
    return x.astype(dtype), dtype


def compare(ours, theirs, x, dtype, tuple_out=False):
    """Run both on x; outputs (and indices) equal to rounding, the input gradient of a drawn cotangent too."""
    xo, xt = tr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    if tuple_out:
        (yo, io), (yt, it) = yo, yt
        assert io.dtype == np.int64
        np.testing.assert_array_equal(io.numpy(), it.numpy())
    assert yo.shape == tuple(yt.shape) and yo.dtype == np.dtype(dtype)
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(0).standard_normal(yo.shape).astype(dtype)
    yo.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


@st.composite
def max_pools(draw, d):
    kernel, dilation = draw(sizes(d, 1, 3)), draw(sizes(d, 1, 2))
    spans = [dil * (k - 1) + 1 for k, dil in zip(per_dim(kernel, d), per_dim(dilation, d))]
    return_indices = draw(st.booleans())
    # torch's max_pool1d without indices bounds the padding by half the undilated kernel (a test below)
    bounds = per_dim(kernel, d) if d == 1 and not return_indices else spans
    padding = tuple(draw(st.integers(0, bound // 2)) for bound in bounds)
    stride = draw(st.one_of(st.none(), sizes(d, 1, 3)))
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding if d > 1 or draw(st.booleans()) else padding[0],
                  dilation=dilation, ceil_mode=draw(st.booleans()), return_indices=return_indices)
    return kwargs, draw_input(draw, d, spans)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([1, 2]).flatmap(lambda d: st.tuples(st.just(d), max_pools(d))))
def test_max_pool_is_torch_s(case):
    d, (kwargs, (x, dtype)) = case
    name = f"MaxPool{d}d"
    ours, theirs = getattr(tr.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, x, dtype, kwargs["return_indices"])


@st.composite
def avg_pools(draw, d):
    kernel = draw(sizes(d, 1, 3))
    padding = tuple(draw(st.integers(0, k // 2)) for k in per_dim(kernel, d))
    kwargs = dict(kernel_size=kernel, stride=draw(st.one_of(st.none(), sizes(d, 1, 3))), padding=padding,
                  ceil_mode=draw(st.booleans()), count_include_pad=draw(st.booleans()))
    if d == 2:
        kwargs["divisor_override"] = draw(st.sampled_from([None, None, 3]))
    return kwargs, draw_input(draw, d, per_dim(kernel, d))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([1, 2]).flatmap(lambda d: st.tuples(st.just(d), avg_pools(d))))
def test_avg_pool_is_torch_s(case):
    d, (kwargs, (x, dtype)) = case
    name = f"AvgPool{d}d"
    ours, theirs = getattr(tr.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, x, dtype)


@st.composite
def adaptive_pools(draw):
    d, kind = draw(st.sampled_from([1, 2])), draw(st.sampled_from(["Avg", "Max"]))
    x, dtype = draw_input(draw, d, (1,) * d)
    out = tuple(draw(st.one_of(st.integers(1, size + 2), st.none() if d == 2 else st.integers(1, size)))
                for size in x.shape[-d:])
    output_size = out if d == 2 or draw(st.booleans()) else out[0]
    kwargs = dict(output_size=output_size)
    if kind == "Max":
        kwargs["return_indices"] = draw(st.booleans())
    return f"Adaptive{kind}Pool{d}d", kwargs, x, dtype


@settings(max_examples=40, deadline=None)
@given(adaptive_pools())
def test_adaptive_pool_is_torch_s(case):
    name, kwargs, x, dtype = case
    ours, theirs = getattr(tr.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, x, dtype, kwargs.get("return_indices", False))


def test_functional_forms_take_torch_s_positional_arguments():
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 9))
    calls = [("max_pool2d", (3, 2, 1, 1, True, True)), ("max_pool1d", (2, 1, 1, 2, False, True)),
             ("avg_pool2d", ((3, 2), (2, 1), (1, 0), True, False, 5)), ("avg_pool1d", (3, 2, 1, True, False)),
             ("adaptive_avg_pool2d", ((3, None),)), ("adaptive_avg_pool1d", (4,)),
             ("adaptive_max_pool2d", ((None, 4), True)), ("adaptive_max_pool1d", (5, True))]
    for name, args in calls:
        data = x if "2d" in name else x[:, :, 0]
        ours = getattr(tr.nn.functional, name)(tr.tensor(data), *args)
        theirs = getattr(torch.nn.functional, name)(torch.tensor(data), *args)
        pairs = zip(ours, theirs) if isinstance(ours, tuple) else [(ours, theirs)]
        for o, t in pairs:
            np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


def test_nan_and_minus_inf_pick_torch_s_index():
    x = np.array([[[1.0, np.nan, 2.0, np.nan, -np.inf, -np.inf, 3.0, 3.0, -np.inf]]])
    for fn, args in (("max_pool1d", (3, 3, 0, 1, False, True)), ("max_pool1d", (4, 2, 2, 1, True, True)),
                     ("adaptive_max_pool1d", (4, True))):
        xo, xt = tr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (yo, io), (yt, it) = getattr(tr.nn.functional, fn)(xo, *args), getattr(torch.nn.functional, fn)(xt, *args)
        np.testing.assert_array_equal(io.numpy(), it.numpy())
        np.testing.assert_array_equal(yo.detach().numpy(), yt.detach().numpy())
        yo.sum().backward()
        yt.sum().backward()
        np.testing.assert_array_equal(xo.grad.numpy(), xt.grad.numpy())


REFUSED = {
    "padding past half the kernel": lambda lib: lib.nn.functional.max_pool2d(lib.ones(1, 1, 4, 4), 3, padding=2),
    "avg padding past half the kernel": lambda lib: lib.nn.functional.avg_pool2d(lib.ones(1, 1, 4, 4), 3, padding=2),
    "max_pool1d padding past half the undilated kernel": lambda lib: lib.nn.functional.max_pool1d(
        lib.ones(1, 1, 9), 3, padding=2, dilation=2),
    "zero kernel": lambda lib: lib.nn.functional.max_pool2d(lib.ones(1, 1, 4, 4), 0),
    "zero stride": lambda lib: lib.nn.functional.avg_pool1d(lib.ones(1, 1, 4), 2, stride=0),
    "zero dilation": lambda lib: lib.nn.functional.max_pool1d(lib.ones(1, 1, 4), 2, dilation=0),
    "negative padding": lambda lib: lib.nn.functional.max_pool1d(lib.ones(1, 1, 4), 2, padding=-1),
    "output too small": lambda lib: lib.nn.functional.max_pool2d(lib.ones(1, 1, 1, 4), 2),
    "2-D input to max_pool2d": lambda lib: lib.nn.functional.max_pool2d(lib.ones(4, 4), 2),
    "1-D input to avg_pool1d": lambda lib: lib.nn.functional.avg_pool1d(lib.ones(4), 2),
    "three kernel sizes": lambda lib: lib.nn.functional.max_pool2d(lib.ones(1, 1, 4, 4), (2, 2, 2)),
    "divisor zero": lambda lib: lib.nn.functional.avg_pool2d(lib.ones(1, 1, 4, 4), 2, divisor_override=0),
    "negative output size": lambda lib: lib.nn.functional.adaptive_avg_pool2d(lib.ones(1, 1, 4, 4), -1),
    "two output sizes in 1-D": lambda lib: lib.nn.functional.adaptive_avg_pool1d(lib.ones(1, 1, 4), (2, 2)),
    "empty spatial dim": lambda lib: lib.nn.functional.adaptive_avg_pool2d(lib.ones(1, 1, 0, 4), 2),
    "module on 5-D input": lambda lib: lib.nn.MaxPool2d(2)(lib.ones(1, 1, 1, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
