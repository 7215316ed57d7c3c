"""Compiled cells: a cell written in Tensor operations runs as one generated Numba kernel.

    layer = tr.nn.Recurrent(MyCell, I, H, compile=True)     # every layer/direction compiled
    cc = tr.compile_cell(cell)                              # or one cell by hand
    out, final = cc(x, state, lengths=None)                 # x (T, B, I): one node on the tape
    print(cc.source)                                        # the generated forward and BPTT

How (one file per stage): trace.py runs the cell's forward once on placeholders and keeps the
recorded operations; lower.py turns each into typed expressions over feature columns (ir.py), one
lowering function per primitive, beside rules.py's scalar forward and VJP of each; schedule.py orders
them into phases of gemms and column loops; codegen.py writes the forward and the BPTT loops (sumplan.py
moves what it can of the vector parameters' gradients out of the loop); node.py records the run as
one node on the tape. Kernels are cached per (structure, sizes, dtype) in the process and on disk.

The tape stays the reference: tests/test_compile.py holds compiled cells - built-in and randomly
generated ones - to the generic unrolled layer, outputs and every gradient.
"""
import numpy as np

from ..tensor import Tensor
from .node import get_kernel, run_compiled
from .trace import CompileError

__all__ = ["compile_cell", "CompiledCell", "CompileError"]


class CompiledCell:
    """A cell bound to its compiled kernels. Calling it runs a whole sequence as one tape node."""

    def __init__(self, cell, dtype=None):
        self.cell = cell
        if dtype is None:
            params = list(cell.parameters())
            dtype = params[0].dtype if params else np.float32
        self.dtype = np.dtype(dtype)
        self.kernel, _ = get_kernel(cell, self.dtype)   # raises CompileError early, naming the operation

    @property
    def source(self):
        """The generated kernels' Python source (forward, then backward)."""
        return self.kernel.source

    def __call__(self, x, state=None, lengths=None):
        """x: (T, B, input_size) Tensor; state: a Tensor or tuple (B, n) (zeros if None).
        Returns (output (T, B, n_0), final state) with the state shaped as the cell's."""
        T, B = x.shape[0], x.shape[1]
        if state is None:
            state = tuple(Tensor(np.zeros((B, n), dtype=x.dtype)) for n in self.cell.sizes())
        parts = tuple(state) if isinstance(state, (tuple, list)) else (state,)
        if lengths is not None:
            lengths = np.asarray(lengths, dtype=np.int64)
            if np.all(lengths == T):
                lengths = None
        out, final = run_compiled(self.cell, x, parts, lengths)
        return out, (final if len(final) > 1 else final[0])


def compile_cell(cell, dtype=None):
    """Compile `cell` (any RecurrentCell whose forward uses supported operations); see CompiledCell."""
    return CompiledCell(cell, dtype)
