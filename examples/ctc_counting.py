"""Transcription without alignments: a bidirectional LSTM learns with CTC to read label sequences off noisy frames.

    frames  a a a . b b . . b b b . c c     (each label a run of 2-4 noisy one-hot frames; '.' is silence,
    labels  a b b c                          at least one frame of it between two runs of the same label)

Nobody says which frame belongs to which label: the connectionist temporal classification loss (Graves et al.
2006, F.ctc_loss) sums over every alignment of the label sequence with the frames, so the network learns to
emit each label once somewhere in its run and the blank elsewhere. The sequences have different lengths
(lengths= keeps padding out of the LSTM, input_lengths out of the loss). Decoding is greedy: the most likely
class per frame, repeats merged, blanks dropped. The script prints the label error rate (edit distance over
the number of labels) on fresh sequences before and after training.

    python examples/ctc_counting.py
    python examples/ctc_counting.py --symbols 8 --max-labels 8 --steps 600
"""
import argparse
import time

import numpy as np

import example_utils as U
import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

BLANK = 0   # class 0 is CTC's blank; labels are 1..symbols


def make_batch(batch, rng, symbols=5, max_labels=6, noise=0.4):
    """Frames (T, B, symbols + 1) (feature 0 silence, k label k), plus noise; labels (B, max_labels) padded
    with BLANK; frame counts (B,) and label counts (B,)."""
    n_labels = rng.integers(1, max_labels + 1, size=batch)
    labels = np.full((batch, max_labels), BLANK, np.int64)
    streams = []
    for b in range(batch):
        frames = []
        for k in range(n_labels[b]):
            label = int(rng.integers(1, symbols + 1))
            labels[b, k] = label
            same = k > 0 and labels[b, k - 1] == label
            frames += [0] * int(rng.integers(1 if same else 0, 3)) + [label] * int(rng.integers(2, 5))
        streams.append(frames + [0] * int(rng.integers(0, 3)))
    lengths = np.array([len(s) for s in streams])
    x = np.zeros((lengths.max(), batch, symbols + 1), np.float32)
    for b, frames in enumerate(streams):
        x[np.arange(len(frames)), b, frames] = 1.0
    x += noise * rng.standard_normal(x.shape).astype(np.float32)
    return x, labels, lengths, n_labels


class Reader(tr.nn.Module):
    """BiLSTM -> Linear -> log_softmax over the blank and the labels, per frame."""

    def __init__(self, symbols, hidden=32):
        self.rnn = tr.nn.LSTM(symbols + 1, hidden, bidirectional=True)
        self.head = tr.nn.Linear(2 * hidden, symbols + 1)

    def forward(self, x, lengths):
        out, _ = self.rnn(tr.tensor(x), lengths=lengths)
        return F.log_softmax(self.head(out), dim=-1)


def greedy_decode(log_probs, lengths):
    """Per sequence: the argmax class of each frame within its length, repeats merged, blanks dropped."""
    best = log_probs.argmax(-1)
    decoded = []
    for b, n in enumerate(lengths):
        path = best[:n, b]
        merged = path[np.r_[True, path[1:] != path[:-1]]]
        decoded.append([int(c) for c in merged if c != BLANK])
    return decoded


def edit_distance(a, b):
    """Levenshtein distance between two label lists."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


@tr.no_grad()
def label_error_rate(model, symbols, max_labels, noise, n=500, seed=99):
    x, labels, lengths, n_labels = make_batch(n, np.random.default_rng(seed), symbols, max_labels, noise)
    decoded = greedy_decode(model(x, lengths).detach().numpy(), lengths)
    errors = sum(edit_distance(d, list(labels[b, :n_labels[b]])) for b, d in enumerate(decoded))
    return errors / n_labels.sum()


def train(steps=300, batch=32, symbols=5, max_labels=6, noise=0.4, hidden=32, lr=1e-2, seed=0, progress=True,
          verbose=True):
    """Train a Reader with CTC; returns (model, losses, label error rate before, after)."""
    U.use_threads()
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Reader(symbols, hidden)
    before = label_error_rate(model, symbols, max_labels, noise)
    opt = tr.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = U.progress(total=steps, desc="BiLSTM + CTC", enabled=progress)
    for step in range(steps):
        x, labels, lengths, n_labels = make_batch(batch, rng, symbols, max_labels, noise)
        loss = F.ctc_loss(model(x, lengths), tr.tensor(labels), tr.tensor(lengths), tr.tensor(n_labels), blank=BLANK)
        model.zero_grad()
        loss.backward()
        tr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        bar.update(1)
        if step % 10 == 9:
            bar.set_postfix_str(f"loss {np.mean(losses[-20:]):.3f}")
    bar.close()
    after = label_error_rate(model, symbols, max_labels, noise)
    if verbose:
        print(f"label error rate on 500 fresh sequences: {before:.1%} untrained -> {after:.1%} after {steps} steps "
              f"(CTC loss per label {np.mean(losses[:20]):.3f} -> {np.mean(losses[-20:]):.3f})", flush=True)
    return model, losses, before, after


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--symbols", type=int, default=5, help="distinct labels (default 5)")
    ap.add_argument("--max-labels", type=int, default=6, help="most labels per sequence (default 6; fewest 1)")
    ap.add_argument("--noise", type=float, default=0.4, help="std of the Gaussian noise on each feature (default 0.4)")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.time()
    result = train(a.steps, a.batch, a.symbols, a.max_labels, a.noise, a.hidden, a.lr, a.seed,
                   progress=not a.no_progress)
    print(f"[{time.time() - t0:.0f}s]")
    return result


if __name__ == "__main__":
    main()
