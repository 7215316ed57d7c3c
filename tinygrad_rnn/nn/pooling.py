"""Pooling over one, two or three spatial dims, as torch.nn.MaxPool1d/2d/3d, AvgPool1d/2d/3d,
AdaptiveAvgPool1d/2d/3d, AdaptiveMaxPool1d/2d/3d and their torch.nn.functional forms (torch 2.13). Inputs are
(N, C, *spatial) or unbatched (C, *spatial).

Output sizes are torch's: out = floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1, rounded up
instead with ceil_mode, where the last window must still start inside the input or its left padding.

- Max pooling picks, in each window, the index torch's loop picks (the first maximum in row-major order; a NaN is
  the maximum, the last NaN of the window), found in numpy; the output gathers the input at those indices, so
  the gradient goes to them alone and adds up where windows overlap, as torch's.
- Average pooling sums the zero-padded input's windows (x.unfold per dim, on the tape) and divides by torch's
  count: the window within input and padding (count_include_pad) or within the input alone, or divisor_override.
- Adaptive average pooling averages the windows [floor(i * size / out), ceil((i + 1) * size / out)) of each dim:
  a product with one averaging matrix per dim (separable), so its gradient is the transposed product.
- Adaptive max pooling picks the maximum of those windows, as max pooling does: every window gathered at once,
  padded to the longest window of its dim (the padding masked out), so no loop runs over the output.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d",
           "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]


# --- arguments and sizes ---------------------------------------------------------------------------------------

def _ints(name, what, value, d):
    """An int or a sequence of 1 or d ints, as a tuple of d ints (torch's RuntimeError otherwise)."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(values) == 1:
        values = values * d
    if len(values) != d or any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))
                               for v in values):
        raise RuntimeError(f"{name}: {what} must either be a single int, or a tuple of {d} ints, got {value!r}")
    return tuple(int(v) for v in values)


def _spatial_input(name, input, d):
    """input as (N, C, *spatial) and whether it came unbatched; torch's RuntimeError for another rank."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (d + 1, d + 2):
        raise RuntimeError(f"{name}: expected a {d + 1}-D (unbatched) or {d + 2}-D (batched) input, got input of "
                           f"size {list(input.shape)}")
    if 0 in input.shape[-d - 1:]:
        raise RuntimeError(f"{name}: expected an input with non-zero sizes but for the batch dim, got "
                           f"{list(input.shape)}")
    if input.ndim == d + 1:
        return input.unsqueeze(0), True
    return input, False


def _window_args(name, d, kernel_size, stride, padding, dilation, effective):
    """kernel, stride (None or () is the kernel), padding, dilation as d-tuples, with torch's checks; effective:
    the padding bound is half the dilated kernel (max pooling) or half the kernel (average pooling)."""
    kernel = _ints(name, "kernel_size", kernel_size, d)
    stride = kernel if stride is None or stride == () or stride == [] else _ints(name, "stride", stride, d)
    padding, dilation = _ints(name, "padding", padding, d), _ints(name, "dilation", dilation, d)
    if min(stride) <= 0 or min(kernel) <= 0:
        raise RuntimeError(f"{name}: kernel_size and stride must be greater than zero, got kernel_size={kernel} and "
                           f"stride={stride}")
    if min(dilation) <= 0:
        raise RuntimeError(f"{name}: dilation must be greater than zero, got {dilation}")
    if min(padding) < 0:
        raise RuntimeError(f"{name}: padding must be non-negative, got {padding}")
    for k, p, dil in zip(kernel, padding, dilation):
        span = dil * (k - 1) + 1 if effective else k
        if p > span // 2:
            raise RuntimeError(f"pad should be at most half of {'effective ' if effective else ''}kernel size, but "
                               f"got pad={p}, kernel_size={k} and dilation={dil}")
    return kernel, stride, padding, dilation


def _out_sizes(name, x, kernel, stride, padding, dilation, ceil_mode):
    """torch's pooling_output_shape for each spatial dim; an output size below 1 is torch's RuntimeError."""
    sizes = []
    for size, k, s, p, dil in zip(x.shape[2:], kernel, stride, padding, dilation):
        out = (size + 2 * p - dil * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= size + p:   # the last window would start in the right padding
            out -= 1
        sizes.append(out)
    if min(sizes) < 1:
        raise RuntimeError(f"{name}: Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated output size: "
                           f"({'x'.join(map(str, (x.shape[1], *sizes)))}). Output size is too small")
    return tuple(sizes)


# --- max pooling --------------------------------------------------------------------------------------------------

def _first_max(values, valid):
    """Per row of (M, K) values, the index of torch's pick among the valid entries: the first maximum, or, in a
    row holding a NaN, its last NaN (torch's loop takes `val > max or isnan(val)`). A row whose valid values are
    all -inf picks its first valid entry, torch's starting index."""
    masked = np.where(valid, values, -np.inf)
    with np.errstate(invalid="ignore"):
        best = np.nanmax(np.where(np.isnan(masked), -np.inf, masked), axis=-1, keepdims=True)
    pick = np.argmax(valid & (masked == best), axis=-1)
    nans = valid & np.isnan(values)
    has_nan = nans.any(axis=-1)
    if has_nan.any():
        last_nan = values.shape[-1] - 1 - np.argmax(nans[:, ::-1], axis=-1)
        pick = np.where(has_nan, last_nan, pick)
    return pick


def _pick_by_index(x, flat):
    """x (N, C, *spatial) at the flat spatial indices `flat` (N, C, *out), on the tape (gather: the gradient goes
    to the picked entries, adding up where two outputs pick one entry)."""
    n, c = x.shape[:2]
    index = Tensor._make(np.ascontiguousarray(flat.reshape(n, c, -1)), False)
    return x.reshape(n, c, -1).gather(2, index).reshape(*flat.shape)


def _max_pool(name, d, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _spatial_input(name, input, d)
    kernel, stride, padding, dilation = _window_args(name, d, kernel_size, stride, padding, dilation, True)
    if d == 1 and not return_indices and padding[0] > kernel[0] // 2:   # torch's max_pool1d checks the undilated
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got padding="
                           f"{padding[0]} and kernel_size={kernel[0]}")
    out = _out_sizes(name, x, kernel, stride, padding, dilation, ceil_mode)
    # the windows of the input padded with -inf as far as the last window reaches (numpy, no tape)
    spans = [dil * (k - 1) + 1 for k, dil in zip(kernel, dilation)]
    widths = [(0, 0), (0, 0)] + [(p, max((o - 1) * s + span - size - p, 0))
                                 for o, s, span, size, p in zip(out, stride, spans, x.shape[2:], padding)]
    values, valid = np.pad(x._data, widths, constant_values=-np.inf), np.pad(np.ones(x.shape[2:], bool), widths[2:])
    for i in range(d):
        values = sliding_window_view(values, spans[i], axis=2 + i)
        valid = sliding_window_view(valid, spans[i], axis=i)
    where = tuple(slice(0, o * s, s) for o, s in zip(out, stride)) + tuple(slice(None, None, dil) for dil in dilation)
    values, valid = values[(Ellipsis,) + where], valid[where]                # (N, C, *out, *kernel)
    taps = math.prod(kernel)
    valid = np.broadcast_to(valid.reshape(1, 1, *out, taps), (*x.shape[:2], *out, taps)).reshape(-1, taps)
    pick = _first_max(values.reshape(-1, taps), valid).reshape(*x.shape[:2], *out)
    # the pick's position in the input, dim by dim: window start + tap * dilation - padding
    flat = np.zeros(pick.shape, np.int64)
    for i, tap in enumerate(np.unravel_index(pick, kernel)):
        start = (np.arange(out[i]) * stride[i]).reshape((-1,) + (1,) * (d - 1 - i))
        flat = flat * x.shape[2 + i] + start + tap * dilation[i] - padding[i]
    y = _pick_by_index(x, flat)
    if unbatched:
        y, flat = y.squeeze(0), flat[0]
    return (y, Tensor._make(flat, False)) if return_indices else y


def max_pool1d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """torch.nn.functional.max_pool1d: input (N, C, L) or (C, L); with return_indices also the int64 index of
    each maximum along L (torch's, for max_unpool1d)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """torch.nn.functional.max_pool2d: input (N, C, H, W) or (C, H, W); with return_indices also the int64 flat
    index (h * W + w) of each maximum, as torch's."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """torch.nn.functional.max_pool3d: input (N, C, D, H, W) or (C, D, H, W); with return_indices also the int64
    flat index ((d * H + h) * W + w) of each maximum, as torch's."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# --- average pooling ----------------------------------------------------------------------------------------------

def _divisors(x, out, kernel, stride, padding, count_include_pad):
    """torch's divisor of each output window, (*out): per dim, the window's length within input and padding
    (count_include_pad) or within the input alone; the product over dims."""
    total = np.ones((), x.dtype)
    for o, k, s, p, size in zip(out, kernel, stride, padding, x.shape[2:]):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        counts = end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0)
        total = total[..., None] * counts.astype(x.dtype)
    return total


def _avg_pool(name, d, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override=None):
    x, unbatched = _spatial_input(name, input, d)
    kernel, stride, padding, _ = _window_args(name, d, kernel_size, stride, padding, 1, False)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    out = _out_sizes(name, x, kernel, stride, padding, (1,) * d, ceil_mode)
    rights = [max((o - 1) * s + k - size - p, 0) for o, s, k, size, p in zip(out, stride, kernel, x.shape[2:], padding)]
    pads = [amount for p, right in zip(reversed(padding), reversed(rights)) for amount in (p, right)]
    windows = F.pad(x, pads) if any(pads) else x
    for i in range(d):   # (N, C, *windows, *kernel)
        windows = windows.unfold(2 + i, kernel[i], stride[i])
    windows = windows[(slice(None), slice(None)) + tuple(slice(0, o) for o in out)]
    sums = windows.sum(dim=tuple(range(-d, 0)))
    divisor = np.asarray(divisor_override, x.dtype) if divisor_override is not None else \
        _divisors(x, out, kernel, stride, padding, count_include_pad)
    y = sums / Tensor._make(divisor, False)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """torch.nn.functional.avg_pool1d: input (N, C, L) or (C, L)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """torch.nn.functional.avg_pool2d: input (N, C, H, W) or (C, H, W); divisor_override divides every window's
    sum by that number instead."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """torch.nn.functional.avg_pool3d: input (N, C, D, H, W) or (C, D, H, W); divisor_override divides every
    window's sum by that number instead."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


# --- adaptive pooling ---------------------------------------------------------------------------------------------

def _adaptive_sizes(name, x, output_size, d):
    """The output size per spatial dim: an int, or d of them (None keeps the input's size), with torch's checks."""
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * d
    if len(sizes) != d:
        raise RuntimeError(f"{name}() argument 'output_size' should contain {d} int{'s' if d > 1 else ''} "
                           f"(got {len(sizes)})")
    sizes = tuple(x.shape[2 + i] if s is None else s for i, s in enumerate(sizes))
    if any(isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) for s in sizes):
        raise TypeError(f"{name}: output_size must be ints (or None), got {output_size!r}")
    if min(sizes) < 0:
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 but received "
                           f"{output_size!r}")
    return tuple(int(s) for s in sizes)


def _adaptive_bounds(size, out):
    """torch's adaptive windows of a dim: output i covers [floor(i * size / out), ceil((i + 1) * size / out))."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _averaging_matrix(size, out, dtype):
    """(out, size): row i averages the adaptive window i."""
    starts, ends = _adaptive_bounds(size, out)
    columns = np.arange(size)
    inside = (columns >= starts[:, None]) & (columns < ends[:, None])
    return (inside / (ends - starts)[:, None]).astype(dtype)


def _adaptive_avg_pool(name, d, input, output_size):
    x, unbatched = _spatial_input(name, input, d)
    out = _adaptive_sizes(name, x, output_size, d)
    y = x
    for i in range(d):   # average spatial dim i: move it last, multiply by the averaging matrix, move it back
        matrix = Tensor._make(_averaging_matrix(x.shape[2 + i], out[i], x.dtype).T.copy(), False)
        y = (y.transpose(2 + i, -1) @ matrix).transpose(2 + i, -1)
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:
    """torch.nn.functional.adaptive_avg_pool1d: input (N, C, L) or (C, L) to (..., output_size)."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """torch.nn.functional.adaptive_avg_pool2d: input (N, C, H, W) or (C, H, W) to (..., H_out, W_out);
    output_size an int or a pair, None keeping that dim's size."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """torch.nn.functional.adaptive_avg_pool3d: input (N, C, D, H, W) or (C, D, H, W) to (..., D_out, H_out,
    W_out); output_size an int or a triple, None keeping that dim's size."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max_pool(name, d, input, output_size, return_indices):
    x, unbatched = _spatial_input(name, input, d)
    out = _adaptive_sizes(name, x, output_size, d)
    if min(out) == 0:
        y, flat = x[(Ellipsis,) + tuple(slice(0, 0) for _ in range(d))], np.zeros((*x.shape[:2], *out), np.int64)
    else:
        flat = _adaptive_max_indices(x._data, out)
        y = _pick_by_index(x, flat)
    if unbatched:
        y, flat = y.squeeze(0), flat[0]
    return (y, Tensor._make(flat, False)) if return_indices else y


def _adaptive_max_indices(data, out):
    """The flat spatial index of torch's pick in each adaptive window of data (N, C, *spatial), (N, C, *out): each
    dim's windows as rows of `longest` taps (a tap past its window's end repeats the window's last entry and is
    masked out), gathered at once by an open mesh of per-dim indices (numpy, no tape)."""
    d, spatial = len(out), data.shape[2:]
    positions, valid = [], np.ones((), bool)
    for i, (size, o) in enumerate(zip(spatial, out)):
        starts, ends = _adaptive_bounds(size, o)
        taps = np.arange(int((ends - starts).max()))
        index = np.minimum(starts[:, None] + taps, ends[:, None] - 1)        # (out_i, longest_i)
        inside = starts[:, None] + taps < ends[:, None]
        shape = [1] * (2 * d)
        shape[i], shape[d + i] = o, len(taps)
        positions.append(index.reshape(shape))
        valid = valid & inside.reshape(shape)                                # (*out, *longest) at the end
    windows = data[(slice(None), slice(None)) + tuple(positions)]           # (N, C, *out, *longest)
    taps = math.prod(windows.shape[2 + d:])
    valid = np.broadcast_to(valid, windows.shape[2:]).reshape(1, -1, taps)
    valid = np.broadcast_to(valid, (data.shape[0] * data.shape[1], valid.shape[1], taps)).reshape(-1, taps)
    pick = _first_max(windows.reshape(-1, taps), valid).reshape(*data.shape[:2], *out)
    flat = np.zeros(pick.shape, np.int64)
    for i, tap in enumerate(np.unravel_index(pick, windows.shape[2 + d:])):
        start = _adaptive_bounds(spatial[i], out[i])[0].reshape((-1,) + (1,) * (d - 1 - i))
        flat = flat * spatial[i] + start + tap
    return flat


def adaptive_max_pool1d(input: Tensor, output_size: int | Sequence[int],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """torch.nn.functional.adaptive_max_pool1d: input (N, C, L) or (C, L) to (..., output_size); with
    return_indices also the int64 index of each maximum."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """torch.nn.functional.adaptive_max_pool2d: input (N, C, H, W) or (C, H, W) to (..., H_out, W_out); with
    return_indices also the int64 flat index (h * W + w) of each maximum."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """torch.nn.functional.adaptive_max_pool3d: input (N, C, D, H, W) or (C, D, H, W) to (..., D_out, H_out,
    W_out); with return_indices also the int64 flat index ((d * H + h) * W + w) of each maximum."""
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


# --- modules ------------------------------------------------------------------------------------------------------

class _MaxPoolNd(Module):
    _function: Any = None

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        self.kernel_size, self.stride = kernel_size, stride if stride is not None and stride != () else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return type(self)._function(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                    self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """torch.nn.MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
    stride None is the kernel size; (N, C, L) or (C, L) input."""
    _function = staticmethod(max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """torch.nn.MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
    each an int or a (height, width) pair; stride None is the kernel size; (N, C, H, W) or (C, H, W) input."""
    _function = staticmethod(max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """torch.nn.MaxPool3d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
    each an int or a (depth, height, width) triple; stride None is the kernel size; (N, C, D, H, W) or
    (C, D, H, W) input."""
    _function = staticmethod(max_pool3d)


class AvgPool1d(Module):
    """torch.nn.AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    (N, C, L) or (C, L) input; its arguments kept as 1-tuples, as torch's."""

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        self.kernel_size = _ints("AvgPool1d", "kernel_size", kernel_size, 1)
        self.stride = _ints("AvgPool1d", "stride", stride if stride is not None and stride != () else kernel_size, 1)
        self.padding = _ints("AvgPool1d", "padding", padding, 1)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """torch.nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
    divisor_override=None): each size an int or a (height, width) pair; (N, C, H, W) or (C, H, W) input."""
    _function: Any = staticmethod(avg_pool2d)

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        self.kernel_size, self.stride = kernel_size, stride if stride is not None and stride != () else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                    self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(AvgPool2d):
    """torch.nn.AvgPool3d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
    divisor_override=None): each size an int or a (depth, height, width) triple; (N, C, D, H, W) or (C, D, H, W)
    input."""
    _function = staticmethod(avg_pool3d)


class _AdaptivePool(Module):
    _function: Any = None

    def __init__(self, output_size: int | Sequence[int | None]) -> None:
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """torch.nn.AdaptiveAvgPool1d(output_size): (N, C, L) or (C, L) to (..., output_size)."""
    _function = staticmethod(adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePool):
    """torch.nn.AdaptiveAvgPool2d(output_size): an int or a pair (None keeps that size)."""
    _function = staticmethod(adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptivePool):
    """torch.nn.AdaptiveAvgPool3d(output_size): an int or a triple (None keeps that size)."""
    _function = staticmethod(adaptive_avg_pool3d)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size: int | Sequence[int | None], return_indices: bool = False) -> None:
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return type(self)._function(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """torch.nn.AdaptiveMaxPool1d(output_size, return_indices=False)."""
    _function = staticmethod(adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """torch.nn.AdaptiveMaxPool2d(output_size, return_indices=False): an int or a pair (None keeps that size)."""
    _function = staticmethod(adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """torch.nn.AdaptiveMaxPool3d(output_size, return_indices=False): an int or a triple (None keeps that size)."""
    _function = staticmethod(adaptive_max_pool3d)
