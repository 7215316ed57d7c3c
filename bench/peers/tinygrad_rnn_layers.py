"""tinygrad_rnn's own layers: tr.nn.LSTM / GRU / RNN, fused (Numba kernels) or on the generic tape.

Everything that depends on tinygrad_rnn's API is in this file, in the two helpers below and in
`build`, so an API change is fixed here and nowhere else.
"""
import numpy as np

import tinygrad_rnn as tr

from . import Runner

LIBRARY = "tinygrad_rnn"
_LAYERS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def _param(layer, name):
    """The layer's Tensor for torch's weight `name`, under the torch name with or without `_l0`."""
    for attr in (name, f"{name}_l0"):
        if hasattr(layer, attr):
            return getattr(layer, attr)
    raise AttributeError(f"tinygrad_rnn layer has no parameter {name!r} (nor {name}_l0)")


def _fused_kernels_available():
    try:
        from tinygrad_rnn.nn.fused import fused_available
    except ImportError:  # no such probe in this version: trust the layer
        return True
    return fused_available()


def build(cell, weights, x, fused):
    I, H = weights["weight_ih"].shape[1], weights["weight_hh"].shape[1]
    kwargs = {"nonlinearity": "tanh"} if cell == "rnn" else {}
    if not hasattr(tr.nn, _LAYERS[cell]):  # not written yet: skip like a missing library
        raise ImportError(f"tinygrad_rnn.nn has no {_LAYERS[cell]} yet")
    if fused and not _fused_kernels_available():  # the layer would quietly run the tape instead
        raise ImportError("tinygrad_rnn's fused kernels are unavailable here")
    layer = getattr(tr.nn, _LAYERS[cell])(I, H, dtype=np.float32, fused=fused, **kwargs)
    for name, w in weights.items():
        _param(layer, name)._data[...] = w
    xt = tr.Tensor(x)

    def step():
        layer.zero_grad()
        out = layer(xt)[0]  # (out, (h, c)) for LSTM, (out, h) for the others
        out.sum().backward()

    def grads():
        return {n: np.array(_param(layer, n).grad) for n in weights}

    return Runner(step=step, grads=grads)
