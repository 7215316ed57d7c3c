"""torch.histogram / x.histogram, the legacy constructor x.new(...) and the method x.prelu(weight), as torch 2.13's
(main had none of them: AttributeError). histogram: (hist, bin_edges) values and dtypes, weights, density, given
edges, torch's ranges (the data's, widened when flat; (0, 1) when empty), results that require grad and refuse
a backward, refusals. new: shapes, data, dtypes, memory shared with a tensor argument, never requiring grad."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64, np.int64: torch.int64, np.bool_: torch.bool}


def _same(ours, theirs, rtol=1e-6):
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape and ours.numpy().dtype == theirs.dtype
    np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=rtol, atol=1e-7)


X = [1.0, 2.0, 1.0, 4.0, 2.5, 0.1, 0.7, 3.3]
CASES = {
    "bins 3": (X, 3, {}),
    "bins 1": (X, 1, {}),
    "a range": (X, 4, {"range": (0.0, 3.0)}),
    "a range past the data": (X, 5, {"range": (-1.0, 10.0)}),
    "weights": (X, 2, {"weight": list(np.linspace(0.5, 4.0, 8))}),
    "density": (X, 3, {"density": True}),
    "weights and density": (X, 3, {"weight": list(np.arange(8.0)), "density": True}),
    "given edges": (X, [0.0, 1.5, 2.0, 5.0], {}),
    "given edges, density": (X, [0.0, 1.5, 2.0, 5.0], {"density": True}),
    "flat data": ([2.0, 2.0], 2, {}),
    "empty": ([], 2, {}),
    "2-D input": ([[1.0, 0.5], [0.25, 1.0]], 3, {}),
    "NaN with a range": ([1.0, float("nan"), 2.0], 2, {"range": (0.0, 3.0)}),
    "float32 spacing": ([0.1, 0.7, 0.3, 0.5, 0.2999], 3, {}),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_histogram_as_torch(name, dtype):
    data, bins, kwargs = CASES[name]
    results = []
    for L in (torch, tr):
        x = L.tensor(np.asarray(data, dtype))
        b = L.tensor(np.asarray(bins, dtype)) if isinstance(bins, list) else bins
        kw = {k: L.tensor(np.asarray(v, dtype)) if k == "weight" else v for k, v in kwargs.items()}
        results.append(L.histogram(x, b, **kw) if name != "bins 3" else x.histogram(bins=b, **kw))
    (th, te), (oh, oe) = results
    _same(oh, th)
    _same(oe, te)
    assert results[1].hist is oh and results[1].bin_edges is oe


@pytest.mark.parametrize("which", ["input", "weight"])
def test_histogram_results_require_grad_and_refuse_a_backward_as_torch(which):
    out = []
    for L in (torch, tr):
        x = L.tensor([1.0, 2.0, 3.0], requires_grad=which == "input")
        w = L.tensor([1.0, 1.0, 2.0], requires_grad=which == "weight")
        out.append(L.histogram(x, 2, weight=w))
    (th, te), (oh, oe) = out
    assert oh.requires_grad == th.requires_grad and oe.requires_grad == te.requires_grad
    raises_as_torch(lambda: th.sum().backward(), lambda: oh.sum().backward(), "derivative for aten::histogram")
    x = tr.tensor([1.0, 2.0])
    assert not x.histogram(2).hist.requires_grad


HISTOGRAM_REFUSALS = {
    "int64 input": lambda L: L.histogram(L.tensor([1, 2]), 2),
    "NaN data": lambda L: L.histogram(L.tensor([1.0, float("nan")]), 2),
    "inf data": lambda L: L.histogram(L.tensor([1.0, float("inf")]), 2),
    "min above max": lambda L: L.histogram(L.tensor([1.0]), 2, range=(3.0, 1.0)),
    "bins 0": lambda L: L.histogram(L.tensor([1.0]), 0),
    "edges of another dtype": lambda L: L.histogram(L.tensor([1.0]), L.tensor([0.0, 2.0], dtype=L.float64)),
    "weight of another dtype": lambda L: L.histogram(L.tensor([1.0]), 2, weight=L.ones(1, dtype=L.float64)),
    "weight of another shape": lambda L: L.histogram(L.tensor([1.0, 2.0]), 2, weight=L.ones(3)),
    "not a tensor": lambda L: L.histogram([1.0, 2.0], 2),
}


@pytest.mark.parametrize("name", sorted(HISTOGRAM_REFUSALS))
def test_histogram_refuses_as_torch(name):
    raises_as_torch(lambda: HISTOGRAM_REFUSALS[name](torch), lambda: HISTOGRAM_REFUSALS[name](tr))


NEW = {
    "()": ((), np.float64),
    "(2, 3)": ((2, 3), np.float64),
    "(0,)": ((0,), np.float32),
    "(4,) of int64": ((4,), np.int64),
    "a list": (([1, 2],), np.float64),
    "a nested list": (([[1.5], [2.5]],), np.float32),
    "an empty list": (([],), np.float64),
    "a list of bools": (([True, False],), np.float64),
    "floats into int64": (([1.7, -1.7],), np.int64),
    "ints into a mask": (([2, 0],), np.bool_),
    "a numpy array": ((np.array([1.0, 2.0]),), np.float64),
    "a numpy int (a size)": ((np.int64(3),), np.float32),
}


@pytest.mark.parametrize("name", sorted(NEW))
def test_new_as_torch(name):
    args, dtype = NEW[name]
    t = torch.ones(2, dtype=TORCH_DTYPES[dtype])
    o = tr.ones(2, dtype=dtype)
    if dtype != np.bool_ and dtype != np.int64:
        t.requires_grad_()
        o.requires_grad_()
    tn, on = t.new(*args), o.new(*args)
    assert on.shape == tuple(tn.shape) and on.numpy().dtype == tn.numpy().dtype
    assert on.requires_grad == tn.requires_grad is False
    if any(isinstance(a, (list, np.ndarray)) for a in args):   # (sizes alone: torch's values are uninitialised)
        np.testing.assert_array_equal(on.numpy(), tn.numpy())


def test_new_of_a_tensor_shares_its_memory_as_torch():
    t, o = torch.tensor([1.0, 2.0]), tr.tensor([1.0, 2.0])
    tn, on = torch.ones(1).new(t), tr.ones(1).new(o)
    tn[0] = 5.0
    on[0] = 5.0
    np.testing.assert_array_equal(o.numpy(), t.numpy())


NEW_REFUSALS = {
    "a float": lambda L: L.ones(2).new(2.5),
    "a bool": lambda L: L.ones(2).new(True),
    "a negative size": lambda L: L.ones(2).new(-1),
    "dtype=": lambda L: L.ones(2).new(2, dtype=L.float64),
    "requires_grad=": lambda L: L.ones(2).new(2, requires_grad=True),
    "a tensor of another dtype": lambda L: L.ones(2, dtype=L.float64).new(L.ones(2)),
}


@pytest.mark.parametrize("name", sorted(NEW_REFUSALS))
def test_new_refuses_as_torch(name):
    raises_as_torch(lambda: NEW_REFUSALS[name](torch), lambda: NEW_REFUSALS[name](tr))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_shape", [(1,), (3,)])
def test_prelu_method_as_torch(weight_shape, dtype):
    rng = np.random.default_rng(2)
    a, w = rng.standard_normal((4, 3, 2)).astype(dtype), rng.uniform(0.1, 0.5, weight_shape).astype(dtype)
    t, tw = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
    o, ow = tr.tensor(a, requires_grad=True), tr.tensor(w, requires_grad=True)
    tout, oout = t.prelu(tw), o.prelu(ow)
    _same(oout, tout)
    tout.pow(2).sum().backward()
    oout.pow(2).sum().backward()
    _same(o.grad, t.grad, rtol=1e-5)
    _same(ow.grad, tw.grad, rtol=1e-5)
    raises_as_torch(lambda: t.prelu(torch.ones(2, dtype=t.dtype)), lambda: o.prelu(tr.ones(2, dtype=dtype)))
