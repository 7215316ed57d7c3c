"""tr.nn.Conv3d / F.conv3d and the 3-D pools (MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool3d and
their F forms) against torch 2.13's: a torch state_dict loaded gives torch's outputs and gradients, reprs, indices
(flat over D*H*W), ceil_mode, count_include_pad, divisor_override, float32 and float64, batched and unbatched; the
adaptive max pools of 1 to 3 dims (every window gathered at once) over drawn sizes with ties, NaN and -inf;
torch's errors."""
import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def triples(low, high):
    """An int or a (depth, height, width) triple of ints in [low, high]."""
    return st.one_of(st.integers(low, high), st.tuples(*[st.integers(low, high)] * 3))


def per_dim(value, d=3):
    return value if isinstance(value, tuple) else (value,) * d


def draw_input(draw, channels, minimum, rounded=True):
    """(array, dtype): (2, C, *spatial) or (C, *spatial), spatial sizes at least minimum; a third of the draws
    rounded to a few values, so pooling windows hold ties."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    shape = ((2,) if draw(st.booleans()) else ()) + (channels,) + tuple(m + draw(st.integers(0, 2)) for m in minimum)
    x = np.random.default_rng(draw(st.integers(0, 2 ** 31))).standard_normal(shape)
    if rounded and draw(st.integers(0, 2)) == 0:
        x = np.round(x)
    return x.astype(dtype), dtype


def compare(ours, theirs, x, dtype, with_indices=False, params=()):
    """Run both on x: outputs (and indices) equal to rounding, the input's and parameters' gradients too."""
    xo, xt = tr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    if with_indices:
        (yo, io), (yt, it) = yo, yt
        assert io.dtype == np.int64
        np.testing.assert_array_equal(io.numpy(), it.numpy())
    assert yo.shape == tuple(yt.shape) and yo.dtype == np.dtype(dtype)
    tol = 1e-10 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(0).standard_normal(yo.shape).astype(dtype)
    yo.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    for p, q in params:
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol)


@st.composite
def convolutions(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k, dilation = draw(triples(1, 2)), draw(triples(1, 2))
    padding = draw(st.one_of(triples(0, 1), st.sampled_from(["same", "valid"])))
    stride = 1 if padding == "same" else draw(triples(1, 2))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    spans = [dil * (kk - 1) + 1 + (2 if mode == "reflect" else 0) for dil, kk in zip(per_dim(dilation), per_dim(k))]
    kwargs = dict(in_channels=c_in, out_channels=c_out, kernel_size=k, stride=stride, padding=padding,
                  dilation=dilation, groups=groups, bias=draw(st.booleans()), padding_mode=mode)
    return kwargs, draw_input(draw, c_in, spans, rounded=False)


@settings(max_examples=30, deadline=None)
@given(convolutions(), st.integers(0, 1000))
def test_conv3d_is_torch_s(case, seed):
    kwargs, (x, dtype) = case
    torch.manual_seed(seed)
    theirs = torch.nn.Conv3d(**kwargs).to(getattr(torch, dtype))
    ours = tr.nn.Conv3d(**kwargs, dtype=dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    compare(ours, theirs, x, dtype, params=list(zip(ours.parameters(), theirs.parameters())))


@st.composite
def max_pools(draw):
    kernel, dilation = draw(triples(1, 2)), draw(triples(1, 2))
    spans = [dil * (k - 1) + 1 for k, dil in zip(per_dim(kernel), per_dim(dilation))]
    kwargs = dict(kernel_size=kernel, stride=draw(st.one_of(st.none(), triples(1, 2))),
                  padding=tuple(draw(st.integers(0, span // 2)) for span in spans), dilation=dilation,
                  ceil_mode=draw(st.booleans()), return_indices=draw(st.booleans()))
    return kwargs, draw_input(draw, 2, spans)


@settings(max_examples=30, deadline=None)
@given(max_pools())
def test_max_pool3d_is_torch_s(case):
    kwargs, (x, dtype) = case
    ours, theirs = tr.nn.MaxPool3d(**kwargs), torch.nn.MaxPool3d(**kwargs)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, x, dtype, kwargs["return_indices"])


@st.composite
def avg_pools(draw):
    kernel = draw(triples(1, 3))
    kwargs = dict(kernel_size=kernel, stride=draw(st.one_of(st.none(), triples(1, 2))),
                  padding=tuple(draw(st.integers(0, k // 2)) for k in per_dim(kernel)),
                  ceil_mode=draw(st.booleans()), count_include_pad=draw(st.booleans()),
                  divisor_override=draw(st.sampled_from([None, None, 3])))
    return kwargs, draw_input(draw, 2, per_dim(kernel))


@settings(max_examples=30, deadline=None)
@given(avg_pools())
def test_avg_pool3d_is_torch_s(case):
    kwargs, (x, dtype) = case
    ours, theirs = tr.nn.AvgPool3d(**kwargs), torch.nn.AvgPool3d(**kwargs)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, x, dtype)


@st.composite
def adaptive_pools(draw):
    d, kind = draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from(["Avg", "Max", "Max"]))
    x, dtype = draw_input(draw, 2, (1,) * d)
    if kind == "Max" and draw(st.integers(0, 3)) == 0:   # NaN and -inf somewhere: torch's pick, torch's gradient
        flat = x.reshape(-1)
        flat[draw(st.integers(0, flat.size - 1))] = np.nan
        flat[draw(st.integers(0, flat.size - 1))] = -np.inf
    out = tuple(draw(st.one_of(st.integers(1, size + 2), st.none())) if d > 1 else draw(st.integers(1, size + 2))
                for size in x.shape[-d:])
    kwargs = dict(output_size=out if d > 1 or draw(st.booleans()) else out[0])
    if kind == "Max":
        kwargs["return_indices"] = draw(st.booleans())
    return f"Adaptive{kind}Pool{d}d", kwargs, x, dtype


@settings(max_examples=50, deadline=None)
@given(adaptive_pools())
def test_adaptive_pools_are_torch_s(case):
    name, kwargs, x, dtype = case
    ours, theirs = getattr(tr.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    if not np.isnan(x).any():
        compare(ours, theirs, x, dtype, kwargs.get("return_indices", False))
        return
    yo, yt = ours(tr.tensor(x)), theirs(torch.tensor(x))   # with a NaN: the picks (NaN where torch's is)
    for o, t in zip(*((yo, yt) if isinstance(yo, tuple) else ((yo,), (yt,)))):
        np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_functional_forms_take_torch_s_positional_arguments():
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 7, 5))
    w, b = np.random.default_rng(2).standard_normal((4, 1, 2, 3, 2)), np.random.default_rng(3).standard_normal(4)
    calls = [("max_pool3d", (3, 2, 1, 1, True, True)),
             ("avg_pool3d", ((3, 2, 2), (2, 1, 2), (1, 0, 1), True, False, 5)),
             ("adaptive_avg_pool3d", ((3, None, 2),)), ("adaptive_max_pool3d", ((None, 4, 2), True))]
    for name, args in calls:
        ours = getattr(tr.nn.functional, name)(tr.tensor(x), *args)
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x), *args)
        pairs = zip(ours, theirs) if isinstance(ours, tuple) else [(ours, theirs)]
        for o, t in pairs:
            np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)
    x4 = x[:, :2]
    ours = tr.nn.functional.conv3d(tr.tensor(x4), tr.tensor(w), tr.tensor(b), (1, 2, 1), (1, 0, 1), (2, 1, 1), 2)
    theirs = torch.nn.functional.conv3d(torch.tensor(x4), torch.tensor(w), torch.tensor(b), (1, 2, 1), (1, 0, 1),
                                        (2, 1, 1), 2)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_conv3d_gradients_are_finite_differences_s():
    rng = np.random.default_rng(0)
    x = tr.tensor(rng.standard_normal((1, 2, 3, 4, 3)), requires_grad=True)
    w = tr.tensor(rng.standard_normal((2, 1, 2, 2, 2)), requires_grad=True)
    b = tr.tensor(rng.standard_normal(2), requires_grad=True)
    assert tr.gradcheck(lambda x, w, b: tr.nn.functional.conv3d(x, w, b, stride=(1, 2, 1), padding=1, groups=2),
                        [x, w, b])


REFUSED = {
    "conv3d 3-D input": lambda lib: lib.nn.functional.conv3d(lib.ones(2, 3, 4), lib.ones(2, 3, 1, 1, 1)),
    "conv3d channels": lambda lib: lib.nn.functional.conv3d(lib.ones(1, 2, 3, 3, 3), lib.ones(2, 3, 1, 1, 1)),
    "conv3d two strides": lambda lib: lib.nn.functional.conv3d(lib.ones(1, 3, 3, 3, 3), lib.ones(2, 3, 1, 1, 1),
                                                               stride=(1, 2)),
    "conv3d kernel past the input": lambda lib: lib.nn.functional.conv3d(lib.ones(1, 3, 1, 3, 3),
                                                                         lib.ones(2, 3, 2, 1, 1)),
    "Conv3d padding mode": lambda lib: lib.nn.Conv3d(3, 4, 3, padding_mode="bogus"),
    "max_pool3d padding past half": lambda lib: lib.nn.functional.max_pool3d(lib.ones(1, 1, 4, 4, 4), 3, padding=2),
    "max_pool3d 3-D input": lambda lib: lib.nn.functional.max_pool3d(lib.ones(1, 4, 4), 2),
    "avg_pool3d divisor zero": lambda lib: lib.nn.functional.avg_pool3d(lib.ones(1, 1, 4, 4, 4), 2,
                                                                        divisor_override=0),
    "avg_pool3d output too small": lambda lib: lib.nn.functional.avg_pool3d(lib.ones(1, 1, 1, 4, 4), 2),
    "adaptive_max_pool3d two sizes": lambda lib: lib.nn.functional.adaptive_max_pool3d(lib.ones(1, 1, 4, 4, 4),
                                                                                       (2, 2)),
    "adaptive_avg_pool3d negative size": lambda lib: lib.nn.functional.adaptive_avg_pool3d(lib.ones(1, 1, 4, 4, 4),
                                                                                           -1),
    "AdaptiveMaxPool3d on 6-D input": lambda lib: lib.nn.AdaptiveMaxPool3d(2)(lib.ones(1, 1, 1, 4, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
