"""Neural-network building blocks on top of the engine: modules, cells, unrolled layers."""
from . import functional, init, parallel, utils
from .attention import MultiheadAttention
from .cells import GRUCell, JordanCell, LayerNormLSTMCell, LSTMCell, PeepholeLSTMCell, RecurrentCell, RNNCell
from .conv import Conv1d
from .distance import CosineSimilarity, PairwiseDistance
from .layers import ELU, GELU, Identity, LayerNorm, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Dropout, Embedding, Linear, Module, ModuleDict, ModuleList, Parameter, Sequential, StateDictError
from .normalization import BatchNorm1d
from .recurrent import GRU, LSTM, RNN, Recurrent, reverse_within_lengths, unroll

__all__ = ["functional", "init", "utils", "parallel",
           "Module", "Parameter", "StateDictError", "Sequential", "ModuleList", "ModuleDict", "Linear", "Embedding",
           "Dropout", "MultiheadAttention", "Conv1d", "BatchNorm1d",
           "Identity", "LayerNorm", "ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
           "LeakyReLU", "ELU", "SiLU", "Softplus", "GELU",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
           "SmoothL1Loss", "HuberLoss", "KLDivLoss", "CosineSimilarity", "PairwiseDistance",
           "RecurrentCell", "RNNCell", "LSTMCell", "GRUCell", "PeepholeLSTMCell", "JordanCell", "LayerNormLSTMCell",
           "Recurrent", "RNN", "GRU", "LSTM", "unroll", "reverse_within_lengths"]
