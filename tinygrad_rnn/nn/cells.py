"""The recurrent cells, each a few lines of Tensor operations with no backward and no loop.

Every built-in cell splits its step in two, as the fast kernels do:
    xw = W_ih x_t + b_ih                      the input side: no dependence on the past, so an
                                              unrolled layer computes it for all T steps at once
    state_t = recurrence(xw, state_{t-1})     the recurrent side: the part that must loop
The equations, shapes and gate orders are those of torch.nn (see docs/learn/cells.md), so weights
port one to one. A user's cell only needs `forward(x, state) -> new state` (see RecurrentCell).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from ..creation import zeros
from ..tensor import ShapeError, Tensor
from . import init
from .checks import (
    DTypeMismatchError,
    StateArityError,
    check_bool,
    check_choice,
    check_device,
    check_float,
    check_int,
    type_name,
)
from .hooks import ModuleHooks, call_with_hooks
from .module import Module, Parameter, check_dtype, uniform


def _init_bound(hidden_size):
    """torch's U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)); 0 for a zero-sized hidden state (as torch)."""
    return 1.0 / np.sqrt(hidden_size) if hidden_size > 0 else 0.0


def reset_uniform(module: Module, hidden_size: int) -> None:
    """torch's reset_parameters of its recurrent layers and cells: every parameter redrawn from
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (the library's generator), in place, in parameters() order. In
    place: an optimizer holding the Parameters steps the new values, and the fused kernels read them at the next
    call as after an optimizer's update."""
    bound = _init_bound(hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


# ----------------------------------------------------------------------------- the recurrences
# Each takes the precomputed input side `xw` and the transposed recurrent weight (transposed once
# per sequence by the layer, not once per step).

def rnn_recurrence(xw: Tensor, h: Tensor, w_hhT: Tensor, b_hh: Optional[Tensor], nonlinearity: str = "tanh") -> Tensor:
    pre = xw + h @ w_hhT
    if b_hh is not None:
        pre = pre + b_hh
    if nonlinearity == "tanh":
        return pre.tanh()
    if nonlinearity == "relu":
        return pre.relu()
    # an RNNCell's nonlinearity is read at each call, as torch's (which raises for another one at its call too)
    raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def lstm_recurrence(xw: Tensor, state: tuple[Tensor, Tensor], w_hhT: Tensor, b_hh: Optional[Tensor],
                    w_hrT: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
    h, c = state
    gates = xw + h @ w_hhT
    if b_hh is not None:
        gates = gates + b_hh
    i, f, g, o = gates.chunk(4, axis=-1)  # torch's gate order
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hrT is not None:  # torch's proj_size: h is projected to a smaller size before it recurs
        h = h @ w_hrT
    return h, c


def gru_recurrence(xw: Tensor, h: Tensor, w_hhT: Tensor, b_hh: Optional[Tensor]) -> Tensor:
    hw = h @ w_hhT
    if b_hh is not None:
        hw = hw + b_hh
    x_r, x_z, x_n = xw.chunk(3, axis=-1)
    h_r, h_z, h_n = hw.chunk(3, axis=-1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()  # r gates the *projected* state W_hn h + b_hn, as torch and cuDNN
    return n + z * (h - n)  # = (1 - z) * n + z * h, one operation fewer


def peephole_lstm_recurrence(xw: Tensor, state: tuple[Tensor, Tensor], w_hhT: Tensor, b_hh: Optional[Tensor],
                             w_ci: Tensor, w_cf: Tensor, w_co: Tensor) -> tuple[Tensor, Tensor]:
    h, c = state
    gates = xw + h @ w_hhT
    if b_hh is not None:
        gates = gates + b_hh
    i, f, g, o = gates.chunk(4, axis=-1)
    i = (i + w_ci * c).sigmoid()  # input and forget gates peek at the old cell state...
    f = (f + w_cf * c).sigmoid()
    c = f * c + i * g.tanh()
    o = (o + w_co * c).sigmoid()  # ...the output gate at the new one
    return o * c.tanh(), c


def layer_norm(z: Tensor, gain: Tensor, bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """gain * (z - mean) / sqrt(var + eps) + bias over the last axis (the hidden units), per row."""
    mean = z.mean(-1, keepdims=True)
    centred = z - mean
    var = (centred * centred).mean(-1, keepdims=True)
    out = centred * (var + eps) ** -0.5 * gain
    return out + bias if bias is not None else out


def layer_norm_lstm_recurrence(xw: Tensor, state: tuple[Tensor, Tensor], w_hhT: Tensor, bias: Optional[Tensor],
                               gain_ih: Tensor, gain_hh: Tensor, gain_c: Tensor, bias_c: Tensor,
                               eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    h, c = state
    gates = layer_norm(xw, gain_ih, None, eps) + layer_norm(h @ w_hhT, gain_hh, None, eps)  # each side on its own
    if bias is not None:
        gates = gates + bias
    i, f, g, o = gates.chunk(4, axis=-1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * layer_norm(c, gain_c, bias_c, eps).tanh()
    return h, c


def jordan_recurrence(xw: Tensor, y: Tensor, w_yhT: Tensor, b_yh: Optional[Tensor], w_hyT: Tensor,
                      b_hy: Optional[Tensor], output_activation: Optional[str] = None) -> Tensor:
    h = xw + y @ w_yhT  # the previous *output* feeds back, not the hidden state
    if b_yh is not None:
        h = h + b_yh
    y = h.tanh() @ w_hyT
    if b_hy is not None:
        y = y + b_hy
    return y.tanh() if output_activation == "tanh" else y


# ----------------------------------------------------------------------------- cell modules
class RecurrentCell(Module):
    """Base class of cells. A subclass sets `input_size`, `hidden_size` (and `output_size` when the
    state is not the hidden state) and defines `forward(x, state) -> new state`, where a state is
    one Tensor (B, size) or a tuple of them; the cell's output is the state (or its first part).

    `initial_state` gives zeros; `state_sizes` (default: one part of hidden_size) shapes it.
    Built-in cells also define `project_input(x)` and `recurrence(xw, state)` so a layer can hoist
    the input side out of the time loop; a user's cell need not.
    """

    state_sizes = None  # e.g. (H, H) for (h, c); None means (hidden_size,)

    def sizes(self) -> tuple[int, ...]:
        return self.state_sizes or (self.hidden_size,)

    @property
    def output_size(self) -> int:
        return self.sizes()[0]

    def initial_state(self, batch_size: int, dtype: npt.DTypeLike) -> Tensor | tuple[Tensor, ...]:
        parts = tuple(zeros(batch_size, n, dtype=dtype) for n in self.sizes())
        return parts if len(parts) > 1 else parts[0]

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor | tuple[Tensor, ...]:
        """cell(input, hx=None), torch's names: accepts unbatched (1-D) input and a missing state, as torch's cells
        do. The module's hooks (register_forward_hook, ...) run around the whole call, as torch's around a cell's
        forward."""
        if self._module_hooks is None and ModuleHooks.everywhere is None:
            return self._checked_call(*args, **kwargs)
        return call_with_hooks(self, self._checked_call, args, kwargs)

    def _checked_call(self, input: Tensor,
                      hx: Tensor | tuple[Tensor, ...] | None = None) -> Tensor | tuple[Tensor, ...]:
        x, state = input, hx   # (torch's keywords: torch code calls cell(x, hx=h); forward(x, state) takes them)
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got {type_name(x)}")
        if x.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: input must be 1-D (input_size,) or 2-D (batch, input_size), "
                             f"got shape {tuple(x.shape)}")
        if getattr(self, "input_size", None) is not None and x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: input.shape[-1] must equal input_size: expected "
                             f"{self.input_size}, got {x.shape[-1]}")   # (a ValueError, and torch's RuntimeError)
        unbatched = x.ndim == 1
        if state is not None:
            _check_state(self, state, x, unbatched)
        if unbatched:
            x = x.reshape(1, -1)
            if state is not None:
                state = _map_state(state, lambda s: s.reshape(1, -1))
        if state is None:
            state = self.initial_state(x.shape[0], x.dtype)
        new = self.forward(x, state)
        check_new_state(type(self).__name__, state, new)
        return _map_state(new, lambda s: s.reshape(-1)) if unbatched else new


def _describe_state(state):
    if isinstance(state, (tuple, list)):
        return f"a {type(state).__name__} of {len(state)} (shapes {[getattr(s, 'shape', None) for s in state]})"
    return f"one {type(state).__name__} (shape {getattr(state, 'shape', None)})"


def check_new_state(owner: str, state: Tensor | tuple[Tensor, ...], new: Tensor | tuple[Tensor, ...]) -> None:
    """The state a cell's forward returns must have the parts, shapes and dtypes of the one it was given:
    otherwise a cell whose state is a tuple but does not say so in state_sizes would get one
    Tensor, unpack it along the batch (`h, c = state`) and run on, silently wrong."""
    multi = isinstance(state, (tuple, list))
    parts, new_parts = (state if multi else (state,)), (new if isinstance(new, (tuple, list)) else (new,))
    if (multi != isinstance(new, (tuple, list)) or len(parts) != len(new_parts)
            or any(not isinstance(n, Tensor) or n.shape != p.shape for p, n in zip(parts, new_parts))):
        _refuse_new_state(owner, state, new)
    for k, (p, n) in enumerate(zip(parts, new_parts)):
        if n.dtype != p.dtype:   # a float64 state from a float32 one would upcast the rest of the run silently
            raise TypeError(f"{owner}: forward was given a {p.dtype} state and returned "
                            f"{'state part ' + str(k) if multi else 'a state'} of dtype {n.dtype}; the new state must "
                            "keep the state's dtype (convert with .to(x.dtype))")


def _refuse_new_state(owner, state, new):
    raise ValueError(f"{owner}: forward was given {_describe_state(state)} as the state and returned "
                     f"{_describe_state(new)}; the new state must have the same parts and shapes. A cell whose "
                     "state has several parts sets state_sizes (e.g. state_sizes = (hidden_size, hidden_size) "
                     "for (h, c)), and its initial state is made from it")


def _check_state(cell, state, x, unbatched):
    """A state given to a cell: one Tensor (or a tuple of them, one per part) of shape (batch, size)
    ((size,) for unbatched input) in the input's dtype. A wrong shape is a ShapeError and a wrong dtype a
    DTypeMismatchError: each also the RuntimeError torch's cells raise there."""
    name, sizes = type(cell).__name__, tuple(cell.sizes())
    multi = isinstance(state, (tuple, list))
    if len(sizes) > 1 and (not multi or len(state) != len(sizes)):
        got = f"a {type(state).__name__} of {len(state)}" if multi else f"one {type(state).__name__}"
        raise StateArityError(f"{name}: state must be a tuple of {len(sizes)} Tensors (e.g. (h, c)), got {got}")
    parts = state if multi else (state,)
    if len(sizes) == 1 and multi:   # (a 1-tuple too: forward would get the tuple, not the Tensor)
        raise StateArityError(f"{name}: state must be one Tensor, got a {type(state).__name__} of {len(parts)}")
    for k, (p, size) in enumerate(zip(parts, sizes)):
        label = "state" if len(sizes) == 1 else f"state[{k}]"
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: {label} must be a Tensor, got {type_name(p)}")
        expected = (size,) if unbatched else (x.shape[0], size)
        if p.shape != expected:
            raise ShapeError(f"{name}: {label}.shape must be {'(hidden,)' if unbatched else '(batch, hidden)'}: "
                             f"expected {expected}, got {tuple(p.shape)}")
        if p.dtype != x.dtype:
            raise DTypeMismatchError(f"{name}: {label} dtype {p.dtype} does not match the input's {x.dtype}")


def _map_state(state, fn):
    return tuple(fn(s) for s in state) if isinstance(state, (tuple, list)) else fn(state)


def _check_input(cell, x):
    """The input a built-in cell projects (its project_input is public: the layers call it on (T*B, F)):
    input_size features in the parameters' dtype (a ShapeError and a DTypeMismatchError: also torch's RuntimeError)."""
    if x.shape[-1] != cell.input_size:
        raise ShapeError(f"{type(cell).__name__}: input.shape[-1] must equal input_size: expected "
                         f"{cell.input_size}, got {x.shape[-1]}")
    if x.dtype != cell.weight_ih.dtype:
        raise DTypeMismatchError(f"{type(cell).__name__}: input dtype {x.dtype} does not match the parameters' "
                                 f"{cell.weight_ih.dtype}; build the cell with dtype={x.dtype} or cast the input")


def _cell_bias(name, bias):
    """bias as torch's cells take it: any value, kept as given, its truth deciding whether the cell has biases
    (RNNCell(10, 20, 'relu') is a tanh cell with biases, as torch's, and bias=0 one without). torch's layers refuse
    a bias that is not a bool (nn/checks.check_bool); its cells do not. A value with no truth (an array of two
    numbers) is numpy's or torch's ValueError, refused here in words naming the argument."""
    try:
        bool(bias)
    except (ValueError, TypeError, RuntimeError) as e:
        raise ValueError(f"{name}: bias must have a truth value (True or False), got {type(bias).__name__}") from e
    return bias


class _TorchStyleCell(RecurrentCell):
    """Shared by the built-in cells: torch's weight names, shapes and initialisation."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: npt.DTypeLike | None = None) -> None:
        name = type(self).__name__  # sizes of 0 are allowed, as in torch: an empty state
        check_device(name, device)   # (torch's factory kwargs: only the CPU here)
        input_size = check_int(name, "input_size", input_size, 0)
        hidden_size = check_int(name, "hidden_size", hidden_size, 0)
        bias, dtype = _cell_bias(name, bias), check_dtype(dtype, name)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        G, H, bound = self.gates, hidden_size, _init_bound(hidden_size)
        self.weight_ih = uniform((G * H, input_size), bound, dtype)
        self.weight_hh = uniform((G * H, self.output_size), bound, dtype)  # what recurs: the state's first part
        self.bias_ih = uniform((G * H,), bound, dtype) if bias else None
        self.bias_hh = uniform((G * H,), bound, dtype) if bias else None

    def reset_parameters(self) -> None:
        """Every parameter redrawn in place from its initial distribution, as torch's RNNCellBase.reset_parameters
        (torch code re-initialises a model by calling it on each module that has it)."""
        reset_uniform(self, self.hidden_size)

    def project_input(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        xw = x @ self.weight_ih.T
        return xw + self.bias_ih if self.bias else xw

    def forward(self, x: Tensor, state: Tensor | tuple[Tensor, ...]) -> Tensor | tuple[Tensor, ...]:
        return self.recurrence(self.project_input(x), state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias is True else f", bias={self.bias}")


class RNNCell(_TorchStyleCell):
    """Elman: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        check_choice("RNNCell", "nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def recurrence(self, xw: Tensor, h: Tensor) -> Tensor:
        return rnn_recurrence(xw, h, self.weight_hh.T, self.bias_hh, self.nonlinearity)

    def extra_repr(self) -> str:  # as torch's: a relu cell says so
        return super().extra_repr() + ("" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity}")


class LSTMCell(_TorchStyleCell):
    """LSTM, gate order i, f, g, o; the state is (h, c).

    proj_size=P > 0 (keyword only; our extension: torch has it on nn.LSTM, not on LSTMCell) is torch's
    LSTMP: h_t = W_hr (o * tanh(c_t)), with weight_hr (P, hidden_size); h and weight_hh's columns have
    size P, c keeps hidden_size. So `tr.nn.Recurrent(tr.nn.LSTMCell, I, H, proj_size=P)` is
    torch.nn.LSTM(I, H, proj_size=P), fused kernels included."""

    gates = 4
    @property
    def state_sizes(self) -> tuple[int, int]:
        return (self.proj_size or self.hidden_size, self.hidden_size)   # (h, c): h is projected, c is not

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: npt.DTypeLike | None = None, *, proj_size: int = 0) -> None:
        self.proj_size = check_int("LSTMCell", "proj_size", proj_size, 0)
        if proj_size and isinstance(hidden_size, (int, np.integer)) and proj_size >= hidden_size:
            raise ValueError(f"LSTMCell: proj_size must be smaller than hidden_size ({hidden_size}), got {proj_size}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        if self.proj_size:  # after the biases, in torch's order
            self.weight_hr = uniform((self.proj_size, self.hidden_size), _init_bound(self.hidden_size),
                                     self.weight_ih.dtype)

    def recurrence(self, xw: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        return lstm_recurrence(xw, state, self.weight_hh.T, self.bias_hh,
                               self.weight_hr.T if self.proj_size else None)

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", proj_size={self.proj_size}" if self.proj_size else "")


class GRUCell(_TorchStyleCell):
    """GRU, gate order r, z, n; r multiplies W_hn h + b_hn."""

    gates = 3

    def recurrence(self, xw: Tensor, h: Tensor) -> Tensor:
        return gru_recurrence(xw, h, self.weight_hh.T, self.bias_hh)


class PeepholeLSTMCell(_TorchStyleCell):
    """LSTM with peepholes (Gers, Schraudolph & Schmidhuber 2002): diagonal weights weight_ci,
    weight_cf (on c_{t-1}) and weight_co (on c_t), initialised like the others."""

    gates = 4
    @property
    def state_sizes(self) -> tuple[int, int]:
        return (self.hidden_size, self.hidden_size)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: npt.DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)
        bound = _init_bound(hidden_size)
        self.weight_ci = uniform((hidden_size,), bound, self.weight_ih.dtype)
        self.weight_cf = uniform((hidden_size,), bound, self.weight_ih.dtype)
        self.weight_co = uniform((hidden_size,), bound, self.weight_ih.dtype)

    def recurrence(self, xw: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        return peephole_lstm_recurrence(xw, state, self.weight_hh.T, self.bias_hh,
                                        self.weight_ci, self.weight_cf, self.weight_co)


class LayerNormLSTMCell(RecurrentCell):
    """LSTM with layer normalisation (Ba, Kiros & Hinton 2016, section 6), gate order i, f, g, o:

        gates = LN(W_ih x_t; gain_ih) + LN(W_hh h_{t-1}; gain_hh) + bias        (4H: i, f, g, o)
        c_t   = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
        h_t   = sigmoid(o) * tanh(LN(c_t; gain_c, bias_c))
        LN(z; gain, beta) = gain * (z - mean(z)) / sqrt(var(z) + eps) + beta   over z's hidden units

    The input side and the recurrent side are normalised separately, each over all 4H units, as in the
    paper; their two shifts and the LSTM bias enter only as a sum, so they are one parameter, `bias`.
    Gains start at 1 and shifts at 0 (the paper's and torch.nn.LayerNorm's initialisation); the weights
    as LSTMCell's. bias=False drops `bias` only: bias_c is the c norm's own shift and stays. The state is
    (h, c)."""

    @property
    def state_sizes(self) -> tuple[int, int]:
        return (self.hidden_size, self.hidden_size)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, eps: float = 1e-5,
                 device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        name = "LayerNormLSTMCell"  # every argument checked, as the other cells'
        check_device(name, device)
        input_size = check_int(name, "input_size", input_size, 0)
        hidden_size = check_int(name, "hidden_size", hidden_size, 0)
        bias, eps, dtype = check_bool(name, "bias", bias), check_float(name, "eps", eps, 0), check_dtype(dtype, name)
        self.input_size, self.hidden_size, self.eps = input_size, hidden_size, eps
        H, bound = hidden_size, _init_bound(hidden_size)
        self.weight_ih = uniform((4 * H, input_size), bound, dtype)
        self.weight_hh = uniform((4 * H, H), bound, dtype)
        self.bias = Parameter(np.zeros(4 * H, dtype)) if bias else None
        self.gain_ih = Parameter(np.ones(4 * H, dtype))
        self.gain_hh = Parameter(np.ones(4 * H, dtype))
        self.gain_c = Parameter(np.ones(H, dtype))
        self.bias_c = Parameter(np.zeros(H, dtype))

    def project_input(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return x @ self.weight_ih.T

    def recurrence(self, xw: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        return layer_norm_lstm_recurrence(xw, state, self.weight_hh.T, self.bias, self.gain_ih, self.gain_hh,
                                          self.gain_c, self.bias_c, self.eps)

    def forward(self, x: Tensor, state: Tensor | tuple[Tensor, ...]) -> Tensor | tuple[Tensor, ...]:
        return self.recurrence(self.project_input(x), state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias is not None else ", bias=False")


class JordanCell(RecurrentCell):
    """Jordan (1986): h_t = tanh(W_ih x + b_ih + W_yh y_{t-1} + b_yh), y_t = act(W_hy h_t + b_hy).

    The state is the previous output y (size output_size, default hidden_size); act is the
    identity or 'tanh'."""

    def __init__(self, input_size: int, hidden_size: int, output_size: Optional[int] = None, bias: bool = True,
                 output_activation: Optional[str] = None, device: Any = None,
                 dtype: npt.DTypeLike | None = None) -> None:
        check_device("JordanCell", device)
        check_choice("JordanCell", "output_activation", output_activation, (None, "tanh"))
        input_size = check_int("JordanCell", "input_size", input_size, 0)
        hidden_size = check_int("JordanCell", "hidden_size", hidden_size, 0)
        O = hidden_size if output_size is None else check_int("JordanCell", "output_size", output_size, 0)
        bias, dtype = check_bool("JordanCell", "bias", bias), check_dtype(dtype, "JordanCell")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.output_activation = output_activation
        bound = _init_bound(hidden_size)
        self.weight_ih = uniform((hidden_size, input_size), bound, dtype)
        self.weight_yh = uniform((hidden_size, O), bound, dtype)
        self.weight_hy = uniform((O, hidden_size), bound, dtype)
        self.bias_ih = uniform((hidden_size,), bound, dtype) if bias else None
        self.bias_yh = uniform((hidden_size,), bound, dtype) if bias else None
        self.bias_hy = uniform((O,), bound, dtype) if bias else None
        self.state_sizes = (O,)

    project_input = _TorchStyleCell.project_input

    def recurrence(self, xw: Tensor, y: Tensor) -> Tensor:
        return jordan_recurrence(xw, y, self.weight_yh.T, self.bias_yh, self.weight_hy.T, self.bias_hy,
                                 self.output_activation)

    forward = _TorchStyleCell.forward
