"""Neural-network building blocks on top of the engine: modules, cells, unrolled layers."""
from . import functional, init, modules, parallel, utils
from .attention import MultiheadAttention
from .cells import GRUCell, JordanCell, LayerNormLSTMCell, LSTMCell, PeepholeLSTMCell, RecurrentCell, RNNCell
from .conv import Conv1d
from .distance import CosineSimilarity, PairwiseDistance
from .layers import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Flatten,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Identity,
    LayerNorm,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    RMSNorm,
    RReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
    Unflatten,
)
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    CTCLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import (
    Dropout,
    Embedding,
    Linear,
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    ParameterDict,
    ParameterList,
    Sequential,
    StateDictError,
)
from .normalization import BatchNorm1d
from .recurrent import GRU, LSTM, RNN, Recurrent, reverse_within_lengths, unroll

__all__ = ["functional", "init", "utils", "parallel", "modules",
           "Module", "Parameter", "StateDictError", "Sequential", "ModuleList", "ModuleDict", "Linear", "Embedding",
           "Dropout", "MultiheadAttention", "Conv1d", "BatchNorm1d",
           "Identity", "LayerNorm", "ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
           "LeakyReLU", "ELU", "SiLU", "Softplus", "GELU", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "SELU",
           "CELU", "Mish", "Softsign", "Softshrink", "Hardshrink", "Tanhshrink", "Threshold", "LogSigmoid", "Softmin",
           "GLU", "PReLU", "RReLU", "RMSNorm", "Flatten", "Unflatten", "ParameterList", "ParameterDict",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
           "SmoothL1Loss", "HuberLoss", "KLDivLoss", "CTCLoss", "CosineSimilarity", "PairwiseDistance",
           "RecurrentCell", "RNNCell", "LSTMCell", "GRUCell", "PeepholeLSTMCell", "JordanCell", "LayerNormLSTMCell",
           "Recurrent", "RNN", "GRU", "LSTM", "unroll", "reverse_within_lengths"]
