"""tr.nn.functional.scaled_dot_product_attention against torch 2.13's: values and gradients (of query, key, value
and a float mask) in float32 and float64, with bool and float masks, is_causal, scale, broadcast batch dims and
masks, fully masked rows, enable_gqa; the error types torch raises; dropout_p by its properties (its draws are the
library generator's, not torch's)."""
import warnings

import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]


def _attend(lib, arrays, mask=None, mask_grad=False, **kw):
    """sdpa(q, k, v, attn_mask=mask, **kw) in lib, backpropagated with a fixed upstream gradient: the output and
    the gradients of q, k, v (and of the mask, if mask_grad), as numpy arrays."""
    make = torch.tensor if lib is torch else tr.tensor
    q, k, v = (make(a, requires_grad=True) for a in arrays)
    m = None if mask is None else make(mask, requires_grad=mask_grad)
    fn = TF.scaled_dot_product_attention if lib is torch else F.scaled_dot_product_attention
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(q, k, v, attn_mask=m, **kw)
    up = np.random.default_rng(99).standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
    out.backward(torch.tensor(up) if lib is torch else up)
    leaves = [q, k, v] + ([m] if mask_grad else [])
    as_numpy = (lambda t: t.detach().numpy()) if lib is torch else (lambda t: np.asarray(t.data))
    grads = [x.grad.numpy() if lib is torch else np.asarray(x.grad) for x in leaves]
    return as_numpy(out), grads


def _same_as_torch(arrays, mask=None, mask_grad=False, **kw):
    ours, our_grads = _attend(tr, arrays, mask, mask_grad, **kw)
    theirs, their_grads = _attend(torch, arrays, mask, mask_grad, **kw)
    dtype = arrays[0].dtype
    rtol, atol = (2e-5, 2e-6) if dtype == np.float32 else (1e-11, 1e-13)
    assert ours.dtype == dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg="value")
    for name, a, b in zip(["query", "key", "value", "attn_mask"], our_grads, their_grads):
        assert a.dtype == b.dtype, name
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient of {name}")


def _qkv(rng, q_shape, k_shape, v_shape, dtype):
    return [rng.standard_normal(s).astype(dtype) for s in (q_shape, k_shape, v_shape)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_plain_attention_matches_torch(rng, dtype):
    _same_as_torch(_qkv(rng, (2, 3, 4), (2, 5, 4), (2, 5, 6), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_shape", [(3, 5), (5,), (2, 1, 5), (2, 3, 5), ()])
def test_bool_mask_broadcasts_as_torch(rng, dtype, mask_shape):
    mask = rng.random(mask_shape) > 0.3
    _same_as_torch(_qkv(rng, (2, 3, 4), (2, 5, 4), (2, 5, 6), dtype), mask)


@pytest.mark.parametrize("dtype", DTYPES)
def test_float_mask_is_added_and_gets_its_gradient(rng, dtype):
    mask = rng.standard_normal((3, 5)).astype(dtype)
    mask[0, 1] = mask[2, 4] = -np.inf
    _same_as_torch(_qkv(rng, (2, 3, 4), (2, 5, 4), (2, 5, 6), dtype), mask, mask_grad=True)


def test_float32_mask_on_a_float64_query_is_taken_as_torch_takes_it(rng):
    _same_as_torch(_qkv(rng, (2, 3, 4), (2, 5, 4), (2, 5, 6), np.float64), rng.standard_normal((3, 5)).astype(
        np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_a_fully_masked_row_gives_zeros_and_zero_gradient_as_torch(rng, dtype, kind):
    """torch 2.13 (its _safe_softmax) gives 0, not nan, for a query that may attend nowhere: so must we."""
    allowed = rng.random((2, 3, 5)) > 0.3
    allowed[0, 1] = False
    allowed[1, :, 0] = True
    mask = allowed if kind == "bool" else np.where(allowed, 0.0, -np.inf).astype(dtype)
    arrays = _qkv(rng, (2, 3, 4), (2, 5, 4), (2, 5, 6), dtype)
    _same_as_torch(arrays, mask)
    out, grads = _attend(tr, arrays, mask)
    assert np.all(out[0, 1] == 0) and np.all(grads[0][0, 1] == 0)
    assert all(np.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 0, 4), (2, 0, 6)), ((2, 0, 4), (2, 5, 4), (2, 5, 6))])
def test_no_positions_or_no_queries_as_torch(rng, shapes):
    _same_as_torch(_qkv(rng, *shapes, np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("L, S", [(4, 4), (3, 5), (5, 3)])
def test_causal_matches_torch(rng, dtype, L, S):
    _same_as_torch(_qkv(rng, (2, L, 4), (2, S, 4), (2, S, 3), dtype), is_causal=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [0.0, 0.3, -2.0, 3])
def test_scale_matches_torch(rng, dtype, scale):
    _same_as_torch(_qkv(rng, (3, 4), (5, 4), (5, 2), dtype), scale=scale)


@pytest.mark.parametrize("shapes", [
    ((2, 1, 3, 4), (1, 2, 5, 4), (1, 2, 5, 6)),   # batch dims broadcast, as matmul's
    ((3, 4), (2, 5, 4), (2, 5, 6)),                # 2-D query against batched key and value
    ((2, 3, 4), (5, 4), (5, 6)),                   # batched query against one key and value
    ((2, 3, 4), (1, 5, 4), (2, 5, 6)),
])
def test_batch_dims_broadcast_as_torch(rng, shapes):
    _same_as_torch(_qkv(rng, *shapes, np.float64), rng.random((3, 5)) > 0.2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kv_heads", [(1, 1), (2, 2), (2, 1), (4, 4)])
def test_grouped_query_attention_matches_torch(rng, dtype, kv_heads):
    hk, hv = kv_heads
    _same_as_torch(_qkv(rng, (2, 4, 3, 8), (2, hk, 5, 8), (2, hv, 5, 6), dtype), enable_gqa=True)


@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(1, 4),
       st.sampled_from(DTYPES), st.sampled_from(["none", "bool", "float", "causal"]), st.integers(0, 2 ** 16))
def test_drawn_shapes_and_masks_match_torch(B, L, S, E, Ev, dtype, mask_kind, seed):
    rng = np.random.default_rng(seed)
    arrays = _qkv(rng, (B, L, E), (B, S, E), (B, S, Ev), dtype)
    mask, kw = None, {}
    if mask_kind == "bool":
        mask = rng.random((B, 1, S)) > 0.4
    elif mask_kind == "float":
        mask = np.where(rng.random((L, S)) > 0.4, rng.standard_normal((L, S)), -np.inf).astype(dtype)
    elif mask_kind == "causal":
        kw = {"is_causal": True}
    _same_as_torch(arrays, mask, **kw)


@pytest.mark.parametrize("kind", ["bool", "float", "causal"])
def test_gradients_match_finite_differences(rng, kind):
    """The tape's gradient of the whole composition (a fully masked row included) against finite differences."""
    q, k, v = (tr.tensor(a, requires_grad=True) for a in _qkv(rng, (2, 3, 4), (2, 5, 4), (2, 5, 2), np.float64))
    allowed = rng.random((2, 3, 5)) > 0.3
    allowed[0, 2] = False
    mask = {"bool": tr.tensor(allowed), "float": tr.tensor(np.where(allowed, rng.standard_normal((2, 3, 5)), -np.inf),
                                                           requires_grad=True)}.get(kind)
    up = rng.standard_normal((2, 3, 2))
    inputs = [q, k, v] + ([mask] if kind == "float" else [])

    def loss(q, k, v, m=mask):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=kind == "causal", scale=0.7)
        return (out * up).sum()
    assert tr.gradcheck(loss, inputs)


# ----------------------------------------------------------------------------- errors as torch's
def _both(rng, q_shape=(2, 3, 4), k_shape=(2, 5, 4), v_shape=(2, 5, 6), dtypes=(np.float32,) * 3):
    arrays = [rng.standard_normal(s).astype(d) for s, d in zip((q_shape, k_shape, v_shape), dtypes)]
    return [tr.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


@pytest.mark.parametrize("shapes", [
    ((2, 3, 4), (2, 5, 3), (2, 5, 6)),     # key's E is not query's
    ((2, 3, 4), (2, 5, 4), (2, 4, 6)),     # value's S is not key's
    ((2, 3, 4), (3, 5, 4), (3, 5, 6)),     # batch dims that do not broadcast
    ((4,), (4,), (4,)),                    # 1-D
    ((2, 3, 3, 8), (2, 2, 5, 8), (2, 2, 5, 8)),   # heads that differ, without enable_gqa
])
def test_shapes_that_do_not_fit_raise_torchs_error(rng, shapes):
    ours, theirs = _both(rng, *shapes)
    raises_as_torch(lambda: TF.scaled_dot_product_attention(*theirs),
                    lambda: F.scaled_dot_product_attention(*ours))


@pytest.mark.parametrize("dtypes", [(np.float32, np.float64, np.float32), (np.float32, np.float32, np.float64),
                                    (np.int64, np.int64, np.int64)])
def test_dtypes_that_do_not_fit_raise_torchs_error(rng, dtypes):
    ours, theirs = _both(rng, dtypes=dtypes)
    raises_as_torch(lambda: TF.scaled_dot_product_attention(*theirs),
                    lambda: F.scaled_dot_product_attention(*ours))


@pytest.mark.parametrize("mask_shape, mask_dtype", [((4, 5), np.bool_), ((7, 2, 3, 5), np.bool_),
                                                    ((3, 5), np.int64), ((3, 5), np.float64)])
def test_masks_that_do_not_fit_raise_torchs_error(rng, mask_shape, mask_dtype):
    ours, theirs = _both(rng)
    mask = np.ones(mask_shape, dtype=mask_dtype)
    raises_as_torch(lambda: TF.scaled_dot_product_attention(*theirs, attn_mask=torch.tensor(mask)),
                    lambda: F.scaled_dot_product_attention(*ours, attn_mask=tr.tensor(mask)))


@pytest.mark.parametrize("kw", [
    {"dropout_p": 1.5}, {"dropout_p": "0.1"}, {"is_causal": 1}, {"scale": "1"}, {"attn_mask": [[True] * 5] * 3},
])
def test_bad_arguments_raise_torchs_error(rng, kw):
    ours, theirs = _both(rng)
    raises_as_torch(lambda: TF.scaled_dot_product_attention(*theirs, **kw),
                    lambda: F.scaled_dot_product_attention(*ours, **kw))


def test_causal_with_a_mask_and_gqa_that_does_not_divide_raise_torchs_error(rng):
    ours, theirs = _both(rng)
    mask = np.ones((3, 5), dtype=bool)
    raises_as_torch(lambda: TF.scaled_dot_product_attention(*theirs, attn_mask=torch.tensor(mask), is_causal=True),
                    lambda: F.scaled_dot_product_attention(*ours, attn_mask=tr.tensor(mask), is_causal=True))
    ours, theirs = _both(rng, (2, 3, 3, 8), (2, 2, 5, 8), (2, 2, 5, 8))
    raises_as_torch(lambda: TF.scaled_dot_product_attention(*theirs, enable_gqa=True),
                    lambda: F.scaled_dot_product_attention(*ours, enable_gqa=True))
    ours, theirs = _both(rng, (3, 8), (5, 8), (5, 8))
    raises_as_torch(lambda: TF.scaled_dot_product_attention(*theirs, enable_gqa=True),
                    lambda: F.scaled_dot_product_attention(*ours, enable_gqa=True))


# ----------------------------------------------------------------------------- dropout_p, by its properties
def _weights_with_dropout(rng, p, seed, mask=None):
    """With value the identity (S x S), the output is the attention weights themselves, after dropout."""
    q, k = rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 8, 4))
    v = tr.tensor(np.eye(8))
    tr.manual_seed(seed)
    m = None if mask is None else tr.tensor(mask)
    return F.scaled_dot_product_attention(tr.tensor(q), tr.tensor(k), v, attn_mask=m, dropout_p=p)._data


def test_dropout_keeps_each_weight_scaled_or_drops_it_and_follows_the_seed():
    p = 0.4
    plain = _weights_with_dropout(np.random.default_rng(0), 0.0, 0)
    a = _weights_with_dropout(np.random.default_rng(0), p, 5)
    b = _weights_with_dropout(np.random.default_rng(0), p, 5)
    c = _weights_with_dropout(np.random.default_rng(0), p, 6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)   # tr.manual_seed decides the draw
    kept = a != 0
    np.testing.assert_allclose(a[kept], plain[kept] / (1 - p), rtol=1e-12)
    assert 0.2 < 1 - kept.mean() < 0.6


def test_dropout_is_unbiased_and_p_one_drops_everything():
    rng = np.random.default_rng(0)
    plain = _weights_with_dropout(np.random.default_rng(0), 0.0, 0)
    mean = np.mean([_weights_with_dropout(np.random.default_rng(0), 0.3, s) for s in range(400)], axis=0)
    np.testing.assert_allclose(mean, plain, atol=0.06)
    assert np.all(_weights_with_dropout(rng, 1.0, 0) == 0)


def test_dropout_gradient_flows_through_the_kept_weights_only():
    rng = np.random.default_rng(3)
    q, k, v = (tr.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 4), (5, 4), (5, 2)))
    tr.manual_seed(11)
    F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).sum().backward()
    tr.manual_seed(11)
    w = F.scaled_dot_product_attention(q.detach(), k.detach(), tr.tensor(np.eye(5)), dropout_p=0.5)._data
    np.testing.assert_allclose(v.grad, w.sum(0)[:, None] * np.ones((1, 2)), rtol=1e-12)   # d(w @ v)/dv = w^T 1
