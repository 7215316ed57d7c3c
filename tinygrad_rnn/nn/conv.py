"""Convolutions over one or two dimensions, as torch.nn.Conv1d / Conv2d and torch.nn.functional.conv1d / conv2d
(torch 2.13): a front end for sequence models (a convolution over time before a recurrent layer, as in speech
models trained with CTC; a CRNN's convolutions over an image of a line of text).

    y[n, o, i, j] = bias[o] + sum over c, p, q of weight[o, c, p, q] * x_padded[n, g * C_in/G + c,
                                                                             i * stride + p * dilation, j * ...]

for output channel o of group g (one spatial index fewer for conv1d). Built from Tensor operations, so the tape
differentiates it (an im2col product): the padded input's windows (x.unfold once per spatial dim, a strided view),
every `dilation`-th tap of each window, and one batched product per group of the windows' columns with the
weights. The windows' gradient adds up where windows overlap (unfold's backward: one strided add per tap).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor
from . import functional as F
from .checks import check_bool, check_device, check_int
from .module import Module, check_dtype, uniform

__all__ = ["conv1d", "conv2d", "Conv1d", "Conv2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """torch.nn.functional.conv1d: input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, K), bias
    (C_out,); padding an int, "valid" (none) or "same" (the output as long as the input; stride 1 only)."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """torch.nn.functional.conv2d: input (N, C_in, H, W) or (C_in, H, W), weight (C_out, C_in / groups, KH, KW),
    bias (C_out,); stride, padding and dilation an int or a pair (height, width); padding also "valid" (none) or
    "same" (the output as large as the input; stride 1 only)."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv(name, d, input, weight, bias, stride, padding, dilation, groups):
    """The convolution over d spatial dims: torch's checks, the zero padding, the product, the bias."""
    stride, dilation = _ints(name, "stride", stride, d), _ints(name, "dilation", dilation, d)
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f"non-positive {'stride' if min(stride) < 1 else 'dilation'} is not supported")
    unbatched = isinstance(input, Tensor) and input.ndim == d + 1
    x = input.unsqueeze(0) if unbatched else input
    _check(name, d, x, weight, bias, groups)
    pairs = _padding(name, padding, stride, dilation, weight.shape[2:])
    if any(left or right for left, right in pairs):
        x = F.pad(x, [amount for pair in reversed(pairs) for amount in pair])   # the last dim's pair first
    y = _windows_times_weights(x, weight, stride, dilation, groups)
    if bias is not None:
        y = y + bias.reshape(1, -1, *([1] * d))
    return y.squeeze(0) if unbatched else y


def _windows_times_weights(x, weight, stride, dilation, groups):
    """The convolution proper of a padded (N, C_in, *spatial) input: (N, C_out, *out)."""
    n, c_in = x.shape[:2]
    c_out, c_group = weight.shape[:2]
    kernel, d = weight.shape[2:], weight.ndim - 2
    spans = [dil * (k - 1) + 1 for dil, k in zip(dilation, kernel)]
    if any(span > size for span, size in zip(spans, x.shape[2:])):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, x.shape[2:]))}). "
                           f"Kernel size: ({' x '.join(map(str, spans))}). Kernel size can't be greater than "
                           "actual input size")
    windows = x
    for i in range(d):   # each unfold appends its window's dim: (N, C_in, *out, *spans)
        windows = windows.unfold(2 + i, spans[i], stride[i])
    if max(dilation) > 1:
        windows = windows[(Ellipsis,) + tuple(slice(None, None, dil) for dil in dilation)]   # (N, C_in, *out, *K)
    out = windows.shape[2:2 + d]
    positions, taps = math.prod(out), math.prod(kernel)
    windows = windows.reshape(n, groups, c_group, positions, taps).permute(0, 1, 3, 2, 4)
    columns = windows.reshape(n, groups, positions, c_group * taps)        # im2col: (N, G, positions, C_in/G * K)
    kernels = weight.reshape(groups, c_out // groups, c_group * taps)
    y = columns @ kernels.transpose(1, 2)                                  # (N, G, positions, C_out / G)
    return y.permute(0, 1, 3, 2).reshape(n, c_out, *out)


def _ints(owner, name, value, d):
    """An int, or a sequence of d ints (torch's (k,) and (kh, kw) tuples), as a tuple of d ints."""
    if isinstance(value, (tuple, list)) and len(value) == d:
        values = tuple(value)
    elif isinstance(value, (tuple, list)):
        raise RuntimeError(f"{owner}: expected {name} to be a single integer value or a list of {d} values to match "
                           f"the convolution dimensions, but got {name}={list(value)}")
    else:
        values = (value,) * d
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{owner}: {name} must be an int or a tuple of {d} ints, got {value!r}")
    return tuple(int(v) for v in values)


def _padding(owner, padding, stride, dilation, kernel):
    """(left, right) zeros per spatial dim: ints both sides, "valid" none, "same" dilation * (k - 1) split with the
    extra one on the right, as torch."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * len(kernel)
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: {padding!r}")
        if max(stride) != 1:
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        totals = [dil * (k - 1) for dil, k in zip(dilation, kernel)]
        return [(total // 2, total - total // 2) for total in totals]
    amounts = _ints(owner, "padding", padding, len(kernel))
    if min(amounts) < 0:
        raise RuntimeError("negative padding is not supported")
    return [(amount, amount) for amount in amounts]


def _check(name, d, x, weight, bias, groups):
    """torch's checks of the operands, in its words (RuntimeErrors)."""
    for what, t in (("input", x), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")
    if weight.ndim != d + 2 or x.ndim != d + 2:
        raise RuntimeError(f"{name}: expected a {d + 2}-D weight and a {d + 1}-D (unbatched) or {d + 2}-D (batched) "
                           f"input, got weight of size {list(weight.shape)} and input of size {list(x.shape)}")
    groups = check_int(name, "groups", groups, 1)
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(weight.shape)}] instead")
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {weight.shape[1] * groups} channels, but got {x.shape[1]} "
                           "channels instead")
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (weight.shape[0],)):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {list(np.shape(bias))} instead")
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise RuntimeError(f"{name}: expected scalar type {x.dtype} but found {t.dtype} ({what})")


class _ConvNd(Module):
    """torch's _ConvNd: the arguments' checks, parameters and initialisation (weight and bias uniform in
    +-1/sqrt(in_channels / groups * prod(kernel_size)), what its kaiming_uniform_(a=sqrt(5)) gives), the forward
    (a padding_mode other than zeros pads first, by F.pad) and the repr. Subclasses set `_dims` and `_function`."""
    _dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        owner, d = type(self).__name__, self._dims
        check_device(owner, device)
        dtype = check_dtype(dtype, owner)
        self.in_channels = check_int(owner, "in_channels", in_channels, 1)
        self.out_channels = check_int(owner, "out_channels", out_channels, 1)
        self.groups = check_int(owner, "groups", groups, 1)
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(PADDING_MODES)}, but got padding_mode={padding_mode!r}")
        self.kernel_size, self.stride = _ints(owner, "kernel_size", kernel_size, d), _ints(owner, "stride", stride, d)
        self.dilation = _ints(owner, "dilation", dilation, d)
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
        if padding == "same" and max(self.stride) != 1:
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.padding = padding if isinstance(padding, str) else _ints(owner, "padding", padding, d)
        self.padding_mode = padding_mode
        bound = 1.0 / np.sqrt(in_channels // groups * math.prod(self.kernel_size))
        self.weight = uniform((out_channels, in_channels // groups) + self.kernel_size, bound, dtype)
        self.bias = uniform((out_channels,), bound, dtype) if check_bool(owner, "bias", bias) else None

    def forward(self, input: Tensor) -> Tensor:
        conv = conv1d if self._dims == 1 else conv2d
        if self.padding_mode == "zeros":
            return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        pairs = _padding(type(self).__name__, self.padding, self.stride, self.dilation, self.kernel_size)
        padded = F.pad(input, [amount for pair in reversed(pairs) for amount in pair], mode=self.padding_mode)
        return conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        d = self._dims
        parts = [f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"]
        if self.padding != (0,) * d:
            parts.append(f"padding={self.padding}")   # (a string unquoted, as torch prints it)
        if self.dilation != (1,) * d:
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode}")
        return ", ".join(parts)


class Conv1d(_ConvNd):
    """torch.nn.Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode='zeros', device=None, dtype=None): torch's parameters (weight (C_out, C_in / groups,
    K), bias (C_out,)) and initialisation; (N, C_in, L) or unbatched (C_in, L) input."""
    _dims = 1


class Conv2d(_ConvNd):
    """torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode='zeros', device=None, dtype=None): torch's parameters (weight (C_out, C_in / groups,
    KH, KW), bias (C_out,)) and initialisation; (N, C_in, H, W) or unbatched (C_in, H, W) input. kernel_size,
    stride, padding and dilation an int or a (height, width) pair."""
    _dims = 2
