"""Creating tensors (from data, filled, ranges, random), filling them in place, and copying.

Random numbers are drawn on the CPU from an ``ember.Generator`` (see ``ember.random``) and
then moved, so a seed gives the same numbers on every device.  Samplers record a graph node
when an input requires grad, whose gradient is zero, as PyTorch's do.
"""
from __future__ import annotations

import builtins
import math
import numbers
import warnings

import numpy as np

from ember import _device as D
from ember import _dtype as DT
from ember import random as R
from ember._tensor import Tensor
from ember.ops.base import Op

_PY_DTYPES = {builtins.float: DT.float64, builtins.int: DT.int64, builtins.bool: DT.bool_}


# ---- argument handling -----------------------------------------------------------------------


def _dtype_arg(dtype, op: str) -> DT.dtype | None:
    """``dtype=`` as an ember dtype; Python's float/int/bool are accepted as PyTorch does."""
    if dtype is None or isinstance(dtype, DT.dtype):
        return dtype
    if dtype in _PY_DTYPES:
        return _PY_DTYPES[dtype]
    raise TypeError(
        f"{op}(): argument 'dtype' must be torch.dtype, not {type(dtype).__name__}; pass e.g. "
        "dtype=torch.float32"
    )


def _size(args: tuple, op: str, size=None) -> tuple:
    """Sizes given as ``f(2, 3)``, ``f((2, 3))``, ``f(Size)`` or ``f(size=(2, 3))``."""
    if size is not None:
        if args:
            raise TypeError(f"{op}() got multiple values for argument 'size'")
        args = (size,)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for s in args:
        if isinstance(s, Tensor) and s.numel() == 1 and not s.is_floating_point():
            s = s.item()
        if not isinstance(s, numbers.Integral) or isinstance(s, builtins.bool):
            raise TypeError(
                f"{op}(): argument 'size' must be tuple of ints, but found element of type "
                f"{type(s).__name__}"
            )
        out.append(int(s))
    if any(s < 0 for s in out):
        bad = next(s for s in out if s < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {out}")
    return tuple(out)


def _finish(array, dtype, device, requires_grad: bool, out=None) -> Tensor:
    """Cast/move a fresh NumPy array to its final dtype and device; set requires_grad or ``out``."""
    if dtype is not None and array.dtype != dtype.np:
        array = array.astype(dtype.np)
    d = D.as_device(device) if device is not None else (out.device if out is not None else D.CPU)
    if d.type != "cpu":
        array = D.move(array, d)
    if out is not None:
        return _write_out(out, array)
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad = True
    return t


def _write_out(out: Tensor, array) -> Tensor:
    """Store a result in ``out=`` (resized when the shape differs), as PyTorch's out variants."""
    out._check_inplace()
    if out._data.shape == array.shape:
        out._data[...] = array
    else:
        out._data = array.astype(out._data.dtype)
    out._vc[0] += 1
    return out


def _scalar(v):
    """A Python number from a number or a one-element tensor."""
    return v.item() if isinstance(v, Tensor) else v


# ---- from data -------------------------------------------------------------------------------


def _leaf_dtype(x) -> DT.dtype:
    if isinstance(x, builtins.bool):
        return DT.bool_
    if isinstance(x, numbers.Integral) and not isinstance(x, np.generic):
        return DT.int64
    if isinstance(x, numbers.Real) and not isinstance(x, np.generic):
        return DT.get_default_dtype()
    if isinstance(x, (np.generic, np.ndarray)):
        return DT.from_numpy_dtype(x.dtype)
    if isinstance(x, Tensor):
        return x.dtype
    if isinstance(x, numbers.Complex):
        raise TypeError("ember has no complex dtypes: tensor() cannot hold complex numbers")
    if x is None:
        raise RuntimeError("Could not infer dtype of NoneType")
    raise TypeError(f"new(): invalid data type '{type(x).__name__}'")


def _infer_dtype(data) -> DT.dtype:
    """PyTorch's dtype for nested data: the promotion of all its leaves' dtypes."""
    py_types, dtypes = set(), set()
    stack = [data]
    while stack:
        for x in stack.pop():
            if isinstance(x, (list, tuple, range)):
                stack.append(x)
            elif type(x) in (builtins.float, builtins.int, builtins.bool):
                py_types.add(type(x))
            else:
                dtypes.add(_leaf_dtype(x))
    dtypes.update(_leaf_dtype(t(1)) for t in py_types)
    result = None
    for d in dtypes:
        result = d if result is None else DT.promote_types(result, d)
    return result or DT.get_default_dtype()


def _unwrap(seq) -> list:
    return [_unwrap(x) if isinstance(x, (list, tuple, range)) else
            (x._data.get() if hasattr(x._data, "get") else x._data) if isinstance(x, Tensor)
            else x for x in seq]


def _ragged(data, dim: int = 0) -> None:
    """Raise PyTorch's error for nested sequences whose rows do not line up."""
    if not isinstance(data, (list, tuple)) or not data:
        return
    lens = [len(r) if isinstance(r, (list, tuple)) else None for r in data]
    if None in lens and any(n is not None for n in lens):
        raise TypeError(
            f"tensor(): not a sequence: rows at dim {dim} mix numbers and sequences"
        )
    for n in lens:
        if n != lens[0]:
            raise ValueError(f"expected sequence of length {lens[0]} at dim {dim + 1} (got {n})")
    for row in data:
        _ragged(row, dim + 1)


def _from_data(data, dtype: DT.dtype | None) -> np.ndarray:
    """A NumPy array of ``data`` with PyTorch's dtype (inferred unless ``dtype`` is given)."""
    if isinstance(data, Tensor):
        a = data._data
        return a if isinstance(a, np.ndarray) else a.get()
    if isinstance(data, np.ndarray):
        DT.from_numpy_dtype(data.dtype)
        return data
    if isinstance(data, (list, tuple, range)):
        inferred = _infer_dtype(data)
        try:
            arr = np.array(_unwrap(data))
        except ValueError:
            _ragged(data)
            raise
        except OverflowError:
            raise ValueError("Overflow when unpacking long long") from None
        if arr.dtype == object:
            raise ValueError("Overflow when unpacking long long")
        return arr.astype((dtype or inferred).np, copy=False)
    inferred = _leaf_dtype(data)
    try:
        arr = np.asarray(data, dtype=None if isinstance(data, np.generic) else inferred.np)
    except OverflowError:
        raise ValueError("Overflow when unpacking long long") from None
    return arr


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (dtype inferred as PyTorch infers it)."""
    dtype = _dtype_arg(dtype, "tensor")
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
    arr = _from_data(data, dtype)
    arr = arr.astype(dtype.np if dtype is not None else arr.dtype, copy=True)
    return _finish(arr, None, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with ``data`` when no conversion is needed."""
    dtype = _dtype_arg(dtype, "as_tensor")
    if isinstance(data, Tensor):
        return to_copy(data, dtype, None if device is None else D.as_device(device), False)
    return _finish(_from_data(data, dtype), dtype, device, False)


def asarray(obj, *, dtype=None, device=None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor: shared when possible, copied when ``copy=True`` or needed."""
    t = as_tensor(obj, dtype=dtype, device=device)
    if copy:
        t = Tensor._make(t._data.copy())
    if requires_grad:
        t.requires_grad = True
    return t


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


# ---- filled ----------------------------------------------------------------------------------


def _filled(fill, size: tuple, dtype, device, requires_grad: bool, out=None) -> Tensor:
    """A tensor of ``fill`` made directly on its device."""
    if dtype is None:
        dtype = out.dtype if out is not None else DT.get_default_dtype()
    d = D.as_device(device) if device is not None else (out.device if out is not None else D.CPU)
    xp = D.array_module(d)
    zero = isinstance(fill, numbers.Integral) and fill == 0  # -0.0 must stay negative
    arr = xp.zeros(size, dtype=dtype.np) if zero else xp.full(size, fill, dtype=dtype.np)
    return _finish(arr, None, d, requires_grad, out)


def zeros(*args, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    return _filled(0, _size(args, "zeros", size), _dtype_arg(dtype, "zeros"), device,
                   requires_grad, out)


def ones(*args, size=None, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of ones."""
    return _filled(1, _size(args, "ones", size), _dtype_arg(dtype, "ones"), device,
                   requires_grad, out)


def empty(*args, size=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False, memory_format=None) -> Tensor:
    """An "uninitialised" tensor (ember fills it with zeros, so it is deterministic)."""
    return _filled(0, _size(args, "empty", size), _dtype_arg(dtype, "empty"), device,
                   requires_grad, out)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value (bool, int64, float)."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"full(): argument 'size' must be tuple of ints, not {type(size).__name__}; pass "
            "e.g. full((2, 3), value)"
        )
    fill_value = _scalar(fill_value)
    dtype = _dtype_arg(dtype, "full")
    if dtype is None and out is None:
        dtype = DT.result_type(fill_value)
    return _filled(fill_value, _size((size,), "full"), dtype, device, requires_grad, out)


def _like(input: Tensor, dtype, device, op: str):
    dtype = _dtype_arg(dtype, op) or input.dtype
    return input._data.shape, dtype, (device if device is not None else input.device)


def zeros_like(input: Tensor, *, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    """Zeros with the shape (and by default dtype and device) of ``input``."""
    shape, dtype, device = _like(input, dtype, device, "zeros_like")
    return _filled(0, shape, dtype, device, requires_grad)


def ones_like(input: Tensor, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """Ones with the shape (and by default dtype and device) of ``input``."""
    shape, dtype, device = _like(input, dtype, device, "ones_like")
    return _filled(1, shape, dtype, device, requires_grad)


def empty_like(input: Tensor, *, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    """An "uninitialised" tensor like ``input`` (zeros in ember)."""
    shape, dtype, device = _like(input, dtype, device, "empty_like")
    return _filled(0, shape, dtype, device, requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """``fill_value`` everywhere, with the shape (and by default dtype) of ``input``."""
    shape, dtype, device = _like(input, dtype, device, "full_like")
    return _filled(_scalar(fill_value), shape, dtype, device, requires_grad)


def eye(n: int, m: int | None = None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``)."""
    for name, v in (("n", n), ("m", m)):
        if v is not None and v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    dtype = _dtype_arg(dtype, "eye") or (out.dtype if out is not None
                                         else DT.get_default_dtype())
    return _finish(np.eye(n, n if m is None else m, dtype=dtype.np), None, device,
                   requires_grad, out)


# ---- ranges ----------------------------------------------------------------------------------


def _range_dtype(*values) -> DT.dtype:
    return DT.get_default_dtype() if any(isinstance(v, float) for v in values) else DT.int64


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is float."""
    if end is None:
        start, end = 0, start
    start, end, step = (_scalar(v) for v in (start, end, step))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not all(math.isfinite(v) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"upper bound and lower bound inconsistent with step sign (arange({start}, {end}, "
            f"{step}))"
        )
    dtype = _dtype_arg(dtype, "arange") or (out.dtype if out is not None
                                            else _range_dtype(start, end, step))
    if all(isinstance(v, numbers.Integral) for v in (start, end, step)):
        n = -((start - end) // step)
    else:
        n = math.ceil((end - start) / step)
    if dtype.is_floating_point:
        arr = start + np.arange(n, dtype=np.float64) * step
    else:
        if int(step) == 0:
            raise ValueError(
                f"arange(): step {step} truncates to 0 for {dtype}; use a float dtype or an "
                "integer step (step must be nonzero)"
            )
        arr = int(start) + np.arange(n, dtype=np.int64) * int(step)
    return _finish(arr, dtype, device, requires_grad, out)


def _linspace(start: float, end: float, steps: int, op: str, dtype: DT.dtype) -> np.ndarray:
    """``steps`` evenly spaced values, the second half measured back from ``end``.

    The step is rounded to the output's float type and each value is then rounded once, as a
    fused multiply-add would (integer outputs are computed in float64 and truncated).
    """
    if steps < 0:
        raise RuntimeError(f"{op}(): number of steps must be non-negative, got {steps}")
    ft = dtype.np.type if dtype in (DT.float32, DT.float64) else (
        np.float32 if dtype is DT.float16 else np.float64)
    wide = np.longdouble if ft is np.float64 else np.float64
    s, e = ft(start), ft(end)
    if steps == 1:
        return np.array([s])
    step = wide((e - s) / ft(steps - 1))
    i = np.arange(steps, dtype=wide)
    return np.where(i < steps // 2, wide(s) + step * i, wide(e) - step * (steps - 1 - i)).astype(ft)


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end`` inclusive."""
    dtype = _dtype_arg(dtype, "linspace") or (out.dtype if out is not None
                                              else DT.get_default_dtype())
    arr = _linspace(_scalar(start), _scalar(end), steps, "linspace", dtype)
    return _finish(arr, dtype, device, requires_grad, out)


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None, layout=None,
             device=None, requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)`` (integer outputs are truncated)."""
    dtype = _dtype_arg(dtype, "logspace") or (out.dtype if out is not None
                                              else DT.get_default_dtype())
    exps = _linspace(_scalar(start), _scalar(end), steps, "logspace", dtype)
    return _finish(np.power(float(base), exps.astype(np.float64)), dtype, device,
                   requires_grad, out)


# ---- random ----------------------------------------------------------------------------------


class Sample(Op):
    """A random draw that depends on tensors (means, probabilities); its gradient is zero.

    ``draw`` gets the tensor arguments as NumPy arrays; the result goes to their device.
    """

    @staticmethod
    def forward(ctx, *args, draw):
        dev = next((D.device_of(a) for a in args if hasattr(a, "shape")), D.CPU)
        cpu = [D.move(a, D.CPU) if hasattr(a, "shape") else a for a in args]
        return D.move(draw(*cpu), dev)

    @staticmethod
    def backward(ctx, g):
        return tuple(None if meta is None else _zeros_of(g, meta) for meta in ctx._in_meta)


# one subclass per distribution, so that grad_fn names say which (NormalBackward0 ...)
_SAMPLERS = {name: type(name, (Sample,), {}) for name in (
    "Normal", "Bernoulli", "Poisson", "Uniform", "Random", "Exponential", "Geometric",
    "LogNormal", "Cauchy")}


def _zeros_of(g: Tensor, meta) -> Tensor:
    shape, dtype = meta
    xp = D.get_xp(g._data)
    return Tensor._make(xp.zeros(shape, dtype=dtype))


def _float_input(t: Tensor, op: str) -> None:
    if not t.is_floating_point():
        raise NotImplementedError(
            f'"{op}" not implemented for \'{t.dtype}\': {op} needs a floating-point input; '
            "convert it with .float()"
        )


def _random(draw, size: tuple, dtype, device, requires_grad: bool, generator, out,
            op: str) -> Tensor:
    dtype = _dtype_arg(dtype, op) or (out.dtype if out is not None
                                      else DT.get_default_dtype())
    return _finish(draw(R.rng(generator), size, dtype), dtype, device, requires_grad, out)


def _uniform01(g: np.random.Generator, size: tuple, dtype: DT.dtype) -> np.ndarray:
    """Uniform samples on [0, 1) in ``dtype`` (never rounded up to 1)."""
    native = dtype.np if dtype.np in (np.float32, np.float64) else np.float64
    arr = g.random(size, dtype=native).astype(dtype.np, copy=False)
    if dtype.is_floating_point and native != dtype.np:
        np.minimum(arr, np.nextafter(dtype.np.type(1), dtype.np.type(0)), out=arr)
    return arr


def _std_normal(g: np.random.Generator, size: tuple, dtype: DT.dtype) -> np.ndarray:
    native = dtype.np if dtype.np in (np.float32, np.float64) else np.float64
    return g.standard_normal(size, dtype=native)


def rand(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    return _random(_uniform01, _size(args, "rand", size), dtype, device, requires_grad,
                   generator, out, "rand")


def randn(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Standard normal samples."""
    return _random(_std_normal, _size(args, "randn", size), dtype, device, requires_grad,
                   generator, out, "randn")


def _check_range(low: int, high: int, op: str = "random_") -> None:
    if low >= high:
        raise RuntimeError(
            f"{op} expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )


def randint(*args, low=None, high=None, size=None, generator=None, out=None, dtype=None,
            layout=None, device=None, requires_grad: bool = False,
            pin_memory: bool = False) -> Tensor:
    """Integers uniform on [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    pos = list(args)
    if size is None and pos and isinstance(pos[-1], (tuple, list)):
        size = pos.pop()
    if high is None and pos:
        high = pos.pop()
    if low is None:
        low = pos.pop() if pos else 0
    if pos or high is None or not isinstance(size, (tuple, list)):
        raise TypeError(
            "randint(): expects (high, size) or (low, high, size) with size a tuple of ints, "
            "e.g. randint(0, 10, (3,))"
        )
    low, high = int(_scalar(low)), int(_scalar(high))
    _check_range(low, high)
    dtype = _dtype_arg(dtype, "randint") or (out.dtype if out is not None else DT.int64)
    arr = R.rng(generator).integers(low, high, _size((size,), "randint"))
    return _finish(arr, dtype, device, requires_grad, out)


def rand_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """Uniform [0, 1) samples shaped like ``input``."""
    shape, dtype, device = _like(input, dtype, device, "rand_like")
    return rand(shape, generator=generator, dtype=dtype, device=device,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    """Standard normal samples shaped like ``input``."""
    shape, dtype, device = _like(input, dtype, device, "randn_like")
    return randn(shape, generator=generator, dtype=dtype, device=device,
                 requires_grad=requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, generator=None,
                 dtype=None, layout=None, device=None, requires_grad: bool = False,
                 memory_format=None) -> Tensor:
    """Integers on [low, high) shaped like ``input`` (``randint_like(x, high)`` also works)."""
    if high is None:
        low, high = 0, low
    shape, dtype, device = _like(input, dtype, device, "randint_like")
    return randint(low, high, shape, generator=generator, dtype=dtype, device=device,
                   requires_grad=requires_grad)


def randperm(n: int, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    _size((n,), "randperm")
    dtype = _dtype_arg(dtype, "randperm") or (out.dtype if out is not None else DT.int64)
    return _finish(R.rng(generator).permutation(int(n)), dtype, device, requires_grad, out)


def _check_std(std, op: str = "normal") -> None:
    if std < 0:
        raise RuntimeError(f"{op} expects std >= 0.0, but found std {std}")


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Normal samples: ``normal(Tensor, Tensor)``, ``normal(Tensor, float)``,
    ``normal(float, Tensor)`` or ``normal(float, float, size)``."""
    g = R.rng(generator)
    tm, ts = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not tm and not ts:
        if size is None:
            raise TypeError(
                "normal(): with float mean and std give a size, e.g. normal(0., 1., (2, 3))"
            )
        _check_std(std)
        return _random(lambda r, s, d: mean + std * _std_normal(r, s, d),
                       _size((size,), "normal"), dtype, device, requires_grad, generator,
                       out, "normal")
    for t in (mean, std):
        if isinstance(t, Tensor):
            _float_input(t, "normal_kernel_cpu")
    if not ts:
        _check_std(std)
    elif ts and bool((std._data < 0).any()):
        raise RuntimeError(
            f"normal expects all elements of std >= 0.0, but found std {float(std._data.min())}"
        )
    dtype = DT.result_type(*[t for t in (mean, std) if isinstance(t, Tensor)])

    shape = tuple((mean if tm else std).shape)
    if tm and ts:
        try:
            shape = np.broadcast_shapes(tuple(mean.shape), tuple(std.shape))
        except ValueError:
            raise _broadcast_error(mean.shape, std.shape) from None

    def draw(m, s):
        return (m + s * _std_normal(g, shape, dtype)).astype(dtype.np, copy=False)

    res = _SAMPLERS["Normal"].apply(mean, std, draw=draw)
    return res if out is None else _write_out(out, res._data)


def bernoulli(input: Tensor, p: float | None = None, *, generator=None, out=None) -> Tensor:
    """0/1 samples: 1 with probability ``input`` (or with probability ``p``), dtype of input."""
    _float_input(input, "bernoulli_tensor_cpu_p_")
    g = R.rng(generator)
    if p is None:
        probs = input._data
        if not bool(((probs >= 0) & (probs <= 1)).all()):
            raise RuntimeError(
                "Expected p_in >= 0 && p_in <= 1 to be true, but got false. (bernoulli: every "
                "probability in input must lie in [0, 1])"
            )
    else:
        _check_p(p, "bernoulli")

    def draw(x):
        pr = x if p is None else p
        return (g.random(x.shape) < pr).astype(x.dtype)

    res = _SAMPLERS["Bernoulli"].apply(input, draw=draw)
    return res if out is None else _write_out(out, res._data)


def _check_p(p: float, op: str) -> None:
    if not 0 <= p <= 1:
        raise RuntimeError(f"{op} expects p to be in [0, 1], but got p={p}")


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None,
                out=None) -> Tensor:
    """Category indices drawn from each row of weights ``input`` (1-D or 2-D)."""
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.is_floating_point():
        raise RuntimeError(
            f"multinomial only supports floating-point dtypes for input, got: {input.dtype}"
        )
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    k = input.shape[-1]
    if not replacement and num_samples > k:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    w = input._data if isinstance(input._data, np.ndarray) else input._data.get()
    w = w.reshape(-1, k).astype(np.float64)
    if not np.isfinite(w).all() or (w < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = w.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    g = R.rng(generator)
    rows = w.shape[0]
    if replacement:
        cdf = np.cumsum(w, axis=1)
        cdf /= cdf[:, -1:]
        offset = np.arange(rows, dtype=np.float64)[:, None]
        u = g.random((rows, num_samples)) + offset
        idx = np.searchsorted((cdf + offset).ravel(), u.ravel(), side="right").reshape(u.shape)
        idx = np.minimum(idx - np.arange(rows)[:, None] * k, k - 1)
    else:
        # the categories with the smallest Exp(1) / weight keys are a weighted draw without
        # replacement; zero weights get infinite keys and come last
        with np.errstate(divide="ignore"):
            keys = g.standard_exponential((rows, k)) / w
        idx = np.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.reshape(input.shape[:-1] + (num_samples,))
    return _finish(idx.astype(np.int64), None, input.device, False, out)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson samples with rates ``input`` (same dtype)."""
    _float_input(input, "poisson_cpu")
    if bool((input._data < 0).any()):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    g = R.rng(generator)
    return _SAMPLERS["Poisson"].apply(input, draw=lambda x: g.poisson(x).astype(x.dtype))


# ---- Tensor.new_* ----------------------------------------------------------------------------


def _new(self: Tensor, dtype, device):
    return (_dtype_arg(dtype, "new") or self.dtype), (device if device is not None
                                                        else self.device)


def new_tensor(self: Tensor, data, *, dtype=None, device=None,
               requires_grad: bool = False) -> Tensor:
    """A tensor of ``data`` with this tensor's dtype and device unless given."""
    dtype, device = _new(self, dtype, device)
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.detach()."
            "clone() or sourceTensor.detach().clone().requires_grad_(True), rather than "
            "tensor.new_tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
    arr = _from_data(data, dtype).astype(dtype.np, copy=True)
    return _finish(arr, None, device, requires_grad)


def new_zeros(self: Tensor, *size, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    """Zeros of ``size`` with this tensor's dtype and device unless given."""
    dtype, device = _new(self, dtype, device)
    return _filled(0, _size(size, "new_zeros"), dtype, device, requires_grad)


def new_ones(self: Tensor, *size, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """Ones of ``size`` with this tensor's dtype and device unless given."""
    dtype, device = _new(self, dtype, device)
    return _filled(1, _size(size, "new_ones"), dtype, device, requires_grad)


def new_empty(self: Tensor, *size, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    """An "uninitialised" tensor of ``size`` (zeros in ember) with this tensor's dtype/device."""
    dtype, device = _new(self, dtype, device)
    return _filled(0, _size(size, "new_empty"), dtype, device, requires_grad)


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with this tensor's dtype and device unless given."""
    dtype, device = _new(self, dtype, device)
    return _filled(_scalar(fill_value), _size((size,), "new_full"), dtype, device,
                   requires_grad)


# ---- in-place fills and samplers -------------------------------------------------------------


def _broadcast_error(a_shape: tuple, b_shape: tuple, a_expands: bool = True) -> RuntimeError:
    """PyTorch's error for shapes that do not broadcast (``a`` may not expand for copy_)."""
    n = max(len(a_shape), len(b_shape))
    a = (1,) * (n - len(a_shape)) + tuple(a_shape)
    b = (1,) * (n - len(b_shape)) + tuple(b_shape)
    i = next(i for i in range(n - 1, -1, -1)
             if a[i] != b[i] and b[i] != 1 and (a[i] != 1 or not a_expands))
    return RuntimeError(
        f"The size of tensor a ({a[i]}) must match the size of tensor b ({b[i]}) at "
        f"non-singleton dimension {i}"
    )


class Copy(Op):
    """``dst.copy_(src)``: src broadcast, cast and moved to dst; gradient flows to src only."""

    @staticmethod
    def forward(ctx, dst, src):
        src = D.move(src, D.device_of(dst)) if hasattr(src, "shape") else np.asarray(src)
        ctx.src_dtype = src.dtype
        xp = D.get_xp(dst)
        try:
            b = xp.broadcast_to(src, dst.shape)
        except ValueError:
            raise _broadcast_error(dst.shape, src.shape, a_expands=False) from None
        return b.astype(dst.dtype, copy=True)

    @staticmethod
    def backward(ctx, g):
        # cast before the broadcast sum, so that a float64 source sums in float64
        return _zeros_of(g, ctx._in_meta[0]), g.to(DT.from_numpy_dtype(ctx.src_dtype))


def copy(dst: Tensor, src) -> Tensor:
    """The out-of-place form of ``copy_``: ``src`` shaped and typed like ``dst``."""
    return Copy.apply(dst, src)


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast, moved) into this tensor; differentiable w.r.t. ``src``."""
    return self._inplace(copy, src)


class Fill(Op):
    """Every element set to a value (a number or a 0-d tensor, which then gets the gradient)."""

    @staticmethod
    def forward(ctx, dst, value):
        ctx.tensor_value = hasattr(value, "shape")
        if ctx.tensor_value:
            value = D.move(value, D.device_of(dst))
        return D.get_xp(dst).full(dst.shape, value, dtype=dst.dtype)

    @staticmethod
    def backward(ctx, g):
        return _zeros_of(g, ctx._in_meta[0]), (g.sum() if ctx.tensor_value else None)


def fill(dst: Tensor, value) -> Tensor:
    """The out-of-place form of ``fill_``: ``value`` in ``dst``'s shape and dtype."""
    return Fill.apply(dst, value)


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a 0-d tensor)."""
    if isinstance(value, Tensor) and value.dim() != 0:
        raise RuntimeError(
            f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} "
            "dimensions."
        )
    return self._inplace(fill, value)


class Zero(Op):
    """Zeros like the input; the gradient is zero."""

    @staticmethod
    def forward(ctx, dst):
        return D.get_xp(dst).zeros_like(dst)

    @staticmethod
    def backward(ctx, g):
        return _zeros_of(g, ctx._in_meta[0])


def zero(dst: Tensor) -> Tensor:
    """Zeros shaped and typed like ``dst`` (differentiable: the gradient is zero)."""
    return Zero.apply(dst)


def zero_(self: Tensor) -> Tensor:
    """Set every element to zero."""
    return self._inplace(zero)


def _sample_into(self: Tensor, draw, kind: str) -> Tensor:
    """Overwrite ``self`` with ``draw(shape)`` (a non-leaf keeps a zero gradient)."""

    def sample(t: Tensor) -> Tensor:
        return _SAMPLERS[kind].apply(t, draw=lambda x: np.asarray(draw(x.shape)).astype(
            x.dtype, copy=False))

    sample.__name__ = kind.lower()
    return self._inplace(sample)


def _float_self(self: Tensor, op: str) -> None:
    if not self.is_floating_point():
        raise NotImplementedError(
            f"{op}_(): not implemented for '{self.dtype}'; it samples a continuous "
            "distribution, so use a floating-point tensor"
        )


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with normal samples of ``mean`` and ``std``."""
    _float_self(self, "normal")
    _check_std(std)
    g = R.rng(generator)
    return _sample_into(self, lambda s: mean + std * g.standard_normal(s), "Normal")


def _from_kw(from_, kwargs: dict, op: str):
    """PyTorch names the lower bound ``from`` (a Python keyword): accept it via ``**kwargs``."""
    if "from" in kwargs:
        from_ = kwargs.pop("from")
    if kwargs:
        raise TypeError(f"{op}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    return from_


def uniform_(self: Tensor, from_: float = 0.0, to: float = 1.0, *, generator=None,
             **kwargs) -> Tensor:
    """Fill with uniform samples on [from, to)."""
    a, b = _from_kw(from_, kwargs, "uniform_"), to
    _float_self(self, "uniform")
    if a > b:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}"
        )
    g = R.rng(generator)
    return _sample_into(self, lambda s: a + (b - a) * g.random(s), "Uniform")


def _random_bounds(dtype: DT.dtype) -> int:
    """The exclusive upper bound of ``random_()`` with no bounds given."""
    if dtype.is_floating_point:
        return 2 ** (np.finfo(dtype.np).nmant + 1) + 1
    if dtype is DT.bool_:
        return 2
    return int(np.iinfo(dtype.np).max) + 1


def random_(self: Tensor, from_: int = 0, to: int | None = None, *, generator=None,
            **kwargs) -> Tensor:
    """Fill with integers uniform on [from, to) (``random_(to)`` means [0, to))."""
    from_ = _from_kw(from_, kwargs, "random_")
    if to is None and from_ != 0:
        from_, to = 0, from_
    if to is None:
        to = _random_bounds(self.dtype)
    _check_range(int(from_), int(to))
    g = R.rng(generator)
    return _sample_into(self, lambda s: g.integers(int(from_), int(to), s), "Random")


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 with probability ``p`` (a number or a tensor broadcast to self), else 0."""
    g = R.rng(generator)
    if isinstance(p, Tensor):
        probs = p._data if isinstance(p._data, np.ndarray) else p._data.get()
        if bool(((probs < 0) | (probs > 1)).any()):
            raise RuntimeError(
                "bernoulli_ expects all elements of p to be in [0, 1]"
            )
    else:
        _check_p(p, "bernoulli_")
        probs = p
    return _sample_into(self, lambda s: g.random(s) < probs, "Bernoulli")


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with exponential samples of rate ``lambd``."""
    if not self.is_floating_point():
        raise RuntimeError(
            "Exponential distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {self.dtype}"
        )
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    g = R.rng(generator)
    return _sample_into(self, lambda s: g.exponential(1.0 / lambd, s), "Exponential")


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    g = R.rng(generator)
    return _sample_into(self, lambda s: g.geometric(p, s), "Geometric")


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with ``exp(N(mean, std))`` samples."""
    _float_self(self, "log_normal")
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    g = R.rng(generator)
    return _sample_into(self, lambda s: g.lognormal(mean, std, s), "LogNormal")


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Cauchy samples of ``median`` and scale ``sigma``."""
    _float_self(self, "cauchy")
    if sigma <= 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    g = R.rng(generator)
    return _sample_into(self, lambda s: median + sigma * g.standard_cauchy(s), "Cauchy")


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
    """A copy; the gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` that stays in the graph (the gradient passes through)."""
    return Clone.apply(input)


__all__ = [
    "arange", "as_tensor", "asarray", "bernoulli", "clone", "empty", "empty_like", "eye",
    "from_numpy", "full", "full_like", "linspace", "logspace", "multinomial", "normal", "ones",
    "ones_like", "poisson", "rand", "rand_like", "randint", "randint_like", "randn",
    "randn_like", "randperm", "tensor", "zeros", "zeros_like",
]
TENSOR_METHODS = [
    "bernoulli", "bernoulli_", "cauchy_", "clone", "copy_", "exponential_", "fill_",
    "geometric_", "log_normal_", "multinomial", "new_empty", "new_full", "new_ones",
    "new_tensor", "new_zeros", "normal_", "random_", "uniform_", "zero_",
]
INPLACE_METHODS: list = []
