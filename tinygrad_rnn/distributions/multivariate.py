"""The distributions over vectors, as torch's (torch 2.13): Dirichlet, MultivariateNormal,
LowRankMultivariateNormal (covariance W W^T + diag(D), worked through the small capacitance matrix), and Independent (a
batch of distributions read as one over their last batch dims). MultivariateNormal works on the lower Cholesky
factor of its covariance (primitives.Cholesky, SolveTriangular), as torch's does."""
from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from .. import primitives as P
from .. import random
from ..tape import apply
from ..tensor import Tensor, where
from . import constraints
from .distribution import Distribution, as_param, constant, sample_shape_of, standard_gamma
from .exp_family import ExponentialFamily

__all__ = ["Dirichlet", "MultivariateNormal", "LowRankMultivariateNormal", "Independent"]


class Dirichlet(ExponentialFamily):
    """Dirichlet(concentration, validate_args=None): a distribution over the simplex of the last dim;
    reparameterised (normalised Gamma draws, differentiable in concentration through them)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args: bool | None = None) -> None:
        concentration = as_param("concentration", concentration)
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args)

    def rsample(self, sample_shape=()) -> Tensor:
        gammas = standard_gamma(self.concentration, self._extended_shape(sample_shape_of(sample_shape)))
        return (gammas / gammas.sum(-1, keepdim=True)).clamp(min=float(np.finfo(gammas.dtype).tiny))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.concentration.dtype)
        a = self.concentration
        return (a - 1).xlogy(value).sum(-1) + a.sum(-1).lgamma() - a.lgamma().sum(-1)

    def entropy(self) -> Tensor:
        a = self.concentration
        k, a0 = a.shape[-1], a.sum(-1)
        return a.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma() - ((a - 1.0) * a.digamma()).sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        """(a - 1)+ normalised; where every a < 1, the vertex of the largest (torch's)."""
        above = (self.concentration - 1).clamp(min=0.0)
        all_below = np.all(self.concentration._data < 1, axis=-1, keepdims=True)
        total = above.sum(-1, keepdim=True)
        mode = above / where(constant(all_below), 1.0, total)   # (no 0 / 0 where the vertex replaces it)
        vertex = np.eye(self._event_shape[0], dtype=mode.dtype)[np.asarray(mode._data).argmax(-1)]
        return where(constant(np.broadcast_to(all_below, mode.shape)), constant(vertex), mode)

    @property
    def variance(self) -> Tensor:
        a0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (a0 - self.concentration) / (a0 ** 2 * (a0 + 1))

    # torch's natural parameter (the concentration) and no _mean_carrier_measure, as Beta's
    _natural_params = property(lambda self: (self.concentration,))

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - x.sum(-1).lgamma()


def _cholesky(a):
    return apply(P.Cholesky, a)


def _solve_lower(L, b):
    return apply(P.SolveTriangular, L, b)


def mahalanobis(L, diff):
    """`|L^-1 diff|^2` over the last dim (torch's _batch_mahalanobis), L and diff broadcast over their batch dims."""
    shape = tuple(np.broadcast_shapes(L.shape[:-2], diff.shape[:-1]))
    whitened = _solve_lower(L.expand((shape + L.shape[-2:])), diff.expand((shape + diff.shape[-1:])).unsqueeze(-1))
    return (whitened.squeeze(-1) ** 2).sum(-1)


def _precision_to_scale_tril(precision):
    """torch's: the Cholesky factor of the flipped precision, flipped and transposed, then inverted."""
    flipped = _cholesky(precision.flip((-2, -1)))
    inverse_factor = flipped.flip((-2, -1)).transpose(-2, -1)
    eye = constant(np.broadcast_to(np.eye(precision.shape[-1], dtype=precision.dtype), precision.shape))
    return _solve_lower(inverse_factor, eye)


class _ScaleTrilMatrices:
    """scale_tril, covariance_matrix and precision_matrix (each of the batch's shape) from the lower Cholesky factor
    `_unbroadcasted_scale_tril` a distribution keeps, computed when first read: MultivariateNormal's and Wishart's."""

    def _full(self, matrix):
        return matrix.expand(tuple(self._batch_shape) + matrix.shape[-2:])

    @cached_property
    def scale_tril(self) -> Tensor:
        return self._full(self._unbroadcasted_scale_tril)

    @cached_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        return self._full(L @ L.transpose(-2, -1))

    @cached_property
    def precision_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        eye = constant(np.broadcast_to(np.eye(L.shape[-1], dtype=L.dtype), L.shape))
        inverse = _solve_lower(L, eye)
        return self._full(inverse.transpose(-2, -1) @ inverse)


class MultivariateNormal(_ScaleTrilMatrices, Distribution):
    """MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
    N(loc, covariance) over the last dim; exactly one of the three matrices; reparameterised
    (loc + scale_tril @ noise)."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args: bool | None = None) -> None:
        loc = as_param("loc", loc)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix), ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        name, matrix = given[0]
        matrix = as_param(name, matrix)
        if matrix.ndim < 2:
            what = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(f"{what} must be at least two-dimensional, with optional leading batch dimensions")
        batch_shape = tuple(np.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1]))
        setattr(self, name, matrix.expand((batch_shape + matrix.shape[-2:])))
        self.loc = loc.expand((batch_shape + loc.shape[-1:]))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = _cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        for name in ("scale_tril", "covariance_matrix", "precision_matrix"):
            new.__dict__.pop(name, None)
        given = [n for n in ("covariance_matrix", "precision_matrix", "scale_tril") if n in self.__dict__]
        for name in given:
            new.__dict__[name] = self.__dict__[name].expand((tuple(batch_shape) + self._event_shape * 2))
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        noise = constant(random.normal("MultivariateNormal.rsample", shape, self.loc.dtype, 0.0, 1.0))
        return self.loc + (self._unbroadcasted_scale_tril @ noise.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        maha = mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + maha) - self._half_log_det()

    def entropy(self) -> Tensor:
        h = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h if tuple(h.shape) == self._batch_shape else h.expand(self._batch_shape)

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)

    @property
    def variance(self) -> Tensor:
        return (self._unbroadcasted_scale_tril ** 2).sum(-1).expand((self._batch_shape + self._event_shape))


def _eye_like(a: Tensor) -> Tensor:
    return constant(np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape))


def _capacitance_tril(W, D):
    """The Cholesky factor of I + W^T D^-1 W (m x m, m the rank), torch's _batch_capacitance_tril."""
    Wt_Dinv = W.transpose(-2, -1) / D.unsqueeze(-2)
    K = Wt_Dinv @ W
    return _cholesky(K + _eye_like(K))


def _batch_mv(matrix, vector):
    return (matrix @ vector.unsqueeze(-1)).squeeze(-1)


class LowRankMultivariateNormal(Distribution):
    """LowRankMultivariateNormal(loc, cov_factor, cov_diag, validate_args=None): N(loc, cov_factor cov_factor^T +
    diag(cov_diag)) over the last dim (cov_factor (..., n, m), cov_diag (..., n)); reparameterised
    (loc + W eps_W + sqrt(D) eps_D). log_prob and entropy use the Woodbury identity as torch's."""

    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args: bool | None = None) -> None:
        loc, cov_factor, cov_diag = (as_param("loc", loc), as_param("cov_factor", cov_factor),
                                     as_param("cov_diag", cov_diag))
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = tuple(loc.shape[-1:])
        if cov_factor.ndim < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != event_shape:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {event_shape[0]} x m")
        if tuple(cov_diag.shape[-1:]) != event_shape:
            raise ValueError(f"cov_diag must be a batch of vectors with shape torch.Size({list(event_shape)})")
        try:
            shape = tuple(np.broadcast_shapes(tuple(loc.shape) + (1,), tuple(cov_factor.shape),
                                              tuple(cov_diag.shape) + (1,)))
        except ValueError as e:
            raise ValueError(f"Incompatible batch shapes: loc torch.Size({list(loc.shape)}), cov_factor "
                             f"torch.Size({list(cov_factor.shape)}), cov_diag torch.Size({list(cov_diag.shape)})"
                             ) from e
        self.cov_factor = cov_factor.expand(shape)
        self.loc, self.cov_diag = loc.expand(shape[:-1]), cov_diag.expand(shape[:-1])
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = cov_factor, cov_diag
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)
        super().__init__(shape[:-2], event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        for name in ("variance", "scale_tril", "covariance_matrix", "precision_matrix"):
            new.__dict__.pop(name, None)
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        return new

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)

    def _full(self, t, matrix=True):
        return t.expand(self._batch_shape + self._event_shape * (2 if matrix else 1))

    @cached_property
    def variance(self) -> Tensor:
        return self._full((self._unbroadcasted_cov_factor ** 2).sum(-1) + self._unbroadcasted_cov_diag, False)

    @cached_property
    def scale_tril(self) -> Tensor:
        sqrt_d = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        Dinvsqrt_W = self._unbroadcasted_cov_factor / sqrt_d
        K = Dinvsqrt_W @ Dinvsqrt_W.transpose(-2, -1)
        return self._full(sqrt_d * _cholesky(K + _eye_like(K)))

    @cached_property
    def covariance_matrix(self) -> Tensor:
        W = self._unbroadcasted_cov_factor
        return self._full(W @ W.transpose(-2, -1) + _diag(self._unbroadcasted_cov_diag))

    @cached_property
    def precision_matrix(self) -> Tensor:
        Wt_Dinv = self._unbroadcasted_cov_factor.transpose(-2, -1) / self._unbroadcasted_cov_diag.unsqueeze(-2)
        L = self._capacitance_tril
        batch = tuple(np.broadcast_shapes(L.shape[:-2], Wt_Dinv.shape[:-2]))
        A = _solve_lower(L.expand(batch + L.shape[-2:]), Wt_Dinv.expand(batch + Wt_Dinv.shape[-2:]))
        return self._full(_diag(self._unbroadcasted_cov_diag.reciprocal()) - A.transpose(-2, -1) @ A)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape_of(sample_shape))
        w_shape = shape[:-1] + tuple(self.cov_factor.shape[-1:])
        eps_w = constant(random.normal("LowRankMultivariateNormal.rsample", w_shape, self.loc.dtype, 0.0, 1.0))
        eps_d = constant(random.normal("LowRankMultivariateNormal.rsample", shape, self.loc.dtype, 0.0, 1.0))
        return (self.loc + _batch_mv(self._unbroadcasted_cov_factor, eps_w)
                + self._unbroadcasted_cov_diag.sqrt() * eps_d)

    def _log_det(self):
        return 2 * self._capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + \
            self._unbroadcasted_cov_diag.log().sum(-1)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc.dtype)
        diff = value - self.loc
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        Wt_Dinv_x = _batch_mv(W.transpose(-2, -1) / D.unsqueeze(-2), diff)
        maha = (diff ** 2 / D).sum(-1) - mahalanobis(self._capacitance_tril, Wt_Dinv_x)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + self._log_det() + maha)

    def entropy(self) -> Tensor:
        h = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return h if not self._batch_shape or tuple(h.shape) == self._batch_shape else h.expand(self._batch_shape)


def _diag(d: Tensor) -> Tensor:
    return d.unsqueeze(-1) * constant(np.eye(d.shape[-1], dtype=d.dtype))


class Independent(Distribution):
    """Independent(base_distribution, reinterpreted_batch_ndims, validate_args=None): the base's last
    reinterpreted_batch_ndims batch dims read as event dims (log_prob and entropy summed over them)."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None) -> None:
        n, batch = reinterpreted_batch_ndims, base_distribution.batch_shape
        if n > len(batch):
            raise ValueError(f"Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), actual "
                             f"{n} vs {len(batch)}")
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        split = len(batch) - n
        super().__init__(batch[:split], batch[split:] + base_distribution.event_shape, validate_args)

    has_rsample = property(lambda self: self.base_dist.has_rsample)
    has_enumerate_support = property(lambda self: self.reinterpreted_batch_ndims == 0
                                     and self.base_dist.has_enumerate_support)
    support = property(lambda self: constraints.independent(self.base_dist.support, self.reinterpreted_batch_ndims))

    def _summed(self, t):
        n = self.reinterpreted_batch_ndims
        return t.sum(tuple(range(-n, 0))) if n else t

    def expand(self, batch_shape, _instance=None):
        new = Independent.__new__(Independent)
        new.__dict__.update(self.__dict__)
        new.base_dist = self.base_dist.expand(tuple(batch_shape) + self._event_shape[:self.reinterpreted_batch_ndims])
        new._batch_shape = tuple(batch_shape)
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def _draw(self, sample_shape):
        return self.base_dist.sample(sample_shape)

    def log_prob(self, value) -> Tensor:
        return self._summed(self.base_dist.log_prob(value))

    def entropy(self) -> Tensor:
        return self._summed(self.base_dist.entropy())

    def cdf(self, value) -> Tensor:
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    mean = property(lambda self: self.base_dist.mean)
    mode = property(lambda self: self.base_dist.mode)
    variance = property(lambda self: self.base_dist.variance)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
