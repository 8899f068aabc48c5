"""Run by tests/test_ddp.py on every rank (``mpiexec -n N python tests/ddp_worker.py``).

All multi-rank DDP checks in one script, so the suite starts the ranks once per world size.
Each check trains with DDP on this rank's chunk of the global batch and compares with a
reference computed in this same process without DDP, on the whole batch. The replicas start
from different random weights (seed 100 + rank), so the comparison also checks that the
construction broadcasts rank 0's. Prints ``ok <check>`` on rank 0 for each passed check.
"""
from __future__ import annotations

import copy

import numpy as np

import ember as torch
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP

STEPS = 20
TOL = 1e-10


def flat_params(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def same_on_every_rank(x: np.ndarray) -> bool:
    hi, lo = torch.tensor(x), torch.tensor(x)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    return bool((hi == lo).all())


def check_close(name: str, ddp_model, ref_model) -> None:
    got, want = flat_params(ddp_model), flat_params(ref_model)
    assert same_on_every_rank(got), f"{name}: the replicas' parameters differ"
    err = np.abs(got - want).max()
    assert err <= TOL * max(1.0, np.abs(want).max()), f"{name}: max |ddp - ref| = {err:.3g}"


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                                 nn.Linear(32, 5))

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.bn(self.conv(x))), 1))


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.lstm(x)[0][:, -1])


class Branches(nn.Module):
    """``b`` is used only when asked, ``c`` never: unused-parameter handling."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Linear(6, 3), nn.Linear(6, 3), nn.Linear(6, 3)

    def forward(self, x, use_b: bool):
        y = self.a(x)
        return y + self.b(x) if use_b else y


def build(cls, seed: int):
    torch.manual_seed(seed)
    return cls()


def data(shape: tuple, batch: int, kind: str, seed: int):
    """Global batches for every step: inputs and targets (class indices or regression values)."""
    rng = np.random.RandomState(seed)
    x = rng.standard_normal((STEPS, batch, *shape))
    y = rng.randint(0, 5, (STEPS, batch)) if kind == "class" else rng.standard_normal(
        (STEPS, batch, 1))
    return torch.tensor(x), torch.tensor(y)


def train_pair(name: str, cls, shape: tuple, kind: str, rank: int, world: int,
               **ddp_kwargs) -> None:
    """20 SGD steps with DDP on this rank's chunk, and without DDP on the whole batch."""
    loss_fn = nn.CrossEntropyLoss() if kind == "class" else nn.MSELoss()
    x, y = data(shape, 8 * world, kind, seed=len(name))
    model = DDP(build(cls, 100 + rank), **ddp_kwargs)
    ref = build(cls, 100)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    chunk = slice(8 * rank, 8 * rank + 8)
    launched_early = []
    launch = model._launch

    def spy(bucket):  # how many gradients were still missing when a bucket's reduction began
        launched_early.append(not all(model._ready))
        launch(bucket)

    model._launch = spy
    for s in range(STEPS):
        opt.zero_grad(set_to_none=not ddp_kwargs.get("gradient_as_bucket_view", False))
        loss_fn(model(x[s, chunk]), y[s, chunk]).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref(x[s]), y[s]).backward()
        ref_opt.step()
    check_close(name, model, ref)
    if "bucket_cap_mb" in ddp_kwargs:  # after the first step, buckets overlap the backward
        assert len(model._buckets) > 1 and any(launched_early), (name, len(model._buckets))


def check_batchnorm(rank: int, world: int) -> None:
    """BatchNorm normalizes each rank's chunk with that chunk's statistics, so the reference
    runs the chunks one by one and averages their losses (the gradient DDP averages). Rank 0's
    running statistics advance with chunk 0 only (DDP broadcasts them before each forward): the
    reference replays that on a shadow copy of the buffers."""
    loss_fn = nn.CrossEntropyLoss()
    x, y = data((1, 6, 6), 8 * world, "class", seed=3)
    model = DDP(build(CNN, 100 + rank))
    ref = build(CNN, 100)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    shadow = copy.deepcopy(dict(ref.named_buffers()))
    for s in range(STEPS):
        opt.zero_grad()
        loss_fn(model(x[s, 8 * rank: 8 * rank + 8]), y[s, 8 * rank: 8 * rank + 8]).backward()
        opt.step()
        ref_opt.zero_grad()
        total = 0
        for k in range(world):
            if k == 0:
                with torch.no_grad():
                    for n, b in ref.named_buffers():
                        b.copy_(shadow[n])
            total = total + loss_fn(ref(x[s, 8 * k: 8 * k + 8]), y[s, 8 * k: 8 * k + 8])
            if k == 0:
                shadow = copy.deepcopy(dict(ref.named_buffers()))
        (total / world).backward()
        ref_opt.step()
    check_close("cnn+batchnorm", model, ref)
    if rank == 0:
        for n, b in model.module.named_buffers():
            np.testing.assert_allclose(b.numpy(), shadow[n].numpy(), rtol=TOL, atol=TOL,
                                       err_msg=f"running statistic {n}")
    model.eval()
    with torch.no_grad():
        model(x[0, :8])  # the forward first broadcasts rank 0's buffers to every rank
    buffers = np.concatenate([b.numpy().ravel() for b in model.module.buffers()])
    assert same_on_every_rank(buffers.astype(np.float64)), "buffers not broadcast"


def check_no_sync(rank: int, world: int) -> None:
    """3 micro-batches per rank, two under no_sync: the same as one step on the whole batch."""
    micro, b = 3, 4
    loss_fn = nn.CrossEntropyLoss()
    x, y = data((10,), micro * b * world, "class", seed=5)
    model = DDP(build(MLP, 100 + rank))
    ref = build(MLP, 100)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for s in range(STEPS // 4):
        opt.zero_grad()
        for m in range(micro):
            part = slice((rank * micro + m) * b, (rank * micro + m + 1) * b)
            if m < micro - 1:
                with model.no_sync():
                    (loss_fn(model(x[s, part]), y[s, part]) / micro).backward()
            else:
                (loss_fn(model(x[s, part]), y[s, part]) / micro).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref(x[s]), y[s]).backward()
        ref_opt.step()
    check_close("no_sync accumulation", model, ref)


def check_unused(rank: int, world: int, flag: str) -> None:
    """find_unused_parameters (or static_graph): ``b`` is used on even ranks only (its gradient
    is the average with zeros from the others), ``c`` on none (its .grad stays None)."""
    x, y = data((6,), 4 * world, "reg", seed=7)
    model = DDP(build(Branches, 100 + rank), **{flag: True})
    ref = build(Branches, 100)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    for s in range(5):
        opt.zero_grad()
        part = slice(4 * rank, 4 * rank + 4)
        ((model(x[s, part], rank % 2 == 0) - y[s, part, :1]) ** 2).mean().backward()
        opt.step()
        assert model.module.c.weight.grad is None
        assert model.module.b.weight.grad is not None
        ref_opt.zero_grad()
        total = sum(((ref(x[s, 4 * k: 4 * k + 4], k % 2 == 0) - y[s, 4 * k: 4 * k + 4, :1]) ** 2)
                    .mean() for k in range(world))
        (total / world).backward()
        ref_opt.step()
    check_close(flag, model, ref)


def check_unused_without_flag_raises(rank: int, world: int) -> None:
    model = DDP(build(Branches, 100 + rank))
    x = torch.ones(2, 6, dtype=torch.float64)
    model(x, False).sum().backward()
    try:
        model(x, False)
    except RuntimeError as e:
        msg = str(e)
        assert msg.startswith("Expected to have finished reduction in the prior iteration"), msg
        assert "find_unused_parameters=True" in msg and f"rank {rank}: 2 3 4 5" in msg, msg
    else:
        raise AssertionError("an unused parameter without find_unused_parameters did not raise")


def check_api(rank: int, world: int) -> None:
    """What a DDP looks like from outside: torch's repr, ``module.`` keys, errors."""
    inner = nn.Linear(2, 3)
    model = DDP(inner)
    assert model.module is inner
    assert repr(model) == ("DistributedDataParallel(\n  (module): Linear(in_features=2, "
                           "out_features=3, bias=True)\n)"), repr(model)
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    other = DDP(nn.Linear(2, 3))
    other.load_state_dict(model.state_dict())
    assert (other.module.weight == inner.weight).all()
    assert model.eval() is model and not inner.training
    try:
        DDP(nn.Linear(2, 3), device_ids=[0])
    except ValueError as e:
        assert "device_ids" in str(e), str(e)
    else:
        raise AssertionError("device_ids for a CPU module did not raise")
    frozen = nn.Linear(2, 2).requires_grad_(False)
    try:
        DDP(frozen)
    except RuntimeError as e:
        assert "doesn't have any parameter that requires a gradient" in str(e), str(e)
    else:
        raise AssertionError("DDP of a frozen module did not raise")
    try:
        DDP(nn.Linear(2 + rank, 3))
    except RuntimeError as e:
        assert "DDP expects same model across all ranks" in str(e), str(e)
    else:
        raise AssertionError("DDP of different models on the ranks did not raise")


def check_marked_twice_raises(rank: int, world: int) -> None:
    """Two backward passes through one forward's outputs reach ``a`` twice: torch's error."""
    model = DDP(build(Branches, 100 + rank))
    x = torch.ones(2, 6, dtype=torch.float64)
    y = model(x, True)
    y[:, 0].sum().backward(retain_graph=True)
    try:
        (y[:, 1].sum() * 2).backward()
    except RuntimeError as e:
        assert str(e).startswith("Expected to mark a variable ready only once."), str(e)
    else:
        raise AssertionError("a parameter reached by two backward passes did not raise")


def main() -> None:
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_default_dtype(torch.float64)
    checks = [
        ("api", lambda: check_api(rank, world)),
        ("mlp", lambda: train_pair("mlp", MLP, (10,), "class", rank, world)),
        ("mlp, 2 KB buckets, gradient_as_bucket_view", lambda: train_pair(
            "mlp buckets", MLP, (10,), "class", rank, world, bucket_cap_mb=2 / 1024,
            gradient_as_bucket_view=True)),
        ("cnn+batchnorm", lambda: check_batchnorm(rank, world)),
        ("lstm", lambda: train_pair("lstm", Recurrent, (5, 4), "reg", rank, world,
                                    bucket_cap_mb=1 / 1024)),
        ("no_sync", lambda: check_no_sync(rank, world)),
        ("find_unused_parameters", lambda: check_unused(rank, world, "find_unused_parameters")),
        ("static_graph", lambda: check_unused(rank, world, "static_graph")),
        ("marked twice error", lambda: check_marked_twice_raises(rank, world)),
        ("unused parameter error", lambda: check_unused_without_flag_raises(rank, world)),
    ]
    for name, fn in checks:
        fn()
        if rank == 0:
            print(f"ok {name}", flush=True)
    dist.barrier()
    if rank == 0:
        print("all ok", flush=True)


if __name__ == "__main__":
    main()
