"""MultiheadAttention and the Transformer layers against torch 2.13 where a query may attend nowhere (every key
masked) and where the masks' types are mixed. torch's fast paths (eval mode, no gradient to record, batch_first,
bool masks for MultiheadAttention; the encoder layer's torch._transformer_encoder_layer_fwd) give nan at such a
query, its ordinary path 0 in the attention (need_weights=False): ours gives the same numbers, nan where torch's
are, in every mode. A bool padding mask with a float attention mask: torch's deprecation UserWarning, in its words,
as many times as torch gives it."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
NOWHERE = np.array([[True, True, True], [False, True, True]])   # batch entry 0 attends nowhere
PADDING = np.array([[False, False, True], [False, True, True]])


def _pair(make):
    torch.manual_seed(0)
    theirs = make(torch)
    ours = make(tr)
    ours.load_state_dict({k: tr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _t(lib, a):
    return torch.tensor(a) if lib is torch else tr.tensor(a)


MODULES = {
    "MultiheadAttention": (lambda lib: lib.nn.MultiheadAttention(4, 2, batch_first=True),
                           lambda m, lib, x, kpm: m(x, x, x, key_padding_mask=kpm, need_weights=False)[0]),
    "MultiheadAttention weights": (lambda lib: lib.nn.MultiheadAttention(4, 2, batch_first=True),
                                   lambda m, lib, x, kpm: m(x, x, x, key_padding_mask=kpm)[0]),
    "TransformerEncoderLayer": (lambda lib: lib.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True),
                                lambda m, lib, x, kpm: m(x, src_key_padding_mask=kpm)),
    "TransformerEncoderLayer float mask": (
        lambda lib: lib.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True, norm_first=True),
        lambda m, lib, x, kpm: m(x, src_mask=_t(lib, np.where(NOWHERE[0], -np.inf, 0).astype(np.float32)
                                               * np.ones((3, 1), np.float32)))),
    "TransformerEncoder": (
        lambda lib: lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True),
                                              2, enable_nested_tensor=False),
        lambda m, lib, x, kpm: m(x, src_key_padding_mask=kpm)),
}


@pytest.mark.parametrize("grad", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("name", list(MODULES))
def test_a_query_that_attends_nowhere_gives_torchs_numbers_in_every_mode(name, training, grad):
    make, call = MODULES[name]
    ours, theirs = _pair(make)
    results = []
    for lib, module in ((tr, ours), (torch, theirs)):
        module.train(training)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # (torch's nested-tensor notice for TransformerEncoder)
            with torch.set_grad_enabled(grad), tr.set_grad_enabled(grad):
                results.append(call(module, lib, _t(lib, X), _t(lib, NOWHERE)).detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-5)   # nan where torch's is nan


def test_a_hook_on_the_layer_takes_torchs_ordinary_path():
    make, call = MODULES["TransformerEncoderLayer"]
    ours, theirs = _pair(make)
    results = []
    for lib, module in ((tr, ours), (torch, theirs)):
        module.eval()
        module.register_forward_hook(lambda *args: None)
        with torch.no_grad(), tr.no_grad():
            results.append(call(module, lib, _t(lib, X), _t(lib, NOWHERE)).detach().numpy())
    assert np.isfinite(results[1]).all()
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-5)


def _layers(lib):
    torch.manual_seed(0)
    encoder_layer = lib.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
    decoder_layer = lib.nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
    return {
        "MultiheadAttention": lambda x, m, k: lib.nn.MultiheadAttention(4, 2, batch_first=True)(
            x, x, x, key_padding_mask=k, attn_mask=m),
        "TransformerEncoderLayer": lambda x, m, k: encoder_layer(x, src_mask=m, src_key_padding_mask=k),
        "TransformerEncoder": lambda x, m, k: lib.nn.TransformerEncoder(
            encoder_layer, 2, enable_nested_tensor=False)(x, mask=m, src_key_padding_mask=k),
        "TransformerDecoderLayer": lambda x, m, k: decoder_layer(x, x, tgt_mask=m, tgt_key_padding_mask=k),
        "TransformerDecoderLayer memory": lambda x, m, k: decoder_layer(x, x, memory_mask=m,
                                                                        memory_key_padding_mask=k),
        "TransformerDecoder": lambda x, m, k: lib.nn.TransformerDecoder(decoder_layer, 2)(
            x, x, tgt_mask=m, tgt_key_padding_mask=k),
        "Transformer src": lambda x, m, k: lib.nn.Transformer(4, 2, 1, 1, 8, dropout=0.0, batch_first=True)(
            x, x, src_mask=m, src_key_padding_mask=k),
        "Transformer tgt": lambda x, m, k: lib.nn.Transformer(4, 2, 1, 1, 8, dropout=0.0, batch_first=True)(
            x, x, tgt_mask=m, tgt_key_padding_mask=k),
    }


def _warnings_of(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [(w.category, str(w.message)) for w in caught if "mismatched" in str(w.message)]


@pytest.mark.parametrize("float_mask", [True, False])
@pytest.mark.parametrize("name", list(_layers(tr)))
def test_mixed_mask_types_give_torchs_deprecation_warning(name, float_mask):
    got = {}
    for lib in (tr, torch):
        mask = _t(lib, np.zeros((3, 3), np.float32) if float_mask else np.zeros((3, 3), bool))
        got[lib] = _warnings_of(lambda lib=lib, mask=mask: _layers(lib)[name](_t(lib, X), mask,
                                                                             _t(lib, PADDING)))
    assert got[tr] == got[torch]
    assert bool(got[tr]) == float_mask
