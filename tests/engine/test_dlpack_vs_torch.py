"""The DLPack protocol (`__dlpack__`, `__dlpack_device__`): `torch.tensor(x)` of one of our tensors failed with
"len() of a 0-d tensor" (torch read it as a nested sequence, element by element); torch takes a foreign tensor
through DLPack, not through __array__ or __array_interface__. Now torch.tensor / as_tensor / from_dlpack and
np.from_dlpack read our tensors' values, dtype and shape; from_dlpack shares the memory, as it does between torch
and numpy; a tensor that requires grad is refused as torch's own __dlpack__ refuses one."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

VALUES = {
    "float32 vector": lambda: tr.tensor([1.5, -2.0, 3.25]),
    "float64 matrix": lambda: tr.tensor(np.arange(6.0).reshape(2, 3)),
    "0-d": lambda: tr.tensor(3.0),
    "int64": lambda: tr.tensor([1, 2, 3]),
    "bool": lambda: tr.tensor([True, False]),
    "transposed view": lambda: tr.tensor(np.arange(6.0).reshape(2, 3)).T,
    "strided slice": lambda: tr.arange(10.0)[::3],
    "expanded": lambda: tr.tensor([1.0, 2.0]).expand(3, 2),
    "empty": lambda: tr.zeros(0, 4),
}


@pytest.mark.parametrize("make", sorted(VALUES))
@pytest.mark.parametrize("reader", ["torch.tensor", "torch.as_tensor", "torch.from_dlpack"])
def test_torch_reads_our_tensor_as_it_reads_the_same_numpy_array(make, reader):
    x = VALUES[make]()
    read = {"torch.tensor": torch.tensor, "torch.as_tensor": torch.as_tensor,
            "torch.from_dlpack": torch.from_dlpack}[reader]
    got, expected = read(x), torch.tensor(x.numpy())
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("make", sorted(VALUES))
def test_numpy_from_dlpack_reads_our_tensor(make):
    x = VALUES[make]()
    got = np.from_dlpack(x)
    assert got.dtype == x.numpy().dtype and got.shape == tuple(x.shape)
    np.testing.assert_array_equal(got, x.numpy())


def test_from_dlpack_shares_the_memory_and_torch_tensor_copies_it():
    x = tr.zeros(3)
    shared, copied = torch.from_dlpack(x), torch.tensor(x)
    shared.add_(1.0)
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(copied.numpy(), [0.0, 0.0, 0.0])


def test_a_tensor_that_requires_grad_is_refused_as_torchs_own_dlpack_refuses_it():
    theirs = torch.ones(2, requires_grad=True)
    with pytest.raises(BufferError) as expected:
        theirs.__dlpack__()
    with pytest.raises(type(expected.value), match="use tensor.detach"):
        torch.from_dlpack(tr.ones(2, requires_grad=True))
    np.testing.assert_array_equal(torch.tensor(tr.ones(2, requires_grad=True).detach()).numpy(), [1.0, 1.0])


def test_the_device_is_the_cpu_as_torchs():
    assert tuple(tr.ones(2).__dlpack_device__()) == tuple(torch.ones(2).__dlpack_device__())
