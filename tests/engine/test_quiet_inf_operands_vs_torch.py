"""Operations whose operands already hold inf or nan (inf - inf, 0 * inf, a sum of both infinities, a product or a
running sum through them, a backward that multiplies a zero gradient by inf), held against torch 2.13, which
computes them quietly: ours gives torch's values and gradients without numpy's RuntimeWarning, both when warnings
are errors (`warnings.simplefilter("error")`, pytest -W error) and when every warning is shown: the library's numpy
runs under np.errstate (tape.py; no warnings filter: tests/engine/test_numpy_errstate_local_vs_torch.py). User
code's numpy keeps its warnings."""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

X = [np.inf, -np.inf, np.nan, 0.0, 1.0, -2.0]
Y = [np.inf, np.inf, 1.0, np.inf, -np.inf, 0.0]


def _functional(lib):
    return torch.nn.functional if lib is torch else tr.nn.functional


CASES = {
    "x * y": lambda m, x, y: x * y,
    "x + y": lambda m, x, y: x + y,
    "x - y": lambda m, x, y: x - y,
    "x / y": lambda m, x, y: x / y,
    "x * inf": lambda m, x, y: x * np.inf,
    "x * 0": lambda m, x, y: x * 0.0,
    "sum": lambda m, x, y: (x + y).sum(),
    "mean": lambda m, x, y: (x * y).mean(),
    "matmul": lambda m, x, y: x.reshape(2, 3) @ y.reshape(3, 2),
    "linear": lambda m, x, y: _functional(m).linear(x.reshape(2, 3), y.reshape(2, 3)),
    "sigmoid * y": lambda m, x, y: x.sigmoid() * y,
    "tanh + y": lambda m, x, y: x.tanh() + y,
    "exp * y": lambda m, x, y: x.exp() * y,
    "softmax": lambda m, x, y: _functional(m).softmax((x + y).reshape(2, 3), dim=1),
    "log_softmax": lambda m, x, y: _functional(m).log_softmax((x * y).reshape(2, 3), dim=1),
    "logsumexp": lambda m, x, y: (x + y).reshape(2, 3).logsumexp(1),
    "cumsum": lambda m, x, y: (x + y).cumsum(0),
    "prod": lambda m, x, y: (x * y).prod(),
    "std": lambda m, x, y: x.std(),
    "var": lambda m, x, y: (x + y).var(),
    "mse_loss": lambda m, x, y: _functional(m).mse_loss(x, y),
    "l1_loss": lambda m, x, y: _functional(m).l1_loss(x, y),
    "huber_loss": lambda m, x, y: _functional(m).huber_loss(x, y),
    "smooth_l1_loss": lambda m, x, y: _functional(m).smooth_l1_loss(x, y, beta=0.5),
    "layer_norm": lambda m, x, y: _functional(m).layer_norm(x.reshape(2, 3), (3,)),
    "silu": lambda m, x, y: _functional(m).silu(x + y),
    "cat": lambda m, x, y: (m.cat([x, y]) * 2).sum(),
    "x + 1, summed": lambda m, x, y: (x + 1.0).sum() + (y - 1.0).sum(),
    "x * scalar tensor": lambda m, x, y: x * y.sum(),
}


def _run(lib, case, dtype, swapped):
    xs, ys = (Y, X) if swapped else (X, Y)
    kind = dtype if lib is tr else getattr(torch, np.dtype(dtype).name)
    x = lib.tensor(np.array(xs, dtype), dtype=kind, requires_grad=True)
    y = lib.tensor(np.array(ys, dtype), dtype=kind, requires_grad=True)
    out = CASES[case](lib, x, y)
    out.backward(lib.ones(out.shape, dtype=kind))
    return [None if t is None else t.detach().numpy() for t in (out, x.grad, y.grad)]


def _compare(ours, theirs, dtype):
    for got, want in zip(ours, theirs):
        if want is None:
            assert got is None
            continue
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == np.float32 else 1e-12, equal_nan=True)


@pytest.mark.parametrize("swapped", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_inf_and_nan_operands_are_torchs_with_warnings_made_errors(case, dtype, swapped):
    theirs = _run(torch, case, dtype, swapped)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = _run(tr, case, dtype, swapped)
    _compare(ours, theirs, dtype)


def test_inf_and_nan_operands_warn_nothing_with_the_filters_as_imported():
    """A fresh process showing every warning (python -W always): the library's operations warn nothing (they run
    under np.errstate); numpy called from the user's own code warns as before."""
    code = ("import sys, numpy as np, tinygrad_rnn as tr\ninf, nan = np.inf, np.nan\n"
            f"x = tr.tensor({X!r}, requires_grad=True); y = tr.tensor({Y!r}, requires_grad=True)\n"
            "F = tr.nn.functional\n"
            "outs = [x * y, x + y, x - y, x / y, (x + y).sum(), x.reshape(2, 3) @ y.reshape(3, 2), (x * y).prod(),\n"
            "        (x + y).cumsum(0), F.log_softmax((x * y).reshape(2, 3), dim=1), (x + y).var(), F.mse_loss(x, y)]\n"
            "sum(o.sum() for o in outs).backward()\n"
            "print('library done', file=sys.stderr)\n"
            "np.array([np.inf]) - np.array([np.inf])\n")
    env = {**os.environ, "PYTHONPATH": str(Path(tr.__file__).parent.parent)}
    run = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    library, user = run.stderr.split("library done")
    assert "Warning" not in library, library[-2000:]
    assert "RuntimeWarning: invalid value encountered in subtract" in user


def test_a_users_own_runtime_warning_inside_a_function_is_not_swallowed():
    """A custom Function's forward that warns a RuntimeWarning of its own, made an error, raises it (the user's
    code runs with the user's filters and numpy settings)."""
    class Loud(tr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            warnings.warn("my own", RuntimeWarning, stacklevel=1)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = tr.ones(3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="my own"):
            Loud.apply(x)
