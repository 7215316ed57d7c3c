"""A new recurrent cell in a few lines: the minimal gated unit (MGU; Zhou, Wu, Zhang & Zhou 2016).

    f_t  = sigmoid(W_f x_t + U_f h_{t-1} + b_f)             one gate: forget and update at once
    h~_t = tanh(W_h x_t + U_h (f_t * h_{t-1}) + b_h)
    h_t  = (1 - f_t) * h_{t-1} + f_t * h~_t

The cell is a tr.nn.RecurrentCell subclass: Parameters and a forward(x, h) -> new h written with
Tensor operations. No backward (the tape differentiates it) and no loop (tr.nn.Recurrent unrolls
it, stacked, bidirectional, with lengths=). This script gradchecks it in float64, runs it as a
2-layer bidirectional layer, and trains that on the tagging task of bidirectional_tagging.py.

    python examples/custom_cell.py
"""
import argparse
import time

import numpy as np

import bidirectional_tagging as BT
import example_utils as U
import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F


class MGUCell(tr.nn.RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float32):
        self.input_size, self.hidden_size = input_size, hidden_size
        k = 1.0 / np.sqrt(hidden_size)  # torch's initialisation, U(-k, k)
        init = lambda *shape: tr.nn.Parameter(tr.random.generator().uniform(-k, k, shape).astype(dtype))  # noqa: E731
        self.W = init(2 * hidden_size, input_size)  # W_f and W_h stacked: one matmul for both
        self.b = init(2 * hidden_size)
        self.U_f, self.U_h = init(hidden_size, hidden_size), init(hidden_size, hidden_size)

    def forward(self, x, h):
        xf, xh = (x @ self.W.T + self.b).chunk(2, axis=-1)
        f = (xf + h @ self.U_f.T).sigmoid()
        candidate = (xh + (f * h) @ self.U_h.T).tanh()
        return h + f * (candidate - h)


def check_gradients(verbose=True):
    """Finite differences in float64: one step of the cell, then a 2-layer bidirectional layer."""
    rng = np.random.default_rng(0)
    tr.manual_seed(0)
    cell = MGUCell(3, 4, dtype=np.float64)
    x = tr.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    h = tr.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    ok_cell = tr.gradcheck(lambda x, h, *params: cell(x, h), [x, h, *cell.parameters()])
    layer = tr.nn.Recurrent(MGUCell, 2, 3, num_layers=2, bidirectional=True, dtype=np.float64)
    xs = tr.Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    lengths = np.array([4, 3])
    ok_layer = tr.gradcheck(lambda xs, *params: layer(xs, lengths=lengths), [xs, *layer.parameters()])
    if verbose:
        print(f"gradcheck, one MGU step (x, h and all {len(list(cell.parameters()))} parameters): {ok_cell}")
        print(f"gradcheck, 2-layer bidirectional MGU layer over 4 steps with lengths {lengths.tolist()} "
              f"({len(list(layer.parameters()))} parameters): {ok_layer}")
    return ok_cell and ok_layer


class MGUTagger(BT.Tagger):
    """bidirectional_tagging's model with the GRU layer swapped for the MGU cell."""

    def __init__(self, symbols, embed=16, hidden=32, layers=2):
        self.embed = tr.nn.Embedding(symbols + 1, embed)
        self.rnn = tr.nn.Recurrent(MGUCell, embed, hidden, num_layers=layers, bidirectional=True)
        self.head = tr.nn.Linear(2 * hidden, symbols + 1)


def train_tagger(steps=200, batch=32, symbols=4, hidden=32, lr=1e-2, seed=0, progress=True, **data):
    U.use_threads()
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = MGUTagger(symbols, hidden=hidden)
    opt = tr.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = U.progress(total=steps, desc="MGU tagger", enabled=progress)
    for step in range(steps):
        x, y, lengths = BT.tagging_batch(batch, rng, symbols, **data)
        loss = F.cross_entropy(model(x, lengths), y.reshape(-1), ignore_index=BT.IGNORE)
        model.zero_grad()
        loss.backward()
        tr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        bar.update(1)
        if step % 10 == 9:
            bar.set_postfix_str(f"loss {np.mean(losses[-20:]):.3f}")
    bar.close()
    return model, losses, BT.evaluate(model, symbols, **data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200, help="training steps on the tagging task (default 200)")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    check_gradients()
    t0 = time.time()
    _, losses, acc = train_tagger(a.steps, hidden=a.hidden, progress=not a.no_progress)
    print(f"2-layer bidirectional MGU on 'next non-blank symbol' tagging: accuracy {acc:.1%} "
          f"(loss {np.mean(losses[:20]):.3f} -> {np.mean(losses[-20:]):.3f}) [{time.time() - t0:.0f}s]")
    return acc


if __name__ == "__main__":
    main()
