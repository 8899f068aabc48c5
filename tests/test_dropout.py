"""Dropout family.

The random masks cannot equal PyTorch's (ember draws from NumPy's PCG64, not PyTorch's
generator), so the random cases are checked statistically and structurally: fraction dropped,
1/(1-p) scaling, preserved mean (and variance for alpha dropout), which dimensions share one
draw (compared with PyTorch's own outputs), gradient = mask * scale, reproducibility under
``manual_seed``.  Deterministic cases (eval, p = 0, p = 1, errors, warnings, reprs) are compared
with PyTorch directly.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, check, check_raises, rand

F_NAMES = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]
MODULES = {"dropout": "Dropout", "dropout1d": "Dropout1d", "dropout2d": "Dropout2d",
           "dropout3d": "Dropout3d", "alpha_dropout": "AlphaDropout",
           "feature_alpha_dropout": "FeatureAlphaDropout"}
SHAPE = {"dropout": (3, 4, 5), "dropout1d": (2, 3, 4), "dropout2d": (2, 3, 4, 5),
         "dropout3d": (2, 3, 2, 3, 2), "alpha_dropout": (3, 4, 5),
         "feature_alpha_dropout": (2, 3, 4, 5)}


def _f(t, name):
    return getattr(t.nn.functional, name)


def test_fraction_scaling_and_mean():
    ember.manual_seed(0)
    p = 0.3
    x = ember.ones(200_000)
    y = ember.nn.functional.dropout(x, p).numpy()
    dropped = (y == 0).mean()
    assert abs(dropped - p) < 4 * np.sqrt(p * (1 - p) / y.size)
    np.testing.assert_array_equal(np.unique(y), np.array([0.0, 1 / (1 - p)], np.float32))
    assert abs(y.mean() - 1.0) < 0.01


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["dropout", "dropout1d", "dropout2d", "dropout3d"])
def test_gradient_is_mask_times_scale(name, dtype):
    ember.manual_seed(1)
    p = 0.4
    x = ember.tensor(rand(*SHAPE[name], dtype=dtype, low=0.5, high=2.0), requires_grad=True)
    y = _f(ember, name)(x * 1, p)
    w = rand(*SHAPE[name], dtype=dtype, seed=4)
    (y * ember.tensor(w)).sum().backward()
    kept = y.detach().numpy() != 0
    scale = dtype(1) / dtype(1 - p)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() * kept * scale, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), w * kept * scale, rtol=1e-6)
    assert x.grad.dtype == x.dtype
    assert 0 < kept.mean() < 1


def _shared_dims(mod, name, shape, trials=12):
    """Dimensions along which every draw is shared (the mask is constant), over many draws."""
    shared = set(range(len(shape)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(trials):
            y = _f(mod, name)(mod.ones(shape), 0.5, True)
            y = y.numpy()
            shared &= {d for d in range(len(shape))
                       if (y == np.take(y, [0], axis=d)).all()}
    return sorted(shared)


@pytest.mark.parametrize("name,shape", [
    ("dropout1d", (3, 4, 5)), ("dropout1d", (4, 5)),
    ("dropout2d", (3, 4, 5, 6)), ("dropout2d", (3, 4, 5)), ("dropout2d", (3, 4, 5, 2, 2)),
    ("dropout2d", (4, 5)),
    ("dropout3d", (3, 4, 5, 6, 2)), ("dropout3d", (4, 5, 6, 2)), ("dropout3d", (4, 5, 6)),
    ("dropout3d", (4, 5)), ("dropout3d", (7,)),
    ("feature_alpha_dropout", (3, 4, 5, 6)), ("feature_alpha_dropout", (3, 4)),
    ("dropout", (3, 4, 5)), ("alpha_dropout", (3, 4, 5)),
])
def test_channel_structure_matches_torch(name, shape):
    """Which dims share one keep/drop draw (batched (N, C, ...) and unbatched inputs)."""
    torch.manual_seed(0)
    ember.manual_seed(0)
    assert _shared_dims(ember, name, shape) == _shared_dims(torch, name, shape)


def test_reproducible_under_manual_seed():
    for name in F_NAMES:
        fn = _f(ember, name)
        x = ember.ones(*SHAPE[name])
        ember.manual_seed(123)
        a = fn(x, 0.5, True).numpy()
        b = fn(x, 0.5, True).numpy()
        ember.manual_seed(123)
        np.testing.assert_array_equal(fn(x, 0.5, True).numpy(), a)
        assert not np.array_equal(a, b), name


def test_generator_state_controls_masks():
    state = ember.get_rng_state()
    a = ember.nn.functional.dropout(ember.ones(100)).numpy()
    ember.set_rng_state(state)
    np.testing.assert_array_equal(ember.nn.functional.dropout(ember.ones(100)).numpy(), a)


def test_alpha_dropout_keeps_mean_and_variance():
    ember.manual_seed(2)
    x = ember.tensor(np.random.default_rng(0).standard_normal(400_000))
    for p in (0.2, 0.5):
        y = ember.nn.functional.alpha_dropout(x, p, True).numpy()
        assert abs(y.mean()) < 0.01
        assert abs(y.var() - 1) < 0.02


@pytest.mark.parametrize("name", ["alpha_dropout", "feature_alpha_dropout"])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_alpha_dropout_affine_constants_match_torch(name, p):
    """On a constant input the output takes two values (kept, dropped): PyTorch's two."""
    torch.manual_seed(0)
    ember.manual_seed(0)
    for c in (0.0, 1.5):
        e = np.unique(_f(ember, name)(ember.full((64, 32, 2), c), p, True).numpy())
        t = np.unique(_f(torch, name)(torch.full((64, 32, 2), c), p, True).numpy())
        np.testing.assert_allclose(e, t, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["alpha_dropout", "feature_alpha_dropout"])
def test_alpha_dropout_is_affine_with_mask_gradient(name, dtype):
    """Kept units: a * x + b (gradient a); dropped units: one constant (gradient 0)."""
    ember.manual_seed(5)
    p = 0.3
    x = ember.tensor(rand(4, 3, 5, dtype=dtype), requires_grad=True)
    y = _f(ember, name)(x, p, True)
    y.sum().backward()
    g, yn, xn = x.grad.numpy(), y.detach().numpy(), x.detach().numpy()
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha**2 * p + 1) * (1 - p))
    kept = g != 0
    assert kept.any() and (~kept).any()
    np.testing.assert_allclose(g[kept], a, rtol=1e-6)
    np.testing.assert_allclose(yn[kept], a * xn[kept] + alpha * a * p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(yn[~kept], -alpha * a + alpha * a * p, rtol=1e-6)


@pytest.mark.parametrize("name", F_NAMES)
def test_deterministic_cases_match_torch(name):
    x = rand(*SHAPE[name])
    fn = _f(ember, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda t, x: _f(t, name)(x, 0.5, False), x)   # eval: identity
        check(lambda t, x: _f(t, name)(x, 0.0, True), x)    # p = 0: identity
        check(lambda t, x: _f(t, name)(x, 1.0, True), x)    # p = 1: zeros, zero grads
        check(lambda t, x: _f(t, name)(x * 1, 1.0, True, True), x)
    e = ember.tensor(x)
    assert fn(e, 0.5, False) is e or name == "dropout1d"


def test_identity_returns_the_input():
    x = ember.ones(3, 4)
    assert ember.nn.functional.dropout(x, 0.5, False) is x
    assert ember.nn.functional.dropout(x, 0.0, True) is x
    assert ember.nn.functional.alpha_dropout(x, 0.5) is x  # training defaults to False


@pytest.mark.parametrize("name", F_NAMES)
def test_inplace(name):
    ember.manual_seed(7)
    x = ember.tensor(rand(*SHAPE[name], low=0.5, high=2.0), requires_grad=True)
    h = x * 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _f(ember, name)(h, 0.5, True, True)
    assert out is h
    ember.manual_seed(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _f(ember, name)(x.detach(), 0.5, True)
    np.testing.assert_array_equal(h.detach().numpy(), ref.numpy())
    h.sum().backward()
    ratio = ref.numpy() / x.detach().numpy()
    if "alpha" not in name:
        np.testing.assert_allclose(x.grad.numpy(), ratio, rtol=1e-12)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        _f(ember, name)(x, 0.5, True, True)


@pytest.mark.parametrize("name", F_NAMES)
def test_modules(name):
    cls = MODULES[name]
    for args in ((), (0.2,), (0.3, True)):
        tm, em = getattr(torch.nn, cls)(*args), getattr(ember.nn, cls)(*args)
        assert repr(em) == repr(tm)
        assert list(em.state_dict()) == []
    em = getattr(ember.nn, cls)(0.5)
    x = ember.tensor(rand(*SHAPE[name], low=0.5, high=2.0))
    ember.manual_seed(9)
    y_train = em(x)
    ember.manual_seed(9)
    np.testing.assert_array_equal(y_train.numpy(), _f(ember, name)(x, 0.5, True).numpy())
    assert not np.array_equal(y_train.numpy(), x.numpy())
    em.eval()
    np.testing.assert_array_equal(em(x).numpy(), x.numpy())
    check_raises(lambda t, x: getattr(t.nn, cls)(1.5), x.numpy())


def test_top_level_functions():
    x = rand(3, 4, 5)
    for name in ("dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout"):
        for p, train in ((0.5, False), (0.0, True), (1.0, True)):
            check(lambda t, x, n=name, p=p, train=train: getattr(t, n)(x, p, train), x)
            check(lambda t, x, n=name, p=p, train=train: getattr(t, n + "_")(x * 1, p, train), x)
        check_raises(lambda t, x, n=name: getattr(t, n)(x, 1.5, True), x)
    ember.manual_seed(0)
    y = ember.feature_dropout(ember.ones(30, 40, 3), 0.5, True).numpy()
    assert (y == y[:, :, :1]).all() and 0 < (y == 0).mean() < 1


ERRORS = [
    (lambda t, x: t.nn.functional.dropout(x, 1.5), rand(3)),
    (lambda t, x: t.nn.functional.dropout(x, -0.1), rand(3)),
    (lambda t, x: t.nn.functional.dropout1d(x, 2.0), rand(2, 3)),
    (lambda t, x: t.nn.functional.alpha_dropout(x, -1.0, True), rand(3)),
    (lambda t, x: t.nn.functional.feature_alpha_dropout(x, 1.1), rand(2, 3)),
    (lambda t, x: t.nn.functional.dropout1d(x), rand(3)),
    (lambda t, x: t.nn.functional.dropout1d(x), rand(2, 3, 4, 5)),
    (lambda t, x: t.nn.functional.feature_alpha_dropout(x, 0.5, True), rand(3)),
    (lambda t, x: t.nn.functional.dropout2d(x, 0.5, True), rand(3)),
    (lambda t, x: t.feature_dropout(x, 0.5, True), rand(3)),
    (lambda t, x: t.nn.functional.dropout(x, 0.5, True), np.array([1, 2, 3])),
    (lambda t, x: t.nn.Dropout2d(-0.5), rand(3)),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    fn, x = ERRORS[i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_raises(fn, x)


def test_error_messages():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        ember.nn.functional.dropout(ember.ones(2), 1.5)
    with pytest.raises(RuntimeError, match="Expected 2D or 3D input, but received a 4D input"):
        ember.nn.functional.dropout1d(ember.ones(1, 2, 3, 4))


@pytest.mark.parametrize("name,shape", [("dropout2d", (2, 3, 4)), ("dropout2d", (2, 3)),
                                        ("dropout2d", (2, 3, 4, 5, 6)), ("dropout3d", (2, 3, 4))])
def test_rank_warnings_match_torch(name, shape):
    msgs = []
    for t in (ember, torch):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            _f(t, name)(t.ones(shape), 0.5, False)
        msgs.append([(type(m.message), str(m.message)) for m in w])
    assert msgs[0] == msgs[1] and msgs[0]


def test_no_warning_for_expected_ranks():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.nn.functional.dropout2d(ember.ones(2, 3, 4, 5))
        ember.nn.functional.dropout3d(ember.ones(2, 3, 4, 5))
        ember.nn.functional.dropout1d(ember.ones(2, 3))


def test_empty_input():
    x = ember.ones(0, 3)
    assert ember.nn.functional.dropout(x, 0.5).shape == (0, 3)
    assert_close(ember.nn.functional.dropout(x, 0.5), torch.nn.functional.dropout(
        torch.ones(0, 3), 0.5))
