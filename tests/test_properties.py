"""Property-based tests against PyTorch: random broadcastable shapes and dtypes for the
elementwise ops; values, dtypes, shapes and gradients must equal PyTorch's."""
from __future__ import annotations

import operator

import numpy as np
import pytest
import torch
from helpers import _wrap, check, check_raises, rand
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import ember

# NumPy warns about the nan/inf that random inputs produce (0/0, empty means); PyTorch does not
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# no shrinking: a failure reports the first failing example, and CI stays fast
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    phases=(Phase.explicit, Phase.generate))

FLOATS = [np.float16, np.float32, np.float64]
INTS = [np.uint8, np.int8, np.int16, np.int32, np.int64]
ALL = [np.bool_, *INTS, *FLOATS]

two_shapes = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0,
                                           max_side=4)
three_shapes = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, min_side=0,
                                             max_side=4)
seeds = st.integers(0, 2**16)
# float16 sums of up to 256 weighted terms round differently from PyTorch's float32 accumulation
TOL = {"rtol": 2e-2, "atol": 5e-2}


def arr(shape, dtype=np.float64, seed=0, **kw):
    """helpers.rand as an array also for 0-dim bools."""
    return np.asarray(rand(*shape, dtype=dtype, seed=seed, **kw))


def _tol(*dtypes):
    """Tolerances for results computed through the narrowest float dtype involved."""
    if np.float16 in dtypes:
        return TOL
    return {"rtol": 1e-5, "atol": 1e-5} if np.float32 in dtypes else {}


def compare(fn, *inputs, **kw):
    """check() (values, dtypes, shapes, grads) where torch succeeds, else check_raises()."""
    try:
        fn(torch, *[_wrap(torch, x, False) for x in inputs])
    except Exception:  # noqa: BLE001 - which exception is compared by check_raises
        check_raises(fn, *inputs)
        return None
    return check(fn, *inputs, **kw)


BINARY = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "maximum": lambda a, b: ember_or_torch(a).maximum(a, b),
    "minimum": lambda a, b: ember_or_torch(a).minimum(a, b),
}
COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
           "gt": operator.gt, "ge": operator.ge}


def ember_or_torch(x):
    return ember if isinstance(x, ember.Tensor) else torch


@pytest.mark.parametrize("op", list(BINARY))
@SETTINGS
@given(shapes=two_shapes, da=st.sampled_from(INTS + FLOATS), db=st.sampled_from(ALL),
       seed=seeds, swap=st.booleans())
def test_binary(op, shapes, da, db, seed, swap):
    """Arithmetic on broadcast operands of any dtypes: values, result dtype, shape, grads."""
    sa, sb = shapes.input_shapes
    a, b = arr(sa, dtype=da, seed=seed), arr(sb, dtype=db, seed=seed + 1)
    if swap:
        a, b = b, a
    f = BINARY[op]
    out = compare(lambda t, x, y: f(x, y), a, b, **_tol(da, db))
    if out is not None:
        assert tuple(out.shape) == shapes.result_shape


# non-negative ints: uint8 with a negative Python int is a known pointwise difference
# (PyTorch wraps the scalar, NumPy 2 raises; see test_promotion)
scalars = st.one_of(st.sampled_from([True, False, 0, 1, 5, 0.5, -1.5, 2.25, -2.0]),
                    st.floats(-3, 3, width=32))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "lt", "eq"])
@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
       da=st.sampled_from(ALL), s=scalars, seed=seeds, swap=st.booleans())
def test_tensor_scalar(op, shape, da, s, seed, swap):
    """A tensor of any dtype with a Python bool/int/float: the scalar only raises the category."""
    a = arr(shape, dtype=da, seed=seed)
    f = {**BINARY, **COMPARE}[op]
    fn = (lambda t, x: f(s, x)) if swap else (lambda t, x: f(x, s))
    out = compare(fn, a, **_tol(da))
    if out is not None:
        assert tuple(out.shape) == shape


@SETTINGS
@given(shapes=two_shapes, da=st.sampled_from(FLOATS), db=st.sampled_from(INTS[1:] + FLOATS),
       seed=seeds)
def test_pow_positive_base(shapes, da, db, seed):
    sa, sb = shapes.input_shapes
    base = arr(sa, dtype=da, seed=seed, low=0.5, high=2.0)
    exponent = arr(sb, dtype=db, seed=seed + 1)
    check(lambda t, x, y: t.pow(x, y), base, exponent, **_tol(da, db))
    check(lambda t, x, y: x ** y, base, exponent, **_tol(da, db))


@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
       da=st.sampled_from(FLOATS), seed=seeds,
       e=st.one_of(st.integers(-3, 3), st.floats(-2.5, 2.5, width=16)))
def test_pow_scalar_exponent(shape, da, seed, e):
    base = arr(shape, dtype=da, seed=seed, low=0.5, high=2.0)
    check(lambda t, x: x ** e, base, **_tol(da))
    check(lambda t, x: e ** x, base, **_tol(da))


@pytest.mark.parametrize("op", list(COMPARE))
@SETTINGS
@given(shapes=two_shapes, da=st.sampled_from(ALL), db=st.sampled_from(ALL), seed=seeds)
def test_comparison(op, shapes, da, db, seed):
    sa, sb = shapes.input_shapes
    a, b = arr(sa, dtype=da, seed=seed), arr(sb, dtype=db, seed=seed + 1)
    # round floats so that equal values across dtypes occur
    if a.dtype.kind == "f":
        a = np.asarray(np.round(a))
    f = COMPARE[op]
    out = check(lambda t, x, y: f(x, y), a, b, grad=False)
    assert out.dtype is ember.bool and tuple(out.shape) == shapes.result_shape


@SETTINGS
@given(shapes=three_shapes, da=st.sampled_from(ALL), db=st.sampled_from(ALL), seed=seeds)
def test_where(shapes, da, db, seed):
    sc, sa, sb = shapes.input_shapes
    cond = arr(sc, dtype=np.bool_, seed=seed)
    a, b = arr(sa, dtype=da, seed=seed + 1), arr(sb, dtype=db, seed=seed + 2)
    out = check(lambda t, c, x, y: t.where(c, x, y), cond, a, b)
    assert tuple(out.shape) == shapes.result_shape


@st.composite
def non_broadcastable(draw):
    """Two shapes with one right-aligned dimension of different sizes, neither of them 1."""
    sa = list(draw(array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4)))
    sb = list(draw(array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4)))
    i = -1 - draw(st.integers(0, min(len(sa), len(sb)) - 1))
    sa[i], sb[i] = draw(st.permutations([0, 2, 3, 4]))[:2]
    return tuple(sa), tuple(sb)


NOT_BROADCASTABLE_OPS = {**BINARY, **COMPARE, "pow": operator.pow,
                         "where": lambda x, y: ember_or_torch(x).where(x > 0, x, y)}


def _raise_both(op, shapes, seed):
    a = arr(shapes[0], seed=seed)
    b = arr(shapes[1], seed=seed + 1)
    f = NOT_BROADCASTABLE_OPS[op]
    with pytest.raises(RuntimeError):
        f(torch.from_numpy(a), torch.from_numpy(b))
    try:
        f(ember.from_numpy(a), ember.from_numpy(b))
    except Exception as e:  # noqa: BLE001 - the type is what is checked
        return e
    raise AssertionError(f"ember did not raise for shapes {shapes}")


@SETTINGS
@given(op=st.sampled_from(list(NOT_BROADCASTABLE_OPS)), shapes=non_broadcastable(), seed=seeds)
def test_not_broadcastable_raises(op, shapes, seed):
    """Operands whose shapes do not broadcast raise (PyTorch: RuntimeError)."""
    assert isinstance(_raise_both(op, shapes, seed), (RuntimeError, ValueError))


@pytest.mark.parametrize("op", list(NOT_BROADCASTABLE_OPS))
@SETTINGS
@given(shapes=non_broadcastable(), seed=seeds)
def test_not_broadcastable_runtime_error(op, shapes, seed):
    """Operands whose shapes do not broadcast raise RuntimeError, as in PyTorch."""
    err = _raise_both(op, shapes, seed)
    assert isinstance(err, RuntimeError), f"{type(err).__name__}: {err}"


REDUCTIONS = {"sum": lambda x: x.sum(), "mean": lambda x: x.mean(),
              "sum_dim0": lambda x: x.sum(0) if x.dim() else x.sum()}


@SETTINGS
@given(red=st.sampled_from(list(REDUCTIONS)), op=st.sampled_from(["add", "mul", "sub"]),
       shapes=two_shapes, da=st.sampled_from(FLOATS), db=st.sampled_from(FLOATS), seed=seeds)
def test_reduced_broadcast_grads(red, op, shapes, da, db, seed):
    """Reducing a broadcast result: every input's grad has the input's shape and dtype."""
    sa, sb = shapes.input_shapes
    a, b = arr(sa, dtype=da, seed=seed), arr(sb, dtype=db, seed=seed + 1)
    f, r = BINARY[op], REDUCTIONS[red]
    check(lambda t, x, y: r(f(x, y)), a, b, **_tol(da, db))
    x, y = ember.from_numpy(a).requires_grad_(), ember.from_numpy(b).requires_grad_()
    r(f(x, y)).sum().backward()
    for t, inp in ((x, a), (y, b)):
        assert tuple(t.grad.shape) == inp.shape and t.grad.dtype == t.dtype
