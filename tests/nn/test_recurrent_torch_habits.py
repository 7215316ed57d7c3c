"""PyTorch habits on the recurrent API that used to give another answer or another error than torch 2.13: the
error types torch code catches (each taken from torch at run time), torch's PackedSequence constructor, torch's
flat-weight views (flatten_parameters, all_weights, _flat_weights_names), the LSTM's repr with proj_size, an
RNNCell's nonlinearity read at each call, and hx for RNN / GRU one Tensor."""
import numpy as np
import pytest
from conftest import raises_as_torch, torch_error

import tinygrad_rnn as tr
from tinygrad_rnn.nn.utils import rnn as ours_rnn

torch = pytest.importorskip("torch")
R = torch.nn.utils.rnn
F64 = np.float64


def _pair(kind, *args, fused=None, **kwargs):
    """torch's module in float64 and ours holding its weights (fused=: ours only)."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(*args, **kwargs).double()
    ours = getattr(tr.nn, kind)(*args, dtype=F64, **kwargs, **({} if fused is None else {"fused": fused}))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def _states(kind, shape, dtype=F64, lib=torch.tensor):
    parts = tuple(lib(np.zeros(shape, dtype)) for _ in range(2 if kind == "LSTM" else 1))
    return parts if kind == "LSTM" else parts[0]


LAYER_CASES = {   # name: (x's shape and dtype, hx's shape and dtype or None, the words of our error)
    "input feature size": (((5, 2, 2), F64), None, r"input.shape\[-1\] must equal input_size: expected 3, got 2"),
    "input dtype": (((5, 2, 3), np.float32), None, "input dtype float32 does not match the parameters' float64"),
    "hx batch": (((5, 2, 3), F64), ((4, 3, 4), F64), r"hx(\[0\])? must have shape .* = \(4, 2, 4\), got \(4, 3, 4\)"),
    "hx 2-D for batched input": (((5, 2, 3), F64), ((4, 4), F64), r"= \(4, 2, 4\), got \(4, 4\)"),
    "hx 1-D for unbatched input": (((5, 3), F64), ((4,), F64), r"= \(4, 4\), got \(4,\)"),
    "hx 3-D for unbatched input": (((5, 3), F64), ((4, 1, 4), F64), r"= \(4, 4\), got \(4, 1, 4\)"),
    "hx dtype": (((5, 2, 3), F64), ((4, 2, 4), np.float32), "dtype float32 does not match the parameters' float64"),
    "an empty sequence": (((0, 2, 3), F64), None, r"the input sequence is empty \(seq length 0\)"),
}


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("case", list(LAYER_CASES))
@pytest.mark.parametrize("fused", [True, False])
def test_layer_errors_are_the_types_torch_raises(kind, case, fused):
    """torch raises a RuntimeError for a wrong feature size or hx, a ValueError for an input's dtype (a RuntimeError
    for hx's); ours raised ValueError / TypeError, which torch code's `except RuntimeError` missed. Ours now raises
    errors of both kinds (still the ValueError / TypeError the library raises elsewhere)."""
    theirs, ours = _pair(kind, 3, 4, num_layers=2, bidirectional=True, fused=fused)
    (x_shape, x_dtype), hx, words = LAYER_CASES[case]
    x = np.random.default_rng(0).standard_normal(x_shape).astype(x_dtype)
    h_t = None if hx is None else _states(kind, *hx)
    h_o = None if hx is None else _states(kind, *hx, lib=tr.tensor)
    raises_as_torch(lambda: theirs(torch.tensor(x), h_t), lambda: ours(tr.tensor(x), h_o), f"{kind}: .*{words}")
    if case in ("input dtype", "hx dtype"):
        with pytest.raises(TypeError):   # the library's own word for a dtype mix, kept
            ours(tr.tensor(x), h_o)


def test_lstm_hx_of_one_tensor_or_three_is_torchs_error_type():
    theirs, ours = _pair("LSTM", 3, 4, num_layers=2)
    x, h = np.zeros((5, 2, 3)), np.zeros((2, 2, 4))   # (torch reads one (2, 2, 4) Tensor as two 2-D states)
    raises_as_torch(lambda: theirs(torch.tensor(x), torch.tensor(h)), lambda: ours(tr.tensor(x), tr.tensor(h)),
                     "LSTM: hx must be a tuple of 2 tensors, got 1")
    raises_as_torch(lambda: theirs(torch.tensor(x), (torch.tensor(h),) * 3),
                     lambda: ours(tr.tensor(x), (tr.tensor(h),) * 3), "LSTM: hx must be a tuple of 2 tensors, got 3")


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
@pytest.mark.parametrize("container", [tuple, list])
def test_rnn_and_gru_hx_is_one_tensor_as_torch(kind, container):
    """torch's RNN and GRU take hx as one Tensor and fail on a tuple or list; ours ran a 1-tuple as its Tensor."""
    theirs, ours = _pair(kind, 3, 4)
    x, h = np.zeros((5, 2, 3)), np.zeros((1, 2, 4))
    torch_error(lambda: theirs(torch.tensor(x), container([torch.tensor(h)])))
    with pytest.raises(TypeError, match=rf"{kind}: hx must be one Tensor .*got a {container.__name__} of 1"):
        ours(tr.tensor(x), container([tr.tensor(h)]))


CELL_CASES = {   # name: (x's shape and dtype, the state's shape and dtype or None, the words of our error)
    "input feature size": (((2, 2), F64), None, r"input.shape\[-1\] must equal input_size: expected 3, got 2"),
    "input dtype": (((2, 3), np.float32), None, "input dtype float32 does not match the parameters' float64"),
    "state batch": (((2, 3), F64), ((3, 4), F64), r"expected \(2, 4\), got \(3, 4\)"),
    "state size": (((2, 3), F64), ((2, 5), F64), r"expected \(2, 4\), got \(2, 5\)"),
    "state 2-D for unbatched input": (((3,), F64), ((1, 4), F64), r"expected \(4,\), got \(1, 4\)"),
    "state dtype": (((2, 3), F64), ((2, 4), np.float32), "dtype float32 does not match the input's float64"),
}


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("case", list(CELL_CASES))
def test_cell_errors_are_the_types_torch_raises(kind, case):
    theirs, ours = _pair(kind, 3, 4)
    (x_shape, x_dtype), state, words = CELL_CASES[case]
    x = np.random.default_rng(0).standard_normal(x_shape).astype(x_dtype)
    lstm = "LSTM" if kind == "LSTMCell" else kind
    s_t = None if state is None else _states(lstm, *state)
    s_o = None if state is None else _states(lstm, *state, lib=tr.tensor)
    raises_as_torch(lambda: theirs(torch.tensor(x), s_t), lambda: ours(tr.tensor(x), s_o), f"{kind}: .*{words}")


def test_an_rnn_cells_nonlinearity_is_read_at_each_call_as_torch():
    """torch's RNNCell reads nonlinearity at each call: set to 'relu' after construction it computes relu, and
    another value raises. Ours read any value but 'tanh' as relu."""
    theirs, ours = _pair("RNNCell", 3, 4)
    x = np.random.default_rng(1).standard_normal((2, 3)) * 3
    theirs.nonlinearity = ours.nonlinearity = "relu"
    np.testing.assert_allclose(ours(tr.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    theirs.nonlinearity = ours.nonlinearity = "sigmoid"
    torch_error(lambda: theirs(torch.tensor(x)))
    with pytest.raises(ValueError, match="RNNCell: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        ours(tr.tensor(x))


# ----------------------------------------------------------------------------- packing
PACK_CASES = {   # name: (lengths, enforce_sorted, the words of our error)
    "a length of 0": ([5, 3, 0, 0], False, r"every length must be in \[1, 5\].*got 0"),
    "a negative length": ([5, 3, 2, -1], False, r"every length must be in \[1, 5\].*got -1"),
    "unsorted with enforce_sorted=True": ([3, 5, 2, 1], True, "sorted in decreasing order with enforce_sorted=True"),
    "too few lengths": ([5, 3], True, "one entry per sequence in the batch: expected 4, got 2"),
    "too many lengths": ([5, 3, 2, 1, 1], False, "one entry per sequence in the batch: expected 4, got 5"),
}


@pytest.mark.parametrize("case", list(PACK_CASES))
def test_packing_errors_are_the_types_torch_raises(case):
    lengths, enforce_sorted, words = PACK_CASES[case]
    x = np.zeros((5, 4, 2))
    raises_as_torch(lambda: R.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=enforce_sorted),
                     lambda: ours_rnn.pack_padded_sequence(tr.tensor(x), lengths, enforce_sorted=enforce_sorted),
                     f"pack_padded_sequence: .*{words}")


def test_pack_sequence_of_an_empty_sequence_is_torchs_error_type():
    seqs = [np.ones((4, 2)), np.ones((2, 2)), np.ones((0, 2))]
    raises_as_torch(lambda: R.pack_sequence([torch.tensor(s) for s in seqs]),
                     lambda: ours_rnn.pack_sequence([tr.tensor(s) for s in seqs]), r"got 0")


@pytest.mark.parametrize("case", ["no sequences", "other trailing shapes"])
def test_pad_sequence_errors_are_the_types_torch_raises(case):
    seqs = {"no sequences": [], "other trailing shapes": [np.ones((2, 2)), np.ones((2, 3))]}[case]
    words = {"no sequences": "sequences is empty", "other trailing shapes": r"sequences\[1\] has shape \(2, 3\)"}[case]
    raises_as_torch(lambda: R.pad_sequence([torch.tensor(s) for s in seqs]),
                     lambda: ours_rnn.pad_sequence([tr.tensor(s) for s in seqs]), f"pad_sequence: {words}")


ARGUMENT_CASES = {   # name: (torch's call, ours, the words of our error)
    "padding_side not left or right": (
        lambda: R.pad_sequence([torch.ones(3, 2)], padding_side="middle"),
        lambda: ours_rnn.pad_sequence([tr.ones(3, 2)], padding_side="middle"),
        "pad_sequence: padding_side must be 'right' or 'left', got 'middle'"),
    "sequences not iterable": (
        lambda: R.pad_sequence(5), lambda: ours_rnn.pad_sequence(5),
        "pad_sequence: sequences must be a list of Tensors, got int"),
    "a 1-D input to pack": (
        lambda: R.pack_padded_sequence(torch.ones(5), torch.tensor([5])),
        lambda: ours_rnn.pack_padded_sequence(tr.ones(5), [5]),
        r"pack_padded_sequence: input must be a Tensor of at least 2 dimensions, got shape \(5,\)"),
    "2-D lengths": (
        lambda: R.pack_padded_sequence(torch.ones(5, 2, 3), torch.tensor([[5, 4]])),
        lambda: ours_rnn.pack_padded_sequence(tr.ones(5, 2, 3), np.array([[5, 4]])),
        r"pack_padded_sequence: lengths must be a 1-D sequence of ints, got int64 array of shape \(1, 2\)"),
}


@pytest.mark.parametrize("case", list(ARGUMENT_CASES))
def test_sequence_utilities_argument_errors_are_the_types_torch_raises(case):
    """torch raises RuntimeError or IndexError where a TypeError/ValueError is the library's habit: ours is both."""
    theirs, ours, words = ARGUMENT_CASES[case]
    raises_as_torch(theirs, ours, words)


@pytest.mark.parametrize("padding_value,total_length", [(0, None), (-1, None), (-1, 7), (2.0, 6)])
@pytest.mark.parametrize("enforce_sorted,lengths", [(False, [2, 5, 3, 5]), (True, [5, 5, 3, 2])])
def test_pad_packed_sequence_keeps_packed_ids_int64_as_torch(padding_value, total_length, enforce_sorted, lengths):
    """Token ids packed and unpacked stay int64, as torch's; ours came back float32 (the padding, a float, was
    mixed in, and the total_length fill was made with Tensor(), which makes ints float32)."""
    ids = np.random.default_rng(3).integers(0, 9, size=(4, 5))
    pt = R.pack_padded_sequence(torch.tensor(ids), lengths, batch_first=True, enforce_sorted=enforce_sorted)
    po = ours_rnn.pack_padded_sequence(tr.tensor(ids), lengths, batch_first=True, enforce_sorted=enforce_sorted)
    out_t, _ = R.pad_packed_sequence(pt, batch_first=True, padding_value=padding_value, total_length=total_length)
    out_o, _ = ours_rnn.pad_packed_sequence(po, batch_first=True, padding_value=padding_value,
                                            total_length=total_length)
    assert out_t.dtype == torch.int64 and out_o.dtype == np.int64
    np.testing.assert_array_equal(out_o.numpy(), out_t.numpy())


def _from_torch_layout(lib, packed, data, which):
    """lib.PackedSequence built as torch code builds one, around new data."""
    args = {"all four": (data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices),
            "sorted_indices only": (data, packed.batch_sizes, packed.sorted_indices),
            "unsorted_indices only": (data, packed.batch_sizes, None, packed.unsorted_indices),
            "a (data, batch_sizes) tuple": ((data, packed.batch_sizes),)}[which]
    return lib.PackedSequence(*args)


@pytest.mark.parametrize("which", ["all four", "sorted_indices only", "unsorted_indices only",
                                   "a (data, batch_sizes) tuple"])
@pytest.mark.parametrize("lengths", [[2, 5, 3, 5], [5, 5, 3, 2]])
def test_torchs_packed_sequence_constructor(which, lengths):
    """torch code applies a module to the packed steps and wraps the result: PackedSequence(f(p.data),
    p.batch_sizes, p.sorted_indices, p.unsorted_indices). Ours took (padded, lengths): four arguments failed, two
    were silently misread (the packed data taken for a padded batch)."""
    if which == "a (data, batch_sizes) tuple" and lengths != sorted(lengths, reverse=True):
        pytest.skip("torch's two-argument form is for sorted lengths (no order to give)")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 4, 2))
    xt, xo = torch.tensor(x, requires_grad=True), tr.Tensor(x, requires_grad=True)
    pt = R.pack_padded_sequence(xt, lengths, enforce_sorted=False)
    po = ours_rnn.pack_padded_sequence(xo, lengths, enforce_sorted=False)
    w = rng.standard_normal(2)
    qt = _from_torch_layout(R, pt, (pt.data * torch.tensor(w)).tanh(), which)
    qo = _from_torch_layout(ours_rnn, po, (po.data * tr.tensor(w)).tanh(), which)
    np.testing.assert_allclose(qo.data.numpy(), qt.data.detach().numpy(), rtol=1e-14)
    np.testing.assert_array_equal(qo.batch_sizes.numpy(), qt.batch_sizes.numpy())
    if qt.sorted_indices is not None:
        np.testing.assert_array_equal(qo.sorted_indices.numpy(), qt.sorted_indices.numpy())
        np.testing.assert_array_equal(qo.unsorted_indices.numpy(), qt.unsorted_indices.numpy())
    # through a GRU with a given h0 (in the batch's order, as torch's), then unpacked. (torch permutes h0 by
    # sorted_indices only: given unsorted_indices alone it reads h0 in the packed order and gives h_n in the batch's)
    gt, go = _pair("GRU", 2, 3)
    if which == "unsorted_indices only":
        h0t = h0o = None
    else:
        h0 = rng.standard_normal((1, 4, 3))
        h0t, h0o = torch.tensor(h0, requires_grad=True), tr.Tensor(h0, requires_grad=True)
    (out_t, hn_t), (out_o, hn_o) = gt(qt, h0t), go(qo, h0o)
    pad_t, len_t = R.pad_packed_sequence(out_t, batch_first=True, padding_value=-1.0, total_length=6)
    pad_o, len_o = ours_rnn.pad_packed_sequence(out_o, batch_first=True, padding_value=-1.0, total_length=6)
    np.testing.assert_array_equal(len_o.numpy(), len_t.numpy())
    np.testing.assert_allclose(pad_o.numpy(), pad_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hn_o.numpy(), hn_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out_o.data.numpy(), out_t.data.detach().numpy(), rtol=1e-12, atol=1e-14)
    r = rng.standard_normal(pad_t.shape)
    ((pad_t * torch.tensor(r)).sum() + hn_t.sum()).backward()
    ((pad_o * tr.tensor(r)).sum() + hn_o.sum()).backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if h0o is not None:
        np.testing.assert_allclose(h0o.grad, h0t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_packed_sequence_constructor_refuses_what_it_cannot_read():
    """A numpy array as batch_sizes may be lengths (the old (padded, lengths) form): refused, naming the function
    that packs a padded batch; a layout that does not add up is refused too."""
    packed = ours_rnn.pack_padded_sequence(tr.tensor(np.ones((5, 3, 2))), [5, 3, 2])
    with pytest.raises(TypeError, match=r"batch_sizes an int64 Tensor .*pack_padded_sequence\(padded, lengths\)"):
        ours_rnn.PackedSequence(packed.padded, packed.lengths)
    with pytest.raises(ValueError, match=r"add up to data's 10 rows, got \[3, 3, 2, 1\]"):
        ours_rnn.PackedSequence(packed.data, tr.tensor(np.array([3, 3, 2, 1])))
    with pytest.raises(ValueError, match=r"sorted_indices must be a permutation of 0..2"):
        ours_rnn.PackedSequence(packed.data, packed.batch_sizes, tr.tensor(np.array([0, 0, 1])))
    with pytest.raises(ValueError, match="unsorted_indices must be the inverse of sorted_indices"):
        ours_rnn.PackedSequence(packed.data, packed.batch_sizes, tr.tensor(np.array([1, 2, 0])),
                                tr.tensor(np.array([1, 2, 0])))


# ----------------------------------------------------------------------------- torch's flat-weight views, repr
@pytest.mark.parametrize("kind,kwargs", [("RNN", dict(num_layers=2, bidirectional=True, bias=False)),
                                         ("GRU", dict(num_layers=2)),
                                         ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2)),
                                         ("LSTM", dict(proj_size=3, bias=False))])
def test_flat_weight_views_and_flatten_parameters_as_torch(kind, kwargs):
    """torch code calls flatten_parameters() (often in forward) and reads all_weights / _flat_weights_names;
    ours had none of them (AttributeError)."""
    theirs, ours = _pair(kind, 3, 4, **kwargs)
    assert ours.flatten_parameters() is None and theirs.flatten_parameters() is None
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert ours._all_weights == theirs._all_weights
    for a, b in zip(ours._flat_weights, theirs._flat_weights):
        np.testing.assert_array_equal(a.numpy(), b.detach().numpy())
    assert [len(w) for w in ours.all_weights] == [len(w) for w in theirs.all_weights]
    for ws_o, ws_t in zip(ours.all_weights, theirs.all_weights):
        for a, b in zip(ws_o, ws_t):
            assert isinstance(a, tr.nn.Parameter)
            np.testing.assert_array_equal(a.numpy(), b.detach().numpy())
    ours.weight_ih_l0 = tr.nn.Parameter(np.zeros_like(ours.weight_ih_l0.numpy()))   # read now, not kept
    assert ours._flat_weights[0] is ours.weight_ih_l0 and ours.all_weights[0][0] is ours.weight_ih_l0


@pytest.mark.parametrize("kwargs", [dict(proj_size=2, num_layers=2), dict(proj_size=1, bias=False, dropout=0.5,
                                                                            num_layers=3, bidirectional=True)])
def test_lstm_repr_with_proj_size_as_torch(kwargs):
    assert repr(tr.nn.LSTM(3, 4, **kwargs)) == repr(torch.nn.LSTM(3, 4, **kwargs))


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("dropout,got", [("0.5", "str '0.5'"), (True, "bool True")])
def test_dropout_of_the_wrong_type_is_torchs_error_type(kind, dropout, got):
    """torch's layers raise a ValueError for dropout="0.5" or True; ours a TypeError (kept: the error is both)."""
    raises_as_torch(lambda: getattr(torch.nn, kind)(3, 4, 2, dropout=dropout),
                     lambda: getattr(tr.nn, kind)(3, 4, 2, dropout=dropout),
                     f"{kind}: dropout must be a number, got {got}")
    with pytest.raises(TypeError):
        getattr(tr.nn, kind)(3, 4, 2, dropout=dropout)


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
@pytest.mark.parametrize("proj_size", [2, 0, -1])
def test_rnn_and_gru_refuse_proj_size_as_torch(kind, proj_size):
    """torch's RNN and GRU refuse proj_size, even 0, with a ValueError (an unexpected keyword's TypeError here
    before)."""
    raises_as_torch(lambda: getattr(torch.nn, kind)(3, 4, proj_size=proj_size),
                     lambda: getattr(tr.nn, kind)(3, 4, proj_size=proj_size), "proj_size")


@pytest.mark.parametrize("state", ["one tensor", "a 1-tuple", "a 3-tuple"])
def test_an_lstm_cells_state_of_the_wrong_arity_is_torchs_error_type(state):
    """torch's LSTMCell: one Tensor for its state is a TypeError, a tuple of one or three a RuntimeError."""
    h = np.zeros((2, 4))
    make = {"one tensor": lambda lib: lib.tensor(h), "a 1-tuple": lambda lib: (lib.tensor(h),),
            "a 3-tuple": lambda lib: (lib.tensor(h),) * 3}[state]
    theirs, ours = _pair("LSTMCell", 3, 4)
    x = np.zeros((2, 3))
    raises_as_torch(lambda: theirs(torch.tensor(x), make(torch)), lambda: ours(tr.tensor(x), make(tr)),
                     "state must be a tuple of 2 Tensors")


# RNNBase's argument checks, which torch code calls from a subclass's forward (check_forward_args and its parts)
HELPER_CALLS = {   # name: f(module, lib) -> what it returns (compared), or torch's exception
    "check_input ok": lambda m, lib: m.check_input(lib.zeros(5, 2, 3, dtype=lib.float64), None),
    "check_input packed data": lambda m, lib: m.check_input(lib.zeros(7, 3, dtype=lib.float64), lib.tensor([2, 1])),
    "check_input 2-D unpacked": lambda m, lib: m.check_input(lib.zeros(5, 3, dtype=lib.float64), None),
    "check_input features": lambda m, lib: m.check_input(lib.zeros(5, 2, 4, dtype=lib.float64), None),
    "check_input dtype": lambda m, lib: m.check_input(lib.zeros(5, 2, 3), None),
    "expected hidden size": lambda m, lib: m.get_expected_hidden_size(lib.zeros(5, 2, 3), None),
    "expected hidden size packed": lambda m, lib: m.get_expected_hidden_size(lib.zeros(7, 3), lib.tensor([4, 3])),
    "check_hidden_size ok": lambda m, lib: m.check_hidden_size(lib.zeros(4, 2, 4), (4, 2, 4)),
    "check_hidden_size wrong": lambda m, lib: m.check_hidden_size(lib.zeros(4, 3, 4), (4, 2, 4)),
    "check_hidden_size msg": lambda m, lib: m.check_hidden_size(lib.zeros(1), (4, 2, 4), "want {} not {}"),
    "forward args ok": lambda m, lib: m.check_forward_args(
        lib.zeros(5, 2, 3, dtype=lib.float64), _hidden(m, lib, 2), None),
    "forward args batch": lambda m, lib: m.check_forward_args(
        lib.zeros(5, 2, 3, dtype=lib.float64), _hidden(m, lib, 3), None),
    "forward args cell": lambda m, lib: m.check_forward_args(
        lib.zeros(5, 2, 3, dtype=lib.float64), _hidden(m, lib, 2, cell_batch=3), None),
    "permute_hidden None": lambda m, lib: m.permute_hidden(_hidden(m, lib, 3, fill=True), None),
    "permute_hidden": lambda m, lib: m.permute_hidden(_hidden(m, lib, 3, fill=True), lib.tensor([2, 0, 1])),
}


def _hidden(m, lib, batch, cell_batch=None, fill=False):
    h = lib.zeros(4, batch, m.proj_size or 4, dtype=lib.float64)
    if fill:
        h = lib.arange(h.numel(), dtype=lib.float64).reshape(h.shape)
    if type(m).__name__ != "LSTM":
        return h
    return h, lib.ones(4, batch if cell_batch is None else cell_batch, 4, dtype=lib.float64)


def _helper_outcome(call):
    try:
        out = call()
    except (RuntimeError, ValueError) as e:
        return type(e).__name__, str(e).replace("torch.", "")
    if isinstance(out, tuple) and out and hasattr(out[0], "shape"):
        return tuple(np.asarray(o.detach().numpy()).tolist() for o in out)
    return np.asarray(out.detach().numpy()).tolist() if hasattr(out, "shape") else out


@pytest.mark.parametrize("call", sorted(HELPER_CALLS))
@pytest.mark.parametrize("kind, kwargs", [("RNN", {}), ("GRU", {}), ("LSTM", {}), ("LSTM", {"proj_size": 2})],
                         ids=["RNN", "GRU", "LSTM", "LSTM proj"])
def test_rnnbase_argument_checks_answer_as_torchs(kind, kwargs, call):
    theirs, ours = _pair(kind, 3, 4, num_layers=2, bidirectional=True, **kwargs)
    expected, got = _helper_outcome(lambda: HELPER_CALLS[call](theirs, torch)), \
        _helper_outcome(lambda: HELPER_CALLS[call](ours, tr))
    assert got == expected


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_expected_cell_size_is_the_lstms_alone_as_torchs(kind):
    theirs, ours = _pair(kind, 3, 4, **({"proj_size": 2} if kind == "LSTM" else {}))
    assert hasattr(ours, "get_expected_cell_size") == hasattr(theirs, "get_expected_cell_size")
    if kind == "LSTM":
        x = np.zeros((6, 5, 3))
        assert ours.get_expected_cell_size(tr.tensor(x), None) == theirs.get_expected_cell_size(torch.tensor(x), None)


# the flags torch takes whatever their type: a layer's bidirectional, a cell's bias, a bool padding_value
FLAG_VALUES = [1, 2, 0, 1.0, np.True_, np.int64(0), "yes", None]


@pytest.mark.parametrize("value", [1, 0, np.int64(1), "yes", None], ids=repr)
@pytest.mark.parametrize("kind", ["RNN", "LSTM"])
def test_a_bidirectional_that_is_not_a_bool_is_torchs_type_error(kind, value):
    """torch makes the layer, then its every forward refuses it (TypeError); so does ours."""
    raises_as_torch(lambda: getattr(torch.nn, kind)(3, 4, bidirectional=value)(torch.zeros(5, 2, 3)),
                    lambda: getattr(tr.nn, kind)(3, 4, bidirectional=value)(tr.zeros(5, 2, 3)))


@pytest.mark.parametrize("value", FLAG_VALUES, ids=repr)
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_a_layer_is_made_with_any_bidirectional_as_torchs(kind, value):
    """torch's RNNBase keeps any value: its truth chooses the directions (the parameters, their names, the state
    dict), the repr shows it as given; every call refuses it, TypeError, np.True_ included."""
    ours, theirs = getattr(tr.nn, kind)(3, 4, bidirectional=value), getattr(torch.nn, kind)(3, 4, bidirectional=value)
    assert repr(ours) == repr(theirs)
    assert ours.bidirectional is value or ours.bidirectional == theirs.bidirectional
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    raises_as_torch(lambda: theirs(torch.zeros(5, 2, 3)), lambda: ours(tr.zeros(5, 2, 3)),
                    "bidirectional must be True or False")
    raises_as_torch(lambda: theirs(torch.zeros(5, 2, 3)), lambda: ours(tr.zeros(5, 2, 3)))   # (every call)


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
@pytest.mark.parametrize("fused", [True, False])
def test_bidirectional_set_after_a_call_is_checked_at_the_next(kind, fused):
    """`layer.bidirectional = 1` after a call that kept its fused snapshot: the next call refuses it, as torch's;
    set back to True, the layer runs as before."""
    ours = getattr(tr.nn, kind)(3, 4, bidirectional=True, fused=fused)
    theirs = getattr(torch.nn, kind)(3, 4, bidirectional=True)
    before = ours(tr.zeros(5, 2, 3))[0].numpy().copy()
    ours.bidirectional, theirs.bidirectional = 1, 1
    raises_as_torch(lambda: theirs(torch.zeros(5, 2, 3)), lambda: ours(tr.zeros(5, 2, 3)),
                    "bidirectional must be True or False, got int 1")
    ours.bidirectional = True
    np.testing.assert_array_equal(ours(tr.zeros(5, 2, 3))[0].numpy(), before)


@pytest.mark.parametrize("value", FLAG_VALUES, ids=repr)
@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_a_cells_bias_takes_any_value_as_torch(kind, value):
    got = []
    for lib in (tr, torch):
        m = getattr(lib.nn, kind)(3, 4, bias=value)
        got.append((m.bias is value, sorted(n for n, _ in m.named_parameters()), repr(m)))
    assert got[0] == got[1]


@pytest.mark.parametrize("value", [True, False, np.True_])
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_pad_sequence_takes_a_bool_padding_value_as_torch(value, dtype):
    got = []
    for lib, R_ in ((tr, ours_rnn), (torch, R)):
        seqs = [lib.tensor(np.ones(2, dtype)), lib.tensor(np.ones(3, dtype))]
        out = R_.pad_sequence(seqs, padding_value=value)
        got.append((out.numpy().tolist(), str(out.dtype).replace("torch.", "")))
    assert got[0] == got[1]


def test_pad_packed_sequence_takes_a_bool_padding_value_as_torch():
    got = []
    for lib, R_ in ((tr, ours_rnn), (torch, R)):
        packed = R_.pack_sequence([lib.ones(3), lib.ones(2)])
        got.append(R_.pad_packed_sequence(packed, padding_value=True)[0].numpy().tolist())
    assert got[0] == got[1]


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_an_integer_input_is_torchs_error_and_the_hint_casts_it(kind):
    """An int64 input (token ids given where embeddings were meant): torch's ValueError, and a hint that does not
    suggest building the layer in int64 (a layer's dtype is a float)."""
    raises_as_torch(lambda: getattr(torch.nn, kind)(3, 4)(torch.zeros(5, 2, 3, dtype=torch.int64)),
                    lambda: getattr(tr.nn, kind)(3, 4)(tr.zeros(5, 2, 3, dtype=tr.int64)),
                    r"cast the input with \.to\(float32\)")
