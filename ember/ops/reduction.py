"""Reductions over one, several or all dims: sum, mean, ..."""
from __future__ import annotations

import numbers

import numpy as np

from ember import _dtype as DT
from ember._tensor import Tensor, _wrap_dim
from ember.ops.base import Op
from ember.ops.shape import expand, reshape


def _axes(dim, ndim: int) -> tuple | None:
    """Normalise ``dim`` (None, int, or a sequence of ints) to a tuple of axes, or None = all."""
    if dim is None:
        return None
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    dims = tuple(_wrap_dim(d, ndim) for d in dim)
    if not dims:
        return None
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    return dims


def _unreduce(g: Tensor, shape: tuple, axes: tuple | None, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over the reduced axes (the backward of every sum)."""
    if not keepdim and shape:
        kept = [1 if axes is None or i in axes else n for i, n in enumerate(shape)]
        g = reshape(g, tuple(kept))
    return expand(g, shape)


class Sum(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        return _unreduce(g, ctx.shape, ctx.axes, ctx.keepdim)


def _acc_dtype(input: Tensor, dtype) -> np.dtype | None:
    if dtype is not None:
        return dtype.np
    return np.dtype(np.int64) if input._data.dtype.kind in "biu" else None


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    axes = _axes(dim, input._data.ndim)
    return Sum.apply(input, axes, keepdim, _acc_dtype(input, dtype))


class Mean(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        out = x.mean(axis=axes, keepdims=keepdim)
        ctx.count = max(x.size // max(out.size, 1), 1) if x.size else 0
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return _unreduce(g / ctx.count if ctx.count else g * np.nan, ctx.shape, ctx.axes,
                         ctx.keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {DT._FROM_NP[input._data.dtype].name.capitalize()}"
        )
    return Mean.apply(input, _axes(dim, input._data.ndim), keepdim)


__all__ = ["mean", "sum"]
TENSOR_METHODS = list(__all__)
INPLACE_METHODS: list = []
