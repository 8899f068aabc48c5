"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from ember import _native
from ember._device import get_xp
from ember._tensor import Tensor
from ember.optim.optimizer import Optimizer, _sub_scaled_, required


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, differentiable: bool = False, fused=None) -> None:
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                      "weight_decay": weight_decay, "nesterov": nesterov,
                                      "maximize": maximize, "foreach": foreach,
                                      "differentiable": differentiable, "fused": fused})

    def _update(self, group: dict, params: list) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        dampening, nesterov = group["dampening"], group["nesterov"]
        for p in params:
            if self._compiled(group, p):
                continue
            d = self._grad(p, group["maximize"])
            if wd != 0:
                d = d + wd * p._data
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = Tensor._make(get_xp(p._data).array(d))
                else:
                    b = buf._data
                    b *= momentum
                    if dampening == 0:
                        b += d  # (1 - 0) * d is d: skip a full-size temporary
                    else:
                        b += (1 - dampening) * d
                d = d + momentum * buf._data if nesterov else buf._data
            _sub_scaled_(p._data, d, lr)

    def _compiled(self, group: dict, p) -> bool:
        """The whole update in one compiled pass (float32 NumPy arrays in C order); False
        where the kernels do not take these arrays."""
        momentum = group["momentum"]
        buf = self.state[p].get("momentum_buffer") if momentum != 0 else None
        arrays = (p._data, p._grad._data) + (() if buf is None else (buf._data,))
        if not _native.takes(*arrays):
            return False
        first = momentum != 0 and buf is None
        if first:
            buf = self.state[p]["momentum_buffer"] = Tensor._make(get_xp(p._data).empty_like(
                p._data))
        _native.call("sgd_step", p._data, p._grad._data, None if buf is None else buf._data,
                     p._data.size, float(group["lr"]), momentum, group["dampening"],
                     group["weight_decay"], group["nesterov"], group["maximize"], first)
        return True
