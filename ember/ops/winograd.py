"""Winograd F(2x2, 3x3): 3x3 stride-1 float32 convolutions in 2.25 times fewer multiplications.

Each 2x2 tile of output is ``A^T [(G w G^T) * (B^T d B)] A`` for the 4x4 input tile ``d`` under
it (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), so that a
convolution becomes 16 products (O, C) @ (C, tiles), one per position of the 4x4 transformed
tile, instead of im2col's (O, 9C) @ (9C, outputs): 16 * 4 = 64 multiplies per output row of
weights instead of 9 * 4 * 4 = 144.  The products are BLAS's (NumPy); the transforms run in
``ember/_ckernels.c``, block by block of tiles on every core (``ember._parallel``), so each
block's transformed input and products stay in cache and nothing input-sized is added.
The weight gradient is the same algorithm run backwards: the per-position products of the
output gradient's tiles ``A g A^T`` with the input's ``B^T d B``, mapped back by ``G^T . G``.
The input gradient is a forward convolution (of the padded gradient with the flipped kernel).

Without the compiled module, ``available()`` is false and convolutions take im2col.
"""
from __future__ import annotations

import numpy as np

from ember import _native
from ember._parallel import parallel_for

_BLOCK_BYTES = 512 << 10  # one block's transformed input: in L2 with its products


def available() -> bool:
    return _native.kernels() is not None


def applies(x, other, wshape, cfg) -> bool:
    """Whether a convolution of ``x`` with a ``wshape`` weight and ``cfg`` runs here (``other``
    being its weight or output gradient): float32 arrays on the CPU, a 3x3 kernel, stride and
    dilation 1, no groups, padding >= 0, and enough channels on both sides for the products
    to outweigh the transforms."""
    stride, pad, dil, groups = cfg
    return (isinstance(x, np.ndarray) and x.dtype == np.float32 and other.dtype == np.float32
            and x.ndim == 4 and tuple(wshape[2:]) == (3, 3) and stride == (1, 1)
            and dil == (1, 1) and groups == 1 and all(lo >= 0 and hi >= 0 for lo, hi in pad)
            and min(wshape[0], wshape[1]) >= 16 and available())


def _blocks(rows: int, tiles: int) -> list:
    """(first tile, count) blocks of the tiles, each transformed block (16, rows, count) about
    ``_BLOCK_BYTES``."""
    per = max(1, min(tiles, _BLOCK_BYTES // (16 * rows * 4)))
    return [(t, min(per, tiles - t)) for t in range(0, tiles, per)]


def _planes(rows: int, cols: int) -> np.ndarray:
    """An empty (16, rows, cols) float32 array whose planes lie a cache line more than their
    size apart: planes a power of two apart would share cache sets, which the kernels' 16
    streams at once would thrash."""
    plane = rows * cols + 16
    return np.lib.stride_tricks.as_strided(
        np.empty(16 * plane, np.float32), (16, rows, cols), (plane * 4, cols * 4, 4))


def _check(status: int) -> None:
    if status:
        raise MemoryError("conv2d (Winograd): out of memory for a row of scratch")


class _Buffers:
    """One thread's transformed blocks, each (16, rows, count) for the rows given, made again
    only when a block's tile count changes (the last block), with their data pointers and
    plane strides: taking an array's pointer costs a microsecond, and a layer's convolution
    walks dozens of blocks."""

    def __init__(self, *rows: int) -> None:
        self.rows, self.count = rows, None

    def get(self, count: int) -> tuple:
        if count != self.count:
            self.arrays = [_planes(r, count) for r in self.rows]
            self.ptrs = [(a.ctypes.data, a.strides[0] // 4) for a in self.arrays]
            self.count = count
        return self.arrays, self.ptrs


def _tiles(out) -> tuple:
    return -(-out[0] // 2), -(-out[1] // 2)


def forward(x: np.ndarray, w: np.ndarray, b, pad, out: tuple) -> np.ndarray:
    """conv(x, w) + b as (N, O, *out) for x (N, C, H, W) zero-padded by ``pad``."""
    lib = _native.kernels()
    x = np.ascontiguousarray(x)
    n, c, h, wd = x.shape
    co = w.shape[0]
    th, tw = _tiles(out)
    u = np.empty((16, co, c), np.float32)
    _native.call("wino_filter", np.ascontiguousarray(w), u, co, c)
    y = np.empty((n, co) + tuple(out), np.float32)
    bias = None if b is None else np.ascontiguousarray(b, np.float32)
    xp, yp, bp = x.ctypes.data, y.ctypes.data, None if bias is None else bias.ctypes.data
    shape = (n, c, h, wd, pad[0][0], pad[1][0], th, tw)

    def run(share):
        bufs = _Buffers(c, co)
        for t0, cnt in share:
            (v, m), ((vp, vplane), (mp, mplane)) = bufs.get(cnt)
            _check(lib.wino_input(xp, vp, vplane, *shape, t0, cnt))
            np.matmul(u, v, out=m)
            _check(lib.wino_output(mp, mplane, yp, bp, co, out[0], out[1], th, tw, t0, cnt))

    parallel_for(run, _blocks(max(c, co), n * th * tw))
    return y


def weight(x: np.ndarray, g: np.ndarray, pad) -> np.ndarray:
    """The (O, C, 3, 3) weight gradient of the convolution of x (as in ``forward``) for the
    output gradient ``g`` (N, O, Ho, Wo)."""
    lib = _native.kernels()
    x, g = np.ascontiguousarray(x), np.ascontiguousarray(g)
    n, c, h, wd = x.shape
    co, ho, wo = g.shape[1:]
    th, tw = _tiles((ho, wo))
    xp, gp = x.ctypes.data, g.ctypes.data
    shape = (n, c, h, wd, pad[0][0], pad[1][0], th, tw)

    def run(share):
        bufs = _Buffers(c, co)
        du = np.zeros((16, co, c), np.float32)
        part = np.empty_like(du)
        for t0, cnt in share:
            (v, dm), ((vp, vplane), (dmp, dmplane)) = bufs.get(cnt)
            _check(lib.wino_input(xp, vp, vplane, *shape, t0, cnt))
            _check(lib.wino_grad(gp, dmp, dmplane, co, ho, wo, th, tw, t0, cnt))
            du += np.matmul(dm, v.transpose(0, 2, 1), out=part)  # (16, O, C)
        return du

    du = np.ascontiguousarray(sum(parallel_for(run, _blocks(max(c, co), n * th * tw))))
    gw = np.empty((co, c, 3, 3), np.float32)
    _native.call("wino_filter_grad", du, gw, co, c)
    return gw
