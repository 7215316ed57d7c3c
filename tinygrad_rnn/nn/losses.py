"""Loss modules: each holds its keyword arguments and calls the function of the same name in
nn.functional, as torch.nn.CrossEntropyLoss calls F.cross_entropy. The arguments are whatever
that function takes (checked against its signature when the module is built, so a misspelt
argument fails at once, not at the first batch)."""
from __future__ import annotations

import inspect
from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    function = None  # the nn.functional function's name

    def __init__(self, **kwargs: Any) -> None:
        fn = getattr(F, self.function)
        try:
            inspect.signature(fn).bind(None, None, **kwargs)
        except TypeError as e:
            raise TypeError(f"{type(self).__name__}: {e} (the arguments are those of F.{self.function}: "
                            f"{inspect.signature(fn)})") from None
        self.kwargs = kwargs

    def forward(self, *args: Any, **kwargs: Any) -> Tensor:
        # (input, target) checked here rather than by the signature, so the error names the loss
        if kwargs or len(args) != 2:
            given = [type(a).__name__ for a in args] + [f"{k}=" for k in kwargs]
            raise TypeError(f"{type(self).__name__}: call it with (input, target), got ({', '.join(given)}); other "
                            f"arguments of F.{self.function} go to the constructor")
        return getattr(F, self.function)(*args, **self.kwargs)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())


class CrossEntropyLoss(_Loss):
    function = "cross_entropy"


class NLLLoss(_Loss):
    function = "nll_loss"


class MSELoss(_Loss):
    function = "mse_loss"


class L1Loss(_Loss):
    function = "l1_loss"


class BCELoss(_Loss):
    function = "binary_cross_entropy"


class BCEWithLogitsLoss(_Loss):
    function = "binary_cross_entropy_with_logits"
