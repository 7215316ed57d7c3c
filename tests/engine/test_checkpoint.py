"""tr.save / tr.load: bit-exact round trips, atomic writes, clear errors, identical resumed training."""
import importlib
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import nn, optim

# tr.checkpoint is the recomputing function (torch's name); the save/load module by its full name:
ckpt_module = importlib.import_module("tinygrad_rnn.serialization")


def assert_same(a, b, where="obj"):
    """Same structure, same types, same bytes."""
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert type(k) is type(list(b)[list(a).index(k)])
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), where
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), where
    elif isinstance(a, tr.Tensor):
        assert a.requires_grad == b.requires_grad
        assert_same(a._data, b._data, where)
    elif isinstance(a, float):
        assert np.array([a]).tobytes() == np.array([b]).tobytes(), where  # nan, -0.0 too
    else:
        assert a == b, where


def test_round_trip_is_bit_exact_and_keeps_types(tmp_path, rng):
    obj = {
        "model": {"w": rng.standard_normal((3, 4)).astype(np.float32), "b": np.float64(rng.standard_normal())},
        "ints": np.arange(5, dtype=np.int16), "mask": np.array([True, False]), "empty": np.zeros((0, 3)),
        "scalar32": np.float32(1.1), "state": {0: {"step": 3, "m": np.ones(2)}, 7: {}},
        "betas": (0.9, 0.999), "floats": [float("nan"), float("inf"), -0.0, 1e-310, 0.1],
        "vocab": ["a", "\u00e9", "\n"], "flag": True, "none": None, "big": 2 ** 70,
        "tricky": {"__array__": "not a marker"}, "t": tr.Tensor([1.0, 2.0], requires_grad=True),
        "p": nn.Parameter(np.ones(2, dtype=np.float64)), "mixed_keys": {1.5: "x", None: "y", True: "z"},
    }
    path = tmp_path / "c.npz"
    tr.save(obj, path)
    assert_same(obj, tr.load(path))
    assert os.listdir(tmp_path) == ["c.npz"]  # no temporary file left, no '.npz' appended twice


def test_unsavable_objects_are_refused_before_touching_the_file(tmp_path):
    path = tmp_path / "c.npz"
    tr.save({"ok": 1}, path)
    with pytest.raises(TypeError, match=r"obj\['f'\] is a function"):
        tr.save({"f": lambda: 0}, path)
    with pytest.raises(TypeError, match="dtype object"):
        tr.save({"a": np.array([None])}, path)
    with pytest.raises(TypeError, match="key of type"):
        tr.save({(1, 2): 0}, path)
    assert tr.load(path) == {"ok": 1}


def test_a_failed_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    tr.save({"w": np.arange(4.0), "step": 1}, path)

    def half_write(f, **arrays):  # writes some bytes, then the disk fills up / the process dies
        f.write(b"PK\x03\x04 partial zip")
        raise OSError("No space left on device")

    monkeypatch.setattr(ckpt_module.np, "savez", half_write)
    with pytest.raises(OSError, match="No space"):
        tr.save({"w": np.zeros(4), "step": 2}, path)
    monkeypatch.undo()
    back = tr.load(path)
    assert back["step"] == 1 and np.array_equal(back["w"], np.arange(4.0))
    assert os.listdir(tmp_path) == ["c.npz"]

    def failing_fsync(fd):  # everything written but not yet durable: still the old file at path
        raise OSError("I/O error")

    monkeypatch.setattr(ckpt_module.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="I/O error"):
        tr.save({"w": np.zeros(4), "step": 3}, path)
    monkeypatch.undo()
    assert tr.load(path)["step"] == 1
    assert os.listdir(tmp_path) == ["c.npz"]


def test_truncated_or_corrupted_files_give_a_clear_error(tmp_path, rng):
    path = tmp_path / "c.npz"
    tr.save({"w": rng.standard_normal(1000), "step": 5}, path)
    data = path.read_bytes()
    for name, damaged in [("truncated", data[: len(data) // 2]), ("empty", b""),
                          ("flipped", data[:600] + bytes([data[600] ^ 0xFF]) + data[601:]),
                          ("garbage", b"hello, not a zip file" * 10)]:
        bad = tmp_path / f"{name}.npz"
        bad.write_bytes(damaged)
        with pytest.raises(ckpt_module.CheckpointError, match=r"checkpoint file .* is truncated or corrupted"):
            tr.load(bad)
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.ones(3))
    with pytest.raises(ValueError, match="not a tinygrad_rnn checkpoint"):
        tr.load(plain)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        tr.load(tmp_path / "missing.npz")


def test_pickled_arrays_are_not_loaded(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, __checkpoint__=np.frombuffer(b'{"format": "tinygrad_rnn.checkpoint", "version": 1, '
                                                 b'"root": {"__array__": "a0"}}', dtype=np.uint8),
             a0=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError, match="truncated or corrupted"):
        tr.load(path)


def test_load_state_dict_lists_what_differs(tmp_path):
    tr.manual_seed(0)
    model = nn.LSTM(3, 4)
    state = model.state_dict()
    state["weight_hh_l0"] = state["weight_hh_l0"][:, :3]
    state["bias_ih_l0"] = state["bias_ih_l0"].astype(np.float64)   # cast on loading, as torch's copy_
    del state["bias_hh_l0"]
    state["extra"] = np.zeros(1)
    tr.save({"model": state}, tmp_path / "c.npz")
    with pytest.raises(ValueError) as e:
        model.load_state_dict(tr.load(tmp_path / "c.npz")["model"])
    msg = str(e.value)
    for words in ["missing keys: ['bias_hh_l0']", "unexpected keys: ['extra']",
                  "size mismatch for weight_hh_l0: copying a param with shape (16, 3) from checkpoint, the shape "
                  "in current model is (16, 4)"]:
        assert words in msg
    assert "bias_ih_l0" not in msg


def _train(model, opt, xs, ys, steps):
    losses = []
    for x, y in zip(xs[:steps], ys[:steps]):
        out, _ = model(tr.Tensor(x))
        loss = nn.functional.mse_loss(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("fused", [True, False])
def test_training_resumes_identically(tmp_path, rng, fused):
    T, B, I, H, steps, cut = 5, 2, 3, 4, 6, 3
    xs = [rng.standard_normal((T, B, I)).astype(np.float32) for _ in range(steps)]
    ys = [rng.standard_normal((T, B, H)).astype(np.float32) for _ in range(steps)]

    def fresh(seed):
        tr.manual_seed(seed)
        model = nn.LSTM(I, H, num_layers=2, fused=fused)
        model.fused = fused
        model.zero_grad()
        return model, optim.Adam(model.parameters(), lr=1e-2)

    model, opt = fresh(0)
    straight = _train(model, opt, xs, ys, steps)

    model, opt = fresh(0)
    first = _train(model, opt, xs, ys, cut)
    tr.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": cut, "vocab": ["x"]},
            tmp_path / "c.npz")
    model, opt = fresh(1)  # different weights, fresh optimizer: everything must come from the file
    ckpt = tr.load(tmp_path / "c.npz")
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    rest = _train(model, opt, xs[ckpt["step"]:], ys[ckpt["step"]:], steps - cut)
    assert first + rest == straight  # bit-exact


# ----------------------------------------------------------------------------- foreign, hostile and damaged files
def _npz_with(path, entries):
    """A hand-made .npz: {entry name: raw bytes of its .npy}, stored as np.savez stores them."""
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(name + ".npy", data)


def _npy_bytes(array=None, header=None, data=b""):
    """The .npy bytes of an array, or of a header dict followed by `data`."""
    import io
    f = io.BytesIO()
    if array is not None:
        np.save(f, array)
    else:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(data)
    return f.getvalue()


def _header_entry(root_json):
    text = '{"format": "tinygrad_rnn.checkpoint", "version": 1, "root": ' + root_json + "}"
    return _npy_bytes(np.frombuffer(text.encode(), dtype=np.uint8))


def test_what_is_not_a_checkpoint_raises_checkpoint_error_naming_it(tmp_path):
    cases = {}
    cases["array.npy"] = lambda p: np.save(p, np.ones(3))                       # np.save appends nothing to .npy
    cases["a_directory"] = lambda p: p.mkdir()
    cases["deep.npz"] = lambda p: _npz_with(p, {"__checkpoint__": _header_entry("[" * 100_000 + "]" * 100_000)})
    cases["deep_dicts.npz"] = lambda p: _npz_with(p, {"__checkpoint__": _header_entry(
        '{"__tuple__": [' * 5000 + "]}" * 5000)})
    cases["huge_shape.npz"] = lambda p: _npz_with(p, {        # 8e13 bytes claimed, 16 held: never allocated
        "__checkpoint__": _header_entry('{"__array__": "a0"}'),
        "a0": _npy_bytes(header={"descr": "<f8", "fortran_order": False, "shape": (10**13,)}, data=b"\0" * 16)})
    cases["negative_shape.npz"] = lambda p: _npz_with(p, {
        "__checkpoint__": _header_entry('{"__array__": "a0"}'),
        "a0": _npy_bytes(header={"descr": "<f8", "fortran_order": False, "shape": (-2,)}, data=b"\0" * 16)})
    cases["object_array.npz"] = lambda p: np.savez(p, __checkpoint__=np.frombuffer(
        b'{"format": "tinygrad_rnn.checkpoint", "version": 1, "root": {"__array__": "a0"}}', np.uint8),
        a0=np.array([{"evil": 1}], dtype=object))
    cases["missing_entry.npz"] = lambda p: _npz_with(p, {"__checkpoint__": _header_entry('{"__array__": "a7"}')})
    cases["header_is_a_list.npz"] = lambda p: _npz_with(p, {"__checkpoint__": _npy_bytes(
        np.frombuffer(b"[1, 2]", np.uint8))})
    cases["compressed.npz"] = lambda p: np.savez_compressed(p, __checkpoint__=np.frombuffer(
        b'{"format": "tinygrad_rnn.checkpoint", "version": 1, "root": 1}', np.uint8))
    for name, make in cases.items():
        path = tmp_path / name
        make(path)
        with pytest.raises(ckpt_module.CheckpointError) as e:
            tr.load(path)
        assert str(path) in str(e.value), name
    assert "directory" in str(pytest.raises(ckpt_module.CheckpointError, tr.load, tmp_path / "a_directory").value)
    assert "np.load" in str(pytest.raises(ckpt_module.CheckpointError, tr.load, tmp_path / "array.npy").value)


_SAMPLE = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "step": 7, "betas": (0.9, 0.999),
           "state": {0: {"m": np.ones(2)}}, "name": "lstm"}


def test_every_single_damaged_byte_raises_checkpoint_error_or_loads_unchanged(tmp_path):
    """Each byte of a small checkpoint in turn, all its bits flipped (zip headers, .npy headers, the JSON,
    the data, the central directory): CheckpointError naming the file, or exactly what was saved."""
    path = tmp_path / "c.npz"
    tr.save(_SAMPLE, path)
    good = path.read_bytes()
    for at in range(len(good)):
        path.write_bytes(good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1:])
        try:
            back = tr.load(path)
        except ckpt_module.CheckpointError as e:
            assert str(path) in str(e)
        else:
            assert_same(_SAMPLE, back, f"byte {at}")


def test_an_entry_marked_encrypted_raises_checkpoint_error(tmp_path):
    """Bit 0 of an entry's flags alone (encrypted: zipfile asks for a password with a RuntimeError; the byte
    flipped whole above sets other flags that zipfile refuses first)."""
    path = tmp_path / "c.npz"
    tr.save(_SAMPLE, path)
    data = bytearray(path.read_bytes())
    data[data.rfind(b"PK\x01\x02") + 8] |= 1   # the last central directory record's flags
    path.write_bytes(bytes(data))
    with pytest.raises(ckpt_module.CheckpointError, match=f"{path}.*marked encrypted"):
        tr.load(path)


@settings(deadline=None)
@given(data=st.data())
def test_damaged_bytes_anywhere_raise_checkpoint_error_or_load_unchanged(tmp_path_factory, data):
    """Flipped bits, cut, overwritten, inserted or deleted bytes anywhere: load either raises
    CheckpointError naming the file or returns exactly what was saved (damage in zip metadata that
    does not matter, e.g. a timestamp). Never another exception, never different data."""
    directory = tmp_path_factory.mktemp("damaged")
    path = directory / "c.npz"
    tr.save(_SAMPLE, path)
    good = bytearray(path.read_bytes())
    damaged = bytearray(good)
    for _ in range(data.draw(st.integers(1, 3), label="damages")):
        kind = data.draw(st.sampled_from(["flip", "truncate", "overwrite", "insert", "delete"]), label="kind")
        at = data.draw(st.integers(0, max(0, len(damaged) - 1)), label="at")
        if kind == "flip" and damaged:
            damaged[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == "truncate":
            del damaged[at:]
        elif kind == "overwrite":
            chunk = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
            damaged[at:at + len(chunk)] = chunk
        elif kind == "insert":
            damaged[at:at] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        elif kind == "delete":
            del damaged[at:at + data.draw(st.integers(1, 16), label="count")]
    path.write_bytes(bytes(damaged))
    try:
        back = tr.load(path)
    except ckpt_module.CheckpointError as e:
        assert str(path) in str(e)
    else:
        assert_same(_SAMPLE, back)


# ----------------------------------------------------------------------------- how save writes
def test_save_gives_the_mode_of_a_new_file_under_the_umask(tmp_path):
    for umask in (0o022, 0o077, 0o002):
        old = os.umask(umask)
        try:
            tr.save({"x": 1}, tmp_path / f"c{umask}.npz")
            with open(tmp_path / f"plain{umask}", "w"):
                pass
        finally:
            os.umask(old)
        mode = os.stat(tmp_path / f"c{umask}.npz").st_mode & 0o777
        assert mode == os.stat(tmp_path / f"plain{umask}").st_mode & 0o777 == 0o666 & ~umask
    os.chmod(tmp_path / "c18.npz", 0o640)       # an existing checkpoint keeps its mode, as when overwritten
    tr.save({"x": 2}, tmp_path / "c18.npz")
    assert os.stat(tmp_path / "c18.npz").st_mode & 0o777 == 0o640 and tr.load(tmp_path / "c18.npz") == {"x": 2}


def test_save_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "ckpt-100.npz"
    link = tmp_path / "latest.npz"
    tr.save({"step": 100}, target)
    link.symlink_to(target)
    tr.save({"step": 200}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert tr.load(target) == {"step": 200} and tr.load(link) == {"step": 200}
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "runs"] and os.listdir(tmp_path / "runs") == ["ckpt-100.npz"]


_KILLED_SAVE = """
import os, signal, sys
import numpy as np
import tinygrad_rnn as tr
from tinygrad_rnn import serialization as checkpoint

def savez_then_die(f, **arrays):        # half the bytes written, then the process is killed
    f.write(b"PK\\x03\\x04" + b"x" * 100000)
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)

checkpoint.np.savez = savez_then_die
tr.save({"w": np.zeros(10)}, sys.argv[1])
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and the pid check are POSIX")
def test_a_killed_save_leaves_one_temporary_file_which_the_next_save_removes(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "c.npz"
    tr.save({"step": 1}, path)
    for _ in range(3):   # three kills in a row
        proc = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(path)], capture_output=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(tr.__file__))})
        assert proc.returncode == -9, proc.stderr
        leftovers = [f for f in os.listdir(tmp_path) if f != "c.npz"]
        assert len(leftovers) == 1 and leftovers[0].startswith(".c.npz.tmp-"), leftovers   # at most one
        assert tr.load(path) == {"step": 1}                      # the previous checkpoint is intact
    tr.save({"step": 2}, path)
    assert os.listdir(tmp_path) == ["c.npz"] and tr.load(path) == {"step": 2}


def test_a_frozen_parameter_stays_frozen_and_torch_objects_are_named(tmp_path):
    frozen = nn.Parameter(np.ones(2, dtype=np.float32))
    frozen.requires_grad_(False)
    path = tmp_path / "c.npz"
    tr.save({"frozen": frozen, "trained": nn.Parameter(np.zeros(1))}, path)
    back = tr.load(path)
    assert type(back["frozen"]) is nn.Parameter and back["frozen"].requires_grad is False
    assert back["trained"].requires_grad is True
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"obj\['w'\] is a torch.Tensor; convert it with .detach\(\).numpy\(\)"):
        tr.save({"w": torch.ones(2)}, path)
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")   # read (test_torch_checkpoint_files.py has the rest)
    back = tr.load(tmp_path / "torch.pt")
    assert type(back["w"]) is tr.Tensor and back["w"].dtype == np.float32   # a tensor, as torch.load gives


def test_a_missing_directory_is_refused_by_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="save: the directory of .*nodir.*does not exist"):
        tr.save({"a": 1}, tmp_path / "nodir" / "c.npz")
    assert os.listdir(tmp_path) == []


def test_torchs_load_and_save_arguments_are_taken_as_torch_code_passes_them(tmp_path):
    """torch code writes torch.load(f, map_location="cpu", weights_only=True) and torch.save(obj, f=...): they
    were refused as unknown arguments. CPU locations and both flags load the same values; a GPU location, a
    function, or a flag that is not a bool is refused by name."""
    torch = pytest.importorskip("torch")
    path = tmp_path / "ckpt"
    state = {"w": np.arange(6.0, dtype=np.float32).reshape(2, 3), "step": 3}
    tr.save(state, f=path)
    for kwargs in ({}, {"map_location": "cpu"}, {"map_location": torch.device("cpu")},
                   {"map_location": {"cuda:0": "cpu"}}, {"weights_only": True}, {"weights_only": False},
                   {"map_location": None, "weights_only": None}):
        loaded = tr.load(f=path, **kwargs)
        np.testing.assert_array_equal(loaded["w"], state["w"])
        assert loaded["step"] == 3 and loaded["w"].dtype == np.float32
    for location in ("cuda", torch.device("cuda:0"), {"cpu": "cuda:1"}, lambda storage, loc: storage):
        with pytest.raises(ValueError, match="load: map_location must be None, 'cpu' or a dict"):
            tr.load(path, location)
    with pytest.raises(TypeError, match="load: weights_only must be True, False or None, got str"):
        tr.load(path, weights_only="yes")
