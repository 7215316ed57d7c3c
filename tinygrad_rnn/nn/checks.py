"""Checks of constructor arguments, shared by every layer, cell and module.

Each raises in the library's style, naming the owner, the argument, what was expected and what was
given: TypeError for a value of the wrong type, ValueError for one out of range (as torch splits
them). A wrong type is refused rather than converted: `batch_first="False"` is truthy, `bias=0`
would be read as False, `dropout='0.5'` is a typo of 0.5 - each would silently mean something the
caller did not intend.
"""
import inspect
import numbers
import os
import warnings

import numpy as np

from .. import tensor_args
from ..tensor_args import ArgumentValueError, DTypeNotImplementedError  # noqa: F401  (the engine's, raised by nn too)

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep   # tinygrad_rnn/


class DTypeMismatchError(TypeError, ValueError, RuntimeError):
    """An input or a state whose dtype is not the parameters' (a recurrent layer's or cell's): a TypeError, as the
    library's other dtype mixes, and what torch raises there, a ValueError for a layer's input ("RNN input dtype
    ... does not match weight dtype") and a RuntimeError for a state or a cell's input. An `except` of any of the
    three catches it, so torch code that catches torch's error still does."""


class DropoutTypeError(TypeError, ValueError):
    """A recurrent layer's dropout of the wrong type ("0.5", True): a TypeError, as every typed argument of the
    library, and the ValueError torch's RNN, GRU and LSTM raise for it."""


class StateArityError(TypeError, ValueError, RuntimeError):
    """A cell's state that is not what the cell keeps: one Tensor where it keeps a tuple (h, c), a tuple of
    the wrong length, or a tuple where it keeps one Tensor. A ValueError, as the library's other argument
    errors, and what torch raises there: a TypeError for one Tensor given to an LSTMCell, a RuntimeError for a
    tuple of the wrong length (torch's RNNCell and GRUCell fail on a tuple with an AttributeError)."""


class LengthsError(ValueError, RuntimeError):
    """lengths that torch's packing refuses with a RuntimeError (a length of 0 or past the padded length, one per
    sequence too many or too few, unsorted with enforce_sorted=True): a ValueError, as the library's other argument
    errors, and a RuntimeError, as torch's."""


class ArgumentTypeError(TypeError, RuntimeError):
    """An argument of the wrong type or rank where torch raises a RuntimeError (pad_sequence's sequences that are
    not iterable, packing's lengths that are not 1-D, class indices or embedding rows that are floats or bools, a pad
    of odd length): a TypeError, as the library's other typed arguments, and torch's RuntimeError."""


class ArgumentAssertionError(ValueError, AssertionError):
    """What torch.nn checks with an AssertionError (Embedding's padding_idx outside [-num_embeddings,
    num_embeddings), a _weight of another shape, from_pretrained's embeddings not 2-D): a ValueError, as the
    library's other range checks, and the AssertionError torch code may catch."""


class NumberTypeError(TypeError, ValueError):
    """A number argument of the wrong type where torch raises a ValueError (calculate_gain's param,
    clip_grad_norm_'s norm_type 'fro'): a TypeError, as the library's other typed arguments, and torch's ValueError."""


class ModeNotImplementedError(ValueError, NotImplementedError):
    """A mode, or a combination of mode and input, that torch has no implementation for and refuses with a
    NotImplementedError (F.pad's unknown mode, a 'reflect' / 'replicate' / 'circular' pad of a length the input's
    rank does not take): a ValueError, as the library's other argument checks, and torch's NotImplementedError
    (itself a RuntimeError)."""


class InputRankError(TypeError, IndexError):
    """pack_padded_sequence's input or unpad_sequence's padded_sequences of fewer than 2 dimensions: a TypeError, as
    the library's other checks of an input, and the IndexError torch raises there ("Dimension out of range")."""


def _got(value):
    return f"{type(value).__name__} {value!r}"


def type_name(value):
    """The name of value's type for an error message, with its module when it is another library's: a torch.Tensor
    given where a Tensor of this library is needed read "must be a Tensor, got Tensor"."""
    cls = type(value)
    if cls.__module__ == "builtins" or cls.__module__.split(".")[0] in ("tinygrad_rnn", "numpy"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def check_int(owner, name, value, low=None):
    """An int (Python or numpy; not a bool) >= low, returned as a Python int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be an int, got {_got(value)}")
    if low is not None and value < low:
        raise ValueError(f"{owner}: {name} must be >= {low}, got {int(value)}")
    return int(value)


def check_bool(owner, name, value):
    """True or False (a numpy bool too); an int or a string is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {_got(value)}")
    return bool(value)


def check_float(owner, name, value, low=None, high=None):
    """A real number (not a bool) in [low, high], returned as a Python float (nan refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {_got(value)}")
    value = float(value)
    if (low is not None and not value >= low) or (high is not None and not value <= high) or value != value:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{owner}: {name} must be in [{lo}, {hi}], got {value:g}")
    return value


def check_choice(owner, name, value, choices):
    """One of `choices` (compared by ==, so a string argument must be spelled exactly)."""
    if not any(type(value) is type(c) and value == c for c in choices):
        raise ValueError(f"{owner}: {name} must be one of {', '.join(repr(c) for c in choices)}, got {_got(value)}")
    return value


def is_device(value):
    """Whether value names a device: a str other than a dtype's name, a torch.device (by duck typing,
    so torch need not be imported), or an int (an accelerator's index, as torch reads x.to(0))."""
    if isinstance(value, str):
        return value not in ("float32", "float64", "float", "double")
    if tensor_args._is_int(value):
        return True
    return type(value).__name__ == "device" and isinstance(getattr(value, "type", None), str)


def check_device(owner, device):
    """torch's device= where the CPU is the only device: None, "cpu", "cpu:N" or torch.device("cpu"); an int is an
    accelerator's index, torch's RuntimeError on a CPU-only build."""
    if device is None:
        return None
    if tensor_args._is_int(device):
        tensor_args.refuse_device_index(device)
    name = device if isinstance(device, str) else getattr(device, "type", None) if is_device(device) else None
    if not isinstance(name, str) or name.split(":")[0] != "cpu":
        raise ValueError(f"{owner}: device must be 'cpu' (tinygrad_rnn runs on the CPU only), got {device!r}")
    return "cpu"


def warn_user(message, category):
    """warnings.warn at the first frame outside tinygrad_rnn, the user's line, however many of the library's
    frames are in between (a layer's plans, Module.__call__, the hooks a module may have): a fixed stacklevel
    points into the library as soon as one more frame is on the way."""
    frame, level = inspect.currentframe().f_back, 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    del frame
    warnings.warn(message, category, stacklevel=level)
