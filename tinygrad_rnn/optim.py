"""Optimizers: SGD, Adam, AdamW, Adagrad, RMSprop, NAdam, RAdam, Adamax, Adadelta, ASGD and Rprop, with PyTorch
2.x's update rules (learning-rate schedulers: optim_lr_scheduler.py, as tr.optim.lr_scheduler; L-BFGS, which
evaluates the loss itself: optim_lbfgs.py, as tr.optim.LBFGS; Adafactor, Muon and SparseAdam: optim_matrix.py;
weight averaging: optim_swa_utils.py, as tr.optim.swa_utils).

An optimizer sees only Tensors' `._data` (a float32/float64 ndarray) and their gradient arrays (`_grad`: the
memory `p.grad`, a Tensor, shares; of the same shape and dtype, or None). It knows nothing of the tape.

The invariants every optimizer here keeps:
  * `step()` updates each `p._data` in place: the array keeps its identity, shape and dtype
    (a float32 parameter stays float32; hyperparameters are used as Python floats, which numpy
    casts to the array's dtype instead of upcasting it).
  * the gradient is only read, never written: it may be shared, or still be needed by the caller.
  * A parameter whose grad is None is skipped, and its state does not advance.
  * The per-parameter state (moment buffers, step counts) lives in arrays this module allocated,
    so it is updated in place. `state_dict()` hands it out as Tensors sharing that memory, as torch's
    (deep-copy it for a snapshot) and `load_state_dict()` takes copies in, so a checkpoint written
    mid-run and loaded later resumes bit-exactly.

Each update follows torch's single-tensor ("foreach=False") implementation operation by
operation, so float64 results agree with torch to rounding (torch's vectorised kernels use fused
multiply-adds where numpy does not, hence "to rounding" rather than bit-exactly).

SGD and Adam/AdamW take torch's `fused=` argument: by default (None, or True) each parameter's update is one
compiled pass over its elements (kernels/optimizers.py), large parameters split over the library's threads;
fused=False runs the numpy code below, the kernels' slow twin, which they match bit for bit
(tests/kernels/test_step_kernels.py). A parameter whose arrays are not contiguous takes the numpy code either way.
The others (Adagrad, RMSprop, NAdam, RAdam, Adamax, Adadelta, ASGD, Rprop) step in numpy only.

Each constructor takes torch 2.13's arguments in torch's order (foreach and, for Adagrad, fused change no number
here; capturable=True is taken and its step() raises torch's AssertionError, CUDA graphs needing CUDA parameters;
differentiable=True is refused), params as torch's (Tensors, group dicts, or (name, Tensor) pairs, the names kept
in the group's 'param_names'), a 1-element Tensor lr kept as torch keeps it (computed with in its dtype), and the
param groups and state dicts have
torch's layout: the same group keys, 'state' keyed by parameter index with torch's entry names, each buffer a Tensor
sharing the optimizer's memory and the step count a 0-d float32 Tensor (torch's float32 tensor). NAdam's
mu_product and ASGD's eta and mu are 0-d float32 Tensors (float64 when the default dtype is), which a load casts
to the parameter's dtype, as torch's load_state_dict casts them. A torch optimizer's state_dict() loads here (its
tensors become arrays) and ours loads into torch's once its Tensors are made torch's (torch.tensor(v.numpy())).
As in torch, a group's hyperparameters are range-checked at construction, add_param_group and load_state_dict
(out of range: a ValueError starting with torch's words,
"Invalid learning rate: ..."); a value set in param_groups afterwards (a negative lr, say) is used as given,
only its type checked at step().
"""
from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .kernels import blas
from .kernels import optimizers as kernels
from .tensor import Tensor, _zeroed_grad, get_default_dtype

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad"]


# ----------------------------------------------------------------------------- argument checks
def _number(name, value):
    """`value` as a Python float (so it cannot upcast a float32 array), or a TypeError naming it."""
    if type(value) is float:   # (what every step's check sees: nothing more to ask)
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:  # what np.savez makes of a number
        value = value.item()
    if isinstance(value, Tensor) or (callable(getattr(value, "numel", None)) and callable(getattr(value, "item", None))
                                     and not isinstance(value, np.ndarray)):
        # torch takes a 1-element Tensor lr (its value checked here); a torch tensor comes in torch's state dicts
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element, got a Tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def _check_duplicates(params, groups):
    """torch's rules: a parameter listed twice in one group is a warning (torch's words; step() then updates it once
    per listing, as torch's does), one that is in another group already a ValueError."""
    ids = [id(p) for p in params]
    if len(set(ids)) != len(ids):
        warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will cause an "
                      "error; see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=4)
    if not {id(p) for g in groups for p in g["params"]}.isdisjoint(ids):
        raise ValueError("some parameters appear in more than one parameter group")


def _learning_rate(value, ranges=True):
    """A group's lr: a number as a float; a 1-element Tensor kept as torch keeps it (a scheduler writes into it),
    its value checked (a torch tensor, from torch's state dict, made ours)."""
    number = _at_least("lr", value, 0, ranges)
    if isinstance(value, Tensor):
        return value
    if callable(getattr(value, "tolist", None)) and callable(getattr(value, "numel", None)) \
            and not isinstance(value, np.ndarray):
        return Tensor(np.array(value.tolist(), dtype=str(value.dtype).removeprefix("torch.")))
    return number


def _lr_of(group):
    """The group's lr at a step: a float, or a Tensor lr's value as a numpy scalar of its dtype, so that what a step
    computes from it (lr / bias_correction, 1 - lr * weight_decay) is computed in that dtype, as torch computes it
    with its tensor."""
    lr = group["lr"]
    return lr._data.reshape(-1)[0] if isinstance(lr, Tensor) else float(lr)


# torch's words for a hyperparameter out of range ("Invalid learning rate: ..."), which our messages start with
_TORCH_LABELS = {"lr": "learning rate", "eps": "epsilon value", "betas[0]": "beta parameter at index 0",
                 "betas[1]": "beta parameter at index 1"}


def _out_of_range(name, requirement, value):
    label = _TORCH_LABELS.get(name, f"{name} value")
    return ValueError(f"Invalid {label}: {name} must be {requirement}, got {value:g}")


def _at_least(name, value, low, ranges=True):
    """`value` as a float, and (ranges=True: at construction, not at step(), as torch) at least `low`."""
    value = _number(name, value)
    if ranges and not value >= low:  # written this way so nan is refused too
        raise _out_of_range(name, f">= {low:g}", value)
    return value


def _unit_interval(name, value, ranges=True, closed=False):
    """`value` as a float, in [0, 1) (closed=True: [0, 1], Adadelta's rho)."""
    value = _number(name, value)
    if ranges and not (0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0):
        raise _out_of_range(name, "in [0, 1]" if closed else "in [0, 1)", value)
    return value


def _betas(group, ranges):
    """A group's betas as a pair of floats, each in [0, 1) (Adam, NAdam, RAdam, Adamax)."""
    betas = group["betas"]
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__"):
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    if len(betas) != 2:   # (torch takes three at construction, then fails to unpack them at step(): a ValueError)
        raise ValueError(f"betas must be a pair (beta1, beta2), got {len(betas)} values: {betas!r}")
    group["betas"] = (_unit_interval("betas[0]", betas[0], ranges), _unit_interval("betas[1]", betas[1], ranges))


def _adam_ranges(group, ranges):
    """lr, eps, betas and weight_decay, checked in torch's order (Adam, AdamW, NAdam, RAdam, Adamax)."""
    group["lr"] = _learning_rate(group["lr"], ranges)
    group["eps"] = _at_least("eps", group["eps"], 0, ranges)
    _betas(group, ranges)
    group["weight_decay"] = _at_least("weight_decay", group["weight_decay"], 0, ranges)


def _count_step(state, p, *zeroed):
    """The parameter's step count after this step; at its first, its state's step and the named buffers
    (zeros shaped as p) made."""
    if not state:
        state.update(step=0, **{name: np.zeros_like(p._data) for name in zeroed})
    state["step"] += 1
    return state["step"]


def _flag(name, value):
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _as_param_list(params, where):
    """A group's params as a list of leaf tensors, with errors that say what was passed instead."""
    if hasattr(params, "data") and hasattr(params, "grad"):  # a single tensor: torch accepts it too
        params = [params]
    elif isinstance(params, (set, frozenset)):
        raise TypeError(f"{where} must be an ordered collection (a list), not a set: a set's order changes "
                        "between runs, and state_dict() refers to parameters by position")
    elif hasattr(params, "parameters") and callable(params.parameters):
        raise TypeError(f"{where} got a {type(params).__name__}; pass its parameters: model.parameters()")
    else:
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{where} must be an iterable of Tensors, got {type(params).__name__}") from None
    for i, p in enumerate(params):
        if not (hasattr(p, "data") and hasattr(p, "grad")):
            raise TypeError(f"{where}[{i}] must be a Tensor (with ._data and .grad), got {type(p).__name__}")
        if not (isinstance(p._data, np.ndarray) and p._data.dtype in (np.float32, np.float64)):
            raise TypeError(f"{where}[{i}]._data must be a float32 or float64 ndarray, got "
                            f"{getattr(p._data, 'dtype', type(p._data).__name__)}")
        if not getattr(p, "is_leaf", True):
            raise ValueError(f"{where}[{i}] is not a leaf tensor (it was computed from others): an optimizer "
                             "updates leaves; pass the parameters themselves, or .detach() a copy")
    return params


def _split_names(params, where):
    """A group's params and their names: torch takes (name, Tensor) pairs (model.named_parameters()) and keeps the
    names in the group's 'param_names'; names for all or for none."""
    if (hasattr(params, "data") and hasattr(params, "grad")) or isinstance(params, (set, frozenset, dict)) \
            or (hasattr(params, "parameters") and callable(params.parameters)):
        return params, None   # (_as_param_list says what is wrong with a set or a module)
    try:
        params = list(params)
    except TypeError:
        return params, None
    named = [isinstance(p, tuple) for p in params]
    if not any(named):
        return params, None
    if not all(named):
        raise ValueError(f"all optimizer params should be with/without names (torch's words): {where} mixes "
                         f"(name, Tensor) pairs ({sum(named)}) and Tensors ({len(named) - sum(named)})")
    for i, pair in enumerate(params):
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise TypeError(f"{where}[{i}] must be a (name, Tensor) pair, got {pair!r:.80}")
    return [p for _, p in params], [name for name, _ in params]


def _grad_of(p, index):
    """p's gradient array (p._grad, the memory p.grad shares) after checking it can update p._data without a silent
    cast or broadcast (p._data may have been rebound since the gradient was made)."""
    g = p._grad
    if g.shape != p._data.shape or g.dtype != p._data.dtype:
        raise ValueError(f"parameter {index}: grad must match data, expected shape {p._data.shape} dtype "
                         f"{p._data.dtype}, got shape {tuple(g.shape)} dtype {g.dtype}")
    return g


# torch's implementation switches, kept in the param groups as torch keeps them so that state dicts load across:
# foreach (torch's multi-tensor kernels) and, for Adagrad and RMSprop, fused change nothing here (one update per
# parameter, on the CPU); capturable=True (CUDA graphs) is kept and refused at step(), as torch; SGD's and Adam's
# fused (None, the default, or True) runs the compiled update, fused=False the numpy one (the same numbers, bit for
# bit)
TORCH_FLAGS = {"foreach": None, "capturable": False, "differentiable": False, "fused": None}


def _torch_flags(names, **given):
    """The defaults of the torch switches an optimizer takes (`names`), from the constructor's arguments."""
    if given.get("fused") is True and given.get("foreach") is True:
        raise RuntimeError("fused and foreach cannot be True together (as torch)")
    return {name: given[name] for name in names}


def _not_capturable(index):
    """torch's error (an AssertionError, at the step) for capturable=True on parameters that are not on a GPU."""
    return AssertionError(f"param_groups[{index}]: capturable=True (torch's CUDA-graph mode) needs the parameters and "
                          "state steps on a CUDA device; here every tensor is on the CPU: use capturable=False")


def _check_torch_flags(group):
    for key in ("foreach", "fused"):
        if key in group and group[key] is not None:
            group[key] = _flag(key, group[key])
    if "capturable" in group:
        group["capturable"] = _flag("capturable", group["capturable"])
    if "differentiable" in group and _flag("differentiable", group["differentiable"]):
        raise ValueError("differentiable=True (torch's autograd through the update) is not implemented: an "
                         "optimizer step is not recorded on the tape")


FUSED_SPLIT_SIZE = 1 << 18   # elements per thread, at least, before a fused update is split over threads


def _flat(p, grad, state):
    """1-D views of p, grad and the state buffers for a fused kernel, or None when p or a buffer is not
    C-contiguous (the numpy code then runs: a flat copy would be updated instead of the array). The grad is
    only read: a C-ordered copy of it will do (a transpose's gradient comes in the other order)."""
    if not all(a.flags.c_contiguous for a in [p] + state):
        return None
    return [a.reshape(-1) for a in [p, np.ascontiguousarray(grad)] + state]


def _run_fused(update, flat, args):
    """update(*flat, *args) over all elements: on the calling thread, or for a large parameter on slices,
    one per thread of the library's pool (the kernels release the GIL)."""
    size = flat[0].shape[0]
    parts = size // FUSED_SPLIT_SIZE
    if parts >= 2:   # (the thread count is asked only then: a small parameter's update is a few microseconds)
        parts = min(blas.num_threads(), parts)
    if parts < 2:
        update(*flat, *args)
        return
    edges = [size * k // parts for k in range(parts + 1)]
    blas.on_threads(lambda start, stop, _: update(*[a[start:stop] for a in flat], *args),
                    list(zip(edges, edges[1:])))


# ----------------------------------------------------------------------------- the base class
class Optimizer:
    """Holds `param_groups` (a list of dicts: 'params' plus the hyperparameters) and `state`
    (a dict from parameter to its buffers). Subclasses define `defaults`, `_check_group` and
    `_update(p, grad, state, group)`."""

    _state_keys = ()  # names of the state entries a subclass keeps (checked on load)
    _scalar_state_keys = ()  # those of them that are 0-d (the others have the parameter's shape)

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state = {}  # keyed by the parameter object itself (hashed by identity), as in torch
        self.param_groups = []
        if hasattr(params, "data") and hasattr(params, "grad"):
            raise TypeError("params must be an iterable of Tensors or of dicts, got a single Tensor; "
                            "wrap it in a list: [tensor]")
        groups, as_dicts = _as_param_list_or_groups(params)
        if not groups:
            raise ValueError("params is empty: the optimizer got no parameters to optimize")
        for group in groups:
            self._add_group(group, as_dicts)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a dict {'params': [...], <hyperparameter>: value, ...}; missing hyperparameters take
        the optimizer's defaults."""
        self._add_group(param_group, True)

    def _add_group(self, param_group, is_dict):
        # errors about a user's group dict say which group; errors about plain arguments do not
        prefix = f"param_groups[{len(self.param_groups)}]" if is_dict else ""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise KeyError(f"{prefix or 'param_group'} must have a 'params' entry")   # (torch's KeyError)
        where = prefix + "['params']" if is_dict else "params"
        params, names = _split_names(param_group["params"], where)
        group = {"params": _as_param_list(params, where)}
        for key, value in param_group.items():
            if key not in ("params", "param_names"):
                group[key] = value
        if names is not None:
            group["param_names"] = names
        self._check_names_as_others(group)
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        if is_dict:
            _checked(self._check_group, group, prefix)
        else:
            self._check_group(group, True)
        _check_duplicates(group["params"], self.param_groups)
        self.param_groups.append(group)

    def _check_names_as_others(self, group):
        """torch's rule: the groups all have names (param_names) or none has."""
        for other in self.param_groups:
            if ("param_names" in other) != ("param_names" in group):
                named = "param_names" in group
                raise ValueError("all optimizer param groups should be with/without names (torch's words): cannot "
                                 f"add a param group {'with' if named else 'without'} names to an optimizer whose "
                                 f"groups are {'without' if named else 'with'} names")

    def _check_group(self, group, ranges=True):
        """Validate and normalise a group's hyperparameters in place (subclasses); with ranges=False only their
        types (at a step: torch uses what it is given)."""
        raise NotImplementedError

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (set_to_none=True), or zero each one in place, as torch's: p.grad keeps its
        object, and a Tensor that shares its memory sees the zeros."""
        set_to_none = _flag("set_to_none", set_to_none)   # "no" is truthy: never read as True
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None:   # (the array p.grad wraps: no need of the .grad setter's checks)
                    p._grad = None if set_to_none else _zeroed_grad(p._grad)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. `closure`, if given, is called first (it
        should recompute the loss and gradients) and its result returned."""
        self._opt_called = True   # (what a scheduler's first step() looks for, as torch's)
        loss = closure() if closure is not None else None
        for i, group in enumerate(self.param_groups):   # edited since? ("0.1", a missing key): before any update
            _checked(self._check_group, group, f"param_groups[{i}]", ranges=False)
            if group.get("capturable") and any(p._grad is not None for p in group["params"]):
                raise _not_capturable(i)
        self._update_all()
        return loss

    @np.errstate(all="ignore")   # inf or nan gradients: inf or nan parameters quietly, as torch's (numpy would warn)
    def _update_all(self):
        index = 0
        for group in self.param_groups:
            self._stepping = {}   # what the group's parameters share at this step (_group_constants)
            for p in group["params"]:
                if p._grad is not None:
                    self._update(p, _grad_of(p, index), self.state.setdefault(p, {}), group)
                    p.bump_version()  # a graph recorded before this step can no longer backpropagate
                index += 1

    def _update(self, p, grad, state, group):
        raise NotImplementedError

    # -- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """A plain dict a checkpoint can save: {'state': {index: {name: Tensor or number}},
        'param_groups': [{hyperparameter: value, 'params': [index, ...]}]}. Parameters are referred
        to by their position across all groups, as in torch. The buffers are Tensors sharing the state's
        memory, as torch's (`copy.deepcopy` the dict for a snapshot that must not change under training)."""
        index_of, groups, start = {}, [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            # torch's numbering: by position across the groups; a parameter listed twice in a group (torch's
            # warning) numbered by its last listing
            index_of.update({id(p): i for i, p in enumerate(group["params"], start) if id(p) not in index_of})
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(group["params"])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index_of[id(p)]] = {k: _saved_value(k, v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by state_dict() for the same parameters (same
        groups, same order, same shapes). Arrays are copied in and cast to each parameter's dtype.
        Integer-like string keys (what JSON makes of the indices) are accepted."""
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"state_dict must be a dict with keys 'state' and 'param_groups', got {got}")
        if not isinstance(state_dict["state"], dict):
            raise ValueError(f"state_dict['state'] must be a dict, got {type(state_dict['state']).__name__}")
        new_groups, param_of = self._loaded_groups(state_dict["param_groups"])
        new_state = {}
        for key, entry in state_dict["state"].items():
            index = _saved_index("state_dict['state'] key", key)
            if index not in param_of:
                raise ValueError(f"state_dict['state'] has an entry for parameter {index}, which no group of "
                                 "the state_dict lists")
            new_state[param_of[index]] = self._loaded_state(entry, index, param_of[index])
        self.param_groups[:] = new_groups
        self.state = new_state

    def _loaded_groups(self, saved_groups):
        """The param groups of a state dict, checked, with this optimizer's parameters, and the map from a
        saved parameter index to the parameter (pairing the groups in order, as torch)."""
        if not isinstance(saved_groups, (list, tuple)) or not all(
                isinstance(g, dict) and isinstance(g.get("params"), (list, tuple)) for g in saved_groups):
            raise ValueError("state_dict['param_groups'] must be a list of dicts, each with a 'params' list, got "
                             f"{saved_groups!r:.200}")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"state_dict has {len(saved_groups)} parameter groups, this optimizer has "
                             f"{len(self.param_groups)}")
        param_of, new_groups = {}, []
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"param_groups[{i}] has {len(saved['params'])} parameters in the state_dict, "
                                 f"{len(group['params'])} in this optimizer")
            missing = sorted(set(self.defaults) - set(saved) - set(TORCH_FLAGS))
            if missing:
                raise ValueError(f"state_dict's param_groups[{i}] lacks {missing}, which {type(self).__name__} "
                                 "needs (a state dict from another optimizer?)")
            new = {k: v for k, v in saved.items() if k != "params"}
            for k in set(self.defaults) & set(TORCH_FLAGS) - set(saved):   # (our state dicts before they had them)
                new[k] = self.defaults[k]
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:   # (torch keeps the optimizer's names)
                new["param_names"] = group["param_names"]
            self._check_group(new, True)
            new_groups.append(new)
            param_of.update(zip((_saved_index(f"state_dict['param_groups'][{i}]['params']", k)
                                 for k in saved["params"]), group["params"]))
        return new_groups, param_of

    def _loaded_state(self, entry, index, p):
        """One parameter's saved state, checked against p: the step an int, each buffer p's dtype and shape."""
        if not isinstance(entry, dict):
            raise ValueError(f"state_dict['state'][{index}] must be a dict of buffers, got {type(entry).__name__}")
        unknown = set(entry) - set(self._state_keys)
        if unknown:
            raise ValueError(f"state_dict['state'][{index}] has entries {sorted(unknown)} that "
                             f"{type(self).__name__} does not keep (a state dict from another optimizer?)")
        loaded = {}
        for name, value in entry.items():
            if name == "step":  # an int, even if a checkpoint format made it a float or 0-d array
                value = _saved_step(f"state_dict['state'][{index}]['step']", value)
            elif name in self._scalar_state_keys:
                value = self._loaded_scalar(f"state_dict['state'][{index}]['{name}']", value, p)
            else:
                # a buffer, as our own array in p's dtype: updates write into it in place, so
                # it may not stay a number (what a format may make of a 0-d parameter's buffer)
                # (np.asarray first: a torch tensor, from torch's state dict, converts without numpy's warning)
                array = np.asarray(value)
                if array.dtype.kind not in "fiu":   # np.array(None, float32) is nan, silently
                    raise TypeError(f"state_dict['state'][{index}]['{name}'] must be numbers, got "
                                    f"{type(value).__name__} of dtype {array.dtype}")
                value = np.array(array, dtype=p._data.dtype, copy=True)
                if value.shape != p._data.shape:
                    raise ValueError(f"state_dict['state'][{index}]['{name}'] has shape {tuple(value.shape)}, "
                                     f"the parameter has shape {p._data.shape}")
            loaded[name] = value
        return loaded

    @staticmethod
    def _loaded_scalar(where, value, p):
        """A saved 0-d state entry (NAdam's mu_product, ASGD's eta and mu) as a 0-d array of p's dtype: torch's
        load_state_dict casts these to the parameter's dtype too (they are float32 before a load), and the
        later arithmetic is done in that dtype, on both sides."""
        array = np.asarray(value)
        if array.dtype.kind not in "fiu" or array.ndim != 0:
            raise ValueError(f"{where} must be a number (a 0-d array), got {type(value).__name__} of shape "
                             f"{tuple(array.shape)}")
        return np.array(array, dtype=p._data.dtype)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"


def _checked(check_group, group, prefix, ranges=True):
    """check_group(group, ranges), its errors prefixed with which group: at construction, and at each step(), since
    a group's hyperparameters may be edited in between (where torch fails inside its update, naming nothing). At a
    step only the types are checked (ranges=False): torch takes a negative lr set since, and so do we."""
    try:
        check_group(group, ranges)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{prefix}: {e}") from None
    except KeyError as e:
        raise KeyError(f"{prefix} lacks the hyperparameter {e}, which {type(check_group.__self__).__name__} "
                       "needs") from None


def _saved_value(name, value):
    """A state entry as torch's state_dict() gives it: a buffer a Tensor sharing the optimizer's memory (as torch
    hands out its state tensors themselves: a checkpoint that must not change under training is deep-copied),
    the step count a 0-d float32 Tensor (torch's step tensor; ours is an int, so this one is not shared)."""
    if name == "step":
        return Tensor._make(np.array(value, dtype=np.float32), False)
    return _saved_tensor(value)


def _saved_tensor(value):
    """An array of the state as a Tensor sharing its memory, a numpy float (a 0-d result kept as a number) a 0-d
    Tensor of its dtype, as torch keeps 0-d tensors there; anything else (an int, a float, None) as it is."""
    if isinstance(value, np.ndarray):
        return Tensor._make(value, False)
    if isinstance(value, np.floating):
        return Tensor._make(np.array(value), False)
    return value


def _saved_index(where, key):
    """A parameter index of a state dict: an int, or a string of one (what JSON makes of the keys)."""
    if isinstance(key, str) and key.strip().lstrip("-").isdigit():
        key = int(key)
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
        raise ValueError(f"{where} must hold parameter indices (ints), got {type(key).__name__} {key!r}")
    return int(key)


def _saved_step(where, value):
    """A saved step count: a whole number >= 0 (a float or 0-d array of one, as a format may store it)."""
    arr = np.asarray(value)
    if arr.ndim != 0 or arr.dtype.kind not in "fiu" or not np.isfinite(arr) or arr != np.round(arr) or arr < 0:
        raise ValueError(f"{where} must be a whole number >= 0, got {value!r}")
    return int(arr.item())


def _as_param_list_or_groups(params):
    """The constructor's `params`: an iterable of tensors (one group) or of group dicts."""
    if isinstance(params, (set, frozenset)):
        raise TypeError("params must be an ordered collection (a list), not a set: a set's order changes "
                        "between runs, and state_dict() refers to parameters by position")
    if hasattr(params, "parameters") and callable(params.parameters):
        raise TypeError(f"params got a {type(params).__name__}; pass its parameters: model.parameters()")
    try:
        items = list(params)
    except TypeError:
        raise TypeError(f"params must be an iterable of Tensors or of dicts, got {type(params).__name__}") from None
    if items and all(isinstance(item, dict) for item in items):
        return items, True
    if any(isinstance(item, dict) for item in items):
        raise TypeError("params must be all Tensors or all param-group dicts, not a mixture")
    return ([{"params": items}] if items else []), False


# ----------------------------------------------------------------------------- SGD
class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, as torch.optim.SGD.

    With g the gradient (negated if maximize), per step:
        g <- g + weight_decay * p                      (if weight_decay != 0)
        b <- g on the first step, else momentum * b + (1 - dampening) * g   (if momentum != 0)
        g <- g + momentum * b if nesterov else b       (if momentum != 0)
        p <- p - lr * g
    fused (None or True, the default; or False): one compiled pass per parameter, or the numpy code below
    (the same numbers, bit for bit; see the module docstring).
    """

    _state_keys = ("momentum_buffer",)

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        flags = _torch_flags(("foreach", "differentiable", "fused"), foreach=foreach, differentiable=differentiable,
                             fused=fused)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, **flags))

    def _check_group(self, group, ranges=True):
        group["lr"] = _learning_rate(group["lr"], ranges)
        group["momentum"] = _at_least("momentum", group["momentum"], 0, ranges)
        group["dampening"] = _number("dampening", group["dampening"])
        group["weight_decay"] = _at_least("weight_decay", group["weight_decay"], 0, ranges)
        group["nesterov"] = _flag("nesterov", group["nesterov"])
        group["maximize"] = _flag("maximize", group["maximize"])
        _check_torch_flags(group)
        if ranges and group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0, got momentum="
                             f"{group['momentum']:g} and dampening={group['dampening']:g}")

    def _update(self, p, grad, state, group):
        # float() again: a scheduler may have stored a numpy scalar in the group since it was checked
        lr, momentum, weight_decay = _lr_of(group), float(group["momentum"]), float(group["weight_decay"])
        if group["fused"] is not False and self._fused_update(p, grad, state, group, lr, momentum, weight_decay):
            return
        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            g = g + weight_decay * p._data
        if momentum != 0:
            buf = self._momentum_buffer(p, state)
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, copy=True)  # g may be p.grad itself
            else:
                buf *= momentum
                buf += (1 - float(group["dampening"])) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p._data -= lr * g

    def _momentum_buffer(self, p, state):
        """p's momentum buffer as this step found it: torch gathers the buffers before it updates, so a parameter
        listed twice in a group (torch's warning) without one gets a new buffer at each listing, the last kept."""
        buf = state.get("momentum_buffer")
        made = self._stepping.setdefault("momentum buffers made", set())
        if buf is None or id(p) in made:
            made.add(id(p))
            return None
        return buf

    def _fused_update(self, p, grad, state, group, lr, momentum, weight_decay):
        """The update above as one compiled pass (kernels.sgd_update); False if the arrays do not allow it."""
        kind, buf = kernels.NO_MOMENTUM, p._data   # without momentum the kernel never reads buf
        if momentum != 0:
            buf = self._momentum_buffer(p, state)
            kind = kernels.MOMENTUM if buf is not None else kernels.FIRST_MOMENTUM
            if buf is None:
                buf = np.empty_like(p._data)
        flat = _flat(p._data, grad, [buf])
        if flat is None:
            return False
        if kind == kernels.FIRST_MOMENTUM:
            state["momentum_buffer"] = buf
        dt = p._data.dtype.type
        h = _group_constants(self, dt, _sgd_constants, lr, weight_decay, momentum, float(group["dampening"]), dt)
        _run_fused(kernels.sgd_update, flat, (h, group["maximize"], weight_decay != 0, kind, group["nesterov"]))
        return True


def _sgd_constants(lr, weight_decay, momentum, dampening, dt):
    """sgd_update's h, each cast to p's dtype as numpy would cast the Python float."""
    return dt(lr), dt(weight_decay), dt(momentum), dt(1 - dampening)


def _group_constants(optimizer, key, make, *values):
    """make(*values) for the group being stepped, made once per key (the dtype, and for Adam the step
    count) for all of its parameters: the kernels' hyperparameters as numpy scalars of p's dtype are the
    same for each, and making them was about half of a small parameter's update. Optimizer.step starts an
    empty memo for each group (its hyperparameters cannot change within one step())."""
    memo = optimizer._stepping
    found = memo.get(key)
    if found is None:
        found = memo[key] = make(*values)
    return found


# ----------------------------------------------------------------------------- Adam and AdamW
class Adam(Optimizer):
    """Adam (Kingma & Ba), as torch.optim.Adam; with decoupled_weight_decay=True it is AdamW.

    With g the gradient (negated if maximize) and t the parameter's step count (from 1), per step:
        p <- p * (1 - lr * weight_decay)                          (AdamW)
        g <- g + weight_decay * p                                 (Adam, if weight_decay != 0)
        m <- m + (1 - beta1) * (g - m)                            (torch's lerp)
        v <- beta2 * v + (1 - beta2) * g * g
        v_hat <- max(v_hat, v), and use v_hat for v below         (if amsgrad)
        p <- p - (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    fused (None or True, the default; or False): one compiled pass per parameter, or the numpy code below
    (the same numbers, bit for bit; see the module docstring).
    """

    _state_keys = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        flags = _torch_flags(("foreach", "capturable", "differentiable", "fused"), foreach=foreach,
                             capturable=capturable, differentiable=differentiable, fused=fused)
        _check_tensor_hyperparameters(lr, betas, foreach and not capturable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, decoupled_weight_decay=decoupled_weight_decay, **flags))

    def _check_group(self, group, ranges=True):
        _adam_ranges(group, ranges)
        group["amsgrad"] = _flag("amsgrad", group["amsgrad"])
        group["maximize"] = _flag("maximize", group["maximize"])
        group["decoupled_weight_decay"] = _flag("decoupled_weight_decay", group["decoupled_weight_decay"])
        _check_torch_flags(group)

    def _update(self, p, grad, state, group):
        lr, eps, weight_decay = _lr_of(group), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        step = _count_step(state, p, "exp_avg", "exp_avg_sq")
        if group["amsgrad"] and "max_exp_avg_sq" not in state:  # amsgrad switched on mid-run: the max starts here
            state["max_exp_avg_sq"] = np.zeros_like(p._data)
        if group["fused"] is not False and self._fused_update(p, grad, state, group, step):
            return
        m, v = state["exp_avg"], state["exp_avg_sq"]

        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p._data *= 1 - lr * weight_decay
            else:
                g = g + weight_decay * p._data

        # torch's lerp(m, g, w): m + w * (g - m) for small w, else g - (g - m) * (1 - w), the form
        # that is exact at w = 1
        w = 1 - beta1
        if abs(w) < 0.5:
            m += w * (g - m)
        else:
            m[...] = g - (g - m) * (1 - w)
        v *= beta2
        v += (1 - beta2) * g * g

        # the bias corrections are Python floats (float64), as in torch, whatever p's dtype
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = np.sqrt(v)
        denom /= bias_correction2_sqrt
        denom += eps
        update = -step_size * m
        update /= denom
        p._data += update

    def _fused_update(self, p, grad, state, group, step):
        """The update above as one compiled pass (kernels.adam_update); False if the arrays do not allow it."""
        m, v = state["exp_avg"], state["exp_avg_sq"]
        flat = _flat(p._data, grad, [m, v, state.get("max_exp_avg_sq", v)])
        if flat is None:
            return False
        lr, eps, weight_decay = _lr_of(group), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        kind = kernels.NO_DECAY if weight_decay == 0 else \
            kernels.DECOUPLED_DECAY if group["decoupled_weight_decay"] else kernels.L2_DECAY
        w = 1 - beta1
        dt = p._data.dtype.type
        h = _group_constants(self, (step, dt), _adam_constants, lr, eps, weight_decay, beta1, beta2, step, dt)
        _run_fused(kernels.adam_update, flat, (h, group["maximize"], kind, group["amsgrad"], abs(w) < 0.5))
        return True


def _check_tensor_hyperparameters(lr, betas, foreach_only):
    """torch's Adam/AdamW refusals of Tensor hyperparameters (ValueErrors, in torch's words): a Tensor lr or beta with
    foreach=True and capturable=False (torch's multi-tensor code takes numbers only), and betas half Tensors. (A
    1-element Tensor is otherwise used as its value, here as in torch.)"""
    if isinstance(lr, Tensor) and foreach_only:
        raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True: pass a number, "
                         f"got a Tensor lr={lr!r:.60}")
    if isinstance(betas, (tuple, list)) and len(betas) == 2:
        tensors = [isinstance(b, Tensor) for b in betas]
        if any(tensors) and not all(tensors):
            raise ValueError(f"betas must be either both floats or both Tensors, got {betas!r:.80}")
        for i, is_tensor in enumerate(tensors):
            if is_tensor and foreach_only:
                raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True: "
                                 "pass numbers")


def _adam_constants(lr, eps, weight_decay, beta1, beta2, step, dt):
    """adam_update's h: the same Python floats as the numpy code above, each cast to p's dtype as numpy
    would cast it."""
    w = 1 - beta1
    return (dt(1 - lr * weight_decay), dt(weight_decay), dt(w), dt(1 - w), dt(beta2), dt(1 - beta2),
            dt(-(lr / (1 - beta1 ** step))), dt((1 - beta2 ** step) ** 0.5), dt(eps))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW: the parameter
    shrinks by a factor (1 - lr * weight_decay) before the Adam step, and the decay never enters
    the moments. Note the default weight_decay is 1e-2, as in torch."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False, foreach: bool | None = None,
                 capturable: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def _check_group(self, group, ranges=True):
        group["decoupled_weight_decay"] = True  # a loaded Adam state dict must not turn AdamW into Adam
        super()._check_group(group, ranges)


# ----------------------------------------------------------------------------- Adagrad
class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), as torch.optim.Adagrad.

    With g the gradient (negated if maximize), t the parameter's step count (from 1), and the
    accumulator s starting at initial_accumulator_value, per step:
        g <- g + weight_decay * p                          (if weight_decay != 0)
        s <- s + g * g
        p <- p - (lr / (1 + (t - 1) * lr_decay)) * g / (sqrt(s) + eps)
    """

    _state_keys = ("step", "sum")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 foreach: bool | None = None, *, maximize: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        flags = _torch_flags(("foreach", "differentiable", "fused"), foreach=foreach, differentiable=differentiable,
                             fused=fused)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize, **flags))
        # as torch, every parameter's state exists from the start (a state dict of ours then loads into torch's,
        # which expects it); a parameter without a gradient still does not advance
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, self.state.setdefault(p, {}), group)

    def _init_state(self, p, state, group):
        state["step"] = 0
        state["sum"] = np.full_like(p._data, float(group["initial_accumulator_value"]))

    def _check_group(self, group, ranges=True):
        group["lr"] = _learning_rate(group["lr"], ranges)
        group["lr_decay"] = _at_least("lr_decay", group["lr_decay"], 0, ranges)
        group["weight_decay"] = _at_least("weight_decay", group["weight_decay"], 0, ranges)
        group["initial_accumulator_value"] = _at_least("initial_accumulator_value",
                                                       group["initial_accumulator_value"], 0, ranges)
        group["eps"] = _at_least("eps", group["eps"], 0, ranges)
        group["maximize"] = _flag("maximize", group["maximize"])
        _check_torch_flags(group)

    def _update(self, p, grad, state, group):
        lr, weight_decay = _lr_of(group), float(group["weight_decay"])
        if not state:   # (a group added by add_param_group)
            self._init_state(p, state, group)
        state["step"] = step = state["step"] + 1
        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            g = g + weight_decay * p._data
        clr = lr / (1 + (step - 1) * float(group["lr_decay"]))
        s = state["sum"]
        s += g * g
        std = np.sqrt(s)
        std += float(group["eps"])
        update = -clr * g
        update /= std
        p._data += update


# ----------------------------------------------------------------------------- RMSprop
def _lerp_(a, b, w):
    """a <- torch.lerp(a, b, w) in place: a + w * (b - a) for small w, else b - (b - a) * (1 - w),
    the form that is exact at w = 1 (as in Adam above)."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), as torch.optim.RMSprop.

    With g the gradient (negated if maximize), per step:
        g <- g + weight_decay * p                          (if weight_decay != 0)
        v <- alpha * v + (1 - alpha) * g * g
        avg <- sqrt(v - m * m) + eps, with m <- lerp(m, g, 1 - alpha)   (centered)
        avg <- sqrt(v) + eps                                            (otherwise)
        b <- momentum * b + g / avg;  p <- p - lr * b      (if momentum > 0)
        p <- p - lr * g / avg                              (otherwise)
    """

    _state_keys = ("step", "square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        flags = _torch_flags(("capturable", "foreach", "differentiable"), capturable=capturable, foreach=foreach,
                             differentiable=differentiable)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize, **flags))

    def _check_group(self, group, ranges=True):
        group["lr"] = _learning_rate(group["lr"], ranges)
        group["alpha"] = _at_least("alpha", group["alpha"], 0, ranges)
        group["eps"] = _at_least("eps", group["eps"], 0, ranges)
        group["weight_decay"] = _at_least("weight_decay", group["weight_decay"], 0, ranges)
        group["momentum"] = _at_least("momentum", group["momentum"], 0, ranges)
        group["centered"] = _flag("centered", group["centered"])
        group["maximize"] = _flag("maximize", group["maximize"])
        _check_torch_flags(group)

    def _update(self, p, grad, state, group):
        lr, alpha, eps = _lr_of(group), float(group["alpha"]), float(group["eps"])
        weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p._data)
        if momentum > 0 and "momentum_buffer" not in state:  # (switched on mid-run: the buffer starts here)
            state["momentum_buffer"] = np.zeros_like(p._data)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(p._data)
        state["step"] += 1
        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            g = g + weight_decay * p._data
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            m = state["grad_avg"]
            _lerp_(m, g, 1 - alpha)
            avg = np.sqrt(v - m * m)
        else:
            avg = np.sqrt(v)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            p._data -= lr * buf
        else:
            update = -lr * g
            update /= avg
            p._data += update


# ----------------------------------------------------------------------------- NAdam, RAdam, Adamax
def _scalar_state(value):
    """A 0-d state entry as torch makes one (NAdam's mu_product, ASGD's eta and mu): float32, float64 if the default
    dtype is (torch's _get_scalar_dtype), whatever the parameter's dtype; a load casts it to the parameter's."""
    return np.array(value, dtype=np.float64 if get_default_dtype() == np.float64 else np.float32)


def _decayed(p, g, group, lr, decoupled=False):
    """g (negated if maximize) with weight_decay applied: added to g as an L2 term, or (decoupled) p shrunk."""
    g = -g if group["maximize"] else g
    weight_decay = float(group["weight_decay"])
    if weight_decay != 0:
        if decoupled:
            p._data *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p._data
    return g


def _first_and_second_moments(state, g, beta1, beta2):
    """Adam's moments, in place: m <- lerp(m, g, 1 - beta1), v <- beta2 * v + (1 - beta2) * g * g."""
    _lerp_(state["exp_avg"], g, 1 - beta1)
    v = state["exp_avg_sq"]
    v *= beta2
    v += (1 - beta2) * g * g


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat 2016), as torch.optim.NAdam; decoupled_weight_decay=True is NAdamW.

    With g the gradient (weight decay as Adam's or AdamW's), t the step count (from 1) and
    mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)), per step:
        m, v as Adam's;  P <- P * mu_t  (mu_product, a 0-d float32 as torch's, so rounded to float32 each step)
        p <- p - lr (1 - mu_t) / (1 - P) * g / d - lr mu_{t+1} / (1 - P mu_{t+1}) * m / d,
        with d = sqrt(v / (1 - beta2**t)) + eps
    """

    _state_keys = ("step", "mu_product", "exp_avg", "exp_avg_sq")
    _scalar_state_keys = ("mu_product",)

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        flags = _torch_flags(("foreach", "capturable", "differentiable"), foreach=foreach, capturable=capturable,
                             differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, **flags))

    def _check_group(self, group, ranges=True):
        _adam_ranges(group, ranges)
        group["momentum_decay"] = _at_least("momentum_decay", group["momentum_decay"], 0, ranges)
        group["decoupled_weight_decay"] = _flag("decoupled_weight_decay", group["decoupled_weight_decay"])
        group["maximize"] = _flag("maximize", group["maximize"])
        _check_torch_flags(group)

    def _update(self, p, grad, state, group):
        lr, eps, momentum_decay = _lr_of(group), float(group["eps"]), float(group["momentum_decay"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        if not state:
            state.update(step=0, mu_product=_scalar_state(1.0), exp_avg=np.zeros_like(p._data),
                         exp_avg_sq=np.zeros_like(p._data))
        state["step"] = step = state["step"] + 1
        bias_correction2 = 1 - beta2 ** step
        g = _decayed(p, grad, group, lr, group["decoupled_weight_decay"])
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        state["mu_product"] *= mu      # in its own dtype (float32 until a load), as torch's tensor
        mu_product = float(state["mu_product"])
        _first_and_second_moments(state, g, beta1, beta2)
        denom = np.sqrt(state["exp_avg_sq"] / bias_correction2)
        denom += eps
        update = (-lr * (1.0 - mu) / (1.0 - mu_product)) * g
        update /= denom
        p._data += update
        update = (-lr * mu_next / (1.0 - mu_product * mu_next)) * state["exp_avg"]
        update /= denom
        p._data += update


class RAdam(Optimizer):
    """Rectified Adam (Liu et al. 2019), as torch.optim.RAdam; decoupled_weight_decay=True decays as AdamW.

    With m, v as Adam's and t the step count, rho_inf = 2 / (1 - beta2) - 1 and
    rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t), per step:
        p <- p - lr * m / (1 - beta1**t) * r_t * sqrt(1 - beta2**t) / (sqrt(v) + eps)    (rho_t > 5)
        p <- p - lr * m / (1 - beta1**t)                                                 (otherwise)
    with r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)).
    """

    _state_keys = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        flags = _torch_flags(("foreach", "capturable", "differentiable"), foreach=foreach, capturable=capturable,
                             differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay, **flags))

    def _check_group(self, group, ranges=True):
        _adam_ranges(group, ranges)
        group["decoupled_weight_decay"] = _flag("decoupled_weight_decay", group["decoupled_weight_decay"])
        group["maximize"] = _flag("maximize", group["maximize"])
        _check_torch_flags(group)

    def _update(self, p, grad, state, group):
        lr, eps = _lr_of(group), float(group["eps"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        step = _count_step(state, p, "exp_avg", "exp_avg_sq")
        g = _decayed(p, grad, group, lr, group["decoupled_weight_decay"])
        _first_and_second_moments(state, g, beta1, beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        update = state["exp_avg"] / bias_correction1
        update *= lr
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:   # the variance is tractable: the adaptive step, rectified
            adaptive = np.sqrt(state["exp_avg_sq"])
            adaptive += eps
            update *= bias_correction2 ** 0.5 / adaptive
            update *= ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        p._data -= update


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, section 7: Adam with the infinity norm), as torch.optim.Adamax.

    With g the gradient (plus weight_decay * p; negated if maximize) and t the step count, per step:
        m <- lerp(m, g, 1 - beta1);  u <- max(beta2 * u, |g| + eps)
        p <- p - (lr / (1 - beta1**t)) * m / u
    """

    _state_keys = ("step", "exp_avg", "exp_inf")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 foreach: bool | None = None, *, maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        flags = _torch_flags(("foreach", "differentiable", "capturable"), foreach=foreach,
                             differentiable=differentiable, capturable=capturable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      **flags))

    def _check_group(self, group, ranges=True):
        _adam_ranges(group, ranges)
        group["maximize"] = _flag("maximize", group["maximize"])
        _check_torch_flags(group)

    def _update(self, p, grad, state, group):
        lr, eps = _lr_of(group), float(group["eps"])
        beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
        step = _count_step(state, p, "exp_avg", "exp_inf")
        g = _decayed(p, grad, group, lr)
        _lerp_(state["exp_avg"], g, 1 - beta1)
        u = state["exp_inf"]
        u *= beta2
        np.maximum(u, np.abs(g) + eps, out=u)    # (nan wins, as torch.maximum)
        update = (-(lr / (1 - beta1 ** step))) * state["exp_avg"]
        update /= u
        p._data += update


# ----------------------------------------------------------------------------- Adadelta, ASGD, Rprop
class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012), as torch.optim.Adadelta.

    With g the gradient (plus weight_decay * p; negated if maximize), per step:
        v <- rho * v + (1 - rho) * g * g
        d <- sqrt(a + eps) / sqrt(v + eps) * g
        a <- rho * a + (1 - rho) * d * d
        p <- p - lr * d
    """

    _state_keys = ("step", "square_avg", "acc_delta")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False, differentiable: bool = False) -> None:
        flags = _torch_flags(("capturable", "foreach", "differentiable"), capturable=capturable, foreach=foreach,
                             differentiable=differentiable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      **flags))

    def _check_group(self, group, ranges=True):
        group["lr"] = _learning_rate(group["lr"], ranges)
        group["rho"] = _unit_interval("rho", group["rho"], ranges, closed=True)
        group["eps"] = _at_least("eps", group["eps"], 0, ranges)
        group["weight_decay"] = _at_least("weight_decay", group["weight_decay"], 0, ranges)
        group["maximize"] = _flag("maximize", group["maximize"])
        _check_torch_flags(group)

    def _update(self, p, grad, state, group):
        lr, rho, eps = _lr_of(group), float(group["rho"]), float(group["eps"])
        _count_step(state, p, "square_avg", "acc_delta")
        g = _decayed(p, grad, group, lr)
        v, a = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * g * g
        std = np.sqrt(v + eps)
        delta = np.sqrt(a + eps)
        delta /= std
        delta *= g
        a *= rho
        a += (1 - rho) * delta * delta
        delta *= -lr
        p._data += delta


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky 1992), as torch.optim.ASGD: plain SGD whose step eta decays, and an
    average `ax` of the iterates kept beside (from step t0 on; before, ax follows p).

    With g the gradient (plus weight_decay * p; negated if maximize), t the step count, and eta, mu 0-d floats
    (float32 as torch's, eta starting at lr, mu at 1), per step:
        p <- p * (1 - lambd * eta) - eta * g
        ax <- ax + (p - ax) * mu   (ax <- p while mu = 1)
        eta <- lr / (1 + lambd * lr * t) ** alpha;  mu <- 1 / max(1, t - t0)
    """

    _state_keys = ("step", "eta", "mu", "ax")
    _scalar_state_keys = ("eta", "mu")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
        flags = _torch_flags(("foreach", "differentiable", "capturable"), foreach=foreach,
                             differentiable=differentiable, capturable=capturable)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      maximize=maximize, **flags))

    def _check_group(self, group, ranges=True):
        group["lr"] = _learning_rate(group["lr"], ranges)
        for name in ("lambd", "alpha", "t0"):   # (torch checks no range of these)
            group[name] = _number(name, group[name])
        group["weight_decay"] = _at_least("weight_decay", group["weight_decay"], 0, ranges)
        group["maximize"] = _flag("maximize", group["maximize"])
        _check_torch_flags(group)

    def _update(self, p, grad, state, group):
        lr, lambd, alpha, t0 = _lr_of(group), float(group["lambd"]), float(group["alpha"]), float(group["t0"])
        if not state:
            state.update(step=0, eta=_scalar_state(lr), mu=_scalar_state(1.0), ax=np.zeros_like(p._data))
        state["step"] = step = state["step"] + 1
        if group["foreach"]:
            self._foreach_update(p, grad, state, group, lr, lambd)
        else:
            g = _decayed(p, grad, group, lr)
            eta = float(state["eta"])
            p._data *= 1 - lambd * eta
            p._data += -eta * g
            ax = state["ax"]
            if float(state["mu"]) != 1:
                # mu in p's dtype, as torch multiplies by a 0-d tensor of another float dtype
                ax += (p._data - ax) * p._data.dtype.type(state["mu"])
            else:
                ax[...] = p._data
        # torch's torch.as_tensor(number): the new eta and mu rounded to the default dtype, whatever eta's own
        # (float64 after a load_state_dict of a float64 model's state); foreach=True computes eta from its float32
        # step count, in float32, and lr / tensor is torch's tensor.reciprocal() * lr
        default = get_default_dtype().type
        if group["foreach"]:
            power = (1 + np.float32(lambd * lr) * np.float32(step)) ** np.float32(alpha)
            eta = np.reciprocal(power) * np.float32(lr)
        else:
            eta = default(lr / ((1 + lambd * lr * step) ** alpha))
        state["eta"][...] = eta
        state["mu"][...] = default(1 / max(1, step - t0))

    @staticmethod
    def _foreach_update(p, grad, state, group, lr, lambd):
        """torch's _multi_tensor_asgd: p <- p - eta (g + weight_decay p + lambd p) and ax <- ax + (p - ax) mu, each
        add a fused multiply-add (torch's add with alpha and addcmul), mu = 1 included."""
        from .optim_lbfgs import _fused_add
        g = -grad if group["maximize"] else grad
        weight_decay = float(group["weight_decay"])
        if weight_decay != 0:
            g = _fused_add(g, weight_decay, p._data)
        g = _fused_add(g, lambd, p._data)
        p._data[...] = _fused_add(p._data, -p._data.dtype.type(state["eta"]), g)
        ax = state["ax"]
        ax[...] = _fused_add(ax, p._data.dtype.type(state["mu"]), p._data - ax)


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun 1993), as torch.optim.Rprop: each element has its own step
    size, which grows by etaplus while its gradient keeps its sign and shrinks by etaminus when it flips.

    With g the gradient (negated if maximize), s the step sizes (from lr) and prev the last step's g, per step:
        f <- etaplus where g * prev > 0, etaminus where < 0, 1 where 0
        s <- clamp(s * f, step_size_min, step_size_max)
        g <- 0 where f = etaminus (no step after a flip);  p <- p - sign(g) * s;  prev <- g
    """

    _state_keys = ("step", "prev", "step_size")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2), step_sizes: tuple[float, float] = (1e-6, 50), *,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        flags = _torch_flags(("foreach", "differentiable", "capturable"), foreach=foreach,
                             differentiable=differentiable, capturable=capturable)
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize, **flags))

    def _check_group(self, group, ranges=True):
        group["lr"] = _learning_rate(group["lr"], ranges)
        etas = group["etas"] = _pair("etas", group["etas"], ("etaminus", "etaplus"))
        if ranges and not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: etas must be (etaminus, etaplus) with 0 < etaminus < 1 < etaplus, "
                             f"got {etas[0]:g}, {etas[1]:g}")
        group["step_sizes"] = _pair("step_sizes", group["step_sizes"], ("step_size_min", "step_size_max"))
        group["maximize"] = _flag("maximize", group["maximize"])
        _check_torch_flags(group)

    def _update(self, p, grad, state, group):
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        if not state:
            state.update(step=0, prev=np.zeros_like(p._data), step_size=np.full_like(p._data, _lr_of(group)))
        state["step"] += 1
        g = -grad if group["maximize"] else grad
        prev, s = state["prev"], state["step_size"]
        factor = _sign(g * prev)   # (an array even for a 0-d parameter: it is written below)
        factor[factor > 0] = etaplus     # (in torch's order: each assignment sees the previous ones)
        factor[factor < 0] = etaminus
        factor[factor == 0] = 1
        s *= factor
        np.maximum(s, step_size_min, out=s)   # torch's clamp_: max, then min (nan stays nan)
        np.minimum(s, step_size_max, out=s)
        g = np.array(g, copy=True)
        g[factor == etaminus] = 0
        p._data -= _sign(g) * s
        prev[...] = g


def _sign(a):
    """torch's sign, as Rprop's step reads it: (a > 0) - (a < 0), 0 at NaN (numpy's sign gives NaN there, which
    would make the step sizes and the parameter NaN where torch's keep them), an array even for a 0-d a."""
    return np.array((a > 0).astype(a.dtype) - (a < 0))


def _pair(name, value, names):
    """A pair of numbers as a tuple of floats (Rprop's etas and step_sizes)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a pair ({', '.join(names)}), got {value!r}")
    if len(value) != 2:
        raise ValueError(f"{name} must be a pair ({', '.join(names)}), got {len(value)} values: {value!r}")
    return (_number(f"{name}[0]", value[0]), _number(f"{name}[1]", value[1]))


__all__ += ["NAdam", "RAdam", "Adamax", "Adadelta", "ASGD", "Rprop"]


__all__ += ["RMSprop", "lr_scheduler", "swa_utils", "LBFGS", "Adafactor", "Muon", "SparseAdam"]

# torch users write `from torch.optim.lr_scheduler import StepLR`: the schedulers live in
# optim_lr_scheduler.py, reachable as tr.optim.lr_scheduler, and registered under that dotted name
# so the `from ... import` form finds it too (optim is a module, not a package).
import sys  # noqa: E402

from . import optim_lr_scheduler as lr_scheduler  # noqa: E402 (needs Optimizer, defined above)
from . import optim_swa_utils as swa_utils  # noqa: E402 (needs the schedulers)
from .optim_lbfgs import LBFGS  # noqa: E402 (likewise)
from .optim_matrix import Adafactor, Muon, SparseAdam  # noqa: E402 (likewise)

sys.modules[__name__ + ".lr_scheduler"] = lr_scheduler
sys.modules[__name__ + ".swa_utils"] = swa_utils
