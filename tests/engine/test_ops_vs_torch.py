"""Spot checks of operations and losses against PyTorch (skipped where torch is not installed).
One lambda runs on both libraries (tinygrad's helper_test_op idea); outputs and every gradient
must agree in float64."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F

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
