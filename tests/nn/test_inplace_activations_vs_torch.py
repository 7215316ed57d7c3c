"""inplace=True of F.relu / leaky_relu / elu / silu / dropout and their modules, as torch 2.13's: the input is
written (the result is the input itself), gradients through a computed input are torch's, a leaf that requires
grad is refused in torch's words, under no_grad() a parameter's memory is written (its views see it), reprs."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

W = np.array([[1.0, -2.0, 0.3], [0.5, 3.0, -1.2]])
X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, -3.0]])
FUNCTIONS = {
    "relu": lambda F, y: F.relu(y, inplace=True),
    "leaky_relu": lambda F, y: F.leaky_relu(y, 0.1, True),
    "elu": lambda F, y: F.elu(y, 0.7, True),
    "silu": lambda F, y: F.silu(y, True),
    "dropout eval": lambda F, y: F.dropout(y, 0.5, False, True),
    "ReLU module": lambda F, y: _module(F, "ReLU", inplace=True)(y),
    "LeakyReLU module": lambda F, y: _module(F, "LeakyReLU", 0.2, inplace=True)(y),
    "ELU module": lambda F, y: _module(F, "ELU", inplace=True)(y),
    "SiLU module": lambda F, y: _module(F, "SiLU", inplace=True)(y),
}


def _module(F, name, *args, **kwargs):
    nn = torch.nn if F is torch.nn.functional else tr.nn
    return getattr(nn, name)(*args, **kwargs)


def _run(lib, name):
    F = lib.nn.functional
    w = (torch.tensor(W, requires_grad=True) if lib is torch else tr.tensor(W, requires_grad=True))
    y = (torch.tensor(X) if lib is torch else tr.tensor(X)) @ w
    z = FUNCTIONS[name](F, y)
    assert z is y
    (z * z * 1.5).sum().backward()
    return np.asarray(z.detach().numpy() if lib is torch else z._data), np.asarray(w.grad)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_computed_input_is_written_with_torch_s_values_and_gradients(name):
    for ours, theirs in zip(_run(tr, name), _run(torch, name)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_dropout_in_place_in_training_writes_the_input_and_its_gradient_follows_the_mask():
    w = tr.tensor(W, requires_grad=True)
    y = tr.tensor(X) @ w
    before = y._data.copy()
    tr.manual_seed(0)
    z = tr.nn.functional.dropout(y, 0.5, True, True)
    kept = z._data != 0
    assert z is y and np.allclose(z._data[kept], before[kept] * 2)
    z.sum().backward()
    np.testing.assert_allclose(np.asarray(w.grad), X.T @ (kept * 2.0))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "silu"])
def test_a_leaf_that_requires_grad_is_refused_as_torch(name):
    fn = FUNCTIONS[name]
    raises_as_torch(lambda: fn(torch.nn.functional, torch.ones(2, requires_grad=True)),
                    lambda: fn(tr.nn.functional, tr.ones(2, requires_grad=True)), "leaf")


def test_under_no_grad_a_parameter_is_written_and_its_views_see_it():
    p = tr.nn.Parameter(np.array([-1.0, 2.0, -3.0]))
    view = p[1:]
    with tr.no_grad():
        tr.nn.functional.relu(p, inplace=True)
    np.testing.assert_array_equal(p._data, [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(view._data, [2.0, 0.0])


def test_reprs_are_torch_s():
    for make in (lambda nn: nn.ReLU(inplace=True), lambda nn: nn.LeakyReLU(0.2, True), lambda nn: nn.ELU(inplace=True),
                 lambda nn: nn.SiLU(True), lambda nn: nn.Dropout(0.3, inplace=True), lambda nn: nn.Dropout(0.3)):
        assert repr(make(tr.nn)) == repr(make(torch.nn))
