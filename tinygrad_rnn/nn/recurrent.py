"""Unrolled recurrent layers: any cell, stacked, bidirectional, with variable lengths.

`unroll` is the whole idea: call the cell's step T times, recording T copies of its operations on
the tape. Backpropagation through time is then the tape's ordinary backward over that graph; there
is no BPTT code here. Everything else in this file is bookkeeping that torch.nn.RNN users expect:
time-major or batch-first input, unbatched input, initial states, stacked layers with dropout
between them, a reverse direction, and `lengths=` with the meaning of packed sequences:

  * padded steps neither change the state nor produce output (the output there is 0),
  * h_n is each sequence's state after its own last valid step,
  * the reverse direction starts at each sequence's own last valid step.

`RNN`, `GRU` and `LSTM` keep torch's flat parameter names (weight_ih_l0, ..._reverse) so a torch
state_dict loads; `Recurrent` wraps any cell class, a user's included.
"""
from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from .. import primitives as P
from .. import random, viz
from ..kernels.blas import num_threads as get_num_threads
from ..tape import _forward_checks, is_grad_enabled, no_grad
from ..tensor import ShapeError, Tensor, concatenate, stack, where
from . import cells as C
from . import functional as F
from .bptt_plan import SERIAL_SPAN, Stored, budget_plan, run_planned, sqrt_plan, uniform_plan
from .checks import (
    ArgumentValueError,
    DropoutTypeError,
    DTypeMismatchError,
    LengthsError,
    check_bool,
    check_choice,
    check_device,
    check_float,
    check_int,
    type_name,
    warn_user,
)
from .fused import fused_available
from .hooks import ModuleHooks, has_hooks, unhooked_calls
from .module import Module, Parameter, check_dtype, uniform
from .parametrize import is_parametrized
from .sequences import PackedSequence


# ----------------------------------------------------------------------------- one direction
def reverse_within_lengths(x: Tensor, lengths: Optional[Sequence[int] | np.ndarray]) -> Tensor:
    """x (T, B, ...) with each sequence's valid steps reversed in place; padded steps stay put.
    Applying it twice gives x back, so the same call restores the output order."""
    T = x.shape[0]
    if lengths is None:
        return x.flip(0)
    lengths = np.asarray(lengths)   # (a list too: the function is public)
    t = np.arange(T)[:, None]
    src = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (T, B)
    return x[src, np.arange(len(lengths))[None, :]]


def unroll(step: Callable, inputs: Sequence[Tensor], state: Tensor | tuple[Tensor, ...],
           lengths: Optional[Sequence[int] | np.ndarray] = None, retain_states: Optional[list] = None,
           labels: Optional[Sequence] = None) -> tuple[Tensor, Tensor | tuple[Tensor, ...]]:
    """Run `state = step(inputs[t], state)` for t = 0..T-1 and stack the outputs.

    inputs: a list of T Tensors (B, ...); state: a Tensor or tuple of Tensors (B, size).
    With lengths, steps t >= lengths[b] keep sequence b's state and output 0 there.
    retain_states: a list to which each step's state is appended, with retain_grad() on, so a
    learner can read dL/dh_t after backward. labels: tr.viz's name for each step (default t).
    Returns (outputs (T, B, out), final state).
    """
    if lengths is not None and not isinstance(lengths, np.ndarray):   # a list, as the signature allows
        lengths = np.asarray(lengths)
    outputs = []
    for t, x_t in enumerate(inputs):
        with viz.timestep(t if labels is None else labels[t]):  # tr.viz's per-step clusters (else a no-op)
            new = step(x_t, state)
        if t == 0:  # a user's cell: its state's structure, checked once (not per step)
            C.check_new_state(type(getattr(step, "__self__", step)).__name__, state, new)
        if lengths is not None and t >= lengths.min():  # some sequences have ended: mask them
            valid = (t < lengths)[:, None]
            new = _zip_state(lambda n, s, valid=valid: where(valid, n, s), new, state)
            out = where(valid, _first(new), 0.0)
        else:
            out = _first(new)
        state = new
        if retain_states is not None:
            retain_states.append(_zip_state(lambda s, _: _retained(s), state, state))
        outputs.append(out)
    return stack(outputs), state


def _reverse_labels(T, lengths):
    """tr.viz labels of the reverse direction's steps: ('reverse', t) with t the real time step s
    reads (T-1-s); with lengths, step s reads a different time in each sequence, so ('reverse step', s)."""
    if lengths is None:
        return [("reverse", T - 1 - s) for s in range(T)]
    return [("reverse step", s) for s in range(T)]


def _first(state):
    return state[0] if isinstance(state, tuple) else state


def _retained(s):
    """s, with retain_grad() on where it can have a gradient (torch's retain_grad refuses other tensors)."""
    if s.requires_grad:
        s.retain_grad()
    return s


def _zip_state(fn, a, b):
    return tuple(fn(x, y) for x, y in zip(a, b)) if isinstance(a, tuple) else fn(a, b)


# ----------------------------------------------------------------------------- the stacked layer
_FUSED_CACHES = ("_fused_kernels", "_fused_cells", "_fused_last")  # kept in a layer's __dict__ by the fused path


class _StackedRecurrent(Module):
    """What every unrolled layer shares; a subclass says how one (layer, direction) runs.

    Subclasses set self.state_count and define output_size and
    _run(layer, direction, x (T, B, F), state tuple or None, lengths, retain, in_step_order=False)
    -> (out (T, B, H), final), where final holds each state part as (1, B, n): this layer-direction's
    slice of h_n, so that a one-layer, one-direction h_n is that tensor itself (no stacking op on the
    tape per call). in_step_order: x (and out) are already in the direction's step order (a reverse
    direction's reversed within lengths by the caller: a plan's pieces on the tape); only the tape
    path is asked for it.
    """

    def _setup(self, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype):
        name = type(self).__name__  # every argument checked (nn/checks.py): a wrong type is never reinterpreted
        check_device(name, device)   # (torch's factory kwargs: only the CPU here)
        self.input_size = check_int(name, "input_size", input_size, 1)
        self.hidden_size = check_int(name, "hidden_size", hidden_size, 1)
        self.num_layers = check_int(name, "num_layers", num_layers, 1)
        self.bias = check_bool(name, "bias", bias)
        self.batch_first = check_bool(name, "batch_first", batch_first)
        self.dropout = dropout   # (checked by the property's setter)
        if self.dropout and self.num_layers == 1:  # as torch warns: an argument that does nothing is said
            warnings.warn(f"{name}: dropout acts between stacked layers, never after the last one, so dropout="
                          f"{self.dropout:g} with num_layers=1 does nothing", UserWarning,
                          stacklevel=3 if isinstance(self, Recurrent) else 4)   # (the caller's line)
        # torch's RNNBase keeps any value, its truth choosing the directions, and its every forward then refuses
        # one that is not a bool (TypeError): so do RNN, GRU and LSTM (_check_bidirectional); Recurrent, not
        # torch's, refuses it when it is made
        if not self._bidirectional_checked_at_call:
            bidirectional = check_bool(name, "bidirectional", bidirectional)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.dtype = check_dtype(dtype, name)
        self.states = None  # per (layer, direction): each step's state, when forward(retain_states=True)
        self._warned_tape = False

    def _layer_input_size(self, layer):
        return self.input_size if layer == 0 else self.output_size * self.num_directions

    _bidirectional_checked_at_call = False   # RNN, GRU, LSTM: any value kept, refused at a call (as torch's)

    @property
    def bidirectional(self) -> Any:
        return self._bidirectional

    @bidirectional.setter
    def bidirectional(self, value: Any) -> None:
        """Kept as given (torch code may set it after construction; the directions stay those made). The fused
        calls' snapshots are dropped, so that the next call, which takes them again, checks the value
        (_check_bidirectional)."""
        self._bidirectional = value
        self.__dict__.pop("_fused_last", None)

    @property
    def dropout(self) -> float:
        return self._dropout

    @dropout.setter
    def dropout(self, value: float) -> None:
        """Checked when set, after construction too (torch code changes it between calls): torch's layer fails on a
        wrong value at its next call, and here `layer.dropout = None` ran on without dropout. A wrong type is a
        DropoutTypeError (torch's ValueError at construction, TypeError at a call), a value outside [0, 1] an
        ArgumentValueError (torch's ValueError at construction, RuntimeError at a call)."""
        try:
            self._dropout = check_float(type(self).__name__, "dropout", value, 0, 1)
        except TypeError as e:
            raise DropoutTypeError(str(e)) from None
        except ValueError as e:
            raise ArgumentValueError(str(e)) from None

    def _forward(self, input, hx, lengths, retain_states):
        """What each layer's forward(input, hx=None, lengths=None, retain_states=False) does (each
        layer defines forward itself, so that a misspelt argument's error names that layer)."""
        if isinstance(input, PackedSequence):  # torch's packed input: a padded batch and its lengths
            return self._forward_packed(input, hx, lengths, retain_states)
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got {type_name(input)}")
        shape = input._data.shape   # (numpy's: the engine's hot path makes no tr.Size)
        if len(shape) not in (2, 3) or shape[-1] != self.input_size or input.dtype != self.dtype:
            self._refuse_input(input)
        unbatched = len(shape) == 2
        x = input.reshape(shape[0], 1, shape[1]) if unbatched else input
        if self.batch_first and not unbatched:
            x = x.transpose(1, 0, 2)
        T, B, _ = x._data.shape
        if T == 0:   # (a ShapeError: a ValueError, and the RuntimeError torch raises)
            raise ShapeError(f"{type(self).__name__}: the input sequence is empty (seq length 0)")
        if lengths is not None:
            lengths = self._check_lengths(lengths, T, B, unbatched)
        states = None if hx is None else self._check_hx(hx, B, unbatched)

        output, finals = self._run_layers(x, states, lengths, retain_states)
        if self.batch_first and not unbatched:
            output = output.transpose(1, 0, 2)
        if len(finals) == 1:  # one layer, one direction: its final state slices are h_n as they are
            h_n = finals[0]
        else:
            h_n = tuple(concatenate([f[k] for f in finals], axis=0) for k in range(self.state_count))
        if unbatched:
            output = output.reshape(T, -1)
            h_n = tuple(h.reshape(h.shape[0], -1) for h in h_n)
        return output, (h_n if self.state_count > 1 else h_n[0])

    def _run_layers(self, x, states, lengths, retain_states):
        """Every layer and direction over x (T, B, F), time-major: (the last layer's output, the final
        state slices of each layer-direction in h_n's order)."""
        if retain_states is not False and retain_states is not True:   # "False" is truthy: never read as True
            retain_states = check_bool(type(self).__name__, "retain_states", retain_states)
        finals = []
        if retain_states or self.states is not None:  # (an attribute write is not free: Module.__setattr__)
            self.states = {} if retain_states else None
        layer_input = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                i = layer * self.num_directions + d
                state = tuple(s[i] for s in states) if states is not None else None
                retain = self.states.setdefault((layer, d), []) if retain_states else None
                out, final = self._run_by_plan(layer, d, layer_input, state, lengths, retain)
                outs.append(out)
                finals.append(final)
            layer_input = outs[0] if len(outs) == 1 else concatenate(outs, axis=2)
            if self._dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self._dropout, True)
        return layer_input, finals

    def _forward_packed(self, packed, hx, lengths, retain_states):
        """A PackedSequence in, a PackedSequence out (nn/sequences.py), as torch's layers do."""
        if lengths is not None:
            raise ValueError(f"{type(self).__name__}: pass lengths= or a PackedSequence, not both")
        padded = packed._current_padded()
        x = padded.swapaxes(0, 1) if self.batch_first else padded
        output, h_n = self._forward(x, hx, packed.lengths, retain_states)
        output = output.swapaxes(0, 1) if self.batch_first else output
        return packed._like(output), h_n   # torch's: the input's order and indices

    def _refuse_input(self, input):
        """Raise the error that says what is wrong with `input` (forward calls it only when something is): of the
        type torch raises (a ValueError for the number of dims, a RuntimeError for the feature size, a ValueError
        for the dtype), which the library's ShapeError and DTypeMismatchError are, beside its own ValueError and
        TypeError."""
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: input must be 3-D ({'batch, seq' if self.batch_first else 'seq, batch'}, "
                             f"input_size) or 2-D unbatched (seq, input_size), got shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input.shape[-1] must equal input_size: expected {self.input_size}, "
                             f"got {input.shape[-1]}")
        if input.dtype != self.dtype:
            fix = f"build the layer with dtype={input.dtype} or cast the input with .astype()"
            if input.dtype.kind != "f":   # (token ids where embeddings were meant: no int64 layer to build)
                fix = f"cast the input with .to({self.dtype}) (a layer's dtype is a float)"
            raise DTypeMismatchError(f"{name}: input dtype {input.dtype} does not match the parameters' {self.dtype}; "
                                     f"{fix}")

    def _check_lengths(self, lengths, T, B, unbatched):
        name = type(self).__name__
        arr = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths)
        if arr.ndim == 0 and unbatched:
            arr = arr.reshape(1)
        if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iu" or arr.ndim != 1:
            raise TypeError(f"{name}: lengths must be a 1-D sequence of ints, got {arr.dtype} array of shape "
                            f"{tuple(arr.shape)}")
        if arr.shape[0] != B:   # (LengthsError: a ValueError, and the RuntimeError torch's packing raises)
            raise LengthsError(f"{name}: lengths must have one entry per batch element: expected {B}, "
                               f"got {arr.shape[0]}")
        if np.any(arr < 1) or np.any(arr > T):
            bad = arr[(arr < 1) | (arr > T)][0]
            raise LengthsError(f"{name}: every length must be in [1, {T}] (the sequence length), got {bad}")
        return None if np.all(arr == T) else arr.astype(np.int64)

    def _check_hx(self, hx, B, unbatched):
        """hx's parts, shapes and dtypes. A wrong shape or count is a ShapeError and a wrong dtype a
        DTypeMismatchError: each also the RuntimeError torch raises there."""
        name = type(self).__name__
        multi = isinstance(hx, (tuple, list))
        if self.state_count == 1 and multi:   # torch's RNN and GRU take one Tensor (a tuple fails in their forward)
            raise TypeError(f"{name}: hx must be one Tensor (num_layers * num_directions, batch, hidden), got a "
                            f"{type(hx).__name__} of {len(hx)}")
        parts = hx if multi else (hx,)
        if len(parts) != self.state_count:
            raise ShapeError(f"{name}: hx must be a tuple of {self.state_count} tensors, got {len(parts)}")
        out = []
        LD = self.num_layers * self.num_directions
        for k, (p, size) in enumerate(zip(parts, self.state_sizes())):
            label = "hx" if self.state_count == 1 else f"hx[{k}]"
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: {label} must be a Tensor, got {type_name(p)}")
            expected = (LD, size) if unbatched else (LD, B, size)
            if p.shape != expected:
                raise ShapeError(f"{name}: {label} must have shape (num_layers * num_directions, "
                                 f"{'' if unbatched else 'batch, '}hidden) = {expected}, got {tuple(p.shape)}")
            if p.dtype != self.dtype:
                raise DTypeMismatchError(f"{name}: {label} dtype {p.dtype} does not match the parameters' "
                                         f"{self.dtype}")
            out.append(p.reshape(LD, 1, size) if unbatched else p)
        # one indexing node per state part; each (layer, direction) takes its slice of it
        return tuple(p.unbind(0) for p in out)

    def state_sizes(self) -> tuple[int, ...]:
        return (self.output_size,) * self.state_count

    # -- checkpointing: checkpoint=K / True, memory_budget= (the plans are in bptt_plan.py)
    def _set_bptt_policy(self, checkpoint, memory_budget):
        name = type(self).__name__
        expected = "None/False (store every step), True (every ~sqrt(T) steps) or a positive int K (every K steps)"
        if checkpoint is not None and not isinstance(checkpoint, (bool, int, np.integer)):   # '2', 2.5: a wrong type
            raise TypeError(f"{name}: checkpoint must be {expected}, got {type(checkpoint).__name__} {checkpoint!r}")
        if checkpoint is not None and not isinstance(checkpoint, bool) and checkpoint < 1:
            raise ValueError(f"{name}: checkpoint must be {expected}, got {checkpoint!r}")
        if memory_budget is not None and (isinstance(memory_budget, bool) or not isinstance(
                memory_budget, (int, float, np.integer, np.floating))):   # '1e6', True: a wrong type
            raise TypeError(f"{name}: memory_budget must be a positive number of bytes (or None: store every step), "
                            f"got {type(memory_budget).__name__} {memory_budget!r}")
        if memory_budget is not None and not 0 < memory_budget < np.inf:
            raise ValueError(f"{name}: memory_budget must be a positive number of bytes (finite: None stores every "
                             f"step), got {memory_budget!r}")
        if memory_budget is not None and checkpoint not in (None, False):
            raise ValueError(f"{name}: give checkpoint= or memory_budget=, not both (got checkpoint={checkpoint!r}, "
                             f"memory_budget={memory_budget!r})")
        self.checkpoint = None if checkpoint is False else checkpoint
        self.memory_budget = memory_budget

    def bptt_plan(self, T: int, B: int, layer: int = 0) -> Optional[tuple]:
        """The plan (bptt_plan.py) one layer-direction runs by for T steps of B sequences; None when
        every step is stored. memory_budget is shared equally by the layers and directions."""
        if self.memory_budget is not None:
            share = int(self.memory_budget // (self.num_layers * self.num_directions))
            return budget_plan(T, share - self._masks_bytes(layer, T, B), *self._bptt_bytes(layer, B))
        if self.checkpoint is True:   # (one thread: the backward runs one piece at a time)
            return sqrt_plan(T, SERIAL_SPAN if get_num_threads() == 1 else 1)
        return None if self.checkpoint is None else uniform_plan(T, int(self.checkpoint))

    def _bptt_bytes(self, layer, B):
        """(state_bytes, step_bytes) of one layer-direction: what a kept state holds, and what a recorded step
        keeps until its backward (an estimate). The fused kernels say what they keep per row (the states, the
        projections, the gates' values); the tape keeps several arrays per operation (a Recurrent layer's cell with
        hooks runs there, see Recurrent._run)."""
        item = np.dtype(self.dtype).itemsize
        sizes = self.state_sizes()
        state = B * sum(sizes) * item
        G, I = getattr(self, "gates", 1), self._layer_input_size(layer)
        kernel = self._planned_kernel(layer)
        if kernel is not None:
            per_row = kernel.kept_per_row(I)
        else:   # (a recorded step's dropout nodes hold their masks; a recomputed piece draws them again)
            per_row = (4 * G + 8) * sum(sizes) + I + self._tape_mask_columns(layer)
        return state, B * per_row * item

    def _tape_mask_columns(self, layer):
        """Numbers of the dropout masks one step of the layer's cells draws per sequence on the tape: none for
        the built-in layers (their `dropout=` is between layers, outside any plan); Recurrent counts its cell's."""
        return 0

    def _planned_kernel(self, layer):
        """The fused kernel a layer's cells run by, for the memory model; None where the layer runs the tape."""
        known = min(layer, self.num_layers - 1)   # (a layer's cell: what it keeps per row does not depend on I)
        hooked = ModuleHooks.made and any(has_hooks(self._cell(known, d)) for d in range(self.num_directions))
        if not (getattr(self, "fused", False) and fused_available()) or hooked:
            return None
        from ..compile.node import get_kernel
        return get_kernel(self._cell(known, 0), self.dtype)[0]

    def _masks_bytes(self, layer, T, B):
        """What the fused kernels keep of a cell's dropouts whatever the plan: the masks of all T steps (drawn
        once, read again by every rerun of a piece: compile/node.Kernel.draw_masks). The budget left for the
        plan is the share less these; a share they fill alone is refused, naming them."""
        kernel = self._planned_kernel(layer)
        if kernel is None:
            return 0
        masks = T * B * kernel.mask_columns() * np.dtype(self.dtype).itemsize
        share = int(self.memory_budget // (self.num_layers * self.num_directions))
        if masks and masks >= share:
            raise ValueError(f"{type(self).__name__}: memory_budget={self.memory_budget} bytes is too small: the "
                             f"cell's dropout masks of T={T} steps alone take {masks} bytes per layer-direction "
                             f"(its share is {share}); they are kept for the backward whatever the plan")
        return masks

    def _run_by_plan(self, layer, direction, x, state, lengths, retain):
        """_run, or by the policy's plan: the fused path as one node that recomputes inside compiled code
        (compile/segments.py), the generic tape piece by piece under tr.checkpoint (run_planned)."""
        if self.checkpoint is None and self.memory_budget is None or not is_grad_enabled():
            return self._run(layer, direction, x, state, lengths, retain)
        if retain is not None:
            raise ValueError(f"{type(self).__name__}: retain_states=True needs every step recorded; it cannot be "
                             "combined with checkpoint= or memory_budget=")
        plan = self.bptt_plan(x.shape[0], x.shape[1], layer)
        if plan is None or type(plan[0]) is Stored:
            return self._run(layer, direction, x, state, lengths, retain)
        call = self._fused_cell(layer, direction, x.dtype)
        if call is not None:   # one node that recomputes inside compiled code (compile/segments.py)
            return call.by_plan(plan)(x, state or (), lengths)

        def run(chunk, chunk_state, chunk_lengths):   # (chunk: in the direction's step order already)
            out, final = self._run(layer, direction, chunk, chunk_state, chunk_lengths, None, in_step_order=True)
            return out, tuple(f.reshape(f.shape[1:]) for f in final)

        # A reverse direction is reversed within lengths once, here, as its unplanned run does: the pieces then
        # run the steps of every sequence in the order that run meets them, so a cell's dropout draws its masks at
        # the same steps whatever the plan (pieces of time steps would give a sequence ending early the masks of
        # other steps).
        reverse = direction == 1
        out, final = run_planned(run, reverse_within_lengths(x, lengths) if reverse else x, state, lengths, plan)
        return (reverse_within_lengths(out, lengths) if reverse else out), _as_h_n_slices(final)

    def _fused_cell(self, layer, direction, dtype):
        """The compile/node.KernelCall of this layer-direction when it runs on the fused path, else None."""
        return None

    def _check_layer_direction(self, layer, direction):
        """kernel_source's arguments: in range, so that (0, 1) of a one-direction stack is not layer 1's."""
        name = type(self).__name__
        for what, value, count in (("layer", layer, self.num_layers), ("direction", direction, self.num_directions)):
            if check_int(name, what, value, 0) >= count:
                raise ValueError(f"{name}: {what} must be < num_{what}s = {count}, got {value}")

    def _warn_tape_once(self, why):
        """A fallback the user asked for (retain_states=True on a fused layer) is said once per layer."""
        if not self._warned_tape:
            self._warned_tape = True
            warn_user(f"{type(self).__name__}: running the generic tape ({why}); warned once per layer", RuntimeWarning)

    def _fused_call(self, layer, direction, dtype):
        """The compile/node.KernelCall of one layer-direction's fused call: kept from the last call while
        the cell holds the same attributes and its parameters the same arrays of the same shapes
        (compile/node.CellSnapshot), else looked up again (_known_kernel). An optimizer's in-place update
        keeps the arrays (the kernels read them as they are at each call); a .to(), a load that rebinds
        ._data or a new Parameter is a miss. A tiny layer's step is tens of microseconds: checking every
        setting by value per call showed."""
        return self._cell_snapshot(self._cell(layer, direction), layer, direction, dtype).call

    def _cell_snapshot(self, cell, layer, direction, dtype):
        """The compile/node.CellSnapshot of `cell` for one layer-direction, kept from the last call while it
        holds, under an int key in the layer's __dict__ (no tuple made per call)."""
        held = self.__dict__
        calls = held.get("_fused_last")   # (not setdefault: its default {} would be made every call)
        if calls is None:
            calls = held["_fused_last"] = {}
        last = calls.get(2 * layer + direction)
        if last is None or not last.holds(cell, dtype):
            from ..compile.node import CellSnapshot
            last = calls[2 * layer + direction] = CellSnapshot.take(cell, dtype, direction == 1,
                                                                    self._known_kernel(cell, dtype))
        return last

    def _known_kernel(self, cell, dtype):
        """(kernel, parameters) for `cell`, or None: then node.get_kernel looks it up by the cell's settings
        (traced when they changed)."""
        return None

    def __getstate__(self):
        """Copies and pickles leave out the fused path's caches (the kernels hold compiled modules, which
        cannot be copied); a copy makes its own at its first call."""
        return {k: v for k, v in self.__dict__.items() if k not in _FUSED_CACHES}

    def __setstate__(self, state: dict) -> None:
        """Unpickling: a layer pickled before `dropout` was a checked property kept it under "dropout"."""
        if "dropout" in state:
            state = dict(state)
            state["_dropout"] = state.pop("dropout")
        self.__dict__.update(state)

    def _zero_state(self, B):
        return tuple(Tensor(np.zeros((B, n), dtype=self.dtype)) for n in self.state_sizes())

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if getattr(self, "proj_size", 0):   # LSTM's, where torch's repr puts it
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:   # (as torch's repr: the value as given, 1 or "yes" too)
            s += f", bidirectional={self.bidirectional}"
        if self.checkpoint is not None:
            s += f", checkpoint={self.checkpoint}"
        if self.memory_budget is not None:
            s += f", memory_budget={self.memory_budget}"
        return s


def _run_unrolled(step, x, state, lengths, retain, reverse, project=None):
    """One direction on the generic tape: `unroll(step)` over x (T, B, F), in reverse within lengths
    when `reverse`. With `project` (a cell's input side, separated out), the input projections of all
    T steps are one matmul before the loop and `step` reads each step's slice of its result."""
    if reverse:
        x = reverse_within_lengths(x, lengths)
    T, B = x.shape[0], x.shape[1]
    if project is not None:
        xw = project(x.reshape(T * B, x.shape[2]))
        x = xw.reshape(T, B, xw.shape[-1])
    out, final = unroll(step, x.unbind(0), state, lengths, retain, _reverse_labels(T, lengths) if reverse else None)
    if reverse:
        out = reverse_within_lengths(out, lengths)
    return out, _as_h_n_slices(final)


def _as_h_n_slices(final):
    """A final state (a Tensor or tuple of Tensors (B, n)) as the tuple of (1, B, n) slices of h_n."""
    parts = final if isinstance(final, tuple) else (final,)
    return tuple(p.reshape(1, *p.shape) for p in parts)


def _try_cell(cell, input_size, dtype):
    """Run a user's cell once on zeros, unrecorded, so that a state of the wrong structure (e.g. a
    tuple state without state_sizes) is reported now, naming the cell, whichever path later runs
    it. A batch of 2, so that a cell unpacking one Tensor as `h, c = state` gets through to the
    check instead of failing inside its own code."""
    from ..tape import no_grad
    for k, n in enumerate(cell.sizes()):   # (zeros() would refuse them naming itself, not the cell's attribute)
        check_int(type(cell).__name__, f"state_sizes[{k}]", n, 0)
    with no_grad(), unhooked_calls():   # (not the user's call: no hooks, the cell's or its submodules')
        cell._checked_call(Tensor(np.zeros((2, input_size), dtype=dtype)))   # checks the new state


def _check_fused(name, fused, compile):
    """The one switch, fused=; compile= is its deprecated alias."""
    if compile is not None:
        warnings.warn(f"{name}(compile=...) is deprecated: use fused= (True: generated kernels, the default; "
                      "False: the generic tape; 'auto': the tape, with one warning, for a cell that cannot be "
                      "compiled)", DeprecationWarning, stacklevel=3)
        fused = compile
    # by type, not `in (False, True, "auto")`: 1 == True and 0.0 == False would pass that
    if not (isinstance(fused, (bool, np.bool_)) or (isinstance(fused, str) and fused == "auto")):
        raise ValueError(f"{name}: fused must be True, False or 'auto', got {fused!r}")
    return fused if isinstance(fused, str) else bool(fused)


class Recurrent(_StackedRecurrent):
    """Any cell as a layer: `tr.nn.Recurrent(MyCell, input_size, hidden_size, num_layers=2,
    bidirectional=True)` builds `MyCell(in, hidden_size, **cell_kwargs)` per layer and direction
    (layer l > 0 reads the previous layer's output, both directions concatenated).

    forward(input, hx=None, lengths=None, retain_states=False) -> (output, h_n) with torch's
    shapes; when the cell's state is a tuple, h_n (and hx) are tuples of stacked parts.

    fused=True (the default): each layer-direction runs as one node whose forward and BPTT are Numba
    kernels generated from the cell's own Tensor code (tinygrad_rnn/compile), compiled once per cell
    structure and cached on disk; a new batch size or sequence length reuses them. A cell using an
    operation the generator cannot compile raises CompileError here, at construction, naming the
    operation and the line of the cell that used it. fused=False runs the generic tape (the cell's
    step unrolled over T; cells that define `project_input` and `recurrence` get their input side
    hoisted out of the loop); fused='auto' runs the tape, with one warning, for a cell the generator
    cannot compile. A cell changed after construction (a parametrization registered, a weight replaced) is
    traced again at the next call: if it no longer compiles, fused=True raises the CompileError there and
    fused='auto' runs the tape from then on, with the same warning. retain_states=True runs the tape (it
    needs each step's state as a Tensor), with one warning per layer when fused. `compile=` is a deprecated
    alias of `fused=`.

    `layer.kernel_source(layer=0, direction=0)` returns the generated forward and BPTT (Python source).

    checkpoint=K keeps the state every K steps and recomputes the segments in the backward pass
    (checkpoint=True: K = ceil(sqrt(T)), 2 ceil(sqrt(T)) on one thread); memory_budget=bytes lets a
    planner choose what to keep (Gruslys et al. 2016). Gradients are unchanged; see bptt_plan.py and docs/memory.md.
    """

    def __init__(self, cell: type | Callable[..., C.RecurrentCell], input_size: int, hidden_size: int,
                 num_layers: int = 1, bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: npt.DTypeLike | None = None,
                 fused: bool | str = True, compile: bool | str | None = None, checkpoint: bool | int | None = None,
                 memory_budget: float | None = None, **cell_kwargs: Any) -> None:
        not_a_cell_class = isinstance(cell, type) and not issubclass(cell, C.RecurrentCell)
        if isinstance(cell, Module) or not callable(cell) or not_a_cell_class:
            got = (f"an instance of {type(cell).__name__}" if isinstance(cell, Module) else
                   f"the class {cell.__name__}, not a RecurrentCell" if isinstance(cell, type) else repr(cell))
            raise TypeError(f"Recurrent: cell must be a cell class such as tr.nn.LSTMCell (a subclass of "
                            f"tr.nn.RecurrentCell; Recurrent builds one per layer and direction), got {got}")
        fused = _check_fused("Recurrent", fused, compile)
        self._setup(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype)
        self._set_bptt_policy(checkpoint, memory_budget)
        if not bias:
            cell_kwargs["bias"] = False
        made = []
        for layer in range(num_layers):
            for _ in range(self.num_directions):
                in_size = input_size if layer == 0 else made[0].output_size * self.num_directions
                made.append(cell(in_size, hidden_size, dtype=self.dtype, **cell_kwargs))
                if not isinstance(made[-1], C.RecurrentCell):  # a factory function's product
                    raise TypeError(f"Recurrent: cell must build a tr.nn.RecurrentCell, got {type(made[-1]).__name__}")
        _try_cell(made[0], input_size, self.dtype)
        self.cells = made
        self.state_count = len(made[0].sizes())
        self.fused = fused

    @property
    def fused(self) -> bool | str:
        return self._fused

    @fused.setter
    def fused(self, value: bool | str) -> None:
        """Setting True traces every cell now: an operation that cannot be compiled raises here."""
        value = _check_fused("Recurrent", value, None)
        self.__dict__["_fused"] = value
        if value:
            self._prepare_kernels(value)

    @property
    def compile(self) -> bool | str:
        warnings.warn("Recurrent.compile is deprecated: use .fused", DeprecationWarning, stacklevel=2)
        return self._fused

    @compile.setter
    def compile(self, value: bool | str) -> None:
        warnings.warn("Recurrent.compile is deprecated: use .fused", DeprecationWarning, stacklevel=2)
        self.fused = value

    def _prepare_kernels(self, mode):
        from ..compile import CompileError
        from ..compile.node import get_kernel
        try:
            for cell in self.cells:
                if not (ModuleHooks.made and has_hooks(cell)):   # (a hooked cell runs on the tape while hooked)
                    get_kernel(cell, self.dtype)
        except CompileError as e:
            if mode != "auto":
                raise
            self._warn_auto_fallback(e)

    def _warn_auto_fallback(self, error):
        warn_user(f"Recurrent(fused='auto'): {type(self.cells[0]).__name__} runs on the generic tape: {error}",
                  RuntimeWarning)
        self.__dict__["_fused"] = False

    def kernel_source(self, layer: int = 0, direction: int = 0) -> str:
        """The generated forward and BPTT kernels (Python source for Numba) of one layer and direction."""
        from ..compile.node import get_kernel
        self._check_layer_direction(layer, direction)
        return get_kernel(self.cells[layer * self.num_directions + direction], self.dtype)[0].source

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, ...] | None = None,
                lengths: Optional[Sequence[int] | np.ndarray] = None, retain_states: bool = False) -> tuple:
        return self._forward(input, hx, lengths, retain_states)

    @property
    def output_size(self) -> int:
        return self.cells[0].output_size

    def state_sizes(self) -> tuple[int, ...]:
        return tuple(self.cells[0].sizes())

    def _run(self, layer, direction, x, state, lengths, retain, in_step_order=False):
        cell = self.cells[layer * self.num_directions + direction]
        hooked = ModuleHooks.made and has_hooks(cell)   # (one test while no module has ever had a hook)
        if self._fused:
            if retain is None and not hooked:   # (what run_fused does, its kernel and views kept: CellSnapshot)
                try:
                    return self._cell_snapshot(cell, layer, direction, x.dtype).call(x, state or (), lengths)
                except Exception as e:   # (a cell changed since construction is traced again here)
                    if not self._falls_back(e):
                        raise
            else:
                self._warn_off_kernels(cell, layer, direction, hooked, retain)
        if state is None:
            state = self._zero_state(x.shape[1])
        state = state if self.state_count > 1 else state[0]
        reverse = direction == 1 and not in_step_order
        if hooked:   # the cell called as a Module each step (Module.__call__: its hooks, its submodules')
            return _run_unrolled(cell, x, state, lengths, retain, reverse)
        if hasattr(cell, "project_input") and hasattr(cell, "recurrence"):
            return _run_unrolled(cell.recurrence, x, state, lengths, retain, reverse, cell.project_input)
        return _run_unrolled(cell.forward, x, state, lengths, retain, reverse)

    def _tape_mask_columns(self, layer):
        """Numbers of the dropout masks one step of the cell draws per sequence on the tape (what the compiled
        kernel's mask_columns counts, here without compiling: a recorded step's P.Dropout nodes hold them, a
        recomputed piece draws them again). The cell runs once on a row of zeros, unrecorded, watching its
        P.Dropout operations in this thread; the generator is put back as it was."""
        cell, thread = self._cell(min(layer, self.num_layers - 1), 0), threading.get_ident()
        bits = random.generator().bit_generator
        drawn_from, columns = bits.state, []

        def count(prim, inputs, outs, node, attrs):
            if prim is P.Dropout and threading.get_ident() == thread:
                columns.append(outs[0]._data.size)

        _forward_checks.append(count)
        try:
            with no_grad(), unhooked_calls():
                cell._checked_call(Tensor(np.zeros((1, self._layer_input_size(layer)), dtype=self.dtype)))
        finally:
            _forward_checks.remove(count)
            bits.state = drawn_from
        return sum(columns)

    def _warn_off_kernels(self, cell, layer, direction, hooked, retain):
        """Why a fused layer runs a layer-direction on the generic tape, said once per layer and reason."""
        if hooked and not self.__dict__.get("_warned_hooks"):
            self.__dict__["_warned_hooks"] = True   # (a plain flag: no Module.__setattr__ bookkeeping)
            warn_user(f"Recurrent: {type(cell).__name__} at cells[{layer * self.num_directions + direction}] (layer "
                      f"{layer}, direction {direction}) or a module inside it has hooks, which the fused kernels "
                      "cannot run: that layer-direction runs on the generic tape, calling the cell once per step "
                      "as a hand-written loop would, while it has them (handle.remove() brings the kernels back); "
                      "warned once per layer", RuntimeWarning)
        if retain is not None:
            self._warn_tape_once("retain_states=True needs each step's state as a Tensor")

    def _cell(self, layer, direction):
        return self.cells[layer * self.num_directions + direction]

    def _fused_cell(self, layer, direction, dtype):
        """The fused call of a plan (checkpoint=, memory_budget=), None when the layer-direction runs on the tape:
        fused=False, or hooks on its cell (then _run, by run_planned, calls the cell each step)."""
        if not self._fused or ModuleHooks.made and has_hooks(self._cell(layer, direction)):
            return None
        try:
            return self._fused_call(layer, direction, dtype)
        except Exception as e:
            if not self._falls_back(e):
                raise
            return None

    def _falls_back(self, error):
        """A cell changed since the layer was made (a parametrization registered, a weight replaced) is traced again
        at the call: with fused='auto', a CompileError then makes the layer run on the generic tape from now on,
        warned as at construction (True); with fused=True, or any other error, the caller raises it (False)."""
        from ..compile import CompileError
        if not isinstance(error, CompileError) or self._fused != "auto":
            return False
        self._warn_auto_fallback(error)
        return True


# a fused cell's weights, in _parameter_names' order
_CELL_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
_WEIGHT_NAMES = {}  # (layer, direction) -> torch's four parameter names, made once (forward reads them every call)


class _WeightsSnapshot:
    """A built-in layer-direction's fused call as last looked up (_TorchRecurrent._fused_snapshot) and what it
    depended on: the Tensors the layer held under the direction's parameter names and their arrays, with the
    arrays' shapes, and the names under which it held none (bias=False). While holds() is true the cell
    (pointed at those Tensors by _cell), its kernel and the kernel's views of the arrays (call.views,
    compile/node.Kernel.parameter_views) are the same; an optimizer's in-place update keeps the arrays (the
    kernels read them as they are at each call); a .to(), a load that rebinds ._data or a new Parameter is a
    miss. (Slots, not a NamedTuple: every call reads each of its fields, and a NamedTuple's field is a
    descriptor call, three times a slot's read.)"""

    __slots__ = ("held", "absent", "dtype", "call")

    def __init__(self, held, absent, dtype, call):
        self.held = held       # (name, the Tensor under it, its array, the array's shape) each
        self.absent = absent   # the names under which the layer held no Tensor
        self.dtype = dtype     # np.dtype
        self.call = call       # compile/node.KernelCall: what _TorchRecurrent._run calls

    @classmethod
    def take(cls, layer_dict, names, dtype, known, reverse):
        """known: (kernel, parameters) from _TorchRecurrent._known_kernel; the kernel's views are made here."""
        from ..compile.node import KernelCall
        held, absent = [], []
        for name in names:
            tensor = layer_dict.get(name)
            if tensor is None:   # bias=False
                absent.append(name)
            else:
                held.append((name, tensor, tensor._data, tensor._data.shape))
        kernel, params = known
        views = kernel.parameter_views([p._data for p in params])
        return cls(tuple(held), tuple(absent), np.dtype(dtype), KernelCall(kernel, params, views, reverse))

    def holds(self, layer_dict, dtype):
        """Whether the layer (its __dict__) still has these parameters and arrays, for `dtype`. (A loop: a
        map() over the names and Tensors runs half the bytecodes and took half as long again. Indexing, not
        .get(), a method call per parameter: a name deleted since raises, and is a miss.)"""
        if dtype is not self.dtype and dtype != self.dtype:
            return False
        try:
            for name, tensor, data, shape in self.held:   # (shape: an array's can be set in place)
                if layer_dict[name] is not tensor or tensor._data is not data or data.shape != shape:
                    return False
        except KeyError:
            return False
        for name in self.absent:
            if layer_dict.get(name) is not None:
                return False
        return True


class _TorchRecurrent(_StackedRecurrent):
    """RNN, GRU and LSTM: torch's flat parameters and names, and the fused fast path.

    checkpoint=K / True and memory_budget= trade time for memory in BPTT as in Recurrent."""

    gates = 1
    state_count = 1
    _bidirectional_checked_at_call = True
    mode = None  # torch's name of the recurrence: 'RNN_TANH', 'RNN_RELU', 'GRU', 'LSTM' (informative)
    proj_size = 0  # LSTM's projection of h (weight_hr_l{k}); 0: none

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: npt.DTypeLike | None = None, fused: bool = True,
                 checkpoint: bool | int | None = None, memory_budget: float | None = None) -> None:
        self._setup(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype)
        self._set_bptt_policy(checkpoint, memory_budget)
        self.fused = bool(_check_fused(type(self).__name__, fused, None))   # 'auto': True, every built-in compiles
        G, H, bound = self.gates, self.hidden_size, 1.0 / np.sqrt(self.hidden_size)
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                in_size = self._layer_input_size(layer)
                setattr(self, "weight_ih" + sfx, uniform((G * H, in_size), bound, self.dtype))
                setattr(self, "weight_hh" + sfx, uniform((G * H, self.output_size), bound, self.dtype))
                if bias:
                    setattr(self, "bias_ih" + sfx, uniform((G * H,), bound, self.dtype))
                    setattr(self, "bias_hh" + sfx, uniform((G * H,), bound, self.dtype))
                if self.proj_size:  # torch's order: each layer-direction's weight_hr after its biases
                    setattr(self, "weight_hr" + sfx, uniform((self.proj_size, H), bound, self.dtype))

    @property
    def output_size(self) -> int:
        return self.proj_size or self.hidden_size

    def reset_parameters(self) -> None:
        """Every parameter redrawn in place from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch's
        RNNBase.reset_parameters (torch code re-initialises a model by calling it on each module that has it)."""
        C.reset_uniform(self, self.hidden_size)

    def kernel_source(self, layer: int = 0, direction: int = 0) -> str:
        """The generated forward and BPTT kernels (Python source for Numba) of one layer and direction:
        generated from the cell's Tensor code in nn/cells.py, as for any tr.nn.Recurrent cell."""
        from ..compile.node import get_kernel
        self._check_layer_direction(layer, direction)
        return get_kernel(self._cell(layer, direction), self.dtype)[0].source

    def _known_kernel(self, cell, dtype):
        """(kernel, parameters) for compile/node.KernelCall: a built-in cell's structure is fixed by its
        class, its settings (fixed at construction) and its weights' shapes, so the kernel is looked up by
        those here instead of re-checking every attribute of the cell on every call."""
        params = tuple(p for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh,
                                   getattr(cell, "weight_hr", None)) if p is not None)
        key = (id(cell), np.dtype(dtype).str) + tuple(p.shape for p in params) + tuple(p.dtype.str for p in params)
        kernels = self.__dict__.setdefault("_fused_kernels", {})
        kernel = kernels.get(key)
        if kernel is None:
            from ..compile.node import get_kernel
            kernel = kernels[key] = get_kernel(cell, dtype)[0]
        return kernel, params

    def _fused_call(self, layer, direction, dtype):
        """The compile/node.KernelCall of one layer-direction's fused call (_fused_snapshot)."""
        return self._fused_snapshot(layer, direction, dtype).call

    def _fused_snapshot(self, layer, direction, dtype):
        """The _WeightsSnapshot of one layer-direction's fused call, kept from the last call while
        the layer holds the same Tensors under that direction's names, with the same arrays of the same
        shapes (_WeightsSnapshot): the cell is the layer's own and its settings are fixed at construction,
        so nothing else can change its kernel. Cheaper per call than Recurrent's check of every attribute of
        the cell (CellSnapshot), which a 20x1x10x20 step showed."""
        held = self.__dict__
        calls = held.get("_fused_last")   # (not setdefault: its default {} would be made every call)
        if calls is None:
            calls = held["_fused_last"] = {}
        last = calls.get(2 * layer + direction)   # (an int key: no tuple made per call)
        if last is not None and last.holds(held, dtype):
            return last
        self._check_bidirectional()   # (here, where a call takes its snapshot: none is kept for a refused value)
        if not fused_available():   # (warns once)
            return None
        names = self._parameter_names(layer, direction)
        if self._computes_weights(names):
            return self._computed_weights_call(layer, direction, dtype)
        cell = self._cell(layer, direction)
        last = calls[2 * layer + direction] = _WeightsSnapshot.take(
            vars(self), names, dtype, self._known_kernel(cell, dtype), direction == 1)
        return last

    def _check_bidirectional(self):
        """torch's TypeError at a call of a layer whose bidirectional is not a bool (np.True_ and 1 too): its
        RNNBase keeps any value when made, and its forward hands it to the recurrence, which refuses it. Checked
        where a call takes a fused snapshot (none is kept for such a value) or runs on the tape: a call that reuses
        a snapshot pays nothing."""
        value = self._bidirectional
        if type(value) is not bool:
            raise TypeError(f"{type(self).__name__}: bidirectional must be True or False, got {type_name(value)} "
                            f"{value!r} (torch's layer is made with any value and refuses it at every call, as here)")

    def _computes_weights(self, names):
        """Whether some of these weights are computed at each call rather than held as Parameters: a parametrized
        name (parametrize.py's property), or a Tensor a forward pre-hook sets (the old tr.nn.utils.weight_norm)."""
        held = vars(self)
        for name in names:
            tensor = held.get(name)
            if tensor is None and is_parametrized(self, name) or tensor is not None and type(tensor) is not Parameter:
                return True
        return False

    def _computed_weights_call(self, layer, direction, dtype):
        """A fused call on weights computed now (each read once, as torch's forward reads its _flat_weights once):
        the kernel runs on their arrays and its node takes the computed Tensors as inputs, so gradients flow
        through the parametrization to its originals. Not kept (the next call computes them again), and the
        kernel's views are made per call."""
        from ..compile.node import KernelCall
        tensors = self._layer_tensors(layer, direction)
        kernel, params = self._known_kernel(self._cell(layer, direction, tensors), dtype)
        computed = tuple(t for t in tensors if t is not None)
        return _WeightsSnapshot((), (), np.dtype(dtype), KernelCall(kernel, computed, None, direction == 1))

    def _parametrized_forward(self, input, hx, lengths, retain_states):
        """A parametrized layer's _forward (its class, made by parametrize.py, takes this one as its _forward, so an
        unparametrized layer's call pays nothing for it): the parametrized weights are computed once before the
        layers run, as torch's forward does (its _flat_weights), and read as often as torch's reads them
        (_read_flat_weights_as_torch)."""
        self.__dict__["_flat_weights_now"] = self._read_flat_weights_as_torch()
        try:
            return super()._forward(input, hx, lengths, retain_states)
        finally:
            del self.__dict__["_flat_weights_now"]

    def _read_flat_weights_as_torch(self):
        """name -> the parametrized weight this call uses. torch 2.13's forward reads each parametrized weight
        twice (hasattr, then getattr) in _init_flat_weights, and the first one twice more in _weights_have_changed
        before that: a parametrization with a side effect (spectral_norm's power iteration in training mode)
        runs that many times per call, so it does here too, and the numbers are torch's."""
        names = self._flat_weights_names
        for name in names:   # _weights_have_changed: up to the first weight that is not the Parameter held before
            if is_parametrized(self, name):
                getattr(self, name), getattr(self, name)
                break
            if not isinstance(vars(self).get(name), Parameter):   # (the old weight_norm's Tensor, new every call)
                break
        now = {}
        for name in names:   # _init_flat_weights
            if is_parametrized(self, name):
                getattr(self, name)
                now[name] = getattr(self, name)
        return now

    def _parameter_names(self, layer, direction):
        """The names of one layer-direction's parameters, in the order the fused cell holds them."""
        names = self._weight_names(layer, direction)
        if self.proj_size:
            names += (f"weight_hr_l{layer}" + ("_reverse" if direction else ""),)
        return names

    # -- torch's views of the flat parameters, for torch code that reads them
    def flatten_parameters(self) -> None:
        """Nothing to do, as torch's on the CPU (it lays the weights out for cuDNN): torch code that calls it
        (in forward, after a DataParallel replica is made) runs unchanged."""

    @property
    def _all_weights(self) -> list[list[str]]:
        """torch's names of each layer-direction's parameters, in its order: weight_ih, weight_hh, bias_ih,
        bias_hh (bias=True), weight_hr (proj_size > 0)."""
        return [[n for n in self._parameter_names(layer, d) if self.bias or not n.startswith("bias")]
                for layer in range(self.num_layers) for d in range(self.num_directions)]

    @property
    def _flat_weights_names(self) -> list[str]:
        """torch's flat list of parameter names (what its kernels take, in that order)."""
        return [n for names in self._all_weights for n in names]

    @property
    def _flat_weights(self) -> list[Tensor]:
        """The parameters in torch's flat order, read now (so a load or .to() that replaced them is seen)."""
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """Each layer-direction's parameters in torch's order, as torch's all_weights."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    # -- torch's argument checks, for torch code that calls them (a subclass's forward); forward checks on its own
    def check_input(self, input: Tensor, batch_sizes: Optional[Tensor]) -> None:
        """torch's RNNBase.check_input: the input's dtype that of the weights (ValueError), 2 dimensions for a
        packed input's data (batch_sizes given) else 3, and input_size features (RuntimeError), in torch's words."""
        weight = self._flat_weights[0]
        if input.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). Convert "
                             f"input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Optional[Tensor]) -> tuple[int, int, int]:
        """(num_layers * num_directions, batch, h's size: proj_size or hidden_size), as torch's."""
        return (self.num_layers * self.num_directions, self._mini_batch(input, batch_sizes), self.output_size)

    def _mini_batch(self, input, batch_sizes):
        if batch_sizes is not None:
            return int(batch_sizes[0])
        return input.size(0) if self.batch_first else input.size(1)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: tuple[int, ...],
                          msg: str = "Expected hidden size {}, got {}") -> None:
        """torch's: a RuntimeError (msg formatted with the expected size and hx's, as a list) unless hx has it."""
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.shape)))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes: Optional[Tensor]) -> None:
        """torch's: check_input, then the hidden state's size."""
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Tensor, permutation: Optional[Tensor]) -> Tensor:
        """hx with its batch (dim 1) reordered by permutation (a PackedSequence's indices), or hx for None."""
        return hx if permutation is None else hx.index_select(1, permutation)

    def _cell(self, layer, direction, tensors=None):
        """The cell that runs one layer-direction on the fused path: nn/cells.py's RNNCell / GRUCell /
        LSTMCell, made once, holding this layer's own parameters (pointed at them on every call, so a .to()
        or a load that replaces them is seen). Kept out of the module's registered attributes: the
        parameters belong to the layer, under torch's names.

        A weight computed at each call (a parametrization's) is not a Parameter the kernel can be traced with:
        the cell holds a stand-in Parameter of its shape instead (_stand_in), and the computed Tensors
        (`tensors`, from _layer_tensors, when the caller has them) are what the kernel's node takes."""
        cells = self.__dict__.setdefault("_fused_cells", {})
        cell = cells.get((layer, direction))
        if cell is None:
            cell = cells[layer, direction] = self._new_cell_unseeded(self._layer_input_size(layer))
            cell.__dict__["_inner_cell"] = True   # (global module hooks do not see it: torch's layer has no cell)
        names = self._parameter_names(layer, direction)
        if tensors is None:   # (computed weights are left None, not computed for a look at the cell's structure)
            tensors = tuple(vars(self).get(n) for n in names) if self._computes_weights(names) \
                else self._layer_tensors(layer, direction)
        held = cell.__dict__
        for attr, name, tensor in zip(_CELL_WEIGHTS, names, tensors):
            computed = tensor is not None and not isinstance(tensor, Parameter)
            if computed or tensor is None and is_parametrized(self, name):
                tensor = self._stand_in(cell, attr, tensor)
            held[attr] = tensor
        return cell

    def _stand_in(self, cell, attr, tensor):
        """The Parameter the cell holds for a computed weight: the cell's own first one while it has the computed
        weight's shape and dtype (the layer's when the weight is not computed yet: tensor None), else zeros of them."""
        own = cell.__dict__.setdefault("_own_parameters", {})
        stand_in = own.get(attr)
        if stand_in is None:
            stand_in = own[attr] = cell.__dict__[attr]   # (at the first call: the cell's own, of the layer's shape)
        shape = stand_in.shape if tensor is None else tensor.shape
        if stand_in.shape != shape or stand_in.dtype != self.dtype:
            stand_in = own[attr] = Parameter(np.zeros(shape, self.dtype))
        return stand_in

    def _layer_tensors(self, layer, direction):
        """(weight_ih, weight_hh, bias_ih, bias_hh) and, with proj_size, weight_hr, each read once (a parametrized
        one computed now)."""
        tensors = self.weights(layer, direction)
        if self.proj_size:
            tensors += (self._read(f"weight_hr_l{layer}" + ("_reverse" if direction else "")),)
        return tensors

    def _new_cell_unseeded(self, input_size):
        """_new_cell without moving the library's generator: the cell's own random weights are replaced by the
        layer's at once, and drawing them at the first fused call would change every later draw (dropout masks,
        the next module's initialisation), so the same seed would give fused=True and fused=False other numbers."""
        gen = random.generator().bit_generator
        seeded = gen.state
        try:
            return self._new_cell(input_size)
        finally:
            gen.state = seeded

    def weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor]]:
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction (biases None if bias=False)."""
        names = self._weight_names(layer, direction)
        d = vars(self)
        try:   # (a deleted parameter: named, not a KeyError, nor a bias silently left out)
            if self.bias:
                return d[names[0]], d[names[1]], d[names[2]], d[names[3]]
            return d[names[0]], d[names[1]], None, None
        except KeyError:   # a parametrized weight is a property of the class: computed now
            read = self._read
            return (read(names[0]), read(names[1])) + ((read(names[2]), read(names[3])) if self.bias else (None, None))

    def _read(self, name):
        """The layer's tensor under `name`: held, or computed by its parametrizations (parametrize.py)."""
        held = vars(self)
        tensor = held.get(name)
        if tensor is None and is_parametrized(self, name):
            this_call = held.get("_flat_weights_now")
            return this_call[name] if this_call is not None else getattr(self, name)
        if tensor is None:
            raise self._missing_parameter(name)
        return tensor

    def _missing_parameter(self, name):
        """The error for a parameter deleted from the layer (`del lstm.weight_hh_l0`): torch's layer runs on with the
        copy in its _flat_weights list; here the layer reads its parameters at each call, so the call is refused."""
        return AttributeError(f"{type(self).__name__}: the parameter {name} is missing (deleted?); set it again "
                              f"(layer.{name} = tr.nn.Parameter(...)) before calling the layer")

    @staticmethod
    def _weight_names(layer, direction):
        """torch's names of (weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction."""
        names = _WEIGHT_NAMES.get((layer, direction))
        if names is None:
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            names = tuple(w + sfx for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            _WEIGHT_NAMES[layer, direction] = names
        return names

    def _fused_cell(self, layer, direction, dtype):
        if not (self.fused and fused_available()):
            return None
        return self._fused_call(layer, direction, dtype)

    def _run(self, layer, direction, x, state, lengths, retain, in_step_order=False):
        if self.fused and retain is None:   # no state given: the kernels start from 0
            last = self._fused_snapshot(layer, direction, x.dtype)   # None: the kernels cannot be imported
            if last is not None:   # (what run_fused does, its kernel and views kept)
                return last.call(x, state or (), lengths)
        self._check_bidirectional()
        if retain is not None and self.fused:
            self._warn_tape_once("retain_states=True needs each step's state as a Tensor")
        w_ih, w_hh, b_ih, b_hh = self.weights(layer, direction)
        if state is None:
            state = self._zero_state(x.shape[1])

        def project(x2d):
            xw = x2d @ w_ih.T
            return xw + b_ih if b_ih is not None else xw

        w_hhT = w_hh.T  # once per sequence, not once per step
        step = self._recurrence(w_hhT, b_hh, layer, direction)
        return _run_unrolled(step, x, state if self.state_count > 1 else state[0], lengths, retain,
                             direction == 1 and not in_step_order, project)


class RNN(_TorchRecurrent):
    """Elman RNN layer, as torch.nn.RNN (nonlinearity 'tanh' or 'relu').

    nonlinearity (and mode, torch's 'RNN_TANH' or 'RNN_RELU') are fixed at construction: the layer's
    cells and fused kernels are built for it then. torch's RNN also decides at construction (its forward
    reads mode) and silently ignores a later `rnn.nonlinearity = 'relu'`; here that assignment raises."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: npt.DTypeLike | None = None, fused: bool = True,
                 checkpoint: bool | int | None = None, memory_budget: float | None = None, *,
                 proj_size: Any = None) -> None:
        _no_projection("RNN", proj_size)
        self._nonlinearity = check_choice("RNN", "nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype,
                         fused, checkpoint, memory_budget)

    @property
    def nonlinearity(self) -> str:
        return self._nonlinearity

    @nonlinearity.setter
    def nonlinearity(self, value: str) -> None:
        _fixed_at_construction("nonlinearity", value, self._nonlinearity)

    @property
    def mode(self) -> str:
        return "RNN_" + self._nonlinearity.upper()

    @mode.setter
    def mode(self, value: str) -> None:
        _fixed_at_construction("mode", value, self.mode)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, ...] | None = None,
                lengths: Optional[Sequence[int] | np.ndarray] = None, retain_states: bool = False) -> tuple:
        return self._forward(input, hx, lengths, retain_states)

    def _recurrence(self, w_hhT, b_hh, layer, direction):
        return lambda xw, h: C.rnn_recurrence(xw, h, w_hhT, b_hh, self._nonlinearity)

    def _new_cell(self, input_size):
        return C.RNNCell(input_size, self.hidden_size, self.bias, self.nonlinearity, dtype=self.dtype)


def _no_projection(owner, proj_size):
    """torch's RNN and GRU refuse proj_size (its base class's argument) with a ValueError, even 0."""
    if proj_size is not None:
        raise ValueError(f"{owner}: proj_size argument is only supported for LSTM, not RNN or GRU (got {proj_size!r})")


def _fixed_at_construction(name, value, current):
    raise AttributeError(f"RNN: {name} is fixed at construction (got {value!r}, the layer's is {current!r}): its "
                         "cells and fused kernels are built for it, and torch's RNN ignores a later change too. "
                         "Make a new tr.nn.RNN(..., nonlinearity=...) and load_state_dict() the weights")


class GRU(_TorchRecurrent):
    """GRU layer, as torch.nn.GRU (gate order r, z, n)."""

    gates, mode = 3, "GRU"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: npt.DTypeLike | None = None, fused: bool = True,
                 checkpoint: bool | int | None = None, memory_budget: float | None = None, *,
                 proj_size: Any = None) -> None:
        _no_projection("GRU", proj_size)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype,
                         fused, checkpoint, memory_budget)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, ...] | None = None,
                lengths: Optional[Sequence[int] | np.ndarray] = None, retain_states: bool = False) -> tuple:
        return self._forward(input, hx, lengths, retain_states)

    def _recurrence(self, w_hhT, b_hh, layer, direction):
        return lambda xw, h: C.gru_recurrence(xw, h, w_hhT, b_hh)

    def _new_cell(self, input_size):
        return C.GRUCell(input_size, self.hidden_size, self.bias, dtype=self.dtype)


class LSTM(_TorchRecurrent):
    """LSTM layer, as torch.nn.LSTM (gate order i, f, g, o); hx and h_n are (h, c) tuples.

    proj_size > 0 (torch's LSTMP): h_t = W_hr (o * tanh(c_t)), with weight_hr_l{k} (proj_size,
    hidden_size); h, the output and weight_hh's columns have proj_size, c keeps hidden_size."""

    gates, state_count, mode = 4, 2, "LSTM"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: npt.DTypeLike | None = None, fused: bool = True,
                 checkpoint: bool | int | None = None, memory_budget: float | None = None) -> None:
        self.proj_size = check_int("LSTM", "proj_size", proj_size, 0)
        if proj_size and isinstance(hidden_size, (int, np.integer)) and proj_size >= hidden_size:
            raise ValueError(f"LSTM: proj_size must be smaller than hidden_size ({hidden_size}), got {proj_size}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype,
                         fused, checkpoint, memory_budget)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | tuple[Tensor, ...] | None = None,
                lengths: Optional[Sequence[int] | np.ndarray] = None, retain_states: bool = False) -> tuple:
        return self._forward(input, hx, lengths, retain_states)

    def state_sizes(self) -> tuple[int, ...]:
        return (self.output_size, self.hidden_size)  # (h, c): h is projected, c is not

    def get_expected_cell_size(self, input: Tensor, batch_sizes: Optional[Tensor]) -> tuple[int, int, int]:
        """(num_layers * num_directions, batch, hidden_size): c's size (never projected), as torch's."""
        return (self.num_layers * self.num_directions, self._mini_batch(input, batch_sizes), self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden: tuple[Tensor, Tensor],  # type: ignore[override]
                           batch_sizes: Optional[Tensor]) -> None:
        """torch's LSTM.check_forward_args: check_input, then h's and c's sizes."""
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx: tuple[Tensor, Tensor],  # type: ignore[override]
                       permutation: Optional[Tensor]) -> tuple[Tensor, Tensor]:
        """(h, c) with their batch reordered by permutation, or hx for None, as torch's."""
        if permutation is None:
            return hx
        return hx[0].index_select(1, permutation), hx[1].index_select(1, permutation)

    def _recurrence(self, w_hhT, b_hh, layer, direction):
        if not self.proj_size:
            return lambda xw, state: C.lstm_recurrence(xw, state, w_hhT, b_hh)
        w_hrT = self._read(f"weight_hr_l{layer}" + ("_reverse" if direction else "")).T
        return lambda xw, state: C.lstm_recurrence(xw, state, w_hhT, b_hh, w_hrT)

    def _new_cell(self, input_size):
        return C.LSTMCell(input_size, self.hidden_size, self.bias, dtype=self.dtype, proj_size=self.proj_size)
