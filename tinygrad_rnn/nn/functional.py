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


def _softmax_dim(fn, input, dim, axis):
    """torch's `dim` (numpy's `axis` accepted too). Without either, -1 - which is what torch's
    deprecated implicit choice gives for 0-, 1- and 2-D inputs; for others torch would pick dim 0
    (3-D) or 1, so there the caller must say which, rather than get one of two answers silently."""
    if dim is not None and axis is not None:
        raise TypeError(f"{fn}: pass dim or axis, not both")
    dim = axis if dim is None else dim
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if dim is None:
        if input.ndim > 2:
            raise ValueError(f"{fn}: pass dim= for a {input.ndim}-D input (torch's implicit choice here would be "
                             f"dim {0 if input.ndim == 3 else 1}, deprecated; this library does not guess)")
        dim = -1
    return dim


def log_softmax(input, dim=None, *, axis=None):
    """log(softmax(input)) along dim, computed stably, as torch.nn.functional.log_softmax."""
    return input.log_softmax(_softmax_dim("log_softmax", input, dim, axis))


def softmax(input, dim=None, *, axis=None):
    """exp(x) / sum(exp(x)) along dim, as torch.nn.functional.softmax (see _softmax_dim for dim=None)."""
    return input.softmax(_softmax_dim("softmax", input, dim, axis))


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
    if not isinstance(input, Tensor):  # an ndarray would run through numpy and return an ndarray, off the tape
        raise TypeError(f"mse_loss: input must be a Tensor, got {type(input).__name__}")
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
    p, training = check_float("dropout", "p", p, 0, 1), check_bool("dropout", "training", training)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    rng = rng if rng is not None else np.random.default_rng()
    keep = rng.random(x.shape) >= p
    return x * (keep.astype(x.dtype) * (1.0 / (1.0 - p)))


# ----------------------------------------------------------------------------- activations, linear, one_hot, pad, more losses
from ..tensor import DEFAULT_DTYPE, concatenate, where  # noqa: E402, F811 (this section's own imports)
from .checks import check_bool, check_float  # noqa: E402 (also used by dropout above)


def relu(input):
    return input.relu()


def tanh(input):
    return input.tanh()


def sigmoid(input):
    return input.sigmoid()


def linear(input, weight, bias=None):
    """input @ weight.T + bias, as torch.nn.functional.linear (weight (out, in), bias (out,))."""
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linear: {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim != 2 or input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: expected input (..., in_features) and weight (out_features, in_features), got "
                         f"input {input.shape} and weight {weight.shape}")
    y = input @ weight.T
    return y if bias is None else y + bias


def one_hot(tensor, num_classes=-1, *, dtype=None):
    """(..., num_classes) with 1 at each index, as torch.nn.functional.one_hot. torch returns int64;
    a Tensor here holds floats, so this is float32 (or dtype=) of 0s and 1s. num_classes=-1 means
    max(index) + 1."""
    idx = _int_array(tensor, "one_hot: tensor")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot: num_classes must be an int, got {type(num_classes).__name__} {num_classes!r}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {idx.min()}")
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    elif num_classes < 0 or (idx.size and idx.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, got {idx.max()}")
    out = np.zeros(idx.shape + (int(num_classes),), dtype=dtype or DEFAULT_DTYPE)
    np.put_along_axis(out, idx[..., None], 1, axis=-1)
    return Tensor(out)


def _reduce(fn, losses, reduction):
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _check_reduction(fn, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_pair(fn, input, target):
    """input a Tensor; target a Tensor (or array-like) of the same shape, in input's dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    target = target if isinstance(target, Tensor) else input._operand(target)
    if target.shape != input.shape:
        raise ValueError(f"{fn}: target shape {target.shape} must equal input shape {input.shape}")
    if target.dtype != input.dtype:
        raise TypeError(f"{fn}: target dtype {target.dtype} does not match input dtype {input.dtype}")
    return target


def l1_loss(input, target, reduction="mean"):
    """|input - target|, reduced, as torch.nn.functional.l1_loss. The gradient at input == target
    is 0 (sign(0)), as torch's."""
    _check_reduction("l1_loss", reduction)
    target = _check_pair("l1_loss", input, target)
    diff = input - target
    return _reduce("l1_loss", where(diff.data > 0, diff, 0.0) - where(diff.data < 0, diff, 0.0), reduction)


def _clamped_log(x):
    """max(log x, -100), as torch's binary_cross_entropy; at x = 0 the value is -100 and the
    gradient 0 (log's own gradient there, 1/0, is kept off the tape)."""
    positive = x.data > 0
    return where(positive, where(positive, x, 1.0).log(), -100.0).clip(min=-100.0)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(t log x + (1 - t) log(1 - x)), as torch.nn.functional.binary_cross_entropy: input holds
    probabilities in [0, 1], and each log is clamped at -100 (so x = 0 or 1 gives a finite loss)."""
    _check_reduction("binary_cross_entropy", reduction)
    target = _check_pair("binary_cross_entropy", input, target)
    if input.size and not (np.all(input.data >= 0) and np.all(input.data <= 1)):
        raise ValueError("binary_cross_entropy: every element of input must be a probability in [0, 1] "
                         "(for logits use binary_cross_entropy_with_logits)")
    losses = -(target * _clamped_log(input) + (1.0 - target) * _clamped_log(1.0 - input))
    if weight is not None:
        losses = losses * weight
    return _reduce("binary_cross_entropy", losses, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target) computed stably from the logits, as torch:
    (1 - t) x + (1 + (pos_weight - 1) t) (log(1 + exp(-|x|)) + max(-x, 0))."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    target = _check_pair("binary_cross_entropy_with_logits", input, target)
    # log(1 + exp(-x)) = log(1 + exp(-|x|)) + max(-x, 0), never overflowing. |x| is written x + 2 max(-x, 0)
    # so that both kinks at x = 0 take the same one-sided derivative: they cancel, as in the smooth function
    # (abs()'s own gradient at 0 is 0, torch's choice, which would leave the sum's gradient off by 1/2 there).
    negative_part = (-input).relu()
    softplus_neg = (1.0 + (-(input + 2.0 * negative_part)).exp()).log() + negative_part
    log_weight = 1.0 if pos_weight is None else (pos_weight - 1.0) * target + 1.0
    losses = (1.0 - target) * input + log_weight * softplus_neg
    if weight is not None:
        losses = losses * weight
    return _reduce("binary_cross_entropy_with_logits", losses, reduction)


def pad(input, pad, mode="constant", value=0.0):
    """Pad (or, with negative amounts, crop) the last len(pad) // 2 dimensions, as
    torch.nn.functional.pad: pad = (last_left, last_right, second_last_left, ...). Only
    mode='constant' is implemented."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is implemented, got mode={mode!r}")
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: input must be a Tensor, got {type(input).__name__}")
    if isinstance(pad, (str, bytes)) or not hasattr(pad, "__len__") or len(pad) % 2 or \
            not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"pad: pad must be a sequence of an even number of ints, got {pad!r}")
    if len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: pad has {len(pad) // 2} (left, right) pairs, the input only {input.ndim} dimensions")
    x = input
    for k in range(len(pad) // 2):
        x = _pad_axis(x, x.ndim - 1 - k, int(pad[2 * k]), int(pad[2 * k + 1]), value)
    return x


def _pad_axis(x, axis, left, right, value):
    """x with `left` constants before and `right` after along axis (a negative amount crops)."""
    n = x.shape[axis]
    if n + left + right < 0 or -left > n or -right > n:
        raise ValueError(f"pad: padding ({left}, {right}) of dimension {axis} (size {n}) leaves a negative size")
    if left < 0 or right < 0:
        index = [slice(None)] * x.ndim
        index[axis] = slice(max(-left, 0), n - max(-right, 0))
        x = x[tuple(index)]

    def block(amount):
        shape = list(x.shape)
        shape[axis] = amount
        return Tensor(np.full(shape, value, dtype=x.dtype))

    pieces = ([block(left)] if left > 0 else []) + [x] + ([block(right)] if right > 0 else [])
    return concatenate(pieces, axis=axis) if len(pieces) > 1 else x
