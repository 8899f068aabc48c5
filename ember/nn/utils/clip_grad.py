"""Gradient clipping: by total norm (``clip_grad_norm_`` and its two halves) and by value."""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ember import _dtype as DT
from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd import grad_mode

_TensorOrTensors = Tensor | Iterable[Tensor]


def _as_list(tensors: _TensorOrTensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(xp, a, p: float):
    """The ``p``-norm of all elements of ``a`` (0: count of non-zeros, +-inf: max/min |a|)."""
    a = xp.abs(a.reshape(-1))
    if p == math.inf:
        return a.max() if a.size else xp.zeros((), a.dtype)
    if p == -math.inf:
        return a.min() if a.size else xp.asarray(xp.inf, a.dtype)
    if p == 0:
        return xp.asarray((a != 0).sum(), a.dtype)
    if p == 1:
        return a.sum()
    if p == 2:
        return xp.sqrt((a * a).sum())
    return (a ** p).sum() ** (1.0 / p)


def get_total_norm(tensors: _TensorOrTensors, norm_type: float | str = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of the per-tensor norms of ``tensors`` (as if concatenated).

    ``foreach`` is accepted for compatibility; the computation is the same either way.
    """
    norm_type = float(norm_type)
    tensors = _as_list(tensors)
    if not tensors:
        return Tensor._make(np.zeros((), DT.get_default_dtype().np))
    xp = get_xp(tensors[0]._data)
    norms = [_vector_norm(xp, t._data, norm_type) for t in tensors]
    dtype = np.result_type(*[n.dtype for n in norms])
    total = _vector_norm(xp, xp.stack([xp.asarray(n, dtype) for n in norms]), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._make(xp.asarray(total, dtype))


def clip_grads_with_norm_(parameters: _TensorOrTensors, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale every ``.grad`` in place by min(1, max_norm / (total_norm + 1e-6))."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    coef = min(float(max_norm) / (float(total_norm._data) + 1e-6), 1.0)  # NaN stays NaN
    with grad_mode.no_grad(), np.errstate(invalid="ignore"):  # inf * 0 -> NaN, as in torch
        for g in grads:
            g._data *= g._data.dtype.type(coef)
            g._vc[0] += 1


def clip_grad_norm_(parameters: _TensorOrTensors, max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Rescale the gradients so that their total norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d tensor).
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters: _TensorOrTensors, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every ``.grad`` in place into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    with grad_mode.no_grad():
        for p in _as_list(parameters):
            g = p.grad
            if g is not None:
                xp = get_xp(g._data)
                xp.clip(g._data, -clip_value, clip_value, out=g._data)
                g._vc[0] += 1
