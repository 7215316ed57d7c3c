"""Multi-head attention, as torch.nn.MultiheadAttention (torch 2.13): its parameters, their names and layout (so a
state_dict loads and gives torch's numbers), its initialisation, masks and outputs.

For each head h of num_heads, with head_dim = embed_dim // num_heads:

    q_h = query W_q,h^T + b_q,h     k_h = key W_k,h^T + b_k,h     v_h = value W_v,h^T + b_v,h
    weights_h = softmax(q_h k_h^T / sqrt(head_dim) + mask)                    (L, S) per batch entry
    output = concat_h(weights_h v_h) W_o^T + b_o

built from Tensor operations (the tape differentiates it). The attention of an encoder-decoder
(examples/seq2seq_dates.py --attention) is F.scaled_dot_product_attention's single head; this is the module
torch code builds transformers and attention-augmented RNNs from.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from ..tape import is_grad_enabled
from ..tensor import ShapeError, Tensor, cat
from . import functional as F
from . import init
from .checks import check_bool, check_device, check_int
from .module import Module, NonDynamicallyQuantizableLinear, Parameter, check_dtype

__all__ = ["MultiheadAttention"]


class AttentionArgumentError(ValueError, AssertionError):
    """An argument torch's MultiheadAttention refuses with an assertion (embed_dim not divisible by num_heads, a
    mask of another dtype, shapes that do not go together): a ValueError, as the library's other checks, and
    torch's AssertionError, so torch code's `except` catches it."""


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
    add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None, dtype=None)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None,
                 dtype: npt.DTypeLike | None = None) -> None:
        check_device("MultiheadAttention", device)
        dtype = check_dtype(dtype, "MultiheadAttention")
        embed_dim = check_int("MultiheadAttention", "embed_dim", embed_dim, 1)
        num_heads = check_int("MultiheadAttention", "num_heads", num_heads, 1)
        if embed_dim % num_heads:
            raise AttentionArgumentError(f"embed_dim must be divisible by num_heads, got embed_dim={embed_dim}, "
                                         f"num_heads={num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else check_int("MultiheadAttention", "kdim", kdim, 1)
        self.vdim = embed_dim if vdim is None else check_int("MultiheadAttention", "vdim", vdim, 1)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout = float(dropout)
        self.batch_first = check_bool("MultiheadAttention", "batch_first", batch_first)
        self.add_zero_attn = check_bool("MultiheadAttention", "add_zero_attn", add_zero_attn)
        bias = check_bool("MultiheadAttention", "bias", bias)
        self._make_parameters(bias, check_bool("MultiheadAttention", "add_bias_kv", add_bias_kv), dtype)

    def _make_parameters(self, bias, add_bias_kv, dtype):
        """torch's parameters in torch's order, initialised as its _reset_parameters: Xavier-uniform projections,
        zero biases, Xavier-normal bias_k and bias_v."""
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = init.xavier_uniform_(Parameter(np.empty((3 * e, e), dtype)))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = init.xavier_uniform_(Parameter(np.empty((e, e), dtype)))
            self.k_proj_weight = init.xavier_uniform_(Parameter(np.empty((e, self.kdim), dtype)))
            self.v_proj_weight = init.xavier_uniform_(Parameter(np.empty((e, self.vdim), dtype)))
        self.in_proj_bias = Parameter(np.zeros(3 * e, dtype)) if bias else None
        self.out_proj = NonDynamicallyQuantizableLinear(e, e, bias=bias, dtype=dtype)
        if bias:
            self.out_proj.bias._data[...] = 0
        self.bias_k = init.xavier_normal_(Parameter(np.empty((1, 1, e), dtype))) if add_bias_kv else None
        self.bias_v = init.xavier_normal_(Parameter(np.empty((1, 1, e), dtype))) if add_bias_kv else None

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """(output, weights): output as query's shape (L, N, E), or (N, L, E) with batch_first, or (L, E)
        unbatched; weights (N, L, S) averaged over the heads (average_attn_weights), else (N, num_heads, L, S),
        or None with need_weights=False. Masks: key_padding_mask (N, S), attn_mask (L, S) or
        (N * num_heads, L, S); True (bool) means "do not attend", a float mask is added to the scores."""
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                               "method `generate_square_subsequent_mask` to create this mask.")
        batched = query.ndim == 3
        fast = not need_weights and self._torch_fast_path(query, key, value, attn_mask, key_padding_mask)
        if self.batch_first and batched:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        elif not batched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
        self._check_inputs(query, key, value)
        warn_mismatched_masks(key_padding_mask, "key_padding_mask", attn_mask, "attn_mask")
        # torch's hint: a causal self-attention without padding and without weights is computed as causal (and
        # the mask itself is not read), as torch's multi_head_attention_forward does
        causal = is_causal and key_padding_mask is None and not need_weights
        output, weights = self._attend(query, key, value, key_padding_mask, None if causal else attn_mask,
                                       need_weights, causal, fast)
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            return output.squeeze(1), None if weights is None else weights.squeeze(0)
        return (output.transpose(0, 1) if self.batch_first else output), weights

    def _torch_fast_path(self, query, key, value, attn_mask, key_padding_mask):
        """Whether torch 2.13's MultiheadAttention takes its fast path (torch._native_multi_head_attention) for
        these arguments: its conditions in its order (the device, tracing and autocast ones always hold here)."""
        if any(m is not None and (not isinstance(m, Tensor) or m.dtype != np.bool_)
               for m in (attn_mask, key_padding_mask)):
            return False   # (float masks are not supported there)
        if query.ndim != 3 or query is not key or key is not value or self.in_proj_weight is None:
            return False
        if self.in_proj_bias is not None and query.dtype != self.in_proj_bias.dtype:
            return False
        if (query.dtype != self.in_proj_weight.dtype or self.training or self.num_heads % 2 or not self.batch_first
                or self.bias_k is not None or self.add_zero_attn or not self._qkv_same_embed_dim):
            return False
        if self.in_proj_bias is None:   # (torch then takes the ordinary path after all)
            return False
        tensors = (query, self.in_proj_weight, self.in_proj_bias, self.out_proj.weight, self.out_proj.bias)
        return not (is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors))

    def attends_nowhere(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, L: int, N: int, S: int,
                        dtype: npt.DTypeLike) -> np.ndarray | None:
        """(N, L) bool: the queries that, in some head, may attend no key (their joined mask row all -inf), or None
        without masks. torch's fast paths give nan there (their softmax of a row of -inf); the ordinary path's
        scaled_dot_product_attention gives 0."""
        mask = self._joined_masks(_float_mask("attn_mask", attn_mask, dtype),
                                  _float_mask("key_padding_mask", key_padding_mask, dtype), L, N, S)
        return None if mask is None else self._nowhere_rows(mask, L, N, S)

    def _nowhere_rows(self, mask, L, N, S):
        rows = np.isneginf(np.broadcast_to(mask._data, (N * self.num_heads, L, S))).all(-1)
        return rows.reshape(N, self.num_heads, L).any(1)

    def _check_inputs(self, query, key, value):
        if query.ndim != 3 or key.ndim != 3 or value.ndim != 3:
            raise AttentionArgumentError(f"MultiheadAttention: query, key and value must be 3-D (batched) or 2-D "
                                         f"(unbatched) alike, got shapes {tuple(query.shape)}, {tuple(key.shape)}, "
                                         f"{tuple(value.shape)}")
        if query.shape[-1] != self.embed_dim:
            raise AttentionArgumentError(f"was expecting embedding dimension of {self.embed_dim}, but got "
                                         f"{query.shape[-1]}")
        if key.shape[:2] != value.shape[:2]:
            raise AttentionArgumentError(f"key shape {tuple(key.shape)} does not match value shape "
                                         f"{tuple(value.shape)}")
        if key.shape[1] != query.shape[1]:   # torch fails in a reshape: a RuntimeError
            raise ShapeError(f"MultiheadAttention: key and value must have query's batch size {query.shape[1]}, got "
                             f"key {tuple(key.shape)} and value {tuple(value.shape)}")
        if key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise ShapeError(f"MultiheadAttention: key and value must end in kdim={self.kdim} and vdim={self.vdim}, "
                             f"got {key.shape[-1]} and {value.shape[-1]}")

    def _projections(self, query, key, value):
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            w = (self.in_proj_weight[:e], self.in_proj_weight[e:2 * e], self.in_proj_weight[2 * e:])
        else:
            w = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = (None,) * 3 if self.in_proj_bias is None else \
            (self.in_proj_bias[:e], self.in_proj_bias[e:2 * e], self.in_proj_bias[2 * e:])
        return [F.linear(x, wi, bi) for x, wi, bi in zip((query, key, value), w, b)]

    def _attend(self, query, key, value, key_padding_mask, attn_mask, need_weights, is_causal=False,
                nan_nowhere=False):
        """torch's multi_head_attention_forward on (L, N, E) inputs: (output (L, N, E), weights (N, H, L, S)).
        Without weights it is F.scaled_dot_product_attention's, as torch's: a query that may attend nowhere gives
        zeros there (the weights' softmax gives nan), or nan with nan_nowhere (torch's fast path)."""
        L, N, _ = query.shape
        q, k, v = self._projections(query, key, value)
        mask = _float_mask("attn_mask", attn_mask, q.dtype)
        padding = _float_mask("key_padding_mask", key_padding_mask, q.dtype)
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(1, N, self.embed_dim)])
            v = cat([v, self.bias_v.expand(1, N, self.embed_dim)])
            mask, padding = _pad_last(mask), _pad_last(padding)
        heads = N * self.num_heads
        q, k, v = (t.reshape(t.shape[0], heads, self.head_dim).transpose(0, 1) for t in (q, k, v))
        if self.add_zero_attn:
            zeros = Tensor(np.zeros((heads, 1, self.head_dim), q.dtype))
            k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
            mask, padding = _pad_last(mask), _pad_last(padding)
        mask = self._joined_masks(mask, padding, L, N, k.shape[1])
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            scores = (q * float(np.sqrt(1.0 / self.head_dim))) @ k.transpose(1, 2)
            weights = F.softmax(scores if mask is None else scores + mask, dim=-1)
            if dropout_p > 0:
                weights = F.dropout(weights, p=dropout_p)
            output = weights @ v
        else:
            weights = None
            output = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p,
                                                    is_causal=is_causal)
        output = output.transpose(0, 1).reshape(L * N, self.embed_dim)
        # out_proj's weights, not the module: its hooks see the attention alone, as torch's functional form does
        output = F.linear(output, self.out_proj.weight, self.out_proj.bias).reshape(L, N, self.embed_dim)
        if nan_nowhere and mask is not None:
            output = output.masked_fill(self._nowhere_rows(mask, L, N, k.shape[1]).T[:, :, None], np.nan)
        return output, (weights.reshape(N, self.num_heads, L, k.shape[1]) if need_weights else None)

    def _joined_masks(self, mask, padding, L, N, S):
        """attn_mask (checked against (L, S) or (N * H, L, S)) plus the key padding of each batch entry."""
        if mask is not None:
            expected = (L, S) if mask.ndim == 2 else (N * self.num_heads, L, S)
            if mask.ndim not in (2, 3) or mask.shape != expected:
                raise ShapeError(f"The shape of the {mask.ndim}D attn_mask is {tuple(mask.shape)}, but should be "
                                 f"{expected}.")
        if padding is None:
            return mask
        if padding.shape != (N, S):
            raise AttentionArgumentError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                                         f"{tuple(padding.shape)}")
        padding = padding.reshape(N, 1, 1, S).expand(N, self.num_heads, 1, S).reshape(N * self.num_heads, 1, S)
        return padding if mask is None else mask + padding

    def extra_repr(self) -> str:
        return ""


def warn_mismatched_masks(mask, mask_name, other, other_name):
    """torch's _canonical_mask warning (a UserWarning, in its words) for a padding mask whose dtype is not the other
    mask's: a bool one with a float one."""
    if isinstance(mask, Tensor) and isinstance(other, Tensor) and mask.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both "
                      "instead.", UserWarning, stacklevel=4)


def canonical_mask(name, mask, dtype):
    """torch's F._canonical_mask as the Transformer layers call it: a bool mask made float (-inf where True), a
    float one kept (an argument that is not a mask is left for the attention's own error)."""
    if isinstance(mask, Tensor) and mask.dtype == np.bool_:
        return _float_mask(name, mask, dtype)
    return mask


def _float_mask(name, mask, dtype):
    """A mask as torch's _canonical_mask makes it: bool True -> -inf, float kept (the query's dtype)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"MultiheadAttention: {name} must be a Tensor, got {type(mask).__name__}")
    if mask.dtype == np.bool_:
        return Tensor(np.where(mask._data, -np.inf, 0.0).astype(dtype))
    if mask.dtype.kind != "f":
        raise AttentionArgumentError(f"only bool and floating types of {name} are supported")
    return mask if mask.dtype == dtype else mask.astype(dtype)


def _pad_last(mask):
    """A column of zeros after the last (a key added by bias_k or add_zero_attn: every query may attend it)."""
    if mask is None:
        return None
    return cat([mask, Tensor(np.zeros(mask.shape[:-1] + (1,), mask.dtype))], dim=-1)
