"""The Tensor and the engine: attributes, graph recording, backward, in-place rules."""

import numpy as np
import pytest
import torch
from helpers import check, check_raises, rand

import ember


def test_add_mul_grad():
    check(lambda t, a, b: a * b + a, rand(3, 4), rand(4))


def test_matmul_grad():
    check(lambda t, a, b: a @ b, rand(2, 3, 4), rand(4, 5))
    check(lambda t, a, b: a @ b, rand(4), rand(4, 5))
    check(lambda t, a, b: a @ b, rand(3, 4), rand(4))
    check(lambda t, a, b: a @ b, rand(4), rand(4))


def test_pow_grad():
    check(lambda t, a: a ** 2, rand(5))
    check(lambda t, a, b: a ** b, rand(5, low=0.1), rand(5))
    check(lambda t, a: 2.0 ** a, rand(5))


def test_sum_mean():
    x = rand(2, 3, 4)
    for dim in (None, 0, -1, (0, 2)):
        for keep in (False, True):
            if dim is None and keep:
                continue
            check(lambda t, a, dim=dim, keep=keep: a.sum(dim, keepdim=keep) if dim is not None else a.sum(), x)
            check(lambda t, a, dim=dim, keep=keep: a.mean(dim, keepdim=keep) if dim is not None else a.mean(), x)


def test_backward_nonscalar_error():
    check_raises(lambda t, a: (a * 2).backward(), rand(3))
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()


def test_no_grad_tensor_backward_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.ones(2).sum().backward()


def test_int_requires_grad_error():
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2], requires_grad=True)


def test_freed_graph_error():
    x = ember.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_accumulates():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_only_needed_grads():
    a = ember.ones(2, requires_grad=True)
    b = ember.ones(2, requires_grad=True)
    (ga,) = ember.autograd.grad((a * b).sum(), [a])
    assert b.grad is None and a.grad is None
    np.testing.assert_allclose(ga.numpy(), [1, 1])


def test_higher_order():
    x = ember.tensor(3.0, requires_grad=True)
    y = x ** 3
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    (g2,) = ember.autograd.grad(g, x)
    assert g.item() == 27.0 and g2.item() == 18.0


def test_inplace_leaf_error():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with ember.no_grad():
        x.add_(1)
    assert x._version == 1


def test_inplace_modified_saved_error():
    check_raises(lambda t, a: _modify_saved(t, a), rand(3))


def _modify_saved(t, a):
    a.requires_grad_(True)
    b = a * 2
    c = b * b
    b.add_(1)
    c.sum().backward()


def test_inplace_on_nonleaf_and_view():
    def f(t, a):
        b = a * 1
        b.mul_(a)
        v = b[1:]
        v.add_(a[:2] * 3)
        return b

    check(f, rand(3))


def test_view_shares_memory():
    x = ember.zeros(2, 3)
    v = x.view(6)
    v[0] = 5
    assert x[0, 0].item() == 5
    assert x._version == v._version == 1


def test_from_numpy_shares():
    a = np.zeros(3)
    t = ember.from_numpy(a)
    t[1] = 2
    assert a[1] == 2 and t.dtype == ember.float64


def test_dtype_inference_and_printing():
    assert repr(ember.tensor([1, 2, 3])) == repr(torch.tensor([1, 2, 3]))
    assert repr(ember.tensor([1.0, 2.0])) == repr(torch.tensor([1.0, 2.0]))
    assert str(ember.tensor([1.0]).shape) == str(torch.tensor([1.0]).shape)
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x + 1) == repr(torch.tensor([1.0, 2.0], requires_grad=True) + 1)


def test_hooks_and_retain_grad():
    def run(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        y.retain_grad()
        y.register_hook(lambda g: g * 2)
        (y * y).sum().backward()
        return x.grad, y.grad

    ex, ey = run(ember)
    tx, ty = run(torch)
    np.testing.assert_allclose(ex.numpy(), tx.numpy())
    np.testing.assert_allclose(ey.numpy(), ty.numpy())


def test_custom_function():
    class Square(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = ember.tensor([1.0, 3.0], requires_grad=True, dtype=ember.float64)
    Square.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 6.0])
    assert ember.autograd.gradcheck(Square.apply, (ember.randn(3, dtype=ember.float64, requires_grad=True),))
