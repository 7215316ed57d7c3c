"""The bilinear layer, as torch.nn.Bilinear and torch.nn.functional.bilinear (torch 2.13):

    y[..., o] = x1[..., :] @ weight[o] @ x2[..., :] + bias[o]

Built from Tensor operations (two products: x1 against every output's matrix at once, then the rows with x2),
so the tape differentiates it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor
from .checks import check_bool, check_device, check_int
from .module import Module, check_dtype, uniform

__all__ = ["bilinear", "Bilinear"]


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """torch.nn.functional.bilinear: input1 (*, in1), input2 (*, in2) of the same leading shape, weight
    (out, in1, in2), bias (out,): (*, out)."""
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear: {name} must be a Tensor, got {type(t).__name__}")
    if input1.ndim != input2.ndim or input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
                           f"{list(input2.shape[:-1])}")
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input sizes {input1.shape[-1]} and {input2.shape[-1]} do not match a weight "
                           f"of size {list(weight.shape)} (out, in1, in2)")
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != weight.shape[:1]):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {list(np.shape(bias))} but "
                           f"weight is {list(weight.shape)}")
    out, in1, in2 = weight.shape
    lead = input1.shape[:-1]
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    left = (x1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)).reshape(-1, out, in2)   # x1 @ weight[o], each o
    y = (left @ x2.unsqueeze(2)).squeeze(2)                                               # (B, out)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out)


class Bilinear(Module):
    """torch.nn.Bilinear(in1_features, in2_features, out_features, bias=True, device=None, dtype=None): weight
    (out, in1, in2) and bias (out,) uniform in +-1/sqrt(in1_features), as torch's."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        check_device("Bilinear", device)
        dtype = check_dtype(dtype, "Bilinear")
        self.in1_features = check_int("Bilinear", "in1_features", in1_features, 0)
        self.in2_features = check_int("Bilinear", "in2_features", in2_features, 0)
        self.out_features = check_int("Bilinear", "out_features", out_features, 0)
        bound = 1.0 / np.sqrt(in1_features) if in1_features else 0.0
        self.weight = uniform((out_features, in1_features, in2_features), bound, dtype)
        self.bias = uniform((out_features,), bound, dtype) if check_bool("Bilinear", "bias", bias) else None

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
