"""The fast path: one layer-direction of any recurrent layer as ONE node on the tape.

`run_fused(cell, x, state, lengths, reverse)` runs the whole sequence's forward, and later its whole
BPTT, in Numba kernels generated from the cell's own Tensor code (tinygrad_rnn/compile): the built-in
RNN, GRU and LSTM (whose cells are nn/cells.py's RNNCell, GRUCell, LSTMCell holding the layer's
parameters) as much as a user's cell under tr.nn.Recurrent. To the tape it is an ordinary primitive with
several outputs, so it composes with everything else: gradients reach the input, the initial state and
every parameter, through stacked and bidirectional layers, with lengths.

Its slow twin is the generic path in recurrent.py (the cell's Tensor code unrolled over T steps);
tests/kernels/test_fused_vs_tape.py and tests/kernels/test_compile.py hold the two together.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from ..tensor import Tensor


def _import_compiler():
    try:
        from ..compile.node import run_compiled
        return run_compiled, None
    except Exception as e:  # numba missing or broken: the generic tape still works
        return None, e


_run_compiled, _IMPORT_ERROR = _import_compiler()
_warned = False


def fused_available() -> bool:
    """True when the kernels can be generated; if not, warn once (with the reason) instead of hiding it."""
    global _warned
    if _run_compiled is None and not _warned:
        _warned = True
        warnings.warn(f"fused=True but the Numba kernels could not be imported ({_IMPORT_ERROR!r}); "
                      "running the generic tape instead", RuntimeWarning, stacklevel=3)
    return _run_compiled is not None


def run_fused(cell: Any, x: Tensor, state: Sequence[Tensor], lengths: Optional[np.ndarray], reverse: bool,
              known: Optional[tuple] = None, plan: Optional[tuple] = None) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One direction as one node. state: a tuple of (B, n) Tensors, or () to start from zeros (no zero
    tensors made per call). Returns (output (T, B, n_0), final state as a tuple of (1, B, n) slices of h_n).
    The reverse direction runs over each sequence from its last valid step back to its first. known: see
    compile/node.run_compiled. plan: a checkpointing plan (nn/bptt_plan.py) the node runs by, recomputing
    inside compiled code in the backward (compile/segments.py)."""
    return _run_compiled(cell, x, tuple(state), lengths, reverse, known, plan)
