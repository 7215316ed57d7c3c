"""A compiled cell's buffers (a mask, a scale, orthogonal's base, spectral_norm's u and v): written after the kernel
was made, they are read at the next call, never kept stale. The work on the weights alone (compile/prelude.py)
takes the buffers it reads as inputs at each call (the same kernel, not a new one per value); a buffer the step
reads itself is a constant of the kernel, and a new value, a _private buffer's too, is traced again. Before, a
_private buffer written in place gave the old values, and every new mask value compiled a new kernel.
spectral_norm runs fused in eval mode (its v made a column by a reshape of the constant v went to the prelude too;
before it was refused), with torch's numbers; in train mode its power iteration writes u and v at every step on
the tape, which the kernels cannot follow: refused by name, saying what to do, and fused='auto' gives exactly the
tape's numbers and torch's (before, the traces advanced u and v, and the refusal spoke of random numbers). Held
against the generic tape (fused=False) at 1e-12 in float64 and against torch's spectral_norm on a loop of
torch.nn.RNNCell."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile import CompileError
from tinygrad_rnn.compile.node import get_kernel
from tinygrad_rnn.nn.utils import parametrizations as PZ

pytest.importorskip("numba")
I, H, T, B = 3, 4, 5, 2


class _Base(tr.nn.RecurrentCell):
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        rng = tr.random.generator()
        self.W = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (hidden_size, input_size)).astype(dtype))
        self.U = tr.nn.Parameter(rng.uniform(-0.5, 0.5, (hidden_size, hidden_size)).astype(dtype))
        self.b = tr.nn.Parameter(rng.uniform(-0.5, 0.5, hidden_size).astype(dtype))

    def step(self, x, h, U):
        return tr.tanh(x @ self.W.T + h @ U.T + self.b)


class MaskCell(_Base):
    """A sparsity mask on the recurrent matrix (the prelude reads it), under the name `buffer`."""
    buffer = "mask"

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        super().__init__(input_size, hidden_size, dtype)
        self.register_buffer(self.buffer, tr.tensor(np.ones((hidden_size, hidden_size), dtype)))

    def forward(self, x, h):
        return self.step(x, h, self.U * getattr(self, self.buffer))


class PrivateMaskCell(MaskCell):
    buffer = "_mask"


class PrivateScaleCell(_Base):
    """A buffer the step reads itself (a vector scaling the state): a constant of the kernel."""
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        super().__init__(input_size, hidden_size, dtype)
        self.register_buffer("_scale", tr.tensor(np.ones(hidden_size, dtype)))

    def forward(self, x, h):
        return self.step(x, h * self._scale, self.U)


def _orthogonal(layer):
    for cell in layer.cells:
        PZ.orthogonal(cell, "weight_hh")


def _spectral(layer):
    for cell in layer.cells:
        PZ.spectral_norm(cell, "weight_hh")
    layer.eval()


def _write_mask(layer, name):
    with tr.no_grad():
        getattr(layer.cells[0], name)[0].mul_(-2.0)


def _new_orthogonal_weight(layer):   # assigning the weight sets orthogonal's base buffer anew
    q, _ = np.linalg.qr(np.random.default_rng(4).standard_normal((H, H)))
    with tr.no_grad():
        layer.cells[0].weight_hh = tr.tensor(q)


def _write_u_v(layer):
    sn = layer.cells[0].parametrizations.weight_hh[0]
    rng = np.random.default_rng(5)
    with tr.no_grad():
        sn._u.copy_(tr.tensor(rng.standard_normal(H)))
        sn._v.copy_(tr.tensor(rng.standard_normal(H)))


CASES = {   # cell, setup, the write after the first call
    "mask": (MaskCell, None, lambda layer: _write_mask(layer, "mask")),
    "_mask": (PrivateMaskCell, None, lambda layer: _write_mask(layer, "_mask")),
    "_scale read by the step": (PrivateScaleCell, None, lambda layer: _write_mask(layer, "_scale")),
    "orthogonal's base": (tr.nn.RNNCell, _orthogonal, _new_orthogonal_weight),
    "spectral_norm's u and v (eval)": (tr.nn.RNNCell, _spectral, _write_u_v),
}


def _x():
    return tr.tensor(np.random.default_rng(0).standard_normal((T, B, I)), requires_grad=True)


def _layer(case, fused):
    cell, setup, _ = CASES[case]
    tr.manual_seed(2)
    layer = tr.nn.Recurrent(cell, I, H, dtype=np.float64, fused=fused)
    if setup is not None:
        setup(layer)
    return layer


def _after_a_write(case, fused):
    """The second call's output and gradients, after the case's write (the first call made the kernel)."""
    layer = _layer(case, fused)
    layer(_x())
    CASES[case][2](layer)
    x = _x()
    out, _ = layer(x)
    (out * out).sum().backward()
    return out.detach().numpy(), x.grad.numpy().copy(), {n: p.grad.numpy().copy() for n, p in
                                                         layer.named_parameters()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_buffer_written_after_the_kernel_was_made_is_read_at_the_next_call(case):
    fused, taped = _after_a_write(case, True), _after_a_write(case, False)
    np.testing.assert_allclose(fused[0], taped[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fused[1], taped[1], rtol=1e-12, atol=1e-12)
    assert sorted(fused[2]) == sorted(taped[2])
    for name in taped[2]:
        np.testing.assert_allclose(fused[2][name], taped[2][name], rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", ["mask", "_mask", "spectral_norm's u and v (eval)"])
def test_a_buffer_only_the_prelude_reads_is_an_input_not_a_new_kernel(case):
    layer = _layer(case, True)
    layer(_x())
    kernel = get_kernel(layer.cells[0], np.float64)[0]
    assert kernel.prelude is not None and kernel.prelude.buffers
    CASES[case][2](layer)
    layer(_x())
    assert get_kernel(layer.cells[0], np.float64)[0] is kernel


def _torch_spectral_loop(layer, x, train):
    """torch.nn.RNNCell with torch's spectral_norm on weight_hh, our state_dict loaded (u and v too), stepped over
    x: its outputs, the gradients of (out * out).sum() and its u, v after the call."""
    torch = pytest.importorskip("torch")
    cell = torch.nn.RNNCell(I, H, dtype=torch.float64)
    torch.nn.utils.parametrizations.spectral_norm(cell, "weight_hh")
    cell.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.cells[0].state_dict().items()})
    cell.train(train)
    xt = torch.tensor(x.numpy(), requires_grad=True)
    h, outs = torch.zeros(B, H, dtype=torch.float64), []
    for t in range(T):
        h = cell(xt[t], h)
        outs.append(h)
    out = torch.stack(outs)
    (out * out).sum().backward()
    sn = cell.parametrizations.weight_hh[0]
    grads = {"cells.0." + n: p.grad.numpy() for n, p in cell.named_parameters()}
    return out.detach().numpy(), xt.grad.numpy(), grads, (sn._u.numpy().copy(), sn._v.numpy().copy())


@pytest.mark.parametrize("train", [False, True])
def test_spectral_norm_on_a_cell_against_torch(train):
    """eval: fused; train: fused='auto' runs the tape. Both give torch's outputs, gradients and u, v."""
    results = []
    for fused in ("auto", False):
        tr.manual_seed(2)
        layer = tr.nn.Recurrent(tr.nn.RNNCell, I, H, dtype=np.float64, fused=fused)
        PZ.spectral_norm(layer.cells[0], "weight_hh")
        layer.train(train)
        want = _torch_spectral_loop(layer, _x(), train)
        x = _x()
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            out, _ = layer(x)
        assert bool(said) == (train and fused == "auto")
        assert layer.fused == ("auto" if not train and fused else False)
        (out * out).sum().backward()
        sn = layer.cells[0].parametrizations.weight_hh[0]
        np.testing.assert_allclose(out.detach().numpy(), want[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), want[1], rtol=1e-10, atol=1e-12)
        for name, p in layer.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), want[2][name], rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(sn._u.numpy(), want[3][0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(sn._v.numpy(), want[3][1], rtol=1e-12, atol=1e-14)
        results.append((out.detach().numpy(), sn._u.numpy().copy()))
    if train:   # 'auto' ran the tape from the u and v the traces found: the tape's numbers exactly
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])


def test_spectral_norm_in_train_mode_is_refused_saying_what_and_what_to_do():
    layer = tr.nn.Recurrent(tr.nn.RNNCell, I, H, dtype=np.float64)
    PZ.spectral_norm(layer.cells[0], "weight_hh")
    sn = layer.cells[0].parametrizations.weight_hh[0]
    u, v = sn._u.numpy().copy(), sn._v.numpy().copy()
    with pytest.raises(CompileError, match=r"writes its buffer 'parametrizations\.weight_hh\.0\._u' \(spectral_norm's "
                                           r"power iteration.*eval mode.*fused=False.*fused='auto'"):
        layer(_x())
    np.testing.assert_array_equal(sn._u.numpy(), u)   # the traces left u and v as they were
    np.testing.assert_array_equal(sn._v.numpy(), v)


class _RunningMeanCell(_Base):
    """A forward that writes a buffer of its own off the tape (numpy into ._data): refused by the buffer's name."""
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        super().__init__(input_size, hidden_size, dtype)
        self.register_buffer("seen", tr.tensor(np.zeros(1, dtype)))

    def forward(self, x, h):
        self.seen._data += 1.0
        return self.step(x, h, self.U)


def test_a_forward_that_writes_its_own_buffer_is_refused_and_the_buffer_kept():
    cell = _RunningMeanCell(I, H)
    with pytest.raises(CompileError, match=r"writes its buffer 'seen', so that each step"):
        get_kernel(cell, np.float64)
    assert cell.seen.numpy()[0] == 0.0
