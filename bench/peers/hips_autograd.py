"""A hand-written cell in autograd.numpy (HIPS autograd), looped in Python, grad of the loss.

HIPS autograd traces every numpy call of the loop and walks the trace backwards: the closest
relative of tinygrad_rnn's generic tape, so the interesting comparison for it.
"""
import autograd
import autograd.numpy as anp

from . import Runner

LIBRARY = "autograd"


def sigmoid(a):
    # 0.5 * (tanh(a/2) + 1) is the logistic function without exp overflow for large |a|.
    return 0.5 * (anp.tanh(0.5 * a) + 1.0)


def lstm_cell(x, state, w):
    h, c = state
    gates = anp.dot(x, w["weight_ih"].T) + w["bias_ih"] + anp.dot(h, w["weight_hh"].T) + w["bias_hh"]
    H = h.shape[1]
    i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
    c = sigmoid(f) * c + sigmoid(i) * anp.tanh(g)
    h = sigmoid(o) * anp.tanh(c)
    return h, (h, c)


def gru_cell(x, h, w):
    gi = anp.dot(x, w["weight_ih"].T) + w["bias_ih"]
    gh = anp.dot(h, w["weight_hh"].T) + w["bias_hh"]
    H = h.shape[1]
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = anp.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    h = (1 - z) * n + z * h
    return h, h


def rnn_cell(x, h, w):
    h = anp.tanh(anp.dot(x, w["weight_ih"].T) + w["bias_ih"] + anp.dot(h, w["weight_hh"].T) + w["bias_hh"])
    return h, h


CELLS = {"lstm": lstm_cell, "gru": gru_cell, "rnn": rnn_cell}


def build(cell, weights, x):
    cell_fn = CELLS[cell]
    T, B, H = x.shape[0], x.shape[1], weights["weight_hh"].shape[1]

    def loss(w):
        h0 = anp.zeros((B, H), dtype=x.dtype)
        state = (h0, h0) if cell == "lstm" else h0
        total = 0.0
        for t in range(T):
            out, state = cell_fn(x[t], state, w)
            total = total + anp.sum(out)
        return total

    grad_fn = autograd.grad(loss)
    w = dict(weights)
    result = {}

    def step():
        result["grads"] = grad_fn(w)

    return Runner(step=step, grads=lambda: result["grads"])
