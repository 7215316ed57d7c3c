"""Tagging that needs the future: label each step with the next non-blank symbol *after* it.

    input   a _ _ c _ b _ _       (_ is a blank; sequences have different lengths)
    labels  c c c b b $ $ $       ($: no symbol follows)

A forward-only RNN at step t has seen only the past, so it can do no better than guess which of the
symbols comes next. A bidirectional RNN also runs a second RNN from the end of each sequence
backwards (within its own length: lengths= keeps padding out of it) and reads both at each step,
so the answer is simply what the backward direction last saw. Both models here are 2-layer GRUs of
the same width; the script trains both and prints their per-step accuracy on fresh sequences.

    python examples/bidirectional_tagging.py
    python examples/bidirectional_tagging.py --symbols 8 --max-len 40 --steps 600
"""
import argparse
import time

import numpy as np

import example_utils as U
import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

IGNORE = -100


def tagging_batch(batch, rng, symbols=4, min_len=8, max_len=20, blank_p=0.6):
    """Token ids (T, B) (0 = blank, 1..symbols) with labels (T, B) in 0..symbols (0 = nothing follows,
    k = symbol k follows), IGNORE past each sequence's length; and the lengths (B,)."""
    lengths = rng.integers(min_len, max_len + 1, size=batch)
    T = int(lengths.max())
    x = np.where(rng.random((T, batch)) < blank_p, 0, rng.integers(1, symbols + 1, size=(T, batch)))
    y = np.full((T, batch), IGNORE, dtype=np.int64)
    for b in range(batch):
        x[lengths[b]:, b] = 0
        nxt = 0
        for t in reversed(range(lengths[b])):
            y[t, b] = nxt
            if x[t, b]:
                nxt = x[t, b]
    return x, y, lengths


class Tagger(tr.nn.Module):
    def __init__(self, symbols, bidirectional, embed=16, hidden=32, layers=2):
        self.embed = tr.nn.Embedding(symbols + 1, embed)
        self.rnn = tr.nn.GRU(embed, hidden, num_layers=layers, bidirectional=bidirectional)
        self.head = tr.nn.Linear(hidden * (2 if bidirectional else 1), symbols + 1)

    def forward(self, x, lengths):
        out, _ = self.rnn(self.embed(x), lengths=lengths)
        T, B, H = out.shape
        return self.head(out.reshape(T * B, H))


@tr.no_grad()
def evaluate(model, symbols, n=500, seed=99, **data):
    x, y, lengths = tagging_batch(n, np.random.default_rng(seed), symbols, **data)
    pred = model(x, lengths).detach().numpy().argmax(-1).reshape(y.shape)
    valid = y != IGNORE
    return float((pred[valid] == y[valid]).mean())


def train(bidirectional, steps=300, batch=32, symbols=4, hidden=32, lr=1e-2, seed=0, progress=True, **data):
    U.use_threads()
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Tagger(symbols, bidirectional, hidden=hidden)
    opt = tr.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = U.progress(total=steps, desc="bidirectional" if bidirectional else "forward-only", enabled=progress)
    for step in range(steps):
        x, y, lengths = tagging_batch(batch, rng, symbols, **data)
        loss = F.cross_entropy(model(x, lengths), y.reshape(-1), ignore_index=IGNORE)
        model.zero_grad()
        loss.backward()
        tr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        bar.update(1)
        if step % 10 == 9:
            bar.set_postfix_str(f"loss {np.mean(losses[-20:]):.3f}")
    bar.close()
    return model, losses


def run(steps=300, batch=32, symbols=4, hidden=32, lr=1e-2, seed=0, progress=True, verbose=True, **data):
    results = {}
    for bidirectional in (False, True):
        t0 = time.time()
        model, losses = train(bidirectional, steps, batch, symbols, hidden, lr, seed, progress, **data)
        name = "bidirectional" if bidirectional else "forward-only"
        results[name] = evaluate(model, symbols, **data)
        if verbose:
            print(f"{name:14s} 2-layer GRU: accuracy {results[name]:.1%} on fresh sequences "
                  f"(loss {np.mean(losses[:20]):.3f} -> {np.mean(losses[-20:]):.3f}) [{time.time() - t0:.0f}s]",
                  flush=True)
    if verbose:
        print(f"chance: {1 / (symbols + 1):.1%} (one of {symbols} symbols or 'nothing follows')")
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="training steps per model (default 300)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--symbols", type=int, default=4, help="distinct non-blank symbols (default 4)")
    ap.add_argument("--max-len", type=int, default=20, help="longest sequence (default 20; shortest is 8)")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    return run(a.steps, a.batch, a.symbols, a.hidden, a.lr, a.seed, progress=not a.no_progress, max_len=a.max_len)


if __name__ == "__main__":
    main()
