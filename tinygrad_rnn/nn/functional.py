"""Functions built from Tensor operations: losses, embedding lookup, dropout.

None of them has a backward of its own; the tape differentiates their composition.
"""
import numpy as np

from ..tensor import Tensor, where


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


def cross_entropy(logits, targets, ignore_index=-100, reduction="mean"):
    """Cross-entropy of integer class targets, as torch.nn.functional.cross_entropy.

    logits (N, C), (C,) or (N, C, d1, ...); targets (N,), () or (N, d1, ...) of class indices.
    Targets equal to ignore_index contribute nothing; 'mean' divides by the count of the others.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a Tensor, got {type(logits).__name__}")
    targets = _int_array(targets, "targets")
    class_axis = 0 if logits.ndim == 1 else 1
    expected = logits.shape[:class_axis] + logits.shape[class_axis + 1:]
    if logits.ndim == 0 or targets.shape != expected:
        raise ValueError(f"targets must have shape {expected} for logits of shape {logits.shape}, got {targets.shape}")
    C = logits.shape[class_axis]
    valid = targets != ignore_index
    if np.any((targets[valid] < 0) | (targets[valid] >= C)):
        bad = targets[valid][(targets[valid] < 0) | (targets[valid] >= C)][0]
        raise ValueError(f"targets must lie in [0, {C}) (or equal ignore_index={ignore_index}); got {bad}")

    logp = logits.log_softmax(axis=class_axis)
    if class_axis == 1 and logits.ndim > 2:  # (N, C, d...) -> (N, d..., C)
        logp = logp.transpose((0,) + tuple(range(2, logits.ndim)) + (1,))
    logp = logp.reshape(-1, C)
    safe = np.where(valid, targets, 0).reshape(-1)
    picked = logp[np.arange(safe.size), safe].reshape(targets.shape)
    losses = where(valid, -picked, 0.0)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    count = int(valid.sum())
    # as torch: the mean over no valid target is 0/0 = nan
    return losses.sum() * (1.0 / count) if count else losses.sum() * float("nan")


def nll_loss(log_probs, targets, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C): cross_entropy without the log_softmax."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    targets = _int_array(targets, "targets")
    if log_probs.ndim != 2 or targets.shape != log_probs.shape[:1]:
        raise ValueError(f"nll_loss expects log_probs (N, C) and targets (N,), got {log_probs.shape} and {targets.shape}")
    valid = targets != ignore_index
    safe = np.where(valid, targets, 0)
    losses = where(valid, -log_probs[np.arange(safe.size), safe], 0.0)
    if reduction == "none":
        return losses
    total = losses.sum()
    return total if reduction == "sum" else total * (1.0 / max(int(valid.sum()), 1))


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


def embedding(indices, weight):
    """Rows of `weight` picked by integer `indices`; repeated indices accumulate their gradients."""
    idx = _int_array(indices, "indices")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise ValueError(f"indices must lie in [0, {n}) (num_embeddings), got {bad}")
    return weight[idx]


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
