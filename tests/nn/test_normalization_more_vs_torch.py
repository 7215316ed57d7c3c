"""tr.nn.BatchNorm2d/3d, InstanceNorm1d/2d/3d, GroupNorm and tr.nn.functional.instance_norm / group_norm against
torch 2.13's: parameters, buffers and reprs; outputs, input and parameter gradients and running statistics over
two training steps and an eval step (affine, bias, track_running_stats, momentum None), float32 and float64,
batched and (InstanceNorm) unbatched; a torch state_dict loaded; torch's errors and warning."""
import warnings

import numpy as np
import pytest
from conftest import raises_as_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


@st.composite
def norms(draw):
    kind = draw(st.sampled_from(["BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
                                 "GroupNorm"]))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    spatial = {"BatchNorm2d": 2, "BatchNorm3d": 3, "InstanceNorm1d": 1, "InstanceNorm2d": 2, "InstanceNorm3d": 3,
               "GroupNorm": draw(st.integers(0, 2))}[kind]
    batch = () if kind.startswith("Instance") and draw(st.booleans()) else (draw(st.integers(1, 3)),)
    if kind == "GroupNorm":
        groups = draw(st.integers(1, 3))
        channels = groups * draw(st.integers(1, 2))
        args, kwargs = (groups, channels), dict(affine=draw(st.booleans()))
    else:
        channels = draw(st.integers(1, 3))
        args = (channels,)
        kwargs = dict(affine=draw(st.booleans()), track_running_stats=draw(st.booleans()),
                      momentum=draw(st.sampled_from([0.1, 0.5, None])))
    if kwargs["affine"]:
        kwargs["bias"] = draw(st.booleans())
    shape = batch + (channels,) + tuple(draw(st.integers(2, 4)) for _ in range(spatial))
    if kind == "GroupNorm" and int(np.prod(shape)) // (shape[0] * groups) < 2:
        shape = shape + (2,)
    return kind, args, kwargs, shape, dtype, draw(st.integers(0, 2 ** 31))


def _compare_state(ours, theirs, tol):
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_o) == list(sd_t)
    for key in sd_t:
        np.testing.assert_allclose(np.asarray(sd_o[key].numpy()), sd_t[key].numpy(), rtol=tol, atol=tol)


@settings(max_examples=60, deadline=None)
@given(norms())
def test_norms_are_torch_s(case):
    kind, args, kwargs, shape, dtype, seed = case
    theirs = getattr(torch.nn, kind)(*args, **kwargs).to(getattr(torch, dtype))
    ours = getattr(tr.nn, kind)(*args, **kwargs, dtype=dtype)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(seed)
    for p in theirs.parameters():   # parameters other than ones and zeros
        p.data = torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(dtype))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    tol = 1e-9 if dtype == "float64" else 1e-4
    for mode in ("train", "train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
        xo, xt = tr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        assert yo.shape == tuple(yt.shape) and yo.dtype == np.dtype(dtype)
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
        g = rng.standard_normal(shape).astype(dtype)
        yo.backward(g)
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol, err_msg=name)
        _compare_state(ours, theirs, tol)


def test_functional_forms_are_torch_s():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 4, 3, 5)), rng.standard_normal(4), rng.standard_normal(4)
    ours = tr.nn.functional.group_norm(tr.tensor(x), 2, tr.tensor(w), tr.tensor(b), 1e-3)
    theirs = torch.nn.functional.group_norm(torch.tensor(x), 2, torch.tensor(w), torch.tensor(b), 1e-3)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    mean, var = rng.standard_normal(4), rng.random(4) + 0.5
    for use_input_stats in (True, False):
        rm_o, rv_o, rm_t, rv_t = tr.tensor(mean), tr.tensor(var), torch.tensor(mean), torch.tensor(var)
        ours = tr.nn.functional.instance_norm(tr.tensor(x), rm_o, rv_o, tr.tensor(w), tr.tensor(b),
                                              use_input_stats, 0.3, 1e-3)
        theirs = torch.nn.functional.instance_norm(torch.tensor(x), rm_t, rv_t, torch.tensor(w), torch.tensor(b),
                                                   use_input_stats, 0.3, 1e-3)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rm_o.numpy(), rm_t.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rv_o.numpy(), rv_t.numpy(), rtol=1e-12, atol=1e-12)


def test_instance_norm_warns_as_torch_on_another_channel_count():
    with pytest.warns(UserWarning, match="does not match num_features"):
        tr.nn.InstanceNorm1d(3)(tr.ones(2, 4, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr.nn.InstanceNorm1d(4)(tr.ones(2, 4, 5))


def test_update_bn_recomputes_batch_norms_only():
    """torch's update_bn resets and recomputes every _BatchNorm (BatchNorm2d too) and leaves an InstanceNorm's
    running statistics as they were."""
    rng = np.random.default_rng(5)
    batches = [rng.standard_normal((4, 3, 5, 5)) for _ in range(3)]
    models = []
    for lib in (torch, tr):
        model = lib.nn.Sequential(lib.nn.BatchNorm2d(3), lib.nn.InstanceNorm2d(3, track_running_stats=True)).double()
        model(lib.tensor(batches[0]))   # running statistics of the instance norm that update_bn must keep
        lib.optim.swa_utils.update_bn([lib.tensor(b) for b in batches], model)
        models.append(model)
    _compare_state(models[1], models[0], 1e-12)


REFUSED = {
    "BatchNorm2d on 3-D input": lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(3, 4, 4)),
    "BatchNorm3d on 4-D input": lambda lib: lib.nn.BatchNorm3d(3)(lib.ones(2, 3, 4, 4)),
    "BatchNorm2d one value per channel": lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(1, 3, 1, 1)),
    "InstanceNorm1d on 4-D input": lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 4, 4)),
    "InstanceNorm2d one spatial element": lambda lib: lib.nn.InstanceNorm2d(3)(lib.ones(2, 3, 1, 1)),
    "InstanceNorm affine, other channels": lambda lib: lib.nn.InstanceNorm1d(3, affine=True)(lib.ones(2, 4, 5)),
    "GroupNorm channels and groups": lambda lib: lib.nn.GroupNorm(3, 4),
    "group_norm channels and groups": lambda lib: lib.nn.functional.group_norm(lib.ones(2, 4, 3), 3),
    "group_norm 1-D input": lambda lib: lib.nn.functional.group_norm(lib.ones(4), 2),
    "instance_norm without running stats in eval": lambda lib: lib.nn.functional.instance_norm(
        lib.ones(2, 3, 4), use_input_stats=False),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
