"""blas.gemm's work is one cached cfunc per dtype, bound under a fixed name and called by that name
(blas._GEMM, kernels/shared.py): a generated kernel's time loops no longer carry a copy of it of their own, which Numba
optimised and compiled again in every function calling gemm (a cold compile's cost, issue 12).

Held here: gemm through the bound name is numpy's product at the loop's shapes (a few rows, few
multiply-adds; test_gemm_split.py holds the tiled ones), and a freshly compiled backward loop calls the
bound name instead of defining the loop itself (nor Numba's unused cfunc wrapper: kernels.njit)."""
import os

import numpy as np
import pytest
from conftest import run_cold_on_one_cpu

from tinygrad_rnn.kernels import blas


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 10, 20), (2, 64, 256), (1, 3, 5), (5, 20, 30), (3, 0, 4)])
@pytest.mark.parametrize("beta", [0, 1, 0.5])
def test_gemm_by_name_on_the_loops_small_products(dtype, shape, beta):
    """Row slices of a bigger C (as the time loops pass them): rows outside untouched, beta 0 overwrites NaN."""
    m, k, n = shape
    rng = np.random.default_rng(m * 100 + k + n)
    a = rng.standard_normal((m + 2, k)).astype(dtype)[1:1 + m]
    w = rng.standard_normal((k, n)).astype(dtype)
    C = rng.standard_normal((m + 2, n)).astype(dtype)
    if beta == 0:
        C[1:1 + m] = np.nan
    before = C.copy()
    blas.gemm(a, w, C[1:1 + m], beta)
    rows = np.zeros((m, n)) if beta == 0 else beta * before[1:1 + m].astype(np.float64)
    ref = a.astype(np.float64) @ w.astype(np.float64) + rows
    np.testing.assert_allclose(C[1:1 + m], ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
    np.testing.assert_array_equal(C[[0, m + 1]], before[[0, m + 1]])


# A cold process (fresh kernel cache, one CPU: everything compiled here, so its LLVM IR can be read): a tiny
# RNN's step, then the names of the functions its backward's module defines, and whether it calls gemm by name.
_BACKWARD_IR = r"""
import re, sys, numpy as np, tinygrad_rnn as tr
layer = tr.nn.RNN(3, 4, dtype=np.float32)
out, _ = layer(tr.Tensor(np.ones((2, 1, 3), np.float32)))
out.sum().backward()
module, = [m for name, m in sys.modules.items() if name.startswith("tinygrad_rnn_cell_")]
backward = module.backward
ir, = getattr(backward, "dispatcher", backward).inspect_llvm().values()
print(sorted(re.findall(r"^define .*?@\"?([\w.]+)", ir, re.M)))
print("tinygrad_rnn_gemm_f32" in ir)
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="one CPU is set by the affinity mask")
def test_a_compiled_backward_calls_gemm_by_name_and_defines_no_copy_of_it(tmp_path):
    defined, by_name = run_cold_on_one_cpu(_BACKWARD_IR, tmp_path)[-2:]
    assert by_name == "True"
    assert "small_gemm" not in defined and "gemm_tiles" not in defined, defined
    assert "cfunc." not in defined, defined   # no cfunc wrapper (kernels.njit: no_cfunc_wrapper)
