"""Adam and AdamW (decoupled weight decay), with AMSGrad, in PyTorch's formulation."""
from __future__ import annotations

import math

import numpy as np

from ember import _native
from ember.optim.optimizer import Optimizer, _state_array, _step


def _check(lr, eps, betas, weight_decay) -> None:
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused=None, decoupled_weight_decay: bool = False) -> None:
        _check(lr, eps, betas, weight_decay)
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                      "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                                      "capturable": capturable, "differentiable": differentiable,
                                      "fused": fused,
                                      "decoupled_weight_decay": decoupled_weight_decay
                                      or self._decoupled})

    def _update(self, group: dict, params: list) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, decoupled = group["weight_decay"], group["decoupled_weight_decay"]
        for p in params:
            state = self.state[p]
            step = _step(state)
            exp_avg = _state_array(state, "exp_avg", p)
            exp_avg_sq = _state_array(state, "exp_avg_sq", p)
            step_size = lr / (1 - beta1**step)
            bc2_sqrt = math.sqrt(1 - beta2**step)
            max_sq = _state_array(state, "max_exp_avg_sq", p) if group["amsgrad"] else None
            arrays = (p._data, p._grad._data, exp_avg, exp_avg_sq, max_sq)
            if _native.takes(*(a for a in arrays if a is not None)):  # one compiled pass
                _native.call("adam_step", *arrays, p._data.size, float(lr), beta1, beta2, eps,
                             wd, decoupled, group["maximize"], step_size, bc2_sqrt)
                continue
            g = self._grad(p, group["maximize"])
            if wd != 0:
                if decoupled:
                    p._data *= 1 - lr * wd
                else:
                    g = g + wd * p._data
            exp_avg += (g - exp_avg) * (1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * g * g
            if max_sq is not None:
                np.maximum(max_sq, exp_avg_sq, out=max_sq)
                denom = np.sqrt(max_sq) / bc2_sqrt + eps
            else:
                denom = np.sqrt(exp_avg_sq) / bc2_sqrt + eps
            p._data -= step_size * exp_avg / denom


class AdamW(Adam):
    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False,
                 fused=None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused)
