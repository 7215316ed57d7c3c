"""The tape's sigmoid is accurate in its tails, as torch's: far left its values are tiny, not 0 (the
(1 + tanh(a/2)) / 2 it used rounded everything below about 1e-8 to 0 in float32), and silu, glu and mish,
built on it, inherit that. Held against torch 2.13 elementwise, relative to the value, values and gradients."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

FUNCTIONS = {
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "silu": (tr.nn.functional.silu, torch.nn.functional.silu),
    "glu": (lambda x: tr.nn.functional.glu(x, 0), lambda x: torch.nn.functional.glu(x, 0)),
    "mish": (tr.nn.functional.mish, torch.nn.functional.mish),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_and_gradients_relative_to_torch(name, dtype):
    ours, theirs = FUNCTIONS[name]
    lo = -80 if dtype == np.float32 else -700   # where torch's float32/float64 results are still normal numbers
    x = np.concatenate([np.linspace(lo, 40, 4000), [0.0, -0.0, 1e-30, -1e-30]]).astype(dtype)
    x = np.concatenate([x, x[::-1]]) if name == "glu" else x   # glu: first half times sigmoid(second half)
    t = tr.tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    out, want = ours(t), theirs(tt)
    weights = np.linspace(0.5, 1.5, out.numel()).astype(dtype).reshape(out.shape)
    (out * tr.tensor(weights)).sum().backward()
    (want * torch.tensor(weights)).sum().backward()
    eps = np.finfo(dtype).eps
    tiny = np.finfo(dtype).tiny
    for got, ref in [(out.detach().numpy(), want.detach().numpy()), (t.grad.numpy(), tt.grad.numpy())]:
        assert got.dtype == dtype
        scale = np.maximum(np.abs(ref), tiny / eps)
        rel = np.abs(got - ref) / scale
        assert rel.max() <= 64 * eps, (name, float(rel.max() / eps), x[np.argmax(rel)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_far_left_is_tiny_not_zero_and_no_overflow(dtype):
    x = np.array([-30.0, -1e4, 1e4, -np.inf, np.inf, np.nan], dtype)
    got = tr.tensor(x).sigmoid().numpy()
    want = torch.tensor(x).sigmoid().numpy()
    assert got[0] > 0 and abs(got[0] / want[0] - 1) < 8 * np.finfo(dtype).eps
    np.testing.assert_array_equal(got[1:], want[1:])
    assert tr.tensor(dtype(-30)).sigmoid().numpy().shape == ()   # 0-d stays 0-d
