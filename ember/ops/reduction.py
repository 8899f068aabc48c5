"""Reductions over one, several or all dims, cumulative ops, and sorting/selection.

Ops that *select* elements (max with a dim, sort, topk, median with a dim ...) compute their
indices in NumPy and take their values with ``_Gather``, whose backward scatters the gradient
back to the selected positions, so they all share one differentiable path.  Whole-tensor
selections (``max()``, ``amax``, ``median()``) share the gradient evenly among ties, as PyTorch
does, through ``_Extreme``.
"""
from __future__ import annotations

import builtins
import math
import numbers
import warnings

import numpy as np

from ember import return_types as _rt
from ember._device import get_xp
from ember._tensor import Tensor, _wrap_dim
from ember.autograd.grad_mode import _state
from ember.ops import pointwise as _pw
from ember.ops.base import Op, wrap
from ember.ops.shape import expand, reshape

# ---- dim handling ----------------------------------------------------------------------------


def _axes(dim, ndim: int) -> tuple | None:
    """Normalise ``dim`` (None, int, or a sequence of ints) to a tuple of axes, or None = all."""
    if dim is None:
        return None
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    dims = tuple(_wrap_dim(d, ndim) for d in dim)
    if not dims or ndim == 0:
        return None
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    return dims


def _kept_shape(shape: tuple, axes: tuple | None) -> tuple:
    return tuple(1 if axes is None or i in axes else n for i, n in enumerate(shape))


def _out_shape(shape: tuple, axes: tuple | None, keepdim: bool) -> tuple:
    if keepdim:
        return _kept_shape(shape, axes)
    return tuple(n for i, n in enumerate(shape) if axes is not None and i not in axes)


def _keep(g: Tensor, shape: tuple, axes: tuple | None, keepdim: bool) -> Tensor:
    """Reshape a reduced gradient to keepdim form so that it broadcasts against the input."""
    kept = _kept_shape(shape, axes)
    return g if keepdim or g._data.shape == kept else reshape(g, kept)


def _unreduce(g: Tensor, shape: tuple, axes: tuple | None, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over the reduced axes (the backward of every sum)."""
    if not _state["enabled"]:  # no graph to record: a read-only broadcast view of the array
        gd = g._data
        return wrap(get_xp(gd).broadcast_to(gd.reshape(_kept_shape(shape, axes)), shape))
    return expand(_keep(g, shape, axes, keepdim), shape)


def _const(array) -> Tensor:
    """A Tensor outside the graph (0-d results of NumPy come back as scalars: re-wrap them)."""
    return Tensor._make(get_xp(array).asarray(array))


def _check_nonempty(input: Tensor, axes: tuple | None, op: str) -> None:
    """PyTorch refuses to reduce empty slices for ops without an identity (max, argmax ...)."""
    shape = input._data.shape
    if axes is None:
        if input._data.size == 0:
            raise RuntimeError(
                f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        return
    for a in axes:
        if shape[a] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {a} to have non-zero size.")


_TORCH_NAMES = {"float64": "Double", "float32": "Float", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _type_name(t: Tensor) -> str:
    """The dtype as PyTorch's messages name it (Long, Float ...)."""
    return _TORCH_NAMES[t.dtype.name]


def _require_float(input: Tensor, op: str, exc=RuntimeError) -> None:
    if input._data.dtype.kind != "f":
        raise exc(f"{op}(): expected a floating point tensor as input, got {_type_name(input)}; "
                  "convert it with .float() or .double() first")


# ---- sum, mean, nansum, nanmean, prod --------------------------------------------------------


class Sum(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return get_xp(x).add.reduce(x, axis=axes, dtype=dtype, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return _unreduce(g, ctx.shape, ctx.axes, ctx.keepdim), None, None, None


def _acc_dtype(input: Tensor, dtype) -> np.dtype | None:
    if dtype is not None:
        return dtype.np
    return np.dtype(np.int64) if input._data.dtype.kind in "biu" else None


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum; integer and bool inputs accumulate in int64 as PyTorch does."""
    axes = _axes(dim, input._data.ndim)
    return Sum.apply(input, axes, keepdim, _acc_dtype(input, dtype))


class Mean(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        count = x.size if axes is None else math.prod([x.shape[a] for a in axes])
        ctx.count = count if x.size else 0
        # NumPy's mean (float16 sums in float32) without its Python-level argument handling
        out = x.sum(axis=axes, keepdims=keepdim, dtype=np.float32 if x.dtype == np.float16 else None)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = out / count
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return _unreduce(g / ctx.count if ctx.count else g * np.nan, ctx.shape, ctx.axes,
                         ctx.keepdim), None, None


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {_type_name(input)}"
        )
    return Mean.apply(input, _axes(dim, input._data.ndim), keepdim)


class NanSum(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.save_for_backward(x)
        return get_xp(x).nansum(x, axis=axes, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        keep = _const(~get_xp(x._data).isnan(x._data))
        return _unreduce(g, ctx.shape, ctx.axes, ctx.keepdim) * keep, None, None, None


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum treating NaN as zero."""
    axes = _axes(dim, input._data.ndim)
    if input._data.dtype.kind != "f":
        return sum(input, dim, keepdim, dtype=dtype)
    return NanSum.apply(input, axes, keepdim, _acc_dtype(input, dtype))


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of the non-NaN elements (NaN where there are none)."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{_type_name(input)}"
        )
    notnan = _const(~get_xp(input._data).isnan(input._data))
    count = sum(notnan, dim, keepdim).to(input.dtype)
    return nansum(input, dim, keepdim) / count


class Prod(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim, dtype):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        out = x.prod(axis=axes, keepdims=keepdim, dtype=dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        shape, axes, keepdim = ctx.shape, ctx.axes, ctx.keepdim
        g = _keep(g, shape, axes, keepdim)
        xa = x._data
        zero = xa == 0
        if not zero.any():
            return g * _keep(out, shape, axes, keepdim) / x, None, None, None
        # With zeros the quotient out / x is undefined.  With y = x with its zeros replaced by
        # ones, the product of the other elements is prod(y) at a slice's single zero z and
        # x_z prod(y) / y elsewhere in that slice (0, but with the right derivative in x_z);
        # slices with two or more zeros get 0.
        nzero = zero.sum(axis=axes, keepdims=True)
        y = _pw.where(_const(zero), 1.0, x)
        py = Prod.apply(y, axes, True, None)
        dt = xa.dtype
        one = nzero == 1
        xz = sum(x * _const((zero & one).astype(dt)), axes, True)
        at = _const((zero & one).astype(dt))
        off = _const(((~zero & one) | (nzero == 0)).astype(dt))
        scale = _pw.where(_const(nzero == 0), 1.0, xz)
        return g * py * (at + scale * off / y), None, None, None


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product; the gradient is exact where the input has zeros."""
    if dim is not None and not isinstance(dim, numbers.Integral):
        raise TypeError(
            f"prod(): argument 'dim' must be int, not {type(dim).__name__} (prod reduces one dim "
            "or all of them; call it once per dim)"
        )
    axes = _axes(dim, input._data.ndim)
    return Prod.apply(input, axes, keepdim, _acc_dtype(input, dtype))


# ---- selecting one element: gather / scatter -------------------------------------------------


class _Gather(Op):
    """``take_along_axis`` (then a reshape): the values of every op that selects by index."""

    @staticmethod
    def forward(ctx, x, idx, axis, shape=None):
        ctx.idx, ctx.axis, ctx.shape = idx, axis, x.shape
        out = get_xp(x).take_along_axis(x, idx, axis)
        return out if shape is None else out.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        if g._data.shape != ctx.idx.shape:
            g = reshape(g, ctx.idx.shape)
        return _ScatterAdd.apply(g, ctx.idx, ctx.axis, ctx.shape), None, None, None


class _ScatterAdd(Op):
    """Add ``g`` into zeros of ``shape`` at ``idx`` along ``axis`` (repeated indices add up)."""

    @staticmethod
    def forward(ctx, g, idx, axis, shape):
        ctx.idx, ctx.axis = idx, axis
        xp = get_xp(g)
        out = xp.zeros(shape, dtype=g.dtype)
        where = list(xp.indices(idx.shape, sparse=True))
        where[axis] = idx
        xp.add.at(out, tuple(where), g)
        return out

    @staticmethod
    def backward(ctx, g):
        return _Gather.apply(g, ctx.idx, ctx.axis), None, None, None


# one subclass per op, so that ``grad_fn`` names the op as PyTorch does (``MaxBackward0``)
_SELECT = {n: type(n.capitalize(), (_Gather,), {}) for n in (
    "max", "min", "sort", "topk", "kthvalue", "median", "nanmedian", "mode", "cummax", "cummin")}


def _take(name: str, input: Tensor, idx, axis: int, keepdim: bool, scalar: bool):
    """The ``name`` return type: values and int64 indices at ``idx`` (keepdim) along ``axis``."""
    if scalar:
        shape = ()
    elif keepdim:
        shape = None
    else:
        shape = idx.shape[:axis] + idx.shape[axis + 1:]
    values = _SELECT[name].apply(input, idx, axis, shape)
    idx = idx.astype(np.int64, copy=False)
    return getattr(_rt, name)(values, _const(idx if shape is None else idx.reshape(shape)))


def _one_dim(input: Tensor, dim: int):
    """(input as at least 1-d, wrapped axis, whether it was 0-d) for single-dim ops."""
    axis = _wrap_dim(dim, input._data.ndim)
    if input._data.ndim == 0:
        return reshape(input, (1,)), 0, True
    return input, axis, False


def _along(shape: tuple, axis: int, xp):
    """0, 1, ..., n-1 along ``axis``, broadcastable against an array of ``shape``."""
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return xp.arange(shape[axis]).reshape(view)


# ---- max, min, amax, amin, argmax, argmin, aminmax -------------------------------------------


class _Extreme(Op):
    """A whole-slice selection whose gradient is shared evenly among the elements equal to it."""

    @staticmethod
    def forward(ctx, x, fn, axes, keepdim, nan_ties):
        out = fn(x, axes)
        ctx.shape, ctx.axes, ctx.keepdim, ctx.nan_ties = x.shape, axes, keepdim, nan_ties
        ctx.kept = out
        ctx.save_for_backward(x)
        return out if keepdim else out.reshape(_out_shape(x.shape, axes, False))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xa, out = x._data, ctx.kept
        xp = get_xp(xa)
        mask = xa == out
        if ctx.nan_ties:
            mask |= xp.isnan(xa) & xp.isnan(out)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = mask / mask.sum(axis=ctx.axes, keepdims=True)
        g = _keep(g, ctx.shape, ctx.axes, ctx.keepdim)
        return g * _const(scale.astype(xa.dtype)), None, None, None, None


_EXTREME = {n: type(n.capitalize(), (_Extreme,), {}) for n in (
    "amax", "amin", "max", "min", "aminmax", "median", "nanmedian")}


def _amax(x, axes):
    return x.max(axis=axes, keepdims=True)


def _amin(x, axes):
    return x.min(axis=axes, keepdims=True)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (all dims by default); ties share the gradient evenly."""
    axes = _axes(dim, input._data.ndim)
    _check_nonempty(input, axes, "amax")
    return _EXTREME["amax"].apply(input, _amax, axes, keepdim, False)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (all dims by default); ties share the gradient evenly."""
    axes = _axes(dim, input._data.ndim)
    _check_nonempty(input, axes, "amin")
    return _EXTREME["amin"].apply(input, _amin, axes, keepdim, False)


def _max_min(input: Tensor, dim, keepdim: bool, other, largest: bool):
    name = "max" if largest else "min"
    if isinstance(dim, Tensor) or other is not None:
        return getattr(_pw, "maximum" if largest else "minimum")(input, other if other is not None
                                                                 else dim)
    if dim is None:
        _check_nonempty(input, None, name)
        return _EXTREME[name].apply(input, _amax if largest else _amin, None, False, True)
    x, axis, scalar = _one_dim(input, dim)
    _check_nonempty(x, (axis,), name)
    xa = x._data
    xp = get_xp(xa)
    idx = (xp.argmax if largest else xp.argmin)(xa, axis=axis, keepdims=True)
    return _take(name, x, idx, axis, keepdim, scalar)


def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None) -> Tensor | tuple:
    """``max()`` -> 0-d; ``max(dim)`` -> (values, indices), first index on ties;
    ``max(other)`` -> elementwise maximum."""
    return _max_min(input, dim, keepdim, other, True)


def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None) -> Tensor | tuple:
    """``min()`` -> 0-d; ``min(dim)`` -> (values, indices), first index on ties;
    ``min(other)`` -> elementwise minimum."""
    return _max_min(input, dim, keepdim, other, False)


def _arg(input: Tensor, dim, keepdim: bool, largest: bool) -> Tensor:
    name = "argmax" if largest else "argmin"
    if input._data.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input; convert it with .long() first")
    xa = input._data
    xp = get_xp(xa)
    fn = xp.argmax if largest else xp.argmin
    if dim is None:
        if xa.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        idx = fn(xa.reshape(-1))
        shape = (1,) * xa.ndim if keepdim else ()
        return _const(xp.asarray(idx, dtype=np.int64).reshape(shape))
    axis = _wrap_dim(dim, xa.ndim)
    if xa.ndim == 0:
        return _const(xp.zeros((), dtype=np.int64))
    _check_nonempty(input, (axis,), name)
    return _const(fn(xa, axis=axis, keepdims=keepdim).astype(np.int64, copy=False))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (first one on ties, first NaN if any)."""
    return _arg(input, dim, keepdim, True)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (first one on ties, first NaN if any)."""
    return _arg(input, dim, keepdim, False)


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> tuple:
    """(min, max) in one call."""
    axes = _axes(dim, input._data.ndim)
    empty = input._data.size == 0 if axes is None else input._data.shape[axes[0]] == 0
    if empty:
        raise RuntimeError(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
            "identity."
        )
    op = _EXTREME["aminmax"]
    return _rt.aminmax(op.apply(input, _amin, axes, keepdim, False),
                       op.apply(input, _amax, axes, keepdim, False))


# ---- var, std --------------------------------------------------------------------------------


def _correction(unbiased, correction) -> float:
    if correction is not None and unbiased is not None:
        raise RuntimeError("var/std: pass either unbiased or correction, not both")
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _variance(x, axes, correction, keepdim):
    """The corrected variance; sum(d^2) / max(n - correction, 0) as NumPy and PyTorch."""
    xp = get_xp(x)
    m = x.mean(axis=axes, keepdims=True) if x.size else x.sum(axis=axes, keepdims=True)
    d = x - m
    n = x.size // builtins.max(m.size, 1) if x.size else 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (d * d).sum(axis=axes, keepdims=keepdim) / builtins.max(n - correction, 0)
    return xp.asarray(out, dtype=x.dtype)


class Var(Op):
    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim, ctx.correction = x.shape, axes, keepdim, correction
        ctx.save_for_backward(x)
        return _variance(x, axes, correction, keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _var_backward(g, x, ctx), None, None, None


def _var_backward(g: Tensor, x: Tensor, ctx) -> Tensor:
    n = x._data.size // builtins.max(int(np.prod(_out_shape(ctx.shape, ctx.axes, True))), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.float64(2.0) / np.float64(n - ctx.correction)
        centred = x - mean(x, ctx.axes, True)
        return _keep(g, ctx.shape, ctx.axes, ctx.keepdim) * centred * float(scale)


class Std(Op):
    @staticmethod
    def forward(ctx, x, axes, correction, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim, ctx.correction = x.shape, axes, keepdim, correction
        out = get_xp(x).sqrt(_variance(x, axes, correction, keepdim))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        zero = _const(out._data == 0)
        # d std = d var / (2 std), defined as 0 where std is 0 (as PyTorch does)
        gvar = _pw.where(zero, 0.0, g / (2 * _pw.where(zero, 1.0, out)))
        return _var_backward(gvar, x, ctx), None, None, None


def _var_args(name: str, input: Tensor, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"std and var only support floating point and complex dtypes (got {_type_name(input)} "
            f"in {name}(); convert with .float() first)"
        )
    axes = _axes(dim, input._data.ndim)
    c = _correction(unbiased, correction)
    shape = input._data.shape
    n = int(np.prod([shape[a] for a in axes])) if axes is not None else input._data.size
    if n - c <= 0:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return axes, c


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Variance with ``correction`` (1 = unbiased, the default)."""
    axes, c = _var_args("var", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, axes, c, keepdim)


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None) -> Tensor:
    """Standard deviation with ``correction`` (1 = unbiased, the default)."""
    axes, c = _var_args("std", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, axes, c, keepdim)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple:
    axes, c = _var_args("var_mean", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, axes, c, keepdim), Mean.apply(input, axes, keepdim)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: float | None = None) -> tuple:
    axes, c = _var_args("std_mean", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, axes, c, keepdim), Mean.apply(input, axes, keepdim)


# ---- norm, logsumexp -------------------------------------------------------------------------


class Norm(Op):
    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim, ctx.p = x.shape, axes, keepdim, p
        xp = get_xp(x)
        a = xp.abs(x)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if p == math.inf:
                out = a.max(axis=axes, keepdims=keepdim)
            elif p == -math.inf:
                out = a.min(axis=axes, keepdims=keepdim)
            elif p == 0:
                out = (x != 0).sum(axis=axes, keepdims=keepdim).astype(x.dtype)
            elif p == 1:
                out = a.sum(axis=axes, keepdims=keepdim)
            elif p == 2:
                out = xp.sqrt((x * x).sum(axis=axes, keepdims=keepdim))
            else:
                out = (a**p).sum(axis=axes, keepdims=keepdim) ** (1.0 / p)
        out = xp.asarray(out, dtype=x.dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        p, shape, axes, keepdim = ctx.p, ctx.shape, ctx.axes, ctx.keepdim
        if p == 0:
            return None, None, None, None
        xa = x._data
        xp = get_xp(xa)
        g = _keep(g, shape, axes, keepdim)
        sign = _const(xp.sign(xa))
        if p == 1:
            return g * sign, None, None, None
        if math.isinf(p):
            mask = xp.abs(xa) == _keep(out, shape, axes, keepdim)._data
            scale = mask / mask.sum(axis=axes, keepdims=True)
            return g * sign * _const(scale.astype(xa.dtype)), None, None, None
        o = _keep(out, shape, axes, keepdim)
        zero = _const(o._data == 0)
        safe = _pw.where(zero, 1.0, o)
        if p == 2:
            grad = g * x / safe
        else:
            # x |x|^(p-2) is 0 at x = 0 for every p (PyTorch's convention when p < 2)
            absx = _pw.where(_const(xa == 0), 1.0, x * sign)
            grad = g * x * absx ** (p - 2) / safe ** (p - 1)
        return _pw.where(zero, 0.0, grad), None, None, None


def _vector_norm(input: Tensor, p: float, dim, keepdim: bool, dtype) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{_type_name(input)}"
        )
    axes = _axes(dim, input._data.ndim)
    if math.isinf(p) and input._data.size == 0:
        _check_nonempty(input, axes, "linalg.vector_norm")
    return Norm.apply(input, float(p), axes, keepdim)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None,
         dtype=None) -> Tensor:
    """Vector p-norm (``'fro'`` is the 2-norm over at most two dims; ``'nuc'`` a matrix norm)."""
    if p == "nuc":
        from ember.ops.linalg import matrix_norm

        dim = (-2, -1) if dim is None else dim
        return _pw._out(matrix_norm(input, "nuc", dim, keepdim, dtype=dtype), out)
    if isinstance(p, str):
        if p != "fro":
            raise RuntimeError(f"norm(): p={p!r} is not supported; use 'fro', 'nuc' or a number")
        if dim is not None and not isinstance(dim, numbers.Integral) and len(dim) > 2:
            raise RuntimeError(
                f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}"
            )
        p = 2
    if p is None:
        p = 2
    result = _vector_norm(input, p, dim, keepdim, dtype)
    return _pw._out(result, out)


class LogSumExp(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        xp = get_xp(x)
        kept = _out_shape(x.shape, axes, True)
        m = x.max(axis=axes, keepdims=True) if x.size else xp.zeros(kept, x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            out = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True)) + m
        out = out if keepdim else out.reshape(_out_shape(x.shape, axes, False))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        o = _keep(out, ctx.shape, ctx.axes, ctx.keepdim)
        return _keep(g, ctx.shape, ctx.axes, ctx.keepdim) * _pw.exp(x - o), None, None


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed without overflow."""
    input = _pw._to_float(input)
    return LogSumExp.apply(input, _axes(dim, input._data.ndim), keepdim)


# ---- cumulative ops --------------------------------------------------------------------------


class _Flip(Op):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return get_xp(x).flip(x, axis)

    @staticmethod
    def backward(ctx, g):
        return _Flip.apply(g, ctx.axis), None


def _reverse_cumsum(t: Tensor, axis: int) -> Tensor:
    return _Flip.apply(Cumsum.apply(_Flip.apply(t, axis), axis, None), axis)


class Cumsum(Op):
    @staticmethod
    def forward(ctx, x, axis, dtype):
        ctx.axis = axis
        return get_xp(x).cumsum(x, axis=axis, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        return _reverse_cumsum(g, ctx.axis), None, None


def _cumulative(cls, input: Tensor, dim: int, *args) -> Tensor:
    x, axis, scalar = _one_dim(input, dim)
    out = cls.apply(x, axis, *args)
    return reshape(out, ()) if scalar else out


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``; integer and bool inputs accumulate in int64."""
    return _cumulative(Cumsum, input, dim, _acc_dtype(input, dtype))


class Cumprod(Op):
    @staticmethod
    def forward(ctx, x, axis, dtype):
        ctx.axis = axis
        out = get_xp(x).cumprod(x, axis=axis, dtype=dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axis = ctx.axis
        xa = x._data
        zero = xa == 0
        if not zero.any():
            return _reverse_cumsum(g * out, axis) / x, None, None
        # Before a slice's first zero z, out / x is still exact.  With y = x with x_z replaced
        # by one, the gradient at z is sum_{k >= z} g_k cumprod(y)_k; after z it is x_z times
        # sum_{k >= i} g_k cumprod(y)_k / y_i: 0, but with the right derivative in x_z.
        xp = get_xp(xa)
        pos = _along(xa.shape, axis, xp)
        first = xp.where(zero.any(axis=axis, keepdims=True),
                         xp.argmax(zero, axis=axis, keepdims=True), xa.shape[axis])
        before, at, after = pos < first, pos == first, pos > first
        dt = xa.dtype
        early = _reverse_cumsum(g * out, axis) / _pw.where(_const(before), x, 1.0)
        y = _pw.where(_const(at), 1.0, x)
        tail = _reverse_cumsum(g * Cumprod.apply(y, axis, None), axis)
        xz = sum(x * _const(at.astype(dt)), axis, True)
        late = xz * tail / _pw.where(_const(after & (xa != 0)), y, 1.0)
        return (early * _const(before.astype(dt)) + tail * _const(at.astype(dt))
                + late * _const(after.astype(dt))), None, None


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``; the gradient is exact where the input has zeros."""
    return _cumulative(Cumprod, input, dim, _acc_dtype(input, dtype))


class LogCumSumExp(Op):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        out = get_xp(x).logaddexp.accumulate(x, axis=axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        axis = ctx.axis
        ga = g._data
        xp = get_xp(ga)
        # where out_k = -inf every x_j (j <= k) is -inf too; their weights count as 0, not NaN
        out = _pw.where(_const(out._data == -np.inf), 0.0, out)

        def part(mask, sign: float) -> Tensor:
            # log of the positive (or negated negative) part of g, -inf elsewhere, so that
            # sum_{k>=i} g_k exp(x_i - out_k) is formed in log space without overflow.
            lg = _pw.log(_pw.where(_const(mask), g * sign, 1.0)) + _const(
                xp.where(mask, 0.0, -np.inf).astype(ga.dtype))
            r = _Flip.apply(LogCumSumExp.apply(_Flip.apply(lg - out, axis), axis), axis)
            return _pw.exp(x + r)

        return part(ga > 0, 1.0) - part(ga < 0, -1.0), None


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(x))) computed without overflow."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f'"logcumsumexp_out_cpu" not implemented for \'{_type_name(input)}\'; convert the '
            "input with .float() first"
        )
    return _cumulative(LogCumSumExp, input, dim)


def _cum_extreme(input: Tensor, dim: int, largest: bool):
    x, axis, scalar = _one_dim(input, dim)
    xa = x._data
    xp = get_xp(xa)
    run = (xp.maximum if largest else xp.minimum).accumulate(xa, axis=axis)
    # the latest position holding the running extreme (a NaN, once one is seen), as PyTorch
    hit = xa == run
    if xa.dtype.kind == "f":
        hit |= xp.isnan(xa)
    pos = _along(xa.shape, axis, xp)
    idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=axis)
    return _take("cummax" if largest else "cummin", x, idx, axis, True, scalar)


def cummax(input: Tensor, dim: int) -> tuple:
    """Running maximum and the index where it was (the latest one on ties)."""
    return _cum_extreme(input, dim, True)


def cummin(input: Tensor, dim: int) -> tuple:
    """Running minimum and the index where it was (the latest one on ties)."""
    return _cum_extreme(input, dim, False)


# ---- all, any, count_nonzero -----------------------------------------------------------------


def _logical(input: Tensor, dim, keepdim: bool, fn: str) -> Tensor:
    xa = input._data
    axes = _axes(dim, xa.ndim)
    out = getattr(xa.astype(bool, copy=False), fn)(axis=axes, keepdims=keepdim)
    return _const(out.astype(np.uint8) if xa.dtype == np.uint8 else out)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element is non-zero (uint8 in, uint8 out, as PyTorch)."""
    return _logical(input, dim, keepdim, "all")


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether some element is non-zero (uint8 in, uint8 out, as PyTorch)."""
    return _logical(input, dim, keepdim, "any")


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of non-zero elements (int64)."""
    xa = input._data
    axes = _axes(dim, xa.ndim)
    return _const(get_xp(xa).asarray((xa != 0).sum(axis=axes), dtype=np.int64))


# ---- sorting ---------------------------------------------------------------------------------


def _argsort(xa, axis: int, descending: bool):
    """A stable argsort (NaN counts as the largest value); descending keeps ties in order."""
    xp = get_xp(xa)
    if not descending:
        return xp.argsort(xa, axis=axis, kind="stable")
    order = xp.argsort(xp.flip(xa, axis), axis=axis, kind="stable")
    return xa.shape[axis] - 1 - xp.flip(order, axis)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> tuple:
    """Sorted values and their indices; always stable (equal elements keep their order)."""
    x, axis, scalar = _one_dim(input, dim)
    idx = _argsort(x._data, axis, descending)
    return _take("sort", x, idx, axis, True, scalar)


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    return sort(input, dim, descending, stable).indices


def msort(input: Tensor) -> Tensor:
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True) -> tuple:
    """The k largest (or smallest) elements, sorted; ties keep their order."""
    x, axis, scalar = _one_dim(input, dim)
    n = x._data.shape[axis]
    if not 0 <= k <= n:
        raise RuntimeError(
            f"selected index k out of range: topk(k={k}) on dim {axis} of size {n}"
        )
    idx = _argsort(x._data, axis, largest)
    idx = idx[(slice(None),) * axis + (slice(0, 1 if scalar else k),)]
    return _take("topk", x, idx, axis, True, scalar)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> tuple:
    """The k-th smallest element (1-based) and its index."""
    x, axis, scalar = _one_dim(input, dim)
    n = x._data.shape[axis]
    if not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue(): selected number k out of range for dimension {axis} (k={k}, size {n})"
        )
    idx = _argsort(x._data, axis, False)
    idx = idx[(slice(None),) * axis + (slice(k - 1, k),)]
    return _take("kthvalue", x, idx, axis, keepdim, scalar)


def _check_median_dtype(input: Tensor, op: str) -> None:
    if input._data.dtype == np.bool_:
        raise NotImplementedError(f"\"{op}_cpu\" not implemented for 'Bool'; convert with .long()")


def _lower_median(x, axes, ignore_nan: bool):
    """The lower median of all of ``x`` as a keepdim array (NaN if any, unless ignored)."""
    xp = get_xp(x)
    flat = xp.sort(x.reshape(-1))
    n = flat.size
    if x.dtype.kind == "f":
        valid = int((~xp.isnan(flat)).sum())
        n = valid if ignore_nan or valid == n else 0
    if n == 0:
        if x.dtype.kind != "f":
            raise IndexError("median(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        return xp.full((1,) * x.ndim, np.nan, dtype=x.dtype)
    return flat[(n - 1) // 2].reshape((1,) * x.ndim)


def _median_lower(x, axes):
    return _lower_median(x, axes, False)


def _median_ignore_nan(x, axes):
    return _lower_median(x, axes, True)


def _median_dim(input: Tensor, dim: int, keepdim: bool, ignore_nan: bool, name: str):
    x, axis, scalar = _one_dim(input, dim)
    _check_nonempty(x, (axis,), name)
    xa = x._data
    xp = get_xp(xa)
    order = _argsort(xa, axis, False)
    n = xa.shape[axis]
    if xa.dtype.kind == "f":
        nan = xp.isnan(xa)
        valid = n - nan.sum(axis=axis, keepdims=True)
        if ignore_nan:
            pos = xp.maximum((valid - 1) // 2, 0)
            idx = xp.take_along_axis(order, pos, axis)
        else:
            # a NaN anywhere makes the median NaN, reported at the first NaN
            pos = xp.full(valid.shape, (n - 1) // 2)
            idx = xp.where(valid < n, xp.argmax(nan, axis=axis, keepdims=True),
                           xp.take_along_axis(order, pos, axis))
    else:
        idx = order[(slice(None),) * axis + (slice((n - 1) // 2, (n + 1) // 2),)]
    return _take(name, x, idx, axis, keepdim, scalar)


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | tuple:
    """The lower median: ``median()`` -> 0-d (NaN if any); ``median(dim)`` -> (values, indices)."""
    _check_median_dtype(input, "median")
    if dim is None:
        return _EXTREME["median"].apply(input, _median_lower, None, False, True)
    return _median_dim(input, dim, keepdim, False, "median")


def nanmedian(input: Tensor, dim: int | None = None,
              keepdim: bool = False) -> Tensor | tuple:
    """The lower median of the non-NaN elements."""
    _check_median_dtype(input, "nanmedian")
    if dim is None:
        return _EXTREME["nanmedian"].apply(input, _median_ignore_nan, None, False, True)
    return _median_dim(input, dim, keepdim, True, "nanmedian")


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> tuple:
    """The most frequent value (the smallest on ties) and the index of its last occurrence."""
    x, axis, scalar = _one_dim(input, dim)
    _check_nonempty(x, (axis,), "mode")
    xa = x._data
    xp = get_xp(xa)
    order = _argsort(xa, axis, False)
    s = xp.take_along_axis(xa, order, axis)
    n = xa.shape[axis]
    pos = _along(xa.shape, axis, xp)
    head = (slice(None),) * axis
    new_run = xp.ones(xa.shape, dtype=bool)
    new_run[head + (slice(1, None),)] = s[head + (slice(1, None),)] != s[head + (slice(0, n - 1),)]
    start = xp.maximum.accumulate(xp.where(new_run, pos, 0), axis=axis)
    length = pos - start + 1
    # the end of the first (= smallest-valued) longest run, in sorted order
    end = xp.argmax(length == length.max(axis=axis, keepdims=True), axis=axis, keepdims=True)
    idx = xp.take_along_axis(order, end, axis)
    return _take("mode", x, idx, axis, keepdim, scalar)


# ---- unique ----------------------------------------------------------------------------------


def _unique_result(values, inverse, counts, return_inverse: bool, return_counts: bool):
    out = [_const(values)]
    if return_inverse:
        out.append(_const(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(_const(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None) -> Tensor | tuple:
    """Unique elements (or slices along ``dim``), always sorted; NaNs are kept apart."""
    xa = input._data
    xp = get_xp(xa)
    if dim is None:
        values, inverse, counts = xp.unique(xa.reshape(-1), return_inverse=True,
                                            return_counts=True, equal_nan=False)
        inverse = inverse.reshape(xa.shape)
    else:
        axis = _wrap_dim(dim, xa.ndim)
        values, inverse, counts = xp.unique(xa, return_inverse=True, return_counts=True,
                                            axis=axis, equal_nan=False)
        inverse = inverse.reshape(-1)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Tensor | tuple:
    """Collapse runs of equal consecutive elements (or slices along ``dim``)."""
    xa = input._data
    xp = get_xp(xa)
    if dim is None:
        rows = xa.reshape(-1, 1)
        axis = 0
    else:
        axis = _wrap_dim(dim, xa.ndim)
        rows = xp.moveaxis(xa, axis, 0).reshape(xa.shape[axis], -1)
    n = rows.shape[0]
    starts = xp.ones(n, dtype=bool)
    starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    inverse = xp.cumsum(starts) - 1
    first = xp.nonzero(starts)[0]
    counts = xp.diff(xp.concatenate([first, xp.asarray([n])]))
    if dim is None:
        values = rows[first, 0]
        inverse = inverse.reshape(xa.shape)
    else:
        values = xp.take(xa, first, axis=axis)
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


__all__ = [
    "all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "argsort", "count_nonzero",
    "cummax", "cummin", "cumprod", "cumsum", "kthvalue", "logcumsumexp", "logsumexp", "max",
    "mean", "median", "min", "mode", "msort", "nanmean", "nanmedian", "nansum", "norm", "prod",
    "sort", "std", "std_mean", "sum", "topk", "unique", "unique_consecutive", "var", "var_mean",
]
TENSOR_METHODS = [n for n in __all__ if n not in ("std_mean", "var_mean")]
INPLACE_METHODS = ["cumsum", "cumprod"]
