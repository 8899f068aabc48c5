"""Shape ops: views (reshape, transpose, expand, ...) and joining/splitting.

View ops set ``view = True``: their output shares memory and the version counter with the
input, so an in-place write through the view is seen by the base, as in PyTorch.
"""
from __future__ import annotations

import numbers

import numpy as np

from ember._device import get_xp
from ember._tensor import Tensor, _wrap_dim
from ember.ops.base import BroadcastTo, Op


def _shape_arg(shape) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f(Size)`` all mean the shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _infer(shape: tuple, numel: int) -> tuple:
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Op):
    view = True

    @staticmethod
    def forward(ctx, x, shape, must_view=False):
        ctx.shape = x.shape
        if must_view:
            try:
                return get_xp(x).reshape(x, shape, copy=False)
            except (ValueError, AttributeError):
                raise RuntimeError(
                    "view size is not compatible with input tensor's size and stride (at least one "
                    "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
                ) from None
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return Reshape.apply(g, ctx.shape)


def reshape(input: Tensor, *shape) -> Tensor:
    shape = _infer(_shape_arg(shape), input._data.size)
    if shape == input._data.shape:
        return Reshape.apply(input, shape)
    return Reshape.apply(input, shape)


def view(input: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral)):
        return input.to(shape[0])  # view(dtype) reinterprets only when sizes match; cast here
    shape = _infer(_shape_arg(shape), input._data.size)
    return Reshape.apply(input, shape, True)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


class Permute(Op):
    view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return Permute.apply(g, tuple(np.argsort(ctx.dims)))


def permute(input: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
            f"len(dims) = {len(dims)}"
        )
    dims = tuple(_wrap_dim(d, n) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    n = input._data.ndim
    dims = list(range(n))
    if n:
        d0, d1 = _wrap_dim(dim0, n), _wrap_dim(dim1, n)
        dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, tuple(dims))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    if input._data.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D"
        )
    return Permute.apply(input, tuple(range(input._data.ndim))[::-1])


def expand(input: Tensor, *sizes) -> Tensor:
    sizes = _shape_arg(sizes)
    n = input._data.ndim
    if len(sizes) < n:
        raise RuntimeError(
            f"expand({input.type()}{{{list(input.shape)}}}, size={list(sizes)}): the number of "
            "sizes provided "
            f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
            f"({n})"
        )
    lead = len(sizes) - n
    shape = []
    for i, s in enumerate(sizes):
        cur = input._data.shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            s = cur
        elif cur is not None and cur != 1 and cur != s:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(input.shape)}"
            )
        shape.append(s)
    shape = tuple(shape)
    if shape == input._data.shape:
        return Reshape.apply(input, shape)
    return BroadcastTo.apply(input, shape)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, tuple(shape))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    n = input._data.ndim + 1
    d = _wrap_dim(dim, n)
    shape = list(input._data.shape)
    shape.insert(d, 1)
    return Reshape.apply(input, tuple(shape))


def squeeze(input: Tensor, dim=None) -> Tensor:
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        dims = {_wrap_dim(d, len(shape)) for d in dims} if shape else set()
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return Reshape.apply(input, new)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    if not shape:
        return Reshape.apply(input, (1,))
    s = _wrap_dim(start_dim, len(shape))
    e = _wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return Reshape.apply(input, shape[:s] + (n,) + shape[e + 1:])


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    if input._data.flags.c_contiguous:
        return input
    from ember.ops.creation import clone

    return clone(input)


# ---- in-place writes through a view ----------------------------------------------------------


class CopySlices(Op):
    """The base's new history after an in-place op on one of its views."""

    @staticmethod
    def forward(ctx, base, value, replay):
        ctx.replay = replay
        out = base.copy()
        replay(Tensor._make(out))._data[...] = value
        return out

    @staticmethod
    def backward(ctx, g):
        from ember.ops.creation import clone

        gb = clone(g)
        from ember.autograd.grad_mode import no_grad

        with no_grad():
            ctx.replay(gb)._data[...] = 0
        return gb, ctx.replay(g), None


def _replay_fn(view: Tensor):
    """A function that redoes on another tensor the chain of view ops that made ``view``."""
    chain = []
    t = view
    while t._view_src is not None:
        src, cls, args, kwargs = t._view_src
        chain.append((cls, args, kwargs))
        t = src
    chain.reverse()

    def replay(x: Tensor) -> Tensor:
        for cls, args, kwargs in chain:
            x = cls.apply(x, *args, **kwargs)
        return x

    return replay


def rebase_view(view: Tensor, result: Tensor) -> None:
    """Give ``view`` and its base the history of an in-place op that wrote ``result`` into view."""
    base = view._base
    replay = _replay_fn(view)
    old = Tensor._make(base._data.copy(), base.grad_fn, base._output_nr)
    old._requires_grad = base._requires_grad
    new_base = CopySlices.apply(old, result, replay)
    base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, 0, True
    fresh = replay(base)
    view.grad_fn, view._output_nr, view._requires_grad = fresh.grad_fn, fresh._output_nr, True


__all__ = [
    "broadcast_to", "contiguous", "expand", "expand_as", "flatten", "permute", "reshape",
    "reshape_as", "squeeze", "swapaxes", "swapdims", "t", "transpose", "unsqueeze", "view",
    "view_as",
]
TENSOR_METHODS = list(__all__)
INPLACE_METHODS: list = []
