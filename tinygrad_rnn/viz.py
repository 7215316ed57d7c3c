"""Seeing the tape: a tensor's recorded graph as text, as Graphviz DOT, or as a picture.

    loss = ...                      # anything computed from tensors that require grad
    print(tr.viz.to_text(loss))     # one line per recorded operation, oldest first
    dot = tr.viz.to_dot(loss)       # Graphviz DOT text: a box per operation, an ellipse per leaf
    tr.viz.render(dot, "tape.svg")  # SVG/PNG when Graphviz's `dot` program exists, else tape.dot

Timesteps. An unrolled recurrence records the same few operations once per step; the picture is
only readable with each step's operations drawn together. The tape does not know about steps, so
they are labelled while the graph is recorded:

    with tr.viz.trace():            # label what is recorded inside...
        for t in range(T):
            with tr.viz.timestep(t):    # ...with the step it belongs to
                h = cell(x[t], h)

`trace()` installs a forward hook (the engine's `_forward_checks`, which anomaly mode also uses)
that stores each new node's current step in a weak dictionary, so labels vanish with their nodes
and cost nothing outside `trace()`. `timestep(t)` only sets a variable, so a layer's unroll loop may
call it unconditionally. `to_dot(..., steps=)` also takes the labels directly: a dict or a
function from Node to step (None: outside any step).

Everything here walks the graph with an explicit stack, never recursion: an unrolled sequence
makes graphs of hundreds of thousands of nodes.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping

from .tape import Node, _forward_checks
from .tensor import Tensor

__all__ = ["trace", "timestep", "current_step", "step_of", "graph", "backward_order", "to_text", "to_dot",
           "parse_dot", "render"]


# ----------------------------------------------------------------------------- step labels
_current = [None]  # the step being recorded (a list so the hook reads it without a global lookup)
_labels = weakref.WeakKeyDictionary()  # Node -> step, filled while trace() is active
_tracing = [0]


def _label_hook(*args):
    # the engine passes the new Node among the hook's arguments (None when nothing was recorded);
    # finding it by type keeps this hook independent of the argument order
    if _current[0] is not None:
        for a in args:
            if type(a) is Node:
                _labels[a] = _current[0]
                return


@contextlib.contextmanager
def trace() -> Iterator[None]:
    """Label every node recorded inside with the step set by `timestep` (nestable)."""
    if _tracing[0] == 0:
        _forward_checks.append(_label_hook)
    _tracing[0] += 1
    try:
        yield
    finally:
        _tracing[0] -= 1
        if _tracing[0] == 0:
            _forward_checks.remove(_label_hook)


@contextlib.contextmanager
def timestep(t: Hashable) -> Iterator[None]:
    """Operations recorded inside belong to step `t` (any hashable label: 0, 1, ... or ("enc", 3))."""
    previous, _current[0] = _current[0], t
    try:
        yield
    finally:
        _current[0] = previous


def current_step() -> Hashable:
    return _current[0]


def step_of(node: Node) -> Hashable | None:
    """The step `node` was labelled with under trace(), or None."""
    return _labels.get(node)


# ----------------------------------------------------------------------------- the graph
def _root_node(t):
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, got {type(t).__name__}")
    return t.node


def graph(tensor: Tensor) -> tuple[list[Node], list[Tensor]]:
    """(nodes, leaves) that `tensor` depends on: the recorded Nodes in recording order (increasing
    seq) and the leaf Tensors that require grad, in order of first use."""
    root = _root_node(tensor)
    if root is None:
        return [], ([tensor] if tensor.requires_grad else [])
    seen, stack, leaves, leaf_ids = {root}, [root], [], set()
    while stack:
        node = stack.pop()
        for edge in node.parents:
            if type(edge) is tuple:
                if edge[0] not in seen:
                    seen.add(edge[0])
                    stack.append(edge[0])
            elif edge is not None and id(edge) not in leaf_ids:
                leaf_ids.add(id(edge))
                leaves.append(edge)
    nodes = sorted(seen, key=lambda n: n.seq)
    first_use = {}
    for n in nodes:
        for edge in n.parents:
            if isinstance(edge, Tensor):
                first_use.setdefault(id(edge), n.seq)
    leaves.sort(key=lambda l: first_use[id(l)])
    return nodes, leaves


def backward_order(tensor: Tensor) -> list[Node]:
    """The nodes in the order `tensor.backward()` visits them: newest first (see tape.py)."""
    return list(reversed(graph(tensor)[0]))


def _leaf_names(leaves, names):
    """Leaf -> display name: from `names` ({name: Tensor}, or a Module's named_parameters()), else 'leaf k'."""
    by_id = {}
    if names is not None:
        items = names.items() if isinstance(names, dict) else names
        for name, t in items:
            by_id[id(t)] = str(name)
    return {id(l): by_id.get(id(l), f"leaf{k}") for k, l in enumerate(leaves)}


def _shape_str(shapes):
    if shapes and isinstance(shapes[0], tuple):  # several outputs
        return " ".join(str(s) for s in shapes)
    return str(tuple(shapes))


def _attrs_str(attrs, width=40):
    if not attrs:
        return ""
    parts = []
    for k, v in attrs.items():
        text = repr(v) if not hasattr(v, "shape") else f"<array {getattr(v, 'shape', '')}>"
        parts.append(f"{k}={text}")
    s = ", ".join(parts)
    return s if len(s) <= width else s[:width - 3] + "..."


def _step_fn(steps):
    if steps is None:
        return step_of
    if callable(steps):
        return steps
    if isinstance(steps, dict):
        return steps.get
    raise TypeError(f"steps must be None, a dict Node -> step, or a function, got {type(steps).__name__}")


# ----------------------------------------------------------------------------- text
def to_text(tensor: Tensor, names: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
            steps: Mapping[Node, Hashable] | Callable[[Node], Hashable] | None = None) -> str:
    """One line per recorded operation, in recording order:
    `#seq  Op  output shape  <- inputs  [t=step]`, inputs being #seq of the node that made them
    (#seq.slot for a multi-output node) or a leaf's name. The last line is the tensor itself."""
    nodes, leaves = graph(tensor)
    names_of = _leaf_names(leaves, names)
    step = _step_fn(steps)
    lines = []
    for l in leaves:
        lines.append(f"{names_of[id(l)]:>8s}  leaf        {str(tuple(l.shape)):14s}")
    for n in nodes:
        ins = []
        for edge in n.parents:
            if edge is None:
                ins.append("const")
            elif type(edge) is tuple:
                ins.append(f"#{edge[0].seq}" + (f".{edge[1]}" if edge[0].multi else ""))
            else:
                ins.append(names_of[id(edge)])
        s = step(n)
        extra = _attrs_str(n.attrs)
        lines.append(f"{'#' + str(n.seq):>8s}  {n.name():10s}  {_shape_str(n.shapes):14s} <- {', '.join(ins)}"
                     + (f"  [{extra}]" if extra else "") + (f"  t={s}" if s is not None else ""))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- DOT
def _quote(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, names: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
           steps: Mapping[Node, Hashable] | Callable[[Node], Hashable] | None = None, title: str | None = None) -> str:
    """Graphviz DOT text of the graph behind `tensor`: a box per recorded operation (its name, output
    shape and sequence number), an ellipse per leaf, an edge from each input to its user (labelled
    with the output slot of a multi-output op), and one cluster per timestep (see the module
    docstring). The tensor's own node is drawn with a double border.

    names: {name: Tensor} or an iterable of (name, Tensor), e.g. model.named_parameters().
    steps: None (labels recorded under trace()), a dict Node -> step, or a function Node -> step."""
    nodes, leaves = graph(tensor)
    names_of = _leaf_names(leaves, names)
    step = _step_fn(steps)
    root = tensor.node
    out = [f"digraph {_quote(title or 'tape')} {{", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    leaf_id = {id(l): f"L{k}" for k, l in enumerate(leaves)}
    for l in leaves:
        out.append(f"  {leaf_id[id(l)]} [shape=ellipse, style=filled, fillcolor=lightblue, "
                   f"label={_quote(names_of[id(l)] + chr(10) + str(tuple(l.shape)))}];")
    clusters = {}  # step -> its nodes, the steps in order of first appearance (dicts keep insertion order)
    for n in nodes:
        clusters.setdefault(step(n), []).append(n)
    for s, members in clusters.items():
        out.extend(_dot_cluster(s, members, root))
    out.extend(_dot_edges(nodes, leaf_id))
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_cluster(s, nodes, root):
    """The DOT lines of one timestep's nodes: a subgraph labelled with the step, or loose for step None."""
    indent, lines = "  ", []
    if s is not None:
        lines.append(f"  subgraph {_quote('cluster_step_' + str(s))} {{")
        shown = " ".join(map(str, s)) if isinstance(s, tuple) else str(s)   # ('reverse', 3) -> reverse 3
        lines.append(f"    label={_quote('t = ' + shown)}; style=rounded; color=gray;")
        indent = "    "
    for n in nodes:
        label = f"{n.name()}\n{_shape_str(n.shapes)}\n#{n.seq}"
        periph = ", peripheries=2" if n is root else ""
        lines.append(f"{indent}N{n.seq} [shape=box{periph}, label={_quote(label)}];")
    if s is not None:
        lines.append("  }")
    return lines


def _dot_edges(nodes, leaf_id):
    """An edge per input of every node: from the node that made it (labelled with the output slot of a
    multi-output op) or from the leaf."""
    lines = []
    for n in nodes:
        for edge in n.parents:
            if edge is None:
                continue
            if type(edge) is tuple:
                parent, slot = edge
                attr = f" [label={_quote(slot)}]" if parent.multi else ""
                lines.append(f"  N{parent.seq} -> N{n.seq}{attr};")
            else:
                lines.append(f"  {leaf_id[id(edge)]} -> N{n.seq};")
    return lines


def parse_dot(dot: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(node ids, edges) of DOT text that to_dot wrote: a small regex reader, for tests and for
    checking a picture without Graphviz. Not a general DOT parser."""
    import re
    node_ids = re.findall(r"^\s*([NL]\d+) \[", dot, flags=re.M)
    edges = re.findall(r"^\s*([NL]\d+) -> ([NL]\d+)", dot, flags=re.M)
    if not re.match(r"\s*digraph\b", dot) or dot.count("{") != dot.count("}"):
        raise ValueError("not a digraph with balanced braces")
    return node_ids, edges


def render(dot: str, path: str | os.PathLike) -> str:
    """Draw DOT text to `path` (.svg, .png or .pdf) with Graphviz's `dot` program if it is installed;
    otherwise write the DOT text itself next to it (same name, .dot). Returns the path written."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    exe = shutil.which("dot")
    if exe and fmt in ("svg", "png", "pdf"):
        subprocess.run([exe, f"-T{fmt}", "-o", path], input=dot.encode("utf-8"), check=True)
        return path
    if fmt != "dot":
        path = os.path.splitext(path)[0] + ".dot"
    with open(path, "w", encoding="utf-8") as f:
        f.write(dot)
    return path
