"""``repr(tensor)`` formatted as PyTorch formats it."""
from __future__ import annotations

import numpy as np

from ember import _dtype as DT


def _format_array(a: np.ndarray) -> str:
    return np.array2string(a, separator=", ", prefix="tensor(")


def tensor_repr(t) -> str:
    a = t._data if isinstance(t._data, np.ndarray) else t._data.get()
    body = _format_array(a)
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    default = (DT.get_default_dtype(), DT.int64, DT.bool_)
    if t.dtype not in default or a.size == 0:
        suffix.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"
