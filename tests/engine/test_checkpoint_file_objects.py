"""tr.save / tr.load with file objects (io.BytesIO, an open binary file), as torch.save / torch.load take them:
they were refused (a path only). Compared with torch 2.13 and with a save to a path."""
import io
import os

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def _state():
    return {"w": np.arange(6.0, dtype=np.float32).reshape(2, 3), "step": 3, "t": tr.Tensor([1.0, 2.0]),
            "pair": (1, "a"), 0: {"lr": 0.5}}


def _assert_same(a, b):
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, tr.Tensor):
        assert a.data.dtype == b.data.dtype and np.array_equal(a.data, b.data)
        assert a.requires_grad == b.requires_grad
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert a == b


def test_save_to_a_buffer_then_load_from_it_gives_what_a_path_gives(tmp_path):
    buf = io.BytesIO()
    tr.save(_state(), buf)
    buf.seek(0)
    from_buffer = tr.load(buf)
    tr.save(_state(), tmp_path / "c.npz")
    _assert_same(from_buffer, tr.load(tmp_path / "c.npz"))
    _assert_same(from_buffer, _state())


def test_open_binary_files_and_positions_as_torch(tmp_path):
    """Written at the file's position and read from it, as torch.save / torch.load do with a file object."""
    path = tmp_path / "c.bin"
    with open(path, "wb") as f:
        f.write(b"junk")
        tr.save(_state(), f)
    with open(path, "rb") as f:
        f.seek(4)
        _assert_same(tr.load(f), _state())
    t_buf = io.BytesIO(b"junk")
    t_buf.seek(4)
    torch.save({"w": torch.ones(2)}, t_buf)
    t_buf.seek(4)
    assert torch.equal(torch.load(t_buf)["w"], torch.ones(2))   # (the rule followed)
    t_buf.seek(4)
    assert np.array_equal(tr.load(t_buf)["w"], np.ones(2, np.float32))


def test_a_torch_saved_buffer_loads():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4)
    buf = io.BytesIO()
    torch.save({"model": lstm.state_dict(), "step": 7}, buf)
    back = tr.load(io.BytesIO(buf.getvalue()), map_location="cpu", weights_only=True)
    assert back["step"] == 7
    ours = tr.nn.LSTM(3, 4)
    ours.load_state_dict(back["model"])
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    expected = lstm(torch.from_numpy(x))[0].detach().numpy()
    np.testing.assert_allclose(ours(tr.Tensor(x))[0].data, expected, rtol=1e-5, atol=1e-6)


def test_a_damaged_buffer_is_a_checkpoint_error_naming_the_object():
    buf = io.BytesIO()
    tr.save(_state(), buf)
    with pytest.raises(tr.CheckpointError, match="checkpoint file <BytesIO> is truncated or corrupted"):
        tr.load(io.BytesIO(buf.getvalue()[:-10]))
    with pytest.raises(tr.CheckpointError, match="<BytesIO>.*a single .npy"):
        b = io.BytesIO()
        np.save(b, np.ones(2))
        tr.load(io.BytesIO(b.getvalue()))


@pytest.mark.parametrize("bad", [123, None, b"/tmp/x.npz", 1.5])
def test_what_is_neither_a_path_nor_a_file_is_a_type_error_naming_f(bad):
    """torch raises AttributeError ("expected 'f' to be string, path, or a file-like object"); ours is a
    TypeError that is that AttributeError too, so torch code catching it still does."""
    with pytest.raises(AttributeError):
        torch.save({"a": 1}, bad)
    for call in (lambda: tr.save({"a": 1}, bad), lambda: tr.load(bad)):
        with pytest.raises(TypeError, match=r"f must be a file path \(str or os.PathLike\) or a binary file object"):
            call()
        with pytest.raises(AttributeError):
            call()


def test_text_mode_files_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "c.txt"
    with open(path, "w") as f:
        with pytest.raises(TypeError, match="save: f must be .* a binary file object, got a text-mode"):
            tr.save({"a": 1}, f)
    assert os.path.getsize(path) == 0
    tr.save({"a": 1}, path)
    with open(path) as f:
        with pytest.raises(TypeError, match=r"load: f must be .* binary file object.*read\(\) gives str"):
            tr.load(f)


def test_an_unsavable_object_writes_nothing_to_the_buffer():
    buf = io.BytesIO()
    with pytest.raises(TypeError, match=r"obj\['f'\] is a builtin"):
        tr.save({"f": print}, buf)
    assert buf.getvalue() == b""
