"""Pooling and resampling against PyTorch: values, indices, gradients, reprs and errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import check, check_raises, rand

import ember

F64_32 = [np.float64, np.float32]


def _ties(*shape):
    """Small integers as floats: many equal values inside a window."""
    return np.round(rand(*shape, low=-1.5, high=1.5)).astype(np.float64)


MAX_POOL = [
    (lambda t, x: t.nn.functional.max_pool2d(x, 2), (2, 3, 6, 6)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True), (2, 3, 7, 6)),
    (lambda t, x: t.nn.functional.max_pool2d(x, (3, 2), (2, 1), (1, 1), dilation=(1, 2),
                                             ceil_mode=True, return_indices=True), (2, 3, 8, 9)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 3, 2, ceil_mode=True, return_indices=True),
     (3, 8, 8)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 2, 1, 1, dilation=2), (1, 2, 5, 7)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 2, stride=[]), (1, 2, 5, 4)),
    (lambda t, x: t.nn.functional.max_pool2d_with_indices(x, 2, 3, ceil_mode=True), (2, 2, 8, 7)),
    (lambda t, x: t.nn.functional.max_pool1d(x, 3, 2, 1, return_indices=True), (2, 3, 9)),
    (lambda t, x: t.nn.functional.max_pool1d(x, 2, ceil_mode=True, return_indices=True), (3, 7)),
    (lambda t, x: t.nn.functional.max_pool3d(x, 2, 1, 1, return_indices=True), (2, 2, 4, 5, 3)),
    (lambda t, x: t.nn.functional.max_pool3d(x, (1, 2, 3), ceil_mode=True), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("dtype", F64_32)
@pytest.mark.parametrize("case", range(len(MAX_POOL)))
def test_max_pool(case, dtype):
    fn, shape = MAX_POOL[case]
    check(fn, rand(*shape, dtype=dtype))


@pytest.mark.parametrize("case", range(len(MAX_POOL)))
def test_max_pool_ties_route_to_first(case):
    fn, shape = MAX_POOL[case]
    check(fn, _ties(*shape))


def test_max_pool_integer_and_empty_batch():
    check(lambda t, x: t.nn.functional.max_pool2d(x, 2, 1, 1, return_indices=True),
          np.arange(32).reshape(1, 2, 4, 4) % 7)
    check(lambda t, x: t.nn.functional.max_pool2d(x, 2), rand(0, 2, 4, 4))


def test_max_pool_double_backward():
    x = rand(2, 2, 5, 5)
    for mod in (ember, torch):
        t = (mod.from_numpy if mod is ember else torch.from_numpy)(x.copy()).requires_grad_()
        y = mod.nn.functional.max_pool2d(t, 3, 2, 1)
        (g,) = mod.autograd.grad((y ** 2).sum(), t, create_graph=True)
        (gg,) = mod.autograd.grad((g ** 3).sum(), t)
        if mod is ember:
            e = (g.detach().numpy(), gg.numpy())
        else:
            np.testing.assert_allclose(e[0], g.detach().numpy(), rtol=1e-12)
            np.testing.assert_allclose(e[1], gg.numpy(), rtol=1e-12)


AVG_POOL = [
    (lambda t, x: t.nn.functional.avg_pool2d(x, 2), (2, 3, 6, 6)),
    (lambda t, x: t.nn.functional.avg_pool2d(x, 3, 2, 1), (2, 3, 7, 6)),
    (lambda t, x: t.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                             count_include_pad=False), (2, 3, 8, 6)),
    (lambda t, x: t.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True), (2, 3, 8, 6)),
    (lambda t, x: t.nn.functional.avg_pool2d(x, 2, 3, ceil_mode=True), (3, 8, 7)),
    (lambda t, x: t.nn.functional.avg_pool2d(x, (3, 2), 1, (1, 0), divisor_override=5),
     (2, 3, 8, 6)),
    (lambda t, x: t.nn.functional.avg_pool1d(x, 4, 3, 2, ceil_mode=True,
                                             count_include_pad=False), (2, 3, 9)),
    (lambda t, x: t.nn.functional.avg_pool1d(x, 3), (3, 10)),
    (lambda t, x: t.nn.functional.avg_pool3d(x, 2, 1, 1), (2, 2, 4, 5, 3)),
    (lambda t, x: t.nn.functional.avg_pool3d(x, (1, 2, 3), ceil_mode=True,
                                             count_include_pad=False), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("dtype", F64_32)
@pytest.mark.parametrize("case", range(len(AVG_POOL)))
def test_avg_pool(case, dtype):
    fn, shape = AVG_POOL[case]
    check(fn, rand(*shape, dtype=dtype))


def test_avg_pool_integer_truncates():
    check(lambda t, x: t.nn.functional.avg_pool2d(x, 2, 1, 1),
          (np.arange(32) - 15).reshape(1, 2, 4, 4))


def test_avg_pool_double_backward():
    x = rand(2, 2, 5, 5)
    res = []
    for mod in (ember, torch):
        t = mod.from_numpy(x.copy()).requires_grad_()
        y = mod.nn.functional.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False)
        (g,) = mod.autograd.grad((y ** 2).sum(), t, create_graph=True)
        (gg,) = mod.autograd.grad((g ** 3).sum(), t)
        res.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)


ADAPTIVE = [
    (lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (3, None)), (2, 3, 7, 6)),
    (lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (4, 5)), (2, 3, 7, 6)),
    (lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, 1), (3, 7, 6)),
    (lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (9, 8)), (2, 3, 7, 6)),
    (lambda t, x: t.nn.functional.adaptive_avg_pool1d(x, 4), (2, 3, 10)),
    (lambda t, x: t.nn.functional.adaptive_avg_pool1d(x, 3), (3, 10)),
    (lambda t, x: t.nn.functional.adaptive_avg_pool3d(x, (2, 3, 1)), (2, 2, 5, 7, 3)),
    (lambda t, x: t.nn.functional.adaptive_max_pool2d(x, (4, 5), return_indices=True),
     (2, 3, 7, 6)),
    (lambda t, x: t.nn.functional.adaptive_max_pool2d(x, (9, None), return_indices=True),
     (3, 7, 6)),
    (lambda t, x: t.nn.functional.adaptive_max_pool2d(x, 1), (2, 3, 7, 6)),
    (lambda t, x: t.nn.functional.adaptive_max_pool1d(x, 4, return_indices=True), (2, 3, 10)),
    (lambda t, x: t.nn.functional.adaptive_max_pool3d(x, (2, 3, 2), return_indices=True),
     (2, 2, 5, 7, 3)),
]


@pytest.mark.parametrize("dtype", F64_32)
@pytest.mark.parametrize("case", range(len(ADAPTIVE)))
def test_adaptive_pool(case, dtype):
    fn, shape = ADAPTIVE[case]
    check(fn, rand(*shape, dtype=dtype))


@pytest.mark.parametrize("case", range(7, len(ADAPTIVE)))
def test_adaptive_max_pool_ties(case):
    fn, shape = ADAPTIVE[case]
    check(fn, _ties(*shape))


def test_adaptive_pool_empty_output():
    check(lambda t, x: t.nn.functional.adaptive_max_pool2d(x, (0, 3), return_indices=True),
          rand(2, 3, 7, 6), grad=False)
    check(lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (0, 3)), rand(2, 3, 7, 6),
          grad=False)


MODULES = [
    ("MaxPool1d(3, 2)", (2, 3, 9)),
    ("MaxPool2d(2)", (2, 3, 6, 6)),
    ("MaxPool2d((3, 2), stride=(2, 1), padding=1, dilation=(1, 2), ceil_mode=True)",
     (2, 3, 8, 9)),
    ("MaxPool2d(3, 2, return_indices=True)", (3, 7, 7)),
    ("MaxPool3d((1, 2, 2))", (1, 2, 3, 4, 4)),
    ("AvgPool1d(3, 2, 1)", (2, 3, 9)),
    ("AvgPool2d(2)", (2, 3, 6, 6)),
    ("AvgPool2d((2, 3), stride=1, padding=(1, 0), ceil_mode=True, count_include_pad=False)",
     (2, 3, 6, 6)),
    ("AvgPool2d(3, divisor_override=2)", (2, 3, 6, 6)),
    ("AvgPool3d(2, 1, 1)", (1, 2, 3, 4, 4)),
    ("AdaptiveAvgPool1d(4)", (2, 3, 10)),
    ("AdaptiveAvgPool2d((None, 3))", (2, 3, 5, 7)),
    ("AdaptiveAvgPool3d(2)", (1, 2, 3, 4, 5)),
    ("AdaptiveMaxPool1d(3)", (2, 3, 10)),
    ("AdaptiveMaxPool2d(2, return_indices=True)", (2, 3, 5, 7)),
    ("AdaptiveMaxPool3d((None, 2, 3))", (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("dtype", F64_32)
@pytest.mark.parametrize(("spec", "shape"), MODULES)
def test_modules(spec, shape, dtype):
    em, tm = eval("ember.nn." + spec), eval("torch.nn." + spec)
    assert repr(em) == repr(tm)
    assert em.state_dict().keys() == tm.state_dict().keys()
    check(lambda t, x: (em if t is ember else tm)(x), rand(*shape, dtype=dtype))


ERRORS = [
    (lambda t, x: t.nn.functional.max_pool2d(x, 2, padding=2), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 2), (1, 1, 1, 1)),
    (lambda t, x: t.nn.functional.avg_pool2d(x, 2), (1, 1, 1, 1)),
    (lambda t, x: t.nn.functional.avg_pool2d(x, 3, padding=2), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 2), (4, 4)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 0), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 2, stride=0), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 2, dilation=0), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.max_pool2d(x, (2, 2, 2)), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.max_pool2d(x, 2), (1, 0, 4, 4)),
    (lambda t, x: t.nn.functional.max_pool1d(x, 2), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.avg_pool1d(x, 2), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.avg_pool2d(x, 2, divisor_override=0), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, (2, 2, 2)), (1, 1, 4, 4)),
    (lambda t, x: t.nn.functional.adaptive_avg_pool2d(x, 2), (4, 4)),
    (lambda t, x: t.nn.functional.adaptive_max_pool2d(x, 2), (1, 0, 4, 4)),
    (lambda t, x: t.nn.functional.max_pool2d(x > 0, 2), (1, 1, 4, 4)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors(case):
    fn, shape = ERRORS[case]
    check_raises(fn, rand(*shape))


def test_output_too_small_message():
    with pytest.raises(RuntimeError, match="Output size is too small"):
        ember.nn.functional.max_pool2d(ember.zeros(1, 1, 1, 1), 2)
