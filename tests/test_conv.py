"""Convolutions, transposed convolutions, padding and unfold/fold against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close, check, check_raises, rand

import ember

# torch's intra-op threads only add overhead (and contention) on these small convolutions
torch.set_num_threads(1)
# torch's performance note about its own kernel for padding='same' with even kernels
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

# ---- functional convolutions --------------------------------------------------------------

CONV2D = [
    # (input shape, weight shape, kwargs)
    ((2, 3, 7, 6), (4, 3, 3, 2), {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((1, 3, 9, 8), (4, 3, 3, 2), {"stride": (2, 3), "padding": (1, 2), "dilation": (2, 1)}),
    ((2, 4, 7, 6), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((2, 4, 7, 6), (8, 1, 3, 3), {"groups": 4, "stride": 2}),  # depthwise, multiplier 2
    ((2, 4, 6, 6), (4, 1, 5, 5), {"groups": 4, "padding": 2}),  # depthwise
    ((2, 3, 7, 6), (5, 3, 4, 3), {"padding": "same", "dilation": 2}),
    ((2, 3, 7, 6), (5, 3, 2, 2), {"padding": "same"}),  # even kernel: asymmetric padding
    ((2, 3, 7, 6), (5, 3, 3, 3), {"padding": "valid"}),
    ((2, 3, 5, 5), (4, 3, 1, 1), {"stride": 2}),
    ((3, 7, 6), (4, 3, 3, 3), {"padding": 1}),  # unbatched
    ((2, 3, 5, 5), (4, 3, 5, 5), {}),  # kernel covers the whole input
]


# shapes that take the unrolled-rows path (ember.ops.conv._by_rows): small channel counts
# with a tall kernel against many output rows, strides/dilation off the first dim, 3-D
BY_ROWS = [
    ((40, 3, 30, 17), (16, 3, 7, 3), {"padding": (3, 1), "stride": (1, 2), "dilation": (1, 2)}),
    ((24, 2, 40, 12), (16, 2, 7, 3), {"padding": (3, 1), "stride": (2, 1)}),
    ((10, 2, 24, 6, 5), (16, 2, 7, 3, 3), {"padding": (3, 1, 1)}),
    ((30, 2, 24, 6, 5), (16, 2, 7, 3, 2), {"padding": (3, 1, 0), "stride": (1, 2, 1),
                                            "dilation": (1, 1, 2)}),
]


@pytest.mark.parametrize(("xs", "ws", "kw"), BY_ROWS)
def test_conv_unrolled_rows(xs, ws, kw):
    from ember.ops import conv

    nd = len(ws) - 2
    tup = lambda v: v if isinstance(v, tuple) else (v,) * nd
    cfg = (tup(kw.get("stride", 1)), tuple((p, p) for p in tup(kw.get("padding", 0))),
           tup(kw.get("dilation", 1)), 1)
    out = conv._out_size(xs[2:], ws[2:], cfg)
    assert conv._by_rows(xs, ws[0], ws[2:], out, cfg)  # the case still covers that path
    fn = {2: "conv2d", 3: "conv3d"}[nd]
    check(lambda t, x, w, b: getattr(t.nn.functional, fn)(x, w, b, **kw), rand(*xs),
          rand(*ws, seed=1), rand(ws[0], seed=3))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("xs", "ws", "kw"), CONV2D)
def test_conv2d(xs, ws, kw, bias):
    b = rand(ws[0], seed=3) if bias else None
    check(lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, **kw), rand(*xs), rand(*ws, seed=1),
          b)


CONV1D = [
    ((2, 3, 9), (4, 3, 3), {}),
    ((2, 4, 11), (6, 2, 4), {"stride": 3, "padding": 2, "dilation": 2, "groups": 2}),
    ((2, 4, 9), (4, 1, 3), {"groups": 4, "padding": "same"}),
    ((3, 9), (2, 3, 2), {"padding": "same", "dilation": 3}),  # unbatched
]


@pytest.mark.parametrize(("xs", "ws", "kw"), CONV1D)
def test_conv1d(xs, ws, kw):
    check(lambda t, x, w, b: t.nn.functional.conv1d(x, w, b, **kw), rand(*xs), rand(*ws, seed=1),
          rand(ws[0], seed=2))


CONV3D = [
    ((2, 2, 4, 5, 4), (3, 2, 2, 3, 2), {}),
    ((1, 4, 5, 6, 5), (4, 2, 3, 3, 3), {"stride": (1, 2, 1), "padding": 1, "groups": 2}),
    ((2, 2, 5, 5, 6), (2, 2, 2, 2, 3), {"dilation": (2, 1, 2), "padding": "same"}),
    ((2, 4, 5, 5), (3, 2, 2, 2, 2), {}),  # unbatched
]


@pytest.mark.parametrize(("xs", "ws", "kw"), CONV3D)
def test_conv3d(xs, ws, kw):
    check(lambda t, x, w, b: t.conv3d(x, w, b, **kw), rand(*xs), rand(*ws, seed=1),
          rand(ws[0], seed=2))


CONV_T = [
    # (nd, input shape, weight shape, kwargs)
    (1, (2, 3, 5), (3, 2, 3), {}),
    (1, (2, 4, 5), (4, 3, 3), {"stride": 3, "padding": 1, "output_padding": 2, "groups": 2}),
    (1, (4, 6), (4, 2, 2), {"stride": 2, "dilation": 2, "output_padding": 1}),
    (2, (2, 3, 4, 5), (3, 2, 3, 3), {}),
    (2, (2, 4, 5, 6), (4, 3, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1,
                                     "groups": 2, "dilation": 2}),
    (2, (1, 3, 4, 4), (3, 2, 4, 4), {"stride": (2, 3), "padding": (1, 0),
                                     "output_padding": (1, 2)}),
    (2, (2, 4, 4, 4), (4, 1, 3, 3), {"stride": 2, "groups": 4}),  # depthwise
    (2, (3, 4, 5), (3, 2, 3, 3), {"stride": 2}),  # unbatched
    (2, (1, 2, 3, 3), (2, 2, 3, 3), {"dilation": 3, "output_padding": 2}),  # op < dilation
    (3, (1, 2, 3, 4, 3), (2, 3, 2, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    (3, (1, 4, 3, 3, 3), (4, 1, 2, 2, 2), {"groups": 2, "dilation": (1, 2, 1)}),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("nd", "xs", "ws", "kw"), CONV_T)
def test_conv_transpose(nd, xs, ws, kw, bias):
    b = rand(ws[1] * kw.get("groups", 1), seed=2) if bias else None
    check(lambda t, x, w, b: getattr(t.nn.functional, f"conv_transpose{nd}d")(x, w, b, **kw),
          rand(*xs), rand(*ws, seed=1), b)


def test_conv_float32():
    x, w, b = rand(2, 3, 9, 8, dtype=np.float32), rand(5, 3, 3, 3, dtype=np.float32, seed=1), \
        rand(5, dtype=np.float32, seed=2)
    check(lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, stride=2, padding=1), x, w, b,
          rtol=1e-4, atol=1e-4)
    check(lambda t, x, w, b: t.conv_transpose2d(x[:, :, :4], w.transpose(0, 1), b, stride=2,
                                                output_padding=1), x, w, b, rtol=1e-4, atol=1e-4)
    y = ember.conv2d(ember.from_numpy(x), ember.from_numpy(w))
    assert y.dtype == ember.float32


def test_partial_requires_grad():
    x, w, b = rand(2, 3, 6, 5), rand(4, 3, 3, 3, seed=1), rand(4, seed=2)
    check(lambda t, x, w, b: t.conv2d(x.detach(), w, b, padding=1), x, w, b)
    check(lambda t, x, w, b: t.conv2d(x, w.detach(), b.detach(), stride=2), x, w, b)
    check(lambda t, x, w, b: t.conv_transpose2d(x[:, :3], w.detach().transpose(0, 1), b), x, w,
          b)


def test_conv_integer():
    x, w = rand(1, 2, 5, 5, dtype=np.int64), rand(3, 2, 2, 2, dtype=np.int64, seed=1)
    check(lambda t, x, w: t.conv2d(x, w, stride=2, padding=1), x, w, grad=False)


def test_torch_names():
    x, w = rand(1, 2, 5), rand(3, 2, 2, seed=1)
    check(lambda t, x, w: t.conv1d(x, w, None, 1, 1), x, w)
    check(lambda t, x, w: t.conv_transpose1d(x, w, stride=2), rand(1, 3, 5), w)
    check(lambda t, x: t.constant_pad_nd(x, (1, 2), 3.0), x)


# ---- double backward ----------------------------------------------------------------------


def test_gradient_penalty_conv():
    def fn(t, x, w, b):
        y = t.nn.functional.conv2d(x, w, b, stride=2, padding=1, groups=2)
        (g,) = t.autograd.grad((y * y).sum(), x, create_graph=True)
        return (g * g).sum()
    check(fn, rand(2, 4, 7, 6), rand(6, 2, 3, 3, seed=1), rand(6, seed=2))


def test_double_backward_weight_and_transposed():
    def fn(t, x, w, b):
        y = t.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)
        gx, gw = t.autograd.grad((y ** 3).sum(), (x, w), create_graph=True)
        return (gx * gx).sum() + (gw * gw).sum()
    check(fn, rand(2, 4, 5, 6), rand(4, 3, 3, 2, seed=1), rand(3, seed=2))

    def fn3(t, x, w):
        y = t.conv3d(x, w, dilation=(1, 2, 1), padding=1)
        (gw,) = t.autograd.grad(y.tanh().sum(), w, create_graph=True)
        return gw.sin()
    check(fn3, rand(1, 2, 3, 5, 3), rand(2, 2, 2, 2, 2, seed=1))


def test_gradcheck():
    x = ember.tensor(rand(1, 2, 5, 4), requires_grad=True)
    w = ember.tensor(rand(4, 1, 2, 2, seed=1), requires_grad=True)
    b = ember.tensor(rand(4, seed=2), requires_grad=True)
    fn = lambda x, w, b: ember.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2)
    assert ember.autograd.gradcheck(fn, (x, w, b))
    assert ember.autograd.gradgradcheck(fn, (x, w, b))
    wt = ember.tensor(rand(2, 3, 2, 2, seed=1), requires_grad=True)
    fn_t = lambda x, w: ember.conv_transpose2d(x, w, stride=2, output_padding=1)
    assert ember.autograd.gradcheck(fn_t, (x, wt))
    assert ember.autograd.gradgradcheck(fn_t, (x, wt))


# ---- padding ------------------------------------------------------------------------------

PADS = [
    ("constant", (2, 5), (1, 2)),
    ("constant", (2, 3, 4), (1, -1, 0, 2, 1, 1)),
    ("constant", (2, 3, 4, 5), (-1, -2, 1, 0, 0, 0, 2, 1)),
    ("constant", (3, 4), (0, 0, 0, 0)),
    ("reflect", (3, 6), (2, 3)),
    ("reflect", (2, 3, 6), (2, -1)),
    ("reflect", (2, 4, 5), (1, 3, 2, 2)),
    ("reflect", (1, 2, 4, 5), (1, 3, 2, 2)),
    ("reflect", (1, 2, 3, 4, 5), (1, 3, 2, 2, 1, 0)),
    ("replicate", (2, 3, 6), (3, 2)),
    ("replicate", (2, 3, 4, 5), (1, 2, -1, 3)),
    ("replicate", (2, 3, 4, 5), (2, 2, 3, 1, 1, 2)),
    ("circular", (2, 3, 6), (3, 6)),
    ("circular", (2, 3, 6), (-1, 2)),
    ("circular", (3, 4, 5), (2, 1, 1, 3)),
    ("circular", (1, 2, 3, 4, 5), (1, 2, 3, 1, 2, 1)),
]


@pytest.mark.parametrize(("mode", "shape", "pads"), PADS)
def test_pad(mode, shape, pads):
    check(lambda t, x: t.nn.functional.pad(x, pads, mode=mode), rand(*shape))


def test_pad_value_dtype_and_double_backward():
    check(lambda t, x: t.nn.functional.pad(x, (1, 1, 2, 0), value=-1.5), rand(2, 3))
    check(lambda t, x: t.nn.functional.pad(x, (1, 2), value=7), rand(2, 3, dtype=np.int64))
    check(lambda t, x: t.nn.functional.pad(x, (1, 2), mode="reflect"),
          rand(2, 3, dtype=np.float32))
    for mode in ("constant", "reflect", "replicate", "circular"):
        def fn(t, x, mode=mode):
            y = t.nn.functional.pad(x, (2, 1, 1, 2), mode=mode)
            (g,) = t.autograd.grad((y ** 3).sum(), x, create_graph=True)
            return g * g
        check(fn, rand(2, 3, 4))


# ---- unfold / fold ------------------------------------------------------------------------

FOLDS = [
    ((2, 3, 7, 8), (7, 8), {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1,
                            "stride": (2, 1)}),
    ((1, 2, 5, 5), (5, 5), {"kernel_size": 3}),
    ((2, 4, 6), (4, 6), {"kernel_size": 2, "stride": 2}),  # unbatched
]


@pytest.mark.parametrize(("xs", "size", "kw"), FOLDS)
def test_unfold_fold(xs, size, kw):
    check(lambda t, x: t.nn.functional.unfold(x, **kw), rand(*xs))
    cols = torch.nn.functional.unfold(torch.zeros(xs), **kw).shape
    check(lambda t, c: t.nn.functional.fold(c, size, **kw), rand(*cols))
    check(lambda t, x: t.nn.Fold(size, **kw)(t.nn.Unfold(**kw)(x)), rand(*xs))
    assert repr(ember.nn.Unfold(**kw)) == repr(torch.nn.Unfold(**kw))
    assert repr(ember.nn.Fold(size, **kw)) == repr(torch.nn.Fold(size, **kw))


def test_unfold_double_backward():
    def fn(t, x):
        y = t.nn.functional.unfold(x, 2, padding=1)
        (g,) = t.autograd.grad((y ** 3).sum(), x, create_graph=True)
        return g * g
    check(fn, rand(2, 2, 4, 5))


# ---- modules ------------------------------------------------------------------------------


def _load(em, tm):
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def _compare_module(em, tm, x: np.ndarray, *, tol=None, **call):
    _load(em, tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    ex = ember.from_numpy(x.copy()).requires_grad_()
    tx = torch.from_numpy(x.copy()).requires_grad_()
    ey, ty = em(ex, **call), tm(tx, **call)
    assert_close(ey, ty, tol, tol)
    w = np.random.default_rng(0).standard_normal(ty.shape).astype(x.dtype)
    (ey * ember.from_numpy(w)).sum().backward()
    (ty * torch.from_numpy(w)).sum().backward()
    assert_close(ex.grad, tx.grad, tol, tol, what="input grad")
    for (name, ep), tp in zip(em.named_parameters(), tm.parameters()):
        assert_close(ep.grad, tp.grad, tol, tol, what=f"grad of {name}")


MODULES = [
    ("Conv1d", (3, 4, 3), {"padding": 1, "padding_mode": "circular"}, (2, 3, 9)),
    ("Conv1d", (4, 6, 2), {"stride": 2, "groups": 2, "bias": False}, (2, 4, 9)),
    ("Conv2d", (1, 6, 5), {"padding": 2}, (2, 1, 12, 12)),
    ("Conv2d", (3, 4, 3), {"padding": (1, 2), "padding_mode": "reflect"}, (2, 3, 6, 7)),
    ("Conv2d", (3, 4, (2, 3)), {"padding": "same", "padding_mode": "replicate",
                                "dilation": 2}, (2, 3, 6, 7)),
    ("Conv2d", (4, 4, 3), {"padding": "same", "padding_mode": "circular", "groups": 4},
     (1, 4, 5, 6)),
    ("Conv2d", (4, 8, 3), {"stride": 2, "padding": "valid", "groups": 2}, (4, 7, 7)),
    ("Conv3d", (2, 4, 3), {"padding": 1, "padding_mode": "zeros"}, (1, 2, 4, 5, 4)),
    ("Conv3d", (2, 2, 2), {"padding": 1, "padding_mode": "replicate", "stride": 2},
     (1, 2, 4, 5, 4)),
    ("ConvTranspose1d", (3, 4, 3), {"stride": 2, "output_padding": 1}, (2, 3, 5)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2, "dilation": 2},
     (2, 4, 4, 5)),
    ("ConvTranspose2d", (3, 2, (2, 3)), {"bias": False}, (3, 4, 4)),
    ("ConvTranspose3d", (2, 2, 2), {"stride": (1, 2, 2), "output_padding": (0, 1, 0)},
     (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "args", "kw", "xs"), MODULES)
def test_modules(name, args, kw, xs, dtype):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    tm = getattr(torch.nn, name)(*args, **kw, dtype=tdt)
    em = getattr(ember.nn, name)(*args, **kw, dtype=getattr(ember, str(tdt)[6:]))
    assert repr(em) == repr(tm)
    assert [(n, tuple(p.shape)) for n, p in em.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    _compare_module(em, tm, rand(*xs, dtype=dtype), tol=1e-4 if dtype == np.float32 else None)


def test_conv_transpose_output_size():
    tm = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=torch.float64)
    em = ember.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=ember.float64)
    x = rand(2, 3, 4, 5)
    for size in [(8, 10), (2, 2, 8, 9), [7, 9]]:
        _compare_module(em, tm, x, output_size=size)
    check_raises(lambda t, x: t.nn.ConvTranspose2d(3, 2, 3, stride=2)(x, output_size=(13, 13)),
                 rand(1, 3, 5, 5, dtype=np.float32))
    check_raises(lambda t, x: t.nn.ConvTranspose2d(3, 2, 3, stride=2)(x, output_size=(1, 11, 11)),
                 rand(1, 3, 5, 5, dtype=np.float32))


def test_default_init_statistics():
    """kaiming_uniform_(a=sqrt(5)) gives U(+-1/sqrt(fan_in)) for weight and bias alike."""
    ember.manual_seed(0)  # unseeded, 16 biases all fell inside 0.8 of the bound 2.8% of runs
    m = ember.nn.Conv2d(8, 16, 3)
    bound = 1 / np.sqrt(8 * 9)
    for p in (m.weight, m.bias):
        v = p.detach().numpy()
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.8 * bound
    mt = ember.nn.ConvTranspose2d(8, 16, 3, groups=2)
    assert tuple(mt.weight.shape) == (8, 8, 3, 3)
    assert np.abs(mt.bias.detach().numpy()).max() <= 1 / np.sqrt(8 * 9)
    assert m.weight.dtype == ember.float32 and m.weight.requires_grad


def test_reprs():
    cases = [
        ("Conv2d", (1, 6, 5), {"padding": 2}),
        ("Conv2d", (3, 6, 3), {"padding": "same", "padding_mode": "reflect", "bias": False}),
        ("Conv2d", (4, 8, 3), {"padding": "valid", "dilation": 2, "groups": 4}),
        ("Conv1d", (3, 6, 3), {"padding": 1, "padding_mode": "circular"}),
        ("Conv3d", (3, 6, (1, 2, 3)), {"stride": (1, 2, 1)}),
        ("ConvTranspose2d", (3, 6, 3), {"stride": 2, "output_padding": 1, "groups": 3,
                                        "bias": False, "dilation": 2}),
        ("ConvTranspose1d", (3, 6, 3), {}),
    ]
    for name, args, kw in cases:
        assert repr(getattr(ember.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args,
                                                                                         **kw))


def test_lenet_state_dict_from_torch():
    def net(t):
        nn = t.nn
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.Conv2d(6, 16, 5),
                             nn.ReLU(), nn.Flatten(), nn.Linear(16 * 10 * 10, 10))
    torch.manual_seed(0)
    tm, em = net(torch), net(ember)
    assert repr(em) == repr(tm)
    _compare_module(em, tm, rand(3, 1, 14, 14, dtype=np.float32), tol=1e-4)


# ---- errors -------------------------------------------------------------------------------

F32 = np.float32


@pytest.mark.parametrize(("fn", "shapes"), [
    (lambda t, x, w: t.conv2d(x, w), [(1, 4, 28, 28), (6, 3, 5, 5)]),  # channel mismatch
    (lambda t, x, w: t.conv2d(x, w), [(1, 3, 2, 2, 2), (6, 3, 1, 1)]),  # input rank
    (lambda t, x, w: t.conv2d(x, w), [(1, 3, 5, 5), (6, 3, 3)]),  # weight rank
    (lambda t, x, w: t.conv2d(x, w), [(1, 3, 2, 2), (6, 3, 3, 3)]),  # kernel > input
    (lambda t, x, w: t.conv2d(x, w, groups=2), [(1, 4, 5, 5), (3, 2, 3, 3)]),
    (lambda t, x, w: t.conv2d(x, w, groups=0), [(1, 4, 5, 5), (4, 4, 3, 3)]),
    (lambda t, x, w: t.conv2d(x, w, stride=(1, 1, 1)), [(1, 4, 5, 5), (4, 4, 3, 3)]),
    (lambda t, x, w: t.conv2d(x, w, stride=0), [(1, 4, 5, 5), (4, 4, 3, 3)]),
    (lambda t, x, w: t.conv2d(x, w, padding=-1), [(1, 4, 5, 5), (4, 4, 3, 3)]),
    (lambda t, x, w: t.conv2d(x, w, dilation=0), [(1, 4, 5, 5), (4, 4, 3, 3)]),
    (lambda t, x, w: t.conv2d(x, w, padding="foo"), [(1, 4, 5, 5), (4, 4, 3, 3)]),
    (lambda t, x, w: t.conv2d(x, w, stride=2, padding="same"), [(1, 4, 5, 5), (4, 4, 3, 3)]),
    (lambda t, x, w: t.conv2d(x, w, w[0, 0, 0]), [(1, 4, 5, 5), (4, 4, 3, 3)]),  # bias size
    (lambda t, x, w: t.conv2d(x, w.double()), [(1, 4, 5, 5), (4, 4, 3, 3)]),  # dtype
    (lambda t, x, w: t.conv_transpose2d(x, w), [(1, 3, 5, 5), (4, 4, 3, 3)]),
    (lambda t, x, w: t.conv_transpose2d(x, w, output_padding=1), [(1, 4, 5, 5), (4, 4, 3, 3)]),
    (lambda t, x, w: t.conv_transpose2d(x, w, padding=3), [(1, 4, 1, 1), (4, 4, 3, 3)]),
    (lambda t, x, w: t.nn.functional.unfold(x, 6), [(1, 2, 4, 5), (1,)]),
    (lambda t, x, w: t.nn.functional.fold(x, (4, 5), 2), [(1, 8, 11), (1,)]),
    (lambda t, x, w: t.nn.functional.fold(x, (4, 5), 2), [(1, 7, 12), (1,)]),
])
def test_functional_errors(fn, shapes):
    check_raises(fn, *[rand(*s, dtype=F32) for s in shapes])


def test_channel_message():
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[6, 3, 5, 5\], "
                       r"expected input\[1, 4, 28, 28\] to have 3 channels, but got 4 channels "
                       "instead"):
        ember.conv2d(ember.zeros(1, 4, 28, 28), ember.zeros(6, 3, 5, 5))
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D \\(batched\\) "
                       "input to conv2d"):
        ember.conv2d(ember.zeros(28, 28), ember.zeros(6, 3, 5, 5))


@pytest.mark.parametrize(("fn", "shape"), [
    (lambda t, x: t.nn.functional.pad(x, (1,)), (2, 5)),
    (lambda t, x: t.nn.functional.pad(x, (1, 1) * 3), (2, 5)),
    (lambda t, x: t.nn.functional.pad(x, (5, 5), mode="reflect"), (1, 1, 5)),
    (lambda t, x: t.nn.functional.pad(x, (6, 5), mode="circular"), (1, 1, 5)),
    (lambda t, x: t.nn.functional.pad(x, (1, 1), mode="reflect", value=2), (1, 1, 5)),
    (lambda t, x: t.nn.functional.pad(x, (1, 1), mode="foo"), (1, 1, 5)),
    (lambda t, x: t.nn.functional.pad(x, (1, 1), mode="reflect"), (5,)),
    (lambda t, x: t.nn.functional.pad(x, (1, 1), mode="replicate"), (2, 2, 2, 5)),
    (lambda t, x: t.nn.functional.pad(x, (1, 1) * 3, mode="circular"), (2, 2, 5)),
    (lambda t, x: t.nn.functional.pad(x, (-3, -3)), (2, 5)),
    (lambda t, x: t.nn.functional.pad(x, (1.5, 1)), (2, 5)),
])
def test_pad_errors(fn, shape):
    check_raises(fn, rand(*shape, dtype=F32))


@pytest.mark.parametrize(("name", "args", "kw"), [
    ("Conv2d", (4, 4, 3), {"groups": 3}),
    ("Conv2d", (4, 5, 3), {"groups": 2}),
    ("Conv2d", (4, 4, 3), {"groups": 0}),
    ("Conv2d", (4, 4, 3), {"padding": "same", "stride": 2}),
    ("Conv1d", (4, 4, 3), {"padding": "foo"}),
    ("Conv3d", (4, 4, 3), {"padding_mode": "foo"}),
    ("ConvTranspose2d", (4, 4, 3), {"padding_mode": "reflect"}),
])
def test_module_errors(name, args, kw):
    check_raises(lambda t: getattr(t.nn, name)(*args, **kw))
