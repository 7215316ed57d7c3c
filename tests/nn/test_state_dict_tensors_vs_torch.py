"""state_dict() values as torch 2.13 gives them: Tensors detached from the parameters and buffers (sharing their
memory, requires_grad=False), so torch habits on them mean what they mean in torch: a write through a value
changes the model (the EMA idiom), `.std()` is unbiased, `.max(0)` has indices; an optimizer's state entries are
Tensors sharing its state; tr.save/tr.load round-trip them as Tensors, and tr.load of a torch.save file gives
Tensors where torch.load gives tensors."""
import copy
import io

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn import parametrizations as PZ

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(27)


class _Net:
    """The same small model in both libraries: a Linear, a BatchNorm1d (an int64 buffer), a non-persistent
    buffer (not in state_dict) and a persistent one registered after it."""

    @staticmethod
    def build(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.nn.Linear(3, 4, dtype=lib.float64)
                self.bn = lib.nn.BatchNorm1d(4, dtype=lib.float64)
                self.register_buffer("scratch", lib.zeros(2, dtype=lib.float64), persistent=False)
                self.register_buffer("scale", lib.ones(4, dtype=lib.float64))

            def forward(self, x):
                return self.bn(self.fc(x)) * self.scale

        return Net()


def _pair():
    ours, theirs = _Net.build(tr), _Net.build(torch)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def _torch_of(sd):
    return {k: v.detach().numpy() for k, v in sd.items()}


def test_values_are_detached_tensors_in_torchs_order_and_keep_vars_gives_the_tensors():
    ours, theirs = _pair()
    sd, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(sd_t) and "scratch" not in sd
    for k in sd_t:
        assert isinstance(sd[k], tr.Tensor) and not isinstance(sd[k], tr.nn.Parameter), k
        assert sd[k].requires_grad is sd_t[k].requires_grad is False, k
        assert sd[k].dtype == np.dtype(str(sd_t[k].dtype).removeprefix("torch.")), k
    kept, kept_t = ours.state_dict(keep_vars=True), theirs.state_dict(keep_vars=True)
    assert kept["fc.weight"] is ours.fc.weight and kept["bn.num_batches_tracked"] is ours.bn.num_batches_tracked
    assert [type(v).__name__ for v in kept.values()] == [type(v).__name__ for v in kept_t.values()]
    dest, dest_t = {"x": 1}, {"x": 1}
    assert ours.state_dict(destination=dest, prefix="m.") is dest
    theirs.state_dict(destination=dest_t, prefix="m.")
    assert list(dest) == list(dest_t)


def test_a_write_through_a_value_changes_the_model_as_torchs():
    ours, theirs = _pair()
    for module in (ours, theirs):
        sd = module.state_dict()
        sd["fc.weight"].mul_(2.0)
        sd["fc.bias"][0] = 5.0
        sd["bn.num_batches_tracked"].add_(3)
        sd["scale"].fill_(0.5)
    for k, v in _torch_of(theirs.state_dict()).items():
        np.testing.assert_array_equal(ours.state_dict()[k].numpy(), v, err_msg=k)
    assert ours.bn.num_batches_tracked.item() == 3


def test_a_value_follows_training_and_a_deepcopy_does_not():
    ours, _ = _pair()
    live, snapshot = ours.state_dict(), copy.deepcopy(ours.state_dict())
    before = ours.fc.weight.numpy().copy()
    opt = tr.optim.SGD(ours.parameters(), lr=0.1)
    ours(tr.tensor(RNG.standard_normal((5, 3)))).square().sum().backward()
    opt.step()
    assert not np.array_equal(ours.fc.weight.numpy(), before)
    np.testing.assert_array_equal(live["fc.weight"].numpy(), ours.fc.weight.numpy())
    np.testing.assert_array_equal(snapshot["fc.weight"].numpy(), before)


def _ema_update(average, model, d, is_float):
    """The two EMA idioms on state_dict values: in place (`v.mul_(d).add_(src, alpha=1 - d)`) and timm's
    ModelEmaV2 (`ema_v.copy_(ema_v * d + (1 - d) * model_v)`)."""
    pairs = [(v, src) for v, src in zip(average.state_dict().values(), model.state_dict().values()) if is_float(v)]
    for v, src in pairs:
        v.mul_(d).add_(src, alpha=1 - d)
    for v, src in pairs:
        v.copy_(v * d + (1.0 - d) * src)


def test_the_ema_idioms_move_the_average_model_as_torchs():
    ours, theirs = _pair()
    ema, ema_t = copy.deepcopy(ours), copy.deepcopy(theirs)
    moved = {k: v.numpy() + RNG.standard_normal(v.shape) for k, v in ours.state_dict().items() if v.dtype.kind == "f"}
    ours.load_state_dict(moved, strict=False)   # the model moves away from its average
    theirs.load_state_dict({k: torch.tensor(v) for k, v in moved.items()}, strict=False)
    with torch.no_grad():
        _ema_update(ema_t, theirs, 0.9, lambda v: v.dtype.is_floating_point)
    _ema_update(ema, ours, 0.9, lambda v: v.dtype.kind == "f")
    for k, v in _torch_of(ema_t.state_dict()).items():
        np.testing.assert_allclose(ema.state_dict()[k].numpy(), v, rtol=1e-14, atol=1e-15, err_msg=k)
    assert not np.allclose(ema.fc.weight.numpy(), ours.fc.weight.numpy())
    assert not np.allclose(ema.fc.weight.numpy(), _Net.build(tr).fc.weight.numpy())


def test_methods_on_values_are_tensor_methods_as_torchs():
    ours, theirs = _pair()
    w, w_t = ours.state_dict()["fc.weight"], theirs.state_dict()["fc.weight"]
    np.testing.assert_allclose(w.std().item(), w_t.std().item(), rtol=1e-14)   # unbiased, as torch's
    values, indices = w.max(0)
    values_t, indices_t = w_t.max(0)
    np.testing.assert_array_equal(values.numpy(), values_t.numpy())
    np.testing.assert_array_equal(indices.numpy(), indices_t.numpy())
    assert w.sum(dim=1).shape == tuple(w_t.sum(dim=1).shape)


def test_a_parametrized_modules_values_are_detached_tensors_as_torchs():
    ours = PZ.weight_norm(tr.nn.Linear(3, 4, dtype=np.float64), dim=1)
    theirs = torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 4).double(), dim=1)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    sd, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(sd_t)
    assert all(type(v) is tr.Tensor and v.requires_grad is False for v in sd.values())
    sd["parametrizations.weight.original1"].mul_(3.0)
    sd_t["parametrizations.weight.original1"].mul_(3.0)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-14)


def test_load_state_dict_takes_our_tensors_torchs_and_numpy_arrays():
    source, _ = _pair()
    for convert in (lambda v: v, lambda v: torch.tensor(v.numpy()), lambda v: v.numpy().copy()):
        target = _Net.build(tr)
        assert target.load_state_dict({k: convert(v) for k, v in source.state_dict().items()}) == ([], [])
        for k, v in source.state_dict().items():
            np.testing.assert_array_equal(target.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    # a loaded dict's values are copied in, not shared: the source is not changed by the target's training
    target.state_dict()["fc.weight"].zero_()
    assert np.any(source.fc.weight.numpy() != 0)


OPTIMIZERS = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1)), ("NAdam", dict(lr=0.1)),
              ("ASGD", dict(lr=0.1)), ("Rprop", dict(lr=0.1)), ("LBFGS", dict(lr=0.5))]


def _stepped(lib, name, kwargs, start):
    w = lib.nn.Parameter(lib.tensor(start))
    opt = getattr(lib.optim, name)([w], **kwargs)

    def closure():
        opt.zero_grad()
        loss = ((w - 1.0) ** 4).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    return w, opt


def _kind(v, lib):
    """What a state entry is, in words both libraries share."""
    if isinstance(v, list):
        return [_kind(x, lib) for x in v]
    if isinstance(v, lib.Tensor):
        return ("tensor", str(v.dtype).removeprefix("torch."), tuple(v.shape))
    return type(v).__name__


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=[n for n, _ in OPTIMIZERS])
def test_optimizer_state_entries_are_tensors_as_torchs(name, kwargs):
    start = RNG.standard_normal(4)
    _, opt = _stepped(tr, name, kwargs, start)
    _, opt_t = _stepped(torch, name, kwargs, start)
    entry, entry_t = opt.state_dict()["state"][0], opt_t.state_dict()["state"][0]
    assert sorted(entry) == sorted(entry_t)   # (LBFGS's entries come in another order: left alone)
    for k in entry_t:
        if k == "t":   # LBFGS's step length: torch keeps the int it started from; ours a float (left alone)
            continue
        assert _kind(entry[k], tr) == _kind(entry_t[k], torch), k
    if "step" in entry:
        assert entry["step"].item() == entry_t["step"].item() == 3


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS[:3], ids=[n for n, _ in OPTIMIZERS[:3]])
def test_optimizer_state_entries_share_the_state_as_torchs(name, kwargs):
    """torch hands out its state tensors: a dict taken before a step shows the step's buffers, and a deepcopy
    does not."""
    start = RNG.standard_normal(4)
    results = []
    for lib in (tr, torch):
        w, opt = _stepped(lib, name, kwargs, start)
        live, snapshot = opt.state_dict(), copy.deepcopy(opt.state_dict())
        w.grad = lib.ones(4, dtype=w.dtype)
        opt.step()
        key = "momentum_buffer" if name == "SGD" else "exp_avg"
        results.append((live["state"][0][key].numpy().copy(), snapshot["state"][0][key].numpy().copy(),
                        np.array(opt.state[w][key].numpy() if lib is torch else opt.state[w][key])))
    (live, snap, now), (live_t, snap_t, now_t) = results
    np.testing.assert_allclose(now, now_t, rtol=1e-12)
    np.testing.assert_array_equal(live, now)     # shared
    np.testing.assert_allclose(snap, snap_t, rtol=1e-12)
    assert not np.allclose(snap, now)


def test_a_state_dict_round_trips_through_save_and_load_as_tensors():
    ours, _ = _pair()
    ours.bn.num_batches_tracked.add_(7)
    opt = tr.optim.Adam(ours.parameters(), lr=0.1)
    ours(tr.tensor(RNG.standard_normal((5, 3)))).square().sum().backward()
    opt.step()
    buf = io.BytesIO()
    tr.save({"model": ours.state_dict(), "optimizer": opt.state_dict()}, buf)
    buf.seek(0)
    back = tr.load(buf)
    for k, v in ours.state_dict().items():
        assert type(back["model"][k]) is tr.Tensor and back["model"][k].dtype == v.dtype, k
        np.testing.assert_array_equal(back["model"][k].numpy(), v.numpy(), err_msg=k)
    assert back["model"]["bn.num_batches_tracked"].item() == ours.bn.num_batches_tracked.item() == 8   # 7 + the step
    for k, v in opt.state_dict()["state"][0].items():
        assert type(back["optimizer"]["state"][0][k]) is tr.Tensor and back["optimizer"]["state"][0][k].dtype == v.dtype
    fresh = _Net.build(tr)
    fresh.load_state_dict(back["model"])
    tr.optim.Adam(fresh.parameters(), lr=0.1).load_state_dict(back["optimizer"])


def test_load_of_a_torch_file_gives_tensors_where_torch_load_does(tmp_path):
    _, theirs = _pair()
    theirs.bn.num_batches_tracked.add_(2)
    obj = {"model": theirs.state_dict(), "mask": torch.tensor([True, False]), "half": torch.ones(2).half(),
           "param": torch.nn.Parameter(torch.ones(2)), "epoch": 3}
    torch.save(obj, tmp_path / "ckpt.pt")
    ours, expected = tr.load(tmp_path / "ckpt.pt"), torch.load(tmp_path / "ckpt.pt")
    for k, v in expected["model"].items():
        assert type(ours["model"][k]) is tr.Tensor and ours["model"][k].dtype == v.numpy().dtype, k
        np.testing.assert_array_equal(ours["model"][k].numpy(), v.numpy(), err_msg=k)
    assert ours["model"]["bn.num_batches_tracked"].item() == 2
    assert type(ours["mask"]) is tr.Tensor and ours["mask"].dtype == np.bool_
    assert type(ours["param"]) is tr.nn.Parameter and ours["param"].requires_grad
    assert isinstance(ours["half"], np.ndarray) and ours["half"].dtype == np.float16   # ours holds no float16
    np.testing.assert_allclose(ours["model"]["fc.weight"].std().item(), expected["model"]["fc.weight"].std().item(),
                               rtol=1e-14)
