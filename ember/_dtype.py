"""dtypes and PyTorch's type-promotion rules.

A dtype wraps a NumPy dtype.  Promotion works by *category* (bool < integer < floating): the
higher category wins, and within a category the wider type wins, exactly as `torch.result_type`
does.  Python scalars and 0-dim tensors only take part when they raise the category.
``finfo``/``iinfo`` give a dtype's limits as ``torch.finfo``/``torch.iinfo`` do.
"""
from __future__ import annotations

import numpy as np

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """A tensor element type (``ember.float32`` ...), printed as PyTorch prints it."""

    __slots__ = ("_cat", "is_complex", "is_floating_point", "is_signed", "itemsize", "name", "np")

    def __init__(self, name: str, np_dtype: type, cat: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = cat == _FLOAT
        self.is_signed = self.np.kind in "if"
        self.is_complex = False
        self._cat = cat

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self):
        return _by_name, (self.name,)

    def to_real(self) -> dtype:
        return self


bool_ = dtype("bool", np.bool_, _BOOL)
uint8 = dtype("uint8", np.uint8, _INT)
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
float16 = dtype("float16", np.float16, _FLOAT)
float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
# PyTorch also accepts the Python types where a dtype is expected
_FROM_PY = {bool: bool_, int: int64, float: float64}


def _by_name(name: str) -> dtype:
    """Unpickle a dtype as the one canonical object of that name."""
    return _BY_NAME[name]


def _as_dtype(d, fn: str, arg: str, pos: int) -> dtype:
    if isinstance(d, dtype):
        return d
    if isinstance(d, type) and d in _FROM_PY:
        return _FROM_PY[d]
    raise TypeError(
        f"{fn}(): argument '{arg}' (position {pos}) must be torch.dtype, not {type(d).__name__}"
    )


_default = float32


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype of a NumPy dtype; TypeError for types PyTorch has no tensor for."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        d = np.dtype(np_dtype)
        if d in _FROM_NP:
            return _FROM_NP[d]
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{d.name}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def get_default_dtype() -> dtype:
    return _default


def set_default_dtype(d: dtype) -> None:
    global _default
    if not isinstance(d, dtype):
        raise TypeError("invalid dtype object: only floating-point types are supported as the "
                        "default type")
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default = d


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """The smallest dtype both can be cast to, by PyTorch's category rules."""
    type1 = _as_dtype(type1, "promote_types", "type1", 1)
    type2 = _as_dtype(type2, "promote_types", "type2", 2)
    if type1 is type2:
        return type1
    if type1._cat != type2._cat:
        return type1 if type1._cat > type2._cat else type2
    return _FROM_NP[np.promote_types(type1.np, type2.np)]


def _scalar_dtype(value) -> dtype:
    if isinstance(value, bool):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    # PyTorch reads a NumPy bool scalar as a float number
    if isinstance(value, (float, np.floating, np.bool_)):
        return _default
    raise TypeError(f"result_type(): unsupported operand of type {type(value).__name__}")


def result_type(*operands) -> dtype:
    """PyTorch's three-tier promotion: dimensioned tensors, then 0-dim tensors, then scalars."""
    dims = zero = scal = None
    for o in operands:
        dt = getattr(o, "dtype", None)
        if isinstance(dt, dtype):
            if o.dim() > 0:
                dims = dt if dims is None else promote_types(dims, dt)
            else:
                zero = dt if zero is None else promote_types(zero, dt)
        elif isinstance(o, dtype):
            dims = o if dims is None else promote_types(dims, o)
        else:
            sd = _scalar_dtype(o)
            # bool scalars stay bool, ints promote to int64, floats to the default dtype
            scal = sd if scal is None or sd._cat > scal._cat else scal
    result = dims
    for tier in (zero, scal):
        if tier is not None and (result is None or tier._cat > result._cat):
            result = tier
    if result is None:
        raise TypeError("result_type() needs at least one operand")
    return result


def can_cast(from_: dtype, to: dtype) -> bool:
    """Whether an op may write a result of dtype ``from_`` into a tensor of dtype ``to``."""
    from_ = _as_dtype(from_, "can_cast", "from_", 1)
    to = _as_dtype(to, "can_cast", "to", 2)
    return from_._cat <= to._cat


class finfo:
    """Machine limits of a floating dtype (``ember.finfo(ember.float32).eps``)."""

    def __init__(self, type: dtype | None = None) -> None:
        d = _default if type is None else _as_dtype(type, "finfo", "type", 1)
        if not d.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        info = np.finfo(d.np)
        self.bits = info.bits
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision
        self.dtype = d.name

    def __eq__(self, other) -> bool:
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("finfo", self.dtype))

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``ember.iinfo(ember.int8).max``)."""

    def __init__(self, type: dtype) -> None:
        d = _as_dtype(type, "iinfo", "type", 1)
        if d is bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if d._cat != _INT:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(d.np)
        self.bits, self.min, self.max, self.dtype = info.bits, int(info.min), int(info.max), d.name

    def __eq__(self, other) -> bool:
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self) -> int:
        return hash(("iinfo", self.dtype))

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
