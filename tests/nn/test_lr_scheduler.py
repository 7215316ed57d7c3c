"""Learning-rate schedulers against torch.optim.lr_scheduler: the same schedule on both sides,
the learning rate of every param group (and OneCycleLR's momentum) compared after every step,
and a state_dict taken mid-run resuming the same sequence."""
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)

torch = pytest.importorskip("torch")

STEPS = 30


def _warmup(epoch):
    return min(1.0, (epoch + 1) / 5) * 0.95 ** epoch


class Warmup:  # a callable object: its attributes travel in LambdaLR's state_dict
    def __init__(self):
        self.scale = 1.0

    def __call__(self, epoch):
        return self.scale / (1 + epoch)


CASES = [
    ("StepLR", dict(step_size=4, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[3, 7, 7, 20], gamma=0.5)),
    ("MultiStepLR", dict(milestones=(0, 2))),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.5, end_factor=0.1, total_iters=12)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),  # 30 steps: past T_max it rises again
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("LambdaLR", dict(lr_lambda=_warmup)),
    ("OneCycleLR", dict(max_lr=[0.5, 1.0], total_steps=STEPS)),
    ("OneCycleLR", dict(max_lr=0.5, epochs=3, steps_per_epoch=10, anneal_strategy="linear", three_phase=True)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=STEPS, pct_start=0.5, cycle_momentum=False)),
]
OPTIMIZERS = [("SGD", dict(momentum=0.9)), ("Adam", dict()), ("RMSprop", dict(momentum=0.5))]


def make(lib, opt_name, opt_kwargs, sched_name, sched_kwargs):
    p0, p1 = (lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True))
    groups = [{"params": [p0]}, {"params": [p1], "lr": 0.05}]
    opt = getattr(lib.optim, opt_name)(groups, lr=0.1, **opt_kwargs)
    return opt, getattr(lib.optim.lr_scheduler, sched_name)(opt, **sched_kwargs)


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def assert_same(ours, theirs):
    (o_opt, o_sched), (t_opt, t_sched) = ours, theirs
    np.testing.assert_allclose(o_sched.get_last_lr(), t_sched.get_last_lr(), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose([g["lr"] for g in o_opt.param_groups], [g["lr"] for g in t_opt.param_groups],
                               rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(momenta(o_opt), momenta(t_opt), rtol=1e-13)


@pytest.mark.parametrize("opt_name,opt_kwargs", OPTIMIZERS)
@pytest.mark.parametrize("sched_name,sched_kwargs", CASES)
def test_schedule_matches_torch_step_for_step(opt_name, opt_kwargs, sched_name, sched_kwargs):
    ours = make(tr, opt_name, opt_kwargs, sched_name, sched_kwargs)
    theirs = make(torch, opt_name, opt_kwargs, sched_name, sched_kwargs)
    assert_same(ours, theirs)
    n = STEPS - 1 if sched_name == "OneCycleLR" else STEPS
    for _ in range(n):
        ours[0].step(), theirs[0].step()
        ours[1].step(), theirs[1].step()
        assert_same(ours, theirs)


@pytest.mark.parametrize("sched_name,sched_kwargs", CASES + [("LambdaLR", dict(lr_lambda=Warmup()))])
def test_state_dict_resumes_the_schedule(sched_name, sched_kwargs):
    opt, sched = make(tr, "SGD", dict(momentum=0.9), sched_name, sched_kwargs)
    for _ in range(12):
        opt.step(), sched.step()
    saved = pickle.loads(pickle.dumps({"opt": opt.state_dict(), "sched": sched.state_dict()}))
    expected = []
    for _ in range(8):
        opt.step(), sched.step()
        expected.append(sched.get_last_lr())

    opt2, sched2 = make(tr, "SGD", dict(momentum=0.9), sched_name, sched_kwargs)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    resumed = []
    for _ in range(8):
        opt2.step(), sched2.step()
        resumed.append(sched2.get_last_lr())
    assert resumed == expected


def test_lambda_lr_keeps_a_callable_objects_attributes():
    fn = Warmup()
    opt, sched = make(tr, "SGD", {}, "LambdaLR", dict(lr_lambda=fn))
    fn.scale = 3.0
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"scale": 3.0}, {"scale": 3.0}]
    fn.scale = 1.0
    sched.load_state_dict(state)
    assert fn.scale == 3.0


@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", threshold_mode="abs", threshold=0.1, cooldown=2,
                                             patience=1, factor=0.5, min_lr=[0.01, 0.02])])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 5), 0.5 + 0.05 * rng.standard_normal(40)])
    ours = make(tr, "SGD", {}, "ReduceLROnPlateau", kwargs)
    theirs = make(torch, "SGD", {}, "ReduceLROnPlateau", kwargs)
    for k, m in enumerate(metrics):
        ours[1].step(tr.Tensor(m) if k % 2 else float(m))  # a one-element Tensor is a metric too
        theirs[1].step(float(m))
        assert_same(ours, theirs)
    assert ours[1].get_last_lr() != [0.1, 0.05]  # the schedule did reduce


@pytest.mark.parametrize("make_it,error,message", [
    (lambda opt: StepLR(opt, step_size=0), ValueError, "StepLR: step_size must be >= 1, got 0"),
    (lambda opt: StepLR(opt, step_size=2.5), TypeError, "StepLR: step_size must be an int, got float 2.5"),
    (lambda opt: ExponentialLR(opt, gamma="0.9"), TypeError, "ExponentialLR: gamma must be a number"),
    (lambda opt: CosineAnnealingLR(opt, T_max=0), ValueError, "T_max must be > 0"),
    (lambda opt: LambdaLR(opt, lr_lambda=0.5), TypeError, "lr_lambda must be callable"),
    (lambda opt: LambdaLR(opt, lr_lambda=[_warmup] * 3), ValueError, "expected 2 lr_lambdas"),
    (lambda opt: OneCycleLR(opt, max_lr=1.0), ValueError, "pass total_steps, or epochs and steps_per_epoch"),
    (lambda opt: OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="cosine"), ValueError,
     "anneal_strategy must be one of 'cos', 'linear'"),
    (lambda opt: ReduceLROnPlateau(opt, factor=1.0), ValueError, "factor must be < 1"),
    (lambda opt: ReduceLROnPlateau(opt, mode="minimum"), ValueError, "mode must be one of 'min', 'max'"),
    (lambda opt: MultiStepLR(opt, milestones=3), TypeError, "MultiStepLR: milestones must be a list of ints"),
    (lambda opt: MultiStepLR(opt, milestones=[2, 4.5]), TypeError, r"MultiStepLR: milestones\[1\] must be an int"),
    (lambda opt: LinearLR(opt, start_factor=0), ValueError, r"LinearLR: start_factor must be in \(0, 1\], got 0"),
    (lambda opt: LinearLR(opt, end_factor=1.5), ValueError, r"LinearLR: end_factor must be in \[0, 1\]"),
    (lambda opt: LinearLR(opt, total_iters=-1), ValueError, "LinearLR: total_iters must be >= 0"),
    (lambda opt: StepLR("sgd", 2), TypeError, "optimizer must be a tr.optim optimizer, got str"),
    (lambda opt: StepLR(opt, 2, last_epoch=3), KeyError, "no 'initial_lr'"),
])
def test_argument_errors(make_it, error, message):
    opt = tr.optim.SGD([{"params": [tr.zeros(2, requires_grad=True)]}, {"params": [tr.zeros(1, requires_grad=True)]}],
                       lr=0.1)
    with pytest.raises(error, match=message):
        make_it(opt)


def test_one_cycle_refuses_steps_past_the_end():
    opt, sched = make(tr, "SGD", {}, "OneCycleLR", dict(max_lr=1.0, total_steps=3))
    t_opt, t_sched = make(torch, "SGD", {}, "OneCycleLR", dict(max_lr=1.0, total_steps=3))
    for _ in range(3):  # torch accepts one step past the last value too
        opt.step(), t_opt.step(), sched.step(), t_sched.step()
    with pytest.raises(ValueError, match="stepped 4 times, but total_steps is 3"):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        t_sched.step()
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with momentum or betas"):
        OneCycleLR(tr.optim.Adagrad([tr.zeros(1, requires_grad=True)]), max_lr=1.0, total_steps=3)


def test_bad_values_at_construction_and_step_are_named():
    """div_factor/final_div_factor 0 raised ZeroDivisionError, a lr_lambda returning a string a Python
    TypeError from `base * factor`, ReduceLROnPlateau.step(array of 2) numpy's .item() error; each now names
    the argument. A lambda returning a numpy 0-d array still works, and plateaus still match torch."""
    opt = tr.optim.SGD([tr.zeros(2, requires_grad=True)], lr=0.1)
    for name in ("div_factor", "final_div_factor"):
        with pytest.raises(ValueError, match=f"OneCycleLR: {name} must be > 0, got 0"):
            OneCycleLR(opt, max_lr=1.0, total_steps=5, **{name: 0})
    with pytest.raises(TypeError, match="LambdaLR: lr_lambda must return a number .* got str 'x' for epoch 0"):
        LambdaLR(opt, lambda epoch: "x")
    LambdaLR(opt, lambda epoch: np.array(0.5))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    plateau = ReduceLROnPlateau(opt)
    with pytest.raises(TypeError, match="ReduceLROnPlateau.step: metrics must be a number .* got ndarray"):
        plateau.step(np.array([1.0, 2.0]))
    plateau.step(np.array([1.0]))   # one element: its value, as a one-element Tensor
    assert plateau.best == 1.0


def test_load_state_dict_refuses_values_of_another_kind():
    """A scheduler state with last_epoch 'x', gamma 'x' or base_lrs of another length loaded, then failed
    inside step() (or silently kept gamma 'x' until a step multiplied by it); each is named at the load."""
    opt = tr.optim.SGD([tr.zeros(2, requires_grad=True)], lr=0.1)
    sched = StepLR(opt, 2)
    for key, value, words in (("last_epoch", "x", "last_epoch must be an int"),
                              ("gamma", "x", "gamma must be a number"),
                              ("base_lrs", [], "base_lrs must be a list of 1"),
                              ("last_epoch", 2.5, "last_epoch must be an int")):
        state = sched.state_dict()
        state[key] = value
        with pytest.raises(ValueError, match=f"StepLR.load_state_dict: {words}"):
            StepLR(opt, 2).load_state_dict(state)
    state = sched.state_dict()
    state["gamma"] = 1   # an int where a float is held is a number
    StepLR(opt, 2).load_state_dict(state)


@pytest.mark.parametrize("make,key,value,error,words", [
    (lambda opt: StepLR(opt, 2), "step_size", 0, ValueError, "step_size must be >= 1, got 0"),
    (lambda opt: StepLR(opt, 2), "last_epoch", -5, ValueError, "last_epoch must be >= -1, got -5"),
    (lambda opt: StepLR(opt, 2), "base_lrs", [-0.1], ValueError, r"base_lrs\[0\] must be in \[0, inf\]"),
    (lambda opt: CosineAnnealingLR(opt, 10), "T_max", 0, ValueError, "T_max must be > 0, got 0"),
    (lambda opt: OneCycleLR(opt, max_lr=1.0, total_steps=10), "total_steps", 0, ValueError, "total_steps must be >= 1"),
    (lambda opt: OneCycleLR(opt, max_lr=1.0, total_steps=10), "_anneal_func_type", "cosine", ValueError,
     "_anneal_func_type must be one of 'cos', 'linear'"),
    (lambda opt: ReduceLROnPlateau(opt), "factor", 1.5, ValueError, "factor must be < 1"),
    (lambda opt: ReduceLROnPlateau(opt), "patience", -1, ValueError, "patience must be >= 0"),
    (lambda opt: ReduceLROnPlateau(opt), "mode", "minimum", ValueError, "mode must be one of 'min', 'max'"),
    (lambda opt: ReduceLROnPlateau(opt), "min_lrs", [-1.0], ValueError, r"min_lrs\[0\] must be in \[0, inf\]"),
])
def test_load_state_dict_checks_ranges_as_the_constructor(make, key, value, error, words):
    """A state dict with step_size 0 loaded, then failed with ZeroDivisionError at the next step (T_max 0 too, a
    negative patience silently never waited): each value is held to the constructor's rule at the load, and the
    scheduler is left unchanged."""
    opt = tr.optim.SGD([tr.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = make(opt)
    state = sched.state_dict()
    before = dict(state)
    state[key] = value
    with pytest.raises(error, match=f"{type(sched).__name__}.load_state_dict: {words}"):
        sched.load_state_dict(state)
    assert sched.state_dict() == before
    sched.load_state_dict(before)


# ----------------------------------------------------------------------------- the schedulers added in session 21
class Halving:  # a callable object as CyclicLR's scale_fn: its attributes travel in the state_dict
    def __init__(self):
        self.base = 0.5

    def __call__(self, x):
        return self.base ** x


def _decay(epoch):
    return 0.9 + 0.01 * epoch


def _inverse(epoch):
    return 1 / (epoch + 1)


BUILT = [   # (id, build(lr_scheduler module, optimizer)): the same calls on both sides
    ("MultiplicativeLR", lambda L, o: L.MultiplicativeLR(o, _decay)),
    ("ConstantLR", lambda L, o: L.ConstantLR(o)),
    ("ConstantLR-4", lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=4)),
    ("PolynomialLR", lambda L, o: L.PolynomialLR(o, total_iters=10, power=2.0)),
    ("PolynomialLR-default", lambda L, o: L.PolynomialLR(o)),
    ("CosineAnnealingWarmRestarts", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3)),
    ("CosineAnnealingWarmRestarts-1", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5)),
    ("CyclicLR", lambda L, o: L.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=4, step_size_down=3)),
    ("CyclicLR-triangular2", lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="triangular2")),
    ("CyclicLR-exp_range", lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9,
                                                    base_momentum=[0.7, 0.8], max_momentum=0.95)),
    ("CyclicLR-scale_fn", lambda L, o: L.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=3, scale_fn=Halving(),
                                                   scale_mode="iterations", cycle_momentum=False)),
    ("SequentialLR", lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=4), L.CosineAnnealingLR(o, 10),
                                                     L.StepLR(o, 3)], milestones=[5, 12])),
    ("SequentialLR-closed-forms", lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o), L.ExponentialLR(o, 0.9), L.MultiStepLR(o, [1, 3, 3]), L.PolynomialLR(o, 4)], [3, 8, 14])),
    ("SequentialLR-lambdas", lambda L, o: L.SequentialLR(o, [L.LambdaLR(o, _inverse), L.MultiplicativeLR(o, _decay)],
                                                         [4])),
    ("ChainedScheduler", lambda L, o: L.ChainedScheduler([L.ConstantLR(o, 0.2, 4), L.ExponentialLR(o, 0.95)])),
    ("ChainedScheduler-in-SequentialLR", lambda L, o: L.SequentialLR(
        o, [L.ChainedScheduler([L.ConstantLR(o, 0.2, 4), L.ExponentialLR(o, 0.95)], o), L.StepLR(o, 2)], [6])),
]
OLD = [(name, lambda L, o, name=name, kw=kw: getattr(L, name)(o, **kw)) for name, kw in CASES]


def build(lib, opt_name, opt_kwargs, builder):
    p0, p1 = (lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True))
    opt = getattr(lib.optim, opt_name)([{"params": [p0]}, {"params": [p1], "lr": 0.05}], lr=0.1, **opt_kwargs)
    return opt, builder(lib.optim.lr_scheduler, opt)


# torch's ChainedScheduler inside SequentialLR warns that its schedulers step before the optimizer: they do not
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")
@pytest.mark.parametrize("opt_name,opt_kwargs", OPTIMIZERS)
@pytest.mark.parametrize("builder", [b for _, b in BUILT], ids=[i for i, _ in BUILT])
def test_added_schedulers_match_torch_step_for_step(opt_name, opt_kwargs, builder):
    """MultiplicativeLR, ConstantLR, PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR (its momentum or beta1
    too), SequentialLR and ChainedScheduler did not exist: each group's lr and get_last_lr() over 40 steps, as
    torch's, from the step at construction on."""
    ours, theirs = build(tr, opt_name, opt_kwargs, builder), build(torch, opt_name, opt_kwargs, builder)
    assert_same(ours, theirs)
    for _ in range(40):
        ours[0].step(), theirs[0].step()
        ours[1].step(), theirs[1].step()
        assert_same(ours, theirs)


def _torch_state(state):
    """An optimizer state dict of ours with torch tensors for the arrays (what torch's load_state_dict takes)."""
    return {"state": {i: {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in entry.items()}
                      for i, entry in state["state"].items()},
            "param_groups": state["param_groups"]}


# torch's ChainedScheduler inside SequentialLR warns that its schedulers step before the optimizer: they do not
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")
@pytest.mark.parametrize("builder", [b for _, b in BUILT + OLD], ids=[i for i, _ in BUILT + OLD])
@pytest.mark.parametrize("direction", ["torch-into-ours", "ours-into-torch"])
def test_state_dicts_load_across_libraries(builder, direction):
    """A scheduler's state_dict has torch's keys (e.g. MultiStepLR's milestones a Counter, OneCycleLR's
    _schedule_phases, _get_lr_called_within_step), so torch's loads into ours (it was refused: unknown keys) and
    ours into torch's: 12 steps on one side, optimizer and scheduler state carried over, then 10 more steps on
    both, their lrs and momenta equal."""
    ours, theirs = build(tr, "SGD", dict(momentum=0.9), builder), build(torch, "SGD", dict(momentum=0.9), builder)
    assert set(ours[1].state_dict()) == set(theirs[1].state_dict())
    (src_opt, src), (dst_opt, dst) = (theirs, ours) if direction == "torch-into-ours" else (ours, theirs)
    for _ in range(12):
        src_opt.step(), src.step()
    opt_state = src_opt.state_dict()
    dst_opt.load_state_dict(_torch_state(opt_state) if direction == "ours-into-torch" else opt_state)
    dst.load_state_dict(pickle.loads(pickle.dumps(src.state_dict())))
    for _ in range(10):
        src_opt.step(), src.step(), dst_opt.step(), dst.step()
        assert_same((src_opt, src), (dst_opt, dst))


def test_reduce_lr_on_plateau_state_dicts_load_across_libraries():
    """ReduceLROnPlateau's state dict lacked torch's default_min_lr and mode_worse: torch's was refused."""
    ours, theirs = make(tr, "SGD", {}, "ReduceLROnPlateau", dict(patience=1)), \
        make(torch, "SGD", {}, "ReduceLROnPlateau", dict(patience=1))
    assert set(ours[1].state_dict()) == set(theirs[1].state_dict())
    for m in (3.0, 2.0, 2.5, 2.5):
        theirs[1].step(m)
    ours[0].load_state_dict(theirs[0].state_dict())
    ours[1].load_state_dict(theirs[1].state_dict())
    for m in (2.5, 2.5, 1.0, 1.2, 1.3, 1.4):
        ours[1].step(m), theirs[1].step(m)
        assert_same(ours, theirs)
    torch_again = make(torch, "SGD", {}, "ReduceLROnPlateau", dict(patience=1))
    torch_again[1].load_state_dict(ours[1].state_dict())
    torch_again[0].load_state_dict(ours[0].state_dict())
    for m in (1.5, 1.6, 0.5):
        ours[1].step(m), torch_again[1].step(m)
        assert_same(ours, torch_again)


def test_state_dicts_saved_before_torch_names_still_load():
    """A MultiStepLR state with sorted milestones, a OneCycleLR one with 'anneal_strategy' and 'phases' (as this
    library wrote them before taking torch's names) load and resume the same schedule."""
    opt, sched = make(tr, "SGD", {}, "MultiStepLR", dict(milestones=[2, 5, 5]))
    state = sched.state_dict()
    state["milestones"] = [2, 5, 5]
    sched.load_state_dict(state)
    assert sched.milestones == {2: 1, 5: 2}
    opt, sched = make(tr, "SGD", {}, "OneCycleLR", dict(max_lr=1.0, total_steps=10))
    state = sched.state_dict()
    state["anneal_strategy"] = state.pop("_anneal_func_type")
    state["phases"] = [tuple(p.values()) for p in state.pop("_schedule_phases")]
    fresh = make(tr, "SGD", {}, "OneCycleLR", dict(max_lr=1.0, total_steps=10))
    fresh[1].load_state_dict(state)
    for _ in range(5):
        opt.step(), sched.step(), fresh[0].step(), fresh[1].step()
        assert fresh[1].get_last_lr() == sched.get_last_lr()


@pytest.mark.parametrize("make_it,error,message", [
    (lambda L, o: L.ConstantLR(o, factor=1.5), ValueError, r"ConstantLR: factor must be in \[0, 1\], got 1.5"),
    (lambda L, o: L.ConstantLR(o, total_iters=2.5), TypeError, "ConstantLR: total_iters must be an int"),
    (lambda L, o: L.PolynomialLR(o, total_iters=-1), ValueError, "PolynomialLR: total_iters must be >= 0"),
    (lambda L, o: L.MultiplicativeLR(o, 0.5), TypeError, "MultiplicativeLR: lr_lambda must be callable"),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0 must be an int >= 1, got int 0"),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError, "T_0 must be an int >= 1, got float"),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, "T_mult must be an int >= 1"),
    (lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"), ValueError, "eta_min must be a number"),
    (lambda L, o: L.CyclicLR(o, 0.01, 0.1, mode="triangle"), ValueError, "mode must be one of"),
    (lambda L, o: L.CyclicLR(o, 0.01, [0.1] * 3), ValueError, "max_lr must have one value per param group"),
    (lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=0), ValueError, "step_size_up must be > 0"),
    (lambda L, o: L.SequentialLR(o, [], []), ValueError, "at least one scheduler"),
    (lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], [2, 4]), ValueError,
     "one milestone fewer than schedulers"),
    (lambda L, o: L.SequentialLR(o, [L.ReduceLROnPlateau(o)], []), ValueError, "ReduceLROnPlateau"),
    (lambda L, o: L.ChainedScheduler([]), ValueError, "at least one scheduler"),
    (lambda L, o: L.ChainedScheduler([L.StepLR(o, 2), L.StepLR(type(o)(o.param_groups[0]["params"]), 2)]),
     ValueError, "same optimizer"),
])
def test_added_schedulers_argument_errors_as_torch(make_it, error, message):
    """Each raises the error type torch raises (where torch raises one at construction), naming the argument."""
    ours = tr.optim.SGD([{"params": [tr.zeros(2, requires_grad=True)]}, {"params": [tr.zeros(1, requires_grad=True)]}],
                        lr=0.1, momentum=0.9)
    with pytest.raises(error, match=message):
        make_it(tr.optim.lr_scheduler, ours)
    theirs = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]},
                              {"params": [torch.zeros(1, requires_grad=True)]}], lr=0.1, momentum=0.9)
    try:
        make_it(torch.optim.lr_scheduler, theirs)
    except ZeroDivisionError:   # (torch's CyclicLR with step_size_up=0: its arithmetic fails)
        pass
    except Exception as e:   # else torch raises the same type, or nothing (it fails later, at a step, or never)
        assert isinstance(e, error)


@pytest.mark.parametrize("kwargs", [dict(total_steps=2.5), dict(total_steps=0), dict(epochs=2.0, steps_per_epoch=3),
                                    dict(epochs=2, steps_per_epoch=0)])
def test_one_cycle_step_counts_are_refused_with_torchs_error_type(kwargs):
    """A float total_steps (or epochs, steps_per_epoch) raised TypeError here, ValueError in torch."""
    for lib in (tr, torch):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
        with pytest.raises(ValueError, match="total_steps|epochs|steps_per_epoch"):
            lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, **kwargs)


# ----------------------------------------------------------------------------- step(epoch), and torch's UserWarnings
EPOCH_STEPPED = [   # (id, build(lr_scheduler module, optimizer), the largest epoch it takes): every kind of step(epoch)
    ("StepLR", lambda L, o: L.StepLR(o, 3, 0.5), 30), ("MultiStepLR", lambda L, o: L.MultiStepLR(o, [2, 5, 5, 9]), 30),
    ("ConstantLR", lambda L, o: L.ConstantLR(o, 0.5, 4), 30), ("LinearLR", lambda L, o: L.LinearLR(o, 0.2, 0.9, 6), 30),
    ("ExponentialLR", lambda L, o: L.ExponentialLR(o, 0.9), 30),
    ("PolynomialLR", lambda L, o: L.PolynomialLR(o, 12, 2.0), 30),
    ("CosineAnnealingLR", lambda L, o: L.CosineAnnealingLR(o, 7, 1e-3), 30),
    ("LambdaLR", lambda L, o: L.LambdaLR(o, _inverse), 30),
    ("MultiplicativeLR", lambda L, o: L.MultiplicativeLR(o, _decay), 30),
    ("CyclicLR", lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="triangular2"), 30),
    ("OneCycleLR", lambda L, o: L.OneCycleLR(o, 0.5, total_steps=40), 20),
    ("CosineAnnealingWarmRestarts", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3), 30),
    ("CosineAnnealingWarmRestarts-1", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=4), 30),
]


def _recorded(fn):
    """fn()'s UserWarnings as (category, message) pairs, every one (not once per place)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [(w.category, str(w.message)) for w in caught if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("builder,largest", [(b, n) for _, b, n in EPOCH_STEPPED], ids=[i for i, _, _ in EPOCH_STEPPED])
@given(epochs=st.lists(st.one_of(st.none(), st.integers(0, 30), st.floats(0, 30)), min_size=1, max_size=12))
def test_step_with_an_epoch_matches_torch(builder, largest, epochs):
    """step(epoch) (deprecated in torch, refused here before): torch's warning (EPOCH_DEPRECATION_WARNING, a
    UserWarning; none from CosineAnnealingWarmRestarts, whose step(epoch) takes fractions), the lrs of that epoch (in
    closed form where torch has one), and step()s after it going on from there as torch's do."""
    ours, theirs = build(tr, "SGD", dict(momentum=0.9), builder), build(torch, "SGD", dict(momentum=0.9), builder)
    warm_restarts = isinstance(ours[1], tr.optim.lr_scheduler.CosineAnnealingWarmRestarts)   # (takes fractions)
    epochs = [e if e is None or warm_restarts or isinstance(e, int) else int(e) for e in epochs]
    for epoch in epochs:
        epoch = epoch if epoch is None else min(epoch, largest)
        ours[0].step(), theirs[0].step()
        got = _recorded(lambda e=epoch: ours[1].step() if e is None else ours[1].step(e))
        expected = _recorded(lambda e=epoch: theirs[1].step() if e is None else theirs[1].step(e))
        assert got == expected
        assert ours[1].last_epoch == theirs[1].last_epoch
        assert_same(ours, theirs)


def test_reduce_lr_on_plateau_step_with_an_epoch_warns_as_torch():
    ours, theirs = make(tr, "SGD", {}, "ReduceLROnPlateau", dict(patience=1)), \
        make(torch, "SGD", {}, "ReduceLROnPlateau", dict(patience=1))
    for epoch in [None, 5, None, 2, None, None, None]:
        got = _recorded(lambda e=epoch: ours[1].step(1.0, e))
        assert got == _recorded(lambda e=epoch: theirs[1].step(1.0, e)) and len(got) == (epoch is not None)
        assert ours[1].last_epoch == theirs[1].last_epoch
        assert_same(ours, theirs)


WARNING_STEPPED = [(i, b) for i, b, _ in EPOCH_STEPPED + [(i, b, 0) for i, b in BUILT]
                   if not i.startswith("CosineAnnealingWarmRestarts")]   # (whose step() never warns, as torch's)


@pytest.mark.parametrize("builder", [b for _, b in WARNING_STEPPED], ids=[i for i, _ in WARNING_STEPPED])
def test_step_before_the_optimizers_warns_as_torch(builder):
    """A scheduler's first step() before any optimizer.step() gives torch's UserWarning ("Detected call of
    `lr_scheduler.step()` before `optimizer.step()`"), once, as torch (SequentialLR and ChainedScheduler through the
    schedulers they step: a ChainedScheduler inside a SequentialLR steps its schedulers at construction); nothing
    once an optimizer.step() came first."""
    ours = _recorded(lambda: build(tr, "SGD", dict(momentum=0.9), builder))
    assert ours == _recorded(lambda: build(torch, "SGD", dict(momentum=0.9), builder))
    for optimizer_first in (False, True):
        (opt, sched), (opt_t, sched_t) = build(tr, "SGD", {}, builder), build(torch, "SGD", {}, builder)
        for k in range(3):
            if optimizer_first or k:
                opt.step(), opt_t.step()
            got = _recorded(sched.step)
            assert got == _recorded(sched_t.step)
            if k == 0 and not optimizer_first:
                assert (got or ours)[0][1].startswith(
                    "Detected call of `lr_scheduler.step()` before `optimizer.step()`")
            assert_same((opt, sched), (opt_t, sched_t))


@pytest.mark.parametrize("builder", [
    lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, 0.0, 10), L.ExponentialLR(o, 0.9)], [4]),   # a frozen phase
    lambda L, o: L.ConstantLR(o, 0.0, 0),
    lambda L, o: L.LinearLR(o, 0.5, total_iters=0), lambda L, o: L.PolynomialLR(o, total_iters=0),
    lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, 0.5, 2), L.ExponentialLR(o, 0.9), L.StepLR(o, 2)], [5, 2]),
    lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.5, total_iters=3), L.CosineAnnealingLR(o, 4), L.StepLR(o, 2)],
                                [-1, 6]),
], ids=["ConstantLR-factor-0", "ConstantLR-factor-0-at-0", "LinearLR-0", "PolynomialLR-0", "SequentialLR-unsorted",
        "SequentialLR-negative"])
def test_arguments_torch_takes_are_taken(builder):
    """What torch takes and makes a schedule of (we refused each at construction): a ConstantLR factor of 0 (an lr of
    0 until the next phase), a LinearLR or PolynomialLR total_iters of 0 (a constant factor), SequentialLR milestones
    out of order or negative (torch bisects them as given): 20 steps as torch's."""
    ours, theirs = build(tr, "SGD", dict(momentum=0.9), builder), build(torch, "SGD", dict(momentum=0.9), builder)
    assert_same(ours, theirs)
    for _ in range(20):
        ours[0].step(), theirs[0].step()
        ours[1].step(), theirs[1].step()
        assert_same(ours, theirs)


def test_constant_lr_factor_0_fails_at_total_iters_as_torch():
    """A ConstantLR factor of 0 cannot be divided back at step total_iters: a ZeroDivisionError, as torch's (which
    says "float division by zero"), here naming the argument."""
    for lib in (tr, torch):
        opt, sched = make(lib, "SGD", {}, "ConstantLR", dict(factor=0.0, total_iters=3))
        for _ in range(2):
            opt.step(), sched.step()
        assert [g["lr"] for g in opt.param_groups] == [0.0, 0.0]
        opt.step()
        with pytest.raises(ZeroDivisionError, match="factor=0 made the lr 0" if lib is tr else "division by zero"):
            sched.step()


def test_step_epoch_must_be_an_int():
    """torch's step(epoch) is typed int; a float (2.5) would leave last_epoch fractional and the recursive schedules
    after it never reaching their milestones: refused by name (CosineAnnealingWarmRestarts takes fractions)."""
    opt, sched = make(tr, "SGD", {}, "StepLR", dict(step_size=2))
    with pytest.raises(TypeError, match=r"StepLR.step: epoch must be an int, got float 2.5"):
        sched.step(2.5)
    opt, sched = make(tr, "SGD", {}, "CosineAnnealingWarmRestarts", dict(T_0=2))
    with pytest.raises(ValueError, match="expected a non-negative epoch, got -1"):
        sched.step(-1)
