"""torch 2.13's activations that nn/functional.py composes of Tensor operations (hardtanh, relu6, hardsigmoid,
hardswish, selu, celu, mish, softsign, softshrink, hardshrink, tanhshrink, threshold, logsigmoid, prelu, rrelu in eval
mode, glu, and leaky_relu, elu and softplus, whose masks are Tensor comparisons), used in user cells: the fused layer
compiles each and equals the generic tape, values and gradients, with inputs placed on the kinks."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile import compile_cell
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import uniform

F = tr.nn.functional
pytest.importorskip("numba")

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-5)}

# the activations applied to the pre-activation z, scaled so that z reaches their kinks and flat parts
ACTIVATIONS = (
    lambda z: F.hardtanh(z, -0.5, 0.75), lambda z: F.relu6(z * 8), lambda z: F.hardsigmoid(z * 4),
    lambda z: F.hardswish(z * 4), F.selu, lambda z: F.celu(z, 0.7), lambda z: F.mish(z * 30),   # beyond 20 too
    F.softsign, lambda z: F.softshrink(z, 0.25), lambda z: F.hardshrink(z, 0.25), F.tanhshrink,
    lambda z: F.threshold(z, 0.25, -0.5), F.logsigmoid, F.rrelu, lambda z: F.leaky_relu(z, 0.2),
    lambda z: F.elu(z, 0.8), lambda z: F.softplus(z, 2.0, 1.0),
    lambda z: tr.nn.Hardswish()(tr.nn.Softshrink(0.1)(z)) + tr.nn.ReLU6()(z) + tr.nn.CELU()(z),
)


class ActivationCell(RecurrentCell):
    """h' = 0.5 h + sum_k c_k activation_k(x W^T + h U^T), every activation above with its own weight c_k."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        total = h * 0.5
        for k, activation in enumerate(ACTIVATIONS):
            total = total + activation(z) * (0.05 + 0.01 * k)
        return total


class PReLUCell(RecurrentCell):
    """A learned slope per hidden unit (nn.PReLU's weight, a parameter of the cell) and GLU over doubled features."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((2 * hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)
        self.act = tr.nn.PReLU(hidden_size, dtype=dtype)
        self.act.weight._data[:] = np.linspace(-0.3, 0.6, hidden_size)

    def forward(self, x, h):
        gated = F.glu(x @ self.weight_ih.T, -1)
        return h * 0.5 + self.act(gated + h @ self.weight_hh.T)


def _tape_and_compiled(layer, xd, dtype):
    results = []
    for fused in (False, True):
        layer.fused = fused
        layer.zero_grad()
        x = tr.Tensor(xd, requires_grad=True)
        out, h_n = layer(x)
        (out * np.linspace(-1, 1, out._data.size).reshape(out.shape).astype(dtype)).sum().backward()
        results.append([out._data, h_n._data, x.grad] + [p.grad for p in layer.parameters()])
    return results


def _inputs(dtype):
    xd = np.random.default_rng(4).standard_normal((6, 3, 3)).astype(dtype)
    xd[0] = 0.0   # h0 = 0 and x = 0: z is exactly 0 at the first step (relu6's, softsign's, logsigmoid's kink)
    return xd


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_activations_compile_in_a_cell_and_equal_the_tape(dtype):
    tr.manual_seed(0)
    compile_cell(ActivationCell(3, 4, dtype))   # no CompileError: every operation has a kernel
    layer = tr.nn.Recurrent(ActivationCell, 3, 4, dtype=dtype)
    tape, compiled = _tape_and_compiled(layer, _inputs(dtype), dtype)
    for got, want in zip(compiled, tape):
        np.testing.assert_allclose(got, want, **TOL[dtype])


def test_prelu_and_glu_compile_in_a_cell_and_equal_the_tape():
    dtype = np.float64
    tr.manual_seed(1)
    compile_cell(PReLUCell(3, 4, dtype))
    layer = tr.nn.Recurrent(PReLUCell, 3, 4, dtype=dtype)
    tape, compiled = _tape_and_compiled(layer, _inputs(dtype), dtype)
    for got, want in zip(compiled, tape):
        np.testing.assert_allclose(got, want, **TOL[dtype])


def test_the_kinks_are_hit_where_the_rules_differ():
    """Inputs exactly on a kink reach the compiled kernel: hardtanh's bound, threshold's threshold, softshrink's
    lambd, with torch's zero gradient there, compiled as on the tape."""
    class KinkCell(RecurrentCell):
        def __init__(self, input_size, hidden_size, dtype=np.float64):
            self.input_size, self.hidden_size = input_size, hidden_size
            self.scale = tr.nn.Parameter(np.ones(hidden_size, dtype))

        def forward(self, x, h):
            z = x * self.scale
            return h * 0.5 + F.hardtanh(z, -0.5, 0.75) + F.threshold(z, 0.25, -1.0) + F.softshrink(z, 0.25) \
                + F.hardshrink(z, 0.25) + F.relu6(z * 8) + F.hardsigmoid(z * 6) + F.hardswish(z * 6)

    dtype = np.float64
    layer = tr.nn.Recurrent(KinkCell, 4, 4, dtype=dtype)
    xd = np.tile(np.array([-0.5, 0.75, 0.25, -0.25], dtype), (5, 2, 1))   # the kinks (relu6 at 6, hardswish at +-3 ...)
    xd[:, 1] = [0.0, -0.5, 0.5, 0.125]
    tape, compiled = _tape_and_compiled(layer, xd, dtype)
    for got, want in zip(compiled, tape):
        np.testing.assert_allclose(got, want, **TOL[dtype])
    assert np.all(np.isfinite(tape[-1]))
