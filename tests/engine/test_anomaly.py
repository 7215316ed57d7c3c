"""detect_anomaly(): NaN/Inf in forward or backward named with the user's line; in-place writes
under the tape caught; clip_grad_norm_'s non-finite rule; the mode costs nothing when off."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import clip_grad_norm_
from tinygrad_rnn.tensor import _backward_checks, _forward_checks

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's divide-by-zero warnings


def test_forward_fault_names_the_operation_and_the_users_line():
    x = tr.Tensor(np.array([1.0, 0.0, 2.0]), requires_grad=True)
    with tr.detect_anomaly():
        y = x * 2.0
        with pytest.raises(tr.AnomalyError) as e:
            y.log()  # THE FAULTY LINE
    msg = str(e.value)
    assert "forward of Log produced inf in 1 of 3 values" in msg
    assert "test_anomaly.py:" in msg and "THE FAULTY LINE" in msg and "inputs were all finite" in msg
    assert isinstance(e.value, FloatingPointError)


def test_forward_fault_in_no_grad_and_upstream_nan():
    with tr.detect_anomaly(), tr.no_grad():
        with pytest.raises(tr.AnomalyError, match="forward of Mul produced nan.*input already held nan"):
            tr.Tensor([np.nan, 1.0]) * 2.0


def test_backward_fault_names_the_node_where_it_was_created():
    x = tr.Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with tr.detect_anomaly():
        loss = x.sqrt().sum()  # sqrt'(0) = inf
        with pytest.raises(tr.AnomalyError) as e:
            loss.backward()
    msg = str(e.value)
    assert "backward of Pow produced inf" in msg and "loss = x.sqrt().sum()" in msg
    assert "gradient flowing into it was finite" in msg


def test_fault_inside_a_layer_points_at_the_users_call_and_the_library_function():
    tr.manual_seed(0)
    lstm = nn.LSTM(3, 4, fused=False)
    x = np.zeros((5, 2, 3), dtype=np.float32)
    x[2, 1, 0] = np.inf
    with tr.detect_anomaly():
        with pytest.raises(tr.AnomalyError) as e:
            lstm(tr.Tensor(x))  # CALL SITE
    msg = str(e.value)
    assert "CALL SITE" in msg and "tinygrad_rnn/nn/" in msg


def test_no_false_alarm_and_hooks_removed_after_the_block():
    tr.manual_seed(0)
    rnn = nn.GRU(3, 4, num_layers=2)
    with tr.detect_anomaly():
        with tr.detect_anomaly():  # nestable
            out, _ = rnn(tr.Tensor(np.ones((4, 2, 3), dtype=np.float32)))
        assert tr.is_anomaly_enabled()
        out.sum().backward()
    assert not _forward_checks and not _backward_checks and not tr.is_anomaly_enabled()
    x = tr.Tensor(np.array([0.0]), requires_grad=True)
    x.log()  # off: inf passes silently, as numpy
    with pytest.raises(ValueError), tr.detect_anomaly():
        raise ValueError  # hooks removed even when the block raises
    assert not _forward_checks


@pytest.mark.parametrize("fused", [True, False])
def test_optimizer_step_between_forward_and_backward_is_caught(fused):
    tr.manual_seed(0)
    lstm = nn.LSTM(3, 4, fused=fused)
    opt = tr.optim.SGD(lstm.parameters(), lr=0.1)
    x = tr.Tensor(np.ones((3, 2, 3), dtype=np.float32))
    with tr.detect_anomaly():
        loss = lstm(x)[0].sum()
        for p in lstm.parameters():
            p.grad = np.ones_like(p.data)
        opt.step()  # the bug: weights change under the recorded graph (caught with or without anomaly mode)
        with pytest.raises(tr.InplaceModificationError) as e:
            loss.backward()
    msg = str(e.value)
    assert "modified in place" in msg and "call backward() first" in msg


def test_writing_input_data_in_place_is_caught_and_correct_use_is_not():
    data = np.ones((2, 3))
    x = tr.Tensor(data)
    w = tr.Tensor(np.ones((3, 1)), requires_grad=True)
    with tr.detect_anomaly():
        loss = (x @ w).sum()
        data[0, 0] = 7.0
        with pytest.raises(tr.InplaceModificationError, match="input 0 of Matmul.*does not require grad"):
            loss.backward()
        loss = (x @ w).sum()
        loss.backward()
        w.data -= 0.1 * w.grad  # after backward: fine
        (x @ w).sum().backward()


def test_clip_grad_norm_nonfinite_rule():
    a = tr.Tensor(np.ones(3), requires_grad=True)
    b = tr.Tensor(np.ones(2), requires_grad=True)
    a.grad, b.grad = np.array([1.0, np.inf, 2.0]), np.array([3.0, 4.0])
    with pytest.raises(RuntimeError, match="total norm .* is inf"):
        clip_grad_norm_([a, b], 1.0, error_if_nonfinite=True)
    assert np.isinf(a.grad[1]) and b.grad[0] == 3.0  # nothing changed
    with np.errstate(invalid="ignore"):
        total = clip_grad_norm_([a, b], 1.0).item()
    assert total == np.inf and np.isnan(a.grad[1]) and np.all(b.grad == 0)  # torch's rule: coef 0
    a.grad = np.array([np.nan, 1.0, 1.0])
    assert np.isnan(clip_grad_norm_([a], 1.0).item()) and np.all(np.isnan(a.grad))
