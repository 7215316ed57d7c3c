"""Compiled cells: a cell written in Tensor operations runs as one generated Numba kernel.

    layer = tr.nn.Recurrent(MyCell, I, H)                   # fused=True: every layer/direction generated
    print(layer.kernel_source())                            # the generated forward and BPTT
    cc = tr.compile_cell(cell)                              # or one cell by hand
    out, final = cc(x, state, lengths=None)                 # x (T, B, I): one node on the tape

How (one file per stage): trace.py runs the cell's forward once on placeholders and keeps the
recorded operations; lower.py turns each into typed expressions over feature columns (ir.py), one
lowering function per primitive, beside rules.py's scalar forward and VJP of each; schedule.py orders
them into phases of gemms and column loops; codegen.py writes the forward and the BPTT loops (sumplan.py
moves what it can of the vector parameters' gradients out of the loop); node.py records the run as
one node on the tape. Kernels are cached per (structure, sizes, dtype) in the process and on disk.

The tape stays the reference: tests/kernels/test_compile.py holds compiled cells - built-in and randomly
generated ones - to the generic unrolled layer, outputs and every gradient.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from ..tensor import Tensor
from .node import get_kernel, run_compiled
from .trace import CompileError, refuse_hooks

__all__ = ["compile_cell", "CompiledCell", "CompileError"]


class CompiledCell:
    """A cell bound to its compiled kernels. Calling it runs a whole sequence as one tape node."""

    def __init__(self, cell: Any, dtype: Optional[npt.DTypeLike] = None) -> None:
        from ..nn.cells import RecurrentCell
        from ..nn.module import check_dtype
        if not isinstance(cell, RecurrentCell):   # a class, a layer or a number failed inside the trace
            got = f"the class {cell.__name__}" if isinstance(cell, type) else f"a {type(cell).__name__}"
            raise TypeError(f"compile_cell: cell must be a tr.nn.RecurrentCell instance (e.g. tr.nn.LSTMCell(3, 4)), "
                            f"got {got}")
        self.cell = cell
        params = list(cell.parameters())
        own = params[0].dtype if params else np.dtype(np.float32)
        self.dtype = own if dtype is None else check_dtype(dtype, "compile_cell")
        if params and self.dtype != own:   # the trace would fail inside the cell's own dtype check
            raise TypeError(f"compile_cell: dtype {self.dtype} does not match the cell's parameters' {own}; build "
                            f"the cell with dtype={self.dtype}")
        self.kernel, _ = get_kernel(cell, self.dtype)   # raises CompileError early, naming the operation

    @property
    def source(self) -> str:
        """The generated kernels' Python source, each an @njit function: project (the input products of all steps),
        forward, backward (the BPTT loop), grads (the weight gradients) and forward_states (the forward loop
        without the values only a backward reads: inference, a checkpointed piece's first run)."""
        return self.kernel.source

    def __call__(self, x: Tensor, state: Tensor | tuple[Tensor, ...] | None = None,
                 lengths: Any = None) -> tuple[Tensor, Tensor | tuple[Tensor, ...]]:
        """x: (T, B, input_size) Tensor of the cell's dtype; state: a Tensor or tuple of Tensors (B, n) as
        the cell's sizes() (zeros if None); lengths: B ints in [1, T] (packed-sequence semantics).
        Returns (output (T, B, n_0), final state) with the state shaped as the cell's."""
        refuse_hooks(self.cell)   # (a hook registered since the cell was compiled)
        self._check_x(x)
        T, B = x.shape[0], x.shape[1]
        parts = self._check_state(state, B)
        lengths = self._check_lengths(lengths, T, B)
        out, final = run_compiled(self.cell, x, parts, lengths)
        final = tuple(f.reshape(f.shape[1:]) for f in final)
        return out, (final if len(final) > 1 else final[0])

    def _name(self):
        return f"compile_cell({type(self.cell).__name__})"

    def _check_x(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self._name()}: x must be a Tensor, got {type(x).__name__}")
        I = int(self.cell.input_size)
        if x.ndim != 3 or x.shape[2] != I or x.shape[0] < 1:
            raise ValueError(f"{self._name()}: x must have shape (T >= 1, batch, input_size={I}), got {tuple(x.shape)}")
        if x.dtype != self.dtype:
            raise TypeError(f"{self._name()}: x has dtype {x.dtype}, expected the cell's {self.dtype}")

    def _check_state(self, state, B):
        sizes = tuple(int(n) for n in self.cell.sizes())
        if state is None:
            return tuple(Tensor(np.zeros((B, n), dtype=self.dtype)) for n in sizes)
        parts = tuple(state) if isinstance(state, (tuple, list)) else (state,)
        if len(parts) != len(sizes):
            raise ValueError(f"{self._name()}: state must have {len(sizes)} part(s) of sizes {sizes}, got {len(parts)}")
        for k, (p, n) in enumerate(zip(parts, sizes)):
            label = "state" if len(sizes) == 1 else f"state[{k}]"
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name()}: {label} must be a Tensor, got {type(p).__name__}")
            if p.shape != (B, n):
                raise ValueError(f"{self._name()}: {label} must have shape (batch, {n}) = {(B, n)}, got "
                                 f"{tuple(p.shape)}")
            if p.dtype != self.dtype:
                raise TypeError(f"{self._name()}: {label} has dtype {p.dtype}, expected the cell's {self.dtype}")
        return parts

    def _check_lengths(self, lengths, T, B):
        """lengths as a (B,) int64 array, or None when every sequence runs all T steps."""
        if lengths is None:
            return None
        arr = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths)
        if arr.dtype.kind not in "iu" or arr.ndim != 1:
            raise TypeError(f"{self._name()}: lengths must be a 1-D sequence of ints, got {arr.dtype} array of "
                            f"shape {tuple(arr.shape)}")
        if arr.shape[0] != B:
            raise ValueError(f"{self._name()}: lengths must have one entry per batch element: expected {B}, "
                             f"got {arr.shape[0]}")
        bad = arr[(arr < 1) | (arr > T)]
        if bad.size:
            raise ValueError(f"{self._name()}: every length must be in [1, {T}] (the sequence length), got {bad[0]}")
        return None if np.all(arr == T) else arr.astype(np.int64)


def compile_cell(cell: Any, dtype: Optional[npt.DTypeLike] = None) -> CompiledCell:
    """Compile `cell` (any RecurrentCell whose forward uses supported operations); see CompiledCell."""
    return CompiledCell(cell, dtype)
