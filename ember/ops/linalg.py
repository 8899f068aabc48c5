"""Matrix products and linear algebra (``ember.linalg`` re-exports the ``linalg_*`` ops)."""
from __future__ import annotations

from ember._device import get_xp
from ember._tensor import Tensor
from ember.ops.base import Op
from ember.ops.shape import transpose


def _dtype_check(op: str, a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}"
            if op in ("mm", "matmul") else
            f"{op}: expected both inputs to have the same dtype, got {a.dtype} and {b.dtype}"
        )


class Matmul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return get_xp(a).matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if ctx.needs_input_grad[0] else None,
                    g * a if ctx.needs_input_grad[1] else None)
        if a.ndim == 1:  # (k) @ (..., k, n) -> (..., n)
            if ctx.needs_input_grad[0]:
                ga = matmul(b, g.unsqueeze(-1)).squeeze(-1)
            if ctx.needs_input_grad[1]:
                gb = a.unsqueeze(-1) * g.unsqueeze(-2)
            return ga, gb
        if b.ndim == 1:  # (..., m, k) @ (k) -> (..., m)
            if ctx.needs_input_grad[0]:
                ga = g.unsqueeze(-1) * b
            if ctx.needs_input_grad[1]:
                gb = matmul(transpose(a, -1, -2), g.unsqueeze(-1)).squeeze(-1)
            return ga, gb
        if ctx.needs_input_grad[0]:
            ga = matmul(g, transpose(b, -1, -2))
        if ctx.needs_input_grad[1]:
            gb = matmul(transpose(a, -1, -2), g)
        return ga, gb


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Matrix product with NumPy/PyTorch broadcasting of batch dims (1-D operands promoted)."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are "
            f"{input._data.ndim}D and {other._data.ndim}D"
        )
    _dtype_check("matmul", input, other)
    ka = input._data.shape[-1]
    kb = other._data.shape[-2] if other._data.ndim > 1 else other._data.shape[0]
    if ka != kb:
        if input._data.ndim == 1 and other._data.ndim == 1:
            raise RuntimeError(
                "inconsistent tensor size, expected tensor [{}] and src [{}] to have the same "
                "number of elements, but got {} and {} elements respectively".format(
                    ka, kb, ka, kb)
            )
        sa = "x".join(map(str, input._data.shape if input._data.ndim > 1 else (1, ka)))
        sb = "x".join(map(str, other._data.shape if other._data.ndim > 1 else (kb, 1)))
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})"
        )
    from ember.ops.pointwise import _out

    return _out(Matmul.apply(input, other), out)


__all__ = ["matmul"]
TENSOR_METHODS = list(__all__)
INPLACE_METHODS: list = []
