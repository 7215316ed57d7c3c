"""tinygrad_rnn.viz: the tape as text and DOT, steps as clusters, no recursion on long graphs."""
import re
import shutil

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import viz


def _rnn_loss(T=3, traced=True):
    rng = np.random.default_rng(0)
    W_ih = tr.Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    W_hh = tr.Tensor(rng.standard_normal((4, 4)) * 0.5, requires_grad=True)
    x = tr.Tensor(rng.standard_normal((T, 1, 2)))
    h = tr.zeros(1, 4, dtype=np.float64)
    with (viz.trace() if traced else _null()):
        for t in range(T):
            with viz.timestep(t):
                h = (x[t] @ W_ih.T + h @ W_hh.T).tanh()
        loss = h.sum()
    return loss, {"W_ih": W_ih, "W_hh": W_hh}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_graph_counts_nodes_and_leaves():
    loss, names = _rnn_loss(T=3)
    nodes, leaves = viz.graph(loss)
    # per step: two transposes, two matmuls, an add, a tanh; then the sum; x[t] needs no grad
    assert len(nodes) == 3 * 6 + 1
    assert [id(l) for l in leaves] == [id(names["W_ih"]), id(names["W_hh"])]
    assert [n.seq for n in nodes] == sorted(n.seq for n in nodes)


def test_dot_parses_with_expected_nodes_edges_and_clusters():
    loss, names = _rnn_loss(T=3)
    dot = viz.to_dot(loss, names=names)
    ids, edges = viz.parse_dot(dot)
    assert len(ids) == len(set(ids)) == 19 + 2
    # every edge joins declared nodes; edge count = number of non-None parent edges
    nodes, _ = viz.graph(loss)
    assert len(edges) == sum(e is not None for n in nodes for e in n.parents)
    assert all(a in ids and b in ids for a, b in edges)
    clusters = re.findall(r'subgraph "cluster_step_(\d+)"', dot)
    assert clusters == ["0", "1", "2"]
    # each cluster holds that step's six operations
    for t in range(3):
        body = dot.split(f'subgraph "cluster_step_{t}" {{')[1].split("}")[0]
        assert len(re.findall(r"^\s*N\d+ \[", body, flags=re.M)) == 6
    assert 'label="W_hh\\n(4, 4)"' in dot
    assert "peripheries=2" in dot  # the root


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_dot_program_accepts_it(tmp_path):
    loss, names = _rnn_loss(T=2)
    path = viz.render(viz.to_dot(loss, names=names), tmp_path / "g.svg")
    assert path.endswith(".svg") and "<svg" in open(path).read()


def test_render_without_graphviz_writes_dot(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    loss, _ = _rnn_loss(T=2)
    path = viz.render(viz.to_dot(loss), tmp_path / "g.png")
    assert path.endswith("g.dot")
    assert open(path).read().startswith('digraph "tape"')


def test_to_text_lines_and_steps():
    loss, names = _rnn_loss(T=3)
    lines = viz.to_text(loss, names=names).splitlines()
    assert len(lines) == 2 + 19
    assert lines[0].split()[:2] == ["W_ih", "leaf"]
    assert "Tanh" in lines[-2] and lines[-2].endswith("t=2")
    assert "Sum" in lines[-1] and "t=" not in lines[-1]
    assert "W_hh" in lines[4]  # the first step's transpose of W_hh names its leaf


def test_steps_hint_and_untraced_graph():
    loss, _ = _rnn_loss(T=2, traced=False)
    dot = viz.to_dot(loss)
    assert "cluster" not in dot  # nothing labelled, no clusters
    nodes, _ = viz.graph(loss)
    hint = {n: i // 6 for i, n in enumerate(nodes[:-1])}
    assert re.findall(r'cluster_step_(\d+)', viz.to_dot(loss, steps=hint)) == ["0", "1"]
    assert re.findall(r'cluster_step_([^"]+)', viz.to_dot(loss, steps=lambda n: "all")) == ["all"]


def test_trace_hook_is_removed_and_labels_do_not_leak():
    from tinygrad_rnn.tape import _forward_checks
    before = list(_forward_checks)
    _rnn_loss(T=2)
    assert _forward_checks == before
    a = tr.Tensor(np.ones(3), requires_grad=True)
    with viz.timestep(5):  # timestep without trace labels nothing
        b = a * 2.0
    assert viz.step_of(b.node) is None


def test_backward_order_is_the_walk_order():
    loss, _ = _rnn_loss(T=3)
    order = viz.backward_order(loss)
    assert order[0] is loss.node
    assert [n.seq for n in order] == sorted((n.seq for n in order), reverse=True)


def test_long_graph_without_recursion():
    x = tr.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(5000):  # far past Python's recursion limit
        y = y * 1.0
    assert len(viz.graph(y)[0]) == 5000
    assert len(viz.to_text(y).splitlines()) == 5001
    assert len(viz.parse_dot(viz.to_dot(y))[0]) == 5001


def test_leaf_and_errors():
    a = tr.Tensor(np.ones(2), requires_grad=True)
    assert viz.graph(a) == ([], [a])
    with pytest.raises(TypeError):
        viz.to_dot(np.ones(2))
    with pytest.raises(TypeError):
        viz.to_dot(a * 2.0, steps=3)


def test_layers_unroll_into_step_clusters():
    """Once nn/recurrent.py's unroll sets viz.timestep(t) per step, a layer's graph clusters by step."""
    tr.manual_seed(0)
    layer = tr.nn.GRU(2, 3, fused=False)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((4, 1, 2)).astype(np.float32))
    with viz.trace():
        out, _ = layer(x)
    nodes, _ = viz.graph(out.sum())
    steps = {viz.step_of(n) for n in nodes} - {None}
    assert steps == {0, 1, 2, 3}
    assert re.findall(r'cluster_step_(\d+)', viz.to_dot(out.sum())) == ["0", "1", "2", "3"]


def test_reverse_direction_steps_are_labelled_by_the_time_they_read():
    """A bidirectional layer's reverse direction processes time T-1 first: its clusters must not merge
    with the forward direction's, and each is named by the real time step it reads."""
    tr.manual_seed(0)
    layer = tr.nn.RNN(2, 3, bidirectional=True, fused=False)
    x = tr.Tensor(np.random.default_rng(0).standard_normal((3, 1, 2)).astype(np.float32))
    with viz.trace():
        out, _ = layer(x)
    nodes, _ = viz.graph(out.sum())
    steps = {viz.step_of(n) for n in nodes} - {None}
    assert steps == {0, 1, 2, ("reverse", 0), ("reverse", 1), ("reverse", 2)}
    first_reverse = min((n for n in nodes if isinstance(viz.step_of(n), tuple)), key=lambda n: n.seq)
    assert viz.step_of(first_reverse) == ("reverse", 2)  # processing starts at the last time step
    assert "t = reverse 2" in viz.to_dot(out.sum())
    with viz.trace():
        out, _ = layer(x, lengths=[2])  # with lengths the reverse step reads a different time per sequence
    steps = {viz.step_of(n) for n in viz.graph(out.sum())[0]} - {None}
    assert ("reverse step", 0) in steps and ("reverse", 2) not in steps
