"""Scatter-add of rows: the backward of an embedding lookup (primitives.Embedding) and of `a[idx]` (GetItem).

    scatter_add_rows(out, index, rows)    out[index[n]] += rows[n] for n = 0, 1, ... in order

Its slow twin is numpy's `np.add.at(out, index, rows)`, which does the same additions in the same order
(so the two agree bit for bit: tests/kernels/test_step_kernels.py) but one element at a time through a generic
ufunc loop: 0.6 ms for the demo's 2048 rows of 32, against 8 us here (one thread, float32).
"""
from . import njit


@njit(nogil=True)
def scatter_add_rows(out, index, rows):
    """out (V, D), index (N,) of ints in [-V, V) (checked by the caller; a negative one counts from the end, as
    numpy's), rows (N, D): out[index[n]] += rows[n]. A repeated index adds up, in the order the indices come."""
    if rows.shape[1] == 1:   # rows of one element (a 1-D table): no row views, which cost more than the addition
        for n in range(index.shape[0]):
            out[index[n], 0] += rows[n, 0]
        return
    for n in range(index.shape[0]):
        target, row = out[index[n]], rows[n]
        for d in range(row.shape[0]):
            target[d] += row[d]
