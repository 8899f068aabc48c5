"""Devices, and the array module (NumPy or CuPy) that computes on each.

Every op is written once against ``xp``; a tensor's device only decides which module that is.
"""
from __future__ import annotations

import numpy as np

try:  # CuPy is optional: present on NVIDIA machines, absent everywhere else.
    import cupy as _cupy
except Exception:  # noqa: BLE001 - a broken CUDA install must not break CPU use
    _cupy = None


class device:
    """``device('cpu')``, ``device('cuda')``, ``device('cuda:1')``, ``device('cuda', 1)``."""

    __slots__ = ("index", "type")

    def __init__(self, type: str | device, index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, int):
            type, index = "cuda", type
        elif ":" in type:
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in ("cpu", "cuda", "meta"):
            raise RuntimeError(
                "Expected one of cpu, cuda, meta device type at start of device string: " + type
            )
        self.type = type
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if not isinstance(other, device):  # as in PyTorch, device('cpu') != 'cpu'
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def as_device(d) -> device:
    """Normalise a device argument (str, int, device or None means CPU)."""
    if d is None:
        return CPU
    if isinstance(d, device):
        return d
    return device(d)


def cuda_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no driver means no GPU
        return False


def array_module(d: device):
    """The array module computing on device ``d``."""
    if d.type == "cpu":
        return np
    if d.type == "cuda":
        if not cuda_available():
            raise RuntimeError(
                "Torch not compiled with CUDA enabled: ember needs CuPy and an NVIDIA GPU for "
                "device 'cuda'; install cupy-cuda12x or use device='cpu'"
            )
        return _cupy
    raise RuntimeError(f"ember cannot compute on device '{d}'")


def device_of(array) -> device:
    """The device an array lives on."""
    if isinstance(array, np.ndarray):
        return CPU
    return device("cuda", array.device.id)


def get_xp(array):
    """The array module of an array (NumPy for NumPy arrays and scalars, else CuPy)."""
    if isinstance(array, np.ndarray) or _cupy is None:
        return np
    return _cupy.get_array_module(array)


def move(array, d: device):
    """Copy ``array`` to device ``d`` (no copy when it is already there)."""
    if device_of(array) == d or (d.type == "cuda" and d.index is None and device_of(array).type == "cuda"):
        return array
    if d.type == "cpu":
        return _cupy.asnumpy(array)
    xp = array_module(d)
    with xp.cuda.Device(d.index or 0):
        return xp.asarray(array)
