"""Adamax: Adam with the infinity norm of past gradients in place of the second moment."""
from __future__ import annotations

import numpy as np

from ember.optim.optimizer import Optimizer, _state_array, _step


def _check_adam_like(lr: float, eps: float, betas: tuple, weight_decay: float) -> None:
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


class Adamax(Optimizer):
    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_adam_like(lr, eps, betas, weight_decay)
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable,
                                  "capturable": capturable})

    def _update(self, group: dict, params: list) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        for p in params:
            g = self._grad(p, group["maximize"])
            state = self.state[p]
            step = _step(state)
            exp_avg = _state_array(state, "exp_avg", p)
            exp_inf = _state_array(state, "exp_inf", p)
            if wd != 0:
                g = g + wd * p._data
            exp_avg += (g - exp_avg) * (1 - beta1)
            exp_inf *= beta2
            np.maximum(exp_inf, np.abs(g) + eps, out=exp_inf)
            p._data -= (lr / (1 - beta1**step)) * exp_avg / exp_inf
