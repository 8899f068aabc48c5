"""Normalization layers and functions against PyTorch: values, gradients, double backward,
running statistics, modules (repr, state_dict) and errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from helpers import assert_close, check, check_raises, rand

import ember

torch.set_num_threads(1)  # tiny inputs: thread start-up would dominate

F32 = np.float32
F64 = np.float64
TOL = {F64: {}, F32: {"rtol": 1e-4, "atol": 1e-5}}


def _to_ember(t: torch.Tensor) -> ember.Tensor:
    return ember.tensor(t.detach().numpy())


def _double_backward(fn, *arrays, seed: int = 1, **tol) -> None:
    """Gradients of the gradients (create_graph=True) equal torch's."""
    rng = np.random.default_rng(seed)
    results = []
    for mod in (ember, torch):
        ins = [mod.from_numpy(a.copy()).requires_grad_(True) for a in arrays]
        out = fn(mod, *ins)
        w = mod.from_numpy(rng.standard_normal(tuple(out.shape)).astype(arrays[0].dtype))
        grads = mod.autograd.grad((out * w).sum(), ins, create_graph=True)
        v = [mod.from_numpy(np.random.default_rng(seed + i).standard_normal(a.shape)
                            .astype(a.dtype)) for i, a in enumerate(arrays)]
        total = sum((g * vi).sum() for g, vi in zip(grads, v))
        results.append((grads, mod.autograd.grad(total, ins, allow_unused=True)))
        rng = np.random.default_rng(seed)
    (eg, egg), (tg, tgg) = results
    for i, (e, t) in enumerate(zip(eg, tg)):
        assert_close(e, t.detach(), what=f"grad {i}", **tol)
    for i, (e, t) in enumerate(zip(egg, tgg)):
        if t is None:
            assert e is None or not np.any(e.detach().numpy()), f"grad-grad {i}: torch has none"
            continue
        assert_close(e, t, what=f"grad-grad {i}", **tol)


# ----------------------------------------------------------------------------- functional

@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (3, 3, 4, 5), (2, 3, 2, 3, 4)])
def test_batch_norm_training(dtype, shape):
    c = shape[1]
    check(lambda t, x, w, b: t.nn.functional.batch_norm(x, None, None, w, b, training=True),
          rand(*shape, dtype=dtype), rand(c, dtype=dtype, seed=1), rand(c, dtype=dtype, seed=2),
          **TOL[dtype])


@pytest.mark.parametrize("dtype", [F64, F32])
def test_batch_norm_running_stats_update(dtype):
    def fn(t, x, w, b):
        rm = t.from_numpy(rand(4, dtype=dtype, seed=3))
        rv = t.from_numpy(rand(4, dtype=dtype, seed=4, low=0.5, high=2.0))
        outs = [t.nn.functional.batch_norm(x * (i + 1), rm, rv, w, b, training=True,
                                           momentum=0.3, eps=1e-3) for i in range(3)]
        return outs + [rm, rv]

    check(fn, rand(6, 4, 5, dtype=dtype), rand(4, dtype=dtype, seed=1),
          rand(4, dtype=dtype, seed=2), **TOL[dtype])


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_eval(dtype, affine):
    def fn(t, x, rm, rv, w, b):
        return t.nn.functional.batch_norm(x, rm.detach(), rv.detach(), w if affine else None,
                                          b if affine else None, training=False, eps=1e-4)

    check(fn, rand(3, 4, 5, 2, dtype=dtype), rand(4, dtype=dtype, seed=1),
          rand(4, dtype=dtype, seed=2, low=0.5, high=2.0), rand(4, dtype=dtype, seed=3),
          rand(4, dtype=dtype, seed=4), **TOL[dtype])


def test_batch_norm_weight_only_and_bias_only():
    check(lambda t, x, w: t.nn.functional.batch_norm(x, None, None, w, training=True),
          rand(4, 3, 5), rand(3, seed=1))
    check(lambda t, x, b: t.nn.functional.batch_norm(x, None, None, None, b, training=True),
          rand(4, 3, 5), rand(3, seed=1))


def test_batch_norm_double_backward():
    _double_backward(lambda t, x, w, b: t.nn.functional.batch_norm(
        x, None, None, w, b, training=True), rand(4, 3, 5), rand(3, seed=1), rand(3, seed=2))
    _double_backward(lambda t, x, w, b: t.nn.functional.batch_norm(
        x, None, None, w, b, training=True) ** 2, rand(5, 2, 3, 2), rand(2, seed=1),
        rand(2, seed=2))


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("ns", [(6,), (5, 6)])
def test_layer_norm(dtype, ns):
    check(lambda t, x, w, b: t.nn.functional.layer_norm(x, ns, w, b, eps=1e-4),
          rand(3, 5, 6, dtype=dtype), rand(*ns, dtype=dtype, seed=1),
          rand(*ns, dtype=dtype, seed=2), **TOL[dtype])
    check(lambda t, x: t.nn.functional.layer_norm(x, list(ns)), rand(2, 5, 6, dtype=dtype),
          **TOL[dtype])


def test_layer_norm_double_backward():
    _double_backward(lambda t, x, w, b: t.nn.functional.layer_norm(x, (4,), w, b) ** 2,
                     rand(3, 4), rand(4, seed=1), rand(4, seed=2))


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("shape,groups", [((3, 6), 2), ((2, 6, 5), 2), ((2, 4, 3, 3), 4),
                                          ((2, 4, 3, 3), 1)])
def test_group_norm(dtype, shape, groups):
    c = shape[1]
    check(lambda t, x, w, b: t.nn.functional.group_norm(x, groups, w, b, eps=1e-4),
          rand(*shape, dtype=dtype), rand(c, dtype=dtype, seed=1), rand(c, dtype=dtype, seed=2),
          **TOL[dtype])


def test_group_norm_double_backward():
    _double_backward(lambda t, x, w, b: t.nn.functional.group_norm(x, 2, w, b).sin(),
                     rand(2, 4, 3), rand(4, seed=1), rand(4, seed=2))


@pytest.mark.parametrize("dtype", [F64, F32])
def test_instance_norm(dtype):
    check(lambda t, x, w, b: t.nn.functional.instance_norm(x, weight=w, bias=b, eps=1e-4),
          rand(2, 3, 5, 4, dtype=dtype), rand(3, dtype=dtype, seed=1),
          rand(3, dtype=dtype, seed=2), **TOL[dtype])

    def running(t, x):
        rm = t.zeros(3, dtype=x.dtype)
        rv = t.ones(3, dtype=x.dtype)
        a = t.nn.functional.instance_norm(x, rm, rv, momentum=0.2)
        b = t.nn.functional.instance_norm(x * 2, rm, rv, momentum=0.2)
        c = t.nn.functional.instance_norm(x, rm, rv, use_input_stats=False)
        return a, b, c, rm, rv

    check(running, rand(4, 3, 6, dtype=dtype), **TOL[dtype])


@pytest.mark.parametrize("dtype", [F64, F32])
def test_rms_norm(dtype):
    check(lambda t, x, w: t.nn.functional.rms_norm(x, (4, 5), w), rand(3, 4, 5, dtype=dtype),
          rand(4, 5, dtype=dtype, seed=1), **TOL[dtype])
    check(lambda t, x: t.nn.functional.rms_norm(x, [5], eps=0.1), rand(3, 5, dtype=dtype),
          **TOL[dtype])
    _double_backward(lambda t, x, w: t.nn.functional.rms_norm(x, (5,), w) ** 2,
                     rand(3, 5), rand(5, seed=1))


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("shape,size", [((2, 6, 5), 3), ((2, 5, 3, 4), 4), ((1, 4, 2, 2, 3), 2),
                                        ((2, 3, 4), 7)])
def test_local_response_norm(dtype, shape, size):
    check(lambda t, x: t.nn.functional.local_response_norm(x, size, alpha=0.5, beta=0.7, k=1.5),
          rand(*shape, dtype=dtype), **TOL[dtype])


def test_local_response_norm_double_backward():
    _double_backward(lambda t, x: t.nn.functional.local_response_norm(x, 3, alpha=0.5),
                     rand(2, 4, 3))


@pytest.mark.parametrize("dtype", [F64, F32])
def test_normalize(dtype):
    check(lambda t, x: t.nn.functional.normalize(x), rand(3, 4, 2, dtype=dtype), **TOL[dtype])
    check(lambda t, x: t.nn.functional.normalize(x, p=1.0, dim=-1, eps=0.5),
          rand(3, 4, dtype=dtype), **TOL[dtype])
    check(lambda t, x: t.nn.functional.normalize(x, p=3, dim=0), rand(3, 4, dtype=dtype),
          **TOL[dtype])


# ----------------------------------------------------------------------------- modules

def _pair(ctor, dtype):
    tm = ctor(torch.nn)
    em = ctor(ember.nn)
    if dtype == F64:
        tm, em = tm.double(), em.double()
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.from_numpy(rand(*p.shape, dtype=dtype, seed=p.numel())))
    em.load_state_dict({k: _to_ember(v) for k, v in tm.state_dict().items()})
    return em, tm


def _compare_modules(em, tm, x: np.ndarray, dtype, steps: int = 3) -> None:
    """Run several steps (train or eval as set), comparing outputs, grads and buffers."""
    for step in range(steps):
        xi = x * (step + 1) + step
        ex = ember.from_numpy(xi.copy()).requires_grad_(True)
        tx = torch.from_numpy(xi.copy()).requires_grad_(True)
        eo, to = em(ex), tm(tx)
        assert_close(eo, to.detach(), what=f"output step {step}", **TOL[dtype])
        w = np.random.default_rng(step).standard_normal(tuple(to.shape)).astype(dtype)
        (eo * ember.from_numpy(w)).sum().backward()
        (to * torch.from_numpy(w)).sum().backward()
        assert_close(ex.grad, tx.grad, what="input grad", **TOL[dtype])
        for (name, ep), tp in zip(em.named_parameters(), tm.parameters()):
            assert_close(ep.grad, tp.grad, what=f"grad of {name}", **TOL[dtype])
    eb, tb = dict(em.named_buffers()), dict(tm.named_buffers())
    assert list(eb) == list(tb)
    for name, t in tb.items():
        assert_close(eb[name], t, what=f"buffer {name}", **TOL[dtype])


BN_CASES = [
    ("BatchNorm1d", (6, 4)),
    ("BatchNorm1d", (5, 4, 3)),
    ("BatchNorm2d", (3, 4, 5, 2)),
    ("BatchNorm3d", (2, 4, 3, 2, 2)),
]


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("cls,shape", BN_CASES)
@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"affine": False},
                                    {"track_running_stats": False}, {"bias": False, "eps": 1e-3},
                                    {"momentum": 0.5}])
def test_batchnorm_modules_train_then_eval(dtype, cls, shape, kwargs):
    em, tm = _pair(lambda nn: getattr(nn, cls)(4, **kwargs), dtype)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    x = rand(*shape, dtype=dtype)
    _compare_modules(em, tm, x, dtype)
    em.eval()
    tm.eval()
    _compare_modules(em, tm, x, dtype, steps=1)
    if tm.num_batches_tracked is not None:
        assert em.num_batches_tracked.dtype == ember.int64
        assert int(em.num_batches_tracked) == int(tm.num_batches_tracked) == 3


def test_batchnorm_load_trained_torch_state():
    tm = torch.nn.BatchNorm2d(3).double()
    for i in range(4):
        tm(torch.from_numpy(rand(4, 3, 2, 2, seed=i)))
    tm.eval()
    em = ember.nn.BatchNorm2d(3).double()
    em.load_state_dict({k: _to_ember(v) for k, v in tm.state_dict().items()})
    em.eval()
    _compare_modules(em, tm, rand(2, 3, 4, 4, seed=9), F64, steps=1)
    assert int(em.num_batches_tracked) == 4


def test_batchnorm_eval_without_running_stats_uses_batch():
    em, tm = _pair(lambda nn: nn.BatchNorm1d(4, track_running_stats=False), F64)
    em.eval()
    tm.eval()
    _compare_modules(em, tm, rand(5, 4), F64, steps=1)


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (3, 4, 5)), ("InstanceNorm1d", (4, 5)),
                                       ("InstanceNorm2d", (2, 4, 3, 3)),
                                       ("InstanceNorm3d", (2, 4, 2, 3, 2))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True},
                                    {"affine": True, "track_running_stats": True,
                                     "momentum": 0.3}])
def test_instancenorm_modules(dtype, cls, shape, kwargs):
    em, tm = _pair(lambda nn: getattr(nn, cls)(4, **kwargs), dtype)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    x = rand(*shape, dtype=dtype)
    _compare_modules(em, tm, x, dtype)
    em.eval()
    tm.eval()
    _compare_modules(em, tm, x, dtype, steps=1)


def test_instancenorm_channel_mismatch():
    with pytest.warns(UserWarning, match="does not match num_features"):
        ember.nn.InstanceNorm1d(3)(ember.ones(2, 4, 5))
    with pytest.raises(ValueError, match="num_features"):
        ember.nn.InstanceNorm1d(3, affine=True)(ember.ones(2, 4, 5))


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("ctor,shape", [
    (lambda nn: nn.LayerNorm(6), (3, 6)),
    (lambda nn: nn.LayerNorm([4, 6], eps=1e-3), (2, 3, 4, 6)),
    (lambda nn: nn.LayerNorm(6, bias=False), (2, 5, 6)),
    (lambda nn: nn.LayerNorm(6, elementwise_affine=False), (2, 5, 6)),
    (lambda nn: nn.GroupNorm(2, 4), (3, 4, 5)),
    (lambda nn: nn.GroupNorm(4, 4, eps=1e-3, affine=False), (3, 4, 2, 2)),
    (lambda nn: nn.GroupNorm(1, 4, bias=False), (3, 4)),
    (lambda nn: nn.RMSNorm(6), (3, 6)),
    (lambda nn: nn.RMSNorm([2, 6], eps=1e-2, elementwise_affine=False), (3, 2, 6)),
    (lambda nn: nn.LocalResponseNorm(3), (2, 5, 4)),
    (lambda nn: nn.LocalResponseNorm(2, alpha=0.3, beta=0.5, k=2.0), (2, 5, 2, 3)),
])
def test_per_sample_modules(dtype, ctor, shape):
    em, tm = _pair(ctor, dtype)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    _compare_modules(em, tm, rand(*shape, dtype=dtype), dtype, steps=2)


def test_reprs():
    for ctor in (lambda nn: nn.BatchNorm2d(64), lambda nn: nn.LayerNorm(128),
                 lambda nn: nn.BatchNorm1d(3, momentum=None, affine=False),
                 lambda nn: nn.InstanceNorm2d(3), lambda nn: nn.GroupNorm(2, 6),
                 lambda nn: nn.RMSNorm((3, 4), eps=1e-6),
                 lambda nn: nn.LocalResponseNorm(5)):
        assert repr(ctor(ember.nn)) == repr(ctor(torch.nn))


def test_default_parameters_and_buffers():
    em, tm = ember.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    for (name, e), t in zip(em.state_dict().items(), tm.state_dict().values()):
        assert_close(e, t, what=name)
    em.running_mean.fill_(3)
    em.num_batches_tracked.fill_(7)
    em.reset_running_stats()
    assert float(em.running_mean.sum()) == 0 and int(em.num_batches_tracked) == 0
    em, tm = ember.nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3))
    for (name, e), t in zip(em.state_dict().items(), tm.state_dict().values()):
        assert_close(e, t, what=name)


# ----------------------------------------------------------------------------- errors

def test_errors():
    def fn(name):
        return lambda t: getattr(t.nn.functional, name)

    check_raises(lambda t, x: fn("batch_norm")(t)(x, None, None, training=True), rand(1, 3))
    check_raises(lambda t, x: fn("batch_norm")(t)(x, None, None, training=True), rand(1, 3, 1))
    check_raises(lambda t, x: fn("batch_norm")(t)(x, t.zeros(4, dtype=x.dtype),
                                                  t.ones(4, dtype=x.dtype), training=True),
                 rand(2, 3, 4))
    check_raises(lambda t, x, w: fn("batch_norm")(t)(x, None, None, w, training=True),
                 rand(2, 3, 4), rand(4))
    check_raises(lambda t, x: fn("batch_norm")(t)(x, None, None), rand(2, 3))
    check_raises(lambda t, x: fn("batch_norm")(t)(x, None, None, training=True), rand(3))
    check_raises(lambda t, x: fn("batch_norm")(t)(x, None, None, training=True),
                 rand(2, 3, dtype=np.int64))
    check_raises(lambda t, x, w: fn("batch_norm")(t)(x, None, None, w, training=True),
                 rand(2, 3, dtype=F32), rand(3))
    check_raises(lambda t, x: t.nn.BatchNorm1d(3)(x), rand(2, 3, 4, 5))
    check_raises(lambda t, x: t.nn.BatchNorm2d(3)(x), rand(2, 3, 4))
    check_raises(lambda t, x: t.nn.BatchNorm3d(3)(x), rand(2, 3, 4, 2))
    check_raises(lambda t, x: t.nn.BatchNorm1d(3)(x), rand(1, 3))
    check_raises(lambda t, x: fn("layer_norm")(t)(x, (4,)), rand(2, 3, 5))
    check_raises(lambda t, x: fn("layer_norm")(t)(x, 5), rand(2, 3, 5))
    check_raises(lambda t, x, w: fn("layer_norm")(t)(x, (5,), w), rand(2, 5), rand(4))
    check_raises(lambda t, x, b: fn("layer_norm")(t)(x, (5,), None, b), rand(2, 5), rand(4))
    check_raises(lambda t, x: fn("layer_norm")(t)(x, (3,)), rand(2, 3, dtype=np.int64))
    check_raises(lambda t, x: fn("rms_norm")(t)(x, (4,)), rand(2, 5))
    check_raises(lambda t, x, w: fn("rms_norm")(t)(x, (5,), w), rand(2, 5), rand(4))
    check_raises(lambda t, x: fn("group_norm")(t)(x, 4), rand(2, 6, 3))
    check_raises(lambda t, x: fn("group_norm")(t)(x, 2), rand(6))
    check_raises(lambda t, x, w: fn("group_norm")(t)(x, 2, w), rand(2, 6), rand(5))
    check_raises(lambda t: t.nn.GroupNorm(4, 6))
    check_raises(lambda t, x: fn("instance_norm")(t)(x), rand(2, 3, 1))
    check_raises(lambda t, x: fn("instance_norm")(t)(x, use_input_stats=False), rand(2, 3, 4))
    check_raises(lambda t, x: t.nn.InstanceNorm1d(3)(x), rand(2, 3, 4, 5))
    check_raises(lambda t, x: t.nn.InstanceNorm2d(3, affine=True)(x), rand(2, 4, 5, 5))
    check_raises(lambda t, x: fn("local_response_norm")(t)(x, 2), rand(2, 3))


def test_empty_batch_and_no_grad():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ember.nn.functional.layer_norm(ember.ones(0, 4), (4,))
        assert tuple(out.shape) == (0, 4)
    with ember.no_grad():
        m = ember.nn.BatchNorm1d(3)
        y = m(ember.from_numpy(rand(4, 3, dtype=F32)))
    assert y.grad_fn is None and int(m.num_batches_tracked) == 1


def test_load_state_dict_without_num_batches_tracked():
    """A checkpoint without num_batches_tracked loads (strict) and keeps the count, as torch."""
    for mod in (ember, torch):
        m = mod.nn.BatchNorm1d(3)
        m.num_batches_tracked.fill_(5)
        sd = {k: v for k, v in m.state_dict().items() if k != "num_batches_tracked"}
        result = m.load_state_dict(sd)
        assert not result.missing_keys and not result.unexpected_keys
        assert int(m.num_batches_tracked) == 5


def test_half_input_with_float_parameters():
    """Half inputs are normalized in float32 and keep their dtype; float parameters are allowed."""
    tol = {"rtol": 1e-2, "atol": 1e-2}
    x, w, b = rand(4, 8, dtype=np.float16), rand(8, dtype=F32, seed=1), rand(8, dtype=F32, seed=2)
    check(lambda t, x, w, b: t.nn.functional.layer_norm(x, (8,), w, b), x, w, b, **tol)
    check(lambda t, x, w, b: t.nn.functional.batch_norm(x, None, None, w, b, training=True),
          x, w, b, **tol)
    check(lambda t, x, w, b: t.nn.functional.batch_norm(x, w.detach() * 0, w.detach().abs(), w,
                                                        b), x, w, b, **tol)
    check(lambda t, x: t.nn.functional.group_norm(x, 2), rand(3, 4, 2, dtype=np.float16), **tol)
