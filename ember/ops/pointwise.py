"""Elementwise ops: arithmetic, comparison, bitwise and math functions.

Binary ops promote their operands with PyTorch's rules (``_promote``) before the op sees
them, so forward code works on arrays of one dtype; Python scalars stay Python scalars, which
NumPy treats as weakly typed, exactly as PyTorch treats them.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ember import _dtype as DT
from ember._device import get_xp
from ember._tensor import Tensor
from ember.ops.base import Op

# ---- operand handling ------------------------------------------------------------------------


def _check_operand(op: str, x) -> None:
    if not isinstance(x, (Tensor, numbers.Number, np.generic)):
        raise TypeError(
            f"{op}(): argument 'other' must be Tensor or Number, not {type(x).__name__}"
        )


def _promote(op: str, a, b, dtype: DT.dtype | None = None):
    """Cast tensor operands to their common dtype (or ``dtype``); check devices match."""
    _check_operand(op, a)
    _check_operand(op, b)
    if dtype is None:
        dtype = DT.result_type(a, b)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and type(a._data) is not type(b._data):
        if a._data.ndim and b._data.ndim:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{a.device} and {b.device}!"
            )
    return _cast(a, dtype), _cast(b, dtype), dtype


def _cast(x, dtype: DT.dtype):
    if isinstance(x, Tensor):
        return x if x._data.dtype == dtype.np else x.to(dtype)
    if isinstance(x, np.generic):
        x = x.item()
    if dtype is DT.bool_:
        return bool(x)
    if dtype.is_floating_point:
        return float(x)
    return int(x) if not isinstance(x, bool) else x


def _to_float(x: Tensor) -> Tensor:
    """Integer and bool inputs of float functions compute in the default dtype."""
    if not isinstance(x, Tensor):
        raise TypeError(f"expected Tensor as element 0 in argument 0, but got {type(x).__name__}")
    return x if x._data.dtype.kind == "f" else x.to(DT.get_default_dtype())


def _as_tensor(x, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    xp = get_xp(like._data) if like is not None else np
    return Tensor._make(xp.asarray(x))


# ---- arithmetic ------------------------------------------------------------------------------


class Add(Op):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Op):
    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(b, Tensor):
                ga = where(b == 0, 0.0, g * b * a ** (b - 1))
            else:
                ga = g * b * a ** (b - 1) if b != 0 else g * 0
        if ctx.needs_input_grad[1]:
            if isinstance(a, Tensor):
                gb = where((a == 0) & (b >= 0), 0.0, g * out * log(a))
            else:
                gb = g * out * math.log(a) if a > 0 else where(b >= 0, 0.0, g * out * math.nan)
        return ga, gb


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """input + alpha * other."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b, _ = _promote("add", input, other)
    return _out(Add.apply(a, b), out)


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """input - alpha * other."""
    if isinstance(input, Tensor) and input._data.dtype == np.bool_ and isinstance(other, Tensor) \
            and other._data.dtype == np.bool_:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead."
        )
    if alpha != 1:
        other = mul(other, alpha)
    a, b, _ = _promote("sub", input, other)
    return _out(Sub.apply(a, b), out)


subtract = sub


def mul(input, other, *, out=None) -> Tensor:
    a, b, _ = _promote("mul", input, other)
    return _out(Mul.apply(a, b), out)


multiply = mul


def div(input, other, *, rounding_mode: str | None = None, out=None) -> Tensor:
    """True division (int / int gives float); ``rounding_mode`` 'trunc' or 'floor'."""
    if rounding_mode is None:
        dtype = DT.result_type(input, other)
        if not dtype.is_floating_point:
            dtype = DT.get_default_dtype()
        a, b, _ = _promote("div", input, other, dtype)
        return _out(Div.apply(a, b), out)
    if rounding_mode == "trunc":
        return _out(trunc(div(input, other)) if DT.result_type(input, other).is_floating_point
                    else _int_div(input, other, "trunc"), out)
    if rounding_mode == "floor":
        return _out(floor_divide(input, other), out)
    raise RuntimeError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'"
    )


divide = div
true_divide = div


class FloorDivide(Op):
    @staticmethod
    def forward(ctx, a, b):
        return get_xp(a).floor_divide(a, b) if hasattr(a, "shape") else get_xp(b).floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        return g * 0, g * 0


class TruncDivide(Op):
    @staticmethod
    def forward(ctx, a, b):
        xp = get_xp(a if hasattr(a, "shape") else b)
        q = xp.floor_divide(a, b)
        fix = (xp.remainder(a, b) != 0) & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0))
        return q + fix.astype(q.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * 0, g * 0


def _int_div(input, other, mode: str) -> Tensor:
    a, b, dtype = _promote("div", input, other)
    _check_zero_div(b, dtype)
    return TruncDivide.apply(a, b)


def _check_zero_div(b, dtype: DT.dtype) -> None:
    if dtype.is_floating_point or dtype is DT.bool_:
        return
    bad = (b._data == 0).any() if isinstance(b, Tensor) else b == 0
    if bad:
        raise RuntimeError("ZeroDivisionError")


def floor_divide(input, other, *, out=None) -> Tensor:
    """Division rounded towards minus infinity (Python's ``//``)."""
    a, b, dtype = _promote("floor_divide", input, other)
    _check_zero_div(b, dtype)
    return _out(FloorDivide.apply(a, b), out)


class Remainder(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_xp(a if hasattr(a, "shape") else b).remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gb = None
        if ctx.needs_input_grad[1]:
            gb = -g * floor_divide(a, b)
        return g, gb


def remainder(input, other, *, out=None) -> Tensor:
    """Python's ``%``: the result has the sign of the divisor."""
    a, b, dtype = _promote("remainder", input, other)
    _check_zero_div(b, dtype)
    return _out(Remainder.apply(a, b), out)


def pow(input, exponent, *, out=None) -> Tensor:  # noqa: A001 - PyTorch's name
    """input ** exponent (either may be a Python scalar)."""
    a, b, dtype = _promote("pow", input, exponent)
    if not dtype.is_floating_point and isinstance(b, Tensor) and (b._data < 0).any():
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if not dtype.is_floating_point and isinstance(b, int) and b < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _out(Pow.apply(a, b), out)


def neg(input, *, out=None) -> Tensor:
    if input._data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return _out(Neg.apply(input), out)


negative = neg


def positive(input) -> Tensor:
    if input._data.dtype == np.bool_:
        raise RuntimeError(
            "The `+` operator, on a bool tensor is not supported."
        )
    return input


# ---- math functions (one Op each; integers compute in the default float dtype) --------------


class Exp(Op):
    @staticmethod
    def forward(ctx, x):
        y = get_xp(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Log(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_xp(x).log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Trunc(Op):
    @staticmethod
    def forward(ctx, x):
        return get_xp(x).trunc(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0


def exp(input, *, out=None) -> Tensor:
    return _out(Exp.apply(_to_float(input)), out)


def log(input, *, out=None) -> Tensor:
    return _out(Log.apply(_to_float(input)), out)


def trunc(input, *, out=None) -> Tensor:
    return _out(input if input._data.dtype.kind != "f" else Trunc.apply(input), out)


# ---- comparison and bitwise (not differentiable: their outputs are bool or integer) ----------


class _Compare(Op):
    fn = None

    @classmethod
    def forward(cls, ctx, a, b):
        return getattr(get_xp(a if hasattr(a, "shape") else b), cls.fn)(a, b)


class Eq(_Compare):
    fn = "equal"


class Ne(_Compare):
    fn = "not_equal"


class Lt(_Compare):
    fn = "less"


class Le(_Compare):
    fn = "less_equal"


class Gt(_Compare):
    fn = "greater"


class Ge(_Compare):
    fn = "greater_equal"


def _compare(cls, name: str, input, other) -> Tensor:
    if not isinstance(other, (Tensor, numbers.Number, np.generic)):
        if name in ("eq", "ne"):
            return NotImplemented
        raise TypeError(
            f"'{ {'lt': '<', 'le': '<=', 'gt': '>', 'ge': '>='}[name]}' not supported between "
            f"instances of 'Tensor' and '{type(other).__name__}'"
        )
    a, b, _ = _promote(name, input, other)
    return cls.apply(a, b)


def eq(input, other, *, out=None) -> Tensor:
    return _out(_compare(Eq, "eq", input, other), out)


def ne(input, other, *, out=None) -> Tensor:
    return _out(_compare(Ne, "ne", input, other), out)


def lt(input, other, *, out=None) -> Tensor:
    return _out(_compare(Lt, "lt", input, other), out)


def le(input, other, *, out=None) -> Tensor:
    return _out(_compare(Le, "le", input, other), out)


def gt(input, other, *, out=None) -> Tensor:
    return _out(_compare(Gt, "gt", input, other), out)


def ge(input, other, *, out=None) -> Tensor:
    return _out(_compare(Ge, "ge", input, other), out)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


class _Bitwise(Op):
    fn = None

    @classmethod
    def forward(cls, ctx, a, b):
        return getattr(get_xp(a if hasattr(a, "shape") else b), cls.fn)(a, b)


class BitwiseAnd(_Bitwise):
    fn = "bitwise_and"


class BitwiseOr(_Bitwise):
    fn = "bitwise_or"


class BitwiseXor(_Bitwise):
    fn = "bitwise_xor"


class LeftShift(_Bitwise):
    fn = "left_shift"


class RightShift(_Bitwise):
    fn = "right_shift"


class BitwiseNot(Op):
    @staticmethod
    def forward(ctx, x):
        return get_xp(x).invert(x)


def _bitwise(cls, name: str, input, other) -> Tensor:
    a, b, dtype = _promote(name, input, other)
    if dtype.is_floating_point:
        raise RuntimeError(f'"{name}_cpu" not implemented for \'{_type_name(dtype)}\'')
    return cls.apply(a, b)


def _type_name(dtype: DT.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half"}.get(dtype.name, dtype.name)


def bitwise_and(input, other) -> Tensor:
    return _bitwise(BitwiseAnd, "bitwise_and", input, other)


def bitwise_or(input, other) -> Tensor:
    return _bitwise(BitwiseOr, "bitwise_or", input, other)


def bitwise_xor(input, other) -> Tensor:
    return _bitwise(BitwiseXor, "bitwise_xor", input, other)


def bitwise_left_shift(input, other) -> Tensor:
    return _bitwise(LeftShift, "lshift", input, other)


def bitwise_right_shift(input, other) -> Tensor:
    return _bitwise(RightShift, "rshift", input, other)


def bitwise_not(input) -> Tensor:
    if input._data.dtype.kind == "f":
        raise RuntimeError(
            f"\"bitwise_not_cpu\" not implemented for '{_type_name(input.dtype)}'"
        )
    return BitwiseNot.apply(input)


# ---- selection -------------------------------------------------------------------------------


class Where(Op):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return get_xp(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        zero = g * 0
        return None, Where.apply(cond, g, zero), Where.apply(cond, zero, g)


def where(condition, input=None, other=None, *, out=None):
    """``condition ? input : other`` elementwise; with one argument, ``nonzero(as_tuple=True)``."""
    if input is None and other is None:
        from ember.ops.indexing import nonzero

        return nonzero(condition, as_tuple=True)
    if condition._data.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{_type_name(condition.dtype)}"
        )
    a, b, _ = _promote("where", input, other)
    a = _as_tensor(a, condition)
    b = _as_tensor(b, condition)
    return _out(Where.apply(condition, a, b), out)


# ---- helpers ---------------------------------------------------------------------------------


def _out(result: Tensor, out: Tensor | None) -> Tensor:
    """Honour an ``out=`` argument: copy the result into it (resizing as PyTorch does)."""
    if out is None:
        return result
    if out.shape != result.shape:
        out._data = get_xp(result._data).empty(result._data.shape, out._data.dtype)
    out._data[...] = result._data
    out._vc[0] += 1
    return out


__all__ = [
    "add", "bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "div", "divide", "eq", "exp", "floor_divide", "ge",
    "greater", "greater_equal", "gt", "le", "less", "less_equal", "log", "lt", "mul", "multiply",
    "ne", "neg", "negative", "not_equal", "positive", "pow", "remainder", "sub", "subtract",
    "true_divide", "trunc", "where",
]
TENSOR_METHODS = [n for n in __all__ if n not in ("positive",)]
INPLACE_METHODS = [
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "trunc", "floor_divide",
    "remainder", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
    "bitwise_right_shift", "bitwise_not", "eq", "ne", "lt", "le", "gt", "ge",
]
