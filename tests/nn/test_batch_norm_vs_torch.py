"""tr.nn.BatchNorm1d and F.batch_norm against torch 2.13's: several training steps then eval(), on (N, C) and
(N, C, L) inputs, over its options (momentum None, affine, bias, track_running_stats), float32 and float64:
outputs, input and parameter gradients, the running statistics and num_batches_tracked after each step, the
state_dict's keys and values, repr; torch's errors."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

OPTIONS = [dict(), dict(momentum=None), dict(momentum=0.3, eps=1e-3), dict(affine=False), dict(bias=False),
           dict(track_running_stats=False)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_training_steps_then_eval_are_torch_s(kwargs, dtype):
    theirs = torch.nn.BatchNorm1d(4, **kwargs).to(getattr(torch, dtype))
    ours = tr.nn.BatchNorm1d(4, dtype=dtype, **kwargs)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(0)
    tol = 1e-10 if dtype == "float64" else 1e-4
    for shape in [(5, 4), (3, 4, 6), (2, 4)] * 2 + [(6, 4, 1)]:
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        xt, xo = torch.tensor(x, requires_grad=True), tr.tensor(x, requires_grad=True)
        yt, yo = theirs(xt), ours(xo)
        yt.backward(torch.from_numpy(g))
        yo.backward(g)
        np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(np.asarray(xo.grad), xt.grad.numpy(), rtol=tol, atol=tol)
        for p, q in zip(ours.parameters(), theirs.parameters()):
            np.testing.assert_allclose(np.asarray(p.grad), q.grad.numpy(), rtol=tol, atol=tol)
        _same_state(ours, theirs, tol)
    theirs.eval()
    ours.eval()
    x = rng.standard_normal((3, 4, 2)).astype(dtype)
    np.testing.assert_allclose(ours(tr.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=tol, atol=tol)


def _same_state(ours, theirs, tol):
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(reference)
    for key, value in reference.items():
        np.testing.assert_allclose(np.asarray(getattr(mine[key], "data", mine[key])), value.numpy(), rtol=tol,
                                   atol=tol)


def test_a_torch_state_dict_loads_and_eval_gives_torch_s_numbers():
    theirs = torch.nn.BatchNorm1d(3).double()
    theirs(torch.randn(8, 3, dtype=torch.float64) * 4)
    theirs.eval()
    ours = tr.nn.BatchNorm1d(3, dtype="float64")
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    x = np.random.default_rng(1).standard_normal((2, 3))
    np.testing.assert_allclose(ours(tr.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_the_functional_form_is_torch_s():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((4, 3, 5)), rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    for training in (False, True):
        run_t, run_o = [torch.tensor(a.copy()) for a in (rm, rv)], [tr.tensor(a.copy()) for a in (rm, rv)]
        yt = torch.nn.functional.batch_norm(torch.tensor(x), *run_t, torch.tensor(w), torch.tensor(b), training, 0.2)
        yo = tr.nn.functional.batch_norm(tr.tensor(x), *run_o, tr.tensor(w), tr.tensor(b), training, 0.2)
        np.testing.assert_allclose(yo.data, yt.numpy(), rtol=1e-12, atol=1e-12)
        for a, b_ in zip(run_o, run_t):
            np.testing.assert_allclose(a.data, b_.numpy(), rtol=1e-12)


REFUSED = {
    "one value per channel in training": lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(1, 3)),
    "a 4-D input": lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(2, 3, 4, 5)),
    "another channel count": lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(2, 4)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))
