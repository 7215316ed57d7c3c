"""tr.nn.MultiheadAttention against torch.nn.MultiheadAttention (torch 2.13): torch's parameters (names, order,
shapes) and initialisation, so its state_dict loads; outputs, attention weights and every gradient (inputs and
parameters) equal torch's over its options, masks and layouts, float32 and float64; torch's errors."""
import warnings

import numpy as np
import pytest
from conftest import raises_as_torch

import tinygrad_rnn as tr

torch = pytest.importorskip("torch")

E, H, L, S, N = 6, 3, 4, 5, 2
OPTIONS = [dict(), dict(kdim=3, vdim=5), dict(add_bias_kv=True), dict(add_zero_attn=True), dict(bias=False),
           dict(batch_first=True), dict(add_bias_kv=True, add_zero_attn=True, kdim=2, vdim=7)]


def pair(dtype, **kwargs):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, **kwargs).to(getattr(torch, dtype))
    ours = tr.nn.MultiheadAttention(E, H, dtype=dtype, **kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def inputs(kwargs, dtype, batched=True, seed=0):
    rng = np.random.default_rng(seed)

    def draw(length, width):
        shape = ((N, length, width) if kwargs.get("batch_first") else (length, N, width)) if batched else \
            (length, width)
        return rng.standard_normal(shape).astype(dtype)
    return draw(L, E), draw(S, kwargs.get("kdim", E)), draw(S, kwargs.get("vdim", E))


MASKS = {
    "none": lambda lib, rng: {},
    "bool key padding": lambda lib, rng: {"key_padding_mask": lib.tensor(np.arange(S)[None, :] >= [[S], [S - 2]])},
    "float attn 2-D": lambda lib, rng: {"attn_mask": lib.tensor(rng.standard_normal((L, S)))},
    "bool causal-like 2-D": lambda lib, rng: {"attn_mask": lib.tensor(np.triu(np.ones((L, S), bool), 2))},
    "float attn 3-D + bool padding": lambda lib, rng: {
        "attn_mask": lib.tensor(rng.standard_normal((N * H, L, S))),
        "key_padding_mask": lib.tensor(np.arange(S)[None, :] >= [[S - 1], [S]])},
}


def run(lib, module, arrays, masks, dtype, **call):
    tensors = [(torch.tensor(a, requires_grad=True) if lib is torch else tr.tensor(a, requires_grad=True))
               for a in arrays]
    kwargs = {k: (v.to(getattr(torch, dtype)) if lib is torch and v.dtype.is_floating_point else
                  v.astype(dtype) if lib is tr and v.dtype.kind == "f" else v) for k, v in masks.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's warning about a bool padding mask beside a float attn_mask
        out, weights = module(*tensors, **kwargs, **call)
    (out.sum() * 2 + (0 if weights is None else (weights * weights).sum())).backward()
    grads = [t.grad for t in tensors] + [p.grad for p in module.parameters()]
    return out, weights, grads


def as_numpy(t):
    return None if t is None else (t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t))


def compare(ours, theirs, rtol):
    for a, b in zip(ours, theirs):
        if isinstance(a, list):
            compare(a, b, rtol)
        else:
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(as_numpy(a), as_numpy(b), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("mask", sorted(MASKS))
@pytest.mark.parametrize("kwargs", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_outputs_weights_and_gradients_are_torch_s(kwargs, mask):
    theirs, ours = pair("float64", **kwargs)
    arrays = inputs(kwargs, "float64")
    results = [run(lib, m, arrays, MASKS[mask](lib, np.random.default_rng(1)), "float64")
               for lib, m in ((tr, ours), (torch, theirs))]
    compare(results[0], results[1], 1e-10)


@pytest.mark.parametrize("call", [dict(need_weights=False), dict(average_attn_weights=False), dict()],
                         ids=["no weights", "per head", "averaged"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_the_output_forms_are_torch_s_in_float32(call, batched):
    theirs, ours = pair("float32")
    arrays = inputs({}, "float32", batched=batched)
    results = [run(lib, m, arrays, {}, "float32", **call) for lib, m in ((tr, ours), (torch, theirs))]
    assert results[0][0].shape == tuple(results[1][0].shape) and results[0][0].dtype == np.float32
    compare(results[0], results[1], 1e-5)


def test_parameters_are_torch_s_and_initialised_as_torch():
    for kwargs in OPTIONS:
        theirs = torch.nn.MultiheadAttention(E, H, **kwargs)
        ours = tr.nn.MultiheadAttention(E, H, **kwargs)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        assert list(ours.state_dict()) == list(theirs.state_dict())
    ours = tr.nn.MultiheadAttention(64, 4)
    bound = np.sqrt(6.0 / (64 + 3 * 64))   # xavier_uniform_ of the (3E, E) in_proj_weight
    w = ours.in_proj_weight.data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not ours.in_proj_bias.data.any() and not ours.out_proj.bias.data.any()


def test_a_row_masked_everywhere_is_nan_as_torch():
    theirs, ours = pair("float64")
    arrays = inputs({}, "float64")
    everywhere = np.zeros((L, S), bool)
    everywhere[1] = True
    out_t, w_t = theirs(*(torch.tensor(a) for a in arrays), attn_mask=torch.tensor(everywhere))
    out_o, w_o = ours(*(tr.tensor(a) for a in arrays), attn_mask=tr.tensor(everywhere))
    np.testing.assert_array_equal(np.isnan(out_o.data), np.isnan(out_t.detach().numpy()))
    np.testing.assert_array_equal(np.isnan(w_o.data), np.isnan(w_t.detach().numpy()))


def test_without_weights_a_query_that_attends_nowhere_gives_zeros_as_torch():
    """need_weights=False is torch's scaled_dot_product_attention, which gives 0 (not nan) where every key is masked:
    a batch entry padded everywhere, or a row of attn_mask masked everywhere; the gradients too."""
    theirs, ours = pair("float64")
    arrays = inputs({}, "float64")
    everywhere = np.zeros((L, S), bool)
    everywhere[1] = True
    for masks in ({"key_padding_mask": np.arange(S)[None, :] >= [[S - 2], [0]]}, {"attn_mask": everywhere}):
        results = [run(lib, m, arrays, {k: lib.tensor(v) for k, v in masks.items()}, "float64", need_weights=False)
                   for lib, m in ((tr, ours), (torch, theirs))]
        assert np.isfinite(as_numpy(results[0][0])).all()
        compare(results[0], results[1], 1e-10)


def test_a_causal_hint_without_weights_is_taken_as_torch_takes_it():
    """torch computes is_causal=True without padding and without weights as causal, the mask unread; with padding
    it reads the mask."""
    theirs, ours = pair("float64")
    arrays = inputs({}, "float64")
    rng = np.random.default_rng(3)
    mask = rng.standard_normal((L, S))
    padding = np.arange(S)[None, :] >= [[S - 1], [S]]
    for masks in ({"attn_mask": mask}, {"attn_mask": mask, "key_padding_mask": padding}):
        results = [run(lib, m, arrays, {k: lib.tensor(v) for k, v in masks.items()}, "float64", need_weights=False,
                       is_causal=True) for lib, m in ((tr, ours), (torch, theirs))]
        compare(results[0], results[1], 1e-10)


def test_eval_leaves_dropout_out_and_training_drops_weights():
    theirs, ours = pair("float64", dropout=0.5)
    arrays = inputs({}, "float64")
    ours.eval()
    theirs.eval()
    compare(run(tr, ours, arrays, {}, "float64")[:2], run(torch, theirs, arrays, {}, "float64")[:2], 1e-10)
    ours.train()
    tr.manual_seed(0)
    _, weights = ours(*(tr.tensor(a) for a in arrays), average_attn_weights=False)
    assert (weights.data == 0).any() and np.isclose(weights.data.sum(-1).mean(), 1.0, atol=0.3)


REFUSED = {
    "embed_dim not divisible": lambda lib: lib.nn.MultiheadAttention(5, 2),
    "is_causal without a mask": lambda lib: lib.nn.MultiheadAttention(4, 2)(*[lib.ones(3, 2, 4)] * 3, is_causal=True),
    "2-D mask of another shape": lambda lib: lib.nn.MultiheadAttention(4, 2)(*[lib.ones(3, 2, 4)] * 3,
                                                                              attn_mask=lib.zeros(2, 3)),
    "int mask": lambda lib: lib.nn.MultiheadAttention(4, 2)(*[lib.ones(3, 2, 4)] * 3,
                                                             attn_mask=lib.zeros(3, 3, dtype=lib.int64)),
    "key padding of another batch": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        *[lib.ones(3, 2, 4)] * 3, key_padding_mask=lib.zeros(3, 2, dtype=lib.bool)),
    "key and value of other shapes": lambda lib: lib.nn.MultiheadAttention(4, 2)(lib.ones(3, 2, 4), lib.ones(3, 1, 4),
                                                                                 lib.ones(3, 2, 4)),
    "key and value of another batch than query": lambda lib: lib.nn.MultiheadAttention(4, 2)(
        lib.ones(3, 2, 4), lib.ones(5, 3, 4), lib.ones(5, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_as_torch(name):
    raises_as_torch(lambda: REFUSED[name](torch), lambda: REFUSED[name](tr))


def test_out_proj_s_hooks_do_not_fire_as_torch_s():
    """torch's MultiheadAttention reads out_proj's weights (F.multi_head_attention_forward): hooks on out_proj see
    nothing of the attention's call."""
    calls = {"tr": 0, "torch": 0}
    for name, lib in (("tr", tr), ("torch", torch)):
        mha = lib.nn.MultiheadAttention(4, 2)

        def hook(module, args, out, name=name):
            calls[name] += 1
        mha.out_proj.register_forward_hook(hook)
        mha(*[lib.ones(3, 2, 4)] * 3)
    assert calls["tr"] == calls["torch"] == 0
