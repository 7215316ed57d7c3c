"""Session 21's audit of tr.Tensor against torch 2.13: each test runs the same call in both libraries
(lib = tr, lib = torch) and compares values, dtypes, gradients and, for bad input, the error's type.
Skipped without torch."""
import numpy as np
import pytest
from conftest import outcome

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy warns of nan and inf, torch does not


def same_outcome(call):
    ours, theirs = outcome(lambda: call(tr)), outcome(lambda: call(torch))
    if isinstance(theirs, type):
        assert isinstance(ours, type) and issubclass(ours, theirs), f"torch raised {theirs.__name__}, we {ours}"
    else:
        assert not isinstance(ours, type), f"torch returned {theirs}, tinygrad_rnn raised {ours.__name__}"
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
        assert ours[1] == theirs[1]


# ----------------------------------------------------------------------------- a dim out of range
DIM_CALLS = {
    "sum": lambda lib, x, d: x.sum(d), "mean": lambda lib, x, d: x.mean(d), "prod": lambda lib, x, d: x.prod(d),
    "amax": lambda lib, x, d: x.amax(d), "max": lambda lib, x, d: x.max(d)[0], "argmax": lambda lib, x, d: x.argmax(d),
    "var": lambda lib, x, d: x.var(d), "std": lambda lib, x, d: x.std(d), "norm": lambda lib, x, d: x.norm(dim=d),
    "logsumexp": lambda lib, x, d: x.logsumexp(d), "any": lambda lib, x, d: (x > 0).any(d),
    "softmax": lambda lib, x, d: x.softmax(d), "log_softmax": lambda lib, x, d: x.log_softmax(d),
    "cumsum": lambda lib, x, d: x.cumsum(d), "sort": lambda lib, x, d: x.sort(d)[0],
    "argsort": lambda lib, x, d: x.argsort(d), "topk": lambda lib, x, d: x.topk(1, d)[0],
    "cat": lambda lib, x, d: lib.cat([x, x], d), "stack": lambda lib, x, d: lib.stack([x, x], d + 1),
    "squeeze": lambda lib, x, d: x.squeeze(d), "unsqueeze": lambda lib, x, d: x.unsqueeze(d + 1),
    "transpose": lambda lib, x, d: x.transpose(0, d), "permute": lambda lib, x, d: x.permute(d, 0),
    "flatten": lambda lib, x, d: x.flatten(0, d), "flip": lambda lib, x, d: x.flip(d),
    "split": lambda lib, x, d: x.split(1, d)[0], "chunk": lambda lib, x, d: x.chunk(2, d)[0],
    "unbind": lambda lib, x, d: x.unbind(d)[0], "size": lambda lib, x, d: np.asarray(x.size(d)),
    "gather": lambda lib, x, d: x.gather(d, lib.tensor([[0]])),
    "scatter": lambda lib, x, d: x.scatter(d, lib.tensor([[0]]), 1.0),
}


@pytest.mark.parametrize("name", sorted(DIM_CALLS))
@pytest.mark.parametrize("d", [2, -3, 5, 1, -2])
def test_a_dim_out_of_range_is_an_index_error_as_torch(name, d):
    """torch raises IndexError ("Dimension out of range") for a dim outside [-ndim, ndim); here it was a
    ValueError. In-range dims (1, -2) must give torch's values."""
    same_outcome(lambda lib: DIM_CALLS[name](lib, lib.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]), d))


def test_a_zero_dim_tensor_takes_dims_0_and_minus_1_only():
    for d in (0, -1, 1, -2):
        same_outcome(lambda lib, d=d: lib.tensor(2.0).sum(d))
        same_outcome(lambda lib, d=d: lib.tensor(2.0).unsqueeze(d))


@pytest.mark.parametrize("dims", [(0, 0), (0,), (0, 1, 2), (1, 0)])
def test_permute_refuses_what_torch_refuses_with_its_type(dims):
    same_outcome(lambda lib: lib.tensor([[1.0, 2.0, 3.0]]).permute(*dims))


# ----------------------------------------------------------------------------- // and %
INTS = [-7, -6, -1, 0, 1, 5, 6]
FLOATS = [-7.5, -6.0, -2.0, -0.0, 0.0, 0.5, 3.25, 6.0, float("inf"), float("nan")]
DIVISION_OPERANDS = [
    ("int, int", lambda lib: (lib.tensor(INTS).reshape(-1, 1), lib.tensor([-3, -2, 2, 3]))),
    ("float, float", lambda lib: (lib.tensor(FLOATS).reshape(-1, 1), lib.tensor([-2.0, -0.5, 0.0, 1.5, float("inf")]))),
    ("float64, float64", lambda lib: (lib.tensor(FLOATS, dtype=lib.float64).reshape(-1, 1),
                                      lib.tensor([-2.0, 0.75, -0.0], dtype=lib.float64))),
    ("int, float", lambda lib: (lib.tensor(INTS).reshape(-1, 1), lib.tensor([-2.5, 2.0]))),
    ("float, int", lambda lib: (lib.tensor(FLOATS).reshape(-1, 1), lib.tensor([-3, 2]))),
    ("int, number", lambda lib: (lib.tensor(INTS), -4)),
    ("int, float number", lambda lib: (lib.tensor(INTS), 2.5)),
    ("float, number", lambda lib: (lib.tensor(FLOATS), -2)),
    ("mask, number", lambda lib: (lib.tensor([True, False]), 3)),
    ("float, mask", lambda lib: (lib.tensor([-1.5, 2.0]), lib.tensor([True, True]))),
]


@pytest.mark.parametrize("op", ["//", "%", "floor_divide", "remainder"])
@pytest.mark.parametrize("operands", [o[1] for o in DIVISION_OPERANDS], ids=[o[0] for o in DIVISION_OPERANDS])
def test_floor_division_and_remainder_round_toward_minus_infinity_as_torch(op, operands):
    """torch's // and % round toward minus infinity (-7 // 2 is -4, -7 % 2 is 1, the remainder takes the divisor's
    sign, -0.0 % 2 is -0.0); ints stay int64, a float operand makes floats. They were missing (TypeError)."""
    def run(lib, reflected):
        a, b = operands(lib)
        if reflected:
            a, b = b, a
        if op in ("//", "floor_divide"):
            return a // b if (op == "//" or not hasattr(a, op)) else a.floor_divide(b)
        return a % b if (op == "%" or not hasattr(a, op)) else a.remainder(b)
    for reflected in (False, True):
        ours = outcome(lambda r=reflected: run(tr, r))
        theirs = outcome(lambda r=reflected: run(torch, r))
        if isinstance(theirs, type):
            assert isinstance(ours, type) and issubclass(ours, theirs)
            continue
        np.testing.assert_array_equal(ours[0], theirs[0])
        np.testing.assert_array_equal(np.signbit(ours[0]), np.signbit(theirs[0]))   # -0.0 where torch has it
        assert ours[1] == theirs[1]


def test_integer_division_by_zero_and_two_masks_are_refused_as_torch():
    for call in (lambda lib: lib.tensor([5, -5]) // 0, lambda lib: lib.tensor([5, -5]) % lib.tensor([1, 0]),
                 lambda lib: 7 % lib.tensor([0]), lambda lib: lib.tensor([True]) // lib.tensor([True]),
                 lambda lib: lib.tensor([True]) % lib.tensor([True])):
        same_outcome(call)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_remainders_gradient_is_torchs_and_floor_divide_has_none(dtype):
    """d(a % b)/da = 1 and d/db = -(a // b), torch's formula (checked at a zero divisor too); a backward through
    // is refused, as torch has no derivative for floor_divide."""
    a_np = np.array([[-7.5, 5.0, 3.0, -0.25], [1.0, -2.0, 0.0, 9.0]], dtype=dtype)
    b_np = np.array([2.0, -2.0, 0.0, 0.75], dtype=dtype)
    grads = []
    for lib in (tr, torch):
        a = lib.tensor(a_np, requires_grad=True)
        b = lib.tensor(b_np, requires_grad=True)
        out = a % b
        out.backward(lib.tensor(np.arange(8.0, dtype=dtype).reshape(2, 4)) if lib is torch
                     else np.arange(8.0, dtype=dtype).reshape(2, 4))
        grads.append((out.detach().numpy(), np.asarray(a.grad), np.asarray(b.grad)))
        with pytest.raises(RuntimeError, match="derivative for .*floor_divide.* is not implemented"):
            (a // b).sum().backward()
    for ours, theirs in zip(*grads):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype


# ----------------------------------------------------------------------------- in-place operators
def updated(start, steps):
    """A function of lib applying the in-place operators `steps` [(symbol, operand of lib)] to tensor(start)."""
    def run(lib):
        x = lib.tensor(start)
        for symbol, operand in steps:
            y = operand(lib)
            if symbol == "+=":
                x += y
            elif symbol == "-=":
                x -= y
            elif symbol == "*=":
                x *= y
            elif symbol == "/=":
                x /= y
            elif symbol == "//=":
                x //= y
            else:
                x %= y
        return x
    return run


IN_PLACE = {
    "int64 += -= *= //= %= ints": updated([5, -7, 0], [("+=", lambda lib: 3),
                                                        ("*=", lambda lib: lib.tensor([2, -1, 4])),
                                                        ("-=", lambda lib: 1), ("//=", lambda lib: 2),
                                                        ("%=", lambda lib: -3)]),
    "int64 += a mask": updated([1, 2], [("+=", lambda lib: lib.tensor([True, False]))]),
    "int64 += a float number": updated([1, 2], [("+=", lambda lib: 1.5)]),
    "int64 *= a float tensor": updated([1, 2], [("*=", lambda lib: lib.tensor(2.0))]),
    "int64 /= an int": updated([4, 2], [("/=", lambda lib: 2)]),
    "mask += 1": updated([True, False], [("+=", lambda lib: 1)]),
    "mask *= a mask": updated([True, False], [("*=", lambda lib: lib.tensor([True, True]))]),
    "float //= and %=": updated([5.5, -7.0], [("//=", lambda lib: 2), ("%=", lambda lib: -3.0)]),
    "float += ints": updated([1.5, 2.0], [("+=", lambda lib: lib.tensor([1, 2]))]),
    "a broadcast that changes the shape": updated([5, 7], [("-=", lambda lib: lib.tensor([[1], [2]]))]),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_operators_keep_the_dtype_as_torch(name):
    """+=, -=, *=, //=, %= on int64 tensors work as torch's (they were refused: "needs a float tensor"); a result
    of another dtype (int += 1.5, int /= 2, mask += 1) or shape is a RuntimeError, as torch's."""
    same_outcome(IN_PLACE[name])


def test_in_place_on_a_leaf_that_requires_grad_is_refused_in_torchs_words():
    for lib in (tr, torch):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            x += 1
        with lib.no_grad():
            x *= 3
        assert x.requires_grad and x.is_leaf and x.tolist() == [3.0, 3.0]


# ----------------------------------------------------------------------------- unflatten, pad_sequence, tr.nn
@pytest.mark.parametrize("dim, sizes", [(1, (2, 3)), (1, (2, -1)), (-1, (3, 2)), (0, (1, 2)), (-2, (-1,)),
                                        (1, (4, 2)), (2, (2, 3)), (1, ()), (1, (-1, -1)), (1, 6), (1.0, (2, 3))])
def test_unflatten_as_torch(dim, sizes):
    """x.unflatten(dim, sizes) was missing (AttributeError); bad sizes and dims raise torch's types."""
    same_outcome(lambda lib: lib.tensor(np.arange(12.0).reshape(2, 6)).unflatten(dim, sizes))


def test_unflatten_passes_the_gradient_back():
    x = tr.tensor(np.arange(12.0).reshape(2, 6), requires_grad=True)
    w = np.linspace(-1.0, 1.0, 12).reshape(2, 2, 3)
    (x.unflatten(1, (2, 3)) * tr.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad, w.reshape(2, 6))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("values, padding_value", [(([1, 2, 3], [4]), 0), (([1, 2], [3]), -1.5),
                                                   (([True], [True, False]), 0.0), (([0.5, 2.0], [1.0]), 9.0)])
def test_pad_sequence_keeps_int_and_bool_dtypes_as_torch(values, padding_value, batch_first):
    """pad_sequence of int64 sequences (token ids) refused the mix of int64 and its float32 padding; torch keeps
    the sequences' dtype (int64 padding truncated toward zero, a mask's padding False)."""
    same_outcome(lambda lib: lib.nn.utils.rnn.pad_sequence([lib.tensor(v) for v in values], batch_first=batch_first,
                                                           padding_value=padding_value))


def test_state_dict_error_is_at_tr_nn():
    """load_state_dict's StateDictError lived in tr.nn.module only; it is where users look for it."""
    model = tr.nn.Linear(2, 3)
    with pytest.raises(tr.nn.StateDictError):
        model.load_state_dict({"weight": np.zeros((3, 2), np.float32)})
    assert "StateDictError" in tr.nn.__all__


# ----------------------------------------------------------------------------- detach_, grad_fn
def detach_in_place(make):
    def run(lib):
        return make(lib).detach_()
    return run


DETACH_CASES = {
    "a leaf": lambda lib: lib.ones(2, 3),
    "a result": lambda lib: lib.ones(2, 3, requires_grad=True) * 2,
    "a row of a leaf": lambda lib: lib.ones(2, 3)[0],
    "a row of a leaf that requires grad": lambda lib: lib.ones(2, 3, requires_grad=True)[0],
    "a row of a result": lambda lib: (lib.ones(2, 3, requires_grad=True) * 2)[0],
    "a transpose": lambda lib: lib.ones(2, 3, requires_grad=True).T,
    "a reshape": lambda lib: lib.ones(2, 3, requires_grad=True).reshape(6),
    "a split piece": lambda lib: lib.ones(2, 3, requires_grad=True).split(1)[0],
    "rows picked by an index tensor": lambda lib: lib.ones(2, 3, requires_grad=True)[lib.tensor([0])],
    "a detached row": lambda lib: lib.ones(2, 3)[0].detach(),
    "a sum": lambda lib: lib.ones(2, 3, requires_grad=True).sum(0),
}


@pytest.mark.parametrize("name", sorted(DETACH_CASES))
def test_detach_in_place_refuses_views_as_torch(name):
    """torch refuses detach_() on a view (it shares its base's storage); it was accepted here."""
    same_outcome(detach_in_place(DETACH_CASES[name]))


def test_grad_fn_name_is_a_method_and_next_functions_walks_as_torchs():
    """grad_fn.name() is a method in torch (it was a property here); next_functions lists per input the Node and
    output slot, an AccumulateGrad whose .variable is the leaf, or (None, 0), as torch's."""
    graphs = []
    for lib in (tr, torch):
        x = lib.ones(2, requires_grad=True)
        y = (x * lib.ones(2) + x).sum()
        add = y.grad_fn.next_functions[0][0]
        mul, leaf = add.next_functions[0][0], add.next_functions[1][0]
        assert leaf.variable is x and leaf.name() == "torch::autograd::AccumulateGrad"
        assert mul.next_functions[1] == (None, 0) and mul.next_functions[0][0].variable is x
        graphs.append([f.name().replace("Backward0", "") for f in (y.grad_fn, add, mul)])
    assert graphs[0] == graphs[1] == ["Sum", "Add", "Mul"]


# ----------------------------------------------------------------------------- methods a torch user reaches for
X = [[1.0, -2.0, 3.0], [0.0, 5.0, -6.0]]


def with_copy(method):
    def run(lib):
        return method(lib, lib.tensor(X))
    return run


METHODS = {
    "zero_": lambda lib, x: x.zero_(),
    "fill_ float": lambda lib, x: x.fill_(2.5),
    "fill_ 0-d tensor": lambda lib, x: x.fill_(lib.tensor(-1.0)),
    "fill_ int64 with a float": lambda lib, x: lib.tensor([1, -2]).fill_(-1.5),
    "fill_ a mask": lambda lib, x: (x > 0).fill_(1),
    "clamp_": lambda lib, x: x.clamp_(-1.0, 2.0),
    "clamp_ min only": lambda lib, x: x.clamp_(min=0.5),
    "clamp_ int64": lambda lib, x: lib.tensor([1, -5, 9]).clamp_(-2, 3),
    "new_zeros": lambda lib, x: x.new_zeros(2, 1),
    "new_zeros a tuple, int64": lambda lib, x: x.new_zeros((3,), dtype=lib.int64),
    "new_ones of float64": lambda lib, x: x.double().new_ones(2),
    "new_full": lambda lib, x: x.new_full((2, 2), 7.0),
    "new_full of ints": lambda lib, x: lib.tensor([1]).new_full((2,), 3),
    "new_tensor": lambda lib, x: x.new_tensor([1, 2]),
    "expand_as": lambda lib, x: x[:1].expand_as(x),
    "expand_as a bad shape": lambda lib, x: x.expand_as(lib.ones(3, 3)),
    "view_as": lambda lib, x: x.view_as(lib.ones(3, 2)),
    "reshape_as": lambda lib, x: x.reshape_as(lib.ones(6)),
    "masked_select": lambda lib, x: x.masked_select(x > 0),
    "masked_select broadcast": lambda lib, x: x.masked_select(lib.tensor([True, False, True])),
    "masked_select a float mask": lambda lib, x: x.masked_select(x),
    "nonzero": lambda lib, x: x.nonzero(),
    "nonzero 1-D": lambda lib, x: x[0].nonzero(),
    "nonzero as_tuple": lambda lib, x: lib.stack(x.nonzero(as_tuple=True)),
    "nonzero of 0-d": lambda lib, x: lib.tensor(3.0).nonzero(),
    "allclose": lambda lib, x: np.asarray(x.allclose(x + 1e-7)),
    "allclose far": lambda lib, x: np.asarray(x.allclose(x + 1e-3)),
    "allclose float64": lambda lib, x: np.asarray(x.allclose(x.double())),
    "any keepdim": lambda lib, x: (x > 0).any(-1, keepdim=True),
    "all dim": lambda lib, x: (x > 0).all(0),
    "argmax keepdim": lambda lib, x: x.argmax(-1, keepdim=True),
    "argmin keepdim": lambda lib, x: x.argmin(dim=-2, keepdim=True),
    "split sizes": lambda lib, x: x.split([1, 2], -1)[1],
    "split sizes too few": lambda lib, x: x.split([1, 1], -1)[1],
    "split size 0": lambda lib, x: x.split(0, -1)[0],
    "expand a 2-D tensor to 1-D": lambda lib, x: x.expand(3),
    "chunk negative dim": lambda lib, x: x.chunk(2, -1)[1],
    "norm negative dim": lambda lib, x: x.norm(dim=-1, keepdim=True),
    "type_as": lambda lib, x: lib.tensor([1, 2]).type_as(x),
    "add": lambda lib, x: x.add(x[0]), "add alpha": lambda lib, x: x.add(x, alpha=-2.0),
    "sub alpha": lambda lib, x: x.sub(1.5, alpha=2), "mul": lambda lib, x: x.mul(x),
    "div": lambda lib, x: x.div(2.0), "div floor": lambda lib, x: x.div(-4.0, rounding_mode="floor"),
    "div floor of ints": lambda lib, x: lib.tensor([-7, 7]).div(2, rounding_mode="floor"),
    "matmul": lambda lib, x: x.matmul(x.T), "neg": lambda lib, x: x.neg(),
    "eq": lambda lib, x: x.eq(0.0), "ne": lambda lib, x: x.ne(x[0]), "lt": lambda lib, x: x.lt(1.0),
    "le": lambda lib, x: x.le(x[:, :1]), "gt": lambda lib, x: x.gt(0), "ge": lambda lib, x: x.ge(-2.0),
    "logical_and": lambda lib, x: (x > 0).logical_and(x < 4), "logical_or": lambda lib, x: (x > 4).logical_or(x < -1),
    "isnan": lambda lib, x: (x / 0.0).isnan(), "isinf": lambda lib, x: (x / 0.0).isinf(),
    "isfinite": lambda lib, x: (x / 0.0).isfinite(), "isnan of ints": lambda lib, x: lib.tensor([1]).isnan(),
    "tr.isnan": lambda lib, x: lib.isnan(x / 0.0), "tr.isfinite": lambda lib, x: lib.isfinite(x / 0.0),
    "tr.isinf": lambda lib, x: lib.isinf(x / 0.0), "tr.allclose": lambda lib, x: np.asarray(lib.allclose(x, x * 1.01)),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_methods_a_torch_user_reaches_for(name):
    """zero_, fill_, clamp_, new_zeros/ones/full/tensor, expand_as, view_as, reshape_as, masked_select, nonzero and
    allclose were missing (AttributeError); the rest are checked with negative dims and keepdim."""
    same_outcome(with_copy(METHODS[name]))


def test_the_method_spellings_pass_gradients_as_torch():
    grads = []
    for lib in (tr, torch):
        x = lib.tensor(X, requires_grad=True)
        x.add(x.mul(x), alpha=0.5).sub(x.neg(), alpha=2.0).div(3.0).matmul(lib.ones(3, 1)).sum().backward()
        grads.append(np.asarray(x.grad))
    np.testing.assert_allclose(*grads, rtol=1e-6)


@pytest.mark.parametrize("method", ["zero_", "fill_", "clamp_"])
def test_in_place_methods_on_a_leaf_that_requires_grad_are_refused_as_torch(method):
    args = {"zero_": (), "fill_": (1.0,), "clamp_": (0.0, 1.0)}[method]
    for lib in (tr, torch):
        w = lib.tensor([-1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            getattr(w, method)(*args)
        with lib.no_grad():
            getattr(w, method)(*args)
        assert w.requires_grad and w.is_leaf


def test_masked_select_passes_the_gradient_back_as_torch():
    grads = []
    for lib in (tr, torch):
        x = lib.tensor(X, requires_grad=True)
        x.masked_select(lib.tensor([True, False, True])).pow(2).sum().backward()
        grads.append(np.asarray(x.grad))
    np.testing.assert_array_equal(*grads)


# ----------------------------------------------------------------------------- scatter's reduce, scatter_, scatter_add_
SCATTER_INDEX = [[0, 0], [1, 2]]
SCATTERS = {
    "reduce add": lambda lib, x, s, i: x.scatter(1, i, s, reduce="add"),
    "reduce multiply": lambda lib, x, s, i: x.scatter(1, i, s, reduce="multiply"),
    "reduce add of a number": lambda lib, x, s, i: x.scatter(1, i, 3.0, reduce="add"),
    "reduce multiply of a value": lambda lib, x, s, i: x.scatter(-1, i, value=3.0, reduce="multiply"),
    "reduce mean": lambda lib, x, s, i: x.scatter(1, i, s, reduce="mean"),
    "scatter_": lambda lib, x, s, i: x.scatter_(1, i, s),
    "scatter_ of a number": lambda lib, x, s, i: x.scatter_(-1, i, -1.0),
    "scatter_ reduce add": lambda lib, x, s, i: x.scatter_(1, i, s, reduce="add"),
    "scatter_add_": lambda lib, x, s, i: x.scatter_add_(1, i, s),
    "scatter_add_ dim 0": lambda lib, x, s, i: x.scatter_add_(0, lib.tensor([[1, 0]]), s[:1]),
}


@pytest.mark.parametrize("name", sorted(SCATTERS))
def test_scatter_reduce_and_in_place_scatters_as_torch(name):
    """scatter(reduce='add'/'multiply') was refused (TypeError) and scatter_/scatter_add_ missing; torch's values."""
    same_outcome(lambda lib: SCATTERS[name](lib, lib.tensor(np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)),
                                            lib.tensor([[2.0, 3.0], [-0.5, 4.0]]), lib.tensor(SCATTER_INDEX)))


def test_scatter_in_place_is_refused_where_torch_refuses_and_reduce_multiply_has_no_gradient():
    for lib in (tr, torch):
        w = lib.zeros(2, 3, requires_grad=True)
        i = lib.tensor(SCATTER_INDEX)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            w.scatter_(1, i, 1.0)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            w.scatter_add_(1, i, lib.ones(2, 2))
        with pytest.raises(RuntimeError, match="derivative for .*scatter.* is not implemented"):
            w.scatter(1, i, lib.ones(2, 2), reduce="multiply").sum().backward()


def test_scatter_reduce_add_gradient_matches_scatter_add():
    """torch gives no gradient for scatter(reduce='add'); here it is scatter_add's, checked by finite differences."""
    i = np.array(SCATTER_INDEX)
    x = tr.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=True, dtype=tr.float64)
    s = tr.tensor([[2.0, 3.0], [-0.5, 4.0]], requires_grad=True, dtype=tr.float64)
    assert tr.gradcheck(lambda a, b: (a.scatter(1, i, b, reduce="add") ** 2).sum(), [x, s])


# ----------------------------------------------------------------------------- set_default_dtype
DEFAULT_DTYPE_CALLS = {
    "tensor of floats": lambda lib: lib.tensor([1.5, 2.0]),
    "tensor of a float32 array": lambda lib: lib.tensor(np.array([1.5], np.float32)),
    "tensor of ints": lambda lib: lib.tensor([1, 2]),
    "Tensor of ints": lambda lib: lib.Tensor([1, 2]),
    "zeros": lambda lib: lib.zeros(2), "ones": lambda lib: lib.ones(2, 1),
    "full of a float": lambda lib: lib.full((2,), 1.5),
    "full of an int": lambda lib: lib.full((2,), 3), "arange of floats": lambda lib: lib.arange(0.0, 2.0, 0.5),
    "rand": lambda lib: lib.rand(2) * 0, "randn": lambda lib: lib.randn(2) * 0,
    "ints read as numbers": lambda lib: lib.tensor([1, 2]).exp(),
    "a mask as numbers": lambda lib: lib.tensor([True]) * 1.5,
    "float()": lambda lib: lib.tensor([1, 2]).float(),
    "a Linear's weight": lambda lib: lib.nn.Linear(2, 3).weight * 0,
    "an LSTM's weight": lambda lib: lib.nn.LSTM(2, 3).weight_hh_l0 * 0,
    "an RNNCell's bias": lambda lib: lib.nn.RNNCell(2, 3).bias_hh * 0,
    "a float32 tensor times a number": lambda lib: lib.tensor([1.5], dtype=lib.float32) * 2.5,
}


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(DEFAULT_DTYPE_CALLS))
def test_set_default_dtype_as_torch(name, default):
    """tr.set_default_dtype was missing: torch's sets the dtype of tensors made from Python floats (and ints read as
    numbers), of the factories and of layers' parameters; arrays and explicit dtypes keep theirs."""
    try:
        tr.set_default_dtype(getattr(tr, default))
        torch.set_default_dtype(getattr(torch, default))
        assert tr.get_default_dtype() == np.dtype(default)
        same_outcome(DEFAULT_DTYPE_CALLS[name])
    finally:
        tr.set_default_dtype(tr.float32)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("bad", ["int64", "bool", None, "float16"])
def test_set_default_dtype_takes_float_dtypes_only(bad):
    """torch takes floating-point dtypes only (TypeError); here float32 and float64 (there is no float16)."""
    with pytest.raises(TypeError, match="only floating-point types are supported as the default type"):
        tr.set_default_dtype(getattr(tr, bad, bad) if bad else None)
    assert tr.get_default_dtype() == np.float32


def test_gather_sparse_grad_gives_torchs_gradient_dense():
    """torch's sparse_grad=True makes .grad a sparse tensor; here .grad is a numpy array, so the same values
    dense (documented; this passes on main too: it pins the documented behaviour)."""
    grads = []
    for lib in (tr, torch):
        x = lib.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
        (x.gather(1, lib.tensor([[0, 0], [2, 1]]), sparse_grad=True) * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum() \
            .backward()
        grads.append(x.grad.to_dense().numpy() if lib is torch else x.grad)
    np.testing.assert_array_equal(*grads)


# ----------------------------------------------------------------------------- shapes that do not fit
SHAPE_ERRORS = {
    "operands that do not broadcast": lambda lib: lib.ones(2, 3) + lib.ones(2, 2),
    "where's operands": lambda lib: lib.where(lib.ones(2, 3) > 0, lib.ones(2, 3), lib.ones(4)),
    "matmul": lambda lib: lib.ones(2, 3) @ lib.ones(2, 3),
    "matmul batches": lambda lib: lib.ones(2, 2, 3) @ lib.ones(3, 3, 1),
    "reshape": lambda lib: lib.ones(2, 3).reshape(4, 2),
    "cat": lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 2)], 0),
    "stack": lambda lib: lib.stack([lib.ones(2, 3), lib.ones(2, 2)]),
    "gather's index out of range": lambda lib: lib.ones(2, 3).gather(1, lib.tensor([[3], [0]])),
    "gather's index of other dims": lambda lib: lib.ones(2, 3).gather(1, lib.tensor([0, 1])),
    "gather's index larger": lambda lib: lib.ones(2, 3).gather(1, lib.tensor([[0], [0], [0]])),
    "scatter's index out of range": lambda lib: lib.ones(2, 3).scatter(1, lib.tensor([[-1], [0]]), 2.0),
}


@pytest.mark.parametrize("name", sorted(SHAPE_ERRORS))
def test_shapes_that_do_not_fit_raise_torchs_runtime_error(name):
    """torch raises RuntimeError here; it was a ValueError. ShapeError is both (code that caught ValueError still
    catches it)."""
    same_outcome(SHAPE_ERRORS[name])
    with pytest.raises(ValueError):
        SHAPE_ERRORS[name](tr)


# ----------------------------------------------------------------------------- in place on the tape
def in_place_chain(lib, x, w):
    y = x * 2.0
    y += x ** 2
    y *= w
    y -= 1.0
    y /= w + 3.0
    y.clamp_(-0.5, 2.0)
    z = lib.zeros(3, dtype=x.dtype)
    z += y * w          # a plain tensor takes a gradient in place: it becomes a result, as in torch
    z.scatter_(0, lib.tensor([2]), x[:1])
    return (y * z).sum(), z


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_in_place_operations_on_results_are_recorded_as_torch(dtype):
    """torch records y += ..., y *= ..., clamp_ and scatter_ on a tensor that is not a leaf (and on a plain one
    when the operand requires grad); they were refused ("not recorded on the tape"). Values and gradients as
    torch's."""
    outs = []
    for lib in (tr, torch):
        x = lib.tensor(np.array([0.5, -1.25, 2.0], dtype=dtype), requires_grad=True)
        w = lib.tensor(np.array([1.5, 0.25, -2.0], dtype=dtype), requires_grad=True)
        loss, z = in_place_chain(lib, x, w)
        assert z.requires_grad and not z.is_leaf
        loss.backward()
        outs.append([np.asarray(t) for t in (loss.detach(), x.grad, w.grad)])
    for ours, theirs in zip(*outs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_in_place_on_a_tensor_with_retained_grad_or_a_hook_is_refused():
    x = tr.ones(2, requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    with pytest.raises(RuntimeError, match="retain_grad\\(\\) or a hook"):
        y += 1.0
    z = x * 3.0
    z.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="retain_grad\\(\\) or a hook"):
        z *= 2.0
