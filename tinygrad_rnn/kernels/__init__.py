"""Numba kernels: whole-sequence fused RNN/GRU/LSTM forward and BPTT (fused_rnn.py), on numpy's BLAS (blas.py).

They are plain array functions; they import numpy, numba and llvmlite only, never the rest of tinygrad_rnn.
"""
