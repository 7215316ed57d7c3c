"""VonMises, as torch's (torch 2.13): the circular normal on [-pi, pi), density exp(k cos(x - loc)) / (2 pi I0(k)).
log I0 and log I1 are torch's polynomial approximations (Abramowitz and Stegun 9.8.1-4, about 1e-7 relative),
so that log_prob and variance are torch's numbers; draws are torch's rejection sampler (Best and Fisher, 1979) in
float64 from the library's generator. Not reparameterised, as torch's."""
from __future__ import annotations

import math

import numpy as np

from .. import random
from ..tensor import Tensor, where
from . import constraints
from .distribution import Distribution, broadcast_params, constant

__all__ = ["VonMises"]

_I0_COEF_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813]
_I0_COEF_LARGE = [0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706, 0.02635537,
                  -0.01647633, 0.00392377]
_I1_COEF_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411]
_I1_COEF_LARGE = [0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967, -0.02895312,
                  0.01787654, -0.00420059]


def _eval_poly(y, coef):
    result = coef[-1]
    for c in reversed(coef[:-1]):
        result = c + y * result
    return result


def log_modified_bessel(x: Tensor, order: int = 0) -> Tensor:
    """log I_order(x), order 0 or 1, x > 0: torch's _log_modified_bessel_fn (a series below 3.75, an asymptotic
    polynomial above)."""
    y = (x / 3.75) ** 2
    small = _eval_poly(y, _I1_COEF_SMALL if order else _I0_COEF_SMALL)
    small = (x.abs() * small if order else small).log()
    large = x - 0.5 * x.log() + _eval_poly(3.75 / x, _I1_COEF_LARGE if order else _I0_COEF_LARGE).log()
    return where(x < 3.75, small, large)


def _rejection_sample(loc, kappa, proposal_r, shape):
    """torch's sampler on float64 arrays: accepted draws replace x until every entry has one."""
    generator = random.resolve("VonMises.sample", None)
    x = np.zeros(shape)
    done = np.zeros(shape, dtype=bool)
    while not done.all():
        u1, u2, u3 = generator.random((3,) + tuple(shape))
        z = np.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = kappa * (proposal_r - f)
        with np.errstate(divide="ignore", invalid="ignore"):
            accept = (c * (2 - c) - u2 > 0) | (np.log(c / u2) + 1 - c >= 0)
        x = np.where(accept & ~done, np.sign(u3 - 0.5) * np.arccos(np.clip(f, -1, 1)), x)
        done |= accept
    return np.mod(x + math.pi + loc, 2 * math.pi) - math.pi


class VonMises(Distribution):
    """VonMises(loc, concentration, validate_args=None)."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_params(loc=loc, concentration=concentration)
        super().__init__(self.loc.shape, (), validate_args)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        log_prob = self.concentration * (value - self.loc).cos()
        return log_prob - math.log(2 * math.pi) - log_modified_bessel(self.concentration, 0)

    def _draw(self, sample_shape):
        shape = self._extended_shape(sample_shape)
        kappa = np.broadcast_to(self.concentration._data.astype(np.float64), shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = 1 + np.sqrt(1 + 4 * kappa ** 2)
            rho = (tau - np.sqrt(2 * tau)) / (2 * kappa)
            proposal_r = np.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))
        loc = np.broadcast_to(self.loc._data.astype(np.float64), shape)
        return constant(_rejection_sample(loc, kappa, proposal_r, shape).astype(self.loc.dtype))

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)

    @property
    def variance(self) -> Tensor:
        c = self.concentration
        return 1 - (log_modified_bessel(c, 1) - log_modified_bessel(c, 0)).exp()
