"""The sets a parameter or a value must lie in, as torch.distributions.constraints: each has torch's repr (the
words of a validation error) and check(value), a boolean array (per batch entry: an event's elements are checked
together for the event constraints simplex, one_hot, positive_definite...)."""
from __future__ import annotations

import numpy as np

__all__ = ["Constraint", "real", "real_vector", "positive", "nonnegative", "unit_interval", "boolean", "simplex",
           "nonnegative_integer", "positive_definite", "lower_cholesky", "one_hot", "greater_than", "less_than",
           "greater_than_eq", "interval", "half_open_interval", "integer_interval", "independent", "dependent",
           "is_dependent", "positive_integer", "lower_triangular", "corr_cholesky", "square", "symmetric",
           "positive_semidefinite", "cat", "stack", "multinomial", "dependent_property", "MixtureSameFamilyConstraint"]


def _array(value):
    return np.asarray(getattr(value, "data", value))


class Constraint:
    is_discrete = False
    event_dim = 0

    def check(self, value) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Dependent(Constraint):
    """A set that depends on other parameters (Uniform's low and high): not checked on its own (check is torch's
    ValueError). is_discrete and event_dim are known only when given (`dependent(is_discrete=True, event_dim=1)`);
    otherwise reading them is torch's NotImplementedError."""

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._is_discrete, self._event_dim = is_discrete, event_dim

    @property
    def is_discrete(self) -> bool:
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self) -> int:
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        if is_discrete is NotImplemented:
            is_discrete = self._is_discrete
        if event_dim is NotImplemented:
            event_dim = self._event_dim
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")

    def __repr__(self) -> str:
        return "Dependent()"


class _DependentProperty(property, _Dependent):
    """A property on an instance and a dependent constraint on the class, as torch's `dependent_property`:
    `@constraints.dependent_property(is_discrete=False, event_dim=0) def support(self): ...`."""

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)

    def __repr__(self) -> str:
        return "Dependent()"


class Real(Constraint):
    def check(self, value):
        a = _array(value)
        return a == a   # NaN is the one real-typed value outside


class GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return _array(value) > _array(self.lower_bound)

    def __repr__(self) -> str:
        return f"GreaterThan(lower_bound={self.lower_bound})"


class LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return _array(value) < _array(self.upper_bound)

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={self.upper_bound})"


class GreaterThanEq(GreaterThan):
    def check(self, value):
        return _array(value) >= _array(self.lower_bound)

    def __repr__(self) -> str:
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        a = _array(value)
        return (_array(self.lower_bound) <= a) & (a <= _array(self.upper_bound))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class HalfOpenInterval(Interval):
    def check(self, value):
        a = _array(value)
        return (_array(self.lower_bound) <= a) & (a < _array(self.upper_bound))


class Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        a = _array(value)
        return (a == 0) | (a == 1)


class IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        a = _array(value)
        return (a % 1 == 0) & (_array(self.lower_bound) <= a) & (a <= _array(self.upper_bound))

    def __repr__(self) -> str:
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        a = _array(value)
        return (a % 1 == 0) & (a >= self.lower_bound)

    def __repr__(self) -> str:
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        a = _array(value)
        return np.all(a >= 0, axis=-1) & (np.abs(a.sum(-1) - 1) < 1e-6)


class Multinomial(Constraint):
    """Nonnegative counts summing to at most upper_bound (torch checks this weaker condition too)."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        a = _array(value)
        return np.all(a >= 0, axis=-1) & (a.sum(-1) <= self.upper_bound)


class OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value):
        a = _array(value)
        return np.all((a == 0) | (a == 1), axis=-1) & (a.sum(-1) == 1)


class PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value):
        a = _array(value)
        symmetric = np.all(np.isclose(a, np.swapaxes(a, -1, -2), atol=1e-6), axis=(-2, -1))
        with np.errstate(invalid="ignore"):
            return symmetric & np.all(np.linalg.eigvalsh(a) > 0, axis=-1)


class LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        a = _array(value)
        lower = np.all(np.tril(a) == a, axis=(-2, -1))
        return lower & np.all(np.diagonal(a, axis1=-2, axis2=-1) > 0, axis=-1)


class LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        a = _array(value)
        return np.all(np.tril(a) == a, axis=(-2, -1))


class CorrCholesky(Constraint):
    """Lower Cholesky factors whose rows have unit length (to eps * D * 10, torch's tolerance)."""

    event_dim = 2

    def check(self, value):
        a = _array(value)
        tol = np.finfo(a.dtype).eps * a.shape[-1] * 10
        unit_rows = np.all(np.abs(np.linalg.norm(a, axis=-1) - 1.0) <= tol, axis=-1)
        return LowerCholesky().check(a) & unit_rows


class Square(Constraint):
    event_dim = 2

    def check(self, value):
        a = _array(value)
        return np.full(a.shape[:-2], a.shape[-2] == a.shape[-1], dtype=bool)


class Symmetric(Square):
    def check(self, value):
        a = _array(value)
        square = super().check(a)
        if not np.all(square):
            return square
        return np.all(np.isclose(a, np.swapaxes(a, -1, -2), atol=1e-6), axis=(-2, -1))


class PositiveSemidefinite(Symmetric):
    def check(self, value):
        a = _array(value)
        symmetric = super().check(a)
        if not np.all(symmetric):
            return symmetric
        return np.all(np.linalg.eigvalsh(a) >= 0, axis=-1)


class Cat(Constraint):
    """cseq[i] holds on the i-th block (of lengths[i], 1 each by default) along dim."""

    def __init__(self, cseq, dim=0, lengths=None):
        self.cseq, self.dim = list(cseq), dim
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.cseq)
        if len(self.lengths) != len(self.cseq):
            raise AssertionError(f"lengths ({len(self.lengths)}) must match cseq ({len(self.cseq)})")

    is_discrete = property(lambda self: any(c.is_discrete for c in self.cseq))
    event_dim = property(lambda self: max(c.event_dim for c in self.cseq))

    def check(self, value):
        a = _array(value)
        parts, start = [], 0
        for constraint, length in zip(self.cseq, self.lengths):
            parts.append(constraint.check(np.take(a, np.arange(start, start + length), axis=self.dim)))
            start += length
        return np.concatenate(parts, self.dim)


class Stack(Constraint):
    """cseq[i] holds on the i-th slice along dim."""

    def __init__(self, cseq, dim=0):
        self.cseq, self.dim = list(cseq), dim

    is_discrete = property(lambda self: any(c.is_discrete for c in self.cseq))

    @property
    def event_dim(self):
        dim = max(c.event_dim for c in self.cseq)
        return dim + 1 if self.dim + dim < 0 else dim

    def check(self, value):
        a = _array(value)
        return np.stack([c.check(np.take(a, i, axis=self.dim)) for i, c in enumerate(self.cseq)], self.dim)


class IndependentConstraint(Constraint):
    """base_constraint over the last `reinterpreted_batch_ndims` dims taken together (all must hold)."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint, self.reinterpreted_batch_ndims = base_constraint, reinterpreted_batch_ndims
        self.is_discrete = base_constraint.is_discrete
        self.event_dim = base_constraint.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        return np.all(ok, axis=tuple(range(-n, 0))) if n else ok

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class MixtureSameFamilyConstraint(Constraint):
    """MixtureSameFamily's support: the component's, checked with the component dim put back (every component
    must accept a value)."""

    def __init__(self, base_constraint):
        if not isinstance(base_constraint, Constraint):
            raise AssertionError(f"base_constraint must be a Constraint, got {type(base_constraint).__name__}")
        self.base_constraint = base_constraint

    is_discrete = property(lambda self: self.base_constraint.is_discrete)
    event_dim = property(lambda self: self.base_constraint.event_dim)

    def check(self, value):
        a = _array(value)
        result = np.asarray(self.base_constraint.check(np.expand_dims(a, -1 - self.event_dim)))
        if a.ndim < self.event_dim:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {a.ndim}")
        keep = a.ndim - self.event_dim
        return result.reshape(result.shape[:keep] + (-1,)).all(-1)

    def __repr__(self) -> str:
        return f"MixtureSameFamilyConstraint({self.base_constraint!r})"


dependent = _Dependent()
dependent_property = _DependentProperty
real = Real()
real_vector = IndependentConstraint(real, 1)
positive = GreaterThan(0.0)
nonnegative = GreaterThanEq(0.0)
unit_interval = Interval(0.0, 1.0)
boolean = Boolean()
simplex = Simplex()
nonnegative_integer = IntegerGreaterThan(0)
positive_integer = IntegerGreaterThan(1)
lower_triangular = LowerTriangular()
corr_cholesky = CorrCholesky()
square = Square()
symmetric = Symmetric()
positive_semidefinite = PositiveSemidefinite()
multinomial = Multinomial
cat = Cat
stack = Stack
positive_definite = PositiveDefinite()
lower_cholesky = LowerCholesky()
one_hot = OneHot()
greater_than = GreaterThan
less_than = LessThan
greater_than_eq = GreaterThanEq
interval = Interval
half_open_interval = HalfOpenInterval
integer_interval = IntegerInterval
independent = IndependentConstraint


def is_dependent(constraint) -> bool:
    return isinstance(constraint, _Dependent)
