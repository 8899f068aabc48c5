"""The normalizations' compiled per-channel kernels (ember/_ckernels.c through ember/ops/norm.py)
and their NumPy fallback, both against torch: batch, layer, group and instance norm, float32,
values, running statistics and gradients of input, weight and bias."""
import numpy as np
import pytest
import torch

import ember
from ember import _native

PATHS = ["compiled", "numpy"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    """Run the test on the compiled kernels (counting their calls) or on NumPy alone."""
    calls = {"n": 0}
    if request.param == "numpy":
        monkeypatch.setattr(_native, "takes", lambda *a: False)
    else:
        if _native.kernels() is None:
            pytest.skip("ember._ckernels not built")
        real = _native.call

        def counted(name, *args):
            calls["n"] += name.startswith(("norm_", "affine_", "layer_norm_"))
            return real(name, *args)

        monkeypatch.setattr(_native, "call", counted)
    return request.param, calls


def _close(ours, theirs, atol=2e-5):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-4,
                               atol=atol)


CASES = {
    "batch_norm2d": (lambda m, c: m.nn.BatchNorm2d(c), (8, 16, 5, 7)),
    "batch_norm1d_3d": (lambda m, c: m.nn.BatchNorm1d(c), (4, 16, 40)),
    "batch_norm_no_affine": (lambda m, c: m.nn.BatchNorm2d(c, affine=False), (4, 16, 6, 6)),
    "layer_norm": (lambda m, c: m.nn.LayerNorm([c, 24]), (6, 16, 24)),
    "layer_norm_no_bias": (lambda m, c: m.nn.LayerNorm(21, bias=False), (5, 16, 21)),
    "layer_norm_no_affine": (lambda m, c: m.nn.LayerNorm(7, elementwise_affine=False),
                             (3, 16, 7)),
    "group_norm": (lambda m, c: m.nn.GroupNorm(4, c), (3, 16, 6, 6)),
    "instance_norm": (lambda m, c: m.nn.InstanceNorm2d(c, affine=True), (3, 16, 6, 6)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_against_torch(path, case):
    make, shape = CASES[case]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 1.5).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    mods = []
    for lib in (torch, ember):
        mod = make(lib, shape[1])
        prng = np.random.default_rng(1)
        for p in mod.parameters():  # weights and biases away from 1 and 0
            p.data = lib.tensor(prng.standard_normal(tuple(p.shape)).astype(np.float32))
        xt = lib.tensor(x, requires_grad=True)
        y = mod(xt)
        y.backward(lib.tensor(g))
        mods.append((mod, xt, y))
    (tm, tx, ty), (em, ex, ey) = mods
    _close(ey, ty)
    _close(ex.grad, tx.grad)
    for tp, ep in zip(tm.parameters(), em.parameters()):
        _close(ep.grad, tp.grad)
    for name in ("running_mean", "running_var"):
        if getattr(tm, name, None) is not None:
            _close(getattr(em, name), getattr(tm, name))
    kind, calls = path
    if kind == "compiled":
        assert calls["n"] >= 2  # the statistics forward and backward at least


def test_large_offset_keeps_precision(path):
    """Two-pass statistics: a mean 1e4 times the spread does not cancel the variance away
    (float32 holds such inputs to 1e-3, the tolerance; one pass of sums of squares would be
    off by the whole spread)."""
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((16, 16, 8, 8)) + 1e4).astype(np.float32)
    ey = ember.nn.functional.batch_norm(ember.tensor(x), None, None, training=True)
    ty = torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True)
    _close(ey, ty, atol=5e-3)


def test_double_backward_still_goes_through_the_graph(path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 16, 5, 5)).astype(np.float32)
    out = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.batch_norm(xt, None, None, training=True)
        (gx,) = lib.autograd.grad((y ** 3).sum(), xt, create_graph=True)
        (gx * gx).sum().backward()
        out.append(xt.grad)
    _close(out[1], out[0])


def test_non_contiguous_input_and_gradient(path):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 16, 7, 4)).astype(np.float32)
    res = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.batch_norm(xt.transpose(2, 3), None, None, training=True)
        y.transpose(0, 2).sum(0).pow(2).sum().backward()
        res.append((y, xt.grad))
    _close(res[1][0], res[0][0])
    _close(res[1][1], res[0][1])


def test_layer_norm_large_offset_and_double_backward(path):
    """Layer norm's statistics are two-pass too; its fused op's backward, when it must be
    differentiable, replays the two-op form and matches torch's second derivatives."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 5, 40)).astype(np.float32)
    w = rng.standard_normal(40).astype(np.float32)
    out = []
    for lib in (torch, ember):
        y = lib.nn.functional.layer_norm(lib.tensor(x + np.float32(1e4)), (40,))
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        z = lib.nn.functional.layer_norm(xt, (40,), wt, None)
        (gx,) = lib.autograd.grad((z ** 3).sum(), xt, create_graph=True)
        (gx * gx).sum().backward()
        out.append((y, z, xt.grad, wt.grad))
    (ty, tz, tgx, tgw), (ey, ez, egx, egw) = out
    _close(ey, ty, atol=5e-3)
    _close(ez, tz)
    for ours, theirs in ((egx, tgx), (egw, tgw)):  # sums of terms up to 1e5: float32 rounding
        _close(ours, theirs, atol=1e-5 * float(theirs.abs().max()))


def test_layer_norm_non_contiguous_and_name(path):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 9, 16)).astype(np.float32)
    g = rng.standard_normal((9, 6, 16)).astype(np.float32)
    res = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        ln = lib.nn.LayerNorm(16)
        y = ln(xt.transpose(0, 1))
        y.backward(lib.tensor(g).transpose(0, 1).contiguous().transpose(0, 1))
        res.append((y, xt.grad, ln.weight.grad, ln.bias.grad))
    for ours, theirs in zip(res[1], res[0]):
        _close(ours, theirs)
    if path[0] == "compiled":
        assert res[1][0].grad_fn.name() == res[0][0].grad_fn.name()
