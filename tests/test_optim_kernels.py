"""The compiled optimizer steps (ember/_ckernels.c ``sgd_step``/``adam_step``, taken for
float32 NumPy parameters) against torch and against the NumPy path they stand in for."""
import numpy as np
import pytest
import torch
from test_optim import CASES

import ember
from ember import _native

built = pytest.mark.skipif(_native.kernels() is None, reason="ember._ckernels not built")


def _train(t, name: str, kwargs: dict, params: list, grads: list) -> list:
    ps = [t.nn.Parameter(t.tensor(p.copy())) for p in params]
    opt = getattr(t.optim, name)(ps, **kwargs)
    for step in grads:
        for p, g in zip(ps, step):
            p.grad = t.tensor(g)
        opt.step()
    return [p.detach().numpy().copy() for p in ps]


def _problem(seed: int = 0, steps: int = 4):
    rng = np.random.default_rng(seed)
    shapes = [(37, 29), (1000,), ()]  # a vector loop remainder, a long run, a scalar
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]
    return params, grads


@built
@pytest.mark.parametrize("name,kwargs", CASES)
def test_compiled_matches_torch_and_numpy_path(monkeypatch, kernel_calls, name, kwargs):
    params, grads = _problem()
    ours = _train(ember, name, kwargs, params, grads)
    kernel = "sgd_step" if name == "SGD" else "adam_step"
    assert kernel_calls == [kernel] * (len(params) * len(grads))
    theirs = _train(torch, name, kwargs, params, grads)
    monkeypatch.setattr(_native, "takes", lambda *a: False)
    numpy_path = _train(ember, name, kwargs, params, grads)
    for a, b, c in zip(ours, theirs, numpy_path):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(a, c, rtol=2e-6, atol=2e-6)


@built
@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}),
                                         ("Adam", {"lr": 0.01}),
                                         ("AdamW", {"lr": 0.01, "weight_decay": 0.0})])
def test_infinite_parameter_without_weight_decay(name, kwargs):
    """No weight decay means no 0 * p term: an infinite parameter stays infinite, not NaN."""
    params = [np.array([np.inf, -np.inf, 1.0], np.float32)]
    grads = [[np.array([0.5, -0.5, 0.25], np.float32)]] * 2
    ours, theirs = _train(ember, name, kwargs, params, grads), _train(torch, name, kwargs, params,
                                                                       grads)
    np.testing.assert_array_equal(ours[0][:2], [np.inf, -np.inf])
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)


@built
def test_amsgrad_keeps_nan_as_torch():
    """A NaN in the running maximum stays (torch.maximum propagates NaN), whether it came from
    the gradient or from the state."""
    results = []
    for t in (ember, torch):
        p = t.nn.Parameter(t.zeros(4))
        opt = t.optim.Adam([p], lr=0.01, amsgrad=True)
        for g in ([1.0, float("nan"), 2.0, 3.0], [1.0, 1.0, 1.0, 1.0]):
            p.grad = t.tensor(g)
            opt.step()
        with t.no_grad():
            opt.state[p]["max_exp_avg_sq"][2] = float("nan")
        p.grad = t.ones(4)
        opt.step()
        results.append(p.detach().numpy().copy())
    ours, theirs = results
    np.testing.assert_array_equal(np.isnan(ours), [False, True, True, False])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
