"""What torch's OpInfo samples found in tr.linalg and the norms once bench/opinfo_probe.py looked there (session 28),
each fixed and held here against torch 2.13: pinv(hermitian=True) reads the lower triangle, lstsq's empty
residuals and matrix_power(A, 0) are on the tape, a negative-order vector norm has gradient 0 at zeros, norm takes
p < 0 and "nuc", Tensor tolerances of matrix_rank/pinv are per matrix, tensordot broadcasts a contracted dim of 1."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def _pair(a, requires_grad=True):
    a = np.asarray(a)
    return torch.tensor(a, requires_grad=requires_grad), tr.tensor(a, requires_grad=requires_grad)


def _close(ours, theirs, rtol=1e-6, atol=1e-9):
    theirs = theirs.detach().numpy()
    ours = ours.detach().numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


def _grads(t_out, o_out, t_in, o_in, weights=None):
    """Backward of sum(out * weights) through both; their gradients compared."""
    w = np.random.default_rng(1).standard_normal(t_out.shape) if weights is None else weights
    (t_out * torch.tensor(w, dtype=t_out.dtype)).sum().backward()
    (o_out * tr.tensor(w.astype(o_out.dtype))).sum().backward()
    for t, o in zip(t_in, o_in):
        tg = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        og = np.zeros(o.shape) if o.grad is None else o.grad.numpy()
        np.testing.assert_allclose(og, tg, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)])
def test_pinv_hermitian_reads_the_lower_triangle_and_has_torchs_gradient(shape):
    """A matrix that is not symmetric: torch's pinv(hermitian=True) is the pinv of the symmetric matrix its lower
    triangle makes (main computed every A's own pinv); its gradient is pinv_backward's with A as given."""
    a = np.random.default_rng(0).standard_normal(shape) + 3 * np.eye(shape[-1])
    t, o = _pair(a)
    tp, op = torch.linalg.pinv(t, hermitian=True), tr.linalg.pinv(o, hermitian=True)
    _close(op, tp)
    _grads(tp, op, [t], [o])


@pytest.mark.parametrize("driver", ["gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("shape", [(2, 3), (4, 3)])
def test_lstsq_residuals_require_grad_as_torchs(shape, driver):
    """The empty residuals (a wide A, or driver gelsy) required no grad on main; torch's are on the tape."""
    rng = np.random.default_rng(0)
    (ta, oa), (tb, ob) = _pair(rng.standard_normal(shape)), _pair(rng.standard_normal((shape[0], 2)))
    theirs, ours = torch.linalg.lstsq(ta, tb, driver=driver), tr.linalg.lstsq(oa, ob, driver=driver)
    for t, o in zip(theirs[:2], ours[:2]):
        _close(o, t, rtol=1e-6, atol=1e-8)
        assert o.requires_grad == t.requires_grad
    loss_t, loss_o = theirs[0].sum() + theirs[1].sum(), ours[0].sum() + ours[1].sum()
    loss_t.backward()
    loss_o.backward()
    np.testing.assert_allclose(oa.grad.numpy(), ta.grad.numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(3, 3), (2, 1, 1)])
def test_matrix_power_0_is_on_the_tape_with_gradient_0(shape):
    t, o = _pair(np.random.default_rng(0).standard_normal(shape))
    tp, op = torch.linalg.matrix_power(t, 0), tr.linalg.matrix_power(o, 0)
    _close(op, tp)
    assert op.requires_grad == tp.requires_grad is True
    _grads(tp, op, [t], [o])
    assert not tr.linalg.matrix_power(tr.tensor(np.eye(2)), 0).requires_grad


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("ord", [-0.5, -1, -2, -3.5])
@pytest.mark.parametrize("values", [[0.0, 0.0, 0.0], [0.0, 2.0, -1.0], [1.5, 2.0, -1.0]])
def test_a_negative_order_norm_has_gradient_0_where_it_is_0(values, ord, keepdim):
    """main's gradient was NaN at a zero element (|0|^ord = inf); torch's norm_backward masks it to 0."""
    for fn in ("vector_norm", "norm"):
        t, o = _pair(np.array([values, [1.0, 2.0, 3.0]]))
        tn = torch.linalg.vector_norm(t, ord, 1, keepdim) if fn == "vector_norm" else torch.norm(t, ord, 1, keepdim)
        on = tr.linalg.vector_norm(o, ord, 1, keepdim) if fn == "vector_norm" else o.norm(ord, 1, keepdim)
        _close(on, tn)
        _grads(tn, on, [t], [o])


def test_norm_takes_negative_p_and_nuc_as_torchs():
    """main refused torch.norm's p < 0 and p="nuc" (ValueError)."""
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    for args in [(-1,), (-2, None), (-1.5, (0, 2), True), ("nuc", (1, 2)), ("nuc", (0, 2), True)]:
        t, o = _pair(a)
        tn, on = torch.norm(t, *args), tr.norm(o, *args)
        _close(on, tn)
        _grads(tn, on, [t], [o])
    t, o = _pair(a[0])
    _close(tr.norm(o, "nuc"), torch.norm(t, "nuc"))
    with pytest.raises(type(_error(lambda: torch.norm(torch.tensor(a), "nuc")))):
        tr.norm(tr.tensor(a), "nuc")


def _error(call):
    try:
        call()
    except Exception as e:  # noqa: BLE001 - torch's exception is what ours must be
        return e
    raise AssertionError("torch did not raise")


@pytest.mark.parametrize("kw", [{"rtol": "empty"}, {"atol": "empty"}, {"atol": [0.0, 0.5, 2.0]},
                                {"rtol": [0.0, 0.5, 2.0]}, {"atol": [0.5, 0.0, 0.0], "rtol": [0.0, 0.0, 0.9]}])
def test_tensor_tolerances_are_one_per_matrix(kw):
    """A Tensor atol/rtol holds one value per matrix of the batch: main broadcast it against the singular values
    (numpy's error for an empty batch, other ranks otherwise), and a Tensor atol's default rtol is elementwise."""
    rng = np.random.default_rng(0)
    batch = 0 if "empty" in kw.values() else 3
    a = rng.standard_normal((batch, 4, 4)) @ np.diag([1.0, 0.7, 0.3, 0.0])
    tkw = {k: torch.tensor(np.zeros(0) if v == "empty" else np.asarray(v)) for k, v in kw.items()}
    okw = {k: tr.tensor(np.zeros(0) if v == "empty" else np.asarray(v)) for k, v in kw.items()}
    t, o = _pair(a, requires_grad=False)
    ranks = tr.linalg.matrix_rank(o, **okw)
    np.testing.assert_array_equal(ranks.numpy(), torch.linalg.matrix_rank(t, **tkw).numpy())
    _close(tr.linalg.pinv(o, **okw), torch.linalg.pinv(t, **tkw), atol=1e-8)


@pytest.mark.parametrize("shapes, dims", [(((2, 1, 1), (3, 1, 2)), [[0, 1], [2, 0]]),
                                          (((1, 1, 1), (2, 1, 2)), [[0, 1], [2, 0]]),
                                          (((3, 1), (4, 3)), [[1], [0]])])
def test_tensordot_broadcasts_a_contracted_dim_of_size_1(shapes, dims):
    """main refused sizes 1 against n in a contracted pair; torch broadcasts them (the gradient summed back)."""
    rng = np.random.default_rng(0)
    (ta, oa), (tb, ob) = _pair(rng.standard_normal(shapes[0])), _pair(rng.standard_normal(shapes[1]))
    tout, oout = torch.tensordot(ta, tb, dims=dims), tr.tensordot(oa, ob, dims=dims)
    _close(oout, tout, rtol=1e-12)
    _grads(tout, oout, [ta, tb], [oa, ob])
