"""tr.optim.swa_utils against torch.optim.swa_utils: AveragedModel's averages (SWA, EMA, each averaging function,
with and without use_buffers), update_bn's statistics, SWALR's learning rates and state dict, and the refusals."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr
from tinygrad_rnn.optim import swa_utils

torch = pytest.importorskip("torch")
TOL = {np.float32: dict(rtol=1e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}


def _models(dtype):
    """A Linear then a BatchNorm1d, in torch and here with the same weights."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    theirs = theirs.to(getattr(torch, np.dtype(dtype).name))
    ours = tr.nn.Sequential(tr.nn.Linear(3, 4, dtype=dtype), tr.nn.BatchNorm1d(4, dtype=dtype))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def _averaging_fns(kind, lib):
    s = lib.optim.swa_utils
    return {"swa": {}, "ema multi": {"multi_avg_fn": s.get_ema_multi_avg_fn(0.9)},
            "swa multi": {"multi_avg_fn": s.get_swa_multi_avg_fn()}, "ema": {"avg_fn": s.get_ema_avg_fn(0.8)},
            "swa single": {"avg_fn": s.get_swa_avg_fn()}}[kind]


def _train_and_average(theirs, ours, t_avg, o_avg, dtype, rounds=4):
    rng = np.random.default_rng(1)
    for i in range(rounds):
        x = rng.standard_normal((5, 3)).astype(dtype)
        theirs(torch.tensor(x))
        ours(tr.tensor(x))
        with torch.no_grad():
            for p in theirs.parameters():
                p.mul_(0.9).add_(0.1 * i)
        with tr.no_grad():
            for p in ours.parameters():
                p.mul_(0.9).add_(0.1 * i)
        t_avg.update_parameters(theirs)
        o_avg.update_parameters(ours)


def _same_state(t_module, o_module, dtype):
    t_sd, o_sd = t_module.state_dict(), o_module.state_dict()
    assert list(o_sd) == list(t_sd)
    for key, value in t_sd.items():
        assert o_sd[key].numpy().dtype == value.numpy().dtype, key
        np.testing.assert_allclose(o_sd[key].numpy(), value.numpy(), **TOL[dtype], err_msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("kind", ["swa", "ema multi", "swa multi", "ema", "swa single"])
def test_averaged_model_averages_as_torch(dtype, use_buffers, kind):
    theirs, ours = _models(dtype)
    t_avg = torch.optim.swa_utils.AveragedModel(theirs, use_buffers=use_buffers, **_averaging_fns(kind, torch))
    o_avg = swa_utils.AveragedModel(ours, use_buffers=use_buffers, **_averaging_fns(kind, tr))
    if kind == "swa multi" and use_buffers:   # torch's addcdiv_ refuses the int64 num_batches_tracked
        t_avg.update_parameters(theirs)
        o_avg.update_parameters(ours)
        raises_as_torch(lambda: t_avg.update_parameters(theirs), lambda: o_avg.update_parameters(ours))
        return
    _train_and_average(theirs, ours, t_avg, o_avg, dtype)
    _same_state(t_avg, o_avg, dtype)
    x = np.random.default_rng(2).standard_normal((4, 3)).astype(dtype)
    t_avg.eval(), o_avg.eval()
    np.testing.assert_allclose(o_avg(tr.tensor(x)).detach().numpy(), t_avg(torch.tensor(x)).detach().numpy(),
                               **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_bn_recomputes_the_statistics_as_torch(dtype):
    theirs, ours = _models(dtype)
    t_avg, o_avg = torch.optim.swa_utils.AveragedModel(theirs), swa_utils.AveragedModel(ours)
    _train_and_average(theirs, ours, t_avg, o_avg, dtype)
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((6, 3)).astype(dtype) for _ in range(3)]
    t_avg.eval(), o_avg.eval()
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], t_avg)
    swa_utils.update_bn([(tr.tensor(b), 0) for b in batches], o_avg)
    _same_state(t_avg, o_avg, dtype)
    assert not o_avg.training and o_avg.module[1].momentum == t_avg.module[1].momentum


@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 4])
def test_swalr_learning_rates_and_state_dict_as_torch(anneal_strategy, anneal_epochs):
    t_opt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]},
                             {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.2}], lr=0.5)
    o_opt = tr.optim.SGD([{"params": [tr.zeros(2, requires_grad=True)]},
                          {"params": [tr.zeros(1, requires_grad=True)], "lr": 0.2}], lr=0.5)
    t_s = torch.optim.swa_utils.SWALR(t_opt, swa_lr=[0.05, 0.01], anneal_epochs=anneal_epochs,
                                      anneal_strategy=anneal_strategy)
    o_s = swa_utils.SWALR(o_opt, swa_lr=[0.05, 0.01], anneal_epochs=anneal_epochs, anneal_strategy=anneal_strategy)
    for _ in range(7):
        t_opt.step(), o_opt.step(), t_s.step(), o_s.step()
        np.testing.assert_allclose(o_s.get_last_lr(), t_s.get_last_lr(), rtol=1e-15)
    assert sorted(o_s.state_dict()) == sorted(t_s.state_dict())
    assert [g["swa_lr"] for g in o_opt.param_groups] == [g["swa_lr"] for g in t_opt.param_groups]


@pytest.mark.parametrize("case", ["anneal_strategy", "anneal_epochs", "swa_lr per group", "decay", "both fns"])
def test_refusals_as_torch(case):
    def run(lib):
        s = lib.optim.swa_utils
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        if case == "anneal_strategy":
            s.SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
        elif case == "anneal_epochs":
            s.SWALR(opt, swa_lr=0.1, anneal_epochs=-1)
        elif case == "swa_lr per group":
            s.SWALR(opt, swa_lr=[0.1, 0.2])
        elif case == "decay":
            s.get_ema_multi_avg_fn(1.5)
        else:
            s.AveragedModel(lib.nn.Linear(2, 2), avg_fn=s.get_swa_avg_fn(), multi_avg_fn=s.get_swa_multi_avg_fn())
    raises_as_torch(lambda: run(torch), lambda: run(tr))
