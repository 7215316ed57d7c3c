"""Generate the compiled work outside the time loop: the input projections before it, the weight
gradients after it. codegen.py writes the loops; this file writes the two functions around them.

    project(X, <weights>, <folded biases>, <XW outputs>, a, b)
        XW<i>[a:b] = x[a:b] @ W (one product over all rows of the time slice) + the biases folded into it
    grads(<forward arrays>, <gradient buffers>, <gradient accumulators>, need, need_dx, assign, a, b)
        for the time slice [a, b): dx (the loop's own part plus dXW<i> W^T), each projection's weight
        gradient dXW^T x, each recurrent weight's sum over steps of A_t^T dC_t, and the vector parameters'
        gradients the loop left out (the folded biases' and sumplan.SumPlan's column sums); the loop's own
        per-row vector gradients (their columns of dV) are added once (by the slice that starts at 0).

Why generated and not a Python loop over the program's products: a tiny layer's whole step costs tens of
microseconds, and every numpy call from Python costs a few; here each is a compiled call. Why per time
slice: node.py runs them on several threads, a slice each, or pipelined against the loop (as the
loops run on blocks of rows). Accumulators are added to (beta 1), so slices may come in any order;
each thread gets accumulators of its own (node.py sums them). assign: one call covers every row and the
accumulators are uninitialised (np.empty): a parameter whose gradient is ONE product is assigned by it
(beta 0), every other accumulator grads writes is zeroed first. A tiny layer's one-thread step then makes
its weight gradients with np.empty, as 0.1's kernels did (np.zeros of a (20, 20) float32 cost about 0.15 us
more, each of the RNN's four gradients).

Names: par<i> is parameter i as the cell holds it (any shape), V<i> its flat view, g<i> and gV<i> its
gradient's accumulator as a matrix and as a flat view; need[i] says whether parameter i needs one.
"""
from typing import NamedTuple, Optional

from .ir import Projected, joined_runs


class _Source:
    def __init__(self):
        self.lines = []

    def __call__(self, indent, text):
        self.lines.append("    " * indent + text)

    def text(self):
        return "\n".join(self.lines) + "\n"


def vector_grad_columns(vec_params):
    """{i: its first column} of the vector parameters' per-row gradients in the one buffer dV (B, their
    columns together) that the backward loop writes and grads sums: one array to allocate and one argument
    to pass instead of one dV<i> each (a layer-norm LSTM's loop writes five)."""
    columns, off = {}, 0
    for i, n in vec_params:
        columns[i], off = off, off + n
    return columns


def _dedupe(names):
    seen = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


class OutsideWriter:
    """The source of `project` and `grads` for one Program and its SumPlan."""

    def __init__(self, prog, plan, loop_grads=None):
        """loop_grads: (i, size) of the vector parameters whose per-row gradients dV<i> the backward loop
        writes (Generator.loop_vector_grads); None: all of prog.vec_params."""
        self.prog, self.plan = prog, plan
        self.loop_grads = prog.vec_params if loop_grads is None else loop_grads
        self.dv_at = vector_grad_columns(prog.vec_params)
        self.dv_width = sum(n for _, n in prog.vec_params)   # dV's columns (node.py makes it)

    # ------------------------------------------------------------------ before the loop
    def project_args(self):
        p = self.prog
        return _dedupe(["X"] + [f"par{pr.param}" for pr in p.projections] + [f"V{f.param}" for f in p.folds]
                       + [f"XW{pr.index}" for pr in p.projections])

    def project_source(self):
        p, src = self.prog, _Source()
        src(0, "@njit(error_model='numpy', nogil=True)")
        src(0, f"def project({', '.join(self.project_args())}, a, b):")
        if not p.projections:
            src(1, "return")
            return src.text()
        for pr in p.projections:
            src(1, f"{'product_nt' if pr.transposed else 'product_nn'}(X, par{pr.param}, XW{pr.index}, 0, a, b)")
            folds = _merged_folds(f for f in p.folds if f.projection == pr.index)
            if folds:
                src(1, f"bias = zeros1(XW{pr.index}.shape[2], X)")
                for f in folds:
                    src(1, f"add_span(bias, {f.off}, V{f.param}, {f.param_off}, {f.width})")
                src(1, f"add_row_steps(XW{pr.index}, bias, a, b)")
        return src.text()

    # ------------------------------------------------------------------ after the loop
    def _grad_name(self, source):
        """The array holding the gradient of a Product's or Projected's values (dXW<i> may be dC<j>)."""
        if isinstance(source, Projected) and source.i in self.plan.alias:
            return f"dC{self.plan.alias[source.i]}"
        return source.grad_array

    def grads_args(self):
        p = self.prog
        names = ["X", "dX"]
        for pr in p.projections:
            names += [self._grad_name(Projected(pr.index)), f"par{pr.param}", f"g{pr.param}"]
        for g in p.gemms:
            names += [f"S{g.a_state}" if g.a_state is not None else f"GA{g.index}", f"dC{g.index}", f"g{g.param}"]
        for f in p.folds:
            names += [self._grad_name(Projected(f.projection)), f"gV{f.param}"]
        for s in self.plan.sums:
            names += [self._grad_name(s.grad.source), f"gV{s.param}"]
            if s.factor is not None:
                names.append(s.factor.source.array)
        for i, _ in self.loop_grads:
            names += ["dV", f"gV{i}"]
        return _dedupe(names)

    def grads_source(self):
        src = _Source()
        src(0, "@njit(error_model='numpy', nogil=True)")
        src(0, f"def grads({', '.join(self.grads_args())}, need, need_dx, assign, a, b):")
        assigned = self._assign_start(src)
        self._input_side(src, assigned)
        self._recurrent_weights(src, assigned)
        self._column_sums(src)
        if self.loop_grads:
            src(1, "if a == 0:   # the loop's per-row gradients of the vector parameters, added once")
            for i, _ in self.loop_grads:
                src(2, f"if need[{i}]:")
                src(3, f"add_columns(dV, {self.dv_at[i]}, gV{i})")
        return src.text()

    def _writes(self):
        """{parameter: how many times grads writes its accumulator} and the parameters whose one write is a
        product (projection or recurrent weight): those are assigned (beta 0) when `assign`."""
        p = self.prog
        counts = {}
        for i in ([pr.param for pr in p.projections] + [g.param for g in p.gemms]
                  + [param for b in self._sum_blocks() for param, _ in b.targets] + [i for i, _ in self.loop_grads]):
            counts[i] = counts.get(i, 0) + 1
        products = {pr.param for pr in p.projections} | {g.param for g in p.gemms}
        return counts, {i for i, n in counts.items() if n == 1 and i in products}

    def _assign_start(self, src):
        """With `assign`: beta of the assigned products, and the other accumulators grads writes zeroed.
        Returns the assigned parameters (_writes)."""
        counts, assigned = self._writes()
        if assigned:
            src(1, "beta = 0 if assign else 1   # (assign: the accumulators are np.empty)")
        others = sorted(set(counts) - assigned)
        if others:
            src(1, "if assign:   # the accumulators added to, from 0")
            flat = set(self.grads_args())
            for i in others:
                src(2, f"zero_flat(gV{i})" if f"gV{i}" in flat else f"zero_rows(g{i}, 0, g{i}.shape[0])")
        return assigned

    def _input_side(self, src, assigned):
        p = self.prog
        beta = "1" if p.uses_x else "0"     # the loop's own part of dx is in dX already
        if p.projections:
            src(1, "if need_dx:")
            for pr in p.projections:
                dxw = self._grad_name(Projected(pr.index))
                src(2, f"{'product_nn' if pr.transposed else 'product_nt'}({dxw}, par{pr.param}, dX, {beta}, a, b)")
                beta = "1"
        for pr in p.projections:
            dxw = self._grad_name(Projected(pr.index))
            src(1, f"if need[{pr.param}]:")
            beta = "beta" if pr.param in assigned else "1"
            src(2, f"product_tn({dxw}, X, g{pr.param}, {beta}, a, b)" if pr.transposed
                else f"product_tn(X, {dxw}, g{pr.param}, {beta}, a, b)")

    def _recurrent_weights(self, src, assigned):
        for g in self.prog.gemms:
            a = f"S{g.a_state}" if g.a_state is not None else f"GA{g.index}"
            dc = f"dC{g.index}"
            src(1, f"if need[{g.param}]:")
            beta = "beta" if g.param in assigned else "1"
            src(2, f"product_tn({dc}, {a}, g{g.param}, {beta}, a, b)" if g.transposed
                else f"product_tn({a}, {dc}, g{g.param}, {beta}, a, b)")

    def _column_sums(self, src):
        """Each distinct (gradient columns, factor) is summed once into a local array, then added to every
        parameter slice it is the gradient of (the LSTM's b_ih and b_hh share one), or straight into the one
        slice it is the gradient of (_direct_target). All the sums of one gradient array are one pass over
        its rows (_passes)."""
        for one in _passes(joined_runs(self._sum_blocks(), _sum_continues)):
            _emit_pass(src, one)

    def _sum_blocks(self):
        """The distinct column sums, in order: one per fold's bias and per SumPlan sum, with their targets."""
        blocks = {}
        for f in self.prog.folds:
            key = (self._grad_name(Projected(f.projection)), f.off, f.width, None, 0, 0)
            blocks.setdefault(key, []).append((f.param, f.param_off))
        for s in self.plan.sums:
            f = s.factor
            factor = (None, 0, 0) if f is None else (f.source.array, f.shift, f.off)
            key = (self._grad_name(s.grad.source), s.grad.off, s.width) + factor
            blocks.setdefault(key, []).append((s.param, s.off))
        return [_SumBlock(*key, targets) for key, targets in blocks.items()]


class _SumBlock(NamedTuple):
    """targets[i] (param, offset) += the sum over rows of grad[:, off:off + width] (times factor's columns
    foff:foff + width at time step shift later, when factor is not None)."""
    grad: str
    off: int
    width: int
    factor: Optional[str]
    shift: int
    foff: int
    targets: list


def _sum_continues(a, b):
    """Whether column sum b continues a in every column (the LSTM's bias gradient is four per-gate sums
    of 64 columns: one of 256)."""
    if (a.grad, a.factor, a.shift) != (b.grad, b.factor, b.shift) or b.off != a.off + a.width:
        return False
    if a.factor is not None and b.foff != a.foff + a.width:
        return False
    return [p for p, _ in a.targets] == [p for p, _ in b.targets] and all(
        tb == ta + a.width for (_, ta), (_, tb) in zip(a.targets, b.targets))


class _Sum(NamedTuple):
    """One sum of a pass over a gradient array's rows: cs[j] += row[off + j] (times the factor array's
    column foff + j, `shift` steps later, when factor is not None), j < width. blocks: the _SumBlocks it
    holds, each added to its targets from column block.off - off of cs (several plain ones in a span)."""
    off: int
    width: int
    factor: Optional[str]
    shift: int
    foff: int
    blocks: list


class _Pass(NamedTuple):
    """All the sums over the rows of one gradient array."""
    grad: str
    sums: list


def _passes(blocks):
    """One _Pass per gradient array, in order of first appearance. Its plain sums (no factor) are one
    span from the first's first column to the last's last, where they cover at least half of it: the
    GRU's three sums of dXW0's and dC0's column blocks took 0.74 ms as three loops, 0.28 ms as two
    (1000x8x32x64); each sum with a factor is one of its own."""
    by_grad = {}
    for s in blocks:
        by_grad.setdefault(s.grad, []).append(s)
    return [_Pass(grad, _plain_sums([s for s in group if s.factor is None])
                  + [_Sum(s.off, s.width, s.factor, s.shift, s.foff, [s]) for s in group if s.factor is not None])
            for grad, group in by_grad.items()]


def _plain_sums(blocks):
    """The _Sums of one gradient array's plain blocks: one span, or one per block when they are sparse."""
    if not blocks:
        return []
    group = joined_runs(sorted(blocks, key=lambda b: b.off), _sum_continues)
    lo, hi = group[0].off, max(b.off + b.width for b in group)
    if len(group) == 1 or 2 * sum(b.width for b in group) >= hi - lo:
        return [_Sum(lo, hi - lo, None, 0, 0, group)]
    return [_Sum(b.off, b.width, None, 0, 0, [b]) for b in group]


def _emit_pass(src, one):
    """Every sum of one gradient array (a peephole LSTM's bias span and its three column dots with c, all
    over dC0) in ONE pass over its rows: each row is read once, while it is in cache. Separate passes read
    the T * B rows, mostly out of cache, once per sum: 1000x8x32x64's peephole grads took 0.6 ms for its
    three dots, 0.2 ms in one pass with the bias sum (CPU, one core). Each sum's loop has its width as a
    literal: LLVM vectorises it without a remainder (4x faster than a width read at run time)."""
    src(1, f"if {_any_need([b for s in one.sums for b in s.blocks])}:")
    src(2, f"rows = time_rows({one.grad}, a, b)")
    factors = _dedupe([(s.factor, s.shift) for s in one.sums if s.factor is not None])
    for m, (factor, shift) in enumerate(factors):
        src(2, f"fac{m} = time_rows({factor}, {_plus('a', shift)}, {_plus('b', shift)})")
    direct = _accumulators(src, one.sums)
    _row_loop(src, one.sums, factors)
    for k, s in enumerate(one.sums):
        if direct[k] is None:   # (a direct sum is already in its target)
            for block in s.blocks:
                _adds(src, block, f"cs{k}", s)


def _accumulators(src, sums):
    """cs<k>, where each sum is added up: the gradient slice itself where it is the sum's only target
    (_direct_target), else a fresh zero array whose columns are then added to the targets (_adds). Returns
    the direct targets (None for a fresh one)."""
    guard = _dedupe([p for s in sums for b in s.blocks for p, _ in b.targets])
    direct = [_direct_target(s) for s in sums]
    for k, s in enumerate(sums):
        fresh = f"zeros1(np.int64({s.width}), X)"
        if direct[k] is None:
            src(2, f"cs{k} = {fresh}")
            continue
        param, poff = direct[k]
        view = f"gV{param}[{poff}:{poff + s.width}]"
        # (a target not needed is a size-0 placeholder: the sum goes to a fresh array then, unread)
        src(2, f"cs{k} = {view}" if guard == [param] else f"cs{k} = {view} if need[{param}] else {fresh}")
    return direct


def _row_loop(src, sums, factors):
    """The loop over the rows: cs<k>[j] += row[off + j] (times its factor). Sums of one width share one
    j-loop (the peephole's three dots with c): each loop over a row costs LLVM's checks that its arrays do
    not overlap before the vector code, about as much as 20 columns' work; at 20x1x10x20 the three dots
    took 0.5 us as three loops, 0.1 us as one (CPU, one thread, the generated grads timed with either)."""
    src(2, "for r in range(rows.shape[0]):   # (each loop's width a literal: LLVM vectorises it whole)")
    src(3, "row = rows[r]")
    for width in _dedupe([s.width for s in sums]):
        src(3, f"for j in range({width}):")
        for k, s in enumerate(sums):
            if s.width != width:
                continue
            term = f"row[{_plus(s.off, 'j')}]"
            if s.factor is not None:
                term += f" * fac{factors.index((s.factor, s.shift))}[r, {_plus(s.foff, 'j')}]"
            src(4, f"cs{k}[j] += {term}")


def _direct_target(s):
    """(param, offset) when the sum's columns are all of one parameter slice's gradient and of nothing
    else's (a peephole weight's, a GRU's b_hn): it is summed straight into that slice of gV<param>, as every
    accumulator is added to (assign: zeroed first, _assign_start). A fresh zeros1 and an add_span after it
    cost a tiny layer's grads about 0.1-0.2 us each (the peephole has three)."""
    if len(s.blocks) != 1 or len(s.blocks[0].targets) != 1:
        return None
    block = s.blocks[0]
    return block.targets[0] if (block.off, block.width) == (s.off, s.width) else None


def _adds(src, block, cs, s):
    """A block's columns of `cs` (the array of sum s) added to each of its targets."""
    for param, poff in block.targets:
        src(2, f"if need[{param}]:")
        src(3, f"add_span(gV{param}, {poff}, {cs}, {block.off - s.off}, {block.width})")


def _any_need(blocks):
    """The condition that any of the blocks' targets needs a gradient (need[i] or ...)."""
    return " or ".join(f"need[{param}]" for param in _dedupe([p for s in blocks for p, _ in s.targets]))


def _plus(a, b):
    """The code a + b, where one of them is a literal number that may be 0."""
    if not a or not b:
        return str(b or a)
    return f"{a} + {b}"


def _merged_folds(folds):
    """One fold per parameter where its pieces continue each other (the LSTM's b_ih is folded per gate)."""
    return joined_runs(sorted(folds, key=lambda f: (f.param, f.param_off)), _fold_continues)


def _fold_continues(a, b):
    return (b.param, b.off, b.param_off) == (a.param, a.off + a.width, a.param_off + a.width)
