"""The hook-style weight_norm and spectral_norm of torch.nn.utils (before parametrizations existed), as torch 2.13
keeps them: the weight is replaced by free parameters (weight_g and weight_v; weight_orig) and a forward pre-hook
sets `module.weight` to the Tensor computed from them before every call. parametrizations.py has the newer forms.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..creation import randn
from ..tape import no_grad
from ..tensor import Tensor
from .module import Module, Parameter
from .parametrizations import norm_except_dim, weight_norm_of

__all__ = ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm", "WeightNorm", "SpectralNorm"]


def _pre_hooks(module):
    """The module's forward pre-hooks, id -> hook (empty when it has none)."""
    hooks = module._module_hooks
    return {} if hooks is None else hooks.forward_pre


class WeightNorm:
    """The forward pre-hook of weight_norm: `module.<name> = weight_g * weight_v / ||weight_v||` before each call."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name, self.dim = name, -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        return weight_norm_of(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        delattr(module, self.name + "_g")
        delattr(module, self.name + "_v")
        module.register_parameter(self.name, Parameter(weight._data))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """torch.nn.utils.weight_norm (deprecated there, with this FutureWarning): the parameter `name` becomes
    `<name>_g` (its norm over every dim but `dim`; None: the whole tensor's) and `<name>_v` (its value), and a
    forward pre-hook computes `module.<name>` from them before each call. Returns module."""
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    for hook in _pre_hooks(module).values():
        if isinstance(hook, WeightNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    fn = WeightNorm(name, dim)
    weight = getattr(module, name)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, fn.dim)._data))
    module.register_parameter(name + "_v", Parameter(weight._data))
    setattr(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def _remove_hook(module, kind, name, what):
    hooks = _pre_hooks(module)
    for key, hook in list(hooks.items()):
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            del hooks[key]
            return module
    raise ValueError(f"{what} of '{name}' not found in {module}")


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo weight_norm: `name` is a Parameter again, of the current weight's value (torch's)."""
    return _remove_hook(module, WeightNorm, name, "weight_norm")


def _unit(x, eps):
    return x / max(np.sqrt(np.dot(x, x)), eps)


class SpectralNorm:
    """The forward pre-hook of spectral_norm: `module.<name> = weight_orig / sigma` before each call, sigma from
    the buffers `<name>_u`, `<name>_v`, moved n_power_iterations steps first in training mode (v then u, as
    torch's hook; the parametrization moves u then v)."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.dim, self.n_power_iterations, self.eps = name, dim, n_power_iterations, eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            w = weight_mat._data
            for _ in range(self.n_power_iterations):   # in place: the buffers keep their objects
                v._data[...] = _unit(w.T @ u._data, self.eps)
                u._data[...] = _unit(w @ v._data, self.eps)
            u.bump_version()
            v.bump_version()
        sigma = (Tensor(u._data.copy()) * (weight_mat @ Tensor(v._data.copy()))).sum()
        return weight / sigma

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight._data))


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """torch.nn.utils.spectral_norm: the parameter `name` becomes `<name>_orig`, with buffers `<name>_u` and
    `<name>_v` (drawn from tr's generator: load a torch state_dict for torch's), and a forward pre-hook sets
    `module.<name>` to `weight_orig / sigma` before each call (SpectralNorm). dim None: 0. Returns module."""
    for hook in _pre_hooks(module).values():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    fn = SpectralNorm(name, n_power_iterations, 0 if dim is None else dim, eps)
    weight = module.__dict__.get(name)
    if not isinstance(weight, Parameter):
        raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
    h, w = fn.reshape_weight_to_matrix(weight).shape
    u = Tensor(_unit(randn(h, dtype=weight.dtype)._data, eps))
    v = Tensor(_unit(randn(w, dtype=weight.dtype)._data, eps))
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, Tensor(weight._data))
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo spectral_norm: `name` is a Parameter again, `weight_orig / sigma` with no power iteration (torch's)."""
    return _remove_hook(module, SpectralNorm, name, "spectral_norm")
