"""Hypothesis drives the public API with drawn shapes (wrong ones too), dtypes and values: every call
either returns the right result (vs numpy, or the fused layer vs the generic tape) or raises a clean
ValueError/TypeError. Anything else (a Numba error, an IndexError or AttributeError from inside, a
ZeroDivisionError) fails the test."""
import warnings

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

DTYPES = [np.float32, np.float64, np.float16, np.int64, np.bool_]
dims = st.integers(0, 4)


def clean(fn):
    """fn() or None if it raised ValueError/TypeError; any other exception propagates (fails)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                return fn()
    except (ValueError, TypeError):
        return None


def arrays(draw, shape, dtype):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    a = rng.standard_normal(shape) * 2
    if draw(st.booleans()) and a.size:
        a.flat[0] = draw(st.sampled_from([np.inf, -np.inf, np.nan, 0.0]))
    return a.astype(dtype) if np.dtype(dtype).kind in "fc" else np.nan_to_num(a).astype(dtype)


@given(data=st.data())
def test_layers_fused_and_tape(data):
    d = data.draw
    cls = d(st.sampled_from([nn.RNN, nn.GRU, nn.LSTM]))
    I, H = d(st.integers(1, 3)), d(st.integers(1, 3))
    layers, bidir = d(st.integers(1, 2)), d(st.booleans())
    dtype = d(st.sampled_from([np.float32, np.float64]))
    shape = d(st.sampled_from([
        (d(st.integers(0, 4)), d(st.integers(0, 3)), I),      # right features (maybe T or B = 0)
        (d(st.integers(1, 4)), d(st.integers(1, 3)), d(dims)),  # maybe wrong features
        (d(st.integers(1, 4)), I), (I,), (1, 2, I, 1)]))
    xdtype = d(st.sampled_from([dtype] * 3 + DTYPES))
    lengths = d(st.none() | st.lists(st.integers(-1, 5), min_size=0, max_size=4))
    x_np = arrays(d, shape, xdtype)
    results = []
    for fused in (True, False):
        tr.manual_seed(0)
        m = cls(I, H, num_layers=layers, bidirectional=bidir, dtype=dtype, fused=fused)
        x = clean(lambda: tr.Tensor(x_np))
        if x is None:
            return  # float16 or the like: refused when the Tensor is made
        out = clean(lambda: m(x, lengths=lengths))
        if out is not None:
            out[0].sum().backward()
            results.append((out[0].data, [p.grad for p in m.parameters()]))
        else:
            results.append(None)
    assert (results[0] is None) == (results[1] is None)  # both paths accept or refuse the same input
    if results[0] is not None:
        (o1, g1), (o2, g2) = results
        tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(o1, o2, **tol, equal_nan=True)
        for a, b in zip(g1, g2):
            np.testing.assert_allclose(a, b, **tol, equal_nan=True)


@given(data=st.data())
def test_cells_linear_embedding_losses(data):
    d = data.draw
    cls = d(st.sampled_from([nn.RNNCell, nn.GRUCell, nn.LSTMCell, nn.PeepholeLSTMCell, nn.JordanCell]))
    I, H = d(st.integers(1, 3)), d(st.integers(1, 3))
    x_np = arrays(d, d(st.sampled_from([(2, I), (I,), (2, d(dims)), (1, 2, I)])), d(st.sampled_from(DTYPES)))
    cell = cls(I, H)
    x = clean(lambda: tr.Tensor(x_np))
    if x is not None:
        state_shape = d(st.sampled_from([(2, H), (H,), (2, d(dims)), (3, H)]))
        state = tr.Tensor(np.zeros(state_shape, np.float32))
        if cls in (nn.LSTMCell, nn.PeepholeLSTMCell) and d(st.booleans()):
            state = (state, state)
        out = clean(lambda: cell(x, state if d(st.booleans()) else None))
        if out is not None:
            first = out[0] if isinstance(out, tuple) else out
            assert first.shape == x.shape[:-1] + (H,)
        lin = nn.Linear(I, H)
        y = clean(lambda: lin(x))
        if y is not None:
            np.testing.assert_allclose(y.data, x.data @ lin.weight.data.T + lin.bias.data, rtol=1e-5, atol=1e-5)
    emb = nn.Embedding(4, 2)
    ids = d(st.lists(st.integers(-2, 5), max_size=4))
    e = clean(lambda: emb(ids))
    if e is not None:
        np.testing.assert_array_equal(e.data, emb.weight.data[ids])
    C = d(st.integers(1, 3))
    logits = tr.Tensor(arrays(d, d(st.sampled_from([(2, C), (C,), (2, C, 2), ()])), np.float64), requires_grad=True)
    targets = d(st.lists(st.integers(-1, 3), max_size=3))
    loss = clean(lambda: F.cross_entropy(logits, targets))
    if loss is not None:
        loss.backward()
        assert logits.grad.shape == logits.shape
    mse = clean(lambda: F.mse_loss(logits, np.zeros(d(st.sampled_from([logits.shape, (5,)])))))
    if mse is not None:
        np.testing.assert_allclose(mse.data, np.mean(logits.data ** 2), equal_nan=True)


@given(data=st.data())
def test_core_ops(data):
    d = data.draw
    sa = d(st.lists(st.integers(0, 3), max_size=3).map(tuple))
    sb = d(st.sampled_from([sa, sa[1:], sa[::-1], (d(st.integers(1, 3)),), ()]))
    a_np, b_np = arrays(d, sa, d(st.sampled_from(DTYPES))), arrays(d, sb, d(st.sampled_from(DTYPES)))
    a = clean(lambda: tr.Tensor(a_np, requires_grad=True))
    b = clean(lambda: tr.Tensor(b_np, dtype=a.dtype if a is not None else None, requires_grad=True))
    if a is None or b is None:
        return
    for op, ref in [(lambda u, v: u + v, np.add), (lambda u, v: u * v, np.multiply), (lambda u, v: u / v, np.divide),
                    (lambda u, v: u @ v, np.matmul), (lambda u, v: tr.where(u.data > 0, u, v), None),
                    (lambda u, v: tr.concatenate([u, v], axis=0), None), (lambda u, v: tr.stack([u, v]), np.stack)]:
        out = clean(lambda: op(a, b))
        if out is None:
            continue
        if ref is np.stack:
            expected = np.stack([a.data, b.data])
        elif ref is not None:
            expected = ref(a.data, b.data)
        else:
            expected = None
        if expected is not None:
            assert out.shape == np.shape(expected)
            with np.errstate(all="ignore"):
                np.testing.assert_allclose(out.data, expected, rtol=1e-5, equal_nan=True)
        clean(lambda: out.sum().backward())
        for t in (a, b):
            assert t.grad is None or t.grad.shape == t.shape
            t.grad = None
    for unary in (lambda t: t.log(), lambda t: t.exp(), lambda t: t.sum(axis=d(st.integers(-3, 3))),
                  lambda t: t.reshape(d(st.integers(-1, 6))),                   lambda t: t.max(), lambda t: t.softmax(axis=-1), lambda t: t.transpose()):
        out = clean(lambda: unary(a))
        if out is not None:
            clean(lambda: out.sum().backward())
            assert a.grad is None or a.grad.shape == a.shape
            a.grad = None
