"""The benchmark runner: interleaved ember/torch timing, memory, the table and the result files."""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import ember
from benchmarks.workloads import WORKLOADS, Skip

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
THREADS = 2


# ---------------------------------------------------------------- measurement helpers

def interleaved(fns: dict[str, Callable[[], object]], iters: int, warmup: int,
                budget_s: float) -> dict[str, float]:
    """Median seconds per call of each function, called in turn (A B A B ...) after warm-up.

    Stops early (after at least 3 rounds) once ``budget_s`` is spent, so slow workloads stay
    bounded; the number of rounds done is returned under ``"iters"``.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    gc.collect()
    start = time.perf_counter()
    for i in range(iters):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
        if i >= 2 and time.perf_counter() - start > budget_s:
            break
    out = {k: statistics.median(v) for k, v in times.items()}
    out["iters"] = len(times[next(iter(fns))])
    return out


def traced_peak(step: Callable[[], None]) -> int:
    """Bytes tracemalloc sees at the peak of one step, above the level before it.

    NumPy reports its array buffers to tracemalloc, so for ember this covers the arrays of the
    forward, the graph and the backward (plus Python objects); torch's allocator is invisible
    to it, which is why torch is measured only by resident memory (``rss_peak``).
    """
    tracemalloc.start()
    try:
        step()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _status_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def probe_memory(name: str, framework: str) -> dict:
    """Run in a fresh process: peak resident memory of building the workload and 3 steps.

    A first instance is built, stepped once and dropped, so the libraries' one-time set-up
    (thread pools, kernels' caches) is not counted; then the peak (VmHWM) is reset through
    /proc/self/clear_refs and a second instance is built and stepped 3 times.  The figure is
    that peak above the RSS before it: model, inputs, optimizer state, activations and
    gradients (heap memory freed by the first instance and reused is not counted); Linux only.
    """
    t = ember if framework == "ember" else torch
    WORKLOADS[name].build(t)()
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError as e:
        return {"rss_peak_bytes": None, "why": f"cannot reset the RSS peak: {e}"}
    base = _status_kib("VmRSS")
    step = WORKLOADS[name].build(t)
    for _ in range(3):
        step()
    return {"rss_peak_bytes": (_status_kib("VmHWM") - base) * 1024}


def rss_peak(name: str, framework: str) -> int | None:
    cmd = [sys.executable, "-m", "benchmarks", "--probe-memory", name, "--framework", framework]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print(f"  memory probe {name}/{framework} failed: {res.stderr.strip()[-300:]}")
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])["rss_peak_bytes"]


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


# ---------------------------------------------------------------- workloads

def run_steps(name: str, quick: bool) -> list[dict]:
    w = WORKLOADS[name]
    try:
        steps = {"ember": w.build(ember), "torch": w.build(torch)}
    except Skip as e:
        return [{"workload": name, "skipped": str(e)}]
    iters = w.quick_iters if quick else w.iters
    res = interleaved(steps, iters, warmup=1 if quick else 3, budget_s=5 if quick else 30)
    row = {"workload": name, "what": w.doc, "iters": res["iters"], "ember_s": res["ember"],
           "torch_s": res["torch"], "ratio": res["ember"] / res["torch"],
           "ember_traced_peak_bytes": traced_peak(steps["ember"])}
    if not quick:
        row["ember_rss_peak_bytes"] = rss_peak(name, "ember")
        row["torch_rss_peak_bytes"] = rss_peak(name, "torch")
    return [row]


def _matmul_fns(a: np.ndarray, b: np.ndarray) -> dict[str, Callable[[], object]]:
    ea, eb, ta, tb = ember.tensor(a), ember.tensor(b), torch.tensor(a), torch.tensor(b)
    return {"ember": lambda: ea @ eb, "torch": lambda: ta @ tb, "numpy": lambda: a @ b}


def run_matmul(quick: bool) -> list[dict]:
    rows = []
    for n in (1024, 2048):
        rng = np.random.default_rng(0)
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        res = interleaved(_matmul_fns(a, b), 3 if quick else (20 if n == 1024 else 10), warmup=1,
                          budget_s=5 if quick else 20)
        flop = 2 * n ** 3
        rows.append({
            "workload": f"matmul_{n}", "what": f"float32 {n}x{n} @ {n}x{n}",
            "iters": res["iters"], "ember_s": res["ember"], "torch_s": res["torch"],
            "numpy_s": res["numpy"], "ratio": res["ember"] / res["torch"],
            "gflops": {k: flop / res[k] / 1e9 for k in ("ember", "torch", "numpy")}})
    return rows


def run_import(quick: bool) -> list[dict]:
    cmds = {k: [sys.executable, "-c", f"import {k}"] for k in ("ember", "torch")}
    res = interleaved({k: (lambda c=c: wall(c)) for k, c in cmds.items()}, 2 if quick else 5,
                      warmup=1, budget_s=60)
    return [{"workload": "import", "what": "wall time of python -c 'import X' (subprocess)",
             "iters": res["iters"], "ember_s": res["ember"], "torch_s": res["torch"],
             "ratio": res["ember"] / res["torch"]}]


def run_demo(quick: bool) -> list[dict]:
    epochs = ["--epochs", "1", "--target", "0"] if quick else []
    cmds = {"ember": [sys.executable, "-m", "ember.examples.train", *epochs],
            "torch": [sys.executable, "-m", "benchmarks.torch_train", *epochs]}
    res = interleaved({k: (lambda c=c: wall(c)) for k, c in cmds.items()}, 1 if quick else 3,
                      warmup=0, budget_s=120)
    return [{"workload": "demo", "what": "wall time of python -m ember.examples.train vs the "
             "same loop in torch (benchmarks/torch_train.py)" + (", 1 epoch" if quick else ""),
             "iters": res["iters"], "ember_s": res["ember"], "torch_s": res["torch"],
             "ratio": res["ember"] / res["torch"]}]


def _steps(name: str) -> Callable[[bool], list[dict]]:
    return lambda quick: run_steps(name, quick)


RUNNERS: dict[str, Callable[[bool], list[dict]]] = {
    "mlp_train": _steps("mlp_train"), "cnn_train": _steps("cnn_train"),
    "inference": _steps("inference"), "matmul": run_matmul,
    "op_overhead": _steps("op_overhead"), "import": run_import, "demo": run_demo,
}
RUNNERS.update({n: _steps(n) for n in WORKLOADS if n not in RUNNERS})


# ---------------------------------------------------------------- reporting

def machine() -> dict:
    cpu = platform.processor()
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except (KeyError, TypeError):
        blas = "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "numpy": np.__version__, "blas": blas,
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS"),
            "platform": platform.platform(),
            "load_average_1min_at_start": round(os.getloadavg()[0], 2)}


def _time(s: float | None) -> str:
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _mib(b: int | None) -> str:
    return "-" if b is None else f"{b / 2 ** 20:.1f}"


HEADER = ["workload", "ember", "torch", "ember/torch", "ember traced MiB", "ember RSS MiB",
          "torch RSS MiB", "note"]


def table_rows(rows: list[dict]) -> list[list[str]]:
    out = []
    for r in rows:
        if "skipped" in r:
            out.append([r["workload"], "-", "-", "-", "-", "-", "-", f"skipped: {r['skipped']}"])
            continue
        note = f"{r['iters']} iters"
        if "gflops" in r:
            g = r["gflops"]
            note += f"; GFLOP/s ember {g['ember']:.0f}, torch {g['torch']:.0f}, " \
                    f"numpy {g['numpy']:.0f}"
        out.append([r["workload"], _time(r["ember_s"]), _time(r["torch_s"]),
                    f"{r['ratio']:.2f}", _mib(r.get("ember_traced_peak_bytes")),
                    _mib(r.get("ember_rss_peak_bytes")), _mib(r.get("torch_rss_peak_bytes")),
                    note])
    return out


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(HEADER, *rows)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    lines = [HEADER, ["-" * w for w in widths], *rows]
    return "\n".join(fmt.format(*r).rstrip() for r in lines)


METHOD = """\
Times are the median seconds per iteration, with ember and torch called in turn (A B A B ...)
in one process after warm-up; torch runs with torch.set_num_threads(2) and NumPy's BLAS with
OPENBLAS_NUM_THREADS/OMP_NUM_THREADS/MKL_NUM_THREADS=2 (unless already set).  ember/torch > 1
means ember is slower.  Memory: "ember traced" is tracemalloc's peak during one step above the
level before it (NumPy reports its buffers to tracemalloc); "RSS" is the peak resident memory
(VmHWM, reset through /proc/self/clear_refs) of building the workload and running 3 steps,
above the RSS before, each framework in its own fresh process where one instance was already
built, stepped and dropped, so one-time library set-up is not counted (full runs only, not
--quick).  import and demo are wall times of subprocesses."""


LOAD_NOTE = ("The load averages under Machine show whether other processes shared the CPU "
             "during the run; when they exceed the core count the times are noisy, torch's "
             "OpenMP threads suffering most.")


def markdown(rows: list[dict], info: dict, quick: bool) -> str:
    lines = ["# ember vs PyTorch benchmarks", "",
             (f"Generated by `python -m benchmarks{' --quick' if quick else ''}` on "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."), "", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += ["", "## Results", "", "| " + " | ".join(HEADER) + " |",
              "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(rows)]
    lines += ["", "## Workloads", ""]
    lines += [f"- `{r['workload']}`: {r.get('what', r.get('skipped'))}" for r in rows]
    lines += ["", "## Method", "", METHOD, "", LOAD_NOTE, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description="ember vs PyTorch")
    p.add_argument("--quick", action="store_true", help="few iterations (a smoke run)")
    p.add_argument("--only", action="append", choices=sorted(RUNNERS), metavar="NAME",
                   help=f"run only this workload (repeatable): {', '.join(RUNNERS)}")
    p.add_argument("--out", type=Path, default=HERE, help="folder for results.json/.md")
    p.add_argument("--probe-memory", metavar="NAME", help=argparse.SUPPRESS)
    p.add_argument("--framework", choices=["ember", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    torch.set_num_threads(THREADS)
    if args.probe_memory:
        print(json.dumps(probe_memory(args.probe_memory, args.framework)))
        return 0

    info = machine()
    print("\n".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    rows: list[dict] = []
    for name in args.only or RUNNERS:
        print(f"running {name} ...", flush=True)
        new = RUNNERS[name](args.quick)
        for r in new:
            if "skipped" in r:
                print(f"  {r['workload']} skipped: {r['skipped']}")
        rows += new
    print(text_table(table_rows(rows)))
    info["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    busy = max(info["load_average_1min_at_start"], info["load_average_1min_at_end"])
    if busy > info["usable_cores"]:
        print(f"warning: load average {busy} > {info['usable_cores']} cores: other processes "
              "competed for the CPU, so these times are noisy (torch's OpenMP threads most)")
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"machine": info, "quick": args.quick, "method": METHOD, "results": rows}
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(rows, info, args.quick))
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0
