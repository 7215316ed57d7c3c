"""Differences torch's OpInfo samples found (bench/opinfo_probe.py runs them against this library), each fixed
and held here against torch 2.13: values, shapes, dtypes and gradients."""
import numpy as np
import pytest

import tinygrad_rnn as tr
import tinygrad_rnn.nn.functional as F

torch = pytest.importorskip("torch")


def _pair(values, requires_grad=True, dtype=np.float32):
    a = np.asarray(values, dtype=dtype)
    return torch.tensor(a, requires_grad=requires_grad), tr.tensor(a, requires_grad=requires_grad)


def _same(ours, theirs, rtol=1e-6):
    theirs = theirs.detach().numpy()
    ours = np.asarray(ours.data if isinstance(ours, tr.Tensor) else ours)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-7)


def _grad(x):
    return np.zeros(x.shape, x.dtype) if x.grad is None else np.asarray(x.grad)


@pytest.mark.parametrize("index", [[0], [0, 0, 0]])
@pytest.mark.parametrize("method", [True, False])
def test_gather_of_a_0d_tensor_has_the_index_shape_and_its_gradient(index, method):
    """A 0-d input gathered by a 1-D index gave a 0-d result (silently) where torch's has the index's shape."""
    t, o = _pair(2.5)
    ti, oi = torch.tensor(index), tr.tensor(index)
    tout = t.gather(0, ti) if method else torch.gather(t, 0, ti)
    oout = o.gather(0, oi) if method else tr.gather(o, 0, oi)
    _same(oout, tout)
    (tout * 3).sum().backward()
    (oout * 3).sum().backward()
    np.testing.assert_allclose(_grad(o), t.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2}, {"reduction": "sum"}, {"reduction": "none"},
                                    {"weight": [0.5, 1.0, 2.0]}])
def test_cross_entropy_with_probabilities_gives_the_target_its_gradient(kwargs, dtype):
    """A float target of class probabilities got no gradient; torch's is -log_softmax(input), scaled."""
    rng = np.random.default_rng(0)
    logits, probs = rng.standard_normal((4, 3)), rng.dirichlet(np.ones(3), size=4)
    (ti, oi), (tt, ot) = _pair(logits, dtype=dtype), _pair(probs, dtype=dtype)
    extra = dict(kwargs)
    if "weight" in extra:
        extra_t = {**extra, "weight": torch.tensor(np.asarray(extra["weight"], dtype))}
        extra_o = {**extra, "weight": tr.tensor(np.asarray(extra["weight"], dtype))}
    else:
        extra_t = extra_o = extra
    tl = torch.nn.functional.cross_entropy(ti, tt, **extra_t)
    ol = F.cross_entropy(oi, ot, **extra_o)
    _same(ol, tl, rtol=1e-5)
    tl.sum().backward()
    ol.sum().backward()
    np.testing.assert_allclose(_grad(ot), tt.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_grad(oi), ti.grad.numpy(), rtol=1e-5, atol=1e-6)


ZERO_D = {
    "expand([])": lambda x, lib: x.expand([]),
    "expand(size=())": lambda x, lib: x.expand(size=()),
    "expand_as": lambda x, lib: x.expand_as(lib.tensor(1.0)),
    "repeat([])": lambda x, lib: x.repeat([]),
    "tile([])": lambda x, lib: x.tile([]),
    "transpose(0, 0)": lambda x, lib: x.transpose(0, 0),
    "transpose(0, -1)": lambda x, lib: x.transpose(0, -1),
    "masked_select": lambda x, lib: x.masked_select(lib.tensor(True)),
}


@pytest.mark.parametrize("op", sorted(ZERO_D))
def test_a_0d_tensor_expands_repeats_and_transposes_as_torchs(op):
    """A 0-d tensor's expand to no sizes (and expand_as, repeat([]), tile([]), masked_select, which expand) and
    transpose(0, -1) were refused where torch gives the tensor back (x.expand() without sizes stays refused)."""
    t, o = _pair(1.5)
    tout, oout = ZERO_D[op](t, torch), ZERO_D[op](o, tr)
    for x in (t, o):
        with pytest.raises(TypeError):
            x.expand()
    _same(oout, tout)
    (tout * 2).sum().backward()
    (oout * 2).sum().backward()
    np.testing.assert_allclose(_grad(o), t.grad.numpy())


@pytest.mark.parametrize("value", [3.0, 0.0])
def test_nonzero_as_tuple_of_a_0d_tensor_is_torchs(value):
    """A 0-d tensor's nonzero(as_tuple=True) raised numpy's IndexError; torch gives one index tensor."""
    t, o = _pair(value, requires_grad=False)
    theirs, ours = t.nonzero(as_tuple=True), o.nonzero(as_tuple=True)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        _same(a, b)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("call", ["function", "method", "positional"])
def test_softmax_and_log_softmax_take_torchs_dtype(fn, dtype, call):
    """torch.softmax(x, dim, dtype=) and x.softmax(dim, dtype) cast the input first; both were refused here."""
    t, o = _pair([[0.5, -1.0, 2.0], [3.0, 0.0, 1.0]])
    if call == "function":
        tout = getattr(torch, fn)(t, 1, dtype=getattr(torch, dtype))
        oout = getattr(tr, fn)(o, 1, dtype=getattr(tr, dtype))
    elif call == "method":
        tout = getattr(t, fn)(0, dtype=getattr(torch, dtype))
        oout = getattr(o, fn)(0, dtype=getattr(tr, dtype))
    else:
        tout = getattr(t, fn)(1, getattr(torch, dtype))
        oout = getattr(o, fn)(1, getattr(tr, dtype))
    _same(oout, tout, rtol=1e-6)
    w = np.arange(6.0).reshape(2, 3)
    (tout * torch.tensor(w, dtype=tout.dtype)).sum().backward()
    (oout * tr.tensor(w, dtype=oout.dtype)).sum().backward()
    assert np.asarray(o.grad).dtype == np.float32
    np.testing.assert_allclose(_grad(o), t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_norm_with_p_0_counts_the_nonzero_elements_as_torch(dim):
    """torch.norm(x, 0) is the count of nonzero elements (NaN counts); it was refused here."""
    values = [[0.0, 1.5, np.nan], [2.0, 0.0, -0.0]]
    t, o = _pair(values)
    tout, oout = t.norm(0, dim=dim), o.norm(0, dim=dim)
    _same(oout, tout)
    oout.sum().backward()   # (torch's gradient is zero: it leaves none)
    np.testing.assert_array_equal(_grad(o), np.zeros((2, 3), np.float32))
