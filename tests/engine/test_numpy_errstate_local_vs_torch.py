"""inf and nan through the library quietly, as torch computes them, by np.errstate around the library's own numpy
and never by a warnings filter (tape.py): importing the library leaves warnings.filters as they were; a user's
filters (reset, "always", "error") and a user's np.errstate(all="raise") do not reach the library's arithmetic,
forward or backward, nor an optimizer's step (every optimizer torch has, with inf and nan gradients: torch's
parameters, Rprop's included, whose sign is 0 at NaN); the user's own code that the library calls (a custom
Function's backward, a tensor hook, LBFGS's closure) keeps the user's settings, as under torch."""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

X = [np.inf, -np.inf, np.nan, 0.0, 1.0, -2.0]
Y = [np.inf, np.inf, 1.0, np.inf, -np.inf, 0.0]


def _inf_and_nan_arithmetic(lib):
    """Values and gradients of operations that meet inf - inf, 0 * inf and overflow (forward and backward)."""
    x = lib.tensor(np.array(X), requires_grad=True)
    y = lib.tensor(np.array(Y), requires_grad=True)
    outs = [x * y, x + y, x - y, (x + y).sum(), x.reshape(2, 3) @ y.reshape(3, 2), (x * y).prod(), x.exp() * y,
            (x + y).cumsum(0), (x * 1e300) * 1e300]
    total = sum(o.sum() for o in outs)
    total.backward()
    return [o.detach().numpy() for o in outs] + [x.grad.numpy(), y.grad.numpy()]


def _compare(ours, theirs):
    for got, want in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def test_importing_the_library_installs_no_warnings_filter_of_runtime_warnings():
    """(numpy and numba set filters of their own when imported: theirs are not looked at.)"""
    code = ("import warnings, numpy, numba\nbefore = list(warnings.filters)\nimport tinygrad_rnn\n"
            "new = [f for f in warnings.filters if f not in before and issubclass(f[2], RuntimeWarning)]\n"
            "assert new == [], new\n")
    env = {**os.environ, "PYTHONPATH": str(Path(tr.__file__).parent.parent)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]


def test_inf_and_nan_are_quiet_with_every_filter_reset_and_always_shown():
    """warnings.resetwarnings() drops every filter (main's, set at import, with them): nothing the library computes
    warns, and the values and gradients are torch's."""
    theirs = _inf_and_nan_arithmetic(torch)
    with warnings.catch_warnings(record=True) as shown:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        ours = _inf_and_nan_arithmetic(tr)
    assert [str(w.message) for w in shown] == []
    _compare(ours, theirs)


def test_a_users_errstate_raise_does_not_reach_the_librarys_arithmetic():
    """np.errstate(all="raise") around the user's code: numpy's own operations there raise FloatingPointError, the
    library's do not (torch's never do)."""
    theirs = _inf_and_nan_arithmetic(torch)
    with np.errstate(all="raise"):
        ours = _inf_and_nan_arithmetic(tr)
        with pytest.raises(FloatingPointError):
            np.array([np.inf]) - np.array([np.inf])
    _compare(ours, theirs)


def _numpy_in_backward(lib):
    class NumpyInBackward(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            np.array([np.inf]) - np.array([np.inf])   # the user's own numpy, which warns
            return g * 2

    x = lib.ones(3, requires_grad=True)
    NumpyInBackward.apply(x).sum().backward()


def test_a_custom_functions_numpy_warning_made_an_error_raises_as_torchs():
    """The user's backward runs with the user's filters: the RuntimeWarning made an error reaches the caller, as
    torch's (main computed the backward again quietly)."""
    for lib in (torch, tr):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(RuntimeWarning, match="invalid value encountered in subtract"):
                _numpy_in_backward(lib)


def test_a_custom_functions_numpy_warns_as_torchs():
    for lib in (torch, tr):
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("always")
            _numpy_in_backward(lib)
        assert [str(w.message) for w in shown] == ["invalid value encountered in subtract"], lib


def _numpy_in_a_hook(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: np.sqrt(np.array([-1.0])) and None)   # the user's own numpy, in the walk
    (y * lib.tensor([np.inf, 0.0])).sum().backward()


def test_a_hooks_numpy_keeps_the_users_errstate_as_torchs():
    with np.errstate(invalid="raise"):
        raises_as_torch(lambda: _numpy_in_a_hook(torch), lambda: _numpy_in_a_hook(tr))


OPTIMIZERS = {"SGD": {"lr": 0.1, "momentum": 0.9}, "Adam": {}, "AdamW": {}, "Adagrad": {}, "RMSprop": {},
              "NAdam": {}, "RAdam": {}, "Adamax": {}, "Adadelta": {}, "ASGD": {}, "Rprop": {}, "Adafactor": {},
              "Muon": {"lr": 0.1}, "LBFGS": {}}


def _stepped(lib, name, bad, dtype):
    """A parameter after two steps of gradients holding `bad` (inf, -inf or nan) beside finite entries."""
    shape = (3, 3) if name == "Muon" else (4,)
    kind = dtype if lib is tr else getattr(torch, np.dtype(dtype).name)
    p = lib.tensor(np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape).astype(dtype), dtype=kind,
                   requires_grad=True)
    opt = getattr(lib.optim, name)([p], **OPTIMIZERS[name])
    for step in range(2):
        grad = np.full(shape, bad, dtype)
        grad.flat[::2] = 1.0 + step   # (finite entries beside them)
        p.grad = lib.tensor(grad, dtype=kind)
        if name == "LBFGS":
            opt.step(lambda: (p * 0).sum())
        else:
            opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_an_optimizer_step_through_inf_and_nan_gradients_is_torchs_with_warnings_made_errors(name, bad, dtype):
    theirs = _stepped(torch, name, bad, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = _stepped(tr, name, bad, dtype)
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-5 if dtype == np.float32 else 1e-12, equal_nan=True)


def _lbfgs_with_numpy_in_the_closure(lib):
    p = lib.tensor([1.0, 2.0], requires_grad=True)
    opt = lib.optim.LBFGS([p], max_iter=3)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        if p.grad.numpy()[0] < 2.0:   # from the second call on: the user's own numpy, which warns
            np.array([np.inf]) - np.array([np.inf])
        return loss
    opt.step(closure)


def test_lbfgs_runs_its_closure_with_the_callers_numpy_settings_as_torchs():
    with np.errstate(invalid="raise"):
        raises_as_torch(lambda: _lbfgs_with_numpy_in_the_closure(torch),
                        lambda: _lbfgs_with_numpy_in_the_closure(tr))
