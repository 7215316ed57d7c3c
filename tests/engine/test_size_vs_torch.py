"""tr.Size against torch.Size: what x.shape and x.size() are (a tuple subclass with numel(), torch's repr with
`tr.` for `torch.`, a Size back from slicing, + and *), its construction and errors, x.new's reading of a Size
(a shape) and of a tuple (values), and the distributions' batch_shape / event_shape."""
import copy
import pickle

import numpy as np
import pytest
from conftest import raises_as_torch, torch_error
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)


def _same_size(ours, theirs):
    assert type(ours) is tr.Size and type(theirs) is torch.Size
    assert tuple(ours) == tuple(theirs) and all(type(n) is int for n in ours)
    assert repr(ours) == repr(theirs).replace("torch.", "tr.")
    assert str(ours) == str(theirs).replace("torch.", "tr.") and f"{ours}" == f"{theirs}".replace("torch.", "tr.")


@given(shapes)
def test_shape_and_size_are_a_size_as_torchs(shape):
    x, t = tr.zeros(shape), torch.zeros(shape)
    _same_size(x.shape, t.shape)
    _same_size(x.size(), t.size())
    _same_size(tr.nn.Parameter(tr.zeros(shape)).shape, torch.nn.Parameter(torch.zeros(shape)).shape)
    assert x.shape.numel() == t.shape.numel() == x.numel()
    assert isinstance(x.shape, tuple) and x.shape == shape and hash(x.shape) == hash(shape)
    for d in range(len(shape)):
        assert type(x.size(d)) is int and x.size(d) == t.size(d)


@given(shapes, st.integers(-5, 5), st.integers(-5, 5), st.sampled_from([None, 1, 2, -1]))
def test_slicing_gives_a_size_and_indexing_an_int(shape, start, stop, step):
    s, ts = tr.Size(shape), torch.Size(shape)
    _same_size(s[start:stop:step], ts[start:stop:step])
    for i in range(-len(shape), len(shape)):
        assert type(s[i]) is int and s[i] == ts[i]


@given(shapes, shapes, st.integers(-1, 3))
def test_concatenation_and_repetition_give_a_size(a, b, n):
    s, ts = tr.Size(a), torch.Size(a)
    _same_size(s + b, ts + b)
    _same_size(b + s, b + ts)
    _same_size(s + tr.Size(b), ts + torch.Size(b))
    _same_size(s * n, ts * n)
    _same_size(n * s, n * ts)


def test_construction_reads_ints_as_torch_and_refuses_the_rest_in_its_words():
    for sizes in ([2, 3], (2, 3), [], [np.int64(2)], [True, 3], np.array([2, 3]), [-1]):
        _same_size(tr.Size(sizes), torch.Size(sizes))
    _same_size(tr.Size(iter([1, 2])), torch.Size(iter([1, 2])))
    _same_size(tr.Size(), torch.Size())
    _same_size(tr.Size([tr.tensor(3)]), torch.Size([torch.tensor(3)]))
    for bad in ([2.5], [None], "ab", [2, 3.0]):
        message = str(torch_error(lambda bad=bad: torch.Size(bad))).replace("torch.", "tr.")
        with pytest.raises(TypeError) as caught:
            tr.Size(bad)
        assert str(caught.value) == message
    raises_as_torch(lambda: torch.Size([torch.tensor(2.0)]), lambda: tr.Size([tr.tensor(2.0)]), "item 0 is 'Tensor'")
    raises_as_torch(lambda: torch.Size(3), lambda: tr.Size(3))
    raises_as_torch(lambda: torch.Size([2]) + [1], lambda: tr.Size([2]) + [1], "concatenate tuple")
    raises_as_torch(lambda: [1] + torch.Size([2]), lambda: [1] + tr.Size([2]))
    raises_as_torch(lambda: torch.Size([2]) + (1.5,), lambda: tr.Size([2]) + (1.5,), "item 1 is 'float'")
    raises_as_torch(lambda: torch.Size([2]) * 2.0, lambda: tr.Size([2]) * 2.0)


def test_copies_and_pickles_keep_a_size():
    s = tr.zeros(2, 3).shape
    for copied in (pickle.loads(pickle.dumps(s)), copy.copy(s), copy.deepcopy(s)):
        assert type(copied) is tr.Size and copied == s


def test_a_size_is_taken_where_a_shape_is():
    x, t = tr.arange(6.0), torch.arange(6.0)
    size, tsize = tr.Size([2, 3]), torch.Size([2, 3])
    for ours, theirs in ((x.view(size), t.view(tsize)), (x.reshape(size), t.reshape(tsize)),
                         (tr.zeros(size), torch.zeros(tsize)), (x[:3].expand(size), t[:3].expand(tsize)),
                         (x.new_zeros(size), t.new_zeros(tsize)), (tr.full(size, 2.0), torch.full(tsize, 2.0))):
        _same_size(ours.shape, theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_reads_a_size_as_a_shape_and_a_tuple_as_values(dtype):
    x, t = tr.zeros(1, dtype=dtype), torch.zeros(1, dtype=getattr(torch, np.dtype(dtype).name))
    y, ty = tr.zeros(2, 3), torch.zeros(2, 3)
    _same_size(x.new(y.size()).shape, t.new(ty.size()).shape)
    _same_size(x.new(y.shape[1:]).shape, t.new(ty.shape[1:]).shape)
    _same_size(x.new(tr.Size([])).shape, t.new(torch.Size([])).shape)
    _same_size(x.new(tr.Size([0, 2])).shape, t.new(torch.Size([0, 2])).shape)
    assert x.new(y.size()).dtype == dtype and not x.new(y.size()).requires_grad
    for values in ((2, 3), ((1, 2), (3, 4)), (2.5, -1), ()):
        ours, theirs = x.new(values), t.new(values)
        _same_size(ours.shape, theirs.shape)
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    raises_as_torch(lambda: t.new(torch.Size([-1])), lambda: x.new(tr.Size([-1])), "negative dimension")


def test_distribution_shapes_are_sizes_as_torchs():
    ours = tr.distributions.Normal(tr.zeros(3), 1.0)
    theirs = torch.distributions.Normal(torch.zeros(3), 1.0)
    _same_size(ours.batch_shape, theirs.batch_shape)
    _same_size(ours.event_shape, theirs.event_shape)
    _same_size(ours._extended_shape((2,)), theirs._extended_shape((2,)))
    ours = tr.distributions.Dirichlet(tr.ones(2, 3))
    theirs = torch.distributions.Dirichlet(torch.ones(2, 3))
    _same_size(ours.batch_shape, theirs.batch_shape)
    _same_size(ours.event_shape, theirs.event_shape)
    _same_size(ours.sample((4,)).shape, theirs.sample((4,)).shape)
