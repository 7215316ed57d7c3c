"""Wishart, as torch's (torch 2.13): a distribution over positive-definite p x p matrices, sum of df outer
products of N(0, covariance) vectors; given by one of covariance_matrix, precision_matrix or scale_tril.
Reparameterised by torch's Bartlett decomposition (Chi2 draws on the diagonal, normals below it), with torch's
redraw of singular samples; log_prob and entropy torch's (multigammaln, the multivariate digamma)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import random
from ..linalg import slogdet
from ..special import multigammaln
from ..tensor import Tensor, where
from . import constraints
from .continuous import Chi2
from .distribution import as_param, constant, sample_shape_of
from .exp_family import ExponentialFamily
from .multivariate import _cholesky, _precision_to_scale_tril, _ScaleTrilMatrices, _solve_lower

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    if not np.all(x._data > (p - 1) / 2):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    return (x.unsqueeze(-1) - constant(np.arange(p, dtype=x.dtype) / 2)).digamma().sum(-1)


class Wishart(_ScaleTrilMatrices, ExponentialFamily):
    """Wishart(df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None): df >
    p - 1 (a warning below p: singular draws are likely, as torch's)."""

    support = constraints.positive_definite
    has_rsample = True

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self._event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args: bool | None = None) -> None:
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix), ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if m is not None]
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        name, param = given[0]
        param = as_param(name, param)
        if param.ndim < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, Tensor):
            batch_shape = tuple(np.broadcast_shapes(param.shape[:-2], df.shape))
            self.df = df.expand(batch_shape)
        else:
            batch_shape = tuple(param.shape[:-2])
            self.df = as_param("df", df, param.dtype)
        p = param.shape[-1]
        if np.any(self.df._data <= p - 1):
            shown = df._data if isinstance(df, Tensor) else df
            raise ValueError(f"Value of df={shown} expected to be greater than ndim - 1 = {p - 1}.")
        setattr(self, name, param.expand(batch_shape + tuple(param.shape[-2:])))
        if np.any(self.df._data < p):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        self._event_shape = tuple(param.shape[-2:])   # (arg_constraints reads it before the base sets it)
        super().__init__(batch_shape, param.shape[-2:], validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = param
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = _cholesky(param)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(param)
        self._dist_chi2 = self._chi2(batch_shape)

    def _chi2(self, batch_shape):
        offsets = constant(np.arange(self._event_shape[-1], dtype=self.df.dtype))
        return Chi2((self.df.unsqueeze(-1) - offsets).expand(tuple(batch_shape) + (self._event_shape[-1],)),
                    validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        for name in ("scale_tril", "covariance_matrix", "precision_matrix"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(tuple(batch_shape) + self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(tuple(batch_shape) + self._event_shape)
        new.df = self.df.expand(tuple(batch_shape))
        new._dist_chi2 = new._chi2(batch_shape)
        return new

    def _df_matrix(self):
        return self.df.reshape(self._batch_shape + (1, 1))

    mean = property(lambda self: self._df_matrix() * self.covariance_matrix)

    @property
    def mode(self) -> Tensor:
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = where(factor <= 0, math.nan, factor)
        return factor.reshape(self._batch_shape + (1, 1)) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        V = self.covariance_matrix
        diag = V.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (V ** 2 + diag.unsqueeze(-1) * diag.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape):
        p = self._event_shape[-1]
        sqrt_chi2 = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=float(np.finfo(self.df.dtype).eps))
        shape = tuple(sample_shape) + self._batch_shape + (p, p)
        below = np.tril(random.normal("Wishart.rsample", shape, self.df.dtype, 0.0, 1.0), -1)
        noise = sqrt_chi2.unsqueeze(-1) * constant(np.eye(p, dtype=self.df.dtype)) + constant(below)
        chol = self._unbroadcasted_scale_tril @ noise
        return chol @ chol.transpose(-2, -1)

    def rsample(self, sample_shape=(), max_try_correction=None) -> Tensor:
        """Bartlett draws; a draw that is not positive definite is drawn again (torch's warning), up to
        max_try_correction (10) times."""
        sample_shape = sample_shape_of(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        singular = ~np.asarray(self.support.check(sample))
        if singular.any():
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(10 if max_try_correction is None else max_try_correction):
                fresh = self._bartlett_sampling(sample_shape)
                sample = where(constant(singular[..., None, None]), fresh, sample)
                singular = ~np.asarray(self.support.check(sample))
                if not singular.any():
                    break
        return sample

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.df.dtype)
        nu, p, L = self.df, self._event_shape[-1], self._unbroadcasted_scale_tril
        batch = tuple(np.broadcast_shapes(L.shape[:-2], value.shape[:-2]))
        L_full, v_full = L.expand(batch + (p, p)), value.expand(batch + (p, p))
        whitened = _solve_lower(L_full, _solve_lower(L_full, v_full).transpose(-2, -1))   # L^-1 V L^-T
        return (-nu * (p * _LOG_2 / 2 + L.diagonal(dim1=-2, dim2=-1).log().sum(-1)) - multigammaln(nu / 2, p)
                + (nu - p - 1) / 2 * slogdet(value).logabsdet - whitened.diagonal(dim1=-2, dim2=-1).sum(-1) / 2)

    def entropy(self) -> Tensor:
        nu, p = self.df, self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det) + multigammaln(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return -self.precision_matrix / 2, (self.df - self._event_shape[-1] - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return (y + (p + 1) / 2) * (-slogdet(-2 * x).logabsdet + _LOG_2 * p) + multigammaln(y + (p + 1) / 2, p)
