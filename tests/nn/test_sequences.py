"""tr.nn.utils.rnn against torch.nn.utils.rnn: padding, packing, a layer run on a packed batch,
unpacking; values, lengths and gradients."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)

torch = pytest.importorskip("torch")
R = torch.nn.utils.rnn
RNG = np.random.default_rng(0)
LENGTHS = [3, 5, 1, 5]  # unsorted, with a tie


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_values_and_gradients(batch_first, padding_side):
    arrays = [RNG.standard_normal((n, 2)) for n in LENGTHS]
    ours = [tr.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = pad_sequence(ours, batch_first=batch_first, padding_value=-1.5, padding_side=padding_side)
    ref = R.pad_sequence(theirs, batch_first=batch_first, padding_value=-1.5, padding_side=padding_side)
    np.testing.assert_array_equal(out._data, ref.detach().numpy())
    w = RNG.standard_normal(out.shape)
    (out * w).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad, b.grad.numpy())


def test_packed_layout_matches_torch():
    x = RNG.standard_normal((5, 4, 3))
    ours = pack_padded_sequence(tr.Tensor(x), LENGTHS, enforce_sorted=False)
    theirs = R.pack_padded_sequence(torch.tensor(x), torch.tensor(LENGTHS), enforce_sorted=False)
    np.testing.assert_array_equal(ours.batch_sizes, theirs.batch_sizes.numpy())
    np.testing.assert_array_equal(ours.sorted_indices, theirs.sorted_indices.numpy())
    np.testing.assert_array_equal(ours.unsorted_indices, theirs.unsorted_indices.numpy())
    np.testing.assert_array_equal(ours.data._data, theirs.data.numpy())
    seqs = [tr.Tensor(RNG.standard_normal((n, 2))) for n in (4, 2, 2)]
    packed = pack_sequence(seqs)
    ref = R.pack_sequence([torch.tensor(s._data) for s in seqs])
    np.testing.assert_array_equal(packed.data._data, ref.data.numpy())


@pytest.mark.parametrize("seed", range(4))
def test_unsorted_indices_restore_the_batch_order_as_torch(seed):
    """Many tied lengths, where torch's sort may order ties differently: each library's unsorted_indices
    undo its own sorted_indices, each sorts the lengths longest first, and unpacking gives torch's batch."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 6, size=25)
    lengths[0] = 5
    x = rng.standard_normal((5, 25, 2))
    ours = pack_padded_sequence(tr.Tensor(x), lengths, enforce_sorted=False)
    theirs = R.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), enforce_sorted=False)
    for packed in (ours, theirs):
        order, inverse = np.asarray(packed.sorted_indices), np.asarray(packed.unsorted_indices)
        np.testing.assert_array_equal(order[inverse], np.arange(25))
        assert np.all(np.diff(lengths[order]) <= 0)
    np.testing.assert_array_equal(ours.batch_sizes, theirs.batch_sizes.numpy())
    out, out_lengths = pad_packed_sequence(ours, batch_first=True, padding_value=-2.0)
    ref, ref_lengths = R.pad_packed_sequence(theirs, batch_first=True, padding_value=-2.0)
    np.testing.assert_array_equal(out._data, ref.numpy())
    np.testing.assert_array_equal(out_lengths, ref_lengths.numpy())


@pytest.mark.parametrize("kind,fused", [("LSTM", True), ("GRU", False), ("RNN", True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_on_a_packed_batch_matches_torch(kind, fused, batch_first):
    T, B, I, H = 6, 4, 3, 5  # T > max(LENGTHS): packing drops the extra step, total_length restores it
    tm = getattr(torch.nn, kind)(I, H, num_layers=2, bidirectional=True, batch_first=batch_first).double()
    ours = getattr(tr.nn, kind)(I, H, num_layers=2, bidirectional=True, batch_first=batch_first, fused=fused,
                                dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = RNG.standard_normal((B, T, I) if batch_first else (T, B, I))
    xo, xt = tr.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)

    po = pack_padded_sequence(xo, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    pt = R.pack_padded_sequence(xt, torch.tensor(LENGTHS), batch_first=batch_first, enforce_sorted=False)
    out_o, h_o = ours(po)
    out_t, h_t = tm(pt)
    assert isinstance(out_o, PackedSequence)
    np.testing.assert_allclose(out_o.data._data, out_t.data.detach().numpy(), rtol=1e-10, atol=1e-12)
    pad_o, len_o = pad_packed_sequence(out_o, batch_first=batch_first, padding_value=0.25, total_length=T)
    pad_t, len_t = R.pad_packed_sequence(out_t, batch_first=batch_first, padding_value=0.25, total_length=T)
    np.testing.assert_array_equal(len_o, len_t.numpy())
    np.testing.assert_allclose(pad_o._data, pad_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    h_o, h_t = (h_o[0], h_t[0]) if kind == "LSTM" else (h_o, h_t)
    np.testing.assert_allclose(h_o._data, h_t.detach().numpy(), rtol=1e-10, atol=1e-12)

    w = RNG.standard_normal(pad_o.shape)
    ((pad_o * w).sum() + h_o.sum()).backward()
    ((pad_t * torch.tensor(w)).sum() + h_t.sum()).backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    theirs = dict(tm.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs[name].grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


def test_errors():
    x = tr.Tensor(np.ones((5, 4, 3)))
    with pytest.raises(ValueError, match="sorted in decreasing order with enforce_sorted=True"):
        pack_padded_sequence(x, LENGTHS)
    with pytest.raises(ValueError, match=r"every length must be in \[1, 5\].*got 6"):
        pack_padded_sequence(x, [6, 5, 1, 1])
    with pytest.raises(ValueError, match="one entry per sequence in the batch: expected 4, got 2"):
        pack_padded_sequence(x, [5, 1])
    with pytest.raises(ValueError, match="pass lengths= or a PackedSequence, not both"):
        tr.nn.GRU(3, 2)(pack_padded_sequence(x, [5, 5, 1, 1]), lengths=[5, 5, 1, 1])
    with pytest.raises(ValueError, match="total_length must be at least the longest length 5, got 4"):
        pad_packed_sequence(pack_padded_sequence(x, [5, 5, 1, 1]), total_length=4)
    with pytest.raises(ValueError, match=r"sequences\[1\] has shape \(2, 3\)"):
        pad_sequence([tr.Tensor(np.ones((2, 2))), tr.Tensor(np.ones((2, 3)))])
    with pytest.raises(TypeError, match="sequences must be a list of Tensors"):
        pad_sequence(tr.Tensor(np.ones(3)))   # (a Tensor of 2 or more dimensions is the list of its rows)


def test_unpad_and_unpack_invert_pad_and_pack():
    seqs = [tr.Tensor(RNG.standard_normal((n, 2))) for n in LENGTHS]
    for batch_first in (False, True):
        back = tr.nn.utils.rnn.unpad_sequence(pad_sequence(seqs, batch_first), LENGTHS, batch_first)
        assert all(np.array_equal(a._data, b._data) for a, b in zip(back, seqs))
    back = tr.nn.utils.rnn.unpack_sequence(pack_sequence(seqs, enforce_sorted=False))
    theirs = R.unpack_sequence(R.pack_sequence([torch.tensor(s._data) for s in seqs], enforce_sorted=False))
    assert all(np.array_equal(a._data, b.numpy()) for a, b in zip(back, theirs))


def test_packed_sequence_methods_and_a_tensor_of_sequences_as_torch():
    x = RNG.standard_normal((5, 4, 3))
    ours = pack_padded_sequence(tr.Tensor(x, requires_grad=True), LENGTHS, enforce_sorted=False)
    theirs = R.pack_padded_sequence(torch.tensor(x), torch.tensor(LENGTHS), enforce_sorted=False)
    np.testing.assert_array_equal(ours.unsorted_indices, theirs.unsorted_indices.numpy())
    assert ours.is_cuda is theirs.is_cuda is False and ours.cpu() is ours
    for cast, dtype in (("float", np.float32), ("double", np.float64)):
        o, t = getattr(ours, cast)(), getattr(theirs, cast)()
        assert o.data.dtype == dtype == t.data.numpy().dtype
        np.testing.assert_array_equal(o.data._data, t.data.numpy())
        np.testing.assert_array_equal(o.batch_sizes, t.batch_sizes.numpy())
    o, t = ours.to(np.float32), theirs.to(torch.float32)
    np.testing.assert_array_equal(o.data._data, t.data.numpy())
    o.data.sum().backward()   # the cast stays on the tape, as torch's
    np.testing.assert_array_equal(ours.padded.grad, (np.arange(5)[:, None] < np.array(LENGTHS)[None, :])[..., None]
                                  * np.ones(3))
    # a Tensor passed as the sequences is the list of its rows, as torch
    stacked = RNG.standard_normal((3, 2, 4))
    np.testing.assert_array_equal(pad_sequence(tr.Tensor(stacked), batch_first=True)._data,
                                  R.pad_sequence(torch.tensor(stacked), batch_first=True).numpy())


def test_torch_code_indexing_a_packed_sequence_is_refused_not_misread():
    """torch's PackedSequence is the tuple (data, batch_sizes, ...): out[0] is the data. Ours holds the padded
    batch; read as a tuple it would silently give (T, B, H) where torch code expects (sum(lengths), H)."""
    x = RNG.standard_normal((5, 4, 3))
    out_t, _ = torch.nn.GRU(3, 2).double()(R.pack_padded_sequence(torch.tensor(x), LENGTHS, enforce_sorted=False))
    out_o, _ = tr.nn.GRU(3, 2, dtype=np.float64)(pack_padded_sequence(tr.Tensor(x), LENGTHS, enforce_sorted=False))
    assert tuple(out_t[0].shape) == out_o.data.shape == (sum(LENGTHS), 2)
    for read in (lambda p: p[0], lambda p: tuple(p), lambda p: [a for a, *_ in [p]]):
        with pytest.raises(TypeError, match=r"PackedSequence is not a tuple here.*read \.data, \.batch_sizes"):
            read(out_o)
    assert out_o   # still truthy, as torch's


def _as_torch_lengths(kind, lengths):
    return {"list": list(lengths), "ndarray": np.array(lengths), "tensor": torch.tensor(lengths),
            "tensor32": torch.tensor(lengths, dtype=torch.int32)}[kind]


def _as_our_lengths(kind, lengths):
    return {"list": list(lengths), "ndarray": np.array(lengths), "tensor": tr.tensor(np.array(lengths)),
            "tensor32": np.array(lengths, np.int32)}[kind]


@pytest.mark.parametrize("kind", ["list", "ndarray", "tensor", "tensor32"])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 5, 3, 1]), (False, [3, 5, 1, 5])])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packing_returns_torchs_types_and_dtypes(kind, enforce_sorted, lengths, batch_first, dtype):
    """pad_packed_sequence gives the lengths as an int64 Tensor, and batch_sizes / sorted_indices /
    unsorted_indices are int64 Tensors, as torch's, whatever form the lengths came in; the padded batch keeps
    its dtype; and the lengths that come back feed a layer's lengths= as they are."""
    x = RNG.standard_normal((4, 6, 3) if batch_first else (6, 4, 3)).astype(dtype)
    ours = pack_padded_sequence(tr.tensor(x), _as_our_lengths(kind, lengths), batch_first=batch_first,
                                enforce_sorted=enforce_sorted)
    theirs = R.pack_padded_sequence(torch.tensor(x), _as_torch_lengths(kind, lengths), batch_first=batch_first,
                                    enforce_sorted=enforce_sorted)
    names = ["batch_sizes"] + ([] if enforce_sorted else ["sorted_indices", "unsorted_indices"])
    for name in names:
        o, t = getattr(ours, name), getattr(theirs, name)
        assert isinstance(o, tr.Tensor) and o.dtype == np.int64 and t.dtype == torch.int64, name
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    out, out_lengths = pad_packed_sequence(ours, batch_first=batch_first, padding_value=-1.0, total_length=7)
    ref, ref_lengths = R.pad_packed_sequence(theirs, batch_first=batch_first, padding_value=-1.0, total_length=7)
    assert isinstance(out_lengths, tr.Tensor) and not out_lengths.requires_grad
    assert out_lengths.dtype == np.int64 and ref_lengths.dtype == torch.int64
    np.testing.assert_array_equal(out_lengths.numpy(), ref_lengths.numpy())
    assert out.dtype == dtype and out.numpy().dtype == ref.numpy().dtype
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    layer = tr.nn.GRU(3, 2, batch_first=batch_first, dtype=dtype)
    y, _ = layer(out, lengths=out_lengths)
    y_ref, _ = layer(out, lengths=np.array(lengths))
    np.testing.assert_array_equal(y.numpy(), y_ref.numpy())
    assert y.dtype == dtype
