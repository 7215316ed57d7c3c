"""Properties of the tape itself: fan-out, diamonds, long chains, freeing, no_grad, detach."""
import gc
import weakref

import numpy as np
import pytest
from conftest import leaf
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr


@given(st.floats(-3, 3), st.floats(-3, 3))
def test_tensor_used_twice_accumulates(a, b):
    x, y = leaf(a), leaf(b)
    ((x + x) * x + x * y).backward()  # d/dx = 4x + y, d/dy = x
    assert np.isclose(x.grad, 4 * a + b) and np.isclose(y.grad, a)


def test_diamond_graph():
    x = leaf([0.3, -0.7])
    a = x.tanh()
    b, c = a * 2.0, a.exp()
    (b * c).sum().backward()
    t = np.tanh(x._data)
    expected = (2 * np.exp(t) + 2 * t * np.exp(t)) * (1 - t ** 2)
    assert np.allclose(x.grad, expected)
    assert tr.gradcheck(lambda x: (x.tanh() * 2.0) * x.tanh().exp(), [x])


def test_200000_step_chain_without_recursion():
    x = leaf([1.0, 2.0])
    h = x
    for _ in range(200_000):
        h = h * 1.0 + 0.0
    h.sum().backward()  # 400,000 nodes; a recursive walk would raise RecursionError
    assert np.allclose(x.grad, 1.0)


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    assert np.allclose(x.grad, 6.0)


def test_freed_graph_raises_and_retain_graph_allows_twice():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert np.allclose(x.grad, 4 * x._data)
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


SECOND_BACKWARD_CASES = {   # name: f(x, w) on a tensor x that requires grad and w that does not
    "add_sub": lambda x, w: (x + 1.0 - w).sum(),
    "reshape_transpose_slice": lambda x, w: x.reshape(3, 2).transpose(0, 1)[0, 1:].sum(),
    "neg_sum_mean": lambda x, w: (-x).sum() + x.mean(),
    "square": lambda x, w: (x * x).sum(),
    "exp": lambda x, w: x.exp().sum(),
    "times_a_tensor": lambda x, w: (x * w).sum(),
    "tanh_after_add": lambda x, w: (x + 1.0).tanh().sum(),
}


@pytest.mark.parametrize("name", sorted(SECOND_BACKWARD_CASES))
def test_second_backward_raises_exactly_where_torch_does(name):
    """torch frees saved tensors after backward, so only a graph that saved one refuses a second backward(); a
    graph of additions, reshapes and products with numbers saves none and runs again, gradients summed."""
    torch = pytest.importorskip("torch")
    f = SECOND_BACKWARD_CASES[name]
    xd, wd = np.linspace(-1.0, 1.0, 6), np.linspace(0.5, 2.0, 6)
    xt = torch.tensor(xd, requires_grad=True)
    yt = f(xt, torch.tensor(wd))
    yt.backward()
    try:
        yt.backward()
        torch_raises = False
    except RuntimeError as e:
        assert "second time" in str(e)
        torch_raises = True
    x = tr.Tensor(xd, requires_grad=True)
    y = f(x, tr.Tensor(wd))
    y.backward()
    if torch_raises:
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time.*retain_graph"):
            y.backward()
    else:
        y.backward()
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)


def test_second_backward_through_products_with_numbers_is_refused_as_torch():
    """x * 2.0 and x / 4.0 save their number (a 0-d array), which backward frees as torch frees the 0-d tensor
    it keeps: a second backward is refused, and leaves the gradient of the first as it was."""
    x = leaf(np.linspace(-1.0, 1.0, 6))
    y = ((x * 2.0) / 4.0 - 1.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    np.testing.assert_allclose(x.grad, np.full(6, 0.5))


def test_backward_frees_saved_arrays():
    x = leaf(np.ones(3))
    y = x.tanh()
    z = y.sum()
    z.backward()
    assert y.node.saved is not None and y.node.saved is not x._data  # freed marker, not the array
    from tinygrad_rnn.tape import _FREED
    assert y.node.saved is _FREED


def test_no_grad_records_nothing():
    x = leaf([1.0])
    with tr.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.node is None

    @tr.no_grad()
    def f(t):
        return t.exp()
    assert f(x).node is None
    assert tr.is_grad_enabled()
    assert (x * 2.0).requires_grad


def test_detach_cuts_the_tape():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    d = h.detach()
    assert not d.requires_grad and d.node is None and np.shares_memory(d._data, h._data)
    (h + d * 100.0).sum().backward()
    assert np.allclose(x.grad, 3.0)  # nothing flowed through the detached path


def test_truncated_bptt_style_state_carry():
    w = leaf(0.5)
    h = tr.Tensor(np.array(1.0))
    grads = []
    for _chunk in range(3):
        h = h.detach()
        for _ in range(4):
            h = (h * w).tanh()
        h.backward()
        grads.append(float(w.grad))
        w.grad = None
    # each chunk's gradient only sees its own 4 steps: check chunk 2 against finite differences
    h0 = tr.Tensor(np.array(1.0))
    for _ in range(8):
        h0 = (h0 * w).tanh()
    start = h0._data.copy()
    assert tr.gradcheck(lambda w: _steps(start, w, 4), [w])
    f = _steps(start, w, 4)
    f.backward()
    assert np.isclose(grads[2], float(w.grad))


def _steps(h, w, n):
    h = tr.Tensor(h)
    for _ in range(n):
        h = (h * w).tanh()
    return h


def test_retain_grad_gives_per_step_gradients():
    w = leaf(0.9)
    hs, h = [], tr.Tensor(np.array([0.5]))
    for _ in range(5):
        h = (h * w).tanh()
        h.retain_grad()
        hs.append(h)
    h.sum().backward()
    # dL/dh_t = prod over later steps of w * (1 - h^2): check against the manual BPTT recursion
    delta = 1.0
    for t in reversed(range(5)):
        assert np.isclose(hs[t].grad[0], delta)
        delta = delta * w._data * (1 - hs[t]._data[0] ** 2)


def test_retained_grads_are_arrays_of_their_own():
    """The walk hands one cotangent to several places (Add's backward returns g twice; Sum's is a
    stride-0 view of one number): a retained .grad must still be a plain array the user may write into."""
    x = leaf([1.0, 2.0, 3.0])
    a, b = x * 2.0, x * 3.0
    a.retain_grad()
    b.retain_grad()
    (a + b).sum().backward()
    np.testing.assert_array_equal(a.grad, np.ones(3))
    a.grad[0].fill_(7.0)  # writes into one gradient only
    np.testing.assert_array_equal(b.grad, np.ones(3))
    np.testing.assert_array_equal(a.grad, [7.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad, np.full(3, 5.0))


def test_backward_errors_say_what_to_do():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="scalar.*shape \\(2,\\).*grad="):
        (x * 2.0).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        tr.Tensor([1.0]).backward()
    with pytest.raises(ValueError, match="expected \\(2,\\), got \\(3,\\)"):
        (x * 2.0).backward(np.ones(3))
    (x * 2.0).backward(np.ones(2))
    assert np.allclose(x.grad, 2.0)


def test_multi_output_node_gets_gradient_from_each_used_output():
    x = leaf(np.arange(6.0))
    a, b, c = x.split(2)
    (a * 2.0 + c * 3.0).sum().backward()  # b unused
    assert np.allclose(x.grad, [2, 2, 0, 0, 3, 3])


def test_optimizer_step_before_backward_is_refused_by_name():
    w = tr.Tensor(np.array([[0.5, -0.2], [0.1, 0.3]]), requires_grad=True)
    x = tr.Tensor(np.ones((1, 2)), requires_grad=True)   # (x's gradient reads w: Matmul saved it, as torch's mm)
    loss = (x @ w).tanh().sum()
    w.grad = tr.from_numpy(np.ones_like(w._data))
    tr.optim.SGD([w], lr=0.1).step()  # moves w under the recorded graph
    with pytest.raises(RuntimeError,
                       match=r"modified in place.*input 1 of Matmul.*shape \(2, 2\).*before optimizer.step"):
        loss.backward()
    loss = (x @ w).tanh().sum()  # a fresh forward pass is fine
    loss.backward()
    assert w.grad is not None


def test_frozen_weight_rewritten_before_backward_is_refused():
    """A weight that does not require grad is saved by the operations that read it all the same: rewritten in
    place by load_state_dict (or an nn.init function) between forward and backward, it gave the input's
    gradient computed with the new values, silently (torch raises: its version counter moved on)."""
    lin = tr.nn.Linear(2, 2, dtype=np.float64)
    for p in lin.parameters():
        p.requires_grad_(False)
    x = tr.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    loss = lin(x).sum()  # Matmul saves the weight's transpose, a view taken without recording
    tr.nn.init.constant_(lin.weight, 3.0)
    with pytest.raises(tr.InplaceModificationError,
                       match=r"input 1 of Matmul, a Parameter that does not require grad .*shape \(2, 2\)"):
        loss.backward()
    loss = lin(x).sum()
    lin.load_state_dict({"weight": lin.weight._data * 10, "bias": lin.bias._data})
    with pytest.raises(tr.InplaceModificationError, match="does not require grad"):
        loss.backward()
    with tr.no_grad():  # a view taken under no_grad of a weight an optimizer then steps
        w = tr.Tensor(np.eye(2), requires_grad=True)
        w_t = w.T
    loss = (x @ w_t).sum()
    w.grad = tr.from_numpy(np.ones((2, 2)))
    tr.optim.SGD([w], lr=0.5).step()
    with pytest.raises(tr.InplaceModificationError, match="input 1 of Matmul"):
        loss.backward()
    loss = lin(x).sum()  # a fresh forward pass is fine: dx = the new weight's column sums
    loss.backward()
    np.testing.assert_array_equal(x.grad, lin.weight._data.sum(0, keepdims=True))


def test_leaf_gradients_never_share_a_buffer():
    """Add's backward hands the same cotangent to both inputs; the leaves' .grad must be separate
    arrays (a later += on one must not change the other)."""
    a = tr.Tensor(np.ones(3), requires_grad=True)
    b = tr.Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 1
    np.testing.assert_array_equal(b.grad, np.ones(3))


def test_backward_errors_say_how_to_reduce_and_retain():
    x = tr.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"needs a scalar .* shape \(3,\).*loss.sum\(\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"grad must have the tensor's shape: expected \(3,\), got \(2,\)"):
        (x * 2).backward(np.ones(2))
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        tr.Tensor(np.ones(1)).sum().backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fresh_gradients_are_of_their_inputs_shape_and_dtype_and_owned(dtype):
    """A primitive with fresh_grads hands the tape arrays that a leaf keeps as its .grad unchecked
    (backward_from): each must be a new C-ordered array of its input's shape and dtype, shared with
    nothing. Checked on every node of a fused layer (a cell with vector parameters, in pieces by a
    checkpointing plan too), an embedding and a recomputed block."""
    from tinygrad_rnn.tape import _backward_checks
    seen = []

    def check(node, g, input_grads):
        if not node.prim.fresh_grads:
            return
        seen.append(node.name())
        for edge, gi in zip(node.parents, input_grads):
            if edge is None or gi is None:
                continue
            shape, want = (edge.shape, edge.dtype) if not isinstance(edge, tuple) else (
                edge[0].shapes[edge[1]] if edge[0].multi else edge[0].shapes, gi.dtype)
            assert gi.shape == shape and gi.dtype == want and gi.base is None and gi.flags.c_contiguous
            assert all(other is not gi for other in input_grads if other is not None and other is not gi) \
                and sum(other is gi for other in input_grads) == 1

    _backward_checks.append(check)
    try:
        _fresh_primitives_backward(dtype)
    finally:
        _backward_checks.remove(check)
    assert {"CompiledRecurrence", "Embedding", "Recompute"} <= set(seen)


def _fresh_primitives_backward(dtype):
    rng = np.random.default_rng(0)
    x = tr.Tensor(rng.standard_normal((6, 2, 3)).astype(dtype))
    for layer in (tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, 3, 4, dtype=dtype), tr.nn.LSTM(3, 4, dtype=dtype),
                  tr.nn.Recurrent(tr.nn.PeepholeLSTMCell, 3, 4, dtype=dtype, checkpoint=2)):
        layer(x)[0].sum().backward()
    emb = tr.nn.Embedding(5, 3, dtype=dtype)
    emb(np.array([[0, 1], [1, 4]])).sum().backward()
    w = tr.nn.Parameter(rng.standard_normal((3, 3)).astype(dtype))
    tr.checkpoint(lambda a: (a @ w).tanh(), tr.Tensor(rng.standard_normal((2, 3)).astype(dtype),
                                                   requires_grad=True)).sum().backward()


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(eps=0), ValueError, "gradcheck: eps must be a finite nonzero step, got 0"),        # ZeroDivisionError
    (dict(eps=float("inf")), ValueError, "gradcheck: eps must be a finite nonzero step"),    # a nan 'mismatch'
    (dict(eps="1e-6"), TypeError, "gradcheck: eps must be a number, got str"),               # a numpy ufunc error
    (dict(atol=-1), ValueError, r"gradcheck: atol must be in \[0, inf\], got -1"),            # failed every element
    (dict(rtol=float("nan")), ValueError, r"gradcheck: rtol must be in \[0, inf\], got nan"),
    (dict(atol=None), TypeError, "gradcheck: atol must be a number, got NoneType"),
    (dict(names=["a"]), ValueError, "gradcheck: names must name each of the 2 inputs, got 1"),
])
def test_gradcheck_arguments_are_checked_by_name(kwargs, error, words):
    """Each failed from inside (or as a GradcheckError on a right gradient); torch refuses atol/rtol < 0."""
    x, y = leaf(np.ones(3)), leaf(np.ones(3))
    with pytest.raises(error, match=words):
        tr.gradcheck(lambda a, b: (a * b).sum(), [x, y], **kwargs)


def test_gradcheck_takes_one_tensor_as_one_input_and_refuses_a_non_callable():
    """torch.autograd.gradcheck(fn, tensor) checks the tensor; list(tensor) gave fn its rows as arguments."""
    assert tr.gradcheck(lambda a: (a * a).sum(), leaf(np.arange(6.0).reshape(2, 3)))
    with pytest.raises(TypeError, match="gradcheck: fn must be callable, got int"):
        tr.gradcheck(5, [leaf(np.ones(3))])
    with pytest.raises(tr.GradcheckError):   # a wrong gradient still fails through a single tensor
        tr.gradcheck(lambda a: tr.Tensor._make(a._data * 2, True).sum() + a.sum(), leaf(np.ones(2)))


@pytest.mark.parametrize("carry", ["detach", "view under no_grad"])
def test_a_state_carried_to_the_next_batch_does_not_keep_the_graph_that_made_it(carry):
    """Truncated BPTT carries the state across batches without its history: the carried tensor (and a graph
    that reads it) must not hold the computed tensor it came from, which holds its node and so the whole
    previous batch's graph (an unrecorded view keeps its base for the version check only if it is a leaf)."""
    w = tr.Tensor(np.full((2, 2), 0.5), requires_grad=True)
    h = tr.Tensor(np.ones((1, 2)))
    nodes = []
    for _ in range(3):
        h = (h @ w).tanh()
        nodes.append(weakref.ref(h.node))
        h.sum().backward()
        if carry == "detach":
            h = h.detach()
        else:
            with tr.no_grad():
                h = h[:, :]
        (h @ w).sum()  # a graph reading the carried state, as the next batch's first step
    gc.collect()
    assert [n() is None for n in nodes] == [True, True, True]


def test_a_detached_frozen_weight_rewritten_before_backward_is_refused():
    w = tr.Tensor(np.eye(2))
    x = tr.Tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    loss = (x @ w.detach()).sum()
    tr.nn.init.constant_(w, 3.0)
    with pytest.raises(tr.InplaceModificationError, match="input 1 of Matmul, a Tensor that does not require grad"):
        loss.backward()
