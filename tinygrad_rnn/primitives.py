"""The primitives: every differentiable operation, its forward and its backward side by side.

Each primitive is a small class with two static methods and no state:

    forward(*arrays, **attrs) -> (out, saved)
        numpy in, numpy out. `out` is one array, or a tuple of arrays for the few primitives
        with several outputs (the tape tells them apart by that type). `saved` is whatever backward needs, kept on
        the tape until backward has used it.
    backward(g, saved, needs, **attrs) -> tuple with one gradient (or None) per input
        `g` is the cotangent of the output (a list, one entry per output, for multi-output
        primitives; an entry is None where that output got no gradient). `needs[i]` says whether
        input i wants a gradient, so expensive ones (a matmul's) are skipped when nobody asks.

Two rules keep the backward rules short:
  * A gradient may come back in the *broadcast* shape of the output. The tape walk sums it back
    to the input's own shape (`unbroadcast` in tape.py) - broadcasting's adjoint lives there,
    once, not in every binary primitive here.
  * This file knows nothing about Tensors or the tape. It is the table of vector-Jacobian
    products; tape.py records calls to it and walks them backwards.

Everything else the library offers (mean, softmax's users, losses, cells) is composed from these
primitives and has no backward of its own.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .kernels import workspace
from .kernels.blas import matmul
from .kernels.ctc import ctc_backward, ctc_forward
from .kernels.erf import erf
from .kernels.scatter import scatter_add_rows
from .kernels.softmax import shift_by_row_max
from .kernels.special import gamma_sample_grad, gammainc, special


class Primitive:
    # True when every array backward returns is new and referenced nowhere else (a kernel's output
    # buffers), C-ordered and of its input's shape and dtype: the tape then keeps it as a leaf's first
    # .grad as it is, without a copy or a check (a fused layer's step does that once per parameter).
    # False by default, because most VJPs return g itself or views of it (Add's backward returns g twice).
    fresh_grads = False
    # True when backward takes `last`: True when the tape frees the saved values after this backward (no
    # retain_graph), so backward may write over them (a fused layer writes gradients over its saved rows).
    consumes_saved = False
    # Whether what backward reads holds tensors, so the tape frees the node after its backward and refuses a second
    # one (as torch frees only saved tensors): None: look (saved_needed's values, walked); True: always (a fused
    # layer's states and gates), False: never (a shape alone): the walk, a per-node cost of tiny steps, skipped.
    saves_tensors = None
    # Whether backward may read arrays through its attributes (an array, or an object the tape cannot look into),
    # which a leaf written in place between forward and backward then refuses (tape._backward_reads). False: the
    # attributes are settings alone, and saved_needed says all backward reads (a fused layer's call).
    attrs_saved = True
    # Whether the tape runs forward under np.errstate(all="ignore") (tape.apply): numpy warns of inf - inf, 0 * inf,
    # an overflow, which torch computes quietly (the walk runs every backward so: tape._QuietWalk). False for a
    # forward that computes nothing numpy warns about (a view, Numba kernels: the errstate costs ~0.3 us a call) or
    # runs the user's code (a custom Function's: the user's own numpy settings).
    quiet_forward = True
    # Whether backward runs the user's code (a custom Function's backward, a hook, a checkpointed function run again):
    # the walk then runs it with the user's own numpy settings, stepping out of its np.errstate (tape._QuietWalk).
    runs_user_code = False

    @staticmethod
    def forward(*arrays, **attrs):
        raise NotImplementedError

    @staticmethod
    def backward(g, saved, needs, **attrs):
        raise NotImplementedError

    @staticmethod
    def saved_needed(saved, needs):
        """The part of `saved` that backward reads for the inputs `needs` marks: the tape frees a node (and
        refuses a second backward through it) only if this holds a tensor, as torch saves only what the
        gradients asked for need (x * 2 with x requiring grad saves the 2 alone)."""
        return saved


def _swap_last(a):
    """The transpose of the last two axes (a view), for matmul's backward."""
    return np.swapaxes(a, -1, -2)


# ----------------------------------------------------------------------------- elementwise, binary
class Add(Primitive):
    @staticmethod
    def forward(a, b):
        return a + b, None

    @staticmethod
    def backward(g, saved, needs):
        return g, g


class Sub(Primitive):
    @staticmethod
    def forward(a, b):
        return a - b, None

    @staticmethod
    def backward(g, saved, needs):
        return g, (-g if needs[1] else None)


class Mul(Primitive):
    @staticmethod
    def forward(a, b):
        return a * b, (a, b)

    @staticmethod
    def backward(g, saved, needs):
        a, b = saved
        return (g * b if needs[0] else None), (g * a if needs[1] else None)

    @staticmethod
    def saved_needed(saved, needs):
        a, b = saved
        return (b if needs[0] else None), (a if needs[1] else None)


class Scale(Primitive):
    """a * p for a constant factor p, in a's dtype: mean's 1 / n, add's and sub's alpha. It saves no tensor, as torch's
    mean and add(alpha=) save none, so a second backward through it runs again; x * 2.0 is a Mul, which saves the
    2 as torch's mul saves it (a 0-d tensor), and refuses a second backward as torch's does."""
    saves_tensors = False

    @staticmethod
    def forward(a, p):
        return a * a.dtype.type(p), None

    @staticmethod
    def backward(g, saved, needs, p):
        return (g * g.dtype.type(p),)


class Dropout(Primitive):
    """x * mask: F.dropout in training. `mask` (x's shape and dtype) holds keep / (1 - p), drawn by the caller
    (F.dropout, from its generator); `p` and `from_library` (drawn from tr.random's generator, not a
    generator of the caller's own) are not read here: they say what the mask is, so that the compiler
    (compile/trace.py) can draw such masks itself, per step, where a traced step only sees one. The mask is
    an attribute, not an input: it is a constant of the step, as x * constant's was, and gets no gradient."""
    saves_tensors = False   # backward reads the attribute, which the node holds anyway

    @staticmethod
    def forward(x, mask, p, from_library):
        return x * mask, None

    @staticmethod
    def backward(g, saved, needs, mask, p, from_library):
        return (g * mask,)


class Div(Primitive):
    @staticmethod
    def forward(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):   # x / 0 and 0 / 0: inf and nan, silently as torch
            out = a / b
        return out, (b, out)

    @staticmethod
    def backward(g, saved, needs):
        b, out = saved
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = g / b
            # d(a/b)/db = -a/b^2 = -(a/b)/b, reusing the output instead of saving a
            return (ga if needs[0] else None), (-ga * out if needs[1] else None)

    @staticmethod
    def saved_needed(saved, needs):
        b, out = saved
        return b, (out if needs[1] else None)


def _refuse_int_division_by_zero(b):
    """torch raises for an integer // or % by zero (numpy would give 0 and a warning)."""
    if b.dtype.kind in "iu" and not np.all(b):
        raise RuntimeError("ZeroDivisionError: integer division or remainder by zero (as torch)")


def _torch_floor_mod(a, b):
    """a % b with the divisor's sign, as torch computes it (fmod, then b added where the signs differ): the sign
    of a zero result is a's (-0.0 % 2 is -0.0), where numpy's remainder gives b's."""
    with np.errstate(invalid="ignore"):   # x % 0.0: nan, silently as torch
        mod = np.fmod(a, b)
    return np.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)   # (mod + 0.0 would turn -0.0 into 0.0)


class FloorDivide(Primitive):
    """a // b, rounded toward minus infinity (torch's floor_divide; numpy's floor_divide computes it the same way,
    a float by 0 included). As torch, it has no derivative: a backward through it is refused."""
    saves_tensors = False

    @staticmethod
    def forward(a, b):
        _refuse_int_division_by_zero(b)
        with np.errstate(divide="ignore", invalid="ignore"):   # a float // 0.0: inf or nan, silently as torch
            return np.floor_divide(a, b), None

    @staticmethod
    def backward(g, saved, needs):
        raise RuntimeError("derivative for floor_divide (//) is not implemented (torch has none either): "
                           "detach() its operands, or compute it under no_grad()")


class Heaviside(Primitive):
    """0 where a < 0 (and at NaN), 1 where a > 0, `values` where a == 0, as torch's heaviside. As torch 2.13, it
    has no derivative: its result requires grad when an input does, and a backward through it is refused."""
    saves_tensors = False

    @staticmethod
    def forward(a, values):
        return np.where(a == 0, values, (a > 0).astype(a.dtype)).astype(a.dtype), None

    @staticmethod
    def backward(g, saved, needs):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


class NoDerivative(Primitive):
    """Results computed elsewhere in numpy (`values`, an attribute: an array or a tuple of them) of a torch function
    that has no derivative, yet whose results require grad when an input does (torch's grad_fn NotImplemented):
    torch.histogram's. A backward through them is refused in torch's words, naming the function (`name`)."""
    saves_tensors = False

    @staticmethod
    def forward(*arrays, values, name):
        return values, None

    @staticmethod
    def backward(g, saved, needs, values, name):
        raise RuntimeError(f"derivative for aten::{name} is not implemented")


class Remainder(Primitive):
    """a % b with the divisor's sign, as torch's remainder: d/da = 1, d/db = -(a // b) (torch's formula)."""

    @staticmethod
    def forward(a, b):
        _refuse_int_division_by_zero(b)
        if a.dtype.kind in "iu":
            return np.remainder(a, b), None
        return _torch_floor_mod(a, b), (a, b)

    @staticmethod
    def backward(g, saved, needs):
        a, b = saved
        return (g if needs[0] else None), (-g * np.floor_divide(a, b) if needs[1] else None)


def _trunc_divide(a, b):
    """a / b rounded toward zero, as torch's div(rounding_mode='trunc'): trunc(a / b) for floats (torch's formula),
    C's integer division for ints (the floor quotient, one up where a remainder is left and the signs differ)."""
    if a.dtype.kind not in "iu":
        return np.trunc(a / b)
    q = np.floor_divide(a, b)
    return q + ((q * b != a) & ((a < 0) != (b < 0)))


class RoundedDivide(Primitive):
    """div(a, b, rounding_mode=`mode`): a / b rounded toward zero ("trunc") or minus infinity ("floor", computed as
    FloorDivide's). As torch's, its gradient is 0 for both inputs (the quotient is piecewise constant), where a
    backward through // (FloorDivide) is refused: torch draws the same line between div and floor_divide."""
    saves_tensors = False

    @staticmethod
    def forward(a, b, mode):
        _refuse_int_division_by_zero(b)
        with np.errstate(divide="ignore", invalid="ignore"):   # a float by 0: inf or nan, silently as torch
            return (_trunc_divide(a, b) if mode == "trunc" else np.floor_divide(a, b)), None

    @staticmethod
    def backward(g, saved, needs, mode):
        return tuple(np.zeros_like(g) if need else None for need in needs)


class Fmod(Primitive):
    """torch.fmod: the remainder of a / b with the dividend's sign (C's fmod; % is Remainder, the divisor's sign).
    d/da = 1, d/db = -trunc(a / b) (torch's formula)."""

    @staticmethod
    def forward(a, b):
        _refuse_int_division_by_zero(b)
        with np.errstate(invalid="ignore"):   # a float by 0: nan, silently as torch
            out = np.fmod(a, b)
        return out, (None if a.dtype.kind in "iu" else (a, b))

    @staticmethod
    def backward(g, saved, needs):
        a, b = saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g if needs[0] else None), (-g * _trunc_divide(a, b) if needs[1] else None)


class Power(Primitive):
    """a ** b with a tensor exponent (or a tensor base below a constant one). At the edges as torch: 0 ** 0 = 1,
    a negative base to an integer power is real, d/da is 0 where b = 0, and d/db is 0 where a = 0 and b >= 0
    (the limit of out * log(a), which numpy would give as 0 * -inf = nan)."""

    @staticmethod
    def forward(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):   # 0 ** -1, (-8) ** (1/3): inf, nan silently as torch
            out = a ** b
        return out, (a, b, out)

    @staticmethod
    def backward(g, saved, needs):
        a, b, out = saved
        zero = np.zeros((), dtype=g.dtype)
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 and log of a negative base: inf, nan as torch
            if needs[0]:
                ga = np.where(b == 0, zero, g * b * a ** (b - 1))
            if needs[1]:
                gb = np.where((a == 0) & (b >= 0), zero, g * out * np.log(a))
        return ga, gb


class Maximum(Primitive):
    """Elementwise max(a, b); at a tie each input gets half the gradient, as torch (minimum is -max(-a, -b)).
    As torch, an input gets g unless it is the smaller one, so at a NaN (neither smaller) both get all of it."""

    @staticmethod
    def forward(a, b):
        return np.maximum(a, b), (a, b)

    @staticmethod
    def backward(g, saved, needs):
        a, b = saved
        not_half = 1 - (a == b) * g.dtype.type(0.5)
        return (g * (not_half - (a < b)) if needs[0] else None), (g * (not_half - (a > b)) if needs[1] else None)


class Hypot(Primitive):
    """sqrt(a^2 + b^2) without overflow or underflow on the way (numpy's hypot, as torch's); the gradient is
    torch's g * a / out (NaN at a = b = 0, as torch's)."""

    @staticmethod
    def forward(a, b):
        out = np.hypot(a, b)
        return out, (a, b, out)

    @staticmethod
    def backward(g, saved, needs):
        a, b, out = saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * a / out if needs[0] else None), (g * b / out if needs[1] else None)


class Xlogy(Primitive):
    """a * log(b), 0 where a = 0 (b = 0 or inf too), NaN where b is NaN: torch's xlogy. Its gradients are
    torch's: g * log(b) for a, except 0 where a = 0 and b <= 0 (where log(b) is -inf or NaN); g * a / b for b."""

    @staticmethod
    def forward(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(a == 0, np.zeros((), a.dtype), a * np.log(b))
        return np.where(np.isnan(b), b, out), (a, b)

    @staticmethod
    def backward(g, saved, needs):
        a, b = saved
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if needs[0]:
                ga = g * np.where((a == 0) & (b <= 0), np.zeros((), g.dtype), np.log(b))
            if needs[1]:
                gb = g * a / b
        return ga, gb


class Where(Primitive):
    """where(cond, a, b): the masking primitive (padded time steps, relu-like selections, leaky or clipped
    state updates). cond is an input, a boolean array (a comparison's result or a constant mask): the
    compiler then sees where it comes from. It gets no gradient; a gets g where cond is true, b where false."""

    @staticmethod
    def forward(a, b, cond):
        return np.where(cond, a, b), cond

    @staticmethod
    def backward(g, saved, needs):
        zero = np.zeros((), dtype=g.dtype)
        return (np.where(saved, g, zero) if needs[0] else None), (np.where(saved, zero, g) if needs[1] else None), None


class Compare(Primitive):
    """a == != < <= > >= b (`op`: "eq", "ne", "lt", "le", "gt", "ge"): a boolean mask with no gradient, as
    torch's comparisons. A primitive (recorded off the tape, tensor.py) so that a traced cell's mask is an
    operation of the data, which the compiler computes per element, not a constant it bakes in."""
    OPS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
           "ge": np.greater_equal}

    @staticmethod
    def forward(a, b, op):
        return np.asarray(Compare.OPS[op](a, b)), None

    @staticmethod
    def backward(g, saved, needs, op):
        return None, None


class Logical(Primitive):
    """a & | ^ b (`op`: "and", "or", "xor") on masks (logical) or indices (bitwise), and ~a (`op`: "not",
    one input): no gradient. A primitive, as Compare, so that a traced cell's (x > 0) & (h < 1) is an
    operation of the data."""
    OPS = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}

    @staticmethod
    def forward(*arrays, op):
        return np.asarray(np.invert(arrays[0]) if op == "not" else Logical.OPS[op](*arrays)), None

    @staticmethod
    def backward(g, saved, needs, op):
        return (None,) * len(needs)


# ----------------------------------------------------------------------------- elementwise, unary
class Neg(Primitive):
    @staticmethod
    def forward(a):
        return -a, None

    @staticmethod
    def backward(g, saved, needs):
        return (-g,)


def _torch_pow(a, p):
    """a ** p as torch computes it for a constant p: as sqrt(a) for p = 0.5 and 1 / sqrt(a) for p = -0.5.
    They differ from pow() only in the sign at -0.0: sqrt(-0.0) = -0.0, 1 / sqrt(-0.0) = -inf (pow gives
    +inf), so sqrt's gradient 0.5 * (-0.0) ** -0.5 at -0.0 is -inf, as torch's."""
    if p == 0.5:
        return np.sqrt(a)
    if p == -0.5:
        return 1 / np.sqrt(a)
    return a ** p


class Pow(Primitive):
    """a ** p for a constant exponent p (a tensor exponent is Power); x.sqrt() is x ** 0.5. x ** 0 is the
    constant 1, so its gradient is 0 everywhere, at x = 0 too (where p * x ** (p - 1) would be 0 * inf),
    as in torch."""

    @staticmethod
    def forward(a, p):
        with np.errstate(divide="ignore", invalid="ignore"):   # sqrt(-1), 0 ** -1: nan, inf silently as torch
            return _torch_pow(a, p), a

    @staticmethod
    def backward(g, a, needs, p):
        if p == 0:
            return (np.zeros(np.broadcast_shapes(g.shape, a.shape), dtype=g.dtype),)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * p * _torch_pow(a, p - 1),)


class Root(Primitive):
    """a ** p for a constant p > 0 (a >= 0: a variance, a sum of |x| ** q) with a gradient of 0 where a is 0,
    not p * 0 ** (p - 1) = inf: torch's std and norm backward. Its own primitive, not a where() on the mask
    a != 0, so that the mask is not a constant of the data when a cell is traced (compile/rules.py)."""

    @staticmethod
    def forward(a, p):
        with np.errstate(divide="ignore"):
            return np.where(a == 0, np.zeros((), a.dtype), _torch_pow(a, p)), a

    @staticmethod
    def backward(g, a, needs, p):
        with np.errstate(divide="ignore", invalid="ignore"):   # 0 ** (p - 1): inf, masked out
            return (np.where(a == 0, np.zeros((), g.dtype), g * p * _torch_pow(a, p - 1)),)


class Abs(Primitive):
    """|a|, with torch's gradient sign(a): 0 at a = 0 (the subgradient torch picks) and 0 at NaN (torch's sgn;
    numpy's sign(nan) is NaN, which made where(isnan(x), 0, x.abs()) leak NaN into x's gradient), and
    abs(-0.0) = 0.0."""

    @staticmethod
    def forward(a):
        return np.abs(a), a

    @staticmethod
    def backward(g, a, needs):
        return (g * ((a > 0).astype(g.dtype) - (a < 0)),)


class Exp(Primitive):
    @staticmethod
    def forward(a):
        with np.errstate(over="ignore"):   # overflow to inf, silently as torch
            out = np.exp(a)
        return out, out  # exp is its own derivative: save the output, not the input

    @staticmethod
    def backward(g, out, needs):
        return (g * out,)


class Log(Primitive):
    @staticmethod
    def forward(a):
        with np.errstate(divide="ignore", invalid="ignore"):   # log(0) = -inf, log(-1) = nan: silently as torch
            return np.log(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / a,)


class Tanh(Primitive):
    @staticmethod
    def forward(a):
        out = np.tanh(a)
        return out, out

    @staticmethod
    def backward(g, out, needs):
        return (g * (1 - out * out),)


class Sigmoid(Primitive):
    @staticmethod
    def forward(a):
        # 1 / (1 + e) for a >= 0 and e / (1 + e) for a < 0, with e = exp(-|a|) in (0, 1]: never an overflow (at
        # a = -1e4, exp(-a) would be one), and accurate to the last bits on both sides, as torch's: the
        # (1 + tanh(a/2)) / 2 this replaced rounded every value below about 1e-8 (float32) to 0 (sigmoid(-30):
        # 0 against torch's 9.4e-14; silu, mish and glu inherited it). Python scalars keep a's dtype.
        e = np.exp(-np.abs(a))
        out = np.empty_like(a)   # (an array also for a 0-d a, where numpy's arithmetic gives scalars)
        np.divide(1, 1 + e, out=out)
        np.multiply(out, e, out=out, where=a < 0)
        return out, out

    @staticmethod
    def backward(g, out, needs):
        return (g * out * (1 - out),)


class Erf(Primitive):
    """The error function, 2/sqrt(pi) times the integral of exp(-t^2) from 0 to a (GELU's Gaussian CDF is built on
    it). numpy has none (scipy is not a dependency): kernels/erf.py applies libm's erf per element, in float64.
    Its derivative, 2/sqrt(pi) exp(-a^2), is written in torch's order (the constant in a's dtype)."""

    @staticmethod
    def forward(a):
        return erf(a), a

    @staticmethod
    def backward(g, a, needs):
        return (a.dtype.type(2 / np.sqrt(np.pi)) * np.exp(-(a * a)) * g,)


class Lgamma(Primitive):
    """log |Gamma(a)| (inf at the poles 0, -1, -2, ...), libm's per element (kernels/special.py); derivative
    digamma(a)."""

    @staticmethod
    def forward(a):
        return special("lgamma", a), a

    @staticmethod
    def backward(g, a, needs):
        return (g * special("polygamma", a, 0),)


class Polygamma(Primitive):
    """The n-th derivative of digamma (n = 0: digamma itself), torch's series (kernels/special.py); derivative
    polygamma(n + 1, a)."""

    @staticmethod
    def forward(a, n):
        return special("polygamma", a, n), a

    @staticmethod
    def backward(g, a, needs, n):
        return (g * special("polygamma", a, n + 1),)


class Erfc(Primitive):
    """1 - erf(a) without the cancellation for large a (libm's erfc); derivative -2/sqrt(pi) exp(-a^2)."""

    @staticmethod
    def forward(a):
        return special("erfc", a), a

    @staticmethod
    def backward(g, a, needs):
        return (a.dtype.type(-2 / np.sqrt(np.pi)) * np.exp(-(a * a)) * g,)


class Erfinv(Primitive):
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside); derivative sqrt(pi)/2 exp(out^2)."""

    @staticmethod
    def forward(a):
        out = special("erfinv", a)
        return out, out

    @staticmethod
    def backward(g, out, needs):
        with np.errstate(over="ignore"):
            return (out.dtype.type(np.sqrt(np.pi) / 2) * np.exp(out * out) * g,)


class LogNdtr(Primitive):
    """log of the standard normal CDF, accurate in both tails (kernels/special.py); derivative pdf / cdf,
    computed as exp(-a^2/2 - out) / sqrt(2 pi) so that it stays finite far in the left tail (about -a there)."""

    @staticmethod
    def forward(a):
        out = special("log_ndtr", a)
        return out, (a, out)

    @staticmethod
    def backward(g, saved, needs):
        a, out = saved
        with np.errstate(over="ignore", invalid="ignore"):
            return (np.exp(-0.5 * a * a - out) * a.dtype.type(1 / np.sqrt(2 * np.pi)) * g,)


class BesselI(Primitive):
    """The modified Bessel functions of the first kind I0 and I1 (n = 0, 1), or with scaled=True the same times
    exp(-|a|) (torch's i0e, i1e), by kernels/special.py's series. Derivatives: I0' = I1, I1' = I0 - I1 / a (1/2 at
    a = 0); the scaled ones less sign(a) times themselves."""

    @staticmethod
    def forward(a, n, scaled=False):
        out = special("bessel_ie" if scaled else "bessel_i", a, n)
        return out, (a, out)

    @staticmethod
    def backward(g, saved, needs, n, scaled=False):
        a, out = saved
        name = "bessel_ie" if scaled else "bessel_i"
        if n == 0:
            slope = special(name, a, 1)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                slope = np.where(a == 0, a.dtype.type(0.5), special(name, a, 0) - out / a)
        if scaled:
            slope = slope - np.sign(a) * out
        return (g * slope,)


class Gammainc(Primitive):
    """The regularised incomplete gamma P(a, x) (upper=True: Q = 1 - P), kernels/special.py's. As torch's, only x
    has a derivative, +-x^(a-1) e^-x / Gamma(a); a's is torch's NotImplementedError."""

    @staticmethod
    def forward(a, x, upper):
        a, x = np.broadcast_arrays(a, x)
        return gammainc(a, x, upper), (a, x)

    @staticmethod
    def backward(g, saved, needs, upper):
        a, x = saved
        if needs[0]:
            raise NotImplementedError(f"the derivative for '{'igammac' if upper else 'igamma'}: input' is not "
                                      "implemented.")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            density = np.exp((a - 1) * np.log(x) - x - special("lgamma", a))
        return None, g * (-density if upper else density)


class Ndtri(Primitive):
    """The standard normal quantile function (kernels/special.py); derivative 1 / pdf(out) = sqrt(2 pi) exp(out^2/2)."""

    @staticmethod
    def forward(a):
        out = special("ndtri", a)
        return out, out

    @staticmethod
    def backward(g, out, needs):
        with np.errstate(over="ignore"):
            return (out.dtype.type(np.sqrt(2 * np.pi)) * np.exp(out * out * 0.5) * g,)


class GammaSampleGrad(Primitive):
    """A Gamma(alpha, 1) draw x (drawn by the caller: a primitive draws nothing) passed through as it is, with the
    gradient torch's _standard_gamma has: dx/dalpha at a fixed CDF value (the implicit reparameterisation), so that
    Gamma, Beta and Dirichlet rsample differentiate in their concentrations. x gets no gradient."""

    @staticmethod
    def forward(alpha, x):
        return x.copy(), (alpha, x)

    @staticmethod
    def backward(g, saved, needs):
        alpha, x = saved
        return g * gamma_sample_grad(alpha, x), None


class Cholesky(Primitive):
    """The lower Cholesky factor L of a symmetric positive-definite a (a = L L^T), numpy's (LAPACK's potrf), batched
    over leading dims. Gradient as torch's: `L^-T Phi(L^T gL) L^-1` symmetrised, Phi the lower triangle with its
    diagonal halved."""

    @staticmethod
    def forward(a):
        out = np.linalg.cholesky(a)
        return out, out

    @staticmethod
    def backward(g, L, needs):
        phi = np.tril(_swap_last(L) @ np.tril(g))
        phi -= 0.5 * np.diagonal(phi, axis1=-2, axis2=-1)[..., None] * np.eye(L.shape[-1], dtype=L.dtype)
        inv = np.linalg.inv(L)   # triangular: its inverse is, and the two products below keep it short
        grad = _swap_last(inv) @ phi @ inv
        return (0.5 * (grad + _swap_last(grad)),)


class SolveTriangular(Primitive):
    """x with `L x = b` for lower-triangular L (torch.linalg.solve_triangular(L, b, upper=False)), batched and
    broadcast over leading dims; only L's lower triangle is read, so only it gets a gradient:
    `gb = L^-T g`, `gL = -tril(gb x^T)`."""

    @staticmethod
    def forward(L, b):
        lower = np.tril(L)
        x = np.linalg.solve(lower, b)
        return x, (lower, x)

    @staticmethod
    def backward(g, saved, needs):
        lower, x = saved
        gb = np.linalg.solve(_swap_last(lower), g)
        gL = -np.tril(gb @ _swap_last(x)) if needs[0] else None
        return gL, (gb if needs[1] else None)


class Entr(Primitive):
    """-a log(a), 0 at 0, -inf below 0 (torch.special.entr); its derivative -(log(a) + 1) everywhere, as torch's
    (inf at 0, NaN below)."""

    @staticmethod
    def forward(a):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(a > 0, -a * np.log(np.where(a > 0, a, 1)), np.where(a == 0, 0, -np.inf)).astype(a.dtype)
        return np.where(np.isnan(a), a, out), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (-(np.log(a) + 1) * g,)


class Sin(Primitive):
    @staticmethod
    def forward(a):
        with np.errstate(invalid="ignore"):   # sin(inf): NaN, silently as torch
            return np.sin(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(invalid="ignore"):
            return (g * np.cos(a),)


class Cos(Primitive):
    @staticmethod
    def forward(a):
        with np.errstate(invalid="ignore"):   # cos(inf): NaN, silently as torch
            return np.cos(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(invalid="ignore"):
            return (-g * np.sin(a),)


class Tan(Primitive):
    @staticmethod
    def forward(a):
        with np.errstate(invalid="ignore"):   # tan(inf): NaN, silently as torch
            out = np.tan(a)
        return out, out

    @staticmethod
    def backward(g, out, needs):
        return (g * (1 + out * out),)   # torch's: 1 + tan^2


class Sinh(Primitive):
    @staticmethod
    def forward(a):
        with np.errstate(over="ignore"):   # overflow to inf, silently as torch
            return np.sinh(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(over="ignore"):
            return (g * np.cosh(a),)


class Cosh(Primitive):
    @staticmethod
    def forward(a):
        with np.errstate(over="ignore"):
            return np.cosh(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(over="ignore"):
            return (g * np.sinh(a),)


class Asin(Primitive):
    """arcsin; outside [-1, 1] NaN (silently, as torch); the gradient 1 / sqrt(1 - a^2) is inf at +-1."""

    @staticmethod
    def forward(a):
        with np.errstate(invalid="ignore"):
            return np.arcsin(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / np.sqrt(1 - a * a),)


class Acos(Primitive):
    """arccos; its gradient is -1 / sqrt(1 - a^2), asin's negated."""

    @staticmethod
    def forward(a):
        with np.errstate(invalid="ignore"):
            return np.arccos(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (-g / np.sqrt(1 - a * a),)


class Atan(Primitive):
    @staticmethod
    def forward(a):
        return np.arctan(a), a

    @staticmethod
    def backward(g, a, needs):
        return (g / (1 + a * a),)


class Asinh(Primitive):
    """arcsinh; gradient 1 / sqrt(a^2 + 1)."""

    @staticmethod
    def forward(a):
        return np.arcsinh(a), a

    @staticmethod
    def backward(g, a, needs):
        return (g / np.sqrt(a * a + 1),)


class Acosh(Primitive):
    """arccosh; below 1 NaN (silently, as torch); the gradient 1 / sqrt(a^2 - 1) is inf at 1."""

    @staticmethod
    def forward(a):
        with np.errstate(invalid="ignore"):
            return np.arccosh(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / np.sqrt(a * a - 1),)


class Atanh(Primitive):
    """arctanh; +-inf at +-1 and NaN outside [-1, 1] (silently, as torch); gradient 1 / (1 - a^2)."""

    @staticmethod
    def forward(a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.arctanh(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / (1 - a * a),)


class Atan2(Primitive):
    """The angle of the point (b, a) (numpy's arctan2, as torch's atan2(a, b)); the gradients are
    `g * b / (a^2 + b^2)` and `-g * a / (a^2 + b^2)` (NaN at the origin, as torch's)."""

    @staticmethod
    def forward(a, b):
        return np.arctan2(a, b), (a, b)

    @staticmethod
    def backward(g, saved, needs):
        a, b = saved
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = g / (a * a + b * b)
            return (scale * b if needs[0] else None), (-scale * a if needs[1] else None)


class Log1p(Primitive):
    """log(1 + a), accurate for a near 0 (numpy's log1p, as torch's), where log(1 + a) loses a's digits."""

    @staticmethod
    def forward(a):
        with np.errstate(divide="ignore", invalid="ignore"):   # -1: -inf, below: NaN, silently as torch
            return np.log1p(a), a

    @staticmethod
    def backward(g, a, needs):
        with np.errstate(divide="ignore"):
            return (g / (a + 1),)


class Expm1(Primitive):
    """exp(a) - 1, accurate for a near 0 (numpy's expm1, as torch's); its derivative exp(a) is out + 1."""

    @staticmethod
    def forward(a):
        with np.errstate(over="ignore"):   # overflow to inf, silently as torch
            out = np.expm1(a)
        return out, out

    @staticmethod
    def backward(g, out, needs):
        return (g * (out + 1),)


class LogBase(Primitive):
    """log2 (`base` 2) or log10 (`base` 10), exact at powers of the base as torch's (log(a) / log(2) is not: log2(8)
    would be 3.0000000000000004); d/da = 1 / (a ln(base)), torch's formula."""

    @staticmethod
    def forward(a, base):
        with np.errstate(divide="ignore", invalid="ignore"):   # 0: -inf, below: NaN, silently as torch
            if base == 2:
                return np.log2(a), a
            # numpy's float32 log10 is not exact at powers of 10 (log10(100) = 2.0000002): float64's, rounded once
            return np.log10(a, dtype=np.float64).astype(a.dtype, copy=False), a

    @staticmethod
    def backward(g, a, needs, base):
        with np.errstate(divide="ignore"):
            return (g / (a * a.dtype.type(np.log(base))),)


class Exp2(Primitive):
    """2 ** a (numpy's exp2, exact at integers); d/da = out ln 2, torch's formula."""

    @staticmethod
    def forward(a):
        out = np.exp2(a)
        return out, out

    @staticmethod
    def backward(g, out, needs):
        return (g * out * out.dtype.type(np.log(2)),)


def _round_half_even(a, decimals):
    """torch.round(a, decimals=): halves to even (numpy's rint); with decimals, as torch's kernel does it, in a's
    dtype: rint(a * 10^d) / 10^d, or rint(a / 10^-d) * 10^-d for d < 0."""
    if decimals == 0:
        return np.rint(a)
    ten_pow = a.dtype.type(10.0 ** abs(decimals))
    return np.rint(a * ten_pow) / ten_pow if decimals > 0 else np.rint(a / ten_pow) * ten_pow


class Rounding(Primitive):
    """round (halves to even, `decimals` as torch's), floor, ceil, trunc and sign (`op`): piecewise constant,
    so, as torch, the gradient is 0 everywhere (zeros, not g * 0: a NaN or inf g gives 0 too). sign is
    (a > 0) - (a < 0), torch's: 0 at NaN and at -0.0 (numpy's sign gives NaN and -0.0)."""
    saves_tensors = False

    @staticmethod
    def forward(a, op, decimals=0):
        if op == "round":
            return _round_half_even(a, decimals), None
        if op == "sign":
            return ((a > 0).astype(a.dtype) - (a < 0)).astype(a.dtype), None
        return {"floor": np.floor, "ceil": np.ceil, "trunc": np.trunc}[op](a), None

    @staticmethod
    def backward(g, saved, needs, op, decimals=0):
        return (np.zeros_like(g),)


class Logit(Primitive):
    """log(a / (1 - a)), computed as log(a) - log1p(-a) (no rounding of 1 - a near 0); with `eps`, a clamped to
    [eps, 1 - eps] first. The gradient is torch's: g / (a (1 - a)), 0 outside [eps, 1 - eps] with eps (its
    ends included), NaN outside [0, 1] without."""

    @staticmethod
    def forward(a, eps):
        x = a if eps is None else np.clip(a, a.dtype.type(eps), a.dtype.type(1 - eps))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x) - np.log1p(-x), a

    @staticmethod
    def backward(g, a, needs, eps):
        outside = (a < 0) | (a > 1) if eps is None else (a < a.dtype.type(eps)) | (a > a.dtype.type(1 - eps))
        replace = np.zeros((), g.dtype) if eps is not None else np.array(np.nan, g.dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (np.where(outside, replace, g / (a * (1 - a))),)


class Relu(Primitive):
    @staticmethod
    def forward(a):
        out = np.maximum(0, a)   # in this order numpy keeps a at a tie: relu(-0.0) is -0.0, as torch's
        return out, out

    @staticmethod
    def backward(g, out, needs):
        # torch's threshold_backward: 0 where out <= 0, g elsewhere, a NaN out included (g, not g * False = 0),
        # and a NaN g at out <= 0 gives 0 (not NaN * 0): a select, not a product
        return (np.where(out <= 0, np.zeros((), g.dtype), g),)


class Clip(Primitive):
    """clip(a, lo, hi); the gradient passes where a lies inside [lo, hi] (ties included), 0 elsewhere."""

    @staticmethod
    def forward(a, lo, hi):
        # where, not np.clip: a value inside keeps its own bits (clip(-0.0, -1, 0) is -0.0, as torch; np.clip
        # gives 0.0), and nan stays nan
        out = a if lo is None else np.where(a < lo, a.dtype.type(lo), a)
        return (out if hi is None else np.where(out > hi, a.dtype.type(hi), out)), a

    @staticmethod
    def backward(g, a, needs, lo, hi):
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        return (np.where(inside, g, g.dtype.type(0)),)   # (selected, not g * mask: a NaN g outside is 0, as torch
        # and as the compiled rule's select)


class Copy(Primitive):
    """A copy of a (Tensor.clone): the values in a new array, the gradient passed through."""
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)

    @staticmethod
    def forward(a):
        return a.copy(), None

    @staticmethod
    def backward(g, saved, needs):
        return (g,)


class Cast(Primitive):
    """Change the float dtype on purpose (the only way float32 and float64 meet), or read a mask (bool) or
    indices (int) as numbers: those need no gradient (tensor.py applies it off the tape), and a traced
    cell sees the conversion as an operation of its data (x > 0 as 0/1 in the cell's dtype)."""

    @staticmethod
    def forward(a, dtype):
        return a.astype(dtype), a.dtype

    @staticmethod
    def backward(g, in_dtype, needs, dtype):
        return (g.astype(in_dtype),)


class Detach(Primitive):
    """x.detach(): the same array (no copy, as torch's detach shares the storage), through which no gradient
    flows. tensor.py applies it off the tape, so the result has no history; it is still an operation, so
    that a traced cell sees a stop-gradient of its data (compile/rules.py: the value, no VJP), not a
    constant taken from the data."""
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)

    @staticmethod
    def forward(a):
        return a, None

    @staticmethod
    def backward(g, saved, needs):
        return (None,)


class Seed(Primitive):
    """Several outputs joined into one scalar root whose backward hands each output its cotangent, so that one
    walk (tape.backward_from, which starts at one root) seeds them all: tr.autograd.grad of several outputs,
    and a checkpoint's recomputed outputs (recompute.py)."""
    quiet_forward = False   # (a zero: nothing numpy warns about)

    @staticmethod
    def forward(*arrays, cotangents):
        return np.zeros((), dtype=arrays[0].dtype), None

    @staticmethod
    def backward(g, saved, needs, cotangents):
        return cotangents


class HookedIdentity(Primitive):
    """The arrays as they are (several inputs, as many outputs), whose backward hands the cotangents that reached
    the outputs (None where none did) to the callable `hook` and passes on the gradients it returns, one per
    input (None for none). nn.Module's full backward hooks (nn/hooks.py) put one before a module's tensor inputs
    and one after its tensor outputs, as torch's BackwardHookFunction: the walk reaches it once every gradient of
    its outputs is summed, so the hook sees them whole."""
    quiet_forward = False   # (the arrays as they are)
    runs_user_code = True   # (the module's backward hooks)
    saves_tensors = False

    @staticmethod
    def forward(*arrays, hook):
        return arrays, None

    @staticmethod
    def backward(g, saved, needs, hook):
        return hook(g)


# ----------------------------------------------------------------------------- linear algebra
class Matmul(Primitive):
    """a @ b for a, b with ndim >= 2 (batched dims broadcast; tensor.py promotes 1-D operands).
    matmul is numpy's @, with big 2-D products split over the library's threads (kernels/blas.py)."""
    saves_tensors = True   # (each gradient reads the other operand)

    @staticmethod
    def forward(a, b):
        return matmul(a, b), (a, b)

    @staticmethod
    def saved_needed(saved, needs):
        a, b = saved
        return (b if needs[0] else None), (a if needs[1] else None)

    @staticmethod
    def backward(g, saved, needs):
        a, b = saved
        return (matmul(g, _swap_last(b)) if needs[0] else None), (matmul(_swap_last(a), g) if needs[1] else None)


# ----------------------------------------------------------------------------- reductions
def _expand_reduced(g, shape, axis, keepdims):
    """Put back the axes a reduction removed, so g broadcasts against the input."""
    if axis is None or keepdims:
        return g if axis is not None else g.reshape((1,) * len(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return np.expand_dims(g, tuple(ax % len(shape) for ax in axes))


def _repeated(g, shape):
    """g broadcast to `shape` as a view, no copy (a loss.sum() over a long sequence gives every element
    the same gradient). One value to repeat, the common case of a summed loss, is a view with all
    strides 0 made directly from g's single element (no reshape first: np.broadcast_to's argument
    handling costs more than the rest of a small step's Sum). Such a view is writable, but nothing
    writes into it: the tape adds only into buffers it allocated and gives users copies (tape.py),
    and no backward here writes into its g."""
    if g.size == 1 and type(g) is np.ndarray:  # a one-element array is contiguous whatever its strides
        return np.ndarray(shape, g.dtype, g, 0, (0,) * len(shape))
    return np.broadcast_to(g, shape)


class Sum(Primitive):
    saves_tensors = False   # (the input's shape)

    @staticmethod
    def forward(a, axis, keepdims):
        return np.add.reduce(a, axis=axis, keepdims=keepdims), a.shape

    @staticmethod
    def backward(g, shape, needs, axis, keepdims):
        return (_repeated(g if g.size == 1 else _expand_reduced(g, shape, axis, keepdims), shape),)


class Max(Primitive):
    """max over axes; ties share the gradient equally (so it is the derivative of a symmetric max). A NaN makes
    the max NaN: amax's gradient is then NaN over those elements (nothing equals NaN: 0 / 0, as torch.amax's);
    with nan_shares (x.max() and x.min() of all elements) the NaNs share it instead, as torch's
    evenly_distribute_backward does."""

    @staticmethod
    def forward(a, axis, keepdims, nan_shares=False):
        out = np.max(a, axis=axis, keepdims=keepdims)
        return out, (a, out)

    @staticmethod
    def backward(g, saved, needs, axis, keepdims, nan_shares=False):
        a, out = saved
        out = _expand_reduced(out, a.shape, axis, keepdims)
        winners = a == out
        if nan_shares:
            winners |= np.isnan(a) & np.isnan(out)
        winners = winners.astype(a.dtype)
        winners /= np.sum(winners, axis=axis, keepdims=True)
        return (winners * _expand_reduced(g, a.shape, axis, keepdims),)


class FirstMax(Primitive):
    """max(dim)'s values: the largest value along `axis`; the gradient goes to its first index only
    (np.argmax's, torch.max(dim)'s choice on ties; a NaN is the largest, at its first index)."""

    @staticmethod
    def forward(a, axis, keepdims):
        idx = np.argmax(a, axis=axis, keepdims=True)
        out = np.take_along_axis(a, idx, axis=axis)
        return (out if keepdims else np.squeeze(out, axis)), (idx, a.shape)

    @staticmethod
    def backward(g, saved, needs, axis, keepdims):
        idx, shape = saved
        grad = np.zeros(shape, dtype=g.dtype)
        np.put_along_axis(grad, idx, g if keepdims else np.expand_dims(g, axis), axis=axis)
        return (grad,)


class ArgMax(Primitive):
    """The first index of the largest (`op` "max") or smallest ("min") value along `axis`, as int64: data
    without a gradient. A primitive (applied off the tape, tensor.py) so that a traced cell names the line
    that used max(dim)'s indices, which a kernel cannot bake in."""

    @staticmethod
    def forward(a, axis, keepdims, op):
        fn = np.argmax if op == "max" else np.argmin
        return np.asarray(fn(a, axis=axis, keepdims=keepdims), dtype=np.int64), None

    @staticmethod
    def backward(g, saved, needs, axis, keepdims, op):
        return (None,)


class ArgSort(Primitive):
    """The indices that sort `a` along `axis` (int64), ascending or descending, stable either way: ties keep
    their order (torch's stable=True, a valid order for stable=False too), NaN counts as the largest, as in
    torch. Data without a gradient (applied off the tape, as ArgMax): sort's and topk's values are a Gather
    at these indices, whose backward carries their gradient."""

    @staticmethod
    def forward(a, axis, descending):
        if not descending:
            return np.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False), None
        # Reversed, sorted stably, reversed back: largest first, ties still in their original order
        # (argsort of -a would put NaN last and cannot negate unsigned or bool values).
        flipped = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
        return np.flip(a.shape[axis] - 1 - flipped, axis).astype(np.int64), None

    @staticmethod
    def backward(g, saved, needs, axis, descending):
        return (None,)


class Cumsum(Primitive):
    """Running sums along `axis`; each input reaches every output at or after it, so the gradient is the
    running sum of g taken from the end. (The ufunc's own accumulate, not np.cumsum: a warning of numpy's on
    inf - inf is then this module's, which the library ignores as torch computes quietly: tape.py.)"""

    @staticmethod
    def forward(a, axis):
        return np.add.accumulate(a, axis=axis, dtype=a.dtype), None

    @staticmethod
    def backward(g, saved, needs, axis):
        return (np.flip(np.add.accumulate(np.flip(g, axis), axis=axis), axis),)


def _exclusive_cumprod(rows):
    """Along the last axis, the product of the entries before each one: 1, r0, r0 r1, ..."""
    shifted = np.concatenate([np.ones_like(rows[..., :1]), rows[..., :-1]], axis=-1)
    return np.multiply.accumulate(shifted, axis=-1)   # (the ufunc's own: see Cumsum)


class Prod(Primitive):
    """The product over axes. Its gradient is, per element, the product of the others (those before it
    times those after it), so zeros in the input give exact gradients (out / a would divide by zero)."""

    @staticmethod
    def forward(a, axis, keepdims):
        return np.multiply.reduce(a, axis=axis, keepdims=keepdims), a   # (the ufunc's own: see Cumsum)

    @staticmethod
    def backward(g, a, needs, axis, keepdims):
        axes = list(range(a.ndim)) if axis is None else ([axis] if isinstance(axis, int) else list(axis))
        order = [d for d in range(a.ndim) if d not in axes] + axes  # the reduced axes last, as one row each
        kept_shape, n = [a.shape[d] for d in order[:a.ndim - len(axes)]], int(np.prod([a.shape[d] for d in axes]))
        rows = np.transpose(a, order).reshape(kept_shape + [n])
        others = _exclusive_cumprod(rows) * _exclusive_cumprod(rows[..., ::-1])[..., ::-1]
        others = np.transpose(others.reshape([a.shape[d] for d in order]), np.argsort(order))
        return (others * _expand_reduced(g, a.shape, axis, keepdims),)


class Cumprod(Primitive):
    """Running products along `axis`, with torch's gradient, vectorised (no loop along the axis): without zeros
    `reversed_cumsum(g * out) / a`; at a lane's first zero the products of the inputs after it up to the next zero
    (the zero left out) weighted by g, times the product before it; after the first zero 0 (every later output
    holds it). Exact where the input holds zeros, where out / a would divide by zero."""

    @staticmethod
    def forward(a, axis):
        out = np.cumprod(a, axis=axis, dtype=a.dtype)
        return out, (a, out)

    @staticmethod
    def backward(g, saved, needs, axis):
        a, out = saved
        if a.shape[axis] <= 1:   # (torch's: the gradient as it is)
            return (np.array(np.broadcast_to(g, a.shape)),)
        g = np.broadcast_to(g, a.shape)
        zeros_so_far = np.cumsum(a == 0, axis=axis)
        before = zeros_so_far == 0   # the positions before each lane's first zero
        grad = np.zeros(a.shape, np.result_type(a, g))
        np.divide(_reversed_cumsum(np.where(before, out * g, 0), axis), a, out=grad, where=before)
        if before.all():
            return (grad,)
        first = (zeros_so_far == 1) & (a == 0)
        up_to_next = (zeros_so_far == 1) & ~first   # after the first zero, up to the second
        after = np.cumprod(np.where(up_to_next, a, 1), axis=axis) * np.where(zeros_so_far == 1, g, 0)
        z = np.argmax(first, axis=axis, keepdims=True)
        prefix = np.where(z == 0, 1, np.take_along_axis(out, np.maximum(z - 1, 0), axis=axis))
        return (np.where(first, after.sum(axis=axis, keepdims=True) * prefix, grad),)


def _reversed_cumsum(x, axis):
    """`r[k] = x[k] + x[k + 1] + ...` along axis."""
    return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)


class LogCumSumExp(Primitive):
    """`out[i] = log(sum over j <= i of exp(a[j]))` along `axis` (numpy's logaddexp.accumulate: no overflow).
    Input j's gradient is `sum over i >= j of g[i] exp(a[j] - out[i])`; as torch, that reversed running sum is
    taken in log space, the positive and negative parts of g apart, so that neither overflows."""

    @staticmethod
    def forward(a, axis):
        out = np.logaddexp.accumulate(a, axis=axis) if a.shape[axis] else a.copy()
        return out, (a, out)

    @staticmethod
    def backward(g, saved, needs, axis):
        a, out = saved
        g = np.broadcast_to(g, a.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            parts = [np.where(sign * g > 0, np.log(np.abs(g)), -np.inf) - out for sign in (1, -1)]
            flipped = [np.flip(np.logaddexp.accumulate(np.flip(p, axis), axis=axis), axis) for p in parts]
            grad = np.exp(flipped[0] + a) - np.exp(flipped[1] + a)
        return (grad.astype(a.dtype, copy=False),)


class Einsum(Primitive):
    """numpy's einsum of the operands by `equation` ("ij,jk->ik": explicit output, no ellipsis: tensor_functions
    writes torch's forms out). The gradient of operand i is the einsum of the output's gradient and the other
    operands into operand i's distinct letters, broadcast over letters that appear in it alone, and put on the
    diagonal where a letter repeats in it ("ii->i")."""

    @staticmethod
    def forward(*operands, equation):
        out = np.einsum(equation, *operands)
        # numpy returns a view for some equations ("ii->i"): a copy, so that only view primitives share memory
        return (out.copy() if out.base is not None else out), operands

    @staticmethod
    def backward(g, operands, needs, equation):
        inputs, output = equation.split("->")
        subscripts = inputs.split(",")
        return tuple(_einsum_grad(i, g, operands, subscripts, output) if needs[i] else None
                     for i in range(len(operands)))


def _einsum_grad(i, g, operands, subscripts, output):
    own = subscripts[i]
    distinct = "".join(dict.fromkeys(own))
    elsewhere = set(output).union(*(subscripts[j] for j in range(len(operands)) if j != i))
    reachable = "".join(c for c in distinct if c in elsewhere)
    others = [(subscripts[j], operands[j]) for j in range(len(operands)) if j != i]
    spec = ",".join([output] + [s for s, _ in others]) + "->" + reachable
    grad = np.einsum(spec, g, *[a for _, a in others])
    size = {c: n for c, n in zip(own, operands[i].shape)}
    # letters only this operand has were summed over: each of their entries gets the same gradient
    grad = np.broadcast_to(np.expand_dims(grad, tuple(k for k, c in enumerate(distinct) if c not in elsewhere)),
                           tuple(size[c] for c in distinct))
    if distinct == own:
        return np.ascontiguousarray(grad, dtype=operands[i].dtype)
    out = np.zeros(operands[i].shape, operands[i].dtype)
    np.einsum(f"{own}->{distinct}", out)[...] = grad   # a repeated letter: the gradient sits on the diagonal
    return out


# ----------------------------------------------------------------------------- shape and indexing
class Reshape(Primitive):
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)
    saves_tensors = False   # (the input's shape)

    @staticmethod
    def forward(a, shape):
        return np.reshape(a, shape), a.shape

    @staticmethod
    def backward(g, in_shape, needs, shape):
        return (np.reshape(g, in_shape),)


class Expand(Primitive):
    """a broadcast to `shape` (a read-only view, as torch's expand is a view). Its backward is g itself: summing
    g back to a's shape is broadcasting's adjoint, which the tape walk applies to every gradient (unbroadcast)."""
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)

    @staticmethod
    def forward(a, shape):
        return np.broadcast_to(a, shape), None

    @staticmethod
    def backward(g, saved, needs, shape):
        return (g,)


class Transpose(Primitive):
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)

    @staticmethod
    def forward(a, axes):
        return np.transpose(a, axes), None

    @staticmethod
    def backward(g, saved, needs, axes):
        return (np.transpose(g, np.argsort(axes)),)


def is_basic_index(index):
    """True for numpy 'basic' indexing (ints, slices, None, Ellipsis): the result is a view and
    every input element is picked at most once, so backward can assign instead of accumulate."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Primitive):
    """a[index]: basic slices give views; integer arrays gather (an embedding lookup is a[idx]).

    Backward puts g where the forward read. Where each element was read at most once (basic indexing, a
    boolean mask) that is an assignment. Where an index may repeat (integer arrays: the same word twice in a
    batch) the repeats must add up: np.add.at does that for any index, one element at a time through a generic
    ufunc loop (0.56 s for 200,000 rows of 256 floats); `a[idx]` with one integer array on axis 0 (an embedding-like
    lookup, the common case) takes kernels/scatter.py's compiled loop instead, which adds the same rows in the
    same order, so the same bits (13x faster there; bench/getitem_backward.py); so do integer arrays on the first
    few axes (logp[arange(N), y]: rows of a flattened over those axes)."""
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)

    @staticmethod
    def forward(a, index):
        out = a[index]
        if type(out) is not np.ndarray:   # one element by ints alone: numpy gives a scalar (a copy), torch a 0-d
            out = a[(*(index if type(index) is tuple else (index,)), Ellipsis)]   # view; with `...` numpy's too
        return out, (a.shape, a.dtype)

    @staticmethod
    def backward(g, saved, needs, index):
        shape, dtype = saved
        ga = np.zeros(shape, dtype=dtype)
        if is_basic_index(index):
            ga[index] = g
            return (ga,)
        if _reads_each_once(index):   # a mask: nothing repeats, so what np.add.at adds is 0 + g, put in place
            ga[index] = g + 0.0   # (0 + g, not g: a -0.0 becomes 0.0, as in np.add.at and torch)
            return (ga,)
        add_at(ga, index, g)
        return (ga,)


class IndexPut(Primitive):
    """a[index] = v out of place (`x[index] = v` recorded, torch's index_put_): a copy of a with v, broadcast to
    a[index]'s shape, written where a[index] reads. An element an integer index names twice takes the last value
    written (numpy's order, as torch's CPU loop). Backward: a gets g except where v was written, v gets g[index]
    (every copy of it, as torch's; the walk sums it back to v's shape)."""

    @staticmethod
    def forward(a, v, index):
        out = a.copy()
        out[index] = v
        return out, None

    @staticmethod
    def backward(g, saved, needs, index):
        ga = gv = None
        if needs[0]:
            ga = g.copy()
            ga[index] = 0
        if needs[1]:
            gv = g[index]
            if type(gv) is not np.ndarray:   # one element by ints alone: numpy gives a scalar
                gv = np.asarray(gv)
        return ga, gv


def add_at(target, index, values):
    """np.add.at(target, index, values): by kernels/scatter.py's loop where the index is integer arrays on the first
    axes with full slices after them (an embedding's a[idx], a loss's logp[arange(N), y], gather's and scatter_add's
    index over every axis), which adds the same values in the same order, so the same bits; np.add.at, its slow twin,
    for any other index. target is C-contiguous (the loop writes it through a 2-D view)."""
    found = _rows_of_leading_axes(index, target.shape)
    if found is not None and values.dtype == target.dtype:
        rows, k = found
        width = math.prod(target.shape[k:])   # the other axes, flattened: one row of the table per index element
        if values.size == rows.size * width:   # (np.add.at also broadcasts values: left to it)
            scatter_add_rows(target.reshape(math.prod(target.shape[:k]), width), rows, values.reshape(rows.size, width))
            return
    np.add.at(target, index, values)


def _reads_each_once(index):
    """Whether an advanced index reads each element at most once: one boolean mask among basic items (ints,
    slices, None, `...`), as in x[mask] or x[:, mask]. A mask's positions are distinct, and an int beside it
    picks one position, so no element is read twice."""
    masks = 0
    for i in (index if type(index) is tuple else (index,)):
        if type(i) is np.ndarray and i.dtype == bool:
            masks += 1
        elif not (isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis):
            return False
    return masks == 1


def _rows_of_leading_axes(index, shape):
    """For a[i0, ..., ik] followed only by full slices or `...` (integer arrays on the first k axes: an embedding's
    a[idx], a loss's logp[arange(N), y]): (the flat row of a.reshape(-1, rest) each index element reads, in the
    order numpy's np.add.at visits them, as intp; k). None for any other index. Negative indices count from the
    end, as numpy's (the forward checked the bounds)."""
    items = index if type(index) is tuple else (index,)
    k = 0
    while k < len(items) and type(items[k]) is np.ndarray and items[k].dtype.kind in "iu":
        k += 1
    if k == 0 or any(not (i is Ellipsis or (type(i) is slice and i == slice(None))) for i in items[k:]):
        return None
    if k == 1:
        return items[0].reshape(-1).astype(np.intp, copy=False), 1
    arrays = [np.asarray(i, dtype=np.intp) % n for i, n in zip(np.broadcast_arrays(*items[:k]), shape[:k])]
    return np.ravel_multi_index(arrays, shape[:k]).reshape(-1), k


class Concatenate(Primitive):
    """`skipped`: the inputs left out, torch's legacy empty tensors (shape (0,)) beside tensors of other shapes,
    which torch's cat skips; each gets an empty gradient."""

    @staticmethod
    def forward(*arrays, axis, skipped=()):
        if skipped:
            arrays = [a for i, a in enumerate(arrays) if i not in skipped]
        sizes = [a.shape[axis] for a in arrays]
        return np.concatenate(arrays, axis=axis), sizes

    @staticmethod
    def backward(g, sizes, needs, axis, skipped=()):
        pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
        for i in sorted(skipped):
            pieces.insert(i, np.zeros(0, g.dtype))
        return tuple(pieces)


class Stack(Primitive):
    """Stack along a new axis: how an unrolled layer gathers its per-step outputs into one."""

    @staticmethod
    def forward(*arrays, axis):
        return np.stack(arrays, axis=axis), len(arrays)

    @staticmethod
    def backward(g, n, needs, axis):
        return tuple(np.take(g, i, axis=axis) if needs[i] else None for i in range(n))


class Split(Primitive):
    """Split into pieces along an axis: one node with several outputs, so backward writes one
    gradient buffer instead of one full-size zero array per piece (chunking LSTM gates, or
    unbinding a sequence into T steps, would otherwise cost O(pieces) copies of the input)."""
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)

    @staticmethod
    def forward(a, sizes, axis):
        bounds = np.cumsum(sizes)[:-1]
        return tuple(np.split(a, bounds, axis=axis)), (a.shape, a.dtype)

    @staticmethod
    def backward(gs, saved, needs, sizes, axis):
        shape, dtype = saved
        ga = np.empty(shape, dtype=dtype)
        start = 0
        for size, g in zip(sizes, gs):
            piece = (slice(None),) * (axis % len(shape)) + (slice(start, start + size),)
            ga[piece] = 0 if g is None else g
            start += size
        return (ga,)


class Unstack(Primitive):
    """The slices along an axis as separate outputs (views, no copies): how an unrolled layer
    reads its input one time step at a time. Backward stacks the steps' gradients once."""
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)

    @staticmethod
    def forward(a, axis):
        if a.ndim == 1:   # iterating gives numpy scalars (copies): 0-d views, as torch's unbind
            return tuple(a[i, ...] for i in range(a.shape[0])), (a.shape, a.dtype)
        return tuple(np.moveaxis(a, axis, 0)), (a.shape, a.dtype)

    @staticmethod
    def backward(gs, saved, needs, axis):
        shape, dtype = saved
        ga = np.empty(np.moveaxis(np.empty(shape, dtype=bool), axis, 0).shape, dtype=dtype)
        for i, g in enumerate(gs):
            ga[i] = 0 if g is None else g
        return (np.moveaxis(ga, 0, axis),)


def diagonal_view(a, offset, dim1, dim2):
    """The entries `a[..., i, ..., i + offset, ...]` of dims dim1 and dim2 as a view of a's memory, the other dims
    first and the diagonal last, as torch's diagonal (numpy's np.diagonal gives the same entries read-only: a
    write through torch's reaches the tensor). Writable if a is."""
    n1, n2 = a.shape[dim1], a.shape[dim2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    rest = [d for d in range(a.ndim) if d not in (dim1, dim2)]
    shape = tuple(a.shape[d] for d in rest) + (length,)
    strides = tuple(a.strides[d] for d in rest) + (a.strides[dim1] + a.strides[dim2],)
    if length:   # start at the diagonal's first entry: dim2's offset-th (dim1's -offset-th below the main one)
        d, k = (dim2, offset) if offset >= 0 else (dim1, -offset)
        a = a[(slice(None),) * d + (slice(k, None),)]
    return as_strided(a, shape, strides)


class Diagonal(Primitive):
    """torch's diagonal: a view (diagonal_view). Backward puts g on the same diagonal of zeros."""
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)
    saves_tensors = False   # (the input's shape and dtype)

    @staticmethod
    def forward(a, offset, dim1, dim2):
        return diagonal_view(a, offset, dim1, dim2), (a.shape, a.dtype)

    @staticmethod
    def backward(g, saved, needs, offset, dim1, dim2):
        shape, dtype = saved
        ga = np.zeros(shape, dtype=dtype)
        diagonal_view(ga, offset, dim1, dim2)[...] = g
        return (ga,)


def windows_view(a, dim, size, step):
    """torch's unfold: the windows of `size` entries along dim, one every `step`, as a view of a's memory: dim
    counts the windows, a new last dim holds each window's entries. Windows that overlap (step < size) share
    memory, so that view is read-only: a write would reach one element several times, in an order torch's loop
    decides (tensor.py refuses it, naming unfold)."""
    count = (a.shape[dim] - size) // step + 1
    shape = a.shape[:dim] + (count,) + a.shape[dim + 1:] + (size,)
    strides = a.strides[:dim] + (a.strides[dim] * step,) + a.strides[dim + 1:] + (a.strides[dim],)
    return as_strided(a, shape, strides, writeable=not (step < size and count > 1))


class Unfold(Primitive):
    """torch's unfold: a view (windows_view). Backward adds each window's gradient back where the window came
    from: the k-th entries of all windows are distinct places, so one strided add per k (overlapping windows
    add up)."""
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)
    saves_tensors = False   # (the input's shape and dtype)

    @staticmethod
    def forward(a, dim, size, step):
        return windows_view(a, dim, size, step), (a.shape, a.dtype)

    @staticmethod
    def backward(g, saved, needs, dim, size, step):
        shape, dtype = saved
        ga = np.zeros(shape, dtype=dtype)
        count = g.shape[dim]
        for k in range(size):
            ga[(slice(None),) * dim + (slice(k, k + step * (count - 1) + 1, step),)] += g[..., k]
        return (ga,)


def strided_positions(size, stride, offset):
    """The flat position each element of a strided view reads: offset + the sum of index * stride over its dims."""
    positions = np.full(tuple(size), offset, np.int64)
    for d, (n, step) in enumerate(zip(size, stride)):
        along = (1,) * d + (n,) + (1,) * (len(size) - d - 1)
        positions = positions + np.arange(n, dtype=np.int64).reshape(along) * step
    return positions


class AsStrided(Primitive):
    """torch's as_strided over a's elements in row-major order (a is C-contiguous: they are its memory): a read-only
    view, since its elements may share memory (a stride 0, rows that overlap). Backward adds each element's
    gradient to the place it read (np.add.at: a place read twice gets both)."""
    quiet_forward = False   # (a view or a copy of the values: nothing numpy warns about)
    saves_tensors = False   # (the input's shape and dtype)

    @staticmethod
    def forward(a, size, stride, offset):
        flat = a.reshape(-1)
        view = as_strided(flat[offset:], tuple(size), tuple(step * a.itemsize for step in stride), writeable=False)
        return view, (a.shape, a.dtype)

    @staticmethod
    def backward(g, saved, needs, size, stride, offset):
        shape, dtype = saved
        ga = np.zeros(math.prod(shape), dtype=dtype)
        np.add.at(ga, strided_positions(size, stride, offset).reshape(-1), g.reshape(-1))
        return (ga.reshape(shape),)


# ----------------------------------------------------------------------------- softmax family
class LogSoftmax(Primitive):
    @staticmethod
    def forward(a, axis):
        # subtracting the max keeps exp() <= 1: finite at logits of +-1e4
        shifted = a - np.max(a, axis=axis, keepdims=True, initial=-np.inf)  # initial: an empty axis is no error
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        return out, out

    @staticmethod
    def backward(g, out, needs, axis):
        return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)


class Softmax(Primitive):
    @staticmethod
    def forward(a, axis):
        with np.errstate(invalid="ignore"):   # a row of -inf (masked everywhere) is nan, as torch's, without a word
            e = np.exp(a - np.max(a, axis=axis, keepdims=True, initial=-np.inf))
        out = e / np.sum(e, axis=axis, keepdims=True)
        return out, out

    @staticmethod
    def backward(g, out, needs, axis):
        return (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)


# ----------------------------------------------------------------------------- embedding and loss
class Embedding(Primitive):
    """Rows of a table: weight[indices], indices any shape of ints (an attribute, not differentiable).

    Backward is a scatter-add (a repeated index adds up): kernels/scatter.py, one compiled pass over the
    rows (np.add.at, its slow twin, handles one element at a time: 0.6 ms for 2048 rows of 32 at the
    demo's size, against 8 us). The row at padding_idx (or none) gets no gradient, as in torch."""

    fresh_grads = True  # backward makes its gradient array for this call alone

    @staticmethod
    def forward(weight, indices, padding_idx):
        return np.take(weight, indices, axis=0), weight.shape

    @staticmethod
    def backward(g, shape, needs, indices, padding_idx):
        flat = indices.reshape(-1)
        gw = np.zeros(shape, dtype=g.dtype)
        scatter_add_rows(gw, flat, g.reshape(flat.size, shape[1]))
        if padding_idx is not None:
            gw[padding_idx] = 0
        return (gw,)


class Gather(Primitive):
    """torch.gather: out[i][j][k] = a[i][index[i][j][k]][k] for axis 1, and so on; `index` (ints, an attribute,
    not differentiable) has a's number of axes and may be smaller than a in every axis but `axis`. Backward
    adds g into the positions read (add_at: an index repeated adds up)."""

    @staticmethod
    def forward(a, index, axis):
        return np.take_along_axis(a[_leading(index.shape, axis)], index, axis=axis), a.shape

    @staticmethod
    def backward(g, shape, needs, index, axis):
        grad = np.zeros(shape, dtype=g.dtype)
        add_at(grad, _scattered(index, axis), g)
        return (grad,)


class Scatter(Primitive):
    """torch's scatter (`add` False: out = a with a[..index..] = src) and scatter_add (`add` True: src added
    there, a repeated index adding up): along `axis`, out[i][index[i][j]] = src[i][j] for axis 1. `index` is an
    attribute, as in Gather, whose VJP this is for src; a's gradient is g, without the overwritten places."""

    @staticmethod
    def forward(a, src, index, axis, add):
        out = a.copy()
        where, part = _scattered(index, axis), src[_leading(index.shape, None)]
        if add:
            add_at(out, where, part)
        else:
            out[where] = part
        return out, src.shape

    @staticmethod
    def backward(g, src_shape, needs, index, axis, add):
        where = _scattered(index, axis)
        ga = gs = None
        if needs[0]:
            ga = g if add else g.copy()
            if not add:
                ga[where] = 0
        if needs[1]:
            gs = np.zeros(src_shape, dtype=g.dtype)
            gs[_leading(index.shape, None)] = g[where]
        return ga, gs


class ScatterMultiply(Primitive):
    """torch's scatter(reduce='multiply'): a copy of a with a[..index..] multiplied by src (repeats multiply up).
    As torch, it has no derivative: a backward through it is refused."""
    saves_tensors = False

    @staticmethod
    def forward(a, src, index, axis):
        out = a.copy()
        np.multiply.at(out, _scattered(index, axis), src[_leading(index.shape, None)])
        return out, None

    @staticmethod
    def backward(g, saved, needs, index, axis):
        raise RuntimeError("derivative for scatter with reduce='multiply' is not implemented (torch has none "
                           "either): detach() its inputs, or compute it under no_grad()")


class ScatterReduce(Primitive):
    """torch's scatter_reduce: a copy of a whose places `index` names along `axis` (as Scatter's) take the reduction
    ("sum", "prod", "mean", "amax", "amin") of the src values sent there, and of a's own value with include_self;
    the places nothing is sent to keep a's. An integer mean rounds down, as torch's. The VJPs are torch's
    (scatter_reduce_backward): mean divides by each place's count; amax/amin share the gradient evenly among the
    values equal to the result (a's own counted even without include_self, as torch counts it); prod divides the
    result by each factor, with a zero's exclusive product computed apart (one zero among a place's src values gets
    the product of the others, two give 0); without include_self a's gradient is 0 at the places written."""

    @staticmethod
    def forward(a, src, index, axis, reduce, include_self):
        where, part = _scattered(index, axis), src[_leading(index.shape, None)]
        out = _scatter_reduced(a, part, where, reduce, include_self)
        return out, (a, src, out)

    @staticmethod
    def backward(g, saved, needs, index, axis, reduce, include_self):
        a, src, out = saved
        where, lead = _scattered(index, axis), _leading(index.shape, None)
        part = src[lead]
        with np.errstate(divide="ignore", invalid="ignore"):
            if reduce == "sum":
                ga, gs_part = g, g[where]
            elif reduce == "mean":
                count = _scatter_counts(a.shape, g.dtype, where, include_self)
                ga, gs_part = g / count, g[where] / count[where]
            elif reduce in ("amax", "amin"):
                self_is, src_is = (a == out).astype(g.dtype), (part == out[where]).astype(g.dtype)
                shares = self_is.copy()
                add_at(shares, where, src_is)
                shared = g / shares
                ga, gs_part = self_is * shared, src_is * shared[where]
            else:
                ga, gs_part = _scatter_prod_grads(g, a, part, out, where, include_self)
        if not include_self:
            ga = np.array(ga, copy=True)
            ga[where] = 0
        gs = np.zeros(src.shape, g.dtype)
        gs[lead] = gs_part
        return ga, gs


def _scatter_reduced(a, part, where, reduce, include_self):
    """ScatterReduce's forward in numpy: a copy of a, reduced at `where` with `part`."""
    out = a.copy()
    if not include_self:
        out[where] = _REDUCE_START[reduce](a.dtype)
    with np.errstate(invalid="ignore"):   # (a NaN goes through amax/amin quietly, as torch's)
        _REDUCE_UFUNC[reduce].at(out, where, part)
    if reduce == "mean":
        count = _scatter_counts(a.shape, a.dtype, where, include_self)
        out = np.floor_divide(out, count) if a.dtype.kind in "iu" else out / count
    return out


def _scatter_counts(shape, dtype, where, include_self):
    """How many values each place's mean averages (1 where there are none: the place keeps its value)."""
    count = np.full(shape, 1 if include_self else 0, dtype)
    add_at(count, where, np.ones(where[0].shape, dtype))
    count[count == 0] = 1
    return count


def _scatter_prod_grads(g, a, part, out, where, include_self):
    """prod's VJPs, torch's: the result over each factor, a zero factor's exclusive product computed apart."""
    masked_a = np.where(a == 0, 1, a)
    ga = g * _scatter_reduced(masked_a, part, where, "prod", include_self) / masked_a
    src_zero = part == 0
    zeros_there = np.zeros(a.shape, np.int64)
    add_at(zeros_there, where, src_zero.astype(np.int64))
    single_zero = src_zero & (zeros_there[where] == 1)
    without_zero = _scatter_reduced(a, np.where(single_zero, 1, part), where, "prod", include_self)
    gs_part = np.where(single_zero, (g * without_zero)[where], (g * out)[where] / np.where(src_zero, 1, part))
    return ga, gs_part


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else (False if dtype.kind == "b" else np.iinfo(dtype).min)


def _highest(dtype):
    return np.inf if dtype.kind == "f" else (True if dtype.kind == "b" else np.iinfo(dtype).max)


# what a place written without include_self starts from, and the ufunc that reduces into it
_REDUCE_START = {"sum": lambda dt: 0, "mean": lambda dt: 0, "prod": lambda dt: 1, "amax": _lowest, "amin": _highest}
_REDUCE_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _scattered(index, axis):
    """The places `index` names along `axis` (the others counted up), as a tuple of index arrays."""
    where = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    where[axis] = index
    return tuple(where)


def _leading(shape, axis):
    """The slice of an array that keeps the first shape[d] entries of each axis d but `axis` (all of it)."""
    return tuple(slice(None) if d == axis else slice(n) for d, n in enumerate(shape))


class SoftmaxCrossEntropy(Primitive):
    """Cross-entropy of logits x (N, C) against class indices t (N,), log_softmax folded in:

        loss_n = scale_n * (lse_n - x[n, t_n]) + valid_n * sum_c smooth_c * (lse_n - x[n, c])

    lse_n = log sum_c exp(x[n, c]); scale_n = (1 - label_smoothing) * weight[t_n], 0 where t_n is ignored;
    smooth = label_smoothing / C * weight, or None without label smoothing; valid_n: 1, 0 where ignored.
    With `divisor` None the output is the N losses, else their sum / divisor (a scalar: 'mean' and 'sum').
    Backward, with p = softmax(x), S = sum(smooth) and g_n the cotangent of loss_n:

        dx[n, c] = g_n * ((scale_n + valid_n * S) * p[n, c] - scale_n * [c == t_n] - valid_n * smooth_c)

    One exp per logit, and e = exp(x - max) and 1 / sum(e) kept from the forward (p = e / sum(e) is formed
    only inside the backward's one pass over dx): no log_softmax array, gather, scatter or mask on the tape.
    The row sums are matrix-vector products (e @ ones): a reduction along rows of a hundred numbers costs
    numpy several times more. e and dx come from the kernels' buffer pool (kernels/workspace.py): a training
    step makes them at the same size step after step, and fresh pages would fault in every time."""

    @staticmethod
    def forward(x, targets, scale, smooth, valid, divisor):
        # Each row shifted by its max (exp <= 1, no overflow): lse - x_c is the same for the shifted row.
        e = workspace.empty(x.shape, x.dtype)   # from the pool: see above
        shift_by_row_max(x, e)                  # x - np.max(x, axis=1, keepdims=True), in one compiled pass
        shifted_target = e[np.arange(x.shape[0]), targets]
        smoothed = None if smooth is None else e @ smooth
        np.exp(e, out=e)
        total = e @ np.ones(x.shape[1], x.dtype)
        log_total = np.log(total)
        loss = scale * (log_total - shifted_target)
        if smooth is not None:
            loss += valid * (np.sum(smooth) * log_total - smoothed)
        if divisor is not None:
            loss = np.asarray(np.sum(loss) / loss.dtype.type(divisor), dtype=x.dtype)
        return loss, (e, 1 / total)

    @staticmethod
    def backward(g, saved, needs, targets, scale, smooth, valid, divisor):
        e, inv_total = saved
        if divisor is not None:           # every loss_n enters the sum alike: g_n = g / divisor
            g = np.full(e.shape[0], g / e.dtype.type(divisor) if divisor else 0, dtype=e.dtype)
        coef = g * scale
        if smooth is not None:
            g_valid = g * valid
            row_coef = (coef + g_valid * np.sum(smooth)) * inv_total
        else:
            row_coef = coef * inv_total
        dx = np.multiply(e, row_coef[:, None], out=workspace.empty(e.shape, e.dtype))
        if smooth is not None:
            dx -= g_valid[:, None] * smooth[None, :]
        dx[np.arange(e.shape[0]), targets] -= coef
        return (dx,)


class CTCLoss(Primitive):
    """The connectionist temporal classification loss of each sequence: log_probs (T, N, C) in, nll (N,) out,
    nll[n] = -log p(targets[n] | log_probs[:, n]), summed over every alignment of the labels with the first
    input_lengths[n] frames (kernels/ctc.py: the alpha and beta recursions, and the gradient). The attributes
    are checked by nn.functional.ctc_loss: targets (N, S) int64, padded; the lengths (N,) int64.

    Backward returns torch's gradient, which is the gradient with respect to the logits of a log_softmax rather
    than log_probs' own (kernels/ctc.py says why): through log_softmax both give the same, as in torch.
    zero_infinity: an infinite nll (no alignment fits) is 0 and its gradient 0; without it, inf and nan."""
    fresh_grads = True   # backward's gradient is a new array of log_probs' shape

    @staticmethod
    def forward(log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        log_probs = np.ascontiguousarray(log_probs)
        nll, log_alpha = ctc_forward(log_probs, targets, input_lengths, target_lengths, blank)
        loss = np.where(nll == np.inf, nll.dtype.type(0), nll) if zero_infinity else nll
        return loss, (log_probs, log_alpha, nll)

    @staticmethod
    def backward(g, saved, needs, targets, input_lengths, target_lengths, blank, zero_infinity):
        log_probs, log_alpha, nll = saved
        grad_out = np.ascontiguousarray(np.broadcast_to(g, nll.shape), dtype=nll.dtype)
        return (ctc_backward(log_probs, targets, input_lengths, target_lengths, blank, log_alpha, nll, grad_out,
                             zero_infinity),)
