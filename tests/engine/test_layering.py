"""The engine's boundary: the engine (the tape, views, the argument checks, Tensor, the factories) never imports
the layer built on it (nn, optim, kernels, compile), and the tape never imports Tensor's module (tensor.py hands
it the class: tape.py's docstring). Read from the modules' import statements with `ast`, so that a new import
fails here whether or not it happens to be imported already when the tests run.

The modules below the tape (tape.py, views.py, tensor_args.py) are held to it in every import, a function's local
one too; tensor.py and creation.py at import time (module level: a method may import what it needs when it runs,
as Tensor.to imports nn's device check). inplace.py holds the in-place methods that the Tensor class inherits, so
tensor.py imports it to define the class: it imports nothing built on the engine, and tensor.py itself only when a
method runs (an `if TYPE_CHECKING:` block, for annotations, never runs)."""
import ast
import os

import pytest
from conftest import REPO

PACKAGE = "tinygrad_rnn"
ABOVE_THE_ENGINE = ("tinygrad_rnn.nn", "tinygrad_rnn.optim", "tinygrad_rnn.optim_lr_scheduler",
                    "tinygrad_rnn.kernels", "tinygrad_rnn.compile")
# the engine's own modules that sit on the tape: what the tape, and what is below it, must not import
ON_THE_TAPE = ("tinygrad_rnn.tensor", "tinygrad_rnn.creation")
BELOW_TENSOR = ("tape.py", "views.py", "tensor_args.py")
# the Tensor class's base (tensor.py imports it to define the class): it imports tensor.py only when a method runs
UNDER_TENSOR_CLASS = ("inplace.py", "tensor_methods_more.py")
ENGINE = BELOW_TENSOR + UNDER_TENSOR_CLASS + ("tensor.py", "creation.py")


def imported_modules(source, module_level_only):
    """The absolute names of the modules the source's import statements name (a package module's relative
    imports resolved against tinygrad_rnn; `from . import nn` names tinygrad_rnn.nn)."""
    tree = ast.parse(source)
    nodes = _module_level(tree.body) if module_level_only else ast.walk(tree)
    names = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative to the package (these modules sit at its top: one dot is tinygrad_rnn)
                base = ".".join(p for p in (PACKAGE, base) if p)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]   # `from . import nn`: a submodule
    return names


def _module_level(body):
    """The statements run at import time: the module's own, and those inside its top-level if/try/with blocks
    (not inside a function or class body, nor an `if TYPE_CHECKING:` block, which only a type checker reads)."""
    for node in body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    yield from _module_level(child.body if isinstance(child, ast.ExceptHandler) else [child])


def forbidden(names, prefixes):
    return sorted({n for n in names for p in prefixes if n == p or n.startswith(p + ".")})


def _source(filename):
    with open(os.path.join(REPO, PACKAGE, filename)) as f:
        return f.read()


@pytest.mark.parametrize("filename", ENGINE)
def test_the_engine_imports_nothing_built_on_it(filename):
    names = imported_modules(_source(filename), module_level_only=filename in ("tensor.py", "creation.py"))
    assert forbidden(names, ABOVE_THE_ENGINE) == []


@pytest.mark.parametrize("filename", BELOW_TENSOR)
def test_the_tape_does_not_import_tensor_py(filename):
    """One-way: tensor.py and creation.py are built on the tape, never the other way round."""
    assert forbidden(imported_modules(_source(filename), module_level_only=False), ON_THE_TAPE) == []


@pytest.mark.parametrize("filename", UNDER_TENSOR_CLASS)
def test_the_tensor_class_s_base_does_not_import_tensor_py_when_loaded(filename):
    """tensor.py imports inplace.py before it defines Tensor: an import of tensor.py (or creation.py, built on it)
    at inplace.py's module level would be circular. Its methods import tensor.py's helpers when they run."""
    assert forbidden(imported_modules(_source(filename), module_level_only=True), ON_THE_TAPE) == []


def test_the_engine_files_are_the_package_modules():
    """Each file listed above exists: a file renamed or moved away would otherwise pass unread."""
    for filename in ENGINE:
        assert os.path.exists(os.path.join(REPO, PACKAGE, filename)), filename


@pytest.mark.parametrize("statement, module_level_only, found", [
    ("from .nn import functional", True, ["tinygrad_rnn.nn", "tinygrad_rnn.nn.functional"]),
    ("from . import compile", True, ["tinygrad_rnn.compile"]),
    ("from .kernels.blas import matmul", True, ["tinygrad_rnn.kernels.blas", "tinygrad_rnn.kernels.blas.matmul"]),
    ("import tinygrad_rnn.optim", True, ["tinygrad_rnn.optim"]),
    ("try:\n    from .optim_lr_scheduler import StepLR\nexcept ImportError:\n    pass", True,
     ["tinygrad_rnn.optim_lr_scheduler", "tinygrad_rnn.optim_lr_scheduler.StepLR"]),
    ("def f():\n    from .nn.checks import check_device", False, ["tinygrad_rnn.nn.checks",
                                                             "tinygrad_rnn.nn.checks.check_device"]),
    ("def f():\n    from .nn.checks import check_device", True, []),   # a method's import, at call time
    ("from .tensor import Tensor", False, []),   # (the engine's own: not above it)
    ("from .optim_extra import x", False, []),   # a name that only starts like optim is not optim
    ("if TYPE_CHECKING:\n    from .nn import Module", True, []),   # read by a type checker, never run
    ("if DEBUG:\n    from .nn import Module", True, ["tinygrad_rnn.nn", "tinygrad_rnn.nn.Module"]),   # run
])
def test_the_check_finds_an_import_from_above(statement, module_level_only, found):
    """The checks above can fail: an import from nn, optim, kernels or compile, absolute or relative, at the top
    or inside a try block, is named (a function's own only when every import is checked)."""
    assert forbidden(imported_modules(statement, module_level_only), ABOVE_THE_ENGINE) == found
