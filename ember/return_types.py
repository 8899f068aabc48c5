"""Named tuples returned by ops with several outputs (``values, indices = t.max(1)``).

They are plain tuples (unpacking and indexing work) with named fields, printed as PyTorch prints
its ``torch.return_types`` so that output copied between the two reads the same.
"""
from __future__ import annotations

from collections import namedtuple


def _return_type(name: str, fields: tuple) -> type:
    base = namedtuple(name, fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"torch.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__str__": __repr__,
                               "__module__": __name__})
    cls.__qualname__ = name
    return cls


_VI = ("values", "indices")

max = _return_type("max", _VI)
min = _return_type("min", _VI)
sort = _return_type("sort", _VI)
topk = _return_type("topk", _VI)
kthvalue = _return_type("kthvalue", _VI)
median = _return_type("median", _VI)
nanmedian = _return_type("nanmedian", _VI)
mode = _return_type("mode", _VI)
cummax = _return_type("cummax", _VI)
cummin = _return_type("cummin", _VI)
aminmax = _return_type("aminmax", ("min", "max"))

__all__ = [
    "aminmax", "cummax", "cummin", "kthvalue", "max", "median", "min", "mode", "nanmedian",
    "sort", "topk",
]
