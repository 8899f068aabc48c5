"""Convolutions computed block by block (ember.ops.conv's row blocks and tap-by-tap col2im).

The block size is shrunk so that small inputs go through every path: several row blocks in the
forward and the weight gradient, the row-block col2im (per-tap columns too large) and the
tap-by-tap one, the stride-1 input gradient as a convolution, with strides, dilations, groups, depthwise weights and 1-3 spatial dims.
"""
import numpy as np
import pytest

from ember.ops import conv
from tests.helpers import check

CASES = [
    ("conv1d", (3, 4, 23), (6, 2, 3), {"stride": 2, "padding": 2, "dilation": 2, "groups": 2}),
    ("conv2d", (2, 6, 11, 9), (4, 6, 3, 3), {"stride": 1, "padding": 1}),
    ("conv2d", (2, 4, 12, 10), (8, 1, 3, 3), {"stride": (2, 1), "padding": (1, 2), "groups": 4}),
    ("conv2d", (3, 3, 10, 10), (5, 3, 2, 4), {"stride": 3, "dilation": (2, 1)}),
    ("conv3d", (2, 2, 6, 5, 7), (3, 2, 3, 2, 3), {"stride": (1, 2, 1), "padding": 1}),
    ("conv2d", (2, 4, 9, 8), (4, 1, 3, 2), {"padding": (2, 1), "dilation": (2, 1), "groups": 4}),
    ("conv2d", (2, 6, 9, 8), (6, 3, 3, 3), {"padding": (0, 1), "groups": 2}),
]


@pytest.mark.parametrize("chunk", [64, 1 << 12, 1 << 30])
@pytest.mark.parametrize(("fn", "xs", "ws", "kw"), CASES)
def test_conv_blocks(monkeypatch, chunk, fn, xs, ws, kw):
    monkeypatch.setattr(conv, "_CHUNK_BYTES", chunk)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    check(lambda t, x, w: getattr(t.nn.functional, fn)(x, w, **kw), x, w, atol=1e-4)


@pytest.mark.parametrize("chunk", [64, 1 << 30])
@pytest.mark.parametrize("kw", [{"stride": 2, "padding": 1, "output_padding": 1},
                                {"padding": 1, "dilation": 2, "output_padding": 1},
                                {"padding": 3, "dilation": 2}, {"padding": 3}])
def test_conv_transpose_blocks(monkeypatch, chunk, kw):
    monkeypatch.setattr(conv, "_CHUNK_BYTES", chunk)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 7, 6)).astype(np.float32)
    w = rng.standard_normal((4, 5, 3, 3)).astype(np.float32)
    check(lambda t, x, w: t.nn.functional.conv_transpose2d(x, w, **kw), x, w, atol=1e-4)
