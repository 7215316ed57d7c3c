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

Every function keeps its argument's dtype (float32 stays float32): each constant is made in that dtype,
and an intrinsic picks the float32 or float64 set while Numba types the call.
They are compiled with ``error_model='numpy'``, and so must the loops calling them be: with Numba's
default ('python') every float division gets a zero check and a branch, and the loop no longer vectorizes
(measured: 8x slower). They are plain module-level functions in Numba's disk cache (kernels.njit): a
process compiling a new kernel loads them, and LLVM inlines them into the kernel's loops from the
bitcode Numba keeps in the cache.
"""
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from . import njit


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


class _Constants(NamedTuple):
    """The expm1 reduction's constants for one dtype, each of that dtype (so nothing upcasts)."""
    one: np.floating
    two: np.floating
    zero: np.floating
    lo: np.floating             # clamps: 2**k stays normal, or exactly +inf at the top
    hi: np.floating
    log2e: np.floating
    ln2_hi: np.floating         # Cody-Waite split of ln2: ln2_hi has trailing zero bits, so k*ln2_hi is exact
    ln2_lo: np.floating
    shift: np.floating          # 1.5 * 2**mantissa: adding it rounds to an integer
    shift_bits: np.integer
    bias: np.integer
    mant: np.integer
    high_degree: bool           # float64 needs the Taylor terms up to 1/13!, float32 up to 1/7!
    coef: tuple                 # 1/2!, 1/3!, ..., 1/13! (zeros past the dtype's degree)


def _constants(dt):
    if dt == np.float32:
        int_t, mant, bias, degree = np.int32, 23, 127, 7
        ln2_hi, ln2_lo = np.float32(0.693359375), np.float32(-2.12194440e-4)   # ln2_hi has 8 trailing zero bits
        lo, hi = -87.0, 89.0
    else:
        int_t, mant, bias, degree = np.int64, 52, 1023, 13
        ln2_hi, ln2_lo = np.float64(6.93147180369123816490e-01), np.float64(1.90821492927058770002e-10)  # fdlibm
        lo, hi = -708.0, 710.0
    shift = dt(1.5 * 2.0 ** mant)
    coef = [dt(1.0 / np.prod(np.arange(1, n + 1, dtype=np.float64))) for n in range(2, degree + 1)]
    return _Constants(one=dt(1), two=dt(2), zero=dt(0), lo=dt(lo), hi=dt(hi), log2e=dt(1.4426950408889634),
                      ln2_hi=ln2_hi, ln2_lo=ln2_lo, shift=shift, shift_bits=int_t(np.array(shift, dt).view(int_t)),
                      bias=int_t(bias), mant=int_t(mant), high_degree=degree > 7,
                      coef=tuple(coef + [dt(0)] * (12 - len(coef))))


# Module-level constants and functions (no closures): Numba's disk cache keys a function on its file and
# on the pickled values of its closure variables, so a closure over a dispatcher (whose pickle carries a
# per-process id) would be compiled again in every process.
_F32 = _constants(np.float32)
_F64 = _constants(np.float64)
# fastmath stated, not left unset: Numba would otherwise inherit the first caller's flags (the generated
# reductions use fastmath={'reassoc'}, which may regroup the Cody-Waite step), and cache whatever it got.
# 'contract' alone lets a multiply and an add become one fused multiply-add (one rounding instead of two; no
# regrouping): the LSTM forward loop's gate math 0.74x its time (H = 128, 64 x 32 rows, float32, 1 thread),
# the largest error against the float64 truth unchanged (2.47 ulp sigmoid, 2.49 tanh, float32 and float64).
_OPTIONS = dict(error_model="numpy", fastmath={"contract"})


@intrinsic
def _constants_for(typingctx, x, c32, c64):
    """c32 if x is a float32, else c64: picked while typing, so each dtype compiles with its own constants."""
    if x == types.float32:
        return c32(x, c32, c64), lambda context, builder, sig, args: args[1]
    if x == types.float64:
        return c64(x, c32, c64), lambda context, builder, sig, args: args[2]
    return None


@njit(**_OPTIONS)
def expm1_parts(x):
    """(s, p) with s = 2**k exactly and p = expm1(r), so that expm1(x) = s*p + (s-1), exp(x) = s*(1+p).
    At the upper clamp k reaches the all-ones exponent, so s (and exp) is exactly +inf."""
    c = _constants_for(x, _F32, _F64)
    x = c.lo if x < c.lo else x
    x = c.hi if x > c.hi else x
    kf = x * c.log2e + c.shift                  # rounds x*log2e to an integer, kept in the low mantissa bits
    k_bits = _to_bits(kf) - c.shift_bits        # == k
    kf = kf - c.shift
    r = (x - kf * c.ln2_hi) - kf * c.ln2_lo     # Cody-Waite: kf*ln2_hi is exact
    c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13 = c.coef   # unrolled Horner: one constant per term
    if c.high_degree:                           # a constant: LLVM keeps only one branch
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
    s = _from_bits((k_bits + c.bias) << c.mant, c.one)
    return s, p


@njit(**_OPTIONS)
def _sigmoid(x):
    c = _constants_for(x, _F32, _F64)
    s, p = expm1_parts(-x)
    return c.one / (c.one + s * (c.one + p))    # exp(-x) = inf far left, so sigmoid is exactly 0 there


@njit(**_OPTIONS)
def _tanh(x):
    c = _constants_for(x, _F32, _F64)
    ax = x if x >= c.zero else -x
    s, p = expm1_parts(-c.two * ax)
    e = s * p + (s - c.one)                     # expm1(-2|x|), in (-1, 0]
    t = -e / (e + c.two)
    return t if x > c.zero else (-t if x < c.zero else x)   # tanh(+-0) = +-0, NaN stays NaN


def _numpy_sigmoid(x):
    return 1 / (1 + np.exp(-x))


# Under NUMBA_DISABLE_JIT=1 the functions run as Python, where the bit-cast intrinsics have no form: numpy's.
sigmoid, tanh = (_numpy_sigmoid, np.tanh) if numba.config.DISABLE_JIT else (_sigmoid, _tanh)
