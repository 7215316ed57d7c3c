"""Stochastic weight averaging and exponential moving averages of a model, as torch.optim.swa_utils (import it as
tr.optim.swa_utils, or `from tinygrad_rnn.optim.swa_utils import AveragedModel`): AveragedModel, SWALR, update_bn,
get_ema_multi_avg_fn, get_swa_multi_avg_fn, get_ema_avg_fn and get_swa_avg_fn.

AveragedModel keeps a deep copy of a model whose parameters (and, with use_buffers=True, buffers) are a running
average of the model's: at the first update_parameters() a copy, then each update folds the model's current values
in, equally weighted (SWA, the default) or by the function given. The arithmetic is torch's CPU code, operation
by operation (its default is get_swa_avg_fn's `a + (m - a) / (n + 1)`, per tensor; the multi_avg_fns use lerp),
so the averages match torch's to rounding. The averages are written into the copy's arrays in place, off the tape.
"""
from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .nn.checks import check_float, check_int
from .nn.module import Module
from .nn.normalization import _BatchNorm
from .optim import Optimizer, _lerp_
from .optim_lr_scheduler import LRScheduler, _per_group, _warn_outside_step
from .tape import no_grad
from .tensor import Tensor

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn",
           "get_swa_avg_fn"]


def _checked_decay(decay):
    decay = check_float("get_ema_avg_fn", "decay", decay)
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")
    return decay


def _write(tensor, values):
    """values into the tensor's own array (cast to its dtype, a float truncated into an int buffer as torch's
    copy_), off the tape."""
    tensor._data[...] = values._data if isinstance(values, Tensor) else values


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[list, list, Any], None]:
    """A function updating lists of averaged tensors in place: ema <- lerp(ema, current, 1 - decay) (float), or
    ema * decay + current * (1 - decay) for other dtypes, as torch's."""
    decay = _checked_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        for ema, current in zip(ema_param_list, current_param_list):
            if ema._data.dtype.kind == "f":
                _lerp_(ema._data, current._data, 1 - decay)
            else:
                _write(ema, ema._data * decay + current._data * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn() -> Callable[[list, list, Any], None]:
    """A function updating lists of averaged tensors in place with the equally weighted average of n + 1 models:
    a <- lerp(a, current, 1 / (n + 1)) (float), or a + (current - a) / (n + 1) for other dtypes."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = num_averaged._data.item() if isinstance(num_averaged, Tensor) else num_averaged
        # (torch's 1 / (n + 1) of its int64 count tensor is a float32 tensor: the weight is a float32 number)
        weight = float(np.float32(1 / (n + 1))) if isinstance(num_averaged, Tensor) else 1 / (n + 1)
        for averaged, current in zip(averaged_param_list, current_param_list):
            if averaged._data.dtype.kind == "f":
                _lerp_(averaged._data, current._data, weight)
            elif isinstance(num_averaged, Tensor):   # (torch's addcdiv_ of an integer buffer by the count tensor)
                raise RuntimeError("Integer division with addcdiv is no longer supported (torch's error): "
                                   "get_swa_multi_avg_fn cannot average an integer buffer (num_batches_tracked) "
                                   "with use_buffers=True; use the default averaging (avg_fn=None)")
            else:
                _write(averaged, averaged._data + (current._data - averaged._data) / (n + 1))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """A function of one averaged tensor, the current one and the count: decay * ema + (1 - decay) * current."""
    decay = _checked_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn() -> Callable[[Tensor, Tensor, Any], Tensor]:
    """A function of one averaged tensor, the current one and the count n: a + (current - a) / (n + 1)."""
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """torch.optim.swa_utils.AveragedModel(model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
    a deep copy of `model` (its .module), called as the model is, whose parameters update_parameters(model)
    averages; n_averaged (an int64 buffer) counts the models averaged. Without use_buffers the buffers are copied
    from the model at each update (a BatchNorm's statistics then need update_bn)."""

    def __init__(self, model: Module, device: Any = None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:   # (torch's AssertionError)
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"AveragedModel: device must be None or 'cpu' (this library computes on the CPU), "
                             f"got {device!r}")
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be a tr.nn.Module, got {type(model).__name__}")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", Tensor._make(np.array(0, np.int64), False))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = bool(use_buffers)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold model's current parameters (and buffers, with use_buffers) into the averages; the first call copies
        them."""
        if self.use_buffers:
            averaged = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            current = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            averaged, current = list(self.parameters()), list(model.parameters())
        averaged = [p.detach() for p in averaged]
        current = [p.detach() for p in current][:len(averaged)]   # (torch zips them, stopping at the shorter)
        averaged = averaged[:len(current)]
        n = int(self.n_averaged._data)
        with no_grad():
            if n == 0:
                for a, c in zip(averaged, current):
                    _write(a, c._data)
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn(averaged, current, self.n_averaged)
            else:
                avg_fn = self.avg_fn if self.avg_fn is not None else get_swa_avg_fn()
                for a, c in zip(averaged, current):
                    _write(a, avg_fn(a, c, self.n_averaged))
            if not self.use_buffers:   # the buffers follow the model's
                for b_swa, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                    _write(b_swa, b_model._data)
        self.n_averaged._data[...] += 1


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """One pass over `loader` (batches, or tuples whose first item is the batch) in training mode to recompute
    each BatchNorm's running statistics from scratch (a cumulative average: momentum None for the pass), as torch's;
    the model's mode and the momenta are restored after."""
    if device is not None and str(device) != "cpu":
        raise ValueError(f"update_bn: device must be None or 'cpu', got {device!r}")
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):   # as torch's: an InstanceNorm's running statistics are left alone
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """torch.optim.swa_utils.SWALR(optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
    anneals each group's lr to its swa_lr (a number, or one per group; kept in the group as 'swa_lr') over
    anneal_epochs steps, cosine or linear, then holds it: torch's recursive formula, step for step."""

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SWALR: optimizer must be a tr.optim optimizer, got {type(optimizer).__name__}")
        swa_lrs = _per_group("SWALR", "swa_lr", swa_lr, optimizer, lambda name, v: check_float("SWALR", name, v))
        for value, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy!r}")
        self._anneal_strategy = anneal_strategy
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs!r}")
        self.anneal_epochs = check_int("SWALR", "anneal_epochs", anneal_epochs, 0)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t):
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(self.optimizer.param_groups, prev_lrs)]
