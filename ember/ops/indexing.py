"""Indexing: ``t[index]``, ``t[index] = value`` and the gather/scatter family of ops.

PyTorch's indexing follows NumPy's except in one point: integer indices (and 0-dim integer
tensors) select *before* advanced indexing, so ``x[0, :, [0, 1]]`` has shape ``(n1, 2)`` where
NumPy gives ``(2, n1)``.  Every index expression is therefore split into a *basic* part (ints,
slices, None, Ellipsis: a view) and an *advanced* part (integer arrays, with bool masks turned
into their ``nonzero()`` arrays) applied to that view.  All ops here are built on four Ops:
``Index`` (basic, a view), ``AdvIndex`` (advanced gather), ``IndexPut`` (advanced write or
accumulate) and ``ScatterReduce``.
"""
from __future__ import annotations

import numbers
import operator
import warnings

import numpy as np

from ember._device import get_xp
from ember._tensor import Tensor, _state, _wrap_dim
from ember.ops.base import BroadcastTo, Op

_TYPE = {
    np.dtype(np.float32): "Float", np.dtype(np.float64): "Double", np.dtype(np.float16): "Half",
    np.dtype(np.int64): "Long", np.dtype(np.int32): "Int", np.dtype(np.int16): "Short",
    np.dtype(np.int8): "Char", np.dtype(np.uint8): "Byte", np.dtype(np.bool_): "Bool",
}
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.uint8), np.dtype(np.bool_))
_LONG = (np.dtype(np.int64),)
_INT_LONG = (np.dtype(np.int64), np.dtype(np.int32))


def _tname(dtype) -> str:
    return _TYPE.get(np.dtype(dtype), str(dtype))


# ---- parsing an index expression ------------------------------------------------------------


def _as_tuple(index) -> tuple:
    """PyTorch reads a list holding tensors, sequences, slices, None or ``...`` as a tuple."""
    if isinstance(index, tuple):
        return index
    if isinstance(index, list) and len(index) < 32 and any(
        isinstance(i, (Tensor, np.ndarray, list, tuple, slice)) or i is None or i is Ellipsis
        for i in index
    ):
        warnings.warn(
            "Using a non-tuple sequence for multidimensional indexing is deprecated; use "
            "x[tuple(seq)] instead of x[seq].", UserWarning, stacklevel=4,
        )
        return tuple(index)
    return (index,)


def _index_array(i, xp):
    """An index tensor / array / list as an int or bool array (IndexError for other dtypes)."""
    a = i._data if isinstance(i, Tensor) else xp.asarray(i)
    if isinstance(i, (list, tuple)) and a.size == 0:
        a = a.astype(np.int64)
    if a.dtype not in _INDEX_DTYPES:
        raise IndexError(
            f"tensors used as indices must be long, int, byte or bool tensors (got dtype "
            f"{_tname(a.dtype)}); convert the index with .long() or .bool()"
        )
    if a.dtype == np.uint8:
        warnings.warn(
            "indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool "
            "instead.", UserWarning, stacklevel=4,
        )
        a = a.astype(np.bool_)
    return a


def _items(index, xp) -> list:
    """Classify each element of an index expression as (kind, value)."""
    items = []
    for i in _as_tuple(index):
        if isinstance(i, (Tensor, np.ndarray, list, tuple)):
            a = _index_array(i, xp)
            if a.ndim == 0:
                items.append(("bool", bool(a)) if a.dtype == np.bool_ else ("int", int(a)))
            else:
                items.append(("mask" if a.dtype == np.bool_ else "array", a))
        elif isinstance(i, (bool, np.bool_)):
            items.append(("bool", bool(i)))
        elif i is None or i is Ellipsis:
            items.append((i, i))
        elif isinstance(i, slice):
            step = 1 if i.step is None else operator.index(i.step)
            if step <= 0:
                raise ValueError("step must be greater than zero" if step else
                                 "slice step cannot be zero")
            items.append(("slice", i))
        elif isinstance(i, numbers.Integral):
            items.append(("int", int(i)))
        elif hasattr(i, "__index__") and not isinstance(i, numbers.Number):
            items.append(("int", operator.index(i)))
        else:
            raise (IndexError if isinstance(i, numbers.Number) else TypeError)(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                f"are valid indices (got {type(i).__name__})"
            )
    return items


def _check_bounds(a, size: int, dim: int, op: str = "", exc=IndexError,
                  negative: bool = True) -> None:
    """``exc`` naming the first entry of ``a`` outside ``[-size, size)`` (or ``[0, size)``)."""
    if a.size == 0:
        return
    bad = (a < (-size if negative else 0)) | (a >= size)
    if bad.any():
        v = int(a[bad].ravel()[0])
        raise exc(f"{op}index {v} is out of bounds for dimension {dim} with size {size}")


def _parse(index, x) -> tuple[tuple, tuple | None]:
    """Split ``index`` into a basic index (a view of ``x``) and the advanced index after it."""
    shape = x.shape
    if shape and (type(index) is int and -shape[0] <= index < shape[0] or type(index) is slice
                  and (index.step is None or type(index.step) is int and index.step > 0)):
        return (index, Ellipsis), None  # the common cases, quickly
    xp = get_xp(x)
    items = _items(index, xp)
    kinds = [k for k, _ in items]
    if kinds.count(Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(1 for k in kinds if k in ("int", "slice", "array")) + sum(
        v.ndim for k, v in items if k == "mask")
    if used > len(shape):
        if not shape:
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        raise IndexError(f"too many indices for tensor of dimension {len(shape)} "
                         f"(got {used}); index with at most {len(shape)} ints/slices/tensors")
    basic, adv, arrays = [], [], []
    d = 0  # the dim of ``x`` the next item indexes
    for kind, v in items:
        if kind is Ellipsis:
            n = len(shape) - used
            basic.append(Ellipsis)
            adv += [slice(None)] * n
            d += n
        elif kind == "int":
            if not -shape[d] <= v < shape[d]:
                raise IndexError(
                    f"index {v} is out of bounds for dimension {d} with size {shape[d]}")
            basic.append(v)
            d += 1
        elif kind == "slice":
            basic.append(v)
            adv.append(slice(None))
            d += 1
        elif kind is None:
            basic.append(None)
            adv.append(slice(None))
        elif kind == "bool":
            basic.append(None)
            adv.append(xp.arange(1) if v else xp.zeros(0, np.int64))
            arrays.append(adv[-1])
        elif kind == "array":
            _check_bounds(v, shape[d], d)
            basic.append(slice(None))
            adv.append(v)
            arrays.append(v)
            d += 1
        else:  # bool mask over v.ndim dims
            if v.shape != shape[d:d + v.ndim]:
                bad = next(j for j in range(v.ndim) if v.shape[j] != shape[d + j])
                raise IndexError(
                    f"The shape of the mask {list(v.shape)} at index {bad} does not match the "
                    f"shape of the indexed tensor {list(shape)} at index {d + bad}"
                )
            nz = xp.nonzero(v)
            basic += [slice(None)] * v.ndim
            adv += list(nz)
            arrays += list(nz)
            d += v.ndim
    if Ellipsis not in kinds:
        basic.append(Ellipsis)  # keeps the result an array view even when every dim is an int
    if not arrays:
        return tuple(basic), None
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise IndexError(
            "shape mismatch: indexing tensors could not be broadcast together with shapes "
            + ", ".join(str(list(a.shape)) for a in arrays)
        ) from None
    while isinstance(adv[-1], slice):
        adv.pop()
    return tuple(basic), tuple(adv)


# ---- the ops --------------------------------------------------------------------------------


class Index(Op):
    """Basic indexing (ints, slices, None, Ellipsis): a view of the input."""

    view = True

    @staticmethod
    def forward(ctx, x, idx):
        ctx.shape, ctx.idx = x.shape, idx
        return x[idx]

    @staticmethod
    def backward(ctx, g):
        return IndexGrad.apply(g, ctx.shape, ctx.idx, False)


class AdvIndex(Op):
    """Advanced indexing with a tuple of integer arrays (and full slices): a copy."""

    @staticmethod
    def forward(ctx, x, idx):
        ctx.shape, ctx.idx = x.shape, idx
        return x[idx]

    @staticmethod
    def backward(ctx, g):
        return IndexGrad.apply(g, ctx.shape, ctx.idx, True)


class IndexGrad(Op):
    """Zeros of the indexed tensor's shape with ``g`` written (or, if repeated, summed) at idx."""

    @staticmethod
    def forward(ctx, g, shape, idx, accumulate):
        ctx.idx, ctx.accumulate = idx, accumulate
        xp = get_xp(g)
        out = xp.zeros(shape, dtype=g.dtype)
        if accumulate:
            _ufunc_at(xp.add, out, idx, g)
        else:
            out[idx] = g
        return out

    @staticmethod
    def backward(ctx, g):
        return (AdvIndex if ctx.accumulate else Index).apply(g, ctx.idx)


def _ufunc_at(ufunc, out, idx: tuple, value) -> None:
    """``ufunc.at(out, idx, value)`` (repeated indices combine), via flat indices when ``out`` is
    contiguous: NumPy's fast path, many times quicker than ``at`` with sub-array rows."""
    xp = get_xp(out)
    if not out.flags.c_contiguous:
        ufunc.at(out, idx, value)
        return
    lin = xp.arange(out.size).reshape(out.shape)[idx]
    ufunc.at(out.reshape(-1), lin.reshape(-1), xp.broadcast_to(value, lin.shape).reshape(-1))


def _take(g: Tensor, idx: tuple) -> Tensor:
    return g if len(idx) == 1 and idx[0] is Ellipsis else AdvIndex.apply(g, idx)


class IndexPut(Op):
    """A copy of ``x`` with ``value`` written (or accumulated) at ``x[basic][idx]``."""

    @staticmethod
    def forward(ctx, x, value, idx, accumulate=False, basic=(Ellipsis,)):
        ctx.idx, ctx.accumulate, ctx.basic = idx, accumulate, basic
        out = x.copy()
        target = out[basic]  # a view of out
        try:
            if accumulate:
                _ufunc_at(get_xp(x).add, target, idx, value)
            else:
                target[idx] = value
        except ValueError:
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(np.shape(value))} cannot be "
                f"broadcast to indexing result of shape {list(target[idx].shape)}"
            ) from None
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = g if ctx.accumulate else IndexPut.apply(g, g._data.dtype.type(0), ctx.idx, False,
                                                         ctx.basic)
        if ctx.needs_input_grad[1]:
            gv = _take(g if _trivial(ctx.basic) else Index.apply(g, ctx.basic), ctx.idx)
        return gx, gv


def _trivial(basic: tuple) -> bool:
    return len(basic) == 1 and basic[0] is Ellipsis


def _identity(reduce: str, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype == np.bool_:
        return reduce == "amin"
    return np.iinfo(dtype).min if reduce == "amax" else np.iinfo(dtype).max


class ScatterReduce(Op):
    """Reduce ``src`` into a copy of ``x`` at ``idx`` (sum, prod, mean, amax, amin)."""

    @staticmethod
    def forward(ctx, x, src, idx, reduce, include_self=True, differentiable=True):
        xp = get_xp(x)
        ctx.idx, ctx.reduce, ctx.differentiable = idx, reduce, differentiable
        out = x.copy()
        keep = xp.ones(x.shape, dtype=bool)  # where x itself takes part in the reduction
        if not include_self:
            keep[idx] = False
            out[idx] = _identity(reduce, x.dtype)
        ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum,
                 "amin": xp.minimum}[reduce]
        _ufunc_at(ufunc, out, idx, src)
        if reduce == "mean":
            cnt = keep.astype(np.int64)
            _ufunc_at(xp.add, cnt, idx, 1)
            out = (xp.floor_divide(out, cnt) if x.dtype.kind != "f" else out / cnt).astype(x.dtype)
        if x.dtype.kind != "f":
            return out
        # The gradient is g * w_self for x and g[idx] * w_src for src (prod: see backward).
        if reduce == "sum":
            ctx.w = keep.astype(x.dtype), None
        elif reduce == "mean":
            ctx.w = (keep / cnt).astype(x.dtype), (1.0 / cnt[idx]).astype(x.dtype)
        elif reduce in ("amax", "amin"):
            # ties share the gradient; like PyTorch, x counts as a tie even when excluded
            n = (x == out).astype(x.dtype)
            src_is = src == out[idx]
            _ufunc_at(xp.add, n, idx, src_is)
            ctx.w = ((keep & (x == out)) / xp.maximum(n, 1)).astype(x.dtype), (
                src_is / xp.maximum(n[idx], 1)).astype(x.dtype)
        else:
            zeros = ((x == 0) & keep).astype(np.int64)
            _ufunc_at(xp.add, zeros, idx, src == 0)
            ctx.zeros, ctx.keep = zeros, keep
            ctx.save_for_backward(x, src)
        return out

    @staticmethod
    def backward(ctx, g):
        if not ctx.differentiable:
            raise RuntimeError(
                "derivative for aten::scatter with reduce= is not implemented; use "
                "scatter_reduce() for a differentiable reduction"
            )
        if ctx.reduce != "prod":
            ws, wsrc = ctx.w
            gsrc = _take(g, ctx.idx)
            return g * Tensor._make(ws), gsrc if wsrc is None else gsrc * Tensor._make(wsrc)
        return _prod_grads(ctx, g)


def _prod_grads(ctx, g: Tensor):
    """Gradients of a scatter product, exact when some factors are zero."""
    from ember.ops.pointwise import where

    x, src = ctx.saved_tensors
    keep = Tensor._make(ctx.keep)
    x_eff = where(keep, x, 1.0)
    # the product of the nonzero factors at each position and how many factors are zero
    nz_prod = ScatterReduce.apply(where(x_eff == 0, 1.0, x_eff), where(src == 0, 1.0, src),
                                  ctx.idx, "prod")
    zeros = Tensor._make(ctx.zeros)

    def others(e, prod, n_zero):  # the product of the other factors of each factor e
        safe = where(e == 0, 1.0, e)
        return where(e != 0, where(n_zero == 0, prod / safe, 0.0), where(n_zero == 1, prod, 0.0))

    gx = where(keep, g * others(x_eff, nz_prod, zeros), 0.0) if ctx.needs_input_grad[0] else None
    gsrc = None
    if ctx.needs_input_grad[1]:
        gsrc = _take(g, ctx.idx) * others(src, _take(nz_prod, ctx.idx), _take(zeros, ctx.idx))
    return gx, gsrc


# ---- t[index] and t[index] = value -----------------------------------------------------------


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]`` with PyTorch's rules (basic indices select first, then advanced)."""
    basic, adv = _parse(index, input._data)
    if adv is None:
        return Index.apply(input, basic)
    x = input if _trivial(basic) else Index.apply(input, basic)
    return AdvIndex.apply(x, adv)


def _strip(value: Tensor) -> Tensor:
    """Drop leading size-1 dims of an assigned value (PyTorch allows ``x[0] = ones(1, n)``)."""
    shape = value._data.shape
    lead = 0
    while lead < len(shape) and shape[lead] == 1:
        lead += 1
    return value.reshape(shape[lead:]) if lead else value


def _value(value, input: Tensor):
    """The value of ``input[...] = value`` as a Tensor or array of ``input``'s dtype."""
    dtype = input._data.dtype
    if isinstance(value, Tensor):
        return _strip(value if value._data.dtype == dtype else value.to(input.dtype))
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, complex):
        return get_xp(input._data).asarray(value).astype(dtype)
    raise TypeError(f"can't assign a {type(value).__name__} to a {input.type()}; assign a "
                    "Tensor or a Python number")


def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value``: an in-place write (version bump; recorded when grad is needed)."""
    basic, adv = _parse(index, input._data)
    if adv is not None and isinstance(value, Tensor) and value._data.dtype != input._data.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{_tname(input._data.dtype)} for the destination and {_tname(value._data.dtype)} for "
            f"the source; cast the value with .to({input.dtype})")
    value = _value(value, input)
    recording = _state["enabled"] and (
        input._requires_grad or isinstance(value, Tensor) and value._requires_grad
    )
    if not recording:
        input._check_inplace()
        target = input._data[basic]
        v = value._data if isinstance(value, Tensor) else value
        idx = adv if adv is not None else Ellipsis
        try:
            target[idx] = v
        except ValueError:
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
                f"indexing result of shape {list(target[idx].shape)}"
            ) from None
        input._vc[0] += 1
        return
    if input._requires_grad and input.grad_fn is None and not _trivial(basic):
        raise RuntimeError(  # PyTorch writes through a view of input here
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    input._inplace(_setitem, value, adv if adv is not None else (Ellipsis,), basic)


def _setitem(x: Tensor, value, idx: tuple, basic: tuple) -> Tensor:
    return IndexPut.apply(x, value, idx, False, basic)


# ---- argument checks shared by the ops ------------------------------------------------------


def _check_dtype(op: str, index: Tensor, allowed: tuple, exc=RuntimeError) -> None:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype not in allowed:
        names = "/".join({"Long": "int64", "Int": "int32"}[_tname(d)] for d in allowed)
        raise exc(f"{op}(): Expected dtype {names} for index, but got "
                  f"{_tname(index._data.dtype)}; convert it with index.long()")


def _same_dtype(op: str, x: Tensor, other: Tensor, what: str = "source") -> None:
    if x._data.dtype != other._data.dtype:
        raise RuntimeError(
            f"{op}(): self ({_tname(x._data.dtype)}) and {what} ({_tname(other._data.dtype)}) "
            f"must have the same scalar type; cast {what} with .to(self.dtype)"
        )


def _as_source(op: str, x: Tensor, src) -> Tensor:
    if not isinstance(src, Tensor):
        raise TypeError(f"{op}(): argument 'source' must be Tensor, not {type(src).__name__}")
    _same_dtype(op, x, src)
    return src


def _scalar_value(op: str, x: Tensor, value):
    """A fill value (Python number or 0-dim tensor) in ``x``'s dtype."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor "
                               f"with {value._data.ndim} dimension(s).")
        return value if value._data.dtype == x._data.dtype else value.to(x.dtype)
    if not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"{op}(): argument 'value' must be a Number or 0-dim Tensor, not "
                        f"{type(value).__name__}")
    return get_xp(x._data).asarray(value).astype(x._data.dtype)


def _dim_index(op: str, x: Tensor, dim: int, index: Tensor, allowed: tuple, *, dtype_exc=RuntimeError,
               vector_exc=IndexError, range_exc=RuntimeError, negative: bool = False):
    """Check a 1-D ``index`` into ``dim`` of ``x``; the advanced index tuple and the dim."""
    dim = _wrap_dim(dim, x._data.ndim)
    _check_dtype(op, index, allowed, dtype_exc)
    a = index._data
    if a.ndim > 1:
        raise vector_exc(f"{op}(): Index is supposed to be a vector (0 or 1 dims), but got "
                         f"shape {list(a.shape)}; flatten it with index.reshape(-1)")
    a = a.reshape(-1)
    size = x._data.shape[dim] if x._data.ndim else 1
    _check_bounds(a, size, dim, f"{op}(): ", range_exc, negative)
    return (slice(None),) * dim + (a,), dim, a.size


def _check_source_shape(op: str, x: Tensor, src: Tensor, dim: int, n: int) -> None:
    xs, ss = x._data.shape, src._data.shape
    if x._data.ndim == 0 and src._data.ndim <= 1 and src._data.size == n:
        return
    if src._data.ndim != x._data.ndim or any(a != b for d, (a, b) in enumerate(zip(xs, ss))
                                              if d != dim):
        raise RuntimeError(
            f"{op}(): source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(xs)} source.shape = {list(ss)}")
    if ss[dim] != n:
        raise IndexError(f"{op}(): Number of indices ({n}) should be equal to "
                         f"source.size(dim) ({ss[dim]})")


def _along(op: str, x: Tensor, dim: int, index: Tensor, src: Tensor | None = None,
           allowed: tuple = _INT_LONG):
    """Check a gather/scatter ``index`` and return the advanced index it stands for and dim."""
    n = x._data.ndim
    dim = _wrap_dim(dim, n)
    _check_dtype(op, index, allowed)
    a = index._data
    if a.ndim != n:
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as input tensor "
            f"(index has {a.ndim}, input has {n})")
    for d in range(n):
        if d != dim and a.shape[d] > x._data.shape[d]:
            raise RuntimeError(
                f"{op}(): Size does not match at dimension {d} expected index {list(a.shape)} "
                f"to be no larger than self {list(x._data.shape)} apart from dimension {dim}")
        if src is not None and a.shape[d] > src._data.shape[d]:
            raise RuntimeError(
                f"{op}(): Expected index {list(a.shape)} to be no larger than self "
                f"{list(x._data.shape)} apart from dimension {dim} and to be no larger size "
                f"than src {list(src._data.shape)}")
    _check_bounds(a, x._data.shape[dim] if n else 1, dim, f"{op}(): ", RuntimeError, False)
    xp = get_xp(a)
    idx = tuple(a if d == dim else xp.arange(a.shape[d]).reshape(
        (1,) * d + (a.shape[d],) + (1,) * (n - d - 1)) for d in range(n))
    return idx


def _narrow(src: Tensor, index: Tensor) -> Tensor:
    """The leading ``index.shape`` block of ``src`` (scatter reads only that much of src)."""
    if src._data.shape == index._data.shape:
        return src
    return Index.apply(src, tuple(slice(0, s) for s in index._data.shape) + (Ellipsis,))


# ---- the public ops -------------------------------------------------------------------------


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The entries of ``input`` at positions ``index`` (1-D) along ``dim``."""
    idx, dim, n = _dim_index("index_select", input, dim, index, _INT_LONG)
    if input._data.ndim == 0:
        if n != 1:
            raise RuntimeError(
                f"index_select(): Index to scalar can have only 1 value, got {n} value(s)")
        return AdvIndex.apply(input.reshape(1), idx).reshape(())
    return AdvIndex.apply(input, idx)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False,
           out=None) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for dim=1 (and so on for other dims)."""
    return AdvIndex.apply(input, _along("gather", input, dim, index))


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` (tensor) or ``value`` (number) written at ``index``."""
    if src is None:
        src = value
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce!r}.")
    if isinstance(src, Tensor):
        if src._data.dtype != input._data.dtype:
            raise RuntimeError(
                f"scatter(): Expected self.dtype to be equal to src.dtype (self is "
                f"{_tname(input._data.dtype)}, src is {_tname(src._data.dtype)})")
        idx = _along("scatter", input, dim, index, src)
        src = _narrow(src, index)
    else:
        idx = _along("scatter", input, dim, index)
        src = _scalar_value("scatter", input, src)
    if reduce is None:
        return IndexPut.apply(input, src, idx)
    return ScatterReduce.apply(input, src, idx, "sum" if reduce == "add" else "prod",
                               differentiable=False)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` summed in at ``index`` along ``dim``."""
    src = _as_source("scatter_add", input, src)
    idx = _along("scatter_add", input, dim, index, src)
    return IndexPut.apply(input, _narrow(src, index), idx, True)


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at ``index`` with sum/prod/mean/amax/amin."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)
    if reduce not in _REDUCES:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    src = _as_source("scatter_reduce", input, src)
    idx = _along("scatter_reduce", input, dim, index, src)
    return ScatterReduce.apply(input, _narrow(src, index), idx, reduce, bool(include_self))


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` summed in at ``index`` along ``dim``."""
    source = _as_source("index_add_", input, source)
    idx, dim, n = _dim_index("index_add_", input, dim, index, _INT_LONG)
    _check_source_shape("index_add_", input, source, dim, n)
    if alpha != 1:
        source = source * (alpha if input._data.dtype.kind == "f" else int(alpha))
    if input._data.ndim == 0:
        return IndexPut.apply(input.reshape(1), source.reshape(-1), idx, True).reshape(())
    return IndexPut.apply(input, source, idx, True)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the slices ``index`` along ``dim`` replaced by ``source``."""
    source = _as_source("index_copy_", input, source)
    idx, dim, n = _dim_index("index_copy_", input, dim, index, _LONG, range_exc=IndexError)
    _check_source_shape("index_copy_", input, source, dim, n)
    if input._data.ndim == 0:
        return IndexPut.apply(input.reshape(1), source.reshape(-1), idx).reshape(())
    return IndexPut.apply(input, source, idx)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with the slices ``index`` along ``dim`` set to ``value``."""
    idx, _, _ = _dim_index("index_fill_", input, dim, index, _LONG, dtype_exc=IndexError,
                           vector_exc=RuntimeError, range_exc=IndexError, negative=True)
    value = _scalar_value("index_fill_", input, value)
    if input._data.ndim == 0:
        return IndexPut.apply(input.reshape(1), value, idx).reshape(())
    return IndexPut.apply(input, value, idx)


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``input[indices] = values`` (or ``+=`` with accumulate)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    for j, i in enumerate(indices):
        if not isinstance(i, Tensor):
            raise TypeError(f"expected Tensor as element {j} in argument 1, but got "
                            f"{type(i).__name__}")
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' must be Tensor, not "
                        f"{type(values).__name__}")
    if values._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"Index put requires the source and destination dtypes match, got "
            f"{_tname(input._data.dtype)} for the destination and {_tname(values._data.dtype)} "
            "for the source.")
    _, adv = _parse(tuple(indices), input._data)
    return IndexPut.apply(input, _strip(values), adv if adv is not None else (Ellipsis,), bool(accumulate))


def index_put_(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place :func:`index_put`."""
    return input._inplace(index_put, indices, values, accumulate)


def _mask(op: str, mask: Tensor) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{_tname(mask._data.dtype)}; use mask.bool()")


def _broadcast(op: str, x: Tensor, mask: Tensor) -> tuple[Tensor, tuple, tuple]:
    """``x`` broadcast with ``mask`` and flattened, the flat index of the mask, the shape."""
    try:
        shape = np.broadcast_shapes(x._data.shape, mask._data.shape)
    except ValueError:
        raise RuntimeError(
            f"{op}(): the shape of the mask {list(mask._data.shape)} must be broadcastable with "
            f"the shape of the tensor {list(x._data.shape)}") from None
    if x._data.shape != shape:
        x = BroadcastTo.apply(x, shape)
    m = get_xp(mask._data).broadcast_to(mask._data, shape)
    return x.reshape(-1), (get_xp(m).flatnonzero(m),), shape


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """A copy of ``input`` with ``value`` where ``mask`` is True."""
    _mask("masked_fill_", mask)
    value = _scalar_value("masked_fill_", input, value)
    x, idx, shape = _broadcast("masked_fill", input, mask)
    return IndexPut.apply(x, value, idx).reshape(shape)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The entries of ``input`` where ``mask`` is True, as a 1-D tensor."""
    if not isinstance(mask, Tensor) or mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    x, idx, _ = _broadcast("masked_select", input, mask)
    return AdvIndex.apply(x, idx)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the entries of ``source`` (in order) where ``mask`` is True."""
    _mask("masked_scatter_", mask)
    if not isinstance(source, Tensor) or source._data.dtype != input._data.dtype:
        raise RuntimeError(
            "masked_scatter: expected self and source to have same dtypes but got "
            f"{_tname(input._data.dtype)} and {_tname(getattr(source, '_data', source).dtype)}")
    x, idx, shape = _broadcast("masked_scatter", input, mask)
    k = idx[0].size
    if source._data.size < k:
        raise RuntimeError(
            f"Number of elements of source < number of ones in mask ({source._data.size} < {k})")
    flat = source.reshape(-1)
    if k != flat._data.size:
        flat = Index.apply(flat, (slice(0, k),))
    return IndexPut.apply(x, flat, idx).reshape(shape)


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` viewed as 1-D, taken at ``index`` (negative indices count from the end)."""
    _take_index("take", input, index)
    return AdvIndex.apply(input.reshape(-1), (index._data,))


def _take_index(op: str, input: Tensor, index: Tensor) -> None:
    if not isinstance(index, Tensor) or index._data.dtype != np.int64:
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got "
                           f"{_tname(getattr(index, '_data', np.asarray(index)).dtype)}")
    n = input._data.size
    a = index._data
    if a.size and n == 0:
        raise IndexError(f"{op}(): tried to take from an empty tensor")
    if a.size and ((a < -n) | (a >= n)).any():
        v = int(a[(a < -n) | (a >= n)].ravel()[0])
        raise IndexError(f"out of range: tried to access index {v} on a tensor of {n} elements.")


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written (or summed) at the flat positions ``index``."""
    _take_index("put_", input, index)
    if not isinstance(source, Tensor) or source._data.dtype != input._data.dtype:
        raise RuntimeError(
            "put_(): self and source expected to have the same dtype, but got self.dtype = "
            f"{_tname(input._data.dtype)} and source.dtype = "
            f"{_tname(getattr(source, '_data', np.asarray(source)).dtype)}")
    if source._data.size != index._data.size:
        raise IndexError(
            "put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source._data.size}, index.numel() = {index._data.size}")
    out = IndexPut.apply(input.reshape(-1), source.reshape(-1), (index._data.reshape(-1),),
                         bool(accumulate))
    return out.reshape(input._data.shape)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *, out=None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` (flattened when dim is None)."""
    if not isinstance(indices, Tensor) or indices._data.dtype != np.int64:
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_tname(getattr(indices, '_data', np.asarray(indices)).dtype)}")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    n = input._data.ndim
    if indices._data.ndim != n:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {n} dimensions for input, and {indices._data.ndim} dimensions "
            "for indices")
    dim = _wrap_dim(dim, n)
    xs, js = list(input._data.shape), list(indices._data.shape)
    xs[dim] = js[dim] = 1
    try:
        shape = list(np.broadcast_shapes(tuple(xs), tuple(js)))
    except ValueError:
        raise RuntimeError(
            f"torch.take_along_dim(): input {list(input._data.shape)} and indices "
            f"{list(indices._data.shape)} cannot be broadcast apart from dimension {dim}") from None
    shape[dim] = input._data.shape[dim]
    x = input if list(input._data.shape) == shape else BroadcastTo.apply(input, tuple(shape))
    shape[dim] = indices._data.shape[dim]
    i = indices if list(indices._data.shape) == shape else Tensor._make(
        get_xp(indices._data).broadcast_to(indices._data, tuple(shape)))
    return gather(x, dim, i)


def nonzero(input: Tensor, *, out=None, as_tuple: bool = False):
    """Indices of the nonzero entries: an ``(n, ndim)`` int64 tensor, or one 1-D tensor per dim."""
    a = input._data
    xp = get_xp(a)
    nz = [i.astype(np.int64) for i in xp.nonzero(a.reshape(1) if a.ndim == 0 else a)]
    if as_tuple:
        return tuple(Tensor._make(i) for i in nz)
    if a.ndim == 0:
        return Tensor._make(xp.zeros((nz[0].size, 0), dtype=np.int64))
    return Tensor._make(xp.stack(nz, axis=1))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the ``(n, ndim)`` indices of the nonzero entries."""
    return nonzero(input)


__all__ = [
    "argwhere", "gather", "index_add", "index_copy", "index_fill", "index_put", "index_put_",
    "index_select", "masked_fill", "masked_scatter", "masked_select", "nonzero", "put",
    "scatter", "scatter_add", "scatter_reduce", "take", "take_along_dim",
]
TENSOR_METHODS = [n for n in __all__ if n != "index_put_"]
INPLACE_METHODS = [
    "index_add", "index_copy", "index_fill", "index_put", "masked_fill", "masked_scatter", "put",
    "scatter", "scatter_add", "scatter_reduce",
]
