"""Masks computed from the data inside a compiled cell: comparisons (== != < <= > >=) traced as operations,
where() selecting per element by them, masks used as numbers (h * (x > 0), mask.to(x.dtype): rules.py
MASK_AS_NUMBER) and max(dim)/min(dim).values, whose gradient goes to the first extreme index (rules.py
REDUCTIONS[FirstMax]), beside amax, whose ties share it (compile/rules.py, lower.py).

Oracles: the comparison and mask rows against primitives.Compare and Cast (numpy) and compiled by Numba,
at ties, -0.0, infinities and NaN; cells with leaky, clipped, gated or mask-multiplied state updates and
max(dim).values at ties, compiled against the same cell on the generic tape (fused=False): outputs, final
states and every gradient, float32 and float64; the Tensor semantics against PyTorch.
"""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import primitives as P
from tinygrad_rnn.compile import compile_cell
from tinygrad_rnn.compile.rules import COMPARISONS, LOGICAL, MASK_AS_NUMBER, numpy_namespace, substitute
from tinygrad_rnn.compile.trace import CompileError, trace_cell
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import Parameter, uniform

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


def _rows_in_numba(rules, a, b):
    """Each rule's forward applied to a[j], b[j] in one compiled loop: out[k] is rule k's row (bool)."""
    lines = ["def rows(a, b, out):", "    for j in range(a.shape[0]):"]
    for k, rule in enumerate(rules.values()):
        lines.append(f"        out[{k}, j] = {substitute(rule.forward, dict(a='a[j]', b='b[j]'))}")
    env = {}
    exec("\n".join(lines), env)
    out = np.zeros((len(rules), a.size), bool)
    numba.njit(env["rows"])(a, b, out)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_comparison_rows_match_primitive_in_numpy_and_numba(dtype):
    a, b = _edge_values(dtype)
    out = _rows_in_numba(COMPARISONS, a, b)
    for k, (op, rule) in enumerate(COMPARISONS.items()):
        ref, _ = P.Compare.forward(a, b, op=op)
        assert ref.dtype == bool and rule.vjps == ()
        np.testing.assert_array_equal(out[k], ref, err_msg=op)
        np.testing.assert_array_equal(eval(substitute(rule.forward, dict(a="a", b="b")), {}, dict(a=a, b=b)), ref)


def test_logical_rows_match_primitive_in_numpy_and_numba():
    a, b = (m.ravel() for m in np.meshgrid([True, False], [True, False]))
    out = _rows_in_numba(LOGICAL, a, b)
    for k, (op, rule) in enumerate(LOGICAL.items()):
        ref, _ = P.Logical.forward(*((a,) if op == "not" else (a, b)), op=op)
        assert ref.dtype == bool and rule.vjps == ()
        np.testing.assert_array_equal(out[k], ref, err_msg=op)
        np.testing.assert_array_equal(eval(substitute(rule.forward, dict(a="a", b="b")), {}, dict(a=a, b=b)), ref)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mask_as_number_row_matches_cast_in_numpy_and_numba(dtype):
    mask = np.array([True, False, True, True, False])
    ref, _ = P.Cast.forward(mask, dtype=np.dtype(dtype))
    env = numpy_namespace(dtype)
    line = substitute(MASK_AS_NUMBER.forward, dict(a="m[j]"))
    src = f"def rows(m, out, one, zero):\n    for j in range(m.shape[0]):\n        out[j] = {line}"
    code = {"select": env["select"]}
    exec(src, code)
    out = np.full(mask.size, 7, dtype)
    numba.njit(code["rows"])(mask, out, env["one"], env["zero"])
    assert MASK_AS_NUMBER.vjps == () and ref.dtype == dtype
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(eval(substitute(MASK_AS_NUMBER.forward, dict(a="m")), env, dict(m=mask)), ref)


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
        if kind == "max_values":   # equal entries: the columns above it tie, each with its own gradient
            self.ceiling = Parameter(np.full((hidden_size,), 0.3, dtype))

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
        if k in ("mask_mul", "mask_cast", "logical", "count", "max_values"):
            return self._numbers(k, z, h)
        if k == "stored":     # a mask read again after a second product (a later phase): kept per step
            m = z > 0
            z2 = tr.where(m, z, 0.0).tanh() @ self.weight_2.T
            return tr.where(m, z2, -h).tanh()
        raise ValueError(k)

    def _numbers(self, k, z, h):
        """Masks as numbers and max(dim).values."""
        if k == "mask_mul":   # masks as numbers, on either side, and 1 - mask (bool promoted to the dtype)
            return (z * (z > 0) + (h < 0.2) * h * 0.5).tanh() + (1.0 - (z > 0.5).to(z.dtype)) * 0.1
        if k == "mask_cast":  # type_as, to(dtype), and the dtype's own method
            own = (z < -0.3).float() if z.dtype == np.float32 else (z < -0.3).double()
            return ((z > 0).type_as(z) * z + (h > 0).to(h.dtype) * 0.5 - own * h).tanh()
        if k == "logical":    # masks combined by & | ^ ~, then selected by and used as numbers
            m = ((z > 0) & (h < 0.5)) | ~(z > 1)
            return tr.where(m ^ (h > 0), z, h * 0.5).tanh() + (m & (z < 2)).type_as(z) * h
        if k == "count":      # a count of a mask (int64 on the tape, as torch), per row, kept or not
            many = (z < 0).sum(dim=1) > 1
            keep = tr.where((h > 0.5).any(-1, keepdim=True) & (z > -2).all(-1, keepdim=True), h, -h)
            return (z * (z > 0).sum(-1, keepdim=True).type_as(z) * 0.3 + keep * many.type_as(h).unsqueeze(-1)).tanh()
        if k == "max_values": # max(dim).values at ties: the gradient to the first index only (of `ceiling`)
            c, d = z.minimum(self.ceiling), z.maximum(-self.ceiling)
            m = c.max(dim=-1, keepdim=True).values
            return (c - m).tanh() + d.min(dim=1).values.unsqueeze(-1) * h + c.amax(-1, keepdim=True) * 0.5
        raise ValueError(k)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["leaky", "clipped", "gated", "row", "param", "stored", "mask_mul", "mask_cast",
                                  "logical", "count", "max_values"])
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
    inside = (z.abs() < 1)._data
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
        np.testing.assert_array_equal(ours._data, theirs.numpy())


def test_comparison_of_mixed_float_dtypes_matches_torch():
    """float32 against float64 compares in float64 in both (the result is a mask: nothing is upcast)."""
    a = np.array([0.1, 0.5, 1 / 3], np.float32)
    b = np.array([0.1, 0.5, 1 / 3], np.float64)
    for fn in OPS.values():
        ours, theirs = fn(tr.Tensor(a), tr.Tensor(b)), fn(torch.tensor(a), torch.tensor(b))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


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
    np.testing.assert_allclose(ours._data, theirs.detach().numpy(), rtol=1e-6)
    if ours.requires_grad:
        (ours * ours).sum().backward()
        (theirs * theirs).sum().backward()
    for g, pg in ((tx.grad, px.grad), (ty.grad, py.grad)):
        assert (g is None) == (pg is None)
        if g is not None:
            np.testing.assert_allclose(g, pg.numpy(), rtol=1e-6)


# ----------------------------------------------------------------------------- masks as numbers, max(dim)
def test_max_values_cell_meets_ties_and_masks_are_traced_as_casts():
    """The max_values cell above can fail: its rows tie for the max at `ceiling`, whose entries get the
    gradient (so a shared gradient, amax's, would differ from the first index's: checked by swapping the
    rule), and the masks as numbers are Casts of comparisons in the trace, not constants of the data."""
    cell = MaskCell(3, 4, "max_values")
    x = tr.Tensor(np.random.default_rng(1).standard_normal((50, 3)) * 2)
    c = (x @ cell.weight_ih.T + cell.bias).minimum(cell.ceiling)._data
    assert ((c == c.max(-1, keepdims=True)).sum(-1) > 1).mean() > 0.2
    graph = trace_cell(cell, np.float64)
    assert sum(op.prim is P.FirstMax for op in graph.ops) == 2 and any(op.prim is P.Max for op in graph.ops)
    graph = trace_cell(MaskCell(3, 4, "count"), np.float64)
    assert sum(op.prim is P.Sum and op.dtypes == (np.dtype(np.int64),) for op in graph.ops) == 4   # any, all too
    graph = trace_cell(MaskCell(3, 4, "logical"), np.float64)
    assert sum(op.prim is P.Logical for op in graph.ops) == 5
    graph = trace_cell(MaskCell(3, 4, "mask_mul"), np.float64)
    casts = [op for op in graph.ops if op.prim is P.Cast]
    assert len(casts) == 3 and all(graph.ops[op.args[0][1]].prim is P.Compare for op in casts)
    assert not any(c.dtype == bool for c in graph.consts)


class IndicesCell(MaskCell):
    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        if self.kind == "values":
            return z.max(-1, keepdim=True).values * h          # compiles: the indices are made, never read
        if self.kind == "argmax":
            return z * z.argmax(-1, keepdim=True)
        if self.kind == "argmax_all":
            return z * z.argmax()                              # over every element (was a constant, baked in)
        return z * z.max(dim=-1, keepdim=True).indices         # the indices used as numbers


@pytest.mark.parametrize("kind", ["indices", "argmax", "argmax_all"])
def test_indices_used_as_data_are_refused_naming_the_line(kind):
    import inspect
    line = inspect.getsourcelines(IndicesCell.forward)[1] + {"argmax": 5, "argmax_all": 7, "indices": 8}[kind]
    with pytest.raises(CompileError, match=rf"indices of max\(dim\).* used as data, at .*:{line} in forward"):
        compile_cell(IndicesCell(3, 4, kind))
    compile_cell(IndicesCell(3, 4, "values"))


class OtherDtypeCell(MaskCell):
    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        return (z.double() * 2.0).float()   # a float32 cell computing in float64 for a while: not in a kernel


def test_a_cast_to_the_other_float_dtype_is_refused_naming_the_line():
    with pytest.raises(CompileError, match=r"Cast \(a cast to float64 in a float32 cell.*test_compile_masks\.py:\d+"):
        compile_cell(OtherDtypeCell(3, 4, dtype=np.float32))


torch = pytest.importorskip("torch")


def _as_numbers_case(lib, case, x, h):
    """One use of a mask as numbers, written the same for tinygrad_rnn and torch."""
    if case == "mul":
        return h * (x > 0)
    if case == "rmul":
        return (x > 0) * h
    if case == "type_as":
        return (x > 0).type_as(x) * h
    if case == "to_dtype":
        return (x < 0.5).to(h.dtype) * h + (x > 0).to(h.dtype)
    if case == "add":
        return h + (x > 0)
    return (1.0 - (x > 0).type_as(h)) * h.tanh()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["mul", "rmul", "type_as", "to_dtype", "add", "one_minus"])
def test_masks_as_numbers_match_torch(case, dtype):
    """bool is promoted to the float operand's dtype (float32 stays float32), values and gradients; the mask
    gets no gradient."""
    rng = np.random.default_rng(6)
    x, h = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    tx, th = tr.Tensor(x, requires_grad=True), tr.Tensor(h, requires_grad=True)
    px, ph = torch.tensor(x, requires_grad=True), torch.tensor(h, requires_grad=True)
    ours, theirs = _as_numbers_case(tr, case, tx, th), _as_numbers_case(torch, case, px, ph)
    assert np.dtype(ours.dtype) == np.dtype(dtype) and theirs.dtype == ph.dtype
    np.testing.assert_allclose(ours._data, theirs.detach().numpy(), rtol=1e-6)
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    assert tx.grad is None and px.grad is None
    np.testing.assert_allclose(th.grad, ph.grad.numpy(), rtol=1e-6)
    mask = (tx > 0).to(tx.dtype)
    assert not mask.requires_grad and mask.dtype == np.dtype(dtype)


def _tied(dtype):
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, -2.0, -2.0]], dtype)
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("keepdim", [True, False])
def test_max_dim_values_first_index_and_amax_shared_at_ties_match_torch(fn, keepdim, dtype):
    """max(dim).values: the gradient to the first extreme index; amax/amin: shared by the ties. At these ties
    the two differ (so each comparison can fail), and each equals torch's, values, indices and gradients."""
    x = _tied(dtype) * (1 if fn == "max" else -1)
    g = np.arange(1, 4, dtype=dtype)[:, None] if keepdim else np.arange(1, 4, dtype=dtype)
    grads = {}
    for name, call in (("dim", lambda t: getattr(t, fn)(dim=1, keepdim=keepdim).values),   # the same code for both
                       ("amax", lambda t: getattr(t, "a" + fn)(1, keepdim))):
        tx, px = tr.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        a, b = call(tx), call(px)
        assert np.dtype(a.dtype) == np.dtype(dtype) and a.shape == tuple(b.shape)
        np.testing.assert_array_equal(a._data, b.detach().numpy())
        (a * tr.Tensor(g)).sum().backward()
        (b * torch.tensor(g)).sum().backward()
        np.testing.assert_array_equal(tx.grad, px.grad.numpy())
        grads[name] = tx.grad
    assert not np.array_equal(grads["dim"], grads["amax"])
    ours_i = getattr(tr.Tensor(x), fn)(dim=1, keepdim=keepdim).indices
    theirs_i = getattr(torch.tensor(x), fn)(dim=1, keepdim=keepdim).indices
    assert ours_i.dtype == np.int64 and not ours_i.requires_grad
    np.testing.assert_array_equal(ours_i._data, theirs_i.numpy())


@pytest.mark.parametrize("cond", [np.array([1.0, 0.0, 2.0], np.float32), np.array([1, 0, 2])])
def test_where_refuses_a_condition_that_is_not_boolean_as_torch(cond):
    a, b = tr.Tensor(np.ones(3, np.float32)), tr.Tensor(np.zeros(3, np.float32))
    for c in (cond, tr.Tensor(cond) if cond.dtype.kind == "f" else cond):
        with pytest.raises(TypeError, match=rf"where: condition must be a boolean .*got dtype {np.asarray(c).dtype}"):
            tr.where(c, a, b)
    with pytest.raises(RuntimeError, match="condition to be a boolean"):
        torch.where(torch.tensor(cond), torch.ones(3), torch.zeros(3))
    np.testing.assert_array_equal(tr.where(tr.Tensor(cond) != 0, a, b)._data, [1, 0, 1])
    np.testing.assert_array_equal(tr.where(condition=cond != 0, input=a, other=b)._data, [1, 0, 1])


def test_logical_operators_on_masks_match_torch():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for lib, a, b in ((tr, tr.Tensor(x), tr.Tensor(y)), (torch, torch.tensor(x), torch.tensor(y))):
        m, n = a > 0, b < 0.3
        got = [m & n, m | n, m ^ n, ~m, m.logical_not(), m & True, lib.where(~m | n, a, b), m.sum(-1),
               (m | n).sum(dim=0, keepdim=True), m.sum()]
        if lib is tr:
            ours = got
    for o, t in zip(ours, got):
        assert np.dtype(o.dtype) == np.dtype(str(t.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(o._data, t.numpy())


@pytest.mark.parametrize("case", ["mask", "float_nan", "empty"])
def test_any_all_match_torch(case):
    """any/all are counts of the nonzero elements now (traced in a cell): NaN is nonzero, over nothing any is
    False and all True, keepdim, dims, as torch."""
    arr = {"mask": np.random.default_rng(0).standard_normal((3, 4)), "empty": np.zeros((0, 3)),
           "float_nan": np.array([[0.0, np.nan, 1.0], [0.0, 0.0, 0.0]])}[case]
    ours, theirs = tr.Tensor(arr), torch.tensor(arr)
    if case == "mask":
        ours, theirs = ours > 0, theirs > 0
    for args in [(), (0,), (1,), (-1, True)]:
        for fn in ("any", "all"):
            o, p = getattr(ours, fn)(*args), getattr(theirs, fn)(*args)
            assert o.dtype == np.bool_ and o.shape == tuple(p.shape) and not o.requires_grad
            np.testing.assert_array_equal(o._data, p.numpy(), err_msg=f"{fn}{args}")
