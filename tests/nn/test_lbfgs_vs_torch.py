"""tr.optim.LBFGS against torch.optim.LBFGS (torch 2.13): the same model, data and closure in both, so each
step takes torch's path: the same closure calls and iterations, the same losses and parameters to rounding
(float64), with and without the strong-Wolfe line search, a short history that forgets, and a parameter the loss
does not reach. Checkpoints resume exactly and torch's state dict loads. torch's add with alpha is a fused
multiply-add: ours too, to the last place; a long float32 run stays within torch's own float32 noise."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def models(dtype, unused=False):
    """The same small regression net in both libraries (torch's initial values loaded into ours)."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).to(
        getattr(torch, dtype))
    ours = tr.nn.Sequential(tr.nn.Linear(5, 8, dtype=dtype), tr.nn.Tanh(), tr.nn.Linear(8, 1, dtype=dtype))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    params_t, params_o = list(theirs.parameters()), list(ours.parameters())
    if unused:   # a parameter no loss reaches: its gradient stays None, a block of zeros in the flat vector
        params_t.append(torch.nn.Parameter(torch.ones(3, dtype=getattr(torch, dtype))))
        params_o.append(tr.nn.Parameter(np.ones(3, dtype=dtype)))
    return theirs, ours, params_t, params_o


def closures(theirs, ours, opt_t, opt_o, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(dtype)
    y = np.sin(x.sum(1, keepdims=True)).astype(dtype)

    def closure_t():
        opt_t.zero_grad()
        loss = ((theirs(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean()
        loss.backward()
        return loss

    def closure_o():
        opt_o.zero_grad()
        loss = ((ours(tr.Tensor(x)) - tr.Tensor(y)) ** 2).mean()
        loss.backward()
        return loss
    return closure_t, closure_o


def run(kwargs, dtype="float64", steps=3, unused=False):
    theirs, ours, params_t, params_o = models(dtype, unused)
    opt_t, opt_o = torch.optim.LBFGS(params_t, **kwargs), tr.optim.LBFGS(params_o, **kwargs)
    closure_t, closure_o = closures(theirs, ours, opt_t, opt_o, dtype)
    trace = []
    for _ in range(steps):
        loss_t, loss_o = opt_t.step(closure_t), opt_o.step(closure_o)
        state_t, state_o = opt_t.state[params_t[0]], opt_o.state[params_o[0]]
        trace.append(((float(loss_t.detach()), state_t["func_evals"], state_t["n_iter"]),
                      (float(loss_o.item()), state_o["func_evals"], state_o["n_iter"])))
    return trace, params_t, params_o


CASES = [dict(), dict(history_size=3), dict(max_iter=7, history_size=2, lr=0.5), dict(max_iter=1),
         dict(line_search_fn="strong_wolfe"), dict(line_search_fn="strong_wolfe", history_size=3, max_iter=9),
         dict(line_search_fn="strong_wolfe", max_eval=8), dict(tolerance_change=1e-4)]


@pytest.mark.parametrize("kwargs", CASES, ids=[str(c) for c in CASES])
def test_each_step_is_torch_s(kwargs):
    trace, params_t, params_o = run(kwargs, unused=True)
    for theirs, ours in trace:
        assert ours[1:] == theirs[1:]   # closure calls and iterations
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-7)
    for p, q in zip(params_t, params_o):
        np.testing.assert_allclose(q._data, p.detach().numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_float32_stays_float32_and_follows_torch(line_search_fn):
    trace, params_t, params_o = run(dict(line_search_fn=line_search_fn, max_iter=5), dtype="float32", steps=2)
    for p, q in zip(params_t, params_o):
        assert q._data.dtype == np.float32
        np.testing.assert_allclose(q._data, p.detach().numpy(), rtol=1e-3, atol=1e-4)
    for theirs, ours in trace:
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4)


def _rosenbrock(lib, xy):
    return (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_the_rosenbrock_valley_as_torch(line_search_fn):
    """torch's own test problem: each step's point is torch's; the line search reaches the minimum (1, 1)."""
    points = []
    for lib in (torch, tr):
        xy = (torch.tensor([-1.5, 1.5], dtype=torch.float64, requires_grad=True) if lib is torch else
              tr.tensor(np.array([-1.5, 1.5]), requires_grad=True))
        opt = lib.optim.LBFGS([xy], lr=1 if line_search_fn else 0.01, line_search_fn=line_search_fn)

        def closure(opt=opt, xy=xy, lib=lib):
            opt.zero_grad()
            loss = _rosenbrock(lib, xy)
            loss.backward()
            return loss
        points.append([np.array(opt.step(closure).item()) for _ in range(5)] + [np.array(xy.tolist())])
    for ours, theirs in zip(points[1], points[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-10)
    if line_search_fn:
        np.testing.assert_allclose(points[1][-1], [1.0, 1.0], atol=1e-4)


def test_a_checkpoint_resumes_exactly_and_torch_s_state_dict_loads():
    kwargs = dict(line_search_fn="strong_wolfe", history_size=4, max_iter=6)
    theirs, ours, params_t, params_o = models("float64")
    opt_t, opt_o = torch.optim.LBFGS(params_t, **kwargs), tr.optim.LBFGS(params_o, **kwargs)
    closure_t, closure_o = closures(theirs, ours, opt_t, opt_o, "float64")
    opt_t.step(closure_t)
    opt_o.step(closure_o)
    saved_o = opt_o.state_dict()
    saved_t = opt_t.state_dict()
    values = [p._data.copy() for p in params_o]
    opt_o.step(closure_o)
    continued = [p._data.copy() for p in params_o]
    for source in (saved_o, _as_numpy(saved_t)):   # ours, and torch's (its tensors made arrays)
        for p, v in zip(params_o, values):
            p._data[...] = v
        fresh = tr.optim.LBFGS(params_o, **kwargs)
        fresh.load_state_dict(source)
        fresh.step(closure_o)
        for p, c in zip(params_o, continued):
            np.testing.assert_allclose(p._data, c, rtol=1e-12, atol=1e-14)


def _as_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, dict):
        return {k: _as_numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_numpy(v) for v in value]
    return value


def test_a_zero_gradient_returns_after_one_evaluation_as_torch():
    for lib in (torch, tr):
        p = lib.zeros(3, dtype=lib.float64, requires_grad=True)
        opt = lib.optim.LBFGS([p])
        calls = []

        def closure(p=p, opt=opt, calls=calls):
            calls.append(1)
            opt.zero_grad()
            loss = (p * 0).sum()
            loss.backward()
            return loss
        opt.step(closure)
        assert len(calls) == 1 and opt.state[p]["func_evals"] == 1 and opt.state[p]["n_iter"] == 0


def test_refusals_as_torch():
    def groups(lib):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(2, requires_grad=True)
        return lib.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    raises_as_torch(lambda: groups(torch), lambda: groups(tr), "parameter groups")
    raises_as_torch(lambda: torch.optim.LBFGS([torch.zeros(2, requires_grad=True)]).step(),
                    lambda: tr.optim.LBFGS([tr.zeros(2, requires_grad=True)]).step(), "closure")
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        tr.optim.LBFGS([tr.zeros(2, requires_grad=True)], line_search_fn="armijo")
    with pytest.raises(ValueError, match="learning rate"):
        tr.optim.LBFGS([tr.zeros(2, requires_grad=True)], lr=-1.0)


# -- torch's arithmetic: its add_(v, alpha=a) is one fused multiply-add (one rounding), in each parameter update and
# in the two-loop recursion; numpy's p + a * v rounds twice (a last-place difference in about a quarter of the
# elements). The dot products and |g|_1 are BLAS's and torch's reductions, summed in an order of their own: those
# stay a last-place difference, so a long float32 run is compared with torch's own sensitivity to one last place.

def _identical_closure(lib, p, fg, dtype):
    """The loss and gradient from numpy in float64 (rounded to the dtype): the same numbers in both libraries, so
    only the optimizer's own arithmetic can differ."""
    def closure():
        f, g = fg(p.detach().numpy().astype(np.float64))
        p.grad = lib.tensor(g.astype(dtype))
        return f
    return closure


def _extended_rosenbrock(x):
    f = np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return f, g


def _lbfgs_run(lib, x0, fg, dtype, **kwargs):
    p = torch.nn.Parameter(torch.tensor(x0)) if lib is torch else tr.nn.Parameter(x0.copy())
    opt = lib.optim.LBFGS([p], tolerance_grad=0, tolerance_change=0, **kwargs)
    opt.step(_identical_closure(lib, p, fg, dtype))
    return p.detach().numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lr", [1, 0.37, 2.5])
def test_an_update_is_torch_s_fused_multiply_add_to_the_last_place(dtype, lr):
    """One iteration: p + t d with t = lr exactly (|g|_1 <= 1, so torch's min(1, 1 / |g|_1) is 1): the parameters
    equal torch's bit for bit."""
    rng = np.random.default_rng(3)
    for n in (1, 7, 33, 200):
        x0 = rng.standard_normal(n).astype(dtype)
        g = rng.standard_normal(n)
        g = g / (np.abs(g).sum() * 1.5)
        fg = lambda x, g=g: (float(x @ g), g)   # noqa: E731
        ours, theirs = (_lbfgs_run(lib, x0, fg, dtype, lr=lr, max_iter=1) for lib in (tr, torch))
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fused_multiply_add_is_torch_s_add_with_alpha(dtype):
    from tinygrad_rnn.optim_lbfgs import _fused_add
    rng = np.random.default_rng(4)
    for n in (3, 16, 1001):
        c, v = rng.standard_normal(n).astype(dtype), (rng.standard_normal(n) * 10.0 ** rng.integers(-8, 8, n))
        v = v.astype(dtype)
        for alpha in (dtype(rng.standard_normal()), -1e-3, 0.1, dtype(7.25e5)):
            expected = torch.from_numpy(c.copy()).add_(torch.from_numpy(v), alpha=float(alpha)).numpy()
            got = _fused_add(c, alpha, v)
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_thirty_float32_iterations_stay_within_torch_s_own_float32_noise(line_search_fn):
    """The extended Rosenbrock function in 10 dims, 30 iterations: ours is no further from torch's than torch is
    from itself started one last place away in one coordinate (its float32 noise); float64 to 1e-10."""
    x0 = np.random.default_rng(1).uniform(-1.5, 1.5, 10)
    kwargs = dict(max_iter=30, max_eval=60, history_size=10, line_search_fn=line_search_fn,
                  lr=1 if line_search_fn else 0.5)
    x32 = x0.astype(np.float32)
    theirs = _lbfgs_run(torch, x32, _extended_rosenbrock, np.float32, **kwargs)
    ours = _lbfgs_run(tr, x32, _extended_rosenbrock, np.float32, **kwargs)
    assert ours.dtype == np.float32
    noise = 0.0
    for i, direction in ((0, 1), (3, -1), (8, 1)):
        nudged = x32.copy()
        nudged[i] = np.nextafter(nudged[i], np.float32(direction * np.inf))
        noise = max(noise, np.abs(_lbfgs_run(torch, nudged, _extended_rosenbrock, np.float32, **kwargs)
                                  - theirs).max())
    assert 0 < noise < 1e-2
    assert np.abs(ours - theirs).max() <= 3 * noise
    theirs64, ours64 = (_lbfgs_run(lib, x0, _extended_rosenbrock, np.float64, **kwargs) for lib in (torch, tr))
    np.testing.assert_allclose(ours64, theirs64, rtol=0, atol=1e-10)
