"""RMSprop (Hinton), optionally centered and with momentum, in PyTorch's formulation."""
from __future__ import annotations

import numpy as np

from ember.optim.optimizer import Optimizer, _state_array, _step


class RMSprop(Optimizer):
    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach=None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        super().__init__(params, {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                                  "centered": centered, "weight_decay": weight_decay,
                                  "capturable": capturable, "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable})

    def _update(self, group: dict, params: list) -> None:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum = group["momentum"]
        for p in params:
            g = self._grad(p, group["maximize"])
            state = self.state[p]
            _step(state)
            square_avg = _state_array(state, "square_avg", p)
            buf = _state_array(state, "momentum_buffer", p) if momentum > 0 else None
            if wd != 0:
                g = g + wd * p._data
            square_avg *= alpha
            square_avg += (1 - alpha) * g * g
            if group["centered"]:
                grad_avg = _state_array(state, "grad_avg", p)
                grad_avg += (g - grad_avg) * (1 - alpha)
                avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
            else:
                avg = np.sqrt(square_avg) + eps
            if buf is not None:
                buf *= momentum
                buf += g / avg
                p._data -= lr * buf
            else:
                p._data -= lr * g / avg
