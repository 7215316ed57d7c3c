"""tr.optim against torch 2.13's own OptimizerInfo database (common_optimizers.optim_db): each optim_inputs_func
configuration, float32 and float64, stepped side by side (parameters and loss after each step, state_dict(),
load_state_dict round trips, torch's state dict loaded into ours), torch's switches (foreach, fused, capturable,
differentiable) and every optim_error_inputs_func case, by bench/optim_suite_probe.py's functions (skipped without
torch's expecttest: tests/nn/test_optim_added_vs_torch.py tests what this audit added without it)."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")   # (torch's internal test modules import it)
from torch.testing._internal.common_optimizers import optim_db  # noqa: E402

from bench import optim_suite_probe as probe  # noqa: E402  (bench/ is not in the package: conftest puts the repo on sys.path)

INFOS = {info.optim_cls.__name__: info for info in optim_db}
# differences left, each explained in docs/reference/optim.md: a Tensor lr is used as a float here, where torch keeps
# it a 0-d float32 tensor (Muon then computes 1 - lr * weight_decay in float32; LBFGS's state 't' is that tensor)
KNOWN = {("Muon", "Tensor lr", "float64"), ("LBFGS", "Tensor lr", "float64")}
CONFIGS = [(name, i, dtype) for name, info in INFOS.items() if not info.only_supports_sparse_grads
           for i, _ in enumerate(info.optim_inputs_func(device="cpu")) for dtype in ("float32", "float64")
           if not (name == "LBFGS" and dtype == "float32")]   # (float32 L-BFGS: see test_lbfgs_float32_...)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.mark.parametrize("name,index,dtype", CONFIGS, ids=[f"{n}-{i}-{d}" for n, i, d in CONFIGS])
def test_each_configuration_steps_saves_and_loads_as_torch(name, index, dtype):
    info = INFOS[name]
    optim_input = info.optim_inputs_func(device="cpu")[index]
    findings = []
    probe.run_config(torch, info, optim_input, dtype, findings)
    findings = [f for f in findings if (f[1], f[2], f[3]) not in KNOWN]
    assert findings == []


def test_lbfgs_float32_is_as_close_to_float64_as_torch_s():
    """float32 L-BFGS: torch's loss (summed in another order) repeats exactly one iteration earlier and its
    loss-change test stops there; ours must be no farther from the float64 run than torch's."""
    runs = {}
    for dtype in ("float32", "float64"):
        model = probe.Model(torch, "LBFGS", dtype)
        theirs, ours = torch.optim.LBFGS(model.theirs), tr.optim.LBFGS(model.ours)
        theirs.step(model.torch_closure(theirs))
        ours.step(model.our_closure(ours))
        runs[dtype] = [model.theirs[0].detach().numpy().astype(float), model.ours[0].detach().numpy().astype(float)]
    reference = runs["float64"][0]
    assert np.abs(runs["float32"][1] - reference).max() <= np.abs(runs["float32"][0] - reference).max() + 1e-5


@pytest.mark.parametrize("name", [n for n, i in INFOS.items() if not i.only_supports_sparse_grads])
def test_torch_switches_are_taken_or_refused_as_torch(name):
    findings = []
    probe.run_flags(torch, INFOS[name], findings)
    assert findings == []


@pytest.mark.parametrize("name", list(INFOS))
def test_error_inputs_raise_torch_s_exception_types(name):
    findings = []
    for err in INFOS[name].optim_error_inputs_func(device="cpu", dtype=torch.float32):
        probe.run_error_input(torch, INFOS[name], err, findings)
    assert [f for f in findings if f[0] != "stricter"] == []
