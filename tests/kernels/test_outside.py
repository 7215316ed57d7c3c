"""compile/outside.py joins adjacent column sums and bias folds (fewer loops to compile, one pass over
memory). Joining must not change what is added where: every target column keeps the same source column.
The kernels these blocks go into are held to the tape by test_compile*.py; here the bookkeeping alone,
on random blocks, without compiling anything.
"""
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_rnn.compile.ir import Fold, joined_runs
from tinygrad_rnn.compile.outside import _merged_folds, _passes, _sum_continues, _SumBlock


def _columns(blocks):
    """{(target param, column): [(grad, column, factor, shift, factor column), ...]} of a block list."""
    out = {}
    for s in blocks:
        for j in range(s.width):
            for param, poff in s.targets:
                src = (s.grad, s.off + j, s.factor, s.shift, None if s.factor is None else s.foff + j)
                out.setdefault((param, poff + j), []).append(src)
    return out


def _fold_columns(folds):
    return sorted((f.projection, f.off + j, f.param, f.param_off + j) for f in folds for j in range(f.width))


@st.composite
def _blocks(draw):
    """Runs of gate-like blocks: mostly continuing the previous one, sometimes not (gaps, other arrays,
    other targets, factors)."""
    blocks, off, poff, foff = [], 0, 0, 0
    for _ in range(draw(st.integers(1, 6))):
        width = draw(st.integers(1, 4))
        gap = st.sampled_from([0, 0, 1])
        off, poff, foff = off + draw(gap), poff + draw(gap), foff + draw(gap)
        grad = draw(st.sampled_from(["dC0", "dXW0"]))
        factor = draw(st.sampled_from([None, "S0"]))
        targets = [(p, poff + d) for p, d in draw(st.sampled_from([[(2, 0)], [(3, 0), (2, 0)], [(3, 0), (2, 1)]]))]
        blocks.append(_SumBlock(grad, off, width, factor, draw(st.integers(0, 1)), foff, targets))
        off, poff, foff = off + width, poff + width, foff + width
    return blocks


@settings(max_examples=200)   # no compiling here: many examples cost milliseconds
@given(_blocks())
def test_merged_sums_add_the_same_columns(blocks):
    merged = joined_runs(blocks, _sum_continues)
    assert _columns(merged) == _columns(blocks)
    assert len(merged) <= len(blocks)


@settings(max_examples=200)
@given(_blocks())
def test_passes_keep_every_sum(blocks):
    """The passes (one per gradient array) hold every column sum once, each under its own array; a sum
    with a factor is one block's, with its factor; a span of plain sums holds only plain blocks, inside it."""
    passes = _passes(joined_runs(blocks, _sum_continues))
    assert len({p.grad for p in passes}) == len(passes)
    held = []
    for p in passes:
        for s in p.sums:
            assert all(b.grad == p.grad for b in s.blocks)
            if s.factor is not None:
                (b,) = s.blocks
                assert (b.off, b.width, b.factor, b.shift, b.foff) == (s.off, s.width, s.factor, s.shift, s.foff)
            else:
                assert all(b.factor is None and s.off <= b.off and b.off + b.width <= s.off + s.width
                           for b in s.blocks)
            held += s.blocks

    def unordered(columns):
        return {k: sorted(v, key=repr) for k, v in columns.items()}
    assert unordered(_columns(held)) == unordered(_columns(blocks))


def test_lstm_gate_sums_become_one():
    gates = [_SumBlock("dC0", 64 * k, 64, None, 0, 0, [(3, 64 * k), (2, 64 * k)]) for k in range(4)]
    assert joined_runs(gates, _sum_continues) == [_SumBlock("dC0", 0, 256, None, 0, 0, [(3, 0), (2, 0)])]


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4), st.integers(0, 3)), min_size=1, max_size=6))
def test_merged_folds_add_the_same_columns(pieces):
    """Per parameter, pieces laid one after another (a gap now and then) onto projection columns."""
    folds, off, param_off = [], {}, {}
    for param, width, gap in pieces:
        o, po = off.get(param, 10 * param) + gap % 2, param_off.get(param, 0) + gap // 2
        folds.append(Fold(0, o, param, po, width))
        off[param], param_off[param] = o + width, po + width
    merged = _merged_folds(folds)
    assert _fold_columns(merged) == _fold_columns(folds)
    assert len(merged) <= len(folds)
