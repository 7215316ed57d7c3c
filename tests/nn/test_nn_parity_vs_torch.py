"""tr.nn outside the recurrent layers against torch 2.13: loss modules' constructor arguments and
attributes, Module.train's recursion, load_state_dict(assign=), init's generator= and trunc_normal_,
nn.utils' parameters_to_vector family. Each compares with what torch does on the same inputs."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
nn = tr.nn


def _numpy(a):
    """A torch tensor's, a Tensor's or an ndarray's values as an ndarray."""
    if isinstance(a, torch.Tensor):
        return a.detach().numpy()
    return a._data if isinstance(a, tr.Tensor) else a


def _pair(rng, shape=(4, 3)):
    return rng.standard_normal(shape), rng.integers(0, shape[1], shape[0])


LOSS_CASES = [  # (class name, constructor args, kwargs, what the targets are)
    ("CrossEntropyLoss", ("weight",), {}, "index"),
    ("CrossEntropyLoss", ("weight", None, 1), {"label_smoothing": 0.2}, "index"),
    ("CrossEntropyLoss", ("weight", False), {}, "index"),          # legacy size_average=False: a sum
    ("NLLLoss", ("weight", None, 2), {}, "logp"),
    ("NLLLoss", (None, None, -100, False), {}, "logp"),          # legacy reduce=False: 'none'
    ("BCELoss", ("weight",), {"reduction": "sum"}, "prob"),
    ("BCEWithLogitsLoss", ("weight",), {"pos_weight": "weight"}, "binary"),
    ("MSELoss", (False,), {}, "float"),
    ("L1Loss", (None, None, "sum"), {}, "float"),
]


def _loss_inputs(lib, kind, x, t, y):
    as_t = (lambda a: torch.tensor(a)) if lib is torch else (lambda a: tr.tensor(a))
    if kind == "index":
        return as_t(x), as_t(t)
    if kind == "logp":
        return as_t(x - np.log(np.exp(x).sum(1, keepdims=True))), as_t(t)
    if kind == "prob":
        return as_t(1 / (1 + np.exp(-x))), as_t(y)
    return as_t(x), as_t(y)


@pytest.mark.parametrize("name, args, kwargs, kind", LOSS_CASES)
def test_loss_modules_take_torchs_positional_arguments(name, args, kwargs, kind):
    """nn.CrossEntropyLoss(class_weights) and the deprecated size_average / reduce positionals mean
    what they mean in torch (the weight first; size_average=False a sum, reduce=False no reduction)."""
    rng = np.random.default_rng(0)
    x, t = _pair(rng)
    y = rng.random(x.shape)
    weight = rng.uniform(0.5, 2.0, 3)
    results = []
    for lib in (torch, tr):
        w = torch.tensor(weight) if lib is torch else tr.tensor(weight)
        given = [w if a == "weight" else a for a in args]
        given_kw = {k: w if v == "weight" else v for k, v in kwargs.items()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = getattr(lib.nn, name)(*given, **given_kw)
        results.append((module.reduction, [str(c.message) for c in caught],
                        module(*_loss_inputs(lib, kind, x, t, y)).detach().numpy()
                        if lib is torch else module(*_loss_inputs(lib, kind, x, t, y))._data))
    (r_t, warn_t, v_t), (r_r, warn_r, v_r) = results
    assert r_r == r_t and warn_r == warn_t
    np.testing.assert_allclose(v_r, v_t, rtol=1e-10)


def test_loss_attributes_are_torchs_and_read_at_each_call():
    """criterion.reduction = "sum" (or ignore_index, label_smoothing) changes the next call, as in torch;
    weight and pos_weight are buffers, so they are in state_dict and the repr is torch's."""
    rng = np.random.default_rng(1)
    x, t = _pair(rng)
    weight = rng.uniform(0.5, 2.0, 3)
    values, states = [], []
    for lib in (torch, tr):
        as_t = torch.tensor if lib is torch else tr.tensor
        ce = lib.nn.CrossEntropyLoss(weight=as_t(weight))
        ce.reduction, ce.ignore_index, ce.label_smoothing = "none", int(t[0]), 0.1
        out = ce(as_t(x), as_t(t))
        values.append(out.detach().numpy() if lib is torch else out._data)
        bce = lib.nn.BCEWithLogitsLoss(pos_weight=as_t(weight))
        states.append((repr(ce), repr(bce), list(ce.state_dict()), list(bce.state_dict()), ce.ignore_index,
                       ce.label_smoothing, [n for n, _ in bce.named_buffers()]))
    np.testing.assert_allclose(values[1], values[0], rtol=1e-10)
    assert states[1] == states[0]


def test_train_recurses_through_each_childs_own_train():
    """torch's Module.train calls each child's train(mode), so an override (here: a part that stays in
    eval mode) is obeyed when the model is switched; a non-bool mode is torch's ValueError."""
    def build(lib):
        class Frozen(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = lib.nn.Dropout(0.5)

            def train(self, mode=True):
                return super().train(False)

        return lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(Frozen(), lib.nn.Tanh()))

    states = []
    for lib in (torch, tr):
        model = build(lib)
        model.train()
        states.append([(name, m.training) for name, m in model.named_modules()])
    assert states[1] == states[0]
    for lib in (torch, tr):
        with pytest.raises(ValueError):
            build(lib).train("False")


@pytest.mark.parametrize("cast", ["double", "float"])
def test_to_casts_floating_point_tensors_only(cast):
    """model.double() / .float(): an int64 or bool buffer keeps its dtype, as in torch."""
    dtypes = []
    for lib in (torch, tr):
        model = lib.nn.Linear(2, 2)
        model.register_buffer("count", lib.tensor(np.array([3])))
        model.register_buffer("mask", lib.tensor(np.array([True, False])))
        model.register_buffer("scale", lib.tensor(np.array([0.5])))
        getattr(model, cast)()
        dtypes.append([str(t.dtype).replace("torch.", "") for t in model.state_dict().values()])
    assert dtypes[1] == dtypes[0]


def test_load_state_dict_assign_takes_the_values_as_torch():
    """assign=True: the dict's values become the parameters and buffers (their dtype kept, the old
    requires_grad kept on a wrapped value, a Parameter value taken as it is), as torch 2.13."""
    rng = np.random.default_rng(2)
    weight, bias, buf = rng.standard_normal((3, 2)), rng.standard_normal(3).astype(np.float32), rng.random(2)
    seen = []
    for lib in (torch, tr):
        model = lib.nn.Sequential(lib.nn.Linear(2, 3))
        model.register_buffer("running", lib.zeros(2))
        model.requires_grad_(False)
        as_t = torch.tensor if lib is torch else tr.tensor
        given_bias = lib.nn.Parameter(as_t(bias))
        state = {"0.weight": as_t(weight), "0.bias": given_bias, "running": as_t(buf)}
        result = model.load_state_dict(state, assign=True)
        seen.append((tuple(result), [(n, str(p.dtype).replace("torch.", ""), p.requires_grad, type(p).__name__)
                                     for n, p in model.named_parameters()],
                     model[0].bias is given_bias, model.running is state["running"],
                     str(model.running.dtype).replace("torch.", "")))
        np.testing.assert_array_equal(np.asarray(model[0].weight.detach().numpy() if lib is torch
                                                 else model[0].weight._data), weight)
    assert seen[1] == seen[0]


RANDOM_INITS = [("uniform_", {"a": -0.5, "b": 0.25}), ("normal_", {"mean": 1.0, "std": 0.5}),
                ("trunc_normal_", {"mean": 0.5, "std": 1.0, "a": -0.5, "b": 1.0}), ("xavier_uniform_", {"gain": 2.0}),
                ("xavier_normal_", {}), ("kaiming_uniform_", {"a": 0.3, "mode": "fan_out"}),
                ("kaiming_normal_", {"nonlinearity": "relu"}), ("orthogonal_", {"gain": 1.5})]


@pytest.mark.parametrize("name, kwargs", RANDOM_INITS)
def test_init_takes_a_generator_and_draws_torchs_distribution(name, kwargs):
    """generator= (torch 2.13's argument; a numpy Generator here) makes the draw reproducible apart from
    the library's generator; the values follow torch's distribution: same mean, std, min and max as a large
    torch draw (min and max where bounded), to sampling error (tr's numbers are numpy's, not torch's)."""
    shape = (300, 200)
    ours = [getattr(nn.init, name)(nn.Parameter(np.zeros(shape)), **kwargs, generator=np.random.default_rng(5))
            for _ in range(2)]
    tr.manual_seed(0)
    np.testing.assert_array_equal(ours[0]._data, ours[1]._data)
    theirs = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64), **kwargs,
                                          generator=torch.Generator().manual_seed(5)).numpy()
    a = ours[0]._data
    spread = theirs.std()
    for stat in (np.mean, np.std):
        assert abs(stat(a) - stat(theirs)) < 0.02 * spread + 1e-12, stat.__name__
    if "uniform" in name or "trunc" in name:   # bounded: the same bounds
        assert abs(a.min() - theirs.min()) < 0.01 * spread and abs(a.max() - theirs.max()) < 0.01 * spread


def test_init_generator_of_another_kind_is_refused():
    with pytest.raises(TypeError, match="uniform_: generator must be a tr.Generator, a numpy Generator"):
        nn.init.uniform_(nn.Parameter(np.zeros(3)), generator=torch.Generator())


def _params(lib, arrays):
    return [lib.nn.Parameter(torch.tensor(a) if lib is torch else tr.tensor(a)) for a in arrays]


def test_parameters_to_vector_and_back_as_torch():
    """parameters_to_vector: values, and the gradient flowing back to each parameter; vector_to_parameters:
    the parameters take consecutive slices; a length mismatch is an error (torch: for a short vec)."""
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 3)), rng.standard_normal(4)]
    upstream = rng.standard_normal(10)
    got = []
    for lib in (torch, tr):
        params = _params(lib, arrays)
        vec = lib.nn.utils.parameters_to_vector(params)
        (vec * (torch.tensor(upstream) if lib is torch else tr.tensor(upstream))).sum().backward()
        grads = [p.grad.numpy() if lib is torch else p.grad for p in params]
        new = torch.arange(10.0, dtype=torch.float64) if lib is torch else tr.arange(10.0).double()
        lib.nn.utils.vector_to_parameters(new, params)
        values = [p.detach().numpy() if lib is torch else p._data for p in params]
        got.append((np.asarray(vec.detach().numpy() if lib is torch else vec._data), grads, values))
        with pytest.raises(RuntimeError):
            lib.nn.utils.vector_to_parameters(new[:5], params)
        with pytest.raises(TypeError):
            lib.nn.utils.vector_to_parameters(list(range(10)), params)
    for ours, theirs in zip(got[1], got[0]):
        for a, b in zip(ours if isinstance(ours, list) else [ours], theirs if isinstance(theirs, list) else [theirs]):
            np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, "inf", 1.0])
def test_get_total_norm_and_clip_grads_with_norm_are_clip_grad_norm_in_two(norm_type):
    """torch 2.13's halves of clip_grad_norm_: the norm of a list of grads, then a scaling by a given norm."""
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) * 3, rng.standard_normal(5).astype(np.float32)]
    got = []
    for lib in (torch, tr):
        params = _params(lib, [np.zeros_like(g) for g in grads])
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g) if lib is torch else tr.from_numpy(g.copy())
        total = lib.nn.utils.get_total_norm([p.grad for p in params], norm_type)
        lib.nn.utils.clip_grads_with_norm_(params, 1.5, total)
        got.append([np.asarray(total.numpy() if lib is torch else total._data)] +
                   [p.grad.numpy() if lib is torch else p.grad for p in params])
    for ours, theirs in zip(got[1], got[0]):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained_as_torch(freeze):
    """Embedding.from_pretrained: the given table (padding row not zeroed), frozen unless freeze=False;
    lookups, gradients and repr as torch's."""
    rng = np.random.default_rng(6)
    table, idx = rng.standard_normal((5, 3)), np.array([[0, 4, 4], [2, 1, 0]])
    got = []
    for lib in (torch, tr):
        as_t = torch.tensor if lib is torch else tr.tensor
        emb = lib.nn.Embedding.from_pretrained(as_t(table), freeze=freeze, padding_idx=1, max_norm=1.5,
                                               norm_type=1.0)
        out = emb(as_t(idx))
        if not freeze:
            out.sum().backward()
        weight = emb.weight.detach().numpy() if lib is torch else emb.weight._data
        grad = emb.weight.grad
        got.append((repr(emb), emb.weight.requires_grad, str(emb.weight.dtype).replace("torch.", ""),
                    out.detach().numpy() if lib is torch else out._data, weight,
                    None if grad is None else np.asarray(grad)))
    assert got[1][:3] == got[0][:3]
    assert (got[1][5] is None) == (got[0][5] is None)
    for ours, theirs in zip(got[1][3:], got[0][3:]):
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("device", ["cpu", "cpu:0", "torch.device"])
def test_layers_take_torchs_device_argument(device):
    """device= (the CPU: "cpu", "cpu:0", torch.device("cpu")) on Linear, Embedding, LayerNorm and
    Module.to, in torch's argument order (Linear's 4th positional is device, as torch's)."""
    device = torch.device("cpu") if device == "torch.device" else device
    made = [nn.Linear(2, 3, True, device), nn.Linear(2, 3, device=device, dtype=np.float64),
            nn.Embedding(4, 2, device=device), nn.LayerNorm(3, 1e-5, True, True, device)]
    assert [type(m.to(device)).__name__ for m in made] == ["Linear", "Linear", "Embedding", "LayerNorm"]
    assert made[1].weight.dtype == np.float64
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        nn.Linear(2, 3, device="cuda")


@pytest.mark.parametrize("call", [
    lambda lib, x, t: lib.nn.functional.cross_entropy(x, t + 3),
    lambda lib, x, t: lib.nn.functional.nll_loss(x, t - 5),
    lambda lib, x, t: lib.nn.CrossEntropyLoss(ignore_index=0)(x, t * 0 - 1),
    lambda lib, x, t: lib.nn.functional.embedding(t + 3, x),
])
def test_out_of_range_class_or_row_is_an_index_error_as_torch(call):
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((3, 4)), np.array([0, 3, 1])
    for lib in (torch, tr):
        as_t = torch.tensor if lib is torch else tr.tensor
        with pytest.raises(IndexError):
            call(lib, as_t(x), as_t(t))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_takes_torchs_dtype(name):
    """F.softmax(x, dim, dtype=float64): the float32 input is cast first, values and gradient in float64,
    and the gradient reaching x is float32, as torch."""
    x = np.random.default_rng(8).standard_normal((3, 4)).astype(np.float32)
    upstream = np.random.default_rng(9).standard_normal((3, 4))
    got = []
    for lib in (torch, tr):
        as_t = torch.tensor if lib is torch else tr.tensor
        xt = as_t(x).requires_grad_(True) if lib is torch else tr.tensor(x, requires_grad=True)
        y = getattr(lib.nn.functional, name)(xt, 1, dtype=torch.float64 if lib is torch else np.float64)
        (y * as_t(upstream)).sum().backward()
        got.append((y.detach().numpy() if lib is torch else y._data, xt.grad.numpy() if lib is torch else xt.grad))
    for ours, theirs in zip(got[1], got[0]):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        getattr(tr.nn.functional, name)(tr.tensor(x), 1, dtype=np.int64)


@pytest.mark.parametrize("affine", [True, False])
def test_functional_layer_norm_as_torch(affine):
    """F.layer_norm(x, normalized_shape, weight, bias, eps): values and the gradients of x, weight, bias."""
    rng = np.random.default_rng(10)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    upstream = rng.standard_normal((2, 3, 4))
    got = []
    for lib in (torch, tr):
        leaves = [torch.tensor(a, requires_grad=True) if lib is torch else tr.tensor(a, requires_grad=True)
                  for a in (x, w, b)]
        args = leaves[1:] if affine else [None, None]
        y = lib.nn.functional.layer_norm(leaves[0], (3, 4), *args, eps=1e-3)
        (y * (torch.tensor(upstream) if lib is torch else tr.tensor(upstream))).sum().backward()
        arrays = [y] + [leaf.grad for leaf in (leaves if affine else leaves[:1])]
        got.append([_numpy(a) for a in arrays])
    for ours, theirs in zip(got[1], got[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="weight must have shape normalized_shape"):
        tr.nn.functional.layer_norm(tr.tensor(x), (3, 4), tr.tensor(np.ones(4)))


ACTIVATIONS = [("LeakyReLU", "leaky_relu", (0.2,)), ("ELU", "elu", (1.5,)), ("SiLU", "silu", ()),
               ("Softplus", "softplus", (2.0, 10.0)), ("Softplus", "softplus", ())]


@pytest.mark.parametrize("module, function, args", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_as_torch(module, function, args, dtype):
    """torch's activation modules and functions: values and gradients (at 0, past softplus's threshold,
    and at inputs whose exp overflows), the dtype kept, and the repr."""
    x = np.concatenate([np.random.default_rng(11).standard_normal(20) * 4, [0.0, -0.0, 30.0, -30.0, 800.0, -800.0]])
    x = x.astype(dtype)
    upstream = np.random.default_rng(12).standard_normal(x.shape).astype(dtype)
    got = []
    for lib in (torch, tr):
        as_t = torch.tensor if lib is torch else tr.tensor
        for use_module in (True, False):
            leaf = torch.tensor(x, requires_grad=True) if lib is torch else tr.tensor(x, requires_grad=True)
            layer = getattr(lib.nn, module)(*args) if use_module else None
            y = layer(leaf) if use_module else getattr(lib.nn.functional, function)(leaf, *args)
            (y * as_t(upstream)).sum().backward()
            got.append((_numpy(y), _numpy(leaf.grad)))
        got.append(repr(getattr(lib.nn, module)(*args)))
    assert got[5] == got[2]
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for ours, theirs in zip(got[3:5], got[0:2]):
        for a, b in zip(ours, theirs):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, **tol)


BOOL_AS_NUMBER = [   # (function, its float argument): torch's argument parser reads a bool there as 1.0 or 0.0
    ("huber_loss", "delta"), ("smooth_l1_loss", "beta"), ("cosine_similarity", "eps"), ("pairwise_distance", "p"),
    ("pairwise_distance", "eps"), ("margin_ranking_loss", "margin"), ("hinge_embedding_loss", "margin"),
]


@pytest.mark.parametrize("value", [True, False, np.True_], ids=repr)
@pytest.mark.parametrize("fn,arg", BOOL_AS_NUMBER)
def test_a_bool_where_a_float_is_asked_is_its_number_as_torch(fn, arg, value):
    """huber_loss(delta=True) is delta 1 (torch's; ours was a TypeError); delta=False is 0, refused as torch's."""
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    t = np.sign(rng.standard_normal((3, 4)))

    def call(lib):
        F = torch.nn.functional if lib is torch else tr.nn.functional
        x, y, target = lib.tensor(a), lib.tensor(b), lib.tensor(t)
        if fn in ("margin_ranking_loss",):
            return getattr(F, fn)(x, y, target, **{arg: value})
        if fn == "hinge_embedding_loss":
            return getattr(F, fn)(x, target, **{arg: value})
        return getattr(F, fn)(x, y, **{arg: value})

    try:
        expected = call(torch).detach().numpy()
    except Exception as e:  # noqa: BLE001 - torch's error type is what ours must be
        with pytest.raises(type(e)):
            call(tr)
        return
    np.testing.assert_allclose(_numpy(call(tr)), expected, rtol=1e-12)


def test_multihead_attentions_out_proj_is_torchs_class():
    """torch's out_proj is a NonDynamicallyQuantizableLinear (a Linear): the repr and the type name say so."""
    ours, theirs = nn.MultiheadAttention(4, 2), torch.nn.MultiheadAttention(4, 2)
    assert repr(ours) == repr(theirs)
    assert type(ours.out_proj).__name__ == type(theirs.out_proj).__name__
    assert isinstance(ours.out_proj, nn.Linear)
    assert list(ours.state_dict()) == list(theirs.state_dict())
