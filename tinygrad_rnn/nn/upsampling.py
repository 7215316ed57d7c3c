"""Resampling, as torch.nn.functional.interpolate (and its older names upsample, upsample_nearest,
upsample_bilinear), torch.nn.Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, and the pixel shuffles
(torch.nn.PixelShuffle / PixelUnshuffle, F.pixel_shuffle / pixel_unshuffle), as torch 2.13's.

Every mode but "area" is separable: each spatial dim is resampled on its own, one dim after another.

- nearest / nearest-exact: each output position reads one input position (torch's index, computed as torch
  computes it: in float32, `floor(dst * scale)` or `floor((dst + 0.5) * scale)`); an index_select on the tape,
  so the gradient adds up where one input feeds several outputs.
- linear / bilinear / trilinear / bicubic: each output position is a weighted sum of two (cubic: four, clamped at
  the border) input positions, torch's source index and weights in the input's precision. The weights of a dim
  form a sparse (out, in) matrix; resampling a dim is one product with it, so the gradient is the transposed
  product, on the tape.
- area: the adaptive average pool of the output's size.

The scale used for the source index is 1 / scale_factor when a scale_factor is given (and not recomputed), else
in / out (align_corners: (in - 1) / (out - 1)), as torch's.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..tensor import Tensor
from .checks import check_int
from .module import Module
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle"]

INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
MODE_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}
CUBIC_A = -0.75   # torch's (and OpenCV's) cubic convolution constant


# --- arguments --------------------------------------------------------------------------------------------------

def _output_sizes(input, size, scale_factor, mode, recompute_scale_factor):
    """(output sizes, the scale factors the source index uses or None per dim), with torch's checks in its order."""
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if isinstance(size, (list, tuple)) and len(size) != dim:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(input.shape[2:])} and output size of {size}. Please "
                             "provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, "
                             "...,oK) format.")
        if any(isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) for s in sizes):
            raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, int],"
                            f" but got size with types {[type(s) for s in sizes]}")
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return [int(s) for s in sizes], [None] * dim
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    factors = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
    if isinstance(scale_factor, (list, tuple)) and len(scale_factor) != dim:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape "
                         f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                         "scale_factor in (s1, s2, ...,sK) format.")
    if any(isinstance(f, (bool, np.bool_)) or not isinstance(f, (int, float, np.integer, np.floating))
           for f in factors):
        raise TypeError(f"interpolate: scale_factor must be a float or a sequence of floats, got {scale_factor!r}")
    sizes = [int(n * float(f)) for n, f in zip(input.shape[2:], factors)]   # truncated, as torch's
    if recompute_scale_factor or mode == "area":
        return sizes, [None] * dim
    return sizes, [float(f) for f in factors]


def _check_sizes(input, sizes):
    """torch's RuntimeError for an empty input or output dim."""
    names = "DHW"[-len(sizes):] if len(sizes) <= 3 else [str(i) for i in range(len(sizes))]
    if min(input.shape[2:]) < 1 or min(sizes) < 1:
        given = ", ".join(f"{n}: {s}" for n, s in zip(names, input.shape[2:]))
        wanted = ", ".join(f"{n}: {s}" for n, s in zip(names, sizes))
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({given}) and output "
                           f"({wanted})")


# --- where each output reads ------------------------------------------------------------------------------------

def _scale(size, out, factor, align_corners, dtype):
    """torch's area_pixel_compute_scale in the given precision: the input step per output step."""
    if align_corners:
        return dtype.type(size - 1) / dtype.type(out - 1) if out > 1 else dtype.type(0)
    if factor is not None and factor > 0:
        return dtype.type(1.0 / factor)
    return dtype.type(size) / dtype.type(out)


def _nearest_index(size, out, factor, exact, shortcuts):
    """torch's nearest (or nearest-exact) source index of each output position, computed in float32 as torch's.
    torch's 2-D nearest kernel (alone: the 1-D and 3-D ones do not) copies a dim whose size stays and repeats
    each entry twice for a dim whose size doubles, whatever the scale_factor: `shortcuts`."""
    dst = np.arange(out)
    if shortcuts and out == size:
        return dst
    if shortcuts and out == 2 * size:
        return dst >> 1
    scale = _scale(size, out, factor, False, np.dtype(np.float32))
    where = ((dst + 0.5) * np.float64(scale)).astype(np.float32) if exact else dst.astype(np.float32) * scale
    return np.minimum(np.floor(where).astype(np.int64), size - 1)


def _cubic_weights(t):
    """The four cubic-convolution weights of the taps at -1, 0, 1, 2 for a fraction t, as torch's."""
    a = t.dtype.type(CUBIC_A)

    def near(x):       # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):        # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    one = t.dtype.type(1)
    return [far(t + one), near(t), near(one - t), far(2 * one - t)]


def _weight_matrix(size, out, factor, align_corners, cubic, dtype):
    """(out, size): row i holds the weights of output i's taps (linear: two, cubic: four), torch's source index
    (`scale * (dst + 0.5) - 0.5`, clamped at 0 for linear; `scale * dst` with align_corners) and weights."""
    scale = _scale(size, out, factor, align_corners, dtype)
    dst = np.arange(out).astype(dtype)
    source = scale * dst if align_corners else scale * (dst + dtype.type(0.5)) - dtype.type(0.5)
    if not cubic and not align_corners:
        source = np.maximum(source, dtype.type(0))
    first = np.minimum(np.floor(source).astype(np.int64), size - 1)
    fraction = np.clip(source - first.astype(dtype), 0, 1).astype(dtype)
    rows = np.arange(out)
    matrix = np.zeros((out, size), dtype)
    if cubic:
        for tap, weight in zip(range(-1, 3), _cubic_weights(fraction)):
            np.add.at(matrix, (rows, np.clip(first + tap, 0, size - 1)), weight)
    else:
        np.add.at(matrix, (rows, first), 1 - fraction)
        np.add.at(matrix, (rows, first + (first < size - 1)), fraction)
    return matrix


def _resample_dims(x, matrices):
    """x with each spatial dim i multiplied by matrices[i] (out_i, in_i): moved last, one product, moved back
    (None: the dim stays as it is)."""
    for i, matrix in enumerate(matrices):
        if matrix is None:
            continue
        axis = 2 + i
        x = (x.transpose(axis, -1) @ Tensor._make(np.ascontiguousarray(matrix.T), False)).transpose(axis, -1)
    return x


# --- interpolate --------------------------------------------------------------------------------------------------

def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """torch.nn.functional.interpolate: resample (N, C, *spatial) input (1 to 3 spatial dims) to `size`, or to
    floor(in * scale_factor); mode nearest, nearest-exact, area, linear (3-D input), bilinear or bicubic (4-D),
    trilinear (5-D). align_corners (interpolating modes only) maps the corner pixels' centres onto each other."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: input must be a Tensor, got {type(input).__name__}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear "
                             "| bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    sizes, factors = _output_sizes(input, size, scale_factor, mode, recompute_scale_factor)
    _check_mode(input, mode, antialias)
    if not input.is_floating_point():   # torch's kernels take no integer input (nor bool)
        raise NotImplementedError(f"interpolate: {mode} mode is not implemented for {input.dtype} input (a "
                                  "floating-point one only, as torch's)")
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[input.ndim - 3](input, sizes)
    _check_sizes(input, sizes)
    if mode in ("nearest", "nearest-exact"):
        y = input
        for i, (n, out, factor) in enumerate(zip(input.shape[2:], sizes, factors)):
            index = _nearest_index(n, out, factor, mode == "nearest-exact", mode == "nearest" and input.ndim == 4)
            y = y.index_select(2 + i, Tensor._make(index, False))
        return y
    # torch's linear modes leave a dim whose size does not change as it is, whatever the scale_factor
    matrices = [None if n == out and mode != "bicubic" else
                _weight_matrix(n, out, factor, align_corners, mode == "bicubic", input.dtype)
                for n, out, factor in zip(input.shape[2:], sizes, factors)]
    return _resample_dims(input, matrices)


def _check_mode(input, mode, antialias):
    """torch's errors for a mode and an input rank that do not go together, in its order."""
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")
    if input.ndim not in (3, 4, 5) or mode not in ("nearest", "nearest-exact", "area", *INTERPOLATING):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  "the modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact"
                                  f" (got {mode}); lanczos is not here")
    if mode in MODE_RANK and input.ndim != MODE_RANK[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {MODE_RANK[mode]}D input")
    if antialias:
        raise NotImplementedError(f"interpolate: antialias=True ({mode} with an antialiasing filter) is not here")


def upsample(input: Tensor, size: int | Sequence[int] | None = None,
             scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """torch.nn.functional.upsample (deprecated in torch, with its warning): interpolate."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: int | Sequence[int] | None = None,
                     scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """torch.nn.functional.upsample_nearest (deprecated in torch, with its warning): interpolate, mode nearest."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: int | Sequence[int] | None = None,
                      scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """torch.nn.functional.upsample_bilinear (deprecated in torch, with its warning): interpolate, mode bilinear,
    align_corners=True."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# --- pixel shuffles -----------------------------------------------------------------------------------------------

def _check_shuffle(name, input, factor, what):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    factor = check_int(name, what, factor)
    if input.ndim < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input with {input.ndim} "
                           "dimension(s)")
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {factor}")
    return factor


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """torch.nn.functional.pixel_shuffle: (*, C * r^2, H, W) to (*, C, H * r, W * r), output[c, h * r + i,
    w * r + j] = input[c * r^2 + i * r + j, h, w]; a reshape and a permute (any dtype)."""
    r = _check_shuffle("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    b = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = x.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)                   # (*, C, H, r, W, r)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """torch.nn.functional.pixel_unshuffle, pixel_shuffle's inverse: (*, C, H * r, W * r) to (*, C * r^2, H, W)."""
    r = _check_shuffle("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *batch, c, h, w = input.shape
    for name, n, i in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({i})={n} is not divisible by {r}")
    b = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)                   # (*, C, r, r, H / r, W / r)
    return x.reshape(*batch, c * r * r, h // r, w // r)


# --- modules ------------------------------------------------------------------------------------------------------

class Upsample(Module):
    """torch.nn.Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None,
    recompute_scale_factor=None): interpolate with these arguments; scale_factor kept as a float (or a tuple of
    floats), as torch's, and torch's repr."""

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """torch.nn.UpsamplingNearest2d(size=None, scale_factor=None): Upsample with mode 'nearest'."""

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """torch.nn.UpsamplingBilinear2d(size=None, scale_factor=None): Upsample with mode 'bilinear' and
    align_corners=True."""

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """torch.nn.PixelShuffle(upscale_factor): (*, C * r^2, H, W) to (*, C, H * r, W * r)."""

    def __init__(self, upscale_factor: int) -> None:
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """torch.nn.PixelUnshuffle(downscale_factor): (*, C, H * r, W * r) to (*, C * r^2, H, W)."""

    def __init__(self, downscale_factor: int) -> None:
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
