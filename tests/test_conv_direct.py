"""The direct convolution for few input taps (ember/ops/conv_direct.py, ember/_ckernels.c)
against torch: forward values (its gradients keep im2col, checked too), where it applies."""
import numpy as np
import pytest
import torch

import ember
from ember.ops import conv_direct

built = pytest.mark.skipif(conv_direct._native.kernels() is None,
                           reason="ember._ckernels not built")


@pytest.fixture
def counted(monkeypatch):
    seen = []
    real = conv_direct.forward
    monkeypatch.setattr(conv_direct, "forward", lambda *a: seen.append(1) or real(*a))
    return seen


@built
@pytest.mark.parametrize("n,c,o,h,w,k,padding", [
    (64, 1, 6, 28, 28, 5, 2),   # LeNet's first layer
    (3, 3, 8, 9, 11, 3, 1),     # RGB, odd sizes
    (1, 1, 4, 5, 5, 3, 0),      # one image, no padding
    (2, 2, 3, 6, 7, (4, 3), (1, 2)),
    (5, 1, 2, 3, 40, 1, 0),     # 1x1 kernel, rows longer than a block
    (2, 1, 3, 30, 30, 5, 0),    # outputs spanning several 64-output blocks
])
@pytest.mark.parametrize("threads", [1, 2])
def test_against_torch(counted, n, c, o, h, w, k, padding, threads):
    before = ember.get_num_threads()
    ember.set_num_threads(threads)
    try:
        rng = np.random.default_rng(n * 100 + h)
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        kk = (k, k) if isinstance(k, int) else k
        wt = rng.standard_normal((o, c) + kk).astype(np.float32)
        b = rng.standard_normal(o).astype(np.float32)
        res = []
        for lib in (torch, ember):
            tx, tw, tb = (lib.tensor(a, requires_grad=True) for a in (x, wt, b))
            y = lib.nn.functional.conv2d(tx, tw, tb, padding=padding)
            y.backward(lib.tensor(np.ones(tuple(y.shape), np.float32)))
            res.append([y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()])
        for want, got in zip(*res):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
        assert counted == [1]
    finally:
        ember.set_num_threads(before)


@built
def test_non_finite_inputs_like_torch(counted):
    """inf and NaN reach exactly the outputs torch's reach (the dropped columns computed past
    the row's end never leak into kept ones)."""
    x = np.zeros((2, 1, 8, 8), np.float32)
    x[0, 0, 3, 7] = np.inf
    x[1, 0, 0, 0] = np.nan
    w = np.ones((2, 1, 3, 3), np.float32)
    got = ember.nn.functional.conv2d(ember.tensor(x), ember.tensor(w)).numpy()
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_array_equal(got, want)
    assert counted == [1]


def test_where_it_does_not_apply(counted):
    x = np.zeros((2, 2, 8, 8), np.float32)
    cfg = ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert not conv_direct.applies(x, np.zeros((4, 2, 5, 5), np.float32), cfg)  # 50 taps
    assert not conv_direct.applies(x.astype(np.float64), np.zeros((4, 2, 3, 3)), cfg)
    assert not conv_direct.applies(x, np.zeros((4, 2, 3, 3), np.float32),
                                   ((2, 2),) + cfg[1:])
    ember.nn.functional.conv2d(ember.zeros(2, 2, 8, 8), ember.zeros(4, 2, 5, 5))
    assert counted == []
