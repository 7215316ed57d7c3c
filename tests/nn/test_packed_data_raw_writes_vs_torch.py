"""A PackedSequence's `.data` written where no version moves (through `packed.data.numpy()`, `.detach().numpy()`,
`.data.data`, a view's array), held against torch 2.13, whose PackedSequence holds `.data` alone: pad_packed_sequence
and a recurrent layer read the written values, and the gradients reach the padded batch the sequence was packed
from (nn/sequences.py _memory_handed_out: the padded batch kept here is rebuilt from .data once its memory was
handed out)."""
import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")


def _raw_write(lib, packed, how, requires_grad):
    data = packed.data
    if how == "numpy":
        array = data.detach().numpy() if requires_grad else data.numpy()
    elif how == "detach_numpy":
        array = data.detach().numpy()
    elif how == "data_data":
        data.data.mul_(-2.0)   # (a write through .data moves no version of data, as torch's)
        return
    else:   # an array of a view of data's second row
        array = data.detach()[1].numpy()
    array[...] = array * 3.0 + 1.0


def _run(lib, how, requires_grad):
    """The padded batch of a packed one whose .data was written raw, and x's gradient through it."""
    x = lib.tensor(np.random.default_rng(4).standard_normal((4, 3, 2)), requires_grad=requires_grad)
    utils = torch.nn.utils.rnn if lib is torch else tr.nn.utils.rnn
    packed = utils.pack_padded_sequence(x, [4, 2, 3], enforce_sorted=False)
    _raw_write(lib, packed, how, requires_grad)
    padded, _ = utils.pad_packed_sequence(packed)
    grad = None
    if requires_grad:
        (padded * padded).sum().backward()
        grad = x.grad.numpy()
    return padded.detach().numpy(), grad


@pytest.mark.parametrize("how", ["numpy", "detach_numpy", "data_data", "view_numpy"])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_pad_packed_sequence_reads_a_raw_write_of_data_as_torch(how, requires_grad):
    theirs, their_grad = _run(torch, how, requires_grad)
    ours, our_grad = _run(tr, how, requires_grad)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    if requires_grad:
        np.testing.assert_allclose(our_grad, their_grad, rtol=1e-12)


@pytest.mark.parametrize("how", ["numpy", "view_numpy"])
def test_a_layer_reads_a_raw_write_of_data_as_torch(how):
    tr.manual_seed(0)
    rng = np.random.default_rng(5)
    theirs_layer = torch.nn.GRU(2, 3, dtype=torch.float64)
    ours_layer = tr.nn.GRU(2, 3, dtype=np.float64)
    with torch.no_grad():
        for name, p in theirs_layer.named_parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
            getattr(ours_layer, name).detach().copy_(tr.from_numpy(p.detach().numpy().copy()))
    outs = []
    for lib, layer in ((torch, theirs_layer), (tr, ours_layer)):
        x = lib.tensor(np.random.default_rng(6).standard_normal((4, 3, 2)))
        utils = torch.nn.utils.rnn if lib is torch else tr.nn.utils.rnn
        packed = utils.pack_padded_sequence(x, [4, 2, 3], enforce_sorted=False)
        _raw_write(lib, packed, how, False)
        out, _ = layer(packed)
        outs.append(utils.pad_packed_sequence(out)[0].detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-10)
