"""Adagrad: per-coordinate steps scaled by the root of the summed squared gradients."""
from __future__ import annotations

import numpy as np

from ember._device import get_xp
from ember._tensor import Tensor
from ember.optim.optimizer import Optimizer, _step


class Adagrad(Optimizer):
    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps,
                                  "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "foreach": foreach, "maximize": maximize,
                                  "differentiable": differentiable, "fused": fused})

        # The accumulators exist from construction (PyTorch's state_dict has them before any
        # step); groups added later get theirs at their first step. As in PyTorch, they start
        # at the constructor's initial_accumulator_value whatever a group says.
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p: Tensor) -> dict:
        state = self.state[p]
        if "sum" not in state:
            state["step"] = Tensor._make(np.zeros((), dtype=np.float32))
            state["sum"] = Tensor._make(get_xp(p._data).full_like(
                p._data, self.defaults["initial_accumulator_value"]))
        return state

    def _update(self, group: dict, params: list) -> None:
        lr, lr_decay, eps, wd = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
        for p in params:
            g = self._grad(p, group["maximize"])
            state = self._init_state(p)
            step = _step(state)
            if wd != 0:
                g = g + wd * p._data
            clr = lr / (1 + (step - 1) * lr_decay)
            acc = state["sum"]._data
            acc += g * g
            p._data -= clr * g / (np.sqrt(acc) + eps)
