"""`x.grad` is a Tensor, as torch's, on the gradients of a real model (an LSTM and a Linear, torch's weights in
both): torch habits on p.grad give torch's answers (p.grad was a numpy array: std() and var() were numpy's ddof=0,
`values, idx = p.grad.max(0)` unpacked rows, repeat() repeated elements, sort() sorted in place and returned None);
in-place changes to p.grad are what the optimizer's next step uses; `p.grad is p.grad`, also across backward calls,
zero_grad(set_to_none=False) and clipping; assigning .grad is checked as torch checks it. float32 and float64."""
import copy

import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


class _Model:
    """An LSTM and a Linear of one library (tr or torch), its parameters by name, a loss of a fixed batch."""

    def __init__(self, lib, dtype, state=None):
        self.lib = lib
        if lib is torch:
            torch.manual_seed(0)
            self.lstm = torch.nn.LSTM(3, 5, batch_first=True).to(TORCH_DTYPE[dtype])
            self.head = torch.nn.Linear(5, 2).to(TORCH_DTYPE[dtype])
        else:
            self.lstm = tr.nn.LSTM(3, 5, batch_first=True, dtype=dtype)
            self.head = tr.nn.Linear(5, 2, dtype=dtype)
            for module, prefix in ((self.lstm, "lstm."), (self.head, "head.")):
                module.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
        self.params = dict([("lstm." + k, p) for k, p in self.lstm.named_parameters()]
                           + [("head." + k, p) for k, p in self.head.named_parameters()])
        self.x = np.random.default_rng(1).standard_normal((2, 4, 3)).astype(dtype)

    def loss(self):
        x = torch.from_numpy(self.x) if self.lib is torch else tr.tensor(self.x)
        out, _ = self.lstm(x)
        return (self.head(out) ** 2).sum()

    def backward(self):
        self.loss().backward()
        return self


def _pair(dtype):
    """torch's model and ours holding its weights, each after one backward."""
    theirs = _Model(torch, dtype)
    state = {k: p.detach().numpy().copy() for k, p in theirs.params.items()}
    return theirs.backward(), _Model(tr, dtype, state).backward()


def _np(x):
    """A result of either library as numpy (tuples and numbers too), to compare."""
    if isinstance(x, tuple):
        return tuple(_np(v) for v in x)
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, tr.Tensor):
        return x.numpy()
    return x


def _assert_same(ours, theirs, dtype):
    assert type(_np(ours)) is type(_np(theirs))
    if isinstance(ours, tuple):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _assert_same(o, t, dtype)
        return
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=rtol, atol=rtol * 1e-2)
    if isinstance(theirs, torch.Tensor):
        assert _np(ours).dtype == _np(theirs).dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_grad_is_a_tensor_of_the_parameters_dtype_and_shape(dtype):
    theirs, ours = _pair(dtype)
    for name, p in ours.params.items():
        g, t = p.grad, theirs.params[name].grad
        assert isinstance(g, tr.Tensor) and isinstance(t, torch.Tensor)
        assert g.requires_grad is t.requires_grad is False
        assert g.grad_fn is None and t.grad_fn is None
        assert g.dtype == p.dtype and tuple(g.shape) == tuple(t.shape) == p.shape
        assert (p.grad is p.grad) and (theirs.params[name].grad is theirs.params[name].grad)
        _assert_same(g, t, dtype)


HABITS = {   # name: g -> the result a torch user reads (those that gave another answer on a numpy array first)
    "std": lambda g: g.std(),   # numpy: ddof=0
    "var": lambda g: g.var(),
    "std(0)": lambda g: g.std(0),
    "var(dim=0)": lambda g: g.var(dim=0),
    "max(0) unpacked": lambda g: tuple(g.max(0)),   # numpy: the rows of an array
    "min(dim=-1)": lambda g: tuple(g.min(dim=-1)),
    "repeat(2, 1)": lambda g: g.repeat(2, 1) if g.ndim == 2 else g.repeat(2),   # numpy: each element repeated
    "sort()": lambda g: tuple(g.sort()),   # numpy: sorted in place, None returned
    "norm()": lambda g: g.norm(),
    "clone()": lambda g: g.clone(),
    "numpy()": lambda g: g.numpy(),
    "size(0)": lambda g: g.size(0),
    "view(-1)": lambda g: g.view(-1),
    "abs().max()": lambda g: g.abs().max(),
    "mean()": lambda g: g.mean(),
    "flatten()": lambda g: g.flatten(),
    "argmax()": lambda g: g.argmax(),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("habit", list(HABITS))
def test_torch_habits_on_grads_give_torchs_answers(habit, dtype):
    theirs, ours = _pair(dtype)
    for name, p in ours.params.items():
        assert isinstance(p.grad, tr.Tensor)   # (flatten() and others gave the same numbers on a numpy array)
        _assert_same(HABITS[habit](p.grad), HABITS[habit](theirs.params[name].grad), dtype)


def _scale_data(g):
    g.data *= 2   # ours: the numpy array the gradient is; torch: the tensor's detached alias


def _rebind_data(g):
    g.data = g.data / 2   # (old torch code's spelling: the gradient takes the new array)


def _add_to_last_row(g):
    g[-1] += 1


EDITS = {   # name: an in-place change of a gradient, written the same in both libraries
    "zero_()": lambda g: g.zero_(),
    "mul_(0.5)": lambda g: g.mul_(0.5),
    "clamp_(-0.5, 0.5)": lambda g: g.clamp_(-0.5, 0.5),
    "add_(1.0)": lambda g: g.add_(1.0),
    "g /= 4": lambda g: g.__itruediv__(4),
    "g.data *= 2": _scale_data,
    "g.data = g.data / 2": _rebind_data,
    "fill_(0.25)": lambda g: g.fill_(0.25),
    "g[0].zero_()": lambda g: g[0].zero_(),   # (g[0] = 0, torch's index_put_, is not implemented here: a TypeError)
    "g[-1] += 1": _add_to_last_row,
}


def _optimizer(lib, kind, params):
    optim = torch.optim if lib is torch else tr.optim
    return optim.Adam(params, lr=0.01) if kind == "Adam" else optim.SGD(params, lr=0.1, momentum=0.9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["Adam", "SGD"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_in_place_changes_to_grad_are_what_the_optimizer_uses(edit, kind, dtype):
    theirs, ours = _pair(dtype)
    opts = [_optimizer(m.lib, kind, list(m.params.values())) for m in (theirs, ours)]
    for model in (theirs, ours):
        for p in model.params.values():
            assert isinstance(p.grad, torch.Tensor if model.lib is torch else tr.Tensor)
            EDITS[edit](p.grad)
    for _ in range(2):   # a second step: the momentum and moments kept from the edited gradient
        for opt in opts:
            opt.step()
    for name, p in ours.params.items():
        _assert_same(p, theirs.params[name], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_grad_object_stays_across_backward_calls_as_torchs(dtype):
    theirs, ours = _pair(dtype)
    held = {m.lib: {k: p.grad for k, p in m.params.items()} for m in (theirs, ours)}
    theirs.backward(), ours.backward()               # accumulated in place into the same object
    ours.loss().backward(inputs=[ours.params["head.weight"]])
    theirs.loss().backward(inputs=[theirs.params["head.weight"]])
    for name, p in ours.params.items():
        t = theirs.params[name]
        assert (held[torch][name] is t.grad) and (held[tr][name] is p.grad)
        _assert_same(held[tr][name], held[torch][name], dtype)   # a held grad sees the sums


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("where", ["module", "optimizer"])
def test_zero_grad_keeps_the_object_or_drops_it_as_torchs(where, dtype):
    theirs, ours = _pair(dtype)
    for set_to_none in (False, True):
        held = {}
        for model in (theirs, ours):
            held[model.lib] = {k: p.grad for k, p in model.params.items()}
            target = model.lstm if where == "module" else _optimizer(model.lib, "SGD", model.lstm.parameters())
            target.zero_grad(set_to_none=set_to_none)
        for name, p in ours.params.items():
            t, kept = theirs.params[name], name.startswith("lstm.") and not set_to_none
            assert (held[torch][name] is t.grad) is (held[tr][name] is p.grad) is (name.startswith("head.") or kept)
            _assert_same(held[tr][name], held[torch][name], dtype)   # zeros, or the old values
        for model in (theirs, ours):
            model.backward()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("clip", ["clip_grad_norm_", "clip_grad_value_"])
def test_clipping_writes_the_grad_in_place_as_torch(clip, dtype):
    theirs, ours = _pair(dtype)
    for model in (theirs, ours):
        held = {k: p.grad for k, p in model.params.items()}
        utils = torch.nn.utils if model.lib is torch else tr.nn.utils
        getattr(utils, clip)(list(model.params.values()), 0.5)
        assert all(held[k] is p.grad for k, p in model.params.items())
    for name, p in ours.params.items():
        _assert_same(p.grad, theirs.params[name].grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_assigning_a_tensor_shares_it_as_torch(dtype):
    theirs, ours = _pair(dtype)
    for model in (theirs, ours):
        lib = model.lib
        for p in model.params.values():
            g = lib.ones(tuple(p.shape), dtype=p.dtype)
            p.grad = g
            assert p.grad is g
            g.mul_(0.5)   # seen by the step through the shared memory
        _optimizer(lib, "SGD", list(model.params.values())).step()
        model.params["head.bias"].grad = None
        assert model.params["head.bias"].grad is None
    for name, p in ours.params.items():
        _assert_same(p, theirs.params[name], dtype)


WRONG = {   # name: (what is assigned to w.grad of a (2, 5) weight; dtype is the weight's, other its other float)
    "a wrong shape": lambda lib, dtype, other: lib.zeros(5, 2, dtype=dtype),
    "a 0-d tensor": lambda lib, dtype, other: lib.zeros((), dtype=dtype),
    "the other float dtype": lambda lib, dtype, other: lib.zeros(2, 5, dtype=other),
    "an int64 tensor": lambda lib, dtype, other: lib.zeros(2, 5, dtype=lib.int64),
    "a numpy array": lambda lib, dtype, other: np.zeros((2, 5), np.dtype(str(dtype).split(".")[-1])),
    "a list": lambda lib, dtype, other: [[0.0] * 5] * 2,
    "a float": lambda lib, dtype, other: 0.0,
}
WORDS = {"a wrong shape": "gradient of size", "a 0-d tensor": "gradient of size",
         "the other float dtype": "gradient with dtype", "an int64 tensor": "gradient with dtype"}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(WRONG))
def test_a_wrong_grad_is_refused_at_the_assignment_as_torch(case, dtype):
    theirs, ours = _pair(dtype)
    names = {np.float32: ("float32", "float64"), np.float64: ("float64", "float32")}[dtype]

    def assign(model):
        lib = model.lib
        p = model.params["head.weight"]
        p.grad = WRONG[case](lib, *(getattr(lib, n) for n in names))

    before = ours.params["head.weight"].grad
    raises_as_torch(lambda: assign(theirs), lambda: assign(ours),
                    WORDS.get(case, "assigned grad expected to be a Tensor or None"))
    assert ours.params["head.weight"].grad is before   # unchanged


@pytest.mark.parametrize("dtype", DTYPES)
def test_hooks_and_retained_grads_are_tensors_as_torchs(dtype):
    seen = {}
    for lib in (torch, tr):
        x = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3).astype(dtype), requires_grad=True)
        h = x * x
        h.retain_grad()
        x.register_hook(lambda g, lib=lib: seen.setdefault(lib, g.clone()))
        (h * 3).sum().backward()
        assert all(isinstance(g, torch.Tensor if lib is torch else tr.Tensor) for g in (h.grad, x.grad, seen[lib]))
        seen[lib] = (x.grad, h.grad, seen[lib], x.grad.std(), h.grad.var(0))
    _assert_same(seen[tr], seen[torch], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_copy_has_its_own_grad_tensor(dtype):
    """copy.deepcopy of a leaf copies its .grad, as torch's (a Parameter's copy and a pickle leave it behind, as
    torch's: tests/engine/test_copy_and_pickle_grad_vs_torch.py); the copy's gradient is a Tensor of its own
    memory."""
    for lib in (torch, tr):
        x = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3).astype(dtype), requires_grad=True)
        (x * x).sum().backward()
        q = copy.deepcopy(x)
        assert isinstance(q.grad, type(x)) and q.grad is q.grad
        np.testing.assert_array_equal(_np(q.grad), _np(x.grad))
        q.grad.zero_()   # its own memory
        assert float(x.grad.sum()) == 42.0
