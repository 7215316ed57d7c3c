"""Reading the files `torch.save` writes, without torch and without running code: `tr.load` calls this for them.

torch.save (since torch 1.6) writes a zip whose entries sit in one folder, `<archive>/`:
`data.pkl`, a pickle of the saved object in which each tensor is a call
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)` and each
storage a persistent id `("storage", torch.FloatStorage, key, location, numel)`; `data/<key>`, each
storage's raw bytes; `byteorder` ("little" or "big"); `version` and a few other records.

The pickle is read by a `pickle.Unpickler` whose `find_class` hands out only stand-ins of our own for
the few globals torch's tensor pickling uses (the set torch's `weights_only=True` loader allows, less
what numpy cannot hold), so no function named in the file is ever looked up, let alone called. While
the pickle is read, tensors, storages and the stand-ins are inert records (no `__dict__`, a
`__setstate__` that refuses), so no pickle opcode can reach a numpy object or change a stand-in. The
result is turned into plain data afterwards: dicts (OrderedDicts too, in order), lists, tuples,
numbers, strings, bytes, sets, a Counter, None, `np.dtype` for a saved torch dtype, `tr.Size` for a
torch.Size, and for each tensor, as torch.load gives a tensor, a Tensor (a Parameter for a Parameter) where
ours holds its dtype (float32, float64, int64, bool) or else a numpy array, which owns its memory (views and
tensors sharing a storage come back with their own values; one tensor saved twice is one Tensor, as torch gives
one tensor).

Anything else raises CheckpointError naming the file and what it holds: another global, a dtype numpy
has no equivalent for (bfloat16, complex32, float8, the quantized types), a legacy (pre-1.6) file, a
TorchScript archive, or a damaged one.
"""
from __future__ import annotations

import collections
import io
import math
import pickle
import pickletools
import re
import zipfile

import numpy as np

from .serialization import _DAMAGE, CheckpointError
from .size import Size

__all__: list[str] = []

# torch.save's legacy format (before 1.6, or _use_new_zipfile_serialization=False) starts with this number,
# pickled with protocol 2 (torch/serialization.py's MAGIC_NUMBER).
LEGACY_MAGIC = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")

# The legacy storage class names torch pickles for each dtype (torch.storage._dtype_to_storage_type_map).
STORAGE_DTYPES = {"DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
                  "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16", "CharStorage": "int8",
                  "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexDoubleStorage": "complex128",
                  "ComplexFloatStorage": "complex64"}
# torch dtypes by the name torch pickles them under (torch.float32 -> "float32"), with their aliases.
DTYPES = {name: name for name in ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
                                  "uint16", "uint32", "uint64", "bool", "complex128", "complex64")}
DTYPES.update(double="float64", float="float32", half="float16", long="int64", int="int32", short="int16",
              cdouble="complex128", cfloat="complex64")
# What numpy has no dtype for, named so the refusal says what was found.
NO_NUMPY_DTYPE = {"BFloat16Storage": "bfloat16", "QInt8Storage": "qint8 (quantized)",
                  "QInt32Storage": "qint32 (quantized)", "QUInt8Storage": "quint8 (quantized)",
                  "QUInt4x2Storage": "quint4x2 (quantized)", "QUInt2x4Storage": "quint2x4 (quantized)"}
NO_NUMPY_DTYPE_NAMES = r"bfloat16|complex32|chalf|u?int[1-7]|float8_\w+|float4_\w+|bits\w+|q(u)?int\w+"


class _Inert:
    """What the pickle can hold of ours: no `__dict__`, and a BUILD opcode (which would otherwise set any slot,
    `__defaults__` of a function too) is refused, so no pickle can change a stand-in, for this load or the next."""
    __slots__ = ()

    def __setstate__(self, state):
        raise ValueError("its pickle sets attributes (BUILD) of a tensor, a storage or a torch function, which "
                         "torch never writes")


class _StandIn(_Inert):
    """One of our functions where the pickle names one of torch's."""
    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function

    def __call__(self, *args):
        return self.function(*args)


class _Storage(_Inert):
    """A storage's bytes as the pickle refers to them (persistent_load's result): their dtype (uint8 for torch's
    UntypedStorage) and the file's byte order, '<' or '>'."""
    __slots__ = ("data", "dtype", "order", "key")

    def __init__(self, data, dtype, order, key):
        self.data, self.dtype, self.order, self.key = data, dtype, order, key


class _TensorRecord(_Inert):
    """A rebuilt tensor while the pickle is read: the array it will be, out of the pickle's reach, its
    requires_grad and whether torch saved a Parameter."""
    __slots__ = ("array", "requires_grad", "parameter")

    def __init__(self, array, requires_grad=False, parameter=False):
        self.array, self.requires_grad, self.parameter = array, requires_grad is True, parameter


class _DType(_Inert):
    """A torch dtype global (torch.float32) or storage class (torch.FloatStorage): its numpy dtype."""
    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)


class _PickledOrderedDict(dict):
    """collections.OrderedDict as the pickle builds it; turned into a dict when it is done."""
    __slots__ = ()

    def __setstate__(self, state):
        # torch's state_dict carries `_metadata` (module versions for torch's own loading hooks): not data.
        pass


class _PickledCounter(dict):
    """collections.Counter as the pickle builds it (Counter's pickle is a call with a dict of counts); turned
    into a Counter when it is done."""
    __slots__ = ()

    def __setstate__(self, state):
        pass   # a Counter's pickle has no state to set; another would be an attribute, not data


# ----------------------------------------------------------------------------- the archive
def torch_archive_prefix(archive: zipfile.ZipFile) -> str | None:
    """'<archive>/' if the zip is one torch.save wrote (its data.pkl one folder deep), else None."""
    for name in archive.namelist():
        folder, _, base = name.rpartition("/")
        if base == "data.pkl" and folder and "/" not in folder:
            return folder + "/"
    return None


def refuse_legacy_torch_file(path: str, head: bytes) -> None:
    """A file that is a bare pickle is never unpickled; torch's pre-1.6 format (one) is named as such."""
    if head[:1] != b"\x80":   # pickle protocol 2 and above start with PROTO
        return
    if LEGACY_MAGIC in head[:32]:
        raise CheckpointError(f"checkpoint file {path} is a PyTorch file in torch's legacy format (before torch 1.6, "
                              "or torch.save(..., _use_new_zipfile_serialization=False)), a bare pickle that is not "
                              "read here; save it again with torch.save's default format")
    raise CheckpointError(f"checkpoint file {path} is not a zip but starts as a pickle does, and a pickle is not "
                          "read here (unpickling can run code)")


def read_torch_archive(path: str, archive: zipfile.ZipFile, prefix: str, file_size: int):
    """The object torch.save wrote to the zip at path, as plain data (see the module docstring)."""
    if prefix + "constants.pkl" in archive.namelist():
        raise CheckpointError(f"checkpoint file {path} is a TorchScript archive (torch.jit.save), not a torch.save "
                              "file: it holds code, which is not read here")
    try:
        order = _byte_order(archive, prefix, file_size)
        pickled = _entry_bytes(archive, prefix + "data.pkl", file_size)
        _check_opcodes(pickled)
        unpickler = _RestrictedUnpickler(io.BytesIO(pickled), archive, prefix, order, file_size)
        return _Plain().convert(unpickler.load())
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, *_DAMAGE) as e:
        raise CheckpointError(f"checkpoint file {path} is a PyTorch file (torch.save) that is not read: "
                              f"{type(e).__name__}: {e}") from None


def _check_opcodes(pickled):
    """Read every opcode of the pickle and its argument, building nothing (pickletools): a length claiming more
    bytes than the pickle holds is refused there, a memo index or frame size beyond its length here, before
    the unpickler would allocate that much (a memo index is a position in an array)."""
    for op, arg, position in pickletools.genops(pickled):
        if op.name in ("PUT", "BINPUT", "LONG_BINPUT", "FRAME") and not 0 <= arg <= len(pickled):
            raise ValueError(f"its pickle's {op.name} at byte {position} claims {arg}, in a pickle of "
                             f"{len(pickled)} bytes")


def _byte_order(archive, prefix, file_size):
    """'<' or '>' from the `byteorder` record; a file without one is little-endian (torch's default)."""
    if prefix + "byteorder" not in archive.namelist():
        return "<"
    record = _entry_bytes(archive, prefix + "byteorder", file_size)
    if record not in (b"little", b"big"):
        raise ValueError(f"its byteorder record says {record[:20]!r}, not 'little' or 'big'")
    return "<" if record == b"little" else ">"


def _entry_bytes(archive, name, file_size, expected=None):
    """An entry's bytes, its size checked (against the file's, and `expected`) before reading; the CRC is checked."""
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:   # zipfile would raise a RuntimeError asking for a password
        raise ValueError(f"entry {name!r} is marked encrypted")
    if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size or info.file_size > file_size:
        raise ValueError(f"entry {name!r} claims {info.file_size} bytes, compressed {info.compress_size} "
                         f"(method {info.compress_type}) in a file of {file_size}; torch.save stores its entries "
                         "uncompressed")
    if expected is not None and info.file_size != expected:
        raise ValueError(f"entry {name!r} holds {info.file_size} bytes where its storage needs {expected}")
    return archive.read(info)


# ----------------------------------------------------------------------------- the pickle
class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles data.pkl with our stand-ins for torch's globals (find_class) and storages (persistent_load)."""

    def __init__(self, file, archive, prefix, order, file_size):
        super().__init__(file)
        self.archive, self.prefix, self.order, self.file_size = archive, prefix, order, file_size
        self.storages = {}

    def find_class(self, module, name):
        # Every global the pickle names comes here (GLOBAL, STACK_GLOBAL, INST, OBJ, EXT*): only stand-ins
        # come back, and nothing is imported.
        found = _allowed_global(module, name)
        if found is None:
            raise ValueError(_refusal(module, name))
        return found

    def persistent_load(self, pid):
        """torch's ("storage", storage class, key, location, numel): the bytes of entry data/<key>, read once
        per key (tensors sharing a storage name the same key). Any location loads on the CPU."""
        if not (type(pid) is tuple and len(pid) == 5 and pid[0] in ("storage", b"storage")):
            raise ValueError(f"its pickle refers to {str(pid)[:80]!r}, not to a storage")
        _, kind, key, location, numel = pid
        if not (isinstance(kind, _DType) and type(key) is str and type(location) is str
                and type(numel) is int and numel >= 0):
            raise ValueError(f"its pickle describes a storage as {str(pid)[:120]!r}")
        if key not in self.storages:
            name = f"{self.prefix}data/{key}"
            data = _entry_bytes(self.archive, name, self.file_size, expected=numel * kind.dtype.itemsize)
            self.storages[key] = _Storage(data, kind.dtype, self.order, key)
        storage = self.storages[key]
        if storage.dtype != kind.dtype:
            raise ValueError(f"storage data/{key} is read as {storage.dtype} and as {kind.dtype}")
        return storage


def _allowed_global(module, name):
    """The stand-in for the global module.name, or None if it is not one a tensor checkpoint uses."""
    if module == "torch" and name in STORAGE_DTYPES:
        return _DType(STORAGE_DTYPES[name])
    if module == "torch" and name in DTYPES:
        return _DType(DTYPES[name])
    if module == "__builtin__":   # pickle protocol 2 writes Python 2's name
        module = "builtins"
    return _STAND_INS.get((module, name))


def _refusal(module, name):
    """Why the global module.name is refused, in the user's terms where it is a kind of tensor."""
    if module == "torch" and (name in NO_NUMPY_DTYPE or re.fullmatch(NO_NUMPY_DTYPE_NAMES, name)):
        what = NO_NUMPY_DTYPE.get(name, name)
        return (f"it holds a torch {what} tensor (torch.{name}), which numpy has no dtype for; convert it in torch "
                "(e.g. .float()) and save again")
    if module == "torch._utils" and name == "_rebuild_qtensor":
        return "it holds a quantized tensor, which numpy cannot represent; dequantize it in torch and save again"
    if module == "torch._utils" and name.startswith("_rebuild"):
        return f"it holds a tensor rebuilt by torch._utils.{name} (not a dense CPU tensor), which is not read here"
    return (f"its pickle names the global {module}.{name}, which a tensor checkpoint does not use; it is refused "
            "without being looked up or run")


def _latin1_bytes(text, encoding):
    if type(text) is not str or encoding != "latin1":
        raise ValueError(f"its pickle encodes bytes as {encoding!r}, where pickle writes 'latin1'")
    return text.encode("latin1")


# ----------------------------------------------------------------------------- tensors
def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    """torch._utils._rebuild_tensor_v2's arguments: a tensor of the storage's dtype. requires_grad and
    metadata (Python attributes) are not kept; hooks would be code, and torch writes none."""
    if not isinstance(storage, _Storage):
        raise ValueError(f"its pickle gives a tensor the storage {type(storage).__name__}")
    array = _strided_copy(storage, storage.dtype, storage_offset, size, stride, backward_hooks)
    return _TensorRecord(array, requires_grad)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    """torch._utils._rebuild_tensor_v3's arguments (torch's newer dtypes, uint16 to uint64): the storage is
    raw bytes and `dtype` says what they hold."""
    if not isinstance(storage, _Storage) or not isinstance(dtype, _DType):
        raise ValueError(f"its pickle gives a tensor the storage {type(storage).__name__} and the dtype "
                         f"{type(dtype).__name__}")
    if storage.dtype not in (np.dtype(np.uint8), dtype.dtype):
        raise ValueError(f"storage data/{storage.key} of {storage.dtype} is read as {dtype.dtype}")
    if len(storage.data) % dtype.dtype.itemsize:
        raise ValueError(f"storage data/{storage.key} of {len(storage.data)} bytes is not a whole number of "
                         f"{dtype.dtype} elements")
    return _TensorRecord(_strided_copy(storage, dtype.dtype, storage_offset, size, stride, backward_hooks),
                         requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    """torch._utils._rebuild_parameter(_with_state): a Parameter of the tensor's values, with requires_grad."""
    if not isinstance(data, _TensorRecord):
        raise ValueError(f"its pickle makes a Parameter of a {type(data).__name__}")
    return _TensorRecord(data.array, requires_grad, parameter=True)


def _strided_copy(storage, dtype, offset, size, stride, backward_hooks):
    """The tensor at `offset` of the storage with torch's size and stride (in elements) as an array of `dtype`
    that owns its memory, in this machine's byte order; the layout is checked against the storage first."""
    if backward_hooks:
        raise ValueError("it holds a tensor with backward hooks, which are code")
    elements = np.frombuffer(storage.data, dtype.newbyteorder(storage.order))
    _check_layout(offset, size, stride, elements.size, storage.key)
    if math.prod(size) == 0:
        return np.zeros(size, dtype)
    view = np.lib.stride_tricks.as_strided(elements[offset:], shape=size,
                                           strides=[s * dtype.itemsize for s in stride], writeable=False)
    return np.array(view, dtype=dtype, order="C")   # the copy: its own memory, byte-swapped if the file's differ


def _check_layout(offset, size, stride, available, key):
    """Every element the tensor reads lies inside its storage, and it has no more elements than the storage
    (only a broadcast view, as expand makes, could: a copy of it would be larger than the file)."""
    def counts(x):
        return type(x) in (tuple, Size) and all(type(n) is int and n >= 0 for n in x)

    if not (type(offset) is int and offset >= 0 and counts(size) and counts(stride) and len(size) == len(stride)):
        raise ValueError(f"its pickle gives a tensor offset {offset!r}, size {size!r} and stride {stride!r}")
    if math.prod(size) == 0:
        return
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= available:
        raise ValueError(f"a tensor of size {size}, stride {stride} at offset {offset} reads element {last} of "
                         f"storage data/{key}, which holds {available}")
    if math.prod(size) > available:
        raise ValueError(f"a tensor of size {size}, stride {stride} repeats the {available} elements of storage "
                         f"data/{key} (a broadcast view, as expand makes); save it .contiguous() in torch")


# ----------------------------------------------------------------------------- plain data
class _Plain:
    """The unpickled object as plain data: the stand-ins replaced by numpy arrays and dtypes, OrderedDicts by
    dicts. An object the pickle refers to twice is converted once (memo by id), so sharing in the pickle
    cannot multiply the work."""

    def __init__(self):
        self.done = {}

    def convert(self, x):
        if x is None or type(x) in (bool, int, float, complex, str, bytes):
            return x
        if id(x) not in self.done:
            self.done[id(x)] = self._container(x) if type(x) in (dict, _PickledOrderedDict, list) else self._leaf(x)
        return self.done[id(x)]

    def _container(self, x):
        # registered before its items are converted: a list that holds itself stays finite
        out = self.done[id(x)] = [] if type(x) is list else {}
        if type(x) is list:
            out.extend(self.convert(v) for v in x)
        else:
            out.update((self.convert(k), self.convert(v)) for k, v in x.items())
        return out

    def _leaf(self, x):
        if type(x) is tuple:
            return tuple(self.convert(v) for v in x)
        if type(x) is Size:   # ints only (Size() refused anything else while the pickle was read)
            return x
        if type(x) is set:
            return {self.convert(v) for v in x}
        if type(x) is _PickledCounter:
            return collections.Counter({self.convert(k): self.convert(v) for k, v in x.items()})
        if isinstance(x, _TensorRecord):
            return _as_tensor(x)
        if isinstance(x, _DType):
            return x.dtype
        what = f"a bare storage (data/{x.key}), not a tensor" if isinstance(x, _Storage) else type(x).__name__
        raise ValueError(f"it holds {what}, which is not read here")


def _as_tensor(record):
    """A saved tensor as torch.load gives it: a Tensor (a Parameter for a float Parameter, with its requires_grad)
    where ours holds the dtype (float32, float64, int64, bool), else its numpy array (float16, int32, uint8, ...)."""
    from .nn.module import Parameter  # (late: nn imports the library this module is part of)
    from .tensor import Tensor
    array = record.array
    if array.dtype in (np.float32, np.float64):
        if record.parameter:
            return Parameter(array, requires_grad=record.requires_grad)
        return Tensor(array, requires_grad=record.requires_grad)
    if array.dtype in (np.int64, np.bool_):
        return Tensor._make(array, False)
    return array


# The other globals torch's pickling of tensors and state dicts uses, and what stands in for each.
_STAND_INS = {
    ("torch._utils", "_rebuild_tensor_v2"): _StandIn(_rebuild_tensor_v2),
    ("torch._utils", "_rebuild_tensor_v3"): _StandIn(_rebuild_tensor_v3),
    ("torch._utils", "_rebuild_parameter"): _StandIn(_rebuild_parameter),
    ("torch._utils", "_rebuild_parameter_with_state"): _StandIn(_rebuild_parameter),
    # torch's newer dtypes: raw bytes, the dtype given to _rebuild_tensor_v3
    ("torch.storage", "UntypedStorage"): _DType("uint8"),
    ("torch", "Size"): Size,   # a tensor's size in _rebuild_tensor_v2 too; a Size saved as a value loads as one
    ("collections", "OrderedDict"): _PickledOrderedDict,
    ("collections", "Counter"): _PickledCounter,   # a MultiStepLR's milestones
    ("builtins", "set"): set,
    ("builtins", "complex"): complex,
    ("_codecs", "encode"): _StandIn(_latin1_bytes),   # how protocol 2 pickles bytes
}
