"""Every op, grouped by kind; importing this binds the ops that are also Tensor methods.

Each module lists ``__all__`` (its functions in the ``ember`` namespace), ``TENSOR_METHODS``
(those that are also methods, ``t.exp()``) and ``INPLACE_METHODS`` (those with a ``t.exp_()``
form, made here from the out-of-place op).
"""
from __future__ import annotations

from ember._tensor import Tensor
from ember.ops import (
    activation,
    conv,
    creation,
    indexing,
    linalg,
    pointwise,
    reduction,
    shape,
)

MODULES = (creation, pointwise, reduction, shape, indexing, linalg, activation, conv)


def _inplace_method(fn):
    def method(self, *args, **kwargs):
        return self._inplace(fn, *args, **kwargs)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    return method


for _m in MODULES:
    for _name in _m.TENSOR_METHODS:
        if _name not in Tensor.__dict__:
            setattr(Tensor, _name, getattr(_m, _name))
    for _name in _m.INPLACE_METHODS:
        if _name + "_" not in Tensor.__dict__:
            setattr(Tensor, _name + "_", _inplace_method(getattr(_m, _name)))
