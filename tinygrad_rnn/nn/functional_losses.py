"""The rest of torch.nn.functional's losses (Poisson and Gaussian likelihoods, the margin and hinge losses, the
triplet losses) and its distance matrices (pdist, cdist), as torch 2.13, re-exported by nn.functional.

Each is built from Tensor operations, so the tape differentiates it. Where torch takes a subgradient at a kink,
the same side is taken: `clamp_min(z, 0)` passes the gradient at z = 0 (torch's clamp_min), while the hinge
inside multi_margin_loss and multilabel_margin_loss counts only z > 0 (torch's kernels test `z > 0`).

As in nn.functional, torch's deprecated size_average and reduce are keywords here (with torch's warning), and the
arguments after them keyword-only: torch's positional size_average would otherwise silently take a reduction.
Targets holding numbers are of the input's shape and dtype; the +1 / -1 targets of the margin and embedding
losses may also be integers (torch's own examples give them as int64), read in the input's dtype.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ..tensor import ShapeError, Tensor, concatenate, where
from . import functional as F
from .checks import ArgumentValueError, DTypeMismatchError, DTypeNotImplementedError, check_bool

__all__ = ["poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss", "hinge_embedding_loss",
           "multilabel_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "cosine_embedding_loss",
           "multi_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss", "pdist", "cdist"]


def _clamp_min_zero(z):
    """max(z, 0) whose gradient passes at z = 0, as torch's clamp_min (relu's would not)."""
    return where(z._data >= 0, z, 0.0)


def _float_tensor(fn, name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    if x.dtype.kind != "f":   # torch's "not implemented for 'Long'"
        raise DTypeNotImplementedError(f"{fn}: {name} must be float32 or float64, got {x.dtype} (not implemented "
                                       "for integers, as torch)")
    return x


def _sign_target(fn, input, target, shape=None):
    """A +1 / -1 target: a float Tensor of input's dtype (kept, so it may carry a gradient), or integers (a Tensor
    or numbers) read in input's dtype. Of `shape` (input's by default)."""
    shape = input.shape if shape is None else shape
    if isinstance(target, Tensor) and target.dtype.kind == "f":
        if target.dtype != input.dtype:
            raise DTypeMismatchError(f"{fn}: target dtype {target.dtype} does not match input dtype {input.dtype}")
    else:
        arr = target._data if isinstance(target, Tensor) else np.asarray(target)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{fn}: target must be a Tensor of numbers, got {F._described(target)}")
        target = Tensor._make(arr.astype(input.dtype), False)
    if target.shape != tuple(shape):   # torch broadcasts some silently; here the shapes must agree
        raise ShapeError(f"{fn}: target shape {tuple(target.shape)} must equal {tuple(shape)}")
    return target


# ------------------------------------------------------------------- likelihoods


def poisson_nll_loss(input: Tensor, target: Tensor | npt.ArrayLike, log_input: bool = True, full: bool = False, *,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of target under a Poisson distribution of rate input, as
    torch.nn.functional.poisson_nll_loss: `exp(input) - target * input` with log_input (input is the log-rate),
    else `input - target * log(input + eps)`; full adds Stirling's `t log t - t + 0.5 log(2 pi t)` where t > 1.
    target of input's shape and dtype (it gets a gradient too, as torch's)."""
    fn = "poisson_nll_loss"
    reduction = F._legacy_reduction(fn, size_average, reduce, reduction)
    log_input, full = check_bool(fn, "log_input", log_input), check_bool(fn, "full", full)
    eps = F._real(fn, "eps", eps)
    target = F._check_pair(fn, _float_tensor(fn, "input", input), target)
    losses = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        losses = losses + _stirling(target)
    return F._reduce(fn, losses, reduction)


def _stirling(t):
    """Stirling's approximation of log(t!), `t log t - t + 0.5 log(2 pi t)`, where t > 1, 0 elsewhere (torch's
    masked_fill: no gradient there, and log(0)'s inf never reaches the tape)."""
    big = t._data > 1
    safe = where(big, t, 2.0)
    return where(big, safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5, 0.0)


def gaussian_nll_loss(input: Tensor, target: Tensor | npt.ArrayLike, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of target under a normal distribution of mean input and variance var, as
    torch.nn.functional.gaussian_nll_loss: `0.5 * (log(max(var, eps)) + (input - target) ** 2 / max(var, eps))`,
    plus `0.5 * log(2 pi)` with full. var: a number, or a Tensor of input's shape, of input's shape without its
    last dim, or of input's rank with one dim of size 1 (torch's three cases; another shape is torch's
    ValueError). Every entry of var must be >= 0 (ValueError). The clamp at eps passes the gradient to var, as
    torch's (done under no_grad there). target broadcasts with input, as torch's."""
    fn = "gaussian_nll_loss"
    _float_tensor(fn, "input", input)
    full, eps = check_bool(fn, "full", full), F._real(fn, "eps", eps)
    var = _gaussian_var(fn, input, var)
    F._check_reduction(fn, reduction)
    target = target if isinstance(target, Tensor) else input._operand(target)
    if target.dtype != input.dtype:
        raise DTypeMismatchError(f"{fn}: target dtype {target.dtype} does not match input dtype {input.dtype}")
    clamped = (var - var.detach()) + np.maximum(var._data, input.dtype.type(eps))
    diff = input - target
    losses = (clamped.log() + diff * diff / clamped) * 0.5
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return F._reduce(fn, losses, reduction)


def _gaussian_var(fn, input, var):
    """var as a Tensor that broadcasts with input in one of torch's three ways, checked non-negative."""
    if not isinstance(var, Tensor):
        value = F._real(fn, "var", var)
        if value < 0:
            raise ValueError(f"{fn}: var has negative entry/entries (got {value})")
        return Tensor._make(np.full(input.shape, value, input.dtype), False)
    if var.dtype != input.dtype:
        raise DTypeMismatchError(f"{fn}: var dtype {var.dtype} does not match input dtype {input.dtype}")
    if np.any(var._data < 0):
        raise ValueError(f"{fn}: var has negative entry/entries")
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:   # one variance per row of the last dim
        return var.unsqueeze(-1)
    if var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
        return var   # one dim of size 1, broadcast
    raise ValueError(f"{fn}: var is of incorrect size: {tuple(var.shape)} for input {tuple(input.shape)} (expected "
                     "input's shape, its shape without the last dim, or one dim of size 1)")


# ------------------------------------------------------------------- margins and hinges


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor | npt.ArrayLike, margin: float = 0.0, *,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """`max(0, -target * (input1 - input2) + margin)`, reduced, as torch.nn.functional.margin_ranking_loss: target
    +1 says input1 should rank higher, -1 input2. The three must have one rank (torch's RuntimeError, a ShapeError
    here) and broadcast; target may be int (read in the inputs' dtype)."""
    fn = "margin_ranking_loss"
    reduction = F._legacy_reduction(fn, size_average, reduce, reduction)
    margin = F._real(fn, "margin", margin)
    shape = F._two_float_tensors(fn, _float_tensor(fn, "input1", input1), _float_tensor(fn, "input2", input2))
    t_shape = np.shape(target._data if isinstance(target, Tensor) else target)
    if not input1.ndim == input2.ndim == len(t_shape):
        raise ShapeError(f"{fn}: all input tensors should have the same number of dimensions, got input1 "
                         f"{tuple(input1.shape)}, input2 {tuple(input2.shape)} and target {t_shape}")
    try:
        shape = np.broadcast_shapes(shape, t_shape)
    except ValueError:
        raise ShapeError(f"{fn}: target of shape {t_shape} does not broadcast with the inputs' {shape}") from None
    target = _sign_target(fn, input1, target, t_shape)
    return F._reduce(fn, _clamp_min_zero(-target * (input1 - input2) + margin), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor | npt.ArrayLike, margin: float = 1.0, *,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """input where target is 1, `max(0, margin - input)` where it is -1, reduced, as
    torch.nn.functional.hinge_embedding_loss (input is usually a distance; another target value gets both terms,
    as torch's). target of input's shape, float of input's dtype or int."""
    fn = "hinge_embedding_loss"
    reduction = F._legacy_reduction(fn, size_average, reduce, reduction)
    margin = F._real(fn, "margin", margin)
    target = _sign_target(fn, _float_tensor(fn, "input", input), target)
    t = target._data
    losses = where(t != 1, _clamp_min_zero(margin - input), 0.0) + where(t != -1, input, 0.0)
    return F._reduce(fn, losses, reduction)


def soft_margin_loss(input: Tensor, target: Tensor | npt.ArrayLike, *, size_average: bool | None = None,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """`log(1 + exp(-target * input))`, reduced, as torch.nn.functional.soft_margin_loss (a two-class logistic loss
    with targets +1 / -1; torch's formula, so a huge -target * input overflows to inf there and here)."""
    fn = "soft_margin_loss"
    reduction = F._legacy_reduction(fn, size_average, reduce, reduction)
    target = _sign_target(fn, _float_tensor(fn, "input", input), target)
    return F._reduce(fn, (-input * target).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor | npt.ArrayLike,
                                weight: Tensor | npt.ArrayLike | None = None, *, size_average: bool | None = None,
                                reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """The binary cross-entropy of each class's logit against target (0 / 1, or a probability), times weight,
    averaged over the classes (the last dim), then reduced over the rest, as
    torch.nn.functional.multilabel_soft_margin_loss. weight broadcasts to input's shape (one per class, (C,),
    typically)."""
    fn = "multilabel_soft_margin_loss"
    reduction = F._legacy_reduction(fn, size_average, reduce, reduction)
    if _float_tensor(fn, "input", input).ndim == 0:   # torch's IndexError "Dimension specified as -1"
        raise IndexError(f"{fn}: input must have a class dim (the last), got a 0-d tensor")
    raw = target._data if isinstance(target, Tensor) else np.asarray(target)
    if raw.dtype.kind in "iu":   # 0 / 1 labels as integers: torch computes with them in input's dtype (bools: no)
        target = Tensor(raw.astype(input.dtype))
    target = F._check_pair(fn, input, target)
    weight = F._weight_tensor(fn, "weight", weight, input)
    losses = -(target * F.logsigmoid(input) + (1.0 - target) * F.logsigmoid(-input))
    if weight is not None:
        losses = losses * weight
    return F._reduce(fn, losses.sum(-1) / float(input.shape[-1]), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor | npt.ArrayLike, margin: float = 0.0, *,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """`1 - cos(x1, x2)` where target is 1, `max(0, cos(x1, x2) - margin)` where it is -1 (0 for other values),
    reduced, as torch.nn.functional.cosine_embedding_loss, with torch's cosine
    `sum(x1 x2) / sqrt((sum(x1 x1) + 1e-12) (sum(x2 x2) + 1e-12))` along the last dim. Inputs (N, D) with target
    (N,), or (D,) with a 0-d target (torch's RuntimeError otherwise); input1 and input2 broadcast, as torch's."""
    fn = "cosine_embedding_loss"
    reduction = F._legacy_reduction(fn, size_average, reduce, reduction)
    margin = F._real(fn, "margin", margin)
    F._two_float_tensors(fn, _float_tensor(fn, "input1", input1), _float_tensor(fn, "input2", input2))
    t_ndim = np.ndim(target._data if isinstance(target, Tensor) else target)
    if t_ndim > 1:
        raise ShapeError(f"{fn}: 0D or 1D target tensor expected, multi-target not supported (got {t_ndim}-D)")
    if not input1.ndim == input2.ndim == t_ndim + 1:   # torch's RuntimeError
        raise ShapeError(f"{fn}: a {t_ndim}-D target expects {t_ndim + 1}-D inputs, got input1 {tuple(input1.shape)} "
                         f"and input2 {tuple(input2.shape)}")
    prod = (input1 * input2).sum(-1)
    denom = (((input1 * input1).sum(-1) + 1e-12) * ((input2 * input2).sum(-1) + 1e-12)).sqrt()
    cos = prod / denom
    target = _sign_target(fn, input1, target, cos.shape)
    t = target._data
    losses = where(t == 1, 1.0 - cos, 0.0) + where(t == -1, _clamp_min_zero(cos - margin), 0.0)
    return F._reduce(fn, losses, reduction)


# ------------------------------------------------------------------- multi-class margins


def multi_margin_loss(input: Tensor, target: Tensor | npt.ArrayLike, p: int = 1, margin: float = 1.0,
                      weight: Tensor | npt.ArrayLike | None = None, *, size_average: bool | None = None,
                      reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """The multi-class hinge loss, as torch.nn.functional.multi_margin_loss: for a row x with class y,
    `sum over i != y of weight[y] * max(0, margin - x[y] + x[i]) ** p / C`. input (N, C), (C,) or 0-d (one class);
    target (N,) class indices (0-d or (1,) for an unbatched input: 'none' then gives that shape). p is 1 or 2
    (torch's ValueError otherwise); weight (C,) per class, not differentiated (torch has no gradient for it)."""
    fn = "multi_margin_loss"
    reduction = F._legacy_reduction(fn, size_average, reduce, reduction)
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(f"{fn}: only p == 1 and p == 2 supported, got {p!r}")
    margin = F._real(fn, "margin", margin)
    rows = _class_rows(fn, _float_tensor(fn, "input", input))
    targets = F._int_array(target, "target")
    n, n_classes = rows.shape
    if targets.ndim > 1 or targets.size != n:   # torch's RuntimeError
        raise ShapeError(f"{fn}: target must be 1-D with one class index per sample ({n}), got shape "
                         f"{tuple(targets.shape)} for input {tuple(input.shape)}")
    flat = targets.reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= n_classes):   # torch's RuntimeError "target out of range"
        raise ArgumentValueError(f"{fn}: target out of range: class indices must lie in [0, {n_classes}), got "
                                 f"{flat[(flat < 0) | (flat >= n_classes)][0]}")
    if weight is not None and np.ndim(weight._data if isinstance(weight, Tensor) else weight) != 1:
        raise ValueError(f"{fn}: weight must be one-dimensional (one per class)")
    w = F._class_weight(fn, weight, n_classes, input.dtype)
    z = (margin - rows.gather(1, flat[:, None])) + rows   # margin - x[y] + x[i], in torch's order
    counted = (z._data > 0) & (np.arange(n_classes) != flat[:, None])
    hinge = where(counted, z, 0.0)
    if p == 2:
        hinge = hinge * hinge
    if w is not None:
        hinge = hinge * w[flat][:, None]
    losses = hinge.sum(1) / float(n_classes)
    if reduction == "none":
        return losses.reshape(targets.shape) if input.ndim <= 1 else losses
    return _reduce_batch(fn, losses, reduction)


def _reduce_batch(fn, losses, reduction):
    """The multi-class margins' reduction over the batch: torch's kernels give 0, not nan, for the mean of an empty
    batch."""
    if reduction == "mean" and losses.size == 0:
        return losses.sum()
    return F._reduce(fn, losses, reduction)


def _class_rows(fn, input):
    """input (N, C), (C,) or 0-d as rows (N, C) - torch's shapes for the multi-class margins (an empty batch is
    fine, no classes or more dims are not: torch's RuntimeError)."""
    if not (input.ndim == 2 and input.shape[1] > 0 or input.ndim < 2 and input.size > 0):
        raise ShapeError(f"{fn}: expected a non-empty vector or matrix with optional 0-dim batch size, got shape "
                         f"{tuple(input.shape)}")
    return input.reshape(-1, input.shape[-1] if input.ndim else 1)


def multilabel_margin_loss(input: Tensor, target: Tensor | npt.ArrayLike, *, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """The multi-label hinge loss, as torch.nn.functional.multilabel_margin_loss: row x's target lists its classes
    y, ended by the first -1 (the rest ignored), and the loss is `sum over listed j and unlisted i of
    max(0, 1 - (x[j] - x[i])) / C` (a class listed twice counts twice, as torch's). input (N, C), (C,) or 0-d;
    target int of input's shape (0-d or (1,) for a 0-d input), every entry in [-1, C) (torch's RuntimeError)."""
    fn = "multilabel_margin_loss"
    reduction = F._legacy_reduction(fn, size_average, reduce, reduction)
    rows = _class_rows(fn, _float_tensor(fn, "input", input))
    targets = F._int_array(target, "target")
    n, n_classes = rows.shape
    fits = targets.shape == input.shape if input.ndim == 2 else targets.ndim <= 1 and targets.size == n_classes
    if not fits:
        raise ShapeError(f"{fn}: inconsistent target size: {tuple(targets.shape)} for input of size "
                         f"{tuple(input.shape)}")
    listed = targets.reshape(n, n_classes)
    if listed.size and (listed.min() < -1 or listed.max() >= n_classes):
        raise ArgumentValueError(f"{fn}: target is out of range: entries must lie in [-1, {n_classes}) (-1 ends "
                                 "a row's list)")
    times_listed, is_target = _listed_classes(listed, n_classes)
    z = 1.0 - rows.unsqueeze(2) + rows.unsqueeze(1)   # z[n, j, i] = 1 - x[j] + x[i]
    counted = (z._data > 0) & (times_listed[:, :, None] > 0) & ~is_target[:, None, :]
    hinge = where(counted, z, 0.0) * times_listed[:, :, None].astype(input.dtype)
    losses = hinge.sum((1, 2)) / float(n_classes)
    if reduction == "none":
        return losses if input.ndim == 2 else losses.reshape(())
    return _reduce_batch(fn, losses, reduction)


def _listed_classes(listed, n_classes):
    """(how many times row n lists class j, whether it lists it): each row's entries up to its first -1."""
    before_end = np.cumsum(listed < 0, axis=1) == 0
    times = np.zeros(listed.shape, np.int64)
    rows, cols = np.nonzero(before_end)
    np.add.at(times, (rows, listed[rows, cols]), 1)
    return times, times > 0


# ------------------------------------------------------------------- triplets


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, *, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """`max(0, margin + d(a, p) - d(a, n))`, reduced, as torch.nn.functional.triplet_margin_loss, d being
    pairwise_distance(., ., p, eps); swap takes `min(d(a, n), d(p, n))` (Balntas et al.). margin must be > 0
    (torch's ValueError); the three inputs of one rank (torch's RuntimeError), broadcasting."""
    fn = "triplet_margin_loss"
    reduction = F._legacy_reduction(fn, size_average, reduce, reduction)
    p, eps = F._real(fn, "p", p), F._real(fn, "eps", eps)
    return _triplet(fn, anchor, positive, negative, lambda x1, x2: F.pairwise_distance(x1, x2, p, eps), margin,
                    swap, reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """triplet_margin_loss with any distance: distance_function(x1, x2) (a Tensor of distances, non-negative and
    real; pairwise_distance by default), as torch.nn.functional.triplet_margin_with_distance_loss."""
    fn = "triplet_margin_with_distance_loss"
    F._check_reduction(fn, reduction)
    if distance_function is not None and not callable(distance_function):
        raise TypeError(f"{fn}: distance_function must be callable or None, got {F._described(distance_function)}")
    return _triplet(fn, anchor, positive, negative, distance_function or F.pairwise_distance, margin, swap,
                    reduction)


def _triplet(fn, anchor, positive, negative, distance, margin, swap, reduction):
    margin, swap = F._real(fn, "margin", margin), check_bool(fn, "swap", swap)
    if not margin > 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin}")
    for name, x in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    if not anchor.ndim == positive.ndim == negative.ndim:   # torch's RuntimeError
        raise ShapeError(f"{fn}: the anchor, positive, and negative tensors are expected to have the same number "
                         f"of dimensions, got anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                         f"{negative.ndim}D inputs")
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    return F._reduce(fn, _clamp_min_zero(d_pos - d_neg + margin), reduction)


# ------------------------------------------------------------------- distance matrices


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distance between each pair of input's N rows, as torch.nn.functional.pdist (and torch.pdist):
    the N (N - 1) / 2 entries above the diagonal of cdist(input, input, p), row by row. input 2-D of floats;
    p >= 0 (torch's RuntimeError). The gradient at a zero distance is 0, as torch's."""
    fn = "pdist"
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.ndim != 2:
        raise ShapeError(f"{fn}: only 2-D inputs (N, M) are supported, got {input.ndim}-D")
    p = _distance_p(fn, p, input)
    i, j = np.triu_indices(input.shape[0], 1)
    return F._vector_norm(input[i] - input[j], p, False)


def _distance_p(fn, p, x):
    if x.dtype.kind != "f":
        raise DTypeNotImplementedError(f"{fn}: only floating-point dtypes are supported, got {x.dtype}")
    p = F._real(fn, "p", p)
    if not p >= 0:   # nan too
        raise ArgumentValueError(f"{fn}: only non-negative p values are supported, got {p}")
    return p


CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M): (..., P, R), as
    torch.cdist; the batch dims broadcast. p >= 0 (0 counts the differing entries, inf takes the largest).
    compute_mode as torch's: for p = 2, 'use_mm_for_euclid_dist' (and '..._if_necessary' when P or R > 25)
    computes `sqrt(max(|x1|^2 - 2 x1.x2 + |x2|^2, 0))` with one matrix product - faster, less exact for close
    points, torch's numbers either way; 'donot_use_mm_for_euclid_dist' the difference's norm. The gradient at a
    zero distance is 0, as torch's."""
    fn = "cdist"
    for name, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")
        if x.ndim < 2:
            raise ShapeError(f"{fn}: only tensors of at least 2 dims are supported, {name} got {x.ndim}-D")
    p = _distance_p(fn, p, x1)
    if x2.dtype != x1.dtype:
        raise DTypeMismatchError(f"{fn}: x1 dtype {x1.dtype} does not match x2 dtype {x2.dtype} (convert one)")
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"{fn}: x1 and x2 must have the same number of columns, got x1 {x1.shape[-1]} and x2 "
                         f"{x2.shape[-1]}")
    if compute_mode not in CDIST_MODES:
        raise ValueError(f"{fn}: {compute_mode!r} is not a valid value for compute_mode (one of {CDIST_MODES})")
    try:
        batch = np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
    except ValueError:
        raise ShapeError(f"{fn}: the batch dims of x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} do not "
                         "broadcast") from None
    x1, x2 = (x.expand(*batch, *x.shape[-2:]) if x.shape[:-2] != batch else x for x in (x1, x2))
    by_matmul = compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == CDIST_MODES[0] and (x1.shape[-2] > 25 or x2.shape[-2] > 25))
    if p == 2 and by_matmul:
        return _euclidean_by_matmul(x1, x2)
    return F._vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, False)


def _euclidean_by_matmul(x1, x2):
    """torch's _euclidean_dist: `[-2 x1, |x1|^2, 1] @ [x2, 1, |x2|^2]^T`, clamped at 0, its root - whose gradient
    is 0 where the distance is 0 (the root kept off the tape there)."""
    ones1, ones2 = (Tensor._make(np.ones(x.shape[:-1] + (1,), x.dtype), False) for x in (x1, x2))
    a = concatenate([x1 * -2.0, (x1 * x1).sum(-1, keepdim=True), ones1], -1)
    b = concatenate([x2, ones2, (x2 * x2).sum(-1, keepdim=True)], -1)
    squared = (a @ b.transpose(-2, -1)).clip(min=0.0)
    positive = squared._data > 0
    return where(positive, where(positive, squared, 1.0).sqrt(), 0.0)
