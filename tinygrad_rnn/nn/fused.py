"""The fast path: one layer-direction of RNN/GRU/LSTM as ONE node on the tape.

Its forward runs the whole sequence, its backward the whole BPTT, both in the Numba kernels of
tinygrad_rnn/kernels/fused_rnn.py. To the tape it is an ordinary primitive with several outputs,
so it composes with everything else: gradients reach the input, the initial state and every
weight, through stacked and bidirectional layers, with lengths.

Its slow twin is the generic path in recurrent.py (the cell's Tensor code unrolled over T steps);
tests/test_fused_vs_tape.py holds the two together.
"""
import warnings

import numpy as np

from ..primitives import Primitive
from ..tensor import Tensor, apply

try:
    from ..kernels.fused_rnn import rnn_backward, rnn_forward
    _IMPORT_ERROR = None
except Exception as e:  # numba missing or broken: the generic tape still works
    rnn_forward = rnn_backward = None
    _IMPORT_ERROR = e


def fused_available():
    """True when the kernels imported; if not, warn once (with the reason) instead of hiding it."""
    global _warned
    if rnn_forward is None and not _warned:
        _warned = True
        warnings.warn(f"fused=True but the Numba kernels could not be imported ({_IMPORT_ERROR!r}); "
                      "running the generic tape instead", RuntimeWarning, stacklevel=3)
    return rnn_forward is not None


_warned = False


class FusedRecurrence(Primitive):
    """(x, h0, [c0,] w_ih, w_hh, b_ih, b_hh) -> (output, h_n[, c_n]) for one layer and direction."""

    @staticmethod
    def forward(x, h0, *rest, mode, lengths, reverse):
        c0, weights = (rest[0], rest[1:]) if mode == "lstm" else (None, rest)
        out, h_n, c_n, saved = rnn_forward(mode, x, h0, c0, *weights, lengths, reverse)
        return ((out, h_n, c_n) if mode == "lstm" else (out, h_n)), saved

    @staticmethod
    def backward(gs, saved, needs, mode, lengths, reverse):
        dout, dh_n = gs[0], gs[1]
        dc_n = gs[2] if mode == "lstm" else None
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = rnn_backward(mode, saved, dout, dh_n, dc_n, need_dx=needs[0])
        states = (dh0, dc0) if mode == "lstm" else (dh0,)
        return (dx,) + states + (dw_ih, dw_hh, db_ih, db_hh)


def fused_direction(mode, x, state, w_ih, w_hh, b_ih, b_hh, lengths, reverse):
    """Run one direction; returns (output (T, B, H), final state tuple) like the generic path."""
    if b_ih is None:  # bias=False: the kernels take zero biases, held constant (no gradient)
        zero = Tensor(np.zeros(w_ih.shape[0], dtype=w_ih.dtype))
        b_ih = b_hh = zero
    outs = apply(FusedRecurrence, x, *state, w_ih, w_hh, b_ih, b_hh, mode=mode, lengths=lengths, reverse=reverse)
    return outs[0], tuple(outs[1:])
