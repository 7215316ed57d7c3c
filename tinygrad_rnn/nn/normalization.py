"""Batch, instance and group normalisation, as torch.nn.BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, GroupNorm and
torch.nn.functional.batch_norm, instance_norm, group_norm (torch 2.13).

In training each channel c of a (N, C) or (N, C, L) input is normalised by its batch statistics,

    y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c        (var_c biased: divided by the count n)

and the running statistics move toward them: running = (1 - momentum) * running + momentum * batch, with the
unbiased variance (var_c * n / (n - 1)), or their cumulative average when momentum is None. In eval() the
running statistics normalise instead. Instance normalisation does the same per sample and channel (statistics
over the spatial dims; the running ones move toward the batch's average of them), group normalisation per sample
and group of channels (no running statistics). Built from Tensor operations: the tape differentiates through the
statistics, as torch's backward does.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from ..tape import no_grad
from ..tensor import ShapeError, Tensor
from .checks import check_bool, check_device, check_int
from .module import Module, Parameter, check_dtype

__all__ = ["batch_norm", "instance_norm", "group_norm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d",
           "InstanceNorm2d", "InstanceNorm3d", "GroupNorm"]


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
    return _affine(y, weight, bias, shape)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """torch.nn.functional.instance_norm: normalise each sample's channel of an (N, C, *spatial) input by its own
    statistics over the spatial dims (use_input_stats), moving the running statistics given toward their average
    over the batch (the unbiased variance), or by the running statistics (use_input_stats=False)."""
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of at least 3 dimensions (N, C, ...), got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if use_input_stats:
        if int(np.prod(input.shape[2:])) == 1:   # torch's _verify_spatial_size
            raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                             f"{list(input.shape)}")
        axes = tuple(range(2, input.ndim))
        mean = input.mean(dim=axes, keepdim=True)
        var = ((input - mean) ** 2).mean(dim=axes, keepdim=True)
        if running_mean is not None:   # the batch's average of the per-sample statistics
            count = int(np.prod(input.shape[2:]))
            _move(running_mean, running_var, mean.mean(dim=0), var.mean(dim=0), count, momentum)
    elif running_mean is None:
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    else:
        mean, var = running_mean.reshape(*shape), running_var.reshape(*shape)
    y = (input - mean) / (var + eps).sqrt()
    return _affine(y, weight, bias, shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """torch.nn.functional.group_norm: normalise each sample's group of C / num_groups channels of an
    (N, C, *) input by the group's mean and biased variance, then scale and shift each channel."""
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{getattr(input, 'ndim', type(input).__name__)}")
    num_groups = check_int("group_norm", "num_groups", num_groups, 1)
    n, c = input.shape[:2]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    grouped = input.reshape(n, num_groups, input.numel() // max(n * num_groups, 1))   # (no -1: n may be 0)
    mean = grouped.mean(dim=2, keepdim=True)
    var = ((grouped - mean) ** 2).mean(dim=2, keepdim=True)
    y = ((grouped - mean) / (var + eps).sqrt()).reshape(*input.shape)
    return _affine(y, weight, bias, (1, c) + (1,) * (input.ndim - 2))


def _affine(y, weight, bias, shape):
    """y * weight + bias, one of each per channel (dim 1), either left out when None."""
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


class _NormBase(Module):
    """torch's _NormBase: weight ones and bias zeros (affine; bias=False leaves the bias out), buffers running_mean,
    running_var and num_batches_tracked (int64) when track_running_stats, in torch's state_dict order."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: npt.DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        owner = type(self).__name__
        check_device(owner, device)
        dtype = check_dtype(dtype, owner)
        self.num_features = check_int(owner, "num_features", num_features, 1)
        self.eps, self.momentum = float(eps), None if momentum is None else float(momentum)
        self.affine = check_bool(owner, "affine", affine)
        self.track_running_stats = check_bool(owner, "track_running_stats", track_running_stats)
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        # torch 2.13's keyword: affine without a bias
        self.use_bias = self.affine and check_bool(owner, "bias", bias)
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

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.use_bias}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """torch's _BatchNorm: batch statistics in training (and in eval() without running ones), the running ones in
    eval(); subclasses name the input ranks they take (`_ranks`)."""
    _ranks: tuple[int, ...] = ()

    def forward(self, input: Tensor) -> Tensor:
        owner = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{owner}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in self._ranks:
            ranks = " or ".join(f"{r}D" for r in self._ranks)
            raise ValueError(f"expected {ranks} input (got {input.ndim}D input)")
        if input.shape[1] != self.num_features:
            raise ShapeError(f"{owner}: expected {self.num_features} channels (dim 1), got {input.shape[1]} "
                             f"(input of shape {tuple(input.shape)})")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            if self.momentum is None:   # a cumulative moving average, as torch's
                factor = 1.0 / float(self.num_batches_tracked._data)
        # batch statistics in training, and in eval() without running ones (running_mean is None then)
        return batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """torch.nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
    device=None, dtype=None, *, bias=True): (N, C) or (N, C, L) input."""
    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """torch.nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
    device=None, dtype=None, *, bias=True): (N, C, H, W) input, statistics per channel over N, H and W."""
    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """torch.nn.BatchNorm3d(num_features, ...): BatchNorm2d's arguments, (N, C, D, H, W) input."""
    _ranks = (5,)


class _InstanceNorm(_NormBase):
    """torch's _InstanceNorm: each sample's statistics in training (and without running statistics), the running
    ones in eval() when tracked (they move toward the batch's average of the samples' statistics); an unbatched
    input is one sample. `_spatial` is the number of spatial dims."""
    _spatial = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: npt.DTypeLike | None = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        d = self._spatial
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (d + 1, d + 2):
            raise ValueError(f"expected {d + 1}D or {d + 2}D input (got {input.ndim}D input)")
        feature_dim = input.ndim - d - 1
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          "warning by not passing in num_features, which is not used because affine=False",
                          UserWarning, stacklevel=2)
        x = input.unsqueeze(0) if input.ndim == d + 1 else input
        y = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          0.0 if self.momentum is None else self.momentum, self.eps)
        return y.squeeze(0) if input.ndim == d + 1 else y


class InstanceNorm1d(_InstanceNorm):
    """torch.nn.InstanceNorm1d(num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
    device=None, dtype=None, *, bias=True): (N, C, L) or unbatched (C, L) input."""
    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """torch.nn.InstanceNorm2d(...): InstanceNorm1d's arguments, (N, C, H, W) or (C, H, W) input."""
    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """torch.nn.InstanceNorm3d(...): InstanceNorm1d's arguments, (N, C, D, H, W) or (C, D, H, W) input."""
    _spatial = 3


class GroupNorm(Module):
    """torch.nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
    weight ones and bias zeros, one per channel (affine); (N, C, *) input."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: npt.DTypeLike | None = None, *, bias: bool = True) -> None:
        check_device("GroupNorm", device)
        dtype = check_dtype(dtype, "GroupNorm")
        self.num_groups = check_int("GroupNorm", "num_groups", num_groups, 1)
        self.num_channels = check_int("GroupNorm", "num_channels", num_channels, 1)
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.eps, self.affine = float(eps), check_bool("GroupNorm", "affine", affine)
        self.weight = Parameter(np.ones(num_channels, dtype)) if affine else None
        use_bias = self.affine and check_bool("GroupNorm", "bias", bias)
        self.bias = Parameter(np.zeros(num_channels, dtype)) if use_bias else None

    def forward(self, input: Tensor) -> Tensor:
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
