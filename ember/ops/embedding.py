"""Embedding lookups (``embedding``, ``embedding_bag``) and ``one_hot``.

A lookup is a row gather (``_Take``); its adjoint is a row scatter-add (``_SegmentSum``) and the
two are each other's backward, so double backward works.  ``embedding_bag`` is a gather followed
by a segment reduction over the bags: the same scatter-add for ``sum``/``mean`` and a segment max
(``_BagMax``, whose gradient goes to the row that held each maximum) for ``max``.
"""
from __future__ import annotations

import numpy as np

from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.ops.base import Op
from ember.ops.indexing import _ufunc_at
from ember.ops.pointwise import _need_tensor

_INDEX_KINDS = {np.dtype(np.int64): "Long", np.dtype(np.int32): "Int"}


def _row_weights(xp, idx, n: int, padding_idx, scale: bool, dtype):
    """Per-entry factor of a lookup's gradient: 0 at ``padding_idx``, 1/count with ``scale``."""
    w = None
    if scale:
        w = (1.0 / xp.bincount(idx, minlength=n)[idx]).astype(dtype)
    if padding_idx is not None:
        keep = (idx != padding_idx).astype(dtype)
        w = keep if w is None else w * keep
    return w


class _Take(Op):
    """Rows ``weight[idx]`` (any index shape), gradient masked/scaled as ``embedding`` asks."""

    @staticmethod
    def forward(ctx, weight, idx, padding_idx=None, scale=False):
        ctx.idx, ctx.n, ctx.padding_idx, ctx.scale = idx, weight.shape[0], padding_idx, scale
        return get_xp(weight).take(weight, idx, axis=0)

    @staticmethod
    def backward(ctx, g):
        return _SegmentSum.apply(g, ctx.idx, ctx.n, ctx.padding_idx, ctx.scale), None

    def name(self) -> str:
        return "EmbeddingBackward0"


class _SegmentSum(Op):
    """(n, *row) zeros with row i of ``g`` (times its factor) added at ``idx[i]``.

    The factor is 0 at ``padding_idx``, 1/count of the index with ``scale``, times the
    constant per-row ``weights`` if given (a bag mean's 1/bag size).
    """

    def name(self) -> str:
        return "EmbeddingBagBackward0" if self.bag else "EmbeddingDenseBackwardBackward0"

    @staticmethod
    def forward(ctx, g, idx, n, padding_idx=None, scale=False, weights=None, bag=False):
        ctx.idx, ctx.padding_idx, ctx.scale, ctx.weights, ctx.bag = (
            idx, padding_idx, scale, weights, bag)
        xp = get_xp(g)
        flat = idx.reshape(-1)
        rows = g.reshape((flat.size,) + g.shape[idx.ndim:])
        w = _row_weights(xp, flat, n, padding_idx, scale, g.dtype)
        if weights is not None:
            w = weights if w is None else w * weights
        if w is not None:
            rows = rows * w.reshape((-1,) + (1,) * (rows.ndim - 1))
        out = xp.zeros((n,) + rows.shape[1:], dtype=g.dtype)
        if flat.size:
            _ufunc_at(xp.add, out, (flat,), rows)
        return out

    @staticmethod
    def backward(ctx, g):
        # as in PyTorch, the frequency scaling is applied once, by the first backward
        out = _Take.apply(g, ctx.idx)
        xp = get_xp(g._data)
        w = _row_weights(xp, ctx.idx.reshape(-1), 0, ctx.padding_idx, False, g._data.dtype)
        if ctx.weights is not None:
            w = ctx.weights if w is None else w * ctx.weights
        if w is not None:
            out = out * Tensor._make(w.reshape(ctx.idx.shape + (1,) * (g.dim() - 1)))
        return out, None


class _BagMax(Op):
    """Per bag and column, the largest of its rows (0 for an empty bag)."""

    def name(self) -> str:
        return "EmbeddingBagBackward0"

    @staticmethod
    def forward(ctx, rows, bag, n):
        xp = get_xp(rows)
        length, d = rows.shape
        out = xp.full((n, d), -xp.inf, dtype=rows.dtype)
        _ufunc_at(xp.maximum, out, (bag,), rows)
        pos = xp.where(rows == out[bag], xp.arange(length)[:, None], length)
        arg = xp.full((n, d), length, dtype=np.int64)
        _ufunc_at(xp.minimum, arg, (bag,), pos)
        out[arg == length] = 0
        ctx.arg, ctx.length = arg, length
        return out

    @staticmethod
    def backward(ctx, g):
        return _BagMaxGrad.apply(g, ctx.arg, ctx.length), None, None


class _BagMaxGrad(Op):
    """(length, d) zeros with each bag's gradient written at the row that held its maximum."""

    @staticmethod
    def forward(ctx, g, arg, length):
        xp = get_xp(g)
        ctx.arg, ctx.length = arg, length
        out = xp.zeros((length + 1, g.shape[1]), dtype=g.dtype)
        out[arg, xp.arange(g.shape[1])] = g
        return out[:length]

    @staticmethod
    def backward(ctx, gg):
        xp = get_xp(gg._data)
        padded = _pad_row(gg)
        return _Pick.apply(padded, ctx.arg, xp.arange(gg.shape[1])), None, None


def _pad_row(t: Tensor) -> Tensor:
    from ember.ops.shape import cat

    return cat([t, t.new_zeros((1, t.shape[1]))], 0)


class _Pick(Op):
    """``x[rows, cols]`` for the bag-max gradient's own gradient."""

    @staticmethod
    def forward(ctx, x, rows, cols):
        ctx.shape, ctx.rows, ctx.cols = x.shape, rows, cols
        return x[rows, cols]

    @staticmethod
    def backward(ctx, g):
        from ember.ops.indexing import IndexGrad

        return IndexGrad.apply(g, ctx.shape, (ctx.rows, ctx.cols), True), None, None


def _check_indices(op: str, input: Tensor, arg: str = "indices") -> None:
    if input._data.dtype not in _INDEX_KINDS:
        raise RuntimeError(
            f"Expected tensor for argument #1 '{arg}' to have one of the following scalar "
            f"types: Long, Int; but got {input.type()} instead (while checking arguments for {op})"
        )


def _padding(padding_idx, n: int, what: str = "num_embeddings"):
    if padding_idx is None:
        return None
    if padding_idx > 0:
        assert padding_idx < n, f"Padding_idx must be within {what}"
    elif padding_idx < 0:
        assert padding_idx >= -n, f"Padding_idx must be within {what}"
        padding_idx = n + padding_idx
    return int(padding_idx)


def _renorm_(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """Scale, in place, the referenced rows whose ``norm_type``-norm exceeds ``max_norm``."""
    xp = get_xp(weight._data)
    uniq = xp.unique(idx.reshape(-1))
    with grad_mode.no_grad():
        rows = weight._data[uniq]
        a = xp.abs(rows)
        if norm_type == float("inf"):
            norms = a.max(axis=1)
        elif norm_type == 0:
            norms = (a != 0).sum(axis=1).astype(rows.dtype)
        else:
            norms = (a ** norm_type).sum(axis=1) ** (1.0 / norm_type)
        big = norms > max_norm
        scale = xp.where(big, max_norm / (norms + 1e-7), 1.0).astype(rows.dtype)
        weight._data[uniq] = rows * scale[:, None]
        weight._vc[0] += 1


def _check_range(op: str, idx, n: int) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        if op == "embedding":
            raise IndexError("index out of range in self")
        flat = idx.reshape(-1)
        i = int(((flat < 0) | (flat >= n)).argmax())
        raise RuntimeError(
            f"Index {i} of input takes value {int(flat[i])} which is not in the valid range "
            f"[0, {n})"
        )


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input`` (output shape input.shape + (dim,)).

    ``padding_idx``'s row gets no gradient; ``max_norm`` renormalises the looked-up rows of
    ``weight`` in place first; ``sparse`` is accepted and the gradient is dense.
    """
    _need_tensor("embedding", input, "indices")
    _need_tensor("embedding", weight, "weight", 0)
    _check_indices("embedding", input)
    if weight.dim() != 2:
        raise RuntimeError(
            f"embedding(): 'weight' must be 2-D (num_embeddings, embedding_dim), got shape "
            f"{list(weight.shape)}"
        )
    n = weight.shape[0]
    padding_idx = _padding(padding_idx, n)
    idx = input._data
    _check_range("embedding", idx, n)
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    return _Take.apply(weight, idx, padding_idx, bool(scale_grad_by_freq))


def _bags(input: Tensor, offsets: Tensor | None, include_last_offset: bool):
    """Flat indices, the bag of each, and the number of bags."""
    xp = get_xp(input._data)
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        b, k = input.shape
        return input._data.reshape(-1), xp.repeat(xp.arange(b), k), b
    if input.dim() != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.dim() != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    _check_indices("embedding_bag", offsets, "offsets")
    off = offsets._data.astype(np.int64)
    length = input.shape[0]
    if off.size and off[0] != 0:
        raise RuntimeError(
            "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
            f"from position 0. However, got {int(off[0])}"
        )
    if off.size and off[-1] > length:
        raise RuntimeError(
            f"offsets[-1] can not be greater than input's length {length} but got offsets[-1] "
            f"of {int(off[-1])}"
        )
    idx = input._data
    if include_last_offset:
        n = max(off.size - 1, 0)
        end = int(off[-1]) if off.size else 0
        idx, off = idx[:end], off[:n]
    else:
        n = off.size
    bag = xp.searchsorted(off, xp.arange(idx.size), side="right") - 1
    return idx, bag, n


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings without materialising the lookups per bag.

    Bags are the rows of a 2-D ``input``, or slices of a 1-D ``input`` starting at ``offsets``.
    Entries equal to ``padding_idx`` are left out of their bag (and of a mean's count).
    """
    _need_tensor("embedding_bag", input)
    _need_tensor("embedding_bag", weight, "weight", 2)
    if weight.dim() != 2:
        raise ValueError(
            f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()} "
            "(embedding_bag expects (num_embeddings, embedding_dim))"
        )
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                "on GitHub."
            )
        if per_sample_weights.shape != input.shape:
            raise ValueError(
                f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, "
                f"then it must have the same shape as the input ({input.shape})"
            )
    _check_indices("embedding_bag", input)
    n_emb = weight.shape[0]
    padding_idx = _padding(padding_idx, n_emb, "num_embeddings")
    idx, bag, n = _bags(input, offsets, include_last_offset)
    _check_range("embedding_bag", idx, n_emb)
    if max_norm is not None:
        _renorm_(weight, idx, max_norm, norm_type)
    xp = get_xp(weight._data)
    psw = None
    if per_sample_weights is not None:
        psw = per_sample_weights.reshape(-1)
        if psw.shape[0] != idx.size:
            psw = psw[: idx.size]
    if padding_idx is not None:
        keep = xp.nonzero(idx != padding_idx)[0]
        idx, bag = idx[keep], bag[keep]
        if psw is not None:
            psw = psw[Tensor._make(keep)]
    rows = _Take.apply(weight, idx, None, bool(scale_grad_by_freq))
    if mode == "max":
        return _BagMax.apply(rows, bag, n)
    if psw is not None:
        rows = rows * psw.to(rows.dtype).unsqueeze(1)
    weights = None
    if mode == "mean":
        counts = xp.maximum(xp.bincount(bag, minlength=n), 1).astype(weight._data.dtype)
        weights = 1 / counts[bag]
    return _SegmentSum.apply(rows, bag, n, None, False, weights, True)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding along a new last dim (``num_classes=-1``: max value + 1)."""
    _need_tensor("one_hot", tensor, "self")
    if tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = get_xp(tensor._data)
    a = tensor._data
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size:
        if a.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if a.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._make((a[..., None] == xp.arange(num_classes)).astype(np.int64))


__all__ = ["embedding", "embedding_bag", "one_hot"]
TENSOR_METHODS: list = []
INPLACE_METHODS: list = []
