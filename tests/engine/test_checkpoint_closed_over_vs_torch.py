"""tr.checkpoint with a closed-over computed tensor that requires grad (W = W0 * 2 read inside fn, a
parametrized weight computed once per call): its gradient reaches the graph it came from, as under torch's
non-reentrant checkpoint, where tr.checkpoint used to refuse it. And the recurrent layers' checkpoint= on the
generic tape with parametrized weights (computed once per call, outside the pieces), refused before too."""
import numpy as np
import pytest
from conftest import outcome

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(28)
A, B, X = RNG.standard_normal((3, 3)), RNG.standard_normal(3), RNG.standard_normal((2, 3))


def _ck(lib):
    return (lambda fn, *a: torch.utils.checkpoint.checkpoint(fn, *a, use_reentrant=False)) if lib is torch \
        else tr.checkpoint


def _np(t):
    return None if t is None else (t.detach().numpy() if isinstance(t, torch.Tensor) else t.numpy())


FNS = {
    "matmul": lambda lib, W, b: (lambda x: lib.tanh(x @ W)),
    "two computed": lambda lib, W, b: (lambda x: lib.tanh(x @ W + b) * b.sum()),
    "read twice": lambda lib, W, b: (lambda x: (x @ W) * (x @ W.T)),
    "output is fn of W only": lambda lib, W, b: (lambda x: (W * W).sum(0) + x.sum(0)),
}


def _run(lib, name, checkpointed, x_requires_grad=True):
    W0, b0 = lib.tensor(A, requires_grad=True), lib.tensor(B, requires_grad=True)
    x = lib.tensor(X, requires_grad=x_requires_grad)
    W, b = W0 * 2, b0.exp()
    W.retain_grad()
    fn = FNS[name](lib, W, b)
    out = _ck(lib)(fn, x) if checkpointed else fn(x)
    (out.pow(2).sum() + (W * W).sum()).backward()   # W is used outside fn too: the gradients add
    return _np(out), [_np(t.grad) for t in (W0, b0, x, W)]


@pytest.mark.parametrize("x_requires_grad", [True, False])
@pytest.mark.parametrize("name", sorted(FNS))
def test_closed_over_computed_tensors_get_torchs_gradients(name, x_requires_grad):
    theirs = _run(torch, name, True, x_requires_grad)
    for checkpointed in (True, False):
        ours = _run(tr, name, checkpointed, x_requires_grad)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-12)
        for o, t in zip(ours[1], theirs[1]):
            assert (o is None) == (t is None)
            if t is not None:
                np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-12)


def test_a_tensor_both_passed_and_closed_over_and_nested_checkpoints():
    def run(lib):
        W0 = lib.tensor(A, requires_grad=True)
        W = W0.sin()
        inner = lambda h: lib.tanh(h @ W)                                 # noqa: E731
        outer = lambda h, V: _ck(lib)(inner, h @ V) * W.sum()            # noqa: E731
        out = _ck(lib)(outer, lib.tensor(X, requires_grad=True), W)
        out.sum().backward()
        return _np(W0.grad)
    np.testing.assert_allclose(run(tr), run(torch), rtol=1e-12, atol=1e-12)


def test_a_hook_on_the_closed_over_tensor_sees_its_whole_gradient_once():
    def run(lib):
        W0 = lib.tensor(A, requires_grad=True)
        W, seen = W0 * 2, []
        W.register_hook(lambda g: seen.append(_np(g).copy()))
        out = _ck(lib)(lambda x: lib.tanh(x @ W), lib.tensor(X))
        (out.sum() + W.sum()).backward()
        return seen, _np(W0.grad)
    (ours, ours_g), (theirs, theirs_g) = run(tr), run(torch)
    assert len(ours) == len(theirs) == 1
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours_g, theirs_g, rtol=1e-12)


def test_autograd_grad_and_retain_graph_through_the_checkpoint():
    def run(lib):
        W0 = lib.tensor(A, requires_grad=True)
        W = W0 * 3
        out = _ck(lib)(lambda x: (x @ W).tanh(), lib.tensor(X)).sum()
        first = lib.autograd.grad(out, (W0, W), retain_graph=True)
        out.backward()
        return [_np(g) for g in first] + [_np(W0.grad)]
    for o, t in zip(run(tr), run(torch)):
        np.testing.assert_allclose(o, t, rtol=1e-12)


def test_a_closed_over_tensor_written_in_place_before_backward_is_refused_as_without_checkpoint():
    """torch's checkpoint reruns fn on the new values (its gradient is then not the forward's); without a
    checkpoint torch refuses the write (x @ W saved W). Here both refuse, with torch's RuntimeError kind."""
    def run(lib, checkpointed):
        W0 = lib.tensor(A, requires_grad=True)
        W = W0 * 2
        fn = lambda x: lib.tanh(x @ W)   # noqa: E731
        out = _ck(lib)(fn, lib.tensor(X, requires_grad=True)) if checkpointed else fn(lib.tensor(X, requires_grad=True))
        with lib.no_grad():
            W.mul_(3)
        out.sum().backward()
    refused = outcome(lambda: run(torch, False))
    assert isinstance(refused, type) and issubclass(refused, RuntimeError)
    for checkpointed in (False, True):
        ours = outcome(lambda checkpointed=checkpointed: run(tr, checkpointed))
        assert isinstance(ours, type) and issubclass(ours, RuntimeError), ours


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("policy", [{"checkpoint": 3}, {"checkpoint": True}, {"memory_budget": 14000}])
def test_tape_layer_with_parametrized_weights_checkpointed_gives_torchs_gradients(cls, policy):
    t = getattr(torch.nn, cls)(3, 4, num_layers=2, bidirectional=True).double()
    m = getattr(tr.nn, cls)(3, 4, num_layers=2, bidirectional=True, fused=False, dtype=np.float64, **policy)
    for lib, layer in ((torch, t), (tr, m)):
        lib.nn.utils.parametrizations.weight_norm(layer, "weight_hh_l0")
        lib.nn.utils.parametrizations.orthogonal(layer, "weight_ih_l1_reverse")
    # after registering: the state_dict holds the originals and orthogonal's base (completed at random when the
    # weight is not square, by each library's own generator)
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = RNG.standard_normal((9, 2, 3))
    xt, xo = torch.tensor(x, requires_grad=True), tr.tensor(x, requires_grad=True)
    yt, yo = t(xt)[0], m(xo)[0]
    (yt ** 2).sum().backward()
    (yo ** 2).sum().backward()
    np.testing.assert_allclose(_np(yo), _np(yt), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_np(xo.grad), _np(xt.grad), rtol=1e-10, atol=1e-12)
    theirs = dict(t.named_parameters())
    ours = dict(m.named_parameters())
    assert sorted(ours) == sorted(theirs)
    for k in theirs:
        np.testing.assert_allclose(_np(ours[k].grad), _np(theirs[k].grad), rtol=1e-10, atol=1e-12, err_msg=k)
