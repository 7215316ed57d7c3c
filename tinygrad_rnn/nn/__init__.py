"""Neural-network building blocks on top of the engine: modules, cells, unrolled layers."""
from . import functional, init, utils
from .module import Module, Parameter, Sequential, ModuleList, ModuleDict, Linear, Embedding, Dropout
from .layers import Identity, LayerNorm, ReLU, Tanh, Sigmoid, Softmax, LogSoftmax
from .losses import CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss
from .cells import RecurrentCell, RNNCell, LSTMCell, GRUCell, PeepholeLSTMCell, JordanCell, LayerNormLSTMCell
from .recurrent import Recurrent, RNN, GRU, LSTM, unroll, reverse_within_lengths
from . import parallel

__all__ = ["functional", "init", "utils", "parallel",
           "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Linear", "Embedding", "Dropout",
           "Identity", "LayerNorm", "ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
           "RecurrentCell", "RNNCell", "LSTMCell", "GRUCell", "PeepholeLSTMCell", "JordanCell", "LayerNormLSTMCell",
           "Recurrent", "RNN", "GRU", "LSTM", "unroll", "reverse_within_lengths"]
