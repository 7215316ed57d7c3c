"""What torch 2.13's ModuleInfo samples found where tr.nn answered otherwise (bench/module_suite_probe.py runs them:
nn/test_module_db_vs_torch.py), one test per fix, each against torch in float32 and float64: BatchNorm1d's empty
batch and eps checks, forward's keywords as torch's (input=, target=), MultiLabelSoftMarginLoss's integer targets,
CrossEntropyLoss's ignore_index with class probabilities, HuberLoss's delta type, Embedding's negative sizes."""
import inspect

import numpy as np
import pytest
from conftest import outcome, raises_as_torch

import tinygrad_rnn as tr
import tinygrad_rnn.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def _both(x, requires_grad=False):
    """x (a numpy array) as torch's tensor and ours."""
    theirs = torch.tensor(x, requires_grad=requires_grad)
    return theirs, tr.tensor(x.copy(), requires_grad=requires_grad)


def _same(ours, theirs, dtype):
    ours, theirs = np.asarray(ours.detach().numpy()), theirs.detach().numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours.shape, ours.dtype, theirs.shape,
                                                                      theirs.dtype)
    np.testing.assert_allclose(ours, theirs, **TOL[dtype])


# ----------------------------------------------------------------------------- BatchNorm1d
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0, 5, 9), (0, 5), (2, 5, 0)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_trains_on_an_empty_batch_as_torch(dtype, shape, momentum):
    """module_db's BatchNorm1d 'zero_batch' sample: torch's training forward of a batch with no values per channel
    gives an empty output, keeps the running statistics, counts the batch, and gives zero gradients to weight and
    bias. Ours refused it ("Expected more than 1 value per channel", torch's check for exactly one value)."""
    torch.manual_seed(0)
    theirs = torch.nn.BatchNorm1d(5, momentum=momentum).to(TORCH_DTYPE[dtype])
    ours = tr.nn.BatchNorm1d(5, momentum=momentum, dtype=dtype)
    for module in (theirs, ours):
        module.running_mean.fill_(0.3)
    t_x, o_x = _both(np.zeros(shape, dtype), requires_grad=True)
    t_y, o_y = theirs(t_x), ours(o_x)
    _same(o_y, t_y, dtype)
    t_y.sum().backward()
    o_y.sum().backward()
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(ours, name).numpy(), getattr(theirs, name).numpy())
    for name in ("weight", "bias"):
        _same(getattr(ours, name).grad, getattr(theirs, name).grad, dtype)
    assert o_x.grad.shape == t_x.grad.shape


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [-1.0, 0.0, 1e-5])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_checks_eps_as_torch(dtype, eps, training):
    """module_db's BatchNorm1d error samples: eps <= 0 in training, eps < 0 in eval, is torch's ValueError at the
    forward (F.batch_norm's check). Ours normalised with them (eps=0: a division by the bare variance)."""
    x = np.random.default_rng(0).standard_normal((4, 3, 2)).astype(dtype)
    torch.manual_seed(0)
    theirs = torch.nn.BatchNorm1d(3, eps=eps).to(TORCH_DTYPE[dtype]).train(training)
    ours = tr.nn.BatchNorm1d(3, eps=eps, dtype=dtype).train(training)
    expected = outcome(lambda: theirs(torch.tensor(x)))
    got = outcome(lambda: ours(tr.tensor(x)))
    if isinstance(expected, type):
        assert isinstance(got, type) and issubclass(got, expected), (got, expected)
        raises_as_torch(lambda: TF.batch_norm(torch.tensor(x), None, None, training=training, eps=eps),
                        lambda: F.batch_norm(tr.tensor(x), None, None, training=training, eps=eps), "eps")
    else:
        assert not isinstance(got, type), got
        np.testing.assert_allclose(got[0], expected[0], **TOL[dtype])
        assert got[1] == expected[1]


# ----------------------------------------------------------------------------- torch's forward keywords
def _keyword_cases(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(dtype)
    y = rng.standard_normal((3, 4)).astype(dtype)
    labels = np.array([0, 3, 1])
    return [   # (class name, constructor args, torch's keywords as arrays, positional count)
        ("Linear", (4, 2), {"input": x}, 0), ("LayerNorm", (4,), {"input": x}, 0), ("Softmax", (1,), {"input": x}, 0),
        ("LogSoftmax", (1,), {"input": x}, 0), ("Softmin", (1,), {"input": x}, 0), ("Sigmoid", (), {"input": x}, 0),
        ("Tanh", (), {"input": x}, 0), ("Identity", (), {"input": x}, 0), ("Dropout", (0.5,), {"input": x}, 0),
        ("MSELoss", (), {"input": x, "target": y}, 0), ("L1Loss", (), {"input": x, "target": y}, 1),
        ("HuberLoss", (), {"input": x, "target": y}, 0), ("SmoothL1Loss", (), {"input": x, "target": y}, 1),
        ("SoftMarginLoss", (), {"input": x, "target": np.sign(y)}, 0),
        ("CrossEntropyLoss", (), {"input": x, "target": labels}, 1), ("NLLLoss", (), {"input": x, "target": labels}, 0),
        ("MultiMarginLoss", (), {"input": x, "target": labels}, 0),
        ("PoissonNLLLoss", (), {"log_input": x, "target": np.abs(y)}, 0),
        ("KLDivLoss", (), {"input": x, "target": y}, 0),
        ("BCEWithLogitsLoss", (), {"input": x, "target": (y > 0).astype(dtype)}, 1),
    ]


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_takes_torchs_keywords(dtype):
    """module_db's Linear sample calls forward(input=x); torch code passes a loss's (input=, target=) by keyword
    too (PoissonNLLLoss's log_input=). Ours named them x, or took the loss's two tensors positionally only (a
    TypeError). Values and gradients as torch's, all by keyword or the first positionally."""
    for name, args, keywords, positional in _keyword_cases(dtype):
        torch.manual_seed(0)
        theirs = getattr(torch.nn, name)(*args).to(TORCH_DTYPE[dtype]).eval()
        cls = getattr(tr.nn, name)
        ours = (cls(*args, dtype=dtype) if "dtype" in inspect.signature(cls).parameters else cls(*args)).eval()
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        names = list(keywords)
        pairs = {k: _both(v, requires_grad=k == names[0]) for k, v in keywords.items()}
        t_out = theirs(*(pairs[k][0] for k in names[:positional]), **{k: pairs[k][0] for k in names[positional:]})
        o_out = ours(*(pairs[k][1] for k in names[:positional]), **{k: pairs[k][1] for k in names[positional:]})
        _same(o_out, t_out, dtype)
        t_out.sum().backward()
        o_out.sum().backward()
        _same(pairs[names[0]][1].grad, pairs[names[0]][0].grad, dtype)


def test_loss_refuses_other_keywords_naming_the_loss():
    """A keyword torch's forward does not have stays a TypeError (torch's), in words naming the loss."""
    x = np.zeros((2, 3))
    raises_as_torch(lambda: torch.nn.MSELoss()(input=torch.tensor(x), tgt=torch.tensor(x)),
                    lambda: tr.nn.MSELoss()(input=tr.tensor(x), tgt=tr.tensor(x)), "MSELoss: call it with")


# ----------------------------------------------------------------------------- losses
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target_dtype", [np.int64, np.int32])
def test_multilabel_soft_margin_loss_takes_integer_labels(dtype, target_dtype):
    """module_db's MultiLabelSoftMarginLoss samples give the 0/1 target as int64: torch computes with it in the
    input's dtype. Ours refused it (a dtype mismatch). Values and the input's gradient as torch's, with weight."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5)).astype(dtype)
    target = rng.integers(0, 2, (4, 5)).astype(target_dtype)
    weight = rng.standard_normal(5).astype(dtype)
    for reduction in ("mean", "sum", "none"):
        t_x, o_x = _both(x, requires_grad=True)
        t_out = torch.nn.MultiLabelSoftMarginLoss(torch.tensor(weight), reduction=reduction)(t_x, torch.tensor(target))
        o_out = tr.nn.MultiLabelSoftMarginLoss(tr.tensor(weight), reduction=reduction)(o_x, tr.tensor(target))
        _same(o_out, t_out, dtype)
        t_out.sum().backward()
        o_out.sum().backward()
        _same(o_x.grad, t_x.grad, dtype)


def test_multilabel_soft_margin_loss_still_refuses_bool_labels():
    """A bool target stays refused, as torch's RuntimeError (it cannot subtract a bool tensor)."""
    x, target = np.zeros((2, 3)), np.array([[True, False, True], [False, False, True]])
    raises_as_torch(lambda: TF.multilabel_soft_margin_loss(torch.tensor(x), torch.tensor(target)),
                    lambda: F.multilabel_soft_margin_loss(tr.tensor(x), tr.tensor(target)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ignore_index", [1, 0, 7, -1, -100])
def test_cross_entropy_probabilities_refuse_a_class_to_ignore(dtype, ignore_index):
    """module_db's CrossEntropyLoss error sample: class probabilities with ignore_index >= 0 are torch's
    RuntimeError "ignore_index is not supported for floating point target" (a negative one, its default -100
    too, is unused). Ours ignored ignore_index."""
    x = np.random.default_rng(2).standard_normal((2, 3)).astype(dtype)
    probs = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    theirs = outcome(lambda: torch.nn.CrossEntropyLoss(ignore_index=ignore_index)(torch.tensor(x),
                                                                                    torch.tensor(probs)))
    if isinstance(theirs, type):
        raises_as_torch(lambda: TF.cross_entropy(torch.tensor(x), torch.tensor(probs), ignore_index=ignore_index),
                        lambda: F.cross_entropy(tr.tensor(x), tr.tensor(probs), ignore_index=ignore_index),
                        "ignore_index is not supported for floating point target")
    else:
        ours = outcome(lambda: tr.nn.CrossEntropyLoss(ignore_index=ignore_index)(tr.tensor(x), tr.tensor(probs)))
        np.testing.assert_allclose(ours[0], theirs[0], **TOL[dtype])


@pytest.mark.parametrize("delta", [1.0 + 0.0j, "1.0", None, [1.0], np.int64(1)])
def test_huber_loss_checks_delta_type_as_torch(delta):
    """module_db's HuberLoss error sample: a delta that is not a float or int is torch's TypeError at
    construction ("delta must be a float or int, got: <class 'complex'>"). Ours built the loss."""
    raises_as_torch(lambda: torch.nn.HuberLoss(delta=delta), lambda: tr.nn.HuberLoss(delta=delta),
                    "delta must be a float or int, got: <class")


def test_huber_loss_takes_int_and_numpy_delta():
    x, y = np.random.default_rng(3).standard_normal((2, 2, 3))
    for delta in (2, np.float64(0.5)):
        theirs = torch.nn.HuberLoss(delta=delta)(torch.tensor(x), torch.tensor(y))
        _same(tr.nn.HuberLoss(delta=delta)(tr.tensor(x), tr.tensor(y)), theirs, np.float64)


# ----------------------------------------------------------------------------- Embedding
@pytest.mark.parametrize("sizes", [(-1, 3), (3, -1), (-2, -2)])
def test_embedding_negative_sizes_raise_torchs_error(sizes):
    """module_db's Embedding error sample: Embedding(num_embeddings=-1, embedding_dim=3) is torch's RuntimeError
    ("Trying to create tensor with negative dimension"). Ours raised a ValueError only (it still is one)."""
    raises_as_torch(lambda: torch.nn.Embedding(*sizes), lambda: tr.nn.Embedding(*sizes),
                    "must be >= 0, got -.*negative dimension")
    with pytest.raises(ValueError):
        tr.nn.Embedding(*sizes)
