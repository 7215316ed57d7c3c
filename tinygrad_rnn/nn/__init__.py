"""Neural-network building blocks on top of the engine: modules, cells, unrolled layers."""
from . import functional, utils
from .module import Module, Parameter, Sequential, Linear, Embedding, Dropout
from .cells import RecurrentCell, RNNCell, LSTMCell, GRUCell, PeepholeLSTMCell, JordanCell, LayerNormLSTMCell
from .recurrent import Recurrent, RNN, GRU, LSTM, unroll, reverse_within_lengths
