"""Tensor.register_post_accumulate_grad_hook as torch's: the hook sees the leaf with its .grad accumulated, once per
backward call, after any register_hook hooks; removable; refused on non-leaves and tensors without grad; not run
by tr.autograd.grad (which accumulates nothing), run for backward(inputs=) on the leaves it accumulates; a hook
returns None (or the leaf: torch lets that pass)."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def _record(L, backward):
    w = L.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    b = L.tensor(np.array([0.5]), requires_grad=True)
    seen = []
    w.register_hook(lambda g: g * 2)
    w.register_post_accumulate_grad_hook(lambda p: seen.append(("w", p.grad.numpy().copy())))
    handle = b.register_post_accumulate_grad_hook(lambda p: seen.append(("b", p.grad.numpy().copy())))
    for _ in range(2):
        backward(L, ((w * w).sum() + (w * b).sum()) * 1.0, w, b)
    handle.remove()
    backward(L, (w * b).sum(), w, b)
    return seen


BACKWARDS = {
    "backward": lambda L, loss, w, b: loss.backward(),
    "backward(inputs=w)": lambda L, loss, w, b: loss.backward(inputs=[w]),
    "autograd.grad": lambda L, loss, w, b: L.autograd.grad(loss, [w, b]),
}


@pytest.mark.parametrize("name", sorted(BACKWARDS))
def test_hook_sees_the_accumulated_grad_as_torch(name):
    # (the order between two leaves' hooks follows each library's walk: compared as sorted records)
    ours, theirs = (sorted(_record(L, BACKWARDS[name]), key=lambda r: (r[0], r[1].tolist()))
                    for L in (tr, torch))
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for (_, o), (_, t) in zip(ours, theirs):
        np.testing.assert_allclose(o, t)


def test_an_optimizer_step_in_the_hook_as_torch():
    results = []
    for L in (tr, torch):
        p = L.tensor(np.array([1.0, 2.0]), requires_grad=True)
        opt = L.optim.SGD([p], lr=0.1)

        def step(param, opt=opt):
            opt.step()
            opt.zero_grad()
        p.register_post_accumulate_grad_hook(step)
        for _ in range(3):
            (p * p).sum().backward()
        results.append(p.detach().numpy().copy())
    np.testing.assert_allclose(*results)


def test_on_a_leaf_backward_itself_as_torch():
    for L in (tr, torch):
        x = L.tensor(np.array([2.0]), requires_grad=True)
        seen = []
        x.register_post_accumulate_grad_hook(lambda p, seen=seen: seen.append(p.grad.item()))
        x.backward(L.tensor(np.array([3.0])))
        assert seen == [3.0]


@pytest.mark.parametrize("case", ["non-leaf", "no grad"])
def test_refusals_as_torch(case):
    def call(L):
        x = L.tensor(np.array([1.0]), requires_grad=case == "non-leaf")
        (x * 2 if case == "non-leaf" else x).register_post_accumulate_grad_hook(lambda p: None)
    raises_as_torch(lambda: call(torch), lambda: call(tr))


def test_a_hook_returning_the_leaf_passes_as_torch():
    for L in (tr, torch):
        x = L.tensor(np.array([1.0]), requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda p: p)
        (x * 2).sum().backward()
        assert x.grad.item() == 2.0


def test_a_hook_returning_a_new_tensor_is_refused_as_torch():
    def call(L):
        x = L.tensor(np.array([1.0]), requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda p: p * 10)
        (x * 2).sum().backward()
    raises_as_torch(lambda: call(torch), lambda: call(tr), "should return None")
