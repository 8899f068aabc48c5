"""``Optimizer``: parameter groups, per-parameter state, zero_grad and state_dict.

Subclasses implement ``_update(group, params_with_grad)`` on raw arrays, in place: updates
never build a graph and never allocate a Tensor per step.
"""
from __future__ import annotations

from collections import defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd import grad_mode


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of all optimizers (PyTorch's param-group and state-dict layout)."""

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        self._step_hooks: dict = {}
        self._step_post_hooks: dict = {}
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {params.type()}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}"
            for key in sorted(group):
                if key != "params":
                    s += f"\n    {key}: {group[key]}"
        return s + "\n)"

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_step_hooks", {})
        self.__dict__.setdefault("_step_post_hooks", {})

    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__module__}.{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter "
                    f"{name}"
                )
            param_group.setdefault(name, default)
        seen = set(map(id, chain.from_iterable(g["params"] for g in self.param_groups)))
        if any(id(p) in seen for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    g = p._grad
                    if g.grad_fn is not None:
                        g.detach_()
                    g._data[...] = 0

    # ---- stepping ----------------------------------------------------------------------------
    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        for hook in list(self._step_hooks.values()):
            hook(self, (), {})
        with grad_mode.no_grad():
            for group in self.param_groups:
                params = [p for p in group["params"] if p._grad is not None]
                if params:
                    self._update(group, params)
                    for p in params:
                        p._vc[0] += 1
        for hook in list(self._step_post_hooks.values()):
            hook(self, (), {})
        return loss

    def _update(self, group: dict, params: list) -> None:
        raise NotImplementedError

    def register_step_pre_hook(self, hook):
        from ember.autograd.graph import RemovableHandle

        return RemovableHandle(self._step_hooks, hook)

    def register_step_post_hook(self, hook):
        from ember.autograd.graph import RemovableHandle

        return RemovableHandle(self._step_post_hooks, hook)

    def _grad(self, p: Tensor, maximize: bool) -> np.ndarray:
        g = p._grad._data
        return -g if maximize else g

    # ---- state dict --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = deepcopy(state_dict)
        groups, saved = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        id_map = {old: p for g, s in zip(groups, saved) for old, p in zip(s["params"], g["params"])}
        self.state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                self.state[p] = {
                    name: (val.to(dtype=p.dtype, device=p.device)
                           if isinstance(val, Tensor) and name != "step" else val)
                    for name, val in v.items()
                }
        for g, s in zip(groups, saved):
            s["params"] = g["params"]
            g.clear()
            g.update(s)


def _state_array(state: dict, key: str, p: Tensor) -> np.ndarray:
    """The array of a per-parameter state tensor, created as zeros on first use."""
    t = state.get(key)
    if t is None:
        t = state[key] = Tensor._make(get_xp(p._data).zeros_like(p._data))
    return t._data


def _step(state: dict) -> float:
    """Increment and return the step count, kept as a float32 0-d tensor as PyTorch keeps it."""
    t = state.get("step")
    if t is None:
        t = state["step"] = Tensor._make(np.zeros((), dtype=np.float32))
    t._data += 1
    return float(t._data)


_BLOCK = 1 << 14  # elements per block of a scaled update: its temporary stays small, in cache


def _sub_scaled_(dst: np.ndarray, src: np.ndarray, alpha: float) -> None:
    """``dst -= alpha * src`` in place without a full-size temporary.

    PyTorch's ``param.add_(buf, alpha=-lr)`` is one fused pass; NumPy would first materialise
    ``alpha * src`` (as large as the parameter, a step's peak memory), so large contiguous
    arrays go by blocks.  Same arithmetic, bit for bit.
    """
    if (dst.size <= _BLOCK or dst.shape != src.shape or not dst.flags.c_contiguous
            or not src.flags.c_contiguous):
        dst -= alpha * src
        return
    d, s = dst.reshape(-1), src.reshape(-1)
    tmp = get_xp(dst).empty(_BLOCK, dtype=(alpha * s[:1]).dtype)
    for i in range(0, d.size, _BLOCK):
        t = tmp[: min(_BLOCK, d.size - i)]
        get_xp(dst).multiply(s[i:i + _BLOCK], alpha, out=t)
        d[i:i + _BLOCK] -= t
