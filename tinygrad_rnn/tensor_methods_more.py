"""More of torch's Tensor methods: what torch code reads about a tensor (stride, storage_offset, nbytes,
is_contiguous, retains_grad...), the nan-reductions and order statistics (nansum, nanmean, quantile, kthvalue,
aminmax, cov, corrcoef, histc, histogram, bincount, unique_consecutive, dist, renorm), splits and rearrangements
(tensor_split, hsplit, rot90, diag_embed, take, sum_to_size, the *_scatter functions), reductions into places
(scatter_reduce, index_reduce, put) and elementwise functions (float_power, fmax, copysign, logaddexp2, frexp,
ldexp, gcd...).

Nothing here has a forward or backward of its own: each method composes Tensor methods or primitives that hold
them (tensor.py, primitives.py), so a gradient lives in one place; the results that torch gives no gradient
(histc, bincount, gcd) are computed in numpy and carry none (heaviside's result requires grad and refuses a
backward, as torch's: primitives.py's Heaviside).

Where this module sits: the Tensor class inherits MoreTensorMethods as it inherits InPlaceWrites (inplace.py's
docstring), so this module does not import tensor.py when it is loaded; what it needs from there is imported
when a method runs. torch's function forms (tr.nansum, tr.quantile...) are in tensor_functions_more.py.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from . import tape
from .tensor_args import DTypeNotImplementedError, _axis, _is_int

if TYPE_CHECKING:   # (for the annotations only: tensor.py is built on this module)
    from .tensor import Tensor


class MinMax(NamedTuple):
    """What aminmax returns, as torch.return_types.aminmax."""
    min: "Tensor"
    max: "Tensor"


class MantissaExponent(NamedTuple):
    """What frexp returns, as torch.return_types.frexp (the exponent int64 here: there is no int32)."""
    mantissa: "Tensor"
    exponent: "Tensor"


class Histogram(NamedTuple):
    """What histogram returns, as torch.return_types.histogram."""
    hist: "Tensor"
    bin_edges: "Tensor"


_QUANTILE_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def _constant(array):
    return tape.Tensor._make(np.asarray(array), False)


_SCATTER_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")
_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


def _reduction(fn, reduce, choices):
    """scatter_reduce's and index_reduce's reduce argument: a str among choices, refused in torch's words."""
    if not isinstance(reduce, str):
        raise TypeError(f"{fn}(): argument 'reduce' (position 4) must be str, not {type(reduce).__name__}")
    if reduce not in choices:
        if fn == "index_reduce":
            raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
                               f"{reduce}.")
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    return reduce


def _index_vector(fn, index, flat=False):
    """index_reduce's (a 0-d or 1-D int64 tensor) or put's (any shape, flattened) index, as an int64 array."""
    if not isinstance(index, tape.Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype.kind != "i":
        raise RuntimeError(f"{fn}(): Expected a long tensor for index, but got {_torch_name(index.dtype)}")
    if not flat and index.ndim > 1:
        raise IndexError(f"{fn}_(): Index is supposed to be a vector, but got dim: {index.ndim} with type: Long and "
                         f"size: {list(index.shape)}")
    return index._data.reshape(-1).astype(np.int64)


class MoreTensorMethods:
    """torch's Tensor methods of this module's docstring; the Tensor class inherits them."""

    # -- introspection: torch's numbers for our arrays (strides in elements, as torch counts them)
    @property
    def retains_grad(self) -> bool:
        """Whether retain_grad() was called on this non-leaf (False for a leaf, as torch)."""
        node = self._node
        return node is not None and node.retained is not None and node.retained.get(self._slot) is self

    @property
    def itemsize(self) -> int: return self._data.itemsize

    @property
    def nbytes(self) -> int: return self._data.nbytes

    def is_contiguous(self, memory_format: Any = None) -> bool: return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The step in elements from one index to the next along each dim (numpy's, in bytes, divided by the
        itemsize), as torch's stride()."""
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_axis(dim, self.ndim)]

    def storage_offset(self) -> int:
        """How many elements after the start of the memory it shares this tensor starts (0 unless a view)."""
        root = self._data
        while isinstance(root.base, np.ndarray):
            root = root.base
        start = self._data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return start // self._data.itemsize

    def data_ptr(self) -> int: return self._data.__array_interface__["data"][0]
    const_data_ptr = data_ptr

    def dim_order(self) -> tuple[int, ...]:
        """The dims from the outermost in memory to the innermost (largest stride first), as torch's."""
        strides = self.stride()
        return tuple(sorted(range(self.ndim), key=lambda d: -strides[d]))

    def is_nonzero(self) -> bool:
        if self._data.size != 1:
            what = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous (is_nonzero, as torch)")
        return bool(self._data.reshape(()) != 0)

    def is_same_size(self, other: Tensor) -> bool: return self.shape == other.shape
    def is_signed(self) -> bool: return self._data.dtype.kind in "fi"
    def get_device(self) -> int: return -1   # the CPU's number in torch

    # tensors here are real, dense, on the CPU: torch's answers for such a tensor
    def is_complex(self) -> bool: return False
    def is_conj(self) -> bool: return False
    def is_neg(self) -> bool: return False
    def is_pinned(self) -> bool: return False
    def is_shared(self) -> bool: return False
    def conj(self) -> Tensor: return self

    def positive(self) -> Tensor:
        if self._data.dtype.kind == "b":
            raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
        return self
    def resolve_conj(self) -> Tensor: return self
    def resolve_neg(self) -> Tensor: return self
    is_sparse = is_sparse_csr = is_quantized = is_meta = is_mkldnn = is_nested = False
    is_mps = is_xpu = is_xla = is_ipu = is_vulkan = is_maia = is_mtia = False

    @property
    def H(self) -> Tensor:
        """The conjugate transpose of a matrix (its transpose: tensors are real), as torch's x.H."""
        if self.ndim not in (0, 2):
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def mH(self) -> Tensor: return self._matrices("mH").transpose(-2, -1)

    def adjoint(self) -> Tensor: return self._matrices("adjoint").transpose(-2, -1)

    def _matrices(self, fn):
        if self.ndim < 2:
            raise RuntimeError(f"tensor.{fn} is only supported on matrices or batches of matrices. Got "
                               f"{self.ndim}-D tensor.")
        return self

    # -- reductions that skip NaN, order statistics, covariance
    def nansum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The sum with NaN read as 0 (their gradient 0), as torch's."""
        return self._without_nan(0.0).sum(dim, keepdim, dtype=dtype)

    def nanmean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The mean of the values that are not NaN (NaN where all are), as torch's."""
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                               f"{self.dtype}")
        counted = (~self.isnan()).sum(dim, keepdim).astype(self.dtype)
        return self.nansum(dim, keepdim, dtype=dtype) / counted

    def _without_nan(self, value):
        if self._data.dtype.kind != "f":
            return self
        return self.masked_fill(self.isnan(), value)

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> MinMax:
        """(amin, amax) over dim (all elements when None), as torch's aminmax."""
        if dim is None and self._data.size == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has "
                               "no identity.")
        if dim is not None and self.ndim and self.shape[_axis(dim, self.ndim)] == 0:   # (other dims may be empty)
            raise IndexError(f"aminmax: Expected reduction dim {_axis(dim, self.ndim)} to have non-zero size.")
        return MinMax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def dist(self, other: Tensor, p: float = 2) -> Tensor:
        """The p-norm of self - other (broadcast), as torch's dist."""
        return (self - other).norm(p)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """The k-th smallest value along dim and its index, as torch's kthvalue (gradient to that element)."""
        from .tensor import ValuesIndices
        d = _axis(dim, max(self.ndim, 1))
        n = self.shape[d] if self.ndim else 1
        if not _is_int(k) or not 1 <= k <= n:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
        ordered = self.sort(d, stable=True) if self.ndim else None
        if ordered is None:
            return ValuesIndices(self.clone(), _constant(np.zeros((), np.int64)))
        values, indices = ordered.values.narrow(d, k - 1, 1), ordered.indices.narrow(d, k - 1, 1)
        if not keepdim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return ValuesIndices(values, indices)

    def msort(self) -> Tensor: return self.sort(0).values

    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """The most frequent value along dim (the smallest among equally frequent ones) and the index of its last
        occurrence, as torch's mode (gradient to that element)."""
        from .tensor import ValuesIndices
        x = self.reshape(1) if self.ndim == 0 else self
        d = _axis(dim, x.ndim)
        rows = np.moveaxis(x._data, d, -1)
        index = np.empty(rows.shape[:-1], np.int64)
        for at in np.ndindex(*rows.shape[:-1]):
            row = rows[at]
            values, counts = np.unique(row, return_counts=True)
            index[at] = np.flatnonzero(row == values[np.argmax(counts)])[-1]
        where_ = _constant(np.expand_dims(index, d))
        values = x.gather(d, where_)
        if not keepdim or self.ndim == 0:
            values, where_ = values.squeeze(d), where_.squeeze(d)
        return ValuesIndices(values, where_)

    def quantile(self, q: float | Tensor, dim: int | None = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> Tensor:
        """The q-th quantiles along dim (of all elements when None), as torch's quantile: NaN where the
        values hold a NaN; gradient through the one or two sorted values each quantile reads."""
        return self._quantile("quantile", q, dim, keepdim, interpolation, ignore_nan=False)

    def nanquantile(self, q: float | Tensor, dim: int | None = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> Tensor:
        """quantile of the values that are not NaN (NaN where all are), as torch's nanquantile."""
        return self._quantile("nanquantile", q, dim, keepdim, interpolation, ignore_nan=True)

    def _quantile(self, fn, q, dim, keepdim, interpolation, ignore_nan):
        from .tensor import stack
        qs = self._quantile_levels(fn, q, interpolation)
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _axis(dim, max(self.ndim, 1))
        if x.ndim == 0:
            x = x.reshape(1)
        if x.shape[d] == 0:
            raise IndexError(f"{fn}() input tensor cannot be empty")
        ordered = x.sort(d).values   # NaN last, as numpy sorts
        valid = (~np.isnan(ordered._data)).sum(axis=d, keepdims=True)
        count = valid if ignore_nan else np.full_like(valid, x.shape[d])
        has_nan = None if ignore_nan else valid < x.shape[d]
        # a q that requires grad: the linear interpolation's weight is read from it on the tape, as torch's (its
        # gradient; the other interpolations give q none, as torch's)
        on_tape = isinstance(q, tape.Tensor) and q.requires_grad and interpolation == "linear"
        levels = q.reshape(-1) if on_tape else qs.reshape(-1)
        out = [self._quantile_at(ordered, d, levels[i] if on_tape else float(levels[i]), count, interpolation,
                                 has_nan) for i in range(qs.size)]
        out = [self._quantile_shape(o, dim, d, keepdim) for o in out]
        return out[0] if qs.ndim == 0 else stack(out)

    def _quantile_levels(self, fn, q, interpolation):
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"{fn}() input tensor must be either float or double dtype")
        if interpolation not in _QUANTILE_MODES:
            raise RuntimeError(f"{fn}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                               f"Found {interpolation}")
        if isinstance(q, tape.Tensor):
            if q.ndim > 1:
                raise RuntimeError(f"{fn}() q must be a scalar or 1D tensor")
            if q.dtype != self.dtype:
                raise RuntimeError(f"{fn}() q tensor must be same dtype as the input tensor")
            qs = q._data
        else:
            qs = np.asarray(q, dtype=self.dtype)
        if not np.all((qs >= 0) & (qs <= 1)):
            raise RuntimeError(f"{fn}() q values must be in the range [0, 1]")
        return qs

    @staticmethod
    def _quantile_at(ordered, d, level, count, interpolation, has_nan):
        """One quantile along d of the sorted values, reading the count valid ones of each slice. Where torch's
        result is NaN its rank reads a NaN, as torch's does (so the gradient goes where torch's goes): the last
        sorted value of a slice holding NaN in quantile, the first of an all-NaN slice in nanquantile. level: a
        number, or a 0-d Tensor that requires grad (linear interpolation only: its weight then on the tape)."""
        level_t = level if isinstance(level, tape.Tensor) else None
        if level_t is not None:
            level = float(level_t._data)
        rank = np.maximum(level * (count - 1).astype(ordered.dtype), 0)
        if has_nan is not None:
            rank = np.where(has_nan, ordered.shape[d] - 1, rank).astype(ordered.dtype)
        if interpolation == "nearest":
            rank = np.round(rank)   # half to even, as torch's round
        low = np.floor(rank).astype(np.int64)
        high = np.ceil(rank).astype(np.int64)
        below, above = ordered.gather(d, _constant(low)), ordered.gather(d, _constant(high))
        if interpolation in ("lower", "nearest"):
            return below
        if interpolation == "higher":
            return above
        if interpolation == "midpoint":
            return below.lerp(above, 0.5)
        if level_t is None:
            return below.lerp(above, _constant((rank - low).astype(ordered.dtype)))
        rank_t = (level_t * _constant((count - 1).astype(ordered.dtype))).clamp(min=0)
        if has_nan is not None:
            rank_t = rank_t.where(_constant(~has_nan), _constant(rank))
        return below.lerp(above, rank_t - _constant(low.astype(ordered.dtype)))

    def _quantile_shape(self, out, dim, d, keepdim):
        if dim is None:
            return out.reshape((1,) * self.ndim) if keepdim else out.reshape(())
        if self.ndim == 0:   # a 0-d input's quantile is 0-d, keepdim or not, as torch's
            return out.reshape(())
        return out if keepdim else out.squeeze(d)

    def cov(self, *, correction: int = 1, fweights: Tensor | None = None, aweights: Tensor | None = None) -> Tensor:
        """The covariance matrix of the variables in the rows (observations in the columns), as torch's cov
        (one variable, a 1-D input or a single row: a 0-D result). Weights are not implemented here."""
        if fweights is not None or aweights is not None:
            raise NotImplementedError("cov: fweights and aweights are not implemented here")
        if self.ndim > 2:
            raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                             f"{self.ndim} dimensions")
        x = self._numeric().reshape(1, -1) if self.ndim < 2 else self._numeric()
        centred = x - x.mean(1, keepdim=True)
        divisor = max(x.shape[1] - correction, 0)
        c = (centred @ centred.transpose(0, 1)) / float(divisor)
        return c.reshape(()) if x.shape[0] == 1 else c   # one variable (a 1-D input, or one row): 0-d, as torch's

    def corrcoef(self) -> Tensor:
        """Pearson's correlation coefficients of the rows, as torch's corrcoef (clipped to [-1, 1])."""
        c = self.cov()
        if c.ndim == 0:
            return c / c
        sd = c.diagonal().sqrt()
        return (c / sd.reshape(-1, 1) / sd.reshape(1, -1)).clip(-1, 1)

    def histogram(self, bins: int | Tensor = 100, *, range: Sequence[float] | None = None,
                  weight: Tensor | None = None, density: bool = False) -> Histogram:
        """torch's histogram: (hist, bin_edges) of the flattened values, in the input's float dtype. bins an int
        (equal bins over `range`, or the data's min and max, widened by 0.5 each way when they are equal, as
        torch's linspace spaces them) or a 1-D tensor of increasing edges; the last bin holds its right edge;
        values outside are left out; weight sums weights instead of counting; density divides by the total and
        the widths. The results require grad when an input does, and a backward through them is refused, as
        torch's (primitives.py's NoDerivative)."""
        from . import primitives as P
        x, fn = self._data.reshape(-1), "torch.histogramdd"
        if x.dtype.kind != "f":
            raise DTypeNotImplementedError(f'"histogramdd" not implemented for \'{_torch_name(self.dtype)}\'')
        edges = _histogram_edges(fn, x, bins, range)
        w = None
        if weight is not None:
            if not isinstance(weight, tape.Tensor) or weight.dtype != self.dtype:
                raise RuntimeError(f"{fn}: if weight tensor is provided, input tensor and weight tensor should have "
                                   f"the same dtype, got {getattr(weight, 'dtype', type(weight).__name__)}")
            if weight.shape != self.shape:
                raise RuntimeError(f"{fn}: if weight tensor is provided it should have the same shape as the input "
                                   f"tensor, got input {list(self.shape)} and weight {list(weight.shape)}")
            w = weight._data.reshape(-1)
        inside = (x >= edges[0]) & (x <= edges[-1])
        place = np.clip(np.searchsorted(edges, x[inside], side="right") - 1, 0, edges.size - 2)
        hist = np.bincount(place, weights=None if w is None else w[inside], minlength=edges.size - 1)
        hist = hist.astype(x.dtype)
        if density:
            with np.errstate(divide="ignore", invalid="ignore"):   # (no value inside: NaN, as torch's)
                hist = (hist / (hist.sum() * np.diff(edges))).astype(x.dtype)
        inputs = [t for t in (self, bins, weight) if isinstance(t, tape.Tensor)]
        hist_t, edges_t = tape.apply(P.NoDerivative, *inputs, values=(hist, edges), name="histogram")
        return Histogram(hist_t, edges_t)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
        """Counts of the values in `bins` equal bins over [min, max] (the data's range when min == max), as
        torch's histc: values outside ignored, max in the last bin, the input's float dtype, no gradient."""
        if self._data.dtype.kind != "f":
            raise DTypeNotImplementedError(f'"histogram_cpu" not implemented for \'{_torch_name(self.dtype)}\'')
        if not _is_int(bins) or bins <= 0:
            raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dimension 0")
        lo, hi = float(min), float(max)
        if lo == hi and self._data.size:
            lo, hi = float(np.min(self._data)), float(np.max(self._data))
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if lo > hi:
            raise RuntimeError(f"torch.histc(): max must be larger than min, but got min {lo} max {hi}")
        values = self._data[np.isfinite(self._data)]
        counts, _ = np.histogram(values, bins=int(bins), range=(lo, hi))
        return _constant(counts.astype(self.dtype))

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        """How often each non-negative int appears (or the sum of its weights), as torch's bincount; no
        gradient (torch has none for weights either)."""
        if self._data.dtype.kind != "i":
            raise DTypeNotImplementedError(f'"bincount_cpu" not implemented for \'{_torch_name(self.dtype)}\'')
        if self.ndim != 1:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if self._data.size and self._data.min() < 0:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if minlength < 0:
            raise RuntimeError("minlength should be >= 0")
        if weights is None:
            return _constant(np.bincount(self._data, minlength=minlength).astype(np.int64))
        w = weights._data
        if w.shape != self.shape:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        dtype = w.dtype if w.dtype.kind == "f" else np.float64
        return _constant(np.bincount(self._data, weights=w, minlength=minlength).astype(dtype))

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False,
                           dim: int | None = None) -> Any:
        """The first element of each run of equal consecutive elements (slices along dim), as torch's, with the
        run each element belongs to and the runs' lengths when asked; no gradient (as torch)."""
        a = self._data.reshape(-1) if dim is None else np.moveaxis(self._data, _axis(dim, self.ndim), 0)
        if dim is not None and a.size == 0:
            return self._unique_consecutive_empty(a, return_inverse, return_counts)
        rows = a.reshape(a.shape[0], math.prod(a.shape[1:]))
        starts = np.ones(a.shape[0], bool)
        starts[1:] = np.any(rows[1:] != rows[:-1], axis=1)
        values = a[starts] if dim is None else np.moveaxis(a[starts], 0, _axis(dim, self.ndim))
        out = [_constant(np.ascontiguousarray(values))]
        if return_inverse:
            inverse = np.cumsum(starts) - 1
            out.append(_constant(inverse.reshape(self.shape) if dim is None else inverse))
        if return_counts:
            out.append(_constant(np.diff(np.append(np.flatnonzero(starts), a.shape[0])).astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def _unique_consecutive_empty(self, a, return_inverse, return_counts):
        """unique_consecutive along a dim of an empty tensor (a: that dim first), as torch's: the input itself when
        the dim is the empty one (no runs: empty inverse and counts), torch's RuntimeError when another dim is."""
        if a.shape[0] != 0:
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be applied")
        out = [_constant(self._data.copy())]
        if return_inverse:
            out.append(_constant(np.zeros(0, np.int64)))
        if return_counts:
            out.append(_constant(np.zeros(0, np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def renorm(self, p: float, dim: int, maxnorm: float) -> Tensor:
        """Each slice along dim whose p-norm exceeds maxnorm scaled to norm maxnorm, as torch's renorm
        (the gradient through the norm too)."""
        if p <= 0:
            raise RuntimeError("renorm: non-positive-norm not supported")
        if maxnorm < 0:
            raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
        d = _axis(dim, self.ndim)
        others = tuple(i for i in range(self.ndim) if i != d)
        norm = self.norm(p, dim=others, keepdim=True) if others else self.abs()
        scale = (maxnorm / (norm + 1e-7)).masked_fill(norm <= maxnorm, 1.0)
        return self * scale

    # -- splits, rotations, diagonals, scatters
    def tensor_split(self, indices_or_sections: int | Sequence[int] | Tensor, dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces along dim: n pieces of near-equal sizes (the first ones one longer), or cut before each listed
        index, as torch's tensor_split (views; empty pieces where the indices say so)."""
        d = _axis(dim, self.ndim)
        n = self.shape[d]
        spec = indices_or_sections
        if isinstance(spec, tape.Tensor):
            spec = spec.tolist()
        if _is_int(spec):
            if spec <= 0:
                raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
            small, extra = divmod(n, int(spec))
            sizes = [small + 1] * extra + [small] * (int(spec) - extra)
            bounds = np.cumsum([0] + sizes)
        else:
            cuts = [builtins_min(builtins_max(int(i) + n if i < 0 else int(i), 0), n) for i in spec]
            bounds = [0] + cuts + [n]
        return tuple(self.narrow(d, int(a), builtins_max(int(b) - int(a), 0)) for a, b in zip(bounds[:-1], bounds[1:]))

    def hsplit(self, sections: int | Sequence[int]) -> tuple[Tensor, ...]:
        if self.ndim < 1:
            raise RuntimeError("torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with 0 "
                               "dimensions!")
        return self._even_split("hsplit", sections, 1 if self.ndim > 1 else 0)

    def vsplit(self, sections: int | Sequence[int]) -> tuple[Tensor, ...]:
        if self.ndim < 2:
            raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with "
                               f"{self.ndim} dimensions!")
        return self._even_split("vsplit", sections, 0)

    def dsplit(self, sections: int | Sequence[int]) -> tuple[Tensor, ...]:
        if self.ndim < 3:
            raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but got a tensor with "
                               f"{self.ndim} dimensions!")
        return self._even_split("dsplit", sections, 2)

    def _even_split(self, fn, sections, dim):
        if _is_int(sections) and (sections == 0 or self.shape[dim] % sections):
            raise RuntimeError(f"torch.{fn} attempted to split along dimension {dim}, but the size of the dimension "
                               f"{self.shape[dim]} is not divisible by the split_size {sections}!")
        return self.tensor_split(sections, dim)

    def split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        d = _axis(dim, self.ndim)
        if sum(split_sizes) != self.shape[d]:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {self.shape[d]} (input "
                               f"tensor's size at dimension {dim}), but got split_sizes={list(split_sizes)}")
        return self.split(list(split_sizes), d)

    unsafe_split_with_sizes = split_with_sizes

    def unsafe_split(self, split_size: int, dim: int = 0) -> tuple[Tensor, ...]: return self.split(split_size, dim)

    def unsafe_chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]: return self.chunk(chunks, dim)
    def narrow_copy(self, dim: int, start: int, length: int) -> Tensor: return self.narrow(dim, start, length).clone()

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        """A quarter turn k times in the plane of dims (from the first towards the second), as torch's."""
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
        d0, d1 = _axis(dims[0], self.ndim), _axis(dims[1], self.ndim)
        if d0 == d1:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
        k = k % 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip(d0, d1)
        if k == 3:
            return self.flip(d0).transpose(d0, d1)
        return self.clone()

    def fliplr(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self) -> Tensor:
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    def diagflat(self, offset: int = 0) -> Tensor:
        from .tensor_functions import diag
        return diag(self.reshape(-1), offset)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """Matrices whose diagonal (offset) along the new dims dim1, dim2 holds the last dim's values, as torch's."""
        from .creation import zeros
        m = self.shape[-1] if self.ndim else 1
        n = m + abs(offset)
        out = zeros(*self.shape[:-1], n, n, dtype=self.dtype)
        i = np.arange(m)
        out[..., i + builtins_max(-offset, 0), i + builtins_max(offset, 0)] = self
        nd = self.ndim + 1
        a, b = _axis(dim1, nd), _axis(dim2, nd)
        if a == b:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return out.movedim((nd - 2, nd - 1), (a, b))

    # -- reductions into places: scatter_reduce, index_reduce, put (one primitive: primitives.py's ScatterReduce)
    def scatter_reduce(self, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
        """torch's scatter_reduce: a copy whose places `index` names along dim (as scatter's: `out[i][index[i][j]]` for
        dim 1) take the reduction ("sum", "prod", "mean", "amax", "amin") of the src values sent there, and of
        their own value with include_self; the other places keep theirs. An integer mean rounds down, as torch's.
        Gradients as torch's: amax/amin share theirs evenly among the tied values, prod's handles zeros."""
        from . import primitives as P
        fn = "scatter_reduce"
        if not isinstance(src, tape.Tensor):
            raise TypeError(f"{fn}(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}")
        reduce = _reduction(fn, reduce, _SCATTER_REDUCTIONS)
        if not isinstance(include_self, (bool, np.bool_)):
            raise TypeError(f"{fn}(): argument 'include_self' must be bool, not {type(include_self).__name__}")
        if reduce == "mean" and self.dtype == bool:
            raise DTypeNotImplementedError('"scatter_gather_tensor_cpu_reduce_mean" not implemented for \'Bool\'')
        from .tensor import _gather_index, _one_int_dim
        d = _one_int_dim(fn, dim, self.ndim)
        if self.ndim == 0:   # as gather: the one element through a 1-D view (a 0-d index and src read as 1-D)
            index = _constant(_gather_index(index, (), 0, fn) if getattr(index, "ndim", 0) else index._data)
            return self.reshape(1).scatter_reduce(0, index.reshape(-1), src.reshape(-1), reduce,
                                                  include_self=include_self).reshape(())
        index = _gather_index(index, self.shape, d, fn)
        src = self._scatter_source(fn, index, src)
        return tape.apply(P.ScatterReduce, self, src, index=index, axis=d, reduce=reduce,
                          include_self=bool(include_self))

    def index_reduce(self, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                     include_self: bool = True) -> Tensor:
        """torch's index_reduce: slice index[i] of self along dim reduced ("prod", "mean", "amax", "amin") with
        slice i of source; scatter_reduce with the index spread over source's shape, so its gradients."""
        fn = "index_reduce"
        reduce = _reduction(fn, reduce, _INDEX_REDUCTIONS)
        d = _axis(dim, builtins_max(self.ndim, 1))
        i = _index_vector(fn, index)
        if not isinstance(source, tape.Tensor):
            raise TypeError(f"{fn}(): argument 'source' (position 3) must be Tensor, not {type(source).__name__}")
        if self.ndim == 0:
            if source.ndim > 1 or source.numel() != 1 or i.size != 1:
                raise RuntimeError("source tensor shape must match self tensor shape, excluding the specified "
                                   f"dimension. Got self.shape = [] source.shape = {list(source.shape)}")
            return self.reshape(1).index_reduce(0, _constant(i), source.reshape(1), reduce,
                                                include_self=include_self).reshape(())
        if source.ndim != self.ndim or any(n != m for k, (n, m) in enumerate(zip(source.shape, self.shape)) if k != d):
            raise RuntimeError("source tensor shape must match self tensor shape, excluding the specified dimension. "
                               f"Got self.shape = {list(self.shape)} source.shape = {list(source.shape)}")
        if i.size != source.shape[d]:
            raise RuntimeError(f"{fn}_(): Number of indices ({i.size}) should be equal to source.size(dim): "
                               f"({source.shape[d]}), for dim: {dim}")
        if i.size and (i.min() < 0 or i.max() >= self.shape[d]):
            raise IndexError("index out of range in self")
        spread = np.broadcast_to(i.reshape([-1 if k == d else 1 for k in range(self.ndim)]), source.shape)
        return self.scatter_reduce(d, _constant(np.ascontiguousarray(spread)), source, reduce,
                                   include_self=include_self)

    def put(self, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
        """torch's put: a copy with the elements at the flattened positions `index` (negative from the end) set to
        source's (flattened) values, or added with accumulate=True. Gradients reach self (0 where set) and source."""
        fn = "put_"
        i = _index_vector(fn, index, flat=True)
        if not isinstance(source, tape.Tensor):
            raise TypeError(f"put(): argument 'source' (position 2) must be Tensor, not {type(source).__name__}")
        if not isinstance(accumulate, (bool, np.bool_)):
            raise TypeError(f"put(): argument 'accumulate' (position 3) must be bool, not {type(accumulate).__name__}")
        if source.dtype != self.dtype:
            raise RuntimeError(f"{fn}(): self and source expected to have the same dtype, but got self.dtype = "
                               f"{_torch_name(self.dtype)} and source.dtype = {_torch_name(source.dtype)}")
        if source.numel() != i.size:
            raise IndexError(f"{fn}(): Expected source and index to have the same number of elements, but got "
                             f"source.numel() = {source.numel()}, index.numel() = {i.size}")
        n = self.numel()
        if i.size and (i.min() < -n or i.max() >= n):
            bad = int(i.max()) if i.max() >= n else int(i.min())
            raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
        flat, where, values = self.reshape(-1), _constant(np.where(i < 0, i + n, i)), source.reshape(-1)
        out = flat.scatter_add(0, where, values) if accumulate else flat.scatter(0, where, values)
        return out.reshape(self.shape)

    def take(self, index: Tensor) -> Tensor:
        """The elements at the indices of the flattened tensor (negative from the end), as torch's take."""
        flat = self.reshape(-1)
        i = index._data
        if i.dtype.kind != "i":
            raise RuntimeError(f"take(): Expected a long tensor for index, but got {index.dtype}")
        n = flat.shape[0]
        if i.size and (i.min() < -n or i.max() >= n):
            bad = int(i.max()) if i.max() >= n else int(i.min())
            raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
        return flat[index]

    def argwhere(self) -> Tensor: return self.nonzero()

    def inner(self, other: Tensor) -> Tensor:
        """The sums of products over the last dims, as torch's inner (a product with a 0-D tensor)."""
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        from .products import tensordot
        return tensordot(self, other, dims=([self.ndim - 1], [other.ndim - 1]))

    def ger(self, vec2: Tensor) -> Tensor: return self.outer(vec2)

    def vdot(self, other: Tensor) -> Tensor: return self.dot(other)   # (real tensors: no conjugate to take)

    def sum_to_size(self, *size: int | Sequence[int]) -> Tensor:
        """The sums over the dims broadcasting would have expanded from `size`, as torch's sum_to_size."""
        size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
        lead = self.ndim - len(size)
        if lead < 0 or any(s not in (1, t) for s, t in zip(size, self.shape[lead:])):
            raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                               f"{{{', '.join(map(str, self.shape))}}}.")
        out = self.sum(tuple(range(lead))) if lead else self
        kept = tuple(i for i, (s, t) in enumerate(zip(size, out.shape)) if s == 1 and t != 1)
        return out.sum(kept, keepdim=True) if kept else out

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        """self with the elements where mask is True taken from source in order, as torch's masked_scatter
        (gradients to both). self and mask broadcast together, as torch's (masked_scatter_ keeps self's shape)."""
        shape = np.broadcast_shapes(self.shape, mask.shape)
        base = self.broadcast_to(shape) if self.shape != shape else self
        mask = mask.broadcast_to(shape) if mask.shape != shape else mask
        k = int(mask._data.sum())
        if source.numel() < k:
            raise RuntimeError("masked_scatter: expected source to have at least as many elements as ones in mask")
        out = base.clone()
        out[mask] = source.reshape(-1)[:k]
        return out

    def select_scatter(self, src: Tensor, dim: int, index: int) -> Tensor:
        """self with its slice `index` along dim replaced by src, as torch's select_scatter."""
        d = _axis(dim, self.ndim)
        return self._scattered(src, (slice(None),) * d + (index,), "select_scatter")

    def slice_scatter(self, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                      step: int = 1) -> Tensor:
        d = _axis(dim, self.ndim)
        return self._scattered(src, (slice(None),) * d + (slice(start, end, step),), "slice_scatter")

    def _scattered(self, src, index, fn):
        expected = self._data[index].shape
        if src.shape != expected:
            raise RuntimeError(f"{fn}: expected src to have a size equal to the slice of self. src size = "
                               f"{list(src.shape)}, slice size = {list(expected)}")
        out = self.clone()
        out[index] = src
        return out

    def diagonal_scatter(self, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """self with its diagonal (offset, in the plane of dim1 and dim2) replaced by src, which has the shape
        self.diagonal(offset, dim1, dim2) has, as torch's diagonal_scatter (gradients to both)."""
        expected = self.diagonal(offset, dim1, dim2).shape
        if src.shape != expected:
            raise RuntimeError(f"diagonal_scatter: expected src to have a size equal to the diagonal of self. src "
                               f"size = {list(src.shape)}, diagonal size = {list(expected)}")
        a, b = _axis(dim1, self.ndim), _axis(dim2, self.ndim)
        moved = self.movedim((a, b), (-2, -1)).clone()
        i = np.arange(expected[-1])
        moved[..., i + builtins_max(-offset, 0), i + builtins_max(offset, 0)] = src
        return moved.movedim((-2, -1), (a, b))

    def index_put(self, indices: Sequence[Tensor], values: Tensor, accumulate: bool = False) -> Tensor:
        """self with values written at self[indices] (a tuple of int64 or bool Tensors, one per leading dim), or
        added there with accumulate=True (repeated positions summed), as torch's index_put (gradients to both)."""
        index = tuple(indices)
        if not accumulate:
            out = self.clone()
            out[index] = values
            return out
        lead = _leading_positions(self.shape, index)
        rest = self.shape[len(index):]
        rows = self.reshape(-1, *rest) if rest else self.reshape(-1)
        added = values.broadcast_to(lead.shape + rest) if values.shape != lead.shape + rest else values
        summed = rows.index_add(0, _constant(lead.reshape(-1)), added.reshape(-1, *rest) if rest else
                                added.reshape(-1))
        return summed.reshape(self.shape)

    def index_put_(self, indices: Sequence[Tensor], values: Tensor, accumulate: bool = False) -> Tensor:
        return self._binary_in_place("index_put_", lambda: self.index_put(indices, values, accumulate), values)

    def fill_diagonal_(self, fill_value: float, wrap: bool = False) -> Tensor:
        """The main diagonal (every dim's index equal) set to fill_value in place, as torch's; with wrap a tall
        matrix's diagonal starts again below each square, as numpy's fill_diagonal."""
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        mask = np.zeros(self.shape, bool)
        np.fill_diagonal(mask, True, wrap=wrap)
        return self.masked_fill_(_constant(mask), fill_value)

    # -- elementwise
    def float_power(self, exponent: Tensor | float) -> Tensor:
        """self ** exponent in float64, as torch's float_power (whatever the inputs' dtypes)."""
        base = self.astype(np.float64)
        if isinstance(exponent, tape.Tensor):
            return base ** exponent.astype(np.float64)
        return base ** float(exponent)

    def fmax(self, other: Tensor) -> Tensor:
        """The elementwise maximum, NaN only where both are NaN, as torch's fmax (gradient to the one taken)."""
        return self._nan_ignoring(other, "fmax", lambda a, b: a >= b)

    def fmin(self, other: Tensor) -> Tensor:
        return self._nan_ignoring(other, "fmin", lambda a, b: a <= b)

    def _nan_ignoring(self, other, fn, takes_self):
        from .tensor import where
        if not isinstance(other, tape.Tensor):
            raise TypeError(f"{fn}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
        return where(takes_self(self, other) | other.isnan(), self, other)

    def copysign(self, other: Tensor | float) -> Tensor:
        """|self| with the sign (bit) of other, as torch's copysign (ints give floats; gradient to self only)."""
        x = self._numeric()
        sign_bit = other.signbit() if isinstance(other, tape.Tensor) else _constant(np.signbit(float(other)))
        magnitude = x.abs()
        return (-magnitude).where(sign_bit, magnitude)

    def heaviside(self, values: Tensor) -> Tensor:
        """0 below zero, 1 above, values at zero, as torch's heaviside; the result requires grad as torch's, and a
        backward through it is refused as torch's (it has no derivative: primitives.py's Heaviside)."""
        from . import primitives as P
        if not isinstance(values, tape.Tensor):
            raise TypeError(f"heaviside(): argument 'values' (position 1) must be Tensor, not {type(values).__name__}")
        if values.dtype != self.dtype:
            raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
        return tape.apply(P.Heaviside, self, values)

    def logaddexp2(self, other: Tensor) -> Tensor:
        """log2(2**self + 2**other) without overflow, as torch's logaddexp2."""
        from .tensor import where
        a, b = self._numeric(), other._numeric()
        same_infinity = (a == b) & a.isinf()
        zero = _constant(np.zeros((), a.dtype))
        gap = where(same_infinity, zero, a) - where(same_infinity, zero, b)
        return a.maximum(b) + (-gap.abs()).exp2().log1p() / math.log(2)

    def isneginf(self) -> Tensor: return self.isinf() & self.signbit() if self.dtype.kind == "f" else self != self
    def isposinf(self) -> Tensor: return self.isinf() & ~self.signbit() if self.dtype.kind == "f" else self != self
    def isreal(self) -> Tensor: return _constant(np.ones(self.shape, bool))

    def deg2rad(self) -> Tensor: return self._floating("deg2rad") * (math.pi / 180)
    def rad2deg(self) -> Tensor: return self._floating("rad2deg") * (180 / math.pi)

    def angle(self) -> Tensor:
        """The argument of a real number: 0 at and above zero, pi below, NaN at NaN, as torch's (gradient 0)."""
        x = self._numeric()
        return (x * 0).masked_fill(x < 0, math.pi)

    def sinc(self) -> Tensor:
        from .special import sinc
        return sinc(self)

    def hardshrink(self, lambd: float = 0.5) -> Tensor:
        return self.masked_fill((self >= -lambd) & (self <= lambd), 0.0)

    def mvlgamma(self, p: int) -> Tensor:
        from .special import multigammaln
        return multigammaln(self, p)

    def igamma(self, other: Tensor) -> Tensor:
        from .special import gammainc
        return gammainc(self, other)

    def igammac(self, other: Tensor) -> Tensor:
        from .special import gammaincc
        return gammaincc(self, other)

    def frexp(self) -> MantissaExponent:
        """self = mantissa * 2**exponent with |mantissa| in [0.5, 1), as torch's (gradient to the mantissa)."""
        if self._data.dtype.kind != "f":
            raise RuntimeError("torch.frexp() only supports floating-point dtypes")
        _, exponent = np.frexp(self._data)
        scale = _constant(np.ldexp(np.ones((), self.dtype), -exponent).astype(self.dtype))
        return MantissaExponent(self * scale, _constant(exponent.astype(np.int64)))

    def ldexp(self, other: Tensor) -> Tensor:
        """self * 2**other, as torch's ldexp (ints give floats)."""
        x = self._numeric()
        return x * (2.0 ** other.astype(x.dtype) if other.dtype.kind != "f" else 2.0 ** other)

    def nextafter(self, other: Tensor) -> Tensor:
        if self.dtype != other.dtype:
            raise RuntimeError(f"nextafter: expected both inputs to have the same dtype, got {self.dtype} and "
                               f"{other.dtype}")
        # torch's gradient is 1 for self where self != other (0 elsewhere, and for other): self + the step to the
        # next float there (exact: one unit in the last place), other's value itself where they are equal
        a, b = self._data, other._data
        moves = a != b
        with np.errstate(invalid="ignore"):
            rest = np.where(moves, np.nextafter(a, b) - a, np.nextafter(a, b)).astype(self.dtype)
        return self * _constant(moves.astype(self.dtype)) + _constant(rest)

    def gcd(self, other: Tensor) -> Tensor: return self._integer_op("gcd", np.gcd, other)
    def lcm(self, other: Tensor) -> Tensor: return self._integer_op("lcm", np.lcm, other)

    def _integer_op(self, fn, ufunc, other):
        for t in (self, other):
            if t._data.dtype.kind != "i":
                raise DTypeNotImplementedError(f'"{fn}_cpu" not implemented for \'{_torch_name(t.dtype)}\'')
        return _constant(ufunc(self._data, other._data))

    # -- bitwise operations of int64 and bool tensors (no gradient: there is none to take)
    def bitwise_and(self, other: Tensor | int) -> Tensor: return self._bitwise("bitwise_and", np.bitwise_and, other)
    def bitwise_or(self, other: Tensor | int) -> Tensor: return self._bitwise("bitwise_or", np.bitwise_or, other)
    def bitwise_xor(self, other: Tensor | int) -> Tensor: return self._bitwise("bitwise_xor", np.bitwise_xor, other)
    def bitwise_not(self) -> Tensor: return self._bitwise("bitwise_not", np.invert)

    def bitwise_left_shift(self, other: Tensor | int) -> Tensor:
        return self._bitwise("bitwise_left_shift", np.left_shift, other)

    def bitwise_right_shift(self, other: Tensor | int) -> Tensor:
        return self._bitwise("bitwise_right_shift", np.right_shift, other)

    def _bitwise(self, fn, ufunc, *other):
        operands = [self] + [o if isinstance(o, tape.Tensor) else _constant(np.asarray(o, self.dtype)) for o in other]
        for t in operands:
            if t._data.dtype.kind not in "ib":
                raise DTypeNotImplementedError(f'"{fn}_cpu" not implemented for \'{_torch_name(t.dtype)}\'')
        return _constant(ufunc(*(t._data for t in operands)))

    def bitwise_and_(self, other: Tensor | int) -> Tensor:
        return self._in_place("bitwise_and_", lambda: self.bitwise_and(other))

    def bitwise_or_(self, other: Tensor | int) -> Tensor:
        return self._in_place("bitwise_or_", lambda: self.bitwise_or(other))

    def bitwise_xor_(self, other: Tensor | int) -> Tensor:
        return self._in_place("bitwise_xor_", lambda: self.bitwise_xor(other))

    def bitwise_not_(self) -> Tensor: return self._in_place("bitwise_not_", self.bitwise_not)

    def bitwise_left_shift_(self, other: Tensor | int) -> Tensor:
        return self._in_place("bitwise_left_shift_", lambda: self.bitwise_left_shift(other))

    def bitwise_right_shift_(self, other: Tensor | int) -> Tensor:
        return self._in_place("bitwise_right_shift_", lambda: self.bitwise_right_shift(other))

    def masked_scatter_(self, mask: Tensor, source: Tensor) -> Tensor:
        if np.broadcast_shapes(self.shape, mask.shape) != self.shape:   # (torch's expand of the mask, refused)
            raise RuntimeError(f"masked_scatter_: the mask of shape {list(mask.shape)} does not broadcast to the "
                               f"tensor's shape {list(self.shape)}")
        return self._binary_in_place("masked_scatter_", lambda: self.masked_scatter(mask, source), source)

    def renorm_(self, p: float, dim: int, maxnorm: float) -> Tensor:
        return self._in_place("renorm_", lambda: self.renorm(p, dim, maxnorm))

    def matrix_exp(self) -> Tensor:
        from .matrix_functions import matrix_exp
        return matrix_exp(self)

    # -- torch's older linear-algebra spellings (linalg_old_spellings.py) and LAPACK's Householder QR
    # (linalg_householder.py); torch's removed symeig, eig, lstsq and solve raise its RuntimeError
    def svd(self, some: bool = True, compute_uv: bool = True) -> tuple[Tensor, Tensor, Tensor]:
        from .linalg_old_spellings import svd
        return svd(self, some, compute_uv)

    def qr(self, some: bool = True) -> tuple[Tensor, Tensor]:
        from .linalg_old_spellings import qr
        return qr(self, some)

    def cholesky(self, upper: bool = False) -> Tensor:
        from .linalg_old_spellings import cholesky
        return cholesky(self, upper)

    def geqrf(self) -> tuple[Tensor, Tensor]:
        from .linalg_householder import geqrf
        return geqrf(self)

    def orgqr(self, input2: Tensor) -> Tensor:
        from .linalg_householder import orgqr
        return orgqr(self, input2)

    def ormqr(self, input2: Tensor, input3: Tensor, left: bool = True, transpose: bool = False) -> Tensor:
        from .linalg_householder import ormqr
        return ormqr(self, input2, input3, left, transpose)

    def symeig(self, eigenvectors: bool = False) -> Any:
        from .linalg_old_spellings import symeig
        return symeig(self, eigenvectors)

    def eig(self, eigenvectors: bool = False) -> Any:
        from .linalg_old_spellings import eig
        return eig(self, eigenvectors)

    def lstsq(self, other: Tensor) -> Any:
        from .linalg_old_spellings import lstsq
        return lstsq(self, other)

    def solve(self, other: Tensor) -> Any:
        from .linalg_old_spellings import solve
        return solve(self, other)


def _leading_positions(shape, index):
    """The flat positions, among the leading len(index) dims of shape, that the index tensors name (bool masks
    read as their nonzero positions), broadcast together: index_put's accumulate as one index_add."""
    arrays = []
    for i in index:
        a = i._data if isinstance(i, tape.Tensor) else np.asarray(i)
        arrays += list(np.nonzero(a)) if a.dtype == np.bool_ else [a]
    dims = shape[:len(arrays)]
    arrays = [np.where(a < 0, a + n, a) for a, n in zip(np.broadcast_arrays(*arrays), dims)]
    return np.ravel_multi_index(tuple(arrays), dims)


def _histogram_edges(fn, x, bins, range_):
    """histogram's bin edges, in x's dtype: bins's own (a 1-D tensor), or bins + 1 spaced as torch's linspace spaces
    them (from each end toward the middle) over range_ or x's min and max."""
    if isinstance(bins, tape.Tensor):
        if bins.dtype != x.dtype:
            raise RuntimeError(f"{fn}: input tensor and bins tensors should have the same dtype, but got input with "
                               f"dtype {_torch_name(x.dtype)} and bins with dtype {_torch_name(bins.dtype)}")
        if bins.ndim != 1 or bins.shape[0] < 1:
            raise RuntimeError(f"{fn}: bins tensor should have one dimension and at least 1 entry, got shape "
                               f"{list(bins.shape)}")
        return bins._data.copy()
    if not _is_int(bins) or bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    if range_ is not None:
        lo, hi = (x.dtype.type(v) for v in range_)
    else:
        lo, hi = (x.min(), x.max()) if x.size else (x.dtype.type(0), x.dtype.type(1))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"{fn}: dimension 0's range [{lo:g}, {hi:g}] is not finite")
    if lo > hi:
        raise RuntimeError(f"{fn}: min should not exceed max, but got min {lo:g} max {hi:g} for dimension 0")
    if lo == hi:
        lo, hi = lo - x.dtype.type(0.5), hi + x.dtype.type(0.5)
    n = int(bins) + 1
    step = (hi - lo) / x.dtype.type(n - 1)
    i = np.arange(n)
    return np.where(i < n // 2, lo + step * i.astype(x.dtype), hi - step * (n - 1 - i).astype(x.dtype)).astype(x.dtype)


def _torch_name(dtype):
    return {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool"}.get(str(dtype), str(dtype))


builtins_min, builtins_max = min, max   # (named so: the methods above have arguments called min and max)
