"""Creating tensors (from data, filled, ranges, random) and copying/converting them."""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from ember import _device as D
from ember import _dtype as DT
from ember import random as R
from ember._tensor import Tensor
from ember.ops.base import Op


def _finish(array, dtype, device, requires_grad: bool) -> Tensor:
    """Move/cast a fresh NumPy array to its final dtype and device, and set requires_grad."""
    if dtype is not None and array.dtype != dtype.np:
        array = array.astype(dtype.np)
    d = D.as_device(device)
    if d.type != "cpu":
        array = D.move(array, d)
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_dtype(dtype) -> None:
    if dtype is not None and not isinstance(dtype, DT.dtype):
        raise TypeError(f"dtype must be ember.dtype, got {type(dtype).__name__}")


def _infer(data):
    """A NumPy array of ``data`` with PyTorch's inferred dtype (floats -> default dtype)."""
    if isinstance(data, Tensor):
        return data._data if isinstance(data._data, np.ndarray) else data._data.get()
    if isinstance(data, np.ndarray):
        DT.from_numpy_dtype(data.dtype)
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    if isinstance(data, (list, tuple)):
        data = _unwrap(data)
    try:
        arr = np.array(data)
    except ValueError:
        _ragged(data)
        raise
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if arr.dtype.kind == "f":
        arr = arr.astype(DT.get_default_dtype().np)
    elif arr.dtype.kind == "i" and arr.dtype != np.int64:
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "c":
        raise TypeError("complex tensors are not supported by ember")
    return arr


def _unwrap(seq):
    return [_unwrap(x) if isinstance(x, (list, tuple)) else
            (x.item() if isinstance(x, Tensor) and x.numel() == 1 and x.dim() == 0 else
             x._data if isinstance(x, Tensor) else x) for x in seq]


def _ragged(data, dim: int = 0) -> None:
    """Raise PyTorch's ValueError for a nested list whose rows have different lengths."""
    if not isinstance(data, (list, tuple)) or not data:
        return
    n = len(data[0]) if isinstance(data[0], (list, tuple)) else None
    for row in data:
        m = len(row) if isinstance(row, (list, tuple)) else None
        if m != n:
            raise ValueError(f"expected sequence of length {n} at dim {dim + 1} (got {m})")
    for row in data:
        _ragged(row, dim + 1)


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (dtype inferred as PyTorch infers it)."""
    _check_dtype(dtype)
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.detach()."
            "clone() or sourceTensor.detach().clone().requires_grad_(True), rather than "
            "torch.tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
        if device is None:
            device = data.device
    arr = _infer(data)
    arr = np.array(arr, copy=True) if dtype is None or arr.dtype == dtype.np else arr
    return _finish(arr, dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with ``data`` when no conversion is needed."""
    _check_dtype(dtype)
    if isinstance(data, Tensor):
        return to_copy(data, dtype, None if device is None else D.as_device(device), False)
    return _finish(_infer(data), dtype, device, False)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (same dtype)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    DT.from_numpy_dtype(ndarray.dtype)
    if not ndarray.flags.writeable:
        warnings.warn(
            "The given NumPy array is not writable, and PyTorch does not support non-writable "
            "tensors.",
            UserWarning,
            stacklevel=2,
        )
    return Tensor._make(ndarray)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    for s in size:
        if not isinstance(s, numbers.Integral) and not (isinstance(s, Tensor) and s.numel() == 1):
            raise TypeError(
                f"zeros(): argument 'size' must be tuple of ints, but found element of type "
                f"{type(s).__name__}"
            )
    size = tuple(int(s) for s in size)
    for s in size:
        if s < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {s}: {list(size)}"
            )
    return size


def _filled(fill, size, dtype, device, requires_grad) -> Tensor:
    _check_dtype(dtype)
    dtype = dtype or DT.get_default_dtype()
    d = D.as_device(device)
    xp = D.array_module(d)
    arr = xp.full(size, fill, dtype=dtype.np) if fill != 0 else xp.zeros(size, dtype=dtype.np)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    return _filled(0, _size(size), dtype, device, requires_grad)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False) -> Tensor:
    return _filled(1, _size(size), dtype, device, requires_grad)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None) -> Tensor:
    return _filled(0, _size(size), dtype, device, requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = DT.result_type(fill_value)
    return _filled(fill_value, _size((size,)), dtype, device, requires_grad)


def _like(input: Tensor, dtype, device):
    return (dtype or input.dtype), (device if device is not None else input.device)


def zeros_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _filled(0, input._data.shape, dtype, device, requires_grad)


def ones_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _filled(1, input._data.shape, dtype, device, requires_grad)


def empty_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _filled(fill_value, input._data.shape, dtype, device, requires_grad)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(
            "upper bound and larger bound inconsistent with step sign"
        )
    if dtype is None:
        dtype = DT.result_type(*vals)
    n = int(np.ceil((end - start) / step))
    arr = (start + np.arange(n, dtype=np.float64) * step) if dtype.is_floating_point or any(
        isinstance(v, float) for v in vals) else np.arange(start, end, step)
    return _finish(np.asarray(arr).astype(dtype.np), None, device, requires_grad)


# ---- random ----------------------------------------------------------------------------------


def _random(draw, size, dtype, device, requires_grad, generator) -> Tensor:
    _check_dtype(dtype)
    dtype = dtype or DT.get_default_dtype()
    arr = draw(R.rng(generator), _size(size)).astype(dtype.np, copy=False)
    return _finish(arr, None, device, requires_grad)


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Uniform samples on [0, 1)."""
    return _random(lambda g, s: g.random(s), size, dtype, device, requires_grad, generator)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    """Standard normal samples."""
    return _random(lambda g, s: g.standard_normal(s), size, dtype, device, requires_grad,
                   generator)


def rand_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return rand(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return randn(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


# ---- copies and conversions ------------------------------------------------------------------


class ToCopy(Op):
    """A dtype cast and/or device move; the gradient goes back to the source dtype/device."""

    @staticmethod
    def forward(ctx, x, dtype, device):
        ctx.src_dtype, ctx.src_device = x.dtype, D.device_of(x)
        if device is not None:
            x = D.move(x, device)
        return x.astype(dtype, copy=True) if dtype is not None else x.copy()

    @staticmethod
    def backward(ctx, g):
        return ToCopy.apply(g, ctx.src_dtype if g._data.dtype != ctx.src_dtype else None,
                            ctx.src_device if g.device != ctx.src_device else None)


def to_copy(input: Tensor, dtype, device, copy: bool = False) -> Tensor:
    """The conversion behind ``Tensor.to``: returns ``input`` itself when nothing changes."""
    same_dtype = dtype is None or input._data.dtype == dtype.np
    same_device = device is None or input.device == device or (
        device.type == "cuda" and device.index is None and input.device.type == "cuda")
    if same_dtype and same_device and not copy:
        return input
    return ToCopy.apply(input, None if same_dtype else dtype.np,
                        None if same_device else device)


class Clone(Op):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    return Clone.apply(input)


__all__ = [
    "arange", "as_tensor", "asarray", "clone", "empty", "empty_like", "from_numpy", "full",
    "full_like", "ones", "ones_like", "rand", "rand_like", "randn", "randn_like", "tensor",
    "zeros", "zeros_like",
]
TENSOR_METHODS = ["clone"]
INPLACE_METHODS: list = []
