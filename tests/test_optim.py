"""Optimizers against PyTorch: identical parameter trajectories for identical gradients."""
import numpy as np
import pytest
import torch
from helpers import optimizer_trajectory as trajectory

import ember

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}),
]


@pytest.mark.parametrize("name,kwargs", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trajectory_matches_torch(name, kwargs, dtype):
    ours, _ = trajectory(ember, name, kwargs, dtype)
    ref, _ = trajectory(torch, name, kwargs, dtype)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name,kwargs", CASES)
def test_state_dict_layout_matches_torch(name, kwargs):
    _, eo = trajectory(ember, name, kwargs, np.float32, steps=2)
    _, to = trajectory(torch, name, kwargs, np.float32, steps=2)
    es, ts = eo.state_dict(), to.state_dict()
    assert es["param_groups"][0].keys() == ts["param_groups"][0].keys()
    assert es["param_groups"][0]["params"] == ts["param_groups"][0]["params"]
    assert es["state"].keys() == ts["state"].keys()
    for k in ts["state"]:
        assert es["state"][k].keys() == ts["state"][k].keys()
        for name_ in ts["state"][k]:
            np.testing.assert_allclose(es["state"][k][name_].numpy(),
                                       ts["state"][k][name_].numpy(), rtol=2e-5, atol=2e-6)
            assert str(es["state"][k][name_].dtype) == str(ts["state"][k][name_].dtype)


@pytest.mark.parametrize("name,kwargs", CASES)
def test_load_state_dict_resumes_identically(name, kwargs):
    full, _ = trajectory(ember, name, kwargs, np.float64, steps=6)
    rng = np.random.default_rng(0)
    params = [ember.nn.Parameter(ember.from_numpy(rng.standard_normal(s)))
              for s in [(4, 3), (3,), ()]]
    opt = getattr(ember.optim, name)(params, **kwargs)
    for _ in range(3):
        opt.zero_grad()
        for p in params:
            p.grad = ember.from_numpy(rng.standard_normal(p.shape))
        opt.step()
    saved = opt.state_dict()
    opt2 = getattr(ember.optim, name)(params, **kwargs)
    opt2.load_state_dict(saved)
    for _ in range(3):
        opt2.zero_grad()
        for p in params:
            p.grad = ember.from_numpy(rng.standard_normal(p.shape))
        opt2.step()
    for a, p in zip(full, params):
        np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-12)


def test_param_groups_and_errors():
    w = ember.nn.Parameter(ember.ones(2))
    b = ember.nn.Parameter(ember.ones(2))
    opt = ember.optim.SGD([{"params": [w]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError):
        ember.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError):
        ember.optim.SGD([w], lr=-1)
    with pytest.raises(ValueError):
        ember.optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(TypeError):
        ember.optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError):
        ember.optim.Adam([w], betas=(1.0, 0.9))
    with pytest.raises(ValueError):
        opt.add_param_group({"params": [w]})


def test_zero_grad_and_closure():
    w = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    opt = ember.optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6])
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and not np.any(w.grad.numpy())
    opt.zero_grad()
    assert w.grad is None


def test_step_bumps_version():
    w = ember.nn.Parameter(ember.ones(2))
    y = (w * w).sum()
    w.grad = ember.ones(2)
    ember.optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_large_parameter_blocked_update(monkeypatch, dtype, momentum):
    """A parameter larger than the update's block (2.5 blocks) gets the values of the one-pass
    update bit for bit, and torch's (which fuses a multiply-add) to rounding."""
    from ember.optim import optimizer

    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((200, 205)).astype(dtype)
    grads = [rng.standard_normal(w0.shape).astype(dtype) for _ in range(3)]

    def train(t):
        w = t.nn.Parameter(t.tensor(w0.copy()))
        opt = t.optim.SGD([w], lr=0.1, momentum=momentum)
        for g in grads:
            w.grad = t.tensor(g)
            opt.step()
        return w.detach().numpy()

    blocked, reference = train(ember), train(torch)
    monkeypatch.setattr(optimizer, "_BLOCK", w0.size)
    np.testing.assert_array_equal(blocked, train(ember))
    tol = 1e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(blocked, reference, rtol=tol, atol=tol)
