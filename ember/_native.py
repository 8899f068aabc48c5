"""ember's optional compiled kernels (``ember/_ckernels.c``), a C extension module.

pip compiles the C file into the package when a compiler is there (the build is optional);
``kernels()`` is then the module, else None and the callers keep their NumPy paths.  Each
kernel takes arrays as C-contiguous buffers (or int addresses, or None for NULL) and plain
numbers; the caller guarantees dtype (float32 everywhere) and sizes.
"""
from __future__ import annotations

import numpy as np

_lib: list = []


def kernels():
    """The compiled module, or None where it was not built."""
    if not _lib:
        try:
            from ember import _ckernels as lib
        except ImportError:
            lib = None
        _lib.append(lib)
    return _lib[0]


def takes(*arrays, dtype=np.float32) -> bool:
    """Whether the kernels are loaded and take these arrays: NumPy arrays of ``dtype`` in C
    order."""
    return kernels() is not None and all(
        isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous
        for a in arrays)


def call(name: str, *args):
    """Kernel ``name`` on ``args`` (the caller keeps the arrays alive for the call)."""
    return getattr(kernels(), name)(*args)


def elementwise(kernel: str, *arrays) -> np.ndarray:
    """An elementwise kernel's float32 result on same-shaped float32 C-order ``arrays``."""
    out = np.empty_like(arrays[-1])
    call(kernel, *arrays, out, out.size)
    return out
