"""What a copy of a tensor keeps of its .grad, as torch 2.13: copy.deepcopy of a Tensor copies it (Tensor.__deepcopy__),
of a Parameter leaves it behind (Parameter.__deepcopy__ copies the data and requires_grad only), and so does a
Module's deepcopy for its parameters; pickle and copy.copy carry no gradient (copy.copy shares the data, as
torch's). main kept the gradient everywhere."""
import copy
import pickle

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

COPIES = {"deepcopy": copy.deepcopy, "pickle": lambda t: pickle.loads(pickle.dumps(t)), "copy": copy.copy}


def with_grad(m, kind, requires_grad=True):
    values = m.tensor(np.array([1.0, -2.0, 3.0]))
    t = m.nn.Parameter(values, requires_grad=requires_grad) if kind == "Parameter" else values.requires_grad_()
    if requires_grad:
        (t * t).sum().backward()
    return t


def array(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.data


def seen(t, original):
    """What the copy has: its type, requires_grad, its gradient (None or values), whether its data is original's."""
    grad = None if t.grad is None else array(t.grad).tolist()
    return type(t).__name__, t.requires_grad, grad, np.shares_memory(array(t), array(original))


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("kind", ["Parameter", "Tensor"])
def test_a_copys_grad_is_torchs(kind, how):
    ours, theirs = (with_grad(m, kind) for m in (tr, torch))
    assert seen(COPIES[how](ours), ours) == seen(COPIES[how](theirs), theirs)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_modules_copy_leaves_its_parameters_grads_behind_as_torch(how):
    results = []
    for m in (tr, torch):
        lin = m.nn.Linear(2, 3)
        lin(m.ones(4, 2)).sum().backward()
        copied = COPIES[how](lin)
        results.append([(name, p.grad is None, type(p).__name__) for name, p in copied.named_parameters()])
        assert lin.weight.grad is not None   # the original keeps its own
    assert results[0] == results[1]


def test_a_frozen_parameters_deepcopy_stays_frozen():
    ours, theirs = (copy.deepcopy(with_grad(m, "Parameter", requires_grad=False)) for m in (tr, torch))
    assert (ours.requires_grad, ours.grad) == (theirs.requires_grad, theirs.grad) == (False, None)
