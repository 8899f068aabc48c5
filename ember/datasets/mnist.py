"""MNIST and Fashion-MNIST read from the IDX files on disk, in torchvision's shape.

ember never downloads: the four files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each gzipped or not) are looked up in
``root/<ClassName>/raw/`` (where torchvision keeps them, so an existing torchvision data folder
works) and then in ``root`` itself.  Fashion-MNIST with ``root=None`` uses the Debian package
``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist/``).
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import ClassVar

import numpy as np

from ember._tensor import Tensor
from ember.utils.data.dataset import Dataset

# IDX magic: two zero bytes, the element type (0x08 = uint8), the number of dimensions.
_IMAGES_MAGIC = 0x00000803
_LABELS_MAGIC = 0x00000801


def read_idx(path: str | Path, magic: int | None = None) -> np.ndarray:
    """Read one IDX file (uint8 elements; ``.gz`` decompressed) into an array, checking its header.

    ``magic`` (0x803 for images, 0x801 for labels) is checked when given; the file's length must
    equal the header's plus the product of its dimensions, so a truncated or wrong file fails
    here with its name instead of producing garbage later.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise RuntimeError(f"cannot read the IDX file {path}: {e}") from e
    if len(raw) < 4:
        raise RuntimeError(f"{path} is not an IDX file: {len(raw)} bytes, no 4-byte header")
    found = int.from_bytes(raw[:4], "big")
    if found >> 16 != 0 or (found >> 8) & 0xFF != 0x08 or not 1 <= found & 0xFF <= 3:
        raise RuntimeError(f"{path} is not a uint8 IDX file: magic number {found:#010x}")
    if magic is not None and found != magic:
        raise RuntimeError(f"{path} has magic number {found:#010x}, expected {magic:#010x} "
                           f"({'images' if magic == _IMAGES_MAGIC else 'labels'} file)")
    ndim = found & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise RuntimeError(f"{path} is truncated: {len(raw)} bytes, header needs {header}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        raise RuntimeError(f"{path} has {len(raw)} bytes but its header {shape} needs {expected}"
                           " (truncated or corrupt file)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


class MNIST(Dataset):
    """``(image, target)`` pairs: a 28x28 uint8 NumPy image and its class index.

    ``data`` (uint8, N x 28 x 28) and ``targets`` (int64) hold the whole split as tensors, as in
    torchvision; ``transforms.ToTensor()`` turns an image into a float32 ``(1, 28, 28)`` tensor.
    """

    classes: ClassVar[list[str]] = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
                                    "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    default_root: ClassVar[str | None] = None
    install_hint: ClassVar[str] = ""

    def __init__(self, root: str | Path | None, train: bool = True, transform=None,
                 target_transform=None, download: bool = False) -> None:
        if root is None and self.default_root is None:
            raise TypeError(f"{type(self).__name__}(root=None): give the folder that holds the "
                            "IDX files (ember does not download them)")
        self.root = str(root) if root is not None else self.default_root
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        images = self._find(f"{prefix}-images-idx3-ubyte", download)
        labels = self._find(f"{prefix}-labels-idx1-ubyte", download)
        data = read_idx(images, _IMAGES_MAGIC)
        targets = read_idx(labels, _LABELS_MAGIC)
        if data.ndim != 3 or targets.ndim != 1 or data.shape[0] != targets.shape[0]:
            raise RuntimeError(f"{images} holds {data.shape} and {labels} holds {targets.shape}:"
                               " expected N images (N x H x W) and N labels")
        self.data = Tensor._make(data)
        self.targets = Tensor._make(targets.astype(np.int64))

    @property
    def raw_folder(self) -> str:
        return str(Path(self.root) / type(self).__name__ / "raw")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _folders(self) -> list[Path]:
        return [Path(self.raw_folder), Path(self.root)]

    def _find(self, name: str, download: bool) -> Path:
        for folder in self._folders():
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.is_file():
                    return candidate
        places = " or ".join(str(f) for f in self._folders())
        why = ("ember never downloads datasets: download=True only accepts files already there. "
               if download else "")
        hint = f" ({self.install_hint})" if self.install_hint else ""
        raise RuntimeError(f"{type(self).__name__}: {name}[.gz] not found. {why}Put the files "
                           f"{name.split('-')[0]}-{{images-idx3,labels-idx1}}-ubyte[.gz] in "
                           f"{places}{hint}.")

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
        body = [f"Number of datapoints: {len(self)}", f"Root location: {self.root}",
                f"Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None or self.target_transform is not None:
            body.append(_standard_transform_repr(self.transform, self.target_transform))
        return "\n".join([f"Dataset {type(self).__name__}"] + ["    " + b for b in body])


def _standard_transform_repr(transform, target_transform) -> str:
    """torchvision's ``StandardTransform`` block: continuation lines aligned under the head."""
    lines = ["StandardTransform"]
    for head, t in (("Transform: ", transform), ("Target transform: ", target_transform)):
        if t is not None:
            rows = repr(t).splitlines()
            lines += [head + rows[0]] + [" " * len(head) + r for r in rows[1:]]
    return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: same files and shapes as MNIST, ten clothing classes.

    ``root=None`` reads the Debian package's copy in ``/usr/share/datasets/fashion-mnist/``.
    """

    classes: ClassVar[list[str]] = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    default_root: ClassVar[str | None] = "/usr/share/datasets/fashion-mnist"
    install_hint: ClassVar[str] = ("on Debian/Ubuntu `apt-get install dataset-fashion-mnist` "
                                   "provides them in /usr/share/datasets/fashion-mnist")

    def __init__(self, root: str | Path | None = None, train: bool = True, transform=None,
                 target_transform=None, download: bool = False) -> None:
        super().__init__(root, train, transform, target_transform, download)
