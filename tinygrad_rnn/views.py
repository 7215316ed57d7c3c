"""Views: tensors that share another tensor's memory, and the leaf whose memory that is.

An operation that returns a view (x.T, x[0], x.reshape(...), x.detach(): numpy views of the input's array)
makes a second Tensor over the same memory. The tape's version counters (tape.py) and the in-place writes'
checks (inplace.py) need to know which leaf a tensor's memory belongs to: an in-place write bumps that leaf's
version, and graphs that saved the view check it. Two cases: a view made while recording is a node of one
of torch's view operations (_VIEW_PRIMS), followed back through the graph to its leaf (_memory_leaf); a view
made without recording (under no_grad(), or of tensors that need no gradient) has no node, so apply notes
its base leaf on it when it is made (_note_view_bases).

tape.py imports this module rather than name the view operations itself (its walk knows no primitive). This
module imports numpy and primitives.py; it never needs the Tensor class (it reads the tensors' attributes).
"""
import weakref

import numpy as np

from . import primitives as P

_VIEW_PRIMS = frozenset((P.Reshape, P.Expand, P.Transpose, P.GetItem, P.Split, P.Unstack,   # torch's views:
                         P.Diagonal, P.Unfold, P.AsStrided))   # the only primitives whose results share memory


def _is_view_node(node):
    """Whether a node is one of torch's view operations (x[idx] with index arrays is not: it copies)."""
    return node.prim in _VIEW_PRIMS and not (node.prim is P.GetItem and not P.is_basic_index(node.attrs["index"]))


def _note_view_bases(tensors, inputs):
    """An unrecorded result that views an input's memory (w.T, x[0], x.detach() of a frozen weight) keeps that
    input's base Tensor: a view has no version of its own, and in-place writes (load_state_dict, an optimizer
    step, x += 1) bump the base's, so an operation recorded later that saves the view checks the base's
    version (_edges). Only a leaf is kept: a view of a computed tensor must not hold it, and with it the graph
    that made it; it is marked instead, with a weak reference to the node that made that memory, on which an
    in-place write of the view is noted (tape.note_computed_write), so that a backward that saved those values
    refuses, as torch's. A view of a recorded view of a leaf (p[0] taken with grad mode on, then its row under
    no_grad()) is that leaf's memory: its base is the leaf.

    The base is marked `_viewed` (a recorded in-place write, which gives a tensor a new array, is refused on it:
    its views would keep the old values). A view of a tensor that requires grad (made here, so under no_grad())
    is marked `_no_grad_view`: torch refuses to write it in place with grad mode on."""
    seen = leaf = no_grad_view = None
    for t in tensors:
        for x in inputs:
            if t._data is x._data or (t._data.base is not None and np.may_share_memory(t._data, x._data)):
                if x is not seen:   # (once per input: unbind and split make many views of one)
                    seen, leaf, no_grad_view = x, _memory_leaf(x), x._requires_grad or x._no_grad_view
                    if leaf is not None and not leaf._viewed:
                        leaf._viewed = True
                    if x._detached and leaf is not None and x is not leaf:   # p.detach()'s own view: a recorded
                        x._viewed = True                                       # write of it is then refused
                if leaf is None:
                    t._views_computed, t._computed_base = True, _maker_of_memory(x)
                    _note_computed_view(_maker_node(x), [t._data])
                else:
                    t._base = leaf
                if no_grad_view:
                    t._no_grad_view = True
                break


class _Sharers:
    """A node's `sharers`: weak references to the arrays that share the memory of a computed tensor it made (its
    views' arrays, recorded or not, and arrays handed out by numpy()), for _live_views_of: a dropped view counts no
    more. The dead ones are pruned whenever their number doubles, so a tensor sliced at every step of a long
    sequence costs linear time overall."""

    __slots__ = ("refs", "limit")

    def __init__(self):
        self.refs, self.limit = [], 16

    def add(self, arrays):
        self.refs.extend([weakref.ref(a) for a in arrays])
        if len(self.refs) > self.limit:
            self.refs = [r for r in self.refs if r() is not None]
            self.limit = max(16, 2 * len(self.refs))

    def alive(self):
        return [a for a in (r() for r in self.refs) if a is not None]


def _note_recorded_views(tensors, inputs):
    """apply's recorded results that share a computed input's memory (y[0], y.T, y.reshape(...) of y = a * 2, with
    grad mode on): noted on the node that made that memory (_note_computed_view). Called only for results whose
    array is a numpy view (its .base set), so the common result, a fresh array, costs one attribute test."""
    owner = _owner_of(tensors[0]._data)
    for x in inputs:
        if (x._node is not None or x._views_computed) and _owner_of(x._data) is owner:
            _note_computed_view(_maker_node(x), [t._data for t in tensors])
            return


def _note_computed_view(node, arrays):
    """Note that `arrays` share the memory `node` made (nothing for None: that graph is gone)."""
    if node is not None:
        if getattr(node, "sharers", None) is None:   # (unset until a node's first view: tape.Node.__init__)
            node.sharers = _Sharers()
        node.sharers.add(arrays)


def _live_views_of(t):
    """Whether an array that shares computed tensor t's memory is still alive: a view of t taken before (t[0],
    t.T, t.detach(), a view of such a view, recorded or not) that someone holds, or t's array handed out by
    numpy() (t's own array lives as long as t: once handed out, always counted)."""
    sharers = getattr(t._node, "sharers", None)
    return sharers is not None and any(np.may_share_memory(a, t._data) for a in sharers.alive())


def _owner_of(array):
    """The array that owns `array`'s memory: the end of numpy's .base chain."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def _memory_leaf(t):
    """The leaf whose memory t's array is (or is part of), whose version an in-place write of t bumps and graphs
    check: t itself, the leaf an unrecorded view was taken from (_base), or the leaf under a chain of recorded
    views (y = p[1:] of a parameter, taken with grad mode on). None for a computed tensor and its views: no graph
    checks their version; their writes are noted on the nodes that made the memory (tape.note_computed_write)."""
    if t._node is None:
        return None if t._views_computed else (t if t._base is None else t._base)
    edge = (t._node, t._slot)
    while type(edge) is tuple:
        if not _is_view_node(edge[0]):
            return None
        edge = edge[0].parents[0]
    leaf = _memory_leaf(edge)   # (a leaf: a recorded view's input requires grad, so its edge is the Tensor)
    return leaf if leaf is not None and np.may_share_memory(t._data, leaf._data) else None   # (a reshape may copy)


def _is_view(t):
    """Whether t shares the memory of the tensor it was taken from, as torch's views do: a recorded view operation
    that returned a numpy view (x[idx] with index arrays copies), or an unrecorded view of a leaf (_base)."""
    if t._detached or t._data.base is None:
        return False
    if t._node is not None:
        return _is_view_node(t._node)
    return t._base is not None


def _same_elements(a, b):
    """Whether two arrays are the same elements of the same memory, read in the same order."""
    return (a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def _check_writable(array):
    """An in-place write needs memory of its own per element: an expanded (broadcast) tensor is refused in
    torch's words, not numpy's ValueError (and would change several elements at once)."""
    if not array.flags.writeable:
        if 0 in array.strides and array.size > 1:
            raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                               "single memory location. Please clone() the tensor before performing the operation.")
        if _overlaps_itself(array):
            raise RuntimeError("an in-place write of a tensor whose elements overlap in memory (unfold's windows "
                               "with step < size, or as_strided's): torch writes a shared element once per window, in "
                               "the order of its loop, which is not reproduced here; clone() the tensor before "
                               "writing it")
        raise RuntimeError("an in-place operation on a tensor whose memory is read-only (a read-only numpy array "
                           "given to from_numpy or Tensor, a part of unfold's overlapping windows, or as_strided's "
                           "view, which is read-only here?): clone() the tensor first")


def _overlaps_itself(array):
    """Whether two elements of `array` are one memory location (unfold's overlapping windows). Only asked of a
    read-only array about to be refused a write, so listing every element's offset costs nothing that matters."""
    offsets = np.zeros((), np.int64)
    for n, stride in zip(array.shape, array.strides):
        offsets = np.add.outer(offsets, np.arange(n, dtype=np.int64) * stride)
    return np.unique(offsets).size < array.size


def _maker_of_memory(x):
    """A weak reference to the Node whose output memory computed tensor x is (or views): kept by an unrecorded view
    of x (x.detach(), x[0] under no_grad()) to note its writes there, without holding x's graph (a weak one: the
    carried state of truncated BPTT must not keep the previous batch's graph alive)."""
    if x._node is None:
        return x._computed_base
    return weakref.ref(_maker_node(x))


def _maker_node(x):
    """The Node whose output memory computed tensor x is (or views), or None once its graph is gone. For x a
    recorded view (y[1:] of a computed y), the node under its chain of views (y's): x's own node may go with x
    (y[1:].detach() keeps no y[1:]), y's lives as long as y or a graph that reads it, where the backward looks for
    the writes."""
    if x._node is None:
        return x._computed_base() if x._computed_base is not None else None
    node = x._node
    while _is_view_node(node) and type(node.parents[0]) is tuple:
        node = node.parents[0][0]
    return node
