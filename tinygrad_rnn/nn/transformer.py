"""The Transformer of "Attention Is All You Need", as torch.nn.Transformer and its parts (torch 2.13):
TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder. torch's parameter
names, shapes, order and initialisation, so a torch state_dict loads and gives torch's numbers.

An encoder layer (post-norm, the default; norm_first=True is pre-norm):

    x = norm1(x + dropout1(self_attn(x, x, x)))               x = x + dropout1(self_attn(norm1(x)))
    x = norm2(x + dropout2(ff(x)))                            x = x + dropout2(ff(norm2(x)))
    ff(x) = linear2(dropout(activation(linear1(x))))

A decoder layer adds, between the two, the attention over the encoder's output (memory):

    x = norm2(x + dropout2(multihead_attn(x, memory, memory)))     (pre-norm: x + dropout2(mha(norm2(x), ...)))

and its feed-forward block is norm3's and dropout3's. Built from Tensor operations (the tape differentiates it).

torch's "fast path": a TransformerEncoder in eval mode, with no gradient to record, batch_first, a
src_key_padding_mask and no mask, packs the batch into a nested tensor, and unpacks it padded with zeros: the
padded positions of its output (before its norm) are 0, not the values the layers compute there. Ours gives the
same numbers under the same conditions (see TransformerEncoder). Its per-layer fast path computes the same values
up to float error, except at a query that may attend nowhere: nan there, and the encoder layer gives nan under the same
conditions (TransformerEncoderLayer._nan_rows), the number a user comparing with torch sees.
"""
from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..creation import tensor
from ..tape import is_grad_enabled
from ..tensor import ShapeError, Tensor
from . import functional as F
from . import init
from .attention import MultiheadAttention, canonical_mask, warn_mismatched_masks
from .checks import check_bool, check_device, check_float, check_int
from .layers import GELU, LayerNorm, ReLU
from .module import Dropout, Linear, Module, ModuleList, check_dtype

__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
           "TransformerDecoderLayer"]

Activation = str | Callable[[Tensor], Tensor]


def _activation_fn(activation: Activation) -> Callable[[Tensor], Tensor]:
    """"relu" or "gelu" as F.relu or F.gelu (torch's RuntimeError for another string); a callable as it is."""
    if isinstance(activation, str):
        if activation not in ("relu", "gelu"):
            raise RuntimeError(f"activation should be relu/gelu, not {activation}")
        return F.relu if activation == "relu" else F.gelu
    if not callable(activation):
        raise TypeError(f"activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


def _relu_or_gelu(activation: Callable) -> int:
    """torch's activation_relu_or_gelu: 1 for relu, 2 for gelu, 0 otherwise (the fast path needs 1 or 2)."""
    if activation is F.relu or isinstance(activation, ReLU):
        return 1
    if activation is F.gelu or isinstance(activation, GELU):
        return 2
    return 0


class _Layer(Module):
    """What the encoder and decoder layers share: the self-attention and feed-forward blocks (torch's _sa_block
    and _ff_block, without their final dropout, which each forward shows)."""

    def _feed_forward_parts(self, d_model, dim_feedforward, dropout, bias, dtype):
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal, nan_rows=None):
        """Self-attention: x's positions over x's (need_weights=False: the weights are not kept); nan at the
        (batch, position) pairs of nan_rows (torch's encoder fast path at a query that may attend nowhere)."""
        out = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                             is_causal=is_causal)[0]
        return out if nan_rows is None or not nan_rows.any() else out.masked_fill(nan_rows[:, :, None], np.nan)

    def _ff_block(self, x: Tensor) -> Tensor:
        """The position-wise feed-forward network."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


def _layer_arguments(owner, d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first, norm_first,
                     bias, dtype):
    """The arguments the two layers share, checked (torch's AssertionError for d_model % nhead comes from
    MultiheadAttention)."""
    return (check_int(owner, "d_model", d_model, 1), check_int(owner, "nhead", nhead, 1),
            check_int(owner, "dim_feedforward", dim_feedforward, 1), check_float(owner, "dropout", dropout, 0, 1),
            check_float(owner, "layer_norm_eps", layer_norm_eps, 0), check_bool(owner, "batch_first", batch_first),
            check_bool(owner, "norm_first", norm_first), check_bool(owner, "bias", bias),
            check_dtype(dtype, owner))


class TransformerEncoderLayer(_Layer):
    """torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=relu,
    layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, device=None, dtype=None): self-attention
    then a feed-forward block, each with a residual connection and a LayerNorm (after, or before with
    norm_first)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: npt.DTypeLike | None = None) -> None:
        d_model, nhead, dim_feedforward, dropout, eps, batch_first, norm_first, bias, dtype = _layer_arguments(
            "TransformerEncoderLayer", d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first,
            norm_first, bias, dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            device=device, dtype=dtype)
        self._feed_forward_parts(d_model, dim_feedforward, dropout, bias, dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = _activation_fn(activation)
        self.activation_relu_or_gelu = _relu_or_gelu(self.activation)

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        """src (S, N, E), (N, S, E) with batch_first, or (S, E); src_mask (S, S) or (N * nhead, S, S);
        src_key_padding_mask (N, S) or (S,). Bool masks: True is "do not attend"; float masks are added."""
        # torch's: the masks made float (-inf where a bool mask is True), with its warning for mixed types
        warn_mismatched_masks(src_key_padding_mask, "src_key_padding_mask", src_mask, "src_mask")
        src_key_padding_mask = canonical_mask("src_key_padding_mask", src_key_padding_mask, src.dtype)
        src_mask = canonical_mask("src_mask", src_mask, src.dtype)
        nowhere = self._nan_rows(src, src_mask, src_key_padding_mask)
        x = src
        if self.norm_first:
            x = x + self.dropout1(self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal, nowhere))
            x = x + self.dropout2(self._ff_block(self.norm2(x)))
        else:
            x = self.norm1(x + self.dropout1(self._sa_block(x, src_mask, src_key_padding_mask, is_causal, nowhere)))
            x = self.norm2(x + self.dropout2(self._ff_block(x)))
        return x

    def _nan_rows(self, src, src_mask, src_key_padding_mask):
        """(N, S) bool where torch 2.13's fast path (torch._transformer_encoder_layer_fwd: eval mode, no gradient
        to record, batch_first, ...) gives nan: the queries that may attend nowhere (its softmax of a row of
        -inf; the ordinary path gives the attention 0 there). None when torch takes the ordinary path."""
        attn = self.self_attn
        if (src_mask is None and src_key_padding_mask is None) or src.ndim != 3 or self.training \
                or not attn.batch_first or attn.in_proj_bias is None or not attn._qkv_same_embed_dim \
                or not self.activation_relu_or_gelu or self.norm1.eps != self.norm2.eps or attn.num_heads % 2 \
                or any(m._module_hooks is not None and (m._module_hooks.forward or m._module_hooks.forward_pre)
                       for m in self.modules()):
            return None
        tensors = (src, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight, attn.out_proj.bias,
                   self.norm1.weight, self.norm1.bias, self.norm2.weight, self.norm2.bias, self.linear1.weight,
                   self.linear1.bias, self.linear2.weight, self.linear2.bias)
        if is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
            return None
        N, S = src.shape[0], src.shape[1]
        return attn.attends_nowhere(src_mask, src_key_padding_mask, S, N, S, src.dtype)


class TransformerDecoderLayer(_Layer):
    """torch.nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=relu,
    layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, device=None, dtype=None): self-attention,
    attention over the encoder's output (memory), then a feed-forward block; each with a residual connection and a
    LayerNorm (after, or before with norm_first)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: npt.DTypeLike | None = None) -> None:
        d_model, nhead, dim_feedforward, dropout, eps, batch_first, norm_first, bias, dtype = _layer_arguments(
            "TransformerDecoderLayer", d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first,
            norm_first, bias, dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                            device=device, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                                 bias=bias, device=device, dtype=dtype)
        self._feed_forward_parts(d_model, dim_feedforward, dropout, bias, dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype)
        self.dropout1, self.dropout2, self.dropout3 = Dropout(dropout), Dropout(dropout), Dropout(dropout)
        self.activation = _activation_fn(activation)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        """tgt (T, N, E) (batch_first: (N, T, E); unbatched (T, E)); memory (S, N, E) alike; tgt_mask (T, T),
        memory_mask (T, S), tgt_key_padding_mask (N, T), memory_key_padding_mask (N, S)."""
        x, mem = tgt, (memory, memory_mask, memory_key_padding_mask, memory_is_causal)
        if self.norm_first:
            x = x + self.dropout1(self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = x + self.dropout2(self._mha_block(self.norm2(x), *mem))
            x = x + self.dropout3(self._ff_block(self.norm3(x)))
        else:
            x = self.norm1(x + self.dropout1(self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal)))
            x = self.norm2(x + self.dropout2(self._mha_block(x, *mem)))
            x = self.norm3(x + self.dropout3(self._ff_block(x)))
        return x

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        """The attention of x's positions over memory's (need_weights=False: the weights are not kept)."""
        return self.multihead_attn(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                   is_causal=is_causal, need_weights=False)[0]


def _clones(layer: Module, num_layers: int, owner: str) -> ModuleList:
    """num_layers deep copies of layer (torch's _get_clones): each starts with the layer's parameters."""
    if not isinstance(layer, Module):
        raise TypeError(f"{owner}: the layer must be a Module, got {type(layer).__name__}")
    return ModuleList([copy.deepcopy(layer) for _ in range(check_int(owner, "num_layers", num_layers, 0))])


def _seq_len(src: Tensor, batch_first: bool) -> int:
    return src.shape[0] if src.ndim == 2 else src.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask: Tensor | None, is_causal: bool | None, size: int | None) -> bool:
    """torch's: the is_causal hint as given; None means "whether mask is the square causal mask of size"."""
    if is_causal is not None or not isinstance(mask, Tensor):
        return is_causal is True   # (a mask that is not a Tensor: the attention raises torch's error)
    causal = Transformer.generate_square_subsequent_mask(size, dtype=mask.dtype if mask.dtype.kind == "f" else None)
    if mask.dtype == np.bool_:
        causal = causal == -math.inf
    return mask.shape == causal.shape and bool((mask._data == causal._data).all())


def _padded(mask: Tensor) -> np.ndarray:
    """A key padding mask as "padded here" booleans: True for bool, anything but 0 for float (torch's
    logical_not of the canonical mask)."""
    return mask._data if mask.dtype == np.bool_ else mask._data != 0


class TransformerEncoder(Module):
    """torch.nn.TransformerEncoder(encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
    mask_check=True): num_layers copies of encoder_layer, then norm (if any).

    enable_nested_tensor stands for torch's packing of a padded batch (see use_nested_tensor): when torch packs it,
    the padded positions (src_key_padding_mask True) of the layers' output are zeros, as here."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = check_bool("TransformerEncoder", "enable_nested_tensor", enable_nested_tensor)
        self.use_nested_tensor = self.enable_nested_tensor
        self.mask_check = check_bool("TransformerEncoder", "mask_check", mask_check)
        why_not = _why_not_nested(encoder_layer)
        if self.enable_nested_tensor and why_not:
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why_not}",
                          stacklevel=2)
            self.use_nested_tensor = False

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        """src and masks as TransformerEncoderLayer's; is_causal None: whether mask is the causal mask."""
        warn_mismatched_masks(src_key_padding_mask, "src_key_padding_mask", mask, "mask")
        src_key_padding_mask = canonical_mask("src_key_padding_mask", src_key_padding_mask, src.dtype)
        mask = canonical_mask("mask", mask, src.dtype)
        lengths = self._packed_lengths(src, mask, src_key_padding_mask)
        if lengths is not None:   # torch's nested tensor: each sequence its first `length` positions
            src_key_padding_mask = tensor(np.arange(src.shape[1]) >= lengths[:, None])
        is_causal = _detect_is_causal_mask(mask, is_causal, _seq_len(src, self.layers[0].self_attn.batch_first))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if lengths is not None:   # ... unpacked, padded with zeros
            output = output.masked_fill(src_key_padding_mask._data[:, :, None], 0.0)
        return output if self.norm is None else self.norm(output)

    def _packed_lengths(self, src, mask, src_key_padding_mask):
        """The length of each sequence when torch 2.13 would pack the batch into a nested tensor (eval mode, no
        gradient to record, a batched batch-first src, a padding mask and no mask; with mask_check, a padding
        mask that pads only at the end), else None. mask_check=False packs the first `length` positions, length
        the number of unpadded ones, wherever they are: as torch."""
        layer = self.layers[0] if len(self.layers) else None
        if (not self.use_nested_tensor or layer is None or layer.training or src.ndim != 3
                or src_key_padding_mask is None or mask is not None):
            return None
        if is_grad_enabled() and (src.requires_grad or any(p.requires_grad for p in layer.parameters())):
            return None
        if not isinstance(src_key_padding_mask, Tensor):
            return None   # the layers raise torch's error
        padded = _padded(src_key_padding_mask)
        if padded.shape != src.shape[:2]:
            return None   # the layers raise torch's error
        lengths = (~padded).sum(axis=1)
        left_aligned = np.array_equal(padded, np.arange(src.shape[1]) >= lengths[:, None])
        if self.mask_check and not left_aligned:
            return None
        return lengths


def _why_not_nested(layer: Module) -> str:
    """Why torch's TransformerEncoder would not pack batches of this layer into nested tensors ("" if it would)."""
    if not isinstance(layer, TransformerEncoderLayer):
        return "encoder_layer was not TransformerEncoderLayer"
    attn = layer.self_attn
    reasons = [(layer.norm_first, "encoder_layer.norm_first was True"),
               (not attn.batch_first, "encoder_layer.self_attn.batch_first was not True(use batch_first for better "
                                      "inference performance)"),
               (not attn._qkv_same_embed_dim, "encoder_layer.self_attn._qkv_same_embed_dim was not True"),
               (attn.in_proj_bias is None, "encoder_layer.self_attn was passed bias=False"),
               (not layer.activation_relu_or_gelu, "encoder_layer.activation_relu_or_gelu was not True"),
               (layer.norm1.eps != layer.norm2.eps, "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps"),
               (attn.num_heads % 2 == 1, "encoder_layer.self_attn.num_heads is odd")]
    return next((why for fails, why in reasons if fails), "")


class TransformerDecoder(Module):
    """torch.nn.TransformerDecoder(decoder_layer, num_layers, norm=None): num_layers copies of decoder_layer, then
    norm (if any)."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        """tgt, memory and masks as TransformerDecoderLayer's; tgt_is_causal None: whether tgt_mask is causal."""
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal,
                                               _seq_len(tgt, self.layers[0].self_attn.batch_first))
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                           memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """torch.nn.Transformer(d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
    dropout=0.1, activation=relu, custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
    batch_first=False, norm_first=False, bias=True, device=None, dtype=None): an encoder and a decoder, each
    ending in a LayerNorm; every parameter of two or more dims Xavier-uniform (torch's _reset_parameters)."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation: Activation = F.relu,
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, device: Any = None, dtype: npt.DTypeLike | None = None) -> None:
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
                      bias, device, dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args), num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args), num_decoder_layers, norm)
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        """src (S, N, E) and tgt (T, N, E) (batch_first: (N, S, E), (N, T, E); unbatched (S, E), (T, E)) give
        (T, N, E) (or tgt's layout); masks as the encoder's and the decoder's."""
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and (tgt.ndim < 2 or src.shape[batch_dim] != tgt.shape[batch_dim]):
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: npt.DTypeLike | None = None) -> Tensor:
        """(sz, sz): 0 on and below the diagonal, -inf above it (position i may attend positions j <= i)."""
        check_device("generate_square_subsequent_mask", device)
        if check_int("generate_square_subsequent_mask", "sz", sz) < 0:   # torch's "negative dimension" error
            raise ShapeError(f"generate_square_subsequent_mask: sz must be >= 0, got {sz}")
        return tensor(np.triu(np.full((sz, sz), -np.inf, check_dtype(dtype, "generate_square_subsequent_mask")), 1))

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

