"""Small top-level queries of PyTorch's namespace that are not ops (``is_tensor`` ...)."""
from __future__ import annotations

from ember._tensor import Tensor


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_storage(obj) -> bool:
    return False


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def is_complex(input: Tensor) -> bool:
    return False


def is_nonzero(input: Tensor) -> bool:
    if input.numel() != 1:
        raise RuntimeError(
            "Boolean value of Tensor with more than one value is ambiguous"
            if input.numel() else "Boolean value of Tensor with no values is ambiguous"
        )
    return bool(input.item())


__all__ = ["is_complex", "is_floating_point", "is_nonzero", "is_storage", "is_tensor", "numel"]
