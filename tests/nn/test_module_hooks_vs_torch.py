"""Module hooks against torch 2.13: the same model (weights copied through state_dict) and the same hooks on both
sides; what the hooks see (order, shapes, values), what their replacements do to the output and to every .grad,
removal, prepend, with_kwargs, always_call, and the full backward (pre-)hooks on a Linear, an LSTM (fused and the
generic tape), a GRU, a cell and a user's Module; float32 and float64."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def arr(t):
    """A Tensor's values (ours or torch's; our .grad is an array already), None for None."""
    if t is None or isinstance(t, np.ndarray):
        return t
    return np.array(t.detach().numpy())


def to_torch(a, dtype, requires_grad=False):
    return torch.tensor(a, dtype=TORCH_DTYPE[dtype], requires_grad=requires_grad)


def to_ours(a, dtype, requires_grad=False):
    return tr.Tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad)


def twins(make_torch, make_ours, dtype):
    """(torch model, our model) with the same weights."""
    theirs = make_torch().to(TORCH_DTYPE[dtype])
    ours = make_ours().to(dtype)
    ours.load_state_dict(theirs.state_dict())
    return theirs, ours


def linear_twins(dtype, n_in=3, n_out=2):
    return twins(lambda: torch.nn.Linear(n_in, n_out), lambda: tr.nn.Linear(n_in, n_out), dtype)


def same_logs(log_t, log_o, dtype):
    """Two logs of (tag, values...) entries: same tags in the same order, values close (None where None)."""
    assert [e[0] for e in log_o] == [e[0] for e in log_t]
    for et, eo in zip(log_t, log_o):
        assert len(et) == len(eo), (et[0], len(et), len(eo))
        for vt, vo in zip(et[1:], eo[1:]):
            assert (vt is None) == (vo is None), (et[0], vt, vo)
            if vt is not None:
                np.testing.assert_allclose(vo, vt, err_msg=et[0], **TOL[dtype])


def grads_close(theirs, ours, dtype):
    t_grads = {n: p.grad for n, p in theirs.named_parameters()}
    for n, p in ours.named_parameters():
        assert (p.grad is None) == (t_grads[n] is None), n
        if p.grad is not None:
            np.testing.assert_allclose(p.grad, t_grads[n].numpy(), err_msg=n, **TOL[dtype])


def logging_hooks(model, log):
    """All four kinds on every module of model, each logging what it sees (tag = module name + kind)."""
    def entries(ts):
        return [arr(t) if not isinstance(t, tuple) else None for t in ts]

    for name, m in model.named_modules():
        m.register_forward_pre_hook(lambda mod, args, name=name: log.append((name + ":pre", *entries(args))))
        m.register_forward_hook(lambda mod, args, out, name=name: log.append((name + ":fwd", *entries(args), arr(out))))
        m.register_full_backward_pre_hook(lambda mod, go, name=name: log.append((name + ":bpre", *entries(go))))
        m.register_full_backward_hook(
            lambda mod, gi, go, name=name: log.append((name + ":bwd", *entries(gi), "|", *entries(go))))


def entries_fix(log):
    """The "|" separators in the backward entries are tags, not values: drop them."""
    return [tuple(v for v in e if not (isinstance(v, str) and v == "|")) for e in log]


# ----------------------------------------------------------------------------- forward hooks
@pytest.mark.parametrize("dtype", DTYPES)
def test_call_order_and_arguments_seen_through_a_sequential(dtype):
    x = np.random.default_rng(0).standard_normal((4, 3))
    theirs, ours = twins(lambda: torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)),
                         lambda: tr.nn.Sequential(tr.nn.Linear(3, 5), tr.nn.Tanh(), tr.nn.Linear(5, 2)), dtype)
    log_t, log_o = [], []
    logging_hooks(theirs, log_t)
    logging_hooks(ours, log_o)
    xt, xo = to_torch(x, dtype, True), to_ours(x, dtype, True)
    (theirs(xt) ** 2).sum().backward()
    (ours(xo) ** 2).sum().backward()
    assert len(log_o) == 4 * 4
    same_logs(entries_fix(log_t), entries_fix(log_o), dtype)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL[dtype])
    grads_close(theirs, ours, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("as_tuple", [False, True])
def test_forward_pre_hook_replaces_the_arguments(dtype, as_tuple):
    theirs, ours = linear_twins(dtype)
    for m in (theirs, ours):   # a non-tuple answer is the one argument, as torch
        m.register_forward_pre_hook(lambda mod, args: (args[0] * 3,) if as_tuple else args[0] * 3)
    x = np.random.default_rng(1).standard_normal((2, 3))
    xt, xo = to_torch(x, dtype, True), to_ours(x, dtype, True)
    yt, yo = theirs(xt), ours(xo)
    np.testing.assert_allclose(yo.data, arr(yt), **TOL[dtype])
    yt.sum().backward()
    yo.sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL[dtype])
    grads_close(theirs, ours, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_hook_replaces_the_output_and_later_hooks_see_the_replacement(dtype):
    theirs, ours = linear_twins(dtype)
    logs = ([], [])
    for m, log in zip((theirs, ours), logs):
        m.register_forward_hook(lambda mod, args, out: out * out)
        m.register_forward_hook(lambda mod, args, out, log=log: log.append(("seen", arr(out))))
    x = np.random.default_rng(2).standard_normal((2, 3))
    xt, xo = to_torch(x, dtype, True), to_ours(x, dtype, True)
    yt, yo = theirs(xt), ours(xo)
    same_logs(*logs, dtype)
    np.testing.assert_allclose(yo.data, arr(yt), **TOL[dtype])
    yt.sum().backward()
    yo.sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL[dtype])
    grads_close(theirs, ours, dtype)


def test_prepend_puts_a_hook_first_and_remove_takes_hooks_off():
    theirs, ours = linear_twins(np.float64)
    x = np.ones((1, 3))
    logs = ([], [])
    for m, log, conv in zip((theirs, ours), logs, (to_torch, to_ours)):
        a = m.register_forward_hook(lambda mod, args, out, log=log: log.append(("a",)))
        m.register_forward_hook(lambda mod, args, out, log=log: log.append(("b",)))
        m.register_forward_hook(lambda mod, args, out, log=log: log.append(("c",)), prepend=True)
        p = m.register_forward_pre_hook(lambda mod, args, log=log: log.append(("p1",)))
        m.register_forward_pre_hook(lambda mod, args, log=log: log.append(("p0",)), prepend=True)
        m(conv(x, np.float64))
        a.remove()
        a.remove()   # again: harmless
        p.remove()
        m(conv(x, np.float64))
        with m.register_forward_hook(lambda mod, args, out, log=log: log.append(("ctx",))):
            m(conv(x, np.float64))
        m(conv(x, np.float64))
    assert [e[0] for e in logs[1]] == [e[0] for e in logs[0]]
    assert [e[0] for e in logs[1]][:6] == ["p0", "p1", "c", "a", "b", "p0"]


class Scaled(tr.nn.Module):
    def __init__(self):
        self.lin = tr.nn.Linear(3, 2)

    def forward(self, x, scale=1.0, shift=None):
        y = self.lin(x) * scale
        return y if shift is None else y + shift


class TorchScaled(torch.nn.Module):
    forward = Scaled.forward

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_with_kwargs_hooks_see_and_replace_the_keyword_arguments(dtype):
    theirs, ours = twins(TorchScaled, Scaled, dtype)
    logs = ([], [])
    x = np.random.default_rng(3).standard_normal((2, 3))
    for m, log, conv in zip((theirs, ours), logs, (to_torch, to_ours)):
        def pre(mod, args, kwargs, conv=conv):
            return (args[0] * 2,), {**kwargs, "shift": conv(np.ones(2), dtype)}
        m.register_forward_pre_hook(pre, with_kwargs=True)
        m.register_forward_hook(lambda mod, args, kwargs, out, log=log:
                                log.append(("fwd", arr(args[0]), kwargs["scale"], arr(kwargs["shift"]), arr(out))),
                                with_kwargs=True)
    xt, xo = to_torch(x, dtype, True), to_ours(x, dtype, True)
    yt, yo = theirs(xt, scale=0.5), ours(xo, scale=0.5)
    same_logs(*logs, dtype)
    yt.sum().backward()
    yo.sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL[dtype])
    grads_close(theirs, ours, dtype)


def test_a_with_kwargs_pre_hook_must_return_a_pair_as_torch():
    for m, conv in zip(linear_twins(np.float64), (to_torch, to_ours)):
        m.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
        with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
            m(conv(np.ones((1, 3)), np.float64))


class Failing(tr.nn.Module):
    def forward(self, x):
        raise ValueError("no")


class TorchFailing(torch.nn.Module):
    def forward(self, x):
        raise ValueError("no")


def test_always_call_runs_a_forward_hook_when_forward_raises():
    logs = ([], [])
    for m, log, conv in zip((TorchFailing(), Failing()), logs, (to_torch, to_ours)):
        m.register_forward_hook(lambda mod, args, out, log=log: log.append(("plain", out)))
        m.register_forward_hook(lambda mod, args, out, log=log: log.append(("always", out, arr(args[0]))),
                                always_call=True)
        m.register_forward_hook(lambda mod, args, out: 1 / 0, always_call=True)   # silenced: a warning
        with pytest.raises(ValueError, match="no"), pytest.warns(UserWarning, match="always_call=True"):
            m(conv(np.ones(2), np.float64))
    assert logs[0] == [("always", None, logs[0][0][2])]
    assert [e[:2] for e in logs[1]] == [e[:2] for e in logs[0]]
    np.testing.assert_array_equal(logs[1][0][2], logs[0][0][2])


def test_hooks_run_on_a_cell_with_the_arguments_as_given():
    theirs, ours = twins(lambda: torch.nn.LSTMCell(3, 4), lambda: tr.nn.LSTMCell(3, 4), np.float64)
    rng = np.random.default_rng(4)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    logs = ([], [])
    for m, log, conv in zip((theirs, ours), logs, (to_torch, to_ours)):
        m.register_forward_hook(lambda mod, args, out, log=log: log.append(
            ("fwd", len(args), arr(out[0]), arr(out[1]))))
        m(conv(x, np.float64))
        m(conv(x, np.float64), (conv(h, np.float64), conv(c, np.float64)))
    same_logs(*logs, np.float64)


# ----------------------------------------------------------------------------- backward hooks
@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_pre_hook_replaces_grad_output(dtype):
    theirs, ours = linear_twins(dtype)
    logs = ([], [])
    for m, log in zip((theirs, ours), logs):
        m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
        m.register_full_backward_pre_hook(lambda mod, go, log=log: log.append(("pre", arr(go[0]))))
        m.register_full_backward_hook(lambda mod, gi, go, log=log: log.append(("full", arr(gi[0]), arr(go[0]))))
    x = np.random.default_rng(5).standard_normal((4, 3))
    xt, xo = to_torch(x, dtype, True), to_ours(x, dtype, True)
    (theirs(xt) ** 2).sum().backward()
    (ours(xo) ** 2).sum().backward()
    same_logs(*logs, dtype)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL[dtype])
    grads_close(theirs, ours, dtype)   # the weights' gradients are computed from the replaced grad_output


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_hook_replaces_grad_input_only(dtype):
    theirs, ours = linear_twins(dtype)
    for m in (theirs, ours):
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * -2,))
        m.register_full_backward_hook(lambda mod, gi, go: [gi[0] + 1])   # a list is taken too, as torch
    x = np.random.default_rng(6).standard_normal((4, 3))
    xt, xo = to_torch(x, dtype, True), to_ours(x, dtype, True)
    (theirs(xt) ** 2).sum().backward()
    (ours(xo) ** 2).sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL[dtype])
    grads_close(theirs, ours, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("fused", [True, False])
def test_backward_hooks_on_a_recurrent_layer(dtype, layer, fused):
    theirs, ours = twins(lambda: getattr(torch.nn, layer)(3, 4, num_layers=2),
                         lambda: getattr(tr.nn, layer)(3, 4, num_layers=2, fused=fused), dtype)
    logs = ([], [])
    for m, log in zip((theirs, ours), logs):
        m.register_full_backward_pre_hook(lambda mod, go, log=log: log.append(("pre", *[arr(g) for g in go])))
        m.register_full_backward_hook(lambda mod, gi, go, log=log: log.append(
            ("full", *[arr(g) if not isinstance(g, tuple) else None for g in gi], *[arr(g) for g in go])))
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0.5,) + gi[1:])
        m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 2,) + go[1:], prepend=True)
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 4))
    xt, xo = to_torch(x, dtype, True), to_ours(x, dtype, True)
    for m, xx, conv in ((theirs, xt, to_torch), (ours, xo, to_ours)):
        out, h = m(xx)
        (out * conv(w, dtype)).sum().backward()
    assert [e[0] for e in logs[1]] == ["pre", "full"]
    same_logs(*logs, dtype)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), **TOL[dtype])
    grads_close(theirs, ours, dtype)


def test_an_unused_output_has_no_grad_output_and_an_unused_input_gets_zeros():
    class Two(tr.nn.Module):
        def forward(self, a, b, k):
            return a * k, a * 3

    class TorchTwo(torch.nn.Module):
        forward = Two.forward

    logs = ([], [])
    grads = []
    for m, log, conv in zip((TorchTwo(), Two()), logs, (to_torch, to_ours)):
        m.register_full_backward_hook(lambda mod, gi, go, log=log: log.append(
            ("full", *[arr(g) if g is not None else None for g in gi], *[arr(g) for g in go])))
        a, b, c = (conv(np.arange(1.0, 3.0), np.float64, True) for _ in range(3))
        o1, o2 = m(a, b, 2.0)
        (o1 * c).sum().backward()
        grads.append((arr(a.grad), arr(b.grad), arr(c.grad)))
    same_logs(*logs, np.float64)
    assert logs[1][0][3] is None and logs[1][0][5] is None   # k is not a Tensor; o2 got no gradient
    for gt, go in zip(*grads):
        np.testing.assert_array_equal(go, gt)   # b's grad: zeros, as torch's


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_tensor_argument_that_needs_no_gradient_gets_zeros_beside_one_that_does(dtype):
    """torch's identity node takes every Tensor argument once one requires grad, and hands the full backward hooks
    zeros for the others (a hand-unrolled cell's first state, say); a replacement for them goes nowhere."""
    theirs, ours = twins(lambda: torch.nn.GRUCell(3, 4), lambda: tr.nn.GRUCell(3, 4), dtype)
    rng = np.random.default_rng(7)
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    logs, grads = ([], []), []
    for m, log, conv in zip((theirs, ours), logs, (to_torch, to_ours)):
        m.register_full_backward_hook(lambda mod, gi, go, log=log: log.append(("full", *[arr(g) for g in gi])))
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2, gi[1] + 1))
        xt = conv(x, dtype, True)
        m(xt, conv(h, dtype)).sum().backward()
        grads.append(arr(xt.grad))
    same_logs(*logs, dtype)
    assert not logs[1][0][2].any()
    np.testing.assert_allclose(grads[1], grads[0], **TOL[dtype])


def test_without_an_input_that_requires_grad_the_backward_hook_fires_at_the_outputs():
    logs = ([], [])
    theirs, ours = linear_twins(np.float64)
    for m, log, conv in zip((theirs, ours), logs, (to_torch, to_ours)):
        m.register_full_backward_hook(lambda mod, gi, go, log=log: log.append(("full", gi[0], arr(go[0]))))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m(conv(np.ones((2, 3)), np.float64)).sum().backward()
        assert any("no inputs require gradients" in str(w.message) for w in caught)
    same_logs(*logs, np.float64)
    grads_close(theirs, ours, np.float64)


def test_a_backward_hook_returning_the_wrong_count_is_refused_as_torch():
    for m, conv in zip(linear_twins(np.float64), (to_torch, to_ours)):
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
            m(conv(np.ones((2, 3)), np.float64, True)).sum().backward()
    for m, conv in zip(linear_twins(np.float64), (to_torch, to_ours)):
        m.register_full_backward_pre_hook(lambda mod, go: ())
        with pytest.raises(RuntimeError, match="invalid number of grad_output, got 0, but expected 1"):
            m(conv(np.ones((2, 3)), np.float64, True)).sum().backward()


@pytest.mark.parametrize("change", ["shape", "dtype"])
def test_a_replacement_of_another_shape_or_dtype_is_refused_as_torch(change):
    for m, conv in zip(linear_twins(np.float64), (to_torch, to_ours)):
        m.register_full_backward_hook(lambda mod, gi, go: ((gi[0][:1] if change == "shape" else gi[0].float()),))
        with pytest.raises(RuntimeError):
            m(conv(np.ones((2, 3)), np.float64, True)).sum().backward()
    lin = tr.nn.Linear(3, 2, dtype=np.float64)   # ours names the entry and what it must be
    lin.register_full_backward_pre_hook(lambda mod, go: ((go[0][:1] if change == "shape" else go[0].float()),))
    expected = (r"grad_output\[0\] must have shape \(2, 2\)" if change == "shape"
                else r"grad_output\[0\] must have dtype float64")
    with pytest.raises(ValueError if change == "shape" else TypeError, match=expected):
        lin(to_ours(np.ones((2, 3)), np.float64, True)).sum().backward()


def test_removed_backward_hooks_no_longer_run_and_no_grad_skips_them():
    theirs, ours = linear_twins(np.float64)
    counts = ([], [])
    for m, count, conv in zip((theirs, ours), counts, (to_torch, to_ours)):
        h = m.register_full_backward_hook(lambda mod, gi, go, count=count: count.append(1))
        x = conv(np.ones((2, 3)), np.float64, True)
        m(x).sum().backward()
        h.remove()
        m(x).sum().backward()
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
        with torch.no_grad(), tr.no_grad():
            y = m(x)
        assert not y.requires_grad
    assert counts[1] == counts[0] == [1]
    grads_close(theirs, ours, np.float64)


def test_register_refuses_a_hook_that_is_not_callable():
    with pytest.raises(TypeError, match="hook must be callable"):
        tr.nn.Linear(2, 2).register_forward_hook(3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fused", [True, False])
def test_forward_hooks_on_an_lstm_replace_its_input_state_and_output(dtype, fused):
    theirs, ours = twins(lambda: torch.nn.LSTM(3, 4), lambda: tr.nn.LSTM(3, 4, fused=fused), dtype)
    rng = np.random.default_rng(8)
    x, h0, c0, w = (rng.standard_normal(s) for s in ((5, 2, 3), (1, 2, 4), (1, 2, 4), (5, 2, 4)))
    logs = ([], [])
    results = []
    for m, log, conv in zip((theirs, ours), logs, (to_torch, to_ours)):
        m.register_forward_pre_hook(lambda mod, args: (args[0] * 0.5, (args[1][0] + 1, args[1][1])))
        m.register_forward_hook(lambda mod, args, out: (out[0] * 2, (out[1][0], out[1][1] * 3)))
        m.register_forward_hook(lambda mod, args, out, log=log: log.append(
            ("fwd", arr(args[0]), arr(args[1][0]), arr(out[0]), arr(out[1][0]), arr(out[1][1]))))
        xx, hh, cc = conv(x, dtype, True), conv(h0, dtype, True), conv(c0, dtype, True)
        out, (h, c) = m(xx, (hh, cc))
        ((out * conv(w, dtype)).sum() + (h * c).sum()).backward()
        results.append((xx.grad, hh.grad, cc.grad))
    same_logs(*logs, dtype)
    for gt, go in zip(*results):
        np.testing.assert_allclose(go, gt.numpy(), **TOL[dtype])
    grads_close(theirs, ours, dtype)
