"""What the audit against torch's OptimizerInfo database added (bench/optim_suite_probe.py,
tests/nn/test_optim_db_vs_torch.py), against torch itself: Adafactor, Muon, SparseAdam, named parameters, a Tensor
lr, capturable=True on the CPU, LBFGS's state order."""
import copy

import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
from bench import optim_suite_probe as probe  # noqa: E402  (bench/ is not in the package: conftest puts the repo on sys.path)


# ----------------------------------------------------------------------------- Adafactor
def _pairs(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return ([torch.tensor(v.copy(), requires_grad=True) for v in values],
            [tr.tensor(v.copy(), requires_grad=True) for v in values])


def _step_both(theirs, ours, t_opt, o_opt, steps=3, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for t, o in zip(theirs, ours):
            g = rng.standard_normal(t.shape).astype(o.numpy().dtype)
            t.grad, o.grad = torch.tensor(g), tr.tensor(g)
        t_opt.step()
        o_opt.step()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"weight_decay": 0.1, "maximize": True}, {"eps": (1e-20, 1e-2), "d": 1.5},
                                    {"beta2_decay": -0.5, "lr": 0.3}])
def test_adafactor_factored_and_vector_parameters_as_torch(dtype, kwargs):
    """A batch of matrices (row_var, col_var over the last two dimensions), a matrix, a vector and a 0-d parameter."""
    theirs, ours = _pairs([(2, 3, 4), (5, 3), (4,), ()], dtype)
    t_opt, o_opt = torch.optim.Adafactor(theirs, **kwargs), tr.optim.Adafactor(ours, **kwargs)
    _step_both(theirs, ours, t_opt, o_opt)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for t, o in zip(theirs, ours):
        assert o.numpy().dtype == dtype
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), **tol)
    t_sd, o_sd = t_opt.state_dict(), o_opt.state_dict()
    for index, entry in t_sd["state"].items():
        assert list(o_sd["state"][index]) == list(entry)
        for key, value in entry.items():
            np.testing.assert_allclose(o_sd["state"][index][key].numpy(), value.numpy(), **tol)
    fresh = tr.optim.Adafactor([tr.tensor(o.numpy().copy(), requires_grad=True) for o in ours], **kwargs)
    fresh.load_state_dict(copy.deepcopy(o_sd))   # (row_var and col_var have their own shapes)
    assert list(fresh.state_dict()["state"][0]) == ["step", "row_var", "col_var"]


@pytest.mark.parametrize("kwargs", [{"d": 0.5}, {"beta2_decay": 0.1}, {"eps": (-1.0, 1e-3)}, {"eps": (None, -1.0)},
                                    {"lr": -1.0}, {"weight_decay": -0.1}])
def test_adafactor_refuses_what_torch_refuses(kwargs):
    raises_as_torch(lambda: torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **kwargs),
                    lambda: tr.optim.Adafactor([tr.zeros(2, requires_grad=True)], **kwargs))


# ----------------------------------------------------------------------------- Muon
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"nesterov": False, "momentum": 0.5}, {"adjust_lr_fn": "match_rms_adamw"},
                                    {"ns_steps": 3, "ns_coefficients": (3.0, -3.2, 1.2), "weight_decay": 0.0}])
def test_muon_tall_and_wide_matrices_as_torch(dtype, kwargs):
    """Muon's update is torch's bfloat16 Newton-Schulz matrix, rounded as torch rounds it: float64 to 1e-10."""
    theirs, ours = _pairs([(6, 3), (3, 5), (4, 4)], dtype)
    t_opt, o_opt = torch.optim.Muon(theirs, lr=0.02, **kwargs), tr.optim.Muon(ours, lr=0.02, **kwargs)
    _step_both(theirs, ours, t_opt, o_opt)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for t, o in zip(theirs, ours):
        assert o.numpy().dtype == dtype
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), **tol)
    np.testing.assert_allclose(o_opt.state_dict()["state"][0]["momentum_buffer"].numpy(),
                               t_opt.state_dict()["state"][0]["momentum_buffer"].numpy(), **tol)
    assert sorted(o_opt.state_dict()["param_groups"][0]) == sorted(t_opt.state_dict()["param_groups"][0])


@pytest.mark.parametrize("case", ["3-D parameter", "adjust_lr_fn", "lr", "momentum", "ns_steps"])
def test_muon_refuses_what_torch_refuses(case):
    shape, kwargs = {"3-D parameter": ((2, 2, 2), {}), "adjust_lr_fn": ((2, 2), {"adjust_lr_fn": "x"}),
                     "lr": ((2, 2), {"lr": -1.0}), "momentum": ((2, 2), {"momentum": -1.0}),
                     "ns_steps": ((2, 2), {"ns_steps": 100})}[case]

    def run(lib):
        p = lib.ones(*shape, requires_grad=True)
        opt = lib.optim.Muon([p], **kwargs)
        p.grad = lib.ones(*shape)
        opt.step()
    raises_as_torch(lambda: run(torch), lambda: run(tr))


# ----------------------------------------------------------------------------- SparseAdam, the base class
def test_sparse_adam_refuses_a_dense_gradient_at_step_as_torch():
    def run(lib, **kwargs):
        p = lib.zeros(3, requires_grad=True)
        opt = lib.optim.SparseAdam([p], **kwargs)
        p.grad = lib.ones(3)
        opt.step()
    raises_as_torch(lambda: run(torch), lambda: run(tr))
    raises_as_torch(lambda: run(torch, lr=0.0), lambda: run(tr, lr=0.0))   # (lr > 0 here, unlike Adam's)


def test_named_parameters_are_kept_in_param_names_as_torch():
    t_model, o_model = torch.nn.Linear(3, 2), tr.nn.Linear(3, 2)
    t_opt = torch.optim.SGD(t_model.named_parameters(), lr=0.1)
    o_opt = tr.optim.SGD(o_model.named_parameters(), lr=0.1)
    assert o_opt.state_dict()["param_groups"][0]["param_names"] == t_opt.state_dict()["param_groups"][0]["param_names"]
    raises_as_torch(lambda: t_opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)]}),
                    lambda: o_opt.add_param_group({"params": [tr.zeros(1, requires_grad=True)]}))


def test_a_tensor_lr_is_its_value_and_a_tensor_of_two_is_refused_as_torch():
    theirs, ours = _pairs([(3,)], np.float64)
    t_opt = torch.optim.SGD(theirs, lr=torch.tensor(0.5, dtype=torch.float64))
    o_opt = tr.optim.SGD(ours, lr=tr.tensor(0.5, dtype=tr.float64))
    _step_both(theirs, ours, t_opt, o_opt, steps=1)
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].detach().numpy(), rtol=1e-12)
    raises_as_torch(lambda: torch.optim.SGD(theirs, lr=torch.tensor([0.1, 0.2])),
                    lambda: tr.optim.SGD(ours, lr=tr.tensor([0.1, 0.2])))


@pytest.mark.parametrize("name", ["Adam", "RMSprop", "Rprop", "ASGD"])
def test_capturable_on_the_cpu_raises_at_step_as_torch(name):
    def run(lib):
        p = lib.zeros(3, requires_grad=True)
        opt = getattr(lib.optim, name)([p], capturable=True)
        p.grad = lib.ones(3)
        opt.step()
    raises_as_torch(lambda: run(torch), lambda: run(tr))


def test_lbfgs_state_has_torch_s_order_and_its_int_step():
    model = probe.Model(torch, "LBFGS", "float64")
    theirs, ours = torch.optim.LBFGS(model.theirs), tr.optim.LBFGS(model.ours)
    theirs.step(model.torch_closure(theirs))
    ours.step(model.our_closure(ours))
    t_state, o_state = theirs.state_dict()["state"][0], ours.state_dict()["state"][0]
    assert list(o_state) == list(t_state)
    assert type(o_state["t"]) is type(t_state["t"])
