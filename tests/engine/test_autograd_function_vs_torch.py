"""tr.autograd.Function against torch 2.13's torch.autograd.Function: the same class body (written once,
for either library) gives the same outputs, gradients, ctx fields and errors; gradcheck catches a wrong
backward; and a Function inside a recurrent cell runs on the tape (the compiler refuses it by name)."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.compile import CompileError

RNG = np.random.default_rng(0)


def both():
    torch = pytest.importorskip("torch")
    return (tr, torch)


def tensors(lib, *arrays, requires_grad=True):
    return [lib.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad) for a in arrays]


def numpy_of(t):
    return t.detach().numpy() if hasattr(t, "detach") and not isinstance(t, tr.Tensor) else np.asarray(t.data)


def grad_of(t):
    return None if t.grad is None else (t.grad if isinstance(t, tr.Tensor) else t.grad.numpy())


def scale_and_double(lib):
    """Two outputs, a non-Tensor argument, saved tensors: (x * w * k, 2 x)."""
    class ScaleAndDouble(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k, w):
            ctx.save_for_backward(x, w)
            ctx.k = k
            ctx.seen_needs = ctx.needs_input_grad
            return x * w * k, x * 2

        @staticmethod
        def backward(ctx, g_scaled, g_doubled):
            x, w = ctx.saved_tensors
            return g_scaled * w * ctx.k + g_doubled * 2, None, (g_scaled * x * ctx.k).sum(0)
    return ScaleAndDouble


def split_form(lib):
    """torch 2's form: forward without ctx, setup_context after it; a keyword argument."""
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(x, power=3.0):
            return x ** power

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, power = inputs
            ctx.save_for_backward(x)
            ctx.power = power

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.power * x ** (ctx.power - 1), None
    return Cube


def straight_through(lib):
    class SignST(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return (x > 0).to(x.dtype) * 2 - 1   # a sign: no useful derivative

        @staticmethod
        def backward(ctx, g):
            return g
    return SignST


@pytest.mark.parametrize("w_grad", [True, False])
def test_two_outputs_saved_tensors_and_a_number_argument(w_grad):
    xv, wv = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    results = []
    for lib in both():
        x, = tensors(lib, xv)
        w, = tensors(lib, wv, requires_grad=w_grad)
        a, b = scale_and_double(lib).apply(x, 3.0, w)
        ((a * a).sum() + b.sum()).backward()
        results.append([numpy_of(a), numpy_of(b), grad_of(x), grad_of(w), a.grad_fn.name()])
    ours, theirs = results
    for o, t in zip(ours[:4], theirs[:4]):
        if t is None:
            assert o is None
        else:
            np.testing.assert_allclose(o, t, rtol=1e-12)
    assert ours[4] + "Backward" == theirs[4] == "ScaleAndDoubleBackward"   # torch's names end in Backward


def test_ctx_needs_input_grad_as_torchs():
    seen = []
    for lib in both():
        class Needs(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k, w):
                Needs.seen = tuple(ctx.needs_input_grad)
                return x * 1.0

            @staticmethod
            def backward(ctx, g):
                return g, None, None
        x, = tensors(lib, [1.0, 2.0])
        w, = tensors(lib, [1.0, 2.0], requires_grad=False)
        Needs.apply(x, 2.0, w)
        seen.append(Needs.seen)
    assert seen[0] == seen[1] == (True, False, False)


def test_split_form_with_a_keyword_and_a_second_backward():
    grads = []
    for lib in both():
        x, = tensors(lib, [0.5, -1.5, 2.0])
        y = split_form(lib).apply(x, power=3.0)
        y.sum().backward(retain_graph=True)
        y.sum().backward()
        grads.append(grad_of(x))
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.sum().backward()
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_straight_through_estimator_in_a_small_training_loop():
    """The use that needs a Function: a forward without a useful derivative (a sign) trained through."""
    trajectories = []
    for lib in both():
        w, = tensors(lib, [0.3, -0.7, 1.2])
        target = np.array([2.0, -1.0, 0.0])
        opt = (lib.optim.SGD([w], lr=0.1))
        for _ in range(5):
            opt.zero_grad()
            loss = ((straight_through(lib).apply(w * 3.0) - lib.tensor(target)) ** 2).sum()
            loss.backward()
            opt.step()
        trajectories.append(numpy_of(w))
    np.testing.assert_allclose(trajectories[0], trajectories[1], rtol=1e-12)


def test_mark_non_differentiable_and_materialize_grads():
    seen = []
    for lib in both():
        class SortWithIndex(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                order = x.argsort()
                values = x[order]
                flags = values * 0 + 1
                ctx.mark_non_differentiable(flags)
                ctx.set_materialize_grads(False)
                ctx.save_for_backward(order)
                return values, flags

            @staticmethod
            def backward(ctx, g_values, g_flags):
                (order,) = ctx.saved_tensors
                SortWithIndex.g_flags = g_flags
                grad = g_values * 0
                grad[order] = g_values
                return grad
        x, = tensors(lib, [3.0, 1.0, 2.0])
        if lib is tr:   # item assignment is torch's index_put_, not here: scatter instead
            SortWithIndex.backward = staticmethod(
                lambda ctx, g_values, g_flags: (setattr(SortWithIndex, "g_flags", g_flags),
                                                tr.zeros(3, dtype=np.float64).scatter(0, ctx.saved_tensors[0],
                                                                                       g_values))[1])
        values, flags = SortWithIndex.apply(x)
        (values * lib.tensor(np.array([1.0, 10.0, 100.0]))).sum().backward()
        seen.append((flags.requires_grad, SortWithIndex.g_flags is None, grad_of(x)))
    assert seen[0][:2] == seen[1][:2] == (False, True)
    np.testing.assert_allclose(seen[0][2], seen[1][2])


def test_materialized_gradients_are_zeros():
    seen = []
    for lib in both():
        fn = scale_and_double(lib)
        x, = tensors(lib, RNG.standard_normal((2, 3)))
        w, = tensors(lib, np.ones(3))
        a, _ = fn.apply(x, 2.0, w)
        a.sum().backward()   # no gradient reaches the second output: backward gets zeros there
        seen.append(grad_of(x))
    np.testing.assert_allclose(seen[0], seen[1])


@pytest.mark.parametrize("returned", ["too few", "non-tensor argument"])
def test_wrong_gradients_raise_torchs_errors(returned):
    messages = []
    for lib in both():
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return (g * 2,) if returned == "too few" else (g * 2, g)
        x, = tensors(lib, [1.0, 2.0])
        with pytest.raises(RuntimeError) as error:
            Bad.apply(x, 2.0).sum().backward()
        messages.append(str(error.value))
    assert messages[0] == messages[1]


def test_gradcheck_catches_a_wrong_backward():
    class Good(tr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.tanh()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (1 - x.tanh() ** 2)

    class Wrong(Good):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (1 - x.tanh())   # a bug: the derivative of tanh is 1 - tanh^2

    x = tr.tensor(RNG.standard_normal(5), requires_grad=True)
    assert tr.autograd.gradcheck(Good.apply, [x])
    with pytest.raises(tr.GradcheckError):
        tr.autograd.gradcheck(Wrong.apply, [x])


def test_under_no_grad_nothing_is_recorded():
    for lib in both():
        x, = tensors(lib, [1.0, 2.0])
        with lib.no_grad():
            y = split_form(lib).apply(x)
        assert y.requires_grad is False and y.grad_fn is None


class SoftsignFn(tr.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return z / (1 + z.abs())

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g / (1 + z.abs()) ** 2


class SoftsignCell(tr.nn.RecurrentCell):
    """An Elman cell whose activation is a Function."""
    def __init__(self, input_size, hidden_size, dtype=np.float64):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.cell = tr.nn.RNNCell(input_size, hidden_size, dtype=dtype)

    def forward(self, x, h):
        c = self.cell
        return SoftsignFn.apply(x @ c.weight_ih.T + c.bias_ih + h @ c.weight_hh.T + c.bias_hh)


def test_a_function_in_a_cell_runs_on_the_tape_against_torch():
    torch = pytest.importorskip("torch")
    tr.manual_seed(0)
    with pytest.raises(CompileError, match=r"SoftsignFn, a tr.autograd.Function, used at .*py:\d+ in forward"):
        tr.nn.Recurrent(SoftsignCell, 3, 4, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        layer = tr.nn.Recurrent(SoftsignCell, 3, 4, dtype=np.float64, fused="auto")
    xv = RNG.standard_normal((5, 2, 3))
    x = tr.tensor(xv, requires_grad=True)
    out, _ = layer(x)
    (out ** 2).sum().backward()
    theirs = torch.nn.RNNCell(3, 4, dtype=torch.float64)
    theirs.load_state_dict({k.rsplit(".", 1)[-1]: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
    tx = torch.tensor(xv, requires_grad=True)
    h = torch.zeros(2, 4, dtype=torch.float64)
    outs = []
    for t in range(5):
        z = tx[t] @ theirs.weight_ih.T + theirs.bias_ih + h @ theirs.weight_hh.T + theirs.bias_hh
        h = torch.nn.functional.softsign(z)
        outs.append(h)
    (torch.stack(outs) ** 2).sum().backward()
    np.testing.assert_allclose(out.data, torch.stack(outs).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10)
