"""Run by tests/test_distributed.py on every rank: ``faults.py MODE PID_DIR``.

Each rank writes its pid to PID_DIR (so the test can check that none is left running), joins
the default group, does one all_reduce, then rank 1 misbehaves as MODE says:
``raise`` (an exception), ``kill`` (SIGKILL to itself), ``sleep`` (stays away past the
timeout, alive), ``monitored`` (the same, while the others wait in a 1 s monitored_barrier),
``behind`` (the last rank waits in a recv that never comes while the others run the next
all_reduce), ``mismatch`` (a collective on a tensor of another shape), ``env`` (no fault:
print the launcher's environment and check init_process_group's consistency errors).
"""
import datetime
import os
import sys
import time
from pathlib import Path

import ember as torch
import ember.distributed as dist

mode, pid_dir = sys.argv[1], Path(sys.argv[2])
if mode == "env":
    rank = int(os.environ["RANK"])
    try:
        dist.init_process_group("mpi", rank=rank + 1)
        raise AssertionError("a rank that disagrees with MPI's must raise")
    except ValueError as e:
        assert f"rank={rank + 1} but MPI started this process as rank {rank}" in str(e), e
    assert not dist.is_initialized()
dist.init_process_group("gloo")  # what PyTorch CPU scripts say; served by MPI
rank = dist.get_rank()
(pid_dir / f"{rank}.pid").write_text(str(os.getpid()))
x = torch.ones(2)
dist.all_reduce(x)
if mode == "env":
    print(f"rank {rank}: RANK={os.environ['RANK']} LOCAL_RANK={os.environ['LOCAL_RANK']} "
          f"WORLD_SIZE={os.environ['WORLD_SIZE']} size={dist.get_world_size()} "
          f"args={sys.argv[3:]} sum={x.tolist()}", flush=True)
elif mode == "behind" and rank == dist.get_world_size() - 1:
    dist.recv(x, src=1)
elif rank == 1:
    if mode == "raise":
        raise ValueError("rank 1 gives up")
    if mode == "kill":
        os.kill(os.getpid(), 9)
    if mode in ("sleep", "monitored"):
        time.sleep(60)
    if mode == "mismatch":
        x = torch.ones(5, dtype=torch.float64)
if mode == "monitored":
    dist.monitored_barrier(timeout=datetime.timedelta(seconds=1))
dist.all_reduce(x)
dist.destroy_process_group()
