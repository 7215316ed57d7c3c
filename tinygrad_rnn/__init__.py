"""tinygrad_rnn: an autograd mini-framework for recurrent neural networks on the CPU.

The engine (read it in this order): primitives.py (each operation's forward and backward), tape.py
(recording operations and the backward walk), tensor.py (Tensor), gradcheck.py. Everything in nn/ and optim.py is
built on it; the Numba kernels in kernels/ are fast twins of compositions the tape can also run,
and compile/ generates such twins for a user's own cell. viz.py draws the tape.
docs/torch_api.md maps torch's Tensor API onto this one.
"""
import math as _math

import numpy as _np

from . import autograd, distributed, distributions, linalg, nn, optim, special, utils, viz
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .compile import CompileError, compile_cell
from .creation import (
    arange,
    as_tensor,
    bernoulli,
    from_numpy,
    full,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .dtype_info import finfo, iinfo
from .gradcheck import GradcheckError, gradcheck
from .kernels.blas import num_threads as get_num_threads
from .kernels.blas import set_num_threads
from .linalg_householder import geqrf, orgqr, ormqr
from .linalg_lowrank import pca_lowrank, svd_lowrank
from .linalg_old_spellings import chain_matmul, cholesky, eig, lstsq, matrix_rank, qr, solve, svd, symeig
from .matrix_functions import matrix_exp
from .nn.functional import cosine_similarity, pairwise_distance, pdist
from .nn.functional_losses import cdist
from .products import addbmm, addmm, addmv, addr, baddbmm, cross, kron, tensordot
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .recompute import checkpoint
from .serialization import CheckpointError, load, save
from .size import Size
from .tape import (
    InplaceModificationError,
    Node,
    apply,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .tensor import (
    Tensor,
    abs,
    addcdiv,
    addcmul,
    allclose,
    argsort,
    as_strided,
    bmm,
    cat,
    ceil,
    chunk,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    concatenate,
    cos,
    cumsum,
    diagonal,
    digamma,
    div,
    divide,
    equal,
    erf,
    erfc,
    erfinv,
    exp,
    exp2,
    expm1,
    fix,
    floor,
    fmod,
    frac,
    gather,
    get_default_dtype,
    hypot,
    i0,
    index_select,
    is_floating_point,
    isclose,
    isfinite,
    isinf,
    isnan,
    lerp,
    lgamma,
    log,
    log1p,
    log2,
    log10,
    log_softmax,
    logit,
    matmul,
    maximum,
    minimum,
    mm,
    moveaxis,
    movedim,
    multinomial,
    nan_to_num,
    narrow,
    numel,
    polygamma,
    ravel,
    reciprocal,
    relu,
    repeat_interleave,
    roll,
    round,
    scatter,
    scatter_add,
    select,
    set_default_dtype,
    sgn,
    sigmoid,
    sign,
    signbit,
    sin,
    softmax,
    sort,
    split,
    sqrt,
    stack,
    take_along_dim,
    tanh,
    tile,
    topk,
    trunc,
    unbind,
    where,
    xlogy,
)
from .tensor_args import device
from .tensor_functions import (
    acos,
    amax,
    amin,
    argmax,
    argmin,
    asin,
    atan,
    atan2,
    broadcast_tensors,
    broadcast_to,
    bucketize,
    cosh,
    count_nonzero,
    cummax,
    cummin,
    cumprod,
    det,
    diag,
    diff,
    dot,
    einsum,
    empty,
    empty_like,
    eye,
    flatten,
    flip,
    full_like,
    hstack,
    index_add,
    index_copy,
    index_fill,
    inverse,
    linspace,
    logaddexp,
    logcumsumexp,
    logdet,
    logspace,
    logsumexp,
    matrix_power,
    max,
    mean,
    median,
    meshgrid,
    min,
    mv,
    nanmedian,
    norm,
    outer,
    permute,
    pinverse,
    prod,
    reshape,
    rsqrt,
    searchsorted,
    sinh,
    slogdet,
    square,
    squeeze,
    std,
    std_mean,
    sum,
    tan,
    trace,
    transpose,
    tril,
    tril_indices,
    triu,
    triu_indices,
    unique,
    unsqueeze,
    var,
    var_mean,
    vstack,
)
from .tensor_functions_combine import *  # noqa: F403  (torch's combining, shape and index functions)
from .tensor_functions_combine import __all__ as _combine_functions
from .tensor_functions_more import *  # noqa: F403  (torch's aliases and more functions: its __all__)
from .tensor_functions_more import __all__ as _more_functions
from .triangular import cholesky_inverse, cholesky_solve, lu_unpack, triangular_solve
from .triangular import lu_old as lu
from .triangular import lu_solve_old as lu_solve

__version__ = "0.1.0"

# torch's dtype names, as the numpy dtypes a Tensor holds: x.dtype == tr.float32, x.to(tr.float64), x.to(tr.long)
# torch's constants: tr.pi, tr.e, tr.inf, tr.nan, and tr.newaxis (None) for indexing
pi, e, inf, nan, newaxis = _math.pi, _math.e, _math.inf, _math.nan, None

float32 = _np.dtype(_np.float32)
float64 = double = _np.dtype(_np.float64)
int64 = long = _np.dtype(_np.int64)
# tr.bool and tr.float too, but not as module globals: `from tinygrad_rnn import *` would then shadow the
# builtins bool and float (the package lists every global in __all__), so they are looked up on demand
_SHADOWING_DTYPES = {"bool": _np.dtype(_np.bool_), "float": float32}


def __getattr__(name: str):
    if name in _SHADOWING_DTYPES:
        return _SHADOWING_DTYPES[name]
    raise AttributeError(f"module 'tinygrad_rnn' has no attribute {name!r}")

__all__ = [
    # tensors and their making
    "Tensor", "Size", "tensor", "as_tensor",
    "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "randn", "rand", "arange",
    # torch's dtype names (not bool and float: a star import would shadow the builtins)
    "float32", "float64", "double", "int64", "long", "get_default_dtype", "set_default_dtype",
    # grad mode
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    # operations as functions
    "where", "concatenate", "cat", "stack", "split", "chunk", "unbind", "exp", "log", "tanh", "sigmoid", "relu", "abs",
    "sqrt", "maximum", "minimum", "softmax", "log_softmax", "clip", "clamp", "gather", "cumsum", "sort", "argsort",
    "topk", "multinomial", "scatter", "scatter_add", "isnan", "isinf", "isfinite", "allclose",
    "mm", "bmm", "matmul", "index_select", "roll", "repeat_interleave", "div", "divide", "fmod", "erf",
    "erfc", "erfinv", "lgamma", "digamma", "polygamma", "i0", "select", "narrow", "diagonal", "movedim", "moveaxis",
    "sin", "cos", "round", "floor", "ceil", "trunc", "fix", "sign", "sgn", "frac", "reciprocal", "log1p", "expm1",
    "log2", "log10", "exp2", "logit", "clamp_min", "clamp_max", "hypot", "xlogy", "lerp", "addcmul", "addcdiv",
    "nan_to_num", "isclose", "equal", "signbit", "is_floating_point", "numel", "ravel", "tile", "take_along_dim",
    "as_strided", "matrix_exp",
    # torch's function forms of Tensor methods, more factories, and compositions (tensor_functions.py)
    "sum", "mean", "max", "min", "argmax", "argmin", "amax", "amin", "prod", "std", "var", "norm", "logsumexp",
    "reshape", "transpose", "permute", "flatten", "squeeze", "unsqueeze", "flip", "square", "rsqrt",
    "count_nonzero", "broadcast_to", "broadcast_tensors", "eye", "linspace", "logspace", "full_like", "empty",
    "empty_like", "tril", "triu", "diag", "outer", "dot", "mv", "trace",
    "cumprod", "diff", "einsum", "meshgrid", "hstack", "vstack", "cdist", "pdist", "cosine_similarity",
    "pairwise_distance",
    "tan", "sinh", "cosh", "asin", "acos", "atan", "atan2", "logaddexp", "median", "nanmedian", "unique",
    "index_add", "index_copy", "index_fill", "cummax", "cummin", "logcumsumexp",
    "searchsorted", "bucketize", "var_mean", "std_mean", "tril_indices", "triu_indices",
    # more of torch's functions and its aliases (tensor_functions_more.py, tensor_functions_combine.py)
    *_more_functions, *_combine_functions,
    # dtypes' limits and torch's constants
    "finfo", "iinfo", "pi", "e", "inf", "nan", "newaxis",
    # torch's products (products.py)
    "addmm", "addmv", "addr", "baddbmm", "addbmm", "kron", "tensordot", "cross",
    # torch's top-level linear algebra (tensor_functions.py, on linalg.py)
    "det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power",
    # torch's top-level triangular solves (triangular.py)
    "triangular_solve", "lu_unpack", "cholesky_solve", "cholesky_inverse", "lu", "lu_solve",
    # torch's older spellings (linalg_old_spellings.py: svd, qr, cholesky; the removed ones raise), geqrf/orgqr/ormqr
    # (linalg_householder.py), the randomized low-rank SVD and PCA (linalg_lowrank.py)
    "svd", "qr", "cholesky", "chain_matmul", "symeig", "eig", "lstsq", "solve", "matrix_rank", "geqrf", "orgqr",
    "ormqr", "svd_lowrank", "pca_lowrank",
    # the tape, checking and debugging
    "apply", "Node", "gradcheck", "GradcheckError", "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
    "set_detect_anomaly", "is_anomaly_check_nan_enabled", "InplaceModificationError",
    # randomness, checkpoints, threads
    "manual_seed", "Generator", "initial_seed", "seed", "get_rng_state", "set_rng_state", "device",
    "randint", "randperm", "randn_like", "rand_like", "randint_like", "normal", "bernoulli",
    "save", "load", "CheckpointError", "set_num_threads", "get_num_threads",
    # recomputation: trade memory for time in the backward pass
    "checkpoint",
    # subpackages
    "nn", "optim", "utils", "viz", "distributed", "distributions", "special", "autograd", "linalg", "compile_cell",
    "CompileError",
]
