"""torch.nn.modules.module.register_module_forward_pre_hook / _forward_hook / _full_backward_pre_hook /
_full_backward_hook as tr.nn.modules.module's: run for every module call, before the module's own hooks, in torch
2.13's order, with torch's arguments and replacements. They were missing. Every test removes what it registers
(a global hook left behind would run in every later test)."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn.modules import module as tr_module

torch = pytest.importorskip("torch")
torch_module = torch.nn.modules.module


def _model(lib, weight):
    linear = lib.nn.Linear(2, 2)
    with (torch.no_grad() if lib is torch else tr.no_grad()):
        linear.weight.copy_(lib.tensor(weight) if lib is torch else tr.Tensor(weight))
        linear.bias.zero_()
    return linear, lib.nn.Sequential(linear, lib.nn.Tanh())


def _name(m):
    return type(m).__name__


def _run(lib, registry):
    """The calls the hooks see, in order, and the gradient of the input, for one forward and backward."""
    weight = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    linear, model = _model(lib, weight)
    calls = []
    handles = [
        registry.register_module_forward_pre_hook(lambda m, a: calls.append(("pre", _name(m), len(a)))),
        registry.register_module_forward_hook(lambda m, a, o: calls.append(("forward", _name(m), tuple(o.shape)))),
        registry.register_module_full_backward_pre_hook(
            lambda m, go: calls.append(("backward_pre", _name(m), tuple(g.shape for g in go)))),
        registry.register_module_full_backward_hook(
            lambda m, gi, go: calls.append(("backward", _name(m), [None if g is None else g.shape[0] for g in gi]))),
    ]
    linear.register_forward_pre_hook(lambda m, a: calls.append(("own pre", _name(m), len(a))))
    linear.register_forward_hook(lambda m, a, o: calls.append(("own forward", _name(m), tuple(o.shape))))
    try:
        x = (torch.tensor if lib is torch else tr.Tensor)(np.ones((3, 2), np.float32), requires_grad=True)
        model(x).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    return calls, np.asarray(x.grad if lib is tr else x.grad.numpy())


def test_every_module_call_runs_them_before_its_own_as_torch():
    ours, theirs = _run(tr, tr_module), _run(torch, torch_module)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)


def test_replacements_and_removal_as_torch():
    results = []
    for lib, registry in ((tr, tr_module), (torch, torch_module)):
        _, model = _model(lib, np.eye(2, dtype=np.float32))
        x = (torch.tensor if lib is torch else tr.Tensor)(np.full((1, 2), 0.5, np.float32), requires_grad=True)
        with registry.register_module_forward_pre_hook(lambda m, a: (a[0] * 2,)):
            with registry.register_module_forward_hook(
                    lambda m, a, kw, o: o + 1 if _name(m) == "Tanh" else None, with_kwargs=True):
                with registry.register_module_full_backward_hook(lambda m, gi, go: (gi[0] * 3,)):
                    out = model(x)
                    out.sum().backward()
        after = model(x)   # all removed: a plain call
        grab = (lambda t: t.detach().numpy()) if lib is torch else (lambda t: t.data)
        results.append((grab(out), grab(x.grad), grab(after)))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4)   # (float32 tanh: an ulp or two)


def test_always_call_runs_when_forward_raises_as_torch():
    class Failing(tr.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    seen = []
    with tr_module.register_module_forward_hook(lambda m, a, o: seen.append(o), always_call=True):
        with pytest.raises(ValueError, match="boom"):
            Failing()(tr.ones(1))
    assert seen == [None]
    with tr_module.register_module_forward_hook(lambda m, a, o: seen.append(o)):
        with pytest.raises(ValueError, match="boom"):
            Failing()(tr.ones(1))
    assert seen == [None]


@pytest.mark.parametrize("name", ["RNN", "GRU", "LSTM"])
def test_a_torch_style_layer_is_one_call_as_torch(name):
    """torch's RNN/GRU/LSTM have no cell modules: the hooks see the layer only. Here the layer's inner cells stay
    unseen, and its fused path is kept."""
    seen = {}
    for lib, registry in ((tr, tr_module), (torch, torch_module)):
        calls = seen.setdefault(lib.__name__, [])
        layer = getattr(lib.nn, name)(2, 3)
        with registry.register_module_forward_pre_hook(lambda m, a, calls=calls: calls.append(_name(m))):
            layer((torch.zeros if lib is torch else tr.zeros)(4, 1, 2))
    assert seen["tinygrad_rnn"] == seen["torch"] == [name]
    from tinygrad_rnn.nn.hooks import has_hooks
    layer = getattr(tr.nn, name)(2, 3)
    with tr_module.register_module_forward_pre_hook(lambda m, a: None):
        assert has_hooks(layer) and not has_hooks(layer._cell(0, 0))


def test_a_hook_that_is_not_callable_is_refused():
    with pytest.raises(TypeError, match="register_module_forward_hook: hook must be callable, got int"):
        tr_module.register_module_forward_hook(3)
    assert tr_module.Module is tr.nn.Module
