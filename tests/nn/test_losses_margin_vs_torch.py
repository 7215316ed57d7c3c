"""poisson_nll_loss, gaussian_nll_loss, the margin and hinge losses, the multi-label losses, cosine_embedding_loss,
the triplet losses, F.pdist and tr.cdist (with their modules) against torch 2.13: values and gradients over drawn
shapes in float32 and float64 (kinks drawn on purpose: zero hinge arguments, zero distances, variances under eps,
targets of 0 and 1), gradients against finite differences, the modules' arguments and legacy reductions, and the
error types torch raises."""
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
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
SEEDS = st.integers(0, 2 ** 16)


def _as(lib, a, grad):
    """a (an array) as lib's tensor; integer arrays never require grad."""
    if lib is torch:
        return torch.tensor(a, requires_grad=grad and a.dtype.kind == "f")
    return tr.Tensor(a, requires_grad=grad and a.dtype.kind == "f") if a.dtype.kind == "f" else tr.tensor(a)


def _run(lib, fn, arrays, needs_grad, seed):
    """fn(lib, *tensors), backpropagated with a drawn upstream gradient: (value, dtype, grads of needs_grad's)."""
    xs = [_as(lib, a, g) for a, g in zip(arrays, needs_grad)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(lib, *xs)
    up = np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
    if any(needs_grad) and out.requires_grad:
        out.backward(torch.tensor(up) if lib is torch else up)
    value = out.detach().numpy() if lib is torch else out._data
    grads = []
    for x, g in zip(xs, needs_grad):
        if g:
            grad = x.grad.numpy() if lib is torch and x.grad is not None else x.grad
            grads.append(np.zeros(x.shape, arrays[0].dtype) if grad is None else grad)
    return value, out.dtype, grads


NOT_DIFFERENTIABLE_IN_TORCH = {"SoftMarginLoss": 1}   # torch raises if this argument requires grad


def _same_as_torch(fn, arrays, needs_grad=None, seed=0, scale=1.0, rtol64=1e-11):
    needs_grad = needs_grad or [a.dtype.kind == "f" for a in arrays]
    ours, ours_dtype, ours_grads = _run(tr, fn, arrays, needs_grad, seed)
    theirs, _, their_grads = _run(torch, fn, arrays, needs_grad, seed)
    float32 = arrays[0].dtype == np.float32
    rtol, atol = (5e-5, 5e-6 * scale) if float32 else (rtol64, 1e-13 * scale)
    assert ours_dtype == arrays[0].dtype   # no upcast
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg="value")
    for i, (a, b) in enumerate(zip(ours_grads, their_grads)):
        assert a.dtype == arrays[0].dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient {i}")


def _f(lib):
    return TF if lib is torch else F


def _top(lib):
    return torch if lib is torch else tr


@st.composite
def arrays(draw, shapes, count=1, scale=1.0):
    """count arrays of one drawn shape and dtype, and a numpy generator for more."""
    shape = draw(st.sampled_from(shapes))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(SEEDS))
    return [(rng.standard_normal(shape) * scale).astype(dtype) for _ in range(count)], rng


SHAPES = [(), (5,), (3, 4), (2, 3, 2), (0, 3)]


def _signs(rng, shape, dtype, others=False):
    """+1 / -1 targets (with others=True some 0s and 2s too, which torch's formulas also take)."""
    values = [1.0, -1.0, 0.0, 2.0] if others else [1.0, -1.0]
    return rng.choice(values, size=shape).astype(dtype)


# ----------------------------------------------------------------------------- likelihoods
@given(arrays(SHAPES, 1), st.booleans(), st.booleans(), st.sampled_from([1e-8, 0.5]), REDUCTIONS, SEEDS)
def test_poisson_nll_loss_matches_torch(drawn, log_input, full, eps, reduction, seed):
    (x,), rng = drawn
    if not log_input:   # a rate: positive, some exactly 0 (eps keeps the log finite)
        x = np.where(rng.random(x.shape) < 0.2, 0, np.abs(x) + 0.1).astype(x.dtype)
    # counts: 0 (not with full: see below), 1 (Stirling's term is masked up to 1), fractions and larger values
    t = rng.choice([1.0, 0.5, 1.5, 3.0, 7.0] + ([] if full else [0.0]), size=x.shape).astype(x.dtype)
    _same_as_torch(lambda lib, a, b: _f(lib).poisson_nll_loss(a, b, log_input, full, eps=eps, reduction=reduction),
                   [x, t], seed=seed, scale=10)


def test_poisson_nll_loss_full_at_a_zero_count_has_gradient_zero_not_torchs_nan():
    """Stirling's term is masked where target <= 1, as torch's; torch's target gradient at 0 is still nan (its
    masked term is t log t), here 0 (the log never sees the 0). The value and the input's gradient are torch's."""
    x, t = np.array([0.3, -0.2]), np.array([0.0, 3.0])
    theirs_t = torch.tensor(t, requires_grad=True)
    TF.poisson_nll_loss(torch.tensor(x), theirs_t, full=True, reduction="sum").backward()
    assert np.isnan(theirs_t.grad[0].item())
    ours_t = tr.Tensor(t, requires_grad=True)
    F.poisson_nll_loss(tr.Tensor(x), ours_t, full=True, reduction="sum").backward()
    assert ours_t.grad[0] == -0.3
    np.testing.assert_allclose(ours_t.grad[1], theirs_t.grad[1].item(), rtol=1e-14)
    _same_as_torch(lambda lib, a, b: _f(lib).poisson_nll_loss(a, b, full=True), [x, t], [True, False])


VAR_CASES = ["same", "last dim dropped", "one dim of 1", "float"]


@given(arrays([(5,), (3, 4), (2, 3, 2)], 2), st.sampled_from(VAR_CASES), st.booleans(), REDUCTIONS, SEEDS)
def test_gaussian_nll_loss_matches_torch(drawn, case, full, reduction, seed):
    (x, t), rng = drawn
    shape = {"same": x.shape, "last dim dropped": x.shape[:-1], "one dim of 1": x.shape[:-1] + (1,),
             "float": None}[case]
    if shape is None:
        var = 0.7
        _same_as_torch(lambda lib, a, b: _f(lib).gaussian_nll_loss(a, b, var, full, reduction=reduction),
                       [x, t], seed=seed)
        return
    v = rng.uniform(0.01, 2.0, shape).astype(x.dtype)
    v = np.where(rng.random(shape) < 0.3, rng.choice([0.0, 1e-7], size=shape), v).astype(x.dtype)   # under eps
    _same_as_torch(lambda lib, a, b, c: _f(lib).gaussian_nll_loss(a, b, c, full, 1e-6, reduction), [x, t, v],
                   seed=seed, scale=1e7)


# ----------------------------------------------------------------------------- margins and hinges
@given(arrays(SHAPES, 2), st.sampled_from([0.0, 0.5, 1.0]), REDUCTIONS, SEEDS)
def test_margin_ranking_loss_matches_torch(drawn, margin, reduction, seed):
    (x1, x2), rng = drawn
    x2 = np.where(rng.random(x1.shape) < 0.2, x1, x2)   # with margin 0: the hinge exactly at 0
    t = _signs(rng, x1.shape, x1.dtype)
    _same_as_torch(lambda lib, a, b, c: _f(lib).margin_ranking_loss(a, b, c, margin, reduction=reduction),
                   [x1, x2, t], seed=seed)


def test_margin_ranking_loss_broadcasts_within_one_rank_as_torch():
    rng = np.random.default_rng(0)
    x1, x2, t = rng.standard_normal((3, 1)), rng.standard_normal((1, 4)), _signs(rng, (3, 4), np.float64)
    _same_as_torch(lambda lib, a, b, c: _f(lib).margin_ranking_loss(a, b, c, 0.3), [x1, x2, t])


@given(arrays(SHAPES, 1), st.sampled_from([0.0, 1.0, 2.0]), st.booleans(), REDUCTIONS, SEEDS)
def test_hinge_embedding_loss_matches_torch(drawn, margin, other_targets, reduction, seed):
    (x,), rng = drawn
    x = np.where(rng.random(x.shape) < 0.2, margin, np.abs(x)).astype(x.dtype)   # margin - x exactly 0
    t = _signs(rng, x.shape, x.dtype, other_targets)
    _same_as_torch(lambda lib, a, b: _f(lib).hinge_embedding_loss(a, b, margin, reduction=reduction), [x, t],
                   seed=seed)


@given(arrays(SHAPES, 1, scale=3.0), REDUCTIONS, SEEDS)
def test_soft_margin_loss_matches_torch(drawn, reduction, seed):
    (x,), rng = drawn
    t = _signs(rng, x.shape, x.dtype)
    _same_as_torch(lambda lib, a, b: _f(lib).soft_margin_loss(a, b, reduction=reduction), [x, t], [True, False],
                   seed=seed)   # torch refuses a target that requires grad here (ours gets one)


@given(arrays([(4,), (3, 4), (2, 3, 4), (0, 4)], 1, scale=3.0), st.sampled_from([None, "class", "full"]),
       REDUCTIONS, SEEDS)
def test_multilabel_soft_margin_loss_matches_torch(drawn, weighted, reduction, seed):
    (x,), rng = drawn
    t = rng.choice([0.0, 1.0, 0.3], size=x.shape).astype(x.dtype)
    w = {None: None, "class": rng.uniform(0.5, 2, x.shape[-1:]), "full": rng.uniform(0.5, 2, x.shape)}[weighted]
    arrays_ = [x, t] if w is None else [x, t, w.astype(x.dtype)]

    def loss(lib, a, b, c=None):
        return _f(lib).multilabel_soft_margin_loss(a, b, c, reduction=reduction)
    _same_as_torch(loss, arrays_, [True, True, False][:len(arrays_)], seed=seed)


@st.composite
def embedding_pairs(draw):
    """(x1, x2, target): (N, D) with (N,) or (D,) with 0-d; some rows equal, opposite or zero."""
    (x1, x2), rng = draw(arrays([(4, 3), (6, 5), (0, 3), (3,)], 2))
    pick = rng.random(x1.shape[:-1] + (1,))
    x2 = np.where(pick < 0.2, x1, np.where(pick < 0.3, -x1, x2))
    x1 = np.where((pick >= 0.3) & (pick < 0.4), 0, x1).astype(x1.dtype)
    return x1, x2.astype(x1.dtype), _signs(rng, x1.shape[:-1], x1.dtype, draw(st.booleans()))


@given(embedding_pairs(), st.sampled_from([0.0, 0.5, -0.2]), REDUCTIONS, SEEDS)
def test_cosine_embedding_loss_matches_torch(pair, margin, reduction, seed):
    x1, x2, t = pair
    # a zero vector's gradient is of size 1/sqrt(1e-12): its rounding, summed otherwise than torch's, is relative
    _same_as_torch(lambda lib, a, b, c: _f(lib).cosine_embedding_loss(a, b, c, margin, reduction=reduction),
                   [x1, x2, t], [True, True, False], seed=seed, rtol64=1e-8)


@pytest.mark.parametrize("fn, arity", [("hinge_embedding_loss", 1), ("soft_margin_loss", 1),
                                       ("margin_ranking_loss", 2), ("cosine_embedding_loss", 2)])
def test_int_targets_are_read_in_the_inputs_dtype_as_torch(fn, arity):
    """torch's examples give these +1 / -1 targets as int64 tensors; the float32 input stays float32."""
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(arity)]
    t = rng.choice([1, -1], size=(4,) if fn == "cosine_embedding_loss" else (4, 3))
    _same_as_torch(lambda lib, *a: getattr(_f(lib), fn)(*a, reduction="none"), xs + [t])


# ----------------------------------------------------------------------------- multi-class margins
@st.composite
def class_scores(draw):
    """(input, target): (N, C), (C,) with a 0-d or (1,) target, 0-d with a 0-d target, or an empty batch; some
    scores tied so that a hinge argument is exactly 0 with margin 0."""
    shape = draw(st.sampled_from([(4, 5), (6, 3), (5,), (), (0, 4), (2, 1)]))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(SEEDS))
    x = rng.standard_normal(shape).astype(dtype)
    if x.ndim:
        x = np.where(rng.random(shape) < 0.3, x.reshape(-1, shape[-1])[:, :1].reshape(shape[:-1] + (1,)), x)
    n_classes = shape[-1] if shape else 1
    n = shape[0] if len(shape) == 2 else 1
    t = rng.integers(0, n_classes, size=n) if n_classes else np.zeros(0, np.int64)
    if len(shape) < 2:
        t = t.reshape(()) if draw(st.booleans()) else t
    return x.astype(dtype), t


@given(class_scores(), st.sampled_from([1, 2]), st.sampled_from([0.0, 1.0, 0.5]), st.booleans(), REDUCTIONS, SEEDS)
def test_multi_margin_loss_matches_torch(scores, p, margin, weighted, reduction, seed):
    x, t = scores
    n_classes = x.shape[-1] if x.ndim else 1
    w = np.random.default_rng(seed).uniform(0.5, 2, n_classes).astype(x.dtype) if weighted else None

    def loss(lib, a, b):
        weight = None if w is None else _as(lib, w, False)
        return _f(lib).multi_margin_loss(a, b, p, margin, weight, reduction=reduction)
    _same_as_torch(loss, [x, t], seed=seed)


@st.composite
def label_lists(draw):
    """(input, target): target rows list classes (repeats allowed), ended by -1 (or full), entries after the -1
    drawn at random in [-1, C)."""
    shape = draw(st.sampled_from([(4, 5), (3, 3), (5,), (), (0, 4)]))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(SEEDS))
    x = np.where(rng.random(shape) < 0.2, 0.5, rng.standard_normal(shape)).astype(dtype)   # ties: 1 - 0.5 - ...
    n_classes = shape[-1] if shape else 1
    t = rng.integers(-1, n_classes, size=shape)
    ends = rng.integers(0, n_classes + 1, size=shape[:-1] + (1,)) if shape else np.array(1)
    t = np.where(np.arange(n_classes) == ends, -1, t) if shape else t
    return x, t


@given(label_lists(), REDUCTIONS, SEEDS)
def test_multilabel_margin_loss_matches_torch(lists, reduction, seed):
    x, t = lists
    if x.size == 0 and reduction != "none":   # torch 2.13 returns uninitialised memory; 0 here, as multi_margin's
        assert F.multilabel_margin_loss(tr.Tensor(x), tr.tensor(t), reduction=reduction).item() == 0
        return
    _same_as_torch(lambda lib, a, b: _f(lib).multilabel_margin_loss(a, b, reduction=reduction), [x, t], seed=seed)


# ----------------------------------------------------------------------------- triplets and distances
@given(arrays([(4, 3), (5,), (0, 3), (2, 3, 4)], 3), st.sampled_from([1.0, 2.0, 3.0, 0.5, np.inf]),
       st.sampled_from([1e-6, 0.0]), st.booleans(), st.sampled_from([1.0, 0.3]), REDUCTIONS, SEEDS)
def test_triplet_margin_loss_matches_torch(drawn, p, eps, swap, margin, reduction, seed):
    (a, pos, neg), rng = drawn
    pos = np.where(rng.random(a.shape[:-1] + (1,)) < 0.2, a, pos)   # zero distance (with eps 0)

    def loss(lib, x, y, z):
        return _f(lib).triplet_margin_loss(x, y, z, margin, p, eps, swap, reduction=reduction)
    _same_as_torch(loss, [a, pos, neg], seed=seed, scale=10)


def _cosine_distance(lib):
    return lambda x, y: 1.0 - _f(lib).cosine_similarity(x, y, -1)


@given(arrays([(4, 3), (6, 2)], 3), st.sampled_from([None, "cosine", "l1"]), st.booleans(),
       st.sampled_from([1.0, 0.2]), REDUCTIONS, SEEDS)
def test_triplet_margin_with_distance_loss_matches_torch(drawn, distance, swap, margin, reduction, seed):
    (a, pos, neg), _ = drawn

    def loss(lib, x, y, z):
        fn = {None: None, "cosine": _cosine_distance(lib),
              "l1": lambda u, v: _f(lib).pairwise_distance(u, v, 1.0)}[distance]
        return _f(lib).triplet_margin_with_distance_loss(x, y, z, distance_function=fn, margin=margin, swap=swap,
                                                         reduction=reduction)
    _same_as_torch(loss, [a, pos, neg], seed=seed)


P_VALUES = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, np.inf]


@given(arrays([(5, 3), (1, 4), (0, 2), (2, 1), (6, 4)], 1), st.sampled_from(P_VALUES), SEEDS)
def test_pdist_matches_torch(drawn, p, seed):
    (x,), rng = drawn
    if x.shape[0] > 2:
        x[1] = x[0]   # a zero distance: gradient 0, as torch's
    grad = [x.shape[0] > 0]   # torch 2.13's backward of an empty pdist crashes the process (p != 0)
    for lib_pdist in (lambda lib, a: _f(lib).pdist(a, p), lambda lib, a: _top(lib).pdist(a, p)):
        _same_as_torch(lib_pdist, [x], grad, seed=seed, scale=10)


CDIST_SHAPES = [((4, 3), (5, 3)), ((2, 4, 3), (5, 3)), ((2, 1, 3, 2), (4, 5, 2)), ((0, 3), (2, 3)),
                ((30, 3), (4, 3)), ((3, 4), (27, 4)), ((1, 2), (1, 2))]
MODES = ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"]


@given(st.sampled_from(CDIST_SHAPES), st.sampled_from(DTYPES), st.sampled_from(P_VALUES), st.sampled_from(MODES),
       SEEDS)
def test_cdist_matches_torch(shapes, dtype, p, mode, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = (rng.standard_normal(s).astype(dtype) for s in shapes)
    if x1.shape[-2] and x2.shape[-2] and p != 2:   # a zero distance (the matrix product's rounding hides it)
        x2[..., 0, :] = x1[(0,) * (x1.ndim - 2) + (0,)]
    float32_mm = dtype == np.float32 and p == 2 and mode != MODES[2]
    _same_as_torch(lambda lib, a, b: _top(lib).cdist(a, b, p, mode), [x1, x2], seed=seed,
                   scale=1e3 if float32_mm else 10)


@given(arrays([(3, 4), (4,), (2, 3, 4)], 2), st.sampled_from([1e-8, 0.5]), SEEDS)
def test_top_level_cosine_similarity_and_pairwise_distance_as_torch(drawn, eps, seed):
    (x1, x2), rng = drawn
    x2 = x2[:1] if x2.ndim > 1 else x2   # broadcast along dim 0
    x1 = np.where(rng.random(x1.shape) < 0.2, 0, x1).astype(x1.dtype)
    dim = x1.ndim - 1
    _same_as_torch(lambda lib, a, b: _top(lib).cosine_similarity(a, b, dim, eps), [x1, x2], seed=seed)
    _same_as_torch(lambda lib, a, b: _top(lib).pairwise_distance(a, b, 2.0, eps), [x1, x2], seed=seed)


# ----------------------------------------------------------------------------- finite differences
def _leaves(rng, *shapes):
    return [tr.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def test_loss_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    x, y, z = _leaves(rng, (3, 4), (3, 4), (3, 4))
    signs = np.array([[1.0, -1, 1, -1]] * 3)
    counts = tr.Tensor(rng.uniform(1.5, 4, (3, 4)), requires_grad=True)
    assert tr.gradcheck(lambda a, t: F.poisson_nll_loss(a, t, full=True), [x, counts])
    rate = tr.Tensor(rng.uniform(0.5, 2, (3, 4)), requires_grad=True)
    assert tr.gradcheck(lambda a, t: F.poisson_nll_loss(a, t, False, reduction="sum"), [rate, counts])
    var = tr.Tensor(rng.uniform(0.5, 2, (3,)), requires_grad=True)
    assert tr.gradcheck(lambda a, t, v: F.gaussian_nll_loss(a, t, v, True), [x, y, var])
    assert tr.gradcheck(lambda a, b: F.margin_ranking_loss(a, b, tr.Tensor(signs), 0.3), [x, y])
    assert tr.gradcheck(lambda a: F.hinge_embedding_loss(a.abs(), signs, 1.5), [x])
    assert tr.gradcheck(lambda a: F.soft_margin_loss(a, signs), [x])
    assert tr.gradcheck(lambda a, t: F.multilabel_soft_margin_loss(a, t.sigmoid(), [1.0, 2, 3, 4]), [x, y])
    assert tr.gradcheck(lambda a, b: F.cosine_embedding_loss(a, b, signs[0, :3], -0.5), [x, y])
    assert tr.gradcheck(lambda a: F.multi_margin_loss(a, tr.tensor([0, 3, 1]), 2, 0.8, [1.0, 2, 3, 4]), [x])
    assert tr.gradcheck(lambda a: F.multilabel_margin_loss(a, tr.tensor([[0, 2, -1, 1]] * 3)), [x])
    assert tr.gradcheck(lambda a, b, c: F.triplet_margin_loss(a, b, c, 2.0, 1.5, swap=True), [x, y, z])
    assert tr.gradcheck(lambda a, b, c: F.triplet_margin_with_distance_loss(
        a, b, c, distance_function=_cosine_distance(tr), margin=1.5), [x, y, z])


def test_distance_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    x, w = _leaves(rng, (5, 3), (2, 4, 3))
    for p in (1.0, 2.0, 3.0, np.inf, 0.5):
        assert tr.gradcheck(lambda a, p=p: F.pdist(a, p), [x])
        for mode in MODES:
            assert tr.gradcheck(lambda a, b, p=p, mode=mode: tr.cdist(a, b, p, mode), [w, x])


# ----------------------------------------------------------------------------- modules
def _modules(name, *args, **kwargs):
    return getattr(tr.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


def _inputs(name, rng):
    """Arrays a module of this name is called with."""
    x, y, z = (rng.standard_normal((3, 4)) for _ in range(3))
    signs = np.array([[1.0, -1, 1, -1]] * 3)
    return {"PoissonNLLLoss": [x, rng.uniform(0, 3, (3, 4))], "GaussianNLLLoss": [x, y, rng.uniform(0, 1, (3, 1))],
            "MarginRankingLoss": [x, y, signs], "HingeEmbeddingLoss": [x, signs], "SoftMarginLoss": [x, signs],
            "MultiLabelMarginLoss": [x, np.array([[3, 0, -1, 1]] * 3)],
            "MultiLabelSoftMarginLoss": [x, rng.uniform(0, 1, (3, 4))],
            "CosineEmbeddingLoss": [x, y, signs[:, 0]], "MultiMarginLoss": [x, np.array([0, 3, 2])],
            "TripletMarginLoss": [x, y, z], "TripletMarginWithDistanceLoss": [x, y, z]}[name]


def _needs_grad(name, arrays_):
    needs = [a.dtype.kind == "f" for a in arrays_]
    if name in NOT_DIFFERENTIABLE_IN_TORCH:
        needs[NOT_DIFFERENTIABLE_IN_TORCH[name]] = False
    return needs


MODULE_CASES = [
    ("PoissonNLLLoss", (False, True, None, 0.1), {}, ["log_input", "full", "eps", "reduction"]),
    ("GaussianNLLLoss", (), {"full": True, "eps": 0.2, "reduction": "sum"}, ["full", "eps", "reduction"]),
    ("MarginRankingLoss", (0.4,), {"reduction": "none"}, ["margin", "reduction"]),
    ("HingeEmbeddingLoss", (0.7,), {}, ["margin", "reduction"]),
    ("MultiLabelMarginLoss", (), {"reduction": "sum"}, ["reduction"]),
    ("SoftMarginLoss", (), {"reduction": "none"}, ["reduction"]),
    ("MultiLabelSoftMarginLoss", (np.array([1.0, 2.0, 0.5, 1.0]),), {}, ["reduction"]),
    ("CosineEmbeddingLoss", (0.1,), {}, ["margin", "reduction"]),
    ("MultiMarginLoss", (2, 0.5), {"reduction": "none"}, ["p", "margin", "reduction"]),
    ("TripletMarginLoss", (0.5, 1.0, 1e-3, True), {}, ["margin", "p", "eps", "swap", "reduction"]),
    ("TripletMarginWithDistanceLoss", (), {"margin": 0.3, "swap": True}, ["margin", "swap", "reduction"]),
]


@pytest.mark.parametrize("name, args, kwargs, attributes", MODULE_CASES)
def test_modules_take_torchs_arguments_and_match_torch(name, args, kwargs, attributes):
    torch_args = tuple(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args)
    ours = getattr(tr.nn, name)(*(tr.Tensor(a) if isinstance(a, np.ndarray) else a for a in args), **kwargs)
    theirs = getattr(torch.nn, name)(*torch_args, **kwargs)
    for attribute in attributes:
        assert getattr(ours, attribute) == getattr(theirs, attribute)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())   # a weight is a buffer, as torch's
    arrays_ = _inputs(name, np.random.default_rng(0))
    _same_as_torch(lambda lib, *xs: (ours if lib is tr else theirs)(*xs), arrays_, _needs_grad(name, arrays_))


@pytest.mark.parametrize("name", ["PoissonNLLLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
                                  "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss", "CosineEmbeddingLoss",
                                  "MultiMarginLoss", "TripletMarginLoss"])
@pytest.mark.parametrize("size_average, reduce", [(False, None), (None, False), (True, True)])
def test_legacy_size_average_and_reduce_as_torch(name, size_average, reduce):
    """torch's deprecated size_average and reduce (positionally in the modules, keywords in the functions) become
    a reduction, with torch's warning."""
    kwargs = {"size_average": size_average, "reduce": reduce}
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        ours = getattr(tr.nn, name)(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(torch.nn, name)(**kwargs)
    assert ours.reduction == theirs.reduction
    arrays_ = _inputs(name, np.random.default_rng(1))
    _same_as_torch(lambda lib, *xs: (ours if lib is tr else theirs)(*xs), arrays_, _needs_grad(name, arrays_))
    fn = ours.function
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        getattr(F, fn)(*(_as(tr, a, False) for a in arrays_), **kwargs)


def test_module_attributes_are_read_at_each_call():
    loss, x, t = tr.nn.MultiMarginLoss(), tr.Tensor(np.eye(3) * 2), tr.tensor([0, 2, 1])
    loss.reduction, loss.margin = "none", 3.0
    np.testing.assert_allclose(loss(x, t).data, TF.multi_margin_loss(torch.tensor(np.eye(3) * 2),
                                                                     torch.tensor([0, 2, 1]), margin=3.0,
                                                                     reduction="none").numpy())


def test_triplet_with_distance_module_keeps_a_module_distance_as_a_child_as_torch():
    ours = tr.nn.TripletMarginWithDistanceLoss(distance_function=tr.nn.PairwiseDistance(1.0))
    theirs = torch.nn.TripletMarginWithDistanceLoss(distance_function=torch.nn.PairwiseDistance(1.0))
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert tr.nn.TripletMarginWithDistanceLoss().distance_function is F.pairwise_distance


# ----------------------------------------------------------------------------- errors torch code catches
def _ones(lib, *shape, dtype="float32"):
    return lib.ones(*shape, dtype=getattr(lib, dtype))


def _ints(lib, *values):
    return lib.tensor(list(values)) if lib is torch else tr.tensor(list(values))


ERROR_CASES = {   # name: (a call taking (lib, functional), the words of our error)
    "poisson reduction avg": (lambda lib, f: f.poisson_nll_loss(_ones(lib, 2), _ones(lib, 2), reduction="avg"),
                              "reduction"),
    "gaussian negative var": (lambda lib, f: f.gaussian_nll_loss(_ones(lib, 2), _ones(lib, 2), -_ones(lib, 2)),
                              "negative"),
    "gaussian negative float var": (lambda lib, f: f.gaussian_nll_loss(_ones(lib, 2), _ones(lib, 2), -1.0),
                                    "negative"),
    "gaussian var of a wrong size": (lambda lib, f: f.gaussian_nll_loss(_ones(lib, 3, 4), _ones(lib, 3, 4),
                                                                        _ones(lib, 4)), "incorrect size"),
    "gaussian var two dims off": (lambda lib, f: f.gaussian_nll_loss(_ones(lib, 3, 4), _ones(lib, 3, 4),
                                                                     _ones(lib, 1, 1)), "incorrect size"),
    "gaussian reduction avg": (lambda lib, f: f.gaussian_nll_loss(_ones(lib, 2), _ones(lib, 2), 1.0,
                                                                  reduction="avg"), "reduction"),
    "margin_ranking ranks differ": (lambda lib, f: f.margin_ranking_loss(_ones(lib, 3), _ones(lib, 3, 1),
                                                                         _ones(lib, 3)), "dimensions"),
    "hinge margin a str": (lambda lib, f: f.hinge_embedding_loss(_ones(lib, 3), _ones(lib, 3), "1"), "margin"),
    "multi_margin p 3": (lambda lib, f: f.multi_margin_loss(_ones(lib, 2, 3), _ints(lib, 0, 1), p=3), "p == 1"),
    "multi_margin target out of range": (lambda lib, f: f.multi_margin_loss(_ones(lib, 2, 3), _ints(lib, 0, 3)),
                                         "out of range"),
    "multi_margin negative target": (lambda lib, f: f.multi_margin_loss(_ones(lib, 2, 3), _ints(lib, 0, -1)),
                                     "out of range"),
    "multi_margin float target": (lambda lib, f: f.multi_margin_loss(_ones(lib, 2, 3), _ones(lib, 2)), "integer"),
    "multi_margin target size": (lambda lib, f: f.multi_margin_loss(_ones(lib, 2, 3), _ints(lib, 0)), "target"),
    "multi_margin 3-D input": (lambda lib, f: f.multi_margin_loss(_ones(lib, 2, 3, 4), _ints(lib, 0, 1)),
                               "vector or matrix"),
    "multi_margin weight of another size": (lambda lib, f: f.multi_margin_loss(_ones(lib, 2, 3), _ints(lib, 0, 1),
                                                                               weight=_ones(lib, 2)), "weight"),
    "multi_margin weight 2-D": (lambda lib, f: f.multi_margin_loss(_ones(lib, 2, 3), _ints(lib, 0, 1),
                                                                   weight=_ones(lib, 1, 3)), "one-dimensional"),
    "multilabel_margin target out of range": (lambda lib, f: f.multilabel_margin_loss(
        _ones(lib, 1, 3), lib.tensor([[0, 3, -1]])), "out of range"),
    "multilabel_margin target below -1": (lambda lib, f: f.multilabel_margin_loss(
        _ones(lib, 1, 3), lib.tensor([[0, -2, -1]])), "out of range"),
    "multilabel_margin target shape": (lambda lib, f: f.multilabel_margin_loss(
        _ones(lib, 2, 3), lib.tensor([[0, 1]] * 2)), "inconsistent target size"),
    "multilabel_margin no classes": (lambda lib, f: f.multilabel_margin_loss(
        _ones(lib, 2, 0), lib.zeros(2, 0, dtype=lib.int64)), "non-empty"),
    "multilabel_soft_margin 0-d input": (lambda lib, f: f.multilabel_soft_margin_loss(lib.tensor(1.0), lib.tensor(1.0)),
                                         "class dim"),
    "cosine_embedding 2-D target": (lambda lib, f: f.cosine_embedding_loss(_ones(lib, 3, 2), _ones(lib, 3, 2),
                                                                           _ones(lib, 3, 1)), "multi-target"),
    "cosine_embedding 0-d target of 2-D inputs": (lambda lib, f: f.cosine_embedding_loss(
        _ones(lib, 3, 2), _ones(lib, 3, 2), lib.tensor(1.0)), "expects 1-D"),
    "triplet margin 0": (lambda lib, f: f.triplet_margin_loss(_ones(lib, 2, 3), _ones(lib, 2, 3), _ones(lib, 2, 3),
                                                              margin=0.0), "margin must be greater than 0"),
    "triplet ranks differ": (lambda lib, f: f.triplet_margin_loss(_ones(lib, 2, 3), _ones(lib, 3), _ones(lib, 2, 3)),
                             "number of dimensions"),
    "triplet with distance negative margin": (lambda lib, f: f.triplet_margin_with_distance_loss(
        _ones(lib, 2, 3), _ones(lib, 2, 3), _ones(lib, 2, 3), margin=-1.0), "margin must be greater than 0"),
    "triplet with distance reduction avg": (lambda lib, f: f.triplet_margin_with_distance_loss(
        _ones(lib, 2, 3), _ones(lib, 2, 3), _ones(lib, 2, 3), reduction="avg"), "reduction"),
    "pdist 3-D input": (lambda lib, f: f.pdist(_ones(lib, 2, 3, 4)), "2-D"),
    "pdist negative p": (lambda lib, f: f.pdist(_ones(lib, 2, 3), -1.0), "non-negative p"),
    "pdist int input": (lambda lib, f: f.pdist(lib.ones(2, 3, dtype=lib.int64)), "floating-point"),
    "cdist 1-D input": (lambda lib, f: _top(lib).cdist(_ones(lib, 3), _ones(lib, 2, 3)), "at least 2"),
    "cdist columns differ": (lambda lib, f: _top(lib).cdist(_ones(lib, 2, 3), _ones(lib, 2, 4)), "columns"),
    "cdist negative p": (lambda lib, f: _top(lib).cdist(_ones(lib, 2, 3), _ones(lib, 2, 3), -2.0), "non-negative"),
    "cdist int inputs": (lambda lib, f: _top(lib).cdist(lib.ones(2, 3, dtype=lib.int64),
                                                        lib.ones(2, 3, dtype=lib.int64)), "floating-point"),
    "cdist unknown compute_mode": (lambda lib, f: _top(lib).cdist(_ones(lib, 2, 3), _ones(lib, 2, 3), 2.0, "mm"),
                                   "compute_mode"),
    "cdist batches that do not broadcast": (lambda lib, f: _top(lib).cdist(_ones(lib, 2, 2, 3),
                                                                           _ones(lib, 3, 2, 3)), "broadcast"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_are_the_types_torch_raises(case):
    """Ours raises an instance of the type torch raises (so torch code's `except` catches it), naming what is
    wrong; and the library's own kinds (ValueError / TypeError; IndexError for a dim, as torch's) too."""
    call, words = ERROR_CASES[case]
    expected = type(torch_error(lambda: call(torch, TF)))
    with pytest.raises(expected, match=words):
        call(tr, F)
    with pytest.raises((ValueError, TypeError, IndexError)):
        call(tr, F)


@pytest.mark.parametrize("name, kwargs", [("MultiMarginLoss", {"p": 3}), ("TripletMarginLoss", {"margin": 0.0}),
                                          ("TripletMarginWithDistanceLoss", {"margin": -1.0}),
                                          ("MultiMarginLoss", {"weight": [[1.0, 2.0]]})])
def test_module_constructors_refuse_what_torchs_refuse(name, kwargs):
    torch_kwargs = {k: torch.tensor(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    expected = type(torch_error(lambda: getattr(torch.nn, name)(**torch_kwargs)))
    with pytest.raises(expected):
        getattr(tr.nn, name)(**kwargs)


@pytest.mark.parametrize("fn", ["poisson_nll_loss", "soft_margin_loss", "multilabel_soft_margin_loss"])
def test_mixed_dtypes_are_refused_not_upcast(fn):
    """torch promotes a float64 target of a float32 input; here it is refused, naming target."""
    assert getattr(TF, fn)(torch.ones(2, 2), torch.ones(2, 2, dtype=torch.float64)) is not None
    with pytest.raises(TypeError, match=f"{fn}: target dtype float64 does not match input dtype float32"):
        getattr(F, fn)(tr.ones(2, 2), tr.ones(2, 2, dtype=np.float64))


@pytest.mark.parametrize("fn", ["hinge_embedding_loss", "soft_margin_loss", "multilabel_margin_loss"])
def test_reduction_is_not_taken_positionally_where_torch_has_size_average(fn):
    """torch's third positional here is the legacy size_average ("sum" there is truthy: a mean); refused."""
    with pytest.raises(TypeError, match="positional"):
        getattr(F, fn)(tr.ones(2, 2), tr.tensor([[0, 1], [1, -1]]) if "multilabel" in fn else tr.ones(2, 2), 1.0,
                       "sum")
