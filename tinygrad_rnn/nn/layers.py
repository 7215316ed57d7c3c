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
from .checks import ArgumentAssertionError, check_bool, check_device, check_float, check_int
from .module import Module, Parameter, check_dtype

__all__ = ["Identity", "ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "LayerNorm", "LeakyReLU", "ELU", "SiLU",
           "Softplus", "GELU", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "SELU", "CELU", "Mish", "Softsign",
           "Softshrink", "Hardshrink", "Tanhshrink", "Threshold", "LogSigmoid", "Softmin", "GLU", "PReLU", "RReLU",
           "RMSNorm", "Flatten", "Unflatten"]


class Identity(Module):
    """Returns its input; accepts (and ignores) any constructor arguments, as torch.nn.Identity."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def forward(self, input: Tensor) -> Tensor:
        return input


class ReLU(Module):
    """max(x, 0), as torch.nn.ReLU; inplace=True writes the input (F.relu)."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = check_bool("ReLU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """F.leaky_relu as a module, as torch.nn.LeakyReLU."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        self.negative_slope = check_float("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = check_bool("LeakyReLU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """F.elu as a module, as torch.nn.ELU."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self.alpha, self.inplace = check_float("ELU", "alpha", alpha), check_bool("ELU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SiLU(Module):
    """F.silu as a module, as torch.nn.SiLU."""

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = check_bool("SiLU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


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
    def forward(self, input: Tensor) -> Tensor:
        return input.tanh()


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return input.sigmoid()


class Softmax(Module):
    """softmax along dim, as torch.nn.Softmax (dim=None only for inputs of at most 2 dimensions: see
    F.softmax)."""

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim if dim is None else check_int("Softmax", "dim", dim)

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log_softmax along dim, as torch.nn.LogSoftmax."""

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)


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
        self.eps = check_float("LayerNorm", "eps", eps)   # a negative one too, as torch's (NaN refused)
        self.elementwise_affine = check_bool("LayerNorm", "elementwise_affine", elementwise_affine)
        bias, dtype = check_bool("LayerNorm", "bias", bias), check_dtype(dtype, "LayerNorm")
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if elementwise_affine and bias else None

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps:g}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


# ------------------------------------------------------------- torch 2.13's other activations, RMSNorm, (Un)Flatten
def _inplace_repr(inplace):
    return ", inplace=True" if inplace else ""


class Hardtanh(Module):
    """F.hardtanh as a module, as torch.nn.Hardtanh (min_value / max_value: torch's deprecated names, which win
    when given)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        self.min_val = check_float(type(self).__name__, "min_val", min_val)
        self.max_val = check_float(type(self).__name__, "max_val", max_val)
        self.inplace = check_bool(type(self).__name__, "inplace", inplace)
        if self.max_val <= self.min_val:   # torch asserts it (equal bounds too, which F.hardtanh accepts)
            raise ArgumentAssertionError(f"max_val ({self.max_val}) must be greater than min_val ({self.min_val})")

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_repr(self.inplace)}"


class ReLU6(Hardtanh):
    """F.relu6 as a module, as torch.nn.ReLU6 (a Hardtanh from 0 to 6, as torch's)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class _InplaceActivation(Module):
    """A module calling `function(input, inplace)`, whose only setting is torch's inplace flag."""
    function: Any = None

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = check_bool(type(self).__name__, "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return type(self).function(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Hardsigmoid(_InplaceActivation):
    """F.hardsigmoid as a module, as torch.nn.Hardsigmoid (whose repr does not show inplace, as torch's)."""
    function = F.hardsigmoid

    def extra_repr(self) -> str:
        return ""


class Hardswish(_InplaceActivation):
    """F.hardswish as a module, as torch.nn.Hardswish (whose repr does not show inplace, as torch's)."""
    function = F.hardswish

    def extra_repr(self) -> str:
        return ""


class SELU(_InplaceActivation):
    """F.selu as a module, as torch.nn.SELU."""
    function = F.selu


class Mish(_InplaceActivation):
    """F.mish as a module, as torch.nn.Mish."""
    function = F.mish


class CELU(Module):
    """F.celu as a module, as torch.nn.CELU."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self.alpha, self.inplace = check_float("CELU", "alpha", alpha), check_bool("CELU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_repr(self.inplace)}"


class _Stateless(Module):
    """A module calling `function(input)`; it accepts (and ignores) any constructor arguments, as torch's."""
    function: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def forward(self, input: Tensor) -> Tensor:
        return type(self).function(input)


class Softsign(_Stateless):
    """F.softsign as a module, as torch.nn.Softsign."""
    function = F.softsign


class Tanhshrink(_Stateless):
    """F.tanhshrink as a module, as torch.nn.Tanhshrink."""
    function = F.tanhshrink


class LogSigmoid(_Stateless):
    """F.logsigmoid as a module, as torch.nn.LogSigmoid."""
    function = F.logsigmoid


class _Shrink(Module):
    """A module calling `function(input, lambd)` (lambd is checked at the call, against the input's dtype, as
    torch's)."""
    function: Any = None

    def __init__(self, lambd: float = 0.5) -> None:
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return type(self).function(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Softshrink(_Shrink):
    """F.softshrink as a module, as torch.nn.Softshrink."""
    function = F.softshrink


class Hardshrink(_Shrink):
    """F.hardshrink as a module, as torch.nn.Hardshrink."""
    function = F.hardshrink


class Threshold(Module):
    """F.threshold as a module, as torch.nn.Threshold (threshold and value kept as given, as torch's repr shows)."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        check_float("Threshold", "threshold", threshold), check_float("Threshold", "value", value)
        self.threshold, self.value = threshold, value
        self.inplace = check_bool("Threshold", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_repr(self.inplace)}"


class Softmin(Module):
    """softmin along dim, as torch.nn.Softmin (dim=None as Softmax's)."""

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim if dim is None else check_int("Softmin", "dim", dim)

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GLU(Module):
    """F.glu as a module, as torch.nn.GLU."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = check_int("GLU", "dim", dim)

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """F.prelu with a learned slope, as torch.nn.PReLU: weight, num_parameters slopes (1, or one per channel),
    each starting at init (0.25, torch's)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: npt.DTypeLike | None = None) -> None:
        check_device("PReLU", device)
        self.num_parameters = check_int("PReLU", "num_parameters", num_parameters, 0)
        self.init = check_float("PReLU", "init", init)
        self.weight = Parameter(np.full(self.num_parameters, self.init, check_dtype(dtype, "PReLU")))

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """F.rrelu as a module, as torch.nn.RReLU: random slopes in training mode, their mean in eval mode."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        self.lower, self.upper = check_float("RReLU", "lower", lower), check_float("RReLU", "upper", upper)
        self.inplace = check_bool("RReLU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_repr(self.inplace)}"


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight over the last len(normalized_shape) dimensions, as torch.nn.RMSNorm:
    eps=None means the input dtype's machine epsilon (torch.finfo(dtype).eps), weight starts at 1."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        check_device("RMSNorm", device)
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
            raise TypeError(f"RMSNorm: normalized_shape must be an int or a sequence of ints, got "
                            f"{type(normalized_shape).__name__} {normalized_shape!r}")
        self.normalized_shape = tuple(check_int("RMSNorm", "normalized_shape", n, 0) for n in shape)
        self.eps = eps if eps is None or check_float("RMSNorm", "eps", eps) is None else eps   # as given (repr)
        self.elementwise_affine = check_bool("RMSNorm", "elementwise_affine", elementwise_affine)
        dtype = check_dtype(dtype, "RMSNorm")
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if self.elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class Flatten(Module):
    """input.flatten(start_dim, end_dim), as torch.nn.Flatten (from dimension 1 on: the batch stays)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim = check_int("Flatten", "start_dim", start_dim)
        self.end_dim = check_int("Flatten", "end_dim", end_dim)

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """input.unflatten(dim, unflattened_size), as torch.nn.Unflatten."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        self.dim = check_int("Unflatten", "dim", dim)
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in unflattened_size):
            raise TypeError(f"unflattened_size must be tuple of ints, but found type {type(unflattened_size).__name__}")
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, tuple(self.unflattened_size))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
