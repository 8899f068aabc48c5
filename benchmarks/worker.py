"""One framework's side of the benchmarks, in a process of its own.

``python -m benchmarks.worker FRAMEWORK`` (ember, torch or numpy) imports only that framework
and answers JSON-line requests on stdin (``build``, ``run``, ``info``, ``quit``) on stdout, so
the runner can drive an ember worker and a torch worker in turn (A B A B ...) without either
framework's threads competing with the other inside one process (torch's OpenMP threads keep
spinning after each parallel region, and NumPy's OpenBLAS threads likewise).

``python -m benchmarks.worker FRAMEWORK --memory NAME`` instead prints the peak resident
memory of NAME's steps (see ``memory_probe``).
"""
from __future__ import annotations

import gc
import importlib
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

from benchmarks.workloads import WORKLOADS, Skip

THREADS = 2  # the default of OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS


def load(framework: str):
    """Import the framework; torch gets ``set_num_threads`` equal to the BLAS threads NumPy
    uses (OMP_NUM_THREADS, which the runner sets to ``THREADS`` unless already set)."""
    t = importlib.import_module(framework)
    if framework == "torch":
        t.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", str(THREADS))))
    return t


def info(framework: str, t) -> dict:
    out = {"version": t.__version__}
    if framework == "torch":
        out["threads"] = t.get_num_threads()
    if framework in ("ember", "numpy"):
        import numpy as np
        try:
            out["blas"] = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
        except (KeyError, TypeError):
            out["blas"] = "unknown"
    return out


def _scalar(value) -> float | None:
    try:
        return float(value.detach().sum()) if hasattr(value, "detach") else None
    except (TypeError, ValueError, RuntimeError):
        return None


def _status_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def serve(framework: str) -> None:
    """Answer requests until ``quit`` or end of input; anything printed goes to stderr."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    t = load(framework)
    step = None

    def reply(**kw) -> None:
        out.write(json.dumps(kw) + "\n")
        out.flush()

    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["cmd"] == "info":
                reply(**info(framework, t))
            elif req["cmd"] == "build":
                step = None
                gc.collect()
                try:
                    step = WORKLOADS[req["name"]].build(t)
                except Skip as e:
                    reply(skip=str(e))
                    continue
                first = _scalar(step())
                warm = []
                for _ in range(max(req.get("warmup", 2), 1)):
                    t0 = time.perf_counter()
                    step()
                    warm.append(time.perf_counter() - t0)
                reply(first=first, warm_s=sorted(warm)[len(warm) // 2])
            elif req["cmd"] == "run":
                times = []
                for _ in range(req["k"]):
                    t0 = time.perf_counter()
                    step()
                    times.append(time.perf_counter() - t0)
                reply(times=times)
            elif req["cmd"] == "quit":
                break
        except Exception:  # noqa: BLE001 - any failure goes back to the runner, which raises
            reply(error=traceback.format_exc())


MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=131072"


def memory_probe(name: str, framework: str) -> dict:
    """Peak resident memory of 3 steps above the resident memory before them (Linux only).

    Run in a fresh process started with ``MALLOC_TUNABLES`` in ``GLIBC_TUNABLES``: every block
    of 64 KiB or more is mapped on its own and returned at once when freed, so the resident set
    follows the live arrays of both frameworks (NumPy and torch's CPU allocator both use
    malloc) instead of keeping freed heap pages.  A first instance is built, stepped twice and
    dropped, so one-time set-up (thread pools, code paged in, caches) is not counted; then a
    second one is built (model, inputs, optimizer), the peak (VmHWM) is reset through
    /proc/self/clear_refs and it runs 3 steps.  The figure is the peak above the RSS before the
    steps: activations, saved tensors, gradients, optimizer state and temporaries.
    """
    t = load(framework)
    build = WORKLOADS[name].build
    try:
        step = build(t)
    except Skip as e:
        return {"skip": str(e)}
    step()
    step()
    del step
    gc.collect()
    step = build(t)
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError as e:
        return {"error": f"cannot reset the RSS peak: {e}"}
    base = _status_kib("VmRSS")
    for _ in range(3):
        step()
    return {"peak_bytes": (_status_kib("VmHWM") - base) * 1024, "base_bytes": base * 1024}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    framework = argv[0]
    if len(argv) == 3 and argv[1] == "--memory":
        print(json.dumps(memory_probe(argv[2], framework)))
    else:
        serve(framework)
    return 0


if __name__ == "__main__":
    sys.exit(main())
