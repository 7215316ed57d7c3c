"""A character language model: Embedding -> LSTM (or GRU / Elman RNN) -> Linear, trained with
truncated backpropagation through time.

Truncated BPTT: the corpus is cut into `--batch` parallel streams; each step reads the next
`--seq-len` characters of every stream, starting from the state the previous step ended in. That
state is `.detach()`ed first, so gradients flow back at most seq-len steps while the model still
sees an unbroken text. Loss is cross-entropy per character (perplexity = exp(loss)); Adam with
gradient-norm clipping updates the weights.

Checkpoints (--checkpoint PATH, --resume) hold the weights, Adam's moments, the step, the carried
hidden state and the vocabulary in one .npz written by tr.save (np.savez into a temporary file in
the same directory, then os.replace: a crash never leaves half a checkpoint). A resumed run
continues with exactly the losses an uninterrupted one would have had.

    python examples/char_lm.py                       # 2 minutes on the Python docs (pydoc_data.topics)
    python examples/char_lm.py --text book.txt --minutes 10 --cell gru
    python examples/char_lm.py --resume --steps 0 --prime "The " --temperature 0.5   # only sample
    mpiexec -n 2 python examples/char_lm.py          # one model, two processes (pip install -e ".[distributed]")

Under mpiexec each of the N processes takes --batch / N of the streams (the global batch stays
--batch, which must divide by N), DistributedDataParallel averages the gradients, and every
process makes the same update: N processes follow the run of one up to float rounding. Only rank 0
prints, draws the bar, writes checkpoints and samples. A checkpoint holds the global state (all
streams' carried hidden state), so --resume works under any number of processes.
"""
import argparse
import os
import time
import zlib

import numpy as np

import example_utils as U
import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

CELLS = {"lstm": tr.nn.LSTM, "gru": tr.nn.GRU, "rnn": tr.nn.RNN}
DEFAULT_CHECKPOINT = os.path.join("checkpoints", "char_lm.npz")


# ----------------------------------------------------------------------------- data
def load_corpus(path=None):
    """The text of `path`, or by default the Python documentation's topic pages that ship with the
    standard library (pydoc_data.topics: about 465,000 characters of English prose and code)."""
    if path is not None:
        with open(path, encoding="utf-8") as f:
            return f.read()
    from pydoc_data.topics import topics
    return "\n\n".join(topics[k] for k in sorted(topics))


class Vocab:
    """Characters <-> ids, in sorted order (so the same text always gives the same ids)."""

    def __init__(self, chars):
        self.chars = "".join(chars)
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text):
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        missing = sorted(set(text) - set(self.index))
        if missing:
            raise ValueError(f"characters not in the vocabulary: {''.join(missing)!r}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[int(i)] for i in ids)


def stream_batch(data, step, batch, seq_len):
    """Inputs and targets (seq_len, batch) for training step `step`, and whether the carried state
    must be reset (a new pass over the text). Stream b reads data[b * L : (b + 1) * L]."""
    L = (len(data) - 1) // batch
    per_epoch = (L - 1) // seq_len
    if per_epoch < 1:
        raise ValueError(f"the text ({len(data)} characters) is too short for batch={batch} x seq_len={seq_len}")
    k = step % per_epoch
    starts = np.arange(batch) * L + k * seq_len
    idx = starts[None, :] + np.arange(seq_len)[:, None]
    return data[idx], data[idx + 1], k == 0


# ----------------------------------------------------------------------------- model
class CharLM(tr.nn.Module):
    def __init__(self, vocab_size, cell="lstm", embed=32, hidden=128, layers=1):
        self.cell = cell
        self.embed = tr.nn.Embedding(vocab_size, embed)
        self.rnn = CELLS[cell](embed, hidden, num_layers=layers)
        self.head = tr.nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        """ids (T, B) ints -> logits (T * B, vocab), final state (h_n, or (h_n, c_n) for the LSTM)."""
        out, state = self.rnn(self.embed(ids), state)
        T, B, H = out.shape
        return self.head(out.reshape(T * B, H)), state


def detach_state(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def state_arrays(state):
    if state is None:
        return []
    return [s.detach().numpy() for s in state] if isinstance(state, tuple) else [state.detach().numpy()]


@tr.no_grad()
def sample(model, vocab, length=200, prime="\n", temperature=0.8, rng=None):
    """`prime` followed by `length` sampled characters. temperature -> 0 approaches greedy
    decoding; 1 samples the model's own distribution; higher is more random."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    rng = rng if rng is not None else np.random.default_rng()
    prime = prime or "\n"
    ids = vocab.encode(prime)
    logits, state = model(ids.reshape(-1, 1))
    out = []
    for _ in range(length):
        z = logits[-1].numpy().astype(np.float64) / temperature
        p = np.exp(z - z.max())
        nxt = int(rng.choice(len(p), p=p / p.sum()))
        out.append(nxt)
        logits, state = model(np.array([[nxt]]), state)
    return prime + vocab.decode(out)


@tr.no_grad()
def evaluate(model, data, seq_len=100, batch=16):
    """Mean cross-entropy per character on `data` (carrying state across chunks, as in training)."""
    if len(data) < batch * 2 + 1:
        batch = 1
    steps = max(((len(data) - 1) // batch - 1) // seq_len, 0)
    total, state = 0.0, None
    for k in range(steps):
        x, y, _ = stream_batch(data, k, batch, seq_len)
        logits, state = model(x, state)
        total += F.cross_entropy(logits, y.reshape(-1)).item()
    return total / steps if steps else float("nan")


# ----------------------------------------------------------------------------- checkpoints
def save_checkpoint(path, model, optimizer, step, vocab, state, config, losses, text_crc):
    """Everything a bit-exact resume needs, through tr.save (np.savez to a temp file, then os.replace).
    Every rank calls it (it gathers the carried state); rank 0 writes."""
    path = os.path.abspath(path)
    carried = _global_state(state)
    if not U.is_main_process():
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tr.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
             "vocab": vocab.chars, "carried": carried, "config": config,
             "losses": np.asarray(losses, dtype=np.float64), "text_crc": text_crc}, path)
    return path


def load_checkpoint(path):
    return tr.load(path)


def _restore(ckpt, model, optimizer, rows=slice(None)):
    """Weights, Adam's state, and the carried state of this process's streams `rows`."""
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    parts = [tr.Tensor(np.ascontiguousarray(a[:, rows])) for a in ckpt["carried"]]  # (layers, batch, hidden)
    return None if not parts else (tuple(parts) if len(parts) > 1 else parts[0])


def _global_state(state):
    """The carried state of all streams, for a checkpoint: every rank's share, concatenated in rank
    order along the batch axis (a collective: every rank calls it)."""
    arrays = state_arrays(state)
    if tr.distributed.get_world_size() == 1:
        return arrays
    whole = []
    for a in arrays:
        parts = [np.empty_like(a) for _ in range(tr.distributed.get_world_size())]
        tr.distributed.all_gather(parts, np.ascontiguousarray(a))
        whole.append(np.concatenate(parts, axis=1))
    return whole


# ----------------------------------------------------------------------------- training
def train(text=None, cell="lstm", embed=32, hidden=128, layers=1, seq_len=64, batch=32, lr=3e-3, clip=1.0,
          steps=None, minutes=2.0, checkpoint=None, resume=False, save_every=200, log_every=50, seed=0,
          valid_fraction=0.02, sample_length=300, prime="The ", temperature=0.7, progress=True, verbose=True):
    """Train (or continue training) a character LM. Stops after `steps` total steps or `minutes` of
    training, whichever comes first (None disables either). Returns a dict with the model, the
    vocabulary, per-step losses (including those before a resume), the validation loss and a sample.
    Under mpiexec every process calls it; rank 0's result alone has the validation loss and sample."""
    rank, world = U.init_distributed()
    say = print if verbose and rank == 0 else (lambda *a, **k: None)
    U.use_threads()
    text = load_corpus() if text is None else text
    text_crc = zlib.crc32(text.encode("utf-8"))
    ckpt = _read_checkpoint(checkpoint, rank) if resume else None
    if ckpt is not None:
        config = ckpt["config"]
        cell, embed, hidden, layers = config["cell"], config["embed"], config["hidden"], config["layers"]
        seq_len, batch = config["seq_len"], config["batch"]
        vocab = Vocab(ckpt["vocab"])
        if int(ckpt["text_crc"]) != text_crc:
            say("note: the text differs from the one the checkpoint was trained on")
    else:
        vocab = Vocab.from_text(text)
    config = dict(cell=cell, embed=embed, hidden=hidden, layers=layers, seq_len=seq_len, batch=batch)
    rows = _my_streams(batch, world)

    data = vocab.encode(text)
    n_valid = int(len(data) * valid_fraction)
    train_data, valid_data = (data[:-n_valid], data[-n_valid:]) if n_valid > seq_len else (data, None)

    tr.manual_seed(seed)
    model = CharLM(len(vocab), cell, embed, hidden, layers)
    optimizer = tr.optim.Adam(model.parameters(), lr=lr)
    step, losses, state = 0, [], None
    if ckpt is not None:
        state = _restore(ckpt, model, optimizer, rows)
        step, losses = int(ckpt["step"]), [float(v) for v in ckpt["losses"]]
        say(f"resumed from {checkpoint} at step {step}")

    trainer = tr.nn.parallel.DistributedDataParallel(model)  # with one process: the model itself

    n_params = sum(p.size for p in model.parameters())
    say(f"{cell.upper()} {layers}x{hidden}, {n_params:,} parameters; {len(train_data):,} training characters, "
        f"vocabulary of {len(vocab)}; batch {batch} x {seq_len} steps of BPTT"
        + (f", {batch // world} streams on each of {world} processes" if world > 1 else ""))
    budget = None if minutes is None else 60.0 * minutes
    bar = U.progress(total=max(steps - step, 0) if steps is not None else None, desc="char-lm", enabled=progress)
    start = time.time()
    window = []
    saved_at = None
    out_of_time = budget is not None and budget <= 0
    while (steps is None or step < steps) and not out_of_time:
        x, y, new_epoch = stream_batch(train_data, step, batch, seq_len)
        if new_epoch:
            state = None  # streams jump back to their start: the carried state no longer applies
        loss, state = _train_step(model, trainer, optimizer, x[:, rows], y[:, rows], state, clip)
        step += 1
        # one small message: the global loss (mean of equal shards' means), and whether any rank's
        # clock ran out (all ranks must stop at the same step, or the others wait forever)
        shared = np.array([loss, budget is not None and time.time() - start >= budget], dtype=np.float64)
        tr.distributed.all_reduce(shared)
        out_of_time = shared[1] > 0
        losses.append(float(shared[0]) / world)
        window.append(losses[-1])
        window = _show_progress(bar, say, window, step, log_every if not progress else 0, start)
        if checkpoint and save_every and step % save_every == 0:
            saved_at = save_checkpoint(checkpoint, model, optimizer, step, vocab, state, config, losses, text_crc)
    bar.close()
    elapsed = time.time() - start
    if checkpoint and (saved_at is None or step % save_every):
        saved_at = save_checkpoint(checkpoint, model, optimizer, step, vocab, state, config, losses, text_crc)

    result = dict(model=model, vocab=vocab, losses=losses, step=step, elapsed=elapsed, checkpoint=saved_at,
                  optimizer=optimizer, state=state)
    if losses:
        say(loss_curve(losses))
    if rank == 0:
        _evaluate_and_sample(result, valid_data, sample_length, prime, temperature, seed, say)
    return result


def _my_streams(batch, world):
    """This process's share of the batch's parallel text streams (all of them without mpiexec)."""
    try:
        return tr.distributed.shard_batch(batch)
    except ValueError:
        raise ValueError(f"--batch {batch} must be a multiple of the number of processes ({world}): each "
                         "process takes an equal share of the streams") from None


def _read_checkpoint(checkpoint, rank):
    """The checkpoint to resume from, on every rank: rank 0 reads the file (other machines need not see it)."""
    if rank == 0 and (checkpoint is None or not os.path.exists(checkpoint)):
        raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint}")
    ckpt = [load_checkpoint(checkpoint) if rank == 0 else None]
    tr.distributed.broadcast_object_list(ckpt)
    return ckpt[0]


def _train_step(model, trainer, optimizer, x, y, state, clip):
    """One step of truncated BPTT: (this rank's loss, the state to carry, detached)."""
    logits, state = trainer(x, detach_state(state))  # detach: truncate BPTT at the batch boundary
    loss = F.cross_entropy(logits, y.reshape(-1))
    model.zero_grad()
    loss.backward()  # under mpiexec: ends with the gradients averaged over the processes
    tr.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item(), detach_state(state)


def _show_progress(bar, say, window, step, log_every, start):
    """The progress bar's loss every 10 steps, and a log line every log_every steps (0: never), after which
    the window of recent losses starts afresh. Returns the window."""
    bar.update(1)
    if step % 10 == 0:
        avg = float(np.mean(window[-50:]))
        bar.set_postfix_str(f"loss {avg:.3f} ppl {np.exp(avg):.1f}")
    if log_every and step % log_every == 0:
        avg = float(np.mean(window))
        say(f"step {step:5d}  loss {avg:.3f}  perplexity {np.exp(avg):6.2f}  [{time.time() - start:.0f}s]")
        return []
    return window


def _evaluate_and_sample(result, valid_data, sample_length, prime, temperature, seed, say):
    """Rank 0's end of training: the held-out loss and a sample, into `result` and printed."""
    model, vocab, saved_at = result["model"], result["vocab"], result["checkpoint"]
    if valid_data is not None and result["step"]:
        result["valid_loss"] = evaluate(model, valid_data[:20000], seq_len=100, batch=16)
        say(f"held-out loss {result['valid_loss']:.3f}, perplexity {np.exp(result['valid_loss']):.2f} "
            f"(a uniform guess over {len(vocab)} characters: perplexity {len(vocab)})")
    if sample_length:
        result["sample"] = sample(model, vocab, sample_length, prime, temperature, np.random.default_rng(seed))
        say(f"\n--- sample (temperature {temperature}) ---\n{result['sample']}\n---")
    if saved_at:
        say(f"checkpoint: {saved_at} (continue with --resume --checkpoint {saved_at})")


def loss_curve(losses, points=8):
    """A few lines summarising the training loss: the mean over equal slices of the run."""
    n = len(losses)
    edges = np.linspace(0, n, min(points, n) + 1).astype(int)
    lines = ["training loss (mean over each slice of steps):"]
    for a, b in zip(edges[:-1], edges[1:]):
        m = float(np.mean(losses[a:b]))
        lines.append(f"  steps {a + 1:5d}-{b:5d}: loss {m:.3f}  perplexity {np.exp(m):7.2f}")
    return "\n".join(lines)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--text", metavar="FILE", help="train on this UTF-8 text file (default: pydoc_data.topics)")
    p.add_argument("--cell", choices=sorted(CELLS), default="lstm")
    p.add_argument("--embed", type=int, default=32, help="embedding size (default 32)")
    p.add_argument("--hidden", type=int, default=128, help="hidden size (default 128)")
    p.add_argument("--layers", type=int, default=1, help="stacked recurrent layers (default 1)")
    p.add_argument("--seq-len", type=int, default=64, help="BPTT truncation length (default 64)")
    p.add_argument("--batch", type=int, default=32, help="parallel text streams (default 32)")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default 3e-3)")
    p.add_argument("--clip", type=float, default=1.0, help="clip_grad_norm_ max norm (default 1.0)")
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps in total (default: none)")
    p.add_argument("--minutes", type=float, default=2.0, help="training time budget (default 2; 0 = no limit)")
    p.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT, metavar="PATH",
                   help=f"where to save (default {DEFAULT_CHECKPOINT}); '' to disable")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--save-every", type=int, default=200, help="checkpoint every N steps (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--length", type=int, default=300, help="characters to sample at the end (default 300)")
    p.add_argument("--prime", default="The ", help="text the sample starts from (default 'The ')")
    p.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (default 0.7)")
    p.add_argument("--no-progress", action="store_true", help="print a line every 50 steps instead of a bar")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    text = load_corpus(args.text)
    return train(text=text, cell=args.cell, embed=args.embed, hidden=args.hidden, layers=args.layers,
                 seq_len=args.seq_len, batch=args.batch, lr=args.lr, clip=args.clip, steps=args.steps,
                 minutes=args.minutes or None, checkpoint=args.checkpoint or None, resume=args.resume,
                 save_every=args.save_every, seed=args.seed, sample_length=args.length, prime=args.prime,
                 temperature=args.temperature, progress=not args.no_progress)


if __name__ == "__main__":
    main()
