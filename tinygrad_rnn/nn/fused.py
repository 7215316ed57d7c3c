"""The fast path: one layer-direction of RNN/GRU/LSTM as ONE node on the tape.

Its forward runs the whole sequence, its backward the whole BPTT, both in the Numba kernels of
tinygrad_rnn/kernels/fused_rnn.py. To the tape it is an ordinary primitive with several outputs,
so it composes with everything else: gradients reach the input, the initial state and every
weight, through stacked and bidirectional layers, with lengths.

Its slow twin is the generic path in recurrent.py (the cell's Tensor code unrolled over T steps);
tests/test_fused_vs_tape.py holds the two together.

Every other cell (tr.nn.Recurrent: PeepholeLSTMCell, JordanCell, LayerNormLSTMCell, a user's) runs as
kernels generated from its own Tensor code (tinygrad_rnn/compile), on the same runtime. RNN, GRU and
LSTM keep these hand-written kernels until the generated ones are as fast at every benchmark shape
(bench/compiled_cells.py measures both side by side).
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
    """(x, w_ih, w_hh, b_ih, b_hh[, h0[, c0]]) -> (output, h_n[, c_n]) for one layer and direction.

    Without initial states the sequence starts from zeros (nothing to differentiate, no zero
    tensors made per call). h_n and c_n come out as (1, B, H), the layer-direction's slice of the
    layer's h_n, so a one-layer, one-direction layer returns them as they are."""

    fresh_grads = True  # rnn_backward allocates every gradient it returns

    @staticmethod
    def forward(x, w_ih, w_hh, b_ih, b_hh, *state, mode, lengths, reverse):
        h0, c0 = (state + (None, None))[:2]  # None, None: the kernels start from zeros
        out, h_n, c_n, saved = rnn_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse)
        finals = (h_n[None], c_n[None]) if mode == "lstm" else (h_n[None],)
        return (out,) + finals, (saved, len(state))

    @staticmethod
    def backward(gs, saved, needs, mode, lengths, reverse):
        saved, n_state = saved
        dout, dh_n = gs[0], gs[1]
        dc_n = gs[2] if mode == "lstm" else None
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = rnn_backward(
            mode, saved, dout, None if dh_n is None else dh_n[0], None if dc_n is None else dc_n[0],
            need_dx=needs[0])
        return (dx, dw_ih, dw_hh, db_ih, db_hh) + (dh0, dc0)[:n_state]


def fused_direction(mode, x, state, w_ih, w_hh, b_ih, b_hh, lengths, reverse):
    """Run one direction; returns (output (T, B, H), final state tuple of (1, B, H)) like the generic path.
    state: the initial state tuple ((h0,) or (h0, c0), each (B, H)), or () to start from zeros."""
    if b_ih is None:  # bias=False: the kernels take zero biases, held constant (no gradient)
        zero = Tensor(np.zeros(w_ih.shape[0], dtype=w_ih.dtype))
        b_ih = b_hh = zero
    outs = apply(FusedRecurrence, x, w_ih, w_hh, b_ih, b_hh, *state, mode=mode, lengths=lengths, reverse=reverse)
    return outs[0], outs[1:]
