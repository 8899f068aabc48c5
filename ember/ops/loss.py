"""Loss ops: the differentiable pieces that ``nn.functional``'s losses are built from."""
from __future__ import annotations

from ember._device import get_xp
from ember._tensor import Tensor
from ember.ops.base import Op

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _flat(logp, target):
    """(N, C, d1...) log-probabilities and (N, d1...) targets as (M, C) and (M,)."""
    xp = get_xp(logp)
    if logp.ndim == 1:
        return logp[None, :], xp.reshape(target, (1,))
    c = logp.shape[1]
    return xp.moveaxis(logp, 1, -1).reshape(-1, c), target.reshape(-1)


class NllLoss(Op):
    """-w[t] * logp[t] per sample, reduced; ignored targets contribute nothing."""

    @staticmethod
    def forward(ctx, logp, target, weight, reduction, ignore_index):
        xp = get_xp(logp)
        x, t = _flat(logp, target)
        valid = t != ignore_index
        safe = xp.where(valid, t, 0)
        c = x.shape[1]
        if valid.any() and (safe.min() < 0 or safe.max() >= c):
            bad = int(safe[(safe < 0) | (safe >= c)][0])
            raise IndexError(f"Target {bad} is out of bounds.")
        w = (weight[safe] if weight is not None else xp.ones(t.shape, x.dtype)) * valid
        losses = -x[xp.arange(t.shape[0]), safe] * w
        ctx.shape, ctx.safe, ctx.w, ctx.reduction = logp.shape, safe, w, reduction
        ctx.target_shape = target.shape
        if reduction == "none":
            return losses.reshape(target.shape).astype(x.dtype)
        if reduction == "sum":
            return xp.asarray(losses.sum(), dtype=x.dtype)
        ctx.total = w.sum()
        return xp.asarray(losses.sum() / ctx.total, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        return NllLossBackward.apply(g, ctx), None, None, None, None


class NllLossBackward(Op):
    """The gradient of NLLLoss w.r.t. log-probabilities (linear in the incoming gradient)."""

    @staticmethod
    def forward(ctx, g, fwd):
        ctx.fwd = fwd
        xp = get_xp(g)
        shape = fwd.shape
        c = shape[1] if len(shape) > 1 else shape[0]
        m = fwd.safe.shape[0]
        if fwd.reduction == "none":
            scale = g.reshape(-1)
        elif fwd.reduction == "sum":
            scale = g
        else:
            scale = g / fwd.total
        flat = xp.zeros((m, c), dtype=g.dtype)
        flat[xp.arange(m), fwd.safe] = -fwd.w * scale
        if len(shape) == 1:
            return flat[0]
        return xp.moveaxis(flat.reshape((shape[0],) + shape[2:] + (c,)), -1, 1)

    @staticmethod
    def backward(ctx, gg):
        f = ctx.fwd
        target = Tensor._make(f.safe.reshape(f.target_shape))
        weight_ignored = Tensor._make(f.w.reshape(-1))
        return NllWeighted.apply(gg, target, weight_ignored, f), None


class NllWeighted(Op):
    """NLLLoss with per-sample weights already resolved (double backward of NLLLoss)."""

    @staticmethod
    def forward(ctx, logp, target, w, fwd):
        xp = get_xp(logp)
        x, t = _flat(logp, target)
        losses = -x[xp.arange(t.shape[0]), t] * w
        ctx.fwd = fwd
        if fwd.reduction == "none":
            return losses.reshape(fwd.target_shape)
        total = losses.sum()
        return xp.asarray(total if fwd.reduction == "sum" else total / fwd.total, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        return NllLossBackward.apply(g, ctx.fwd), None, None, None


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class-index targets, given log-probabilities."""
    _check_reduction(reduction)
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(
            f"expected scalar type Long but found {target.dtype.name.capitalize()}"
        )
    n_in, n_t = input._data.ndim, target._data.ndim
    if n_in == 1 and n_t != 0 or n_in > 1 and (
        n_t != n_in - 1 or input._data.shape[0] != target._data.shape[0]
        or input._data.shape[2:] != target._data.shape[1:]
    ):
        raise ValueError(
            f"Expected input batch_size ({input._data.shape[0] if n_in > 1 else 1}) to match "
            f"target batch_size ({target._data.shape[0] if n_t else 1})."
            if n_in == 2 and n_t == 1 else
            f"nll_loss: input of shape {list(input.shape)} does not match target of shape "
            f"{list(target.shape)}; expected target shape (N, d1, ...) for input (N, C, d1, ...)"
        )
    w = None
    if weight is not None:
        c = input._data.shape[1] if n_in > 1 else input._data.shape[0]
        if weight._data.shape != (c,):
            raise RuntimeError(
                f"weight tensor should be defined either for all {c} classes or no classes but "
                f"got weight tensor of shape: {list(weight.shape)}"
            )
        if weight.requires_grad:
            raise RuntimeError(
                "The function 'nll_loss_forward' is not differentiable with respect to argument "
                "'weight'. This input cannot have requires_grad True."
            )
        w = weight._data.astype(input._data.dtype, copy=False)
    return NllLoss.apply(input, target._data, w, reduction, ignore_index)


class MseLoss(Op):
    @staticmethod
    def forward(ctx, a, b, reduction):
        ctx.save_for_backward(a, b)
        d = a - b
        sq = d * d
        ctx.reduction, ctx.count = reduction, sq.size
        if reduction == "none":
            return sq
        return get_xp(sq).asarray(sq.sum() if reduction == "sum" else sq.mean(), dtype=sq.dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        diff = (a - b) * 2
        if ctx.reduction == "mean":
            diff = diff / max(ctx.count, 1)
        gd = g * diff
        return gd, -gd, None
