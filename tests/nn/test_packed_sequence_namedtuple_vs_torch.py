"""PackedSequence's namedtuple API, which torch code uses (`packed._replace(data=f(packed.data))` to apply a layer to
the packed steps): _replace, _asdict, _make, _fields, _field_defaults, as torch 2.13's. They were missing (an
AttributeError); indexing and unpacking stay refused."""
import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn

LENGTHS = [2, 4, 1]   # not sorted: a pack with enforce_sorted=False carries a permutation


def _both(enforce_sorted):
    x = np.random.default_rng(0).standard_normal((4, 3, 2))
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    ours_x, theirs_x = tr.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours = pack_padded_sequence(ours_x, lengths, enforce_sorted=enforce_sorted)
    theirs = trnn.pack_padded_sequence(theirs_x, lengths, enforce_sorted=enforce_sorted)
    return (ours_x, ours), (theirs_x, theirs)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_replace_data_as_torch_code_does(enforce_sorted):
    (ours_x, ours), (theirs_x, theirs) = _both(enforce_sorted)
    weight = np.linspace(-1, 1, 10).reshape(5, 2)
    ours_new = ours._replace(data=(ours.data @ tr.Tensor(weight).T).tanh())
    theirs_new = theirs._replace(data=(theirs.data @ torch.tensor(weight).T).tanh())
    assert type(ours_new) is PackedSequence
    np.testing.assert_allclose(ours_new.data.data, theirs_new.data.detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ours_new.batch_sizes.data, theirs_new.batch_sizes.numpy())
    ours_padded, ours_lengths = pad_packed_sequence(ours_new)
    theirs_padded, theirs_lengths = trnn.pad_packed_sequence(theirs_new)
    np.testing.assert_allclose(ours_padded.data, theirs_padded.detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ours_lengths.data, theirs_lengths.numpy())
    g = np.arange(ours_padded.data.size, dtype=np.float64).reshape(ours_padded.shape)
    (ours_padded * tr.Tensor(g)).sum().backward()
    (theirs_padded * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours_x.grad, theirs_x.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_asdict_fields_and_make_as_torch(enforce_sorted):
    (_, ours), (_, theirs) = _both(enforce_sorted)
    assert ours._fields == theirs._fields and ours._field_defaults == theirs._field_defaults
    ours_dict, theirs_dict = ours._asdict(), theirs._asdict()
    assert type(ours_dict) is type(theirs_dict) and list(ours_dict) == list(theirs_dict)
    for name in ("data", "batch_sizes"):
        np.testing.assert_array_equal(ours_dict[name].data, theirs_dict[name].detach().numpy())
    if not enforce_sorted:
        for name in ("sorted_indices", "unsorted_indices"):
            np.testing.assert_array_equal(ours_dict[name].data, theirs_dict[name].numpy())
    remade = PackedSequence._make(ours_dict.values())
    np.testing.assert_array_equal(remade.data.data, ours.data.data)
    np.testing.assert_array_equal(remade.lengths, ours.lengths)
    if enforce_sorted:   # as torch's: no indices after enforce_sorted=True, nor in what is made from its fields
        assert remade.sorted_indices is remade.unsorted_indices is theirs.sorted_indices is None
    else:
        np.testing.assert_array_equal(remade.sorted_indices.data, ours.sorted_indices.data)


def test_wrong_field_names_and_counts_are_torchs_errors():
    (_, ours), (_, theirs) = _both(False)
    with pytest.raises(ValueError, match="Got unexpected field names"):
        theirs._replace(padded=1)
    with pytest.raises(ValueError, match=r"Got unexpected field names: \['padded'\]"):
        ours._replace(padded=1)
    with pytest.raises(TypeError, match="Expected 4 arguments, got 2"):
        trnn.PackedSequence._make([theirs.data, theirs.batch_sizes])
    with pytest.raises(TypeError, match="Expected 4 arguments, got 2"):
        PackedSequence._make([ours.data, ours.batch_sizes])


def test_replace_checks_what_it_builds_and_indexing_stays_refused():
    (_, ours), _ = _both(False)
    with pytest.raises(ValueError, match="batch_sizes must be positive, non-increasing and add up to data's 6 rows"):
        ours._replace(data=ours.data[:6])
    with pytest.raises(TypeError, match="PackedSequence is not a tuple here"):
        ours[0]
