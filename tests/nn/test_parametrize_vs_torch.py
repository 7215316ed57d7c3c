"""Parametrizations against torch 2.13: tr.nn.utils.parametrize (register / remove / cached / class swap),
tr.nn.utils.parametrizations (orthogonal with its three maps, weight_norm, spectral_norm), the hook-style
tr.nn.utils.weight_norm / spectral_norm, and the matrix functions they are built on (tr.matrix_exp,
householder_product, solve) against torch and finite differences. Each module is built in both libraries,
torch's state_dict (its keys must be ours) loaded into ours, and the outputs and every gradient compared; the
recurrent layers on the fused path and on the tape."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.linalg import householder_product, solve
from tinygrad_rnn.nn.utils import parametrizations as PZ
from tinygrad_rnn.nn.utils import parametrize as P

torch = pytest.importorskip("torch")
TP = pytest.importorskip("torch.nn.utils.parametrize")
TPZ = pytest.importorskip("torch.nn.utils.parametrizations")

RNG = np.random.default_rng(27)


def _torch_state(t):
    return {k: v.detach().numpy().copy() for k, v in t.state_dict().items()}


def _grads(m):
    return {k: p.grad._data for k, p in m.named_parameters() if p.grad is not None}


def _compare(m, t, x, atol=1e-10):
    """Load t's state into m (same keys), run both on x, backpropagate sum(y^2), compare outputs and grads."""
    state = _torch_state(t)
    assert list(m.state_dict()) == list(state)
    m.load_state_dict(state)
    y, ty = m(tr.tensor(x)), t(torch.tensor(x))
    y, ty = (y[0], ty[0]) if isinstance(y, tuple) else (y, ty)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y._data, ty.detach().numpy(), atol=atol)
    tg = {k: p.grad.numpy() for k, p in t.named_parameters()}
    g = _grads(m)
    assert list(g) == list(tg)
    for k in tg:
        np.testing.assert_allclose(g[k], tg[k], atol=atol, err_msg=k)


# ----------------------------------------------------------------------------- the matrix functions
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-11), (np.float32, 1e-4)])
@pytest.mark.parametrize("shape,scale", [((4, 4), 0.5), ((2, 3, 3), 3.0), ((5, 5), 12.0)])
def test_matrix_exp_and_its_gradient_as_torch(dtype, tol, shape, scale):
    a = (RNG.standard_normal(shape) * scale).astype(dtype)
    g = RNG.standard_normal(shape).astype(dtype)
    x = tr.tensor(a, requires_grad=True)
    y = tr.matrix_exp(x)
    (y * tr.tensor(g)).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ty = torch.matrix_exp(tx)
    (ty * torch.tensor(g)).sum().backward()
    assert y.dtype == dtype
    scale_y = np.abs(ty.detach().numpy()).max()
    np.testing.assert_allclose(y._data / scale_y, ty.detach().numpy() / scale_y, atol=tol)
    scale_g = np.abs(tx.grad.numpy()).max()
    np.testing.assert_allclose(x.grad._data / scale_g, tx.grad.numpy() / scale_g, atol=tol)


@pytest.mark.parametrize("m,n,k", [(5, 3, 3), (4, 4, 2), (6, 4, 4), (3, 3, 1)])
def test_householder_product_as_torch_and_by_finite_differences(m, n, k):
    a = RNG.standard_normal((2, m, n))
    tau = RNG.uniform(0.2, 1.8, (2, k))
    g = RNG.standard_normal((2, m, n))
    x, t = tr.tensor(a, requires_grad=True), tr.tensor(tau, requires_grad=True)
    (householder_product(x, t) * tr.tensor(g)).sum().backward()
    tx, tt = torch.tensor(a, requires_grad=True), torch.tensor(tau, requires_grad=True)
    ty = torch.linalg.householder_product(tx, tt)
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(householder_product(x, t).data, ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), atol=1e-11)
    np.testing.assert_allclose(t.grad.data, tt.grad.numpy(), atol=1e-11)
    assert tr.gradcheck(householder_product, [tr.tensor(a, requires_grad=True), tr.tensor(tau, requires_grad=True)])


def test_matrix_exp_and_solve_by_finite_differences():
    a = RNG.standard_normal((3, 3))
    assert tr.gradcheck(tr.matrix_exp, [tr.tensor(a, requires_grad=True)])
    b = RNG.standard_normal((3, 2))
    assert tr.gradcheck(solve, [tr.tensor(a + 3 * np.eye(3), requires_grad=True), tr.tensor(b, requires_grad=True)])


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("b_shape", [(3, 4, 4), (3, 4)])
def test_solve_as_torch(left, b_shape):
    if not left and len(b_shape) == 2:
        b_shape = (3, 2, 4)
    a, b = RNG.standard_normal((3, 4, 4)), RNG.standard_normal(b_shape)
    x, y = tr.tensor(a, requires_grad=True), tr.tensor(b, requires_grad=True)
    z = solve(x, y, left=left)
    (z * z).sum().backward()
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    tz = torch.linalg.solve(tx, ty, left=left)
    (tz * tz).sum().backward()
    np.testing.assert_allclose(z._data, tz.detach().numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(y.grad._data, ty.grad.numpy(), rtol=1e-8, atol=1e-8)


def test_matrix_function_errors_as_torch():
    with pytest.raises(RuntimeError):
        torch.matrix_exp(torch.zeros(2, 3))
    with pytest.raises(RuntimeError, match="square"):
        tr.matrix_exp(tr.zeros(2, 3))
    with pytest.raises(RuntimeError, match="singular"):
        solve(tr.zeros(2, 2), tr.ones(2))
    with pytest.raises(RuntimeError, match=r"shape\[-2\] must be greater"):
        householder_product(tr.zeros(2, 3), tr.zeros(2))


# ----------------------------------------------------------------------------- parametrizations on Linear
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
@pytest.mark.parametrize("how,kwargs", [
    ("orthogonal", {}), ("orthogonal", {"orthogonal_map": "cayley"}), ("orthogonal", {"orthogonal_map": "householder"}),
    ("orthogonal", {"use_trivialization": False}), ("orthogonal", {"orthogonal_map": "householder",
                                                                   "use_trivialization": False}),
    ("weight_norm", {}), ("weight_norm", {"dim": 1}), ("weight_norm", {"dim": None}), ("spectral_norm", {}),
    ("spectral_norm", {"n_power_iterations": 3, "dim": 1})])
def test_parametrizations_on_linear_as_torch(shape, how, kwargs):
    t = torch.nn.Linear(shape[1], shape[0]).double()
    getattr(TPZ, how)(t, **kwargs)
    m = tr.nn.Linear(shape[1], shape[0], dtype=np.float64)
    getattr(PZ, how)(m, **kwargs)
    assert type(m).__name__ == type(t).__name__ == "ParametrizedLinear"
    _compare(m, t, RNG.standard_normal((2, shape[1])))
    np.testing.assert_allclose(m.weight._data, t.weight.detach().numpy(), atol=1e-12)


def test_orthogonal_picks_torchs_map_and_is_orthogonal():
    for shape, expected in (((4, 4), "matrix_exp"), ((6, 3), "householder"), ((3, 6), "householder")):
        m = PZ.orthogonal(tr.nn.Linear(shape[1], shape[0], dtype=np.float64))
        t = TPZ.orthogonal(torch.nn.Linear(shape[1], shape[0]).double())
        torch_map = t.parametrizations.weight[0].orthogonal_map.name
        assert m.parametrizations.weight[0].orthogonal_map == expected == torch_map
        w = m.weight._data
        small = w.T @ w if shape[0] >= shape[1] else w @ w.T
        np.testing.assert_allclose(small, np.eye(min(shape)), atol=1e-12)


def test_orthogonal_keeps_an_orthogonal_weight_as_torch():
    q = np.linalg.qr(RNG.standard_normal((4, 4)))[0]
    m, t = tr.nn.Linear(4, 4, dtype=np.float64), torch.nn.Linear(4, 4).double()
    m.weight._data[...] = q
    with torch.no_grad():
        t.weight.copy_(torch.tensor(q))
    PZ.orthogonal(m)
    TPZ.orthogonal(t)
    np.testing.assert_allclose(m.weight._data, t.weight.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(m.parametrizations.weight[0].base._data, t.parametrizations.weight[0].base.numpy())


@pytest.mark.parametrize("training", [True, False])
def test_spectral_norm_power_iteration_in_train_not_eval_as_torch(training):
    t = TPZ.spectral_norm(torch.nn.Linear(5, 3).double())
    m = PZ.spectral_norm(tr.nn.Linear(5, 3, dtype=np.float64))
    m.load_state_dict(_torch_state(t))
    m.train(training)
    t.train(training)
    u0 = m.parametrizations.weight[0]._u._data.copy()
    for _ in range(3):
        np.testing.assert_allclose(m.weight._data, t.weight.detach().numpy(), atol=1e-12)
    moved = not np.array_equal(u0, m.parametrizations.weight[0]._u._data)
    assert moved == training
    np.testing.assert_allclose(m.parametrizations.weight[0]._u._data, t.parametrizations.weight[0]._u.numpy(),
                               atol=1e-12)


def test_our_state_dict_loads_into_torch():
    m = PZ.weight_norm(tr.nn.Linear(3, 4, dtype=np.float64), dim=1)
    t = TPZ.weight_norm(torch.nn.Linear(3, 4).double(), dim=1)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    x = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(m(tr.tensor(x))._data, t(torch.tensor(x)).detach().numpy(), atol=1e-12)


# ----------------------------------------------------------------------------- the recurrent layers
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("how", ["orthogonal", "spectral_norm", "weight_norm"])
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_parametrized_recurrent_layers_as_torch(name, how, fused):
    t = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=True).double()
    m = getattr(tr.nn, name)(3, 4, num_layers=2, bidirectional=True, dtype=np.float64, fused=fused)
    for which in ("weight_hh_l0", "weight_hh_l0_reverse", "weight_ih_l1"):
        getattr(TPZ, how)(t, which)
        getattr(PZ, how)(m, which)
    assert type(m).__name__ == "Parametrized" + name
    _compare(m, t, RNG.standard_normal((5, 2, 3)))
    m.zero_grad()
    t.zero_grad()
    _compare(m, t, RNG.standard_normal((4, 1, 3)))   # a second call: spectral_norm's u and v moved as torch's


def test_fused_and_tape_agree_on_a_parametrized_lstm_with_projection():
    layers = [tr.nn.LSTM(3, 5, proj_size=2, dtype=np.float64, fused=fused) for fused in (True, False)]
    for layer in layers:
        PZ.orthogonal(layer, "weight_hh_l0")   # (20, 2): householder, its base completed at random
        PZ.weight_norm(layer, "weight_hr_l0")
    layers[1].load_state_dict(layers[0].state_dict())
    x = RNG.standard_normal((6, 2, 3))
    outs = []
    for layer in layers:
        y, (h, c) = layer(tr.tensor(x))
        (y.sum() + (c * c).sum()).backward()
        outs.append((y._data, _grads(layer)))
    np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-12)
    for k in outs[1][1]:
        np.testing.assert_allclose(outs[0][1][k], outs[1][1][k], atol=1e-11, err_msg=k)


# ----------------------------------------------------------------------------- parametrize itself
class Symmetric(tr.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).T

    def right_inverse(self, A):
        return A.triu()


class TorchSymmetric(torch.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).T

    def right_inverse(self, A):
        return A.triu()


class Doubled(tr.nn.Module):
    def forward(self, X):
        return 2 * X

    def right_inverse(self, X):
        return X / 2


class TorchDoubled(torch.nn.Module):
    def forward(self, X):
        return 2 * X

    def right_inverse(self, X):
        return X / 2


def test_stacked_parametrizations_right_inverse_and_remove_as_torch():
    m, t = tr.nn.Linear(4, 4, dtype=np.float64), torch.nn.Linear(4, 4).double()
    m.load_state_dict(_torch_state(t))
    weight = m.weight
    P.register_parametrization(m, "weight", Symmetric())
    P.register_parametrization(m, "weight", Doubled())
    TP.register_parametrization(t, "weight", TorchSymmetric())
    TP.register_parametrization(t, "weight", TorchDoubled())
    assert m.parametrizations.weight.original is weight   # the same Parameter: an optimizer keeps it
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight") and not P.is_parametrized(m, "bias")
    assert P.type_before_parametrizations(m) is tr.nn.Linear
    _compare(m, t, RNG.standard_normal((2, 4)))
    a = RNG.standard_normal((4, 4))
    m.weight = tr.tensor(a + a.T)
    t.weight = torch.tensor(a + a.T)
    np.testing.assert_allclose(m.weight._data, a + a.T, atol=1e-12)
    np.testing.assert_allclose(m.parametrizations.weight.original._data,
                               t.parametrizations.weight.original.detach().numpy())
    P.remove_parametrizations(m, "weight", leave_parametrized=False)
    TP.remove_parametrizations(t, "weight", leave_parametrized=False)
    assert type(m) is tr.nn.Linear and m.weight is weight
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(m.weight._data, t.weight.detach().numpy())


def test_weight_norm_originals_and_remove_leave_parametrized():
    m = PZ.weight_norm(tr.nn.Linear(3, 4, dtype=np.float64))
    t = TPZ.weight_norm(torch.nn.Linear(3, 4).double())
    m.load_state_dict(_torch_state(t))
    with pytest.raises(ValueError, match="sequence of tensors"):
        P.remove_parametrizations(m, "weight", leave_parametrized=False)
    P.remove_parametrizations(m, "weight")
    TP.remove_parametrizations(t, "weight")
    assert type(m) is tr.nn.Linear and isinstance(m.weight, tr.nn.Parameter)
    np.testing.assert_allclose(m.weight._data, t.weight.detach().numpy(), atol=1e-12)


def test_cached_computes_once():
    calls = []

    class Counted(tr.nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1

    m = P.register_parametrization(tr.nn.Linear(2, 2), "weight", Counted())
    calls.clear()
    with P.cached():
        assert m.weight is m.weight
    assert len(calls) == 1
    first, second = m.weight, m.weight
    assert len(calls) == 3 and first is not second


def test_errors_as_torch():
    class Wider(tr.nn.Module):
        def forward(self, X):
            return tr.cat([X, X], 1)

    class TorchWider(torch.nn.Module):
        def forward(self, X):
            return torch.cat([X, X], 1)

    for lib, linear, wider, reg in ((tr, tr.nn.Linear(2, 2), Wider(), P.register_parametrization),
                                    (torch, torch.nn.Linear(2, 2), TorchWider(), TP.register_parametrization)):
        with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
            reg(linear, "nope", wider)
        with pytest.raises(ValueError, match="may not change the shape"):
            reg(linear, "weight", wider)
        reg(linear, "weight", wider, unsafe=True)
        assert linear.weight.shape == (2, 4)
        with pytest.raises(RuntimeError, match="does not implement right_inverse"):
            linear.weight = lib.zeros(2, 2)
    with pytest.raises(ValueError, match="does not have a parametrization on bias"):
        P.remove_parametrizations(tr.nn.Linear(2, 2), "bias")
    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        PZ.orthogonal(tr.nn.Linear(2, 2), orthogonal_map="qr")
    with pytest.raises(ValueError, match="Expected a matrix"):
        PZ.orthogonal(tr.nn.Linear(2, 2), "bias")
    with pytest.raises(NotImplementedError):
        m = PZ.orthogonal(tr.nn.Linear(2, 2), use_trivialization=False)
        m.weight = tr.eye(2)
    with pytest.raises(IndexError):
        PZ.spectral_norm(tr.nn.Linear(2, 2), dim=2)
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules"):
        import pickle
        pickle.dumps(PZ.weight_norm(tr.nn.Linear(2, 2)))


def test_deepcopy_of_a_parametrized_fused_layer():
    import copy
    m = PZ.orthogonal(tr.nn.GRU(2, 3, dtype=np.float64), "weight_hh_l0")
    x = tr.tensor(RNG.standard_normal((3, 1, 2)))
    y = m(x)[0]
    c = copy.deepcopy(m)
    originals = (c.parametrizations.weight_hh_l0.original, m.parametrizations.weight_hh_l0.original)
    assert type(c) is type(m) and originals[0] is not originals[1]
    np.testing.assert_allclose(c(x)[0]._data, y._data)


# ----------------------------------------------------------------------------- the hook-style functions
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("how", ["weight_norm", "spectral_norm"])
@pytest.mark.parametrize("name", ["Linear", "LSTM"])
def test_hook_style_weight_and_spectral_norm_as_torch(name, how, fused):
    which = "weight" if name == "Linear" else "weight_hh_l0"
    kwargs = {"dtype": np.float64} if name == "Linear" else {"dtype": np.float64, "fused": fused}
    t, m = getattr(torch.nn, name)(3, 4).double(), getattr(tr.nn, name)(3, 4, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        getattr(torch.nn.utils, how)(t, which)
    if how == "weight_norm":
        with pytest.warns(FutureWarning, match="deprecated"):
            tr.nn.utils.weight_norm(m, which)
    else:
        tr.nn.utils.spectral_norm(m, which)
    with pytest.raises(RuntimeError, match="Cannot register two"):
        getattr(tr.nn.utils, how)(m, which)
    x = RNG.standard_normal((5, 2, 3))
    _compare(m, t, x)
    getattr(torch.nn.utils, "remove_" + how)(t, which)
    getattr(tr.nn.utils, "remove_" + how)(m, which)
    assert list(m.state_dict()) == list(t.state_dict())
    np.testing.assert_allclose(getattr(m, which)._data, getattr(t, which).detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="not found"):
        getattr(tr.nn.utils, "remove_" + how)(m, which)


def test_checkpointed_fused_layer_with_a_parametrized_weight_gives_the_unplanned_gradients():
    x = tr.tensor(RNG.standard_normal((7, 2, 3)))
    results = []
    for checkpoint in (None, 2):
        tr.manual_seed(5)
        m = PZ.orthogonal(tr.nn.GRU(3, 4, dtype=np.float64, checkpoint=checkpoint), "weight_hh_l0")
        y, _ = m(x)
        (y * y).sum().backward()
        results.append((y._data, _grads(m)))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-12)
    for k in results[0][1]:
        np.testing.assert_allclose(results[0][1][k], results[1][1][k], atol=1e-12, err_msg=k)
    tr.manual_seed(5)   # the generic tape's checkpointed pieces too (they read the weights computed once per call)
    tape = PZ.orthogonal(tr.nn.GRU(3, 4, dtype=np.float64, fused=False, checkpoint=2), "weight_hh_l0")
    y, _ = tape(x)
    (y * y).sum().backward()
    np.testing.assert_allclose(y._data, results[0][0], atol=1e-12)
    for k, g in _grads(tape).items():
        np.testing.assert_allclose(g, results[0][1][k], atol=1e-12, err_msg=k)


def test_recurrent_with_a_parametrized_cell_on_the_tape_and_fused():
    x = RNG.standard_normal((4, 2, 3))
    layer = tr.nn.Recurrent(tr.nn.RNNCell, 3, 4, dtype=np.float64, fused=False)
    t = torch.nn.RNNCell(3, 4).double()
    cell = layer.cells[0]
    cell.load_state_dict(_torch_state(t))
    PZ.weight_norm(cell, "weight_hh")
    TPZ.weight_norm(t, "weight_hh")
    cell.load_state_dict(_torch_state(t))
    with P.cached():
        y, _ = layer(tr.tensor(x))
    h, outs = torch.zeros(2, 4, dtype=torch.float64), []
    for step in torch.tensor(x):
        h = t(step, h)
        outs.append(h)
    np.testing.assert_allclose(y._data, torch.stack(outs).detach().numpy(), atol=1e-12)
    # fused: the parametrization runs once per call before the kernels (compile/prelude.py), torch's numbers
    fused = tr.nn.Recurrent(tr.nn.RNNCell, 3, 4, dtype=np.float64)
    PZ.weight_norm(fused.cells[0], "weight_hh")
    fused.cells[0].load_state_dict(_torch_state(t))
    y, _ = fused(tr.tensor(x))
    np.testing.assert_allclose(y._data, torch.stack(outs).detach().numpy(), atol=1e-12)
    (y * y).sum().backward()
    (torch.stack(outs) ** 2).sum().backward()
    theirs = dict(t.named_parameters())
    for name, p in fused.cells[0].named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("how,kwargs", [("orthogonal", {}), ("orthogonal", {"orthogonal_map": "cayley"}),
                                        ("spectral_norm", {}), ("weight_norm", {})])
def test_float32_stays_float32_and_matches_torch(how, kwargs, fused):
    t = getattr(TPZ, how)(torch.nn.LSTM(3, 4), "weight_hh_l0", **kwargs)
    m = getattr(PZ, how)(tr.nn.LSTM(3, 4, fused=fused), "weight_hh_l0", **kwargs)
    m.load_state_dict(_torch_state(t))
    x = RNG.standard_normal((5, 2, 3)).astype(np.float32)
    y, ty = m(tr.tensor(x))[0], t(torch.tensor(x))[0]
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    assert y.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in m.parameters())
    np.testing.assert_allclose(y._data, ty.detach().numpy(), atol=1e-5)
    grads = dict(m.named_parameters())
    for k, p in t.named_parameters():
        np.testing.assert_allclose(grads[k].grad._data, p.grad.numpy(), atol=1e-5, err_msg=k)


def test_an_old_weight_norm_state_dict_loads_into_the_parametrization_as_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = torch.nn.utils.weight_norm(torch.nn.Linear(3, 4).double())
    state = {"0." + k: v for k, v in _torch_state(old).items()}
    m = tr.nn.Sequential(PZ.weight_norm(tr.nn.Linear(3, 4, dtype=np.float64)))
    t = torch.nn.Sequential(TPZ.weight_norm(torch.nn.Linear(3, 4).double()))
    assert repr(m.load_state_dict(state)) == repr(t.load_state_dict({k: torch.tensor(v) for k, v in state.items()}))
    assert "0.weight_g" in state   # the caller's dict is left alone
    x = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(m(tr.tensor(x))._data, old(torch.tensor(x)).detach().numpy(), atol=1e-12)


def test_load_state_dict_pre_hook_as_torch():
    seen = []
    for lib in (tr, torch):
        model = lib.nn.Sequential(lib.nn.Linear(2, 2))

        def hook(module, state_dict, prefix, *rest, lib=lib):
            seen.append((lib.__name__, type(module).__name__, prefix))
            state_dict[prefix + "bias"] = state_dict.pop(prefix + "b")

        handle = model[0].register_load_state_dict_pre_hook(hook)
        state = {k: (v.detach().numpy() if lib is torch else v) for k, v in model.state_dict().items()}
        state["0.b"] = state.pop("0.bias")
        model.load_state_dict(state if lib is tr else {k: torch.tensor(v) for k, v in state.items()})
        handle.remove()
        with pytest.raises(RuntimeError):
            model.load_state_dict(state if lib is tr else {k: torch.tensor(v) for k, v in state.items()})
    assert seen == [("tinygrad_rnn", "Linear", "0."), ("torch", "Linear", "0.")]
