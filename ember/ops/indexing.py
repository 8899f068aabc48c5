"""Indexing: ``t[index]`` and ``t[index] = value`` with PyTorch's (= NumPy's) rules."""
from __future__ import annotations

import numbers

import numpy as np

from ember._device import get_xp
from ember._tensor import Tensor, _state
from ember.ops.base import Op


def _index(index, shape: tuple):
    """Turn an index expression into one NumPy understands, checking it as PyTorch does."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    dim = 0
    for i in index:
        if isinstance(i, Tensor):
            a = i._data
            if a.dtype.kind == "f":
                raise IndexError(
                    "tensors used as indices must be long, int, byte or bool tensors"
                )
            out.append(a)
            dim += a.ndim if a.dtype != np.bool_ else max(a.ndim, 1)
        elif isinstance(i, bool) or i is None or i is Ellipsis or isinstance(i, slice):
            out.append(i)
            if isinstance(i, slice):
                dim += 1
        elif isinstance(i, numbers.Integral):
            if dim < len(shape) and not -shape[dim] <= i < shape[dim]:
                raise IndexError(
                    f"index {i} is out of bounds for dimension {dim} with size {shape[dim]}"
                )
            out.append(int(i))
            dim += 1
        elif isinstance(i, (list, tuple, np.ndarray)):
            a = np.asarray(i)
            if a.dtype.kind == "f":
                raise IndexError(
                    "tensors used as indices must be long, int, byte or bool tensors"
                )
            out.append(a)
            dim += 1
        else:
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                "are valid indices (got " + type(i).__name__ + ")"
            )
    if dim > len(shape):
        raise IndexError(
            f"too many indices for tensor of dimension {len(shape)}"
        )
    return tuple(out)


def _is_basic(idx: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) and not isinstance(i, bool)
               for i in idx)


class Index(Op):
    view = True  # basic indexing gives a view; Op.apply checks memory before linking

    @staticmethod
    def forward(ctx, x, idx):
        ctx.shape, ctx.idx = x.shape, idx
        for i in idx:
            if isinstance(i, slice) and i.step is not None and i.step <= 0:
                raise ValueError("step must be greater than zero")
        try:
            return x[idx]
        except IndexError as e:
            raise IndexError(str(e)) from None

    @staticmethod
    def backward(ctx, g):
        return IndexBackward.apply(g, ctx.shape, ctx.idx)


class IndexBackward(Op):
    """Scatter-add a gradient into zeros of the indexed tensor's shape."""

    @staticmethod
    def forward(ctx, g, shape, idx):
        ctx.idx = idx
        xp = get_xp(g)
        out = xp.zeros(shape, dtype=g.dtype)
        if _is_basic(idx):
            out[idx] = g
        else:
            xp.add.at(out, idx, g)
        return out

    @staticmethod
    def backward(ctx, g):
        return Index.apply(g, ctx.idx)


def getitem(input: Tensor, index) -> Tensor:
    return Index.apply(input, _index(index, input._data.shape))


class IndexPut(Op):
    @staticmethod
    def forward(ctx, x, value, idx, accumulate=False):
        ctx.idx = idx
        out = x.copy()
        if accumulate:
            get_xp(x).add.at(out, idx, value)
        else:
            out[idx] = value
        return out

    @staticmethod
    def backward(ctx, g):
        gx = IndexPut.apply(g, 0.0, ctx.idx) if ctx.needs_input_grad[0] else None
        gv = Index.apply(g, ctx.idx) if ctx.needs_input_grad[1] else None
        return gx, gv


def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value``: an in-place op (version bump; recorded when grad is needed)."""
    idx = _index(index, input._data.shape)
    if isinstance(value, Tensor):
        if value._data.dtype != input._data.dtype:
            value = value.to(input.dtype)
    elif not isinstance(value, (numbers.Number, np.generic)):
        value = Tensor._make(np.asarray(value, dtype=input._data.dtype))
    recording = _state["enabled"] and (
        input._requires_grad or isinstance(value, Tensor) and value._requires_grad
    )
    if not recording:
        input._data[idx] = value._data if isinstance(value, Tensor) else value
        input._vc[0] += 1
        return
    input._inplace(_index_put, value, idx)


def _index_put(x: Tensor, value, idx) -> Tensor:
    return IndexPut.apply(x, value, idx)


__all__: list = []
TENSOR_METHODS: list = []
INPLACE_METHODS: list = []
