"""Jacobians and vector products of a whole function, as torch.autograd.functional: tr.autograd.functional.jacobian,
vjp and jvp.

    J = tr.autograd.functional.jacobian(lambda h0: cell_unrolled(h0), h0)   # dh_T/dh_0: (H, H)

Each runs the function once on fresh copies of the inputs (detached, requiring grad) and walks its tape with
tr.autograd.grad: a vector-Jacobian product is one walk; a Jacobian one walk per output element (its rows, as
torch's reverse mode computes them one at a time when vectorize=False); a Jacobian-vector product is the
Jacobian times v (torch computes it by a double backward, which needs create_graph; the numbers are the same).
torch's hessian, hvp and vhp need second derivatives, which the tape does not record (create_graph=True is
refused): they are refused here, in words saying so.

Inputs and outputs are a Tensor or a tuple of Tensors, and the results take their shapes: jacobian's entry for
output i and input j has shape `outputs[i].shape + inputs[j].shape` and input j's dtype; a tuple where the
function took or returned one, as torch's.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .autograd import grad
from .tape import enable_grad
from .tensor import Tensor
from .tensor_args import _refuse_create_graph

__all__ = ["jacobian", "vjp", "jvp", "hessian", "hvp", "vhp"]


def jacobian(func: Callable[..., Any], inputs: Tensor | tuple[Tensor, ...], create_graph: bool = False,
             strict: bool = False, vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of func at inputs, one backward walk per output element. vectorize and strategy are
    torch's (forward-mode wants vectorize=True, as torch's); both give the same numbers here, computed in
    reverse mode. strict=True refuses an output that does not depend on an input, as torch's."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError(f'jacobian: expected strategy to be either "forward-mode" or "reverse-mode", got '
                         f'{strategy!r}')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                                  "implemented for `vectorize=True`.")
    _refuse_graph("jacobian", create_graph)
    in_tuple, inputs = _tensors("jacobian", "inputs", inputs)
    out_tuple, outputs = _outputs("jacobian", func, inputs)
    table = [_jacobian_rows(i, out, inputs, strict) for i, out in enumerate(outputs)]
    rows = [row if in_tuple else row[0] for row in table]
    return tuple(rows) if out_tuple else rows[0]


def _jacobian_rows(i, out, inputs, strict):
    """Output i's Jacobian with respect to each input: (out.shape + input.shape) Tensors."""
    blocks = [np.zeros((out._data.size,) + x.shape, dtype=x.dtype) for x in inputs]
    if not out.requires_grad:
        if strict:
            raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The outputs "
                               "must be computed in a differentiable manner from the input when running in strict "
                               "mode.")
    else:
        for k in range(out._data.size):
            seed = np.zeros(out.shape, dtype=out.dtype)
            seed.flat[k] = 1
            grads = grad(out, inputs, grad_outputs=seed, retain_graph=True, allow_unused=True)
            for j, g in enumerate(grads):
                if g is None and strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is independent of input {j}. This "
                                       "is not allowed in strict mode.")
                if g is not None:
                    blocks[j][k] = np.asarray(g._data)
    return tuple(Tensor._make(b.reshape(out.shape + x.shape), False) for b, x in zip(blocks, inputs))


def vjp(func: Callable[..., Any], inputs: Tensor | tuple[Tensor, ...], v: Tensor | tuple[Tensor, ...] | None = None,
        create_graph: bool = False, strict: bool = False) -> tuple[Any, Any]:
    """(func's outputs, detached; v^T J), one backward walk. v has the outputs' shapes; None for a one-element
    output. An input the outputs do not reach gets zeros (strict=True refuses it, as torch's)."""
    _refuse_graph("vjp", create_graph)
    in_tuple, inputs = _tensors("vjp", "inputs", inputs)
    out_tuple, outputs = _outputs("vjp", func, inputs)
    vs = _vectors("vjp", v, outputs, "the user-provided function returns")
    live = [(out, seed) for out, seed in zip(outputs, vs) if out.requires_grad]
    if strict and len(live) < len(outputs):
        raise RuntimeError("The output of the user-provided function does not require gradients. The outputs must "
                           "be computed in a differentiable manner from the input when running in strict mode.")
    found = (None,) * len(inputs)
    if live:
        found = grad([o for o, _ in live], inputs, grad_outputs=[s for _, s in live], allow_unused=True)
    products = []
    for j, (x, g) in enumerate(zip(inputs, found)):
        if g is None and strict:
            raise RuntimeError(f"The output of the user-provided function is independent of input {j}. This is not "
                               "allowed in strict mode.")
        products.append(Tensor._make(np.zeros(x.shape, x.dtype) if g is None else np.asarray(g._data), False))
    return _shaped(out_tuple, [o.detach() for o in outputs]), _shaped(in_tuple, products)


def jvp(func: Callable[..., Any], inputs: Tensor | tuple[Tensor, ...], v: Tensor | tuple[Tensor, ...] | None = None,
        create_graph: bool = False, strict: bool = False) -> tuple[Any, Any]:
    """(func's outputs, detached; J v): v has the inputs' shapes (None for one one-element input). Computed as
    the Jacobian times v: one walk per output element."""
    _refuse_graph("jvp", create_graph)
    in_tuple, inputs = _tensors("jvp", "inputs", inputs)
    vs = _vectors("jvp", v, inputs, "the input to the user-provided function is")
    out_tuple, outputs = _outputs("jvp", func, inputs)
    products = []
    for i, out in enumerate(outputs):
        blocks = _jacobian_rows(i, out, inputs, strict)
        total = sum(b._data.reshape(out._data.size, -1) @ vj.reshape(-1) for b, vj in zip(blocks, vs))
        products.append(Tensor._make(np.asarray(total, dtype=out.dtype).reshape(out.shape), False))
    return _shaped(out_tuple, [o.detach() for o in outputs]), _shaped(out_tuple, products)


def hessian(func: Callable[..., Any], inputs: Any, *args: Any, **kwargs: Any) -> Any:
    """Refused: second derivatives (see the module's docstring)."""
    _refuse_second_order("hessian")


def hvp(func: Callable[..., Any], inputs: Any, *args: Any, **kwargs: Any) -> Any:
    """Refused: second derivatives (see the module's docstring)."""
    _refuse_second_order("hvp")


def vhp(func: Callable[..., Any], inputs: Any, *args: Any, **kwargs: Any) -> Any:
    """Refused: second derivatives (see the module's docstring)."""
    _refuse_second_order("vhp")


def _refuse_second_order(fn):
    raise NotImplementedError(f"{fn} needs second derivatives, which tinygrad_rnn does not compute: its backward "
                              "pass is not recorded on the tape (create_graph=True is refused)")


def _refuse_graph(fn, create_graph):
    if create_graph is not False:
        _refuse_create_graph(fn, create_graph)


# ----------------------------------------------------------------------------- arguments, as torch checks them
def _tensors(fn, name, value):
    """(whether value is a tuple, its Tensors as fresh leaves that require grad)."""
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for t in items:
        if not isinstance(t, Tensor):
            raise TypeError(f"The {name} given to {fn} must be either a Tensor or a tuple of Tensors but the given "
                            f"{name} has type {type(t if is_tuple else value)}.")
    return is_tuple, [t.detach().requires_grad_(True) for t in items]


def _outputs(fn, func, inputs):
    """Run func on the inputs with grad mode on: (whether it returned a tuple, its Tensors)."""
    with enable_grad():
        value = func(*inputs)
    is_tuple = isinstance(value, tuple)
    for t in (value if is_tuple else (value,)):
        if not isinstance(t, Tensor):
            raise TypeError(f"The outputs of the user-provided function given to {fn} must be either a Tensor or a "
                            "tuple of Tensors but the given outputs of the user-provided function has type "
                            f"{type(t if is_tuple else value)}.")
    return is_tuple, list(value if is_tuple else (value,))


def _vectors(fn, v, against, what):
    """v as arrays of the shapes of `against` (outputs for vjp, inputs for jvp); None only for one one-element
    tensor, as torch's."""
    if v is None:
        if len(against) != 1 or against[0]._data.size != 1:
            raise RuntimeError(f"The vector v can only be None if {what} a single Tensor with a single element.")
        return [np.ones(against[0].shape, dtype=against[0].dtype)]
    items = v if isinstance(v, tuple) else (v,)
    if len(items) != len(against):
        raise RuntimeError(f"{fn}: v has {len(items)} entries, expected {len(against)}")
    arrays = []
    for t, ref in zip(items, against):
        if not isinstance(t, Tensor):
            raise TypeError(f"The v given to {fn} must be either a Tensor or a tuple of Tensors but the given v has "
                            f"type {type(t)}.")
        if t.shape != ref.shape:
            raise RuntimeError(f"v has invalid size: should be {tuple(ref.shape)} but got {tuple(t.shape)}.")
        arrays.append(np.asarray(t._data, dtype=ref.dtype))
    return arrays


def _shaped(is_tuple, items):
    return tuple(items) if is_tuple else items[0]
