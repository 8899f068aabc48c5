"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

``scaled_dot_product_attention`` is one op, ``_Attention``: two batched matmuls around a softmax
computed in place, with the causal or boolean mask added as a constant bias, and a backward of
five matmuls on arrays.  It saves q, k, v and each softmax row's max and sum, nothing else.
When the backward must itself be differentiable (``create_graph=True``) it recomputes the
weights from q and k with ember ops, so double backward works; a float mask that requires grad
takes the composite path of ember ops.  The softmax gives zeros (not NaN) for a query whose keys are all
masked, as PyTorch's fused kernels do; the explicit path of multi-head attention with
``need_weights=True`` uses the plain softmax and gives NaN there, as PyTorch does.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ember import _dtype as DT
from ember import _native
from ember import random as R
from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.ops.activation import _native_softmax, softmax
from ember.ops.base import Op
from ember.ops.conv import pad
from ember.ops.creation import zeros
from ember.ops.dropout import dropout
from ember.ops.linear import linear
from ember.ops.pointwise import _need_tensor
from ember.ops.shape import cat


class SafeSoftmax(Op):
    """Softmax over the last axis that gives 0 for a row of all -inf."""

    @staticmethod
    def forward(ctx, x):
        xp = get_xp(x)
        m = x.max(axis=-1, keepdims=True) if x.size else x
        dead = xp.isneginf(m)
        e = xp.exp(x - xp.where(dead, 0, m))
        s = e.sum(axis=-1, keepdims=True)
        y = e / xp.where(dead, 1, s)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(-1, keepdim=True))


def _dtype_name(dtype) -> str:
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "float16": "c10::Half", "bfloat16": "c10::BFloat16", "bool": "bool"}.get(
        str(dtype).replace("ember.", ""), str(dtype))


def _check_sdpa(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None) -> None:
    for t in (query, key, value):
        _need_tensor("scaled_dot_product_attention", t)
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{_dtype_name(query.dtype)} key.dtype: {_dtype_name(key.dtype)} and value.dtype: "
            f"{_dtype_name(value.dtype)} instead."
        )
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead."
        )
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            f"scaled_dot_product_attention: query's last dim {query.shape[-1]} must equal key's "
            f"{key.shape[-1]} (query {list(query.shape)}, key {list(key.shape)})"
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: key and value must have the same sequence length "
            f"(dim -2), got key {list(key.shape)} and value {list(value.shape)}"
        )
    if attn_mask is not None and attn_mask.dtype != DT.bool_ and attn_mask.dtype != query.dtype \
            and not attn_mask.is_floating_point():
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
            f"attn_mask.dtype: {_dtype_name(attn_mask.dtype)} and  query.dtype: "
            f"{_dtype_name(query.dtype)} instead."
        )
    if attn_mask is not None:
        scores = np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2])) + (
            query.shape[-2], key.shape[-2])
        try:
            shape = np.broadcast_shapes(tuple(attn_mask.shape), scores)
        except ValueError:
            shape = None
        if shape != scores:
            raise RuntimeError(
                f"scaled_dot_product_attention: attn_mask of shape {list(attn_mask.shape)} "
                f"does not broadcast to the attention scores' shape {list(scores)} "
                "(..., L, S)"
            )


def _bias(keep, like: Tensor) -> Tensor:
    """An additive mask: 0 where ``keep``, -inf elsewhere (a constant; no grad flows to it)."""
    xp = get_xp(keep)
    return Tensor._make(xp.where(keep, xp.zeros((), like._data.dtype),
                                 xp.asarray(-xp.inf, like._data.dtype)))


def _np_softmax_(s):
    """Softmax over the last axis in place; a row of all -inf becomes zeros.  Returns each
    row's (max, sum of exp(s - max)), as (..., 2) (0 and 1 for such a row), from which
    ``exp(s - max) / sum`` (``_np_weights_``) gives the same weights again."""
    if s.size and _native.takes(s):
        stats = np.empty(s.shape[:-1] + (2,), np.float32)
        _native.call("attn_softmax", s, stats, s.size // s.shape[-1], s.shape[-1])
        return stats
    xp = get_xp(s)
    m = s.max(axis=-1, keepdims=True)
    dead = xp.isneginf(m)
    any_dead = bool(dead.any())
    if any_dead:
        m[dead] = 0
    s -= m
    xp.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    if any_dead:
        total[dead] = 1
    s /= total
    return xp.concatenate([m, total], axis=-1)


def _np_weights_(s, stats):
    """The softmax weights again, in place on the recomputed scores ``s``."""
    if s.size and _native.takes(s, stats):
        _native.call("attn_weights", s, stats, s.size // s.shape[-1], s.shape[-1])
        return
    s -= stats[..., :1]
    get_xp(s).exp(s, out=s)
    s /= stats[..., 1:]


def _np_scores(q, k, bias, scale):
    xp = get_xp(q)
    s = xp.matmul(q, xp.swapaxes(k, -1, -2))
    s *= s.dtype.type(scale)
    if bias is not None:
        s += bias
    return s


class _Attention(Op):
    """softmax(q k^T * scale + bias) [* dropout factor] v over the last two dims, fused.

    ``bias`` is a constant array (the causal or boolean mask as 0/-inf, or a float mask that
    needs no grad) or None; ``factor`` is the dropout mask already scaled by 1/(1-p), or None.
    Saved: q, k, v and each row's max and sum, not the (L, S) weights, which the backward
    recomputes with one more batched product (as PyTorch's fused CPU kernel does).
    """

    def name(self) -> str:
        return "ScaledDotProductFlashAttentionForCpuBackward0"

    @staticmethod
    def forward(ctx, q, k, v, bias, scale, factor):
        xp = get_xp(q)
        ctx.scale = scale
        s = _np_scores(q, k, bias, scale)
        stats = _np_softmax_(s)
        out = xp.matmul(s if factor is None else s * factor, v)
        if ctx.needs_input_grad:
            ctx.save_for_backward(q, k, v, stats, bias, factor)
        return out

    @staticmethod
    def backward(ctx, g):
        q, k, v, stats, bias, factor = ctx.saved_tensors
        scale = ctx.scale
        if grad_mode.is_grad_enabled():  # create_graph: a differentiable backward
            scores = (q * scale).matmul(k.transpose(-2, -1))
            w = SafeSoftmax.apply(scores if bias is None else scores + bias)
            wd = w if factor is None else w * factor
            dw = g.matmul(v.transpose(-2, -1))
            if factor is not None:
                dw = dw * factor
            ds = w * (dw - (dw * w).sum(-1, keepdim=True)) * scale
            return (ds.matmul(k), ds.transpose(-2, -1).matmul(q),
                    wd.transpose(-2, -1).matmul(g), None, None, None)
        xp = get_xp(g._data)
        ga, qa, ka, va = g._data, q._data, k._data, v._data
        fa = None if factor is None else factor._data
        w = _np_scores(qa, ka, None if bias is None else bias._data, scale)
        _np_weights_(w, stats._data)
        need = ctx.needs_input_grad
        dv = None
        if need[2]:
            wd = w if fa is None else w * fa
            dv = Tensor._make(xp.matmul(xp.swapaxes(wd, -1, -2), ga))
        if not (need[0] or need[1]):
            return None, None, dv, None, None, None
        ds = xp.matmul(ga, xp.swapaxes(va, -1, -2))
        if fa is not None:
            ds *= fa
        if w.size and _native.takes(ds, w):  # w (ds - rowsum(ds w)) in one pass
            ds = _native_softmax("softmax_backward", False, ds, w)
        else:
            ds -= xp.einsum("...j,...j->...", ds, w)[..., None]
            ds *= w
        ds *= ds.dtype.type(scale)
        dq = Tensor._make(xp.matmul(ds, ka)) if need[0] else None
        dk = Tensor._make(xp.matmul(xp.swapaxes(ds, -1, -2), qa)) if need[1] else None
        return dq, dk, dv, None, None, None


def _composite_attention(query: Tensor, key: Tensor, value: Tensor, bias, scale: float,
                         dropout_p: float) -> Tensor:
    """The same attention as ember ops (a float mask that requires grad, or empty inputs)."""
    scores = (query * scale).matmul(key.transpose(-2, -1))
    if bias is not None:
        scores = scores + bias
    weights = SafeSoftmax.apply(scores)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True)
    return weights.matmul(value)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two dims, with any leading batch dims.

    A bool mask keeps the True positions; a float mask is added to the scores; ``is_causal``
    masks keys after each query (top-left aligned).  ``enable_gqa`` lets key/value have fewer
    heads (dim -3) than query, each shared by a group of query heads.
    """
    _check_sdpa(query, key, value, attn_mask)
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hk == 0 or hq % hk or hq % value.shape[-3]:
            raise RuntimeError(
                f"scaled_dot_product_attention: with enable_gqa the number of query heads "
                f"({hq}) must be a multiple of the key and value heads ({hk}, "
                f"{value.shape[-3]})"
            )
        key = key.repeat_interleave(hq // hk, -3)
        value = value.repeat_interleave(hq // value.shape[-3], -3)
    L, S = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1 / math.sqrt(query.shape[-1])
    bias = None
    if is_causal:
        xp = get_xp(query._data)
        bias = _bias(xp.tril(xp.ones((L, S), dtype=bool)), query)
    elif attn_mask is not None:
        bias = _bias(attn_mask._data, query) if attn_mask.dtype == DT.bool_ else attn_mask
    if (bias is not None and bias.requires_grad) or 0 in query.shape or 0 in key.shape \
            or 0 in value.shape:
        return _composite_attention(query, key, value, bias, scale, dropout_p)
    factor = None
    if dropout_p > 0:
        if dropout_p >= 1:
            return _composite_attention(query, key, value, bias, scale, dropout_p)
        shape = np.broadcast_shapes(tuple(query.shape[:-1]) + (S,),
                                    tuple(key.shape[:-2]) + (L, S),
                                    () if bias is None else tuple(bias.shape))
        xp = get_xp(query._data)
        keep = R.rng(None).random(shape) >= dropout_p
        factor = xp.asarray(keep / (1 - dropout_p), dtype=query._data.dtype)
    return _Attention.apply(query, key, value, bias, scale, factor)


# ---- multi-head attention ------------------------------------------------------------------

def _none_or_dtype(input: Tensor | None):
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type, other_name: str,
                    target_type, check_other: bool = True) -> Tensor | None:
    """A bool mask (True = masked out) as an additive float mask of ``target_type``."""
    if mask is None:
        return None
    is_float = mask.is_floating_point()
    if mask.dtype != DT.bool_ and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(
            f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same "
            "type for both instead.",
            UserWarning,
            stacklevel=3,
        )
    if not is_float:
        mask = zeros(mask.shape, dtype=target_type, device=mask.device).masked_fill(
            mask, float("-inf"))
    return mask


def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    """PyTorch's rank checks; returns whether the input is batched."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                f"found {key_padding_mask.dim()}-D tensor instead"
            )
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                f"found {attn_mask.dim()}-D tensor instead"
            )
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D "
                f"but found {key_padding_mask.dim()}-D tensor instead"
            )
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                    f"but found {attn_mask.dim()}-D tensor instead"
                )
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(
                        f"Expected `attn_mask` shape to be {expected} but got "
                        f"{tuple(attn_mask.shape)}"
                    )
        return False
    raise AssertionError(
        f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query "
        "tensor"
    )


def multi_head_attention_forward(
    query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
    in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
    bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
    out_proj_bias: Tensor | None, training: bool = True, key_padding_mask: Tensor | None = None,
    need_weights: bool = True, attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None, static_v: Tensor | None = None,
    average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on (L, N, E) sequence-first inputs (or unbatched (L, E)).

    Returns the attention output and, with ``need_weights``, the attention weights
    (N, L, S) averaged over heads, or (N, heads, L, S) with ``average_attn_weights=False``.
    Boolean masks mark positions that are NOT allowed to attend (True = masked out).
    """
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       _none_or_dtype(attn_mask), "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the causal flag alone is passed to the attention kernel
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(
                f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                f"{tuple(value.shape[:2])}"
            )
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(
            f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}"
        )

    if in_proj_bias is None:
        b_q = b_k = b_v = None
    else:
        b_q, b_k, b_v = in_proj_bias.chunk(3)
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError(
                "use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                "v_proj_weight is None"
            )
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        w_q, w_k, w_v = in_proj_weight.chunk(3)
    if not use_separate_proj_weight and query is key and key is value:
        q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
    else:
        q = linear(query, w_q, b_q)
        if key is value and not use_separate_proj_weight:
            kv_b = None if in_proj_bias is None else cat([b_k, b_v])
            k, v = linear(key, cat([w_k, w_v]), kv_b).chunk(2, -1)
        else:
            k, v = linear(key, w_k, b_k), linear(value, w_v, b_v)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                    f"{(tgt_len, src_len)}."
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                    f"{(bsz * num_heads, tgt_len, src_len)}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.expand(1, bsz, embed_dim)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be given or both be None")

    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, "static_k", bsz, num_heads, head_dim)
    v = _heads(v, static_v, "static_v", bsz, num_heads, head_dim)

    if add_zero_attn:
        z = zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k = cat([k, z], 1)
        v = cat([v, z], 1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(
                f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                f"{tuple(key_padding_mask.shape)}"
            )
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
            -1, num_heads, -1, -1).reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = (q * math.sqrt(1.0 / head_dim)).matmul(k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, dropout_p)
        out = weights.matmul(v)
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if not batched:
        out = out.squeeze(1)
    return out, None


def _heads(t: Tensor, static: Tensor | None, name: str, bsz: int, num_heads: int,
           head_dim: int) -> Tensor:
    """(S, N, E) -> (N * heads, S, head_dim), or the given precomputed ``static`` form."""
    if static is None:
        return t.reshape(t.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if static.shape[0] != bsz * num_heads or static.shape[2] != head_dim:
        raise AssertionError(
            f"expecting {name} of shape ({bsz * num_heads}, S, {head_dim}), but got "
            f"{tuple(static.shape)}"
        )
    return static


__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]
