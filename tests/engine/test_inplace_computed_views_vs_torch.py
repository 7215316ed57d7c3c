"""A recorded in-place write (grad mode on, a gradient involved) of a computed tensor (y = a * 2) whose memory a
view taken before still shares. torch writes that memory: the views see the new values and their history is
rebased onto the written tensor. Here a recorded write gives y a new array, so the views would silently keep the
old values: the write is refused instead, in torch's style, naming the fix. Once the views are dropped, the write
runs, with torch's values and gradients. Each case runs torch and ours side by side."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

START = (np.arange(6.0).reshape(2, 3) + 1) / 4
REFUSED = "computed tensor whose memory a view or an array taken before still shares"

VIEWS = {
    "slice": lambda y: y[:1],
    "element": lambda y: y[1, 2],
    "T": lambda y: y.T,
    "view": lambda y: y.view(3, 2),
    "unsqueeze": lambda y: y.unsqueeze(0),
    "detach": lambda y: y.detach(),
    "numpy": lambda y: y.detach().numpy() if isinstance(y, torch.Tensor) else y.numpy(),   # (torch's asks detach)
    "view of a view": lambda y: y[1:].T[0],
    "chunk": lambda y: y.chunk(3, dim=1)[2],
}

WRITES = {
    "+=": lambda y, lib: y.__iadd__(1.5),
    "add_ tensor": lambda y, lib: y.add_(lib.full((3,), 0.25, dtype=lib.float64), alpha=2),
    "sub_": lambda y, lib: y.sub_(0.5),
    "mul_": lambda y, lib: y.mul_(3.0),
    "div_": lambda y, lib: y.div_(2.0),
    "zero_": lambda y, lib: y.zero_(),
    "fill_": lambda y, lib: y.fill_(7.0),
    "clamp_": lambda y, lib: y.clamp_(0.6, 1.2),
    "copy_": lambda y, lib: y.copy_(lib.tensor([9.0, -2.0, 4.0], dtype=lib.float64)),
    "exp_": lambda y, lib: y.exp_(),
    "pow_": lambda y, lib: y.pow_(2.0),
}


def _values(v):
    return np.array(v.detach().numpy() if hasattr(v, "detach") else v)


def _computed(lib):
    a = lib.tensor(START, requires_grad=True)
    return a, a * 2


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_recorded_write_of_a_computed_tensor_with_a_live_view_is_refused_where_torchs_view_follows(write, view):
    _, y = _computed(torch)
    v = VIEWS[view](y)
    before = _values(v)
    WRITES[write](y, torch)
    assert not np.array_equal(_values(v), before)   # torch's view sees the write
    np.testing.assert_array_equal(_values(v), _values(VIEWS[view](y.detach().clone())))

    a, y = _computed(tr)
    v = VIEWS[view](y)
    with pytest.raises(RuntimeError, match=REFUSED):
        WRITES[write](y, tr)
    np.testing.assert_array_equal(_values(y), START * 2)   # nothing written: y and its view keep their values
    np.testing.assert_array_equal(_values(v), before)
    y.sum().backward()   # and y is still on the tape as it was
    np.testing.assert_array_equal(a.grad, np.full(START.shape, 2.0))


@pytest.mark.parametrize("write", sorted(WRITES))
def test_the_write_runs_as_torchs_once_the_views_are_dropped(write):
    """Refused while a view of y lives; y's views dropped (a view of a view kept longest), the same write runs:
    values and gradients as torch's."""
    results = []
    for lib in (torch, tr):
        a, y = _computed(lib)
        v = y[1:]
        w = v.T[0]
        del v
        if lib is tr:
            with pytest.raises(RuntimeError, match=REFUSED):
                WRITES[write](y, lib)
        del w
        WRITES[write](y, lib)
        (y * lib.tensor(START)).sum().backward()
        results.append((_values(y), _values(a.grad)))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_views_taken_under_no_grad_and_views_taken_after_a_write_count_too():
    """y's row taken under no_grad() is a view of y's memory as well; after a write that ran (no view then), a view
    of the new y refuses the next write."""
    _, y = _computed(tr)
    with tr.no_grad():
        row = y[1]
    with pytest.raises(RuntimeError, match=REFUSED):
        y.add_(1.0)
    del row
    y.add_(1.0)
    head = y[:1]
    with pytest.raises(RuntimeError, match=REFUSED):
        y.mul_(2.0)
    np.testing.assert_array_equal(_values(head), START[:1] * 2 + 1)
    _, ty = _computed(torch)   # torch's no_grad() view follows a recorded write of y
    with torch.no_grad():
        trow = ty[1]
    ty.add_(1.0)
    np.testing.assert_array_equal(_values(trow), START[1] * 2 + 1)


def test_a_view_saved_by_a_graph_refuses_the_write_where_torch_refuses_that_graphs_backward():
    """z = v * v saved y's view v: torch writes y, and z's backward then raises (v was modified by an inplace
    operation). Here the write is refused at once (the graph holds the view), never a gradient of the old
    values."""
    _, ty = _computed(torch)
    tv = ty[:1]
    tz = tv * tv
    del tv
    ty.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tz.sum().backward()

    _, y = _computed(tr)
    v = y[:1]
    z = v * v
    del v
    with pytest.raises(RuntimeError, match=REFUSED):
        y.add_(1.0)
    z.sum().backward()   # the graph reads the values it saw


def test_an_unrecorded_write_of_a_computed_tensor_with_views_writes_the_views_as_torchs():
    """Under no_grad() y's memory is written (not refused): its views, even the recorded ones, see it, as torch's;
    and the refusal above is only for the recorded write."""
    results = []
    for lib in (torch, tr):
        _, y = _computed(lib)
        v, d = y[:1], y.detach()
        with lib.no_grad():
            y.mul_(3.0)
        results.append((_values(v), _values(d)))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, theirs)
    _, y = _computed(tr)
    v = y[0]
    with pytest.raises(RuntimeError, match=REFUSED):
        y.mul_(3.0)
