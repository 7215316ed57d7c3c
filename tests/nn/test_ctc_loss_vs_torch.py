"""F.ctc_loss and nn.CTCLoss against torch 2.13: values and gradients over drawn problems (T, N, C, lengths, blank,
reductions, zero_infinity, padded or concatenated targets, lengths as lists or tensors, float32 and float64, log_probs
normalised or not, infeasible alignments included), the unbatched form, gradcheck through a log_softmax, the gradient
against finite differences of the forward, the Numba kernels against their numpy twins, and the errors."""
import warnings

import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]


@st.composite
def problems(draw):
    """A CTC problem: log_probs (T, N, C), labels per sequence (never the blank; small C makes repeats common),
    lengths, and how to pass them. Target lengths up to T, so that some alignments cannot fit."""
    n_steps, batch, n_classes = draw(st.integers(1, 10)), draw(st.integers(1, 4)), draw(st.integers(2, 6))
    blank = draw(st.integers(0, n_classes - 1))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    dtype = draw(st.sampled_from(DTYPES))
    x = rng.standard_normal((n_steps, batch, n_classes)) * draw(st.sampled_from([0.5, 3.0]))
    if draw(st.booleans()):   # as a log_softmax gives them; else raw numbers, where torch's gradient shows its form
        x = x - np.log(np.exp(x).sum(axis=2, keepdims=True))
    in_len = [draw(st.integers(0, n_steps)) for _ in range(batch)]
    tgt_len = [draw(st.integers(0, n_steps)) for _ in range(batch)]
    labels = [x for x in range(n_classes) if x != blank]
    seqs = [rng.choice(labels, size=n) for n in tgt_len]
    if draw(st.booleans()):   # padded, with junk (the blank or -1) past each length
        width = max(tgt_len) + draw(st.integers(0, 2))
        targets = np.full((batch, width), draw(st.sampled_from([blank, -1])), np.int64)
        for n, seq in enumerate(seqs):
            targets[n, :len(seq)] = seq
    else:
        targets = np.concatenate(seqs).astype(np.int64)
    return dict(x=x.astype(dtype), targets=targets, in_len=in_len, tgt_len=tgt_len, blank=blank,
                as_tensors=draw(st.booleans()), reduction=draw(st.sampled_from(["mean", "sum", "none"])),
                zero_infinity=draw(st.booleans()), seed=draw(st.integers(0, 2 ** 16)))


def _run(lib, p):
    """ctc_loss of problem p in lib, backpropagated with a drawn upstream gradient: (value, dtype, grad)."""
    make = torch.tensor if lib is torch else tr.tensor
    x = make(p["x"], requires_grad=True)
    lengths = [make(p["in_len"]), make(p["tgt_len"])] if p["as_tensors"] else [p["in_len"], p["tgt_len"]]
    fn = TF.ctc_loss if lib is torch else F.ctc_loss
    out = fn(x, make(p["targets"]), *lengths, blank=p["blank"], reduction=p["reduction"],
             zero_infinity=p["zero_infinity"])
    up = np.random.default_rng(p["seed"]).standard_normal(tuple(out.shape)).astype(p["x"].dtype)
    out.backward(torch.tensor(up) if lib is torch else up)
    value = out.detach().numpy() if lib is torch else out.data
    return value, str(out.dtype).replace("torch.", ""), x.grad.numpy() if lib is torch else x.grad


def _close(ours, theirs, dtype):
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, equal_nan=True)


@given(problems())
def test_values_and_gradients_as_torch(p):
    value, dtype, grad = _run(tr, p)
    want_value, want_dtype, want_grad = _run(torch, p)
    assert dtype == want_dtype == str(p["x"].dtype) and value.shape == want_value.shape
    _close(value, want_value, p["x"].dtype)
    _close(grad, want_grad, p["x"].dtype)


def test_infeasible_alignments_as_torch():
    """A repeated label needs a blank between its copies: 'aa' fits 3 frames, not 2; 'ab' fits 2. Without
    zero_infinity the loss is inf and the frames' gradient nan (torch's), with it 0 and 0."""
    x = np.log(np.full((3, 3, 3), 1 / 3))
    targets, in_len, tgt_len = np.array([[1, 1], [1, 1], [1, 2]]), [2, 3, 2], [2, 2, 2]
    for zero_infinity in (False, True):
        p = dict(x=x, targets=targets, in_len=in_len, tgt_len=tgt_len, blank=0, as_tensors=False,
                 reduction="none", zero_infinity=zero_infinity, seed=0)
        value, _, grad = _run(tr, p)
        want_value, _, want_grad = _run(torch, p)
        assert np.isfinite(value[1:]).all() and value[0] == (0 if zero_infinity else np.inf)
        assert (grad[:2, 0] == 0).all() if zero_infinity else np.isnan(grad[:2, 0]).all()
        _close(value, want_value, np.float64)
        _close(grad, want_grad, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unbatched_as_torch(dtype, reduction):
    """(T, C) log_probs: lengths as 0-d tensors or one-element lists; 1-D targets (the labels, exactly: torch reads
    them as concatenated) or (1, S) padded ones; 'none' gives a 0-d loss."""
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(dtype)
    for lengths, targets in (([6], [3]), [2, 2, 3]), ("tensors", [[2, 3, 1]]):
        outs = []
        for lib in (tr, torch):
            lens = (lib.tensor(5), lib.tensor(2)) if lengths == "tensors" else lengths
            t = lib.tensor(x, requires_grad=True)
            out = (F if lib is tr else TF).ctc_loss(t, lib.tensor(targets), *lens, reduction=reduction)
            out.backward()
            outs.append((np.asarray(out.detach().numpy() if lib is torch else out.data), t.grad))
        (value, grad), (want_value, want_grad) = outs
        assert value.shape == want_value.shape
        _close(value, want_value, dtype)
        _close(grad, want_grad.numpy(), dtype)


def test_ctc_loss_module_as_torch():
    """nn.CTCLoss keeps blank, reduction and zero_infinity, read at each call as torch's."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 2, 5))
    args = (np.array([[1, 2, 3], [4, 4, 0]]), [8, 3], [3, 2])
    ours, theirs = tr.nn.CTCLoss(blank=0), torch.nn.CTCLoss(blank=0)
    for change in ({}, {"reduction": "none"}, {"zero_infinity": True}, {"blank": 0, "reduction": "sum"}):
        for k, v in change.items():
            setattr(ours, k, v)
            setattr(theirs, k, v)
        value = ours(tr.tensor(x), tr.tensor(args[0]), *args[1:]).data
        want = theirs(torch.tensor(x), torch.tensor(args[0]), *args[1:]).numpy()
        _close(value, want, np.float64)


def test_gradcheck_through_log_softmax():
    """In float64, through a log_softmax (where torch's gradient is the true one), padded and concatenated targets."""
    x = tr.tensor(np.random.default_rng(3).standard_normal((7, 3, 4)), requires_grad=True)
    for targets in (tr.tensor([[1, 1, 2], [3, 0, 0], [2, 3, 1]]), tr.tensor([1, 1, 2, 3, 2, 3, 1])):
        for reduction in ("mean", "sum"):
            def loss(x, targets=targets, reduction=reduction):
                return F.ctc_loss(x.log_softmax(2), targets, [7, 4, 6], [3, 1, 3], blank=0, reduction=reduction)
            assert tr.gradcheck(loss, [x])


def test_gradient_is_the_true_one_plus_softmax_term():
    """On log_probs that are not normalised, torch's gradient (ours too) is the derivative of the loss plus
    exp(log_probs) * upstream on each sequence's frames: checked against central differences of the forward."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 2, 3)) * 2
    args = (tr.tensor([[1, 2], [2, 0]]), [5, 3], [2, 1])
    t = tr.tensor(x, requires_grad=True)
    F.ctc_loss(t, *args, reduction="sum").backward()
    numeric = np.zeros_like(x)
    eps = 1e-6
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += eps
        lo[i] -= eps
        numeric[i] = (F.ctc_loss(tr.tensor(hi), *args, reduction="sum").item()
                      - F.ctc_loss(tr.tensor(lo), *args, reduction="sum").item()) / (2 * eps)
    in_frames = (np.arange(5)[:, None] < np.array([5, 3]))[..., None]
    np.testing.assert_allclose(t.grad, numeric + np.exp(x) * in_frames, rtol=1e-6, atol=1e-7)


@given(problems())
def test_kernels_equal_their_numpy_twins(p):
    """kernels/ctc.py's Numba recursions against the same recursions in numpy (ctc_*_numpy), per sequence."""
    from tinygrad_rnn.kernels import ctc  # here, so that the other tests fail one by one on code without it
    x, blank = p["x"], p["blank"]
    in_len, tgt_len = np.array(p["in_len"]), np.array(p["tgt_len"])
    targets = p["targets"]
    if targets.ndim == 1:   # the padded (N, S) form the kernels take
        targets = np.zeros((x.shape[1], max(tgt_len)), np.int64)
        starts = np.cumsum(tgt_len) - tgt_len
        for n in range(x.shape[1]):
            targets[n, :tgt_len[n]] = p["targets"][starts[n]:starts[n] + tgt_len[n]]
    targets = np.ascontiguousarray(targets[:, :max(tgt_len)])
    lengths = (targets, in_len, tgt_len, blank)
    nll, alpha = ctc.ctc_forward(x, *lengths)
    want_nll, want_alpha = ctc.ctc_forward_numpy(x, *lengths)
    _close(nll, want_nll, x.dtype)
    for n in range(x.shape[1]):
        _close(alpha[n, :in_len[n], :2 * tgt_len[n] + 1], want_alpha[n, :in_len[n], :2 * tgt_len[n] + 1], x.dtype)
    up = np.random.default_rng(p["seed"]).standard_normal(x.shape[1]).astype(x.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grad = ctc.ctc_backward(x, *lengths, alpha, nll, up, p["zero_infinity"])
        want = ctc.ctc_backward_numpy(x, *lengths, want_alpha, want_nll, up, p["zero_infinity"])
    assert grad.dtype == want.dtype == x.dtype
    _close(grad, want, x.dtype)


def _call(lib, log_probs=None, targets=None, in_len=None, tgt_len=None, **kw):
    """ctc_loss in lib on a valid (6, 2, 4) problem with the given arguments replaced."""
    x = np.random.default_rng(5).standard_normal((6, 2, 4))
    log_probs = x if log_probs is None else log_probs
    targets = np.array([[1, 2, 2], [3, 1, 0]]) if targets is None else targets
    make = torch.tensor if lib is torch else tr.tensor

    def wrap(v):
        return make(v) if isinstance(v, np.ndarray) else v
    fn = TF.ctc_loss if lib is torch else F.ctc_loss
    return fn(wrap(log_probs), wrap(targets), [6, 5] if in_len is None else wrap(in_len),
              [3, 2] if tgt_len is None else wrap(tgt_len), **kw)


BAD = {   # what torch refuses, and the words our error says
    "input length past T": (dict(in_len=[7, 5]), "input_lengths must be at most"),
    "negative input length": (dict(in_len=[-1, 5]), "input_lengths must be >= 0"),
    "negative target length": (dict(tgt_len=[-1, 2]), "target_lengths must be >= 0"),
    "target length past padded targets": (dict(tgt_len=[4, 2]), "target_lengths ask for 4"),
    "too few target lengths": (dict(tgt_len=[3]), "target_lengths must hold one length per sequence"),
    "too many input lengths": (dict(in_len=[6, 5, 4]), "input_lengths must hold one length per sequence"),
    "short concatenated targets": (dict(targets=np.array([1, 2, 2, 3])), "sum\\(target_lengths\\) = 5"),
    "padded targets of another N": (dict(targets=np.array([[1, 2, 2]])), "N = 2 rows"),
    "3-D targets": (dict(targets=np.ones((2, 3, 1), np.int64)), "targets must be padded"),
    "blank past C": (dict(blank=4), "blank must be a class index in \\[0, 4\\)"),
    "negative blank": (dict(blank=-1), "blank must be a class index"),
    "1-D log_probs": (dict(log_probs=np.zeros(6)), "log_probs must be \\(T, N, C\\)"),
    "4-D log_probs": (dict(log_probs=np.zeros((6, 2, 4, 1))), "log_probs must be \\(T, N, C\\)"),
    "integer log_probs": (dict(log_probs=np.zeros((6, 2, 4), np.int64)), "float32 or float64"),
    "float length tensor": (dict(in_len=np.array([6.0, 5.0]), tgt_len=np.array([3, 2])), "integer tensor"),
    "a tensor and a list": (dict(in_len=np.array([6, 5])), "int tensors or both sequences of ints"),
    "float lengths in a list": (dict(in_len=[6.0, 5.0]), "list or tuple of ints"),
    "bad reduction": (dict(reduction="avg"), "reduction must be"),
}


@pytest.mark.parametrize("case", BAD)
def test_errors_as_torch(case):
    kw, words = BAD[case]
    raises_as_torch(lambda: _call(torch, **kw), lambda: _call(tr, **kw), words)


@pytest.mark.parametrize("targets, words", [
    (np.array([[1, 0, 2], [3, 1, 0]]), "sequence 0's label 1 is 0"),        # the blank among the labels
    (np.array([[1, 2, 4], [3, 1, 0]]), "in \\[0, 4\\) other than blank"),   # past C
    (np.array([[1, 2, 2], [-1, 1, 0]]), "sequence 1's label 0 is -1"),
])
def test_labels_outside_the_classes_or_blank_are_refused(targets, words):
    """torch computes something for these (reading past the class axis, or counting the blank as a label);
    neither is a CTC target, so they are refused, with the ValueError and RuntimeError of a bad value."""
    with pytest.raises(ValueError, match=words) as info:
        _call(tr, targets=targets)
    assert isinstance(info.value, RuntimeError)


def test_padding_past_the_lengths_is_not_checked():
    """Only the labels within target_lengths are read: padding may be the blank or -1, as is common."""
    value = _call(tr, targets=np.array([[1, 2, 2, -1], [3, 1, 0, 0]]), reduction="none").data
    want = _call(torch, targets=np.array([[1, 2, 2, 9], [3, 1, 0, 9]]), reduction="none").numpy()
    _close(value, want, np.float64)


def test_batch_split_over_threads_gives_the_same_bits():
    """Large enough to be split over 2 threads (kernels/ctc.py PARALLEL_MIN_CELLS): each sequence is computed
    alone, so the split changes no bit; and a log_probs that is a permuted view (N, T, C) -> (T, N, C)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 100, 6)).astype(np.float32)
    targets, in_len = rng.integers(1, 6, (16, 25)), list(rng.integers(60, 101, 16))
    tgt_len = list(rng.integers(0, 26, 16))
    results = []
    before = tr.get_num_threads()
    try:
        for threads in (1, 2):
            tr.set_num_threads(threads)
            t = tr.tensor(x, requires_grad=True)
            F.ctc_loss(t.permute(1, 0, 2), tr.tensor(targets), in_len, tgt_len).backward()
            results.append(t.grad)
    finally:
        tr.set_num_threads(before)
    assert np.array_equal(results[0], results[1])
    t = torch.tensor(x, requires_grad=True)
    TF.ctc_loss(t.permute(1, 0, 2), torch.tensor(targets), in_len, tgt_len).backward()
    _close(results[0], t.grad.numpy(), np.float32)
