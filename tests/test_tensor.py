"""The Tensor's own attributes and conversions, against PyTorch."""
import copy
import warnings

import numpy as np
import pytest
import torch
from test_autograd import same

import ember


def test_size():
    def f(t):
        s = t.ones(2, 3, 4).shape
        return (repr(s), str(s), s[1:], repr(s[1:]), type(s[0]).__name__, s.numel(),
                repr(s + (5,)), repr((1,) + s), s == (2, 3, 4), repr(t.Size([2, 2])),
                repr(t.ones(()).shape), t.Size([2, 3]).numel(), isinstance(s, tuple), len(s))

    same(f)


def test_dims_and_counts():
    def f(t):
        x = t.ones(2, 3, 4)
        return (x.size(), x.size(1), x.size(-1), x.dim(), x.ndim, x.ndimension(), x.numel(),
                x.nelement(), t.ones(()).dim(), t.ones(0, 3).numel(), len(x))

    same(f)
    same(lambda t: t.ones(2, 3).size(2))
    same(lambda t: t.ones(2, 3).size(-3))


def test_dtype_device():
    def f(t):
        x = t.ones(2)
        return (str(x.dtype), repr(x.device), str(x.device), x.device.type, x.is_cuda,
                repr(t.device("cpu")), str(t.ones(2, dtype=t.int64).dtype))

    same(f)


def test_is_leaf_grad_fn_requires_grad():
    def f(t):
        x = t.ones(2, requires_grad=True)
        y = x * 2
        z = t.ones(2)
        return (x.is_leaf, y.is_leaf, z.is_leaf, x.grad_fn, y.grad_fn.name(), y.requires_grad,
                z.requires_grad, (z * 2).is_leaf, x.detach().is_leaf)

    same(f)


def test_nonleaf_grad_warns():
    for t in (ember, torch):
        y = t.ones(2, requires_grad=True) * 2
        with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
            assert y.grad is None
        y.retain_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert y.grad is None


def test_grad_setter():
    def f(t):
        x = t.ones(2, requires_grad=True)
        x.grad = t.full((2,), 3.0)
        g = x.grad
        (x * 2).sum().backward()
        return g, x.grad

    same(f)
    same(lambda t: setattr(t.ones(2, requires_grad=True), "grad", t.ones(3)))
    for t in (ember, torch):  # torch names the dtype in C++ ('double'), ember as torch.float64
        with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype"):
            t.ones(2, requires_grad=True).grad = t.ones(2, dtype=t.float64)
    same(lambda t: setattr(t.ones(2, requires_grad=True), "grad", [1.0, 2.0]))


def test_data_property():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        d = x.data
        d[0] = 5.0
        x.data = t.tensor([7.0, 8.0, 9.0])
        y = x * 2
        y.sum().backward()
        return d, d.requires_grad, x, x.grad, x.is_leaf, y.data.grad_fn, y.data.requires_grad

    same(f)


def test_transposes():
    def f(t, shape):
        x = t.arange(float(np.prod(shape))).reshape(shape).requires_grad_()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = x.T
        return y, y.grad_fn.name(), x.mT if len(shape) >= 2 else None

    for shape in ((2, 3), (2, 3, 4), (3,), ()):
        same(lambda t, shape=shape: f(t, shape))
    same(lambda t: t.ones(3).mT)
    same(lambda t: t.ones(2, 3, 4).mT.grad_fn)


def test_T_warns_off_matrices():
    x = ember.ones(2, 3, 4)
    with pytest.warns(UserWarning, match="dimension other than 2"):
        assert x.T.shape == (4, 3, 2)
    with pytest.warns(UserWarning, match="0-D tensors"):
        assert ember.tensor(1.0).T.shape == ()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ember.ones(2, 3).T.shape == (3, 2)


def test_item_tolist():
    def f(t):
        return (t.tensor(2.5).item(), t.tensor([[3]]).item(), t.tensor(True).item(),
                type(t.tensor(2).item()).__name__, t.tensor([[1, 2], [3, 4]]).tolist(),
                t.tensor(2.5).tolist(), t.tensor([1.5, 2.0]).tolist())

    same(f)
    same(lambda t: t.ones(2).item())


def test_numpy():
    def f(t):
        x = t.tensor([1, 2, 3])
        a = x.numpy()
        a[0] = 9
        return x, str(a.dtype), np.asarray(x).tolist(), np.asarray(t.ones(2)).dtype.name

    same(f)
    same(lambda t: t.ones(2, requires_grad=True).numpy())
    same(lambda t: np.asarray(t.ones(2, requires_grad=True)))
    same(lambda t: t.ones(2, requires_grad=True).detach().numpy().tolist())


def test_clone_detach_contiguous():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        c = x.clone()
        d = x.detach()
        d[1] = 7.0
        m = t.ones(2, 3).t()
        return (c.grad_fn.name(), c.requires_grad, x, d.requires_grad, x._version,
                m.is_contiguous(), m.contiguous().is_contiguous(), m.contiguous().shape)

    same(f)


def test_to_and_casts():
    def f(t):
        x = t.ones(3)
        i = t.ones(1, dtype=t.int64)
        return (x.to(t.float64), x.to("cpu") is x, x.to(i), x.to(x) is x,
                x.to("cpu", t.int32), str(x.to(t.device("cpu"), t.float16).dtype),
                x.to(copy=True) is x, x.to(t.float32, copy=True) is x, x.to(dtype=t.int8),
                x.cpu() is x, x.float() is x, x.double(), x.half(), x.long(), x.int(), x.short(),
                x.bool(), x.byte(), x.char())

    same(f)


def test_to_keeps_grad():
    def f(t):
        x = t.tensor([1.5, 2.5], requires_grad=True)
        y = x.to(t.float64)
        (y * y).sum().backward()
        return y.grad_fn is not None, x.grad, x.to(t.int64).requires_grad

    same(f)


def test_type_and_type_as():
    def f(t):
        x = t.ones(2)
        return (x.type(), t.ones(2, dtype=t.int64).type(), x.type("torch.IntTensor"),
                x.type(t.float64), x.type_as(t.ones(1, dtype=t.uint8)),
                t.ones(1, dtype=t.bool).type())

    same(f)
    same(lambda t: t.ones(2).type("torch.FooTensor"))


def test_python_protocols():
    def f(t):
        m = t.tensor([[1, 2], [3, 4]])
        return (len(m), list(m), [r.tolist() for r in m], bool(t.tensor([0.0])),
                bool(t.tensor(2)), float(t.tensor([2.5])), int(t.tensor([[3.7]])),
                int(t.tensor(-3.7)), list(range(t.tensor(3))), [10, 20, 30][t.tensor(1)],
                f"{t.tensor(1.2345):.2f}", f"{t.tensor(3)}", f"{t.ones(2)}",
                f"{t.tensor(7):>6}")

    same(f)


def test_contains_and_reversed():
    def f(t):
        m = t.tensor([[1, 2], [3, 4]])
        x = t.tensor([1.0, 2.0], requires_grad=True)
        return (2 in m, 5 in m, t.tensor(3) in m, t.tensor([1, 2]) in m, 2.0 in x, reversed(m),
                reversed(t.tensor(1.0)), reversed(x).grad_fn.name())

    same(f)
    same(lambda t: "a" in t.ones(2))


@pytest.mark.parametrize("expr", [
    lambda t: len(t.tensor(1.0)),
    lambda t: iter(t.tensor(1.0)),
    lambda t: bool(t.ones(2)),
    lambda t: bool(t.ones(0)),
    lambda t: float(t.ones(2)),
    lambda t: int(t.tensor([])),
    lambda t: [1, 2][t.tensor(1.0)],
    lambda t: [1, 2][t.tensor([0, 1])],
    lambda t: f"{t.ones(2):.2f}",
])
def test_python_protocol_errors(expr):
    same(expr)


def test_hash_by_identity():
    for t in (ember, torch):
        a, b = t.ones(2), t.ones(2)
        d = {a: "a", b: "b"}
        assert d[a] == "a" and d[b] == "b" and len({a, b, a}) == 2
        assert hash(a) == hash(a)


def test_deepcopy():
    def f(t):
        x = t.tensor([1.0, 2.0], requires_grad=True)
        x.grad = t.tensor([0.5, 0.5])
        c = copy.deepcopy(x)
        c.data[0] = 9.0
        pair = copy.deepcopy([x, x])
        return (c, c.grad, c.is_leaf, c.requires_grad, c is x, x, pair[0] is pair[1],
                copy.deepcopy(t.tensor([1, 2])))

    same(f)
    same(lambda t: copy.deepcopy(t.ones(2, requires_grad=True) * 2))
