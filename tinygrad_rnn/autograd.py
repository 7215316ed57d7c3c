"""Gradients with respect to chosen tensors, as torch.autograd: `tr.autograd.grad` and `tr.autograd.backward`.

    (dx,) = tr.autograd.grad(loss, [x])          # returned; no .grad changes (torch.autograd.grad)
    dh = tr.autograd.grad(loss, hs)              # dL/dh_t of every step's state, each a Tensor
    loss.backward(inputs=[w])                    # accumulated into w.grad only (torch's backward(inputs=))

(tr.autograd.Function, an operation with a backward of your own, is function.py's; tr.autograd.functional, the
Jacobian of a whole function, autograd_functional.py's.)

Both run the walk Tensor.backward runs (tape.backward_from), which hands each leaf its gradient by adding it
into the leaf's .grad, and keeps a retained intermediate's (retain_grad()) in its .grad. So here:

  * every leaf the walk reaches has its .grad set aside before the walk and given back after it; a leaf
    asked for takes its gradient from the walk's, then gets its own .grad back (grad) or keeps the sum
    (backward(inputs=));
  * an intermediate asked for is retained for the walk (its node keeps the gradient that reaches it) and
    let go after it;
  * several outputs are joined into one root whose backward hands each its grad_output (primitives.Seed),
    so the walk runs once, and a part of the graph two outputs share is walked once.

As in torch, hooks run (a leaf's hooks change what grad returns), and an intermediate kept with
retain_grad() gets its .grad summed in grad() too. The walk computes every gradient it reaches, also of
leaves nobody asked for (torch prunes those): the answers are the same, the time is Tensor.backward's.
create_graph=True is refused: the backward pass is not recorded on the tape, so there are no
higher-order gradients.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import function
from . import primitives as P
from .anomaly import detect_anomaly, set_detect_anomaly
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import gradcheck
from .tape import (
    _reachable_nodes,
    apply,
    backward_from,
    enable_grad,
    no_grad,
    run_post_accumulate_hooks,
    set_grad_enabled,
)
from .tensor import Tensor
from .tensor_args import _refuse_create_graph

__all__ = ["grad", "backward", "Function", "FunctionCtx", "once_differentiable", "function",
           "gradcheck", "detect_anomaly", "set_detect_anomaly", "no_grad", "enable_grad",
           "set_grad_enabled"]


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | np.ndarray | Sequence | None = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of `outputs` (each weighted by its grad_output; a scalar's default is 1) with respect to
    each of `inputs`, as a tuple of Tensors; nothing's .grad changes (but retain_grad() intermediates', as
    torch). An input the outputs do not depend on is an error, None with allow_unused=True, zeros with
    materialize_grads=True. torch.autograd.grad's arguments; only_inputs is ignored, as torch ignores it."""
    allow_unused = _allow_unused(allow_unused, materialize_grads)
    _refuse_unsupported("grad", create_graph, is_grads_batched)
    outputs, inputs = _tensors("grad", "outputs", outputs), _tensors("grad", "inputs", inputs)
    _check_inputs(inputs)
    found = _walk(outputs, _grad_outputs(outputs, grad_outputs), inputs, bool(retain_graph), keep=False)
    results = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None and not allow_unused:
            raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                               "graph. Set allow_unused=True if this is the desired behavior.")
        if g is None and materialize_grads:
            g = np.zeros(t.shape, dtype=t.dtype)
        results.append(None if g is None else Tensor(g))
    return tuple(results)


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Tensor | np.ndarray | Sequence | None = None,
             retain_graph: bool | None = None, create_graph: bool = False, inputs: Tensor | Sequence | None = None,
             grad_variables: None = None) -> None:
    """Accumulate the gradients of `tensors` (weighted by grad_tensors) into the .grad of every leaf that
    requires grad, or with inputs= only into those tensors' .grad (leaves or intermediates), as
    torch.autograd.backward."""
    if grad_variables is not None:
        raise TypeError("backward: grad_variables is torch's removed name of grad_tensors; pass grad_tensors")
    _refuse_unsupported("backward", create_graph, False)
    tensors = _tensors("backward", "tensors", tensors)
    seeds = _grad_outputs(tensors, grad_tensors)
    if inputs is None:
        _walk(tensors, seeds, None, bool(retain_graph), keep=True)
        return
    inputs = _tensors("backward", "inputs", inputs)
    _check_inputs(inputs)
    _walk(tensors, seeds, inputs, bool(retain_graph), keep=True)


# ----------------------------------------------------------------------------- the walk, with .grad set aside
def _walk(outputs, seeds, inputs, retain_graph, keep):
    """One walk from outputs seeded with `seeds`. inputs None: every leaf's .grad takes its gradient, as
    Tensor.backward. Otherwise returns the gradient each input got in this walk (None where none reached
    it), and the other leaves' .grad are as before; each input's .grad is as before (keep=False; but an
    intermediate retained with retain_grad() adds the gradient, as torch's) or adds it (keep=True)."""
    root, slot, seed = _root(outputs, seeds)
    if inputs is None:
        backward_from(root, slot, seed, retain_graph)
        return None
    asked = _unique(inputs)
    asked_ids = {id(t) for t in asked}
    aside = [(t, t._grad) for t in asked + [leaf for leaf in _reached_leaves(root) if id(leaf) not in asked_ids]]
    retained = [_retain(t) for t in asked if t._node is not None]
    for t, _ in aside:
        t._grad = None
    try:
        backward_from(root, slot, seed, retain_graph, post_accumulate=False)
        found = {id(t): t._grad for t in asked}
    finally:
        for t, own in aside:
            t._grad = own
        kept_before = {id(t) for t, was in retained if was}
        for t, was in retained:
            if not was:
                del t._node.retained[t._slot]
    for t in asked:   # what the asked tensors keep
        g = found.get(id(t))
        if g is not None and (keep or id(t) in kept_before):
            if t._grad is None:
                t._grad = np.array(g, copy=True)
            else:   # into the array .grad wraps, as torch accumulates into an existing .grad
                t._grad += g
            if t._node is None and t._post_accumulate_hooks:   # accumulated now: torch runs them here
                run_post_accumulate_hooks(t)
    return [found[id(t)] for t in inputs]


def _root(outputs, seeds):
    """The walk's start: the one output's node, or a Seed node joining several (or a leaf output)."""
    if len(outputs) == 1 and outputs[0]._node is not None:
        return outputs[0]._node, outputs[0]._slot, seeds[0]
    with enable_grad():
        joined = apply(P.Seed, *outputs, cotangents=tuple(seeds))
    return joined._node, 0, np.ones((), dtype=joined.dtype)


def _reached_leaves(root):
    """Every leaf that requires grad the walk from root can hand a gradient."""
    leaves = {}
    for node in _reachable_nodes(root):
        for edge in node.parents:
            if edge is not None and type(edge) is not tuple:
                leaves[id(edge)] = edge
    return list(leaves.values())


def _retain(t):
    """Keep intermediate t's gradient in its .grad for the walk, as retain_grad() does: (t, whether it was
    retained before)."""
    node = t._node
    if node.retained is None:
        node.retained = {}
    was = node.retained.get(t._slot) is not None
    node.retained[t._slot] = t
    return t, was


def _unique(tensors):
    seen = {}
    for t in tensors:
        seen.setdefault(id(t), t)
    return list(seen.values())


# ----------------------------------------------------------------------------- arguments
def _tensors(fn, name, value):
    """A Tensor or a sequence of them, as a list; torch's errors for an empty or wrong one."""
    items = [value] if isinstance(value, Tensor) else value
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"{fn}: {name} must be a Tensor or a sequence of Tensors, got {type(value).__name__}")
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {name}[{i}] must be a Tensor, got {type(t).__name__}")
    if not items:
        raise RuntimeError(f"`{name}` argument to `{fn}()` cannot be empty.")
    return list(items)


def _check_inputs(inputs):
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")


def _grad_outputs(outputs, given):
    """Each output's starting gradient: its grad_output (checked as backward's grad=), or 1 for a
    one-element output; torch's errors for an output without a gradient."""
    if given is None or isinstance(given, (Tensor, np.ndarray)):
        given = [given] if len(outputs) == 1 or given is None else given
    given = list(given) if given is not None else [None] * len(outputs)
    if len(given) == 1 and len(outputs) > 1 and given[0] is None:
        given = given * len(outputs)
    if len(given) != len(outputs):
        raise RuntimeError(f"grad_outputs has {len(given)} entries but outputs has {len(outputs)}: one each")
    seeds = []
    for i, (t, g) in enumerate(zip(outputs, given)):
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None and t._data.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        seeds.append(t._seed_gradient(g._data if isinstance(g, Tensor) else g))
    return seeds


def _allow_unused(allow_unused, materialize_grads):
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    return materialize_grads if allow_unused is None else bool(allow_unused)


def _refuse_unsupported(fn, create_graph, is_grads_batched):
    if create_graph is not False:
        _refuse_create_graph(fn, create_graph)
    if is_grads_batched:
        raise ValueError(f"{fn}: is_grads_batched=True is not supported (it vmaps the backward); call {fn} once "
                         "per grad_output")



# torch users write `from torch.autograd.functional import jacobian`: Jacobians and vector products of a whole
# function live in autograd_functional.py, reachable as tr.autograd.functional and registered under that dotted
# name so the `from ... import` form finds it too (autograd is a module, not a package).
import sys  # noqa: E402

from . import autograd_functional as functional  # noqa: E402 (needs grad, defined above)

sys.modules[__name__ + ".functional"] = functional
__all__ += ["functional"]
