"""tr.utils.data against torch.utils.data: everything deterministic (collated batches with their dtypes and
nesting, sequential loading, lengths, random_split's sizes, the errors and their types) is torch's.
Shuffled orders are numpy's, not torch's: tests/utils/test_data_sampling.py checks them by their properties."""
import collections
import re
import warnings

import numpy as np
import pytest
from conftest import torch_error
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.utils import data

torch = pytest.importorskip("torch")
tdata = torch.utils.data

Point = collections.namedtuple("Point", "x y")


def plain(value):
    """A structure both libraries' outputs map onto: Tensors as (dtype name, shape, values), containers as
    (type name, items); what differs between the two is only the Tensor class."""
    if isinstance(value, (tr.Tensor, torch.Tensor)):
        arr = value.detach().numpy() if isinstance(value, torch.Tensor) else value.data
        return ("Tensor", str(value.dtype).replace("torch.", ""), arr.shape, arr.tolist())
    if isinstance(value, np.ndarray):
        return ("ndarray", str(value.dtype), value.tolist())
    if isinstance(value, dict):
        return (type(value).__name__, {k: plain(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [plain(v) for v in value])
    return value


# samples written once, made with each library's tensor function (T)
BATCHES = {
    "ints": lambda T: [0, 1, 2, 3],
    "floats": lambda T: [0.5, 1.5],
    "bools": lambda T: [True, False, True],
    "ints and floats": lambda T: [1, 2.5],
    "strings": lambda T: ["a", "bc"],
    "bytes": lambda T: [b"a", b"b"],
    "float tensors": lambda T: [T([1.0, 2.0]), T([3.0, 4.0])],
    "0-d tensors": lambda T: [T(1.0), T(2.0)],
    "int64 tensors": lambda T: [T([1, 2]), T([3, 4])],
    "bool tensors": lambda T: [T([True]), T([False])],
    "float64 arrays": lambda T: [np.ones((2, 3)), np.zeros((2, 3))],
    "float32 arrays": lambda T: [np.ones(2, np.float32), np.arange(2, dtype=np.float32)],
    "int64 arrays": lambda T: [np.arange(3), np.arange(3, 6)],
    "bool arrays": lambda T: [np.array([True, False]), np.array([False, False])],
    "numpy float32 scalars": lambda T: [np.float32(1.5), np.float32(2)],
    "numpy float64 scalars": lambda T: [np.float64(1.5), np.float64(2)],
    "numpy int64 scalars": lambda T: [np.int64(1), np.int64(2)],
    "numpy bool scalars": lambda T: [np.bool_(True), np.bool_(False)],
    "tuples": lambda T: [(T([1.0]), 0, "a"), (T([2.0]), 1, "b")],
    "lists": lambda T: [[1, 2.0], [3, 4.0]],
    "dicts": lambda T: [{"x": T([1.0, 2.0]), "n": 2}, {"x": T([3.0, 4.0]), "n": 1}],
    "ordered dicts": lambda T: [collections.OrderedDict(b=1, a=2.0), collections.OrderedDict(b=3, a=4.0)],
    "namedtuples": lambda T: [Point(1, T([1.0])), Point(2, T([2.0]))],
    "nested": lambda T: [{"seq": (T([1.0]), [1, 2]), "id": "s0"}, {"seq": (T([2.0]), [3, 4]), "id": "s1"}],
}


@pytest.mark.parametrize("name", list(BATCHES))
def test_default_collate_as_torch(name):
    ours = data.default_collate(BATCHES[name](tr.tensor))
    theirs = tdata.default_collate(BATCHES[name](torch.tensor))
    assert plain(ours) == plain(theirs)


LEAVES = ["int", "float", "bool", "str", "float32 array", "float64 array", "int64 array", "float32 tensor",
          "int64 tensor", "numpy float64"]


def templates():
    """The shape of a sample: a leaf kind, or a tuple, list, dict or namedtuple of templates."""
    return st.recursive(st.sampled_from(LEAVES), lambda inner: st.one_of(
        st.tuples(st.just("tuple"), st.lists(inner, min_size=1, max_size=3)),
        st.tuples(st.just("list"), st.lists(inner, min_size=1, max_size=3)),
        st.tuples(st.just("dict"), st.dictionaries(st.sampled_from("abc"), inner, min_size=1, max_size=3)),
        st.tuples(st.just("Point"), st.tuples(inner, inner))), max_leaves=6)


def sample(template, rng, T):
    """One sample of the template, values from rng, tensors made by T."""
    if isinstance(template, str):
        value = {"int": lambda: int(rng.integers(-5, 5)), "float": lambda: float(rng.standard_normal()),
                 "bool": lambda: bool(rng.integers(2)), "str": lambda: str(rng.integers(100)),
                 "numpy float64": lambda: np.float64(rng.standard_normal())}.get(template)
        if value is not None:
            return value()
        dtype = {"float32": np.float32, "float64": np.float64, "int64": np.int64}[template.split()[0]]
        array = (rng.standard_normal((2, 3)) * 5).astype(dtype)
        return T(array) if template.endswith("tensor") else array
    kind, parts = template
    if kind == "dict":
        return {k: sample(t, rng, T) for k, t in parts.items()}
    items = [sample(t, rng, T) for t in parts]
    return {"tuple": tuple, "list": list, "Point": lambda xs: Point(*xs)}[kind](items)


@given(template=templates(), size=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_default_collate_of_drawn_samples_as_torch(template, size, seed):
    def batch(T):
        rng = np.random.default_rng(seed)
        return [sample(template, rng, T) for _ in range(size)]

    assert plain(data.default_collate(batch(tr.tensor))) == plain(tdata.default_collate(batch(torch.tensor)))
    assert plain(data.default_convert(batch(tr.tensor))) == plain(tdata.default_convert(batch(torch.tensor)))


CONVERTED = {
    "an int": lambda T: 3,
    "a float64 array": lambda T: np.arange(4.0),
    "a float32 array": lambda T: np.ones((2, 2), np.float32),
    "an int64 array": lambda T: np.arange(3),
    "a numpy scalar": lambda T: np.float64(2.5),
    "a string array": lambda T: np.array(["a", "b"]),
    "a tensor": lambda T: T([1.0, 2.0]),
    "a tuple": lambda T: (1, np.arange(2)),
    "a list": lambda T: [np.arange(2.0), "s"],
    "a dict": lambda T: {"a": np.arange(2), "b": 1.5},
    "a namedtuple": lambda T: Point(np.arange(2.0), 1),
    "a string": lambda T: "text",
}


@pytest.mark.parametrize("name", list(CONVERTED))
def test_default_convert_as_torch(name):
    ours = data.default_convert(CONVERTED[name](tr.tensor))
    theirs = tdata.default_convert(CONVERTED[name](torch.tensor))
    if isinstance(theirs, np.ndarray):  # left as it is, by both
        assert ours is not None and np.array_equal(ours, theirs)
        return
    assert plain(ours) == plain(theirs)


def test_default_convert_shares_a_float_arrays_memory_as_torch_as_tensor():
    array = np.zeros(3)
    data.default_convert(array).data[0] = 7.0
    shared = array[0]
    array2 = np.zeros(3)
    tdata.default_convert(array2)[0] = 7.0
    assert shared == array2[0] == 7.0


BAD_BATCHES = {
    "lists of two sizes": lambda T: [[1, 2], [3]],
    "tensors of two sizes": lambda T: [T([1.0, 2.0]), T([1.0])],
    "arrays of two sizes": lambda T: [np.ones(2), np.ones(3)],
    "an unknown type": lambda T: [object(), object()],
    "None": lambda T: [None, None],
    "string arrays": lambda T: [np.array(["a"]), np.array(["b"])],
}


@pytest.mark.parametrize("name", list(BAD_BATCHES))
def test_default_collate_refuses_as_torch(name):
    expected = torch_error(lambda: tdata.default_collate(BAD_BATCHES[name](torch.tensor)))
    with pytest.raises(type(expected)) as ours:
        data.default_collate(BAD_BATCHES[name](tr.tensor))
    if str(expected).startswith(("default_collate", "each element")):  # the messages copied from torch
        assert str(ours.value).split(";")[0] == str(expected).split(";")[0]


def test_collate_fn_map_extends_default_collate_as_torch():
    class Box:
        def __init__(self, v):
            self.v = v

    def boxes(batch, *, collate_fn_map=None):
        return sum(b.v for b in batch)

    for lib in (data, torch.utils.data._utils.collate):
        assert lib.collate([Box(1), Box(2)], collate_fn_map={Box: boxes, **lib.default_collate_fn_map}) == 3


# ----------------------------------------------------------------------------- datasets
class Squares:
    """A map-style dataset both libraries read (no base class needed, as in torch)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return {"x": np.full(2, float(i)), "y": i * i, "name": f"s{i}"}


class Stream:
    """An IterableDataset of lib's kind: range(n) as (index, index / 2), with a __len__ when told."""

    @staticmethod
    def make(lib, n, length=None):
        class _Stream(lib.IterableDataset):
            def __iter__(self):
                return iter((i, i / 2) for i in range(n))

        if length is not None:
            _Stream.__len__ = lambda self: length
        return _Stream()


def both(make):
    """make(lib, T) with each library: (ours, torch's)."""
    return make(data, tr.tensor), make(tdata, torch.tensor)


def test_tensor_dataset_as_torch():
    ours, theirs = both(lambda lib, T: lib.TensorDataset(T(np.arange(12.0).reshape(4, 3)), T(np.arange(4))))
    assert len(ours) == len(theirs) == 4
    for i in (0, 3, -1, slice(1, 3)):
        assert plain(ours[i]) == plain(theirs[i])


@pytest.mark.parametrize("make", [
    lambda lib, T: lib.TensorDataset(T(np.zeros((3, 2))), T(np.zeros(4))),   # sizes differ: AssertionError
    lambda lib, T: len(lib.TensorDataset()),                                  # none: IndexError at len()
])
def test_tensor_dataset_refuses_as_torch(make):
    expected = torch_error(lambda: make(tdata, torch.tensor))
    with pytest.raises(type(expected), match=re.escape(str(expected))):
        make(data, tr.tensor)


def test_tensor_dataset_names_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="expected Tensors, got ndarray at position 1"):
        data.TensorDataset(tr.zeros(3), np.zeros(3))
    assert isinstance(torch_error(lambda: tdata.TensorDataset(torch.zeros(3), np.zeros(3))), TypeError)


def test_concat_dataset_as_torch():
    ours, theirs = both(lambda lib, T: lib.ConcatDataset([list(range(3)), list(range(10, 12)), [], [20]]))
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert len(ours) == len(theirs)
    assert [ours[i] for i in range(-6, 6)] == [theirs[i] for i in range(-6, 6)]
    for i in (-7, 6):
        expected = torch_error(lambda i=i: theirs[i])
        with pytest.raises(type(expected), match=re.escape(str(expected))):
            ours[i]


def test_dataset_add_as_torch():
    class Nums(data.Dataset[int]):  # subscripted, as torch code writes it
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return i

    joined = Nums(2) + Nums(3)
    assert isinstance(joined, data.ConcatDataset) and [joined[i] for i in range(5)] == [0, 1, 0, 1, 2]
    chained = Stream.make(data, 2) + Stream.make(data, 3)
    theirs = Stream.make(tdata, 2) + Stream.make(tdata, 3)
    assert isinstance(chained, data.ChainDataset) and list(chained) == list(theirs)


@pytest.mark.parametrize("make", [
    lambda lib: lib.ConcatDataset([]),
    lambda lib: lib.ConcatDataset([[1], Stream.make(lib, 2)]),
    lambda lib: list(lib.ChainDataset([Stream.make(lib, 2), [1]])),
    lambda lib: lib.Dataset()[0],
    lambda lib: lib.StackDataset(),
    lambda lib: lib.StackDataset([1], b=[2]),
    lambda lib: lib.StackDataset([1], [1, 2]),
])
def test_datasets_refuse_as_torch(make):
    expected = torch_error(lambda: make(tdata))
    with pytest.raises(type(expected), match=re.escape(str(expected))):
        make(data)


def test_subset_and_stack_dataset_as_torch():
    ours, theirs = both(lambda lib, T: lib.Subset(Squares(6), [4, 0, 2]))
    assert len(ours) == len(theirs) == 3
    assert plain([ours[i] for i in range(3)]) == plain([theirs[i] for i in range(3)])
    assert plain(ours.__getitems__([2, 1])) == plain(theirs.__getitems__([2, 1]))
    ours, theirs = both(lambda lib, T: lib.StackDataset(a=[1, 2], b=["x", "y"]))
    assert len(ours) == len(theirs) and [ours[i] for i in range(2)] == [theirs[i] for i in range(2)]


def test_subset_subclass_overriding_getitem_only_is_refused_as_torch():
    def make(lib):
        class Doubled(lib.Subset):
            def __getitem__(self, i):
                return 2 * super().__getitem__(i)

        return Doubled([1, 2], [0])

    expected = torch_error(lambda: make(tdata))
    with pytest.raises(type(expected), match="overrides __getitem__ but not __getitems__"):
        make(data)


# ----------------------------------------------------------------------------- random_split
@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (10, [0.3, 0.7]), (10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (11, [0.2] * 5),
    (3, [0.1, 0.1, 0.8]), (100, [0.8, 0.1, 0.1]), (0, [0.5, 0.5]), (5, [1.0]), (9, [1 / 3] * 3),
])
def test_random_split_sizes_and_warnings_as_torch(n, lengths):
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = tdata.random_split(range(n), lengths)
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = data.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    assert all(w.filename == __file__ for w in ours_warned)  # at the caller's line
    picked = [i for s in ours for i in s]
    assert sorted(picked) == list(range(n))


@pytest.mark.parametrize("lengths", [[3, 8], [0.5, 0.6], [1.5, -0.5], [2.5, 7.5], [0.4, 0.4]])
def test_random_split_refuses_as_torch(lengths):
    expected = torch_error(lambda: tdata.random_split(range(10), lengths))
    with pytest.raises(type(expected)) as ours:
        data.random_split(range(10), lengths)
    if isinstance(expected, ValueError):
        assert str(ours.value) == str(expected)


def test_random_split_refuses_negative_lengths_torch_slices_with():
    theirs = tdata.random_split(range(10), [-1, 11])  # torch: subsets of 9 and 1 items, overlapping nothing asked
    assert [len(s) for s in theirs] == [9, 1]
    with pytest.raises(ValueError, match="must not be negative, got -1 at index 0"):
        data.random_split(range(10), [-1, 11])


# ----------------------------------------------------------------------------- samplers
@pytest.mark.parametrize("make", [
    lambda lib: lib.RandomSampler(range(3), replacement=1),
    lambda lib: lib.RandomSampler(range(3), replacement="yes"),
    lambda lib: lib.RandomSampler(range(3), num_samples=0),
    lambda lib: lib.RandomSampler(range(3), num_samples=-2),
    lambda lib: lib.RandomSampler(range(3), num_samples=2.0),
    lambda lib: lib.RandomSampler(range(3), num_samples="2"),
    lambda lib: lib.RandomSampler([]),
    lambda lib: lib.WeightedRandomSampler([1.0, 2.0], 0),
    lambda lib: lib.WeightedRandomSampler([1.0, 2.0], True),
    lambda lib: lib.WeightedRandomSampler([1.0, 2.0], 2.0),
    lambda lib: lib.WeightedRandomSampler([1.0, 2.0], 2, replacement=0),
    lambda lib: lib.WeightedRandomSampler([[1.0, 2.0]], 2),
    lambda lib: lib.WeightedRandomSampler(1.0, 2),
    lambda lib: list(lib.WeightedRandomSampler([1.0, 2.0], 3, replacement=False)),
    lambda lib: list(lib.WeightedRandomSampler([1.0, -2.0], 3)),
    lambda lib: list(lib.WeightedRandomSampler([0.0, 0.0], 3)),
    lambda lib: lib.BatchSampler(range(3), 0, False),
    lambda lib: lib.BatchSampler(range(3), -1, False),
    lambda lib: lib.BatchSampler(range(3), True, False),
    lambda lib: lib.BatchSampler(range(3), 2.0, False),
    lambda lib: lib.BatchSampler(range(3), 2, 0),
    lambda lib: lib.BatchSampler(range(3), 2, None),
    lambda lib: list(lib.Sampler[int]()),
], ids=lambda make: "")
def test_samplers_refuse_as_torch(make):
    expected = torch_error(lambda: make(tdata))
    with pytest.raises(type(expected)) as ours:
        make(data)
    if isinstance(expected, ValueError) and "should be" in str(expected):  # torch's words, copied
        assert str(ours.value) == str(expected)


@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                                      (2, 5, True), (0, 2, False), (7, 1, True)])
def test_sequential_and_batch_samplers_as_torch(n, batch_size, drop_last):
    ours = data.BatchSampler(data.SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tdata.BatchSampler(tdata.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert list(data.SequentialSampler(range(n))) == list(tdata.SequentialSampler(range(n)))
    assert list(data.BatchSampler(iter(range(n)), batch_size, drop_last)) == list(theirs)  # any iterable


def test_sampler_lengths_as_torch():
    for make in (lambda lib: lib.RandomSampler(range(5)), lambda lib: lib.RandomSampler(range(5), num_samples=12),
                 lambda lib: lib.RandomSampler(range(5), True, 3), lambda lib: lib.SubsetRandomSampler([4, 2]),
                 lambda lib: lib.WeightedRandomSampler([1.0, 2.0], 7)):
        assert len(make(data)) == len(make(tdata))
        assert len(list(make(data))) == len(list(make(tdata)))


def test_weighted_sampler_weights_as_torch():
    for weights in ([1, 2, 3], np.array([0.5, 0.25]), (True, False)):
        ours, theirs = data.WeightedRandomSampler(weights, 2), tdata.WeightedRandomSampler(weights, 2)
        assert plain(ours.weights) == plain(theirs.weights)


# ----------------------------------------------------------------------------- the DataLoader
LOADERS = {
    "defaults": lambda lib: lib.DataLoader(Squares(5)),
    "batches": lambda lib: lib.DataLoader(Squares(7), batch_size=3),
    "drop_last": lambda lib: lib.DataLoader(Squares(7), batch_size=3, drop_last=True),
    "no batching": lambda lib: lib.DataLoader(Squares(3), batch_size=None),
    "a list": lambda lib: lib.DataLoader([(np.arange(2.0), 1), (np.arange(2.0, 4.0), 0)], batch_size=2),
    "shuffle=False": lambda lib: lib.DataLoader(range(6), batch_size=4, shuffle=False),
    "a sampler": lambda lib: lib.DataLoader(range(10), batch_size=2, sampler=[9, 1, 5, 3, 7]),
    "a batch_sampler": lambda lib: lib.DataLoader(range(10), batch_sampler=[[3, 1], [0], [2, 2, 2]]),
    "a collate_fn": lambda lib: lib.DataLoader(range(5), batch_size=2, collate_fn=lambda b: sum(b)),
    "no batching, a collate_fn": lambda lib: lib.DataLoader(range(3), batch_size=None, collate_fn=lambda s: -s),
    "a Subset": lambda lib: lib.DataLoader(lib.Subset(Squares(8), [7, 2, 5]), batch_size=2),
    "a ConcatDataset": lambda lib: lib.DataLoader(lib.ConcatDataset([range(3), range(10, 13)]), batch_size=4),
    "a stream": lambda lib: lib.DataLoader(Stream.make(lib, 7), batch_size=3),
    "a stream, drop_last": lambda lib: lib.DataLoader(Stream.make(lib, 7), batch_size=3, drop_last=True),
    "a stream, exact batches": lambda lib: lib.DataLoader(Stream.make(lib, 6), batch_size=3, drop_last=True),
    "a stream, no batching": lambda lib: lib.DataLoader(Stream.make(lib, 3), batch_size=None),
    "an empty stream": lambda lib: lib.DataLoader(Stream.make(lib, 0), batch_size=2),
    "a chained stream": lambda lib: lib.DataLoader(Stream.make(lib, 2) + Stream.make(lib, 3), batch_size=2),
    "a TensorDataset": lambda lib: lib.DataLoader(pairs(lib), batch_size=3),
    "a TensorDataset, no batching": lambda lib: lib.DataLoader(pairs(lib), batch_size=None),
    "a TensorDataset, a batch_sampler": lambda lib: lib.DataLoader(pairs(lib), batch_sampler=[[4, 4, -1], [0]]),
    "a TensorDataset, a collate_fn": lambda lib: lib.DataLoader(pairs(lib), batch_size=4, collate_fn=lambda b: b),
}


def pairs(lib):
    """A TensorDataset of float32 rows, int64 labels and bool masks, made with lib's tensors."""
    T = tr.tensor if lib is data else torch.tensor
    return lib.TensorDataset(T(np.arange(15.0, dtype=np.float32).reshape(5, 3)), T(np.arange(5) % 2),
                             T(np.arange(10).reshape(5, 2) > 4))


@pytest.mark.parametrize("name", list(LOADERS))
def test_loader_batches_as_torch(name):
    ours, theirs = LOADERS[name](data), LOADERS[name](tdata)
    first = plain(list(ours))
    assert first == plain(list(theirs))
    assert plain(list(ours)) == first, "a second epoch gives the same sequential batches"


@pytest.mark.parametrize("make", [
    lambda lib: lib.DataLoader(Squares(7), batch_size=3),
    lambda lib: lib.DataLoader(Squares(7), batch_size=3, drop_last=True),
    lambda lib: lib.DataLoader(Squares(7), batch_size=None),
    lambda lib: lib.DataLoader(range(7), batch_size=2, shuffle=True),
    lambda lib: lib.DataLoader(range(7), batch_size=2, sampler=lib.RandomSampler(range(7), True, 11)),
    lambda lib: lib.DataLoader(range(7), batch_sampler=[[0], [1, 2]]),
    lambda lib: lib.DataLoader(Stream.make(lib, 7, length=7), batch_size=3),
    lambda lib: lib.DataLoader(Stream.make(lib, 7, length=7), batch_size=3, drop_last=True),
    lambda lib: lib.DataLoader(Stream.make(lib, 7, length=7), batch_size=None),
], ids=lambda make: "")
def test_loader_length_as_torch(make):
    ours, theirs = make(data), make(tdata)
    assert len(ours) == len(theirs)

    def iterator_length(loader):  # a stream's iterator has no length in torch: its TypeError
        try:
            return len(iter(loader))
        except TypeError:
            return TypeError

    assert iterator_length(ours) == iterator_length(theirs)


def test_stream_longer_than_its_length_warns_as_torch():
    def run(lib):
        loader = lib.DataLoader(Stream.make(lib, 5, length=2), batch_size=None)
        len(loader)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            list(loader)
        return [re.sub(r" object at 0x[0-9a-f]+", "", str(w.message)) for w in caught]

    assert run(data) == run(tdata) and len(run(data)) == 3


BAD_LOADERS = {
    "shuffle and a sampler": dict(sampler=[0, 1], shuffle=True),
    "batch_sampler and batch_size": dict(batch_sampler=[[0]], batch_size=2),
    "batch_sampler and shuffle": dict(batch_sampler=[[0]], shuffle=True),
    "batch_sampler and sampler": dict(batch_sampler=[[0]], sampler=[0]),
    "batch_sampler and drop_last": dict(batch_sampler=[[0]], drop_last=True),
    "batch_size=None and drop_last": dict(batch_size=None, drop_last=True),
    "batch_size=0": dict(batch_size=0),
    "batch_size=2.0": dict(batch_size=2.0),
    "drop_last=1": dict(drop_last=1),
    "negative num_workers": dict(num_workers=-1),
    "negative timeout": dict(timeout=-1),
    "prefetch_factor without workers": dict(prefetch_factor=2),
    "negative prefetch_factor": dict(num_workers=1, prefetch_factor=-1),
    "persistent_workers without workers": dict(persistent_workers=True),
    "multiprocessing_context without workers": dict(multiprocessing_context="fork"),
}


@pytest.mark.parametrize("name", list(BAD_LOADERS))
def test_loader_refuses_as_torch(name):
    expected = torch_error(lambda: tdata.DataLoader(range(4), **BAD_LOADERS[name]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (num_workers=1: the warning that it loads in this process)
        with pytest.raises(type(expected)) as ours:
            data.DataLoader(range(4), **BAD_LOADERS[name])
    assert str(ours.value) == str(expected)


@pytest.mark.parametrize("option", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])])
def test_loader_of_a_stream_refuses_samplers_as_torch(option):
    expected = torch_error(lambda: tdata.DataLoader(Stream.make(tdata, 3), **option))
    with pytest.raises(type(expected)) as ours:
        data.DataLoader(Stream.make(data, 3), **option)
    assert str(ours.value) == str(expected)


@pytest.mark.parametrize("attribute", ["batch_size", "sampler", "batch_sampler", "drop_last", "dataset",
                                       "persistent_workers"])
def test_loader_options_are_fixed_after_construction_as_torch(attribute):
    theirs, ours = tdata.DataLoader(range(3)), data.DataLoader(range(3))
    expected = torch_error(lambda: setattr(theirs, attribute, None))
    with pytest.raises(type(expected), match=re.escape(str(expected))):
        setattr(ours, attribute, None)
    ours.collate_fn = data.default_convert  # the others may change, as in torch
    theirs.collate_fn = tdata.default_convert
    assert plain(list(ours)) == plain(list(theirs))


def test_timeout_without_workers_fails_at_iteration_as_torch():
    theirs, ours = tdata.DataLoader(range(3), timeout=5), data.DataLoader(range(3), timeout=5)
    expected = torch_error(lambda: iter(theirs))
    with pytest.raises(type(expected), match="timeout=5"):
        iter(ours)


def test_pin_memory_warns_as_torch_without_an_accelerator_and_changes_nothing():
    def run(lib):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            batches = list(lib.DataLoader(Squares(3), batch_size=2, pin_memory=True))
        return plain(batches), [str(w.message) for w in caught]

    ours, theirs = run(data), run(tdata)
    assert ours == theirs and len(ours[1]) == 1
    assert ours[0] == plain(list(data.DataLoader(Squares(3), batch_size=2)))


def test_num_workers_loads_in_this_process_with_a_warning():
    """What a user porting a script gets: torch's batches (num_workers=0 gives the same), and one warning naming
    num_workers at their line; worker_init_fn is not called (there is no worker), get_worker_info() is None."""
    calls = []
    with pytest.warns(UserWarning, match="num_workers=2 loads in the main process") as caught:
        ours = data.DataLoader(Squares(5), batch_size=2, num_workers=2, worker_init_fn=calls.append,
                               prefetch_factor=3, persistent_workers=True)
    assert caught[0].filename == __file__
    assert plain(list(ours)) == plain(list(tdata.DataLoader(Squares(5), batch_size=2)))
    assert plain(list(ours)) == plain(list(tdata.DataLoader(Squares(5), batch_size=2, num_workers=0)))
    assert calls == [] and data.get_worker_info() is None is tdata.get_worker_info()


@pytest.mark.parametrize("workers", [True, False, np.int64(1), np.int64(0)])
def test_num_workers_takes_what_torch_takes(workers):
    """torch 2.13 takes any int, True (one worker) and False (none) too, and keeps it as given; they were refused."""
    theirs = tdata.DataLoader(Squares(5), batch_size=2, num_workers=workers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = data.DataLoader(Squares(5), batch_size=2, num_workers=workers)
    assert [str(w.message) for w in caught] == ([f"DataLoader: num_workers={workers} loads in the main process here "
                                                 "(tinygrad_rnn has no worker processes): the batches are those of "
                                                 "num_workers=0, and worker_init_fn is not called"] if workers else [])
    assert ours.num_workers is workers and theirs.num_workers is workers
    assert plain(list(ours)) == plain(list(tdata.DataLoader(Squares(5), batch_size=2)))


@pytest.mark.parametrize("workers", [np.bool_(True), 1.0, "2", None])
def test_num_workers_refuses_what_torch_refuses(workers):
    with pytest.raises(TypeError):
        list(tdata.DataLoader(Squares(3), num_workers=workers))
    with pytest.raises(TypeError, match="DataLoader: num_workers must be an int, got"):
        data.DataLoader(Squares(3), num_workers=workers)


def test_the_package_spells_it_as_torch():
    assert tr.utils.data.DataLoader is data.DataLoader
    from tinygrad_rnn.utils.data import DataLoader, TensorDataset  # noqa: F401 (the import is the test)
    for name in data.__all__:
        if name != "collate" and name != "default_collate_fn_map":
            assert hasattr(tdata, name), name


@pytest.mark.parametrize("rank", [0, 1, 2])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shards_batches_as_torch(rank, drop_last):
    def batches(lib):
        sampler = lib.DistributedSampler(range(10), num_replicas=3, rank=rank, shuffle=False, drop_last=drop_last)
        return plain(list(lib.DataLoader(range(10), batch_size=3, sampler=sampler)))

    assert data.DistributedSampler is tr.distributed.DistributedSampler
    assert batches(data) == batches(tdata)


def test_tensor_dataset_batches_are_what_collating_its_samples_gives():
    """The loader indexes a TensorDataset's tensors once per batch: the values, dtypes and gradients of
    collating each sample (a collate_fn that is not default_collate itself takes that path)."""
    x = tr.tensor(np.random.default_rng(0).standard_normal((6, 2, 3)), requires_grad=True)
    dataset = data.TensorDataset(x, tr.tensor(np.arange(6)))
    grads, batches = [], []
    for collate_fn in (None, lambda samples: data.default_collate(samples)):
        x.grad = None
        loader = data.DataLoader(dataset, batch_sampler=[[5, 0, 5], [-2], [1, 2]], collate_fn=collate_fn)
        batch = list(loader)
        sum((b[0] * b[0]).sum() * (i + 1) for i, b in enumerate(batch)).backward()
        grads.append(x.grad.numpy().copy())
        batches.append(plain(batch))
    assert batches[0] == batches[1]
    assert np.array_equal(grads[0], grads[1])
