"""Adamax, NAdam, RAdam, RMSprop, Adagrad, Adadelta and LBFGS against PyTorch."""
import warnings

import numpy as np
import pytest
import torch
from helpers import OPTIM_SHAPES
from helpers import optimizer_trajectory as trajectory

import ember

CASES = [
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-4, "weight_decay": 0.1,
                "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "momentum_decay": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "betas": (0.8, 0.7), "weight_decay": 0.1,
               "decoupled_weight_decay": True, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.7, "eps": 1e-4, "weight_decay": 0.1, "maximize": True}),
]


@pytest.mark.parametrize("name,kwargs", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trajectory_matches_torch(name, kwargs, dtype):
    ours, _ = trajectory(ember, name, kwargs, dtype)
    ref, _ = trajectory(torch, name, kwargs, dtype)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for a, b in zip(ours, ref):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name,kwargs", CASES)
def test_state_dict_layout_matches_torch(name, kwargs):
    _, eo = trajectory(ember, name, kwargs, np.float32, steps=2)
    _, to = trajectory(torch, name, kwargs, np.float32, steps=2)
    es, ts = eo.state_dict(), to.state_dict()
    assert list(es["param_groups"][0]) == list(ts["param_groups"][0])
    assert es["param_groups"][0] == ts["param_groups"][0]
    assert es["state"].keys() == ts["state"].keys()
    for k in ts["state"]:
        assert list(es["state"][k]) == list(ts["state"][k])
        for key, tv in ts["state"][k].items():
            ev = es["state"][k][key]
            assert str(ev.dtype) == str(tv.dtype) and tuple(ev.shape) == tuple(tv.shape)
            np.testing.assert_allclose(ev.numpy(), tv.numpy(), rtol=2e-5, atol=2e-6)


def resumed(mod, name, kwargs):
    rng = np.random.default_rng(0)
    params = [mod.nn.Parameter(mod.from_numpy(rng.standard_normal(s))) for s in OPTIM_SHAPES]
    opt = getattr(mod.optim, name)(params, **kwargs)
    for i in range(6):
        if i == 3:
            saved = opt.state_dict()
            opt = getattr(mod.optim, name)(params, **kwargs)
            opt.load_state_dict(saved)
        opt.zero_grad()
        for p in params:
            p.grad = mod.from_numpy(rng.standard_normal(p.shape))
        opt.step()
    return [p.detach().numpy().copy() for p in params]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_load_state_dict_resumes_as_torch(name, kwargs):
    # NAdam's float32 mu_product becomes float64 on loading into float64 params, as in torch.
    for a, b in zip(resumed(ember, name, kwargs), resumed(torch, name, kwargs)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    if name != "NAdam":
        full, _ = trajectory(ember, name, kwargs, np.float64, steps=6)
        for a, b in zip(full, resumed(ember, name, kwargs)):
            np.testing.assert_allclose(a, b, rtol=1e-13)


def test_adagrad_state_exists_before_first_step():
    w = [ember.nn.Parameter(ember.ones(3))]
    tw = [torch.nn.Parameter(torch.ones(3))]
    es = ember.optim.Adagrad(w, initial_accumulator_value=0.3).state_dict()
    ts = torch.optim.Adagrad(tw, initial_accumulator_value=0.3).state_dict()
    assert list(es["state"][0]) == list(ts["state"][0]) == ["step", "sum"]
    np.testing.assert_allclose(es["state"][0]["sum"].numpy(), ts["state"][0]["sum"].numpy())
    assert str(es["state"][0]["step"].dtype) == str(ts["state"][0]["step"].dtype)


def test_adagrad_state_for_added_group():
    def run(mod):
        a = mod.nn.Parameter(mod.ones(2))
        b = mod.nn.Parameter(mod.ones(3))
        opt = mod.optim.Adagrad([{"params": [a], "initial_accumulator_value": 0.1}],
                                initial_accumulator_value=0.5)
        opt.add_param_group({"params": [b], "initial_accumulator_value": 0.2})
        keys = {k: list(v) for k, v in opt.state_dict()["state"].items()}
        a.grad = mod.ones(2)
        b.grad = mod.ones(3)
        opt.step()
        return keys, a.detach().numpy(), b.detach().numpy()

    (ek, ea, eb), (tk, ta, tb) = run(ember), run(torch)
    assert ek == tk
    np.testing.assert_allclose(ea, ta, rtol=1e-6)
    np.testing.assert_allclose(eb, tb, rtol=1e-6)


BAD = [
    ("Adamax", {"lr": -1}), ("Adamax", {"eps": -1}), ("Adamax", {"betas": (1.0, 0.9)}),
    ("Adamax", {"betas": (0.9, -0.1)}), ("Adamax", {"weight_decay": -1}),
    ("NAdam", {"momentum_decay": -1}), ("NAdam", {"betas": (0.9, 1.0)}),
    ("RAdam", {"lr": -0.1}), ("RAdam", {"weight_decay": -1}),
    ("RMSprop", {"alpha": -1}), ("RMSprop", {"momentum": -1}), ("RMSprop", {"eps": -1}),
    ("Adagrad", {"lr_decay": -1}), ("Adagrad", {"initial_accumulator_value": -1}),
    ("Adagrad", {"eps": -1}), ("Adadelta", {"rho": 1.5}), ("Adadelta", {"lr": -1}),
    ("LBFGS", {"lr": -1}),
]


@pytest.mark.parametrize("name,kwargs", BAD)
def test_bad_hyper_parameters_raise_like_torch(name, kwargs):
    with pytest.raises(ValueError) as ref:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(ember.optim, name)([ember.nn.Parameter(ember.ones(2))], **kwargs)
    assert str(ours.value) == str(ref.value)


# ---- LBFGS ----------------------------------------------------------------------------------
def rosenbrock_run(mod, kwargs, dtype, outer=4):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal(6).astype(dtype) * 0.5
    a = mod.from_numpy(rng.standard_normal((5, 3)).astype(dtype))
    w = mod.nn.Parameter(mod.from_numpy(x0[:4].reshape(2, 2).copy()))
    b = mod.nn.Parameter(mod.from_numpy(x0[4:].copy()))
    opt = mod.optim.LBFGS([w, b], **kwargs)

    def closure():
        opt.zero_grad()
        x = mod.cat([w.reshape(-1), b])
        r = (1 - x[:-1]) ** 2 + 10 * (x[1:] - x[:-1] ** 2) ** 2
        loss = r.sum() + (a.sum() * 0.01) * (x ** 2).sum()
        loss.backward()
        return loss

    losses = [opt.step(closure).item() for _ in range(outer)]
    state = opt.state[w]
    return [w.detach().numpy().copy(), b.detach().numpy().copy()], losses, state


LBFGS_CASES = [
    {},
    {"lr": 0.5, "max_iter": 7, "history_size": 3},
    {"line_search_fn": "strong_wolfe"},
    {"lr": 0.8, "max_iter": 10, "history_size": 2, "line_search_fn": "strong_wolfe"},
    {"max_iter": 50, "tolerance_grad": 1e-3, "tolerance_change": 1e-4},
    {"max_iter": 30, "max_eval": 12, "line_search_fn": "strong_wolfe"},
]


@pytest.mark.parametrize("kwargs", LBFGS_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_matches_torch(kwargs, dtype):
    ours, el, es = rosenbrock_run(ember, kwargs, dtype)
    ref, tl, ts = rosenbrock_run(torch, kwargs, dtype)
    tol = 1e-9 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(el, tl, rtol=tol, atol=tol)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert set(es) == set(ts)
    assert es["func_evals"] == ts["func_evals"] and es["n_iter"] == ts["n_iter"]


def test_lbfgs_requires_closure_and_single_group():
    w = ember.nn.Parameter(ember.ones(2))
    with pytest.raises(RuntimeError):
        ember.optim.LBFGS([w]).step()
    with pytest.raises(ValueError):
        ember.optim.LBFGS([{"params": [w]}, {"params": [ember.nn.Parameter(ember.ones(2))]}])
    opt = ember.optim.LBFGS([w], line_search_fn="bogus")

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="strong_wolfe"):
        opt.step(closure)


def test_lbfgs_state_dict_resume():
    w = ember.nn.Parameter(ember.tensor([1.5, -0.5, 0.3], dtype=ember.float64))
    target = ember.tensor([0.2, 0.1, -0.4], dtype=ember.float64)

    def make(opt_w):
        opt = ember.optim.LBFGS([opt_w], max_iter=3, history_size=4)

        def closure():
            opt.zero_grad()
            loss = ((opt_w - target) ** 4).sum() + (opt_w ** 2).sum()
            loss.backward()
            return loss
        return opt, closure

    opt, closure = make(w)
    for _ in range(2):
        opt.step(closure)
    saved = opt.state_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w2 = ember.nn.Parameter(w.detach().clone())
    opt2, closure2 = make(w2)
    opt2.load_state_dict(saved)
    for _ in range(2):
        opt.step(closure)
        opt2.step(closure2)
    np.testing.assert_allclose(w.detach().numpy(), w2.detach().numpy(), rtol=1e-14)


@pytest.mark.parametrize("name,kwargs", CASES + [("LBFGS", {"history_size": 5})])
def test_repr_matches_torch(name, kwargs):
    e = getattr(ember.optim, name)([ember.nn.Parameter(ember.ones(2))], **kwargs)
    t = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], **kwargs)
    assert repr(e) == repr(t)


def test_lbfgs_runs_step_hooks():
    w = ember.nn.Parameter(ember.tensor([1.0, -2.0], dtype=ember.float64))
    opt = ember.optim.LBFGS([w], max_iter=2)
    calls = []
    opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, a, k: calls.append(("post", o is opt)))

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert calls == [("pre", True), ("post", True)]


def test_lbfgs_parameter_without_grad_matches_torch():
    def run(mod):
        w = mod.nn.Parameter(mod.tensor([1.0, -1.5, 0.5], dtype=mod.float64))
        unused = mod.nn.Parameter(mod.ones(2, dtype=mod.float64))
        opt = mod.optim.LBFGS([unused, w], max_iter=6, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = ((w - 0.3) ** 4).sum() + (w ** 2).sum()
            loss.backward()
            return loss

        for _ in range(2):
            opt.step(closure)
        return w.detach().numpy(), unused.detach().numpy(), opt.state[unused]["func_evals"]

    (ew, eu, en), (tw, tu, tn) = run(ember), run(torch)
    np.testing.assert_allclose(ew, tw, rtol=1e-10)
    np.testing.assert_array_equal(eu, tu)
    assert en == tn


def _to_ember(sd):
    state = {k: {n: ember.from_numpy(v.numpy().copy()) if isinstance(v, torch.Tensor) else v
                 for n, v in s.items()} for k, s in sd["state"].items()}
    return {"state": state, "param_groups": sd["param_groups"]}


@pytest.mark.parametrize("name,kwargs", CASES[::2])
def test_torch_checkpoint_resumes_in_ember(name, kwargs):
    rng = np.random.default_rng(5)
    init = [rng.standard_normal(s) for s in OPTIM_SHAPES]
    grads = [[rng.standard_normal(s) for s in OPTIM_SHAPES] for _ in range(6)]
    tp = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    topt = getattr(torch.optim, name)(tp, **kwargs)
    for i in range(6):
        if i == 3:
            ep = [ember.nn.Parameter(ember.from_numpy(p.detach().numpy().copy())) for p in tp]
            eopt = getattr(ember.optim, name)(ep, **kwargs)
            saved = topt.state_dict()
            eopt.load_state_dict(_to_ember(saved))
            topt = getattr(torch.optim, name)(tp, **kwargs)  # torch reloads too (casts alike)
            topt.load_state_dict(saved)
        for p, g in zip(tp, grads[i]):
            p.grad = torch.from_numpy(g)
        topt.step()
        if i >= 3:
            for p, g in zip(ep, grads[i]):
                p.grad = ember.from_numpy(g)
            eopt.step()
    for a, b in zip(ep, tp):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
