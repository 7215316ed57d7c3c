"""tinygrad_rnn: an autograd mini-framework for recurrent neural networks on the CPU.

The engine (read it in this order): primitives.py (each operation's forward and backward),
tensor.py (Tensor, the tape, the backward walk), gradcheck.py. Everything in nn/ and optim.py is
built on it; the Numba kernels in kernels/ are fast twins of compositions the tape can also run,
and compile/ generates such twins for a user's own cell. viz.py draws the tape.
"""
from .tensor import (Tensor, tensor, zeros, ones, zeros_like, no_grad, is_grad_enabled, where, concatenate, cat,
                     stack, split, chunk, exp, log, tanh, sigmoid, relu, softmax, log_softmax, clip, apply, Node)
from .gradcheck import gradcheck, GradcheckError
from .random import manual_seed
from .checkpoint import save, load, CheckpointError
from .anomaly import detect_anomaly, is_anomaly_enabled, AnomalyError
from .tensor import InplaceModificationError
from . import nn, optim, viz
from . import distributed
from .compile import compile_cell, CompileError
from .kernels.blas import set_num_threads, num_threads as get_num_threads

__version__ = "0.1.0"
