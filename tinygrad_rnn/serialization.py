"""Checkpoints: `tr.save(obj, path)` and `tr.load(path)`, safe to use from a training loop.

(Named as torch's module for the same job; `tr.checkpoint`, recomputation in the backward pass,
lives in recompute.py.)

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
references. It is written exactly at `path` (no '.npz' is appended). Both functions also take a binary
file object (an open file, io.BytesIO) where torch takes one: `save` writes the .npz straight to it at its
position, `load` reads from its position to its end (the guarantees below about files on disk are then the
caller's).

The guarantees:
  * Round trips are bit-exact and keep types: an array comes back with its dtype, shape and
    bytes, a np.float32 scalar as a np.float32, a tuple as a tuple, int dict keys as ints (an
    optimizer's state dict is keyed by parameter index), a float as the same float (nan, inf
    and -0.0 included), a Tensor as a Tensor (a Parameter as a Parameter) with its requires_grad.
  * Saving is atomic: the data goes to a temporary file in the destination's directory, is
    fsync'ed, and only then renamed over `path` (os.replace). A crash or an exception mid-save
    leaves the previous checkpoint at `path` intact, and the temporary file is removed; a killed
    save leaves its temporary `.NAME.tmp-PID-...`, which the next save to the same path deletes
    (once that process is gone). A path that is a symlink keeps it: its target is replaced. The
    file gets the mode a new file gets under the umask (an existing checkpoint keeps its own).
  * Loading a file of ours never unpickles, and anything that is not a valid checkpoint (truncated, damaged
    anywhere, an .npy, a plain .npz, a directory, a header that lies about sizes or nests without
    end) raises CheckpointError (a ValueError) naming the file, not a zipfile, numpy or json
    traceback; an entry's claimed size is checked against the file's before anything is allocated.
  * `load` returns plain data; checking it against a model is `Module.load_state_dict`'s job,
    which lists every missing or unexpected name and every shape or dtype that differs.

`load` also reads the files `torch.save` writes (torch's zip format, torch 1.6 and later), without
torch and without running code (tinygrad_rnn/torch_files.py): a pickle reader that knows only the
globals torch's tensor pickling uses, as torch's own `weights_only=True`. It returns plain data as for
a file of ours: a state_dict as a dict in its order, each tensor (a Parameter too) as a numpy array
with torch's dtype, shape and values, which owns its memory; numbers, strings, lists, tuples, None as
they were. So `model.load_state_dict(tr.load("lstm.pt"))` loads a torch model's weights, and a torch
optimizer's or scheduler's state dict loads into `tr.optim`'s. A legacy (pre-1.6) torch file, a
TorchScript archive, a tensor whose dtype numpy lacks (bfloat16, complex32, float8, quantized) or any
other pickled global raises CheckpointError naming the file and what it holds.
"""
from __future__ import annotations

import io
import json
import math
import os
import secrets
import stat
import struct
import zipfile
from typing import IO, Any

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
    encoder = _Encoder()
    return encoder.encode(obj, "obj"), encoder.arrays


class _Encoder:
    """Walks an object: arrays go into `arrays` under a name, the rest becomes JSON that names them.
    `where` is the path to the value in the object, for error messages (obj['model'][2])."""

    def __init__(self):
        self.arrays = {}

    def encode(self, x, where):
        if isinstance(x, (Tensor, np.ndarray, np.generic)):  # np.generic before float: np.float64 is a float
            return self._array_entry(x, where)
        if x is None or isinstance(x, (bool, int, str)):
            return x
        if isinstance(x, float):
            return x  # json writes nan/inf as NaN/Infinity and repr() round-trips every float
        if isinstance(x, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(x)]
        if isinstance(x, tuple):
            return {"__tuple__": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(x)]}
        if isinstance(x, dict):
            return self._dict(x, where)
        if type(x).__module__.split(".")[0] == "torch" and hasattr(x, "numpy"):   # "a Tensor" would read as ours
            raise TypeError(f"save: {where} is a torch.{type(x).__name__}; convert it with .detach().numpy() "
                            "(a checkpoint holds numpy arrays and tinygrad_rnn Tensors, no pickle)")
        raise TypeError(f"save: {where} is a {type(x).__name__}; a checkpoint holds arrays, Tensors, numbers, "
                        "strings, bools, None and dicts/lists/tuples of them (no pickle)")

    def _array_entry(self, x, where):
        if isinstance(x, Tensor):
            from .nn.module import Parameter  # nn sits above the engine; checkpoint above both
            kind = "parameter" if isinstance(x, Parameter) else "tensor"
            return {"__tensor__": self._put(x._data, where), "kind": kind, "requires_grad": x.requires_grad}
        if isinstance(x, np.ndarray):
            return {"__array__": self._put(x, where)}
        return {"__scalar__": self._put(np.asarray(x), where)}

    def _put(self, arr, where):
        if arr.dtype.kind not in "biufc" or arr.dtype.hasobject:
            raise TypeError(f"save: {where} is an array of dtype {arr.dtype}; a checkpoint holds numeric and "
                            "bool arrays only (no pickle)")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = arr
        return name

    def _dict(self, x, where):
        if all(type(k) is str for k in x) and not any(m in x for m in _MARKERS):
            return {k: self.encode(v, f"{where}[{k!r}]") for k, v in x.items()}
        return {"__dict__": [[_key(k, where), self.encode(v, f"{where}[{k!r}]")] for k, v in x.items()]}


def _key(k, where):
    if k is None or isinstance(k, (str, bool, int, float)) and not isinstance(k, np.generic):
        return k
    raise TypeError(f"save: {where} has a key of type {type(k).__name__}; dict keys must be str, int, "
                    "float, bool or None")


def _tensor(data, kind, requires_grad):
    """A saved Tensor or Parameter, with its requires_grad (a frozen Parameter stays frozen). An int64 or bool
    Tensor (a num_batches_tracked buffer, a mask) keeps its dtype: the constructor Tensor() would make it float32."""
    if kind == "parameter":
        from .nn.module import Parameter
        return Parameter(data).requires_grad_(bool(requires_grad))
    if data.dtype.kind in "biu":
        return Tensor._make(np.array(data, dtype=bool if data.dtype == bool else np.int64), False)
    return Tensor(data, requires_grad=requires_grad)


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
            return _tensor(arrays[x["__tensor__"]], x["kind"], x["requires_grad"])
        if "__tuple__" in x:
            return tuple(dec(v) for v in x["__tuple__"])
        if "__dict__" in x:
            return {k: dec(v) for k, v in x["__dict__"]}
        return {k: dec(v) for k, v in x.items()}

    return dec(desc)


# ----------------------------------------------------------------------------- save
def save(obj: Any, f: str | os.PathLike | IO[bytes]) -> None:
    """Write `obj` (see the module docstring for what it may hold) to `f` (torch's name): a file path, written
    atomically, or a binary file object (an open file, io.BytesIO), written at its position as torch writes one."""
    if not isinstance(f, (str, os.PathLike)) and hasattr(f, "write"):
        _save_to_file_object(obj, f)
        return
    path = os.path.realpath(_fspath("save", f))   # through a symlink: replace its target, keep the link
    directory, name = os.path.split(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: the directory of {path} does not exist (create it first)")
    arrays = _entries(obj)  # before touching the disk: an unsavable object changes nothing
    _remove_abandoned_temporaries(directory, name)
    tmp = os.path.join(directory, f"{_temporary_prefix(name)}{os.getpid()}-{secrets.token_hex(4)}")
    # O_EXCL with mode 0o666: the kernel applies the umask, so the file gets a new file's usual mode
    # (mkstemp's would be 0600); an existing checkpoint keeps its own mode, as when overwritten in place.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if os.path.exists(path):
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
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


def _entries(obj):
    """{entry name: array} of the .npz that holds obj: its arrays and the JSON header describing the rest."""
    desc, arrays = _encode(obj)
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": desc})
    arrays[HEADER] = np.frombuffer(header.encode("utf-8"), dtype=np.uint8)
    return arrays


def _save_to_file_object(obj, f):
    """The .npz written straight to a binary file object at its position (no atomic rename: the caller owns the
    file). The object is encoded first, so an unsavable one writes nothing; a text-mode file is refused before
    any byte is written."""
    if isinstance(f, io.TextIOBase):
        raise FileArgumentError(f"save: f must be a file path or a binary file object, got a text-mode "
                                f"{type(f).__name__} (open the file with 'wb')")
    arrays = _entries(obj)
    np.savez(f, **arrays)
    if hasattr(f, "flush"):
        f.flush()


def _check_torch_load_options(location, weights_only):
    """torch.load's map_location, where only the CPU exists: None, "cpu" (or a device whose str() is "cpu" or
    "cpu:N", as torch.device("cpu")), or a dict whose targets are all such; anything else (a GPU, a function)
    would mean something this library cannot do, so it is refused by name. weights_only: a bool or None."""
    if weights_only is not None and not isinstance(weights_only, bool):
        raise TypeError(f"load: weights_only must be True, False or None, got {type(weights_only).__name__} "
                        f"{weights_only!r}")
    targets = list(location.values()) if isinstance(location, dict) else [location]
    for target in targets:
        if target is not None and not (str(target) == "cpu" or str(target).startswith("cpu:")) \
                or callable(target):
            raise ValueError(f"load: map_location must be None, 'cpu' or a dict mapping to 'cpu' (tensors here live "
                             f"on the CPU only), got {location!r}")


class FileArgumentError(TypeError, AttributeError):
    """An `f` that is neither a path nor a file object: a TypeError, and the AttributeError torch raises."""


def _fspath(fn, path):
    """A str or os.PathLike as a str path; anything else (bytes too, as torch) is refused naming `f`."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        method = "write" if fn == "save" else "read"
        raise FileArgumentError(f"{fn}: f must be a file path (str or os.PathLike) or a binary file object with a "
                                f"'{method}' method, got {type(path).__name__}")
    return os.fspath(path)


def _temporary_prefix(name):
    """Temporary files of a save to `name` are `.{name}.tmp-{pid}-{random}` in the same directory."""
    return f".{name}.tmp-"


def _remove_abandoned_temporaries(directory, name):
    """Delete what saves to the same path left when their process was killed (a finished or failed
    save removes its own): temporaries whose process no longer runs. Checked by pid, so only on POSIX
    (os.kill(pid, 0) would end the process on Windows) and only for this host's processes."""
    if os.name != "posix":
        return
    prefix = _temporary_prefix(name)
    try:
        leftovers = [f for f in os.listdir(directory) if f.startswith(prefix)]
    except OSError:
        return
    for leftover in leftovers:
        pid = leftover[len(prefix):].partition("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _process_runs(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, leftover))
        except OSError:
            pass


def _process_runs(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process (or not a pid): leave its file alone
        return True
    return True


# ----------------------------------------------------------------------------- load
# What reading a damaged file can raise from zipfile, numpy's .npy header parser, json and our decoder:
# all of them mean "not a valid checkpoint". (MemoryError is not here: sizes are checked before any
# allocation, so it can only mean a real shortage.)
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError, IndexError,
           TypeError, AttributeError, NotImplementedError, OverflowError, struct.error, RecursionError)


def load(f: str | os.PathLike | IO[bytes], map_location: Any = None, *, weights_only: bool | None = None) -> Any:
    """Read a checkpoint written by `save`, or by `torch.save`, from `f`: a file path or a binary file object (an
    open file, io.BytesIO), read from its position to its end; raises CheckpointError if it is damaged or not one.
    torch's map_location (None, "cpu", a CPU device, or a dict mapping locations to "cpu") and weights_only (True,
    False or None) are taken as torch code passes them: everything loads on the CPU, and nothing is ever unpickled
    with code, so a load is weights-only whatever the flag says. A torch.save file comes back as plain data, each
    tensor a Tensor where ours can hold its dtype (float32, float64, int64, bool; a Parameter a Parameter), as
    torch.load gives tensors, and a numpy array otherwise (see tinygrad_rnn/torch_files.py)."""
    _check_torch_load_options(map_location, weights_only)
    if not isinstance(f, (str, os.PathLike)) and hasattr(f, "read"):
        data = "" if isinstance(f, io.TextIOBase) else f.read()   # (a text file's read would decode the bytes)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FileArgumentError(f"load: f must be a file path or a binary file object, got a "
                                    f"{type(f).__name__} whose read() gives {type(data).__name__} (open it with 'rb')")
        data = bytes(data)
        return _load_from(f"<{type(f).__name__}>", io.BytesIO(data), len(data), data[:1054])
    path = _fspath("load", f)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint path {path} is a {'directory' if os.path.isdir(path) else 'special file'}, "
                              "not a checkpoint file")
    with open(path, "rb") as file:
        head = file.read(30 + 1024)
    return _load_from(path, path, os.path.getsize(path), head)


def _load_from(name, source, size, head):
    """The checkpoint in source (a path, or a BytesIO of a file object's bytes) of `size` bytes starting with `head`;
    `name` is what errors call it."""
    from . import torch_files  # it builds on this module's CheckpointError
    try:
        _refuse_what_is_not_a_zip(name, head)
        with zipfile.ZipFile(source) as archive:
            prefix = torch_files.torch_archive_prefix(archive)
            if prefix is not None:   # torch.save's zip: its own reader, which never runs the pickle's code
                return torch_files.read_torch_archive(name, archive, prefix, size)
            arrays = _read_arrays(archive, size)
    except CheckpointError:
        raise
    except _DAMAGE as e:
        what = " (a PyTorch file, by its first entry)" if _starts_as_torch_zip(head) else ""
        raise CheckpointError(f"checkpoint file {name}{what} is truncated or corrupted ({type(e).__name__}: {e}); "
                              "load an earlier checkpoint, or save again") from None
    return _decode_arrays(name, arrays)


def _starts_as_torch_zip(head):
    """Whether the file's first zip entry (in head, its first bytes) is torch.save's `<archive>/data.pkl`: a file too
    damaged to open as a zip (truncated: its directory is at the end) can still say what it was."""
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return False
    name_length = struct.unpack("<H", head[26:28])[0]   # the local file header's name length
    return head[30:30 + name_length].endswith(b"/data.pkl")


def _decode_arrays(path, arrays):
    """The object a tr.save file's arrays and header describe."""
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
    except _DAMAGE as e:   # RecursionError: a header nested deeper than any save could have written
        raise CheckpointError(f"checkpoint file {path} is truncated or corrupted (its header cannot be read: "
                              f"{type(e).__name__}: {e})") from None


def _refuse_what_is_not_a_zip(path, head):
    """A single .npy array, or a pickle (torch's legacy format is one), named for what it is (head: the first bytes)."""
    if head.startswith(b"\x93NUMPY"):
        raise CheckpointError(f"checkpoint file {path} is not a tinygrad_rnn checkpoint (a single .npy "
                              "array); read it with np.load")
    from . import torch_files
    torch_files.refuse_legacy_torch_file(path, head)


def _read_arrays(archive, file_size):
    """{entry name: array} of the .npz archive (of a file of file_size bytes), each entry's claimed size checked
    against what the file holds before anything is allocated, every byte's zip CRC checked, no pickle."""
    arrays = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"entry {info.filename!r} is not an array")
        if info.flag_bits & 0x1:   # zipfile would raise a RuntimeError asking for a password
            raise ValueError(f"entry {info.filename!r} is marked encrypted")
        # tr.save (np.savez) stores entries uncompressed: their size is bounded by the file's.
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size \
                or info.file_size > file_size:
            raise ValueError(f"entry {info.filename!r} claims {info.file_size} bytes, compressed "
                             f"{info.compress_size} (method {info.compress_type}) in a file of {file_size}")
        with archive.open(info) as member:
            arrays[info.filename[:-len(".npy")]] = _read_npy(member, info)
    return arrays


def _read_npy(member, info):
    """One .npy entry: its header, then exactly the bytes it announces (a shape claiming more than the
    entry holds is refused before allocating); reading to the end makes zipfile check the CRC."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    version = np.lib.format.read_magic(member)
    if version not in readers:
        raise ValueError(f"entry {info.filename!r} has .npy format version {version}")
    shape, fortran_order, dtype = readers[version](member)
    if dtype.hasobject or dtype.kind not in "biufc" or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"entry {info.filename!r} holds a {dtype} array of shape {shape}; a checkpoint holds "
                         "numeric and bool arrays only")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes != info.file_size - member.tell():
        raise ValueError(f"entry {info.filename!r} claims shape {shape} of {dtype} ({nbytes} bytes) but holds "
                         f"{info.file_size - member.tell()} bytes")
    flat = np.empty(math.prod(shape), dtype)
    if member.readinto(memoryview(flat.view(np.uint8))) != nbytes or member.read(1) != b"":
        raise ValueError(f"entry {info.filename!r} is shorter than its header says")
    return flat.reshape(shape, order="F" if fortran_order else "C")
