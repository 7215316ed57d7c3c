"""Sequence to sequence: translate dates as people write them into ISO 8601.

    "23 Nov 2026", "Monday, November 23, 2026", "11/23/26", "23.11.2026"  ->  "2026-11-23"

An encoder (a bidirectional GRU over the input characters, with lengths= for the padded batch)
reads the whole date; its two final states, concatenated, start a decoder GRU that writes the
ten output characters one at a time. Training uses teacher forcing: the decoder reads the *true*
previous character. Testing uses greedy decoding: it reads its *own* previous prediction, so it
must be right from the first character on. The data are generated with the standard library's
datetime; the test dates are never seen in training (every seventh day is held out).

    python examples/seq2seq_dates.py                    # a few minutes, then accuracy and examples
    python examples/seq2seq_dates.py --steps 3000 --hidden 128
"""
import argparse
import datetime as dt
import time

import numpy as np

import example_utils as U
import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

FIRST, LAST = dt.date(1970, 1, 1), dt.date(2069, 12, 31)  # two-digit years: 70-99 -> 19xx, 00-69 -> 20xx
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _ordinal(n):
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# Written out by hand rather than with strftime: strftime's month and day names follow the locale.
FORMATS = [
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",                              # 23 Nov 2026
    lambda d: f"{DAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}",              # Monday, November 23, 2026
    lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",                              # 11/23/26
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",                                        # 23.11.2026
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",                                   # November 23, 2026
    lambda d: f"{_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",                       # 23rd of November 2026
    lambda d: f"{DAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3].upper()} {d.year % 100:02d}",  # Mon 23 NOV 26
    lambda d: f"{d.year}/{d.month}/{d.day}",                                                 # 2026/11/23
]

PAD, START = 0, 1
OUT_CHARS = "0123456789-"
OUT_VOCAB = ["<pad>", "<s>"] + list(OUT_CHARS)
OUT_LEN = 10


def _alphabet():
    chars = set()
    d = dt.date(2023, 1, 1)
    for k in range(400):  # every month and weekday name appears in a year and a bit
        for f in FORMATS:
            chars |= set(f(d + dt.timedelta(days=k)))
    return ["<pad>"] + sorted(chars)


IN_VOCAB = _alphabet()
IN_INDEX = {c: i for i, c in enumerate(IN_VOCAB)}


def dates(split, n, rng):
    """n random dates of `split` ('train': six days in seven, 'test': every seventh day)."""
    span = (LAST - FIRST).days + 1
    out = []
    while len(out) < n:
        k = int(rng.integers(span))
        if (k % 7 == 0) == (split == "test"):
            out.append(FIRST + dt.timedelta(days=k))
    return out


def encode_batch(ds, rng):
    """Inputs (S, B) padded, their lengths (B,), and outputs (10, B), with a random format each."""
    texts = [FORMATS[int(rng.integers(len(FORMATS)))](d) for d in ds]
    S = max(len(t) for t in texts)
    x = np.full((S, len(ds)), PAD, dtype=np.int64)
    for b, t in enumerate(texts):
        x[:len(t), b] = [IN_INDEX[c] for c in t]
    y = np.array([[OUT_VOCAB.index(c) for c in d.isoformat()] for d in ds], dtype=np.int64).T
    return x, np.array([len(t) for t in texts]), y, texts


class Seq2Seq(tr.nn.Module):
    def __init__(self, embed=32, hidden=64):
        self.in_embed = tr.nn.Embedding(len(IN_VOCAB), embed)
        self.encoder = tr.nn.GRU(embed, hidden, bidirectional=True)
        self.out_embed = tr.nn.Embedding(len(OUT_VOCAB), embed)
        self.decoder = tr.nn.GRU(embed, 2 * hidden)
        self.head = tr.nn.Linear(2 * hidden, len(OUT_VOCAB))

    def encode(self, x, lengths):
        _, h_n = self.encoder(self.in_embed(x), lengths=lengths)  # h_n (2, B, H): forward, backward
        return tr.concatenate([h_n[0], h_n[1]], axis=-1).reshape(1, x.shape[1], -1)

    def forward(self, x, lengths, y):
        """Teacher forcing: logits (10 * B, vocab) for y, reading <s>, y_0, ..., y_8."""
        B = x.shape[1]
        dec_in = np.concatenate([np.full((1, B), START), y[:-1]], axis=0)
        out, _ = self.decoder(self.out_embed(dec_in), self.encode(x, lengths))
        return self.head(out.reshape(OUT_LEN * B, -1))

    @tr.no_grad()
    def greedy(self, x, lengths):
        """Decode 10 characters, each step reading the previous step's most likely character."""
        B = x.shape[1]
        h = self.encode(x, lengths)
        prev = np.full((1, B), START)
        outs = []
        for _ in range(OUT_LEN):
            out, h = self.decoder(self.out_embed(prev), h)
            logits = self.head(out.reshape(B, -1)).data
            logits[:, :2] = -np.inf  # never <pad> or <s>
            prev = logits.argmax(-1).reshape(1, B)
            outs.append(prev[0])
        return np.stack(outs)  # (10, B)


def decode_text(ids):
    return "".join(OUT_VOCAB[int(i)] for i in ids)


def accuracy(model, n=1000, seed=7):
    """Exact-match accuracy of greedy decoding on n held-out dates, and (input, output, truth) triples."""
    rng = np.random.default_rng(seed)
    x, lengths, y, texts = encode_batch(dates("test", n, rng), rng)
    pred = model.greedy(x, lengths)
    exact = np.all(pred == y, axis=0)
    examples = [(texts[b], decode_text(pred[:, b]), decode_text(y[:, b])) for b in range(n)]
    return float(exact.mean()), examples


def train(steps=1500, batch=64, embed=32, hidden=64, lr=5e-3, clip=1.0, seed=0, minutes=None, progress=True,
          verbose=True):
    say = print if verbose else (lambda *a, **k: None)
    U.use_threads()
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Seq2Seq(embed, hidden)
    opt = tr.optim.Adam(model.parameters(), lr=lr)
    losses = []
    bar = U.progress(total=steps, desc="seq2seq", enabled=progress)
    start = time.time()
    for step in range(steps):
        if minutes and time.time() - start > 60 * minutes:
            break
        x, lengths, y, _ = encode_batch(dates("train", batch, rng), rng)
        loss = F.cross_entropy(model(x, lengths, y), y.reshape(-1))
        model.zero_grad()
        loss.backward()
        tr.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.item())
        bar.update(1)
        if step % 10 == 9:
            bar.set_postfix_str(f"loss {np.mean(losses[-20:]):.3f}")
        if not progress and verbose and step % 250 == 249:
            say(f"step {step + 1:5d}  loss {np.mean(losses[-250:]):.3f}  [{time.time() - start:.0f}s]")
    bar.close()
    return model, losses


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1500, help="training steps (default 1500)")
    ap.add_argument("--minutes", type=float, default=0, help="stop training after this long (default: no limit)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--embed", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64, help="encoder hidden size per direction (default 64)")
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    model, losses = train(a.steps, a.batch, a.embed, a.hidden, a.lr, seed=a.seed, minutes=a.minutes or None,
                          progress=not a.no_progress)
    acc, examples = accuracy(model)
    print(f"training loss: first 50 steps {np.mean(losses[:50]):.3f}, last 50 steps {np.mean(losses[-50:]):.3f}")
    print(f"exact-match accuracy on 1000 held-out dates (greedy decoding): {acc:.1%}")
    for text, got, want in examples[:8]:
        print(f"  {text:28s} -> {got}  {'ok' if got == want else 'wrong (' + want + ')'}")
    return acc


if __name__ == "__main__":
    main()
