"""NAdam: Adam with Nesterov momentum and the momentum-decay schedule of Dozat (2016)."""
from __future__ import annotations

import numpy as np

from ember._tensor import Tensor
from ember.optim.adamax import _check_adam_like
from ember.optim.optimizer import Optimizer, _state_array, _step


class NAdam(Optimizer):
    def __init__(self, params, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_adam_like(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay, "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize, "foreach": foreach,
                                  "capturable": capturable, "differentiable": differentiable})

    def _update(self, group: dict, params: list) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, psi = group["weight_decay"], group["momentum_decay"]
        for p in params:
            g = self._grad(p, group["maximize"])
            state = self.state[p]
            if "step" not in state:
                state["step"] = Tensor._make(np.zeros((), dtype=np.float32))
                state["mu_product"] = Tensor._make(np.ones((), dtype=np.float32))
            step = _step(state)
            exp_avg = _state_array(state, "exp_avg", p)
            exp_avg_sq = _state_array(state, "exp_avg_sq", p)
            if wd != 0:
                if group["decoupled_weight_decay"]:
                    p._data *= 1 - lr * wd
                else:
                    g = g + wd * p._data
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
            # The running product is a float32 scalar tensor, rounded at every step as PyTorch's.
            mu_prod = state["mu_product"]._data
            mu_prod *= mu
            mu_product = float(mu_prod)
            exp_avg += (g - exp_avg) * (1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += (1 - beta2) * g * g
            denom = np.sqrt(exp_avg_sq / (1 - beta2**step)) + eps
            p._data += (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
            p._data += (-lr * mu_next / (1.0 - mu_product * mu_next)) * exp_avg / denom
