"""``ember.transforms``: the torchvision transforms that images of ember's datasets need.

Images are NumPy arrays (H x W or H x W x C, as datasets return them) or tensors (C x H x W).
Random transforms draw from ember's default generator, so ``manual_seed`` fixes them.
"""
from __future__ import annotations

import numbers

import numpy as np

from ember import random as R
from ember._dtype import get_default_dtype
from ember._tensor import Tensor


def _size2(size) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    return int(size[0]), int(size[1])


class Compose:
    """Apply transforms one after another."""

    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """H x W (x C) array -> C x H x W tensor; uint8 is scaled to [0, 1] in the default dtype."""

    def __call__(self, pic) -> Tensor:
        if isinstance(pic, Tensor):
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        a = np.asarray(pic)
        if a.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {a.ndim} dimensions.")
        if a.ndim == 2:
            a = a[:, :, None]
        a = np.ascontiguousarray(a.transpose(2, 0, 1))
        if a.dtype == np.uint8:
            return Tensor._make((a / 255.0).astype(get_default_dtype().np))
        return Tensor._make(a)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """Per channel: (x - mean) / std, on a C x H x W (or N x C x H x W) tensor."""

    def __init__(self, mean, std, inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Input tensor should be a torch tensor. Got {type(tensor)}.")
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        dt = tensor._data.dtype
        mean = np.asarray(self.mean, dtype=dt).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=dt).reshape(-1, 1, 1)
        if (std == 0).any():
            raise ValueError(
                f"std evaluated to zero after conversion to {tensor.dtype}, leading to division "
                "by zero."
            )
        if self.inplace:
            tensor._data -= mean
            tensor._data /= std
            tensor._vc[0] += 1
            return tensor
        return (tensor - Tensor._make(mean)) / Tensor._make(std)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply a user function."""

    def __init__(self, lambd) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _hw(img) -> tuple[int, int]:
    """Height and width of an array image (H, W[, C]) or a tensor image (..., H, W)."""
    if isinstance(img, Tensor):
        return img._data.shape[-2], img._data.shape[-1]
    return img.shape[0], img.shape[1]


def _crop(img, top: int, left: int, h: int, w: int):
    if isinstance(img, Tensor):
        return img[..., top:top + h, left:left + w]
    return img[top:top + h, left:left + w]


def _pad(img, pad: tuple[int, int, int, int], fill, mode: str):
    """Pad (left, top, right, bottom) with torchvision's padding modes."""
    left, top, right, bottom = pad
    np_mode = {"constant": "constant", "edge": "edge", "reflect": "reflect",
               "symmetric": "symmetric"}[mode]
    kw = {"constant_values": fill} if mode == "constant" else {}
    if isinstance(img, Tensor):
        widths = [(0, 0)] * (img.ndim - 2) + [(top, bottom), (left, right)]
        return Tensor._make(np.pad(img._data, widths, mode=np_mode, **kw))
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (img.ndim - 2)
    return np.pad(img, widths, mode=np_mode, **kw)


class RandomCrop:
    """Crop a random ``size`` window, after optional padding."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant") -> None:
        self.size = _size2(size)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, img):
        if self.padding is not None:
            p = self.padding
            if isinstance(p, numbers.Integral):
                p = (p, p, p, p)
            elif len(p) == 2:
                p = (p[0], p[1], p[0], p[1])
            img = _pad(img, tuple(p), self.fill, self.padding_mode)
        th, tw = self.size
        h, w = _hw(img)
        if self.pad_if_needed and (h < th or w < tw):
            dh, dw = max(th - h, 0), max(tw - w, 0)
            img = _pad(img, (dw, dh, dw, dh), self.fill, self.padding_mode)
            h, w = _hw(img)
        if h < th or w < tw:
            raise ValueError(
                f"Required crop size {(th, tw)} is larger than input image size {(h, w)}"
            )
        rng = R.rng(None)
        top = int(rng.integers(0, h - th + 1))
        left = int(rng.integers(0, w - tw + 1))
        return _crop(img, top, left, th, tw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img):
        if R.rng(None).random() >= self.p:
            return img
        if isinstance(img, Tensor):
            return Tensor._make(np.ascontiguousarray(img._data[..., ::-1]))
        return np.ascontiguousarray(img[:, ::-1])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class Resize:
    """Resize to ``size`` (an int resizes the shorter side) by bilinear or nearest sampling.

    Sampling follows ``interpolate(..., align_corners=False)`` without antialiasing.
    """

    def __init__(self, size, interpolation: str = "bilinear") -> None:
        self.size = size
        self.interpolation = str(interpolation).lower().rsplit(".", 1)[-1]
        if self.interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Resize supports bilinear and nearest, got {interpolation}")

    def _target(self, h: int, w: int) -> tuple[int, int]:
        if isinstance(self.size, numbers.Integral):
            s = int(self.size)
            return (s, int(s * w / h)) if h <= w else (int(s * h / w), s)
        return _size2(self.size)

    def __call__(self, img):
        is_tensor = isinstance(img, Tensor)
        a = img._data if is_tensor else np.asarray(img)
        h, w = (a.shape[-2], a.shape[-1]) if is_tensor else (a.shape[0], a.shape[1])
        th, tw = self._target(h, w)
        ys = (np.arange(th) + 0.5) * h / th - 0.5
        xs = (np.arange(tw) + 0.5) * w / tw - 0.5
        if not is_tensor:
            a = np.moveaxis(a if a.ndim == 3 else a[:, :, None], 2, 0)
        src = a.astype(np.float64)
        if self.interpolation == "nearest":
            yi = np.minimum(np.floor((np.arange(th)) * h / th).astype(int), h - 1)
            xi = np.minimum(np.floor((np.arange(tw)) * w / tw).astype(int), w - 1)
            out = src[..., yi[:, None], xi[None, :]]
        else:
            ys, xs = np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)
            y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
            y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
            wy, wx = (ys - y0)[:, None], (xs - x0)[None, :]
            out = (src[..., y0[:, None], x0[None, :]] * (1 - wy) * (1 - wx)
                   + src[..., y0[:, None], x1[None, :]] * (1 - wy) * wx
                   + src[..., y1[:, None], x0[None, :]] * wy * (1 - wx)
                   + src[..., y1[:, None], x1[None, :]] * wy * wx)
        if a.dtype == np.uint8:
            out = np.clip(np.round(out), 0, 255)
        out = out.astype(a.dtype)
        if is_tensor:
            return Tensor._make(out)
        out = np.moveaxis(out, 0, 2)
        return out[:, :, 0] if np.asarray(img).ndim == 2 else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation})"
