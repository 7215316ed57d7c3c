"""Reuse of the kernels' large arrays from one training step to the next.

Why: a training step allocates the same few arrays of megabytes every time (the gates, the cell states,
the outputs, the gate gradients). glibc serves such sizes with fresh pages that it gives back to the OS
on free (mmap, or the heap trimmed at the top), so each step pays a page fault per 4 KiB touched plus
the kernel zeroing the page. Measured, LSTM one thread, ms per step (fused vs the same with
MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ raised so that no page is ever returned): (50,32,64,128)
20.6 vs 16.3, (1000,8,32,64) 58 vs 31, about 1,700 faults per step. We do not change the allocator
for the whole process; instead the arrays themselves are kept.

The invariant: a pooled buffer is handed out again only when nothing but the pool refers to it. Every
numpy view of a buffer holds a reference to it (view.base is the buffer), so Python's reference count
tells exactly whether some array - an output the caller kept, a `saved` record, a view of either - still
uses the memory. Nothing is freed or reused behind a live array.

    empty(shape, dtype)   like np.empty, from the pool when a free buffer of that size exists
    zeros(shape, dtype)   like np.zeros, the same way
    allocator(n, dtype)   empty, or plain np.empty when arrays of at most n elements are too small to pool
"""
import math
import sys
import threading

import numpy as np

MIN_BYTES = 64 * 1024          # smaller arrays come from malloc's free lists anyway (no page faults)
MAX_PER_SIZE = 6               # buffers kept per (bytes, dtype); beyond, plain np.empty (e.g. outputs kept by a caller)
MAX_BYTES = 512 * 1024 * 1024  # all pooled buffers together

_lock = threading.Lock()
_free = {}                      # (nbytes, dtype) -> list of 1-D owner arrays
_total = [0]
# A buffer is unused when its only references are the pool's list, the loop variable and getrefcount's argument.
_UNUSED_REFS = 3


def empty(shape, dtype):
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    nbytes = size * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype)
    key = (nbytes, dtype)
    with _lock:
        owners = _free.setdefault(key, [])
        for buf in owners:
            if sys.getrefcount(buf) == _UNUSED_REFS:
                return buf.reshape(shape)            # a view: holds a reference to buf while it lives
        if len(owners) >= MAX_PER_SIZE or _total[0] + nbytes > MAX_BYTES:
            return np.empty(shape, dtype)
        buf = np.empty(size, dtype)
        owners.append(buf)
        _total[0] += nbytes
        return buf.reshape(shape)


def allocator(largest_size, dtype):
    """`empty` when an array of `largest_size` elements is big enough to pool, else np.empty: a call
    that allocates several arrays, none bigger than that, decides once (a tiny layer's step is short
    enough for the pool's bookkeeping to show)."""
    return empty if largest_size * np.dtype(dtype).itemsize >= MIN_BYTES else np.empty


def zeros(shape, dtype):
    a = empty(shape, dtype)
    a.fill(0)
    return a


def clear():
    """Drop every pooled buffer (memory still used by live arrays is freed when they go)."""
    with _lock:
        _free.clear()
        _total[0] = 0
