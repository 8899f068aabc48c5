"""Start N ranks of a training script (the ``torchrun`` role), through MPICH's ``mpiexec``.

    python -m ember.distributed.run --nproc-per-node 2 train.py --epochs 3

Each rank runs ``script`` as ``__main__`` with ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set (``init_process_group`` checks
them against MPI). ``--timeout SECONDS`` sets the default timeout of ``init_process_group``
(``EMBER_DISTRIBUTED_TIMEOUT``).

Faults: a rank that raises (or exits non-zero) prints its traceback, records it and aborts the
job through ``MPI_Abort``; a rank killed by a signal makes mpiexec stop the others. Either way
the launcher exits non-zero and its last line says which rank failed and how ("rank 1 failed:
ValueError: ..." with the traceback, or "rank 1 (pid 123) was killed by signal 9 (SIGKILL)");
any rank process still alive after mpiexec returns is killed.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def mpiexec_path() -> str:
    """The ``mpiexec`` next to this Python (a venv with the mpich wheel), else the one on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.path.exists(here) else shutil.which("mpiexec")
    if found is None:
        raise RuntimeError("ember.distributed.run needs mpiexec: pip install mpich")
    return found


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m ember.distributed.run",
        description="Run a script on N ranks (one process each) through mpiexec.",
    )
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1,
                   help="number of ranks to start (default 1)")
    p.add_argument("--nnodes", default="1", help="only 1 (for several hosts, use mpiexec with "
                   "a host file and init_process_group's MPI rendezvous)")
    p.add_argument("--standalone", action="store_true", help="accepted for torchrun's "
                   "command lines; ranks always run on this host")
    p.add_argument("--timeout", type=float, default=None,
                   help="default init_process_group timeout, in seconds")
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    p.add_argument("--master-port", "--master_port", type=int, default=29500)
    p.add_argument("-m", "--module", action="store_true",
                   help="run the script argument as a module, like python -m")
    p.add_argument("script", help="the training script (or module with -m)")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.nproc_per_node < 1:
        p.error("--nproc-per-node must be at least 1")
    if args.nnodes not in ("1", "1:1"):
        p.error(f"--nnodes {args.nnodes}: only one node is supported; start ranks on several "
                "hosts with mpiexec -n N -f hostfile python script.py")
    if not args.module and not os.path.isfile(args.script):
        p.error(f"can't open file '{args.script}': no such file")
    return args


def _command(args: argparse.Namespace, run_dir: str) -> list[str]:
    """One MPMD block per rank, so that each rank starts with its own RANK in the environment."""
    n = args.nproc_per_node
    cmd = [mpiexec_path()]
    target = ["-m", args.script] if args.module else [args.script]
    for rank in range(n):
        if rank:
            cmd.append(":")
        cmd += ["-n", "1", "-env", "RANK", str(rank), "-env", "LOCAL_RANK", str(rank),
                sys.executable, "-m", "ember.distributed._worker", run_dir, *target,
                *args.script_args]
    return cmd


def _relay(proc: subprocess.Popen) -> bytes:
    """Copy mpiexec's stdout to ours as it comes; return its last 64 KB (hydra's reports)."""
    tail = b""
    out = sys.stdout.buffer
    while True:
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        out.write(chunk)
        out.flush()
        tail = (tail + chunk)[-65536:]
    return tail


def _pids(run_dir: Path) -> dict[int, int]:
    pids = {}
    for f in run_dir.glob("rank*.pid"):
        try:
            pids[int(f.read_text())] = int(f.stem[4:])
        except ValueError:
            continue
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie of ours does not count
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def _reap(run_dir: Path, grace: float = 3.0) -> list[int]:
    """Give the ranks mpiexec stopped ``grace`` seconds to go, then SIGKILL the rest."""
    deadline = time.monotonic() + grace
    alive = [pid for pid in _pids(run_dir) if _alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [pid for pid in alive if _alive(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return alive


def _diagnose(run_dir: Path, tail: bytes, rc: int) -> str:
    """The launcher's final message: which rank failed first, and how (its traceback, or
    the signal that killed it as mpiexec reports it)."""
    errors = sorted(run_dir.glob("rank*.error"), key=lambda f: f.stat().st_mtime_ns)
    if errors:
        first = errors[0]
        text = first.read_text().rstrip()
        sep = "\n" if "\n" in text else " "  # a traceback starts on its own line
        return f"rank {first.stem[4:]} failed:{sep}{text}"
    text = tail.decode(errors="replace")
    pid = re.search(r"PID (\d+) RUNNING AT", text)
    sig = re.search(r"signal (\d+)\)", text) or re.search(r"EXIT CODE: (\d+)", text)
    if pid:
        rank = _pids(run_dir).get(int(pid.group(1)))
        who = f"rank {rank} (pid {pid.group(1)})" if rank is not None else f"pid {pid.group(1)}"
        if sig:
            num = int(sig.group(1))
            try:
                name = signal.Signals(num).name
            except ValueError:
                name = "?"
            return f"{who} was killed by signal {num} ({name})"
        return f"{who} failed"
    return f"a rank failed (mpiexec exited with code {rc})"


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    from ember.distributed import is_available

    try:
        mpiexec_path()
    except RuntimeError as e:
        sys.stderr.write(f"{e}\n")
        return 2
    if not is_available():
        sys.stderr.write("ember.distributed.run needs mpi4py: pip install mpi4py mpich "
                         "(or pip install -e '.[distributed]')\n")
        return 2
    env = dict(os.environ)
    env.update(WORLD_SIZE=str(args.nproc_per_node), LOCAL_WORLD_SIZE=str(args.nproc_per_node),
               MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port))
    if args.timeout is not None:
        env["EMBER_DISTRIBUTED_TIMEOUT"] = str(args.timeout)
    with tempfile.TemporaryDirectory(prefix="ember-run-") as tmp:
        run_dir = Path(tmp)
        proc = subprocess.Popen(_command(args, tmp), env=env, stdout=subprocess.PIPE)
        forward = {s: signal.signal(s, lambda num, _f: proc.send_signal(num))
                   for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            tail = _relay(proc)
            rc = proc.wait()
        finally:
            for s, h in forward.items():
                signal.signal(s, h)
        leftover = _reap(run_dir)
        if rc == 0 and not leftover:
            return 0
        message = _diagnose(run_dir, tail, rc)
        if leftover:
            message += f" (killed rank processes still running after mpiexec: {leftover})"
        sys.stdout.flush()
        sys.stderr.write(f"ember.distributed.run: {message}\n")
        return rc if rc > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
