"""tr.autograd.Function: an operation with a backward of your own, as torch.autograd.Function.

    class StraightThroughRound(tr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.round()                  # the forward rounds...

        @staticmethod
        def backward(ctx, g):
            return g                          # ...and the gradient passes as if it had not

    y = StraightThroughRound.apply(x)

A call is one node on the tape, of a primitive made for the Function class (named as the class; its forward
and backward are FunctionCall's). The node's inputs are the call's Tensor arguments, its outputs what
forward returns. Its forward runs the class's forward under no_grad() on Tensors that hold the input arrays
and require no grad (nothing inside is recorded); its backward runs the class's backward, also under
no_grad() (the backward pass is not recorded: no higher-order gradients), and gives the tape the arrays of
the gradients it returned for the Tensor arguments. What `ctx.save_for_backward` saved is what the node
saved: a backward frees it, and a second backward through the node is then refused, as torch's.

ctx, as torch's: save_for_backward(*tensors) / saved_tensors, needs_input_grad, mark_non_differentiable,
set_materialize_grads; forward(ctx, *args) or, torch 2's split form, forward(*args) with
setup_context(ctx, inputs, output). mark_dirty (an in-place forward) is refused.
"""
from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import numpy as np

from .primitives import Primitive
from .tape import apply as tape_apply
from .tape import is_grad_enabled, no_grad
from .tensor import Tensor

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """What a Function's forward leaves for its backward (torch's ctx)."""

    def __init__(self, needs_input_grad: tuple) -> None:
        self.needs_input_grad = needs_input_grad   # per forward argument: a Tensor whose gradient is wanted
        self.materialize_grads = True
        self.non_differentiable = ()
        self._saved = ()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}")
        self._saved = tuple(None if t is None else t._data for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        return tuple(None if a is None else Tensor._make(a, False) for a in self._saved)

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        self.non_differentiable = self.non_differentiable + tuple(id(t) for t in outputs)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> None:
        raise NotImplementedError("mark_dirty: a Function that writes its inputs in place is not supported here; "
                                  "return new tensors from forward")


class _Call(NamedTuple):
    """A node's attribute: the Function class, its arguments with None where a Tensor goes, where they go."""
    fn: type
    args: tuple
    slots: tuple
    needs_input_grad: tuple


class FunctionCall(Primitive):
    """The primitive of every Function call (a subclass per Function class, for its name)."""
    quiet_forward = False   # the user's forward and backward: with the user's own numpy settings (tape.py)
    runs_user_code = True

    @staticmethod
    def forward(*arrays, call):
        ctx = FunctionCtx(call.needs_input_grad)
        inputs = list(call.args)
        for slot, a in zip(call.slots, arrays):
            inputs[slot] = Tensor._make(a, False)
        with no_grad():
            output = _run_forward(call.fn, ctx, inputs)
        outputs = _output_tensors(call.fn, output)
        ctx.outputs = [(o.shape, o.dtype) for o in outputs]
        ctx.non_differentiable = tuple(k for k, o in enumerate(outputs) if id(o) in ctx.non_differentiable)
        arrays_out = tuple(o._data for o in outputs)
        return (arrays_out if isinstance(output, tuple) else arrays_out[0]), (ctx, ctx._saved)

    @staticmethod
    def saved_needed(saved, needs):
        return saved[1]   # the arrays ctx.save_for_backward kept: a node that saved none runs backward again

    @staticmethod
    def backward(g, saved, needs, call):
        ctx = saved[0]
        gs = list(g) if isinstance(g, list) else [g]
        if ctx.materialize_grads:
            gs = [np.zeros(shape, dtype) if x is None else x for x, (shape, dtype) in zip(gs, ctx.outputs)]
        with no_grad():
            grads = call.fn.backward(ctx, *[None if x is None else Tensor._make(x, False) for x in gs])
        grads = _checked_gradients(call, grads if isinstance(grads, tuple) else (grads,))
        return tuple(grads[slot] if need else None for slot, need in zip(call.slots, needs))


def _run_forward(fn, ctx, inputs):
    if _has_setup_context(fn):   # torch 2's form: forward(*args), then setup_context(ctx, inputs, output)
        output = fn.forward(*inputs)
        fn.setup_context(ctx, tuple(inputs), output)
        return output
    return fn.forward(ctx, *inputs)


def _has_setup_context(fn):
    return getattr(fn.setup_context, "__func__", fn.setup_context) is not _base_setup_context


def _output_tensors(fn, output):
    outputs = output if isinstance(output, tuple) else (output,)
    for k, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{fn.__name__}.forward must return a Tensor or a tuple of Tensors, got "
                            f"{type(o).__name__}" + (f" at index {k}" if isinstance(output, tuple) else ""))
    return outputs


def _checked_gradients(call, grads):
    """backward's result as arrays per forward argument: one each (more only if None), None for a non-Tensor
    argument, a Tensor broadcastable to its input's shape otherwise; torch's errors in its words."""
    name, n = call.fn.__name__, len(call.args)
    if len(grads) < n or any(g is not None for g in grads[n:]):
        raise RuntimeError(f"function {name}Backward returned an incorrect number of gradients (expected {n}, "
                           f"got {len(grads)})")
    out = []
    for i, g in enumerate(grads[:n]):
        if g is not None and i not in call.slots:
            raise RuntimeError(f"function {name}Backward returned a gradient different than None at position "
                               f"{i + 1}, but the corresponding forward input was not a Variable")
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"function {name}Backward returned a {type(g).__name__} at position {i + 1}: a "
                            "gradient is a Tensor or None")
        out.append(None if g is None else g._data)
    return out


class Function:
    """Subclass with static forward(ctx, *args) (or forward(*args) and setup_context(ctx, inputs, output)) and
    backward(ctx, *grad_outputs), returning one gradient per forward argument; call it as Cls.apply(*args)."""

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: Any) -> None:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        args = _bound(cls, args, kwargs)
        slots = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        grad_on = is_grad_enabled()
        needs = tuple(grad_on and isinstance(a, Tensor) and a.requires_grad for a in args)
        stripped = tuple(None if i in slots else a for i, a in enumerate(args))
        out = tape_apply(_primitive_of(cls), *[args[i] for i in slots], call=_Call(cls, stripped, slots, needs))
        outs = out if isinstance(out, tuple) else (out,)
        if outs[0]._node is not None:
            for k in outs[0]._node.saved[0].non_differentiable:
                outs[k].detach_()   # torch's mark_non_differentiable: an output that does not require grad
        return out


_base_setup_context = Function.setup_context


def _bound(cls, args, kwargs):
    """The arguments in forward's order, defaults filled in, as torch binds them (its backward returns a
    gradient for each, and setup_context's inputs hold them all)."""
    signature = _SIGNATURES.get(cls)
    if signature is None:
        params = list(inspect.signature(cls.forward).parameters.values())
        signature = _SIGNATURES[cls] = inspect.Signature(params if _has_setup_context(cls) else params[1:])
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.args)


_SIGNATURES = {}   # Function class -> forward's signature without ctx (inspect.signature costs microseconds)
_PRIMITIVES = {}


def _primitive_of(cls):
    """The primitive of Function class cls: a FunctionCall subclass named as cls, so the tape, anomaly mode and
    tr.viz name its nodes (grad_fn.name()) by the user's class."""
    prim = _PRIMITIVES.get(cls)
    if prim is None:
        prim = _PRIMITIVES[cls] = type(cls.__name__, (FunctionCall,), {"__doc__": cls.__doc__})
    return prim


def once_differentiable(fn):
    """torch's decorator for a backward that is not itself differentiable: every backward here is (none is
    recorded), so it returns fn as it is."""
    return fn
