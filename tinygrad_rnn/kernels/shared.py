"""Helpers compiled once per dtype and called by a fixed name (blas.py's gemm and products, compile/scalar.py's
row helpers), as the BLAS gemm itself is (blas.SYMBOLS).

Why: Numba compiles every callee's code into each caller again. A generated kernel that calls a helper
(a BLAS product, a loop adding rows) has the helper's code optimised and turned into machine code anew in
each of its functions that calls it, in every cold compile: for a cell's `project` and `grads`, most of
their compile time. A `Shared` helper is instead one cfunc per float dtype, cached with the package
(compiled once per install), whose address is bound under a fixed name (llvm.add_symbol); its callers
hold a call to that name only, and LLVM resolves it when their machine code is made or loaded from the
cache. The names are bound before the process loads any cached code (kernels.before_loading), or when a
caller is compiled (the call's typing), for the dtype it calls.

A call passes each argument as its kind says (`Shared(kinds=...)`):
    "rows"    a C-contiguous 2-D float array (a matrix), or in a call with time steps (`Shared.calling`)
              also a (T, B, n) block, of which those steps' rows take part: its data, rows, columns
    "vector"  a C-contiguous 1-D float array: its data and length
    "int"     an integer, as int64
    "float"   a number, as the arrays' float dtype
All float arrays are of one dtype (float32 or float64), which chooses the name called. Nothing is checked
at run time (a cfunc cannot raise): callers pass what the helper's docstring says, as generated code does
by construction; public functions check first (blas.gemm_nt).

The cfunc of a helper is made in the file that defines the helper's work (`make(nbtype)`), so that Numba's
cache of it goes stale with that file. Its arguments are the kinds' parts in order; it rebuilds the arrays
with numba.carray.
"""
import inspect

import numba
import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import before_loading

_DTYPES = ((np.float32, types.float32), (np.float64, types.float64))
_KINDS = ("rows", "vector", "int", "float")


class Shared:
    """A helper bound under `name` + "_f32" / "_f64". work(*args) is its work on the rebuilt arguments (2-D
    matrices for "rows"); make(nbtype) returns its cfunc for that dtype (a numba cfunc of the kinds' parts
    calling work, see the module docstring). What compiled code calls is an intrinsic (`calling`)."""

    def __init__(self, name, work, make, kinds):
        assert all(k in _KINDS for k in kinds), kinds
        self.name, self.work, self.make, self.kinds = name, work, make, tuple(kinds)
        self.cfuncs = {}   # dtype: the bound cfunc, kept alive for as long as the process runs
        before_loading(self.bind_all)

    def symbol(self, dtype):
        return self.name + ("_f32" if dtype == np.float32 else "_f64")

    def bind(self, dtype, nbtype):
        """Compile (or load from the cache) the cfunc of one dtype and bind its name, once."""
        if dtype not in self.cfuncs:
            self.cfuncs[dtype] = self.make(nbtype)
            llvm.add_symbol(self.symbol(dtype), self.cfuncs[dtype].address)

    def bind_all(self):
        if not numba.config.DISABLE_JIT:
            for dtype, nbtype in _DTYPES:
                self.bind(dtype, nbtype)

    def calling(self, *constants, steps=False):
        """An intrinsic: f(*args) calls the helper with `constants` (ints) before args, args as the kinds after
        the constants say. steps: f takes two more arguments, lo and hi, and each "rows" argument of three
        dimensions is a (T, B, n) block of which time steps [lo, hi) take part (the (hi - lo) * B rows from
        row lo * B), as if the caller had passed `block[lo:hi]` (Numba's slicing costs a caller's compile
        more: every slice is lowered with its clamping, in Numba's Python, then optimised by LLVM)."""
        shared = self
        kinds = self.kinds[len(constants):]
        if numba.config.DISABLE_JIT:   # plain Python: an intrinsic has no Python form
            return _in_python(self.work, constants, kinds, steps)

        def typer(typingctx, *args):
            dtype = _float_dtype(args[:len(kinds)], kinds, 3 if steps else 2)
            if dtype is None or (steps and not all(isinstance(a, types.Integer) for a in args[len(kinds):])):
                return None
            shared.bind(*[d for d in _DTYPES if d[1] == dtype][0])
            sig = types.void(*[types.unliteral(a) for a in args])

            def codegen(context, builder, signature, values):
                i64 = ir.IntType(64)
                span = [context.cast(builder, v, t, types.int64)
                        for v, t in zip(values[len(kinds):], signature.args[len(kinds):])]
                parts = [ir.Constant(i64, c) for c in constants]
                for kind, ty, value in zip(kinds, signature.args, values):
                    parts += _parts(context, builder, kind, ty, value, dtype, span)
                fnty = ir.FunctionType(ir.VoidType(), [p.type for p in parts])
                name = shared.symbol(np.float32 if dtype == types.float32 else np.float64)
                builder.call(cgutils.get_or_insert_function(builder.module, fnty, name), parts)
                return context.get_dummy_value()
            return sig, codegen

        # Numba passes a call's arguments as the typer's signature names them (a *args would be folded into
        # one tuple): one parameter per argument, as inspect reads __signature__.
        names = ["typingctx"] + [f"arg{i}" for i in range(len(kinds))] + (["lo", "hi"] if steps else [])
        typer.__signature__ = inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
        typer.__name__ = self.name
        return intrinsic(typer)


def _in_python(work, constants, kinds, steps):
    """What calling()'s intrinsic does, as Python on numpy arrays (for NUMBA_DISABLE_JIT=1)."""
    def call(*args):
        lo, hi = args[len(kinds):] if steps else (0, 0)
        rebuilt = [a if k != "rows" or a.ndim == 2 else _as_matrix(a[lo:hi]) for a, k in zip(args, kinds)]
        work(*constants, *rebuilt)
    return call


def _float_dtype(args, kinds, most_dims):
    """The one float dtype of the array arguments, or None when the arguments do not fit the kinds ("rows":
    2 to most_dims dimensions)."""
    if len(args) != len(kinds):
        return None
    arrays = [a for a, k in zip(args, kinds) if k in ("rows", "vector")]
    if not arrays or any(not isinstance(a, types.Array) or a.layout != "C" for a in arrays):
        return None
    dtype = arrays[0].dtype
    if dtype not in (types.float32, types.float64) or any(a.dtype != dtype for a in arrays):
        return None
    for a, k in zip(args, kinds):
        if (k == "rows" and not 2 <= a.ndim <= most_dims) or (k == "vector" and a.ndim != 1):
            return None
        if (k == "int" and not isinstance(a, types.Integer)) or (k == "float" and not isinstance(a, types.Number)):
            return None
    return dtype


def _as_matrix(a):
    """A C-contiguous (T, B, n) block as the matrix of its rows (numpy's reshape(-1, 0) is ambiguous)."""
    return a.reshape(a.shape[0] * a.shape[1], a.shape[2])


def _parts(context, builder, kind, ty, value, dtype, span):
    """The LLVM values one argument is passed as (see the kinds in the module docstring); span: [lo, hi]
    of a call with steps."""
    if kind == "int":
        return [context.cast(builder, value, ty, types.int64)]
    if kind == "float":
        return [context.cast(builder, value, ty, dtype)]
    array = context.make_array(ty)(context, builder, value)
    shape = cgutils.unpack_tuple(builder, array.shape, ty.ndim)
    if kind == "vector":
        return [array.data, shape[0]]
    if ty.ndim == 2:
        return [array.data, shape[0], shape[1]]
    lo, hi = span   # a (T, B, n) block's steps [lo, hi)
    step = builder.mul(shape[1], shape[2])
    return [builder.gep(array.data, [builder.mul(lo, step)]), builder.mul(builder.sub(hi, lo), shape[1]), shape[2]]
