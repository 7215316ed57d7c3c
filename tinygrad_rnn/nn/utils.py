"""Gradient clipping: the usual guard against exploding gradients in backpropagation through time.

Both functions take a Tensor or an iterable of Tensors (anything with `.grad`), skip those whose
grad is None, and keep each grad's dtype. A parameter listed twice is clipped once.

How a clipped gradient is stored: torch scales `p.grad` in place. Here each clipped parameter
gets a new array, `p.grad = p.grad * coef`, because two parameters may share one grad array (a
user may have assigned the same array to both), and scaling it in place once per parameter would
scale it twice. The old array is left untouched: code holding a reference to it keeps the unclipped
values, so read `p.grad` again after clipping.
"""
from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor, get_default_dtype
from . import sequences as rnn
from .checks import check_bool

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(parameters, fn):
    """The distinct (by identity) parameters that have a grad, in order."""
    if hasattr(parameters, "grad"):
        parameters = [parameters]
    elif hasattr(parameters, "parameters") and callable(parameters.parameters):
        raise TypeError(f"{fn}: parameters got a {type(parameters).__name__}; pass model.parameters()")
    else:
        try:
            parameters = list(parameters)
        except TypeError:
            raise TypeError(f"{fn}: parameters must be a Tensor or an iterable of Tensors, got "
                            f"{type(parameters).__name__}") from None
    seen, out = set(), []
    for i, p in enumerate(parameters):
        if not hasattr(p, "grad"):
            raise TypeError(f"{fn}: parameters[{i}] must be a Tensor (with .grad), got {type(p).__name__}")
        if p.grad is not None and id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


def _check_foreach(fn, foreach):
    if foreach is not None and not isinstance(foreach, (bool, np.bool_)):
        raise TypeError(f"{fn}: foreach must be True, False or None, got {type(foreach).__name__} {foreach!r}")


def _number(fn, name, value):
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

    foreach (True, False or None) is accepted as torch's: it picks torch's implementation, not the result.
    """
    fn = "clip_grad_norm_"
    _check_foreach(fn, foreach)
    params = _with_grads(parameters, fn)
    max_norm = _number(fn, "max_norm", max_norm)
    error_if_nonfinite = check_bool(fn, "error_if_nonfinite", error_if_nonfinite)   # "no" is truthy
    try:
        norm_type = float(norm_type)  # "inf" is accepted, as in torch
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: norm_type must be a number or 'inf', got {norm_type!r}") from None
    if not norm_type > 0:
        raise ValueError(f"{fn}: norm_type must be > 0 (or inf), got {norm_type:g}")
    if not params:
        return Tensor._make(np.zeros((), get_default_dtype()), False)
    with np.errstate(over="ignore"):  # an overflow makes the norm inf, which is handled below
        norms = [_norm(p.grad, norm_type) for p in params]
        total = _norm(np.array(norms, dtype=np.result_type(*norms)), norm_type)
    if not np.isfinite(total):
        if error_if_nonfinite:
            raise RuntimeError(
                f"{fn}: the total norm of order {norm_type:g} of the gradients is {float(total)}, so they cannot "
                "be clipped. Find where the non-finite values come from (an overflow, log of 0, a division by "
                "0; a smaller learning rate often helps), or pass error_if_nonfinite=False to scale the "
                "gradients by this norm anyway (they become nan, or 0 where finite for an inf norm)")
    # computed in total's dtype, so float32 grads are clipped by a float32 coefficient as in torch
    coef = np.minimum(max_norm / (total + 1e-6), 1.0)
    if not coef >= 1.0:  # scale when coef < 1, and when it is nan (as torch)
        with np.errstate(invalid="ignore"):  # inf * 0 = nan for an inf norm: documented above
            for p in params:
                # np.asarray: numpy turns a 0-d result into a scalar; a grad stays an ndarray
                p.grad = np.asarray(p.grad * coef.astype(p.grad.dtype))
    return Tensor._make(np.asarray(total), False)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value] (nan entries stay nan).
    Each parameter with a grad gets a new, clamped array (see the module docstring). foreach: as in
    clip_grad_norm_."""
    fn = "clip_grad_value_"
    _check_foreach(fn, foreach)
    params = _with_grads(parameters, fn)
    clip_value = _number(fn, "clip_value", clip_value)
    for p in params:
        # Python float bounds take the grad's dtype, so float32 stays float32
        p.grad = np.asarray(np.clip(p.grad, -clip_value, clip_value))


# torch users write `from torch.nn.utils.rnn import pad_sequence`: the helpers live in
# nn/sequences.py, reachable as tr.nn.utils.rnn, and registered under that dotted name so the
# `from ... import` form finds it too (utils is a module, not a package).
sys.modules[__name__ + ".rnn"] = rnn
