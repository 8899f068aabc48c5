"""Every op, grouped by kind; importing this binds the ops that are also Tensor methods.

Each module lists ``__all__`` (its functions in the ``ember`` namespace), ``TENSOR_METHODS``
(those that are also methods, ``t.exp()``) and ``INPLACE_METHODS`` (those with a ``t.exp_()``
form, made here from the out-of-place op).
"""
from __future__ import annotations

import warnings

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

# PyTorch gives inf and nan (inf * 0, inf - inf, 0 / 0, overflow) silently.  NumPy warns; an
# ``np.errstate`` around every add or mul would cost about 1 us per op, so NumPy's
# floating-point warnings raised inside ember's own modules are filtered out instead (no cost
# until a warning happens).  The filter names only ember's modules: a user's NumPy code warns
# as before.
warnings.filterwarnings(
    "ignore", r"(invalid value|divide by zero|overflow) encountered", RuntimeWarning, r"ember\.")


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
