"""The special functions numpy lacks (scipy is not a dependency), per element, for primitives.Lgamma, Polygamma,
Erfc, Erfinv, LogNdtr and Ndtri: lgamma and erfc are libm's (math.lgamma, math.erfc, as Numba compiles them); digamma,
trigamma and the Hurwitz zeta behind polygamma are torch's (Cephes') series, erfinv is an approximation refined
by Newton steps on libm's erf. Each is evaluated in float64 (a float32 argument is exact there) and rounded once
to the array's dtype: torch computes float32 in float32, so float32 results may differ from its by an ulp or two.
"""
import math

import numpy as np

from . import njit

# digamma's asymptotic series in 1/x^2, highest power first (Cephes' psi, as torch's calc_digamma)
_PSI_A = np.array([8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
                   -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
                   8.33333333333333333333E-2])
# Euler-Maclaurin's coefficients for the Hurwitz zeta (Cephes' zeta, as torch's)
_ZETA_A = np.array([12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
                    -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
                    1.8152105401943546773e17, -7.1661652561756670113e18])
_MACHEP = 1.11022302462515654042E-16


@njit(nogil=True, error_model="numpy")
def _digamma(x):
    if x == 0:
        return math.copysign(math.inf, -x)   # torch: -inf at +0, +inf at -0
    if x < 0:
        if x == math.floor(x):
            return math.nan                  # the poles at the negative integers
        return _digamma(1 - x) - math.pi / math.tan(math.pi * x)   # the reflection formula
    result = 0.0
    while x < 10:
        result -= 1 / x
        x += 1
    if x == 10:
        return result + 2.25175258906672110764
    y = 0.0
    if x < 1e17:
        z = 1 / (x * x)
        p = 0.0
        for c in _PSI_A:
            p = p * z + c
        y = z * p
    return result + math.log(x) - 0.5 / x - y


@njit(nogil=True, error_model="numpy")
def _trigamma(x):
    sign, result = 1.0, 0.0
    if x < 0.5:   # the reflection formula
        sign = -1.0
        s = math.sin(math.pi * x)
        result -= math.pi * math.pi / (s * s)
        x = 1 - x
    for _ in range(6):
        result += 1 / (x * x)
        x += 1
    ixx = 1 / (x * x)
    result += (1 + 1 / (2 * x) + ixx * (1.0 / 6 - ixx * (1.0 / 30 - ixx * (1.0 / 42)))) / x
    return sign * result


@njit(nogil=True, error_model="numpy")
def _zeta(x, q):
    """The Hurwitz zeta function sum over k >= 0 of (k + q)^-x, for x > 1."""
    if x == 1:
        return math.inf
    if x < 1:
        return math.nan
    if q <= 0:
        if q == math.floor(q):
            return math.inf
        if x != math.floor(x):
            return math.nan
    s = q ** -x
    a, b, i = q, 0.0, 0
    while i < 9 or a <= 9:
        i += 1
        a += 1
        b = a ** -x
        s += b
        if abs(b / s) < _MACHEP:
            return s
    w = a
    s += b * w / (x - 1) - 0.5 * b
    a, k = 1.0, 0.0
    for c in _ZETA_A:
        a *= x + k
        b /= w
        t = a * b / c
        s += t
        if abs(t / s) < _MACHEP:
            return s
        k += 1
        a *= x + k
        b /= w
        k += 1
    return s


@njit(nogil=True, error_model="numpy")
def _polygamma(n, x):
    if n == 0:
        return _digamma(x)
    if n == 1:
        return _trigamma(x)
    sign = 1.0 if n % 2 else -1.0
    return sign * math.exp(math.lgamma(n + 1.0)) * _zeta(n + 1.0, x)


@njit(nogil=True, error_model="numpy")
def _erfinv(y):
    if not -1 <= y <= 1:
        return math.nan
    if abs(y) == 1:
        return math.copysign(math.inf, y)
    # Giles' single-precision approximation, then Newton steps on erf (each doubles the digits)
    w = -math.log((1 - y) * (1 + y))
    if w < 5:
        w -= 2.5
        p = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164,
                  0.246640727, 1.50140941):
            p = c + p * w
    else:
        w = math.sqrt(w) - 3
        p = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                  1.00167406, 2.83297682):
            p = c + p * w
    x = p * y
    for _ in range(2):
        x -= (math.erf(x) - y) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


@njit(nogil=True, error_model="numpy")
def _log_ndtr(x):
    """log of the standard normal CDF: log1p of the small tail above -1 (log of a number near 1 loses it); below -20
    erfc underflows on the way, so the asymptotic series there."""
    if x > -1:
        return math.log1p(-0.5 * math.erfc(x / math.sqrt(2)))
    if x > -20:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2)))
    z = 1 / (x * x)
    series = 1 - z * (1 - 3 * z * (1 - 5 * z * (1 - 7 * z)))
    return -0.5 * x * x - math.log(-x) - 0.5 * math.log(2 * math.pi) + math.log(series)


@njit(nogil=True, error_model="numpy")
def _ndtri(p):
    """The standard normal quantile: a first guess (erfinv's, or the tail's asymptote where 2 p - 1 rounds to -1),
    then Newton steps on log_ndtr(x) = log(p), which keep their relative digits down to p = 1e-300."""
    if not 0 <= p <= 1:
        return math.nan
    if p == 0 or p == 1:
        return -math.inf if p == 0 else math.inf
    if p > 0.5:
        return -_ndtri(1 - p)   # exact: 1 - p has no rounding for p in [0.5, 1]
    if p > 1e-10:
        x = math.sqrt(2) * _erfinv(2 * p - 1)
    else:
        t = -2 * math.log(p)
        x = -math.sqrt(t - math.log(t) - math.log(2 * math.pi))
    target = math.log(p)
    for _ in range(4):
        log_cdf = _log_ndtr(x)
        x -= (log_cdf - target) / (math.exp(-0.5 * x * x - log_cdf) / math.sqrt(2 * math.pi))
    return x


@njit(nogil=True, error_model="numpy")
def _bessel_i_scaled(order, x):
    """exp(-|x|) times the modified Bessel function I0 or I1 (order 0, 1). Up to |x| = 30 the power series, sum
    over k of (x^2/4)^k / (k! (k + order)!) (times x/2 for I1), all of whose terms are positive (so the sum keeps
    its relative digits); beyond, the asymptotic series 1/sqrt(2 pi |x|) (1 - (m-1)/(8|x|) + (m-1)(m-9)/(2! (8|x|)^2)
    - ...), m = 4 order^2, summed while its terms shrink (they reach 1e-17 long before they turn). torch's
    i0/i1 are NaN at +-inf (its Chebyshev tables), so ours are too; its i0e/i1e are (signed) 0 there."""
    if math.isnan(x):
        return x
    if math.isinf(x):
        return 0.0 if order == 0 else math.copysign(0.0, x)
    ax = abs(x)
    if ax <= 30:
        quarter = x * x / 4
        term, total, k = 1.0, 1.0, 0
        while term > 1e-17 * total or k * k < quarter:
            k += 1
            term *= quarter / (k * (k + order))
            total += term
        if order == 1:
            total *= x / 2
        return total * math.exp(-ax)
    m = 4.0 * order * order
    term, total = 1.0, 1.0
    for k in range(1, 40):
        factor = -(m - (2 * k - 1) ** 2) / (k * 8 * ax)
        if abs(factor) >= 1:
            break
        term *= factor
        total += term
        if abs(term) < 1e-17 * abs(total):
            break
    total /= math.sqrt(2 * math.pi * ax)
    return total if order == 0 or x > 0 else -total


@njit(nogil=True, error_model="numpy")
def _bessel_i(order, x):
    if math.isinf(x):
        return math.nan
    scaled = _bessel_i_scaled(order, x)
    return scaled * math.exp(abs(x)) if abs(x) < 700 else scaled * math.exp(abs(x) / 2) * math.exp(abs(x) / 2)


@njit(nogil=True, error_model="numpy")
def _gammainc_series(a, x):
    """P(a, x) by its series x^a e^-x / Gamma(a) sum_n x^n / (a (a + 1) ... (a + n)): fast below x = a + 1."""
    term = 1 / a
    total, n = term, a
    for _ in range(100000):
        n += 1
        term *= x / n
        total += term
        if abs(term) < abs(total) * 1e-17:
            break
    return total * math.exp(a * math.log(x) - x - math.lgamma(a))


@njit(nogil=True, error_model="numpy")
def _gammaincc_fraction(a, x):
    """Q(a, x) by Lentz's evaluation of its continued fraction: fast above x = a + 1."""
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 100000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-16:
            break
    return math.exp(a * math.log(x) - x - math.lgamma(a)) * h


@njit(nogil=True, error_model="numpy")
def _gammainc(a, x, upper):
    """The regularised incomplete gamma P(a, x) (upper: Q = 1 - P), Numerical Recipes' way: the series of P below
    x = a + 1, the continued fraction of Q above, so that the smaller of P, Q is the one computed and neither loses
    its digits to 1 - the other; torch's values at the edges (a or x 0 or infinite)."""
    if math.isnan(a) or math.isnan(x) or a < 0 or x < 0 or (math.isinf(a) and math.isinf(x)) or a == x == 0:
        return math.nan
    if math.isinf(a) or x == 0:
        lower = 0.0
    elif a == 0 or math.isinf(x):
        lower = 1.0
    elif x < a + 1:
        lower = _gammainc_series(a, x)
    else:
        q = _gammaincc_fraction(a, x)
        return q if upper else 1 - q
    return 1 - lower if upper else lower


@njit(nogil=True, error_model="numpy")
def _gammainc_into(a, x, upper, out):
    for i in range(out.shape[0]):
        out[i] = _gammainc(np.float64(a[i]), np.float64(x[i]), upper)


def gammainc(a, x, upper=False):
    """The regularised lower (upper: upper) incomplete gamma of arrays a and x of one shape, in x's dtype."""
    out = np.empty(x.size, x.dtype)
    _gammainc_into(np.ascontiguousarray(a).reshape(-1), np.ascontiguousarray(x).reshape(-1), upper, out)
    return out.reshape(x.shape)


@njit(nogil=True, error_model="numpy")
def _apply_into(op, n, a, out):
    for i in range(a.shape[0]):
        x = np.float64(a[i])
        if op == 0:
            out[i] = math.lgamma(x) if not (x <= 0 and x == math.floor(x)) else math.inf
        elif op == 1:
            out[i] = _polygamma(n, x)
        elif op == 2:
            out[i] = math.erfc(x)
        elif op == 3:
            out[i] = _erfinv(x)
        elif op == 5:
            out[i] = _ndtri(x)
        elif op == 6:
            out[i] = _bessel_i(n, x)
        elif op == 7:
            out[i] = _bessel_i_scaled(n, x)
        else:
            out[i] = _log_ndtr(x)


_OPS = {"lgamma": 0, "polygamma": 1, "erfc": 2, "erfinv": 3, "log_ndtr": 4, "ndtri": 5, "bessel_i": 6, "bessel_ie": 7}


def special(name, a, n=0):
    """The special function `name` (lgamma, polygamma of order n, erfc, erfinv, log_ndtr, ndtri, bessel_i and the
    scaled bessel_ie of order n) of each element of the float32 or float64 array a, in a new array of a's dtype and
    shape."""
    flat = np.ascontiguousarray(a).reshape(-1)
    out = np.empty(flat.shape, a.dtype)
    _apply_into(_OPS[name], int(n), flat, out)
    return out.reshape(a.shape)


@njit(nogil=True, error_model="numpy")
def _gamma_sample_grad(alpha, x):
    """dx/dalpha of a Gamma(alpha, 1) draw x held at a fixed CDF value: -(dP/dalpha) / pdf, with the regularised
    incomplete gamma P(alpha, x) = x^alpha e^-x / Gamma(alpha + 1) sum_n x^n / ((alpha + 1)...(alpha + n));
    the series S and its derivative S' (each term times -sum 1/(alpha + k)) give -(x / alpha)(S (log x -
    digamma(alpha + 1)) + S'). The terms shrink once n passes x: the loop runs to about x + 40 sqrt(x) + 60."""
    term, harmonic, s, ds = 1.0, 0.0, 1.0, 0.0
    n = 0
    while n < x + 40 * math.sqrt(x) + 60:
        n += 1
        term *= x / (alpha + n)
        harmonic += 1 / (alpha + n)
        s += term
        ds -= term * harmonic
        if term < 1e-17 * s and n > x:
            break
    return -(x / alpha) * (s * (math.log(x) - _digamma(alpha + 1)) + ds)


@njit(nogil=True, error_model="numpy")
def _gamma_grad_into(alpha, x, out):
    for i in range(x.shape[0]):
        out[i] = _gamma_sample_grad(np.float64(alpha[i]), np.float64(x[i]))


def gamma_sample_grad(alpha, x):
    """The implicit reparameterisation gradient dx/dalpha of Gamma(alpha, 1) draws x (arrays of one shape)."""
    flat_x = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat_x.shape, x.dtype)
    _gamma_grad_into(np.ascontiguousarray(alpha).reshape(-1), flat_x, out)
    return out.reshape(x.shape)
