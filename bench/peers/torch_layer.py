"""PyTorch's built-in layer (torch.nn.LSTM / GRU / RNN): the reference every ratio is taken to."""
import torch

from . import Runner

LIBRARY = "torch"
_LAYERS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


def build(cell, weights, x):
    I, H = weights["weight_ih"].shape[1], weights["weight_hh"].shape[1]
    kwargs = {"nonlinearity": "tanh"} if cell == "rnn" else {}
    layer = _LAYERS[cell](I, H, **kwargs)
    with torch.no_grad():
        for name, w in weights.items():
            getattr(layer, f"{name}_l0").copy_(torch.from_numpy(w))
    xt = torch.from_numpy(x)

    def step():
        layer.zero_grad(set_to_none=True)
        out, _ = layer(xt)
        out.sum().backward()

    def grads():
        return {n: getattr(layer, f"{n}_l0").grad.numpy().copy() for n in weights}

    return Runner(step=step, grads=grads)
