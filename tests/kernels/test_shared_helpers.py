"""The helpers a generated kernel calls by name (kernels/shared.py): each is one cached cfunc per dtype, and
a caller holds a call to its name instead of a compiled copy of its own (issue 12: the copies were most of
a cell's `project` and `grads` cold compile).

Held here: each helper against numpy (time-step blocks as the generated code passes them, row slices,
beta 0 over NaN, empty products); a freshly compiled project and grads call the names and define no copy;
a cached caller calls the helper as it is now, not as it was when the caller was compiled (the helper's
file edited between two processes)."""
import os
import shutil
import subprocess
import sys

import numba
import numpy as np
import pytest
from conftest import run_cold_on_one_cpu

import tinygrad_rnn as tr
from tinygrad_rnn.compile import scalar

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tr.__file__)))


@numba.njit
def _nt(a_, w, c, beta, a, b):
    scalar.product_nt(a_, w, c, beta, a, b)


@numba.njit
def _nn(a_, w, c, beta, a, b):
    scalar.product_nn(a_, w, c, beta, a, b)


@numba.njit
def _tn(a_, b_, c, beta, a, b):
    scalar.product_tn(a_, b_, c, beta, a, b)


def _rows(block, a, b):
    return block[a:b].reshape((b - a) * block.shape[1], block.shape[2]).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("T,B,k,n,a,b", [(5, 3, 4, 6, 1, 4), (4, 2, 0, 3, 0, 4), (3, 1, 70, 130, 0, 3),
                                         (4, 2, 3, 5, 2, 2)])
@pytest.mark.parametrize("beta", [0, 1, 0.5])
def test_products_over_time_steps_equal_numpy(dtype, T, B, k, n, a, b, beta):
    """product_nt / _nn: steps [a, b) of a (T, B, k) block times a weight into steps [a, b) of a (T, B, n) block
    (other steps untouched); product_tn: two blocks' steps into a matrix. beta 0 overwrites NaN."""
    rng = np.random.default_rng(T * 1000 + k * 10 + n)
    x = rng.standard_normal((T, B, k)).astype(dtype)
    w_t, w = rng.standard_normal((n, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for call, weight, ref_w in ((_nt, w_t, w_t.T), (_nn, w, w)):
        out = rng.standard_normal((T, B, n)).astype(dtype)
        if beta == 0:
            out[a:b] = np.nan
        before = out.copy()
        call(x, weight, out, beta, a, b)
        keep = np.zeros_like(_rows(before, a, b)) if beta == 0 else beta * _rows(before, a, b)
        np.testing.assert_allclose(_rows(out, a, b), _rows(x, a, b) @ ref_w.astype(np.float64) + keep, **tol)
        np.testing.assert_array_equal(out[:a], before[:a])
        np.testing.assert_array_equal(out[b:], before[b:])
    y = rng.standard_normal((T, B, n)).astype(dtype)
    g = rng.standard_normal((k, n)).astype(dtype)
    if beta == 0:
        g[:] = np.nan
    before = g.copy()
    _tn(x, y, g, beta, a, b)
    keep = np.zeros_like(before, np.float64) if beta == 0 else beta * before.astype(np.float64)
    np.testing.assert_allclose(g, _rows(x, a, b).T @ _rows(y, a, b) + keep, **tol)


@numba.njit
def _row_helpers(dv, off, out, span_dst, span_src, xw, bias, a, b, z, b0, b1, flat):
    scalar.add_columns(dv, off, out)
    scalar.add_span(span_dst, 2, span_src, 1, 3)
    scalar.add_row_steps(xw, bias, a, b)
    scalar.zero_rows(z, b0, b1)
    scalar.zero_flat(flat)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_row_helpers_equal_numpy(dtype):
    rng = np.random.default_rng(3)
    dv, out = rng.standard_normal((4, 9)).astype(dtype), rng.standard_normal(5).astype(dtype)
    dst, src = rng.standard_normal(7).astype(dtype), rng.standard_normal(6).astype(dtype)
    xw, bias = rng.standard_normal((5, 2, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)
    z, flat = rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal(4).astype(dtype)
    want_out = out + dv[:, 3:8].sum(axis=0)
    want_dst = dst.copy()
    want_dst[2:5] += src[1:4]
    want_xw = xw.copy()
    want_xw[1:4] += bias
    want_z = z.copy()
    want_z[1:3] = 0
    _row_helpers(dv, 3, out, dst, src, xw, bias, 1, 4, z, 1, 3, flat)
    for got, want in ((out, want_out), (dst, want_dst), (xw, want_xw), (z, want_z), (flat, np.zeros(4))):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-14)


# A cold process (fresh kernel cache, one CPU: everything compiled here, so its LLVM IR can be read): a tiny
# LSTM's step (folded biases in project, column sums in grads), then per function the names its module
# defines and the shared names it calls.
_OUTSIDE_IR = r"""
import re, sys, numpy as np, tinygrad_rnn as tr
layer = tr.nn.LSTM(3, 4, dtype=np.float32)
x = tr.Tensor(np.ones((2, 1, 3), np.float32), requires_grad=True)
out, _ = layer(x)
out.sum().backward()
module, = [m for name, m in sys.modules.items() if name.startswith("tinygrad_rnn_cell_")]
for name in ("project", "grads", "backward"):
    fn = getattr(module, name)
    ir, = getattr(fn, "dispatcher", fn).inspect_llvm().values()
    defined = re.findall(r"^define .*?@\"?([\w.$]+)", ir, re.M)
    called = sorted(set(re.findall(r"@(tinygrad_rnn_\w+_f32)\b", ir)))
    print(name, ",".join(defined), ",".join(called))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="one CPU is set by the affinity mask")
def test_project_and_grads_call_the_shared_helpers_and_define_no_copy_of_them(tmp_path):
    report = {line.split(" ")[0]: line.split(" ")[1:] for line in run_cold_on_one_cpu(_OUTSIDE_IR, tmp_path)[-3:]}
    copies = ("gemm", "product", "scale", "add_", "zero_", "add_row", "zeros_row")
    for name, (defined, _) in report.items():
        # none of the helpers' bodies (grads still defines time_rows, the column sums' view of its rows)
        helpers = [d for d in defined.split(",") if name not in d and any(c in d for c in copies)]
        assert helpers == [], (name, helpers)
    assert [d for d in report["project"][0].split(",") if "project" not in d and not d.startswith("NRT_")] == []
    assert report["project"][1].split(",") == ["tinygrad_rnn_add_row_f32", "tinygrad_rnn_add_span_f32",
                                               "tinygrad_rnn_product_f32"]
    assert "tinygrad_rnn_product_f32" in report["grads"][1].split(",")
    assert "tinygrad_rnn_zero_rows_f32" in report["backward"][1].split(",")


# A cached caller of add_columns (the package's njit, as generated code: its cache binds the names before
# it loads any code): prints its result and whether it came from the cache.
_CALLER = r"""
import numpy as np
from tinygrad_rnn.compile import scalar
from tinygrad_rnn.kernels import njit

@njit()
def caller(a2, out):
    scalar.add_columns(a2, 1, out)

out = np.zeros(2)
caller(np.arange(6.0).reshape(2, 3), out)
print(out.tolist(), sum(caller.stats.cache_hits.values()))
"""


def test_a_cached_caller_calls_the_helper_as_it_is_now(tmp_path):
    """The caller's cached machine code holds the helper's name, not its code: after an edit of the helper
    (here: add_columns adds twice), a second process loads the caller from the cache and gets the edited
    helper (its own cache entry went stale with its file, Numba's rule)."""
    site = tmp_path / "site"
    shutil.copytree(os.path.join(ROOT, "tinygrad_rnn"), site / "tinygrad_rnn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (site / "caller.py").write_text(_CALLER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(site), NUMBA_CACHE_DIR=str(tmp_path / "numba"))

    def run():
        proc = subprocess.run([sys.executable, "caller.py"], env=env, cwd=site, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout.strip().splitlines()[-1]

    assert run() == "[5.0, 7.0] 0"   # columns 1 and 2 of [[0, 1, 2], [3, 4, 5]] summed; compiled
    path = site / "tinygrad_rnn" / "compile" / "scalar.py"
    source = path.read_text()
    assert source.count("out[j] += a2[r, off + j]") == 1
    path.write_text(source.replace("out[j] += a2[r, off + j]", "out[j] += 2 * a2[r, off + j]"))
    assert run() == "[10.0, 14.0] 1"   # the caller from the cache, the helper as edited
