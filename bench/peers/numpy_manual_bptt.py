"""Plain numpy, no autodiff: the forward pass and the textbook BPTT formulas written by hand.

What a careful numpy programmer writes: the input projection of all T steps is one big matmul
(it does not depend on the recurrence), each step does one recurrent matmul; backward walks the
steps in reverse collecting the gate-preactivation gradients, then the weight gradients are two
big matmuls over all steps at once. This is the floor a numpy-based framework can aim at.
Notation: `a` is a pre-activation, `d*` is dL/d*, loss = sum of all h_t so dL/dh_t starts at 1.
"""
import numpy as np

from . import Runner

LIBRARY = "numpy"


def sigmoid(a):
    return 0.5 * (np.tanh(0.5 * a) + 1)  # exp-free, no overflow warning


def _weight_grads(da_ih, da_hh, x, hs, w):
    """dW = sum_t da_t^T input_t, as one matmul over the T*B rows; the biases sum over them."""
    TB = x.shape[0] * x.shape[1]
    da_ih, da_hh = da_ih.reshape(TB, -1), da_hh.reshape(TB, -1)
    return {
        "weight_ih": da_ih.T @ x.reshape(TB, -1),
        "weight_hh": da_hh.T @ hs[:-1].reshape(TB, -1),  # h_{t-1} for t = 0..T-1
        "bias_ih": da_ih.sum(0),
        "bias_hh": da_hh.sum(0),
    }


def lstm(x, w):
    return _weight_grads(*lstm_bptt(x, w), w)


def lstm_bptt(x, w):
    """(da_ih, da_hh, x, hs): the gate pre-activations' gradients and what the weight gradients multiply."""
    T, B, _ = x.shape
    H = w["weight_hh"].shape[1]
    W_hh_T = w["weight_hh"].T
    xp = (x.reshape(T * B, -1) @ w["weight_ih"].T + w["bias_ih"]).reshape(T, B, 4 * H)
    hs = np.zeros((T + 1, B, H), x.dtype)     # hs[t+1] = h_t; hs[0] = h0 = 0
    cs = np.zeros((T + 1, B, H), x.dtype)
    acts = np.empty((T, B, 4 * H), x.dtype)   # i, f, g, o after their nonlinearity
    for t in range(T):
        a = xp[t] + hs[t] @ W_hh_T + w["bias_hh"]
        acts[t, :, :2 * H] = sigmoid(a[:, :2 * H])
        acts[t, :, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
        acts[t, :, 3 * H:] = sigmoid(a[:, 3 * H:])
        i, f, g, o = np.split(acts[t], 4, axis=1)
        cs[t + 1] = f * cs[t] + i * g
        hs[t + 1] = o * np.tanh(cs[t + 1])

    da = np.empty_like(acts)
    dh_next = np.zeros((B, H), x.dtype)
    dc_next = np.zeros((B, H), x.dtype)
    for t in reversed(range(T)):
        i, f, g, o = np.split(acts[t], 4, axis=1)
        tc = np.tanh(cs[t + 1])
        dh = 1 + dh_next
        dc = dc_next + dh * o * (1 - tc * tc)
        da[t, :, :H] = dc * g * i * (1 - i)
        da[t, :, H:2 * H] = dc * cs[t] * f * (1 - f)
        da[t, :, 2 * H:3 * H] = dc * i * (1 - g * g)
        da[t, :, 3 * H:] = dh * tc * o * (1 - o)
        dc_next = dc * f
        dh_next = da[t] @ w["weight_hh"]
    return da, da, x, hs


def gru(x, w):
    return _weight_grads(*gru_bptt(x, w), w)


def gru_bptt(x, w):
    """As lstm_bptt (da_ih and da_hh differ in the n gate: times r)."""
    T, B, _ = x.shape
    H = w["weight_hh"].shape[1]
    W_hh_T = w["weight_hh"].T
    xp = (x.reshape(T * B, -1) @ w["weight_ih"].T + w["bias_ih"]).reshape(T, B, 3 * H)
    hs = np.zeros((T + 1, B, H), x.dtype)
    rzn = np.empty((T, B, 3 * H), x.dtype)    # r, z, n after their nonlinearity
    gh_n = np.empty((T, B, H), x.dtype)       # W_hn h + b_hn, which r multiplies
    for t in range(T):
        gh = hs[t] @ W_hh_T + w["bias_hh"]
        rzn[t, :, :2 * H] = sigmoid(xp[t, :, :2 * H] + gh[:, :2 * H])
        r, z = rzn[t, :, :H], rzn[t, :, H:2 * H]
        gh_n[t] = gh[:, 2 * H:]
        rzn[t, :, 2 * H:] = n = np.tanh(xp[t, :, 2 * H:] + r * gh_n[t])
        hs[t + 1] = (1 - z) * n + z * hs[t]

    da_ih = np.empty_like(rzn)   # gradient of W_ih x + b_ih, per gate
    da_hh = np.empty_like(rzn)   # gradient of W_hh h + b_hh, per gate (differs in n: times r)
    dh_next = np.zeros((B, H), x.dtype)
    for t in reversed(range(T)):
        r, z, n = np.split(rzn[t], 3, axis=1)
        dh = 1 + dh_next
        dn = dh * (1 - z) * (1 - n * n)
        da_ih[t, :, :H] = dn * gh_n[t] * r * (1 - r)
        da_ih[t, :, H:2 * H] = dh * (hs[t] - n) * z * (1 - z)
        da_ih[t, :, 2 * H:] = dn
        da_hh[t, :, :2 * H] = da_ih[t, :, :2 * H]
        da_hh[t, :, 2 * H:] = dn * r
        dh_next = dh * z + da_hh[t] @ w["weight_hh"]
    return da_ih, da_hh, x, hs


def rnn(x, w):
    return _weight_grads(*rnn_bptt(x, w), w)


def rnn_bptt(x, w):
    """As lstm_bptt."""
    T, B, _ = x.shape
    H = w["weight_hh"].shape[1]
    W_hh_T = w["weight_hh"].T
    xp = (x.reshape(T * B, -1) @ w["weight_ih"].T + w["bias_ih"]).reshape(T, B, H)
    hs = np.zeros((T + 1, B, H), x.dtype)
    for t in range(T):
        hs[t + 1] = np.tanh(xp[t] + hs[t] @ W_hh_T + w["bias_hh"])

    da = np.empty((T, B, H), x.dtype)
    dh_next = np.zeros((B, H), x.dtype)
    for t in reversed(range(T)):
        da[t] = (1 + dh_next) * (1 - hs[t + 1] * hs[t + 1])
        dh_next = da[t] @ w["weight_hh"]
    return da, da, x, hs


CELLS = {"lstm": lstm, "gru": gru, "rnn": rnn}
BPTT = {"lstm": lstm_bptt, "gru": gru_bptt, "rnn": rnn_bptt}


def reference(cell, x, w):
    """The test's oracle (not timed): the output sequence h_1..h_T, and the gradients of loss = sum of
    every h_t with respect to the input and the four weights."""
    parts = BPTT[cell](x, w)
    da_ih, hs = parts[0], parts[3]
    grads = _weight_grads(*parts, w)
    grads["input"] = da_ih @ w["weight_ih"]   # dL/dx_t = da_ih,t W_ih, for every step at once
    return hs[1:], grads


def build(cell, weights, x):
    fn = CELLS[cell]
    result = {}

    def step():
        result["grads"] = fn(x, weights)

    return Runner(step=step, grads=lambda: result["grads"])
