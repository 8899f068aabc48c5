"""Elementwise ops: arithmetic, comparison, bitwise, math functions, clamping and predicates.

Binary ops promote their operands with PyTorch's rules (``_promote``) before the op sees
them, so forward code works on arrays of one dtype; Python scalars stay Python scalars, which
NumPy treats as weakly typed, exactly as PyTorch treats them.  Float functions of integer or
bool tensors compute in the default float dtype (``_to_float``).  Forward code runs under
``np.errstate(all="ignore")`` where it can meet inf/nan: PyTorch returns them silently.
"""
from __future__ import annotations

import math
import numbers
import types
import warnings

import numpy as np

from ember import _dtype as DT
from ember import _native
from ember._device import get_xp
from ember._tensor import _TYPE_NAMES, Tensor
from ember.autograd import grad_mode
from ember.ops.base import Op, wrap

_state = grad_mode._state
_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0

# ---- operand handling ------------------------------------------------------------------------


def _check_operand(op: str, x) -> None:
    if not isinstance(x, (Tensor, numbers.Number, np.generic)):
        raise TypeError(
            f"{op}(): argument 'other' must be Tensor or Number, not {type(x).__name__}"
        )


def _need_tensor(op: str, x, name: str = "input", pos: int = 1) -> None:
    """PyTorch's TypeError for a Python value where only a Tensor is accepted."""
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{op}(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}"
        )


def _promote(op: str, a, b, dtype: DT.dtype | None = None):
    """Cast tensor operands to their common dtype (or ``dtype``); check devices match."""
    if dtype is None:  # the common cases first: same-dtype tensors, a float tensor and a number
        if isinstance(a, Tensor):
            da = a._data
            if isinstance(b, Tensor):
                db = b._data
                if da.dtype == db.dtype and type(da) is type(db):
                    if da.shape != db.shape:
                        _check_broadcast(da.shape, db.shape)
                    return a, b, DT._FROM_NP[da.dtype]
            elif (type(b) is float or type(b) is int) and da.dtype.kind == "f":
                return a, float(b), DT._FROM_NP[da.dtype]
        elif (type(a) is float or type(a) is int) and isinstance(b, Tensor) \
                and b._data.dtype.kind == "f":
            return float(a), b, DT._FROM_NP[b._data.dtype]
    _check_operand(op, a)
    _check_operand(op, b)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(
            f"{op}() received an invalid combination of arguments - got "
            f"({type(a).__name__}, {type(b).__name__}), but expected at least one Tensor"
        )
    if dtype is None:
        dtype = DT.result_type(a, b)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and type(a._data) is not type(b._data) \
            and a._data.ndim and b._data.ndim:
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{a.device} and {b.device}!"
        )
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._data.shape != b._data.shape:
        _check_broadcast(a._data.shape, b._data.shape)
    return _cast(a, dtype), _cast(b, dtype), dtype


def _check_broadcast(sa: tuple, sb: tuple) -> None:
    """PyTorch's RuntimeError for shapes that do not broadcast (before NumPy's ValueError)."""
    n = max(len(sa), len(sb))
    for i in range(1, min(len(sa), len(sb)) + 1):
        x, y = sa[-i], sb[-i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {n - i}"
            )


def _cast(x, dtype: DT.dtype):
    if isinstance(x, Tensor):
        return x if x._data.dtype == dtype.np else x.to(dtype)
    if isinstance(x, np.generic):
        x = x.item()
    if dtype is DT.bool_:
        return bool(x)
    if dtype.is_floating_point:
        return float(x)
    if isinstance(x, bool):
        return x
    x = int(x)
    info = np.iinfo(dtype.np)
    if not info.min <= x <= info.max:  # wraps into the dtype, as PyTorch does
        x = int(np.array(x, dtype=np.int64).astype(dtype.np))
    return x


def _to_float(x, op: str = "input") -> Tensor:
    """Integer and bool inputs of float functions compute in the default dtype."""
    _need_tensor(op, x)
    return x if x._data.dtype.kind == "f" else x.to(DT.get_default_dtype())


def _float_dtype(*operands) -> DT.dtype:
    dtype = DT.result_type(*operands)
    return dtype if dtype.is_floating_point else DT.get_default_dtype()


def _type_name(dtype: DT.dtype) -> str:
    return _TYPE_NAMES[dtype][6:-6]


def _c_name(dtype: DT.dtype) -> str:
    """The C++ name PyTorch prints in some messages: float, double, half, long ..."""
    return {"float32": "float", "float64": "double", "float16": "half", "int64": "long",
            "int32": "int", "int16": "short", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}[dtype.name]


def _not_implemented(kernel: str, dtype: DT.dtype) -> NotImplementedError:
    return NotImplementedError(f'"{kernel}_cpu" not implemented for \'{_type_name(dtype)}\'')


def _xp(a, b=None):
    return get_xp(a if hasattr(a, "shape") else b)


def _array(x):
    """A saved operand as an array (numbers stay numbers)."""
    return x._data if isinstance(x, Tensor) else x


def _zeros(g: Tensor) -> Tensor:
    return Tensor._make(get_xp(g._data).zeros_like(g._data))


def _mask(cond: Tensor, g: Tensor) -> Tensor:
    """``g`` where ``cond`` holds, else 0 (unlike ``g * cond``, a nan or inf g stays out)."""
    if g._requires_grad and _state["enabled"]:
        return Where.apply(cond, g, Tensor._make(get_xp(g._data).zeros((), g._data.dtype)))
    return wrap(_keep(cond._data, g._data))


def _keep(cond, g):
    """Arrays: ``g`` where ``cond``, else +0, by masking g's bits (several times faster than
    ``where`` on an unpredictable mask; nan and inf in g are kept or dropped, never mixed in)."""
    if g.dtype.kind != "f":
        return get_xp(g).where(cond, g, g.dtype.type(0))
    xp = get_xp(g)
    bits = np.dtype(f"i{g.dtype.itemsize}")
    m = xp.asarray(cond).astype(bits)
    xp.negative(m, out=m)  # all ones where kept, 0 elsewhere
    if m.shape == g.shape:
        xp.bitwise_and(m, g.view(bits), out=m)
    else:
        m = xp.bitwise_and(m, g.view(bits))
    return m.view(g.dtype)


# ---- arithmetic ------------------------------------------------------------------------------


def _alpha(op: str, alpha, dtype: DT.dtype):
    """Check ``alpha`` against the result dtype as PyTorch does and convert it to its kind."""
    if isinstance(alpha, Tensor):
        alpha = alpha.item()
    if dtype is DT.bool_:
        if not isinstance(alpha, (bool, np.bool_)) and alpha not in (0, 1):
            raise RuntimeError(
                "Boolean alpha only supported for Boolean results."
            )
        return bool(alpha)
    if not dtype.is_floating_point:
        if isinstance(alpha, (float, np.floating)):
            raise RuntimeError(
                "For integral input tensors, argument alpha must not be a floating point number."
            )
        return int(alpha)
    return float(alpha)


class Add(Op):
    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + b * alpha

    @staticmethod
    def backward(ctx, g):
        if ctx.alpha == 1:
            return g, g, None
        if not _state["enabled"]:
            return g, wrap(g._data * ctx.alpha), None
        return g, g * ctx.alpha, None


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - b * alpha

    @staticmethod
    def backward(ctx, g):
        if not _state["enabled"]:
            return g, wrap(-g._data if ctx.alpha == 1 else g._data * -ctx.alpha), None
        return g, (-g if ctx.alpha == 1 else g * -ctx.alpha), None


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        n = ctx.needs_input_grad  # save only what backward uses, so in-place writes are allowed
        if n:
            ctx.save_for_backward(a if n[1] else None, b if n[0] else None)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        if not _state["enabled"]:
            gd = g._data
            return (wrap(gd * _array(b)) if n[0] else None,
                    wrap(gd * _array(a)) if n[1] else None)
        return g * b if n[0] else None, g * a if n[1] else None


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        n = ctx.needs_input_grad  # a is needed only for b's gradient
        if n:
            ctx.save_for_backward(a if n[1] else None, b)
        with np.errstate(all="ignore"):
            return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        n = ctx.needs_input_grad
        if not _state["enabled"]:
            gd, ad, bd = g._data, _array(a), _array(b)
            with np.errstate(all="ignore"):
                return (wrap(gd / bd) if n[0] else None,
                        wrap(-gd * ad / (bd * bd)) if n[1] else None)
        ga = g / b if n[0] else None
        gb = -g * a / (b * b) if n[1] else None
        return ga, gb


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """input + alpha * other."""
    a, b, dtype = _promote("add", input, other)
    alpha = _alpha("add", alpha, dtype)
    return _out(Add.apply(a, b, alpha), out, "add")


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """input - alpha * other."""
    if isinstance(input, Tensor) and input._data.dtype == np.bool_ and isinstance(other, Tensor) \
            and other._data.dtype == np.bool_:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead."
        )
    a, b, dtype = _promote("sub", input, other)
    if any(isinstance(v, (bool, np.bool_)) or (isinstance(v, Tensor) and v._data.dtype == np.bool_)
           for v in (input, other)):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    alpha = _alpha("sub", alpha, dtype)
    return _out(Sub.apply(a, b, alpha), out, "sub")


subtract = sub


def rsub(input, other, *, alpha=1) -> Tensor:
    """other - alpha * input."""
    return sub(other, input, alpha=alpha)


def mul(input, other, *, out=None) -> Tensor:
    a, b, _ = _promote("mul", input, other)
    return _out(Mul.apply(a, b), out, "mul")


multiply = mul


def div(input, other, *, rounding_mode: str | None = None, out=None) -> Tensor:
    """True division (int / int gives float); ``rounding_mode`` 'trunc' or 'floor'."""
    if rounding_mode is None:
        a, b, _ = _promote("div", input, other, _float_dtype(input, other))
        return _out(Div.apply(a, b), out, "div")
    if rounding_mode == "trunc":
        a, b, dtype = _promote("div", input, other)
        if dtype.is_floating_point:
            return _out(trunc(Div.apply(a, b)), out, "div")
        _check_zero_div(b, dtype)
        return _out(TruncDivide.apply(a, b), out, "div")
    if rounding_mode == "floor":
        a, b, dtype = _promote("div", input, other)
        _check_zero_div(b, dtype)
        return _out(DivFloor.apply(a, b), out, "div")
    raise RuntimeError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"'{rounding_mode}'"
    )


divide = div
true_divide = div


class DivFloor(Op):
    """``div(rounding_mode="floor")``: piecewise constant, zero gradient."""

    @staticmethod
    def forward(ctx, a, b):
        with np.errstate(all="ignore"):
            return _xp(a, b).floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g), _zeros(g)


class FloorDivide(DivFloor):
    """``floor_divide`` / ``//``: PyTorch defines no derivative, so backward refuses."""

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


class TruncDivide(Op):
    """Integer division rounded towards zero (C's ``/``)."""

    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a, b)
        q = xp.floor_divide(a, b)
        fix = (xp.remainder(a, b) != 0) & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0))
        return q + fix.astype(q.dtype)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g), _zeros(g)


def _check_zero_div(b, dtype: DT.dtype) -> None:
    if dtype.is_floating_point or dtype is DT.bool_:
        return
    bad = (b._data == 0).any() if isinstance(b, Tensor) else b == 0
    if bad:
        raise RuntimeError("ZeroDivisionError")


def floor_divide(input, other, *, out=None) -> Tensor:
    """Division rounded towards minus infinity (Python's ``//``)."""
    a, b, dtype = _promote("floor_divide", input, other)
    if dtype is DT.bool_:
        raise NotImplementedError("\"div_floor_cpu\" not implemented for 'Bool'")
    _check_zero_div(b, dtype)
    return _out(FloorDivide.apply(a, b), out, "floor_divide")


class Remainder(Op):
    @staticmethod
    def forward(ctx, a, b):
        if not hasattr(a, "shape"):
            ctx.scalar_dividend = True
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            return _xp(a, b).remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        if getattr(ctx, "scalar_dividend", False):
            raise RuntimeError("derivative for aten::remainder is not implemented")
        a, b = ctx.saved_tensors
        gb = -g * div(a, b, rounding_mode="floor") if ctx.needs_input_grad[1] else None
        return g, gb


class Fmod(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            return _xp(a, b).fmod(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gb = -g * div(a, b, rounding_mode="trunc") if ctx.needs_input_grad[1] else None
        return g, gb


def remainder(input, other, *, out=None) -> Tensor:
    """Python's ``%``: the result has the sign of the divisor."""
    a, b, dtype = _promote("remainder", input, other)
    if dtype is DT.bool_:
        raise _not_implemented("remainder", dtype)
    _check_zero_div(b, dtype)
    return _out(Remainder.apply(a, b), out, "remainder")


def fmod(input, other, *, out=None) -> Tensor:
    """C's ``fmod``: the result has the sign of the dividend."""
    _need_tensor("fmod", input)
    a, b, dtype = _promote("fmod", input, other)
    if dtype is DT.bool_:
        raise _not_implemented("fmod", dtype)
    _check_zero_div(b, dtype)
    return _out(Fmod.apply(a, b), out, "fmod")


# ---- powers ----------------------------------------------------------------------------------


def _int_pow(xp, a, b):
    """Integer power where negative exponents give 1, -1 or 0 (truncated 1 / a**-b)."""
    dt = xp.result_type(a, b)
    a, b = xp.asarray(a, dtype=dt), xp.asarray(b, dtype=dt)
    neg = b < 0
    if not neg.any():
        return a**b
    r = a ** xp.where(neg, 0, b)
    odd = (b % 2) != 0
    inv = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0)).astype(r.dtype)
    return xp.where(neg, inv, r)


class Pow(Op):
    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a, b)
        with np.errstate(all="ignore"):
            if xp.result_type(a, b).kind in "iu":
                out = _int_pow(xp, a, b)
            else:
                out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(b, Tensor):
                ga = _mask(b != 0, g * b * a ** (b - 1))
            else:
                ga = g * b * a ** (b - 1) if b != 0 else _zeros(g)
        if ctx.needs_input_grad[1]:
            if isinstance(a, Tensor):
                gb = _mask(~((a == 0) & (b >= 0)), g * out * log(a))
            else:
                with np.errstate(all="ignore"):
                    la = float(np.log(np.float64(a)))
                gb = g * out * la if a != 0 else _mask(b < 0, g * out * la)
        return ga, gb


def pow(input, exponent, *, out=None) -> Tensor:
    """input ** exponent (either may be a Python scalar)."""
    a, b, dtype = _promote("pow", input, exponent)
    if dtype is DT.bool_:
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if not dtype.is_floating_point and not isinstance(exponent, Tensor) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _out(Pow.apply(a, b), out, "pow")


def float_power(input, exponent, *, out=None) -> Tensor:
    """pow computed in double precision, whatever the operands' dtypes."""
    a, b, _ = _promote("float_power", input, exponent, DT.float64)
    return _out(Pow.apply(a, b), out, "float_power")


def float_power_(self: Tensor, exponent) -> Tensor:
    if self._data.dtype != np.float64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {_type_name(self.dtype)} but the "
            "operation's result requires dtype Double"
        )
    return self._inplace(float_power, exponent)


class Square(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(all="ignore"):
            return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x


def square(input: Tensor, *, out=None) -> Tensor:
    _need_tensor("square", input)
    if input._data.dtype == np.bool_:
        input = input.to(DT.int64)
    return _out(Square.apply(input), out, "square")


def neg(input: Tensor, *, out=None) -> Tensor:
    _need_tensor("neg", input)
    if input._data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return _out(Neg.apply(input), out, "neg")


negative = neg


def positive(input: Tensor) -> Tensor:
    if input._data.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


# ---- float functions of one argument ---------------------------------------------------------


class _Unary(Op):
    """y = f(x) elementwise, with dy/dx written from x and/or y (``save`` names which)."""

    save = "x"

    @classmethod
    def forward(cls, ctx, x):
        with np.errstate(all="ignore"):
            y = cls.f(get_xp(x), x)
        ctx.save_for_backward(*(x if s == "x" else y for s in cls.save))
        return y

    @classmethod
    def backward(cls, ctx, g):
        saved = dict(zip(cls.save, ctx.saved_tensors))
        x, y = saved.get("x"), saved.get("y")
        if not _state["enabled"]:  # the same formula on arrays: no graph to record
            with np.errstate(all="ignore"):
                return wrap(cls.df(g._data, _array(x), _array(y), _ARRAY_FNS))
        return cls.df(g, x, y, _TENSOR_FNS)


def _unary(name: str, f, df, save: str = "x") -> type:
    """``f(xp, x)`` computes y; ``df(g, x, y, fns)`` the input gradient, with ``fns.exp`` ...
    the ember ops (a differentiable backward) or the array functions (no graph)."""
    return type(name, (_Unary,), {"f": staticmethod(f), "df": staticmethod(df), "save": save})


def _erf_parts(xp, x):
    """(erf(x), erfc(x)) in float64 by W. J. Cody's rational Chebyshev approximations (1969).

    Three ranges of |x|: <= 0.46875 (erf directly), <= 4 and > 4 (erfc, the last in 1/x^2),
    each accurate to about one unit in the last place of a double.
    """
    y = xp.minimum(xp.abs(x), 40.0)
    z = y * y
    num, den = _ERF_A[4] * z, z
    for a, b in zip(_ERF_A[:3], _ERF_B[:3]):
        num, den = (num + a) * z, (den + b) * z
    small = y * (num + _ERF_A[3]) / (den + _ERF_B[3])
    num, den = _ERF_C[8] * y, y
    for c, d in zip(_ERF_C[:7], _ERF_D[:7]):
        num, den = (num + c) * y, (den + d) * y
    mid = (num + _ERF_C[7]) / (den + _ERF_D[7])
    iz = 1.0 / z
    num, den = _ERF_P[5] * iz, iz
    for p, q in zip(_ERF_P[:4], _ERF_Q[:4]):
        num, den = (num + p) * iz, (den + q) * iz
    large = (1.0 / math.sqrt(math.pi) - iz * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / y
    # exp(-y*y) split so that the rounding error of y*y is not magnified
    ysq = xp.trunc(y * 16.0) / 16.0
    scale = xp.exp(-ysq * ysq) * xp.exp(-(y - ysq) * (y + ysq))
    erfc_abs = xp.where(y <= 4.0, mid, large) * scale
    is_small = y <= 0.46875
    neg = x < 0
    erf = xp.where(is_small, small, 1.0 - erfc_abs)
    erf = xp.where(neg, -erf, erf)
    erfc = xp.where(is_small, 1.0 - xp.where(neg, -small, small),
                    xp.where(neg, 2.0 - erfc_abs, erfc_abs))
    nan = xp.isnan(x)
    return xp.where(nan, x, erf), xp.where(nan, x, erfc)


_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)

# M. Giles' single-precision erfinv polynomials (in w = -log(1 - y^2)): the starting guess.
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                   0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(coefs, w):
    p = coefs[0]
    for c in coefs[1:]:
        p = p * w + c
    return p


def _erfinv(xp, y):
    """Inverse erf in float64: a polynomial guess refined by two Halley steps.

    The residual erf(x) - |y| is taken from erfc when |y| > 0.5, where 1 - |y| is exact, so the
    tails keep full relative accuracy.
    """
    a = xp.abs(y)
    w = -xp.log((1.0 - a) * (1.0 + a))
    x = xp.where(w < 5.0, _horner(_ERFINV_CENTRAL, w - 2.5),
                 _horner(_ERFINV_TAIL, xp.sqrt(w) - 3.0)) * a
    # beyond float32's range (1 - |y| < 1e-7) use erfc(x) ~ exp(-x^2) / (x sqrt(pi)) instead
    big = -xp.log((1.0 - a) * math.sqrt(math.pi))
    far = xp.sqrt(xp.maximum(big, 1.0))
    for _ in range(3):
        far = xp.sqrt(xp.maximum(big - xp.log(far) + xp.log1p(-0.5 / (far * far)), 1.0))
    x = xp.where(w > 16.0, far, x)
    x = xp.where(xp.isfinite(x), x, 0.0)
    tail = a > 0.5
    for _ in range(2):
        erf, erfc = _erf_parts(xp, x)
        r = xp.where(tail, (1.0 - a) - erfc, erf - a)
        u = r / (_TWO_OVER_SQRT_PI * xp.exp(-x * x))
        x = x - u / (1.0 + x * u)
    x = xp.where(a == 1.0, xp.inf, xp.where(a > 1.0, xp.nan, x))
    return xp.where(xp.isnan(y), y, xp.copysign(x, y))


def _in_float64(fn):
    """Compute ``fn`` in float64 and round back: the erf family's accuracy in every dtype."""
    def f(xp, x):
        return fn(xp, x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)
    return f


Exp = _unary("Exp", lambda xp, x: xp.exp(x), lambda g, x, y, m: g * y, "y")
Exp2 = _unary("Exp2", lambda xp, x: xp.exp2(x), lambda g, x, y, m: g * y * _LN2, "y")
Expm1 = _unary("Expm1", lambda xp, x: xp.expm1(x), lambda g, x, y, m: g * (y + 1), "y")
Log = _unary("Log", lambda xp, x: xp.log(x), lambda g, x, y, m: g / x)
Log2 = _unary("Log2", lambda xp, x: xp.log2(x), lambda g, x, y, m: g / (x * _LN2))
Log10 = _unary("Log10", lambda xp, x: xp.log10(x), lambda g, x, y, m: g / (x * _LN10))
Log1p = _unary("Log1p", lambda xp, x: xp.log1p(x), lambda g, x, y, m: g / (x + 1))
Sqrt = _unary("Sqrt", lambda xp, x: xp.sqrt(x), lambda g, x, y, m: g / (2 * y), "y")
Rsqrt = _unary("Rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda g, x, y, m: -0.5 * g * y * y * y, "y")
Reciprocal = _unary("Reciprocal", lambda xp, x: 1 / x, lambda g, x, y, m: -g * (y * y), "y")
Sin = _unary("Sin", lambda xp, x: xp.sin(x), lambda g, x, y, m: g * m.cos(x))
Cos = _unary("Cos", lambda xp, x: xp.cos(x), lambda g, x, y, m: -g * m.sin(x))
Tan = _unary("Tan", lambda xp, x: xp.tan(x), lambda g, x, y, m: g * (y * y + 1), "y")
Asin = _unary("Asin", lambda xp, x: xp.arcsin(x), lambda g, x, y, m: g * m.rsqrt(1 - x * x))
Acos = _unary("Acos", lambda xp, x: xp.arccos(x), lambda g, x, y, m: -g * m.rsqrt(1 - x * x))
Atan = _unary("Atan", lambda xp, x: xp.arctan(x), lambda g, x, y, m: g / (x * x + 1))
Sinh = _unary("Sinh", lambda xp, x: xp.sinh(x), lambda g, x, y, m: g * m.cosh(x))
Cosh = _unary("Cosh", lambda xp, x: xp.cosh(x), lambda g, x, y, m: g * m.sinh(x))
Tanh = _unary("Tanh", lambda xp, x: xp.tanh(x), lambda g, x, y, m: g * (1 - y * y), "y")
Asinh = _unary("Asinh", lambda xp, x: xp.arcsinh(x), lambda g, x, y, m: g * m.rsqrt(x * x + 1))
Acosh = _unary("Acosh", lambda xp, x: xp.arccosh(x), lambda g, x, y, m: g * m.rsqrt(x * x - 1))
Atanh = _unary("Atanh", lambda xp, x: xp.arctanh(x), lambda g, x, y, m: g / (1 - x * x))
Sigmoid = _unary("Sigmoid", lambda xp, x: 1 / (1 + xp.exp(-x)),
                 lambda g, x, y, m: g * y * (1 - y), "y")
Erf = _unary("Erf", _in_float64(lambda xp, x: _erf_parts(xp, x)[0]),
             lambda g, x, y, m: g * _TWO_OVER_SQRT_PI * m.exp(-x * x))
Erfc = _unary("Erfc", _in_float64(lambda xp, x: _erf_parts(xp, x)[1]),
              lambda g, x, y, m: -g * _TWO_OVER_SQRT_PI * m.exp(-x * x))
Erfinv = _unary("Erfinv", _in_float64(_erfinv),
                lambda g, x, y, m: g * _SQRT_PI_OVER_TWO * m.exp(y * y), "y")


def _float_unary(name: str, op: type) -> object:
    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        return _out(op.apply(_to_float(input, name)), out, name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}; integer and bool inputs give the default float dtype."
    return fn


exp = _float_unary("exp", Exp)
exp2 = _float_unary("exp2", Exp2)
expm1 = _float_unary("expm1", Expm1)
log = _float_unary("log", Log)
log2 = _float_unary("log2", Log2)
log10 = _float_unary("log10", Log10)
log1p = _float_unary("log1p", Log1p)
sqrt = _float_unary("sqrt", Sqrt)
rsqrt = _float_unary("rsqrt", Rsqrt)
reciprocal = _float_unary("reciprocal", Reciprocal)
sin = _float_unary("sin", Sin)
cos = _float_unary("cos", Cos)
tan = _float_unary("tan", Tan)
asin = _float_unary("asin", Asin)
acos = _float_unary("acos", Acos)
atan = _float_unary("atan", Atan)
sinh = _float_unary("sinh", Sinh)
cosh = _float_unary("cosh", Cosh)
tanh = _float_unary("tanh", Tanh)
asinh = _float_unary("asinh", Asinh)
acosh = _float_unary("acosh", Acosh)
atanh = _float_unary("atanh", Atanh)
sigmoid = _float_unary("sigmoid", Sigmoid)
erf = _float_unary("erf", Erf)
erfc = _float_unary("erfc", Erfc)
erfinv = _float_unary("erfinv", Erfinv)
arcsin, arccos, arctan = asin, acos, atan
_TENSOR_FNS = types.SimpleNamespace(exp=exp, cos=cos, sin=sin, cosh=cosh, sinh=sinh, rsqrt=rsqrt)
_ARRAY_FNS = types.SimpleNamespace(exp=np.exp, cos=np.cos, sin=np.sin, cosh=np.cosh, sinh=np.sinh,
                                   rsqrt=lambda v: 1 / np.sqrt(v))
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def deg2rad(input: Tensor, *, out=None) -> Tensor:
    return _out(mul(_to_float(input, "deg2rad"), math.pi / 180.0), out, "deg2rad")


def rad2deg(input: Tensor, *, out=None) -> Tensor:
    return _out(mul(_to_float(input, "rad2deg"), 180.0 / math.pi), out, "rad2deg")


class Logit(Op):
    @staticmethod
    def forward(ctx, x, eps):
        ctx.save_for_backward(x)
        ctx.eps = eps
        xp = get_xp(x)
        if eps is not None:
            x = xp.clip(x, eps, 1.0 - eps)
        with np.errstate(all="ignore"):
            return xp.log(x / (1 - x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        d = g / (x * (1 - x))
        if ctx.eps is None:
            return where((x < 0) | (x > 1), math.nan, d), None
        return _mask((x >= ctx.eps) & (x <= 1.0 - ctx.eps), d), None


def logit(input: Tensor, eps: float | None = None, *, out=None) -> Tensor:
    """log(p / (1 - p)); with ``eps``, p is first clamped to [eps, 1 - eps]."""
    return _out(Logit.apply(_to_float(input, "logit"), eps), out, "logit")


# ---- dtype-preserving functions of one argument ----------------------------------------------


class Abs(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_xp(x).abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sign(x)


class Sign(Op):
    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "b":
            return x.copy()
        # (x > 0) - (x < 0): unlike np.sign, nan gives 0 as in PyTorch
        return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


class _Rounding(Op):
    """floor / ceil / trunc / round: piecewise constant, so the gradient is zero."""

    fn = None

    @classmethod
    def forward(cls, ctx, x):
        return getattr(get_xp(x), cls.fn)(x)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


class Floor(_Rounding):
    fn = "floor"


class Ceil(_Rounding):
    fn = "ceil"


class Trunc(_Rounding):
    fn = "trunc"


class Round(Op):
    @staticmethod
    def forward(ctx, x, decimals):
        xp = get_xp(x)
        if decimals == 0:
            return xp.rint(x)
        with np.errstate(all="ignore"):
            if decimals > 0:
                ten = x.dtype.type(10.0**decimals)
                return xp.rint(x * ten) / ten
            ten = x.dtype.type(10.0**-decimals)
            return xp.rint(x / ten) * ten

    @staticmethod
    def backward(ctx, g):
        return _zeros(g), None


class Frac(Op):
    @staticmethod
    def forward(ctx, x):
        return x - get_xp(x).trunc(x)

    @staticmethod
    def backward(ctx, g):
        return g


# Below this many elements NumPy's one-pass ReLU beats the compiled kernel's call overhead.
_NATIVE_RELU_MIN = 1024


class Relu(Op):
    @staticmethod
    def forward(ctx, x):
        if x.size >= _NATIVE_RELU_MIN and _native.takes(x):
            y = _native.elementwise("relu_forward", x)
        else:
            y = get_xp(x).maximum(x, 0).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if not _state["enabled"]:
            if y._data.size >= _NATIVE_RELU_MIN and _native.takes(y._data, g._data):
                return wrap(_native.elementwise("relu_backward", g._data, y._data))
            return wrap(_keep(~(y._data <= 0), g._data))
        return _mask(~(y <= 0), g)


class NanToNum(Op):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        xp = get_xp(x)
        info = np.finfo(x.dtype)
        y = xp.where(xp.isnan(x), x.dtype.type(nan), x)
        y = xp.where(y == np.inf, x.dtype.type(info.max if posinf is None else posinf), y)
        return xp.where(y == -np.inf, x.dtype.type(info.min if neginf is None else neginf), y)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _mask(isfinite(x), g), None, None, None


def _copy(x: Tensor) -> Tensor:
    return Tensor._make(x._data.copy())


def abs(input: Tensor, *, out=None) -> Tensor:
    _need_tensor("abs", input)
    if input._data.dtype == np.bool_:
        raise _not_implemented("abs", input.dtype)
    return _out(Abs.apply(input), out, "abs")


absolute = abs


def sign(input: Tensor, *, out=None) -> Tensor:
    """-1, 0 or 1 (0 for nan, as PyTorch); bool stays bool."""
    _need_tensor("sign", input)
    return _out(Sign.apply(input), out, "sign")


def sgn(input: Tensor, *, out=None) -> Tensor:
    """sign for real tensors (PyTorch's complex-aware sign)."""
    _need_tensor("sgn", input)
    return _out(Sign.apply(input), out, "sgn")


def _rounding(name: str, op: type):
    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        _need_tensor(name, input)
        if input._data.dtype == np.bool_:
            raise NotImplementedError(f"\"{name}_vml_cpu\" not implemented for 'Bool'")
        if input._data.dtype.kind != "f":
            return _out(_copy(input), out, name)
        return _out(op.apply(input), out, name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}; integer tensors are returned unchanged (as a copy)."
    return fn


floor = _rounding("floor", Floor)
ceil = _rounding("ceil", Ceil)
trunc = _rounding("trunc", Trunc)
fix = trunc


def round(input: Tensor, *, decimals: int = 0, out=None) -> Tensor:
    """Round half to even, optionally to ``decimals`` decimal places (negative: tens ...)."""
    _need_tensor("round", input)
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"round_vml_cpu\" not implemented for 'Bool'")
    if input._data.dtype.kind != "f":
        if decimals != 0:
            raise _not_implemented("round", input.dtype)
        return _out(_copy(input), out, "round")
    return _out(Round.apply(input, int(decimals)), out, "round")


def frac(input: Tensor, *, out=None) -> Tensor:
    """x - trunc(x)."""
    _need_tensor("frac", input)
    if input._data.dtype.kind != "f":
        raise _not_implemented("frac", input.dtype)
    return _out(Frac.apply(input), out, "frac")


def relu(input: Tensor) -> Tensor:
    _need_tensor("relu", input)
    if input._data.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


def relu_(input: Tensor) -> Tensor:
    return input._inplace(relu)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None, *, out=None) -> Tensor:
    """Replace nan, +inf and -inf (by default with 0 and the dtype's largest/lowest value)."""
    _need_tensor("nan_to_num", input)
    if input._data.dtype.kind != "f":
        return _out(_copy(input), out, "nan_to_num")
    return _out(NanToNum.apply(input, nan, posinf, neginf), out, "nan_to_num")


# ---- float functions of two arguments --------------------------------------------------------


class Atan2(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_xp(a).arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r = g / (a * a + b * b)
        return (r * b if ctx.needs_input_grad[0] else None,
                -r * a if ctx.needs_input_grad[1] else None)


class Hypot(Op):
    @staticmethod
    def forward(ctx, a, b):
        y = get_xp(a).hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        return (g * a / y if ctx.needs_input_grad[0] else None,
                g * b / y if ctx.needs_input_grad[1] else None)


class Copysign(Op):
    @staticmethod
    def forward(ctx, a, b):
        y = _xp(a, b).copysign(a, b)
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, y = ctx.saved_tensors
        ga = _mask(a != 0, g * (y / a)) if ctx.needs_input_grad[0] else None
        return ga, (_zeros(g) if ctx.needs_input_grad[1] else None)


class Xlogy(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        xp = _xp(a, b)
        with np.errstate(all="ignore"):
            # a Python float stays weakly typed (np.log of it would be a float64 scalar)
            r = a * (xp.log(b) if hasattr(b, "shape") else float(np.log(np.float64(b))))
        return xp.where((xp.asarray(a) == 0) & ~xp.isnan(b), 0, r).astype(r.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = xlogy(g, b)
            if isinstance(b, Tensor) or b <= 0:
                ga = _mask(~((a == 0) & (b <= 0)), ga)
        if ctx.needs_input_grad[1]:
            gb = g * a / b
        return ga, gb


def atan2(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The angle of (other, input), in (-pi, pi]."""
    _need_tensor("atan2", input)
    _need_tensor("atan2", other, "other", 2)
    a, b, _ = _promote("atan2", input, other, _float_dtype(input, other))
    return _out(Atan2.apply(a, b), out, "atan2")


arctan2 = atan2


def hypot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """sqrt(input**2 + other**2) without overflow."""
    _need_tensor("hypot", input)
    _need_tensor("hypot", other, "other", 2)
    a, b, dtype = _promote("hypot", input, other)
    if not dtype.is_floating_point:
        raise _not_implemented("hypot", dtype)
    return _out(Hypot.apply(a, b), out, "hypot")


def copysign(input: Tensor, other, *, out=None) -> Tensor:
    """|input| with the sign of other (including the sign of -0.0)."""
    _need_tensor("copysign", input)
    a, b, _ = _promote("copysign", input, other, _float_dtype(input, other))
    return _out(Copysign.apply(a, b), out, "copysign")


def xlogy(input, other, *, out=None) -> Tensor:
    """input * log(other), defined as 0 where input == 0 (unless other is nan)."""
    a, b, _ = _promote("xlogy", input, other, _float_dtype(input, other))
    return _out(Xlogy.apply(a, b), out, "xlogy")


class Lerp(Op):
    @staticmethod
    def forward(ctx, start, end, weight):
        ctx.save_for_backward(start, end, weight)
        d = end - start
        if not hasattr(weight, "shape"):
            return start + weight * d if math.fabs(weight) < 0.5 else end - d * (1 - weight)
        return get_xp(d).where(get_xp(d).abs(weight) < 0.5, start + weight * d,
                               end - d * (1 - weight))

    @staticmethod
    def backward(ctx, g):
        start, end, w = ctx.saved_tensors
        n = ctx.needs_input_grad
        return (g * (1 - w) if n[0] else None, g * w if n[1] else None,
                g * (end - start) if n[2] else None)


def lerp(input: Tensor, end: Tensor, weight, *, out=None) -> Tensor:
    """input + weight * (end - input), computed from the nearer end for accuracy."""
    _need_tensor("lerp", input)
    _need_tensor("lerp", end, "end", 2)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f"\"lerp_kernel_scalar\" not implemented for '{_type_name(input.dtype)}'")
    for name, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and t._data.dtype != input._data.dtype \
                and (name == "end" or t._data.ndim):
            raise RuntimeError(
                f"expected dtype {_c_name(input.dtype)} for `{name}` but got dtype "
                f"{_c_name(t.dtype)}"
            )
    if isinstance(weight, Tensor):
        weight = _cast(weight, input.dtype)
    else:
        _check_operand("lerp", weight)
        weight = float(weight)
    return _out(Lerp.apply(input, end, weight), out, "lerp")


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out=None) -> Tensor:
    """input + value * tensor1 * tensor2."""
    dtype = DT.result_type(input, tensor1, tensor2)
    value = _alpha("addcmul", value, dtype) if dtype.is_floating_point else int(value)
    prod = mul(tensor1, tensor2)
    return _out(add(input, prod if value == 1 else mul(prod, value)), out, "addcmul")


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out=None) -> Tensor:
    """input + value * tensor1 / tensor2 (true division; integer tensor1/tensor2 refused)."""
    if not DT.result_type(tensor1, tensor2).is_floating_point:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) using PyTorch 1.5 or later."
        )
    q = div(tensor1, tensor2)
    return _out(add(input, q if value == 1 else mul(q, value)), out, "addcdiv")


# ---- minimum / maximum and clamping ----------------------------------------------------------


class Maximum(Op):
    fn = "maximum"

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(get_xp(a), cls.fn)(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        # ties split the gradient; nan (a != b, neither smaller) sends it to both
        half = where(a == b, g / 2, g)
        lose_a, lose_b = (a < b, a > b) if cls.fn == "maximum" else (a > b, a < b)
        return (_mask(~lose_a, half) if ctx.needs_input_grad[0] else None,
                _mask(~lose_b, half) if ctx.needs_input_grad[1] else None)


class Minimum(Maximum):
    fn = "minimum"


class Fmax(Op):
    fn = "fmax"

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(get_xp(a), cls.fn)(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        # no split: ties and a nan ``b`` send everything to ``a``
        take_a = ((a >= b) if cls.fn == "fmax" else (a <= b)) | isnan(b)
        return (_mask(take_a, g) if ctx.needs_input_grad[0] else None,
                _mask(~take_a, g) if ctx.needs_input_grad[1] else None)


class Fmin(Fmax):
    fn = "fmin"


def _tensor_pair(op: type, name: str, input: Tensor, other: Tensor, out) -> Tensor:
    """Apply a binary op that, as in PyTorch, needs both operands to be tensors."""
    _need_tensor(name, input)
    _need_tensor(name, other, "other", 2)
    a, b, _ = _promote(name, input, other)
    return _out(op.apply(a, b), out, name)


def maximum(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise max; nan propagates (see fmax)."""
    return _tensor_pair(Maximum, "maximum", input, other, out)


def minimum(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise min; nan propagates (see fmin)."""
    return _tensor_pair(Minimum, "minimum", input, other, out)


def fmax(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise max ignoring nan (nan only where both are nan)."""
    return _tensor_pair(Fmax, "fmax", input, other, out)


def fmin(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise min ignoring nan (nan only where both are nan)."""
    return _tensor_pair(Fmin, "fmin", input, other, out)


class Clamp(Op):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        xp = get_xp(x)
        y = x if lo is None else xp.maximum(x, lo)
        y = y if hi is None else xp.minimum(y, hi)
        return y.astype(x.dtype, copy=y is x)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        n = ctx.needs_input_grad
        keep = None
        if lo is not None:
            keep = x >= lo
        if hi is not None:
            keep = (x <= hi) if keep is None else keep & (x <= hi)
        glo = ghi = None
        if n[1]:
            to_lo = x < lo
            glo = _mask(to_lo if hi is None else to_lo & (lo <= hi), g)
        if n[2]:
            to_hi = x > hi
            ghi = _mask(to_hi if lo is None else to_hi | (lo > hi), g)
        return _mask(keep, g) if n[0] else None, glo, ghi


def clamp(input: Tensor, min=None, max=None, *, out=None) -> Tensor:
    """min(max(input, min), max); ``min > max`` gives ``max`` everywhere, as in PyTorch."""
    _need_tensor("clamp", input)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    bounds = [b for b in (min, max) if b is not None]
    for b in bounds:
        _check_operand("clamp", b)
    if len({isinstance(b, Tensor) for b in bounds}) > 1:
        raise TypeError(
            "clamp() received an invalid combination of arguments: min and max must both be "
            "Tensors or both be Numbers"
        )
    dtype = DT.result_type(input, *bounds)
    if dtype is DT.bool_:
        raise NotImplementedError("\"clamp_cpu\" not implemented for 'Bool'")
    lo = None if min is None else _cast(min, dtype)
    hi = None if max is None else _cast(max, dtype)
    return _out(Clamp.apply(_cast(input, dtype), lo, hi), out, "clamp")


clip = clamp


def clamp_min(input: Tensor, min, *, out=None) -> Tensor:
    return clamp(input, min, None, out=out)


def clamp_max(input: Tensor, max, *, out=None) -> Tensor:
    return clamp(input, None, max, out=out)


# ---- comparison, predicates and logical ops (outputs are bool: not differentiable) -----------


class _Compare(Op):
    fn = None

    @classmethod
    def forward(cls, ctx, a, b):
        return getattr(_xp(a, b), cls.fn)(a, b)


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


class LogicalAnd(_Compare):
    fn = "logical_and"


class LogicalOr(_Compare):
    fn = "logical_or"


class LogicalXor(_Compare):
    fn = "logical_xor"


def _compare(cls, name: str, input, other) -> Tensor:
    _need_tensor(name, input)
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
    return _out(_compare(Eq, "eq", input, other), out, "eq")


def ne(input, other, *, out=None) -> Tensor:
    return _out(_compare(Ne, "ne", input, other), out, "ne")


def lt(input, other, *, out=None) -> Tensor:
    return _out(_compare(Lt, "lt", input, other), out, "lt")


def le(input, other, *, out=None) -> Tensor:
    return _out(_compare(Le, "le", input, other), out, "le")


def gt(input, other, *, out=None) -> Tensor:
    return _out(_compare(Gt, "gt", input, other), out, "gt")


def ge(input, other, *, out=None) -> Tensor:
    return _out(_compare(Ge, "ge", input, other), out, "ge")


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_and(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    return _tensor_pair(LogicalAnd, "logical_and", input, other, out)


def logical_or(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    return _tensor_pair(LogicalOr, "logical_or", input, other, out)


def logical_xor(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    return _tensor_pair(LogicalXor, "logical_xor", input, other, out)


class _Predicate(Op):
    fn = None

    @classmethod
    def forward(cls, ctx, x):
        return cls.fn(get_xp(x), x)


def _predicate(name: str, fn, doc: str):
    op = type(name.title().replace("_", ""), (_Predicate,), {"fn": staticmethod(fn)})

    def f(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        _need_tensor(name, input)
        return _out(op.apply(input), out, name)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


def _float_only(test):
    """A float test that is False everywhere for integer and bool tensors."""
    def fn(xp, x):
        return test(xp, x) if x.dtype.kind == "f" else xp.zeros(x.shape, bool)
    return fn


logical_not = _predicate("logical_not", lambda xp, x: xp.logical_not(x), "not x, as bool.")
isnan = _predicate("isnan", _float_only(lambda xp, x: xp.isnan(x)), "x != x.")
isinf = _predicate("isinf", _float_only(lambda xp, x: xp.isinf(x)), "x is +inf or -inf.")
isposinf = _predicate("isposinf", _float_only(lambda xp, x: x == np.inf), "x is +inf.")
isneginf = _predicate("isneginf", _float_only(lambda xp, x: x == -np.inf), "x is -inf.")
isfinite = _predicate("isfinite",
                      lambda xp, x: xp.isfinite(x) if x.dtype.kind == "f"
                      else xp.ones(x.shape, bool), "x is neither inf nor nan.")
signbit = _predicate("signbit",
                     lambda xp, x: xp.signbit(x) if x.dtype.kind == "f" else x < 0,
                     "The sign bit is set (true for -0.0 and negative nan).")


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|input - other| <= atol + rtol * |other|, elementwise; dtypes must match."""
    _need_tensor("isclose", input)
    _need_tensor("isclose", other, "other", 2)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(
            f"{_type_name(input.dtype)} did not match {_type_name(other.dtype)}"
        )
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    a, b = input._data, other._data
    xp = get_xp(a)
    close = a == b
    if a.dtype.kind != "f":
        a, b = a.astype(np.float64), b.astype(np.float64)
    elif equal_nan:
        close = close | (xp.isnan(a) & xp.isnan(b))
    with np.errstate(all="ignore"):
        diff = xp.abs(a - b)
        close = close | (xp.isfinite(diff) & (diff <= atol + xp.abs(rtol * b)))
    return Tensor._make(close)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """Same shape and equal values (nan is never equal)."""
    _need_tensor("equal", input)
    _need_tensor("equal", other, "other", 2)
    if input._data.shape != other._data.shape:
        return False
    return bool((input._data == other._data).all())


class _ZeroGrad(Op):
    """A comparison written in place into a tensor that requires grad: PyTorch keeps the
    tensor in the graph with a zero gradient (for it and for the other operand)."""

    @staticmethod
    def forward(ctx, value, src, other):
        return value.astype(src.dtype)

    @staticmethod
    def backward(ctx, g):
        return None, _zeros(g), _zeros(g)


def _bool_inplace(fn):
    def op(src: Tensor, other) -> Tensor:
        r = fn(src, other)
        if src._requires_grad or (isinstance(other, Tensor) and other._requires_grad):
            return _ZeroGrad.apply(r, src, other)
        return r

    op.__name__ = fn.__name__

    def method(self: Tensor, other) -> Tensor:
        return self._inplace(op, other)

    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :func:`{fn.__name__}` (the result is written as 0/1)."
    return method


# (PyTorch's in-place logical_and_/... instead keep the tensor's history: the generic path)
_BOOL_INPLACE = ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
                 "less_equal", "not_equal")
globals().update({n + "_": _bool_inplace(globals()[n]) for n in _BOOL_INPLACE})

# ---- bitwise ---------------------------------------------------------------------------------


class _Bitwise(Op):
    fn = None

    @classmethod
    def forward(cls, ctx, a, b):
        return getattr(_xp(a, b), cls.fn)(a, b)


class BitwiseAnd(_Bitwise):
    fn = "bitwise_and"


class BitwiseOr(_Bitwise):
    fn = "bitwise_or"


class BitwiseXor(_Bitwise):
    fn = "bitwise_xor"


class _Shift(Op):
    """Shifts by a negative amount or by the bit width or more give 0 (or -1 for >> of
    negatives), as PyTorch defines them, instead of C's undefined behaviour."""

    left = True

    @classmethod
    def forward(cls, ctx, a, b):
        xp = _xp(a, b)
        dt = xp.result_type(a, b)
        dt = np.dtype(np.int64) if dt == np.bool_ else dt
        a, b = xp.asarray(a, dtype=dt), xp.asarray(b, dtype=dt)
        bits = a.dtype.itemsize * 8
        bad = (b < 0) | (b >= bits)
        safe = xp.where(bad, 0, b).astype(a.dtype)
        if cls.left:
            return xp.where(bad, 0, xp.left_shift(a, safe)).astype(a.dtype)
        fill = xp.where(a < 0, -1, 0) if a.dtype.kind == "i" else 0
        return xp.where(bad, fill, xp.right_shift(a, safe)).astype(a.dtype)


class LeftShift(_Shift):
    left = True


class RightShift(_Shift):
    left = False


class BitwiseNot(Op):
    @staticmethod
    def forward(ctx, x):
        return get_xp(x).invert(x)


def _bitwise(cls, name: str, kernel: str, input, other) -> Tensor:
    a, b, dtype = _promote(name, input, other)
    if dtype.is_floating_point or (dtype is DT.bool_ and kernel.endswith("shift")):
        raise _not_implemented(kernel, dtype)
    return cls.apply(a, b)


def bitwise_and(input, other, *, out=None) -> Tensor:
    return _out(_bitwise(BitwiseAnd, "bitwise_and", "bitwise_and", input, other), out,
                "bitwise_and")


def bitwise_or(input, other, *, out=None) -> Tensor:
    return _out(_bitwise(BitwiseOr, "bitwise_or", "bitwise_or", input, other), out,
                "bitwise_or")


def bitwise_xor(input, other, *, out=None) -> Tensor:
    return _out(_bitwise(BitwiseXor, "bitwise_xor", "bitwise_xor", input, other), out,
                "bitwise_xor")


def bitwise_left_shift(input, other, *, out=None) -> Tensor:
    return _out(_bitwise(LeftShift, "bitwise_left_shift", "lshift", input, other), out,
                "bitwise_left_shift")


def bitwise_right_shift(input, other, *, out=None) -> Tensor:
    return _out(_bitwise(RightShift, "bitwise_right_shift", "rshift", input, other), out,
                "bitwise_right_shift")


def bitwise_not(input: Tensor, *, out=None) -> Tensor:
    _need_tensor("bitwise_not", input)
    if input._data.dtype.kind == "f":
        raise _not_implemented("bitwise_not", input.dtype)
    return _out(BitwiseNot.apply(input), out, "bitwise_not")


# ---- selection -------------------------------------------------------------------------------


class Where(Op):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return get_xp(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        zero = _zeros(g)
        return (None,
                Where.apply(cond, g, zero) if ctx.needs_input_grad[1] else None,
                Where.apply(cond, zero, g) if ctx.needs_input_grad[2] else None)


def _scalar_tensor(x, dtype: DT.dtype, like: Tensor) -> Tensor:
    return Tensor._make(get_xp(like._data).asarray(x, dtype=dtype.np))


def where(condition: Tensor, input=None, other=None, *, out=None):
    """``condition ? input : other`` elementwise; with one argument, ``nonzero(as_tuple=True)``."""
    if input is None and other is None:
        from ember.ops.indexing import nonzero

        return nonzero(condition, as_tuple=True)
    _need_tensor("where", condition, "condition")
    if condition._data.dtype == np.uint8:
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and "
                      "will be removed in a future version of PyTorch. Use a boolean condition "
                      "instead.", UserWarning, stacklevel=2)
        condition = Tensor._make(condition._data.astype(bool))
    if condition._data.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{_type_name(condition.dtype)}"
        )
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        _check_operand("where", input)
        _check_operand("where", other)
        dtype = DT.result_type(input, other)
        a, b = _scalar_tensor(input, dtype, condition), _scalar_tensor(other, dtype, condition)
    else:
        a, b, dtype = _promote("where", input, other)
        a = a if isinstance(a, Tensor) else _scalar_tensor(a, dtype, condition)
        b = b if isinstance(b, Tensor) else _scalar_tensor(b, dtype, condition)
    return _out(Where.apply(condition, a, b), out, "where")


def _tensor_where(self: Tensor, condition: Tensor, y) -> Tensor:
    """``self.where(condition, y)`` is ``where(condition, self, y)``."""
    return where(condition, self, y)


Tensor.where = _tensor_where

# ---- helpers ---------------------------------------------------------------------------------


def _out(result: Tensor, out: Tensor | None, op: str = "op") -> Tensor:
    """Honour an ``out=`` argument: copy the result into it (resizing as PyTorch does)."""
    if out is None:
        return result
    if result._requires_grad and _state["enabled"]:
        raise RuntimeError(
            f"{op}(): functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad."
        )
    if out._data.dtype != result._data.dtype and not DT.can_cast(result.dtype, out.dtype):
        raise RuntimeError(
            f"result type {_type_name(result.dtype)} can't be cast to the desired output type "
            f"{_type_name(out.dtype)}"
        )
    if out.shape != result.shape:
        out._data = get_xp(result._data).empty(result._data.shape, out._data.dtype)
    out._data[...] = result._data
    out._vc[0] += 1
    return out


__all__ = [
    "abs",
    "absolute",
    "acos",
    "acosh",
    "add",
    "addcdiv",
    "addcmul",
    "allclose",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "ceil",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "copysign",
    "cos",
    "cosh",
    "deg2rad",
    "div",
    "divide",
    "eq",
    "equal",
    "erf",
    "erfc",
    "erfinv",
    "exp",
    "exp2",
    "expm1",
    "fix",
    "float_power",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "frac",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "hypot",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "le",
    "lerp",
    "less",
    "less_equal",
    "log",
    "log1p",
    "log2",
    "log10",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logit",
    "lt",
    "maximum",
    "minimum",
    "mul",
    "multiply",
    "nan_to_num",
    "ne",
    "neg",
    "negative",
    "not_equal",
    "positive",
    "pow",
    "rad2deg",
    "reciprocal",
    "relu",
    "relu_",
    "remainder",
    "round",
    "rsqrt",
    "rsub",
    "sgn",
    "sigmoid",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "sub",
    "subtract",
    "tan",
    "tanh",
    "true_divide",
    "trunc",
    "where",
    "xlogy",
]
TENSOR_METHODS = [
    n for n in __all__ if n not in ("relu_", "where", "rsub")
] + ["float_power_"] + [n + "_" for n in _BOOL_INPLACE]
INPLACE_METHODS = [
    n for n in __all__
    if n not in ("allclose", "equal", "isclose", "isfinite", "isinf", "isnan", "isneginf",
                 "isposinf", "signbit", "positive", "relu_", "where", "rsub", "float_power",
                 "maximum", "minimum", "fmax", "fmin") + _BOOL_INPLACE
]
