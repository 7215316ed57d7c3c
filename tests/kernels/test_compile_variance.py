"""var() and std() over the feature axis inside a cell compile (compile/trace.py records var's mean as
operations, tensor._traced_centred) and the generated kernels equal the generic tape: outputs, final
states and every gradient, float64 and float32, keepdim both ways, correction 0 and 1 (also spelled
unbiased=), std, and a layer-norm and an RMS-norm cell written with var. The tape's var is left as it was
(its mean a numpy constant): the tests compare against it, so a change there would show."""
import numpy as np
import pytest
from test_compile import H, assert_same  # pytest puts this folder on sys.path

import tinygrad_rnn as tr
from tinygrad_rnn.compile import CompileError, compile_cell
from tinygrad_rnn.nn.cells import RecurrentCell
from tinygrad_rnn.nn.module import uniform

pytest.importorskip("numba")


class VarianceCell(RecurrentCell):
    """h' = tanh(z / sqrt(spread(z) + 1)) with spread var or std over the features of z = x W + h U."""

    def __init__(self, input_size, hidden_size, dtype=np.float64, keepdim=True, correction=1, std=False,
                 legacy=False):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)
        self.keepdim, self.correction, self.std, self.legacy = keepdim, correction, std, legacy

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        spread = z.std if self.std else z.var
        if self.legacy:   # torch's older keyword: unbiased=True is correction=1
            v = spread(dim=-1, unbiased=bool(self.correction), keepdim=self.keepdim)
        else:
            v = spread(dim=-1, keepdim=self.keepdim, correction=self.correction)
        if not self.keepdim:
            v = v.unsqueeze(-1)
        return (z / (v + 1.0).sqrt()).tanh()


def _layer(cell, dtype, **settings):
    tr.manual_seed(3)
    return tr.nn.Recurrent(cell, 2 * H, H, bidirectional=True, dtype=dtype, **settings)


def _data(dtype):
    return np.random.default_rng(5).standard_normal((5, 3, 2 * H)).astype(dtype)


VARIANCE_CASES = ([(np.float64, kd, c, False, False) for kd in (True, False) for c in (0, 1)]
                  + [(np.float32, True, 0, False, False), (np.float32, False, 1, False, True),
                     (np.float64, False, 1, True, True), (np.float32, True, 0, True, False)])


@pytest.mark.parametrize("dtype, keepdim, correction, std, legacy", VARIANCE_CASES)
def test_var_and_std_compile_and_equal_the_tape(dtype, keepdim, correction, std, legacy):
    layer = _layer(VarianceCell, dtype, keepdim=keepdim, correction=correction, std=std, legacy=legacy)
    compile_cell(layer.cells[0])   # compiles (raises otherwise), then equals the tape
    assert_same(layer, _data(dtype), np.array([5, 2, 4]), dtype)


class VarLayerNormCell(RecurrentCell):
    """An RNN cell normalising its pre-activation with var, as torch's LayerNorm (biased variance)."""

    def __init__(self, input_size, hidden_size, dtype=np.float64):
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = uniform((hidden_size, input_size), 0.5, dtype)
        self.weight_hh = uniform((hidden_size, hidden_size), 0.5, dtype)
        self.gain = uniform((hidden_size,), 1.0, dtype)
        self.shift = uniform((hidden_size,), 0.5, dtype)

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        mu = z.mean(-1, keepdim=True)
        normed = (z - mu) / (z.var(-1, keepdim=True, unbiased=False) + 1e-5).sqrt()
        return (normed * self.gain + self.shift).tanh()


class VarRMSNormCell(VarLayerNormCell):
    """RMS norm, mean(z^2) written as var(z) + mean(z)^2 (both biased)."""

    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        mean_square = z.var(-1, correction=0) + z.mean(-1) ** 2   # (batch,) values
        return (z / (mean_square + 1e-6).sqrt().unsqueeze(-1) * self.gain).tanh()


@pytest.mark.parametrize("cell", [VarLayerNormCell, VarRMSNormCell], ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_norm_cells_written_with_var_equal_the_tape(cell, dtype):
    layer = _layer(cell, dtype)
    assert_same(layer, _data(dtype), np.array([5, 2, 4]), dtype)
    assert_same(layer, _data(dtype), None, dtype)


def test_the_tape_var_is_unchanged_by_a_trace():
    """Equal values: the tape's var is exactly 0 (numpy's mean), before and after a cell is traced."""
    x = tr.Tensor(np.full((2, 5), 0.1), requires_grad=True)
    assert np.all(x.var(-1)._data == 0)
    compile_cell(VarianceCell(3, 4))
    v = x.var(-1, correction=0)
    assert np.all(v._data == 0)
    v.sum().backward()
    assert (x.grad == 0).all()


class RowsBesideFeaturesCell(VarianceCell):
    def forward(self, x, h):
        z = x @ self.weight_ih.T + h @ self.weight_hh.T
        return z * z.var(-1)   # (batch,) times (batch, n): numpy pairs it with the features


def test_a_batch_value_beside_features_is_refused_naming_the_line():
    with pytest.raises(CompileError, match=r"a \(batch,\) value.*test_compile_variance\.py:\d+ in forward"):
        compile_cell(RowsBesideFeaturesCell(3, 3))


class StdOfStateCell(VarianceCell):
    def forward(self, x, h):
        # equal features that depend on a parameter: std 0, whose gradient is 0 (primitives.Root), not
        # 0.5 / 0 (inf, and inf * 0 = NaN in weight_ih's gradient)
        z = x @ self.weight_ih.T
        level = (z * 0.0 + 1.0).std(-1, keepdim=True)
        return (z + level).tanh() + (h @ self.weight_hh.T) * 0.1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_std_of_equal_features_has_the_tapes_zero_gradient(dtype):
    layer = _layer(StdOfStateCell, dtype)
    assert_same(layer, _data(dtype), None, dtype)


def test_root_rule_at_zero_matches_the_primitive():
    from tinygrad_rnn import primitives as P
    from tinygrad_rnn.compile.rules import RULES, numpy_namespace, substitute
    a = np.array([0.0, 0.0, 0.25, 2.0, 1e-300])
    g = np.array([1.0, np.nan, -2.0, 0.5, 1.0])
    for p in (0.5, 1.0 / 3.0, 2.0):
        out, saved = P.Root.forward(a, p)
        (ref,) = P.Root.backward(g, saved, (True,), p)
        assert ref[0] == 0 and ref[1] == 0   # 0, even for a NaN cotangent: as torch's std and norm
        env = dict(numpy_namespace(np.float64), a=a, g=g, p=p, out=out)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.testing.assert_array_equal(eval(substitute(RULES[P.Root].forward, {}), env), out)
            np.testing.assert_array_equal(eval(substitute(RULES[P.Root].vjps[0], {}), env), ref)
