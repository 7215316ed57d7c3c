"""Gradient checkpointing: trade compute for memory by recomputing a function in the backward pass.

    out = tr.checkpoint(fn, x, h)      # as torch.utils.checkpoint.checkpoint(fn, x, h)

The forward runs `fn` under no_grad, so nothing inside it is recorded and none of its intermediate
arrays is kept. On the tape the call is ONE node, `Recompute`, whose inputs are the tensor arguments
(and the parameters fn reads, see below) and whose outputs are fn's results. Its backward:

  1. runs fn again with recording on, on fresh leaf copies of the inputs (same arrays, the same
     requires_grad), with tr.random's state as it was at the forward (so dropout draws the same mask);
  2. backpropagates the incoming cotangents through that recomputed graph with the ordinary walk
     (tensor.backward_from; it keeps its state in local variables, so a walk may run inside another
     walk's node: the outer walk is paused in this node's backward while the inner one runs);
  3. returns the input copies' gradients as this node's input gradients.

Parameters fn reads without receiving them (a module's weights, closed over) are leaves: the inner
walk adds their gradients into their `.grad` directly, as torch's reentrant checkpoint does, so
they are summed with every other use of the weights. To know them, the no_grad forward watches
the operations fn runs (the tape's forward hook list, in this thread only) and collects every leaf
that requires grad; they become inputs of the node too (gradient None: the inner walk delivered
it). That records the node even when no argument requires grad, checks the weights' versions
(an optimizer step between forward and backward is refused) and, in anomaly mode, their checksums.

A tensor fn reads that requires grad but is itself computed outside fn (not a leaf: a parametrized
weight computed once per call, W * mask) is an input of the node too, and its gradient must reach
the outer graph through this node, not through the inner walk (which would walk the outer graph
above it a second time, before the outer walk has the rest of its gradient). So while fn reruns it
reads as a leaf of its own (_CutAt: its maker node set aside), the inner walk leaves its gradient in
its ._grad, and the node returns that as the input's gradient, as torch's non-reentrant checkpoint
gives a closed-over computed tensor its gradient.

Random numbers: tr.random's generator state is saved at the forward and restored around the
recomputation (preserve_rng_state=True, as torch does), then put back, so code drawing from it
inside fn (dropout) sees the same numbers twice and the caller's stream is unchanged. A generator
of your own (np.random.default_rng) is not covered: draw its numbers outside fn and pass them in.

Costs: fn runs twice (once more per nesting level when checkpoints nest), its inside is kept only
while this node's backward runs.
"""
from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import random
from .primitives import Detach, Primitive, Seed
from .tape import _forward_checks, _grad_mode, apply, backward_from, is_grad_enabled, no_grad
from .tensor import Tensor

__all__ = ["checkpoint"]


class _Call(NamedTuple):
    """What Recompute's forward and backward need besides the arrays (a node attribute)."""
    fn: Any
    args: tuple  # fn's arguments, with None where a tensor argument goes (filled from the arrays)
    tensor_slots: tuple  # positions in args of the tensor arguments, in input order
    grad_flags: tuple  # per tensor argument: did it require grad
    rng_state: Any  # tr.random's generator state before the forward, or None
    n_outputs: int  # 0: fn returned one Tensor; k: a tuple of k Tensors
    first_outputs: list  # one-shot: the no_grad forward's results, handed to the node by forward()
    computed: tuple = ()  # the computed tensors requiring grad fn reads without receiving them (_CutAt)


class Recompute(Primitive):
    """(tensor args..., parameters...) -> fn's outputs; backward recomputes fn (module docstring)."""

    fresh_grads = True  # the input gradients are the .grad buffers of leaf copies made for this call
    quiet_forward = False  # (the outputs checkpoint() computed)
    runs_user_code = True  # backward runs fn again: with the user's own numpy settings (tape.py)

    @staticmethod
    def forward(*arrays, call):
        outs = tuple(call.first_outputs)  # computed by checkpoint() before recording: see there
        call.first_outputs.clear()  # the node must not keep its outputs alive
        # the closed-over computed tensors' arrays are saved too: an in-place write of one before the
        # backward is then refused by the tape (the rerun would read other values), as for the arguments'
        computed = arrays[len(arrays) - len(call.computed):] if call.computed else ()
        return (outs if call.n_outputs else outs[0]), arrays[:len(call.tensor_slots)] + computed

    @staticmethod
    def backward(g, saved, needs, call):
        gs = list(g) if call.n_outputs else [g]
        leaves = [Tensor._make(a, flag) for a, flag in zip(saved, call.grad_flags)]
        args = list(call.args)
        for slot, leaf in zip(call.tensor_slots, leaves):
            args[slot] = leaf
        with _recording(), _CutAt(call.computed) as cut:
            with _rng_restored(call.rng_state):
                outs = _as_tuple(call.fn(*args), call.n_outputs)
            _backward_through(outs, gs)
        n_params = len(needs) - len(leaves) - len(call.computed)
        return (tuple(leaf._grad if leaf.requires_grad else None for leaf in leaves) + (None,) * n_params
                + cut.grads)


def _backward_through(outs, cotangents):
    live = [(o, c) for o, c in zip(outs, cotangents) if o.requires_grad and c is not None]
    if not live:
        return
    outs, cotangents = zip(*live)
    root = apply(Seed, *outs, cotangents=tuple(cotangents))
    backward_from(root._node, 0, np.ones((), dtype=root._data.dtype))


class _recording:
    """Grad mode on, whatever the caller of backward() had (backward inside no_grad() still recomputes)."""

    def __enter__(self):
        self.prev, _grad_mode.enabled = _grad_mode.enabled, True

    def __exit__(self, *exc):
        _grad_mode.enabled = self.prev


class _rng_restored:
    """Run with tr.random's generator set to `state`, then put back the state it had."""

    def __init__(self, state):
        self.state = state

    def __enter__(self):
        if self.state is not None:
            self.bits = random.generator().bit_generator
            self.now = self.bits.state
            self.bits.state = self.state

    def __exit__(self, *exc):
        if self.state is not None:
            self.bits.state = self.now


class _CutAt:
    """While fn reruns, each closed-over computed tensor reads as a leaf of its own: its maker node (and its
    .grad) set aside, so the inner walk stops at it and adds its gradient into its ._grad. On exit the tensors
    are as they were, and `grads` holds what the inner walk gave each (None where nothing reached it): the
    node's input gradients for them, which the outer walk then carries on into the graph above, once."""

    def __init__(self, tensors):
        self.tensors, self.grads = tensors, ()

    def __enter__(self):
        self.kept = [(t._node, t._slot, t._grad) for t in self.tensors]
        for t in self.tensors:
            t._node, t._slot, t._grad = None, 0, None
        return self

    def __exit__(self, *exc):
        self.grads = tuple(t._grad for t in self.tensors)
        for t, (node, slot, grad) in zip(self.tensors, self.kept):
            t._node, t._slot, t._grad = node, slot, grad


class _LeafCollector:
    """A forward hook (tape._forward_checks) gathering the leaves that require grad which the
    operations of this thread read while it is installed; nested collectors each see everything.

    It also follows which results depend on something that requires grad (a leaf, or an argument standing in
    for a tensor that requires grad: `sources`), as the tape would have marked them with recording on: an
    output of fn that does not (a constant, x.detach() * 2) must not say requires_grad=True, as under torch's
    checkpoint. Weak references, so that fn's intermediates are freed as they would be without the hook."""

    def __init__(self, sources=()):
        self.thread = threading.get_ident()
        self.leaves = {}  # id -> Tensor, in first-use order
        self.computed = {}  # id -> a non-leaf tensor requiring grad that fn read (made outside fn), first-use order
        self.live = {}  # id -> weakref of each float result that depends on a tensor requiring grad
        for t in sources:
            self._mark_live(t)

    def __call__(self, prim, inputs, outs, node, attrs):
        if threading.get_ident() != self.thread:
            return
        live = False
        for t in inputs:
            if t.requires_grad:
                live = True
                if t._node is None:
                    self.leaves.setdefault(id(t), t)
                else:
                    self.computed.setdefault(id(t), t)
            elif not live and self.depends_on_grad(t):
                live = True
        if live and prim is not Detach:   # detach() cuts the dependence, as on the tape
            for o in outs:
                if o._data.dtype.kind == "f":   # masks and indices never require grad
                    self._mark_live(o)

    def _mark_live(self, t):
        key = id(t)
        self.live[key] = weakref.ref(t, lambda _, key=key: self.live.pop(key, None))

    def depends_on_grad(self, t):
        """Whether t requires grad, or was computed (inside fn) from something that does."""
        if t.requires_grad:
            return True
        ref = self.live.get(id(t))
        return ref is not None and ref() is t

    def __enter__(self):
        _forward_checks.append(self)
        return self

    def __exit__(self, *exc):
        _forward_checks.remove(self)


def _as_tuple(result, n_outputs):
    return tuple(result) if n_outputs else (result,)


_TORCH_ONLY = ("context_fn", "determinism_check", "debug")   # torch.utils.checkpoint's, not fn's


def _check_torch_keywords(use_reentrant, preserve_rng_state, kwargs):
    """torch.utils.checkpoint's own keywords either mean here what they mean there, or are refused."""
    if use_reentrant is not None and not isinstance(use_reentrant, bool):
        raise TypeError(f"checkpoint: use_reentrant must be None, True or False, got {use_reentrant!r}")
    if use_reentrant:
        raise ValueError("checkpoint: use_reentrant=True is not supported: tr.checkpoint computes the gradients of "
                         "torch's use_reentrant=False (parameters fn reads get gradients even when no argument "
                         "requires grad); pass use_reentrant=False or leave it out")
    if not isinstance(preserve_rng_state, bool):
        raise TypeError(f"checkpoint: preserve_rng_state must be True or False, got {preserve_rng_state!r}")
    unsupported = [k for k in _TORCH_ONLY if k in kwargs]
    if unsupported:
        raise ValueError(f"checkpoint: torch.utils.checkpoint's {', '.join(unsupported)} is not supported here (it "
                         "would be passed to fn as its own keyword argument)")


def _check_outputs(result):
    """0 when fn returned a Tensor, k for a tuple of k Tensors; anything else is refused."""
    if isinstance(result, Tensor):
        return 0
    if isinstance(result, (tuple, list)) and result and all(isinstance(r, Tensor) for r in result):
        return len(result)
    kind = type(result).__name__ if not isinstance(result, (tuple, list)) else \
        f"a {type(result).__name__} of {[type(r).__name__ for r in result]}"
    raise TypeError(f"checkpoint: fn must return a Tensor or a non-empty tuple of Tensors, got {kind}")


def _returned(result, recorded, seen, originals):
    """What checkpoint() returns for one of fn's results: an argument or a leaf fn returned as it is, that tensor
    itself (as torch); a result depending on something that requires grad, the Recompute node's output; anything
    else (a constant such as tr.ones(3) or x.detach() * 2, a mask, indices) fn's own result, which does not
    require grad (torch: only float tensors that depend on one requiring grad do)."""
    if id(result) in originals:
        return originals[id(result)]
    if recorded is None or (result.is_leaf and result.requires_grad) or not seen.depends_on_grad(result):
        return result
    return recorded


def checkpoint(fn: Callable[..., Tensor | tuple[Tensor, ...]], *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, **kwargs: Any) -> Tensor | tuple[Tensor, ...]:
    """fn(*args, **kwargs) without keeping its intermediates: they are recomputed in the backward pass.

    Gradients equal those of fn(*args, **kwargs) itself. Non-Tensor arguments are passed through as they
    are; keyword arguments go to fn, as torch's use_reentrant=False does (a Tensor among them is read like a
    closed-over one). Under no_grad
    (or when nothing fn reads requires grad) this is just fn(*args, **kwargs).

    torch's keywords: use_reentrant=None or False is this function (parameters get their gradients even
    when no argument requires grad, as torch's non-reentrant checkpoint); use_reentrant=True, whose
    gradients differ there, is refused rather than silently meaning False. context_fn, determinism_check
    and debug are refused too: they would otherwise reach fn as its own keyword arguments."""
    if not callable(fn):
        raise TypeError(f"checkpoint: fn must be callable, got {type(fn).__name__}")
    _check_torch_keywords(use_reentrant, preserve_rng_state, kwargs)
    if kwargs:
        fn = functools.partial(fn, **kwargs)
    if not is_grad_enabled():
        return fn(*args)
    slots = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    tensors = [args[i] for i in slots]
    rng_state = random.generator().bit_generator.state if preserve_rng_state else None
    detached = list(args)
    for i, t in zip(slots, tensors):  # fn sees leaves without history: nothing upstream is read
        detached[i] = Tensor._make(t._data, False)
    with no_grad(), _LeafCollector([detached[i] for i, t in zip(slots, tensors) if t.requires_grad]) as seen:
        result = fn(*detached)
    n_outputs = _check_outputs(result)
    params = [p for p in seen.leaves.values() if not any(p is t for t in tensors)]
    computed = tuple(seen.computed.values())   # (one passed as an argument too is read here as itself: cut it)
    outs = _as_tuple(result, n_outputs)
    recorded = [None] * len(outs)   # nothing to differentiate (no output depends on what requires grad): fn's results
    if any(seen.depends_on_grad(o) for o in outs):
        args_template = tuple(None if i in slots else a for i, a in enumerate(args))
        call = _Call(fn, args_template, slots, tuple(t.requires_grad for t in tensors), rng_state, n_outputs,
                     [o._data for o in outs], computed)
        recorded = _as_tuple(apply(Recompute, *tensors, *params, *computed, call=call), n_outputs)
    originals = {id(detached[i]): args[i] for i in slots}
    outs = tuple(_returned(r, o, seen, originals) for r, o in zip(outs, recorded))
    if not n_outputs:
        return outs[0]
    return list(outs) if isinstance(result, list) else outs   # fn's own container, as torch and as under no_grad
