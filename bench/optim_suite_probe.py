"""A differential audit of tr.optim against torch's own OptimizerInfo database (torch 2.13's optim_db).

For each OptimizerInfo of torch.testing._internal.common_optimizers.optim_db whose optimizer exists here, every
configuration of its optim_inputs_func(device="cpu") is run by torch's optimizer and by ours, in float32 and
float64, from the same initial parameters of a small model (a 3x4 weight and a bias; Muon's weight only: it takes
2-D parameters) whose loss, a quadratic plus a quartic, each library differentiates itself. Every step goes
through a closure (LBFGS needs one; the others return its loss). Compared after each of STEPS steps: the
parameters and the closure's loss. Then the state_dict(): each parameter's state entries (names, in torch's order,
and values; the step count as torch's float32 tensor) and the param_groups (keys and values); a load_state_dict
round trip (ours into a fresh optimizer of ours, which must then take the same next step as the original) and
torch's state_dict loaded into ours (the same next step as torch's). Then torch's switches: each optimizer
built with foreach=True/False, fused=True/False, capturable=True and differentiable=True where torch's
constructor takes the argument, and stepped once: both must succeed, or both raise. Then every error input
(optim_error_inputs_func): both must raise, ours of the type torch's test expects.

Each difference is one line: the optimizer, the configuration, the dtype and what differs. Classes:

  missing     the optimizer is not here
  silent      other parameters, or another loss, after a step
  state       state_dict() differs (entries, their order or values, param_groups)
  load        a load_state_dict round trip raises or takes another next step
  refused     we raise where torch works
  error type  both raise, ours of a type torch's test does not expect, or only torch raises
  flags       a foreach/fused/capturable/differentiable switch is taken where torch refuses it, or the reverse
  stricter    ours raises where torch's test expects a warning (a parameter listed twice in a group: torch warns
              that this will be an error, and updates it twice; ours refuses it, by design)
  rounding    float32 L-BFGS: torch's float32 loss, summed in another order, repeats exactly one iteration
              earlier and its loss-change test stops there (ours is as close to the float64 run as torch's is)

Usage (torch's internals need the expecttest package, e.g. `pip install --target /tmp/pylib expecttest`):

    PYTHONPATH=$PWD:/tmp/pylib nice -n 19 .venv/bin/python bench/optim_suite_probe.py [--optims Adam,LBFGS]

It prints one line per finding and a table of counts per class. Not a test: it reads torch's internal test data
(tests/nn/test_optim_db_vs_torch.py runs the same comparisons).
"""
import argparse
import copy
import sys
import warnings
from collections import Counter

import numpy as np

import tinygrad_rnn as tr

STEPS = 3
TOLERANCES = {"float32": (1e-4, 1e-6), "float64": (1e-10, 1e-12)}
# (an optimizer whose numbers may differ by more than rounding, with its tolerances: none now)
LOOSE = {}
FLAGS = ("foreach", "fused", "capturable", "differentiable")


def _init_values(name, dtype, seed=0):
    rng = np.random.default_rng(seed)
    values = {"weight": rng.standard_normal((3, 4)).astype(dtype)}
    if name != "Muon":
        values["bias"] = rng.standard_normal(4).astype(dtype)
    return values


def _data(dtype):
    rng = np.random.default_rng(1)
    return rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal((5, 4)).astype(dtype)


class Model:
    """The same parameters in both libraries and a closure for each: loss = sum((x W + b - y)^2) + 0.1 sum(W^4)."""

    def __init__(self, torch, name, dtype):
        values = _init_values(name, dtype)
        self.names = list(values)
        self.theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values.values()]
        self.ours = [tr.tensor(v.copy(), requires_grad=True) for v in values.values()]
        x, y = _data(dtype)
        self.t_xy = torch.tensor(x), torch.tensor(y)
        self.o_xy = tr.tensor(x), tr.tensor(y)

    @staticmethod
    def _loss(params, x, y):
        out = x @ params[0]
        if len(params) > 1:
            out = out + params[1]
        return ((out - y) ** 2).sum() + 0.1 * (params[0] ** 4).sum()

    def torch_closure(self, opt):
        def closure():
            opt.zero_grad()
            loss = self._loss(self.theirs, *self.t_xy)
            loss.backward()
            return loss
        return closure

    def our_closure(self, opt):
        def closure():
            opt.zero_grad()
            loss = self._loss(self.ours, *self.o_xy)
            loss.backward()
            return loss
        return closure

    def differ(self, dtype, name):
        rtol, atol = LOOSE.get(name, TOLERANCES)[dtype]
        for label, t, o in zip(self.names, self.theirs, self.ours):
            t, o = t.detach().numpy(), o.detach().numpy()
            if t.dtype != o.dtype:
                return f"{label}: dtype {o.dtype}, torch {t.dtype}"
            if not np.allclose(o, t, rtol=rtol, atol=atol):
                return f"{label}: max abs diff {np.max(np.abs(o.astype(float) - t.astype(float))):.3g}"
        return None


def ours_of(value, torch, made=None):
    """A torch constructor argument as ours: tensors (parameters too) as ours, the same torch tensor always the
    same tensor of ours (`made`), containers element by element."""
    made = {} if made is None else made
    if isinstance(value, torch.Tensor):
        if id(value) not in made:
            if value.is_sparse or value.is_complex():
                raise Skip("sparse or complex tensor")
            made[id(value)] = tr.tensor(value.detach().numpy().copy(), requires_grad=value.requires_grad)
        return made[id(value)]
    if isinstance(value, dict):
        return {k: ours_of(v, torch, made) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(ours_of(v, torch, made) for v in value)
    return value


class Skip(Exception):
    pass


def _numpy(value, torch):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, tr.Tensor):
        return value.detach().numpy()
    return value


def state_differs(t_sd, o_sd, dtype, name, torch):
    """How our state_dict() differs from torch's, or None."""
    rtol, atol = LOOSE.get(name, TOLERANCES)[dtype]
    if sorted(t_sd["state"]) != sorted(o_sd["state"]):
        return f"state keys {sorted(o_sd['state'])}, torch {sorted(t_sd['state'])}"
    for index, t_entry in t_sd["state"].items():
        o_entry = o_sd["state"][index]
        if list(t_entry) != list(o_entry):
            return f"state[{index}] entries {list(o_entry)}, torch {list(t_entry)}"
        for key, t_value in t_entry.items():
            diff = entry_differs(f"state[{index}][{key!r}]", t_value, o_entry[key], rtol, atol, torch)
            if diff:
                return diff
    return groups_differ(t_sd["param_groups"], o_sd["param_groups"], torch)


def entry_differs(where, t_value, o_value, rtol, atol, torch):
    """How one state entry of ours differs from torch's (type, dtype, shape, values; lists item by item), or None."""
    if isinstance(t_value, torch.Tensor) != isinstance(o_value, tr.Tensor):
        return f"{where} is a {type(o_value).__name__}, torch's a {type(t_value).__name__}"
    if isinstance(t_value, list):
        t_value, o_value = [_numpy(v, torch) for v in t_value], [_numpy(v, torch) for v in o_value]
        if len(t_value) != len(o_value):
            return f"{where} has {len(o_value)} items, torch {len(t_value)}"
        pairs = zip(t_value, o_value)
    else:
        pairs = [(_numpy(t_value, torch), _numpy(o_value, torch))]
    for t, o in pairs:
        if t is None or o is None:
            if (t is None) != (o is None):
                return f"{where}: {o!r}, torch {t!r}"
            continue
        t, o = np.asarray(t), np.asarray(o)
        if t.dtype != o.dtype or t.shape != o.shape:
            return f"{where}: {o.dtype}{o.shape}, torch {t.dtype}{t.shape}"
        if not np.allclose(o, t, rtol=rtol, atol=atol):
            return f"{where}: max abs diff {np.max(np.abs(o - t.astype(o.dtype))):.3g}"
    return None


def _plain(value, torch):
    """A group's value for comparison: a tensor (torch's or ours) as a number or list, a tuple as a list."""
    if isinstance(value, (torch.Tensor, tr.Tensor)):
        return value.tolist()
    return list(value) if isinstance(value, tuple) else value


def groups_differ(t_groups, o_groups, torch):
    """How our param_groups differ from torch's (keys, values; tuples and lists alike), or None."""
    for i, (t_group, o_group) in enumerate(zip(t_groups, o_groups)):
        if sorted(t_group) != sorted(o_group):
            extra, lacks = sorted(set(o_group) - set(t_group)), sorted(set(t_group) - set(o_group))
            return f"param_groups[{i}] keys: extra {extra}, lacking {lacks}"
        for key, t_value in t_group.items():
            t_value, o_value = _plain(t_value, torch), _plain(o_group[key], torch)
            if t_value != o_value and not (isinstance(t_value, float) and np.isclose(t_value, o_value)):
                return f"param_groups[{i}][{key!r}]: {o_value!r}, torch {t_value!r}"
    return None


def _torch_sd_for_ours(t_sd, torch):
    """torch's state_dict with its tensors as numpy arrays (what ours loads; a torch tensor loads as well)."""
    return {"state": {k: {n: ([_numpy(x, torch) for x in v] if isinstance(v, list) else _numpy(v, torch))
                          for n, v in entry.items()} for k, entry in t_sd["state"].items()},
            "param_groups": copy.deepcopy(t_sd["param_groups"])}


def run_config(torch, info, optim_input, dtype, findings):
    name = info.optim_cls.__name__
    ours_cls = getattr(tr.optim, name)
    desc = optim_input.desc
    try:
        kwargs = ours_of(optim_input.kwargs, torch)
    except Skip:
        return
    model = Model(torch, name, dtype)
    theirs = info.optim_cls(model.theirs, **optim_input.kwargs)
    try:
        ours = ours_cls(model.ours, **kwargs)
    except Exception as e:   # noqa: BLE001  (a probe: every failure is a finding)
        findings.append(("refused", name, desc, dtype, f"constructor raised {type(e).__name__}: {str(e)[:100]}"))
        return
    for step in range(STEPS):
        t_loss = theirs.step(model.torch_closure(theirs))
        try:
            o_loss = ours.step(model.our_closure(ours))
        except Exception as e:   # noqa: BLE001
            findings.append(("refused", name, desc, dtype, f"step {step} raised {type(e).__name__}: {str(e)[:100]}"))
            return
        diff = model.differ(dtype, name)
        if diff is None and not np.isclose(float(o_loss), float(t_loss), rtol=1e-4 if dtype == "float32" else 1e-10):
            diff = f"loss {float(o_loss)!r}, torch {float(t_loss)!r}"
        if diff:
            findings.append(("silent", name, desc, dtype, f"after step {step}: {diff}"))
            return
    diff = state_differs(theirs.state_dict(), ours.state_dict(), dtype, name, torch)
    if diff:
        findings.append(("state", name, desc, dtype, diff))
    _round_trips(torch, info, ours_cls, kwargs, model, theirs, ours, dtype, desc, findings)


def _round_trips(torch, info, ours_cls, kwargs, model, theirs, ours, dtype, desc, findings):
    """ours -> a fresh optimizer of ours, and torch's state_dict -> ours: each then takes one more step, which
    must be torch's next step."""
    name = info.optim_cls.__name__
    saved_ours = copy.deepcopy(ours.state_dict())
    saved_theirs = _torch_sd_for_ours(copy.deepcopy(theirs.state_dict()), torch)
    theirs.step(model.torch_closure(theirs))
    expected = [t.detach().numpy().copy() for t in model.theirs]
    for label, saved in (("ours -> ours", saved_ours), ("torch -> ours", saved_theirs)):
        start = Model(torch, name, dtype)   # the parameters as they were at the save
        for o, p in zip(start.ours, model.ours):
            o._data = p._data.copy()
        fresh = ours_cls(start.ours, **kwargs)
        try:
            fresh.load_state_dict(copy.deepcopy(saved))
            fresh.step(start.our_closure(fresh))
        except Exception as e:   # noqa: BLE001
            findings.append(("load", name, desc, dtype, f"{label}: {type(e).__name__}: {str(e)[:100]}"))
            continue
        rtol, atol = LOOSE.get(name, TOLERANCES)[dtype]
        got = [o.detach().numpy() for o in start.ours]
        if not all(np.allclose(g, e, rtol=rtol, atol=atol) for g, e in zip(got, expected)):
            findings.append(("load", name, desc, dtype, f"{label}: the next step is not torch's"))
    # (the original continues too: the comparison of its params is the same as the steps above)


def _takes(cls, flag):
    import inspect
    return flag in inspect.signature(cls.__init__).parameters


def run_flags(torch, info, findings):
    """Each of torch's switches the constructor takes, set to True and to False: both libraries construct and step,
    or both raise."""
    name = info.optim_cls.__name__
    ours_cls = getattr(tr.optim, name)
    for flag in FLAGS:
        if not _takes(info.optim_cls, flag):
            if _takes(ours_cls, flag):
                findings.append(("flags", name, flag, "-", "we take an argument torch's constructor does not"))
            continue
        for value in (True, False):
            model = Model(torch, name, "float32")
            t_out = _outcome(info.optim_cls, model.theirs, {flag: value}, model.torch_closure)
            o_out = _outcome(ours_cls, model.ours, {flag: value}, model.our_closure)
            if t_out != o_out and not (t_out[0] == "raises" and o_out[0] == "raises"):
                findings.append(("flags", name, f"{flag}={value}", "float32", f"ours {o_out}, torch {t_out}"))


def _outcome(cls, params, kwargs, closure_of=None):
    """("works",) or ("raises", where, exception type) for cls(params, **kwargs) and one step."""
    try:
        opt = cls(params, **kwargs)
    except Exception as e:   # noqa: BLE001
        return ("raises", "construction", type(e).__name__)
    try:
        opt.step(closure_of(opt)) if closure_of else opt.step()
    except Exception as e:   # noqa: BLE001
        return ("raises", "step", type(e).__name__)
    return ("works",)


def run_error_input(torch, info, err, findings):
    name = info.optim_cls.__name__
    ours_cls = getattr(tr.optim, name)
    oi = err.optimizer_error_input
    desc = f"error: {oi.desc or err.error_regex[:50]}"
    made = {}
    try:
        params = oi.params
        if params is None:   # torch's test then uses a default parameter
            params = [torch.nn.Parameter(torch.randn(2, 3))]
        o_params = ours_of(params, torch, made)
        kwargs = ours_of(oi.kwargs, torch, made)
    except Skip:
        return
    try:
        with warnings.catch_warnings(record=True) as caught:   # (torch's "errors" include a UserWarning)
            warnings.simplefilter("always")
            opt = ours_cls(o_params, **kwargs)
            if err.error_on.name == "STEP_ERROR":
                for p in made.values():
                    p.grad = tr.zeros_like(p)
                opt.step(lambda: tr.tensor(0.0)) if name == "LBFGS" else opt.step()
    except Exception as e:   # noqa: BLE001
        if err.error_type is UserWarning and isinstance(e, ValueError):   # a duplicate parameter refused
            findings.append(("stricter", name, desc, "-", f"ours {type(e).__name__} where torch warns"))
        elif not isinstance(e, err.error_type):
            findings.append(("error type", name, desc, "-",
                             f"ours {type(e).__name__}: {str(e)[:90]}; torch's test expects {err.error_type.__name__}"))
        return
    if issubclass(err.error_type, Warning) and any(isinstance(w.message, err.error_type) for w in caught):
        return
    findings.append(("error type", name, desc, "-", f"ours raises nothing, torch {err.error_type.__name__}"))


def probe(torch, optim_db, wanted=None):
    findings, counted = [], Counter()
    for info in optim_db:
        name = info.optim_cls.__name__
        if wanted and name not in wanted:
            continue
        if not hasattr(tr.optim, name):
            findings.append(("missing", name, "-", "-", f"tr.optim.{name} does not exist"))
            continue
        if info.only_supports_sparse_grads:   # (SparseAdam: ours has no sparse gradients; dense ones are refused)
            run_sparse_adam(torch, info, findings)
        else:
            for optim_input in info.optim_inputs_func(device="cpu"):
                for dtype in ("float32", "float64"):
                    counted["configurations"] += 1
                    run_config(torch, info, optim_input, dtype, findings)
            run_flags(torch, info, findings)
        for err in info.optim_error_inputs_func(device="cpu", dtype=torch.float32):
            counted["error inputs"] += 1
            run_error_input(torch, info, err, findings)
    return findings, counted


def run_sparse_adam(torch, info, findings):
    """SparseAdam with a dense gradient: torch's step() raises; ours must raise the same type."""
    t_p, o_p = torch.zeros(3, requires_grad=True), tr.zeros(3, requires_grad=True)
    t_p.grad, o_p.grad = torch.ones(3), tr.ones(3)
    t_out = _outcome(info.optim_cls, [t_p], {})
    o_out = _outcome(tr.optim.SparseAdam, [o_p], {})
    if t_out != o_out:
        findings.append(("error type", "SparseAdam", "dense gradient", "float32", f"ours {o_out}, torch {t_out}"))


CLASSES = ("missing", "silent", "state", "load", "refused", "error type", "flags", "stricter", "rounding")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--optims", help="comma-separated optimizer names (default: every one in optim_db)")
    opts = parser.parse_args()
    import torch
    from torch.testing._internal.common_optimizers import optim_db

    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    findings, counted = probe(torch, optim_db, set(opts.optims.split(",")) if opts.optims else None)
    findings = [("rounding",) + f[1:] if f[1] == "LBFGS" and f[3] == "float32" and f[0] in ("silent", "state")
                else f for f in findings]
    for cls, name, desc, dtype, detail in findings:
        print(f"{cls:10s} {name:10s} [{dtype}] {desc}: {detail}")
    print(f"\nconfigurations run: {counted['configurations']}, error inputs: {counted['error inputs']}")
    counts = Counter(f[0] for f in findings)
    optims = Counter(cls for cls, name in {(f[0], f[1]) for f in findings})
    print("| class | findings | optimizers |\n|---|---|---|")
    for cls in CLASSES:
        print(f"| {cls} | {counts[cls]} | {optims[cls]} |")


if __name__ == "__main__":
    sys.exit(main())
