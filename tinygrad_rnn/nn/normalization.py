"""Batch normalisation, as torch.nn.BatchNorm1d and torch.nn.functional.batch_norm (torch 2.13).

In training each channel c of a (N, C) or (N, C, L) input is normalised by its batch statistics,

    y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c        (var_c biased: divided by the count n)

and the running statistics move toward them: running = (1 - momentum) * running + momentum * batch, with the
unbiased variance (var_c * n / (n - 1)), or their cumulative average when momentum is None. In eval() the
running statistics normalise instead. Built from Tensor operations: the tape differentiates through the batch
statistics, as torch's backward does.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..tape import no_grad
from ..tensor import ShapeError, Tensor
from .checks import check_bool, check_device, check_int
from .module import Module, Parameter, check_dtype

__all__ = ["batch_norm", "BatchNorm1d"]


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """torch.nn.functional.batch_norm: normalise channel dim 1 by the batch's statistics (training, or no
    running statistics given) or the running ones; in training the running statistics given are updated in
    place (momentum a float here: the module turns momentum=None into its cumulative factor)."""
    if isinstance(input, Tensor) and input.shape == (0,):   # torch's: an empty 1-D input, an empty result
        _check_batch(input, training, eps)
        return input.clone()
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dimensions (N, C, ...), got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    _check_batch(input, training, eps)
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    count = input._data.size // max(input.shape[1], 1)
    if (training or running_mean is None) and count == 0:   # torch's: an empty output, the statistics kept
        mean, var = Tensor(np.zeros(shape, input.dtype)), Tensor(np.ones(shape, input.dtype))
    elif training or running_mean is None:
        mean = input.mean(dim=axes, keepdim=True)
        var = ((input - mean) ** 2).mean(dim=axes, keepdim=True)
        if training and running_mean is not None:
            _move(running_mean, running_var, mean, var, count, momentum)
    else:
        mean, var = running_mean.reshape(*shape), running_var.reshape(*shape)
    y = (input - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(*shape)
    if bias is not None:
        y = y + bias.reshape(*shape)
    return y


def _check_batch(input, training, eps):
    """torch's checks before it normalises: more than one value per channel in training (none at all is allowed:
    the output is empty), and eps > 0 in training, eps >= 0 in eval (a ValueError each)."""
    values_per_channel = input.shape[0] * int(np.prod(input.shape[2:]))
    if training and values_per_channel == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(input.shape)}")
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")


def _move(running_mean, running_var, mean, var, count, momentum):
    """The running statistics one step toward the batch's, in place (their arrays keep their identity)."""
    with no_grad():
        unbiased = var._data.reshape(-1) * (count / (count - 1))
        running_mean._data[...] = (1 - momentum) * running_mean._data + momentum * mean._data.reshape(-1)
        running_var._data[...] = (1 - momentum) * running_var._data + momentum * unbiased
    running_mean.bump_version()
    running_var.bump_version()


class BatchNorm1d(Module):
    """torch.nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
    bias=True): weight ones and bias zeros (affine; bias=False leaves the bias out), buffers running_mean,
    running_var and num_batches_tracked (int64), as torch's state_dict has them; (N, C) or (N, C, L) input."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: npt.DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        check_device("BatchNorm1d", device)
        dtype = check_dtype(dtype, "BatchNorm1d")
        self.num_features = check_int("BatchNorm1d", "num_features", num_features, 1)
        self.eps, self.momentum = float(eps), None if momentum is None else float(momentum)
        self.affine = check_bool("BatchNorm1d", "affine", affine)
        self.track_running_stats = check_bool("BatchNorm1d", "track_running_stats", track_running_stats)
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        # torch 2.13's keyword: affine without a bias
        self.use_bias = self.affine and check_bool("BatchNorm1d", "bias", bias)
        self.bias = Parameter(np.zeros(num_features, dtype)) if self.use_bias else None
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor._make(np.array(0, np.int64), False))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self) -> None:
        """running_mean to zeros, running_var to ones and num_batches_tracked to 0, in place, as torch's (what
        tr.optim.swa_utils.update_bn starts from)."""
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"BatchNorm1d: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")
        if input.shape[1] != self.num_features:
            raise ShapeError(f"BatchNorm1d: expected {self.num_features} channels (dim 1), got {input.shape[1]} "
                             f"(input of shape {input.shape})")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            if self.momentum is None:   # a cumulative moving average, as torch's
                factor = 1.0 / float(self.num_batches_tracked._data)
        # batch statistics in training, and in eval() without running ones (running_mean is None then)
        return batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.use_bias}, track_running_stats={self.track_running_stats}")
