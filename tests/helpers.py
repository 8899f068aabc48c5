"""One-line comparisons of ember against PyTorch.

``check(lambda t, x, y: t.add(x, y), a, b)`` runs the same PyTorch-API code twice, with
``t = ember`` and ``t = torch``, on the same inputs (NumPy arrays become tensors; floating ones
require grad), then compares result dtypes, shapes and values, and the gradients of every
floating input after backpropagating the same random weights through every floating output.
"""
from __future__ import annotations

import numpy as np
import torch

import ember

RTOL = {np.float64: 1e-10, np.float32: 1e-5, np.float16: 1e-2}
ATOL = {np.float64: 1e-10, np.float32: 1e-5, np.float16: 1e-2}


def _wrap(mod, x, grad: bool):
    if isinstance(x, np.ndarray):
        if mod is torch:
            t = torch.from_numpy(x.copy())
        else:
            t = ember.from_numpy(x.copy())
        if grad and x.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    if isinstance(x, (list, tuple)) and x and all(isinstance(i, np.ndarray) for i in x):
        return type(x)(_wrap(mod, i, grad) for i in x)
    return x


def _flat(out) -> list:
    if isinstance(out, (ember.Tensor, torch.Tensor)):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    if isinstance(t, ember.Tensor):
        return t.detach().numpy()
    return np.asarray(t)


def assert_close(e, r, rtol=None, atol=None, what="output") -> None:
    """Compare one ember result with one torch result: type, dtype, shape and values."""
    if isinstance(r, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected a Tensor, got {type(e).__name__}"
        assert str(e.dtype) == str(r.dtype), f"{what}: dtype {e.dtype} != torch's {r.dtype}"
        assert tuple(e.shape) == tuple(r.shape), f"{what}: shape {tuple(e.shape)} != {tuple(r.shape)}"
        en, rn = _np(e), _np(r)
        if rn.dtype.kind == "f":
            k = rn.dtype.type
            np.testing.assert_allclose(en, rn, rtol=rtol or RTOL[k], atol=atol or ATOL[k],
                                       equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(en, rn, err_msg=what)
    elif isinstance(r, float):
        assert np.isclose(e, r, rtol=rtol or 1e-6, atol=atol or 1e-8, equal_nan=True), (what, e, r)
    else:
        assert e == r, f"{what}: {e!r} != torch's {r!r}"


def check(fn, *inputs, grad: bool = True, rtol=None, atol=None, seed: int = 0):
    """Compare ``fn(ember, *inputs)`` with ``fn(torch, *inputs)``: values and gradients."""
    e_in = [_wrap(ember, x, grad) for x in inputs]
    t_in = [_wrap(torch, x, grad) for x in inputs]
    e_out, t_out = fn(ember, *e_in), fn(torch, *t_in)
    e_flat, t_flat = _flat(e_out), _flat(t_out)
    assert len(e_flat) == len(t_flat), f"{len(e_flat)} outputs, torch has {len(t_flat)}"
    for i, (e, r) in enumerate(zip(e_flat, t_flat)):
        assert_close(e, r, rtol, atol, what=f"output {i}")
    if not grad:
        return e_out
    rng = np.random.default_rng(seed)
    pairs = [(e, r) for e, r in zip(e_flat, t_flat)
             if isinstance(r, torch.Tensor) and r.requires_grad]
    if not pairs:
        return e_out
    weights = [rng.standard_normal(r.shape).astype(_np(r).dtype) for _, r in pairs]
    e_loss = sum((e * ember.from_numpy(w)).sum() for (e, _), w in zip(pairs, weights))
    t_loss = sum((r * torch.from_numpy(w)).sum() for (_, r), w in zip(pairs, weights))
    e_leaves = [x for x in _flat(e_in) if isinstance(x, ember.Tensor) and x.requires_grad]
    t_leaves = [x for x in _flat(t_in) if isinstance(x, torch.Tensor) and x.requires_grad]
    t_grads = torch.autograd.grad(t_loss, t_leaves, allow_unused=True)
    e_grads = ember.autograd.grad(e_loss, e_leaves, allow_unused=True)
    for i, (e, r) in enumerate(zip(e_grads, t_grads)):
        if r is None:
            assert e is None or not np.any(_np(e)), f"grad {i}: torch has none"
            continue
        assert e is not None, f"grad {i}: ember has none, torch has one"
        assert_close(e, r, rtol, atol, what=f"grad of input {i}")
    return e_out


def check_raises(fn, *inputs):
    """``fn`` raises the same exception type with ember as with torch."""
    with_torch = with_ember = None
    try:
        fn(torch, *[_wrap(torch, x, False) for x in inputs])
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        with_torch = e
    try:
        fn(ember, *[_wrap(ember, x, False) for x in inputs])
    except Exception as e:  # noqa: BLE001
        with_ember = e
    assert with_torch is not None, "torch did not raise"
    assert with_ember is not None, f"ember did not raise (torch raised {with_torch!r})"
    assert isinstance(with_ember, type(with_torch)) or type(with_torch) in type(with_ember).__mro__ \
        or _base(type(with_torch)) is _base(type(with_ember)), (
            f"ember raised {type(with_ember).__name__}: {with_ember}; torch raised "
            f"{type(with_torch).__name__}: {with_torch}")
    return with_ember


def _base(cls):
    """torch raises subclasses like torch.OutOfMemoryError; compare builtin bases."""
    for c in cls.__mro__:
        if c.__module__ == "builtins":
            return c
    return cls


def rand(*shape, dtype=np.float64, seed: int = 0, low=-2.0, high=2.0) -> np.ndarray:
    """A reproducible random array for tests."""
    rng = np.random.default_rng(seed + 7919 * len(shape) + sum(shape))
    if np.dtype(dtype).kind == "f":
        return rng.uniform(low, high, shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) < 0.5
    return rng.integers(int(low) if low > -100 else -5, int(high) + 1 if high > 0 else 6,
                        shape).astype(dtype)


OPTIM_SHAPES = [(4, 3), (3,), ()]


def optimizer_trajectory(mod, name, kwargs, dtype, steps=20, seed=0):
    """Run optimizer ``name`` of ``mod`` on fixed parameters with a fixed gradient stream."""
    rng = np.random.default_rng(seed)
    params = [mod.nn.Parameter(mod.from_numpy(rng.standard_normal(s).astype(dtype)))
              for s in OPTIM_SHAPES]
    opt = getattr(mod.optim, name)(params, **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        for p in params:
            p.grad = mod.from_numpy(rng.standard_normal(p.shape).astype(dtype))
        opt.step()
    return [p.detach().numpy().copy() for p in params], opt
