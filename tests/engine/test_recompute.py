"""tr.checkpoint: gradients equal the uncheckpointed ones (inputs and closed-over parameters), with
several outputs, nesting, retain_graph, no_grad, anomaly mode, dropout's random numbers, and the
errors; and the recomputed inside is not kept (fewer nodes, fewer bytes)."""
import gc
import tracemalloc

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

RTOL = 1e-12


def _block(lin1, lin2):
    def fn(x, h):
        a = (lin1(x) + h).tanh()
        return lin2(a).sigmoid() * a, a.sum(axis=-1)
    return fn


def _grads(params, loss):
    for p in params:
        p.grad = None
    loss.backward()
    return [np.copy(p.grad) for p in params]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradients_equal_the_plain_call_inputs_and_parameters(rng, dtype):
    tr.manual_seed(0)
    lin1, lin2 = nn.Linear(5, 4, dtype=dtype), nn.Linear(4, 4, dtype=dtype)
    x = tr.Tensor(rng.normal(size=(3, 5)).astype(dtype), requires_grad=True)
    h = tr.Tensor(rng.normal(size=(3, 4)).astype(dtype), requires_grad=True)
    w = tr.Tensor(rng.normal(size=(3, 4)).astype(dtype))
    fn = _block(lin1, lin2)
    params = [x, h] + list(lin1.parameters()) + list(lin2.parameters())

    def loss(call):
        y, s = call(fn, x * 2.0, h)  # x * 2.0: the checkpoint's input is an intermediate of the outer graph
        return (y * w).sum() + (s * s).sum() + (lin1.weight * lin1.weight).sum()  # weight also used outside

    want = _grads(params, loss(lambda f, *a: f(*a)))
    got = _grads(params, loss(tr.checkpoint))
    tol = RTOL if dtype == np.float64 else 1e-5
    for g, e in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol * np.abs(e).max())


def test_the_inside_is_not_recorded_and_backward_recomputes_it(rng):
    lin = nn.Linear(8, 8, dtype=np.float64)
    calls = []

    def fn(x):
        calls.append(tr.is_grad_enabled())
        for _ in range(5):
            x = lin(x).tanh()
        return x

    x = tr.Tensor(rng.normal(size=(2, 8)), requires_grad=True)
    y = tr.checkpoint(fn, x)
    assert y._node.name() == "Recompute" and all(e is x or not isinstance(e, tuple) for e in y._node.parents)
    assert calls == [False]
    y.sum().backward()
    assert calls == [False, True]
    assert x.grad is not None and lin.weight.grad is not None


def test_parameters_get_gradients_when_no_argument_requires_grad(rng):
    lin = nn.Linear(3, 2, dtype=np.float64)
    x = tr.Tensor(rng.normal(size=(4, 3)))  # data: no grad
    tr.checkpoint(lambda x: lin(x).tanh(), x).sum().backward()
    got = lin.weight.grad.numpy().copy()
    lin.weight.grad = None
    lin(x).tanh().sum().backward()
    np.testing.assert_allclose(got, lin.weight.grad, rtol=RTOL)


def test_nested_checkpoints_and_retain_graph(rng):
    lin = nn.Linear(4, 4, dtype=np.float64)
    x = tr.Tensor(rng.normal(size=(2, 4)), requires_grad=True)

    def inner(a):
        return lin(a).tanh()

    def outer(a):
        return tr.checkpoint(inner, tr.checkpoint(inner, a)) * 2.0

    params = [x, lin.weight, lin.bias]
    want = _grads(params, (inner(inner(x)) * 2.0).sum())
    y = tr.checkpoint(outer, x).sum()
    for p in params:
        p.grad = None
    y.backward(retain_graph=True)
    got1 = [p.grad.numpy().copy() for p in params]
    y.backward()  # second time: the retained graph recomputes again, gradients add up
    for g1, g2, e in zip(got1, [p.grad for p in params], want):
        np.testing.assert_allclose(g1, e, rtol=RTOL)
        np.testing.assert_allclose(g2, 2 * e, rtol=RTOL)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_under_no_grad_it_is_the_plain_call(rng):
    lin = nn.Linear(3, 3)
    x = tr.Tensor(rng.normal(size=(2, 3)).astype(np.float32), requires_grad=True)
    with tr.no_grad():
        y = tr.checkpoint(lambda a: lin(a).relu(), x)
    assert not y.requires_grad
    np.testing.assert_array_equal(y._data, lin(x).relu()._data)


def test_dropout_inside_sees_the_same_mask_and_the_stream_is_unchanged(rng):
    x = tr.Tensor(rng.normal(size=(50, 20)), requires_grad=True)
    fn = lambda a: F.dropout(a.tanh(), 0.5, True, rng=tr.random.generator())  # noqa: E731

    tr.manual_seed(7)
    fn(x).sum().backward()
    want, after_plain = x.grad.numpy().copy(), tr.random.generator().random()
    x.grad = None
    tr.manual_seed(7)
    y = tr.checkpoint(fn, x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, want)  # the recomputation drew the forward's mask again
    assert tr.random.generator().random() == after_plain  # and put the caller's stream back


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_mode_sees_inside_the_recomputation(rng):
    x = tr.Tensor(np.array([4.0, -1.0]), requires_grad=True)
    with tr.detect_anomaly():
        loss = tr.checkpoint(lambda a: a.sqrt() * 1.0, x).sum()
        with pytest.raises(tr.AnomalyError, match="Function 'Pow' returned nan values"):
            loss.backward()
    ok = tr.Tensor(np.array([4.0, 1.0]), requires_grad=True)
    with tr.detect_anomaly():
        tr.checkpoint(lambda a: a.sqrt(), ok).sum().backward()
    np.testing.assert_allclose(ok.grad, [0.25, 0.5])


def test_an_optimizer_step_before_backward_is_refused(rng):
    lin = nn.Linear(3, 3, dtype=np.float64)
    opt = tr.optim.SGD(lin.parameters(), lr=0.1)
    x = tr.Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    loss = tr.checkpoint(lambda a: lin(a).tanh(), x).sum()
    lin.weight.grad = tr.from_numpy(np.ones_like(lin.weight._data))
    lin.bias.grad = tr.from_numpy(np.ones_like(lin.bias._data))
    opt.step()
    with pytest.raises(tr.InplaceModificationError):
        loss.backward()


def test_bad_uses_are_refused_with_a_clear_error(rng):
    x = tr.Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match="fn must be callable"):
        tr.checkpoint(3, x)
    with pytest.raises(TypeError, match="Tensor or a non-empty tuple of Tensors"):
        tr.checkpoint(lambda a: a._data, x)
    # (a closed-over computed tensor is no longer refused: tests/engine/test_checkpoint_closed_over_vs_torch.py)


def test_non_tensor_arguments_and_a_tensor_returned_as_is(rng):
    x = tr.Tensor(rng.normal(size=(3,)), requires_grad=True)
    y, same = tr.checkpoint(lambda a, k, b: (a * k, b), x, 3.0, x)
    (y.sum() + (same * same).sum()).backward()
    np.testing.assert_allclose(x.grad, 3.0 + 2 * x._data, rtol=RTOL)


def _peak_bytes(run):
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_of_a_long_chain_is_lower_when_segments_are_checkpointed(rng):
    lin = nn.Linear(32, 32, dtype=np.float64)
    x0 = rng.normal(size=(512, 32))

    def segment(a):
        for _ in range(6):
            a = lin(a).tanh()
        return a

    def run(call):
        x = tr.Tensor(x0, requires_grad=True)
        a = x
        for _ in range(6):
            a = call(segment, a)
        a.sum().backward()
        return x.grad

    plain = _peak_bytes(lambda: run(lambda f, a: f(a)))
    checkpointed = _peak_bytes(lambda: run(tr.checkpoint))
    # 36 recorded steps (each keeps a 128 KB activation, some two) against 6 stored inputs plus one
    # segment's 6 steps in the backward: below half, with a wide margin for allocator noise
    assert checkpointed < 0.5 * plain, (checkpointed, plain)


def test_backward_called_under_no_grad_still_recomputes_with_recording(rng):
    lin = nn.Linear(3, 3, dtype=np.float64)
    x = tr.Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    loss = tr.checkpoint(lambda a: lin(a).tanh(), x).sum()
    with tr.no_grad():
        loss.backward()
    got = [x.grad.numpy().copy(), lin.weight.grad.numpy().copy()]
    x.grad = lin.weight.grad = lin.bias.grad = None
    lin(x).tanh().sum().backward()
    for g, e in zip(got, [x.grad, lin.weight.grad]):
        np.testing.assert_allclose(g, e, rtol=RTOL)


def test_torch_keywords_keyword_arguments_to_fn_and_their_errors(rng):
    """torch.utils.checkpoint's keywords mean the same here or are refused; keyword arguments reach fn, as
    torch's use_reentrant=False passes them, with torch's gradients (checked against torch itself)."""
    torch = pytest.importorskip("torch")
    xd, wd = rng.normal(size=(2, 3)), rng.normal(size=(3, 3))

    def fn(a, w, scale=1.0):
        return (a @ w * scale).tanh()

    x, w = tr.Tensor(xd, requires_grad=True), tr.Tensor(wd, requires_grad=True)
    for use_reentrant in (None, False):
        x.grad = w.grad = None
        (tr.checkpoint(fn, x, use_reentrant=use_reentrant, preserve_rng_state=False, scale=0.5, w=w) ** 2).sum() \
            .backward()
        tx, tw = torch.tensor(xd, requires_grad=True), torch.tensor(wd, requires_grad=True)
        (torch.utils.checkpoint.checkpoint(lambda a, w, scale: torch.tanh(a @ w * scale), tx, tw, use_reentrant=False,
                                           scale=0.5) ** 2).sum().backward()
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=RTOL)
        np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=RTOL)
    with pytest.raises(ValueError, match="use_reentrant=True is not supported.*use_reentrant=False"):
        tr.checkpoint(fn, x, w, use_reentrant=True)
    with pytest.raises(TypeError, match="use_reentrant must be None, True or False, got 'no'"):
        tr.checkpoint(fn, x, w, use_reentrant="no")
    with pytest.raises(TypeError, match="preserve_rng_state must be True or False, got 0"):
        tr.checkpoint(fn, x, w, preserve_rng_state=0)
    for name in ("context_fn", "determinism_check", "debug"):
        with pytest.raises(ValueError, match=f"{name} is not supported"):
            tr.checkpoint(fn, x, w, **{name: None})


def test_a_list_returned_by_fn_stays_a_list(rng):
    """As torch.utils.checkpoint (and as the plain call under no_grad): fn's container is kept."""
    x = tr.Tensor(rng.normal(size=(3,)), requires_grad=True)
    out = tr.checkpoint(lambda a: [a * 2.0, a * a], x)
    assert type(out) is list and len(out) == 2
    (out[0].sum() + out[1].sum()).backward()
    np.testing.assert_allclose(x.grad, 2.0 + 2 * x._data, rtol=RTOL)
    with tr.no_grad():
        assert type(tr.checkpoint(lambda a: [a * 2.0, a * a], x)) is list


def test_mask_and_index_outputs_do_not_require_grad(rng):
    """fn returning argmax or a mask among its outputs: those are int64 / bool tensors, which never require
    grad (torch and the plain call); as outputs of the recorded node they said requires_grad=True."""
    w = tr.Tensor(rng.normal(size=(3, 3)), requires_grad=True)

    def fn(x):
        y = (x @ w).tanh()
        return y, y.argmax(1), y > 0

    x = tr.Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    plain, ckpt = fn(x), tr.checkpoint(fn, x)
    assert [o.requires_grad for o in ckpt] == [o.requires_grad for o in plain] == [True, False, False]
    assert [o.dtype for o in ckpt] == [o.dtype for o in plain]
    for a, b in zip(ckpt[1:], plain[1:]):
        np.testing.assert_array_equal(a._data, b._data)
    assert not fn(x)[1].requires_grad and not tr.checkpoint(lambda x: x.argmax(1), x).requires_grad
    grads = []
    for out in (plain, ckpt):
        w.grad = x.grad = None
        (out[0] * out[2]).sum().backward()
        grads.append((x.grad, w.grad))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=RTOL)


CONSTANT_OUTPUT_CASES = {   # fn(ops, x, c, lin): x requires grad, c does not, lin is a Linear(3, 3)
    "a new constant": lambda o, x, c, lin: o["ones"](3),
    "a detached input times two": lambda o, x, c, lin: x.detach() * 2.0,
    "a product, a constant and a mask": lambda o, x, c, lin: (x * 2.0, o["ones"](3), x > 0),
    "a layer of a constant input (its weights require grad)": lambda o, x, c, lin: lin(c),
    "a constant input times two": lambda o, x, c, lin: c * 2.0,
    "the input itself and a constant's sum": lambda o, x, c, lin: (x, c.sum() + 1.0),
}


@pytest.mark.parametrize("case", sorted(CONSTANT_OUTPUT_CASES))
def test_outputs_require_grad_exactly_as_under_torchs_checkpoint(case):
    """torch.utils.checkpoint (use_reentrant=False): an output requires grad only if it depends on something that
    does (an argument, or a weight fn reads); a constant float result says requires_grad=False and has no node.
    Gradients through the others as torch's."""
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint as torch_checkpoint
    fn = CONSTANT_OUTPUT_CASES[case]
    xd, cd = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    tr.manual_seed(0)
    lin = nn.Linear(3, 3, dtype=np.float64)
    lin_t = torch.nn.Linear(3, 3, dtype=torch.float64)
    with torch.no_grad():
        lin_t.weight.copy_(torch.tensor(lin.weight._data))
        lin_t.bias.copy_(torch.tensor(lin.bias._data))
    x, xt = tr.Tensor(xd, requires_grad=True), torch.tensor(xd, requires_grad=True)
    ours = tr.checkpoint(lambda x, c: fn(dict(ones=tr.ones), x, c, lin), x, tr.Tensor(cd))
    theirs = torch_checkpoint(lambda x, c: fn(dict(ones=lambda n: torch.ones(n, dtype=torch.float64)), x, c, lin_t),
                              xt, torch.tensor(cd), use_reentrant=False)
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    assert [o.requires_grad for o in ours] == [t.requires_grad for t in theirs]
    assert [o.is_leaf for o in ours] == [t.is_leaf for t in theirs]
    live = [(o, t) for o, t in zip(ours, theirs) if t.requires_grad]
    if not live:
        return
    sum(o.sum() for o, _ in live).backward()
    sum(t.sum() for _, t in live).backward()
    if xt.grad is not None:
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.weight.grad if lin.weight.grad is not None else 0,
                               lin_t.weight.grad.numpy() if lin_t.weight.grad is not None else 0, rtol=1e-12)
