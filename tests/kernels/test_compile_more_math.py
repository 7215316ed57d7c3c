"""The compiler's rows for the elementwise math of tests/engine/test_more_math_vs_torch.py: sin, cos, log1p and expm1
(rules.RULES, held to their primitives by test_compile.py's table tests), round/floor/ceil/trunc/sign
(rules.ROUNDING, held to primitives.Rounding here at ties, +-0, NaN and inf, with numpy and compiled by Numba), and
cells that use them, with reciprocal and clamp_min/clamp_max (Div and Clip), lerp with a tensor weight and nan_to_num
(compositions whose masks are comparisons), and logit (rules.LOGIT, one row per eps kind), compiled equal to the
tape."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import primitives as P
from tinygrad_rnn.compile import CompileError, compile_cell, rules
from tinygrad_rnn.compile.rules import numpy_namespace, substitute
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import uniform

numba = pytest.importorskip("numba")

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=2e-5)}
EDGES = np.array([0.5, 1.5, 2.5, -0.5, -2.5, -0.0, 0.0, 0.3, -0.7, 3.99, -1e-30, np.nan, np.inf, -np.inf, 1e20])


def _compiled_rounding(op, dtype):
    """The ROUNDING row for op as the kernels compile it: one Numba function writing out and the VJP."""
    from tinygrad_rnn.compile import scalar
    rule = rules.ROUNDING[op]
    names = dict(a="a[j]", g="g[j]")
    lines = ["def rows(a, g, one, zero, out):", "    for j in range(a.shape[0]):",
             f"        o = {substitute(rule.forward, names)}", "        out[0, j] = o",
             f"        out[1, j] = {substitute(rule.vjps[0], dict(names, out='o'))}"]
    env = {name: getattr(scalar, name) for name in ("rint", "floor", "ceil", "trunc", "select")}
    exec("\n".join(lines), env)
    return numba.njit(error_model="numpy")(env["rows"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("op", ["ceil", "floor", "round", "sign", "trunc"])
def test_rounding_rows_equal_the_primitive_bit_for_bit(op, dtype):
    """Values (the sign of a zero too: round(-0.5) is -0.0, sign(-0.0) is 0.0) and a zero VJP, NaN g included."""
    a = EDGES.astype(dtype)
    g = np.linspace(-1, 1, a.size).astype(dtype)
    g[0] = np.nan
    want, saved = P.Rounding.forward(a, op=op)
    (want_grad,) = P.Rounding.backward(g, saved, (True,), op=op)
    env = numpy_namespace(dtype)
    got = np.broadcast_to(eval(substitute(rules.ROUNDING[op].forward, {}), env, dict(a=a)), a.shape)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    np.testing.assert_array_equal(np.broadcast_to(eval(rules.ROUNDING[op].vjps[0], env, dict(g=g)), a.shape), want_grad)
    out = np.full((2, a.size), 7, dtype)
    _compiled_rounding(op, dtype)(a, g, dtype(1), dtype(0), out)
    np.testing.assert_array_equal(out[0], want)
    np.testing.assert_array_equal(np.signbit(out[0]), np.signbit(want))
    np.testing.assert_array_equal(out[1], want_grad)


class MathCell(RecurrentCell):
    """The new elementwise math as a user writes it in a cell."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        smooth = z.sin() * h.cos() + (z * z).log1p() * 0.1 - z.clamp_max(0.5).expm1() * 0.2
        steps = (z * 4).round() * 0.05 + z.floor() * 0.01 - z.ceil() * 0.01 + z.trunc() * z.sign() * 0.02
        logs = (z * z + 1).log2() * 0.1 - (h * h + 0.5).log10() * 0.1 + (z * 0.5).exp2() * 0.1
        pairs = z.hypot(h) * 0.1 + z.xlogy(h * h + 0.1) * 0.1 + tr.xlogy(h * 0.0, z * z) * 0.1   # (0 log 0)
        pairs = pairs + z.lerp(h, z.sigmoid()) * 0.1 + (z.exp() * 40).exp().nan_to_num(posinf=3.0) * 0.01
        return (smooth + steps + logs + pairs + (z.abs() + 1).reciprocal() * z.clamp_min(-0.3)).tanh()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_cell_of_the_new_math_compiles_and_equals_the_tape(dtype):
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(MathCell, 3, 4, dtype=dtype)
    xd = np.random.default_rng(4).standard_normal((5, 3, 3)).astype(dtype)
    xd[1, 0] = 0.0   # sign and the rounding functions at 0
    results = []
    for fused in (False, True):
        layer.fused = fused
        layer.zero_grad()
        x = tr.Tensor(xd, requires_grad=True)
        out, h_n = layer(x)
        (out * np.linspace(-1, 1, out.data.size).reshape(out.shape).astype(dtype)).sum().backward()
        results.append([out.data, h_n.data, x.grad] + [p.grad for p in layer.parameters()])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, **TOL[dtype])


class RoundDecimalsCell(RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight = uniform((hidden_size, input_size), 0.5, dtype)

    def forward(self, x, h):
        return h + (x @ self.weight.T).round(decimals=2)   # the line the error must name


def test_round_with_decimals_is_refused_naming_the_line():
    with pytest.raises(CompileError, match=r"decimals=2.*test_compile_more_math\.py:\d+ in forward"):
        compile_cell(RoundDecimalsCell(3, 4))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_base_rows_and_xlogy_at_its_edges_equal_the_primitives(dtype):
    """log2/log10 (rules.LOG_BASE) and xlogy's row at a = 0, b = 0, b < 0, b NaN or inf, with numpy."""
    a = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, -2.0, np.nan, 3.0, 0.5], dtype)
    b = np.array([0.0, 2.0, np.nan, np.inf, -1.0, 0.0, -1.0, 3.0, 1.0, 8.0, 1e-3], dtype)
    g = np.linspace(-1, 1, a.size).astype(dtype)
    env = numpy_namespace(dtype)
    with np.errstate(all="ignore"):
        out, saved = P.Xlogy.forward(a, b)
        want = P.Xlogy.backward(g, saved, (True, True))
        row = rules.RULES[P.Xlogy]
        np.testing.assert_array_equal(eval(row.forward, env, dict(a=a, b=b)), out)
        for vjp, ref in zip(row.vjps, want):
            np.testing.assert_array_equal(eval(vjp, env, dict(a=a, b=b, g=g, out=out)), ref)
        for base in (2, 10):
            out, saved = P.LogBase.forward(b, base=base)
            (ref,) = P.LogBase.backward(g, saved, (True,), base=base)
            row = rules.LOG_BASE[base]
            np.testing.assert_allclose(eval(row.forward, env, dict(a=b)), out, rtol=2e-7 if dtype == np.float32 else 0)
            np.testing.assert_allclose(eval(row.vjps[0], env, dict(a=b, g=g)), ref, rtol=1e-6 if dtype == np.float32
                                       else 1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("eps", [None, 0.1, 1e-6])
def test_logit_rows_equal_the_primitive_at_its_edges(eps, dtype):
    """rules.LOGIT (a row for eps=None, one for a float eps) against primitives.Logit with numpy: at 0, 1, eps and
    1 - eps exactly (the ends pass the gradient), outside [0, 1], NaN and inf, bit for bit."""
    lo, hi = (0.0, 1.0) if eps is None else (dtype(eps), dtype(1 - eps))
    a = np.array([0.0, 1.0, lo, hi, 0.5, 0.03, 0.97, 1e-7, 1 - 1e-7, -0.5, 1.5, np.nan, np.inf, -np.inf], dtype)
    g = np.linspace(-1, 1, a.size).astype(dtype)
    env = numpy_namespace(dtype)
    extra = {} if eps is None else dict(lo=dtype(eps), hi=dtype(1 - eps))
    with np.errstate(all="ignore"):
        out, saved = P.Logit.forward(a, eps=eps)
        (want,) = P.Logit.backward(g, saved, (True,), eps=eps)
        row = rules.LOGIT[eps is not None]
        np.testing.assert_array_equal(eval(row.forward, env, dict(a=a, **extra)), out)
        np.testing.assert_array_equal(eval(row.vjps[0], env, dict(a=a, g=g, out=out, **extra)), want)


class LogitCell(RecurrentCell):
    """logit as a cell uses it: of a probability (no eps), and with eps on values that leave [eps, 1 - eps]."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        return (z.sigmoid().logit() * 0.3 + tr.logit((z * 3).sigmoid(), eps=0.1) * 0.2 + h * 0.5).tanh()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_cell_using_logit_compiles_and_equals_the_tape(dtype):
    tr.manual_seed(0)
    layer = tr.nn.Recurrent(LogitCell, 3, 4, dtype=dtype)
    compile_cell(LogitCell(3, 4, dtype=dtype))   # (refused before: logit had no row)
    xd = (np.random.default_rng(5).standard_normal((6, 3, 3)) * 2).astype(dtype)
    results = []
    for fused in (False, True):
        layer.fused = fused
        layer.zero_grad()
        x = tr.Tensor(xd, requires_grad=True)
        out, h_n = layer(x)
        (out * np.linspace(-1, 1, out.data.size).reshape(out.shape).astype(dtype)).sum().backward()
        results.append([out.data, h_n.data, x.grad] + [p.grad for p in layer.parameters()])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, **TOL[dtype])
