"""tr.utils._data: torch.utils._data's datasets, samplers, collation and DataLoader, so a torch training
script's data pipeline ports as it is.

Read top to bottom: datasets, random_split, samplers, collation, the DataLoader. Randomness comes from the
library's generator (`tr.manual_seed`) or a `generator=` that is a numpy Generator: shuffled orders are
numpy's, not torch's. There are no worker processes: `num_workers > 0` loads in the main process, with a
warning, giving the batches num_workers=0 gives (docs/torch_api.md says what else differs).
"""
from __future__ import annotations

import bisect
import collections.abc as abc
import copy
import itertools
import math
import re
from typing import Any, Callable, Generic, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from .. import random
from ..creation import from_numpy, tensor
from ..distributed import DistributedSampler  # torch.utils._data has it too: a sampler= for data parallelism
from ..nn.checks import ArgumentValueError, warn_user
from ..tensor import Tensor, multinomial, stack

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
    "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "default_collate", "default_convert", "collate",
    "default_collate_fn_map", "get_worker_info", "DataLoader",
]


# torch's classes are generic, and torch code subscripts them: `class Pairs(Dataset[tuple[Tensor, int]])`
_T_co = TypeVar("_T_co", covariant=True)


# ----------------------------------------------------------------------------- datasets
class Dataset(Generic[_T_co]):
    """A map-style dataset: subclasses define `__getitem__` (and usually `__len__`), as torch's."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[_T_co]):
    """A dataset that is a stream: subclasses define `__iter__`. `a + b` chains two (ChainDataset)."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Sample i is `(t[i] for t in tensors)`: Tensors with one first-dimension size."""

    def __init__(self, *tensors: Tensor) -> None:
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):  # torch fails on `.size(0)` of an array: a TypeError too
                raise TypeError(f"TensorDataset: expected Tensors, got {type(t).__name__} at position {i}")
        if any(tensors[0].size(0) != t.size(0) for t in tensors):  # no tensors: tensors[0]'s IndexError, as torch
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0)


class StackDataset(Dataset):
    """Sample i is `(d[i] for d in args)`, or `{k: d[i]}` for keyword datasets, of one length."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                             "input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = list(args or kwargs.values())
        self._length = len(parts[0])
        if any(self._length != len(d) for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args or kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset):
    """The datasets one after another; `cumulative_sizes[i]` is where dataset i ends."""

    @staticmethod
    def cumsum(sequence: Iterable[Dataset]) -> list[int]:
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)  # past the end: the list's IndexError, as torch
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """IterableDatasets one after another, read lazily."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        if not all(isinstance(d, IterableDataset) for d in self.datasets):
            raise AssertionError("ChainDataset only supports IterableDataset")
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        # the DataLoader reads batches through __getitems__, so an override of __getitem__ alone would be skipped
        if type(self).__getitem__ is not Subset.__getitem__ and type(self).__getitems__ is Subset.__getitems__:
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__. When subclassing Subset and "
                "overriding __getitem__, you must also override __getitems__ to ensure DataLoader works correctly "
                "with your custom logic. A simple implementation:\n\ndef __getitems__(self, indices):\n"
                "    return [self.__getitem__(idx) for idx in indices]")

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Non-overlapping random Subsets of the given lengths, or of fractions summing to 1: each gets
    `floor(frac * len(dataset))`, then the remainder one at a time, round-robin from the first (torch 2.x)."""
    rng = random.resolve("random_split", generator)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _lengths_from_fractions(len(dataset), lengths)
    if sum(lengths) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    for i, n in enumerate(lengths):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"random_split: lengths must be ints, or fractions summing to 1; got "
                            f"{type(n).__name__} {n!r} at index {i}")
        if n < 0:  # torch slices its permutation with it and returns subsets of other sizes than asked
            raise ValueError(f"random_split: lengths must not be negative, got {n} at index {i}")
    indices = rng.permutation(len(dataset)).tolist()
    return [Subset(dataset, indices[end - n:end]) for end, n in zip(itertools.accumulate(lengths), lengths)]


def _lengths_from_fractions(total: int, fractions: Sequence[float]) -> list[int]:
    lengths = []
    for i, frac in enumerate(fractions):
        if frac < 0 or frac > 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        lengths.append(math.floor(total * frac))
    for i in range(total - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, n in enumerate(lengths):
        if n == 0:
            warn_user(f"Length of split at index {i} is 0. This might result in an empty dataset.", UserWarning)
    return lengths


# ----------------------------------------------------------------------------- samplers
class Sampler(Generic[_T_co]):
    """Base of the samplers: `__iter__` yields indices (or lists of them, a batch sampler's batches)."""

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sequence) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _check_generator(fn: str, generator: np.random.Generator | None) -> None:
    if generator is not None:
        random.resolve(fn, generator)


class RandomSampler(Sampler):
    """Indices in random order: a new permutation each pass (whole permutations, then part of one, when
    num_samples > len), or num_samples draws with replacement. The generator is read at each pass."""

    def __init__(self, data_source: Sequence, replacement: bool = False, num_samples: int | None = None,
                 generator: np.random.Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")
        _check_generator("RandomSampler", generator)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), random.resolve("RandomSampler", self.generator)
        if n == 0:  # torch divides by zero or draws below 0 here
            raise ValueError(f"RandomSampler: cannot draw num_samples={self.num_samples} from an empty data_source")
        if self.replacement:
            yield from rng.integers(n, size=self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[:self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a new random order each pass."""

    def __init__(self, indices: Sequence[int], generator: np.random.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator
        _check_generator("SubsetRandomSampler", generator)

    def __iter__(self) -> Iterator[int]:
        rng = random.resolve("SubsetRandomSampler", self.generator)
        for i in rng.permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices in `[0, len(weights))`, index i drawn with probability proportional to `weights[i]`
    (tr.multinomial's draws and checks, with or without replacement)."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: np.random.Generator | None = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        array = np.asarray(weights._data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(array.shape)}")
        _check_generator("WeightedRandomSampler", generator)
        self.weights = Tensor._make(array, False)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        try:
            draws = multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator)
        except ValueError as e:  # weights that are no distribution, too many draws: torch's RuntimeError too
            raise ArgumentValueError(f"WeightedRandomSampler: {e}") from None
        yield from draws._data.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of batch_size indices from sampler; the last one shorter unless drop_last."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        batch = list(itertools.islice(indices, self.batch_size))
        while batch and (len(batch) == self.batch_size or not self.drop_last):
            yield batch
            batch = list(itertools.islice(indices, self.batch_size))

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


# ----------------------------------------------------------------------------- collation
# numpy dtypes of strings, bytes and objects: no Tensor holds them (the dtype's str, e.g. '<U3', '|O')
_NOT_NUMBERS = re.compile(r"[SaUO]")
_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _as_tensor(value: np.ndarray | np.generic) -> Tensor:
    """torch.as_tensor of a numpy value: a float array shares its memory; ints become int64, as nothing here is
    int32; float16 is refused (tr.tensor says so)."""
    if isinstance(value, np.ndarray) and value.dtype in (np.float32, np.float64):
        return from_numpy(value)
    return tensor(value)


def default_convert(data: Any) -> Any:
    """numpy arrays and scalars in `data` become Tensors, through tuples (made lists, as torch), lists,
    dicts and namedtuples; anything else is returned as it is (what batch_size=None loads)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        if isinstance(data, np.ndarray) and _NOT_NUMBERS.search(data.dtype.str):
            return data
        return _as_tensor(data)
    if isinstance(data, abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a namedtuple keeps its type
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(like: abc.Mapping, values: dict) -> abc.Mapping:
    """A mapping of like's type holding values (a copy of a mutable one keeps a defaultdict's factory); a plain
    dict when the type cannot be rebuilt, as torch."""
    try:
        if isinstance(like, abc.MutableMapping):
            clone = copy.copy(like)
            clone.update(values)
            return clone
        return type(like)(values)
    except TypeError:
        return values


def _rebuild_sequence(like: abc.Sequence, items: list) -> abc.Sequence:
    try:
        if isinstance(like, abc.MutableSequence):
            clone = copy.copy(like)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(like)(items)
    except TypeError:
        return items


def collate(batch: Sequence, *, collate_fn_map: dict | None = None) -> Any:
    """torch's general collate: the function collate_fn_map gives the first sample's type (or a base of it)
    makes the batch; mappings, namedtuples and sequences are collated field by field."""
    elem = batch[0]
    if collate_fn_map is not None:
        if type(elem) in collate_fn_map:
            return collate_fn_map[type(elem)](batch, collate_fn_map=collate_fn_map)
        for kind, fn in collate_fn_map.items():
            if isinstance(elem, kind):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(collate(field, collate_fn_map=collate_fn_map) for field in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(column, collate_fn_map=collate_fn_map) for column in zip(*batch)]
        return columns if isinstance(elem, tuple) else _rebuild_sequence(elem, columns)  # a tuple: a list, as torch
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def _collate_tensors(batch: Sequence[Tensor], *, collate_fn_map: dict | None = None) -> Tensor:
    return stack(batch, 0)  # sizes that differ: stack's ShapeError, torch's RuntimeError


def _collate_arrays(batch: Sequence[np.ndarray], *, collate_fn_map: dict | None = None) -> Any:
    if _NOT_NUMBERS.search(batch[0].dtype.str):
        raise TypeError(_COLLATE_ERROR.format(batch[0].dtype))
    return collate([_as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def _collate_numpy_scalars(batch: Sequence[np.generic], *, collate_fn_map: dict | None = None) -> Tensor:
    return _as_tensor(np.asarray(batch))


def _collate_floats(batch: Sequence[float], *, collate_fn_map: dict | None = None) -> Tensor:
    return tensor(batch, dtype=np.float64)  # float64, as torch's (not the default dtype)


def _collate_ints(batch: Sequence[int], *, collate_fn_map: dict | None = None) -> Tensor:
    return tensor(batch)  # int64; bools (ints to isinstance) a bool Tensor, as torch


def _collate_strings(batch: Sequence[str], *, collate_fn_map: dict | None = None) -> Sequence[str]:
    return batch


# torch's registry, which users extend: default_collate_fn_map[MyType] = fn(batch, *, collate_fn_map)
default_collate_fn_map: dict = {
    Tensor: _collate_tensors,
    np.ndarray: _collate_arrays,
    (np.bool_, np.number, np.object_): _collate_numpy_scalars,
    float: _collate_floats,
    int: _collate_ints,
    str: _collate_strings,
    bytes: _collate_strings,
}


def default_collate(batch: Sequence) -> Any:
    """A list of samples made one batch, as torch's: Tensors and numpy arrays stacked on a new first dim,
    Python floats a float64 Tensor, ints an int64 one, bools a bool one, strings kept as a list, and
    tuples (made lists), lists, dicts and namedtuples collated field by field."""
    return collate(batch, collate_fn_map=default_collate_fn_map)


def get_worker_info() -> None:
    """None: data is always loaded in the main process here (torch's answer outside a worker)."""
    return None


# ----------------------------------------------------------------------------- the DataLoader
class _InfiniteConstantSampler(Sampler):
    """An IterableDataset's 'indices': None forever (the dataset's own iterator says when it ends)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


# set after construction, these would no longer agree with the samplers built from them
_FIXED_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class DataLoader(Generic[_T_co]):
    """Batches from a dataset, as torch.utils._data.DataLoader: torch's arguments, defaults and checks.

    shuffle=True draws a new order each epoch from `generator` (a numpy Generator) or the library's
    (`tr.manual_seed`). batch_size=None loads single samples through `default_convert`. There are no worker
    processes: num_workers > 0 loads in the main process with a warning (the same batches as
    num_workers=0; worker_init_fn is not called, get_worker_info() is None). pin_memory warns as torch
    does without an accelerator; it changes nothing on the CPU.
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None, batch_sampler: Sampler | Iterable | None = None,
                 num_workers: int = 0, collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: np.random.Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context)
        _check_generator("DataLoader", generator)
        self._iterable = isinstance(dataset, IterableDataset)
        shuffle = _check_sampling_options(self._iterable, shuffle, sampler, batch_sampler, batch_size, drop_last)
        if batch_sampler is not None:
            batch_size, drop_last = None, False
        if sampler is None:
            sampler = _default_sampler(dataset, self._iterable, shuffle, generator)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self.num_workers, self.prefetch_factor, self.timeout = num_workers, prefetch_factor, timeout
        self.pin_memory, self.pin_memory_device, self.in_order = pin_memory, pin_memory_device, in_order
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, multiprocessing_context
        self.persistent_workers = persistent_workers
        self._reported_length = None  # len(loader) of an IterableDataset, compared with what it yields
        self._initialized = True
        if num_workers > 0:
            warn_user(f"DataLoader: num_workers={num_workers} loads in the main process here (tinygrad_rnn has no "
                      "worker processes): the batches are those of num_workers=0, and worker_init_fn is not called",
                      UserWarning)

    def __setattr__(self, name, value):
        if self.__dict__.get("_initialized") and name in _FIXED_AFTER_INIT:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    def __iter__(self) -> _LoaderIterator:
        return _LoaderIterator(self)

    def __len__(self) -> int:
        if not self._iterable:
            return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
        length = self._reported_length = len(self.dataset)
        if self.batch_size is not None:
            length = length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)
        return length


def _default_sampler(dataset, iterable, shuffle, generator):
    if iterable:
        return _InfiniteConstantSampler()
    return RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)


def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context):
    """torch's checks of the multiprocessing options, which are accepted here and change nothing."""
    # any int, as torch's range(num_workers): True is one worker and False none there (numpy's bool is refused)
    if not isinstance(num_workers, (int, np.integer)):
        raise TypeError(f"DataLoader: num_workers must be an int, got {type(num_workers).__name__} {num_workers!r}")
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 to "
                         "enable multiprocessing, otherwise set prefetch_factor to None.")
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if multiprocessing_context is not None and num_workers == 0:
        raise ValueError("multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                         f"but got num_workers={num_workers}")


def _check_sampling_options(iterable, shuffle, sampler, batch_sampler, batch_size, drop_last):
    """torch's rules for the options that choose the samplers; returns shuffle as a bool."""
    if iterable:
        if shuffle not in {False, None}:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                             f"shuffle={shuffle}")
        if sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                             f"sampler={sampler}")
        if batch_sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but got "
                             f"batch_sampler={batch_sampler}")
    shuffle = bool(shuffle)
    if sampler is not None and shuffle:
        raise ValueError("sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
        raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last")
    if batch_sampler is None and batch_size is None and drop_last:
        raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
    return shuffle


class _LoaderIterator:
    """One pass over a DataLoader (what iter(loader) returns): each next() fetches and collates one batch."""

    def __init__(self, loader: DataLoader) -> None:
        if loader.num_workers == 0 and loader.timeout != 0:  # torch's single-process iterator asserts the same
            raise AssertionError(f"DataLoader: timeout={loader.timeout} waits for worker processes; with "
                                 "num_workers=0 it must be 0")
        if loader.pin_memory and loader.pin_memory_device:
            warn_user("pin_memory_device is deprecated, the current accelerator will be used as the device,"
                      f"ignore pin_memory_device='{loader.pin_memory_device}'.", UserWarning)
        if loader.pin_memory:
            warn_user("'pin_memory' argument is set as true but no accelerator is found, then device pinned memory "
                      "won't be used.", UserWarning)
        self.loader = loader
        self.batched = loader.batch_sampler is not None
        self.indices = iter(loader.batch_sampler if self.batched else loader.sampler)
        self.samples = iter(loader.dataset) if loader._iterable else None
        self.ended, self.yielded = False, 0

    def __iter__(self) -> _LoaderIterator:
        return self

    def __len__(self) -> int:
        return len(self.loader.batch_sampler if self.batched else self.loader.sampler)

    def __next__(self) -> Any:
        data = self._fetch(next(self.indices))
        self.yielded += 1
        reported = self.loader._reported_length
        if self.loader._iterable and reported is not None and self.yielded > reported:
            warn_user(f"Length of IterableDataset {self.loader.dataset} was reported to be {reported}(when "
                      f"accessing len(dataloader)), but {self.yielded} samples have been fetched. ", UserWarning)
        return data

    def _fetch(self, index):
        if self.samples is not None:
            return self._fetch_stream(index)
        dataset = self.loader.dataset
        if not self.batched:
            return self.loader.collate_fn(dataset[index])
        if type(dataset) is TensorDataset and self.loader.collate_fn is default_collate:
            # what collating the samples gives, with one index per tensor instead of one per sample and a stack: a
            # ported script's most common loader, 30 times faster (each Tensor index costs microseconds)
            return [t[index] for t in dataset.tensors]
        if callable(getattr(dataset, "__getitems__", None)):  # a whole batch in one call (Subset, user datasets)
            return self.loader.collate_fn(dataset.__getitems__(index))
        return self.loader.collate_fn([dataset[i] for i in index])

    def _fetch_stream(self, index):
        """The next sample, or the next batch of them, from an IterableDataset's iterator."""
        if self.ended:
            raise StopIteration
        if not self.batched:
            return self.loader.collate_fn(next(self.samples))
        batch = list(itertools.islice(self.samples, len(index)))
        self.ended = len(batch) < len(index)
        if not batch or self.ended and self.loader.drop_last:
            raise StopIteration
        return self.loader.collate_fn(batch)
