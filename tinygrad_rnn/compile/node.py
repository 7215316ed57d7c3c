"""A compiled cell on the tape: one layer-direction as ONE multi-output node, like nn/fused.py.

    kernel = get_kernel(cell, dtype)              # trace -> lower -> generate -> load, cached
    out, *final = run_compiled(cell, x, state, lengths)

CompiledRecurrence's inputs are x (T, B, I), each initial state part (B, n) and every parameter of
the cell; its outputs are the output sequence (T, B, n_0) (0 at padded steps) and each final state
part. Its backward returns one gradient per input, so the tape sends them on as for any primitive.
Around the generated loop (codegen.py) it does the products that need no loop: the input
projections (plus the biases folded into them) before it, and after it dx, the projections' weight
gradients and every recurrent weight's gradient (sum over steps of A_t^T dC_t), one matrix product
each (blas.py's gemm/gemm_nt/gemm_tn: one BLAS call, no transposed copies), and the vector parameters'
gradients that sumplan.SumPlan moved out of the loop (column sums).

The runtime is the hand-written kernels' (kernels/fused_rnn.py): the loops run on blocks of batch rows
through fused_rnn._run_on_batch_blocks (in parallel on several cores; the kernels release the GIL and
write only their own rows), and the large per-step arrays come from kernels/workspace.py.
"""
import threading
import weakref

import numpy as np

from ..kernels import workspace
from ..kernels.blas import gemm, gemm_nt, gemm_tn
from ..kernels.fused_rnn import _run_on_batch_blocks
from ..primitives import Primitive
from ..tensor import Tensor, apply
from .codegen import Generator, load_module
from .ir import stored_width
from .lower import lower
from .trace import _freeze, graph_key, trace_cell

_cache = {}
_lock = threading.Lock()


class Kernel:
    """The generated forward/backward of one (cell structure, sizes, dtype) and how to call them."""

    def __init__(self, prog, source, module):
        self.prog, self.source, self.module = prog, source, module
        gen = Generator(prog)
        self.forward_args, self.backward_args = gen.forward_args(), gen.backward_args()
        self.plan = gen.plan

    # -- the forward: projections, then the loop
    def forward(self, x, states, params, lengths):
        p = self.prog
        T, B, I = x.shape
        padded = lengths is not None
        lens = np.full(B, T, np.int64) if lengths is None else np.ascontiguousarray(lengths, dtype=np.int64)
        empty = workspace.allocator(T * B * max(self._widths(I)), p.dtype)
        arrays = {"lengths": lens, "X": np.ascontiguousarray(x)}
        for k, (n, s) in enumerate(zip(p.state_sizes, states)):
            S = arrays[f"S{k}"] = empty((T + 1, B, n), p.dtype)
            S[0] = s
        weights = self._projections(arrays, params, empty)
        self._step_buffers(arrays, params, empty, T, B, padded)
        _run_on_batch_blocks(self.module.forward, B, *[arrays[a] for a in self.forward_args])
        out = arrays["S0"][1:]
        if padded:
            out = out * (np.arange(T)[:, None] < lens[None, :])[:, :, None].astype(p.dtype)
        finals = tuple(arrays[f"S{k}"][T].copy() for k in range(len(p.state_sizes)))
        return out, finals, (arrays, weights, [params[g.param] for g in p.gemms], padded)

    def _widths(self, I):
        """The widths of the per-step arrays: how big the largest one is, for the workspace."""
        p = self.prog
        return ([I, 1] + list(p.state_sizes) + [pr.N for pr in p.projections] + [g.N for g in p.gemms]
                + [g.K for g in p.gemms] + [stored_width(n) for n in p.stored])

    def _projections(self, arrays, params, empty):
        """XW<i> = x @ W (+ the biases folded into it), all T*B rows in one product each."""
        p = self.prog
        x = arrays["X"]
        T, B, I = x.shape
        weights = {}
        for pr in p.projections:
            w = weights[pr.index] = np.ascontiguousarray(params[pr.param])
            xw = empty((T, B, pr.N), p.dtype)
            (gemm_nt if pr.transposed else gemm)(x.reshape(T * B, I), w, xw.reshape(T * B, pr.N), 0)
            folded = [f for f in p.folds if f.projection == pr.index]
            if folded:   # the biases the loop does not add (schedule.fold_biases)
                bias = np.zeros(pr.N, p.dtype)
                for f in folded:
                    bias[f.off:f.off + f.width] += params[f.param].reshape(-1)[f.param_off:f.param_off + f.width]
                xw += bias
            arrays[f"XW{pr.index}"] = xw
        return weights

    def _step_buffers(self, arrays, params, empty, T, B, padded):
        """The recurrent products' weights and results, gemm operands, stored values, vectors, constants."""
        p = self.prog

        def buffer(shape):   # rows after the last running one are not computed: zeros, as SumPlan may
            a = empty(shape, p.dtype)   # multiply them by a zero gradient (and they enter dW = A^T dC)
            if padded:
                a.fill(0)
            return a

        for g in p.gemms:
            w = params[g.param].T if g.transposed else params[g.param]
            arrays[f"Wt{g.index}"] = np.ascontiguousarray(w)
            arrays[f"C{g.index}"] = buffer((T, B, g.N))
            if g.a_state is None:
                arrays[f"GA{g.index}"] = buffer((T, B, g.K))
        for m, n in enumerate(p.stored):
            arrays[f"M{m}"] = empty((T, B, stored_width(n)), p.dtype)
        for m, n in enumerate(p.saved):
            arrays[f"A{m}"] = empty((T, B, n.width), p.dtype)
        for i, _ in p.vec_params:
            arrays[f"V{i}"] = np.ascontiguousarray(params[i].reshape(-1))
        for k, c in p.consts.items():
            arrays[f"K{k}"] = c

    def _vector_sums(self, args, rows, params):
        """The vector parameters' gradients the loop left out (sumplan.SumPlan, and the biases folded into
        the projections): sums over all rows. Returns the folded ones as {parameter index: gradient}."""
        T = args["X"].shape[0]
        done, column_sums = {}, {}

        def column_sum(grad):
            if grad not in column_sums:   # every column of the buffer at once: one pass (a BLAS gemv)
                a = args[grad].reshape(rows, -1)
                column_sums[grad] = np.ones(rows, a.dtype) @ a
            return column_sums[grad]

        folded = {}
        for f in self.prog.folds:   # a folded bias: its XW columns' gradient
            folded.setdefault(f.param, np.zeros(params[f.param].size, args["X"].dtype))[
                f.param_off:f.param_off + f.width] += column_sum(f"dXW{f.projection}")[f.off:f.off + f.width]
        for s in self.plan.sums:
            grad, goff, w = s.grad.source.grad_array, s.grad.off, s.width
            key = (grad, goff, w, s.factor)
            if key not in done:
                g = args[grad].reshape(rows, -1)[:, goff:goff + w]
                if s.factor is None:
                    done[key] = column_sum(grad)[goff:goff + w]
                else:
                    f = s.factor
                    a = args[f.source.array][f.shift:f.shift + T].reshape(rows, -1)[:, f.off:f.off + w]
                    done[key] = np.einsum("rj,rj->j", g, a)
            args[f"dV{s.param}"][s.off:s.off + w] += done[key]
        return folded

    # -- the backward: the loop, then the weight products
    def backward(self, saved, dout, dfinals, params, needs_params, need_dx=True):
        p = self.prog
        arrays, weights, gemm_params, padded = saved
        T, B, I = arrays["X"].shape
        args = self._gradient_buffers(arrays, gemm_params, dout, dfinals)
        _run_on_batch_blocks(self.module.backward, B, *[args[a] for a in self.backward_args])
        for i, _ in p.vec_params:   # the kernel keeps one row per sequence (threads never share a row)
            args[f"dV{i}"] = args[f"dV{i}"].sum(axis=0)
        folded = self._vector_sums(args, T * B, params)
        dparams = [None] * len(params)

        def add(i, g):
            g = g.reshape(params[i].shape)
            dparams[i] = g if dparams[i] is None else dparams[i] + g

        dx = self._input_side(args, weights, needs_params, add, need_dx)
        self._recurrent_weights(arrays, args, needs_params, add)
        for i, _ in p.vec_params:
            add(i, args[f"dV{i}"])
        for i, g in folded.items():
            add(i, g)
        return dx, tuple(args[f"dS{k}"] for k in range(len(p.state_sizes))), dparams

    def _gradient_buffers(self, arrays, gemm_params, dout, dfinals):
        p = self.prog
        T, B, I = arrays["X"].shape
        dt = p.dtype
        empty = workspace.allocator(T * B * max(self._widths(I)), dt)

        def zeros(shape):
            a = empty(shape, dt)
            a.fill(0)
            return a

        args = dict(arrays)
        for g, P_ in zip(p.gemms, gemm_params):
            # the product is A @ Wt with Wt = P.T (transposed) or P; dA = dC @ Wt^T
            args[f"P{g.index}"] = np.ascontiguousarray(P_ if g.transposed else P_.T)
        args["dOut"] = zeros((T, B, p.state_sizes[0])) if dout is None else np.ascontiguousarray(dout, dtype=dt)
        for k, n in enumerate(p.state_sizes):   # in: the final state's gradient; out: the initial state's
            d = dfinals[k]
            args[f"dS{k}"] = np.zeros((B, n), dt) if d is None else np.array(d, dtype=dt, order="C", copy=True)
        for g in p.gemms:
            args[f"dC{g.index}"] = zeros((T, B, g.N))
        for pr in p.projections:   # dXW is dC where the plan proved them equal (the kernel skips it)
            j = self.plan.alias.get(pr.index)
            args[f"dXW{pr.index}"] = zeros((T, B, pr.N)) if j is None else args[f"dC{j}"]
        args["dX"] = zeros((T, B, I)) if p.uses_x else np.zeros((1, 1, 1), dt)
        for i, n in p.vec_params:
            args[f"dV{i}"] = np.zeros((B, n), dt)
        return args

    def _input_side(self, args, weights, needs_params, add, need_dx):
        """dx (the loop's direct part plus dXW W^T per projection) and the projections' weight gradients,
        one BLAS call each (blas.py: no transposed copies)."""
        p = self.prog
        x = args["X"]
        T, B, I = x.shape
        if not (p.uses_x or p.projections):
            return None   # the cell never reads x: no gradient, as on the tape (so too for unread parameters)
        if p.uses_x or not need_dx:
            dx = args["dX"]      # (1, 1, 1) when the loop does not read x: then unused
        else:
            dx = workspace.allocator(T * B * I, p.dtype)((T, B, I), p.dtype)
        beta = 1 if p.uses_x else 0      # the loop's own part is in dX already
        x2, dx2 = x.reshape(T * B, I), (dx.reshape(T * B, I) if need_dx else None)
        for pr in p.projections:      # x @ W.T (transposed, W (N, I)) or x @ W (W (I, N))
            dxw = args[f"dXW{pr.index}"].reshape(T * B, pr.N)
            w = weights[pr.index]
            if need_dx:
                (gemm if pr.transposed else gemm_nt)(dxw, w, dx2, beta)
                beta = 1
            if needs_params[pr.param]:
                dw = np.empty(w.shape, p.dtype)
                if pr.transposed:
                    gemm_tn(dxw, x2, dw, 0)
                else:
                    gemm_tn(x2, dxw, dw, 0)
                add(pr.param, dw)
        return dx if need_dx else None

    def _recurrent_weights(self, arrays, args, needs_params, add):
        """Each recurrent weight's gradient: the sum over steps of A_t^T dC_t, one BLAS call over T*B rows."""
        T, B, _ = arrays["X"].shape
        for g in self.prog.gemms:
            if not needs_params[g.param]:
                continue
            a = arrays[f"S{g.a_state}"][:T] if g.a_state is not None else arrays[f"GA{g.index}"]
            a2, dc = a.reshape(T * B, g.K), args[f"dC{g.index}"].reshape(T * B, g.N)
            if g.transposed:   # A @ P.T with P (N, K)
                dw = np.empty((g.N, g.K), self.prog.dtype)
                gemm_tn(dc, a2, dw, 0)
            else:              # A @ P with P (K, N)
                dw = np.empty((g.K, g.N), self.prog.dtype)
                gemm_tn(a2, dc, dw, 0)
            add(g.param, dw)


_by_cell = weakref.WeakKeyDictionary()   # cell -> {its settings key: (kernel, graph)}


def _settings_key(cell, dtype):
    """What a cell's structure can depend on besides its code: its parameters (identity and shape) and
    its other attributes (nonlinearity, sizes, flags, constant arrays by value). None when some
    attribute cannot be compared."""
    params = tuple((name, id(p), p.shape, p.dtype.str) for name, p in cell.named_parameters())
    others = tuple(sorted((k, _freeze(v.data if isinstance(v, Tensor) else v)) for k, v in vars(cell).items()
                          if not (isinstance(v, Tensor) and v.requires_grad) and not k.startswith("_")))
    key = (np.dtype(dtype).str, params, others)
    try:
        hash(key)
    except TypeError:   # e.g. a dict attribute: trace every call instead
        return None
    return key


def get_kernel(cell, dtype):
    """The kernel for this cell's structure, sizes and dtype. A cell whose parameters and settings are
    unchanged since its last call reuses its kernel without tracing (a small layer's step is short
    enough for a trace to show); otherwise it is traced (twice, to check the structure, before a new
    kernel is made), and the kernel is generated and compiled once per process (and once per machine,
    through Numba's disk cache)."""
    key = _settings_key(cell, dtype)
    known = _by_cell.get(cell, {}).get(key) if key is not None else None
    if known is not None:
        return known
    found = _traced_kernel(cell, dtype)
    if key is not None:
        _by_cell.setdefault(cell, {})[key] = found
    return found


def _traced_kernel(cell, dtype):
    graph = trace_cell(cell, dtype, check=False)
    key = graph_key(graph, dtype)
    kernel = _cache.get(key)
    if kernel is None:
        with _lock:
            kernel = _cache.get(key)
            if kernel is None:
                graph = trace_cell(cell, dtype)   # raises if the operations depend on the data
                prog = lower(graph, dtype)
                source = Generator(prog).module_source()
                what = (f"{type(cell).__name__} ({np.dtype(dtype).name}, input {graph.input_size}, "
                        f"state {graph.state_sizes})")
                module = load_module(source, what)
                kernel = Kernel(prog, source, module)
                _cache[key] = kernel
    return kernel, graph


class CompiledRecurrence(Primitive):
    """(x, state parts..., params...) -> (output, final state parts...) for one layer and direction."""

    @staticmethod
    def forward(x, *rest, kernel, n_states, lengths):
        states, params = rest[:n_states], rest[n_states:]
        out, finals, saved = kernel.forward(x, states, params, lengths)
        return (out,) + finals, (saved, params)

    @staticmethod
    def backward(gs, saved, needs, kernel, n_states, lengths):
        saved, params = saved
        dout, dfinals = gs[0], gs[1:]
        dx, dstates, dparams = kernel.backward(saved, dout, dfinals, params, needs[1 + n_states:], needs[0])
        return (dx,) + tuple(dstates) + tuple(dparams)


def run_compiled(cell, x, state, lengths=None):
    """Run `cell` over x (T, B, I) Tensor from `state` (tuple of (B, n) Tensors) as one tape node.
    Returns (output (T, B, n_0), final state tuple)."""
    kernel, graph = get_kernel(cell, x.dtype)
    outs = apply(CompiledRecurrence, x, *state, *graph.params, kernel=kernel, n_states=len(state), lengths=lengths)
    return outs[0], tuple(outs[1:])
