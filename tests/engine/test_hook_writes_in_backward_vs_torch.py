"""A hook that writes a tensor in place while backward runs, as torch 2.13 takes it: a write of a computed tensor
that a node still to run saved is refused (torch's RuntimeError: "modified by an inplace operation"; ours is
InplaceModificationError, a RuntimeError), whether a tensor hook or a module's full backward hook wrote it; a
write of memory no remaining node reads goes through, with torch's gradients. main checked only the leaves
during the walk, and computed the gradient with the written values silently.

(A hook writing its own gradient argument in place, and a write of a leaf, were torch's already:
tests/engine/test_hooks.py, test_in_place_graph_vs_torch.py.)"""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def scale_under_no_grad(m, t, by):
    with m.no_grad():
        t.mul_(by)


def tensor_hook_writes(m, saved_by_later_node, retain_graph=False):
    """a = x * 1; y = a * a (saves a) + a * 3 (saves 3 only); a hook on y writes a (or, not saved_by_later_node,
    a tensor c of its own graph that every remaining node has done with)."""
    x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
    a = x * 1
    c = x * 1
    y = (a * a if saved_by_later_node else a * 3) + c.exp().detach()
    y.register_hook(lambda g: scale_under_no_grad(m, a if saved_by_later_node else c, 10.0))
    y.sum().backward(retain_graph=retain_graph)
    return x.grad


def module_hook_writes(m):
    """A module's full backward hook writes a, which the product before the module saved."""
    x = m.tensor([[1.0, 2.0]], dtype=m.float64, requires_grad=True)
    a = x * 1
    lin = m.nn.Linear(2, 2, dtype=m.float64)
    with m.no_grad():
        lin.weight.copy_(m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64))
        lin.bias.zero_()
    lin.register_full_backward_hook(lambda mod, gi, go: scale_under_no_grad(m, a, 10.0))
    lin(a * a).sum().backward()
    return x.grad


@pytest.mark.parametrize("m", [torch, tr], ids=["torch", "tr"])
def test_a_tensor_hook_writing_a_saved_computed_tensor_is_refused(m):
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tensor_hook_writes(m, saved_by_later_node=True)


@pytest.mark.parametrize("m", [torch, tr], ids=["torch", "tr"])
def test_a_module_backward_hook_writing_a_saved_computed_tensor_is_refused(m):
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        module_hook_writes(m)


def test_a_write_no_remaining_node_reads_goes_through_with_torchs_gradient():
    """The check refuses what torch refuses only: c's memory is read by no node left (its exp was detached);
    the product a * 3 saved no tensor of a. And in a second walk over a retained graph, torch's rule again."""
    for retain in (False, True):
        ours, theirs = (tensor_hook_writes(m, False, retain) for m in (tr, torch))
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-15)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tensor_hook_writes(tr, saved_by_later_node=True, retain_graph=True)
