"""Reading a line of text off an image: a CRNN (convolutions -> bidirectional LSTM -> CTC) on generated images.

    image   ##.#..###.##..        a line of glyphs, each symbol a fixed 8-row bitmap 2 or 3 columns wide
            #.##...#..#...        (stretched to 1-2x its width), a blank gap of 1-2 columns between two,
            ...                   plus Gaussian noise; nobody says which column holds which symbol
    labels  3 1 4

The model is the classic CRNN (Shi et al. 2015) in miniature: two Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d
blocks halve the height twice and keep the width, so every column of the image becomes one step of a feature
sequence; a bidirectional LSTM reads the sequence (lengths= keeps each image's padding out) and a Linear layer
scores the blank and each symbol per column. The connectionist temporal classification loss (F.ctc_loss) sums
over every alignment of the labels with the columns. Decoding is greedy (examples/ctc_counting.py's): the most
likely class per column, repeats merged, blanks dropped. The script prints the label error rate on fresh images
before and after training. All data is generated; nothing is downloaded.

    python examples/crnn_ctc.py
    python examples/crnn_ctc.py --symbols 10 --max-labels 8 --steps 600
"""
import argparse
import time

import numpy as np
from ctc_counting import BLANK, edit_distance, greedy_decode

import example_utils as U
import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

HEIGHT = 8


def make_glyphs(symbols, seed=1234):
    """One bitmap (HEIGHT, width 2 or 3) per symbol 1..symbols (index 0 unused: the blank), all distinct."""
    rng = np.random.default_rng(seed)
    glyphs, seen = [None], set()
    while len(glyphs) <= symbols:
        glyph = (rng.random((HEIGHT, int(rng.integers(2, 4)))) < 0.5).astype(np.float32)
        if glyph.any(axis=0).all() and glyph.tobytes() not in seen:   # no empty column, no duplicate
            seen.add(glyph.tobytes())
            glyphs.append(glyph)
    return glyphs


def make_batch(batch, rng, glyphs, max_labels=5, noise=0.3):
    """Images (B, 1, HEIGHT, W) padded with zeros on the right, labels (B, max_labels) padded with BLANK, widths
    (B,) and label counts (B,)."""
    symbols = len(glyphs) - 1
    n_labels = rng.integers(1, max_labels + 1, size=batch)
    labels = np.full((batch, max_labels), BLANK, np.int64)
    lines = []
    for b in range(batch):
        columns = [np.zeros((HEIGHT, int(rng.integers(0, 2))), np.float32)]
        for k in range(n_labels[b]):
            labels[b, k] = int(rng.integers(1, symbols + 1))
            stretched = np.repeat(glyphs[labels[b, k]], int(rng.integers(1, 3)), axis=1)
            columns += [stretched, np.zeros((HEIGHT, int(rng.integers(1, 3))), np.float32)]
        lines.append(np.concatenate(columns, axis=1))
    widths = np.array([line.shape[1] for line in lines])
    x = np.zeros((batch, 1, HEIGHT, widths.max()), np.float32)
    for b, line in enumerate(lines):
        x[b, 0, :, :line.shape[1]] = line
    x += noise * rng.standard_normal(x.shape).astype(np.float32)
    return x, labels, widths, n_labels


class CRNN(tr.nn.Module):
    """Conv blocks (height / 4, width kept) -> per-column features -> BiLSTM -> Linear -> log_softmax."""

    def __init__(self, symbols, channels=16, hidden=32):
        self.features = tr.nn.Sequential(
            tr.nn.Conv2d(1, channels, 3, padding=1), tr.nn.BatchNorm2d(channels), tr.nn.ReLU(),
            tr.nn.MaxPool2d((2, 1)),
            tr.nn.Conv2d(channels, 2 * channels, 3, padding=1), tr.nn.BatchNorm2d(2 * channels), tr.nn.ReLU(),
            tr.nn.MaxPool2d((2, 1)))
        self.rnn = tr.nn.LSTM(2 * channels * (HEIGHT // 4), hidden, bidirectional=True)
        self.head = tr.nn.Linear(2 * hidden, symbols + 1)

    def forward(self, images, widths):
        maps = self.features(tr.tensor(images))                  # (B, C, HEIGHT / 4, W)
        b, c, h, w = maps.shape
        steps = maps.reshape(b, c * h, w).permute(2, 0, 1)        # (W, B, C * HEIGHT / 4): one step per column
        out, _ = self.rnn(steps, lengths=widths)
        return F.log_softmax(self.head(out), dim=-1)             # (W, B, symbols + 1)


def label_error_rate(model, glyphs, max_labels, noise, n=300, seed=99):
    """Edit distance of the greedy transcriptions of n fresh images over their number of labels (eval mode)."""
    x, labels, widths, n_labels = make_batch(n, np.random.default_rng(seed), glyphs, max_labels, noise)
    model.eval()
    with tr.no_grad():
        decoded = greedy_decode(model(x, widths).detach().numpy(), widths)
    model.train()
    errors = sum(edit_distance(d, list(labels[b, :n_labels[b]])) for b, d in enumerate(decoded))
    return errors / n_labels.sum()


def train(steps=300, batch=32, symbols=6, max_labels=5, noise=0.3, channels=16, hidden=32, lr=1e-2, seed=0,
          progress=True, verbose=True):
    """Train a CRNN with CTC; returns (model, losses, label error rate before, after)."""
    U.use_threads()
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    glyphs = make_glyphs(symbols)
    model = CRNN(symbols, channels, hidden)
    before = label_error_rate(model, glyphs, max_labels, noise)
    opt = tr.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = U.progress(total=steps, desc="CRNN + CTC", enabled=progress)
    for step in range(steps):
        x, labels, widths, n_labels = make_batch(batch, rng, glyphs, max_labels, noise)
        loss = F.ctc_loss(model(x, widths), tr.tensor(labels), tr.tensor(widths), tr.tensor(n_labels), blank=BLANK)
        model.zero_grad()
        loss.backward()
        tr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        bar.update(1)
        if step % 10 == 9:
            bar.set_postfix_str(f"loss {np.mean(losses[-20:]):.3f}")
    bar.close()
    after = label_error_rate(model, glyphs, max_labels, noise)
    if verbose:
        print(f"label error rate on 300 fresh images: {before:.1%} untrained -> {after:.1%} after {steps} steps "
              f"(CTC loss per label {np.mean(losses[:20]):.3f} -> {np.mean(losses[-20:]):.3f})", flush=True)
    return model, losses, before, after


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--symbols", type=int, default=6, help="distinct symbols (default 6)")
    ap.add_argument("--max-labels", type=int, default=5, help="most symbols per image (default 5; fewest 1)")
    ap.add_argument("--noise", type=float, default=0.3, help="std of the Gaussian noise on each pixel (default 0.3)")
    ap.add_argument("--channels", type=int, default=16, help="channels of the first convolution (default 16)")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.time()
    result = train(a.steps, a.batch, a.symbols, a.max_labels, a.noise, a.channels, a.hidden, a.lr, a.seed,
                   progress=not a.no_progress)
    print(f"[{time.time() - t0:.0f}s]")
    return result


if __name__ == "__main__":
    main()
