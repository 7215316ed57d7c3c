"""tr.load reads the files torch.save writes (tinygrad_rnn/torch_files.py), without importing torch and without
running code. The oracle is torch 2.13: what torch.load(weights_only=True) returns for the same file, as numpy,
and the outputs of torch's own layers. Hand-made pickles (written opcode by opcode below) check what is refused."""
import math
import os
import pickle
import re
import struct
import subprocess
import sys
import zipfile
from collections import Counter, OrderedDict

import numpy as np
import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.serialization import CheckpointError


def _torch():
    return pytest.importorskip("torch")


def _as_numpy(x):
    """torch.load's result as tr.load gives it: a tensor as a Tensor of ours where ours holds its dtype (a float
    Parameter as a Parameter), as torch.load gives tensors, else a numpy array; OrderedDicts as dicts, torch.Size
    as a tr.Size, a torch dtype as its numpy dtype."""
    torch = _torch()
    if isinstance(x, torch.Tensor):
        array = x.detach().numpy()
        if array.dtype in (np.float32, np.float64):
            kind = tr.nn.Parameter if isinstance(x, torch.nn.Parameter) else tr.Tensor
            return kind(array.copy(), requires_grad=x.requires_grad)
        return tr.tensor(array) if array.dtype in (np.int64, np.bool_) else array
    if isinstance(x, torch.Size):
        return tr.Size(x)
    if isinstance(x, torch.dtype):
        return np.dtype(str(x).removeprefix("torch."))
    if isinstance(x, dict):
        plain = {_as_numpy(k): _as_numpy(v) for k, v in x.items()}
        return Counter(plain) if isinstance(x, Counter) else plain
    if isinstance(x, (list, tuple)):
        return type(x)(_as_numpy(v) for v in x)
    return x


def _assert_same(ours, expected, where="obj"):
    """Same types (a dict as a plain dict, in the same order), arrays with the same dtype, shape and bits."""
    assert type(ours) is type(expected), f"{where}: {type(ours).__name__} != {type(expected).__name__}"
    if isinstance(expected, tr.Tensor):
        assert ours.requires_grad == expected.requires_grad, where
        ours, expected = ours._data, expected._data
    if isinstance(expected, np.ndarray):
        assert ours.dtype == expected.dtype and ours.shape == expected.shape, where
        assert ours.tobytes() == np.ascontiguousarray(expected).tobytes(), where   # bits: nan, -0.0 included
        assert ours.flags.owndata and ours.flags.writeable, f"{where}: not an array of its own"
    elif isinstance(expected, dict):
        assert list(ours) == list(expected), where
        for k in expected:
            _assert_same(ours[k], expected[k], f"{where}[{k!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(ours) == len(expected), where
        for i, (a, b) in enumerate(zip(ours, expected)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(ours), where
    else:
        assert ours == expected and repr(ours) == repr(expected), where   # repr: -0.0 and 0.0 differ


def _saved_and_loaded(obj, path, **save_kwargs):
    """(tr.load's result, torch.load(weights_only=True)'s as numpy) for obj saved by torch.save. torch's safe
    loader reads only pickle protocol 2, torch.save's default: a file saved here with another is trusted to
    torch's full unpickler."""
    torch = _torch()
    torch.save(obj, path, **save_kwargs)
    return tr.load(path), _as_numpy(torch.load(path, weights_only=save_kwargs.get("pickle_protocol", 2) == 2))


TORCH_LAYERS = {   # name: a builder given torch.nn or tr.nn, so that both layers get the same arguments
    "lstm_proj": lambda nn: nn.LSTM(5, 6, proj_size=3),
    "gru": lambda nn: nn.GRU(5, 6, batch_first=True),
    "lstm_bidirectional_2_layers": lambda nn: nn.LSTM(5, 6, num_layers=2, bidirectional=True),
    "rnn_relu": lambda nn: nn.RNN(5, 6, nonlinearity="relu", bias=False),
    "linear": lambda nn: nn.Linear(5, 3),
    "embedding": lambda nn: nn.Embedding(10, 4, padding_idx=0),
    "layernorm": lambda nn: nn.LayerNorm(6),
    "lstm_cell": lambda nn: nn.LSTMCell(5, 6),
}


@pytest.mark.parametrize("layer", list(TORCH_LAYERS))
def test_torch_layers_state_dicts_load_bit_exact_and_into_the_same_tr_layer(tmp_path, layer):
    torch = _torch()
    torch.manual_seed(0)
    theirs = TORCH_LAYERS[layer](torch.nn)
    ours, expected = _saved_and_loaded(theirs.state_dict(), tmp_path / "layer.pt")
    _assert_same(ours, expected)
    assert type(ours) is dict and list(ours) == list(theirs.state_dict())   # the OrderedDict's order
    twin = TORCH_LAYERS[layer](tr.nn)
    assert twin.load_state_dict(ours) == ([], [])
    for name, value in twin.state_dict().items():
        np.testing.assert_array_equal(value, theirs.state_dict()[name].numpy())


def test_loading_needs_no_torch(tmp_path):
    """In a process where `import torch` fails, as where torch is not installed."""
    torch = _torch()
    torch.save({"w": torch.arange(6.0).view(2, 3)}, tmp_path / "w.pt")
    code = ("import sys; sys.modules['torch'] = None\n"   # None in sys.modules: importing it raises ImportError
            "import tinygrad_rnn as tr\n"
            f"print(tr.load({str(tmp_path / 'w.pt')!r})['w'].tolist())")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_lstm_loaded_from_a_torch_file_gives_torchs_outputs(tmp_path, dtype):
    torch = _torch()
    torch.manual_seed(1)
    theirs = torch.nn.LSTM(4, 5, num_layers=2, bidirectional=True, proj_size=3, batch_first=True)
    theirs = theirs.double() if dtype == np.float64 else theirs
    torch.save(theirs.state_dict(), tmp_path / "lstm.pt")
    ours = tr.nn.LSTM(4, 5, num_layers=2, bidirectional=True, proj_size=3, batch_first=True, dtype=dtype)
    ours.load_state_dict(tr.load(tmp_path / "lstm.pt", map_location="cpu", weights_only=True))
    x = np.random.default_rng(0).standard_normal((2, 7, 4)).astype(dtype)
    out_t, (h_t, c_t) = theirs(torch.from_numpy(x))
    out, (h, c) = ours(tr.Tensor(x))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in ((out, out_t), (h, h_t), (c, c_t)):
        assert a.data.dtype == dtype
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=tol, atol=tol)


def test_training_resumes_from_a_torch_checkpoint_with_its_adam_state(tmp_path):
    """A checkpoint dict (model, optimizer with Adam's step tensors, a scheduler with a Counter, epoch) saved by
    torch; the next Adam step taken here gives torch's next step, at torch's learning rate."""
    torch = _torch()
    torch.manual_seed(2)
    model = torch.nn.GRU(3, 4)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3, 3], gamma=0.5)
    x = torch.randn(5, 2, 3)
    for _ in range(2):
        opt.zero_grad()
        model(x)[0].square().sum().backward()
        opt.step()
        scheduler.step()
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": scheduler.state_dict(),
                  "epoch": 7, "loss": 0.25}
    ours_ckpt, expected = _saved_and_loaded(checkpoint, tmp_path / "ckpt.pt")
    _assert_same(ours_ckpt, expected)
    assert ours_ckpt["optimizer"]["state"][0]["step"].shape == ()   # torch's step is a 0-d float32 tensor
    ours = tr.nn.GRU(3, 4)
    ours.load_state_dict(ours_ckpt["model"])
    ours_opt = tr.optim.Adam(ours.parameters(), lr=0.01)
    ours_opt.load_state_dict(ours_ckpt["optimizer"])
    ours_scheduler = tr.optim.lr_scheduler.MultiStepLR(ours_opt, milestones=[2])
    ours_scheduler.load_state_dict(ours_ckpt["scheduler"])
    assert type(ours_ckpt["scheduler"]["milestones"]) is Counter
    assert ours_scheduler.get_last_lr() == scheduler.get_last_lr()
    opt.zero_grad()
    model(x)[0].square().sum().backward()
    opt.step()
    ours_opt.zero_grad()
    ours(tr.Tensor(x.numpy()))[0].square().sum().backward()
    ours_opt.step()
    for p, q in zip(ours.parameters(), model.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                                   "bool", "complex64", "complex128", "uint16", "uint32", "uint64"])
def test_every_dtype_numpy_has_loads_with_its_dtype_and_bits(tmp_path, dtype):
    """uint16 to uint64 are pickled differently (raw bytes and torch._utils._rebuild_tensor_v3)."""
    torch = _torch()
    values = np.random.default_rng(3).standard_normal((3, 4)) * 50
    if dtype == "bool":
        values = values > 0
    if dtype.startswith("complex"):
        values = values + 1j * values[::-1]
    array = values.astype(dtype)
    if dtype.startswith("float"):
        array[0, :3] = [np.nan, -0.0, np.inf]
    t = torch.from_numpy(array.copy())
    obj = {"t": t, "scalar": t[1, 2].clone(), "empty": t[:0], "column": t[:, 1]}
    ours, expected = _saved_and_loaded(obj, tmp_path / "dtype.pt")
    _assert_same(ours, expected)
    assert ours["scalar"].shape == () and ours["empty"].shape == (0, 4)


def test_views_and_tensors_sharing_a_storage_load_as_separate_copies(tmp_path):
    torch = _torch()
    base = torch.arange(24, dtype=torch.float64)
    grid = base.view(4, 6)
    views = {"base": base, "transposed": grid.t(), "strided": base[1::5], "block": grid[1:3, 2:5],
             "narrowed_t": grid.t()[2:4], "diagonal": grid[:, :4].diagonal(), "same_again": base,
             "param": torch.nn.Parameter(grid[2].clone()), "grad": torch.ones(2, requires_grad=True)}
    ours, expected = _saved_and_loaded(views, tmp_path / "views.pt")
    _assert_same(ours, expected)
    # one tensor saved under two names is one object, as torch.load gives it; views are arrays of their own
    loaded = torch.load(tmp_path / "views.pt", weights_only=True)
    assert (ours["same_again"] is ours["base"]) and (loaded["same_again"] is loaded["base"])
    ours["base"][0] = -1.0
    assert ours["transposed"][0, 0] == 0.0 and ours["strided"][0] == 1.0


def test_plain_python_values_load_as_torch_loads_them(tmp_path):
    torch = _torch()
    obj = {"epoch": 3, "big": 2**100, "negative": -(2**40), "floats": [0.1, -0.0, float("inf"), float("nan")],
           "text": "naïve ✓", "none": None, "flags": (True, False), "nested": {"a": [1, (2, [3])], 5: "int key"},
           "bytes": b"\x00\xff", "set": {1, 2, 3}, "complex": 1 - 2j, "size": torch.Size([2, 3]),
           "dtype": torch.float64, "ordered": OrderedDict([("z", 1), ("a", 2)]), "empty": {}}
    for protocol in (2, 4):
        ours, expected = _saved_and_loaded(obj, tmp_path / f"values{protocol}.pt", pickle_protocol=protocol)
        _assert_same(ours, expected)
        assert type(ours["ordered"]) is dict and ours["dtype"] == np.float64


# ----------------------------------------------------------------------------- hand-made files
def _op_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _op_str(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _op_int(n):
    return b"J" + struct.pack("<i", n)


def _op_tuple(*items):
    return b"(" + b"".join(items) + b"t"


def _op_tensor(storage_class, key, numel, offset, size, stride, dtype=None, location="cpu"):
    """torch's pickling of a tensor: _rebuild_tensor_v2(persistent storage id, offset, size, stride, False, {}),
    or with a dtype (torch's newer ones), _rebuild_tensor_v3(untyped storage id, ..., torch.<dtype>)."""
    storage_global = _op_global("torch.storage", "UntypedStorage") if dtype else _op_global("torch", storage_class)
    storage = _op_tuple(_op_str("storage"), storage_global, _op_str(key), _op_str(location), _op_int(numel)) + b"Q"
    hooks = _op_global("collections", "OrderedDict") + b")R"
    rebuild, dtype_arg = ("_rebuild_tensor_v3", _op_global("torch", dtype)) if dtype else ("_rebuild_tensor_v2", b"")
    return _op_global("torch._utils", rebuild) + _op_tuple(
        storage, _op_int(offset), _op_tuple(*map(_op_int, size)), _op_tuple(*map(_op_int, stride)), b"\x89",
        hooks, dtype_arg) + b"R"


def _torch_shaped_zip(path, pickled, storages=(), byteorder=b"little"):
    """A zip laid out as torch.save's: archive/data.pkl, archive/data/<key>, byteorder, version."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickled)
        z.writestr("archive/byteorder", byteorder)
        for key, data in dict(storages).items():
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", b"3\n")
    return path


def test_a_hand_made_torch_file_loads_as_torch_loads_it_in_either_byte_order(tmp_path):
    """The opcode writer below makes files torch itself reads: the oracle for the refusals after it."""
    torch = _torch()
    values = np.arange(6, dtype=np.float32) * 1.5
    counts = np.arange(1000, 1006, dtype=np.uint16)
    for order, mark in (("little", "<"), ("big", ">")):
        pickled = (b"\x80\x02}(" + _op_str("w") + _op_tensor("FloatStorage", "0", 6, 1, (2, 2), (1, 2))
                   + _op_str("u") + _op_tensor(None, "1", 12, 2, (2,), (3,), dtype="uint16") + b"u.")
        storages = {"0": values.astype(mark + "f4").tobytes(), "1": counts.astype(mark + "u2").tobytes()}
        path = _torch_shaped_zip(tmp_path / f"{order}.pt", pickled, storages, byteorder=order.encode())
        ours, expected = tr.load(path), _as_numpy(torch.load(path, weights_only=True))
        if order == "big":   # torch 2.13 swaps an untyped storage's bytes as uint8 (not at all): the values are
            del ours["u"], expected["u"]   # the oracle below
        _assert_same(ours, expected)
        np.testing.assert_array_equal(ours["w"], values[1:5].reshape(2, 2, order="F"))
        ours = tr.load(path)
        np.testing.assert_array_equal(ours["u"], counts[[2, 5]])
        assert ours["u"].dtype == np.dtype("=u2")


def test_a_tensor_saved_from_a_gpu_loads_on_the_cpu(tmp_path):
    """The storage's location ("cuda:0") is where torch would put it; here everything is on the CPU, as torch
    gives it with map_location="cpu"."""
    torch = _torch()
    values = np.arange(4, dtype=np.float32)
    pickled = b"\x80\x02}" + _op_str("w") + _op_tensor("FloatStorage", "0", 4, 0, (4,), (1,), location="cuda:0") + b"s."
    path = _torch_shaped_zip(tmp_path / "gpu.pt", pickled, {"0": values.tobytes()})
    for kwargs in ({}, {"map_location": "cpu"}, {"map_location": {"cuda:0": "cpu"}}):
        _assert_same(tr.load(path, **kwargs), _as_numpy(torch.load(path, map_location="cpu", weights_only=True)))


def _touches(marker):
    """Pickles that would create the file `marker` if anything ran them."""
    command = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"

    class Reduces:
        def __reduce__(self):
            return os.system, (command,)

    yield pickle.dumps({"w": Reduces()}, protocol=2)                     # GLOBAL posix.system + REDUCE
    yield pickle.dumps({"w": Reduces()}, protocol=4)                     # STACK_GLOBAL
    yield b"\x80\x02" + _op_global("builtins", "eval") + _op_tuple(_op_str(code)) + b"R."
    yield b"\x80\x02" + _op_global("__builtin__", "exec") + _op_tuple(_op_str(code)) + b"R."
    yield b"(" + _op_str(code) + b"ibuiltins\neval\n."                  # INST
    yield b"\x80\x02" + _op_global("torch", "load") + _op_tuple(_op_str(str(marker))) + b"R."
    # the global hidden where a storage class goes, and a torch function torch's own loader would call
    yield b"\x80\x02" + _op_tensor("FloatStorage", "0", 1, 0, (1,), (1,)).replace(
        _op_global("torch", "FloatStorage"), _op_global("os", "system")) + b"."
    yield b"\x80\x02" + _op_global("torch._utils", "_rebuild_device_tensor_from_numpy") + b")R."


def test_pickles_that_would_run_code_are_refused_without_running(tmp_path):
    torch = _torch()
    marker = tmp_path / "ran"
    for i, pickled in enumerate(_touches(marker)):
        path = _torch_shaped_zip(tmp_path / f"evil{i}.pt", pickled, {"0": b"\x00" * 4})
        with pytest.raises(CheckpointError, match=rf"{path}.*(names the global|not a dense CPU tensor)"):
            tr.load(path, weights_only=False)   # the flag widens nothing
        with pytest.raises((pickle.UnpicklingError, TypeError)):   # the last: torch calls it, with no arguments
            torch.load(path, weights_only=True)
        assert not marker.exists(), f"pickle {i} ran"


def test_a_pickle_cannot_change_a_stand_in_for_this_load_or_the_next(tmp_path):
    """BUILD with (None, {slot: value}) sets attributes of the object below it: here the stand-ins for torch's
    rebuild function (its __defaults__ would stay changed for every later load) and for a storage class."""
    torch = _torch()
    targets = {"__defaults__": _op_global("torch._utils", "_rebuild_tensor_v2"),
               "dtype": _op_global("torch.storage", "UntypedStorage"),
               "array": _op_tensor("FloatStorage", "0", 1, 0, (1,), (1,))}
    for slot, target in targets.items():
        state = b"N}" + _op_str(slot) + b"(NNNt" + b"s\x86"   # (None, {slot: (None, None, None)})
        pickled = b"\x80\x02" + target + state + b"b."   # BUILD
        path = _torch_shaped_zip(tmp_path / "build.pt", pickled, {"0": b"\x00" * 4})
        with pytest.raises(CheckpointError, match=r"build.pt is a PyTorch file .*sets attributes \(BUILD\) of"):
            tr.load(path)
    path = tmp_path / "after.pt"
    torch.save({"w": torch.tensor([1, 2, 3], dtype=torch.uint16), "v": torch.ones(2)}, path)
    _assert_same(tr.load(path), _as_numpy(torch.load(path, weights_only=True)))


@pytest.mark.parametrize("size, stride, numel, data_bytes, message", [
    ((5,), (1,), 4, 16, "reads element 4 of storage data/0, which holds 4"),
    ((2, 3), (3, 1), 6, 20, "entry 'archive/data/0' holds 20 bytes where its storage needs 24"),
    ((3, 3), (0, 1), 4, 16, r"repeats the 4 elements .*contiguous\(\)"),
    ((-1,), (1,), 4, 16, "offset 0, size .-1,. and stride"),
])
def test_tensors_that_reach_past_their_storage_are_refused_naming_it(tmp_path, size, stride, numel, data_bytes,
                                                                    message):
    pickled = b"\x80\x02" + _op_tensor("FloatStorage", "0", numel, 0, size, stride) + b"."
    path = _torch_shaped_zip(tmp_path / "bad.pt", pickled, {"0": b"\x01" * data_bytes})
    with pytest.raises(CheckpointError, match=f"{path} is a PyTorch file .*{message}"):
        tr.load(path)


def test_dtypes_numpy_lacks_and_quantized_tensors_are_refused_naming_them(tmp_path):
    torch = _torch()
    cases = {"bfloat16": torch.ones(2, dtype=torch.bfloat16), "complex32": torch.ones(2, dtype=torch.complex32),
             "float8_e4m3fn": torch.ones(2).to(torch.float8_e4m3fn),
             "quantized": torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.qint8)}
    for name, t in cases.items():
        torch.save({"w": t}, tmp_path / f"{name}.pt")
        with pytest.raises(CheckpointError, match=f"{name}.pt is a PyTorch file .*{name}"):
            tr.load(tmp_path / f"{name}.pt")


def test_legacy_torch_files_pickles_and_torchscript_are_refused_by_name(tmp_path):
    torch = _torch()
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match=r"legacy.pt is a PyTorch file in torch's legacy format"):
        tr.load(tmp_path / "legacy.pt")
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps({"w": [1.0]}))
    with pytest.raises(CheckpointError, match=r"plain.pkl is not a zip but starts as a pickle does"):
        tr.load(tmp_path / "plain.pkl")
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "script.pt")
    with pytest.raises(CheckpointError, match=r"script.pt is a TorchScript archive"):
        tr.load(tmp_path / "script.pt")


def test_truncated_or_damaged_torch_files_raise_checkpoint_error_or_load_unchanged(tmp_path):
    """Cut at many lengths, or one byte changed at many places: CheckpointError (never a zipfile, pickle or
    numpy error), or, where the byte did not matter (zip padding), the same values."""
    torch = _torch()
    torch.manual_seed(4)
    torch.save({"model": torch.nn.LSTM(2, 3).state_dict(), "epoch": 1}, tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    intact = tr.load(tmp_path / "good.pt")
    _assert_same(intact, _as_numpy(torch.load(tmp_path / "good.pt", weights_only=True)))
    damaged = tmp_path / "damaged.pt"
    first_name_ends = 30 + len(zipfile.ZipFile(tmp_path / "good.pt").namelist()[0])   # its local header, name
    for cut in range(0, len(data), max(1, len(data) // 97)):
        damaged.write_bytes(data[:cut])
        said = r"damaged.pt \(a PyTorch file, by its first entry\) is truncated" if cut >= first_name_ends else \
            "damaged.pt"
        with pytest.raises(CheckpointError, match=said):
            tr.load(damaged)
    # each entry marked encrypted (zipfile would ask for a password with a RuntimeError): refused if it is read,
    # ignored if not (torch's version records)
    names = zipfile.ZipFile(tmp_path / "good.pt").namelist()
    for name, record in zip(names, re.finditer(b"PK\x01\x02", data), strict=True):
        marked = bytearray(data)
        marked[record.start() + 8] |= 1
        damaged.write_bytes(bytes(marked))
        if name.endswith(("/data.pkl", "/byteorder")) or "/data/" in name:
            with pytest.raises(CheckpointError, match="damaged.pt.*marked encrypted"):
                tr.load(damaged)
        else:
            _assert_same(tr.load(damaged), intact)
    for position in range(0, len(data), 7):
        damaged.write_bytes(data[:position] + bytes([data[position] ^ 0x5A]) + data[position + 1:])
        try:
            _assert_same(tr.load(damaged), intact)
        except CheckpointError as e:
            assert "damaged.pt" in str(e)


def test_a_memo_index_or_frame_beyond_the_pickle_is_refused_before_allocating(tmp_path):
    """The unpickler keeps its memo in an array: a LONG_BINPUT of index 2**31 would allocate 16 GB first."""
    for opcode in (b"r" + struct.pack("<I", 2**31), b"\x95" + struct.pack("<Q", 2**40)):   # LONG_BINPUT, FRAME
        pickled = b"\x80\x04}" + opcode + b"."
        path = _torch_shaped_zip(tmp_path / "memo.pt", pickled)
        with pytest.raises(CheckpointError, match=r"memo.pt is a PyTorch file .*(LONG_BINPUT|FRAME) at byte 3 claims"):
            tr.load(path)


def _is_plain(x):
    if isinstance(x, (dict, Counter)):
        return all(_is_plain(k) and _is_plain(v) for k, v in x.items())
    if isinstance(x, (list, tuple, set)):
        return all(_is_plain(v) for v in x)
    return x is None or type(x) in (bool, int, float, complex, str, bytes, np.ndarray, np.dtype, tr.Tensor,
                                    tr.nn.Parameter) or \
        isinstance(x, np.dtype)


@settings(deadline=None)
@given(data=st.data())
def test_a_damaged_pickle_behind_valid_checksums_gives_checkpoint_error_or_plain_data(tmp_path_factory, data):
    """data.pkl changed (bits, bytes, cuts) and the zip rewritten around it, so only the pickle reader sees the
    damage: CheckpointError naming the file, or plain data (the pickle may still say something valid)."""
    torch = _torch()
    directory = tmp_path_factory.mktemp("pickle")
    torch.manual_seed(5)
    base = torch.arange(6.0)
    protocol = data.draw(st.sampled_from([2, 4]), label="protocol")
    torch.save({"m": torch.nn.GRU(2, 2).state_dict(), "v": [base[1:], base[::2]], "s": {1, 2}, "b": b"x"},
               directory / "good.pt", pickle_protocol=protocol)
    assert _is_plain(tr.load(directory / "good.pt"))
    with zipfile.ZipFile(directory / "good.pt") as z:
        entries = {info.filename: z.read(info) for info in z.infolist()}
    name = next(n for n in entries if n.endswith("/data.pkl"))
    pickled = bytearray(entries[name])
    for _ in range(data.draw(st.integers(1, 3), label="damages")):
        at = data.draw(st.integers(0, len(pickled) - 1), label="at")
        kind = data.draw(st.sampled_from(["flip", "overwrite", "delete"]), label="kind")
        if kind == "flip":
            pickled[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == "overwrite":
            pickled[at] = data.draw(st.integers(0, 255), label="byte")
        else:
            del pickled[at:at + data.draw(st.integers(1, 4), label="count")]
    path = directory / "damaged.pt"
    with zipfile.ZipFile(path, "w") as z:
        for entry, content in entries.items():
            z.writestr(entry, bytes(pickled) if entry == name else content)
    try:
        back = tr.load(path)
    except CheckpointError as e:
        assert str(path) in str(e)
    else:
        assert _is_plain(back)
