"""tr.multinomial's draws against the distribution they sample (numpy's numbers, not torch's), and the
argument checks of multinomial, gather, cumsum, sort, argsort and topk: where torch refuses an argument,
a TypeError or ValueError names it (torch's own refusal is checked alongside where torch is installed)."""
import numpy as np
import pytest

import tinygrad_rnn as tr

P = np.array([0.1, 0.0, 0.2, 0.7])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multinomial_with_replacement_draws_the_distribution(dtype):
    tr.manual_seed(0)
    probs = tr.Tensor(np.stack([P * 3, P[::-1]]), dtype=dtype)   # unnormalised weights, as torch takes
    draws = tr.multinomial(probs, 20000, replacement=True)
    assert draws.dtype == np.int64 and draws.shape == (2, 20000) and not draws.requires_grad
    for row, p in zip(draws._data, (P, P[::-1])):
        freq = np.bincount(row, minlength=4) / row.size
        assert freq[p == 0].sum() == 0   # a zero weight is never drawn
        np.testing.assert_allclose(freq, p, atol=0.015)
    assert probs.multinomial(3, True).shape == (2, 3) and tr.multinomial(probs[0], 5, True).shape == (5,)


def test_multinomial_without_replacement_draws_in_order_of_weight():
    """The first draw follows p, the second p_j * sum_i p_i / (1 - p_i) over i != j; no index twice."""
    gen = np.random.default_rng(1)
    weights = np.array([0.1, 0.3, 0.6])
    draws = tr.multinomial(tr.Tensor(np.tile(weights, (20000, 1))), 2, generator=gen)._data
    assert np.all(draws[:, 0] != draws[:, 1])
    np.testing.assert_allclose(np.bincount(draws[:, 0], minlength=3) / len(draws), weights, atol=0.015)
    second = [sum(weights[i] * weights[j] / (1 - weights[i]) for i in range(3) if i != j) for j in range(3)]
    np.testing.assert_allclose(np.bincount(draws[:, 1], minlength=3) / len(draws), second, atol=0.015)
    every = tr.multinomial(tr.Tensor(weights), 3)._data
    assert sorted(every) == [0, 1, 2]


def test_multinomial_follows_the_seed_and_the_generator():
    probs = tr.Tensor(P)
    tr.manual_seed(5)
    a = tr.multinomial(probs, 8, replacement=True)._data
    tr.manual_seed(5)
    assert np.array_equal(a, tr.multinomial(probs, 8, replacement=True)._data)
    b = tr.multinomial(probs, 8, True, generator=np.random.default_rng(7))._data
    assert np.array_equal(b, tr.multinomial(probs, 8, True, generator=np.random.default_rng(7))._data)
    assert tr.multinomial(tr.zeros(0, 3), 2).shape == (0, 2)   # no rows: no draws, as torch


BAD_MULTINOMIAL = [
    (lambda lib, p: lib.multinomial(p, 5), ValueError, "num_samples must be at most 4 without replacement"),
    (lambda lib, p: lib.multinomial(p, 0), ValueError, "num_samples must be at least 1"),
    (lambda lib, p: lib.multinomial(p, 2.0), TypeError, "num_samples must be an int"),
    (lambda lib, p: lib.multinomial(p, 2, replacement=1), TypeError, "replacement must be True or False"),
    (lambda lib, p: lib.multinomial(p * -1, 1), ValueError, "negative"),
    (lambda lib, p: lib.multinomial(p * float("nan"), 1), ValueError, "nan"),
    (lambda lib, p: lib.multinomial(p * 0, 1), ValueError, "sums to 0"),
    (lambda lib, p: lib.multinomial(p.reshape(2, 1, 2), 1), ValueError, "1-D or 2-D"),
    (lambda lib, p: lib.multinomial(p.sum(), 1), ValueError, "1-D or 2-D"),
    (lambda lib, p: lib.multinomial(p > 0, 1), TypeError, "float Tensor"),
]


@pytest.mark.parametrize("call, error, match", BAD_MULTINOMIAL)
def test_multinomial_refuses_what_torch_refuses(call, error, match):
    with pytest.raises(error, match=match) as ours:
        call(tr, tr.Tensor(P))
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, TypeError)) as theirs:
        call(torch, torch.tensor(P))
    assert isinstance(ours.value, type(theirs.value))   # torch's type too: `except RuntimeError` catches both
    with pytest.raises(TypeError, match="generator must be a tr.Generator, a numpy Generator"):
        tr.multinomial(tr.Tensor(P), 1, generator=3)


INDEX = np.array([[0, 1], [2, 0]])
BAD_OPS = [
    (lambda lib, x, i: x.gather(2, i), IndexError, "gather: Dimension out of range .* but got 2"),
    (lambda lib, x, i: x.gather(1.0, i), TypeError, "gather: dim must be an int"),
    (lambda lib, x, i: x.gather(1, i * 1.0), TypeError, "gather: index must be an int64"),
    (lambda lib, x, i: x.gather(1, i + 2), ValueError, "gather: index 4 is out of range for dim 1 of size 3"),
    (lambda lib, x, i: x.gather(1, i - 1), ValueError, "gather: index -1 is out of range"),
    (lambda lib, x, i: x.gather(1, i[0]), ValueError, "gather: index must have the input's number of dims"),
    (lambda lib, x, i: x.gather(1, i.repeat(2, 1) if lib.__name__ == "torch" else np.tile(i, (2, 1))),
     ValueError, "larger than the input"),
    (lambda lib, x, i: x.gather(1, i.tolist()), TypeError, "gather: index must be an int64 Tensor"),
    (lambda lib, x, i: x.scatter_add(1, i * 1.0, x), TypeError, "scatter_add: index must be an int64"),
    (lambda lib, x, i: x.scatter_add(1, i + 2, x), ValueError, "scatter_add: index 4 is out of range"),
    (lambda lib, x, i: x.scatter_add(1, i, 1.0), TypeError, "scatter_add: src must be a Tensor"),
    (lambda lib, x, i: x.scatter_add(1, i, x[:, :1]), ValueError, "no larger than src"),
    (lambda lib, x, i: x.scatter(1, i, x.double() if lib.__name__ == "torch" else x.astype(np.float64)),
     TypeError, "scatter: src must have the tensor's dtype"),
    (lambda lib, x, i: x.scatter(3, i, 1.0), IndexError, "scatter: Dimension out of range .* but got 3"),
    (lambda lib, x, i: x.scatter(1, i, "a"), TypeError, "scatter: src must be a Tensor or a number"),
    (lambda lib, x, i: x.cumsum(2), IndexError, "cumsum: Dimension out of range .* but got 2"),
    (lambda lib, x, i: x.cumsum(None), TypeError, "cumsum: dim must be an int"),
    (lambda lib, x, i: x.cumsum(0, dtype=lib.int64 if lib.__name__ == "torch" else np.int64), TypeError,
     "cumsum: dtype int64 has no gradient"),
    (lambda lib, x, i: x.sort(3), IndexError, "sort: Dimension out of range .* but got 3"),
    (lambda lib, x, i: x.sort(0, descending="yes"), TypeError, "descending must be True or False"),
    (lambda lib, x, i: x.argsort(dim=(0,)), TypeError, "argsort: dim must be an int"),
    (lambda lib, x, i: x.topk(4), ValueError, "topk: k must be an int from 0 to the size of dim -1 \\(3\\)"),
    (lambda lib, x, i: x.topk(-1), ValueError, "topk: k must be an int"),
    (lambda lib, x, i: x.topk(2.0), TypeError, "topk: k must be an int"),
    (lambda lib, x, i: x.topk(1, dim=5), IndexError, "topk: Dimension out of range .* but got 5"),
]


@pytest.mark.parametrize("call, error, match", BAD_OPS)
def test_gather_cumsum_sort_topk_refuse_bad_arguments_by_name(call, error, match):
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    with pytest.raises(error, match=match):
        call(tr, tr.Tensor(x, requires_grad=True), INDEX)
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, TypeError, IndexError)):
        call(torch, torch.tensor(x, requires_grad=True), torch.tensor(INDEX))


def test_scatter_makes_one_hot_rows_and_counts_as_torch():
    labels = np.array([[2], [0], [3]])
    one_hot = tr.zeros(3, 4).scatter(1, labels, 1.0)
    assert one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot._data, np.eye(4, dtype=np.float32)[labels[:, 0]])
    counts = tr.zeros(4).scatter_add(0, np.array([1, 3, 1, 1]), tr.ones(4))
    np.testing.assert_array_equal(counts._data, np.bincount([1, 3, 1, 1], minlength=4))
