"""Cases from PyTorch's own tests of its recurrent layers and torch.nn.utils.rnn (test/test_nn.py, test/nn/
test_packed_sequence.py) where ours gave another answer or an unclear error than torch 2.13: PackedSequence's casts,
packing an empty batch, unpadding a sequence of length 0, 0-d Tensors as total_length and padding_value, a layer
whose parameter was deleted (torch's test_partial_flat_weights), dropout changed after construction (torch's
test_RNN_change_dropout), and torch's objects given by mistake. Each compares against torch; weights are torch's,
float32 and float64."""
import numpy as np
import pytest
from conftest import raises_as_torch, torch_error

import tinygrad_rnn as tr
from tinygrad_rnn.nn.utils import rnn as O

torch = pytest.importorskip("torch")
R = torch.nn.utils.rnn
DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def _pair(kind, *args, dtype=np.float64, **kwargs):
    """torch's module in dtype and ours holding its weights."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(*args, **kwargs).to(TORCH_DTYPE[dtype])
    ours = getattr(tr.nn, kind)(*args, dtype=dtype, **kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def _first(out):
    return out[0].detach().numpy() if hasattr(out[0], "detach") else out[0].numpy()


# ----------------------------------------------------------------------------- PackedSequence
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 3, 1]), (False, [3, 5, 1, 3])])
def test_packed_sequence_long_and_is_pinned_as_torch(dtype, enforce_sorted, lengths):
    """torch's test_type_casts and test_to: packed.long() casts the data to int64 (truncated toward zero) and unpacks
    as torch's; is_pinned() is False. Ours had neither (AttributeError). .int() (int32) is refused, as Tensor.int()."""
    x = (np.random.default_rng(0).standard_normal((5, 4, 2)) * 4).astype(dtype)
    pt = R.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=enforce_sorted)
    po = O.pack_padded_sequence(tr.tensor(x), lengths, enforce_sorted=enforce_sorted)
    lt, lo = pt.long(), po.long()
    assert lt.data.dtype == torch.int64 and lo.data.dtype == np.int64
    np.testing.assert_array_equal(lo.data.numpy(), lt.data.numpy())
    np.testing.assert_array_equal(O.pad_packed_sequence(lo, padding_value=-7)[0].numpy(),
                                  R.pad_packed_sequence(lt, padding_value=-7)[0].numpy())
    np.testing.assert_array_equal(lo.double().data.numpy(), lt.double().data.numpy())   # and back to floats
    assert po.is_pinned() is pt.is_pinned() is False
    with pytest.raises(TypeError, match=r"long\(\)"):
        po.int()


EMPTY_BATCHES = {   # name: (input shape, lengths, batch_first)
    "no steps, no sequences": ((0, 0), [], False),
    "no sequences, batch_first": ((0, 1, 10), np.zeros((11, 14, 14, 2)), True),   # (torch's test: lengths unread)
    "no sequences, time-major": ((5, 0, 3), [], False),
}


@pytest.mark.parametrize("case", list(EMPTY_BATCHES))
def test_packing_an_empty_batch_is_torchs_error(case):
    """torch's test_pack_padded_sequence: "Cannot pack empty tensors" (a RuntimeError). Ours failed inside numpy
    (a ValueError about a zero-size reduction) or on the lengths."""
    shape, lengths, batch_first = EMPTY_BATCHES[case]
    lengths_t = torch.tensor(lengths) if isinstance(lengths, np.ndarray) else lengths
    raises_as_torch(lambda: R.pack_padded_sequence(torch.zeros(shape), lengths_t, batch_first),
                    lambda: O.pack_padded_sequence(tr.zeros(*shape), lengths, batch_first),
                    rf"pack_padded_sequence: cannot pack an empty batch: input has shape \({shape[0]}, ")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence_gives_back_a_sequence_of_length_0_as_torch(dtype, batch_first):
    """pad_sequence pads a sequence of length 0, and torch's unpad_sequence gives it back; ours refused the length 0
    (every length had to be at least 1, as packing's)."""
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, 2)).astype(dtype) for n in (3, 0, 4, 1)]
    ours = [tr.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    lengths = [len(a) for a in arrays]
    back_o = O.unpad_sequence(O.pad_sequence(ours, batch_first), lengths, batch_first)
    back_t = R.unpad_sequence(R.pad_sequence(theirs, batch_first), torch.tensor(lengths), batch_first)
    assert [b.shape for b in back_o] == [tuple(b.shape) for b in back_t]
    ws = [rng.standard_normal(a.shape).astype(dtype) for a in arrays]
    sum((b * w).sum() for b, w in zip(back_o, ws)).backward()
    sum((b * torch.tensor(w)).sum() for b, w in zip(back_t, ws)).backward()
    for bo, bt, a, b in zip(back_o, back_t, ours, theirs):
        assert bo.dtype == dtype
        np.testing.assert_array_equal(bo.numpy(), bt.detach().numpy())
        np.testing.assert_array_equal(a.grad, b.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_dim_tensors_as_total_length_and_padding_value_as_torch(dtype):
    """torch takes a 0-d int Tensor as pad_packed_sequence's total_length and a 0-d Tensor as padding_value (of
    pad_packed_sequence and pad_sequence); ours refused them. A float total_length stays a TypeError, as torch's."""
    x = np.random.default_rng(2).standard_normal((5, 3, 2)).astype(dtype)
    pt = R.pack_padded_sequence(torch.tensor(x), [5, 2, 4], enforce_sorted=False)
    po = O.pack_padded_sequence(tr.tensor(x), [5, 2, 4], enforce_sorted=False)
    for value in (-1.5, 3):
        out_t, len_t = R.pad_packed_sequence(pt, padding_value=torch.tensor(value), total_length=torch.tensor(7))
        out_o, len_o = O.pad_packed_sequence(po, padding_value=tr.tensor(np.array(value)),
                                             total_length=tr.tensor(np.array(7)))
        assert out_o.dtype == dtype and out_o.shape == tuple(out_t.shape)
        np.testing.assert_array_equal(out_o.numpy(), out_t.numpy())
        np.testing.assert_array_equal(len_o.numpy(), len_t.numpy())
        seqs = [x[:n, 0] for n in (5, 2, 4)]
        np.testing.assert_array_equal(
            O.pad_sequence([tr.tensor(s) for s in seqs], padding_value=tr.tensor(np.array(value))).numpy(),
            R.pad_sequence([torch.tensor(s) for s in seqs], padding_value=torch.tensor(value)).numpy())
    raises_as_torch(lambda: R.pad_packed_sequence(pt, total_length=torch.tensor(7.0)),
                    lambda: O.pad_packed_sequence(po, total_length=tr.tensor(np.array(7.0))),
                    "pad_packed_sequence: total_length must be an int, got Tensor")


@pytest.mark.parametrize("case", ["a 0-d sequence to pad", "a 1-D batch to unpad"])
def test_sequences_of_too_few_dimensions_are_torchs_error_types(case):
    """torch: pad_sequence of 0-d tensors is a RuntimeError, unpad_sequence of a 1-D Tensor an IndexError; ours were
    TypeErrors only (the second saying "got Tensor" of a Tensor)."""
    if case == "a 0-d sequence to pad":
        raises_as_torch(lambda: R.pad_sequence([torch.tensor(1.0), torch.tensor(2.0)]),
                        lambda: O.pad_sequence([tr.tensor(np.array(1.0)), tr.tensor(np.array(2.0))]),
                        r"pad_sequence: sequences\[0\] must be a Tensor of at least 1 dimension, got a Tensor of shape")
    else:
        raises_as_torch(lambda: R.unpad_sequence(torch.ones(3), torch.tensor([3])),
                        lambda: O.unpad_sequence(tr.ones(3), [3]),
                        r"unpad_sequence: padded_sequences must be a Tensor of at least 2 dimensions, got shape \(3,\)")


# ----------------------------------------------------------------------------- the layers
@pytest.mark.parametrize("kind,kwargs,name", [("LSTM", dict(num_layers=2), "weight_hh_l0"),
                                              ("GRU", dict(bidirectional=True), "bias_ih_l0_reverse"),
                                              ("RNN", dict(num_layers=2), "bias_hh_l1"),
                                              ("LSTM", dict(proj_size=2), "weight_hr_l0")])
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("called_before", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_deleted_parameter_is_named_and_restoring_it_gives_torchs_numbers(kind, kwargs, name, fused,
                                                                             called_before, dtype):
    """torch's test_partial_flat_weights: `del lstm.weight_hh_l0` leaves no such attribute, and setting it again gives
    the old numbers. torch's layer runs on in between with its flat copy; ours reads its parameters at each call and
    failed with a KeyError for a weight, and ran without a deleted bias, silently. It now raises an AttributeError
    naming the parameter."""
    theirs, ours = _pair(kind, 3, 4, dtype=dtype, **kwargs)
    ours.fused = fused
    x = np.random.default_rng(3).standard_normal((5, 2, 3)).astype(dtype)
    expected = _first(theirs(torch.tensor(x)))
    if called_before:   # (the fused path keeps its kernel's views of the parameters between calls)
        ours(tr.tensor(x))
    kept_t, kept_o = getattr(theirs, name), getattr(ours, name)
    delattr(theirs, name)
    delattr(ours, name)
    assert not hasattr(theirs, name) and not hasattr(ours, name)
    with pytest.raises(AttributeError, match=rf"{kind}: the parameter {name} is missing"):
        ours(tr.tensor(x))
    setattr(theirs, name, kept_t)
    setattr(ours, name, kept_o)
    np.testing.assert_allclose(_first(ours(tr.tensor(x))), expected, **TOL[dtype])
    np.testing.assert_allclose(_first(theirs(torch.tensor(x))), expected, **TOL[dtype])


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("value", [None, "0.5", 1.5, -0.1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_changed_after_construction_as_torch(kind, value, dtype):
    """torch's test_RNN_change_dropout sets `rnn.dropout` between calls: p = 1 and p = 0 in train mode give torch's
    numbers (a change read at the next call). A wrong value fails torch's next call (a TypeError for None or a
    string, a RuntimeError outside [0, 1]); ours ran None as no dropout and raised a ValueError naming F.dropout's
    p. It is now refused at the assignment, naming the layer's dropout, with torch's error type."""
    theirs, ours = _pair(kind, 3, 4, num_layers=2, dtype=dtype)
    x = np.random.default_rng(4).standard_normal((5, 2, 3)).astype(dtype)
    for p in (1.0, 0.0):
        theirs.dropout = ours.dropout = p
        np.testing.assert_allclose(_first(ours(tr.tensor(x))), _first(theirs(torch.tensor(x))), **TOL[dtype])
    theirs.dropout = value
    expected = type(torch_error(lambda: theirs(torch.tensor(x))))
    with pytest.raises(expected, match=rf"{kind}: dropout must be (a number|in \[0, 1\]), got"):
        ours.dropout = value
    assert ours.dropout == 0.0   # (unchanged)


TORCH_OBJECTS = {   # name: (our call given a torch object, the words of our error)
    "a layer's input": (lambda: tr.nn.LSTM(3, 4)(torch.zeros(5, 2, 3)), "LSTM: input must be a Tensor"),
    "a layer's packed input": (lambda: tr.nn.GRU(3, 4)(R.pack_padded_sequence(torch.zeros(5, 2, 3), [5, 4])),
                               "GRU: input must be a Tensor"),
    "an LSTM's h0": (lambda: tr.nn.LSTM(3, 4)(tr.zeros(5, 2, 3), (torch.zeros(1, 2, 4), tr.zeros(1, 2, 4))),
                     r"LSTM: hx\[0\] must be a Tensor"),
    "a GRU's hx": (lambda: tr.nn.GRU(3, 4)(tr.zeros(5, 2, 3), torch.zeros(1, 2, 4)), "GRU: hx must be a Tensor"),
    "a cell's input": (lambda: tr.nn.GRUCell(3, 4)(torch.zeros(2, 3)), "GRUCell: input must be a Tensor"),
    "a cell's state": (lambda: tr.nn.RNNCell(3, 4)(tr.zeros(2, 3), torch.zeros(2, 4)), "RNNCell: state must be a"),
    "a batch to pack": (lambda: O.pack_padded_sequence(torch.zeros(5, 2, 3), [5, 4]), "pack_padded_sequence: input"),
    "a sequence to pad": (lambda: O.pad_sequence([tr.zeros(2, 3), torch.zeros(2, 3)]), r"sequences\[1\] must be"),
    "a batch to unpad": (lambda: O.unpad_sequence(torch.zeros(5, 2, 3), [5, 4]), "unpad_sequence: padded_sequences"),
    "torch's packed sequence to unpack": (
        lambda: O.pad_packed_sequence(R.pack_padded_sequence(torch.zeros(5, 2, 3), [5, 4])),
        "pad_packed_sequence: sequence must be a PackedSequence"),
}


@pytest.mark.parametrize("case", list(TORCH_OBJECTS))
def test_torch_objects_given_by_mistake_are_named_as_torchs(case):
    """Code half ported from torch passes torch's tensors; ours said "must be a Tensor, got Tensor"."""
    call, words = TORCH_OBJECTS[case]
    with pytest.raises(TypeError, match=rf"{words}.*, got torch\.(Tensor|nn\.utils\.rnn\.PackedSequence)"):
        call()


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cells_take_torchs_keywords(kind, dtype):
    """torch's cells are forward(input, hx=None): torch code calls `cell(x, hx=h)` or `cell(input=x)`; ours took
    (x, state) and failed with "RecurrentCell._checked_call() got an unexpected keyword argument 'hx'"."""
    theirs, ours = _pair(kind, 3, 4, dtype=dtype)
    rng = np.random.default_rng(5)
    x, h = rng.standard_normal((2, 3)).astype(dtype), rng.standard_normal((2, 4)).astype(dtype)
    hx_t = (torch.tensor(h), torch.tensor(h * 0.5)) if kind == "LSTMCell" else torch.tensor(h)
    hx_o = (tr.tensor(h), tr.tensor(h * 0.5)) if kind == "LSTMCell" else tr.tensor(h)
    for call_t, call_o in ((lambda: theirs(torch.tensor(x), hx=hx_t), lambda: ours(tr.tensor(x), hx=hx_o)),
                           (lambda: theirs(input=torch.tensor(x), hx=hx_t), lambda: ours(input=tr.tensor(x), hx=hx_o)),
                           (lambda: theirs(input=torch.tensor(x)), lambda: ours(input=tr.tensor(x)))):
        out_t, out_o = call_t(), call_o()
        parts_t = out_t if kind == "LSTMCell" else (out_t,)
        parts_o = out_o if kind == "LSTMCell" else (out_o,)
        for a, b in zip(parts_o, parts_t):
            assert a.dtype == dtype
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TOL[dtype])


@pytest.mark.parametrize("n", [1, 4, 9])
def test_invert_permutation_as_torch(n):
    """torch.nn.utils.rnn.invert_permutation (in its __all__; torch code makes unsorted_indices with it) was missing.
    An int64 Tensor, None for None; a Tensor that is not a permutation is refused with torch's RuntimeError type
    (torch's own fills the missing places with whatever its new tensor held, or fails on an index out of range)."""
    perm = np.random.default_rng(n).permutation(n)
    theirs, ours = R.invert_permutation(torch.tensor(perm)), O.invert_permutation(tr.tensor(perm))
    assert ours.dtype == np.int64 and theirs.dtype == torch.int64 and not ours.requires_grad
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert O.invert_permutation(None) is None and R.invert_permutation(None) is None
    bad = np.arange(n) + n
    raises_as_torch(lambda: R.invert_permutation(torch.tensor(bad)), lambda: O.invert_permutation(tr.tensor(bad)),
                    r"invert_permutation: permutation must be a 1-D int Tensor holding each of 0..n-1 once")
