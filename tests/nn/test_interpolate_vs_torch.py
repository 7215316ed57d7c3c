"""tr.nn.functional.interpolate, tr.nn.Upsample / UpsamplingNearest2d / UpsamplingBilinear2d and the pixel
shuffles (PixelShuffle, PixelUnshuffle and their F forms) against torch 2.13's: outputs, shapes and dtypes over
drawn modes (nearest, nearest-exact, area, linear, bilinear, bicubic, trilinear), sizes, scale factors,
align_corners and recompute_scale_factor, float32 and float64; input gradients against torch's and, since every
mode is linear in the input, against the adjoint of torch's forward (<g, f(v)> = <grad, v>); reprs; torch's error
types for bad arguments."""
import warnings

import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@st.composite
def resamplings(draw):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear"]))
    d = RANK.get(mode) or draw(st.integers(1, 3))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(draw(st.integers(1, 6)) for _ in range(d))
    kwargs = dict(mode=mode)
    if draw(st.booleans()):
        sizes = tuple(draw(st.integers(1, 12)) for _ in range(d))
        kwargs["size"] = sizes if d > 1 or draw(st.booleans()) else sizes[0]
    else:
        factors = st.sampled_from([0.5, 0.7, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0, 1 / 3])
        kwargs["scale_factor"] = draw(factors) if draw(st.booleans()) else tuple(draw(factors) for _ in range(d))
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    if mode in RANK:
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    return shape, kwargs, draw(st.sampled_from(["float32", "float64"])), draw(st.integers(0, 2 ** 31))


def output_is_empty(shape, kwargs):
    """Whether the drawn arguments leave an output dim of size 0 (torch's error, or an empty area pool)."""
    if "size" in kwargs:
        return False
    factors = kwargs["scale_factor"]
    factors = factors if isinstance(factors, tuple) else (factors,) * (len(shape) - 2)
    return any(int(n * f) < 1 for n, f in zip(shape[2:], factors))


@settings(max_examples=80, deadline=None)
@given(resamplings())
def test_interpolate_is_torch_s(case):
    shape, kwargs, dtype, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    if output_is_empty(shape, kwargs):
        raises_as_torch(lambda: torch.nn.functional.interpolate(torch.tensor(x), **kwargs),
                        lambda: tr.nn.functional.interpolate(tr.tensor(x), **kwargs))
        return
    xt, xo = torch.tensor(x, requires_grad=True), tr.tensor(x, requires_grad=True)
    yt, yo = torch.nn.functional.interpolate(xt, **kwargs), tr.nn.functional.interpolate(xo, **kwargs)
    assert yo.shape == tuple(yt.shape) and yo.dtype == np.dtype(dtype)
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(yo.shape).astype(dtype)
    yo.backward(g)
    # the gradient is the adjoint of torch's forward (a linear map): <g, f(v)> = <grad, v>
    v = rng.standard_normal(shape)
    f_v = torch.nn.functional.interpolate(torch.tensor(v), **kwargs).numpy()
    np.testing.assert_allclose(np.vdot(g.astype(np.float64), f_v), np.vdot(xo.grad.numpy().astype(np.float64), v),
                               rtol=1e-4 if dtype == "float32" else 1e-10, atol=1e-4)
    if not torch_s_nearest_backward_differs(x.ndim, kwargs):
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=tol * 10, atol=tol * 10)


def torch_s_nearest_backward_differs(ndim, kwargs):
    """torch 2.13's 1-D and 3-D nearest backward takes the 2-D forward's shortcuts (a dim that keeps its size is
    copied, one that doubles repeats each entry twice) where its forward reads floor(dst / scale_factor): its
    gradient is not its forward's adjoint there (ours is, the test above)."""
    return kwargs["mode"] == "nearest" and ndim != 4 and "scale_factor" in kwargs and \
        not kwargs.get("recompute_scale_factor")


def test_torch_s_nearest_backward_is_not_its_forward_s_adjoint_in_1_d():
    """The case the comparison above leaves out, shown: a length kept at scale_factor=1.3."""
    x = torch.ones(1, 1, 3, requires_grad=True)
    y = torch.nn.functional.interpolate(x, scale_factor=1.3)
    y.sum().backward()
    ours = tr.ones(1, 1, 3, requires_grad=True)
    tr.nn.functional.interpolate(ours, scale_factor=1.3).sum().backward()
    reads = torch.nn.functional.interpolate(torch.arange(3.0).reshape(1, 1, 3), scale_factor=1.3).flatten()
    counts = np.bincount(reads.numpy().astype(int), minlength=3)
    np.testing.assert_array_equal(ours.grad.numpy().ravel(), counts)   # where the forward reads
    assert not np.array_equal(x.grad.numpy().ravel(), counts)           # torch's: not there


@pytest.mark.parametrize("mode", ["linear", "bicubic", "nearest-exact"])
def test_gradients_are_finite_differences_s(mode):
    shape = (1, 2, 4) if mode == "linear" else (1, 1, 3, 4)
    x = tr.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    size = 7 if mode == "linear" else (5, 3)
    assert tr.gradcheck(lambda x: tr.nn.functional.interpolate(x, size=size, mode=mode), [x])


@pytest.mark.parametrize("module, kwargs", [
    ("Upsample", dict(scale_factor=2)), ("Upsample", dict(size=(5, 3), mode="bilinear", align_corners=True)),
    ("Upsample", dict(scale_factor=(1.5, 2), mode="bicubic")), ("Upsample", dict(size=7, mode="nearest-exact")),
    ("Upsample", dict(scale_factor=0.5, mode="area", recompute_scale_factor=True)),
    ("UpsamplingNearest2d", dict(scale_factor=3)), ("UpsamplingBilinear2d", dict(size=(6, 9))),
    ("UpsamplingBilinear2d", dict(scale_factor=1.5))])
def test_upsample_modules_are_torch_s(module, kwargs):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(np.float32)
    ours, theirs = getattr(tr.nn, module)(**kwargs), getattr(torch.nn, module)(**kwargs)
    assert repr(ours) == repr(theirs)
    np.testing.assert_allclose(ours(tr.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.lists(st.integers(1, 2), max_size=2), st.integers(1, 2), st.integers(1, 3),
       st.integers(1, 3), st.sampled_from(["float32", "float64", "int64"]), st.integers(0, 2 ** 31))
def test_pixel_shuffles_are_torch_s(r, batch, c, h, w, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((*batch, c * r * r, h, w)) * 10).astype(dtype)
    down = rng.standard_normal((*batch, c, h * r, w * r)).astype(dtype)
    for name, data in (("pixel_shuffle", x), ("pixel_unshuffle", down)):
        ours = getattr(tr.nn.functional, name)(tr.tensor(data), r)
        theirs = getattr(torch.nn.functional, name)(torch.tensor(data), r)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    if dtype != "int64":
        xo, xt = tr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        g = rng.standard_normal((*batch, c, h * r, w * r)).astype(dtype)
        tr.nn.PixelShuffle(r)(xo).backward(g)
        torch.nn.PixelShuffle(r)(xt).backward(torch.from_numpy(g))
        np.testing.assert_array_equal(xo.grad.numpy(), xt.grad.numpy())
    assert repr(tr.nn.PixelShuffle(r)) == repr(torch.nn.PixelShuffle(r))
    assert repr(tr.nn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))


def test_the_older_names_warn_and_resample_as_torch_s():
    x = np.random.default_rng(2).standard_normal((1, 2, 3, 4))
    for name, kwargs in (("upsample", dict(scale_factor=2, mode="bilinear")), ("upsample_nearest", dict(size=5)),
                         ("upsample_bilinear", dict(size=(5, 6)))):
        with pytest.warns(UserWarning, match="deprecated"):
            ours = getattr(tr.nn.functional, name)(tr.tensor(x), **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = getattr(torch.nn.functional, name)(torch.tensor(x), **kwargs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_antialias_is_not_here_and_says_so():
    with pytest.raises(NotImplementedError, match="antialias"):
        tr.nn.functional.interpolate(tr.ones(1, 1, 4, 4), size=2, mode="bilinear", antialias=True)


def interpolate(lib, shape, **kwargs):
    return lib.nn.functional.interpolate(lib.ones(*shape), **kwargs)


REFUSED = {
    "size and scale_factor": lambda lib: interpolate(lib, (1, 1, 4), size=3, scale_factor=2),
    "neither": lambda lib: interpolate(lib, (1, 1, 4)),
    "two sizes for one dim": lambda lib: interpolate(lib, (1, 1, 4), size=(3, 3)),
    "three factors for two dims": lambda lib: interpolate(lib, (1, 1, 4, 4), scale_factor=(2, 2, 2)),
    "a float size": lambda lib: interpolate(lib, (1, 1, 4, 4), size=(3.0, 2)),
    "recompute with size": lambda lib: interpolate(lib, (1, 1, 4), size=3, recompute_scale_factor=True),
    "align_corners with nearest": lambda lib: interpolate(lib, (1, 1, 4), size=3, align_corners=True),
    "align_corners with area": lambda lib: interpolate(lib, (1, 1, 4), size=3, mode="area", align_corners=False),
    "bilinear on 3-D input": lambda lib: interpolate(lib, (1, 1, 4), size=3, mode="bilinear"),
    "linear on 4-D input": lambda lib: interpolate(lib, (1, 1, 4, 4), size=3, mode="linear"),
    "trilinear on 4-D input": lambda lib: interpolate(lib, (1, 1, 4, 4), size=3, mode="trilinear"),
    "bicubic on 5-D input": lambda lib: interpolate(lib, (1, 1, 4, 4, 4), size=3, mode="bicubic"),
    "2-D input": lambda lib: interpolate(lib, (1, 4), size=3),
    "6-D input": lambda lib: interpolate(lib, (1, 1, 2, 2, 2, 2), size=3),
    "unknown mode": lambda lib: interpolate(lib, (1, 1, 4), size=3, mode="bogus"),
    "antialias with linear": lambda lib: interpolate(lib, (1, 1, 4), size=3, mode="linear", antialias=True),
    "output size 0": lambda lib: interpolate(lib, (1, 1, 4, 4), scale_factor=0.2),
    "int64 input, nearest": lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 4, dtype=lib.int64), size=3),
    "int64 input, area": lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 4, 4, dtype=lib.int64), size=3,
                                                                   mode="area"),
    "input size 0": lambda lib: interpolate(lib, (1, 1, 0, 4), size=3, mode="bilinear"),
    "shuffle 2-D input": lambda lib: lib.nn.functional.pixel_shuffle(lib.ones(4, 4), 2),
    "shuffle channels": lambda lib: lib.nn.functional.pixel_shuffle(lib.ones(1, 5, 2, 2), 2),
    "shuffle zero factor": lambda lib: lib.nn.functional.pixel_shuffle(lib.ones(1, 4, 2, 2), 0),
    "shuffle float factor": lambda lib: lib.nn.functional.pixel_shuffle(lib.ones(1, 4, 2, 2), 2.0),
    "unshuffle height": lambda lib: lib.nn.functional.pixel_unshuffle(lib.ones(1, 1, 3, 4), 2),
    "unshuffle width": lambda lib: lib.nn.PixelUnshuffle(2)(lib.ones(1, 1, 4, 5)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
