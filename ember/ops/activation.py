"""Softmax-family ops (also ``torch.softmax`` / ``Tensor.softmax``) and activations of ``nn``."""
from __future__ import annotations

import warnings

from ember._device import get_xp
from ember._tensor import Tensor, _wrap_dim
from ember.ops.base import Op
from ember.ops.pointwise import _to_float


def _softmax_dim(ndim: int, name: str) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Op):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        xp = get_xp(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True)) if x.size else x.copy()
        y = e / e.sum(axis=dim, keepdims=True) if x.size else e
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(ctx.dim, keepdim=True))


class LogSoftmax(Op):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        xp = get_xp(x)
        if not x.size:
            return x.copy()
        s = x - x.max(axis=dim, keepdims=True)
        y = s - xp.log(xp.exp(s).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - y.exp() * g.sum(ctx.dim, keepdim=True)


def _prepare(input: Tensor, dim, dtype, name: str):
    if dtype is not None:
        input = input.to(dtype)
    input = _to_float(input) if input._data.dtype.kind != "f" else input
    if dim is None:
        dim = _softmax_dim(input._data.ndim, name)
    return input, _wrap_dim(dim, input._data.ndim)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    input, dim = _prepare(input, dim, dtype, "softmax")
    return Softmax.apply(input, dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, without forming softmax (stable for large logits)."""
    input, dim = _prepare(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, dim)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    input, dim = _prepare(input, dim, dtype, "softmin")
    return Softmax.apply(-input, dim)


__all__ = ["log_softmax", "softmax"]
TENSOR_METHODS = ["log_softmax", "softmax"]
INPLACE_METHODS: list = []
