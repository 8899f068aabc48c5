"""Reductions, cumulative ops and sorting/selection, compared with PyTorch (values, dtypes, grads)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import check as _check
from helpers import check_raises, rand

import ember

SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
FLOATS = [np.float64, np.float32]


def check(fn, *inputs, **kwargs):
    """``helpers.check`` with NumPy scalars (what 0-d arithmetic gives) turned into 0-d arrays."""
    return _check(fn, *[np.asarray(i) if isinstance(i, np.generic) else i for i in inputs],
                  **kwargs)


def _rand(*shape, **kwargs) -> np.ndarray:
    """``rand`` that gives a 0-d array (not a NumPy scalar) for shape ()."""
    return np.asarray(rand(*shape, **kwargs))


def _dims(shape, tuples: bool = True):
    """None, first and last dim, and (for ndim >= 2) a tuple of dims."""
    out = [None, 0, -1]
    if tuples and len(shape) >= 2:
        out += [(0, -1)]
    if tuples and len(shape) >= 3:
        out += [(1, 2), (0, 1, 2)]
    return out


def _cases(tuples: bool = True, none: bool = True):
    return [(s, d) for s in SHAPES for d in _dims(s, tuples) if none or d is not None]


def _distinct(*shape, dtype=np.float64, seed=0):
    """Values without ties, so that index outputs are unambiguous."""
    n = int(np.prod(shape))
    rng = np.random.default_rng(seed + n)
    return np.asarray((rng.permutation(n).reshape(shape) * 0.5 - n / 4).astype(dtype))


def _ties(*shape, dtype=np.float64, seed=0):
    """Few distinct values, so that ties are everywhere."""
    return _rand(*shape, dtype=dtype, seed=seed, low=-2, high=2).round().astype(dtype)


# ---- sum, mean, prod, nansum, nanmean --------------------------------------------------------


@pytest.mark.parametrize("shape,dim", _cases())
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
def test_sum_mean(shape, dim, keepdim, dtype):
    x = _rand(*shape, dtype=dtype)
    check(lambda t, a: t.sum(a, dim, keepdim) if dim is not None else t.sum(a), x)
    check(lambda t, a: a.mean(dim, keepdim) if dim is not None else a.mean(), x)
    check(lambda t, a: t.nansum(a, dim, keepdim) if dim is not None else t.nansum(a), x)
    check(lambda t, a: t.nanmean(a, dim, keepdim) if dim is not None else t.nanmean(a), x)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_sum_int_bool(dtype):
    x = rand(3, 4, dtype=dtype)
    check(lambda t, a: (a.sum(), a.sum(1), t.sum(a, (0, 1), keepdim=True)), x)
    check(lambda t, a: (a.prod(), a.prod(0), t.nansum(a, 1)), x)
    check(lambda t, a: (a.sum(dtype=t.float64), a.prod(1, dtype=t.float32)), x)


def test_mean_dtype():
    check(lambda t, a: t.mean(a, dtype=t.float64), rand(3, 4, dtype=np.int64))
    check(lambda t, a: a.mean(1, dtype=t.float64), rand(3, 4, dtype=np.float32))


def test_nan_sum_mean():
    x = rand(3, 4)
    x[0, 1] = x[2, :] = np.nan
    check(lambda t, a: (t.nansum(a), t.nansum(a, 1), t.nanmean(a, 0), t.nanmean(a, 1)), x)


@pytest.mark.parametrize("shape,dim", _cases(tuples=False))
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod(shape, dim, keepdim):
    x = _rand(*shape, low=0.5, high=1.5)
    check(lambda t, a: t.prod(a, dim, keepdim) if dim is not None else t.prod(a), x)


@pytest.mark.parametrize("zeros", [[(0, 1)], [(0, 1), (1, 2)], [(0, 1), (0, 3)], [(1, 0), (2, 0)]])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_grad_with_zeros(zeros, dim):
    x = rand(3, 4)
    for z in zeros:
        x[z] = 0
    check(lambda t, a: t.prod(a, dim) if dim is not None else a.prod(), x)


def test_prod_double_backward_with_zero():
    res = []
    for t in (ember, torch):
        a = t.tensor([2.0, 0.0, 3.0, 5.0], dtype=t.float64, requires_grad=True)
        (g,) = t.autograd.grad(a.prod(), a, create_graph=True)
        (gg,) = t.autograd.grad(g.sum(), a)
        res.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])


# ---- max, min, amax, amin, argmax, argmin, aminmax -------------------------------------------


@pytest.mark.parametrize("shape,dim", _cases(tuples=False))
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("fn", ["max", "min"])
def test_max_min(shape, dim, keepdim, fn):
    x = _distinct(*shape)
    if dim is None:
        check(lambda t, a: getattr(t, fn)(a), x)
    else:
        check(lambda t, a: getattr(t, fn)(a, dim, keepdim), x)
        check(lambda t, a: getattr(a, fn)(dim=dim, keepdim=keepdim), x)
        check(lambda t, a: getattr(t, "arg" + fn)(a, dim, keepdim), x, grad=False)
    check(lambda t, a: getattr(t, "arg" + fn)(a), x, grad=False)
    check(lambda t, a: getattr(t, "arg" + fn)(a, keepdim=True), x, grad=False)


@pytest.mark.parametrize("shape,dim", _cases())
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
def test_amax_amin(shape, dim, keepdim, dtype):
    x = _ties(*shape, dtype=dtype)
    d = () if dim is None else dim
    check(lambda t, a: (t.amax(a, d, keepdim), a.amin(d, keepdim)), x)
    if not isinstance(dim, tuple):
        check(lambda t, a: tuple(t.aminmax(a, dim=dim, keepdim=keepdim)), x)


def test_max_min_ties():
    """Ties: the first index with a dim; the gradient shared evenly without one."""
    x = _ties(4, 6)
    check(lambda t, a: (a.max(1), a.min(0), a.argmax(1), a.argmin(0), a.argmax()), x)
    check(lambda t, a: (a.max(), a.min()), x)
    check(lambda t, a: a.amax((0, 1)), x)


def test_max_min_int_bool():
    x = rand(3, 4, dtype=np.int64)
    check(lambda t, a: (a.max(), a.min(1), a.amax(0), a.argmax(1), t.aminmax(a)), x)
    b = rand(3, 4, dtype=np.bool_)
    check(lambda t, a: (a.max(), a.min(1), a.amax(0), t.aminmax(a, dim=1)), b)


def test_max_min_nan():
    x = rand(3, 4)
    x[0, 1] = x[0, 3] = x[2, 2] = np.nan
    check(lambda t, a: (a.max(1), a.min(1), a.argmax(1), a.argmin(0), a.argmax()), x)
    check(lambda t, a: a.max(), x)
    check(lambda t, a: a.amax(1), x)


def test_max_elementwise():
    x, y = rand(3, 4), rand(3, 4, seed=1)
    check(lambda t, a, b: (t.max(a, b), a.min(b)), x, y)


def test_return_types():
    x = ember.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    r = x.max(1)
    values, indices = r
    assert r.values is values and r.indices is indices and r[0] is values
    assert isinstance(r, tuple) and type(r).__name__ == "max"
    assert indices.tolist() == [1, 0]
    assert repr(r) == repr(torch.tensor(x.tolist()).max(1))
    assert t_repr(ember.aminmax(x)) == t_repr(torch.aminmax(torch.tensor(x.tolist())))
    for name in ("sort", "topk", "kthvalue", "median", "mode", "cummax"):
        e = getattr(ember.return_types, name)
        assert e._fields == ("values", "indices")
    s = x.sort()
    assert s.values.tolist() == [[1.0, 2.0, 5.0], [0.0, 3.0, 7.0]]


def t_repr(r):
    return repr(r).replace("ember", "torch")


# ---- var, std --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape,dim", [(s, d) for s, d in _cases() if s != ()])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("correction,dtype", [(None, np.float64), (0, np.float64),
                                              (2, np.float64), (None, np.float32)])
def test_var_std(shape, dim, keepdim, correction, dtype):
    x = _rand(*shape, dtype=dtype)
    check(lambda t, a: (t.var(a, dim, keepdim=keepdim, correction=correction),
                        t.std(a, dim, keepdim=keepdim, correction=correction)), x)
    check(lambda t, a: t.var_mean(a, dim, keepdim=keepdim, correction=correction), x)
    check(lambda t, a: t.std_mean(a, dim, keepdim=keepdim, correction=correction), x)


def test_var_std_unbiased_and_edge_cases():
    x = rand(3, 4)
    check(lambda t, a: (a.var(1, False), a.std(0, True, True), t.var(a, False), a.std(False)), x)
    check(lambda t, a: (a.var(unbiased=False), t.std(a, dim=1, unbiased=True)), x)
    c = np.ones((2, 3))
    check(lambda t, a: (a.std(1), a.var(0)), c)  # zero std: gradient 0, not NaN
    with np.errstate(all="ignore"):
        check(lambda t, a: a.var(), rand(1))  # one element, correction 1: NaN
    check(lambda t, a: a.std(0), rand(1))


# ---- norm, logsumexp -------------------------------------------------------------------------


@pytest.mark.parametrize("p", [2, 1, math.inf, -math.inf, 0, 3, 0.5, -1.5, "fro"])
@pytest.mark.parametrize("shape,dim", _cases())
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm(p, shape, dim, keepdim):
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:
        return
    x = _distinct(*shape) + 0.3  # no zeros, no ties in |x|
    check(lambda t, a: t.norm(a, p, dim, keepdim), x)
    if not keepdim:
        check(lambda t, a: a.norm(p=p, dim=dim), x.astype(np.float32))


def test_norm_zero_vector_and_ties():
    x = np.array([[1.0, -3.0, 3.0], [0.0, 0.0, 0.0]])
    for p in [2, 1, math.inf, 3, 0.5, -1.5, "fro"]:
        check(lambda t, a, p=p: t.norm(a, p, 1), x)
    check(lambda t, a: (t.norm(a), a.norm(dtype=t.float64)), x.astype(np.float32))


def test_norm_nuclear():
    check(lambda t, a: t.norm(a, "nuc"), _rand(3, 4))
    check(lambda t, a: a.norm(p="nuc", dim=(0, 2), keepdim=True), _rand(2, 3, 4))


@pytest.mark.parametrize("shape,dim", _cases(none=False))
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
def test_logsumexp(shape, dim, keepdim, dtype):
    check(lambda t, a: t.logsumexp(a, dim, keepdim), _rand(*shape, dtype=dtype))


def test_logsumexp_stable_and_int():
    x = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, -np.inf, -np.inf]])
    check(lambda t, a: a.logsumexp(1), x, grad=False)
    check(lambda t, a: a.logsumexp(1), np.array([[1000.0, 999.0], [-1000.0, -1001.0]]))
    check(lambda t, a: t.logsumexp(a, 0), rand(5, dtype=np.int64))


# ---- cumulative ops --------------------------------------------------------------------------


@pytest.mark.parametrize("shape,dim", _cases(tuples=False, none=False))
@pytest.mark.parametrize("dtype", FLOATS)
def test_cumulative(shape, dim, dtype):
    x = _rand(*shape, dtype=dtype, low=0.5, high=1.5)
    check(lambda t, a: (t.cumsum(a, dim), a.cumprod(dim), t.logcumsumexp(a, dim)), x)
    y = _ties(*shape, dtype=dtype)
    check(lambda t, a: (t.cummax(a, dim), a.cummin(dim)), y)


def test_cumulative_dtypes():
    for dt in (np.int64, np.int32, np.bool_):
        x = rand(3, 4, dtype=dt)
        check(lambda t, a: (a.cumsum(1), a.cumprod(0), t.cummax(a, 1), a.cummin(0)), x)
    x = rand(3, 4)
    # float32 accumulation: torch's backward sums in another order
    check(lambda t, a: (a.cumsum(1, dtype=t.float32), t.cumprod(a, 0, dtype=t.float32)), x,
          rtol=1e-6, atol=1e-6)
    check(lambda t, a: a.cumsum(0, dtype=t.float64), rand(4, dtype=np.int64))


@pytest.mark.parametrize("zeros", [[1], [0], [3], [1, 3], [0, 4]])
def test_cumprod_grad_with_zeros(zeros):
    x = rand(3, 5)
    x[0, zeros] = 0
    x[2, zeros[-1]] = 0
    check(lambda t, a: (a.cumprod(1), t.cumprod(a, 0)), x)


def test_cumprod_double_backward_with_zero():
    res = []
    for t in (ember, torch):
        a = t.tensor([2.0, 0.0, 3.0, 0.5], dtype=t.float64, requires_grad=True)
        w = t.tensor([1.0, -2.0, 0.5, 3.0], dtype=t.float64)
        (g,) = t.autograd.grad((a.cumprod(0) * w).sum(), a, create_graph=True)
        (gg,) = t.autograd.grad((g * w).sum(), a)
        res.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])


def test_logcumsumexp_stable():
    x = np.array([[-1000.0, 0.0, 1000.0, 999.0], [5.0, -np.inf, 3.0, 700.0]])
    check(lambda t, a: a.logcumsumexp(1), x)


def test_cummax_nan():
    x = np.array([1.0, 3.0, 3.0, 2.0, np.nan, 5.0, np.nan, 7.0])
    check(lambda t, a: (a.cummax(0), a.cummin(0)), x)


def test_cumulative_inplace():
    check(lambda t, a: a.clone().cumsum_(1), rand(3, 4))


# ---- all, any, count_nonzero -----------------------------------------------------------------


@pytest.mark.parametrize("shape,dim", _cases())
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", [np.bool_, np.float64, np.int64, np.uint8])
def test_all_any(shape, dim, keepdim, dtype):
    x = _rand(*shape, dtype=dtype, low=0, high=1)
    if dtype == np.float64:
        x = x.round()
    if dim is None:
        check(lambda t, a: (t.all(a), a.any(), t.count_nonzero(a)), x, grad=False)
    else:
        check(lambda t, a: (t.all(a, dim, keepdim), a.any(dim, keepdim=keepdim),
                            t.count_nonzero(a, dim)), x, grad=False)


# ---- sort, argsort, msort, topk, kthvalue ----------------------------------------------------


@pytest.mark.parametrize("shape,dim", _cases(tuples=False, none=False))
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", FLOATS)
def test_sort(shape, dim, descending, dtype):
    x = _ties(*shape, dtype=dtype)
    check(lambda t, a: t.sort(a, dim=dim, descending=descending, stable=True), x)
    check(lambda t, a: a.sort(dim=dim, descending=descending, stable=True), x)
    check(lambda t, a: t.argsort(a, dim=dim, descending=descending, stable=True), x, grad=False)
    check(lambda t, a: t.msort(a), x)


def test_sort_stable_large_and_nan():
    x = rand(2, 3000, low=0, high=3).round()
    check(lambda t, a: (a.sort(dim=1, stable=True), a.sort(dim=1, descending=True, stable=True)), x)
    y = np.array([[1.0, np.nan, 3.0, np.nan, -np.inf], [2.0, 5.0, 5.0, 1.0, np.inf]])
    check(lambda t, a: (a.sort(dim=1, stable=True), a.sort(dim=1, descending=True, stable=True)),
          y)
    # topk's order among ties is unspecified in torch: NaN is the largest, compare values only
    check(lambda t, a: a.topk(3, 1).values, y, grad=False)
    check(lambda t, a: a.topk(2, 1), np.array([[1.0, np.nan, 3.0, 2.0, -np.inf]]))
    for dt in (np.int64, np.bool_, np.uint8):
        z = rand(3, 7, dtype=dt)
        check(lambda t, a: (a.sort(dim=1, stable=True), a.sort(dim=0, descending=True, stable=True)),
              z)


@pytest.mark.parametrize("shape,dim", _cases(tuples=False, none=False))
@pytest.mark.parametrize("largest", [False, True])
def test_topk_kthvalue(shape, dim, largest):
    x = _distinct(*shape)
    n = x.shape[dim] if shape else 1
    for k in {1, n, (n + 1) // 2}:
        check(lambda t, a, k=k: t.topk(a, k, dim, largest), x)
        check(lambda t, a, k=k: a.topk(k, dim=dim, largest=largest, sorted=True), x)
        check(lambda t, a, k=k: (t.kthvalue(a, k, dim), a.kthvalue(k, dim, keepdim=True)), x)
    check(lambda t, a: t.topk(a, 0, dim), x)


# ---- median, nanmedian, mode -----------------------------------------------------------------


@pytest.mark.parametrize("shape,dim", _cases(tuples=False))
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
def test_median(shape, dim, keepdim, dtype):
    x = _ties(*shape, dtype=dtype)  # the index is the stable sort's, as torch's is
    if dim is None:
        check(lambda t, a: (t.median(a), a.nanmedian()), x)
    else:
        check(lambda t, a: (t.median(a, dim, keepdim), a.nanmedian(dim, keepdim=keepdim)), x)


def test_median_even_and_nan():
    x = _ties(4, 6)
    check(lambda t, a: (a.median(), a.median(0), a.median(1)), x)
    y = rand(4, 5)
    y[0, 1] = y[0, 3] = y[2, 0] = np.nan
    check(lambda t, a: (a.median(1), a.nanmedian(1), a.median(0), a.nanmedian(0)), y)
    y[3, :] = np.nan
    check(lambda t, a: (a.median(), a.nanmedian()), y)
    # an all-NaN slice: the value is NaN; torch's index there is unspecified
    check(lambda t, a: (a.median(1).values, a.nanmedian(1).values), y, grad=False)
    check(lambda t, a: a.nanmedian(), np.full((2, 2), np.nan))
    check(lambda t, a: a.median(), np.zeros(0))


@pytest.mark.parametrize("shape,dim", _cases(tuples=False, none=False))
@pytest.mark.parametrize("keepdim", [False, True])
def test_mode(shape, dim, keepdim):
    # on small slices torch reports the last occurrence of the mode, as ember always does
    x = _ties(*shape)
    check(lambda t, a: t.mode(a, dim, keepdim), x)
    check(lambda t, a: a.mode(dim), x.astype(np.int64))


def test_mode_ties_and_ints():
    check(lambda t, a: a.mode(), np.array([3, 3, 1, 1, 2]))
    check(lambda t, a: (a.mode(0), a.mode(1)), rand(5, 6, dtype=np.int64, low=0, high=3))
    check(lambda t, a: a.mode(), np.array([True, False, True]))


# ---- unique ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_])
def test_unique(shape, dtype):
    x = _rand(*shape, dtype=dtype, low=-2, high=2)
    if dtype == np.float64:
        x = x.round()
    check(lambda t, a: t.unique(a), x, grad=False)
    check(lambda t, a: a.unique(return_inverse=True, return_counts=True), x, grad=False)
    check(lambda t, a: t.unique(a, sorted=False, return_counts=True), x, grad=False)
    check(lambda t, a: t.unique_consecutive(a, return_inverse=True, return_counts=True), x,
          grad=False)
    for d in range(len(shape)):
        check(lambda t, a, d=d: t.unique(a, dim=d, return_inverse=True, return_counts=True), x,
              grad=False)
        check(lambda t, a, d=d: t.unique_consecutive(a, True, True, d), x, grad=False)


def test_unique_nan_and_consecutive_rows():
    check(lambda t, a: t.unique(a, return_counts=True), np.array([np.nan, 1.0, np.nan, 1.0]),
          grad=False)
    x = np.array([[1, 1, 2, 2, 1], [1, 1, 3, 3, 1]])
    check(lambda t, a: (t.unique_consecutive(a, dim=1, return_counts=True),
                        t.unique(a, dim=1, return_inverse=True)), x, grad=False)


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [
    lambda t, a: a.max(),
    lambda t, a: a.min(),
    lambda t, a: a.amax(),
    lambda t, a: a.argmax(),
    lambda t, a: a.max(1),
    lambda t, a: a.argmin(1),
    lambda t, a: a.amin(1),
    lambda t, a: a.median(1),
    lambda t, a: t.aminmax(a),
])
def test_empty_reduction_errors(fn):
    check_raises(fn, np.zeros((3, 0)))


@pytest.mark.parametrize("fn", [
    lambda t, a: a.sum(2), lambda t, a: a.max(-3), lambda t, a: a.mean((0, 5)),
    lambda t, a: a.cumsum(2), lambda t, a: a.sort(2), lambda t, a: a.var(3),
    lambda t, a: a.sum((0, 0)), lambda t, a: a.amax((0, -2)),
    lambda t, a: a.topk(5), lambda t, a: a.kthvalue(0), lambda t, a: a.kthvalue(5),
    lambda t, a: t.prod(a, (0, 1)), lambda t, a: t.logsumexp(a),
])
def test_dim_and_argument_errors(fn):
    check_raises(fn, rand(3, 4))


@pytest.mark.parametrize("fn", [
    lambda t, a: a.mean(), lambda t, a: a.var(), lambda t, a: a.std(1), lambda t, a: a.norm(),
    lambda t, a: t.nanmean(a), lambda t, a: a.logcumsumexp(0),
])
def test_integer_input_errors(fn):
    check_raises(fn, rand(3, 4, dtype=np.int64))


def test_bool_input_errors():
    b = rand(3, 4, dtype=np.bool_)
    check_raises(lambda t, a: a.argmax(), b)
    check_raises(lambda t, a: a.median(), b)


def test_error_messages_name_the_op():
    with pytest.raises(IndexError, match="max\\(\\): Expected reduction dim 1"):
        ember.zeros(2, 0).max(1)
    with pytest.raises(RuntimeError, match="mean\\(\\).*Long"):
        ember.tensor([1, 2]).mean()


# ---- double backward -------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [
    lambda t, a: a.var(1), lambda t, a: a.std(0), lambda t, a: a.norm(dim=1),
    lambda t, a: a.norm(3, dim=0), lambda t, a: a.logsumexp(1), lambda t, a: a.prod(1),
    lambda t, a: a.cumprod(1), lambda t, a: a.logcumsumexp(1), lambda t, a: a.sort(1).values ** 2,
    lambda t, a: a.max(1).values ** 2, lambda t, a: a.amax(0) ** 2,
])
def test_double_backward(fn):
    x = rand(3, 4, low=0.5, high=1.5)
    res = []
    for t in (ember, torch):
        a = (ember.from_numpy if t is ember else torch.from_numpy)(x.copy()).requires_grad_()
        w = (ember.from_numpy if t is ember else torch.from_numpy)(rand(3, 4, seed=3))
        out = fn(t, a)
        (g,) = t.autograd.grad((out * out).sum(), a, create_graph=True)
        (gg,) = t.autograd.grad((g * w).sum(), a)
        res.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-9, atol=1e-10)
