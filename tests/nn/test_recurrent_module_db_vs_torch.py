"""Cases from torch 2.13's ModuleInfo entries of its recurrent modules (common_modules.py: the RNN/GRU/LSTM samples
with packed sequences, the cells' error inputs), test/nn/test_packed_sequence.py and test/test_nn.py where ours
answered otherwise (bench/rnn_suite_probe.py runs the ModuleInfo samples side by side). Each compares against torch,
float32 and float64, our layers with fused=True and fused=False."""
import numpy as np
import pytest
from conftest import torch_error

import tinygrad_rnn as tr
from tinygrad_rnn.nn.utils import rnn as O

torch = pytest.importorskip("torch")
R = torch.nn.utils.rnn
DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")


def _pair(kind, *args, dtype=np.float64, **kwargs):
    """torch's module in dtype and ours holding its weights."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(*args, **kwargs).to(TORCH_DTYPE[dtype])
    ours = getattr(tr.nn, kind)(*args, dtype=dtype, **kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def _same_indices(ours, theirs):
    """Both PackedSequences hold the same sorted_indices and unsorted_indices (None where torch's are None)."""
    for name in ("sorted_indices", "unsorted_indices"):
        o, t = getattr(ours, name), getattr(theirs, name)
        assert (o is None) == (t is None), f"{name}: ours {o}, torch's {t}"
        if t is not None:
            np.testing.assert_array_equal(o.numpy(), t.numpy())


# ----------------------------------------------------------------------------- packed indices
PACKINGS = {   # name: (torch's call, ours) given (torch's padded, ours, lengths)
    "pack_padded_sequence, enforce_sorted=True": (lambda p, n: R.pack_padded_sequence(p, n),
                                                  lambda p, n: O.pack_padded_sequence(p, n)),
    "pack_padded_sequence, enforce_sorted=False": (lambda p, n: R.pack_padded_sequence(p, n, enforce_sorted=False),
                                                   lambda p, n: O.pack_padded_sequence(p, n, enforce_sorted=False)),
    "pack_sequence, enforce_sorted=True": (lambda p, n: R.pack_sequence([p[:k, i] for i, k in enumerate(n)]),
                                           lambda p, n: O.pack_sequence([p[:k, i] for i, k in enumerate(n)])),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("packing", [name for name in PACKINGS if "True" in name])
def test_packed_indices_are_torchs_none_after_enforce_sorted(dtype, packing):
    """torch's test_pack_sequence: a pack made with enforce_sorted=True has sorted_indices and unsorted_indices None
    (torch code tests `packed.sorted_indices is None`); with enforce_sorted=False they are Tensors, the identity
    too. Ours gave the identity for both. Casts keep them, and unpacking gives torch's batch."""
    x = np.random.default_rng(0).standard_normal((5, 3, 2)).astype(dtype)
    lengths = [5, 3, 3]
    for name in (packing, "pack_padded_sequence, enforce_sorted=False"):
        theirs, ours = (f(tr.tensor(x) if k else torch.tensor(x), lengths) for k, f in enumerate(PACKINGS[name]))
        _same_indices(ours, theirs)
        for cast in ("double", "float"):
            _same_indices(getattr(ours, cast)(), getattr(theirs, cast)())
        _same_indices(ours.to(np.float64), theirs.to(torch.float64))
        np.testing.assert_array_equal(O.pad_packed_sequence(ours)[0].numpy(),
                                      R.pad_packed_sequence(theirs)[0].numpy())


CONSTRUCTOR_INDICES = {"none": (None, None), "sorted only": ([2, 0, 1], None), "unsorted only": (None, [1, 2, 0]),
                       "both": ([2, 0, 1], [1, 2, 0])}


@pytest.mark.parametrize("given", ["none", "unsorted only"])
def test_packed_sequence_constructor_holds_the_indices_torch_holds(given):
    """torch's PackedSequence(data, batch_sizes, sorted_indices=None, unsorted_indices=None): without sorted_indices
    its sorted_indices is None (unsorted_indices too, unless given); given sorted_indices alone, unsorted_indices is
    its inverse. Ours gave both always. A rebuilt pack (_replace) keeps them, and unpacking gives torch's batch."""
    for case in (given, "sorted only", "both"):
        _constructed_as_torch(*CONSTRUCTOR_INDICES[case])


def _constructed_as_torch(sorted_indices, unsorted_indices):
    data = np.arange(12.0).reshape(6, 2)
    t_args = [None if i is None else torch.tensor(i) for i in (sorted_indices, unsorted_indices)]
    o_args = [None if i is None else tr.tensor(np.array(i)) for i in (sorted_indices, unsorted_indices)]
    theirs = R.PackedSequence(torch.tensor(data), torch.tensor([3, 2, 1]), *t_args)
    ours = O.PackedSequence(tr.tensor(data), tr.tensor(np.array([3, 2, 1])), *o_args)
    _same_indices(ours, theirs)
    _same_indices(ours._replace(data=ours.data * 2), theirs._replace(data=theirs.data * 2))
    padded_t, lengths_t = R.pad_packed_sequence(theirs)
    padded_o, lengths_o = O.pad_packed_sequence(ours)
    np.testing.assert_array_equal(padded_o.numpy(), padded_t.numpy())
    np.testing.assert_array_equal(lengths_o.numpy(), lengths_t.numpy())


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_a_layers_packed_output_has_its_inputs_indices_as_torch(kind, dtype, fused):
    """The ModuleInfo samples of RNN and GRU with packed input (make_packed_sequence: enforce_sorted=True): torch's
    output PackedSequence has the input's indices, None there. Ours gave the identity. Values and gradients (of
    the input's data, h_n and every parameter) are torch's, with enforce_sorted=False too."""
    for enforce_sorted in (True, False):
        _packed_through_a_layer(kind, dtype, fused, enforce_sorted)


def _packed_through_a_layer(kind, dtype, fused, enforce_sorted):
    theirs, ours = _pair(kind, 2, 3, num_layers=2, bidirectional=True, dtype=dtype)
    ours.fused = fused
    x = np.random.default_rng(1).standard_normal((5, 3, 2)).astype(dtype)
    lengths = [5, 3, 2] if enforce_sorted else [3, 5, 2]
    xt, xo = torch.tensor(x, requires_grad=True), tr.tensor(x, requires_grad=True)
    out_t, h_t = theirs(R.pack_padded_sequence(xt, lengths, enforce_sorted=enforce_sorted))
    out_o, h_o = ours(O.pack_padded_sequence(xo, lengths, enforce_sorted=enforce_sorted))
    _same_indices(out_o, out_t)
    np.testing.assert_allclose(out_o.data.numpy(), out_t.data.detach().numpy(), **TOL[dtype])
    h_t, h_o = (h_t, h_o) if kind == "LSTM" else ((h_t,), (h_o,))
    (out_t.data.sum() + sum(h.sum() for h in h_t)).backward()
    loss = out_o.data.sum()
    for h in h_o:
        loss = loss + h.sum()
    loss.backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), **TOL[dtype])
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), **TOL[dtype], err_msg=name)


# ----------------------------------------------------------------------------- the cells' error inputs
@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell"])
@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
def test_a_cells_nonlinearity_given_as_bias_is_torchs_runtime_error(kind, nonlinearity):
    """module_error_inputs_torch_nn_RNN_GRU_Cell: RNNCell(10, 20, 'relu') (the nonlinearity where bias goes: a
    truthy bias, as torch's cells take any), then a call with a state of 21 features, is torch's RuntimeError."""
    def call(nn, lib):
        cell = getattr(nn, kind)(10, 20, nonlinearity)
        assert cell.bias == nonlinearity and cell.bias_ih is not None
        return cell(lib.ones(3, 10), lib.ones(3, 21))
    assert isinstance(torch_error(lambda: call(torch.nn, torch)), RuntimeError)
    with pytest.raises(RuntimeError):
        call(tr.nn, tr)


# ----------------------------------------------------------------------------- reset_parameters
RESETTABLE = [("RNN", dict(num_layers=2, bidirectional=True)), ("GRU", dict(num_layers=2)),
              ("LSTM", dict(num_layers=2, proj_size=2)), ("RNNCell", {}), ("GRUCell", {}), ("LSTMCell", {})]


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,kwargs", RESETTABLE, ids=[k for k, _ in RESETTABLE])
def test_reset_parameters_redraws_in_place_as_torch(kind, kwargs, dtype, fused):
    """torch's recurrent layers and cells have reset_parameters() (torch code re-initialises a model with
    `for m in model.modules(): if hasattr(m, 'reset_parameters'): m.reset_parameters()`, which skipped ours: it
    had none). Every parameter is redrawn in place from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as
    torch's: the same Parameter objects and dtype, values within torch's bound, reproducible by the seed; the
    layer then computes what torch's does with those values, on the fused path too (nothing stale)."""
    theirs, ours = _pair(kind, 3, 4, dtype=dtype, **kwargs)
    if not kind.endswith("Cell"):
        ours.fused = fused
    x = np.random.default_rng(2).standard_normal((5, 2, 3) if not kind.endswith("Cell") else (2, 3)).astype(dtype)
    ours(tr.tensor(x))   # (a call before: the fused path's cached views of the weights)
    before = {name: (p, p.numpy().copy()) for name, p in ours.named_parameters()}
    theirs.reset_parameters()
    bound = max(float(p.detach().abs().max()) for p in theirs.parameters())
    tr.manual_seed(7)
    ours.reset_parameters()
    drawn = {name: p.numpy().copy() for name, p in ours.named_parameters()}
    for name, p in ours.named_parameters():
        kept, old = before[name]
        assert p is kept and p.dtype == dtype and p.requires_grad
        assert not np.array_equal(drawn[name], old)
        assert np.abs(drawn[name]).max() <= 1 / np.sqrt(4) and bound <= 1 / np.sqrt(4)
    tr.manual_seed(7)
    ours.reset_parameters()
    for name, p in ours.named_parameters():
        np.testing.assert_array_equal(p.numpy(), drawn[name])
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    out_t, out_o = theirs(torch.tensor(x)), ours(tr.tensor(x))
    first_t, first_o = (out_t[0], out_o[0]) if isinstance(out_t, tuple) else (out_t, out_o)
    np.testing.assert_allclose(first_o.numpy(), first_t.detach().numpy(), **TOL[dtype])


def test_reset_parameters_of_a_zero_sized_cell_as_torch():
    """torch's cells take hidden_size=0 and reset_parameters draws from U(0, 0) there (no division by zero)."""
    for kind in ("RNNCell", "GRUCell", "LSTMCell"):
        cell = getattr(tr.nn, kind)(3, 0)
        getattr(torch.nn, kind)(3, 0).reset_parameters()
        cell.reset_parameters()
        assert all(p.numpy().size == 0 or not np.any(p.numpy()) for p in cell.parameters())


# ----------------------------------------------------------------------------- pad_packed_sequence's total_length
@pytest.mark.parametrize("total_length", [2.0, True, False, np.float64(3)])
def test_a_short_total_length_of_the_wrong_type_is_torchs_value_error(total_length):
    """torch's test_total_length: a total_length shorter than the longest sequence is a ValueError. torch compares
    before it reads the type, so a short float or bool is its ValueError too (a float long enough, its
    TypeError); ours raised a TypeError only, which torch code's `except ValueError` missed."""
    x = np.random.default_rng(3).standard_normal((4, 3, 2))
    theirs = R.pack_padded_sequence(torch.tensor(x), [4, 2, 1])
    ours = O.pack_padded_sequence(tr.tensor(x), [4, 2, 1])
    assert isinstance(torch_error(lambda: R.pad_packed_sequence(theirs, total_length=total_length)), ValueError)
    with pytest.raises(ValueError, match="total_length must be an int"):
        O.pad_packed_sequence(ours, total_length=total_length)
    assert isinstance(torch_error(lambda: R.pad_packed_sequence(theirs, total_length=6.0)), TypeError)
    with pytest.raises(TypeError, match="total_length must be an int"):
        O.pad_packed_sequence(ours, total_length=6.0)


# ----------------------------------------------------------------------------- PackedSequence.data is one Tensor
def _packed_pair(x, lengths, enforce_sorted):
    return (R.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=enforce_sorted),
            O.pack_padded_sequence(tr.tensor(x), lengths, enforce_sorted=enforce_sorted))


def _backward_of_sums(outs):
    parts = [outs[0].data] + (list(outs[1]) if isinstance(outs[1], tuple) else [outs[1]])
    loss = parts[0].sum()
    for p in parts[1:]:
        loss = loss + p.sum()
    loss.backward()


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_data_made_a_leaf_after_packing_gets_the_layers_gradient(kind, dtype, fused, enforce_sorted):
    """torch's module tests pack an input that needs no grad, then make the packed steps a leaf
    (make_packed_sequence: `seq.data.requires_grad_()`) and run the layer: the gradient reaches seq.data. Ours
    made a new Tensor at each read of .data, and the layer read the padded batch: no gradient, silently."""
    theirs, ours = _pair(kind, 2, 3, num_layers=2, bidirectional=True, dtype=dtype)
    ours.fused = fused
    x = np.random.default_rng(4).standard_normal((5, 4, 2)).astype(dtype)
    lengths = [5, 3, 3, 2] if enforce_sorted else [3, 5, 2, 3]
    pt, po = _packed_pair(x, lengths, enforce_sorted)
    pt.data.requires_grad_()
    po.data.requires_grad_()
    out_t, out_o = theirs(pt), ours(po)
    np.testing.assert_allclose(out_o[0].data.numpy(), out_t[0].data.detach().numpy(), **TOL[dtype])
    _backward_of_sums(out_t)
    _backward_of_sums(out_o)
    assert po.data.grad is not None
    np.testing.assert_allclose(po.data.grad.numpy(), pt.data.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_packed_data_given_to_the_constructor_is_the_data_read_back(kind, fused):
    """torch's _test_RNN_cpu_vs_cudnn: `input = PackedSequence(leaf, batch_sizes); input_var = input.data`, and
    after the backward `input_var.grad`. torch's .data is the leaf given; ours was a new Tensor (no grad)."""
    theirs, ours = _pair(kind, 2, 3, dtype=np.float64)
    ours.fused = fused
    x = np.random.default_rng(5).standard_normal((5, 3, 2))
    pt, po = _packed_pair(x, [5, 3, 2], True)
    leaf_t, leaf_o = pt.data.detach().requires_grad_(), tr.tensor(po.data.numpy(), requires_grad=True)
    it, io = R.PackedSequence(leaf_t, pt.batch_sizes), O.PackedSequence(leaf_o, po.batch_sizes)
    assert it.data is leaf_t and io.data is leaf_o
    _backward_of_sums(theirs(it))
    _backward_of_sums(ours(io))
    np.testing.assert_allclose(io.data.grad.numpy(), it.data.grad.numpy(), **TOL[np.float64])


@pytest.mark.parametrize("fused", [True, False])
def test_packed_data_written_in_place_is_what_the_layer_and_unpacking_read(fused):
    """torch code may edit the packed steps in place (`packed.data.mul_(2)`, `packed.data[:3] = 0`): the layer and
    pad_packed_sequence read the edited steps, as torch's. Ours read the padded batch, unedited."""
    theirs, ours = _pair("LSTM", 2, 3, dtype=np.float64)
    ours.fused = fused
    x = np.random.default_rng(6).standard_normal((4, 3, 2))
    pt, po = _packed_pair(x, [2, 4, 3], False)
    pt.data.mul_(2)
    po.data.mul_(2)
    np.testing.assert_array_equal(O.pad_packed_sequence(po)[0].numpy(), R.pad_packed_sequence(pt)[0].numpy())
    np.testing.assert_allclose(ours(po)[0].data.numpy(), theirs(pt)[0].data.detach().numpy(), **TOL[np.float64])
    for unpacked_o, unpacked_t in zip(O.unpack_sequence(po), R.unpack_sequence(pt)):
        np.testing.assert_array_equal(unpacked_o.numpy(), unpacked_t.numpy())
