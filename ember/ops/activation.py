"""Activation functions of ``nn.functional`` (softmax family, ReLU variants, GELU, ...).

Each pointwise activation is one Op: the forward is a NumPy expression, the backward is written
with ember ops so that it is itself differentiable (double backward).  Gradients at kinks follow
PyTorch's kernels (e.g. hardtanh's is 0 at its bounds, leaky_relu's is the slope at 0).  The
names PyTorch also has at top level (``torch.selu``, ``torch.threshold``, ``torch.dropout`` ...)
are in ``__all__``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ember import _native
from ember import random as R
from ember._device import get_xp
from ember._tensor import Tensor, _wrap_dim
from ember.autograd import grad_mode
from ember.ops import dropout as D
from ember.ops.base import Op
from ember.ops.pointwise import (
    _erf_parts,
    _mask,
    _need_tensor,
    _to_float,
    _type_name,
    erf,
    sigmoid,
    tanh,
    where,
)
from ember.ops.shape import chunk


def _softmax_dim(ndim: int, name: str) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _rows(x, dim: int) -> bool:
    """Whether the compiled (log-)softmax takes ``x`` along ``dim``: float32 C order, the
    last dim, not empty."""
    return dim == x.ndim - 1 and x.size > 0 and _native.takes(x)


def _native_softmax(kernel: str, log: bool, *arrays):
    out = np.empty_like(arrays[-1])
    n = out.shape[-1]
    _native.call(kernel, *arrays, out, out.size // n, n, log)
    return out


class Softmax(Op):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        xp = get_xp(x)
        if _rows(x, dim):
            y = _native_softmax("softmax_forward", False, x)
        else:
            e = xp.exp(x - x.max(axis=dim, keepdims=True)) if x.size else x.copy()
            y = e / e.sum(axis=dim, keepdims=True) if x.size else e
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if not grad_mode.is_grad_enabled():  # on arrays: one temporary, the result
            ya, ga = y._data, g._data
            if _rows(ya, ctx.dim) and _native.takes(ga):
                return Tensor._make(_native_softmax("softmax_backward", False, ga, ya)), None
            out = ga * ya
            rows = out.sum(axis=ctx.dim, keepdims=True)
            get_xp(out).subtract(ga, rows, out=out)
            out *= ya
            return Tensor._make(out), None
        return y * (g - (g * y).sum(ctx.dim, keepdim=True))


class LogSoftmax(Op):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        xp = get_xp(x)
        if not x.size:
            return x.copy()
        if _rows(x, dim):
            y = _native_softmax("softmax_forward", True, x)
        else:
            s = x - x.max(axis=dim, keepdims=True)
            y = s - xp.log(xp.exp(s).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if not grad_mode.is_grad_enabled():  # on arrays: one temporary, the result
            ga = g._data
            if _rows(y._data, ctx.dim) and _native.takes(ga):
                return Tensor._make(_native_softmax("softmax_backward", True, ga, y._data)), None
            xp = get_xp(ga)
            out = xp.exp(y._data)
            out *= ga.sum(axis=ctx.dim, keepdims=True)
            xp.subtract(ga, out, out=out)
            return Tensor._make(out), None
        return g - y.exp() * g.sum(ctx.dim, keepdim=True)


def _prepare(input: Tensor, dim, dtype, name: str):
    if dtype is not None:
        input = input.to(dtype)
    input = _to_float(input) if input._data.dtype.kind != "f" else input
    if dim is None:
        dim = _softmax_dim(input._data.ndim, name)
    return input, _wrap_dim(dim, input._data.ndim)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    input, dim = _prepare(input, dim, dtype, "softmax")
    return Softmax.apply(input, dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, without forming softmax (stable for large logits)."""
    input, dim = _prepare(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(input, dim)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    input, dim = _prepare(input, dim, dtype, "softmin")
    return Softmax.apply(-input, dim)


# ---- pointwise activations ----------------------------------------------------------------

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT1_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_GELU_K = math.sqrt(2 / math.pi)
_GELU_C = 0.044715
# PyTorch's hardsigmoid backward scales by 1/6 held as a float32, also for float64 inputs
_SIXTH = float(np.float32(1 / 6))


def _np_sigmoid(xp, x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _np_softplus(xp, x):
    """log(1 + exp(x)) without overflow for large |x|."""
    return xp.logaddexp(x.dtype.type(0), x)


class Hardtanh(Op):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(x)
        xp = get_xp(x)
        t = x.dtype.type
        return xp.minimum(xp.maximum(x, t(lo)), t(hi))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _mask(~((x <= ctx.lo) | (x >= ctx.hi)), g), None, None


class LeakyRelu(Op):
    @staticmethod
    def forward(ctx, x, slope, inplace=False):
        ctx.slope = slope
        ctx.inplace = inplace
        ctx.save_for_backward(x)
        return get_xp(x).where(x > 0, x, x * x.dtype.type(slope))

    @staticmethod
    def backward(ctx, g):
        if ctx.inplace and ctx.slope < 0:
            raise RuntimeError(
                "In-place leaky_relu backward with a negative slope is not supported: the "
                "input was overwritten and its sign cannot be recovered. Call leaky_relu out "
                "of place (inplace=False)."
            )
        (x,) = ctx.saved_tensors
        return where(x > 0, g, g * ctx.slope), None


class Elu(Op):
    """scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)): elu, selu and celu.

    ``grad_input_scale`` is the input scale the backward uses (see ``celu``).
    """

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale, grad_input_scale):
        ctx.coefs = alpha, scale, grad_input_scale
        ctx.save_for_backward(x)
        xp = get_xp(x)
        t = x.dtype.type
        neg = xp.expm1(xp.minimum(x, 0) * t(input_scale)) * t(alpha * scale)
        return xp.where(x <= 0, neg, x * t(scale))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        alpha, scale, input_scale = ctx.coefs
        # x masked to x < 0: PyTorch's second derivative is 0 at x = 0
        neg = g * (alpha * scale * input_scale) * (_mask(x < 0, x) * input_scale).exp()
        return where(x <= 0, neg, g * scale), None, None, None, None


# Numerical Recipes' erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2): relative error < 1.2e-7
# for every z >= 0, so Phi(x) = erfc(-x/sqrt2)/2 keeps float32 accuracy in both tails.
_ERFC_NR = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
            0.09678418, 0.37409196, 1.00002368, -1.26551223)


_BLOCK = 65536  # elements per block of a chain of elementwise passes (256 KiB of float32)


def _blockwise(fn, *arrays):
    """``fn(out, *arrays)`` for an elementwise ``fn`` that writes float32 results into
    ``out``, run block by block; returns the float32 result.

    A long chain of NumPy passes over a big array is bound by memory traffic and by malloc
    returning each fresh multi-megabyte temporary to the OS (so every pass page-faults);
    on blocks of 64K elements the temporaries stay in cache and on the heap (~3x faster),
    and add only ~0.5 MB to the peak memory, whatever the size.  (Sharing the blocks among
    threads was slower inside a training step: a block is too short for two cores to repay
    moving its data between them.)
    """
    x = arrays[0]
    out = np.empty(x.shape, np.float32)
    if get_xp(x) is not np or x.size <= _BLOCK:
        fn(out, *arrays)
        return out
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    dest = out.reshape(-1)
    for i in range(0, x.size, _BLOCK):
        fn(dest[i:i + _BLOCK], *(a[i:i + _BLOCK] for a in flat))
    return out


def _np_normal_cdf(x, out):
    """Phi(x) of a float32 (or half) array into the float32 ``out``, with two temporaries.

    float64 inputs take the ~1-ulp float64 erf of pointwise instead; this path costs about
    thirty cheap float32 passes (one exp) against the ~60 float64 ones of that erf's ranges.
    Constants are folded: t = 1 / (1 + |x| / (2 sqrt 2)) and Phi(-|x|) = t exp(P(t) - x^2/2 +
    log 1/2).
    """
    xp = get_xp(x)
    f = np.float32
    x = x.astype(f, copy=False)
    t = xp.abs(x)
    t *= f(0.5 * _SQRT1_2)
    t += f(1)
    xp.reciprocal(t, out=t)
    p = out
    xp.multiply(t, f(_ERFC_NR[0]), out=p)
    for c in _ERFC_NR[1:-1]:
        p += f(c)
        p *= t
    u = x * x
    u *= f(-0.5)
    p += u
    p += f(_ERFC_NR[-1] + math.log(0.5))
    xp.exp(p, out=p)
    p *= t  # Phi(-|x|), exact in relative terms: the value for x < 0
    xp.multiply(p, f(-2), out=u)
    u += f(1)
    u *= x >= 0  # 1 - 2 Phi(-|x|) where x >= 0: arithmetic, as a masked write is slower
    p += u
    return p


def _np_gelu(out, x):
    _np_normal_cdf(x, out)
    out *= x


def _np_gelu_grad(out, g, x):
    """g * (Phi(x) + x phi(x)) on float32 arrays."""
    xp = get_xp(x)
    _np_normal_cdf(x, out)
    with np.errstate(under="ignore"):
        pdf = x * x
        pdf *= x.dtype.type(-0.5)
        xp.exp(pdf, out=pdf)
    pdf *= x
    pdf *= x.dtype.type(_INV_SQRT_2PI)
    out += pdf
    out *= g


class Gelu(Op):
    """GELU; without create_graph, the backward runs on arrays (no erf or graph of ember ops)."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        xp = get_xp(x)
        if approximate == "tanh":
            inner = (x + x * x * x * x.dtype.type(_GELU_C)) * x.dtype.type(_GELU_K)
            return x * x.dtype.type(0.5) * (1 + xp.tanh(inner))
        if _native.takes(x):
            return _native.elementwise("gelu_forward", x)
        if x.dtype != np.float64:
            return _blockwise(_np_gelu, x).astype(x.dtype, copy=False)
        with np.errstate(all="ignore"):
            cdf = 0.5 * (1 + _erf_parts(xp, x * _SQRT1_2)[0])
        return x * cdf

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            x2 = x * x
            t = tanh((x + x2 * x * _GELU_C) * _GELU_K)
            left = (t + 1) * 0.5
            right = x * 0.5 * (1 - t * t) * ((x2 * (3 * _GELU_C) + 1) * _GELU_K)
            return g * (left + right), None
        if not grad_mode.is_grad_enabled() and x._data.dtype == np.float32:
            if _native.takes(x._data):
                ga = np.ascontiguousarray(g._data, np.float32)
                return Tensor._make(_native.elementwise("gelu_backward", ga, x._data)), None
            return Tensor._make(_blockwise(_np_gelu_grad, g._data, x._data)), None
        cdf = (erf(x * _SQRT1_2) + 1) * 0.5
        pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
        return g * (cdf + x * pdf), None


class Silu(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * _np_sigmoid(get_xp(x), x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = sigmoid(x)
        return g * (s * (x * (1 - s) + 1))


class Softplus(Op):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        xp = get_xp(x)
        z = x * x.dtype.type(beta)
        return xp.where(z > threshold, x, _np_softplus(xp, z) / x.dtype.type(beta))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        z = x * ctx.beta
        # z held constant at the threshold itself: PyTorch's second derivative is 0 there
        z_smooth = where(z < ctx.threshold, z, Tensor._make(z._data))
        return where(z > ctx.threshold, g, g * sigmoid(z_smooth)), None, None


class Mish(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = get_xp(x)
        return x * xp.tanh(_np_softplus(xp, x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        t = tanh(Softplus.apply(x, 1.0, math.inf))
        return g * (t + x * sigmoid(x) * (1 - t * t))


class LogSigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = get_xp(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sigmoid(-x)


class Hardsigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = get_xp(x)
        t = x.dtype.type
        return xp.minimum(xp.maximum(x + t(3), t(0)), t(6)) / t(6)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _mask((x > -3) & (x < 3), g * _SIXTH)


class Hardswish(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        xp = get_xp(x)
        t = x.dtype.type
        return x * xp.minimum(xp.maximum(x + t(3), t(0)), t(6)) / t(6)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _mask(x > -3, where(x < 3, g * (x / 3 + 0.5), g))


class Softshrink(Op):
    @staticmethod
    def forward(ctx, x, lambd):
        ctx.lambd = lambd
        ctx.save_for_backward(x)
        xp = get_xp(x)
        t = x.dtype.type
        return xp.where(x > lambd, x - t(lambd), xp.where(x < -lambd, x + t(lambd), t(0)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _mask((x > ctx.lambd) | (x < -ctx.lambd), g), None


class Hardshrink(Op):
    @staticmethod
    def forward(ctx, x, lambd):
        ctx.lambd = lambd
        ctx.save_for_backward(x)
        xp = get_xp(x)
        return xp.where((x >= -lambd) & (x <= lambd), x.dtype.type(0), x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _mask(~((x >= -ctx.lambd) & (x <= ctx.lambd)), g), None


class Threshold(Op):
    @staticmethod
    def forward(ctx, x, threshold, value):
        t = x.dtype.type
        ctx.threshold = t(threshold)
        ctx.save_for_backward(x)
        return get_xp(x).where(x <= ctx.threshold, t(value), x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _mask(~(x <= float(ctx.threshold)), g), None, None


# ---- public functions -----------------------------------------------------------------------


def _float_only(input: Tensor, op: str, kernel: str) -> None:
    _need_tensor(op, input)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f'"{kernel}" not implemented for \'{_type_name(input.dtype)}\''
        )


def _maybe_inplace(fn, input: Tensor, inplace: bool, *args) -> Tensor:
    return input._inplace(fn, *args) if inplace else fn(input, *args)


def _hardtanh(input: Tensor, min_val: float, max_val: float) -> Tensor:
    return Hardtanh.apply(input, min_val, max_val)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """Clamp to [min_val, max_val]; the gradient is 0 at and beyond the bounds."""
    _need_tensor("hardtanh", input)
    if input._data.dtype.kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(_hardtanh, input, inplace, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """hardtanh(x, 0, 6): the gradient is 0 at 0 and at 6."""
    return hardtanh(input, 0.0, 6.0, inplace)


def _leaky_relu(input: Tensor, negative_slope: float, inplace: bool) -> Tensor:
    return LeakyRelu.apply(input, negative_slope, inplace=inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (the slope is the gradient at 0)."""
    _float_only(input, "leaky_relu", "leaky_relu_cpu")
    return _maybe_inplace(_leaky_relu, input, inplace, negative_slope, inplace)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def _rrelu(input: Tensor, lower: float, upper: float, training: bool, generator) -> Tensor:
    if not training:
        return LeakyRelu.apply(input, (lower + upper) / 2)
    x = input._data
    slopes = R.rng(generator).uniform(lower, upper, x.shape).astype(x.dtype)
    noise = get_xp(x).where(x <= 0, get_xp(x).asarray(slopes), x.dtype.type(1))
    return input * Tensor._make(noise)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False, *, generator=None) -> Tensor:
    """Leaky ReLU with a slope drawn from U(lower, upper) per element while training
    (from ember's generator), the mean slope (lower + upper) / 2 in eval."""
    _float_only(input, "rrelu", "leaky_relu_cpu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    return _maybe_inplace(_rrelu, input, inplace, lower, upper, training, generator)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False, *, generator=None) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True, generator=generator)


def _elu(input: Tensor, alpha: float, scale: float, input_scale: float,
         grad_input_scale: float) -> Tensor:
    return Elu.apply(input, alpha, scale, input_scale, grad_input_scale)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    _float_only(input, "elu", "elu_cpu")
    return _maybe_inplace(_elu, input, inplace, alpha, 1.0, 1.0, 1.0)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    _float_only(input, "selu", "elu_cpu")
    return _maybe_inplace(_elu, input, inplace, _SELU_ALPHA, _SELU_SCALE, 1.0, 1.0)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x / alpha) - 1) otherwise.

    PyTorch's gradient takes 1 / alpha with alpha rounded to float32 (the forward does not);
    the same is done here so that gradients agree to float64 precision.
    """
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    _float_only(input, "celu", "elu_cpu")
    grad_scale = 1.0 / float(np.float32(alpha))
    return _maybe_inplace(_elu, input, inplace, alpha, 1.0, 1.0 / alpha, grad_scale)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (Phi by erf), or its tanh approximation with ``approximate='tanh'``."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _float_only(input, "gelu", "GeluKernelImpl")
    return Gelu.apply(input, approximate)


def _silu(input: Tensor) -> Tensor:
    return Silu.apply(input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    _float_only(input, "silu", "silu_cpu")
    return _maybe_inplace(_silu, input, inplace)


def _mish(input: Tensor) -> Tensor:
    return Mish.apply(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    _float_only(input, "mish", "mish_cpu")
    return _maybe_inplace(_mish, input, inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta (overflow-free), linear where beta x > threshold."""
    _float_only(input, "softplus", "softplus_cpu")
    return Softplus.apply(input, beta, threshold)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    _need_tensor("softsign", input)
    return input / (input.abs() + 1)


def _hardsigmoid(input: Tensor) -> Tensor:
    return Hardsigmoid.apply(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    _float_only(input, "hardsigmoid", "hardsigmoid_cpu")
    return _maybe_inplace(_hardsigmoid, input, inplace)


def _hardswish(input: Tensor) -> Tensor:
    return Hardswish.apply(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    _float_only(input, "hardswish", "hardswish_cpu")
    return _maybe_inplace(_hardswish, input, inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for large |x|."""
    _float_only(input, "logsigmoid", "log_sigmoid_cpu")
    return LogSigmoid.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    _need_tensor("tanhshrink", input)
    return input - tanh(input)


def _check_lambd(input: Tensor, lambd: float) -> None:
    if lambd < 0:
        info = np.finfo(input._data.dtype)
        raise RuntimeError(
            f"lambda must be in range [0, {info.max:g}] for input dtype "
            f"{_type_name(input.dtype)}, but found {lambd:g}"
        )


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    _float_only(input, "softshrink", "softshrink_check")
    _check_lambd(input, lambd)
    return Softshrink.apply(input, lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x outside [-lambd, lambd], 0 inside."""
    _float_only(input, "hardshrink", "hardshrink_cpu")
    return Hardshrink.apply(input, lambd)


def _threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    return Threshold.apply(input, threshold, value)


def _checked_threshold(input: Tensor, th: float, value: float, inplace: bool) -> Tensor:
    _need_tensor("threshold", input)
    if input._data.dtype.kind == "b":
        raise NotImplementedError("\"threshold_cpu\" not implemented for 'Bool'")
    return _maybe_inplace(_threshold, input, inplace, th, value)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value (the gradient is 0 at the threshold)."""
    return _checked_threshold(input, threshold, value, inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _checked_threshold(input, threshold, value, True)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim``."""
    _need_tensor("glu", input)
    if input._data.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _wrap_dim(dim, input._data.ndim)
    if input._data.shape[d] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {d} is size "
            f"{input._data.shape[d]}"
        )
    _float_only(input, "glu", "glu_cpu")
    a, b = chunk(input, 2, d)
    return a * sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, weight * x otherwise, with one weight per channel (dim 1) or one shared."""
    _need_tensor("prelu", input)
    _need_tensor("prelu", weight, "weight", 2)
    if weight._data.ndim > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = "
            f"{weight._data.ndim}"
        )
    n = weight._data.size
    nd = input._data.ndim
    if n != 1:
        channels = input._data.shape[1] if nd >= 2 else 1
        if n != channels:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {n} and channel size = {channels}."
            )
    _float_only(input, "prelu", "prelu_cpu")
    w = weight.reshape(()) if n == 1 else weight.reshape([n] + [1] * (nd - 2))
    return where(input > 0, input, w * input)


# ---- torch-level dropout (``torch.dropout(input, p, train)``; ``F.dropout`` is in ops.dropout)


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.dropout``: elementwise dropout (see ``nn.functional.dropout``)."""
    return D.dropout_impl(input, p, train, False)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return D.dropout_impl(input, p, train, True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.alpha_dropout`` (see ``nn.functional.alpha_dropout``)."""
    return D.dropout_impl(input, p, train, False, alpha=True)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return D.dropout_impl(input, p, train, True, alpha=True)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.feature_dropout``: drops whole channels (dim 1) of a batched (N, C, ...) input."""
    return D.dropout_impl(input, p, train, False, feature=True)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return D.dropout_impl(input, p, train, True, feature=True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``torch.feature_alpha_dropout`` (see ``nn.functional.feature_alpha_dropout``)."""
    return D.dropout_impl(input, p, train, False, feature=True, alpha=True)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return D.dropout_impl(input, p, train, True, feature=True, alpha=True)


__all__ = [
    "alpha_dropout", "alpha_dropout_", "celu", "celu_", "dropout", "dropout_",
    "feature_alpha_dropout", "feature_alpha_dropout_", "feature_dropout", "feature_dropout_",
    "hardshrink", "log_softmax", "prelu", "rrelu", "rrelu_", "selu", "selu_", "softmax",
    "threshold", "threshold_",
]
TENSOR_METHODS = ["hardshrink", "log_softmax", "prelu", "softmax"]
INPLACE_METHODS: list = []
