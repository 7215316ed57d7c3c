"""Bad input gets a clear ValueError/TypeError naming the argument, what was expected and what was got."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.nn import functional as F

F32 = np.float32


def T(*shape, dtype=F32):
    return tr.Tensor(np.ones(shape, dtype=dtype))


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
        (lambda: m(T(5, 2, 10, dtype=np.float64)), TypeError, "input dtype float64 does not match the parameters' float32"),
        (lambda: m(x, lengths=[0, 3]), ValueError, r"every length must be in \[1, 5\].*got 0"),
        (lambda: m(x, lengths=[6, 3]), ValueError, r"every length must be in \[1, 5\].*got 6"),
        (lambda: m(x, lengths=[1, 2, 3]), ValueError, "lengths must have one entry per batch element: expected 2, got 3"),
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


CELLS = [nn.RNNCell, nn.GRUCell, nn.LSTMCell, nn.PeepholeLSTMCell, nn.JordanCell]


@pytest.mark.parametrize("cls", CELLS)
def test_cell_input_and_state_errors(cls):
    cell = cls(10, 4)
    x = T(2, 10)
    two = cls in (nn.LSTMCell, nn.PeepholeLSTMCell)

    def state(*shape, dtype=F32):
        return (T(*shape, dtype=dtype), T(*shape, dtype=dtype)) if two else T(*shape, dtype=dtype)

    label = r"state\[0\]" if two else "state"
    cases = [
        (lambda: cell(T(2, 7)), ValueError, r"input.shape\[-1\] must equal input_size: expected 10, got 7"),
        (lambda: cell(T(2, 2, 10)), ValueError, r"input must be 1-D .* or 2-D .* got shape \(2, 2, 10\)"),
        (lambda: cell(np.ones((2, 10), F32)), TypeError, "input must be a Tensor, got ndarray"),
        (lambda: cell(T(2, 10, dtype=np.float64)), TypeError, "dtype float64 does not match"),
        (lambda: cell(x, state(2, 5)), ValueError, label + r".shape must be \(batch, hidden\): expected \(2, 4\), got \(2, 5\)"),
        (lambda: cell(x, state(3, 4)), ValueError, label + r".shape must be \(batch, hidden\): expected \(2, 4\), got \(3, 4\)"),
        (lambda: cell(x, state(2, 4, dtype=np.float64)), TypeError, label + " dtype float64 does not match the input's float32"),
        (lambda: cell(T(10), state(1, 4)), ValueError, label + r".shape must be \(hidden,\): expected \(4,\), got \(1, 4\)"),
        (lambda: cell(x, (T(2, 4),) * 3), ValueError, "got a tuple of 3"),
    ]
    if two:
        cases.append((lambda: cell(x, T(2, 4)), ValueError, r"state must be a tuple of 2 Tensors \(e.g. \(h, c\)\), got one Tensor"))
    else:
        cases.append((lambda: cell(x, np.ones((2, 4), F32)), TypeError, "state must be a Tensor, got ndarray"))
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
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 5\).*got 7"):
        emb([7])
    with pytest.raises(TypeError, match="indices must be an integer array, got dtype <U1"):
        emb(["a"])
    with pytest.raises(TypeError, match="non-integer floats"):
        emb([1.5])
    with pytest.raises(ValueError, match=r"target must have shape \(2,\) for input of shape \(2, 3\), got \(3,\)"):
        F.cross_entropy(T(2, 3), [0, 1, 2])
    with pytest.raises(ValueError, match=r"target must lie in \[0, 3\).*got 3"):
        F.cross_entropy(T(2, 3), [0, 3])
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(3,\) and target shape \(2,\) must match"):
        F.mse_loss(T(3), T(2))


def test_tensor_operation_errors():
    with pytest.raises(ValueError, match=r"matmul shape mismatch: \(2, 3\) @ \(4, 5\)"):
        T(2, 3) @ T(4, 5)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        T(2, 3) + T(4)
    with pytest.raises(TypeError, match="cannot combine tensors of dtype float32 and float64"):
        T(2) + T(2, dtype=np.float64)
    # the documented conversion rule: ints/bools -> float32 (or dtype=), other dtypes refused
    assert tr.Tensor(np.arange(3)).dtype == np.float32 and tr.Tensor([True]).dtype == np.float32
    assert tr.Tensor(np.arange(3), dtype=np.float64).dtype == np.float64
    for bad, words in [(np.array(["a"]), "got dtype <U1"), (np.array([1 + 2j]), "complex128"),
                       (np.array([None]), "dtype object"), (np.ones(2, np.float16), "float16"),
                       ([[1, 2], [3]], "cannot make a tensor"), ("abc", "expected numbers")]:
        with pytest.raises(TypeError, match=words):
            tr.Tensor(bad)
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int64"):
        tr.Tensor([1], dtype=np.int64)


def test_backward_errors_say_what_to_do():
    x = tr.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"needs a scalar .* shape \(3,\).*loss.sum\(\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"grad must have the tensor's shape: expected \(3,\), got \(2,\)"):
        (x * 2).backward(np.ones(2))
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        tr.Tensor(np.ones(1)).sum().backward()
