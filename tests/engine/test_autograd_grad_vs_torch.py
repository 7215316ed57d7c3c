"""tr.autograd.grad / tr.autograd.backward / Tensor.backward(inputs=) against torch 2.13's: the gradients
returned, every .grad before and after (leaves, retain_grad() intermediates), hooks, several outputs,
grad_outputs, unused inputs, errors of torch's types; and BPTT's dL/dh_t, each step's, against torch."""
import numpy as np
import pytest

import tinygrad_rnn as tr

RNG = np.random.default_rng(0)


def pair(values, requires_grad=True):
    torch = pytest.importorskip("torch")
    a = np.asarray(values, dtype=np.float64)
    return tr.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def same(ours, theirs):
    """One gradient, or a tuple/None of them, equal to torch's (values, None where torch has None)."""
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            same(o, t)
        return
    if theirs is None:
        assert ours is None
        return
    ours = ours.data if isinstance(ours, tr.Tensor) else ours
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=0)


def graph(lib, x, w):
    """y = x * w (retained), z = sum(tanh(y) * y) + sum(w ** 2): leaves x and w, an intermediate y."""
    y = x * w
    y.retain_grad()
    return y, (lib.tanh(y) * y).sum() + (w ** 2).sum()


def both_graphs():
    torch = pytest.importorskip("torch")
    xv, wv = RNG.standard_normal(4), RNG.standard_normal(4)
    (x, tx), (w, tw) = pair(xv), pair(wv)
    return (x, w, *graph(tr, x, w)), (tx, tw, *graph(torch, tx, tw))


@pytest.mark.parametrize("which", ["x", "w", "y", "x w", "y w x", "x x"])
def test_grad_returns_torchs_and_leaves_grad_alone(which):
    torch = pytest.importorskip("torch")
    ours, theirs = both_graphs()
    names = {"x": 0, "w": 1, "y": 2}
    pick = [names[n] for n in which.split()]
    got = tr.autograd.grad(ours[3], [ours[i] for i in pick], retain_graph=True)
    want = torch.autograd.grad(theirs[3], [theirs[i] for i in pick], retain_graph=True)
    same(got, want)
    for k in range(3):   # x and w: .grad untouched (None); y: retained, so torch sums into it
        same(ours[k].grad, theirs[k].grad)
    assert all(isinstance(g, tr.Tensor) and not g.requires_grad for g in got)


def test_grad_keeps_an_earlier_grad_and_adds_to_a_retained_one():
    torch = pytest.importorskip("torch")
    ours, theirs = both_graphs()
    ours[3].backward(retain_graph=True)
    theirs[3].backward(retain_graph=True)
    got = tr.autograd.grad(ours[3], [ours[0], ours[2]], retain_graph=True)
    want = torch.autograd.grad(theirs[3], [theirs[0], theirs[2]], retain_graph=True)
    same(got, want)
    for k in range(3):
        same(ours[k].grad, theirs[k].grad)


def test_hooks_shape_what_grad_returns():
    torch = pytest.importorskip("torch")
    ours, theirs = both_graphs()
    ours[0].register_hook(lambda g: g * 3)
    theirs[0].register_hook(lambda g: g * 3)
    ours[2].register_hook(lambda g: g + 1)
    theirs[2].register_hook(lambda g: g + 1)
    same(tr.autograd.grad(ours[3], [ours[0], ours[1]]), torch.autograd.grad(theirs[3], [theirs[0], theirs[1]]))


def test_several_outputs_and_grad_outputs():
    torch = pytest.importorskip("torch")
    ours, theirs = both_graphs()
    gv = RNG.standard_normal(4)
    got = tr.autograd.grad([ours[3], ours[2]], [ours[0], ours[1]], grad_outputs=[None, tr.tensor(gv)],
                           retain_graph=True)
    want = torch.autograd.grad([theirs[3], theirs[2]], [theirs[0], theirs[1]],
                               grad_outputs=[None, torch.tensor(gv)], retain_graph=True)
    same(got, want)
    got = tr.autograd.grad(ours[2], ours[0], grad_outputs=tr.tensor(gv), retain_graph=True)
    same(got, torch.autograd.grad(theirs[2], theirs[0], grad_outputs=torch.tensor(gv), retain_graph=True))
    x, tx = pair(RNG.standard_normal(3))   # an output that is itself the input
    same(tr.autograd.grad(x, x, grad_outputs=tr.tensor(gv[:3])),
         torch.autograd.grad(tx, tx, grad_outputs=torch.tensor(gv[:3])))


def test_unused_inputs():
    torch = pytest.importorskip("torch")
    ours, theirs = both_graphs()
    u, tu = pair(RNG.standard_normal(2))
    with pytest.raises(RuntimeError, match="index 1 appears to not have been used") as ours_error:
        tr.autograd.grad(ours[3], [ours[0], u], retain_graph=True)
    with pytest.raises(RuntimeError) as theirs_error:
        torch.autograd.grad(theirs[3], [theirs[0], tu], retain_graph=True)
    assert str(ours_error.value) == str(theirs_error.value)
    same(tr.autograd.grad(ours[3], [ours[0], u], retain_graph=True, allow_unused=True),
         torch.autograd.grad(theirs[3], [theirs[0], tu], retain_graph=True, allow_unused=True))
    got = tr.autograd.grad(ours[3], [u, ours[1]], retain_graph=True, materialize_grads=True)
    want = torch.autograd.grad(theirs[3], [tu, theirs[1]], retain_graph=True, materialize_grads=True)
    same(got, want)


@pytest.mark.parametrize("call, kind", [
    (lambda lib, o, i: lib.autograd.grad(o[3], []), RuntimeError),
    (lambda lib, o, i: lib.autograd.grad(o[3], [i]), RuntimeError),                 # input without grad
    (lambda lib, o, i: lib.autograd.grad(i.sum(), [o[0]]), RuntimeError),           # output without grad
    (lambda lib, o, i: lib.autograd.grad(o[2], [o[0]]), RuntimeError),               # not a scalar
    (lambda lib, o, i: lib.autograd.grad(o[3], [o[0]], allow_unused=False, materialize_grads=True), ValueError),
    (lambda lib, o, i: o[3].backward(inputs=[]), RuntimeError),
])
def test_errors_of_torchs_types(call, kind):
    torch = pytest.importorskip("torch")
    ours, theirs = both_graphs()
    with pytest.raises(kind) as theirs_error:
        call(torch, theirs, torch.ones(2))
    with pytest.raises(kind) as ours_error:
        call(tr, ours, tr.ones(2))
    assert str(ours_error.value) == str(theirs_error.value)


def test_create_graph_is_refused_by_name():
    ours, _ = both_graphs()
    with pytest.raises(ValueError, match="grad: create_graph must be False"):
        tr.autograd.grad(ours[3], [ours[0]], create_graph=True)


def test_a_second_walk_without_retain_graph_is_refused_as_backward():
    torch = pytest.importorskip("torch")
    ours, theirs = both_graphs()
    tr.autograd.grad(ours[3], [ours[0]])
    torch.autograd.grad(theirs[3], [theirs[0]])
    with pytest.raises(RuntimeError):
        torch.autograd.grad(theirs[3], [theirs[0]])
    with pytest.raises(RuntimeError):
        tr.autograd.grad(ours[3], [ours[0]])


def test_a_failed_walk_puts_the_leaves_grads_back():
    """The leaves' .grad were set aside for the walk: a hook that raises in it leaves them as they were."""
    ours, _ = both_graphs()
    ours[3].backward(retain_graph=True)
    before = [t.grad.numpy().copy() for t in ours[:2]]

    def fails(g):
        raise KeyError("a hook that fails")
    ours[1].register_hook(fails)
    with pytest.raises(KeyError):
        tr.autograd.grad(ours[3], [ours[0]], retain_graph=True)
    for t, b in zip(ours[:2], before):
        np.testing.assert_array_equal(t.grad, b)


@pytest.mark.parametrize("which", ["x", "y", "w y"])
def test_backward_inputs_accumulates_only_there(which):
    torch = pytest.importorskip("torch")
    for rounds in (1, 2):
        ours, theirs = both_graphs()
        names = {"x": 0, "w": 1, "y": 2}
        pick = [names[n] for n in which.split()]
        for _ in range(rounds):
            ours[3].backward(inputs=[ours[i] for i in pick], retain_graph=True)
            theirs[3].backward(inputs=[theirs[i] for i in pick], retain_graph=True)
        for k in range(3):
            same(ours[k].grad, theirs[k].grad)
    ours, theirs = both_graphs()
    tr.autograd.backward([ours[3], ours[2]], [None, tr.ones(4)], inputs=[ours[1]])
    torch.autograd.backward([theirs[3], theirs[2]], [None, torch.ones(4, dtype=torch.float64)], inputs=[theirs[1]])
    for k in range(3):
        same(ours[k].grad, theirs[k].grad)


def test_dl_dh_of_every_step_against_torch():
    """What a learner asks of BPTT: the loss's gradient with respect to each step's state, one call."""
    torch = pytest.importorskip("torch")
    T, B, I, H = 6, 2, 3, 4
    tr.manual_seed(0)
    cell = tr.nn.RNNCell(I, H, dtype=np.float64)
    theirs = torch.nn.RNNCell(I, H, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in cell.state_dict().items()})
    xv = RNG.standard_normal((T, B, I))
    hs, ths = [tr.zeros(B, H, dtype=np.float64)], [torch.zeros(B, H, dtype=torch.float64)]
    for t in range(T):
        hs.append(cell(tr.tensor(xv[t]), hs[-1]))
        ths.append(theirs(torch.tensor(xv[t]), ths[-1]))
    got = tr.autograd.grad((hs[-1] ** 2).sum(), hs[1:])
    want = torch.autograd.grad((ths[-1] ** 2).sum(), ths[1:])
    same(got, want)
    assert all(p.grad is None for p in cell.parameters())


@pytest.mark.parametrize("fused", [True, False])
def test_grad_through_a_fused_layer_equals_backward(fused):
    tr.manual_seed(0)
    layer = tr.nn.LSTM(3, 5, num_layers=2, dtype=np.float64, fused=fused)
    x = tr.tensor(RNG.standard_normal((7, 2, 3)), requires_grad=True)
    params = list(layer.parameters())
    out, _ = layer(x)
    got = tr.autograd.grad((out ** 2).sum(), [x] + params)
    assert x.grad is None and all(p.grad is None for p in params)
    out, _ = layer(x)
    (out ** 2).sum().backward()
    for g, t in zip(got, [x] + params):
        np.testing.assert_array_equal(g.data, t.grad)


def test_torch_autograd_spellings():
    assert tr.autograd.gradcheck is tr.gradcheck
    assert tr.autograd.no_grad is tr.no_grad and tr.autograd.detect_anomaly is tr.detect_anomaly
    assert tr.autograd.set_detect_anomaly is tr.set_detect_anomaly
