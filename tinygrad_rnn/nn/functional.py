"""Functions built from Tensor operations: losses, embedding lookup, dropout.

Most are compositions the tape differentiates; the two hot spots of a language model's step have a
primitive of their own in primitives.py: the embedding lookup (a scatter-add backward) and the
cross-entropy of index targets (softmax, log and gather fused).
"""
import numpy as np

from .. import primitives as P
from ..tensor import Tensor, apply


def _int_array(x, name):
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind == "f":
        if not np.all(arr == np.round(arr)):
            raise TypeError(f"{name} must hold integers, got non-integer floats")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    return arr


def log_softmax(x, axis=-1):
    return x.log_softmax(axis)


def softmax(x, axis=-1):
    return x.softmax(axis)


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(fn, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _class_weight(fn, weight, n_classes, dtype):
    """weight as a (C,) array of the input's dtype, or None."""
    if weight is None:
        return None
    arr = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if arr.dtype.kind not in "fiu" or arr.shape != (n_classes,):
        raise ValueError(f"{fn}: weight must be a 1-D float array of C = {n_classes} class weights, got "
                         f"{'shape ' + str(arr.shape) if arr.dtype.kind in 'fiu' else 'dtype ' + str(arr.dtype)}")
    return arr.astype(dtype, copy=False)


def _rows_by_class(fn, input, targets):
    """input (C,), (N, C) or (N, C, d1, ...) as rows (M, C) with the class axis last, the index targets
    checked against it and flattened to (M,), and C. Tensor ops, so gradients flow back through them."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        raise ValueError(f"{fn}: input must have a class dimension: (C,), (N, C) or (N, C, d1, ...), got a scalar")
    class_axis = 0 if input.ndim == 1 else 1
    expected = input.shape[:class_axis] + input.shape[class_axis + 1:]
    if targets.shape != expected:
        raise ValueError(f"{fn}: target must have shape {expected} for input of shape {input.shape}, "
                         f"got {targets.shape}")
    n_classes = input.shape[class_axis]
    if n_classes == 0:
        raise ValueError(f"{fn}: input has no classes (C = 0)")
    if input.ndim > 2:  # (N, C, d...) -> (N, d..., C)
        input = input.transpose((0,) + tuple(range(2, input.ndim)) + (1,))
    return input.reshape(-1, n_classes), targets.reshape(-1), n_classes


def _class_targets(fn, targets, n_classes, ignore_index):
    """(safe targets (ignored ones replaced by 0), valid mask) after checking the range."""
    valid = targets != ignore_index
    bad = valid & ((targets < 0) | (targets >= n_classes))
    if bad.any():
        raise ValueError(f"{fn}: target must lie in [0, {n_classes}) (or equal ignore_index={ignore_index}); "
                         f"got {targets[bad][0]}")
    return np.where(valid, targets, 0), valid


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits, as torch.nn.functional.cross_entropy.

    input (C,), (N, C) or (N, C, d1, ...) logits. target either class indices of shape (), (N,) or
    (N, d1, ...) (ints, or floats holding integers), or class probabilities: a float array of input's
    own shape. weight (C,) rescales each class; targets equal to ignore_index contribute nothing;
    label_smoothing in [0, 1] mixes the target with the uniform distribution. 'mean' divides by the summed
    weight of the non-ignored targets (their count without weight; N * d1 * ... for probabilities), so
    a mean over no valid target is 0/0 = nan, as in torch.

    Index targets go through one fused primitive (SoftmaxCrossEntropy): softmax, log, gather and the
    reduction in one node, whose backward is softmax minus the target, scaled.
    """
    fn = "cross_entropy"
    _check_reduction(fn, reduction)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.floating)) \
            or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    raw = target.data if isinstance(target, Tensor) else np.asarray(target)
    if isinstance(input, Tensor) and raw.dtype.kind == "f" and raw.shape == input.shape and input.ndim:
        return _cross_entropy_probabilities(input, raw, weight, reduction, float(label_smoothing))
    targets = _int_array(target, "target")
    rows, flat, n_classes = _rows_by_class(fn, input, targets)
    dtype = input.dtype.type
    safe, valid = _class_targets(fn, flat, n_classes, ignore_index)
    w = _class_weight(fn, weight, n_classes, input.dtype)
    target_weight = valid.astype(input.dtype) if w is None else np.where(valid, w[safe], dtype(0))
    eps = float(label_smoothing)
    smooth = None
    if eps:
        smooth = np.full(n_classes, eps / n_classes, input.dtype) if w is None else (w * dtype(eps / n_classes))
    scale = target_weight * dtype(1.0 - eps) if eps else target_weight
    divisor = None if reduction == "none" else 1.0 if reduction == "sum" else float(np.sum(target_weight))
    with np.errstate(invalid="ignore", divide="ignore"):  # 'mean' over no valid target: nan, as torch
        loss = apply(P.SoftmaxCrossEntropy, rows, targets=safe, scale=scale, smooth=smooth,
                     valid=valid.astype(input.dtype), divisor=divisor)
    return loss.reshape(targets.shape) if reduction == "none" else loss


def _cross_entropy_probabilities(input, probs, weight, reduction, eps):
    """cross_entropy against class probabilities (torch's soft targets), composed of Tensor ops."""
    class_axis = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_axis]
    coef = probs.astype(input.dtype, copy=False)
    if eps:
        coef = coef * input.dtype.type(1.0 - eps) + input.dtype.type(eps / n_classes)
    w = _class_weight("cross_entropy", weight, n_classes, input.dtype)
    if w is not None:
        coef = coef * w.reshape((n_classes,) + (1,) * (input.ndim - class_axis - 1))
    losses = -(input.log_softmax(axis=class_axis) * coef).sum(axis=class_axis)
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    return total / float(losses.size) if losses.size else total * float("nan")   # mean over N * d1 * ...


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities, as torch.nn.functional.nll_loss.

    input (C,), (N, C) or (N, C, d1, ...); target class indices (), (N,) or (N, d1, ...); weight (C,).
    loss = -weight[t] * input[t], 0 where t == ignore_index; 'mean' divides by the summed weight of the
    non-ignored targets (nan if there are none, as torch)."""
    fn = "nll_loss"
    _check_reduction(fn, reduction)
    targets = _int_array(target, "target")
    rows, flat, n_classes = _rows_by_class(fn, input, targets)
    safe, valid = _class_targets(fn, flat, n_classes, ignore_index)
    w = _class_weight(fn, weight, n_classes, input.dtype)
    target_weight = valid.astype(input.dtype) if w is None else np.where(valid, w[safe], input.dtype.type(0))
    # -weight[t_n] at (n, t_n), 0 elsewhere: a product and a sum, whose backward is a product again
    picker = np.zeros(rows.shape, input.dtype)
    picker[np.arange(flat.size), safe] = -target_weight
    losses = (rows * picker).sum(axis=1)
    if reduction == "none":
        return losses.reshape(targets.shape)
    total = losses.sum()
    if reduction == "sum":
        return total
    divisor = float(np.sum(target_weight))
    # no valid target: the mean is 0/0 = nan, and (as in torch) the gradient 0, not nan
    return total / divisor if divisor else total * 0.0 + float("nan")


def mse_loss(input, target, reduction="mean"):
    """Mean squared error, as torch.nn.functional.mse_loss (shapes must match exactly)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    target_shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    if tuple(target_shape) != input.shape:
        raise ValueError(f"mse_loss: input shape {input.shape} and target shape {tuple(target_shape)} must match")
    diff = input - target
    sq = diff * diff
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()


def embedding(indices, weight, padding_idx=None):
    """Rows of `weight` (num_embeddings, dim) picked by integer `indices` (any shape), as
    torch.nn.functional.embedding: repeated indices add up their gradients; the row at padding_idx
    (negative counts from the end) gets no gradient."""
    idx = _int_array(indices, "indices")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"embedding: weight must be a 2-D Tensor (num_embeddings, embedding_dim), got "
                         f"{weight.shape if isinstance(weight, Tensor) else type(weight).__name__}")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise ValueError(f"indices must lie in [0, {n}) (num_embeddings), got {bad}")
    return apply(P.Embedding, weight, indices=idx, padding_idx=_padding_index(padding_idx, n))


def _padding_index(padding_idx, n):
    """padding_idx as a row number in [0, n), or None (torch's rule: -n <= padding_idx < n)."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"padding_idx must be an int or None, got {type(padding_idx).__name__}")
    if not -n <= padding_idx < n:
        raise ValueError(f"padding_idx must be within num_embeddings: -{n} <= padding_idx < {n}, got {padding_idx}")
    return int(padding_idx) % n


def dropout(x, p=0.5, training=True, rng=None):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    rng = rng if rng is not None else np.random.default_rng()
    keep = rng.random(x.shape) >= p
    return x * (keep.astype(x.dtype) * (1.0 / (1.0 - p)))
