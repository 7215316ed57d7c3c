"""The first pass of a row-wise softmax: each row shifted by its maximum (primitives.SoftmaxCrossEntropy).

    shift_by_row_max(x, out)    out[n] = x[n] - max(x[n]) for a 2-D x (C >= 1 columns); out of x's shape

Its slow twin is numpy's `x - np.max(x, axis=1, keepdims=True)`: the same bits for every row without a nan,
inf rows included (tests/kernels/test_step_kernels.py). numpy reduces each short row (the demo's 103 logits) in a
call of its own: 116 us for the demo's 2048 rows, then 55 us for the subtraction; this pass does both in
about 40 us.
"""
from . import njit


@njit(nogil=True)
def shift_by_row_max(x, out):
    """Eight running maxima per row (independent, so the compiler keeps them in one vector), then the shift.
    A nan never wins a comparison here, where np.max returns it: such a row keeps its other values shifted
    by the largest number, where the twin's row is all nan. Its softmax is nan all the same (the nan
    element's exp is in the row's sum), so a loss and its gradient do not differ."""
    n, c = x.shape
    for i in range(n):
        row = x[i]
        b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = row[0]
        j = 0
        while j + 8 <= c:
            v = row[j]
            b0 = v if v > b0 else b0
            v = row[j + 1]
            b1 = v if v > b1 else b1
            v = row[j + 2]
            b2 = v if v > b2 else b2
            v = row[j + 3]
            b3 = v if v > b3 else b3
            v = row[j + 4]
            b4 = v if v > b4 else b4
            v = row[j + 5]
            b5 = v if v > b5 else b5
            v = row[j + 6]
            b6 = v if v > b6 else b6
            v = row[j + 7]
            b7 = v if v > b7 else b7
            j += 8
        while j < c:
            v = row[j]
            b0 = v if v > b0 else b0
            j += 1
        b0 = b1 if b1 > b0 else b0
        b2 = b3 if b3 > b2 else b2
        b4 = b5 if b5 > b4 else b4
        b6 = b7 if b7 > b6 else b6
        b0 = b2 if b2 > b0 else b0
        b4 = b6 if b6 > b4 else b4
        best = b4 if b4 > b0 else b0
        for j in range(c):
            out[i, j] = row[j] - best
