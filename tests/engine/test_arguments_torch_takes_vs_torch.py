"""Arguments torch 2.13 takes and this library refused (bench/opinfo_probe.py's audits found them): arange of bools,
cat beside a legacy empty tensor (shape (0,)), a one-element int tensor as a Python index (__index__), batch_norm of
an empty 1-D input, layer_norm with a negative eps, x.to(True) / x.to(2.5). Held against torch: values, dtypes,
shapes, gradients and the refusals around them."""
import operator

import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr
import tinygrad_rnn.nn.functional as F

torch = pytest.importorskip("torch")


def _same(ours, theirs, rtol=1e-6):
    theirs = theirs.detach().numpy()
    ours = ours.detach().numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("args", [(True,), (False,), (False, True), (0, 5, True), (True, 4), (True, 2.5),
                                  (np.True_,), (np.True_, 3)])
def test_arange_reads_bools_as_torch(args):
    """torch reads True/False as 1/0 (int64 results); numpy's np.True_ as a float (float32). main refused both."""
    _same(tr.arange(*args), torch.arange(*args))


def test_arange_step_zero_is_torchs_runtime_error():
    raises_as_torch(lambda: torch.arange(0, 3, False), lambda: tr.arange(0, 3, False), "step must be nonzero")
    raises_as_torch(lambda: torch.arange(0, 3, 0), lambda: tr.arange(0, 3, 0), "step must be nonzero")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes, dim", [([(0,), (2, 3)], 0), ([(2, 3), (0,)], 1), ([(0,), (2, 3), (0,), (1, 3)], 0),
                                         ([(2, 3), (0,), (2, 2)], -1), ([(0,), (0,)], 0), ([(0,), (0, 3)], 0),
                                         ([(0,), (2, 0)], 1)])
def test_cat_skips_legacy_empty_tensors_as_torch(shapes, dim, dtype):
    """torch's cat skips shape-(0,) tensors beside tensors of other shapes; each still gets an empty gradient.
    main refused them (their shape did not match)."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours = [tr.tensor(a, requires_grad=True) for a in arrays]
    tout, oout = torch.cat(theirs, dim), tr.cat(ours, dim)
    _same(oout, tout)
    weights = rng.standard_normal(tuple(tout.shape)).astype(dtype)
    (tout * torch.tensor(weights)).sum().backward()
    (oout * tr.tensor(weights)).sum().backward()
    for o, t in zip(ours, theirs):
        _same(o.grad, t.grad)


def test_cat_still_refuses_what_torch_refuses():
    raises_as_torch(lambda: torch.cat([torch.zeros(0), torch.ones(2, 3), torch.ones(3, 2)]),
                    lambda: tr.cat([tr.zeros(0), tr.ones(2, 3), tr.ones(3, 2)]))
    raises_as_torch(lambda: torch.cat([torch.zeros(0), torch.ones(2, 3)], dim=2),
                    lambda: tr.cat([tr.zeros(0), tr.ones(2, 3)], dim=2))


@pytest.mark.parametrize("value", [[2], [[3]], 1, True, [False]])
def test_one_element_int_tensor_is_a_python_index(value):
    """range(t), a_list[t], operator.index(t), a slice bound: torch's __index__ (main had none: TypeError)."""
    items = list(range(10, 20))
    ours, theirs = tr.tensor(value), torch.tensor(value)
    assert operator.index(ours) == operator.index(theirs)
    assert items[ours] == items[theirs]
    assert list(range(ours)) == list(range(theirs))
    assert items[ours:] == items[theirs:]
    assert np.arange(5)[ours] == np.arange(5)[theirs]   # numpy reads it as an int, as it reads torch's


@pytest.mark.parametrize("value", [[2.0], 1.5, [1, 2], [], [[1], [2]]])
def test_index_refuses_float_and_many_element_tensors_as_torch(value):
    raises_as_torch(lambda: operator.index(torch.tensor(value)), lambda: operator.index(tr.tensor(value)),
                    "only integer tensors of a single element")


@pytest.mark.parametrize("value", [[3.5], [[2]], 7, [True]])
def test_int_float_bool_of_one_element_tensors(value):
    ours, theirs = tr.tensor(value), torch.tensor(value)
    for convert in (int, float, bool):
        got, want = convert(ours), convert(theirs)
        assert type(got) is type(want) and got == want


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("running", [None, 0, 3])
def test_batch_norm_of_an_empty_1d_input_is_empty_as_torch(training, running):
    """torch's batch_norm gives a (0,) input back empty (a copy, with a gradient); main refused it (<2 dims)."""
    stats = {"t": (None, None), "o": (None, None)}
    if running is not None:
        stats = {"t": (torch.zeros(running), torch.ones(running)), "o": (tr.zeros(running), tr.ones(running))}
    for dtype in (np.float32, np.float64):
        t, o = torch.zeros(0, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True), \
            tr.zeros(0, dtype=dtype, requires_grad=True)
        tout = torch.nn.functional.batch_norm(t, *stats["t"], training=training)
        oout = F.batch_norm(o, *stats["o"], training=training)
        _same(oout, tout)
        tout.sum().backward()
        oout.sum().backward()
        _same(o.grad, t.grad)


@pytest.mark.parametrize("training, eps", [(True, 0.0), (True, -1.0), (False, -1.0)])
def test_batch_norm_of_an_empty_1d_input_checks_eps_as_torch(training, eps):
    raises_as_torch(lambda: torch.nn.functional.batch_norm(torch.zeros(0), None, None, training=training, eps=eps),
                    lambda: F.batch_norm(tr.zeros(0), None, None, training=training, eps=eps), "eps")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eps", [-0.1, -1.0, -2.0, float("-inf"), float("nan")])
def test_layer_norm_takes_a_negative_eps_as_torch(eps, dtype):
    """torch computes with any eps: values where var + eps > 0, NaN elsewhere. main refused eps < 0."""
    x = np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 0.0], [3.0, -1.0, 0.5]], dtype)
    t, o = torch.tensor(x, requires_grad=True), tr.tensor(x, requires_grad=True)
    tout = torch.nn.functional.layer_norm(t, (3,), eps=eps)
    oout = F.layer_norm(o, (3,), eps=eps)
    _same(oout, tout, rtol=1e-5)
    weights = np.array([[1.0, -2.0, 0.5], [1.0, 1.0, 1.0], [0.25, 3.0, -1.0]], dtype)
    (tout * torch.tensor(weights)).sum().backward()
    (oout * tr.tensor(weights)).sum().backward()
    _same(o.grad, t.grad, rtol=1e-4)
    if eps == eps:   # (the module refuses a NaN eps, which torch stores: tests/nn/test_checks.py)
        tmod = torch.nn.LayerNorm(3, eps=eps, dtype=getattr(torch, np.dtype(dtype).name))
        omod = tr.nn.LayerNorm(3, eps=eps, dtype=dtype)
        _same(omod(o), tmod(t), rtol=1e-5)


def test_layer_norm_eps_must_be_a_number_as_torch():
    raises_as_torch(lambda: torch.nn.functional.layer_norm(torch.ones(3), (3,), eps="a"),
                    lambda: F.layer_norm(tr.ones(3), (3,), eps="a"), "eps")


@pytest.mark.parametrize("args", [(True,), (False,), (True, True), (True, False, True), (2.5,), (2.5, True),
                                  (float,), (bool,), (int,)])
@pytest.mark.parametrize("dtype", [np.float32, np.bool_])
def test_to_with_a_python_scalar_takes_its_dtype_as_torch(args, dtype):
    """torch reads x.to(True) / x.to(2.5) as to(other) with the number wrapped as a tensor (bool, float64); main
    read True as non_blocking and returned x unchanged."""
    t, o = torch.ones(2, dtype=getattr(torch, np.dtype(dtype).name)), tr.ones(2, dtype=dtype)
    tout, oout = t.to(*args), o.to(*args)
    _same(oout, tout)
    assert (oout is o) == (tout is t)


def test_to_device_then_a_flag_is_torchs_type_error():
    raises_as_torch(lambda: torch.ones(2).to("cpu", True), lambda: tr.ones(2).to("cpu", True))
