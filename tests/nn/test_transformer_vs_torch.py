"""tr.nn.Transformer, TransformerEncoder(Layer) and TransformerDecoder(Layer) against torch 2.13's: torch's parameter
names, order and shapes (its state_dict loads), its initialisation; outputs and the gradients of inputs and every
parameter, float32 and float64, batch_first both ways, norm_first, bias, activations, every mask and is_causal
flag, unbatched inputs, train and eval; the values torch's eval "fast path" gives (zeros at padded positions when
it packs a nested tensor); its construction warning and its errors."""
import warnings

import numpy as np
import pytest
from conftest import raises_as_torch, torch_error
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

D, H, FF, N, S, T = 8, 2, 12, 3, 5, 4
TOL = {"float32": 2e-5, "float64": 1e-10}


def dtype_of(lib, dtype):
    return getattr(torch, dtype) if lib is torch else dtype


def pair(make, dtype="float64"):
    """make(lib, dtype) in torch and ours (warnings silenced), ours loaded with torch's state_dict."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, ours = make(torch, dtype_of(torch, dtype)), make(tr, dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def to_lib(lib, array, dtype):
    """A numpy mask or input as lib's tensor (float ones in dtype)."""
    if array is None:
        return None
    if array.dtype.kind == "f":
        array = array.astype(dtype)
    return torch.tensor(array) if lib is torch else tr.tensor(array)


def run(lib, module, arrays, masks, dtype, **flags):
    """module(*arrays, **masks, **flags) backpropagated with a fixed upstream gradient: the output, the inputs'
    gradients and the parameters' (by name), as numpy arrays."""
    inputs = [to_lib(lib, a, dtype).requires_grad_() for a in arrays]
    kwargs = {k: to_lib(lib, v, dtype) for k, v in masks.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's warnings about mismatched mask types
        out = module(*inputs, **kwargs, **flags)
    up = np.random.default_rng(7).standard_normal(tuple(out.shape)).astype(dtype)
    out.backward(torch.tensor(up) if lib is torch else tr.tensor(up))
    numpy = (lambda t: t.detach().numpy()) if lib is torch else (lambda t: t.detach().numpy())
    grads = {f"input {i}": numpy(t.grad) for i, t in enumerate(inputs)}
    grads.update({name: numpy(p.grad) for name, p in module.named_parameters()})
    return numpy(out), grads


def same_as_torch(make, arrays, masks=None, dtype="float64", train=True, **flags):
    theirs, ours = pair(make, dtype)
    theirs.train(train)
    ours.train(train)
    arrays = [a.astype(dtype) for a in arrays]
    out_o, grads_o = run(tr, ours, arrays, masks or {}, dtype, **flags)
    out_t, grads_t = run(torch, theirs, arrays, masks or {}, dtype, **flags)
    assert out_o.dtype == np.dtype(dtype) and out_o.shape == out_t.shape
    assert list(grads_o) == list(grads_t)
    if dtype == "float64":
        close(out_o, out_t, "output")
        for name in grads_t:
            close(grads_o[name], grads_t[name], f"gradient of {name}")
        return
    # In float32 an ill-conditioned case (a LayerNorm over two nearly equal features) loses digits in torch's run as
    # in ours: both are held against torch's float64 run (see close_as_torch).
    theirs.zero_grad(set_to_none=True)
    theirs.double()
    out_r, grads_r = run(torch, theirs, [a.astype("float64") for a in arrays], masks or {}, "float64", **flags)
    close_as_torch(out_o, out_t, out_r, "output")
    for name in grads_t:
        close_as_torch(grads_o[name], grads_t[name], grads_r[name], f"gradient of {name}")


def close(ours, theirs, what):
    np.testing.assert_allclose(ours, theirs, rtol=TOL["float64"], atol=TOL["float64"], err_msg=what)


def close_as_torch(ours, theirs, exact, what):
    """ours (float32) within TOL of the float64 result elementwise, plus ten times torch's own largest float32 error
    in the tensor (how ill-conditioned it is) and 1e-3 of the tensor's largest value: a LayerNorm over two features
    near each other cancels digits in either library, by chance more in one (the float64 runs hold the formulas)."""
    exact = exact.astype("float64")
    scale = np.max(np.abs(exact), initial=0)
    allowed = TOL["float32"] * (1 + np.abs(exact)) + 10 * np.max(np.abs(theirs - exact), initial=0) + 1e-3 * scale
    error = np.abs(ours - exact)
    assert np.all(error <= allowed), f"{what}: worst error {np.max(error - allowed):.3g} beyond the allowed"


def seq(rng, length, batch_first, batched=True):
    shape = ((N, length, D) if batch_first else (length, N, D)) if batched else (length, D)
    return rng.standard_normal(shape)


def causal(n, kind="float"):
    mask = np.triu(np.full((n, n), -np.inf), 1)
    return mask == -np.inf if kind == "bool" else mask


PADDING = np.arange(S) >= np.array([[S], [S - 2], [1]])      # each batch entry pads its end
TGT_PADDING = np.arange(T) >= np.array([[T], [T - 1], [2]])


def encoder_layer(batch_first=False, norm_first=False, **kw):
    return lambda lib, dtype: lib.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=batch_first,
                                                             norm_first=norm_first, dtype=dtype, **kw)


def decoder_layer(batch_first=False, norm_first=False, **kw):
    return lambda lib, dtype: lib.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=batch_first,
                                                             norm_first=norm_first, dtype=dtype, **kw)


def transformer(batch_first=False, norm_first=False, **kw):
    return lambda lib, dtype: lib.nn.Transformer(D, H, 2, 2, FF, dropout=0.0, batch_first=batch_first,
                                                 norm_first=norm_first, dtype=dtype, **kw)


# ----------------------------------------------------------------------------- parameters and initialisation
CONSTRUCTORS = {
    "encoder layer": encoder_layer(), "encoder layer, no bias": encoder_layer(bias=False),
    "decoder layer": decoder_layer(), "decoder layer, norm_first, gelu": decoder_layer(norm_first=True,
                                                                                      activation="gelu"),
    "encoder with norm": lambda lib, dtype: lib.nn.TransformerEncoder(
        lib.nn.TransformerEncoderLayer(D, H, FF, dtype=dtype), 3, norm=lib.nn.LayerNorm(D, dtype=dtype)),
    "decoder": lambda lib, dtype: lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(D, H, FF, dtype=dtype), 2),
    "transformer": transformer(), "transformer, no bias": transformer(bias=False),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_parameters_are_torch_s_names_order_and_shapes(name):
    theirs, ours = pair(CONSTRUCTORS[name], "float32")
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert all(p.dtype == np.float32 for p in ours.parameters())


def test_transformer_initialises_as_torch_xavier_uniform_every_matrix():
    """torch's _reset_parameters: every parameter of 2+ dims U(-b, b), b = sqrt(6 / (fan_in + fan_out)); biases and
    LayerNorms as their modules leave them."""
    tr.manual_seed(0)
    ours = tr.nn.Transformer(16, 4, 1, 1, 32, dtype="float64")
    for name, p in ours.named_parameters():
        w = p.detach().numpy()
        if w.ndim > 1:
            bound = np.sqrt(6.0 / sum(w.shape))
            assert 0.9 * bound < np.abs(w).max() <= bound, name
        elif "norm" in name:
            assert np.all(w == (1 if name.endswith("weight") else 0)), name
        elif "in_proj_bias" in name or "out_proj.bias" in name:
            assert not w.any(), name
    layers = ours.encoder.layers
    assert len(layers) == 1 and ours.d_model == 16 and ours.nhead == 4 and ours.batch_first is False


def test_stacked_layers_are_copies_of_the_layer_as_torch():
    layer = tr.nn.TransformerEncoderLayer(D, H, FF)
    encoder = tr.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    first, second = encoder.layers
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.detach().numpy(), layer.linear1.weight.detach().numpy())
    np.testing.assert_array_equal(second.self_attn.in_proj_weight.detach().numpy(),
                                  layer.self_attn.in_proj_weight.detach().numpy())


# ----------------------------------------------------------------------------- the layers, against torch
ENCODER_MASKS = {
    "none": ({}, {}),
    "bool src_mask": ({"src_mask": np.random.default_rng(1).random((S, S)) > 0.7}, {}),
    "float src_mask": ({"src_mask": np.random.default_rng(2).standard_normal((S, S))}, {}),
    "3-D src_mask": ({"src_mask": np.random.default_rng(3).standard_normal((N * H, S, S))}, {}),
    "key padding": ({"src_key_padding_mask": PADDING}, {}),
    "causal + padding": ({"src_mask": causal(S), "src_key_padding_mask": PADDING}, {"is_causal": True}),
    "causal hint": ({"src_mask": causal(S, "bool")}, {"is_causal": True}),
}


@pytest.mark.parametrize("masks", sorted(ENCODER_MASKS))
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq first", "batch first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_encoder_layer_is_torch_s(masks, batch_first, norm_first):
    mask_arrays, flags = ENCODER_MASKS[masks]
    src = seq(np.random.default_rng(0), S, batch_first)
    same_as_torch(encoder_layer(batch_first, norm_first), [src], mask_arrays, **flags)


DECODER_MASKS = {
    "none": ({}, {}),
    "causal tgt_mask": ({"tgt_mask": causal(T)}, {"tgt_is_causal": True}),
    "bool tgt_mask, float memory_mask": ({"tgt_mask": causal(T, "bool"),
                                          "memory_mask": np.random.default_rng(4).standard_normal((T, S))}, {}),
    "key paddings": ({"tgt_key_padding_mask": TGT_PADDING, "memory_key_padding_mask": PADDING}, {}),
    "all": ({"tgt_mask": causal(T), "memory_mask": np.random.default_rng(5).random((T, S)) > 0.8,
             "tgt_key_padding_mask": TGT_PADDING, "memory_key_padding_mask": PADDING}, {"tgt_is_causal": True}),
}


@pytest.mark.parametrize("masks", sorted(DECODER_MASKS))
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq first", "batch first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_decoder_layer_is_torch_s(masks, batch_first, norm_first):
    mask_arrays, flags = DECODER_MASKS[masks]
    rng = np.random.default_rng(0)
    same_as_torch(decoder_layer(batch_first, norm_first), [seq(rng, T, batch_first), seq(rng, S, batch_first)],
                  mask_arrays, **flags)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq first", "batch first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_transformer_is_torch_s_with_every_mask(dtype, batch_first, norm_first):
    rng = np.random.default_rng(0)
    masks = {"src_mask": rng.standard_normal((S, S)), "tgt_mask": causal(T), "memory_mask": rng.random((T, S)) > 0.8,
             "src_key_padding_mask": PADDING, "tgt_key_padding_mask": TGT_PADDING,
             "memory_key_padding_mask": PADDING}
    same_as_torch(transformer(batch_first, norm_first), [seq(rng, S, batch_first), seq(rng, T, batch_first)], masks,
                  dtype)


@pytest.mark.parametrize("flags", [{}, {"src_is_causal": True, "tgt_is_causal": True}, {"tgt_is_causal": False}])
def test_transformer_with_causal_masks_and_hints_is_torch_s(flags):
    """is_causal None detects the causal mask (as torch's _detect_is_causal_mask); a hint is taken as given."""
    rng = np.random.default_rng(1)
    masks = {"src_mask": causal(S), "tgt_mask": causal(T, "bool")}
    same_as_torch(transformer(), [seq(rng, S, False), seq(rng, T, False)], masks, **flags)


def test_a_causal_hint_beside_another_mask_gives_torch_s_numbers():
    """torch computes a self-attention hinted causal, without padding, as causal whatever the mask says (its
    documented warning); with padding it reads the mask."""
    rng = np.random.default_rng(2)
    src = seq(rng, S, False)
    same_as_torch(encoder_layer(), [src], {"src_mask": rng.standard_normal((S, S))}, is_causal=True)
    same_as_torch(encoder_layer(), [src], {"src_mask": rng.standard_normal((S, S)), "src_key_padding_mask": PADDING},
                  is_causal=True)


@pytest.mark.parametrize("batch_first", [False, True], ids=["seq first", "batch first"])
def test_unbatched_inputs_are_torch_s(batch_first):
    rng = np.random.default_rng(3)
    masks = {"tgt_mask": causal(T), "src_key_padding_mask": PADDING[1], "memory_key_padding_mask": PADDING[1]}
    same_as_torch(transformer(batch_first), [seq(rng, S, batch_first, False), seq(rng, T, batch_first, False)], masks)


def test_stacks_with_and_without_norm_are_torch_s():
    rng = np.random.default_rng(4)

    def encoder(lib, dtype):
        return lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(D, H, FF, 0.0, dtype=dtype), 3,
                                         lib.nn.LayerNorm(D, dtype=dtype))

    def decoder(lib, dtype):
        return lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(D, H, FF, 0.0, dtype=dtype), 2)
    same_as_torch(encoder, [seq(rng, S, False)], {"mask": causal(S), "src_key_padding_mask": PADDING})
    same_as_torch(decoder, [seq(rng, T, False), seq(rng, S, False)], {"tgt_mask": causal(T)})


ACTIVATIONS = {"relu": lambda lib: "relu", "gelu": lambda lib: "gelu", "a callable": lambda lib: lambda x: x.tanh(),
               "F.gelu": lambda lib: lib.nn.functional.gelu}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activations_are_torch_s(activation):
    rng = np.random.default_rng(5)

    def make(lib, dtype):
        return lib.nn.Transformer(D, H, 1, 1, FF, 0.0, ACTIVATIONS[activation](lib), dtype=dtype)
    same_as_torch(make, [seq(rng, S, False), seq(rng, T, False)])


def test_a_module_activation_is_torch_s_in_the_layers_and_the_encoder():
    rng = np.random.default_rng(5)

    def encoder(lib, dtype):
        layer = lib.nn.TransformerEncoderLayer(D, H, FF, 0.0, lib.nn.GELU(approximate="tanh"), dtype=dtype)
        return lib.nn.TransformerEncoder(layer, 2)
    same_as_torch(encoder, [seq(rng, S, False)])
    same_as_torch(lambda lib, dtype: lib.nn.TransformerDecoderLayer(D, H, FF, 0.0, lib.nn.Tanh(), dtype=dtype),
                  [seq(rng, T, False), seq(rng, S, False)])


def test_a_decoder_stack_keeps_its_layer_s_module_activation():
    """torch 2.13's TransformerDecoder computes with relu when its layer's activation is a Module (the deep copies
    go through TransformerDecoderLayer.__setstate__, which puts F.relu in front of the module); ours keep the
    module: a stack of one layer computes what torch's layer itself computes."""
    rng = np.random.default_rng(6)
    arrays = [seq(rng, T, False), seq(rng, S, False)]
    theirs, ours = pair(lambda lib, dtype: lib.nn.TransformerDecoderLayer(D, H, FF, 0.0, lib.nn.Tanh(), dtype=dtype))
    stack = tr.nn.TransformerDecoder(ours, 1)
    stack.load_state_dict({f"layers.0.{k}": v for k, v in ours.state_dict().items()})
    out_t, _ = run(torch, theirs, arrays, {}, "float64")
    out_o, _ = run(tr, stack, arrays, {}, "float64")
    np.testing.assert_allclose(out_o, out_t, rtol=1e-10, atol=1e-10)
    torch_stack = torch.nn.TransformerDecoder(theirs, 1)
    assert torch_stack.layers[0].activation is torch.nn.functional.relu   # torch's quirk, which ours leaves out


@pytest.mark.parametrize("batch_first", [False, True], ids=["seq first", "batch first"])
def test_eval_mode_drops_no_units_and_bias_false_is_torch_s(batch_first):
    rng = np.random.default_rng(6)

    def make(lib, dtype):
        return lib.nn.Transformer(D, H, 1, 1, FF, dropout=0.4, bias=False, batch_first=batch_first, dtype=dtype)
    masks = {"tgt_mask": causal(T), "src_key_padding_mask": PADDING}
    same_as_torch(make, [seq(rng, S, batch_first), seq(rng, T, batch_first)], masks, train=False)


def test_custom_encoder_and_decoder_are_used_as_torch():
    rng = np.random.default_rng(7)

    def make(lib, dtype):
        encoder = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(D, H, 6, 0.0, dtype=dtype), 1)
        decoder = lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(D, H, 5, 0.0, dtype=dtype), 1,
                                            lib.nn.LayerNorm(D, dtype=dtype))
        return lib.nn.Transformer(D, H, dropout=0.0, custom_encoder=encoder, custom_decoder=decoder, dtype=dtype)
    same_as_torch(make, [seq(rng, S, False), seq(rng, T, False)])


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.sampled_from([1, 2]), st.integers(1, 3),
       st.booleans(), st.booleans(), st.sampled_from(["float32", "float64"]),
       st.sampled_from(["none", "causal", "padding", "all"]), st.integers(0, 2 ** 16))
def test_drawn_shapes_flags_and_masks_are_torch_s(n, s, t, heads, head_dim, batch_first, norm_first, dtype,
                                                  mask_kind, seed):
    rng = np.random.default_rng(seed)
    d = heads * head_dim

    def make(lib, dt):
        return lib.nn.Transformer(d, heads, 1, 1, 5, 0.0, batch_first=batch_first, norm_first=norm_first, dtype=dt)
    src, tgt = rng.standard_normal((n, s, d)), rng.standard_normal((n, t, d))
    if not batch_first:
        src, tgt = src.transpose(1, 0, 2), tgt.transpose(1, 0, 2)
    masks = {}
    if mask_kind in ("causal", "all"):
        masks["tgt_mask"] = causal(t)
    if mask_kind in ("padding", "all"):   # every batch entry keeps its first position
        lengths = rng.integers(1, s + 1, n)
        masks["src_key_padding_mask"] = masks["memory_key_padding_mask"] = np.arange(s) >= lengths[:, None]
    if mask_kind == "all":
        masks["src_mask"] = rng.standard_normal((s, s))
    same_as_torch(make, [src, tgt], masks, dtype)


def test_a_query_with_nowhere_to_attend_is_torch_s():
    """A batch entry padded everywhere: torch's attention gives zeros there (not nan), the rest goes on."""
    rng = np.random.default_rng(8)
    padding = PADDING.copy()
    padding[2] = True
    same_as_torch(encoder_layer(), [seq(rng, S, False)], {"src_key_padding_mask": padding})


# ----------------------------------------------------------------------------- torch's eval fast path
def no_grad_eval_outputs(make, arrays, masks, mask_check=True):
    """The eval-mode output without gradient recording, ours and torch's: where torch 2.13 packs a nested tensor."""
    theirs, ours = pair(make, "float32")
    theirs.eval()
    ours.eval()
    if hasattr(theirs, "mask_check"):
        theirs.mask_check = ours.mask_check = mask_check
    with torch.no_grad(), tr.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_t = theirs(*(torch.tensor(a.astype("float32")) for a in arrays),
                       **{k: torch.tensor(v) for k, v in masks.items()})
        out_o = ours(*(tr.tensor(a.astype("float32")) for a in arrays), **{k: tr.tensor(v) for k, v in masks.items()})
    return out_o.numpy(), out_t.numpy()


def encoder(batch_first=True, norm_first=False, nhead=H):
    return lambda lib, dtype: lib.nn.TransformerEncoder(
        lib.nn.TransformerEncoderLayer(D, nhead, FF, 0.1, batch_first=batch_first, norm_first=norm_first,
                                       dtype=dtype), 2, lib.nn.LayerNorm(D, dtype=dtype))


SCATTERED = np.array([[True, False, False, True, False], [False] * 5, [False, True, False, True, True]])
FAST_PATH = {   # name: (encoder, padding mask, mask_check, whether torch zeroes padded positions)
    "left-aligned padding": (encoder(), PADDING, True, True),
    "a float padding mask": (encoder(), np.where(PADDING, -np.inf, 0.0).astype("float32"), True, True),
    "an entry padded everywhere": (encoder(), np.vstack([PADDING[:2], np.ones((1, S), bool)]), True, True),
    "scattered padding, mask_check": (encoder(), SCATTERED, True, False),
    "scattered padding, no mask_check": (encoder(), SCATTERED, False, True),
    "seq first": (encoder(batch_first=False), PADDING, True, False),
    "pre-norm": (encoder(norm_first=True), PADDING, True, False),
    "odd nhead": (encoder(nhead=1), PADDING, True, False),
}


@pytest.mark.parametrize("case", sorted(FAST_PATH))
def test_eval_without_grad_gives_torch_s_values_at_padded_positions(case):
    make, padding, mask_check, zeroes = FAST_PATH[case]
    src = np.random.default_rng(9).standard_normal((N, S, D))
    if make(tr, "float32").layers[0].self_attn.batch_first is False:
        src = src.transpose(1, 0, 2)
    ours, theirs = no_grad_eval_outputs(make, [src], {"src_key_padding_mask": padding}, mask_check)
    padding = padding != 0   # a float mask pads where it is not 0
    if zeroes:   # torch packs each entry's first `length` positions, length its unpadded ones, and pads with 0
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
        after = np.arange(S) >= (~padding).sum(axis=1)[:, None]
        assert after.any() and np.all(ours[after] == 0)   # the final LayerNorm's bias is 0
    else:        # the values the layers compute everywhere (padded positions included), as torch
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
        assert not np.all(ours[padding if src.shape[0] == N else padding.T] == 0)


def test_gradient_recording_or_a_mask_keeps_the_layers_values_at_padded_positions_as_torch():
    theirs, ours = pair(encoder(), "float32")
    theirs.eval()
    ours.eval()
    src = np.random.default_rng(10).standard_normal((N, S, D)).astype("float32")
    out_t = theirs(torch.tensor(src), src_key_padding_mask=torch.tensor(PADDING))
    out_o = ours(tr.tensor(src), src_key_padding_mask=tr.tensor(PADDING))
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert not np.all(out_o.detach().numpy()[PADDING] == 0)
    ours_, theirs_ = no_grad_eval_outputs(encoder(), [src], {"src_key_padding_mask": PADDING, "mask": causal(S)})
    np.testing.assert_allclose(ours_, theirs_, rtol=1e-5, atol=1e-5)


def test_transformer_in_eval_without_grad_reads_the_zeroed_memory_as_torch():
    rng = np.random.default_rng(11)
    ours, theirs = no_grad_eval_outputs(transformer(batch_first=True), [rng.standard_normal((N, S, D)),
                                                                        rng.standard_normal((N, T, D))],
                                        {"src_key_padding_mask": PADDING, "tgt_mask": causal(T)})
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", [dict(batch_first=True), dict(), dict(batch_first=True, norm_first=True),
                                   dict(batch_first=True, activation=lambda x: x), dict(batch_first=True, bias=False),
                                   dict(batch_first=True, nhead=1)],
                         ids=["fits", "seq first", "pre-norm", "callable", "no bias", "odd nhead"])
def test_enable_nested_tensor_warns_and_sets_use_nested_tensor_as_torch(layer):
    layer = dict(layer)
    nhead = layer.pop("nhead", H)
    found = {}
    for lib in (torch, tr):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            encoder = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(D, nhead, FF, **layer), 2)
        found[lib] = ([str(w.message) for w in caught if "nested" in str(w.message)], encoder.use_nested_tensor,
                      encoder.enable_nested_tensor, encoder.mask_check)
    assert found[tr] == found[torch]
    quiet = tr.nn.TransformerEncoder(tr.nn.TransformerEncoderLayer(D, nhead, FF, **layer), 2,
                                     enable_nested_tensor=False)
    assert quiet.use_nested_tensor is False


# ----------------------------------------------------------------------------- the causal mask; errors
@pytest.mark.parametrize("size", [0, 1, 4])
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_generate_square_subsequent_mask_is_torch_s(size, dtype):
    ours = tr.nn.Transformer.generate_square_subsequent_mask(size, dtype=dtype)
    theirs = torch.nn.Transformer.generate_square_subsequent_mask(size, dtype=dtype and getattr(torch, dtype))
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    instance = tr.nn.Transformer(D, H, 1, 1, FF)
    on_cpu = instance.generate_square_subsequent_mask(size, device="cpu")
    np.testing.assert_array_equal(on_cpu.numpy(), theirs.float().numpy())


def _ones(lib, *shape, dtype=None):
    return lib.ones(*shape) if dtype is None else lib.ones(*shape, dtype=getattr(lib, dtype))


REFUSED = {
    "d_model not divisible by nhead": lambda lib: lib.nn.TransformerEncoderLayer(5, 2),
    "an unknown activation name": lambda lib: lib.nn.TransformerDecoderLayer(D, H, activation="tanh"),
    "src and tgt batches differ": lambda lib: lib.nn.Transformer(D, H, 1, 1, FF)(_ones(lib, S, 2, D),
                                                                                 _ones(lib, T, 3, D)),
    "batch_first with seq-first data": lambda lib: lib.nn.Transformer(D, H, 1, 1, FF, batch_first=True)(
        _ones(lib, S, N, D), _ones(lib, T, N, D)),
    "features not d_model": lambda lib: lib.nn.Transformer(D, H, 1, 1, FF)(_ones(lib, S, N, D),
                                                                           _ones(lib, T, N, D + 1)),
    "src_mask of another shape": lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF)(
        _ones(lib, S, N, D), src_mask=_ones(lib, S, S + 1)),
    "3-D src_mask of another batch": lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF)(
        _ones(lib, S, N, D), src_mask=_ones(lib, N, S, S)),
    "padding mask of another shape": lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF)(
        _ones(lib, S, N, D), src_key_padding_mask=_ones(lib, N, S - 1, dtype="bool")),
    "an int mask": lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF)(
        _ones(lib, S, N, D), src_mask=_ones(lib, S, S, dtype="int64")),
    "is_causal without a mask": lambda lib: lib.nn.TransformerEncoderLayer(D, H, FF)(_ones(lib, S, N, D),
                                                                                     is_causal=True),
    "memory of another batch": lambda lib: lib.nn.TransformerDecoderLayer(D, H, FF)(_ones(lib, T, N, D),
                                                                                    _ones(lib, S, N + 1, D)),
    "tgt_mask of another shape": lambda lib: lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(D, H, FF), 1)(
        _ones(lib, T, N, D), _ones(lib, S, N, D), tgt_mask=_ones(lib, S, S)),
    "memory_mask of another shape": lambda lib: lib.nn.TransformerDecoderLayer(D, H, FF)(
        _ones(lib, T, N, D), _ones(lib, S, N, D), memory_mask=_ones(lib, T, T)),
    "a negative mask size": lambda lib: lib.nn.Transformer.generate_square_subsequent_mask(-1),
    "dropout above 1": lambda lib: lib.nn.TransformerEncoderLayer(D, H, dropout=1.5),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_as_torch(case):
    raises_as_torch(lambda: REFUSED[case](torch), lambda: REFUSED[case](tr))


def test_the_messages_say_what_was_expected():
    assert "d_model" in str(torch_error(lambda: REFUSED["features not d_model"](torch)))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        REFUSED["features not d_model"](tr)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        REFUSED["an unknown activation name"](tr)
