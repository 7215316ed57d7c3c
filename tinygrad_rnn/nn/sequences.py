"""Batches of sequences of different lengths, as torch.nn.utils.rnn (reachable as
tr.nn.utils.rnn): pad_sequence, pack_padded_sequence, pack_sequence, pad_packed_sequence.

Here a recurrent layer takes a padded batch and `lengths=` (with packed-sequence semantics: see
nn/recurrent.py), so packing is only a pairing: a PackedSequence holds the padded batch, time-major
(T, B, *) with T the longest length, and the lengths. Every layer accepts one in place of its input
and returns its output as one, as torch's do, so torch code that packs, runs and unpacks works
unchanged:

    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, h_n = lstm(packed)
    out, lengths = pad_packed_sequence(out, batch_first=True)

pad_packed_sequence returns the lengths as an int64 Tensor, as torch's. Differences from torch: the
sequences are never reordered, so pad_packed_sequence returns them in the batch's order as torch's
does. `.data`, `.batch_sizes`, `.sorted_indices` and `.unsorted_indices` give torch's packed layout
(valid steps, time-major, longest sequences first) for code that reads them, the last three as int64
Tensors as torch's; sorted_indices orders tied lengths by their place in the batch (torch leaves ties to
its sort). As torch's, both are None for a pack made with enforce_sorted=True (or by the constructor without
them): torch code tests `packed.sorted_indices is None`.
`.lengths` (not torch's) is the lengths as an int64 numpy array.

torch's constructor works too: `PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices)` (torch
code applies a module to the valid steps that way: `PackedSequence(linear(p.data), p.batch_sizes,
p.sorted_indices, p.unsorted_indices)`) builds the padded batch from the packed layout, differentiably, and
keeps the order given, so `.data` and `.sorted_indices` come back as they went in.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

import numpy as np
import numpy.typing as npt

from ..creation import tensor
from ..tensor import ShapeError, Tensor, concatenate, stack, where
from ..views import _live_views_of
from .checks import (
    ArgumentTypeError,
    ArgumentValueError,
    InputRankError,
    LengthsError,
    NumberTypeError,
    check_bool,
    type_name,
)

__all__ = ["PackedSequence", "invert_permutation", "pad_sequence", "pack_padded_sequence", "pack_sequence",
           "pad_packed_sequence", "unpad_sequence", "unpack_sequence"]


@dataclass(frozen=True, eq=False, init=False)
class PackedSequence:
    """A padded batch and its lengths. Not a tuple: torch's PackedSequence is the tuple (data,
    batch_sizes, sorted_indices, unsorted_indices), so torch code that indexes or unpacks one
    (`out[0]` for the data) would silently get the padded batch from a (padded, lengths) tuple;
    here it is refused, naming the attributes to read. Torch's namedtuple methods by name are here:
    `packed._replace(data=f(packed.data))`, `_asdict()`, `_make(values)`, `_fields`.

    PackedSequence(data, batch_sizes, sorted_indices=None, unsorted_indices=None) is torch's constructor,
    from torch's packed layout (what `.data`, `.batch_sizes`, ... give); pack_padded_sequence and
    pack_sequence make one from a padded batch or a list of sequences."""
    padded: Tensor  # (T, B, *), time-major; steps t >= lengths[b] of sequence b are padding
    lengths: np.ndarray  # (B,) int64, each in [1, T], max(lengths) == T
    # the packing order torch's constructor was given (sorted_indices), kept so that .data and .sorted_indices
    # give back what went in; None: longest first, ties in the batch's order
    given_order: Optional[np.ndarray] = field(default=None, repr=False)
    # which of (sorted_indices, unsorted_indices) torch's PackedSequence would hold: neither after enforce_sorted=True,
    # only unsorted_indices from its constructor given that alone (the order is known either way: given_order)
    held_indices: tuple[bool, bool] = field(default=(True, True), repr=False)
    # (.data once made: the Tensor, its version then, whether it was made from padded; None until read)
    _data_made: ClassVar[Optional[tuple]] = None

    def __init__(self, data: Tensor | tuple, batch_sizes: Optional[Tensor] = None,
                 sorted_indices: Optional[Tensor] = None, unsorted_indices: Optional[Tensor] = None) -> None:
        padded, lengths, order = _from_packed_layout(data, batch_sizes, sorted_indices, unsorted_indices)
        _fill(self, padded, lengths, order, (sorted_indices is not None, unsorted_indices is not None
                                             or sorted_indices is not None))
        data = data[0] if isinstance(data, (tuple, list)) else data   # (torch's PackedSequence((data, batch_sizes)))
        object.__setattr__(self, "_data_made", (data, data._version, False))   # (padded is made from it)

    @classmethod
    def _of(cls, padded: Tensor, lengths: np.ndarray, given_order: Optional[np.ndarray] = None,
            held_indices: tuple[bool, bool] = (True, True)) -> PackedSequence:
        """The library's own constructor: a padded batch (T, B, *) and its checked lengths."""
        packed = object.__new__(cls)
        _fill(packed, padded, lengths, given_order, held_indices)
        return packed

    def _like(self, padded: Tensor) -> PackedSequence:
        """A PackedSequence of other steps in this one's layout (order and indices): a cast, a layer's output."""
        return PackedSequence._of(padded, self.lengths, self.given_order, self.held_indices)

    def _not_a_tuple(self, *args: Any) -> None:
        raise TypeError("PackedSequence is not a tuple here (torch's is (data, batch_sizes, sorted_indices, "
                        "unsorted_indices)): read .data, .batch_sizes, .sorted_indices, .unsorted_indices, or "
                        ".padded and .lengths")

    __iter__ = __getitem__ = _not_a_tuple

    # torch's PackedSequence is a namedtuple: torch code rebuilds one with `packed._replace(data=f(packed.data))`.
    # Its namedtuple API is here, by name (nothing positional, so nothing can mistake the padded batch for data).
    _fields = ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    _field_defaults: ClassVar[dict] = {}   # (torch's: no field has a default)

    def _asdict(self) -> dict:
        """{field: value} for torch's four fields, as torch's namedtuple gives them."""
        return {name: getattr(self, name) for name in self._fields}

    def _replace(self, **changes: Any) -> PackedSequence:
        """A new PackedSequence with some of torch's fields replaced (data: a Tensor of the same packed steps), built
        and checked as torch's constructor builds one; a name that is not a field is torch's ValueError."""
        unexpected = [name for name in changes if name not in self._fields]
        if unexpected:
            raise ValueError(f"Got unexpected field names: {unexpected!r}")
        return PackedSequence(**{**self._asdict(), **changes})

    @classmethod
    def _make(cls, iterable: Any) -> PackedSequence:
        """PackedSequence(*iterable) of exactly torch's four fields, as torch's namedtuple `_make`."""
        values = list(iterable)
        if len(values) != len(cls._fields):
            raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(values)}")
        return cls(*values)

    def _order(self) -> np.ndarray:
        if self.given_order is not None:
            return self.given_order
        return np.argsort(-self.lengths, kind="stable")

    def _batch_sizes(self) -> np.ndarray:
        return (self.lengths[None, :] > np.arange(self.padded.shape[0])[:, None]).sum(axis=1)

    @property
    def sorted_indices(self) -> Optional[Tensor]:
        """The batch order of torch's packed layout: longest first, ties in input order (int64 Tensor); None, as
        torch's, after enforce_sorted=True (the batch's own order)."""
        return _index_tensor(self._order()) if self.held_indices[0] else None

    @property
    def unsorted_indices(self) -> Optional[Tensor]:
        """The inverse of sorted_indices (torch's unsorted_indices): sorted_indices[unsorted_indices] is
        0..B-1, so a (B, ...) result in the packed order, indexed by it, is back in the batch's order. None, as
        torch's, after enforce_sorted=True."""
        if not self.held_indices[1]:
            return None
        inverse = np.empty(len(self.lengths), np.int64)
        inverse[self._order()] = np.arange(len(self.lengths))
        return _index_tensor(inverse)

    @property
    def is_cuda(self) -> bool:
        return False

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The padded batch cast as Tensor.to casts it (to(dtype), to("cpu"), to(tensor)); as torch's
        PackedSequence.to, differentiable, the lengths unchanged."""
        current = self._current_padded()
        padded = current.to(*args, **kwargs)
        return self if padded is current else self._like(padded)

    def float(self) -> PackedSequence:
        return self.to(np.float32)

    def double(self) -> PackedSequence:
        return self.to(np.float64)

    def long(self) -> PackedSequence:
        """int64 data (token ids), as torch's PackedSequence.long()."""
        return self.to(np.int64)

    def int(self) -> PackedSequence:
        """As torch's PackedSequence.int(): the data's Tensor.int(), which refuses (there are no int32 tensors here)
        and says to use .long()."""
        return self._like(self._current_padded().int())

    def cpu(self) -> PackedSequence:
        return self

    def is_pinned(self) -> bool:
        """False: no pinned (page-locked) memory here, as torch's CPU tensors that were not pinned."""
        return False

    @property
    def batch_sizes(self) -> Tensor:
        """How many sequences are still running at each time step (torch's batch_sizes, an int64 Tensor)."""
        return _index_tensor(self._batch_sizes())

    @property
    def data(self) -> Tensor:
        """The valid steps only, (sum(lengths), *), in torch's packed order (differentiable). One Tensor, as
        torch's field: the one the constructor was given, or made from the padded batch at the first read and kept,
        so that torch code reading `packed._data.grad` after a backward, or making it a leaf that requires grad
        (`packed._data.requires_grad_()`, as torch's own module tests do) before a layer runs, reads and feeds the
        Tensor the layer used (_current_padded)."""
        made = self._data_made
        if made is None:
            order, batch_sizes = self._order(), self._batch_sizes()
            t_idx = np.concatenate([np.full(n, t) for t, n in enumerate(batch_sizes)])
            b_idx = np.concatenate([order[:n] for n in batch_sizes])
            data = self.padded[t_idx, b_idx]
            made = (data, data._version, True)
            object.__setattr__(self, "_data_made", made)
        return made[0]

    def _current_padded(self) -> Tensor:
        """The padded batch a layer or pad_packed_sequence reads: rebuilt from .data (differentiably) when .data is no
        longer what the padded batch gives: made a leaf that requires grad after it was read, or written in place
        since (its version moved; or, once its memory was handed out where a write moves no version, at every read:
        _memory_handed_out). torch's PackedSequence holds .data alone, so every write of it is seen."""
        made = self._data_made
        if made is None:
            return self.padded
        data, version, from_padded = made
        if data._version == version and not _memory_handed_out(data) and not (from_padded and data.is_leaf
                                                                             and data.requires_grad):
            return self.padded
        padded, _, _ = _from_packed_layout(data, self.batch_sizes, _index_tensor(self._order()), None)
        object.__setattr__(self, "padded", padded)
        object.__setattr__(self, "_data_made", (data, data._version, False))
        return padded


def _memory_handed_out(data):
    """Whether `data`'s memory may have been written with no version moved: an array of it handed out (numpy(),
    np.asarray, DLPack), `x.data` read of it or of a tensor sharing it, or any view of it taken (a leaf's _viewed; a
    computed tensor's live sharers: views.py). Conservative: the padded batch is then rebuilt at every read."""
    if data._data_taken or data._viewed:
        return True
    return data._node is not None and _live_views_of(data)


def _fill(packed, padded, lengths, given_order, held_indices):
    """Set a new (frozen) PackedSequence's fields."""
    object.__setattr__(packed, "padded", padded)
    object.__setattr__(packed, "lengths", lengths)
    object.__setattr__(packed, "given_order", given_order)
    object.__setattr__(packed, "held_indices", held_indices)


def _from_packed_layout(data, batch_sizes, sorted_indices, unsorted_indices):
    """(padded (T, B, *), lengths, packing order) from torch's packed layout: data (sum(lengths), *) holds step t
    of the batch_sizes[t] longest sequences, in the order sorted_indices gives (or unsorted_indices' inverse; the
    batch's order when neither is given, as torch's enforce_sorted=True packs). The padded batch gathers data's
    rows (differentiable), zeros at the padding."""
    fn = "PackedSequence"
    if batch_sizes is None and isinstance(data, (tuple, list)) and len(data) == 2:   # torch's PackedSequence((d, bs))
        data, batch_sizes = data
    if not isinstance(data, Tensor) or data.ndim < 1:
        raise TypeError(f"{fn}: data must be a Tensor (sum(lengths), *) of packed steps, got {type_name(data)}")
    if not isinstance(batch_sizes, Tensor):   # (a numpy array might be lengths: refused rather than guessed at)
        raise TypeError(f"{fn}(data, batch_sizes, sorted_indices=None, unsorted_indices=None) takes torch's packed "
                        f"layout, batch_sizes an int64 Tensor as .batch_sizes gives, got {type_name(batch_sizes)}; "
                        "a padded batch and its lengths are packed by pack_padded_sequence(padded, lengths)")
    sizes = _checked_batch_sizes(fn, batch_sizes._data, data.shape[0])
    B = int(sizes[0])
    order = _checked_order(fn, sorted_indices, unsorted_indices, B)
    sorted_lengths = (sizes[None, :] > np.arange(B)[:, None]).sum(axis=1)   # of the j-th longest sequence
    lengths = np.empty(B, np.int64)
    lengths[order] = sorted_lengths
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])   # where step t's rows start in data
    rows = offsets[:, None] + np.arange(B)[None, :]   # (T, B), column j: the j-th longest sequence
    rows = np.where(np.arange(B)[None, :] < sizes[:, None], rows, data.shape[0])   # padding: the zero row below
    index = np.empty_like(rows)
    index[:, order] = rows   # column order[j] of the batch is the j-th longest sequence
    zero_row = tensor(np.zeros((1,) + data.shape[1:], dtype=data.dtype))
    return concatenate([data, zero_row], axis=0)[index], lengths, order


def _checked_batch_sizes(fn, sizes, rows):
    sizes = np.asarray(sizes)
    if sizes.dtype.kind not in "iu" or sizes.ndim != 1 or len(sizes) == 0:
        raise TypeError(f"{fn}: batch_sizes must be a non-empty 1-D int Tensor, got {sizes.dtype} of shape "
                        f"{tuple(sizes.shape)}")
    if sizes[-1] < 1 or np.any(np.diff(sizes) > 0) or sizes.sum() != rows:
        raise ValueError(f"{fn}: batch_sizes must be positive, non-increasing and add up to data's {rows} rows, "
                         f"got {sizes.tolist()}")
    return sizes.astype(np.int64)


def _checked_order(fn, sorted_indices, unsorted_indices, B):
    """The packing order (sorted_indices) as an int64 array: given, or the inverse of unsorted_indices, or the
    identity; when both are given they must be each other's inverse."""
    order = None if sorted_indices is None else _permutation(fn, "sorted_indices", sorted_indices, B)
    if unsorted_indices is not None:
        inverse = _permutation(fn, "unsorted_indices", unsorted_indices, B)
        if order is None:
            order = np.argsort(inverse)
        elif not np.array_equal(order[inverse], np.arange(B)):
            raise ValueError(f"{fn}: unsorted_indices must be the inverse of sorted_indices, got "
                             f"{inverse.tolist()} and {order.tolist()}")
    return np.arange(B) if order is None else order


def _permutation(fn, name, value, B):
    arr = np.asarray(value._data if isinstance(value, Tensor) else value)
    if arr.dtype.kind not in "iu" or arr.shape != (B,) or not np.array_equal(np.sort(arr), np.arange(B)):
        raise ValueError(f"{fn}: {name} must be a permutation of 0..{B - 1} (batch_sizes[0] = {B} sequences), got "
                         f"{arr.tolist()}")
    return arr.astype(np.int64)


def invert_permutation(permutation: Optional[Tensor]) -> Optional[Tensor]:
    """The inverse of a permutation of 0..n-1, as torch's (what unsorted_indices is to sorted_indices): an int64
    Tensor, None for None. Anything but a permutation is refused (torch's fills the missing places with whatever
    its new tensor held): an ArgumentValueError, a ValueError and torch's RuntimeError."""
    fn = "invert_permutation"
    if permutation is None:
        return None
    if not isinstance(permutation, Tensor):
        raise TypeError(f"{fn}: permutation must be an int Tensor or None, got {type_name(permutation)}")
    order = permutation._data
    if order.dtype.kind not in "iu" or order.ndim != 1 or not np.array_equal(np.sort(order), np.arange(order.size)):
        raise ArgumentValueError(f"{fn}: permutation must be a 1-D int Tensor holding each of 0..n-1 once, got "
                                 f"{order.dtype} {order.tolist()}")
    inverse = np.empty(order.size, np.int64)
    inverse[order] = np.arange(len(order))
    return _index_tensor(inverse)


def _index_tensor(values: np.ndarray) -> Tensor:
    """An int64 Tensor that never requires grad (as argmax's), for lengths and packing orders."""
    return Tensor._make(np.ascontiguousarray(values, dtype=np.int64), False)


def _check_lengths(fn, lengths, T, B, shortest=1):
    """lengths as an int64 array: B of them, each in [shortest, T] (packing: 1; unpad_sequence: 0, as pad_sequence
    pads a sequence of length 0)."""
    arr = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths)
    if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise ArgumentTypeError(f"{fn}: lengths must be a 1-D sequence of ints, got {arr.dtype} array of shape "
                                f"{tuple(arr.shape)}")
    if arr.shape[0] != B:   # (LengthsError: a ValueError, and the RuntimeError torch raises)
        raise LengthsError(f"{fn}: lengths must have one entry per sequence in the batch: expected {B}, "
                           f"got {arr.shape[0]}")
    if np.any(arr < shortest) or np.any(arr > T):
        bad = arr[(arr < shortest) | (arr > T)][0]
        raise LengthsError(f"{fn}: every length must be in [{shortest}, {T}] (the padded length), got {bad}")
    return arr.astype(np.int64)


def _check_padding_value(fn, value):
    """A number (nan and infinities included, as torch's padding values; a bool is one, True padding with 1 as
    torch's), or a 0-d Tensor of one as torch takes; not a string."""
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind in "biuf":
        return float(value._data)
    if not isinstance(value, (numbers.Real, np.bool_)):
        raise TypeError(f"{fn}: padding_value must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack Tensors of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padding with
    padding_value after each sequence (padding_side='left': before). Differentiable."""
    fn = "pad_sequence"
    if isinstance(sequences, Tensor) and sequences.ndim >= 2:   # as torch: a Tensor is its rows' list
        sequences = [sequences[i] for i in range(sequences.shape[0])]
    if isinstance(sequences, Tensor) or not hasattr(sequences, "__iter__"):
        raise ArgumentTypeError(f"{fn}: sequences must be a list of Tensors, got {type(sequences).__name__}")
    sequences = list(sequences)
    if not sequences:   # (ShapeError: a ValueError, and the RuntimeError torch raises)
        raise ShapeError(f"{fn}: sequences is empty")
    if padding_side not in ("right", "left"):
        raise ArgumentValueError(f"{fn}: padding_side must be 'right' or 'left', got {padding_side!r}")
    batch_first, padding_value = check_bool(fn, "batch_first", batch_first), _check_padding_value(fn, padding_value)
    for i, s in enumerate(sequences):
        _check_sequence(fn, i, s, sequences[0])
    T = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        if s.shape[0] == T:
            rows.append(s)
            continue
        # tensor(), not Tensor(): int64 ids and masks keep their dtype, as torch's (Tensor() makes float32)
        fill = tensor(np.full((T - s.shape[0],) + s.shape[1:], padding_value).astype(s.dtype))
        rows.append(concatenate([s, fill] if padding_side == "right" else [fill, s], axis=0))
    return stack(rows, axis=0 if batch_first else 1)


def _check_sequence(fn, i, s, first):
    """sequences[i] of pad_sequence: a Tensor (L_i, *) with the first one's trailing shape and dtype."""
    if not isinstance(s, Tensor):
        raise TypeError(f"{fn}: sequences[{i}] must be a Tensor of at least 1 dimension, got {type_name(s)}")
    if s.ndim < 1:   # (ArgumentTypeError: a TypeError, and the RuntimeError torch raises)
        raise ArgumentTypeError(f"{fn}: sequences[{i}] must be a Tensor of at least 1 dimension, got a Tensor of "
                                f"shape {tuple(s.shape)}")
    if s.shape[1:] != first.shape[1:]:   # (ShapeError: a ValueError, and the RuntimeError torch raises)
        raise ShapeError(f"{fn}: sequences[{i}] has shape {tuple(s.shape)}; every sequence must match sequences[0] "
                         f"after the length, {tuple(first.shape[1:])}")
    if s.dtype != first.dtype:   # (torch promotes them: nothing is upcast silently here)
        raise TypeError(f"{fn}: sequences[{i}] has dtype {s.dtype}, sequences[0] {first.dtype}; every sequence "
                        "must have one dtype (convert with .to())")


def pack_padded_sequence(input: Tensor, lengths: Tensor | npt.ArrayLike, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pair a padded batch (T, B, *) (or (B, T, *)) with its lengths, for a recurrent layer.
    As torch, enforce_sorted=True requires lengths in decreasing order (pass False otherwise);
    steps past the longest length are dropped."""
    fn = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor of at least 2 dimensions, got {type_name(input)}")
    if input.ndim < 2:
        raise InputRankError(f"{fn}: input must be a Tensor of at least 2 dimensions, got shape {tuple(input.shape)}")
    batch_first = check_bool(fn, "batch_first", batch_first)  # "False" is truthy: never read as True
    enforce_sorted = check_bool(fn, "enforce_sorted", enforce_sorted)
    if 0 in input.shape[:2]:   # (ShapeError: a ValueError, and the RuntimeError torch raises)
        raise ShapeError(f"{fn}: cannot pack an empty batch: input has shape {tuple(input.shape)} (no "
                         f"{'sequences' if input.shape[1 if batch_first else 0] else 'steps'}"
                         f"{', batch_first=True' if batch_first else ''})")
    if batch_first:
        input = input.swapaxes(0, 1)
    T, B = input.shape[0], input.shape[1]
    lengths = _check_lengths(fn, lengths, T, B)
    if enforce_sorted and np.any(np.diff(lengths) > 0):
        raise LengthsError(f"{fn}: lengths must be sorted in decreasing order with enforce_sorted=True, got "
                           f"{lengths.tolist()}; pass enforce_sorted=False to pack sequences in any order")
    longest = int(lengths.max())
    return PackedSequence._of(input[:longest] if longest < T else input, lengths,
                              held_indices=(not enforce_sorted, not enforce_sorted))


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """pack_padded_sequence(pad_sequence(sequences), their lengths)."""
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """(padded Tensor (T, B, *) or (B, T, *), lengths as an int64 Tensor, as torch) from a PackedSequence:
    padding steps hold padding_value; T is the longest length, or total_length if given."""
    fn = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{fn}: sequence must be a PackedSequence, got {type_name(sequence)}")
    batch_first, padding_value = check_bool(fn, "batch_first", batch_first), _check_padding_value(fn, padding_value)
    padded, lengths = sequence._current_padded(), sequence.lengths
    T = padded.shape[0]
    if total_length is not None:
        total_length = _check_total_length(fn, total_length)
        if total_length < T:
            raise ValueError(f"{fn}: total_length must be at least the longest length {T}, got {total_length}")
    valid = (np.arange(T)[:, None] < lengths[None, :]).reshape((T, len(lengths)) + (1,) * (padded.ndim - 2))
    # the padding in the data's dtype, as torch's: packed int64 ids (or masks) stay int64 (a float would make them
    # float32), and so does the fill below (tensor(), not Tensor(), which makes ints float32)
    fill_value = float(padding_value) if padded.dtype.kind == "f" else padded.dtype.type(padding_value)
    if padding_value != 0 or not np.all(valid):
        padded = where(valid, padded, fill_value)
    if total_length is not None and total_length > T:
        fill = tensor(np.full((total_length - T,) + padded.shape[1:], fill_value, dtype=padded.dtype))
        padded = concatenate([padded, fill], axis=0)
    return (padded.swapaxes(0, 1) if batch_first else padded), _index_tensor(lengths.copy())


def _check_total_length(fn, total_length):
    """An int, or a 0-d int Tensor as torch takes; not a bool or a float. A bool or float is a NumberTypeError: a
    TypeError, and the ValueError torch raises for one shorter than the longest length (torch compares first)."""
    if isinstance(total_length, Tensor) and total_length.ndim == 0 and total_length.dtype.kind in "iu":
        return int(total_length._data)
    if isinstance(total_length, (bool, np.bool_)) or not isinstance(total_length, (int, np.integer)):
        error = NumberTypeError if isinstance(total_length, (numbers.Real, np.bool_)) else TypeError
        raise error(f"{fn}: total_length must be an int, got {type_name(total_length)} {total_length!r}")
    return int(total_length)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor | npt.ArrayLike,
                   batch_first: bool = False) -> list[Tensor]:
    """The list of sequences (L_i, *) that pad_sequence padded: the inverse of pad_sequence."""
    fn = "unpad_sequence"
    if not isinstance(padded_sequences, Tensor):
        raise TypeError(f"{fn}: padded_sequences must be a Tensor of at least 2 dimensions, got "
                        f"{type_name(padded_sequences)}")
    if padded_sequences.ndim < 2:   # (InputRankError: a TypeError, and the IndexError torch raises)
        raise InputRankError(f"{fn}: padded_sequences must be a Tensor of at least 2 dimensions, got shape "
                             f"{tuple(padded_sequences.shape)}")
    x = padded_sequences if batch_first else padded_sequences.swapaxes(0, 1)  # (B, T, *)
    lengths = _check_lengths(fn, lengths, x.shape[1], x.shape[0], shortest=0)
    return [x[b, :n] for b, n in enumerate(lengths)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences in a PackedSequence, in the batch's order: the inverse of pack_sequence."""
    if not isinstance(packed_sequences, PackedSequence):
        raise TypeError(f"unpack_sequence: expected a PackedSequence, got {type_name(packed_sequences)}")
    return unpad_sequence(packed_sequences._current_padded(), packed_sequences.lengths)
