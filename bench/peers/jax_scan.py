"""A hand-written cell in jax.lax.scan, differentiated with jax.grad and compiled with jax.jit.

The step is compiled ahead of time (`.lower(...).compile()`); that compile time is reported on
its own and never counted in the step time.
"""
import time

import jax
import jax.numpy as jnp
import numpy as np

from . import Runner

LIBRARY = "jax"


def lstm_cell(state, x, w):
    h, c = state
    gates = x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]
    i, f, g, o = jnp.split(gates, 4, axis=1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (h, c), h


def gru_cell(h, x, w):
    gi = x @ w["weight_ih"].T + w["bias_ih"]
    gh = h @ w["weight_hh"].T + w["bias_hh"]
    i_r, i_z, i_n = jnp.split(gi, 3, axis=1)
    h_r, h_z, h_n = jnp.split(gh, 3, axis=1)
    r = jax.nn.sigmoid(i_r + h_r)
    z = jax.nn.sigmoid(i_z + h_z)
    n = jnp.tanh(i_n + r * h_n)
    h = (1 - z) * n + z * h
    return h, h


def rnn_cell(h, x, w):
    h = jnp.tanh(x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"])
    return h, h


CELLS = {"lstm": lstm_cell, "gru": gru_cell, "rnn": rnn_cell}


def build(cell, weights, x):
    cell_fn = CELLS[cell]
    B, H = x.shape[1], weights["weight_hh"].shape[1]

    def loss(w, xs):
        h0 = jnp.zeros((B, H), xs.dtype)
        init = (h0, h0) if cell == "lstm" else h0
        _, outs = jax.lax.scan(lambda s, xt: cell_fn(s, xt, w), init, xs)
        return outs.sum()

    w = {n: jax.device_put(a) for n, a in weights.items()}
    xs = jax.device_put(x)
    start = time.perf_counter()
    compiled = jax.jit(jax.grad(loss)).lower(w, xs).compile()
    compile_s = time.perf_counter() - start
    result = {}

    def step():
        result["grads"] = jax.block_until_ready(compiled(w, xs))

    def grads():
        return {n: np.asarray(g) for n, g in result["grads"].items()}

    return Runner(step=step, grads=grads, compile_s=compile_s)
