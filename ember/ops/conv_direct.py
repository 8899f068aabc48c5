"""Direct convolution, forward only, for convolutions with few input taps (C * kh * kw <= 32:
a first layer on 1 or 3 channels), float32, 2-D, stride 1.

im2col would copy the input once per tap into a patch matrix with as few rows as taps, and
BLAS is far from its peak on a product with so few rows and output channels.  Here each
output is accumulated tap by tap straight from a zero-padded copy of the input
(``ember/_ckernels.c``): outputs are laid out on the padded width, so each tap is one long run
of contiguous loads, and a block of 64 outputs stays in registers across all taps.  Images
are shared among the threads.  (The gradients keep im2col: computed the same way, the dropped
columns' products would reach the weight gradient, and 0 * inf there is NaN.)
"""
from __future__ import annotations

import math

import numpy as np

from ember import _native
from ember._parallel import parallel_for, workers

_MAX_TAPS = 32
_SLACK = 64 + 64  # floats after the padded input: the last block may read past its end


def applies(x, w, cfg) -> bool:
    """Whether conv(x, w) with ``cfg`` runs here."""
    stride, pad, dil, groups = cfg
    return (isinstance(x, np.ndarray) and x.dtype == np.float32 and w.dtype == np.float32
            and x.ndim == 4 and stride == (1, 1) and dil == (1, 1) and groups == 1
            and all(lo >= 0 and hi >= 0 for lo, hi in pad)
            and math.prod(w.shape[1:]) <= _MAX_TAPS and _native.kernels() is not None)


def _padded(x: np.ndarray, pad) -> np.ndarray:
    """x zero-padded to (N, C, Hp, Wp), in a buffer with ``_SLACK`` zeros after it (the
    kernel's last block reads up to 63 + kw - 1 floats past the last plane)."""
    n, c, h, w = x.shape
    hp = h + pad[0][0] + pad[0][1]
    wp = w + pad[1][0] + pad[1][1]
    buf = np.zeros(n * c * hp * wp + _SLACK, np.float32)
    xp = buf[:n * c * hp * wp].reshape(n, c, hp, wp)
    xp[:, :, pad[0][0]:pad[0][0] + h, pad[1][0]:pad[1][0] + w] = x
    return xp


def _shares(n: int) -> list:
    step = -(-n // workers())
    return [(i, min(n, i + step)) for i in range(0, n, step)]


def forward(x: np.ndarray, w: np.ndarray, b, pad, out: tuple) -> np.ndarray:
    """conv(x, w) + b as (N, O, *out)."""
    xp = _padded(x, pad)
    n, c, hp, wp = xp.shape
    co, _, kh, kw = w.shape
    w = np.ascontiguousarray(w)
    bias = None if b is None else np.ascontiguousarray(b, np.float32)
    y = np.empty((n, co) + tuple(out), np.float32)

    def run(share):
        for n0, n1 in share:
            _native.call("conv_direct", xp, w, bias, y, c, hp, wp, co, kh, kw, out[0], out[1],
                         n0, n1)

    parallel_for(run, _shares(n))
    return y
