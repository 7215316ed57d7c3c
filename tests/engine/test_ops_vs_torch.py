"""Spot checks of operations and losses against PyTorch (skipped where torch is not installed).
One lambda runs on both libraries (tinygrad's helper_test_op idea); outputs and every gradient
must agree in float64."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.tensor import ValuesIndices

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def check(fn_ours, fn_torch, *shapes, positive=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    if positive:
        arrays = [np.abs(a) + 0.5 for a in arrays]
    ours = [tr.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, out_t = fn_ours(*ours), fn_torch(*theirs)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    r = rng.standard_normal(out.shape)
    (out * r).sum().backward()
    (out_t * torch.tensor(r)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, ours, theirs, shapes", [
    ("broadcast mul-add", lambda a, b, c: a * b + c, lambda a, b, c: a * b + c, [(3, 1, 4), (5, 1), (4,)]),
    ("div", lambda a, b: a / b, lambda a, b: a / b, [(2, 3), (3,)]),
    ("batched matmul", lambda a, b: a @ b, lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    ("tanh sigmoid relu", lambda a: a.tanh() * a.sigmoid() + a.relu(),
     lambda a: a.tanh() * a.sigmoid() + a.relu(), [(4, 5)]),
    ("sum mean max", lambda a: a.sum(0) + a.mean(1, keepdims=True) + a.amax(1, keepdims=True),
     lambda a: a.sum(0) + a.mean(1, keepdim=True) + a.amax(1, keepdim=True), [(3, 3)]),
    ("softmax", lambda a: a.softmax(-1), lambda a: torch.softmax(a, -1), [(3, 6)]),
    ("log_softmax", lambda a: a.log_softmax(0), lambda a: torch.log_softmax(a, 0), [(3, 6)]),
    ("transpose reshape", lambda a: a.transpose(2, 0, 1).reshape(4, -1),
     lambda a: a.permute(2, 0, 1).reshape(4, -1), [(2, 3, 4)]),
    ("getitem", lambda a: a[1:, [0, 2, 2]], lambda a: a[1:, [0, 2, 2]], [(3, 4)]),
    ("concatenate stack", lambda a, b: tr.stack([tr.concatenate([a, b], 1), tr.concatenate([b, a], 1)]),
     lambda a, b: torch.stack([torch.cat([a, b], 1), torch.cat([b, a], 1)]), [(2, 3), (2, 3)]),
    ("chunk", lambda a: a.chunk(3, axis=1)[1] * a.chunk(3, axis=1)[2],
     lambda a: a.chunk(3, 1)[1] * a.chunk(3, 1)[2], [(2, 6)]),
    ("where", lambda a, b: tr.where(a.data > 0, a, b), lambda a, b: torch.where(a > 0, a, b), [(3, 4), (3, 4)]),
    ("clip", lambda a: a.clip(-0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), [(5, 5)]),
])
def test_ops_match_torch(name, ours, theirs, shapes):
    check(ours, theirs, *shapes)


def test_pow_log_exp_match_torch():
    check(lambda a: (a ** 1.5).log() + a.exp(), lambda a: (a ** 1.5).log() + a.exp(), (3, 4), positive=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(reduction):
    targets = np.array([0, 3, -100, 2, 3])
    check(lambda l: F.cross_entropy(l, targets, reduction=reduction),
          lambda l: TF.cross_entropy(l, torch.tensor(targets), reduction=reduction), (5, 4))
    seq_targets = np.array([[1, 0, 2], [-100, 1, 1]])  # (N, d) targets for (N, C, d) logits
    check(lambda l: F.cross_entropy(l, seq_targets, reduction=reduction),
          lambda l: TF.cross_entropy(l, torch.tensor(seq_targets), reduction=reduction), (2, 3, 3))


def test_mse_and_embedding_match_torch():
    target = np.random.default_rng(5).standard_normal((3, 4))
    check(lambda a: F.mse_loss(a, target), lambda a: TF.mse_loss(a, torch.tensor(target)), (3, 4))
    idx = np.array([[0, 2], [2, 2]])
    check(lambda w: F.embedding(idx, w), lambda w: TF.embedding(torch.tensor(idx), w), (4, 3))


# ----------------------------------------------------------------------------- a 0-d operand of another float dtype
MIXED_OPS = {
    "+": lambda lib, a, b: a + b, "-": lambda lib, a, b: a - b, "*": lambda lib, a, b: a * b,
    "/": lambda lib, a, b: a / b, "**": lambda lib, a, b: a.abs() ** b,
    "maximum": lambda lib, a, b: lib.maximum(a, b), "minimum": lambda lib, a, b: lib.minimum(a, b),
    "where": lambda lib, a, b: lib.where(a > 0, a, b), "where'": lambda lib, a, b: lib.where(b > 0, a, b),
    "masked_fill": lambda lib, a, b: a.masked_fill(a > 0, b) if b.ndim == 0 else a.masked_fill(b > 0, 1.0),
}
DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


@pytest.mark.parametrize("name", sorted(MIXED_OPS))
@pytest.mark.parametrize("shapes", [((3, 2), ()), ((), (3, 2)), ((3, 2), (3, 2)), ((), ())])
@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")])
def test_a_0d_operand_takes_a_dimensioned_ones_dtype_as_torch(name, shapes, dtypes):
    """torch: a 0-d float tensor does not promote a dimensioned float tensor (float32 (3, 2) * float64 0-d is
    float32), and its gradient comes back in its own dtype. Where torch would widen (both dimensioned, or
    both 0-d, of different float dtypes) the call is refused, as nothing upcasts silently here."""
    op = MIXED_OPS[name]
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(DTYPES[d][0]) for s, d in zip(shapes, dtypes)]
    ours = [tr.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    try:
        out_t = op(torch, *theirs)
    except RuntimeError:   # masked_fill with a mask wider than self: refused by both
        with pytest.raises((ValueError, TypeError)):
            op(tr, *ours)
        return
    top = [t for t in theirs if t.ndim] or theirs   # the dimensioned operands set the dtype, else the 0-d ones
    widened = out_t.dtype == torch.float64 and any(t.dtype == torch.float32 for t in top)
    if widened and name != "masked_fill":   # (masked_fill keeps self's dtype in torch: never widened)
        with pytest.raises(TypeError, match="nothing is upcast silently"):
            op(tr, *ours)
        return
    out = op(tr, *ours)
    assert str(out.dtype) == str(out_t.dtype).removeprefix("torch.")
    tol = dict(rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), **tol)
    r = rng.standard_normal(out.shape).astype(out.dtype)
    (out * tr.Tensor(r)).sum().backward()
    (out_t * torch.tensor(r)).sum().backward()
    for a, t in zip(ours, theirs):
        expected = np.zeros(a.shape, a.dtype) if t.grad is None else t.grad.numpy()
        got = np.zeros(a.shape, a.dtype) if a.grad is None else a.grad
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, **tol)


# gathering, sorting and running sums: values, int64 indices and gradients as torch's, both float dtypes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, ours, theirs", [
    ("gather", lambda a, i: a.gather(1, i), lambda a, i: a.gather(1, i)),
    ("gather dim 0, fewer rows", lambda a, i: tr.gather(a, 0, i[:2, :4] % 3),
     lambda a, i: torch.gather(a, 0, i[:2, :4] % 3)),
    ("scatter_add", lambda a, i: a.scatter_add(1, i[:, :4] % 5, a[:, :4] * 2),
     lambda a, i: a.scatter_add(1, i[:, :4] % 5, a[:, :4] * 2)),
    ("scatter_add dim 0", lambda a, i: tr.scatter_add(a, 0, i[:2, :4] % 3, a[1:, :4] ** 2),
     lambda a, i: torch.scatter_add(a, 0, i[:2, :4] % 3, a[1:, :4] ** 2)),
    ("scatter (no repeated index)", lambda a, i: a.scatter(1, np.argsort(i[:, :5], axis=1)[:, :3], a[:, 1:4] * 3),
     lambda a, i: a.scatter(1, torch.tensor(np.argsort(i[:, :5].numpy(), axis=1)[:, :3]), a[:, 1:4] * 3)),
    ("scatter a value", lambda a, i: tr.scatter(a, 1, i[:, :2] % 5, 0.5),
     lambda a, i: torch.scatter(a, 1, i[:, :2] % 5, 0.5)),
    ("cumsum", lambda a, i: a.cumsum(1), lambda a, i: a.cumsum(1)),
    ("cumsum dim -2", lambda a, i: tr.cumsum(a, dim=-2), lambda a, i: torch.cumsum(a, dim=-2)),
    ("sort", lambda a, i: a.sort(), lambda a, i: a.sort()),
    ("sort descending dim 0", lambda a, i: tr.sort(a, 0, descending=True), lambda a, i: torch.sort(a, 0, True)),
    ("sort stable", lambda a, i: a.sort(dim=1, stable=True), lambda a, i: a.sort(dim=1, stable=True)),
    ("topk", lambda a, i: a.topk(2), lambda a, i: a.topk(2)),
    ("topk smallest dim 0", lambda a, i: tr.topk(a, 3, dim=0, largest=False),
     lambda a, i: torch.topk(a, 3, dim=0, largest=False)),
])
def test_gather_sort_topk_cumsum_match_torch(name, ours, theirs, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5)).astype(dtype)
    x[0, 1] = x[0, 3] = x[2, 0] = x[2, 4]   # ties: a stable sort keeps their order, as torch's stable=True
    index = rng.integers(0, 5, (3, 7))
    a, at = tr.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, out_t = ours(a, index), theirs(at, torch.tensor(index))
    if isinstance(out_t, tuple):
        assert type(out) is ValuesIndices and out._fields == ("values", "indices")
        assert out.indices.dtype == np.int64 and not out.indices.requires_grad
        np.testing.assert_array_equal(out.indices.data, out_t.indices.numpy())
        out, out_t = out.values, out_t.values
    assert out.dtype == dtype and out.requires_grad
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-6)
    r = rng.standard_normal(out.shape).astype(dtype)
    (out * tr.Tensor(r)).sum().backward()
    (out_t * torch.tensor(r)).sum().backward()
    assert a.grad.dtype == dtype
    np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-6)


def test_argsort_cumsum_of_masks_and_nan_as_torch():
    x = np.array([[1.0, np.nan, -2.0, 1.0, 0.5], [3.0, 3.0, -np.inf, np.inf, 0.0]])
    for kwargs in ({}, {"descending": True}, {"dim": 0, "stable": True}, {"dim": 1, "descending": True,
                                                                          "stable": True}):
        ours, theirs = tr.Tensor(x).argsort(**kwargs), torch.tensor(x).argsort(**kwargs)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.data, theirs.numpy())
        np.testing.assert_array_equal(tr.argsort(tr.Tensor(x), **kwargs).data, theirs.numpy())
    mask = np.array([[True, False, True], [False, False, True]])
    for dim in (0, 1, -1):
        ours, theirs = tr.tensor(mask).cumsum(dim), torch.tensor(mask).cumsum(dim)
        assert ours.dtype == np.int64 and str(theirs.dtype) == "torch.int64"
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    ours, theirs = tr.tensor(mask).cumsum(1, dtype=np.int32), torch.tensor(mask).cumsum(1, dtype=torch.int32)
    assert ours.dtype == np.int32 and str(theirs.dtype) == "torch.int32"   # an integer dtype= is kept
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    a, at = tr.Tensor(x[:1, [0, 2, 4]], requires_grad=True), torch.tensor(x[:1, [0, 2, 4]], requires_grad=True)
    out, out_t = a.cumsum(1, dtype=np.float32), at.cumsum(1, dtype=torch.float32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, out_t.detach().numpy())
    out.sum().backward()
    out_t.sum().backward()
    assert a.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad, at.grad.numpy())
    for zero_d in (tr.tensor(2.5), torch.tensor(2.5)):
        assert zero_d.sort().values.item() == 2.5 and zero_d.topk(1).indices.item() == 0
        assert zero_d.cumsum(0).item() == 2.5 and zero_d.argsort().item() == 0


MAX_NAN_ROWS = np.array([[1.0, np.nan, 3.0, np.nan], [1.0, 3.0, 3.0, 0.0], [np.inf, 1.0, np.inf, 2.0],
                         [-np.inf, -np.inf, -np.inf, -np.inf]])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # numpy's 0 / 0 where torch gives NaN too
@pytest.mark.parametrize("rows", [[0], [1], [2], [3], [0, 1], [1, 2, 3], [0, 1, 2, 3]])
@pytest.mark.parametrize("name", ["max()", "min()", "amax()", "amax(1)", "amin(1)", "amax(0, keepdim)",
                                  "max(1).values", "min(1).values", "max(0).values"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_and_min_gradients_at_nan_ties_and_infinities_match_torch(name, rows, dtype):
    """torch 2.13's rules: max()/min() of all elements share the gradient among ties, and among the NaNs when the
    result is NaN; amax/amin share it among ties and give NaN over a slice holding a NaN; max(dim)/min(dim) send it
    to the index they return (the first NaN, the first tie)."""
    calls = {"max()": lambda x: x.max(), "min()": lambda x: x.min(), "amax()": lambda x: x.amax(),
             "amax(1)": lambda x: x.amax(1), "amin(1)": lambda x: x.amin(1),
             "amax(0, keepdim)": lambda x: x.amax(0, keepdim=True), "max(1).values": lambda x: x.max(1).values,
             "min(1).values": lambda x: x.min(1).values, "max(0).values": lambda x: x.max(0).values}
    data = MAX_NAN_ROWS[rows].astype(dtype)
    data = -data if name.startswith(("min", "amin")) else data
    x, xt = tr.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, out_t = calls[name](x), calls[name](xt)
    np.testing.assert_array_equal(out.data, out_t.detach().numpy())
    out.sum().backward()
    out_t.sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())   # NaN where torch has NaN
    assert x.grad.dtype == dtype
