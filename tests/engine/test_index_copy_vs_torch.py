"""index_copy / index_copy_ as torch 2.13's: input with the slice at index[i] along dim replaced by source[i] (a
repeated index: the last one's, as torch's CPU loop writes them), gradients to input (zero where replaced) and to
source (the result's at each slice's place, repeats too), torch's errors; and index_add of a 0-d tensor, which main
failed with numpy's IndexError. main had no index_copy (AttributeError)."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def _pair(a, requires_grad=True):
    a = np.asarray(a)
    return torch.tensor(a, requires_grad=requires_grad), tr.tensor(a, requires_grad=requires_grad)


def _check(tout, oout, leaves):
    assert oout.numpy().dtype == tout.detach().numpy().dtype
    np.testing.assert_array_equal(oout.detach().numpy(), tout.detach().numpy())
    w = np.random.default_rng(2).standard_normal(tout.shape)
    (tout * torch.tensor(w, dtype=tout.dtype)).sum().backward()
    (oout * tr.tensor(w.astype(oout.numpy().dtype))).sum().backward()
    for t, o in leaves:
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim, index", [(0, [2, 0]), (1, [3, 1, 0]), (-1, [1, 1, 0]), (0, []), (2, [0, 1])])
def test_index_copy_values_and_gradients(dim, index, dtype):
    rng = np.random.default_rng(0)
    shape = (3, 4, 2)
    src_shape = list(shape)
    src_shape[dim] = len(index)
    (tx, ox), (ts, os_) = _pair(rng.standard_normal(shape).astype(dtype)), \
        _pair(rng.standard_normal(src_shape).astype(dtype))
    ti, oi = torch.tensor(index, dtype=torch.int64), tr.tensor(np.asarray(index, dtype=np.int64))
    _check(tx.index_copy(dim, ti, ts), ox.index_copy(dim, oi, os_), [(tx, ox), (ts, os_)])
    np.testing.assert_array_equal(tr.index_copy(ox, dim, oi, source=os_).numpy(),   # (torch's keyword: source=)
                                  torch.index_copy(tx, dim, ti, source=ts).detach().numpy())


def test_index_copy_of_a_0d_tensor():
    (tx, ox), (ts, os_) = _pair(2.0), _pair(5.0)
    for index in ([0], 0):
        tx.grad = ts.grad = ox.grad = os_.grad = None
        _check(tx.index_copy(0, torch.tensor(index), ts), ox.index_copy(0, tr.tensor(index), os_),
               [(tx, ox), (ts, os_)])


def test_index_copy_in_place_writes_the_tensor_and_is_recorded():
    rng = np.random.default_rng(1)
    x, s = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    t, o = torch.tensor(x), tr.tensor(x)
    view_t, view_o = t[1], o[1]
    assert o.index_copy_(0, tr.tensor([1, 3]), tr.tensor(s)) is o
    t.index_copy_(0, torch.tensor([1, 3]), torch.tensor(s))
    np.testing.assert_array_equal(o.numpy(), t.numpy())
    np.testing.assert_array_equal(view_o.numpy(), view_t.numpy())
    (tx, ox), (ts, os_) = _pair(x), _pair(s)
    ty, oy = tx * 2, ox * 2
    ty.index_copy_(0, torch.tensor([3, 0]), ts)
    oy.index_copy_(0, tr.tensor([3, 0]), os_)
    _check(ty, oy, [(tx, ox), (ts, os_)])


@pytest.mark.parametrize("case", ["negative", "too big", "float index", "2-d index", "count", "slice shape",
                                  "dtype", "source not a tensor"])
def test_index_copy_refuses_as_torch(case):
    def call(m):
        x, src = m.zeros(3, 2), m.ones(2, 2)
        index = {"negative": [-1, 0], "too big": [5, 0], "2-d index": [[0, 1]], "count": [0]}.get(case, [0, 1])
        index = m.tensor(index) if case != "float index" else m.tensor([0.0, 1.0])
        src = {"slice shape": m.ones(2, 3), "dtype": m.ones(2, 2, dtype=m.float64),
               "source not a tensor": 1.0}.get(case, src)
        return x.index_copy(0, index, src)
    raises_as_torch(lambda: call(torch), lambda: call(tr))


def test_index_add_of_a_0d_tensor():
    """main: numpy's IndexError (tuple index out of range); torch adds into the one element."""
    (tx, ox), (ts, os_) = _pair(2.0), _pair(3.0)
    _check(tx.index_add(0, torch.tensor([0]), ts, alpha=-1), ox.index_add(0, tr.tensor([0]), os_, alpha=-1),
           [(tx, ox), (ts, os_)])
    raises_as_torch(lambda: torch.zeros(3).index_add(0, torch.tensor([0]), torch.tensor(3.0)),
                    lambda: tr.zeros(3).index_add(0, tr.tensor([0]), tr.tensor(3.0)), "source tensor shape")
