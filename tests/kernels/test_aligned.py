"""64-byte aligned weights (kernels/aligned.py): the fused loops' product operands, the modules' parameters and
the buffer pool start on a cache line, and keeping them there never changes a number or hides a write.

Held against plain numpy (values, dtypes, layouts) and against the generic tape (a fused layer whose weight
array is deliberately off the boundary gives the tape's outputs and gradients, also after an in-place write
of that weight: the aligned copy is made again every call, never kept stale)."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile import node
from tinygrad_rnn.kernels import aligned, workspace


def _off_boundary(a, offset_bytes=16):
    """A copy of a whose first element is offset_bytes past a 64-byte boundary."""
    buf = np.empty(a.nbytes + 128, np.uint8)
    start = -buf.ctypes.data % 64 + offset_bytes
    out = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert out.ctypes.data % 64 == offset_bytes
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(0,), (3,), (7, 5), (2, 3, 4), (128, 512)])
def test_empty_and_copy_are_aligned_and_equal(shape, dtype):
    a = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    e = aligned.empty(shape, dtype)
    assert e.shape == shape and e.dtype == dtype and e.flags.c_contiguous and e.flags.writeable
    c = aligned.copy(a)
    assert aligned.is_aligned(c) and c.dtype == a.dtype and c.flags.c_contiguous
    np.testing.assert_array_equal(c, a)
    if a.ndim == 2:   # a transposed view comes back C-contiguous, with a.T's values
        np.testing.assert_array_equal(aligned.copy(a.T), a.T)
        assert aligned.copy(a.T).flags.c_contiguous
    if dtype is not np.int64:
        other = np.float64 if dtype is np.float32 else np.float32
        cast = aligned.copy(a, other)
        assert cast.dtype == other and aligned.is_aligned(cast)
        np.testing.assert_array_equal(cast, a.astype(other))
    if e.size:
        assert aligned.is_aligned(e)


def test_copies_do_not_share_memory():
    a = np.ones((64, 64), np.float32)
    c = aligned.copy(a)
    c[0, 0] = 5
    assert a[0, 0] == 1 and not np.shares_memory(a, c)


@pytest.mark.parametrize("layer", [tr.nn.LSTM, tr.nn.GRU, tr.nn.RNN])
@pytest.mark.parametrize("hidden", [20, 64, 96, 128, 256])
def test_layer_parameters_start_on_a_cache_line(layer, hidden):
    m = layer(32, hidden, num_layers=2, bidirectional=True)
    for name, p in m.named_parameters():
        assert p._data.ctypes.data % 64 == 0, name
        assert p.storage_offset() == 0 and p.is_contiguous()   # as a fresh array: no visible offset
    m.double()
    for name, p in m.named_parameters():
        assert p.dtype == np.float64 and p._data.ctypes.data % 64 == 0, name


def test_to_keeps_values_and_a_non_contiguous_layout():
    m = tr.nn.Linear(8, 6)
    before = m.weight.detach().numpy().copy()
    m.double()
    np.testing.assert_array_equal(m.weight.detach().numpy(), before.astype(np.float64))
    m.weight._data = np.asfortranarray(m.weight._data)   # a layout the user chose: kept, as astype keeps it
    m.float()
    assert m.weight._data.flags.f_contiguous and not m.weight._data.flags.c_contiguous
    np.testing.assert_array_equal(m.weight.detach().numpy(), before)


def test_pooled_buffers_are_aligned():
    arrays = [workspace.empty((n, 1024), np.float32) for n in (64, 65, 200)]
    for a in arrays:
        assert aligned.is_aligned(a)


def _run(layer, x):
    out, state = layer(x)
    loss = (out * out).sum() + sum((s * s).sum() for s in (state if isinstance(state, tuple) else (state,)))
    layer.zero_grad()
    loss.backward()
    return out.detach().numpy(), [p.grad.numpy().copy() for p in layer.parameters()]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_layer_with_weights_off_the_boundary_is_the_tape(kind, dtype):
    """Every weight moved 16 bytes off the boundary: the kernels multiply by aligned copies (the recurrent
    weight is 64 x 4H, above node.ALIGN_BYTES), made again at every call, so an in-place write between calls
    is seen. Outputs and gradients equal the generic tape's."""
    tr.manual_seed(0)
    fused = getattr(tr.nn, kind)(16, 64, num_layers=2, dtype=dtype)
    tape = getattr(tr.nn, kind)(16, 64, num_layers=2, dtype=dtype, fused=False)
    tape.load_state_dict(fused.state_dict())
    for p in fused.parameters():
        p._data = _off_boundary(p._data)
    assert fused.weight_hh_l0._data.nbytes >= node.ALIGN_BYTES
    x = tr.randn(7, 33, 16, dtype=dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    for _ in range(2):   # the second call writes the weights first: a kept copy would be stale
        out_f, grads_f = _run(fused, x)
        out_t, grads_t = _run(tape, x)
        np.testing.assert_allclose(out_f, out_t, **tol)
        for gf, gt in zip(grads_f, grads_t):
            np.testing.assert_allclose(gf, gt, **tol)
        with tr.no_grad():
            for pf, pt in zip(fused.parameters(), tape.parameters()):
                pf.mul_(0.9)
                pt.mul_(0.9)
        assert all(p._data.ctypes.data % 64 == 16 for p in fused.parameters())   # written in place, still off
