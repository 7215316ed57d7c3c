"""x[index]'s backward (primitives.GetItem): g put back where the forward read, the repeats of an integer index
added up.

  * against np.add.at into zeros, the general path and the slow twin of the fast ones (a mask's assignment,
    kernels/scatter.py's loop for one integer array on axis 0), over drawn tables, indices (repeated, negative,
    empty, 0-d), index forms and dtypes: the same values, bit for bit, in the table's dtype;
  * against torch 2.13's gradient of the same indexing, through the Tensor;
  * the common case, `table[idx]`, takes the compiled loop (the one test here that fails before it existed).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import primitives as P

DTYPES = [np.float32, np.float64]


def add_at(g, shape, dtype, index):
    """The slow twin: g added, element by element in order, into zeros at the positions index reads."""
    want = np.zeros(shape, dtype)
    np.add.at(want, index, g)
    return want


@st.composite
def tables_and_indices(draw):
    """(table shape, index): an integer array on axis 0 (any shape, 0-d and empty too, values in [-V, V) with
    repeats) alone or followed by full slices or `...`; a boolean mask over the leading axes, alone or beside
    basic items; or a mix the general path takes (two integer arrays, an array on axis 1, a mask and an array)."""
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=3)))
    shape = (draw(st.integers(1, 6)),) + shape[1:]
    v = shape[0]
    ints = st.integers(-v, v - 1)
    idx_shape = tuple(draw(st.lists(st.integers(0, 5), max_size=2)))
    idx = np.array(draw(st.lists(ints, min_size=int(np.prod(idx_shape)), max_size=int(np.prod(idx_shape)))),
                   dtype=draw(st.sampled_from([np.int64, np.int32]))).reshape(idx_shape)
    rest = len(shape) - 1
    kind = draw(st.sampled_from(["rows", "rows+slices", "rows+ellipsis", "mask", "mask+basic", "mixed"]))
    if kind == "rows":
        return shape, idx
    if kind == "rows+slices":
        return shape, (idx,) + (slice(None),) * draw(st.integers(0, rest))
    if kind == "rows+ellipsis":
        return shape, (idx, Ellipsis)
    if kind == "mask":
        k = draw(st.integers(1, len(shape)))
        n = int(np.prod(shape[:k]))
        return shape, np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool).reshape(shape[:k])
    if kind == "mask+basic" and rest:
        mask = np.array(draw(st.lists(st.booleans(), min_size=v, max_size=v)), dtype=bool)
        return shape, (mask, draw(st.sampled_from([slice(None), slice(1, None), 0 if shape[1] else slice(None)])))
    if rest and shape[1]:   # the general path: an integer array on axis 1, or a second array
        other = np.array(draw(st.lists(st.integers(-shape[1], shape[1] - 1), min_size=1, max_size=3)))
        return shape, draw(st.sampled_from([(slice(None), other), (idx.reshape(-1)[:1], other[:1])]))
    return shape, idx


@given(tables_and_indices(), st.sampled_from(DTYPES), st.integers(0, 2 ** 16))
def test_the_backward_adds_what_np_add_at_adds(case, dtype, seed):
    shape, index = case
    rng = np.random.default_rng(seed)
    out, saved = P.GetItem.forward(rng.standard_normal(shape).astype(dtype), index)
    g = rng.standard_normal(out.shape).astype(dtype)
    g[rng.random(out.shape) < 0.2] = -0.0   # np.add.at's 0 + -0.0 is 0.0
    got = P.GetItem.backward(g, saved, (True,), index)[0]
    assert got.dtype == dtype and got.shape == shape
    assert got.tobytes() == add_at(g, shape, dtype, index).tobytes()   # the same bits, signed zeros too


def test_a_0d_result_and_an_empty_index():
    for dtype in DTYPES:
        table = np.arange(5, dtype=dtype)
        for index, g in ((np.array(-2), np.array(3.0, dtype)), (np.array([], np.int64), np.zeros(0, dtype)),
                         ((np.array([], np.int64), Ellipsis), np.zeros(0, dtype))):
            out, saved = P.GetItem.forward(table, index)
            assert out.shape == g.shape
            got = P.GetItem.backward(g, saved, (True,), index)[0]
            assert got.dtype == dtype and np.array_equal(got, add_at(g, (5,), dtype, index))


torch = pytest.importorskip("torch")
TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def _index_cases(rng):
    """Indexings of a (7, 3, 2) table as torch reads them too (a list of the index's parts, numpy arrays)."""
    idx = rng.integers(-7, 7, (4, 5))   # repeats, negatives
    mask = rng.random((7, 3)) < 0.5
    return {
        "embedding-like table[idx]": [idx],
        "table[idx, :]": [idx[0], slice(None)],
        "table[idx, ...]": [idx[1], Ellipsis],
        "one index repeated": [np.full(6, 3)],
        "empty index": [np.zeros(0, np.int64)],
        "mask over two axes": [mask],
        "mask on axis 0 and a slice": [mask[:, 0], slice(1, None)],
        "a loss's pick, table[rows, cols]": [np.arange(7), rng.integers(0, 3, 7)],
        "table[:, cols] (axis 1)": [slice(None), rng.integers(-3, 3, 5)],
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(_index_cases(np.random.default_rng(0))))
def test_the_gradient_is_torch_s(name, dtype):
    rng = np.random.default_rng(0)
    parts = _index_cases(rng)[name]
    table = rng.standard_normal((7, 3, 2)).astype(dtype)
    x = tr.Tensor(table, requires_grad=True)
    out = x[tuple(parts)]
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(g)
    xt = torch.tensor(table, requires_grad=True)
    out_t = xt[tuple(torch.from_numpy(p) if isinstance(p, np.ndarray) else p for p in parts)]
    out_t.backward(torch.from_numpy(g))
    assert out.shape == tuple(out_t.shape)
    assert x.grad.dtype == dtype
    tolerance = 1e-12 if dtype == np.float64 else 4 * np.finfo(np.float32).eps
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=tolerance, atol=tolerance)


def test_a_lookup_takes_the_compiled_loop(monkeypatch):
    """table[idx] (an integer array on axis 0) adds its rows with kernels/scatter.py's loop, not np.add.at."""
    calls = []
    loop = P.scatter_add_rows
    monkeypatch.setattr(P, "scatter_add_rows", lambda *args: calls.append(args) or loop(*args))
    table = tr.Tensor(np.ones((10, 4), np.float32), requires_grad=True)
    table[tr.tensor([1, 1, -1, 3])].sum().backward()
    assert len(calls) == 1
    assert np.array_equal(table.grad[:, 0], [0, 2, 0, 1, 0, 0, 0, 0, 0, 1])
