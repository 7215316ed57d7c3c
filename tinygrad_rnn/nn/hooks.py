"""A Module's hooks, as torch.nn.Module's: forward pre-hooks, forward hooks, full backward hooks and full backward
pre-hooks (Module.register_*_hook in module.py registers them; this file runs them).

A module without hooks pays one attribute test per call (Module.__call__: `_module_hooks is None`); the first
register_* gives it a ModuleHooks, and from then on its calls go through call_with_hooks, which follows torch's
Module._call_impl step by step:

  1. the forward pre-hooks, which may replace the positional arguments (and, with_kwargs, the keyword ones);
  2. with backward hooks: the tensor arguments are passed through a HookedIdentity node (primitives.py);
  3. forward;
  4. the forward hooks, which may replace the output;
  5. with backward hooks: the tensor outputs (the output, or the Tensors of an output tuple, top level only, as
     torch) are passed through a second HookedIdentity node.

In the backward walk the output node comes first: its hook gets the outputs' gradients (grad_output), runs the
backward pre-hooks on them (which may replace them) and hands them on into the module's graph. The input node
comes after every gradient inside the module has reached the inputs: its hook runs the full backward hooks with
(grad_input, grad_output), and what they return is what flows on to the inputs. As torch, grad_input and
grad_output are tuples over the positional arguments and the outputs, None where an entry is not a Tensor (or,
for an output, needs or got no gradient); an input that requires grad but that the module's output does not
depend on gets zeros, and so does a Tensor argument that needs no gradient beside one that does (a cell's first
state: torch's identity node takes every Tensor argument and hands its hooks zeros for those).
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Any

import numpy as np

from ..primitives import HookedIdentity
from ..tape import RemovableHandle, apply, is_grad_enabled
from ..tensor import ShapeError, Tensor
from .checks import DTypeMismatchError, check_bool


class ModuleHooks:
    """One module's hooks, {handle id: hook} in calling order, and the ids registered with_kwargs or
    always_call (torch's _forward_hooks_with_kwargs, ...)."""

    # Whether this process has made a ModuleHooks (a register_*, or a copy or unpickling of a module that had
    # one): until then no module can have a hook, and tr.nn.Recurrent, which runs its cells' code in fused
    # kernels without calling them, skips looking for hooks on its cells with this one test (has_hooks).
    made = False
    # The hooks of every module (tr.nn.modules.module.register_module_*_hook, torch's global hooks), or None until
    # one is registered: Module.__call__ then takes the hooked path for every module, and each call's hooks are
    # these first, then the module's own (torch's _call_impl order).
    everywhere: ModuleHooks | None = None

    def __init__(self) -> None:
        ModuleHooks.made = True
        self.forward_pre, self.forward_pre_with_kwargs = {}, {}
        self.forward, self.forward_with_kwargs, self.forward_always_called = {}, {}, {}
        self.backward, self.backward_pre = {}, {}

    def __setstate__(self, state: dict) -> None:
        """copy.deepcopy and pickle make a ModuleHooks without __init__: it counts as made all the same."""
        ModuleHooks.made = True
        self.__dict__.update(state)

    def any(self) -> bool:
        """Whether a hook is registered (not yet removed); the with_kwargs / always_call ids are among these."""
        return bool(self.forward_pre or self.forward or self.backward or self.backward_pre)

    def add(self, owner: str, hooks: dict, hook: Any, prepend: Any, flags: tuple = ()) -> RemovableHandle:
        """Register hook in `hooks` (first if prepend) and return its handle. flags: (name, value, dict) per
        flag of the hook (with_kwargs, always_call): its id goes in the dict if the value is True, and the
        handle's remove() takes it out again (torch's extra_dict)."""
        if not callable(hook):
            raise TypeError(f"{owner}: hook must be callable, got {type(hook).__name__}")
        prepend = check_bool(owner, "prepend", prepend)
        values = [check_bool(owner, name, value) for name, value, _ in flags]
        handle = RemovableHandle(hooks, extra_dict=[flag_ids for _, _, flag_ids in flags])
        for on, (_, _, flag_ids) in zip(values, flags):
            if on:
                flag_ids[handle.id] = True
        if prepend:   # (torch's OrderedDict.move_to_end(last=False), with a plain dict)
            rest = dict(hooks)
            hooks.clear()
            hooks[handle.id] = hook
            hooks.update(rest)
        else:
            hooks[handle.id] = hook
        return handle


def has_hooks(module: Any) -> bool:
    """Whether `module` or any module inside it has a hook registered now (a removed one does not count), a global
    one (register_module_*_hook) included. One test while no module of the process has ever had hooks
    (ModuleHooks.made); else the global hooks, module's own, then, if an attribute of it can hold a module, a walk
    of module.modules()."""
    if not ModuleHooks.made:
        return False
    if _global_hooks_apply(module):
        return True
    hooks = module._module_hooks
    if hooks is not None and hooks.any():
        return True
    if not module._may_hold_modules():   # (a built-in cell: its attributes hold parameters only)
        return False
    for m in module.modules():
        hooks = m._module_hooks
        if hooks is not None and hooks.any():
            return True
    return False


_KINDS = (("forward_pre", "forward pre-hook"), ("forward", "forward hook"),
          ("backward_pre", "full backward pre-hook"), ("backward", "full backward hook"))


def first_hook(module: Any) -> str | None:
    """Words for one hook that a call of `module` would run (a global one first, then the module's own, then its
    submodules'), e.g. "the forward hook log_shapes on MyCell.lin"; None when has_hooks(module) is False. For
    errors that must name the hook (the compiled cells, which cannot run it)."""
    if not has_hooks(module):
        return None
    top = type(module).__name__
    if _global_hooks_apply(module):
        return _describe(ModuleHooks.everywhere, "global ", f"every module ({top} too)")
    for name, m in module.named_modules():
        hooks = m._module_hooks
        if hooks is not None and hooks.any():
            return _describe(hooks, "", f"{top}.{name}" if name else top)
    return None


def _describe(hooks, scope, where):
    for attr, kind in _KINDS:
        for hook in getattr(hooks, attr).values():
            return f"the {scope}{kind} {getattr(hook, '__name__', type(hook).__name__)} on {where}"
    return None


_internal = threading.local()   # .on: this thread is inside unhooked_calls()


@contextlib.contextmanager
def unhooked_calls():
    """Module calls the library makes on its own inside this block (a cell run once on zeros to check it, or to
    count its dropouts) run no hooks: the user never made these calls, and torch would not have them (its hooks
    see the user's calls only). Per thread; the unhooked module call's path is untouched (call_with_hooks tests
    it)."""
    outer = getattr(_internal, "on", False)
    _internal.on = True
    try:
        yield
    finally:
        _internal.on = outer


def call_with_hooks(module: Any, forward: Any, args: tuple, kwargs: dict) -> Any:
    """module(*args, **kwargs) with its hooks run around forward (module docstring). As torch, a forward hook
    registered with always_call=True runs even if forward (or an earlier hook) raised: with the output None, and an
    error it raises then is turned into a warning, so that the first error is the one raised."""
    hooks = None if getattr(_internal, "on", False) else _hooks_of_call(module)
    if hooks is None:   # (global hooks were registered once, and all removed since)
        return forward(*args, **kwargs)
    call = _HookedCall(module, hooks, args, kwargs)
    try:
        return call.run(forward)
    except Exception:
        call.run_always_called_hooks()
        raise


def _global_hooks_apply(module):
    """Whether global hooks are registered and run for `module`: not for the cell a torch-style RNN/GRU/LSTM runs
    inside (`_inner_cell`), which torch's layer does not have (its hooks see the layer's call only)."""
    everywhere = ModuleHooks.everywhere
    return everywhere is not None and everywhere.any() and not getattr(module, "_inner_cell", False)


def _hooks_of_call(module):
    """The hooks a call of module runs: the global ones, then the module's own, as torch's _call_impl orders them;
    None if there are none."""
    own, everywhere = module._module_hooks, ModuleHooks.everywhere
    if not _global_hooks_apply(module):
        return own
    if own is None or not own.any():
        return everywhere
    merged = ModuleHooks()
    for name, hooks in vars(merged).items():   # each {handle id: hook} dict: the global entries first
        hooks.update(getattr(everywhere, name))
        hooks.update(getattr(own, name))
    return merged


def _global_hooks():
    if ModuleHooks.everywhere is None:
        ModuleHooks.everywhere = ModuleHooks()
    return ModuleHooks.everywhere


def register_module_forward_pre_hook(hook: Any) -> RemovableHandle:
    """torch.nn.modules.module.register_module_forward_pre_hook: hook(module, args) before every module's forward,
    before the module's own pre-hooks; it may return new args (a non-tuple is made a 1-tuple)."""
    hooks = _global_hooks()
    return hooks.add("register_module_forward_pre_hook", hooks.forward_pre, hook, False)


def register_module_forward_hook(hook: Any, *, with_kwargs: bool = False, always_call: bool = False) -> RemovableHandle:
    """torch.nn.modules.module.register_module_forward_hook: hook(module, args, output) after every module's forward
    (with_kwargs=True: hook(module, args, kwargs, output)), before the module's own forward hooks; a value it returns
    other than None replaces the output; always_call=True runs it when forward raised, as torch."""
    hooks = _global_hooks()
    return hooks.add("register_module_forward_hook", hooks.forward, hook, False,
                     (("with_kwargs", with_kwargs, hooks.forward_with_kwargs),
                      ("always_call", always_call, hooks.forward_always_called)))


def register_module_full_backward_pre_hook(hook: Any) -> RemovableHandle:
    """torch.nn.modules.module.register_module_full_backward_pre_hook: Module.register_full_backward_pre_hook's hook,
    for every module, run before the module's own."""
    hooks = _global_hooks()
    return hooks.add("register_module_full_backward_pre_hook", hooks.backward_pre, hook, False)


def register_module_full_backward_hook(hook: Any) -> RemovableHandle:
    """torch.nn.modules.module.register_module_full_backward_hook: Module.register_full_backward_hook's hook, for
    every module, run before the module's own."""
    hooks = _global_hooks()
    return hooks.add("register_module_full_backward_hook", hooks.backward, hook, False)


class _HookedCall:
    """One call's state, which the always_call hooks read if the call fails part way (torch's nonlocal args,
    kwargs, result in _call_impl)."""

    def __init__(self, module, hooks, args, kwargs):
        self.module, self.hooks, self.args, self.kwargs = module, hooks, args, kwargs
        self.result, self.called = None, set()

    def run(self, forward):
        hooks = self.hooks
        if hooks.forward_pre:
            self._run_pre_hooks()
        backward_hook = None
        if hooks.backward or hooks.backward_pre:
            backward_hook = _BackwardHook(self.module, list(hooks.backward.values()), list(hooks.backward_pre.values()))
            self.args = backward_hook.setup_input_hook(self.args)
        self.result = forward(*self.args, **self.kwargs)
        if hooks.forward:
            self._run_forward_hooks()
        if backward_hook is not None:
            if not isinstance(self.result, (Tensor, tuple)):
                warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of "
                              f"Tensors but received {type(self.result)}", stacklevel=3)
            self.result = backward_hook.setup_output_hook(self.result)
        return self.result

    def _run_pre_hooks(self):
        with_kwargs = self.hooks.forward_pre_with_kwargs
        for hook_id, hook in list(self.hooks.forward_pre.items()):
            if hook_id in with_kwargs:
                out = hook(self.module, self.args, self.kwargs)
                if out is not None:
                    if not (isinstance(out, tuple) and len(out) == 2):   # torch's RuntimeError and words
                        raise RuntimeError(f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {out}.")
                    self.args, self.kwargs = out
            else:
                out = hook(self.module, self.args)
                if out is not None:
                    self.args = out if isinstance(out, tuple) else (out,)

    def _run_forward_hooks(self):
        hooks = self.hooks
        for hook_id, hook in list(hooks.forward.items()):
            if hook_id in hooks.forward_always_called:
                self.called.add(hook_id)
            self._run_forward_hook(hook_id, hook)

    def _run_forward_hook(self, hook_id, hook):
        if hook_id in self.hooks.forward_with_kwargs:
            out = hook(self.module, self.args, self.kwargs, self.result)
        else:
            out = hook(self.module, self.args, self.result)
        if out is not None:
            self.result = out

    def run_always_called_hooks(self):
        for hook_id, hook in list(self.hooks.forward.items()):
            if hook_id not in self.hooks.forward_always_called or hook_id in self.called:
                continue
            try:
                self._run_forward_hook(hook_id, hook)
            except Exception as e:   # torch's warning: the error forward raised is the one to see
                warnings.warn("module forward hook with ``always_call=True`` raised an exception that was silenced "
                              f"as another error was raised in forward: {e}", stacklevel=3)


class _BackwardHook:
    """One call's full backward hooks (torch.utils.hooks.BackwardHook): the two HookedIdentity nodes' callbacks,
    and grad_output carried from the output node to the input node. The callbacks take and return
    {position: gradient array or None} over the marked Tensors (_mark_tensors); `*_meta` holds their
    {position: (shape, dtype)}, None when none was marked."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs, self.input_meta, self.n_outputs, self.output_meta = -1, None, -1, None
        self.unmarked_meta = {}   # {position: (shape, dtype)} of the Tensor arguments that need no gradient

    def setup_input_hook(self, args):
        new_args, self.input_meta = _mark_tensors(args, self._input_hook)
        self.n_inputs = len(args)
        # torch passes every Tensor argument through its identity once one requires grad, and its backward
        # hands the hooks zeros for those that do not (a cell's first state, say): their entries, zeros too
        self.unmarked_meta = {} if self.input_meta is None else {
            i: (a.shape, a.dtype) for i, a in enumerate(args) if isinstance(a, Tensor) and i not in self.input_meta}
        return new_args

    def setup_output_hook(self, result):
        outputs = result if isinstance(result, tuple) else (result,)
        new_outputs, self.output_meta = _mark_tensors(outputs, self._output_hook)
        self.n_outputs = len(outputs)
        return new_outputs if isinstance(result, tuple) else new_outputs[0]

    def _output_hook(self, grads):
        """The output node's backward: grad_output through the pre-hooks, on into the module's graph."""
        self.grad_outputs = _pack(grads, self.n_outputs)
        for hook in self.pre_hooks:
            out = hook(self.module, self.grad_outputs)
            if out is None:
                continue
            _check_count(out, len(self.grad_outputs), "Backward pre hook", "grad_output")
            self.grad_outputs = tuple(out)
        grad_outputs = self.grad_outputs
        if self.input_meta is None:
            self._hooks_without_inputs()
        return {i: _as_gradient(grad_outputs[i], self.output_meta[i], "grad_output", i) for i in grads}

    def _hooks_without_inputs(self):
        """No input needed a gradient: as torch, the full backward hooks run here with grad_input all None."""
        warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs since "
                      "no inputs require gradients (as torch)", stacklevel=2)
        grad_inputs = (None,) * self.n_inputs
        for hook in self.hooks:
            out = hook(self.module, grad_inputs, self.grad_outputs)
            if out is not None and not (isinstance(out, tuple) and all(g is None for g in out)):
                raise RuntimeError("Backward hook for Modules where no input requires gradient should always return "
                                   "None or None for all gradients.")
        self.grad_outputs = None

    def _input_hook(self, grads):
        """The input node's backward: the full backward hooks see (grad_input, grad_output); what they return
        flows on to the inputs. An input the outputs did not depend on gets zeros, as torch's."""
        if self.grad_outputs is None:   # the gradient reached the inputs without passing the outputs: torch's skip
            return grads
        meta = self.input_meta
        grads = {i: np.zeros(*meta[i]) if g is None else g for i, g in grads.items()}
        grad_inputs = _pack({**grads, **{i: np.zeros(*m) for i, m in self.unmarked_meta.items()}}, self.n_inputs)
        for hook in self.hooks:
            out = hook(self.module, grad_inputs, self.grad_outputs)
            if out is None:
                continue
            _check_count(out, len(grad_inputs), "Backward hook", "grad_input")
            grad_inputs = tuple(out)
        self.grad_outputs = None
        return {i: _as_gradient(grad_inputs[i], meta[i], "grad_input", i) for i in grads}


def _mark_tensors(items, hook):
    """items with their Tensors that require grad replaced by one HookedIdentity node's outputs, whose backward
    calls hook, and {position: (shape, dtype)} of those; (items, None) when none requires grad or grad mode is
    off, as torch's _apply_on_tensors. A Tensor that needs no gradient is left as it is (its entry in grad_input
    is None, as torch's), so that the identity does not make it require grad."""
    marked = [i for i, item in enumerate(items) if isinstance(item, Tensor) and item.requires_grad]
    if not (marked and is_grad_enabled()):
        return items, None
    outs = apply(HookedIdentity, *[items[i] for i in marked], hook=_ByPosition(hook, marked))
    new = list(items)
    for i, out in zip(marked, outs):
        new[i] = out
    new = tuple(new) if type(items) is tuple else type(items)(*new)   # (a namedtuple keeps its type, as torch)
    return new, {i: (items[i].shape, items[i].dtype) for i in marked}


class _ByPosition:
    """A HookedIdentity's callback: its cotangents (one per marked Tensor, in order) handed to hook as
    {position: array or None}, and hook's answer, by position too, put back in order."""

    def __init__(self, hook, positions):
        self.hook, self.positions = hook, positions

    def __call__(self, grads):
        out = self.hook(dict(zip(self.positions, grads)))
        return tuple(out[i] for i in self.positions)


def _pack(grads, size):
    """A tuple of `size` entries: each gradient at its position, as a Tensor of its own (the walk's arrays may be
    shared with other consumers), None elsewhere (torch's _pack_with_none)."""
    packed = [None] * size
    for i, g in grads.items():
        packed[i] = None if g is None else Tensor._make(np.array(g, copy=True), False)
    return tuple(packed)


def _check_count(out, expected, what, name):
    if not isinstance(out, (tuple, list)):
        raise TypeError(f"{what} must return None or a tuple of {expected} {name} (Tensors or None), "
                        f"got {type(out).__name__}")
    if len(out) != expected:   # torch's RuntimeError and words
        raise RuntimeError(f"{what} returned an invalid number of {name}, got {len(out)}, but expected {expected}")


def _as_gradient(value, meta, name, i):
    """A hook's gradient entry as an array: None (no gradient flows on), or a Tensor of the shape and dtype
    meta = (shape, dtype) of the tensor it is the gradient of."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        raise TypeError(f"a module backward hook's {name}[{i}] must be a Tensor or None, got {type(value).__name__}")
    shape, dtype = meta
    if value.shape != shape:   # (torch's RuntimeError too: "hook 'hook' has changed the size of value")
        raise ShapeError(f"a module backward hook's {name}[{i}] must have shape {tuple(shape)}, got "
                         f"{tuple(value.shape)}")
    if value.dtype != dtype:   # (torch's RuntimeError too, rather than a silent cast)
        raise DTypeMismatchError(f"a module backward hook's {name}[{i}] must have dtype {dtype}, got {value.dtype}")
    return value._data
