"""tr.Size: torch.Size, the tuple of ints that `x.shape` and `x.size()` are.

A tuple subclass, so everything that takes a tuple takes it (numpy, `x.view(s)`, `tr.zeros(s)`, `s == (2, 3)`),
with torch's additions: `numel()`, the repr `tr.Size([2, 3])`, and a Size back from slicing, `+` (with a tuple on
either side) and `*`. Being its own type lets `x.new(y.size())` read a shape where `x.new((2, 3))` reads values, as
torch does. The engine itself reads numpy's shapes (`x._data.shape`); a Size is made only when the user-facing
`.shape` / `.size()` is read, by the tuple constructor alone (no check: numpy's shapes are ints already)."""
from __future__ import annotations

import functools
import math
import operator
from collections.abc import Iterable


class Size(tuple):
    """torch.Size: an immutable tuple of ints (a tensor's shape)."""

    __slots__ = ()

    def __new__(cls, sizes: Iterable = ()) -> Size:
        return tuple.__new__(cls, _ints(sizes))

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds (1 for the empty shape)."""
        return math.prod(self)

    def __repr__(self) -> str:
        return f"tr.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, index):   # s[1:] a Size, s[0] an int, as torch's
        if type(index) is slice:
            return _size(tuple.__getitem__(self, index))
        return tuple.__getitem__(self, index)

    def __add__(self, other: tuple) -> Size:
        if not isinstance(other, tuple):   # (a list too, as torch's: `s + [1]` is refused)
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to tr.Size")
        return Size(tuple.__add__(self, other))

    def __radd__(self, other: tuple) -> Size:   # (4,) + s: a Size, as torch's
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n: int) -> Size:
        return _size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))


# A Size of a tuple of ints already checked (numpy's shapes): the tuple constructor alone, called from C (a
# partial makes no Python frame: Tensor.shape runs it at every read)
_size = functools.partial(tuple.__new__, Size)


def _ints(sizes: Iterable) -> list[int]:
    """The sizes as Python ints: anything with __index__ (an int, a numpy integer, a bool, a one-element integer
    Tensor), as torch's; anything else is torch's TypeError naming the item."""
    out = []
    for i, item in enumerate(sizes):
        try:
            out.append(operator.index(item))
        except TypeError:
            raise TypeError(f"tr.Size() takes an iterable of 'int' (item {i} is '{type(item).__name__}')") from None
    return out
