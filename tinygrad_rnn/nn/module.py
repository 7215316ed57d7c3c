"""Module and Parameter, the containers (ModuleList, ModuleDict, Sequential), and the simple layers:
Linear, Embedding, Dropout.

A Module finds its parameters and children by looking at its attributes (as torch.nn does), so a
user's cell is a class with a few Parameters and a forward: nothing to register by hand.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .. import random
from ..creation import tensor
from ..kernels import aligned
from ..tape import RemovableHandle
from ..tensor import FLOAT_DTYPES, ShapeError, Tensor, _zeroed_grad, get_default_dtype
from ..tensor_args import ArgumentValueError
from . import functional as F
from .checks import (
    ArgumentAssertionError,
    ArgumentTypeError,
    DTypeMismatchError,
    check_bool,
    check_device,
    check_float,
    check_int,
    is_device,
)
from .hooks import ModuleHooks, call_with_hooks

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Linear",
           "Embedding", "Dropout", "StateDictError"]


class Parameter(Tensor):
    """A Tensor that a Module reports in parameters(): torch's Parameter(data=None, requires_grad=True) (no data:
    an empty float32 one); dtype= (keyword-only) casts the data. An int64 or bool Tensor is refused, as torch
    refuses it (rather than turned into float32 numbers)."""

    def __init__(self, data: npt.ArrayLike | Tensor | None = None, requires_grad: bool = True, *,
                 dtype: npt.DTypeLike | None = None) -> None:
        if isinstance(data, Tensor) and data.dtype.kind != "f":
            raise ArgumentTypeError(f"Parameter: only float tensors can be parameters, got a {data.dtype} tensor "
                                    "(as torch: convert it with .float())")
        super().__init__(np.zeros(0, get_default_dtype()) if data is None else data, requires_grad=requires_grad,
                         dtype=dtype)

    _deep_copies_grad = False   # torch's Parameter.__deepcopy__ copies the data and requires_grad, not .grad

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("Tensor("):]


def check_dtype(dtype: npt.DTypeLike, owner: str | None = None) -> np.dtype:
    """np.float32 or np.float64 (or their names) as a numpy dtype, None the default (float32); anything else
    a TypeError."""
    prefix = f"{owner}: " if owner else ""
    if dtype is None:  # torch's "the default dtype"; numpy would read None as float64
        return np.dtype(get_default_dtype())
    try:
        as_dtype = np.dtype(dtype)
    except TypeError:  # numpy's own "data type 'x' not understood"
        raise TypeError(f"{prefix}dtype must be float32 or float64, got {dtype!r}") from None
    if as_dtype not in FLOAT_DTYPES:
        raise TypeError(f"{prefix}dtype must be float32 or float64, got {as_dtype}")
    return as_dtype


def uniform(shape: tuple[int, ...], bound: float, dtype: npt.DTypeLike) -> Parameter:
    """U(-bound, bound) from the library's generator (tr.manual_seed makes it reproducible), on a 64-byte boundary
    (the fused loops read a recurrent weight at every step: kernels/aligned.py)."""
    return Parameter(aligned.copy(random.generator().uniform(-bound, bound, size=shape).astype(dtype)))


def _cast(a, dtype):
    """a.astype(dtype), a C-contiguous array kept on a 64-byte boundary as `uniform` made it (another layout kept
    as astype keeps it)."""
    return aligned.copy(a, dtype) if a.flags.c_contiguous else a.astype(dtype)


def _is_module_list(value):
    """Whether a list or tuple attribute holds children: only when every item is a Module. (A loop:
    zero_grad asks every training step, and all() over a generator cost four times as much.)"""
    for v in value:
        if not isinstance(v, Module):
            return False
    return bool(value)


def _is_module_dict(value):
    """Whether a dict attribute holds children: only when every key is a str and every value a Module.
    (torch ignores a plain dict of Modules, silently; here it is registered as a list is, with the
    keys as names, so a model written `self.heads = {"a": Linear(...)}` trains all its heads.)"""
    for k, v in value.items():
        if not (isinstance(k, str) and isinstance(v, Module)):
            return False
    return bool(value)


def _children_of(name, value):
    """The (dotted name, Module) pairs an attribute holds: itself, or a list's / dict's items."""
    if isinstance(value, Module):
        return [(name, value)]
    if isinstance(value, (list, tuple)) and _is_module_list(value):
        return [(f"{name}.{i}", v) for i, v in enumerate(value)]
    if isinstance(value, dict) and _is_module_dict(value):
        return [(f"{name}.{k}", v) for k, v in value.items()]
    return []


class Module:
    """Base class of layers, cells and models.

    Parameters and children are found by looking at attributes: a Parameter, a Module, or a list,
    tuple or dict whose items are all Modules (a dict's keys become the children's names, as
    nn.ModuleDict's do). Buffers (tensors that are state but not parameters, e.g. running
    statistics) are declared with register_buffer and saved in state_dict, as in torch.
    """

    training = True
    call_super_init = False   # torch's class attribute (whether Module.__init__ calls super().__init__)
    # None until a hook is registered (register_*_hook), then the module's ModuleHooks (hooks.py): a call
    # without hooks costs this one test (a tiny fused layer's step is tens of microseconds).
    _module_hooks = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._module_hooks is None and ModuleHooks.everywhere is None:
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, self.forward, args, kwargs)

    # -- hooks, as torch.nn.Module's (hooks.py runs them; its docstring tells the order). Each register_* returns
    # a handle whose remove() takes the hook off (a `with` block removes it at its end); hooks run in the order
    # registered, a prepend=True one first.
    def _hooks(self):
        if self._module_hooks is None:
            object.__setattr__(self, "_module_hooks", ModuleHooks())
        return self._module_hooks

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """hook(module, args) before forward; it may return None, or new args (a non-tuple is made a 1-tuple).
        with_kwargs=True: hook(module, args, kwargs), returning None or a pair (new_args, new_kwargs)."""
        hooks = self._hooks()
        return hooks.add(f"{type(self).__name__}.register_forward_pre_hook", hooks.forward_pre, hook, prepend,
                         (("with_kwargs", with_kwargs, hooks.forward_pre_with_kwargs),))

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """hook(module, args, output) after forward (with_kwargs=True: hook(module, args, kwargs, output)); a
        value it returns other than None replaces the output. always_call=True runs it even when forward raised
        (with output None), as torch."""
        hooks = self._hooks()
        return hooks.add(f"{type(self).__name__}.register_forward_hook", hooks.forward, hook, prepend,
                         (("with_kwargs", with_kwargs, hooks.forward_with_kwargs),
                          ("always_call", always_call, hooks.forward_always_called)))

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_output) when the gradients of the module's outputs are complete, before they go
        into the module's graph; it may return a replacement tuple. grad_output: one entry per output (the
        Tensors of an output tuple, top level), None where an output is not a Tensor or got no gradient."""
        hooks = self._hooks()
        return hooks.add(f"{type(self).__name__}.register_full_backward_pre_hook", hooks.backward_pre, hook, prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) once the gradients of the module's positional Tensor arguments are
        complete; it may return a replacement grad_input tuple, which is what reaches the inputs. grad_input has
        one entry per positional argument, None where it is not a Tensor, zeros for a Tensor that does not require grad
        (all None when none does: the hooks then run once the outputs' gradients are known); as torch."""
        hooks = self._hooks()
        return hooks.add(f"{type(self).__name__}.register_full_backward_hook", hooks.backward, hook, prepend)

    # -- discovery: attributes that are Parameters, Modules, or lists/tuples/dicts of Modules.
    # zero_grad() walks them every training step, so each module keeps the names of its attributes
    # that may hold any (set by __setattr__) and the walk never scans plain settings. A list, tuple
    # or dict is looked into at walk time, so appending a Module to a registered list is seen.
    # _holders maps each name to its kind, in attribute order: "parameter" and "module" are torch's slots
    # (set to None, the name keeps its place, as in torch's _parameters and _modules), "items" a list or dict.
    def __setattr__(self, name, value):
        buffers = self.__dict__.get("_buffer_names")
        if buffers is not None and name in buffers and not (value is None or _is_plain_tensor(value)):
            raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to buffer {name!r} "
                            "(a Tensor or None expected)")
        holders = self.__dict__.get("_holders")
        if holders is None:
            holders = {}
            object.__setattr__(self, "_holders", holders)
        # (the common case, a setting assigned over a setting, costs one isinstance and one lookup)
        kind = _slot_kind(value) if isinstance(value, (Parameter, Module, list, tuple, dict)) else "plain"
        old = holders.get(name)
        if old is not None and old != kind:
            _check_slot(self, name, old, kind, value)
        object.__setattr__(self, name, value)
        if kind != "plain":
            holders[name] = kind
        elif old is not None and (value is not None or old not in ("parameter", "module")):
            del holders[name]   # (a parameter or child set to None keeps its slot and place, as torch's)

    def __delattr__(self, name):
        object.__delattr__(self, name)
        self.__dict__.get("_holders", {}).pop(name, None)
        self.__dict__.get("_buffer_names", {}).pop(name, None)

    def _reserve_slot(self, name, kind):
        """register_parameter(name, None) / add_module(name, None): the name keeps its place for a later value."""
        self.__dict__["_holders"][name] = kind

    def _members(self):
        """(own parameters, children) as lists of (name, value), in attribute order."""
        params, children = [], []
        attrs = self.__dict__
        for name in attrs.get("_holders", ()):
            value = attrs[name]
            if isinstance(value, Parameter):
                params.append((name, value))
            else:
                children.extend(_children_of(name, value))
        return params, children

    def _may_hold_modules(self):
        """Whether an attribute may hold a child (a module's slot, a list, tuple or dict): when none can, a walk over
        the modules stops here without building _members' lists (tr.nn.Recurrent looks for hooks on its cells at
        every call once any module has had one: nn/hooks.has_hooks)."""
        kinds = self.__dict__.get("_holders", {}).values()
        return "module" in kinds or "items" in kinds

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, child) for each direct child; a child held under two names is given once (its first
        name), as torch, so apply() and children() visit it once."""
        seen = set()
        for name, child in self._members()[1]:
            if id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module (name "") and every descendant, depth first; each once."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._members()[1]:
            yield from child.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) for this module's parameters, then each descendant's (depth first), as
        torch: names start with `prefix` + "."; each Parameter once unless remove_duplicate=False."""
        return self._named_members(lambda m: m._members()[0], prefix, recurse, remove_duplicate, "named_parameters")

    def _named_members(self, members, prefix, recurse, remove_duplicate, fn):
        """torch's Module._named_members: members(module) -> [(name, value)] of each module walked."""
        fn = f"{type(self).__name__}.{fn}"
        if not isinstance(prefix, str):
            raise TypeError(f"{fn}: prefix must be a str, got {type(prefix).__name__}")
        recurse = check_bool(fn, "recurse", recurse)
        remove_duplicate = check_bool(fn, "remove_duplicate", remove_duplicate)
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        seen, found = set(), []
        for mname, m in modules:
            for n, v in members(m):
                if remove_duplicate:
                    if id(v) in seen:
                        continue
                    seen.add(id(v))
                found.append(((mname + "." if mname else "") + n, v))
        return iter(found)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """A generator, as torch's (next(model.parameters()) works; list(...) for a list). A generator
        expression, not a generator function, so that a bad recurse= is refused at the call."""
        return (p for _, p in self.named_parameters(recurse=recurse))

    # -- buffers
    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Declare `name` a buffer: a Tensor (or None) that belongs to the module's state but is not a
        parameter (no gradient, not in parameters()). Persistent buffers are saved in state_dict and
        cast by to(); as torch.nn.Module.register_buffer."""
        if not isinstance(name, str):   # a TypeError, as torch's
            raise TypeError(f"{type(self).__name__}: buffer name must be a str, got {type(name).__name__} {name!r}")
        if not name or "." in name:
            raise KeyError(f"{type(self).__name__}: buffer name must be a non-empty str without '.', got {name!r}")
        if name in self.__dict__ and name not in self.__dict__.get("_buffer_names", {}):
            raise KeyError(f"{type(self).__name__}: attribute {name!r} already exists")
        if not (tensor is None or _is_plain_tensor(tensor)):
            raise TypeError(f"{type(self).__name__}: buffer {name!r} must be a Tensor (not a Parameter) or None, "
                            f"got {type(tensor).__name__}")
        if "_buffer_names" not in self.__dict__:
            object.__setattr__(self, "_buffer_names", {})
        self._buffer_names[name] = bool(persistent)  # name -> persistent, in registration order
        setattr(self, name, tensor)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Set attribute `name` to a Parameter (or None), as torch.nn.Module.register_parameter (an
        attribute assignment does the same here)."""
        fn = f"{type(self).__name__}.register_parameter"
        self._check_new_name(fn, "parameter", name)
        if not (param is None or isinstance(param, Parameter)):
            raise TypeError(f"{fn}: parameter {name!r} must be a Parameter or None, got {type(param).__name__} "
                            "(wrap a Tensor's data in tr.nn.Parameter)")
        setattr(self, name, param)
        if param is None:
            self._reserve_slot(name, "parameter")

    def add_module(self, name: str, module: Module | None) -> None:
        """Set attribute `name` to a child Module (or None), as torch.nn.Module.add_module."""
        fn = f"{type(self).__name__}.add_module"
        self._check_new_name(fn, "module", name)
        if not (module is None or isinstance(module, Module)):
            raise TypeError(f"{fn}: module {name!r} must be a Module or None, got {type(module).__name__}")
        setattr(self, name, module)
        if module is None and "_modules" not in self.__dict__:   # (a container keeps its modules by name)
            self._reserve_slot(name, "module")

    def register_module(self, name: str, module: Module | None) -> None:
        self.add_module(name, module)

    def _check_new_name(self, fn, kind, name):
        """As torch: a name that is already another kind of attribute (a buffer, a parameter where a module is
        added, a setting, a method) is a KeyError; the same kind is replaced."""
        if not isinstance(name, str):
            raise TypeError(f"{fn}: {kind} name must be a str, got {type(name).__name__}")
        _check_child_name(fn, name, kind)
        own = name in self.__dict__ and self.__dict__.get("_holders", {}).get(name, "plain") != kind
        if own or name in self.__dict__.get("_buffer_names", {}) or (hasattr(type(self), name) and name != "training"):
            raise KeyError(f"{fn}: attribute {name!r} already exists")

    def get_submodule(self, target: str) -> Module:
        """The descendant at dotted path `target` ("" is this module), as torch."""
        if not isinstance(target, str):
            raise TypeError(f"{type(self).__name__}.get_submodule: target must be a str, got {type(target).__name__}")
        module = self
        for i, part in enumerate(target.split(".") if target else []):
            children = dict(module._members()[1])
            if part not in children:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} "
                                     f"(looking up {'.'.join(target.split('.')[:i + 1])!r})")
            module = children[part]
        return module

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Set the descendant at dotted path `target` to `module`, as torch's: its parent must exist; strict=True
        only replaces a submodule that exists. The errors are torch's (ValueError for an empty target or a
        module that is not a Module, AttributeError for a path that does not lead to a module)."""
        if not isinstance(target, str):
            raise TypeError(f"{type(self).__name__}.set_submodule: target must be a str, got {type(target).__name__}")
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        strict = check_bool(f"{type(self).__name__}.set_submodule", "strict", strict)
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Parameter:
        """The Parameter at dotted path `target` (e.g. "encoder.weight"), as torch."""
        module_path, _, name = target.rpartition(".") if isinstance(target, str) else ("", "", target)
        params = dict(self.get_submodule(module_path)._members()[0])
        if name not in params:
            raise AttributeError(f"{type(self).__name__}.get_parameter: {target!r} is not a parameter")
        return params[name]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path `target` (e.g. "norm.running_mean"), as torch."""
        module_path, _, name = target.rpartition(".") if isinstance(target, str) else ("", "", target)
        buffers = dict(self.get_submodule(module_path)._own_buffers())
        if name not in buffers:
            raise AttributeError(f"{type(self).__name__}.get_buffer: {target!r} is not a buffer")
        return buffers[name]

    def _own_buffers(self, persistent_only=False):
        names = self.__dict__.get("_buffer_names", {})
        return [(n, self.__dict__[n]) for n, keep in names.items()
                if self.__dict__.get(n) is not None and (keep or not persistent_only)]

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members(lambda m: m._own_buffers(), prefix, recurse, remove_duplicate, "named_buffers")

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        return (b for _, b in self.named_buffers(recurse=recurse))

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's .grad to None, or with set_to_none=False zero each existing grad in
        place, as torch (p.grad keeps its object, as the optimizers' zero_grad).
        Once per training step, so it walks the registered attributes directly instead of building
        named_parameters' list (a parameter shared by two modules is visited twice, which is harmless)."""
        if not isinstance(set_to_none, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}.zero_grad: set_to_none must be True or False, got {set_to_none!r}")
        self._zero_grads(bool(set_to_none))

    def _zero_grads(self, set_to_none):
        attrs = self.__dict__
        for name in attrs.get("_holders", ()):
            value = attrs[name]
            if isinstance(value, Parameter):
                if value._grad is not None:   # (the array .grad wraps: no need of the .grad setter's checks)
                    value._grad = None if set_to_none else _zeroed_grad(value._grad)
            elif isinstance(value, Module):
                value._zero_grads(set_to_none)
            elif isinstance(value, dict):
                if _is_module_dict(value):
                    for child in value.values():
                        child._zero_grads(set_to_none)
            elif value is not None and _is_module_list(value):   # (None: an empty parameter or module slot)
                for child in value:
                    child._zero_grads(set_to_none)

    def train(self, mode: bool = True) -> Module:
        """Set training mode here and, through each child's own train(), below: as torch, so a subclass
        that overrides train() (e.g. to keep a frozen part in eval mode) is obeyed inside a model."""
        if not isinstance(mode, (bool, np.bool_)):   # a ValueError, as torch's
            raise ValueError(f"{type(self).__name__}.train: mode must be True or False, got "
                             f"{type(mode).__name__} {mode!r}")
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient recording on or off for every parameter (e.g. to freeze a part of a model)."""
        flag = check_bool(type(self).__name__ + ".requires_grad_", "requires_grad", requires_grad)
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call fn(module) on every child (recursively), then on this module, as torch: e.g.
        `model.apply(init_weights)`. Returns self."""
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}.apply: fn must be callable, got {type(fn).__name__}")
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- dtype
    def to(self, *args: Any, dtype: npt.DTypeLike | None = None, device: str | None = None) -> Module:
        """Cast every floating-point parameter and buffer (and their grads) to `dtype`, in place: the Parameter
        objects stay the same, so build the optimizer after (its state keeps the old dtype, as in
        torch). Accepts torch's forms: to(dtype), to(device), to(device, dtype), to(tensor),
        to(dtype=...). The only device is 'cpu'."""
        dtype = _to_dtype(type(self).__name__ + ".to", args, dtype, device)
        if dtype is None:
            return self
        for p in itertools.chain(self.parameters(), self.buffers()):
            # floating-point tensors only, as torch: an int64 count or a bool mask buffer keeps its dtype
            if p.dtype.kind == "f" and p.dtype != dtype:
                p._data = _cast(p._data, dtype)
                if p._grad is not None:
                    p._grad = p._grad.astype(dtype)
                p.bump_version()  # a graph recorded before the cast must not backpropagate into it
        for m in self.modules():  # layers that check their input's dtype keep it as `dtype`
            if isinstance(m.__dict__.get("dtype"), np.dtype):
                m.dtype = dtype
        return self

    def type(self, dst_type: Any) -> Module:
        """Cast every parameter and buffer, integer and boolean buffers included (and the gradients), to dst_type
        (a dtype or torch's type name, "torch.DoubleTensor"), in place, as torch's Module.type; to() casts only the
        floating-point ones. A parameter cannot become an integer (torch's RuntimeError)."""
        target = tensor(np.zeros(0, np.float32)).type(dst_type).dtype   # (Tensor.type reads torch's names)
        for t in itertools.chain(self.parameters(), self.buffers()):
            if isinstance(t, Parameter) and t.requires_grad and target.kind != "f":
                raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex "
                                   "dtype")
            if t._data.dtype != target:
                t._data = _cast(t._data, target)
                if t._grad is not None:
                    t._grad = t._grad.astype(target)
                t.bump_version()
        if target.kind == "f":   # layers that check their input's dtype keep it, as to() sets it
            for m in self.modules():
                if isinstance(m.__dict__.get("dtype"), np.dtype):
                    m.dtype = target
        return self

    def to_empty(self, *, device: Any, recurse: bool = True) -> Module:
        """Every parameter and buffer given new memory of its shape and dtype, not initialised (torch's: after
        building a model on the meta device; here the device is the CPU, and the values are whatever np.empty
        holds): the Parameter objects stay, as torch's."""
        fn = f"{type(self).__name__}.to_empty"
        check_device(fn, device)
        recurse = check_bool(fn, "recurse", recurse)
        for t in itertools.chain(self.parameters(recurse=recurse), self.buffers(recurse=recurse)):
            t._data = np.empty_like(t._data)
            t.bump_version()
        return self

    def half(self) -> Module:
        raise TypeError(f"{type(self).__name__}.half(): float16 is not a dtype here (float32 and float64 are)")

    def bfloat16(self) -> Module:
        raise TypeError(f"{type(self).__name__}.bfloat16(): bfloat16 is not a dtype here (float32 and float64 are)")

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    def cpu(self) -> Module:
        return self

    # -- state
    def _named_state(self):
        """name -> Tensor for the parameters and persistent buffers, in torch's order (each module's
        parameters, then its buffers, then its extra state, depth first). As torch's state_dict, a Parameter
        or module held under two names (tied weights) is listed under both, so that torch loads the dict and
        back. A module whose class defines get_extra_state has "<prefix>_extra_state" too, an _ExtraState."""
        own = {}
        for mname, m in self.named_modules(remove_duplicate=False):
            prefix = mname + "." if mname else ""
            for n, t in m._own_state():
                own[prefix + n] = t
            if m._has_extra_state():
                own[prefix + _EXTRA_STATE] = _ExtraState(m)
        return own

    def _modules_children_first(self, seen=None):
        """Each module once, every one after its children (in their order): torch's load recursion's order."""
        seen = set() if seen is None else seen
        seen.add(id(self))
        for _, child in self._members()[1]:
            if id(child) not in seen:
                yield from child._modules_children_first(seen)
        yield self

    def _own_state(self):
        """(name, Tensor) of this module's own parameters, then its persistent buffers: its tensors in a state_dict."""
        return self._members()[0] + self._own_buffers(persistent_only=True)

    def _has_extra_state(self):
        return getattr(type(self), "get_extra_state", Module.get_extra_state) is not Module.get_extra_state

    def get_extra_state(self) -> Any:
        """Override (with set_extra_state) to keep state that is not a tensor (a vocabulary, a config) in the
        module's state_dict, under "_extra_state", as torch's. The base class's is never called."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called: a module "
                           "saves extra state only when its class defines get_extra_state")

    def set_extra_state(self, state: Any) -> None:
        """Override (with get_extra_state): load_state_dict passes it the value saved under "_extra_state"."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called: a module "
                           "whose class defines get_extra_state must define set_extra_state to load it")

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """This module's own entries (not its children's): parameters, persistent buffers, extra state, as
        torch's; a subclass may override it, as in torch."""
        for name, t in self._own_state():
            destination[prefix + name] = t if keep_vars else t.detach()
        if self._has_extra_state():
            destination[prefix + _EXTRA_STATE] = self.get_extra_state()

    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Tensor]:
        """name -> the parameter (or persistent buffer) detached, as torch's: a Tensor sharing its memory,
        off the tape (requires_grad=False), so that writing into a value writes into the model (the EMA
        idiom `v.mul_(d).add_(src, alpha=1 - d)`) and a value changes under training: a checkpoint that
        must not is `copy.deepcopy(model.state_dict())`, as in torch. keep_vars=True gives the Parameters
        and Tensors themselves. As torch: names start with `prefix`, and `destination` (a dict) is filled
        and returned if given."""
        fn = f"{type(self).__name__}.state_dict"
        if not isinstance(prefix, str):
            raise TypeError(f"{fn}: prefix must be a str, got {type(prefix).__name__}")
        keep_vars = check_bool(fn, "keep_vars", keep_vars)
        out = {} if destination is None else destination
        held = self.__dict__
        for hook in list(held.get("_state_dict_pre_hooks", {}).values()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(out, prefix, keep_vars)
        for name, child in self._members()[1]:   # (a child held under two names is saved under both, as torch)
            child.state_dict(destination=out, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in list(held.get("_state_dict_hooks", {}).values()):
            if hook(self, out, prefix, {"version": 1}) is not None:
                raise RuntimeError("state_dict post-hook must return None (it may change the state_dict in place)")
        return out

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, prefix, keep_vars) before this module's state_dict() saves anything, as torch's."""
        return self._add_state_hook("_state_dict_pre_hooks", "register_state_dict_pre_hook", hook)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, state_dict, prefix, local_metadata) after this module (and its children) saved theirs, as
        torch's: it may change state_dict in place and must return None."""
        return self._add_state_hook("_state_dict_hooks", "register_state_dict_post_hook", hook)

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, incompatible_keys) after load_state_dict has loaded, as torch's: it may take keys out of
        incompatible_keys.missing_keys / unexpected_keys in place (a strict load then does not fail on them), and
        must return None."""
        return self._add_state_hook("_load_state_dict_post_hooks", "register_load_state_dict_post_hook", hook)

    def _add_state_hook(self, where, fn, hook):
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}.{fn}: hook must be callable, got {type(hook).__name__}")
        hooks = self.__dict__.setdefault(where, {})   # (not an attribute Module registers)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def load_state_dict(self, state_dict: Mapping[str, npt.ArrayLike], strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy arrays into the parameters and buffers in place (optimisers keep their references).

        Checks names (all of them if strict) and shapes, and reports every difference at once, in
        torch's words. As torch's param.copy_(value), a value is cast to its parameter's dtype (a
        float64 checkpoint loads into a float32 model); only numbers and bools can be. Accepts anything
        array-like as values (torch tensors converted with .numpy()). Returns (missing_keys,
        unexpected_keys), a NamedTuple as torch's; a failure raises StateDictError, a ValueError that is
        also the RuntimeError torch raises.

        assign=True, as torch: the module takes the dict's values instead of copying them, keeping their
        dtype. A Parameter value becomes the parameter as it is, an array or a plain Tensor is wrapped in
        a new Parameter, and either takes the old parameter's requires_grad; a buffer takes a Tensor as it is. Build the
        optimizer after such a load: it holds the old Parameters."""
        fn = f"load_state_dict for {type(self).__name__}"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{fn}: state_dict must be a dict (name -> array), got {type(state_dict).__name__}")
        strict, assign = check_bool(fn, "strict", strict), check_bool(fn, "assign", assign)
        state_dict = self._run_load_pre_hooks(fn, state_dict, strict)
        own = self._named_state()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        # post-hooks may take keys out of the lists: then a strict load checks them after the hooks, as torch's
        # (which has loaded the rest by then); without post-hooks a strict load fails before writing anything
        post_hooked = [m for m in self._modules_children_first() if m.__dict__.get("_load_state_dict_post_hooks")]
        problems = [] if post_hooked else _key_problems(strict, missing, unexpected)
        arrays = {}
        for name in (k for k in own if k in state_dict):
            if type(own[name]) is _ExtraState:
                continue
            value = _as_array(state_dict[name])
            problem = _load_problem(name, value, own[name], assign)
            if problem:
                problems.append(problem)
            else:
                arrays[name] = value
        if problems:
            raise StateDictError(f"{fn} failed: " + "; ".join(problems))
        if assign:
            self._assign_state({name: state_dict[name] for name in arrays}, own)
        else:
            for name, value in arrays.items():
                own[name]._data[...] = value   # numpy casts to the parameter's dtype, as torch's copy_
                own[name].bump_version()
        return self._after_load(fn, state_dict, own, IncompatibleKeys(missing, unexpected), post_hooked, strict)

    def _after_load(self, fn, state_dict, own, keys, post_hooked, strict):
        """What load_state_dict does once the tensors are in: set_extra_state, the post-hooks (each module's after
        its children's, as torch's recursion runs them), then, if there were post-hooks, a strict load's check of
        the keys they left."""
        for name, entry in own.items():
            if type(entry) is _ExtraState and name in state_dict:
                entry.module.set_extra_state(state_dict[name])
        for m in post_hooked:
            for hook in list(m._load_state_dict_post_hooks.values()):
                if hook(m, keys) is not None:
                    raise AssertionError("Hooks registered with register_load_state_dict_post_hook are not expected "
                                         "to return new values; change incompatible_keys in place")
        problems = _key_problems(strict, keys.missing_keys, keys.unexpected_keys) if post_hooked else []
        if problems:
            raise StateDictError(f"{fn} failed: " + "; ".join(problems))
        return keys

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs) before
        load_state_dict reads the dict, as torch's: it may rename or add keys of state_dict in place (a copy of the
        caller's); prefix is this module's name in the loading module's keys plus "." ("" for that module); a
        message appended to error_msgs fails the load."""
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}.register_load_state_dict_pre_hook: hook must be callable, got "
                            f"{type(hook).__name__}")
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook: Callable, with_module: bool = False) -> RemovableHandle:
        """torch's private form (what parametrizations.weight_norm registers): without the module argument unless
        with_module=True."""
        hooks = self.__dict__.setdefault("_load_state_dict_pre_hooks", {})   # (not an attribute Module registers)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = (lambda *args: hook(self, *args)) if with_module else hook
        return handle

    def _run_load_pre_hooks(self, fn, state_dict, strict):
        """The state_dict after every load_state_dict pre-hook of this module and its descendants has run on a
        copy of it (the caller's dict is left alone); the dict itself when none has one."""
        hooked = [(name, m) for name, m in self.named_modules() if m.__dict__.get("_load_state_dict_pre_hooks")]
        if not hooked:
            return state_dict
        state_dict, errors = dict(state_dict), []
        for name, m in hooked:
            for hook in list(m._load_state_dict_pre_hooks.values()):
                hook(state_dict, name + "." if name else "", {}, strict, [], [], errors)
        if errors:
            raise StateDictError(f"{fn} failed: " + "; ".join(errors))
        return state_dict

    def _assign_state(self, values, own):
        """load_state_dict(assign=True): each value set as the attribute it names (see there)."""
        modules = dict(self.named_modules(remove_duplicate=False))
        for name, value in values.items():
            module_name, _, attr = name.rpartition(".")
            old = own[name]
            if isinstance(old, Parameter):
                if not isinstance(value, Parameter):
                    value = Parameter(_as_array(value))
                value.requires_grad_(old.requires_grad)   # a given Parameter's too, as torch
            elif not _is_plain_tensor(value):
                value = tensor(_as_array(value))
            setattr(modules[module_name], attr, value)

    def __repr__(self) -> str:
        # every name a child is held under, shared or not, as torch's repr
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._members()[1]]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}({extra}\n" + "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        return ""


_EXTRA_STATE = "_extra_state"   # torch's key suffix for get_extra_state()'s value


class _ExtraState(NamedTuple):
    """In _named_state: the module whose get_extra_state() is saved under this key."""
    module: "Module"


def _key_problems(strict, missing, unexpected):
    """A strict load's complaints about keys, in torch's order."""
    problems = []
    if strict and missing:
        problems.append(f"missing keys: {missing}")
    if strict and unexpected:
        problems.append(f"unexpected keys: {unexpected}")
    return problems


class StateDictError(ValueError, RuntimeError):
    """What load_state_dict raises for names or shapes that do not match: a ValueError as the library's
    other refusals, and the RuntimeError that torch code catches around load_state_dict."""


class IncompatibleKeys(NamedTuple):
    """What load_state_dict returns (torch's _IncompatibleKeys): the model's names the dict lacked,
    and the dict's names the model does not have (both empty after a strict load)."""
    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        """torch's words when every key matched (what a notebook prints after a load)."""
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys!r}, unexpected_keys={self.unexpected_keys!r})"


def _as_array(value):
    """A state dict's value as an ndarray: a Tensor's array, a torch tensor's .numpy(), or array-like."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.detach().numpy() if hasattr(value, "detach") else value.numpy()
    return np.asarray(value)


def _load_problem(name, value, p, assign):
    """What keeps `value` from loading into `p` (torch's wording for a size mismatch), or None."""
    if value.dtype.kind not in "biuf":
        return (f"{name}: a value of dtype {value.dtype} cannot be copied into a {p.dtype} "
                "parameter (numbers or bools only)")
    if value.shape != p.shape:
        return (f"size mismatch for {name}: copying a param with shape {tuple(value.shape)} from "
                f"checkpoint, the shape in current model is {tuple(p.shape)}")
    if assign and isinstance(p, Parameter) and value.dtype not in FLOAT_DTYPES:
        return f"{name}: assign=True makes the value the parameter, so it must be float32 or float64, got {value.dtype}"
    return None


def _to_dtype(fn, args, dtype, device):
    """The dtype that Module.to's arguments name (None for none), checking the device is the CPU."""
    for a in args:  # positional: a device ("cpu", "cpu:0", torch.device), a tensor (its dtype), or a dtype
        if is_device(a):
            device = a
        else:
            dtype = a.dtype if isinstance(a, Tensor) else a
    check_device(fn, device)
    return None if dtype is None else check_dtype(dtype, fn)


def _slot_kind(value):
    """What a Parameter, Module, list, tuple or dict makes its attribute: a "parameter", a "module", or "items"
    (a list, tuple or dict, which may hold Modules); anything else (None too) is "plain"."""
    if isinstance(value, Parameter):
        return "parameter"
    if isinstance(value, Module):
        return "module"
    return "items"


def _check_slot(module, name, old, new, value):
    """torch refuses to put anything but a Parameter (or None) in a parameter's place, and anything but a Module
    (or None) in a child's place (a Parameter may replace a module): `model.weight = tensor` would otherwise
    silently take the weight out of parameters() and state_dict()."""
    if value is None or old not in ("parameter", "module") or (old, new) == ("module", "parameter"):
        return
    expected = "tr.nn.Parameter" if old == "parameter" else "tr.nn.Module"
    raise TypeError(f"{type(module).__name__}: cannot assign a {type(value).__name__} as {old} {name!r} ({expected} "
                    "or None expected, as torch)" + (": wrap it in tr.nn.Parameter, or set .data"
                                                      if old == "parameter" and isinstance(value, Tensor) else ""))


def _is_plain_tensor(value):
    return isinstance(value, Tensor) and not isinstance(value, Parameter)


# ----------------------------------------------------------------------------- containers
def _check_child_name(owner, name, kind="module"):
    """A child's name is one step of a dotted path (state_dict's keys, get_submodule), as torch requires."""
    if not name or "." in name:
        raise KeyError(f"{owner}: a {kind} name must be non-empty and without '.', got {name!r}")


class _Container(Module):
    """Children kept in one ordered dict `_modules` (name -> Module), named as torch names them:
    "0", "1", ... in a ModuleList or Sequential, the keys in a ModuleDict."""

    def _may_hold_modules(self):
        return True

    def _members(self):
        params, children = Module._members(self)  # a subclass's own attributes count too
        return params, list(self._modules.items()) + [(n, m) for n, m in children if not n.startswith("_modules.")]

    def __len__(self) -> int:
        return len(self._modules)

    # As torch: a Module assigned to a container (seq.head = m, seq.add_module("head", m)) joins its
    # modules, so a Sequential calls it in forward and len() counts it; seq.head / getattr(seq, "0") read them.
    def __setattr__(self, name, value):
        modules = self.__dict__.get("_modules")
        if modules is not None and isinstance(value, Module):
            if name in self.__dict__:
                Module.__delattr__(self, name)
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to module "
                                f"{name!r} (a Module or None expected)")
            del modules[name]
            return
        Module.__setattr__(self, name, value)

    def __getattr__(self, name):  # only called when normal lookup fails
        modules = self.__dict__.get("_modules")
        if modules is not None and name in modules:
            return modules[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute or module {name!r}")

    def __delattr__(self, name):
        modules = self.__dict__.get("_modules")
        if modules is not None and name in modules:
            del modules[name]
        else:
            Module.__delattr__(self, name)

    def _check_module(self, value, where):
        if not isinstance(value, Module):
            raise TypeError(f"{type(self).__name__}: {where} must be a Module, got {type(value).__name__}")
        return value


class _ModuleSequence(_Container):
    """What ModuleList and Sequential share: indexing, slicing, len, iteration, append."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        self._modules = {}
        for m in modules if modules is not None else ():
            self.append(m)

    def _index(self, idx):
        if isinstance(idx, (bool, np.bool_)) or not isinstance(idx, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} indices must be ints or slices, got {type(idx).__name__}")
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {int(idx)} is out of range for a {type(self).__name__} of length {n}")
        return int(idx) % n

    def __getitem__(self, idx):
        items = list(self._modules.values())
        if isinstance(idx, slice):  # as torch: a Sequential's slice keeps the names, a ModuleList's renumbers
            return Sequential(dict(list(self._modules.items())[idx])) if isinstance(self, Sequential) \
                else type(self)(items[idx])
        return items[self._index(idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[self._index(idx)]
        self._modules[key] = self._check_module(module, f"item {idx}")

    def __delitem__(self, idx):
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[self._index(idx)]
        self._modules = {str(i): m for i, m in enumerate(items)}  # renumbered, as torch does

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module) -> Module:
        self._modules[str(len(self._modules))] = self._check_module(module, f"item {len(self._modules)}")
        return self

    def extend(self, modules: Iterable[Module]) -> Module:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, self._check_module(module, "the inserted item"))
        self._modules = {str(i): m for i, m in enumerate(items)}

    def pop(self, index: int = -1) -> Module:
        """Remove and return the module at `index` (the rest renumbered), as torch."""
        module = self[index]
        del self[index]
        return module

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> _ModuleSequence:
        """A new container of both's modules (the same objects), renumbered, as torch's + does."""
        if isinstance(self, Sequential) and not isinstance(other, Sequential):
            raise TypeError(f"Sequential + {type(other).__name__}: add another Sequential, as torch")
        if not isinstance(other, Iterable):
            return NotImplemented
        modules = list(self) + list(other)
        return Sequential(*modules) if isinstance(self, Sequential) else type(self)(modules)


class ModuleList(_ModuleSequence):
    """A list of Modules whose parameters the owner sees, as torch.nn.ModuleList (a plain list of
    Modules is registered too; ModuleList adds the torch names and methods)."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(): iterate over it and call its modules")


class Sequential(_ModuleSequence):
    """Modules called in order, each on the previous one's output, as torch.nn.Sequential:
    Sequential(m0, m1, ...) names them "0", "1", ...; Sequential(OrderedDict(name=module)) uses the names."""

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        self._modules = {}
        if len(modules) == 1 and isinstance(modules[0], dict):
            for key, m in modules[0].items():
                if not isinstance(key, str):
                    raise TypeError(f"Sequential: module names must be str, got {type(key).__name__}")
                _check_child_name("Sequential", key)
                self._modules[key] = self._check_module(m, f"module {key!r}")
        else:
            for i, m in enumerate(modules):
                self._modules[str(i)] = self._check_module(m, f"argument {i}")

    def insert(self, index: int, module: Module) -> Sequential:
        """As torch's Sequential.insert: index in [-len, len], and returns self (ModuleList's returns None)."""
        n = len(self._modules)
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"Sequential.insert: index must be an int, got {type(index).__name__}")
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {int(index)} is out of range for a Sequential of length {n}")
        super().insert(int(index), module)
        return self

    @property
    def layers(self) -> list[Module]:
        """The modules as a list (the name this class used before it took torch's)."""
        return list(self._modules.values())

    def forward(self, input: Any) -> Any:
        for layer in self._modules.values():
            input = layer(input)
        return input


class ModuleDict(_Container):
    """Modules by name, as torch.nn.ModuleDict: md["name"], md.name, keys/values/items, update."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        self._modules = {}
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be str, got {type(key).__name__}")
        _check_child_name("ModuleDict", key)
        self._modules[key] = self._check_module(module, f"value of {key!r}")

    def __delitem__(self, key):
        del self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __iter__(self):
        return iter(list(self._modules))

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        return self._modules.pop(key)

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, m in pairs:
            self[key] = m

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(): call the modules it holds")


def _as_parameter(value):
    """What ParameterList and ParameterDict store: a Tensor as a Parameter (a Parameter itself as it is), as torch's;
    any other object as given."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)   # requires_grad=True, as torch's Parameter(tensor)
    return value


def _parameter_line(name, value):
    """One line of a ParameterList's or ParameterDict's repr, in torch's words: "Parameter containing: [float32 of
    size 2x3]" (a Module in full; another object by its type)."""
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        return f"    ({name}): {kind} containing: [{value.dtype} of size {'x'.join(map(str, value.shape))}]"
    if isinstance(value, Module):
        return f"    ({name}): " + repr(value).replace("\n", "\n    ")
    return f"    ({name}): Object of type: {type(value).__name__}"


class ParameterList(Module):
    """Parameters held in a list, as torch.nn.ParameterList: their names are "0", "1", ... (state_dict's keys and
    named_parameters' too), a Tensor given is made a Parameter, indexing, slicing, len, iteration, append, extend."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        self._size = 0
        if values is not None:
            self.extend(values)

    def _index(self, idx):
        if isinstance(idx, (bool, np.bool_)) or not isinstance(idx, (int, np.integer)):
            raise TypeError(f"ParameterList indices must be integers or slices, not {type(idx).__name__}")
        if not -self._size <= idx < self._size:
            raise IndexError(f"index {int(idx)} is out of range")
        return int(idx) % self._size

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(self._size)[idx]])
        return getattr(self, str(self._index(idx)))

    def __setitem__(self, idx: int, param: Any) -> None:
        setattr(self, str(self._index(idx)), _as_parameter(param))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return iter([self[i] for i in range(self._size)])

    def __iadd__(self, parameters: Iterable[Any]) -> ParameterList:
        return self.extend(parameters)

    def append(self, value: Any) -> ParameterList:
        self._size += 1
        setattr(self, str(self._size - 1), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        if isinstance(values, (str, bytes, Tensor)) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def __repr__(self) -> str:
        lines = [_parameter_line(i, value) for i, value in enumerate(self)]
        return "ParameterList(\n" + "\n".join(lines) + "\n)" if lines else "ParameterList()"

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterList has no forward(): use the parameters it holds")


class ParameterDict(Module):
    """Parameters by name, as torch.nn.ParameterDict: pd["name"] (a Tensor given is made a Parameter), keys, values,
    items, update, pop, get, clear; the names are state_dict's keys. As torch's update, a plain dict's items are
    taken in sorted key order, an OrderedDict's, a ParameterDict's or a sequence of pairs' in their own."""

    def __init__(self, parameters: Any = None) -> None:
        self._keys = {}   # the keys in insertion order (a dict used as an ordered set)
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict keys must be str, got {type(key).__name__}")
        value = _as_parameter(value)
        if isinstance(value, Parameter):
            self.register_parameter(key, value)   # torch's KeyError for a '.' or a name the class already has
        else:
            _check_child_name("ParameterDict", key, "parameter")
            setattr(self, key, value)
        self._keys[key] = None

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> Iterable[str]:
        return list(self._keys)

    def values(self) -> Iterable[Any]:
        return [self[k] for k in self._keys]

    def items(self) -> Iterable[tuple[str, Any]]:
        return [(k, self[k]) for k in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._keys else default

    def pop(self, key: str) -> Any:
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def update(self, parameters: Any) -> None:
        if isinstance(parameters, (ParameterDict, OrderedDict)):
            pairs = list(parameters.items())
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        elif isinstance(parameters, Iterable) and not isinstance(parameters, (str, bytes, Tensor)):
            pairs = [_key_value_pair(i, item) for i, item in enumerate(parameters)]
        else:
            raise TypeError(f"ParametersDict.update should be called with an iterable of key/value pairs, but got "
                            f"{type(parameters).__name__}")
        for key, value in pairs:
            self[key] = value

    def __repr__(self) -> str:
        lines = [_parameter_line(key, value) for key, value in self.items()]
        return "ParameterDict(\n" + "\n".join(lines) + "\n)" if lines else "ParameterDict()"

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ParameterDict has no forward(): use the parameters it holds")


def _key_value_pair(i, item):
    """ParameterDict.update's element i of a sequence: a (key, value) pair, or torch's error in its words."""
    if isinstance(item, (str, bytes)) or not isinstance(item, Iterable):
        raise TypeError(f"ParameterDict update sequence element #{i} should be Iterable; is {type(item).__name__}")
    pair = tuple(item)
    if len(pair) != 2:
        raise ValueError(f"ParameterDict update sequence element #{i} has length {len(pair)}; 2 is required")
    return pair


class Linear(Module):
    """y = x W^T + b, W (out_features, in_features); torch's initialisation U(-1/sqrt(in), 1/sqrt(in))."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: npt.DTypeLike | None = None) -> None:
        check_device("Linear", device)
        in_features = check_int("Linear", "in_features", in_features, 0)
        out_features = check_int("Linear", "out_features", out_features, 0)
        bias, dtype = check_bool("Linear", "bias", bias), check_dtype(dtype, "Linear")
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / np.sqrt(in_features) if in_features > 0 else 0.0
        self.weight = uniform((out_features, in_features), bound, dtype)
        self.bias = uniform((out_features,), bound, dtype) if bias else None

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"Linear: input must be a Tensor, got {type(input).__name__}")
        if input.shape[-1:] != (self.in_features,):   # torch's RuntimeError too
            raise ShapeError(f"Linear: input.shape[-1] must equal in_features: expected {self.in_features}, "
                             f"got {input.shape[-1] if input.ndim else 'a scalar'}")
        weight = self.weight   # read once: a parametrized weight is computed at each read (parametrize.py)
        if input.dtype != weight.dtype:   # torch's RuntimeError too
            raise DTypeMismatchError(f"Linear: input dtype {input.dtype} does not match the parameters' "
                                     f"{weight.dtype}")
        y = input @ weight.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under torch's name for MultiheadAttention's out_proj (torch.nn.modules.linear's class of that name,
    there to keep quantization from swapping it), so that the module's repr and type name are torch's."""


class Embedding(Module):
    """Rows of a (num_embeddings, embedding_dim) table picked by integer ids; initialised N(0, 1) as torch.
    padding_idx (as torch): that row starts at zero and gets no gradient, so it stays what it is set to.
    max_norm, norm_type: as torch, each call first scales the picked rows whose norm exceeds max_norm down
    to it, in place (F.embedding). scale_grad_by_freq=True and sparse=True are refused. _weight and
    _freeze are torch's too (what from_pretrained passes): a given table, and requires_grad=False."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | npt.ArrayLike | None = None, _freeze: bool = False,
                 device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        check_device("Embedding", device)
        dtype = check_dtype(dtype)
        num_embeddings = check_int("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = check_int("Embedding", "embedding_dim", embedding_dim)
        for name, size in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if size < 0:   # torch's RuntimeError, making the weight (a ValueError too, as it was here)
                raise ArgumentValueError(f"Embedding: {name} must be >= 0, got {size} (Trying to create tensor with "
                                         f"negative dimension: [{num_embeddings}, {embedding_dim}])")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = F._padding_index(padding_idx, num_embeddings)
        self.max_norm = None if max_norm is None else check_float("Embedding", "max_norm", max_norm, 0)
        self.norm_type = check_float("Embedding", "norm_type", norm_type, 0)
        F._refuse_flag("Embedding", "scale_grad_by_freq", scale_grad_by_freq,
                       "the gradients are not scaled by the indices' frequencies here")
        F._refuse_flag("Embedding", "sparse", sparse, "gradients are dense arrays here")
        self.scale_grad_by_freq, self.sparse = False, False
        if _weight is None:
            self.weight = Parameter(random.generator().standard_normal((num_embeddings, embedding_dim)).astype(dtype))
            if self.padding_idx is not None:
                self.weight._data[self.padding_idx] = 0
        else:   # as torch: the table as given (its dtype, its padding row untouched)
            self.weight = Parameter(_weight)
            if self.weight.shape != (num_embeddings, embedding_dim):   # torch asserts it
                raise ArgumentAssertionError(f"Embedding: _weight must have shape ({num_embeddings}, {embedding_dim}) "
                                             f"(num_embeddings, embedding_dim), got {tuple(self.weight.shape)}")
        self.weight.requires_grad_(not check_bool("Embedding", "_freeze", _freeze))

    @classmethod
    def from_pretrained(cls, embeddings: Tensor | npt.ArrayLike, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose table is `embeddings` (2-D; its array is shared when it is float32 or float64,
        as torch shares the tensor), frozen (requires_grad=False) unless freeze=False; as torch."""
        shape = np.shape(embeddings._data if isinstance(embeddings, Tensor) else embeddings)
        if len(shape) != 2:   # torch asserts it
            raise ArgumentAssertionError(f"Embedding.from_pretrained: embeddings must be 2-D (num_embeddings, "
                                         f"embedding_dim), got shape {shape}")
        return cls(shape[0], shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, input: Tensor | npt.ArrayLike) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "") + (
            f", max_norm={self.max_norm}" if self.max_norm is not None else "") + (
            f", norm_type={self.norm_type}" if self.norm_type != 2 else "")


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        self.p, self.inplace = check_float("Dropout", "p", p, 0, 1), check_bool("Dropout", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
