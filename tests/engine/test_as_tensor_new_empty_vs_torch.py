"""`tr.as_tensor` and `x.new_empty` as torch's (both were missing): as_tensor shares a numpy array's memory
where it can and returns a Tensor of the asked dtype itself; new_empty takes self's dtype."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_as_tensor_shares_a_numpy_arrays_memory_as_torch(dtype):
    got = []
    for lib in (tr, torch):
        a = np.arange(6).reshape(2, 3).astype(dtype)
        t = lib.as_tensor(a)
        a[0, 0] = 5   # the tensor sees the write: the same memory
        got.append((t.numpy().copy(), str(t.dtype).replace("torch.", "")))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    assert got[0][1] == got[1][1]


def test_as_tensor_of_a_tensor_is_itself_or_converted_as_torch():
    for lib in (tr, torch):
        x = lib.ones(3, dtype=lib.float32)
        assert lib.as_tensor(x) is x and lib.as_tensor(x, dtype=lib.float32) is x
        y = lib.as_tensor(x, dtype=lib.float64)
        assert y is not x and y.dtype == lib.float64


@pytest.mark.parametrize("data", [[1, 2, 3], [1.5, 2.0], 3.0, [[True, False]]])
def test_as_tensor_of_python_data_copies_as_torch(data):
    ours, theirs = tr.as_tensor(data), torch.as_tensor(data)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


def test_as_tensor_with_another_dtype_copies_as_torch():
    got = []
    for lib in (tr, torch):
        a = np.arange(3, dtype=np.float64)
        t = lib.as_tensor(a, dtype=lib.float32)
        a[0] = 9.0
        got.append(t.numpy().copy())
    np.testing.assert_array_equal(got[0], got[1])


@pytest.mark.parametrize("size", [(2, 3), ((4,),), (0,)])
def test_new_empty_takes_self_dtype_and_the_size_as_torch(size):
    for dtype in ("float32", "float64"):
        ours = tr.ones(1, dtype=getattr(tr, dtype)).new_empty(*size)
        theirs = torch.ones(1, dtype=getattr(torch, dtype)).new_empty(*size)
        assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype) == dtype
    assert tr.ones(1).new_empty(2, dtype=tr.float64).dtype == np.float64
