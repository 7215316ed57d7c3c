"""torch 2.13's activations, normalisations and containers added to tr.nn.functional / tr.nn (hardtanh ... rms_norm,
PReLU, RMSNorm, Flatten, Unflatten, ParameterList, ParameterDict), held to torch: values and gradients in float32
and float64, at the kinks (where torch's derivative picks a side), argument errors, module reprs and state_dict
keys. Also leaky_relu, elu and softplus, whose masks became Tensor comparisons (elu's NaN side is torch's now)."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
F, TF = tr.nn.functional, torch.nn.functional
DTYPES = [np.float64, np.float32]
TOL = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=2e-6, atol=1e-7)}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}

# every kink of the functions below (with their default or given arguments), overflow edges, +-inf
POINTS = np.array([-800, -89, -7, -6, -3, -2.9999, -1, -0.5, -0.3, -1e-30, 0, 1e-30, 0.25, 0.3, 0.5, 1, 2.9999, 3, 6,
                   7, 19.99, 20, 20.01, 25, 89, 800, np.inf, -np.inf])

ELEMENTWISE = [
    ("hardtanh", {}), ("hardtanh", dict(min_val=-0.5, max_val=0.25)), ("relu6", {}), ("hardsigmoid", {}),
    ("hardswish", {}), ("selu", {}), ("celu", {}), ("celu", dict(alpha=0.5)), ("mish", {}), ("softsign", {}),
    ("softshrink", {}), ("softshrink", dict(lambd=0.3)), ("hardshrink", {}), ("hardshrink", dict(lambd=1.0)),
    ("tanhshrink", {}), ("threshold", dict(threshold=0.25, value=-2.0)), ("threshold", dict(threshold=-1, value=7)),
    ("logsigmoid", {}), ("rrelu", {}),
]


def _both(name, kw, xs, dtype):
    """(value, gradient) of the library's and torch's function at xs, under a non-uniform upstream gradient."""
    upstream = np.linspace(-1, 2, xs.size).astype(dtype)
    x = tr.Tensor(xs.astype(dtype), requires_grad=True)
    y = getattr(F, name)(x, **kw)
    (y * tr.Tensor(upstream)).sum().backward()
    tx = torch.tensor(xs.astype(dtype), requires_grad=True)
    ty = getattr(TF, name)(tx, **kw)
    (ty * torch.from_numpy(upstream)).sum().backward()
    return (y, x.grad), (ty.detach().numpy(), tx.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, kw", ELEMENTWISE, ids=[f"{n}{k or ''}" for n, k in ELEMENTWISE])
def test_values_and_gradients_equal_torch_at_the_kinks(name, kw, dtype):
    with np.errstate(all="ignore"):
        (y, grad), (want, want_grad) = _both(name, kw, POINTS, dtype)
    assert y.dtype == dtype
    np.testing.assert_allclose(y._data, want, **TOL[dtype])
    # torch's float64 hardsigmoid gradient is 1/6 rounded to float32 (its kernel's constant): 3e-8 off 1/6
    np.testing.assert_allclose(grad, want_grad, **(dict(rtol=2e-7) if name == "hardsigmoid" and dtype == np.float64
                                                  else dict(TOL[dtype], rtol=3e-7) if name == "hardsigmoid"
                                                  else TOL[dtype]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", [{}, dict(beta=2.0, threshold=1.0)])
def test_softplus_keeps_the_tiny_values_of_very_negative_inputs(kw, dtype):
    """log1p(exp(x)), as torch's kernel, not log(1 + exp(x)), which rounds exp(x) away below the dtype's epsilon."""
    xs = np.array([-89.0, -60.0, -30.0, -20.0, -7.0, -1.0])
    with np.errstate(all="ignore"):
        (y, grad), (want, want_grad) = _both("softplus", kw, xs, dtype)
    np.testing.assert_allclose(y._data, want, rtol=TOL[dtype]["rtol"], atol=0)
    np.testing.assert_allclose(grad, want_grad, **TOL[dtype])


@pytest.mark.parametrize("name, kw", [("selu", {}), ("celu", {}), ("elu", {}), ("rrelu", {}),
                                      ("hardswish", {}), ("threshold", dict(threshold=1.0, value=2.0)), ("mish", {}),
                                      ("logsigmoid", {}), ("softsign", {}), ("tanhshrink", {})])
def test_nan_is_propagated_and_differentiated_as_torch(name, kw):
    """NaN's value, and its gradient where torch's kernels agree on it (hardtanh's, relu6's, softshrink's and
    hardshrink's gradient at NaN depend on whether torch's vectorized or scalar loop sees it: not compared)."""
    with np.errstate(all="ignore"):
        (y, grad), (want, want_grad) = _both(name, kw, np.array([np.nan, 1.0]), np.float64)
    np.testing.assert_allclose(y._data, want, rtol=1e-15)   # (assert_allclose: NaN equals NaN)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-15)


@pytest.mark.parametrize("name", ["hardtanh", "relu6", "hardsigmoid", "softshrink", "hardshrink"])
def test_nan_values_equal_torch(name):
    (y, _), (want, _) = _both(name, {}, np.array([np.nan, 0.1]), np.float64)
    np.testing.assert_array_equal(y._data, want)


def test_a_negative_zero_where_torch_gives_one():
    """hardswish and softshrink give -0.0 for small negative inputs (input * 0), as torch's kernels."""
    xs = np.array([-5.0, -0.2])
    for name in ("hardswish", "softshrink"):
        (y, _), (want, _) = _both(name, {}, xs, np.float64)
        np.testing.assert_array_equal(np.signbit(y._data), np.signbit(want))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmin_glu_prelu_normalize_rms_norm_equal_torch(dtype):
    rng = np.random.default_rng(0)
    xd = rng.standard_normal((3, 4, 5)).astype(dtype)
    xd[0, 0] = 0.0   # prelu's kink, a zero vector for normalize
    wd = np.array([0.25, -0.5, 1.5, 0.1], dtype)
    cases = [
        (lambda x, w: F.softmin(x, 1), lambda x, w: TF.softmin(x, 1)),
        (lambda x, w: F.glu(x, 1), lambda x, w: TF.glu(x, 1)),
        (lambda x, w: F.glu(x[..., :4]), lambda x, w: TF.glu(x[..., :4])),
        (lambda x, w: F.prelu(x, w), lambda x, w: TF.prelu(x, w)),
        (lambda x, w: F.prelu(x, w[:1]), lambda x, w: TF.prelu(x, w[:1])),
        (lambda x, w: F.normalize(x), lambda x, w: TF.normalize(x)),
        (lambda x, w: F.normalize(x, 1.0, -1), lambda x, w: TF.normalize(x, 1.0, -1)),
        (lambda x, w: F.normalize(x, float("inf"), 0, 1e-3), lambda x, w: TF.normalize(x, float("inf"), 0, 1e-3)),
        (lambda x, w: F.rms_norm(x, (5,)), lambda x, w: TF.rms_norm(x, (5,))),
        (lambda x, w: F.rms_norm(x, (4, 5), w[:, None] * x[0].detach() * 0 + w[:, None], 1e-3),
         lambda x, w: TF.rms_norm(x, (4, 5), w[:, None] * x[0].detach() * 0 + w[:, None], 1e-3)),
    ]
    up = rng.standard_normal((3, 4, 5))
    for ours, theirs in cases:
        x, w = tr.Tensor(xd, requires_grad=True), tr.Tensor(wd, requires_grad=True)
        y = ours(x, w)
        (y * tr.Tensor(up[tuple(slice(0, n) for n in y.shape)].astype(dtype))).sum().backward()
        tx, tw = torch.tensor(xd, requires_grad=True), torch.tensor(wd, requires_grad=True)
        ty = theirs(tx, tw)
        (ty * torch.from_numpy(up[tuple(slice(0, n) for n in ty.shape)].astype(dtype))).sum().backward()
        assert y.dtype == dtype
        np.testing.assert_allclose(y._data, ty.detach().numpy(), **TOL[dtype])
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), **TOL[dtype])
        if tw.grad is not None:
            np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=TOL[dtype]["rtol"] * 10, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rms_norm_default_eps_is_the_dtype_machine_epsilon(dtype):
    xd = np.full((2, 3), 1e-5, dtype)   # mean(x^2) is below eps: eps decides the result
    np.testing.assert_allclose(F.rms_norm(tr.Tensor(xd), (3,))._data,
                               TF.rms_norm(torch.from_numpy(xd), (3,)).numpy(), rtol=1e-6)


def test_rrelu_in_training_draws_slopes_from_the_library_generator():
    """Slopes in [lower, upper] for inputs <= 0, 1 elsewhere; the gradient is the slope; tr.manual_seed repeats it."""
    xd = np.array([-2.0, -1.0, 0.0, 1.0, -3.0] * 20)
    tr.manual_seed(3)
    x = tr.Tensor(xd, requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    y.sum().backward()
    slope = x.grad.numpy()
    assert np.all(slope[xd > 0] == 1) and np.all((slope[xd <= 0] >= 0.1) & (slope[xd <= 0] <= 0.3))
    np.testing.assert_allclose(y._data, xd * slope)
    assert len(np.unique(slope[xd < 0])) > 10
    tr.manual_seed(3)
    np.testing.assert_array_equal(F.rrelu(tr.Tensor(xd), 0.1, 0.3, True)._data, y._data)
    module = tr.nn.RReLU(0.1, 0.3)
    module.eval()
    np.testing.assert_array_equal(module(tr.Tensor(xd))._data, TF.rrelu(torch.from_numpy(xd), 0.1, 0.3).numpy())


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_is_torchs_formula_with_the_library_noise(hard):
    """The noise is -log(Exponential(1)) from the library's generator: drawn again after the same seed, torch's
    formula on it gives the same values and gradients."""
    logits = np.random.default_rng(1).standard_normal((4, 6))
    tr.manual_seed(7)
    x = tr.Tensor(logits, requires_grad=True)
    y = F.gumbel_softmax(x, tau=0.5, hard=hard)
    weights = np.arange(24.0).reshape(4, 6)
    (y * tr.Tensor(weights)).sum().backward()
    tr.manual_seed(7)
    gumbels = -np.log(tr.random.generator().exponential(size=(4, 6)))
    tx = torch.tensor(logits, requires_grad=True)
    soft = ((tx + torch.from_numpy(gumbels)) / 0.5).softmax(-1)
    want = soft
    if hard:
        index = soft.max(-1, keepdim=True)[1]
        want = torch.zeros_like(soft).scatter_(-1, index, 1.0) - soft.detach() + soft
    (want * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(y._data, want.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    if hard:
        assert set(np.unique(y._data)) == {0.0, 1.0}


INPLACE = [("hardtanh", {}), ("relu6", {}), ("hardsigmoid", {}), ("hardswish", {}), ("selu", {}), ("celu", {}),
           ("mish", {}), ("threshold", dict(threshold=0.1, value=3.0)), ("rrelu", {})]


@pytest.mark.parametrize("name, kw", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_writes_the_input_as_torch(name, kw):
    xd = np.linspace(-7, 7, 15)
    x = tr.Tensor(xd.copy())
    out = getattr(F, name)(x, **kw, inplace=True)
    tx = torch.tensor(xd.copy())
    getattr(TF, name)(tx, **kw, inplace=True)
    assert out is x
    np.testing.assert_allclose(x._data, tx.numpy(), rtol=1e-12)
    # recorded: a non-leaf written in place carries the gradient on, as torch's
    leaf, tleaf = tr.Tensor(xd, requires_grad=True), torch.tensor(xd, requires_grad=True)
    y, ty = leaf * 1.5, tleaf * 1.5
    getattr(F, name)(y, **kw, inplace=True).sum().backward()
    getattr(TF, name)(ty, **kw, inplace=True).sum().backward()
    np.testing.assert_allclose(leaf.grad, tleaf.grad.numpy(), rtol=1e-7)   # (torch's hardsigmoid's 1/6: float32)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(F, name)(tr.Tensor(xd, requires_grad=True), **kw, inplace=True)


ERRORS = [
    (lambda f: f.hardtanh(tr.ones(2), 2.0, 1.0), ValueError, "min_val cannot be greater than max_val"),
    (lambda f: f.celu(tr.ones(2), 0.0), RuntimeError, "alpha cannot be 0 for CELU"),
    (lambda f: f.glu(tr.ones(3)), RuntimeError, "Halving dimension must be even, but dimension 0 is size 3"),
    (lambda f: f.glu(tr.ones(4), 3), IndexError, r"Dimension out of range \(expected to be in range of \[-1, 0\]"),
    (lambda f: f.glu(tr.tensor(1.0)), RuntimeError, "glu does not support scalars"),
    (lambda f: f.softshrink(tr.ones(2), -1.0), RuntimeError, "lambda must be in range"),
    (lambda f: f.softshrink(tr.ones(2), float("inf")), RuntimeError, "lambda must be in range"),
    (lambda f: f.rrelu(tr.ones(2), 0.5, 0.1), RuntimeError, "Lower bound should be less than or equal to the upper"),
    (lambda f: f.prelu(tr.ones((2, 3)), tr.ones(2)), RuntimeError,
     "Mismatch of parameter numbers and input channel size. Found parameter numbers = 2 and channel size = 3"),
    (lambda f: f.prelu(tr.ones(3), tr.ones(3)), RuntimeError, "channel size = 1"),
    (lambda f: f.prelu(tr.ones((2, 3)), tr.ones((1, 1))), RuntimeError, "scalar or 1D tensor, but got: ndim = 2"),
    (lambda f: f.rms_norm(tr.ones((2, 3)), (2,)), RuntimeError, r"Given normalized_shape=\[2\]"),
    (lambda f: f.rms_norm(tr.ones((2, 3)), (3,), tr.ones(2)), RuntimeError,
     "Expected weight to be of same shape as normalized_shape"),
    (lambda f: f.normalize(tr.ones((2, 3)), dim=5), IndexError, "Dimension out of range"),
    (lambda f: f.selu(tr.tensor([1, 2])), NotImplementedError, "not implemented"),
    (lambda f: f.mish(tr.tensor([1, 2])), NotImplementedError, "not implemented"),
    (lambda f: f.hardtanh([1.0, 2.0]), TypeError, "must be Tensor"),
]


@pytest.mark.parametrize("call, error, words", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_bad_arguments_raise_torchs_error_in_its_words(call, error, words):
    with pytest.raises(error, match=words):   # torch's own, in these words
        call(torch_namespace())
    with pytest.raises(error, match=words):
        call(F_namespace())


def torch_namespace():
    """torch's F with tr.ones / tr.tensor reaching it as torch tensors (the calls above are written once)."""
    class Namespace:
        def __getattr__(self, name):
            fn = getattr(TF, name)
            return lambda *a, **k: fn(*[torch.tensor(v._data) if isinstance(v, tr.Tensor) else
                                        (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for v in a], **k)
    return Namespace()


def F_namespace():
    return F


MODULES = [
    ("Hardtanh", (), {}), ("Hardtanh", (-0.5, 2.0, True), {}), ("ReLU6", (), {}), ("ReLU6", (True,), {}),
    ("Hardsigmoid", (), {}), ("Hardswish", (True,), {}), ("SELU", (), {}), ("CELU", (0.5,), {}),
    ("CELU", (), dict(inplace=True)), ("Mish", (), {}), ("Softsign", (), {}), ("Softshrink", (), {}),
    ("Softshrink", (0.25,), {}), ("Hardshrink", (1.5,), {}), ("Tanhshrink", (), {}), ("Threshold", (0.1, 20), {}),
    ("Threshold", (1, 2, True), {}), ("LogSigmoid", (), {}), ("Softmin", (1,), {}), ("Softmin", (), {}),
    ("GLU", (), {}), ("GLU", (0,), {}), ("RReLU", (), {}), ("RReLU", (0.1, 0.2, True), {}), ("PReLU", (3,), {}),
    ("RMSNorm", (4,), {}), ("RMSNorm", ([2, 3],), dict(eps=1e-3, elementwise_affine=False)), ("RMSNorm", (3,),
                                                                                              dict(eps=0)),
    ("Flatten", (), {}), ("Flatten", (0, 1), {}), ("Unflatten", (1, (2, 5)), {}), ("Unflatten", (1, [2, 2]), {}),
]


@pytest.mark.parametrize("name, args, kwargs", MODULES, ids=[f"{n}{a}{k or ''}" for n, a, k in MODULES])
def test_module_reprs_are_torchs(name, args, kwargs):
    assert repr(getattr(tr.nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


@pytest.mark.parametrize("dtype", DTYPES)
def test_modules_compute_what_torch_computes(dtype):
    xd = np.random.default_rng(2).standard_normal((2, 4, 6)).astype(dtype)
    for name, args in (("Softmin", (1,)), ("GLU", ()), ("Flatten", ()), ("Unflatten", (2, (2, 3))),
                       ("RMSNorm", (6,)), ("PReLU", (4,)), ("Hardtanh", (-0.5, 0.5)), ("Softshrink", (0.2,))):
        ours, theirs = getattr(tr.nn, name)(*args), getattr(torch.nn, name)(*args)
        if name in ("RMSNorm", "PReLU"):
            ours = getattr(tr.nn, name)(*args, dtype=dtype)
            theirs = theirs.to(TORCH_DTYPE[dtype])
            theirs.weight.data.mul_(torch.linspace(0.5, 1.5, theirs.weight.numel()).reshape(theirs.weight.shape))
            ours.weight._data[...] = theirs.weight.detach().numpy()
        x, tx = tr.Tensor(xd, requires_grad=True), torch.tensor(xd, requires_grad=True)
        y, ty = ours(x), theirs(tx)
        y.sum().backward(), ty.sum().backward()
        np.testing.assert_allclose(y._data, ty.detach().numpy(), **TOL[dtype])
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=TOL[dtype]["rtol"] * 10, atol=1e-6)
        if name in ("RMSNorm", "PReLU"):
            np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_prelu_and_rms_norm_parameters_and_state_dict_keys_are_torchs():
    for name, args in (("PReLU", ()), ("PReLU", (5, 0.1)), ("RMSNorm", ((2, 3),)), ("RMSNorm", (4, None, False))):
        ours, theirs = getattr(tr.nn, name)(*args), getattr(torch.nn, name)(*args)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for key, value in theirs.state_dict().items():
            np.testing.assert_array_equal(ours.state_dict()[key], value.numpy())
        assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert tr.nn.PReLU(dtype=np.float64).weight.dtype == np.float64


def test_parameter_list_as_torchs():
    ours = tr.nn.ParameterList([tr.nn.Parameter(np.ones(2, np.float32)), tr.ones(3)])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.ones(3)])
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1"]
    assert all(isinstance(p, tr.nn.Parameter) for p in ours)
    assert [p.requires_grad for p in ours] == [p.requires_grad for p in theirs] == [True, True]
    ours.append(tr.zeros(4)), theirs.append(torch.zeros(4))
    ours.extend([tr.zeros(1)]), theirs.extend([torch.zeros(1)])
    assert len(ours) == len(theirs) == 4 and ours[-1].shape == (1,) and len(ours[1:3]) == 2
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    parent, tparent = tr.nn.Module(), torch.nn.Module()
    parent.params, tparent.params = ours, theirs
    assert list(parent.state_dict()) == list(tparent.state_dict())
    assert len(list(parent.parameters())) == len(list(tparent.parameters())) == 4
    ours[0] = tr.full((2,), 5.0)
    assert isinstance(ours[0], tr.nn.Parameter) and ours[0]._data[0] == 5.0
    with pytest.raises(IndexError):
        ours[4]
    assert repr(tr.nn.ParameterList()) == repr(torch.nn.ParameterList())
    assert repr(ours) == repr(theirs).replace("torch.float32", "float32")


def test_parameter_dict_as_torchs():
    ours = tr.nn.ParameterDict({"b": tr.ones(2), "a": tr.nn.Parameter(np.ones(3, np.float32))})
    theirs = torch.nn.ParameterDict({"b": torch.ones(2), "a": torch.nn.Parameter(torch.ones(3))})
    assert list(ours.keys()) == list(theirs.keys()) == ["a", "b"]   # a plain dict's keys sorted, as torch's
    assert list(ours.state_dict()) == list(theirs.state_dict())
    pairs = tr.nn.ParameterDict([("z", tr.ones(1)), ("y", tr.ones(1))])
    assert list(pairs.keys()) == list(torch.nn.ParameterDict([("z", torch.ones(1)), ("y", torch.ones(1))]).keys())
    ours["c"], theirs["c"] = tr.zeros(2), torch.zeros(2)
    assert isinstance(ours["c"], tr.nn.Parameter) and "c" in ours and len(ours) == 3
    assert ours["c"].requires_grad and theirs["c"].requires_grad
    assert ours.pop("c").shape == (2,) and "c" not in ours and ours.get("c") is None
    parent, tparent = tr.nn.Module(), torch.nn.Module()
    theirs.pop("c")
    parent.pd, tparent.pd = ours, theirs
    assert list(parent.state_dict()) == list(tparent.state_dict()) == ["pd.a", "pd.b"]
    assert [n for n, _ in parent.named_parameters()] == [n for n, _ in tparent.named_parameters()]
    with pytest.raises(KeyError, match="already exists"):
        tr.nn.ParameterDict({"keys": tr.ones(1)})
    with pytest.raises(KeyError):
        tr.nn.ParameterDict({"a.b": tr.ones(1)})
    with pytest.raises(KeyError):
        ours["missing"]
    assert repr(ours) == repr(theirs).replace("torch.FloatTensor", "float32")
    del ours["a"]
    assert list(ours.state_dict()) == ["b"]


def test_parameter_containers_load_cast_and_train_as_modules():
    parent = tr.nn.Module()
    parent.pl, parent.pd = tr.nn.ParameterList([tr.ones(2), tr.ones(3)]), tr.nn.ParameterDict({"w": tr.ones(2)})
    parent.load_state_dict({key: value * 2 for key, value in parent.state_dict().items()})
    np.testing.assert_array_equal(parent.pl[1]._data, 2.0)
    np.testing.assert_array_equal(parent.pd["w"]._data, 2.0)
    parent.to(tr.float64)
    assert parent.pl[0].dtype == parent.pd["w"].dtype == np.float64
    (parent.pl[0].sum() * 3 + parent.pd["w"].sum()).backward()
    np.testing.assert_array_equal(parent.pl[0].grad, 3.0)
    assert parent.pl[1].grad is None


def test_prelu_of_a_0d_input_is_0d_as_torchs():
    assert F.prelu(tr.tensor(-2.0), tr.nn.PReLU().weight).shape == tuple(TF.prelu(torch.tensor(-2.0),
                                                                                      torch.nn.PReLU().weight).shape)


def test_module_errors_as_torchs():
    with pytest.raises(AssertionError, match=r"max_val \(1.0\) must be greater than min_val \(2.0\)"):
        tr.nn.Hardtanh(2.0, 1.0)
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        tr.nn.PReLU(2)(tr.ones((3, 4)))
    with pytest.raises(IndexError, match="Dimension out of range"):
        tr.nn.Flatten()(tr.ones(2))
    with pytest.raises(RuntimeError):
        tr.nn.Unflatten(1, (2, 2))(tr.ones((2, 3)))
