"""Activation functions and layers against PyTorch: values, gradients, double backward, kinks,
extreme inputs, in-place forms, module reprs and parameters, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
from ember.ops import activation as A
from tests.helpers import assert_close, check, check_raises, rand

# values at every kink of the functions below (0, +-lambda, +-3, 6, thresholds ...)
KINKS = np.array([0.0, 6.0, -1.0, 1.0, -3.0, 3.0, 0.5, -0.5, 20.0, 1.5, -6.0, 2.0, 0.1])
EXTREME = np.array([-1000.0, -100.0, -40.0, -25.0, 25.0, 40.0, 100.0, 1000.0])


def _with_kinks(dtype) -> np.ndarray:
    return np.concatenate([KINKS, rand(27, low=-7.0, high=7.0)]).astype(dtype).reshape(5, 8)


FUNCS = {
    "relu6": lambda F, x: F.relu6(x),
    "leaky_relu": lambda F, x: F.leaky_relu(x),
    "leaky_relu_0.2": lambda F, x: F.leaky_relu(x, 0.2),
    "leaky_relu_neg": lambda F, x: F.leaky_relu(x, -0.3),
    "rrelu_eval": lambda F, x: F.rrelu(x),
    "rrelu_eval_bounds": lambda F, x: F.rrelu(x, 0.1, 0.5, False),
    "elu": lambda F, x: F.elu(x),
    "elu_0.5": lambda F, x: F.elu(x, 0.5),
    "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x),
    "celu_2": lambda F, x: F.celu(x, 2.0),
    "celu_0.5": lambda F, x: F.celu(x, 0.5),
    "gelu": lambda F, x: F.gelu(x),
    "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda F, x: F.silu(x),
    "mish": lambda F, x: F.mish(x),
    "softplus": lambda F, x: F.softplus(x),
    "softplus_beta": lambda F, x: F.softplus(x, 2.0, 3.0),
    "softplus_beta_half": lambda F, x: F.softplus(x, 0.5, 1.0),
    "softsign": lambda F, x: F.softsign(x),
    "hardtanh": lambda F, x: F.hardtanh(x),
    "hardtanh_bounds": lambda F, x: F.hardtanh(x, -3.0, 2.0),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "hardswish": lambda F, x: F.hardswish(x),
    "tanh": lambda F, x: F.tanh(x),
    "sigmoid": lambda F, x: F.sigmoid(x),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "tanhshrink": lambda F, x: F.tanhshrink(x),
    "softshrink": lambda F, x: F.softshrink(x),
    "softshrink_1": lambda F, x: F.softshrink(x, 1.0),
    "hardshrink": lambda F, x: F.hardshrink(x),
    "hardshrink_3": lambda F, x: F.hardshrink(x, 3.0),
    "threshold": lambda F, x: F.threshold(x, 1.5, -2.0),
    "threshold_0": lambda F, x: F.threshold(x, 0.0, 0.0),
    "glu": lambda F, x: F.glu(x),
    "glu_dim0": lambda F, x: F.glu(x[:4], 0),
    "softmin": lambda F, x: F.softmin(x, 1),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_functional_at_kinks(name, dtype):
    fn = FUNCS[name]
    check(lambda t, x: fn(t.nn.functional, x), _with_kinks(dtype))


@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 4)])
@pytest.mark.parametrize("name", sorted(n for n in FUNCS if not n.startswith("glu")))
def test_functional_shapes(name, shape):
    fn = FUNCS[name]
    if name == "softmin" and len(shape) < 2:
        fn = FUNCS["selu"]
    check(lambda t, x: fn(t.nn.functional, x), rand(*shape, low=-5.0, high=5.0))


@pytest.mark.parametrize("name", ["softplus", "softplus_beta", "logsigmoid", "silu", "mish",
                                  "gelu", "gelu_tanh", "elu", "selu", "celu_0.5", "sigmoid",
                                  "hardswish", "tanhshrink", "softsign"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_inputs_stay_finite(name, dtype):
    """Large |x|: no overflow to inf/nan where PyTorch is finite (log_sigmoid, softplus ...)."""
    fn = FUNCS[name]
    out = check(lambda t, x: fn(t.nn.functional, x), EXTREME.astype(dtype))
    assert np.isfinite(out.detach().numpy()).all()


@pytest.mark.parametrize("name", sorted(n for n in FUNCS if n != "softmin"))
def test_double_backward(name):
    fn = FUNCS[name]
    x = np.concatenate([rand(30, low=-7.0, high=7.0), [0.0, 6.0, 3.0, -3.0, 0.5, 1.5]])
    x = np.concatenate([x, [0.25, 0.75, -0.25, -0.75]]).reshape(5, 8)
    w = rand(5, 8, seed=1)
    v = rand(5, 8, seed=2)
    results = []
    for t in (ember, torch):
        xt = t.tensor(x, requires_grad=True)
        y = fn(t.nn.functional, xt)
        (g,) = t.autograd.grad((y * t.tensor(w[: y.shape[0], : y.shape[1]])).sum(), xt,
                               create_graph=True)
        # a piecewise-linear function's gradient is constant: ember records no graph for it
        gg = None
        if g.requires_grad:
            (gg,) = t.autograd.grad((g * t.tensor(v)).sum(), xt, allow_unused=True)
        results.append((g, gg))
        if name == "hardsigmoid":  # PyTorch has no double backward for it; ember's is 0
            assert gg is None or not gg.detach().numpy().any()
            with pytest.raises(RuntimeError, match="not implemented"):
                xt = torch.tensor(x, requires_grad=True)
                (g,) = torch.autograd.grad(fn(torch.nn.functional, xt).sum(), xt,
                                           create_graph=True)
                torch.autograd.grad(g.sum(), xt)
            return
    (eg, egg), (tg, tgg) = results
    assert_close(eg, tg, what="grad")
    if egg is None:  # no graph recorded: PyTorch's grad of grad must then be 0
        assert tgg is None or not tgg.any()
    else:
        assert_close(egg, tgg, what="grad of grad")


def test_gelu_exact_uses_erf():
    """GELU 'none' is x * Phi(x) exactly: it differs from the tanh approximation."""
    x = np.linspace(-4, 4, 101)
    exact = check(lambda t, x: t.nn.functional.gelu(x), x).detach().numpy()
    approx = check(lambda t, x: t.nn.functional.gelu(x, approximate="tanh"), x)
    assert np.abs(exact - approx.detach().numpy()).max() > 1e-5


def test_gelu_float32_tails():
    """float32 GELU (its own erfc, not the float64 erf) matches PyTorch far into both tails and
    keeps a relative accuracy PyTorch's 1 + erf loses for x < -3 (float32 rounding of x^2 in
    exp(-x^2/2) leaves ~1e-5 at x = -12)."""
    x = np.concatenate([np.linspace(-12, 12, 2401), [0.0, -0.0, 1e-30, -1e-30]]).astype(np.float32)
    y = check(lambda t, x: t.nn.functional.gelu(x), x).detach().numpy()
    exact = [v * math.erfc(-v / math.sqrt(2)) / 2 for v in x.astype(float)]
    np.testing.assert_allclose(y, exact, rtol=2e-5, atol=1e-44)
    check(lambda t, x: t.nn.functional.gelu(x.to(t.float16)), x.astype(np.float16))


def test_softplus_threshold_switch():
    """Above threshold / beta softplus is the identity with gradient exactly 1."""
    x = np.array([9.99, 10.0, 10.01, 19.9, 20.0, 20.1, 30.0])
    check(lambda t, x: t.nn.functional.softplus(x, 2.0, 20.0), x)
    check(lambda t, x: t.nn.functional.softplus(x), x)


# ---- in-place forms -------------------------------------------------------------------------

INPLACE = {
    "relu6": lambda F, x: F.relu6(x, inplace=True),
    "hardtanh": lambda F, x: F.hardtanh(x, -0.5, 0.5, True),
    "hardtanh_": lambda F, x: F.hardtanh_(x, -0.5, 0.5),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.2, True),
    "leaky_relu_": lambda F, x: F.leaky_relu_(x, 0.2),
    "rrelu_eval": lambda F, x: F.rrelu(x, inplace=True),
    "rrelu_": lambda F, x: F.rrelu_(x),
    "elu": lambda F, x: F.elu(x, 0.7, True),
    "elu_": lambda F, x: F.elu_(x, 0.7),
    "selu": lambda F, x: F.selu(x, True),
    "selu_": lambda F, x: F.selu_(x),
    "celu": lambda F, x: F.celu(x, 1.5, True),
    "celu_": lambda F, x: F.celu_(x, 1.5),
    "silu": lambda F, x: F.silu(x, True),
    "mish": lambda F, x: F.mish(x, True),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x, True),
    "hardswish": lambda F, x: F.hardswish(x, True),
    "threshold": lambda F, x: F.threshold(x, 0.3, 9.0, True),
    "threshold_": lambda F, x: F.threshold_(x, 0.3, 9.0),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_on_non_leaf(name, dtype):
    fn = INPLACE[name]

    def run(t, x):
        h = x * 1.5
        out = fn(t.nn.functional, h)
        assert out is h
        return out * 2

    check(run, _with_kinks(dtype))


@pytest.mark.parametrize("name", ["elu", "selu_", "threshold", "hardtanh"])
def test_inplace_on_leaf_requiring_grad_raises(name):
    fn = INPLACE[name]
    check_raises(lambda t, x: fn(t.nn.functional, x.requires_grad_()), rand(3))


def test_inplace_leaky_relu_negative_slope_backward_raises():
    """The forward runs; the backward cannot recover the overwritten input's sign."""
    for t in (ember, torch):
        x = t.tensor(rand(4), requires_grad=True)
        y = t.nn.functional.leaky_relu(x * 1, -0.1, True)
        with pytest.raises(RuntimeError, match="negative slope"):
            y.sum().backward()
    check(lambda t, x: t.nn.functional.leaky_relu(x * 1, -0.1, True), rand(4), grad=False)


def test_inplace_without_grad_writes_input():
    x = ember.tensor([-2.0, 0.5, 8.0])
    y = ember.nn.functional.relu6(x, inplace=True)
    assert y is x
    assert x.tolist() == [0.0, 0.5, 6.0]


# ---- top-level functions and Tensor methods --------------------------------------------------


def test_top_level_names_match_torch():
    for name in A.__all__:
        assert hasattr(torch, name), name
        assert getattr(ember, name) is getattr(A, name)
    for name in A.TENSOR_METHODS:
        assert hasattr(torch.Tensor, name), name
        assert hasattr(ember.Tensor, name), name
    for name in ("selu", "celu", "prelu", "rrelu", "hardshrink", "threshold", "threshold_",
                 "selu_", "celu_", "rrelu_"):
        assert name in A.__all__
    for name in ("relu6", "gelu", "silu", "elu", "softplus", "hardtanh", "leaky_relu"):
        assert not hasattr(ember, name), name


@pytest.mark.parametrize("fn", [
    lambda t, x: t.selu(x),
    lambda t, x: t.celu(x, 0.8),
    lambda t, x: t.hardshrink(x, 0.7),
    lambda t, x: x.hardshrink(0.7),
    lambda t, x: x.hardshrink(),
    lambda t, x: t.threshold(x, 0.2, -1.0),
    lambda t, x: t.rrelu(x),
    lambda t, x: t.selu_(x * 1),
    lambda t, x: t.celu_(x * 1, 2.0),
    lambda t, x: t.threshold_(x * 1, 0.2, -1.0),
    lambda t, x: t.rrelu_(x * 1, 0.2, 0.4),
])
def test_top_level_and_methods(fn):
    check(fn, _with_kinks(np.float64))


@pytest.mark.parametrize("shape,wshape", [((2, 3, 4), (3,)), ((2, 3), (1,)), ((2, 3, 4, 5), (3,)),
                                          ((5,), (1,)), ((), (1,)), ((4, 3), ())])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_prelu(shape, wshape, dtype):
    x = rand(*shape, dtype=dtype)
    if x.size:
        x.flat[0] = 0.0
    w = rand(*wshape, dtype=dtype, seed=3)
    check(lambda t, x, w: t.nn.functional.prelu(x, w), x, w)
    check(lambda t, x, w: t.prelu(x, w), x, w)
    check(lambda t, x, w: x.prelu(w), x, w)


def test_int_inputs():
    i = np.array([[-4, 0, 3, 7], [1, -1, 6, 9]], dtype=np.int64)
    for fn in (lambda t, x: t.nn.functional.relu6(x),
               lambda t, x: t.nn.functional.hardtanh(x, 0.5, 2.5),
               lambda t, x: t.nn.functional.threshold(x, 1.5, 5.5),
               lambda t, x: t.nn.functional.softsign(x),
               lambda t, x: t.nn.functional.tanhshrink(x)):
        check(fn, i)


# ---- errors ---------------------------------------------------------------------------------

ERRORS = [
    (lambda t, x: t.nn.functional.celu(x, 0.0), rand(3)),
    (lambda t, x: t.nn.functional.gelu(x, approximate="fast"), rand(3)),
    (lambda t, x: t.nn.functional.softshrink(x, -1.0), rand(3)),
    (lambda t, x: t.nn.functional.glu(x), rand(2, 3)),
    (lambda t, x: t.nn.functional.glu(x), rand()),
    (lambda t, x: t.nn.functional.prelu(x, t.ones(2, dtype=t.float64)), rand(2, 3)),
    (lambda t, x: t.nn.functional.prelu(x, t.ones(3, dtype=t.float64)), rand(3)),
    (lambda t, x: t.nn.functional.prelu(x, t.ones(1, 3, dtype=t.float64)), rand(2, 3)),
    (lambda t, x: t.nn.functional.rrelu(x, 0.5, 0.1, True), rand(3)),
    (lambda t, x: t.nn.functional.hardtanh(x, 2.0, 1.0), rand(3)),
    (lambda t, x: t.nn.Hardtanh(2.0, 1.0), rand(3)),
    (lambda t, x: t.nn.Softmax2d()(x), rand(2, 3)),
    (lambda t, x: t.nn.Softmax2d()(x), rand(1, 2, 3, 4, 5)),
    (lambda t, x: t.nn.functional.relu6(x), np.array([True, False])),
    (lambda t, x: t.nn.functional.threshold(x, 0, 1), np.array([True, False])),
    (lambda t, x: t.nn.functional.softsign(x), np.array([True, False])),
]
KERNEL_ERRORS = ["leaky_relu", "rrelu", "elu", "selu", "celu", "gelu", "silu", "mish",
                 "softplus", "hardsigmoid", "hardswish", "logsigmoid", "softshrink",
                 "hardshrink", "glu"]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    fn, x = ERRORS[i]
    check_raises(fn, x)


@pytest.mark.parametrize("name", KERNEL_ERRORS)
@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_integer_inputs_raise_like_torch(name, dtype):
    x = np.array([1, 0, 3, 2]).astype(dtype)
    err = check_raises(lambda t, x: getattr(t.nn.functional, name)(x), x)
    try:
        getattr(torch.nn.functional, name)(torch.from_numpy(x))
    except Exception as e:  # noqa: BLE001 - the message is what is compared
        assert str(err) == str(e)


def test_error_messages_name_the_problem():
    x = ember.ones(2, 3)
    with pytest.raises(RuntimeError, match="parameter numbers = 2 and channel size = 3"):
        ember.nn.functional.prelu(x, ember.ones(2))
    with pytest.raises(RuntimeError, match="dimension 1 is size 3"):
        ember.nn.functional.glu(x)
    with pytest.raises(RuntimeError, match=r"lambda must be in range \[0, 3.40282e\+38\]"):
        ember.nn.functional.softshrink(x, -1.0)


# ---- RReLU in training mode ------------------------------------------------------------------


def test_rrelu_training_slopes():
    """Training draws one slope in [lower, upper] per non-positive element; the gradient is the
    same slope (values cannot equal PyTorch's: ember's generator is not PyTorch's)."""
    ember.manual_seed(3)
    x = ember.tensor(rand(2000, low=-3.0, high=3.0), requires_grad=True)
    y = ember.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    y.sum().backward()
    xn, yn, gn = x.detach().numpy(), y.detach().numpy(), x.grad.numpy()
    pos = xn > 0
    np.testing.assert_array_equal(yn[pos], xn[pos])
    np.testing.assert_array_equal(gn[pos], 1.0)
    slopes = yn[~pos] / xn[~pos]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert slopes.std() > 0.04  # random, not one mean slope
    np.testing.assert_allclose(gn[~pos], slopes, rtol=1e-12)
    ember.manual_seed(3)
    again = ember.nn.functional.rrelu(x.detach(), 0.1, 0.3, training=True)
    np.testing.assert_array_equal(again.numpy(), yn)


def test_rrelu_module_train_eval():
    m = ember.nn.RReLU(0.1, 0.3)
    x = ember.tensor(-np.ones(500))
    assert np.unique(m(x).numpy()).size > 100
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2)


# ---- modules --------------------------------------------------------------------------------

MODULES = [
    ("ReLU6", ()), ("ReLU6", (True,)),
    ("LeakyReLU", ()), ("LeakyReLU", (0.2, True)),
    ("PReLU", ()), ("PReLU", (3, 0.1)),
    ("RReLU", ()), ("RReLU", (0.1, 0.3, True)),
    ("ELU", ()), ("ELU", (0.5, True)),
    ("SELU", ()), ("SELU", (True,)),
    ("CELU", ()), ("CELU", (2.0, True)),
    ("GELU", ()), ("GELU", ("tanh",)),
    ("SiLU", ()), ("SiLU", (True,)),
    ("Mish", ()), ("Mish", (True,)),
    ("Softplus", ()), ("Softplus", (2, 10)),
    ("Softsign", ()),
    ("Hardtanh", ()), ("Hardtanh", (-2, 2, True)),
    ("Hardsigmoid", ()), ("Hardsigmoid", (True,)),
    ("Hardswish", ()), ("Hardswish", (True,)),
    ("Tanh", ()), ("Sigmoid", ()), ("LogSigmoid", ()), ("Tanhshrink", ()),
    ("Softshrink", ()), ("Softshrink", (1,)),
    ("Hardshrink", ()), ("Hardshrink", (0.3,)),
    ("Threshold", (0.1, 20)), ("Threshold", (0.1, 20.0, True)),
    ("GLU", ()), ("GLU", (2,)),
    ("Softmax2d", ()),
    ("Softmax", (1,)), ("LogSoftmax", (2,)), ("Softmin", (-1,)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,args", MODULES, ids=[f"{n}{a}" for n, a in MODULES])
def test_modules(name, args, dtype):
    tm = getattr(torch.nn, name)(*args)
    em = getattr(ember.nn, name)(*args)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    if dtype == np.float64:
        tm.double()
        em.double()
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    tm.eval()
    em.eval()
    x = rand(2, 3, 4, 6, dtype=dtype, low=-4.0, high=4.0)
    x.flat[:4] = [0.0, 6.0, 3.0, -3.0]
    w = rand(2, 3, 4, 6, dtype=dtype, seed=1)
    outs = []
    for t, m in ((ember, em), (torch, tm)):
        xt = t.tensor(x, requires_grad=True)
        y = m(xt * 1)
        (y * t.tensor(w[tuple(slice(n) for n in y.shape)])).sum().backward()
        outs.append((y, xt.grad, [p.grad for p in m.parameters()]))
    (ey, eg, eps), (ty, tg, tps) = outs
    assert_close(ey, ty)
    assert_close(eg, tg, what="input grad")
    assert len(eps) == len(tps)
    for ep, tp in zip(eps, tps):
        assert_close(ep, tp, what="parameter grad")


def test_prelu_module_parameters():
    tm, em = torch.nn.PReLU(4, 0.3), ember.nn.PReLU(4, 0.3)
    assert em.weight.shape == (4,) and em.weight.requires_grad
    np.testing.assert_allclose(em.weight.detach().numpy(), tm.weight.detach().numpy())
    assert em.weight.dtype == ember.float32
    assert ember.nn.PReLU(2, dtype=ember.float64).weight.dtype == ember.float64
    x = rand(5, 4, 3, dtype=np.float32)
    em.weight.data = ember.tensor(rand(4, dtype=np.float32, seed=5))
    tm.weight.data = torch.tensor(rand(4, dtype=np.float32, seed=5))
    for t, m in ((ember, em), (torch, tm)):
        m(t.tensor(x)).pow(2).sum().backward()
    assert_close(em.weight.grad, tm.weight.grad)
    ember.nn.init.zeros_(em.weight)
    em.reset_parameters()
    np.testing.assert_allclose(em.weight.detach().numpy(), 0.3)


def test_hardtanh_deprecated_keywords():
    with pytest.warns(FutureWarning, match="min_value"):
        m = ember.nn.Hardtanh(min_value=-2.0)
    assert repr(m) == repr(torch.nn.Hardtanh(min_val=-2.0))


def test_modules_in_a_network_state_dict():
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.PReLU(6), torch.nn.Linear(6, 6),
                               torch.nn.GLU(), torch.nn.SELU(), torch.nn.Linear(3, 2))
    enet = ember.nn.Sequential(ember.nn.Linear(4, 6), ember.nn.PReLU(6), ember.nn.Linear(6, 6),
                               ember.nn.GLU(), ember.nn.SELU(), ember.nn.Linear(3, 2))
    assert repr(enet) == repr(tnet)
    enet.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tnet.state_dict().items()})
    x = rand(8, 4, dtype=np.float32)
    ey, ty = enet(ember.tensor(x)), tnet(torch.tensor(x))
    assert_close(ey, ty)
    ey.sum().backward()
    ty.sum().backward()
    for (n, ep), (_, tp) in zip(enet.named_parameters(), tnet.named_parameters()):
        assert_close(ep.grad, tp.grad, what=n)
