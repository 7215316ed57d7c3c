"""A checkpointed fused recurrent call (checkpoint=True, checkpoint=K, a memory_budget that keeps pieces) whose
parameter is written in place between forward and backward, against torch 2.13's non-reentrant
torch.utils.checkpoint around the same torch layer: torch checks no parameter's version there and its backward
recomputes the call with the values the parameters hold now; ours reruns the forward by its plan on those values
(compile/segments.rerun_forward), so values and gradients are torch's. The input written in place is refused by
both (a RuntimeError). Main refused every written parameter, and let a computed input written in place through
(its recomputed pieces read the new values). (Without checkpointing:
test_recurrent_written_weights_vs_torch.py.)"""
import contextlib
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
from torch.utils.checkpoint import checkpoint as torch_checkpoint  # noqa: E402

T, B, I, H = 12, 2, 3, 4
NAMES = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]


def _pair(kind, policy, rng):
    theirs = getattr(torch.nn, kind)(I, H).double()
    ours = getattr(tr.nn, kind)(I, H, dtype=np.float64, fused=True, **policy)
    ours.load_state_dict({k: tr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return theirs, ours


def _onednn_off(kind):
    """torch's LSTM reads oneDNN's own saved weights when it is on (test_recurrent_written_weights_vs_torch.py)."""
    if kind != "LSTM":
        return contextlib.nullcontext()
    with warnings.catch_warnings():   # (its flags warn of Intel GPUs while they are set)
        warnings.simplefilter("ignore")
        return torch.backends.mkldnn.flags(enabled=False)


def _grads(layer, x, lib):
    return [x.grad.numpy()] + [getattr(layer, n).grad.numpy() for n in NAMES] if lib is tr else \
        [x.grad.detach().numpy()] + [getattr(layer, n).grad.detach().numpy() for n in NAMES]


@pytest.mark.parametrize("written", NAMES)
@pytest.mark.parametrize("policy", [{"checkpoint": True}, {"checkpoint": 3}, {"memory_budget": 2000}],
                         ids=["checkpoint=True", "checkpoint=3", "memory_budget"])
@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_a_parameter_written_after_the_forward_gives_torchs_checkpoint_gradients(kind, policy, written):
    rng = np.random.default_rng(7)
    with _onednn_off(kind):
        theirs, ours = _pair(kind, policy, rng)
        xs, gy, w = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, H)), rng.standard_normal(
            getattr(theirs, written).shape)
        xt, xo = torch.tensor(xs, requires_grad=True), tr.tensor(xs, requires_grad=True)
        yt = torch_checkpoint(lambda x: theirs(x)[0], xt, use_reentrant=False)
        yo = ours(xo)[0]
        with torch.no_grad():
            getattr(theirs, written).add_(torch.tensor(w))
        with tr.no_grad():
            getattr(ours, written).add_(tr.tensor(w))
        yt.backward(torch.tensor(gy))
        yo.backward(tr.tensor(gy))
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    for got, want in zip(_grads(ours, xo, tr), _grads(theirs, xt, torch), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_rnn_weights_written_twice_and_a_second_backward_recompute_again():
    """retain_graph=True: each backward reruns on the values of its time, as torch's checkpoint recomputes."""
    rng = np.random.default_rng(3)
    theirs, ours = _pair("RNN", {"checkpoint": True}, rng)
    xs, gy = rng.standard_normal((T, B, I)), rng.standard_normal((T, B, H))
    xt, xo = torch.tensor(xs, requires_grad=True), tr.tensor(xs, requires_grad=True)
    yt = torch_checkpoint(lambda x: theirs(x)[0], xt, use_reentrant=False)
    yo = ours(xo)[0]
    for _ in range(2):
        with torch.no_grad():
            theirs.weight_hh_l0.mul_(0.5)
        with tr.no_grad():
            ours.weight_hh_l0.mul_(0.5)
        yt.backward(torch.tensor(gy), retain_graph=True)
        yo.backward(tr.tensor(gy), retain_graph=True)
        for got, want in zip(_grads(ours, xo, tr), _grads(theirs, xt, torch), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_the_input_written_after_the_forward_is_refused_as_torchs():
    rng = np.random.default_rng(5)
    theirs, ours = _pair("GRU", {"checkpoint": True}, rng)
    xs = rng.standard_normal((T, B, I))
    xt, xo = torch.tensor(xs, requires_grad=True), tr.tensor(xs, requires_grad=True)
    yt = torch_checkpoint(lambda x: theirs(x * 1.0)[0], xt, use_reentrant=False)
    x_in = xo * 1.0
    yo = ours(x_in)[0]
    with torch.no_grad():
        xt.add_(1.0)
    with tr.no_grad():
        x_in.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        yt.sum().backward()
    with pytest.raises(RuntimeError):
        yo.sum().backward()
