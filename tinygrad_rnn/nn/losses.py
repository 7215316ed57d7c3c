"""Loss modules, as torch.nn's: each takes torch's constructor arguments in torch's order, keeps them
as attributes of torch's names (reduction, ignore_index, label_smoothing; weight and pos_weight as
buffers), and calls the function of the same name in nn.functional with them at each call. Reading
the attributes at the call, as torch does, means `criterion.reduction = "sum"` takes effect.

size_average and reduce are torch's deprecated arguments (the second and third positionals of most
losses): as torch, they are turned into a reduction, with torch's warning, so that
`CrossEntropyLoss(weight, False)` means what it means there (a sum).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "SmoothL1Loss",
           "HuberLoss", "KLDivLoss", "CTCLoss", "PoissonNLLLoss", "GaussianNLLLoss", "MarginRankingLoss",
           "HingeEmbeddingLoss", "MultiLabelMarginLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
           "CosineEmbeddingLoss", "MultiMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss"]


def _reduction(owner, size_average, reduce, reduction):
    """torch's _Reduction.legacy_get_string when either legacy argument is given, else reduction."""
    return F._legacy_reduction(owner, size_average, reduce, reduction, stacklevel=4)


class _Loss(Module):
    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        self.reduction = _reduction(type(self).__name__, size_average, reduce, reduction)

    def _set_weight(self, name, value):
        """A Tensor (or None) becomes a buffer, as torch's (so it is in state_dict and cast by to()); an
        array or list stays a plain attribute, read in the input's dtype by the function."""
        if value is None or isinstance(value, Tensor):
            self.register_buffer(name, value)
        else:
            setattr(self, name, value)

    forward_names = ("input", "target")   # torch's forward's parameters, which torch code may pass by keyword

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        # (input, target) checked here rather than by the signature, so the error names the loss
        rest = self.forward_names[len(args):]
        if len(args) > 2 or set(kwargs) != set(rest):
            given = [type(a).__name__ for a in args] + [f"{k}=" for k in kwargs]
            raise TypeError(f"{type(self).__name__}: call it with ({', '.join(self.forward_names)}), got "
                            f"({', '.join(given)}); other arguments of F.{self.function} go to the constructor")
        return self._loss(*args, *(kwargs[name] for name in rest))


class CrossEntropyLoss(_Loss):
    function = "cross_entropy"

    def __init__(self, weight: Tensor | npt.ArrayLike | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self._set_weight("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def _loss(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    function = "nll_loss"

    def __init__(self, weight: Tensor | npt.ArrayLike | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self._set_weight("weight", weight)
        self.ignore_index = ignore_index

    def _loss(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(_Loss):
    function = "mse_loss"

    def _loss(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    function = "l1_loss"

    def _loss(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    function = "binary_cross_entropy"

    def __init__(self, weight: Tensor | npt.ArrayLike | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self._set_weight("weight", weight)

    def _loss(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    function = "binary_cross_entropy_with_logits"

    def __init__(self, weight: Tensor | npt.ArrayLike | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean",
                 pos_weight: Tensor | npt.ArrayLike | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self._set_weight("weight", weight)
        self._set_weight("pos_weight", pos_weight)

    def _loss(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class SmoothL1Loss(_Loss):
    function = "smooth_l1_loss"

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def _loss(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    function = "huber_loss"

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:   # no size_average, as torch's
        if not isinstance(delta, (float, int)):   # torch's TypeError, in these words (np.float64 is a float)
            raise TypeError(f"delta must be a float or int, got: {type(delta)}")
        super().__init__(reduction=reduction)
        self.delta = delta

    def _loss(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """reduction may also be 'batchmean' (the KL divergence per sample), as torch's."""
    function = "kl_div"

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        if size_average is None and reduce is None and reduction == "batchmean":
            self.reduction = reduction   # the one reduction the other losses do not take
        else:
            super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def _loss(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CTCLoss(_Loss):
    """The connectionist temporal classification loss, as torch.nn.CTCLoss: called with (log_probs, targets,
    input_lengths, target_lengths), see nn.functional.ctc_loss."""
    function = "ctc_loss"

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs: Tensor, targets: Tensor | npt.ArrayLike, input_lengths: Tensor | Sequence[int],
                target_lengths: Tensor | Sequence[int]) -> Tensor:
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                          self.zero_infinity)


class PoissonNLLLoss(_Loss):
    function = "poisson_nll_loss"
    forward_names = ("log_input", "target")

    def __init__(self, log_input: bool = True, full: bool = False, size_average: bool | None = None,
                 eps: float = 1e-8, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def _loss(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Called with (input, target, var): see nn.functional.gaussian_nll_loss."""
    function = "gaussian_nll_loss"

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class _MarginLoss(_Loss):
    """A loss whose first constructor argument is torch's margin."""

    def __init__(self, margin: float = 0.0, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin


class MarginRankingLoss(_MarginLoss):
    """Called with (input1, input2, target): see nn.functional.margin_ranking_loss."""
    function = "margin_ranking_loss"

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_MarginLoss):
    function = "hinge_embedding_loss"

    def __init__(self, margin: float = 1.0, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(margin, size_average, reduce, reduction)

    def _loss(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    function = "multilabel_margin_loss"

    def _loss(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    function = "soft_margin_loss"

    def _loss(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    function = "multilabel_soft_margin_loss"

    def __init__(self, weight: Tensor | npt.ArrayLike | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self._set_weight("weight", weight)

    def _loss(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


class CosineEmbeddingLoss(_MarginLoss):
    """Called with (input1, input2, target): see nn.functional.cosine_embedding_loss."""
    function = "cosine_embedding_loss"

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, self.margin, reduction=self.reduction)


class MultiMarginLoss(_Loss):
    function = "multi_margin_loss"

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Tensor | npt.ArrayLike | None = None,
                 size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if isinstance(p, bool) or p not in (1, 2):   # as torch's constructor
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got {p!r}")
        if weight is not None and np.ndim(weight._data if isinstance(weight, Tensor) else weight) != 1:
            raise ValueError("MultiMarginLoss: weight must be one-dimensional (one per class)")
        self.p, self.margin = p, margin
        self._set_weight("weight", weight)

    def _loss(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """Called with (anchor, positive, negative): see nn.functional.triplet_margin_loss."""
    function = "triplet_margin_loss"

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if not margin > 0:   # as torch's constructor
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                     reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """Called with (anchor, positive, negative): see nn.functional.triplet_margin_with_distance_loss. The
    distance_function is an attribute (a Module given is a child, as torch's; F.pairwise_distance by default)."""
    function = "triplet_margin_with_distance_loss"

    def __init__(self, *, distance_function: Callable[[Tensor, Tensor], Tensor] | None = None, margin: float = 1.0,
                 swap: bool = False, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        if not margin > 0:   # as torch's constructor
            raise ValueError(f"TripletMarginWithDistanceLoss: margin must be greater than 0, got {margin}")
        self.distance_function = distance_function if distance_function is not None else F.pairwise_distance
        self.margin, self.swap = margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_with_distance_loss(anchor, positive, negative,
                                                   distance_function=self.distance_function, margin=self.margin,
                                                   swap=self.swap, reduction=self.reduction)
