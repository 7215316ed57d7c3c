"""sigmoid and tanh for Numba loops that LLVM can vectorize, accurate to a few units in the last place.

Why not ``np.tanh`` / ``np.exp`` inside the kernels: Numba calls the scalar libm function per element,
and LLVM cannot vectorize a loop around an opaque call (without Intel's SVML, which we do not depend
on). In the LSTM step those calls cost several times the recurrent matrix product. Here everything is
plain arithmetic on one element, so a loop over a row of gates compiles to AVX code.

The one building block is expm1 by the textbook method (kept readable, fastmath stays off):
    x = k*ln2 + r,  |r| <= ln2/2      k rounded with the 1.5*2**mantissa "shift" trick
    expm1(r)       by its Taylor polynomial (degree 7 in float32, 13 in float64; the first omitted
                   term is below half an ulp)
    2**k           by writing k + bias into the exponent bits (a bitcast, see _to_bits/_from_bits)
    expm1(x) = 2**k * expm1(r) + (2**k - 1),   exp(x) = 2**k * (1 + expm1(r))
Arguments are clamped so that 2**k stays a normal number or, at the top, exactly +inf; NaN passes
through (comparisons with NaN are false).
    sigmoid(x) = 1 / (1 + exp(-x))
    tanh(x)    = sign(x) * (-e / (e + 2)),  e = expm1(-2|x|) in (-1, 0]   (no cancellation near 0)

Every function keeps its argument's dtype (float32 stays float32): each constant is made in that dtype.
Callers must compile with ``error_model='numpy'``: with Numba's default ('python') every float division
gets a zero check and a branch, and the loop no longer vectorizes (measured: 8x slower).
"""
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload


@intrinsic
def _to_bits(typingctx, x):
    """The IEEE bits of a float as a signed integer of the same width."""
    if x not in (types.float32, types.float64):
        return None
    ity = types.int32 if x == types.float32 else types.int64
    return ity(x), lambda context, builder, sig, args: builder.bitcast(args[0], ir.IntType(ity.bitwidth))


@intrinsic
def _from_bits(typingctx, i, like):
    """The float (of like's type) whose IEEE bits are the integer i (Numba widens int32 arithmetic to
    int64, so i is first truncated to the float's width)."""
    if like not in (types.float32, types.float64) or not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        width = ir.IntType(like.bitwidth)
        bits = builder.trunc(args[0], width) if i.bitwidth > like.bitwidth else args[0]
        return builder.bitcast(bits, context.get_value_type(like))
    return like(i, like), codegen


def _constants(dt):
    """Per-dtype constants of the expm1 reduction, each of dtype dt (so nothing upcasts)."""
    if dt == np.float32:
        int_t, mant, bias, degree = np.int32, 23, 127, 7
        ln2_hi, ln2_lo = np.float32(0.693359375), np.float32(-2.12194440e-4)   # ln2_hi has 8 trailing zero bits
        lo, hi = -87.0, 89.0
    else:
        int_t, mant, bias, degree = np.int64, 52, 1023, 13
        ln2_hi, ln2_lo = np.float64(6.93147180369123816490e-01), np.float64(1.90821492927058770002e-10)  # fdlibm
        lo, hi = -708.0, 710.0
    shift = dt(1.5 * 2.0 ** mant)
    inv_fact = [dt(1.0 / np.prod(np.arange(1, n + 1, dtype=np.float64))) for n in range(2, degree + 1)]
    return dict(one=dt(1), two=dt(2), zero=dt(0), lo=dt(lo), hi=dt(hi), log2e=dt(1.4426950408889634),
                ln2_hi=ln2_hi, ln2_lo=ln2_lo, shift=shift,
                shift_bits=int_t(np.array(shift, dt).view(int_t)), bias=int_t(bias), mant=int_t(mant),
                coef=tuple(inv_fact))


def _make_expm1_parts(dt):
    c = _constants(dt)
    one, lo, hi, log2e, shift = c["one"], c["lo"], c["hi"], c["log2e"], c["shift"]
    ln2_hi, ln2_lo, shift_bits, bias, mant = c["ln2_hi"], c["ln2_lo"], c["shift_bits"], c["bias"], c["mant"]
    # Taylor coefficients 1/2!, 1/3!, ... as separate constants so the Horner loop below is unrolled.
    coef = c["coef"] + (c["zero"],) * (12 - len(c["coef"]))
    c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13 = coef
    high_degree = len(c["coef"]) > 6

    @numba.njit
    def expm1_parts(x):
        """(s, p) with s = 2**k exactly and p = expm1(r), so that expm1(x) = s*p + (s-1), exp(x) = s*(1+p).
        At the upper clamp k reaches the all-ones exponent, so s (and exp) is exactly +inf."""
        x = lo if x < lo else x
        x = hi if x > hi else x
        kf = x * log2e + shift                  # rounds x*log2e to an integer, kept in the low mantissa bits
        k_bits = _to_bits(kf) - shift_bits      # == k
        kf = kf - shift
        r = (x - kf * ln2_hi) - kf * ln2_lo     # Cody-Waite: kf*ln2_hi is exact
        if high_degree:
            q = c13
            q = c12 + r * q
            q = c11 + r * q
            q = c10 + r * q
            q = c9 + r * q
            q = c8 + r * q
            q = c7 + r * q
        else:
            q = c7
        q = c6 + r * q
        q = c5 + r * q
        q = c4 + r * q
        q = c3 + r * q
        q = c2 + r * q
        p = r + (r * r) * q
        s = _from_bits((k_bits + bias) << mant, one)
        return s, p

    return expm1_parts, c


def _make_functions(dt):
    expm1_parts, c = _make_expm1_parts(dt)
    one, two, zero = c["one"], c["two"], c["zero"]

    def sigmoid(x):
        s, p = expm1_parts(-x)
        return one / (one + s * (one + p))       # exp(-x) = inf far left, so sigmoid is exactly 0 there

    def tanh(x):
        ax = x if x >= zero else -x
        s, p = expm1_parts(-two * ax)
        e = s * p + (s - one)                   # expm1(-2|x|), in (-1, 0]
        t = -e / (e + two)
        return t if x > zero else (-t if x < zero else x)   # tanh(+-0) = +-0, NaN stays NaN

    return sigmoid, tanh


_IMPLS = {types.float32: _make_functions(np.float32), types.float64: _make_functions(np.float64)}


def sigmoid(x):
    """1 / (1 + exp(-x)) (Python twin; in Numba code the vectorizable version below is used)."""
    return 1 / (1 + np.exp(-x))


def tanh(x):
    return np.tanh(x)


@overload(sigmoid)
def _ov_sigmoid(x):
    return _IMPLS[x][0] if x in _IMPLS else None


@overload(tanh)
def _ov_tanh(x):
    return _IMPLS[x][1] if x in _IMPLS else None
