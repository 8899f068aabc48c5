"""``linear`` as one fused op (a single BLAS product each way) and ``bilinear``."""
from __future__ import annotations

from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd.grad_mode import _state
from ember.ops.base import Op, wrap
from ember.ops.pointwise import _need_tensor


class _Linear(Op):
    """y = x W^T + b over any leading dims of x: one matmul forward, one per grad backward."""

    def name(self) -> str:
        if self.ndim != 2:
            return "ViewBackward0"
        return "AddmmBackward0" if self.bias else "MmBackward0"

    @staticmethod
    def forward(ctx, x, w, b=None):
        ctx.ndim, ctx.bias = x.ndim, b is not None
        k, o = w.shape[1], w.shape[0]
        if x.ndim == 2:
            y = x @ w.T
        elif x.ndim == 1:
            y = w @ x
        else:
            y = (x.reshape(-1, k) @ w.T).reshape(x.shape[:-1] + (o,))
        if b is not None:
            y += b
        need = ctx.needs_input_grad
        if need:
            ctx.save_for_backward(x if need[1] else None, w if need[0] else None)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        if not _state["enabled"]:
            return _linear_grads(g._data, x, w, need)
        gx = gw = None
        if need[0]:
            gx = g.matmul(w)
        if need[1]:
            if x.dim() == 1:
                gw = g.unsqueeze(1) * x.unsqueeze(0)
            else:
                gw = g.reshape(-1, g.shape[-1]).t().mm(x.reshape(-1, x.shape[-1]))
        return gx, gw, (g if len(need) > 2 and need[2] else None)


def _linear_grads(g, x, w, need) -> tuple:
    """The backward on arrays (no graph to record): one BLAS product per gradient, and the
    bias gradient summed over the leading dims here rather than by the engine."""
    gx = gw = gb = None
    if need[0]:
        wd = w._data
        if g.ndim > 2:  # one product over all leading dims (batched matmul loops per matrix)
            gx = wrap((g.reshape(-1, g.shape[-1]) @ wd).reshape(g.shape[:-1] + (wd.shape[1],)))
        else:
            gx = wrap(g @ wd)
    if need[1]:
        xd = x._data
        if xd.ndim == 1:
            gw = wrap(get_xp(g).multiply.outer(g, xd))
        else:
            gw = wrap(g.reshape(-1, g.shape[-1]).T @ xd.reshape(-1, xd.shape[-1]))
    if len(need) > 2 and need[2]:
        gb = wrap(g.sum(axis=tuple(range(g.ndim - 1))) if g.ndim > 1 else g)
    return gx, gw, gb


def _fusable(x: Tensor, w: Tensor, b: Tensor | None) -> bool:
    if w._data.ndim != 2 or x._data.ndim == 0 or x._data.shape[-1] != w._data.shape[1]:
        return False
    if x._data.dtype != w._data.dtype or x._data.dtype.kind not in "fc":
        return False
    if get_xp(x._data) is not get_xp(w._data):
        return False
    if b is None:
        return True
    return (b._data.dtype == w._data.dtype and b._data.ndim <= 1
            and b._data.shape in ((), (1,), (w._data.shape[0],))
            and get_xp(b._data) is get_xp(w._data))


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias."""
    _need_tensor("linear", input)
    _need_tensor("linear", weight, "weight", 2)
    if bias is not None:
        _need_tensor("linear", bias, "bias", 3)
    if _fusable(input, weight, bias):
        return _Linear.apply(input, weight) if bias is None else _Linear.apply(input, weight, bias)
    out = input.matmul(weight.t())
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o]."""
    _need_tensor("bilinear", input1, "input1")
    _need_tensor("bilinear", input2, "input2", 2)
    _need_tensor("bilinear", weight, "weight", 3)
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and "
                           f"{input2.dim()}")
    for i in range(input1.dim() - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: "
                               f"got {input1.shape[i]} and {input2.shape[i]}")
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): weight must be three-dimensional, but got "
                           f"{weight.dim()} dimensions (out_features, in1_features, in2_features)")
    o, i1, i2 = weight.shape
    if input1.shape[-1] != i1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {i1}")
    if input2.shape[-1] != i2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {i2}")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != o):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[-1] if bias.dim() else 1} but expected {o}")
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, i1)
    x2 = input2.reshape(-1, i2)
    # (N, i1) @ (i1, o * i2): one product, then the contraction with x2 along i2
    t = x1.mm(weight.permute(1, 0, 2).reshape(i1, o * i2)).reshape(-1, o, i2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (o,))


__all__ = ["bilinear"]
TENSOR_METHODS: list = []
INPLACE_METHODS: list = []
