"""nn.AdaptiveLogSoftmaxWithLoss against torch 2.13's: the same parameter names and shapes, so a torch state_dict
loads and gives torch's outputs, loss, gradients (input and every parameter), log_prob and predict, in float32 and
float64, over drawn cutoffs, div_value, head_bias and batches; the errors torch raises."""
import numpy as np
import pytest
from conftest import torch_error
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")


def _pair(in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, dtype=np.float64, seed=0):
    """Our module with torch's parameters loaded, and torch's."""
    torch.manual_seed(seed)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value, head_bias,
                                                 dtype=getattr(torch, np.dtype(dtype).name))
    ours = tr.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value, head_bias, dtype=dtype)
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    assert sorted(ours.state_dict()) == sorted(state)
    assert all(ours.state_dict()[k].shape == v.shape for k, v in state.items())
    ours.load_state_dict(state)
    return ours, theirs


def _tolerance(dtype):
    return {"rtol": 2e-5, "atol": 2e-6} if dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-13}


@st.composite
def configurations(draw):
    n_classes = draw(st.integers(3, 40))
    cutoffs = sorted(draw(st.sets(st.integers(1, n_classes - 1), min_size=1, max_size=4)))
    return (draw(st.integers(4, 12)), n_classes, cutoffs, draw(st.sampled_from([1.0, 2.0, 4.0, 1.5])),
            draw(st.booleans()), draw(st.sampled_from([np.float32, np.float64])))


@settings(max_examples=30, deadline=None)
@given(configurations(), st.integers(0, 12), st.integers(0, 2 ** 16))
def test_forward_and_gradients_match_torch(config, batch, seed):
    in_features, n_classes, cutoffs, div_value, head_bias, dtype = config
    ours, theirs = _pair(in_features, n_classes, cutoffs, div_value, head_bias, dtype, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, in_features)).astype(dtype)
    t = rng.integers(0, n_classes, batch)
    if batch >= 2:   # a shortlist class and the last class, always
        t[0], t[1] = 0, n_classes - 1
    x_theirs = torch.tensor(x, requires_grad=True)
    out_theirs = theirs(x_theirs, torch.tensor(t))
    x_ours = tr.Tensor(x, requires_grad=True)
    out_ours = ours(x_ours, tr.tensor(t))
    assert type(out_ours).__name__ == "_ASMoutput" and out_ours._fields == ("output", "loss")
    tol = _tolerance(dtype)
    assert out_ours.output.dtype == dtype and out_ours.output.shape == tuple(out_theirs.output.shape)
    np.testing.assert_allclose(out_ours.output._data, out_theirs.output.detach().numpy(), **tol)
    np.testing.assert_allclose(out_ours.loss._data, out_theirs.loss.detach().numpy(), **tol)   # nan if empty
    if batch == 0:
        return
    up = rng.standard_normal(batch).astype(dtype)
    (out_theirs.loss * 3.0 + (out_theirs.output * torch.tensor(up)).sum()).backward()
    (out_ours.loss * 3.0 + (out_ours.output * tr.Tensor(up)).sum()).backward()
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), **tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        expected = theirs_params[name].grad
        got = np.zeros(p.shape, dtype) if p.grad is None else p.grad
        np.testing.assert_allclose(got, np.zeros(p.shape) if expected is None else expected.numpy(), **tol,
                                   err_msg=name)


@settings(max_examples=20, deadline=None)
@given(configurations(), st.integers(1, 10), st.integers(0, 2 ** 16))
def test_log_prob_and_predict_match_torch(config, batch, seed):
    in_features, n_classes, cutoffs, div_value, head_bias, dtype = config
    ours, theirs = _pair(in_features, n_classes, cutoffs, div_value, head_bias, dtype, seed)
    x = np.random.default_rng(seed).standard_normal((batch, in_features)).astype(dtype) * 3
    x_theirs = torch.tensor(x, requires_grad=True)
    x_ours = tr.Tensor(x, requires_grad=True)
    lp_theirs, lp_ours = theirs.log_prob(x_theirs), ours.log_prob(x_ours)
    np.testing.assert_allclose(lp_ours._data, lp_theirs.detach().numpy(), **_tolerance(dtype))
    up = np.random.default_rng(seed + 1).standard_normal((batch, n_classes)).astype(dtype)
    lp_theirs.backward(torch.tensor(up))
    lp_ours.backward(up)
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), **_tolerance(dtype))
    predicted = ours.predict(tr.Tensor(x))
    assert predicted.dtype == np.int64
    np.testing.assert_array_equal(predicted._data, theirs.predict(torch.tensor(x)).numpy())


@pytest.mark.parametrize("bias", [[5.0, 0, 0, -5, -5], [-5.0, -5, 0, 5, -5], [0.0, 0, 0, 3, 3]])
def test_predict_takes_each_of_torchs_three_paths(bias):
    """All rows in the shortlist, all outside, and a mix (the head's bias steers the head's argmax)."""
    ours, theirs = _pair(6, 12, [3, 8], head_bias=True)
    with torch.no_grad():
        theirs.head.bias.copy_(torch.tensor(bias))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((8, 6))
    np.testing.assert_array_equal(ours.predict(tr.Tensor(x))._data, theirs.predict(torch.tensor(x)).numpy())


def test_unbatched_input_as_torch():
    ours, theirs = _pair(5, 10, [2, 6], 2.0, True)
    x = np.random.default_rng(1).standard_normal(5)
    for target in (1, 7):
        out_ours, out_theirs = ours(tr.Tensor(x), tr.tensor(target)), theirs(torch.tensor(x), torch.tensor(target))
        assert out_ours.output.shape == () == tuple(out_theirs.output.shape)
        np.testing.assert_allclose(out_ours.output.item(), out_theirs.output.item(), rtol=1e-12)
        np.testing.assert_allclose(out_ours.loss.item(), out_theirs.loss.item(), rtol=1e-12)


def test_attributes_and_structure_as_torch():
    ours, theirs = _pair(16, 100, [10, 40, 70], div_value=3.0)
    for name in ("in_features", "n_classes", "cutoffs", "div_value", "head_bias", "shortlist_size", "n_clusters",
                 "head_size"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


CONSTRUCTOR_ERRORS = {
    "no cutoffs": (8, 10, []),
    "unsorted": (8, 10, [5, 3]),
    "repeated": (8, 10, [3, 3]),
    "zero": (8, 10, [0, 3]),
    "past n_classes - 1": (8, 10, [3, 10]),
    "not an integer": (8, 10, [2.5]),
}


@pytest.mark.parametrize("case", list(CONSTRUCTOR_ERRORS))
def test_constructor_refuses_cutoffs_as_torch(case):
    args = CONSTRUCTOR_ERRORS[case]
    expected = type(torch_error(lambda: torch.nn.AdaptiveLogSoftmaxWithLoss(*args)))
    with pytest.raises(expected, match="cutoffs should be a sequence"):
        tr.nn.AdaptiveLogSoftmaxWithLoss(*args)


def _call_errors(lib):
    module = (torch.nn if lib is torch else tr.nn).AdaptiveLogSoftmaxWithLoss(4, 10, [3])
    x = (torch.ones if lib is torch else tr.ones)(3, 4, dtype=torch.float32 if lib is torch else np.float32)
    idx = torch.tensor if lib is torch else tr.tensor
    return {
        "target out of range": (lambda: module(x, idx([0, 1, 10])), "target values should be in"),
        "negative target": (lambda: module(x, idx([0, -1, 2])), "target values should be in"),
        "batch sizes differ": (lambda: module(x, idx([0, 1])), "same size in the batch"),
        "2-D target": (lambda: module(x, idx([[0, 1, 2]])), "multi-target"),
        "0-D target of a 2-D input": (lambda: module(x, idx(1)), "0-D target expects a 1-D input"),
        "1-D target of a 3-D input": (lambda: module(x.reshape(3, 1, 4), idx([0, 1, 2])), "expects a 2-D input"),
    }


@pytest.mark.parametrize("case", list(_call_errors(tr)))
def test_call_errors_are_torchs_types(case):
    expected = type(torch_error(_call_errors(torch)[case][0]))
    call, words = _call_errors(tr)[case]
    with pytest.raises(expected, match=words):
        call()
