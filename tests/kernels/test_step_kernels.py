"""The fast paths of a training step around the recurrent layer, each against its slow twin.

  * the embedding's scatter-add (kernels/scatter.py) against np.add.at: the same additions in the same
    order, so the same bits;
  * the softmax's shift by the row maximum (kernels/softmax.py) against numpy's max and subtraction;
  * the fused optimizer updates (kernels/optimizers.py, fused=True, the default) against optim.py's numpy
    code (fused=False) over torch's options, also split over threads: the same bits (against torch
    itself: tests/test_optim.py);
  * the tape's products take their results from the buffer pool: one kept by its user is never handed
    out again.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import optim
from tinygrad_rnn.kernels import blas, workspace
from tinygrad_rnn.kernels.scatter import scatter_add_rows
from tinygrad_rnn.kernels.softmax import shift_by_row_max

DTYPES = [np.float32, np.float64]


@given(st.integers(1, 7), st.integers(0, 5), st.integers(0, 40), st.sampled_from(DTYPES), st.integers(0, 2 ** 16))
def test_scatter_add_rows_equals_add_at(vocab, dim, n, dtype, seed):
    rng = np.random.default_rng(seed)
    index = rng.integers(-vocab, vocab, n)              # few rows, many repeats; negative ones count from the end
    rows = rng.standard_normal((n, dim)).astype(dtype)
    out, want = np.zeros((vocab, dim), dtype), np.zeros((vocab, dim), dtype)
    scatter_add_rows(out, index, rows)
    np.add.at(want, index, rows)
    assert out.dtype == dtype and np.array_equal(out, want)


def test_embedding_backward_through_a_strided_gradient():
    """The lookup's gradient may arrive as a view (here every other column of a wider array)."""
    w = tr.Tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)
    idx = np.array([[0, 4, 4], [1, 0, 4]])
    g = np.random.default_rng(1).standard_normal((2, 3, 6))[..., ::2]
    tr.nn.functional.embedding(idx, w).backward(g)
    want = np.zeros((5, 3))
    np.add.at(want, idx.reshape(-1), g.reshape(-1, 3))
    assert np.array_equal(w.grad, want)


# ----------------------------------------------------------------------------- optimizers
SHAPES = [(3, 4), (7,), ()]


@st.composite
def optimizer_settings(draw):
    if draw(st.booleans()):
        name = "SGD"
        nesterov = draw(st.booleans())
        kwargs = dict(lr=draw(st.floats(1e-4, 1.0)), momentum=draw(st.sampled_from([0.0, 0.5, 0.9])) or 0.9 * nesterov,
                      dampening=0.0 if nesterov else draw(st.sampled_from([0.0, 0.3])), nesterov=nesterov,
                      weight_decay=draw(st.sampled_from([0.0, 0.01])), maximize=draw(st.booleans()))
    else:
        name = draw(st.sampled_from(["Adam", "AdamW"]))
        kwargs = dict(lr=draw(st.floats(1e-4, 1.0)), betas=(draw(st.sampled_from([0.0, 0.4, 0.5, 0.9, 0.99])),
                                                             draw(st.sampled_from([0.0, 0.9, 0.999]))),
                      eps=draw(st.sampled_from([1e-8, 1e-3])), weight_decay=draw(st.sampled_from([0.0, 0.1])),
                      amsgrad=draw(st.booleans()), maximize=draw(st.booleans()))
    return name, kwargs


def run(name, kwargs, dtype, seed, fused, steps=4):
    rng = np.random.default_rng(seed)
    params = [tr.Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]
    opt = getattr(optim, name)(params, fused=fused, **kwargs)
    for step in range(steps):
        for i, p in enumerate(params):
            # parameter 1 skips step 2: its state must not advance in either
            p.grad = None if (i, step) == (1, 2) else tr.from_numpy(rng.standard_normal(p.shape).astype(dtype))
        opt.step()
    return [p._data for p in params], opt


@given(optimizer_settings(), st.sampled_from(DTYPES), st.integers(0, 2 ** 16))
def test_fused_optimizer_equals_its_numpy_twin(setting, dtype, seed):
    name, kwargs = setting
    fused, fused_opt = run(name, kwargs, dtype, seed, fused=True)
    plain, plain_opt = run(name, kwargs, dtype, seed, fused=False)
    for a, b in zip(fused, plain):
        assert a.dtype == dtype and np.array_equal(a, b)
    for sa, sb in zip(fused_opt.state_dict()["state"].values(), plain_opt.state_dict()["state"].values()):
        assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
                                         ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True))])
def test_fused_update_split_over_threads_equals_one_part(name, kwargs, monkeypatch):
    before = blas.num_threads()
    monkeypatch.setattr(optim, "FUSED_SPLIT_SIZE", 2)   # (3, 4) and (7,) split into 3 parts
    try:
        tr.set_num_threads(3)
        split, _ = run(name, kwargs, np.float32, 0, fused=True)
    finally:
        tr.set_num_threads(before)
    plain, _ = run(name, kwargs, np.float32, 0, fused=False)
    assert all(np.array_equal(a, b) for a, b in zip(split, plain))


def test_a_non_contiguous_parameter_takes_the_numpy_code():
    base = np.random.default_rng(0).standard_normal((4, 6))
    results = []
    for fused in (True, False):
        p = tr.Tensor(base.copy(), requires_grad=True)
        p.data = p.data[:, ::2]                              # a view: the fused kernel would need a copy
        p.grad = tr.from_numpy(np.ones((4, 3)))
        opt = optim.Adam([p], lr=0.1, fused=fused)
        opt.step()
        opt.step()
        results.append(p._data)
    assert np.array_equal(results[0], results[1]) and not np.array_equal(results[0], base[:, ::2])


def test_a_transposed_gradient_takes_the_fused_kernel(monkeypatch):
    calls = []
    monkeypatch.setattr(optim.kernels, "adam_update", lambda *args: calls.append(args))
    p = tr.Tensor(np.ones((3, 2)), requires_grad=True)
    p.grad = tr.from_numpy(np.arange(6.0).reshape(2, 3).T)                  # F-ordered, as a transpose's gradient
    optim.Adam([p], lr=0.1).step()
    assert len(calls) == 1 and np.array_equal(calls[0][1], p.grad.reshape(-1))


def test_fused_argument_is_checked():
    p = tr.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="fused must be True or False"):
        optim.Adam([p], fused="yes")


# ----------------------------------------------------------------------------- pooled results
def test_a_kept_large_product_is_not_handed_out_again():
    """The tape's products take their results from the buffer pool (blas.matmul): one that its user keeps
    must not be reused while other products of its size come and go."""
    n = workspace.MIN_BYTES // 4                             # float32 rows of (n/64, 64): just big enough
    a = tr.Tensor(np.ones((n // 64, 64), np.float32), requires_grad=True)
    w = tr.Tensor(np.eye(64, dtype=np.float32), requires_grad=True)
    kept = a @ w
    assert isinstance(kept._data.base, workspace._Lease)      # it did come from the pool
    for _ in range(2 * workspace.MAX_PER_SIZE):
        ((a * 3.0) @ w).sum().backward()                     # products of the same size, made and dropped
    assert np.all(kept._data == 1)


# ----------------------------------------------------------------------------- softmax's shift
@given(st.integers(0, 6), st.integers(1, 20), st.sampled_from(DTYPES), st.booleans(), st.integers(0, 2 ** 16))
def test_shift_by_row_max_equals_numpy(rows, cols, dtype, specials, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, cols)) * 30).astype(dtype)
    if specials and x.size:                                  # infinities, and a row of -inf
        x[rng.random(x.shape) < 0.2] = np.inf
        x[rng.random(x.shape) < 0.2] = -np.inf
        x[0] = -np.inf
    out = np.empty_like(x)
    with np.errstate(invalid="ignore"):                      # inf - inf
        shift_by_row_max(x, out)
        want = x - np.max(x, axis=1, keepdims=True)
    assert np.array_equal(out, want, equal_nan=True)


def test_a_nan_logit_makes_its_row_of_the_loss_and_gradient_nan():
    x = tr.Tensor(np.array([[1.0, np.nan, 2.0], [0.5, 1.0, -1.0]]), requires_grad=True)
    loss = tr.nn.functional.cross_entropy(x, [0, 2], reduction="none")
    loss.sum().backward()
    assert np.isnan(loss._data[0]) and np.all(np.isnan(x.grad[0]))
    assert np.all(np.isfinite(loss._data[1])) and np.all(np.isfinite(x.grad[1]))


@pytest.mark.parametrize("kwargs", [dict(), dict(reduction="sum", label_smoothing=0.1),
                                    dict(reduction="none", ignore_index=3, weight=True)])
def test_cross_entropy_float32_at_the_demos_size_matches_torch(kwargs):
    """The demo's (2048, 103) logits in float32 (the row sums are matrix-vector products here, torch sums
    its own way): loss and gradient agree to float32 rounding."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((2048, 103)) * 3).astype(np.float32)
    targets = rng.integers(0, 103, 2048)
    weight = rng.uniform(0.5, 2, 103).astype(np.float32) if kwargs.pop("weight", False) else None
    x = tr.Tensor(logits, requires_grad=True)
    loss = tr.nn.functional.cross_entropy(x, targets, weight, **kwargs)
    loss.backward(np.ones(loss.shape, np.float32))
    tx = torch.tensor(logits, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(targets), None if weight is None else
                                              torch.tensor(weight), **kwargs)
    tloss.backward(torch.ones(tloss.shape))
    assert loss.dtype == x.grad.dtype == np.float32
    np.testing.assert_allclose(loss._data, tloss.detach().numpy(), rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-7)
