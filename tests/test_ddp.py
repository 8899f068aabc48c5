"""DistributedDataParallel and the engine callback it relies on.

The multi-rank checks run in one worker script per world size (tests/ddp_worker.py, started
with mpiexec -n 2 and -n 4): DDP training on the split batch must end with the parameters of
one process trained on the whole batch (float64, 1e-10) for an MLP, a CNN with BatchNorm and
an LSTM, and no_sync accumulation must equal a larger batch.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ember

REPO = Path(__file__).resolve().parent.parent


def test_queue_callback_runs_after_the_whole_backward_as_in_torch():
    logs = {}
    for T in (torch, ember):
        a = T.ones(3, requires_grad=True)
        b = T.ones(2, requires_grad=True)
        log = []

        def hook(p, name, T=T, log=log, a=a, b=b):
            log.append(name)
            T.autograd.Variable._execution_engine.queue_callback(
                lambda: log.append(("callback", name, a.grad is not None and b.grad is not None)))

        a.register_post_accumulate_grad_hook(lambda p, hook=hook: hook(p, "a"))
        b.register_post_accumulate_grad_hook(lambda p, hook=hook: hook(p, "b"))
        ((a * 2).sum() + (b * 3).sum()).backward()
        logs[T.__name__] = log
    assert logs["ember"] == logs["torch"]


def test_queue_callback_outside_backward_raises_as_torch():
    with pytest.raises(RuntimeError) as t_err:
        torch.autograd.Variable._execution_engine.queue_callback(lambda: None)
    with pytest.raises(RuntimeError) as e_err:
        ember.autograd.Variable._execution_engine.queue_callback(lambda: None)
    assert str(e_err.value) == str(t_err.value)


def test_queue_callback_may_queue_another_and_belongs_to_the_inner_backward():
    x = ember.ones(2, requires_grad=True)
    log = []

    def inner(_):
        y = ember.ones(1, requires_grad=True)
        y.register_post_accumulate_grad_hook(
            lambda _: ember.autograd.Variable._execution_engine.queue_callback(
                lambda: log.append("inner")))
        with ember.enable_grad():
            (y * 2).sum().backward()  # a nested backward runs its own callbacks when it ends
        ember.autograd.Variable._execution_engine.queue_callback(
            lambda: (log.append("outer"), ember.autograd.Variable._execution_engine
                     .queue_callback(lambda: log.append("chained"))))

    x.register_post_accumulate_grad_hook(inner)
    (x * 3).sum().backward()
    assert log == ["inner", "outer", "chained"]


def _mpiexec() -> str:
    pytest.importorskip("mpi4py", reason="DDP tests need mpi4py (pip install -e '.[distributed]')")
    from ember.distributed.run import mpiexec_path

    try:
        return mpiexec_path()
    except RuntimeError as e:
        pytest.skip(str(e))


def _job(cmd: list[str], timeout: float = 120) -> str:
    """Run a multi-rank job; its output, or a test failure showing it."""
    _mpiexec()
    try:
        res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                             check=False)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} did not finish in {timeout} s:\n{e.stdout}\n{e.stderr}")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    return out


@pytest.mark.parametrize("world", [2, 4])
def test_ddp_training_equals_one_process_on_the_whole_batch(world):
    out = _job([_mpiexec(), "-n", str(world), sys.executable, "tests/ddp_worker.py"])
    for check in ("api", "mlp", "cnn+batchnorm", "lstm", "no_sync", "find_unused_parameters",
                  "static_graph", "marked twice error",
                  "unused parameter error"):
        assert f"ok {check}" in out, out
    assert "all ok" in out, out


def test_training_demo_distributed_over_2_ranks(tmp_path):
    out = _job([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "2",
                "-m", "ember.examples.train", "--distributed", "--epochs", "1", "--target", "0.8",
                "--out", str(tmp_path)])
    assert out.count("Epoch 1/1") == 1 and "on 2 processes" in out, out  # rank 0 prints
    state = ember.load(tmp_path / "model.pt")
    assert sorted(state) == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]


def test_distributed_benchmark_runs(tmp_path):
    """A smoke run of benchmarks.distributed (its numbers are not checked, only its output)."""
    _job([sys.executable, "-m", "benchmarks.distributed", "--quick", "--out", str(tmp_path)],
         timeout=300)
    out = json.loads((tmp_path / "distributed.json").read_text())
    assert [r["size_mb"] for r in out["allreduce"]] == [1, 64]
    assert all(r["ember_GBps"] > 0 and r["mpi4py_GBps"] > 0 for r in out["allreduce"])
    assert [(r["ranks"], r["ddp"]) for r in out["scaling"]][:3] == [(1, False), (1, True),
                                                                   (2, True)]
    assert "| 64 MB |" in (tmp_path / "distributed.md").read_text()
