"""Run the independent blocks of one op on every core.

NumPy runs an op on one core, except a BLAS product, which BLAS spreads over its threads.  An
op that loops over blocks (a convolution copies each block's patches, multiplies them and
moves the result into place) therefore leaves all but one core idle for everything but the
products, and splits each product too finely.  ``parallel_for`` instead runs the blocks on as
many Python threads as BLAS has threads, with BLAS single-threaded meanwhile: NumPy releases
the GIL inside its copies, ufuncs and products, so the copies, the products and the moves all
use every core.

It needs to set BLAS's thread count at run time, which it does through the OpenBLAS that NumPy
loaded (found among the process's libraries, as NumPy's wheels ship it).  Without one, with a
single thread (``set_num_threads(1)``, ``EMBER_NUM_THREADS=1`` or ``OPENBLAS_NUM_THREADS=1``),
or inside a worker, blocks run in turn on the calling thread.
"""
from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence

_inside = threading.local()
_lock = threading.Lock()
_state: dict = {}


def _openblas():
    """(set_num_threads, get_num_threads, sgemm) of the OpenBLAS loaded in this process, or
    None; sgemm is (address of its cblas_sgemm, whether its integers are 64-bit) or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[-1].strip() for line in maps if "openblas" in line}
    except OSError:
        return None
    for path in sorted(paths, key=lambda p: ("numpy" not in p, p)):  # NumPy's own first
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, index in (("scipy_openblas_", "64_", ctypes.c_int64),
                                      ("openblas_", "64_", ctypes.c_int64),
                                      ("openblas_", "", ctypes.c_int)):
            setter = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
            getter = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [index], None
                getter.argtypes, getter.restype = [], index
                gemm = getattr(lib, f"{prefix.replace('openblas_', '')}cblas_sgemm{suffix}", None)
                gemm = (ctypes.cast(gemm, ctypes.c_void_p).value, index is ctypes.c_int64
                        ) if gemm is not None else None
                return setter, getter, gemm
    return None


def blas_sgemm():
    """(address of the cblas_sgemm NumPy's OpenBLAS exports, whether its integers are 64-bit),
    for compiled kernels that multiply inside their loops; None without one."""
    workers()
    return _state["blas"][2] if _state["blas"] else None


def workers() -> int:
    """How many threads ``parallel_for`` uses: BLAS's thread count, or ``EMBER_NUM_THREADS``
    (which then sets BLAS's too); 1 when BLAS's count cannot be set."""
    if "workers" not in _state:
        blas = _openblas()
        _state["blas"] = blas
        _state["workers"] = max(1, int(blas[1]())) if blas else 1
        env = os.environ.get("EMBER_NUM_THREADS")
        if env and env.isdigit() and int(env) > 0:
            set_num_threads(int(env))
    return _state["workers"]


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for CPU work: BLAS's products and ember's blocks (``parallel_for``)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    workers()
    if _state["blas"]:
        _state["blas"][0](n)
        _state["workers"] = n


def get_num_threads() -> int:
    """The number of threads used for CPU work (see ``set_num_threads``)."""
    return workers()


def _pool():
    # a pool made before a fork has no threads in the child, and one made before
    # set_num_threads may have too few: make a new one
    key = (os.getpid(), workers())
    if _state.get("pool_key") != key:
        if "pool" in _state and _state["pool_key"][0] == key[0]:
            _state["pool"].shutdown(wait=False)
        from concurrent.futures import ThreadPoolExecutor  # not at import: it costs ~10 ms

        _state["pool"] = ThreadPoolExecutor(key[1] - 1, thread_name_prefix="ember")
        _state["pool_key"] = key
    return _state["pool"]


def parallel_for(fn: Callable, parts: Sequence, enabled: bool = True) -> list:
    """``fn(share)`` for each thread's share of ``parts`` (dealt round-robin to ``workers()``
    threads, the caller being one), with BLAS single-threaded meanwhile; the list of what each
    call returned.  ``fn`` must only write what its parts own (disjoint slices of an output).
    With ``enabled`` false (arrays not on the CPU) it is ``[fn(parts)]``."""
    n = min(workers(), len(parts))
    if not enabled or n < 2 or getattr(_inside, "flag", False):
        return [fn(parts)]

    def run(k: int):
        _inside.flag = True
        try:
            return fn(parts[k::n])
        finally:
            _inside.flag = False

    setter, getter, _ = _state["blas"]
    with _lock:  # one parallel region at a time: BLAS's thread count is process-wide
        before = getter()
        setter(1)
        try:
            futures = [_pool().submit(run, k) for k in range(1, n)]
            try:
                mine = run(0)
            finally:
                for f in futures:
                    f.exception()  # waits, whether or not it raised
            return [mine] + [f.result() for f in futures]
        finally:
            setter(before)
