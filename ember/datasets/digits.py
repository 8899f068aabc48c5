"""The 8x8 handwritten digits (UCI, CC BY 4.0), shipped inside ember: no download needed.

Split (fixed, documented): the images are ordered by ``numpy.random.RandomState(0)
.permutation(1797)`` (NumPy's legacy generator, whose stream NumPy keeps frozen); the first
1,437 of that order are ``train=True``, the last 360 ``train=False``.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import ClassVar

import numpy as np

from ember._tensor import Tensor
from ember.utils.data.dataset import Dataset

_FILE = Path(__file__).parent / "data" / "digits.csv.gz"
N_TRAIN = 1437


def _load() -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(_FILE, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1]


class Digits(Dataset):
    """``(image, target)`` pairs: an 8x8 uint8 image on the 0..255 scale and its digit.

    As with torchvision's MNIST, ``transforms.ToTensor()`` turns the image into a float32
    ``(1, 8, 8)`` tensor in [0, 1]; ``data`` and ``targets`` hold the whole split as tensors.
    """

    classes: ClassVar[list[str]] = [str(i) for i in range(10)]

    def __init__(self, root: str | None = None, train: bool = True, transform=None,
                 target_transform=None, download: bool = False) -> None:
        pixels, labels = _load()
        order = np.random.RandomState(0).permutation(len(labels))
        part = order[:N_TRAIN] if train else order[N_TRAIN:]
        images = np.minimum(pixels[part] * 16, 255).astype(np.uint8)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.data = Tensor._make(images)
        self.targets = Tensor._make(labels[part].astype(np.int64))

    def __len__(self) -> int:
        return self.data._data.shape[0]

    def __getitem__(self, index: int):
        img = self.data._data[index]
        target = int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Split: {split}"]
        if self.transform is not None:
            lines.append("    StandardTransform\n" + f"Transform: {self.transform!r}")
        return "\n".join(lines)
