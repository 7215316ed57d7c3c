"""Learning-rate schedulers, as torch.optim.lr_scheduler (import them as tr.optim.lr_scheduler.X):
LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR,
CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SequentialLR, ChainedScheduler and
ReduceLROnPlateau.

A scheduler writes each param group's 'lr' (OneCycleLR and CyclicLR also its momentum or beta1). As in torch,
building one sets every group's lr to the schedule's value at step 0 and records 'initial_lr' in
the groups; each step() (called once per epoch, or per batch for OneCycleLR and CyclicLR, after
optimizer.step()) moves to the next value. The update rules are torch's, operation for operation
(most are written recursively, from the group's current lr), so the sequence of learning rates
matches torch's to rounding; state_dict()/load_state_dict() carry a schedule across a checkpoint
(save the optimizer's state too: the current lr lives in its param groups). The state dicts have torch's
keys and layout, so torch's load here and ours load into torch's schedulers.

As torch 2.13: step(epoch) (deprecated there) warns with torch's EPOCH_DEPRECATION_WARNING (a UserWarning) and
sets the lrs of that epoch, in closed form where the scheduler has one (CosineAnnealingWarmRestarts.step(epoch)
takes a fractional epoch, without the warning; ReduceLROnPlateau.step(metrics, epoch) warns too); a scheduler's
first step() before any optimizer.step() gives torch's "Detected call of `lr_scheduler.step()` before
`optimizer.step()`" UserWarning. torch's arguments that give a working schedule are taken (a ConstantLR factor of 0,
whose lr cannot be divided back at step total_iters: a ZeroDivisionError there, as torch's; a LinearLR or
PolynomialLR total_iters of 0; SequentialLR milestones in any order). Values that torch takes but fails on at the
first step (a StepLR step_size of 0, a CosineAnnealingLR T_max of 0) or that make no schedule (negative sizes and
milestones) are refused at construction, naming the argument.
"""
from __future__ import annotations

import bisect
import collections
import math
import numbers
import types
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .nn.checks import check_bool, check_choice, check_float, check_int
from .optim import Optimizer
from .tensor import Tensor

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "LinearLR", "ExponentialLR", "CosineAnnealingLR",
           "OneCycleLR", "ReduceLROnPlateau"]


# torch's words (torch/optim/lr_scheduler.py), for the same UserWarnings
EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being "
    "deprecated where possible. Please use `scheduler.step()` to step the "
    "scheduler. During the deprecation, if epoch is different from None, the "
    "closed form is used instead of the new chainable form, where available. "
    "Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)
STEP_BEFORE_OPTIMIZER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
    "will result in PyTorch skipping the first value of the learning rate schedule. "
    "See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)


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


def _positive_int_as_torch(owner, name, value, low):
    """An int >= low, refused with torch's ValueError (CosineAnnealingWarmRestarts raises ValueError for a float
    too)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{owner}: {name} must be an int >= {low}, got {type(value).__name__} {value!r}")
    return int(value)


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


def _copied(value):
    """A Tensor lr copied (torch clones it: a scheduler's base_lrs and last lrs never alias the group's), a number
    as it is."""
    return value.clone() if isinstance(value, Tensor) else value


def set_lr(group, value, key="lr"):
    """group[key] = value; a Tensor there keeps its identity and takes the value (torch's _update_param_group_val:
    fill_), in its own dtype."""
    current = group.get(key)
    if isinstance(current, Tensor):
        current._data[...] = value._data if isinstance(value, Tensor) else value
        current.bump_version()
    else:
        group[key] = value


def _warn_outside_step(scheduler) -> None:
    """torch's UserWarning when a built-in scheduler's get_lr() is called outside step() (it computes the next lrs
    from the current ones, so it is not the lr in use): get_last_lr() is."""
    if not scheduler._get_lr_called_within_step:
        warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                      UserWarning, stacklevel=3)


class LRScheduler:
    """Base class: a subclass defines get_lr(), the groups' next learning rates, from
    self.last_epoch (the step count, 0 at construction) and the groups' current values."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        owner = type(self).__name__
        self.optimizer = _check_optimizer(owner, optimizer)
        last_epoch = check_int(owner, "last_epoch", last_epoch, -1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", _copied(group["lr"]))
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{owner}: param_groups[{i}] has no 'initial_lr', which resuming with last_epoch="
                                   f"{last_epoch} needs: load the optimizer's state_dict first (or use last_epoch=-1)")
        self.base_lrs = [_copied(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """The step at construction, which only records the starting lr (SequentialLR calls it again when a
        scheduler's turn comes)."""
        self._step_count = 0
        self._is_initial = True
        # torch's flag (True only while step() calls get_lr: a call from outside warns), in torch's place among
        # the state dict's keys
        self._get_lr_called_within_step = False
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Move to the next learning rate (call it after optimizer.step()). `epoch` (deprecated, as in torch: a
        warning) jumps to that epoch's learning rates, in closed form where the scheduler has one."""
        # the first step after construction, before any optimizer.step(): the schedule's first value is never used
        # (Optimizer.step sets _opt_called, where torch wraps the optimizer's step to set it)
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(STEP_BEFORE_OPTIMIZER_WARNING, UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            epoch = check_int(f"{type(self).__name__}.step", "epoch", epoch)
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        """Write the next lrs into the groups; with `epoch`, the lrs at that epoch, in closed form where the
        scheduler has one (as torch: how SequentialLR restarts a scheduler at its milestone, at epoch 0)."""
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                lrs = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", self.get_lr)
                lrs = closed_form()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, lrs):
            set_lr(group, lr)
        self._last_lr = self._current_lrs()

    def get_last_lr(self) -> list[float]:
        """The learning rates (one per param group) set by the latest step."""
        return list(self._last_lr)

    def _current_lrs(self):
        return [_copied(group["lr"]) for group in self.optimizer.param_groups]

    # -- checkpoints
    _not_state = ("optimizer",)
    # what load_state_dict checks beyond the kind of each value: name -> (check, its bounds or choices), the
    # constructor's checks (a step_size of 0 loaded would raise ZeroDivisionError at the next step)
    _load_checks = {"last_epoch": (check_int, -1), "_step_count": (check_int, 0), "base_lrs": (check_float, 0)}

    # the keys torch's state dict starts with, in its order, where it sets its attributes in another order than ours
    _state_order: tuple = ()

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (and functions): plain numbers and lists, as torch, in torch's order."""
        names = [k for k in self._state_order if k in vars(self)]
        names += [k for k in vars(self) if k not in names and k not in self._not_state]
        return {k: (list(v) if isinstance(v, list) else v) for k, v in ((k, vars(self)[k]) for k in names)}

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


class _LRScheduler(LRScheduler):
    """torch's old name of LRScheduler, kept for the subclasses written against it (torch keeps it too)."""


class _LambdaScheduler(LRScheduler):
    """LambdaLR and MultiplicativeLR: a function of the epoch per group (one for all, or a list with one per
    group). state_dict() keeps a callable object's attributes, not a plain function (as torch)."""

    _not_state = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        owner = type(self).__name__
        _check_optimizer(owner, optimizer)
        fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * len(optimizer.param_groups)
        if len(fns) != len(optimizer.param_groups):
            raise ValueError(f"{owner}: expected {len(optimizer.param_groups)} lr_lambdas (one per param group), "
                             f"got {len(fns)}")
        for i, fn in enumerate(fns):
            if not callable(fn):
                raise TypeError(f"{owner}: lr_lambda must be callable (or a list of callables), got "
                                f"{type(fn).__name__} at position {i}")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def _factors(self):
        """Each group's lr_lambda(last_epoch), checked to be a number (base * "x" failed inside)."""
        factors = []
        for i, fn in enumerate(self.lr_lambdas):
            factor = fn(self.last_epoch)
            if isinstance(factor, np.ndarray) and factor.ndim == 0:   # (what numpy maths on a scalar may return)
                factor = factor.item()
            if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
                raise TypeError(f"{type(self).__name__}: lr_lambda{'' if len(self.lr_lambdas) == 1 else f'[{i}]'} "
                                f"must return a number (the factor of the lr), got {type(factor).__name__} "
                                f"{factor!r} for epoch {self.last_epoch}")
            factors.append(factor)
        return factors

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


class LambdaLR(_LambdaScheduler):
    """lr = initial_lr * lr_lambda(epoch); one function for all groups or a list with one per group."""

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        return [base * factor for base, factor in zip(self.base_lrs, self._factors())]


class MultiplicativeLR(_LambdaScheduler):
    """lr *= lr_lambda(epoch) at each step (from epoch 1); one function for all groups or a list with one per
    group."""

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        if self._is_initial:
            return self._current_lrs()
        return [lr * factor for lr, factor in zip(self._current_lrs(), self._factors())]


class StepLR(LRScheduler):
    """lr *= gamma every step_size steps."""

    _load_checks = {**LRScheduler._load_checks, "step_size": (check_int, 1)}

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = check_int("StepLR", "step_size", step_size, 1)
        self.gamma = check_float("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr *= gamma at each step listed in milestones (a milestone listed twice: gamma ** 2 there)."""

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"MultiStepLR: milestones must be a list of ints, got {type(milestones).__name__}")
        # a Counter {milestone: times listed}, as torch keeps it: the state dicts load into each other
        self.milestones = _milestone_counter("MultiStepLR", milestones)
        self.gamma = check_float("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        times = self.milestones.get(self.last_epoch, 0)
        if not times:
            return self._current_lrs()
        return [lr * self.gamma ** times for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        passed = bisect.bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Milestones as torch's Counter, our older sorted list, or a dict with string keys (JSON's)."""
        state = dict(state_dict)
        if "milestones" in state:
            saved = state.pop("milestones")
            if isinstance(saved, dict):
                saved = [k for k, times in saved.items() for _ in range(check_int("MultiStepLR.load_state_dict",
                                                                                   f"milestones[{k!r}]", times, 0))]
            milestones = _milestone_counter("MultiStepLR.load_state_dict", saved)
        else:
            milestones = self.milestones
        super().load_state_dict(state)
        self.milestones = milestones


def _milestone_counter(owner, milestones):
    """A Counter of milestones, each an int >= 0 (a string of digits too, as JSON writes a Counter's keys)."""
    if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
        raise TypeError(f"{owner}: milestones must be a list of ints, got {type(milestones).__name__}")
    milestones = [int(m) if isinstance(m, str) and m.isdigit() else m for m in milestones]
    return collections.Counter(check_int(owner, f"milestones[{i}]", m, 0) for i, m in enumerate(milestones))


class LinearLR(LRScheduler):
    """The lr's factor moves linearly from start_factor to end_factor over total_iters steps, then stays; written
    recursively from the current lr, as torch's."""

    _load_checks = {**LRScheduler._load_checks, "total_iters": (check_int, 0)}

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        self.start_factor = check_float("LinearLR", "start_factor", start_factor)
        if not 0 < self.start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {self.start_factor:g}")
        self.end_factor = check_float("LinearLR", "end_factor", end_factor, 0, 1)
        self.total_iters = check_int("LinearLR", "total_iters", total_iters, 0)   # 0: start_factor for good
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        step = self.end_factor - self.start_factor
        return [lr * (1.0 + step / (self.total_iters * self.start_factor + (self.last_epoch - 1) * step))
                for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        step = self.end_factor - self.start_factor
        return [base * (self.start_factor + step * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr *= gamma every step."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_float("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


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
        _warn_outside_step(self)
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

    def _get_closed_form_lr(self):
        lo = self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2 for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), stepped once per batch: lr rises from
    max_lr / div_factor to max_lr over pct_start of total_steps, then anneals to
    initial_lr / final_div_factor (three_phase: back to initial_lr first); the momentum (SGD,
    RMSprop) or beta1 (Adam) moves the other way between max_momentum and base_momentum."""

    _state_order = ("total_steps", "_schedule_phases", "_anneal_func_type", "cycle_momentum", "use_beta1")

    _load_checks = {**LRScheduler._load_checks, "total_steps": (check_int, 1),
                    "_anneal_func_type": (check_choice, ("cos", "linear"))}

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85, max_momentum: float | Sequence[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        owner = "OneCycleLR"
        _check_optimizer(owner, optimizer)
        if total_steps is not None:   # (torch raises ValueError for a float too)
            self.total_steps = _positive_int_as_torch(owner, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _positive_int_as_torch(owner, "epochs", epochs, 1) * _positive_int_as_torch(
                owner, "steps_per_epoch", steps_per_epoch, 1)
        else:
            raise ValueError(f"{owner}: pass total_steps, or epochs and steps_per_epoch")
        pct_start = check_float(owner, "pct_start", pct_start, 0, 1)
        # (torch's attribute names, so that the state dicts load into each other)
        self._anneal_func_type = check_choice(owner, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.cycle_momentum = check_bool(owner, "cycle_momentum", cycle_momentum)
        div_factor = _positive(owner, "div_factor", div_factor)   # the lrs are divided by them: 0 divided by zero
        final_div_factor = _positive(owner, "final_div_factor", final_div_factor)
        three_phase = check_bool(owner, "three_phase", three_phase)
        self._schedule_phases = _one_cycle_phases(self.total_steps, pct_start, three_phase)
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
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[phase["start_momentum"]],
                                                               group[phase["end_momentum"]], pct))
                    break
                start = end
        return lrs


    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Ours or torch's; also one saved before this scheduler took torch's names ('anneal_strategy' and
        'phases', tuples of the same five entries)."""
        state = dict(state_dict)
        if "anneal_strategy" in state:
            state["_anneal_func_type"] = state.pop("anneal_strategy")
        if "phases" in state:
            phases = state.pop("phases")
            keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
            state["_schedule_phases"] = [dict(zip(keys, p)) if isinstance(p, (list, tuple)) else p for p in phases]
        super().load_state_dict(state)


def _one_cycle_phases(n, pct_start, three_phase):
    """OneCycleLR's phases as torch lists them: each its last step and the names of the group entries its lr and
    momentum move between."""
    keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
    if three_phase:
        rows = [(float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * n) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
    else:
        rows = [(float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
    return [dict(zip(keys, row)) for row in rows]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by factor when a metric has not improved for `patience` steps:
    step(metric) once per epoch with, e.g., the validation loss."""

    _state_order = ("factor", "default_min_lr", "min_lrs", "patience", "cooldown", "eps", "last_epoch", "_last_lr",
                    "mode_worse", "mode", "threshold", "threshold_mode", "best", "cooldown_counter", "num_bad_epochs")

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
        # torch's: the one min_lr given for all groups (None for a list), and the worst value of the metric
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else self.min_lrs[0]
        self.mode_worse = math.inf if self.mode == "min" else -math.inf
        self.eps = check_float(owner, "eps", eps, 0)
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, a, best):
        if self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold) if self.mode == "min" else a > best * (self.threshold + 1.0)
        return a < best - self.threshold if self.mode == "min" else a > best + self.threshold

    def step(self, metrics: float | Tensor, epoch: int | None = None) -> None:
        """One epoch's metric; `epoch` (deprecated, as in torch: a warning) sets last_epoch."""
        size = getattr(metrics, "size", 1)   # .item() of several values fails inside numpy
        value = metrics.item() if hasattr(metrics, "item") and size == 1 else metrics
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number (or a one-element Tensor), got "
                            f"{type(metrics).__name__}")
        current = float(value)
        if epoch is None:
            self.last_epoch += 1
        else:
            self.last_epoch = check_int("ReduceLROnPlateau.step", "epoch", epoch)
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):   # a group added since (optimizer.add_param_group), as torch
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} param groups, min_lr had "
                                   f"{len(self.min_lrs)} values: set the scheduler's min_lrs to one per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, low in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, low)
            if old - new > self.eps:
                set_lr(group, new)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Ours or torch's; default_min_lr may be None (min_lr was a list) or a number either way."""
        state = dict(state_dict)
        default_min_lr = state.pop("default_min_lr", self.default_min_lr)
        if default_min_lr is not None:
            default_min_lr = check_float("ReduceLROnPlateau.load_state_dict", "default_min_lr", default_min_lr, 0)
        super().load_state_dict(state)
        self.default_min_lr = default_min_lr
        self.mode_worse = math.inf if self.mode == "min" else -math.inf   # (torch recomputes it too)


class ConstantLR(LRScheduler):
    """lr = initial_lr * factor for the first total_iters steps, then initial_lr (written recursively from the
    current lr, as torch's)."""

    _load_checks = {**LRScheduler._load_checks, "total_iters": (check_int, 0)}

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        # factor 0, as torch: the lr is 0 until total_iters, where it cannot be divided back (a phase of a
        # SequentialLR that ends before then is fine)
        self.factor = check_float("ConstantLR", "factor", factor, 0, 1)
        self.total_iters = check_int("ConstantLR", "total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        if self.factor == 0:   # (torch fails here too, with "float division by zero")
            raise ZeroDivisionError(f"ConstantLR: factor=0 made the lr 0, which cannot be scaled back at step "
                                    f"total_iters={self.total_iters}: use a factor > 0 (or end this phase earlier, "
                                    "e.g. with a SequentialLR milestone)")
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr = initial_lr * (1 - epoch / total_iters) ** power up to total_iters, then stays (0 from there); written
    recursively from the current lr, as torch's."""

    _load_checks = {**LRScheduler._load_checks, "total_iters": (check_int, 0)}

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = check_int("PolynomialLR", "total_iters", total_iters, 0)   # 0: a constant lr, as torch
        self.power = check_float("PolynomialLR", "power", power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        decay = ((1.0 - self.last_epoch / self.total_iters) / (1.0 - (self.last_epoch - 1) / self.total_iters)) \
            ** self.power
        return [lr * decay for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter): lr = eta_min + (initial_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2, where
    T_cur counts the steps since the last restart and the period T_i starts at T_0 and is multiplied by T_mult at
    each restart. As torch, its step() does not advance _step_count."""

    _load_checks = {**LRScheduler._load_checks, "T_0": (check_int, 1), "T_i": (check_int, 1), "T_mult": (check_int, 1)}

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        owner = "CosineAnnealingWarmRestarts"
        self.T_0 = _positive_int_as_torch(owner, "T_0", T_0, 1)
        self.T_i = self.T_0
        self.T_mult = _positive_int_as_torch(owner, "T_mult", T_mult, 1)
        if isinstance(eta_min, (bool, np.bool_)) or not isinstance(eta_min, numbers.Real):
            raise ValueError(f"{owner}: eta_min must be a number, got {type(eta_min).__name__} {eta_min!r}")
        self.eta_min = eta_min
        self.T_cur = check_int(owner, "last_epoch", last_epoch, -1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        lo = self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2 for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """The next step: T_cur + 1, restarting (and T_i *= T_mult) when it reaches T_i. step(epoch) jumps to that
        epoch, which may be fractional (torch's `scheduler.step(epoch + i / iters)` once per batch; not
        deprecated, no warning), and later step()s go on from it."""
        if epoch is None and self.last_epoch < 0:   # construction: epoch 0, the start of the first period
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            self._jump_to(epoch)
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            lrs = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, lrs):
            set_lr(group, lr)
        self._last_lr = self._current_lrs()


    def _jump_to(self, epoch):
        """T_i and T_cur at `epoch` (in closed form: the periods T_0, T_0 T_mult, ... summed), as torch."""
        if isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, numbers.Real):
            raise TypeError(f"CosineAnnealingWarmRestarts.step: epoch must be a number, got {type(epoch).__name__}")
        if epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts.step: expected a non-negative epoch, got {epoch}")
        if epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult ** n

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """T_cur may be fractional after step(epoch): a number either way."""
        state = dict(state_dict)
        T_cur = state.pop("T_cur", self.T_cur)
        if isinstance(T_cur, (bool, np.bool_)) or not isinstance(T_cur, (int, np.integer)):
            T_cur = check_float("CosineAnnealingWarmRestarts.load_state_dict", "T_cur", T_cur, 0)
        super().load_state_dict(state)
        self.T_cur = T_cur


class CyclicLR(LRScheduler):
    """The cyclical learning rate policy (Smith 2017), stepped once per batch: lr goes from base_lr to max_lr in
    step_size_up steps and back in step_size_down, the height scaled per cycle (mode 'triangular': 1,
    'triangular2': halved each cycle, 'exp_range': gamma ** step) or by scale_fn; the momentum (SGD, RMSprop) or
    beta1 (Adam) moves the other way between max_momentum and base_momentum."""

    _load_checks = {**LRScheduler._load_checks, "total_size": (_positive,), "step_ratio": (check_float, 0, 1),
                    "scale_mode": (check_choice, ("cycle", "iterations"))}

    def __init__(self, optimizer: Optimizer, base_lr: float | Sequence[float], max_lr: float | Sequence[float],
                 step_size_up: int = 2000, step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float | Sequence[float] = 0.8,
                 max_momentum: float | Sequence[float] = 0.9, last_epoch: int = -1) -> None:
        owner = "CyclicLR"
        _check_optimizer(owner, optimizer)
        number = lambda name, v: check_float(owner, name, v, 0)  # noqa: E731
        base_lrs = _per_group(owner, "base_lr", base_lr, optimizer, number)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                set_lr(group, lr)
        self.max_lrs = _per_group(owner, "max_lr", max_lr, optimizer, number)
        up = _positive(owner, "step_size_up", step_size_up)
        down = up if step_size_down is None else check_float(owner, "step_size_down", step_size_down, 0)
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if scale_fn is None:
            check_choice(owner, "mode", mode, ("triangular", "triangular2", "exp_range"))
        elif not callable(scale_fn):
            raise TypeError(f"{owner}: scale_fn must be callable or None, got {type(scale_fn).__name__}")
        self.mode = mode
        self.gamma = check_float(owner, "gamma", gamma)
        self._scale_fn_custom = scale_fn
        self.scale_mode = check_choice(owner, "scale_mode", scale_mode, ("cycle", "iterations"))
        self._init_scale_mode()
        self.cycle_momentum = check_bool(owner, "cycle_momentum", cycle_momentum)
        if self.cycle_momentum:
            self._init_momentum(optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs   # after the first step, as torch (which took them from the groups' initial_lr)

    def _init_momentum(self, optimizer, base_momentum, max_momentum, last_epoch):
        owner = "CyclicLR"
        if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
            raise ValueError(f"{owner}: cycle_momentum=True needs an optimizer with momentum or betas "
                             f"({type(optimizer).__name__} has neither); pass cycle_momentum=False")
        self.use_beta1 = "betas" in optimizer.defaults
        number = lambda name, v: check_float(owner, name, v, 0)  # noqa: E731
        self.base_momentums = _per_group(owner, "base_momentum", base_momentum, optimizer, number)
        self.max_momentums = _per_group(owner, "max_momentum", max_momentum, optimizer, number)
        if last_epoch == -1:
            for group, top, base in zip(optimizer.param_groups, self.max_momentums, self.base_momentums):
                _set_momentum(group, top, self.use_beta1)
                group["max_momentum"], group["base_momentum"] = top, base

    def _init_scale_mode(self):
        """The built-in modes fix the scale mode (as torch): per cycle for the triangles, per step for exp_range."""
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x: float) -> float:
        """The height's scale at cycle (or step) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> list[float]:
        _warn_outside_step(self)
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        scale_factor = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * scale_factor * scale for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, base, top in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, top - (top - base) * scale_factor * scale, self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """As torch: a callable object scale_fn's attributes, None for a plain function."""
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = None if fn is None or isinstance(fn, types.FunctionType) else dict(vars(fn))
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        fn = state.pop("_scale_fn_custom", None)
        state.pop("_scale_fn_ref", None)   # (torch's, never in its state dicts: a bound method)
        super().load_state_dict(state)
        if fn is not None and self._scale_fn_custom is not None:
            vars(self._scale_fn_custom).update(fn)
        self._init_scale_mode()


def _set_momentum(group, value, use_beta1):
    if use_beta1:
        group["betas"] = (value,) + tuple(group["betas"][1:])
    else:
        group["momentum"] = value


def _check_schedulers(owner, schedulers, optimizer):
    """SequentialLR's and ChainedScheduler's schedulers: at least one, each one of ours (not ReduceLROnPlateau,
    whose step() needs a metric), all of the same optimizer."""
    if isinstance(schedulers, LRScheduler) or not isinstance(schedulers, (list, tuple)):
        raise TypeError(f"{owner}: schedulers must be a list of schedulers, got {type(schedulers).__name__}")
    if not schedulers:
        raise ValueError(f"{owner}: expects at least one scheduler, got none")
    optimizer = optimizer if optimizer is not None else getattr(schedulers[0], "optimizer", None)
    for i, sched in enumerate(schedulers):
        if not isinstance(sched, LRScheduler):
            raise TypeError(f"{owner}: schedulers[{i}] must be a tr.optim.lr_scheduler scheduler, got "
                            f"{type(sched).__name__}")
        if isinstance(sched, ReduceLROnPlateau):
            raise ValueError(f"{owner}: schedulers[{i}] is a ReduceLROnPlateau, whose step() needs a metric")
        if sched.optimizer is not optimizer:
            raise ValueError(f"{owner}: all schedulers must belong to the same optimizer, but schedulers[{i}] "
                             f"({type(sched).__name__}) has another")
    return list(schedulers), optimizer


class _CompositeScheduler(LRScheduler):
    """SequentialLR and ChainedScheduler: their state dicts hold each scheduler's, under '_schedulers'."""

    _not_state = ("optimizer", "_schedulers")
    _load_checks = {"last_epoch": (check_int, 0)}

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers", None)
        if not isinstance(saved, (list, tuple)) or len(saved) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: _schedulers must be a list of "
                             f"{len(self._schedulers)} state dicts, got {saved!r:.60}")
        super().load_state_dict(state)
        for sched, s in zip(self._schedulers, saved):
            sched.load_state_dict(s)


class SequentialLR(_CompositeScheduler):
    """schedulers[0] until milestones[0], then schedulers[1] (restarted at its epoch 0) until milestones[1], and
    so on: e.g. a LinearLR warm-up then a CosineAnnealingLR."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        owner = "SequentialLR"
        _check_optimizer(owner, optimizer)
        self._schedulers, _ = _check_schedulers(owner, schedulers, optimizer)
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__len__"):
            raise TypeError(f"{owner}: milestones must be a list of ints, got {type(milestones).__name__}")
        # in any order, as torch (which bisects them as given: unsorted ones switch schedulers as its code does)
        self._milestones = [check_int(owner, f"milestones[{i}]", m) for i, m in enumerate(milestones)]
        if len(self._milestones) != len(self._schedulers) - 1:
            raise ValueError(f"{owner}: expects one milestone fewer than schedulers, got {len(self._schedulers)} "
                             f"schedulers and {len(self._milestones)} milestones")
        self.last_epoch = check_int(owner, "last_epoch", last_epoch, -1) + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:   # back to the initial lrs, each scheduler's first step undone
            set_lr(group, group["initial_lr"])
        self._undo_first_steps(self)
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo_first_steps(self, sched):
        """As torch's recursive_undo: every scheduler inside (a ChainedScheduler's too) one epoch back."""
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo_first_steps(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self) -> None:
        """The current scheduler's next step; at a milestone, the next scheduler from its epoch 0."""
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._update_lr(0)
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()


class ChainedScheduler(_CompositeScheduler):
    """Steps every scheduler in turn at each step(), each multiplying on the lr the previous one left."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        owner = "ChainedScheduler"
        if optimizer is not None:
            _check_optimizer(owner, optimizer)
        self._schedulers, self.optimizer = _check_schedulers(owner, schedulers, optimizer)
        self._last_lr = self._current_lrs()

    def step(self) -> None:
        """Every scheduler's step, in order."""
        for sched in self._schedulers:
            sched.step()
        self._last_lr = self._current_lrs()


__all__ += ["MultiplicativeLR", "ConstantLR", "PolynomialLR", "CosineAnnealingWarmRestarts", "CyclicLR",
            "SequentialLR", "ChainedScheduler"]
