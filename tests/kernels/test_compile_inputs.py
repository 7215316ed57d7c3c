"""The compiled-cell callable refuses bad inputs in the library's error style, and the generated-kernel
cache survives damage: a cached source that does not match its hash is discarded and rebuilt, with
one warning naming its path (issue 18, items 4 and 5)."""
import os
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

pytest.importorskip("numba")
F64 = np.float64


@pytest.fixture(scope="module")
def cc():
    tr.manual_seed(0)
    return tr.compile_cell(tr.nn.LSTMCell(3, 2, dtype=F64))


def _x(T=4, B=5, I=3, dtype=F64):
    return tr.Tensor(np.random.default_rng(0).standard_normal((T, B, I)).astype(dtype))


def _state(B=5, n=2, dtype=F64):
    return tuple(tr.Tensor(np.zeros((B, n), dtype)) for _ in range(2))


@pytest.mark.parametrize("lengths, error, match", [
    ([2], ValueError, r"lengths must have one entry per batch element: expected 5, got 1"),
    ([4, 4, 0, 1, 2], ValueError, r"every length must be in \[1, 4\].*got 0"),
    ([4, 4, -1, 1, 2], ValueError, r"every length must be in \[1, 4\].*got -1"),
    ([4, 5, 3, 1, 2], ValueError, r"every length must be in \[1, 4\].*got 5"),
    ([4.0, 4.5, 3.0, 1.0, 2.0], TypeError, r"lengths must be a 1-D sequence of ints"),
    ([[4, 4, 3, 1, 2]], TypeError, r"lengths must be a 1-D sequence of ints"),
])
def test_bad_lengths_are_refused(cc, lengths, error, match):
    with pytest.raises(error, match=match):
        cc(_x(), lengths=lengths)


@pytest.mark.parametrize("make, error, match", [
    (lambda: (_x()._data, None), TypeError, r"x must be a Tensor"),
    (lambda: (_x(I=4), None), ValueError, r"x must have shape \(T >= 1, batch, input_size=3\)"),
    (lambda: (tr.Tensor(np.zeros((5, 3))), None), ValueError, r"x must have shape"),
    (lambda: (_x(dtype=np.float32), None), TypeError, r"x has dtype float32, expected the cell's float64"),
    (lambda: (_x(), _state()[0]), ValueError, r"state must have 2 part\(s\)"),
    (lambda: (_x(), (_state()[0], np.zeros((5, 2)))), TypeError, r"state\[1\] must be a Tensor"),
    (lambda: (_x(), _state(B=4)), ValueError, r"state\[0\] must have shape \(batch, 2\) = \(5, 2\), got \(4, 2\)"),
    (lambda: (_x(), _state(dtype=np.float32)), TypeError, r"state\[0\] has dtype float32, expected the cell's float64"),
])
def test_bad_x_and_state_are_refused(cc, make, error, match):
    x, state = make()
    with pytest.raises(error, match=match):
        cc(x, state)


def test_good_lengths_equal_the_layer(cc):
    """The validated call still computes: each row's final state equals that row run alone."""
    x = _x()
    lengths = np.array([4, 2, 3, 1, 4])
    out, (h, c) = cc(x, _state(), lengths=lengths)
    for b, L in enumerate(lengths):
        _, (hb, cb) = cc(tr.Tensor(x._data[:L, b:b + 1]), _state(B=1))
        np.testing.assert_allclose(h._data[b], hb._data[0], rtol=1e-12)
        assert np.all(out._data[L:, b] == 0)


def test_damaged_generated_source_is_rebuilt_with_one_warning(tmp_path, monkeypatch):
    from tinygrad_rnn.compile import codegen
    monkeypatch.setenv("TINYGRAD_RNN_CACHE", str(tmp_path))
    source = f"VALUE = 42  # {tmp_path}\n"     # a source no other test loads
    module = codegen.load_module(source)
    name = module.__name__
    path = os.path.join(codegen.cache_dir(), name + ".py")
    assert module.VALUE == 42 and open(path).read() == source
    assert [f for f in os.listdir(codegen.cache_dir()) if f.endswith(".tmp")] == []   # written atomically
    for damage in ("VALUE = 4", "VALUE = \n", "\x00\x01garbage"):
        del sys.modules[name]
        with open(path, "w") as f:
            f.write(damage)
        with pytest.warns(RuntimeWarning, match="damaged") as record:
            module = codegen.load_module(source)
        assert len(record) == 1 and path in str(record[0].message)
        assert module.VALUE == 42 and open(path).read() == source
    del sys.modules[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # an intact file loads without a word
        assert codegen.load_module(source).VALUE == 42


@given(T=st.integers(1, 5), B=st.integers(1, 6), data=st.data(),
       wrong=st.sampled_from([None, "length_count", "length_value", "state_batch", "state_dtype", "x_dtype"]))
def test_drawn_inputs_are_computed_like_the_tape_or_refused_by_name(cc, T, B, data, wrong):
    """Drawn shapes, lengths and states, as the layers are driven: a valid call equals the cell unrolled
    on the generic tape (row by row, each over its own length); a call with one thing wrong raises
    ValueError/TypeError naming that argument, never an error from inside the kernel."""
    lengths = data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
    x, state = _x(T, B), _state(B)
    name = {"length_count": "lengths", "length_value": "length", "state_batch": "state",
            "state_dtype": "state", "x_dtype": "x"}.get(wrong)
    if wrong == "length_count":
        lengths = lengths + [1]
    elif wrong == "length_value":
        lengths[data.draw(st.integers(0, B - 1))] = data.draw(st.sampled_from([0, -1, T + 1]))
    elif wrong == "state_batch":
        state = _state(B + 1)
    elif wrong == "state_dtype":
        state = _state(B, dtype=np.float32)
    elif wrong == "x_dtype":
        x = _x(T, B, dtype=np.float32)
    if wrong is not None:
        with pytest.raises((ValueError, TypeError), match=name):
            cc(x, state, lengths=lengths)
        return
    out, (h, c) = cc(x, state, lengths=lengths)
    for b, L in enumerate(lengths):
        hb, cb = state[0][b:b + 1], state[1][b:b + 1]
        for t in range(L):
            hb, cb = cc.cell(x[t, b:b + 1], (hb, cb))
            np.testing.assert_allclose(out._data[t, b], hb._data[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h._data[b], hb._data[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(c._data[b], cb._data[0], rtol=1e-10, atol=1e-12)
        assert np.all(out._data[L:, b] == 0)


def test_compile_cell_checks_its_arguments_by_name():
    """compile_cell(5), of a class or of a layer failed inside the trace ('int' has no attribute 'parameters',
    parameters() missing self, 'LSTM' has no attribute 'sizes'); dtype=np.float16 or 'x' failed in numpy or in
    Tensor, and a dtype other than the parameters' in the cell's own input check. Each is named now."""
    for bad, got in ((5, "a int"), (tr.nn.LSTMCell, "the class LSTMCell"), (tr.nn.LSTM(3, 2), "a LSTM")):
        with pytest.raises(TypeError, match=f"compile_cell: cell must be a tr.nn.RecurrentCell instance .* got {got}"):
            tr.compile_cell(bad)
    for dtype in (np.float16, "x"):
        with pytest.raises(TypeError, match="compile_cell: dtype must be float32 or float64"):
            tr.compile_cell(tr.nn.LSTMCell(3, 2, dtype=F64), dtype=dtype)
    with pytest.raises(TypeError, match="compile_cell: dtype float32 does not match the cell's parameters' float64"):
        tr.compile_cell(tr.nn.LSTMCell(3, 2, dtype=F64), dtype=np.float32)
    assert tr.compile_cell(tr.nn.LSTMCell(3, 2, dtype=F64), dtype="float64").dtype == np.float64
