"""nn.utils gradient clipping and parameter-vector helpers against PyTorch."""
import math

import numpy as np
import pytest
import torch
from helpers import assert_close, check, check_raises, rand

import ember


def _models(dtype=np.float64):
    """The same small model in both libraries, with torch's random gradients copied over."""
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    edt = ember.float64 if dtype == np.float64 else ember.float32
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3),
                             torch.nn.Linear(3, 2, bias=False)).to(tdt)
    em = ember.nn.Sequential(ember.nn.Linear(4, 5), ember.nn.Tanh(), ember.nn.Linear(5, 3),
                             ember.nn.Linear(3, 2, bias=False)).to(edt)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = rand(6, 4, dtype=dtype)
    tm(torch.from_numpy(x)).pow(2).sum().backward()
    for ep, tp in zip(em.parameters(), tm.parameters()):
        ep.grad = ember.tensor(tp.grad.numpy().copy())
    return em, tm


def _same_grads(em, tm):
    for ep, tp in zip(em.parameters(), tm.parameters()):
        assert_close(ep.grad, tp.grad, what="clipped grad")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, "inf", 0.0, -math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm(norm_type, max_norm, dtype):
    em, tm = _models(dtype)
    e = ember.nn.utils.clip_grad_norm_(em.parameters(), max_norm, norm_type=norm_type)
    t = torch.nn.utils.clip_grad_norm_(tm.parameters(), max_norm, norm_type=norm_type)
    assert_close(e, t, what="total norm")
    _same_grads(em, tm)


def test_clip_grad_norm_single_tensor_none_grads_and_empty():
    em, tm = _models()
    em[2].bias.grad = None
    tm[2].bias.grad = None
    assert_close(ember.nn.utils.clip_grad_norm_(em[0].weight, 0.1),
                 torch.nn.utils.clip_grad_norm_(tm[0].weight, 0.1))
    assert_close(ember.nn.utils.clip_grad_norm_(list(em.parameters()), 0.3, foreach=True),
                 torch.nn.utils.clip_grad_norm_(list(tm.parameters()), 0.3, foreach=True))
    _same_grads(em, tm)
    assert em[2].bias.grad is None
    p, q = ember.nn.Parameter(ember.ones(3)), torch.nn.Parameter(torch.ones(3))
    assert_close(ember.nn.utils.clip_grad_norm_([p], 1.0), torch.nn.utils.clip_grad_norm_([q], 1.0))
    assert_close(ember.nn.utils.clip_grad_norm_([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0))


def test_clip_grad_norm_mixed_dtypes():
    ps = [ember.nn.Parameter(ember.ones(2)), ember.nn.Parameter(ember.ones(2, dtype=ember.float64))]
    qs = [torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2, dtype=torch.float64))]
    for p, q in zip(ps, qs):
        p.grad, q.grad = p.detach() * 3, q.detach() * 3
    assert_close(ember.nn.utils.clip_grad_norm_(ps, 1.0), torch.nn.utils.clip_grad_norm_(qs, 1.0))
    for p, q in zip(ps, qs):
        assert_close(p.grad, q.grad)


def test_clip_grad_norm_nonfinite():
    def run(t, g):
        p = _param_with_grad(t, g)
        return t.nn.utils.clip_grad_norm_([p], 1.0), p.grad

    g = np.array([np.inf, 1.0, 2.0])
    check(run, g, grad=False)
    check_raises(lambda t, g: t.nn.utils.clip_grad_norm_(
        [_param_with_grad(t, g)], 1.0, error_if_nonfinite=True), g)
    check_raises(lambda t, g: t.nn.utils.clip_grad_norm_(
        [_param_with_grad(t, g)], 1.0, error_if_nonfinite=True), np.array([np.nan, 1.0]))
    check(run, np.array([np.nan, 1.0]), grad=False)


def _param_with_grad(t, g):
    p = t.nn.Parameter(t.zeros(g.shape, dtype=g.dtype))
    p.grad = g
    return p


def test_get_total_norm_and_clip_grads_with_norm():
    em, tm = _models()
    eg = [p.grad for p in em.parameters()]
    tg = [p.grad for p in tm.parameters()]
    for nt in [2.0, 1.0, math.inf]:
        assert_close(ember.nn.utils.get_total_norm(eg, nt), torch.nn.utils.get_total_norm(tg, nt))
    assert_close(ember.nn.utils.get_total_norm(eg[0]), torch.nn.utils.get_total_norm(tg[0]))
    e = ember.nn.utils.get_total_norm(eg)
    t = torch.nn.utils.get_total_norm(tg)
    assert ember.nn.utils.clip_grads_with_norm_(em.parameters(), 0.25, e) is None
    torch.nn.utils.clip_grads_with_norm_(tm.parameters(), 0.25, t)
    _same_grads(em, tm)
    e, t = e * 0.01, t * 0.01  # a norm below max_norm leaves the gradients as they are
    ember.nn.utils.clip_grads_with_norm_(em.parameters(), 0.25, e)
    torch.nn.utils.clip_grads_with_norm_(tm.parameters(), 0.25, t)
    _same_grads(em, tm)
    check_raises(lambda t, g: t.nn.utils.get_total_norm([g], error_if_nonfinite=True),
                 np.array([np.inf]))


def test_clip_grad_value():
    em, tm = _models()
    assert ember.nn.utils.clip_grad_value_(em.parameters(), 0.3) is None
    torch.nn.utils.clip_grad_value_(tm.parameters(), 0.3)
    _same_grads(em, tm)
    g = em[0].weight.grad
    ember.nn.utils.clip_grad_value_(em[0].weight, 0.1)
    torch.nn.utils.clip_grad_value_(tm[0].weight, 0.1)
    assert em[0].weight.grad is g  # in place
    _same_grads(em, tm)


def test_clipping_keeps_training_identical():
    """A few gradient steps with clipping give the same weights as torch."""
    em, tm = _models()
    x = rand(8, 4)
    for _ in range(3):
        for t, m in [(ember, em), (torch, tm)]:
            m.zero_grad()
            m(t.tensor(x)).pow(2).sum().backward()
        assert_close(ember.nn.utils.clip_grad_norm_(em.parameters(), 0.5),
                     torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5))
        for t, m in [(ember, em), (torch, tm)]:
            with t.no_grad():
                for p in m.parameters():
                    p -= 0.1 * p.grad
    for ep, tp in zip(em.parameters(), tm.parameters()):
        assert_close(ep.detach(), tp.detach())


def test_parameters_to_vector_and_back():
    em, tm = _models()
    ev = ember.nn.utils.parameters_to_vector(em.parameters())
    tv = torch.nn.utils.parameters_to_vector(tm.parameters())
    assert_close(ev, tv)
    assert ev.requires_grad
    (ev * ev).sum().backward()
    (tv * tv).sum().backward()
    new = rand(tv.numel(), seed=3)
    ember.nn.utils.vector_to_parameters(ember.tensor(new), em.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tm.parameters())
    for (name, ep), tp in zip(em.named_parameters(), tm.parameters()):
        assert_close(ep.detach(), tp.detach(), what=name)
        assert isinstance(ep, ember.nn.Parameter) and ep.requires_grad
    check(lambda t, a, b: t.nn.utils.parameters_to_vector([a, b]), rand(2, 3), rand(4))


def test_vector_helpers_errors():
    check_raises(lambda t: t.nn.utils.parameters_to_vector([]))
    check_raises(lambda t: t.nn.utils.vector_to_parameters([1.0], [t.nn.Parameter(t.ones(1))]))
    check_raises(lambda t, v: t.nn.utils.vector_to_parameters(v, [t.nn.Parameter(t.ones(3))]),
                 rand(2))
