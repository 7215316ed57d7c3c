"""Functions built from Tensor operations: losses, embedding lookup, dropout.

Most are compositions the tape differentiates; the two hot spots of a language model's step have a
primitive of their own in primitives.py: the embedding lookup (a scatter-add backward) and the
cross-entropy of index targets (softmax, log and gather fused).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .. import primitives as P
from .. import random
from ..tape import apply
from ..tensor import ShapeError, Tensor, concatenate, where
from .checks import (
    ArgumentAssertionError,
    ArgumentTypeError,
    ArgumentValueError,
    DTypeMismatchError,
    DTypeNotImplementedError,
    ModeNotImplementedError,
    check_bool,
    check_float,
    check_int,
)

__all__ = ["log_softmax", "softmax", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "embedding", "dropout", "relu", "tanh", "sigmoid", "linear",
           "one_hot", "pad", "layer_norm", "leaky_relu", "elu", "silu", "softplus", "gelu", "smooth_l1_loss",
           "huber_loss", "kl_div", "cosine_similarity", "pairwise_distance", "scaled_dot_product_attention",
           "hardtanh", "relu6", "hardsigmoid", "hardswish", "selu", "celu", "mish", "softsign", "softshrink",
           "hardshrink", "tanhshrink", "threshold", "logsigmoid", "softmin", "glu", "prelu", "rrelu", "normalize",
           "gumbel_softmax", "rms_norm", "ctc_loss"]


def _int_array(x, name):
    """Class indices or rows as an integer array. Floats and bools are refused, as torch refuses them (a
    RuntimeError there): `tr.Tensor([1, 2])` holds floats, as `torch.Tensor([1, 2])` does; tr.tensor of ints makes
    int64 indices."""
    arr = x._data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "iu":
        hint = ": convert floats with .long())" if arr.dtype.kind == "f" else ")"
        raise ArgumentTypeError(f"{name} must be an integer array, got dtype {arr.dtype} (int64 indices, as "
                                "tr.tensor of ints makes" + hint)
    return arr


def _float_input(fn, input):
    """input, a Tensor of floats: an int64 or bool tensor is refused, as torch refuses it ("not implemented for
    'Long'"), rather than read as float32 numbers (Tensor._floating: the rule softmax and mean follow too)."""
    return input._floating(fn) if isinstance(input, Tensor) else input


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


def _softmax_input(fn, input, dtype):
    """input cast to dtype first (torch's dtype=: e.g. a float64 softmax of float32 logits), on the tape."""
    if dtype is None:
        return input
    try:
        as_dtype = np.dtype(dtype)
    except TypeError:   # numpy's "data type 'x' not understood"
        as_dtype = None
    if as_dtype is None or as_dtype not in (np.dtype(np.float32), np.dtype(np.float64)):   # (dtype == None is True)
        raise TypeError(f"{fn}: dtype must be float32 or float64 (or None), got {dtype!r}")
    return input.to(dtype=as_dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: npt.DTypeLike | None = None, *,
                axis: int | None = None) -> Tensor:
    """log(softmax(input)) along dim, computed stably, as torch.nn.functional.log_softmax (dtype: the
    input is cast to it first; _stacklevel is torch's and unused)."""
    dim = _softmax_dim("log_softmax", input, dim, axis)
    return _softmax_input("log_softmax", input, dtype).log_softmax(dim)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: npt.DTypeLike | None = None, *,
            axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim, as torch.nn.functional.softmax (see _softmax_dim for dim=None;
    dtype: the input is cast to it first; _stacklevel is torch's and unused)."""
    dim = _softmax_dim("softmax", input, dim, axis)
    return _softmax_input("softmax", input, dtype).softmax(dim)


def _class_weight(fn, weight, n_classes, dtype):
    """weight as a (C,) array of the input's dtype, or None."""
    if weight is None:
        return None
    if isinstance(weight, Tensor) and weight.dtype.kind == "f" and weight.dtype != dtype:   # as torch refuses
        raise DTypeMismatchError(f"{fn}: weight dtype {weight.dtype} does not match input dtype {np.dtype(dtype)}")
    arr = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
    if arr.dtype.kind not in "fiu" or arr.shape != (n_classes,):   # torch's RuntimeError too
        raise ShapeError(f"{fn}: weight must be a 1-D float array of C = {n_classes} class weights, got "
                         f"{'shape ' + str(arr.shape) if arr.dtype.kind in 'fiu' else 'dtype ' + str(arr.dtype)}")
    return arr.astype(dtype, copy=False)


def _rows_by_class(fn, input, targets):
    """input (C,), (N, C) or (N, C, d1, ...) as rows (M, C) with the class axis last, the index targets
    checked against it and flattened to (M,), and C. Tensor ops, so gradients flow back through them."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        raise ValueError(f"{fn}: input must have a class dimension: (C,), (N, C) or (N, C, d1, ...), got a scalar")
    _float_input(fn, input)
    class_axis = 0 if input.ndim == 1 else 1
    shape = input._data.shape
    expected = shape[:class_axis] + shape[class_axis + 1:]
    if targets.shape != expected:   # torch: a ValueError for another batch size, a RuntimeError otherwise
        raise ShapeError(f"{fn}: target must have shape {expected} for input of shape {tuple(input.shape)}, "
                         f"got {tuple(targets.shape)}")
    n_classes = input.shape[class_axis]
    if n_classes == 0:
        raise ValueError(f"{fn}: input has no classes (C = 0)")
    if input.ndim > 2:  # (N, C, d...) -> (N, d..., C)
        input = input.permute((0,) + tuple(range(2, input.ndim)) + (1,))
    return input.reshape(-1, n_classes), targets.reshape(-1), n_classes


def _class_targets(fn, targets, n_classes, ignore_index):
    """(safe targets (ignored ones replaced by 0), valid mask) after checking the range."""
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, (int, np.integer)):
        # 1.5 or "1" would match no target and silently ignore nothing
        raise TypeError(f"{fn}: ignore_index must be an int, got {type(ignore_index).__name__} {ignore_index!r}")
    valid = targets != ignore_index
    bad = valid & ((targets < 0) | (targets >= n_classes))
    if bad.any():   # an IndexError, as torch's "Target 3 is out of bounds"
        raise IndexError(f"{fn}: target must lie in [0, {n_classes}) (or equal ignore_index={ignore_index}); "
                         f"got {targets[bad][0]}")
    return np.where(valid, targets, 0), valid


def cross_entropy(input: Tensor, target: Tensor | npt.ArrayLike, weight: Tensor | npt.ArrayLike | None = None, *,
                  size_average: bool | None = None, ignore_index: int = -100, reduce: bool | None = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits, as torch.nn.functional.cross_entropy.

    input (C,), (N, C) or (N, C, d1, ...) logits. target either class indices of shape (), (N,) or
    (N, d1, ...) (ints; floats and bools are refused, as torch), or class probabilities: a float array of input's
    own shape. weight (C,) rescales each class; targets equal to ignore_index contribute nothing;
    label_smoothing in [0, 1] mixes the target with the uniform distribution. 'mean' divides by the summed
    weight of the non-ignored targets (their count without weight; N * d1 * ... for probabilities), so
    a mean over no valid target is 0/0 = nan, as in torch.

    Index targets go through one fused primitive (SoftmaxCrossEntropy): softmax, log, gather and the
    reduction in one node, whose backward is softmax minus the target, scaled.
    """
    fn = "cross_entropy"
    reduction = _legacy_reduction(fn, size_average, reduce, reduction)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float, np.floating)):
        raise TypeError(f"{fn}: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:   # torch's RuntimeError for 1.5 (it computes a negative one)
        raise ArgumentValueError(f"{fn}: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    raw = target._data if isinstance(target, Tensor) else np.asarray(target)
    if isinstance(input, Tensor) and raw.dtype.kind == "f" and raw.shape == input.shape and input.ndim:
        _float_input(fn, input)
        if ignore_index >= 0:   # torch's RuntimeError: probabilities have no class to ignore (its default -100 passes)
            raise ArgumentValueError(f"{fn}: ignore_index is not supported for floating point target (class "
                                     f"probabilities), got ignore_index={ignore_index}")
        if isinstance(target, Tensor) and target.dtype != input.dtype:   # its values were cast silently
            raise DTypeMismatchError(f"{fn}: target dtype {target.dtype} (class probabilities) does not match input "
                                     f"dtype {input.dtype}")
        probs = target if isinstance(target, Tensor) else raw   # a Tensor target gets its gradient, as torch's
        return _cross_entropy_probabilities(input, probs, weight, reduction, float(label_smoothing))
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
    """cross_entropy against class probabilities (torch's soft targets), composed of Tensor ops: probs (a Tensor of
    input's dtype, or an array) gets its gradient too, `-log_softmax(input)` scaled, as torch's."""
    class_axis = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_axis]
    coef = probs if isinstance(probs, Tensor) else probs.astype(input.dtype, copy=False)
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


def nll_loss(input: Tensor, target: Tensor | npt.ArrayLike, weight: Tensor | npt.ArrayLike | None = None, *,
             size_average: bool | None = None, ignore_index: int = -100, reduce: bool | None = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities, as torch.nn.functional.nll_loss.

    input (C,), (N, C) or (N, C, d1, ...); target class indices (), (N,) or (N, d1, ...); weight (C,).
    loss = -weight[t] * input[t], 0 where t == ignore_index; 'mean' divides by the summed weight of the
    non-ignored targets (nan if there are none, as torch)."""
    fn = "nll_loss"
    reduction = _legacy_reduction(fn, size_average, reduce, reduction)
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


def mse_loss(input: Tensor, target: Tensor | npt.ArrayLike, *, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | npt.ArrayLike | None = None) -> Tensor:
    """Mean squared error, as torch.nn.functional.mse_loss (shapes must match exactly). reduction is
    keyword-only: torch's third positional argument is the legacy size_average, so a positional
    "sum" there means a mean; refusing it beats silently differing. size_average= and reduce=, torch's
    deprecated keywords, become a reduction with torch's warning (as in every loss here). weight (torch 2.13): one
    weight per element, of input's shape and dtype; the mean is then sum(weight * loss) / sum(weight), as torch's."""
    reduction = _legacy_reduction("mse_loss", size_average, reduce, reduction)
    target = _check_pair("mse_loss", input, target)
    diff = input - target
    return _reduce("mse_loss", diff * diff, reduction, weight)


def embedding(input: Tensor | npt.ArrayLike, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """Rows of `weight` (num_embeddings, dim) picked by the integer indices `input` (any shape), as
    torch.nn.functional.embedding, in torch's argument order: repeated indices add up their gradients;
    the row at padding_idx (negative counts from the end) gets no gradient. With max_norm, each row that
    `input` picks and whose norm_type-norm exceeds max_norm is first scaled, in place in weight._data (no
    gradient), by max_norm / (norm + 1e-7), as torch does. scale_grad_by_freq=True and sparse=True are
    refused (no per-batch frequency scaling, no sparse gradients here)."""
    idx = _int_array(input, "embedding: input")
    if not isinstance(weight, Tensor) or weight.ndim != 2:   # torch's RuntimeError too
        raise ShapeError(f"embedding: weight must be a 2-D Tensor (num_embeddings, embedding_dim), got "
                         f"{weight.shape if isinstance(weight, Tensor) else type(weight).__name__}")
    _refuse_flag("embedding", "scale_grad_by_freq", scale_grad_by_freq, "the gradients are not scaled by the "
                 "indices' frequencies here")
    _refuse_flag("embedding", "sparse", sparse, "gradients are dense arrays here")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].flat[0]
        raise IndexError(f"embedding: input's indices must lie in [0, {n}) (num_embeddings), got {bad}")   # as torch
    padding_idx = _padding_index(padding_idx, n)
    if max_norm is not None:
        _renorm_rows(weight, idx, check_float("embedding", "max_norm", max_norm, 0),
                     check_float("embedding", "norm_type", norm_type, 0))
    return apply(P.Embedding, weight, indices=idx, padding_idx=padding_idx)


def _refuse_flag(fn, name, value, why):
    if check_bool(fn, name, value):
        raise ValueError(f"{fn}: {name}=True is not supported ({why}); pass {name}=False")


def _renorm_rows(weight, idx, max_norm, norm_type):
    """torch's embedding_renorm_: the picked rows whose norm exceeds max_norm scaled down to it, in place.
    Like any in-place change of a tensor, it bumps weight's version (a graph that saved it refuses to
    backpropagate, as torch's does)."""
    rows = np.unique(idx)
    picked = np.abs(weight._data[rows])
    if norm_type == np.inf:
        norms = picked.max(axis=1, initial=0)
    else:
        norms = np.sum(picked ** norm_type, axis=1) ** (1 / norm_type)
    big = norms > max_norm
    if np.any(big):
        scale = (max_norm / (norms[big] + 1e-7)).astype(weight.dtype)
        weight._data[rows[big]] *= scale[:, None]
        weight.bump_version()


def _padding_index(padding_idx, n):
    """padding_idx as a row number in [0, n), or None (torch's rule: -n <= padding_idx < n)."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"padding_idx must be an int or None, got {type(padding_idx).__name__}")
    if not -n <= padding_idx < n:   # torch asserts it
        raise ArgumentAssertionError(f"padding_idx must be within num_embeddings: -{n} <= padding_idx < {n}, got "
                                     f"{padding_idx}")
    return int(padding_idx) % n


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            rng: np.random.Generator | None = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout), torch's
    arguments in torch's order. The mask is drawn from `rng` (keyword only: torch's fourth argument is
    `inplace`), by default the library's generator (tr.manual_seed seeds it, as torch's seeds torch's).
    inplace=True writes the result into the input, as torch's dropout_ (in-place writes' rules: a leaf that
    requires grad is refused with grad mode on)."""
    p, training = check_float("dropout", "p", p, 0, 1), check_bool("dropout", "training", training)
    if not isinstance(input, Tensor):   # an ndarray ran through numpy and came back an ndarray, off the tape
        raise TypeError(f"dropout: input must be a Tensor, got {type(input).__name__}")
    if check_bool("dropout", "inplace", inplace) and training and p > 0:
        return input._in_place("dropout_", lambda: dropout(input, p, True, rng=rng))
    x = input
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    drawn = rng if rng is not None else random.generator()
    keep = drawn.random(x.shape) >= p
    if x.dtype.kind != "f":   # (an integer input: promoted by the product, as before)
        return x * (keep.astype(x.dtype) * (1.0 / (1.0 - p)))
    # a primitive of its own, so that a traced cell's step (compile/trace.py) sees a dropout, whose masks a
    # compiled layer draws itself, step by step
    mask = keep.astype(x.dtype) * (1.0 / (1.0 - p))
    return apply(P.Dropout, x, mask=mask, p=p, from_library=drawn is random.generator())


# ------------------------------------------------------------------- activations, linear, one_hot, pad, more losses


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0), as torch.nn.functional.relu; inplace=True writes the input (torch's relu_)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"relu(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return _result("relu", input, inplace, input.relu)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x, as torch.nn.functional.leaky_relu (gradient negative_slope
    at 0, as torch's); inplace=True writes the input."""
    _float_input("leaky_relu", input)
    slope = check_float("leaky_relu", "negative_slope", negative_slope)
    # a Tensor comparison: a compiled cell's trace records it
    return _result("leaky_relu", input, inplace, lambda: where(input > 0.0, input, input * slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1), as torch.nn.functional.elu (gradient alpha at 0, 1 at NaN)."""
    _float_input("elu", input)
    alpha = check_float("elu", "alpha", alpha)
    return _result("elu", input, inplace, lambda: _elu(input, alpha))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (swish), as torch.nn.functional.silu."""
    _float_input("silu", input)
    return _result("silu", input, inplace, lambda: input * input.sigmoid())


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold, as torch.nn.functional.softplus."""
    beta, threshold = check_float("softplus", "beta", beta), check_float("softplus", "threshold", threshold)
    _float_input("softplus", input)
    if beta == 0:   # torch gives inf (log 2 / 0); refused rather than a ZeroDivisionError from inside
        raise ValueError("softplus: beta must not be 0 (log(1 + exp(0 * x)) / 0 is infinite)")
    linear = input * beta > threshold   # a Tensor comparison: a compiled cell's trace records it
    scaled = where(linear, 0.0, input * beta)   # the linear side's exp is never computed: no overflow
    return where(linear, input, scaled.exp().log1p() * (1.0 / beta))   # log1p, as torch's: exact for small exp


def gelu(input: Tensor, *, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF, as torch.nn.functional.gelu: 0.5 x (1 + erf(x / sqrt(2))), or with
    approximate='tanh' 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). Each is torch's formula in torch's order
    of operations, composed of Tensor operations (the tape differentiates it). approximate is keyword-only, as
    torch's binding makes it."""
    _check_gelu_approximate("gelu", approximate)
    if not isinstance(input, Tensor):
        raise TypeError(f"gelu(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    _float_input("gelu", input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * (math.sqrt(2) * (2 / math.sqrt(math.pi)) * 0.5)
        return input * 0.5 * (inner.tanh() + 1.0)
    return input * 0.5 * ((input * math.sqrt(0.5)).erf() + 1.0)


def _check_gelu_approximate(fn, approximate):
    """gelu's approximate: the str 'none' or 'tanh', as torch (which raises a RuntimeError for another string)."""
    if not isinstance(approximate, str):
        raise TypeError(f"{fn}(): argument 'approximate' must be str, not {type(approximate).__name__} (as torch)")
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"{fn}: approximate argument must be either none or tanh, got {approximate!r} (as torch)")
    return approximate


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


# ---------------------------------------------------------------------- more activations (torch 2.13's F.hardtanh...)
# Each is a composition of Tensor operations, so the tape differentiates it and a compiled cell compiles it (the
# masks are Tensor comparisons, which a trace records, not numpy masks of ._data). Where torch's derivative at a kink
# differs from what the composition's pieces would give, a where() picks torch's side: the value that must not pass
# a gradient there is taken from input.detach(). NaN goes where torch's kernels send it (a comparison with NaN is
# false). inplace=True writes the input, as torch's (a leaf that requires grad is refused, in torch's words).


def _activation_input(fn, input):
    """input, a float Tensor (torch's TypeError for a non-Tensor; an int or bool tensor refused, see _float_input)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return _float_input(fn, input)


def _result(fn, input, inplace, make):
    """make()'s result, written into input when inplace=True (torch's fn_; see InPlaceWrites._in_place)."""
    if check_bool(fn, "inplace", inplace):
        return input._in_place(fn + "_", make)
    return make()


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """input clamped to [min_val, max_val], as torch.nn.functional.hardtanh. The gradient is torch's: 1 strictly
    inside, 0 at and beyond the bounds (a NaN passes its gradient on, as torch's scalar kernel; its vectorized one
    gives 0 there, so torch's answer at NaN depends on where the NaN sits)."""
    _activation_input("hardtanh", input)
    lo, hi = check_float("hardtanh", "min_val", min_val), check_float("hardtanh", "max_val", max_val)
    if lo > hi:
        raise ValueError("min_val cannot be greater than max_val")
    return _result("hardtanh", input, inplace, lambda: _clamped(input, lo, hi))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input, 0), 6), as torch.nn.functional.relu6: hardtanh(input, 0, 6), gradient 0 at 0 and at 6."""
    _activation_input("relu6", input)
    return _result("relu6", input, inplace, lambda: _clamped(input, 0.0, 6.0))


def _clamped(input, lo, hi):
    """input clamped to [lo, hi] with hardtanh's gradient: 0 at and beyond the bounds, 1 inside and at NaN. A lower
    bound 0 is relu's (relu6's), which keeps the input's own zero: hardtanh(-0.0, 0, 6) is -0.0, as torch's clamp."""
    lower = input.relu() if lo == 0 else where(input <= lo, lo, input)
    return where(input >= hi, hi, lower)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input + 3, 0), 6) / 6, as torch.nn.functional.hardsigmoid: gradient 1/6 strictly inside (-3, 3),
    0 elsewhere (at +-3 and at NaN too, as torch's)."""
    _activation_input("hardsigmoid", input)

    def make():
        inside = (input > -3.0) & (input < 3.0)
        flat = (input.detach() + 3.0).clamp(0.0, 6.0) / 6.0   # 0, 1 or NaN, no gradient
        return where(inside, (input + 3.0) / 6.0, flat)
    return _result("hardsigmoid", input, inplace, make)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """input * min(max(input + 3, 0), 6) / 6, as torch.nn.functional.hardswish; torch's gradient: 0 up to -3
    (included), input / 3 + 1/2 below 3, 1 from 3 on (and at NaN)."""
    _activation_input("hardswish", input)

    def make():
        middle = (input > -3.0) & (input < 3.0)
        inner = where(middle, input, 0.0)   # the product's gradient meets no NaN or inf from outside the middle
        zero = input.detach() * 0.0   # -0.0 for a negative input, as torch's input * 0 / 6
        return where(input <= -3.0, zero, where(middle, inner * (inner + 3.0) / 6.0, input))
    return _result("hardswish", input, inplace, make)


def _elu(input, alpha, scale=1.0, input_scale=1.0):
    """torch's elu kernel: expm1(input * input_scale) * alpha * scale where input <= 0, else input * scale
    (gradient alpha * scale * input_scale at 0; NaN takes the linear side, as torch's). expm1, as torch's: exp(x) - 1
    would lose every digit near 0 (elu(-1e-10) is -1e-10, not 0) and make elu(-0.0) 0.0 where torch's is -0.0."""
    negative = input <= 0.0
    below = where(negative, input, 0.0)   # the positive side's exp is never computed: no overflow
    if input_scale != 1.0:
        below = below * input_scale
    return where(negative, below.expm1() * (alpha * scale), input * scale if scale != 1.0 else input)


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946   # torch's


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(input, alpha) with torch's constants alpha = 1.6732..., scale = 1.0507..., as
    torch.nn.functional.selu."""
    _activation_input("selu", input)
    return _result("selu", input, inplace, lambda: _elu(input, _SELU_ALPHA, _SELU_SCALE))


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)), as torch.nn.functional.celu (gradient 1 at 0)."""
    _activation_input("celu", input)
    alpha = check_float("celu", "alpha", alpha)
    if alpha == 0:   # torch's RuntimeError, in its words
        raise ArgumentValueError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _result("celu", input, inplace, lambda: _elu(input, alpha, 1.0, 1.0 / alpha))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """input * tanh(softplus(input)), as torch.nn.functional.mish."""
    _activation_input("mish", input)
    return _result("mish", input, inplace, lambda: input * softplus(input).tanh())


def softsign(input: Tensor) -> Tensor:
    """input / (1 + |input|), as torch.nn.functional.softsign."""
    _activation_input("softsign", input)
    return input / (input.abs() + 1.0)


def _check_lambd(fn, lambd, dtype):
    """softshrink's lambd: in [0, the dtype's largest finite number], as torch checks it."""
    biggest = float(np.finfo(dtype).max)
    if isinstance(lambd, (bool, np.bool_)) or not isinstance(lambd, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}(): argument 'lambd' (position 2) must be Number, not {type(lambd).__name__}")
    if not 0.0 <= float(lambd) <= biggest:
        raise ArgumentValueError(f"{fn}: lambda must be in range [0, {biggest:g}] for input dtype {np.dtype(dtype)}, "
                                 f"but found {lambd}")
    return float(lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input - lambd above lambd, input + lambd below -lambd, 0 between (input * 0: -0.0 for a negative input), as
    torch.nn.functional.softshrink; gradient 0 on [-lambd, lambd], bounds included, as torch's."""
    _activation_input("softshrink", input)
    lambd = _check_lambd("softshrink", lambd, input.dtype)
    between = (input >= -lambd) & (input <= lambd)
    return where(between, input.detach() * 0.0, where(input < -lambd, input + lambd, input - lambd))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input where |input| > lambd, else 0, as torch.nn.functional.hardshrink (gradient 0 at +-lambd; torch does
    not check lambd here, so neither is it checked beyond being a number)."""
    _activation_input("hardshrink", input)
    lambd = check_float("hardshrink", "lambd", lambd)
    return where((input >= -lambd) & (input <= lambd), 0.0, input)


def tanhshrink(input: Tensor) -> Tensor:
    """input - tanh(input), as torch.nn.functional.tanhshrink."""
    _activation_input("tanhshrink", input)
    return input - input.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """input where input > threshold, else value, as torch.nn.functional.threshold (gradient 0 at the threshold;
    a NaN input stays NaN, as torch's)."""
    _activation_input("threshold", input)
    limit, value = check_float("threshold", "threshold", threshold), check_float("threshold", "value", value)
    return _result("threshold", input, inplace, lambda: where(input <= limit, value, input))


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(input)), as torch.nn.functional.logsigmoid, by torch's stable formula
    min(input, 0) - log1p(exp(-|input|)) (gradient 1/2 at 0: minimum's tie shares it)."""
    _activation_input("logsigmoid", input)
    return input.minimum(0.0) - (-input.abs()).exp().log1p()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: npt.DTypeLike | None = None) -> Tensor:
    """softmax(-input) along dim, as torch.nn.functional.softmin (dim=None as softmax's; dtype: cast first)."""
    dim = _softmax_dim("softmin", input, dim, None)
    return (-_softmax_input("softmin", input, dtype)).softmax(dim)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), a and b the two halves of input along dim, as torch.nn.functional.glu."""
    _activation_input("glu", input)
    if input.ndim == 0:
        raise ArgumentValueError("glu does not support scalars because halving size must be even")
    axis = _checked_dim(dim, input.ndim)
    if input.shape[axis] % 2:
        raise ArgumentValueError(f"Halving dimension must be even, but dimension {axis} is size {input.shape[axis]}")
    first, second = input.chunk(2, axis)
    return first * second.sigmoid()


def _checked_dim(dim, ndim):
    """dim as an axis in [0, ndim): torch's IndexError, in its words, for one out of range."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {type(dim).__name__} {dim!r}")
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], but got {dim})")
    return int(dim) % rank


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """input where input > 0, else weight * input, as torch.nn.functional.prelu: weight has one element, or one
    per channel (input's dimension 1). Gradient weight at 0, as torch's."""
    _activation_input("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu(): argument 'weight' (position 2) must be Tensor, not {type(weight).__name__}")
    if weight.ndim > 1:
        raise ArgumentValueError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    if weight.dtype != input.dtype:
        raise DTypeMismatchError(f"prelu: weight dtype {weight.dtype} does not match input dtype {input.dtype}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.size != 1 and weight.size != channels:
        raise ArgumentValueError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                                 f"{weight.size} and channel size = {channels}.")
    if weight.size > 1 and input.ndim > 2:   # one slope per channel, broadcast over the dimensions after it
        weight = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    elif input.ndim == 0 and weight.ndim:   # a 0-d input stays 0-d, as torch's
        weight = weight.reshape(())
    return where(input > 0.0, input, weight * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU, as torch.nn.functional.rrelu: in training, each input <= 0 is multiplied by a slope
    drawn from U(lower, upper) (the library's generator, tr.manual_seed seeds it), which is also its gradient;
    otherwise leaky_relu with the slope (lower + upper) / 2."""
    _activation_input("rrelu", input)
    lower, upper = check_float("rrelu", "lower", lower), check_float("rrelu", "upper", upper)
    if lower > upper:
        raise ArgumentValueError("Lower bound should be less than or equal to the upper bound")
    if not check_bool("rrelu", "training", training):
        return _result("rrelu", input, inplace, lambda: leaky_relu(input, (lower + upper) / 2))
    drawn = random.generator().uniform(lower, upper, size=input.shape)
    slopes = np.where(input._data <= 0, drawn, 1.0).astype(input.dtype)   # a NaN keeps slope 1, as torch's
    return _result("rrelu", input, inplace, lambda: input * slopes)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """input / max(||input||_p, eps) along dim, as torch.nn.functional.normalize (out=: the result written there
    too, without gradient, as torch refuses out= under autograd)."""
    _activation_input("normalize", input)
    axis = _checked_dim(dim, input.ndim)
    eps = check_float("normalize", "eps", eps)
    denominator = input.norm(p, axis if input.ndim else None, keepdim=True).clamp_min(eps)
    result = input / denominator
    if out is None:
        return result
    if result.requires_grad:
        raise RuntimeError("normalize(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    return out.copy_(result)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """softmax((logits + g) / tau) along dim, g Gumbel(0, 1) noise (-log of Exponential(1) draws from the library's
    generator), as torch.nn.functional.gumbel_softmax. hard=True: the one-hot of the argmax forward, the soft
    sample's gradient backward (y_hard - y_soft.detach() + y_soft, torch's straight-through). eps is torch's,
    deprecated and unused there too."""
    _activation_input("gumbel_softmax", logits)
    tau = check_float("gumbel_softmax", "tau", tau)
    axis = _checked_dim(dim, logits.ndim)
    gumbels = -np.log(random.generator().exponential(size=logits.shape)).astype(logits.dtype)
    soft = ((logits + gumbels) / tau).softmax(axis)
    if not check_bool("gumbel_softmax", "hard", hard):
        return soft
    index = np.expand_dims(np.argmax(soft._data, axis=axis), axis)
    one_hot = np.zeros(soft.shape, soft.dtype)
    np.put_along_axis(one_hot, index, 1.0, axis=axis)
    return soft - soft.detach() + one_hot   # torch's order: y_hard - y_soft.detach() + y_soft, the same numbers


def rms_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """input / sqrt(mean(input^2) + eps) * weight over the last len(normalized_shape) dimensions, as
    torch.nn.functional.rms_norm; eps=None means the dtype's machine epsilon (torch.finfo(dtype).eps)."""
    fn = "rms_norm"
    _activation_input(fn, input)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if input.ndim < k or input.shape[input.ndim - k:] != shape:   # torch's RuntimeError too
        raise ShapeError(f"{fn}: Given normalized_shape={list(shape)}, expected input with shape [*, "
                         f"{', '.join(map(str, shape))}], but got input of size {list(input.shape)}")
    if weight is not None and (not isinstance(weight, Tensor) or weight.dtype != input.dtype):
        raise TypeError(f"{fn}: weight must be a Tensor of the input's dtype {input.dtype}, got {_described(weight)}")
    if weight is not None and weight.shape != shape:
        raise ShapeError(f"{fn}: Expected weight to be of same shape as normalized_shape, but got weight of shape "
                         f"{list(weight.shape)} and normalized_shape = {list(shape)}")
    eps = float(np.finfo(input.dtype).eps) if eps is None else check_float(fn, "eps", eps)
    axes = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(axes, keepdims=True) + eps) ** -0.5
    return y if weight is None else y * weight


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, as torch.nn.functional.linear (weight (out, in), bias (out,))."""
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linear: {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim != 2 or input.ndim < 1 or input.shape[-1] != weight.shape[1]:   # torch's RuntimeError too
        raise ShapeError(f"linear: expected input (..., in_features) and weight (out_features, in_features), got "
                         f"input {tuple(input.shape)} and weight {tuple(weight.shape)}")
    y = input @ weight.T
    return y if bias is None else y + bias


def one_hot(tensor: Tensor | npt.ArrayLike, num_classes: int = -1, *, dtype: npt.DTypeLike | None = None) -> Tensor:
    """(..., num_classes) with 1 at each index, as torch.nn.functional.one_hot: int64 0s and 1s, as torch's
    (`.float()` for numbers, as in torch), or float32 / float64 with dtype=. num_classes=-1 means max(index) + 1.
    Class values out of range are a ValueError that is also torch's RuntimeError."""
    idx = _int_array(tensor, "one_hot: tensor")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot: num_classes must be an int, got {type(num_classes).__name__} {num_classes!r}")
    if dtype is not None and np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"one_hot: dtype must be float32 or float64 (or None for int64, torch's), got {dtype!r}")
    if idx.size == 0 and num_classes <= 0:
        raise ArgumentValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
    if idx.size and idx.min() < 0:
        raise ArgumentValueError(f"one_hot: class values must be non-negative, got {idx.min()}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1
    elif num_classes < 0 or (idx.size and idx.max() >= num_classes):
        raise ArgumentValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, got "
                                 f"{idx.max()}")
    out = np.zeros(idx.shape + (int(num_classes),), dtype=np.int64 if dtype is None else dtype)
    np.put_along_axis(out, idx[..., None], 1, axis=-1)
    return Tensor._make(out, False)


def _reduce(fn, losses, reduction, weight=None):
    """losses reduced as `reduction` says; with a weight per element (mse_loss, l1_loss), the weighted
    losses, their sum, or their sum over the weights' sum (torch's weighted mean, not the mean of them)."""
    if weight is not None:
        weight = _check_pair(fn, losses, weight, "weight")
        losses = losses * weight
        if reduction == "mean":
            return losses.sum() / weight.sum()
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def _legacy_reduction(fn, size_average, reduce, reduction, stacklevel=3):
    """torch's deprecated size_average and reduce (keywords here: see mse_loss), when either is given, turned into
    a reduction with torch's warning, as torch's _Reduction.legacy_get_string; then the reduction checked."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                      "instead.", UserWarning, stacklevel=stacklevel)
    _check_reduction(fn, reduction)
    return reduction


def _check_reduction(fn, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_pair(fn, input, target, name="target"):
    """input a Tensor; target (or a weight) a Tensor or array-like of the same shape, in input's dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    target = target if isinstance(target, Tensor) else input._operand(target)
    if target.shape != input.shape:   # (torch: a ValueError, or a RuntimeError where they do not broadcast)
        raise ShapeError(f"{fn}: {name} shape {tuple(target.shape)} must equal input shape {tuple(input.shape)}")
    if target.dtype != input.dtype:
        raise DTypeMismatchError(f"{fn}: {name} dtype {target.dtype} does not match input dtype {input.dtype}")
    return target


def l1_loss(input: Tensor, target: Tensor | npt.ArrayLike, *, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: Tensor | npt.ArrayLike | None = None) -> Tensor:
    """|input - target|, reduced, as torch.nn.functional.l1_loss. The gradient at input == target
    is 0 (sign(0)), as torch's. reduction is keyword-only (torch's third positional is size_average:
    see mse_loss); weight as mse_loss's."""
    reduction = _legacy_reduction("l1_loss", size_average, reduce, reduction)
    target = _check_pair("l1_loss", input, target)
    # (abs: its gradient at 0 is sign(0) = 0, as torch's; and a nan difference stays nan, which two where()s lost)
    return _reduce("l1_loss", (input - target).abs(), reduction, weight)


def _clamped_log(x):
    """max(log x, -100), as torch's binary_cross_entropy; at x = 0 the value is -100 and the
    gradient 0 (log's own gradient there, 1/0, is kept off the tape)."""
    positive = x._data > 0
    return where(positive, where(positive, x, 1.0).log(), -100.0).clip(min=-100.0)


def binary_cross_entropy(input: Tensor, target: Tensor | npt.ArrayLike, weight: Tensor | npt.ArrayLike | None = None,
                         *, size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """-(t log x + (1 - t) log(1 - x)), as torch.nn.functional.binary_cross_entropy: input holds
    probabilities in [0, 1], and each log is clamped at -100 (so x = 0 or 1 gives a finite loss).
    reduction is keyword-only (torch's fourth positional is size_average: see mse_loss)."""
    reduction = _legacy_reduction("binary_cross_entropy", size_average, reduce, reduction)
    target = _check_pair("binary_cross_entropy", input, target)
    if input.size and not (np.all(input._data >= 0) and np.all(input._data <= 1)):
        raise ArgumentValueError("binary_cross_entropy: every element of input must be a probability in [0, 1] "
                                 "(for logits use binary_cross_entropy_with_logits)")
    if target.size and not (np.all(target._data >= 0) and np.all(target._data <= 1)):   # as torch: another loss
        raise ArgumentValueError("binary_cross_entropy: every element of target must be a probability in [0, 1]")
    weight = _weight_tensor("binary_cross_entropy", "weight", weight, input)
    losses = -(target * _clamped_log(input) + (1.0 - target) * _clamped_log(1.0 - input))
    if weight is not None:
        losses = losses * weight
    return _reduce("binary_cross_entropy", losses, reduction)


def _weight_tensor(fn, name, w, input):
    """A weight given as a Tensor (in the input's dtype, as torch requires), or as numbers (a list, an array)
    read in the input's dtype, that broadcasts to the input's shape; None stays."""
    if w is None:
        return w
    if isinstance(w, Tensor):
        if w.dtype != input.dtype:
            raise DTypeMismatchError(f"{fn}: {name} dtype {w.dtype} does not match input dtype {input.dtype}")
    else:
        arr = np.asarray(w)
        if arr.dtype.kind not in "iuf":   # not strings (numpy would parse "2"), not objects
            raise TypeError(f"{fn}: {name} must be a Tensor or numbers, got {type(w).__name__} {w!r}")
        w = Tensor(arr.astype(input.dtype))
    try:
        fits = np.broadcast_shapes(w.shape, input.shape) == input.shape
    except ValueError:
        fits = False
    if not fits:   # torch's RuntimeError too
        raise ShapeError(f"{fn}: {name} of shape {tuple(w.shape)} does not broadcast to the input's shape "
                         f"{tuple(input.shape)}")
    return w


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor | npt.ArrayLike,
                                     weight: Tensor | npt.ArrayLike | None = None, *,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean",
                                     pos_weight: Tensor | npt.ArrayLike | None = None) -> Tensor:
    """binary_cross_entropy(sigmoid(input), target) computed stably from the logits, as torch:
    (1 - t) x + (1 + (pos_weight - 1) t) (log(1 + exp(-|x|)) + max(-x, 0)). reduction and pos_weight
    are keyword-only (torch's fourth positional is size_average: see mse_loss)."""
    reduction = _legacy_reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    target = _check_pair("binary_cross_entropy_with_logits", input, target)
    # log(1 + exp(-x)) = log(1 + exp(-|x|)) + max(-x, 0), never overflowing. |x| is written x + 2 max(-x, 0)
    # so that both kinks at x = 0 take the same one-sided derivative: they cancel, as in the smooth function
    # (abs()'s own gradient at 0 is 0, torch's choice, which would leave the sum's gradient off by 1/2 there).
    negative_part = (-input).relu()
    softplus_neg = (1.0 + (-(input + 2.0 * negative_part)).exp()).log() + negative_part
    pos_weight = _weight_tensor("binary_cross_entropy_with_logits", "pos_weight", pos_weight, input)
    log_weight = 1.0 if pos_weight is None else (pos_weight - 1.0) * target + 1.0
    losses = (1.0 - target) * input + log_weight * softplus_neg
    weight = _weight_tensor("binary_cross_entropy_with_logits", "weight", weight, input)
    if weight is not None:
        losses = losses * weight
    return _reduce("binary_cross_entropy_with_logits", losses, reduction)


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative amounts, crop) the last len(pad) // 2 dimensions, as
    torch.nn.functional.pad: pad = (last_left, last_right, second_last_left, ...).

    mode 'constant' fills with value (0 by default) and pads any number of dimensions. 'reflect' mirrors
    the input without repeating its edge, 'replicate' repeats the edge, 'circular' wraps around; as torch,
    these take no value (0 is accepted) and pad the last dimension of a 2-D or 3-D input, the last two of a
    3-D or 4-D one, or the last three of a 4-D or 5-D one: another combination is torch's
    NotImplementedError (`ModeNotImplementedError`). They index the input (index_select), so the gradient
    adds up where an entry is copied several times."""
    if not isinstance(mode, str):   # torch's TypeError
        raise TypeError(f"pad(): argument 'mode' (position 3) must be str, not {type(mode).__name__}")
    if mode not in PAD_MODES:
        raise ModeNotImplementedError(f"pad: unrecognised padding mode {mode!r}: one of {', '.join(PAD_MODES)}")
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: input must be a Tensor, got {type(input).__name__}")
    if isinstance(pad, (str, bytes)) or not hasattr(pad, "__len__") or \
            not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"pad: pad must be a sequence of ints, got {pad!r}")
    if len(pad) % 2:   # torch's RuntimeError
        raise ArgumentTypeError(f"pad: pad must hold an even number of ints ((left, right) pairs), got {pad!r}")
    if value is not None and (isinstance(value, (bool, np.bool_, str, bytes)) or not np.isscalar(value)):
        raise TypeError(f"pad: value must be a number, got {type(value).__name__} {value!r}")
    if len(pad) // 2 > input.ndim:   # torch's RuntimeError too
        raise ShapeError(f"pad: pad has {len(pad) // 2} (left, right) pairs, the input only {input.ndim} dimensions")
    pairs = [(int(pad[2 * k]), int(pad[2 * k + 1])) for k in range(len(pad) // 2)]   # the last dim's first
    if mode != "constant":
        return _pad_by_index(input, pairs, mode, value)
    value = 0.0 if value is None else value   # torch's default, None, pads with zeros
    x = input
    for k, (left, right) in enumerate(pairs):
        x = _pad_axis(x, x.ndim - 1 - k, left, right, value)
    return x


def _pad_by_index(input, pairs, mode, value):
    """'reflect', 'replicate' or 'circular' padding: for each padded dim, the index of the input's entry that
    each output entry copies, gathered by index_select (whose gradient sums the copies). The modes are separable
    (an output entry copies input[f1(i)][f2(j)]), so one dim after the other gives torch's corners."""
    if value is not None and value != 0:   # torch's RuntimeError
        raise ArgumentValueError(f"pad: padding mode {mode!r} doesn't take in value argument, got value={value!r}")
    k = len(pairs)
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise ModeNotImplementedError(
            f"pad: mode {mode!r} pads the last dim of a 2-D or 3-D input, the last 2 of a 3-D or 4-D one, or the "
            f"last 3 of a 4-D or 5-D one (as torch); got {2 * k} pad values for a {input.ndim}-D input")
    if mode != "circular":
        if input.dtype == np.bool_:   # torch's NotImplementedError
            raise DTypeNotImplementedError(f"pad: mode {mode!r} of a bool tensor is not implemented (as torch)")
        kept = input.shape[1:] if input.ndim == k + 2 else input.shape   # only a batch dim may be empty
        if 0 in kept:
            raise ShapeError(f"pad: mode {mode!r} expects non-zero dimensions but for a batch dim, got input shape "
                             f"{tuple(input.shape)}")
    x = input
    for j, (left, right) in enumerate(pairs):
        axis = x.ndim - 1 - j
        x = _gather_padded(x, axis, _padded_indices(mode, x.shape[axis], left, right, axis), left, right)
    return x


def _gather_padded(x, axis, indices, left, right):
    """x's entries at `indices` along axis: the uncropped middle as a slice of x, only the padding by
    index_select, so the scatter-add of the backward (np.add.at, slow) covers the padding alone: a whole-axis
    index_select took 4 to 5 times as long, forward and backward, padding (3, 3) of a (16, 32, 512) input."""
    n = x.shape[axis]
    start = max(-left, 0)
    middle = max(n - max(-right, 0) - start, 0)
    before = max(left, 0)
    pieces = []
    if before:
        pieces.append(x.index_select(axis, indices[:before]))
    if middle:
        pieces.append(x.narrow(axis, start, middle))
    if before + middle < len(indices):
        pieces.append(x.index_select(axis, indices[before + middle:]))
    if not pieces:   # an empty result ('circular' cropping everything)
        return x.narrow(axis, 0, 0)
    return concatenate(pieces, axis=axis) if len(pieces) > 1 else pieces[0]


def _padded_indices(mode, n, left, right, axis):
    """The input index each output entry of a dim of size n padded by (left, right) copies; a negative amount
    crops. Output entry o (counted from the input's first entry, so o runs over [-left, n + right)) copies:
    reflect, |o| folded back at n - 1; replicate, o clipped to [0, n - 1]; circular, the cropped input wrapped."""
    where_ = f"padding ({left}, {right}) of dim {axis} (size {n})"
    size = n + left + right
    if mode == "reflect" and (left >= n or right >= n):   # torch's RuntimeError
        raise ArgumentValueError(f"pad: 'reflect' {where_}: each amount must be less than the size")
    if mode == "circular":
        return _circular_indices(n, left, right, where_)
    if size < 1:
        raise ShapeError(f"pad: mode {mode!r} {where_} leaves an output size of {size}, less than 1")
    positions = np.arange(-left, n + right)
    if mode == "replicate":
        return np.clip(positions, 0, n - 1)
    folded = np.abs(positions)
    return np.where(folded > n - 1, 2 * (n - 1) - folded, folded)


def _circular_indices(n, left, right, where_):
    """torch crops first (negative amounts), then wraps what is left: each positive amount may be at most that
    length. (torch checks the amounts against the size before cropping only, and past it reads uninitialised
    memory or fails on overlapping copies: refused here.)"""
    lo, hi = max(-left, 0), n - max(-right, 0)
    kept = hi - lo
    if left > n or right > n or max(left, 0) > max(kept, 0) or max(right, 0) > max(kept, 0):
        raise ArgumentValueError(f"pad: 'circular' {where_}: padding value causes wrapping around more than once "
                                 f"(each amount at most the {max(kept, 0)} entries left after cropping)")
    if n + left + right < 0:
        raise ShapeError(f"pad: 'circular' {where_}: negative padding value is resulting in an empty dimension")
    return lo + np.mod(np.arange(-max(left, 0), kept + max(right, 0)), max(kept, 1))


def _pad_axis(x, axis, left, right, value):
    """x with `left` constants before and `right` after along axis (a negative amount crops)."""
    n = x.shape[axis]
    if n + left + right < 0 or -left > n or -right > n:   # torch's RuntimeError too
        raise ShapeError(f"pad: padding ({left}, {right}) of dimension {axis} (size {n}) leaves a negative size")
    if left < 0 or right < 0:
        index = [slice(None)] * x.ndim
        index[axis] = slice(max(-left, 0), n - max(-right, 0))
        x = x[tuple(index)]

    def block(amount):
        shape = list(x.shape)
        shape[axis] = amount
        return Tensor._make(np.full(shape, value, dtype=x.dtype), False)   # x's dtype: int64 and bool stay

    pieces = ([block(left)] if left > 0 else []) + [x] + ([block(right)] if right > 0 else [])
    return concatenate(pieces, axis=axis) if len(pieces) > 1 else x


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dimensions, as
    torch.nn.functional.layer_norm (var the biased variance, divided by n); weight and bias, if given,
    have shape normalized_shape and the input's dtype. What nn.LayerNorm calls."""
    fn = "layer_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if input.ndim < k or input.shape[input.ndim - k:] != shape:   # torch's RuntimeError too
        raise ShapeError(f"{fn}: the input's last {k} dimension(s) must be normalized_shape {shape}, got input "
                         f"shape {tuple(input.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and (not isinstance(p, Tensor) or p.dtype != input.dtype):
            raise TypeError(f"{fn}: {name} must be a Tensor of the input's dtype {input.dtype}, got {_described(p)}")
        if p is not None and p.shape != shape:
            raise ShapeError(f"{fn}: {name} must have shape normalized_shape {shape}, got {tuple(p.shape)}")
    eps = _real(fn, "eps", eps)   # any number, as torch's: a negative eps computes (NaN where var + eps < 0)
    axes = tuple(range(input.ndim - k, input.ndim))
    centred = input - input.mean(axes, keepdims=True)
    var = (centred * centred).mean(axes, keepdims=True)
    y = centred * (var + eps) ** -0.5
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def _described(x):
    return f"a Tensor of dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__


# ------------------------------------------------------------------- smooth_l1, huber, kl_div; cosine and p-distances


def _real(fn, name, value):
    """A number argument as a Python float (a 0-d float Tensor too, as torch's float arguments take one; a bool as
    its number, 1.0 or 0.0, as torch's argument parser reads one: huber_loss(delta=True) is delta 1; not a str);
    its range is the caller's check."""
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind == "f":
        value = value.item()
    if not isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        raise TypeError(f"{fn}(): argument '{name}' must be float, got {type(value).__name__} {value!r}")
    return float(value)


def smooth_l1_loss(input: Tensor, target: Tensor | npt.ArrayLike, *, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """`0.5 * z * z / beta` where `z = |input - target| < beta`, else `z - 0.5 * beta` (z itself for beta = 0),
    reduced, as torch.nn.functional.smooth_l1_loss, in torch's order of operations. beta must be >= 0 (torch's
    RuntimeError otherwise); reduction and beta are keyword-only (torch's third positional is size_average: see
    mse_loss). At z = beta the linear side is taken, as torch; both have slope 1 there."""
    fn = "smooth_l1_loss"
    reduction = _legacy_reduction(fn, size_average, reduce, reduction)
    beta = _real(fn, "beta", beta)
    if not beta >= 0:   # nan too, as torch
        raise ArgumentValueError(f"{fn}: beta must be >= 0 (torch does not support negative values), got {beta}")
    _float_input(fn, input)
    target = _check_pair(fn, input, target)
    z = (input - target).abs()
    if beta == 0:   # torch's l1_loss
        return _reduce(fn, z, reduction)
    small = ~(z._data >= beta)   # (nan on the square's side, as torch's kernel: its gradient nan)
    zs = where(small, z, 0.0)   # (the square's branch of an infinite z: 0, so its zero gradient does not meet inf)
    return _reduce(fn, where(small, zs * zs * 0.5 / beta, z - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor | npt.ArrayLike, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | npt.ArrayLike | None = None) -> Tensor:
    """`0.5 * z * z` where `z = |input - target| < delta`, else `delta * (z - 0.5 * delta)`, reduced, as
    torch.nn.functional.huber_loss (smooth_l1_loss times delta, for delta = beta). delta must be > 0 (torch's
    RuntimeError). weight (torch 2.13): one per element, of input's shape and dtype, multiplies the losses
    before the reduction; its 'mean' is the plain mean of the weighted losses, as torch's (not mse_loss's
    weighted mean). reduction is torch's third positional here (huber_loss has no size_average)."""
    fn = "huber_loss"
    _check_reduction(fn, reduction)
    delta = _real(fn, "delta", delta)
    if not delta > 0:
        raise ArgumentValueError(f"{fn}: delta must be > 0 (torch does not support non-positive values), got {delta}")
    _float_input(fn, input)
    target = _check_pair(fn, input, target)
    z = (input - target).abs()
    small = ~(z._data >= delta)   # (as smooth_l1_loss's)
    zs = where(small, z, 0.0)   # (as smooth_l1_loss's: an infinite z gets torch's gradient, delta, not nan)
    losses = where(small, zs * zs * 0.5, (z - 0.5 * delta) * delta)
    if weight is not None:
        losses = losses * _check_pair(fn, input, weight, "weight")
    return _reduce(fn, losses, reduction)


KL_MEAN_WARNING = ("reduction: 'mean' divides the total loss by both the batch size and the support size."
                   "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                   "'mean' will be changed to behave the same as 'batchmean' in the next major release.")


def kl_div(input: Tensor, target: Tensor | npt.ArrayLike, *, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """The pointwise KL divergence of log-probabilities input from target, reduced, as
    torch.nn.functional.kl_div: `target * (log(target) - input)`, 0 where target is 0 (torch's xlogy), or with
    log_target=True `exp(target) * (target - input)`. reduction 'batchmean' divides the sum by input's first
    size (the KL divergence per sample), 'mean' by the element count, with torch's warning that it is not
    the KL divergence. size_average / reduce (keywords here) replace the reduction, as torch's; torch then
    still divides by the batch size if reduction='batchmean' was also given, and so does this.
    The target's gradient at target = 0 is 0 here (torch's is nan)."""
    fn = "kl_div"
    log_target = check_bool(fn, "log_target", log_target)
    if size_average is not None or reduce is not None:
        reduced_as = _legacy_reduction(fn, size_average, reduce, "mean")
    else:
        if reduction not in ("mean", "batchmean", "sum", "none"):
            raise ValueError(f"{fn}: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
        if reduction == "mean":
            warnings.warn(KL_MEAN_WARNING, UserWarning, stacklevel=2)
        reduced_as = "sum" if reduction == "batchmean" else reduction
    _float_input(fn, input)
    target = _check_pair(fn, input, target)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        losses = _x_log_x(target) - target * input
    out = _reduce(fn, losses, reduced_as)
    if reduction == "batchmean" and input.ndim:   # an empty batch: 0 / 0 = nan, as torch
        out = out / float(input.shape[0]) if input.shape[0] else out * float("nan")
    return out


def _x_log_x(t):
    """t log t, 0 where t is 0 (torch's xlogy(t, t)); nan for t < 0. log(0) is kept off the tape (its gradient
    1/0 would be multiplied by 0: nan), so the gradient at 0 is 0."""
    zero = t._data == 0
    with np.errstate(invalid="ignore"):
        return where(zero, 0.0, t * where(zero, 1.0, t).log())


def _two_float_tensors(fn, x1, x2):
    """x1 and x2: Tensors of one float dtype (torch promotes a mix; here it is refused, not upcast), and the
    shape they broadcast to."""
    for name, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    if x1.dtype.kind != "f" and x2.dtype.kind != "f":   # torch's RuntimeError
        raise DTypeNotImplementedError(f"{fn}: expected floating point tensors, got {x1.dtype} and {x2.dtype}")
    if x1.dtype != x2.dtype:
        raise DTypeMismatchError(f"{fn}: x1 dtype {x1.dtype} does not match x2 dtype {x2.dtype} (convert one)")
    try:
        return np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:   # torch's RuntimeError too
        raise ShapeError(f"{fn}: x1 of shape {tuple(x1.shape)} and x2 of shape {tuple(x2.shape)} do not "
                         "broadcast") from None


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """`sum(x1 / max(norm(x1), eps) * x2 / max(norm(x2), eps))` along dim, as torch.nn.functional.cosine_similarity
    in torch 2.13: each norm is clamped at eps separately, and each input divided by its own before the product
    (so no overflow, and |result| <= 1). x1 and x2 broadcast; dim is a dim of their common shape, removed.
    The gradient flows through a clamped norm as through an unclamped one, as torch's (whose clamp is in place
    and so passes the gradient everywhere)."""
    fn = "cosine_similarity"
    shape = _two_float_tensors(fn, x1, x2)
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{fn}(): argument 'dim' (position 3) must be int, not {type(dim).__name__}")
    eps = _real(fn, "eps", eps)
    if not eps >= 0:
        raise ArgumentValueError(f"{fn}: eps must be non-negative, got {eps}")
    ndim = max(len(shape), 1)   # a 0-d pair has dim 0 (or -1), as torch
    if not -ndim <= dim < ndim:   # torch's IndexError
        raise IndexError(f"{fn}: dim {dim} out of range for inputs of common shape {shape} (expected to be in "
                         f"range of [{-ndim}, {ndim - 1}])")
    x1, x2 = ((x if x.shape == shape else x.expand(*shape)).reshape(shape or (1,)) for x in (x1, x2))
    out = ((x1 / _norm_at_least(x1, dim, eps)) * (x2 / _norm_at_least(x2, dim, eps))).sum(dim)
    return out.reshape(()) if not shape else out


def _norm_at_least(x, dim, eps):
    """`max(norm(x), eps)` along dim (kept), whose gradient is the norm's even where eps is taken: n - n is 0 exactly,
    so the value is the clamped one, and only n carries a gradient."""
    n = x.norm(2, dim, keepdim=True)
    return (n - n.detach()) + np.maximum(n._data, eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """The p-norm of x1 - x2 + eps along the last dim of their common shape, as
    torch.nn.functional.pairwise_distance (eps is added to the difference, as torch, not a clamp). p may be any
    number: p > 0 and ±inf as Tensor.norm; p = 0 counts the non-zero entries (gradient 0; torch's is none);
    p < 0 is `sum(|d| ** p) ** (1 / p)`, as torch. 0-d inputs give a 0-d distance, keepdim or not, as torch."""
    fn = "pairwise_distance"
    shape = _two_float_tensors(fn, x1, x2)
    p, eps = _real(fn, "p", p), _real(fn, "eps", eps)
    if p != p:
        raise ArgumentValueError(f"{fn}: p must be a number, got nan (torch returns nan)")
    keepdim = check_bool(fn, "keepdim", keepdim)
    d = x1 - x2 + eps
    if not shape:
        return _vector_norm(d.reshape(1), p, False).reshape(())
    return _vector_norm(d, p, keepdim)


def _vector_norm(d, p, keepdim):
    """The p-norm of d along its last dim, for every p (Tensor.norm takes p > 0 and ±inf)."""
    if p > 0 or p == -np.inf:
        return d.norm(p, -1, keepdim)
    if p == 0:   # the count, on the tape with gradient 0 (d * 0 is read only where d is 0: an inf's nan never)
        with np.errstate(invalid="ignore"):
            return where(d._data != 0, 1.0, d * 0.0).sum(-1, keepdim)
    with np.errstate(divide="ignore"):   # a zero entry: |0|^p = inf, and the norm 0
        return (d.abs() ** p).sum(-1, keepdim) ** (1.0 / p)


# ------------------------------------------------------------------- attention


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value, as torch.nn.functional.scaled_dot_product_attention.

    query `(..., L, E)`, key `(..., S, E)`, value `(..., S, Ev)` give `(..., L, Ev)`: output row `i` is a
    weighted mean of value's rows, with weights `softmax_j(q[i] . k[j] * scale)`. The batch dims broadcast, as
    matmul's. scale defaults to `1/sqrt(E)`. attn_mask broadcasts to `(..., L, S)`: a bool mask says which
    positions take part (True), a float mask (float32 or the query's dtype) is added to the scores (-inf masks).
    is_causal masks the future (`j > i`, the top-left lower triangle), as torch, and excludes attn_mask. A row
    with every position masked gives zeros and gradient zero, as torch 2.13 (not nan). dropout_p drops weights
    after the softmax, whatever the module's mode (as torch), drawn from the library's generator (tr.manual_seed):
    the same seed, the same mask, but not torch's numbers. enable_gqa: key and value may have fewer heads (dim
    -3) than query, a divisor of them; each is repeated to query's (repeat_interleave, as torch).

    Built from Tensor operations; the tape differentiates it."""
    q, k, v = _attention_operands(query, key, value)
    dropout_p = _attention_flags(dropout_p, is_causal, enable_gqa, attn_mask)
    if enable_gqa:
        k, v = _repeat_heads(q, k, "key"), _repeat_heads(q, v, "value")
    batch = _attention_batch(q, k, v)
    E, L, S = q.shape[-1], q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(E) if scale is None else check_float("scaled_dot_product_attention", "scale", scale)
    scores = (q @ k.transpose(-2, -1)) * scale   # (..., L, S)
    if is_causal:
        attn_mask = np.tril(np.ones((L, S), dtype=bool))
    if attn_mask is not None:
        scores = _apply_attention_mask(scores, attn_mask, batch + (L, S))
    weights = _softmax_of_unmasked(scores)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ v


def _attention_operands(query, key, value):
    """query, key and value: Tensors of floats, one dtype, at least 2-D, query's E the key's, key's S the value's."""
    fn = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {name} must be a Tensor, got {type(t).__name__}")
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ShapeError(f"{fn}: query, key and value must all be at least 2-D (..., L or S, E), got query "
                         f"{tuple(query.shape)}, key {tuple(key.shape)} and value {tuple(value.shape)}")
    if not query.dtype == key.dtype == value.dtype:
        raise DTypeMismatchError(f"{fn}: query, key and value must have one dtype (as torch: nothing is upcast "
                                 f"silently), got {query.dtype}, {key.dtype} and {value.dtype}")
    query._floating(fn)
    if key.shape[-1] != query.shape[-1]:
        raise ShapeError(f"{fn}: key's last dim (E) must be query's, {query.shape[-1]}: got query {tuple(query.shape)} "
                         f"and key {tuple(key.shape)}")
    if value.shape[-2] != key.shape[-2]:
        raise ShapeError(f"{fn}: value must have key's number of positions S = {key.shape[-2]} (dim -2): got "
                         f"key {tuple(key.shape)} and value {tuple(value.shape)}")
    return query, key, value


def _attention_flags(dropout_p, is_causal, enable_gqa, attn_mask):
    """dropout_p as a float in [0, 1] (torch's RuntimeError outside it); is_causal without a mask, as torch."""
    fn = "scaled_dot_product_attention"
    if isinstance(dropout_p, (bool, np.bool_)):
        dropout_p = float(dropout_p)   # torch takes True as 1.0
    dropout_p = check_float(fn, "dropout_p", dropout_p)
    if not 0.0 <= dropout_p <= 1.0:
        raise ArgumentValueError(f"{fn}: dropout probability has to be between 0 and 1, but got {dropout_p}")
    if check_bool(fn, "is_causal", is_causal) and attn_mask is not None:
        raise ArgumentValueError(f"{fn}: an explicit attn_mask should not be set when is_causal=True (as torch)")
    check_bool(fn, "enable_gqa", enable_gqa)
    return dropout_p


def _repeat_heads(q, t, name):
    """key or value with its heads (dim -3) repeated to query's: each head serves a group of query heads."""
    if q.ndim < 3 or t.ndim < 3:
        raise IndexError(f"scaled_dot_product_attention: enable_gqa=True needs a heads dim (-3) in query and "
                         f"{name}, got query {tuple(q.shape)} and {name} {tuple(t.shape)}")
    heads, kv_heads = q.shape[-3], t.shape[-3]
    if heads % kv_heads:
        raise ShapeError(f"scaled_dot_product_attention: the number of heads in {name} ({kv_heads}) must divide "
                         f"the number of heads in query ({heads}) with enable_gqa=True")
    return t.repeat_interleave(heads // kv_heads, dim=-3) if kv_heads != heads else t


def _attention_batch(q, k, v):
    """The batch dims (all but the last two) of query, key and value, broadcast together, as matmul's."""
    try:
        return np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ShapeError(f"scaled_dot_product_attention: the batch dims of query {tuple(q.shape)}, key "
                         f"{tuple(k.shape)} and "
                         f"value {tuple(v.shape)} do not broadcast") from None


def _apply_attention_mask(scores, attn_mask, shape):
    """scores with a bool mask's False positions at -inf, or a float mask added; the mask broadcasts to scores'
    shape `(..., L, S)` and never widens it (torch's RuntimeError)."""
    fn = "scaled_dot_product_attention"
    if isinstance(attn_mask, Tensor):
        mask = attn_mask
    elif isinstance(attn_mask, np.ndarray):
        mask = Tensor._make(attn_mask, False)
    else:
        raise TypeError(f"{fn}: attn_mask must be a Tensor (bool or float) or None, got {type(attn_mask).__name__}")
    if mask.dtype != np.bool_ and mask.dtype not in (np.dtype(np.float32), scores.dtype):
        raise ArgumentTypeError(f"{fn}: attn_mask must be bool, float32 or the query's dtype ({scores.dtype}), "
                                f"got {mask.dtype}")
    try:
        fits = np.broadcast_shapes(mask.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{fn}: attn_mask {tuple(mask.shape)} does not broadcast to the scores' shape {tuple(shape)} "
                         "(batch..., L, S)")
    if mask.dtype == np.bool_:
        return scores.masked_fill(~mask._data, -math.inf)
    return scores + mask.to(dtype=scores.dtype)


def _softmax_of_unmasked(scores):
    """softmax over the last dim, with rows whose every score is -inf giving zeros (torch's _safe_softmax) rather
    than 0/0. Those rows' scores are set to 0 before the softmax too, so that its backward sees no nan."""
    dead = np.all(scores._data == -np.inf, axis=-1, keepdims=True)
    if not dead.any():
        return scores.softmax(-1)
    return where(dead, 0.0, where(dead, 0.0, scores).softmax(-1))


def ctc_loss(log_probs: Tensor, targets: Tensor | npt.ArrayLike, input_lengths: Tensor | Sequence[int],
             target_lengths: Tensor | Sequence[int], blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> Tensor:
    """The connectionist temporal classification loss (Graves et al. 2006), as torch.nn.functional.ctc_loss.

    log_probs (T, N, C), or (T, C) for one sequence: log-probabilities over C classes per frame (a log_softmax's
    output), float32 or float64. targets: the label sequences, either padded (N, S), row n's first
    `target_lengths[n]` entries being its labels, or all of them concatenated, of length sum(target_lengths);
    labels lie in [0, C) and are never `blank`. input_lengths and target_lengths (N,): frames and labels per
    sequence, both int tensors or both sequences of ints. The loss of a sequence is -log of the summed
    probability of every alignment of its labels with its frames (a label may repeat over frames, blanks go
    anywhere; two equal labels in a row need a blank between them): inf where no alignment fits, or 0 with
    zero_infinity (its gradient too). 'mean' divides each loss by its target length (at least 1), then averages
    over the batch; 'sum' adds; 'none' gives the N losses.

    The gradient with respect to log_probs is torch's, the gradient with respect to the logits of a log_softmax
    (see primitives.CTCLoss): feed ctc_loss a log_softmax's output, as torch's documentation asks.
    """
    fn = "ctc_loss"
    _check_reduction(fn, reduction)
    zero_infinity = check_bool(fn, "zero_infinity", zero_infinity)
    lp, unbatched = _ctc_log_probs(fn, log_probs)
    n_steps, batch, n_classes = lp.shape
    blank = check_int(fn, "blank", blank)
    if not 0 <= blank < n_classes:   # torch's RuntimeError "blank must be in label range"
        raise ArgumentValueError(f"{fn}: blank must be a class index in [0, {n_classes}), got {blank}")
    in_len, tgt_len = _ctc_lengths(fn, input_lengths, target_lengths, batch, n_steps)
    padded = _ctc_targets(fn, targets, tgt_len, batch)
    _ctc_check_labels(fn, padded, tgt_len, n_classes, blank)
    losses = apply(P.CTCLoss, lp, targets=padded, input_lengths=in_len, target_lengths=tgt_len, blank=blank,
                   zero_infinity=zero_infinity)
    if reduction == "mean":   # as torch: each loss over its target length (at least 1), then the batch's mean
        return (losses / np.maximum(tgt_len, 1).astype(lp.dtype)).mean()
    if reduction == "sum":
        return losses.sum()
    return losses.reshape(()) if unbatched else losses


def _ctc_log_probs(fn, log_probs):
    """log_probs as (T, N, C) (a (T, C) one gets a batch axis of 1, on the tape), and whether it was (T, C)."""
    if not isinstance(log_probs, Tensor):
        raise TypeError(f"{fn}: log_probs must be a Tensor, got {type(log_probs).__name__}")
    if log_probs.dtype not in (np.float32, np.float64):   # torch: "ctc_loss_cpu" not implemented for 'Long'
        raise DTypeNotImplementedError(f"{fn}: log_probs must be float32 or float64, got {log_probs.dtype}")
    if log_probs.ndim not in (2, 3):   # torch's RuntimeError
        raise ShapeError(f"{fn}: log_probs must be (T, N, C), or (T, C) for one sequence, got shape "
                         f"{tuple(log_probs.shape)}")
    if log_probs.ndim == 2:
        return log_probs.reshape(log_probs.shape[0], 1, log_probs.shape[1]), True
    return log_probs, False


def _ctc_lengths(fn, input_lengths, target_lengths, batch, n_steps):
    """input_lengths and target_lengths as (N,) int64 arrays, checked: N of each, 0 <= input length <= T,
    target lengths >= 0."""
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor):   # as torch's TypeError
        raise TypeError(f"{fn}: input_lengths and target_lengths must both be int tensors or both sequences of "
                        f"ints, got {type(input_lengths).__name__} and {type(target_lengths).__name__}")
    arrays = []
    for name, lengths in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        arr = _ctc_length_array(fn, name, lengths)
        if arr.size != batch:   # torch's RuntimeError "input_lengths must be of size batch_size"
            raise ShapeError(f"{fn}: {name} must hold one length per sequence (N = {batch}), got {arr.size}")
        if arr.size and arr.min() < 0:
            raise ArgumentValueError(f"{fn}: {name} must be >= 0, got {arr.min()}")
        arrays.append(arr)
    if batch and arrays[0].max() > n_steps:
        raise ArgumentValueError(f"{fn}: input_lengths must be at most log_probs' T = {n_steps}, got "
                                 f"{arrays[0].max()}")
    return arrays[0], arrays[1]


def _ctc_length_array(fn, name, lengths):
    """One lengths argument as a flat int64 array: an int tensor, or a list or tuple of ints."""
    if isinstance(lengths, Tensor):
        if lengths.dtype.kind not in "iu":   # torch's RuntimeError "input_lengths must be integral"
            raise ArgumentTypeError(f"{fn}: {name} must be an integer tensor, got dtype {lengths.dtype}")
        return lengths._data.reshape(-1).astype(np.int64)
    if not isinstance(lengths, (list, tuple)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) for n in lengths):
        raise TypeError(f"{fn}: {name} must be an int tensor or a list or tuple of ints, got {_described(lengths)}")
    return np.array(lengths, dtype=np.int64).reshape(-1)


def _ctc_targets(fn, targets, target_lengths, batch):
    """targets as (N, S) int64, padded: a concatenated 1-D one split by target_lengths (also for one unbatched
    sequence, as torch: its 1-D targets hold exactly target_length labels)."""
    arr = _int_array(targets, "targets").astype(np.int64)
    longest = int(target_lengths.max()) if batch else 0
    if arr.ndim == 2:
        if arr.shape[0] != batch:
            raise ShapeError(f"{fn}: padded targets must have N = {batch} rows, got shape {tuple(arr.shape)}")
        if arr.shape[1] < longest:
            raise ShapeError(f"{fn}: target_lengths ask for {longest} labels, but targets hold {arr.shape[1]} per "
                             f"sequence (shape {tuple(arr.shape)})")
        return np.ascontiguousarray(arr[:, :longest])
    if arr.ndim != 1:
        raise ShapeError(f"{fn}: targets must be padded (N, S) or concatenated 1-D, got shape {tuple(arr.shape)}")
    if arr.size != target_lengths.sum():
        raise ShapeError(f"{fn}: concatenated targets must hold sum(target_lengths) = {target_lengths.sum()} "
                         f"labels, got {arr.size}")
    padded = np.zeros((batch, longest), np.int64)
    starts = np.cumsum(target_lengths) - target_lengths
    for n in range(batch):
        padded[n, :target_lengths[n]] = arr[starts[n]:starts[n] + target_lengths[n]]
    return padded


def _ctc_check_labels(fn, padded, target_lengths, n_classes, blank):
    """Every label in use lies in [0, C) and is not the blank (torch reads past the class axis for the first,
    and counts the second as a label; neither is a meaningful CTC target)."""
    used = np.arange(padded.shape[1]) < target_lengths[:, None]
    bad = used & ((padded < 0) | (padded >= n_classes) | (padded == blank))
    if bad.any():
        n, k = np.argwhere(bad)[0]
        raise ArgumentValueError(f"{fn}: targets must be class indices in [0, {n_classes}) other than blank = "
                                 f"{blank}; sequence {n}'s label {k} is {padded[n, k]}")


# the convolution and batch normalisation live with their modules (conv.py is built on pad() above)
from .bilinear import bilinear  # noqa: E402
from .conv import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: E402
from .functional_losses import (  # noqa: E402
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    pdist,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from .normalization import batch_norm, group_norm, instance_norm  # noqa: E402
from .pooling import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from .upsampling import (  # noqa: E402
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)

__all__ += ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle",
            "bilinear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
            "batch_norm", "instance_norm", "group_norm",
            "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
            "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
            "adaptive_max_pool2d", "adaptive_max_pool3d",
            "poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss",
            "hinge_embedding_loss", "multilabel_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
            "cosine_embedding_loss", "multi_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss",
            "pdist"]
