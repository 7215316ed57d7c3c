"""Anomaly mode, as torch.autograd.detect_anomaly: `with tr.detect_anomaly():` stops the backward pass at the
first operation whose backward returns NaN, and names the line of your code that ran that operation.

    with tr.detect_anomaly():
        loss = model(x)...        # recorded as usual; each operation notes where it was created
        loss.backward()           # a backward step that returns NaN raises here

As torch's, the mode checks backward only, and only for NaN: a forward result may hold NaN or +-inf (a -inf
attention or padding mask, a log of 0 that a later where() discards) and a gradient may be infinite.
detect_anomaly(check_nan=False) keeps the rest of the mode (the creation sites, the in-place check below)
without the NaN check, as torch's. The error (AnomalyError, a RuntimeError as torch's, and a
FloatingPointError) names the operation, the user's line that created it (file:line and the code), and the
library function it ran in, and says whether the gradient flowing into it was already NaN (the fault is then
further downstream, e.g. in the loss).

The mode also catches saved values changed under the tape: each recorded node keeps a CRC-32 of
each input's array, and backward recomputes it before using the node, so writing into a Tensor's numpy array
(`x.numpy()`) or an optimizer step between forward and backward raises InplaceModificationError, naming
the tensor and the operation that read it, instead of giving silently wrong gradients. Creation
sites are found by walking the Python stack past tinygrad_rnn's own frames when each node is
recorded: that walk, and an isnan() over every gradient, are why this mode costs time, and why it
is off unless asked for. It works through the tape's two hook lists in
tape.py, which are empty otherwise.
"""
from __future__ import annotations

import linecache
import os
import sys
import threading
import zlib
from collections.abc import Callable

import numpy as np

from .tape import InplaceModificationError, _backward_checks, _forward_checks

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "AnomalyError"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_lock = threading.Lock()
_mode = {"enabled": False, "check_nan": True}   # process-wide, as torch's


class AnomalyError(FloatingPointError, RuntimeError):
    """A backward step returned NaN while detect_anomaly() was on (a RuntimeError, as torch raises)."""


def _checksum(a):
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8)) if a.size else 0


# the engine's files, between the user's line and apply: never "the library function" a fault is inside
_ENGINE_FILES = ("tape.py", "tensor.py", "inplace.py", "creation.py", "anomaly.py")


def creation_site() -> tuple[str, str | None]:
    """(user's 'file:line in function: code', innermost library function or None) of the caller."""
    frame = sys._getframe(1)
    library = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR):
            code = linecache.getline(filename, frame.f_lineno).strip()
            site = f"{filename}:{frame.f_lineno} in {frame.f_code.co_name}" + (f": {code}" if code else "")
            return site, library
        if not filename.endswith(_ENGINE_FILES) and library is None:
            library = f"{os.path.relpath(filename, os.path.dirname(_PACKAGE_DIR.rstrip(os.sep)))}:" \
                      f"{frame.f_lineno} ({frame.f_code.co_name})"
        frame = frame.f_back
    return "<unknown>", library


def _site_text(where):
    site, library = where[:2]
    return f"created at {site}" + (f" (inside {library})" if library else "")


def _forward_check(prim, inputs, outs, node, attrs):
    """Note where a recorded operation was created, and a checksum of each input. Results are not checked: as in
    torch, a forward value may be NaN or infinite (a -inf mask); only a NaN gradient is an anomaly."""
    if node is not None:
        node.where = creation_site() + ([(i, t, t._data, _checksum(t._data)) for i, t in enumerate(inputs)],)


def _backward_check(node, g, grads):
    if node.where is not None:
        for i, t, array, crc in node.where[2]:
            if _checksum(array) != crc:
                kind = ("a leaf that requires grad (a parameter?)" if t.requires_grad and t.is_leaf else
                        "a leaf that does not require grad (input data?)" if t.is_leaf else
                        f"the output of {t.node.name()}" if t.node is not None else "a tensor")
                raise InplaceModificationError(
                    f"detect_anomaly: input {i} of {node.name()} ({kind}, shape {tuple(array.shape)}, dtype "
                    f"{array.dtype}) "
                    f"was modified in place after {node.name()} read it, {_site_text(node.where)}; its gradients "
                    "would be wrong. Do not write into the array (x.numpy()) or call optimizer.step() between forward "
                    "and backward: call backward() first, or write into a copy (x.numpy().copy()).")
    if _mode["check_nan"]:
        _check_nan(node, g, grads)


def _check_nan(node, g, grads):
    """torch's check: a backward step whose returned gradients hold NaN (an infinite one is allowed)."""
    for i, grad in enumerate(grads):
        problem = _describe_nan(grad)
        if problem is None:
            continue
        incoming = _describe_nan(g if isinstance(g, list) else [g])
        where = _site_text(node.where) if node.where else "created before detect_anomaly() was on (site unknown)"
        cause = (f"; the gradient flowing into it already held {incoming}, so look downstream (the loss)"
                 if incoming else "; the gradient flowing into it held no NaN")
        raise AnomalyError(f"detect_anomaly: Function '{node.name()}' returned nan values in its {_ordinal(i)} output "
                           f"({problem}) in backward, {where}{cause}")


def _describe_nan(arrays):
    """'nan in 3 of 12 values', or None without NaN (None entries and non-float arrays skipped)."""
    arrays = arrays if isinstance(arrays, (list, tuple)) else [arrays]
    bad = total = 0
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind in "fc":
            bad += int(np.isnan(a).sum())
            total += a.size
    return f"nan in {bad} of {total} values" if bad else None


def _ordinal(i):
    return f"{i}{'th' if 10 <= i % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(i % 10, 'th')}"


def _check_flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _set_mode(enabled, check_nan):
    """Switch the mode (installing or removing the tape's hooks) and return the mode it replaced."""
    with _lock:
        previous = dict(_mode)
        if enabled and not previous["enabled"]:
            _forward_checks.append(_forward_check)
            _backward_checks.append(_backward_check)
        elif previous["enabled"] and not enabled:
            _forward_checks.remove(_forward_check)
            _backward_checks.remove(_backward_check)
        _mode.update(enabled=enabled, check_nan=check_nan)
    return previous


class detect_anomaly:
    """Context manager (or decorator) turning a NaN returned by any backward step into an AnomalyError that names
    the operation and where it was created, as torch.autograd.detect_anomaly(check_nan=True); check_nan=False
    keeps the creation sites and in-place checks only. Nestable (the mode outside is restored on exit);
    process-wide, as torch's."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = _check_flag("detect_anomaly: check_nan", check_nan)

    def __enter__(self) -> detect_anomaly:
        self._previous = _set_mode(True, self.check_nan)
        return self

    def __exit__(self, *exc: object) -> None:
        _set_mode(self._previous["enabled"], self._previous["check_nan"])

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class set_detect_anomaly:
    """As torch.autograd.set_detect_anomaly(mode, check_nan=True): switches anomaly mode on or off at once; used as
    a context manager, it restores the previous mode on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        mode = _check_flag("set_detect_anomaly: mode", mode)
        check_nan = _check_flag("set_detect_anomaly: check_nan", check_nan)
        self._previous = _set_mode(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _set_mode(self._previous["enabled"], self._previous["check_nan"])


def is_anomaly_enabled() -> bool:
    return _mode["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks gradients for NaN (torch's name; True when the mode is off, as torch's)."""
    return _mode["check_nan"]
