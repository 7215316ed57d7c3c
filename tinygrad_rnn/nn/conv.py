"""One-dimensional convolution, as torch.nn.Conv1d and torch.nn.functional.conv1d (torch 2.13): a front end for
sequence models (a convolution over time before a recurrent layer, as in speech models trained with CTC).

    y[n, o, l] = bias[o] + sum over c, k of weight[o, c, k] * x_padded[n, g * C_in/G + c, l * stride + k * dilation]

for output channel o of group g. Built from Tensor operations, so the tape differentiates it: the padded input's
windows (x.unfold, a strided view), every `dilation`-th tap of each window, and one batched product per group
with the weights. The windows' gradient adds up where windows overlap (unfold's backward).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor
from . import functional as F
from .checks import check_bool, check_device, check_int
from .module import Module, check_dtype, uniform

__all__ = ["conv1d", "Conv1d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """torch.nn.functional.conv1d: input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, K), bias
    (C_out,); padding an int, "valid" (none) or "same" (the output as long as the input; stride 1 only)."""
    stride, dilation = _one("stride", stride), _one("dilation", dilation)
    if stride < 1 or dilation < 1:
        raise RuntimeError(f"non-positive {'stride' if stride < 1 else 'dilation'} is not supported")
    unbatched = isinstance(input, Tensor) and input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    _check(x, weight, bias, groups)
    left, right = _padding(padding, stride, dilation, weight.shape[2])
    if left or right:
        x = F.pad(x, (left, right))
    y = _windows_times_weights(x, weight, stride, dilation, groups)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1)
    return y.squeeze(0) if unbatched else y


def _windows_times_weights(x, weight, stride, dilation, groups):
    """The convolution proper of a padded (N, C_in, L) input: (N, C_out, L_out)."""
    n, c_in, length = x.shape
    c_out, c_group, k = weight.shape
    span = dilation * (k - 1) + 1
    if span > length:
        raise RuntimeError(f"Calculated padded input size per channel: ({length}). Kernel size: ({span}). Kernel size "
                           "can't be greater than actual input size")
    windows = x.unfold(2, span, stride)                  # (N, C_in, L_out, span)
    if dilation > 1:
        windows = windows[..., ::dilation]               # (N, C_in, L_out, K)
    l_out = windows.shape[2]
    windows = windows.reshape(n, groups, c_group, l_out, k).permute(0, 1, 3, 2, 4)   # (N, G, L_out, C_in / G, K)
    windows = windows.reshape(n, groups, l_out, c_group * k)
    kernels = weight.reshape(groups, c_out // groups, c_group * k)
    y = windows @ kernels.transpose(1, 2)               # (N, G, L_out, C_out / G)
    return y.permute(0, 1, 3, 2).reshape(n, c_out, l_out)


def _one(name, value):
    """An int or a one-element sequence of one (torch's (k,) tuples)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"conv1d: {name} must be an int or a tuple of one int, got {value!r}")
    return int(value)


def _padding(padding, stride, dilation, k):
    """(left, right) zeros: an int both sides, "valid" none, "same" dilation * (k - 1) split with the extra one on
    the right, as torch."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: {padding!r}")
        if stride != 1:
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        total = dilation * (k - 1)
        return total // 2, total - total // 2
    amount = _one("padding", padding)
    if amount < 0:
        raise RuntimeError("negative padding is not supported")
    return amount, amount


def _check(x, weight, bias, groups):
    """torch's checks of the operands, in its words (RuntimeErrors)."""
    for name, t in (("input", x), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"conv1d: {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim != 3 or x.ndim != 3:
        raise RuntimeError(f"conv1d: expected a 3-D weight and a 2-D (unbatched) or 3-D (batched) input, got "
                           f"weight of size {list(weight.shape)} and input of size {list(x.shape)}")
    groups = check_int("conv1d", "groups", groups, 1)
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
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise RuntimeError(f"conv1d: expected scalar type {x.dtype} but found {t.dtype} ({name})")


class Conv1d(Module):
    """torch.nn.Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode='zeros'): torch's parameters and initialisation (weight and bias uniform in
    +-1/sqrt(in_channels / groups * kernel_size), what its kaiming_uniform_(a=sqrt(5)) gives)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        check_device("Conv1d", device)
        dtype = check_dtype(dtype, "Conv1d")
        self.in_channels = check_int("Conv1d", "in_channels", in_channels, 1)
        self.out_channels = check_int("Conv1d", "out_channels", out_channels, 1)
        self.groups = check_int("Conv1d", "groups", groups, 1)
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(PADDING_MODES)}, but got padding_mode={padding_mode!r}")
        self.kernel_size, self.stride = (_one("kernel_size", kernel_size),), (_one("stride", stride),)
        self.dilation = (_one("dilation", dilation),)
        if padding == "same" and self.stride != (1,):
            raise ValueError("padding='same' is not supported for strided convolutions")
        self.padding = padding if isinstance(padding, str) else (_one("padding", padding),)
        self.padding_mode = padding_mode
        fan_in = in_channels // groups * self.kernel_size[0]
        bound = 1.0 / np.sqrt(fan_in)
        self.weight = uniform((out_channels, in_channels // groups, self.kernel_size[0]), bound, dtype)
        self.bias = uniform((out_channels,), bound, dtype) if check_bool("Conv1d", "bias", bias) else None

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        left, right = _padding(padding, self.stride[0], self.dilation[0], self.kernel_size[0])
        return conv1d(F.pad(input, (left, right), mode=self.padding_mode), self.weight, self.bias, self.stride, 0,
                      self.dilation, self.groups)

    def extra_repr(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"]
        if self.padding != (0,):
            parts.append(f"padding={self.padding}")   # (a string unquoted, as torch prints it)
        if self.dilation != (1,):
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode}")
        return ", ".join(parts)

