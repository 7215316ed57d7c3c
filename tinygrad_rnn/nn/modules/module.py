"""torch.nn.modules.module's names: Module, and the hooks every module runs (torch's global hooks; nn/hooks.py runs
them, before each module's own)."""
from ..hooks import (
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
)
from ..module import Module

__all__ = ["Module", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_full_backward_hook"]
