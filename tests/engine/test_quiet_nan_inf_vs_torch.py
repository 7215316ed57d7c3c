"""Outside an operation's domain torch gives nan or inf quietly (log of a negative or of 0, 0/0, x/0, sqrt of a
negative, 0 ** -1, exp's overflow, x % 0.0, x // 0.0): ours gives the same values and gradients without numpy's
RuntimeWarnings (main warned from the primitives). Every warning is an error here, as under `python -W error`.

Operands that already hold inf or nan (0 * inf, inf - inf): tests/engine/test_quiet_inf_operands_vs_torch.py."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

DTYPES = {np.float32: torch.float32, np.float64: torch.float64}
EDGES = [-2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 800.0]

# name: (f(module, x, y), values of x, values of y)
CASES = {
    "log": (lambda m, x, y: x.log(), EDGES, None),
    "log2": (lambda m, x, y: x.log2(), EDGES, None),
    "log10": (lambda m, x, y: x.log10(), EDGES, None),
    "tr.log": (lambda m, x, y: m.log(x), EDGES, None),
    "sqrt": (lambda m, x, y: x.sqrt(), EDGES, None),
    "rsqrt": (lambda m, x, y: x.rsqrt(), EDGES, None),
    "reciprocal": (lambda m, x, y: x.reciprocal(), EDGES, None),
    "pow -1": (lambda m, x, y: x ** -1.0, EDGES, None),
    "pow 1.5": (lambda m, x, y: x ** 1.5, EDGES, None),
    "pow -2.5": (lambda m, x, y: x ** -2.5, EDGES, None),
    "pow tensor": (lambda m, x, y: x ** y, [-8.0, 0.0, 0.0, 2.0, -1.0, 0.0, 4.0],
                   [1 / 3, -1.0, 0.0, 0.5, 0.5, 2.0, -0.5]),
    "exp": (lambda m, x, y: x.exp(), EDGES, None),
    "expm1": (lambda m, x, y: x.expm1(), EDGES, None),
    "div": (lambda m, x, y: x / y, [0.0, -0.0, 1.0, -1.0, 0.0, 2.0, 3.0], [0.0, 0.0, 0.0, -0.0, 1.0, 0.0, 2.0]),
    "div number": (lambda m, x, y: x / 0.0, EDGES, None),
    "rdiv number": (lambda m, x, y: 1.0 / x, EDGES, None),
    "remainder": (lambda m, x, y: x.remainder(0.0), EDGES, None),
    "floor_divide": (lambda m, x, y: x // 0.0, EDGES, None),
}
NO_GRADIENT = {"floor_divide"}   # (torch has no derivative either)


def run(module, case, dtype, grad):
    f, xs, ys = CASES[case]
    make = tr.tensor if module is tr else torch.tensor
    kind = dtype if module is tr else DTYPES[dtype]
    x = make(np.array(xs, dtype=dtype), dtype=kind, requires_grad=grad)
    y = None if ys is None else make(np.array(ys, dtype=dtype), dtype=kind, requires_grad=grad)
    out = f(module, x, y)
    grads = []
    if grad:
        out.backward(make(np.linspace(0.5, 1.5, len(xs)).astype(dtype), dtype=kind))
        grads = [x.grad] + ([] if y is None else [y.grad])
    return [out] + grads


def as_array(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t.data)


@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("case", list(CASES))
def test_values_and_gradients_outside_the_domain_are_torchs_without_a_warning(case, dtype, grad):
    if grad and case in NO_GRADIENT:
        pytest.skip("no derivative in torch either")
    theirs = run(torch, case, dtype, grad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = run(tr, case, dtype, grad)
    assert len(ours) == len(theirs)
    for got, want in zip(ours, theirs):
        got, want = as_array(got), as_array(want)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == np.float32 else 1e-13, equal_nan=True)
        np.testing.assert_array_equal(np.signbit(got[np.isinf(got)]), np.signbit(want[np.isinf(want)]))


def test_var_with_no_degrees_of_freedom_warns_torchs_userwarning():
    """torch is not quiet there: its UserWarning, and nan; main warned numpy's RuntimeWarning instead."""
    for module in (torch, tr):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = module.ones(1, dtype=module.float64).var()
        assert np.isnan(float(value))
        assert [w.category for w in caught] == [UserWarning]
        assert "degrees of freedom is <= 0" in str(caught[0].message)
