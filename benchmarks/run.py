"""The benchmark runner: ember and torch in separate worker processes, driven in turn.

This process imports neither framework.  For each step workload it asks a persistent ember
worker and a persistent torch worker (``benchmarks/worker.py``) to build it from the same NumPy
arrays, then alternates rounds between them (A B, B A, A B, ...), each round a few steps timed
one by one, so both see the same machine conditions; the figure is the median step time.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.worker import MALLOC_TUNABLES, THREADS
from benchmarks.workloads import WORKLOADS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    for var in THREAD_VARS:
        env.setdefault(var, str(THREADS))
    return env


class Worker:
    """A ``benchmarks.worker`` process for one framework, spoken to in JSON lines."""

    def __init__(self, framework: str) -> None:
        self.framework = framework
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", framework], cwd=REPO, env=child_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.framework} worker exited (code {self.proc.wait()}) "
                               f"on {req}; its stderr is above")
        ans = json.loads(line)
        if "error" in ans:
            raise RuntimeError(f"{self.framework} worker, {req}:\n{ans['error']}")
        return ans

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


class Pool:
    """One lazily started worker per framework, kept for the whole run."""

    def __init__(self) -> None:
        self.workers: dict[str, Worker] = {}

    def __getitem__(self, framework: str) -> Worker:
        if framework not in self.workers:
            self.workers[framework] = Worker(framework)
        return self.workers[framework]

    def close(self) -> None:
        for w in self.workers.values():
            w.close()
        self.workers.clear()


# ---------------------------------------------------------------- measurement

def interleaved_rounds(workers: list[Worker], warm_s: dict[str, float], quick: bool
                       ) -> dict[str, list[float]]:
    """Per-step times of each worker, taken in alternating rounds of about ``round_s`` each.

    Each round runs k steps in one worker (k from its warm-up time), then k in the next; the
    order flips every round.  Stops after ``budget_s`` once ``min_rounds`` are done.
    """
    round_s, budget_s, min_rounds, max_rounds = (0.1, 1.0, 2, 4) if quick else (0.25, 20.0, 6, 40)
    ks = {w.framework: max(1, min(500, round(round_s / max(warm_s[w.framework], 1e-7))))
          for w in workers}
    times: dict[str, list[float]] = {w.framework: [] for w in workers}
    start = time.perf_counter()
    for r in range(max_rounds):
        for w in (workers if r % 2 == 0 else workers[::-1]):
            times[w.framework] += w.ask(cmd="run", k=ks[w.framework])["times"]
        if r + 1 >= min_rounds and time.perf_counter() - start > budget_s:
            break
    return times


def memory_peak(name: str, framework: str) -> dict:
    """Run ``worker.memory_probe`` in a fresh process (malloc tuned, see its docstring)."""
    cmd = [sys.executable, "-m", "benchmarks.worker", framework, "--memory", name]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False,
                         env=child_env(GLIBC_TUNABLES=MALLOC_TUNABLES))
    if res.returncode != 0:
        print(f"  memory probe {name}/{framework} failed:\n{res.stderr.strip()[-1000:]}")
        return {"error": res.stderr.strip()[-1000:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_steps(pool: Pool, name: str, quick: bool, memory: bool) -> list[dict]:
    w = WORKLOADS[name]
    workers = [pool[f] for f in w.frameworks]
    built = {wk.framework: wk.ask(cmd="build", name=name, warmup=1 if quick else 5)
             for wk in workers}
    skipped = {f: b["skip"] for f, b in built.items() if "skip" in b}
    if skipped:
        return [{"workload": name, "what": w.doc,
                 "skipped": "; ".join(f"{f}: {s}" for f, s in skipped.items())}]
    times = interleaved_rounds(workers, {f: b["warm_s"] for f, b in built.items()}, quick)
    med = {f: statistics.median(v) for f, v in times.items()}
    row = {"workload": name, "what": w.doc, "steps": {f: len(v) for f, v in times.items()},
           "ember_s": med["ember"], "torch_s": med["torch"], "ratio": med["ember"] / med["torch"],
           "spread": {f: _iqr(v) / med[f] for f, v in times.items()},
           "first_value": {f: b["first"] for f, b in built.items()}}
    if "numpy" in med:
        flop = 2 * int(name.split("_")[1]) ** 3
        row["numpy_s"] = med["numpy"]
        row["gflops"] = {f: flop / s / 1e9 for f, s in med.items()}
        row["ember_vs_numpy"] = med["numpy"] / med["ember"]
    if w.training and memory:
        mem = {f: memory_peak(name, f) for f in ("ember", "torch")}
        row["memory"] = mem
        peaks = [mem[f].get("peak_bytes") for f in ("ember", "torch")]
        if None not in peaks and peaks[1] > 0:
            row["memory_ratio"] = peaks[0] / peaks[1]
    return [row]


def _iqr(v: list[float]) -> float:
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    return q[2] - q[0]


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=REPO, check=False, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=child_env())
    took = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return took


def interleaved_walls(cmds: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in cmds}
    keys = list(cmds)
    for r in range(rounds):
        for k in (keys if r % 2 == 0 else keys[::-1]):
            out[k].append(wall(cmds[k]))
    return out


def _wall_row(name: str, what: str, cmds: dict[str, list[str]], rounds: int) -> list[dict]:
    t = interleaved_walls(cmds, rounds)
    med = {k: statistics.median(v) for k, v in t.items()}
    return [{"workload": name, "what": what, "steps": {k: len(v) for k, v in t.items()},
             "ember_s": med["ember"], "torch_s": med["torch"],
             "ratio": med["ember"] / med["torch"]}]


def run_import(pool: Pool, quick: bool, memory: bool) -> list[dict]:
    cmds = {k: [sys.executable, "-c", f"import {k}"] for k in ("ember", "torch")}
    # pip byte-compiles an installed package (torch's wheel has its .pyc files); an
    # editable ember under PYTHONDONTWRITEBYTECODE=1 would compile its source every time
    compileall.compile_dir(REPO / "ember", quiet=1)
    wall(cmds["torch"])  # warm the file cache
    return _wall_row("import", "wall time of python -c 'import X' (subprocess), both "
                     "packages byte-compiled", cmds,
                     2 if quick else 5)


def run_demo(pool: Pool, quick: bool, memory: bool) -> list[dict]:
    epochs = ["--epochs", "1", "--target", "0"] if quick else []
    cmds = {"ember": [sys.executable, "-m", "ember.examples.train", *epochs],
            "torch": [sys.executable, "-m", "benchmarks.torch_train", *epochs]}
    what = ("wall time of python -m ember.examples.train vs the same loop in torch "
            "(benchmarks/torch_train.py)" + (", 1 epoch" if quick else ", 10 epochs"))
    return _wall_row("demo", what, cmds, 1 if quick else 3)


RUNNERS: dict[str, Callable[[Pool, bool, bool], list[dict]]] = {
    n: (lambda pool, quick, memory, n=n: run_steps(pool, n, quick, memory)) for n in WORKLOADS}
RUNNERS.update({"import": run_import, "demo": run_demo})
WALL_RUNNERS = ("import", "demo")


# ---------------------------------------------------------------- reporting

def machine() -> dict:
    cpu = platform.processor()
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "platform": platform.platform(),
            "threads": {v: child_env()[v] for v in THREAD_VARS},
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def _time(s: float | None) -> str:
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _mib(m: dict | None) -> str:
    if not m or m.get("peak_bytes") is None:
        return "-"
    return f"{m['peak_bytes'] / 2 ** 20:.1f}"


HEADER = ["workload", "ember", "torch", "ember/torch", "ember MiB", "torch MiB",
          "memory ember/torch", "target met", "note"]

# issue 5's targets: the most ember/torch time may be (matmul: the least ember/NumPy GFLOP/s)
TIME_TARGETS = {"mlp_train": 1.0, "cnn_train": 1.5, "resnet_block_train": 1.5, "inference": 1.5,
                "lstm_train": 1.5, "transformer_train": 1.5, "op_overhead": 3.0, "import": 0.2}
MATMUL_TARGET = 0.9
MEMORY_TARGET = 1.0


def _target(r: dict) -> str:
    """'yes' / 'no: ...' against issue 5's targets (time, GFLOP/s and peak memory)."""
    misses = []
    if r["workload"] in TIME_TARGETS and r["ratio"] > TIME_TARGETS[r["workload"]]:
        misses.append(f"time > {TIME_TARGETS[r['workload']]}")
    if "ember_vs_numpy" in r and r["ember_vs_numpy"] < MATMUL_TARGET:
        misses.append(f"GFLOP/s < {MATMUL_TARGET} of NumPy")
    if r.get("memory_ratio", 0) > MEMORY_TARGET:
        misses.append(f"memory > {MEMORY_TARGET}")
    known = r["workload"] in TIME_TARGETS or "ember_vs_numpy" in r
    return ("no: " + ", ".join(misses)) if misses else ("yes" if known else "-")


def _note(r: dict) -> str:
    parts = [", ".join(f"{f} {n}" for f, n in r["steps"].items()) + " steps"]
    if "gflops" in r:
        g = r["gflops"]
        parts.append("GFLOP/s " + ", ".join(f"{f} {v:.0f}" for f, v in g.items())
                     + f"; ember/numpy GFLOP/s {r['ember_vs_numpy']:.2f}")
    failed = [f for f, m in r.get("memory", {}).items() if "error" in m]
    if failed:
        parts.append(f"memory probe failed for {', '.join(failed)} (error in the JSON)")
    first = r.get("first_value", {})
    if first.get("ember") is not None and first.get("torch") is not None:
        e, t = first["ember"], first["torch"]
        if abs(e - t) > 1e-3 * max(1.0, abs(t)):
            parts.append(f"FIRST LOSS DIFFERS: ember {e:.6g}, torch {t:.6g}")
    return "; ".join(parts)


def table_rows(rows: list[dict]) -> list[list[str]]:
    out = []
    for r in rows:
        if "skipped" in r:
            out.append([r["workload"], "-", "-", "-", "-", "-", "-", "-",
                        f"skipped: {r['skipped']}"])
            continue
        mem = r.get("memory", {})
        ratio = r.get("memory_ratio")
        out.append([r["workload"], _time(r["ember_s"]), _time(r["torch_s"]), f"{r['ratio']:.2f}",
                    _mib(mem.get("ember")), _mib(mem.get("torch")),
                    "-" if ratio is None else f"{ratio:.2f}", _target(r), _note(r)])
    return out


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(HEADER, *rows)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    lines = [HEADER, ["-" * w for w in widths], *rows]
    return "\n".join(fmt.format(*r).rstrip() for r in lines)


METHOD = """\
Each framework runs in its own persistent worker process (benchmarks/worker.py) that imports
only that framework, so torch's OpenMP threads (which spin after each parallel region) and
NumPy's OpenBLAS threads never compete inside one process.  Both workers build the workload
from the same seeded NumPy parameters and data (the first step's loss is compared), run a
warm-up, then are driven in alternating rounds (ember, torch, torch, ember, ...), each round a
few steps of about 0.25 s timed one by one; the figure is the median step time and ember/torch
> 1 means ember is slower.  Threads: OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS
= 2 unless already set, and torch.set_num_threads(OMP_NUM_THREADS).

Memory (training workloads): in a fresh process per framework, with glibc's malloc told to map
every block of 64 KiB or more on its own and return it when freed
(GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=131072, so the
resident set follows the live arrays of both frameworks instead of keeping freed pages), one
instance is built, stepped twice and dropped (one-time library set-up is not counted), a second
is built, the resident-set peak (VmHWM) is reset through /proc/self/clear_refs, and 3 steps
run.  "MiB" is that peak above the resident set before the steps: activations, saved tensors,
gradients, optimizer state and temporaries (not the model's parameters nor the inputs);
--quick skips it unless --memory is given.
import and demo are wall times of subprocesses, also alternated."""


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
    lines += ["", "## Method", "", METHOD, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description="ember vs PyTorch")
    p.add_argument("--quick", action="store_true",
                   help="few steps and no memory probes unless --memory (a smoke run)")
    p.add_argument("--memory", action="store_true", help="probe memory also with --quick")
    p.add_argument("--only", action="append", choices=sorted(RUNNERS), metavar="NAME",
                   help=f"run only this workload (repeatable): {', '.join(RUNNERS)}")
    p.add_argument("--out", type=Path, default=HERE, help="folder for results.json/.md")
    args = p.parse_args(argv)

    info = machine()
    print("\n".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    pool = Pool()
    rows: list[dict] = []
    try:
        for f in ("ember", "torch"):
            info[f] = pool[f].ask(cmd="info")
        for name in args.only or RUNNERS:
            print(f"running {name} ...", flush=True)
            if name in WALL_RUNNERS:
                pool.close()  # idle workers' threads must not share the CPU with the subprocesses
            new = RUNNERS[name](pool, args.quick, args.memory or not args.quick)
            print(text_table(table_rows(new)).splitlines()[-1], flush=True)
            rows += new
    finally:
        pool.close()
    print(text_table(table_rows(rows)))
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    busy = max(info["load_average_at_start"][0], info["load_average_at_end"][0])
    if busy > info["usable_cores"]:
        print(f"warning: load average {busy} > {info['usable_cores']} cores: other processes "
              "competed for the CPU, so these times are noisy")
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"machine": info, "quick": args.quick, "method": METHOD, "results": rows}
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(rows, info, args.quick))
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0
