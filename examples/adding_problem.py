"""The adding problem (Hochreiter & Schmidhuber 1997): a test of long-range memory.

Each input step is a pair (value, marker): values are uniform in [0, 1], and exactly two steps are
marked, one in the first half of the sequence and one in the second. The target, read from the
last hidden state, is the sum of the two marked values. A model that remembers nothing does best by
always answering 1, the mean of the sum; its mean squared error is the variance of a sum of two
U(0, 1) values, 2/12 = 0.167. Solving the task means remembering the first marked value across
at least T/2 steps of distractors: the Elman RNN's gradient vanishes over that distance, while the
LSTM's and GRU's gated, additive state updates carry it.

    python examples/adding_problem.py                          # RNN, GRU, LSTM at T = 50, 100, 200
    python examples/adding_problem.py --lengths 100 400 --steps 1500 --cells gru lstm
"""
import argparse
import time

import numpy as np

import example_utils as U
import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

CELLS = {"rnn": tr.nn.RNN, "gru": tr.nn.GRU, "lstm": tr.nn.LSTM}
BASELINE = 2.0 / 12.0  # MSE of always answering 1


def adding_batch(T, batch, rng):
    """x (T, batch, 2) float32 of (value, marker) and y (batch, 1): the sum of the marked values."""
    values = rng.uniform(0.0, 1.0, size=(T, batch)).astype(np.float32)
    markers = np.zeros((T, batch), dtype=np.float32)
    half = T // 2
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, T, size=batch)
    cols = np.arange(batch)
    markers[first, cols] = 1.0
    markers[second, cols] = 1.0
    y = (values[first, cols] + values[second, cols]).reshape(batch, 1)
    return np.stack([values, markers], axis=-1), y


class AddingModel(tr.nn.Module):
    """A recurrent layer whose final hidden state goes through a Linear layer to one number."""

    def __init__(self, cell="lstm", hidden=32, forget_bias=1.0):
        self.rnn = CELLS[cell](2, hidden)
        self.head = tr.nn.Linear(hidden, 1)
        if cell == "lstm" and forget_bias is not None:
            # The usual LSTM trick (Gers et al. 2000; Jozefowicz et al. 2015): start the forget gate
            # open, sigma(1) = 0.73, so the cell state remembers from the first step on. Gate order
            # i, f, g, o: the forget gate's biases are rows H..2H.
            self.rnn.bias_ih_l0.data[hidden:2 * hidden] = forget_bias
            self.rnn.bias_hh_l0.data[hidden:2 * hidden] = 0.0

    def forward(self, x):
        _, h_n = self.rnn(tr.Tensor(x))
        h = h_n[0] if isinstance(h_n, tuple) else h_n  # the LSTM's state is (h, c)
        return self.head(h[-1])


@tr.no_grad()
def test_mse(model, T, n=1000, seed=12345):
    x, y = adding_batch(T, n, np.random.default_rng(seed))
    return float(F.mse_loss(model(x), y).item())


def train_one(cell, T, steps=1500, batch=64, hidden=32, lr=2e-2, clip=1.0, seed=0, stop_below=0.005, progress=True):
    """Train one model for up to `steps` steps, stopping early once the training MSE (mean of the
    last 50 steps) is below `stop_below` (solved: 3% of the baseline). Returns (model, per-step
    training losses, test MSE on 1,000 fresh sequences)."""
    U.use_threads()
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = AddingModel(cell, hidden)
    opt = tr.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = U.progress(total=steps, desc=f"{cell.upper():4s} T={T}", enabled=progress)
    for step in range(steps):
        x, y = adding_batch(T, batch, rng)
        loss = F.mse_loss(model(x), y)
        model.zero_grad()
        loss.backward()
        tr.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.item())
        bar.update(1)
        if step % 10 == 9:
            bar.set_postfix_str(f"mse {np.mean(losses[-20:]):.4f}")
        if stop_below and len(losses) >= 50 and np.mean(losses[-50:]) < stop_below:
            break
    bar.close()
    return model, losses, test_mse(model, T)


def run(cells=("rnn", "gru", "lstm"), lengths=(50, 100, 200), steps=1500, batch=64, hidden=32, lr=2e-2, seed=0,
        stop_below=0.005, progress=True, verbose=True):
    """Train every (cell, length) pair; returns {(cell, T): test MSE} and prints the table."""
    results = {}
    for T in lengths:
        for cell in cells:
            t0 = time.time()
            _, losses, mse = train_one(cell, T, steps, batch, hidden, lr, seed=seed, stop_below=stop_below,
                                       progress=progress)
            results[(cell, T)] = mse
            if verbose:
                print(f"{cell.upper():4s} T={T:4d}: test MSE {mse:.4f} after {len(losses)} steps "
                      f"[{time.time() - t0:.0f}s]", flush=True)
    if verbose:
        print(table(results, cells, lengths))
    return results


def table(results, cells, lengths):
    head = "test MSE    " + "".join(f"T={T:<8d}" for T in lengths)
    lines = [head, "-" * len(head)]
    for cell in cells:
        lines.append(f"{cell.upper():12s}" + "".join(f"{results[(cell, T)]:<10.4f}" for T in lengths))
    lines.append(f"{'baseline':12s}" + "".join(f"{BASELINE:<10.4f}" for _ in lengths) + "(always answer 1)")
    return "\n".join(lines)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells", nargs="+", choices=sorted(CELLS), default=["rnn", "gru", "lstm"])
    p.add_argument("--lengths", nargs="+", type=int, default=[50, 100, 200], help="sequence lengths T")
    p.add_argument("--steps", type=int, default=1500, help="most training steps per (cell, T) (default 1500)")
    p.add_argument("--stop-below", type=float, default=0.005,
                   help="stop a run early once its training MSE is below this (default 0.005; 0 = never)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-2, help="Adam learning rate (default 2e-2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="one line per run instead of progress bars")
    return p


def main(argv=None):
    a = build_parser().parse_args(argv)
    return run(a.cells, a.lengths, a.steps, a.batch, a.hidden, a.lr, a.seed, a.stop_below, progress=not a.no_progress)


if __name__ == "__main__":
    main()
