"""End-to-end cases: the whole training step of the character language model, in each library.

    Embedding(V, E) -> LSTM(E, H, num_layers=L) -> Linear(H, V) -> cross_entropy (mean)
    -> clip_grad_norm_(1.0) -> Adam(lr=3e-3)

on (T, B) ids with (T, B) next-character targets: the step of examples/char_lm.py (its defaults are
the "demo" model). Every library gets the same float32 weights (torch's layout, drawn once from a
seed) and the same batch, and runs forward, backward, clipping and the optimizer step; the JAX step
is one jitted function (as a JAX user writes it), compiled ahead of time and timed apart.

    MODELS[name] = Model(V, E, H, L, T, B)
    LIBRARIES[lib](model, weights, ids, targets) -> Runner       (imports the library: ImportError if missing)

The tinygrad_rnn and torch steps take `mark=`, a function called with a phase's name as each phase of the
step ends (forward, zero_grad, backward, clipping, optimizer): how bench/step_phases.py times the phases of
the very code that is benchmarked. The benchmark passes none.
"""
import time
from typing import NamedTuple

import numpy as np

from .peers import Runner


class Model(NamedTuple):
    vocab: int
    embed: int
    hidden: int
    layers: int
    steps: int
    batch: int


MODELS = {
    "charlm-demo": Model(103, 32, 128, 1, 64, 32),     # examples/char_lm.py and demo.py defaults
    "charlm-2x512": Model(103, 128, 512, 2, 64, 64),
}
LR, CLIP = 3e-3, 1.0


def describe(name):
    m = MODELS[name]
    return (f"char-LM step '{name}': Embedding({m.vocab}, {m.embed}) → LSTM({m.embed}, {m.hidden}, "
            f"layers={m.layers}) → Linear({m.hidden}, {m.vocab}) → cross_entropy → clip_grad_norm_ → Adam, "
            f"T={m.steps}, B={m.batch}")


def make_inputs(model, seed=0):
    """Weights in torch's names and layout (init ranges as torch's), ids and targets."""
    rng = np.random.default_rng(seed)
    m = model
    k = 1.0 / np.sqrt(m.hidden)
    w = {"embed": rng.standard_normal((m.vocab, m.embed)).astype(np.float32)}
    for layer in range(m.layers):
        n_in = m.embed if layer == 0 else m.hidden
        for name, shape in (("weight_ih", (4 * m.hidden, n_in)), ("weight_hh", (4 * m.hidden, m.hidden)),
                            ("bias_ih", (4 * m.hidden,)), ("bias_hh", (4 * m.hidden,))):
            w[f"{name}_l{layer}"] = rng.uniform(-k, k, shape).astype(np.float32)
    w["head_weight"] = rng.uniform(-k, k, (m.vocab, m.hidden)).astype(np.float32)
    w["head_bias"] = rng.uniform(-k, k, (m.vocab,)).astype(np.float32)
    ids = rng.integers(0, m.vocab, (m.steps, m.batch))
    targets = rng.integers(0, m.vocab, (m.steps, m.batch))
    return w, ids, targets


# ----------------------------------------------------------------------------- tinygrad_rnn
def _no_mark(phase):
    pass


def tinygrad_rnn_step(model, weights, ids, targets, mark=_no_mark):
    import tinygrad_rnn as tr
    from tinygrad_rnn.nn import functional as F

    m = model
    emb, rnn, head = tr.nn.Embedding(m.vocab, m.embed), tr.nn.LSTM(m.embed, m.hidden, num_layers=m.layers), \
        tr.nn.Linear(m.hidden, m.vocab)
    emb.weight._data[...] = weights["embed"]
    for name, p in rnn.named_parameters():
        p._data[...] = weights[name]
    head.weight._data[...], head.bias._data[...] = weights["head_weight"], weights["head_bias"]
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = tr.optim.Adam(params, lr=LR)
    flat_targets = targets.reshape(-1)

    def step():
        x = emb(ids)
        mark("embedding")
        out, _ = rnn(x)
        mark("recurrent layer")
        logits = head(out.reshape(m.steps * m.batch, m.hidden))
        mark("linear")
        loss = F.cross_entropy(logits, flat_targets)
        mark("cross_entropy")
        opt.zero_grad()
        mark("zero_grad")
        loss.backward()
        mark("backward")
        tr.nn.utils.clip_grad_norm_(params, CLIP)
        mark("clip_grad_norm_")
        opt.step()
        mark("optimizer")
        return loss.item()

    return Runner(step=step, grads=lambda: {})


# ----------------------------------------------------------------------------- PyTorch
def torch_step(model, weights, ids, targets, mark=_no_mark):
    import torch

    m = model
    emb, rnn, head = torch.nn.Embedding(m.vocab, m.embed), torch.nn.LSTM(m.embed, m.hidden, num_layers=m.layers), \
        torch.nn.Linear(m.hidden, m.vocab)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(weights["embed"]))
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(weights[name]))
        head.weight.copy_(torch.from_numpy(weights["head_weight"]))
        head.bias.copy_(torch.from_numpy(weights["head_bias"]))
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=LR)
    x, y = torch.from_numpy(ids), torch.from_numpy(targets.reshape(-1))

    def step():
        e = emb(x)
        mark("embedding")
        out, _ = rnn(e)
        mark("recurrent layer")
        logits = head(out.reshape(m.steps * m.batch, m.hidden))
        mark("linear")
        loss = torch.nn.functional.cross_entropy(logits, y)
        mark("cross_entropy")
        opt.zero_grad(set_to_none=True)
        mark("zero_grad")
        if mark is not _no_mark:   # the recurrent layer's share of backward: from dL/d(out) to dL/d(e)
            out.register_hook(lambda g: mark("backward: to the recurrent layer"))
            e.register_hook(lambda g: mark("backward: recurrent layer"))
        loss.backward()
        mark("backward")
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        mark("clip_grad_norm_")
        opt.step()
        mark("optimizer")
        return loss.item()

    return Runner(step=step, grads=lambda: {})


# ----------------------------------------------------------------------------- JAX
def jax_step(model, weights, ids, targets):
    import jax
    import jax.numpy as jnp

    m = model

    def lstm_layer(w, layer, xs):
        w_ih, w_hh = w[f"weight_ih_l{layer}"], w[f"weight_hh_l{layer}"]
        bias = w[f"bias_ih_l{layer}"] + w[f"bias_hh_l{layer}"]
        pre = xs @ w_ih.T + bias                       # all input projections at once, as torch does

        def cell(state, p):
            h, c = state
            i, f, g, o = jnp.split(p + h @ w_hh.T, 4, axis=1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        zero = jnp.zeros((m.batch, m.hidden), xs.dtype)
        return jax.lax.scan(cell, (zero, zero), pre)[1]

    def loss_fn(w, x, y):
        h = w["embed"][x]
        for layer in range(m.layers):
            h = lstm_layer(w, layer, h)
        logits = h.reshape(-1, m.hidden) @ w["head_weight"].T + w["head_bias"]
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    b1, b2, eps = 0.9, 0.999, 1e-8

    def train_step(w, mom, vel, t, x, y):
        loss, g = jax.value_and_grad(loss_fn)(w, x, y)
        norm = jnp.sqrt(sum(jnp.sum(v * v) for v in jax.tree_util.tree_leaves(g)))
        coef = jnp.minimum(CLIP / (norm + 1e-6), 1.0)
        t = t + 1
        new_w, new_m, new_v = {}, {}, {}
        for k in w:
            gk = g[k] * coef
            new_m[k] = mom[k] + (1 - b1) * (gk - mom[k])
            new_v[k] = b2 * vel[k] + (1 - b2) * gk * gk
            step_size = LR / (1 - b1 ** t)
            denom = jnp.sqrt(new_v[k]) / jnp.sqrt(1 - b2 ** t) + eps
            new_w[k] = w[k] - step_size * new_m[k] / denom
        return new_w, new_m, new_v, t, loss

    w = {k: jax.device_put(v) for k, v in weights.items()}
    state = {"w": w, "m": {k: jnp.zeros_like(v) for k, v in w.items()},
             "v": {k: jnp.zeros_like(v) for k, v in w.items()}, "t": jnp.zeros((), jnp.float32)}
    x, y = jax.device_put(ids.astype(np.int32)), jax.device_put(targets.reshape(-1).astype(np.int32))
    start = time.perf_counter()
    compiled = jax.jit(train_step, donate_argnums=(0, 1, 2)).lower(
        state["w"], state["m"], state["v"], state["t"], x, y).compile()
    compile_s = time.perf_counter() - start

    def step():
        state["w"], state["m"], state["v"], state["t"], loss = compiled(state["w"], state["m"], state["v"],
                                                                        state["t"], x, y)
        return float(loss)                            # waits for the result

    return Runner(step=step, grads=lambda: {}, compile_s=compile_s)


LIBRARIES = {"tinygrad_rnn": tinygrad_rnn_step, "torch": torch_step, "jax": jax_step}
