"""A recurrent layer's parameter written in place between forward and backward (an optimizer step, `p.mul_()` under
no_grad), held against torch 2.13: the backward refuses exactly where torch's does, and where it runs its gradients
are torch's. torch's RNN and GRU save W_hh at every step and W_ih only for the input's gradient, and no bias: a
written bias, or a first layer's W_ih when the input needs no gradient, leaves the backward as it was. torch's LSTM
on the CPU runs oneDNN's kernel, which saves all its weights and refuses any written one; its own (native) LSTM, the
one run with oneDNN off, saves what the RNN and GRU save, and ours follows that one (compile/node.py
Kernel.backward_reads)."""
import contextlib

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

NAMES = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l1", "bias_hh_l1",
         "weight_ih_l0_reverse", "bias_ih_l0_reverse"]


def _native(cls_name):
    """torch's native recurrent path (an LSTM's oneDNN kernel off: it saves every weight)."""
    return torch.backends.mkldnn.flags(enabled=False) if cls_name == "LSTM" else contextlib.nullcontext()


def _run(lib, layer, name, x_grad, h0_grad, cls_name, dtype=np.float64):
    """Forward, write `name` in place under no_grad, backward: the gradients, or the error's type."""
    rng = np.random.default_rng(3)
    x = lib.tensor(rng.standard_normal((5, 2, 3)).astype(dtype), requires_grad=x_grad)
    h0 = lib.tensor(rng.standard_normal((4, 2, 4)).astype(dtype), requires_grad=h0_grad)
    state = (h0, lib.tensor(rng.standard_normal((4, 2, 4)).astype(dtype))) if cls_name == "LSTM" else h0
    out, _ = layer(x, state)
    with lib.no_grad():
        getattr(layer, name).mul_(2.0)
    try:
        (out * lib.tensor(rng.standard_normal(out.shape).astype(dtype))).sum().backward()
    except Exception as e:  # noqa: BLE001 - the type is the outcome compared
        return type(e)
    grads = {n: p.grad.numpy() for n, p in layer.named_parameters()}
    grads.update(x=None if x.grad is None else x.grad.numpy(), h0=None if h0.grad is None else h0.grad.numpy())
    return grads


def _layers(cls_name):
    ours = getattr(tr.nn, cls_name)(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    theirs = getattr(torch.nn, cls_name)(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for n, p in theirs.named_parameters():
            p.copy_(torch.from_numpy(getattr(ours, n).detach().numpy().copy()))
    return ours, theirs


@pytest.mark.filterwarnings("ignore:TF32 acceleration")   # (torch's note when its oneDNN flags are set)
@pytest.mark.parametrize("cls_name", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("x_grad,h0_grad", [(False, False), (True, False), (False, True)])
def test_a_weight_written_between_forward_and_backward_refuses_where_torch_does(cls_name, name, x_grad, h0_grad):
    ours, theirs = _layers(cls_name)
    with _native(cls_name):
        expected = _run(torch, theirs, name, x_grad, h0_grad, cls_name)
    got = _run(tr, ours, name, x_grad, h0_grad, cls_name)
    if isinstance(expected, type):
        assert got is tr.InplaceModificationError and issubclass(got, expected)
        return
    assert isinstance(got, dict), f"ours raised {got}, torch ran"
    for key, value in expected.items():
        if value is None:
            assert got[key] is None, key
        else:
            np.testing.assert_allclose(got[key], value, rtol=1e-10, atol=1e-12, err_msg=key)


def test_torchs_cpu_lstm_saves_every_weight():
    """Why the LSTM is held against torch's native path: torch 2.13's default CPU LSTM (oneDNN) refuses a written
    bias too (in float32, oneDNN's dtype), where its native LSTM, its RNN and its GRU run (ours runs there as the
    native path does)."""
    for cls_name, refused in (("LSTM", True), ("GRU", False)):
        theirs = getattr(torch.nn, cls_name)(3, 4, num_layers=2, bidirectional=True)
        got = _run(torch, theirs, "bias_ih_l0", False, False, cls_name, np.float32)
        assert (got is RuntimeError) if refused else isinstance(got, dict)
        ours = getattr(tr.nn, cls_name)(3, 4, num_layers=2, bidirectional=True)
        assert isinstance(_run(tr, ours, "bias_ih_l0", False, False, cls_name, np.float32), dict)
