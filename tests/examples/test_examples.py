"""Every example runs here in a tiny configuration and must show what it claims (in seconds, not minutes)."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

EXAMPLES = os.path.join(REPO, "examples")
sys.path.insert(0, EXAMPLES)

import tinygrad_rnn as tr  # noqa: E402

TINY_TEXT = "the cat sat on the mat. the dog sat on the log. " * 40


# ----------------------------------------------------------------------------- char LM
def _char_lm(**kw):
    import char_lm
    args = dict(text=TINY_TEXT, embed=8, hidden=24, seq_len=12, batch=4, lr=1e-2, minutes=None, checkpoint=None,
                sample_length=0, valid_fraction=0.0, progress=False, verbose=False)
    args.update(kw)
    return char_lm.train(**args)


def test_char_lm_loss_falls_and_samples_from_the_alphabet():
    import char_lm
    r = _char_lm(steps=60, sample_length=40, prime="the ")
    losses = r["losses"]
    assert len(losses) == 60
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.5
    s = r["sample"]
    assert s.startswith("the ") and len(s) == 4 + 40
    assert set(s) <= set(TINY_TEXT)
    assert char_lm.build_parser().parse_args([]).minutes == 2.0


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_char_lm_other_cells_train(cell):
    r = _char_lm(steps=15, cell=cell)
    assert np.mean(r["losses"][-5:]) < r["losses"][0]


def test_char_lm_checkpoint_round_trips_and_resume_matches(tmp_path):
    full, half = str(tmp_path / "full.npz"), str(tmp_path / "half.npz")
    a = _char_lm(steps=16, checkpoint=full, save_every=8)
    _char_lm(steps=8, checkpoint=half, save_every=8)
    b = _char_lm(steps=16, checkpoint=half, resume=True, save_every=8)
    # the resumed run repeats the uninterrupted run's losses exactly (weights, Adam state, carried
    # hidden state and data position all restored)
    assert b["losses"] == a["losses"]
    for (n, p), (_, q) in zip(a["model"].named_parameters(), b["model"].named_parameters()):
        assert np.array_equal(p.data, q.data), n
    # bit for bit: both runs' final checkpoints hold identical arrays
    ca, cb = tr.load(full), tr.load(half)
    for name in ca["model"]:
        assert ca["model"][name].numpy().tobytes() == cb["model"][name].numpy().tobytes()
    for i, entry in ca["optimizer"]["state"].items():
        for k, v in entry.items():
            assert np.asarray(v).tobytes() == np.asarray(cb["optimizer"]["state"][i][k]).tobytes()
    assert ca["step"] == cb["step"] == 16 and ca["vocab"] == cb["vocab"]
    assert [x.tobytes() for x in ca["carried"]] == [x.tobytes() for x in cb["carried"]]
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]  # no temp files left behind


def test_demo_runs_char_lm_with_its_arguments(tmp_path, capsys):
    """make demo's script is char_lm's command line: a tiny run through it trains, reports and samples."""
    import demo
    text = tmp_path / "tiny.txt"
    text.write_text(TINY_TEXT)
    r = demo.main(["--text", str(text), "--steps", "4", "--batch", "2", "--seq-len", "8", "--hidden", "8",
                   "--embed", "4", "--checkpoint", "", "--length", "10", "--prime", "the ", "--no-progress"])
    assert r["step"] == 4 and len(r["sample"]) == len("the ") + 10
    out = capsys.readouterr().out
    assert "training loss" in out and "held-out loss" in out and "--- sample" in out


def test_char_lm_cli_help():
    import char_lm
    with pytest.raises(SystemExit) as e:
        char_lm.main(["--help"])
    assert e.value.code == 0


# ----------------------------------------------------------------------------- adding problem
def test_adding_data_targets_are_the_marked_sums():
    import adding_problem as A
    x, y = A.adding_batch(20, 64, np.random.default_rng(0))
    assert x.shape == (20, 64, 2) and y.shape == (64, 1)
    assert np.all(x[:, :, 1].sum(0) == 2)
    assert np.all(x[:10, :, 1].sum(0) == 1)  # one marker in each half
    assert np.allclose((x[:, :, 0] * x[:, :, 1]).sum(0), y[:, 0])


def test_adding_gru_beats_the_baseline():
    import adding_problem as A
    _, losses, mse = A.train_one("gru", T=10, steps=150, batch=32, hidden=16, lr=2e-2, progress=False)
    assert mse < A.BASELINE / 3, mse
    res = A.run(cells=("rnn",), lengths=(5,), steps=3, batch=8, hidden=4, progress=False, verbose=False)
    assert set(res) == {("rnn", 5)}


# ----------------------------------------------------------------------------- tape walkthrough
def test_tape_walkthrough_matches_manual_bptt(tmp_path):
    import tape_walkthrough as W
    r = W.walkthrough(T=3, out=str(tmp_path / "tape.dot"), verbose=False)
    for name in ("W_hh", "W_ih", "b"):
        np.testing.assert_allclose(r["grads"][name], r["manual"][name], rtol=1e-10)
    assert len(r["order"]) == 3 * 10 - 1  # ten ops per step, minus the first step's loss Add
    from tinygrad_rnn import viz
    ids, edges = viz.parse_dot(open(r["path"]).read())
    assert len(ids) == 29 + 3  # nodes + three leaves


# ----------------------------------------------------------------------------- bidirectional tagging
def test_tagging_labels_are_the_next_symbol():
    import bidirectional_tagging as BT
    x, y, lengths = BT.tagging_batch(16, np.random.default_rng(0))
    for b in range(16):
        for t in range(lengths[b]):
            later = [s for s in x[t + 1:lengths[b], b] if s]
            assert y[t, b] == (later[0] if later else 0)
        assert np.all(y[lengths[b]:, b] == BT.IGNORE)


def test_bidirectional_sees_the_future_forward_cannot():
    import bidirectional_tagging as BT
    res = BT.run(steps=40, batch=16, hidden=16, progress=False, verbose=False, max_len=12)
    assert res["bidirectional"] > 0.8, res
    assert res["forward-only"] < 0.5, res


# ----------------------------------------------------------------------------- custom cell
def test_custom_cell_gradchecks_and_trains_stacked_bidirectional():
    import custom_cell as C
    assert C.check_gradients(verbose=False)
    _, losses, acc = C.train_tagger(steps=40, batch=16, hidden=16, progress=False, max_len=12)
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3
    assert acc > 0.6


# ----------------------------------------------------------------------------- seq2seq dates
def test_seq2seq_data_formats_and_targets():
    import datetime as dt

    import seq2seq_dates as S
    d = dt.date(2026, 11, 23)
    written = [f(d) for f in S.FORMATS]
    for s in ("23 Nov 2026", "Monday, November 23, 2026", "11/23/26", "23.11.2026"):
        assert s in written
    rng = np.random.default_rng(0)
    train, test = set(S.dates("train", 300, rng)), set(S.dates("test", 300, rng))
    assert not train & test  # held-out dates are never trained on
    x, lengths, y, texts = S.encode_batch(sorted(test)[:5], rng)
    assert x.shape == (max(lengths), 5) and y.shape == (10, 5)
    assert [S.decode_text(y[:, b]) for b in range(5)] == [t.isoformat() for t in sorted(test)[:5]]


def test_seq2seq_trains_and_decodes_greedily():
    import seq2seq_dates as S
    model, losses = S.train(steps=40, batch=16, embed=8, hidden=16, lr=1e-2, progress=False, verbose=False)
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3
    acc, examples = S.accuracy(model, n=20)
    assert 0.0 <= acc <= 1.0 and len(examples) == 20
    assert all(len(got) == 10 and set(got) <= set(S.OUT_CHARS) for _, got, _ in examples)


@pytest.mark.parametrize("attention", ["dot", "general", "additive"])
def test_seq2seq_attention_trains_and_weighs_the_valid_positions_only(attention):
    """Each output step's attention weights sum to 1 over the input's valid positions and are 0 on its padding."""
    import seq2seq_dates as S
    model, losses = S.train(steps=30, batch=16, embed=8, hidden=16, lr=1e-2, progress=False, verbose=False,
                            attention=attention)
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3
    rng = np.random.default_rng(1)
    x, lengths, _, _ = S.encode_batch(S.dates("test", 12, rng), rng)
    assert lengths.min() < x.shape[0]   # some padding to mask
    pred, weights = model.decode(x, lengths)
    assert pred.shape == (10, 12) and weights.shape == (12, 10, x.shape[0])
    padding = np.arange(x.shape[0])[None, None, :] >= lengths[:, None, None]
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    assert np.all(np.broadcast_to(padding, weights.shape) <= (weights == 0))
    assert np.array_equal(model.greedy(x, lengths), pred)


@pytest.mark.parametrize("attention", ["dot", "general"])
def test_seq2seq_dot_and_general_attention_are_scaled_dot_product_attention(attention):
    import seq2seq_dates as S
    tr.manual_seed(0)
    model = S.AttentionSeq2Seq(8, 16, attention)
    rng = np.random.default_rng(2)
    x, lengths, _, _ = S.encode_batch(S.dates("train", 5, rng), rng)
    states, _, valid = model.encode_all(x, lengths)
    query = tr.randn(5, 10, 32)
    context, _ = model.attention(query, states, valid)
    keys = states if attention == "dot" else model.attention.W(states)
    expected = tr.nn.functional.scaled_dot_product_attention(query, keys, states, attn_mask=valid, scale=1.0)
    np.testing.assert_allclose(context.data, expected.data, rtol=1e-5, atol=1e-6)


def test_seq2seq_attention_command_line_prints_and_plots_the_alignment(tmp_path, capsys, monkeypatch):
    import seq2seq_dates as S
    args = ["--steps", "3", "--batch", "4", "--embed", "4", "--hidden", "8", "--no-progress", "--attention", "dot"]
    S.main(args + ["--plot", str(tmp_path / "a.png")])
    out = capsys.readouterr().out
    assert "exact-match accuracy" in out and "attention weights" in out
    text = S.FORMATS[1](S.dates("test", 1, np.random.default_rng(7))[0])
    assert out.count("\n  '") == len(text)   # a row per input character
    try:
        import matplotlib  # noqa: F401
        assert open(tmp_path / "a.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    except ImportError:
        assert "matplotlib is not installed" in out
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert S.plot_alignment("ab", "0123456789", np.ones((10, 2)) / 2, str(tmp_path / "b.png")) is None
    with pytest.raises(SystemExit):
        S.main(["--plot", str(tmp_path / "c.png")])   # --plot without --attention


# ----------------------------------------------------------------------------- gradient flow
def test_gradient_flow_vanishing_and_open_forget_gate():
    import gradient_flow as G
    rnn = G.gradient_norms("rnn", T=40, hidden=16, batch=2)
    lstm_open = G.gradient_norms("lstm", T=40, hidden=16, batch=2, forget_bias=3.0)
    assert rnn.shape == (40,) and np.all(rnn > 0)
    assert rnn[0] / rnn[-1] < 1e-4  # vanished over 40 steps
    assert lstm_open[0] / lstm_open[-1] > 1e-2  # the open forget gate carries it


def test_gradient_flow_plot(tmp_path):
    import gradient_flow as G
    pytest.importorskip("matplotlib")
    path = G.plot_flow({"RNN": np.geomspace(1e-10, 1, 20)}, str(tmp_path / "flow.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_clipping_tames_exploding_gradients():
    import gradient_flow as G
    with np.errstate(over="ignore", invalid="ignore"):
        plain = G.exploding_run(None, steps=25, T=30, hidden=16)
        clipped = G.exploding_run(1.0, steps=25, T=30, hidden=16)
    assert max(r[1] for r in plain) > 1e6 or not all(np.isfinite(r[0]) for r in plain)
    assert all(np.isfinite(r[0]) and r[0] < 10 for r in clipped)
    assert all(r[2] <= 1.0 + 1e-5 for r in clipped) and max(r[1] for r in clipped) > 1.0


# ----------------------------------------------------------------------------- CTC
def test_ctc_batches_and_greedy_decoding():
    """The frames show each label as a run, silence between two runs of one label; greedy decoding merges
    repeats and drops blanks, so decoding the noise-free frames' own classes gives the labels back."""
    import ctc_counting as C
    x, labels, lengths, n_labels = C.make_batch(16, np.random.default_rng(0), noise=0.0)
    one_hot = np.log(np.where(x > 0.5, 1.0, 1e-9))   # the frames' classes as log-probabilities (0 = blank = silence)
    decoded = C.greedy_decode(one_hot, lengths)
    assert decoded == [list(labels[b, :n_labels[b]]) for b in range(16)]
    assert np.all(labels[np.arange(labels.shape[1]) >= n_labels[:, None]] == C.BLANK)
    assert C.edit_distance([1, 2, 3], [1, 3]) == 1 and C.edit_distance([], [2, 2]) == 2


def test_ctc_reader_learns_to_transcribe():
    import ctc_counting as C
    _, losses, before, after = C.train(steps=60, batch=16, symbols=3, max_labels=3, hidden=16, lr=2e-2,
                                       progress=False, verbose=False)
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5
    assert after < before - 0.3, (before, after)


# ----------------------------------------------------------------------------- CRNN + CTC
def test_crnn_images_hold_their_labels():
    """Each image is its labels' glyphs, left to right, blank columns between two glyphs: with no noise, its
    columns split at the blank ones give back the glyphs (stretched), and labels are padded with the blank."""
    import crnn_ctc as C
    glyphs = C.make_glyphs(4)
    assert len({g.tobytes() for g in glyphs[1:]}) == 4 and all(g.shape[0] == C.HEIGHT for g in glyphs[1:])
    x, labels, widths, n_labels = C.make_batch(8, np.random.default_rng(0), glyphs, max_labels=3, noise=0.0)
    assert x.shape == (8, 1, C.HEIGHT, widths.max()) and x.dtype == np.float32
    for b in range(8):
        inked = x[b, 0, :, :widths[b]].any(axis=0)
        starts = np.flatnonzero(inked & ~np.r_[False, inked[:-1]])
        assert len(starts) == n_labels[b]
        for start, label in zip(starts, labels[b, :n_labels[b]]):
            np.testing.assert_array_equal(x[b, 0, :, start], glyphs[label][:, 0])
        assert np.all(x[b, 0, :, widths[b]:] == 0)
    assert np.all(labels[np.arange(labels.shape[1]) >= n_labels[:, None]] == C.BLANK)


def test_crnn_learns_to_read_the_images():
    import crnn_ctc as C
    _, losses, before, after = C.train(steps=60, batch=16, symbols=3, max_labels=3, channels=8, hidden=16, lr=2e-2,
                                       progress=False, verbose=False)
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 1.0
    assert after < before - 0.5, (before, after)


# ----------------------------------------------------------------------------- compiled cell
def test_compiled_cell_matches_the_tape(capsys):
    import compiled_cell as CC
    loss_c, loss_t, worst = CC.run(T=6, B=3, I=3, H=4, show_source=True)
    assert abs(loss_c - loss_t) < 1e-5 and worst < 1e-4
    out = capsys.readouterr().out
    assert "def forward(" in out and "def backward(" in out  # the generated source was printed


def test_compiled_cell_refuses_a_batch_of_one():
    import compiled_cell as CC
    with pytest.raises(SystemExit, match="at least 2"):
        CC.main(["--batch", "1"])


# ----------------------------------------------------------------------------- every example
SCRIPTS = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py") and f != "example_utils.py")


def test_every_example_answers_help_at_once():
    """--help parses arguments and exits before any work (no training, no compiling). The scripts run
    side by side, each in its own process, as a user would start them."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(EXAMPLES))
    procs = {s: subprocess.Popen([sys.executable, os.path.join(EXAMPLES, s), "--help"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env) for s in SCRIPTS}
    for script, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"{script}: {err}"
        assert out.startswith("usage:"), f"{script}: {out[:200]}"


def test_every_example_is_listed_in_examples_readme():
    listed = set(re.findall(r"`(\w+\.py)`", open(os.path.join(EXAMPLES, "README.md"), encoding="utf-8").read()))
    assert set(SCRIPTS) - {"demo.py"} <= listed, set(SCRIPTS) - listed


# ----------------------------------------------------------------------------- without the extras
def test_examples_degrade_without_tqdm_and_matplotlib(monkeypatch, capsys):
    import example_utils as U
    import gradient_flow as G
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    bar = U.progress(total=2, desc="x")
    assert isinstance(bar, U._PlainBar)
    bar.set_postfix_str("loss 1.0")
    bar.update(1)
    bar.update(1)
    bar.close()
    assert "x: 2/2" in capsys.readouterr().out
    assert G.plot_flow({"RNN": np.ones(3)}, "unused.png") is None


# ----------------------------------------------------------------------------- BPTT under a memory budget
def test_long_sequence_memory_keeps_gradients_and_saves_memory(tmp_path, capsys):
    import long_sequence_memory
    rows = long_sequence_memory.main(["--tiny", "--plot", str(tmp_path / "m.png")])
    assert rows and all(r["grad_error"] < 1e-10 for r in rows)
    largest = max(r["T"] for r in rows)
    at_largest = {r["policy"]: r for r in rows if r["T"] == largest}
    sqrt_policy = next(name for name in at_largest if "T" in name and name != "full")
    assert at_largest[sqrt_policy]["peak_mib"] < 0.7 * at_largest["full"]["peak_mib"]
    assert "peak memory" in capsys.readouterr().out


def test_examples_use_the_librarys_threads_and_share_them_out_under_mpiexec(monkeypatch):
    """An example runs at the library's own thread count (every CPU, or what the environment says), not one;
    under mpiexec with N processes each gets the CPUs divided by N, at least one."""
    import example_utils as U
    before = tr.get_num_threads()
    try:
        assert U.use_threads() == before   # nothing given: the library's count, untouched
        assert U.use_threads(3) == 3 and tr.get_num_threads() == 3
        tr.set_num_threads(4)
        monkeypatch.setattr(tr.distributed, "is_initialized", lambda: True)
        for world, expected in ((2, 2), (3, 1), (8, 1)):
            monkeypatch.setattr(tr.distributed, "get_world_size", lambda world=world: world)
            tr.set_num_threads(4)
            assert U.use_threads() == expected, world
    finally:
        tr.set_num_threads(before)
