"""The adaptive softmax (Grave et al. 2016, "Efficient softmax approximation for GPUs"), as
torch.nn.AdaptiveLogSoftmaxWithLoss: a large vocabulary's log-probabilities without a full (hidden x vocabulary)
product for every word. Classes are sorted by frequency and cut into a shortlist and tail clusters. The head, one
Linear, scores the shortlist's classes and one entry per cluster; cluster i has its own two-layer projection
(in_features -> in_features // div_value ** (i + 1) -> the cluster's size), so rarer words get a smaller hidden
size. `log p(class) = log p_head(class)` in the shortlist, else `log p_head(cluster) + log p_cluster(class)`.

Torch's parameter names and shapes (head.weight, head.bias, tail.i.0.weight, tail.i.1.weight), so a torch
state_dict loads and gives torch's numbers. Built from Tensor operations: the tape differentiates it.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..tensor import ShapeError, Tensor, concatenate
from . import functional as F
from .checks import ArgumentValueError, check_bool, check_int
from .module import Linear, Module, ModuleList, Sequential

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])   # torch's name and fields

CUTOFFS_ERROR = ("cutoffs should be a sequence of unique, positive integers sorted in an increasing order, where "
                 "each value is between 1 and n_classes-1")


class AdaptiveLogSoftmaxWithLoss(Module):
    """torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value=4.0, head_bias=False,
    device=None, dtype=None). Called with (input, target): input (N, in_features) and target (N,) class indices,
    or (in_features,) and a 0-d target; returns `_ASMoutput(output, loss)`, output the log-probability of each
    target (N,) and loss the mean of its negatives. log_prob(input) gives every class's (N, n_classes);
    predict(input) the most likely class (N,)."""

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int], div_value: float = 4.0,
                 head_bias: bool = False, device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        owner = "AdaptiveLogSoftmaxWithLoss"
        in_features, n_classes = check_int(owner, "in_features", in_features, 1), check_int(owner, "n_classes",
                                                                                          n_classes, 2)
        cutoffs = _checked_cutoffs(cutoffs, n_classes)
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = F._real(owner, "div_value", div_value), check_bool(owner, "head_bias",
                                                                                              head_bias)
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        tail = []
        for i in range(self.n_clusters):
            hidden = int(in_features // (self.div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            tail.append(Sequential(Linear(in_features, hidden, bias=False, device=device, dtype=dtype),
                                   Linear(hidden, size, bias=False, device=device, dtype=dtype)))
        self.tail = ModuleList(tail)

    def forward(self, input: Tensor, target: Tensor | npt.ArrayLike) -> _ASMoutput:
        rows, targets, batched = self._batch(input, target)
        cluster_part = self._cluster_log_probs(rows, targets)
        head_logprob = self.head(rows).log_softmax(1)
        output = cluster_part + head_logprob.gather(1, self._head_column(targets)[:, None]).reshape(-1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.reshape(()), loss)

    def _batch(self, input, target):
        """input as rows (N, in_features), target as (N,) int64, and whether they came batched (torch's checks)."""
        fn = "AdaptiveLogSoftmaxWithLoss"
        if not isinstance(input, Tensor):
            raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
        targets = F._int_array(target, "target")
        if targets.ndim == 1:
            if input.ndim == 0 or input.shape[0] != targets.shape[0]:
                raise ShapeError(f"{fn}: input and target should have the same size in the batch dimension, got "
                                 f"input {tuple(input.shape)} and target {tuple(targets.shape)}")
            if input.ndim != 2:
                raise ShapeError(f"{fn}: a 1-D target expects a 2-D input, got input of shape {tuple(input.shape)}")
        elif targets.ndim == 0:
            if input.ndim != 1:
                raise ShapeError(f"{fn}: a 0-D target expects a 1-D input, got input of shape {tuple(input.shape)}")
        else:
            raise ShapeError(f"{fn}: 0-D or 1-D target expected, multi-target not supported (got "
                             f"{tuple(targets.shape)})")
        batched = targets.ndim == 1
        targets = targets.reshape(-1).astype(np.int64)
        if targets.size and (targets.min() < 0 or targets.max() >= self.n_classes):
            raise ArgumentValueError(f"{fn}: target values should be in [0, {self.n_classes - 1}], but values in "
                                     f"range [{targets.min()}, {targets.max()}] were found")
        return (input if batched else input.reshape(1, -1)), targets, batched

    def _head_column(self, targets):
        """The head's column of each target: the class itself in the shortlist, else its cluster's entry."""
        cluster = np.searchsorted(np.array(self.cutoffs), targets, side="right")   # 0 in the shortlist
        return np.where(cluster == 0, targets, self.shortlist_size + cluster - 1)

    def _cluster_log_probs(self, rows, targets):
        """Each target's log-probability within its cluster (0 for shortlist targets), (N,): each cluster's
        projection runs on its own rows only; the pieces are put back in the batch's order."""
        pieces, order = [], []
        bounds = [0] + self.cutoffs
        for i in range(len(bounds) - 1):
            picked = np.flatnonzero((targets >= bounds[i]) & (targets < bounds[i + 1]))
            if picked.size == 0:
                continue
            order.append(picked)
            if i == 0:
                pieces.append(Tensor._make(np.zeros(picked.size, rows.dtype), False))
                continue
            cluster_logprob = self.tail[i - 1](rows[picked]).log_softmax(1)
            relative = (targets[picked] - bounds[i])[:, None]
            pieces.append(cluster_logprob.gather(1, relative).reshape(-1))
        if not pieces:   # an empty batch
            return Tensor._make(np.zeros(0, rows.dtype), False)
        back = np.argsort(np.concatenate(order), kind="stable")
        return concatenate(pieces)[back]

    def _full_log_prob(self, rows, head_output):
        head_logprob = head_output.log_softmax(1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = self.tail[i](rows).log_softmax(1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return concatenate(parts, 1)

    def _rows(self, fn, input):
        if not isinstance(input, Tensor) or input.ndim != 2:   # torch fails on other ranks too
            raise ShapeError(f"AdaptiveLogSoftmaxWithLoss.{fn}: input must be a 2-D Tensor (N, in_features), got "
                             f"{input.shape if isinstance(input, Tensor) else type(input).__name__}")
        return input

    def log_prob(self, input: Tensor) -> Tensor:
        """The log-probability of every class, (N, n_classes), as torch's log_prob."""
        rows = self._rows("log_prob", input)
        return self._full_log_prob(rows, self.head(rows))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each row, (N,) int64, as torch's predict: the head's argmax where it is a
        shortlist class, else the argmax over every class (computed for those rows only)."""
        rows = self._rows("predict", input)
        head_output = self.head(rows)
        output = np.argmax(head_output._data, axis=1).astype(np.int64)
        outside = np.flatnonzero(output >= self.shortlist_size)
        if outside.size:
            full = self._full_log_prob(rows[outside], head_output[outside])
            output[outside] = np.argmax(full._data, axis=1)
        return Tensor._make(output, False)


def _checked_cutoffs(cutoffs, n_classes):
    """cutoffs as a list of ints, torch's ValueErrors otherwise."""
    try:
        cutoffs = list(cutoffs)
    except TypeError:
        raise TypeError(f"AdaptiveLogSoftmaxWithLoss: cutoffs must be a sequence of ints, got "
                        f"{type(cutoffs).__name__}") from None
    if len(cutoffs) == 0:
        raise ValueError("cutoffs should be a sequence of length larger than 0")
    if any(isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer, float)) for c in cutoffs):
        raise ValueError(CUTOFFS_ERROR + f", got {cutoffs}")
    if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
            or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
        raise ValueError(CUTOFFS_ERROR + f", got {cutoffs}")
    return [int(c) for c in cutoffs]
