"""Tensor.as_strided / tr.as_strided against torch 2.13: values, views that repeat elements (stride 0, overlapping
rows), gradients that add up where an element is read twice, storage_offset, and torch's errors. It was missing."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


@st.composite
def _layout(draw):
    shape = draw(st.sampled_from([(6,), (2, 3), (3, 2, 2), ()]))
    numel = int(np.prod(shape))
    ndim = draw(st.integers(0, 3))
    size = [draw(st.integers(0, 3)) for _ in range(ndim)]
    stride = [draw(st.integers(0, 3)) for _ in range(ndim)]
    offset = draw(st.one_of(st.none(), st.integers(0, numel)))
    return shape, size, stride, offset


def _call(lib, x, size, stride, offset):
    return x.as_strided(size, stride) if offset is None else lib.as_strided(x, size, stride, offset)


@given(_layout(), st.sampled_from([np.float32, np.float64]))
def test_values_gradients_and_errors_match_torch(layout, dtype):
    shape, size, stride, offset = layout
    data = np.arange(1, int(np.prod(shape)) + 1, dtype=dtype).reshape(shape)
    theirs_x = torch.tensor(data, requires_grad=True)
    try:
        theirs = _call(torch, theirs_x, size, stride, offset)
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as ours_error:
            _call(tr, tr.Tensor(data, requires_grad=True), size, stride, offset)
        assert str(ours_error.value).split(" (here")[0] == str(e)
        return
    ours_x = tr.Tensor(data, requires_grad=True)
    ours = _call(tr, ours_x, size, stride, offset)
    assert ours.shape == tuple(theirs.shape) and ours.data.dtype == theirs.detach().numpy().dtype
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    weights = np.arange(1, ours.data.size + 1, dtype=dtype).reshape(ours.shape)
    (ours * tr.Tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(ours_x.grad, theirs_x.grad.numpy())


def test_the_default_offset_is_a_views_start_as_torch():
    data = np.arange(8.0)
    ours, theirs = tr.Tensor(data)[2:], torch.tensor(data)[2:]
    np.testing.assert_array_equal(ours.as_strided((2, 2), (1, 2)).data, theirs.as_strided((2, 2), (1, 2)).numpy())
    np.testing.assert_array_equal(tr.as_strided(tr.Tensor(data), (3,), (2,), 1).data,
                                  torch.as_strided(torch.tensor(data), (3,), (2,), 1).numpy())


def test_what_cannot_be_read_as_torch_reads_it_is_refused():
    """torch reads a view's whole storage: an explicit offset on a view that starts inside another tensor's memory,
    or a non-contiguous tensor, would need it, so they are refused (torch's answers differ from a copy's)."""
    data = np.arange(8.0)
    with pytest.raises(RuntimeError, match="storage_offset counts from the start of torch's storage"):
        tr.Tensor(data)[2:].as_strided((2,), (1,), 0)
    assert torch.tensor(data)[2:].as_strided((2,), (1,), 0).tolist() == [0.0, 1.0]   # (the base's first elements)
    with pytest.raises(RuntimeError, match="not contiguous.*contiguous\\(\\) first"):
        tr.Tensor(data.reshape(2, 4)).T.as_strided((2,), (1,))
    np.testing.assert_array_equal(tr.Tensor(data.reshape(2, 4)).T.contiguous().as_strided((2,), (1,)).data,
                                  torch.tensor(data.reshape(2, 4)).T.contiguous().as_strided((2,), (1,)).numpy())


def test_argument_types_and_in_place_writes_are_refused():
    x = tr.Tensor(np.arange(6.0))
    with pytest.raises(TypeError):
        torch.arange(6.0).as_strided((2.0,), (1,))
    with pytest.raises(TypeError, match="as_strided\\(\\): argument 'size' must be tuple of ints, but found element"):
        x.as_strided((2.0,), (1,))
    with pytest.raises(TypeError, match="argument 'storage_offset' must be an int"):
        x.as_strided((2,), (1,), 1.5)
    view = x.as_strided((2, 2), (1, 1))
    with pytest.raises(RuntimeError, match="overlap in memory .*as_strided"):
        view.add_(1)
    with pytest.raises(RuntimeError, match="as_strided's view, which is read-only here"):
        x.as_strided((2,), (2,)).add_(1)


def test_the_view_follows_writes_of_the_tensor():
    x = tr.Tensor(np.arange(6.0))
    view = x.as_strided((2,), (3,))
    x.add_(10)
    np.testing.assert_array_equal(view.data, [10.0, 13.0])
