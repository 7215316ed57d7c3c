"""tr.autograd.functional.jacobian / vjp / jvp against torch.autograd.functional (torch 2.13): the same function
written once for both libraries, the same inputs; results' structure (Tensor or tuples, nested as torch's),
shapes, dtypes and values; torch's errors for what it refuses; the second-order functions refused in words."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
F_TR = tr.autograd.functional
F_TORCH = torch.autograd.functional


def lib_tensor(lib, array):
    return torch.from_numpy(array.copy()) if lib is torch else tr.tensor(array.copy())


def flatten(result):
    """Nested tuples of tensors as a list of (path, numpy array, dtype name)."""
    if isinstance(result, tuple):
        return [((i,) + path, a, d) for i, r in enumerate(result) for path, a, d in flatten(r)]
    return [((), result.detach().numpy() if hasattr(result, "detach") else result.numpy(),
             str(result.dtype).replace("torch.", ""))]


def same(ours, theirs, rtol=1e-12):
    ours, theirs = flatten(ours), flatten(theirs)
    assert [(p, a.shape, d) for p, a, d in ours] == [(p, a.shape, d) for p, a, d in theirs]
    for (_, a, _), (_, b, _) in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


FUNCTIONS = {   # (function of lib, input arrays: one array = a Tensor input, a tuple = a tuple input)
    "elementwise": (lambda lib: lambda a: a.tanh() * a, np.linspace(-1, 1, 4)),
    "matrix to scalar": (lambda lib: lambda a: (a @ a.T).sum(), np.arange(6.0).reshape(2, 3) / 5),
    "two inputs, two outputs": (lambda lib: lambda a, b: (a.sum() * b, b.exp()), (np.arange(3.0), np.ones(2) / 3)),
    "one-tuple input": (lambda lib: lambda a: a.sigmoid(), (np.arange(3.0),)),
    "tuple output, one input": (lambda lib: lambda a: (a * 2, a.sum()), np.arange(3.0)),
    "output not reached by one input": (lambda lib: lambda a, b: a * 3, (np.arange(2.0), np.ones(3))),
    "constant output": (lambda lib: lambda a: lib.zeros(2, dtype=a.dtype), np.arange(3.0)),
}


def _inputs(lib, arrays, dtype):
    if isinstance(arrays, tuple):
        return tuple(lib_tensor(lib, a.astype(dtype)) for a in arrays)
    return lib_tensor(lib, arrays.astype(dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_jacobian_is_torch_s(name, dtype):
    make, arrays = FUNCTIONS[name]
    results = [F.jacobian(make(lib), _inputs(lib, arrays, dtype)) for F, lib in ((F_TR, tr), (F_TORCH, torch))]
    same(*results, rtol=1e-12 if dtype == "float64" else 1e-6)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_vjp_and_jvp_are_torch_s(name):
    make, arrays = FUNCTIONS[name]
    rng = np.random.default_rng(0)
    for which in ("vjp", "jvp"):
        out = make(torch)(*(_inputs(torch, arrays, "float64") if isinstance(arrays, tuple)
                            else (_inputs(torch, arrays, "float64"),)))
        shapes = [t.shape for t in (out if isinstance(out, tuple) else (out,))] if which == "vjp" else \
            [np.shape(a) for a in (arrays if isinstance(arrays, tuple) else (arrays,))]
        draws = [rng.standard_normal(tuple(s)) for s in shapes]
        tuple_v = isinstance(out, tuple) if which == "vjp" else isinstance(arrays, tuple)
        results = []
        for F, lib in ((F_TR, tr), (F_TORCH, torch)):
            v = tuple(lib_tensor(lib, d) for d in draws) if tuple_v else lib_tensor(lib, draws[0])
            results.append(getattr(F, which)(make(lib), _inputs(lib, arrays, "float64"), v))
        same(*results)


def test_the_jacobian_of_an_unrolled_rnn_cell_is_torch_s():
    """What the gradient-flow page looks at: dh_T/dh_0 of an Elman cell run for T steps, torch's weights."""
    torch.manual_seed(0)
    theirs = torch.nn.RNNCell(3, 5).double()
    ours = tr.nn.RNNCell(3, 5, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    xs = np.random.default_rng(1).standard_normal((8, 3))

    def unrolled(lib, cell):
        def run(h):
            for x in xs:
                h = cell(lib_tensor(lib, x), h)
            return h
        return run
    h0 = np.random.default_rng(2).standard_normal(5)
    same(F_TR.jacobian(unrolled(tr, ours), tr.tensor(h0)), F_TORCH.jacobian(unrolled(torch, theirs),
                                                                            torch.from_numpy(h0)))


def test_inputs_and_their_grads_are_left_as_they_were():
    x = tr.tensor(np.arange(3.0), requires_grad=True)
    x.grad = tr.from_numpy(np.ones(3))
    jac = F_TR.jacobian(lambda a: a * a, x)
    np.testing.assert_array_equal(np.asarray(x.grad), np.ones(3))
    assert not jac.requires_grad and x.requires_grad


REFUSED = {
    "strict, output without a gradient": lambda F, lib: F.jacobian(lambda a: a.detach(), lib.ones(2), strict=True),
    "strict, an input not reached": lambda F, lib: F.jacobian(lambda a, b: a * 2, (lib.ones(2), lib.ones(2)),
                                                              strict=True),
    "a list of inputs": lambda F, lib: F.jacobian(lambda a: a, [lib.ones(2)]),
    "a number input": lambda F, lib: F.jacobian(lambda a: a, 3.0),
    "a number output": lambda F, lib: F.jacobian(lambda a: 3.0, lib.ones(2)),
    "forward-mode without vectorize": lambda F, lib: F.jacobian(lambda a: a, lib.ones(2), strategy="forward-mode"),
    "vjp without v, several elements": lambda F, lib: F.vjp(lambda a: a * 2, lib.ones(3)),
    "vjp, v of another size": lambda F, lib: F.vjp(lambda a: a * 2, lib.ones(3), lib.ones(2)),
    "jvp without v, several elements": lambda F, lib: F.jvp(lambda a: a * 2, lib.ones(3)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    call = REFUSED[name]
    raises_as_torch(lambda: call(F_TORCH, torch), lambda: call(F_TR, tr))


def test_second_order_and_create_graph_are_refused_in_words():
    for fn in ("hessian", "hvp", "vhp"):
        with pytest.raises(NotImplementedError, match="second derivatives"):
            getattr(F_TR, fn)(lambda a: (a * a).sum(), tr.ones(2), tr.ones(2))
    with pytest.raises(Exception, match="create_graph"):
        F_TR.jacobian(lambda a: a * a, tr.ones(2), create_graph=True)


def test_the_module_imports_as_torch_s():
    from tinygrad_rnn.autograd.functional import jacobian
    assert jacobian is tr.autograd.functional.jacobian
