"""Parameter initialisation in place, as torch.nn.init: same names, arguments, distributions and
scales (fan-in/fan-out, gains). Values are drawn from the library's generator, so
`tr.manual_seed(s)` makes them reproducible (they are not torch's numbers: another generator).

The random ones take torch's `generator=` too: here a `numpy.random.Generator` (e.g.
`np.random.default_rng(seed)`) to draw from instead of the library's.

Each function writes into `tensor._data` (the array keeps its identity and dtype, so an optimizer
holding the parameter sees the new values), marks the tensor as changed (a graph recorded before
refuses to backpropagate), and returns the tensor.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import random
from ..tensor import Tensor
from .checks import ArgumentValueError, DTypeNotImplementedError, NumberTypeError

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_"]


def _write(fn, tensor, values):
    tensor._data[...] = values  # cast to the tensor's dtype by numpy's assignment
    tensor.bump_version()
    return tensor


def _tensor(fn, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: tensor must be a Tensor (e.g. a Parameter), got {type(tensor).__name__}")
    return tensor


def _random_fill(fn, tensor):
    """A tensor that random values may fill: floats, as torch (its uniform_ and normal_ of an int64 tensor are a
    NotImplementedError; here they would be truncated to integers silently)."""
    _tensor(fn, tensor)
    if tensor.dtype.kind != "f":
        raise DTypeNotImplementedError(f"{fn}: random values into a {tensor.dtype} tensor are not implemented (as "
                                       "torch): initialise a float tensor")
    return tensor


def _number(fn, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as torch: 1 for linear and sigmoid (the int 1, as torch returns),
    5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope param, default 0.01), 3/4 for
    selu. A param that is not a number is torch's ValueError (and a TypeError)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, numbers.Real):
            raise NumberTypeError(f"calculate_gain: negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fans(fn, tensor):
    """(fan_in, fan_out) as torch: size(1) and size(0), each times the product of the remaining dims."""
    if tensor.ndim < 2:
        raise ValueError(f"{fn}: fan in and fan out cannot be computed for a tensor with fewer than 2 "
                         f"dimensions, got shape {tuple(tensor.shape)}")
    receptive = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    fn = "uniform_"
    _random_fill(fn, tensor)
    a, b = _number(fn, "a", a), _number(fn, "b", b)
    if not a <= b:   # torch's RuntimeError too
        raise ArgumentValueError(f"{fn}: a must be <= b, got a={a:g}, b={b:g}")
    return _write(fn, tensor, random.resolve(fn, generator).uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> Tensor:
    fn = "normal_"
    _random_fill(fn, tensor)
    mean, std = _number(fn, "mean", mean), _number(fn, "std", std)
    if not std >= 0:   # torch's RuntimeError too
        raise ArgumentValueError(f"{fn}: std must be >= 0, got {std:g}")
    return _write(fn, tensor, random.resolve(fn, generator).normal(mean, std, size=tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: np.random.Generator | None = None) -> Tensor:
    """N(mean, std^2) restricted to [a, b] (a and b are values, not multiples of std), as torch's. Drawn
    by redrawing the values outside [a, b] (exact; slow only when [a, b] holds little of the mass)."""
    fn = "trunc_normal_"
    _random_fill(fn, tensor)
    mean, std, a, b = (_number(fn, n, v) for n, v in (("mean", mean), ("std", std), ("a", a), ("b", b)))
    if not std >= 0 or not a <= b:   # torch's RuntimeError too
        raise ArgumentValueError(f"{fn}: std must be >= 0 and a <= b, got std={std:g}, a={a:g}, b={b:g}")
    mass = 0.5 * (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2)))) \
        if std > 0 else float(a <= mean <= b)
    if mass < 1e-6:
        raise ValueError(f"{fn}: [a, b] = [{a:g}, {b:g}] holds almost none of N({mean:g}, {std:g}^2); "
                         "move the bounds nearer the mean")
    rng = random.resolve(fn, generator)
    values = rng.normal(mean, std, size=tensor.shape)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = rng.normal(mean, std, size=int(outside.sum()))
        outside = (values < a) | (values > b)
    return _write(fn, tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Every element val; a 0-d Tensor val is read as its number, as torch's fill_ reads it."""
    if isinstance(val, Tensor) and val.ndim == 0:
        val = val.item()
    return _write("constant_", _tensor("constant_", tensor), _number("constant_", "val", val))


def zeros_(tensor: Tensor) -> Tensor:
    return _write("zeros_", _tensor("zeros_", tensor), 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return _write("ones_", _tensor("ones_", tensor), 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (ones on the diagonal) into a 2-D tensor."""
    _tensor("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    return _write("eye_", tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fn = "xavier_uniform_"
    fan_in, fan_out = _fans(fn, _random_fill(fn, tensor))
    std = _number(fn, "gain", gain) * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _write(fn, tensor, random.resolve(fn, generator).uniform(-a, a, size=tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fn = "xavier_normal_"
    fan_in, fan_out = _fans(fn, _random_fill(fn, tensor))
    std = _number(fn, "gain", gain) * math.sqrt(2.0 / float(fan_in + fan_out))
    return _write(fn, tensor, random.resolve(fn, generator).normal(0.0, std, size=tensor.shape))


def _kaiming_std(fn, tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(fn, _random_fill(fn, tensor))
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> Tensor:
    """U(-bound, bound), bound = gain * sqrt(3 / fan) (He et al. 2015); `a` is leaky_relu's slope."""
    fn = "kaiming_uniform_"
    if _tensor(fn, tensor).size == 0:
        return tensor  # nothing to fill (torch warns and returns too)
    bound = math.sqrt(3.0) * _kaiming_std(fn, tensor, a, mode, nonlinearity)
    return _write(fn, tensor, random.resolve(fn, generator).uniform(-bound, bound, size=tensor.shape))


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> Tensor:
    """N(0, std^2), std = gain / sqrt(fan)."""
    fn = "kaiming_normal_"
    if _tensor(fn, tensor).size == 0:
        return tensor
    std = _kaiming_std(fn, tensor, a, mode, nonlinearity)
    return _write(fn, tensor, random.resolve(fn, generator).normal(0.0, std, size=tensor.shape))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: np.random.Generator | None = None) -> Tensor:
    """A (semi-)orthogonal matrix (Saxe et al. 2013), as torch: the tensor viewed as
    (size(0), rest); Q of the QR decomposition of a standard normal matrix, signs fixed by R's
    diagonal so that the distribution is uniform; times gain."""
    fn = "orthogonal_"
    _random_fill(fn, tensor)
    if tensor.ndim < 2:
        raise ValueError(f"{fn}: only tensors with 2 or more dimensions are supported, got shape {tuple(tensor.shape)}")
    if tensor.size == 0:
        return tensor
    gain = _number(fn, "gain", gain)
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = random.resolve(fn, generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(fn, tensor, (gain * q).reshape(tensor.shape))
