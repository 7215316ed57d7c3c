"""Vanishing and exploding gradients, measured.

Part 1: how far back does a gradient reach? For an Elman RNN, a GRU and an LSTM, the loss depends
only on the last hidden state of one long sequence, and we plot ||dL/dh_t|| against t. Backprop
through time multiplies it by one Jacobian per step (W_hh^T diag(1 - h_t^2) for the Elman RNN), so
it shrinks geometrically as t moves away from the end. At initialisation the gated cells forget too
(their gates sit near sigmoid(0) = 0.5), only more slowly; an LSTM whose forget gate is open
(bias +3) carries the gradient across all 200 steps through its additive cell state: that is what
training can learn and the Elman RNN cannot. The per-step gradients come from forward(retain_states=True)
(the unrolled tape path: the fused kernels keep no per-step states), read after backward as
layer.states[(layer, direction)][t].grad.

Part 2: the opposite failure. An Elman RNN with large recurrent weights (an orthogonal matrix times
a gain > 1) trained with SGD on the adding problem: gradient norms blow up by orders of magnitude and
the updates throw the weights away. The same run with clip_grad_norm_ rescales each step's gradient
to at most --max-norm (the direction is kept): the loss stays finite and training goes on. Printed
every 10 steps: the loss and the gradient norm before and after clipping.

    python examples/gradient_flow.py                 # prints both tables, writes gradient_flow.png
    python examples/gradient_flow.py --length 300 --out /tmp/flow.png
"""
import argparse

import numpy as np

import adding_problem as A
import example_utils as U
import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

CELLS = {"rnn": tr.nn.RNN, "gru": tr.nn.GRU, "lstm": tr.nn.LSTM}


# ----------------------------------------------------------------------------- part 1
def gradient_norms(cell, T=200, hidden=64, batch=8, seed=0, forget_bias=None):
    """||dL/dh_t|| (mean over the batch) for t = 0..T-1, where L depends only on h_{T-1}. In float64,
    so the smallest gradients show as tiny numbers instead of float32's underflow to 0.
    forget_bias: for the LSTM, add this to the forget gate's bias (gate order i, f, g, o)."""
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    layer = CELLS[cell.split("+")[0]](4, hidden, fused=False, dtype=np.float64)
    if forget_bias is not None:
        layer.bias_ih_l0.data[hidden:2 * hidden] += forget_bias
    x = tr.Tensor(rng.standard_normal((T, batch, 4)))
    out, _ = layer(x, retain_states=True)
    loss = (out[-1] * tr.Tensor(rng.standard_normal((batch, hidden)))).sum()
    loss.backward()
    norms = []
    for state in layer.states[(0, 0)]:
        h = state[0] if isinstance(state, tuple) else state  # the LSTM keeps (h, c): dL/dh_t is h's
        g = h.grad if h.grad is not None else np.zeros(h.shape)
        norms.append(float(np.linalg.norm(g, axis=-1).mean()))
    return np.array(norms)


def flow_table(norms, T):
    ts = sorted({T - 1, T - 2, T - 5, T - 10, T - 25, T - 50, T - 100, T - 200, 0} & set(range(T)), reverse=True)
    head = "||dL/dh_t||     " + "".join(f"t={t:<9d}" for t in ts)
    lines = [head, "-" * len(head)]
    for cell, n in norms.items():
        lines.append(f"{cell:16s}" + "".join(f"{n[t]:<11.2e}" for t in ts))
    return "\n".join(lines)


def plot_flow(norms, path):
    """A log-scale PNG of ||dL/dh_t|| against t; returns the path, or None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for cell, n in norms.items():
        ax.semilogy(np.arange(len(n)), np.maximum(n, 1e-300), label=cell)
    ax.set_xlabel("timestep t (the loss reads only the last step)")
    ax.set_ylabel("||dL/dh_t||")
    ax.set_title("Gradient flowing back through time")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- part 2
def exploding_run(clip=None, steps=100, T=50, hidden=32, gain=1.5, lr=0.2, batch=32, seed=0):
    """SGD on the adding problem from large recurrent weights (gain x an orthogonal matrix).
    Returns per-step (loss, gradient norm before clipping, norm after)."""
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = A.AddingModel("rnn", hidden)
    q, _ = np.linalg.qr(rng.standard_normal((hidden, hidden)))
    model.rnn.weight_hh_l0.data.copy_(tr.from_numpy((gain * q).astype(np.float32)))
    opt = tr.optim.SGD(model.parameters(), lr=lr)
    rows = []
    for _ in range(steps):
        x, y = A.adding_batch(T, batch, rng)
        loss = F.mse_loss(model(x), y)
        model.zero_grad()
        loss.backward()
        before = float(np.sqrt(sum(float(np.sum(p.grad.numpy().astype(np.float64) ** 2)) for p in model.parameters())))
        if clip is not None:
            tr.nn.utils.clip_grad_norm_(model.parameters(), clip)
        after = float(np.sqrt(sum(float(np.sum(p.grad.numpy().astype(np.float64) ** 2)) for p in model.parameters())))
        opt.step()
        rows.append((loss.item(), before, after))
    return rows


def exploding_table(plain, clipped, every=10):
    lines = ["step   no clipping: loss   grad norm  |  clip_grad_norm_: loss   norm before   norm after",
             "-" * 88]
    for i in range(0, len(plain), every):
        (l0, b0, _), (l1, b1, a1) = plain[i], clipped[i]
        lines.append(f"{i + 1:4d}   {l0:17.4g}   {b0:9.3g}  |  {l1:21.4g}   {b1:11.3g}   {a1:10.3g}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--length", type=int, default=200, help="sequence length for part 1 (default 200)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--out", default="gradient_flow.png",
                    help="PNG for part 1 (default gradient_flow.png; '' for none)")
    ap.add_argument("--gain", type=float, default=1.5,
                    help="part 2: recurrent weights = gain x orthogonal (default 1.5)")
    ap.add_argument("--lr", type=float, default=0.2, help="part 2: SGD learning rate (default 0.2)")
    ap.add_argument("--max-norm", type=float, default=1.0, help="part 2: clip_grad_norm_'s max norm (default 1)")
    ap.add_argument("--steps", type=int, default=100, help="part 2: SGD steps (default 100)")
    a = ap.parse_args(argv)
    U.use_threads()

    print(f"Part 1: ||dL/dh_t|| on one sequence of {a.length} steps; the loss reads only the last state.\n")
    norms = {cell.upper(): gradient_norms(cell, a.length, a.hidden) for cell in CELLS}
    norms["LSTM, forget +3"] = gradient_norms("lstm", a.length, a.hidden, forget_bias=3.0)
    print(flow_table(norms, a.length))
    print("\nAt initialisation every cell forgets: a GRU's update gate and an LSTM's forget gate sit near")
    print("sigmoid(0) = 0.5, so they too halve what they keep each step. The gates are what training can")
    print("open: an LSTM whose forget gate starts at sigmoid(3) = 0.95 carries the gradient far back.")
    if a.out:
        path = plot_flow(norms, a.out)
        print(f"plot: {path}" if path else "(matplotlib not installed: no plot, the table above has the numbers)")

    print(f"\nPart 2: Elman RNN, recurrent weights {a.gain} x orthogonal, SGD (lr {a.lr}) on the adding problem "
          f"(T=50).\n")
    with np.errstate(over="ignore", invalid="ignore"):  # the unclipped run overflows, on purpose
        plain = exploding_run(None, a.steps, gain=a.gain, lr=a.lr)
        clipped = exploding_run(a.max_norm, a.steps, gain=a.gain, lr=a.lr)
    print(exploding_table(plain, clipped))
    finite = [r[1] for r in plain if np.isfinite(r[1])]
    diverged = next((i + 1 for i, r in enumerate(plain) if not np.isfinite(r[0])), None)
    print(f"\nwithout clipping: largest finite gradient norm {max(finite):.3g}; "
          + (f"the loss is inf/nan from step {diverged} on" if diverged else "the loss stayed finite"))
    print(f"with clip_grad_norm_(max_norm={a.max_norm}): every update's norm is at most "
          f"{max(r[2] for r in clipped):.3g}; "
          f"final loss {np.mean([r[0] for r in clipped[-10:]]):.3f} (baseline {A.BASELINE:.3f})")
    return norms, plain, clipped


if __name__ == "__main__":
    main()
