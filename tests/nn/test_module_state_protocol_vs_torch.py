"""torch's state_dict protocol on tr.nn.Module: get_extra_state / set_extra_state, _save_to_state_dict overrides,
state_dict pre- and post-hooks, load_state_dict post-hooks; and set_submodule, type(dst_type), to_empty. Each
compared with torch 2.13 running the same code (tr.nn.Module lacked all of them: AttributeError, or a
get_extra_state that nothing called)."""
import numpy as np
import pytest
from conftest import outcome

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def _result(call):
    """call()'s result, or the type of the exception it raised (for results that are not arrays)."""
    try:
        return call()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e)


def _model(lib, calls=None):
    """A Sequential(Linear, Tagged) whose Tagged keeps a vocabulary as extra state, in `lib`'s own classes."""
    class Tagged(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = lib.nn.Linear(2, 3)
            self.vocab = ["a", "b"]

        def forward(self, x):
            return self.proj(x)

        def get_extra_state(self):
            return {"vocab": list(self.vocab)}

        def set_extra_state(self, state):
            if calls is not None:
                calls.append(("set_extra_state", state))
            self.vocab = list(state["vocab"])

    return lib.nn.Sequential(lib.nn.Linear(3, 2), Tagged())


def _keys(sd):
    return list(sd.keys())


def test_extra_state_is_saved_after_the_modules_tensors_and_loaded_by_set_extra_state():
    ours, theirs = _model(tr), _model(torch)
    assert _keys(ours.state_dict()) == _keys(theirs.state_dict())
    assert ours.state_dict()["1._extra_state"] == theirs.state_dict()["1._extra_state"] == {"vocab": ["a", "b"]}
    ours_calls, theirs_calls = [], []
    ours2, theirs2 = _model(tr, ours_calls), _model(torch, theirs_calls)
    sd = theirs.state_dict()
    sd["1._extra_state"] = {"vocab": ["x", "y", "z"]}
    ours2.load_state_dict({k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in sd.items()})
    theirs2.load_state_dict(sd)
    assert ours_calls == theirs_calls == [("set_extra_state", {"vocab": ["x", "y", "z"]})]
    assert ours2[1].vocab == theirs2[1].vocab == ["x", "y", "z"]
    np.testing.assert_array_equal(ours2[0].weight.detach().numpy(), theirs2[0].weight.detach().numpy())


def test_a_missing_extra_state_key_is_a_strict_loads_missing_key_as_torchs():
    def load(lib, strict):
        m = _model(lib)
        sd = {k: v for k, v in _model(lib).state_dict().items() if k != "1._extra_state"}
        return tuple(m.load_state_dict(sd, strict=strict))
    assert _result(lambda: load(tr, False)) == _result(lambda: load(torch, False)) == (["1._extra_state"], [])
    ours, theirs = _result(lambda: load(tr, True)), _result(lambda: load(torch, True))
    assert theirs is RuntimeError and issubclass(ours, RuntimeError)


def test_the_base_get_extra_state_is_never_called_and_raises_as_torchs():
    for lib in (tr, torch):
        assert "_extra_state" not in str(_keys(lib.nn.Linear(2, 2).state_dict()))
        assert outcome(lambda lib=lib: lib.nn.Linear(2, 2).get_extra_state()) is RuntimeError
        assert outcome(lambda lib=lib: lib.nn.Linear(2, 2).set_extra_state({})) is RuntimeError


def test_save_to_state_dict_overridden_by_a_subclass():
    def make(lib):
        class Renamed(lib.nn.Linear):
            def _save_to_state_dict(self, destination, prefix, keep_vars):
                super()._save_to_state_dict(destination, prefix, keep_vars)
                destination[prefix + "scale"] = lib.ones(1)
        return lib.nn.Sequential(Renamed(2, 2), lib.nn.Linear(2, 1))
    assert _keys(make(tr).state_dict()) == _keys(make(torch).state_dict()) == \
        ["0.weight", "0.bias", "0.scale", "1.weight", "1.bias"]


def _hooked(lib, log):
    m = _model(lib)
    for name, sub in m.named_modules():
        sub.register_state_dict_pre_hook(lambda mod, prefix, keep_vars, name=name: log.append(("pre", name, prefix,
                                                                                                keep_vars)))
        sub.register_state_dict_post_hook(
            lambda mod, sd, prefix, meta, name=name: log.append(("post", name, prefix, len(sd))))
    return m


@pytest.mark.parametrize("keep_vars", [False, True])
def test_state_dict_hooks_run_in_torchs_order_with_its_arguments(keep_vars):
    ours_log, theirs_log = [], []
    _hooked(tr, ours_log).state_dict(prefix="model.", keep_vars=keep_vars)
    _hooked(torch, theirs_log).state_dict(prefix="model.", keep_vars=keep_vars)
    assert ours_log == theirs_log and len(ours_log) == 8


def test_a_state_dict_post_hook_changes_the_dict_in_place_and_must_return_none():
    def run(lib, returns):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2))

        def hook(mod, sd, prefix, meta):
            sd.pop(prefix + "bias")
            sd[prefix + "note"] = 1
            return sd if returns else None
        m[0].register_state_dict_post_hook(hook)
        return _keys(m.state_dict())
    assert _result(lambda: run(tr, False)) == _result(lambda: run(torch, False)) == ["0.weight", "0.note"]
    assert _result(lambda: run(tr, True)) is _result(lambda: run(torch, True)) is RuntimeError


def test_load_post_hooks_run_children_first_and_may_forgive_keys():
    def run(lib, forgive):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(lib.nn.Linear(2, 1)))
        log = []
        for name, sub in m.named_modules():
            def hook(mod, keys, name=name):
                log.append((name, sorted(keys.missing_keys), sorted(keys.unexpected_keys)))
                if forgive and name == "":
                    keys.missing_keys.clear()
                    keys.unexpected_keys.clear()
            sub.register_load_state_dict_post_hook(hook)
        sd = {k: v for k, v in m.state_dict().items() if k != "1.0.bias"}
        sd["extra"] = sd["0.bias"]
        result = m.load_state_dict(sd)
        return [entry[0] for entry in log], log[-1][1:], tuple(result)
    ours, theirs = _result(lambda: run(tr, True)), _result(lambda: run(torch, True))
    assert ours[0] == theirs[0] == ["0", "1.0", "1", ""]   # children first, as torch's recursion
    assert ours[1] == theirs[1] == (["1.0.bias"], ["extra"])
    assert ours[2] == theirs[2] == ([], [])
    assert issubclass(_result(lambda: run(tr, False)), RuntimeError)
    assert _result(lambda: run(torch, False)) is RuntimeError


def test_a_load_post_hook_returning_a_value_is_torchs_assertion_error():
    def run(lib):
        m = lib.nn.Linear(2, 2)
        m.register_load_state_dict_post_hook(lambda mod, keys: keys)
        m.load_state_dict(m.state_dict())
    assert outcome(lambda: run(tr)) is outcome(lambda: run(torch)) is AssertionError


@pytest.mark.parametrize("target, make, strict", [
    ("1", "relu", False), ("1", "relu", True), ("0", "relu", True), ("0.weight", "relu", False),
    ("", "relu", False), ("x", None, False), ("q.r", "relu", False), ("2.0", "relu", False), ("2.1", "relu", False),
    ("2.1", "relu", True), ("head", "linear", False)])
def test_set_submodule_as_torchs(target, make, strict):
    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Tanh(), lib.nn.Sequential(lib.nn.Linear(2, 2)))
        new = {"relu": lambda: lib.nn.ReLU(), "linear": lambda: lib.nn.Linear(2, 3), None: lambda: 3}[make]()
        m.set_submodule(target, new, strict=strict)
        return [(name, type(sub).__name__) for name, sub in m.named_modules()], _keys(m.state_dict())
    assert _result(lambda: run(tr)) == _result(lambda: run(torch))


@pytest.mark.parametrize("dst", ["float64", "torch.DoubleTensor", "float32"])
def test_type_casts_every_parameter_and_buffer_as_torchs(dst):
    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
        m[0].weight.grad = lib.ones(2, 2)
        m.type(getattr(lib, dst) if not dst.startswith("torch.") else dst)
        return {k: str(v.dtype).replace("torch.", "") for k, v in m.state_dict().items()}, \
            str(m[0].weight.grad.dtype).replace("torch.", "")
    assert run(tr) == run(torch)
    x = tr.ones(3, 2, dtype=tr.float64)
    assert tr.nn.Linear(2, 2).type(tr.float64)(x).dtype == np.float64


def test_type_to_an_integer_dtype_is_refused_for_a_parameter_as_torchs():
    assert outcome(lambda: tr.nn.Linear(2, 2).type(tr.int64)) is outcome(
        lambda: torch.nn.Linear(2, 2).type(torch.int64)) is RuntimeError


def test_to_empty_keeps_the_parameter_objects_and_needs_a_device():
    for lib in (tr, torch):
        m = lib.nn.Linear(2, 3)
        w = m.weight
        assert m.to_empty(device="cpu") is m and m.weight is w and tuple(m.weight.shape) == (3, 2)
        assert outcome(lambda lib=lib: lib.nn.Linear(2, 2).to_empty()) is TypeError
    assert tr.nn.Module.call_super_init is torch.nn.Module.call_super_init is False


def test_half_and_bfloat16_are_refused_naming_the_dtype():
    for name in ("half", "bfloat16"):
        with pytest.raises(TypeError, match="is not a dtype here"):
            getattr(tr.nn.Linear(2, 2), name)()
