"""The scalar rules: per primitive, its forward and its vector-Jacobian products as one-element expressions.

This is the one table the code generator reads. Each row is the scalar twin of a class in
primitives.py (whose numpy forward/backward stay the reference); tests/kernels/test_compile.py evaluates every
row both with numpy and inside a Numba function and holds it to primitives.py, which is what keeps the
two tables in sync. Add a row here and the compiler supports the operation, backward included.

Names inside an expression:
    a, b, c     the inputs (c is where's boolean condition)     out   the forward's result
    g           the cotangent of out                            p     pow's exponent, scale's factor
    lo, hi      clip's bounds (logit's eps and 1 - eps)
    col         a reduction's column index, in the kernel's dtype (max(dim).values: which column won first)
    one, zero   1 and 0 in the kernel's dtype (so float32 code never upcasts); half: 0.5; ninf: -infinity
    two_over_root_pi    2 / sqrt(pi) in the kernel's dtype (erf's derivative, as primitives.Erf rounds it)
    ln_two, ln_ten      log(2) and log(10) in the kernel's dtype (exp2's, log2's and log10's derivatives)
Functions: exp, log, tanh, sigmoid (kernels/vecmath.py: vectorizable in Numba), sqrt, relu, select(cond, x, y),
sin, cos, log1p, expm1, log2, log10, exp2, hypot, floor, ceil, rint (halves to even),
maximum(a, b) (NaN if either is NaN, as np.maximum), isnan; erf (libm's in float64, rounded to the dtype, as
kernels/erf.py), fmod (C's), trunc, floor_mod(a, b) (torch's %: the divisor's sign) and floor_divide(a, b, one,
half) (numpy's and torch's //, from the exact remainder) - compile/scalar.py has each for the kernels.
NaN propagates as on the tape: a comparison with NaN is false, so maximum and max say so explicitly.
"""
import functools
import re
from typing import NamedTuple

import numpy as np

from .. import primitives as P


class Rule(NamedTuple):
    forward: str       # expression for out
    vjps: tuple        # one expression per differentiable input, for its cotangent contribution
    inputs: tuple      # the names of the inputs, in the primitive's argument order


RULES = {
    P.Add:     Rule("a + b",          ("g", "g"),                                   ("a", "b")),
    P.Sub:     Rule("a - b",          ("g", "-g"),                                  ("a", "b")),
    P.Mul:     Rule("a * b",          ("g * b", "g * a"),                           ("a", "b")),
    P.Scale:   Rule("a * p",          ("g * p",),                                   ("a",)),   # p: the factor
    P.Div:     Rule("a / b",          ("g / b", "-(g / b) * out"),                  ("a", "b")),
    P.Neg:     Rule("-a",             ("-g",),                                      ("a",)),
    P.Pow:     Rule("power(a, p, one)", ("select(p == zero, zero, g * p * power(a, p - one, one))",), ("a",)),
    P.Exp:     Rule("exp(a)",         ("g * out",),                                 ("a",)),
    P.Log:     Rule("log(a)",         ("g / a",),                                   ("a",)),
    P.Tanh:    Rule("tanh(a)",        ("g * (one - out * out)",),                   ("a",)),
    P.Sigmoid: Rule("sigmoid(a)",     ("g * out * (one - out)",),                   ("a",)),
    # GELU's Gaussian CDF; the derivative in primitives.Erf's order: (2 / sqrt(pi) * exp(-a^2)) * g
    P.Erf:     Rule("erf(a)",         ("g * (two_over_root_pi * exp(-(a * a)))",),  ("a",)),
    P.Relu:    Rule("relu(a)",        ("select(out <= zero, zero, g)",),            ("a", )),   # NaN: g, as torch
    # sign(a) as primitives.Abs: 0 at a = 0 and at NaN (torch's sgn); zero - a, not -a, so that abs(-0.0) is 0.0
    # as primitives.Root: 0 ** p is 0 and its gradient 0 (torch's std and norm), not p * 0 ** (p - 1)
    P.Root:    Rule("select(a == zero, zero, power(a, p, one))",
                    ("select(a == zero, zero, g * p * power(a, p - one, one))",),   ("a",)),
    P.Abs:     Rule("select(a > zero, a, zero - a)",
                    ("g * select(a > zero, one, select(a < zero, -one, zero))",), ("a",)),
    # c: the per-element mask (a comparison's Node or a constant), an input without a VJP
    P.Where:   Rule("select(c, a, b)", ("select(c, g, zero)", "select(c, zero, g)"), ("a", "b")),
    # ties share the gradient, as primitives.Maximum; an input not smaller gets g (both at a NaN, as torch);
    # g times a mask as there, so a NaN g stays NaN
    P.Maximum: Rule("maximum(a, b)",  ("g * (select(a < b, zero, one) - select(a == b, half, zero))",
                                       "g * (select(a > b, zero, one) - select(a == b, half, zero))"), ("a", "b")),
    P.Clip:    Rule("select(a < lo, lo, select(a > hi, hi, a))",
                    ("select(a >= lo, select(a <= hi, g, zero), zero)",),           ("a",)),
    # fmod: the dividend's sign; % (Remainder): the divisor's. Their VJPs for b are torch's formulas, as the tape's
    P.Fmod:      Rule("fmod(a, b)",      ("g", "-g * trunc(a / b)"),                    ("a", "b")),
    P.Remainder: Rule("floor_mod(a, b)", ("g", "-g * floor_divide(a, b, one, half)"),   ("a", "b")),
    # a ** b with a tensor exponent, at the edges as primitives.Power (torch): d/da 0 where b = 0, d/db 0 where
    # a = 0 and b >= 0 (not 0 * log(0) = NaN)
    P.Power:   Rule("a ** b",         ("select(b == zero, zero, g * b * a ** (b - one))",
                                       "select((a == zero) & (b >= zero), zero, g * out * log(a))"), ("a", "b")),
    # x.detach(): the value, and no VJP, so its argument gets no cotangent from here (a stop-gradient)
    P.Detach:  Rule("a",              (),                                           ("a",)),
    P.Sin:     Rule("sin(a)",         ("g * cos(a)",),                              ("a",)),
    P.Cos:     Rule("cos(a)",         ("-g * sin(a)",),                             ("a",)),
    P.Log1p:   Rule("log1p(a)",       ("g / (a + one)",),                           ("a",)),
    P.Expm1:   Rule("expm1(a)",       ("g * (out + one)",),                         ("a",)),
    P.Exp2:    Rule("exp2(a)",        ("g * out * ln_two",),                        ("a",)),
    P.Hypot:   Rule("hypot(a, b)",    ("g * a / out", "g * b / out"),               ("a", "b")),
    # a log(b), 0 where a = 0, NaN where b is; for a, 0 where a = 0 and b <= 0, as primitives.Xlogy (torch)
    P.Xlogy:   Rule("select(isnan(b), b, select(a == zero, zero, a * log(b)))",
                    ("g * select((a == zero) & (b <= zero), zero, log(b))", "g * a / b"), ("a", "b")),
}

# P.LogBase, one row per attribute `base`: log2 and log10, torch's derivative 1 / (a ln(base))
LOG_BASE = {2: Rule("log2(a)", ("g / (a * ln_two)",), ("a",)), 10: Rule("log10(a)", ("g / (a * ln_ten)",), ("a",))}


# P.Logit, one row for eps=None and one for a float eps (lo = eps, hi = 1 - eps, constants of the kernel), as
# primitives.Logit: log(a) - log1p(-a) of a (clamped to [lo, hi] with eps). Its VJP is g / (a (1 - a)), 0 outside
# [lo, hi] with eps (its ends pass); without, NaN outside [0, 1], where out is NaN already (a log of a negative).
_LOGIT_CLAMPED = "select(a < lo, lo, select(a > hi, hi, a))"
LOGIT = {False: Rule("log(a) - log1p(-a)", ("select((a < zero) | (a > one), out, g / (a * (one - a)))",), ("a",)),
         True: Rule(f"log({_LOGIT_CLAMPED}) - log1p(-{_LOGIT_CLAMPED})",
                    ("select((a < lo) | (a > hi), zero, g / (a * (one - a)))",), ("a",))}


# P.Compare, one row per attribute `op`: a boolean value (a where's mask), no VJP (torch's comparisons have
# no gradient). Python's operators on two floats give numpy's answers, NaN included (only != is true).
COMPARISONS = {op: Rule(f"a {symbol} b", (), ("a", "b")) for op, symbol in
               (("eq", "=="), ("ne", "!="), ("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">="))}

# P.RoundedDivide, one row per attribute `mode` (div's rounding_mode): the quotient rounded toward zero or minus
# infinity. Its gradient is 0 for both inputs, as torch's and the tape's (zero, not g * 0: a NaN g gives 0 too).
ROUNDED_DIVISION = {"trunc": Rule("trunc(a / b)", ("zero", "zero"), ("a", "b")),
                    "floor": Rule("floor_divide(a, b, one, half)", ("zero", "zero"), ("a", "b"))}

# P.Rounding, one row per attribute `op` (decimals=0; round(decimals=d) is refused by the compiler): piecewise
# constant, so the VJP is zero (not g * 0: a NaN g gives 0 too), as the tape's. sign is 0 at NaN and at -0.0.
ROUNDING = {"round": Rule("rint(a)", ("zero",), ("a",)), "floor": Rule("floor(a)", ("zero",), ("a",)),
            "ceil": Rule("ceil(a)", ("zero",), ("a",)), "trunc": Rule("trunc(a)", ("zero",), ("a",)),
            "sign": Rule("select(a > zero, one, select(a < zero, -one, zero))", ("zero",), ("a",))}

# P.Logical on masks, one row per attribute `op`: & | ^ of two booleans and "not" of one (a ^ True: `not a`
# does not apply to numpy's arrays, ~ turns a Python bool into an int). No VJP.
LOGICAL = {op: Rule(expr, (), inputs) for op, expr, inputs in
           (("and", "a & b", ("a", "b")), ("or", "a | b", ("a", "b")), ("xor", "a ^ b", ("a", "b")),
            ("not", "a ^ True", ("a",)))}

# P.Cast of a boolean value (a comparison's mask, a constant mask): 1 or 0 in the kernel's dtype, as
# torch promotes bool (h * (x > 0), mask.to(x.dtype)). No VJP: a mask has no gradient.
MASK_AS_NUMBER = Rule("select(a, one, zero)", (), ("a",))


class Reduction(NamedTuple):
    """A reduction over the feature columns of one row: accumulators start at `start` and take each
    column's value a in turn by the `update` assignments (in order); the first accumulator is the
    result, `out`. `vjp` is a column's cotangent, from g (the row's) and its accumulators."""
    name: str
    accumulators: tuple
    start: tuple
    update: tuple          # (accumulator, expression) pairs
    vjp: str


REDUCTIONS = {
    P.Sum: Reduction("sum", ("acc",), ("zero",), (("acc", "acc + a"),), "g"),
    # ties share the gradient equally, as primitives.Max does: count is how many columns attained it.
    # A NaN makes the max NaN and count 0 from there on (nothing equals NaN), so every column's gradient
    # is 0 / 0 = NaN, as the tape's winners / sum(winners).
    P.Max: Reduction("max", ("acc", "count"), ("ninf", "zero"),
                     (("count", "select(isnan(a), zero, select(a > acc, one, select(a == acc, count + one, count)))"),
                      ("acc", "select((a > acc) | isnan(a), a, acc)")),
                     "(select(a == out, one, zero) / count) * g"),
    # max(dim).values: the gradient goes to the first column that attained the max only (np.argmax's,
    # torch's choice); a NaN is the max at its first column (the first NaN keeps both accumulators).
    P.FirstMax: Reduction("first_max", ("acc", "first"), ("ninf", "zero"),
                          (("first", "select(isnan(acc), first, select((a > acc) | isnan(a), col, first))"),
                           ("acc", "select(isnan(acc), acc, select((a > acc) | isnan(a), a, acc))")),
                          "select(col == first, g, zero)"),
}


@functools.lru_cache(maxsize=None)
def pow_rule(p):
    """RULES[P.Pow] written for one constant exponent p (the generator knows it): layer and RMS norms'
    (var + eps) ** -0.5 as one / sqrt, and no select on p == 0 in the VJP. The same numbers as the general
    row (scalar.power computes them so), but Numba need not type and lower power's three branches and the
    select at every use: a quarter of a second of a layer-norm LSTM's cold compile. p == 0 keeps the
    general row. One Rule per p (cached), so that equal exponents give equal rules."""
    general = RULES[P.Pow]
    if p == 0:
        return general
    if p == -0.5:   # a ** -1.5 as out / a: a division instead of a call of pow. A layer-norm LSTM's backward
        # loop has three per step: about 0.4 us of its 10-15 us at 20x1x10x20 (float32, 1 thread; the medians
        # of bench/kernel_source_ab.py's paired differences, -0.94, -0.42, -0.38 and, once, +0.27 us).
        # The same value up to rounding, at the edges too:
        # a = +-0 gives inf / 0 = inf as pow, a < 0 or NaN gives NaN, a = inf gives 0.
        return Rule(_power_of_a(p, "p"), ("g * p * (out / a)",), general.inputs)
    return Rule(_power_of_a(p, "p"), (f"g * p * {_power_of_a(p - 1, '(p - one)')}",), general.inputs)


def _power_of_a(value, exponent):
    """a ** value as scalar.power computes it (torch's sqrt forms for +-0.5); `exponent`: value as code."""
    if value == 0.5:
        return "sqrt(a)"
    if value == -0.5:
        return "one / sqrt(a)"
    return f"a ** {exponent}"


# Not a primitive: the copy the compiler inserts where a value must land in a buffer unchanged.
COPY = Rule("a", ("g",), ("a",))


# ----------------------------------------------------------------------------- the helper functions
def numpy_namespace(dtype):
    """The functions and constants an expression needs, evaluated on numpy arrays (for the tests)."""
    dt = np.dtype(dtype).type
    return dict(exp=np.exp, log=np.log, tanh=np.tanh, sigmoid=lambda a: P.Sigmoid.forward(a)[0],
                relu=lambda a: np.maximum(a, 0), select=np.where, sqrt=np.sqrt,
                power=lambda a, p, one: P._torch_pow(a, p), maximum=np.maximum, isnan=np.isnan,
                erf=lambda a: P.Erf.forward(np.asarray(a))[0], fmod=np.fmod, trunc=np.trunc,
                floor_mod=P._torch_floor_mod, floor_divide=lambda a, b, one, half: np.floor_divide(a, b),
                sin=np.sin, cos=np.cos, log1p=np.log1p, expm1=np.expm1, floor=np.floor, ceil=np.ceil, rint=np.rint,
                log2=np.log2, log10=np.log10, exp2=np.exp2, hypot=np.hypot, ln_two=dt(np.log(2)), ln_ten=dt(np.log(10)),
                one=dt(1), zero=dt(0), half=dt(0.5), ninf=dt(-np.inf), two_over_root_pi=dt(2 / np.sqrt(np.pi)))


_NAME = re.compile(r"\b(a|b|c|g|out|p|lo|hi|acc|count|first|col)\b")   # the names an expression of this table may use


def substitute(expr, names):
    """expr with each name of `names` replaced by its (parenthesised) text: a scalar line of code."""
    return _NAME.sub(lambda m: "(" + names[m.group(1)] + ")" if m.group(1) in names else m.group(1), expr)


def names_in(expr):
    """The names (above) an expression of this table uses: what a rule's forward or VJP reads."""
    return frozenset(_NAME.findall(expr))
