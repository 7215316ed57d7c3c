"""Masks computed from the data inside a compiled cell: comparisons (== != < <= > >=) traced as operations
and where() selecting per element by them (compile/rules.py COMPARISONS and Where, lower.py).

Oracles: the comparison rows against primitives.Compare (numpy) and compiled by Numba, at ties, -0.0,
infinities and NaN; cells with leaky, clipped or gated state updates, compiled against the same cell on
the generic tape (fused=False): outputs, final states and every gradient, float32 and float64.
"""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import primitives as P
from tinygrad_rnn.compile import compile_cell
from tinygrad_rnn.compile.rules import COMPARISONS, substitute
from tinygrad_rnn.compile.trace import trace_cell
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import uniform

numba = pytest.importorskip("numba")

from tests.kernels.test_compile import assert_same  # noqa: E402  (after the skip: it imports numba too)


# ----------------------------------------------------------------------------- the comparison rows
def _edge_values(dtype):
    """Pairs at every corner a comparison has: ties, signed zeros, infinities, NaN on either side."""
    special = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 0.5], dtype)
    a, b = np.meshgrid(special, special)
    rng = np.random.default_rng(3)
    r = rng.integers(-2, 3, 64).astype(dtype)
    return np.concatenate([a.ravel(), r]), np.concatenate([b.ravel(), rng.integers(-2, 3, 64).astype(dtype)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_comparison_rows_match_primitive_in_numpy_and_numba(dtype):
    a, b = _edge_values(dtype)
    lines = ["def rows(a, b, out):", "    for j in range(a.shape[0]):"]
    for k, rule in enumerate(COMPARISONS.values()):
        lines.append(f"        out[{k}, j] = {substitute(rule.forward, dict(a='a[j]', b='b[j]'))}")
    env = {}
    exec("\n".join(lines), env)
    out = np.zeros((len(COMPARISONS), a.size), bool)
    numba.njit(env["rows"])(a, b, out)
    for k, (op, rule) in enumerate(COMPARISONS.items()):
        ref, _ = P.Compare.forward(a, b, op=op)
        assert ref.dtype == bool and rule.vjps == ()
        np.testing.assert_array_equal(out[k], ref, err_msg=op)
        np.testing.assert_array_equal(eval(substitute(rule.forward, dict(a="a", b="b")), {}, dict(a=a, b=b)), ref)


# ----------------------------------------------------------------------------- cells with data masks
class MaskCell(RecurrentCell):
    """z = x W + h U + b, then a state update selected per element by a mask computed from the data."""

    def __init__(self, input_size, hidden_size, kind="leaky", dtype=np.float64):
        self.input_size, self.hidden_size, self.kind = input_size, hidden_size, kind
        bound = 1.0 / np.sqrt(hidden_size)
        self.weight_ih = uniform((hidden_size, input_size), bound * 3, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), bound * 3, dtype)
        self.bias = uniform((hidden_size,), bound, dtype)
        self.weight_2 = uniform((hidden_size, hidden_size), bound * 3, dtype)

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias
        k = self.kind
        if k == "leaky":      # leaky relu of the pre-activation, then squashed
            return tr.where(z > 0, z, 0.1 * z).tanh()
        if k == "clipped":    # keep the old state where the candidate leaves (-1, 1); scalar branch too
            return tr.where(z.abs() < 1, z, tr.where(z >= 1, 0.9, h * 0.5))
        if k == "gated":      # tensors on both sides of the comparisons, and every operator
            a, b = z.tanh(), h
            m = tr.where(a <= b, a * b, a + b)
            m = tr.where(a != b, m, -m)
            return tr.where(z.sigmoid() == 0.5, h, m).tanh()
        if k == "row":        # a per-row mask, broadcast over the columns
            return tr.where(z.sum(-1, keepdims=True) > 0, z.tanh(), -h)
        if k == "param":      # a mask of a parameter vector: the same for every row
            return tr.where(self.bias > 0, z.tanh(), h * 0.5)
        if k == "stored":     # a mask read again after a second product (a later phase): kept per step
            m = z > 0
            z2 = tr.where(m, z, 0.0).tanh() @ self.weight_2.T
            return tr.where(m, z2, -h).tanh()
        raise ValueError(k)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["leaky", "clipped", "gated", "row", "param", "stored"])
def test_data_masked_cell_compiled_equals_tape(kind, dtype):
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(MaskCell, 3, 4, num_layers=2, bidirectional=True, dtype=dtype, kind=kind)
    xd = np.random.default_rng(1).standard_normal((6, 3, 3)).astype(dtype) * 2
    assert_same(layer, xd, np.array([6, 2, 4]), dtype)


def test_masks_take_both_branches_and_are_traced_as_operations():
    """The tests above can fail: the cells' masks are mixed (both branches taken), and the trace holds
    the comparisons as operations, not as constants of the data it saw."""
    cell = MaskCell(3, 4, "clipped")
    graph = trace_cell(cell, np.float64)
    assert sum(op.prim is P.Compare for op in graph.ops) == 2 and not any(c.dtype == bool for c in graph.consts)
    x = tr.Tensor(np.random.default_rng(1).standard_normal((50, 3)) * 2)
    z = x @ cell.weight_ih.T + cell.bias
    inside = (z.abs() < 1).data
    assert inside.any() and not inside.all()
    compile_cell(cell)


# ----------------------------------------------------------------------------- the Tensor semantics, torch
torch = pytest.importorskip("torch")
OPS = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
       "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", list(OPS))
def test_comparisons_match_torch(op, dtype):
    a, b = _edge_values(dtype)
    fn = OPS[op]
    ta = tr.Tensor(a, requires_grad=True)
    pa = torch.tensor(a, requires_grad=True)
    for ours, theirs in ((fn(ta, tr.Tensor(b)), fn(pa, torch.tensor(b))),
                         (fn(ta, 0.1), fn(pa, 0.1)),          # a Python float in the tensor's dtype
                         (fn(ta, 2), fn(pa, 2)),
                         (fn(ta.reshape(-1, 1)[:8], tr.Tensor(b[:5])), fn(pa.reshape(-1, 1)[:8], torch.tensor(b[:5])))):
        assert ours.dtype == np.dtype(bool) and theirs.dtype == torch.bool
        assert not ours.requires_grad and not theirs.requires_grad
        np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_comparison_of_mixed_float_dtypes_matches_torch():
    """float32 against float64 compares in float64 in both (the result is a mask: nothing is upcast)."""
    a = np.array([0.1, 0.5, 1 / 3], np.float32)
    b = np.array([0.1, 0.5, 1 / 3], np.float64)
    for fn in OPS.values():
        np.testing.assert_array_equal(fn(tr.Tensor(a), tr.Tensor(b)).data, fn(torch.tensor(a), torch.tensor(b)).numpy())


def _where_case(lib, case, tx, ty):
    """One use of where() on a comparison, written the same for tinygrad_rnn and torch."""
    mask = tx > 0.25
    if case == "tensors":
        return lib.where(mask, tx, tx * 2)
    if case == "broadcast":
        return lib.where(mask, ty, tx)
    if case == "scalar_b":
        return lib.where(mask, tx, 0.5)
    if case == "scalar_a":
        return lib.where(mask, -1.0, tx)
    if case == "both_scalars":
        return lib.where(mask, 1.0, 0.0)
    return lib.where(tx.sum(-1, keepdims=True) > 0, tx, ty)   # a per-row mask


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["tensors", "broadcast", "scalar_b", "scalar_a", "both_scalars", "row_mask"])
def test_where_on_a_comparison_matches_torch(case, dtype):
    """dtype (a Python number takes the tensor's; two give float32), broadcasting, outputs and gradients."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((1, 4)).astype(dtype)
    tx, ty = tr.Tensor(x, requires_grad=True), tr.Tensor(y, requires_grad=True)
    px, py = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    ours, theirs = _where_case(tr, case, tx, ty), _where_case(torch, case, px, py)
    assert np.dtype(ours.dtype) == np.dtype(str(theirs.dtype).replace("torch.", ""))
    assert ours.requires_grad == theirs.requires_grad
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-6)
    if ours.requires_grad:
        (ours * ours).sum().backward()
        (theirs * theirs).sum().backward()
    for g, pg in ((tx.grad, px.grad), (ty.grad, py.grad)):
        assert (g is None) == (pg is None)
        if g is not None:
            np.testing.assert_allclose(g, pg.numpy(), rtol=1e-6)
