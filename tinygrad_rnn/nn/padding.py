"""The padding layers, as torch.nn.ZeroPad1d/2d/3d, ConstantPad1d/2d/3d, ReflectionPad1d/2d/3d,
ReplicationPad1d/2d/3d and CircularPad1d/2d/3d (torch 2.13): each holds torch's padding tuple (an int repeated
to (left, right[, top, bottom[, front, back]])) and calls tr.nn.functional.pad, which does the work, checks the
input and differentiates (a copied entry's gradient adds up)."""
from __future__ import annotations

from collections.abc import Sequence

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]


def _amounts(padding, d):
    """torch's _ntuple(2 * d): an int repeated 2 * d times, a sequence kept as a tuple."""
    if isinstance(padding, Sequence):
        return tuple(padding)
    return (padding,) * (2 * d)


class _PadNd(Module):
    """F.pad(input, self.padding, mode) over the last `_dims` dims; repr the padding tuple, as torch's."""
    _dims, _mode = 1, "constant"

    def __init__(self, padding: int | Sequence[int]) -> None:
        self.padding = _amounts(padding, self._dims)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """F.pad(input, self.padding, 'constant', self.value)."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        self.padding, self.value = _amounts(padding, self._dims), value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """torch.nn.ConstantPad1d(padding, value): the last dim padded with value."""
    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """torch.nn.ConstantPad2d(padding, value): the last two dims padded with value."""
    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """torch.nn.ConstantPad3d(padding, value): the last three dims padded with value."""
    _dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """torch.nn.ZeroPad1d(padding): the last dim padded with zeros."""
    _dims = 1


class ZeroPad2d(_ZeroPadNd):
    """torch.nn.ZeroPad2d(padding): the last two dims padded with zeros."""
    _dims = 2


class ZeroPad3d(_ZeroPadNd):
    """torch.nn.ZeroPad3d(padding): the last three dims padded with zeros."""
    _dims = 3


class ReflectionPad1d(_PadNd):
    """torch.nn.ReflectionPad1d(padding): (C, L) or (N, C, L) mirrored at its ends, the edge not repeated."""
    _dims, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """torch.nn.ReflectionPad2d(padding): (C, H, W) or (N, C, H, W) mirrored."""
    _dims, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """torch.nn.ReflectionPad3d(padding): (C, D, H, W) or (N, C, D, H, W) mirrored."""
    _dims, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """torch.nn.ReplicationPad1d(padding): (C, L) or (N, C, L), its edges repeated."""
    _dims, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """torch.nn.ReplicationPad2d(padding): (C, H, W) or (N, C, H, W), its edges repeated."""
    _dims, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """torch.nn.ReplicationPad3d(padding): (C, D, H, W) or (N, C, D, H, W), its edges repeated."""
    _dims, _mode = 3, "replicate"


class _CircularPadNd(_PadNd):
    """F.pad(input, self.padding, 'circular') after torch's check of the input's rank (a ValueError)."""
    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        d = self._dims
        if isinstance(input, Tensor) and input.ndim not in (d + 1, d + 2):
            raise ValueError(f"expected {d + 1}D or {d + 2}D input (got {input.ndim}D input)")
        return F.pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """torch.nn.CircularPad1d(padding): (C, L) or (N, C, L), wrapped around."""
    _dims = 1


class CircularPad2d(_CircularPadNd):
    """torch.nn.CircularPad2d(padding): (C, H, W) or (N, C, H, W), wrapped around."""
    _dims = 2


class CircularPad3d(_CircularPadNd):
    """torch.nn.CircularPad3d(padding): (C, D, H, W) or (N, C, D, H, W), wrapped around."""
    _dims = 3
