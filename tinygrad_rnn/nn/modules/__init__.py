"""torch.nn.modules' path, for torch code that imports from it: `tr.nn.modules.module` holds Module and the global
hooks (`register_module_forward_hook`, ...), as torch.nn.modules.module does."""
from . import module

__all__ = ["module"]
