"""Pooling (max, average, adaptive, power-average; 1 to 3 spatial dims), max unpooling,
pixel shuffle and resampling (``interpolate``).

Max pooling keeps a running maximum over the kernel positions (one strided slice of the padded
input each) with PyTorch's update rule, greater or NaN, so the first maximum of a window is the
one reported and the one the gradient goes to.  Indices are flat positions within each input
plane, as PyTorch returns them; the backward is one scatter-add (``bincount``) of the gradient
at those positions (``MaxPoolGrad``, whose own backward is a gather: double backward works).
Windows that tile the input (stride == kernel, the usual 2x2) take a faster path: one reshape,
a ``maximum`` over the window's strided views and an arithmetic first-argmax; disjoint windows
scatter the gradient by a plain store.  Without indices to return or a gradient to record
(inference), only the ``maximum`` runs.

Average pooling sums strided slices of the zero-padded input, one per kernel position, and
divides by a per-output divisor (a product of per-dim window sizes).  Its backward
(``AvgPoolGrad``) is the adjoint: one strided add per kernel position; each is the other's
backward.

Adaptive average pooling and every interpolation mode are separable: along each spatial dim
the output is a fixed weighted sum of a few gathered input slices (``Resample``), whose adjoint
(``ResampleAdjoint``) scatters back; again each is the other's backward.
"""

from __future__ import annotations

import math
import warnings
from itertools import product

import numpy as np

from ember import _native
from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd.grad_mode import is_grad_enabled
from ember.ops.base import Op
from ember.ops.pointwise import _need_tensor

# ---- array kernels ------------------------------------------------------------------------


def _lowest(dtype):
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


def _pad_hi(spatial, k, stride, pad, dil, out):
    """(lo, hi) padding per dim so that every one of the ``out`` windows lies inside."""
    return tuple((p, max((o - 1) * s + d * (kk - 1) + 1 - n - p, 0))
                 for n, kk, s, p, d, o in zip(spatial, k, stride, pad, dil, out))


def _padded(xp, x, pairs, value):
    if not any(lo or hi for lo, hi in pairs):
        return x
    lead = x.ndim - len(pairs)
    shape = x.shape[:lead] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pairs))
    out = xp.full(shape, value, x.dtype)
    out[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[lead:], pairs))] = x
    return out


def _flat_index(positions, spatial):
    """Ravel per-dim positions (broadcastable int arrays) into a flat index within a plane."""
    flat = 0
    for pos, n in zip(positions, spatial):
        flat = flat * n + pos
    return flat


def _running_max(xp, x, out_shape, first, candidates):
    """Max over window positions with PyTorch's rule: a later element replaces the running max
    only if it is greater or NaN (so the first max wins and a NaN, once met, stays unless a
    later NaN comes).  ``first`` is each window's first in-input position (the index kept when
    nothing beats the lowest value); ``candidates`` yields (values, flat positions)."""
    m = xp.full(out_shape, _lowest(x.dtype), x.dtype)
    idx = xp.empty(out_shape, np.int64)
    idx[...] = first
    for v, pos in candidates:
        upd = v > m
        if x.dtype.kind == "f":
            upd |= xp.isnan(v)
        xp.copyto(m, v, where=upd)
        xp.copyto(idx, xp.broadcast_to(pos, out_shape), where=upd)
    return m, idx


def _tiled_max(xp, x, k, out):
    """Max pooling over non-overlapping windows that tile the input (stride == kernel, no
    padding or dilation): the window elements are strided views of one reshape, reduced with
    ``maximum``; each index is the first position equal to the maximum.  None when a maximum
    is NaN (PyTorch then reports the last NaN: the general path handles it)."""
    nd = len(k)
    spatial = x.shape[2:]
    crop = x[(Ellipsis,) + tuple(slice(0, o * kk) for o, kk in zip(out, k))]
    tiles = crop.reshape(x.shape[:2] + tuple(v for o, kk in zip(out, k) for v in (o, kk)))
    views = [tiles[(slice(None), slice(None)) + tuple(v for i in pos for v in (slice(None), i))]
             for pos in product(*(range(kk) for kk in k))]
    m = views[0].copy()
    for v in views[1:]:
        xp.maximum(m, v, out=m)
    if x.dtype.kind == "f" and xp.isnan(m).any():
        return None
    # the first window position p whose value equals the max, by arithmetic (a masked copy
    # mispredicts a branch per element): local = ne_0 * (1 + ne_1 * (1 + ...)), ne_p = v_p != m
    local = xp.zeros(m.shape, np.min_scalar_type(-len(views)))
    for v in views[-2::-1]:
        local += 1
        local *= v != m
    offsets = xp.asarray([_flat_index(pos, spatial) for pos in product(*(range(kk) for kk in k))])
    starts = [(xp.arange(o) * kk).reshape((o,) + (1,) * (nd - 1 - j))
              for j, (o, kk) in enumerate(zip(out, k))]
    idx = offsets.take(local)
    idx += _flat_index(starts, spatial)
    return m, idx


def _max_pool_values(xp, x, cfg):
    """The window maxima alone, for inference (no indices to find): a ``maximum`` over one
    strided slice of the padded input per kernel position; it propagates NaN, as PyTorch."""
    native = _native_max_pool(x, cfg, False)
    if native is not None:
        return native[0]
    k, stride, pad, dil, out = cfg
    xpad = _padded(xp, x, _pad_hi(x.shape[2:], k, stride, pad, dil, out), _lowest(x.dtype))
    m = None
    for pos in product(*(range(kk) for kk in k)):
        v = xpad[(Ellipsis,) + tuple(slice(i * d, i * d + (o - 1) * s + 1, s)
                                     for i, d, o, s in zip(pos, dil, out, stride))]
        m = v.copy() if m is None else xp.maximum(m, v, out=m)
    return m


def _native_max_pool(x, cfg, indices: bool):
    """(values, indices or None) of a 2x2, stride-2 max pooling (no padding or dilation) by
    the compiled kernel, or None where it does not apply or take ``x``."""
    k, stride, pad, dil, out = cfg
    if (tuple(k) != (2, 2) or tuple(stride) != (2, 2) or any(pad) or tuple(dil) != (1, 1)
            or any(2 * o > n for o, n in zip(out, x.shape[2:]))
            or math.prod(x.shape[2:]) >= 1 << 31 or not _native.takes(x)):
        return None
    y = np.empty(x.shape[:2] + tuple(out), np.float32)
    idx = np.empty(y.shape, np.int64) if indices else None
    _native.call("maxpool2x2", x, y, idx, x.shape[0] * x.shape[1], *x.shape[2:], *out)
    return y, idx


def _max_pool_array(xp, x, cfg):
    native = _native_max_pool(x, cfg, True)
    if native is not None:
        return native
    k, stride, pad, dil, out = cfg
    nd = len(k)
    spatial = x.shape[2:]
    if (tuple(stride) == tuple(k) and all(d == 1 for d in dil) and not any(pad)
            and all(o * kk <= n for o, kk, n in zip(out, k, spatial))):
        tiled = _tiled_max(xp, x, k, out)
        if tiled is not None:
            return tiled
    xpad = _padded(xp, x, _pad_hi(spatial, k, stride, pad, dil, out), _lowest(x.dtype))
    starts = [(xp.arange(o) * s - p).reshape((o,) + (1,) * (nd - 1 - j))
              for j, (o, s, p) in enumerate(zip(out, stride, pad))]
    first = _flat_index([xp.where(b < 0, b + (-b + d - 1) // d * d, b)
                         for b, d in zip(starts, dil)], spatial)

    def candidates():
        for pos in product(*(range(kk) for kk in k)):
            sl = (Ellipsis,) + tuple(slice(i * d, i * d + (o - 1) * s + 1, s)
                                     for i, d, o, s in zip(pos, dil, out, stride))
            yield xpad[sl], _flat_index([b + i * d for b, i, d in zip(starts, pos, dil)],
                                        spatial)

    return _running_max(xp, x, x.shape[:2] + tuple(out), first, candidates())


def _adaptive_index(n: int, o: int):
    """Per output i, the input positions of its window floor(i*n/o) .. ceil((i+1)*n/o) - 1,
    padded to the longest window with ``-1`` (an (o, L) array) and the window lengths."""
    if o == 0:
        return np.zeros((0, 1), np.int64), np.zeros(0, np.int64)
    i = np.arange(o)
    start = (i * n) // o
    end = -((-(i + 1) * n) // o)
    length = end - start
    idx = start[:, None] + np.arange(length.max())[None, :]
    return np.where(idx < end[:, None], idx, -1), length


def _adaptive_max_array(xp, x, out):
    nd = len(out)
    spatial = x.shape[2:]
    tables = []
    for j, (n, o) in enumerate(zip(spatial, out)):
        idx, _ = _adaptive_index(n, o)
        # a short window repeats its last element, which never replaces the running max
        idx = np.maximum.accumulate(idx, axis=1) if idx.size else idx
        tables.append(xp.asarray(idx.reshape(idx.shape[:1] + (1,) * (nd - 1 - j) + idx.shape[1:])))
    first = _flat_index([t[..., 0] for t in tables], spatial)

    def candidates():
        for pos in product(*(range(t.shape[-1]) for t in tables)):
            sel = [t[..., i] for t, i in zip(tables, pos)]
            yield x[(Ellipsis,) + tuple(sel)], _flat_index(sel, spatial)

    return _running_max(xp, x, x.shape[:2] + tuple(out), first, candidates())


def _scatter_planes(xp, g, idx, spatial, disjoint=False):
    """Sum ``g`` (N, C, *out) into zeros (N, C, *spatial) at the flat plane positions ``idx``;
    ``disjoint`` windows (stride >= window) never share a position: a plain store then."""
    nc = g.shape[0] * g.shape[1]
    plane = math.prod(spatial)
    if _native.takes(g) and _native.takes(idx, dtype=np.int64):
        acc = np.empty(g.shape[:2] + tuple(spatial), np.float32)
        _native.call("maxpool_grad", g, idx, acc, nc, plane, math.prod(g.shape[2:]))
        return acc
    flat = idx.reshape(nc, math.prod(idx.shape[2:])) + (xp.arange(nc) * plane)[:, None]
    if disjoint:
        acc = xp.zeros(nc * plane, g.dtype)
        acc[flat.ravel()] = g.reshape(-1)
        return acc.reshape(g.shape[:2] + tuple(spatial))
    acc = xp.bincount(flat.ravel(), weights=g.reshape(-1).astype(np.float64),
                      minlength=nc * plane)
    return acc.astype(g.dtype).reshape(g.shape[:2] + tuple(spatial))


def _avg_divisor(xp, spatial, cfg, dtype):
    """The divisor of each output (broadcast over N, C)."""
    k, stride, pad, out, count_include_pad, divisor_override = cfg
    if divisor_override:
        return divisor_override
    div = 1
    nd = len(k)
    for j, (n, kk, s, p, o) in enumerate(zip(spatial, k, stride, pad, out)):
        start = np.arange(o) * s - p
        end = np.minimum(start + kk, n + p)
        size = end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0)
        div = div * size.reshape((o,) + (1,) * (nd - 1 - j))
    return xp.asarray(div.astype(dtype if dtype.kind == "f" else np.int64))


def _kernel_slices(k, stride, out):
    for pos in product(*(range(kk) for kk in k)):
        yield (Ellipsis,) + tuple(slice(i, i + (o - 1) * s + 1, s)
                                  for i, o, s in zip(pos, out, stride))


def _avg_pool_array(xp, x, cfg):
    k, stride, pad, out = cfg[:4]
    spatial = x.shape[2:]
    pairs = _pad_hi(spatial, k, stride, pad, (1,) * len(k), out)
    xpad = _padded(xp, x, pairs, 0)
    acc = xp.zeros(x.shape[:2] + tuple(out), x.dtype)
    for sl in _kernel_slices(k, stride, out):
        acc += xpad[sl]
    div = _avg_divisor(xp, spatial, cfg, x.dtype)
    if x.dtype.kind == "f":
        return acc / div
    q = xp.abs(acc) // div  # integer inputs: C's division, truncating toward zero
    return (xp.sign(acc) * q).astype(x.dtype)


def _avg_pool_adjoint(xp, g, spatial, cfg):
    k, stride, pad, out = cfg[:4]
    pairs = _pad_hi(spatial, k, stride, pad, (1,) * len(k), out)
    gd = g / _avg_divisor(xp, spatial, cfg, g.dtype)
    acc = xp.zeros(g.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pairs)),
                   g.dtype)
    for sl in _kernel_slices(k, stride, out):
        acc[sl] += gd
    return acc[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, pairs))]


# ---- ops ----------------------------------------------------------------------------------


class MaxPool(Op):
    """(values, indices) of the window maxima; ``cfg`` is (k, stride, pad, dil, out) for a
    fixed window or ``out`` alone for adaptive windows."""

    @staticmethod
    def forward(ctx, x, cfg, adaptive=False):
        xp = get_xp(x)
        y, idx = _adaptive_max_array(xp, x, cfg) if adaptive else _max_pool_array(xp, x, cfg)
        ctx.spatial = x.shape[2:]
        ctx.disjoint = not adaptive and all(
            s >= (kk - 1) * d + 1 for kk, s, d in zip(cfg[0], cfg[1], cfg[3]))
        ctx.save_for_backward(idx)
        return y, idx

    @staticmethod
    def backward(ctx, g, _g_idx):
        (idx,) = ctx.saved_tensors
        return MaxPoolGrad.apply(g, idx, ctx.spatial, ctx.disjoint), None, None


class MaxPoolGrad(Op):
    """Scatter-add ``g`` at the plane indices ``idx`` (max pooling's input gradient)."""

    @staticmethod
    def forward(ctx, g, idx, spatial, disjoint=False):
        ctx.save_for_backward(idx)
        return _scatter_planes(get_xp(g), g, idx, spatial, disjoint)

    @staticmethod
    def backward(ctx, gg):
        (idx,) = ctx.saved_tensors
        n, c = gg.shape[:2]
        picked = gg.reshape(n, c, math.prod(gg.shape[2:])).gather(
            2, idx.reshape(n, c, math.prod(idx.shape[2:])))
        return picked.reshape(idx.shape), None, None, None


class AvgPool(Op):
    """Window means; ``cfg`` = (k, stride, pad, out, count_include_pad, divisor_override)."""

    @staticmethod
    def forward(ctx, x, cfg):
        ctx.cfg = cfg
        ctx.spatial = x.shape[2:]
        return _avg_pool_array(get_xp(x), x, cfg)

    @staticmethod
    def backward(ctx, g):
        return AvgPoolGrad.apply(g, ctx.spatial, ctx.cfg), None


class AvgPoolGrad(Op):
    """The adjoint of ``AvgPool`` (its input gradient)."""

    @staticmethod
    def forward(ctx, g, spatial, cfg):
        ctx.cfg = cfg
        return _avg_pool_adjoint(get_xp(g), g, spatial, cfg)

    @staticmethod
    def backward(ctx, gg):
        return AvgPool.apply(gg, ctx.cfg), None, None


class MaxUnpool(Op):
    """Place ``x`` at the plane indices ``idx`` of zeros (N, C, *size)."""

    @staticmethod
    def forward(ctx, x, idx, size):
        xp = get_xp(x)
        n, c = x.shape[:2]
        plane = math.prod(size)
        out = xp.zeros((n * c, plane), x.dtype)
        rows = xp.arange(n * c)[:, None]
        m = math.prod(x.shape[2:])
        out[rows, idx.reshape(n * c, m)] = x.reshape(n * c, m)
        ctx.save_for_backward(idx)
        return out.reshape((n, c) + tuple(size))

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        n, c = g.shape[:2]
        picked = g.reshape(n, c, math.prod(g.shape[2:])).gather(
            2, idx.reshape(n, c, math.prod(idx.shape[2:])))
        return picked.reshape(idx.shape), None, None, None


# the adjoint along the last axis with o * n up to this is one BLAS product: scattering into a
# contiguous last axis is numpy's slowest case
_DENSE_MAX = 1 << 16


def _resample_matrix(idxs, weights, o, n, dtype):
    """The (o, n) matrix of the resampling: row i holds the taps of output i."""
    m = np.zeros((o, n), dtype)
    rows = np.arange(o)
    for t, idx in enumerate(idxs):
        w = weights[t].reshape(-1) if weights is not None else np.ones(o, dtype)
        valid = idx >= 0
        np.add.at(m, (rows[valid], idx[valid]), w[valid].astype(dtype))
    return m


def _dense(xp, a, o, n):
    # a zero coefficient times inf would be nan: inputs with non-finite values take the gathers
    return o * n <= _DENSE_MAX and a.dtype.kind == "f" and bool(xp.isfinite(a).all())


def _resample_array(xp, x, axis, idxs, weights):
    out = None
    lead = (slice(None),) * axis
    for t, idx in enumerate(idxs):
        term = xp.take(x, xp.asarray(np.maximum(idx, 0)), axis=axis)
        if weights is not None:
            term *= xp.asarray(weights[t].astype(x.dtype))
        skip = np.flatnonzero(idx < 0)
        if skip.size:
            term[lead + (xp.asarray(skip),)] = 0
        if out is None:
            out = term
        else:
            out += term
    return out


def _resample_adjoint(xp, g, axis, idxs, weights, n):
    o = g.shape[axis]
    if axis == g.ndim - 1 and _dense(xp, g, o, n):
        return xp.matmul(g, xp.asarray(_resample_matrix(idxs, weights, o, n, g.dtype)))
    shape = list(g.shape)
    shape[axis] = n
    out = xp.zeros(shape, g.dtype)
    lead = (slice(None),) * axis
    for t, idx in enumerate(idxs):
        gw = g * xp.asarray(weights[t].astype(g.dtype)) if weights is not None else g
        dst = np.flatnonzero(idx >= 0)
        dst = dst[np.argsort(idx[dst], kind="stable")]
        src = idx[dst]
        if src.size == 0:
            continue
        # rank of each destination among those reading the same source: within one rank the
        # sources are distinct, so each rank is one gather and one collision-free add
        first = np.r_[True, src[1:] != src[:-1]]
        seg_start = np.maximum.accumulate(np.where(first, np.arange(src.size), 0))
        rank = np.arange(src.size) - seg_start
        for r in range(int(rank.max()) + 1):
            sel = rank == r
            out[lead + (xp.asarray(src[sel]),)] += xp.take(gw, xp.asarray(dst[sel]), axis=axis)
    return out


class Resample(Op):
    """Along ``axis``: out[i] = sum_t x[idxs[t][i]] * weights[t][i] (weights broadcast over the
    trailing dims; None means all ones; an index of -1 adds nothing).  Nearest, linear, cubic and adaptive-average
    resampling are all of this form."""

    @staticmethod
    def forward(ctx, x, axis, idxs, weights):
        ctx.args = axis, idxs, weights, x.shape[axis]
        return _resample_array(get_xp(x), x, axis, idxs, weights)

    @staticmethod
    def backward(ctx, g):
        return ResampleAdjoint.apply(g, *ctx.args), None, None, None


class ResampleAdjoint(Op):
    """The adjoint of ``Resample`` (its input gradient): a segmented scatter-add per tap."""

    @staticmethod
    def forward(ctx, g, axis, idxs, weights, n):
        ctx.args = axis, idxs, weights
        return _resample_adjoint(get_xp(g), g, axis, idxs, weights, n)

    @staticmethod
    def backward(ctx, gg):
        return Resample.apply(gg, *ctx.args), None, None, None, None


# ---- argument checking --------------------------------------------------------------------

_WORDS = {1: "one int", 2: "two ints", 3: "three ints"}


def _tuple(value, nd: int, name: str, op: str, allow_none: bool = False) -> tuple:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * nd
    try:
        value = tuple(int(v) for v in value)
    except TypeError:
        value = None
    if value is not None and len(value) == 1:
        return value * nd
    if value is None or len(value) != nd:
        what = "must either be omitted, a single int" if allow_none else "must be a single int"
        raise RuntimeError(f"{op}: {name} {what}, or a tuple of {_WORDS[nd]}")
    return value


def _shape(t) -> list:
    return list(t.shape)


def _check_input(op: str, input, nd: int):
    _need_tensor(op, input)
    dims = (nd + 1, nd + 2)
    if input.dim() not in dims or any(n == 0 for n in input.shape[-nd - 1:]):
        raise RuntimeError(
            f"{op}: Expected {dims[0]}D or {dims[1]}D (batch mode) tensor with optional 0 dim "
            f"batch size for input (non-empty channel and spatial dims), but got: "
            f"{_shape(input)}"
        )
    if input.dtype.is_complex:
        raise RuntimeError(f"{op}: not implemented for {input.dtype} inputs")


def _out_size(op, spatial, c, k, stride, pad, dil, ceil_mode):
    out = []
    for n, kk, s, p, d in zip(spatial, k, stride, pad, dil):
        num = n + 2 * p - d * (kk - 1) - 1
        o = (num + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
    if any(o < 1 for o in out):
        raise RuntimeError(
            f"{op}: Given input size: ({'x'.join(map(str, (c,) + tuple(spatial)))}). "
            f"Calculated output size: ({'x'.join(map(str, [c] + out))}). Output size is too "
            "small (use a smaller kernel, more padding or a larger input)"
        )
    return tuple(out)


def _pool_cfg(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode):
    k = _tuple(kernel_size, nd, "kernel_size", op)
    stride = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _tuple(stride, nd, "stride", op, allow_none=True)
    pad = _tuple(padding, nd, "padding", op)
    dil = _tuple(dilation, nd, "dilation", op)
    if any(kk <= 0 for kk in k):
        raise RuntimeError(f"{op}: kernel size should be greater than zero, but got {list(k)}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: stride should be greater than zero, but got {list(stride)}")
    if any(d <= 0 for d in dil):
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got {list(dil)}")
    for p, kk, d in zip(pad, k, dil):
        if p < 0 or p > ((kk - 1) * d + 1) // 2:
            raise RuntimeError(
                f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={kk} and dilation={d}"
            )
    x = input if input.dim() == nd + 2 else input.unsqueeze(0)
    out = _out_size(op, x.shape[2:], x.shape[1], k, stride, pad, dil, ceil_mode)
    return x, k, stride, pad, dil, out


def _unbatch(t: Tensor, unbatched: bool) -> Tensor:
    return t.squeeze(0) if unbatched else t


# ---- public functions ---------------------------------------------------------------------


def _max_poolnd(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = f"max_pool{nd}d"
    _check_input(op, input, nd)
    if str(input.dtype) == "torch.bool":
        raise NotImplementedError(f'"{op}" not implemented for \'Bool\'')
    unbatched = input.dim() == nd + 1
    x, k, stride, pad, dil, out = _pool_cfg(op, nd, input, kernel_size, stride, padding,
                                            dilation, ceil_mode)
    cfg = (k, stride, pad, dil, out)
    if not return_indices and not (x.requires_grad and is_grad_enabled()):
        return _unbatch(Tensor._make(_max_pool_values(get_xp(x._data), x._data, cfg)), unbatched)
    y, idx = MaxPool.apply(x, cfg)
    y, idx = _unbatch(y, unbatched), _unbatch(idx, unbatched)
    return (y, idx) if return_indices else y


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over sliding windows of a (N, C, L) or (C, L) input."""
    return _max_poolnd(1, input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over sliding windows of a (N, C, H, W) or (C, H, W) input."""
    return _max_poolnd(2, input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over sliding windows of a (N, C, D, H, W) or (C, D, H, W) input."""
    return _max_poolnd(3, input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    return _max_poolnd(1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    return _max_poolnd(2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    return _max_poolnd(3, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_poolnd(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
    op = f"avg_pool{nd}d"
    _check_input(op, input, nd)
    if str(input.dtype) == "torch.bool":
        raise NotImplementedError(f'"{op}" not implemented for \'Bool\'')
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor must be not zero (got divisor_override=0)")
    unbatched = input.dim() == nd + 1
    x, k, stride, pad, _, out = _pool_cfg(op, nd, input, kernel_size, stride, padding, 1,
                                          ceil_mode)
    y = AvgPool.apply(x, (k, stride, pad, out, bool(count_include_pad), divisor_override))
    return _unbatch(y, unbatched)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over sliding windows of a (N, C, L) or (C, L) input."""
    return _avg_poolnd(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows of a (N, C, H, W) or (C, H, W) input."""
    return _avg_poolnd(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over sliding windows of a (N, C, D, H, W) or (C, D, H, W) input."""
    return _avg_poolnd(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def _adaptive_size(op, nd, x, output_size):
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) == 1 and nd > 1:
        output_size = output_size * nd
    if len(output_size) != nd:
        raise RuntimeError(f"{op}: output_size must be {nd} (got {list(output_size)})")
    out = tuple(n if o is None else int(o) for o, n in zip(output_size, x.shape[2:]))
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 "
                           f"but received {list(out)}")
    return out


def _check_adaptive_input(op: str, input, nd: int):
    _need_tensor(op, input)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{_shape(input)}")
    for i in range(1, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(
                f"{op}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {_shape(input)} with dimension {i} being empty")


def _adaptive_avg_poolnd(nd, input, output_size):
    op = f"adaptive_avg_pool{nd}d"
    _check_adaptive_input(op, input, nd)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}: not implemented for {input.dtype} inputs (use a float)")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    out = _adaptive_size(op, nd, x, output_size)
    for j, o in enumerate(out):
        x = _adaptive_mean_dim(x, 2 + j, o)
    return _unbatch(x, unbatched)


def _adaptive_mean_dim(x: Tensor, dim: int, o: int) -> Tensor:
    """Adaptive average along one dim: sum each window's slices, divide by its length."""
    n = x.shape[dim]
    if o == n:
        return x
    shape = list(x.shape)
    after = x.dim() - 1 - dim
    if o and n % o == 0:
        shape[dim:dim + 1] = [o, n // o]
        return x.reshape(shape).mean(dim + 1)
    idx, length = _adaptive_index(n, o)
    summed = Resample.apply(x, dim, tuple(idx.T), None)
    div = length.reshape((o,) + (1,) * after).astype(x._data.dtype)
    return summed / Tensor._make(get_xp(x._data).asarray(div))


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Mean over ``output_size`` near-equal windows of a (N, C, L) or (C, L) input."""
    return _adaptive_avg_poolnd(1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mean over near-equal windows giving ``output_size`` (None keeps that dim)."""
    return _adaptive_avg_poolnd(2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Mean over near-equal windows giving ``output_size`` (None keeps that dim)."""
    return _adaptive_avg_poolnd(3, input, output_size)


def _adaptive_max_poolnd(nd, input, output_size, return_indices):
    op = f"adaptive_max_pool{nd}d"
    _check_adaptive_input(op, input, nd)
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    out = _adaptive_size(op, nd, x, output_size)
    y, idx = MaxPool.apply(x, out, True)
    y, idx = _unbatch(y, unbatched), _unbatch(idx, unbatched)
    return (y, idx) if return_indices else y


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max over ``output_size`` near-equal windows of a (N, C, L) or (C, L) input."""
    return _adaptive_max_poolnd(1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over near-equal windows giving ``output_size`` (None keeps that dim)."""
    return _adaptive_max_poolnd(2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max over near-equal windows giving ``output_size`` (None keeps that dim)."""
    return _adaptive_max_poolnd(3, input, output_size, return_indices)



# ---- max unpooling ------------------------------------------------------------------------


def _max_unpoolnd(nd, input, indices, kernel_size, stride, padding, output_size):
    op = f"max_unpool{nd}d"
    _need_tensor(op, input)
    _need_tensor(op, indices, "indices", 2)
    k = _tuple(kernel_size, nd, "kernel_size", op)
    stride = k if stride is None else _tuple(stride, nd, "stride", op, allow_none=True)
    pad = _tuple(padding, nd, "padding", op)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: Expected {nd + 1}D or {nd + 2}D tensor for input, but got "
                           f"input of size {_shape(input)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{op}: Expected shape of indices to be the same as that of the "
                           f"input tensor ({_shape(input)}) but got indices of shape "
                           f"{_shape(indices)}")
    if indices.dtype.is_floating_point or str(indices.dtype) == "torch.bool":
        raise RuntimeError(f"{op}: expected indices to have type int64, but got "
                           f"{indices.dtype}")
    spatial = input.shape[-nd:]
    default = [(n - 1) * s - 2 * p + kk for n, s, p, kk in zip(spatial, stride, pad, k)]
    if output_size is None:
        size = tuple(default)
    else:
        size = tuple(int(v) for v in output_size)
        if len(size) == nd + 2 or (len(size) == nd + 1 and input.dim() == nd + 1):
            size = size[-nd:]
        if len(size) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                             f"elements, but it has a length of '{len(size)}'")
        for d, (o, m, s) in enumerate(zip(size, default, stride)):
            if not m - s < o < m + s:
                raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                                 f"between {m - s} and {m + s})")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    idx = indices.unsqueeze(0) if unbatched else indices
    plane = math.prod(size)
    bad = (idx._data < 0) | (idx._data >= plane)
    if bad.any():
        raise RuntimeError(
            f"{op}: Found an invalid max index: {int(idx._data[bad].ravel()[0])} (output "
            f"volumes are of size {'x'.join(map(str, size))})")
    return _unbatch(MaxUnpool.apply(x, idx, size), unbatched)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool1d: values back at their indices, zeros elsewhere."""
    return _max_unpoolnd(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool2d: values back at their indices, zeros elsewhere."""
    return _max_unpoolnd(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool3d: values back at their indices, zeros elsewhere."""
    return _max_unpoolnd(3, input, indices, kernel_size, stride, padding, output_size)


# ---- pixel shuffle ------------------------------------------------------------------------


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r)."""
    _need_tensor("pixel_shuffle", input)
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    b = len(lead)
    x = input.reshape([*lead, c // (r * r), r, r, h, w])
    x = x.permute([*range(b), b, b + 3, b + 1, b + 4, b + 2])
    return x.reshape([*lead, c // (r * r), h * r, w * r])


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W); the inverse of pixel_shuffle."""
    _need_tensor("pixel_unshuffle", input)
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    for name, n, d in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({d})={n} is not divisible by "
                               f"{r}")
    b = len(lead)
    x = input.reshape([*lead, c, h // r, r, w // r, r])
    x = x.permute([*range(b), b, b + 2, b + 4, b + 1, b + 3])
    return x.reshape([*lead, c * r * r, h // r, w // r])


# ---- interpolation ------------------------------------------------------------------------

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR_ND = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}
_CUBIC_A = -0.75


def _scale(ftype, n: int, o: int, align_corners: bool, scale):
    """PyTorch's source-per-destination step, in the input's float type."""
    if align_corners:
        return ftype(n - 1) / ftype(o - 1) if o > 1 else ftype(0)
    if scale is not None and scale > 0:
        return ftype(1.0 / scale)
    return ftype(n) / ftype(o)


def _taps(mode, n, o, align_corners, scale, ftype, nd):
    """(indices, weights) per tap along one dim: output = sum_t x[idx_t] * w_t."""
    dst = np.arange(o).astype(ftype)
    half = ftype(0.5)
    if mode == "nearest" and nd == 2 and o in (n, 2 * n):
        # PyTorch's 2-d kernel copies (or doubles) without the scale when the sizes say so
        return [np.arange(o) * n // o], None
    if mode in ("nearest", "nearest-exact"):
        step = np.float32(1.0 / scale) if scale is not None and scale > 0 \
            else np.float32(n) / np.float32(o)
        pos = np.arange(o).astype(np.float32)
        if mode == "nearest-exact":
            pos = pos + np.float32(0.5)
        idx = np.minimum(np.floor(pos * step).astype(np.int64), n - 1)
        return [idx], None
    step = _scale(ftype, n, o, align_corners, scale)
    src = dst * step if align_corners else (dst + half) * step - half
    if mode == "bicubic":
        i0 = np.floor(src).astype(np.int64)
        t = (src - i0).astype(ftype)
        a = ftype(_CUBIC_A)

        def near(x):
            return ((a + 2) * x - (a + 3)) * x * x + 1

        def far(x):
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

        one = ftype(1)
        weights = [far(t + one), near(t), near(one - t), far(2 * one - t)]
        idxs = [np.clip(i0 - 1 + j, 0, n - 1) for j in range(4)]
        return idxs, weights
    src = np.maximum(src, ftype(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    lam = np.clip(src - i0, 0, 1).astype(ftype)
    i1 = i0 + (i0 < n - 1)
    return [i0, i1], [ftype(1) - lam, lam]


def _resample_dim(x: Tensor, dim: int, idxs, weights) -> Tensor:
    after = x.dim() - 1 - dim
    if weights is not None:
        weights = tuple(w.reshape((-1,) + (1,) * after) for w in weights)
    return Resample.apply(x, dim, tuple(idxs), weights)


def _interp_sizes(x, nd, size, scale_factor, recompute_scale_factor):
    spatial = list(x.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != nd:
                raise ValueError(
                    f"Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of "
                    f"{tuple(size)}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                    "format and output size in (o1, o2, ...,oK) format.")
            out = [int(v) for v in size]
        else:
            out = [int(size)] * nd
        scales = [None] * nd
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != nd:
                raise ValueError(
                    f"Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {spatial} and scale_factor of "
                    f"shape {tuple(scale_factor)}. Please provide input tensor in (N, C, d1, "
                    "d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(v) for v in scale_factor]
        else:
            scales = [float(scale_factor)] * nd
        out = [math.floor(float(n) * s) for n, s in zip(spatial, scales)]
        if recompute_scale_factor:
            scales = [None] * nd
    else:
        raise ValueError("either size or scale_factor should be defined")
    if any(o <= 0 for o in out) or any(n <= 0 for n in spatial):
        names = "DHW"[3 - nd:]
        raise RuntimeError(
            f"Input and output sizes should be greater than 0, but got input "
            f"({', '.join(f'{c}: {n}' for c, n in zip(names, spatial))}) and output "
            f"({', '.join(f'{c}: {o}' for c, o in zip(names, out))})")
    return out, scales


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample the spatial dims of a (N, C, *spatial) input to ``size`` or by
    ``scale_factor`` (modes nearest, nearest-exact, (bi/tri)linear, bicubic, area)."""
    _need_tensor("interpolate", input)
    nd = input.dim() - 2
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if mode not in _MODES or nd not in (1, 2, 3):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
            f"the modes: {' | '.join(_MODES)} (got {mode})")
    if mode in _LINEAR_ND and _LINEAR_ND[mode] != nd:
        raise NotImplementedError(
            f"Got {input.dim()}D input, but {mode} mode needs {_LINEAR_ND[mode] + 2}D input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by ember; "
                                  "use antialias=False")
    if not input.dtype.is_floating_point and mode != "nearest" and mode != "nearest-exact":
        raise NotImplementedError(f'"upsample_{mode}" not implemented for {input.dtype}')
    out, scales = _interp_sizes(input, nd, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        return _adaptive_avg_poolnd(nd, input, out)
    ftype = input._data.dtype.type if input.dtype.is_floating_point else np.float32
    x = input
    for j, (n, o, s) in enumerate(zip(input.shape[2:], out, scales)):
        idxs, weights = _taps(mode, n, o, align_corners, s, ftype, nd)
        x = _resample_dim(x, 2 + j, idxs, weights)
    return x



def _deprecated(name: str) -> None:
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", UserWarning, stacklevel=3)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of ``interpolate``."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- power-average pooling ----------------------------------------------------------------


def _lp_poolnd(nd, input, norm_type, kernel_size, stride, ceil_mode):
    k = _tuple(kernel_size, nd, "kernel_size", f"lp_pool{nd}d")
    pool = avg_pool1d if nd == 1 else avg_pool2d if nd == 2 else avg_pool3d
    out = pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    # (sum of x^p)^(1/p); a negative window sum (odd p) clamps to zero
    return (out.sign() * out.abs().relu()).mul(math.prod(k)).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """p-norm over sliding windows of a (N, C, L) or (C, L) input."""
    return _lp_poolnd(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """p-norm over sliding windows of a (N, C, H, W) or (C, H, W) input."""
    return _lp_poolnd(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """p-norm over sliding windows of a (N, C, D, H, W) or (C, D, H, W) input."""
    return _lp_poolnd(3, input, norm_type, kernel_size, stride, ceil_mode)

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "interpolate",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]
