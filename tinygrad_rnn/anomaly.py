"""Anomaly mode: `with tr.detect_anomaly():` stops at the first operation that makes a NaN or an Inf.

    with tr.detect_anomaly():
        loss = model(x)...        # a forward op whose output is not finite raises here
        loss.backward()           # a backward step whose gradient is not finite raises here

The error (AnomalyError, a FloatingPointError) names the operation, the user's line that created
it (file:line and the code), and the library function it ran in; for a backward fault it also says
whether the incoming gradient was already non-finite (the fault is then further downstream, e.g.
in the loss).

The mode also catches saved values changed under the tape: each recorded node keeps a CRC-32 of
each input's array, and backward recomputes it before using the node, so writing into a Tensor's
`.data` (or an optimizer step) between forward and backward raises InplaceModificationError, naming
the tensor and the operation that read it, instead of giving silently wrong gradients. Creation
sites are found by walking the Python stack past tinygrad_rnn's own frames when each node is
recorded: that walk, and an isfinite() over every result, are why this mode costs time, and why it
is off unless asked for. It works through the tape's two hook lists in
tensor.py, which are empty otherwise.
"""
from __future__ import annotations

import linecache
import os
import sys
import threading
import zlib
from collections.abc import Callable

import numpy as np

from .tensor import InplaceModificationError, _backward_checks, _forward_checks

__all__ = ["detect_anomaly", "is_anomaly_enabled", "AnomalyError"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_lock = threading.Lock()
_depth = 0


class AnomalyError(FloatingPointError):
    """A NaN or Inf appeared in a forward result or a gradient while detect_anomaly() was on."""


def _checksum(a):
    return zlib.crc32(np.ascontiguousarray(a).view(np.uint8)) if a.size else 0


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
        if not filename.endswith(("tensor.py", "anomaly.py")) and library is None:
            library = f"{os.path.relpath(filename, os.path.dirname(_PACKAGE_DIR.rstrip(os.sep)))}:" \
                      f"{frame.f_lineno} ({frame.f_code.co_name})"
        frame = frame.f_back
    return "<unknown>", library


def _describe(arrays):
    """'nan'/'inf'/'nan and inf' in 3 of 12 values, or None if all finite (None entries skipped)."""
    bad = total = 0
    kinds = set()
    for a in arrays:
        if a is None or not isinstance(a, np.ndarray) or a.dtype.kind not in "fc":
            continue
        finite = np.isfinite(a)
        if not finite.all():
            bad += a.size - int(finite.sum())
            kinds.update(["nan"] if np.isnan(a).any() else [])
            kinds.update(["inf"] if np.isinf(a).any() else [])
        total += a.size
    return f"{' and '.join(sorted(kinds))} in {bad} of {total} values" if bad else None


def _site_text(where):
    site, library = where[:2]
    return f"created at {site}" + (f" (inside {library})" if library else "")


def _forward_check(prim, inputs, outs, node):
    where = creation_site()
    if node is not None:
        node.where = where + ([(i, t, t.data, _checksum(t.data)) for i, t in enumerate(inputs)],)
    problem = _describe(outs)
    if problem is None:
        return
    upstream = _describe([t.data for t in inputs])
    cause = (f"; its input already held {upstream}, so look upstream (the data, or a parameter)"
             if upstream else "; its inputs were all finite")
    raise AnomalyError(f"detect_anomaly: forward of {prim.__name__} produced {problem}, {_site_text(where)}{cause}")


def _backward_check(node, g, grads):
    if node.where is not None:
        for i, t, array, crc in node.where[2]:
            if _checksum(array) != crc:
                kind = ("a leaf that requires grad (a parameter?)" if t.requires_grad and t.is_leaf else
                        "a leaf that does not require grad (input data?)" if t.is_leaf else
                        f"the output of {t.node.name}" if t.node is not None else "a tensor")
                raise InplaceModificationError(
                    f"detect_anomaly: input {i} of {node.name} ({kind}, shape {array.shape}, dtype {array.dtype}) "
                    f"was modified in place after {node.name} read it, {_site_text(node.where)}; its gradients "
                    "would be wrong. Do not write into .data (or call optimizer.step()) between forward and "
                    "backward: call backward() first, or write into a copy (.data.copy()).")
    problem = _describe(grads)
    if problem is None:
        return
    incoming = _describe(g if isinstance(g, list) else [g])
    where = _site_text(node.where) if node.where else "created before detect_anomaly() was on (site unknown)"
    cause = (f"; the gradient flowing into it already held {incoming}, so look downstream (the loss)"
             if incoming else "; the gradient flowing into it was finite")
    raise AnomalyError(f"detect_anomaly: backward of {node.name} produced {problem} in its input gradients, "
                       f"{where}{cause}")


class detect_anomaly:
    """Context manager (or decorator) turning NaN/Inf in any forward result or gradient into an
    AnomalyError that names the operation and where it was created. Nestable; process-wide."""

    def __enter__(self) -> detect_anomaly:
        global _depth
        with _lock:
            if _depth == 0:
                _forward_checks.append(_forward_check)
                _backward_checks.append(_backward_check)
            _depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _depth
        with _lock:
            _depth -= 1
            if _depth == 0:
                _forward_checks.remove(_forward_check)
                _backward_checks.remove(_backward_check)

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


def is_anomaly_enabled() -> bool:
    return _depth > 0
