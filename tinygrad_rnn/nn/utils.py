"""Gradient clipping: the usual guard against exploding gradients in backpropagation through time.

Both functions take a Tensor or an iterable of Tensors (anything with `.grad`), skip those whose
grad is None, and keep each grad's dtype. A parameter listed twice is clipped once.

How a clipped gradient is stored: in place, as torch's, so `p.grad` keeps its object and a Tensor
sharing its memory sees the clipped values. A gradient two parameters share (`a.grad = b.grad = g`) is
clipped once, not once per parameter (torch's foreach kernels would scale it twice).
"""
from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor, concatenate, get_default_dtype
from . import parametrizations, parametrize
from . import sequences as rnn
from .checks import NumberTypeError, check_bool
from .norm_hooks import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_", "parameters_to_vector",
           "vector_to_parameters", "parametrize", "parametrizations", "weight_norm", "remove_weight_norm",
           "spectral_norm", "remove_spectral_norm"]


def _with_grads(parameters, fn):
    """The distinct (by identity) parameters that have a grad, in order."""
    if hasattr(parameters, "grad"):
        parameters = [parameters]
    elif hasattr(parameters, "parameters") and callable(parameters.parameters):
        raise TypeError(f"{fn}: parameters got a {type(parameters).__name__}; pass model.parameters()")
    else:
        parameters = _listed(fn, "parameters", parameters)
    seen, out = set(), []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: parameters[{i}] must be a Tensor (with .grad), got {type(p).__name__}")
        if p._grad is not None and id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


def _listed(fn, name, items):
    try:
        return list(items)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be a Tensor or an iterable of Tensors, got "
                        f"{type(items).__name__}") from None


def _check_foreach(fn, foreach):
    if foreach is not None and not isinstance(foreach, (bool, np.bool_)):
        raise TypeError(f"{fn}: foreach must be True, False or None, got {type(foreach).__name__} {foreach!r}")


def _number(fn, name, value):
    if isinstance(value, Tensor) and value.ndim == 0 and value.dtype.kind in "iuf":   # torch takes a 0-d tensor
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not value >= 0:  # nan refused too
        raise ValueError(f"{fn}: {name} must be >= 0, got {value:g}")
    return value


def _norm(g, norm_type):
    """The norm_type-norm of one array, computed in its own dtype (as torch does)."""
    if g.size == 0:
        return g.dtype.type(0)
    if norm_type == np.inf:
        return np.max(np.abs(g))
    if norm_type == 2.0:
        flat = g.reshape(-1)
        return np.sqrt(np.dot(flat, flat))
    return np.sum(np.abs(g) ** norm_type) ** (1 / norm_type)


def _norm_type(fn, norm_type):
    try:
        norm_type = float(norm_type)  # "inf" is accepted, as in torch
    except (TypeError, ValueError):   # torch: float("fro") is a ValueError
        raise NumberTypeError(f"{fn}: norm_type must be a number or 'inf', got {norm_type!r}") from None
    if not norm_type > 0:
        raise ValueError(f"{fn}: norm_type must be > 0 (or inf), got {norm_type:g}")
    return norm_type


def _total_norm(fn, arrays, norm_type, error_if_nonfinite):
    """The norm of the arrays concatenated, in their dtype (see clip_grad_norm_)."""
    if not arrays:
        return np.zeros((), get_default_dtype())
    with np.errstate(over="ignore"):  # an overflow makes the norm inf, which is handled below
        norms = [_norm(a, norm_type) for a in arrays]
        total = _norm(np.array(norms, dtype=np.result_type(*norms)), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"{fn}: the total norm of order {norm_type:g} of the gradients is {float(total)}, so they cannot "
            "be clipped. Find where the non-finite values come from (an overflow, log of 0, a division by "
            "0; a smaller learning rate often helps), or pass error_if_nonfinite=False to scale the "
            "gradients by this norm anyway (they become nan, or 0 where finite for an inf norm)")
    return np.asarray(total)


def _clip_each_grad(params, clip):
    """clip(array) written into each parameter's gradient array, once per array (see the module docstring); a
    read-only one (a user's assigned tr.from_numpy of a read-only array) is replaced by a clipped copy."""
    done = set()
    for p in params:
        g = p._grad
        if id(g) in done:
            continue
        done.add(id(g))
        if g.flags.writeable:
            g[...] = clip(g)
        else:
            p._grad = np.asarray(clip(g))


def _scale_grads(params, max_norm, total):
    # computed in total's dtype, so float32 grads are clipped by a float32 coefficient as in torch
    coef = np.minimum(max_norm / (total + 1e-6), 1.0)
    if not coef >= 1.0:  # scale when coef < 1, and when it is nan (as torch)
        with np.errstate(invalid="ignore"):  # inf * 0 = nan for an inf norm: documented in clip_grad_norm_
            _clip_each_grad(params, lambda g: g * coef.astype(g.dtype))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so that their global norm is at most max_norm.

    The global norm is that of all grads concatenated into one vector: with n_i the norm_type-norm
    of grad i, total = ||(n_1, n_2, ...)||_norm_type (for inf, the largest |entry|). It is computed
    in the grads' dtype (float64 if the grads mix float32 and float64), so float32 grads of about
    1e19 or more overflow it to inf, as in torch. Then every grad is multiplied by

        coef = min(max_norm / (total + 1e-6), 1)

    (computed in the total's dtype, then cast to each grad's), which leaves grads alone when
    total <= max_norm. Returns total (before clipping) as a 0-d Tensor in that dtype, as torch does
    (`.item()` gives the Python float); tensor(0.) (float32) if no parameter has a grad.

    A non-finite total: with error_if_nonfinite=True a RuntimeError is raised and nothing changes.
    With False (the default) this does what torch 2.13 does, which is to scale anyway: a nan total
    gives coef = nan, so every grad becomes all nan; an inf total gives coef = 0, so finite entries
    become 0 and inf entries become nan. Either way the next optimizer step spreads nan or does
    nothing: check the returned norm if your gradients may overflow.

    The two halves are get_total_norm and clip_grads_with_norm_, as in torch 2.13.
    foreach (True, False or None) is accepted as torch's: it picks torch's implementation, not the result.
    """
    fn = "clip_grad_norm_"
    _check_foreach(fn, foreach)
    params = _with_grads(parameters, fn)
    max_norm = _number(fn, "max_norm", max_norm)
    error_if_nonfinite = check_bool(fn, "error_if_nonfinite", error_if_nonfinite)   # "no" is truthy
    norm_type = _norm_type(fn, norm_type)
    if not params:
        return Tensor._make(np.zeros((), get_default_dtype()), False)
    total = _total_norm(fn, [p._grad for p in params], norm_type, error_if_nonfinite)
    _scale_grads(params, max_norm, total)
    return Tensor._make(total, False)


def get_total_norm(tensors: Tensor | np.ndarray | Iterable[Tensor | np.ndarray], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The norm of all `tensors` concatenated into one vector, as torch.nn.utils.get_total_norm: the
    first half of clip_grad_norm_ (see there for the dtype and the non-finite cases). Pass the grads,
    `[p.grad for p in params if p.grad is not None]`, or any Tensors (or ndarrays)."""
    fn = "get_total_norm"
    _check_foreach(fn, foreach)
    tensors = [tensors] if isinstance(tensors, (Tensor, np.ndarray)) else _listed(fn, "tensors", tensors)
    arrays = []
    for i, t in enumerate(tensors):
        if not isinstance(t, (Tensor, np.ndarray)) or t.dtype not in (np.float32, np.float64):
            raise TypeError(f"{fn}: tensors[{i}] must be a float32 or float64 Tensor or ndarray, got "
                            f"{type(t).__name__}{' of dtype ' + str(t.dtype) if hasattr(t, 'dtype') else ''}")
        arrays.append(t._data if isinstance(t, Tensor) else t)
    error_if_nonfinite = check_bool(fn, "error_if_nonfinite", error_if_nonfinite)
    return Tensor._make(_total_norm(fn, arrays, _norm_type(fn, norm_type), error_if_nonfinite), False)


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Tensor | float,
                          foreach: bool | None = None) -> None:
    """Scale the grads by min(max_norm / (total_norm + 1e-6), 1), as torch.nn.utils.clip_grads_with_norm_:
    the second half of clip_grad_norm_, with a total norm computed before (get_total_norm), e.g. over
    the grads of several processes."""
    fn = "clip_grads_with_norm_"
    _check_foreach(fn, foreach)
    params = _with_grads(parameters, fn)
    max_norm = _number(fn, "max_norm", max_norm)
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    if total.shape != () or total.dtype.kind not in "iuf" or isinstance(total_norm, bool):
        raise TypeError(f"{fn}: total_norm must be a 0-d Tensor or a number, got {type(total_norm).__name__} "
                        f"{total_norm!r}")
    _scale_grads(params, max_norm, total if total.dtype.kind == "f" else total.astype(get_default_dtype()))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value] (nan entries stay nan).
    Each gradient is clamped in place, as torch's (see the module docstring). foreach: as in
    clip_grad_norm_."""
    fn = "clip_grad_value_"
    _check_foreach(fn, foreach)
    params = _with_grads(parameters, fn)
    clip_value = _number(fn, "clip_value", clip_value)
    # Python float bounds take the grad's dtype, so float32 stays float32
    _clip_each_grad(params, lambda g: np.clip(g, -clip_value, clip_value))


# torch users write `from torch.nn.utils.rnn import pad_sequence`: the helpers live in
# nn/sequences.py, reachable as tr.nn.utils.rnn, and registered under that dotted name so the
# `from ... import` form finds it too (utils is a module, not a package).
sys.modules[__name__ + ".rnn"] = rnn
# torch.nn.utils.parametrize and .parametrizations, reachable the same ways (import ..., from ... import)
sys.modules[__name__ + ".parametrize"] = parametrize
sys.modules[__name__ + ".parametrizations"] = parametrizations


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated into one 1-D Tensor, as torch: differentiable (a
    gradient of the vector flows back to each parameter). They must share one dtype (torch would
    promote; a float32 and float64 mix is refused here, as concatenate refuses it)."""
    fn = "parameters_to_vector"
    params = [parameters] if isinstance(parameters, Tensor) else _listed(fn, "parameters", parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: expected Tensors, got {type(p).__name__} at position {i}")
    if not params:
        raise ValueError(f"{fn}: parameters is empty (torch.cat of nothing is an error too)")
    return concatenate([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D `vec` into the parameters, as torch: each parameter's data
    becomes a view of vec's array, reshaped (so later in-place changes of one show in the other, as in
    torch). The lengths must add up exactly (torch ignores a longer vec's tail)."""
    fn = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{fn}: vec must be a Tensor, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise RuntimeError(f"{fn}: vec must be 1-D, got shape {tuple(vec.shape)}")
    params = [parameters] if isinstance(parameters, Tensor) else _listed(fn, "parameters", parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: expected Tensors, got {type(p).__name__} at position {i}")
    total = sum(p.size for p in params)
    if total != vec.shape[0]:
        raise RuntimeError(f"{fn}: vec has {vec.shape[0]} elements, the parameters {total} in all")
    start = 0
    for p in params:
        p._data = vec._data[start:start + p.size].reshape(p.shape)
        p.bump_version()   # a graph recorded with the old values must not backpropagate into the new ones
        start += p.size
