"""``ember.cuda``: the CUDA device queries tutorials use (``is_available`` and friends).

ember computes on NVIDIA GPUs through CuPy; without CuPy or a GPU these report no device.
"""
from __future__ import annotations

from ember import _device as D


def is_available() -> bool:
    return D.cuda_available()


def device_count() -> int:
    if not D.cuda_available():
        return 0
    return D._cupy.cuda.runtime.getDeviceCount()


def _require() -> None:
    if not D.cuda_available():
        raise RuntimeError(
            "Torch not compiled with CUDA enabled: ember needs CuPy and an NVIDIA GPU for CUDA"
        )


def current_device() -> int:
    _require()
    return D._cupy.cuda.runtime.getDevice()


def set_device(device) -> None:
    _require()
    d = D.as_device(device) if not isinstance(device, int) else D.device("cuda", device)
    D._cupy.cuda.runtime.setDevice(d.index or 0)


def synchronize(device=None) -> None:
    if D.cuda_available():
        D._cupy.cuda.Device().synchronize()


def get_device_name(device=None) -> str:
    _require()
    idx = 0 if device is None else D.as_device(device).index or 0
    name = D._cupy.cuda.runtime.getDeviceProperties(idx)["name"]
    return name.decode() if isinstance(name, bytes) else name


def manual_seed(seed: int) -> None:
    """Random tensors are drawn on the CPU and moved, so the CPU seed covers CUDA too."""
    from ember.random import manual_seed as cpu_seed

    cpu_seed(seed)


manual_seed_all = manual_seed


def empty_cache() -> None:
    if D.cuda_available():
        D._cupy.get_default_memory_pool().free_all_blocks()
