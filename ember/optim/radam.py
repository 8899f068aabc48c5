"""RAdam: Adam whose adaptive step is switched on once the variance estimate is tractable."""
from __future__ import annotations

import math

import numpy as np

from ember.optim.adamax import _check_adam_like
from ember.optim.optimizer import Optimizer, _state_array, _step


class RAdam(Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_like(lr, eps, betas, weight_decay)
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize,
                                  "foreach": foreach, "capturable": capturable,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "differentiable": differentiable})

    def _update(self, group: dict, params: list) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        rho_inf = 2 / (1 - beta2) - 1
        for p in params:
            g = self._grad(p, group["maximize"])
            state = self.state[p]
            step = _step(state)
            exp_avg = _state_array(state, "exp_avg", p)
            exp_avg_sq = _state_array(state, "exp_avg_sq", p)
            if wd != 0:
                if group["decoupled_weight_decay"]:
                    p._data *= 1 - lr * wd
                else:
                    g = g + wd * p._data
            exp_avg += (g - exp_avg) * (1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * g * g
            bc1 = 1 - beta1**step
            bc2 = 1 - beta2**step
            corrected = exp_avg / bc1
            rho_t = rho_inf - 2 * step * beta2**step / bc2
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive = bc2**0.5 / (np.sqrt(exp_avg_sq) + eps)
                p._data -= corrected * lr * adaptive * rect
            else:
                p._data -= corrected * lr
