"""Walk through the tape of a 3-step Elman RNN: what forward records, the order backward visits it,
and the gradients it produces, checked against backpropagation through time written out by hand
(the formulas of docs/learn/bptt.md).

    h_t = tanh(x_t W_ih^T + h_{t-1} W_hh^T + b),   L = sum_t <r_t, h_t>   (r_t fixed random weights)

Read the output top to bottom; each section says what to look for.

    python examples/tape_walkthrough.py                # prints everything, writes the graph to tape.dot
    python examples/tape_walkthrough.py --steps 5 --out /tmp/rnn.svg   # drawn, if Graphviz is installed
"""
import argparse
import textwrap

import numpy as np

import example_utils  # noqa: F401  (puts the repository on sys.path when run from a clone)
import tinygrad_rnn as tr
from tinygrad_rnn import viz


def build(T=3, B=2, I=3, H=4, seed=0):
    """The RNN's tensors (float64: the check below is to rounding error, not to float32's)."""
    rng = np.random.default_rng(seed)
    p = dict(W_ih=tr.Tensor(rng.standard_normal((H, I)) * 0.5, requires_grad=True),
             W_hh=tr.Tensor(rng.standard_normal((H, H)) * 0.5, requires_grad=True),
             b=tr.Tensor(rng.standard_normal(H) * 0.1, requires_grad=True))
    x = rng.standard_normal((T, B, I))
    r = rng.standard_normal((T, B, H))
    return p, x, r


def forward(p, x, r):
    """Unroll with each step's operations labelled for the picture; keep every h_t's gradient."""
    T, B = x.shape[:2]
    h = tr.zeros(B, p["W_hh"].shape[0], dtype=np.float64)
    hs, loss = [], None
    with viz.trace():
        for t in range(T):
            with viz.timestep(t):
                h = (tr.Tensor(x[t]) @ p["W_ih"].T + h @ p["W_hh"].T + p["b"]).tanh()
                h.retain_grad()  # dL/dh_t lands in h.grad after backward
                term = (h * r[t]).sum()
                loss = term if loss is None else loss + term
            hs.append(h)
    return loss, hs


def manual_bptt(p, x, r, hs):
    """Backpropagation through time by hand, in row-vector form (h_t is (B, H)):
        delta_t = dL/dh_t = r_t + (delta_{t+1} * (1 - h_{t+1}^2)) W_hh      (from the future)
        dL/dW_hh = sum_t (delta_t * (1 - h_t^2))^T h_{t-1}                   (a sum over time: W is shared)
        dL/dW_ih = sum_t (delta_t * (1 - h_t^2))^T x_t,  dL/db = sum_t sum_batch delta_t * (1 - h_t^2)"""
    W_hh = p["W_hh"].detach().numpy()
    H = [h.detach().numpy() for h in hs]
    T = len(H)
    h_prev = [np.zeros_like(H[0])] + H[:-1]
    deltas = [None] * T
    g_hh, g_ih, g_b = np.zeros(W_hh.shape), np.zeros(p["W_ih"].shape), np.zeros(p["b"].shape)
    carry = np.zeros_like(H[0])
    for t in reversed(range(T)):
        deltas[t] = r[t] + carry
        pre = deltas[t] * (1 - H[t] ** 2)  # through tanh
        g_hh += pre.T @ h_prev[t]
        g_ih += pre.T @ x[t]
        g_b += pre.sum(0)
        carry = pre @ W_hh  # to h_{t-1}
    return dict(W_hh=g_hh, W_ih=g_ih, b=g_b), deltas


def walkthrough(T=3, out="tape.dot", verbose=True):
    say = print if verbose else (lambda *a, **k: None)
    p, x, r = build(T)
    loss, hs = forward(p, x, r)

    say(f"1. FORWARD RECORDS THE TAPE. Unrolling {T} steps recorded these operations (oldest first).")
    say("   Each line: sequence number, primitive, output shape, inputs (#n = node n's output; a name =")
    say("   a leaf parameter; const = an input that needs no gradient), t = the step it belongs to.")
    say("   Notice the same six operations once per step, and W_hh read at every step: weight sharing.\n")
    say(viz.to_text(loss, names=p))

    order = viz.backward_order(loss)
    say("\n2. BACKWARD WALKS IT IN REVERSE. The order backward visits the nodes (newest first; every")
    say("   node is visited after all nodes that use it, so its gradient is complete when it is used):\n")
    visits = " -> ".join(f"#{n.seq} {n.name()}" + (f"(t={viz.step_of(n)})" if viz.step_of(n) is not None else "")
                         for n in order)
    say(textwrap.fill(visits, width=100, initial_indent="   ", subsequent_indent="   "))
    assert [n.seq for n in order] == sorted((n.seq for n in order), reverse=True)

    loss.backward()
    manual, deltas = manual_bptt(p, x, r, hs)
    say("\n3. THE GRADIENTS, AGAINST BPTT BY HAND (docs/learn/bptt.md).")
    for t in reversed(range(T)):
        err = np.max(np.abs(hs[t].grad - deltas[t]))
        say(f"   dL/dh_{t}: tape (retain_grad) vs delta_{t} by hand: max |difference| = {err:.1e}")
        assert np.allclose(hs[t].grad, deltas[t], rtol=1e-10, atol=1e-12)
    for name in ("W_hh", "W_ih", "b"):
        err = np.max(np.abs(p[name].grad - manual[name]))
        say(f"   dL/d{name}: tape vs sum over time by hand: max |difference| = {err:.1e}")
        assert np.allclose(p[name].grad, manual[name], rtol=1e-10, atol=1e-12), name
    say("\n   dL/dW_hh is the sum of one term per step; the terms, by hand:")
    H = [h.detach().numpy() for h in hs]
    h_prev = [np.zeros_like(H[0])] + H[:-1]
    for t in range(T):
        term = (deltas[t] * (1 - H[t] ** 2)).T @ h_prev[t]
        say(f"     t={t}: |term| = {np.linalg.norm(term):.4f}" + ("   (h_{-1} = 0: no contribution)" if t == 0 else ""))

    path = None
    if out:
        dot = viz.to_dot(loss, names=p, title=f"{T}-step RNN")
        path = viz.render(dot, out)
        say(f"\n4. THE PICTURE: {path} (one cluster per timestep; render with `dot -Tsvg` if it is a .dot)")
    return dict(loss=loss, grads={k: v.grad.numpy() for k, v in p.items()}, manual=manual, order=order, path=path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3, help="sequence length (default 3)")
    ap.add_argument("--out", default="tape.dot", help="where to write the graph: .svg/.png need Graphviz, "
                    "else DOT text is written (default tape.dot; '' for none)")
    a = ap.parse_args(argv)
    return walkthrough(a.steps, a.out or None)


if __name__ == "__main__":
    main()
