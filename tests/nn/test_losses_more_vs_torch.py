"""smooth_l1_loss, huber_loss, kl_div, cosine_similarity, pairwise_distance and F.pad's 'reflect', 'replicate'
and 'circular' modes (with their modules) against torch 2.13: values and gradients over drawn shapes in float32
and float64 (edge values drawn on purpose: zero differences, differences at beta / delta, zero targets, near-zero
vectors, negative pads), gradients against finite differences, and the error types torch raises."""
import warnings

import numpy as np
import pytest
from conftest import torch_error
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]


def _run(lib, fn, arrays, needs_grad, seed):
    """fn(*tensors) in lib, backpropagated with a drawn upstream gradient: (value, grads of needs_grad's)."""
    if lib is torch:
        xs = [torch.tensor(a, requires_grad=bool(g)) for a, g in zip(arrays, needs_grad)]
    else:
        xs = [tr.Tensor(a, requires_grad=bool(g)) for a, g in zip(arrays, needs_grad)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(lib, *xs)
    up = np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
    if any(needs_grad):
        out.backward(torch.tensor(up) if lib is torch else up)
    value = out.detach().numpy() if lib is torch else out.data
    grads = [x.grad.numpy() if lib is torch else x.grad for x, g in zip(xs, needs_grad) if g]
    return value, out.dtype, grads


def _same_as_torch(fn, arrays, needs_grad=None, seed=0, scale=1.0):
    needs_grad = needs_grad or [True] * len(arrays)
    ours, ours_dtype, ours_grads = _run(tr, fn, arrays, needs_grad, seed)
    theirs, _, their_grads = _run(torch, fn, arrays, needs_grad, seed)
    float32 = arrays[0].dtype == np.float32
    rtol, atol = (2e-5, 2e-6 * scale) if float32 else (1e-11, 1e-13 * scale)
    assert ours_dtype == arrays[0].dtype   # no upcast
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg="value")
    for i, (a, b) in enumerate(zip(ours_grads, their_grads)):
        assert a.dtype == arrays[0].dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient {i}")


def _functional(lib):
    return TF if lib is torch else F


@st.composite
def pairs(draw, at=None):
    """(input, target) of a drawn shape and dtype; some differences exactly 0, some exactly at +-`at`."""
    shape = draw(st.sampled_from([(), (5,), (3, 4), (2, 3, 2), (0, 3)]))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = (rng.standard_normal(shape) * draw(st.sampled_from([0.3, 1.0, 4.0]))).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    pick = rng.random(shape)
    y = np.where(pick < 0.2, x, y)   # zero difference
    if at is not None:   # a difference exactly at the boundary, both signs
        y = np.where((pick >= 0.2) & (pick < 0.3), x - dtype(at), y)
        y = np.where((pick >= 0.3) & (pick < 0.4), x + dtype(at), y)
    return x, y.astype(dtype)


REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


@given(st.sampled_from([0.0, 0.5, 1.0, 2.0]).flatmap(lambda b: st.tuples(st.just(b), pairs(at=b))), REDUCTIONS,
       st.integers(0, 99))
def test_smooth_l1_loss_matches_torch(beta_and_pair, reduction, seed):
    beta, (x, y) = beta_and_pair
    _same_as_torch(lambda lib, a, b: _functional(lib).smooth_l1_loss(a, b, reduction=reduction, beta=beta), [x, y],
                   seed=seed)


@given(st.sampled_from([0.25, 1.0, 3.0]).flatmap(lambda d: st.tuples(st.just(d), pairs(at=d))), REDUCTIONS,
       st.booleans(), st.integers(0, 99))
def test_huber_loss_matches_torch(delta_and_pair, reduction, weighted, seed):
    delta, (x, y) = delta_and_pair
    arrays = [x, y] + ([np.abs(y) + x.dtype.type(0.5)] if weighted else [])

    def call(lib, a, b, *w):
        return _functional(lib).huber_loss(a, b, reduction, delta, weight=w[0] if w else None)
    _same_as_torch(call, arrays, seed=seed)


@st.composite
def distributions(draw):
    """(log-probabilities, target) with zeros in the target; the target as log-probabilities for log_target."""
    shape = draw(st.sampled_from([(), (4,), (3, 5), (2, 3, 4), (0, 3)]))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    logits = rng.standard_normal(shape)
    input = logits - np.log(np.exp(logits).sum(-1, keepdims=True)) if shape else logits
    target = rng.dirichlet(np.ones(shape[-1]), shape[:-1]) if shape and shape[-1] else rng.random(shape)
    target = np.where(rng.random(shape) < 0.25, 0.0, target)   # zeros: t log t is 0 there
    return input.astype(dtype), target.astype(dtype)


@given(distributions(), st.sampled_from(["mean", "batchmean", "sum", "none"]), st.booleans(), st.integers(0, 99))
def test_kl_div_matches_torch(pair, reduction, log_target, seed):
    x, t = pair
    if log_target:
        with np.errstate(divide="ignore"):
            t = np.log(np.where(t == 0, 0.5, t)).astype(x.dtype)   # log-probabilities, finite
    # the target's gradient too where torch's is a number (at t = 0, torch's is nan and ours 0)
    grad_of_target = bool(log_target or np.all(t > 0))
    _same_as_torch(lambda lib, a, b: _functional(lib).kl_div(a, b, reduction=reduction, log_target=log_target),
                   [x, t], [True, grad_of_target], seed=seed)


@st.composite
def vector_pairs(draw):
    """(x1, x2, dim) for cosine_similarity: broadcasting shapes, some vectors near zero or zero (below eps)."""
    shape1, shape2, dims = draw(st.sampled_from([
        ((4, 3), (4, 3), [0, 1, -1]), ((4, 3), (1, 3), [1]), ((3,), (2, 3), [-1, 1]), ((5,), (5,), [0]),
        ((), (), [0, -1]), ((2, 3, 4), (2, 3, 4), [0, 1, 2]), ((0, 3), (0, 3), [1])]))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x1, x2 = rng.standard_normal(shape1), rng.standard_normal(shape2)
    small = draw(st.sampled_from([1.0, 1e-5, 1e-9, 0.0]))   # 1e-9 and 0: the norm below eps, clamped
    x1 = x1 * np.where(rng.random(shape1) < 0.5, small, 1.0) if shape1 else x1 * small
    return x1.astype(dtype), x2.astype(dtype), draw(st.sampled_from(dims))


@given(vector_pairs(), st.sampled_from([1e-8, 1e-3, 0.5]), st.integers(0, 99))
def test_cosine_similarity_matches_torch(vectors, eps, seed):
    """torch 2.13 divides each input by its own norm clamped at eps; the gradient passes the clamp (torch clamps
    in place). The gradients reach 1 / eps: compared relative to that."""
    x1, x2, dim = vectors
    _same_as_torch(lambda lib, a, b: _functional(lib).cosine_similarity(a, b, dim, eps), [x1, x2], seed=seed,
                   scale=1.0 / eps)


@given(st.sampled_from([((4, 3), (4, 3)), ((3,), (2, 3)), ((2, 3), (3,)), ((), ()), ((2, 4, 3), (2, 4, 3)),
                        ((0, 3), (0, 3)), ((5,), (5,))]),
       st.sampled_from([2.0, 1.0, 3.0, 0.5, np.inf, -np.inf, -1.0, -2.5, 0.0]), st.sampled_from([1e-6, 0.0, -0.1]),
       st.booleans(), st.sampled_from(DTYPES), st.integers(0, 2 ** 16))
def test_pairwise_distance_matches_torch(shapes, p, eps, keepdim, dtype, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = (rng.standard_normal(s).astype(dtype) for s in shapes)
    grads = [p != 0] * 2   # torch gives p = 0 no gradient (ours is 0): values only there
    _same_as_torch(lambda lib, a, b: _functional(lib).pairwise_distance(a, b, p, eps, keepdim), [x1, x2], grads,
                   seed=seed)


PAD_CASES = [((4, 5), 1), ((2, 4, 5), 1), ((3, 4, 5), 2), ((2, 3, 4, 5), 2), ((2, 3, 4, 5), 3), ((1, 2, 3, 4, 5), 3)]


@given(st.sampled_from(PAD_CASES), st.sampled_from(["reflect", "replicate", "circular"]), st.data(),
       st.sampled_from(DTYPES), st.integers(0, 2 ** 16))
def test_pad_modes_match_torch(case, mode, data, dtype, seed):
    """Each padded dim drawn an amount on each side, negative ones (crops) too, within what each mode takes."""
    shape, k = case
    pad = []
    for n in reversed(shape[len(shape) - k:]):   # the last dim's pair first
        top = n - 1 if mode == "reflect" else n
        left = data.draw(st.integers(-(n - 2), top))
        right = data.draw(st.integers(-(n - 2 - max(-left, 0)), top))
        if mode == "circular":   # torch wraps what is left after cropping: at most that much
            kept = n - max(-left, 0) - max(-right, 0)
            left, right = min(left, kept), min(right, kept)
        pad += [left, right]
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    _same_as_torch(lambda lib, a: _functional(lib).pad(a, tuple(pad), mode), [x], seed=seed)


@pytest.mark.parametrize("mode, pad", [("reflect", (-3, 1)), ("reflect", (1, -3)), ("reflect", (2, -2)),
                                       ("replicate", (-5, 4)), ("replicate", (4, -3)), ("replicate", (-3, 3)),
                                       ("circular", (-2, 1)), ("circular", (-2, -1)), ("circular", (-3, 0)),
                                       ("circular", (3, 3)), ("circular", (0, 0))])
def test_pad_modes_crop_and_pad_at_the_extremes_as_torch(mode, pad):
    """Amounts whose crop reaches past the middle (a reflection of what was cropped, an empty circular result)."""
    for dtype in DTYPES:
        x = np.random.default_rng(0).standard_normal((2, 3)).astype(dtype)
        _same_as_torch(lambda lib, a: _functional(lib).pad(a, pad, mode), [x])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes_of_an_int64_tensor_keep_its_dtype(mode):
    data = np.arange(12).reshape(2, 6)
    ours = F.pad(tr.tensor(data), (2, 3), mode)
    theirs = TF.pad(torch.tensor(data), (2, 3), mode).numpy()
    assert ours.dtype == theirs.dtype == np.int64
    np.testing.assert_array_equal(ours.data, theirs)


# ----------------------------------------------------------------------------- finite differences
def _leaves(rng, *shapes):
    return [tr.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    x, y = _leaves(rng, (3, 4), (3, 4))
    assert tr.gradcheck(lambda a, b: F.smooth_l1_loss(a, b, beta=0.7, reduction="sum"), [x, y])
    assert tr.gradcheck(lambda a, b: F.huber_loss(a, b, "mean", 0.6, weight=np.full((3, 4), 2.0)), [x, y])
    logp = tr.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    target = tr.Tensor(rng.uniform(0.1, 1.0, (3, 4)), requires_grad=True)
    assert tr.gradcheck(lambda a, t: F.kl_div(a, t, reduction="batchmean"), [logp, target])
    assert tr.gradcheck(lambda a, t: F.kl_div(a, t, reduction="sum", log_target=True), [logp, target])
    assert tr.gradcheck(lambda a, b: F.cosine_similarity(a, b, 0), [x, y])
    for p in (2.0, 1.5, np.inf, -1.0):
        assert tr.gradcheck(lambda a, b, p=p: F.pairwise_distance(a, b, p, keepdim=True), [x, y])
    (z,) = _leaves(rng, (2, 3, 4))
    for mode in ("reflect", "replicate", "circular"):
        assert tr.gradcheck(lambda a, mode=mode: F.pad(a, (2, -1, 1, 2), mode), [z])


# ----------------------------------------------------------------------------- modules, reductions, warnings
def _module_pair(name, *args, **kwargs):
    return getattr(tr.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("name, args, kwargs, attributes", [
    ("SmoothL1Loss", (), {"beta": 0.5, "reduction": "sum"}, ["reduction", "beta"]),
    ("HuberLoss", ("none", 2.0), {}, ["reduction", "delta"]),
    ("KLDivLoss", (), {"reduction": "batchmean", "log_target": True}, ["reduction", "log_target"]),
    ("CosineSimilarity", (0, 1e-3), {}, ["dim", "eps"]),
    ("PairwiseDistance", (1.0, 0.0, True), {}, ["norm", "eps", "keepdim"]),
])
def test_modules_take_torchs_arguments_and_call_the_functions(name, args, kwargs, attributes):
    ours, theirs = _module_pair(name, *args, **kwargs)
    for attribute in attributes:
        assert getattr(ours, attribute) == getattr(theirs, attribute)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.uniform(0.1, 1, (3, 4))
    np.testing.assert_allclose(ours(tr.Tensor(a), tr.Tensor(b)).data,
                               theirs(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["SmoothL1Loss", "KLDivLoss"])
@pytest.mark.parametrize("size_average, reduce", [(False, None), (None, False)])
def test_legacy_size_average_and_reduce_as_torch(name, size_average, reduce):
    """The modules' deprecated first two positionals, and the functions' keywords, become a reduction with
    torch's warning."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.uniform(0.1, 1, (3, 4))
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        ours, theirs = _module_pair(name, size_average, reduce)
    assert ours.reduction == theirs.reduction
    np.testing.assert_allclose(ours(tr.Tensor(a), tr.Tensor(b)).data,
                               theirs(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)
    fn = {"SmoothL1Loss": "smooth_l1_loss", "KLDivLoss": "kl_div"}[name]
    kwargs = {"size_average": size_average, "reduce": reduce, "reduction": "batchmean" if fn == "kl_div" else "mean"}
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        theirs = getattr(TF, fn)(torch.tensor(a), torch.tensor(b), **kwargs)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        ours = getattr(F, fn)(tr.Tensor(a), tr.Tensor(b), **kwargs)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)   # kl_div: still / batch, as torch


def test_kl_div_mean_warns_as_torch():
    a, t = np.log(np.full((2, 3), 1 / 3)), np.full((2, 3), 1 / 3)
    with pytest.warns(UserWarning) as theirs:
        TF.kl_div(torch.tensor(a), torch.tensor(t))
    with pytest.warns(UserWarning) as ours:
        F.kl_div(tr.Tensor(a), tr.Tensor(t))
    assert str(ours[0].message) == str(theirs[0].message)
    assert ours[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(tr.Tensor(a), tr.Tensor(t), reduction="batchmean")


# ----------------------------------------------------------------------------- errors torch code catches
def _ones(lib, *shape, dtype="float32"):
    return lib.ones(*shape, dtype=getattr(lib, dtype))


def _ints(lib, *shape):
    return lib.ones(*shape, dtype=lib.int64)


def _pad(mode, shape, pad, value=None, dtype="float32"):
    return lambda lib, f: f.pad(_ones(lib, *shape, dtype=dtype), pad, mode, value)


ERROR_CASES = {   # name: (a call taking (lib, functional), the words of our error)
    "smooth_l1_loss negative beta": (lambda lib, f: f.smooth_l1_loss(_ones(lib, 2), _ones(lib, 2), beta=-1.0),
                                     "beta must be >= 0"),
    "smooth_l1_loss nan beta": (lambda lib, f: f.smooth_l1_loss(_ones(lib, 2), _ones(lib, 2), beta=float("nan")),
                                "beta must be >= 0"),
    "smooth_l1_loss beta a str": (lambda lib, f: f.smooth_l1_loss(_ones(lib, 2), _ones(lib, 2), beta="1"), "beta"),
    "smooth_l1_loss int64 input": (lambda lib, f: f.smooth_l1_loss(_ints(lib, 2), _ints(lib, 2)), "not implemented"),
    "smooth_l1_loss shapes that do not broadcast": (lambda lib, f: f.smooth_l1_loss(_ones(lib, 2, 3), _ones(lib, 4)),
                                                    "shape"),
    "smooth_l1_loss reduction batchmean": (lambda lib, f: f.smooth_l1_loss(_ones(lib, 2), _ones(lib, 2),
                                                                           reduction="batchmean"), "reduction"),
    "huber_loss delta 0": (lambda lib, f: f.huber_loss(_ones(lib, 2), _ones(lib, 2), delta=0.0), "delta must be > 0"),
    "huber_loss negative delta": (lambda lib, f: f.huber_loss(_ones(lib, 2), _ones(lib, 2), delta=-2.0), "delta"),
    "huber_loss weight of another shape": (lambda lib, f: f.huber_loss(_ones(lib, 2, 3), _ones(lib, 2, 3),
                                                                       weight=_ones(lib, 3)), "weight shape"),
    "huber_loss reduction avg": (lambda lib, f: f.huber_loss(_ones(lib, 2), _ones(lib, 2), "avg"), "reduction"),
    "kl_div int64 input": (lambda lib, f: f.kl_div(_ints(lib, 2), _ones(lib, 2), reduction="sum"),
                           "not implemented"),
    "kl_div int64 target": (lambda lib, f: f.kl_div(_ones(lib, 2), _ints(lib, 2), reduction="sum"), "target dtype"),
    "kl_div shapes that do not broadcast": (lambda lib, f: f.kl_div(_ones(lib, 2, 3), _ones(lib, 4), reduction="sum"),
                                            "shape"),
    "kl_div log_target an int": (lambda lib, f: f.kl_div(_ones(lib, 2), _ones(lib, 2), reduction="sum",
                                                         log_target=1), "log_target"),
    "kl_div reduction avg": (lambda lib, f: f.kl_div(_ones(lib, 2), _ones(lib, 2), reduction="avg"), "reduction"),
    "cosine_similarity dim past the dims": (lambda lib, f: f.cosine_similarity(_ones(lib, 2, 3), _ones(lib, 2, 3), 2),
                                            "out of range"),
    "cosine_similarity default dim of 1-D": (lambda lib, f: f.cosine_similarity(_ones(lib, 3), _ones(lib, 3)),
                                             "out of range"),
    "cosine_similarity dim a float": (lambda lib, f: f.cosine_similarity(_ones(lib, 2, 3), _ones(lib, 2, 3), 1.0),
                                      "dim"),
    "cosine_similarity negative eps": (lambda lib, f: f.cosine_similarity(_ones(lib, 2, 3), _ones(lib, 2, 3),
                                                                          eps=-1.0), "eps must be non-negative"),
    "cosine_similarity int64 inputs": (lambda lib, f: f.cosine_similarity(_ints(lib, 2, 3), _ints(lib, 2, 3)),
                                       "floating point"),
    "cosine_similarity shapes that do not broadcast": (lambda lib, f: f.cosine_similarity(_ones(lib, 2, 3),
                                                                                          _ones(lib, 4)), "broadcast"),
    "cosine_similarity x2 a list": (lambda lib, f: f.cosine_similarity(_ones(lib, 2, 3), [1.0, 2.0, 3.0]), "x2"),
    "pairwise_distance p a str": (lambda lib, f: f.pairwise_distance(_ones(lib, 2, 3), _ones(lib, 2, 3), "fro"), "'p'"),
    "pairwise_distance keepdim an int": (lambda lib, f: f.pairwise_distance(_ones(lib, 2, 3), _ones(lib, 2, 3),
                                                                            keepdim=1), "keepdim"),
    "pairwise_distance shapes that do not broadcast": (lambda lib, f: f.pairwise_distance(_ones(lib, 2, 3),
                                                                                          _ones(lib, 4)), "broadcast"),
    "pad unknown mode": (_pad("zeros", (1, 2, 3), (1, 1)), "unrecognised padding mode"),
    "pad mode not a str": (_pad(None, (1, 2, 3), (1, 1)), "'mode'"),
    "pad reflect of a 1-D input": (_pad("reflect", (3,), (1, 1)), "last dim of a 2-D or 3-D input"),
    "pad replicate 2 values of a 4-D input": (_pad("replicate", (1, 1, 2, 3), (1, 1)), "2 pad values for a 4-D"),
    "pad circular 6 values of a 3-D input": (_pad("circular", (1, 2, 3), (1,) * 6), "6 pad values for a 3-D"),
    "pad reflect no values": (_pad("reflect", (1, 2, 3), ()), "0 pad values"),
    "pad reflect of a bool tensor": (_pad("reflect", (1, 2, 3), (1, 1), dtype="bool"), "bool"),
    "pad replicate with a value": (_pad("replicate", (1, 2, 3), (1, 1), 1.0), "doesn't take in value"),
    "pad reflect as wide as the dim": (_pad("reflect", (1, 2, 3), (3, 0)), "less than the size"),
    "pad reflect 2-D pads too wide": (_pad("reflect", (1, 2, 3), (1, 1, 2, 2)), "less than the size"),
    "pad reflect cropping all": (_pad("reflect", (1, 2, 3), (-2, -1)), "output size of 0"),
    "pad replicate cropping past": (_pad("replicate", (1, 2, 3), (-3, 0)), "output size of 0"),
    "pad replicate of an empty dim": (_pad("replicate", (1, 0, 3), (1, 1)), "non-zero dimensions"),
    "pad reflect of an empty channel dim": (_pad("reflect", (0, 2, 3), (1, 1, 1, 1)), "non-zero dimensions"),
    "pad circular wider than the dim": (_pad("circular", (1, 2, 3), (4, 0)), "wrapping around more than once"),
    "pad circular cropping past": (_pad("circular", (1, 2, 3), (-2, -2)), "empty dimension"),
    "pad circular pad of an empty dim": (_pad("circular", (1, 2, 0), (1, 1)), "wrapping around"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_are_the_types_torch_raises(case):
    """Ours raises an instance of the type torch raises (so torch code's `except` catches it), naming the
    argument; and the library's own kinds (ValueError / TypeError; IndexError for a dim, as torch's) too."""
    call, words = ERROR_CASES[case]
    expected = type(torch_error(lambda: call(torch, TF)))
    with pytest.raises(expected, match=words):
        call(tr, F)
    with pytest.raises((ValueError, TypeError, IndexError)):
        call(tr, F)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes_take_a_zero_value_and_keep_an_empty_batch_as_torch(mode):
    x = np.arange(6.0, dtype=np.float32).reshape(1, 2, 3)
    for value in (None, 0, 0.0):
        np.testing.assert_array_equal(F.pad(tr.Tensor(x), (1, 2), mode, value).data,
                                      TF.pad(torch.tensor(x), (1, 2), mode, value).numpy())
    empty = np.zeros((0, 2, 3), np.float32)
    assert F.pad(tr.Tensor(empty), (1, 1), mode).shape == tuple(TF.pad(torch.tensor(empty), (1, 1), mode).shape)


@pytest.mark.parametrize("fn", ["smooth_l1_loss", "huber_loss", "kl_div"])
def test_mixed_dtypes_are_refused_not_upcast(fn):
    """torch promotes a float64 target of a float32 input (or, for huber_loss, computes in float32 silently);
    here it is refused, naming target."""
    assert getattr(TF, fn)(torch.ones(2), torch.ones(2, dtype=torch.float64), reduction="sum") is not None
    with pytest.raises(TypeError, match=f"{fn}: target dtype float64 does not match input dtype float32"):
        getattr(F, fn)(tr.ones(2), tr.ones(2, dtype=np.float64), reduction="sum")


@pytest.mark.parametrize("pad", [(-2, 3), (2, -2), (-3, 1)])
def test_pad_circular_refuses_wrapping_more_than_is_left_after_cropping(pad):
    """torch checks the amounts against the size before cropping only: past what is left it returns uninitialised
    memory or fails on overlapping copies. Refused here, by name."""
    with pytest.raises(ValueError, match="wrapping around more than once"):
        F.pad(tr.ones(1, 2, 3), pad, "circular")


@pytest.mark.parametrize("fn", ["smooth_l1_loss", "kl_div"])
def test_reduction_is_not_taken_positionally_where_torch_has_size_average(fn):
    """torch's third positional of smooth_l1_loss and kl_div is the legacy size_average: there a positional "sum"
    is truthy, so a mean. Refused here, as for mse_loss; huber_loss (no size_average) takes it positionally."""
    x, t = np.full(4, 0.25), np.array([0.1, 0.2, 0.3, 0.4])
    with pytest.warns(UserWarning):
        mean = getattr(TF, fn)(torch.tensor(x), torch.tensor(t), "sum").item()
    with pytest.raises(TypeError, match="positional"):
        getattr(F, fn)(tr.Tensor(x), tr.Tensor(t), "sum")
    assert getattr(F, fn)(tr.Tensor(x), tr.Tensor(t), reduction="sum").item() == pytest.approx(4 * mean)
    assert F.huber_loss(tr.Tensor(x), tr.Tensor(t), "sum", 0.5).item() == pytest.approx(
        TF.huber_loss(torch.tensor(x), torch.tensor(t), "sum", 0.5).item())


def test_number_arguments_take_a_0d_tensor_as_torch():
    x, t = np.linspace(-2, 2, 6), np.zeros(6)
    for fn, kwargs in (("smooth_l1_loss", "beta"), ("huber_loss", "delta")):
        theirs = getattr(TF, fn)(torch.tensor(x), torch.tensor(t), **{kwargs: torch.tensor(0.5)})
        ours = getattr(F, fn)(tr.Tensor(x), tr.Tensor(t), **{kwargs: tr.tensor(0.5)})
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
