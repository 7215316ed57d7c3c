"""Checkpoints: `tr.save(obj, path)` and `tr.load(path)`, safe to use from a training loop.

    tr.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
             "vocab": vocab}, "ckpt.npz")
    ckpt = tr.load("ckpt.npz")
    model.load_state_dict(ckpt["model"]); opt.load_state_dict(ckpt["optimizer"])

What `obj` may hold: dicts, lists and tuples nested to any depth, whose leaves are numpy arrays
(numeric or bool), numpy scalars, Tensors, and Python ints, floats, bools, strings and None. Dict
keys may be strings, ints, floats, bools or None. Anything else is refused with a TypeError that
says where it sits (no pickle: a checkpoint cannot run code when loaded).

The file is an ordinary .npz (np.savez, uncompressed): each array is an entry `a0`, `a1`, ...,
and the entry `__checkpoint__` holds a JSON header describing the nesting, with the arrays as
references. It is written exactly at `path` (no '.npz' is appended).

The guarantees:
  * Round trips are bit-exact and keep types: an array comes back with its dtype, shape and
    bytes, a np.float32 scalar as a np.float32, a tuple as a tuple, int dict keys as ints (an
    optimizer's state dict is keyed by parameter index), a float as the same float (nan, inf
    and -0.0 included), a Tensor as a Tensor (a Parameter as a Parameter) with its requires_grad.
  * Saving is atomic: the data goes to a temporary file in the destination's directory, is
    fsync'ed, and only then renamed over `path` (os.replace). A crash or an exception mid-save
    leaves the previous checkpoint at `path` intact, and the temporary file is removed.
  * Loading never unpickles (allow_pickle=False), and a truncated or corrupted file raises
    CheckpointError (a ValueError) naming the file, not a zipfile or numpy traceback.
  * `load` returns plain data; checking it against a model is `Module.load_state_dict`'s job,
    which lists every missing or unexpected name and every shape or dtype that differs.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

FORMAT = "tinygrad_rnn.checkpoint"
VERSION = 1
HEADER = "__checkpoint__"
_MARKERS = ("__array__", "__scalar__", "__tensor__", "__tuple__", "__dict__")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: truncated, corrupted, or not a checkpoint."""


# ----------------------------------------------------------------------------- encoding
def _encode(obj):
    """(JSON-able description of obj, {entry name: ndarray})."""
    arrays = {}

    def put(arr):
        name = f"a{len(arrays)}"
        arrays[name] = arr
        return name

    def array(arr, where):
        if arr.dtype.kind not in "biufc" or arr.dtype.hasobject:
            raise TypeError(f"save: {where} is an array of dtype {arr.dtype}; a checkpoint holds numeric and "
                            "bool arrays only (no pickle)")
        return arr

    def key(k, where):
        if k is None or isinstance(k, (str, bool, int, float)) and not isinstance(k, np.generic):
            return k
        raise TypeError(f"save: {where} has a key of type {type(k).__name__}; dict keys must be str, int, "
                        "float, bool or None")

    def enc(x, where):
        if isinstance(x, Tensor):
            from .nn.module import Parameter  # nn sits above the engine; checkpoint above both
            kind = "parameter" if isinstance(x, Parameter) else "tensor"
            return {"__tensor__": put(array(x.data, where)), "kind": kind, "requires_grad": x.requires_grad}
        if isinstance(x, np.ndarray):
            return {"__array__": put(array(x, where))}
        if isinstance(x, np.generic):  # before float: np.float64 is a float subclass
            return {"__scalar__": put(array(np.asarray(x), where))}
        if x is None or isinstance(x, (bool, int, str)):
            return x
        if isinstance(x, float):
            return x  # json writes nan/inf as NaN/Infinity and repr() round-trips every float
        if isinstance(x, list):
            return [enc(v, f"{where}[{i}]") for i, v in enumerate(x)]
        if isinstance(x, tuple):
            return {"__tuple__": [enc(v, f"{where}[{i}]") for i, v in enumerate(x)]}
        if isinstance(x, dict):
            if all(type(k) is str for k in x) and not any(m in x for m in _MARKERS):
                return {k: enc(v, f"{where}[{k!r}]") for k, v in x.items()}
            return {"__dict__": [[key(k, where), enc(v, f"{where}[{k!r}]")] for k, v in x.items()]}
        raise TypeError(f"save: {where} is a {type(x).__name__}; a checkpoint holds arrays, Tensors, numbers, "
                        "strings, bools, None and dicts/lists/tuples of them (no pickle)")

    return enc(obj, "obj"), arrays


def _decode(desc, arrays):
    def dec(x):
        if isinstance(x, list):
            return [dec(v) for v in x]
        if not isinstance(x, dict):
            return x
        if "__array__" in x:
            return arrays[x["__array__"]]
        if "__scalar__" in x:
            return arrays[x["__scalar__"]][()]
        if "__tensor__" in x:
            data = arrays[x["__tensor__"]]
            if x["kind"] == "parameter":
                from .nn.module import Parameter
                return Parameter(data)
            return Tensor(data, requires_grad=x["requires_grad"])
        if "__tuple__" in x:
            return tuple(dec(v) for v in x["__tuple__"])
        if "__dict__" in x:
            return {k: dec(v) for k, v in x["__dict__"]}
        return {k: dec(v) for k, v in x.items()}

    return dec(desc)


# ----------------------------------------------------------------------------- save and load
def save(obj, path):
    """Write `obj` (see the module docstring for what it may hold) to `path`, atomically."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    desc, arrays = _encode(obj)  # before touching the disk: an unsavable object changes nothing
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": desc})
    arrays[HEADER] = np.frombuffer(header.encode("utf-8"), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the rename makes them the checkpoint
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable (not possible on every platform)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def load(path):
    """Read a checkpoint written by `save`; raises CheckpointError if it is damaged or not one."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}  # read everything now: zip CRCs are checked on read
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as e:
        raise CheckpointError(f"checkpoint file {path} is truncated or corrupted ({type(e).__name__}: {e}); "
                              "load an earlier checkpoint, or save again") from None
    if HEADER not in arrays:
        raise CheckpointError(f"checkpoint file {path} is not a tinygrad_rnn checkpoint (an .npz without the "
                              f"'{HEADER}' entry); read a plain .npz with np.load")
    try:
        header = json.loads(arrays.pop(HEADER).tobytes().decode("utf-8"))
        if header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')!r}")
        if header.get("version") != VERSION:
            raise CheckpointError(f"checkpoint file {path} has format version {header.get('version')}; this "
                                  f"tinygrad_rnn reads version {VERSION}")
        return _decode(header["root"], arrays)
    except CheckpointError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"checkpoint file {path} is truncated or corrupted (its header cannot be read: "
                              f"{type(e).__name__}: {e})") from None
