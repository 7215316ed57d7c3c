"""Parametrizations, as torch.nn.utils.parametrize: `module.weight` computed from other tensors at each read.

register_parametrization(module, "weight", P) moves the Parameter out of the module into
`module.parametrizations.weight.original` (the same object, so an optimizer built before still holds it) and
makes `weight` a property of the module's class that returns P(original). The class is swapped for a subclass
made for this module alone, `Parametrized<Class>`, so the property is this module's and no other's; removing the
last parametrization swaps the class back. Reading `module.weight` inside a step records P's operations on the
tape, so gradients flow to `original`; the state_dict keys are torch's (`parametrizations.weight.original`, or
`original0`, `original1`, ... when P's right_inverse returns several tensors), so a torch state_dict loads.
"""
from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence

from ..tape import no_grad
from ..tensor import Tensor
from .module import Module, ModuleDict, ModuleList, Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "transfer_parametrizations_and_params", "ParametrizationList"]

# cached(): the parametrized tensors computed while a `with cached():` block runs, by (id(module), name)
_cache_enabled = 0
_cache: dict = {}


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Inside the block each parametrized tensor is computed once, at its first read, and that result is
    returned by every later read (e.g. a recurrent weight read at each of T steps), as torch's cached()."""
    global _cache_enabled, _cache
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _register_parameter_or_buffer(module, name, value):
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set_in_place(dest, src):
    """torch's dest.set_(src): dest (the same object, so optimizers keep it) now holds src's values and shape."""
    dest._data = src._data
    dest.bump_version()   # a graph recorded with the old values must not backpropagate into the new ones


class ParametrizationList(ModuleList):
    """What `module.parametrizations[name]` is: the parametrizations registered on one tensor, applied in order,
    and the unconstrained tensor(s) they start from (`original`, or `original0`, `original1`, ...). Made by
    register_parametrization, as torch's."""

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype
        new = self._right_inverse_at_registration(original)
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if original.dtype != new.dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                                 f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}")
            with no_grad():
                _set_in_place(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            self._register_originals(new, original)
        if not self.unsafe:
            _check_unchanged(self(), shape, dtype)

    def _right_inverse_at_registration(self, original):
        """original taken back through each parametrization's right_inverse, last first; one that has none, or
        raises NotImplementedError, is taken as the identity (torch's rule)."""
        new = original
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        return new

    def _register_originals(self, new, original):
        for i, value in enumerate(new):
            if not isinstance(value, Tensor):
                raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                                 f"Got element {i} of the sequence with type {type(value).__name__}.")
            if isinstance(original, Parameter):
                value = Parameter(value.detach(), original.requires_grad)
            value.requires_grad_(original.requires_grad)
            _register_parameter_or_buffer(self, f"original{i}", value)

    def right_inverse(self, value: Tensor) -> None:
        """Assigning `module.weight = value`: the originals are set (in place) to value taken back through every
        parametrization's right_inverse, last first; one without right_inverse is a RuntimeError."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype {value.dtype} while "
                                     f"`original` has dtype {self.original.dtype}")
                _set_in_place(self.original, value)
            else:
                self._set_originals(value)

    def _set_originals(self, values):
        if not isinstance(values, Sequence):
            raise ValueError(f"'right_inverse' must return a sequence of tensors. Got {type(values).__name__}.")
        if len(values) != self.ntensors:
            raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. Got a "
                             f"sequence of length {len(values)}.")
        for i, value in enumerate(values):
            original = getattr(self, f"original{i}")
            if not isinstance(value, Tensor):
                raise ValueError("'right_inverse' must return a sequence of tensors or reference-type opaques. "
                                 f"Got element {i} of type {type(value).__name__}.")
            if original.dtype != value.dtype:
                raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype {value.dtype} while "
                                 f"`original{i}` has dtype {original.dtype}")
            _set_in_place(original, value)

    def forward(self) -> Tensor:
        """The parametrized tensor: the first parametrization on the original(s), each next one on the result."""
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


def _check_unchanged(z, shape, dtype):
    """A safe parametrization returns a tensor of the original's shape and dtype (torch's checks)."""
    if not isinstance(z, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(z).__name__}.")
    if z.dtype != dtype:
        raise ValueError("Registering a parametrization may not change the dtype of the tensor, unless `unsafe` flag "
                         f"is enabled.\nunparametrized dtype: {dtype}\nparametrized dtype: {z.dtype}")
    if z.shape != shape:
        raise ValueError("Registering a parametrization may not change the shape of the tensor, unless `unsafe` flag "
                         f"is enabled.\nunparametrized shape: {shape}\nparametrized shape: {tuple(z.shape)}")


# ----------------------------------------------------------------------------- the module's class and property
def _inject_new_class(module):
    """module's class becomes `Parametrized<Class>`, a subclass of its own (torch's), which will hold the
    properties. Pickling it is refused as in torch (state_dict is the way); deepcopy copies it."""
    cls = module.__class__

    def default_deepcopy(self, memo):
        replica = memo.get(id(self))
        if replica is None:
            replica = memo[id(self)] = self.__new__(self.__class__)
            state = cls.__getstate__(self)   # (a recurrent layer's leaves out its compiled kernels)
            replica.__dict__.update(copy.deepcopy(state if state is not None else {}, memo))
        return replica

    def getstate(self):
        raise RuntimeError("Serialization of parametrized modules is only supported through state_dict(). See:\n"
                           "https://pytorch.org/tutorials/beginner/saving_loading_models.html"
                           "#saving-loading-a-general-checkpoint-for-inference-and-or-resuming-training")

    def setattr_(self, name, value):
        # `module.weight = value` on a parametrized name goes to the property (right_inverse) alone: Module's
        # __setattr__ would also register a Parameter value under the name as a parameter of the module
        if name in type(self).__dict__ and isinstance(type(self).__dict__[name], property):
            object.__setattr__(self, name, value)
        else:
            cls.__setattr__(self, name, value)

    members = {"__getstate__": getstate, "__setattr__": setattr_}
    if hasattr(cls, "_parametrized_forward"):   # a recurrent layer computes its weights once per call (recurrent.py)
        members["_forward"] = cls._parametrized_forward
    if not hasattr(cls, "__deepcopy__"):
        members["__deepcopy__"] = default_deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), members)


def _inject_property(module, tensor_name):
    """`module.<tensor_name>` becomes a property: reading it runs the parametrizations (once per cached() block),
    assigning to it sets the originals through right_inverse."""
    if hasattr(module, tensor_name):
        raise AssertionError(f"Module already has an attribute named '{tensor_name}'")

    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(self), tensor_name)
        tensor = _cache.get(key)
        if tensor is None:
            tensor = _cache[key] = parametrization()
        return tensor

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


# ----------------------------------------------------------------------------- registering and removing
def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make `module.<tensor_name>` read as parametrization(original), as torch.nn.utils.parametrize's.

    The first parametrization of a parameter or buffer moves it to `module.parametrizations[tensor_name].original`
    (the same object, set in place to right_inverse(value) if the parametrization has one; `original0`,
    `original1`, ... if right_inverse returns a sequence). A second one on the same name is appended: they run in
    registration order. unsafe=False checks that the result keeps the tensor's shape and dtype (ValueError);
    unsafe=True skips every check. The parametrization's training mode is set to the module's. Returns module."""
    if not isinstance(module, Module):
        raise TypeError(f"register_parametrization: module must be a tr.nn.Module, got {type(module).__name__}")
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: parametrization must be a tr.nn.Module (a ModuleList holds it), "
                        f"got {type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            _check_appended(module, tensor_name, parametrization)
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe
    elif _holds_parameter_or_buffer(module, tensor_name):
        original = getattr(module, tensor_name)
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    return module


def _holds_parameter_or_buffer(module, name):
    """Whether `name` is one of the module's own parameters or (non-None) buffers."""
    own = module.__dict__
    return isinstance(name, str) and (isinstance(own.get(name), Parameter) or (
        name in own.get("_buffer_names", {}) and own.get(name) is not None))


def _check_appended(module, tensor_name, parametrization):
    """torch's checks of a parametrization added to a parametrized tensor: it keeps the shape and dtype, and so
    does its right_inverse (if it has one)."""
    y = getattr(module, tensor_name)
    x = parametrization(y)
    if not isinstance(x, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(x).__name__}.")
    for what, a, b in (("dtype", x.dtype, y.dtype), ("shape", x.shape, y.shape)):
        if a != b:
            raise ValueError(f"Registering a parametrization may not change the {what} of the tensor, unless the "
                             f"`unsafe` flag is enabled.\nmodule.{tensor_name}.{what}: {b}\n"
                             f"parametrization(module.{tensor_name}).{what}: {a}")
    if not hasattr(parametrization, "right_inverse"):
        return
    try:
        z = parametrization.right_inverse(x)
    except NotImplementedError:
        return
    if not isinstance(z, Tensor):
        raise ValueError(f"parametrization.right_inverse must return a tensor. Got: {type(z).__name__}")
    for what, a, b in (("dtype", z.dtype, y.dtype), ("shape", z.shape, y.shape)):
        if a != b:
            raise ValueError(f"The tensor returned by parametrization.right_inverse must have the same {what} as "
                             f"module.{tensor_name}, unless the `unsafe` flag is enabled.\n"
                             f"module.{tensor_name}.{what}: {b}\nreturned {what}: {a}")


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether `module` has a parametrization on `tensor_name` (on any tensor when None), as torch."""
    parametrizations = module.__dict__.get("parametrizations") if isinstance(module, Module) else None
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Take the parametrizations off `module.<tensor_name>`, which becomes a parameter (or buffer) again, as torch:
    leave_parametrized=True keeps its current value (the original object set to it in place), False gives back
    the original (refused, ValueError, when there are several: original0, original1, ...). The last removal
    gives the module its class back. Returns module."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                _set_in_place(original, getattr(module, tensor_name))
    elif leave_parametrized:
        t = getattr(module, tensor_name)
        original = Parameter(t.detach()) if t.requires_grad else t.detach()
    else:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized in "
                         "terms of a sequence of tensors.")
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The module's class before its parametrizations (its own class when it has none), as torch."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Register from_module's parametrizations (the same parametrization objects) on to_module, and make
    to_module's originals from_module's (shared), for one tensor or all; a name to_module lacks is made a
    Parameter of from_module's current value first. As torch. Returns to_module."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach()))
        source = from_module.parametrizations[name]
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        originals = ["original"] if source.is_tensor else [f"original{i}" for i in range(source.ntensors)]
        for original in originals:
            setattr(target, original, getattr(source, original))
    return to_module
