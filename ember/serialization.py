"""Pickling tensors (for DataLoader workers, multiprocessing and ``copy``)."""
from __future__ import annotations

import numpy as np

from ember._tensor import Tensor


def _rebuild_tensor(array, requires_grad: bool) -> Tensor:
    t = Tensor._make(array)
    t._requires_grad = requires_grad
    return t


def reduce_tensor(t: Tensor):
    """Pickle a leaf tensor as its (CPU) array; a non-leaf cannot be pickled, as in PyTorch."""
    if t.grad_fn is not None:
        raise RuntimeError(
            "Can't pickle a Tensor that requires grad and is not a leaf: call .detach() first"
        )
    array = t._data if isinstance(t._data, np.ndarray) else t._data.get()
    return (_rebuild_tensor, (array, t._requires_grad))
