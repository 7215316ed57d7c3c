"""Small stateless or per-feature layers: LayerNorm, Identity, and activations and softmax as modules.

Each is a few Tensor operations; the tape differentiates them (no backward of their own).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor
from . import functional as F
from .checks import check_bool, check_device, check_float, check_int
from .module import Module, Parameter, check_dtype

__all__ = ["Identity", "ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "LayerNorm", "LeakyReLU", "ELU", "SiLU",
           "Softplus", "GELU"]


class Identity(Module):
    """Returns its input; accepts (and ignores) any constructor arguments, as torch.nn.Identity."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def forward(self, x: Tensor) -> Tensor:
        return x


class ReLU(Module):
    """max(x, 0), as torch.nn.ReLU; inplace=True is refused (see F.relu): the module returns a new tensor."""

    def __init__(self, inplace: bool = False) -> None:
        F._refuse_inplace("ReLU", inplace)
        self.inplace = False

    def forward(self, input: Tensor) -> Tensor:
        return input.relu()


class LeakyReLU(Module):
    """F.leaky_relu as a module, as torch.nn.LeakyReLU (inplace=True refused, as ReLU's)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        F._refuse_inplace("LeakyReLU", inplace)
        self.negative_slope, self.inplace = check_float("LeakyReLU", "negative_slope", negative_slope), False

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """F.elu as a module, as torch.nn.ELU (inplace=True refused)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        F._refuse_inplace("ELU", inplace)
        self.alpha, self.inplace = check_float("ELU", "alpha", alpha), False

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SiLU(Module):
    """F.silu as a module, as torch.nn.SiLU (inplace=True refused)."""

    def __init__(self, inplace: bool = False) -> None:
        F._refuse_inplace("SiLU", inplace)
        self.inplace = False

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)


class GELU(Module):
    """F.gelu as a module, as torch.nn.GELU(approximate='none'); approximate is checked here, where torch checks it
    at the first call."""

    def __init__(self, approximate: str = "none") -> None:
        self.approximate = F._check_gelu_approximate("GELU", approximate)

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """F.softplus as a module, as torch.nn.Softplus."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta = check_float("Softplus", "beta", beta)
        self.threshold = check_float("Softplus", "threshold", threshold)

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Softmax(Module):
    """softmax along dim, as torch.nn.Softmax (dim=None only for inputs of at most 2 dimensions: see
    F.softmax)."""

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim if dim is None else check_int("Softmax", "dim", dim)

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log_softmax along dim, as torch.nn.LogSoftmax."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dimensions,
    as torch.nn.LayerNorm: var is the biased variance (divided by n), weight starts at 1 and bias at 0."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        check_device("LayerNorm", device)
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a sequence of ints, got "
                            f"{type(normalized_shape).__name__} {normalized_shape!r}")
        self.normalized_shape = tuple(check_int("LayerNorm", "normalized_shape", n, 0) for n in shape)
        self.eps = check_float("LayerNorm", "eps", eps, 0)
        self.elementwise_affine = check_bool("LayerNorm", "elementwise_affine", elementwise_affine)
        bias, dtype = check_bool("LayerNorm", "bias", bias), check_dtype(dtype, "LayerNorm")
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps:g}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")
