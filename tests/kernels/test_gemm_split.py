"""blas.gemm's recurrent product in tiles of C (blas.SPLIT_GEMM), held to numpy's matmul.

The kernels' time loops call gemm on row slices of bigger arrays (S[t, b0:rows], C[b0:rows]); on OpenBLAS's
SkylakeX kernels gemm computes a big product as tiles of C, one BLAS call each. `_gemm_tiles` (the split,
with any tile) is tested here on every machine, whatever OpenBLAS it has, and so is the rule choosing the
tile (`_tile`); gemm itself on the shapes the rule splits. The reference is numpy's product in
float64, and the bound the classic one for a sum of k products: (k + 2) eps (|A| @ |B| + |beta C|).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_rnn.kernels import blas

DTYPES = [np.float32, np.float64]


@pytest.fixture(autouse=True, scope="module")
def _gemm_loaded():
    """The public gemm called once first, in both dtypes: with an empty Numba cache, a process whose first call
    is the private `_gemm_tiles` fails (Numba: "unsupported recursion" while the cache's loading hook binds
    the functions that call it). Users never call `_gemm_tiles`; the kernels reach it through gemm."""
    for dtype in DTYPES:
        blas.gemm(np.ones((3, 2), dtype), np.ones((2, 2), dtype), np.zeros((3, 2), dtype), 0.0)


def _operands(rng, dtype, m, k, n, b0, beta):
    """A and C as the kernels pass them: rows b0..b0+m of a step of bigger (T, B, .) arrays. C holds NaN
    where beta is 0 (BLAS overwrites it) and beyond the slice (which must stay as it was)."""
    S = rng.standard_normal((2, b0 + m + 1, k)).astype(dtype)
    W = rng.standard_normal((k, n)).astype(dtype)
    C = rng.standard_normal((b0 + m + 1, n)).astype(dtype)
    if beta == 0:
        C[b0:b0 + m] = np.nan
    C[b0 + m:] = np.nan
    return S[1, b0:b0 + m], W, C


def _check(a, w, c_before, c_after, beta, b0):
    m, k = a.shape
    a64, w64 = a.astype(np.float64), w.astype(np.float64)
    rows = c_before[b0:b0 + m].astype(np.float64)
    ref = a64 @ w64 + (beta * rows if beta else 0)
    bound = (k + 2) * np.finfo(a.dtype).eps * (np.abs(a64) @ np.abs(w64) + (np.abs(beta * rows) if beta else 0))
    got = c_after[b0:b0 + m]
    assert got.dtype == a.dtype
    assert np.all(np.abs(got - ref) <= bound + np.finfo(a.dtype).tiny), np.max(np.abs(got - ref) - bound)
    np.testing.assert_array_equal(c_after[:b0], c_before[:b0])               # rows outside the slice untouched
    np.testing.assert_array_equal(c_after[b0 + m:], c_before[b0 + m:])


@given(dtype=st.sampled_from(DTYPES), m=st.integers(1, 40), k=st.integers(1, 70), n=st.integers(1, 70),
       data=st.data(), beta=st.sampled_from([0, 1]), b0=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_gemm_tiles_match_matmul(dtype, m, k, n, data, beta, b0, seed):
    """Any tile, remainders of one or two whole rows (the loop) and partial tiles included, on row slices."""
    rows = data.draw(st.integers(1, m), label="rows")
    cols = data.draw(st.sampled_from([n, 1, max(1, n // 2), max(1, n // 3)]), label="cols")
    a, w, C = _operands(np.random.default_rng(seed), dtype, m, k, n, b0, beta)
    before = C.copy()
    blas._gemm_tiles(a, w, C[b0:b0 + m], C.dtype.type(beta), rows, cols)
    _check(a, w, before, C, beta, b0)


def test_tile_rule():
    """Products above SPLIT_GEMM_MACS multiply-adds in tiles of 8 rows and a multiple of 64 columns under it
    (whole rows when they fit); one call when the split is off, when k is too long for 64 columns, or when more
    than 8 rows make a product above SPLIT_GEMM_MAX_MACS (a float64 multiply-add counting as two)."""
    assert blas.SPLIT_GEMM_MACS == 12 * 128 * 512 and blas.SPLIT_GEMM_ROWS == 8
    assert blas.SPLIT_GEMM_MAX_MACS == 32 * 256 * 1024
    assert blas._tile(12, 512, 128, 4, True) == (12, 512)        # small enough for one call
    assert blas._tile(16, 512, 128, 4, True) == (8, 512)         # LSTM H=128, forward (n=512, k=128)
    assert blas._tile(32, 128, 512, 4, True) == (8, 128)         # and backward
    assert blas._tile(16, 1024, 256, 4, True) == (8, 384)        # LSTM H=256
    assert blas._tile(32, 256, 1024, 4, True) == (8, 64)         # its backward, 32 rows: at SPLIT_GEMM_MAX_MACS
    assert blas._tile(32, 256, 1024, 8, True) == (32, 256)       # in float64 above it: one call
    assert blas._tile(64, 256, 1024, 4, True) == (64, 256)       # 64 rows: above it, one call
    assert blas._tile(64, 2048, 512, 4, True) == (64, 2048)      # LSTM H=512, 64 rows
    assert blas._tile(64, 512, 1536, 4, True) == (64, 512)       # GRU H=512's backward
    assert blas._tile(8, 2048, 512, 8, True) == (8, 192)         # 8 rows: tiles however big the weight
    assert blas._tile(6400, 256, 1536, 4, True) == (6400, 256)   # a whole sequence's input gradient
    assert blas._tile(8, 512, 2048, 4, True) == (8, 512)         # k > 1536
    assert blas._tile(16, 512, 128, 4, False) == (16, 512)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(16, 128, 512), (13, 512, 128), (33, 256, 256), (9, 256, 1000), (9, 1024, 100)])
@pytest.mark.parametrize("beta", [0, 1])
def test_gemm_on_recurrent_shapes(dtype, shape, beta):
    """gemm itself where the rule splits (on SkylakeX kernels) or not (elsewhere): numpy's result."""
    m, k, n = shape
    a, w, C = _operands(np.random.default_rng(m * k + n), dtype, m, k, n, 2, beta)
    before = C.copy()
    blas.gemm(a, w, C[2:2 + m], beta)
    _check(a, w, before, C, beta, 2)
