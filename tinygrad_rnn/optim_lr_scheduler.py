"""Learning-rate schedulers, as torch.optim.lr_scheduler (import them as tr.optim.lr_scheduler.X):
LambdaLR, StepLR, MultiStepLR, LinearLR, ExponentialLR, CosineAnnealingLR, OneCycleLR and ReduceLROnPlateau.

A scheduler writes each param group's 'lr' (OneCycleLR also its momentum or beta1). As in torch,
building one sets every group's lr to the schedule's value at step 0 and records 'initial_lr' in
the groups; each step() (called once per epoch, or per batch for OneCycleLR, after
optimizer.step()) moves to the next value. The update rules are torch's, operation for operation
(most are written recursively, from the group's current lr), so the sequence of learning rates
matches torch's to rounding; state_dict()/load_state_dict() carry a schedule across a checkpoint
(save the optimizer's state too: the current lr lives in its param groups).

Differences from torch: step(epoch) (deprecated there) is not accepted, and nothing warns when
step() is called before optimizer.step().
"""
from __future__ import annotations

import math
import numbers
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .nn.checks import check_bool, check_choice, check_float, check_int
from .optim import Optimizer
from .tensor import Tensor

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "LinearLR", "ExponentialLR", "CosineAnnealingLR",
           "OneCycleLR", "ReduceLROnPlateau"]


def _check_optimizer(owner, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: optimizer must be a tr.optim optimizer, got {type(optimizer).__name__}")
    return optimizer


def _per_group(owner, name, value, optimizer, check):
    """One value per param group: a list/tuple of that length, or one value for all (as torch)."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: {name} must have one value per param group ({n}), got {len(value)}")
        return [check(f"{name}[{i}]", v) for i, v in enumerate(value)]
    return [check(name, value)] * n


def _positive(owner, name, value):
    value = check_float(owner, name, value)
    if not value > 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {value:g}")
    return value


def _fraction(owner, name, value):
    value = check_float(owner, name, value, 0)
    if value >= 1.0:
        raise ValueError(f"{owner}: {name} must be < 1, got {value:g}")
    return value


def _kind(value):
    if isinstance(value, (bool, np.bool_)):
        return "True or False"
    if isinstance(value, (int, np.integer)):
        return "an int"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}"


def _same_kind(current, loaded):
    """loaded can stand for current in a scheduler's state: a bool, an int, a number, a list of as many (a
    tuple too: JSON makes lists of them) of the same kinds, or anything for other values (None, dicts)."""
    if isinstance(current, (bool, np.bool_, numbers.Real, list, tuple)):
        if isinstance(current, (list, tuple)):
            return (isinstance(loaded, (list, tuple)) and len(loaded) == len(current)
                    and all(_same_kind(c, v) for c, v in zip(current, loaded)))
        return _kind(current) == _kind(loaded) or (_kind(current) == "a number" and _kind(loaded) == "an int")
    return True


class LRScheduler:
    """Base class: a subclass defines get_lr(), the groups' next learning rates, from
    self.last_epoch (the step count, 0 at construction) and the groups' current values."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        owner = type(self).__name__
        self.optimizer = _check_optimizer(owner, optimizer)
        last_epoch = check_int(owner, "last_epoch", last_epoch, -1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{owner}: param_groups[{i}] has no 'initial_lr', which resuming with last_epoch="
                                   f"{last_epoch} needs: load the optimizer's state_dict first (or use last_epoch=-1)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True  # the first step (below) only records the starting lr
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def step(self) -> None:
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates (one per param group) set by the latest step."""
        return list(self._last_lr)

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    # -- checkpoints
    _not_state = ("optimizer",)
    # what load_state_dict checks beyond the kind of each value: name -> (check, its bounds or choices), the
    # constructor's checks (a step_size of 0 loaded would raise ZeroDivisionError at the next step)
    _load_checks = {"last_epoch": (check_int, -1), "_step_count": (check_int, 0), "base_lrs": (check_float, 0)}

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (and functions): plain numbers and lists, as torch."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in vars(self).items() if k not in self._not_state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not isinstance(state_dict, dict):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict, got {type(state_dict).__name__}")
        unknown = sorted(set(state_dict) - set(self.state_dict()))
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unexpected keys {unknown} (a state dict of "
                             "another scheduler?)")
        own = self.state_dict()
        for k, v in state_dict.items():   # each value of the kind the scheduler holds: a string or a short list
            if not _same_kind(own[k], v):  # failed later, inside step(), naming nothing
                raise ValueError(f"{type(self).__name__}.load_state_dict: {k} must be {_kind(own[k])} (as this "
                                 f"scheduler's {own[k]!r:.60}), got {v!r:.60}")
        for k, v in state_dict.items():
            if k in self._load_checks:
                check, *bounds = self._load_checks[k]
                for i, item in enumerate(v if isinstance(v, (list, tuple)) else [v]):
                    check(f"{type(self).__name__}.load_state_dict", k if not isinstance(v, (list, tuple))
                          else f"{k}[{i}]", item, *bounds)
        for k, v in state_dict.items():
            setattr(self, k, list(v) if isinstance(v, list) else v)


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch); one function for all groups or a list with one per group.
    state_dict() keeps a callable object's attributes, not a plain function (as torch)."""

    _not_state = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        _check_optimizer("LambdaLR", optimizer)
        fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * len(optimizer.param_groups)
        if len(fns) != len(optimizer.param_groups):
            raise ValueError(f"LambdaLR: expected {len(optimizer.param_groups)} lr_lambdas (one per param group), "
                             f"got {len(fns)}")
        for i, fn in enumerate(fns):
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be callable (or a list of callables), got "
                                f"{type(fn).__name__} at position {i}")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = []
        for i, (fn, base) in enumerate(zip(self.lr_lambdas, self.base_lrs)):
            factor = fn(self.last_epoch)
            if isinstance(factor, np.ndarray) and factor.ndim == 0:   # (what numpy maths on a scalar may return)
                factor = factor.item()
            if isinstance(factor, bool) or not isinstance(factor, numbers.Real):   # base * "x" failed inside
                raise TypeError(f"LambdaLR: lr_lambda{'' if len(self.lr_lambdas) == 1 else f'[{i}]'} must return a "
                                f"number (the factor of the initial lr), got {type(factor).__name__} {factor!r} for "
                                f"epoch {self.last_epoch}")
            lrs.append(base * factor)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn)) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas", None)
        super().load_state_dict(state)
        for fn, saved in zip(self.lr_lambdas, lambdas or ()):
            if saved is not None:
                vars(fn).update(saved)


class StepLR(LRScheduler):
    """lr *= gamma every step_size steps."""

    _load_checks = {**LRScheduler._load_checks, "step_size": (check_int, 1)}

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = check_int("StepLR", "step_size", step_size, 1)
        self.gamma = check_float("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class MultiStepLR(LRScheduler):
    """lr *= gamma at each step listed in milestones (a milestone listed twice: gamma ** 2 there)."""

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"MultiStepLR: milestones must be a list of ints, got {type(milestones).__name__}")
        # a sorted list (torch keeps a Counter): a state_dict of plain numbers and lists
        self.milestones = sorted(check_int("MultiStepLR", f"milestones[{i}]", m, 0) for i, m in enumerate(milestones))
        self.gamma = check_float("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        times = self.milestones.count(self.last_epoch)
        if not times:
            return self._current_lrs()
        return [lr * self.gamma ** times for lr in self._current_lrs()]


class LinearLR(LRScheduler):
    """The lr's factor moves linearly from start_factor to end_factor over total_iters steps, then stays; written
    recursively from the current lr, as torch's."""

    _load_checks = {**LRScheduler._load_checks, "total_iters": (check_int, 1)}

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        self.start_factor = check_float("LinearLR", "start_factor", start_factor)
        if not 0 < self.start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {self.start_factor:g}")
        self.end_factor = check_float("LinearLR", "end_factor", end_factor, 0, 1)
        self.total_iters = check_int("LinearLR", "total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        step = self.end_factor - self.start_factor
        return [lr * (1.0 + step / (self.total_iters * self.start_factor + (self.last_epoch - 1) * step))
                for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """lr *= gamma every step."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_float("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """lr follows eta_min + (initial_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2, computed (as
    torch) recursively from the current lr; past T_max it rises again (a cosine of period 2 T_max)."""

    _load_checks = {**LRScheduler._load_checks, "T_max": (_positive,)}

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = _positive("CosineAnnealingLR", "T_max", T_max)
        self.T_max = T_max if isinstance(T_max, int) else self.T_max
        self.eta_min = check_float("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and e > 0:  # resumed: the closed form
            return [lo + (base - lo) * (1 + math.cos(e * math.pi / T)) / 2 for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # the trough: the recursive form would divide by 0
            return [lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - lo) + lo
                for lr in self._current_lrs()]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), stepped once per batch: lr rises from
    max_lr / div_factor to max_lr over pct_start of total_steps, then anneals to
    initial_lr / final_div_factor (three_phase: back to initial_lr first); the momentum (SGD,
    RMSprop) or beta1 (Adam) moves the other way between max_momentum and base_momentum."""

    _load_checks = {**LRScheduler._load_checks, "total_steps": (check_int, 1),
                    "anneal_strategy": (check_choice, ("cos", "linear"))}

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85, max_momentum: float | Sequence[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        owner = "OneCycleLR"
        _check_optimizer(owner, optimizer)
        if total_steps is not None:
            self.total_steps = check_int(owner, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = check_int(owner, "epochs", epochs, 1) * check_int(owner, "steps_per_epoch",
                                                                                 steps_per_epoch, 1)
        else:
            raise ValueError(f"{owner}: pass total_steps, or epochs and steps_per_epoch")
        pct_start = check_float(owner, "pct_start", pct_start, 0, 1)
        self.anneal_strategy = check_choice(owner, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.cycle_momentum = check_bool(owner, "cycle_momentum", cycle_momentum)
        div_factor = _positive(owner, "div_factor", div_factor)   # the lrs are divided by them: 0 divided by zero
        final_div_factor = _positive(owner, "final_div_factor", final_div_factor)
        three_phase = check_bool(owner, "three_phase", three_phase)
        n = self.total_steps
        # each phase: (last step, lr from, lr to, momentum from, momentum to), names of group entries
        if three_phase:
            self.phases = [(float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (float(2 * pct_start * n) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                           (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases = [(float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        number = lambda name, v: check_float(owner, name, v)  # noqa: E731
        max_lrs = _per_group(owner, "max_lr", max_lr, optimizer, number)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{owner}: cycle_momentum=True needs an optimizer with momentum or betas "
                                 f"({type(optimizer).__name__} has neither); pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            tops = _per_group(owner, "max_momentum", max_momentum, optimizer, number)
            bases = _per_group(owner, "base_momentum", base_momentum, optimizer, number)
            if last_epoch == -1:
                for group, top, base in zip(optimizer.param_groups, tops, bases):
                    self._set_momentum(group, top)
                    group["max_momentum"], group["base_momentum"] = top, base
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value,) + tuple(group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
                if step <= end or i == len(self.phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m_from], group[m_to], pct))
                    break
                start = end
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by factor when a metric has not improved for `patience` steps:
    step(metric) once per epoch with, e.g., the validation loss."""

    _load_checks = {"last_epoch": (check_int, 0), "mode": (check_choice, ("min", "max")),
                    "factor": (_fraction,), "patience": (check_int, 0), "threshold": (check_float, 0),
                    "threshold_mode": (check_choice, ("rel", "abs")), "cooldown": (check_int, 0),
                    "cooldown_counter": (check_int, 0), "num_bad_epochs": (check_int, 0), "min_lrs": (check_float, 0),
                    "eps": (check_float, 0)}

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | Sequence[float] = 0, eps: float = 1e-8) -> None:
        owner = "ReduceLROnPlateau"
        self.optimizer = _check_optimizer(owner, optimizer)
        self.mode = check_choice(owner, "mode", mode, ("min", "max"))
        self.factor = _fraction(owner, "factor", factor)
        self.patience = check_int(owner, "patience", patience, 0)
        self.threshold = check_float(owner, "threshold", threshold, 0)
        self.threshold_mode = check_choice(owner, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = check_int(owner, "cooldown", cooldown, 0)
        self.min_lrs = _per_group(owner, "min_lr", min_lr, optimizer, lambda n, v: check_float(owner, n, v, 0))
        self.eps = check_float(owner, "eps", eps, 0)
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, a, best):
        if self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold) if self.mode == "min" else a > best * (self.threshold + 1.0)
        return a < best - self.threshold if self.mode == "min" else a > best + self.threshold

    def step(self, metrics: float | Tensor) -> None:
        size = getattr(metrics, "size", 1)   # .item() of several values fails inside numpy
        value = metrics.item() if hasattr(metrics, "item") and size == 1 else metrics
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number (or a one-element Tensor), got "
                            f"{type(metrics).__name__}")
        current = float(value)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, low in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()
