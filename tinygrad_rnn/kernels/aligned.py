"""Arrays whose memory starts on a 64-byte boundary, for the weights the time loops multiply by at every step.

Why: OpenBLAS's SkylakeX kernels (AVX-512; what it picks on Intel Xeons and AMD Zen 4) compute the loops'
small products straight from the operands (see blas.SPLIT_GEMM), reading B, the recurrent weight, in 64-byte
vectors. A weight whose first element is not on a 64-byte boundary makes every such read span two cache
lines. numpy aligns its allocations to 16 bytes only, so a weight lands on a boundary one time in four.
Measured with bench/step_product.py --offsets (1 thread, us per call, B 64-byte aligned vs 16 bytes past):
float32 (32,128,512) 23.9 vs 32.8, (32,512,128) 20.9 vs 28.4, (32,256,1024) 96.5 vs 137.4, (16,256,1024)
47.9 vs 74.7; float64 (32,128,512) 46.0 vs 66.1, (16,256,1024) 151 vs 180. (torch's allocator aligns every
tensor to 64 bytes, so torch.nn's LSTM always had the fast case.)

    ALIGNMENT           64 bytes: one cache line, one AVX-512 vector
    is_aligned(a)       whether a's first element is on the boundary
    empty(shape, dtype) like np.empty, aligned
    copy(a, dtype)      a C-contiguous aligned copy of a (or of a.T, as the forward's transposed weight)

An aligned array is a view of a slightly larger buffer. Its numpy `.base` is a small holder object, not that
buffer, so to the rest of the library (which follows `.base` chains of ndarrays to find the memory an array
shares: Tensor.storage_offset, version counters) it owns its memory as a fresh array does.
"""
import math

import numpy as np

ALIGNMENT = 64


class _Holder:
    """Keeps the over-allocated buffer alive and shows numpy only its aligned part (numpy records the holder as
    the array's base, so the buffer lives exactly as long as some array uses it)."""

    __slots__ = ("__array_interface__", "_buf")

    def __init__(self, buf, start, shape, dtype):
        self._buf = buf
        self.__array_interface__ = {"data": (buf.__array_interface__["data"][0] + start, False),
                                    "shape": tuple(shape), "typestr": dtype.str, "strides": None, "version": 3}


def is_aligned(a):
    return a.__array_interface__["data"][0] % ALIGNMENT == 0


def empty(shape, dtype):
    """np.empty(shape, dtype), its first element on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = math.prod(shape) * dtype.itemsize
    buf = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -buf.__array_interface__["data"][0] % ALIGNMENT
    return np.asarray(_Holder(buf, start, shape, dtype))


def copy(a, dtype=None):
    """A C-contiguous copy of a (any layout, e.g. a transposed view), on a 64-byte boundary, in `dtype` (a's
    own if None)."""
    out = empty(a.shape, a.dtype if dtype is None else dtype)
    out[...] = a
    return out
