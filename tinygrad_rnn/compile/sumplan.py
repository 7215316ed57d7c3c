"""Which gradient contributions leave the BPTT loop, to become one numpy reduction each after it.

Gradients of vector parameters (biases, peepholes) would be accumulators written at every (t, b)
inside the loop, which stops LLVM vectorizing the column loop. When a parameter's contribution is
provably equal to a per-step buffer the backward keeps anyway, it is summed after the loop instead:
a bias added on the way to a product's result gets exactly that product's dC (or dXW), a peephole
w * c gets dC * c. Likewise dXW<i> is not written at all when it always equals dC<j> (the LSTM's
x W_ih^T and h W_hh^T are added): node.py reads dC<j> for both.
"""
from typing import NamedTuple, Optional

import numpy as np

from .. import primitives as P
from .ir import Input, Node, Param, Product, Projected, Read, Reduce, State
from .rules import RULES


class Kept(NamedTuple):
    """Columns from `off` of the gradient array of `source` (a Product or Projected) hold a cotangent."""
    source: object
    off: int


class Factor(NamedTuple):
    """The value of a source's array at every (t, b): rows [shift, shift + T), columns from off."""
    source: object
    shift: int
    off: int


class ColumnSum(NamedTuple):
    """dV<param>[off:off+width] += sum over (t, b) of the kept gradient's columns (times the factor)."""
    param: int
    off: int
    width: int
    grad: Kept
    factor: Optional[Factor]


def passes_g(user, i):
    """True when `user` passes its cotangent to argument i unchanged (and with the same columns); not to an
    argument without a VJP (a where's mask, a comparison's operands)."""
    return not isinstance(user, Reduce) and i < len(user.rule.vjps) and user.rule.vjps[i] == "g"


def all_nodes(members):
    """The groups' nodes and the per-row nodes they compute inline."""
    seen, stack = {n.id: n for n in members}, list(members)
    while stack:
        for a in stack.pop().args:
            if isinstance(a, Node) and a.id not in seen:
                seen[a.id] = a
                stack.append(a)
    return list(seen.values())


class SumPlan:
    """skip: {(node id, argument index)} contributions the loop does not write; sums: [ColumnSum];
    alias: {projection index: gemm index} whose dXW is dC."""

    def __init__(self, prog, stores):
        self.skip, self.sums, self.alias = set(), [], {}
        # every column node some loop computes (a cheap node no group owns included: schedule.inline_nodes)
        members = [n for n in all_nodes([n for ph in prog.phases for g in ph.groups for n in g.nodes])
                   if n.width is not None]
        cls = self._classes(members, stores)
        contrib, one_column = self._contributions(members)
        kept = self._kept(contrib, one_column, cls)
        for pr in prog.projections:
            self._alias(prog, pr, contrib, kept, cls)
        for (src, off, w), lst in contrib.items():
            if isinstance(src, Param):
                self._column_sums(src, off, w, lst, kept, cls, stores)

    @staticmethod
    def _classes(members, stores):
        """node id -> the node whose cotangent it equals (its only use passes it on unchanged)."""
        ids = {n.id for n in members}
        uses = {}
        for n in members:
            for i, a in enumerate(n.args):
                if isinstance(a, Node) and a.id in ids:
                    uses.setdefault(a.id, []).append((n, i))
        cls = {}
        for n in sorted(members, key=lambda n: -n.id):   # users were made after their arguments
            u = uses.get(n.id, [])
            if not stores.get(n.id) and len(u) == 1 and passes_g(*u[0]) and u[0][0].width == n.width:
                cls[n.id] = cls[u[0][0].id]
            else:
                cls[n.id] = n.id
        return cls

    @staticmethod
    def _contributions(members):
        """(source, off, width) -> [(node, arg index)] reading those columns of a parameter or product;
        and per source the single elements some node broadcasts."""
        contrib, one_column = {}, {}
        for n in all_nodes(members):
            for i, a in enumerate(n.args):
                if isinstance(a, Read) and isinstance(a.source, (Param, Projected, Product)):
                    if a.bcast:   # one column read by all: that element gets more than one contribution
                        one_column.setdefault(a.source, set()).add(a.off)
                    elif n.width is not None:
                        contrib.setdefault((a.source, a.off, a.width), []).append((n, i))
        return contrib, one_column

    @staticmethod
    def _kept(contrib, one_column, cls):
        """cotangent class -> Kept: a dC / dXW slice that holds exactly that cotangent."""
        kept = {}
        for (src, off, w), lst in sorted(contrib.items(), key=lambda kv: not isinstance(kv[0][0], Product)):
            if any(off <= o < off + w for o in one_column.get(src, ())) or any(
                    k[0] == src and k != (src, off, w) and k[1] < off + w and off < k[1] + k[2] for k in contrib):
                continue   # another read of these columns adds to the same gradient elements
            if not isinstance(src, Param) and len(lst) == 1 and passes_g(*lst[0]):
                kept.setdefault(cls[lst[0][0].id], Kept(src, off))
        return kept

    def _alias(self, prog, pr, contrib, kept, cls):
        keys = [k for k in contrib if k[0] == Projected(pr.index)]
        targets = set()
        for src, off, w in keys:
            lst = contrib[(src, off, w)]
            k = kept.get(cls[lst[0][0].id]) if len(lst) == 1 and passes_g(*lst[0]) else None
            targets.add(k.source if k is not None and isinstance(k.source, Product) and k.off == off else None)
        covered = np.zeros(pr.N, int)
        for _, off, w in keys:
            covered[off:off + w] += 1
        if len(targets) == 1 and None not in targets and np.all(covered == 1):
            j = next(iter(targets)).i
            if next(g for g in prog.gemms if g.index == j).N == pr.N:
                self.alias[pr.index] = j
                self.skip.update((n.id, i) for k in keys for n, i in contrib[k])

    def _column_sums(self, src, off, w, lst, kept, cls, stores):
        for n, i in lst:
            k = kept.get(cls[n.id])
            if k is None:
                continue
            if passes_g(n, i):
                factor = None
            elif not isinstance(n, Reduce) and n.rule is RULES[P.Mul]:
                factor = self._factor(n.args[1 - i], stores)
                if factor is None:
                    continue
            else:
                continue
            self.skip.add((n.id, i))
            self.sums.append(ColumnSum(src.i, off, w, k, factor))

    @staticmethod
    def _factor(a, stores):
        """Factor holding value `a` at every (t, b), padded rows finite; or None."""
        if isinstance(a, Read) and not a.bcast and isinstance(a.source, (State, Input, Projected, Product)):
            return Factor(a.source, 0, a.off)
        if isinstance(a, Node) and a.width is not None:
            for store in stores.get(a.id, ()):
                if isinstance(store.target, State):      # the new state: S<k>[t + 1]
                    return Factor(store.target, 1, store.start)
        return None
