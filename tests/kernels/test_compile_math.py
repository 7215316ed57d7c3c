"""Elementwise math beyond the activations inside a compiled cell: erf (F.gelu, nn.GELU), fmod, % (remainder),
div(rounding_mode='trunc' or 'floor'), a ** b with a tensor exponent and clone() (compile/rules.py, scalar.py,
lower.py); // is refused, naming the operation, as it has no derivative.

Oracles: the scalar helpers a kernel calls (compile/scalar.py) against the tape's numpy forward at the edges
(signed zeros, infinities, NaN, 1 // 0.1), bit for bit; the rounded-division rows against primitives.RoundedDivide,
evaluated with numpy and compiled by Numba; cells using each operation compiled against the same cell on the
generic tape (fused=False): outputs, final states and every gradient, float64 and float32; and a GELU Elman
layer against the same recurrence written in PyTorch.
"""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import primitives as P
from tinygrad_rnn.compile import CompileError, compile_cell
from tinygrad_rnn.compile.rules import ROUNDED_DIVISION, numpy_namespace, substitute
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import Parameter, uniform

numba = pytest.importorskip("numba")

from tests.kernels.test_compile import TOL, assert_same  # noqa: E402  (after the skip: it imports numba too)
from tinygrad_rnn.compile.scalar import erf, floor_divide, floor_mod, fmod, trunc  # noqa: E402


# ----------------------------------------------------------------------------- the scalar helpers
def _edge_pairs(dtype):
    """Every pair of the special values (signed zeros, infinities, NaN, 1 and 0.1, whose float quotient rounds up
    to 10 where 1 // 0.1 is 9), then random pairs."""
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.1, -0.1, 2.5, -2.5, 7.0, -7.0, 1e-30, np.inf, -np.inf, np.nan], dtype)
    a, b = np.meshgrid(special, special)
    rng = np.random.default_rng(5)
    return (np.concatenate([a.ravel(), rng.uniform(-5, 5, 200).astype(dtype)]),
            np.concatenate([b.ravel(), rng.uniform(-2, 2, 200).astype(dtype)]))


@numba.njit(error_model="numpy")
def _helpers_in_numba(a, b, one, half, out):
    for j in range(a.shape[0]):
        out[0, j] = erf(a[j])
        out[1, j] = fmod(a[j], b[j])
        out[2, j] = floor_mod(a[j], b[j])
        out[3, j] = floor_divide(a[j], b[j], one, half)
        out[4, j] = trunc(a[j] / b[j])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scalar_helpers_equal_the_tapes_numpy_bit_for_bit(dtype):
    """What a kernel computes per element is what the tape's forward computes: erf rounded from float64 (not
    Numba's float32 erff), torch's % keeping -0.0, and numpy's // (not floor(a / b), which makes 1 // 0.1 ten)."""
    a, b = _edge_pairs(dtype)
    got = np.full((5, a.size), 7.0, dtype)
    _helpers_in_numba(a, b, dtype(1), dtype(0.5), got)
    with np.errstate(all="ignore"):
        want = [P.Erf.forward(a)[0], P.Fmod.forward(a, b)[0], P.Remainder.forward(a, b)[0],
                np.floor_divide(a, b), P.RoundedDivide.forward(a, b, mode="trunc")[0]]
    for name, g, w in zip(("erf", "fmod", "floor_mod", "floor_divide", "trunc"), got, want):
        assert w.dtype == dtype, name
        np.testing.assert_array_equal(g, w, err_msg=name)
        numbers = ~np.isnan(w)   # (a NaN's sign bit is whatever the hardware made)
        assert np.array_equal(np.signbit(g[numbers]), np.signbit(w[numbers])), name   # -0.0 kept
    assert floor_divide(dtype(1), dtype(0.1), dtype(1), dtype(0.5)) == 9   # (called alone, as its own function)
    assert type(erf(dtype(0.5))) is dtype and erf(dtype(0.5)) == P.Erf.forward(np.array([0.5], dtype))[0][0]


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rounded_division_rows_equal_the_primitive(mode, dtype):
    """ROUNDED_DIVISION[mode], with numpy and compiled by Numba: the tape's quotient, and gradients of exactly 0
    for both inputs (a NaN cotangent included, as the tape's zeros_like)."""
    rule = ROUNDED_DIVISION[mode]
    a, b = _edge_pairs(dtype)
    g = np.random.default_rng(6).standard_normal(a.shape).astype(dtype)
    g[::7] = np.nan
    with np.errstate(all="ignore"):
        out, saved = P.RoundedDivide.forward(a, b, mode=mode)
        refs = P.RoundedDivide.backward(g, saved, (True, True), mode=mode)
        env = dict(numpy_namespace(dtype), a=a, b=b, g=g, out=out)
        np.testing.assert_array_equal(eval(substitute(rule.forward, {}), env), out)
    lines = ["def row(a, b, g, one, zero, half, out):", "    for j in range(a.shape[0]):",
             f"        out[0, j] = {substitute(rule.forward, dict(a='a[j]', b='b[j]'))}"]
    lines += [f"        out[{i + 1}, j] = {substitute(vjp, dict(g='g[j]'))}" for i, vjp in enumerate(rule.vjps)]
    namespace = dict(floor_divide=floor_divide, trunc=trunc)
    exec("\n".join(lines), namespace)
    got = np.full((3, a.size), 7.0, dtype)
    numba.njit(error_model="numpy")(namespace["row"])(a, b, g, dtype(1), dtype(0), dtype(0.5), got)
    np.testing.assert_array_equal(got[0], out)
    for i, ref in enumerate(refs):
        np.testing.assert_array_equal(np.broadcast_to(eval(substitute(rule.vjps[i], {}), env), a.shape), ref)
        np.testing.assert_array_equal(got[i + 1], ref)


# ----------------------------------------------------------------------------- cells, compiled vs the tape
class GeluCell(RecurrentCell):
    """An Elman cell with GELU: h' = gelu(x W^T + h U^T + b), by F.gelu or by an nn.GELU module."""

    def __init__(self, input_size, hidden_size, dtype=np.float64, approximate="none", module=False):
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / np.sqrt(hidden_size)
        self.weight_ih = uniform((hidden_size, input_size), bound, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), bound, dtype)
        self.bias = uniform((hidden_size,), bound, dtype)
        self.approximate, self.act = approximate, (tr.nn.GELU(approximate) if module else None)

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias
        return self.act(z) if self.act is not None else F.gelu(z, approximate=self.approximate)


H = 4


@pytest.mark.parametrize("dtype, module", [(np.float64, False), (np.float32, False), (np.float64, True)])
def test_gelu_cell_compiles_and_equals_the_tape(dtype, module):
    """gelu's erf compiles (it raised CompileError before): two bidirectional layers, with lengths."""
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(GeluCell, 2 * H, H, num_layers=2, bidirectional=True, dtype=dtype, module=module)
    assert layer.fused is True and "erf(" in layer.kernel_source()
    xd = np.random.default_rng(2).standard_normal((6, 3, 2 * H)).astype(dtype)
    assert_same(layer, xd, [6, 4, 2], dtype)


class RoundingCell(RecurrentCell):
    """fmod and % by a parameter, div with both rounding modes, a tensor exponent and clone() in one cell."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / np.sqrt(hidden_size)
        self.weight_ih = uniform((hidden_size, input_size), bound, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), bound, dtype)
        self.period = Parameter(np.linspace(1.5, 2.5, hidden_size).astype(dtype))   # a divisor with a gradient

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        wrapped = (z * 3.0) % self.period - (z * 2.0).fmod(self.period) * 0.5
        steps = z.div(0.25, rounding_mode="floor") * 0.05 + (z * 4.0).div(self.period, rounding_mode="trunc") * 0.05
        powered = (z.sigmoid() + 0.5) ** (self.period * 0.5)
        return (wrapped + steps + powered.clone() - 1.0 + z).tanh()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_remainders_rounded_division_power_and_clone_compile_and_equal_the_tape(dtype):
    tr.manual_seed(1)
    layer = tr.nn.Recurrent(RoundingCell, 3, H, dtype=dtype)
    assert layer.fused is True
    xd = np.random.default_rng(3).standard_normal((7, 3, 3)).astype(dtype)
    assert_same(layer, xd, [7, 5, 2], dtype)


class FloorDivideCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64, op="floor_divide"):
        self.input_size, self.hidden_size, self.op = input_size, hidden_size, op
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)

    def forward(self, x, h):
        z = x @ self.weight.T + h
        if self.op == "cumsum":
            return z.cumsum(-1) * 0.1
        if self.op == "F.softmax":
            return F.softmax(z, dim=-1)   # the line the error must name, not functional.py's
        if self.op == "nn.Softmax":
            return tr.nn.Softmax(dim=-1)(z)   # the line the error must name, not layers.py's or module.py's
        return (z // 0.5) * 0.1 + h   # the line the error must name


def test_floor_divide_is_refused_naming_the_line_and_the_alternative():
    """// has no derivative (the tape's backward raises, as torch's), so a kernel, which always runs the BPTT,
    refuses it at construction, naming the operation, the line and div(rounding_mode='floor'); fused='auto'
    runs the tape. An operation without a scalar rule (cumsum) is refused naming it too."""
    with pytest.raises(CompileError, match=r"FloorDivide \(floor_divide \(//\) has no derivative.*"
                                           r"rounding_mode='floor'.*test_compile_math\.py:\d+ in forward"):
        tr.nn.Recurrent(FloorDivideCell, 3, 4, dtype=np.float64)
    with pytest.warns(RuntimeWarning, match="FloorDivide"):
        layer = tr.nn.Recurrent(FloorDivideCell, 3, 4, dtype=np.float64, fused="auto")
    assert layer.fused is False
    with tr.no_grad():
        out, _ = layer(tr.Tensor(np.ones((2, 1, 3))))
    assert out.shape == (2, 1, 4)
    with pytest.raises(CompileError, match=r"cannot compile Cumsum.*test_compile_math\.py:\d+ in forward"):
        compile_cell(FloorDivideCell(3, 4, op="cumsum"))


@pytest.mark.parametrize("op", ["F.softmax", "nn.Softmax"])
def test_an_operation_inside_a_library_function_is_named_at_the_cells_line(op):
    """The line named is the cell's, not that of the library function or module the cell called (F.gelu's erf
    was named at nn/functional.py's line before)."""
    with pytest.raises(CompileError,
                       match=r"cannot compile Softmax .*, used at \S*test_compile_math\.py:\d+ in forward"):
        compile_cell(FloorDivideCell(3, 4, op=op))


# ----------------------------------------------------------------------------- against PyTorch
torch = pytest.importorskip("torch")


def _torch_gelu_rnn(x, weights, approximate):
    """The GELU Elman recurrence written in torch: the output of every step."""
    W, U, b = weights
    h, outs = torch.zeros(x.shape[1], U.shape[0], dtype=x.dtype), []
    for t in range(x.shape[0]):
        h = torch.nn.functional.gelu(x[t] @ W.T + h @ U.T + b, approximate=approximate)
        outs.append(h)
    return torch.stack(outs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_gelu_layer_matches_torch(dtype):
    """The compiled GELU layer (both approximations) against torch's gelu in the same recurrence: outputs, the
    input's and every weight's gradient."""
    tol = TOL[dtype] if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    rng = np.random.default_rng(4)
    xd, rd = rng.standard_normal((8, 3, 5)).astype(dtype), rng.standard_normal((8, 3, H)).astype(dtype)
    for approximate in ("none", "tanh"):
        tr.manual_seed(2)
        layer = tr.nn.Recurrent(GeluCell, 5, H, dtype=dtype, approximate=approximate)
        assert layer.fused is True
        x = tr.Tensor(xd, requires_grad=True)
        out, _ = layer(x)
        (out * tr.Tensor(rd)).sum().backward()
        cell = layer.cells[0]
        names = ("weight_ih", "weight_hh", "bias")
        px = torch.tensor(xd, requires_grad=True)
        weights = [torch.tensor(getattr(cell, n)._data, requires_grad=True) for n in names]
        pout = _torch_gelu_rnn(px, weights, approximate)
        (pout * torch.tensor(rd)).sum().backward()
        np.testing.assert_allclose(out._data, pout.detach().numpy(), **tol, err_msg=approximate)
        np.testing.assert_allclose(x.grad, px.grad.numpy(), **tol, err_msg=approximate)
        for n, w in zip(names, weights):
            np.testing.assert_allclose(getattr(cell, n).grad, w.grad.numpy(), **tol, err_msg=f"{approximate} {n}")
