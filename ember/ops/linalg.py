"""Matrix products and linear algebra (``ember.linalg`` re-exports the ``torch.linalg`` names).

Products (matmul, mm, bmm, einsum, ...) are in ``__all__`` and so in ``ember``; decompositions
and norms that only exist as ``torch.linalg.*`` are defined here and exported by
``ember/linalg.py``.  Every backward is written with ember ops, so it is differentiable again.
"""
from __future__ import annotations

import math
import numbers
import string
import warnings

import numpy as np

from ember._device import get_xp
from ember._tensor import Tensor, _wrap_dim
from ember.autograd.grad_mode import _state
from ember.ops.base import Op, wrap
from ember.ops.indexing import getitem
from ember.ops.pointwise import _out, add, div, mul, neg, pow, sub
from ember.ops.reduction import _axes
from ember.ops.reduction import sum as _sum
from ember.ops.shape import expand, permute, reshape, squeeze, transpose, unsqueeze
from ember.return_types import _return_type


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (singular or not positive-definite)."""


slogdet_result = _return_type("slogdet", ("sign", "logabsdet"))
linalg_slogdet_result = _return_type("linalg_slogdet", ("sign", "logabsdet"))
svd_result = _return_type("svd", ("U", "S", "V"))
linalg_svd_result = _return_type("linalg_svd", ("U", "S", "Vh"))
eigh_result = _return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
qr_result = _return_type("qr", ("Q", "R"))
linalg_qr_result = _return_type("linalg_qr", ("Q", "R"))

_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
          "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _name(t: Tensor) -> str:
    return _NAMES.get(t._data.dtype.name, t._data.dtype.name)


# ---- small helpers on Tensors (differentiable) and on arrays (constants) ----------------------


def _c(array) -> Tensor:
    """A constant (never requires grad)."""
    return Tensor._make(array)


def _mT(x: Tensor) -> Tensor:
    return transpose(x, -1, -2)


def _eye(x: Tensor, n: int, m: int | None = None, k: int = 0) -> Tensor:
    return _c(get_xp(x._data).eye(n, m, k, dtype=x._data.dtype))


def _tri(x: Tensor, n: int, k: int = 0) -> Tensor:
    """Constant lower-triangular mask (ones on and below diagonal ``k``)."""
    return _c(get_xp(x._data).tri(n, n, k, dtype=x._data.dtype))


def _diag_embed(v: Tensor) -> Tensor:
    return mul(unsqueeze(v, -1), _eye(v, v._data.shape[-1]))


def _scale_cols(x: Tensor, v: Tensor) -> Tensor:
    """``x @ diag(v)``."""
    return mul(x, unsqueeze(v, -2))


def _scale_rows(v: Tensor, x: Tensor) -> Tensor:
    """``diag(v) @ x``."""
    return mul(unsqueeze(v, -1), x)


def _offdiag_inverse(d: Tensor) -> Tensor:
    """``F[..., i, j] = 1 / (d_j - d_i)`` off the diagonal, 0 on it."""
    n = d._data.shape[-1]
    eye = _eye(d, n)
    diff = sub(unsqueeze(d, -2), unsqueeze(d, -1))
    return div(sub(_c(get_xp(d._data).ones((n, n), d._data.dtype)), eye), add(diff, eye))


def _check_float(op: str, A: Tensor) -> None:
    if A._data.dtype.kind != "f":
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. Got {_name(A)}"
        )


def _check_matrix(op: str, A: Tensor, square: bool = True) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{op}(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if square and A._data.shape[-1] != A._data.shape[-2]:
        raise RuntimeError(
            f"{op}: A must be batches of square matrices, but they are "
            f"{A._data.shape[-2]} by {A._data.shape[-1]} matrices"
        )
    _check_float(op, A)


def _first(bad) -> int:
    """Flat index of the first True of a (NumPy or CuPy) boolean array."""
    return int(get_xp(bad).flatnonzero(bad.reshape(-1))[0])


def _batch_prefix(bad) -> str:
    """``(Batch element i): `` for the first failing matrix of a batch, '' for one matrix."""
    return f"(Batch element {_first(bad)}): " if bad.ndim else ""


def _broadcast_error(sa: tuple, sb: tuple) -> RuntimeError | None:
    """PyTorch's error for shapes that do not broadcast (the rightmost clash), else None."""
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    for d in reversed(range(n)):
        if pa[d] != pb[d] and 1 not in (pa[d], pb[d]):
            return RuntimeError(
                f"The size of tensor a ({pa[d]}) must match the size of tensor b ({pb[d]}) at "
                f"non-singleton dimension {d}"
            )
    return None


def _zero_pivot(a: np.ndarray) -> int:
    """1-based index of the first zero pivot of LU with partial pivoting (what LAPACK reports)."""
    a = np.array(a, dtype=np.float64)
    n = a.shape[0]
    for j in range(n):
        p = j + int(np.argmax(np.abs(a[j:, j])))
        if a[p, j] == 0:
            return j + 1
        a[[j, p]] = a[[p, j]]
        a[j + 1:] -= np.outer(a[j + 1:, j] / a[j, j], a[j])
    return n


def _singular(op: str, a) -> LinAlgError:
    xp = get_xp(a)
    bad = xp.linalg.det(a) == 0
    if not bool(bad.any()):
        return LinAlgError(f"{op}: The input matrix is singular.")
    first = a[np.unravel_index(_first(bad), bad.shape)]
    pivot = _zero_pivot(first if isinstance(first, np.ndarray) else first.get())
    return LinAlgError(
        f"{op}: {_batch_prefix(bad)}The diagonal element {pivot} is zero, the inversion could "
        "not be completed because the input matrix is singular."
    )


# ---- matrix products ---------------------------------------------------------------------


def _dtype_check(op: str, a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_name(a).lower()} != "
            f"{_name(b).lower()}"
            if op in ("mm", "matmul", "bmm") else
            f"{op} : expected both vectors to have same dtype, but found {_name(a)} and "
            f"{_name(b)}"
        )


class Matmul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _folded(get_xp(a), a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if not _state["enabled"]:
            return _matmul_grads(g._data, a._data, b._data, ctx.needs_input_grad)
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


def _folded(xp, a, b):
    """``a @ b``; for a 2-D ``b`` the leading dims of ``a`` are folded into one product
    (NumPy's batched matmul runs one small product per matrix)."""
    if a.ndim > 2 and b.ndim == 2 and a.size:
        return xp.matmul(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[1:])
    return xp.matmul(a, b)


def _matmul_grads(g, a, b, need) -> tuple:
    """Matmul's backward on arrays (no graph to record); broadcast batch dims are summed
    back by the engine."""
    xp = get_xp(g)
    ga = gb = None
    if a.ndim == 1 and b.ndim == 1:
        return wrap(g * b) if need[0] else None, wrap(g * a) if need[1] else None
    if a.ndim == 1:  # (k) @ (..., k, n) -> (..., n)
        if need[0]:
            ga = wrap(xp.matmul(b, g[..., None])[..., 0])
        if need[1]:
            gb = wrap(a[:, None] * g[..., None, :])
        return ga, gb
    if b.ndim == 1:  # (..., m, k) @ (k) -> (..., m)
        if need[0]:
            ga = wrap(g[..., None] * b)
        if need[1]:
            gb = wrap(xp.matmul(xp.swapaxes(a, -1, -2), g[..., None])[..., 0])
        return ga, gb
    if need[0]:
        ga = wrap(_folded(xp, g, xp.swapaxes(b, -1, -2)))
    if need[1]:
        if b.ndim == 2 and a.ndim > 2 and a.size:  # the batch sum inside one product
            gb = wrap(a.reshape(-1, a.shape[-1]).T @ g.reshape(-1, g.shape[-1]))
        else:
            gb = wrap(xp.matmul(xp.swapaxes(a, -1, -2), g))
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
                f"inconsistent tensor size, expected tensor [{ka}] and src [{kb}] to have the same "
                f"number of elements, but got {ka} and {kb} elements respectively"
            )
        sa = "x".join(map(str, input._data.shape if input._data.ndim > 1 else (1, ka)))
        sb = "x".join(map(str, other._data.shape if other._data.ndim > 1 else (kb, 1)))
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})"
        )
    if input._data.ndim > 2 and other._data.ndim > 2:
        err = _broadcast_error(input._data.shape[:-2], other._data.shape[:-2])
        if err is not None:
            raise err
    return _out(Matmul.apply(input, other), out)


def mm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Product of two matrices (no broadcasting)."""
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(input, mat2, out=out)


def bmm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Batched product of ``(b, n, m)`` and ``(b, m, p)`` tensors (no broadcasting)."""
    _check_bmm(input, mat2)
    return _out(Matmul.apply(input, mat2), out)


def _check_bmm(batch1: Tensor, batch2: Tensor) -> None:
    if batch1._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if batch2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    b, _, k = batch1._data.shape
    if batch2._data.shape[:2] != (b, k):
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {k}] but got: "
            f"[{batch2._data.shape[0]}, {batch2._data.shape[1]}]."
        )
    _dtype_check("bmm", batch1, batch2)


def mv(input: Tensor, vec: Tensor, *, out=None) -> Tensor:
    """Matrix-vector product."""
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got 1, {input._data.ndim}, {vec._data.ndim}"
        )
    m, k = input._data.shape
    if vec._data.shape[0] != k:
        raise RuntimeError(
            f"size mismatch, got input ({m}), mat ({m}x{k}), vec ({vec._data.shape[0]})"
        )
    _dtype_check("matmul", input, vec)
    return _out(Matmul.apply(input, vec), out)


def dot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Inner product of two 1-D tensors."""
    return _dot("dot", input, other, out)


def vdot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Inner product of two 1-D tensors (the first conjugated; real tensors: same as dot)."""
    return _dot("vdot", input, other, out)


def _dot(op: str, a: Tensor, b: Tensor, out) -> Tensor:
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors"
        )
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"dot : expected both vectors to have same dtype, but found {_name(a)} and {_name(b)}"
        )
    return matmul(a, b, out=out)


def inner(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Sum of products over the last dims: shape ``input.shape[:-1] + other.shape[:-1]``."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return _out(mul(input, other), out)
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    return _out(tensordot(input, other, ([-1], [-1])), out)


def outer(input: Tensor, vec2: Tensor, *, out=None) -> Tensor:
    """Outer product of two 1-D tensors (dtypes promote)."""
    for name, v in (("self", input), ("vec2", vec2)):
        if v._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v._data.ndim}-D")
    return _out(mul(unsqueeze(input, 1), vec2), out)


ger = outer


class _AddScaled(Op):
    """``beta * input + alpha * prod``; ``input`` is ignored when ``beta == 0`` (as in BLAS)."""

    @staticmethod
    def forward(ctx, inp, prod, beta, alpha):
        ctx.beta, ctx.alpha = beta, alpha
        p = prod * alpha if alpha != 1 else prod.copy()
        if beta == 0:
            return p
        return p + (inp * beta if beta != 1 else inp)

    @staticmethod
    def backward(ctx, g):
        return mul(g, ctx.beta), mul(g, ctx.alpha)


def _add_scaled(input: Tensor, prod: Tensor, beta, alpha, out) -> Tensor:
    if input._data.dtype != prod._data.dtype:
        raise RuntimeError(
            f"self and mat2 must have the same dtype, but got {_name(input)} and {_name(prod)}"
        )
    inp = expand(input, prod.shape)
    return _out(_AddScaled.apply(inp, prod, beta, alpha), out)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``."""
    return _add_scaled(input, mm(mat1, mat2), beta, alpha, out)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    prod = mv(mat, vec)
    if input._data.ndim > 1 or input._data.size not in (1, prod._data.shape[0]):
        raise RuntimeError(
            f"size mismatch, got input ({'x'.join(map(str, input.shape))}), mat "
            f"({mat._data.shape[0]}x{mat._data.shape[1]}), vec ({vec._data.shape[0]})"
        )
    if not input._data.dtype == mat._data.dtype == vec._data.dtype:
        raise RuntimeError(
            f"addmv input tensors must have the same dtype, but got {_name(input)}, "
            f"{_name(mat)}, and {_name(vec)}"
        )
    return _add_scaled(input, prod, beta, alpha, out)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1,
            out=None) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _add_scaled(input, bmm(batch1, batch2), beta, alpha, out)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1,
           out=None) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    _check_bmm(batch1, batch2)
    prod = _einsum(["bij", "bjk"], "ik", [batch1, batch2])
    return _add_scaled(input, prod, beta, alpha, out)


def kron(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Kronecker product (dtypes promote; the fewer-dim operand gets leading 1s)."""
    nd = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (nd - input._data.ndim) + input._data.shape
    sb = (1,) * (nd - other._data.ndim) + other._data.shape
    a = reshape(input, tuple(x for s in sa for x in (s, 1)))
    b = reshape(other, tuple(x for s in sb for x in (1, s)))
    return _out(reshape(mul(a, b), tuple(p * q for p, q in zip(sa, sb))), out)


class Cross(Op):
    @staticmethod
    def forward(ctx, a, b, dim):
        ctx.dim = dim
        ctx.save_for_backward(a, b)
        return get_xp(a).cross(a, b, axis=dim)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = Cross.apply(b, g, dim=ctx.dim) if ctx.needs_input_grad[0] else None
        gb = Cross.apply(g, a, dim=ctx.dim) if ctx.needs_input_grad[1] else None
        return ga, gb


def _cross(op: str, a: Tensor, b: Tensor, dim: int) -> Tensor:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_name(a)} but found {_name(b)}")
    if a._data.ndim != b._data.ndim:
        raise RuntimeError(f"{op}: inputs must have the same number of dimensions.")
    err = _broadcast_error(a._data.shape, b._data.shape)
    if err is not None:
        raise err
    d = _wrap_dim(dim, a._data.ndim)
    if a._data.shape[d] != 3 or b._data.shape[d] != 3:
        raise RuntimeError(
            f"{op}: inputs dimension {dim} must have length 3. Got {a._data.shape[d]} and "
            f"{b._data.shape[d]}"
        )
    return Cross.apply(a, b, dim=d)


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out=None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (default: the first dim of size 3)."""
    if dim is None:
        warnings.warn(
            "Using torch.cross without specifying the dim arg is deprecated. Please either pass "
            "the dim explicitly or simply use torch.linalg.cross.", UserWarning, stacklevel=2)
        shape = tuple(max(p, q) for p, q in zip(input._data.shape, other._data.shape))
        if 3 not in shape:
            raise RuntimeError("no dimension of size 3 in input")
        dim = shape.index(3)
    return _out(_cross("linalg.cross", input, other, dim), out)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (default: the last)."""
    return _out(_cross("linalg.cross", input, other, dim), out)


class Trace(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        acc = np.int64 if x.dtype.kind in "biu" else None
        return get_xp(x).asarray(x.trace(dtype=acc))

    @staticmethod
    def backward(ctx, g):
        return mul(g, _eye(g, *ctx.shape))


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix (integer inputs give int64)."""
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return Trace.apply(input)


# ---- einsum and tensordot ----------------------------------------------------------------

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _einsum_sizes(subs: list, tensors: list) -> dict:
    """Each label's size (size-1 dims broadcast), checking the operands against ``subs``."""
    sizes: dict = {}
    for i, (s, t) in enumerate(zip(subs, tensors)):
        own: dict = {}
        for c, n in zip(s, t._data.shape):
            if c in own and own[c] != n:
                raise RuntimeError(
                    f"einsum(): subscript {c} is repeated for operand {i} but the sizes don't "
                    f"match, {own[c]} != {n}"
                )
            own[c] = n
            prev = sizes.get(c)
            if prev is not None and prev != n and 1 not in (prev, n):
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {i} which does not "
                    f"broadcast with previously seen size {prev}"
                )
            sizes[c] = n if prev in (None, 1) else prev
    return sizes


class Einsum(Op):
    @staticmethod
    def forward(ctx, *ops, subs, out, sizes):
        ctx.subs, ctx.out = subs, out
        ctx.save_for_backward(*ops)
        xp = get_xp(ops[0])
        arrs = [
            a if a.shape == tuple(sizes[c] for c in s)
            else xp.broadcast_to(a, tuple(sizes[c] for c in s))
            for a, s in zip(ops, subs)
        ]
        r = xp.einsum(",".join(subs) + "->" + out, *arrs, optimize=len(arrs) > 1)
        return r.copy() if len(arrs) == 1 else xp.asarray(r)

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        return tuple(
            _einsum_grad(i, g, ops, ctx.subs, ctx.out) if need else None
            for i, need in enumerate(ctx.needs_input_grad)
        )


def _einsum_grad(i: int, g: Tensor, ops: tuple, subs: list, out: str) -> Tensor:
    """Gradient of operand ``i``: the einsum of the output grad with the other operands.

    A label repeated in operand ``i`` (a diagonal) gets a fresh label tied to it by an identity
    matrix; a label only in operand ``i`` (summed away) is broadcast back by a vector of ones.
    """
    xp = get_xp(g._data)
    dt = g._data.dtype
    fresh = iter(c for c in _LETTERS if c not in set("".join(subs) + out))
    terms = [out] + [s for j, s in enumerate(subs) if j != i]
    tensors = [g] + [o for j, o in enumerate(ops) if j != i]
    present = set("".join(terms))
    res = []
    for c, n in zip(subs[i], ops[i]._data.shape):
        if c in res:
            d = next(fresh)
            res.append(d)
            terms.append(c + d)
            tensors.append(_c(xp.eye(n, dtype=dt)))
            continue
        res.append(c)
        if c not in present:
            terms.append(c)
            tensors.append(_c(xp.ones(n, dtype=dt)))
            present.add(c)
    grad = _einsum(terms, "".join(res), tensors)
    want = tuple(max(a, b) for a, b in zip(grad._data.shape, ops[i]._data.shape))
    return grad if want == grad._data.shape else expand(grad, want)


def _einsum(subs: list, out: str, tensors: list) -> Tensor:
    return Einsum.apply(*tensors, subs=list(subs), out=out, sizes=_einsum_sizes(subs, tensors))


def _parse_einsum(equation: str, tensors: list) -> tuple:
    """Expand ``...`` into labels and make the implicit output explicit."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(tensors):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(tensors):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for k, ch in enumerate(eq):
        if ch not in _LETTERS and ch not in ".,->":
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {k} in the equation string, "
                "subscripts must be in [a-zA-Z]"
            )
    ell = 0
    for i, (s, t) in enumerate(zip(terms, tensors)):
        labels = len(s.replace("...", ""))
        if "..." in s:
            if labels > t._data.ndim:
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({labels}) is more than "
                    f"the number of dimensions ({t._data.ndim}) for operand {i}"
                )
            ell = max(ell, t._data.ndim - labels)
        elif labels != t._data.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({labels}) does not match "
                f"the number of dimensions ({t._data.ndim}) for operand {i} and no ellipsis was "
                "given"
            )
    free = [c for c in _LETTERS if c not in eq]
    if ell > len(free):
        raise RuntimeError("einsum(): too many subscripts in the equation (at most 52 labels)")
    ell_labels = "".join(free[:ell])
    subs = [
        s.replace("...", ell_labels[ell - (t._data.ndim - len(s) + 3):] if ell else "")
        if "..." in s else s
        for s, t in zip(terms, tensors)
    ]
    if arrow:
        out = rhs.replace("...", ell_labels)
        for c in out:
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the "
                                   "output")
            if c not in lhs and c not in ell_labels:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
    else:
        letters = lhs.replace("...", "").replace(",", "")
        out = ell_labels + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return subs, out


def _sublist(sub) -> str:
    return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sub)


def einsum(*args) -> Tensor:
    """Einstein summation: ``einsum('ij,jk->ik', a, b)``, ``'...'``, implicit output, sublists."""
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand")
    if isinstance(args[0], str):
        equation, tensors = args[0], list(args[1:])
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            tensors = list(tensors[0])
    else:  # einsum(op0, sublist0, op1, sublist1, ..., [sublist_out])
        tensors = list(args[0:len(args) - len(args) % 2:2])
        equation = ",".join(_sublist(s) for s in args[1::2][:len(tensors)])
        if len(args) % 2:
            equation += "->" + _sublist(args[-1])
    if not tensors:
        raise RuntimeError("einsum(): must provide at least one operand")
    for t in tensors[1:]:
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError(f"expected scalar type {_name(tensors[0])} but found {_name(t)}")
    subs, out = _parse_einsum(equation, tensors)
    return _einsum(subs, out, tensors)


def tensordot(a: Tensor, b: Tensor, dims=2, out=None) -> Tensor:
    """Contract ``dims`` (an int: the last/first ``dims`` dims, or a pair of dim lists)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, numbers.Integral):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(-dims, 0)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, numbers.Integral) else list(da)
        db = [db] if isinstance(db, numbers.Integral) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimensions lists should have same length")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    wa = [_wrap_dim(d, a._data.ndim) for d in da]
    wb = [_wrap_dim(d, b._data.ndim) for d in db]
    for x, y, ox, oy in zip(wa, wb, da, db):
        if a._data.shape[x] != b._data.shape[y]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a._data.shape[x]} "
                f"in dim {ox} and second has size {b._data.shape[y]} in dim {oy}"
            )
    la = _LETTERS[:a._data.ndim]
    extra = iter(_LETTERS[a._data.ndim:])
    lb = "".join(la[wa[wb.index(j)]] if j in wb else next(extra) for j in range(b._data.ndim))
    res = "".join(c for k, c in enumerate(la) if k not in wa) + "".join(
        c for k, c in enumerate(lb) if k not in wb)
    return _out(_einsum([la, lb], res, [a, b]), out)


# ---- inverse, determinants, solve --------------------------------------------------------


class Inv(Op):
    @staticmethod
    def forward(ctx, A):
        xp = get_xp(A)
        try:
            Ai = xp.linalg.inv(A)
        except np.linalg.LinAlgError:
            raise _singular("linalg.inv", A) from None
        ctx.save_for_backward(Ai)
        return Ai

    @staticmethod
    def backward(ctx, g):
        (Ai,) = ctx.saved_tensors
        AiT = _mT(Ai)
        return neg(matmul(matmul(AiT, g), AiT))


def inv(A: Tensor, *, out=None) -> Tensor:
    """Inverse of a (batch of) square matrices; LinAlgError if singular."""
    _check_matrix("linalg.inv", A)
    return _out(Inv.apply(A), out)


def inverse(input: Tensor, *, out=None) -> Tensor:
    """Alias of ``linalg.inv``."""
    return inv(input, out=out)


class Det(Op):
    @staticmethod
    def forward(ctx, A):
        d = get_xp(A).asarray(get_xp(A).linalg.det(A))
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        sing = d._data == 0
        if bool(sing.any()):  # singular matrices get a zero gradient, as in PyTorch
            m = sing[..., None, None].astype(A._data.dtype)
            A = add(mul(A, _c(1 - m)), mul(_c(m), _eye(A, A.shape[-1])))
        scale = unsqueeze(unsqueeze(mul(g, d), -1), -1)
        return mul(scale, _mT(inv(A)))


def det(A: Tensor, *, out=None) -> Tensor:
    """Determinant of a (batch of) square matrices."""
    _check_matrix("linalg.det", A)
    return _out(Det.apply(A), out)


class Slogdet(Op):
    @staticmethod
    def forward(ctx, A):
        xp = get_xp(A)
        sign, logabs = xp.linalg.slogdet(A)
        sign, logabs = xp.asarray(sign), xp.asarray(logabs)
        ctx.save_for_backward(A)
        ctx.mark_non_differentiable(sign)
        return sign, logabs

    @staticmethod
    def backward(ctx, gsign, glog):
        (A,) = ctx.saved_tensors
        return mul(unsqueeze(unsqueeze(glog, -1), -1), _mT(inv(A)))


def linalg_slogdet(A: Tensor, *, out=None):
    """``(sign, logabsdet)`` of the determinant; ``logabsdet`` is differentiable."""
    _check_matrix("linalg.slogdet", A)
    return linalg_slogdet_result(*Slogdet.apply(A))


def slogdet(input: Tensor):
    """``torch.slogdet``: as ``linalg.slogdet``."""
    _check_matrix("linalg.slogdet", input)
    return slogdet_result(*Slogdet.apply(input))


def logdet(input: Tensor) -> Tensor:
    """``log(det(A))``: nan for a negative determinant, -inf for a singular matrix."""
    sign, logabs = slogdet(input)
    xp = get_xp(sign._data)
    return add(logabs, _c(xp.where(sign._data < 0, xp.nan, 0).astype(sign._data.dtype)))


class Solve(Op):
    @staticmethod
    def forward(ctx, A, B):
        try:
            X = get_xp(A).linalg.solve(A, B)
        except np.linalg.LinAlgError:
            raise LinAlgError(
                "torch.linalg.solve: The solver failed because the input matrix is singular."
            ) from None
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        gB = Solve.apply(_mT(A), g)
        gA = neg(matmul(gB, _mT(X))) if ctx.needs_input_grad[0] else None
        return gA, gB


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """Solve ``A X = B`` (or ``X A = B`` with ``left=False``); ``B`` may be a batch of vectors."""
    _check_matrix("linalg.solve", A)
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(
            "linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{_name(A)} and B of type {_name(B)} instead"
        )
    vector = B._data.ndim == 1 or (
        B._data.ndim == A._data.ndim - 1 and B._data.shape == A._data.shape[:-1])
    if vector and not left:
        raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not "
                           "supported for left=False. Unsqueeze B to make it a matrix.")
    Bm = unsqueeze(B, -1) if vector else B
    n = A._data.shape[-1]
    rows = Bm._data.shape[-2] if left else Bm._data.shape[-1]
    if Bm._data.ndim < 2 or rows != n:
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({n}x{n} and "
            f"{Bm._data.shape[-2] if Bm._data.ndim > 1 else 1}x{Bm._data.shape[-1]})"
        )
    err = _broadcast_error(A._data.shape[:-2], Bm._data.shape[:-2])
    if err is not None:
        raise err
    X = Solve.apply(A, Bm) if left else _mT(Solve.apply(_mT(A), _mT(Bm)))
    return _out(squeeze(X, -1) if vector else X, out)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,
                     unitriangular: bool = False, out=None) -> Tensor:
    """Solve a triangular system; only the triangle of ``A`` selected by ``upper`` is read."""
    _check_matrix("linalg.solve_triangular", A)
    if B._data.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 "
                           "dimensions.")
    n = A._data.shape[-1]
    mask = _tri(A, n, -1 if unitriangular else 0)
    T = mul(A, _mT(mask) if upper else mask)
    if unitriangular:
        T = add(T, _eye(A, n))
    return _out(solve(T, B, left=left), out)


# ---- factorizations ----------------------------------------------------------------------


class Cholesky(Op):
    @staticmethod
    def forward(ctx, A, upper):
        xp = get_xp(A)
        try:
            L = xp.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            raise _not_pd(A) from None
        ctx.upper = upper
        out = xp.ascontiguousarray(xp.swapaxes(L, -1, -2)) if upper else L
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (L,) = ctx.saved_tensors
        if ctx.upper:
            L, g = _mT(L), _mT(g)
        n = L._data.shape[-1]
        low = _tri(L, n)
        half = sub(low, mul(_eye(L, n), 0.5))
        phi = mul(matmul(_mT(L), mul(g, low)), half)
        Li = inv(L)
        gA = matmul(matmul(_mT(Li), phi), Li)
        return mul(add(gA, _mT(gA)), 0.5)


def _not_pd(A) -> LinAlgError:
    """The error for a matrix that is not positive-definite, naming the failing leading minor."""
    xp = get_xp(A)
    n = A.shape[-1]
    ok = xp.ones(A.shape[:-2], dtype=bool)
    order = n
    for k in range(1, n + 1):  # error path only: find the first non-PD leading minor
        ok = ok & (xp.linalg.det(A[..., :k, :k]) > 0)
        if not bool(ok.all()):
            order = k
            break
    return LinAlgError(
        f"linalg.cholesky: {_batch_prefix(~ok)}The factorization could not be completed because "
        f"the input is not positive-definite (the leading minor of order {order} is not "
        "positive-definite)."
    )


def linalg_cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """Cholesky factor ``L`` (``A = L L^T``; only the lower triangle of ``A`` is read)."""
    _check_matrix("linalg.cholesky", A)
    return _out(Cholesky.apply(A, upper), out)


def cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """``torch.cholesky`` (deprecated alias of ``linalg.cholesky``)."""
    return linalg_cholesky(input, upper=upper, out=out)


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """Solve ``A X = B`` given the Cholesky factor of ``A``."""
    A = matmul(_mT(L), L) if upper else matmul(L, _mT(L))
    return _out(solve(A, B), out)


def cholesky_inverse(L: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """Inverse of ``A`` given its Cholesky factor."""
    A = matmul(_mT(L), L) if upper else matmul(L, _mT(L))
    return _out(inv(A), out)


class QR(Op):
    @staticmethod
    def forward(ctx, A, mode):
        xp = get_xp(A)
        ctx.mode = mode
        if mode == "r":
            Q, R = xp.empty((0,), A.dtype), xp.linalg.qr(A, mode="r")
        else:
            Q, R = xp.linalg.qr(A, mode=mode)
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                "through linalg.qr."
            )
        Q, R = ctx.saved_tensors
        m, n = Q._data.shape[-2], R._data.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > "
                "ncols."
            )
        if m >= n:
            return _qr_backward(Q, R, gQ, gR)
        # A = [X | Y] with X = Q U square: differentiate X by the square formula, Y = Q V.
        U, V = getitem(R, (Ellipsis, slice(None, m))), getitem(R, (Ellipsis, slice(m, None)))
        gU, gV = getitem(gR, (Ellipsis, slice(None, m))), getitem(gR, (Ellipsis, slice(m, None)))
        gY = matmul(Q, gV)
        gX = _qr_backward(Q, U, add(gQ, matmul(matmul(Q, V), _mT(gV))), gU)
        return add(matmul(gX, _eye(Q, m, n)), matmul(gY, _eye(Q, n - m, n, m)))


def _qr_backward(Q: Tensor, R: Tensor, gQ: Tensor, gR: Tensor) -> Tensor:
    """``A = QR`` with ``R`` square: ``gA = (gQ + Q copyltu(M)) R^-T``, ``M = R gR^T - gQ^T Q``."""
    k = R._data.shape[-1]
    M = sub(matmul(R, _mT(gR)), matmul(_mT(gQ), Q))
    strict = mul(M, _tri(M, k, -1))
    sym = add(add(strict, _mT(strict)), mul(M, _eye(M, k)))
    return matmul(add(gQ, matmul(Q, sym)), _mT(inv(R)))


def linalg_qr(A: Tensor, mode: str = "reduced", *, out=None):
    """QR decomposition; ``mode`` is 'reduced', 'complete' or 'r' (Q empty)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    _check_matrix("linalg.qr", A, square=False)
    return linalg_qr_result(*QR.apply(A, mode))


def qr(input: Tensor, some: bool = True, *, out=None):
    """``torch.qr``: reduced (``some=True``) or complete QR."""
    _check_matrix("linalg.qr", input, square=False)
    return qr_result(*QR.apply(input, "reduced" if some else "complete"))


class SVD(Op):
    @staticmethod
    def forward(ctx, A, full_matrices):
        U, S, Vh = get_xp(A).linalg.svd(A, full_matrices=full_matrices)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        m, n = U._data.shape[-2], Vh._data.shape[-1]
        k = S._data.shape[-1]
        if U._data.shape[-1] != k:
            U, gU = getitem(U, (Ellipsis, slice(None, k))), getitem(gU, (Ellipsis, slice(None, k)))
        if Vh._data.shape[-2] != k:
            cut = (Ellipsis, slice(None, k), slice(None))
            Vh, gVh = getitem(Vh, cut), getitem(gVh, cut)
        F = _offdiag_inverse(mul(S, S))
        UtgU = matmul(_mT(U), gU)
        VhgV = matmul(Vh, _mT(gVh))
        J = mul(F, sub(UtgU, _mT(UtgU)))
        K = mul(F, sub(VhgV, _mT(VhgV)))
        inner = add(add(_scale_cols(J, S), _scale_rows(S, K)), _diag_embed(gS))
        gA = matmul(matmul(U, inner), Vh)
        inv_s = pow(S, -1)
        if m > k:
            gA = add(gA, matmul(_scale_cols(sub(gU, matmul(U, UtgU)), inv_s), Vh))
        if n > k:
            gA = add(gA, matmul(U, _scale_rows(inv_s, sub(gVh, matmul(_mT(VhgV), Vh)))))
        return gA


def linalg_svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    """``A = U diag(S) Vh`` with singular values in descending order."""
    _check_matrix("linalg.svd", A, square=False)
    return linalg_svd_result(*SVD.apply(A, full_matrices))


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out=None):
    """``torch.svd``: returns ``(U, S, V)`` (V, not Vh); zero U, V when ``compute_uv=False``."""
    _check_matrix("linalg.svd", input, square=False)
    U, S, Vh = SVD.apply(input, not some)
    if not compute_uv:
        xp = get_xp(input._data)
        m, n = input._data.shape[-2:]
        b = input._data.shape[:-2]
        z = input._data.dtype
        return svd_result(_c(xp.zeros(b + (m, m), z)), S, _c(xp.zeros(b + (n, n), z)))
    return svd_result(U, S, _mT(Vh))


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """Singular values in descending order (differentiable through the full SVD)."""
    _check_matrix("linalg.svdvals", A, square=False)
    if A.requires_grad:
        return _out(SVD.apply(A, False)[1], out)
    return _out(_c(get_xp(A._data).linalg.svd(A._data, compute_uv=False)), out)


class Eigh(Op):
    @staticmethod
    def forward(ctx, A, UPLO):
        w, V = get_xp(A).linalg.eigh(A, UPLO=UPLO)
        ctx.save_for_backward(w, V)
        return w, V

    @staticmethod
    def backward(ctx, gw, gV):
        w, V = ctx.saved_tensors
        VtgV = matmul(_mT(V), gV)
        inner = add(_diag_embed(gw), mul(_offdiag_inverse(w), VtgV))
        gA = matmul(matmul(V, inner), _mT(V))
        return mul(add(gA, _mT(gA)), 0.5)


def _check_uplo(UPLO: str) -> None:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A: Tensor, UPLO: str = "L", *, out=None):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (one triangle is read)."""
    _check_matrix("linalg.eigh", A)
    _check_uplo(UPLO)
    return eigh_result(*Eigh.apply(A, UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    """Eigenvalues (ascending) of a symmetric matrix."""
    _check_matrix("linalg.eigvalsh", A)
    _check_uplo(UPLO)
    if A.requires_grad:
        return _out(Eigh.apply(A, UPLO)[0], out)
    return _out(_c(get_xp(A._data).linalg.eigvalsh(A._data, UPLO=UPLO)), out)


# ---- pseudo-inverse, rank, powers, chains ------------------------------------------------


def _cutoff(A, smax, atol, rtol):
    """``max(atol, rtol * smax)`` with PyTorch's defaults (rtol = eps * max(m, n))."""
    xp = get_xp(A)
    default = np.finfo(A.dtype).eps * max(A.shape[-2:])
    atol = atol._data if isinstance(atol, Tensor) else atol
    rtol = rtol._data if isinstance(rtol, Tensor) else rtol
    if rtol is None:
        rtol = default if atol is None else xp.where(xp.asarray(atol) > 0, 0.0, default)
    tol = xp.maximum(0.0 if atol is None else atol, rtol * smax)
    return xp.asarray(tol, dtype=A.dtype)


class Pinv(Op):
    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        xp = get_xp(A)
        if hermitian:
            w, V = xp.linalg.eigh(A)
            tol = _cutoff(A, xp.abs(w).max(-1), atol, rtol)
            keep = xp.abs(w) > tol[..., None]
            winv = xp.where(keep, 1 / xp.where(keep, w, 1), 0)
            P = (V * winv[..., None, :]) @ xp.swapaxes(V, -1, -2)
        else:
            U, S, Vh = xp.linalg.svd(A, full_matrices=False)
            tol = _cutoff(A, S[..., 0] if S.shape[-1] else S.sum(-1), atol, rtol)
            keep = S > tol[..., None]
            sinv = xp.where(keep, 1 / xp.where(keep, S, 1), 0)
            P = (xp.swapaxes(Vh, -1, -2) * sinv[..., None, :]) @ xp.swapaxes(U, -1, -2)
        ctx.save_for_backward(A, P)
        return P

    @staticmethod
    def backward(ctx, g):
        A, P = ctx.saved_tensors
        PT, gT = _mT(P), _mT(g)
        t1 = neg(matmul(matmul(PT, g), PT))
        X = matmul(matmul(gT, P), PT)  # (I - A P) g^T P P^T
        t2 = sub(X, matmul(A, matmul(P, X)))
        Y = matmul(matmul(PT, P), gT)  # P^T P g^T (I - P A)
        t3 = sub(Y, matmul(matmul(Y, P), A))
        return add(add(t1, t2), t3)


def pinv(A: Tensor, rcond=None, hermitian: bool = False, *, atol=None, rtol=None,
         out=None) -> Tensor:
    """Moore-Penrose pseudo-inverse; singular values below ``max(atol, rtol * smax)`` drop."""
    _check_matrix("linalg.pinv", A, square=hermitian)
    if rcond is not None:
        rtol = rcond
    return _out(Pinv.apply(A, atol, rtol, hermitian), out)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``linalg.pinv`` with ``rtol=rcond``."""
    return pinv(input, rtol=rcond)


def matrix_rank(A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None,
                out=None) -> Tensor:
    """Number of singular values above ``max(atol, rtol * smax)`` (int64)."""
    _check_matrix("linalg.matrix_rank", A, square=hermitian)
    a = A._data
    xp = get_xp(a)
    if tol is not None:
        atol, rtol = tol, 0.0
    s = xp.abs(xp.linalg.eigvalsh(a)) if hermitian else xp.linalg.svd(a, compute_uv=False)
    smax = s.max(-1) if s.shape[-1] else s.sum(-1)
    rank = (s > _cutoff(a, smax, atol, rtol)[..., None]).sum(-1).astype(np.int64)
    return _out(_c(xp.asarray(rank)), out)


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """``A`` multiplied by itself ``n`` times (``n < 0``: powers of the inverse; 0: identity)."""
    _check_matrix("linalg.matrix_power", A)
    if n == 0:
        eye = _eye(A, A._data.shape[-1])
        return _out(add(mul(A, 0), eye) if A.requires_grad else _c(
            get_xp(A._data).broadcast_to(eye._data, A._data.shape).copy()), out)
    base = inv(A) if n < 0 else A
    n = abs(n)
    result = None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return _out(result, out)


def multi_dot(tensors, *, out=None) -> Tensor:
    """Product of a chain of matrices in the cheapest order (first/last may be 1-D)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        nd = t._data.ndim
        edge = "first" if i == 0 else "last" if i == len(tensors) - 1 else None
        if (edge and nd not in (1, 2)) or (edge is None and nd != 2):
            raise RuntimeError(
                f"multi_dot(): the {edge} tensor must be 1D or 2D but got {nd}D" if edge else
                f"multi_dot(): tensor {i} must be 2D but got {nd}D"
            )
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError(
                f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                f"{tensors[0].dtype} and tensor {i} is {t.dtype}"
            )
    first_vec, last_vec = tensors[0]._data.ndim == 1, tensors[-1]._data.ndim == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = unsqueeze(mats[0], 0)
    if last_vec:
        mats[-1] = unsqueeze(mats[-1], -1)
    for i in range(len(mats) - 1):
        if mats[i]._data.shape[1] != mats[i + 1]._data.shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(tensors[i].shape)} and "
                f"{list(tensors[i + 1].shape)} cannot be multiplied"
            )
    result = _chain(mats)
    if first_vec and last_vec:
        result = reshape(result, ())
    elif first_vec:
        result = squeeze(result, 0)
    elif last_vec:
        result = squeeze(result, -1)
    return _out(result, out)


def _chain(mats: list) -> Tensor:
    """Multiply matrices in the order that minimises scalar multiplications (dynamic program)."""
    dims = [m._data.shape[0] for m in mats] + [mats[-1]._data.shape[1]]
    n = len(mats)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def build(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        k = split[i][j]
        return matmul(build(i, k), build(k + 1, j))

    return build(0, n - 1)


def chain_matmul(*matrices, out=None) -> Tensor:
    """Deprecated ``torch.chain_matmul``: ``multi_dot`` of 2-D matrices."""
    if len(matrices) == 1:
        return matrices[0]
    return multi_dot(matrices, out=out)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """Dot product of vectors along ``dim`` (broadcasting the other dims)."""
    return _out(_sum(mul(x, y), dim), out)


# ---- norms -------------------------------------------------------------------------------


class VectorNorm(Op):
    @staticmethod
    def forward(ctx, x, ord, axes, keepdim):
        xp = get_xp(x)
        ctx.ord, ctx.axes, ctx.keepdim = ord, axes, keepdim
        a = xp.abs(x)
        if ord == 2:
            y = xp.sqrt((x * x).sum(axis=axes, keepdims=keepdim))
        elif ord == math.inf:
            y = a.max(axis=axes, keepdims=keepdim)
        elif ord == -math.inf:
            y = a.min(axis=axes, keepdims=keepdim)
        elif ord == 0:
            y = (x != 0).sum(axis=axes, keepdims=keepdim).astype(x.dtype)
        elif ord == 1:
            y = a.sum(axis=axes, keepdims=keepdim)
        else:
            y = (a ** ord).sum(axis=axes, keepdims=keepdim) ** (1.0 / ord)
        y = xp.asarray(y)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xa = x._data
        xp = get_xp(xa)
        if not ctx.keepdim:
            kept = tuple(1 if ctx.axes is None or i in ctx.axes else s
                         for i, s in enumerate(xa.shape))
            g, y = reshape(g, kept), reshape(y, kept)
        p = ctx.ord
        sgn = _c(xp.sign(xa))
        if p == 0:
            return _c(xp.zeros_like(xa))
        if p == 1:
            return mul(g, sgn)
        ysafe = add(y, _c((y._data == 0).astype(xa.dtype)))
        if p == 2:
            return div(mul(g, x), ysafe)
        if math.isinf(p):  # ties share the gradient equally
            hit = (xp.abs(xa) == y._data).astype(xa.dtype)
            share = hit / hit.sum(axis=ctx.axes, keepdims=True)
            return mul(g, _c(xp.sign(xa) * share))
        absx = add(mul(x, sgn), _c((xa == 0).astype(xa.dtype)))
        return div(mul(g, mul(sgn, pow(absx, p - 1))), pow(ysafe, p - 1))


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """``(sum |x|^ord)^(1/ord)`` over ``dim`` (all dims by default); ord may be inf, -inf, 0."""
    if isinstance(ord, str) or not isinstance(ord, numbers.Number):
        raise TypeError(
            f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}"
        )
    _check_float("linalg.vector_norm", x)
    if dtype is not None:
        x = x.to(dtype)
    axes = _axes(dim, x._data.ndim) if x._data.ndim else None
    reduced = x._data.shape if axes is None else [x._data.shape[a] for a in axes]
    if (ord < 0 or math.isinf(ord)) and 0 in reduced:
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
            "operation does not have an identity"
        )
    return _out(VectorNorm.apply(x, float(ord), axes, keepdim), out)


def _matrix_dims(op: str, A: Tensor, dim) -> tuple:
    if A._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    dim = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dim) != 2:
        raise RuntimeError(f"{op}: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d0, d1 = (_wrap_dim(d, A._data.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{op}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """Matrix norm over ``dim``: 'fro', 'nuc', inf, -inf, 1, -1, 2, -2."""
    d0, d1 = _matrix_dims("linalg.matrix_norm", A, dim)
    _check_float("linalg.matrix_norm", A)
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return _out(vector_norm(A, 2, (d0, d1), keepdim), out)
    if ord in (1, -1, math.inf, -math.inf):
        inner_dim, outer_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
        sums = vector_norm(A, 1, inner_dim, True)
        r = vector_norm(sums, math.inf if ord > 0 else -math.inf, outer_dim, True)
        return _out(r if keepdim else squeeze(r, (d0, d1)), out)
    if ord not in ("nuc", 2, -2):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    rest = [i for i in range(A._data.ndim) if i not in (d0, d1)]
    s = svdvals(permute(A, tuple(rest) + (d0, d1)))
    if ord == "nuc":
        r = _sum(s, -1)
    else:
        r = vector_norm(s, math.inf if ord == 2 else -math.inf, -1)
    if keepdim:
        for d in sorted((d0, d1)):
            r = unsqueeze(r, d)
    return _out(r, out)


def linalg_norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """Vector norm (``dim`` int or 1-D input) or matrix norm (``dim`` a 2-tuple or 2-D input)."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        if len(dims) == 1 and not isinstance(ord, str):
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if A._data.ndim not in (1, 2):
        raise RuntimeError(
            "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
            f"{A._data.ndim}D."
        )
    if A._data.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)


__all__ = [
    "addbmm", "addmm", "addmv", "baddbmm", "bmm", "chain_matmul", "cholesky",
    "cholesky_inverse", "cholesky_solve", "cross", "det", "dot", "einsum", "ger", "inner",
    "inverse", "kron", "logdet", "matmul", "matrix_power", "mm", "mv", "outer",
    "pinverse", "qr", "slogdet", "svd", "tensordot", "trace", "vdot",
]
TENSOR_METHODS = [
    "addbmm", "addmm", "addmv", "baddbmm", "bmm", "cholesky", "cholesky_inverse",
    "cholesky_solve", "cross", "det", "dot", "ger", "inner", "inverse", "kron", "logdet",
    "matmul", "matrix_power", "mm", "mv", "outer", "pinverse", "qr", "slogdet", "svd",
    "trace", "vdot",
]
INPLACE_METHODS = ["addbmm", "addmm", "addmv", "baddbmm"]
