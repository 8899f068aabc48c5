"""ember's optional compiled kernels (``ember/_ckernels.c``), loaded through ctypes.

pip compiles the C file into the package when a compiler is there (the build is optional);
``kernels()`` is then the library with every function's argument types declared, else None
and the callers keep their NumPy paths.  ``call`` passes arrays as data pointers: the caller
guarantees contiguity and dtype (float32 everywhere).
"""
from __future__ import annotations

import ctypes

import numpy as np

_P, _L, _D, _I = ctypes.c_void_p, ctypes.c_long, ctypes.c_double, ctypes.c_int
_SIGNATURES = {  # name: (restype, argtypes)
    "wino_input": (_I, [_P, _P] + [_L] * 11),
    "wino_output": (_I, [_P, _L, _P, _P] + [_L] * 7),
    "wino_grad": (_I, [_P, _P] + [_L] * 8),
    "wino_filter": (None, [_P, _P, _L, _L]),
    "wino_filter_grad": (None, [_P, _P, _L, _L]),
    "norm_forward": (None, [_P] * 5 + [_L] * 3 + [_D]),
    "norm_backward": (None, [_P] * 4 + [_L] * 3),
    "affine_forward": (None, [_P] * 4 + [_L] * 3),
    "affine_backward": (None, [_P] * 6 + [_L] * 3),
    "layer_norm_forward": (None, [_P] * 6 + [_L] * 2 + [_D]),
    "layer_norm_backward": (None, [_P] * 10 + [_L] * 2),
    "gelu_forward": (None, [_P, _P, _L]),
    "gelu_backward": (None, [_P, _P, _P, _L]),
    "relu_forward": (None, [_P, _P, _L]),
    "relu_backward": (None, [_P, _P, _P, _L]),
    "maxpool2x2": (None, [_P] * 3 + [_L] * 5),
    "maxpool_grad": (None, [_P] * 3 + [_L] * 3),
    "conv_direct": (None, [_P] * 4 + [_L] * 10),
    "col2im2d": (None, [_P] * 2 + [_L] * 13),
    "lstm_forward": (None, [_P] * 9 + [_L] * 2 + [_P, _L]),
    "lstm_backward": (None, [_P] * 11 + [_L] * 2 + [_P, _L]),
    "sgd_step": (None, [_P] * 3 + [_L] + [_D] * 4 + [_L] * 3),
    "adam_step": (None, [_P] * 5 + [_L] + [_D] * 5 + [_L] * 2 + [_D] * 2),
}
_lib: list = []


def kernels():
    """The loaded library, or None where it was not built."""
    if not _lib:
        try:
            from ember import _ckernels

            lib = ctypes.CDLL(_ckernels.__file__)
            for name, (res, args) in _SIGNATURES.items():
                f = getattr(lib, name)
                f.restype, f.argtypes = res, args
        except (ImportError, OSError, AttributeError):
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
    """Kernel ``name`` on ``args``, arrays passed as their data pointers (kept referenced
    for the call) and None as NULL."""
    return getattr(kernels(), name)(*(a.ctypes.data if isinstance(a, np.ndarray) else a
                                      for a in args))


def elementwise(kernel: str, *arrays) -> np.ndarray:
    """An elementwise kernel's float32 result on same-shaped float32 C-order ``arrays``."""
    out = np.empty_like(arrays[-1])
    call(kernel, *arrays, out, out.size)
    return out
