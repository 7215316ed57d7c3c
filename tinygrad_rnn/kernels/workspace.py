"""Reuse of the kernels' large arrays from one training step to the next.

Why: a training step allocates the same few arrays of megabytes every time (the gates, the cell states,
the outputs, the gate gradients). glibc serves such sizes with fresh pages that it gives back to the OS
on free (mmap, or the heap trimmed at the top), so each step pays a page fault per 4 KiB touched plus
the kernel zeroing the page. Measured, LSTM one thread, ms per step (fused vs the same with
MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ raised so that no page is ever returned): (50,32,64,128)
20.6 vs 16.3, (1000,8,32,64) 58 vs 31, about 1,700 faults per step. We do not change the allocator
for the whole process; instead the arrays themselves are kept.

The invariant: a pooled buffer is handed out again only when no array uses its memory any more.
Ownership is tracked by the pool itself, not read off the interpreter (reference counts mean different
things on different CPythons): each hand-out is a `_Lease` object, and the array given to the caller is
made from the lease (numpy records the lease as the array's base). Every view of that array, and every
view of a view, keeps the array - hence the lease - alive. When the last of them goes, the lease is
collected and its `__del__` puts the buffer back on the free list. A lease caught in a reference cycle
comes back later, when the cycle collector runs: memory is then merely not reused yet, never reused
too early.

    empty(shape, dtype)   like np.empty, from the pool when a free buffer of that size exists
    zeros(shape, dtype)   like np.zeros, the same way
    allocator(n, dtype)   empty, or plain np.empty when arrays of at most n elements are too small to pool
"""
import math
import os
import threading

import numpy as np

from . import aligned

MIN_BYTES = 64 * 1024          # smaller arrays come from malloc's free lists anyway (no page faults)
MAX_PER_SIZE = 6               # buffers owned per (bytes, dtype); beyond: plain np.empty (outputs kept by callers)
MAX_BYTES = 512 * 1024 * 1024  # all pooled buffers together

_lock = threading.Lock()       # guards the counts below; giving a buffer back needs no lock (list.append)
_free = {}                     # (nbytes, dtype) -> list of 1-D buffers no array uses
_owned = {}                    # (nbytes, dtype) -> how many buffers of that key the pool owns (free or leased)
_total = [0]                   # bytes owned
_generation = [0]              # bumped by clear(): leases from before it do not give their buffer back


def _new_lock_after_fork():
    """A fork()ed child may have copied the lock held by one of the parent's other threads."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


class _Lease:
    """One hand-out of a pooled buffer. numpy takes it as the base of the array built from it (through
    `__array_interface__`), so it lives exactly as long as some array uses the memory."""

    __slots__ = ("__array_interface__", "_buf", "_key", "_generation", "__weakref__")

    def __init__(self, buf, key, shape):
        interface = dict(buf.__array_interface__)
        interface["shape"] = tuple(shape)
        interface["strides"] = None
        self.__array_interface__ = interface
        self._buf, self._key, self._generation = buf, key, _generation[0]

    def __del__(self):
        if self._generation == _generation[0]:
            _free[self._key].append(self._buf)


def empty(shape, dtype):
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = math.prod(shape)
    nbytes = size * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype)
    key = (nbytes, dtype)
    with _lock:
        free = _free.setdefault(key, [])
        try:
            buf = free.pop()
        except IndexError:
            if _owned.get(key, 0) >= MAX_PER_SIZE or _total[0] + nbytes > MAX_BYTES:
                return np.empty(shape, dtype)
            buf = aligned.empty(size, dtype)   # (the loops' vectors and BLAS's read whole cache lines)
            _owned[key] = _owned.get(key, 0) + 1
            _total[0] += nbytes
    return np.asarray(_Lease(buf, key, shape))


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
        _generation[0] += 1
        _free.clear()
        _owned.clear()
        _total[0] = 0
