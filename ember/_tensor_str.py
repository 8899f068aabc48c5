"""``repr(tensor)`` formatted as PyTorch formats it, and ``set_printoptions``.

All elements of a tensor share one format, chosen from its nonzero finite values: whole
numbers print as ``1.``, others with ``precision`` decimals, and scientific notation is used
when the values span more than three orders of magnitude (or are huge or tiny).  Every element
is right-aligned to the widest one.  Tensors with more than ``threshold`` elements show only
``edgeitems`` items at each end of every dimension, with ``...`` between.
"""
from __future__ import annotations

import math

import numpy as np

from ember import _dtype as DT

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}
_opts: dict = {**_PROFILES["default"], "sci_mode": None}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print; ``profile`` ('default', 'short', 'full') resets the four sizes.

    Options left as None keep their value, except ``sci_mode``: None means "choose
    automatically", so every call sets it.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(
                f"set_printoptions(): unknown profile '{profile}'; use 'default', 'short' or "
                "'full'"
            )
        _opts.update(_PROFILES[profile])
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems,
             "linewidth": linewidth}
    _opts.update({k: v for k, v in given.items() if v is not None})
    _opts["sci_mode"] = sci_mode


def get_printoptions() -> dict:
    """The current print options, as a dict."""
    return dict(_opts)


class _Formatter:
    """Formats single values of one tensor with a common style and width."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        if not self.floating:
            if values.size:
                self.width = max(len(str(v)) for v in values.ravel().tolist())
            return
        v = values.astype(np.float64).ravel()
        v = v[np.isfinite(v) & (v != 0)]
        if v.size == 0:
            return
        mag = np.abs(v)
        lo, hi = float(mag.min()), float(mag.max())
        self.int_mode = bool(np.all(np.ceil(v) == v))
        self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
        if _opts["sci_mode"] is not None:
            self.sci_mode = bool(_opts["sci_mode"])
        self.width = max(len(self._text(x)) for x in v.tolist())

    def _text(self, x) -> str:
        if not self.floating:
            return str(x)
        if self.sci_mode:
            return f"{x:.{_opts['precision']}e}"
        if self.int_mode:
            return f"{x:.0f}" if math.isinf(x) or math.isnan(x) else f"{x:.0f}."
        return f"{x:.{_opts['precision']}f}"

    def __call__(self, x) -> str:
        return self._text(x).rjust(self.width)


def _summarized(a: np.ndarray, edge: int) -> np.ndarray:
    """Only the elements that are shown when the tensor is summarised."""
    for axis, n in enumerate(a.shape):
        if n > 2 * edge:
            a = a.take(np.r_[0:edge, n - edge:n], axis=axis)
    return a


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    edge = _opts["edgeitems"]
    n = a.shape[0]
    if summarize and n > 2 * edge:
        items = ([fmt(x) for x in a[:edge].tolist()] + [" ..."]
                 + [fmt(x) for x in a[n - edge:].tolist()])
    else:
        items = [fmt(x) for x in a.tolist()]
    per_line = max(1, int((_opts["linewidth"] - indent) // (fmt.width + 2)))
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    edge = _opts["edgeitems"]
    n = a.shape[0]
    if summarize and n > 2 * edge:
        rows = ([_body(a[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."]
                + [_body(a[i], indent + 1, summarize, fmt) for i in range(n - edge, n)])
    else:
        rows = [_body(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    """Append ``, key=value`` suffixes, starting a new line when one would pass linewidth."""
    parts = [text]
    # PyTorch's measure of the data's last line is two characters longer than the line.
    used = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if used + len(s) + 2 > _opts["linewidth"]:
            parts.append(",\n" + " " * indent + s)
            used = indent + len(s)
        else:
            parts.append(", " + s)
            used += len(s) + 2
    return "".join(parts) + ")"


def tensor_repr(t) -> str:
    """``tensor([...], dtype=..., grad_fn=...)`` exactly as PyTorch prints it."""
    a = t._data if isinstance(t._data, np.ndarray) else t._data.get()
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev.type}:{dev.index or 0}'")
    edge = _opts["edgeitems"]
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if t.dtype is not DT.get_default_dtype():
            suffixes.append(f"dtype={t.dtype}")
        body = "[]"
    else:
        if not edge:
            suffixes.append(f"size={tuple(a.shape)}")
        if t.dtype not in (DT.get_default_dtype(), DT.int64, DT.bool_):
            suffixes.append(f"dtype={t.dtype}")
        summarize = a.size > _opts["threshold"]
        if summarize and not edge:
            body = "[...]"
        else:
            fmt = _Formatter(_summarized(a, edge) if summarize else a)
            body = _body(a, indent, summarize, fmt)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
