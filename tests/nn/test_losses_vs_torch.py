"""cross_entropy, nll_loss and embedding against PyTorch: values and gradients, float64.

Drawn over torch's whole surface: (C,), (N, C) and (N, C, d1, d2) inputs, class weights, ignored
targets (including all of them), the three reductions, label smoothing, class-probability targets;
embedding with repeated indices and padding_idx.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

IGNORE = 2   # an ignore_index that is also a class, so ignoring must not depend on it being out of range


def close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=what)


@st.composite
def loss_problems(draw):
    shape = draw(st.sampled_from([(5,), (4, 5), (3, 4, 2), (2, 3, 2, 2), (0, 3)]))
    class_axis = 0 if len(shape) == 1 else 1
    n_classes = shape[class_axis]
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(shape) * draw(st.sampled_from([1.0, 30.0]))
    target_shape = shape[:class_axis] + shape[class_axis + 1:]
    targets = rng.integers(0, n_classes, target_shape)
    if draw(st.booleans()):
        targets = np.where(rng.random(target_shape) < 0.3, IGNORE, targets)
    if draw(st.booleans()):
        targets = np.full(target_shape, IGNORE)            # nothing left to average over
    weight = rng.uniform(0.1, 2.0, n_classes) if draw(st.booleans()) else None
    return dict(logits=logits, targets=targets, weight=weight, reduction=draw(st.sampled_from(["mean", "sum", "none"])),
                smoothing=draw(st.sampled_from([0.0, 0.1, 1.0])), seed=seed)


def run_ours(fn, logits, upstream, **kwargs):
    x = tr.Tensor(logits, requires_grad=True)
    out = fn(x, **kwargs)
    out.backward(upstream(out.shape))
    return out._data, x.grad


def run_torch(fn, logits, upstream, **kwargs):
    x = torch.tensor(logits, requires_grad=True)
    out = fn(x, **kwargs)
    out.backward(torch.tensor(upstream(tuple(out.shape))))
    return out.detach().numpy(), x.grad.numpy()


def upstream_for(seed):
    return lambda shape: np.random.default_rng(seed + 1).standard_normal(shape)


@settings(max_examples=60)
@given(loss_problems())
def test_cross_entropy_matches_torch(p):
    up = upstream_for(p["seed"])
    kwargs = dict(ignore_index=IGNORE, reduction=p["reduction"], label_smoothing=p["smoothing"])
    ours = run_ours(lambda x, **k: F.cross_entropy(x, p["targets"], p["weight"], **k), p["logits"], up, **kwargs)
    w = None if p["weight"] is None else torch.tensor(p["weight"])
    ref = run_torch(lambda x, **k: TF.cross_entropy(x, torch.tensor(p["targets"]), w, **k), p["logits"], up, **kwargs)
    close(ours[0], ref[0], "loss")
    close(ours[1], ref[1], "dlogits")


@settings(max_examples=40)
@given(loss_problems())
def test_cross_entropy_with_probability_targets_matches_torch(p):
    if p["logits"].shape[0] == 0:
        return
    probs = np.random.default_rng(p["seed"]).dirichlet(np.ones(p["logits"].shape[p["logits"].ndim > 1]),
                                                       p["targets"].shape)
    probs = np.moveaxis(probs, -1, 0 if p["logits"].ndim == 1 else 1)
    up = upstream_for(p["seed"])
    kwargs = dict(reduction=p["reduction"], label_smoothing=p["smoothing"])
    ours = run_ours(lambda x, **k: F.cross_entropy(x, probs, p["weight"], **k), p["logits"], up, **kwargs)
    w = None if p["weight"] is None else torch.tensor(p["weight"])
    ref = run_torch(lambda x, **k: TF.cross_entropy(x, torch.tensor(probs), w, **k), p["logits"], up, **kwargs)
    close(ours[0], ref[0], "loss")
    close(ours[1], ref[1], "dlogits")


@settings(max_examples=40)
@given(loss_problems())
def test_nll_loss_matches_torch(p):
    up = upstream_for(p["seed"])
    kwargs = dict(ignore_index=IGNORE, reduction=p["reduction"])
    ours = run_ours(lambda x, **k: F.nll_loss(x, p["targets"], p["weight"], **k), p["logits"], up, **kwargs)
    w = None if p["weight"] is None else torch.tensor(p["weight"])
    ref = run_torch(lambda x, **k: TF.nll_loss(x, torch.tensor(p["targets"]), w, **k), p["logits"], up, **kwargs)
    close(ours[0], ref[0], "loss")
    close(ours[1], ref[1], "dinput")


def test_cross_entropy_float32_stays_float32():
    x = tr.Tensor(np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(x, [0, 1, 2, 3, 0, 1], np.ones(4), label_smoothing=0.2)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


def test_cross_entropy_argument_errors():
    x = tr.Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="weight must be a 1-D float array of C = 3"):
        F.cross_entropy(x, [0, 1], np.ones(2))
    with pytest.raises(ValueError, match="label_smoothing must be a number in"):
        F.cross_entropy(x, [0, 1], label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction must be"):
        F.nll_loss(x, [0, 1], reduction="avg")


@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
def test_embedding_matches_torch(padding_idx):
    rng = np.random.default_rng(0)
    table = rng.standard_normal((6, 3))
    idx = np.array([[1, 3, 3, 5], [0, 3, 1, 1], [5, 5, 5, 2]])       # repeats: gradients add up
    up = rng.standard_normal(idx.shape + (3,))
    w = tr.Tensor(table, requires_grad=True)
    out = F.embedding(idx, w, padding_idx)
    out.backward(up)
    tw = torch.tensor(table, requires_grad=True)
    tout = TF.embedding(torch.tensor(idx), tw, padding_idx)
    tout.backward(torch.tensor(up))
    close(out._data, tout.detach().numpy(), "rows")
    close(w.grad, tw.grad.numpy(), "dweight")


def test_embedding_module_padding_row():
    torch.manual_seed(0)
    tr.manual_seed(0)
    ours, ref = tr.nn.Embedding(5, 2, padding_idx=-2), torch.nn.Embedding(5, 2, padding_idx=-2)
    assert ours.padding_idx == ref.padding_idx == 3
    assert np.all(ours.weight._data[3] == 0)
    ours(np.array([3, 3, 1])).sum().backward()
    assert (ours.weight.grad[3] == 0).all() and (ours.weight.grad[1] == 1).all()
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        tr.nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(TypeError, match="padding_idx must be an int"):
        tr.nn.Embedding(5, 2, padding_idx=1.0)
    with pytest.raises(TypeError, match="Embedding: embedding_dim must be an int, got"):
        tr.nn.Embedding(5, 2.0)
    with pytest.raises(ValueError, match="Embedding: num_embeddings must be >= 0"):
        tr.nn.Embedding(-1, 2)


@pytest.mark.parametrize("name,extra", [("mse_loss", ()), ("l1_loss", ()), ("binary_cross_entropy", (None,)),
                                        ("binary_cross_entropy_with_logits", (None,))])
def test_reduction_is_not_taken_positionally_where_torch_has_size_average(name, extra):
    # torch's third (or fourth, after weight) positional argument is the legacy size_average: there
    # F.mse_loss(x, y, "sum") is a MEAN. Taking it as reduction would silently differ, so it is refused.
    x = np.full(4, 0.25)
    y = np.array([0.0, 1.0, 0.0, 1.0])
    with pytest.warns(UserWarning):
        expected = getattr(TF, name)(torch.tensor(x), torch.tensor(y), *extra, "sum").item()
    assert expected == pytest.approx(getattr(TF, name)(torch.tensor(x), torch.tensor(y)).item())  # the mean
    with pytest.raises(TypeError, match="positional"):
        getattr(F, name)(tr.Tensor(x), y, *extra, "sum")
    assert getattr(F, name)(tr.Tensor(x), y, *extra, reduction="sum").item() == pytest.approx(4 * expected)


def test_loss_weights_and_targets_of_another_dtype_or_range_are_refused_by_name():
    """A float64 weight or probability target with float32 logits was cast silently (torch refuses the weight
    and computes the target's loss in float64); a weight that does not broadcast failed in the tape naming no
    argument; binary_cross_entropy took targets outside [0, 1] (another loss; torch refuses). Each is named now,
    and the weights torch takes give torch's values."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, (4, 5)).astype(np.float32)
    t = rng.uniform(0, 1, (4, 5)).astype(np.float32)
    x32, t32, w64 = tr.Tensor(x), tr.Tensor(t), tr.Tensor(np.ones(5))
    cases = [
        (lambda: F.binary_cross_entropy(x32, t32, weight=w64), TypeError,
         "binary_cross_entropy: weight dtype float64 does not match input dtype float32"),
        (lambda: F.binary_cross_entropy_with_logits(x32, t32, pos_weight=w64), TypeError,
         "binary_cross_entropy_with_logits: pos_weight dtype float64 does not match"),
        (lambda: F.binary_cross_entropy(x32, t32, weight=np.ones(3)), ValueError,
         r"binary_cross_entropy: weight of shape \(3,\) does not broadcast to the input's shape \(4, 5\)"),
        (lambda: F.binary_cross_entropy_with_logits(x32, t32, weight=[1.0, 2.0]), ValueError,
         r"binary_cross_entropy_with_logits: weight of shape \(2,\) does not broadcast"),
        (lambda: F.binary_cross_entropy(x32, t32 * 3.0), ValueError,
         r"binary_cross_entropy: every element of target must be a probability in \[0, 1\]"),
        (lambda: F.nll_loss(x32, np.arange(4), weight=w64), TypeError, "nll_loss: weight dtype float64 does not match"),
        (lambda: F.cross_entropy(x32, np.arange(4), weight=w64), TypeError, "cross_entropy: weight dtype float64"),
        (lambda: F.cross_entropy(x32, tr.Tensor(t.astype(np.float64))), TypeError,
         r"cross_entropy: target dtype float64 \(class probabilities\) does not match input dtype float32"),
        (lambda: F.mse_loss(x32, tr.Tensor(t.astype(np.float64))), TypeError,
         "mse_loss: target dtype float64 does not match input dtype float32"),
    ]
    for call, error, words in cases:
        with pytest.raises(error, match=words):
            call()
    w = rng.uniform(0.5, 2, 5).astype(np.float32)
    tx, tt, tw = torch.tensor(x), torch.tensor(t), torch.tensor(w)
    for ours, theirs in (
            (F.binary_cross_entropy(x32, t32, weight=tr.Tensor(w)),
             torch.nn.functional.binary_cross_entropy(tx, tt, tw)),
            (F.binary_cross_entropy_with_logits(x32, t32, weight=w, pos_weight=tr.Tensor(w)),
             torch.nn.functional.binary_cross_entropy_with_logits(tx, tt, tw, pos_weight=tw)),
            (F.cross_entropy(x32, np.arange(4), weight=tr.Tensor(w)),
             torch.nn.functional.cross_entropy(tx, torch.arange(4), tw))):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours._data, theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mse_and_l1_loss_take_torchs_weight(name, reduction, dtype):
    """torch 2.13's weight= (one per element; the mean is sum(w * loss) / sum(w), not the mean of w * loss) was
    refused as an unknown argument: values and the gradients of input and weight as torch's."""
    rng = np.random.default_rng(0)
    x, y, w = (rng.standard_normal((3, 4)).astype(dtype) for _ in range(3))
    w = np.abs(w)
    xs, ws = tr.Tensor(x, requires_grad=True), tr.Tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ours = getattr(F, name)(xs, tr.Tensor(y), reduction=reduction, weight=ws)
    theirs = getattr(TF, name)(xt, torch.tensor(y), reduction=reduction, weight=wt)
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours._data, theirs.detach().numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    for a, b in ((xs, xt), (ws, wt)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-7)
    with pytest.raises(ValueError, match=f"{name}: weight shape \\(4,\\) must equal input shape \\(3, 4\\)"):
        getattr(F, name)(xs, tr.Tensor(y), weight=w[0])
