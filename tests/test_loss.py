"""Losses and distances against PyTorch: values, gradients (input and target), reprs, errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import check, check_raises, rand

REDUCTIONS = ("none", "mean", "sum")
DTYPES = (np.float64, np.float32)


def _F(t):
    return t.nn.functional


def _probs(*shape, dtype=np.float64, seed=0):
    return rand(*shape, dtype=dtype, seed=seed, low=0.02, high=0.98)


def _signs(*shape, seed=0):
    return np.where(rand(*shape, seed=seed) > 0, 1.0, -1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(dtype, reduction):
    x, y = rand(4, 5, dtype=dtype), rand(4, 5, dtype=dtype, seed=1)
    check(lambda t, a, b: _F(t).l1_loss(a, b, reduction=reduction), x, y)
    for beta in (1.0, 0.5, 0.0):
        check(lambda t, a, b, beta=beta: _F(t).smooth_l1_loss(a, b, reduction=reduction, beta=beta),
              x, y)
    for delta in (1.0, 0.3, 2.5):
        check(lambda t, a, b, d=delta: _F(t).huber_loss(a, b, reduction=reduction, delta=d), x, y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(dtype, reduction):
    x, y = _probs(3, 4, dtype=dtype), _probs(3, 4, dtype=dtype, seed=1)
    w = rand(3, 4, dtype=dtype, seed=2, low=0.1)
    check(lambda t, a, b: _F(t).binary_cross_entropy(a, b, reduction=reduction), x, y)
    check(lambda t, a, b: _F(t).binary_cross_entropy(a, b, t.from_numpy(w), reduction=reduction),
          x, y)
    check(lambda t, a, b: t.nn.BCELoss(t.from_numpy(w[0]), reduction=reduction)(a, b), x, y)


def test_bce_clamps_log_and_gradient_at_0_and_1():
    x = np.array([0.0, 1.0, 0.5, 1.0, 0.0])
    y = np.array([0.3, 0.4, 0.2, 1.0, 0.0])
    check(lambda t, a, b: _F(t).binary_cross_entropy(a, b, reduction="sum"), x, y, rtol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(dtype, reduction):
    x, y = rand(3, 4, dtype=dtype, low=-30, high=30), _probs(3, 4, dtype=dtype, seed=1)
    w = rand(3, 1, dtype=dtype, seed=2, low=0.1)
    pw = rand(4, dtype=dtype, seed=3, low=0.1, high=3)
    f = _F
    check(lambda t, a, b: f(t).binary_cross_entropy_with_logits(a, b, reduction=reduction), x, y)
    check(lambda t, a, b: f(t).binary_cross_entropy_with_logits(
        a, b, t.from_numpy(w), reduction=reduction, pos_weight=t.from_numpy(pw)), x, y)
    check(lambda t, a, b: t.nn.BCEWithLogitsLoss(
        pos_weight=t.from_numpy(pw), reduction=reduction)(a, b), x, y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", (*REDUCTIONS, "batchmean"))
def test_kl_div(dtype, reduction):
    x = rand(3, 4, dtype=dtype)
    y = _probs(3, 4, dtype=dtype, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda t, a, b: _F(t).kl_div(a, b, reduction=reduction), x, y)
        check(lambda t, a, b: _F(t).kl_div(a, b, reduction=reduction, log_target=True), x,
              np.log(y))
        check(lambda t, a, b: t.nn.KLDivLoss(reduction=reduction, log_target=True)(a, b), x,
              np.log(y))


def test_kl_div_warns_on_mean_and_zero_targets():
    with pytest.warns(UserWarning, match="batchmean"):
        ember.nn.functional.kl_div(ember.zeros(2), ember.ones(2))
    y = np.array([0.0, 0.5, 0.5])
    check(lambda t, a, b: _F(t).kl_div(a, b, reduction="sum"), rand(3), y, grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll(dtype, reduction):
    x = rand(3, 4, dtype=dtype)
    rate = _probs(3, 4, dtype=dtype) * 3
    y = rand(3, 4, dtype=dtype, seed=1, low=0.0, high=4)
    for full in (False, True):
        check(lambda t, a, b, f=full: _F(t).poisson_nll_loss(a, b, full=f, reduction=reduction), x, y)
        check(lambda t, a, b, f=full: t.nn.PoissonNLLLoss(log_input=False, full=f, eps=1e-3,
                                                  reduction=reduction)(a, b), rate, y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll(dtype, reduction):
    x, y = rand(2, 3, 4, dtype=dtype), rand(2, 3, 4, dtype=dtype, seed=1)
    for vshape in ((2, 3, 4), (2, 3), (2, 3, 1), (1, 3, 4)):
        v = _probs(*vshape, dtype=dtype, seed=2)
        for full in (False, True):
            check(lambda t, a, b, c, f=full: _F(t).gaussian_nll_loss(a, b, c, full=f,
                                                             reduction=reduction), x, y, v)
    check(lambda t, a, b: t.nn.GaussianNLLLoss(reduction=reduction)(a, b, 0.7), x, y)


def test_gaussian_nll_clamps_value_not_gradient():
    v = np.array([1e-9, 0.5, 2.0, 1e-7])
    check(lambda t, a, b, c: _F(t).gaussian_nll_loss(a, b, c, eps=1e-6), rand(4), rand(4, seed=1),
          v, rtol=1e-9)
    check(lambda t, a, b: _F(t).gaussian_nll_loss(a, b, 1e-9), rand(4), rand(4, seed=1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_losses(dtype, reduction):
    x1, x2 = rand(6, 5, dtype=dtype), rand(6, 5, dtype=dtype, seed=1)
    s = _signs(6, seed=2).astype(dtype)
    s[0] = 0.0
    check(lambda t, a, b, c: _F(t).cosine_embedding_loss(a, b, c, margin=0.2,
                                                         reduction=reduction),
          x1, x2, s[:, None].repeat(1, 1)[:, 0])
    check(lambda t, a, b, c: t.nn.CosineEmbeddingLoss(reduction=reduction)(a, b, c),
          x1[0], x2[0], np.array(-1.0, dtype=dtype))
    check(lambda t, a, b, c: _F(t).margin_ranking_loss(a, b, c, margin=0.3, reduction=reduction),
          x1[:, 0], x2[:, 0], s)
    check(lambda t, a, b: _F(t).hinge_embedding_loss(a, b, margin=1.5, reduction=reduction),
          x1, _signs(6, 5, seed=3).astype(dtype))
    check(lambda t, a, b: t.nn.HingeEmbeddingLoss(reduction=reduction)(a, b), x1[:, 0], s)
    z = _signs(6, 5, seed=4).astype(dtype)
    check(lambda t, a: _F(t).soft_margin_loss(a, t.from_numpy(z), reduction=reduction), x1)
    check(lambda t, a: t.nn.SoftMarginLoss(reduction=reduction)(a, t.from_numpy(z[0])), x1[0])
    y = _probs(6, 5, dtype=dtype, seed=5)
    w = _probs(5, dtype=dtype, seed=6)
    check(lambda t, a, b: _F(t).multilabel_soft_margin_loss(a, b, reduction=reduction), x1, y)
    check(lambda t, a, b: t.nn.MultiLabelSoftMarginLoss(t.from_numpy(w), reduction=reduction)(
        a, b), x1, y)
    check(lambda t, a, b: _F(t).multilabel_soft_margin_loss(a, b, reduction=reduction), x1[0],
          y[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin(dtype, reduction):
    a, p, n = (rand(5, 4, dtype=dtype, seed=i) for i in range(3))
    for norm_p in (2, 1, 3.0):
        for swap in (False, True):
            check(lambda t, x, y, z, q=norm_p, s=swap: _F(t).triplet_margin_loss(
                x, y, z, margin=0.7, p=q, swap=s, reduction=reduction), a, p, n)
    check(lambda t, x, y, z: t.nn.TripletMarginLoss(reduction=reduction)(x, y, z),
          a[0], p[0], n[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin(dtype, reduction):
    x = rand(6, 4, dtype=dtype)
    y = np.array([0, 3, 1, 2, 3, 0])
    w = _probs(4, dtype=dtype, seed=1)
    for p in (1, 2):
        check(lambda t, a, b, p=p: _F(t).multi_margin_loss(a, b, p=p, margin=0.8,
                                                      reduction=reduction), x, y)
        check(lambda t, a, b, p=p: t.nn.MultiMarginLoss(p=p, weight=t.from_numpy(w),
                                                   reduction=reduction)(a, b), x, y)
    check(lambda t, a, b: _F(t).multi_margin_loss(a, b, reduction=reduction), x[0],
          np.array(2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin(dtype, reduction):
    x = rand(4, 5, dtype=dtype)
    y = np.array([[3, 0, -1, 1, 1], [1, 1, 2, -1, 4], [-1, 0, 0, 0, 0], [0, 1, 2, 3, 4]])
    check(lambda t, a, b: _F(t).multilabel_margin_loss(a, b, reduction=reduction), x, y)
    check(lambda t, a, b: t.nn.MultiLabelMarginLoss(reduction=reduction)(a, b), x[0], y[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_distances(dtype):
    x1, x2 = rand(4, 5, dtype=dtype), rand(4, 5, dtype=dtype, seed=1)
    for p in (2.0, 1.0, 0.5, 3):
        check(lambda t, a, b, p=p: _F(t).pairwise_distance(a, b, p=p), x1, x2)
    check(lambda t, a, b: t.nn.PairwiseDistance(keepdim=True)(a, b), x1, x2)
    check(lambda t, a, b: _F(t).pairwise_distance(a, b), x1[0], x2[0])
    check(lambda t, a, b: _F(t).cosine_similarity(a, b), x1, x2)
    check(lambda t, a, b: _F(t).cosine_similarity(a, b, dim=0), x1, x2[:1])
    check(lambda t, a, b: t.nn.CosineSimilarity(dim=-1, eps=1e-3)(a, b), x1, x2)


def test_cosine_similarity_eps_floor_keeps_gradient():
    x1 = np.array([[1e-9, 0.0], [1.0, 2.0]])
    x2 = np.array([[1.0, 1.0], [3.0, 1.0]])
    check(lambda t, a, b: _F(t).cosine_similarity(a, b), x1, x2, rtol=1e-9)


def test_legacy_reduction_args():
    x, y = rand(3, 4), rand(3, 4, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sa, red in ((None, False), (False, None), (True, True), (False, True)):
            check(lambda t, a, b, sa=sa, r=red: _F(t).l1_loss(a, b, size_average=sa, reduce=r),
                  x, y)
            check(lambda t, a, b, sa=sa, r=red: t.nn.SmoothL1Loss(size_average=sa, reduce=r)(a, b),
                  x, y)
            check(lambda t, a, b, sa=sa, r=red: _F(t).mse_loss(a, b, size_average=sa, reduce=r),
                  x, y)
            check(lambda t, a, sa=sa, r=red: _F(t).cross_entropy(
                a, t.tensor([0, 3, 1]), size_average=sa, reduce=r), x)
            check(lambda t, a, sa=sa, r=red: _F(t).nll_loss(
                a, t.tensor([0, 3, 1]), size_average=sa, reduce=r), x)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        ember.nn.functional.l1_loss(ember.tensor(x), ember.tensor(y), size_average=False)


def test_module_reprs_and_state():
    pairs = [
        ("L1Loss", ()), ("SmoothL1Loss", ()), ("HuberLoss", ()), ("BCELoss", ()),
        ("BCEWithLogitsLoss", ()), ("KLDivLoss", ()), ("PoissonNLLLoss", ()),
        ("GaussianNLLLoss", ()), ("CosineEmbeddingLoss", ()), ("MarginRankingLoss", ()),
        ("HingeEmbeddingLoss", ()), ("SoftMarginLoss", ()), ("MultiLabelSoftMarginLoss", ()),
        ("TripletMarginLoss", ()), ("MultiMarginLoss", ()), ("MultiLabelMarginLoss", ()),
        ("CosineSimilarity", ()), ("PairwiseDistance", ()),
    ]
    for name, args in pairs:
        tm, em = getattr(torch.nn, name)(*args), getattr(ember.nn, name)(*args)
        assert repr(em) == repr(tm)
        assert list(em.state_dict()) == list(tm.state_dict())
    tm = torch.nn.BCEWithLogitsLoss(torch.ones(3), pos_weight=torch.ones(3))
    em = ember.nn.BCEWithLogitsLoss(ember.ones(3), pos_weight=ember.ones(3))
    assert list(em.state_dict()) == list(tm.state_dict())
    for attr in ("reduction", "margin", "p", "eps", "swap"):
        assert getattr(ember.nn.TripletMarginLoss(), attr) == getattr(torch.nn.TripletMarginLoss(),
                                                                       attr)
    assert ember.nn.PairwiseDistance(3).norm == torch.nn.PairwiseDistance(3).norm


def test_second_derivatives():
    x, y = rand(3, 4), _probs(3, 4, seed=1)

    def grad_of_grad(t, a, b, fn):
        (g,) = t.autograd.grad(fn(t, a, b), a, create_graph=True)
        return g

    for fn in (lambda t, a, b: _F(t).binary_cross_entropy_with_logits(a, b),
               lambda t, a, b: _F(t).smooth_l1_loss(a, b, beta=2.0),
               lambda t, a, b: _F(t).multilabel_soft_margin_loss(a, b),
               lambda t, a, b: _F(t).poisson_nll_loss(a, b.detach() * 3, full=True)):
        check(lambda t, a, b, fn=fn: grad_of_grad(t, a, b, fn), x, y)
    check(lambda t, a, b: grad_of_grad(t, a, b, lambda t, a, b: _F(t).binary_cross_entropy(
        t.sigmoid(a), b)), x, y)


def test_errors():
    x, y = rand(3, 4), rand(4)
    check_raises(lambda t, a, b: _F(t).binary_cross_entropy(a, b), _probs(3, 4), _probs(4))
    check_raises(lambda t, a, b: _F(t).binary_cross_entropy(a, b), x, rand(3, 4))
    check_raises(lambda t, a, b: _F(t).binary_cross_entropy_with_logits(a, b), x, y)
    check_raises(lambda t, a, b: _F(t).l1_loss(a, b, reduction="avg"), x, x)
    check_raises(lambda t, a, b: _F(t).kl_div(a, b, reduction="avg"), x, x)
    check_raises(lambda t, a, b: _F(t).smooth_l1_loss(a, b, beta=-1.0), x, x)
    check_raises(lambda t, a, b: _F(t).huber_loss(a, b, delta=0.0), x, x)
    check_raises(lambda t, a, b: _F(t).gaussian_nll_loss(a, b, t.ones(4)), x, x)
    check_raises(lambda t, a, b: _F(t).gaussian_nll_loss(a, b, -t.ones(3, 4)), x, x)
    check_raises(lambda t, a, b: _F(t).gaussian_nll_loss(a, b, -1.0), x, x)
    check_raises(lambda t, a, b: _F(t).gaussian_nll_loss(a, b, 1.0, reduction="x"), x, x)
    check_raises(lambda t, a, b: _F(t).multi_margin_loss(a, b), x, np.array([0, 4, 1]))
    check_raises(lambda t, a, b: _F(t).multi_margin_loss(a, b, p=3), x, np.array([0, 1, 1]))
    check_raises(lambda t, a, b: _F(t).multi_margin_loss(a, b), x, np.array([0, 1]))
    check_raises(lambda t, a, b: _F(t).multilabel_margin_loss(a, b), x, np.array([[0, 5, 1, 1]]))
    check_raises(lambda t, a, b: _F(t).margin_ranking_loss(a, b, b), x, y)
    check_raises(lambda t, a, b: _F(t).triplet_margin_loss(a, a, b), x, y)
    check_raises(lambda t, a, b: _F(t).cosine_embedding_loss(a, a, b), x, x)
    check_raises(lambda t: t.nn.TripletMarginLoss(margin=0.0))
    check_raises(lambda t: t.nn.MultiMarginLoss(p=3))
    check_raises(lambda t, a, b: _F(t).soft_margin_loss(a, b.requires_grad_()), x, x)


def test_size_mismatch_warns():
    for name in ("l1_loss", "smooth_l1_loss", "huber_loss"):
        with pytest.warns(UserWarning, match="target size"):
            getattr(ember.nn.functional, name)(ember.zeros(3, 4), ember.zeros(4))


def _ctc_data(t_max=7, n=4, c=5, s=3, seed=0):
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((t_max, n, c))
    targets = rng.integers(1, c, (n, s))
    targets[0, :2] = targets[0, 2]  # a repeated label needs a blank between its copies
    return raw, targets


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss(dtype, reduction):
    raw, tg = _ctc_data()
    raw = raw.astype(dtype)
    il, tl = [7, 6, 5, 7], [3, 2, 1, 0]
    check(lambda t, x: _F(t).ctc_loss(x.log_softmax(2), t.from_numpy(tg), t.tensor(il),
                                      t.tensor(tl), reduction=reduction), raw)
    check(lambda t, x: t.nn.CTCLoss(reduction=reduction)(x, t.from_numpy(tg), tuple(il),
                                                         tuple(tl)), raw)
    flat = np.concatenate([row[:k] for row, k in zip(tg, tl)])
    check(lambda t, x: _F(t).ctc_loss(x.log_softmax(2), t.from_numpy(flat), il, tl,
                                      blank=0, reduction=reduction), raw)


def test_ctc_loss_blank_unbatched_and_infeasible():
    raw, tg = _ctc_data()
    tg3 = np.where(tg == 3, 0, tg)
    for zero_inf in (False, True):
        check(lambda t, x, z=zero_inf: _F(t).ctc_loss(
            x.log_softmax(2), t.from_numpy(tg3), t.tensor([7, 7, 7, 7]), t.tensor([3, 3, 3, 3]),
            blank=3, reduction="sum", zero_infinity=z), raw)
    check(lambda t, x: _F(t).ctc_loss(x.log_softmax(1), t.from_numpy(tg[1]), t.tensor(6),
                                      t.tensor(3), reduction="none"), raw[:, 0])
    # 3 labels with one repeat need 4 steps: the 2-step sample is impossible (inf or zeroed)
    check(lambda t, x: _F(t).ctc_loss(x.log_softmax(2), t.from_numpy(tg), t.tensor([2, 7, 7, 7]),
                                      t.tensor([3, 3, 3, 3]), reduction="none",
                                      zero_infinity=False), raw, grad=False)
    check(lambda t, x: t.nn.CTCLoss(zero_infinity=True)(
        x.log_softmax(2), t.from_numpy(tg), t.tensor([2, 7, 3, 7]), t.tensor([3, 3, 3, 3])), raw)
    assert repr(ember.nn.CTCLoss(blank=2)) == repr(torch.nn.CTCLoss(blank=2))


def test_ctc_loss_long_sequences():
    raw, tg = _ctc_data(t_max=120, n=8, c=20, s=30, seed=3)
    il = [120, 100, 90, 120, 64, 110, 80, 120]
    tl = [30, 25, 20, 30, 10, 5, 28, 1]
    check(lambda t, x: _F(t).ctc_loss(x.log_softmax(2), t.from_numpy(tg), t.tensor(il),
                                      t.tensor(tl)), raw, rtol=1e-8, atol=1e-10)


def test_ctc_loss_errors():
    raw, tg = _ctc_data()
    lp = raw
    il, tl = np.array([7, 6, 5, 7]), np.array([3, 2, 1, 0])
    check_raises(lambda t, x, a, b, c: _F(t).ctc_loss(x, a, b, c, blank=5), lp, tg, il, tl)
    check_raises(lambda t, x, a, b, c: _F(t).ctc_loss(x, a, b, c), lp, tg, il[:3], tl)
    check_raises(lambda t, x, a, b, c: _F(t).ctc_loss(x, a, b, c), lp, tg, il + 1, tl)
    check_raises(lambda t, x, a, b, c: _F(t).ctc_loss(x, a, b, c), lp, tg, il, tl + 2)

    def double(t, x, a, b, c):
        (g,) = t.autograd.grad(_F(t).ctc_loss(x.log_softmax(2), a, b, c), x, create_graph=True)
        g.sum().backward()

    check_raises(lambda t, x, a, b, c: double(t, x.requires_grad_(), a, b, c), lp, tg, il, tl)


def test_margin_ties_at_the_hinge():
    """At z == 0 exactly the native multi(label) margin losses pass no gradient; clamps do."""
    x = np.array([0.0, 1.0, -1.0, 0.5, 2.0, -0.5])
    w = np.array([0.5, 2.0, 1.0, 1.0, 1.0, 1.0])
    for p in (1, 2):
        check(lambda t, a, b, p=p: _F(t).multi_margin_loss(
            t.stack([a, b]), t.tensor([1, 0]), p=p, weight=t.from_numpy(w)), x, np.zeros(6))
    check(lambda t, a: _F(t).multilabel_margin_loss(a, t.tensor([[1, 3, -1, 0]])),
          np.array([[0.0, 1.0, 0.0, 2.0]]))
    for fn in (lambda t, a, b: _F(t).smooth_l1_loss(a, b, reduction="sum"),
               lambda t, a, b: _F(t).huber_loss(a, b, reduction="sum", delta=0.5),
               lambda t, a, b: _F(t).margin_ranking_loss(a, b, -t.ones(6), reduction="sum"),
               lambda t, a, b: _F(t).hinge_embedding_loss(a, -t.ones(6), reduction="sum")):
        check(fn, x, np.zeros(6))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_fused_float32_and_double_backward(reduction):
    """F.cross_entropy with class indices is one op: float32 values and grads, class weights,
    ignored targets and a spatial dim, and its create_graph backward, as PyTorch's two ops."""
    rng = np.random.default_rng(5)
    x = rand(4, 6, 3, dtype=np.float32, seed=6)
    y = rng.integers(0, 6, (4, 3))
    y[1, 2] = y[3, 0] = -1
    w = rand(6, low=0.2, high=1.0, seed=7).astype(np.float32)
    check(lambda t, x, y: _F(t).cross_entropy(x, y, t.from_numpy(w), ignore_index=-1,
                                              reduction=reduction), x, y)

    def grad_of_grad(t, x, y):
        loss = _F(t).cross_entropy(x, y, t.from_numpy(w.astype(np.float64)), ignore_index=-1,
                                   reduction=reduction)
        (g,) = t.autograd.grad(loss.sum(), x, create_graph=True)
        return (g * g.exp()).sum()
    check(grad_of_grad, x.astype(np.float64), y)
