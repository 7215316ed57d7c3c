"""torch's function forms of the Tensor's own methods (torch.add(x, y, alpha=2), torch.pow(2, x), torch.lt,
torch.masked_fill, torch.nonzero, torch.t...), searchsorted / bucketize, var_mean / std_mean and tril_indices /
triu_indices, as torch 2.13's: values, dtypes, gradients and refusals. main had none of these functions
(AttributeError)."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

A = [[1.5, -2.0, 0.5], [3.0, 0.0, -1.0]]
B = [[0.5, 2.0, -1.5], [1.0, 4.0, 2.0]]
FORMS = {
    "add": lambda L, a, b: L.add(a, b),
    "add alpha": lambda L, a, b: L.add(a, b, alpha=2),
    "add a number": lambda L, a, b: L.add(a, 3.0),
    "sub alpha": lambda L, a, b: L.sub(a, b, alpha=0.5),
    "mul": lambda L, a, b: L.mul(a, b),
    "neg": lambda L, a, b: L.neg(a),
    "pow": lambda L, a, b: L.pow(a, 2),
    "pow of tensors": lambda L, a, b: L.pow(b.abs() + 1, a),
    "pow of a number": lambda L, a, b: L.pow(2, a),
    "remainder": lambda L, a, b: L.remainder(a, 1.5),
    # (torch 2.13 has no derivative for a number % a tensor; here it has one, as 5.0 % b here: values compared)
    "remainder of a number": lambda L, a, b: L.remainder(5.0, b).detach(),
    "floor_divide": lambda L, a, b: L.floor_divide(a, 2.0).detach(),
    "eq": lambda L, a, b: L.eq(a, b),
    "ne": lambda L, a, b: L.ne(a, 0.5),
    "lt": lambda L, a, b: L.lt(a, b),
    "le": lambda L, a, b: L.le(a, b),
    "gt": lambda L, a, b: L.gt(a, 0.0),
    "ge": lambda L, a, b: L.ge(a, b),
    "logical_and": lambda L, a, b: L.logical_and(a, b),
    "logical_or": lambda L, a, b: L.logical_or(a, b),
    "logical_not": lambda L, a, b: L.logical_not(a),
    "masked_fill": lambda L, a, b: L.masked_fill(a, b > 1, -7.0),
    "masked_select": lambda L, a, b: L.masked_select(a, b > 1),
    "nonzero": lambda L, a, b: L.nonzero(a),
    "nonzero as_tuple": lambda L, a, b: L.nonzero(a, as_tuple=True)[1],
    "clone": lambda L, a, b: L.clone(a),
    "detach": lambda L, a, b: L.detach(a),
    "t": lambda L, a, b: L.t(a),
    "unflatten": lambda L, a, b: L.unflatten(a, 1, (3, 1)),
    "var_mean": lambda L, a, b: L.stack(L.var_mean(a, 1)),
    "var_mean of all": lambda L, a, b: L.stack(L.var_mean(a)),
    "var_mean keepdim": lambda L, a, b: L.cat(L.var_mean(a, dim=0, keepdim=True)),
    "var_mean correction": lambda L, a, b: L.stack(L.var_mean(a, dim=(0, 1), correction=0)),
    "std_mean": lambda L, a, b: L.stack(L.std_mean(a, 1, unbiased=False)),
    "std_mean legacy unbiased": lambda L, a, b: L.stack(L.std_mean(a, False)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(FORMS))
def test_function_form_as_torch(name, dtype):
    results = []
    for L in (torch, tr):
        a = L.tensor(np.asarray(A, dtype), requires_grad=True)
        b = L.tensor(np.asarray(B, dtype), requires_grad=True)
        out = FORMS[name](L, a, b)
        values = out.detach().numpy().copy()
        grads = None
        if out.requires_grad:
            weights = L.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)).astype(dtype))
            (out * weights).sum().backward()
            grads = [np.zeros(x.shape) if x.grad is None else x.grad.numpy() for x in (a, b)]
        results.append((values, str(out.dtype).replace("torch.", ""), grads))
    (tv, tdt, tg), (ov, odt, og) = results
    assert ov.shape == tv.shape and odt == tdt
    np.testing.assert_allclose(ov, tv, rtol=1e-6, atol=1e-7)
    assert (og is None) == (tg is None)
    if tg is not None:
        for o, t in zip(og, tg):
            np.testing.assert_allclose(o, t, rtol=1e-5, atol=1e-7)


SEARCHES = {
    "1-D sequence, 2-D values": lambda L: L.searchsorted(L.tensor([1.0, 3.0, 5.0, 7.0]),
                                                         L.tensor([[3.0, 6.0], [9.0, 0.0]])),
    "right=True": lambda L: L.searchsorted(L.tensor([1.0, 3.0, 3.0, 7.0]), L.tensor([3.0, 6.0]), right=True),
    "side='right'": lambda L: L.searchsorted(L.tensor([1.0, 3.0, 3.0, 7.0]), L.tensor([3.0, 6.0]), side="right"),
    "side='left'": lambda L: L.searchsorted(L.tensor([1.0, 3.0, 3.0, 7.0]), L.tensor([3.0, 6.0]), side="left"),
    "a number": lambda L: L.searchsorted(L.tensor([1.0, 3.0, 5.0, 7.0]), 4.0),
    "row by row": lambda L: L.searchsorted(L.tensor([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]), L.tensor([[3.0, 0.0],
                                                                                                     [3.0, 7.0]])),
    "sorter": lambda L: L.searchsorted(L.tensor([5.0, 1.0, 3.0]), L.tensor([2.0, 4.0]), sorter=L.tensor([1, 2, 0])),
    "int64": lambda L: L.searchsorted(L.tensor([1, 3, 5]), L.tensor([3, 4])),
    "empty values": lambda L: L.searchsorted(L.tensor([1.0, 3.0]), L.tensor([])),
    "bucketize": lambda L: L.bucketize(L.tensor([[0.5, 3.0], [3.0, 9.0]]), L.tensor([1.0, 3.0, 5.0])),
    "bucketize right": lambda L: L.bucketize(L.tensor([0.5, 3.0, 9.0]), L.tensor([1.0, 3.0, 5.0]), right=True),
    "bucketize a number": lambda L: L.bucketize(2.0, L.tensor([1.0, 3.0])),
    "tril_indices": lambda L: L.tril_indices(3, 4),
    "tril_indices below": lambda L: L.tril_indices(3, 4, -1),
    "tril_indices above": lambda L: L.tril_indices(4, 3, 2),
    "triu_indices": lambda L: L.triu_indices(4, 3, 1),
    "triu_indices of no rows": lambda L: L.triu_indices(0, 3),
}


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_searches_and_index_factories_as_torch(name):
    t, o = SEARCHES[name](torch), SEARCHES[name](tr)
    assert o.shape == tuple(t.shape) and o.dtype == np.int64 and t.dtype == torch.int64
    np.testing.assert_array_equal(o.numpy(), t.numpy())
    assert not o.requires_grad


REFUSALS = {
    "searchsorted rows that do not match": lambda L: L.searchsorted(L.tensor([[1.0, 3.0], [2.0, 4.0]]),
                                                                    L.tensor([3.0, 1.0, 2.0])),
    "searchsorted side 'x'": lambda L: L.searchsorted(L.tensor([1.0, 3.0]), L.tensor([3.0]), side="x"),
    "searchsorted side left with right": lambda L: L.searchsorted(L.tensor([1.0, 3.0]), L.tensor([3.0]),
                                                                  side="left", right=True),
    "searchsorted a number into rows": lambda L: L.searchsorted(L.tensor([[1.0, 3.0]]), 2.0),
    "bucketize 2-D boundaries": lambda L: L.bucketize(L.tensor([0.5]), L.tensor([[1.0, 3.0]])),
    "tril_indices of -1 rows": lambda L: L.tril_indices(-1, 3),
    "triu_indices of -1 columns": lambda L: L.triu_indices(3, -1),
    "logical_xor of shapes that do not broadcast": lambda L: L.logical_xor(L.ones(3), L.ones(4)),
    "logical_and_ of shapes that do not broadcast": lambda L: L.ones(3).logical_and_(L.ones(2, 4)),
    "add of a list": lambda L: L.add([1.0], L.tensor([1.0])),
    "masked_fill of a list": lambda L: L.masked_fill([1.0], L.tensor([True]), 0.0),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSALS[name](torch), lambda: REFUSALS[name](tr))


def test_out_int32_is_refused_here():
    """torch's out_int32=True gives int32, which tensors here do not hold: a TypeError saying so."""
    with pytest.raises(TypeError, match="int32"):
        tr.searchsorted(tr.tensor([1.0, 3.0]), tr.tensor([2.0]), out_int32=True)
