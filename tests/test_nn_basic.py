"""The layers and losses the training loop needs, against PyTorch (values and gradients)."""
import math

import numpy as np
import pytest
import torch
from helpers import check, check_raises, rand

import ember


def rng_ints(shape, high, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape).astype(np.int64)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_family(fn, dim):
    check(lambda t, x: getattr(t.nn.functional, fn)(x, dim), rand(3, 4, 5))
    check(lambda t, x: getattr(t, fn)(x, dim), rand(3, 4, 5, dtype=np.float32))
    check(lambda t, x: getattr(x, fn)(dim), rand(4, 5))


def test_softmax_large_logits_and_double_backward():
    check(lambda t, x: t.log_softmax(x * 1000, 1), rand(3, 4))

    def second(t, x):
        y = t.softmax(x, 1)
        (g,) = t.autograd.grad((y * y).sum(), x, create_graph=True)
        return g

    check(second, rand(3, 4))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    def f(t, x, w, b):
        return t.nn.functional.linear(x, w, b if bias else None)

    check(f, rand(5, 3), rand(4, 3), rand(4))
    check(f, rand(2, 5, 3), rand(4, 3), rand(4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_and_cross_entropy(reduction):
    x, y = rand(6, 5), rng_ints((6,), 5)
    w = rand(5, low=0.1, high=1.0)
    F = "nn.functional"
    check(lambda t, x, y: _f(t, F).nll_loss(t.log_softmax(x, 1), y, reduction=reduction), x, y)
    check(lambda t, x, y: _f(t, F).cross_entropy(x, y, reduction=reduction), x, y)
    check(lambda t, x, y: _f(t, F).cross_entropy(x, y, weight=t.tensor(w), reduction=reduction),
          x, y)
    y2 = y.copy()
    y2[[1, 4]] = -100
    check(lambda t, x, y: _f(t, F).cross_entropy(x, y, reduction=reduction), x, y2)
    check(lambda t, x, y: _f(t, F).cross_entropy(x, y, t.tensor(w), reduction=reduction,
                                                  label_smoothing=0.2), x, y2)
    check(lambda t, x, y: _f(t, F).cross_entropy(x, y, reduction=reduction,
                                                  label_smoothing=0.1), x, y)
    probs = np.random.default_rng(1).dirichlet(np.ones(5), 6)
    check(lambda t, x, p: _f(t, F).cross_entropy(x, p, reduction=reduction), x, probs)
    check(lambda t, x, y: _f(t, F).cross_entropy(x, y, reduction=reduction),
          rand(2, 5, 3, 4), rng_ints((2, 3, 4), 5))
    check(lambda t, x, y: _f(t, F).cross_entropy(x, y, reduction=reduction),
          rand(5), np.array(3))


def _f(t, path):
    for p in path.split("."):
        t = getattr(t, p)
    return t


def test_loss_errors():
    check_raises(lambda t, x, y: t.nn.functional.cross_entropy(x, y), rand(4, 3), rng_ints((5,), 3))
    check_raises(lambda t, x, y: t.nn.functional.nll_loss(x, y), rand(4, 3), np.array([0, 1, 7, 2]))
    check_raises(lambda t, x, y: t.nn.functional.cross_entropy(x, y, reduction="avg"),
                 rand(4, 3), rng_ints((4,), 3))


def test_weight_requiring_grad_is_refused():
    check_raises(lambda t, x, y: t.nn.functional.nll_loss(
        x, y, weight=t.ones(3, requires_grad=True)), rand(4, 3), rng_ints((4,), 3))


def test_nll_double_backward():
    def f(t, x, y):
        loss = t.nn.functional.cross_entropy(x, y)
        (g,) = t.autograd.grad(loss, x, create_graph=True)
        return (g * g).sum()

    check(f, rand(4, 3), rng_ints((4,), 3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse(reduction):
    check(lambda t, a, b: t.nn.functional.mse_loss(a, b, reduction=reduction), rand(3, 4), rand(3, 4))
    check(lambda t, a, b: t.nn.MSELoss(reduction=reduction)(a, b), rand(5), rand(5, dtype=np.float64))


def test_modules_repr_and_state_dict_match_torch():
    def build(t):
        return t.nn.Sequential(t.nn.Flatten(), t.nn.Linear(64, 32), t.nn.ReLU(),
                               t.nn.Linear(32, 10, bias=False), t.nn.LogSoftmax(dim=1))

    e, r = build(ember), build(torch)
    assert repr(e) == repr(r)
    assert list(e.state_dict()) == list(r.state_dict())
    assert repr(ember.nn.CrossEntropyLoss()) == repr(torch.nn.CrossEntropyLoss())


def test_linear_init_distribution():
    ember.manual_seed(0)
    lin = ember.nn.Linear(400, 300)
    w = lin.weight.detach().numpy()
    bound = 1 / math.sqrt(400)
    assert w.dtype == np.float32 and np.abs(w).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(lin.bias.detach().numpy()).max() <= bound


def test_init_functions():
    t = ember.empty(200, 300)
    ember.nn.init.xavier_uniform_(t)
    a = math.sqrt(6 / 500)
    assert np.abs(t.numpy()).max() <= a and t.numpy().std() > 0.5 * a / math.sqrt(3)
    ember.nn.init.kaiming_normal_(t, nonlinearity="relu")
    assert abs(t.numpy().std() - math.sqrt(2 / 300)) < 0.01
    ember.nn.init.constant_(t, 0.5)
    assert (t.numpy() == 0.5).all()
    ember.nn.init.orthogonal_(t)
    q = t.numpy().astype(np.float64)
    np.testing.assert_allclose(q @ q.T, np.eye(200), atol=1e-5)
    ember.nn.init.trunc_normal_(t, std=1.0, a=-0.5, b=0.5)
    assert np.abs(t.numpy()).max() <= 0.5
    assert ember.nn.init.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain("leaky_relu", 0.2)
    with pytest.raises(ValueError):
        ember.nn.init.xavier_uniform_(ember.empty(3))


def test_training_step_matches_torch():
    """The seed chapter's loop: same weights and data give PyTorch's losses, step after step."""
    def run(t):
        model = t.nn.Sequential(t.nn.Flatten(), t.nn.Linear(784, 128), t.nn.ReLU(),
                                t.nn.Linear(128, 10), t.nn.LogSoftmax(dim=1))
        rng = np.random.default_rng(0)
        with t.no_grad():
            for p in model.parameters():
                p.copy_(t.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.05))
        opt = t.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        crit = t.nn.NLLLoss()
        losses = []
        for _ in range(5):
            x = t.from_numpy(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
            y = t.from_numpy(rng.integers(0, 10, 64))
            opt.zero_grad()
            loss = crit(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    np.testing.assert_allclose(run(ember), run(torch), rtol=2e-5)
