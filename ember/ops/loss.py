"""Loss ops: the differentiable pieces that ``nn.functional``'s losses are built from."""
from __future__ import annotations

import math
import warnings

import numpy as np

from ember._device import get_xp
from ember._tensor import Tensor
from ember.autograd.grad_mode import is_grad_enabled
from ember.ops.activation import logsigmoid
from ember.ops.base import Op
from ember.ops.pointwise import minimum, where, xlogy
from ember.ops.reduction import norm
from ember.ops.shape import broadcast_tensors

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _flat(logp, target):
    """(N, C, d1...) log-probabilities and (N, d1...) targets as (M, C) and (M,)."""
    xp = get_xp(logp)
    if logp.ndim == 1:
        return logp[None, :], xp.reshape(target, (1,))
    if logp.ndim == 2:  # already (M, C): skip moveaxis, whose argument checks cost ~5 us
        return logp, target
    c = logp.shape[1]
    return xp.moveaxis(logp, 1, -1).reshape(-1, c), target.reshape(-1)


def _class_weights(x, t, weight, ignore_index: int) -> tuple:
    """(targets with ignored ones set to 0, per-sample weights with ignored ones 0)."""
    xp = get_xp(x)
    c = x.shape[1]
    if t.size and not 0 <= ignore_index < c and 0 <= t.min() and t.max() < c:
        # the common case, every target a class and none ignored: two reductions
        return t, (weight[t] if weight is not None else xp.ones(t.shape, x.dtype))
    valid = t != ignore_index
    safe = xp.where(valid, t, 0)
    if valid.any() and (safe.min() < 0 or safe.max() >= c):
        bad = int(safe[(safe < 0) | (safe >= c)][0])
        raise IndexError(f"Target {bad} is out of bounds.")
    w = (weight[safe] if weight is not None else xp.ones(t.shape, x.dtype)) * valid
    return safe, w


def _reduce_nll(ctx, losses, target_shape, reduction: str, dtype):
    """Per-sample ``losses`` reduced as NLLLoss does (the mean divides by the weight sum)."""
    xp = get_xp(losses)
    ctx.reduction, ctx.target_shape = reduction, target_shape
    if reduction == "none":
        return losses.reshape(target_shape).astype(dtype)
    if reduction == "sum":
        return xp.asarray(losses.sum(), dtype=dtype)
    ctx.total = ctx.w.sum()
    return xp.asarray(losses.sum() / ctx.total, dtype=dtype)


class NllLoss(Op):
    """-w[t] * logp[t] per sample, reduced; ignored targets contribute nothing."""

    @staticmethod
    def forward(ctx, logp, target, weight, reduction, ignore_index):
        xp = get_xp(logp)
        x, t = _flat(logp, target)
        ctx.safe, ctx.w = _class_weights(x, t, weight, ignore_index)
        ctx.shape = logp.shape
        losses = -x[xp.arange(t.shape[0]), ctx.safe] * ctx.w
        return _reduce_nll(ctx, losses, target.shape, reduction, x.dtype)

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
        if len(shape) == 2:
            return flat
        return xp.moveaxis(flat.reshape((shape[0],) + shape[2:] + (c,)), -1, 1)

    @staticmethod
    def backward(ctx, gg):
        f = ctx.fwd
        target = Tensor._make(f.safe.reshape(f.target_shape))
        weight_ignored = Tensor._make(f.w.reshape(-1))
        return NllWeighted.apply(gg, target, weight_ignored, f), None


class CrossEntropy(Op):
    """``nll_loss(log_softmax(x, class dim), target)`` as one op (``F.cross_entropy`` with class
    indices): the log-softmax is never stored; the backward recomputes the softmax from the
    saved logits and writes (softmax - one_hot) * weight, one array.  Under create_graph the
    backward is the two ops' backwards in ember ops (differentiable again)."""

    def name(self) -> str:
        return "NllLossBackward0"

    @staticmethod
    def forward(ctx, logits, target, weight, reduction, ignore_index):
        xp = get_xp(logits)
        x, t = _flat(logits, target)
        ctx.safe, ctx.w = _class_weights(x, t, weight, ignore_index)
        ctx.shape = logits.shape
        m = x.max(axis=1, keepdims=True)
        e = x - m
        xp.exp(e, out=e)
        lse = xp.log(e.sum(axis=1))
        del e
        lse += m[:, 0]
        lse -= x[xp.arange(t.shape[0]), ctx.safe]
        lse *= ctx.w
        ctx.save_for_backward(logits)
        return _reduce_nll(ctx, lse, target.shape, reduction, x.dtype)

    @staticmethod
    def backward(ctx, g):
        (logits,) = ctx.saved_tensors
        dim = 1 if len(ctx.shape) > 1 else 0
        if is_grad_enabled():
            from ember.ops.activation import Softmax

            glogp = NllLossBackward.apply(g, ctx)
            return (glogp - Softmax.apply(logits, dim) * glogp.sum(dim, keepdim=True),
                    None, None, None, None)
        xp = get_xp(logits._data)
        x, _ = _flat(logits._data, ctx.safe)
        p = x - x.max(axis=1, keepdims=True)
        xp.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        rows = xp.arange(p.shape[0])
        p[rows, ctx.safe] -= 1
        ga = g._data
        if ctx.reduction == "none":
            coef = ctx.w * ga.reshape(-1)
        else:
            coef = ctx.w * (ga / ctx.total if ctx.reduction == "mean" else ga)
        p *= coef.astype(p.dtype, copy=False)[:, None]
        shape = ctx.shape
        if len(shape) == 1:
            return Tensor._make(p[0]), None, None, None, None
        if len(shape) > 2:
            p = xp.moveaxis(p.reshape((shape[0],) + shape[2:] + (shape[1],)), -1, 1)
        return Tensor._make(p), None, None, None, None


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
    reduction = _setup(size_average, reduce, reduction)
    return NllLoss.apply(input, target._data, _nll_args(input, target, weight), reduction,
                         ignore_index)


def cross_entropy_indices(input: Tensor, target: Tensor, weight: Tensor | None,
                          ignore_index: int, reduction: str) -> Tensor:
    """``nll_loss(log_softmax(input, class dim), target, ...)`` fused (see ``CrossEntropy``);
    ``reduction`` already resolved.  Half inputs keep the two-op path."""
    w = _nll_args(input, target, weight)
    if input._data.dtype.itemsize < 4 or input._data.size == 0:
        from ember.ops.activation import log_softmax

        logp = log_softmax(input, 1 if input._data.ndim > 1 else 0)
        return NllLoss.apply(logp, target._data, w, reduction, ignore_index)
    return CrossEntropy.apply(input, target._data, w, reduction, ignore_index)


def _nll_args(input: Tensor, target: Tensor, weight: Tensor | None):
    """Check NLLLoss's arguments as PyTorch does; the class weights as an array (or None)."""
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
    return w


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


def _legacy_reduction(size_average, reduce, reduction: str, emit: bool = True) -> str:
    """The ``reduction`` string that the deprecated ``size_average``/``reduce`` pair means."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "none" if not reduce else "mean" if size_average else "sum"
    if emit:
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{result}' "
            "instead.",
            UserWarning,
            stacklevel=3,
        )
    return result


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _size_warning(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


def _setup(size_average, reduce, reduction: str) -> str:
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    return reduction


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight=None) -> Tensor:
    """Mean absolute error."""
    reduction = _setup(size_average, reduce, reduction)
    _size_warning(input, target)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Quadratic below ``beta``, linear above: 0.5 d^2 / beta or |d| - beta / 2."""
    reduction = _setup(size_average, reduce, reduction)
    _size_warning(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = input - target
    z = d.abs()
    if beta == 0:
        return _reduce(z, reduction)
    loss = where(z < beta, d * d * (0.5 / beta), z - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """0.5 d^2 below ``delta``, delta (|d| - delta / 2) above (``delta`` times smooth L1)."""
    _check_reduction(reduction)
    _size_warning(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = input - target
    z = d.abs()
    loss = where(z < delta, d * d * 0.5, (z - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


_BCE_EPS = float(np.float32(1e-12))  # PyTorch's floor on x (1 - x), a float32 constant


class BinaryCrossEntropy(Op):
    """-(y log x + (1 - y) log(1 - x)) with each log clamped at -100, as PyTorch does."""

    @staticmethod
    def forward(ctx, x, y):
        xp = get_xp(x)
        if ((x < 0) | (x > 1)).any():
            raise RuntimeError(
                "binary_cross_entropy: all elements of input should be between 0 and 1; apply "
                "sigmoid first or use binary_cross_entropy_with_logits"
            )
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore"):
            lx = xp.maximum(xp.log(x), -100)
            l1x = xp.maximum(xp.log(1 - x), -100)
        return -(y * lx + (1 - y) * l1x)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = g * (x - y) / (x * (1 - x)).clamp_min(_BCE_EPS)
        if ctx.needs_input_grad[1]:
            gy = g * ((1 - x).log() - x.log())
        return gx, gy


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Cross entropy of probabilities ``input`` against binary (or soft) ``target``."""
    reduction = _setup(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    loss = BinaryCrossEntropy.apply(input, target.to(input.dtype))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross entropy in one overflow-free expression of the logits."""
    reduction = _setup(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    neg_logsig = -logsigmoid(input)
    if pos_weight is not None:
        neg_logsig = neg_logsig * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input + neg_logsig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: target (log target - input)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            UserWarning,
            stacklevel=2,
        )
    if reduction != "batchmean":
        _check_reduction(reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() != 0 else loss.sum()
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` counts under Poisson(rate = input or exp(input))."""
    reduction = _setup(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):
            stirling = target * target.log() - target + (target * (2 * math.pi)).log() * 0.5
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def _var_shape(input: Tensor, var: Tensor) -> Tensor:
    """``var`` as input's shape, one variance per sample, or one shared over the batch."""
    vs, s = tuple(var.shape), tuple(input.shape)
    if vs == s:
        return var
    if s[:-1] == vs:
        return var.unsqueeze(-1)
    if len(vs) == len(s) and (vs[:-1] == s[:-1] and vs[-1] == 1 or vs[1:] == s[1:] and vs[0] == 1):
        return var
    raise ValueError("var is of incorrect size")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """0.5 (log var + (input - target)^2 / var); var clamped at ``eps`` for the value only."""
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = Tensor._make(get_xp(input._data).full(input._data.shape, max(var, eps),
                                                    dtype=input._data.dtype))
    else:
        var = _var_shape(input, var)
        if (var._data < 0).any():
            raise ValueError("var has negative entry/entries")
        kept = var.detach()
        var = var + (kept.clamp_min(eps) - kept)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not valid")
    d = input - target
    loss = (var.log() + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _same_dim(name: str, *tensors: Tensor) -> None:
    if len({t.dim() for t in tensors}) != 1:
        shapes = ", ".join(str(list(t.shape)) for t in tensors)
        raise RuntimeError(
            f"{name}: all input tensors should have the same number of dimensions, got shapes "
            f"{shapes}"
        )


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1."""
    reduction = _setup(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() not in (1, 2) \
            or target.dim() != input1.dim() - 1:
        raise RuntimeError(
            f"cosine_embedding_loss: expected 1D or 2D inputs of equal rank and a target of one "
            f"dimension less, got input1 {list(input1.shape)}, input2 {list(input2.shape)}, "
            f"target {list(target.shape)}"
        )
    dim = input1.dim() - 1
    prod = (input1 * input2).sum(dim)
    sq1 = (input1 * input1).sum(dim) + 1e-12
    sq2 = (input2 * input2).sum(dim) + 1e-12
    cos = prod / (sq1 * sq2).sqrt()
    zero = cos.new_zeros(())
    loss = where(target == 1, 1 - cos, zero) + where(target == -1, (cos - margin).clamp_min(0),
                                                      zero)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -target (x1 - x2) + margin)."""
    reduction = _setup(size_average, reduce, reduction)
    _same_dim("margin_ranking_loss", input1, input2, target)
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """x where target is 1, max(0, margin - x) where it is -1."""
    reduction = _setup(size_average, reduce, reduction)
    zero = input.new_zeros(())
    loss = where(target != 1, (margin - input).clamp_min(0), zero) \
        + where(target != -1, input, zero)
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target x)): a smooth two-class hinge."""
    reduction = _setup(size_average, reduce, reduction)
    if target.requires_grad and is_grad_enabled():
        raise RuntimeError(
            "The function 'soft_margin_loss' is not differentiable with respect to argument "
            "'target'. This input cannot have requires_grad True."
        )
    return _reduce((-input * target).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """Per-class logistic loss averaged over the classes (last dimension)."""
    reduction = _setup(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    c = input.dim() - 1
    loss = loss.sum(c) / input.shape[c]
    return _reduce(loss, reduction)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """The p-norm of x1 - x2 + eps over the last dimension."""
    dim = max(x1.dim(), x2.dim(), 1) - 1
    return norm(x1 - x2 + eps, p, dim, keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between x1 and x2 along ``dim`` (norms floored at ``eps``).

    The floor changes the value only: like PyTorch, gradients flow as if it were not there.
    """
    x1, x2 = broadcast_tensors(x1, x2)
    n1 = norm(x1, 2, dim, True)
    n2 = norm(x2, 2, dim, True)
    k1, k2 = n1.detach(), n2.detach()
    n1 = n1 + (k1.clamp_min(eps) - k1)
    n2 = n2 + (k2.clamp_min(eps) - k2)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)), d the pairwise p-distance."""
    reduction = _setup(size_average, reduce, reduction)
    _same_dim("triplet_margin_loss", anchor, positive, negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)


def _class_targets(name: str, input: Tensor, target: Tensor) -> tuple:
    """(N, C) input and (N,) targets for a loss that takes (C)/() or (N, C)/(N)."""
    if input.dim() not in (1, 2) or target.dim() != input.dim() - 1 and not (
            input.dim() == 1 and target.dim() == 1 and target.shape[0] == 1) or (
            input.dim() == 2 and target.shape[0] != input.shape[0]):
        raise RuntimeError(
            f"{name}: expected input (C) with a 0-d target or (N, C) with target (N), got "
            f"input {list(input.shape)} and target {list(target.shape)}"
        )
    x = input if input.dim() == 2 else input.unsqueeze(0)
    t = target.reshape(-1)
    c = x.shape[1]
    if ((t._data < 0) | (t._data >= c)).any():
        raise RuntimeError(f"{name}: target out of range (expected class indices in [0, {c}))")
    return x, t


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """sum over j != y of max(0, margin - x[y] + x[j])^p (times weight[y]), divided by C."""
    reduction = _setup(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    x, t = _class_targets("multi_margin_loss", input, target)
    xy = x.gather(1, t.unsqueeze(1))
    z = x - xy + margin
    z = where(z > 0, z, z.new_zeros(()))  # only positive margins contribute, ties included
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight[t].unsqueeze(1)
    xp = get_xp(x._data)
    own = Tensor._make(t._data[:, None] == xp.arange(x.shape[1]))
    loss = z.masked_fill(own, 0).sum(1) / x.shape[1]
    if input.dim() == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])) / C.

    Each row of ``target`` lists class indices, ended by the first -1.
    """
    reduction = _setup(size_average, reduce, reduction)
    if input.dim() not in (1, 2) or target.shape != input.shape:
        raise RuntimeError(
            f"multilabel_margin_loss: expected input (C) or (N, C) and a target of the same "
            f"shape, got input {list(input.shape)} and target {list(target.shape)}"
        )
    x = input if input.dim() == 2 else input.unsqueeze(0)
    c = x.shape[1]
    t = target._data.reshape(x.shape)
    xp = get_xp(t)
    listed = xp.cumprod(t >= 0, axis=1).astype(bool)
    if (listed & (t >= c)).any():
        raise RuntimeError(
            f"multilabel_margin_loss: target class index out of range [0, {c})"
        )
    counts = ((t[:, :, None] == xp.arange(c)) & listed[:, :, None]).sum(1)
    pairs = counts[:, :, None] * (counts == 0)[:, None, :]
    hinge = 1 - x.unsqueeze(2) + x.unsqueeze(1)
    hinge = where(hinge > 0, hinge, hinge.new_zeros(()))
    loss = (hinge * Tensor._make(pairs.astype(x._data.dtype))).sum((1, 2)) / c
    if input.dim() == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def _lse(*terms):
    """log(sum(exp(terms))) elementwise, -inf where every term is -inf."""
    xp = get_xp(terms[0])
    m = terms[0]
    for t in terms[1:]:
        m = xp.maximum(m, t)
    safe = xp.where(xp.isfinite(m), m, 0)
    total = sum(xp.exp(t - safe) for t in terms)
    with np.errstate(divide="ignore"):
        return xp.log(total) + safe


def _shift(a, k: int, fill):
    """``a`` moved k places along the last axis (right for k > 0, left for k < 0), padded."""
    xp = get_xp(a)
    out = xp.full_like(a, fill)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


class CtcLoss(Op):
    """Connectionist temporal classification: -log p(target | input) by the forward algorithm.

    The recursions run in log space over the extended label sequence (blanks between and
    around the labels), vectorised over the batch and the label positions; only time loops.
    """

    @staticmethod
    def forward(ctx, lp, targets, in_len, tgt_len, blank, zero_infinity):
        xp = get_xp(lp)
        t_max, n, _ = lp.shape
        s_ext = 2 * (targets.shape[1] if targets.size else 0) + 1
        pos = xp.arange(s_ext)
        ext = xp.full((n, s_ext), blank, dtype=xp.int64)
        if s_ext > 1:
            ext[:, 1::2] = targets
        ext = xp.where(pos < 2 * tgt_len[:, None] + 1, ext, blank)
        skip = (pos >= 2) & (ext != blank) & (ext != _shift(ext, 2, blank))
        emit = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (t_max, n, s_ext)), axis=2)
        alpha = xp.full((t_max, n, s_ext), -xp.inf, dtype=lp.dtype)
        alpha[0, :, 0] = emit[0, :, 0]
        if s_ext > 1:
            alpha[0, :, 1] = xp.where(tgt_len > 0, emit[0, :, 1], -xp.inf)
        for t in range(1, t_max):
            a = alpha[t - 1]
            two = xp.where(skip, _shift(a, 2, -xp.inf), -xp.inf)
            alpha[t] = _lse(a, _shift(a, 1, -xp.inf), two) + emit[t]
        rows = xp.arange(n)
        last = alpha[xp.maximum(in_len - 1, 0), rows]
        end = 2 * tgt_len
        prev = xp.where(tgt_len > 0, last[rows, xp.maximum(end - 1, 0)], -xp.inf)
        nll = -_lse(last[rows, end], prev)
        nll = xp.where(in_len > 0, nll, xp.inf)
        ctx.save_for_backward(lp)
        ctx.ext, ctx.skip, ctx.emit, ctx.alpha, ctx.nll = ext, skip, emit, alpha, nll
        ctx.in_len, ctx.tgt_len, ctx.zero_infinity = in_len, tgt_len, zero_infinity
        if zero_infinity:
            return xp.where(xp.isinf(nll), 0, nll).astype(lp.dtype)
        return nll.astype(lp.dtype)

    @staticmethod
    def backward(ctx, g):
        (lp,) = ctx.saved_tensors
        return CtcLossBackward.apply(g, lp, ctx), None, None, None, None, None


class CtcLossBackward(Op):
    """PyTorch's CTC gradient: exp(lp) - (posterior of each class at each step).

    Like PyTorch it is written for ``log_softmax`` outputs (the exp(lp) term cancels in the
    softmax backward), so it is not the plain derivative w.r.t. arbitrary ``log_probs``.
    """

    @staticmethod
    def forward(ctx, g, lp, f):
        xp = get_xp(g)
        ext, skip, emit, nll = f.ext, f.skip, f.emit, f.nll
        t_max, n, c = lp.shape
        s_ext = ext.shape[1]
        rows = xp.arange(n)
        end = 2 * f.tgt_len
        beta = xp.full((t_max, n, s_ext), -xp.inf, dtype=lp.dtype)
        skip_from = _shift(skip, -2, False)
        b = xp.full((n, s_ext), -xp.inf, dtype=lp.dtype)
        for t in range(t_max - 1, -1, -1):
            two = xp.where(skip_from, _shift(b, -2, -xp.inf), -xp.inf)
            b = _lse(b, _shift(b, -1, -xp.inf), two) + emit[t]
            start = xp.full((n, s_ext), -xp.inf, dtype=lp.dtype)
            start[rows, end] = emit[t, rows, end]
            has = f.tgt_len > 0
            start[rows[has], end[has] - 1] = emit[t, rows[has], end[has] - 1]
            first = (f.in_len - 1 == t)[:, None]
            b = xp.where(first, start, xp.where((t < f.in_len - 1)[:, None], b, -xp.inf))
            beta[t] = b
        ab = f.alpha + beta
        peak = ab.max(axis=2, keepdims=True)
        peak = xp.where(xp.isfinite(peak), peak, 0)
        onehot = (ext[:, :, None] == xp.arange(c)).astype(lp.dtype)
        summed = xp.einsum("tns,nsc->tnc", xp.exp(ab - peak), onehot)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            post = summed * xp.exp(peak + nll[None, :, None] - lp)
            grad = xp.exp(lp) - post
        valid = xp.arange(t_max)[:, None] < f.in_len[None, :]
        if f.zero_infinity:
            valid = valid & ~xp.isinf(nll)[None, :]
        grad = xp.where(valid[:, :, None], grad, 0)
        return (grad * g[None, :, None]).astype(lp.dtype)

    @staticmethod
    def backward(ctx, gg):
        raise RuntimeError(
            "derivative for aten::_ctc_loss_backward is not implemented (ctc_loss supports "
            "first derivatives only)"
        )


def _lengths(name: str, lengths, n: int, xp):
    arr = lengths._data if isinstance(lengths, Tensor) else xp.asarray(lengths)
    arr = xp.asarray(arr).astype(xp.int64).reshape(-1)
    if arr.shape[0] != n:
        raise RuntimeError(f"{name} must be of size batch_size")
    return arr


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """CTC loss of (T, N, C) log-probabilities against padded (N, S) or concatenated targets."""
    _check_reduction(reduction)
    xp = get_xp(log_probs._data)
    batched = log_probs.dim() == 3
    if log_probs.dim() not in (2, 3):
        raise RuntimeError(
            f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), got "
            f"{list(log_probs.shape)}"
        )
    lp = log_probs if batched else log_probs.unsqueeze(1)
    t_max, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    in_len = _lengths("input_lengths", input_lengths, n, xp)
    tgt_len = _lengths("target_lengths", target_lengths, n, xp)
    if (in_len > t_max).any():
        raise RuntimeError(
            f"Expected input_lengths to have value at most {t_max}, but got value "
            f"{int(in_len.max())} (ctc_loss: input_lengths may not exceed log_probs' time axis)"
        )
    tg = targets._data.astype(xp.int64)
    if not batched:
        tg = tg.reshape(1, -1)
    s_max = int(tgt_len.max()) if n else 0
    if tg.ndim == 1:
        if int(tgt_len.sum()) > tg.shape[0]:
            raise RuntimeError(
                f"ctc_loss: target_lengths sum to {int(tgt_len.sum())} but the concatenated "
                f"targets hold {tg.shape[0]}"
            )
        offsets = xp.cumsum(tgt_len) - tgt_len
        idx = offsets[:, None] + xp.arange(s_max)
        tg = xp.where(xp.arange(s_max) < tgt_len[:, None], tg[xp.minimum(idx, max(tg.shape[0] - 1,
                                                                                   0))], blank)
    elif tg.shape[1] < s_max:
        raise RuntimeError(
            f"Expected tensor to have size at least {s_max} at dimension 1, but got size "
            f"{tg.shape[1]} for argument #2 'targets' (while checking arguments for ctc_loss)"
        )
    tg = tg[:, :s_max]
    listed = xp.arange(s_max) < tgt_len[:, None]
    if (listed & ((tg < 0) | (tg >= c))).any():
        raise RuntimeError(f"ctc_loss: target labels must lie in [0, {c})")
    loss = CtcLoss.apply(lp, tg, in_len, tgt_len, blank, zero_infinity)
    if reduction == "none":
        return loss if batched else loss.reshape(())
    if reduction == "sum":
        return loss.sum()
    div = Tensor._make(xp.maximum(tgt_len, 1).astype(loss._data.dtype))
    return (loss / div).mean()
