"""Sequence to sequence: translate dates as people write them into ISO 8601.

    "23 Nov 2026", "Monday, November 23, 2026", "11/23/26", "23.11.2026"  ->  "2026-11-23"

An encoder (a bidirectional GRU over the input characters, with lengths= for the padded batch)
reads the whole date; its two final states, concatenated, start a decoder GRU that writes the
ten output characters one at a time. Training uses teacher forcing: the decoder reads the *true*
previous character. Testing uses greedy decoding: it reads its *own* previous prediction, so it
must be right from the first character on. The data are generated with the standard library's
datetime; the test dates are never seen in training (every seventh day is held out).

With --attention the decoder also looks back at every encoder state at each step (global attention,
Luong et al. 2015): it scores each input position against its own state - "dot" h.s, "general"
h.W s (both Luong's), "additive" v.tanh(W h + U s) (Bahdanau et al. 2015's score) - turns the scores
into weights with a softmax over the valid positions only (the padding masked out by the lengths),
and reads the weighted mean of the encoder states, the context. The context, concatenated with the
decoder's state, gives the "attentional state" tanh(W_c [context; h]) that predicts the character
(Luong's eq. 5). The weights of one test date are printed as its alignment matrix.

    python examples/seq2seq_dates.py                    # a few minutes, then accuracy and examples
    python examples/seq2seq_dates.py --steps 3000 --hidden 128
    python examples/seq2seq_dates.py --attention general --plot alignment.png
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
            logits = self.head(out.reshape(B, -1)).detach().numpy()
            logits[:, :2] = -np.inf  # never <pad> or <s>
            prev = logits.argmax(-1).reshape(1, B)
            outs.append(prev[0])
        return np.stack(outs)  # (10, B)


class Attention(tr.nn.Module):
    """Global attention over the encoder's states: weights (B, T, S) from scores of each decoder state (the
    query) against each encoder state (the keys), a softmax over the valid positions, and the context they
    weigh. For "dot" and "general" this is F.scaled_dot_product_attention(query, keys, values,
    attn_mask=valid, scale=1.0), with keys = values or W(values); it is spelled out to keep the weights."""

    def __init__(self, kind, size):
        self.kind = kind
        if kind == "general":   # Luong: h.W s
            self.W = tr.nn.Linear(size, size, bias=False)
        elif kind == "additive":   # Bahdanau: v.tanh(W h + U s)
            self.W = tr.nn.Linear(size, size, bias=False)
            self.U = tr.nn.Linear(size, size)
            self.v = tr.nn.Linear(size, 1, bias=False)

    def scores(self, query, states):
        """(B, T, D) decoder states against (B, S, D) encoder states: (B, T, S)."""
        if self.kind == "dot":
            return query @ states.transpose(1, 2)
        if self.kind == "general":
            return query @ self.W(states).transpose(1, 2)
        mixed = self.W(query).unsqueeze(2) + self.U(states).unsqueeze(1)   # (B, T, S, D)
        return self.v(mixed.tanh()).squeeze(-1)

    def forward(self, query, states, valid):
        """The context (B, T, D) and the weights (B, T, S); valid (B, 1, S) is False on padding."""
        weights = F.softmax(self.scores(query, states).masked_fill(~valid, -np.inf), dim=-1)
        return weights @ states, weights


class AttentionSeq2Seq(Seq2Seq):
    """Seq2Seq whose decoder attends to every encoder output (Luong et al. 2015, global attention without
    input feeding): the decoder GRU runs as before, then each of its states h meets its context c in
    tanh(W_c [c; h]), which the head reads. Training stays one GRU call over the ten steps."""

    def __init__(self, embed=32, hidden=64, attention="dot"):
        super().__init__(embed, hidden)
        self.attention = Attention(attention, 2 * hidden)
        self.combine = tr.nn.Linear(4 * hidden, 2 * hidden)

    def encode_all(self, x, lengths):
        """Every encoder output (B, S, 2H), the decoder's first state, and valid (B, 1, S): False on padding."""
        out, h_n = self.encoder(self.in_embed(x), lengths=lengths)   # out (S, B, 2H): zeros past each length
        h0 = tr.concatenate([h_n[0], h_n[1]], axis=-1).reshape(1, x.shape[1], -1)   # as in encode()
        valid = (np.arange(x.shape[0])[None, :] < np.asarray(lengths)[:, None])[:, None, :]
        return out.transpose(0, 1), h0, valid

    def attend(self, dec_out, states, valid):
        """Decoder outputs (T, B, 2H) -> logits (T, B, vocab) and the attention weights (B, T, S)."""
        h = dec_out.transpose(0, 1)
        context, weights = self.attention(h, states, valid)
        attentional = self.combine(tr.concatenate([context, h], axis=-1)).tanh()
        return self.head(attentional).transpose(0, 1), weights

    def forward(self, x, lengths, y):
        B = x.shape[1]
        states, h0, valid = self.encode_all(x, lengths)
        dec_in = np.concatenate([np.full((1, B), START), y[:-1]], axis=0)
        out, _ = self.decoder(self.out_embed(dec_in), h0)
        logits, _ = self.attend(out, states, valid)
        return logits.reshape(OUT_LEN * B, -1)

    @tr.no_grad()
    def decode(self, x, lengths):
        """Greedy decoding: the characters (10, B) and the attention weights (B, 10, S) of each step."""
        B = x.shape[1]
        states, h, valid = self.encode_all(x, lengths)
        prev = np.full((1, B), START)
        outs, weights = [], []
        for _ in range(OUT_LEN):
            out, h = self.decoder(self.out_embed(prev), h)
            logits, w = self.attend(out, states, valid)
            logits = logits.detach().numpy().reshape(B, -1)
            logits[:, :2] = -np.inf  # never <pad> or <s>
            prev = logits.argmax(-1).reshape(1, B)
            outs.append(prev[0])
            weights.append(w.detach().numpy())
        return np.stack(outs), np.concatenate(weights, axis=1)

    def greedy(self, x, lengths):
        return self.decode(x, lengths)[0]


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
          verbose=True, attention="none"):
    say = print if verbose else (lambda *a, **k: None)
    U.use_threads()
    tr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Seq2Seq(embed, hidden) if attention == "none" else AttentionSeq2Seq(embed, hidden, attention)
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


# ----------------------------------------------------------------------------- the alignment matrix
SHADES = " .:-=+*#%@"   # weight 0 ... 1 in ten steps


def alignment(model, date, fmt=1):
    """One date written in FORMATS[fmt], decoded: (its text, the output, weights (10, len(text)))."""
    text = FORMATS[fmt](date)
    x = np.array([[IN_INDEX[c]] for c in text], dtype=np.int64)
    pred, weights = model.decode(x, np.array([len(text)]))
    return text, decode_text(pred[:, 0]), weights[0]


def alignment_text(text, out, weights):
    """Rows: the input characters; columns: the output characters; a shade per weight."""
    lines = ["attention weights (rows: input characters, columns: output characters; "
             f"'{SHADES}' for 0 to 1):", "      " + " ".join(out)]
    for s, c in enumerate(text):
        shades = (SHADES[min(int(w * len(SHADES)), len(SHADES) - 1)] for w in weights[:, s])
        lines.append(f"  {c!r:>3} " + " ".join(shades))
    return "\n".join(lines)


def plot_alignment(text, out, weights, path):
    """The alignment as a heat map PNG; returns the path, or None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(4, 0.25 * len(text) + 1.5))
    ax.imshow(weights.T, cmap="Greys", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(out)), list(out))
    ax.set_yticks(range(len(text)), list(text))
    ax.set_xlabel("output")
    ax.set_ylabel("input")
    ax.set_title("attention weights")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def show_alignment(model, plot=None, seed=7):
    date = dates("test", 1, np.random.default_rng(seed))[0]
    text, out, weights = alignment(model, date)
    print(alignment_text(text, out, weights))
    if plot:
        saved = plot_alignment(text, out, weights, plot)
        print(f"alignment heat map saved to {saved}" if saved else "(matplotlib is not installed: no plot)")


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
    ap.add_argument("--attention", choices=["none", "dot", "general", "additive"], default="none",
                    help="the decoder attends to the encoder's states, with this score (default none)")
    ap.add_argument("--plot", metavar="FILE", help="with --attention: save the alignment heat map (needs matplotlib)")
    a = ap.parse_args(argv)
    if a.plot and a.attention == "none":
        ap.error("--plot draws the attention weights: give --attention dot, general or additive")
    model, losses = train(a.steps, a.batch, a.embed, a.hidden, a.lr, seed=a.seed, minutes=a.minutes or None,
                          progress=not a.no_progress, attention=a.attention)
    acc, examples = accuracy(model)
    print(f"training loss: first 50 steps {np.mean(losses[:50]):.3f}, last 50 steps {np.mean(losses[-50:]):.3f}")
    print(f"exact-match accuracy on 1000 held-out dates (greedy decoding): {acc:.1%}")
    for text, got, want in examples[:8]:
        print(f"  {text:28s} -> {got}  {'ok' if got == want else 'wrong (' + want + ')'}")
    if a.attention != "none":
        show_alignment(model, a.plot)
    return acc


if __name__ == "__main__":
    main()
