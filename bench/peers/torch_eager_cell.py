"""A hand-written cell looped in eager PyTorch: what a PyTorch user writing a custom cell gets.

Written the way such a user would: one F.linear per weight and per step, gates split with
chunk, autograd records every op. No TorchScript, no torch.compile.
"""
import torch
import torch.nn.functional as F

from . import Runner

LIBRARY = "torch"


def lstm_cell(x, state, w):
    h, c = state
    gates = F.linear(x, w["weight_ih"], w["bias_ih"]) + F.linear(h, w["weight_hh"], w["bias_hh"])
    i, f, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, (h, c)


def gru_cell(x, h, w):
    gi = F.linear(x, w["weight_ih"], w["bias_ih"])
    gh = F.linear(h, w["weight_hh"], w["bias_hh"])
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    h = (1 - z) * n + z * h
    return h, h


def rnn_cell(x, h, w):
    h = torch.tanh(F.linear(x, w["weight_ih"], w["bias_ih"]) + F.linear(h, w["weight_hh"], w["bias_hh"]))
    return h, h


CELLS = {"lstm": lstm_cell, "gru": gru_cell, "rnn": rnn_cell}


def build(cell, weights, x):
    w = {n: torch.from_numpy(a.copy()).requires_grad_() for n, a in weights.items()}
    xt = torch.from_numpy(x)
    T, B, H = x.shape[0], x.shape[1], weights["weight_hh"].shape[1]
    cell_fn = CELLS[cell]

    def step():
        for p in w.values():
            p.grad = None
        h0 = torch.zeros(B, H)
        state = (h0, torch.zeros(B, H)) if cell == "lstm" else h0
        outs = []
        for t in range(T):
            out, state = cell_fn(xt[t], state, w)
            outs.append(out)
        torch.stack(outs).sum().backward()

    return Runner(step=step, grads=lambda: {n: p.grad.numpy().copy() for n, p in w.items()})
