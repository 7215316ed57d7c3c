"""tr.utils.data's random orders by their properties (they are numpy's numbers, not torch's): a permutation each
epoch, another one the next epoch, the same under the same seed or generator, torch's replacement and
num_samples rules, and WeightedRandomSampler's frequencies against its weights."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr
from tinygrad_rnn.utils import data


def epochs(loader, count=3):
    """The sample order of each of `count` passes over a loader of indices (batches flattened)."""
    return [[int(i) for batch in loader for i in np.atleast_1d(batch.data)] for _ in range(count)]


def test_random_sampler_is_a_new_permutation_each_pass():
    sampler = data.RandomSampler(range(20))
    passes = [list(sampler) for _ in range(3)]
    assert all(sorted(p) == list(range(20)) for p in passes)
    assert passes[0] != passes[1] != passes[2]


def test_random_sampler_follows_the_seed_read_at_each_pass():
    sampler = data.RandomSampler(range(20))  # made before the seed: the library's generator is read per pass
    orders = []
    for make in (lambda: sampler, lambda: sampler, lambda: data.RandomSampler(range(20))):
        tr.manual_seed(3)
        orders.append(list(make()))
    assert orders[0] == orders[1] == orders[2]


def test_a_generator_gives_the_same_orders_and_leaves_the_library_generator_alone():
    tr.manual_seed(0)
    before = tr.random.generator().bit_generator.state
    a = data.RandomSampler(range(30), generator=np.random.default_rng(5))
    b = data.RandomSampler(range(30), generator=np.random.default_rng(5))
    assert [list(a) for _ in range(2)] == [list(b) for _ in range(2)]
    assert tr.random.generator().bit_generator.state == before


@pytest.mark.parametrize("n, num_samples", [(5, 12), (5, 10), (5, 3), (1, 4)])
def test_without_replacement_num_samples_takes_whole_permutations_then_part_of_one(n, num_samples):
    drawn = list(data.RandomSampler(range(n), num_samples=num_samples))
    assert len(drawn) == num_samples
    for start in range(0, num_samples, n):
        block = drawn[start:start + n]
        assert len(set(block)) == len(block) and set(block) <= set(range(n))


def test_with_replacement_draws_num_samples_indices_in_range_with_repeats():
    drawn = list(data.RandomSampler(range(3), replacement=True, num_samples=200))
    assert len(drawn) == 200 and set(drawn) == {0, 1, 2}
    assert len(list(data.RandomSampler(range(3), replacement=True))) == 3


def test_subset_random_sampler_permutes_its_indices():
    indices = [10, 4, 7, 21, 3, 8, 15, 9]
    sampler = data.SubsetRandomSampler(indices)
    passes = [list(sampler) for _ in range(3)]
    assert all(sorted(p) == sorted(indices) for p in passes) and passes[0] != passes[1]
    one, two = (list(data.SubsetRandomSampler(indices, np.random.default_rng(1))) for _ in range(2))
    assert one == two


def test_weighted_sampler_draws_its_weights_frequencies():
    weights = np.array([1.0, 2.0, 3.0, 0.0, 4.0])
    n = 20000
    counts = np.bincount(list(data.WeightedRandomSampler(weights, n)), minlength=5)
    p = weights / weights.sum()
    sigma = np.sqrt(n * p * (1 - p))
    assert counts[3] == 0
    assert np.all(np.abs(counts - n * p) <= 5 * sigma + 1e-9), (counts, n * p)


def test_weighted_sampler_without_replacement_draws_each_index_once():
    for _ in range(20):
        drawn = list(data.WeightedRandomSampler([1.0, 5.0, 0.0, 2.0], 3, replacement=False))
        assert sorted(drawn) == [0, 1, 3]
    heavy_first = [list(data.WeightedRandomSampler([1.0, 100.0], 2, replacement=False))[0] for _ in range(200)]
    assert heavy_first.count(1) > 150


@pytest.mark.parametrize("make", [
    lambda g: data.RandomSampler(range(3), generator=g),
    lambda g: data.SubsetRandomSampler([1, 2], generator=g),
    lambda g: data.WeightedRandomSampler([1.0], 1, generator=g),
    lambda g: data.random_split(range(3), [1, 2], generator=g),
    lambda g: data.DataLoader(range(3), shuffle=True, generator=g),
])
def test_a_generator_that_is_not_numpys_is_refused(make):
    with pytest.raises(TypeError, match="generator must be a tr.Generator, a numpy Generator"):
        make(12345)


def test_random_split_follows_its_generator_and_the_seed():
    def split(**kw):
        return [list(s) for s in data.random_split(range(50), [0.5, 0.3, 0.2], **kw)]

    assert split(generator=np.random.default_rng(4)) == split(generator=np.random.default_rng(4))
    tr.manual_seed(8)
    first = split()
    tr.manual_seed(8)
    assert split() == first != split()
    assert sorted(i for s in first for i in s) == list(range(50))


def test_shuffled_loader_reshuffles_each_epoch_and_follows_the_seed():
    loader = data.DataLoader(range(40), batch_size=6, shuffle=True)
    tr.manual_seed(1)
    first = epochs(loader)
    assert all(sorted(e) == list(range(40)) for e in first)
    assert first[0] != first[1] != first[2]
    tr.manual_seed(1)
    assert epochs(loader) == first
    loaders = [data.DataLoader(range(40), batch_size=6, shuffle=True, generator=np.random.default_rng(2))
               for _ in range(2)]
    assert epochs(loaders[0]) == epochs(loaders[1])


@given(n=st.integers(0, 30), batch_size=st.integers(1, 8), drop_last=st.booleans(), shuffle=st.booleans())
def test_loader_batches_cover_the_dataset(n, batch_size, drop_last, shuffle):
    """Every batch but a dropped last one is full; together they hold each sample once (all of them, or all but
    the dropped remainder); len() counts them. An empty dataset cannot be shuffled (torch's RandomSampler refuses
    num_samples=0 too)."""
    if n == 0 and shuffle:
        with pytest.raises(ValueError, match="num_samples=0"):
            data.DataLoader(np.arange(n), batch_size=batch_size, shuffle=shuffle)
        return
    loader = data.DataLoader(np.arange(n), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
    batches = [b.data.tolist() for b in loader]
    assert len(batches) == len(loader)
    assert all(len(b) == batch_size for b in batches[:-1])
    seen = [i for b in batches for i in b]
    assert len(seen) == len(set(seen)) == (n - n % batch_size if drop_last else n)
    assert set(seen) <= set(range(n))
