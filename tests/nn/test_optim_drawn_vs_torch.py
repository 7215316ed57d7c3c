"""tr.optim and tr.optim.lr_scheduler against torch 2.13 over drawn hyperparameters (hypothesis): every optimizer
with maximize, weight_decay, amsgrad, nesterov, momentum, centered, foreach... drawn, two param groups, gradients
that are sometimes None or zero, a state_dict round trip in the middle (ours into ours, torch's into ours, torch's
into torch's); every scheduler (chained and sequential too) with its arguments drawn, its learning rates bit for
bit, get_last_lr and a state_dict round trip. What the draws found: ASGD's new eta and mu are rounded to the
default dtype as torch's torch.as_tensor rounds them (after a float64 load the eta is float64), ASGD's foreach=True
is torch's other arithmetic (its eta from a float32 step count, fused multiply-adds), get_lr() outside step() is
torch's UserWarning, _LRScheduler, and the scheduler state dicts' key order."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

FOREACH = [None, False, True]
BETAS = [(0.9, 0.999), (0.5, 0.9)]
# name: {argument: the values drawn from}
OPTIMIZERS = {
    "SGD": dict(lr=[0.1, 0.01], momentum=[0, 0.9], dampening=[0, 0.3], weight_decay=[0, 0.1],
                nesterov=[False, True], maximize=[False, True], foreach=FOREACH),
    "Adam": dict(lr=[1e-3, 0.1], betas=BETAS, eps=[1e-8, 1e-3], weight_decay=[0, 0.1], amsgrad=[False, True],
                 maximize=[False, True], foreach=FOREACH, decoupled_weight_decay=[False, True]),
    "AdamW": dict(lr=[1e-3, 0.1], betas=BETAS, eps=[1e-8, 1e-3], weight_decay=[0, 0.1], amsgrad=[False, True],
                  maximize=[False, True], foreach=FOREACH),
    "Adagrad": dict(lr=[0.01, 0.1], lr_decay=[0, 0.1], weight_decay=[0, 0.1], initial_accumulator_value=[0, 0.5],
                    eps=[1e-10, 1e-3], maximize=[False, True], foreach=FOREACH),
    "RMSprop": dict(lr=[0.01, 0.1], alpha=[0.99, 0.5], eps=[1e-8, 1e-3], weight_decay=[0, 0.1], momentum=[0, 0.9],
                    centered=[False, True], maximize=[False, True], foreach=FOREACH),
    "NAdam": dict(lr=[2e-3, 0.1], betas=BETAS, eps=[1e-8, 1e-3], weight_decay=[0, 0.1], momentum_decay=[4e-3, 0.1],
                  decoupled_weight_decay=[False, True], maximize=[False, True], foreach=FOREACH),
    "RAdam": dict(lr=[1e-3, 0.1], betas=BETAS, eps=[1e-8, 1e-3], weight_decay=[0, 0.1],
                  decoupled_weight_decay=[False, True], maximize=[False, True], foreach=FOREACH),
    "Adamax": dict(lr=[2e-3, 0.1], betas=BETAS, eps=[1e-8, 1e-3], weight_decay=[0, 0.1], maximize=[False, True],
                   foreach=FOREACH),
    "Adadelta": dict(lr=[1.0, 0.1], rho=[0.9, 0.5], eps=[1e-6, 1e-3], weight_decay=[0, 0.1],
                     maximize=[False, True], foreach=FOREACH),
    "ASGD": dict(lr=[0.01, 0.1], lambd=[1e-4, 0.1], alpha=[0.75, 0.5], t0=[1e6, 2.0], weight_decay=[0, 0.1],
                 maximize=[False, True], foreach=FOREACH),
    "Rprop": dict(lr=[0.01, 0.1], etas=[(0.5, 1.2), (0.3, 1.5)], step_sizes=[(1e-6, 50.0), (1e-3, 0.5)],
                  maximize=[False, True], foreach=FOREACH),
    "Adafactor": dict(lr=[0.01, 0.1], beta2_decay=[-0.8, -0.5], eps=[(None, 1e-3), (1e-3, 1e-2)], d=[1.0, 2.0],
                      weight_decay=[0, 0.1], maximize=[False, True], foreach=[None, False]),
}
TOLERANCE = {"float64": 1e-12, "float32": 4e-6}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _numpy(value):
    return value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _close(ours, theirs, dtype, what):
    ours, theirs = _numpy(ours).astype(np.float64), _numpy(theirs).astype(np.float64)
    tol = TOLERANCE[dtype]   # (float32: a last place of the largest entry, where a difference cancels)
    scale = np.abs(theirs).max(initial=0.0) if dtype == "float32" else 1e-2
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale, err_msg=what)


def _made(lib, name, params, kwargs):
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": kwargs["lr"] * 0.5}]
    return getattr(lib.optim, name)(groups, **kwargs)


def _compare_state_dicts(ours, theirs, dtype):
    assert ours["state"].keys() == theirs["state"].keys()
    for index, entry in theirs["state"].items():
        assert list(ours["state"][index]) == list(entry)
        for key, value in entry.items():
            _close(ours["state"][index][key], value, dtype, f"state[{index}][{key!r}]")
    for g_ours, g_theirs in zip(ours["param_groups"], theirs["param_groups"]):
        assert g_ours.keys() == g_theirs.keys()


@pytest.mark.parametrize("name", OPTIMIZERS)
@given(data=st.data(), dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 2 ** 16))
def test_drawn_hyperparameters_step_save_and_load_as_torch(name, data, dtype, seed):
    kwargs = data.draw(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in OPTIMIZERS[name].items()}))
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(shape).astype(dtype) for shape in [(3, 4), (5,)]]
    theirs = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    ours = [tr.nn.Parameter(a.copy()) for a in init]
    try:
        opt_t = _made(torch, name, theirs, kwargs)
    except (ValueError, TypeError, RuntimeError) as refusal:   # (nesterov without momentum): refused here too
        with pytest.raises(type(refusal)):
            _made(tr, name, ours, kwargs)
        return
    opt_o = _made(tr, name, ours, kwargs)
    for step in range(6):
        for i, (a, b) in enumerate(zip(theirs, ours)):
            if step == 2 and i == 1:   # a parameter without a gradient this step
                a.grad = b.grad = None
                continue
            g = rng.standard_normal(a.shape).astype(dtype) * (0 if step == 3 else 1)
            a.grad, b.grad = torch.tensor(g), tr.tensor(g)
        opt_t.step()
        opt_o.step()
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _close(a, b, dtype, f"step {step} parameter {i}")
        if step == 3:
            saved_t, saved_o = opt_t.state_dict(), opt_o.state_dict()
            _compare_state_dicts(saved_o, saved_t, dtype)
            opt_o = _made(tr, name, ours, kwargs)
            opt_o.load_state_dict(saved_t if seed % 2 else saved_o)
            opt_t = _made(torch, name, theirs, kwargs)
            opt_t.load_state_dict(saved_t)


def test_asgd_foreach_is_torch_s_multi_tensor_arithmetic():
    """torch's foreach=True ASGD computes eta from its float32 step count in float32 (lr / x as x.reciprocal() * lr)
    and updates p by fused multiply-adds; a float64 run follows it to rounding (ours took the single-tensor path,
    1e-8 away)."""
    rng = np.random.default_rng(0)
    init, grads = rng.standard_normal(7), rng.standard_normal((8, 7))
    for kwargs in (dict(lr=0.1, lambd=0.1, alpha=0.75, t0=2.0, weight_decay=0.1, foreach=True),
                   dict(lr=0.05, lambd=1e-4, t0=1e6, maximize=True, foreach=True)):
        theirs, ours = torch.nn.Parameter(torch.tensor(init)), tr.nn.Parameter(init.copy())
        opt_t, opt_o = torch.optim.ASGD([theirs], **kwargs), tr.optim.ASGD([ours], **kwargs)
        for g in grads:
            theirs.grad, ours.grad = torch.tensor(g), tr.tensor(g)
            opt_t.step()
            opt_o.step()
            np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-14, atol=1e-15)
            for key in ("eta", "mu", "ax"):
                np.testing.assert_allclose(opt_o.state[ours][key], opt_t.state[theirs][key].numpy(), rtol=1e-14,
                                           atol=1e-15)


def test_asgd_rounds_the_new_eta_to_the_default_dtype_after_a_float64_load():
    """After load_state_dict, a float64 model's eta is float64 (torch casts the state to the parameter's dtype), but
    torch's new eta is torch.as_tensor(number): float32 by default."""
    results = {}
    for lib in (torch, tr):
        p = lib.nn.Parameter(lib.tensor(np.ones(3)))
        opt = lib.optim.ASGD([p], lr=0.1, lambd=0.1, alpha=0.6)
        for step in range(5):
            p.grad = lib.tensor(np.linspace(-1.0, 2.0, 3) * (step + 1))
            opt.step()
            if step == 1:
                saved = opt.state_dict()
                opt = lib.optim.ASGD([p], lr=0.1, lambd=0.1, alpha=0.6)
                opt.load_state_dict(saved)
        results[lib] = (p.detach().numpy().copy(), float(opt.state[p]["eta"]))
    np.testing.assert_allclose(results[tr][0], results[torch][0], rtol=1e-15)
    assert results[tr][1] == results[torch][1]


def _optimizer(lib, kind):
    p = lib.nn.Parameter(lib.tensor(np.ones(2)))
    q = lib.nn.Parameter(lib.tensor(np.ones(3)))
    groups = [{"params": [p]}, {"params": [q], "lr": 0.05}]
    return lib.optim.Adam(groups, lr=0.1) if kind == "Adam" else lib.optim.SGD(groups, lr=0.1, momentum=0.9)


SCHEDULERS = {
    "StepLR": dict(step_size=st.integers(1, 4), gamma=st.sampled_from([0.1, 0.5, 0.9])),
    "MultiStepLR": dict(milestones=st.lists(st.integers(1, 10), min_size=1, max_size=3).map(sorted),
                        gamma=st.sampled_from([0.1, 0.5])),
    "ConstantLR": dict(factor=st.sampled_from([0.25, 1 / 3, 0.5]), total_iters=st.integers(0, 6)),
    "LinearLR": dict(start_factor=st.sampled_from([0.1, 1 / 3, 0.5]), end_factor=st.sampled_from([1.0, 0.7, 0.2]),
                     total_iters=st.integers(1, 8)),
    "ExponentialLR": dict(gamma=st.sampled_from([0.9, 0.5, 0.99])),
    "PolynomialLR": dict(total_iters=st.integers(1, 9), power=st.sampled_from([1.0, 2.0, 0.5])),
    "CosineAnnealingLR": dict(T_max=st.integers(1, 9), eta_min=st.sampled_from([0.0, 1e-3, 0.01])),
    "CosineAnnealingWarmRestarts": dict(T_0=st.integers(1, 5), T_mult=st.integers(1, 3),
                                        eta_min=st.sampled_from([0.0, 1e-3])),
    "CyclicLR": dict(base_lr=st.just(0.01), max_lr=st.sampled_from([0.1, 0.3]), step_size_up=st.integers(1, 5),
                     step_size_down=st.sampled_from([None, 2]),
                     mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
                     gamma=st.sampled_from([1.0, 0.9]), cycle_momentum=st.booleans(), base_momentum=st.just(0.8),
                     max_momentum=st.just(0.9)),
    "OneCycleLR": dict(max_lr=st.sampled_from([0.1, 1.0]), total_steps=st.just(20),
                       pct_start=st.sampled_from([0.3, 0.25]), anneal_strategy=st.sampled_from(["cos", "linear"]),
                       cycle_momentum=st.booleans(), div_factor=st.sampled_from([25.0, 10.0]),
                       final_div_factor=st.sampled_from([1e4, 100.0]), three_phase=st.booleans()),
    "MultiplicativeLR": dict(lr_lambda=st.just(lambda epoch: 0.95)),
    "LambdaLR": dict(lr_lambda=st.just(lambda epoch: 1 / (epoch + 1))),
    "ReduceLROnPlateau": dict(mode=st.sampled_from(["min", "max"]), factor=st.sampled_from([0.1, 0.5]),
                              patience=st.integers(0, 2), threshold=st.sampled_from([1e-4, 0.1]),
                              threshold_mode=st.sampled_from(["rel", "abs"]), cooldown=st.integers(0, 2),
                              min_lr=st.sampled_from([0.0, 1e-3]), eps=st.sampled_from([1e-8, 1e-3])),
    "SequentialLR": dict(milestone=st.integers(1, 6)),
    "ChainedScheduler": dict(with_optimizer=st.booleans()),
}


def _scheduler(lib, name, kwargs, opt):
    s = lib.optim.lr_scheduler
    if name == "SequentialLR":
        return s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.5, total_iters=3), s.ExponentialLR(opt, 0.9)],
                              milestones=[kwargs["milestone"]])
    if name == "ChainedScheduler":
        return s.ChainedScheduler([s.StepLR(opt, step_size=2, gamma=0.5), s.ExponentialLR(opt, gamma=0.9)],
                                  optimizer=opt if kwargs["with_optimizer"] else None)
    return getattr(s, name)(opt, **kwargs)


def _values(opt, key):
    return [g[key][0] if key == "betas" else g[key] for g in opt.param_groups]


@pytest.mark.parametrize("name", SCHEDULERS)
@given(data=st.data(), adam=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_drawn_schedules_are_torch_s_bit_for_bit(name, data, adam, seed):
    kwargs = data.draw(st.fixed_dictionaries(SCHEDULERS[name]))
    metrics = np.random.default_rng(seed).permutation(np.linspace(0.5, 1.0, 14)).tolist()
    kind = "Adam" if adam and name in ("CyclicLR", "OneCycleLR") else "SGD"
    momentum = "betas" if kind == "Adam" else "momentum"
    opt_t, opt_o = _optimizer(torch, kind), _optimizer(tr, kind)
    sched_t, sched_o = _scheduler(torch, name, kwargs, opt_t), _scheduler(tr, name, kwargs, opt_o)
    assert sched_o.get_last_lr() == sched_t.get_last_lr()
    for epoch in range(14):
        opt_t.step()
        opt_o.step()
        args = (metrics[epoch],) if name == "ReduceLROnPlateau" else ()
        sched_t.step(*args)
        sched_o.step(*args)
        assert _values(opt_o, "lr") == _values(opt_t, "lr"), epoch
        assert sched_o.get_last_lr() == sched_t.get_last_lr()
        if name in ("CyclicLR", "OneCycleLR"):
            assert _values(opt_o, momentum) == _values(opt_t, momentum), epoch
        if epoch == 5:
            saved_t, saved_o = sched_t.state_dict(), sched_o.state_dict()
            assert list(saved_o) == list(saved_t)
            for key in set(saved_t) - {"optimizer", "_schedulers", "lr_lambdas"}:
                assert saved_o[key] == saved_t[key] or np.allclose(saved_o[key], saved_t[key], rtol=0), key
            fresh_o, fresh_t = _optimizer(tr, kind), _optimizer(torch, kind)
            fresh_o.load_state_dict(opt_o.state_dict())
            fresh_t.load_state_dict(opt_t.state_dict())
            sched_o, sched_t = _scheduler(tr, name, kwargs, fresh_o), _scheduler(torch, name, kwargs, fresh_t)
            sched_o.load_state_dict(saved_o)
            sched_t.load_state_dict(saved_t)
            opt_o, opt_t = fresh_o, fresh_t


def _steppers(lib):
    s = lib.optim.lr_scheduler
    return {
        "StepLR": lambda o: s.StepLR(o, 2, 0.5), "LambdaLR": lambda o: s.LambdaLR(o, lambda e: 0.9 ** e),
        "MultiplicativeLR": lambda o: s.MultiplicativeLR(o, lambda e: 0.9),
        "MultiStepLR": lambda o: s.MultiStepLR(o, [1, 3]), "ConstantLR": lambda o: s.ConstantLR(o),
        "LinearLR": lambda o: s.LinearLR(o), "ExponentialLR": lambda o: s.ExponentialLR(o, 0.9),
        "PolynomialLR": lambda o: s.PolynomialLR(o), "CosineAnnealingLR": lambda o: s.CosineAnnealingLR(o, 4),
        "CosineAnnealingWarmRestarts": lambda o: s.CosineAnnealingWarmRestarts(o, 2),
        "CyclicLR": lambda o: s.CyclicLR(o, 0.01, 0.1), "OneCycleLR": lambda o: s.OneCycleLR(o, 1.0, total_steps=9),
        "SWALR": lambda o: lib.optim.swa_utils.SWALR(o, swa_lr=0.05, anneal_epochs=2),
    }


@pytest.mark.parametrize("name", list(_steppers(torch)))
def test_get_lr_outside_step_warns_as_torch_and_step_does_not(name):
    for lib in (torch, tr):
        opt = _optimizer(lib, "SGD")
        sched = _steppers(lib)[name](opt)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(3):
                opt.step()
                sched.step()
        with pytest.warns(UserWarning, match=r"please use `get_last_lr\(\)`"):
            sched.get_lr()


def test_lrscheduler_s_old_name_and_state_dict_order_are_torch_s():
    for lib in (torch, tr):
        s = lib.optim.lr_scheduler

        class Halving(s._LRScheduler):
            def get_lr(self):
                return [base * 0.5 ** self.last_epoch for base in self.base_lrs]

        opt = _optimizer(lib, "SGD")
        sched = Halving(opt)
        assert issubclass(s._LRScheduler, s.LRScheduler) and s._LRScheduler.__name__ == "_LRScheduler"
        opt.step()
        sched.step()
        assert sched.get_last_lr() == [0.05, 0.025]
    for make in (lambda lib: lib.optim.lr_scheduler.StepLR(_optimizer(lib, "SGD"), 2),
                 lambda lib: lib.optim.lr_scheduler.LambdaLR(_optimizer(lib, "SGD"), lambda e: 0.5),
                 lambda lib: lib.optim.lr_scheduler.OneCycleLR(_optimizer(lib, "SGD"), 1.0, total_steps=5)):
        assert list(make(tr).state_dict()) == list(make(torch).state_dict())
