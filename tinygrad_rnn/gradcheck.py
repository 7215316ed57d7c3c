"""gradcheck: hold analytic gradients (the tape's) against central finite differences.

Public API: users call it on their own cells. The function's outputs are reduced to one scalar
by a fixed random projection L = sum_k <out_k, r_k>, so one backward gives every input's gradient
and a non-scalar output is checked in every direction that matters, not only through a sum.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .nn.checks import check_float
from .tape import _reachable_nodes, no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with finite differences."""


def _flatten(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    if out is None:
        return []
    raise TypeError(f"gradcheck: fn must return a Tensor or a (nested) tuple of Tensors, got {type(out).__name__}")


def _projected_loss(fn, inputs, projections):
    outs = _flatten(fn(*inputs))
    if projections is None:  # first call: draw the projection once, reproducibly
        rng = np.random.default_rng(0)
        projections = [rng.standard_normal(o.shape) for o in outs]
    total = None
    for o, r in zip(outs, projections):
        if o._data.dtype.kind != "f":  # indices or a mask (argmax, x > 0): no gradient to check, as torch
            continue
        term = (o * r).sum()
        total = term if total is None else total + term
    return total, projections


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Tensor] | dict[str, Tensor], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, names: Sequence[str] | None = None) -> bool:
    """Check d fn(*inputs) / d input for every input that requires grad. Returns True or raises.

    inputs: float64 Tensors (a dict name -> Tensor names them in messages). Inputs that do not
    require grad are held constant. A Module's parameters can be listed as inputs too: they are
    perturbed in place and restored.
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    eps, atol, rtol = _checked_tolerances(eps, atol, rtol)
    names, inputs = _checked_inputs(inputs, names)
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    analytic, projections = _analytic_grads(fn, inputs)
    with no_grad():
        for i in checked:
            numeric = _numeric_grad(fn, inputs, projections, inputs[i]._data, eps)
            _compare(names[i], analytic[i], numeric, atol, rtol, eps)
    return True


def _checked_tolerances(eps, atol, rtol):
    """eps a finite nonzero step (a negative one is the same central difference, as torch computes it);
    atol and rtol >= 0, as torch checks them (a negative or nan tolerance failed every comparison)."""
    eps = check_float("gradcheck", "eps", eps)
    if eps == 0 or not np.isfinite(eps):
        raise ValueError(f"gradcheck: eps must be a finite nonzero step, got {eps:g}")
    return eps, check_float("gradcheck", "atol", atol, 0), check_float("gradcheck", "rtol", rtol, 0)


def _checked_inputs(inputs, names):
    """(names, inputs as a list), each input a float64 Tensor; a dict gives both. One Tensor is one input,
    as in torch (a list() of it would be its rows)."""
    if isinstance(inputs, dict):
        names, inputs = list(inputs.keys()), list(inputs.values())
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if names is not None and len(names) != len(inputs):   # zip() would leave the extra inputs unchecked
        raise ValueError(f"gradcheck: names must name each of the {len(inputs)} inputs, got {len(names)}")
    names = names or [f"input {i}" for i in range(len(inputs))]
    for name, t in zip(names, inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: {name} has dtype {t.dtype}; finite differences need float64 "
                            "(build the inputs and the module with dtype=np.float64)")
    return names, inputs


def _analytic_grads(fn, inputs):
    """The backward pass's gradient of the projected loss for every input (zeros where none arrived), and
    the projections drawn. The .grad of every leaf the backward reaches is left as it was: the inputs', and
    those of parameters fn reads without receiving them (torch's gradcheck leaves a module's .grad alone)."""
    loss, projections = _projected_loss(fn, inputs, None)
    if loss is None or not loss.requires_grad:
        return [np.zeros_like(t._data) for t in inputs], projections
    leaves = {id(t): t for t in inputs}
    if loss.node is not None:
        leaves.update((id(e), e) for node in _reachable_nodes(loss.node) for e in node.parents if isinstance(e, Tensor))
    saved_grads = {i: t._grad for i, t in leaves.items()}
    for t in leaves.values():
        t._grad = None
    try:
        loss.backward()
        analytic = [np.zeros_like(t._data) if t._grad is None else t._grad for t in inputs]
    finally:
        for i, t in leaves.items():
            t._grad = saved_grads[i]
    return analytic, projections


def _numeric_grad(fn, inputs, projections, x, eps):
    """Central differences of the projected loss with respect to each element of the array x."""
    numeric = np.zeros_like(x)
    for k in np.ndindex(x.shape):  # x is perturbed in place, so captured parameters see it
        orig = x[k]
        x[k] = orig + eps
        plus = _projected_loss(fn, inputs, projections)[0].item()
        x[k] = orig - eps
        minus = _projected_loss(fn, inputs, projections)[0].item()
        x[k] = orig
        numeric[k] = (plus - minus) / (2 * eps)
    return numeric


def _compare(name, analytic, numeric, atol, rtol, eps):
    error = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    if not np.all(error <= allowed):
        worst = np.unravel_index(np.argmax(error - allowed), numeric.shape) if numeric.ndim else ()
        raise GradcheckError(
            f"gradcheck failed for {name} (shape {tuple(numeric.shape)}) at element {tuple(int(w) for w in worst)}: "
            f"analytic {analytic[worst]:.10g}, numeric {numeric[worst]:.10g}, difference "
            f"{error[worst]:.3g} > tolerance atol + rtol*|numeric| = {allowed[worst]:.3g} "
            f"(atol={atol}, rtol={rtol}, eps={eps})")
