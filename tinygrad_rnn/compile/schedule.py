"""Order one step's expressions (lower.py) into phases and column loops: the Program codegen.py writes.

  * Biases. A vector parameter added (through a chain of additions) to an input projection's columns
    is added to that projection once, before the loop, as the hand-written kernels do (`fold_biases`):
    the loop then reads the projection only; the bias's gradient is a column sum after the BPTT loop.
  * Phases. A gemm can run only after its left operand exists, and a per-row scalar (a reduction, a
    computed (batch, 1) value read by wider values) only after the loop that computed it. So a step runs
    as phases: each first runs its gemms, then its column loops, one per width (a Group). An
    expression's phase is the latest phase of what it reads: a gemm's result counts in the gemm's phase,
    a stored per-row scalar (Bcast) in the phase after the one that computed it.
  * Recomputed values. A cheap value (one addition or product of leaves, e.g. a layer norm's z - mean)
    is computed by every group that reads it rather than stored by one and loaded by the others: a
    store, a load and their gradients' traffic cost more than an operation (`inline_nodes`).
  * Stored values. A value one group computes and another reads is stored per step in M<m>, which the
    backward reads too. So is a value read in slices (ir.Whole: lower.py's chunked wide expressions), which
    counts, as a per-row scalar, in the phase after the one that computed it: its own loop runs first.
    The values of tanh, sigmoid and exp are saved per step (A<m>) for the backward,
    which recomputes everything else of a group from its leaves.
"""
import re

from .. import primitives as P
from .ir import (
    Bcast,
    Const,
    Fold,
    Group,
    Input,
    Lit,
    Node,
    Param,
    Phase,
    Product,
    Program,
    Projected,
    Read,
    Reduce,
    Whole,
)
from .rules import COPY, RULES


def _through(e):
    """The Node an expression reads through (a Bcast's, a Whole's), else the expression itself."""
    if isinstance(e, Bcast):
        return e.node
    if isinstance(e, Read) and isinstance(e.source, Whole):
        return e.source.node
    return e


def _walk(roots):
    """Every Node reachable from the expressions `roots` (through args, Bcast and Whole), by id."""
    nodes, stack = {}, list(roots)
    while stack:
        e = _through(stack.pop())
        if isinstance(e, Node) and e.id not in nodes:
            nodes[e.id] = e
            stack.extend(e.args)
    return nodes


def _roots(outputs, gemms):
    return [s.expr for segs in outputs for s in segs] + [s.expr for g in gemms for s in g.a_segs]


# ----------------------------------------------------------------------------- bias folding
def _projection_reads(nodes):
    """Per projection: the (off, width) column reads, and whether some read broadcasts one column."""
    reads, one_column = {}, set()
    for n in nodes.values():
        for a in n.args:
            if isinstance(a, Read) and isinstance(a.source, Projected):
                if a.bcast:
                    one_column.add(a.source)
                else:
                    reads.setdefault(a.source, []).append((a.off, a.width))
    return reads, one_column


def _use_counts(nodes, roots):
    uses = {}
    for e in roots + [a for n in nodes.values() for a in n.args]:   # a root counts as one more use
        e = _through(e)
        if isinstance(e, Node):
            uses[e.id] = uses.get(e.id, 0) + 1
    return uses


def fold_biases(outputs, gemms):
    """Turn each `projection slice + parameter slice` inside a chain of additions into the projection
    slice alone (the addition becomes a copy), when nothing else reads that projection slice. Returns
    the Folds (node.py adds the parameter into the projection before the loop)."""
    add = RULES[P.Add]
    roots = _roots(outputs, gemms)
    nodes = _walk(roots)
    uses = _use_counts(nodes, roots)
    reads, one_column = _projection_reads(nodes)

    def alone(r):   # this projection slice is read once, and no other read overlaps it
        overlapping = [x for x in reads[r.source] if x[0] < r.off + r.width and r.off < x[0] + x[1]]
        return r.source not in one_column and overlapping == [(r.off, r.width)]

    def in_chain(a, width):
        return isinstance(a, Node) and a.rule is add and a.width == width and uses.get(a.id) == 1

    children = {a.id for n in nodes.values() if n.rule is add for a in n.args if in_chain(a, n.width)}
    folds = []
    for root in sorted(nodes.values(), key=lambda n: n.id):
        if root.rule is add and root.width is not None and root.id not in children:
            folds += _fold_chain(root, in_chain, alone)
    return tuple(folds)


def _fold_chain(root, in_chain, alone):
    chain, terms, todo = [], [], [root]
    while todo:
        n = todo.pop()
        chain.append(n)
        for a in n.args:
            (todo if in_chain(a, root.width) else terms).append(a)
    xw = [a for a in terms if isinstance(a, Read) and isinstance(a.source, Projected) and not a.bcast]
    if len(xw) != 1 or not alone(xw[0]):
        return []
    folds = []
    for n in chain:
        vs = [k for k, a in enumerate(n.args) if isinstance(a, Read) and isinstance(a.source, Param) and not a.bcast]
        if len(vs) == 1:
            v = n.args[vs[0]]
            folds.append(Fold(xw[0].source.i, xw[0].off, v.source.i, v.off, v.width))
            n.rule, n.args, n.name = COPY, (n.args[1 - vs[0]],), "copy"
    return folds


# ----------------------------------------------------------------------------- phases and groups
def _needed(outputs, gemms):
    """The Nodes and gemm indices the new state depends on (a gemm only when its result is read)."""
    nodes, gemm_ids = {}, set()
    stack = [s.expr for segs in outputs for s in segs]
    while stack:
        e = _through(stack.pop())
        if isinstance(e, Read) and isinstance(e.source, Product) and e.source.i not in gemm_ids:
            gemm_ids.add(e.source.i)
            stack += [s.expr for s in gemms[e.source.i].a_segs]
        elif isinstance(e, Node) and e.id not in nodes:
            nodes[e.id] = e
            stack.extend(e.args)
    return nodes, gemm_ids


def _phases(nodes, gemms):
    """Phase of every node and needed gemm. Nodes in id order: a Node's arguments (and a gemm's
    operands) were made before it, so everything it reads has its phase already."""
    phase, gemm_phase = {}, {}

    def of(e):
        if isinstance(e, Lit):
            return 0
        if _through(e) is not e:   # a Bcast's or a Whole's node: computed in a phase before
            return phase[_through(e).id] + 1
        if isinstance(e, Read):
            return gemm_phase[e.source.i] if isinstance(e.source, Product) else 0
        return phase[e.id]

    for n in sorted(nodes.values(), key=lambda n: n.id):
        for a in n.args:
            if isinstance(a, Read) and isinstance(a.source, Product) and a.source.i not in gemm_phase:
                g = gemms[a.source.i]
                gemm_phase[g.index] = 0 if g.a_state is not None else max(phase[s.expr.id] + 1 for s in g.a_segs)
        phase[n.id] = max([of(a) for a in n.args] + [0])
    return phase, gemm_phase


def local_nodes(members, inline):
    """A group's nodes plus the per-row nodes and the cheap nodes (`inline`) it computes itself, in
    creation order."""
    seen, stack = {n.id: n for n in members}, list(members)
    while stack:
        for a in stack.pop().args:
            if isinstance(a, Node) and (a.width is None or a.id in inline) and a.id not in seen:
                seen[a.id] = a
                stack.append(a)
    return sorted(seen.values(), key=lambda n: n.id)


def _stored(nodes, groups, inline):
    """Nodes stored per step: per-row scalars read through Bcast, and values a group reads but another
    computes."""
    stored = {}
    for n in nodes.values():
        for a in n.args:
            read = _through(a)
            if read is not a:
                stored[read.id] = read
    for members in groups.values():
        ids = {n.id for n in members}
        for n in local_nodes(members, inline):
            for a in n.args:
                if isinstance(a, Node) and a.width is not None and a.id not in inline and a.id not in ids:
                    stored[a.id] = a
    return tuple(sorted(stored.values(), key=lambda n: n.id))


# Rules cheap enough to compute again in every group that reads them.
CHEAP = (RULES[P.Add], RULES[P.Sub], RULES[P.Mul], RULES[P.Scale], RULES[P.Neg], RULES[P.Detach], COPY)


def inline_nodes(nodes, kept, in_state):
    """Ids of the Nodes computed where they are read: one cheap operation on leaves, per-row values, the
    new state (`in_state`: readable at S<k>[t + 1] anywhere) or other such nodes (at most two operations
    in all), not stored anywhere (`kept`: the new state, gemm operands, values read through Bcast)."""
    cost = {}
    for n in sorted(nodes.values(), key=lambda n: n.id):
        if n.width is None or n.rule not in CHEAP or n.id in kept:
            continue
        total = 1
        for a in n.args:
            if isinstance(a, Node) and a.width is not None and a.id not in in_state:
                total = total + cost[a.id] if a.id in cost else 99
        if total <= 2:
            cost[n.id] = total
    return frozenset(cost)


def schedule(dtype, graph, outputs, projections, gemms, vec_params, consts):
    folds = fold_biases(outputs, gemms)
    nodes, gemm_ids = _needed(outputs, gemms)
    phase, gemm_phase = _phases(nodes, gemms)
    kept = ({s.expr.id for segs in outputs for s in segs} | {s.expr.id for g in gemms for s in g.a_segs}
            | {_through(a).id for n in nodes.values() for a in n.args if _through(a) is not a})
    in_state = {s.expr.id for segs in outputs for s in segs}   # the backward reads those from S<k>[t + 1]
    products = products_saved(nodes, in_state, {g.index: g.N for g in gemms})
    inline = inline_nodes(nodes, kept, in_state) - products
    groups = {}
    for n in sorted(nodes.values(), key=lambda n: n.id):
        if n.width is not None and n.id not in inline:
            groups.setdefault((phase[n.id], n.width), []).append(n)
    n_phases = max(list(phase.values()) + list(gemm_phase.values()) + [0]) + 1
    phases = tuple(Phase(tuple(gemms[i] for i in sorted(gemm_ids) if gemm_phase[i] == p),
                         tuple(Group(w, tuple(ms)) for (ph, w), ms in sorted(groups.items()) if ph == p))
                   for p in range(n_phases))
    stored = _stored(nodes, groups, inline)
    reads = {a for n in nodes.values() for a in n.args if isinstance(a, Read)}
    sources = {r.source for r in reads}
    return Program(dtype, graph.input_size, graph.state_sizes, outputs,
                   tuple(pr for pr in projections if Projected(pr.index) in sources),  # unread: no product
                   tuple(gemms[i] for i in sorted(gemm_ids)), phases, stored,
                   tuple((i, vec_params[i]) for i in sorted(vec_params) if Param(i) in sources),
                   {k: v for k, v in consts.items() if Const(k) in sources},
                   Input() in sources, folds, _saved(nodes, {n.id for n in stored} | in_state, products), inline)


# Rules whose value costs far more to recompute than to load, and that the backward reads: their own VJP (tanh,
# sigmoid, exp), or a product's (gelu's x * 0.5 * (erf(x / sqrt(2)) + 1) reads its erf term, a libm call per
# element, which the backward would otherwise make again).
SAVE = (RULES[P.Tanh], RULES[P.Sigmoid], RULES[P.Exp], RULES[P.Erf])


def _saved(nodes, ids, products=frozenset()):
    """Nodes the forward keeps per step for the backward (not those stored anyway: `ids`): the
    transcendental values, and `products` (products_saved)."""
    return tuple(n for n in sorted(nodes.values(), key=lambda n: n.id)
                 if n.width is not None and (n.rule in SAVE or n.id in products) and n.id not in ids)


def read_in_backward(nodes, available):
    """Ids of the Nodes whose values the backward reads: an argument a user's VJP names (a product's other
    factor), a node whose VJP names its own output, and the arguments of every such value it recomputes
    (all but `available`: the new state and the saved transcendental values, read where the forward left
    them). Users come after their arguments (larger ids), so one pass from the last node decides."""
    needed = set()
    for n in sorted(nodes.values(), key=lambda n: -n.id):
        if isinstance(n, Reduce):
            names, vjps = ("a",), (n.rule.vjp,)
        else:
            names, vjps = n.rule.inputs + ("c",), n.rule.vjps
        named = {w for v in vjps for w in _WORD.findall(v)}
        if "out" in named and not isinstance(n, Reduce):   # (a reduction's output is stored: M)
            needed.add(n.id)
        for name, a in zip(names, n.args):
            if isinstance(a, Node) and name in named:
                needed.add(a.id)
        if n.id in needed and n.id not in available:   # recomputed from its arguments
            needed.update(a.id for a in n.args if isinstance(a, Node))
    return needed


def products_saved(nodes, in_state, widths):
    """Ids of the values that read a recurrent product's result C<i> and that the backward reads: saved per
    step (A<m>), so that the backward does not read C<i> and C<i> is one step's (B, N) buffer, rewritten
    every step in cache, instead of T * B * N numbers written to memory and kept (codegen.step_only).
    The GRU's W_hn h + b_hn (read by r * (...)'s VJP): H numbers saved instead of 3H kept, as the
    hand-written kernel kept it. Only where every such value is a column value and they are narrower
    than the product together."""
    available = set(in_state) | {n.id for n in nodes.values() if n.width is not None and n.rule in SAVE}
    needed = read_in_backward(nodes, available)
    per_product = {}
    for n in nodes.values():
        for a in n.args:
            if isinstance(a, Read) and isinstance(a.source, Product) and n.id in needed and n.id not in available:
                per_product.setdefault(a.source.i, {})[n.id] = n
    saved = set()
    for i, readers in per_product.items():
        if all(n.width is not None and not isinstance(n, Reduce) for n in readers.values()) and \
                sum(n.width for n in readers.values()) < widths[i]:
            saved.update(readers)
    return frozenset(saved)


_WORD = re.compile(r"[A-Za-z_]\w*")
