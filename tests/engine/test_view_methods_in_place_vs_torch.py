"""torch's in-place view methods squeeze_, unsqueeze_, transpose_, t_, swapdims_, swapaxes_, as_strided_ (main had
none: AttributeError), as torch 2.13's: the tensor itself takes the new shape over the same memory (writes show in
both directions, views taken before keep their shapes), the version goes up (a graph that saved the values refuses
its backward), gradients flow through the recorded view; a leaf that requires grad is refused. as_strided_'s view
is read-only here, as as_strided's is."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

METHODS = {
    "squeeze_()": (lambda x: x.squeeze_(), (1, 3, 1)),
    "squeeze_(0)": (lambda x: x.squeeze_(0), (1, 3, 1)),
    "squeeze_(-1)": (lambda x: x.squeeze_(-1), (1, 3, 1)),
    "squeeze_((0, 2))": (lambda x: x.squeeze_((0, 2)), (1, 3, 1)),
    "squeeze_(1) of a size-3 dim": (lambda x: x.squeeze_(1), (1, 3, 1)),
    "unsqueeze_(0)": (lambda x: x.unsqueeze_(0), (2, 3)),
    "unsqueeze_(-1)": (lambda x: x.unsqueeze_(-1), (2, 3)),
    "transpose_(0, 1)": (lambda x: x.transpose_(0, 1), (2, 3)),
    "transpose_(2, 0)": (lambda x: x.transpose_(2, 0), (2, 3, 4)),
    "t_() of a matrix": (lambda x: x.t_(), (2, 3)),
    "t_() of a vector": (lambda x: x.t_(), (3,)),
    "swapdims_(0, 2)": (lambda x: x.swapdims_(0, 2), (2, 3, 4)),
    "swapaxes_(1, 0)": (lambda x: x.swapaxes_(1, 0), (2, 3)),
    "as_strided_": (lambda x: x.as_strided_((2, 2), (1, 2), 1), (6,)),
    "as_strided_ no offset": (lambda x: x.as_strided_((3,), (2,)), (2, 3)),
    "two in a row": (lambda x: x.t_().unsqueeze_(0), (2, 3)),
}


def _both(shape, dtype=np.float64, requires_grad=False):
    a = np.arange(float(np.prod(shape))).reshape(shape).astype(dtype)
    return torch.tensor(a, requires_grad=requires_grad), tr.tensor(a, requires_grad=requires_grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("name", sorted(METHODS))
def test_the_tensor_itself_takes_the_view_as_torch(name, dtype):
    fn, shape = METHODS[name]
    t, o = _both(shape, dtype)
    t_before, o_before = t.reshape(-1)[:2], o.reshape(-1)[:2]   # views taken before keep their shape
    t_version, o_version = t._version, o._version
    assert fn(o) is o and fn(t) is t
    assert o.shape == tuple(t.shape) and o.stride() == t.stride() and o.is_contiguous() == t.is_contiguous()
    np.testing.assert_array_equal(o.numpy(), t.numpy())
    assert o._version - o_version == t._version - t_version
    assert o_before.shape == tuple(t_before.shape)
    if name.startswith("as_strided_"):
        return   # (read-only here)
    t_before[0] = 100
    o_before[0] = 100
    np.testing.assert_array_equal(o.numpy(), t.numpy())


@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_computed_tensor_gets_the_views_gradient_as_torch(name):
    fn, shape = METHODS[name]
    results = []
    for L in (torch, tr):
        a = L.tensor(np.linspace(-1.0, 2.0, int(np.prod(shape))).reshape(shape), requires_grad=True)
        x = a * 3
        out = fn(x)
        assert out is x
        weights = L.tensor(np.cos(np.arange(x.numel())).reshape(tuple(x.shape)))
        (x * weights).sum().backward()
        results.append(a.grad.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


@pytest.mark.parametrize("name", ["t_() of a matrix", "unsqueeze_(0)", "squeeze_()"])
def test_a_graph_that_saved_the_values_refuses_its_backward_as_torch(name):
    fn, shape = METHODS[name]

    def run(L):
        a = L.tensor(np.ones(shape), requires_grad=True)
        y = a.exp()        # exp saves its result: the in-place view bumps its version
        fn(y)
        y.sum().backward()
    raises_as_torch(lambda: run(torch), lambda: run(tr), "modified by an inplace operation")


def test_a_view_of_a_computed_tensor_and_a_leaf_under_no_grad_as_torch():
    for L in (torch, tr):
        a = L.tensor(np.arange(6.0), requires_grad=True)
        b = a * 1
        x = b[1:5]
        x.unsqueeze_(1)
        (x * 2).sum().backward()
        if L is torch:
            want = a.grad.numpy()
        else:
            np.testing.assert_array_equal(a.grad.numpy(), want)
    t, o = _both((3, 1), requires_grad=True)
    with torch.no_grad():
        t.squeeze_()
    with tr.no_grad():
        o.squeeze_()
    assert o.shape == tuple(t.shape) and o.is_leaf and o.requires_grad
    (t * 2).sum().backward()
    (o * 2).sum().backward()
    np.testing.assert_array_equal(o.grad.numpy(), t.grad.numpy())


def test_a_leaf_after_t_takes_a_recorded_write_as_torch():
    t, o = _both((2, 3))
    tw, ow = torch.ones(3, 2, dtype=torch.float64, requires_grad=True), tr.ones(3, 2, dtype=tr.float64,
                                                                                 requires_grad=True)
    t.t_().add_(tw * 2)
    o.t_().add_(ow * 2)
    np.testing.assert_array_equal(o.detach().numpy(), t.detach().numpy())
    (t * t).sum().backward()
    (o * o).sum().backward()
    np.testing.assert_array_equal(ow.grad.numpy(), tw.grad.numpy())


REFUSALS = {
    "a leaf that requires grad": lambda L: L.ones(2, 3, requires_grad=True).t_(),
    "t_ of a 3-D tensor": lambda L: L.ones(2, 2, 2).t_(),
    "unsqueeze_ past the dims": lambda L: L.ones(2).unsqueeze_(3),
    "transpose_ past the dims": lambda L: L.ones(2, 3).transpose_(0, 2),
    "squeeze_ past the dims": lambda L: L.ones(2, 3).squeeze_(2),
    "as_strided_ out of bounds": lambda L: L.ones(4).as_strided_((3,), (2,)),
    "a no_grad view written with grad on": lambda L: _no_grad_view(L).squeeze_(0),
}


def _no_grad_view(L):
    a = L.ones(1, 3, requires_grad=True)
    with L.no_grad():
        return a[0:1]


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSALS[name](torch), lambda: REFUSALS[name](tr))


def test_a_computed_tensor_under_no_grad_is_refused_where_torchs_backward_fails_later():
    """torch takes it, then fails at backward (its recorded Mul gives a gradient of the old shape); refused here."""
    t = torch.ones(2, 3, requires_grad=True) * 2
    with torch.no_grad():
        t.t_()
    with pytest.raises(RuntimeError):
        t.sum().backward()
    o = tr.ones(2, 3, requires_grad=True) * 2
    with tr.no_grad(), pytest.raises(RuntimeError, match="under no_grad"):
        o.t_()
