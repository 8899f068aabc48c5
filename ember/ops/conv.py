"""Convolutions (plain and transposed, 1 to 3 spatial dims), padding, and unfold/fold.

A convolution is im2col + GEMM in a batch-last layout: the input is copied once, zero-padded,
as (C, *padded, N); its sliding windows are a strided view (C, *k, *out, N) whose rows of
output positions times batch are contiguous, so copying a block of them into a
(groups, C/g * K, L) patch matrix runs at memory speed; each block (about ``_CHUNK_BYTES``, a
range of output rows or part of a row) is multiplied by the (groups, O/g, C/g * K) weight, so
the whole patch matrix is never held.  The blocks run on all cores (``ember._parallel``): each
thread copies, multiplies (BLAS single-threaded) and moves its own blocks.  Convolutions with
few channels and a tall kernel instead copy the input once with every dim but the first
unrolled (``_unrolled``): each output row's patch matrix is then a contiguous block of it,
multiplied on all of BLAS's threads.

Its two adjoints are ops of their own, so that double backward (gradient penalties) goes
through convolutions again:

* ``ConvInput``: the adjoint in the input (W^T g per block of rows, then col2im: one strided
  add per kernel position); it is also the transposed convolution.
* ``ConvWeight``: the adjoint in the weight, the patches times the gradient, summed over blocks.

Padding (``pad``) is an op whose backward is its adjoint op (and the adjoint's backward is the
padding again); ``unfold``/``fold`` are each other's adjoints in the same way.
"""
from __future__ import annotations

import math
from itertools import product

import numpy as np

from ember import _native
from ember._device import get_xp
from ember._parallel import parallel_for, workers
from ember._tensor import Tensor
from ember.ops import conv_direct, winograd
from ember.ops.base import Op
from ember.ops.pointwise import _need_tensor

# ---- array kernels ------------------------------------------------------------------------


def _pad_zeros(xp, x, pad):
    """``x`` with zeros added around its trailing dims; ``pad`` is one (lo, hi) per dim."""
    if not any(lo or hi for lo, hi in pad):
        return x
    lead = x.ndim - len(pad)
    shape = x.shape[:lead] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pad))
    out = xp.zeros(shape, x.dtype)
    out[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[lead:], pad))] = x
    return out


def _windows(xp, x, k, stride, pad, dil, out=None):
    """The (N, C, *out, *k) strided view of the zero-padded ``x`` that a convolution reads."""
    nd = len(k)
    x = _pad_zeros(xp, x, pad)
    win = tuple((kk - 1) * d + 1 for kk, d in zip(k, dil))
    v = xp.lib.stride_tricks.sliding_window_view(x, win, axis=tuple(range(2, 2 + nd)))
    outs = out if out is not None else (None,) * nd
    return v[(slice(None), slice(None))
             + tuple(slice(0, None if o is None else (o - 1) * s + 1, s)
                     for o, s in zip(outs, stride))
             + tuple(slice(None, None, d) for d in dil)]


def _cols(xp, x, k, cfg, out=None):
    """im2col: the (groups, C/g * K, N * P) patch matrix and the output spatial size."""
    stride, pad, dil, groups = cfg
    nd = len(k)
    v = _windows(xp, x, k, stride, pad, dil, out)
    n, c = v.shape[:2]
    o = v.shape[2:2 + nd]
    v = v.reshape((n, groups, c // groups) + v.shape[2:])
    # (g, Cg, *k, N, *out): the copy runs along the output positions, the cache-friendly order
    order = (1, 2) + tuple(range(3 + nd, 3 + 2 * nd)) + (0,) + tuple(range(3, 3 + nd))
    v = v.transpose(order)
    return v.reshape(groups, (c // groups) * math.prod(k), n * math.prod(o)), o


def _add_bias(y, b):
    if b is not None:
        y += b.reshape((1, -1) + (1,) * (y.ndim - 2))
    return y


_CHUNK_BYTES = 512 << 10  # the patch block: in L2 with the GEMM's operands
_COL2IM_CHUNKS = 4  # col2im adds one strided slice per tap and block: fewer, larger blocks


def _batch_last(xp, x, pad):
    """(N, C, *spatial) -> zero-padded (C, *padded, N): the layout in which the im2col copy and
    the col2im adds run along long contiguous rows (output positions times the batch).

    A large input is transposed in channel blocks, each in two steps that stay in cache:
    (N, M/b, b) -> (M/b, N, b) moves runs of b elements, then (M/b, b, N) transposes small
    b x N tiles; one direct strided transpose of megabytes misses the cache at every element.
    """
    nd = len(pad)
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    padded = any(lo or hi for lo, hi in pad)
    perm = (1,) + tuple(range(2, 2 + nd)) + (0,)
    plane = math.prod(spatial)
    tile = next((t for t in (16, 8, 4, 2) if plane % t == 0), 1)
    if x.nbytes < 4 * _CHUNK_BYTES or tile == 1:
        if not padded:
            return xp.ascontiguousarray(x.transpose(perm))
        tile = 0
    out = (xp.zeros if padded else xp.empty)(
        (c,) + tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pad)) + (n,), x.dtype)
    inner = out[(slice(None),) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(spatial, pad))]
    if not tile:
        inner[...] = x.transpose(perm)
        return out
    # blocks run on all threads at once: together their temporaries take one _CHUNK_BYTES
    step = max(1, _CHUNK_BYTES // workers() // max(plane * n * x.itemsize, 1))

    def blocks(starts):
        for c0 in starts:
            block = x[:, c0:c0 + step]
            m = block[0].size
            runs = xp.ascontiguousarray(block.reshape(n, m // tile, tile).transpose(1, 0, 2))
            if padded:
                inner[c0:c0 + step] = xp.ascontiguousarray(runs.transpose(0, 2, 1)).reshape(
                    (-1,) + spatial + (n,))
            else:
                xp.copyto(out[c0:c0 + step].reshape(m // tile, tile, n), runs.transpose(0, 2, 1))

    parallel_for(blocks, range(0, c, step), xp is np)
    return out


def _patches(xp, xt, k, stride, dil, out):
    """The (C, *k, *out, N) strided view of the batch-last padded input that a convolution
    reads; a slice of it along the first output dim, copied, is a block of im2col columns."""
    nd = len(k)
    win = tuple((kk - 1) * d + 1 for kk, d in zip(k, dil))
    v = xp.lib.stride_tricks.sliding_window_view(xt, win, axis=tuple(range(1, 1 + nd)))
    v = v[(slice(None),) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, stride))
          + (slice(None),) + tuple(slice(None, None, d) for d in dil)]
    return v.transpose((0,) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(1, 1 + nd))
                       + (1 + nd,))


def _row_chunks(out, per_row: int, scale: int = 1):
    """Slices of the first output dim whose patch columns take about ``scale * _CHUNK_BYTES``:
    the copy and the GEMM work in cache and the whole patch matrix is never held at once."""
    rows = out[0]
    m = max(1, min(rows, scale * _CHUNK_BYTES // max(per_row, 1)))
    return [slice(r, min(rows, r + m)) for r in range(0, rows, m)] or [slice(0, 0)]


def _out_size(spatial, k, cfg):
    stride, pad, dil, _ = cfg
    return tuple((n + lo + hi - d * (kk - 1) - 1) // s + 1
                 for n, kk, s, (lo, hi), d in zip(spatial, k, stride, pad, dil))


def _row_bytes(x_shape, k, o, itemsize) -> int:
    """Bytes of the patch columns of one row of the first output dim."""
    n, c = x_shape[:2]
    return c * math.prod(k) * math.prod(o[1:]) * n * itemsize


def _conv_blocks(x_shape, k, o, itemsize, split: bool, budget: int | None = None) -> list:
    """Index tuples into the output dims, each block's patch columns about ``budget`` bytes:
    whole rows of the first output dim or, with ``split`` (blocks in parallel, whose patches
    coexist) and a row larger than that, parts of a row."""
    per_row = _row_bytes(x_shape, k, o, itemsize)
    budget = budget or _CHUNK_BYTES
    if not split or per_row <= budget or len(o) < 2 or 0 in o:
        return [(rows,) for rows in _row_chunks(o, per_row)]
    step = -(-o[1] // min(o[1], -(-per_row // budget)))
    return [(slice(r, r + 1), slice(j, min(o[1], j + step)))
            for r in range(o[0]) for j in range(0, o[1], step)]


def _by_rows(x_shape, co, k, o, cfg) -> bool:
    """Whether the convolution runs on ``_unrolled`` rows: no groups, the first dim not
    dilated, the unrolled input at most a third of the im2col patches (a kernel as tall as a
    good part of the output leaves nothing to gain), rows of at least 256 columns and at least
    16 output channels (fewer make each row's product bound by reading its patches from
    memory, where im2col's block copies are read from cache)."""
    _, pad, dil, groups = cfg
    padded = x_shape[2] + pad[0][0] + pad[0][1]
    return (groups == 1 and len(k) >= 2 and dil[0] == 1 and 0 not in o and co >= 16
            and 3 * padded <= k[0] * o[0] and math.prod(o[1:]) * x_shape[0] >= 256)


def _unrolled(xp, x, k, cfg, o, par: bool):
    """(P1, C, *k[1:], *o[1:], N): the padded input with every spatial dim but the first
    unrolled into its kernel taps.  Output row r of the first dim reads the contiguous block
    ``[r * stride : r * stride + k1]`` of it, reshaped, as its (k1 * C * k2..., o2... * N)
    patch matrix: one copy of k2*... times the input instead of im2col's k1*k2*... times."""
    stride, pad, dil, _ = cfg
    nd = len(k)
    xt = _batch_last(xp, x, pad)
    win = tuple((kk - 1) * d + 1 for kk, d in zip(k[1:], dil[1:]))
    v = xp.lib.stride_tricks.sliding_window_view(xt, win, axis=tuple(range(2, 1 + nd)))
    v = v[(slice(None), slice(None))
          + tuple(slice(0, (m - 1) * s + 1, s) for m, s in zip(o[1:], stride[1:]))
          + (slice(None),) + tuple(slice(None, None, d) for d in dil[1:])]
    # (C, P1, *o[1:], N, *k[1:]) -> (P1, C, *k[1:], *o[1:], N)
    v = v.transpose((1, 0) + tuple(range(nd + 2, 2 * nd + 1)) + tuple(range(2, nd + 2)))
    u = xp.empty(v.shape, x.dtype)

    def copy(share):
        for rows in share:
            u[rows] = v[rows]

    parallel_for(copy, _row_chunks(v.shape, v[0].nbytes), par)
    return u


def _conv_forward(xp, x, w, b, cfg, out=None):
    stride, pad, dil, groups = cfg
    k = w.shape[2:]
    n = x.shape[0]
    co = w.shape[0]
    o = tuple(out) if out is not None else _out_size(x.shape[2:], k, cfg)
    if winograd.applies(x, w, w.shape, cfg):
        return winograd.forward(x, w, b, pad, o)
    if conv_direct.applies(x, w, cfg):
        return conv_direct.forward(x, w, b, pad, o)
    par = xp is np and workers() > 1
    if _by_rows(x.shape, co, k, o, cfg):
        u = _unrolled(xp, x, k, cfg, o, par)
        wm = xp.ascontiguousarray(xp.swapaxes(w, 1, 2)).reshape(co, -1)  # (O, k1, C, k2...)
        y = xp.empty((n, co) + o, xp.result_type(x, w))
        last = len(o) - 1
        # one row at a time on all of BLAS's threads, as (o2... * N, K) @ (K, O): a few output
        # channels make a short axis that BLAS runs at half speed on the outside of the product
        for r in range(o[0]):
            cols = u[r * stride[0]:r * stride[0] + k[0]].reshape(wm.shape[1], -1)
            part = xp.matmul(cols.T, wm.T)
            if b is not None:
                part += b
            y[:, :, r] = part.reshape(o[1:] + (n, co)).transpose(
                (last, last + 1) + tuple(range(last)))
        return y
    v = _patches(xp, _batch_last(xp, x, pad), k, stride, dil, o)
    wm = w.reshape(groups, co // groups, -1)
    y = xp.empty((n, co) + o, xp.result_type(x, w))
    ck = x.shape[1] // groups * math.prod(k)
    taps = (slice(None),) * (1 + len(k))

    def blocks(share):
        for sl in share:
            patches = v[taps + sl]
            cols = xp.ascontiguousarray(patches).reshape(groups, ck, -1)
            part = xp.matmul(wm, cols).reshape((co,) + patches.shape[1 + len(k):])
            del cols  # before the next block's copy: two never coexist
            if b is not None:
                part += b.reshape((co,) + (1,) * (part.ndim - 1))
            # the block's (O, ..., N) result is moved into (N, O, ...) while in cache
            y[(slice(None), slice(None)) + sl] = xp.moveaxis(part, -1, 0)

    parallel_for(blocks, _conv_blocks(x.shape, k, o, x.itemsize, par), par)
    return y


def _col2im(xp, cols, n, c, k, out, spatial, cfg):
    """Scatter-add (groups, C/g * K, N * P) columns back into (N, C, *spatial)."""
    stride, pad, dil, groups = cfg
    cg = c // groups
    cols = cols.reshape((groups, cg) + tuple(k) + (n,) + tuple(out))
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pad))
    acc = xp.zeros((groups, cg, n) + padded, cols.dtype)
    for idx in product(*(range(kk) for kk in k)):
        dst = (slice(None),) * 3 + tuple(
            slice(i * d, i * d + (o - 1) * s + 1, s) for i, d, o, s in zip(idx, dil, out, stride))
        acc[dst] += cols[(slice(None), slice(None)) + idx]
    acc = acc.reshape((c, n) + padded)[
        (slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(spatial, pad))]
    return xp.ascontiguousarray(xp.moveaxis(acc, 1, 0))


def _conv_input(xp, g, w, b, spatial, cfg):
    """The adjoint of the convolution in its input: col2im of W^T g (the transposed conv), each
    tap's columns added onto a strided slice.  2-D float32 columns are made block by block of
    output rows, all taps at once, and added by the compiled ``col2im2d``.  Otherwise, when
    one tap's columns for the whole batch are small, they are made tap by tap (one GEMM and
    one add each, nothing larger held); else block by block, one add per tap."""
    stride, pad, dil, groups = cfg
    n, co = g.shape[:2]
    c = w.shape[1] * groups
    k = w.shape[2:]
    o = g.shape[2:]
    full = tuple((d * (kk - 1) - lo, n_ + d * (kk - 1) - m - (d * (kk - 1) - lo))
                 for d, kk, (lo, _), n_, m in zip(dil, k, pad, spatial, o))
    if all(s == 1 for s in stride) and co <= c and all(lo >= 0 and hi >= 0 for lo, hi in full):
        # stride 1: a plain convolution of the padded g with the flipped, transposed kernel,
        # whose patches are no larger than the input's (O <= C) and need no scatter-add
        og, cg = co // groups, c // groups
        wf = w.reshape((groups, og, cg) + tuple(k)).swapaxes(1, 2)
        wf = wf[(Ellipsis,) + (slice(None, None, -1),) * len(k)].reshape((c, og) + tuple(k))
        return _conv_forward(xp, g, wf, b, (stride, full, dil, groups), spatial)
    gt = xp.moveaxis(g, 0, -1)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pad))
    acc = xp.zeros((c,) + padded + (n,), xp.result_type(g, w))
    # 2-D float32: the compiled col2im adds every tap at once (the GEMM is one for all taps)
    native = len(k) == 2 and _native.takes(acc)
    tapwise = not native and c * math.prod(o) * n * g.itemsize <= _CHUNK_BYTES
    if tapwise:
        chunks = [slice(0, o[0])]
        wt = w.reshape(groups, co // groups, c // groups, -1)
    else:
        # the compiled col2im costs nothing per block: blocks as small as the forward's
        chunks = _row_chunks(o, _row_bytes((n, c), k, o, g.itemsize),
                             1 if native else _COL2IM_CHUNKS)
        wm = w.reshape(groups, co // groups, -1).transpose(0, 2, 1)
    for rows in chunks:
        gm = xp.ascontiguousarray(gt[:, rows]).reshape(groups, co // groups, -1)
        block = (c, rows.stop - rows.start) + tuple(o[1:]) + (n,)
        if not tapwise:
            # one output channel per group (depthwise): an outer product, faster than BLAS
            cols = wm * gm if co == groups else xp.matmul(wm, gm)
            cols = cols.reshape(block[:1] + tuple(k) + block[1:])
        if native:
            _native.call("col2im2d", cols, acc, c, *k, *block[1:], *padded,
                         rows.start * stride[0], *stride, *dil)
            del cols  # before the next block's product: two never coexist
            continue
        for t, idx in enumerate(product(*(range(kk) for kk in k))):
            if tapwise:
                wk = wt[..., t].transpose(0, 2, 1)
                part = (wk * gm if co == groups else xp.matmul(wk, gm)).reshape(block)
            else:
                part = cols[(slice(None),) + idx]
            first = rows.start * stride[0] + idx[0] * dil[0]
            dst = ((slice(None), slice(first, first + (block[1] - 1) * stride[0] + 1, stride[0]))
                   + tuple(slice(i * d, i * d + (m - 1) * s + 1, s)
                           for i, d, m, s in zip(idx[1:], dil[1:], o[1:], stride[1:])))
            acc[dst] += part
    acc = acc[(slice(None),) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(spatial, pad))]
    return _add_bias(xp.ascontiguousarray(xp.moveaxis(acc, -1, 0)), b)


def _conv_weight(xp, x, g, wshape, cfg):
    """The adjoint of the convolution in its weight: the gradient times the patches, summed
    over blocks of output rows."""
    stride, pad, dil, groups = cfg
    k = wshape[2:]
    o = g.shape[2:]
    co = wshape[0]
    if winograd.applies(x, g, wshape, cfg):
        return winograd.weight(x, g, pad)
    par = xp is np and workers() > 1
    # the input's copy first: the gradient's, smaller, then never coexists with its temporaries
    if _by_rows(x.shape, co, k, o, cfg):
        u = _unrolled(xp, x, k, cfg, o, par)
        gt = _batch_last(xp, g, ((0, 0),) * len(o))
        # row by row on all of BLAS's threads, the few output channels inside the product
        gw = None
        for r in range(o[0]):
            cols = u[r * stride[0]:r * stride[0] + k[0]].reshape(-1, gt[0, 0].size)
            part = xp.matmul(gt[:, r].reshape(co, -1), cols.T).T  # (k1 * C * k2..., O)
            gw = part if gw is None else xp.add(gw, part, out=gw)
        # (k1, C, k2..., O) -> (O, C, k1, k2...)
        gw = gw.reshape((k[0], x.shape[1]) + tuple(k[1:]) + (co,))
        return xp.ascontiguousarray(xp.moveaxis(gw, -1, 0).swapaxes(1, 2))
    v = _patches(xp, _batch_last(xp, x, pad), k, stride, dil, o)
    gt = _batch_last(xp, g, ((0, 0),) * len(o))
    taps = (slice(None),) * (1 + len(k))

    def blocks(share):
        gw = None
        for sl in share:
            gm = gt[(slice(None),) + sl].reshape(groups, co // groups, -1)
            cols = xp.ascontiguousarray(v[taps + sl]).reshape(groups, -1, gm.shape[-1])
            # (C/g * K, L) @ (L, O/g): BLAS is fastest with the long axis inside the product
            part = xp.matmul(cols, gm.transpose(0, 2, 1))
            gw = part if gw is None else xp.add(gw, part, out=gw)
            del cols
        return gw

    # the blocks of all threads together take one _CHUNK_BYTES: a backward convolution's peak
    # memory is here, with both the input's and the gradient's copies alive
    gw = sum(parallel_for(blocks, _conv_blocks(x.shape, k, o, x.itemsize, par,
                                               _CHUNK_BYTES // workers()), par))
    return xp.ascontiguousarray(gw.transpose(0, 2, 1)).reshape(wshape)


def _sum_bias(g: Tensor) -> Tensor:
    return g.sum([0] + list(range(2, g.dim())))


# ---- ops ----------------------------------------------------------------------------------


class Conv(Op):
    """y = conv(x, w) + b; ``cfg`` = (stride, ((lo, hi), ...), dilation, groups)."""

    @staticmethod
    def forward(ctx, x, w, b, cfg, out=None):
        ctx.cfg = cfg
        ctx.save_for_backward(x, w)
        return _conv_forward(get_xp(x), x, w, b, cfg, out)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        # the weight gradient first: its input-sized temporaries are gone before gx exists
        gw = ConvWeight.apply(x, g, tuple(w.shape), ctx.cfg) if need[1] else None
        gx = ConvInput.apply(g, w, None, tuple(x.shape[2:]), ctx.cfg) if need[0] else None
        gb = _sum_bias(g) if need[2] else None
        return gx, gw, gb, None, None


class ConvInput(Op):
    """The transposed convolution of ``g`` with ``w`` onto ``spatial`` (conv's input gradient)."""

    @staticmethod
    def forward(ctx, g, w, b, spatial, cfg):
        ctx.cfg = cfg
        ctx.save_for_backward(g, w)
        return _conv_input(get_xp(g), g, w, b, spatial, cfg)

    @staticmethod
    def backward(ctx, gy):
        g, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        out = tuple(g.shape[2:])
        gg = Conv.apply(gy, w, None, ctx.cfg, out) if need[0] else None
        gw = ConvWeight.apply(gy, g, tuple(w.shape), ctx.cfg) if need[1] else None
        gb = _sum_bias(gy) if need[2] else None
        return gg, gw, gb, None, None


class ConvWeight(Op):
    """The weight gradient of conv(x, w) for the output gradient ``g``."""

    @staticmethod
    def forward(ctx, x, g, wshape, cfg):
        ctx.cfg = cfg
        ctx.save_for_backward(x, g)
        return _conv_weight(get_xp(x), x, g, wshape, cfg)

    @staticmethod
    def backward(ctx, gw):
        x, g = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = ConvInput.apply(g, gw, None, tuple(x.shape[2:]), ctx.cfg) if need[0] else None
        gg = Conv.apply(x, gw, None, ctx.cfg, tuple(g.shape[2:])) if need[1] else None
        return gx, gg, None, None


# ---- argument checking --------------------------------------------------------------------


def _tuple(value, nd: int, name: str, op: str) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * nd
    if len(value) != nd:
        raise RuntimeError(
            f"{op}: expected {name} to be a single integer value or a list of {nd} values to "
            f"match the convolution dimensions, but got {name}={list(value)}"
        )
    return value


def _shape(t) -> list:
    return list(t.shape)


def _check_common(op: str, nd: int, input, weight, bias, groups: int):
    _need_tensor(op, input)
    _need_tensor(op, weight, "weight", 2)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got input "
            f"of size: {_shape(input)}"
        )
    if weight.dim() != nd + 2:
        raise RuntimeError(
            f"{op}: expected a {nd + 2}D weight (out_channels, in_channels/groups, kernel...), "
            f"but got weight of size {_shape(weight)}"
        )
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported (got groups={groups})")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        raise RuntimeError(
            f"{op}: expected scalar type {input.dtype} but found "
            f"{weight.dtype if input.dtype != weight.dtype else bias.dtype}; input, weight and "
            "bias must have the same dtype (convert the weight with .to(input.dtype))"
        )
    if input.dtype.is_complex or str(input.dtype) == "torch.bool":
        raise RuntimeError(f"{op}: not implemented for {input.dtype} inputs")


def _check_geometry(op: str, stride, dil, k):
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported (got {list(stride)})")
    if any(d <= 0 for d in dil):
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got {list(dil)}")
    if any(kk <= 0 for kk in k):
        raise RuntimeError(f"{op}: kernel size should be greater than zero, but got {list(k)}")


def _check_bias(op: str, weight, bias, n_out: int):
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != n_out):
        raise RuntimeError(
            f"{op}: Given weight of size {_shape(weight)}, expected bias to be 1-dimensional with "
            f"{n_out} elements, but got bias of size {_shape(bias)} instead"
        )


def _batched(input, nd: int):
    return (input, False) if input.dim() == nd + 2 else (input.unsqueeze(0), True)


def _convnd(op: str, nd: int, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    _check_common(op, nd, input, weight, bias, groups)
    stride = _tuple(stride, nd, "stride", op)
    dil = _tuple(dilation, nd, "dilation", op)
    k = tuple(weight.shape[2:])
    _check_geometry(op, stride, dil, k)
    if isinstance(padding, str):
        if padding == "valid":
            pad = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError(
                    f"{op}: padding='same' is not supported for strided convolutions; use an "
                    "explicit padding or stride=1"
                )
            pad = tuple((d * (kk - 1) // 2, d * (kk - 1) - d * (kk - 1) // 2)
                        for d, kk in zip(dil, k))
        else:
            raise RuntimeError(f"{op}: Invalid padding string: '{padding}' (use 'same' or "
                               "'valid' or integers)")
    else:
        p = _tuple(padding, nd, "padding", op)
        if any(v < 0 for v in p):
            raise RuntimeError(f"{op}: negative padding is not supported (got {list(p)})")
        pad = tuple((v, v) for v in p)
    x, unbatched = _batched(input, nd)
    co = weight.shape[0]
    if co % groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of size {_shape(weight)} instead"
        )
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, weight of size {_shape(weight)}, expected "
            f"input{_shape(x)} to have {weight.shape[1] * groups} channels, but got "
            f"{x.shape[1]} channels instead"
        )
    _check_bias(op, weight, bias, co)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pad))
    if any(pn < d * (kk - 1) + 1 for pn, d, kk in zip(padded, dil, k)):
        dk = tuple(d * (kk - 1) + 1 for d, kk in zip(dil, k))
        raise RuntimeError(
            f"{op}: Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, dk))}). Kernel size can't be greater than "
            "actual input size"
        )
    out = Conv.apply(x, weight, bias, (stride, pad, dil, groups))
    return out.squeeze(0) if unbatched else out


def _conv_transposend(op: str, nd: int, input, weight, bias, stride, padding, output_padding,
                      groups, dilation) -> Tensor:
    _check_common(op, nd, input, weight, bias, groups)
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be a tuple of ints, not str "
                        "('same'/'valid' exist only for convolutions)")
    stride = _tuple(stride, nd, "stride", op)
    dil = _tuple(dilation, nd, "dilation", op)
    p = _tuple(padding, nd, "padding", op)
    op_ = _tuple(output_padding, nd, "output_padding", op)
    k = tuple(weight.shape[2:])
    _check_geometry(op, stride, dil, k)
    if any(v < 0 for v in p):
        raise RuntimeError(f"{op}: negative padding is not supported (got {list(p)})")
    if any(v < 0 for v in op_):
        raise RuntimeError(f"{op}: negative output_padding is not supported (got {list(op_)})")
    if any(o >= s and o >= d for o, s, d in zip(op_, stride, dil)):
        raise RuntimeError(
            f"{op}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={list(op_)}, stride={list(stride)}, dilation={list(dil)}"
        )
    x, unbatched = _batched(input, nd)
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"{op}: Given transposed=1, weight of size {_shape(weight)}, expected "
            f"input{_shape(x)} to have {weight.shape[0]} channels, but got {x.shape[1]} "
            "channels instead"
        )
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of size {_shape(weight)} instead"
        )
    _check_bias(op, weight, bias, weight.shape[1] * groups)
    spatial = tuple((n - 1) * s - 2 * pp + d * (kk - 1) + o + 1
                    for n, s, pp, d, kk, o in zip(x.shape[2:], stride, p, dil, k, op_))
    if any(v <= 0 for v in spatial):
        raise RuntimeError(
            f"{op}: Given input size per channel: ({' x '.join(map(str, x.shape[2:]))}). "
            f"Calculated output size per channel: ({' x '.join(map(str, spatial))}). Output "
            "size is too small"
        )
    cfg = (stride, tuple((v, v) for v in p), dil, groups)
    out = ConvInput.apply(x, weight, bias, spatial, cfg)
    return out.squeeze(0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation over (N, C, L) or (C, L) inputs."""
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over (N, C, H, W) or (C, H, W) inputs."""
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D cross-correlation over (N, C, D, H, W) or (C, D, H, W) inputs."""
    return _convnd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The adjoint of conv1d in its input; weight is (C_in, C_out / groups, k)."""
    return _conv_transposend("conv_transpose1d", 1, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The adjoint of conv2d in its input; weight is (C_in, C_out / groups, kh, kw)."""
    return _conv_transposend("conv_transpose2d", 2, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The adjoint of conv3d in its input; weight is (C_in, C_out / groups, kd, kh, kw)."""
    return _conv_transposend("conv_transpose3d", 3, input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


# ---- padding ------------------------------------------------------------------------------

_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _crop(x, pad):
    """Apply the negative parts of ``pad`` (one (lo, hi) per trailing dim) as a crop."""
    lead = x.ndim - len(pad)
    if not any(lo < 0 or hi < 0 for lo, hi in pad):
        return x
    return x[(slice(None),) * lead + tuple(
        slice(-lo if lo < 0 else 0, n + hi if hi < 0 else n)
        for n, (lo, hi) in zip(x.shape[lead:], pad))]


def _pad_forward(xp, x, pad, mode, value):
    x = _crop(x, pad)
    pos = [(0, 0)] * (x.ndim - len(pad)) + [(max(lo, 0), max(hi, 0)) for lo, hi in pad]
    if not any(lo or hi for lo, hi in pos):
        return x.copy()
    if mode == "constant":
        out = xp.full(tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pos)),
                      value, dtype=x.dtype)
        out[tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape, pos))] = x
        return out
    return xp.pad(x, pos, mode=_NP_MODE[mode])


def _pad_adjoint(xp, g, pad, mode):
    """Sum each padded position's gradient into the input position it was copied from.

    Only for reflect/replicate/circular: a constant pad's adjoint is the opposite constant pad.
    """
    lead = g.ndim - len(pad)
    for i, (lo, hi) in enumerate(pad):
        ax = lead + i
        lo, hi = max(lo, 0), max(hi, 0)
        if not (lo or hi):
            continue
        n = g.shape[ax] - lo - hi
        gm = xp.moveaxis(g, ax, -1)
        center = gm[..., lo:lo + n].copy()
        src = np.pad(np.arange(n), (lo, hi), mode=_NP_MODE[mode])  # where each position reads
        for part, idx in ((gm[..., :lo], src[:lo]), (gm[..., lo + n:], src[lo + n:])):
            if not idx.size:
                continue
            if len(np.unique(idx)) == idx.size:
                center[..., xp.asarray(idx)] += part
            else:  # replicate: every padded position copies the same edge element
                center[..., idx[0]] += part.sum(-1)
        g = xp.moveaxis(center, -1, ax)
    return xp.ascontiguousarray(_pad_zeros(xp, g, [(max(-lo, 0), max(-hi, 0)) for lo, hi in pad]))


class Pad(Op):
    @staticmethod
    def forward(ctx, x, pad, mode, value):
        ctx.args = pad, mode
        return _pad_forward(get_xp(x), x, pad, mode, value)

    @staticmethod
    def backward(ctx, g):
        pad, mode = ctx.args
        if mode == "constant":  # the adjoint of a constant pad is the opposite crop/zero-pad
            gx = Pad.apply(g, tuple((-lo, -hi) for lo, hi in pad), "constant", 0)
        else:
            gx = PadAdjoint.apply(g, pad, mode)
        return gx, None, None, None


class PadAdjoint(Op):
    """The gradient of a reflect/replicate/circular pad; its own gradient is that pad."""

    @staticmethod
    def forward(ctx, g, pad, mode):
        ctx.args = pad, mode
        return _pad_adjoint(get_xp(g), g, pad, mode)

    @staticmethod
    def backward(ctx, gg):
        pad, mode = ctx.args
        return Pad.apply(gg, pad, mode, 0), None, None


_PAD_SUPPORT = (
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative amounts, crop) the last len(pad) // 2 dims, last dim first."""
    _need_tensor("pad", input)
    pad = tuple(pad)
    for i, p in enumerate(pad):
        if not isinstance(p, (int, np.integer)) or isinstance(p, bool):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found "
                            f"element of type {type(p).__name__} at pos {i}")
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2 (got {len(pad)} values)")
    nd = len(pad) // 2
    ndim = input.dim()
    if nd > ndim:
        raise RuntimeError(
            f"pad: Padding length should be less than or equal to two times the input dimension "
            f"but got padding length {len(pad)} and input of dimension {ndim}"
        )
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: Unrecognised padding mode {mode} (use constant, "
                                  "reflect, replicate or circular)")
    pairs = tuple((int(pad[2 * j]), int(pad[2 * j + 1])) for j in reversed(range(nd)))
    shape = tuple(input.shape)
    spatial = shape[ndim - nd:]
    if mode == "constant":
        value = 0 if value is None else value
        if any(n + lo + hi < 0 for n, (lo, hi) in zip(spatial, pairs)):
            raise RuntimeError(f"pad: negative padding {list(pad)} crops more than the input "
                               f"size {list(shape)}")
        return Pad.apply(input, pairs, mode, value)
    if value is not None and value != 0:
        raise RuntimeError(f'pad: Padding mode "{mode}" doesn\'t take in value argument')
    if nd not in (1, 2, 3) or ndim not in (nd + 1, nd + 2):
        raise NotImplementedError(
            f"pad: Padding size {len(pad)} is not supported for {ndim}D input tensor.\n"
            + _PAD_SUPPORT
        )
    for i, (n, (lo, hi)) in enumerate(zip(spatial, pairs)):
        m = n + min(lo, 0) + min(hi, 0)
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"pad: Argument #4: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({lo}, {hi}) at dimension {ndim - nd + i} of input "
                f"{list(shape)}"
            )
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("pad: Padding value causes wrapping around more than once.")
        if m <= 0 and (lo > 0 or hi > 0):
            raise RuntimeError(f"pad: input of size {list(shape)} cropped to nothing by "
                               f"{list(pad)} cannot be padded with mode '{mode}'")
    return Pad.apply(input, pairs, mode, 0)


_pad_fn = pad


def constant_pad_nd(input: Tensor, pad, value: float = 0) -> Tensor:
    """``pad`` in constant mode (torch.constant_pad_nd)."""
    return _pad_fn(input, pad, "constant", value)


# ---- unfold / fold ------------------------------------------------------------------------


def _unfold_array(xp, x, k, cfg):
    """(N, C, H, W) -> (N, C * K, L), channels outermost, then kernel positions."""
    n, c = x.shape[:2]
    cols, _ = _cols(xp, x, k, cfg)
    cols = cols.reshape(c * math.prod(k), n, -1)
    return xp.ascontiguousarray(cols.transpose(1, 0, 2))


def _fold_array(xp, cols, out_size, k, blocks, cfg):
    n, ck, _ = cols.shape
    c = ck // math.prod(k)
    m = xp.ascontiguousarray(cols.transpose(1, 0, 2)).reshape(1, ck, -1)
    return _col2im(xp, m, n, c, k, blocks, out_size, cfg)


class Unfold(Op):
    @staticmethod
    def forward(ctx, x, k, cfg):
        ctx.args = x.shape[2:], k, cfg
        return _unfold_array(get_xp(x), x, k, cfg)

    @staticmethod
    def backward(ctx, g):
        size, k, cfg = ctx.args
        return Fold.apply(g, size, k, cfg), None, None


class Fold(Op):
    @staticmethod
    def forward(ctx, cols, out_size, k, cfg):
        ctx.args = k, cfg
        return _fold_array(get_xp(cols), cols, out_size, k, _blocks(out_size, k, cfg), cfg)

    @staticmethod
    def backward(ctx, g):
        k, cfg = ctx.args
        return Unfold.apply(g, k, cfg), None, None, None


def _blocks(size, k, cfg):
    stride, pad, dil, _ = cfg
    return tuple((n + lo + hi - d * (kk - 1) - 1) // s + 1
                 for n, kk, s, (lo, hi), d in zip(size, k, stride, pad, dil))


def _fold_cfg(op, kernel_size, dilation, padding, stride):
    k = _tuple(kernel_size, 2, "kernel_size", op)
    dil = _tuple(dilation, 2, "dilation", op)
    p = _tuple(padding, 2, "padding", op)
    stride = _tuple(stride, 2, "stride", op)
    _check_geometry(op, stride, dil, k)
    if any(v < 0 for v in p):
        raise RuntimeError(f"{op}: padding should be non-negative, but got {list(p)}")
    return k, (stride, tuple((v, v) for v in p), dil, 1)


def _check_blocks(op, size, k, cfg, blocks):
    if any(b < 1 for b in blocks):
        _, pad, dil, _ = cfg
        raise RuntimeError(
            f"{op}: Given input with spatial size {tuple(size)}, kernel_size={k}, "
            f"dilation={dil}, padding={tuple(lo for lo, _ in pad)}, calculated shape of the array "
            f"of sliding blocks as {blocks}, but its components must be at least one."
        )


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col: sliding blocks of a (N, C, H, W) or (C, H, W) input as (N, C * kh * kw, L)."""
    _need_tensor("unfold", input)
    if input.dim() not in (3, 4):
        raise RuntimeError(f"unfold: Expected 3D or 4D (batch mode) tensor for input, but got "
                           f"input of size {_shape(input)}")
    k, cfg = _fold_cfg("unfold", kernel_size, dilation, padding, stride)
    x, unbatched = _batched(input, 2)
    blocks = _blocks(x.shape[2:], k, cfg)
    _check_blocks("unfold", x.shape[2:], k, cfg, blocks)
    out = Unfold.apply(x, k, cfg)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im: sums (N, C * kh * kw, L) blocks into (N, C, *output_size); inverse of unfold."""
    _need_tensor("fold", input)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"fold: Expected 2D or 3D (batch mode) tensor for input, but got "
                           f"input of size {_shape(input)}")
    size = _tuple(output_size, 2, "output_size", "fold")
    k, cfg = _fold_cfg("fold", kernel_size, dilation, padding, stride)
    x, unbatched = _batched(input, 1)
    kk = math.prod(k)
    if x.shape[1] % kk:
        raise RuntimeError(
            f"fold: Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={x.shape[1]} and kernel_size={k}."
        )
    blocks = _blocks(size, k, cfg)
    _check_blocks("fold", size, k, cfg, blocks)
    if x.shape[2] != math.prod(blocks):
        raise RuntimeError(
            f"fold: Given output_size={size}, kernel_size={k}, dilation={cfg[2]}, "
            f"padding={tuple(lo for lo, _ in cfg[1])}, stride={cfg[0]}, expected size of "
            f"input's dimension 2 to match the calculated number of sliding blocks "
            f"{' * '.join(map(str, blocks))} = {math.prod(blocks)}, but got "
            f"input.size(2)={x.shape[2]}."
        )
    out = Fold.apply(x, size, k, cfg)
    return out.squeeze(0) if unbatched else out


__all__ = [
    "constant_pad_nd", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d",
]
TENSOR_METHODS: list = []
INPLACE_METHODS: list = []
