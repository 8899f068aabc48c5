"""``nn.Parameter``: a Tensor that a Module registers as a learnable weight."""
from __future__ import annotations

import numpy as np

from ember._tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor (sharing memory with ``data``) that requires grad unless told otherwise."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        array = np.empty(0, dtype=np.float32) if data is None else data._data
        p = cls._make(array)
        p._vc = data._vc if data is not None else p._vc
        p.requires_grad = requires_grad
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = type(self)(Tensor._make(self._data.copy()), self.requires_grad)
        if self._grad is not None:
            p._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (Tensor._make(self._data), self.requires_grad))


def _rebuild_parameter(data: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        t = cls._make(np.empty(0, dtype=np.float32) if data is None else data._data)
        t.persistent = persistent
        return t
