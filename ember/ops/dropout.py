"""Dropout, channel (feature) dropout and alpha dropout.

Masks are drawn from ember's default generator, so ``ember.manual_seed`` makes them repeatable.
They are NumPy PCG64 draws, not PyTorch's bits: for the same seed the dropped positions differ
from PyTorch's, while the distribution, the 1/(1-p) scaling, the p=0 / p=1 / eval cases and the
gradient (the same mask, scaled) are PyTorch's.  The mask multiplies the input as a constant, so
the backward (and double backward) is that of a product.
"""
from __future__ import annotations

import math
import warnings

from ember import random as R
from ember._device import get_xp
from ember._tensor import Tensor
from ember.ops.pointwise import _need_tensor, _type_name

# -selu's saturation value, scale * alpha: where alpha dropout sends dropped units
_ALPHA = 1.7580993408473766


def _check_p(p: float, error: type = ValueError) -> None:
    if p < 0.0 or p > 1.0:
        raise error(f"dropout probability has to be between 0 and 1, but got {p}")


def _masked(input: Tensor, factor: Tensor, shift: Tensor | None) -> Tensor:
    out = input * factor
    return out if shift is None else out + shift


def dropout_impl(input: Tensor, p: float, train: bool, inplace: bool, *, feature: bool = False,
                  batched: bool = True, alpha: bool = False) -> Tensor:
    """``torch.dropout`` and the shared path of the ``nn.functional`` forms (which first raise
    ValueError for a bad p; here it is PyTorch's RuntimeError): identity unless training with
    0 < p; zeros for p = 1; else a drawn mask.

    ``feature`` draws one keep/drop per channel (dim 1 if ``batched``, else dim 0) instead of
    one per element; ``alpha`` keeps mean and variance (of selu outputs) as alpha dropout does.
    """
    _need_tensor("dropout", input)
    _check_p(p, RuntimeError)
    x = input._data
    if p == 0 or not train or x.size == 0:
        return input
    if x.dtype.kind != "f":
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type "
            f"{_type_name(input.dtype)}"
        )
    xp = get_xp(x)
    shape = x.shape
    if feature:
        if batched and x.ndim < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        lead = 2 if batched else 1
        shape = shape[:lead] + (1,) * (x.ndim - lead)
    shift = None
    if p == 1:
        factor = Tensor._make(xp.zeros((), x.dtype))
    else:
        keep = R.rng(None).random(shape) >= p
        if alpha:
            a = 1 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
            factor = keep * a
            shift = Tensor._make(xp.asarray(((keep - 1.0) * a + a * p) * _ALPHA, x.dtype))
        else:
            factor = keep / (1 - p)
        factor = Tensor._make(xp.asarray(factor.astype(x.dtype)))
    if inplace:
        return input._inplace(_masked, factor, shift)
    return _masked(input, factor, shift)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) while training."""
    _check_p(p)
    return dropout_impl(input, p, training, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for selu networks: dropped units take selu's saturation value and an affine map
    restores zero mean and unit variance."""
    _check_p(p)
    return dropout_impl(input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels of a batched (N, C, ...) input."""
    _check_p(p)
    return dropout_impl(input, p, training, inplace, feature=True, alpha=True)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, L) or unbatched (C, L) inputs."""
    _check_p(p)
    _need_tensor("dropout1d", input)
    nd = input._data.ndim
    if nd not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs)."
        )
    return dropout_impl(input, p, training, inplace, feature=True, batched=nd == 3)


def _deprecated_rank(name: str, nd: int, spatial: int) -> None:
    warnings.warn(
        f"{name}: Received a {nd}-D input to {name}, which is deprecated and will result in an "
        "error in a future release. To retain the behavior and silence this warning, please "
        f"use dropout instead. Note that {name} exists to provide channel-wise dropout on "
        f"inputs with {spatial} spatial dimensions, a channel dimension, and an optional batch "
        f"dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).",
        UserWarning,
        stacklevel=3,
    )


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, H, W) inputs; a 3D input is taken as (N, C, L), as PyTorch
    does (with its warning)."""
    _check_p(p)
    _need_tensor("dropout2d", input)
    nd = input._data.ndim
    if nd not in (3, 4):
        _deprecated_rank("dropout2d", nd, 2)
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    return dropout_impl(input, p, training, inplace, feature=True)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout of (N, C, D, H, W) or unbatched (C, D, H, W) inputs."""
    _check_p(p)
    _need_tensor("dropout3d", input)
    nd = input._data.ndim
    if nd not in (4, 5):
        _deprecated_rank("dropout3d", nd, 3)
    return dropout_impl(input, p, training, inplace, feature=True, batched=nd == 5)


__all__ = [
    "alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout",
]
