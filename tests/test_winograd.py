"""Winograd F(2x2, 3x3) convolutions (ember/ops/winograd.py, ember/_ckernels.c) against torch.

The transforms reorder float32 arithmetic, so results differ from torch's direct convolution by
a few float32 roundings of the largest term: compared relative to the output's scale."""
import shutil

import numpy as np
import pytest
import torch

import ember
from ember.ops import conv, winograd

built = pytest.mark.skipif(not winograd.available(), reason="ember._ckernels not built")


def test_built_where_a_compiler_is():
    """pip builds the kernels wherever a C compiler is (CI's machine has one): a broken build
    must not pass as the NumPy fallback unnoticed."""
    if shutil.which("cc") or shutil.which("gcc"):
        assert winograd.available()


@pytest.fixture
def counted(monkeypatch):
    """How many convolutions and weight gradients ran through Winograd."""
    seen = {"forward": 0, "weight": 0}
    for name in seen:
        real = getattr(winograd, name)

        def wrapped(*a, _real=real, _name=name):
            seen[_name] += 1
            return _real(*a)

        monkeypatch.setattr(winograd, name, wrapped)
    return seen


def _close(ours, theirs, rtol=2e-6):
    theirs = theirs.detach().numpy()
    scale = max(float(np.abs(theirs).max()), 1e-30)
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=0, atol=rtol * 10 * scale)


def _compare(n, c, o, h, w, padding, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32) if bias else None
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(wt, requires_grad=True)
    ex, ew = ember.tensor(x, requires_grad=True), ember.tensor(wt, requires_grad=True)
    tb = eb = None
    if bias:
        tb, eb = torch.tensor(b, requires_grad=True), ember.tensor(b, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, tb, padding=padding)
    ey = ember.nn.functional.conv2d(ex, ew, eb, padding=padding)
    assert tuple(ey.shape) == tuple(ty.shape)
    _close(ey.detach().numpy(), ty)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    ty.backward(torch.tensor(g))
    ey.backward(ember.tensor(g))
    _close(ex.grad.numpy(), tx.grad)
    _close(ew.grad.numpy(), tw.grad)
    if bias:
        _close(eb.grad.numpy(), tb.grad)


@built
@pytest.mark.parametrize("n,c,o,h,w,padding", [
    (4, 16, 16, 8, 8, 1),      # even output: whole tiles
    (3, 16, 20, 7, 9, 1),      # odd output: the last tiles' halves dropped; O > C: col2im gx
    (2, 17, 16, 5, 6, 0),      # no padding, odd channels
    (1, 16, 16, 3, 3, 2),      # padding wider than the kernel's reach, one image
    (2, 16, 16, 1, 1, 1),      # a single output pixel
    (2, 32, 16, 8, 5, (0, 2)),  # padding per dim
    (2, 16, 24, 4, 70, 1),     # a tile row longer than one run of the kernels' scratch
])
def test_against_torch(counted, n, c, o, h, w, padding):
    _compare(n, c, o, h, w, padding, bias=(h + w) % 2 == 0)
    assert counted["forward"] >= 1 and counted["weight"] == 1


@built
@pytest.mark.parametrize("block_tiles", [1, 3, 7])
def test_blocks_that_split_tile_rows(monkeypatch, counted, block_tiles):
    """Blocks of any size: runs start and end inside tile rows and images."""
    monkeypatch.setattr(winograd, "_BLOCK_BYTES", 16 * 16 * 4 * block_tiles)
    _compare(3, 16, 16, 9, 11, 1, seed=block_tiles)
    assert counted["forward"] == 2 and counted["weight"] == 1


@built
@pytest.mark.parametrize("threads", [1, 2])
def test_threads_agree(threads):
    before = ember.get_num_threads()
    ember.set_num_threads(threads)
    try:
        _compare(8, 16, 32, 10, 10, 1, seed=threads)
    finally:
        ember.set_num_threads(before)


@built
def test_double_backward_through_winograd(counted):
    """A gradient penalty: the input gradient's own gradient runs the convolutions again."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 16, 6, 6)).astype(np.float32)
    wt = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    grads = []
    for lib in (torch, ember):
        tx, tw = lib.tensor(x, requires_grad=True), lib.tensor(wt, requires_grad=True)
        y = lib.nn.functional.conv2d(tx, tw, padding=1)
        (gx,) = lib.autograd.grad((y * y).sum(), tx, create_graph=True)
        (gx * gx).sum().backward()
        grads.append((tx.grad, tw.grad))
    (tgx, tgw), (egx, egw) = grads
    _close(egx.numpy(), tgx, rtol=1e-5)
    _close(egw.numpy(), tgw, rtol=1e-5)
    assert counted["forward"] >= 3 and counted["weight"] >= 1


def test_numpy_fallback_without_the_kernels(monkeypatch, counted):
    """Without the compiled module the same convolutions run as im2col, with torch's results."""
    monkeypatch.setattr(winograd, "available", lambda: False)
    _compare(3, 16, 20, 7, 9, 1)
    assert counted == {"forward": 0, "weight": 0}


@pytest.mark.parametrize("change", ["float64", "stride", "dilation", "groups", "kernel5",
                                    "few_in", "few_out", "conv1d"])
def test_where_it_does_not_apply(change):
    x = np.zeros((2, 16, 8, 8), np.float32)
    w = np.zeros((16, 16, 3, 3), np.float32)
    cfg = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    if change == "float64":
        x = x.astype(np.float64)
    elif change == "stride":
        cfg = ((2, 2),) + cfg[1:]
    elif change == "dilation":
        cfg = cfg[:2] + ((2, 2), 1)
    elif change == "groups":
        cfg = cfg[:3] + (2,)
        w = w[:, :8]
    elif change == "kernel5":
        w = np.zeros((16, 16, 5, 5), np.float32)
    elif change == "few_in":
        x, w = x[:, :8], w[:, :8]
    elif change == "few_out":
        w = w[:8]
    elif change == "conv1d":
        x, w, cfg = x[..., 0], w[..., 0], ((1,), ((1, 1),), (1,), 1)
    assert not winograd.applies(x, w, w.shape, cfg)


@built
def test_applies_to_the_resnet_shape():
    x = np.zeros((32, 64, 16, 16), np.float32)
    w = np.zeros((64, 64, 3, 3), np.float32)
    assert winograd.applies(x, w, w.shape, ((1, 1), ((1, 1), (1, 1)), (1, 1), 1))
    assert conv.winograd is winograd
