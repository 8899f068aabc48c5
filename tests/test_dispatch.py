"""The fast paths of op dispatch and of backward without create_graph give PyTorch's results.

Backward without ``create_graph`` computes some gradients on arrays and lets ``.grad`` take a
gradient without copying when only the engine holds it; these tests pin what must not change:
values (nan and inf included), no two ``.grad`` sharing memory, and ``.grad`` never aliasing a
gradient that user code still holds.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

import ember
from tests.helpers import check

RNG = np.random.default_rng(0)


def _same_grads(fn, *arrays, create_graph: bool = False) -> None:
    """fn(t, *tensors) -> scalar; every input's .grad equals torch's."""
    grads = {}
    for mod in (ember, torch):
        ts = [mod.tensor(a, requires_grad=True) for a in arrays]
        fn(mod, *ts).backward(create_graph=create_graph)
        grads[mod] = [t.grad.detach().numpy() for t in ts]
    for e, r in zip(grads[ember], grads[torch]):
        np.testing.assert_allclose(e, r, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_relu_backward_passes_nan_and_inf_gradients_where_the_input_is_kept():
    x = np.array([-1.0, 0.0, 2.0, np.nan, 3.0, -0.0], dtype=np.float32)
    g = np.array([np.inf, np.nan, np.nan, 5.0, -np.inf, 1.0], dtype=np.float32)
    for mod in (ember, torch):
        t = mod.tensor(x, requires_grad=True)
        mod.relu(t).backward(mod.tensor(g))
        if mod is ember:
            got = t.grad.numpy()
    np.testing.assert_array_equal(got, t.grad.numpy())
    check(lambda t, x: t.relu(x), x)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_masked_gradients_keep_their_dtype(dtype):
    x = RNG.standard_normal((3, 4)).astype(dtype)
    check(lambda t, x: t.nn.functional.relu(x), x)
    check(lambda t, x: t.clamp(x, -0.5, 0.5), x)
    check(lambda t, x: t.nn.functional.hardtanh(x), x)


def test_broadcast_mul_div_and_matmul_gradients_without_create_graph():
    a = RNG.standard_normal((2, 3, 4))
    b = RNG.standard_normal((4,))
    m = RNG.standard_normal((4, 5))
    v = RNG.standard_normal((3,))
    _same_grads(lambda t, a, b: (a * b / (b + 3)).sum(), a, b)
    _same_grads(lambda t, a, m: (a @ m).pow(2).sum(), a, m)
    _same_grads(lambda t, a, b: (a @ b).sum(), a, b)
    _same_grads(lambda t, b, a: (b @ a.transpose(-1, -2)).sum(), b, a)
    _same_grads(lambda t, v: (v @ v) * 2, v)


def test_linear_gradients_for_1d_3d_and_scalar_bias_inputs():
    w = RNG.standard_normal((5, 4)).astype(np.float32)
    for x in (RNG.standard_normal(4), RNG.standard_normal((2, 3, 4))):
        x = x.astype(np.float32)
        for b in (RNG.standard_normal(5).astype(np.float32), np.float32(0.5)):
            _same_grads(lambda t, x, w, b: t.nn.functional.linear(x, w, b).pow(2).sum(),
                        x, w, np.asarray(b))


def test_gradients_reaching_two_leaves_do_not_share_memory():
    a = ember.ones(3, requires_grad=True)
    b = ember.ones(3, requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.add_(1)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_grad_does_not_alias_a_gradient_user_code_holds():
    a = ember.ones(3, requires_grad=True)
    seen = []
    a.register_hook(lambda g: seen.append(g))
    (a * 2).sum().backward()
    (a * 2).sum().backward()  # accumulates in place into a.grad
    assert a.grad.tolist() == [4.0, 4.0, 4.0]
    assert seen[0].tolist() == [2.0, 2.0, 2.0]

    g = ember.ones(3)
    a.grad = None
    (a * 1).backward(g)
    a.grad.add_(1)
    assert g.tolist() == [1.0, 1.0, 1.0]

    a.grad = None
    a.backward(g)
    a.grad.add_(1)
    assert g.tolist() == [1.0, 1.0, 1.0]


def test_grad_is_a_plain_writable_contiguous_tensor():
    w = ember.nn.Parameter(ember.ones(4, 3))
    (w @ ember.ones(3)).sum().backward()
    assert type(w.grad) is ember.Tensor and w.grad.is_contiguous()
    assert not w.grad.requires_grad and w.grad.grad_fn is None
    w.grad.zero_()
    assert w.grad.sum().item() == 0


def test_backward_leaves_grad_mode_as_it_was_even_when_it_raises():
    x = ember.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=False)
    with pytest.raises(RuntimeError):
        y.backward()
    assert ember.is_grad_enabled()
    with ember.no_grad():
        z = x * 3
    assert not z.requires_grad and ember.is_grad_enabled()


def test_second_order_gradients_still_build_a_graph():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    w = RNG.standard_normal((2, 4)).astype(np.float32)

    def f(t, x, w):
        y = t.relu(t.nn.functional.linear(x, w)).pow(2).sum()
        (gx,) = t.autograd.grad(y, x, create_graph=True)
        return (gx * gx).sum()

    _same_grads(f, x, w)


def test_import_keeps_the_namespace_and_loads_subpackages_on_first_use():
    nn = importlib.import_module("ember.nn")
    from ember import optim

    assert ember.nn is nn and ember.optim is optim and ember.optim.SGD is optim.SGD
    for name in ("nn", "optim", "utils", "datasets", "linalg", "testing", "transforms", "save",
                 "load", "Tensor", "relu", "float32"):
        assert name in dir(ember), name
    assert ember.utils.data.DataLoader is not None
    with pytest.raises(AttributeError):
        ember.not_a_name  # noqa: B018


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "asin",
                                  "acos", "atan", "sinh", "cosh", "tanh", "asinh", "atanh",
                                  "sigmoid", "erf", "erfc", "erfinv", "reciprocal", "expm1"])
def test_unary_gradients_with_and_without_create_graph(name):
    x = (RNG.uniform(0.1, 0.9, (3, 4))).astype(np.float32)
    _same_grads(lambda t, x: getattr(t, name)(x).sum(), x)

    def second(t, x):
        (gx,) = t.autograd.grad(getattr(t, name)(x).sum(), x, create_graph=True)
        return gx.sum()

    _same_grads(second, x)
