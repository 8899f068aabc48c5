"""Keep freed array memory in the process instead of handing it back to the OS after each op.

NumPy takes every array buffer from malloc.  glibc serves large blocks with ``mmap`` and trims
the top of the heap once a few megabytes there are free, so a training step that frees its
activations at the end gives their pages back, and the next step page-faults them in again,
once per 4 KiB page: about 0.3 ms per megabyte here, more than the arithmetic of a pass over
it.  Raising the two thresholds once at import makes later arrays reuse the heap, as PyTorch's
caching allocators reuse their blocks.  Resident memory then stays at the step's high-water
mark rather than dropping between steps; the peak itself does not grow.

Nothing is changed where the user already tuned malloc (``MALLOC_*_`` variables or a malloc
tunable in ``GLIBC_TUNABLES``), with ``EMBER_MALLOC_TRIM=0``, or off glibc.
"""
from __future__ import annotations

import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 256 << 20  # free heap kept before trimming
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed: bigger blocks are still mapped


def _user_tuned() -> bool:
    env = os.environ
    if env.get("EMBER_MALLOC_TRIM") == "0" or "glibc.malloc" in env.get("GLIBC_TUNABLES", ""):
        return True
    return any(k.startswith("MALLOC_") and k.endswith("_") for k in env)


def tune() -> bool:
    """Set the thresholds (once, at import); whether they were set."""
    if not sys.platform.startswith("linux") or _user_tuned():
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
