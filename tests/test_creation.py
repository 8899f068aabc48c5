"""Creation ops against PyTorch: dtypes, shapes, values; random ops by their statistics."""
import math
import warnings

import numpy as np
import pytest
import torch
from helpers import check, check_raises, rand

import ember

# ---- from data -------------------------------------------------------------------------------

DATA = [
    [1, 2, 3], [1.0], [1, 2.5], [True, False], True, 3, 2.5, [True, 2], [True, 2.0], [], [[], []],
    [[1, 2], [3, 4]], (1, 2), range(4), [[1.5, 2], [3, 4]], [np.float64(1.0)],
    [np.float32(1.0), 2], np.float64(1.0), np.int32(7), [np.int32(1), 2], -0.0, [[[1]]],
]


@pytest.mark.parametrize("data", DATA, ids=[repr(d) for d in DATA])
def test_tensor_infers_dtype(data):
    check(lambda t: t.tensor(data), grad=False)


NP_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
             np.uint8, np.bool_]


@pytest.mark.parametrize("dt", NP_DTYPES, ids=[np.dtype(d).name for d in NP_DTYPES])
def test_numpy_keeps_dtype(dt):
    a = rand(2, 3, dtype=dt)
    check(lambda t: t.tensor(a), grad=False)
    check(lambda t: t.as_tensor(a), grad=False)
    check(lambda t: t.from_numpy(a), grad=False)


def test_tensor_dtype_and_requires_grad():
    check(lambda t: t.tensor([1, 2], dtype=t.float64), grad=False)
    check(lambda t: t.tensor([1.7, -2.7], dtype=t.int32), grad=False)
    check(lambda t: t.tensor([1, 2], dtype=float), grad=False)
    check(lambda t: t.tensor([1, 2], dtype=int), grad=False)
    check(lambda t: t.tensor(1, dtype=bool), grad=False)
    assert ember.tensor([1.0], requires_grad=True).requires_grad
    check_raises(lambda t: t.tensor([1, 2], requires_grad=True))


def test_tensor_of_zero_dim_tensors():
    check(lambda t: t.tensor([t.tensor(1.0, dtype=t.float64), t.tensor(2.0, dtype=t.float64)]),
          grad=False)
    check(lambda t: t.tensor([t.tensor(1), 2.5]), grad=False)
    check(lambda t: t.tensor([t.tensor(1), t.tensor(2)]), grad=False)


def test_tensor_copies_and_warns_for_tensor():
    src = ember.ones(3, requires_grad=True)
    with pytest.warns(UserWarning, match="detach"):
        c = ember.tensor(src)
    assert not c.requires_grad and c.grad_fn is None
    a = np.ones(3)
    t = ember.tensor(a)
    a[0] = 5
    assert t[0].item() == 1


def test_tensor_errors():
    check_raises(lambda t: t.tensor([[1, 2], [3]]))
    with pytest.raises(ValueError, match="expected sequence of length 2 at dim 1"):
        ember.tensor([[1, 2], [3]])
    check_raises(lambda t: t.tensor("a"))
    check_raises(lambda t: t.tensor([1, "a"]))
    check_raises(lambda t: t.tensor(None))
    check_raises(lambda t: t.tensor(2**63))
    check_raises(lambda t: t.tensor([1, 2**64]))
    check_raises(lambda t: t.tensor([[1, 2], 3]))
    check_raises(lambda t: t.zeros(2, dtype=np.float32))


def test_from_numpy_shares_memory():
    a = np.arange(4.0)
    t = ember.from_numpy(a)
    a[0] = 9
    assert t[0].item() == 9
    t.add_(1)
    assert a[1] == 2
    check_raises(lambda t: t.from_numpy([1, 2]))
    with pytest.raises(TypeError):
        ember.from_numpy(np.zeros(2, dtype=np.complex64))


def test_as_tensor_shares_when_possible():
    a = np.arange(4.0)
    t = ember.as_tensor(a)
    a[0] = 7
    assert t[0].item() == 7
    c = ember.as_tensor(a, dtype=ember.float32)
    a[0] = 8
    assert c[0].item() == 7
    x = ember.ones(2)
    assert ember.as_tensor(x) is x
    assert ember.as_tensor(x, dtype=ember.float64).dtype == ember.float64
    check(lambda t: t.as_tensor([1, 2]), grad=False)
    b = ember.asarray(a, copy=True)
    a[1] = 100
    assert b[1].item() == 1


# ---- filled ----------------------------------------------------------------------------------


def _same_meta(fn):
    """Same dtype and shape with ember and torch (values are not compared)."""
    e, r = fn(ember), fn(torch)
    assert str(e.dtype) == str(r.dtype) and tuple(e.shape) == tuple(r.shape)
    return e


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_filled_size_forms(name):
    for args in [(2, 3), ((2, 3),), ([2, 3],), (torch.Size([2, 3]),), ((),), (0,), (2, 0, 4)]:
        e_args = tuple(ember.Size(a) if isinstance(a, torch.Size) else a for a in args)
        e, r = getattr(ember, name)(*e_args), getattr(torch, name)(*args)
        assert tuple(e.shape) == tuple(r.shape) and str(e.dtype) == str(r.dtype)
        if name != "empty":
            np.testing.assert_array_equal(e.numpy(), r.numpy())
    for fn in (lambda t: getattr(t, name)(size=(2,)), lambda t: getattr(t, name)(t.tensor(3)),
               lambda t: getattr(t, name)(2, dtype=t.int32)):
        _same_meta(fn)
    check_raises(lambda t: getattr(t, name)(-1))
    check_raises(lambda t: getattr(t, name)(2, -3))
    check_raises(lambda t: getattr(t, name)(2.5))
    assert getattr(ember, name)(2, requires_grad=True).requires_grad


def test_negative_size_message():
    with pytest.raises(RuntimeError, match="negative dimension -1"):
        ember.ones(2, -1)


def test_full():
    for fill in (1, True, 1.5, -2):
        check(lambda t, v=fill: t.full((2,), v), grad=False)
    check(lambda t: t.full((2, 2), 1, dtype=t.float64), grad=False)
    check(lambda t: t.full([2, 2], 1.0), grad=False)
    check(lambda t: t.full((), 3), grad=False)
    assert repr(ember.full((1,), -0.0)) == repr(torch.full((1,), -0.0))
    check(lambda t: t.full((2,), t.tensor(3)), grad=False)
    check_raises(lambda t: t.full(2, 1.0))
    check_raises(lambda t: t.full((-1,), 1.0))


LIKES = ["zeros_like", "ones_like", "empty_like"]


@pytest.mark.parametrize("name", LIKES)
def test_like(name):
    for x in (rand(2, 3), rand(4, dtype=np.int32), rand(2, dtype=np.bool_)):
        e = ember.from_numpy(x)
        r = torch.from_numpy(x)
        for kw in ({}, {"dtype": "float64"}):
            kw_e = {k: getattr(ember, v) for k, v in kw.items()}
            kw_r = {k: getattr(torch, v) for k, v in kw.items()}
            out_e, out_r = getattr(ember, name)(e, **kw_e), getattr(torch, name)(r, **kw_r)
            assert str(out_e.dtype) == str(out_r.dtype) and out_e.shape == out_r.shape
            assert not out_e.requires_grad
            if name != "empty_like":
                np.testing.assert_array_equal(out_e.numpy(), out_r.numpy())
    assert getattr(ember, name)(ember.ones(2), requires_grad=True).requires_grad
    assert getattr(ember, name)(ember.ones(2), device="cpu").device.type == "cpu"


def test_full_like_and_new():
    x = rand(2, 3, dtype=np.int32)
    check(lambda t, a: t.full_like(a, 2.7), x, grad=False)
    check(lambda t, a: t.full_like(a, 2.7, dtype=t.float32), x, grad=False)
    for x in (rand(2), rand(2, dtype=np.float32), rand(2, dtype=np.int32)):
        check(lambda t, a: a.new_tensor([1, 2]), x, grad=False)
        check(lambda t, a: a.new_tensor([1.5, 2]), x, grad=False)
        check(lambda t, a: a.new_tensor([1, 2], dtype=t.int16), x, grad=False)
        check(lambda t, a: a.new_zeros(2, 3), x, grad=False)
        check(lambda t, a: a.new_zeros((2, 3)), x, grad=False)
        check(lambda t, a: a.new_ones((2,)), x, grad=False)
        check(lambda t, a: a.new_full((2,), 3), x, grad=False)
        check(lambda t, a: a.new_full((2,), 3, dtype=t.float64), x, grad=False)
        _same_meta(lambda t, a=x: t.from_numpy(a).new_empty(4, 1))
    assert ember.ones(2).new_zeros(2, requires_grad=True).requires_grad
    with pytest.warns(UserWarning):
        ember.ones(2).new_tensor(ember.ones(2))


def test_eye():
    check(lambda t: t.eye(3), grad=False)
    check(lambda t: t.eye(2, 3), grad=False)
    check(lambda t: t.eye(2, m=4), grad=False)
    check(lambda t: t.eye(3, dtype=t.int32), grad=False)
    check(lambda t: t.eye(0), grad=False)
    check_raises(lambda t: t.eye(-1))
    check_raises(lambda t: t.eye(2, -1))


# ---- ranges ----------------------------------------------------------------------------------

ARANGES = [
    (5,), (5.0,), (1, 4), (0, 1, 0.1), (1, 2.5, 0.5), (10, 0, -3), (-1.0, 1.0, 0.3),
    (0, 0.3, 0.1), (True,), (0, 10, 3), (2, 2), (0, 1, 1 / 3), (-5, 5, 0.7), (1e-3, 1e-2, 1e-3),
]


@pytest.mark.parametrize("args", ARANGES, ids=[str(a) for a in ARANGES])
def test_arange(args):
    check(lambda t: t.arange(*args), grad=False)
    check(lambda t: t.arange(*args, dtype=t.float64), grad=False)


def test_arange_forms_and_errors():
    check(lambda t: t.arange(0.5, 5, dtype=t.int64), grad=False)
    check(lambda t: t.arange(t.tensor(5)), grad=False)
    check(lambda t: t.arange(0, 5, dtype=t.float32), grad=False)
    check(lambda t: t.arange(2**40, 2**40 + 5), grad=False)
    assert ember.arange(3, requires_grad=True, dtype=ember.float32).requires_grad
    check_raises(lambda t: t.arange(0, 1, 0))
    check_raises(lambda t: t.arange(0, -1, 1))
    check_raises(lambda t: t.arange(math.inf))
    check_raises(lambda t: t.arange(0, 1, 0.3, dtype=t.int64))
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        ember.arange(0, 1, 0)


LINSPACES = [(0, 1, 5), (-1, 1, 7), (0, 1, 1), (0, 1, 0), (0.1, 0.7, 11), (-3.3, 7.7, 13),
             (0, 1, 100), (5, -5, 6), (2, 2, 3)]


@pytest.mark.parametrize("args", LINSPACES, ids=[str(a) for a in LINSPACES])
def test_linspace_logspace(args):
    check(lambda t: t.linspace(*args), grad=False, rtol=0, atol=0)
    check(lambda t: t.linspace(*args, dtype=t.float64), grad=False, rtol=0, atol=0)
    check(lambda t: t.logspace(*args), grad=False)
    check(lambda t: t.logspace(*args, dtype=t.float64), grad=False)
    check(lambda t: t.logspace(*args, base=2), grad=False)


def test_linspace_int_and_errors():
    check(lambda t: t.linspace(0, 10, 5, dtype=t.int64), grad=False)
    check(lambda t: t.linspace(0, 10, 4, dtype=t.int64), grad=False)
    check(lambda t: t.linspace(-5, 10, 4, dtype=t.int32), grad=False)
    check(lambda t: t.linspace(t.tensor(0.0), 1.0, 3), grad=False)
    check(lambda t: t.logspace(0, 2, 5, dtype=t.int64), grad=False)
    check(lambda t: t.logspace(0, 1, 4, base=3, dtype=t.int32), grad=False)
    check(lambda t: t.linspace(0, 1, 5, dtype=t.float16), grad=False)
    check_raises(lambda t: t.linspace(0, 1, -1))
    check_raises(lambda t: t.logspace(0, 1, -1))


def test_out_argument():
    cases = [(lambda t, o: t.zeros(3, out=o), 3), (lambda t, o: t.arange(3, out=o), 3),
             (lambda t, o: t.linspace(0, 1, 3, out=o), 3), (lambda t, o: t.full((3,), 7, out=o), 3),
             (lambda t, o: t.ones(2, 2, out=o), 0), (lambda t, o: t.eye(2, out=o), 0)]
    for fn, n in cases:
        e_out, r_out = ember.zeros(n, dtype=ember.float64), torch.zeros(n, dtype=torch.float64)
        e, r = fn(ember, e_out), fn(torch, r_out)
        assert e is e_out and r is r_out
        assert str(e.dtype) == str(r.dtype) and tuple(e.shape) == tuple(r.shape)
        np.testing.assert_allclose(e.numpy(), r.numpy())


# ---- random: shapes, dtypes, reproducibility -------------------------------------------------


def test_random_shapes_and_dtypes():
    g = ember.Generator().manual_seed(0)
    for fn in (
        lambda t: t.rand(2, 3), lambda t: t.rand((2, 3), dtype=t.float64),
        lambda t: t.randn(4), lambda t: t.randn(2, 2, dtype=t.float16),
        lambda t: t.randint(5, (3,)), lambda t: t.randint(2, 5, (3, 2)),
        lambda t: t.randint(3, 10, size=(2, 2)), lambda t: t.randint(5, (3,), dtype=t.float32),
        lambda t: t.randperm(5), lambda t: t.randperm(5, dtype=t.float32), lambda t: t.randperm(0),
        lambda t: t.rand_like(t.zeros(2, dtype=t.float64)), lambda t: t.randn_like(t.zeros(3)),
        lambda t: t.randint_like(t.zeros(2, 2), 5), lambda t: t.randint_like(t.zeros(2), 3, 5),
        lambda t: t.normal(t.zeros(3), t.ones(3)), lambda t: t.normal(t.zeros(3).double(), 1.0),
        lambda t: t.normal(0.0, t.ones(3)), lambda t: t.normal(0.0, 1.0, (2, 3)),
        lambda t: t.normal(0.0, 1.0, size=(2,)), lambda t: t.normal(t.zeros(3), t.ones(2, 1)),
        lambda t: t.normal(0, 1, (2,), dtype=t.float64), lambda t: t.normal(t.zeros(3)),
        lambda t: t.bernoulli(t.full((3,), 0.5)), lambda t: t.bernoulli(t.zeros(3), 0.5),
        lambda t: t.bernoulli(t.zeros(3).double() + 0.3),
        lambda t: t.multinomial(t.tensor([0.1, 0.9]), 4, replacement=True),
        lambda t: t.multinomial(t.tensor([[0.1, 0.9, 0.0], [1.0, 1.0, 1.0]]), 2),
        lambda t: t.poisson(t.tensor([1.0, 5.0])),
    ):
        e = fn(ember)
        r = fn(torch)
        assert str(e.dtype) == str(r.dtype) and tuple(e.shape) == tuple(r.shape)
    for fn in (lambda t: t.randint(low=0, high=5, size=(3,)), lambda t: t.randint(high=5, size=(3,)),
               lambda t: t.zeros(2).uniform_(**{"from": -1, "to": 0}),
               lambda t: t.zeros(2, dtype=t.int64).random_(**{"from": 1, "to": 3}),
               lambda t: t.zeros(3).exponential_(lambd=2), lambda t: t.zeros(2).normal_(mean=1, std=2),
               lambda t: t.normal(mean=t.zeros(2), std=t.ones(2)),
               lambda t: t.normal(mean=0.0, std=1.0, size=(2,))):
        _same_meta(fn)
    x = ember.zeros(1000).uniform_(**{"from": -1, "to": 0}).numpy()
    assert x.min() >= -1 and x.max() < 0
    e = ember.rand(3, generator=g)
    assert e.shape == (3,)


def test_seed_reproducible():
    def draw():
        return [ember.rand(5), ember.randn(3), ember.randint(0, 100, (4,)), ember.randperm(6),
                ember.normal(ember.zeros(3), 1.0), ember.zeros(4).uniform_(),
                ember.multinomial(ember.ones(5), 3)]

    ember.manual_seed(123)
    a = draw()
    ember.manual_seed(123)
    b = draw()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    ember.manual_seed(124)
    assert not np.array_equal(ember.rand(5).numpy(), a[0].numpy())


def test_generators_are_independent():
    g1, g2 = ember.Generator().manual_seed(7), ember.Generator().manual_seed(7)
    x = ember.rand(4, generator=g1)
    ember.rand(100)  # the default stream does not touch g2
    y = ember.rand(4, generator=g2)
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert g1.initial_seed() == 7
    assert ember.manual_seed(3) is ember.random.default_generator
    assert ember.initial_seed() == 3
    with pytest.raises(TypeError):
        ember.rand(2, generator=np.random.default_rng(0))


def test_rng_state_round_trip():
    ember.manual_seed(0)
    state = ember.get_rng_state()
    assert state.dtype == ember.uint8
    x = ember.randn(5)
    ember.set_rng_state(state)
    np.testing.assert_array_equal(ember.randn(5).numpy(), x.numpy())
    g = ember.Generator()
    s = g.get_state()
    y = ember.rand(3, generator=g)
    g.set_state(s)
    np.testing.assert_array_equal(ember.rand(3, generator=g).numpy(), y.numpy())
    with pytest.raises(TypeError):
        ember.set_rng_state([1, 2])
    ember.set_rng_state(state)
    with ember.random.fork_rng():
        ember.rand(10)
    np.testing.assert_array_equal(ember.randn(5).numpy(), x.numpy())


# ---- random: distributions -------------------------------------------------------------------

N = 200_000


def _stats(t):
    a = t.numpy().astype(np.float64)
    return a.mean(), a.std()


def test_uniform_and_normal_statistics():
    ember.manual_seed(1)
    u = ember.rand(N)
    assert u.numpy().min() >= 0 and u.numpy().max() < 1
    m, s = _stats(u)
    assert abs(m - 0.5) < 0.01 and abs(s - math.sqrt(1 / 12)) < 0.01
    assert ember.rand(1000, dtype=ember.float16).numpy().max() < 1
    m, s = _stats(ember.randn(N))
    assert abs(m) < 0.01 and abs(s - 1) < 0.01
    m, s = _stats(ember.normal(3.0, 2.0, (N,)))
    assert abs(m - 3) < 0.03 and abs(s - 2) < 0.03
    m, s = _stats(ember.normal(ember.full((N,), -1.0), ember.full((N,), 0.5)))
    assert abs(m + 1) < 0.01 and abs(s - 0.5) < 0.01
    m, s = _stats(ember.zeros(N).normal_(2, 3))
    assert abs(m - 2) < 0.05 and abs(s - 3) < 0.05
    u = ember.zeros(N).uniform_(-2, 4)
    assert u.numpy().min() >= -2 and u.numpy().max() < 4 and abs(_stats(u)[0] - 1) < 0.03


def test_integer_samplers():
    ember.manual_seed(2)
    r = ember.randint(-5, -2, (N,)).numpy()
    assert set(np.unique(r)) == {-5, -4, -3}
    assert abs(r.mean() + 4) < 0.01
    p = ember.randperm(50).numpy()
    assert sorted(p.tolist()) == list(range(50))
    x = ember.zeros(N, dtype=ember.int64).random_(2, 5).numpy()
    assert set(np.unique(x)) == {2, 3, 4}
    x = ember.zeros(N, dtype=ember.int64).random_(5).numpy()
    assert set(np.unique(x)) == set(range(5))
    x = ember.zeros(1000, dtype=ember.uint8).random_().numpy()
    assert x.max() > 200
    x = ember.zeros(1000, dtype=ember.bool).random_().numpy()
    assert 0 < x.sum() < 1000
    x = ember.zeros(1000).random_().numpy()
    assert x.max() <= 2**24 and x.max() > 2**20 and np.all(x == np.round(x))


def test_bernoulli_poisson_and_other_samplers():
    ember.manual_seed(3)
    b = ember.bernoulli(ember.full((N,), 0.3)).numpy()
    assert set(np.unique(b)) == {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
    b = ember.bernoulli(ember.zeros(N), p=0.8).numpy()
    assert abs(b.mean() - 0.8) < 0.01
    b = ember.zeros(6).bernoulli_(ember.tensor([0.0, 1.0] * 3)).numpy()
    assert b.tolist() == [0, 1] * 3
    assert abs(ember.zeros(N).bernoulli_().numpy().mean() - 0.5) < 0.01
    assert ember.zeros(3, dtype=ember.int64).bernoulli_(1.0).tolist() == [1, 1, 1]
    m, s = _stats(ember.poisson(ember.full((N,), 4.0)))
    assert abs(m - 4) < 0.03 and abs(s - 2) < 0.03
    m, _ = _stats(ember.zeros(N).exponential_(2.0))
    assert abs(m - 0.5) < 0.01
    g = ember.zeros(N).geometric_(0.25).numpy()
    assert g.min() == 1 and abs(g.mean() - 4) < 0.05
    ln = ember.zeros(N, dtype=ember.float64).log_normal_(0.0, 0.5).numpy()
    assert abs(np.log(ln).mean()) < 0.01 and abs(np.log(ln).std() - 0.5) < 0.01
    c = ember.zeros(N).cauchy_(1.0, 2.0).numpy()
    assert abs(np.median(c) - 1) < 0.05 and abs(np.percentile(c, 75) - 3) < 0.1


def test_multinomial():
    ember.manual_seed(4)
    w = ember.tensor([[1.0, 2.0, 0.0, 7.0], [0.0, 0.0, 1.0, 0.0]])
    s = ember.multinomial(w, 50_000, replacement=True).numpy()
    assert s.shape == (2, 50_000)
    freq = np.bincount(s[0], minlength=4) / 50_000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.0, 0.7], atol=0.01)
    assert np.all(s[1] == 2)
    draws = ember.multinomial(ember.ones(1000, 10), 10).numpy()
    assert all(sorted(r) == list(range(10)) for r in draws.tolist())
    first = ember.multinomial(ember.tensor([[1.0, 2.0, 7.0]] * 20_000), 2).numpy()
    np.testing.assert_allclose(np.bincount(first[:, 0]) / 20_000, [0.1, 0.2, 0.7], atol=0.015)
    assert np.all(first[:, 0] != first[:, 1])
    assert ember.multinomial(ember.tensor([1.0, 0.0]), 2).tolist() == [0, 1]


def test_multinomial_errors():
    for fn in (
        lambda t: t.multinomial(t.tensor([0.1, 0.9]), 3),
        lambda t: t.multinomial(t.tensor([-1.0, 1.0]), 1),
        lambda t: t.multinomial(t.tensor([0.0, 0.0]), 1),
        lambda t: t.multinomial(t.tensor([1.0, 1.0]), 0),
        lambda t: t.multinomial(t.tensor(1.0), 1),
        lambda t: t.multinomial(t.ones(2, 2, 2), 1),
        lambda t: t.multinomial(t.tensor([1, 2]), 1),
        lambda t: t.multinomial(t.tensor([1.0, math.inf]), 1),
        lambda t: t.multinomial(t.tensor([1.0, math.nan]), 1),
    ):
        check_raises(fn)
    with pytest.raises(RuntimeError, match="without replacement"):
        ember.multinomial(ember.tensor([0.1, 0.9]), 3)


def test_random_errors():
    for fn in (
        lambda t: t.randint(5, 3),
        lambda t: t.randint(0, (3,)),
        lambda t: t.randint(5, 2, (3,)),
        lambda t: t.randint(5, (-1,)),
        lambda t: t.rand(-1),
        lambda t: t.randn(2, -1),
        lambda t: t.randperm(-1),
        lambda t: t.normal(t.zeros(3), -1.0),
        lambda t: t.normal(0.0, -1.0, (2,)),
        lambda t: t.normal(0.0, 1.0),
        lambda t: t.normal(t.zeros(3), t.ones(4)),
        lambda t: t.normal(t.zeros(3, dtype=t.int64), 1.0),
        lambda t: t.bernoulli(t.full((3,), 1.5)),
        lambda t: t.bernoulli(t.zeros(3, dtype=t.int64)),
        lambda t: t.poisson(t.tensor([-1.0])),
        lambda t: t.poisson(t.tensor([1, 2])),
        lambda t: t.zeros(3).normal_(0, -1),
        lambda t: t.zeros(3).uniform_(3, 2),
        lambda t: t.zeros(3, dtype=t.int64).uniform_(),
        lambda t: t.zeros(3, dtype=t.int64).normal_(),
        lambda t: t.zeros(3, dtype=t.int64).exponential_(),
        lambda t: t.zeros(3).exponential_(-1),
        lambda t: t.zeros(3).geometric_(0),
        lambda t: t.zeros(3).log_normal_(0, -1),
        lambda t: t.zeros(3).bernoulli_(1.5),
        lambda t: t.zeros(3).random_(5, 2),
    ):
        check_raises(fn)


def test_samplers_bump_version_and_respect_leaves():
    x = ember.zeros(3)
    for name, args in [("normal_", ()), ("uniform_", ()), ("random_", (3,)), ("bernoulli_", ()),
                       ("exponential_", ()), ("geometric_", (0.5,)), ("log_normal_", ()),
                       ("cauchy_", ()), ("fill_", (1,)), ("zero_", ()),
                       ("copy_", (ember.ones(3),))]:
        v = x._version
        assert getattr(x, name)(*args) is x
        assert x._version == v + 1, name
        check_raises(lambda t, n=name, a=args: getattr(t.zeros(3, requires_grad=True), n)(
            *[t.ones(3) if isinstance(i, ember.Tensor) else i for i in a]))
        leaf = ember.zeros(3, requires_grad=True)
        with ember.no_grad():
            getattr(leaf, name)(*args)


def test_sampler_on_nonleaf_has_zero_grad():
    for fn in (lambda t, a: (a * 1).normal_(), lambda t, a: t.normal(a, 1.0),
               lambda t, a: t.normal(a, a.abs() + 0.1), lambda t, a: (a * 1).uniform_()):
        check(fn, rand(3), grad=True, rtol=1e9, atol=1e9)
        e = fn(ember, ember.zeros(3, requires_grad=True))
        assert e.grad_fn is not None
        x = ember.zeros(3, requires_grad=True)
        fn(ember, x).sum().backward()
        assert x.grad is not None and not x.grad.numpy().any()


# ---- fill_, zero_, copy_, clone --------------------------------------------------------------


def test_fill_zero():
    check(lambda t, a: a.clone().fill_(2), rand(2, 3), grad=False)
    check(lambda t, a: a.clone().fill_(2.7), rand(3, dtype=np.int64), grad=False)
    check(lambda t, a: a.clone().fill_(t.tensor(3.0)), rand(2, 3), grad=False)
    check(lambda t, a: a.clone().fill_(2), rand(3, dtype=np.bool_), grad=False)
    check(lambda t, a: a.clone().zero_(), rand(2, 3), grad=False)
    check_raises(lambda t: t.zeros(2).fill_(t.ones(2)))
    check(lambda t, a: (a * 1).fill_(3), rand(3))
    check(lambda t, a: (a * 2).zero_() + a, rand(3))
    check(lambda t, a, v: t.zeros(2, 3).fill_(v.sum()) * a, rand(2, 3, dtype=np.float32),
          rand(4, dtype=np.float32))
    check(lambda t, a, v: t.zeros(2, 3, dtype=t.float64).fill_(v.sum()) * a, rand(2, 3),
          rand(4))


def test_copy():
    check(lambda t, a: t.zeros(2, 3).copy_(a), rand(3))
    check(lambda t, a: t.zeros(2, 3, dtype=t.float64).copy_(a), rand(2, 3, dtype=np.float32))
    check(lambda t, a: t.zeros(3, dtype=t.int64).copy_(a), rand(3), grad=False)
    check(lambda t, a: t.zeros(3).copy_(a), rand(3, dtype=np.int32), grad=False)
    check(lambda t, a, b: (a * 2).copy_(b) * a, rand(3), rand(1))
    check_raises(lambda t: t.zeros(2, 3).copy_(t.ones(2)))
    with pytest.raises(RuntimeError, match="must match the size"):
        ember.zeros(2, 3).copy_(ember.ones(2))
    d = ember.zeros(2, 3)
    d.copy_(ember.ones(3, requires_grad=True))
    assert d.grad_fn is not None and d.grad_fn.name() == "CopyBackward0"


def test_clone():
    check(lambda t, a: t.clone(a) * 2, rand(3, 2))
    check(lambda t, a: a.clone(), rand(4, dtype=np.int16), grad=False)
    x = ember.ones(3)
    c = x.clone()
    c.add_(1)
    assert x.tolist() == [1, 1, 1]
    assert ember.ones(2, requires_grad=True).clone().grad_fn.name() == "CloneBackward0"


def test_requires_grad_on_int_creation_errors():
    check_raises(lambda t: t.zeros(2, dtype=t.int64, requires_grad=True))
    check_raises(lambda t: t.randint(5, (2,), requires_grad=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.arange(3.0, requires_grad=True)
