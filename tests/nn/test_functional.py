"""nn.functional against PyTorch: each function run on the same values in both libraries,
comparing the output and the gradient of every differentiable input (float64, so to rounding)."""
import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def compare(ours_fn, torch_fn, arrays, grad=(0,), rtol=1e-10, atol=1e-12):
    """Run both on `arrays` (float64); compare outputs, then the gradients of the inputs in `grad`
    of sum(output * w) for a random w (so every output element's gradient counts)."""
    ours_in = [tr.Tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
    theirs_in = [torch.tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
    out, ref = ours_fn(*ours_in), torch_fn(*theirs_in)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=rtol, atol=atol)
    if grad:
        w = np.random.default_rng(99).standard_normal(out.shape)
        (out * w).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        for i in grad:
            np.testing.assert_allclose(ours_in[i].grad, theirs_in[i].grad.numpy(), rtol=rtol, atol=atol)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_activations(name):
    compare(getattr(F, name), getattr(TF, name) if name == "relu" else getattr(torch, name), [X])


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_softmax_and_log_softmax_with_dim(dim):
    compare(lambda x: F.softmax(x, dim=dim), lambda x: TF.softmax(x, dim=dim), [X])
    compare(lambda x: F.log_softmax(x, dim), lambda x: TF.log_softmax(x, dim), [X])


def test_softmax_without_dim_does_not_guess_where_torch_would_differ():
    x2 = X[0]
    compare(F.softmax, lambda x: TF.softmax(x, dim=-1), [x2])  # 2-D: torch's implicit dim is 1 = -1
    with pytest.raises(ValueError, match="pass dim= for a 3-D input"):
        F.softmax(tr.Tensor(X))


def test_linear():
    w, b = RNG.standard_normal((6, 5)), RNG.standard_normal(6)
    compare(F.linear, TF.linear, [X, w, b], grad=(0, 1, 2))
    compare(F.linear, TF.linear, [X, w], grad=(0, 1))
    with pytest.raises(ValueError, match="linear: expected input"):
        F.linear(tr.Tensor(X), tr.Tensor(w.T))


def test_one_hot():
    idx = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(idx)._data, TF.one_hot(torch.tensor(idx)).numpy())
    np.testing.assert_array_equal(F.one_hot(idx, 6)._data, TF.one_hot(torch.tensor(idx), 6).numpy())
    assert F.one_hot(idx).dtype == TF.one_hot(torch.tensor(idx)).numpy().dtype == np.int64   # torch's int64
    assert F.one_hot(idx, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="smaller than num_classes=3"):
        F.one_hot(idx, 3)
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot([-1, 0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(reduction):
    t = RNG.standard_normal(X.shape)
    t.flat[:3] = X.flat[:3]  # l1's gradient at input == target is 0, as torch's
    compare(lambda x, t: F.l1_loss(x, t, reduction=reduction), lambda x, t: TF.l1_loss(x, t, reduction=reduction),
            [X, t], grad=(0, 1))
    compare(lambda x, t: F.mse_loss(x, t, reduction=reduction), lambda x, t: TF.mse_loss(x, t, reduction=reduction),
            [X, t], grad=(0, 1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy(reduction):
    p = 1 / (1 + np.exp(-X))
    t = RNG.uniform(size=X.shape)
    w = RNG.uniform(size=X.shape[-1:])
    compare(lambda p, t: F.binary_cross_entropy(p, t, reduction=reduction),
            lambda p, t: TF.binary_cross_entropy(p, t, reduction=reduction), [p, t], grad=(0, 1))
    compare(lambda p, t: F.binary_cross_entropy(p, t, weight=w, reduction=reduction),
            lambda p, t: TF.binary_cross_entropy(p, t, weight=torch.tensor(w), reduction=reduction), [p, t])
    # probabilities of exactly 0 and 1: each log clamped at -100, as torch
    edge, te = np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0])
    compare(lambda p, t: F.binary_cross_entropy(p, t, reduction=reduction),
            lambda p, t: TF.binary_cross_entropy(p, t, reduction=reduction), [edge, te], grad=())
    with pytest.raises(ValueError, match=r"probability in \[0, 1\]"):
        F.binary_cross_entropy(tr.Tensor(X), tr.Tensor(t))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits(reduction):
    x = X * 20  # large logits: the stable form must not overflow
    t = RNG.uniform(size=X.shape)
    pw = RNG.uniform(0.5, 2, size=X.shape[-1:])
    compare(lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction),
            lambda x, t: TF.binary_cross_entropy_with_logits(x, t, reduction=reduction), [x, t], grad=(0, 1))
    compare(lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction, pos_weight=pw, weight=pw),
            lambda x, t: TF.binary_cross_entropy_with_logits(x, t, reduction=reduction, pos_weight=torch.tensor(pw),
                                                             weight=torch.tensor(pw)), [x, t], grad=(0, 1))


def test_dropout_draws_from_the_seeded_generator():
    """F.dropout without rng= drew from a fresh unseeded generator: tr.manual_seed did not make it
    reproducible (torch's F.dropout draws from the generator torch.manual_seed seeds), unlike nn.Dropout."""
    x = tr.ones(50, 40)
    masks = []
    for _ in range(2):
        tr.manual_seed(7)
        masks.append([F.dropout(x, 0.5)._data, tr.nn.Dropout(0.5)(x)._data])
    np.testing.assert_array_equal(masks[0][0], masks[1][0])
    np.testing.assert_array_equal(masks[0][1], masks[1][1])
    assert set(np.unique(masks[0][0])) == {0.0, 2.0}   # still dropout: zeros and kept elements times 1/(1-p)


def test_dropout_under_checkpoint_recomputes_the_forwards_mask():
    """tr.checkpoint restores the library's generator for the recomputation: F.dropout, drawing from a
    fresh generator of its own, got another mask there, so the gradient was of another function."""
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.uniform(1, 2, (40, 30)), requires_grad=True)   # no zeros: out != 0 is the forward's mask
    r = rng.standard_normal((40, 30))
    out = tr.checkpoint(lambda a: F.dropout(a, 0.5), x)
    (out * r).sum().backward()
    np.testing.assert_array_equal(x.grad, np.where(out._data != 0, 2.0 * r, 0.0))


def test_dropout_takes_torchs_arguments_in_torchs_order():
    """torch's F.dropout(input, p, training, inplace): the fourth positional argument is inplace (it was a
    generator here: F.dropout(x, 0.5, True, False) failed deep inside); inplace=True writes x (its own test:
    tests/nn/test_inplace_activations_vs_torch.py)."""
    x = tr.ones(30, 20)
    tr.manual_seed(3)
    a = F.dropout(x, 0.5, True, False)._data
    tr.manual_seed(3)
    b = F.dropout(x, p=0.5, training=True, rng=tr.random.generator())._data
    np.testing.assert_array_equal(a, b)
    ours, theirs = inspect.signature(F.dropout).parameters, inspect.signature(TF.dropout).parameters
    assert list(ours)[:4] == list(theirs)[:4] == ["input", "p", "training", "inplace"]
    tr.manual_seed(3)
    assert F.dropout(x, 0.5, True, True) is x and np.array_equal(x._data, a)
    with pytest.raises(TypeError, match="inplace must be True or False"):
        F.dropout(x, 0.5, True, "no")
    assert tr.nn.Dropout(0.5, inplace=False)(x).shape == (30, 20)


@pytest.mark.parametrize("pad", [(1, 2), (0, 0, 2, 1), (1, 1, 0, 2, 3, 0), (-1, 2), (2, -2, -1, 0)])
def test_pad_constant(pad):
    compare(lambda x: F.pad(x, pad, value=0.5), lambda x: TF.pad(x, pad, value=0.5), [X])


def test_pad_value_none_pads_with_zeros_as_torch():
    # torch's default value is None (zeros): it was refused here as "not a number"
    compare(lambda x: F.pad(x, (1, 2), "constant", None), lambda x: TF.pad(x, (1, 2), "constant", None), [X])


def test_pad_errors():
    with pytest.raises(NotImplementedError, match="unrecognised padding mode 'zeros'"):   # torch's modes only
        F.pad(tr.Tensor(X), (1, 1), mode="zeros")
    with pytest.raises(TypeError, match="even number of ints"):
        F.pad(tr.Tensor(X), (1,))
    with pytest.raises(ValueError, match="3 dimensions"):
        F.pad(tr.Tensor(X), (1,) * 8)


# ----------------------------------------------------------------------------- drawn shapes and edge values
EDGES = [0.0, -0.0, 1.0, -1.0, 30.0, -30.0, 0.5]
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@st.composite
def arrays(draw, shape=None):
    shape = shape or draw(shapes)
    n = int(np.prod(shape))
    values = draw(st.lists(st.one_of(st.sampled_from(EDGES), st.floats(-4, 4)), min_size=n, max_size=n))
    return np.array(values, dtype=np.float64).reshape(shape)


@given(data=st.data())
def test_drawn_shapes_and_edge_values_match_torch(data):
    x = data.draw(arrays())
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    compare(lambda a: F.softmax(a, dim), lambda a: TF.softmax(a, dim), [x], rtol=1e-9, atol=1e-12)
    compare(lambda a: F.log_softmax(a, dim), lambda a: TF.log_softmax(a, dim), [x], rtol=1e-9, atol=1e-12)
    compare(F.relu, TF.relu, [x])
    t = data.draw(arrays(x.shape))
    probs = 1 / (1 + np.exp(-t))  # targets in (0, 1); edge targets 0 and 1 below
    probs[t == 30.0], probs[t == -30.0] = 1.0, 0.0
    compare(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits, [x, probs], grad=(0, 1),
            rtol=1e-9, atol=1e-12)
    compare(F.l1_loss, TF.l1_loss, [x, t], grad=(0, 1))
    n_pairs = data.draw(st.integers(1, x.ndim))
    pad = tuple(data.draw(st.integers(-(x.shape[x.ndim - 1 - k // 2] // 2), 2)) for k in range(2 * n_pairs))
    compare(lambda a: F.pad(a, pad, value=-1.0), lambda a: TF.pad(a, pad, value=-1.0), [x])


def test_bce_with_logits_takes_pos_weight_as_numbers_and_refuses_other_things():
    """pos_weight as a list means the Tensor of those numbers (it used to fail inside `list - float`);
    anything that is not numbers is a TypeError naming pos_weight."""
    x = tr.Tensor(np.array([[0.5, -1.0], [2.0, 0.1]], np.float64), requires_grad=True)
    t = tr.Tensor(np.array([[1.0, 0.0], [0.0, 1.0]]))
    as_list = F.binary_cross_entropy_with_logits(x, t, pos_weight=[2.0, 3.0])
    as_tensor = F.binary_cross_entropy_with_logits(x, t, pos_weight=tr.Tensor(np.array([2.0, 3.0])))
    np.testing.assert_allclose(as_list.data, as_tensor._data, rtol=1e-15)
    with pytest.raises(TypeError, match="pos_weight must be a Tensor or numbers"):
        F.binary_cross_entropy_with_logits(x, t, pos_weight="2")


# ----------------------------------------------------------------------------- embedding
def _params(fn, drop=()):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values() if p.name not in drop]


def test_embedding_signatures_match_torch():
    """F.embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse) and
    nn.Embedding's constructor and forward: torch's names, order and defaults."""
    assert _params(F.embedding) == _params(TF.embedding)
    private = ("self", "_weight", "_freeze", "device", "dtype")
    assert _params(tr.nn.Embedding.__init__, private) == _params(torch.nn.Embedding.__init__, private)
    assert _params(tr.nn.Embedding.forward) == _params(torch.nn.Embedding.forward)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_max_norm_matches_torch(norm_type, dtype):
    """max_norm renormalises, in place, the rows the indices pick whose norm exceeds it (a row picked twice
    once); the output, the table afterwards and the gradient are torch's."""
    table = (np.random.default_rng(3).standard_normal((6, 4)) * 2).astype(dtype)
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    ours, theirs = tr.Tensor(table.copy(), requires_grad=True), torch.tensor(table.copy(), requires_grad=True)
    out = F.embedding(tr.tensor(idx), ours, max_norm=1.5, norm_type=norm_type)
    ref = TF.embedding(torch.tensor(idx), theirs, max_norm=1.5, norm_type=norm_type)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    assert out.dtype == dtype
    np.testing.assert_allclose(out._data, ref.detach().numpy(), **tol)
    np.testing.assert_allclose(ours._data, theirs.detach().numpy(), **tol)  # rows 3 and 4, not picked, unchanged
    w = np.random.default_rng(4).standard_normal(out.shape).astype(dtype)
    (out * tr.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), **tol)

    module = tr.nn.Embedding(6, 4, max_norm=1.5, norm_type=norm_type, dtype=dtype)
    module.weight._data[...] = table
    np.testing.assert_allclose(module(idx)._data, ref.detach().numpy(), **tol)


@pytest.mark.parametrize("call,error,message", [
    (lambda w: F.embedding([0], w, scale_grad_by_freq=True), ValueError,
     r"embedding: scale_grad_by_freq=True is not supported .*pass scale_grad_by_freq=False"),
    (lambda w: F.embedding([0], w, sparse=True), ValueError, r"embedding: sparse=True is not supported"),
    (lambda w: F.embedding([0], w, sparse=1), TypeError, r"embedding: sparse must be True or False, got int 1"),
    (lambda w: F.embedding([0], w, max_norm=-1.0), ValueError, r"embedding: max_norm must be in \[0, inf\]"),
    (lambda w: F.embedding(weight=w, input=[9]), IndexError, r"embedding: input's indices must lie in \[0, 3\)"),
    (lambda w: tr.nn.Embedding(3, 2, sparse=True), ValueError, r"Embedding: sparse=True is not supported"),
    (lambda w: tr.nn.Embedding(3, 2, None, "2"), TypeError, r"Embedding: max_norm must be a number, got str"),
])
def test_embedding_refusals(call, error, message):
    with pytest.raises(error, match=message):
        call(tr.Tensor(np.ones((3, 2))))


def test_relu_takes_torchs_inplace():
    """F.relu(input, inplace=False) and nn.ReLU(inplace=False) as torch's; inplace=True writes the input (its own
    test: tests/nn/test_inplace_activations_vs_torch.py); a flag that is not a bool is refused by name."""
    assert _params(F.relu) == _params(TF.relu)
    assert _params(tr.nn.ReLU.__init__, ("self",)) == _params(torch.nn.ReLU.__init__, ("self",))
    x = np.array([-1.0, 0.5])
    np.testing.assert_array_equal(F.relu(tr.Tensor(x), False)._data, TF.relu(torch.tensor(x), False).numpy())
    np.testing.assert_array_equal(tr.nn.ReLU()(tr.Tensor(x))._data, torch.nn.ReLU()(torch.tensor(x)).numpy())
    with pytest.raises(TypeError, match="ReLU: inplace must be True or False, got int 1"):
        tr.nn.ReLU(1)


def test_dropout_refuses_an_array_by_name():
    """F.dropout(ndarray) and nn.Dropout()(ndarray) returned an ndarray, off the tape, silently (torch refuses a
    non-Tensor); even in eval mode, where nothing would be dropped, the mistake is said."""
    x = np.ones((2, 3), np.float32)
    for call in (lambda: F.dropout(x, 0.5), lambda: F.dropout(x, 0.5, training=False), lambda: tr.nn.Dropout(0.5)(x)):
        with pytest.raises(TypeError, match="dropout: input must be a Tensor, got ndarray"):
            call()
