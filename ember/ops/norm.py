"""Normalization functions: batch, instance, layer, group, RMS and local response norm, normalize.

All the mean/variance normalizations share one op, ``_Standardize``: it computes the statistics
with NumPy reductions (``einsum`` for the sum of squares, so no squared temporary) and returns the
normalized input together with the reciprocal standard deviation.  Returning ``rstd`` as an
output lets the closed-form backward, written with ember ops on the saved outputs, be
differentiated again (double backward).  The per-channel/per-feature scale and shift is a second
fused op, ``_Affine``.  When no graph is being built (the usual ``backward()``), both backwards
take a plain NumPy path with the same formulas and fewer temporaries.  Half inputs are
normalized in float32.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np

from ember import _dtype as DT
from ember import _native
from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.ops.base import Op, replay_backward
from ember.ops.pointwise import _need_tensor, _type_name, div


def _sum_product(xp, a, b, axes: tuple):
    """Sum of a * b over ``axes`` (kept as size-1 dims) without materialising a * b."""
    letters = "abcdefghijklmnopqrstuvwxyz"[: a.ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in axes)
    s = xp.einsum(f"{letters},{letters}->{kept}", a, b)
    return s.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))


def _broadcast_axes(big: tuple, small: tuple) -> tuple:
    """The axes of ``big`` along which an operand of shape ``small`` was broadcast."""
    lead = len(big) - len(small)
    return tuple(i for i, n in enumerate(big)
                 if i < lead or (small[i - lead] == 1 and n != 1))


def _stat_layout(shape: tuple, axes: tuple):
    """(A, M, B) viewing ``shape`` so that reducing ``axes`` is reducing A and B (batch norm's
    (N, C, spatial), or (1, rows, features) for trailing axes), or None."""
    nd = len(shape)
    if nd >= 2 and axes == (0,) + tuple(range(2, nd)):
        return shape[0], shape[1], math.prod(shape[2:])
    if axes == tuple(range(nd - len(axes), nd)):
        return 1, math.prod(shape[:nd - len(axes)]), math.prod(shape[nd - len(axes):])
    return None


def _param_layout(shape: tuple, pshape: tuple):
    """(A, M, B) viewing ``shape`` so that a parameter of shape ``pshape`` broadcast onto it
    varies along M only, with rows B of at least 16 (shorter ones NumPy broadcasts as fast),
    or None."""
    pshape = (1,) * (len(shape) - len(pshape)) + tuple(pshape)
    varying = [i for i, n in enumerate(pshape) if n != 1]
    if not varying or any(pshape[i] != shape[i] for i in varying):
        return None
    lo, hi = varying[0], varying[-1] + 1
    if hi - lo != len(varying) or math.prod(shape[hi:]) < 16:
        return None
    return math.prod(shape[:lo]), math.prod(shape[lo:hi]), math.prod(shape[hi:])


def _recording() -> bool:
    """Whether backward must build a graph (create_graph=True), so must use ember ops."""
    return grad_mode.is_grad_enabled()


class _Standardize(Op):
    """(x - mean) * rstd over ``axes`` (RMS norm: x * rstd, no centring), rstd = 1/sqrt(var+eps).

    Outputs: xhat, rstd (reduced dims kept) and, not differentiable, mean and biased variance
    (for running statistics; RMS norm returns only xhat and rstd).
    """

    @staticmethod
    def forward(ctx, x, axes, eps, center):
        xp = get_xp(x)
        n = math.prod(x.shape[a] for a in axes)
        ctx.axes, ctx.n, ctx.center = axes, n, center
        layout = _stat_layout(x.shape, axes)
        if center and layout and _native.takes(x):
            kept = tuple(1 if i in axes else m for i, m in enumerate(x.shape))
            xhat = np.empty_like(x)
            mean, var, rstd = (np.empty(kept, np.float32) for _ in range(3))
            _native.call("norm_forward", x, xhat, mean, var, rstd, *layout, eps)
            ctx.save_for_backward(xhat, rstd)
            ctx.mark_non_differentiable(mean, var)
            return xhat, rstd, mean, var
        work = x if x.dtype.itemsize >= 4 else x.astype(np.float32)
        if center:
            mean = work.mean(axis=axes, keepdims=True)
            xhat = work - mean
        else:
            xhat = work.copy()
        var = _sum_product(xp, xhat, xhat, axes) / n
        rstd = 1.0 / xp.sqrt(var + eps)
        xhat *= rstd
        dtype = x.dtype
        xhat, rstd = xhat.astype(dtype, copy=False), rstd.astype(dtype, copy=False)
        ctx.save_for_backward(xhat, rstd)
        if not center:
            return xhat, rstd
        mean, var = mean.astype(dtype, copy=False), var.astype(dtype, copy=False)
        ctx.mark_non_differentiable(mean, var)
        return xhat, rstd, mean, var

    @staticmethod
    def backward(ctx, g, g_rstd, *_):
        xhat, rstd = ctx.saved_tensors
        axes = ctx.axes
        xp = get_xp(g._data)
        rstd_term = g_rstd.requires_grad or xp.any(g_rstd._data)
        if not _recording() and not rstd_term:  # one temporary, four passes
            ga, xa = g._data, xhat._data
            layout = _stat_layout(xa.shape, axes)
            if ctx.center and layout and _native.takes(xa):
                ga = np.ascontiguousarray(ga, np.float32)
                gx = np.empty_like(ga)
                _native.call("norm_backward", ga, xa, rstd._data, gx, *layout)
                return Tensor._make(gx), None, None, None
            gx = xa * (_sum_product(xp, ga, xa, axes) / -ctx.n)
            gx += ga
            if ctx.center:
                gx -= ga.mean(axis=axes, keepdims=True)
            gx *= rstd._data
            return Tensor._make(gx), None, None, None
        proj = (g * xhat).mean(axes, keepdim=True)
        gx = g - g.mean(axes, keepdim=True) if ctx.center else g
        gx = (gx - xhat * proj) * rstd
        if rstd_term:
            gx = gx - xhat * (rstd * rstd * g_rstd / ctx.n)
        return gx, None, None, None


class _Affine(Op):
    """x * weight + bias with broadcast weight/bias (either may be None): one pass forward."""

    @staticmethod
    def forward(ctx, x, w, b):
        layout = _affine_layout(x, w, b)
        if layout:
            y = np.empty_like(x)
            _native.call("affine_forward", x, w, b, y, *layout)
        else:
            y = x * w if w is not None else x + b
            if w is not None and b is not None:
                y += b
        need = ctx.needs_input_grad
        ctx.save_for_backward(x if need and need[1] else None, w)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if not _recording():  # reduce straight to the parameters' shapes, no g * x temporary
            xp = get_xp(g._data)
            ga = g._data
            wa = None if w is None else w._data
            xa = None if x is None else x._data
            shape = ctx._in_meta[1][0] if w is not None else ctx._in_meta[2][0]
            gc = np.ascontiguousarray(ga) if isinstance(ga, np.ndarray) else ga
            layout = _affine_layout(gc, wa, None, shape)
            if layout and (xa is None or _native.takes(xa)):
                gx = np.empty_like(gc) if need[0] and w is not None else None
                gw, gb = (np.empty(layout[1], np.float32) if need[i] else None for i in (1, 2))
                _native.call("affine_backward", gc, xa, wa, gx, gw, gb, *layout)
                return (g if gx is None else Tensor._make(gx),
                        None if gw is None else Tensor._make(gw.reshape(w.shape)),
                        None if gb is None else Tensor._make(gb.reshape(ctx._in_meta[2][0])))
            gx = Tensor._make(ga * w._data) if w is not None and need[0] else g
            gw = gb = None
            if need[1]:
                axes = _broadcast_axes(ga.shape, w.shape)
                gw = Tensor._make(_sum_product(xp, ga, x._data, axes).reshape(w.shape))
            if need[2]:
                shape = ctx._in_meta[2][0]
                gb = Tensor._make(ga.sum(axis=_broadcast_axes(ga.shape, shape)).reshape(shape))
            return gx, gw, gb
        gx = g * w if w is not None else g
        gw = g * x if ctx.needs_input_grad[1] else None
        gb = g if ctx.needs_input_grad[2] else None
        return gx, gw, gb


def _affine_layout(x, w, b, pshape=None):
    """The (A, M, B) layout in which the compiled kernels run an affine of ``x`` with the
    per-channel parameters ``w`` and ``b`` (arrays or None; ``pshape`` their shape), or None."""
    params = [p for p in (w, b) if p is not None]
    pshape = pshape or (params[0].shape if params else None)
    if pshape is None or any(p.shape != pshape for p in params) or not _native.takes(x, *params):
        return None
    return _param_layout(x.shape, pshape)


def _affine(x: Tensor, w: Tensor | None, b: Tensor | None) -> Tensor:
    """Scale and shift; parameters of another dtype (float ones with a half input) are cast to
    the input's, so the output keeps the input's dtype as in PyTorch."""
    if w is None and b is None:
        return x
    w = w if w is None or w.dtype == x.dtype else w.to(x.dtype)
    b = b if b is None or b.dtype == x.dtype else b.to(x.dtype)
    return _Affine.apply(x, w, b)


class _ChannelWindowSum(Op):
    """Sum over a window of channels (dim 1): out[c] = x[c-lo] + ... + x[c+hi], zero-padded.

    Linear, so its backward is the same sum with the window mirrored (hi, lo).
    """

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        xp = get_xp(x)
        c = x.shape[1]
        pad = [(0, 0)] * x.ndim
        pad[1] = (lo, hi)
        p = xp.pad(x, pad)
        out = p[:, :c].copy()
        for i in range(1, lo + hi + 1):
            out += p[:, i:i + c]
        return out

    @staticmethod
    def backward(ctx, g):
        return _ChannelWindowSum.apply(g, ctx.hi, ctx.lo), None, None


def _check_float(input: Tensor, kernel: str) -> None:
    if not input.is_floating_point():
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_name(input.dtype)}\'')


def _check_param_dtype(input: Tensor, op: str, **params) -> None:
    for name, p in params.items():
        if p is not None and p.dtype != input.dtype and input.dtype in (DT.float32, DT.float64):
            raise RuntimeError(
                f"{op}: mixed dtype (CPU): expect parameter to have scalar type of "
                f"{_type_name(input.dtype)}, but {name} is {_type_name(p.dtype)}; convert it "
                f"with .to({input.dtype})")


def _channel_shape(input: Tensor) -> tuple:
    return (1, input.shape[1]) + (1,) * (input.dim() - 2)


def _update_running(running: Tensor, stat: Tensor, momentum: float) -> None:
    """running = (1 - momentum) * running + momentum * stat, in place (not recorded)."""
    with grad_mode.no_grad():
        running.mul_(1 - momentum).add_(stat.reshape(running.shape).to(running.dtype),
                                        alpha=momentum)


def _eval_norm(input: Tensor, running_mean: Tensor, running_var: Tensor, weight, bias,
               eps: float) -> Tensor:
    """Normalize with fixed statistics: x * scale + shift, scale and shift per channel."""
    scale = (running_var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    shape = _channel_shape(input)
    return _affine(input, scale.reshape(shape), shift.reshape(shape))


def _per_channel(input: Tensor, weight, bias) -> tuple:
    shape = _channel_shape(input)
    return (None if weight is None else weight.reshape(shape),
            None if bias is None else bias.reshape(shape))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) over the batch and spatial dims.

    In training the batch statistics are used and the running ones (if given) move towards
    them in place, with the unbiased variance; otherwise the running statistics are used.
    """
    _need_tensor("batch_norm", input)
    if momentum is None or not isinstance(momentum, (int, float)):
        raise TypeError(f"batch_norm(): argument 'momentum' must be float, not "
                        f"{type(momentum).__name__}")
    if input.dim() < 2:
        msg = (f"batch_norm: expected an input of shape (N, C, *) with a channel dim 1, got "
               f"shape {list(input.shape)}")
        raise (IndexError if training else RuntimeError)(msg)
    shape = list(input.shape)
    if training and math.prod(shape) // shape[1] == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size "
            f"{input.shape}")
    _check_float(input, "batch_norm")
    c = shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    _check_param_dtype(input, "batch_norm", running_mean=running_mean, running_var=running_var,
                       weight=weight, bias=bias)
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                f"{'running_mean' if running_mean is None else 'running_var'} must be defined "
                "in evaluation mode")
        return _eval_norm(input, running_mean, running_var, weight, bias, eps)
    if input.numel() == 0:
        return _affine(input.clone(), *_per_channel(input, weight, bias))
    axes = (0,) + tuple(range(2, input.dim()))
    xhat, _, mean, var = _Standardize.apply(input, axes, eps, True)
    if running_mean is not None:
        _update_running(running_mean, mean, momentum)
    if running_var is not None:
        n = input.numel() // c
        _update_running(running_var, var * (n / (n - 1)), momentum)
    return _affine(xhat, *_per_channel(input, weight, bias))


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each (sample, channel) over its spatial dims; running statistics as batch_norm
    with the batch average of the per-instance statistics."""
    _need_tensor("instance_norm", input)
    shape = list(input.shape)
    if use_input_stats and math.prod(shape[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 spatial element when training, got input size {input.shape}")
    if input.dim() < 2:
        raise RuntimeError(f"instance_norm: expected an input of shape (N, C, *), got shape "
                           f"{shape}")
    _check_float(input, "instance_norm")
    c = shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    _check_param_dtype(input, "instance_norm", running_mean=running_mean,
                       running_var=running_var, weight=weight, bias=bias)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "Expected running_mean and running_var to be defined when use_input_stats is "
                "false")
        return _eval_norm(input, running_mean, running_var, weight, bias, eps)
    if input.numel() == 0:
        return _affine(input.clone(), *_per_channel(input, weight, bias))
    xhat, _, mean, var = _Standardize.apply(input.reshape(shape[0], c, -1), (2,), eps, True)
    if running_mean is not None:
        _update_running(running_mean, mean.mean(0), momentum)
    if running_var is not None:
        n = math.prod(shape[2:])
        _update_running(running_var, (var * (n / (n - 1))).mean(0), momentum)
    return _affine(xhat.reshape(shape), *_per_channel(input, weight, bias))


def _check_normalized_shape(input: Tensor, normalized_shape, op: str, star: str) -> tuple:
    if not isinstance(normalized_shape, (tuple, list)) and not (
            isinstance(normalized_shape, Tensor)):
        raise TypeError(f"{op}(): argument 'normalized_shape' (position 2) must be tuple of "
                        f"ints, not {type(normalized_shape).__name__}")
    ns = tuple(int(n) for n in normalized_shape)
    k = len(ns)
    if k == 0 or input.dim() < k or tuple(input.shape[input.dim() - k:]) != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape "
            f"[*{star}{', '.join(map(str, ns))}], but got input of size{list(input.shape)}")
    return ns


def _check_affine_shape(t: Tensor | None, name: str, ns: tuple) -> None:
    if t is not None and tuple(t.shape) != ns:
        raise RuntimeError(
            f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
            f"{list(t.shape)} and normalized_shape = {list(ns)}")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dims, then scale and shift per element."""
    _need_tensor("layer_norm", input)
    ns = _check_normalized_shape(input, normalized_shape, "layer_norm", ", ")
    _check_affine_shape(weight, "weight", ns)
    _check_affine_shape(bias, "bias", ns)
    _check_float(input, "LayerNormKernelImpl")
    _check_param_dtype(input, "layer_norm", weight=weight, bias=bias)
    if input.numel() == 0:
        return _affine(input.clone(), weight, bias)
    axes = tuple(range(input.dim() - len(ns), input.dim()))
    data = input._data
    if isinstance(data, np.ndarray) and data.dtype == np.float32 and _native.takes(
            *(p._data for p in (weight, bias) if p is not None)):
        return _LayerNorm.apply(input, weight, bias, len(ns), eps)
    return _layer_norm(axes, eps, input, weight, bias)


def _layer_norm(axes: tuple, eps: float, input: Tensor, weight, bias) -> Tensor:
    """Layer norm as two differentiable ops (their backward can be differentiated again)."""
    return _affine(_Standardize.apply(input, axes, eps, True)[0], weight, bias)


class _LayerNorm(Op):
    """Layer norm of float32 NumPy arrays as one op over (rows, features): the compiled kernels
    take the statistics and the affine in one call forward, all three gradients in one call
    backward.  Saves the input and each row's mean and rstd, as PyTorch does; a backward
    that must be differentiable replays ``_layer_norm``."""

    def name(self) -> str:
        return "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, dims, eps):
        kept = x.shape[:x.ndim - dims] + (1,) * dims
        features = math.prod(x.shape[x.ndim - dims:])
        y = np.empty(x.shape, np.float32)
        mean, rstd = np.empty(kept, np.float32), np.empty(kept, np.float32)
        _native.call("layer_norm_forward", np.ascontiguousarray(x), w, b, y, mean, rstd,
                     x.size // features, features, eps)
        ctx.dims, ctx.eps = dims, eps
        ctx.save_for_backward(x, w, b, mean, rstd)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, b, mean, rstd = ctx.saved_tensors
        if _recording():
            axes = tuple(range(x.dim() - ctx.dims, x.dim()))
            return replay_backward(ctx, (x, w, b), (g,), partial(_layer_norm, axes, ctx.eps)
                                   ) + (None, None)
        need = ctx.needs_input_grad
        xa = np.ascontiguousarray(x._data)
        features = math.prod(xa.shape[xa.ndim - ctx.dims:])
        gx = np.empty_like(xa) if need[0] else None
        gw = np.empty(w.shape, np.float32) if w is not None and need[1] else None
        gb = np.empty(b.shape, np.float32) if b is not None and need[2] else None
        _native.call("layer_norm_backward", np.ascontiguousarray(g._data, np.float32), xa,
                     None if w is None else w._data, mean._data, rstd._data, gx, gw, gb,
                     np.empty(2 * features), np.empty(2 * features, np.float32),
                     xa.size // features, features)
        return tuple(None if a is None else Tensor._make(a) for a in (gx, gw, gb)) + (None, None)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x**2) + eps) over the trailing dims; eps defaults to the dtype's epsilon."""
    _need_tensor("rms_norm", input)
    ns = _check_normalized_shape(input, normalized_shape, "rms_norm", "")
    _check_affine_shape(weight, "weight", ns)
    _check_float(input, "rms_norm")
    _check_param_dtype(input, "rms_norm", weight=weight)
    if eps is None:
        eps = DT.finfo(input.dtype).eps
    if input.numel() == 0:
        return _affine(input.clone(), weight, None)
    axes = tuple(range(input.dim() - len(ns), input.dim()))
    xhat = _Standardize.apply(input, axes, eps, False)[0]
    return _affine(xhat, weight, None)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize each sample over groups of channels (and the spatial dims)."""
    _need_tensor("group_norm", input)
    if input.dim() < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    shape = list(input.shape)
    c = shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {shape} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t.shape)} and input of shape {shape}")
    _check_float(input, "GroupNormKernelImpl")
    _check_param_dtype(input, "group_norm", weight=weight, bias=bias)
    if input.numel() == 0:
        return _affine(input.clone(), *_per_channel(input, weight, bias))
    xhat = _Standardize.apply(input.reshape(shape[0], num_groups, -1), (2,), eps, True)[0]
    return _affine(xhat.reshape(shape), *_per_channel(input, weight, bias))


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """x / (k + alpha * mean of x**2 over ``size`` neighbouring channels) ** beta."""
    _need_tensor("local_response_norm", input)
    if input.dim() < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality input (got {input.dim()} dimensions)")
    if input.numel() == 0:
        return input
    s = _ChannelWindowSum.apply(input * input, size // 2, (size - 1) // 2)
    return input / (s * (alpha / size) + k) ** beta


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """input / max(||input||_p along ``dim``, eps)."""
    _need_tensor("normalize", input)
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return div(input, denom, out=out)


__all__ = [
    "batch_norm",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
    "normalize",
    "rms_norm",
]
