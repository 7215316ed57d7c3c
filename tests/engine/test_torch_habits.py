"""PyTorch habits that used to give silently wrong results (issue 14): each test here failed on the code
before the fix. The references are plain numpy or the math itself; tests/engine/test_torch_parity.py holds the
same cases against PyTorch where it is installed."""
import numpy as np
import pytest
from conftest import leaf

import tinygrad_rnn as tr


def test_eq_and_ne_are_elementwise_masks():
    x = tr.Tensor([0.0, 1.0, 0.0, 2.0])
    a, b = tr.Tensor([1.0, 1.0, 1.0, 1.0]), tr.Tensor([5.0, 6.0, 7.0, 8.0])
    assert np.array_equal(tr.where(x == 0, a, b)._data, [1, 6, 1, 8])
    assert np.array_equal(tr.where(x != 0, a, b)._data, [5, 1, 7, 1])
    for mask, expected in ((x == 0, x._data == 0), (x != 0, x._data != 0), (x == x, np.ones(4, bool)),
                           (0 == x, x._data == 0), (x < 1, x._data < 1), (x >= 1, x._data >= 1)):
        assert isinstance(mask, tr.Tensor) and mask.dtype == np.bool_ and not mask.requires_grad
        assert np.array_equal(mask._data, expected)
    assert np.array_equal(x.masked_fill(x == 0, -1.0)._data, [-1, 1, -1, 2])
    assert np.array_equal(x[x != 0]._data, [1, 2])  # a mask indexes by position, not as the ints 0 and 1
    mask = tr.tensor([True, False, False, True])  # as torch.tensor: a mask (tr.Tensor, as torch.Tensor: floats)
    assert mask.dtype == np.bool_ and np.array_equal(x[mask]._data, [0, 2])
    assert tr.Tensor([True, False]).dtype == np.float32


def test_numpy_reads_tensors_and_masks_as_arrays():
    x = tr.Tensor(np.array([1.0, -2.0, 3.0], np.float32), requires_grad=True)
    assert np.array_equal(np.where(x > 0, 1, 0), [1, 0, 1])  # was an element-by-element walk over 0-d Tensors
    assert np.asarray(x).dtype == np.float32 and np.asarray(x) is x._data
    y = np.ones(3, np.float32) * x  # numpy still hands arithmetic to the Tensor: recorded, float32
    assert isinstance(y, tr.Tensor) and y.requires_grad and y.dtype == np.float32


def test_tensors_hash_by_identity_and_refuse_ambiguous_truth():
    x, y = tr.Tensor([1.0, 2.0]), tr.Tensor([1.0, 2.0])
    table = {x: "x", y: "y"}  # equal values, two keys, as in torch
    assert table[x] == "x" and table[y] == "y" and len({x, y, x}) == 2
    with pytest.raises(RuntimeError, match="ambiguous.*any.*all"):
        bool(x == y)
    assert (x == y).all() and not (x != y).any()
    assert bool(tr.Tensor(3.0) == 3.0) and not bool(tr.Tensor([0.0]))


def test_masks_in_arithmetic_read_as_numbers_of_the_other_dtype():
    x = tr.Tensor(np.array([-1.0, 2.0, 3.0], np.float32), requires_grad=True)
    masked = x * (x > 0)
    assert masked.dtype == np.float32 and np.array_equal(masked._data, [0, 2, 3])
    assert ((x > 0) * 2.0).dtype == np.float32 and np.array_equal(((x > 0) * 2.0)._data, [0, 2, 2])
    assert (x > 0).sum().item() == 2 and (x > 0).float().mean().item() == pytest.approx(2 / 3)
    masked.sum().backward()
    assert np.array_equal(x.grad, [0, 1, 1])
    assert np.array_equal((~(x > 0) | (x > 2.5))._data, [True, False, True])
    assert tr.where(x > 0, x > 2.5, x).dtype == np.float32  # a mask beside a float operand takes its dtype
    y = tr.Tensor(np.ones(3, np.float32), requires_grad=True)
    (y * 2).backward(gradient=np.ones(3, np.float32))  # torch's name of backward's argument
    assert np.array_equal(y.grad, [2, 2, 2])


def test_math_on_a_mask_reads_it_as_float32():
    mask = tr.Tensor([-1.0, 0.0, 2.0]) > 0
    ones = tr.Tensor([0.0, 0.0, 1.0])
    for op in (lambda t: t.exp(), lambda t: t.log(), lambda t: t.tanh(), lambda t: t.sigmoid(),
               lambda t: t ** 2, lambda t: t.sqrt(), lambda t: t.clamp(0.5, 0.7), lambda t: t.logsumexp(0)):
        with np.errstate(divide="ignore"):
            out, expected = op(mask), op(ones)
        assert out.dtype == np.float32 and not out.requires_grad  # numpy would give float16 (exp) or float64 (**)
        assert np.array_equal(out._data, expected._data)


REFUSED_ON_MASKS = {"mean": lambda t: t.mean(), "var/std": lambda t: t.var(), "norm": lambda t: t.norm(),
                    "softmax": lambda t: t.softmax(0), "log_softmax": lambda t: t.log_softmax(0),
                    "abs": lambda t: t.abs(), "relu": lambda t: t.relu()}


@pytest.mark.parametrize("name", sorted(REFUSED_ON_MASKS) + ["std"])
def test_what_torch_refuses_on_masks_and_indices_is_refused(name):
    """torch refuses mean, var, std, norm and the softmaxes on a mask or indices, and abs and relu on a
    mask (on indices they keep the int dtype); here too, by name, rather than reading them as float32."""
    torch = pytest.importorskip("torch")
    op = (lambda t: t.std()) if name == "std" else REFUSED_ON_MASKS[name]
    name = "var/std" if name == "std" else name
    values = np.array([-1.0, 0.0, 2.0])
    for ours, theirs in ((tr.Tensor(values) > 0, torch.tensor(values) > 0),
                         (tr.Tensor(np.eye(3)[[2, 0, 1]]).argmax(1), torch.tensor(np.eye(3)[[2, 0, 1]]).argmax(1))):
        try:
            expected = op(theirs)
        except (RuntimeError, NotImplementedError):
            with pytest.raises(TypeError, match=f"{name}: input must be a float (or integer )?tensor, got dtype "
                               f"{ours.dtype} \\(torch refuses it too\\)"):
                op(ours)
            continue
        got = op(ours)
        assert str(got.dtype) == str(expected.dtype).removeprefix("torch.")
        assert np.array_equal(got._data, expected.numpy())


def test_transpose_swaps_two_dims_as_torch():
    a = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(tr.Tensor(a).transpose(0, 1)._data, a.T)  # was the identity (numpy's permutation)
    assert np.array_equal(tr.Tensor(a).transpose(1, 0)._data, a.T)
    b = np.arange(24.0).reshape(2, 3, 4)
    assert np.array_equal(tr.Tensor(b).transpose(0, 2)._data, np.swapaxes(b, 0, 2))  # used to raise
    assert np.array_equal(tr.Tensor(b).transpose(-1, 1)._data, np.swapaxes(b, -1, 1))
    assert np.array_equal(tr.Tensor(b).permute(2, 0, 1)._data, b.transpose(2, 0, 1))
    assert np.array_equal(tr.Tensor(b).permute((1, 2, 0))._data, b.transpose(1, 2, 0))
    assert np.array_equal(tr.Tensor(b).transpose(1, 0, 2)._data, b.transpose(1, 0, 2))  # numpy's, no collision
    with pytest.raises(ValueError, match="two dims to swap.*permute"):
        tr.Tensor(b).transpose(0, 1, 2, 0)


def test_requires_grad_is_keyword_only():
    with pytest.raises(TypeError, match=r"only positional argument.*\(3, 4\).*keyword-only.*tr.zeros\(3, 4\)"):
        tr.Tensor(3, 4)
    with pytest.raises(TypeError, match="keyword-only"):
        tr.Tensor([1.0], True)
    with pytest.raises(TypeError):
        tr.tensor([1.0], True)
    assert tr.Tensor(3.0, requires_grad=True).requires_grad


def test_int_beside_an_index_array_orders_dims_as_torch():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    d = np.array([0, 3, 3])
    t = leaf(x)
    for index, reference in (((1, slice(None), d), x[1][:, d]),
                             ((1, slice(None), d, 2), x[1][:, d, 2]),
                             ((slice(None), 0, slice(None), d), x[:, 0][:, :, d]),
                             ((1, d % 3), x[1, d % 3])):
        out = t[index]
        assert out.shape == reference.shape and np.array_equal(out._data, reference)
    assert tr.gradcheck(lambda t: t[1, :, d], [t])


def test_mean_over_an_empty_axis_is_nan():
    out = tr.Tensor(np.zeros((3, 0))).mean(axis=1)  # 0 / 0, as numpy and torch (it was 0)
    assert out.shape == (3,) and np.isnan(out._data).all()
    assert np.isnan(tr.Tensor(np.zeros((0,))).mean().item())


def test_pow_at_its_edges():
    zero = leaf(0.0)
    out = zero ** leaf(0.0)
    assert out.item() == 1.0  # exp(0 * log 0) was nan
    base, expo = leaf([-2.0, -2.0, -2.0, 0.0]), leaf([2.0, 3.0, -1.0, 2.0])
    out = base ** expo
    assert np.array_equal(out._data, [4.0, -8.0, -0.5, 0.0])
    out.sum().backward()
    assert np.allclose(base.grad, expo._data * base._data ** (expo._data - 1))  # d/da = b a^(b-1), real for a < 0
    assert expo.grad[3] == 0  # d/db at a = 0, b >= 0: 0, not 0 * log 0 = nan
    x = leaf([0.0, 1.0, 2.0])
    (0.0 ** x).sum().backward()
    assert np.array_equal(x.grad, [0.0, 0.0, 0.0])  # 0 ** x is 1, 0, 0: constant away from x = 0, 0 as torch there
    x = leaf([0.0, 2.0])
    (x ** 0.0).sum().backward()
    assert np.array_equal(x.grad, [0.0, 0.0])  # x ** 0 is the constant 1: was 0 * 0 ** -1 = nan at 0
    x = leaf([1.0, 2.0, 3.0])
    assert np.allclose(((-2.0) ** x)._data, [-2.0, 4.0, -8.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's divide-by-zero: the infinities are the point
def test_sqrt_at_signed_zeros():
    for dtype in (np.float64, np.float32):
        x = leaf([-0.0, 0.0], dtype)
        y = x.sqrt()
        assert np.signbit(y._data).tolist() == [True, False] and y.dtype == dtype  # sqrt(-0.0) = -0.0 (IEEE)
        y.sum().backward()
        assert x.grad.tolist() == [-np.inf, np.inf]  # 0.5 / sqrt(-0.0) = 0.5 / -0.0: was +inf at -0.0
        x = leaf([-0.0, 0.0], dtype)
        (x ** -0.5).sum().backward()  # x ** -0.5 is 1 / sqrt(x): -inf at -0.0 (pow() would give +inf)
        assert (x ** -0.5)._data.tolist() == [-np.inf, np.inf] and x.grad.tolist() == [-np.inf, -np.inf]


def test_abs_at_zero():
    x = leaf([0.0, -0.0, -1.5, 2.0])
    y = x.abs()
    assert not np.signbit(y._data).any()  # abs(-0.0) was -0.0
    y.sum().backward()
    assert np.array_equal(x.grad, [0.0, 0.0, -1.0, 1.0])  # the gradient at 0 was 1


def test_reductions_of_a_zero_dim_tensor_take_dim_0():
    x = tr.Tensor(1.0, requires_grad=True)
    assert x.sum(0).item() == 1.0 and x.sum(0).shape == () and x.mean(-1).item() == 1.0
    assert x.sum(dim=0, keepdim=True).shape == ()
    x.sum(0).backward()
    assert x.grad == 1.0
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)"):
        x.sum(1)


def test_dim_and_axis_are_one_argument():
    x = tr.Tensor(np.arange(6.0).reshape(2, 3))
    assert np.array_equal(x.sum(dim=1, keepdim=True)._data, x.sum(axis=1, keepdims=True)._data)
    with pytest.raises(TypeError, match="dim=1 and axis=0"):
        x.sum(1, axis=0)
    with pytest.raises(TypeError, match="keepdim=True and keepdims=False"):
        x.mean(0, keepdim=True, keepdims=False)
    assert x.sum(dim=()).shape == () and x.mean(dim=[]).item() == 2.5  # torch: an empty dim list is all dims
    with pytest.raises(TypeError, match=r"axis=\(\) reduces no axis in numpy"):
        x.sum(axis=())
    with pytest.raises(TypeError, match="numpy divides by N"):
        x.var(axis=1)  # numpy's var(axis) divides by N, torch's by N - 1: which one is asked for must be said
    assert np.allclose(x.var(axis=1, ddof=0)._data, x._data.var(axis=1))
    assert np.allclose(x.var(1)._data, x._data.var(axis=1, ddof=1))


def test_size_is_both_numpys_count_and_torchs_shape():
    x = tr.Tensor(np.zeros((2, 3)))
    assert x.size == 6 and x.size() == (2, 3) and x.size(-1) == 3 and x.numel() == 6 and x.dim() == 2


def test_in_place_updates_change_the_tensor_itself():
    w = tr.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    params = [w]
    (w * w).sum().backward()
    with tr.no_grad():
        for p in params:  # the manual SGD step of a torch tutorial: it rebound the name p and left w unchanged
            p -= 0.1 * tr.Tensor(p.grad)
    assert params[0] is w and np.allclose(w._data, [0.8, 1.6]) and w.requires_grad and w.is_leaf
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        w += 1.0
    y = w * 2.0
    y += 1.0   # on a result, recorded as torch records it (tests/engine/test_torch_parity_audit21.py)
    assert y.grad_fn.name() == "Add" and not y.is_leaf
    c = tr.Tensor(np.array([3.0, 4.0]))
    y = w * c
    c *= 10.0  # c's memory is written, as torch's storage: the graph that saved c refuses, as torch's
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()
    assert np.allclose(c._data, [30, 40])
    with pytest.raises(RuntimeError, match="must keep its shape"):
        c += np.ones((2, 2))


def test_max_in_numpy_spelling_gives_values_and_a_tuple_is_never_an_operand():
    """max(dim) is torch's (values, indices); max(axis=..)/max(.., keepdims=..) is numpy's and gives the
    values. Subtracting the tuple by mistake once broadcast it silently into a (2, B, n) result."""
    a = tr.Tensor(np.arange(8.0).reshape(2, 4))
    np.testing.assert_array_equal(a.max(-1, keepdims=True).numpy(), [[3.0], [7.0]])
    np.testing.assert_array_equal(a.min(axis=0).numpy(), [0.0, 1.0, 2.0, 3.0])
    values, indices = a.max(1)
    np.testing.assert_array_equal(indices.numpy(), [3, 3])
    with pytest.raises(TypeError, match="values, indices"):
        a - a.max(1)


@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell", "RNNCell", "PeepholeLSTMCell"])
def test_cells_with_a_zero_sized_state_run_as_torch(cell):
    """torch runs a cell of hidden size 0 (its state is (batch, 0)); chunk on an empty axis gives the
    requested number of empty pieces, as torch's chunk does, so the gates still unpack."""
    assert [p.shape for p in tr.zeros(2, 0).chunk(4, dim=1)] == [(2, 0)] * 4
    layer = getattr(tr.nn, cell)(10, 0)
    x = tr.Tensor(np.ones((3, 10), np.float32), requires_grad=True)
    state = layer(x)
    parts = state if isinstance(state, tuple) else (state,)
    assert all(p.shape == (3, 0) for p in parts)
    torch = pytest.importorskip("torch")
    if hasattr(torch.nn, cell):
        ref = getattr(torch.nn, cell)(10, 0)(torch.ones(3, 10))
        ref_parts = ref if isinstance(ref, tuple) else (ref,)
        assert [tuple(p.shape) for p in ref_parts] == [p.shape for p in parts]


# A flag, a dim, a size or an index of the wrong type: refused (TypeError naming the argument, expected and got),
# as torch refuses it - never read as truthy (keepdim="False"), truncated (split([2.7, 1.2])) or matched against
# nothing (ignore_index=1.5 ignored no target).
def _targets(lib):
    return lib.tensor(np.array([0, 2]))


WRONG_TYPES = [
    (lambda lib, x: x.sum(1, keepdim="False"), "sum: keepdim must be True or False, got str 'False'"),
    (lambda lib, x: x.mean(dim=1, keepdim=0), "mean: keepdim must be True or False, got int 0"),
    (lambda lib, x: x.argmax(1, keepdim="True"), "argmax: keepdim must be True or False, got str 'True'"),
    (lambda lib, x: x.max(1, "True"), "max: keepdim must be True or False, got str 'True'"),
    (lambda lib, x: x.logsumexp(1, keepdim="no"), "logsumexp: keepdim must be True or False, got str 'no'"),
    (lambda lib, x: x.norm(2, 1, keepdim="no"), "norm: keepdim must be True or False, got str 'no'"),
    (lambda lib, x: x.sum(dim=1.0), "dim must be an int .*, got float 1.0"),
    (lambda lib, x: x.transpose(0.0, 1), "dim must be an int .*, got float 0.0"),
    (lambda lib, x: x.std(1, correction="1"), "var/std: correction must be a number, got str '1'"),
    (lambda lib, x: x.expand(2, 3.0), r"expand: sizes must be ints, got float 3.0"),
    (lambda lib, x: x.split([1.5, 0.5]), "split: split_size_or_sections must be an int or a list of ints, got list"),
    (lambda lib, x: x.split(2.0), "split: split_size_or_sections must be an int or a list of ints, got float 2.0"),
    (lambda lib, x: x.chunk(2.0), "chunk: chunks must be an int, got float 2.0"),
    (lambda lib, x: lib.tensor(np.ones(2), requires_grad="False"), "requires_grad must be True or False, got str"),
    (lambda lib, x: lib.zeros(2, requires_grad=1), "requires_grad must be True or False, got int 1"),
    (lambda lib, x: lib.randn(2, requires_grad="yes"), "requires_grad must be True or False, got str 'yes'"),
    (lambda lib, x: x.detach().requires_grad_("False"), "requires_grad_: requires_grad must be True or False"),
    (lambda lib, x: lib.nn.functional.cross_entropy(x, _targets(lib), ignore_index=1.5),
     "cross_entropy: ignore_index must be an int, got float 1.5"),
    (lambda lib, x: lib.nn.CrossEntropyLoss(ignore_index="1")(x, _targets(lib)),
     "cross_entropy: ignore_index must be an int, got str '1'"),
    (lambda lib, x: lib.nn.functional.nll_loss(x, _targets(lib), ignore_index=True),
     "nll_loss: ignore_index must be an int, got bool True"),
    (lambda lib, x: lib.nn.functional.pad(x, (1, 1), value="0"), "pad: value must be a number, got str '0'"),
    (lambda lib, x: lib.nn.utils.rnn.pad_sequence([x, x[:1]], batch_first="False"),
     "pad_sequence: batch_first must be True or False, got str 'False'"),
    (lambda lib, x: lib.nn.utils.rnn.pad_sequence([x, x[:1]], padding_value="0"),
     "pad_sequence: padding_value must be a number, got str '0'"),
    (lambda lib, x: lib.nn.utils.rnn.pack_padded_sequence(x.unsqueeze(2), [2, 1, 1], batch_first="False"),
     "pack_padded_sequence: batch_first must be True or False, got str 'False'"),
    (lambda lib, x: lib.nn.utils.rnn.pad_packed_sequence(
        lib.nn.utils.rnn.pack_padded_sequence(x.unsqueeze(2), [2, 1, 1]), batch_first=1),
     "pad_packed_sequence: batch_first must be True or False, got int 1"),
]


@pytest.mark.parametrize("k", range(len(WRONG_TYPES)))
def test_arguments_of_the_wrong_type_are_refused_as_torch_does(k):
    call, message = WRONG_TYPES[k]
    with pytest.raises(TypeError, match=message):
        call(tr, leaf(np.ones((2, 3))))
    try:
        import torch
    except ImportError:
        return
    with pytest.raises((TypeError, RuntimeError)):  # the habit comes from torch, which refuses it too
        call(torch, torch.ones(2, 3, dtype=torch.float64, requires_grad=True))


def test_assigning_requires_grad_is_checked_as_the_keyword_is():
    """x.requires_grad = "False" was kept as a truthy string (torch raises); the assignment is checked as
    requires_grad_() is, and a bool assignment works as before."""
    x = tr.Tensor(np.ones(3))
    x.requires_grad = True
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * np.ones(3))
    with pytest.raises(TypeError, match="requires_grad must be True or False"):
        x.requires_grad = "False"
    x.requires_grad = False
    assert x.requires_grad is False


def test_mask_arithmetic_follows_torch():
    x = tr.Tensor([-1.0, 0.0, 2.0])
    m, n = x > 0, x < 1
    # a mask plus / times a mask is a mask, as in torch: True + True is True (was the float 2.0)
    for out, expected in ((m + n, m._data | n._data), (m * n, m._data & n._data), (m + True, np.ones(3, bool)),
                          (False * m, np.zeros(3, bool))):
        assert out.dtype == np.bool_ and np.array_equal(out._data, expected)
    # subtracting with a mask and negating one are refused (numpy and torch refuse both: torch's RuntimeError)
    for bad in (lambda: 1 - m, lambda: m - 1, lambda: m - n, lambda: x - m, lambda: m - x, lambda: -m,
                lambda: x.__isub__(m)):
        with pytest.raises(RuntimeError, match=r"bool tensors? is not supported.*(`~`|`\^`)"):
            bad()
    assert np.array_equal((~m).float()._data, 1 - m._data.astype(np.float32))  # what 1 - m was meant to say
    # with numbers or float tensors a mask is numbers
    assert (m * 2.0).dtype == np.float32 and np.array_equal((m * 2.0)._data, [0, 0, 2])
    assert m.square().dtype == np.int64 and np.array_equal(m.square()._data, [0, 0, 1])  # as torch's
    assert np.array_equal(abs(tr.Tensor([-1.0, 2.0]))._data, [1, 2])  # abs(t), as torch


@pytest.mark.parametrize("make", [
    lambda: tr.zeros(2, dtype=None), lambda: tr.ones(2, dtype=None), lambda: tr.full((2,), 1.0, dtype=None),
    lambda: tr.randn(2, dtype=None), lambda: tr.rand(2, dtype=None), lambda: tr.arange(3.0, dtype=None),
    lambda: tr.nn.Linear(3, 2, dtype=None).weight, lambda: tr.nn.Linear(3, 2, True, None).bias,
    lambda: tr.nn.LayerNorm(3, dtype=None).weight, lambda: tr.nn.Embedding(4, 2, dtype=None).weight,
    lambda: tr.nn.GRUCell(3, 2, dtype=None).weight_ih, lambda: tr.nn.LSTM(3, 2, dtype=None).weight_ih_l0,
])
def test_dtype_none_is_the_default_float32_as_torch(make):
    # torch reads dtype=None (and Linear's positional device=None) as the default dtype; numpy reads
    # np.dtype(None) as float64, which made these silently float64
    assert make().dtype == np.float32


def test_astype_none_is_refused_rather_than_a_silent_cast():
    # np.dtype(None) is float64: astype(None) upcast float32 silently; read as the default it would
    # downcast float64. torch's .to(None) keeps the dtype, as .to(None) does here.
    with pytest.raises(TypeError, match="astype: dtype must be float32 or float64, got None"):
        tr.zeros(2).astype(None)
    assert tr.zeros(2, dtype=np.float64).to(None).dtype == np.float64


def test_turning_off_requires_grad_of_a_computed_tensor_is_refused():
    """y = x * 2; y.requires_grad_(False) silently cut y off the tape, so x.grad lost y's share (torch
    raises: only a leaf's flag can be changed); a leaf's flag still turns off, and True on y is harmless."""
    x = tr.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    for turn_off in (lambda: y.requires_grad_(False), lambda: setattr(y, "requires_grad", False)):
        with pytest.raises(RuntimeError, match="only a leaf's flag.*detach"):
            turn_off()
    assert y.requires_grad_(True) is y and y.requires_grad
    (y * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 4 * x._data)  # d(2x^2)/dx, y's share included
    assert x.requires_grad_(False).requires_grad is False


def test_a_float_tensor_of_ids_is_refused_as_torch_refuses_it():
    """A float Tensor as indices: 0.7 was once truncated to row 0, then whole numbers were allowed; torch
    refuses any float index tensor with an IndexError, and so does this now (int64 and masks index)."""
    x = tr.Tensor(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(x[tr.tensor([0, 2])]._data, x._data[[0, 2]])
    np.testing.assert_array_equal(x[:, tr.tensor([3, -1])]._data, x._data[:, [3, -1]])
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x._data)
    for bad in ([0.0, 2.0], [0.7, 1.9], [0.0, np.nan]):
        with pytest.raises(IndexError, match="tensors used as indices must be long"):
            x[tr.Tensor(bad)]
        with pytest.raises(IndexError, match="tensors used as indices must be long"):
            tx[torch.tensor(bad)]
        with pytest.raises(IndexError, match="tensors used as indices must be long"):
            x[:, tr.Tensor(bad)]


def test_float_and_int_of_a_one_element_tensor():
    """float(loss) and int(x.argmax()) raised numpy-free TypeErrors ("argument must be a real number");
    torch converts one-element tensors (int truncates toward zero) and refuses more elements."""
    x = tr.Tensor([[-2.75]], requires_grad=True)
    assert float(x) == -2.75 and type(float(x)) is float
    assert int(x) == -2 and type(int(x)) is int
    assert int(tr.Tensor([1.0, 5.0, 3.0]).argmax()) == 1
    assert float(tr.Tensor([3.0]) > 1.5) == 1.0  # a one-element mask, as torch
    with pytest.raises(ValueError, match=r"one-element tensor.*shape \(2,\)"):
        float(tr.Tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="one-element"):
        int(tr.zeros(0))


def test_a_0d_tensor_formats_as_its_number_as_torch():
    """f"{norm:.3f}" of clip_grad_norm_'s 0-d total (a Tensor, as torch's) raised "unsupported format string";
    torch formats a 0-d tensor's number and refuses a spec for any other tensor."""
    torch = pytest.importorskip("torch")
    for value in (1.23456, -0.5):
        for spec in (".3f", "8.2e", "", "g"):
            theirs = torch.tensor(value, dtype=torch.float64)
            assert format(tr.tensor(value, dtype=np.float64), spec) == format(theirs, spec)
    for lib in (tr, torch):
        with pytest.raises(TypeError):
            format(lib.ones(2), ".3f")
        with pytest.raises(TypeError):
            format(lib.ones(1), ".3f")


def test_sizes_and_dims_take_torchs_keywords():
    """torch's keyword names were refused with Python's "unexpected keyword argument": x.transpose(dim0=,
    dim1=), x.permute(dims=), x.reshape(shape=), x.view(size=), x.expand(size=), x.flip(dims=),
    x.split(split_size=), x.swapaxes(axis0=, axis1=), tr.zeros/ones/randn/rand(size=), tr.full(size=)."""
    x = tr.Tensor(np.arange(6.0).reshape(1, 2, 3))
    same = [(x.transpose(dim0=0, dim1=2), x.transpose(0, 2)), (x.permute(dims=(2, 0, 1)), x.permute(2, 0, 1)),
            (x.reshape(shape=(3, -1)), x.reshape(3, -1)), (x.view(size=(6,)), x.view(6)),
            (x.expand(size=(4, 2, 3)), x.expand(4, 2, 3)), (x.flip(dims=(1, 2)), x.flip(1, 2)),
            (x.swapaxes(axis0=1, axis1=2), x.swapaxes(1, 2)), (tr.zeros(size=(2, 1)), tr.zeros(2, 1)),
            (tr.ones(size=[3]), tr.ones(3)), (tr.full(size=(2,), fill_value=1.5), tr.full((2,), 1.5))]
    same += list(zip(x.split(split_size=2, dim=2), x.split(2, 2)))
    for keyword, positional in same:
        assert keyword.shape == positional.shape and np.array_equal(keyword._data, positional._data)
    assert tr.randn(size=(2, 3)).shape == (2, 3) and tr.rand(size=(4,), dtype=np.float64).dtype == np.float64
    for both in (lambda: x.permute(2, 0, 1, dims=(2, 0, 1)), lambda: tr.zeros(2, size=(2,)),
                 lambda: x.transpose(0, dim1=1)):
        with pytest.raises(TypeError, match="dim|size"):
            both()


@pytest.mark.parametrize("call", [lambda x: x.softmax((0, 1)), lambda x: x.log_softmax([1]),
                                  lambda x: x.unsqueeze((0, 1)), lambda x: x.split(1, (0, 1)),
                                  lambda x: x.chunk(2, (0, 1)), lambda x: x.unbind((0, 1)),
                                  lambda x: tr.cat([x, x], (0, 1)), lambda x: tr.stack([x, x], (0, 1)),
                                  lambda x: x.argmax((0, 1)), lambda x: x.argmin(dim=[0]),
                                  lambda x: x.flatten((0,), 2), lambda x: x.flatten(0, [2])])
def test_one_dim_arguments_refuse_a_tuple_by_name(call):
    """Where torch takes one dim, a tuple failed deep inside ("slice indices must be integers", "'tuple' object
    cannot be interpreted as an integer"), and softmax((0, 1)) was taken as a softmax over both dims, which
    torch refuses; each is now a TypeError naming the argument."""
    with pytest.raises(TypeError, match=r"(dim|start_dim|end_dim) must be an int, got (tuple|list)"):
        call(tr.Tensor(np.ones((2, 3, 4))))


def test_arange_takes_end_as_a_keyword():
    """tr.arange(end=3) failed with "missing 1 required positional argument: 'start'" (torch's start
    defaults to 0); arange() with no end at all is refused by name."""
    np.testing.assert_array_equal(tr.arange(end=3)._data, [0, 1, 2])
    np.testing.assert_array_equal(tr.arange(end=2.0, step=0.5)._data, [0, 0.5, 1, 1.5])
    np.testing.assert_array_equal(tr.arange(4)._data, tr.arange(0, 4)._data)
    with pytest.raises(TypeError, match="arange: give end"):
        tr.arange()


def test_tensor_copies_its_data_as_torch_tensor_does():
    """tr.tensor(array) shared the array's memory, so refilling a reused buffer changed every tensor made
    from it (torch.tensor always copies); tr.Tensor(array) and tr.from_numpy(array) share, as torch's."""
    a = np.zeros(3, np.float32)
    x = tr.Tensor([1.0, 2.0])
    copied, from_tensor = tr.tensor(a), tr.tensor(x, requires_grad=True)
    shared, from_numpy = tr.Tensor(a), tr.from_numpy(a)
    a[0], x._data[0] = 5.0, 9.0
    assert copied._data[0] == 0.0 and from_tensor._data[0] == 1.0 and copied.dtype == np.float32
    assert shared._data[0] == 5.0 and from_numpy._data[0] == 5.0
    assert tr.tensor(np.ones(2)).dtype == np.float64 and tr.tensor(a[a > 1]).shape == (1,)


def test_retain_grad_returns_none_and_refuses_what_torch_refuses():
    """torch's retain_grad() returns None, and raises on a tensor that does not require grad (a constant, or a
    result computed under no_grad) rather than silently keeping nothing."""
    torch = pytest.importorskip("torch")
    for lib in (tr, torch):
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        assert y.retain_grad() is None and x.retain_grad() is None
        with lib.no_grad():
            z = x * 2
        for t in (lib.ones(2), z):
            with pytest.raises(RuntimeError, match="can't retain_grad on .*Tensor that has requires_grad=False"):
                t.retain_grad()
        (y * 3).sum().backward()
        np.testing.assert_array_equal(np.asarray(y.grad), [3.0, 3.0])


def _torch_positional(obj, name):
    """The names of a torch function's or method's positional parameters: from its signature where Python has
    one, else from its docstring's first line, `name(input, dim, *, out=None) -> Tensor` (None if neither)."""
    import inspect
    try:
        params = inspect.signature(obj).parameters.values()
        return [p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD and p.name != "self"]
    except (TypeError, ValueError):
        pass
    line = (obj.__doc__ or "").strip().split("\n")[0]
    if not line.startswith(name + "("):
        return None
    names = []
    for part in line[len(name) + 1:].split(")")[0].split(","):
        part = part.strip().lstrip("\\").split("=")[0].split(":")[0].strip()   # (a docstring escapes its `\*`)
        if part.startswith("*"):
            break
        names.append(part)
    return [n for n in names if n]


def _ours_parameters(fn):
    import inspect
    params = list(inspect.signature(fn).parameters.values())
    positional = [p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD and p.name != "self"]
    keywords = {p.name for p in params if p.kind == p.KEYWORD_ONLY}
    return positional, {p.name for p in params}, keywords, any(p.kind == p.VAR_POSITIONAL for p in params)


# not compared: torch's pickle options of save/load (no pickle here) and a docstring naming a type, not an argument
NOT_COMPARED = {"tr.save", "tr.load", "tr.set_num_threads",
                # torch's signatures name ormqr(input, tau, other) and orgqr(input, tau), its binding takes input2=
                # and input3= (tau= is a TypeError in torch 2.13): ours follow the binding. torch.eig(self, ...) (a
                # removed function that raises) names its first parameter self, which this comparison drops
                "tr.ormqr", "tr.orgqr", "tr.eig",
                # torch's docstrings name these bmm(batch2), div(value), fmod(divisor), but its binding takes mat2=
                # and other= (x.div(value=2) is a TypeError in torch 2.13): ours follow the binding
                "Tensor.bmm", "Tensor.div", "Tensor.divide", "Tensor.fmod",
                # narrow(dimension, start, length) in torch's docstring, x.narrow(dim=0, ...) in its binding
                # (dimension= is a TypeError there): tests/engine/test_view_ops_vs_torch.py calls it with dim=
                "Tensor.narrow",
                # docstrings name broadcast_to(shape), x.dot(other), x.where(condition, y); the binding takes size=,
                # tensor= and other= (the docstring's names are TypeErrors in torch 2.13): ours follow the binding
                "tr.broadcast_to", "Tensor.broadcast_to", "Tensor.dot", "Tensor.where",
                # x.index_copy(dim, index, tensor2) in torch's docstring; its binding takes source= (tensor2= is a
                # TypeError in torch 2.13): ours follow the binding, tests/engine/test_index_copy_vs_torch.py
                "Tensor.index_copy",
                # squeeze's docstring spells a type, `dim: Optional[Union[int, List[int]]]`, that the parser splits
                "tr.squeeze"}


def _callables():
    torch = pytest.importorskip("torch")
    for name in tr.__all__:
        if callable(getattr(tr, name)) and not isinstance(getattr(tr, name), type) and hasattr(torch, name):
            yield f"tr.{name}", getattr(tr, name), getattr(torch, name), name
    for name in sorted(vars(tr.Tensor)):
        if not name.startswith("_") and callable(getattr(tr.Tensor, name)) and hasattr(torch.Tensor, name):
            yield f"Tensor.{name}", getattr(tr.Tensor, name), getattr(torch.Tensor, name), name


def test_arguments_are_named_and_ordered_as_torchs():
    """Each torch positional parameter of a function in tr (tr.exp(input), tr.maximum(input, other), ...) or a
    Tensor method: ours has it at the same place, as a keyword of ours (tr.concatenate's axis=), or (past our
    positional ones) under the same name. torch's memory_format and out have no meaning here: left out."""
    wrong = []
    for label, ours, theirs, name in _callables():
        expected = _torch_positional(theirs, name)
        positional, names, keywords, varargs = _ours_parameters(ours)
        if expected is None or varargs or label in NOT_COMPARED:   # x.reshape(*shape): checked by its own tests
            continue
        for i, n in enumerate(e for e in expected if e not in ("memory_format", "out")):
            if n not in keywords and (positional[i] != n if i < len(positional) else n not in names):
                wrong.append(f"{label}: torch's argument {i} is {n!r}, ours {positional[i:i + 1] or sorted(names)}")
    assert wrong == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reductions_take_torchs_dtype_argument(dtype):
    """x.sum/mean/prod/norm(dtype=...) convert first, as torch's (a mask's mean with a float dtype included)."""
    torch = pytest.importorskip("torch")
    values = np.array([[0.5, -2.0, 3.0], [1.0, 0.0, -1.5]], np.float32)
    tdtype = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    for op in (lambda x, d: x.sum(dtype=d), lambda x, d: x.sum(1, dtype=d), lambda x, d: x.mean(0, dtype=d),
               lambda x, d: x.prod(dtype=d), lambda x, d: x.norm(dtype=d), lambda x, d: (x > 0).mean(dtype=d),
               lambda x, d: (x > 0).sum(0, dtype=d)):
        ours, theirs = op(tr.Tensor(values), dtype), op(torch.tensor(values), tdtype)
        assert ours.dtype == dtype and theirs.dtype == tdtype
        np.testing.assert_allclose(ours._data, theirs.numpy(), rtol=1e-6)


def test_backward_refuses_create_graph_by_name_and_takes_inputs_positionally():
    """torch's backward(gradient, retain_graph, create_graph, inputs): create_graph=True is refused by name (no
    differentiable backward here) rather than failing as an unknown argument; inputs, the fourth, is taken
    (tests/engine/test_autograd_grad_vs_torch.py holds it against torch)."""
    x, w = tr.ones(2, requires_grad=True), tr.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="backward: create_graph must be False"):
        (x * 2).sum().backward(create_graph=True)
    (x * w * 2).sum().backward(None, False, False, [x])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    assert w.grad is None
    (x * 2).sum().backward(None, False, False, None)
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_without_dim_only_where_torch_agrees(name):
    """torch's x.softmax() needs dim; F.softmax(x) without it picks dim 0 for a 3-D x and -1 for up to 2-D
    (deprecated). x.softmax() here takes -1 up to 2-D, where the two agree, and refuses a 3-D x as torch's
    method does, rather than take -1 where F would take 0."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    with pytest.raises(TypeError):
        getattr(torch.tensor(x), name)()
    with pytest.raises(TypeError, match=f"{name}: pass dim= for a 3-D tensor"):
        getattr(tr.Tensor(x), name)()
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        expected = getattr(torch.nn.functional, name)(torch.tensor(x[0])).numpy()
    np.testing.assert_allclose(getattr(tr.Tensor(x[0]), name)()._data, expected, rtol=1e-12)


def test_factories_refuse_what_numpy_would_convert_silently():
    """np.full took fill_value '1' as 1, True as 1.0 (torch makes a bool tensor) and broadcast an array
    into the shape; zeros_like/ones_like(dtype=np.int32) made int zeros that Tensor turned into float32;
    arange(0, 5, -1) and arange(-1) were empty (torch refuses the opposite signs), arange('5') and
    arange(nan) failed inside numpy. Each is refused by name; the numbers torch takes still work."""
    for bad in ("1", True, np.array([1.0, 2.0])):
        with pytest.raises(TypeError, match="full: fill_value must be a number, got"):
            tr.full((2,), bad)
    np.testing.assert_array_equal(tr.full((2,), tr.tensor(1.5))._data, [1.5, 1.5])   # a 0-d tensor, as torch
    np.testing.assert_array_equal(tr.full((2,), np.float64(2.0), dtype=np.float64)._data, [2.0, 2.0])
    for fn in (tr.zeros_like, tr.ones_like):
        with pytest.raises(TypeError, match=f"{fn.__name__}: dtype must be float32 or float64, got int32"):
            fn(tr.zeros(2), dtype=np.int32)
        assert fn(tr.zeros(2), dtype=np.float64).dtype == np.float64
    for args in ((0, 5, -1), (5, 0, 1), (-1,)):
        with pytest.raises(ValueError, match="arange: end - start and step have opposite signs"):
            tr.arange(*args)
    with pytest.raises(TypeError, match="arange: end must be a number, got str '5'"):
        tr.arange("5")
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="arange: end must be finite"):
            tr.arange(bad)
    assert tr.arange(0, 0).shape == (0,) and tr.arange(1, 1, -1).shape == (0,)   # empty but consistent: as torch
    np.testing.assert_array_equal(tr.arange(5, 0, -2)._data, [5, 3, 1])


def test_backward_retain_graph_is_a_bool():
    """backward(retain_graph="no") kept the graph (a truthy string); torch refuses a string. None (torch's
    default) means False; True keeps the graph for a second backward."""
    x = leaf(np.ones(3))
    y = (x * x).sum()
    with pytest.raises(TypeError, match="backward: retain_graph must be True or False, got str 'no'"):
        y.backward(retain_graph="no")
    y.backward(retain_graph=None)
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])
    z = (x * 3.0).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(x.grad, [8.0, 8.0, 8.0])


@pytest.mark.parametrize("fn", ["mean", "var", "std", "norm", "softmax", "log_softmax"])
@pytest.mark.parametrize("values", [[0, 1, 2, 3], [True, False, True]])
def test_float_functions_of_ints_and_masks_raise_torchs_error_type(fn, values):
    """torch refuses them with a RuntimeError (mean, var, std, norm) or a NotImplementedError (softmax): ours is
    an instance of both (and of the library's TypeError), so torch code's `except` catches it."""
    torch = pytest.importorskip("torch")
    from conftest import raises_as_torch
    call = (lambda x: getattr(x, fn)(0)) if fn in ("softmax", "log_softmax") else (lambda x: getattr(x, fn)())
    raises_as_torch(lambda: call(torch.tensor(values)), lambda: call(tr.tensor(values)), f"{fn}.*: input must be")
    with pytest.raises(TypeError):
        call(tr.tensor(values))
