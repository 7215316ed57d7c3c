"""Convolutions over one, two or three dimensions, as torch.nn.Conv1d/2d/3d and ConvTranspose1d/2d/3d and
torch.nn.functional.conv1d/2d/3d and conv_transpose1d/2d/3d (torch 2.13): a front end for sequence models (a
convolution over time before a recurrent layer, as in speech models trained with CTC; a CRNN's convolutions over
an image of a line of text), and the decoders that upsample again.

    y[n, o, i, j] = bias[o] + sum over c, p, q of weight[o, c, p, q] * x_padded[n, g * C_in/G + c,
                                                                             i * stride + p * dilation, j * ...]

for output channel o of group g (one spatial index fewer for conv1d). Built from Tensor operations, so the tape
differentiates it (an im2col product): the padded input's windows (x.unfold once per spatial dim, a strided view),
every `dilation`-th tap of each window, and one batched product per group of the windows' columns with the
weights. The windows' gradient adds up where windows overlap (unfold's backward: one strided add per tap).

A transposed convolution is the gradient of a convolution with respect to its input, written as a convolution
too: `stride - 1` zeros spread between the input's entries, `dilation * (k - 1) - padding` zeros around them
(cropped where negative; `output_padding` more on the right), then the stride-1 convolution above with the kernel
flipped and its channel dims swapped per group. The tape differentiates that, so it has no backward of its own.
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

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "Conv1d",
           "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

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


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """torch.nn.functional.conv3d: input (N, C_in, D, H, W) or (C_in, D, H, W), weight (C_out, C_in / groups, KD,
    KH, KW), bias (C_out,); stride, padding and dilation an int or a (depth, height, width) triple; padding also
    "valid" or "same" (stride 1 only)."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Tensor:
    """torch.nn.functional.conv_transpose1d: input (N, C_in, L) or (C_in, L), weight (C_in, C_out / groups, K),
    bias (C_out,); output length (L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Tensor:
    """torch.nn.functional.conv_transpose2d: input (N, C_in, H, W) or (C_in, H, W), weight (C_in, C_out / groups,
    KH, KW), bias (C_out,); stride, padding, output_padding and dilation an int or a (height, width) pair."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Tensor:
    """torch.nn.functional.conv_transpose3d: input (N, C_in, D, H, W) or (C_in, D, H, W), weight (C_in,
    C_out / groups, KD, KH, KW), bias (C_out,); the sizes an int or a (depth, height, width) triple."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


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


def _conv_transpose(name, d, input, weight, bias, stride, padding, output_padding, groups, dilation):
    """The transposed convolution over d spatial dims: torch's checks, then a stride-1 convolution of the spread
    and padded input with the flipped kernel (module docstring)."""
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    stride, dilation = _ints(name, "stride", stride, d), _ints(name, "dilation", dilation, d)
    padding, output_padding = _ints(name, "padding", padding, d), _ints(name, "output_padding", output_padding, d)
    for what, values, low in (("stride", stride, 1), ("dilation", dilation, 1), ("padding", padding, 0),
                              ("output_padding", output_padding, 0)):
        if min(values) < low:
            raise RuntimeError(f"{'non-positive' if low else 'negative'} {what} is not supported")
    if any(op >= s and op >= dil for op, s, dil in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={output_padding}, stride={stride} and dilation={dilation}")
    if not isinstance(input, Tensor) or input.ndim not in (d + 1, d + 2):
        raise RuntimeError(f"Expected {d + 1}D (unbatched) or {d + 2}D (batched) input to {name}, but got input of "
                           f"size: {list(np.shape(input))}")
    unbatched = input.ndim == d + 1
    x = input.unsqueeze(0) if unbatched else input
    kernels = _transposed_kernels(name, d, x, weight, bias, groups)
    edges = [dil * (k - 1) - p for dil, k, p in zip(dilation, weight.shape[2:], padding)]
    sizes = [(size - 1) * s + edge * 2 + op - dil * (k - 1) + 1 for size, s, edge, op, dil, k in
             zip(x.shape[2:], stride, edges, output_padding, dilation, weight.shape[2:])]
    if min(sizes) < 1:
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, x.shape[2:]))}). Calculated output "
                           f"size per channel: ({' x '.join(map(str, sizes))}). Output size is too small")
    x = F.pad(_spread(x, stride), [amount for edge, op in zip(reversed(edges), reversed(output_padding))
                                   for amount in (edge, edge + op)])    # the last dim's pair first; < 0 crops
    y = _windows_times_weights(x, kernels, (1,) * d, dilation, groups)
    if bias is not None:
        y = y + bias.reshape(1, -1, *([1] * d))
    return y.squeeze(0) if unbatched else y


def _transposed_kernels(name, d, x, weight, bias, groups):
    """torch's checks of a transposed convolution's operands; its weight (C_in, C_out / G, *K) as an ordinary
    convolution's (C_out, C_in / G, *K), flipped along each spatial dim."""
    if not isinstance(weight, Tensor) or weight.ndim != d + 2:
        raise RuntimeError(f"{name}: expected a {d + 2}-D weight (in_channels, out_channels / groups, *kernel), got "
                           f"{list(np.shape(weight))}")
    groups = check_int(name, "groups", groups, 1)
    c_in, c_group = weight.shape[:2]
    if c_in % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(weight.shape)}] instead")
    if x.shape[1] != c_in:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} "
                           f"to have {c_in} channels, but got {x.shape[1]} channels instead")
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (c_group * groups,)):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {c_group * groups} elements, but got bias of size "
                           f"{list(np.shape(bias))} instead")
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise RuntimeError(f"{name}: expected scalar type {x.dtype} but found {t.dtype} ({what})")
    kernel = weight.shape[2:]
    swapped = weight.reshape(groups, c_in // groups, c_group, *kernel).transpose(1, 2)
    return swapped.reshape(c_group * groups, c_in // groups, *kernel).flip(tuple(range(2, d + 2)))


def _spread(x, stride):
    """x (N, C, *spatial) with stride[i] - 1 zeros between neighbours along spatial dim i: size (L - 1) * s + 1."""
    for i, s in enumerate(stride):
        if s == 1:
            continue
        axis, size = 2 + i, x.shape[2 + i]
        trailing = x.ndim - 1 - axis
        x = F.pad(x.unsqueeze(axis + 1), [0, 0] * trailing + [0, s - 1])     # (..., L, s, ...): zeros after each
        x = x.reshape(*x.shape[:axis], size * s, *x.shape[axis + 2:])
        x = x[(slice(None),) * axis + (slice(0, (size - 1) * s + 1),)]
    return x


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
    +-1/sqrt(in_channels / groups * prod(kernel_size)), what its kaiming_uniform_(a=sqrt(5)) gives; transposed,
    out_channels / groups), the forward (a padding_mode other than zeros pads first, by F.pad) and the repr.
    Subclasses set `_dims` (and `_transposed`)."""
    _dims = 0
    _transposed = False

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
        self.output_padding = (0,) * d
        # torch's weight: (out, in / groups, *k), transposed (in, out / groups, *k); its fan-in, dim 1 times k
        channels = (in_channels, out_channels // groups) if self._transposed else (out_channels, in_channels // groups)
        bound = 1.0 / np.sqrt(channels[1] * math.prod(self.kernel_size))
        self.weight = uniform(channels + self.kernel_size, bound, dtype)
        self.bias = uniform((out_channels,), bound, dtype) if check_bool(owner, "bias", bias) else None

    def forward(self, input: Tensor) -> Tensor:
        conv = (conv1d, conv2d, conv3d)[self._dims - 1]
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
        if self.output_padding != (0,) * d:
            parts.append(f"output_padding={self.output_padding}")
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


class Conv3d(_ConvNd):
    """torch.nn.Conv3d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
    bias=True, padding_mode='zeros', device=None, dtype=None): torch's parameters (weight (C_out, C_in / groups,
    KD, KH, KW), bias (C_out,)) and initialisation; (N, C_in, D, H, W) or unbatched (C_in, D, H, W) input."""
    _dims = 3


class _ConvTransposeNd(_ConvNd):
    """torch's _ConvTransposeNd: _ConvNd's arguments in torch's order (output_padding after padding, dilation
    last), the weight (C_in, C_out / groups, *K), zero padding only, and forward(input, output_size=None)."""
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                 output_padding: int | Sequence[int] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | Sequence[int] = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: npt.DTypeLike | None = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)
        self.output_padding = _ints(type(self).__name__, "output_padding", output_padding, self._dims)

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        conv = (conv_transpose1d, conv_transpose2d, conv_transpose3d)[self._dims - 1]
        output_padding = self._output_padding(input, output_size)
        return conv(input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                    self.dilation)

    def _output_padding(self, input, output_size):
        """output_padding, or the one that gives output_size (the spatial sizes, or all of them), as torch's."""
        if output_size is None:
            return self.output_padding
        d = self._dims
        leading = 2 if input.ndim == d + 2 else 1
        output_size = list(output_size)
        if len(output_size) == leading + d:
            output_size = output_size[leading:]
        if len(output_size) != d:
            raise ValueError(f"ConvTranspose{d}D: for {input.ndim}D input, output_size must have {d} or "
                             f"{leading + d} elements (got {len(output_size)})")
        smallest = [(size - 1) * s - 2 * p + dil * (k - 1) + 1 for size, s, p, dil, k in
                    zip(input.shape[leading:], self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [low + s - 1 for low, s in zip(smallest, self.stride)]
        if any(not low <= size <= high for size, low, high in zip(output_size, smallest, largest)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range from {smallest} to "
                             f"{largest} (for an input of {list(input.shape[leading:])})")
        return tuple(size - low for size, low in zip(output_size, smallest))


class ConvTranspose1d(_ConvTransposeNd):
    """torch.nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
    groups=1, bias=True, dilation=1, padding_mode='zeros', device=None, dtype=None): weight (C_in, C_out / groups,
    K), bias (C_out,), torch's initialisation; (N, C_in, L) or (C_in, L) input; forward(input, output_size=None)."""
    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """torch.nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
    groups=1, bias=True, dilation=1, padding_mode='zeros', device=None, dtype=None): weight (C_in, C_out / groups,
    KH, KW); (N, C_in, H, W) or (C_in, H, W) input; the sizes an int or a (height, width) pair."""
    _dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """torch.nn.ConvTranspose3d(in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
    groups=1, bias=True, dilation=1, padding_mode='zeros', device=None, dtype=None): weight (C_in, C_out / groups,
    KD, KH, KW); (N, C_in, D, H, W) or (C_in, D, H, W) input."""
    _dims = 3
