"""PyTorch habits on tr.nn outside the recurrent layers (functional, losses, layers, init, Module, utils) that used
to give another answer or another error than torch 2.13: one_hot's int64, pad keeping an int64 or bool tensor's
dtype, softmax's dtype= that it did not know (ignored), Parameter(data, requires_grad), a parameter's or child's
place in state_dict after it was None, a Tensor assigned over a parameter (which silently stopped being one), float
and bool class indices (refused by torch), integer inputs of float functions, and the error types torch code
catches (each taken from torch at run time)."""
import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr
from tinygrad_rnn.nn import functional as F
from tinygrad_rnn.nn import init

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _both(lib, a, dtype=None):
    """A tensor of `a` in torch or here (tr.tensor and torch.tensor read ints as int64, floats as float32)."""
    return torch.tensor(a, dtype=dtype) if lib is torch else tr.tensor(a)


# ----------------------------------------------------------------------------- dtypes and values (used to differ)
@pytest.mark.parametrize("idx, num_classes", [([[0, 3], [2, 1]], -1), ([[0, 3], [2, 1]], 6), (2, 4), ([], 3)])
def test_one_hot_is_int64_as_torch(idx, num_classes):
    """torch's one_hot is int64; ours was float32 (a sum of one_hot rows was then float, an index with it failed)."""
    theirs = TF.one_hot(torch.tensor(idx, dtype=torch.long), num_classes).numpy()
    ours = F.one_hot(tr.tensor(np.array(idx, np.int64)), num_classes)
    assert ours.dtype == theirs.dtype == np.int64
    np.testing.assert_array_equal(ours.data, theirs)
    assert F.one_hot(tr.tensor(np.array(idx, np.int64)), num_classes, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("data", [[1, 2, 3], [True, False]], ids=["int64", "bool"])
@pytest.mark.parametrize("value", [None, 7])
def test_pad_keeps_an_int64_or_bool_tensors_dtype(data, value):
    """F.pad of an int64 or bool tensor stays int64 or bool, as torch's; ours made float32 numbers of it."""
    theirs = TF.pad(torch.tensor(data), (2, 1), value=value).numpy()
    ours = F.pad(tr.tensor(data), (2, 1), value=value)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours.data, theirs)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_refuses_a_dtype_it_does_not_know(fn):
    """dtype=torch.float64 gives float64 in torch; ours ignored a dtype numpy cannot read (np.dtype(x) == None is
    True in numpy) and returned float32 silently. Now: torch's dtype, or a TypeError naming dtype."""
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    theirs = getattr(TF, fn)(torch.tensor(x), 1, dtype=torch.float64)
    try:
        ours = getattr(F, fn)(tr.tensor(x), 1, dtype=torch.float64)
    except TypeError as e:
        assert "dtype" in str(e)
    else:
        assert ours.dtype == np.float64
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("nonlinearity", ["linear", "sigmoid", "conv2d", "conv_transpose1d"])
def test_calculate_gain_is_torchs_value_and_type(nonlinearity):
    """torch returns the int 1 for these (ours the float 1.0); the other gains were floats in both already."""
    theirs = torch.nn.init.calculate_gain(nonlinearity)
    ours = init.calculate_gain(nonlinearity)
    assert ours == theirs and type(ours) is type(theirs)


def test_init_constant_takes_a_0d_tensor_and_clipping_a_0d_max_norm_as_torch():
    t = torch.empty(2, 3)
    o = tr.zeros(2, 3)
    torch.nn.init.constant_(t, torch.tensor(0.25))
    init.constant_(o, tr.tensor(0.25))
    np.testing.assert_array_equal(o.data, t.numpy())
    g = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    pt, po = torch.zeros(2, 3, requires_grad=True), tr.zeros(2, 3, requires_grad=True)
    pt.grad, po.grad = torch.tensor(g), tr.from_numpy(g.copy())
    total_t = torch.nn.utils.clip_grad_norm_([pt], torch.tensor(1.0))
    total_o = tr.nn.utils.clip_grad_norm_([po], tr.tensor(1.0))
    np.testing.assert_allclose(total_o.data, total_t.numpy(), rtol=1e-6)
    np.testing.assert_allclose(po.grad, pt.grad.numpy(), rtol=1e-6)


# ----------------------------------------------------------------------------- Parameter and Module
@pytest.mark.parametrize("args, kwargs", [((), {}), ((False,), {}), ((), {"requires_grad": False}),
                                          ((True,), {})], ids=["default", "positional False", "keyword", "True"])
def test_parameter_takes_torchs_requires_grad(args, kwargs):
    """torch's Parameter(data=None, requires_grad=True); ours read a second positional argument as a dtype
    ("Cannot interpret 'False' as a data type") and had no requires_grad=."""
    theirs = torch.nn.Parameter(torch.ones(2), *args, **kwargs)
    ours = tr.nn.Parameter(tr.ones(2), *args, **kwargs)
    assert ours.requires_grad == theirs.requires_grad
    empty_t, empty_o = torch.nn.Parameter(), tr.nn.Parameter()
    assert empty_o.shape == tuple(empty_t.shape) and empty_o.dtype == np.float32 and empty_o.requires_grad


def test_parameter_of_an_int64_tensor_is_refused_as_torch():
    """torch refuses an int64 Parameter that requires grad; ours made float32 numbers of it."""
    raises_as_torch(lambda: torch.nn.Parameter(torch.tensor([1, 2])), lambda: tr.nn.Parameter(tr.tensor([1, 2])),
                     "only float tensors")


def _slots(lib, steps):
    """A Module with parameters a and b, then the steps applied; its state_dict's names in order."""
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = lib.nn.Parameter(lib.zeros(1))
            self.sub = lib.nn.Linear(1, 1)
            self.b = lib.nn.Parameter(lib.zeros(1))
    m = M()
    for step in steps:
        step(lib, m)
    return list(m.state_dict()), [n for n, _ in m.named_parameters()]


SLOT_STEPS = {
    "parameter None, then set again": [lambda lib, m: setattr(m, "a", None),
                                       lambda lib, m: setattr(m, "c", lib.nn.Parameter(lib.zeros(1))),
                                       lambda lib, m: setattr(m, "a", lib.nn.Parameter(lib.zeros(2)))],
    "register_parameter(None), then set": [lambda lib, m: m.register_parameter("c", None),
                                           lambda lib, m: setattr(m, "d", lib.nn.Parameter(lib.zeros(1))),
                                           lambda lib, m: setattr(m, "c", lib.nn.Parameter(lib.zeros(1)))],
    "child None, then set again": [lambda lib, m: setattr(m, "sub", None),
                                   lambda lib, m: setattr(m, "other", lib.nn.Linear(1, 2)),
                                   lambda lib, m: setattr(m, "sub", lib.nn.Linear(2, 1))],
}


@pytest.mark.parametrize("case", list(SLOT_STEPS))
def test_a_parameter_or_child_set_to_none_keeps_its_place_as_torch(case):
    """torch keeps a parameter's (a child's) place when it is set to None and set again: state_dict's order, and so
    parameters()' order, which an optimizer's state_dict indexes. Ours moved it to the end."""
    assert _slots(tr, SLOT_STEPS[case]) == _slots(torch, SLOT_STEPS[case])


@pytest.mark.parametrize("name, value", [("weight", lambda lib: lib.zeros(2, 2)), ("weight", lambda lib: 3),
                                         ("weight", lambda lib: lib.nn.ReLU()), ("sub", lambda lib: lib.zeros(1)),
                                         ("sub", lambda lib: 3)])
def test_assigning_a_tensor_over_a_parameter_or_child_is_torchs_type_error(name, value):
    """`model.weight = tensor` is a TypeError in torch; ours took the weight out of parameters() and state_dict()
    silently (it stopped training). A non-Module over a child likewise."""
    def attempt(lib):
        m = lib.nn.Linear(2, 2)
        m.sub = lib.nn.Linear(1, 1)
        setattr(m, name, value(lib))
    raises_as_torch(lambda: attempt(torch), lambda: attempt(tr), "cannot assign")


def _add_module_over_a_parameter(lib):
    lib.nn.Linear(2, 2).add_module("weight", lib.nn.ReLU())


def _register_parameter_over_a_child(lib):
    m = lib.nn.Linear(2, 2)
    m.sub = lib.nn.ReLU()
    m.register_parameter("sub", None)


@pytest.mark.parametrize("attempt", [_add_module_over_a_parameter, _register_parameter_over_a_child])
def test_add_module_or_register_parameter_over_another_attribute_is_torchs_key_error(attempt):
    """torch refuses a name that is another kind of attribute; ours replaced the weight by a module silently."""
    raises_as_torch(lambda: attempt(torch), lambda: attempt(tr), "already exists")


def test_register_buffer_get_buffer_and_load_result_as_torch():
    raises_as_torch(lambda: torch.nn.Module().register_buffer(3, torch.zeros(1)),
                     lambda: tr.nn.Module().register_buffer(3, tr.zeros(1)), "buffer name must be a str")
    mods = {}
    for lib in (torch, tr):
        m = lib.nn.Sequential(lib.nn.Linear(1, 1))
        m[0].register_buffer("count", lib.ones(2))
        mods[lib] = m
    assert tuple(mods[tr].get_buffer("0.count").shape) == tuple(mods[torch].get_buffer("0.count").shape)
    state = {k: v.numpy() for k, v in mods[torch].state_dict().items()}
    assert repr(mods[tr].load_state_dict(state)) == repr(mods[torch].load_state_dict(mods[torch].state_dict()))
    assert tr.nn.Dropout(0.2).inplace == torch.nn.Dropout(0.2).inplace


# ----------------------------------------------------------------------------- what torch refuses
@pytest.mark.parametrize("target", [[0.0, 2.0], [True, False]], ids=["float", "bool"])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss", "embedding", "one_hot"])
def test_float_or_bool_class_indices_are_refused_as_torch(fn, target):
    """torch refuses class indices or rows that are floats or bools (a RuntimeError); ours read floats holding
    integers as indices (`tr.Tensor([0, 2])` holds floats, as `torch.Tensor` does). Now torch's error, also a
    TypeError."""
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)

    def call(lib, fns):
        t = _both(lib, target)
        if fn == "embedding":
            return fns.embedding(t, _both(lib, x.T.copy()))
        return fns.one_hot(t, 3) if fn == "one_hot" else getattr(fns, fn)(_both(lib, x), t)
    raises_as_torch(lambda: call(torch, TF), lambda: call(tr, F), "integer array")
    with pytest.raises(TypeError):
        call(tr, F)


@pytest.mark.parametrize("fn", ["leaky_relu", "elu", "silu", "softplus", "cross_entropy"])
def test_float_functions_of_integer_tensors_are_refused_as_torch(fn):
    """torch's leaky_relu, elu, silu, softplus and cross_entropy of an int64 tensor are a NotImplementedError;
    ours computed them as float32 numbers (cross_entropy leaked numpy's casting error)."""
    def call(lib, fns):
        x = _both(lib, [[1, -2, 3]])
        return fns.cross_entropy(x, _both(lib, [0])) if fn == "cross_entropy" else getattr(fns, fn)(x)
    raises_as_torch(lambda: call(torch, TF), lambda: call(tr, F), "not implemented")


@pytest.mark.parametrize("fn", ["uniform_", "normal_", "xavier_uniform_", "kaiming_normal_", "orthogonal_"])
def test_random_init_of_an_integer_tensor_is_refused_as_torch(fn):
    """torch's random fills of an int64 tensor are a NotImplementedError; ours truncated the draws to integers."""
    raises_as_torch(lambda: getattr(torch.nn.init, fn)(torch.zeros(3, 3, dtype=torch.long)),
                     lambda: getattr(init, fn)(tr.tensor(np.zeros((3, 3), np.int64))), "not implemented")


def test_softplus_beta_zero_is_refused_by_name():
    """torch computes log(2) / 0 = inf; ours raised Python's ZeroDivisionError from inside. Now a ValueError
    naming beta."""
    assert torch.isinf(TF.softplus(torch.ones(2), 0.0)).all()
    with pytest.raises(ValueError, match="beta must not be 0"):
        F.softplus(tr.ones(2), 0.0)


# ----------------------------------------------------------------------------- error types torch code catches
X = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
T4 = [0, 2, 1, 2]
W = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
P = np.full((3, 2), 0.5, np.float32)
ERROR_CASES = {   # name: (a call taking (lib, functional), the words of our error)
    "cross_entropy weight of another size": (lambda lib, f: f.cross_entropy(_both(lib, X), _both(lib, T4),
                                                                            lib.ones(2)), "C = 3 class weights"),
    "cross_entropy weight of another dtype": (lambda lib, f: f.cross_entropy(_both(lib, X), _both(lib, T4),
                                                                             lib.ones(3, dtype=lib.float64)),
                                              "weight dtype float64"),
    "cross_entropy index target of input's shape": (lambda lib, f: f.cross_entropy(
        _both(lib, X), _both(lib, np.zeros((4, 3), np.int64))), "target must have shape"),
    "cross_entropy label_smoothing 1.5": (lambda lib, f: f.cross_entropy(_both(lib, X), _both(lib, T4),
                                                                         label_smoothing=1.5), "label_smoothing"),
    "nll_loss target of another size": (lambda lib, f: f.nll_loss(lib.zeros(2, 3, 4),
                                                                   _both(lib, np.zeros((2, 5), np.int64))),
                                        "target must have shape"),
    "mse_loss shapes that do not broadcast": (lambda lib, f: f.mse_loss(lib.zeros(3, 2), lib.ones(4)), "shape"),
    "binary_cross_entropy input above 1": (lambda lib, f: f.binary_cross_entropy(_both(lib, P + 1),
                                                                                 _both(lib, P)), "input must be"),
    "binary_cross_entropy target above 1": (lambda lib, f: f.binary_cross_entropy(_both(lib, P),
                                                                                  _both(lib, P + 1)), "target must"),
    "bce_with_logits pos_weight of another size": (lambda lib, f: f.binary_cross_entropy_with_logits(
        _both(lib, P), _both(lib, P), pos_weight=lib.ones(3)), "pos_weight of shape"),
    "bce_with_logits int64 target": (lambda lib, f: f.binary_cross_entropy_with_logits(
        _both(lib, P), _both(lib, [[0, 1]] * 3)), "target dtype int64"),
    "one_hot value too large": (lambda lib, f: f.one_hot(_both(lib, [0, 3]), 3), "smaller than num_classes"),
    "one_hot negative value": (lambda lib, f: f.one_hot(_both(lib, [-1, 0])), "non-negative"),
    "one_hot of nothing without num_classes": (lambda lib, f: f.one_hot(_both(lib, np.zeros(0, np.int64))),
                                               "empty"),
    "pad of odd length": (lambda lib, f: f.pad(lib.zeros(2, 3), (1,)), "even number"),
    "pad of more pairs than dims": (lambda lib, f: f.pad(lib.zeros(2, 3), (1,) * 6), "pairs"),
    "pad cropping past the size": (lambda lib, f: f.pad(lib.zeros(2, 3), (-3, -2)), "negative size"),
    "linear of another in_features": (lambda lib, f: f.linear(lib.zeros(2, 5), _both(lib, W)), "in_features"),
    "linear of a 0-d input": (lambda lib, f: f.linear(_both(lib, 1.0), _both(lib, W)), "in_features"),
    "embedding of a 1-D weight": (lambda lib, f: f.embedding(_both(lib, [0]), lib.zeros(3)), "2-D"),
    "embedding padding_idx past the rows": (lambda lib, f: f.embedding(_both(lib, [0]), lib.zeros(5, 2),
                                                                       padding_idx=5), "padding_idx"),
    "layer_norm of another last dim": (lambda lib, f: f.layer_norm(lib.zeros(2, 4), (3,)), "normalized_shape"),
    "layer_norm weight of another shape": (lambda lib, f: f.layer_norm(lib.zeros(2, 4), (4,), lib.ones(3)),
                                           "weight must have shape"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_functional_errors_are_the_types_torch_raises(case):
    """torch raises a RuntimeError (an AssertionError for padding_idx) where ours raised a ValueError or a
    TypeError, which torch code's `except` missed; ours now raises both (the library's type kept)."""
    call, words = ERROR_CASES[case]
    raises_as_torch(lambda: call(torch, TF), lambda: call(tr, F), words)
    with pytest.raises((ValueError, TypeError)):   # the library's own kinds, kept
        call(tr, F)


def _with_grad(lib):
    p = lib.zeros(2, requires_grad=True)
    p.grad = lib.ones(2)
    return p


MODULE_CASES = {   # name: (a call taking lib, the words of our error)
    "Linear input of another size": (lambda lib: lib.nn.Linear(3, 2)(lib.zeros(2, 4)), "in_features"),
    "Linear input of another dtype": (lambda lib: lib.nn.Linear(4, 2)(lib.zeros(2, 4, dtype=lib.float64)),
                                      "input dtype float64"),
    "Linear of an int64 input": (lambda lib: lib.nn.Linear(2, 2)(_both(lib, [1, 2])), "input dtype int64"),
    "LayerNorm input of another size": (lambda lib: lib.nn.LayerNorm(3)(lib.zeros(2, 4)), "normalized_shape"),
    "Embedding padding_idx past the rows": (lambda lib: lib.nn.Embedding(5, 3, padding_idx=5), "padding_idx"),
    "Embedding padding_idx before the rows": (lambda lib: lib.nn.Embedding(5, 3, padding_idx=-6), "padding_idx"),
    "Embedding _weight of another shape": (lambda lib: lib.nn.Embedding(5, 3, _weight=lib.zeros(4, 3)),
                                           "_weight must have shape"),
    "Embedding.from_pretrained of a 1-D table": (lambda lib: lib.nn.Embedding.from_pretrained(lib.zeros(3)),
                                                 "must be 2-D"),
    "calculate_gain of a bool slope": (lambda lib: lib.nn.init.calculate_gain("leaky_relu", True), "negative_slope"),
    "calculate_gain of a str slope": (lambda lib: lib.nn.init.calculate_gain("leaky_relu", "0.1"), "negative_slope"),
    "uniform_ with a > b": (lambda lib: lib.nn.init.uniform_(lib.zeros(3), 1.0, 0.0), "a must be <= b"),
    "normal_ with std < 0": (lambda lib: lib.nn.init.normal_(lib.zeros(3), 0.0, -1.0), "std must be >= 0"),
    "trunc_normal_ with a > b": (lambda lib: lib.nn.init.trunc_normal_(lib.zeros(3), a=1.0, b=-1.0), "a <= b"),
    "clip_grad_norm_ norm_type 'fro'": (lambda lib: lib.nn.utils.clip_grad_norm_([_with_grad(lib)], 1.0, "fro"),
                                        "norm_type"),
}


@pytest.mark.parametrize("case", list(MODULE_CASES))
def test_layer_init_and_utils_errors_are_the_types_torch_raises(case):
    call, words = MODULE_CASES[case]
    raises_as_torch(lambda: call(torch), lambda: call(tr), words)
    with pytest.raises((ValueError, TypeError)):
        call(tr)


LEGACY_LOSSES = {   # name: (input, target) as arrays
    "cross_entropy": (X, np.array(T4)), "nll_loss": (X, np.array(T4)), "mse_loss": (P, P[::-1].copy()),
    "l1_loss": (P, P[::-1].copy()), "binary_cross_entropy": (P * 0.5, P),
    "binary_cross_entropy_with_logits": (X[:3, :2].copy(), P),
}


@pytest.mark.parametrize("size_average, reduce", [(False, None), (None, False), (True, True), (False, True)])
@pytest.mark.parametrize("fn", list(LEGACY_LOSSES))
def test_functional_losses_take_torchs_legacy_size_average_and_reduce_keywords(fn, size_average, reduce):
    """F.cross_entropy(x, t, size_average=False) is a sum in torch (with a deprecation warning); ours had no such
    keyword (a TypeError). Positionally they stay refused here (see test_losses_vs_torch)."""
    x, t = LEGACY_LOSSES[fn]
    kwargs = {k: v for k, v in (("size_average", size_average), ("reduce", reduce)) if v is not None}
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated") as theirs_warned:
        theirs = getattr(TF, fn)(torch.tensor(x), torch.tensor(t), **kwargs)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated") as ours_warned:
        ours = getattr(F, fn)(tr.tensor(x), tr.tensor(t), **kwargs)
    assert str(ours_warned[0].message) == str(theirs_warned[0].message)
    assert ours_warned[0].filename == __file__   # the warning points at the caller's line
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6, atol=1e-7)
