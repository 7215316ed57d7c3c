"""The checks of the layers, cells and modules (nn/checks.py and the checks of each forward): bad input gets a
clear ValueError/TypeError naming the argument, what was expected and what was got. At the end, hypothesis
drives them with drawn shapes (wrong ones too), dtypes and values: every call either returns the right result
(vs numpy, or the fused layer vs the generic tape) or raises a clean ValueError/TypeError; anything else (a
Numba error, an IndexError or AttributeError from inside, a ZeroDivisionError) fails the test."""
import warnings

import numpy as np
import pytest
from conftest import DTYPES, T, arrays, clean
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

F32 = np.float32
dims = st.integers(0, 4)


LAYERS = [(cls, fused) for cls in (nn.RNN, nn.GRU, nn.LSTM) for fused in (True, False)]


@pytest.mark.parametrize("cls,fused", LAYERS)
def test_layer_input_errors(cls, fused):
    m = cls(10, 4, num_layers=2, bidirectional=True, fused=fused)
    x = T(5, 2, 10)
    cases = [
        (lambda: m(T(5, 2, 7)), ValueError, r"input.shape\[-1\] must equal input_size: expected 10, got 7"),
        (lambda: m(T(5, 2, 10, 1)), ValueError, r"input must be 3-D .* got shape \(5, 2, 10, 1\)"),
        (lambda: m(T(0, 2, 10)), ValueError, "sequence is empty"),
        (lambda: m(np.ones((5, 2, 10), F32)), TypeError, "input must be a Tensor, got ndarray"),
        (lambda: m(T(5, 2, 10, dtype=np.float64)), TypeError,
         "input dtype float64 does not match the parameters' float32"),
        (lambda: m(x, lengths=[0, 3]), ValueError, r"every length must be in \[1, 5\].*got 0"),
        (lambda: m(x, lengths=[6, 3]), ValueError, r"every length must be in \[1, 5\].*got 6"),
        (lambda: m(x, lengths=[1, 2, 3]), ValueError,
         "lengths must have one entry per batch element: expected 2, got 3"),
        (lambda: m(x, lengths=[1.5, 2]), TypeError, "lengths must be a 1-D sequence of ints"),
        (lambda: m(x, lengths=[[1, 2]]), TypeError, "lengths must be a 1-D sequence of ints"),
    ]
    n_state = 2 if cls is nn.LSTM else 1
    bad_h = tuple(T(4, 3, 4) for _ in range(n_state))
    cases.append((lambda: m(x, bad_h if n_state > 1 else bad_h[0]), ValueError,
                  r"must have shape \(num_layers \* num_directions, batch, hidden\) = \(4, 2, 4\), got \(4, 3, 4\)"))
    f64_h = tuple(T(4, 2, 4, dtype=np.float64) for _ in range(n_state))
    cases.append((lambda: m(x, f64_h if n_state > 1 else f64_h[0]), TypeError, "dtype float64 does not match"))
    if cls is nn.LSTM:
        cases.append((lambda: m(x, T(4, 2, 4)), ValueError, "hx must be a tuple of 2 tensors, got 1"))
    for call, exc, words in cases:
        with pytest.raises(exc, match=words):
            call()


CELLS = [nn.RNNCell, nn.GRUCell, nn.LSTMCell, nn.PeepholeLSTMCell, nn.JordanCell, nn.LayerNormLSTMCell]


@pytest.mark.parametrize("cls", CELLS)
def test_cell_input_and_state_errors(cls):
    cell = cls(10, 4)
    x = T(2, 10)
    two = cls in (nn.LSTMCell, nn.PeepholeLSTMCell, nn.LayerNormLSTMCell)

    def state(*shape, dtype=F32):
        return (T(*shape, dtype=dtype), T(*shape, dtype=dtype)) if two else T(*shape, dtype=dtype)

    label = r"state\[0\]" if two else "state"
    cases = [
        (lambda: cell(T(2, 7)), ValueError, r"input.shape\[-1\] must equal input_size: expected 10, got 7"),
        (lambda: cell(T(2, 2, 10)), ValueError, r"input must be 1-D .* or 2-D .* got shape \(2, 2, 10\)"),
        (lambda: cell(np.ones((2, 10), F32)), TypeError, "input must be a Tensor, got ndarray"),
        (lambda: cell(T(2, 10, dtype=np.float64)), TypeError, "dtype float64 does not match"),
        (lambda: cell(x, state(2, 5)), ValueError,
         label + r".shape must be \(batch, hidden\): expected \(2, 4\), got \(2, 5\)"),
        (lambda: cell(x, state(3, 4)), ValueError,
         label + r".shape must be \(batch, hidden\): expected \(2, 4\), got \(3, 4\)"),
        (lambda: cell(x, state(2, 4, dtype=np.float64)), TypeError,
         label + " dtype float64 does not match the input's float32"),
        (lambda: cell(T(10), state(1, 4)), ValueError,
         label + r".shape must be \(hidden,\): expected \(4,\), got \(1, 4\)"),
        (lambda: cell(x, (T(2, 4),) * 3), ValueError, "got a tuple of 3"),
    ]
    if two:
        cases.append((lambda: cell(x, T(2, 4)), ValueError,
                      r"state must be a tuple of 2 Tensors \(e.g. \(h, c\)\), got one Tensor"))
    else:
        cases.append((lambda: cell(x, np.ones((2, 4), F32)), TypeError, "state must be a Tensor, got ndarray"))
        # a 1-tuple reached forward as the tuple (an error from inside the tape, naming no argument)
        cases.append((lambda: cell(x, (T(2, 4),)), ValueError, "state must be one Tensor, got a tuple of 1"))
    for call, exc, words in cases:
        with pytest.raises(exc, match=words):
            call()


def test_linear_embedding_losses():
    lin = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"input.shape\[-1\] must equal in_features: expected 3, got 4"):
        lin(T(2, 4))
    with pytest.raises(TypeError, match="Linear: input must be a Tensor, got list"):
        lin([[1.0, 2.0, 3.0]])
    emb = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"indices must lie in \[0, 5\).*got 7"):
        emb([7])
    with pytest.raises(TypeError, match="embedding: input must be an integer array, got dtype <U1"):
        emb(["a"])
    with pytest.raises(TypeError, match="got dtype float64 .*convert floats with .long()"):   # (as torch: floats)
        emb([1.5])
    with pytest.raises(ValueError, match=r"target must have shape \(2,\) for input of shape \(2, 3\), got \(3,\)"):
        F.cross_entropy(T(2, 3), [0, 1, 2])
    with pytest.raises(IndexError, match=r"target must lie in \[0, 3\).*got 3"):
        F.cross_entropy(T(2, 3), [0, 3])
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(2,\) must equal input shape \(3,\)"):
        F.mse_loss(T(3), T(2))


# ----------------------------------------------------------------------------- constructor arguments
# Every bool, int, float and str argument of the layers, cells and modules is checked: a wrong type
# is a TypeError naming the class, the argument, what was expected and the value given (torch
# raises TypeError for batch_first="False" and bias=0, which would otherwise be read as truthy/falsy).
BAD_ARGUMENTS = [
    (lambda: nn.GRU(3, 5, batch_first="False"), TypeError, "GRU: batch_first must be True or False, got str 'False'"),
    (lambda: nn.GRU(3, 5, bias=0), TypeError, "GRU: bias must be True or False, got int 0"),
    (lambda: nn.LSTM(3, 4, dropout="0.5"), TypeError, "LSTM: dropout must be a number, got str '0.5'"),
    (lambda: nn.LSTM(3, 4, dropout=True), TypeError, "LSTM: dropout must be a number, got bool True"),
    (lambda: nn.LSTM(3, 4, dropout=1.5), ValueError, r"LSTM: dropout must be in \[0, 1\], got 1.5"),
    (lambda: nn.RNN(3, 4, bidirectional=1)(tr.zeros(2, 3)), TypeError,
     "RNN: bidirectional must be True or False, got int 1"),   # (made, as torch's; refused at the call)
    (lambda: nn.RNN(3.0, 4), TypeError, "RNN: input_size must be an int, got float 3.0"),
    (lambda: nn.RNN(3, "4"), TypeError, "RNN: hidden_size must be an int, got str '4'"),
    (lambda: nn.RNN(3, 0), ValueError, "RNN: hidden_size must be >= 1, got 0"),
    (lambda: nn.GRU(3, 4, num_layers=0), ValueError, "GRU: num_layers must be >= 1, got 0"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError,
     "RNN: nonlinearity must be one of 'tanh', 'relu', got str 'sigmoid'"),
    (lambda: nn.LSTM(3, 4, proj_size=4), ValueError, r"LSTM: proj_size must be smaller than hidden_size \(4\), got 4"),
    (lambda: nn.LSTM(3, 4, proj_size=-1), ValueError, "LSTM: proj_size must be >= 0, got -1"),
    (lambda: nn.LSTM(3, 4, proj_size=True), TypeError, "LSTM: proj_size must be an int, got bool True"),
    (lambda: nn.Recurrent(nn.GRUCell, 3, 4, batch_first=1), TypeError, "Recurrent: batch_first must be True or False"),
    (lambda: nn.LSTMCell(3, 4.5), TypeError, "LSTMCell: hidden_size must be an int, got float 4.5"),
    (lambda: nn.GRUCell(-1, 4), ValueError, "GRUCell: input_size must be >= 0, got -1"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="Tanh"), ValueError, "RNNCell: nonlinearity must be one of 'tanh', 'relu'"),
    (lambda: nn.JordanCell(3, 4, output_size="2"), TypeError, "JordanCell: output_size must be an int, got str '2'"),
    (lambda: nn.JordanCell(3, 4, output_activation="relu"), ValueError,
     "JordanCell: output_activation must be one of None, 'tanh'"),
    (lambda: nn.Linear(3, 4, bias=None), TypeError, "Linear: bias must be True or False, got NoneType None"),
    (lambda: nn.Linear("3", 4), TypeError, "Linear: in_features must be an int, got str '3'"),
    (lambda: nn.Dropout("0.1"), TypeError, "Dropout: p must be a number, got str '0.1'"),
    (lambda: nn.Dropout(2), ValueError, r"Dropout: p must be in \[0, 1\], got 2"),
    (lambda: F.dropout(T(2), "0.5"), TypeError, "dropout: p must be a number, got str '0.5'"),
    (lambda: F.dropout(T(2), 0.5, training="yes"), TypeError, "dropout: training must be True or False, got str"),
    (lambda: F.dropout(T(2), 1.5), ValueError, r"dropout: p must be in \[0, 1\], got 1.5"),
    (lambda: F.mse_loss(np.ones(2), T(2)), TypeError, "mse_loss: input must be a Tensor, got ndarray"),
    (lambda: F.l1_loss(np.ones(2), T(2)), TypeError, "l1_loss: input must be a Tensor, got ndarray"),
    (lambda: F.l1_loss(T(2), T(3)), ValueError, r"l1_loss: target shape \(3,\) must equal input shape \(2,\)"),
    (lambda: F.binary_cross_entropy(T(2), T(2, dtype=np.float64)), TypeError,
     "binary_cross_entropy: target dtype float64 does not match input dtype float32"),
    (lambda: F.binary_cross_entropy_with_logits(T(2), T(2), reduction="avg"), ValueError,
     "binary_cross_entropy_with_logits: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: F.one_hot([0, 1], num_classes=2.0), TypeError, "one_hot: num_classes must be an int, got float 2.0"),
    (lambda: F.linear(T(2, 3), np.ones((4, 3))), TypeError, "linear: weight must be a Tensor, got ndarray"),
    (lambda: F.softmax(T(2, 3), dim=1, axis=1), TypeError, "softmax: pass dim or axis, not both"),
    (lambda: nn.LayerNorm(4, eps="1e-5"), TypeError, "LayerNorm: eps must be a number, got str '1e-5'"),
    (lambda: nn.LayerNorm("4"), TypeError, "LayerNorm: normalized_shape must be an int or a sequence of ints"),
    (lambda: nn.LayerNorm(4, elementwise_affine=1), TypeError, "LayerNorm: elementwise_affine must be True or False"),
    (lambda: nn.Sequential(nn.Linear(2, 2), "relu"), TypeError, "Sequential: argument 1 must be a Module, got str"),
    (lambda: nn.ModuleList([nn.Linear(2, 2), 3]), TypeError, "ModuleList: item 1 must be a Module, got int"),
    (lambda: nn.Linear(2, 2).train("False"), ValueError, "mode must be True or False, got str 'False'"),
    (lambda: nn.CrossEntropyLoss(smoothing=0.1), TypeError, "CrossEntropyLoss.*smoothing"),
]


@pytest.mark.parametrize("index", range(len(BAD_ARGUMENTS)))
def test_constructor_arguments_are_type_checked(index):
    make, exc, words = BAD_ARGUMENTS[index]
    with pytest.raises(exc, match=words):
        make()


@pytest.mark.parametrize("make", [lambda **kw: nn.LSTM(3, 4, fused=False, **kw),
                                  lambda **kw: nn.Recurrent(nn.GRUCell, 3, 4, fused=False, **kw)])
def test_dropout_with_one_layer_warns_as_torch(make):
    """dropout acts between stacked layers only: with one layer it does nothing, which torch says."""
    with pytest.warns(UserWarning, match="dropout=0.5 with num_layers=1 does nothing") as caught:
        make(dropout=0.5)
    assert caught[0].filename == __file__  # the warning points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(dropout=0.5, num_layers=2)
        make(dropout=0.0)


def test_errors_do_not_leak_internal_names():
    with pytest.raises(ValueError) as info:
        nn.GRU(3, 4, proj_size=2)  # LSTM takes proj_size; GRU does not (torch's ValueError), and the error says GRU
    assert "GRU: proj_size argument is only supported for LSTM" in str(info.value)
    assert "_TorchRecurrent" not in str(info.value)
    with pytest.raises(TypeError, match=r"Recurrent: cell must be a cell class .* got an instance of LSTMCell"):
        nn.Recurrent(nn.LSTMCell(3, 4), 3, 4)
    with pytest.raises(TypeError,
                       match=r"Recurrent: cell must be a cell class .* got the class Linear, not a RecurrentCell"):
        nn.Recurrent(nn.Linear, 3, 4)
    with pytest.raises(TypeError, match="Recurrent: cell must build a tr.nn.RecurrentCell, got Linear"):
        nn.Recurrent(lambda i, h, dtype: nn.Linear(i, h, dtype=dtype), 3, 4)
    with pytest.raises(TypeError, match="LSTM: dtype must be float32 or float64, got 'flot'"):
        nn.LSTM(3, 4, dtype="flot")  # not numpy's "data type 'flot' not understood"
    with pytest.raises(TypeError, match="GRUCell: dtype must be float32 or float64, got int64"):
        nn.GRUCell(3, 4, dtype=np.int64)


class _TwoPartCell(nn.RecurrentCell):
    """A cell whose state is (h, c) but which forgot to set state_sizes: it is handed one Tensor,
    and `h, c = state` would split it along the batch and run on, silently wrong."""

    def __init__(self, input_size, hidden_size, dtype=F32):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.lin = nn.Linear(input_size, hidden_size, dtype=dtype)

    def forward(self, x, state):
        h, c = state
        c = c + self.lin(x)
        return c.tanh(), c


def test_tuple_state_without_state_sizes_is_refused_with_the_fix():
    words = r"_TwoPartCell: forward was given one Tensor .* returned a tuple of 2.*set.* state_sizes"
    with pytest.raises(ValueError, match=words):
        nn.Recurrent(_TwoPartCell, 3, 4)  # at construction, whichever path would run the cell
    with pytest.raises(ValueError, match=words):
        _TwoPartCell(3, 4)(T(2, 3))
    _TwoPartCell.state_sizes = property(lambda self: (self.hidden_size, self.hidden_size))
    try:  # with state_sizes set, the same cell runs
        out, (h, c) = nn.Recurrent(_TwoPartCell, 3, 4)(T(5, 2, 3))
        assert out.shape == (5, 2, 4) and c.shape == (1, 2, 4)
    finally:
        del _TwoPartCell.state_sizes


def test_zero_sized_hidden_and_batch_as_torch():
    """torch: a cell with hidden_size 0 returns an empty state; a batch of 0 runs every layer."""
    h = nn.RNNCell(10, 0)(T(3, 10))
    assert h.shape == (3, 0)
    assert nn.GRUCell(0, 4)(T(3, 0)).shape == (3, 4)
    assert [s.shape for s in nn.LayerNormLSTMCell(2, 0)(T(3, 2))] == [(3, 0), (3, 0)]  # its init bound divided by 0
    for cls in CELLS:  # a batch of 0
        new = cls(3, 4)(T(0, 3))
        assert all(s.shape == (0, 4) for s in (new if isinstance(new, tuple) else (new,)))
    np.testing.assert_array_equal(nn.Linear(0, 3)(T(2, 0))._data, np.zeros((2, 3)))  # torch: bias bound 0 too
    for cls in (nn.RNN, nn.GRU, nn.LSTM):
        for fused in (True, False):
            out, h_n = cls(3, 4, num_layers=2, bidirectional=True, fused=fused)(T(5, 0, 3))
            h_n = h_n[0] if cls is nn.LSTM else h_n
            assert out.shape == (5, 0, 8) and h_n.shape == (4, 0, 4)


# every typed argument of every layer, cell and module, each given values of the wrong type
_LAYER_ARGS = dict(ints=["input_size", "hidden_size", "num_layers"], bools=["bias", "batch_first", "bidirectional"],
                   floats=["dropout"])
_TORCH_LAYER_ARGS = dict(_LAYER_ARGS, bools=["bias", "batch_first"])   # (bidirectional: refused at a call, as torch's)
_CELL_ARGS = dict(ints=["input_size", "hidden_size"], bools=["bias"], floats=[])
_TORCH_CELL_ARGS = dict(_CELL_ARGS, bools=[])   # (bias: any value, as torch's cells take it)
SIGNATURES = [
    (lambda **kw: nn.RNN(**{"input_size": 3, "hidden_size": 4, **kw}), _TORCH_LAYER_ARGS),
    (lambda **kw: nn.GRU(**{"input_size": 3, "hidden_size": 4, **kw}), _TORCH_LAYER_ARGS),
    (lambda **kw: nn.LSTM(**{"input_size": 3, "hidden_size": 4, **kw}),
     dict(_TORCH_LAYER_ARGS, ints=_LAYER_ARGS["ints"] + ["proj_size"])),
    (lambda **kw: nn.Recurrent(nn.GRUCell, **{"input_size": 3, "hidden_size": 4, **kw}), _LAYER_ARGS),
    (lambda **kw: nn.RNNCell(**{"input_size": 3, "hidden_size": 4, **kw}), _TORCH_CELL_ARGS),
    (lambda **kw: nn.LSTMCell(**{"input_size": 3, "hidden_size": 4, **kw}),
     dict(_TORCH_CELL_ARGS, ints=_CELL_ARGS["ints"] + ["proj_size"])),
    (lambda **kw: nn.LayerNormLSTMCell(**{"input_size": 3, "hidden_size": 4, **kw}), dict(_CELL_ARGS, floats=["eps"])),
    (lambda **kw: nn.GRUCell(**{"input_size": 3, "hidden_size": 4, **kw}), _TORCH_CELL_ARGS),
    (lambda **kw: nn.PeepholeLSTMCell(**{"input_size": 3, "hidden_size": 4, **kw}), _TORCH_CELL_ARGS),
    (lambda **kw: nn.JordanCell(**{"input_size": 3, "hidden_size": 4, **kw}),
     dict(_CELL_ARGS, ints=_CELL_ARGS["ints"] + ["output_size"])),
    (lambda **kw: nn.Linear(**{"in_features": 3, "out_features": 4, **kw}),
     dict(ints=["in_features", "out_features"], bools=["bias"], floats=[])),
    (lambda **kw: nn.Dropout(**kw), dict(ints=[], bools=[], floats=["p"])),
    (lambda **kw: nn.Embedding(**{"num_embeddings": 5, "embedding_dim": 3, **kw}),
     dict(ints=["num_embeddings", "embedding_dim"], bools=[], floats=[])),
    (lambda **kw: nn.LayerNorm(**{"normalized_shape": 4, **kw}),
     dict(ints=[], bools=["elementwise_affine", "bias"], floats=["eps"])),
]
WRONG = dict(ints=[("3", "str"), (3.0, "float"), (True, "bool"), (None, "NoneType")],
             bools=[("True", "str"), (1, "int"), (None, "NoneType"), (1.0, "float")],
             floats=[("0.5", "str"), (True, "bool"), (None, "NoneType")])
EXPECTED = dict(ints="an int", bools="True or False", floats="a number")
TYPED_CASES = [(make, arg, kind, value, got) for make, args in SIGNATURES for kind in ("ints", "bools", "floats")
               for arg in args[kind] for value, got in WRONG[kind]
               if not (arg == "output_size" and value is None)]  # JordanCell: None means hidden_size


@pytest.mark.parametrize("make,arg,kind,value,got", TYPED_CASES)
def test_every_typed_argument_refuses_every_wrong_type(make, arg, kind, value, got):
    with pytest.raises(TypeError, match=rf": {arg} must be {EXPECTED[kind]}, got {got} "):
        make(**{arg: value})


@pytest.mark.parametrize("value,got", WRONG["bools"])
def test_retain_states_refuses_a_value_that_is_not_a_bool(value, got):
    """retain_states="False" was read as True (the tape run and every state kept), 0 as False."""
    for layer in (nn.GRU(3, 4), nn.Recurrent(nn.GRUCell, 3, 4)):
        with pytest.raises(TypeError, match=rf"{type(layer).__name__}: retain_states must be True or False, got {got}"):
            layer(T(5, 2, 3), retain_states=value)


@pytest.mark.parametrize("hooked", [False, True])
def test_the_tape_fallback_warning_points_at_the_callers_line(hooked):
    """At the caller's line whatever frames are in between: a module's hooks add two (a fixed stacklevel pointed
    into the library's hooks.py then)."""
    layer = nn.GRU(3, 4)
    if hooked:
        layer.register_forward_hook(lambda module, args, output: None)
    with pytest.warns(RuntimeWarning, match="running the generic tape") as caught:
        layer(T(5, 2, 3), retain_states=True)
    assert caught[0].filename == __file__


def test_unroll_and_reverse_take_lengths_as_a_list():
    """unroll(lengths=[3, 1]) raised AttributeError ('list' object has no attribute 'min')."""
    cell = nn.GRUCell(2, 3)
    xs = [tr.Tensor(np.random.default_rng(t).standard_normal((2, 2)).astype(np.float32)) for t in range(3)]
    got = nn.unroll(cell, xs, tr.zeros(2, 3), lengths=[3, 1])
    want = nn.unroll(cell, xs, tr.zeros(2, 3), lengths=np.array([3, 1]))
    np.testing.assert_array_equal(got[0]._data, want[0]._data)
    np.testing.assert_array_equal(got[1]._data, want[1]._data)
    x = tr.Tensor(np.arange(6, dtype=np.float32).reshape(3, 2))   # reverse_within_lengths too (it raised TypeError)
    np.testing.assert_array_equal(nn.reverse_within_lengths(x, [3, 1])._data,
                                  nn.reverse_within_lengths(x, np.array([3, 1]))._data)


def test_call_errors_name_the_public_class():
    """A misspelt keyword in a layer's call, or a loss called with one argument: the error names the
    class the user wrote, not a private base class."""
    x = T(5, 2, 3)
    for layer in (nn.RNN(3, 4), nn.GRU(3, 4), nn.LSTM(3, 4), nn.Recurrent(nn.GRUCell, 3, 4)):
        with pytest.raises(TypeError) as info:
            layer(x, lenghts=[5, 2])
        assert f"{type(layer).__name__}.forward() got an unexpected keyword argument 'lenghts'" in str(info.value)
    with pytest.raises(TypeError, match=r"MSELoss: call it with \(input, target\), got \(Tensor\)"):
        nn.MSELoss()(x)
    with pytest.raises(TypeError, match=r"CrossEntropyLoss: call it with \(input, target\), got \(Tensor, ndarray, "
                                        r"reduction=\); other arguments of F.cross_entropy go to the constructor"):
        nn.CrossEntropyLoss()(T(2, 3), np.array([0, 1]), reduction="sum")


# ----------------------------------------------------------------------------- fuzzed
@given(data=st.data())
def test_layers_fused_and_tape(data):
    d = data.draw
    cls = d(st.sampled_from([nn.RNN, nn.GRU, nn.LSTM]))
    I, H = d(st.integers(1, 3)), d(st.integers(1, 3))
    layers, bidir = d(st.integers(1, 2)), d(st.booleans())
    dtype = d(st.sampled_from([np.float32, np.float64]))
    shape = d(st.sampled_from([
        (d(st.integers(0, 4)), d(st.integers(0, 3)), I),      # right features (maybe T or B = 0)
        (d(st.integers(1, 4)), d(st.integers(1, 3)), d(dims)),  # maybe wrong features
        (d(st.integers(1, 4)), I), (I,), (1, 2, I, 1)]))
    xdtype = d(st.sampled_from([dtype] * 3 + DTYPES))
    lengths = d(st.none() | st.lists(st.integers(-1, 5), min_size=0, max_size=4))
    x_np = arrays(d, shape, xdtype)
    results = []
    for fused in (True, False):
        tr.manual_seed(0)
        m = cls(I, H, num_layers=layers, bidirectional=bidir, dtype=dtype, fused=fused)
        x = clean(lambda: tr.Tensor(x_np))
        if x is None:
            return  # float16 or the like: refused when the Tensor is made
        out = clean(lambda m=m, x=x: m(x, lengths=lengths))
        if out is not None:
            out[0].sum().backward()
            results.append((out[0]._data, [p.grad for p in m.parameters()]))
        else:
            results.append(None)
    assert (results[0] is None) == (results[1] is None)  # both paths accept or refuse the same input
    if results[0] is not None:
        (o1, g1), (o2, g2) = results
        tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(o1, o2, **tol, equal_nan=True)
        for a, b in zip(g1, g2):
            np.testing.assert_allclose(a, b, **tol, equal_nan=True)


@given(data=st.data())
def test_cells_linear_embedding_losses(data):
    d = data.draw
    cls = d(st.sampled_from([nn.RNNCell, nn.GRUCell, nn.LSTMCell, nn.PeepholeLSTMCell, nn.JordanCell]))
    I, H = d(st.integers(1, 3)), d(st.integers(1, 3))
    x_np = arrays(d, d(st.sampled_from([(2, I), (I,), (2, d(dims)), (1, 2, I)])), d(st.sampled_from(DTYPES)))
    cell = cls(I, H)
    x = clean(lambda: tr.Tensor(x_np))
    if x is not None:
        state_shape = d(st.sampled_from([(2, H), (H,), (2, d(dims)), (3, H)]))
        state = tr.Tensor(np.zeros(state_shape, np.float32))
        if cls in (nn.LSTMCell, nn.PeepholeLSTMCell) and d(st.booleans()):
            state = (state, state)
        out = clean(lambda: cell(x, state if d(st.booleans()) else None))
        if out is not None:
            first = out[0] if isinstance(out, tuple) else out
            assert first.shape == x.shape[:-1] + (H,)
        lin = nn.Linear(I, H)
        y = clean(lambda: lin(x))
        if y is not None:
            np.testing.assert_allclose(y._data, x._data @ lin.weight._data.T + lin.bias._data, rtol=1e-5, atol=1e-5)
    emb = nn.Embedding(4, 2)
    ids = d(st.lists(st.integers(-2, 5), max_size=4))
    e = clean(lambda: emb(ids))
    if e is not None:
        np.testing.assert_array_equal(e._data, emb.weight._data[ids])
    C = d(st.integers(1, 3))
    logits = tr.Tensor(arrays(d, d(st.sampled_from([(2, C), (C,), (2, C, 2), ()])), np.float64), requires_grad=True)
    targets = d(st.lists(st.integers(-1, 3), max_size=3))
    loss = clean(lambda: F.cross_entropy(logits, targets))
    if loss is not None:
        loss.backward()
        assert logits.grad.shape == logits.shape
    mse = clean(lambda: F.mse_loss(logits, np.zeros(d(st.sampled_from([logits.shape, (5,)])))))
    if mse is not None:
        np.testing.assert_allclose(mse._data, np.mean(logits._data ** 2), equal_nan=True)


class _UpcastingCell(nn.RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=F32):
        self.input_size, self.hidden_size = input_size, hidden_size

    def forward(self, x, h):
        return (h + x.sum(1, keepdim=True)).astype(np.float64)   # a float64 state from a float32 one


class _BadSizesCell(_UpcastingCell):
    state_sizes = (4, -1)

    def forward(self, x, state):
        return state


@pytest.mark.parametrize("fused", [True, False])
def test_a_cells_new_state_keeps_its_dtype_and_its_sizes_are_checked(fused):
    """A user's cell returning a float64 state from a float32 one ran on the tape with every later step and the
    output upcast, silently (only the fused path refused it, as a Cast); state_sizes of -1 or 4.0 were refused by
    zeros(), not named. Both are named at construction, and by the cell's own call."""
    with pytest.raises(TypeError, match="_UpcastingCell: forward was given a float32 state and returned a state of "
                                        "dtype float64"):
        nn.Recurrent(_UpcastingCell, 3, 4, fused=fused)
    with pytest.raises(TypeError, match="returned a state of dtype float64"):
        _UpcastingCell(3, 4)(T(2, 3))
    with pytest.raises(ValueError, match=r"_BadSizesCell: state_sizes\[1\] must be >= 0, got -1"):
        nn.Recurrent(_BadSizesCell, 3, 4, fused=fused)
