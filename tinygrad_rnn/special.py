"""tr.special, as torch.special (torch 2.13): the special functions under torch's names, each differentiable.

Most are the Tensor's own operations under another name (gammaln is lgamma, expit is sigmoid, psi is digamma);
the rest are compositions of them written so that their edge values are torch's (xlog1py is 0 where x is 0,
entr is -inf below 0, sinc is 1 at 0 with gradient 0 there) or, for log_ndtr, one primitive accurate in both
tails (primitives.LogNdtr).
"""
from __future__ import annotations

import math

import numpy as np

from . import primitives as P
from .tape import apply
from .tensor import Tensor, _tensor_input, where
from .tensor_functions import logsumexp as _logsumexp

__all__ = ["gammaln", "digamma", "psi", "polygamma", "multigammaln", "erf", "erfc", "erfinv", "expit", "logit",
           "xlogy", "xlog1py", "log_softmax", "softmax", "logsumexp", "ndtr", "ndtri", "log_ndtr", "log1p", "expm1",
           "exp2", "entr", "sinc", "round", "i0", "i1", "i0e", "i1e", "gammainc",
           "gammaincc"]


def gammaln(input: Tensor) -> Tensor: return _tensor_input("gammaln", input).lgamma()
def digamma(input: Tensor) -> Tensor: return _tensor_input("digamma", input).digamma()
def polygamma(n: int, input: Tensor) -> Tensor: return _tensor_input("polygamma", input).polygamma(n)
def erf(input: Tensor) -> Tensor: return _tensor_input("erf", input).erf()
def erfc(input: Tensor) -> Tensor: return _tensor_input("erfc", input).erfc()
def erfinv(input: Tensor) -> Tensor: return _tensor_input("erfinv", input).erfinv()
def expit(input: Tensor) -> Tensor: return _tensor_input("expit", input).sigmoid()
def logit(input: Tensor, eps: float | None = None) -> Tensor: return _tensor_input("logit", input).logit(eps)
def log1p(input: Tensor) -> Tensor: return _tensor_input("log1p", input).log1p()
def expm1(input: Tensor) -> Tensor: return _tensor_input("expm1", input).expm1()
def exp2(input: Tensor) -> Tensor: return _tensor_input("exp2", input).exp2()
def round(input: Tensor, *, decimals: int = 0) -> Tensor: return _tensor_input("round", input).round(decimals=decimals)


psi = digamma


def multigammaln(input: Tensor, p: int) -> Tensor:
    """log of the multivariate gamma function of dimension p: `p (p - 1) / 4 log(pi)` plus the sum over
    `j < p` of `lgamma(x - j / 2)`; torch refuses elements <= (p - 1) / 2."""
    x = _tensor_input("multigammaln", input)
    if not np.all(x._data > (p - 1) / 2):
        raise RuntimeError(f"All elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    terms = [(x - j / 2).lgamma() for j in range(p)]
    return sum(terms[1:], terms[0]) + p * (p - 1) / 4 * math.log(math.pi)


def xlogy(input: Tensor | float, other: Tensor | float) -> Tensor:
    from .tensor import xlogy as _xlogy
    return _xlogy(input, other)


def xlog1py(input: Tensor | float, other: Tensor | float) -> Tensor:
    """input * log1p(other), 0 where input is 0 (other -1 too), NaN where other is NaN, as torch's."""
    x = input if isinstance(input, Tensor) else _tensor_input("xlog1py", other)._numeric()._operand(input)
    y = other if isinstance(other, Tensor) else x._operand(other)
    product = x * y.log1p()
    zero = where(x == 0, 0.0, product)
    return where(y.isnan(), y, zero)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    return _tensor_input("log_softmax", input).log_softmax(dim, dtype)


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    return _tensor_input("softmax", input).softmax(dim, dtype)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    return _logsumexp(input, dim, keepdim)


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, `erfc(-x / sqrt(2)) / 2` (erfc keeps the left tail's digits)."""
    return (_tensor_input("ndtr", input)._numeric() * (-1 / math.sqrt(2))).erfc() * 0.5


def ndtri(input: Tensor) -> Tensor:
    """The standard normal quantile function (-inf at 0, inf at 1, NaN outside), accurate down to p = 1e-300."""
    return apply(P.Ndtri, _tensor_input("ndtri", input)._numeric())


def log_ndtr(input: Tensor) -> Tensor:
    """log of the standard normal CDF, accurate in both tails (x = -100 gives -5005.5...), as torch's."""
    return apply(P.LogNdtr, _tensor_input("log_ndtr", input)._numeric())


def entr(input: Tensor) -> Tensor:
    """-x log(x) elementwise: 0 at 0, -inf below 0, as torch's (gradient -(log x + 1))."""
    return apply(P.Entr, _tensor_input("entr", input)._numeric())


def gammainc(input: Tensor, other: Tensor) -> Tensor:
    """The regularised lower incomplete gamma P(input, other), as torch.special.gammainc; gradient for other only
    (torch's: input's is a NotImplementedError)."""
    return _gammainc("gammainc", input, other, False)


def gammaincc(input: Tensor, other: Tensor) -> Tensor:
    """The regularised upper incomplete gamma Q = 1 - P, as torch.special.gammaincc (its digits kept where P is
    near 1)."""
    return _gammainc("gammaincc", input, other, True)


def _gammainc(fn, input, other, upper):
    a = _tensor_input(fn, input)._numeric()
    x = a._operand(other._numeric() if isinstance(other, Tensor) else other)
    return apply(P.Gammainc, a, x, upper=upper)


def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0, as torch.special.i0; gradient i1."""
    return apply(P.BesselI, _tensor_input("i0", input)._numeric(), n=0)


def i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 1, as torch.special.i1; gradient i0 - i1 / x."""
    return apply(P.BesselI, _tensor_input("i1", input)._numeric(), n=1)


def i0e(input: Tensor) -> Tensor:
    """exp(-|x|) i0(x), as torch.special.i0e (finite where i0 overflows); gradient i1e(x) - sign(x) i0e(x)."""
    return apply(P.BesselI, _tensor_input("i0e", input)._numeric(), n=0, scaled=True)


def i1e(input: Tensor) -> Tensor:
    """exp(-|x|) i1(x), as torch.special.i1e (finite where i1 overflows)."""
    return apply(P.BesselI, _tensor_input("i1e", input)._numeric(), n=1, scaled=True)


def sinc(input: Tensor) -> Tensor:
    """The normalised sinc, `sin(pi x) / (pi x)`, 1 at 0 (gradient 0 there), as torch's."""
    x = _tensor_input("sinc", input)._numeric()
    at_zero = x == 0
    safe = where(at_zero, 1.0, x) * math.pi
    return where(at_zero, 1.0, safe.sin() / safe)
