"""Distributed benchmarks (issue 6): all-reduce bandwidth and data-parallel scaling.

Run: ``python -m benchmarks.distributed [--quick] [--out DIR]`` (needs mpi4py and mpiexec:
``pip install -e '.[distributed]'``). It starts the ranks itself with ``mpiexec`` and writes
``distributed.json`` and ``distributed.md`` (default: next to this file).

1. ``all_reduce`` of 1 MB .. 64 MB float32 tensors over 2 ranks: ember's
   ``ember.distributed.all_reduce`` on a Tensor against mpi4py's own ``Comm.Allreduce`` on a
   NumPy array, timed in alternation (A B A B ..., a barrier before each call); the time of a
   call is the slowest rank's, the figure the median over calls (and, less sensitive to other
   load, the fastest call). Bandwidth is bytes / time (the "algorithm bandwidth"); overhead is
   ember's time over mpi4py's, minus one (target <= 10%). The last column times mpi4py's
   non-blocking ``Iallreduce`` + ``Wait``, which ember's ``all_reduce`` is built on (MPICH may
   use other algorithms for it than for the blocking call).
2. ``cnn_train`` (LeNet-5 from ``benchmarks.workloads``, batch 64 per rank, cross entropy,
   SGD with momentum) steps/s on 1 rank and, with DistributedDataParallel, on 2 ranks; the
   2-rank job does twice the samples per step (weak scaling), so ideal scaling keeps steps/s.
   The machine's cores are shared out: each configuration states its BLAS threads per rank.
   2 ranks without DDP train independent replicas (no communication): the most 2 ranks can do
   on this machine, the bound the DDP row is to be read against.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SIZES_MB = [1, 2, 4, 8, 16, 32, 64]
# (ranks, BLAS threads per rank, wrap in DDP)
SCALING = [(1, 1, False), (1, 1, True), (2, 1, True), (2, 1, False), (1, 2, False)]


# ---------------------------------------------------------------- rank side

def _slowest(comm, seconds: list[float]) -> list[float]:
    """Per call, the time of the slowest rank (the call is done when every rank is)."""
    from mpi4py import MPI

    t = np.array(seconds)
    comm.Allreduce(MPI.IN_PLACE, t, op=MPI.MAX)
    return t.tolist()


def worker_allreduce(quick: bool) -> dict:
    from mpi4py import MPI

    import ember
    import ember.distributed as dist

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    rows = []
    for mb in ([1, 64] if quick else SIZES_MB):
        n = mb * 1024 * 1024 // 4
        arr = np.zeros(n, np.float32)
        ten = ember.zeros(n, dtype=ember.float32)
        arr2 = np.zeros(n, np.float32)
        fns = {
            "mpi4py": lambda arr=arr: comm.Allreduce(MPI.IN_PLACE, arr, op=MPI.SUM),
            "ember": lambda ten=ten: dist.all_reduce(ten),
            # what ember does underneath: the non-blocking collective, then a wait
            "mpi4py_nonblocking": lambda arr=arr2: comm.Iallreduce(MPI.IN_PLACE, arr,
                                                                   op=MPI.SUM).Wait(),
        }
        reps = (3 if quick else 20) if mb >= 16 else (5 if quick else max(40, 320 // mb))
        times: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(2):  # warm-up: first-touch pages, MPI's shared-memory setup
            for fn in fns.values():
                fn()
        for i in range(reps):
            for name in (list(fns) if i % 2 == 0 else list(reversed(fns))):  # A B C C B A
                comm.Barrier()
                t0 = time.perf_counter()
                fns[name]()
                times[name].append(time.perf_counter() - t0)
        slowest = {k: _slowest(comm, v) for k, v in times.items()}
        med = {k: statistics.median(v) for k, v in slowest.items()}
        best = {k: min(v) for k, v in slowest.items()}
        rows.append({"size_mb": mb, "bytes": 4 * n, "calls": reps,
                     "mpi4py_s": med["mpi4py"], "ember_s": med["ember"],
                     "mpi4py_GBps": 4 * n / med["mpi4py"] / 1e9,
                     "ember_GBps": 4 * n / med["ember"] / 1e9,
                     "overhead_pct": 100 * (med["ember"] / med["mpi4py"] - 1),
                     "mpi4py_min_s": best["mpi4py"], "ember_min_s": best["ember"],
                     "overhead_min_pct": 100 * (best["ember"] / best["mpi4py"] - 1),
                     "mpi4py_nonblocking_s": med["mpi4py_nonblocking"]})
    dist.destroy_process_group()
    return {"rows": rows}


def worker_cnn(quick: bool, ddp: bool) -> dict:
    from mpi4py import MPI

    import ember
    from benchmarks.workloads import lenet

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    model = lenet(ember)
    if ddp:
        import ember.distributed as dist

        dist.init_process_group("mpi")
        model = ember.nn.parallel.DistributedDataParallel(model)
    rng = np.random.default_rng(rank)
    x = ember.tensor(rng.standard_normal((64, 1, 28, 28), dtype=np.float32))
    y = ember.tensor(rng.integers(0, 10, 64))
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    F = ember.nn.functional

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(1 if quick else 3):
        step()
    steps = 3 if quick else 40
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    (elapsed,) = _slowest(comm, [time.perf_counter() - t0])
    return {"steps": steps, "seconds": elapsed, "steps_per_s": steps / elapsed,
            "samples_per_s": steps * 64 * comm.Get_size() / elapsed}


# ---------------------------------------------------------------- driver side

def run_ranks(n: int, threads: int, args: list[str], timeout: float = 600) -> dict:
    """Start ``python -m benchmarks.distributed --worker ...`` on ``n`` ranks; rank 0's result."""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    from ember.distributed.run import mpiexec_path

    cmd = [mpiexec_path(), "-n", str(n), sys.executable, "-m", "benchmarks.distributed", *args]
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=timeout, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    return json.loads(lines[0][len("RESULT "):])


def machine() -> dict:
    import mpi4py
    from mpi4py import MPI

    return {"python": platform.python_version(), "numpy": np.__version__,
            "mpi4py": mpi4py.__version__,
            "mpi": MPI.Get_library_version().strip().splitlines()[0],
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# Distributed benchmarks",
        "",
        f"{m['cpus']} CPUs ({m['processor']}), {m['mpi']}, mpi4py {m['mpi4py']}, NumPy "
        f"{m['numpy']}; load average {m['load_average_at_start']} at start, "
        f"{m['load_average_at_end']} at end" + (" (quick run)" if result["quick"] else "") + ".",
        "",
        "## all_reduce, float32, 2 ranks (median over calls of the slowest rank's time)",
        "",
        ("| size | calls | mpi4py Allreduce | ember all_reduce | overhead | fastest calls "
         "| mpi4py Iallreduce+Wait |"),
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["allreduce"]:
        lines.append(
            f"| {r['size_mb']} MB | {r['calls']} | {1e3 * r['mpi4py_s']:.2f} ms "
            f"({r['mpi4py_GBps']:.2f} GB/s) | {1e3 * r['ember_s']:.2f} ms "
            f"({r['ember_GBps']:.2f} GB/s) | {r['overhead_pct']:+.1f}% | "
            f"{r['overhead_min_pct']:+.1f}% | {1e3 * r['mpi4py_nonblocking_s']:.2f} ms |")
    lines += ["", "## cnn_train (LeNet-5, batch 64 per rank, SGD momentum)", "",
              "| ranks | BLAS threads per rank | DDP | steps/s | samples/s | steps/s vs 1 rank |",
              "|---|---|---|---|---|---|"]
    base = result["scaling"][0]["steps_per_s"]
    for r in result["scaling"]:
        lines.append(
            f"| {r['ranks']} | {r['threads']} | {'yes' if r['ddp'] else 'no'} | "
            f"{r['steps_per_s']:.2f} | {r['samples_per_s']:.0f} | "
            f"{r['steps_per_s'] / base:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="1 and 64 MB only, fewer calls and steps (a smoke run)")
    p.add_argument("--out", type=Path, default=HERE, help="folder for distributed.json/.md")
    p.add_argument("--worker", choices=["allreduce", "cnn", "cnn-ddp"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        if args.worker == "allreduce":
            out = worker_allreduce(args.quick)
        else:
            out = worker_cnn(args.quick, ddp=args.worker == "cnn-ddp")
        from mpi4py import MPI

        if MPI.COMM_WORLD.Get_rank() == 0:
            print("RESULT " + json.dumps(out), flush=True)
        return 0

    info = machine()
    quick = ["--quick"] if args.quick else []
    print("all_reduce bandwidth, 2 ranks ...", flush=True)
    allreduce = run_ranks(2, 1, ["--worker", "allreduce", *quick])["rows"]
    scaling = []
    for ranks, threads, ddp in SCALING:
        print(f"cnn_train on {ranks} rank(s), {threads} thread(s), ddp={ddp} ...", flush=True)
        r = run_ranks(ranks, threads, ["--worker", "cnn-ddp" if ddp else "cnn", *quick])
        scaling.append({"ranks": ranks, "threads": threads, "ddp": ddp, **r})
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result = {"machine": info, "quick": args.quick, "allreduce": allreduce, "scaling": scaling}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "distributed.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (args.out / "distributed.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'distributed.json'} and {args.out / 'distributed.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
