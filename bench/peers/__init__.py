"""The peers: one module per way of running an RNN training step, all behind one small interface.

Every peer module has

    LIBRARY: str                          the distribution whose version the report prints
    build(cell, weights, x) -> Runner     set up one (cell, shape) with the given weights

and raises ImportError at import time when its library is not installed, so the benchmark can
skip it with a note. `weights` is a dict of float32 arrays in torch.nn's layout and gate order
(weight_ih (G*H, I), weight_hh (G*H, H), bias_ih (G*H,), bias_hh (G*H,); see docs/learn/cells.md),
`x` is the input sequence (T, B, I). Everyone starts from h0 = 0 (and c0 = 0) and differentiates
the same loss, the sum of the output sequence, with respect to the four weights only (x does not
need a gradient, so nobody pays for dL/dx).
"""
import dataclasses
import importlib
from typing import Callable, Optional

import numpy as np

CELLS = ("lstm", "gru", "rnn")
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

# peer name -> module in this package. The order is the order of the report's rows.
PEERS = {
    "tinygrad_rnn-fused": "tinygrad_rnn_layers",
    "tinygrad_rnn-tape": "tinygrad_rnn_layers",
    "torch-nn": "torch_layer",
    "torch-eager-cell": "torch_eager_cell",
    "jax-scan": "jax_scan",
    "hips-autograd": "hips_autograd",
    "numpy-manual-bptt": "numpy_manual_bptt",
}
REFERENCE = "torch-nn"  # ratios in the report are relative to this peer

DESCRIPTIONS = {
    "tinygrad_rnn-fused": "tinygrad_rnn nn layer, fused=True (Numba kernels)",
    "tinygrad_rnn-tape": "tinygrad_rnn nn layer, fused=False (generic tape)",
    "torch-nn": "torch.nn.LSTM / GRU / RNN (built-in layer)",
    "torch-eager-cell": "hand-written cell looped in eager PyTorch, autograd",
    "jax-scan": "hand-written cell in lax.scan under jax.jit, jax.grad",
    "hips-autograd": "hand-written autograd.numpy cell looped in Python, autograd.grad",
    "numpy-manual-bptt": "plain numpy forward + hand-written BPTT (no autodiff)",
}


@dataclasses.dataclass
class Runner:
    step: Callable[[], None]       # one training step; returns only when the work is done
    grads: Callable[[], dict]      # after a step: {name: ndarray} for WEIGHT_NAMES, torch layout
    compile_s: Optional[float] = None  # ahead-of-time compile time, reported apart (JAX)


def load(peer):
    """The peer's module with `build` bound to the variant; raises ImportError if not installed."""
    module = importlib.import_module(f"{__name__}.{PEERS[peer]}")
    if peer.startswith("tinygrad_rnn"):
        fused = peer.endswith("fused")
        return module, (lambda cell, weights, x: module.build(cell, weights, x, fused=fused))
    return module, module.build


def make_inputs(cell, T, B, I, H, seed=0, dtype=np.float32):
    """Weights drawn like torch.nn's init, U(-1/sqrt(H), 1/sqrt(H)), and an input in N(0, 1)."""
    rng = np.random.default_rng(seed)
    G, k = GATES[cell], 1.0 / np.sqrt(H)
    shapes = {"weight_ih": (G * H, I), "weight_hh": (G * H, H), "bias_ih": (G * H,), "bias_hh": (G * H,)}
    weights = {n: rng.uniform(-k, k, s).astype(dtype) for n, s in shapes.items()}
    x = rng.standard_normal((T, B, I)).astype(dtype)
    return weights, x


def train_step_flops(cell, T, B, I, H):
    """Matmul FLOPs of one training step: forward 2*T*B*(I+H)*G*H, backward twice that.

    Forward: per step a (B, I) x (I, G*H) and a (B, H) x (H, G*H) matmul, 2 FLOPs per
    multiply-add. Backward: each forward matmul has two adjoints (the weight's gradient and the
    input's), each as costly as the forward one. The usual convention; elementwise work is left
    out (it is O(T*B*G*H), small next to the matmuls except at tiny H), and so is the fact that
    nobody needs dL/dx here (2*T*B*I*G*H less, the same for every peer).
    """
    forward = 2 * T * B * (I + H) * GATES[cell] * H
    return 3 * forward
