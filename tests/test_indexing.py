"""Indexing, setitem and the gather/scatter family against PyTorch: values, dtypes, grads, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from helpers import check, check_raises, rand

import ember

X = rand(3, 4, 5)
L = np.int64

# Index expressions as functions of the module (t = ember or torch), so tensors are built by each.
GETITEM = {
    "int": lambda t: 1,
    "neg_int": lambda t: -1,
    "int_int": lambda t: (2, -3),
    "int3": lambda t: (0, 1, 2),
    "slice": lambda t: slice(1, None),
    "slice_step": lambda t: (slice(None, None, 2), slice(1, 4, 2)),
    "slice_clamped": lambda t: (slice(-10, 10), slice(5, 1)),
    "none": lambda t: None,
    "none_mid": lambda t: (0, None, slice(None), None),
    "ellipsis": lambda t: (Ellipsis, 1),
    "ellipsis_mid": lambda t: (1, Ellipsis, None, 2),
    "empty_tuple": lambda t: (),
    "list": lambda t: [0, 2, 2],
    "list_neg": lambda t: [-1, 0],
    "nested_list": lambda t: ([[0, 1], [2, 2]],),
    "tensor": lambda t: t.tensor([2, 0, 2]),
    "tensor_int32": lambda t: t.tensor([1, 0], dtype=t.int32),
    "tensor_2d": lambda t: t.tensor([[0, 1], [1, 1]]),
    "numpy": lambda t: np.array([1, 2]),
    "numpy_bool": lambda t: np.array([True, False, True]),
    "tensor_0d": lambda t: t.tensor(1),
    "tensor_0d_mixed": lambda t: (t.tensor(0), slice(None), [0, 1]),
    "bool_0d_true": lambda t: t.tensor(True),
    "bool_0d_false": lambda t: t.tensor(False),
    "py_true": lambda t: True,
    "py_bool_mixed": lambda t: ([0, 1], True, [0, 1]),
    "mask_full": lambda t: t.tensor(X > 0),
    "mask_partial": lambda t: t.tensor(X[:, :, 0] > 0),
    "mask_dim1": lambda t: (slice(None), t.tensor([True, False, True, True])),
    "mask_list": lambda t: [True, False, True],
    "mask_and_int": lambda t: (t.tensor([True, False, True]), 1),
    "adv_adjacent": lambda t: (slice(None), [0, 1], [1, 2]),
    "adv_separated": lambda t: ([0, 1], slice(None), [1, 2]),
    "int_then_adv": lambda t: (0, slice(None), [0, 1]),
    "adv_int_adv": lambda t: ([0, 2], 1, [3, 4]),
    "adv_broadcast": lambda t: (t.tensor([[0], [2]]), slice(1, 3), t.tensor([1, 4, 0])),
    "none_adv": lambda t: (None, [0, 1], Ellipsis, 1),
    "adv_none_adv": lambda t: ([0, 1], None, [0, 1]),
    "ellipsis_adv": lambda t: (Ellipsis, [0, 1], slice(None, 3)),
    "list_as_tuple": lambda t: [t.tensor([0, 1]), t.tensor([1, 2])],
    "list_with_slice": lambda t: [0, slice(None), 1],
    "empty_list": lambda t: [],
    "empty_tensor": lambda t: t.tensor([], dtype=t.int64),
    "slice_tensor_bounds": lambda t: slice(t.tensor(1), t.tensor(3)),
}


@pytest.mark.parametrize("name", list(GETITEM))
def test_getitem(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(lambda t, x: x[GETITEM[name](t)], X)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, np.bool_])
def test_getitem_dtypes(dtype):
    check(lambda t, x: (x[1], x[:, [0, 2]], x[x.bool()]), rand(3, 4, dtype=dtype))


def test_getitem_uint8_mask_is_a_mask():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(lambda t, x: x[t.tensor([1, 0, 1], dtype=t.uint8)], X)


def test_getitem_0d():
    check(lambda t, x: (x[()], x[None], x[..., None], x[t.tensor(True)]), np.array(2.5))


def test_getitem_repeated_indices_accumulate_grad():
    check(lambda t, x: x[[0, 0, 2, 0]] * 2 + x[:, [1, 1]].sum(), X)


def test_getitem_is_a_view_sharing_version():
    for t in (ember, torch):
        x = t.zeros(3, 4)
        v = x[1:, ::2]
        v.add_(1)
        assert x.sum().item() == 4 and x._version == v._version == 1
        a = x[[0, 1]]
        a.add_(1)
        assert x.sum().item() == 4


def test_getitem_double_backward():
    def f(t, x):
        y = (x[[0, 2, 0]] ** 2).sum()
        (g,) = t.autograd.grad(y, [x], create_graph=True)
        return g[[0, 1]] * 3

    check(f, X)


GETITEM_ERRORS = {
    "int_oob": lambda t: 3,
    "neg_int_oob": lambda t: (0, -5),
    "list_oob": lambda t: [0, 3],
    "tensor_oob": lambda t: (slice(None), t.tensor([-5])),
    "neg_step": lambda t: slice(None, None, -1),
    "zero_step": lambda t: slice(None, None, 0),
    "too_many": lambda t: (0, 0, 0, 0),
    "float": lambda t: 1.0,
    "float_tensor": lambda t: t.tensor([1.0]),
    "int8_tensor": lambda t: t.tensor([1], dtype=t.int8),
    "mask_shape": lambda t: t.tensor([True, False]),
    "mask_shape_2d": lambda t: t.tensor([[True, False, True]]),
    "broadcast": lambda t: ([0, 1], [0, 1, 2]),
    "string": lambda t: "a",
}


@pytest.mark.parametrize("name", list(GETITEM_ERRORS))
def test_getitem_errors(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_raises(lambda t, x: x[GETITEM_ERRORS[name](t)], X)


def test_getitem_0d_errors():
    check_raises(lambda t, x: x[0], np.array(1.0))
    check_raises(lambda t, x: x[[0]], np.array(1.0))


# ---- setitem --------------------------------------------------------------------------------

SETITEM = {
    "int_scalar": (lambda t: 1, lambda t, v: 7.0),
    "int_tensor": (lambda t: 1, lambda t, v: v[1]),
    "slice_broadcast_row": (lambda t: (slice(None), 0), lambda t, v: v[0, 0]),
    "leading_ones": (lambda t: 0, lambda t, v: v[0].reshape(1, 1, 4, 5)),
    "step": (lambda t: (slice(None, None, 2), slice(1, None, 2)), lambda t, v: v[:2, :2]),
    "ellipsis": (lambda t: (Ellipsis, 2), lambda t, v: v[:, :, 0]),
    "none": (lambda t: (None, 1), lambda t, v: v[1]),
    "list": (lambda t: [0, 2], lambda t, v: v[:2] * 2),
    "tensor_broadcast": (lambda t: t.tensor([2, 0]), lambda t, v: v[0, 0]),
    "adv_pair": (lambda t: ([0, 1], slice(None), [1, 2]), lambda t, v: v[:2, :4, 0]),
    "int_then_adv": (lambda t: (0, slice(None), [0, 1]), lambda t, v: v[0, :, :2]),
    "mask_full": (lambda t: t.tensor(X > 0), -1.0),
    "mask_partial": (lambda t: t.tensor([True, False, True]), lambda t, v: v[1]),
    "mask_values": (lambda t: t.tensor(X > 1), lambda t, v: v[t.tensor(X > 1)]),
    "zero_dim_tensor": (lambda t: t.tensor(2), lambda t, v: v.sum()),
    "bool_true": (lambda t: True, lambda t, v: v * 3),
    "everything": (lambda t: Ellipsis, lambda t, v: v[0]),
    "other_dtype": (lambda t: 0, lambda t, v: v[0].float()),
}


def _setitem_fn(name):
    index, value = SETITEM[name]

    def fn(t, x, v):
        y = x * 1.0  # a non-leaf: setitem is recorded by autograd
        y[index(t)] = value(t, v) if callable(value) else value
        return y * 2

    return fn


@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_autograd(name):
    check(_setitem_fn(name), X, rand(3, 4, 5, seed=1))


@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_no_grad(name):
    index, value = SETITEM[name]

    def fn(t, x, v):
        with t.no_grad():
            x[index(t)] = value(t, v) if callable(value) else value
        return x, x._version

    check(fn, X, rand(3, 4, 5, seed=1), grad=False)


def test_setitem_leaf_value_requires_grad():
    def fn(t, v):
        x = t.zeros(3, 4, dtype=t.float64)
        x[1:, [0, 2]] = v[:2, :2]
        return x

    check(fn, rand(3, 4))


def test_setitem_view_of_non_leaf():
    def fn(t, x, v):
        y = x + 0
        w = y[1:]
        w[:, 0] = v[0, :2]
        return y, w

    check(fn, rand(3, 4), rand(3, 4, seed=2))


@pytest.mark.parametrize("dtype,value", [
    (np.int64, 1.7), (np.int32, -2.9), (np.uint8, -1), (np.bool_, 2.5), (np.float32, 3),
    (np.int64, True),
])
def test_setitem_scalar_casts(dtype, value):
    def fn(t, x):
        x[0] = value
        x[1, 0:2] = t.tensor(value)
        x[2, [0, 1]] = value
        return x

    check(fn, rand(3, 4, dtype=dtype), grad=False)


def test_setitem_tensor_value_casts():
    def fn(t, x, v):
        x[0] = v[0]
        return x

    check(fn, rand(3, 4, dtype=np.int64), rand(3, 4), grad=False)


def test_setitem_version():
    for t in (ember, torch):
        x = t.zeros(3)
        x[0] = 1
        x[[1, 2]] = t.tensor([2.0, 3.0])
        assert x._version == 2 and x.tolist() == [1.0, 2.0, 3.0]


SETITEM_ERRORS = {
    "leaf": lambda t, x: x.requires_grad_().__setitem__(0, 1.0),
    "view_of_leaf": lambda t, x: x.requires_grad_()[1:].__setitem__(0, 1.0),
    "shape": lambda t, x: x.__setitem__(0, t.ones(3)),
    "adv_shape": lambda t, x: x.__setitem__([0, 1], t.ones(3)),
    "list_value": lambda t, x: x.__setitem__(0, [1.0, 2.0, 3.0, 4.0]),
    "numpy_value": lambda t, x: x.__setitem__(0, np.ones(4)),
    "none_value": lambda t, x: x.__setitem__(0, None),
    "adv_dtype": lambda t, x: x.__setitem__((0, [1, 2]), t.tensor(1.0)),
    "oob": lambda t, x: x.__setitem__(5, 1.0),
    "neg_step": lambda t, x: x.__setitem__(slice(None, None, -1), 1.0),
}


@pytest.mark.parametrize("name", list(SETITEM_ERRORS))
def test_setitem_errors(name):
    check_raises(SETITEM_ERRORS[name], rand(3, 4))


# ---- gather / scatter family ----------------------------------------------------------------

IDX = np.array([[0, 3, 3], [1, 0, 2]], dtype=L)  # indexes dim 1 of a (3, 4) tensor


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select(dim):
    idx = np.array([2, 0, 2], dtype=L)
    check(lambda t, x, i: t.index_select(x, dim, i), rand(3, 4), idx)
    check(lambda t, x, i: x.index_select(dim, i.int()), rand(3, 4, dtype=np.float32), idx)
    check(lambda t, x: x.index_select(dim, t.tensor(1)), rand(3, 4))


def test_index_select_0d():
    check(lambda t, x: x.index_select(0, t.tensor([0])), np.array(2.0))


def test_gather():
    check(lambda t, x, i: t.gather(x, 1, i), rand(3, 4), IDX)
    check(lambda t, x, i: x.gather(0, i), rand(3, 4), np.array([[2, 0], [1, 1]], dtype=L))
    check(lambda t, x, i: x.gather(-1, i.int()), rand(3, 4, dtype=np.int32), IDX)


def test_gather_double_backward():
    def f(t, x, i):
        (g,) = t.autograd.grad((x.gather(1, i) ** 2).sum(), [x], create_graph=True)
        return g

    check(f, rand(3, 4), IDX)


def test_scatter():
    uniq = np.array([[0, 3, 1], [1, 0, 2]], dtype=L)
    check(lambda t, x, i, s: t.scatter(x, 1, i, s), rand(3, 4), uniq, rand(2, 3, seed=3))
    check(lambda t, x, i, s: t.scatter(x, 1, i, s), rand(3, 4), uniq, rand(2, 4, seed=3),
          grad=False)  # torch's backward rejects a src larger than index
    check(lambda t, x, i: x.scatter(1, i, 2.5), rand(3, 4), uniq)
    check(lambda t, x, i: x.scatter(1, i, value=-1), rand(3, 4, dtype=np.int64), uniq)
    check(lambda t, x, i, s: x.scatter(0, i, s), rand(3, 4),
          np.array([[0, 2], [1, 0]], dtype=L), rand(2, 2, seed=3))


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_arg(reduce):
    check(lambda t, x, i, s: t.scatter(x, 1, i, s, reduce=reduce), rand(3, 4), IDX,
          rand(2, 3, seed=3), grad=False)
    check(lambda t, x, i: x.scatter(1, i, 3.0, reduce=reduce), rand(3, 4), IDX, grad=False)


def test_scatter_add():
    check(lambda t, x, i, s: t.scatter_add(x, 1, i, s), rand(3, 4), IDX, rand(2, 3, seed=3))
    check(lambda t, x, i, s: t.scatter_add(x, 1, i, s), rand(3, 4), IDX, rand(2, 5, seed=3),
          grad=False)  # torch's backward rejects a src larger than index
    check(lambda t, x, i, s: x.scatter_add(1, i, s), rand(3, 4, dtype=np.int64), IDX,
          rand(2, 3, dtype=np.int64))


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    check(lambda t, x, i, s: t.scatter_reduce(x, 1, i, s, reduce, include_self=include_self),
          rand(3, 4), IDX, rand(2, 3, seed=5))
    check(lambda t, x, i, s: t.scatter_reduce(x, 1, i, s, reduce, include_self=include_self),
          rand(3, 4), IDX, rand(2, 4, seed=5), grad=False)
    check(lambda t, x, i, s: x.scatter_reduce(1, i, s, reduce, include_self=include_self),
          rand(3, 4, dtype=np.int64), IDX, rand(2, 4, dtype=np.int64, seed=5))
    check(lambda t, x, i, s: x.scatter_reduce(1, i, s, reduce, include_self=include_self),
          rand(3, 4, dtype=np.float32), IDX, rand(2, 3, dtype=np.float32, seed=5))


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax"])
def test_scatter_reduce_double_backward(reduce):
    def f(t, x, s, i):
        y = x.scatter_reduce(1, i, s, reduce, include_self=False)
        gx, gs = t.autograd.grad((y ** 2).sum(), [x, s], create_graph=True)
        return gx, gs

    check(f, rand(3, 4), rand(2, 3, seed=5), IDX)


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_and_zeros(include_self):
    x = np.array([[1.0, 0.0, 2.0, 2.0], [3.0, 3.0, 0.0, -1.0]])
    src = np.array([[2.0, 2.0, 0.0], [3.0, 0.0, 0.0]])
    idx = np.array([[0, 0, 1], [0, 2, 2]], dtype=L)
    for red in ("amax", "amin", "prod", "mean"):
        check(lambda t, a, i, s, r=red: a.scatter_reduce(1, i, s, r, include_self=include_self),
              x, idx, src)


def test_index_add():
    idx = np.array([0, 2, 0], dtype=L)
    check(lambda t, x, i, s: t.index_add(x, 1, i, s, alpha=2.5), rand(3, 4), idx, rand(3, 3))
    check(lambda t, x, i, s: x.index_add(0, i.int(), s), rand(3, 4), idx, rand(3, 4))
    check(lambda t, x, i, s: x.index_add(0, i, s, alpha=2.5), rand(3, 4, dtype=np.int64), idx,
          rand(3, 4, dtype=np.int64))


def test_index_copy_and_fill():
    idx = np.array([2, 0], dtype=L)
    check(lambda t, x, i, s: t.index_copy(x, 1, i, s), rand(3, 4), idx, rand(3, 2))
    check(lambda t, x, i: x.index_fill(1, i, -2.0), rand(3, 4), idx)
    check(lambda t, x, i: x.index_fill(0, i - 3, 7), rand(3, 4, dtype=np.int64), idx)
    check(lambda t, x, i, v: x.index_fill(1, i, v), rand(3, 4), idx, np.array(1.5))


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put(accumulate):
    rows, cols = np.array([0, 2, 2], dtype=L), np.array([1, 3, 3 if accumulate else 0], dtype=L)
    check(lambda t, x, r, c, v: t.index_put(x, (r, c), v, accumulate), rand(3, 4), rows, cols,
          rand(3, seed=4))
    check(lambda t, x, r, v: x.index_put((r,), v, accumulate=accumulate), rand(3, 4), rows[:2],
          rand(4, seed=4))
    check(lambda t, x, v: x.index_put((t.tensor([[True, False, True, False]] * 3),), v,
                                      accumulate), rand(3, 4), np.array(2.0))


def test_masked_fill():
    mask = rand(3, 4, dtype=np.bool_)
    check(lambda t, x, m: t.masked_fill(x, m, -1.5), rand(3, 4), mask)
    check(lambda t, x, m: x.masked_fill(m[0], 2), rand(3, 4, dtype=np.int64), mask)
    check(lambda t, x, m, v: x.masked_fill(m, v), rand(3, 4), mask, np.array(0.5))
    check(lambda t, x, m: x.masked_fill(m, t.tensor(3.0, dtype=t.float64)),
          rand(4, dtype=np.float32), mask)
    check(lambda t, x, m: x.masked_fill(m, 1.5), np.array(2.0), np.array(True))


def test_masked_select_and_scatter():
    mask = rand(3, 4, dtype=np.bool_)
    check(lambda t, x, m: t.masked_select(x, m), rand(3, 4), mask)
    check(lambda t, x, m: x.masked_select(m), rand(4), mask)
    check(lambda t, x, m, s: t.masked_scatter(x, m, s), rand(3, 4), mask, rand(20, seed=9))
    check(lambda t, x, m, s: x.masked_scatter(m[0], s), rand(3, 4), mask, rand(2, 6, seed=9))
    check(lambda t, x, m, s: x.masked_scatter(m, s), rand(4), mask, rand(3, 4, seed=9))


def test_take_put():
    idx = np.array([[0, -1], [11, 5]], dtype=L)
    check(lambda t, x, i: t.take(x, i), rand(3, 4), idx)
    flat = np.array([0, 11, 5], dtype=L)
    check(lambda t, x, i, s: t.put(x, i, s), rand(3, 4), flat, rand(3, seed=1))
    check(lambda t, x, i, s: x.put(i, s, accumulate=True), rand(3, 4),
          np.array([0, 0, -2], dtype=L), rand(3, seed=1))


@pytest.mark.parametrize("dim,idx", [
    (None, [[0, 11], [5, 5]]), (0, [[0, 2, 2, 1], [1, 1, 0, 0]]), (1, [[0, 2], [1, 1], [3, 0]]),
    (-1, [[3], [0], [1]]), (0, [[2], [0]]), (1, [[1, 3]]),
])
def test_take_along_dim(dim, idx):
    check(lambda t, x, i: t.take_along_dim(x, i, dim=dim), rand(3, 4), np.array(idx, L))
    check(lambda t, x, i: x.take_along_dim(i, 1), rand(1, 4), np.array([[1], [3]], L))


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 2), (0, 3)])
def test_nonzero_argwhere_where(shape):
    x = rand(*shape, dtype=np.int64, low=-1, high=1) if shape else np.array(3)
    check(lambda t, a: (t.nonzero(a), t.nonzero(a, as_tuple=True), t.argwhere(a), t.where(a),
                        a.nonzero(), a.argwhere()), x)
    check(lambda t, a: t.nonzero(a > 0), rand(*shape) if shape else np.array(-1.0), grad=False)


# ---- in-place forms, on non-leaf tensors under autograd ------------------------------------

INPLACE = {
    "index_add_": lambda t, y, s, i: y.index_add_(1, i[0, :2], s[:, :2], alpha=-1),
    "index_copy_": lambda t, y, s, i: y.index_copy_(1, t.tensor([3, 1]), s[:, :2]),
    "index_fill_": lambda t, y, s, i: y.index_fill_(0, i[1, :2], s[0, 0]),
    "index_put_": lambda t, y, s, i: y.index_put_((i[0], i[1]), s[0, :3]),
    "index_put_acc": lambda t, y, s, i: y.index_put_((i[0],), s[0], accumulate=True),
    "masked_fill_": lambda t, y, s, i: y.masked_fill_(s > 0, 0.5),
    "masked_scatter_": lambda t, y, s, i: y.masked_scatter_(s > 0, s * 3),
    "scatter_": lambda t, y, s, i: y.scatter_(1, t.tensor([[2, 0], [1, 3]]), s[:2, :2]),
    "scatter_value_": lambda t, y, s, i: y.scatter_(1, i, 4.0),
    "scatter_add_": lambda t, y, s, i: y.scatter_add_(1, i, s[:2, :3]),
    "scatter_reduce_": lambda t, y, s, i: y.scatter_reduce_(1, i, s[:2, :3], "amax",
                                                                include_self=False),
    "put_": lambda t, y, s, i: y.put_(i[0], s[1, :3], accumulate=True),
    "setitem_view": lambda t, y, s, i: y[1:].__setitem__((slice(None), [0, 1]), s[:2, :2]),
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_non_leaf(name):
    def fn(t, x, s, i):
        y = x * 2
        out = INPLACE[name](t, y, s, i)
        assert out is None or out is y
        return y, y._version

    check(fn, rand(3, 4), rand(3, 4, seed=8), np.array([[0, 2, 2], [1, 0, 1]], dtype=L))


@pytest.mark.parametrize("name", ["index_add_", "masked_fill_", "scatter_", "put_"])
def test_inplace_leaf_error(name):
    check_raises(lambda t, x, s, i: INPLACE[name](t, x.requires_grad_(), s, i), rand(3, 4),
                 rand(3, 4, seed=8), np.array([[0, 2, 2], [1, 0, 1]], dtype=L))


def test_inplace_masked_fill_broadcast_error():
    check_raises(lambda t, x, m: x[0].masked_fill_(m, 1.0), rand(3, 4), rand(3, 4, dtype=np.bool_))


# ---- error types of the ops -----------------------------------------------------------------

I2 = np.array([[0, 1]], dtype=L)
OP_ERRORS = {
    "index_select_oob": lambda t, x: x.index_select(1, t.tensor([0, 4])),
    "index_select_neg": lambda t, x: x.index_select(1, t.tensor([-1])),
    "index_select_float": lambda t, x: x.index_select(1, t.tensor([0.0])),
    "index_select_2d": lambda t, x: x.index_select(1, t.tensor([[0]])),
    "index_select_dim": lambda t, x: x.index_select(2, t.tensor([0])),
    "gather_oob": lambda t, x: x.gather(1, t.tensor([[0, 4]])),
    "gather_neg": lambda t, x: x.gather(1, t.tensor([[-1]])),
    "gather_ndim": lambda t, x: x.gather(1, t.tensor([0])),
    "gather_size": lambda t, x: x.gather(1, t.zeros(4, 2, dtype=t.int64)),
    "gather_float": lambda t, x: x.gather(1, t.tensor([[0.0]])),
    "gather_dim": lambda t, x: x.gather(5, t.tensor([[0]])),
    "scatter_src_small": lambda t, x: x.scatter(1, t.zeros(2, 2, dtype=t.int64), t.ones(1, 6)),
    "scatter_dtype": lambda t, x: x.scatter(1, t.tensor(I2), t.ones(1, 2, dtype=t.float32)),
    "scatter_oob": lambda t, x: x.scatter(1, t.tensor([[9]]), 1.0),
    "scatter_reduce_name": lambda t, x: x.scatter(1, t.tensor(I2), 1.0, reduce="mean"),
    "scatter_add_dtype": lambda t, x: x.scatter_add(1, t.tensor(I2), t.ones(1, 2)),
    "scatter_reduce_bad": lambda t, x: x.scatter_reduce(1, t.tensor(I2), x, "maximum"),
    "index_add_oob": lambda t, x: x.index_add(0, t.tensor([0, 3]), t.ones(2, 4).double()),
    "index_add_shape": lambda t, x: x.index_add(0, t.tensor([0, 1]), t.ones(2, 5).double()),
    "index_add_dtype": lambda t, x: x.index_add(0, t.tensor([0, 1]), t.ones(2, 4)),
    "index_add_float": lambda t, x: x.index_add(0, t.tensor([0.0]), t.ones(1, 4).double()),
    "index_copy_oob": lambda t, x: x.index_copy(0, t.tensor([0, 3]), t.ones(2, 4).double()),
    "index_copy_count": lambda t, x: x.index_copy(0, t.tensor([0, 1]), t.ones(3, 4).double()),
    "index_fill_oob": lambda t, x: x.index_fill(0, t.tensor([3]), 1.0),
    "index_fill_int32": lambda t, x: x.index_fill(0, t.tensor([0], dtype=t.int32), 1.0),
    "index_fill_value": lambda t, x: x.index_fill(0, t.tensor([0]), t.tensor([1.0, 2.0])),
    "index_put_dtype": lambda t, x: t.index_put(x, (t.tensor([0]),), t.tensor(1.0)),
    "index_put_oob": lambda t, x: t.index_put(x, (t.tensor([3]),), t.tensor(1.0).double()),
    "index_put_float": lambda t, x: t.index_put(x, (t.tensor([0.0]),), t.tensor(1.0).double()),
    "index_put_many": lambda t, x: t.index_put(x, (t.tensor([0]),) * 3, t.tensor(1.0).double()),
    "index_put_shape": lambda t, x: t.index_put(x, (t.tensor([0, 1]),), t.ones(3).double()),
    "index_put_none": lambda t, x: t.index_put(x, (t.tensor([0]), None), t.tensor(1.0).double()),
    "masked_fill_long_mask": lambda t, x: x.masked_fill(t.tensor([1, 0, 1, 0]), 1.0),
    "masked_fill_shape": lambda t, x: x.masked_fill(t.tensor([True, False, True]), 1.0),
    "masked_fill_value": lambda t, x: x.masked_fill(t.ones(4, dtype=t.bool), t.ones(2)),
    "masked_select_mask": lambda t, x: x.masked_select(t.ones(3, 4, dtype=t.uint8)),
    "masked_scatter_few": lambda t, x: x.masked_scatter(t.ones(4, dtype=t.bool),
                                                        t.ones(5).double()),
    "masked_scatter_dtype": lambda t, x: x.masked_scatter(t.ones(4, dtype=t.bool), t.ones(12)),
    "take_oob": lambda t, x: x.take(t.tensor([12])),
    "take_int32": lambda t, x: x.take(t.tensor([1], dtype=t.int32)),
    "take_empty": lambda t, x: x[:0].take(t.tensor([0])),
    "put_oob": lambda t, x: x.put(t.tensor([-13]), t.tensor([1.0]).double()),
    "put_count": lambda t, x: x.put(t.tensor([1, 2]), t.tensor([1.0]).double()),
    "put_dtype": lambda t, x: x.put(t.tensor([1]), t.tensor([1.0])),
    "take_along_int32": lambda t, x: x.take_along_dim(t.tensor([[0]], dtype=t.int32), 1),
    "take_along_ndim": lambda t, x: x.take_along_dim(t.tensor([0]), 1),
    "take_along_shape": lambda t, x: x.take_along_dim(t.tensor([[0], [1]]), 1),
}


@pytest.mark.parametrize("name", list(OP_ERRORS))
def test_op_errors(name):
    check_raises(OP_ERRORS[name], rand(3, 4))


def test_scatter_with_reduce_has_no_derivative():
    check_raises(lambda t, x, i: t.autograd.grad(x.scatter(1, i, 2.0, reduce="add").sum(), [x]),
                 rand(3, 4), IDX)


def test_error_messages_name_the_problem():
    x = ember.zeros(3, 4)
    with pytest.raises(IndexError, match="out of bounds for dimension 1 with size 4"):
        x[:, [0, 4]]
    with pytest.raises(RuntimeError, match=r"gather\(\).*index 7"):
        x.gather(1, ember.tensor([[7]]))
    with pytest.raises(RuntimeError, match=r"shape mismatch.*\[3\].*\[2, 4\]"):
        x[[0, 1]] = ember.ones(3)
