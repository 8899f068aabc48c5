"""ember.distributed over MPI: collectives against NumPy on 2 and 4 ranks, the launcher, and
the fault paths (a rank that raises, is killed, hangs, or runs a mismatched collective).

Multi-rank checks run as subprocesses (mpiexec or ``python -m ember.distributed.run``) with a
timeout; every collective and dtype is checked inside one worker script per world size
(tests/distributed_scripts/collectives.py), so the suite pays few process launches.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ember.distributed as dist
from ember.distributed.run import mpiexec_path

SCRIPTS = Path(__file__).resolve().parent / "distributed_scripts"
REPO = SCRIPTS.parent.parent


def _mpiexec() -> str:
    pytest.importorskip("mpi4py", reason="needs mpi4py (pip install -e '.[distributed]')")
    try:
        return mpiexec_path()
    except RuntimeError:
        pytest.skip("needs mpiexec (pip install mpich)")


def _run(cmd: list[str], timeout: float = 60, **env: str):
    """Run ``cmd`` (never past ``timeout``; mpiexec's proxies kill the ranks when it is
    killed); the finished process and its wall time."""
    start = time.monotonic()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **env})
    return proc, time.monotonic() - start


def _mpirun(n: int, script: str, *args: str, **env: str):
    return _run([_mpiexec(), "-n", str(n), sys.executable, str(SCRIPTS / script), *args], **env)


def _launch(n: int, script: str, *args: str, **env: str):
    _mpiexec()
    return _run([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", str(n),
                 "--timeout", "10", str(SCRIPTS / script), *args], **env)


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _assert_ranks_gone(pid_dir: Path, n: int, grace: float = 2.0) -> None:
    """Every rank process is gone within ``grace`` s of the job's end (mpiexec may return
    while the ranks it killed are still exiting)."""
    pids = [int(f.read_text()) for f in pid_dir.glob("*.pid")]
    assert len(pids) == n, f"the ranks wrote {len(pids)} pids"
    deadline = time.monotonic() + grace
    alive = [pid for pid in pids if _running(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.01)
        alive = [pid for pid in alive if _running(pid)]
    assert not alive, f"rank processes still running {grace} s after the job ended: {alive}"


@pytest.mark.parametrize(("n", "debug"), [(2, ""), (4, "DETAIL")])
def test_every_collective_and_dtype_matches_numpy(n, debug):
    # on 4 ranks the debug mode's cross-rank check runs before every collective too
    proc, _ = _mpirun(n, "collectives.py", EMBER_DISTRIBUTED_DEBUG=debug)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok "), proc.stdout + proc.stderr


def test_launcher_sets_the_environment_and_init_checks_it(tmp_path):
    proc, _ = _launch(2, "faults.py", "env", str(tmp_path), "--lr", "0.1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for r in range(2):
        assert (f"rank {r}: RANK={r} LOCAL_RANK={r} WORLD_SIZE=2 size=2 "
                "args=['--lr', '0.1'] sum=[2.0, 2.0]") in proc.stdout
    _assert_ranks_gone(tmp_path, 2)


def test_rank_that_raises_stops_the_job_under_the_launcher(tmp_path):
    proc, took = _launch(2, "faults.py", "raise", str(tmp_path))
    assert proc.returncode != 0
    last = proc.stderr[proc.stderr.index("ember.distributed.run: "):]
    assert last.startswith("ember.distributed.run: rank 1 failed:\nTraceback"), proc.stderr
    assert "ValueError: rank 1 gives up" in last and "faults.py" in last
    assert took < 10, f"took {took:.1f} s"  # well before the 10 s collective timeout
    _assert_ranks_gone(tmp_path, 2)


def test_rank_that_raises_stops_the_job_under_plain_mpiexec(tmp_path):
    proc, took = _mpirun(2, "faults.py", "raise", str(tmp_path), EMBER_DISTRIBUTED_TIMEOUT="10")
    assert proc.returncode != 0
    assert "[rank 1] uncaught exception, aborting all ranks" in proc.stderr
    assert "ValueError: rank 1 gives up" in proc.stderr
    assert took < 10, f"took {took:.1f} s"
    _assert_ranks_gone(tmp_path, 2)


def test_sigkilled_rank_stops_the_job_and_is_named(tmp_path):
    proc, took = _launch(2, "faults.py", "kill", str(tmp_path))
    assert proc.returncode != 0
    assert "ember.distributed.run: rank 1 (pid " in proc.stderr, proc.stdout + proc.stderr
    assert "was killed by signal 9 (SIGKILL)" in proc.stderr
    assert took < 10, f"took {took:.1f} s"
    _assert_ranks_gone(tmp_path, 2)


def test_timeout_names_the_rank_that_never_came(tmp_path):
    proc, took = _mpirun(2, "faults.py", "sleep", str(tmp_path), EMBER_DISTRIBUTED_TIMEOUT="2")
    assert proc.returncode != 0
    assert ("RuntimeError: all_reduce #2 on rank 0 timed out after 2.0 s waiting for rank(s) "
            "[1] (rank 1 did not answer") in proc.stderr, proc.stderr
    assert took < 15, f"took {took:.1f} s"
    _assert_ranks_gone(tmp_path, 2)


def test_monitored_barrier_names_the_missing_rank_after_its_own_timeout(tmp_path):
    proc, took = _mpirun(2, "faults.py", "monitored", str(tmp_path),
                         EMBER_DISTRIBUTED_TIMEOUT="30")
    assert proc.returncode != 0
    assert ("RuntimeError: barrier #2 on rank 0 timed out after 1.0 s waiting for rank(s) [1] "
            "(rank 1 did not answer") in proc.stderr, proc.stderr
    assert took < 15, f"took {took:.1f} s"


def test_timeout_names_the_rank_at_another_op_on_4_ranks(tmp_path):
    proc, took = _mpirun(4, "faults.py", "behind", str(tmp_path), EMBER_DISTRIBUTED_TIMEOUT="2")
    assert proc.returncode != 0
    assert re.search(r"RuntimeError: all_reduce #2 on rank [012] timed out after 2\.0 s waiting "
                     r"for rank\(s\) \[3\] \(rank 3 is at all_reduce #1, waiting in recv\)",
                     proc.stderr), proc.stderr
    assert took < 15, f"took {took:.1f} s"
    _assert_ranks_gone(tmp_path, 4)


def test_debug_detail_names_mismatched_shapes(tmp_path):
    proc, _ = _mpirun(2, "faults.py", "mismatch", str(tmp_path), EMBER_DISTRIBUTED_DEBUG="DETAIL",
                      EMBER_DISTRIBUTED_TIMEOUT="10")
    assert proc.returncode != 0
    assert ("all_reduce #2: the ranks of the group disagree on the collective "
            "(EMBER_DISTRIBUTED_DEBUG=DETAIL): rank(s) [0] run all_reduce(shape=[2], "
            "dtype=torch.float32, op=SUM); rank(s) [1] run all_reduce(shape=[5], "
            "dtype=torch.float64, op=SUM)") in proc.stderr, proc.stderr


def test_a_single_process_is_a_world_of_one_and_a_larger_world_size_is_refused():
    _mpiexec()
    code = (
        "import ember as torch, ember.distributed as dist\n"
        "try:\n"
        "    dist.init_process_group('gloo', init_method='tcp://127.0.0.1:1', world_size=2, "
        "rank=0)\n"
        "except ValueError as e:\n"
        "    print(e)\n"
        "dist.init_process_group('gloo', world_size=1, rank=0)\n"
        "x = torch.tensor([1.0, 3.0])\n"
        "dist.all_reduce(x, op=dist.ReduceOp.AVG)\n"
        "print(x.tolist(), dist.get_rank(), dist.get_world_size())\n"
    )
    proc, _ = _run([sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    assert "world_size=2 but MPI started this process as world_size 1; start the ranks with " \
           "python -m ember.distributed.run" in proc.stdout
    assert proc.stdout.endswith("[1.0, 3.0] 0 1\n")


def test_nccl_backend_is_refused_clearly():
    with pytest.raises(RuntimeError, match="no NCCL backend"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("gloo2")
    assert dist.Backend("GLOO") == dist.Backend.MPI == "mpi"  # PyTorch CPU scripts say gloo
    assert not dist.is_initialized()


def test_ops_before_init_raise_as_torch():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
